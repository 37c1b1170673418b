//! Thin drivers that put a sans-IO [`crate::Endpoint`] on a real UDP socket: `std_udp`
//! (feature `std-net`, blocking, a driver thread) and `tokio_udp` (feature `tokio`, async, a
//! driver task). Both have the same surface: `listen`, `connect`, `connect_timeout`, a
//! `UdpEndpoint` serving many sessions on one socket, and a `UdpSession` per association.
//! Their names differ from the sans-IO core's [`crate::Endpoint`] and [`crate::Session`],
//! and their error is [`AdapterError`], so both can be imported side by side.
//!
//! A driver owns the socket and the endpoint and loops: receive → `handle` → drain
//! transmits and events → sleep until `poll_timeout`. This module owns what both drivers
//! share, one concern a file: the options (`options`), the errors (`error`), what a handle
//! knows of its session (`status`), the public accessors as macros (`accessors`), the
//! contract between the shared logic and a socket loop (`driver`), how records travel
//! between handles and drivers without allocating (`answer`), and the table of session
//! handles with the handling of every request and endpoint event (`slots`), and several
//! workers on one address (`workers`: the `SO_REUSEPORT` sockets, which worker a connection
//! ID names, the hand-off of records to their worker; see [`EndpointOptions::workers`]). A
//! driver adds only its socket loop and its channel types. Nothing here may make a protocol decision:
//! everything about DTLS happens in the sans-IO core.
//!
//! # Unreachable peers and connect timeouts
//!
//! The free `connect` and `connect_timeout` functions of each adapter make an endpoint with
//! its own socket for their one peer, and *connect* that UDP socket to the peer. The OS then
//! reports an ICMP "port unreachable" for the peer on the socket (as `ECONNREFUSED` on
//! Linux), and a `connect` still waiting for its handshake fails at once with
//! [`AdapterError::Io`] of kind [`ConnectionRefused`](std::io::ErrorKind::ConnectionRefused),
//! instead of waiting for the handshake deadline. The OS reports no ICMP errors on an
//! unconnected socket, so on a shared endpoint (`listen`, `UdpEndpoint::bind`)
//! `UdpEndpoint::connect` learns of an unreachable peer only from its timeout: bound it with
//! `UdpEndpoint::connect_timeout` (or the client configuration's handshake timeout, 60 s by
//! default).
//!
//! Once established, a session treats an ICMP error as a soft error, as TCP does in its
//! synchronized states (RFC 5927): an unauthenticated ICMP message, which an off-path
//! attacker may forge, never ends an authenticated session. A vanished peer is detected by
//! the session's idle timeout (`ClientConfigBuilder::idle_timeout`).
//!
//! `connect_timeout` bounds the handshake from the moment the driver starts it (name
//! resolution before it is not counted); on expiry the pending session is destroyed and the
//! call fails with [`AdapterError::ConnectTimeout`].

#[cfg(any(feature = "std-net", feature = "tokio"))]
#[macro_use]
mod accessors;
#[cfg(any(feature = "std-net", feature = "tokio"))]
mod answer;
#[cfg(any(feature = "std-net", feature = "tokio"))]
mod driver;
mod error;
mod options;
#[cfg(any(feature = "std-net", feature = "tokio"))]
mod slots;
#[cfg(any(feature = "std-net", feature = "tokio"))]
mod status;
#[cfg(any(feature = "std-net", feature = "tokio"))]
mod workers;

#[cfg(feature = "std-net")]
pub mod std_udp;
#[cfg(feature = "tokio")]
pub mod tokio_udp;

pub use error::{AdapterError, HandshakeFailure};
pub use options::{EndpointOptions, MAX_WORKERS, MIN_RANDOM_CID_BYTES};
#[cfg(any(feature = "std-net", feature = "tokio"))]
pub use workers::WorkerStats;

/// The protocol an adapter session reports before its handshake completed (node:dtls
/// `session.protocol`); afterwards it reports the version agreed.
pub const PROTOCOL: &str = "DTLSv1.2";
