//! # dtls-engine
//!
//! A sans-IO DTLS 1.2 (RFC 6347) protocol engine. The core never touches sockets, never
//! reads the clock and never uses global randomness: datagrams and the current time go in,
//! datagrams, timeouts and events come out, and every random value comes from the RNG in
//! the configuration (seedable, so tests are reproducible).
//!
//! ## The run loop
//! One order for [`Session`] and [`Endpoint`] alike. After every input (`handle`,
//! `handle_timeout`, `send`, `close`, `connect`):
//! 1. drain events (`poll_event`) until empty, reacting to each (a `send` made here, say on
//!    `Connected`, queues its datagram for step 2);
//! 2. drain transmits (`poll_transmit`) until empty, sending each;
//! 3. sleep until `poll_timeout`, or until the next datagram.
//!
//! Events first, so that whatever the application does in reaction to an event goes out in
//! the same turn; for an [`Endpoint`] also because draining a failed session's last datagram
//! removes it.
//!
//! ## Errors
//! An [`Error`] returned by `handle` or `handle_timeout` is fatal for that session only; its
//! alert has already been queued as a transmit. An error returned by a local request
//! (`send`, an export) is not fatal: the request was refused and the session goes on (a
//! message too large for one record, say: [`Error::MessageTooLarge`] names the limit).
//! [`Error`] lists which errors are which. Invalid records are never errors: they are
//! dropped silently (RFC 6347 §4.1.2.7) and counted in [`SessionStats::records_dropped`].
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod adapter;
#[cfg(feature = "rcgen")]
pub mod certgen;
pub mod codec;
pub mod config;
pub mod cookie;
pub mod crypto;
pub mod endpoint;
pub mod error;
pub mod exporter;
pub mod extensions;
pub mod handshake;
pub mod keylog;
pub mod pool;
pub mod record;
mod resumption;
pub mod session;
pub mod stats;
pub mod suites;
pub mod wire;

pub use config::{ClientAuth, ClientConfig, ClientConfigBuilder, ServerConfig, ServerConfigBuilder};
pub use crypto::fingerprint::{FingerprintVerifier, fingerprint_sha256};
pub use crypto::sign::SigningKey;
pub use crypto::verify::{
    AcceptAnyClientCert, AcceptAnyServerCert, ClientCertVerifier, ServerCertVerifier, WebPkiClientVerifier,
    WebPkiServerVerifier,
};
pub use endpoint::{ConnectError, Endpoint, EndpointConfig, EndpointEvent, EndpointState, HelloPolicy, SessionHandle};
pub use error::{CertificateError, Error, InvalidMessage, PeerIncompatible, PeerMisbehaved};
pub use extensions::srtp::SrtpKeyingMaterial;
pub use keylog::{KeyLog, KeyLogFile};
pub use resumption::ClientSessionStore;
pub use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
pub use session::{CipherInfo, Event, Session, Transmit};
pub use stats::{EndpointStats, SessionStats};
pub use wire::{AlertDescription, CipherSuite, NamedGroup, SignatureScheme, SrtpProtectionProfile};
