//! One regression test (or more) per bug class of `docs/security.md`, each opening with a note on
//! the bug it pins down. Every test here was checked to fail with its defence removed.
//!
//! Two tools: the deterministic simulation [`Pair`] (real client and server, with hooks to
//! drop, alter or inject datagrams), and scripted "evil" peers (`sim/evil.rs`) that hold real
//! keys and send authenticated messages in orders a correct peer never would.

mod sim;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dtls_engine::internals::codec::Codec;
use dtls_engine::internals::suites;
use dtls_engine::internals::wire::handshake_header::{HandshakeHeader, encode_fragment};
use dtls_engine::internals::wire::{
    AlertLevel, ClientHello, ContentType, DTLS_1_0, HandshakePayload, HandshakeType, HelloVerifyRequest,
};
use dtls_engine::{
    AlertDescription, CipherSuite, ClientConfig, Error, NamedGroup, PeerIncompatible, PeerMisbehaved, ServerConfig,
    Session,
};
use sim::evil::{ClientFlight5, EvilClient, EvilServer, evil_client_hello, sim_client_identity};
use sim::wire::{Record, datagram, handshake_body, has_fatal, plaintext_alerts, plaintext_handshake, records};
use sim::{CLIENT_ADDR, Driver, Flight, LinkConfig, Pair, SERVER_ADDR, SIM_HANDSHAKE_TIMEOUT, Side, sim_pki};

const DEADLINE: Duration = Duration::from_secs(10);

fn server_config_with(
    f: impl FnOnce(dtls_engine::ServerConfigBuilder) -> dtls_engine::ServerConfigBuilder,
) -> Arc<ServerConfig> {
    f(sim_pki().server_builder(2)).build().expect("server config")
}

fn mutual_server_config() -> Arc<ServerConfig> {
    server_config_with(|b| b.require_client_certificate_pem(sim_pki().ca_pem.as_bytes()).expect("sim CA"))
}

fn has_warning(alerts: &[dtls_engine::internals::wire::Alert], description: AlertDescription) -> bool {
    alerts.iter().any(|a| a.level == AlertLevel::Warning && a.description == description)
}

/// The first ClientHello in a datagram.
fn client_hello_of(datagram: &[u8]) -> (Record, HandshakeHeader, ClientHello) {
    let rec = records(datagram).into_iter().next().expect("a record");
    let (h, body) = rec.fragments().into_iter().next().expect("a fragment");
    let ch = ClientHello::read_all(&body).expect("a ClientHello");
    (rec, h, ch)
}

fn handshake_types(datagram: &[u8]) -> Vec<HandshakeType> {
    records(datagram)
        .iter()
        .filter(|r| r.header.content_type == ContentType::Handshake && r.header.epoch == 0)
        .flat_map(|r| r.fragments().into_iter().map(|(h, _)| h.msg_type))
        .collect()
}

// =====================================================================================
// 1. Handshake completed without proof of key possession

/// pion CVE-2022-29222: a server accepted a client Certificate that was never followed by a
/// CertificateVerify, so anybody holding a copy of a certificate could log in with it. Our
/// scripted client sends Certificate, ClientKeyExchange, ChangeCipherSpec and a *correct*
/// Finished, skipping only CertificateVerify; the server must refuse with an alert.
#[test]
fn client_certificate_without_certificate_verify_is_refused() {
    let mut evil = EvilClient::new(mutual_server_config());
    evil.run_to_flight_4();
    let (chain, _key) = sim_client_identity();
    evil.send_flight_5(ClientFlight5 { certificate: Some(chain), ..Default::default() });
    assert!(!evil.s.peer.is_connected() && !evil.s.connected());
    assert_eq!(evil.s.error, Some(Error::PeerMisbehaved(PeerMisbehaved::MissingCertificateVerify)));
    assert!(has_fatal(&evil.s.alerts, AlertDescription::UnexpectedMessage), "{:?}", evil.s.alerts);
}

/// WebRTC media servers (2025–2026) accepted an empty client Certificate even when they
/// required one. With client authentication required, an empty list ends the handshake
/// with handshake_failure.
#[test]
fn empty_client_certificate_when_required_is_handshake_failure() {
    let mut evil = EvilClient::new(mutual_server_config());
    evil.run_to_flight_4();
    evil.send_flight_5(ClientFlight5 { certificate: Some(Vec::new()), ..Default::default() });
    assert!(!evil.s.peer.is_connected());
    assert_eq!(evil.s.error, Some(Error::PeerIncompatible(PeerIncompatible::CertificateRequired)));
    assert!(has_fatal(&evil.s.alerts, AlertDescription::HandshakeFailure), "{:?}", evil.s.alerts);
}

/// A certificate that does not match the key that signed CertificateVerify (someone else's
/// certificate, our own key) must fail the signature check, not authenticate.
#[test]
fn client_certificate_verify_by_another_key_is_refused() {
    let mut evil = EvilClient::new(mutual_server_config());
    evil.run_to_flight_4();
    let (chain, _key) = sim_client_identity();
    let other = dtls_engine::SigningKey::from_pem(sim_pki().server_key_pem.as_bytes()).expect("key");
    evil.send_flight_5(ClientFlight5 {
        certificate: Some(chain),
        certificate_verify: Some(other),
        ..Default::default()
    });
    assert!(!evil.s.peer.is_connected());
    assert!(matches!(evil.s.error, Some(Error::PeerMisbehaved(PeerMisbehaved::BadSignature))), "{:?}", evil.s.error);
    assert!(has_fatal(&evil.s.alerts, AlertDescription::DecryptError), "{:?}", evil.s.alerts);
}

/// Control for the three above: the same scripted client with a proper CertificateVerify
/// is accepted, so the refusals are about the missing proof and nothing else.
#[test]
fn scripted_client_with_certificate_verify_connects() {
    let mut evil = EvilClient::new(mutual_server_config());
    evil.run_to_flight_4();
    let (chain, key) = sim_client_identity();
    evil.send_flight_5(ClientFlight5 { certificate: Some(chain), certificate_verify: Some(key), ..Default::default() });
    assert_eq!(evil.s.error, None);
    assert!(evil.s.peer.is_connected() && evil.s.connected());
}

// =====================================================================================
// 2. Plaintext application data in epoch 0

/// wolfSSL CVE-2020-24585: plaintext application data records (epoch 0) were delivered to
/// the application. Injected before and after the handshake, they must be dropped and
/// counted, never surfaced.
#[test]
fn plaintext_application_data_is_dropped() {
    let mut pair = Pair::lossless();
    let record = |seq| datagram(&[Record::new(ContentType::ApplicationData, 0, seq, b"plaintext!".to_vec())]);
    // Before the client's cookie verified, the server endpoint has no session: it drops a
    // datagram that is not a ClientHello from an unknown peer, keeping no state.
    pair.inject(Side::Server, &record(50));
    assert_eq!(pair.server.endpoint().stats().datagrams_dropped, 1);
    assert_eq!((pair.server.accepted, pair.server.endpoint().session_count()), (0, 0));
    // Once it accepted (handshake under way, the server session expecting flight 5), the
    // record reaches the session, which drops it.
    pair.drive_until(DEADLINE, |p| p.server.accepted == 1).expect("accepted");
    assert!(!pair.server.is_connected() && !pair.client.is_connected());
    pair.inject(Side::Server, &record(50));
    pair.inject(Side::Client, &record(50));
    assert_eq!(pair.server.session().stats().records_dropped, 1);
    assert_eq!(pair.client.session().stats().records_dropped, 1);
    pair.expect_handshake(DEADLINE);

    let (s0, c0) = (pair.server.session().stats().records_dropped, pair.client.session().stats().records_dropped);
    pair.inject(Side::Server, &record(1000));
    pair.inject(Side::Client, &record(1000));
    assert!(pair.server.app_data.is_empty() && pair.client.app_data.is_empty());
    assert_eq!(pair.server.session().stats().records_dropped, s0 + 1);
    assert_eq!(pair.client.session().stats().records_dropped, c0 + 1);
    assert_eq!(pair.server.session().stats().app_messages_received, 0);
    assert!(pair.server.error.is_none() && pair.client.error.is_none());
}

// =====================================================================================
// 3. Unbounded handshake reassembly

fn fragment_datagram(
    seq: u64,
    msg_type: HandshakeType,
    length: u32,
    message_seq: u16,
    offset: u32,
    bytes: &[u8],
) -> Vec<u8> {
    let h =
        HandshakeHeader { msg_type, length, message_seq, fragment_offset: offset, fragment_length: bytes.len() as u32 };
    let mut body = Vec::new();
    encode_fragment(&h, bytes, &mut body);
    datagram(&[Record::new(ContentType::Handshake, 0, seq, body)])
}

/// pion CVE-2022-29189 and OpenSSL CVE-2014-3506: fragments declaring huge message
/// lengths, or many message_seqs, made the stack allocate without bound; GnuTLS (2026) and
/// OpenSSL CVE-2014-0195 matched fragments on type alone and overran. Here every refusal
/// is one dropped record: the per-message cap (64 KiB), the per-session cap (256 KiB),
/// type/length consistency per message_seq, overlapping bytes that disagree, and bounds
/// against the message length. The session then completes a real handshake.
#[test]
fn reassembly_is_bounded_and_keyed_by_seq_type_and_length() {
    let mut pair = Pair::lossless();
    // The server endpoint makes a session only for a ClientHello whose cookie verified, and
    // drops other handshake records from unknown peers; so the fragments go to the server
    // session once it accepted, while it waits for the client's flight 5.
    pair.drive_until(DEADLINE, |p| p.server.accepted == 1).expect("accepted");
    let dropped = |p: &Pair| p.server.session().stats().records_dropped;
    // Record sequence numbers stay inside the epoch-0 replay window of the real client.
    let cert = HandshakeType::Certificate;

    // Over the per-message cap, under the session cap.
    pair.inject(Side::Server, &fragment_datagram(40, cert, 100_000, 9, 0, &[7; 100]));
    assert_eq!(dropped(&pair), 1, "message over the per-message cap was buffered");

    // Seven 60 000-byte messages: four fit the 256 KiB budget, three do not.
    for (i, seq) in (10..=16).enumerate() {
        pair.inject(Side::Server, &fragment_datagram(41 + i as u64, cert, 60_000, seq, 0, &[7; 100]));
    }
    assert_eq!(dropped(&pair), 4, "the per-session budget did not hold");

    // Same message_seq, other type; same type, other length; conflicting overlap.
    pair.inject(Side::Server, &fragment_datagram(48, HandshakeType::ServerHello, 60_000, 10, 100, &[7; 100]));
    assert_eq!(dropped(&pair), 5, "fragment of another type joined message_seq 10");
    pair.inject(Side::Server, &fragment_datagram(49, cert, 50_000, 11, 100, &[7; 100]));
    assert_eq!(dropped(&pair), 6, "fragment of another length joined message_seq 11");
    pair.inject(Side::Server, &fragment_datagram(50, cert, 60_000, 12, 50, &[8; 100]));
    assert_eq!(dropped(&pair), 7, "overlapping bytes that disagree were accepted");

    // fragment_offset + fragment_length beyond length: the header alone is refused.
    let mut bad = Vec::new();
    HandshakeHeader { msg_type: cert, length: 10, message_seq: 13, fragment_offset: 8, fragment_length: 4 }
        .encode(&mut bad);
    bad.extend_from_slice(&[0; 4]);
    pair.inject(Side::Server, &datagram(&[Record::new(ContentType::Handshake, 0, 51, bad)]));
    assert_eq!(dropped(&pair), 8, "fragment beyond its message was accepted");

    assert!(pair.server.error.is_none());
    pair.expect_handshake(DEADLINE);
}

// =====================================================================================
// 4. Zero-length or degenerate fragments

/// pion CVE-2022-29190 (and webrtc-rs): zero-length fragments sent the reassembler into a
/// loop, or cost state. A record of 1300 empty fragments of 60 000-byte "ClientHellos" on
/// every message_seq, and a datagram of empty records, must take bounded time and buffer
/// nothing: the genuine ClientHello (message_seq 0, other length) still gets through.
#[test]
fn zero_length_fragment_flood_is_cheap_and_harmless() {
    // Through the endpoint, which must neither answer nor keep state for the flood; and into
    // a bare server session (the endpoint never hands fragments from an unknown peer to
    // one), whose reassembler must buffer nothing.
    zero_length_fragment_flood(Pair::lossless());
    zero_length_fragment_flood(Pair::lossless_sessions());
}

fn zero_length_fragment_flood(mut pair: Pair) {
    let mut body = Vec::new();
    for i in 0..1300u16 {
        let h = HandshakeHeader {
            msg_type: HandshakeType::ClientHello,
            length: 60_000,
            message_seq: i % 17,
            fragment_offset: u32::from(i) * 7,
            fragment_length: 0,
        };
        encode_fragment(&h, &[], &mut body);
    }
    // Record sequence numbers 40..=63: inside the epoch-0 replay window, unused by the
    // real client (whose records would otherwise look replayed).
    let flood = |seq| datagram(&[Record::new(ContentType::Handshake, 0, seq, body.clone())]);
    let empty_records: Vec<Record> =
        (0..100).map(|i| Record::new(ContentType::Handshake, 0, 60 + i % 4, Vec::new())).collect();
    let empties = datagram(&empty_records);

    let started = Instant::now();
    for seq in 40..60 {
        pair.inject(Side::Server, &flood(seq));
    }
    pair.inject(Side::Server, &empties);
    assert!(started.elapsed() < Duration::from_secs(5), "flood took {:?}", started.elapsed());
    assert!(pair.server.error.is_none());
    assert_eq!(pair.server.poll_transmit(), None, "the flood made the server answer");
    if pair.server.driver() == Driver::Endpoint {
        assert_eq!((pair.server.accepted, pair.server.endpoint().session_count()), (0, 0), "the flood made a session");
    }
    pair.expect_handshake(DEADLINE);
}

// =====================================================================================
// 5. Replay window updated only after authentication

/// OpenSSL CVE-2016-2181: the replay window moved on records that then failed to
/// authenticate, so a forged record with a future sequence number made genuine records
/// look replayed or too old. Forge (a) a copy of a genuine record with a broken tag and
/// (b) one 1000 sequence numbers ahead; the genuine record must still be accepted.
#[test]
fn forged_records_do_not_move_the_replay_window() {
    let mut pair = Pair::lossless();
    pair.expect_handshake(DEADLINE);
    pair.client.session_mut().send(b"genuine").expect("send");
    let genuine = pair.client.session_mut().poll_transmit().expect("record").contents;
    let rec = records(&genuine).remove(0);
    assert_eq!(rec.header.epoch, 1);

    let mut same_seq = rec.clone();
    *same_seq.body.last_mut().expect("tag") ^= 0x80;
    let mut ahead = rec.clone();
    ahead.header.sequence += 1000;
    let dropped = pair.server.session().stats().records_dropped;
    pair.inject(Side::Server, &datagram(&[same_seq]));
    pair.inject(Side::Server, &datagram(&[ahead]));
    assert_eq!(pair.server.session().stats().records_dropped, dropped + 2);
    assert!(pair.server.app_data.is_empty());

    pair.inject(Side::Server, &genuine);
    assert_eq!(pair.server.app_data.pop_front().as_deref(), Some(&b"genuine"[..]));
    // And the genuine one is accepted exactly once.
    pair.inject(Side::Server, &genuine);
    assert!(pair.server.app_data.is_empty());
}

// =====================================================================================
// 6. AEAD nonces

/// pion CVE-2026-26014 and webrtc-rs: random or repeated AEAD nonces, notably on
/// retransmission. Lose flights 5 and 6 once each so both epoch-1 Finished messages are
/// sealed twice, exchange data, then check every epoch-1 record either side ever sent: no
/// (epoch, sequence) pair repeats, and with AES-GCM the explicit nonce is epoch‖sequence.
fn nonces_never_repeat(suite: CipherSuite) {
    let pki = sim_pki();
    let client = ClientConfig::builder()
        .root_certificates_pem(pki.ca_pem.as_bytes())
        .expect("ca")
        .server_name("localhost")
        .cipher_suites(&[suite])
        .handshake_timeout(SIM_HANDSHAKE_TIMEOUT)
        .rng_seed([1; 32])
        .build()
        .expect("client config");
    let mut pair = Pair::new(client, pki.server_config(2), LinkConfig::default(), LinkConfig::default(), 6);
    // Drop the first burst of flight 5 and of flight 6.
    let mut first = std::collections::HashMap::new();
    pair.set_filter(move |info, _| {
        if !matches!(info.flight, Flight::ClientFinished | Flight::ServerFinished) {
            return true;
        }
        *first.entry(info.from).or_insert(info.burst) != info.burst
    });
    pair.expect_handshake(Duration::from_secs(20));
    assert!(pair.client.retransmissions() > 0 && pair.server.retransmissions() > 0, "{}", pair.trace());
    for i in 0..5u8 {
        pair.client.session_mut().send(&[i; 10]).expect("send");
        pair.server.session_mut().send(&[i; 20]).expect("send");
    }
    pair.settle(Duration::from_secs(1));
    assert_eq!(pair.server.app_data.len(), 5);

    let explicit = suites::lookup(suite).expect("suite").aead.explicit_nonce_len() > 0;
    for side in [Side::Client, Side::Server] {
        let mut seen = std::collections::HashSet::new();
        let mut epoch1 = 0;
        for d in pair.sent_by(side) {
            for r in records(&d) {
                assert!(seen.insert((r.header.epoch, r.header.sequence)), "{side:?} reused {:?}", r.header);
                if r.header.epoch == 1 {
                    epoch1 += 1;
                    if explicit {
                        assert_eq!(r.body[..8], r.header.epoch_seq().to_be_bytes(), "{side:?} explicit nonce");
                    }
                }
            }
        }
        // Two Finished (one retransmitted), five data records, plus retransmission.
        assert!(epoch1 >= 7, "{side:?} sent only {epoch1} epoch-1 records");
    }
}

#[test]
fn aead_nonces_never_repeat_aes_gcm() {
    nonces_never_repeat(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
}

#[test]
fn aead_nonces_never_repeat_chacha20() {
    nonces_never_repeat(CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256);
}

// =====================================================================================
// 7. Cookie bound to the client

/// mbedTLS #4478: cookies were not bound to the client, so a cookie obtained once could be
/// replayed from anywhere (or attached to any ClientHello). A cookie issued to one address
/// must not verify from another, nor for a ClientHello with other parameters: both get a
/// fresh HelloVerifyRequest, never a ServerHello.
#[test]
fn cookie_is_bound_to_address_and_client_hello() {
    let pki = sim_pki();
    let server_config = pki.server_config(2);
    let now = Instant::now();
    let mut client = Session::client(now, pki.client_config(1), SERVER_ADDR);
    let ch1 = client.poll_transmit().expect("ClientHello").contents;
    let mut issuing = Session::server(now, server_config.clone(), CLIENT_ADDR);
    issuing.handle(now, &ch1).expect("ClientHello");
    let hvr = issuing.poll_transmit().expect("HelloVerifyRequest").contents;
    client.handle(now, &hvr).expect("HelloVerifyRequest");
    let ch2 = client.poll_transmit().expect("ClientHello with cookie").contents;
    assert!(!client_hello_of(&ch2).2.cookie.is_empty());

    // A server session at `peer` that answered `ch1` from there (so it expects the cookie
    // round's message_seq 1), then given `datagram`.
    let answer = |peer, datagram: &[u8]| {
        let mut server = Session::server(now, server_config.clone(), peer);
        server.handle(now, &ch1).expect("ClientHello");
        let first: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
        assert_eq!(first.len(), 1);
        server.handle(now, datagram).expect("no error");
        std::iter::from_fn(|| server.poll_transmit()).map(|t| t.contents).collect::<Vec<_>>()
    };
    // Control: from the address it was issued to, the cookie works.
    let ok = answer(CLIENT_ADDR, &ch2);
    assert_eq!(handshake_types(&ok[0])[0], HandshakeType::ServerHello);

    // From another address (or port): a new HelloVerifyRequest.
    for other in ["127.0.0.2:40001", "127.0.0.1:40009"] {
        let out = answer(other.parse().expect("addr"), &ch2);
        assert_eq!(out.len(), 1, "{other}");
        assert_eq!(handshake_types(&out[0]), [HandshakeType::HelloVerifyRequest], "{other}");
    }

    // Same address, other ClientHello parameters (random, suites): a new HelloVerifyRequest.
    let (rec, h, ch) = client_hello_of(&ch2);
    let mut variants = Vec::new();
    let mut v = ch.clone();
    v.random[0] ^= 1;
    variants.push(v);
    let mut v = ch.clone();
    v.cipher_suites.truncate(1);
    variants.push(v);
    for v in variants {
        let body = handshake_body(HandshakeType::ClientHello, h.message_seq, &v.to_vec());
        let d = datagram(&[Record { body, ..rec.clone() }]);
        let out = answer(CLIENT_ADDR, &d);
        assert_eq!(out.len(), 1);
        assert_eq!(handshake_types(&out[0]), [HandshakeType::HelloVerifyRequest]);
    }

    // RFC 6347 §4.2.1 pins only version, random, session_id, cipher_suites and
    // compression_method: a second ClientHello with other extensions (a DTLS 1.3-capable
    // client drops key_share and supported_versions once it falls back to 1.2) and the same
    // cookie is accepted.
    let mut v = ch.clone();
    v.extensions.retain(|e| e.ext_type() != dtls_engine::internals::wire::ExtensionType::EcPointFormats);
    v.extensions.push(dtls_engine::internals::wire::Extension::Unknown {
        typ: dtls_engine::internals::wire::ExtensionType::from(0x0033),
        data: vec![0, 0],
    });
    let body = handshake_body(HandshakeType::ClientHello, h.message_seq, &v.to_vec());
    let out = answer(CLIENT_ADDR, &datagram(&[Record { body, ..rec.clone() }]));
    assert_eq!(handshake_types(&out[0])[0], HandshakeType::ServerHello);
}

/// Run a ClientHello through the cookie round of a real server session and return the
/// server's error and the alerts it sent.
fn answer_hello(hello: ClientHello) -> (Option<Error>, Vec<dtls_engine::internals::wire::Alert>) {
    let now = Instant::now();
    let mut server = Session::server(now, sim_pki().server_config(2), CLIENT_ADDR);
    let first = datagram(&[plaintext_handshake(0, 0, &HandshakePayload::ClientHello(hello.clone()))]);
    server.handle(now, &first).expect("first ClientHello");
    let hvr = server.poll_transmit().expect("HelloVerifyRequest").contents;
    let cookie = records(&hvr)
        .into_iter()
        .flat_map(|r| r.fragments())
        .find_map(|(h, body)| match HandshakePayload::read(h.msg_type, &body) {
            Ok(HandshakePayload::HelloVerifyRequest(v)) => Some(v.cookie),
            _ => None,
        })
        .expect("a cookie");
    let mut second = hello;
    second.cookie = cookie;
    let err = server.handle(now, &datagram(&[plaintext_handshake(1, 1, &HandshakePayload::ClientHello(second))])).err();
    let alerts = std::iter::from_fn(|| server.poll_transmit()).flat_map(|t| plaintext_alerts(&t.contents)).collect();
    (err, alerts)
}

/// Hostile testing found two malformed hellos answered with the wrong alert (or none):
/// compression_methods without `null` must be illegal_parameter (RFC 5246 §7.4.1.2), and an
/// ec_point_formats list without `uncompressed` must abort with illegal_parameter
/// (RFC 8422 §5.1.2) rather than be ignored.
#[test]
fn malformed_hello_lists_are_illegal_parameter() {
    let mut no_null = evil_client_hello([3; 32], NamedGroup::X25519);
    no_null.compression_methods = vec![1];
    let (err, alerts) = answer_hello(no_null);
    assert_eq!(err, Some(Error::PeerMisbehaved(PeerMisbehaved::NullCompressionMissing)));
    assert!(has_fatal(&alerts, AlertDescription::IllegalParameter), "{alerts:?}");

    let mut no_uncompressed = evil_client_hello([4; 32], NamedGroup::X25519);
    for e in &mut no_uncompressed.extensions {
        if let dtls_engine::internals::wire::Extension::EcPointFormats(f) = e {
            *f = vec![
                dtls_engine::internals::wire::EcPointFormat::from(1u8),
                dtls_engine::internals::wire::EcPointFormat::from(2u8),
            ];
        }
    }
    let (err, alerts) = answer_hello(no_uncompressed);
    assert_eq!(err, Some(Error::PeerMisbehaved(PeerMisbehaved::UncompressedPointFormatMissing)));
    assert!(has_fatal(&alerts, AlertDescription::IllegalParameter), "{alerts:?}");

    // Control: null among others, uncompressed among others, are fine.
    let mut fine = evil_client_hello([5; 32], NamedGroup::X25519);
    fine.compression_methods = vec![1, 0];
    for e in &mut fine.extensions {
        if let dtls_engine::internals::wire::Extension::EcPointFormats(f) = e {
            f.insert(0, dtls_engine::internals::wire::EcPointFormat::from(2u8));
        }
    }
    let (err, alerts) = answer_hello(fine);
    assert_eq!(err, None, "{alerts:?}");
}

// =====================================================================================
// 8. Out-of-order and unexpected handshake messages

/// mbedTLS #4376: a first ClientHello with message_seq ≠ 0 was processed. It must wait
/// (buffered, unanswered) for message 0.
#[test]
fn first_message_seq_not_zero_is_not_processed() {
    // A bare server session first: the property is the session's, and through an endpoint
    // a cookie-less hello never reaches a session (the endpoint answers it statelessly).
    let mut pair = Pair::lossless_sessions();
    let ch = pair.client.session_mut().poll_transmit().expect("ClientHello").contents;
    let (rec, h, hello) = client_hello_of(&ch);
    let body = handshake_body(HandshakeType::ClientHello, 1, &hello.to_vec());
    assert_eq!(h.message_seq, 0);
    pair.inject(Side::Server, &datagram(&[Record { body, ..rec }]));
    assert!(pair.server.error.is_none());
    assert_eq!(pair.server.session_mut().poll_transmit(), None, "the server answered message_seq 1");

    // Through the endpoint: no session is made for it; what it gets is at most the
    // stateless HelloVerifyRequest any cookie-less ClientHello gets (no state kept).
    let mut pair = Pair::lossless();
    let ch = pair.client.session_mut().poll_transmit().expect("ClientHello").contents;
    let (rec, _, hello) = client_hello_of(&ch);
    let body = handshake_body(HandshakeType::ClientHello, 1, &hello.to_vec());
    pair.inject(Side::Server, &datagram(&[Record { body, ..rec }]));
    assert!(pair.server.error.is_none());
    assert_eq!((pair.server.accepted, pair.server.endpoint().session_count()), (0, 0));
    while let Some(t) = pair.server.poll_transmit() {
        assert_eq!(Flight::classify(Side::Server, &t.contents), Flight::HelloVerifyRequest);
    }
}

/// OpenSSL #15488: a HelloVerifyRequest after the ServerHello restarted the client's
/// handshake. It must be a fatal unexpected_message, and the client must not send a new
/// ClientHello.
#[test]
fn hello_verify_request_after_server_hello_is_fatal() {
    let pki = sim_pki();
    let mut evil = EvilServer::new(pki.client_config(1));
    evil.push_server_hello();
    let hvr = HelloVerifyRequest { server_version: DTLS_1_0, cookie: vec![7; 32] };
    evil.s.push(0, &HandshakePayload::HelloVerifyRequest(hvr), false);
    evil.s.flush();
    assert_eq!(evil.s.error, Some(Error::PeerMisbehaved(PeerMisbehaved::HelloVerifyRequestAfterServerHello)));
    assert!(has_fatal(&evil.s.alerts, AlertDescription::UnexpectedMessage), "{:?}", evil.s.alerts);
    assert_eq!(evil.s.messages.iter().filter(|m| m.msg_type == HandshakeType::ClientHello).count(), 1);
}

/// Finished must come in epoch 1, after ChangeCipherSpec. A client that skips the
/// ChangeCipherSpec and sends a *correct* Finished in plaintext epoch 0 must not complete
/// the handshake: the record is dropped.
#[test]
fn finished_in_epoch_0_is_dropped() {
    let mut evil = EvilClient::new(sim_pki().server_config(2));
    evil.run_to_flight_4();
    evil.send_flight_5(ClientFlight5 { ccs: false, finished_epoch: 0, ..Default::default() });
    assert!(!evil.s.peer.is_connected() && !evil.s.connected());
    assert_eq!(evil.s.error, None);
    assert!(evil.s.peer.stats().records_dropped >= 1);
}

/// wolfSSL #9197: a duplicate Finished after completion was processed again. Lose flight
/// 6 once: the client's retransmitted flight 5 reaches a connected server, which must
/// re-send flight 6 (RFC 6347 §4.2.4) and otherwise ignore it. Replaying the genuine
/// datagrams again afterwards is harmless too, and data still flows.
#[test]
fn duplicate_finished_after_completion_is_harmless() {
    let mut pair = Pair::lossless();
    pair.drop_first_transmission(Flight::ServerFinished);
    pair.expect_handshake(DEADLINE);
    assert!(pair.server.retransmissions() >= 1, "{}", pair.trace());
    for d in pair.sent_by(Side::Client) {
        pair.inject(Side::Server, &d);
    }
    for d in pair.sent_by(Side::Server) {
        pair.inject(Side::Client, &d);
    }
    pair.settle(Duration::from_secs(2));
    assert!(pair.server.error.is_none() && pair.client.error.is_none());
    pair.client.session_mut().send(b"still here").expect("send");
    pair.server.session_mut().send(b"me too").expect("send");
    pair.settle(Duration::from_secs(1));
    assert_eq!(pair.server.app_data.pop_front().as_deref(), Some(&b"still here"[..]));
    assert_eq!(pair.client.app_data.pop_front().as_deref(), Some(&b"me too"[..]));
}

/// BoGo DTLS-SendExtraFinished: after the handshake, a second Finished with a new
/// message_seq (not a retransmission) is out of place: fatal unexpected_message (RFC 5246
/// §7.4), not the no_renegotiation warning a renegotiation attempt gets.
#[test]
fn extra_finished_after_completion_is_unexpected_message() {
    let mut evil = EvilServer::new(sim_pki().client_config(1));
    evil.push_server_hello();
    evil.push_rest_of_flight_4(None);
    evil.s.flush();
    evil.finish();
    assert!(evil.s.connected(), "{:?}", evil.s.error);
    let extra = evil.s.finished(dtls_engine::internals::handshake::key_schedule::Side::Server);
    evil.s.push(1, &extra, false);
    evil.s.flush();
    assert_eq!(evil.s.error, Some(Error::PeerMisbehaved(PeerMisbehaved::HandshakeDataAfterFinished)));
    assert!(has_fatal(&evil.s.alerts, AlertDescription::UnexpectedMessage), "{:?}", evil.s.alerts);
}

/// BoGo DTLS-SendExtraFinished-Reordered: a fragment of a second Finished (another
/// message_seq, protected epoch) arrives before the real one: fatal. (Epoch-0 fragments of
/// later messages, which anybody can inject, stay harmless: see
/// `reassembly_is_bounded_and_keyed_by_seq_type_and_length`.)
#[test]
fn handshake_data_pending_at_completion_is_unexpected_message() {
    let mut evil = EvilServer::new(sim_pki().client_config(1));
    evil.push_server_hello();
    evil.push_rest_of_flight_4(None);
    evil.s.flush();
    // The client's flight 5, then our CCS, a fragment of a second Finished (message_seq
    // one past the real one) and the real Finished, in one datagram.
    evil.finish_with_extra_fragment();
    assert_eq!(evil.s.error, Some(Error::PeerMisbehaved(PeerMisbehaved::HandshakeDataAfterFinished)));
    assert!(!evil.s.connected());
    assert!(has_fatal(&evil.s.alerts, AlertDescription::UnexpectedMessage), "{:?}", evil.s.alerts);
}

/// BoGo WrongMessageType-*: a handshake message of a type we do not know, where a known one
/// is due, is an unexpected message, not a decode error.
#[test]
fn unknown_handshake_type_is_unexpected_message() {
    let mut evil = EvilServer::new(sim_pki().client_config(1));
    let body = handshake_body(HandshakeType::from(0x63u8), 0, &[1, 2, 3]);
    evil.s.push_record(0, ContentType::Handshake, &body);
    evil.s.flush();
    assert_eq!(evil.s.error, Some(Error::PeerMisbehaved(PeerMisbehaved::UnexpectedMessage)));
    assert!(has_fatal(&evil.s.alerts, AlertDescription::UnexpectedMessage), "{:?}", evil.s.alerts);
}

/// RFC 5246 §6.2.1 lets messages of one content type share a record: two alerts in one
/// protected record (a warning, then close_notify) are both handled.
#[test]
fn coalesced_alerts_are_each_handled() {
    let mut evil = EvilServer::new(sim_pki().client_config(1));
    evil.push_server_hello();
    evil.push_rest_of_flight_4(None);
    evil.s.flush();
    evil.finish();
    assert!(evil.s.connected());
    // user_canceled (90) as a warning, then close_notify (0).
    evil.s.send_protected(ContentType::Alert, &[1, 90, 1, 0]);
    assert!(evil.s.error.is_none(), "{:?}", evil.s.error);
    assert!(evil.s.events.contains(&dtls_engine::Event::Closed), "{:?}", evil.s.events);
}

fn ccs(seq: u64, body: &[u8]) -> Vec<u8> {
    datagram(&[Record::new(ContentType::ChangeCipherSpec, 0, seq, body.to_vec())])
}

/// TinyDTLS CVE-2017-7243: an unexpected ChangeCipherSpec crashed the stack; elsewhere an
/// early one switched epochs before keys existed. CCS records (valid and malformed) are
/// injected into both sides before anything, and the server's read epoch must not switch
/// until its ClientKeyExchange is processed: the client's Finished, made to arrive before
/// its ClientKeyExchange, is still buffered and accepted without a retransmission.
#[test]
fn unexpected_change_cipher_spec_neither_crashes_nor_switches_early() {
    let mut pair = Pair::lossless();
    for (side, seq) in [(Side::Server, 50), (Side::Client, 50)] {
        pair.inject(side, &ccs(seq, &[1]));
        pair.inject(side, &ccs(seq + 1, &[2]));
        pair.inject(side, &ccs(seq + 2, &[1, 1]));
        pair.inject(side, &ccs(seq + 3, &[]));
    }
    // Hold flight 5 back; deliver its epoch-1 Finished first, then the rest.
    let held: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let h = held.clone();
    pair.set_filter(move |info, d| {
        if info.flight == Flight::ClientFinished {
            h.lock().expect("lock").get_or_insert_with(|| d.clone());
            return false;
        }
        true
    });
    pair.drive_until(DEADLINE, |_| held.lock().expect("lock").is_some()).expect("flight 5");
    let flight5 = records(&held.lock().expect("lock").clone().expect("held"));
    let (protected, clear): (Vec<Record>, Vec<Record>) = flight5.into_iter().partition(|r| r.header.epoch == 1);
    assert!(!protected.is_empty() && !clear.is_empty());
    pair.inject(Side::Server, &datagram(&protected));
    assert!(!pair.server.is_connected());
    pair.inject(Side::Server, &datagram(&clear));
    assert!(pair.server.error.is_none(), "{:?}", pair.server.error);
    assert!(pair.server.is_connected(), "server did not accept the early Finished");
    assert_eq!(pair.server.retransmissions(), 0);

    // After the handshake: more stray CCS records on both sides change nothing.
    pair.set_filter(|_, _| true);
    pair.expect_handshake(DEADLINE);
    pair.inject(Side::Server, &ccs(60, &[1]));
    pair.inject(Side::Client, &ccs(60, &[1]));
    pair.client.session_mut().send(b"after ccs").expect("send");
    pair.settle(Duration::from_secs(1));
    assert_eq!(pair.server.app_data.pop_front().as_deref(), Some(&b"after ccs"[..]));
    assert!(pair.server.error.is_none() && pair.client.error.is_none());
}

// =====================================================================================
// 9. Renegotiation and CBC

/// Renegotiation attacks (RFC 5746) and their DTLS variants: we never renegotiate. A
/// ClientHello in epoch 1 after the handshake (with message_seq 0 as RFC 6347 §4.2.2
/// prescribes for a new handshake, or continuing) is answered with a warning
/// no_renegotiation; the session carries on.
#[test]
fn server_refuses_renegotiation_with_a_warning() {
    let mut evil = EvilClient::new(sim_pki().server_config(2));
    evil.run_to_flight_4();
    evil.send_flight_5(ClientFlight5::default());
    assert!(evil.s.connected(), "{:?}", evil.s.error);
    for seq in [0, evil.s.send_seq] {
        let before = evil.s.alerts.len();
        let hello = evil_client_hello([0x33; 32], NamedGroup::X25519);
        evil.s.push_with_seq(1, seq, &HandshakePayload::ClientHello(hello), false);
        evil.s.flush();
        assert_eq!(evil.s.error, None);
        assert!(has_warning(&evil.s.alerts[before..], AlertDescription::NoRenegotiation), "{:?}", evil.s.alerts);
    }
    assert_eq!(evil.s.messages.iter().filter(|m| m.msg_type == HandshakeType::ServerHello).count(), 1);
    evil.s.send_protected(ContentType::ApplicationData, b"still on");
    assert!(evil.s.events.contains(&dtls_engine::Event::ApplicationData(b"still on".to_vec())));
}

/// The client side of the same: a HelloRequest in epoch 1 gets a warning no_renegotiation.
#[test]
fn client_refuses_renegotiation_with_a_warning() {
    let mut evil = EvilServer::new(sim_pki().client_config(1));
    evil.push_server_hello();
    evil.push_rest_of_flight_4(None);
    evil.s.flush();
    evil.finish();
    assert!(evil.s.connected(), "{:?} {:?}", evil.s.error, evil.s.alerts);
    evil.s.push_with_seq(1, 0, &HandshakePayload::HelloRequest, false);
    evil.s.flush();
    assert_eq!(evil.s.error, None);
    assert!(has_warning(&evil.s.alerts, AlertDescription::NoRenegotiation), "{:?}", evil.s.alerts);
    evil.s.send_protected(ContentType::ApplicationData, b"still on");
    assert!(evil.s.events.contains(&dtls_engine::Event::ApplicationData(b"still on".to_vec())));
}

/// Lucky Thirteen on DTLS: CBC suites are a padding oracle. The client offers AEAD suites
/// only, and the server refuses a ClientHello that offers only CBC.
#[test]
fn only_aead_suites_are_offered_or_accepted() {
    let mut pair = Pair::lossless();
    let ch = pair.client.session_mut().poll_transmit().expect("ClientHello").contents;
    let (_, _, hello) = client_hello_of(&ch);
    for s in &hello.cipher_suites {
        let info = suites::lookup(*s);
        assert!(info.is_some(), "the client offers {s:?}, not one of our AEAD suites");
    }

    let mut evil = EvilClient::new(server_config_with(|b| b.cookie(false)));
    let mut cbc = evil_client_hello([1; 32], NamedGroup::X25519);
    cbc.cipher_suites = vec![CipherSuite::from(0xc009), CipherSuite::from(0xc00a), CipherSuite::from(0xc023)];
    evil.s.push(0, &HandshakePayload::ClientHello(cbc), false);
    evil.s.flush();
    assert_eq!(evil.s.error, Some(Error::PeerIncompatible(PeerIncompatible::NoCommonCipherSuite)));
    assert!(has_fatal(&evil.s.alerts, AlertDescription::HandshakeFailure));
}

// =====================================================================================
// 10. Retransmission

/// dimpl #160 (ClientHello never re-sent) and timer overflow: with every datagram lost,
/// the client re-sends its ClientHello at 1, 2, 4, ... s intervals, capped at 60 s
/// (RFC 6347 §4.2.4.1), each a fresh record of the same message.
#[test]
fn client_hello_retransmits_with_doubling_capped_at_60s() {
    let start = Instant::now();
    let mut client = Session::client(start, sim_pki().client_config(1), SERVER_ADDR);
    let mut sent_at = Vec::new();
    let mut record_seqs = Vec::new();
    let mut now = start;
    loop {
        while let Some(t) = client.poll_transmit() {
            sent_at.push((now - start).as_secs());
            let (rec, h, _) = client_hello_of(&t.contents);
            assert_eq!(h.message_seq, 0);
            record_seqs.push(rec.header.sequence);
        }
        let Some(next) = client.poll_timeout() else { break };
        if next - start > Duration::from_secs(400) {
            break;
        }
        now = next;
        client.handle_timeout(now).expect("timer");
    }
    let intervals: Vec<u64> = sent_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(intervals, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60], "sent at {sent_at:?}");
    assert!(record_seqs.windows(2).all(|w| w[1] > w[0]), "{record_seqs:?}");
}

/// The retransmit timer must be armed after every flight that expects an answer: with
/// flight 4 always lost and the client silenced after flight 3, the server re-sends
/// flight 4 on its own timer (1 s, then 2 s, then 4 s).
#[test]
fn server_retransmits_flight_4_on_its_own_timer() {
    let mut pair = Pair::lossless();
    let mut cookie_hello_seen = false;
    pair.set_filter(move |info, _| match info.from {
        Side::Server => info.flight != Flight::ServerHello,
        Side::Client => {
            let pass = !cookie_hello_seen;
            cookie_hello_seen |= info.flight == Flight::ClientHelloWithCookie;
            pass
        }
    });
    let _ = pair.drive_until(Duration::from_secs(8), |_| false);
    let bursts: Vec<u64> = pair
        .sent
        .iter()
        .filter(|(i, _)| i.from == Side::Server && i.flight == Flight::ServerHello)
        .map(|(i, _)| i.burst)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(bursts.len() >= 4, "flight 4 sent in {} bursts\n{}", bursts.len(), pair.trace());
    assert!(pair.server.session().poll_timeout().is_some());
}

/// webrtc-rs rtc: the last flight was never re-sent when the peer repeated its flight, so
/// a lost flight 6 left the client hanging. Flight 6 has no timer; the server must re-send
/// it when the client's retransmitted flight 5 arrives.
#[test]
fn last_flight_is_resent_when_peer_repeats() {
    let mut pair = Pair::lossless();
    let dropped = pair.drop_first_transmission(Flight::ServerFinished);
    pair.expect_handshake(DEADLINE);
    assert!(dropped.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert!(pair.server.retransmissions() >= 1, "{}", pair.trace());
    assert_eq!(pair.server.session().poll_timeout(), None, "flight 6 must not have a timer");
}

// =====================================================================================
// 11. Amplification

/// Before the cookie verifies the server sends exactly one HelloVerifyRequest datagram, no
/// larger than the ClientHello that caused it: for the real client's ClientHello, for a
/// minimal one, and for one carrying a wrong cookie.
#[test]
fn server_answers_unverified_hellos_with_one_small_hello_verify_request() {
    let pki = sim_pki();
    let now = Instant::now();
    let mut client = Session::client(now, pki.client_config(1), SERVER_ADDR);
    let real = client.poll_transmit().expect("ClientHello").contents;
    let minimal = ClientHello {
        client_version: dtls_engine::internals::wire::DTLS_1_2,
        random: [5; 32],
        session_id: Vec::new(),
        cookie: Vec::new(),
        cipher_suites: vec![CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256],
        compression_methods: vec![0],
        extensions: Vec::new(),
    };
    let mut wrong_cookie = client_hello_of(&real).2;
    wrong_cookie.cookie = vec![0xaa; 32];
    let hellos = [
        real,
        datagram(&[plaintext_handshake(0, 0, &HandshakePayload::ClientHello(minimal))]),
        datagram(&[plaintext_handshake(0, 0, &HandshakePayload::ClientHello(wrong_cookie))]),
    ];
    for hello in hellos {
        let mut server = Session::server(now, pki.server_config(2), CLIENT_ADDR);
        server.handle(now, &hello).expect("ClientHello");
        let out: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).map(|t| t.contents).collect();
        assert_eq!(out.len(), 1, "the server sent {} datagrams before the cookie verified", out.len());
        assert_eq!(handshake_types(&out[0]), [HandshakeType::HelloVerifyRequest]);
        assert!(out[0].len() <= hello.len(), "HVR of {} bytes for a {}-byte ClientHello", out[0].len(), hello.len());
        // RFC 6347 §4.2.1: a DTLS 1.2 server SHOULD put DTLS 1.0 in HelloVerifyRequest
        // (BoGo rejects anything else), as the endpoint's stateless answer does.
        let hvr = records(&out[0]).into_iter().flat_map(|r| r.fragments()).next().expect("HVR fragment");
        match HandshakePayload::read(hvr.0.msg_type, &hvr.1) {
            Ok(HandshakePayload::HelloVerifyRequest(v)) => assert_eq!(v.server_version, DTLS_1_0),
            other => panic!("not a HelloVerifyRequest: {other:?}"),
        }
    }
}

// =====================================================================================
// 12. Weak peer keys

/// Invalid curve points must become an illegal_parameter alert, never a panic or a
/// completed handshake. Server side: a ClientKeyExchange with the all-zero X25519 point
/// (a low-order point: RFC 7748 §6.1 all-zero output) and a P-256 point off the curve.
/// RSA keys under 2048 bits: `src/crypto/verify_tests.rs::signature_errors`.
#[test]
fn invalid_client_key_exchange_point_is_illegal_parameter() {
    for (group, point) in [
        (NamedGroup::X25519, vec![0u8; 32]),
        (NamedGroup::Secp256r1, [vec![4u8], vec![1u8; 64]].concat()),
        (NamedGroup::Secp256r1, vec![4u8]),
    ] {
        let mut evil = EvilClient::new(sim_pki().server_config(2)).with_group(group);
        evil.run_to_flight_4();
        evil.send_flight_5(ClientFlight5 { cke_public: Some(point), ..Default::default() });
        assert!(!evil.s.peer.is_connected());
        assert_eq!(evil.s.error, Some(Error::PeerMisbehaved(PeerMisbehaved::BadKeyShare)), "{group:?}");
        assert!(has_fatal(&evil.s.alerts, AlertDescription::IllegalParameter), "{group:?} {:?}", evil.s.alerts);
    }
}

/// Client side: a correctly signed ServerKeyExchange carrying the all-zero X25519 point.
#[test]
fn invalid_server_key_exchange_point_is_illegal_parameter() {
    let mut evil = EvilServer::new(sim_pki().client_config(1));
    evil.push_server_hello();
    evil.push_rest_of_flight_4(Some(vec![0; 32]));
    evil.s.flush();
    assert!(!evil.s.peer.is_connected());
    assert_eq!(evil.s.error, Some(Error::PeerMisbehaved(PeerMisbehaved::BadKeyShare)));
    assert!(has_fatal(&evil.s.alerts, AlertDescription::IllegalParameter), "{:?}", evil.s.alerts);
    assert!(plaintext_alerts(evil.s.received.last().expect("alert")).len() == 1);
}
