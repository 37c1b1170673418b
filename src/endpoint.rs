//! Many DTLS associations on one socket, sans-IO: datagrams are demultiplexed by the peer's
//! address, unknown peers are answered statelessly with a HelloVerifyRequest (DTLS 1.2) or a
//! HelloRetryRequest (DTLS 1.3) until their cookie verifies, and one timer heap serves every
//! session.
//!
//! The endpoint owns the session table, the cookie secrets, the busy flag and the session
//! cap, and its [`EndpointStats`]. It must never touch a socket or a clock, never keep state
//! for a peer whose cookie has not verified (but for the bounded pre-validation budget that
//! reassembles fragmented DTLS 1.3 hellos, see [`EndpointConfig::max_prevalidation_hellos`]),
//! never send a peer more bytes than it sent before its cookie verified, and never scan all
//! sessions to handle one datagram or one timer.
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
use std::time::Instant;

use crate::config::ClientConfig;
use crate::crypto::rng::DetRng;
use crate::error::Error;
use crate::pool::BufferPool;
use crate::session::{Session, Transmit};
use crate::stats::EndpointStats;

mod cids;
mod hello;
mod prevalidation;
mod retry;
mod routing;
mod sessions;
mod table;
mod timers;
mod types;

use hello::CookieSecrets;
use prevalidation::Prevalidation;
use table::Table;
use timers::{Armed, TimerHeap};
pub use types::{ConnectError, EndpointConfig, EndpointEvent, EndpointState, HelloPolicy, SessionHandle};

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
    /// How many of the session's connection IDs are routed to it (`cids.rs`).
    routed_cids: usize,
}

/// Many sessions on one socket. See the module documentation.
pub struct Endpoint {
    config: EndpointConfig,
    sessions: Table<Entry>,
    by_addr: HashMap<SocketAddr, SessionHandle>,
    /// Sessions by the connection ID their peers put in records (RFC 9146).
    cids: cids::CidRoutes,
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
    /// Fragmented ClientHellos of unvalidated peers being reassembled, under the
    /// pre-validation budget (DTLS 1.3 only; see `prevalidation.rs`).
    prevalidation: Prevalidation,
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
        // A DTLS 1.3 client repeats its second ClientHello, cookie and all, for as long as its
        // handshake runs (RFC 8446 §4.1.4 allows one HelloRetryRequest), so a cookie must stay
        // valid that long: the rotation is at least the server's handshake timeout.
        let rotation = config
            .server
            .as_ref()
            .map_or(config.cookie_rotation, |s| config.cookie_rotation.max(s.common.handshake_timeout));
        let shared = config.server.as_ref().and_then(|s| s.cookie_secret.as_ref().map(|k| (k, s.common.time.clone())));
        let cookies = match (rng, shared) {
            (Some(r), Some((secret, time))) => Some(CookieSecrets::shared(&secret[..], time, rotation, now, r)),
            (r, _) => r.map(|r| CookieSecrets::new(r, rotation, now)),
        };
        let prevalidation = Prevalidation::new(
            config.max_prevalidation_hellos,
            config.max_prevalidation_bytes,
            config.prevalidation_timeout,
        );
        Self {
            config,
            sessions: Table::default(),
            by_addr: HashMap::new(),
            cids: cids::CidRoutes::default(),
            timers: TimerHeap::default(),
            touched: VecDeque::new(),
            stateless: VecDeque::new(),
            stateless_pool: BufferPool::default(),
            rx_pool: BufferPool::default(),
            events: VecDeque::new(),
            cookies,
            prevalidation,
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
        self.stats.prevalidation_evictions += self.prevalidation.expire(now);
        match self.by_addr.get(&remote).copied() {
            Some(h) => self.handle_known(now, h, remote, datagram),
            None if self.handle_by_cid(now, remote, datagram) => {}
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
        self.cids.clear();
        self.half_open = 0;
        self.touched.clear();
        self.stateless.clear();
        self.prevalidation.clear();
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
    /// [`Event::ApplicationData`](crate::Event::ApplicationData), or a [`Transmit`]'s contents) for reuse. All sessions
    /// share the endpoint's receive pool, so which session `_session` names does not matter;
    /// the parameter keeps call sites explicit about where a buffer came from.
    pub fn recycle(&mut self, _session: SessionHandle, buf: Vec<u8>) {
        self.rx_pool.put(buf);
    }

    /// [`Endpoint::recycle`] for the adapters, whose drivers get buffers back from handles
    /// of several sessions at once.
    #[cfg(any(feature = "std-net", feature = "tokio"))]
    pub(crate) fn recycle_buffer(&mut self, buf: Vec<u8>) {
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

    /// Fragmented ClientHellos of unvalidated peers being reassembled, and the bytes they
    /// reserve (see [`EndpointConfig::max_prevalidation_bytes`]).
    pub fn prevalidation_usage(&self) -> (usize, usize) {
        (self.prevalidation.len(), self.prevalidation.bytes())
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
}

#[cfg(test)]
mod tests;
