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
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod adapter;
#[cfg(feature = "rcgen")]
pub mod certgen;
// Internals only (reached through `internals`): exempt from `missing_docs`.
#[allow(missing_docs)]
mod codec;
mod config;
mod cookie;
mod crypto;
mod endpoint;
mod error;
mod exporter;
mod extensions;
// Internals only (reached through `internals`): exempt from `missing_docs`.
#[allow(missing_docs)]
mod handshake;
mod key;
mod keylog;
mod pool;
// Internals only (reached through `internals`): exempt from `missing_docs`.
#[allow(missing_docs)]
mod record;
mod registry;
mod resumption;
mod session;
mod stats;
// Internals only (reached through `internals`): exempt from `missing_docs`.
#[allow(missing_docs)]
mod suites;
mod verify;
mod wire;

pub use config::{
    AlpnChoice, AlpnSelector, ClientAuth, ClientConfig, ClientConfigBuilder, ConnectionIdGenerator, DEFAULT_GROUPS,
    DEFAULT_MTU, DEFAULT_SESSION_CACHE, DEFAULT_SESSION_LIFETIME, MAX_CID_LEN, MAX_MTU, MIN_MTU, ServerConfig,
    ServerConfigBuilder,
};
pub use endpoint::{ConnectError, Endpoint, EndpointConfig, EndpointEvent, EndpointState, HelloPolicy, SessionHandle};
pub use error::{CertificateError, Error, InvalidMessage, PeerIncompatible, PeerMisbehaved};
pub use extensions::srtp::SrtpKeyingMaterial;
pub use key::{KeyAlgorithm, SigningKey};
pub use keylog::{KeyLog, KeyLogFile};
pub use registry::{
    AlertDescription, CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme, SrtpProtectionProfile,
};
pub use resumption::ClientSessionStore;
pub use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
pub use session::{CipherInfo, Event, Session, Transmit};
pub use stats::{EndpointStats, SessionStats};
pub use verify::{
    AcceptAnyClientCert, AcceptAnyServerCert, ClientCertVerifier, FingerprintVerifier, ServerCertVerifier,
    WebPkiClientVerifier, WebPkiServerVerifier, fingerprint_sha256,
};

/// Engine internals for this repository's own tests, fuzz targets, BoGo shim, benches and the
/// `dtls` tool: wire codecs, record layer, handshake pieces, crypto primitives. Not part of the
/// public API: no semver promise, anything here may change or go in any release.
// Nothing public at the crate root may be reachable through these globs (rustdoc would write a
// page for it under `internals/`): the root's items live in their own modules (`registry`,
// `key`, `verify`, ...), and `wire` re-exports the registry enums `pub(crate)` only.
#[doc(hidden)]
pub mod internals {
    /// The byte codec (`Codec`, `Reader`).
    pub mod codec {
        pub use crate::codec::*;
    }
    /// Stateless cookies.
    pub mod cookie {
        pub use crate::cookie::*;
    }
    /// Crypto primitives: AEAD, key exchange, PRF, RNG, signature verification, certificate
    /// loading.
    pub mod crypto {
        pub use crate::crypto::*;
    }
    /// The handshake state machines and their pieces.
    pub mod handshake {
        pub use crate::handshake::*;
    }
    /// The record layer.
    pub mod record {
        pub use crate::record::*;
    }
    /// The cipher-suite table.
    pub mod suites {
        pub use crate::suites::*;
    }
    /// Wire messages, extensions and the protocol-only registries.
    pub mod wire {
        pub use crate::wire::*;
    }
    pub use crate::error::alert_name;
    pub use crate::extensions::srtp::{profile_by_name, profile_name};
    pub use crate::keylog::format_line;
}
