//! The tokio adapter on 127.0.0.1: many sessions on one server endpoint, restart, busy,
//! graceful close, the approved-only hello policy, refused and timed-out connects, and a
//! session split into halves that receive and send from different tasks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dtls_engine::adapter::tokio_udp::{RecvHalf, SendHalf, UdpEndpoint, UdpSession, connect, connect_timeout, listen};
use dtls_engine::adapter::{AdapterError, EndpointOptions};
use dtls_engine::{ClientConfig, EndpointState, Error, HelloPolicy, ServerConfig};

fn configs(handshake_timeout: Duration) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    alpn_configs(handshake_timeout, &[], &[])
}

/// Like [`configs`], each side offering these ALPN protocols (none when empty).
fn alpn_configs(
    handshake_timeout: Duration,
    server_alpn: &[&[u8]],
    client_alpn: &[&[u8]],
) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (c.cert.pem(), c.signing_key.serialize_pem());
    let mut server = ServerConfig::builder().certificate_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    if !server_alpn.is_empty() {
        server = server.alpn_protocols(server_alpn);
    }
    let mut client = ClientConfig::builder()
        .root_certificates_pem(cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .handshake_timeout(handshake_timeout);
    if !client_alpn.is_empty() {
        client = client.alpn_protocols(client_alpn);
    }
    (server.build().unwrap(), client.build().unwrap())
}

/// An echo server: every accepted session sends back what it receives.
async fn echo_server(server: Arc<ServerConfig>) -> Arc<UdpEndpoint> {
    echo_server_with(server, EndpointOptions::default()).await
}

/// [`echo_server`] with endpoint options of the caller's.
async fn echo_server_with(server: Arc<ServerConfig>, options: EndpointOptions) -> Arc<UdpEndpoint> {
    let ep = Arc::new(listen("127.0.0.1:0", server, options).await.unwrap());
    let acceptor = ep.clone();
    tokio::spawn(async move {
        while let Some(mut s) = acceptor.accept().await {
            tokio::spawn(async move {
                while let Some(d) = s.recv().await {
                    if s.send(&d).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    ep
}

async fn echo(s: &mut UdpSession, msg: &[u8]) {
    s.send(msg).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(20), s.recv()).await.unwrap().unwrap();
    assert_eq!(got, msg);
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never true: {what}");
}

/// DTLS 1.2 has no connection ID, so a server tells sessions apart by the client's address:
/// each of the 1,000 client sessions needs its own socket (its own client endpoint).
///
/// Handshakes are started concurrently but at most `IN_FLIGHT` at a time: a burst of 1,000
/// at once overflows the loopback socket buffer (so would 1,000 close_notify at once; a
/// connected server session whose peer's close_notify is lost has no idle timeout yet), and a lost echo (application data is not
/// retransmitted) would make the exact stats comparison meaningless.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_sessions_echo_and_stats_add_up() {
    const SESSIONS: usize = 1000;
    // DTLS 1.3 with the hybrid group: each handshake's first flights are ~3 KB, so fewer
    // at once than with 1.2's, or the loopback socket buffer overflows.
    const IN_FLIGHT: usize = 16;
    let gate = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let started = Instant::now();
    let (server_cfg, client_cfg) = configs(Duration::from_secs(60));
    let server = echo_server(server_cfg).await;
    let addr = server.local_addr();
    let mut tasks = Vec::new();
    for i in 0..SESSIONS {
        let cfg = client_cfg.clone();
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let ep = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).await.unwrap();
            let mut s = ep.connect(addr, cfg).await.unwrap();
            assert_eq!(s.protocol(), "DTLSv1.3");
            assert!(s.cipher().is_some());
            echo(&mut s, format!("hello {i}").as_bytes()).await;
            (ep, s)
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.unwrap());
    }
    eprintln!("{SESSIONS} handshakes + echoes in {:?}", started.elapsed());
    // All 1,000 are live at once.
    wait_until("all sessions live", || server.session_count() == SESSIONS).await;
    assert_eq!(clients.iter().map(|(ep, _)| ep.session_count()).sum::<usize>(), SESSIONS);
    // Close them, paced like the handshakes so close_notify bursts are not lost.
    let clients = Arc::new(clients);
    let mut closing = Vec::new();
    for i in 0..SESSIONS {
        let (gate, clients) = (gate.clone(), clients.clone());
        closing.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            clients[i].1.close();
            clients[i].1.closed().await
        }));
    }
    for t in closing {
        assert_eq!(t.await.unwrap(), None);
    }
    wait_until("all sessions gone", || server.session_count() == 0).await;
    let srv = server.stats();
    let cli: Vec<_> = clients.iter().map(|(ep, _)| ep.stats()).collect();
    let sum = |f: fn(&dtls_engine::EndpointStats) -> u64| cli.iter().map(f).sum::<u64>();
    eprintln!("server stats {srv:?}");
    assert_eq!(srv.server_sessions, SESSIONS as u64);
    assert_eq!(srv.client_sessions, 0);
    assert_eq!(sum(|s| s.client_sessions), SESSIONS as u64);
    assert_eq!(sum(|s| s.server_sessions), 0);
    assert_eq!(srv.packets_received, sum(|s| s.packets_sent));
    assert_eq!(srv.packets_sent, sum(|s| s.packets_received));
    assert_eq!(srv.bytes_received, sum(|s| s.bytes_sent));
    assert_eq!(srv.bytes_sent, sum(|s| s.bytes_received));
    // The engine's defaults: DTLS 1.3, address validation by stateless HelloRetryRequest.
    assert!(srv.hello_retry_requests_sent >= SESSIONS as u64);
    assert_eq!(srv.busy_rejections + srv.datagrams_dropped + srv.amplification_refusals, 0);
    for (ep, _) in clients.iter() {
        ep.close();
    }
    for (ep, _) in clients.iter() {
        ep.closed().await;
        assert!(ep.is_finished());
    }
    server.close();
    server.closed().await;
    assert!(server.is_finished());
    eprintln!("total {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_client_on_same_port_gets_a_fresh_session() {
    let (server_cfg, client_cfg) = configs(Duration::from_secs(20));
    let server = echo_server(server_cfg).await;
    let client = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).await.unwrap();
    let port = client.local_addr();
    let mut first = client.connect(server.local_addr(), client_cfg.clone()).await.unwrap();
    echo(&mut first, b"before").await;
    // Crash: no close_notify reaches the server.
    client.destroy();
    client.closed().await;
    assert!(client.is_finished());
    drop(first);
    drop(client);
    let client = UdpEndpoint::bind(port, EndpointOptions::default()).await.unwrap();
    let mut second = client.connect(server.local_addr(), client_cfg).await.unwrap();
    echo(&mut second, b"after").await;
    let st = server.stats();
    assert_eq!((st.server_sessions, st.sessions_replaced), (2, 1));
    assert_eq!(server.session_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_refuses_new_sessions_while_existing_one_works() {
    let (server_cfg, client_cfg) = configs(Duration::from_secs(3));
    let server = echo_server(server_cfg).await;
    let mut existing = connect(server.local_addr(), client_cfg.clone()).await.unwrap();
    server.set_busy(true);
    wait_until("busy", || server.is_busy()).await;
    let refused = connect(server.local_addr(), client_cfg.clone()).await;
    assert!(refused.is_err(), "busy server accepted a session");
    assert!(server.stats().busy_rejections >= 1);
    assert_eq!(server.stats().server_sessions, 1);
    echo(&mut existing, b"still served").await;
    server.set_busy(false);
    wait_until("not busy", || !server.is_busy()).await;
    let mut later = connect(server.local_addr(), client_cfg).await.unwrap();
    echo(&mut later, b"welcome back").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_close_reaches_the_peer_and_stops_the_drivers() {
    let (server_cfg, client_cfg) = configs(Duration::from_secs(20));
    let server = echo_server(server_cfg).await;
    let client = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).await.unwrap();
    let mut s = client.connect(server.local_addr(), client_cfg).await.unwrap();
    echo(&mut s, b"bye soon").await;
    let stats_before = s.stats().await.unwrap();
    assert!(stats_before.handshake_completed.is_some());
    server.close();
    // The client sees close_notify: recv ends, closed() resolves without error.
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), s.recv()).await.unwrap(), None);
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), s.closed()).await.unwrap(), None);
    tokio::time::timeout(Duration::from_secs(5), server.closed()).await.unwrap();
    assert_eq!(server.state(), EndpointState::Closed);
    assert!(server.is_finished());
    assert!(server.accept().await.is_none());
    let final_stats = s.stats().await.unwrap();
    assert!(final_stats.destroyed.is_some());
    client.close();
    tokio::time::timeout(Duration::from_secs(5), client.closed()).await.unwrap();
    assert!(client.is_finished());
}

/// The adapter session reports what was negotiated (ALPN, SRTP, cipher, peer certificate)
/// and exports the same keying material on both sides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_info_and_exporter_match_on_both_sides() {
    use dtls_engine::SrtpProtectionProfile as P;
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (c.cert.pem(), c.signing_key.serialize_pem());
    let server_cfg = ServerConfig::builder()
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .unwrap()
        .alpn_protocols(&[b"h2", b"webrtc"])
        .srtp_profiles(&[P::SRTP_AEAD_AES_128_GCM, P::SRTP_AES128_CM_SHA1_80])
        .build()
        .unwrap();
    let client_cfg = ClientConfig::builder()
        .root_certificates_pem(cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .alpn_protocols(&[b"webrtc"])
        .srtp_profiles(&[P::SRTP_AES128_CM_SHA1_80])
        .build()
        .unwrap();
    let server = listen("127.0.0.1:0", server_cfg, EndpointOptions::default()).await.unwrap();
    let client = connect(server.local_addr(), client_cfg).await.unwrap();
    let accepted = server.accept().await.unwrap();
    for s in [&client, &accepted] {
        assert_eq!(s.alpn_protocol().as_deref(), Some(&b"webrtc"[..]));
        assert_eq!(s.srtp_profile(), Some(P::SRTP_AES128_CM_SHA1_80));
        assert_eq!(s.cipher().unwrap().version, "DTLSv1.3");
    }
    assert!(client.peer_certificate_pem().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(accepted.peer_certificate_pem().is_none());
    let (a, b) = (client.srtp_keying_material().unwrap(), accepted.srtp_keying_material().unwrap());
    assert_eq!(a.to_bytes(), b.to_bytes());
    let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
    client.export_keying_material(&mut x, b"EXPERIMENTAL-test", Some(b"ctx")).await.unwrap();
    accepted.export_keying_material(&mut y, b"EXPERIMENTAL-test", Some(b"ctx")).await.unwrap();
    assert_eq!(x, y);
    assert!(client.export_keying_material(&mut x, b"master secret", None).await.is_err());
}

/// Regression: a server session that fails on its very first ClientHello (here, no common
/// ALPN protocol) was removed by `poll_transmit` before the driver read its `Accepted` event,
/// so `handshake_failure` never reported it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_failure_reports_an_alpn_mismatch() {
    let (server_cfg, client_cfg) = alpn_configs(Duration::from_secs(60), &[b"h2"], &[b"webrtc"]);
    let server = listen("127.0.0.1:0", server_cfg, EndpointOptions::default()).await.unwrap();
    let client = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).await.unwrap();
    let refused = client.connect(server.local_addr(), client_cfg).await;
    assert!(refused.is_err(), "the server accepted a client with no common ALPN protocol");
    let failure = tokio::time::timeout(Duration::from_secs(60), server.handshake_failure())
        .await
        .expect("no handshake failure reported")
        .expect("endpoint closed");
    assert_eq!(failure.remote, client.local_addr());
    assert_eq!(
        failure.error,
        dtls_engine::Error::PeerIncompatible(dtls_engine::PeerIncompatible::NoCommonApplicationProtocol)
    );
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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_only_serves_only_approved_addresses() {
    let (server_cfg, client_cfg) = configs(Duration::from_secs(60));
    let options = EndpointOptions { hello_policy: HelloPolicy::ApprovedOnly, ..EndpointOptions::default() };
    let server = echo_server_with(server_cfg, options).await;
    let short = Duration::from_millis(400);

    // Unapproved: a client endpoint and a free `connect` from its own socket both time out.
    let client = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).await.unwrap();
    assert!(!server.may_send_hello(client.local_addr()).await);
    assert_connect_timeout(client.connect_timeout(server.local_addr(), client_cfg.clone(), short).await, short);
    assert_connect_timeout(connect_timeout(server.local_addr(), client_cfg.clone(), short).await, short);
    let st = server.stats();
    assert!(st.policy_rejections >= 2, "{st:?}");
    assert_eq!((st.server_sessions, st.hello_verify_requests_sent, server.session_count()), (0, 0, 0), "{st:?}");

    // Approved (as ICE would, for the validated address): it connects and is served.
    server.approve_peer(client.local_addr());
    assert!(server.may_send_hello(client.local_addr()).await);
    let mut s = client.connect_timeout(server.local_addr(), client_cfg.clone(), Duration::from_secs(60)).await.unwrap();
    echo(&mut s, b"approved").await;
    assert_eq!(server.stats().server_sessions, 1);
    assert_eq!(server.half_open_count(), 0);

    // Revoked: the live session still works, a new handshake from there is ignored again.
    server.revoke_peer(client.local_addr());
    assert!(!server.may_send_hello(client.local_addr()).await);
    echo(&mut s, b"still served").await;
    s.close();
    assert_eq!(tokio::time::timeout(Duration::from_secs(20), s.closed()).await.unwrap(), None);
    wait_until("server session gone", || server.session_count() == 0).await;
    let rejected = server.stats().policy_rejections;
    assert_connect_timeout(client.connect_timeout(server.local_addr(), client_cfg, short).await, short);
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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_a_closed_port_is_refused_at_once() {
    let (_, client_cfg) = configs(Duration::from_secs(60));
    for with_timeout in [false, true] {
        let dead = closed_port();
        let started = Instant::now();
        let r = if with_timeout {
            connect_timeout(dead, client_cfg.clone(), Duration::from_secs(60)).await
        } else {
            connect(dead, client_cfg.clone()).await
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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_gives_up_on_a_silent_peer() {
    let (_, client_cfg) = configs(Duration::from_secs(60));
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = silent.local_addr().unwrap();
    let timeout = Duration::from_millis(300);
    let in_time = |elapsed: Duration| elapsed >= timeout && elapsed < timeout + Duration::from_secs(2);

    let started = Instant::now();
    assert_connect_timeout(connect_timeout(to, client_cfg.clone(), timeout).await, timeout);
    let elapsed = started.elapsed();
    assert!(in_time(elapsed), "gave up after {elapsed:?}");

    let client = UdpEndpoint::bind("127.0.0.1:0", EndpointOptions::default()).await.unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        assert_connect_timeout(client.connect_timeout(to, client_cfg.clone(), timeout).await, timeout);
        let elapsed = started.elapsed();
        assert!(in_time(elapsed), "gave up after {elapsed:?}");
        wait_until("pending session destroyed", || client.session_count() == 0).await;
    }
    // The silent peer did get the ClientHellos.
    let mut buf = [0u8; 2048];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), silent.recv_from(&mut buf)).await.unwrap().unwrap();
    assert_eq!(buf[0], 22, "not a handshake record: {:?}", &buf[..n]);
    assert_eq!(client.stats().client_sessions, 2);
}

/// Generous bound for a step that should happen promptly (a failing test, not a slow one).
const STEP: Duration = Duration::from_secs(20);

/// In a task of its own, receive `n` datagrams on `rx`; hands back the half with them.
fn receive_n(mut rx: RecvHalf, n: usize) -> tokio::task::JoinHandle<(RecvHalf, Vec<Vec<u8>>)> {
    tokio::spawn(async move {
        let mut got = Vec::with_capacity(n);
        while got.len() < n {
            let d = tokio::time::timeout(STEP, rx.recv()).await.expect("receive timed out");
            got.push(d.expect("session ended while receiving"));
        }
        (rx, got)
    })
}

/// In a task of its own, send `"<tag> <i>"` for every `i` below `n` on a clone of `tx`.
fn send_n(tx: &SendHalf, tag: &'static str, n: usize) -> tokio::task::JoinHandle<()> {
    let tx = tx.clone();
    tokio::spawn(async move {
        for i in 0..n {
            tx.send(format!("{tag} {i}").as_bytes()).await.unwrap();
        }
    })
}

/// The datagrams [`send_n`] sends for each tag, sorted.
fn sent_by(tags: &[&str], n: usize) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> =
        tags.iter().flat_map(|tag| (0..n).map(move |i| format!("{tag} {i}").into_bytes())).collect();
    all.sort();
    all
}

/// Both ends of one session (our client by `connect`, our server by `listen`) split into
/// halves: on each side one task receives everything while two other tasks send on clones
/// of the same send half, all at once over loopback UDP. Nothing is lost or duplicated.
/// Dropping the send halves leaves the session open for its receiving half; dropping the
/// last half closes it gracefully, and the peer's receiving half then ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_session_receives_in_one_task_while_others_send() {
    fn shareable<T: Send + Sync>() {}
    shareable::<UdpSession>();
    shareable::<RecvHalf>();
    shareable::<SendHalf>();
    const EACH: usize = 100;
    let (server_cfg, client_cfg) = configs(Duration::from_secs(60));
    let server = listen("127.0.0.1:0", server_cfg, EndpointOptions::default()).await.unwrap();
    let client = tokio::time::timeout(STEP, connect(server.local_addr(), client_cfg)).await.unwrap().unwrap();
    let accepted = tokio::time::timeout(STEP, server.accept()).await.unwrap().unwrap();
    let (server_rx, server_tx) = accepted.into_split();
    let (client_rx, client_tx) = client.into_split();
    // Both halves describe the session.
    assert_eq!((client_tx.remote_addr(), client_rx.remote_addr()), (server.local_addr(), server.local_addr()));
    assert_eq!(client_rx.protocol(), "DTLSv1.3");
    assert!(client_tx.cipher().is_some() && client_rx.peer_certificate().is_some());
    let (mut km_tx, mut km_rx) = ([0u8; 16], [0u8; 16]);
    client_tx.export_keying_material(&mut km_tx, b"EXPERIMENTAL-split", None).await.unwrap();
    client_rx.export_keying_material(&mut km_rx, b"EXPERIMENTAL-split", None).await.unwrap();
    assert_eq!(km_tx, km_rx);

    // The receivers wait first; then four senders start, two per side.
    let server_got = receive_n(server_rx, 2 * EACH);
    let client_got = receive_n(client_rx, 2 * EACH);
    let senders = [
        send_n(&client_tx, "client-a", EACH),
        send_n(&client_tx, "client-b", EACH),
        send_n(&server_tx, "server-a", EACH),
        send_n(&server_tx, "server-b", EACH),
    ];
    for s in senders {
        tokio::time::timeout(STEP, s).await.unwrap().unwrap();
    }
    let (mut server_rx, mut got) = tokio::time::timeout(STEP, server_got).await.unwrap().unwrap();
    got.sort();
    assert_eq!(got, sent_by(&["client-a", "client-b"], EACH));
    let (mut client_rx, mut got) = tokio::time::timeout(STEP, client_got).await.unwrap().unwrap();
    got.sort();
    assert_eq!(got, sent_by(&["server-a", "server-b"], EACH));
    let stats = client_tx.stats().await.unwrap();
    assert_eq!((stats.app_messages_sent, stats.app_messages_received), (2 * EACH as u64, 2 * EACH as u64));

    // Dropping the client's send half does not close the session: the receiving half still
    // gets data, and the session is not closing (a close would have reached the driver
    // before this `stats` request, on the same channel).
    drop(client_tx);
    server_tx.send(b"after the send half was dropped").await.unwrap();
    let got = tokio::time::timeout(STEP, client_rx.recv()).await.unwrap();
    assert_eq!(got.as_deref(), Some(&b"after the send half was dropped"[..]));
    assert_eq!(client_rx.stats().await.map(|s| s.closing), Some(None));

    // Dropping the last half closes the session with close_notify: the server's receiving
    // half ends, and the session ended without an error.
    drop(client_rx);
    assert_eq!(tokio::time::timeout(STEP, server_rx.recv()).await.unwrap(), None);
    assert_eq!(tokio::time::timeout(STEP, server_tx.closed()).await.unwrap(), None);
    assert!(server_tx.stats().await.is_some_and(|s| s.destroyed.is_some()));
    server.close();
    tokio::time::timeout(STEP, server.closed()).await.unwrap();
}

/// `close` on a send half ends the session for the receiving half too: a task blocked in
/// `recv` gets `None`, the session ends without an error, the peer sees the close_notify,
/// and a later send fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_send_half_ends_the_receiving_half() {
    let (server_cfg, client_cfg) = configs(Duration::from_secs(60));
    let server = listen("127.0.0.1:0", server_cfg, EndpointOptions::default()).await.unwrap();
    let client = tokio::time::timeout(STEP, connect(server.local_addr(), client_cfg)).await.unwrap().unwrap();
    let mut accepted = tokio::time::timeout(STEP, server.accept()).await.unwrap().unwrap();
    let (mut rx, tx) = client.into_split();

    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    let reader = tokio::spawn(async move {
        let _ = first_tx.send(rx.recv().await);
        // Blocked here while the other task closes the session.
        rx.recv().await
    });
    accepted.send(b"one").await.unwrap();
    let first = tokio::time::timeout(STEP, first_rx).await.unwrap().unwrap();
    assert_eq!(first.as_deref(), Some(&b"one"[..]));

    tx.close();
    assert_eq!(tokio::time::timeout(STEP, reader).await.unwrap().unwrap(), None);
    assert_eq!(tokio::time::timeout(STEP, tx.closed()).await.unwrap(), None);
    let late = tx.send(b"too late").await;
    assert!(matches!(late, Err(AdapterError::Dtls(Error::Closed) | AdapterError::Closed)), "{late:?}");
    // The server's session got the close_notify.
    assert_eq!(tokio::time::timeout(STEP, accepted.recv()).await.unwrap(), None);
    assert_eq!(tokio::time::timeout(STEP, accepted.closed()).await.unwrap(), None);
}

/// A send whose future is dropped after its request reached the driver is still carried
/// out, and its answer does not become the next send's: a too-large record right after it
/// fails with its own error (not the abandoned send's success), the next one succeeds, and
/// both sent records come back in order. A received buffer given back is reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_send_does_not_answer_the_next_one() {
    let (server_cfg, client_cfg) = configs(Duration::from_secs(60));
    let server = echo_server(server_cfg).await;
    let mut client = tokio::time::timeout(STEP, connect(server.local_addr(), client_cfg)).await.unwrap().unwrap();
    // Polled once (the request goes out), then dropped before its answer, most likely.
    let _ = tokio::time::timeout(Duration::ZERO, client.send(b"first")).await;
    let too_large = client.send(&[0u8; 70_000]).await;
    assert!(matches!(too_large, Err(AdapterError::Dtls(Error::MessageTooLarge { .. }))), "{too_large:?}");
    client.send(b"second").await.unwrap();
    for want in [&b"first"[..], b"second"] {
        let got = tokio::time::timeout(STEP, client.recv()).await.unwrap().unwrap();
        assert_eq!(got, want);
        client.recycle(got);
    }
    client.close();
    tokio::time::timeout(STEP, client.closed()).await.unwrap();
    server.close();
}
