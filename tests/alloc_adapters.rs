//! Heap allocations per application record through the std and tokio adapters, over real
//! loopback UDP: a client echoes records off a server on another endpoint, both in this
//! process, and the allocator counts every thread (handles, driver threads and tasks, the
//! std reader thread). An application that recycles what it receives
//! (`UdpSession::recycle`) makes records without allocating: the send buffer travels to the
//! driver and back with the answer, received records reuse the buffers given back, and a
//! std driver is woken by one datagram however many requests wait.
//!
//! Measured: none at all, in either adapter and either version. The bound below leaves room
//! for rare ones (a record that arrives while every recycled buffer is in use, a tokio
//! block) and fails at anything made per record, or per datagram.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dtls_engine::adapter::{EndpointOptions, WorkerStats, std_udp, tokio_udp};
use dtls_engine::{ClientConfig, Event, ProtocolVersion, ServerConfig, Session};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ON: AtomicBool = AtomicBool::new(false);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ON.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ON.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counter is process-wide: the tests of this file run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const LONG: Duration = Duration::from_secs(30);
/// Echoes before counting: pools and queues reach their steady size.
const WARM: usize = 200;
/// Echoes counted: each is two records sent and two received.
const ECHOES: usize = 2000;
/// Most allocations allowed for `ECHOES` echoes (4 × `ECHOES` records): one per 400
/// records. Anything made per record, or per datagram, is 400 times more.
const BOUND: u64 = (ECHOES as u64 * 4) / 400;

fn configs(version: ProtocolVersion) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    configs_with(version, None)
}

/// With `cids`, both sides ask for connection IDs of that length.
fn configs_with(version: ProtocolVersion, cids: Option<usize>) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (c.cert.pem(), c.signing_key.serialize_pem());
    let server = ServerConfig::builder()
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .unwrap()
        .max_version(ProtocolVersion::Dtls13);
    let client = ClientConfig::builder()
        .root_certificates_pem(cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .max_version(version);
    match cids {
        Some(n) => (server.connection_ids(n).build().unwrap(), client.connection_ids(n).build().unwrap()),
        None => (server.build().unwrap(), client.build().unwrap()),
    }
}

/// A thread that echoes the first session `server` accepts, recycling what it receives,
/// until the session ends.
fn std_echo(server: &Arc<std_udp::UdpEndpoint>) -> std::thread::JoinHandle<()> {
    let acceptor = server.clone();
    std::thread::spawn(move || {
        let s = acceptor.accept().unwrap();
        while let Some(d) = s.recv() {
            if s.send(&d).is_err() {
                break;
            }
            s.recycle(d);
        }
    })
}

/// Count the allocations of `f` on every thread.
fn counted(f: impl FnOnce()) -> u64 {
    ALLOCS.store(0, Ordering::Relaxed);
    ON.store(true, Ordering::SeqCst);
    f();
    ON.store(false, Ordering::SeqCst);
    ALLOCS.load(Ordering::Relaxed)
}

fn report(what: &str, allocs: u64) {
    let per_record = allocs as f64 / (ECHOES * 4) as f64;
    println!("{what}: {allocs} allocations for {} records ({per_record:.4} per record)", ECHOES * 4);
    assert!(allocs <= BOUND, "{what}: {allocs} allocations for {} records (bound {BOUND})", ECHOES * 4);
}

#[test]
fn std_sessions_echo_without_allocating_per_record() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for version in [ProtocolVersion::Dtls12, ProtocolVersion::Dtls13] {
        let (scfg, ccfg) = configs(version);
        let server = Arc::new(std_udp::listen("127.0.0.1:0", scfg, EndpointOptions::default()).unwrap());
        let echo = std_echo(&server);
        // A connected client: its datagrams come through the reader thread.
        let client = std_udp::connect(server.local_addr(), ccfg).unwrap();
        assert_eq!(client.protocol(), version.name());
        let payload = [0x5a; 1000];
        let echo_once = || {
            client.send(&payload).unwrap();
            let d = client.recv_timeout(LONG).unwrap().unwrap();
            assert_eq!(d.len(), payload.len());
            client.recycle(d);
        };
        (0..WARM).for_each(|_| echo_once());
        let allocs = counted(|| (0..ECHOES).for_each(|_| echo_once()));
        report(&format!("std, {version:?}"), allocs);
        client.close();
        client.closed();
        echo.join().unwrap();
        server.close();
        server.closed();
    }
}

#[test]
fn tokio_sessions_echo_without_allocating_per_record() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for version in [ProtocolVersion::Dtls12, ProtocolVersion::Dtls13] {
        let (scfg, ccfg) = configs(version);
        let (echo, mut client) = rt.block_on(async {
            let server = tokio_udp::listen("127.0.0.1:0", scfg, EndpointOptions::default()).await.unwrap();
            let addr = server.local_addr();
            let echo = tokio::spawn(async move {
                // The server's session, split: the receiving half echoes through a send half.
                let (mut rx, tx) = server.accept().await.unwrap().into_split();
                while let Some(d) = rx.recv().await {
                    if tx.send(&d).await.is_err() {
                        break;
                    }
                    rx.recycle(d);
                }
                server
            });
            (echo, tokio_udp::connect(addr, ccfg).await.unwrap())
        });
        assert_eq!(client.protocol(), version.name());
        let payload = [0x5a; 1000];
        let mut echoes = |n: usize| {
            rt.block_on(async {
                for _ in 0..n {
                    client.send(&payload).await.unwrap();
                    let d = tokio::time::timeout(LONG, client.recv()).await.unwrap().unwrap();
                    assert_eq!(d.len(), payload.len());
                    client.recycle(d);
                }
            })
        };
        echoes(WARM);
        let allocs = counted(|| echoes(ECHOES));
        report(&format!("tokio, {version:?}"), allocs);
        rt.block_on(async {
            client.close();
            client.closed().await;
            let server = echo.await.unwrap();
            server.close();
            server.closed().await;
        });
    }
}

/// A sans-IO client on a socket it can change, driven here without allocating (it sends
/// through `poll_transmit_into` and recycles what it receives), so that what the allocator
/// counts is the server's.
struct MovingClient {
    session: Session,
    socket: UdpSocket,
    server: SocketAddr,
    wire: Vec<u8>,
    buf: Vec<u8>,
}

impl MovingClient {
    fn connect(config: Arc<ClientConfig>, server: SocketAddr) -> Self {
        let socket = Self::fresh_socket();
        let session = Session::client(Instant::now(), config, server);
        let mut c = Self { session, socket, server, wire: Vec::with_capacity(2048), buf: vec![0; 65536] };
        c.run_until(|e| matches!(e, Event::Connected));
        c
    }

    fn fresh_socket() -> UdpSocket {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        s
    }

    fn rebind(&mut self) {
        self.socket = Self::fresh_socket();
    }

    fn echo(&mut self, payload: &[u8]) {
        self.session.send(payload).unwrap();
        self.run_until(|e| matches!(e, Event::ApplicationData(d) if d == payload));
    }

    fn run_until(&mut self, mut done: impl FnMut(&Event) -> bool) {
        let deadline = Instant::now() + LONG;
        loop {
            while let Some(to) = self.session.poll_transmit_into(&mut self.wire) {
                assert_eq!(to, self.server);
                self.socket.send_to(&self.wire, to).unwrap();
            }
            let mut finished = false;
            while let Some(e) = self.session.poll_event() {
                finished |= done(&e);
                if let Event::ApplicationData(d) = e {
                    self.session.recycle(d);
                }
            }
            if finished {
                return;
            }
            let now = Instant::now();
            assert!(now < deadline, "nothing after {LONG:?}");
            if let Ok(n) = self.socket.recv(&mut self.buf) {
                let _ = self.session.handle(now, &self.buf[..n]);
            }
            if self.session.poll_timeout().is_some_and(|t| t <= now) {
                let _ = self.session.handle_timeout(now);
            }
        }
    }
}

fn handed_over(stats: &[WorkerStats]) -> u64 {
    stats.iter().map(|w| w.handoffs_sent).sum()
}

/// A client of a two-worker server moves until the kernel gives its new address to the
/// worker its CID does not name, so every record it sends is handed over; then its echoes
/// are counted. `server` is the server's address and a way to read its workers' statistics.
fn handed_over_echoes(what: &str, ccfg: Arc<ClientConfig>, server: SocketAddr, stats: impl Fn() -> Vec<WorkerStats>) {
    let payload = [0x5a; 1000];
    let mut client = MovingClient::connect(ccfg, server);
    client.echo(&payload);
    let mut moves = 0;
    loop {
        client.rebind();
        moves += 1;
        let before = handed_over(&stats());
        client.echo(&payload);
        if handed_over(&stats()) > before {
            break;
        }
        assert!(moves < 40, "{what}: 40 new ports, none hashed to the other worker");
    }
    (0..WARM).for_each(|_| client.echo(&payload));
    let before = handed_over(&stats());
    let allocs = counted(|| (0..ECHOES).for_each(|_| client.echo(&payload)));
    let handed = handed_over(&stats()) - before;
    assert!(handed >= ECHOES as u64, "{what}: only {handed} records were handed over");
    report(&format!("{what}, every record from the client handed to its worker"), allocs);
}

fn two_workers() -> EndpointOptions {
    EndpointOptions { workers: 2, ..EndpointOptions::default() }
}

#[test]
fn std_workers_hand_records_over_without_allocating() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for version in [ProtocolVersion::Dtls12, ProtocolVersion::Dtls13] {
        let (scfg, ccfg) = configs_with(version, Some(8));
        let server = Arc::new(std_udp::listen("127.0.0.1:0", scfg, two_workers()).unwrap());
        let echo = std_echo(&server);
        handed_over_echoes(&format!("std workers, {version:?}"), ccfg, server.local_addr(), || server.worker_stats());
        server.close();
        echo.join().unwrap();
        server.closed();
    }
}

#[test]
fn tokio_workers_hand_records_over_without_allocating() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for version in [ProtocolVersion::Dtls12, ProtocolVersion::Dtls13] {
        let (scfg, ccfg) = configs_with(version, Some(8));
        let server = rt.block_on(async {
            let server = Arc::new(tokio_udp::listen("127.0.0.1:0", scfg, two_workers()).await.unwrap());
            let acceptor = server.clone();
            tokio::spawn(async move {
                let mut s = acceptor.accept().await.unwrap();
                while let Some(d) = s.recv().await {
                    if s.send(&d).await.is_err() {
                        break;
                    }
                    s.recycle(d);
                }
            });
            server
        });
        handed_over_echoes(&format!("tokio workers, {version:?}"), ccfg, server.local_addr(), || server.worker_stats());
        rt.block_on(async {
            server.close();
            server.closed().await;
        });
    }
}
