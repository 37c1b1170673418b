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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use dtls_engine::adapter::{EndpointOptions, std_udp, tokio_udp};
use dtls_engine::{ClientConfig, ProtocolVersion, ServerConfig};

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
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (c.cert.pem(), c.signing_key.serialize_pem());
    let server = ServerConfig::builder()
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .unwrap()
        .max_version(ProtocolVersion::Dtls13)
        .build()
        .unwrap();
    let client = ClientConfig::builder()
        .root_certificates_pem(cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .max_version(version)
        .build()
        .unwrap();
    (server, client)
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
        let acceptor = server.clone();
        let echo = std::thread::spawn(move || {
            let s = acceptor.accept().unwrap();
            while let Some(d) = s.recv() {
                if s.send(&d).is_err() {
                    break;
                }
                s.recycle(d);
            }
        });
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
