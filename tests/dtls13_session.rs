//! DTLS 1.3 between our own client and server sessions, sans-IO, with a virtual clock:
//! version negotiation, every group and suite, HelloRetryRequest, mutual authentication,
//! ALPN/SRTP/exporter, KeyUpdate both ways, ACK-driven retransmission and the downgrade
//! sentinel. Interop with other stacks is in `wolfssl_interop.rs` and `dimpl_interop.rs`.

use std::net::SocketAddr;
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
