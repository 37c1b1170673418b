//! NSS key log lines (`SSLKEYLOGFILE` format): `CLIENT_RANDOM <client random> <master secret>`,
//! lowercase hex, as OpenSSL writes with `-keylogfile`. A debugging aid that exposes every
//! session key: never enabled unless the application configures a sink.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// A sink for key log lines.
pub trait KeyLog: Send + Sync {
    /// Called once per handshake with `label` (`CLIENT_RANDOM`), the client random and the
    /// secret (the master secret).
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]);
}

/// Format one NSS key log line (without newline).
pub fn format_line(label: &str, client_random: &[u8], secret: &[u8]) -> String {
    let mut s = String::with_capacity(label.len() + 2 + 2 * (client_random.len() + secret.len()));
    s.push_str(label);
    s.push(' ');
    push_hex(&mut s, client_random);
    s.push(' ');
    push_hex(&mut s, secret);
    s
}

fn push_hex(s: &mut String, bytes: &[u8]) {
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
}

/// Appends key log lines to a file.
#[derive(Debug)]
pub struct KeyLogFile {
    file: Mutex<File>,
}

impl KeyLogFile {
    /// Append to `path` (created if missing).
    pub fn new(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self { file: Mutex::new(file) })
    }

    /// The file named by the `SSLKEYLOGFILE` environment variable, if set and writable.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os("SSLKEYLOGFILE")?;
        Self::new(path).ok()
    }
}

impl KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let line = format_line(label, client_random, secret);
        if let Ok(mut f) = self.file.lock() {
            // A key log is best effort: a full disk must not break the session.
            let _ = writeln!(f, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format_matches_nss() {
        assert_eq!(format_line("CLIENT_RANDOM", &[0xab, 0x01], &[0xff]), "CLIENT_RANDOM ab01 ff");
    }
}
