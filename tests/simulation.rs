//! Deterministic simulations of a client and a server endpoint over an in-memory network
//! with a virtual clock (see `sim/mod.rs`). Each test reads as the scenario it checks.

mod sim;

use std::sync::atomic::Ordering;
use std::time::Duration;

use dtls_engine::{ClientConfig, ServerConfig};
use sim::{Flight, LinkConfig, Pair, Side, sim_pki};

/// A lossless handshake is a few round trips of 10 ms each; a single lost flight costs
/// one retransmission timeout (1 s initial) or two.
const LOSSLESS_DEADLINE: Duration = Duration::from_secs(1);
const ONE_LOSS_DEADLINE: Duration = Duration::from_secs(10);

fn assert_connected(pair: &Pair) {
    assert!(pair.client.is_connected() && pair.server.is_connected());
    assert_eq!(pair.client.session().cipher_suite(), pair.server.session().cipher_suite());
    assert!(pair.client.session().cipher_suite().is_some());
    assert_eq!(pair.client.session().negotiated_group(), pair.server.session().negotiated_group());
    assert!(pair.client.session().peer_certificates().is_some_and(|c| !c.is_empty()));
}

#[test]
fn handshake_without_loss() {
    let mut pair = Pair::lossless();
    pair.expect_handshake(LOSSLESS_DEADLINE);
    assert_connected(&pair);
    assert_eq!(pair.client.retransmissions(), 0, "{}", pair.trace());
    assert_eq!(pair.server.retransmissions(), 0, "{}", pair.trace());
    // Six flights, one datagram each at the default MTU, plus nothing else.
    assert_eq!(pair.c2s.stats.lost + pair.s2c.stats.lost, 0);
    // Flight 2 came from the server endpoint's stateless path; one session, made for the
    // hello whose cookie verified.
    let stats = pair.server.endpoint().stats();
    assert_eq!((stats.hello_verify_requests_sent, stats.server_sessions), (1, 1), "{}", pair.trace());
    assert_eq!(pair.server.accepted, 1);
}

/// Drops the first transmission of `flight`, then expects the handshake to complete
/// through retransmission.
fn survives_loss_of(flight: Flight) {
    let mut pair = Pair::lossless();
    let dropped = pair.drop_first_transmission(flight);
    pair.expect_handshake(ONE_LOSS_DEADLINE);
    assert_connected(&pair);
    assert!(dropped.load(Ordering::Relaxed) > 0, "the filter never saw {flight:?}\n{}", pair.trace());
    let (client, server) = (pair.client.retransmissions(), pair.server.retransmissions());
    assert!(client + server > 0, "no retransmission counted after losing {flight:?}\n{}", pair.trace());
    // Whoever waits on the lost flight has the timer that recovers it: the client in all
    // cases but the server's first flight, where either timer may fire first.
    if flight != Flight::ServerHello {
        assert!(client > 0, "client did not retransmit after losing {flight:?}\n{}", pair.trace());
    }
    // However the hellos were retransmitted, the server endpoint made one session.
    assert_eq!(pair.server.accepted, 1, "{}", pair.trace());
    // Recovery took a retransmission timeout, not more than a few.
    assert!(pair.elapsed() >= Duration::from_millis(900), "{}", pair.trace());
}

#[test]
fn lost_flight_1_client_hello() {
    survives_loss_of(Flight::ClientHello);
}

#[test]
fn lost_flight_2_hello_verify_request() {
    survives_loss_of(Flight::HelloVerifyRequest);
}

#[test]
fn lost_flight_3_client_hello_with_cookie() {
    survives_loss_of(Flight::ClientHelloWithCookie);
}

#[test]
fn lost_flight_4_server_hello() {
    survives_loss_of(Flight::ServerHello);
}

#[test]
fn lost_flight_5_client_finished() {
    survives_loss_of(Flight::ClientFinished);
}

#[test]
fn lost_flight_6_server_finished() {
    survives_loss_of(Flight::ServerFinished);
}

#[test]
fn thirty_percent_loss_both_ways() {
    let pki = sim_pki();
    for seed in 1..=8u64 {
        let lossy = LinkConfig { loss: 0.3, ..LinkConfig::default() };
        let mut pair =
            Pair::new(pki.client_config(seed as u8), pki.server_config(seed as u8 + 100), lossy.clone(), lossy, seed);
        pair.expect_handshake(Duration::from_secs(300));
        assert_connected(&pair);
        assert_eq!(pair.server.endpoint().session_count(), 1, "seed {seed}\n{}", pair.trace());
        let lost = pair.c2s.stats.lost + pair.s2c.stats.lost;
        if lost > 0 {
            assert!(
                pair.client.retransmissions() + pair.server.retransmissions() > 0,
                "seed {seed}: {lost} datagrams lost but no retransmission\n{}",
                pair.trace()
            );
        }
    }
}

#[test]
fn every_datagram_duplicated() {
    let pki = sim_pki();
    let dup = LinkConfig { duplicate: 1.0, ..LinkConfig::default() };
    let mut pair = Pair::new(pki.client_config(3), pki.server_config(4), dup.clone(), dup, 3);
    pair.expect_handshake(LOSSLESS_DEADLINE);
    assert_connected(&pair);
    assert!(pair.c2s.stats.duplicated > 0 && pair.s2c.stats.duplicated > 0);

    // Replay protection: a duplicated record is delivered once.
    pair.client.session_mut().send(b"once").expect("send");
    pair.drive_until(Duration::from_secs(2), |p| !p.server.app_data.is_empty()).expect("app data");
    pair.settle(Duration::from_millis(100));
    assert_eq!(pair.server.app_data.len(), 1, "{}", pair.trace());
    assert_eq!(pair.server.app_data[0], b"once");
}

#[test]
fn reordered_datagrams() {
    let pki = sim_pki();
    for seed in 1..=4u64 {
        let reorder = LinkConfig { reorder: 0.5, ..LinkConfig::default() };
        let mut pair = Pair::new(
            pki.client_config(seed as u8),
            pki.server_config(seed as u8 + 50),
            reorder.clone(),
            reorder,
            seed,
        );
        pair.expect_handshake(ONE_LOSS_DEADLINE);
        assert_connected(&pair);
        assert!(pair.c2s.stats.reordered + pair.s2c.stats.reordered > 0, "seed {seed} reordered nothing");
    }
}

#[test]
fn mtu_256_with_rsa_certificate_fragments() {
    let pki = sim_pki();
    let client = ClientConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .root_certificates_pem(pki.ca_pem.as_bytes())
        .expect("sim CA")
        .server_name("localhost")
        .mtu(256)
        .rng_seed([5; 32])
        .build()
        .expect("client config");
    let server = ServerConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .certificate_pem(pki.rsa_cert_pem.as_bytes(), pki.rsa_key_pem.as_bytes())
        .expect("RSA certificate")
        .mtu(256)
        .rng_seed([6; 32])
        .build()
        .expect("server config");
    let path = LinkConfig { mtu: Some(256), ..LinkConfig::default() };
    let mut pair = Pair::new(client, server, path.clone(), path, 5);

    let server_flight_datagrams = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let counter = std::rc::Rc::clone(&server_flight_datagrams);
    pair.set_filter(move |info, _| {
        if info.flight == Flight::ServerHello && info.from == Side::Server {
            counter.set(counter.get() + 1);
        }
        true
    });

    pair.expect_handshake(LOSSLESS_DEADLINE);
    assert_connected(&pair);
    assert_eq!(pair.c2s.stats.oversized, 0, "client exceeded MTU 256");
    assert_eq!(pair.s2c.stats.oversized, 0, "server exceeded MTU 256");
    // ServerHello + a 2048-bit RSA certificate + ServerKeyExchange cannot fit in one
    // 256-byte datagram.
    assert!(
        server_flight_datagrams.get() >= 4,
        "server flight in {} datagrams\n{}",
        server_flight_datagrams.get(),
        pair.trace()
    );
    assert_eq!(pair.client.retransmissions(), 0, "{}", pair.trace());
}

#[test]
fn application_data_and_close_notify() {
    let mut pair = Pair::lossless();
    pair.expect_handshake(LOSSLESS_DEADLINE);

    pair.client.session_mut().send(b"ping").expect("client send");
    pair.drive_until(Duration::from_secs(2), |p| !p.server.app_data.is_empty()).expect("ping delivered");
    assert_eq!(pair.server.app_data.pop_front().as_deref(), Some(&b"ping"[..]));

    pair.server.session_mut().send(b"pong").expect("server send");
    pair.drive_until(Duration::from_secs(3), |p| !p.client.app_data.is_empty()).expect("pong delivered");
    assert_eq!(pair.client.app_data.pop_front().as_deref(), Some(&b"pong"[..]));

    let cs = pair.client.session().stats();
    assert_eq!((cs.app_messages_sent, cs.app_messages_received), (1, 1));
    assert_eq!((cs.app_bytes_sent, cs.app_bytes_received), (4, 4));

    let now = pair.now;
    pair.client.session_mut().close(now);
    pair.drive_until(Duration::from_secs(4), |p| p.server.peer_closed).expect("close_notify delivered");
    assert!(pair.client.session().is_closed());
    assert!(pair.server.session().is_closed() || pair.server.peer_closed);
    assert!(pair.client.error.is_none() && pair.server.error.is_none());
}

#[test]
fn send_before_connected_is_refused() {
    let mut pair = Pair::lossless();
    assert!(matches!(pair.client.session_mut().send(b"early"), Err(dtls_engine::Error::HandshakeNotComplete)));
    pair.expect_handshake(LOSSLESS_DEADLINE);
}

/// Data over `max_payload()` is the caller's mistake, not the session's end: `send` refuses
/// it with `MessageTooLarge` naming the limit for this MTU (no alert, nothing queued), and
/// the session carries on in both directions.
#[test]
fn oversized_send_is_refused_and_the_session_goes_on() {
    use dtls_engine::Error;
    let pki = sim_pki();
    let client = pki.client_builder(1).mtu(500).build().expect("client config");
    let server = pki.server_builder(2).mtu(700).build().expect("server config");
    let mut pair = Pair::new(client, server, LinkConfig::default(), LinkConfig::default(), 0);
    pair.expect_handshake(LOSSLESS_DEADLINE);

    let max = pair.client.session().max_payload();
    assert!(max < 500 && max > 400, "{max}");
    let e = pair.client.session_mut().send(&vec![7; max + 1]).expect_err("over max_payload");
    assert_eq!(e, Error::MessageTooLarge { max });
    assert_eq!(e.alert(), None);
    assert!(e.to_string().contains(&format!("at most {max} bytes")), "{e}");
    assert!(pair.client.session_mut().send(&vec![7; 2000]).is_err());
    assert!(pair.client.session_mut().poll_transmit().is_none(), "a refused send queues nothing");
    assert!(!pair.client.session().is_closed());
    assert_eq!(pair.client.session().stats().app_messages_sent, 0);

    pair.client.session_mut().send(&vec![7; max]).expect("exactly max_payload fits");
    pair.drive_until(Duration::from_secs(2), |p| !p.server.app_data.is_empty()).expect("delivered");
    assert_eq!(pair.server.app_data.pop_front(), Some(vec![7; max]));

    let server_max = pair.server.session().max_payload();
    assert_eq!(server_max, max + 200, "the limit follows each side's MTU");
    assert_eq!(
        pair.server.session_mut().send(&vec![9; server_max + 1]),
        Err(Error::MessageTooLarge { max: server_max })
    );
    pair.server.session_mut().send(b"still here").expect("server send");
    pair.drive_until(Duration::from_secs(3), |p| !p.client.app_data.is_empty()).expect("delivered");
    assert_eq!(pair.client.app_data.pop_front().as_deref(), Some(&b"still here"[..]));

    let now = pair.now;
    pair.client.session_mut().close(now);
    pair.drive_until(Duration::from_secs(4), |p| p.server.peer_closed).expect("close_notify delivered");
    assert!(pair.client.error.is_none() && pair.server.error.is_none());
}

/// A corrupted record is dropped and counted (RFC 6347 §4.1.2.7), not fatal: flip the
/// last byte (inside the AEAD tag of the Finished) of the server's first final flight.
#[test]
fn corrupted_finished_is_dropped_and_recovered() {
    let mut pair = Pair::lossless();
    let mut done = false;
    pair.set_filter(move |info, datagram| {
        if !done && info.flight == Flight::ServerFinished {
            done = true;
            if let Some(last) = datagram.last_mut() {
                *last ^= 0x01;
            }
        }
        true
    });
    pair.expect_handshake(ONE_LOSS_DEADLINE);
    assert_connected(&pair);
    assert!(pair.client.session().stats().records_dropped > 0, "{}", pair.trace());
    assert!(pair.client.retransmissions() > 0, "{}", pair.trace());
}

/// The flight classifier reads only cleartext headers; check it on hand-made records.
#[test]
fn flight_classifier_reads_record_headers() {
    // type, version fefd, epoch, seq(6), length(2), then handshake header.
    fn record(content_type: u8, epoch: u16, body: &[u8]) -> Vec<u8> {
        let mut r = vec![content_type, 0xfe, 0xfd];
        r.extend_from_slice(&epoch.to_be_bytes());
        r.extend_from_slice(&[0; 6]);
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }
    fn handshake(msg_type: u8, message_seq: u16) -> Vec<u8> {
        let mut h = vec![msg_type, 0, 0, 0];
        h.extend_from_slice(&message_seq.to_be_bytes());
        h.extend_from_slice(&[0; 6]);
        h
    }
    use Flight as F;
    use Side::{Client as C, Server as S};
    let cases = [
        (C, record(22, 0, &handshake(1, 0)), F::ClientHello),
        (S, record(22, 0, &handshake(3, 0)), F::HelloVerifyRequest),
        (C, record(22, 0, &handshake(1, 1)), F::ClientHelloWithCookie),
        (S, record(22, 0, &handshake(2, 1)), F::ServerHello),
        (S, record(22, 0, &handshake(11, 2)), F::ServerHello),
        (C, record(22, 0, &handshake(16, 2)), F::ClientFinished),
        (C, record(20, 0, &[1]), F::ClientFinished),
        (S, record(20, 0, &[1]), F::ServerFinished),
        (S, record(22, 1, &[0; 40]), F::ServerFinished),
        (C, record(23, 1, &[0; 40]), F::ApplicationData),
        (S, record(21, 1, &[0; 26]), F::Alert),
        (C, vec![22, 0xfe], F::Other),
    ];
    for (side, datagram, want) in cases {
        assert_eq!(Flight::classify(side, &datagram), want, "{datagram:02x?}");
    }
}
