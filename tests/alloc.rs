//! Heap allocations on the steady-state path: after the handshake, sending and receiving
//! application records allocates nothing when the application recycles buffers
//! (`poll_transmit_into` + `recycle`). Also measures the heap held by an established idle
//! client+server pair, with and without the peer certificates it keeps, and holds it to
//! 8 KiB without them (the session structs themselves included).
//!
//! The counting allocator counts only on the thread that set `ON`/`TRACK` (the harness
//! allocates on other threads, e.g. to spawn the next test), and the tests of this file run
//! one at a time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use dtls_engine::{
    CipherSuite, ClientConfig, Endpoint, EndpointConfig, EndpointEvent, Event, NamedGroup, ProtocolVersion,
    ServerConfig, Session,
};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicI64 = AtomicI64::new(0);
thread_local! {
    /// Count allocations (for the zero-allocation assertion) made by this thread.
    static ON: Cell<bool> = const { Cell::new(false) };
    /// Track live heap bytes allocated and freed by this thread.
    static TRACK: Cell<bool> = const { Cell::new(false) };
}

fn on() -> bool {
    ON.try_with(Cell::get).unwrap_or(false)
}

fn tracked() -> bool {
    TRACK.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if on() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        if tracked() {
            LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if tracked() {
            LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if on() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        if tracked() {
            LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn pair(suite: CipherSuite, cert_pem: &str, key_pem: &str) -> (Session, Session) {
    let (scfg, ccfg) = configs(suite, cert_pem, key_pem);
    handshake(&scfg, &ccfg)
}

/// One record each way, recycling every buffer.
/// With `in_place`, the receiver is fed through `handle_buf` (which keeps the datagram's
/// buffer as the payload) instead of `handle`.
fn exchange(c: &mut Session, s: &mut Session, payload: &[u8], wire: &mut Vec<u8>, now: Instant, in_place: bool) {
    one_way(c, s, payload, wire, now, in_place);
    one_way(s, c, payload, wire, now, in_place);
}

fn one_way(from: &mut Session, to: &mut Session, payload: &[u8], wire: &mut Vec<u8>, now: Instant, in_place: bool) {
    {
        from.send(payload).unwrap();
        while from.poll_transmit_into(wire).is_some() {
            if in_place {
                to.handle_buf(now, wire).unwrap();
            } else {
                to.handle(now, wire).unwrap();
            }
        }
        while let Some(ev) = to.poll_event() {
            match ev {
                Event::ApplicationData(d) => {
                    assert_eq!(d, payload);
                    to.recycle(d);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

/// The allocation counter is process-wide: tests of this file run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Warm-up exchanges: the pools and queues reach their steady size (with `handle_buf`, buffers
/// also migrate between the two sessions' pools until each holds what it reuses).
const WARM: usize = 16;
#[test]
fn no_allocation_per_application_record() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    TRACK.set(true);
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    let payload = [0x5au8; 1200 - 13 - 24];
    for suite in [
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ] {
        for in_place in [false, true] {
            let (mut c, mut s) = pair(suite, &cert_pem, &key_pem);
            let now = Instant::now();
            let mut wire = Vec::with_capacity(2048);
            // Warm up: the pools and queues reach their steady size.
            for _ in 0..WARM {
                exchange(&mut c, &mut s, &payload, &mut wire, now, in_place);
            }
            ALLOCS.store(0, Ordering::Relaxed);
            ON.set(true);
            for _ in 0..1000 {
                exchange(&mut c, &mut s, &payload, &mut wire, now, in_place);
            }
            ON.set(false);
            let allocs = ALLOCS.load(Ordering::Relaxed);
            println!("{suite:?} (in place: {in_place}): {allocs} allocations for 2000 records");
            assert_eq!(allocs, 0, "{suite:?} (in place: {in_place}): heap allocations on the record path");
            assert_eq!(c.stats().app_messages_received, 1000 + WARM as u64);
        }
    }

    // Heap held by an established idle pair: the configurations are built first (they are
    // shared by every session), then the handshake runs and its transient buffers are freed.
    let suite = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    let (scfg, ccfg) = configs(suite, &cert_pem, &key_pem);
    let (heap, inline, certs) = idle_pair_heap(&scfg, &ccfg);
    let total = heap + inline;
    println!(
        "established idle pair: {total} bytes ({heap} on the heap + {inline} of the two Session structs), \
         {} without the {certs} bytes of peer certificates",
        total - certs
    );
    assert!(
        total - certs <= 8 * 1024,
        "an idle established pair holds {} bytes without peer certificates",
        total - certs
    );
}

/// The heap an established idle pair holds: live bytes the handshake left allocated (the
/// configurations are built first and a first pair is made and dropped, so lazily made
/// global state is not counted), plus the two `Session` structs themselves, and the part of
/// it that is the peer certificates each side keeps (their DER bytes and `Vec` headers).
fn idle_pair_heap(scfg: &Arc<ServerConfig>, ccfg: &Arc<ClientConfig>) -> (i64, i64, i64) {
    drop(handshake(scfg, ccfg));
    let live_before = LIVE.load(Ordering::Relaxed);
    let (c, s) = handshake(scfg, ccfg);
    let heap = LIVE.load(Ordering::Relaxed) - live_before;
    let inline = 2 * std::mem::size_of::<Session>() as i64;
    let certs: i64 = [&c, &s]
        .iter()
        .filter_map(|x| x.peer_certificates())
        .flatten()
        .map(|cert| (cert.len() + std::mem::size_of_val(cert)) as i64)
        .sum();
    (heap, inline, certs)
}

/// DTLS 1.3 configurations: only the 1.3 `suite`, the client offering only `group` (one key
/// share), the server with its default HelloRetryRequest cookie round.
fn configs13(
    suite: CipherSuite,
    group: NamedGroup,
    cert_pem: &str,
    key_pem: &str,
) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let scfg = ServerConfig::builder()
        .certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .unwrap()
        .max_version(ProtocolVersion::Dtls13)
        .cipher_suites(&[suite])
        .rng_seed([1; 32])
        .build()
        .unwrap();
    let ccfg = ClientConfig::builder()
        .root_certificates_pem(cert_pem.as_bytes())
        .unwrap()
        .server_name("localhost")
        .max_version(ProtocolVersion::Dtls13)
        .cipher_suites(&[suite])
        .groups(&[group])
        .rng_seed([2; 32])
        .build()
        .unwrap();
    (scfg, ccfg)
}

/// DTLS 1.3: application records allocate nothing in steady state (send,
/// `poll_transmit_into`, `handle`/`handle_buf`, `recycle`), for every 1.3 suite.
#[test]
fn no_allocation_per_dtls13_session_record() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    // A 1,200-byte datagram: 5-byte unified header, the payload, content type, 16-byte tag.
    let payload = [0x5au8; 1200 - 5 - 17];
    for suite in [
        CipherSuite::TLS_AES_128_GCM_SHA256,
        CipherSuite::TLS_AES_256_GCM_SHA384,
        CipherSuite::TLS_CHACHA20_POLY1305_SHA256,
    ] {
        for in_place in [false, true] {
            let (scfg, ccfg) = configs13(suite, NamedGroup::X25519, &cert_pem, &key_pem);
            let (mut c, mut s) = handshake(&scfg, &ccfg);
            assert_eq!(c.protocol_version(), Some(ProtocolVersion::Dtls13));
            let now = Instant::now();
            let mut wire = Vec::with_capacity(2048);
            for _ in 0..WARM {
                exchange(&mut c, &mut s, &payload, &mut wire, now, in_place);
            }
            ALLOCS.store(0, Ordering::Relaxed);
            ON.set(true);
            for _ in 0..1000 {
                exchange(&mut c, &mut s, &payload, &mut wire, now, in_place);
            }
            ON.set(false);
            let allocs = ALLOCS.load(Ordering::Relaxed);
            println!("DTLS 1.3 {suite:?} (in place: {in_place}): {allocs} allocations for 2000 records");
            assert_eq!(allocs, 0, "DTLS 1.3 {suite:?} (in place: {in_place}): heap allocations on the record path");
            assert_eq!(c.stats().app_messages_received, 1000 + WARM as u64);
        }
    }
}

/// DTLS 1.3: what an established idle pair holds without the peer certificates, on X25519
/// and on X25519MLKEM768, counted as in `no_allocation_per_application_record`: live heap
/// bytes after the handshake (its transient state freed), plus the two `Session` structs.
/// Held to 8 KiB, as the 1.2 pair.
#[test]
fn dtls13_idle_pair_heap() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    TRACK.set(true);
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    // Both groups are measured (and printed) before either is held to the bound.
    let mut held = Vec::new();
    for group in [NamedGroup::X25519, NamedGroup::X25519MLKEM768] {
        let (scfg, ccfg) = configs13(CipherSuite::TLS_AES_128_GCM_SHA256, group, &cert_pem, &key_pem);
        let (heap, inline, certs) = idle_pair_heap(&scfg, &ccfg);
        let total = heap + inline;
        println!(
            "established idle DTLS 1.3 pair ({group:?}): {total} bytes ({heap} on the heap + {inline} of the two \
             Session structs), {} without the {certs} bytes of peer certificates",
            total - certs
        );
        held.push((group, total - certs));
    }
    // The goal, 8 KiB, is met (measured 7,610 B for both groups; docs/performance.md,
    // DTLS 1.3): the newest epochs' AEAD keys sit in the Session structs' 1.2 key slots, the
    // pools and queues hold nothing until the first record, and what is left on the heap is
    // the record-number keys, the server's epoch-2 read key and the two Session13 boxes.
    for (group, bytes) in held {
        assert!(
            bytes <= 8 * 1024,
            "an idle established DTLS 1.3 pair ({group:?}) holds {bytes} bytes without peer certificates"
        );
    }
}

fn configs(suite: CipherSuite, cert_pem: &str, key_pem: &str) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    configs_with_cids(suite, cert_pem, key_pem, 0)
}

/// [`configs`] with connection IDs of `cids` bytes both ways (none for 0).
fn configs_with_cids(
    suite: CipherSuite,
    cert_pem: &str,
    key_pem: &str,
    cids: usize,
) -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let scfg = ServerConfig::builder()
        .certificate_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .unwrap()
        .cipher_suites(&[suite])
        .rng_seed([1; 32]);
    let ccfg = ClientConfig::builder()
        .root_certificates_pem(cert_pem.as_bytes())
        .unwrap()
        .server_name("localhost")
        .rng_seed([2; 32]);
    let (scfg, ccfg) = if cids > 0 { (scfg.connection_ids(cids), ccfg.connection_ids(cids)) } else { (scfg, ccfg) };
    (scfg.build().unwrap(), ccfg.build().unwrap())
}

fn handshake(scfg: &Arc<ServerConfig>, ccfg: &Arc<ClientConfig>) -> (Session, Session) {
    let (ca, sa): (SocketAddr, SocketAddr) = ("127.0.0.1:1000".parse().unwrap(), "127.0.0.1:2000".parse().unwrap());
    let now = Instant::now();
    let mut c = Session::client(now, ccfg.clone(), sa);
    let mut s = Session::server(now, scfg.clone(), ca);
    let mut wire = Vec::new();
    for _ in 0..10 {
        while c.poll_transmit_into(&mut wire).is_some() {
            s.handle(now, &wire).unwrap();
        }
        while s.poll_transmit_into(&mut wire).is_some() {
            c.handle(now, &wire).unwrap();
        }
    }
    assert!(c.is_connected() && s.is_connected());
    while c.poll_event().is_some() {}
    while s.poll_event().is_some() {}
    (c, s)
}

/// `handle_buf` authenticates before delivering: a tampered or replayed datagram is dropped,
/// an authentic one arrives once, with the right bytes.
#[test]
fn handle_buf_drops_tampered_and_replayed_records() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    for suite in [
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ] {
        let (mut c, mut s) = pair(suite, &cert_pem, &key_pem);
        let now = Instant::now();
        let mut wire = Vec::new();
        c.send(b"hello").unwrap();
        assert!(c.poll_transmit_into(&mut wire).is_some());
        let good = wire.clone();
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 1;
        let dropped = s.stats().records_dropped;
        s.handle_buf(now, &mut bad).unwrap();
        assert_eq!(s.poll_event(), None);
        assert_eq!(s.stats().records_dropped, dropped + 1);
        let mut first = good.clone();
        s.handle_buf(now, &mut first).unwrap();
        assert_eq!(s.poll_event(), Some(Event::ApplicationData(b"hello".to_vec())));
        let mut again = good.clone();
        s.handle_buf(now, &mut again).unwrap();
        assert_eq!(s.poll_event(), None);
        assert_eq!(s.stats().records_dropped, dropped + 2);
    }
}

/// The endpoint path: records from several clients routed by one `Endpoint` (which copies
/// each datagram into a buffer of its receive pool and opens it there), answered through
/// `Endpoint::send` + `poll_transmit_into`, allocate nothing once warm; with connection IDs
/// too (`tls12_cid` records open in the endpoint's buffer as well: were they copied into a
/// buffer of the session's pool, the application's `recycle` into the endpoint's pool would
/// leave the session's empty, and each of its sends would allocate).
#[test]
fn no_allocation_per_record_through_an_endpoint() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    for cids in [0, 4] {
        endpoint_records(&cert_pem, &key_pem, cids);
    }
}

fn endpoint_records(cert_pem: &str, key_pem: &str, cids: usize) {
    let suite = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    let (scfg, ccfg) = configs_with_cids(suite, cert_pem, key_pem, cids);
    let now = Instant::now();
    let mut ep = Endpoint::new(now, EndpointConfig { server: Some(scfg), ..EndpointConfig::default() });
    let server_addr: SocketAddr = "127.0.0.1:4433".parse().unwrap();
    let peer = |i: u8| SocketAddr::from(([10, 0, 0, i], 5000));
    let mut wire = Vec::with_capacity(2048);
    let mut clients = Vec::new();
    let mut handles = Vec::new();
    for i in 0..4u8 {
        let mut c = Session::client(now, ccfg.clone(), server_addr);
        for _ in 0..8 {
            while c.poll_transmit_into(&mut wire).is_some() {
                ep.handle(now, peer(i), &wire);
            }
            while ep.poll_transmit_into(&mut wire).is_some() {
                c.handle(now, &wire).unwrap();
            }
            while ep.poll_event().is_some() {}
        }
        assert!(c.is_connected());
        assert_eq!(c.connection_ids().is_some(), cids > 0);
        while c.poll_event().is_some() {}
        handles.push(ep.handle_for(peer(i)).unwrap());
        clients.push(c);
    }
    let payload = [0x33u8; 1000];
    let mut round = |count: &mut u64| {
        for (i, c) in clients.iter_mut().enumerate() {
            c.send(&payload).unwrap();
            while c.poll_transmit_into(&mut wire).is_some() {
                ep.handle(now, peer(i as u8), &wire);
            }
            while let Some((h, ev)) = ep.poll_event() {
                if let EndpointEvent::Session(Event::ApplicationData(d)) = ev {
                    assert_eq!(d, payload);
                    *count += 1;
                    ep.send(h, &d).unwrap();
                    ep.recycle(h, d);
                }
            }
            while ep.poll_transmit_into(&mut wire).is_some() {
                c.handle_buf(now, &mut wire).unwrap();
            }
            while let Some(ev) = c.poll_event() {
                if let Event::ApplicationData(d) = ev {
                    assert_eq!(d, payload);
                    c.recycle(d);
                }
            }
        }
    };
    let mut delivered = 0;
    for _ in 0..WARM {
        round(&mut delivered);
    }
    ALLOCS.store(0, Ordering::Relaxed);
    ON.set(true);
    for _ in 0..250 {
        round(&mut delivered);
    }
    ON.set(false);
    let allocs = ALLOCS.load(Ordering::Relaxed);
    println!("endpoint ({cids}-byte CIDs): {allocs} allocations for 2000 records");
    assert_eq!(delivered, 4 * (250 + WARM as u64));
    assert_eq!(allocs, 0, "heap allocations on the endpoint's record path ({cids}-byte CIDs)");
    assert_eq!(handles.len(), 4);
}

/// The first fragment of a ClientHello whose whole body is `total` bytes (padded with an
/// unknown extension), from `random`, carrying `cookie`: one datagram, one record, holding
/// the body up to and including compression_methods (what the endpoint needs to verify a
/// cookie) and nothing more.
fn first_fragment(random: [u8; 32], cookie: &[u8], total: usize) -> Vec<u8> {
    use dtls_engine::internals::codec::Codec;
    use dtls_engine::internals::wire::handshake_header::{HandshakeHeader, encode_fragment};
    use dtls_engine::internals::wire::record::RecordHeader;
    use dtls_engine::internals::wire::{ClientHello, ContentType, DTLS_1_2, Extension, ExtensionType, HandshakeType};
    let mut hello = ClientHello {
        client_version: DTLS_1_2,
        random,
        session_id: Vec::new(),
        cookie: cookie.to_vec(),
        cipher_suites: vec![CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256],
        compression_methods: vec![0],
        extensions: vec![Extension::Unknown { typ: ExtensionType::from(0xff01u16 ^ 0x0f00), data: Vec::new() }],
    };
    let bare = hello.to_vec().len();
    hello.extensions = vec![Extension::Unknown { typ: ExtensionType::from(0x0015u16), data: vec![0; total - bare] }];
    let body = hello.to_vec();
    assert_eq!(body.len(), total);
    let pinned = dtls_engine::internals::cookie::pinned_fields(&body).unwrap();
    let part = &body[..pinned.end];
    let hs = HandshakeHeader {
        msg_type: HandshakeType::ClientHello,
        length: total as u32,
        message_seq: u16::from(!cookie.is_empty()),
        fragment_offset: 0,
        fragment_length: part.len() as u32,
    };
    let mut frag = Vec::new();
    encode_fragment(&hs, part, &mut frag);
    let mut out = Vec::new();
    RecordHeader {
        content_type: ContentType::Handshake,
        version: DTLS_1_2,
        epoch: 0,
        sequence: u64::from(!cookie.is_empty()),
        length: frag.len() as u16,
    }
    .encode(&mut out);
    out.extend_from_slice(&frag);
    out
}

/// Half-open sessions (created once a fragmented ClientHello's cookie verified, waiting for
/// the rest of it) are capped by `EndpointConfig::max_half_open`, refusals are counted, and
/// each holds a bounded amount of heap: measured here for a browser-sized hello (1.5 KB)
/// and for the largest the endpoint accepts (16 KiB), by the Rust allocations of the
/// endpoint while the sessions are created.
#[test]
fn half_open_sessions_are_capped_and_bounded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    let (scfg, _) = configs(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, &cert_pem, &key_pem);
    const CAP: usize = 200;
    for total in [1500usize, 16 * 1024] {
        let now = Instant::now();
        let config = EndpointConfig {
            server: Some(scfg.clone()),
            max_half_open: CAP,
            rng_seed: Some([4; 32]),
            ..Default::default()
        };
        let mut ep = Endpoint::new(now, config);
        let peer = |i: usize| SocketAddr::from(([10, 1, (i >> 8) as u8, i as u8], 7000));
        // Cookies first (stateless: nothing is kept), then the first fragments with them.
        let mut second = Vec::new();
        for i in 0..CAP + 10 {
            let random = [i as u8; 32];
            ep.handle(now, peer(i), &first_fragment(random, &[], total));
            let hvr = ep.poll_transmit().expect("HelloVerifyRequest from the first fragment");
            assert_eq!(hvr.destination, peer(i));
            // server_version(2) cookie_len(1) cookie(32) at the end of the datagram.
            let cookie = hvr.contents[hvr.contents.len() - 32..].to_vec();
            second.push(first_fragment(random, &cookie, total));
        }
        assert_eq!(ep.session_count(), 0, "no state before a cookie verified");
        assert_eq!(ep.stats().fragmented_hellos, (CAP + 10) as u64);
        LIVE.store(0, Ordering::Relaxed);
        TRACK.set(true);
        for (i, d) in second.iter().enumerate().take(CAP) {
            ep.handle(now, peer(i), d);
        }
        TRACK.set(false);
        let per_session = LIVE.load(Ordering::Relaxed) / CAP as i64;
        for (i, d) in second.iter().enumerate().skip(CAP) {
            ep.handle(now, peer(i), d);
        }
        while ep.poll_event().is_some() {}
        assert_eq!(ep.half_open_count(), CAP);
        assert_eq!(ep.session_count(), CAP);
        assert_eq!(ep.stats().half_open_rejections, 10);
        println!("half-open session waiting for the rest of a {total}-byte ClientHello: {per_session} bytes of heap");
        // Fixed state (session, table slot, address map entry) about 7.5 KB, plus the body
        // being reassembled and its bitmap.
        let bound = 8_192 + total as i64 + total as i64 / 8;
        assert!(per_session <= bound, "{per_session} bytes per half-open session (bound {bound})");
    }
}

/// DTLS 1.3 record protection (not yet used by sessions) allocates nothing per record either:
/// sealing into a reused buffer and opening in place, for every suite.
#[test]
fn no_allocation_per_dtls13_record() {
    use dtls_engine::internals::crypto::aead::AeadAlgorithm;
    use dtls_engine::internals::crypto::tls13::{Hash, LabelPrefix, Schedule, traffic_keys};
    use dtls_engine::internals::record::dtls13::Protection13;
    use dtls_engine::internals::wire::{ContentType, Epoch};

    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let payload = [0x5au8; 1200 - 5 - 17];
    for (aead, hash, key_len) in [
        (AeadAlgorithm::Aes128Gcm, Hash::Sha256, 16),
        (AeadAlgorithm::Aes256Gcm, Hash::Sha384, 32),
        (AeadAlgorithm::Chacha20Poly1305, Hash::Sha256, 32),
    ] {
        let schedule = Schedule::new(LabelPrefix::Dtls13, hash, &[1; 32]).unwrap();
        let app = schedule.application(&vec![2; hash.output_len()]).unwrap();
        let keys = traffic_keys(LabelPrefix::Dtls13, &app.traffic.client, key_len).unwrap();
        let p = Protection13::new(Epoch(3), aead, &keys).unwrap();
        let mut wire = Vec::with_capacity(2048);
        ALLOCS.store(0, Ordering::Relaxed);
        ON.set(true);
        for seq in 0..1000u64 {
            wire.clear();
            p.seal(seq, &[7, 7, 7, 7], ContentType::ApplicationData, &payload, &mut wire).unwrap();
            // Unified header with a 4-byte CID: 1 + 4, then the 16-bit sequence and length.
            let opened = p.open(&mut wire, 9, 5, 2, seq).unwrap();
            assert_eq!(opened.content.len(), payload.len());
        }
        ON.set(false);
        assert_eq!(ALLOCS.load(Ordering::Relaxed), 0, "{aead:?}: heap allocations per DTLS 1.3 record");
    }
}
