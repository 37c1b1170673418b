//! ClientHello floods against one sans-IO `Endpoint` with a server configuration
//! (docs/security.md items 7 and 11).
//!
//! - A million cookie-less ClientHellos from distinct spoofed addresses create no state,
//!   get exactly one HelloVerifyRequest each, never a larger one, and leave the heap flat
//!   (measured by a counting global allocator in this test binary).
//! - ClientHellos with valid cookies from more addresses than `max_sessions` create at most
//!   `max_sessions` sessions; the rest are refused and counted.
//!
//! Run with `--nocapture` to see the memory and timing figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use dtls_engine::{ClientConfig, Endpoint, EndpointConfig, EndpointEvent, ProtocolVersion, ServerConfig, Session};

// ---------------------------------------------------------------------------------------
// A counting allocator: live heap bytes and allocation calls of the whole test binary.

struct Counting;

static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds the `GlobalAlloc`
// contract; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same layout, forwarded to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same layout, forwarded to the system allocator.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by `System` with `layout`; the caller upholds the rest.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_bytes() -> u64 {
    LIVE_BYTES.load(Ordering::Relaxed)
}

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// The allocator counts every thread; the tests of this binary take turns so that one
/// test's measurements never include another's allocations.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------
// Configurations and addresses

const SERVER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 4433));

fn cert() -> &'static (String, String) {
    static CERT: OnceLock<(String, String)> = OnceLock::new();
    CERT.get_or_init(|| {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
        (c.cert.pem(), c.signing_key.serialize_pem())
    })
}

fn server_config() -> Arc<ServerConfig> {
    let (cert, key) = cert();
    ServerConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .expect("server certificate")
        .rng_seed([1; 32])
        .build()
        .expect("server config")
}

fn client_config() -> Arc<ClientConfig> {
    let (cert, _) = cert();
    ClientConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .root_certificates_pem(cert.as_bytes())
        .expect("root")
        .server_name("localhost")
        .rng_seed([2; 32])
        .build()
        .expect("client config")
}

fn server_endpoint(now: Instant, max_sessions: usize) -> Endpoint {
    let config =
        EndpointConfig { server: Some(server_config()), max_sessions, rng_seed: Some([3; 32]), ..Default::default() };
    Endpoint::new(now, config)
}

/// The `i`-th spoofed source: 10.0.0.0/8 addresses, 1,000 ports each (all distinct for
/// `i` below 16.7 billion).
fn spoofed(i: u32) -> SocketAddr {
    let ip = Ipv4Addr::from(0x0a00_0000 + i / 1000);
    SocketAddr::V4(SocketAddrV4::new(ip, 10_000 + (i % 1000) as u16))
}

/// The first datagram of a real client: a ClientHello with an empty cookie.
fn client_hello(now: Instant) -> Vec<u8> {
    let mut client = Session::client(now, client_config(), SERVER);
    client.poll_transmit().expect("a ClientHello").contents
}

// ---------------------------------------------------------------------------------------
// The floods

const FLOOD: u32 = 1_000_000;
const WARM_UP: u32 = 1_000;

/// A million ClientHellos without cookies from a million spoofed addresses, 100 µs apart
/// (a 100 s flood, so the cookie secret rotates along the way).
#[test]
fn million_spoofed_client_hellos_create_no_state_and_keep_memory_flat() {
    let _turn = one_at_a_time();
    let start = Instant::now();
    let mut now = start;
    let hello = client_hello(now);
    let mut endpoint = server_endpoint(now, EndpointConfig::default().max_sessions);
    let stats_before = endpoint.stats().clone();

    let mut live_after_warm_up = 0;
    let mut allocations_after_warm_up = 0;
    let mut largest_hvr = 0;
    let timer = Instant::now();
    for i in 0..FLOOD {
        let from = spoofed(i);
        endpoint.handle(now, from, &hello);
        // Exactly one HelloVerifyRequest, to this address, no larger than the hello.
        let hvr = endpoint.poll_transmit().unwrap_or_else(|| panic!("no HelloVerifyRequest for hello {i}"));
        assert_eq!(hvr.destination, from, "hello {i}");
        assert!(hvr.contents.len() <= hello.len(), "HVR {} > ClientHello {}", hvr.contents.len(), hello.len());
        largest_hvr = largest_hvr.max(hvr.contents.len());
        drop(hvr);
        assert!(endpoint.poll_transmit().is_none(), "a second datagram for hello {i}");
        assert_eq!(endpoint.session_count(), 0, "hello {i} created a session");
        if i + 1 == WARM_UP {
            live_after_warm_up = live_bytes();
            allocations_after_warm_up = allocations();
        }
        now += Duration::from_micros(100);
    }
    let live_after_flood = live_bytes();
    let per_hello = (allocations() - allocations_after_warm_up) as f64 / f64::from(FLOOD - WARM_UP);
    let elapsed = timer.elapsed();

    // No state: no session, no timer, no event, and the counters say why.
    assert_eq!(endpoint.session_count(), 0);
    assert_eq!(endpoint.poll_timeout(), None);
    assert!(endpoint.poll_event().is_none());
    let stats = endpoint.stats();
    assert_eq!(stats.packets_received - stats_before.packets_received, u64::from(FLOOD));
    assert_eq!(stats.bytes_received, u64::from(FLOOD) * hello.len() as u64);
    assert_eq!(stats.hello_verify_requests_sent, u64::from(FLOOD));
    assert_eq!(stats.packets_sent, u64::from(FLOOD));
    assert!(stats.bytes_sent <= stats.bytes_received, "amplification: {stats:?}");
    assert_eq!((stats.server_sessions, stats.client_sessions, stats.sessions_replaced), (0, 0, 0));
    assert_eq!((stats.busy_rejections, stats.session_limit_rejections), (0, 0));
    assert_eq!((stats.datagrams_dropped, stats.amplification_refusals), (0, 0));

    println!(
        "flood: {FLOOD} ClientHellos of {} bytes, HelloVerifyRequests of at most {largest_hvr} bytes; \
         live heap {live_after_warm_up} B after {WARM_UP}, {live_after_flood} B after {FLOOD}; \
         {per_hello:.2} allocations per ClientHello; {:.1} s ({:.2} µs per ClientHello)",
        hello.len(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / f64::from(FLOOD),
    );
    // Flat: nothing is kept per hello. The slack covers allocator-independent noise such
    // as a lazily initialised thread-local of the test harness.
    let growth = live_after_flood.abs_diff(live_after_warm_up);
    assert!(growth <= 1024, "live heap moved by {growth} bytes: {live_after_warm_up} -> {live_after_flood}");
}

/// docs/security.md item 7, the other half: once cookies verify, state is bounded by
/// `max_sessions`. Every address first gets its cookie (while the endpoint is empty), then
/// all of them return with it at once.
#[test]
fn valid_cookies_beyond_max_sessions_are_refused_and_counted() {
    const MAX_SESSIONS: usize = 50;
    const PEERS: u32 = 200;
    let _turn = one_at_a_time();
    let now = Instant::now();
    let config = client_config();
    let mut endpoint = server_endpoint(now, MAX_SESSIONS);

    // Round 1: a ClientHello from every address; each answer goes to its client, which
    // repeats its hello with the cookie.
    let mut with_cookie = Vec::new();
    for i in 0..PEERS {
        let from = spoofed(i);
        let mut client = Session::client(now, Arc::clone(&config), SERVER);
        let first = client.poll_transmit().expect("ClientHello").contents;
        endpoint.handle(now, from, &first);
        let hvr = endpoint.poll_transmit().expect("HelloVerifyRequest");
        assert_eq!(hvr.destination, from);
        client.handle(now, &hvr.contents).expect("client takes the cookie");
        let second = client.poll_transmit().expect("ClientHello with cookie").contents;
        assert!(second.len() > first.len(), "the second hello carries the cookie");
        with_cookie.push((from, second));
    }
    assert_eq!(endpoint.session_count(), 0);
    assert_eq!(endpoint.stats().hello_verify_requests_sent, u64::from(PEERS));

    // Round 2: every cookie is valid, but only MAX_SESSIONS sessions may exist.
    let mut answered = std::collections::HashSet::new();
    for (from, hello) in &with_cookie {
        endpoint.handle(now, *from, hello);
        while let Some(t) = endpoint.poll_transmit() {
            answered.insert(t.destination);
        }
        assert!(endpoint.session_count() <= MAX_SESSIONS);
    }
    let accepted =
        std::iter::from_fn(|| endpoint.poll_event()).filter(|(_, e)| matches!(e, EndpointEvent::Accepted)).count();
    let stats = endpoint.stats();
    assert_eq!(endpoint.session_count(), MAX_SESSIONS);
    assert_eq!(accepted, MAX_SESSIONS);
    assert_eq!(stats.server_sessions, MAX_SESSIONS as u64);
    assert_eq!(stats.session_limit_rejections, u64::from(PEERS) - MAX_SESSIONS as u64);
    // The refused peers got nothing: no second HelloVerifyRequest, no server flight.
    assert_eq!(stats.hello_verify_requests_sent, u64::from(PEERS));
    assert_eq!(answered.len(), MAX_SESSIONS);
    let first_refused = with_cookie[MAX_SESSIONS].0;
    assert!(!answered.contains(&first_refused) && endpoint.handle_for(first_refused).is_none());
    println!(
        "bounded: {PEERS} peers with valid cookies, max_sessions {MAX_SESSIONS}: {} sessions, {} refusals",
        endpoint.session_count(),
        stats.session_limit_rejections
    );
}

// ---------------------------------------------------------------------------------------
// DTLS 1.3: the pre-validation budget

fn server_config13() -> Arc<ServerConfig> {
    let (cert, key) = cert();
    ServerConfig::builder()
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .expect("server certificate")
        .rng_seed([1; 32])
        .max_version(ProtocolVersion::Dtls13)
        .build()
        .expect("server config")
}

/// The datagrams of a real post-quantum DTLS 1.3 first ClientHello (default groups: an
/// X25519MLKEM768 share), at MTU 1200.
fn pq_client_hello(now: Instant) -> Vec<Vec<u8>> {
    let (cert, _) = cert();
    let config = ClientConfig::builder()
        .root_certificates_pem(cert.as_bytes())
        .expect("root")
        .server_name("localhost")
        .rng_seed([2; 32])
        .max_version(ProtocolVersion::Dtls13)
        .build()
        .expect("client config");
    let mut client = Session::client(now, config, SERVER);
    std::iter::from_fn(|| client.poll_transmit().map(|t| t.contents)).collect()
}

/// xorshift64*: garbage without a dependency.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// First fragments of post-quantum hellos (some claiming 12 KB) from a hundred thousand
/// spoofed addresses, each followed by an inconsistent second fragment, mixed with random
/// garbage and stray second fragments from other addresses: the pre-validation table
/// stays within its budget and the heap flat, every refusal is counted, nothing is sent
/// and no session is created.
#[test]
fn dtls13_first_fragment_flood_stays_within_the_prevalidation_budget() {
    const HELLOS: u32 = 100_000;
    const WARM_UP: u32 = 5_000;
    let _turn = one_at_a_time();
    let start = Instant::now();
    let mut now = start;
    let fragments = pq_client_hello(now);
    assert!(fragments.len() >= 2, "the post-quantum hello fits one datagram");
    let first = fragments[0].clone();
    // The same first fragment, declaring a 12 KB hello (handshake length at bytes 14..17).
    let mut big_first = first.clone();
    big_first[14..17].copy_from_slice(&[0, 0x2e, 0xe0]);
    // The second fragment with another message_seq (bytes 17..19): inconsistent.
    let mut bad_second = fragments[1].clone();
    bad_second[17..19].copy_from_slice(&[0, 1]);

    let config = EndpointConfig { server: Some(server_config13()), rng_seed: Some([3; 32]), ..Default::default() };
    let (max_hellos, max_bytes) = (config.max_prevalidation_hellos, config.max_prevalidation_bytes);
    let timeout = config.prevalidation_timeout;
    let mut endpoint = Endpoint::new(now, config);
    let live_before = live_bytes();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut garbage = vec![0u8; 1200];
    let (mut dropped, mut refused) = (0u64, 0u64);
    let mut live_after_warm_up = 0;
    let mut peak_usage = (0, 0);
    let timer = Instant::now();
    for i in 0..HELLOS {
        let from = spoofed(i);
        endpoint.handle(now, from, if i % 4 == 0 { &big_first } else { &first });
        if i % 3 == 0 {
            endpoint.handle(now, from, &bad_second);
            refused += 1;
        }
        // Random bytes, and a stray second fragment, from addresses with nothing held.
        let len = 1 + (next_random(&mut rng) % 1200) as usize;
        for b in garbage.iter_mut().take(len) {
            *b = next_random(&mut rng) as u8;
        }
        endpoint.handle(now, spoofed(HELLOS + i), &garbage[..len]);
        endpoint.handle(now, spoofed(2 * HELLOS + i), &fragments[1]);
        dropped += 2;
        assert!(endpoint.poll_transmit().is_none(), "an answer to an incomplete hello ({i})");
        let usage = endpoint.prevalidation_usage();
        assert!(usage.0 <= max_hellos && usage.1 <= max_bytes, "over budget: {usage:?}");
        peak_usage = (peak_usage.0.max(usage.0), peak_usage.1.max(usage.1));
        if i + 1 == WARM_UP {
            live_after_warm_up = live_bytes();
        }
        now += Duration::from_micros(20);
    }
    let live_after_flood = live_bytes();
    let elapsed = timer.elapsed();
    let (held_hellos, held_bytes) = endpoint.prevalidation_usage();
    // The table's maps keep the capacity they reached (up to `max_hellos` entries).
    let per_entry = live_after_flood.saturating_sub(live_before + held_bytes as u64) / max_hellos as u64;
    let stats = endpoint.stats().clone();
    assert_eq!(endpoint.session_count(), 0);
    assert_eq!(endpoint.poll_timeout(), None);
    assert!(endpoint.poll_event().is_none());
    assert_eq!((stats.server_sessions, stats.hello_retry_requests_sent, stats.hello_verify_requests_sent), (0, 0, 0));
    assert_eq!(stats.packets_sent, 0);
    assert_eq!(stats.datagrams_dropped, dropped);
    assert_eq!(stats.prevalidation_rejections, refused);
    // Every hello but those still held was evicted to make room for a newer one.
    let held = endpoint.prevalidation_usage().0 as u64;
    assert_eq!(stats.prevalidation_evictions, u64::from(HELLOS) - held);
    // Past the timeout, the next datagram expires everything held.
    endpoint.handle(now + timeout + Duration::from_secs(1), spoofed(3 * HELLOS), &garbage[..10]);
    assert_eq!(endpoint.prevalidation_usage(), (0, 0));
    assert_eq!(endpoint.stats().prevalidation_evictions, u64::from(HELLOS));

    println!(
        "dtls13 flood: {HELLOS} first fragments ({} bytes; a quarter declaring 12,000), {} inconsistent second \
         fragments, {} garbage datagrams; budget {max_hellos} hellos / {max_bytes} B, peak {} hellos / {} B; \
         live heap +{} B with the table full after {WARM_UP}, +{} B after {HELLOS} ({held_hellos} hellos \
         reserving {held_bytes} B, so {per_entry} B of bookkeeping per entry of the budget); {:.2} s",
        first.len(),
        refused,
        dropped,
        peak_usage.0,
        peak_usage.1,
        live_after_warm_up.saturating_sub(live_before),
        live_after_flood.saturating_sub(live_before),
        elapsed.as_secs_f64(),
    );
    // Bounded by the budget: the reserved bytes plus bookkeeping per entry.
    let overhead = live_after_flood.saturating_sub(live_before);
    assert!(overhead <= (max_bytes + max_hellos * 400) as u64, "{overhead} B held");
    // Flat once the table is full: evicting frees what admitting takes.
    let growth = live_after_flood.abs_diff(live_after_warm_up);
    assert!(growth <= 64 * 1024, "live heap moved by {growth} B: {live_after_warm_up} -> {live_after_flood}");
}

/// Records with connection IDs from anywhere (RFC 9146): 200,000 `tls12_cid` records with
/// random CIDs from spoofed addresses, then 20,000 carrying the live session's own CID with
/// forged bodies, also from spoofed addresses. Nothing is answered, no session is created,
/// the live session does not move (each forged record fails authentication), the heap stays
/// flat, and the session still exchanges data at its address afterwards.
#[test]
fn random_connection_id_records_create_no_state_and_move_nothing() {
    let _turn = one_at_a_time();
    let start = Instant::now();
    let (cert, key) = cert();
    let scfg = ServerConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .unwrap()
        .rng_seed([1; 32])
        .connection_ids(8)
        .build()
        .unwrap();
    let ccfg = ClientConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .root_certificates_pem(cert.as_bytes())
        .unwrap()
        .server_name("localhost")
        .rng_seed([2; 32])
        .connection_ids(4)
        .build()
        .unwrap();
    let mut endpoint =
        Endpoint::new(start, EndpointConfig { server: Some(scfg), rng_seed: Some([3; 32]), ..Default::default() });
    let client_addr: SocketAddr = "192.0.2.7:5555".parse().unwrap();
    let mut client = Session::client(start, ccfg, SERVER);
    for _ in 0..10 {
        while let Some(t) = client.poll_transmit() {
            endpoint.handle(start, client_addr, &t.contents);
        }
        while let Some(t) = endpoint.poll_transmit() {
            client.handle(start, &t.contents).unwrap();
        }
    }
    while endpoint.poll_event().is_some() {}
    assert!(client.is_connected());
    let (_, server_cid) = client.connection_ids().expect("CIDs").to_owned();
    let server_cid = server_cid.to_vec();
    assert_eq!(server_cid.len(), 8);

    let mut state = 0x1234_5678_9abc_def0u64;
    // One buffer for every datagram, so the test itself allocates nothing per record.
    let mut datagram = Vec::with_capacity(128);
    let record = |cid: &[u8], state: &mut u64, r: &mut Vec<u8>| {
        r.clear();
        r.extend_from_slice(&[25, 0xfe, 0xfd, 0, 1]);
        r.extend_from_slice(&next_random(state).to_be_bytes()[2..]);
        r.extend_from_slice(cid);
        r.extend_from_slice(&40u16.to_be_bytes());
        for _ in 0..5 {
            r.extend_from_slice(&next_random(state).to_be_bytes());
        }
    };
    const RANDOM: u32 = 200_000;
    const FORGED: u32 = 20_000;
    let (mut live_after_warm_up, mut allocations_after_warm_up) = (0, 0);
    let mut random_cid = [0u8; 8];
    for i in 0..RANDOM + FORGED {
        random_cid.copy_from_slice(&next_random(&mut state).to_be_bytes());
        let cid: &[u8] = if i < RANDOM { &random_cid } else { &server_cid };
        record(cid, &mut state, &mut datagram);
        endpoint.handle(start, spoofed(i), &datagram);
        assert!(endpoint.poll_transmit().is_none(), "datagram {i} was answered");
        if i + 1 == WARM_UP {
            live_after_warm_up = live_bytes();
            allocations_after_warm_up = allocations();
        }
    }
    let live_after = live_bytes();
    let per_record = (allocations() - allocations_after_warm_up) as f64 / f64::from(RANDOM + FORGED - WARM_UP);
    assert_eq!(endpoint.session_count(), 1);
    let stats = endpoint.stats();
    assert_eq!((stats.server_sessions, stats.address_changes), (1, 0));
    assert_eq!(endpoint.handle_for(client_addr).map(|h| endpoint.session(h).unwrap().remote_addr()), Some(client_addr));
    println!(
        "CID flood: {RANDOM} random CIDs + {FORGED} forged records with the live CID; live heap \
         {live_after_warm_up} B after {WARM_UP}, {live_after} B after all; {per_record:.2} allocations per record"
    );
    let growth = live_after.abs_diff(live_after_warm_up);
    assert!(growth <= 1024, "live heap moved by {growth} bytes");
    // The real client is unaffected.
    client.send(b"still here").unwrap();
    let t = client.poll_transmit().unwrap();
    endpoint.handle(start, client_addr, &t.contents);
    let got = std::iter::from_fn(|| endpoint.poll_event()).any(|(_, e)| {
        matches!(e, dtls_engine::EndpointEvent::Session(dtls_engine::Event::ApplicationData(d)) if d == b"still here")
    });
    assert!(got);
}
