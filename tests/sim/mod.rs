//! A deterministic in-memory network for two real [`dtls_engine::Endpoint`]s, in the style
//! of quinn-proto's test `Pair`.
//!
//! - Both sides are endpoints, as an application drives them: the client side calls
//!   `Endpoint::connect`; the server side has the server configuration, so every handshake
//!   goes through the endpoint's demultiplexing and, when the configuration has cookies on
//!   (the default), its stateless HelloVerifyRequest path: the server session exists only
//!   from `EndpointEvent::Accepted` on (after the cookie verified), and is removed after
//!   `Failed` or a close. `EndpointEvent::Failed` is recorded as the side's fatal error.
//!   Tests reach the session through `Endpoint::session` / `session_mut`
//!   ([`Peer::session`]).
//! - [`Pair::with_sessions`] wires two bare `Session`s instead (`Session::client` /
//!   `Session::server`, fed every datagram from the start), for tests of `Session` itself
//!   that the endpoint would keep from the session; such tests say why.
//! - A virtual clock: `base + offset`. When nothing can happen at the current instant,
//!   time jumps to the earliest of the next delivery and the sides' `poll_timeout`.
//! - One seeded [`Link`] per direction with loss, duplication, reordering (hold one
//!   datagram back and deliver it after the next) and an MTU cap.
//! - A drop set of global datagram indices (both directions counted together, in send
//!   order: "lose datagrams 3 and 7 of the exchange"), and a filter hook that sees every
//!   datagram with its index, burst and [`Flight`], and can drop or alter it ("drop the
//!   server's second flight"). [`Pair::log`] records every datagram's fate.
//!
//! Certificates come from rcgen, in process; nothing here touches the OS network.

#![allow(dead_code)]

pub mod evil;
pub mod hello_client;
pub mod test_rsa_key;
pub mod wire;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use dtls_engine::{
    ClientConfig, Endpoint, EndpointConfig, EndpointEvent, Error, Event, ServerConfig, Session, SessionHandle,
    SessionStats, Transmit,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};

// ---------------------------------------------------------------------------------------
// Randomness

/// SplitMix64: tiny, seedable, good enough to decide the fate of datagrams.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (never for 0, always for 1).
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.next_f64() < p
    }
}

// ---------------------------------------------------------------------------------------
// Links

/// The behaviour of one direction of the network.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// One-way delay of every datagram.
    pub latency: Duration,
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// Probability that a datagram is held back and delivered after the next one.
    pub reorder: f64,
    /// Datagrams larger than this are dropped (a path MTU).
    pub mtu: Option<usize>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self { latency: Duration::from_millis(10), loss: 0.0, duplicate: 0.0, reorder: 0.0, mtu: None }
    }
}

/// What happened to the datagrams of one link.
#[derive(Clone, Debug, Default)]
pub struct LinkStats {
    pub sent: u64,
    pub delivered: u64,
    pub lost: u64,
    pub filtered: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub oversized: u64,
}

/// A held-back datagram is released after this long even if no other one came.
const HOLD_LIMIT: Duration = Duration::from_millis(100);

/// One direction of the network.
pub struct Link {
    config: LinkConfig,
    rng: Rng,
    /// Sorted by delivery time; equal times keep insertion order.
    queue: VecDeque<(Instant, Vec<u8>)>,
    held: Option<(Instant, Vec<u8>)>,
    pub stats: LinkStats,
}

impl Link {
    pub fn new(config: LinkConfig, seed: u64) -> Self {
        Self { config, rng: Rng::new(seed), queue: VecDeque::new(), held: None, stats: LinkStats::default() }
    }

    fn send(&mut self, now: Instant, datagram: Vec<u8>) {
        self.stats.sent += 1;
        if self.config.mtu.is_some_and(|mtu| datagram.len() > mtu) {
            self.stats.oversized += 1;
            return;
        }
        if self.rng.chance(self.config.loss) {
            self.stats.lost += 1;
            return;
        }
        let at = now + self.config.latency;
        if self.held.is_none() && self.rng.chance(self.config.reorder) {
            self.stats.reordered += 1;
            self.held = Some((now + HOLD_LIMIT, datagram));
            return;
        }
        if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            self.insert(at, datagram.clone());
        }
        self.insert(at, datagram);
        // The held datagram goes right after this newer one.
        if let Some((_, held)) = self.held.take() {
            self.insert(at, held);
        }
    }

    fn insert(&mut self, at: Instant, datagram: Vec<u8>) {
        let pos = self.queue.partition_point(|(t, _)| *t <= at);
        self.queue.insert(pos, (at, datagram));
    }

    /// The next datagram due at `now`, if any.
    fn pop_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some((release, _)) = &self.held
            && *release <= now
        {
            let (release, held) = self.held.take().expect("checked");
            self.insert(release, held);
        }
        if self.queue.front().is_some_and(|(t, _)| *t <= now) {
            self.stats.delivered += 1;
            return self.queue.pop_front().map(|(_, d)| d);
        }
        None
    }

    fn next_due(&self) -> Option<Instant> {
        let queued = self.queue.front().map(|(t, _)| *t);
        let held = self.held.as_ref().map(|(t, _)| *t);
        match (queued, held) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn in_flight(&self) -> usize {
        self.queue.len() + usize::from(self.held.is_some())
    }
}

// ---------------------------------------------------------------------------------------
// Flights

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Client,
    Server,
}

/// Which handshake flight (RFC 6347 §4.2.4) a datagram belongs to, read from the
/// cleartext record and handshake headers of its first record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flight {
    /// Flight 1: ClientHello without cookie (message_seq 0).
    ClientHello,
    /// Flight 2: HelloVerifyRequest.
    HelloVerifyRequest,
    /// Flight 3: ClientHello with cookie (message_seq 1).
    ClientHelloWithCookie,
    /// Flight 4: ServerHello .. ServerHelloDone.
    ServerHello,
    /// Flight 5: [Certificate] ClientKeyExchange [CertificateVerify] ChangeCipherSpec Finished.
    ClientFinished,
    /// Flight 6: ChangeCipherSpec Finished.
    ServerFinished,
    ApplicationData,
    Alert,
    Other,
}

const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
const RECORD_HEADER: usize = 13;

impl Flight {
    pub fn classify(from: Side, datagram: &[u8]) -> Self {
        let Some(header) = datagram.get(..RECORD_HEADER) else {
            return Self::Other;
        };
        let content_type = header[0];
        let epoch = u16::from_be_bytes([header[3], header[4]]);
        let body = &datagram[RECORD_HEADER..];
        match (content_type, from) {
            (CT_APPLICATION_DATA, _) => Self::ApplicationData,
            (CT_ALERT, _) => Self::Alert,
            (CT_CHANGE_CIPHER_SPEC, Side::Client) => Self::ClientFinished,
            (CT_CHANGE_CIPHER_SPEC, Side::Server) => Self::ServerFinished,
            (CT_HANDSHAKE, side) if epoch > 0 => match side {
                Side::Client => Self::ClientFinished,
                Side::Server => Self::ServerFinished,
            },
            (CT_HANDSHAKE, side) => {
                // msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3)
                let Some(hs) = body.get(..6) else {
                    return Self::Other;
                };
                let message_seq = u16::from_be_bytes([hs[4], hs[5]]);
                match (side, hs[0]) {
                    (Side::Client, 1) if message_seq == 0 => Self::ClientHello,
                    (Side::Client, 1) => Self::ClientHelloWithCookie,
                    (Side::Client, 11 | 15 | 16) => Self::ClientFinished,
                    (Side::Server, 3) => Self::HelloVerifyRequest,
                    (Side::Server, 2 | 11 | 12 | 13 | 14) => Self::ServerHello,
                    _ => Self::Other,
                }
            }
            _ => Self::Other,
        }
    }

    pub fn sender(self) -> Option<Side> {
        match self {
            Self::ClientHello | Self::ClientHelloWithCookie | Self::ClientFinished => Some(Side::Client),
            Self::HelloVerifyRequest | Self::ServerHello | Self::ServerFinished => Some(Side::Server),
            _ => None,
        }
    }
}

/// What the filter hook knows about a datagram.
#[derive(Clone, Debug)]
pub struct DatagramInfo {
    pub from: Side,
    /// 0-based index among the datagrams this side has sent.
    pub index: u64,
    /// 0-based index of the `poll_transmit` drain this datagram came from; a flight's
    /// first transmission is one burst, each retransmission another.
    pub burst: u64,
    pub flight: Flight,
    pub at: Duration,
}

/// Sees every datagram before the link; returns false to drop it, may alter it.
pub type Filter = Box<dyn FnMut(&DatagramInfo, &mut Vec<u8>) -> bool>;

// ---------------------------------------------------------------------------------------
// The pair

/// What drives one side of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// A real [`dtls_engine::Endpoint`]: the client side calls `connect`; the server side
    /// has the server configuration, so ClientHellos from unknown peers go through its
    /// stateless HelloVerifyRequest path (when the configuration has cookies on) before a
    /// session exists.
    Endpoint,
    /// A bare [`Session`] made by `Session::client` / `Session::server`, fed every datagram
    /// from the start (no demultiplexing, no stateless path). For tests of `Session` itself.
    Session,
}

enum Node {
    Endpoint { endpoint: Box<Endpoint>, handle: Option<SessionHandle> },
    Session(Box<Session>),
}

/// One side of the pair: its endpoint (or bare session) and what it has reported.
pub struct Peer {
    node: Node,
    /// This side's address.
    pub addr: SocketAddr,
    /// The other side's address.
    pub peer_addr: SocketAddr,
    pub connected_at: Option<Duration>,
    pub app_data: VecDeque<Vec<u8>>,
    /// The peer's close_notify arrived.
    pub peer_closed: bool,
    /// The fatal error of the session: `Err` from a bare session, `EndpointEvent::Failed`
    /// from an endpoint.
    pub error: Option<Error>,
    /// `EndpointEvent::Accepted` events (server endpoint).
    pub accepted: usize,
    /// `EndpointEvent::Destroyed` events, of any session of this side's endpoint.
    pub destroyed: usize,
    /// The final statistics from `EndpointEvent::Destroyed`, once the endpoint removed the
    /// session (after a failure or a close).
    pub final_stats: Option<Box<SessionStats>>,
    /// Answer every application record with `echo:` and the record.
    pub echo: bool,
    /// Addresses this side's peer had before it moved (`Pair::rebind_client`): datagrams
    /// sent there are lost (the old NAT binding is gone).
    pub stale: Vec<SocketAddr>,
    /// Datagrams sent to a stale address.
    pub sent_to_stale: u64,
    sent: u64,
    bursts: u64,
}

impl Peer {
    fn new(node: Node, addr: SocketAddr, peer_addr: SocketAddr) -> Self {
        Self {
            node,
            addr,
            peer_addr,
            connected_at: None,
            app_data: VecDeque::new(),
            peer_closed: false,
            error: None,
            accepted: 0,
            destroyed: 0,
            final_stats: None,
            echo: false,
            stale: Vec::new(),
            sent_to_stale: 0,
            sent: 0,
            bursts: 0,
        }
    }

    pub fn driver(&self) -> Driver {
        match self.node {
            Node::Endpoint { .. } => Driver::Endpoint,
            Node::Session(_) => Driver::Session,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connected_at.is_some()
    }

    /// The session, if there is one: a bare session always; through an endpoint, once the
    /// client connected or the server accepted, until the endpoint removed it.
    pub fn try_session(&self) -> Option<&Session> {
        match &self.node {
            Node::Endpoint { endpoint, handle } => handle.and_then(|h| endpoint.session(h)),
            Node::Session(s) => Some(s),
        }
    }

    /// The session (through `Endpoint::session` for an endpoint side). Panics if there is
    /// none: the server endpoint before it accepted, or after it removed the session.
    pub fn session(&self) -> &Session {
        self.try_session()
            .unwrap_or_else(|| panic!("no session on this {:?} side (not accepted yet, or removed)", self.driver()))
    }

    /// The session, mutably (through `Endpoint::session_mut`, so its output and events are
    /// picked up by the next drain). Panics as [`Peer::session`].
    pub fn session_mut(&mut self) -> &mut Session {
        let driver = self.driver();
        let session = match &mut self.node {
            Node::Endpoint { endpoint, handle } => handle.and_then(|h| endpoint.session_mut(h)),
            Node::Session(s) => Some(&mut **s),
        };
        session.unwrap_or_else(|| panic!("no session on this {driver:?} side (not accepted yet, or removed)"))
    }

    /// The session's handle in its endpoint.
    pub fn handle(&self) -> Option<SessionHandle> {
        match &self.node {
            Node::Endpoint { handle, .. } => *handle,
            Node::Session(_) => None,
        }
    }

    /// The real endpoint of this side. Panics for a bare-session side.
    pub fn endpoint(&self) -> &Endpoint {
        match &self.node {
            Node::Endpoint { endpoint, .. } => endpoint,
            Node::Session(_) => panic!("this side is a bare session"),
        }
    }

    /// The real endpoint of this side, mutably. Panics for a bare-session side.
    pub fn endpoint_mut(&mut self) -> &mut Endpoint {
        match &mut self.node {
            Node::Endpoint { endpoint, .. } => endpoint,
            Node::Session(_) => panic!("this side is a bare session"),
        }
    }

    /// The session's statistics: live, or the final ones the endpoint reported when it
    /// removed the session; `None` if no session was ever made.
    pub fn stats(&self) -> Option<SessionStats> {
        self.try_session().map(|s| s.stats().clone()).or_else(|| self.final_stats.as_deref().cloned())
    }

    pub fn retransmissions(&self) -> u64 {
        self.stats().map_or(0, |s| s.handshake_retransmissions)
    }

    /// Sends one application record (`Endpoint::send` or `Session::send`).
    pub fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        match &mut self.node {
            Node::Endpoint { endpoint, handle } => endpoint.send(handle.ok_or(Error::Closed)?, data),
            Node::Session(s) => s.send(data),
        }
    }

    /// Takes the next datagram this side would send (`Endpoint::poll_transmit` or
    /// `Session::poll_transmit`) away from the network.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        match &mut self.node {
            Node::Endpoint { endpoint, .. } => endpoint.poll_transmit(),
            Node::Session(s) => s.poll_transmit(),
        }
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        match &mut self.node {
            Node::Endpoint { endpoint, .. } => endpoint.poll_timeout(),
            // A failed session is not driven any more.
            Node::Session(_) if self.error.is_some() => None,
            Node::Session(s) => s.poll_timeout(),
        }
    }

    /// Hands one datagram from the peer to this side and collects what it reported.
    fn receive(&mut self, now: Instant, elapsed: Duration, datagram: &[u8]) {
        match &mut self.node {
            Node::Endpoint { endpoint, .. } => endpoint.handle(now, self.peer_addr, datagram),
            // A failed session hears nothing more.
            Node::Session(_) if self.error.is_some() => return,
            Node::Session(s) => {
                if let Err(e) = s.handle(now, datagram) {
                    self.error.get_or_insert(e);
                }
            }
        }
        self.collect(elapsed);
    }

    fn handle_timeout(&mut self, now: Instant, elapsed: Duration) {
        match &mut self.node {
            Node::Endpoint { endpoint, .. } => endpoint.handle_timeout(now),
            Node::Session(s) => {
                if let Err(e) = s.handle_timeout(now) {
                    self.error.get_or_insert(e);
                }
            }
        }
        self.collect(elapsed);
    }

    /// Drains events (before transmits, as the endpoint asks).
    fn collect(&mut self, elapsed: Duration) -> bool {
        let mut any = false;
        loop {
            let (h, event) = match &mut self.node {
                Node::Endpoint { endpoint, .. } => match endpoint.poll_event() {
                    Some((h, e)) => (Some(h), e),
                    None => break,
                },
                Node::Session(s) => match s.poll_event() {
                    Some(e) => (None, EndpointEvent::Session(e)),
                    None => break,
                },
            };
            any = true;
            match event {
                EndpointEvent::Accepted => {
                    self.accepted += 1;
                    if let Node::Endpoint { handle, .. } = &mut self.node {
                        *handle = h;
                    }
                }
                EndpointEvent::Session(Event::Connected) => {
                    self.connected_at.get_or_insert(elapsed);
                }
                EndpointEvent::Session(Event::ApplicationData(data)) => {
                    if self.echo {
                        let mut answer = b"echo:".to_vec();
                        answer.extend_from_slice(&data);
                        self.send(&answer).expect("echo");
                    }
                    self.app_data.push_back(data);
                }
                EndpointEvent::Session(Event::Closed) => self.peer_closed = true,
                EndpointEvent::Failed(e) => {
                    self.error.get_or_insert(e);
                }
                EndpointEvent::Destroyed(stats) => {
                    self.destroyed += 1;
                    if h.is_some() && h == self.handle() {
                        self.final_stats = Some(stats);
                    }
                }
                _ => {}
            }
        }
        any
    }
}

#[derive(Debug)]
pub enum SimError {
    /// A session returned a fatal error (an endpoint reported `Failed`).
    Engine { side: Side, error: Error },
    /// The goal was not reached before the virtual deadline.
    Deadline { elapsed: Duration },
    /// Nothing in flight and no timer armed, goal not reached.
    Stalled { elapsed: Duration },
}

pub const CLIENT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1)), 40001);
pub const SERVER_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1)), 40002);

/// One datagram as it left a side, with its fate.
#[derive(Clone, Debug)]
pub struct SentDatagram {
    /// Index among all datagrams of the exchange, both directions, in send order.
    pub index: usize,
    pub from: Side,
    pub at: Duration,
    pub len: usize,
    pub flight: Flight,
    /// Not delivered: in the drop set, filtered, lost or over the MTU.
    pub dropped: bool,
}

/// Two sides connected by two links under one virtual clock.
pub struct Pair {
    base: Instant,
    pub now: Instant,
    pub client: Peer,
    pub server: Peer,
    /// Client to server.
    pub c2s: Link,
    /// Server to client.
    pub s2c: Link,
    filter: Option<Filter>,
    /// Global indices (see [`SentDatagram::index`]) of datagrams to lose, before the filter.
    pub drop: Vec<usize>,
    trace: Vec<String>,
    /// Every datagram either side emitted, as it left the side (before the filter).
    pub sent: Vec<(DatagramInfo, Vec<u8>)>,
    /// Every datagram either side emitted, with its global index and fate.
    pub log: Vec<SentDatagram>,
}

impl Pair {
    /// Both sides are real endpoints: a client endpoint that has just called `connect`
    /// with `client`, and a server endpoint with `server` (cookie secrets seeded from
    /// `seed`).
    pub fn new(
        client: Arc<ClientConfig>,
        server: Arc<ServerConfig>,
        c2s: LinkConfig,
        s2c: LinkConfig,
        seed: u64,
    ) -> Self {
        Self::with_drivers(Driver::Endpoint, Driver::Endpoint, client, server, c2s, s2c, seed)
    }

    /// Both sides are bare sessions, `Session::client` and `Session::server`, as before the
    /// simulator drove endpoints. Only for tests of `Session` itself; say why at the call.
    pub fn with_sessions(
        client: Arc<ClientConfig>,
        server: Arc<ServerConfig>,
        c2s: LinkConfig,
        s2c: LinkConfig,
        seed: u64,
    ) -> Self {
        Self::with_drivers(Driver::Session, Driver::Session, client, server, c2s, s2c, seed)
    }

    pub fn with_drivers(
        client_driver: Driver,
        server_driver: Driver,
        client: Arc<ClientConfig>,
        server: Arc<ServerConfig>,
        c2s: LinkConfig,
        s2c: LinkConfig,
        seed: u64,
    ) -> Self {
        let base = Instant::now();
        let client_node = match client_driver {
            Driver::Endpoint => {
                let mut endpoint = Box::new(Endpoint::new(base, EndpointConfig::default()));
                let handle = endpoint.connect(base, client, SERVER_ADDR).expect("connect");
                Node::Endpoint { endpoint, handle: Some(handle) }
            }
            Driver::Session => Node::Session(Box::new(Session::client(base, client, SERVER_ADDR))),
        };
        let server_node = match server_driver {
            Driver::Endpoint => {
                let config =
                    EndpointConfig { server: Some(server), rng_seed: Some([seed as u8; 32]), ..Default::default() };
                Node::Endpoint { endpoint: Box::new(Endpoint::new(base, config)), handle: None }
            }
            Driver::Session => Node::Session(Box::new(Session::server(base, server, CLIENT_ADDR))),
        };
        let mut pair = Self {
            base,
            now: base,
            client: Peer::new(client_node, CLIENT_ADDR, SERVER_ADDR),
            server: Peer::new(server_node, SERVER_ADDR, CLIENT_ADDR),
            c2s: Link::new(c2s, seed ^ 0xc25),
            s2c: Link::new(s2c, seed ^ 0x52c),
            filter: None,
            drop: Vec::new(),
            trace: Vec::new(),
            sent: Vec::new(),
            log: Vec::new(),
        };
        pair.client.collect(Duration::ZERO);
        pair
    }

    /// A lossless pair of endpoints with the default configurations of [`SimPki`].
    pub fn lossless() -> Self {
        let pki = sim_pki();
        Self::new(pki.client_config(1), pki.server_config(2), LinkConfig::default(), LinkConfig::default(), 0)
    }

    /// A lossless pair of bare sessions with the default configurations of [`SimPki`].
    pub fn lossless_sessions() -> Self {
        let pki = sim_pki();
        Self::with_sessions(pki.client_config(1), pki.server_config(2), LinkConfig::default(), LinkConfig::default(), 0)
    }

    /// Virtual time since the pair was made.
    pub fn elapsed(&self) -> Duration {
        self.now - self.base
    }

    pub fn set_filter(&mut self, filter: impl FnMut(&DatagramInfo, &mut Vec<u8>) -> bool + 'static) {
        self.filter = Some(Box::new(filter));
    }

    /// Drops every datagram of the first transmission of `flight` (retransmissions pass).
    /// Returns a counter of the datagrams dropped, so a test can check the filter fired.
    pub fn drop_first_transmission(&mut self, flight: Flight) -> Arc<std::sync::atomic::AtomicU64> {
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = Arc::clone(&dropped);
        let mut first_burst: Option<(Side, u64)> = None;
        self.set_filter(move |info, _| {
            if info.flight != flight {
                return true;
            }
            let burst = *first_burst.get_or_insert((info.from, info.burst));
            if burst == (info.from, info.burst) {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return false;
            }
            true
        });
        dropped
    }

    /// The datagram log: time, sender, flight, size and fate.
    pub fn trace(&self) -> String {
        self.trace.join("\n")
    }

    fn peer_mut(&mut self, side: Side) -> &mut Peer {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// Drives both sides until `done(self)` holds or `deadline` of virtual time passed.
    pub fn drive_until(&mut self, deadline: Duration, mut done: impl FnMut(&Self) -> bool) -> Result<(), SimError> {
        // Far more than any test needs; guards against a timer that never advances.
        for _ in 0..200_000 {
            if done(self) {
                return Ok(());
            }
            if let Some(error) = self.client.error.clone() {
                return Err(SimError::Engine { side: Side::Client, error });
            }
            if let Some(error) = self.server.error.clone() {
                return Err(SimError::Engine { side: Side::Server, error });
            }
            if self.elapsed() > deadline {
                return Err(SimError::Deadline { elapsed: self.elapsed() });
            }
            if !self.step() {
                return Err(SimError::Stalled { elapsed: self.elapsed() });
            }
        }
        panic!("simulation did not settle in 200000 steps\n{}", self.trace());
    }

    /// Drives until both sides report `Event::Connected`.
    pub fn handshake(&mut self, deadline: Duration) -> Result<(), SimError> {
        self.drive_until(deadline, |p| p.client.is_connected() && p.server.is_connected())
    }

    /// Like [`handshake`](Self::handshake), panicking with the trace on failure.
    pub fn expect_handshake(&mut self, deadline: Duration) {
        if let Err(e) = self.handshake(deadline) {
            panic!(
                "handshake failed: {e:?}\nclient retransmissions {:?}\nserver retransmissions {:?}\nc2s {:?}\ns2c {:?}\n{}",
                self.client.retransmissions(),
                self.server.retransmissions(),
                self.c2s.stats,
                self.s2c.stats,
                self.trace()
            );
        }
    }

    /// Drives until nothing is in flight and no timer is due within `quiet`.
    pub fn settle(&mut self, quiet: Duration) {
        let until = self.elapsed() + quiet;
        let _ = self.drive_until(until, |p| p.c2s.in_flight() == 0 && p.s2c.in_flight() == 0 && p.elapsed() >= until);
    }

    /// One step: send what is queued, deliver what is due; if neither happened, advance
    /// the clock to the next event and fire due timers. False when nothing can happen.
    pub fn step(&mut self) -> bool {
        let mut progress = self.pump(Side::Client);
        progress |= self.pump(Side::Server);
        progress |= self.deliver(Side::Client);
        progress |= self.deliver(Side::Server);
        if progress {
            return true;
        }

        let next = [self.c2s.next_due(), self.s2c.next_due(), self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else {
            return false;
        };
        self.now = self.now.max(next);
        let (now, elapsed) = (self.now, self.elapsed());
        for side in [Side::Client, Side::Server] {
            let peer = self.peer_mut(side);
            if peer.poll_timeout().is_some_and(|t| t <= now) {
                peer.handle_timeout(now, elapsed);
            }
        }
        true
    }

    /// Moves `side`'s events out and its transmits through the drop set and the filter
    /// onto its link.
    fn pump(&mut self, side: Side) -> bool {
        let now = self.now;
        let at = self.elapsed();
        let mut any = self.peer_mut(side).collect(at);
        let mut burst = false;
        loop {
            let peer = self.peer_mut(side);
            let Some(transmit) = peer.poll_transmit() else {
                break;
            };
            if peer.stale.contains(&transmit.destination) {
                peer.sent_to_stale += 1;
                let line = format!("{:>9.3}s {side:?} to the stale {} LOST", at.as_secs_f64(), transmit.destination);
                self.trace.push(line);
                continue;
            }
            assert_eq!(transmit.destination, peer.peer_addr, "{side:?} sent to a stranger");
            if !burst {
                peer.bursts += 1;
            }
            burst = true;
            any = true;
            let info = DatagramInfo {
                from: side,
                index: peer.sent,
                burst: peer.bursts - 1,
                flight: Flight::classify(side, &transmit.contents),
                at,
            };
            peer.sent += 1;
            let index = self.log.len();
            self.sent.push((info.clone(), transmit.contents.clone()));

            let mut datagram = transmit.contents;
            let keep = !self.drop.contains(&index) && self.filter.as_mut().is_none_or(|f| f(&info, &mut datagram));
            let link = match side {
                Side::Client => &mut self.c2s,
                Side::Server => &mut self.s2c,
            };
            let fate = if keep {
                let before = (link.stats.lost, link.stats.oversized);
                link.send(now, datagram.clone());
                if link.stats.oversized != before.1 {
                    "OVERSIZED"
                } else if link.stats.lost != before.0 {
                    "lost"
                } else {
                    "sent"
                }
            } else {
                link.stats.sent += 1;
                link.stats.filtered += 1;
                "FILTERED"
            };
            self.log.push(SentDatagram {
                index,
                from: side,
                at,
                len: datagram.len(),
                flight: info.flight,
                dropped: fate != "sent",
            });
            let mut line = String::new();
            let _ = write!(
                line,
                "{:>9.3}s {:?} #{} (#{index} of both) burst {} {:?} {}B {fate}",
                at.as_secs_f64(),
                side,
                info.index,
                info.burst,
                info.flight,
                datagram.len()
            );
            self.trace.push(line);
        }
        // Draining can remove an ended session; collect its `Destroyed`.
        any |= self.peer_mut(side).collect(at);
        any
    }

    /// The client's address changes to `new` (a NAT rebinding, a move to another network):
    /// its datagrams reach the server from `new` from now on, and datagrams the server still
    /// sends to the old address are lost.
    pub fn rebind_client(&mut self, new: SocketAddr) {
        let old = self.client.addr;
        self.client.addr = new;
        self.server.stale.push(old);
        self.server.stale.retain(|a| *a != new);
        self.server.peer_addr = new;
    }

    /// Hands `datagram` to `to` at once as if sent from `from` (any address), bypassing
    /// links and filter.
    pub fn inject_from(&mut self, to: Side, from: SocketAddr, datagram: &[u8]) {
        let (now, elapsed) = (self.now, self.elapsed());
        let peer = self.peer_mut(to);
        let real = core::mem::replace(&mut peer.peer_addr, from);
        peer.receive(now, elapsed, datagram);
        peer.peer_addr = real;
    }

    /// Hands `datagram` to `to` at once, as if an attacker on the path (using the other
    /// side's address) had sent it, bypassing links and filter. Errors and events are
    /// recorded as for delivered ones.
    pub fn inject(&mut self, to: Side, datagram: &[u8]) {
        let (now, elapsed) = (self.now, self.elapsed());
        self.peer_mut(to).receive(now, elapsed, datagram);
    }

    /// The datagrams `side` emitted so far (before the filter), in order.
    pub fn sent_by(&self, side: Side) -> Vec<Vec<u8>> {
        self.sent.iter().filter(|(i, _)| i.from == side).map(|(_, d)| d.clone()).collect()
    }

    /// Delivers the datagrams due now on the link towards `to`.
    fn deliver(&mut self, to: Side) -> bool {
        let (now, elapsed) = (self.now, self.elapsed());
        let mut any = false;
        loop {
            let link = match to {
                Side::Client => &mut self.s2c,
                Side::Server => &mut self.c2s,
            };
            let Some(datagram) = link.pop_due(now) else {
                break;
            };
            any = true;
            self.peer_mut(to).receive(now, elapsed, &datagram);
        }
        any
    }

    /// After the handshake: the client sends `ping N` records (a new one whenever no echo
    /// came back within `wait`), the server echoes each, until the client has an echo,
    /// the server has a ping and at least `min_datagrams` datagrams have been sent in all
    /// (so every index below it has had its fate). DTLS does not retransmit application
    /// data; resending is the application's part, played here by the client. Returns the
    /// number of pings sent.
    pub fn ping_pong(&mut self, min_datagrams: usize, wait: Duration, max_pings: usize) -> Result<usize, SimError> {
        self.server.echo = true;
        let done = |p: &Self| {
            p.client.app_data.iter().any(|d| d.starts_with(b"echo:"))
                && !p.server.app_data.is_empty()
                && p.log.len() >= min_datagrams
        };
        for ping in 0..=max_pings {
            if done(self) {
                return Ok(ping);
            }
            if ping == max_pings {
                break;
            }
            self.client.send(format!("ping {ping}").as_bytes()).expect("client send");
            let before = self.client.app_data.len();
            let until = self.elapsed() + wait;
            match self.drive_until(until, |p| p.client.app_data.len() > before) {
                Ok(()) | Err(SimError::Deadline { .. } | SimError::Stalled { .. }) => {}
                Err(e) => return Err(e),
            }
            // Let the clock reach the end of the wait, so pings are spaced.
            self.now = self.now.max(self.base + until);
        }
        Err(SimError::Deadline { elapsed: self.elapsed() })
    }
}

// ---------------------------------------------------------------------------------------
// Certificates

/// Certificates made by rcgen, as PEM strings: a CA, server leaves signed by it (ECDSA
/// P-256 and RSA-2048) and a client leaf.
pub struct SimPki {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub rsa_cert_pem: String,
    pub rsa_key_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

pub fn sim_pki() -> &'static SimPki {
    static PKI: OnceLock<SimPki> = OnceLock::new();
    PKI.get_or_init(|| make_pki().expect("rcgen"))
}

fn make_pki() -> Result<SimPki, rcgen::Error> {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name.push(DnType::CommonName, "dtls-engine sim CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let leaf = |key: &KeyPair, names: &[&str], eku: ExtendedKeyUsagePurpose| {
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone())?;
        params.distinguished_name.push(DnType::CommonName, names[0].as_str());
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![eku];
        params.signed_by(key, &issuer)
    };

    let server_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let server = leaf(&server_key, &["localhost", "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth)?;
    let rsa_key = KeyPair::from_pem(test_rsa_key::RSA_2048_PKCS8_PEM)?;
    let rsa = leaf(&rsa_key, &["localhost", "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth)?;
    let client_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let client = leaf(&client_key, &["client.localhost"], ExtendedKeyUsagePurpose::ClientAuth)?;

    Ok(SimPki {
        ca_pem: ca_cert.pem(),
        server_cert_pem: server.pem(),
        server_key_pem: server_key.serialize_pem(),
        rsa_cert_pem: rsa.pem(),
        rsa_key_pem: rsa_key.serialize_pem(),
        client_cert_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
    })
}

/// Generous on purpose: lossy tests back off up to tens of virtual seconds.
pub const SIM_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(600);

impl SimPki {
    /// Client config: trusts the sim CA, 1 s initial retransmit timeout, seeded RNG.
    pub fn client_config(&self, seed: u8) -> Arc<ClientConfig> {
        self.client_builder(seed).build().expect("client config")
    }

    /// The builder behind [`client_config`](Self::client_config), for tests that add to it.
    /// DTLS 1.2 only: the simulation's flight-by-flight tests are about 1.2's flights;
    /// [`client_builder13`](Self::client_builder13) enables 1.3 (the engine's default).
    pub fn client_builder(&self, seed: u8) -> dtls_engine::ClientConfigBuilder {
        self.client_builder13(seed).max_version(dtls_engine::ProtocolVersion::Dtls12)
    }

    /// [`client_builder`](Self::client_builder) with the engine's default versions (1.2 and
    /// 1.3) and groups (X25519MLKEM768 first).
    pub fn client_builder13(&self, seed: u8) -> dtls_engine::ClientConfigBuilder {
        ClientConfig::builder()
            .root_certificates_pem(self.ca_pem.as_bytes())
            .expect("sim CA")
            .server_name("localhost")
            .initial_retransmit_timeout(Duration::from_secs(1))
            .handshake_timeout(SIM_HANDSHAKE_TIMEOUT)
            .rng_seed([seed; 32])
    }

    /// Server config with the ECDSA P-256 certificate, cookie exchange on (the default).
    pub fn server_config(&self, seed: u8) -> Arc<ServerConfig> {
        self.server_builder(seed).build().expect("server config")
    }

    /// The builder behind [`server_config`](Self::server_config), for tests that add to it.
    /// DTLS 1.2 only, like [`client_builder`](Self::client_builder).
    pub fn server_builder(&self, seed: u8) -> dtls_engine::ServerConfigBuilder {
        self.server_builder13(seed).max_version(dtls_engine::ProtocolVersion::Dtls12)
    }

    /// [`server_builder`](Self::server_builder) with the engine's default versions.
    pub fn server_builder13(&self, seed: u8) -> dtls_engine::ServerConfigBuilder {
        ServerConfig::builder()
            .certificate_pem(self.server_cert_pem.as_bytes(), self.server_key_pem.as_bytes())
            .expect("server certificate")
            .initial_retransmit_timeout(Duration::from_secs(1))
            .handshake_timeout(SIM_HANDSHAKE_TIMEOUT)
            .rng_seed([seed; 32])
    }
}
