//! Smoke test of the blocking std adapter on 127.0.0.1: handshake, echo, graceful close.

use std::sync::Arc;
use std::time::Duration;

use dtls_engine::adapter::EndpointOptions;
use dtls_engine::adapter::std::{Endpoint, connect, listen};
use dtls_engine::{ClientConfig, EndpointState, ServerConfig};

#[test]
fn std_adapter_echo_and_close() {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (c.cert.pem(), c.signing_key.serialize_pem());
    let server_cfg = ServerConfig::builder().certificate_pem(cert.as_bytes(), key.as_bytes()).unwrap().build().unwrap();
    let client_cfg = ClientConfig::builder()
        .root_certificates_pem(cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .build()
        .unwrap();

    let server = Arc::new(listen("127.0.0.1:0", server_cfg, EndpointOptions::default()).unwrap());
    let acceptor = server.clone();
    let echo = std::thread::spawn(move || {
        let mut served = 0;
        while let Some(s) = acceptor.accept() {
            served += 1;
            while let Some(d) = s.recv() {
                s.send(&d).unwrap();
            }
        }
        served
    });

    // Two sessions: one on its own socket via `connect`, one on a shared client endpoint.
    let a = connect(server.local_addr(), client_cfg.clone()).unwrap();
    assert_eq!((a.protocol(), a.cipher().is_some()), ("DTLSv1.2", true));
    assert!(a.peer_certificate().is_some());
    assert!(a.peer_certificate_pem().is_some());
    assert_eq!((a.alpn_protocol(), a.srtp_profile()), (None, None));
    assert!(a.srtp_keying_material().is_none());
    let mut km = [0u8; 16];
    a.export_keying_material(&mut km, b"EXPERIMENTAL-test", None).unwrap();
    assert_ne!(km, [0u8; 16]);
    a.send(b"one").unwrap();
    assert_eq!(a.recv_timeout(Duration::from_secs(5)).unwrap(), Some(b"one".to_vec()));
    a.close();
    assert_eq!(a.closed(), None);
    assert!(a.final_stats().is_some_and(|s| s.app_messages_received == 1));
    drop(a);

    let client = Endpoint::bind("127.0.0.1:0", EndpointOptions::default()).unwrap();
    let b = client.connect(server.local_addr(), client_cfg).unwrap();
    b.send(b"two").unwrap();
    assert_eq!(b.recv_timeout(Duration::from_secs(5)).unwrap(), Some(b"two".to_vec()));

    // Closing the server sends close_notify to b.
    server.close();
    assert_eq!(b.closed(), None);
    server.closed();
    assert_eq!(server.state(), EndpointState::Closed);
    assert_eq!(server.stats().server_sessions, 2);
    assert_eq!(echo.join().unwrap(), 2);
    client.close();
    client.closed();
}
