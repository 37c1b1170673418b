//! Our key log lines collected in memory, in the NSS format the peers write to their
//! `SSLKEYLOGFILE`, so the tests can compare the two.

use std::sync::Mutex;

use dtls_engine::KeyLog;

use super::openssl::hex_lower;

/// Collects key log lines in memory, as NSS key log lines (`LABEL client_random secret`).
#[derive(Debug, Default)]
pub struct MemoryKeyLog(Mutex<Vec<String>>);

impl KeyLog for MemoryKeyLog {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let line = format!("{label} {} {}", hex_lower(client_random), hex_lower(secret));
        self.0.lock().expect("key log lock").push(line);
    }
}

impl MemoryKeyLog {
    /// The lines logged so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().expect("key log lock").clone()
    }
}
