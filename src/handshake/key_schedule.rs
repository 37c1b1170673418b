//! The TLS 1.2 key schedule as DTLS 1.2 uses it: master secret (with RFC 7627's extended
//! master secret), key block, Finished verify_data, and the RFC 5705 exporter input.
//! Holds the master secret and zeroizes it on drop; never logs it except through the key log.

use zeroize::{Zeroize, Zeroizing};

use crate::crypto::aead::RecordKey;
use crate::crypto::prf::{PrfHash, prf, prf_key, prf_keyed};
use crate::error::Error;
use crate::suites::SuiteInfo;

/// The 48-byte master secret of a session.
pub struct MasterSecret {
    prf: PrfHash,
    secret: [u8; 48],
}

impl Drop for MasterSecret {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl core::fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MasterSecret(..)")
    }
}

/// The master secret as the PRF's HMAC key, for the Finished messages (see
/// [`MasterSecret::finished_key`]). Lives only while the Finished values are computed.
pub struct FinishedKey {
    prf: PrfHash,
    key: ring::hmac::Key,
}

impl FinishedKey {
    /// RFC 5246 §7.4.9: verify_data = PRF(master_secret, finished_label,
    /// Hash(handshake_messages))[0..11].
    pub fn verify_data(&self, sender: Side, handshake_hash: &[u8]) -> [u8; 12] {
        let label: &[u8] = match sender {
            Side::Client => b"client finished",
            Side::Server => b"server finished",
        };
        let mut out = [0u8; 12];
        prf_keyed(self.prf, &self.key, label, &[handshake_hash], &mut out);
        out
    }
}

/// Which side's keys are "ours".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl MasterSecret {
    /// RFC 7627 §4: master_secret = PRF(pre_master_secret, "extended master secret",
    /// session_hash)[0..47], or without EMS (RFC 5246 §8.1):
    /// PRF(pre_master_secret, "master secret", ClientHello.random + ServerHello.random).
    pub fn derive(
        prf_hash: PrfHash,
        pre_master: &[u8],
        session_hash: Option<&[u8]>,
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> Self {
        let mut secret = [0u8; 48];
        match session_hash {
            Some(h) => prf(prf_hash, pre_master, b"extended master secret", &[h], &mut secret),
            None => prf(prf_hash, pre_master, b"master secret", &[client_random, server_random], &mut secret),
        }
        Self { prf: prf_hash, secret }
    }

    /// A master secret from its raw bytes, e.g. the second field of an NSS key log
    /// `CLIENT_RANDOM` line, for checking captures of other implementations.
    pub fn from_bytes(prf: PrfHash, secret: [u8; 48]) -> Self {
        Self { prf, secret }
    }

    /// The raw secret (for the NSS key log only).
    pub fn secret(&self) -> &[u8; 48] {
        &self.secret
    }

    /// RFC 5246 §6.3: key_block = PRF(master_secret, "key expansion", server_random +
    /// client_random); for AEAD suites it holds client_write_key, server_write_key,
    /// client_write_IV, server_write_IV (no MAC keys). Returns (our write key, our read key).
    pub fn record_keys(
        &self,
        suite: &SuiteInfo,
        side: Side,
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> Result<(RecordKey, RecordKey), Error> {
        let (k, iv) = (suite.aead.key_len(), suite.aead.fixed_iv_len());
        let mut block = Zeroizing::new(vec![0u8; 2 * k + 2 * iv]);
        prf(self.prf, &self.secret, b"key expansion", &[server_random, client_random], &mut block);
        let (ck, rest) = block.split_at(k);
        let (sk, rest) = rest.split_at(k);
        let (civ, siv) = rest.split_at(iv);
        let client = RecordKey::new(suite.aead, ck, civ)?;
        let server = RecordKey::new(suite.aead, sk, siv)?;
        Ok(match side {
            Side::Client => (client, server),
            Side::Server => (server, client),
        })
    }

    /// RFC 5246 §7.4.9: verify_data = PRF(master_secret, finished_label,
    /// Hash(handshake_messages))[0..11].
    pub fn verify_data(&self, sender: Side, handshake_hash: &[u8]) -> [u8; 12] {
        self.finished_key().verify_data(sender, handshake_hash)
    }

    /// The master secret keyed for the PRF, to compute both Finished values of a handshake
    /// with one HMAC key setup instead of one each.
    pub fn finished_key(&self) -> FinishedKey {
        FinishedKey { prf: self.prf, key: prf_key(self.prf, &self.secret) }
    }

    /// RFC 5705 §4: PRF(master_secret, label, client_random + server_random
    /// [+ context_length(u16) + context]).
    pub fn export(
        &self,
        label: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        context: Option<&[u8]>,
        out: &mut [u8],
    ) {
        match context {
            None => prf(self.prf, &self.secret, label, &[client_random, server_random], out),
            Some(ctx) => {
                let len = (ctx.len() as u16).to_be_bytes();
                prf(self.prf, &self.secret, label, &[client_random, server_random, &len, ctx], out)
            }
        }
    }
}
