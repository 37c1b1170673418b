use std::net::SocketAddr;
use std::time::Instant;

use dtls_engine::{ClientConfig, Event, ServerConfig, Session};

#[test]
fn in_memory_handshake() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = cert.cert.pem();
    let key_pem = cert.signing_key.serialize_pem();
    let scfg = ServerConfig::builder()
        .certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .unwrap()
        .rng_seed([1; 32])
        .build()
        .unwrap();
    let ccfg = ClientConfig::builder()
        .root_certificates_pem(cert_pem.as_bytes())
        .unwrap()
        .server_name("localhost")
        .rng_seed([2; 32])
        .build()
        .unwrap();
    let ca: SocketAddr = "127.0.0.1:1000".parse().unwrap();
    let sa: SocketAddr = "127.0.0.1:2000".parse().unwrap();
    let now = Instant::now();
    let mut c = Session::client(ccfg, sa, now);
    let mut s = Session::server(scfg, ca, now);
    for _ in 0..10 {
        while let Some(t) = c.poll_transmit() {
            eprintln!("c->s {} bytes", t.contents.len());
            s.handle(now, &t.contents).unwrap();
        }
        while let Some(t) = s.poll_transmit() {
            eprintln!("s->c {} bytes", t.contents.len());
            c.handle(now, &t.contents).unwrap();
        }
    }
    assert!(c.is_connected() && s.is_connected());
    c.send(b"hi").unwrap();
    while let Some(t) = c.poll_transmit() {
        s.handle(now, &t.contents).unwrap();
    }
    let evs: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(evs, vec![Event::Connected, Event::ApplicationData(b"hi".to_vec())]);
}
