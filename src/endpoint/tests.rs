//! Compiled only under `#[cfg(test)]` (declared so by the parent module): unwraps here are test assertions.
//! Endpoint tests: endpoints driven through an in-memory network with a virtual clock.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::hello::peek_client_hello;
use super::*;
use crate::codec::Put;
use crate::config::ServerConfig;
use crate::session::Event;
use crate::wire::record::RecordHeader;
use crate::wire::{ContentType, DTLS_1_0, DTLS_1_2};

const SERVER: &str = "127.0.0.1:4433";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn cert() -> &'static (String, String) {
    static CERT: OnceLock<(String, String)> = OnceLock::new();
    CERT.get_or_init(|| {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        (c.cert.pem(), c.signing_key.serialize_pem())
    })
}

fn server_config() -> Arc<ServerConfig> {
    let (cert, key) = cert();
    ServerConfig::builder()
        .max_version(crate::ProtocolVersion::Dtls12)
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .unwrap()
        .rng_seed([1; 32])
        .build()
        .unwrap()
}

fn client_config(seed: u8) -> Arc<ClientConfig> {
    let (cert, _) = cert();
    ClientConfig::builder()
        .max_version(crate::ProtocolVersion::Dtls12)
        .root_certificates_pem(cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .rng_seed([seed; 32])
        .build()
        .unwrap()
}

fn server_endpoint(now: Instant, f: impl FnOnce(&mut EndpointConfig)) -> Endpoint {
    let mut cfg = EndpointConfig { server: Some(server_config()), rng_seed: Some([9; 32]), ..Default::default() };
    f(&mut cfg);
    Endpoint::new(now, cfg)
}

/// Decides whether a datagram from the given address is delivered.
type Filter = Box<dyn FnMut(SocketAddr, &Transmit) -> bool>;

/// Endpoints on an in-memory network, each at an address, with a virtual clock.
struct Net {
    now: Instant,
    nodes: Vec<(SocketAddr, Endpoint)>,
    events: Vec<(SocketAddr, SessionHandle, EndpointEvent)>,
    /// Called for every datagram in flight; `false` drops it.
    filter: Filter,
}

impl Net {
    fn new(now: Instant) -> Self {
        Self { now, nodes: Vec::new(), events: Vec::new(), filter: Box::new(|_, _| true) }
    }

    fn add(&mut self, at: &str, e: Endpoint) {
        self.nodes.push((addr(at), e));
    }

    fn ep(&mut self, at: &str) -> &mut Endpoint {
        let a = addr(at);
        &mut self.nodes.iter_mut().find(|(x, _)| *x == a).unwrap().1
    }

    /// Deliver datagrams until none is in flight.
    fn pump(&mut self) {
        for _ in 0..1000 {
            let mut flying = Vec::new();
            for (from, e) in &mut self.nodes {
                while let Some(t) = e.poll_transmit() {
                    flying.push((*from, t));
                }
                while let Some((h, ev)) = e.poll_event() {
                    self.events.push((*from, h, ev));
                }
            }
            if flying.is_empty() {
                return;
            }
            for (from, t) in flying {
                if !(self.filter)(from, &t) {
                    continue;
                }
                if let Some((_, e)) = self.nodes.iter_mut().find(|(a, _)| *a == t.destination) {
                    e.handle(self.now, from, &t.contents);
                }
            }
        }
        panic!("network never went quiet");
    }

    /// Jump the clock to the earliest timeout, fire it, and pump.
    fn advance(&mut self) -> bool {
        let next = self.nodes.iter_mut().filter_map(|(_, e)| e.poll_timeout()).min();
        let Some(t) = next else { return false };
        self.now = self.now.max(t);
        for (_, e) in &mut self.nodes {
            e.handle_timeout(self.now);
        }
        self.pump();
        true
    }

    fn count(&self, at: &str, pred: impl Fn(&EndpointEvent) -> bool) -> usize {
        self.events.iter().filter(|(a, _, e)| *a == addr(at) && pred(e)).count()
    }

    fn connected(&self, at: &str) -> usize {
        self.count(at, |e| *e == EndpointEvent::Session(Event::Connected))
    }

    fn data(&self, at: &str) -> Vec<Vec<u8>> {
        self.events
            .iter()
            .filter(|(a, _, _)| *a == addr(at))
            .filter_map(|(_, _, e)| match e {
                EndpointEvent::Session(Event::ApplicationData(d)) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }
}

/// A net with a server and one client endpoint at `client`, the client connected.
fn connected_pair(client: &str) -> (Net, SessionHandle) {
    let now = Instant::now();
    let mut net = Net::new(now);
    net.add(SERVER, server_endpoint(now, |_| {}));
    net.add(client, Endpoint::new(now, EndpointConfig::default()));
    let h = net.ep(client).connect(now, client_config(2), addr(SERVER)).unwrap();
    net.pump();
    assert_eq!(net.connected(client), 1);
    assert_eq!(net.connected(SERVER), 1);
    (net, h)
}

/// The client's first ClientHello, and its second one carrying the cookie from `server`.
fn hellos(server: &mut Endpoint, client_at: SocketAddr, now: Instant) -> (Vec<u8>, Vec<u8>) {
    let mut client = Endpoint::new(now, EndpointConfig::default());
    client.connect(now, client_config(3), addr(SERVER)).unwrap();
    let first = client.poll_transmit().unwrap().contents;
    server.handle(now, client_at, &first);
    let hvr = server.poll_transmit().unwrap();
    client.handle(now, addr(SERVER), &hvr.contents);
    let second = client.poll_transmit().unwrap().contents;
    (first, second)
}

#[test]
fn handshake_echo_and_stats_add_up() {
    let (mut net, h) = connected_pair("127.0.0.1:5000");
    net.ep("127.0.0.1:5000").send(h, b"ping").unwrap();
    net.pump();
    assert_eq!(net.data(SERVER), vec![b"ping".to_vec()]);
    let sh = net.ep(SERVER).handle_for(addr("127.0.0.1:5000")).unwrap();
    net.ep(SERVER).send(sh, b"pong").unwrap();
    net.pump();
    assert_eq!(net.data("127.0.0.1:5000"), vec![b"pong".to_vec()]);
    let s = net.ep(SERVER).stats().clone();
    let c = net.ep("127.0.0.1:5000").stats().clone();
    assert_eq!((s.packets_received, s.bytes_received), (c.packets_sent, c.bytes_sent));
    assert_eq!((s.packets_sent, s.bytes_sent), (c.packets_received, c.bytes_received));
    assert_eq!((s.server_sessions, s.client_sessions, s.hello_verify_requests_sent), (1, 0, 1));
    assert_eq!((c.server_sessions, c.client_sessions), (0, 1));
    // Per-session counters plus the stateless HelloVerifyRequest make up the endpoint's.
    let ss = net.ep(SERVER).session(sh).unwrap().stats().clone();
    assert_eq!(s.packets_sent, ss.packets_sent + 1);
    assert_eq!(s.packets_received, ss.packets_received + 1);
}

#[test]
fn hello_verify_request_is_stateless_small_and_echoes_sequence_numbers() {
    let now = Instant::now();
    let mut server = server_endpoint(now, |_| {});
    let mut client = Endpoint::new(now, EndpointConfig::default());
    client.connect(now, client_config(3), addr(SERVER)).unwrap();
    let first = client.poll_transmit().unwrap().contents;
    server.handle(now, addr("127.0.0.1:5000"), &first);
    assert_eq!(server.session_count(), 0);
    assert_eq!(server.poll_timeout(), None);
    let hvr = server.poll_transmit().unwrap().contents;
    assert!(server.poll_transmit().is_none());
    // docs/security.md item 11.
    assert!(hvr.len() <= first.len(), "HVR {} > ClientHello {}", hvr.len(), first.len());
    assert_eq!(server.stats().amplification_refusals, 0);
    // RFC 6347 §4.2.1: record sequence of the ClientHello, DTLS 1.0 like OpenSSL.
    assert_eq!(&hvr[..3], &[22, 0xfe, 0xff]);
    assert_eq!(&hvr[5..11], &first[5..11]);
    // Handshake header: type 3, message_seq as the ClientHello's (bytes 17..19 of each).
    assert_eq!(hvr[13], 3);
    assert_eq!(&hvr[17..19], &first[17..19]);
    assert_eq!(&hvr[25..27], &[0xfe, 0xff]);
}

#[test]
fn bad_cookies_create_no_state() {
    let now = Instant::now();
    let me = addr("127.0.0.1:5000");
    let rotation = Duration::from_secs(60);

    // Forged: one bit of the cookie flipped.
    let mut server = server_endpoint(now, |_| {});
    let (_, mut second) = hellos(&mut server, me, now);
    let peeked = peek_client_hello(&second, 1 << 16).unwrap();
    assert!(!peeked.cookie.is_empty());
    let cookie_at = 13 + 12 + 2 + 32 + 1 + peeked.session_id.len() + 1;
    second[cookie_at] ^= 1;
    server.handle(now, me, &second);
    assert_eq!(server.session_count(), 0);
    assert_eq!(server.stats().server_sessions, 0);
    assert_eq!(server.stats().hello_verify_requests_sent, 2);
    assert!(server.poll_event().is_none());

    // Valid cookie, other address (port differs).
    let mut server = server_endpoint(now, |_| {});
    let (_, second) = hellos(&mut server, me, now);
    server.handle(now, addr("127.0.0.1:5001"), &second);
    server.handle(now, addr("127.0.0.2:5000"), &second);
    assert_eq!(server.session_count(), 0);
    assert_eq!(server.stats().hello_verify_requests_sent, 3);

    // Stale: older than two rotations.
    let mut server = server_endpoint(now, |_| {});
    let (_, second) = hellos(&mut server, me, now);
    server.handle(now + 2 * rotation + Duration::from_secs(1), me, &second);
    assert_eq!(server.session_count(), 0);
    assert_eq!(server.stats().hello_verify_requests_sent, 2);

    // Within the grace period (one rotation later) the same cookie is still good.
    let mut server = server_endpoint(now, |_| {});
    let (_, second) = hellos(&mut server, me, now);
    server.handle(now + rotation + Duration::from_secs(1), me, &second);
    assert_eq!(server.session_count(), 1);
    assert_eq!(server.poll_event().map(|(_, e)| e), Some(EndpointEvent::Accepted));
}

#[test]
fn non_hello_from_unknown_peer_is_dropped() {
    let now = Instant::now();
    let mut server = server_endpoint(now, |_| {});
    let mut app = Vec::new();
    RecordHeader { content_type: ContentType::ApplicationData, version: DTLS_1_2, epoch: 1, sequence: 0, length: 3 }
        .encode(&mut app);
    app.put_slice(b"abc");
    server.handle(now, addr("127.0.0.1:5000"), &app);
    server.handle(now, addr("127.0.0.1:5000"), b"");
    server.handle(now, addr("127.0.0.1:5000"), &[22, 0xfe, 0xfd, 0, 0]);
    assert_eq!(server.stats().datagrams_dropped, 3);
    assert_eq!(server.session_count(), 0);
    assert!(server.poll_transmit().is_none());

    // A client-only endpoint drops even ClientHellos.
    let mut client_only = Endpoint::new(now, EndpointConfig::default());
    let (first, _) = hellos(&mut server, addr("127.0.0.1:5000"), now);
    client_only.handle(now, addr("127.0.0.1:5000"), &first);
    assert_eq!(client_only.stats().datagrams_dropped, 1);
    assert!(client_only.poll_transmit().is_none());
}

#[test]
fn busy_refuses_new_sessions_but_not_existing_ones() {
    let (mut net, h) = connected_pair("127.0.0.1:5000");
    net.ep(SERVER).set_busy(true);
    let now = net.now;
    net.add("127.0.0.1:5001", Endpoint::new(now, EndpointConfig::default()));
    net.ep("127.0.0.1:5001").connect(now, client_config(4), addr(SERVER)).unwrap();
    net.pump();
    assert_eq!(net.ep(SERVER).stats().busy_rejections, 1);
    assert_eq!(net.ep(SERVER).stats().hello_verify_requests_sent, 1);
    assert_eq!(net.ep(SERVER).session_count(), 1);
    net.ep("127.0.0.1:5000").send(h, b"still here").unwrap();
    net.pump();
    assert_eq!(net.data(SERVER), vec![b"still here".to_vec()]);
    // Not busy any more: the retransmitted ClientHello gets in.
    net.ep(SERVER).set_busy(false);
    while net.connected("127.0.0.1:5001") == 0 && net.advance() {}
    assert_eq!(net.connected("127.0.0.1:5001"), 1);
}

#[test]
fn max_sessions_is_enforced() {
    let now = Instant::now();
    let mut net = Net::new(now);
    net.add(SERVER, server_endpoint(now, |c| c.max_sessions = 1));
    for (i, at) in ["127.0.0.1:5000", "127.0.0.1:5001"].into_iter().enumerate() {
        net.add(at, Endpoint::new(now, EndpointConfig::default()));
        net.ep(at).connect(now, client_config(10 + i as u8), addr(SERVER)).unwrap();
        net.pump();
    }
    assert_eq!(net.connected("127.0.0.1:5000"), 1);
    assert_eq!(net.connected("127.0.0.1:5001"), 0);
    assert_eq!(net.ep(SERVER).session_count(), 1);
    assert_eq!(net.ep(SERVER).stats().session_limit_rejections, 1);
}

#[test]
fn restart_from_same_address_replaces_session_after_cookie() {
    let client = "127.0.0.1:5000";
    let (mut net, _) = connected_pair(client);
    let old = net.ep(SERVER).handle_for(addr(client)).unwrap();
    // The client restarts: a fresh endpoint and session on the same address and port.
    let now = net.now;
    net.nodes.retain(|(a, _)| *a != addr(client));
    net.events.retain(|(a, _, _)| *a != addr(client));
    net.add(client, Endpoint::new(now, EndpointConfig::default()));
    net.ep(client).connect(now, client_config(7), addr(SERVER)).unwrap();
    net.pump();
    let new = net.ep(SERVER).handle_for(addr(client)).unwrap();
    assert_ne!(old, new);
    assert_eq!(net.ep(SERVER).session_count(), 1);
    assert_eq!(net.ep(SERVER).stats().sessions_replaced, 1);
    assert_eq!(net.ep(SERVER).stats().hello_verify_requests_sent, 2);
    assert!(
        net.events.iter().any(|(a, h, e)| *a == addr(SERVER) && *h == old && matches!(e, EndpointEvent::Destroyed(_)))
    );
    assert_eq!(net.connected(SERVER), 2);
    assert_eq!(net.connected(client), 1);
}

#[test]
fn spoofed_hello_without_cookie_leaves_live_session_alone() {
    let client = "127.0.0.1:5000";
    let (mut net, h) = connected_pair(client);
    let now = net.now;
    let (first, _) = hellos(&mut server_endpoint(now, |_| {}), addr(client), now);
    net.ep(SERVER).handle(now, addr(client), &first);
    assert!(net.ep(SERVER).poll_transmit().is_some(), "a HelloVerifyRequest");
    assert_eq!(net.ep(SERVER).stats().sessions_replaced, 0);
    net.ep(client).send(h, b"x").unwrap();
    net.pump();
    assert_eq!(net.data(SERVER), vec![b"x".to_vec()]);
}

#[test]
fn retransmission_timers_run_from_the_heap() {
    let now = Instant::now();
    let mut net = Net::new(now);
    net.add(SERVER, server_endpoint(now, |_| {}));
    net.add("127.0.0.1:5000", Endpoint::new(now, EndpointConfig::default()));
    net.add("127.0.0.1:5001", Endpoint::new(now, EndpointConfig::default()));
    // Lose the server's first real flight to 5000, once.
    let mut dropped = false;
    net.filter = Box::new(move |from, t| {
        let first_flight = from == addr(SERVER) && t.destination == addr("127.0.0.1:5000") && t.contents.len() > 100;
        if first_flight && !dropped {
            dropped = true;
            return false;
        }
        true
    });
    net.ep("127.0.0.1:5000").connect(now, client_config(5), addr(SERVER)).unwrap();
    net.ep("127.0.0.1:5001").connect(now, client_config(6), addr(SERVER)).unwrap();
    net.pump();
    assert_eq!(net.connected("127.0.0.1:5001"), 1);
    assert_eq!(net.connected("127.0.0.1:5000"), 0);
    // The client's retransmission timer, one second out, is the client endpoint's timeout.
    let c = net.ep("127.0.0.1:5000");
    let ch = c.handle_for(addr(SERVER)).unwrap();
    assert_eq!(c.poll_timeout(), c.session(ch).unwrap().poll_timeout());
    assert!(net.advance());
    assert_eq!(net.connected("127.0.0.1:5000"), 1);
    let c = net.ep("127.0.0.1:5000");
    assert_eq!(c.session(ch).unwrap().stats().handshake_retransmissions, 1);
    let other = net.ep("127.0.0.1:5001");
    let oh = other.handle_for(addr(SERVER)).unwrap();
    assert_eq!(other.session(oh).unwrap().stats().handshake_retransmissions, 0);
}

#[test]
fn fatal_error_in_one_session_leaves_another_intact() {
    let (mut net, good) = connected_pair("127.0.0.1:5000");
    let now = net.now;
    // A second client whose handshake is cut short by a fatal alert from its address.
    net.add("127.0.0.1:5001", Endpoint::new(now, EndpointConfig::default()));
    net.filter = Box::new(|from, t| !(from == addr(SERVER) && t.contents.len() > 100));
    net.ep("127.0.0.1:5001").connect(now, client_config(8), addr(SERVER)).unwrap();
    net.pump();
    net.filter = Box::new(|_, _| true);
    let bad = net.ep(SERVER).handle_for(addr("127.0.0.1:5001")).unwrap();
    let mut alert = Vec::new();
    RecordHeader { content_type: ContentType::Alert, version: DTLS_1_0, epoch: 0, sequence: 9, length: 2 }
        .encode(&mut alert);
    alert.put_slice(&[2, 40]); // fatal handshake_failure
    net.ep(SERVER).handle(now, addr("127.0.0.1:5001"), &alert);
    net.pump();
    assert!(
        net.events.iter().any(|(a, h, e)| *a == addr(SERVER) && *h == bad && matches!(e, EndpointEvent::Failed(_)))
    );
    assert!(
        net.events.iter().any(|(a, h, e)| *a == addr(SERVER) && *h == bad && matches!(e, EndpointEvent::Destroyed(_)))
    );
    assert_eq!(net.ep(SERVER).session_count(), 1);
    net.ep("127.0.0.1:5000").send(good, b"ok").unwrap();
    net.pump();
    assert_eq!(net.data(SERVER), vec![b"ok".to_vec()]);
}

#[test]
fn graceful_close_of_the_endpoint() {
    let client = "127.0.0.1:5000";
    let (mut net, _) = connected_pair(client);
    let now = net.now;
    net.ep(SERVER).close(now);
    assert_eq!(net.ep(SERVER).state(), EndpointState::Closing);
    net.pump();
    assert_eq!(net.ep(SERVER).state(), EndpointState::Closed);
    assert_eq!(net.count(client, |e| *e == EndpointEvent::Session(Event::Closed)), 1);
    assert_eq!(net.ep(client).session_count(), 0);
    assert_eq!(net.ep(SERVER).stats().destroyed, Some(now));
}

#[test]
fn close_lingers_then_gives_up_on_a_silent_peer() {
    let client = "127.0.0.1:5000";
    let (mut net, h) = connected_pair(client);
    net.filter = Box::new(|_, _| false);
    let now = net.now;
    net.ep(client).close_session(now, h);
    net.pump();
    assert_eq!(net.ep(client).session_count(), 1);
    assert!(net.advance());
    assert_eq!(net.ep(client).session_count(), 0);
    assert_eq!(net.now, now + EndpointConfig::default().close_linger);
}

/// `HelloPolicy::ApprovedOnly` (the WebRTC ClientHello race): a ClientHello from an address
/// the application has not approved gets nothing — no HelloVerifyRequest, no state — and is
/// counted; once approved the same client gets in; after a revocation a new ClientHello
/// from that address (a restarted client) cannot replace the live session.
#[test]
fn approved_only_policy_drops_hellos_from_unapproved_addresses() {
    let client_at = "127.0.0.1:5000";
    let now = Instant::now();
    let mut net = Net::new(now);
    net.add(SERVER, server_endpoint(now, |c| c.hello_policy = HelloPolicy::ApprovedOnly));
    net.add(client_at, Endpoint::new(now, EndpointConfig::default()));
    net.ep(client_at).connect(now, client_config(2), addr(SERVER)).unwrap();
    net.pump();
    let s = net.ep(SERVER).stats().clone();
    assert_eq!((s.policy_rejections, s.hello_verify_requests_sent, s.server_sessions), (1, 0, 0));
    assert!(!net.ep(SERVER).may_send_hello(addr(client_at)));
    assert_eq!(net.ep(SERVER).session_count(), 0);

    // Approve; the client's retransmitted ClientHello gets in.
    net.ep(SERVER).approve_peer(addr(client_at));
    while net.connected(client_at) == 0 {
        assert!(net.advance(), "no timer left");
    }
    assert_eq!(net.connected(SERVER), 1);
    assert_eq!(net.ep(SERVER).stats().policy_rejections, 1);

    // Revoked: a ClientHello with a new random (and a valid cookie) from that address no
    // longer replaces the session.
    net.ep(SERVER).revoke_peer(addr(client_at));
    let mut server = server_endpoint(now, |_| {});
    let (_, second) = hellos(&mut server, addr(client_at), now);
    let before = net.ep(SERVER).stats().clone();
    net.ep(SERVER).handle(now, addr(client_at), &second);
    let after = net.ep(SERVER).stats().clone();
    assert_eq!(after.policy_rejections, before.policy_rejections + 1);
    assert_eq!(after.sessions_replaced, 0);
    assert_eq!(net.ep(SERVER).session_count(), 1);
}
