//! The endpoint's public vocabulary: its configuration, the hello policy, session handles,
//! events, its life cycle and why `connect` refuses.

use std::sync::Arc;
use std::time::Duration;

use crate::config::ServerConfig;
use crate::error::Error;
use crate::session::Event;
use crate::stats::SessionStats;
#[cfg(doc)]
use crate::{Endpoint, EndpointStats};

/// Settings of an [`Endpoint`].
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Accept sessions with this configuration; `None` makes a client-only endpoint that
    /// drops every datagram from unknown peers.
    pub server: Option<Arc<ServerConfig>>,
    /// Most live sessions (server and client); ClientHellos beyond it are refused.
    pub max_sessions: usize,
    /// How often the cookie secret changes (default 60 s, at least 1 s, and never less than
    /// the server's handshake timeout: a DTLS 1.3 client repeats its cookie for the whole
    /// handshake). A cookie stays valid for one more period after its secret was retired.
    pub cookie_rotation: Duration,
    /// How long a closing session waits for the peer's close_notify (default 2 s).
    pub close_linger: Duration,
    /// Seed for the cookie secrets (tests). Without it they are drawn from the server
    /// configuration's RNG.
    pub rng_seed: Option<[u8; 32]>,
    /// Most server sessions still in their handshake (created after a verified cookie, not
    /// yet connected). ClientHellos beyond it are refused and counted in
    /// [`EndpointStats::half_open_rejections`]; established sessions are not affected.
    /// Default 1,024. A session waiting for the rest of its ClientHello holds its fixed
    /// state plus the hello being reassembled, which the endpoint caps at 16 KiB: measured
    /// at 9.0 KB for a 1.5 KB browser hello and 25.7 KB for a 16 KiB one, so at most about
    /// 26 MB at the default cap. Later in the handshake what a session buffers is bounded
    /// by its configuration's `max_reassembly_bytes`.
    // Measured by tests/alloc.rs.
    pub max_half_open: usize,
    /// Which addresses may start a handshake with a ClientHello (default: any).
    pub hello_policy: HelloPolicy,
    /// The pre-validation budget, part 1: most fragmented ClientHellos from unvalidated
    /// addresses reassembled at once (default 1,024). Only when the server configuration
    /// offers DTLS 1.3 and does the cookie exchange: a DTLS 1.3 HelloRetryRequest needs the
    /// hash of the whole first hello, and a post-quantum hello spans several datagrams.
    /// One per address; when full, the oldest is evicted
    /// ([`EndpointStats::prevalidation_evictions`]).
    pub max_prevalidation_hellos: usize,
    /// The pre-validation budget, part 2: most bytes those hellos may reserve together
    /// (default 2 MiB). Each reserves its declared length (at most 16 KiB) on its first
    /// fragment, and the table's bookkeeping adds at most about 370 bytes per entry of
    /// `max_prevalidation_hellos`. So the endpoint holds at most this plus
    /// `max_prevalidation_hellos` × 370 bytes (about 2.5 MB at the defaults, measured by
    /// tests/flood.rs) for peers whose address is not validated.
    pub max_prevalidation_bytes: usize,
    /// How long a partial ClientHello is kept after its last fragment arrived (default 64 s,
    /// beyond the 60 s cap of the retransmission timer, so that a hello whose answer was
    /// lost is answered again by its retransmission's first fragment to arrive).
    pub prevalidation_timeout: Duration,
}

/// Which peers may start a server handshake on an [`Endpoint`].
///
/// WebRTC runs DTLS over the address pair ICE has validated with STUN connectivity checks;
/// a ClientHello from any other address is an attempt to win the race to the server (OWASP
/// ASVS 5.0 V12 / "DTLS ClientHello race"). With [`HelloPolicy::ApprovedOnly`] the endpoint
/// answers ClientHellos only from addresses the application approved with
/// [`Endpoint::approve_peer`]; everything else is dropped without state and counted in
/// [`EndpointStats::policy_rejections`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HelloPolicy {
    /// Any address may send a ClientHello (it must still pass the cookie exchange).
    #[default]
    AcceptAll,
    /// Only addresses approved with [`Endpoint::approve_peer`] may.
    ApprovedOnly,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            server: None,
            max_sessions: 100_000,
            cookie_rotation: Duration::from_secs(60),
            close_linger: Duration::from_secs(2),
            rng_seed: None,
            max_half_open: 1024,
            hello_policy: HelloPolicy::AcceptAll,
            max_prevalidation_hellos: 1024,
            max_prevalidation_bytes: 2 << 20,
            prevalidation_timeout: Duration::from_secs(64),
        }
    }
}

/// Names one session of an endpoint. Never reused within one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionHandle(pub u64);

/// What happened to a session of the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointEvent {
    /// A server session was created for a peer whose cookie verified.
    Accepted,
    /// An event of the session itself (handshake complete, data, peer closed).
    Session(Event),
    /// The session failed with this error; its alert (if any) is queued. `Destroyed` follows.
    Failed(Error),
    /// The session was removed, with its final statistics; the handle is no longer valid.
    /// Always the last event of a session.
    Destroyed(Box<SessionStats>),
}

/// Life cycle of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointState {
    /// Accepting and connecting.
    Open,
    /// `close` was called; sessions are exchanging close_notify.
    Closing,
    /// Every session is gone; nothing more will happen.
    Closed,
}

/// Why [`Endpoint::connect`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// The endpoint is closing or closed.
    EndpointClosing,
    /// A session with that address already exists (one session per peer address).
    AddressInUse,
    /// `max_sessions` sessions are live.
    TooManySessions,
}

impl core::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::EndpointClosing => "endpoint is closing",
            Self::AddressInUse => "a session with this address exists",
            Self::TooManySessions => "too many sessions",
        })
    }
}

impl std::error::Error for ConnectError {}
