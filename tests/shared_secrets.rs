//! Secrets shared by several servers, for load balancers that may send one client to
//! different machines: with `ServerConfigBuilder::cookie_secret`, a cookie one endpoint issued
//! (DTLS 1.2 HelloVerifyRequest, DTLS 1.3 HelloRetryRequest) opens at another endpoint with
//! the same secret, and not at one without it. (Shared ticket keys: `tests/resumption.rs`
//! `a_shared_ticket_secret_resumes_on_another_server`.)

use std::net::SocketAddr;
use std::time::Instant;

use dtls_engine::{
    ClientConfig, Endpoint, EndpointConfig, EndpointEvent, NamedGroup, ProtocolVersion, ServerConfig, Session,
};

fn identity() -> (String, String) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
    (c.cert.pem(), c.signing_key.serialize_pem())
}

/// The client's first flight goes to endpoint `a`, everything after to `b` (as if the
/// balancer moved it between the hellos). Returns whether the handshake completed at `b`,
/// the stateless answers `b` had to send (another cookie round, when `a`'s cookie does not
/// open at `b`), and the DTLS 1.3 cookies `b` refused.
fn hello_at_a_rest_at_b(version: ProtocolVersion, shared: bool) -> (bool, u64, u64) {
    let (cert, key) = identity();
    let now = Instant::now();
    let server = |seed: u8| {
        let mut b =
            ServerConfig::builder().certificate_pem(cert.as_bytes(), key.as_bytes()).unwrap().rng_seed([seed; 32]);
        if shared {
            b = b.cookie_secret([0x42; 32]);
        }
        b.build().unwrap()
    };
    let endpoint = |seed: u8| {
        Endpoint::new(
            now,
            EndpointConfig { server: Some(server(seed)), rng_seed: Some([seed; 32]), ..Default::default() },
        )
    };
    let (mut a, mut b) = (endpoint(1), endpoint(2));
    let ccfg = ClientConfig::builder()
        .root_certificates_pem(cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .max_version(version)
        .groups(&[NamedGroup::X25519])
        .build()
        .unwrap();
    let server_addr: SocketAddr = "192.0.2.2:4433".parse().unwrap();
    let client_addr: SocketAddr = "192.0.2.1:5000".parse().unwrap();
    let mut client = Session::client(now, ccfg, server_addr);
    let first = client.poll_transmit().unwrap().contents;
    a.handle(now, client_addr, &first);
    let retry = a.poll_transmit().expect("a's stateless answer").contents;
    assert_eq!(a.session_count(), 0);
    client.handle(now, &retry).unwrap();
    for _ in 0..10 {
        while let Some(t) = client.poll_transmit() {
            b.handle(now, client_addr, &t.contents);
        }
        while let Some(t) = b.poll_transmit() {
            client.handle(now, &t.contents).unwrap();
        }
    }
    let connected_at_b =
        std::iter::from_fn(|| b.poll_event()).any(|(_, e)| e == EndpointEvent::Session(dtls_engine::Event::Connected));
    let stats = b.stats();
    (
        client.is_connected() && connected_at_b,
        stats.hello_verify_requests_sent + stats.hello_retry_requests_sent,
        stats.retry_cookie_rejections,
    )
}

#[test]
fn a_shared_cookie_secret_lets_another_server_finish_the_handshake() {
    for version in [ProtocolVersion::Dtls12, ProtocolVersion::Dtls13] {
        assert_eq!(hello_at_a_rest_at_b(version, true), (true, 0, 0), "{version:?}: a's cookie opens at b");
    }
    // Without it: b answers the DTLS 1.2 hello with a HelloVerifyRequest of its own (the
    // client follows it), and refuses the DTLS 1.3 hello's cookie (the client may not start
    // over after a HelloRetryRequest, RFC 8446 §4.1.4, so that handshake does not finish).
    assert_eq!(hello_at_a_rest_at_b(ProtocolVersion::Dtls12, false), (true, 1, 0));
    let (connected, _, refused) = hello_at_a_rest_at_b(ProtocolVersion::Dtls13, false);
    assert!(!connected && refused >= 1);
}
