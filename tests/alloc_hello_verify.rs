//! The stateless answer to a ClientHello from an unknown peer allocates nothing once the
//! endpoint's output queue and buffer pool reached their steady size: a flood of cookie-less
//! ClientHellos costs the server no heap (docs/security.md item 7).
//!
//! A binary of its own, and the allocator counts only on the thread that turned counting on:
//! the test harness allocates on its own threads while the test runs (a CI run once counted 4
//! such allocations).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use dtls_engine::{ClientConfig, Endpoint, EndpointConfig, ServerConfig, Session};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
thread_local! {
    /// Count allocations made by this thread.
    static ON: Cell<bool> = const { Cell::new(false) };
}

fn on() -> bool {
    ON.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if on() {
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
        if on() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn hello_verify_request_allocates_nothing() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    let scfg = ServerConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let ccfg = ClientConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .root_certificates_pem(cert_pem.as_bytes())
        .unwrap()
        .server_name("localhost")
        .build()
        .unwrap();
    let now = Instant::now();
    let server_addr: SocketAddr = "127.0.0.1:4433".parse().unwrap();
    let hello = Session::client(now, ccfg, server_addr).poll_transmit().unwrap().contents;
    let mut ep = Endpoint::new(now, EndpointConfig { server: Some(scfg), ..EndpointConfig::default() });
    let mut out = Vec::with_capacity(256);
    let peer = |i: u32| SocketAddr::from((i.to_be_bytes(), 5000));
    for i in 0..16 {
        ep.handle(now, peer(i), &hello);
        assert!(ep.poll_transmit_into(&mut out).is_some());
    }
    ON.set(true);
    for i in 16..10_016 {
        ep.handle(now, peer(i), &hello);
        assert_eq!(ep.poll_transmit_into(&mut out), Some(peer(i)));
    }
    ON.set(false);
    assert_eq!(ep.session_count(), 0);
    assert_eq!(ep.stats().hello_verify_requests_sent, 10_016);
    assert_eq!(ALLOCS.load(Ordering::Relaxed), 0, "allocations answering 10,000 ClientHellos");
}
