//! Several workers on one port (`EndpointOptions::workers`), over real loopback UDP:
//!
//! - Two std workers and two tokio workers with connection IDs serve twenty clients, each
//!   from its own port: every handshake completes and every echo returns, both workers
//!   served sessions, and each worker's CIDs carry its worker byte after the prefix.
//! - A client (a sans-IO `Session` driven by hand over std sockets) moves to a new port
//!   twenty times, in DTLS 1.2 and 1.3 against std workers and in DTLS 1.2 against tokio
//!   workers: every echo still returns, the
//!   kernel sent some of its records to the other worker, which handed them over, and the
//!   session moved every time.
//! - Without connection IDs the workers still serve, and nothing is handed off.
//! - A two-worker endpoint (std and tokio) connects out from its shared port to twelve
//!   servers: the second worker hands the answers the kernel gives it to the first, which
//!   runs `connect`; every echo returns.
//! - The configuration checks: a CID too short for the worker byte, too many workers.
//!
//! Every wait is for an event, bounded by `LONG` only so that a bug fails instead of hanging.

use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dtls_engine::adapter::{AdapterError, EndpointOptions, WorkerStats, std_udp, tokio_udp};
use dtls_engine::{ClientConfig, Error, Event, ProtocolVersion, ServerConfig, Session};

const LONG: Duration = Duration::from_secs(60);
const CLIENTS: usize = 20;
const PREFIX: [u8; 2] = [0xa1, 0xb2];

struct Identity {
    cert: String,
    key: String,
}

fn identity() -> Identity {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    Identity { cert: c.cert.pem(), key: c.signing_key.serialize_pem() }
}

/// A server whose CIDs are 8 bytes after `PREFIX` (`cids`), or that uses none.
fn server_config(id: &Identity, cids: bool) -> Arc<ServerConfig> {
    let b = ServerConfig::builder().certificate_pem(id.cert.as_bytes(), id.key.as_bytes()).unwrap();
    let b = if cids { b.connection_ids(8).connection_id_prefix(&PREFIX) } else { b };
    b.build().unwrap()
}

/// A DTLS 1.2 client asking for 4-byte CIDs (`cids`).
fn client_config(id: &Identity, cids: bool) -> Arc<ClientConfig> {
    client_config_for(id, cids, ProtocolVersion::Dtls12)
}

/// A client of at most `version`, asking for 4-byte CIDs (`cids`).
fn client_config_for(id: &Identity, cids: bool, version: ProtocolVersion) -> Arc<ClientConfig> {
    let b = ClientConfig::builder()
        .root_certificates_pem(id.cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .max_version(version)
        .handshake_timeout(LONG);
    let b = if cids { b.connection_ids(4) } else { b };
    b.build().unwrap()
}

fn two_workers() -> EndpointOptions {
    EndpointOptions { workers: 2, ..EndpointOptions::default() }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + LONG;
    while !f() {
        assert!(Instant::now() < deadline, "never true: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A std server that echoes every datagram of every session it accepts, each session on a
/// thread of its own; returns the endpoint.
fn std_echo_server(config: Arc<ServerConfig>, options: EndpointOptions) -> Arc<std_udp::UdpEndpoint> {
    let server = Arc::new(std_udp::listen("127.0.0.1:0", config, options).unwrap());
    let acceptor = server.clone();
    std::thread::spawn(move || {
        while let Some(s) = acceptor.accept() {
            std::thread::spawn(move || {
                while let Some(d) = s.recv() {
                    if s.send(&d).is_err() {
                        break;
                    }
                }
            });
        }
    });
    server
}

/// [`std_echo_server`] on the tokio adapter: each session in a task of its own.
async fn tokio_echo_server(config: Arc<ServerConfig>, options: EndpointOptions) -> Arc<tokio_udp::UdpEndpoint> {
    let server = Arc::new(tokio_udp::listen("127.0.0.1:0", config, options).await.unwrap());
    let acceptor = server.clone();
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
    server
}

fn handoffs(stats: &[WorkerStats]) -> (u64, u64, u64) {
    stats.iter().fold((0, 0, 0), |(s, r, d), w| (s + w.handoffs_sent, r + w.handoffs_received, d + w.handoffs_dropped))
}

/// Whether every hand-off sent has reached its worker (taken or dropped): a datagram handed
/// over just before the statistics were read is still in the channel, so tests wait for this
/// before comparing the counts.
fn settled(stats: &[WorkerStats]) -> bool {
    let (sent, received, dropped) = handoffs(stats);
    sent == received + dropped
}

/// The workers' statistics once every hand-off has arrived (waits up to `LONG`).
fn settled_stats(mut read: impl FnMut() -> Vec<WorkerStats>) -> Vec<WorkerStats> {
    let deadline = Instant::now() + LONG;
    loop {
        let stats = read();
        if settled(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "hand-offs never arrived: {stats:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The same for tokio tests, without blocking a runtime thread.
async fn settled_stats_async(mut read: impl FnMut() -> Vec<WorkerStats>) -> Vec<WorkerStats> {
    let deadline = Instant::now() + LONG;
    loop {
        let stats = read();
        if settled(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "hand-offs never arrived: {stats:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The worker byte of each CID: the byte after `PREFIX`.
fn worker_bytes(ours: impl IntoIterator<Item = Vec<u8>>) -> BTreeSet<u8> {
    ours.into_iter()
        .map(|cid| {
            assert_eq!((cid.len(), &cid[..2]), (8, &PREFIX[..]), "{cid:02x?}");
            cid[2]
        })
        .collect()
}

#[test]
fn two_std_workers_serve_twenty_clients_on_one_port() {
    let id = identity();
    let server = std_echo_server(server_config(&id, true), two_workers());
    let client = client_config(&id, true);
    let sessions: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let s = std_udp::connect(server.local_addr(), client.clone()).unwrap();
            let msg = format!("hello {i}");
            s.send(msg.as_bytes()).unwrap();
            assert_eq!(s.recv_timeout(LONG).unwrap(), Some(msg.into_bytes()));
            s
        })
        .collect();
    // The server's CIDs (the clients' peer CIDs) name both workers, and nothing else.
    let workers = worker_bytes(sessions.iter().map(|s| s.connection_ids().unwrap().1));
    assert_eq!(workers, BTreeSet::from([0, 1]), "the kernel spread {CLIENTS} ports over both workers");
    wait_until("every session counted", || server.session_count() == CLIENTS);
    let stats = server.worker_stats();
    assert_eq!(stats.len(), 2);
    assert!(stats.iter().all(|w| w.sessions > 0 && w.endpoint.server_sessions > 0), "{stats:?}");
    assert_eq!(stats.iter().map(|w| w.sessions).sum::<usize>(), CLIENTS);
    assert_eq!(server.stats().server_sessions, CLIENTS as u64);
    // Nobody moved: nothing was handed off.
    assert_eq!(handoffs(&stats), (0, 0, 0));
    drop(sessions);
    server.close();
    server.closed();
    assert!(server.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tokio_workers_serve_twenty_clients_on_one_port() {
    let id = identity();
    let server = tokio_echo_server(server_config(&id, true), two_workers()).await;
    let client = client_config(&id, true);
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (addr, client) = (server.local_addr(), client.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = tokio_udp::connect(addr, client).await.unwrap();
            let msg = format!("hello {i}");
            s.send(msg.as_bytes()).await.unwrap();
            let echo = tokio::time::timeout(LONG, s.recv()).await.unwrap();
            assert_eq!(echo, Some(msg.into_bytes()));
            s
        }));
    }
    let mut sessions = Vec::new();
    for t in tasks {
        sessions.push(t.await.unwrap());
    }
    let workers = worker_bytes(sessions.iter().map(|s| s.connection_ids().unwrap().1));
    assert_eq!(workers, BTreeSet::from([0, 1]));
    let deadline = Instant::now() + LONG;
    while server.session_count() != CLIENTS {
        assert!(Instant::now() < deadline, "{:?}", server.worker_stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stats = server.worker_stats();
    assert!(stats.iter().all(|w| w.sessions > 0), "{stats:?}");
    assert_eq!(handoffs(&stats), (0, 0, 0));
    drop(sessions);
    server.close();
    tokio::time::timeout(LONG, server.closed()).await.unwrap();
    assert!(server.is_finished());
}

/// A client `Session` driven by hand over a std socket it may replace at any time.
struct MovingClient {
    session: Session,
    socket: UdpSocket,
    server: SocketAddr,
}

impl MovingClient {
    fn connect(config: Arc<ClientConfig>, server: SocketAddr) -> Self {
        let mut c = Self { session: Session::client(Instant::now(), config, server), socket: fresh_socket(), server };
        c.run_until("handshake", |e| matches!(e, Event::Connected));
        c
    }

    /// Carry on from a new local port, as after a NAT rebinding.
    fn rebind(&mut self) {
        self.socket = fresh_socket();
    }

    /// Send `msg` and wait for it to come back.
    fn echo(&mut self, msg: &[u8]) {
        self.session.send(msg).unwrap();
        self.run_until("echo", |e| matches!(e, Event::ApplicationData(d) if d == msg));
    }

    /// Send what the session has to send, read what comes, run its timers, until an event
    /// matches `done`.
    fn run_until(&mut self, what: &str, mut done: impl FnMut(&Event) -> bool) {
        let deadline = Instant::now() + LONG;
        let mut buf = vec![0u8; 65536];
        loop {
            while let Some(t) = self.session.poll_transmit() {
                assert_eq!(t.destination, self.server);
                self.socket.send_to(&t.contents, t.destination).unwrap();
            }
            while let Some(e) = self.session.poll_event() {
                if done(&e) {
                    return;
                }
            }
            let now = Instant::now();
            assert!(now < deadline, "{what}: nothing after {LONG:?}");
            let wake = self.session.poll_timeout().unwrap_or(deadline).min(deadline);
            self.socket
                .set_read_timeout(Some(wake.saturating_duration_since(now).max(Duration::from_millis(1))))
                .unwrap();
            match self.socket.recv_from(&mut buf) {
                Ok((n, _)) => self.session.handle(Instant::now(), &buf[..n]).unwrap(),
                Err(_) => self.session.handle_timeout(Instant::now()).unwrap(),
            }
        }
    }
}

fn fresh_socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

#[test]
fn a_client_that_moves_is_handed_to_the_worker_of_its_cid() {
    moves_are_handed_over(ProtocolVersion::Dtls12);
}

/// The same in DTLS 1.3: the CID follows the unified header's first byte.
#[test]
fn a_dtls13_client_that_moves_is_handed_to_the_worker_of_its_cid() {
    moves_are_handed_over(ProtocolVersion::Dtls13);
}

fn moves_are_handed_over(version: ProtocolVersion) {
    const MOVES: u64 = 20;
    let id = identity();
    let server = std_echo_server(server_config(&id, true), two_workers());
    let mut client = MovingClient::connect(client_config_for(&id, true, version), server.local_addr());
    assert_eq!(client.session.protocol_version(), Some(version));
    client.echo(b"before moving");
    for i in 0..MOVES {
        client.rebind();
        client.echo(format!("after move {i}").as_bytes());
    }
    // With two workers, the kernel's hash of twenty new ports sent some to the other worker
    // (all twenty on the owner: one chance in a million), which handed them over.
    wait_until("every move counted", || server.stats().address_changes == MOVES);
    let stats = settled_stats(|| server.worker_stats());
    let (sent, received, dropped) = handoffs(&stats);
    assert!(sent > 0, "no hand-off in {MOVES} moves: {stats:?}");
    assert_eq!((received, dropped), (sent, 0), "{stats:?}");
    // Only the owner counted the moves; one worker handed off, the other received.
    assert_eq!(stats.iter().filter(|w| w.endpoint.address_changes == MOVES).count(), 1, "{stats:?}");
    assert_eq!(stats.iter().filter(|w| w.handoffs_received > 0).count(), 1, "{stats:?}");
    assert_eq!(server.session_count(), 1);
    server.close();
    server.closed();
}

/// The same through the tokio adapter's workers (the moving client blocks, on a thread of
/// its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_moves_is_handed_over_by_tokio_workers() {
    const MOVES: u64 = 20;
    let id = identity();
    let server = tokio_echo_server(server_config(&id, true), two_workers()).await;
    let (config, addr) = (client_config(&id, true), server.local_addr());
    tokio::task::spawn_blocking(move || {
        let mut client = MovingClient::connect(config, addr);
        for i in 0..MOVES {
            client.rebind();
            client.echo(format!("after move {i}").as_bytes());
        }
    })
    .await
    .unwrap();
    let deadline = Instant::now() + LONG;
    while server.stats().address_changes != MOVES {
        assert!(Instant::now() < deadline, "{:?}", server.worker_stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stats = settled_stats_async(|| server.worker_stats()).await;
    let (sent, received, dropped) = handoffs(&stats);
    assert!(sent > 0, "no hand-off in {MOVES} moves: {stats:?}");
    assert_eq!((received, dropped), (sent, 0), "{stats:?}");
    server.close();
    tokio::time::timeout(LONG, server.closed()).await.unwrap();
}

#[test]
fn without_connection_ids_workers_serve_without_hand_off() {
    let id = identity();
    let server = std_echo_server(server_config(&id, false), two_workers());
    let client = client_config(&id, false);
    let sessions: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let s = std_udp::connect(server.local_addr(), client.clone()).unwrap();
            assert_eq!(s.connection_ids(), None);
            s.send(&[i as u8]).unwrap();
            assert_eq!(s.recv_timeout(LONG).unwrap(), Some(vec![i as u8]));
            s
        })
        .collect();
    wait_until("every session counted", || server.session_count() == CLIENTS);
    let stats = server.worker_stats();
    assert!(stats.iter().all(|w| w.sessions > 0), "the kernel spread {CLIENTS} ports over both: {stats:?}");
    assert_eq!(handoffs(&stats), (0, 0, 0));
    drop(sessions);
    server.close();
    server.closed();
}

#[test]
fn workers_need_room_in_the_cid() {
    let id = identity();
    // 8-byte CIDs after a 4-byte prefix: no room for a worker byte and 4 random bytes.
    let tight = ServerConfig::builder()
        .certificate_pem(id.cert.as_bytes(), id.key.as_bytes())
        .unwrap()
        .connection_ids(8)
        .connection_id_prefix(&[1, 2, 3, 4])
        .build()
        .unwrap();
    let refused = std_udp::listen("127.0.0.1:0", tight, two_workers());
    assert!(matches!(refused, Err(AdapterError::Dtls(Error::InvalidConfig(_)))), "{refused:?}");
    // More workers than a byte tells apart.
    let options = EndpointOptions { workers: 257, ..EndpointOptions::default() };
    let refused = std_udp::listen("127.0.0.1:0", server_config(&id, true), options);
    assert!(matches!(refused, Err(AdapterError::Dtls(Error::InvalidConfig(_)))), "{refused:?}");
    // A client-only endpoint of several workers makes no sense.
    let refused = std_udp::UdpEndpoint::bind("127.0.0.1:0", two_workers());
    assert!(matches!(refused, Err(AdapterError::Dtls(Error::InvalidConfig(_)))), "{refused:?}");
}

/// Servers a two-worker endpoint connects to: the kernel hashes each one's answers to
/// either worker, so with this many, the chance that none of them reaches the second worker
/// (and no hand-off is exercised) is 2^-12.
const UPSTREAMS: usize = 12;

/// A two-worker std endpoint that also serves connects to `UPSTREAMS` echo servers from
/// its shared port, with CIDs both ways: every handshake completes and every echo returns,
/// whichever worker the kernel gives the answers to; the second worker hands them to the
/// first, which runs `connect`.
#[test]
fn std_workers_connect_out_from_their_shared_port() {
    let id = identity();
    let endpoint = std_echo_server(server_config(&id, true), two_workers());
    let upstreams: Vec<_> =
        (0..UPSTREAMS).map(|_| std_echo_server(server_config(&id, true), EndpointOptions::default())).collect();
    let client = client_config(&id, true);
    let sessions: Vec<_> = upstreams
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let s = endpoint.connect(u.local_addr(), client.clone()).unwrap();
            let msg = format!("to upstream {i}");
            s.send(msg.as_bytes()).unwrap();
            assert_eq!(s.recv_timeout(LONG).unwrap(), Some(msg.into_bytes()), "upstream {i}");
            s
        })
        .collect();
    let stats = settled_stats(|| endpoint.worker_stats());
    assert_eq!(stats[0].sessions, UPSTREAMS, "{stats:?}");
    assert_eq!(stats[0].endpoint.client_sessions, UPSTREAMS as u64, "{stats:?}");
    let (sent, received, dropped) = handoffs(&stats);
    assert!(sent > 0 && sent == received && dropped == 0, "{stats:?}");
    assert_eq!(stats[1].handoffs_sent, sent, "only the second worker hands over: {stats:?}");
    // The endpoint still serves: a client of its own reaches it.
    let s = std_udp::connect(endpoint.local_addr(), client).unwrap();
    s.send(b"inbound").unwrap();
    assert_eq!(s.recv_timeout(LONG).unwrap(), Some(b"inbound".to_vec()));
    drop((s, sessions));
    endpoint.close();
    endpoint.closed();
    assert!(endpoint.is_finished());
}

/// The same with tokio workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_workers_connect_out_from_their_shared_port() {
    let id = identity();
    let endpoint = tokio_udp::listen("127.0.0.1:0", server_config(&id, true), two_workers()).await.unwrap();
    let upstreams: Vec<_> =
        (0..UPSTREAMS).map(|_| std_echo_server(server_config(&id, true), EndpointOptions::default())).collect();
    let client = client_config(&id, true);
    let mut sessions = Vec::new();
    for (i, u) in upstreams.iter().enumerate() {
        let mut s = endpoint.connect(u.local_addr(), client.clone()).await.unwrap();
        let msg = format!("to upstream {i}");
        s.send(msg.as_bytes()).await.unwrap();
        let echo = tokio::time::timeout(LONG, s.recv()).await.unwrap();
        assert_eq!(echo, Some(msg.into_bytes()), "upstream {i}");
        sessions.push(s);
    }
    let stats = settled_stats_async(|| endpoint.worker_stats()).await;
    assert_eq!(stats[0].endpoint.client_sessions, UPSTREAMS as u64, "{stats:?}");
    let (sent, received, dropped) = handoffs(&stats);
    assert!(sent > 0 && sent == received && dropped == 0, "{stats:?}");
    assert_eq!(stats[1].handoffs_sent, sent, "only the second worker hands over: {stats:?}");
    drop(sessions);
    endpoint.close();
    tokio::time::timeout(LONG, endpoint.closed()).await.unwrap();
    assert!(endpoint.is_finished());
}

/// An upstream echo server on a socket that it changes, as a server whose NAT mapping or
/// failover address changes would: after echoing `move` it sends from a new port (and still
/// reads the old ones, where the client's records keep arriving until it moves too). A
/// sans-IO server session, so nothing but its address changes. Returns its first address
/// and the thread, which ends with the session and returns the number of moves.
fn moving_echo_server(config: Arc<ServerConfig>) -> (SocketAddr, std::thread::JoinHandle<usize>) {
    let first = fresh_socket();
    first.set_nonblocking(true).unwrap();
    let addr = first.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let mut sockets = vec![first];
        let mut session: Option<Session> = None;
        let (mut buf, mut moves) = (vec![0u8; 65536], 0);
        let deadline = Instant::now() + LONG;
        loop {
            assert!(Instant::now() < deadline, "the moving server is still running after {LONG:?}");
            let now = Instant::now();
            for s in &sockets {
                while let Ok((n, from)) = s.recv_from(&mut buf) {
                    let session = session.get_or_insert_with(|| Session::server(now, config.clone(), from));
                    let _ = session.handle(now, &buf[..n]);
                }
            }
            let Some(session) = session.as_mut() else {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            };
            if session.poll_timeout().is_some_and(|t| t <= now) {
                let _ = session.handle_timeout(now);
            }
            while let Some(e) = session.poll_event() {
                match e {
                    Event::ApplicationData(d) => {
                        if d == b"move" {
                            let s = fresh_socket();
                            s.set_nonblocking(true).unwrap();
                            sockets.push(s);
                            moves += 1;
                        }
                        session.send(&d).unwrap();
                    }
                    Event::Closed => return moves,
                    _ => {}
                }
            }
            let out = sockets.last().unwrap();
            while let Some(t) = session.poll_transmit() {
                let _ = out.send_to(&t.contents, t.destination);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    (addr, thread)
}

/// A client configuration whose 8-byte CIDs leave room for a workers' prefix and worker byte.
fn client_with_long_cids(id: &Identity) -> Arc<ClientConfig> {
    ClientConfig::builder()
        .root_certificates_pem(id.cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .connection_ids(8)
        .build()
        .unwrap()
}

/// A two-worker endpoint's client session follows a server that changes its address: the
/// session's CIDs name the worker that runs `connect`, so the server's records from each
/// new address reach it whichever worker the kernel gives them to (the other hands them
/// over), the return routability check to the new address completes, and every echo
/// returns. With CIDs that did not name their worker, the records from half the new
/// addresses would end at the other worker, unknown there.
#[test]
fn workers_follow_a_connected_server_that_moves() {
    const MOVES: usize = 8;
    let id = identity();
    let endpoint = std_echo_server(server_config(&id, true), two_workers());
    let (upstream, server) = moving_echo_server(server_config(&id, true));
    let client = client_with_long_cids(&id);
    let s = endpoint.connect(upstream, client).unwrap();
    let (ours, _) = s.connection_ids().unwrap();
    assert_eq!(ours[..3], [PREFIX[0], PREFIX[1], 0], "the CID names worker 0: {ours:02x?}");
    let step = Duration::from_secs(10);
    for i in 0..MOVES {
        s.send(b"move").unwrap();
        assert_eq!(s.recv_timeout(step).unwrap().as_deref(), Some(&b"move"[..]), "move {i}");
        let msg = format!("after move {i}");
        s.send(msg.as_bytes()).unwrap();
        assert_eq!(s.recv_timeout(step).unwrap(), Some(msg.into_bytes()), "after move {i}");
    }
    wait_until("every move counted", || endpoint.stats().address_changes == MOVES as u64);
    let stats = settled_stats(|| endpoint.worker_stats());
    let (sent, _, dropped) = handoffs(&stats);
    assert!(sent > 0 && dropped == 0, "{stats:?}");
    drop(s);
    assert_eq!(server.join().unwrap(), MOVES);
    endpoint.close();
    endpoint.closed();
}

/// The same with tokio workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_workers_follow_a_connected_server_that_moves() {
    const MOVES: usize = 8;
    let id = identity();
    let endpoint = tokio_udp::listen("127.0.0.1:0", server_config(&id, true), two_workers()).await.unwrap();
    let (upstream, server) = moving_echo_server(server_config(&id, true));
    let client = client_with_long_cids(&id);
    let mut s = endpoint.connect(upstream, client).await.unwrap();
    assert_eq!(s.connection_ids().unwrap().0[..3], [PREFIX[0], PREFIX[1], 0]);
    let step = Duration::from_secs(10);
    for i in 0..MOVES {
        for msg in [b"move".to_vec(), format!("after move {i}").into_bytes()] {
            s.send(&msg).await.unwrap();
            let echo = tokio::time::timeout(step, s.recv()).await.unwrap();
            assert_eq!(echo, Some(msg), "move {i}");
        }
    }
    let deadline = Instant::now() + LONG;
    while endpoint.stats().address_changes != MOVES as u64 {
        assert!(Instant::now() < deadline, "{:?}", endpoint.worker_stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stats = settled_stats_async(|| endpoint.worker_stats()).await;
    assert_eq!(stats[0].endpoint.address_changes, MOVES as u64, "the connecting worker's session moved: {stats:?}");
    drop(s);
    assert_eq!(tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap(), MOVES);
    endpoint.close();
    tokio::time::timeout(LONG, endpoint.closed()).await.unwrap();
}
