//! A deterministic in-memory network for two engine sessions, in the style of
//! quinn-proto's test `Pair`.
//!
//! - A virtual clock: `base + offset`. When nothing can happen at the current instant,
//!   time jumps to the earliest of the next delivery and the sessions' `poll_timeout`.
//! - One seeded [`Link`] per direction with loss, duplication, reordering (hold one
//!   datagram back and deliver it after the next) and an MTU cap.
//! - A filter hook that sees every datagram with its index, burst and [`Flight`], and can
//!   drop or alter it ("drop the server's second flight").
//!
//! Certificates come from rcgen, in process; nothing here touches the OS network.

#![allow(dead_code)]

pub mod endpoint_pair;
pub mod evil;
pub mod hello_client;
pub mod test_rsa_key;
pub mod wire;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use dtls_engine::{ClientConfig, Error, Event, ServerConfig, Session};
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

/// One endpoint: its session and what it has reported.
pub struct Endpoint {
    pub session: Session,
    pub connected_at: Option<Duration>,
    pub app_data: VecDeque<Vec<u8>>,
    /// The peer's close_notify arrived.
    pub peer_closed: bool,
    pub error: Option<Error>,
    sent: u64,
    bursts: u64,
}

impl Endpoint {
    fn new(session: Session) -> Self {
        Self {
            session,
            connected_at: None,
            app_data: VecDeque::new(),
            peer_closed: false,
            error: None,
            sent: 0,
            bursts: 0,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connected_at.is_some()
    }

    pub fn retransmissions(&self) -> u64 {
        self.session.stats().handshake_retransmissions
    }
}

#[derive(Debug)]
pub enum SimError {
    /// A session returned a fatal error.
    Engine { side: Side, error: Error },
    /// The goal was not reached before the virtual deadline.
    Deadline { elapsed: Duration },
    /// Nothing in flight and no timer armed, goal not reached.
    Stalled { elapsed: Duration },
}

pub const CLIENT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1)), 40001);
pub const SERVER_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1)), 40002);

/// Two sessions connected by two links under one virtual clock.
pub struct Pair {
    base: Instant,
    pub now: Instant,
    pub client: Endpoint,
    pub server: Endpoint,
    /// Client to server.
    pub c2s: Link,
    /// Server to client.
    pub s2c: Link,
    filter: Option<Filter>,
    trace: Vec<String>,
    /// Every datagram either session emitted, as it left the session (before the filter).
    pub sent: Vec<(DatagramInfo, Vec<u8>)>,
}

impl Pair {
    pub fn new(
        client: Arc<ClientConfig>,
        server: Arc<ServerConfig>,
        c2s: LinkConfig,
        s2c: LinkConfig,
        seed: u64,
    ) -> Self {
        let base = Instant::now();
        Self {
            base,
            now: base,
            client: Endpoint::new(Session::client(base, client, SERVER_ADDR)),
            server: Endpoint::new(Session::server(base, server, CLIENT_ADDR)),
            c2s: Link::new(c2s, seed ^ 0xc25),
            s2c: Link::new(s2c, seed ^ 0x52c),
            filter: None,
            trace: Vec::new(),
            sent: Vec::new(),
        }
    }

    /// A lossless pair with the default configurations of [`SimPki`].
    pub fn lossless() -> Self {
        let pki = sim_pki();
        Self::new(pki.client_config(1), pki.server_config(2), LinkConfig::default(), LinkConfig::default(), 0)
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

    /// Drives both sessions until `done(self)` holds or `deadline` of virtual time passed.
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
                "handshake failed: {e:?}\nclient stats {:?}\nserver stats {:?}\nc2s {:?}\ns2c {:?}\n{}",
                self.client.session.stats().handshake_retransmissions,
                self.server.session.stats().handshake_retransmissions,
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

        let next =
            [self.c2s.next_due(), self.s2c.next_due(), self.armed_timer(Side::Client), self.armed_timer(Side::Server)]
                .into_iter()
                .flatten()
                .min();
        let Some(next) = next else {
            return false;
        };
        self.now = self.now.max(next);
        for side in [Side::Client, Side::Server] {
            if self.armed_timer(side).is_some_and(|t| t <= self.now) {
                let now = self.now;
                let ep = self.endpoint_mut(side);
                let res = ep.session.handle_timeout(now);
                self.after(side, res);
            }
        }
        true
    }

    fn armed_timer(&mut self, side: Side) -> Option<Instant> {
        let ep = self.endpoint_mut(side);
        if ep.error.is_some() {
            return None;
        }
        ep.session.poll_timeout()
    }

    fn endpoint_mut(&mut self, side: Side) -> &mut Endpoint {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// Moves `side`'s transmits through the filter onto its link.
    fn pump(&mut self, side: Side) -> bool {
        let now = self.now;
        let at = self.elapsed();
        let mut any = false;
        loop {
            let ep = match side {
                Side::Client => &mut self.client,
                Side::Server => &mut self.server,
            };
            let Some(transmit) = ep.session.poll_transmit() else {
                break;
            };
            let expected = match side {
                Side::Client => SERVER_ADDR,
                Side::Server => CLIENT_ADDR,
            };
            assert_eq!(transmit.destination, expected, "{side:?} sent to a stranger");
            if !any {
                ep.bursts += 1;
            }
            any = true;
            let info = DatagramInfo {
                from: side,
                index: ep.sent,
                burst: ep.bursts - 1,
                flight: Flight::classify(side, &transmit.contents),
                at,
            };
            ep.sent += 1;
            self.sent.push((info.clone(), transmit.contents.clone()));

            let mut datagram = transmit.contents;
            let keep = self.filter.as_mut().is_none_or(|f| f(&info, &mut datagram));
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
            let mut line = String::new();
            let _ = write!(
                line,
                "{:>9.3}s {:?} #{} burst {} {:?} {}B {fate}",
                at.as_secs_f64(),
                side,
                info.index,
                info.burst,
                info.flight,
                datagram.len()
            );
            self.trace.push(line);
        }
        any
    }

    /// Hands `datagram` to `to` at once, as if an attacker on the path had sent it,
    /// bypassing links and filter. Errors and events are recorded as for delivered ones.
    pub fn inject(&mut self, to: Side, datagram: &[u8]) {
        let now = self.now;
        let ep = self.endpoint_mut(to);
        if ep.error.is_some() {
            return;
        }
        let res = ep.session.handle(now, datagram);
        self.after(to, res);
    }

    /// The datagrams `side` emitted so far (before the filter), in order.
    pub fn sent_by(&self, side: Side) -> Vec<Vec<u8>> {
        self.sent.iter().filter(|(i, _)| i.from == side).map(|(_, d)| d.clone()).collect()
    }

    /// Delivers the datagrams due now on the link towards `to`.
    fn deliver(&mut self, to: Side) -> bool {
        let now = self.now;
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
            let ep = self.endpoint_mut(to);
            if ep.error.is_some() {
                continue; // a failed session hears nothing more
            }
            let res = ep.session.handle(now, &datagram);
            self.after(to, res);
        }
        any
    }

    /// Records a fatal error and collects events.
    fn after(&mut self, side: Side, res: Result<(), Error>) {
        let elapsed = self.elapsed();
        let ep = self.endpoint_mut(side);
        if let Err(e) = res {
            ep.error.get_or_insert(e);
        }
        while let Some(event) = ep.session.poll_event() {
            match event {
                Event::Connected => {
                    ep.connected_at.get_or_insert(elapsed);
                }
                Event::ApplicationData(data) => ep.app_data.push_back(data),
                Event::Closed => ep.peer_closed = true,
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
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
    pub fn client_builder(&self, seed: u8) -> dtls_engine::ClientConfigBuilder {
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
    pub fn server_builder(&self, seed: u8) -> dtls_engine::ServerConfigBuilder {
        ServerConfig::builder()
            .certificate_pem(self.server_cert_pem.as_bytes(), self.server_key_pem.as_bytes())
            .expect("server certificate")
            .initial_retransmit_timeout(Duration::from_secs(1))
            .handshake_timeout(SIM_HANDSHAKE_TIMEOUT)
            .rng_seed([seed; 32])
    }
}
