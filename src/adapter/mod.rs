//! Thin drivers that put a sans-IO [`crate::endpoint::Endpoint`] on a real UDP socket.
//!
//! A driver owns the socket and the endpoint and loops: receive → `handle` → drain
//! transmits and events → sleep until `poll_timeout`. This module owns what both drivers
//! share: options, errors, the session description, the public accessors (as macros) and, in
//! `driver`, the table of session handles with the handling of every request and endpoint
//! event. A driver adds only its socket loop and its channel types. Nothing here may make a
//! protocol decision: everything about DTLS happens in the sans-IO core.
//!
//! # Unreachable peers and connect timeouts
//!
//! The free `connect` and `connect_timeout` functions of each adapter make an endpoint with
//! its own socket for their one peer, and *connect* that UDP socket to the peer. The OS then
//! reports an ICMP "port unreachable" for the peer on the socket (as `ECONNREFUSED` on
//! Linux), and a `connect` still waiting for its handshake fails at once with [`Error::Io`]
//! of kind [`ConnectionRefused`](::std::io::ErrorKind::ConnectionRefused), instead of
//! waiting for the handshake deadline. The OS reports no ICMP errors on an unconnected
//! socket, so on a shared endpoint (`listen`, `Endpoint::bind`) `Endpoint::connect` learns
//! of an unreachable peer only from its timeout: bound it with `Endpoint::connect_timeout`
//! (or the client configuration's handshake timeout, 60 s by default).
//!
//! Once established, a session treats an ICMP error as a soft error, as TCP does in its
//! synchronized states (RFC 5927): an unauthenticated ICMP message, which an off-path
//! attacker may forge, never ends an authenticated session. A vanished peer is detected by
//! the session's idle timeout (`ClientConfigBuilder::idle_timeout`).
//!
//! `connect_timeout` bounds the handshake from the moment the driver starts it (name
//! resolution before it is not counted); on expiry the pending session is destroyed and the
//! call fails with [`Error::ConnectTimeout`].

use ::std::net::SocketAddr;
use ::std::time::Duration;

use crate::endpoint::{ConnectError, EndpointConfig, HelloPolicy};

/// The session-information accessors both adapters' `Session` share: besides the address
/// and protocol, each reads the snapshot taken when the handshake completed, through the
/// adapter's own `established(|e| ..)` (a `Mutex` in std, a watch channel in tokio).
#[cfg(any(feature = "std-net", feature = "tokio"))]
macro_rules! session_info_accessors {
    () => {
        /// The peer's address.
        pub fn remote_addr(&self) -> SocketAddr {
            self.remote
        }

        /// Always `"DTLSv1.2"`.
        pub fn protocol(&self) -> &'static str {
            PROTOCOL
        }

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

        /// Whether the handshake resumed an earlier session (RFC 5246 §7.3 abbreviated
        /// handshake) instead of running a full one; false before it completed.
        pub fn is_resumed(&self) -> bool {
            self.established(|e| Some(e.resumed)).unwrap_or(false)
        }
    };
}

/// The endpoint accessors and requests both adapters' `Endpoint` share: each reads the
/// status the driver publishes after every batch through the adapter's own
/// `status_of(|s| ..)`, and sends requests it needs no answer to through `request(..)`.
#[cfg(any(feature = "std-net", feature = "tokio"))]
macro_rules! endpoint_accessors {
    () => {
        /// The local address of the socket.
        pub fn local_addr(&self) -> SocketAddr {
            self.local_addr
        }

        /// Open, closing or closed.
        pub fn state(&self) -> EndpointState {
            self.status_of(|s| s.state)
        }

        /// A snapshot of the endpoint's statistics (updated by the driver after every batch).
        pub fn stats(&self) -> EndpointStats {
            self.status_of(|s| s.stats.clone())
        }

        /// Live sessions, as of the driver's last batch.
        pub fn session_count(&self) -> usize {
            self.status_of(|s| s.sessions)
        }

        /// Whether new sessions are refused, as of the driver's last batch.
        pub fn is_busy(&self) -> bool {
            self.status_of(|s| s.busy)
        }

        /// Refuse (`true`) or accept again new sessions; existing ones are not affected. Takes
        /// effect when the driver reads it; [`Endpoint::is_busy`] then reports it.
        pub fn set_busy(&self, busy: bool) {
            self.request(Command::SetBusy(busy));
        }

        /// Close every session gracefully (close_notify), then stop. See [`Endpoint::closed`].
        pub fn close(&self) {
            self.request(Command::CloseEndpoint);
        }

        /// Drop every session at once, without close_notify, and stop.
        pub fn destroy(&self) {
            self.request(Command::DestroyEndpoint);
        }

        /// Allow a ClientHello from `remote` under [`crate::HelloPolicy::ApprovedOnly`]
        /// ([`crate::adapter::EndpointOptions::hello_policy`]).
        ///
        /// This is the defence against the WebRTC "DTLS ClientHello race" (OWASP ASVS 5.0
        /// V12): an attacker who learns the server's address races the real peer with its own
        /// ClientHello. The application approves only the address that ICE validated with
        /// STUN connectivity checks (the selected candidate pair's remote address) and the
        /// endpoint ignores every other one, counting it in
        /// [`EndpointStats::policy_rejections`].
        ///
        /// Sent to the driver like the other requests: it is in force for every datagram that
        /// reaches the socket after this call returns. Sessions that exist are not affected.
        /// Under [`crate::HelloPolicy::AcceptAll`] approvals are kept but change nothing.
        pub fn approve_peer(&self, remote: SocketAddr) {
            self.request(Command::ApprovePeer(remote));
        }

        /// Withdraw an approval given with [`Endpoint::approve_peer`] (the ICE pair failed or
        /// was replaced, say). A session with `remote` that exists is not affected: destroy
        /// it to end it.
        pub fn revoke_peer(&self, remote: SocketAddr) {
            self.request(Command::RevokePeer(remote));
        }

        /// Server sessions whose handshake has started (after a verified cookie) and not
        /// completed, as of the driver's last batch; at most
        /// [`crate::adapter::EndpointOptions::max_half_open`].
        pub fn half_open_count(&self) -> usize {
            self.status_of(|s| s.half_open)
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
    /// Most server sessions in their handshake at once (see
    /// [`EndpointConfig::max_half_open`]); further ClientHellos are refused and counted in
    /// [`crate::EndpointStats::half_open_rejections`].
    pub max_half_open: usize,
    /// Which addresses may start a server handshake (default: any). With
    /// [`HelloPolicy::ApprovedOnly`], only those approved with the adapter's
    /// `Endpoint::approve_peer`; see there.
    pub hello_policy: HelloPolicy,
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
            max_half_open: c.max_half_open,
            hello_policy: c.hello_policy,
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
            max_half_open: self.max_half_open,
            hello_policy: self.hello_policy,
        }
    }
}

/// A server handshake that failed before the session could be accepted, as an endpoint's
/// `handshake_failure` reports it.
#[derive(Debug, Clone)]
pub struct HandshakeFailure {
    /// The client's address.
    pub remote: SocketAddr,
    /// What went wrong (its alert, if any, was sent to the client).
    pub error: crate::Error,
}

/// What can go wrong in an adapter.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed (bind, address resolution, send). A `connect` from its own socket
    /// whose peer answered with ICMP "port unreachable" before the handshake completed
    /// fails with kind [`::std::io::ErrorKind::ConnectionRefused`] (see the module
    /// documentation).
    Io(::std::io::Error),
    /// The DTLS session failed; the peer got the matching alert.
    Dtls(crate::Error),
    /// The endpoint refused to start a session.
    Connect(ConnectError),
    /// The endpoint or session is closed (or its driver has stopped).
    Closed,
    /// `connect_timeout`: the handshake did not complete within this time; the pending
    /// session was destroyed.
    ConnectTimeout(Duration),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "i/o: {e}"),
            Self::Dtls(e) => write!(f, "dtls: {e}"),
            Self::Connect(e) => write!(f, "connect: {e}"),
            Self::Closed => f.write_str("closed"),
            Self::ConnectTimeout(t) => write!(f, "connect: no handshake within the timeout of {t:?}"),
        }
    }
}

impl ::std::error::Error for Error {
    fn source(&self) -> Option<&(dyn ::std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Dtls(e) => Some(e),
            Self::Connect(e) => Some(e),
            Self::Closed | Self::ConnectTimeout(_) => None,
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
    pub resumed: bool,
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
            resumed: s.is_resumed(),
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

/// What both drivers share: the table of their sessions' handles and the handling of every
/// request and endpoint event. A driver supplies the socket loop and, through
/// [`driver::HandleChannels`], its own channel types; everything else happens here, once.
#[cfg(any(feature = "std-net", feature = "tokio"))]
mod driver {
    use ::std::collections::{BTreeSet, HashMap};
    use ::std::net::SocketAddr;
    use ::std::sync::Arc;
    use ::std::time::{Duration, Instant};

    use super::{Error, Established, ExportRequest, HandshakeFailure, Status};
    use crate::config::ClientConfig;
    use crate::endpoint::{Endpoint as Core, EndpointEvent, EndpointState, SessionHandle};
    use crate::session::Event;
    use crate::stats::{EndpointStats, SessionStats};

    /// Failed server handshakes kept for `handshake_failure`; later ones are dropped until
    /// the application reads them.
    pub(super) const FAILURE_QUEUE: usize = 64;

    /// How long a driver pauses after its socket failed `consecutive` times in a row, so a
    /// socket that keeps failing cannot make it spin: not at all after a single failure (an
    /// ICMP error is reported once), then 1 ms, doubling up to 64 ms.
    pub(super) fn error_pause(consecutive: u32) -> Option<Duration> {
        let n = consecutive.checked_sub(2)?;
        Some(Duration::from_millis(1 << n.min(6)))
    }

    /// How a driver reaches the handles of one adapter: its channel types and how to send on
    /// them. Implemented by the adapter's `Session`. No send may block the driver: a value
    /// that finds its channel full or closed is dropped, as a datagram would be.
    pub(super) trait HandleChannels: Sized {
        /// What a handle keeps to send requests to the driver.
        type Control;
        /// The driver's end of one session's bounded queue of application records.
        type Data;
        /// The driver's end of one session's [`Status`], which its handle reads and waits on.
        type Status;
        /// The driver's end of the answer to one request.
        type Reply<T>;
        /// Where established server sessions go (`accept`).
        type Accept;
        /// Where failed server handshakes go (`handshake_failure`), at most [`FAILURE_QUEUE`].
        type Failures;

        /// A handle for a new session, with the driver's ends of its channels.
        fn open(control: &Self::Control, receive_queue: usize, h: SessionHandle, remote: SocketAddr) -> Slot<Self>;
        fn deliver(to: &Self::Data, data: Vec<u8>);
        fn publish(to: &Self::Status, f: impl FnOnce(&mut Status));
        fn reply<T>(to: Self::Reply<T>, value: T);
        fn accept(to: &Self::Accept, session: Self);
        fn fail(to: &Self::Failures, failure: HandshakeFailure);
    }

    /// A request from a handle to its driver.
    pub(super) enum Command<C: HandleChannels> {
        Connect {
            config: Arc<ClientConfig>,
            remote: SocketAddr,
            /// Give up (destroying the session) if the handshake has not completed by then.
            timeout: Option<Duration>,
            reply: C::Reply<Result<C, Error>>,
        },
        Send {
            h: SessionHandle,
            data: Vec<u8>,
            reply: C::Reply<Result<(), Error>>,
        },
        Stats {
            h: SessionHandle,
            reply: C::Reply<Option<SessionStats>>,
        },
        Export {
            h: SessionHandle,
            request: ExportRequest,
            reply: C::Reply<Result<Vec<u8>, Error>>,
        },
        Close(SessionHandle),
        Destroy(SessionHandle),
        SetBusy(bool),
        ApprovePeer(SocketAddr),
        RevokePeer(SocketAddr),
        MaySendHello {
            remote: SocketAddr,
            reply: C::Reply<bool>,
        },
        CloseEndpoint,
        DestroyEndpoint,
    }

    /// What the endpoint's handle shows, published by the driver after every batch.
    #[derive(Debug, Clone)]
    pub(super) struct EndpointStatus {
        pub state: EndpointState,
        pub stats: EndpointStats,
        pub sessions: usize,
        pub busy: bool,
        pub half_open: usize,
    }

    impl EndpointStatus {
        pub(super) fn of(core: &Core) -> Self {
            Self {
                state: core.state(),
                stats: core.stats().clone(),
                sessions: core.session_count(),
                busy: core.is_busy(),
                half_open: core.half_open_count(),
            }
        }
    }

    /// The driver's view of one session.
    pub(super) struct Slot<C: HandleChannels> {
        remote: SocketAddr,
        /// `None` once the peer closed: the handle's `recv` then ends.
        data: Option<C::Data>,
        status: C::Status,
        /// The handle, until the handshake completes and it is handed out.
        pending: Option<C>,
        /// For sessions made by `connect`: where the handle goes.
        reply: Option<C::Reply<Result<C, Error>>>,
        /// For `connect_timeout`: when the connect gives up, and the timeout it was given.
        deadline: Option<(Instant, Duration)>,
    }

    impl<C: HandleChannels> Slot<C> {
        pub(super) fn new(remote: SocketAddr, handle: C, data: C::Data, status: C::Status) -> Self {
            Self { remote, data: Some(data), status, pending: Some(handle), reply: None, deadline: None }
        }

        /// The reply of a `connect` still waiting, taken with its deadline (if any).
        fn take_reply(
            &mut self,
            h: SessionHandle,
            deadlines: &mut BTreeSet<(Instant, SessionHandle)>,
        ) -> Option<C::Reply<Result<C, Error>>> {
            if let Some((at, _)) = self.deadline.take() {
                deadlines.remove(&(at, h));
            }
            self.reply.take()
        }
    }

    /// Every session's slot, and where finished handshakes go.
    pub(super) struct Slots<C: HandleChannels> {
        slots: HashMap<SessionHandle, Slot<C>>,
        control: C::Control,
        receive_queue: usize,
        /// `None` once the endpoint is closing: `accept` then ends.
        accept: Option<C::Accept>,
        failures: C::Failures,
        /// The deadlines of `connect_timeout` calls still waiting, earliest first.
        deadlines: BTreeSet<(Instant, SessionHandle)>,
    }

    impl<C: HandleChannels> Slots<C> {
        pub(super) fn new(control: C::Control, receive_queue: usize, accept: C::Accept, failures: C::Failures) -> Self {
            let receive_queue = receive_queue.max(1);
            Self {
                slots: HashMap::new(),
                control,
                receive_queue,
                accept: Some(accept),
                failures,
                deadlines: BTreeSet::new(),
            }
        }

        /// When the driver must wake next: the core's next timer or the earliest
        /// `connect_timeout` deadline.
        pub(super) fn wake_at(&self, core: &mut Core) -> Option<Instant> {
            let connect = self.deadlines.first().map(|&(at, _)| at);
            match (core.poll_timeout(), connect) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }

        /// Run what is due at `now`: every `connect_timeout` whose deadline passed fails with
        /// [`Error::ConnectTimeout`] and its session is destroyed; then the core's timers.
        pub(super) fn handle_timeout(&mut self, core: &mut Core, now: Instant) {
            while let Some(&(at, h)) = self.deadlines.first() {
                if at > now {
                    break;
                }
                self.deadlines.remove(&(at, h));
                let timeout = self.slots.get(&h).and_then(|s| s.deadline).map_or(Duration::ZERO, |(_, t)| t);
                self.abandon(core, h, Error::ConnectTimeout(timeout));
            }
            core.handle_timeout(now);
        }

        /// End the `connect` of session `h` if it is still waiting for its handshake: it
        /// fails with `error` and the session is destroyed. Its handle is dropped too, so
        /// that a `Connected` event the core queued meanwhile hands it to nobody.
        fn abandon(&mut self, core: &mut Core, h: SessionHandle, error: Error) {
            let Some(slot) = self.slots.get_mut(&h) else { return };
            let Some(reply) = slot.take_reply(h, &mut self.deadlines) else { return };
            slot.pending = None;
            C::reply(reply, Err(error));
            core.destroy_session(h);
        }

        /// The socket, connected to `remote`, reported that `remote` refused (ICMP port
        /// unreachable): a `connect` to it still waiting for its handshake fails at once with
        /// `error` and its session is destroyed. An established session is left alone, as
        /// TCP treats hard ICMP errors in its synchronized states (RFC 5927): an
        /// unauthenticated ICMP message must not end an authenticated session.
        pub(super) fn refused(&mut self, core: &mut Core, remote: SocketAddr, error: &::std::io::Error) {
            let Some(h) = core.handle_for(remote) else { return };
            let error = ::std::io::Error::new(error.kind(), format!("{remote}: {error}"));
            self.abandon(core, h, Error::Io(error));
        }

        /// Carry out one request from a handle.
        pub(super) fn command(&mut self, core: &mut Core, c: Command<C>, now: Instant) {
            match c {
                Command::Connect { config, remote, timeout, reply } => match core.connect(now, config, remote) {
                    Ok(h) => {
                        let mut slot = C::open(&self.control, self.receive_queue, h, remote);
                        slot.reply = Some(reply);
                        // A deadline too far away to represent is no deadline.
                        if let Some(t) = timeout
                            && let Some(at) = now.checked_add(t)
                        {
                            slot.deadline = Some((at, t));
                            self.deadlines.insert((at, h));
                        }
                        self.slots.insert(h, slot);
                    }
                    Err(e) => C::reply(reply, Err(e.into())),
                },
                Command::Send { h, data, reply } => C::reply(reply, core.send(h, &data).map_err(Error::from)),
                Command::Stats { h, reply } => C::reply(reply, core.session(h).map(|s| s.stats().clone())),
                Command::Export { h, request, reply } => C::reply(reply, request.run(core.session(h))),
                Command::Close(h) => core.close_session(now, h),
                Command::Destroy(h) => core.destroy_session(h),
                Command::SetBusy(b) => core.set_busy(b),
                Command::ApprovePeer(remote) => core.approve_peer(remote),
                Command::RevokePeer(remote) => core.revoke_peer(remote),
                Command::MaySendHello { remote, reply } => C::reply(reply, core.may_send_hello(remote)),
                Command::CloseEndpoint => {
                    self.accept = None;
                    core.close(now);
                }
                Command::DestroyEndpoint => {
                    self.accept = None;
                    core.destroy(now);
                }
            }
        }

        /// Pass one endpoint event on to the handles. Drain events before transmits: the
        /// session of an `Accepted` or `Connected` event must still be there to be read, and
        /// `poll_transmit` removes a session that ended (say, on its first ClientHello).
        pub(super) fn event(&mut self, core: &Core, h: SessionHandle, ev: EndpointEvent) {
            if let EndpointEvent::Accepted = ev {
                if let Some(remote) = core.session(h).map(|s| s.remote_addr()) {
                    let slot = C::open(&self.control, self.receive_queue, h, remote);
                    self.slots.insert(h, slot);
                }
                return;
            }
            let Some(slot) = self.slots.get_mut(&h) else { return };
            match ev {
                EndpointEvent::Session(Event::Connected) => {
                    let established = core.session(h).map(Established::of);
                    C::publish(&slot.status, |s| s.established = established);
                    if let Some(session) = slot.pending.take() {
                        match (slot.take_reply(h, &mut self.deadlines), &self.accept) {
                            (Some(reply), _) => C::reply(reply, Ok(session)),
                            (None, Some(accept)) => C::accept(accept, session),
                            (None, None) => {}
                        }
                    }
                }
                EndpointEvent::Session(Event::ApplicationData(d)) => {
                    if let Some(tx) = &slot.data {
                        C::deliver(tx, d);
                    }
                }
                EndpointEvent::Session(Event::Closed) => slot.data = None,
                EndpointEvent::Failed(e) => {
                    if let Some(reply) = slot.take_reply(h, &mut self.deadlines) {
                        C::reply(reply, Err(Error::Dtls(e.clone())));
                    } else if slot.pending.is_some() {
                        C::fail(&self.failures, HandshakeFailure { remote: slot.remote, error: e.clone() });
                    }
                    C::publish(&slot.status, |s| s.error = Some(e));
                }
                EndpointEvent::Destroyed(stats) => {
                    if let Some(mut slot) = self.slots.remove(&h) {
                        if let Some(reply) = slot.take_reply(h, &mut self.deadlines) {
                            C::reply(reply, Err(Error::Closed));
                        }
                        C::publish(&slot.status, |s| s.final_stats = Some(*stats));
                    }
                }
                EndpointEvent::Accepted => {}
            }
        }

        /// The driver stops: wake every handle still waiting for its session to end.
        pub(super) fn finish(&mut self, now: Instant) {
            self.deadlines.clear();
            for (_, slot) in self.slots.drain() {
                C::publish(&slot.status, |s| {
                    s.final_stats.get_or_insert_with(|| SessionStats::new(now));
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_pass_the_hello_policy_and_half_open_cap_to_the_core() {
        let defaults = EndpointOptions::default();
        let core = EndpointConfig::default();
        assert_eq!((defaults.hello_policy, defaults.max_half_open), (core.hello_policy, core.max_half_open));
        let options =
            EndpointOptions { hello_policy: HelloPolicy::ApprovedOnly, max_half_open: 7, ..EndpointOptions::default() };
        let config = options.endpoint_config(None);
        assert_eq!((config.hello_policy, config.max_half_open), (HelloPolicy::ApprovedOnly, 7));
    }

    #[test]
    fn connect_timeout_error_names_the_timeout() {
        let e = Error::ConnectTimeout(Duration::from_millis(300));
        assert!(e.to_string().contains("300ms"), "{e}");
    }

    #[cfg(any(feature = "std-net", feature = "tokio"))]
    #[test]
    fn socket_error_pauses_start_at_the_second_error_and_are_capped() {
        let pauses: Vec<_> = (0..12).map(driver::error_pause).collect();
        assert_eq!(&pauses[..3], &[None, None, Some(Duration::from_millis(1))]);
        assert_eq!(pauses[3], Some(Duration::from_millis(2)));
        assert_eq!(pauses[11], Some(Duration::from_millis(64)));
        assert_eq!(driver::error_pause(u32::MAX), Some(Duration::from_millis(64)));
    }
}
