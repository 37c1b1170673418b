//! DTLS 1.3 through a server `Endpoint`: stateless address validation with a
//! HelloRetryRequest cookie (RFC 9147 §5.1), fragmented post-quantum ClientHellos reassembled
//! under the pre-validation budget, DTLS 1.2 clients still answered with a
//! HelloVerifyRequest, bad cookies refused without state, and DTLS 1.3 protected records
//! (unified header, RFC 9147 §4) routed by address. In memory, with a virtual clock; the
//! clients are `Endpoint::connect` sessions or bare `Session::client`s.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use dtls_engine::{
    ClientConfig, Endpoint, EndpointConfig, EndpointEvent, Event, NamedGroup, ProtocolVersion, ServerConfig, Session,
};

const SERVER: &str = "192.0.2.1:4433";
const CLIENT: &str = "198.51.100.7:50000";

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

fn server_config(groups: Option<&[NamedGroup]>) -> Arc<ServerConfig> {
    let (cert, key) = cert();
    let mut b = ServerConfig::builder()
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .unwrap()
        .rng_seed([1; 32])
        .max_version(ProtocolVersion::Dtls13);
    if let Some(g) = groups {
        b = b.groups(g);
    }
    b.build().unwrap()
}

fn client_config(max: ProtocolVersion, groups: Option<&[NamedGroup]>) -> Arc<ClientConfig> {
    client_config_seeded(max, groups, 2)
}

fn client_config_seeded(max: ProtocolVersion, groups: Option<&[NamedGroup]>, seed: u8) -> Arc<ClientConfig> {
    let (cert, _) = cert();
    let mut b = ClientConfig::builder()
        .root_certificates_pem(cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .rng_seed([seed; 32])
        .max_version(max);
    if let Some(g) = groups {
        b = b.groups(g);
    }
    b.build().unwrap()
}

fn server_endpoint(now: Instant, config: Arc<ServerConfig>) -> Endpoint {
    Endpoint::new(now, EndpointConfig { server: Some(config), rng_seed: Some([9; 32]), ..Default::default() })
}

/// What crossed the wire, in order: `true` for client to server.
type Log = Vec<(bool, Vec<u8>)>;

/// A client endpoint at [`CLIENT`] and the server endpoint, exchanging datagrams until both
/// are connected (or quiet for good). Returns the log and the server's session count after
/// each datagram it received.
fn handshake(now: &mut Instant, client: &mut Endpoint, server: &mut Endpoint) -> (Log, Vec<usize>) {
    let (c, s) = (addr(CLIENT), addr(SERVER));
    let mut log = Vec::new();
    let mut counts = Vec::new();
    for _ in 0..200 {
        let mut moved = false;
        while let Some(t) = client.poll_transmit() {
            assert!(t.contents.len() <= 1200, "client datagram of {} bytes", t.contents.len());
            server.handle(*now, c, &t.contents);
            counts.push(server.session_count());
            log.push((true, t.contents));
            moved = true;
        }
        while let Some(t) = server.poll_transmit() {
            assert_eq!(t.destination, c);
            client.handle(*now, s, &t.contents);
            log.push((false, t.contents));
            moved = true;
        }
        if !moved {
            let next = [client.poll_timeout(), server.poll_timeout()].into_iter().flatten().min();
            match next {
                Some(t) if t < *now + Duration::from_secs(30) => {
                    *now = (*now).max(t);
                    client.handle_timeout(*now);
                    server.handle_timeout(*now);
                }
                _ => break,
            }
        }
    }
    (log, counts)
}

fn events(e: &mut Endpoint) -> Vec<EndpointEvent> {
    std::iter::from_fn(|| e.poll_event()).map(|(_, ev)| ev).collect()
}

/// The handshake message type of the first fragment of a plaintext handshake datagram.
fn msg_type(datagram: &[u8]) -> Option<u8> {
    (datagram.first() == Some(&22)).then(|| datagram.get(13).copied()).flatten()
}

/// RFC 8446 §4.1.3: the HelloRetryRequest's random starts with these bytes.
const HRR_RANDOM_PREFIX: [u8; 4] = [0xcf, 0x21, 0xad, 0x74];

fn is_hello_retry_request(datagram: &[u8]) -> bool {
    msg_type(datagram) == Some(2) && datagram.get(27..31) == Some(&HRR_RANDOM_PREFIX[..])
}

/// Connect a 1.3 client (groups `client_groups`) to a 1.3 server endpoint (groups
/// `server_groups`); check the exchange and return the log and the endpoints.
fn connect13(
    client_groups: Option<&[NamedGroup]>,
    server_groups: Option<&[NamedGroup]>,
    group: NamedGroup,
) -> (Log, Vec<usize>, Endpoint, Endpoint) {
    let mut now = Instant::now();
    let mut server = server_endpoint(now, server_config(server_groups));
    let mut client = Endpoint::new(now, EndpointConfig::default());
    let h = client.connect(now, client_config(ProtocolVersion::Dtls13, client_groups), addr(SERVER)).unwrap();
    let (log, counts) = handshake(&mut now, &mut client, &mut server);

    let cs = client.session(h).unwrap();
    assert!(
        cs.is_connected(),
        "client not connected; log {:?}",
        log.iter().map(|(d, b)| (*d, b.len())).collect::<Vec<_>>()
    );
    assert_eq!(cs.protocol(), "DTLSv1.3");
    assert_eq!(cs.negotiated_group(), Some(group));
    let sh = server.handle_for(addr(CLIENT)).expect("server session");
    let ss = server.session(sh).unwrap();
    assert!(ss.is_connected());
    assert_eq!(ss.protocol(), "DTLSv1.3");
    assert_eq!(ss.negotiated_group(), Some(group));
    assert_eq!(server.session_count(), 1);
    let ev = events(&mut server);
    assert_eq!(ev.iter().filter(|e| **e == EndpointEvent::Accepted).count(), 1);
    assert_eq!(ev.iter().filter(|e| **e == EndpointEvent::Session(Event::Connected)).count(), 1);

    // The first answer is the stateless HelloRetryRequest; no session exists before the
    // second ClientHello, which is its first datagram after the answer.
    let hrr_at = log.iter().position(|(to_server, _)| !to_server).unwrap();
    assert!(is_hello_retry_request(&log[hrr_at].1), "first answer is not a HelloRetryRequest");
    let ch1_datagrams = hrr_at;
    assert!(counts[..ch1_datagrams].iter().all(|&n| n == 0), "state before the cookie: {counts:?}");
    let stats = server.stats();
    assert_eq!(stats.hello_retry_requests_sent, 1);
    assert_eq!(stats.hello_verify_requests_sent, 0);
    assert_eq!(stats.server_sessions, 1);
    assert_eq!((stats.retry_cookie_rejections, stats.prevalidation_rejections), (0, 0));
    assert_eq!(server.prevalidation_usage(), (0, 0));
    (log, counts, client, server)
}

/// Default groups: the client's X25519MLKEM768 share makes its hello span two datagrams at
/// MTU 1200, before and after the retry; both are reassembled before validation.
#[test]
fn pq_hello_fragmented_gets_stateless_retry_and_connects() {
    let (log, counts, _, server) = connect13(None, None, NamedGroup::X25519MLKEM768);
    let hrr_at = log.iter().position(|(to_server, _)| !to_server).unwrap();
    assert!(hrr_at >= 2, "the first ClientHello was not fragmented ({hrr_at} datagram)");
    let hrr = &log[hrr_at].1;
    // The server has a share on its preferred group: the retry names no group.
    assert!(!hrr.windows(4).any(|w| w == [0x00, 0x33, 0x00, 0x02]), "a selected_group");
    // The HelloRetryRequest is smaller than what the client sent (no amplification).
    let ch1: usize = log[..hrr_at].iter().map(|(_, d)| d.len()).sum();
    assert!(hrr.len() < ch1);
    // Still no session while the second hello's first fragment is held.
    assert_eq!(counts[hrr_at], 0, "a session from the first fragment of the second hello");
    assert_eq!(server.stats().prevalidation_reassembled, 2);
    assert_eq!(server.stats().fragmented_hellos, 0);
}

#[test]
fn x25519_only_client_connects_after_retry() {
    let (log, _, _, server) = connect13(Some(&[NamedGroup::X25519]), None, NamedGroup::X25519);
    assert_eq!(log.iter().position(|(to_server, _)| !to_server), Some(1), "one-datagram hello");
    assert_eq!(server.stats().prevalidation_reassembled, 0);
}

/// The client's share is for X25519 only; the server takes only X25519MLKEM768: the retry
/// asks for that group (RFC 8446 §4.2.8), and the second hello, now post-quantum, spans two
/// datagrams.
#[test]
fn group_mismatch_retry_names_the_group() {
    let (log, _, _, server) = connect13(
        Some(&[NamedGroup::X25519, NamedGroup::X25519MLKEM768]),
        Some(&[NamedGroup::X25519MLKEM768]),
        NamedGroup::X25519MLKEM768,
    );
    let hrr_at = log.iter().position(|(to_server, _)| !to_server).unwrap();
    assert_eq!(hrr_at, 1);
    // key_share (51) of 2 bytes naming X25519MLKEM768 (0x11ec).
    assert!(log[hrr_at].1.windows(6).any(|w| w == [0x00, 0x33, 0x00, 0x02, 0x11, 0xec]), "no selected_group");
    assert_eq!(server.stats().prevalidation_reassembled, 1);
}

#[test]
fn dtls12_client_still_gets_hello_verify_request() {
    let mut now = Instant::now();
    let mut server = server_endpoint(now, server_config(None));
    let mut client = Endpoint::new(now, EndpointConfig::default());
    let h = client.connect(now, client_config(ProtocolVersion::Dtls12, None), addr(SERVER)).unwrap();
    let (log, counts) = handshake(&mut now, &mut client, &mut server);
    assert_eq!(msg_type(&log[1].1), Some(3), "HelloVerifyRequest");
    assert_eq!(counts[0], 0);
    assert_eq!(client.session(h).unwrap().protocol(), "DTLSv1.2");
    assert!(client.session(h).unwrap().is_connected());
    let stats = server.stats();
    assert_eq!((stats.hello_verify_requests_sent, stats.hello_retry_requests_sent), (1, 0));
    assert_eq!(server.session_count(), 1);
}

/// A bare 1.3 client with an X25519 share: its first hello, the server's retry, and its
/// second hello.
fn retry_exchange(now: Instant, server: &mut Endpoint, from: SocketAddr) -> (Session, Vec<u8>, Vec<u8>) {
    let mut client =
        Session::client(now, client_config(ProtocolVersion::Dtls13, Some(&[NamedGroup::X25519])), addr(SERVER));
    let ch1 = client.poll_transmit().unwrap().contents;
    assert!(client.poll_transmit().is_none());
    server.handle(now, from, &ch1);
    let hrr = server.poll_transmit().expect("HelloRetryRequest").contents;
    assert!(server.poll_transmit().is_none());
    assert!(is_hello_retry_request(&hrr));
    assert!(hrr.len() < ch1.len() && hrr.len() <= 190, "HelloRetryRequest of {} bytes", hrr.len());
    assert_eq!(server.session_count(), 0);
    client.handle(now, &hrr).unwrap();
    let ch2 = client.poll_transmit().unwrap().contents;
    (client, hrr, ch2)
}

#[test]
fn forged_altered_and_replayed_cookies_create_no_session() {
    let now = Instant::now();
    let mut server = server_endpoint(now, server_config(None));
    let (_client, hrr, ch2) = retry_exchange(now, &mut server, addr(CLIENT));
    // HelloRetryRequest echoes the hello's record sequence number and message_seq (0).
    assert_eq!(&hrr[1..3], &[0xfe, 0xfd], "record version DTLS 1.2");
    assert_eq!(&hrr[3..11], &[0; 8], "epoch 0, sequence of the ClientHello (0)");
    assert_eq!(&hrr[17..19], &[0, 0], "message_seq");
    // The cookie (1 + 2 + 2 + 1 + 32 + 32 bytes with SHA-256) closes the retry, and the
    // second hello carries it.
    let cookie = &hrr[hrr.len() - 70..];
    let at = ch2.windows(cookie.len()).position(|w| w == cookie).expect("cookie in the second hello");
    for i in [0, 3, 10, 40, 69] {
        let mut altered = ch2.clone();
        altered[at + i] ^= 0x01;
        server.handle(now, addr(CLIENT), &altered);
        assert_eq!(server.session_count(), 0, "altered byte {i}");
        assert!(server.poll_transmit().is_none());
    }
    // The right cookie, but from another address (another port, then another host).
    for other in ["198.51.100.7:50001", "198.51.100.8:50000"] {
        server.handle(now, addr(other), &ch2);
        assert_eq!(server.session_count(), 0, "replayed from {other}");
        assert!(server.poll_transmit().is_none());
    }
    let stats = server.stats();
    assert_eq!(stats.retry_cookie_rejections, 7);
    assert_eq!((stats.server_sessions, stats.hello_retry_requests_sent), (0, 1));
    assert!(server.poll_event().is_none());
    // The genuine second hello from the right address is accepted.
    server.handle(now, addr(CLIENT), &ch2);
    assert_eq!(server.session_count(), 1);
    assert!(server.poll_transmit().is_some(), "the server's flight");
}

/// A cookie outlives one secret rotation, not two (the secrets of `hello.rs`); the rotation
/// is never shorter than the server's handshake timeout (here 60 s, the default, over the
/// configured 10 s), since a DTLS 1.3 client repeats its cookie for the whole handshake.
#[test]
fn retry_cookies_expire_with_the_secret_rotation() {
    let start = Instant::now();
    let config = EndpointConfig {
        server: Some(server_config(None)),
        rng_seed: Some([9; 32]),
        cookie_rotation: Duration::from_secs(10),
        ..Default::default()
    };
    let mut server = Endpoint::new(start, config.clone());
    let (_c, _hrr, ch2) = retry_exchange(start, &mut server, addr(CLIENT));
    server.handle(start + Duration::from_secs(121), addr(CLIENT), &ch2);
    assert_eq!(server.session_count(), 0);
    assert_eq!(server.stats().retry_cookie_rejections, 1);

    let mut server = Endpoint::new(start, config);
    let (_c, _hrr, ch2) = retry_exchange(start, &mut server, addr(CLIENT));
    server.handle(start + Duration::from_secs(61), addr(CLIENT), &ch2);
    assert_eq!(server.session_count(), 1, "a cookie of the previous secret still verifies");
}

/// RFC 9147 §4: records with the unified header go to the session of a known address and
/// are dropped from an unknown one.
#[test]
fn protected_records_route_by_address() {
    let (_, _, mut client, mut server) = connect13(Some(&[NamedGroup::X25519]), None, NamedGroup::X25519);
    let h = client.handle_for(addr(SERVER)).unwrap();
    client.send(h, b"over dtls 1.3").unwrap();
    let record = client.poll_transmit().unwrap().contents;
    assert_eq!(record[0] & 0xe0, 0x20, "unified header");
    let dropped = server.stats().datagrams_dropped;
    server.handle(Instant::now(), addr("203.0.113.9:1234"), &record);
    assert_eq!(server.stats().datagrams_dropped, dropped + 1);
    assert_eq!(server.session_count(), 1);
    server.handle(Instant::now(), addr(CLIENT), &record);
    let got: Vec<_> = events(&mut server)
        .into_iter()
        .filter_map(|e| match e {
            EndpointEvent::Session(Event::ApplicationData(d)) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![b"over dtls 1.3".to_vec()]);
}

/// RFC 6347 §4.2.8 for DTLS 1.3: a client that restarts from the same address with a new
/// (fragmented, post-quantum) hello gets a stateless retry while its old session lives on,
/// and replaces that session once its second hello's cookie opens.
#[test]
fn restarted_client_replaces_its_session_after_the_retry() {
    let (_, _, _, mut server) = connect13(None, None, NamedGroup::X25519MLKEM768);
    let old = server.handle_for(addr(CLIENT)).unwrap();
    let mut now = Instant::now();
    let mut client = Endpoint::new(now, EndpointConfig::default());
    let h = client.connect(now, client_config_seeded(ProtocolVersion::Dtls13, None, 5), addr(SERVER)).unwrap();
    let (log, counts) = handshake(&mut now, &mut client, &mut server);
    let hrr_at = log.iter().position(|(to_server, _)| !to_server).unwrap();
    assert!(hrr_at >= 2 && is_hello_retry_request(&log[hrr_at].1));
    // The old session stayed until the second hello.
    assert!(counts[..=hrr_at].iter().all(|&n| n == 1), "{counts:?}");
    assert!(client.session(h).unwrap().is_connected());
    let new = server.handle_for(addr(CLIENT)).unwrap();
    assert_ne!(new, old);
    assert!(server.session(new).unwrap().is_connected());
    assert_eq!(server.session_count(), 1);
    let stats = server.stats();
    assert_eq!((stats.sessions_replaced, stats.hello_retry_requests_sent, stats.server_sessions), (1, 2, 2));
}

/// A DTLS 1.2 client whose hello spans several datagrams (MTU 256): the 1.3-capable server
/// cannot tell from the first fragment that it does not offer 1.3, so the hello is
/// reassembled under the budget first, then answered with exactly the HelloVerifyRequest a
/// DTLS 1.2-only endpoint sends for its first fragment.
#[test]
fn fragmented_dtls12_hello_is_reassembled_then_gets_the_same_hello_verify_request() {
    let (cert, _) = cert();
    let client_config = ClientConfig::builder()
        .max_version(ProtocolVersion::Dtls12)
        .root_certificates_pem(cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .rng_seed([2; 32])
        .mtu(256)
        .alpn_protocols(&[
            b"a-long-protocol-name-number-1",
            b"a-long-protocol-name-number-2",
            b"a-long-protocol-name-number-3",
            b"a-long-protocol-name-number-4",
        ])
        .build()
        .unwrap();
    let mut now = Instant::now();
    let mut server = server_endpoint(now, server_config(None));
    let mut client = Endpoint::new(now, EndpointConfig::default());
    let h = client.connect(now, client_config, addr(SERVER)).unwrap();
    let (log, counts) = handshake(&mut now, &mut client, &mut server);
    let hvr_at = log.iter().position(|(to_server, _)| !to_server).unwrap_or_else(|| panic!("{:?}", server.stats()));
    assert!(hvr_at >= 2, "the hello was not fragmented");
    assert_eq!(msg_type(&log[hvr_at].1), Some(3), "HelloVerifyRequest");
    assert!(counts[..hvr_at].iter().all(|&n| n == 0));
    assert!(client.session(h).unwrap().is_connected());
    assert_eq!(client.session(h).unwrap().protocol(), "DTLSv1.2");
    let stats = server.stats();
    assert_eq!((stats.hello_verify_requests_sent, stats.hello_retry_requests_sent), (1, 0));
    // Both hellos arrived fragmented; the second, with its legacy cookie, went the DTLS 1.2
    // way at once.
    assert_eq!((stats.prevalidation_reassembled, stats.fragmented_hellos), (1, 2));

    // A DTLS 1.2-only endpoint with the same secrets answers the first fragment alone, with
    // the same bytes.
    let (cert, key) = self::cert();
    let config12 = ServerConfig::builder()
        .max_version(ProtocolVersion::Dtls12)
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let mut server12 = server_endpoint(Instant::now(), config12);
    server12.handle(Instant::now(), addr(CLIENT), &log[0].1);
    assert_eq!(server12.poll_transmit().unwrap().contents, log[hvr_at].1);
}

/// One datagram path with losses: the datagrams numbered in `drop_at` (counting both
/// directions from the start of the scenario) are lost. Moves datagrams and time until
/// `done` or 60 s.
struct Lossy {
    now: Instant,
    seen: usize,
    drop_at: [usize; 2],
}

impl Lossy {
    fn lost(&self) -> bool {
        self.drop_at.contains(&(self.seen - 1))
    }
}

impl Lossy {
    fn run(&mut self, client: &mut Endpoint, server: &mut Endpoint, done: impl Fn(&Endpoint) -> bool) {
        let (c, s) = (addr(CLIENT), addr(SERVER));
        let give_up = self.now + Duration::from_secs(60);
        while !done(client) && self.now < give_up {
            let mut moved = false;
            while let Some(t) = client.poll_transmit() {
                self.seen += 1;
                if !self.lost() {
                    server.handle(self.now, c, &t.contents);
                }
                moved = true;
            }
            while let Some(t) = server.poll_transmit() {
                self.seen += 1;
                if !self.lost() {
                    client.handle(self.now, s, &t.contents);
                }
                moved = true;
            }
            if !moved {
                let next = [client.poll_timeout(), server.poll_timeout()].into_iter().flatten().min();
                let Some(t) = next else { break };
                self.now = self.now.max(t);
                client.handle_timeout(self.now);
                server.handle_timeout(self.now);
            }
        }
    }
}

/// A client that finishes a handshake, closes, and at once starts a new one from the same
/// address and port (a load generator reusing its sockets, a restarted device): whichever
/// single datagram of the two handshakes is lost, the second one completes.
#[test]
fn back_to_back_handshakes_from_one_address_survive_any_single_loss() {
    let connected =
        |e: &Endpoint| e.handle_for(addr(SERVER)).and_then(|h| e.session(h)).is_some_and(Session::is_connected);
    let mut failures = Vec::new();
    let (cert, key) = cert();
    let cid_server = ServerConfig::builder()
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .unwrap()
        .connection_ids(8)
        .connection_id_prefix(&[0xa1])
        .build()
        .unwrap();
    let cid_client = |seed: u8| {
        ClientConfig::builder()
            .root_certificates_pem(cert.as_bytes())
            .unwrap()
            .server_name("localhost")
            .rng_seed([seed; 32])
            .connection_ids(4)
            .build()
            .unwrap()
    };
    for (drop_at, cids) in (0..40).flat_map(|d| [([d, d], false), ([d, d], true)]) {
        let start = Instant::now();
        let config = if cids { cid_server.clone() } else { server_config(None) };
        let client =
            |seed| if cids { cid_client(seed) } else { client_config_seeded(ProtocolVersion::Dtls13, None, seed) };
        let mut server = server_endpoint(start, config);
        let mut path = Lossy { now: start, seen: 0, drop_at };
        let mut first = Endpoint::new(start, EndpointConfig::default());
        let h = first.connect(start, client(3), addr(SERVER)).unwrap();
        path.run(&mut first, &mut server, connected);
        first.close_session(path.now, h);
        while let Some(t) = first.poll_transmit() {
            path.seen += 1;
            if !path.lost() {
                server.handle(path.now, addr(CLIENT), &t.contents);
            }
        }
        let mut second = Endpoint::new(path.now, EndpointConfig::default());
        second.connect(path.now, client(4), addr(SERVER)).unwrap();
        let began = path.now;
        path.run(&mut second, &mut server, connected);
        if !connected(&second) {
            failures.push(format!(
                "cids {cids}, datagrams {drop_at:?} lost: the second handshake did not complete in 60 s"
            ));
        } else if path.now - began > Duration::from_secs(10) {
            failures.push(format!(
                "cids {cids}, datagrams {drop_at:?} lost: the second handshake took {:?}",
                path.now - began
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A client that reused its port gets an older handshake's ServerHello (the server's old
/// session retransmitting to this address) before the HelloRetryRequest (DTLS 1.3) or
/// HelloVerifyRequest (DTLS 1.2) answering its new hello. That ServerHello (message_seq 1)
/// must not be kept for after the retry and taken for the answer to the second hello: the
/// handshake completes with the server's real one. (Found by `examples/load.rs` reusing
/// sockets: 0.15% of DTLS 1.3 handshakes stalled.)
#[test]
fn an_older_handshakes_server_hello_before_the_retry_is_not_kept() {
    for version in [ProtocolVersion::Dtls13, ProtocolVersion::Dtls12] {
        let mut now = Instant::now();
        let mut server = server_endpoint(now, server_config(None));
        let mut first = Endpoint::new(now, EndpointConfig::default());
        first.connect(now, client_config_seeded(version, None, 3), addr(SERVER)).unwrap();
        let (log, _) = handshake(&mut now, &mut first, &mut server);
        // The first handshake's ServerHello datagrams: the server's plaintext (epoch 0)
        // handshake datagrams after its stateless answer.
        let retry_at = log.iter().position(|(to_server, _)| !to_server).unwrap();
        let old_server_hello: Vec<Vec<u8>> = log[retry_at + 1..]
            .iter()
            .filter(|(to_server, d)| !to_server && d[0] == 22 && d[3..5] == [0, 0])
            .map(|(_, d)| d.clone())
            .collect();
        assert_eq!(msg_type(&old_server_hello[0]), Some(2), "{version:?}");

        let mut second = Endpoint::new(now, EndpointConfig::default());
        let h = second.connect(now, client_config_seeded(version, None, 4), addr(SERVER)).unwrap();
        while let Some(t) = second.poll_transmit() {
            server.handle(now, addr(CLIENT), &t.contents);
        }
        for d in &old_server_hello {
            second.handle(now, addr(SERVER), d);
        }
        let retry: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
        let stateless = |d: &[u8]| is_hello_retry_request(d) || msg_type(d) == Some(3);
        assert!(retry.iter().any(|t| stateless(&t.contents)), "{version:?}");
        for t in &retry {
            second.handle(now, addr(SERVER), &t.contents);
        }
        handshake(&mut now, &mut second, &mut server);
        let session = second.session(h).unwrap_or_else(|| panic!("{version:?}: the second handshake failed"));
        assert!(session.is_connected(), "{version:?}: the second handshake completes");
        assert!(server.session(server.handle_for(addr(CLIENT)).unwrap()).unwrap().is_connected(), "{version:?}");
    }
}
