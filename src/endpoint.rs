//! Many DTLS associations on one socket, sans-IO: datagrams are demultiplexed by the peer's
//! address, unknown peers are answered statelessly with a HelloVerifyRequest until their
//! cookie verifies, and one timer heap serves every session.
//!
//! The endpoint owns the session table, the cookie secrets, the busy flag and the session
//! cap, and its [`EndpointStats`]. It must never touch a socket or a clock, never keep state
//! for a peer whose cookie has not verified, never send a peer more bytes than it sent
//! before its cookie verified, and never scan all sessions to handle one datagram or one
//! timer.
//!
//! Drive it like a [`Session`], draining the outputs after every input, events first:
//!
//! ```text
//! loop {
//!     endpoint.handle(now, from, &datagram);           // or handle_timeout, connect, send, close
//!     while let Some((h, e)) = endpoint.poll_event() { /* Accepted, Session(..), Destroyed */ }
//!     while let Some(t) = endpoint.poll_transmit() { socket.send_to(&t.contents, t.destination) }
//!     sleep_until(endpoint.poll_timeout());
//! }
//! ```
//!
//! Events first, because draining a failed session's last datagram (its alert) removes it: a
//! handshake that fails on its first flight yields `Accepted` and `Failed` together, and
//! [`Endpoint::session`] still answers for it only until `poll_transmit` has drained it.
//!
//! A session is removed (and [`EndpointEvent::Destroyed`] reported) when `poll_transmit`
//! has drained its last datagram after it ended: fatal error (its alert goes out first),
//! close_notify exchanged, or linger timeout after a local close.

// The rules above are docs/security.md items 7 (no state before the cookie) and 11 (no
// amplification).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{ClientConfig, ServerConfig};
use crate::crypto::rng::DetRng;
use crate::error::Error;
use crate::pool::BufferPool;
use crate::session::{Event, Session, Transmit};
use crate::stats::{EndpointStats, SessionStats};

mod hello;
mod table;
mod timers;

use hello::{CookieSecrets, PeekedHello, may_be_client_hello, peek_client_hello};
use table::Table;
use timers::{Armed, TimerHeap};

/// At most this many stateless HelloVerifyRequests wait in the output queue; beyond it
/// ClientHellos are dropped (the application is not draining `poll_transmit`).
const MAX_QUEUED_STATELESS: usize = 1024;

/// Bytes of one stateless HelloVerifyRequest datagram: record header (13), handshake header
/// (12), server_version (2), cookie length (1) and cookie.
const HELLO_VERIFY_REQUEST_LEN: usize = 13 + 12 + 3 + crate::cookie::COOKIE_LEN;

/// The largest ClientHello an endpoint accepts from a peer (and reassembles in a half-open
/// session), if the server configuration's `max_message_len` is not smaller. A browser's
/// post-quantum hello (X25519MLKEM768 share first) is about 1.5 KB; this leaves room for
/// larger key shares and long extension lists while bounding what a half-open session may
/// hold to about this much plus its fixed state.
const MAX_CLIENT_HELLO_LEN: usize = 16 * 1024;

/// Capacity of a new receive buffer: a typical MTU-sized datagram fits without regrowth.
const RX_BUFFER_LEN: usize = 1500;

/// Settings of an [`Endpoint`].
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Accept sessions with this configuration; `None` makes a client-only endpoint that
    /// drops every datagram from unknown peers.
    pub server: Option<Arc<ServerConfig>>,
    /// Most live sessions (server and client); ClientHellos beyond it are refused.
    pub max_sessions: usize,
    /// How often the cookie secret changes (default 60 s, at least 1 s). A cookie stays
    /// valid for one more period after its secret was retired.
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

/// `repr(C)`: the flags and the timer every routed datagram reads sit just before the
/// session's own hot fields (see [`Session`]).
#[repr(C)]
struct Entry {
    peer_closed: bool,
    /// Ended: remove once its transmits are drained.
    ended: bool,
    /// In the `touched` queue.
    queued: bool,
    timer: Armed,
    linger_until: Option<Instant>,
    session: Session,
    /// Server sessions: the random of the ClientHello that created them, to tell its
    /// retransmissions from a restarted client. `None` for client sessions. Read only for
    /// datagrams that may be a ClientHello.
    hello_random: Option<[u8; 32]>,
    /// A server session not connected yet: counted against `max_half_open`.
    half_open: bool,
}

/// Many sessions on one socket. See the module documentation.
pub struct Endpoint {
    config: EndpointConfig,
    sessions: Table<Entry>,
    by_addr: HashMap<SocketAddr, SessionHandle>,
    timers: TimerHeap,
    /// Sessions that may have output or may have ended, in the order they were touched.
    touched: VecDeque<SessionHandle>,
    stateless: VecDeque<Transmit>,
    /// Recycled buffers for stateless answers, so a ClientHello flood allocates nothing.
    stateless_pool: BufferPool,
    /// Buffers that datagrams for sessions are copied into and opened in place; each
    /// application record's buffer becomes its event's payload and comes back through
    /// [`Endpoint::recycle`]. One pool for all sessions, so the buffer reused for the next
    /// datagram is the one most recently touched, whichever session it goes to.
    rx_pool: BufferPool,
    events: VecDeque<(SessionHandle, EndpointEvent)>,
    cookies: Option<CookieSecrets>,
    /// Addresses allowed to send a ClientHello under [`HelloPolicy::ApprovedOnly`].
    approved: HashSet<SocketAddr>,
    /// Server sessions with `half_open` set.
    half_open: usize,
    busy: bool,
    state: EndpointState,
    stats: EndpointStats,
    /// The latest `now` any input carried (for timestamps of outputs).
    last_now: Instant,
}

impl core::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Endpoint")
            .field("sessions", &self.sessions.len())
            .field("busy", &self.busy)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// A new endpoint. Cookie secrets come from `config.rng_seed` or, failing that, from the
    /// server configuration's RNG; a client-only endpoint needs none.
    pub fn new(now: Instant, config: EndpointConfig) -> Self {
        let rng = match (config.rng_seed, &config.server) {
            (Some(seed), _) => Some(DetRng::from_seed(seed)),
            (None, Some(server)) => Some(server.common.session_rng()),
            (None, None) => None,
        };
        let cookies = rng.map(|r| CookieSecrets::new(r, config.cookie_rotation, now));
        Self {
            config,
            sessions: Table::default(),
            by_addr: HashMap::new(),
            timers: TimerHeap::default(),
            touched: VecDeque::new(),
            stateless: VecDeque::new(),
            stateless_pool: BufferPool::default(),
            rx_pool: BufferPool::default(),
            events: VecDeque::new(),
            cookies,
            approved: HashSet::new(),
            half_open: 0,
            busy: false,
            state: EndpointState::Open,
            stats: EndpointStats::new(now),
            last_now: now,
        }
    }

    // ---- inputs ---------------------------------------------------------------------------

    /// Process one datagram from `remote`.
    pub fn handle(&mut self, now: Instant, remote: SocketAddr, datagram: &[u8]) {
        self.last_now = now;
        self.stats.packets_received += 1;
        self.stats.bytes_received += datagram.len() as u64;
        if self.state == EndpointState::Closed {
            self.stats.datagrams_dropped += 1;
            return;
        }
        if let Some(c) = self.cookies.as_mut() {
            c.rotate_if_due(now);
        }
        match self.by_addr.get(&remote).copied() {
            Some(h) => self.handle_known(now, h, remote, datagram),
            None => self.handle_unknown(now, remote, datagram),
        }
    }

    /// Run the timers that are due: only sessions whose deadline has come are touched.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        while let Some((h, t, g)) = self.timers.pop_due(now) {
            let Some(e) = self.sessions.get_mut(h) else { continue };
            if e.timer.at != Some(t) || e.timer.generation != g {
                continue;
            }
            e.timer.at = None;
            if e.linger_until.is_some_and(|l| now >= l) {
                e.ended = true;
            } else if let Err(err) = e.session.handle_timeout(now) {
                e.ended = true;
                self.events.push_back((h, EndpointEvent::Failed(err)));
            }
            self.settle(h);
        }
    }

    /// Start a client session to `remote`; its ClientHello is queued at once.
    pub fn connect(
        &mut self,
        now: Instant,
        config: Arc<ClientConfig>,
        remote: SocketAddr,
    ) -> Result<SessionHandle, ConnectError> {
        self.last_now = now;
        if self.state != EndpointState::Open {
            return Err(ConnectError::EndpointClosing);
        }
        if self.by_addr.contains_key(&remote) {
            return Err(ConnectError::AddressInUse);
        }
        if self.sessions.len() >= self.config.max_sessions {
            return Err(ConnectError::TooManySessions);
        }
        let h = self.insert(Session::client(now, config, remote), None);
        self.stats.client_sessions += 1;
        self.settle(h);
        Ok(h)
    }

    /// Send one application record on session `h`. Refused as [`Session::send`] refuses
    /// (a message over [`Session::max_payload`] is [`Error::MessageTooLarge`], say); a
    /// refusal is not fatal and leaves the session as it was.
    pub fn send(&mut self, h: SessionHandle, data: &[u8]) -> Result<(), Error> {
        let e = self.sessions.get_mut(h).ok_or(Error::Closed)?;
        if e.ended {
            return Err(Error::Closed);
        }
        e.session.send(data)?;
        self.settle(h);
        Ok(())
    }

    /// Close session `h` gracefully: close_notify now, removal when the peer answers or
    /// after the linger time.
    pub fn close_session(&mut self, now: Instant, h: SessionHandle) {
        self.last_now = now;
        let linger = self.config.close_linger;
        let Some(e) = self.sessions.get_mut(h) else { return };
        e.session.close(now);
        e.linger_until.get_or_insert(now + linger);
        self.settle(h);
    }

    /// Remove session `h` at once, without close_notify.
    pub fn destroy_session(&mut self, h: SessionHandle) {
        self.remove(h);
    }

    /// Refuse (`true`) or accept again (`false`) new sessions. Existing sessions are not
    /// affected.
    pub fn set_busy(&mut self, busy: bool) {
        self.busy = busy;
    }

    /// Whether new sessions are refused.
    pub fn is_busy(&self) -> bool {
        self.busy
    }

    /// Allow `remote` to start a handshake under [`HelloPolicy::ApprovedOnly`] (for WebRTC:
    /// once ICE has validated the candidate pair). Has no effect on sessions that exist.
    pub fn approve_peer(&mut self, remote: SocketAddr) {
        self.approved.insert(remote);
    }

    /// Withdraw an approval given with [`Endpoint::approve_peer`]. A session that exists
    /// with `remote` is not affected (destroy it to end it).
    pub fn revoke_peer(&mut self, remote: SocketAddr) {
        self.approved.remove(&remote);
    }

    /// Whether `remote` may start a handshake under the endpoint's [`HelloPolicy`].
    pub fn may_send_hello(&self, remote: SocketAddr) -> bool {
        match self.config.hello_policy {
            HelloPolicy::AcceptAll => true,
            HelloPolicy::ApprovedOnly => self.approved.contains(&remote),
        }
    }

    /// Server sessions created after a verified cookie whose handshake has not completed.
    pub fn half_open_count(&self) -> usize {
        self.half_open
    }

    /// Close every session gracefully and accept no new ones. The endpoint becomes
    /// [`EndpointState::Closed`] once every session has ended.
    pub fn close(&mut self, now: Instant) {
        if self.state != EndpointState::Open {
            return;
        }
        self.last_now = now;
        self.state = EndpointState::Closing;
        let handles: Vec<SessionHandle> = self.sessions.handles();
        for h in handles {
            self.close_session(now, h);
        }
        self.check_closed(now);
    }

    /// Drop every session at once, without close_notify. Each gets a `Destroyed` event.
    pub fn destroy(&mut self, now: Instant) {
        for (h, e) in self.sessions.drain() {
            let mut stats = e.session.stats().clone();
            stats.destroyed.get_or_insert(now);
            self.events.push_back((h, EndpointEvent::Destroyed(Box::new(stats))));
        }
        self.by_addr.clear();
        self.half_open = 0;
        self.touched.clear();
        self.stateless.clear();
        self.timers.clear();
        self.state = EndpointState::Closed;
        self.stats.destroyed.get_or_insert(now);
    }

    // ---- outputs --------------------------------------------------------------------------

    /// The next datagram to send: stateless HelloVerifyRequests first, then the sessions'
    /// datagrams in the order they were produced. Ended sessions are removed here, once
    /// their last datagram has been handed out.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let mut contents = Vec::new();
        let destination = self.poll_transmit_into(&mut contents)?;
        Some(Transmit { destination, contents })
    }

    /// Like [`Endpoint::poll_transmit`], but swaps the datagram into `buf` (whose old
    /// allocation the endpoint keeps for reuse) and returns its destination: with one
    /// long-lived `buf`, neither stateless HelloVerifyRequests nor session records need a
    /// heap allocation.
    pub fn poll_transmit_into(&mut self, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        if let Some(t) = self.stateless.pop_front() {
            let old = core::mem::replace(buf, t.contents);
            self.stateless_pool.put(old);
            self.count_sent(buf.len());
            return Some(t.destination);
        }
        while let Some(&h) = self.touched.front() {
            let Some(e) = self.sessions.get_mut(h) else {
                self.touched.pop_front();
                continue;
            };
            if let Some(to) = e.session.poll_transmit_into(buf) {
                self.count_sent(buf.len());
                return Some(to);
            }
            e.queued = false;
            self.touched.pop_front();
            self.settle_quiet(h);
            if self.sessions.get(h).is_some_and(|e| e.ended) {
                self.remove(h);
            }
        }
        None
    }

    /// Hand back a buffer the endpoint gave out (the payload of an
    /// [`Event::ApplicationData`], or a [`Transmit`]'s contents) for reuse. All sessions
    /// share the endpoint's receive pool, so which session `_session` names does not matter;
    /// the parameter keeps call sites explicit about where a buffer came from.
    pub fn recycle(&mut self, _session: SessionHandle, buf: Vec<u8>) {
        self.rx_pool.put(buf);
    }

    /// The next event of any session.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<(SessionHandle, EndpointEvent)> {
        self.events.pop_front()
    }

    /// The next instant at which [`Endpoint::handle_timeout`] must be called. Takes `&mut`
    /// to discard timers that were re-armed since (O(log n) amortised).
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let sessions = &self.sessions;
        self.timers.next(|h, t, g| sessions.get(h).is_some_and(|e| e.timer.at == Some(t) && e.timer.generation == g))
    }

    // ---- access ---------------------------------------------------------------------------

    /// The session behind `h`.
    pub fn session(&self, h: SessionHandle) -> Option<&Session> {
        self.sessions.get(h).map(|e| &e.session)
    }

    /// The session behind `h`, mutably. Output it produces is picked up by the next
    /// `poll_transmit` / `poll_event`, and its timer re-armed then.
    pub fn session_mut(&mut self, h: SessionHandle) -> Option<&mut Session> {
        let e = self.sessions.get_mut(h)?;
        if !e.queued {
            e.queued = true;
            self.touched.push_back(h);
        }
        Some(&mut e.session)
    }

    /// The session with the peer at `remote`.
    pub fn handle_for(&self, remote: SocketAddr) -> Option<SessionHandle> {
        self.by_addr.get(&remote).copied()
    }

    /// Live sessions (including ended ones whose last datagrams are not drained yet).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Where the endpoint is in its life cycle.
    pub fn state(&self) -> EndpointState {
        self.state
    }

    /// Statistics of this endpoint.
    pub fn stats(&self) -> &EndpointStats {
        &self.stats
    }

    // ---- receive path ---------------------------------------------------------------------

    /// RFC 6347 §4.2.8: "If a server receives a ClientHello at epoch 0 on a port with an
    /// existing association, it SHOULD proceed with a new handshake but MUST NOT destroy
    /// the existing association until the client has demonstrated reachability either by
    /// completing a cookie exchange or by completing a complete handshake".
    ///
    /// So for a live server session, a ClientHello at epoch 0:
    /// - with the random of the hello that created the session is a retransmission and goes
    ///   to the session (which re-sends its flight);
    /// - with another random and no valid cookie gets a stateless HelloVerifyRequest, and
    ///   the live session is untouched (a spoofed hello cannot harm it);
    /// - with another random and a valid cookie replaces the session.
    ///
    /// Routing cookie-less hellos to the session instead would leave a restarted client
    /// (same address and port) without an answer until the old session timed out.
    fn handle_known(&mut self, now: Instant, h: SessionHandle, remote: SocketAddr, datagram: &[u8]) {
        if may_be_client_hello(datagram)
            && let Some(old_random) = self.sessions.get(h).and_then(|e| e.hello_random)
            && let Some(peeked) = peek_client_hello(datagram, self.max_hello_len())
            && peeked.random != old_random
        {
            let validated = self.cookies.as_ref().and_then(|c| c.verify(remote, &peeked));
            if !self.may_send_hello(remote) {
                self.stats.policy_rejections += 1;
            } else if validated.is_none() {
                self.send_hello_verify_request(remote, &peeked, datagram.len());
            } else if self.state != EndpointState::Open {
                self.stats.datagrams_dropped += 1;
            } else if self.busy {
                self.stats.busy_rejections += 1;
            } else {
                self.remove(h);
                self.stats.sessions_replaced += 1;
                self.accept(now, remote, validated, &peeked, datagram);
            }
            return;
        }
        self.feed(now, h, datagram);
    }

    /// The largest ClientHello accepted (see [`MAX_CLIENT_HELLO_LEN`]).
    fn max_hello_len(&self) -> usize {
        self.config.server.as_ref().map_or(0, |s| s.common.max_message_len.min(MAX_CLIENT_HELLO_LEN))
    }

    fn handle_unknown(&mut self, now: Instant, remote: SocketAddr, datagram: &[u8]) {
        let Some(server) = self.config.server.as_ref() else {
            self.stats.datagrams_dropped += 1;
            return;
        };
        let cookie_exchange = server.cookie;
        // Anything but a ClientHello (or its first fragment) from an unknown peer is
        // dropped, with no state.
        let peeked = match peek_client_hello(datagram, self.max_hello_len()) {
            Some(p) if self.state == EndpointState::Open => p,
            _ => {
                self.stats.datagrams_dropped += 1;
                return;
            }
        };
        if !self.may_send_hello(remote) {
            self.stats.policy_rejections += 1;
            return;
        }
        if self.busy {
            self.stats.busy_rejections += 1;
            return;
        }
        if self.sessions.len() >= self.config.max_sessions {
            self.stats.session_limit_rejections += 1;
            return;
        }
        if peeked.fragmented {
            self.stats.fragmented_hellos += 1;
        }
        let validated = self.cookies.as_ref().and_then(|c| c.verify(remote, &peeked));
        if validated.is_some() || !cookie_exchange {
            self.accept(now, remote, validated, &peeked, datagram);
        } else {
            self.send_hello_verify_request(remote, &peeked, datagram.len());
        }
    }

    /// Create a server session for a ClientHello whose cookie verified (or, with the cookie
    /// exchange switched off in the server configuration, for any ClientHello), unless
    /// `max_half_open` sessions are already in their handshake. The session is fed the
    /// datagram; when it held only the hello's first fragment, the session reassembles the
    /// rest from the peer's next datagrams under its configuration's reassembly caps.
    fn accept(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        validated: Option<crate::cookie::AddressValidated>,
        peeked: &PeekedHello<'_>,
        datagram: &[u8],
    ) {
        let Some(server) = self.config.server.clone() else { return };
        if self.half_open >= self.config.max_half_open {
            self.stats.half_open_rejections += 1;
            return;
        }
        let session = match validated {
            Some(proof) => Session::server_after_cookie(now, server, proof, peeked.message_seq, peeked.record_seq),
            None => Session::server(now, server, remote),
        };
        let h = self.insert(session, Some(peeked.random));
        self.stats.server_sessions += 1;
        self.events.push_back((h, EndpointEvent::Accepted));
        self.feed(now, h, datagram);
    }

    fn send_hello_verify_request(&mut self, remote: SocketAddr, peeked: &PeekedHello<'_>, hello_len: usize) {
        let Some(cookies) = self.cookies.as_ref() else {
            self.stats.datagrams_dropped += 1;
            return;
        };
        if self.stateless.len() >= MAX_QUEUED_STATELESS {
            self.stats.datagrams_dropped += 1;
            return;
        }
        let mut contents = self.stateless_pool.take(HELLO_VERIFY_REQUEST_LEN);
        cookies.hello_verify_request(remote, peeked, &mut contents);
        // docs/security.md item 11: never answer with more bytes than the ClientHello had.
        if contents.len() > hello_len {
            self.stats.amplification_refusals += 1;
            self.stateless_pool.put(contents);
            return;
        }
        self.stats.hello_verify_requests_sent += 1;
        self.stateless.push_back(Transmit { destination: remote, contents });
    }

    fn feed(&mut self, now: Instant, h: SessionHandle, datagram: &[u8]) {
        let Some(e) = self.sessions.get_mut(h) else { return };
        if e.ended {
            self.stats.datagrams_dropped += 1;
            return;
        }
        let mut buf = self.rx_pool.take(datagram.len().max(RX_BUFFER_LEN));
        buf.extend_from_slice(datagram);
        let result = e.session.handle_in_place(now, &mut buf);
        // Taken as a payload: `buf` is empty and unallocated, and the pool ignores it.
        self.rx_pool.put(buf);
        match result {
            Ok(None) => {}
            // The record's payload goes straight to the endpoint's queue when the session has
            // no older event waiting (it never has, unless the application queued one through
            // `session_mut`), sparing a visit to the session's own queue.
            Ok(Some(payload)) if !e.session.has_events() => {
                self.events.push_back((h, EndpointEvent::Session(Event::ApplicationData(payload))));
            }
            Ok(Some(payload)) => e.session.push_application_data(payload),
            Err(err) => {
                e.ended = true;
                self.events.push_back((h, EndpointEvent::Failed(err)));
            }
        }
        self.settle(h);
    }

    // ---- bookkeeping ----------------------------------------------------------------------

    /// Insert a session; a server session (`hello_random` set) counts as half-open until
    /// it connects or is removed.
    fn insert(&mut self, session: Session, hello_random: Option<[u8; 32]>) -> SessionHandle {
        let remote = session.remote_addr();
        let half_open = hello_random.is_some();
        self.half_open += usize::from(half_open);
        let h = self.sessions.insert(Entry {
            peer_closed: false,
            ended: false,
            queued: false,
            timer: Armed::default(),
            linger_until: None,
            session,
            hello_random,
            half_open,
        });
        self.by_addr.insert(remote, h);
        h
    }

    /// After any input to session `h`: queue it for transmit draining, then collect its
    /// events, decide whether it ended, and re-arm its timer.
    fn settle(&mut self, h: SessionHandle) {
        if let Some(e) = self.sessions.get_mut(h)
            && !e.queued
        {
            e.queued = true;
            self.touched.push_back(h);
        }
        self.settle_quiet(h);
    }

    fn settle_quiet(&mut self, h: SessionHandle) {
        let Some(e) = self.sessions.get_mut(h) else { return };
        while let Some(ev) = e.session.poll_event() {
            if ev == Event::Closed {
                e.peer_closed = true;
            }
            if ev == Event::Connected && e.half_open {
                e.half_open = false;
                self.half_open -= 1;
            }
            self.events.push_back((h, EndpointEvent::Session(ev)));
        }
        // The peer's close_notify was received; the session has queued its answer.
        if e.peer_closed && e.session.is_closed() {
            e.ended = true;
        }
        let at = if e.ended {
            None
        } else {
            match (e.session.poll_timeout(), e.linger_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        self.timers.arm(h, &mut e.timer, at);
        self.compact_timers();
    }

    /// Rebuild the heap when stale entries outnumber live sessions (amortised O(1)).
    fn compact_timers(&mut self) {
        if self.timers.len() > 2 * self.sessions.len() + 64 {
            let sessions = &self.sessions;
            self.timers
                .compact(|h, t, g| sessions.get(h).is_some_and(|e| e.timer.at == Some(t) && e.timer.generation == g));
        }
    }

    fn remove(&mut self, h: SessionHandle) {
        let Some(e) = self.sessions.remove(h) else { return };
        self.half_open -= usize::from(e.half_open);
        let remote = e.session.remote_addr();
        if self.by_addr.get(&remote) == Some(&h) {
            self.by_addr.remove(&remote);
        }
        let mut stats = e.session.stats().clone();
        stats.destroyed.get_or_insert(self.last_now);
        self.events.push_back((h, EndpointEvent::Destroyed(Box::new(stats))));
        self.check_closed(self.last_now);
    }

    fn check_closed(&mut self, now: Instant) {
        if self.state == EndpointState::Closing && self.sessions.is_empty() {
            self.state = EndpointState::Closed;
            self.stats.destroyed.get_or_insert(now);
        }
    }

    fn count_sent(&mut self, len: usize) {
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += len as u64;
    }
}

#[cfg(test)]
mod tests;
