//! The DTLS 1.3 handshake (RFC 9147 §5 on RFC 8446 §4): the client and server state
//! machines and what they share — the transcript hash, key shares, the key schedule glue
//! that turns secrets into record protection, certificate authentication and the cookie of
//! the HelloRetryRequest. A 1.3 handshake starts inside the 1.2 machines (one ClientHello
//! offers both versions; one ServerHello decides) and continues here once 1.3 is chosen.
//!
//! ```text
//!   ClientHello (+key_share)    -->
//!                               <--  HelloRetryRequest (+cookie, group)  (optional)
//!   ClientHello (+cookie)       -->
//!                               <--  ServerHello (+key_share)            (epoch 0)
//!                                    EncryptedExtensions, [CertificateRequest],
//!                                    Certificate, CertificateVerify,
//!                                    Finished                            (epoch 2)
//!   [Certificate, CertificateVerify],
//!   Finished                    -->                                      (epoch 2)
//!                               <--  ACK                                 (epoch 3)
//! ```

pub mod auth;
pub mod client;
pub mod cookie;
pub mod server;
pub mod shares;

use ring::digest;

use crate::crypto::tls13::{self, FinishedKey, Hash, LabelPrefix, Secret};
use crate::error::Error;
use crate::handshake::context::Context;
use crate::record::dtls13::Protection13;
use crate::suites::Suite13;
use crate::wire::{Epoch, HandshakeType};

/// DTLS 1.3's HKDF label prefix (RFC 9147 §5.9).
pub const PREFIX: LabelPrefix = LabelPrefix::Dtls13;

/// The handshake epoch (RFC 9147 §6.1).
pub const EPOCH_HANDSHAKE: Epoch = Epoch(2);
/// The first application data epoch (RFC 9147 §6.1).
pub const EPOCH_APPLICATION: Epoch = Epoch(3);

/// The running transcript hash (RFC 8446 §4.4.1), fed with messages in their TLS 1.3 form
/// (RFC 9147 §5.2: without message_seq and the fragment fields).
#[derive(Clone)]
pub struct Transcript13 {
    ctx: digest::Context,
}

impl Transcript13 {
    /// An empty transcript with `hash`.
    pub fn new(hash: Hash) -> Self {
        Self { ctx: digest::Context::new(hash.digest_algorithm()) }
    }

    /// A transcript restarted by a HelloRetryRequest: the synthetic `message_hash` holding
    /// `Hash(ClientHello1)` first (RFC 8446 §4.4.1).
    pub fn after_retry(hash: Hash, client_hello1_hash: &[u8]) -> Result<Self, Error> {
        let mut t = Self::new(hash);
        t.add_bytes(&crate::wire::tls13::message_hash(client_hello1_hash).map_err(Error::InvalidMessage)?);
        Ok(t)
    }

    /// Add one handshake message: type, 24-bit length, body.
    pub fn add(&mut self, msg_type: HandshakeType, body: &[u8]) {
        let len = (body.len() as u32).to_be_bytes();
        self.ctx.update(&[u8::from(msg_type)]);
        self.ctx.update(len.get(1..).unwrap_or_default());
        self.ctx.update(body);
    }

    /// Add bytes already in transcript form.
    pub fn add_bytes(&mut self, bytes: &[u8]) {
        self.ctx.update(bytes);
    }

    /// The hash of everything added so far.
    pub fn current(&self) -> digest::Digest {
        self.ctx.clone().finish()
    }
}

/// `Hash(message)` of one message in transcript form (the first ClientHello, for the
/// HelloRetryRequest's `message_hash`).
pub fn hash_message(hash: Hash, msg_type: HandshakeType, body: &[u8]) -> digest::Digest {
    let mut t = Transcript13::new(hash);
    t.add(msg_type, body);
    t.current()
}

/// Record protection of the handshake epoch from a handshake traffic secret, with that
/// secret's Finished key (RFC 8446 §4.4.4), both from one key set-up.
pub fn handshake_protection(suite: &Suite13, secret: &Secret) -> Result<(Protection13, FinishedKey), Error> {
    let (keys, finished) = tls13::handshake_keys(PREFIX, secret, suite.aead.key_len())?;
    Ok((Protection13::new(EPOCH_HANDSHAKE, suite.aead, &keys)?, finished))
}

/// Record protection of `epoch` from a traffic secret (RFC 8446 §7.3, RFC 9147 §4.2.3).
pub fn protection(suite: &Suite13, secret: &Secret, epoch: Epoch) -> Result<Protection13, Error> {
    let keys = tls13::traffic_keys(PREFIX, secret, suite.aead.key_len())?;
    Protection13::new(epoch, suite.aead, &keys)
}

/// Write one NSS key log line for a DTLS 1.3 secret, if a key log is configured.
pub fn log_secret(ctx: &Context, label: &str, secret: &Secret) {
    if let Some(log) = &ctx.config().key_log {
        log.log(label, &ctx.info.client_random, secret.as_bytes());
    }
}

/// Secrets of one direction pair, as a transition hands them to the session for its later
/// key updates (RFC 9147 §8).
pub struct AppSecrets {
    pub suite: &'static Suite13,
    /// The secret of our current write epoch.
    pub write: Secret,
    /// The secret of the peer's current write epoch.
    pub read: Secret,
    /// The exporter master secret (RFC 8446 §7.5).
    pub exporter: Secret,
}

impl core::fmt::Debug for AppSecrets {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppSecrets").field("suite", &self.suite.iana_name).finish_non_exhaustive()
    }
}

/// What a DTLS 1.3 transition asks the session's 1.3 record layer to do.
#[derive(Debug)]
pub enum Install13 {
    /// Accept records of this epoch from now on.
    Read(Protection13),
    /// Seal new records in this epoch from now on.
    Write(Protection13),
    /// Keep these for KeyUpdates.
    Secrets(AppSecrets),
}
