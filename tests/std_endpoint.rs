//! The blocking std adapter on 127.0.0.1: handshake, echo and graceful close; failed server
//! handshakes through `handshake_failure`; live session statistics; busy; driver shutdown;
//! the approved-only hello policy; refused and timed-out connects.
//!
//! Nothing here waits on a clock to decide an outcome: every wait is for an event, bounded
//! by a generous deadline (`LONG`) only so that a bug fails the test instead of hanging it.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dtls_engine::adapter::std_udp::{UdpEndpoint, UdpSession, connect, connect_timeout, listen};
use dtls_engine::adapter::{AdapterError, EndpointOptions};
use dtls_engine::{AlertDescription, ClientConfig, EndpointState, Error, HelloPolicy, PeerIncompatible, ServerConfig};

/// Deadline for anything that should happen promptly; only reached when something is broken.
const LONG: Duration = Duration::from_secs(60);

struct Identity {
    cert: String,
    key: String,
}

fn identity() -> Identity {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    Identity { cert: c.cert.pem(), key: c.signing_key.serialize_pem() }
}

fn server_config(id: &Identity, alpn: &[&[u8]]) -> Arc<ServerConfig> {
    let mut b = ServerConfig::builder().certificate_pem(id.cert.as_bytes(), id.key.as_bytes()).unwrap();
    if !alpn.is_empty() {
        b = b.alpn_protocols(alpn);
    }
    b.build().unwrap()
}

/// A client that trusts `trusted`'s certificate, giving up on a handshake after `timeout`.
fn client_config(trusted: &Identity, alpn: &[&[u8]], timeout: Duration) -> Arc<ClientConfig> {
    let mut b = ClientConfig::builder()
        .root_certificates_pem(trusted.cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .handshake_timeout(timeout);
    if !alpn.is_empty() {
        b = b.alpn_protocols(alpn);
    }
    b.build().unwrap()
}

/// Run a blocking call on its own thread; fail the test if it has not returned by `LONG`.
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(LONG).unwrap_or_else(|_| panic!("{what}: still blocked after {LONG:?}"))
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + LONG;
    while !f() {
        assert!(Instant::now() < deadline, "never true: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A server session accepted by `server`, failing the test if none comes.
fn accepted(server: &UdpEndpoint) -> UdpSession {
    server.accept_timeout(LONG).unwrap().expect("no session accepted")
}

#[test]
fn std_adapter_echo_and_close() {
    let id = identity();
    let (server_cfg, client_cfg) = (server_config(&id, &[]), client_config(&id, &[], LONG));

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
    assert_eq!((a.protocol(), a.cipher().is_some()), ("DTLSv1.3", true));
    assert!(a.peer_certificate().is_some());
    assert!(a.peer_certificate_pem().is_some());
    assert_eq!((a.alpn_protocol(), a.srtp_profile()), (None, None));
    assert!(a.srtp_keying_material().is_none());
    let mut km = [0u8; 16];
    a.export_keying_material(&mut km, b"EXPERIMENTAL-test", None).unwrap();
    assert_ne!(km, [0u8; 16]);
    a.send(b"one").unwrap();
    assert_eq!(a.recv_timeout(LONG).unwrap(), Some(b"one".to_vec()));
    a.close();
    assert_eq!(a.closed(), None);
    assert!(a.final_stats().is_some_and(|s| s.app_messages_received == 1));
    drop(a);

    let client = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).unwrap();
    let b = client.connect(server.local_addr(), client_cfg).unwrap();
    b.send(b"two").unwrap();
    assert_eq!(b.recv_timeout(LONG).unwrap(), Some(b"two".to_vec()));

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

/// The server refuses a client whose only ALPN protocol it does not speak: the client's
/// `connect` fails with the server's alert, and the server reports the failed handshake
/// (the client's address, its own error) instead of accepting a session.
#[test]
fn handshake_failure_reports_an_alpn_mismatch() {
    let id = identity();
    let server = listen("127.0.0.1:0", server_config(&id, &[b"h2"]), EndpointOptions::default()).unwrap();
    let client = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).unwrap();

    let refused = client.connect(server.local_addr(), client_config(&id, &[b"webrtc"], LONG));
    assert!(
        matches!(refused, Err(AdapterError::Dtls(Error::AlertReceived(AlertDescription::NoApplicationProtocol)))),
        "{refused:?}"
    );
    let failure = server.handshake_failure_timeout(LONG).unwrap().expect("no handshake failure reported");
    assert_eq!(failure.remote, client.local_addr());
    assert_eq!(failure.error, Error::PeerIncompatible(PeerIncompatible::NoCommonApplicationProtocol));
    // Exactly one failure, and it never became a session.
    assert!(server.handshake_failure_timeout(Duration::from_millis(200)).unwrap().is_none());
    assert!(server.accept_timeout(Duration::from_millis(200)).unwrap().is_none());

    // A client that speaks the protocol is still accepted, and is no failure.
    let ok = client.connect(server.local_addr(), client_config(&id, &[b"webrtc", b"h2"], LONG)).unwrap();
    assert_eq!(ok.alpn_protocol().as_deref(), Some(&b"h2"[..]));
    assert_eq!(accepted(&server).remote_addr(), client.local_addr());
    assert!(server.handshake_failure_timeout(Duration::from_millis(200)).unwrap().is_none());
}

/// The client does not trust the server's certificate (it trusts another self-signed one)
/// and aborts with an alert; the server reports that alert as a failed handshake through the
/// blocking `handshake_failure`, and never accepts the session.
#[test]
fn handshake_failure_reports_a_client_that_trusts_another_certificate() {
    let (id, stranger) = (identity(), identity());
    let server = Arc::new(listen("127.0.0.1:0", server_config(&id, &[]), EndpointOptions::default()).unwrap());
    let client = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).unwrap();

    let watcher = server.clone();
    let failure = std::thread::spawn(move || watcher.handshake_failure());
    let refused = client.connect(server.local_addr(), client_config(&stranger, &[], LONG));
    let Err(AdapterError::Dtls(rejected @ Error::InvalidCertificate(_))) = refused else {
        panic!("client accepted an untrusted server: {refused:?}");
    };
    let alert = rejected.alert().expect("a certificate error has an alert");

    let failure = within("handshake_failure", move || failure.join().unwrap()).expect("endpoint closed");
    assert_eq!(failure.remote, client.local_addr());
    assert_eq!(failure.error, Error::AlertReceived(alert));
    assert!(server.accept_timeout(Duration::from_millis(200)).unwrap().is_none());
    assert_eq!(server.stats().server_sessions, 1);
    wait_until("failed session removed", || server.session_count() == 0);
}

/// `accept` and `handshake_failure` end (`None`, or `Err(Closed)` for the timeout forms)
/// once the endpoint is closed; `is_finished` turns true only when the driver has exited.
#[test]
fn accept_and_handshake_failure_end_once_the_endpoint_is_closed() {
    let id = identity();
    let server = Arc::new(listen("127.0.0.1:0", server_config(&id, &[]), EndpointOptions::default()).unwrap());
    assert!(!server.is_finished());
    // Blocked on both before the close, released by it.
    let (a, f) = (server.clone(), server.clone());
    let accept = std::thread::spawn(move || a.accept().is_none());
    let failure = std::thread::spawn(move || f.handshake_failure().is_none());
    server.close();
    within("closed", {
        let s = server.clone();
        move || s.closed()
    });
    assert!(server.is_finished());
    assert_eq!(server.state(), EndpointState::Closed);
    assert!(within("accept", move || accept.join().unwrap()));
    assert!(within("handshake_failure", move || failure.join().unwrap()));
    assert!(matches!(server.accept_timeout(LONG), Err(AdapterError::Closed)));
    assert!(matches!(server.handshake_failure_timeout(LONG), Err(AdapterError::Closed)));
}

/// `UdpSession::stats` is live: each side's counters follow every message as it is sent and
/// received, and after the close they are the final ones, kept.
#[test]
fn live_session_stats_count_data_as_it_flows() {
    let id = identity();
    let server = listen("127.0.0.1:0", server_config(&id, &[]), EndpointOptions::default()).unwrap();
    let client_ep = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).unwrap();
    let client = client_ep.connect(server.local_addr(), client_config(&id, &[], LONG)).unwrap();
    let peer = accepted(&server);

    let start = client.stats().unwrap();
    assert!(start.handshake_completed.is_some());
    assert_eq!((start.destroyed, start.app_messages_sent, start.app_messages_received), (None, 0, 0));
    assert!(start.packets_sent > 0 && start.packets_received > 0, "{start:?}");
    assert!(client.final_stats().is_none());

    let mut sent_bytes = 0;
    for (i, msg) in [&b"a"[..], b"bb", b"a longer message"].into_iter().enumerate() {
        let n = i as u64 + 1;
        sent_bytes += msg.len() as u64;
        client.send(msg).unwrap();
        let c = client.stats().unwrap();
        assert_eq!((c.app_messages_sent, c.app_bytes_sent), (n, sent_bytes));

        assert_eq!(peer.recv_timeout(LONG).unwrap().as_deref(), Some(msg));
        let p = peer.stats().unwrap();
        assert_eq!((p.app_messages_received, p.app_bytes_received, p.app_messages_sent), (n, sent_bytes, n - 1));

        peer.send(msg).unwrap();
        assert_eq!(client.recv_timeout(LONG).unwrap().as_deref(), Some(msg));
        let c = client.stats().unwrap();
        assert_eq!((c.app_messages_received, c.app_bytes_received), (n, sent_bytes));
        assert!(c.packets_received > start.packets_received);
        assert_eq!(c.destroyed, None);
    }

    client.close();
    assert_eq!(client.closed(), None);
    let last = client.stats().unwrap();
    assert!(last.destroyed.is_some());
    assert_eq!((last.app_messages_sent, last.app_messages_received, last.app_bytes_sent), (3, 3, sent_bytes));
    assert_eq!(client.final_stats(), Some(last));
}

/// Regression: a destroyed session's `stats()` are its final statistics, never `None`, even
/// when the driver reads the request in the same batch as the `destroy` (the session is gone
/// from the endpoint before its final statistics reach the handle).
#[test]
fn stats_of_a_destroyed_session_are_its_final_ones() {
    let id = identity();
    let server = listen("127.0.0.1:0", server_config(&id, &[]), EndpointOptions::default()).unwrap();
    let client_ep = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).unwrap();
    let cfg = client_config(&id, &[], LONG);
    for _ in 0..20 {
        let client = client_ep.connect(server.local_addr(), cfg.clone()).unwrap();
        client.send(b"x").unwrap();
        client.destroy();
        let st = client.stats().expect("no statistics for a destroyed session");
        assert!(st.destroyed.is_some(), "{st:?}");
        assert_eq!(st.app_messages_sent, 1);
        drop(accepted(&server));
    }
}

/// A busy server refuses new handshakes and `is_busy` says so; the session it already has
/// keeps working, and new ones are accepted again once it is not busy.
#[test]
fn busy_is_reported_and_refuses_new_sessions() {
    let id = identity();
    let server = listen("127.0.0.1:0", server_config(&id, &[]), EndpointOptions::default()).unwrap();
    let existing = connect(server.local_addr(), client_config(&id, &[], LONG)).unwrap();
    let existing_peer = accepted(&server);
    assert!(!server.is_busy());

    server.set_busy(true);
    wait_until("busy", || server.is_busy());
    let refused = connect(server.local_addr(), client_config(&id, &[], Duration::from_secs(2)));
    assert!(matches!(refused, Err(AdapterError::Dtls(Error::HandshakeTimeout))), "{refused:?}");
    let st = server.stats();
    assert!(st.busy_rejections >= 1, "{st:?}");
    assert_eq!((st.server_sessions, server.session_count()), (1, 1));

    existing.send(b"still served").unwrap();
    assert_eq!(existing_peer.recv_timeout(LONG).unwrap().as_deref(), Some(&b"still served"[..]));

    server.set_busy(false);
    wait_until("not busy", || !server.is_busy());
    let _later = connect(server.local_addr(), client_config(&id, &[], LONG)).unwrap();
    assert_eq!(server.stats().server_sessions, 2);
}

/// Fail the test unless `r` is the error of a handshake given up by `connect_timeout`.
fn assert_connect_timeout(r: Result<UdpSession, AdapterError>, timeout: Duration) {
    match r {
        Err(e @ AdapterError::ConnectTimeout(t)) => {
            assert_eq!(t, timeout);
            assert!(e.to_string().contains(&format!("{timeout:?}")), "{e}");
        }
        other => panic!("expected a connect timeout, got {other:?}"),
    }
}

/// With `HelloPolicy::ApprovedOnly` the server ignores ClientHellos from every address the
/// application has not approved (the WebRTC ClientHello race): no HelloVerifyRequest, no
/// session, only `policy_rejections`. Once the address is approved, a client there connects
/// and is served; a revoked address is refused again, while its live session is not touched.
#[test]
fn approved_only_serves_only_approved_addresses() {
    let id = identity();
    let options = EndpointOptions { hello_policy: HelloPolicy::ApprovedOnly, ..EndpointOptions::default() };
    let server = Arc::new(listen("127.0.0.1:0", server_config(&id, &[]), options).unwrap());
    let acceptor = server.clone();
    std::thread::spawn(move || {
        while let Some(s) = acceptor.accept() {
            std::thread::spawn(move || {
                while let Some(d) = s.recv() {
                    let _ = s.send(&d);
                }
            });
        }
    });
    let cfg = client_config(&id, &[], LONG);
    let short = Duration::from_millis(400);

    // Unapproved: a client endpoint and a free `connect` from its own socket both time out.
    let client = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).unwrap();
    assert!(!server.may_send_hello(client.local_addr()));
    assert_connect_timeout(client.connect_timeout(server.local_addr(), cfg.clone(), short), short);
    assert_connect_timeout(connect_timeout(server.local_addr(), cfg.clone(), short), short);
    let st = server.stats();
    assert!(st.policy_rejections >= 2, "{st:?}");
    assert_eq!((st.server_sessions, st.hello_verify_requests_sent, server.session_count()), (0, 0, 0), "{st:?}");

    // Approved (as ICE would, for the validated address): it connects and is served.
    server.approve_peer(client.local_addr());
    assert!(server.may_send_hello(client.local_addr()));
    let s = client.connect_timeout(server.local_addr(), cfg.clone(), LONG).unwrap();
    s.send(b"approved").unwrap();
    assert_eq!(s.recv_timeout(LONG).unwrap().as_deref(), Some(&b"approved"[..]));
    assert_eq!(server.stats().server_sessions, 1);
    assert_eq!(server.half_open_count(), 0);

    // Revoked: the live session still works, a new handshake from there is ignored again.
    server.revoke_peer(client.local_addr());
    assert!(!server.may_send_hello(client.local_addr()));
    s.send(b"still served").unwrap();
    assert_eq!(s.recv_timeout(LONG).unwrap().as_deref(), Some(&b"still served"[..]));
    s.close();
    assert_eq!(s.closed(), None);
    wait_until("server session gone", || server.session_count() == 0);
    let rejected = server.stats().policy_rejections;
    assert_connect_timeout(client.connect_timeout(server.local_addr(), cfg, short), short);
    assert!(server.stats().policy_rejections > rejected);
    assert_eq!(server.stats().server_sessions, 1);
}

/// A port where nothing listens, on 127.0.0.1 (bound, noted, closed).
fn closed_port() -> std::net::SocketAddr {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap()
}

/// `connect` (and `connect_timeout`) connect their socket to the peer, so the ICMP "port
/// unreachable" for a port where nothing listens fails them at once, with an error that says
/// so, instead of after the 60 s handshake deadline.
#[test]
fn connect_to_a_closed_port_is_refused_at_once() {
    let id = identity();
    for with_timeout in [false, true] {
        let dead = closed_port();
        let started = Instant::now();
        let r = if with_timeout {
            connect_timeout(dead, client_config(&id, &[], LONG), LONG)
        } else {
            connect(dead, client_config(&id, &[], LONG))
        };
        let elapsed = started.elapsed();
        match r {
            Err(AdapterError::Io(e)) => {
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
                assert!(e.to_string().to_lowercase().contains("refused"), "{e}");
                assert!(e.to_string().contains(&dead.to_string()), "{e}");
            }
            other => panic!("expected connection refused, got {other:?}"),
        }
        assert!(elapsed < Duration::from_secs(2), "refusal took {elapsed:?}");
    }
}

/// `connect_timeout` gives up on a peer that never answers after about its timeout, destroys
/// the pending session (a second attempt to the same address is not refused as a duplicate),
/// and says which timeout passed.
#[test]
fn connect_timeout_gives_up_on_a_silent_peer() {
    let id = identity();
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let timeout = Duration::from_millis(300);
    let in_time = |elapsed: Duration| elapsed >= timeout && elapsed < timeout + Duration::from_secs(2);

    let started = Instant::now();
    assert_connect_timeout(
        connect_timeout(silent.local_addr().unwrap(), client_config(&id, &[], LONG), timeout),
        timeout,
    );
    let elapsed = started.elapsed();
    assert!(in_time(elapsed), "gave up after {elapsed:?}");

    let client = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        assert_connect_timeout(
            client.connect_timeout(silent.local_addr().unwrap(), client_config(&id, &[], LONG), timeout),
            timeout,
        );
        let elapsed = started.elapsed();
        assert!(in_time(elapsed), "gave up after {elapsed:?}");
        wait_until("pending session destroyed", || client.session_count() == 0);
    }
    // The silent peer did get the ClientHellos.
    silent.set_read_timeout(Some(LONG)).unwrap();
    let mut buf = [0u8; 2048];
    let (n, _) = silent.recv_from(&mut buf).unwrap();
    assert_eq!(buf[0], 22, "not a handshake record: {:?}", &buf[..n]);
    assert_eq!(client.stats().client_sessions, 2);
}

/// A std session needs no split: every method takes `&self` and the session is `Sync`, so
/// on each side one thread receives while another sends on the same session, at once.
#[test]
fn one_session_receives_on_one_thread_while_another_sends() {
    fn shareable<T: Send + Sync>(_: &T) {}
    const EACH: usize = 100;
    let id = identity();
    let server = listen("127.0.0.1:0", server_config(&id, &[]), EndpointOptions::default()).unwrap();
    let client = connect(server.local_addr(), client_config(&id, &[], LONG)).unwrap();
    let accepted = accepted(&server);
    shareable(&client);
    shareable(&server);

    let message = |tag: &str, i: usize| format!("{tag} {i}").into_bytes();
    let receive = |s: &UdpSession| -> Vec<Vec<u8>> {
        (0..EACH).map(|_| s.recv_timeout(LONG).unwrap().expect("no datagram in time")).collect()
    };
    let (from_client, from_server) = std::thread::scope(|scope| {
        let server_rx = scope.spawn(|| receive(&accepted));
        let client_rx = scope.spawn(|| receive(&client));
        scope.spawn(|| (0..EACH).for_each(|i| accepted.send(&message("server", i)).unwrap()));
        scope.spawn(|| (0..EACH).for_each(|i| client.send(&message("client", i)).unwrap()));
        (server_rx.join().unwrap(), client_rx.join().unwrap())
    });
    let sorted = |mut v: Vec<Vec<u8>>| {
        v.sort();
        v
    };
    assert_eq!(sorted(from_client), sorted((0..EACH).map(|i| message("client", i)).collect()));
    assert_eq!(sorted(from_server), sorted((0..EACH).map(|i| message("server", i)).collect()));

    client.close();
    assert_eq!(client.closed(), None);
    assert!(matches!(accepted.recv_timeout(LONG), Err(AdapterError::Closed)));
    assert_eq!(accepted.closed(), None);
}

/// Several threads send on one server session at once (the server's driver blocks in
/// `recv_from` and is woken by a datagram to its socket, one for however many requests
/// wait): every send returns, and the client receives every record once. A too-large
/// record among them fails alone, with its own error. The client recycles what it receives.
#[test]
fn concurrent_sends_on_a_listening_endpoints_session_all_arrive() {
    const THREADS: usize = 4;
    // 100 records: fit the client socket's receive buffer even if its reader thread stalls.
    const EACH: usize = 25;
    let id = identity();
    let server = listen("127.0.0.1:0", server_config(&id, &[]), EndpointOptions::default()).unwrap();
    let client = connect(server.local_addr(), client_config(&id, &[], LONG)).unwrap();
    let session = Arc::new(accepted(&server));
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let s = session.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    s.send(format!("{t}:{i}").as_bytes()).unwrap();
                    if i == EACH / 2 {
                        let e = s.send(&[0u8; 70_000]);
                        assert!(matches!(e, Err(AdapterError::Dtls(Error::MessageTooLarge { .. }))), "{e:?}");
                    }
                }
            })
        })
        .collect();
    let mut got = Vec::new();
    while got.len() < THREADS * EACH {
        let d = client.recv_timeout(LONG).unwrap().expect("a record");
        got.push(String::from_utf8(d.clone()).unwrap());
        client.recycle(d);
    }
    for s in senders {
        s.join().unwrap();
    }
    got.sort();
    let mut want: Vec<_> = (0..THREADS).flat_map(|t| (0..EACH).map(move |i| format!("{t}:{i}"))).collect();
    want.sort();
    assert_eq!(got, want);
    drop((session, client));
    server.close();
    server.closed();
}
