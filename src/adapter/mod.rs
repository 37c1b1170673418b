//! Thin drivers that put a sans-IO [`crate::endpoint::Endpoint`] on a real UDP socket.
//!
//! A driver owns the socket and the endpoint and loops: receive → `handle` → drain
//! transmits and events → sleep until `poll_timeout`. This module owns the types both
//! drivers share (options, errors, the session description). It must never make a protocol
//! decision: everything about DTLS happens in the sans-IO core.

use ::std::time::Duration;

use crate::endpoint::{ConnectError, EndpointConfig};

/// The session-information accessors both adapters' `Session` share: each reads the
/// snapshot taken when the handshake completed, through the adapter's own
/// `established(|e| ..)` (a `Mutex` in std, a watch channel in tokio).
#[cfg(any(feature = "std-net", feature = "tokio"))]
macro_rules! session_info_accessors {
    () => {
        /// The negotiated cipher suite (OpenSSL name, IANA name, version).
        pub fn cipher(&self) -> Option<CipherInfo> {
            self.established(|e| e.cipher)
        }

        /// The peer's leaf certificate (DER), if it sent one.
        pub fn peer_certificate(&self) -> Option<CertificateDer<'static>> {
            self.established(|e| e.peer_certificate.clone())
        }

        /// The peer's leaf certificate in PEM, if it sent one.
        pub fn peer_certificate_pem(&self) -> Option<String> {
            self.established(|e| e.peer_certificate_pem.clone())
        }

        /// The application protocol agreed through ALPN (RFC 7301).
        pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
            self.established(|e| e.alpn_protocol.clone())
        }

        /// The SRTP protection profile agreed through use_srtp (RFC 5764).
        pub fn srtp_profile(&self) -> Option<SrtpProtectionProfile> {
            self.established(|e| e.srtp_profile)
        }

        /// SRTP master keys and salts (RFC 5764 §4.2), when a profile was agreed.
        pub fn srtp_keying_material(&self) -> Option<SrtpKeyingMaterial> {
            self.established(|e| e.srtp_keying_material.clone())
        }
    };
}

#[cfg(feature = "std-net")]
pub mod std;
#[cfg(feature = "tokio")]
pub mod tokio;

/// The protocol every adapter session reports (node:dtls `session.protocol`).
pub const PROTOCOL: &str = "DTLSv1.2";

/// Endpoint settings besides the server configuration (see [`EndpointConfig`]).
#[derive(Debug, Clone)]
pub struct EndpointOptions {
    /// Most live sessions.
    pub max_sessions: usize,
    /// Cookie secret rotation period.
    pub cookie_rotation: Duration,
    /// How long a closing session waits for the peer's close_notify.
    pub close_linger: Duration,
    /// Seed for the cookie secrets (tests).
    pub rng_seed: Option<[u8; 32]>,
    /// Application records buffered per session before new ones are dropped, as a slow
    /// reader of a UDP socket would lose them.
    pub receive_queue: usize,
}

impl Default for EndpointOptions {
    fn default() -> Self {
        let c = EndpointConfig::default();
        Self {
            max_sessions: c.max_sessions,
            cookie_rotation: c.cookie_rotation,
            close_linger: c.close_linger,
            rng_seed: None,
            receive_queue: 1024,
        }
    }
}

impl EndpointOptions {
    #[cfg_attr(not(any(feature = "std-net", feature = "tokio")), allow(dead_code))]
    pub(crate) fn endpoint_config(
        &self,
        server: Option<::std::sync::Arc<crate::config::ServerConfig>>,
    ) -> EndpointConfig {
        EndpointConfig {
            server,
            max_sessions: self.max_sessions,
            cookie_rotation: self.cookie_rotation,
            close_linger: self.close_linger,
            rng_seed: self.rng_seed,
        }
    }
}

/// What can go wrong in an adapter.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed (bind, address resolution, send).
    Io(::std::io::Error),
    /// The DTLS session failed; the peer got the matching alert.
    Dtls(crate::Error),
    /// The endpoint refused to start a session.
    Connect(ConnectError),
    /// The endpoint or session is closed (or its driver has stopped).
    Closed,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "i/o: {e}"),
            Self::Dtls(e) => write!(f, "dtls: {e}"),
            Self::Connect(e) => write!(f, "connect: {e}"),
            Self::Closed => f.write_str("closed"),
        }
    }
}

impl ::std::error::Error for Error {
    fn source(&self) -> Option<&(dyn ::std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Dtls(e) => Some(e),
            Self::Connect(e) => Some(e),
            Self::Closed => None,
        }
    }
}

impl From<::std::io::Error> for Error {
    fn from(e: ::std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<crate::Error> for Error {
    fn from(e: crate::Error) -> Self {
        Self::Dtls(e)
    }
}

impl From<ConnectError> for Error {
    fn from(e: ConnectError) -> Self {
        Self::Connect(e)
    }
}

/// What an application may ask about an established session, captured when the handshake
/// completed (all of it is fixed from then on). Exporting keying material for other labels
/// needs the master secret, which stays in the driver: the handles ask it.
#[derive(Debug, Clone, Default)]
#[cfg_attr(not(any(feature = "std-net", feature = "tokio")), allow(dead_code))]
pub(crate) struct Established {
    pub cipher: Option<crate::CipherInfo>,
    pub peer_certificate: Option<crate::CertificateDer<'static>>,
    pub peer_certificate_pem: Option<String>,
    pub alpn_protocol: Option<Vec<u8>>,
    pub srtp_profile: Option<crate::SrtpProtectionProfile>,
    pub srtp_keying_material: Option<crate::SrtpKeyingMaterial>,
}

#[cfg_attr(not(any(feature = "std-net", feature = "tokio")), allow(dead_code))]
impl Established {
    pub(crate) fn of(s: &crate::Session) -> Self {
        Self {
            cipher: s.cipher(),
            peer_certificate: s.peer_certificates().and_then(|c| c.first().cloned()),
            peer_certificate_pem: s.peer_certificate_pem(),
            alpn_protocol: s.alpn_protocol().map(<[u8]>::to_vec),
            srtp_profile: s.srtp_profile(),
            srtp_keying_material: s.srtp_keying_material().ok(),
        }
    }
}

/// A request to export keying material (RFC 5705), answered by the driver.
#[derive(Debug)]
#[cfg_attr(not(any(feature = "std-net", feature = "tokio")), allow(dead_code))]
pub(crate) struct ExportRequest {
    pub len: usize,
    pub label: Vec<u8>,
    pub context: Option<Vec<u8>>,
}

#[cfg_attr(not(any(feature = "std-net", feature = "tokio")), allow(dead_code))]
impl ExportRequest {
    pub(crate) fn new(len: usize, label: &[u8], context: Option<&[u8]>) -> Self {
        Self { len, label: label.to_vec(), context: context.map(<[u8]>::to_vec) }
    }

    /// Run the export against the live session (the driver side).
    pub(crate) fn run(&self, session: Option<&crate::Session>) -> Result<Vec<u8>, Error> {
        let s = session.ok_or(Error::Closed)?;
        let mut out = vec![0u8; self.len];
        s.export_keying_material(&mut out, &self.label, self.context.as_deref())?;
        Ok(out)
    }
}

/// Where a session is in its life, as the handles see it.
#[derive(Debug, Clone, Default)]
#[cfg_attr(not(any(feature = "std-net", feature = "tokio")), allow(dead_code))]
pub(crate) struct Status {
    pub established: Option<Established>,
    pub error: Option<crate::Error>,
    /// Final statistics, once the session was destroyed.
    pub final_stats: Option<crate::SessionStats>,
}
