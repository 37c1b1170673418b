//! Two real [`Endpoint`]s on an in-memory link under a virtual clock: a client-only
//! endpoint that calls [`Endpoint::connect`], and a server endpoint whose configuration
//! keeps the stateless cookie path on (the default). Unlike [`super::Pair`], which wires two
//! bare sessions together, this puts the endpoint's demultiplexing, stateless
//! HelloVerifyRequest and half-open session handling in the loop.
//!
//! What it proves by itself: nothing; tests drive it. Every datagram either endpoint emits
//! gets one global index in the order it was sent (both directions counted together), and
//! the link loses exactly the datagrams whose index is in the pair's drop set, so a test can
//! say "lose datagrams 3 and 7 of the exchange" and check that it happened; or, with
//! `random_loss`, each datagram with a seeded probability.
//!
//! Time: deliveries take `latency`; when nothing is due, the clock jumps to the earliest of
//! the next delivery and both endpoints' `poll_timeout`, and due timers fire.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dtls_engine::{ClientConfig, Endpoint, EndpointConfig, EndpointEvent, Error, Event, ServerConfig, SessionHandle};

use super::{CLIENT_ADDR, Flight, SERVER_ADDR, Side};

/// One endpoint of the pair and what it reported.
pub struct Node {
    pub addr: SocketAddr,
    pub endpoint: Endpoint,
    /// The session with the other node (from `connect` or the `Accepted` event).
    pub handle: Option<SessionHandle>,
    pub connected_at: Option<Duration>,
    /// Application data received, in order.
    pub received: Vec<Vec<u8>>,
    /// `Failed` events.
    pub failures: Vec<Error>,
    pub accepted: usize,
    pub destroyed: usize,
    /// Answer every application record with `echo:` and the record.
    pub echo: bool,
}

impl Node {
    fn new(addr: SocketAddr, endpoint: Endpoint) -> Self {
        Self {
            addr,
            endpoint,
            handle: None,
            connected_at: None,
            received: Vec::new(),
            failures: Vec::new(),
            accepted: 0,
            destroyed: 0,
            echo: false,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connected_at.is_some()
    }
}

/// One datagram as it left an endpoint.
#[derive(Clone, Debug)]
pub struct SentDatagram {
    /// Index among all datagrams of the exchange, both directions, in send order.
    pub index: usize,
    pub from: Side,
    pub at: Duration,
    pub len: usize,
    pub flight: Flight,
    pub dropped: bool,
}

/// Why driving the pair stopped short of its goal.
#[derive(Debug)]
pub enum PairError {
    /// An endpoint reported a `Failed` session.
    Failed { side: Side, error: Error },
    /// The goal was not reached within the virtual deadline.
    Deadline { elapsed: Duration },
    /// Nothing in flight, no timer armed, goal not reached.
    Stalled { elapsed: Duration },
}

/// A client and a server endpoint, two links, one virtual clock.
pub struct EndpointPair {
    base: Instant,
    pub now: Instant,
    pub latency: Duration,
    pub client: Node,
    pub server: Node,
    /// In flight: (delivery time, receiver, datagram), sorted by delivery time.
    queue: VecDeque<(Instant, Side, Vec<u8>)>,
    /// Indices of the datagrams the link loses.
    pub drop: Vec<usize>,
    /// Lose each datagram (both directions) with this probability, from this seeded RNG.
    pub random_loss: Option<(f64, super::Rng)>,
    pub log: Vec<SentDatagram>,
}

impl EndpointPair {
    /// A server endpoint at [`SERVER_ADDR`] with `server` (the endpoint's cookie secrets
    /// seeded from `seed`), a client-only endpoint at [`CLIENT_ADDR`] that has just called
    /// `connect` with `client`.
    pub fn new(client: Arc<ClientConfig>, server: Arc<ServerConfig>, seed: u8, latency: Duration) -> Self {
        let base = Instant::now();
        let server_cfg = EndpointConfig { server: Some(server), rng_seed: Some([seed; 32]), ..Default::default() };
        let mut client_ep = Endpoint::new(base, EndpointConfig::default());
        let handle = client_ep.connect(base, client, SERVER_ADDR).expect("connect");
        let mut client_node = Node::new(CLIENT_ADDR, client_ep);
        client_node.handle = Some(handle);
        Self {
            base,
            now: base,
            latency,
            client: client_node,
            server: Node::new(SERVER_ADDR, Endpoint::new(base, server_cfg)),
            queue: VecDeque::new(),
            drop: Vec::new(),
            random_loss: None,
            log: Vec::new(),
        }
    }

    /// Virtual time since the pair was made.
    pub fn elapsed(&self) -> Duration {
        self.now - self.base
    }

    fn node_mut(&mut self, side: Side) -> &mut Node {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// The datagram log, one line per datagram.
    pub fn trace(&self) -> String {
        let mut s = String::new();
        for d in &self.log {
            let _ = writeln!(
                s,
                "#{:<3} {:>8.3}s {:?} {:?} {}B{}",
                d.index,
                d.at.as_secs_f64(),
                d.from,
                d.flight,
                d.len,
                if d.dropped { " DROPPED" } else { "" }
            );
        }
        s
    }

    /// Drain `side`'s events (first, as the endpoint asks) and transmits onto the link.
    fn pump(&mut self, side: Side) -> bool {
        let at = self.elapsed();
        let now = self.now;
        let mut any = false;
        let node = self.node_mut(side);
        while let Some((h, e)) = node.endpoint.poll_event() {
            any = true;
            match e {
                EndpointEvent::Accepted => {
                    node.accepted += 1;
                    node.handle = Some(h);
                }
                EndpointEvent::Session(Event::Connected) => {
                    node.connected_at.get_or_insert(at);
                }
                EndpointEvent::Session(Event::ApplicationData(d)) => {
                    if node.echo {
                        let mut answer = b"echo:".to_vec();
                        answer.extend_from_slice(&d);
                        node.endpoint.send(h, &answer).expect("echo");
                    }
                    node.received.push(d);
                }
                EndpointEvent::Failed(error) => node.failures.push(error),
                EndpointEvent::Destroyed(_) => node.destroyed += 1,
                _ => {}
            }
        }
        let peer = match side {
            Side::Client => SERVER_ADDR,
            Side::Server => CLIENT_ADDR,
        };
        let to = match side {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        };
        let mut out = Vec::new();
        while let Some(t) = self.node_mut(side).endpoint.poll_transmit() {
            assert_eq!(t.destination, peer, "{side:?} sent to a stranger");
            out.push(t.contents);
        }
        for datagram in out {
            any = true;
            let index = self.log.len();
            let by_chance = self.random_loss.as_mut().is_some_and(|(p, rng)| rng.chance(*p));
            let dropped = self.drop.contains(&index) || by_chance;
            self.log.push(SentDatagram {
                index,
                from: side,
                at,
                len: datagram.len(),
                flight: Flight::classify(side, &datagram),
                dropped,
            });
            if !dropped {
                let due = now + self.latency;
                let pos = self.queue.partition_point(|(t, _, _)| *t <= due);
                self.queue.insert(pos, (due, to, datagram));
            }
        }
        any
    }

    /// Deliver every datagram due now.
    fn deliver(&mut self) -> bool {
        let mut any = false;
        while self.queue.front().is_some_and(|(t, _, _)| *t <= self.now) {
            let (_, to, datagram) = self.queue.pop_front().expect("checked");
            let now = self.now;
            let from = match to {
                Side::Client => SERVER_ADDR,
                Side::Server => CLIENT_ADDR,
            };
            self.node_mut(to).endpoint.handle(now, from, &datagram);
            any = true;
        }
        any
    }

    /// One step: pump both endpoints and deliver what is due; if nothing happened, jump
    /// to the next delivery or timer and fire due timers. False when nothing can happen.
    pub fn step(&mut self) -> bool {
        let mut progress = self.pump(Side::Client);
        progress |= self.pump(Side::Server);
        progress |= self.deliver();
        if progress {
            return true;
        }
        let next = [
            self.queue.front().map(|(t, _, _)| *t),
            self.client.endpoint.poll_timeout(),
            self.server.endpoint.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { return false };
        self.now = self.now.max(next);
        let now = self.now;
        for side in [Side::Client, Side::Server] {
            let ep = &mut self.node_mut(side).endpoint;
            if ep.poll_timeout().is_some_and(|t| t <= now) {
                ep.handle_timeout(now);
            }
        }
        true
    }

    /// Drive until `done` holds, an endpoint reports a failure, `deadline` of virtual time
    /// has passed, or nothing more can happen.
    pub fn drive_until(&mut self, deadline: Duration, mut done: impl FnMut(&Self) -> bool) -> Result<(), PairError> {
        for _ in 0..100_000 {
            if done(self) {
                return Ok(());
            }
            for side in [Side::Client, Side::Server] {
                if let Some(error) = self.node_mut(side).failures.first().cloned() {
                    return Err(PairError::Failed { side, error });
                }
            }
            if self.elapsed() > deadline {
                return Err(PairError::Deadline { elapsed: self.elapsed() });
            }
            if !self.step() {
                return Err(PairError::Stalled { elapsed: self.elapsed() });
            }
        }
        panic!("the pair did not settle in 100000 steps\n{}", self.trace());
    }

    /// Drive until both endpoints reported `Connected`.
    pub fn handshake(&mut self, deadline: Duration) -> Result<(), PairError> {
        self.drive_until(deadline, |p| p.client.is_connected() && p.server.is_connected())
    }

    /// After the handshake: the client sends `ping N` records (a new one whenever no echo
    /// came back within `wait`), the server echoes each, until the client has an echo,
    /// the server has a ping and at least `min_datagrams` datagrams have been sent in all
    /// (so every index below it has had its fate). DTLS does not retransmit application
    /// data; resending is the application's part, played here by the client. Returns the
    /// number of pings sent.
    pub fn ping_pong(&mut self, min_datagrams: usize, wait: Duration, max_pings: usize) -> Result<usize, PairError> {
        self.server.echo = true;
        let h = self.client.handle.expect("client session");
        let done = |p: &Self| {
            p.client.received.iter().any(|d| d.starts_with(b"echo:"))
                && !p.server.received.is_empty()
                && p.log.len() >= min_datagrams
        };
        for ping in 0..=max_pings {
            if done(self) {
                return Ok(ping);
            }
            if ping == max_pings {
                break;
            }
            self.client.endpoint.send(h, format!("ping {ping}").as_bytes()).expect("client send");
            let before = self.client.received.len();
            let until = self.elapsed() + wait;
            match self.drive_until(until, |p| p.client.received.len() > before) {
                Ok(()) | Err(PairError::Deadline { .. } | PairError::Stalled { .. }) => {}
                Err(e) => return Err(e),
            }
            // Let the clock reach the end of the wait, so pings are spaced.
            self.now = self.now.max(self.base + until);
        }
        Err(PairError::Deadline { elapsed: self.elapsed() })
    }
}
