//! dtls-engine: a sans-IO DTLS 1.2 (RFC 6347) protocol engine.
#![forbid(unsafe_code)]

pub mod codec;
pub mod crypto;
pub mod error;
pub mod handshake;
pub mod record;
pub mod wire;

pub use error::{CertificateError, Error, InvalidMessage, PeerIncompatible, PeerMisbehaved};
