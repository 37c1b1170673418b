//! DTLS 1.3 between our own client and server sessions, sans-IO, with a virtual clock:
//! version negotiation, every group and suite, HelloRetryRequest, mutual authentication,
//! ALPN/SRTP/exporter, KeyUpdate both ways, ACK-driven retransmission and the downgrade
//! sentinel. Interop with other stacks is in `wolfssl_interop.rs` and `dimpl_interop.rs`.

mod sim;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dtls_engine::{
    ClientConfig, ClientConfigBuilder, Event, NamedGroup, ProtocolVersion, ServerConfig, ServerConfigBuilder, Session,
};

struct Identity {
    cert: String,
    key: String,
}

fn identity(name: &str) -> Identity {
    let c = rcgen::generate_simple_self_signed(vec![name.to_string()]).expect("rcgen");
    Identity { cert: c.cert.pem(), key: c.signing_key.serialize_pem() }
}

fn server_builder(id: &Identity) -> ServerConfigBuilder {
    ServerConfig::builder()
        .certificate_pem(id.cert.as_bytes(), id.key.as_bytes())
        .expect("server cert")
        .rng_seed([2; 32])
        .max_version(ProtocolVersion::Dtls13)
}

fn client_builder(id: &Identity) -> ClientConfigBuilder {
    ClientConfig::builder()
        .root_certificates_pem(id.cert.as_bytes())
        .expect("root")
        .server_name("localhost")
        .rng_seed([1; 32])
        .max_version(ProtocolVersion::Dtls13)
}

const CLIENT: &str = "192.0.2.1:5000";
const SERVER: &str = "192.0.2.2:4433";

/// Two sessions and the datagrams between them; `drop` picks datagrams to lose by index.
struct Pair {
    client: Session,
    server: Session,
    now: Instant,
    sent: usize,
    drop: Box<dyn FnMut(usize, bool) -> bool>,
    client_events: Vec<Event>,
    server_events: Vec<Event>,
}

impl Pair {
    fn new(client: ClientConfigBuilder, server: ServerConfigBuilder) -> Self {
        let now = Instant::now();
        let c: SocketAddr = CLIENT.parse().unwrap();
        let s: SocketAddr = SERVER.parse().unwrap();
        Self {
            client: Session::client(now, client.build().expect("client config"), s),
            server: Session::server(now, server.build().expect("server config"), c),
            now,
            sent: 0,
            drop: Box::new(|_, _| false),
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Exchange datagrams until both sides are quiet, advancing the clock to the next
    /// timeout when nothing is in flight, for at most `rounds` rounds.
    fn run(&mut self, rounds: usize) {
        for _ in 0..rounds {
            let mut moved = false;
            while let Some(t) = self.client.poll_transmit() {
                let i = self.sent;
                self.sent += 1;
                if !(self.drop)(i, true) {
                    let _ = self.server.handle(self.now, &t.contents);
                }
                moved = true;
            }
            while let Some(t) = self.server.poll_transmit() {
                let i = self.sent;
                self.sent += 1;
                if !(self.drop)(i, false) {
                    let _ = self.client.handle(self.now, &t.contents);
                }
                moved = true;
            }
            while let Some(e) = self.client.poll_event() {
                self.client_events.push(e);
            }
            while let Some(e) = self.server.poll_event() {
                self.server_events.push(e);
            }
            if moved {
                continue;
            }
            let next = [self.client.poll_timeout(), self.server.poll_timeout()].into_iter().flatten().min();
            let Some(next) = next else { return };
            if next > self.now + Duration::from_secs(120) {
                return;
            }
            self.now = self.now.max(next);
            let _ = self.client.handle_timeout(self.now);
            let _ = self.server.handle_timeout(self.now);
        }
    }

    fn connected(&self) -> bool {
        self.client.is_connected() && self.server.is_connected()
    }

    fn data(events: &[Event]) -> Vec<Vec<u8>> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::ApplicationData(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }
}

fn handshake(client: ClientConfigBuilder, server: ServerConfigBuilder) -> Pair {
    let mut p = Pair::new(client, server);
    p.run(200);
    assert!(p.connected(), "client {:?} server {:?}", p.client, p.server);
    p
}

#[test]
fn default_groups_negotiate_dtls13_with_the_hybrid() {
    let id = identity("localhost");
    let mut p = handshake(client_builder(&id), server_builder(&id));
    assert_eq!(p.client.protocol(), "DTLSv1.3");
    assert_eq!(p.server.protocol(), "DTLSv1.3");
    assert_eq!(p.client.negotiated_group(), Some(NamedGroup::X25519MLKEM768));
    assert_eq!(p.server.negotiated_group(), Some(NamedGroup::X25519MLKEM768));
    assert_eq!(p.client.cipher().unwrap().standard_name, "TLS_AES_128_GCM_SHA256");
    p.client.send(b"ping").unwrap();
    p.run(10);
    assert_eq!(Pair::data(&p.server_events), vec![b"ping".to_vec()]);
    p.server.send(b"pong").unwrap();
    p.run(10);
    assert_eq!(Pair::data(&p.client_events), vec![b"pong".to_vec()]);
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    p.client.export_keying_material(&mut a, b"EXPERIMENTAL test", Some(b"ctx")).unwrap();
    p.server.export_keying_material(&mut b, b"EXPERIMENTAL test", Some(b"ctx")).unwrap();
    assert_eq!(a, b);
}

#[test]
fn every_suite_and_classical_group() {
    let id = identity("localhost");
    for suite in ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] {
        for group in ["X25519", "P-256", "P-384", "X25519MLKEM768"] {
            let c = client_builder(&id).cipher_suites_by_name(&[suite]).groups_by_name(&[group]);
            let mut p = handshake(c, server_builder(&id));
            assert_eq!(p.client.cipher().unwrap().standard_name, suite);
            assert_eq!(
                p.server.negotiated_group().map(|g| format!("{g:?}")),
                Some(match group {
                    "P-256" => "Secp256r1".to_string(),
                    "P-384" => "Secp384r1".to_string(),
                    g => g.to_string(),
                })
            );
            p.client.send(b"x").unwrap();
            p.run(10);
            assert_eq!(Pair::data(&p.server_events), vec![b"x".to_vec()], "{suite} {group}");
        }
    }
}

#[test]
fn hello_retry_request_for_a_group_without_a_share() {
    let id = identity("localhost");
    // The client's first share is X25519; the server accepts only the hybrid.
    let c = client_builder(&id).groups(&[NamedGroup::X25519, NamedGroup::X25519MLKEM768]);
    let s = server_builder(&id).groups(&[NamedGroup::X25519MLKEM768]).cookie(false);
    let p = handshake(c, s);
    assert_eq!(p.client.negotiated_group(), Some(NamedGroup::X25519MLKEM768));
}

#[test]
fn mutual_authentication_alpn_and_srtp() {
    use dtls_engine::{ClientAuth, SrtpProtectionProfile as P};
    let server_id = identity("localhost");
    let client_id = identity("client");
    let c = client_builder(&server_id)
        .client_certificate_pem(client_id.cert.as_bytes(), client_id.key.as_bytes())
        .expect("client cert")
        .alpn_protocols(&[&b"h3"[..], &b"webrtc"[..]])
        .srtp_profiles(&[P::SRTP_AEAD_AES_128_GCM, P::SRTP_AES128_CM_SHA1_80]);
    let s = server_builder(&server_id)
        .client_auth(ClientAuth::Required(Arc::new(dtls_engine::AcceptAnyClientCert)))
        .alpn_protocols(&[b"webrtc"])
        .srtp_profiles(&[P::SRTP_AES128_CM_SHA1_80]);
    let p = handshake(c, s);
    assert_eq!(p.server.peer_certificates().map(|c| c.len()), Some(1));
    assert_eq!(p.client.alpn_protocol(), Some(&b"webrtc"[..]));
    assert_eq!(p.server.alpn_protocol(), Some(&b"webrtc"[..]));
    assert_eq!(p.client.srtp_profile(), Some(P::SRTP_AES128_CM_SHA1_80));
    let (a, b) = (p.client.srtp_keying_material().unwrap(), p.server.srtp_keying_material().unwrap());
    assert_eq!(a.to_bytes(), b.to_bytes());
}

#[test]
fn required_client_certificate_missing_fails_the_handshake() {
    use dtls_engine::ClientAuth;
    let id = identity("localhost");
    let s = server_builder(&id).client_auth(ClientAuth::Required(Arc::new(dtls_engine::AcceptAnyClientCert)));
    let mut p = Pair::new(client_builder(&id), s);
    p.run(200);
    assert!(!p.server.is_connected());
    assert!(p.server.is_closed());
}

#[test]
fn key_updates_both_ways_and_before_the_record_limit() {
    let id = identity("localhost");
    let c = client_builder(&id).key_update_after_records(5);
    let mut p = handshake(c, server_builder(&id));
    for i in 0..20u8 {
        p.client.send(&[i]).unwrap();
        p.run(20);
    }
    let got = Pair::data(&p.server_events);
    assert_eq!(got, (0..20u8).map(|i| vec![i]).collect::<Vec<_>>());
    let (sent, _) = p.client.key_updates();
    assert!(sent >= 3, "client updated its key {sent} times");
    assert_eq!(p.server.key_updates().1, sent);
    // Asked for by the application, with the peer asked to update too.
    let now = p.now;
    p.server.update_keys(now, true).unwrap();
    p.run(20);
    assert_eq!(p.server.key_updates().0, 1);
    assert_eq!(p.client.key_updates().1, 1);
    assert_eq!(p.server.key_updates().1, sent + 1, "the client answered update_requested");
    p.server.send(b"after").unwrap();
    p.client.send(b"both").unwrap();
    p.run(20);
    assert!(Pair::data(&p.client_events).contains(&b"after".to_vec()));
    assert!(Pair::data(&p.server_events).contains(&b"both".to_vec()));
}

#[test]
fn a_dtls12_only_server_gets_dtls12_and_a_dtls13_only_client_refuses_it() {
    let id = identity("localhost");
    let s = server_builder(&id).max_version(ProtocolVersion::Dtls12);
    let p = handshake(client_builder(&id), s);
    assert_eq!(p.client.protocol(), "DTLSv1.2");
    let c = client_builder(&id).min_version(ProtocolVersion::Dtls13);
    let mut p = Pair::new(c, server_builder(&id).max_version(ProtocolVersion::Dtls12));
    p.run(200);
    assert!(!p.client.is_connected());
    // And the other way: a 1.2-only client against a 1.3-only server.
    let c = client_builder(&id).max_version(ProtocolVersion::Dtls12);
    let mut p = Pair::new(c, server_builder(&id).min_version(ProtocolVersion::Dtls13));
    p.run(200);
    assert!(!p.client.is_connected());
}

/// RFC 8446 §4.1.3: a 1.3-capable server that agrees on 1.2 marks its random; a 1.3-capable
/// client refuses such a ServerHello, whatever else it holds.
#[test]
fn downgrade_sentinel_is_set_and_checked() {
    const SENTINEL: [u8; 8] = *b"DOWNGRD\x01";
    let id = identity("localhost");
    // A 1.2-only client against a 1.3-capable server: the ServerHello carries the sentinel.
    let c = client_builder(&id).max_version(ProtocolVersion::Dtls12);
    let now = Instant::now();
    let mut client = Session::client(now, c.build().unwrap(), SERVER.parse().unwrap());
    let mut server = Session::server(now, server_builder(&id).cookie(false).build().unwrap(), CLIENT.parse().unwrap());
    let hello = client.poll_transmit().unwrap();
    server.handle(now, &hello.contents).unwrap();
    let flight = server.poll_transmit().unwrap().contents;
    // Record header 13, handshake header 12, server_version 2, then the random.
    let random = &flight[13 + 12 + 2..13 + 12 + 2 + 32];
    assert_eq!(random[24..], SENTINEL);
    // A 1.3-capable client given that ServerHello fails with illegal_parameter.
    let mut client13 = Session::client(now, client_builder(&id).build().unwrap(), SERVER.parse().unwrap());
    while client13.poll_transmit().is_some() {}
    assert!(client13.handle(now, &flight).is_err());
    let alert = client13.poll_transmit().expect("alert").contents;
    assert_eq!(&alert[13..], &[2, 47], "fatal illegal_parameter");
    // Without 1.3 on the server, no sentinel.
    let mut server12 = Session::server(
        now,
        server_builder(&id).cookie(false).max_version(ProtocolVersion::Dtls12).build().unwrap(),
        CLIENT.parse().unwrap(),
    );
    server12.handle(now, &hello.contents).unwrap();
    let flight = server12.poll_transmit().unwrap().contents;
    assert_ne!(flight[13 + 12 + 2 + 24..13 + 12 + 2 + 32], SENTINEL);
}

/// Any two datagrams of the handshake lost (RFC 9147 §5.8: timers and ACKs recover), with
/// the post-quantum group, the cookie retry and a fragmented ClientHello.
#[test]
fn drop_any_two_datagrams_with_the_hybrid_group() {
    let id = identity("localhost");
    let mut count = Pair::new(client_builder(&id), server_builder(&id));
    count.run(200);
    assert!(count.connected());
    let n = count.sent;
    assert!(n >= 6, "{n} datagrams");
    for a in 0..n {
        for b in a + 1..n {
            let mut p = Pair::new(client_builder(&id), server_builder(&id));
            p.drop = Box::new(move |i, _| i == a || i == b);
            p.run(400);
            assert!(p.connected(), "dropping datagrams {a} and {b} of {n}");
            p.client.send(b"x").unwrap();
            p.run(50);
            assert_eq!(Pair::data(&p.server_events), vec![b"x".to_vec()], "dropping {a} and {b}");
        }
    }
}

/// Seeded random loss of 30% and 50% in both directions. As `loss_sweep.rs` explains for
/// DTLS 1.2, the RFC timer (1 s doubling to 60 s) cannot finish every lossy handshake within
/// the default 60 s, so the deadline is longer; a stalled handshake fails under any deadline.
#[test]
fn loss_sweep_30_and_50_percent() {
    let id = identity("localhost");
    let long = Duration::from_secs(1300);
    for (rate, seeds) in [(30u64, 100u64), (50, 100)] {
        let mut done = 0;
        for seed in 0..seeds {
            let c = client_builder(&id).handshake_timeout(long);
            let mut p = Pair::new(c, server_builder(&id).handshake_timeout(long));
            let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            p.drop = Box::new(move |_, _| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % 100 < rate
            });
            p.run(5000);
            if p.connected() {
                done += 1;
            }
        }
        let need = if rate == 30 { seeds } else { seeds * 99 / 100 };
        assert!(done >= need, "{rate}% loss: {done} of {seeds} handshakes completed");
    }
}

/// RFC 9147 §5.8.3: the client may send application data right after its Finished. When
/// that Finished is lost, the server keeps the (authenticated) data and delivers it once
/// the retransmitted Finished verifies, after `Connected`.
#[test]
fn application_data_before_a_lost_client_finished_is_delivered_after_it() {
    let id = identity("localhost");
    let mut p = Pair::new(client_builder(&id), server_builder(&id).cookie(false));
    // Run until the client is connected, dropping its Finished flight.
    let mut drop_from_client = false;
    for _ in 0..20 {
        while let Some(t) = p.server.poll_transmit() {
            let _ = p.client.handle(p.now, &t.contents);
        }
        if p.client.is_connected() && !drop_from_client {
            drop_from_client = true;
            while p.client.poll_transmit().is_some() {}
            p.client.send(b"early").unwrap();
        }
        while let Some(t) = p.client.poll_transmit() {
            let _ = p.server.handle(p.now, &t.contents);
        }
        if drop_from_client {
            break;
        }
    }
    assert!(p.client.is_connected() && !p.server.is_connected());
    p.run(100);
    assert!(p.server.is_connected());
    while let Some(e) = p.server.poll_event() {
        p.server_events.push(e);
    }
    let connected_at = p.server_events.iter().position(|e| *e == Event::Connected).expect("connected");
    assert_eq!(Pair::data(&p.server_events[connected_at..]), vec![b"early".to_vec()]);
}

/// CertificateVerify with each key type DTLS 1.3 allows here (RFC 8446 §4.2.3): ECDSA P-256
/// (the tests above), RSA-PSS from an RSA key (never PKCS#1 in 1.3), Ed25519; both ways.
#[test]
fn rsa_pss_and_ed25519_certificates_both_ways() {
    use dtls_engine::{AcceptAnyClientCert, ClientAuth, SignatureScheme};
    let pki = sim::sim_pki();
    let ed = {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("ed25519 key");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        let cert = params.self_signed(&key).expect("ed25519 cert");
        Identity { cert: cert.pem(), key: key.serialize_pem() }
    };
    let rsa = Identity { cert: pki.rsa_cert_pem.clone(), key: pki.rsa_key_pem.clone() };
    for (server_id, client_id, server_scheme, client_scheme) in [
        (&rsa, &ed, SignatureScheme::RSA_PSS_RSAE_SHA256, SignatureScheme::ED25519),
        (&ed, &rsa, SignatureScheme::ED25519, SignatureScheme::RSA_PSS_RSAE_SHA256),
    ] {
        let c = ClientConfig::builder()
            .dangerous_accept_any_server_certificate()
            .server_name("localhost")
            .client_certificate_pem(client_id.cert.as_bytes(), client_id.key.as_bytes())
            .expect("client cert")
            .rng_seed([1; 32]);
        let s = ServerConfig::builder()
            .certificate_pem(server_id.cert.as_bytes(), server_id.key.as_bytes())
            .expect("server cert")
            .client_auth(ClientAuth::Required(Arc::new(AcceptAnyClientCert)))
            .rng_seed([2; 32]);
        let p = handshake(c, s);
        assert_eq!(p.client.protocol(), "DTLSv1.3");
        // Each side's CertificateVerify used a scheme 1.3 allows for its key.
        assert_eq!(p.client.peer_signature_scheme(), Some(server_scheme));
        assert_eq!(p.server.peer_signature_scheme(), Some(client_scheme));
    }
}

/// SNI in DTLS 1.3: the server picks the certificate for the name the client asked for, and
/// both sides report the name.
#[test]
fn sni_picks_the_certificate_in_dtls13() {
    let default = identity("localhost");
    let other = identity("other.test");
    let c = ClientConfig::builder()
        .root_certificates_pem(other.cert.as_bytes())
        .expect("root")
        .server_name("other.test")
        .rng_seed([1; 32]);
    let s = server_builder(&default)
        .sni_certificate_pem("other.test", other.cert.as_bytes(), other.key.as_bytes())
        .expect("sni cert");
    let p = handshake(c, s);
    assert_eq!(p.client.protocol(), "DTLSv1.3");
    assert_eq!(p.server.server_name(), Some("other.test"));
    assert_eq!(p.client.server_name(), Some("other.test"));
}

/// The key log lines of DTLS 1.3 (the NSS labels for the handshake and first application
/// secrets and the exporter secret): both sides log the same five lines, and the client's
/// application secret really is the one its records are protected with — its traffic keys,
/// derived from the logged line alone, open the client's next record.
#[test]
fn key_log_lines_are_the_secrets_in_use() {
    use dtls_engine::internals::crypto::tls13::{Hash, LabelPrefix, Secret, traffic_keys};
    use dtls_engine::internals::record::dtls13::Protection13;
    use dtls_engine::internals::wire::{ContentType, Epoch};
    /// A logged line: label, client random, secret.
    type Line = (String, Vec<u8>, Vec<u8>);
    #[derive(Default)]
    struct Lines(std::sync::Mutex<Vec<Line>>);
    impl dtls_engine::KeyLog for Lines {
        fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
            self.0.lock().unwrap().push((label.to_string(), client_random.to_vec(), secret.to_vec()));
        }
    }
    let id = identity("localhost");
    let (client_log, server_log) = (Arc::new(Lines::default()), Arc::new(Lines::default()));
    let c = client_builder(&id).key_log(client_log.clone());
    let s = server_builder(&id).key_log(server_log.clone());
    let mut p = handshake(c, s);
    let (ours, theirs) = (client_log.0.lock().unwrap().clone(), server_log.0.lock().unwrap().clone());
    let labels: Vec<&str> = ours.iter().map(|(l, _, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "SERVER_TRAFFIC_SECRET_0",
            "EXPORTER_SECRET"
        ]
    );
    assert_eq!(ours, theirs);
    let (_, _, secret) = &ours[2];
    let secret = Secret::from_bytes(Hash::Sha256, secret).expect("SHA-256 secret");
    let keys = traffic_keys(LabelPrefix::Dtls13, &secret, 16).expect("keys");
    let protection = Protection13::new(Epoch(3), dtls_engine::internals::crypto::aead::AeadAlgorithm::Aes128Gcm, &keys)
        .expect("protection");
    p.client.send(b"logged").unwrap();
    let mut record = p.client.poll_transmit().expect("record").contents;
    let opened = protection.open(&mut record, 5, 1, 2, 0).expect("the logged secret opens the record");
    assert_eq!(opened.content_type, ContentType::ApplicationData);
    assert_eq!(&record[opened.content], b"logged");
}

/// After a hundred KeyUpdates, each acknowledged, the ACKs stay small: an ACK names the
/// records received since the previous one, not every record of the session.
#[test]
fn acks_stay_small_over_many_key_updates() {
    let id = identity("localhost");
    let c = client_builder(&id).key_update_after_records(1);
    let mut p = handshake(c, server_builder(&id));
    let mut largest_from_server = 0;
    for i in 0..100u8 {
        p.client.send(&[i]).unwrap();
        for _ in 0..10 {
            while let Some(t) = p.client.poll_transmit() {
                let _ = p.server.handle(p.now, &t.contents);
            }
            while let Some(t) = p.server.poll_transmit() {
                largest_from_server = largest_from_server.max(t.contents.len());
                let _ = p.client.handle(p.now, &t.contents);
            }
        }
    }
    let (sent, _) = p.client.key_updates();
    assert!(sent >= 40, "{sent} key updates");
    assert!(largest_from_server <= 64, "an ACK of {largest_from_server} bytes");
}

/// RFC 9147 §7.1/§7.2: a lost datagram in the middle of the server's flight. The client
/// acknowledges what arrived as soon as it sees the gap, and the server re-sends only the
/// gap at once: the handshake completes without either side's retransmission timer (the
/// clock never moves), and the server re-sends less than its flight.
#[test]
fn a_partial_flight_is_acknowledged_and_only_its_gap_resent() {
    let id = identity("localhost");
    let client = client_builder(&id).groups(&[NamedGroup::X25519]).mtu(300);
    let server = server_builder(&id).cookie(false).mtu(300);
    let mut p = Pair::new(client, server);
    while let Some(t) = p.client.poll_transmit() {
        p.server.handle(p.now, &t.contents).unwrap();
    }
    let flight: Vec<Vec<u8>> = std::iter::from_fn(|| p.server.poll_transmit().map(|t| t.contents)).collect();
    assert!(flight.len() >= 3, "the flight spans {} datagrams at MTU 300", flight.len());
    let flight_bytes: usize = flight.iter().map(Vec::len).sum();
    // Lose the second datagram (epoch-2 records, not the last of the flight).
    for (i, d) in flight.iter().enumerate() {
        if i != 1 {
            p.client.handle(p.now, d).unwrap();
        }
    }
    assert!(!p.client.is_connected());
    let acks: Vec<Vec<u8>> = std::iter::from_fn(|| p.client.poll_transmit().map(|t| t.contents)).collect();
    assert_eq!(acks.len(), 1, "one ACK for the partial flight");
    p.server.handle(p.now, &acks[0]).unwrap();
    let resent: Vec<Vec<u8>> = std::iter::from_fn(|| p.server.poll_transmit().map(|t| t.contents)).collect();
    let resent_bytes: usize = resent.iter().map(Vec::len).sum();
    assert!(!resent.is_empty(), "the gap is re-sent at once");
    assert!(resent_bytes < flight_bytes - flight[0].len(), "{resent_bytes} bytes re-sent of {flight_bytes}");
    assert_eq!(p.server.stats().handshake_retransmissions, 1);
    for d in &resent {
        p.client.handle(p.now, d).unwrap();
    }
    assert!(p.client.is_connected(), "the client has the whole flight");
    while let Some(t) = p.client.poll_transmit() {
        p.server.handle(p.now, &t.contents).unwrap();
    }
    assert!(p.server.is_connected());
    assert_eq!(p.client.stats().handshake_retransmissions, 0);
}
