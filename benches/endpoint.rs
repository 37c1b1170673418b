//! The endpoint's two hot paths.
//!
//! - `endpoint/hello_verify_request`: a ClientHello from an unknown peer answered statelessly
//!   with a HelloVerifyRequest, beside one HMAC-SHA256 (ring, key schedule precomputed) over
//!   the bytes the cookie covers (the peer's address and the ClientHello body).
//! - `endpoint/routing`: one application-data datagram (64-byte payload) from a connected
//!   peer, routed to its session and opened, with 10 and with 10,000 live sessions.
//!   Datagrams are sealed before the clock starts, so the cost measured is the endpoint's
//!   alone. Three cases: 10 live sessions all sending; 10,000 live sessions of which 10 send
//!   (the table size alone: routing must not depend on it); 10,000 live sessions all sending
//!   in a scattered order (adds the memory latency of reaching a cold session's state).
//! - `endpoint/routing-aead-only`: the memory reference: ring opening the same 64-byte
//!   records with 10 keys, and with 10,000 keys visited in the same scattered order (each a
//!   separate `LessSafeKey`, as each session has its own), so the part of the "all active"
//!   slowdown that any per-peer AEAD key pays is measured, not guessed.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use dtls_engine::{CipherSuite, Endpoint, EndpointConfig, EndpointEvent, Event, Session};

mod common;
use common::{client_config, server_config};

const SUITE: CipherSuite = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;

fn peer(i: usize) -> SocketAddr {
    SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 5000))
}

fn endpoint_with_server(now: Instant) -> Endpoint {
    let config = EndpointConfig {
        server: Some(server_config(SUITE, false)),
        rng_seed: Some([9; 32]),
        ..EndpointConfig::default()
    };
    Endpoint::new(now, config)
}

fn hello_verify_request(c: &mut Criterion) {
    let now = Instant::now();
    let server_addr: SocketAddr = common::SERVER_ADDR.parse().unwrap();
    let mut client = Session::client(now, client_config(SUITE, false), server_addr);
    let hello = client.poll_transmit().unwrap().contents;
    let mut ep = endpoint_with_server(now);
    let from = peer(1);

    // What the cookie MAC covers: address family, address and port, then the ClientHello
    // fields RFC 6347 §4.2.1 pins (version through compression_methods; the cookie is
    // empty here).
    let body = &hello[13 + 12..];
    let pinned = dtls_engine::internals::cookie::pinned_fields(body).unwrap();
    let mut input = vec![4u8, 10, 0, 0, 1, 0x13, 0x88];
    input.extend_from_slice(&body[..pinned.end]);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[3u8; 32]);

    let mut g = c.benchmark_group("endpoint/hello_verify_request");
    let mut out = Vec::with_capacity(256);
    g.bench_function("dtls-engine", |b| {
        b.iter(|| {
            ep.handle(now, from, black_box(&hello));
            let to = ep.poll_transmit_into(&mut out).unwrap();
            black_box((to, out.len()))
        })
    });
    g.bench_function("hmac-sha256", |b| b.iter(|| ring::hmac::sign(&key, black_box(&input))));
    g.finish();
}

/// An endpoint with `n` connected server sessions, and the `n` client sessions.
fn established(n: usize, now: Instant) -> (Endpoint, Vec<Session>) {
    let mut ep = endpoint_with_server(now);
    let ccfg = client_config(SUITE, false);
    let server_addr: SocketAddr = common::SERVER_ADDR.parse().unwrap();
    let mut clients = Vec::with_capacity(n);
    let mut wire = Vec::with_capacity(2048);
    for i in 0..n {
        let mut c = Session::client(now, ccfg.clone(), server_addr);
        for _ in 0..8 {
            while c.poll_transmit_into(&mut wire).is_some() {
                ep.handle(now, peer(i), &wire);
            }
            while let Some(to) = ep.poll_transmit_into(&mut wire) {
                assert_eq!(to, peer(i));
                c.handle(now, &wire).unwrap();
            }
            while ep.poll_event().is_some() {}
            if c.is_connected() {
                break;
            }
        }
        assert!(c.is_connected());
        while c.poll_event().is_some() {}
        clients.push(c);
    }
    (ep, clients)
}

fn routing(c: &mut Criterion) {
    let mut g = c.benchmark_group("endpoint/routing");
    g.measurement_time(Duration::from_secs(5));
    let mut live: Option<(usize, Endpoint, Vec<Session>)> = None;
    for (label, n, active) in [
        ("10 sessions", 10usize, 10usize),
        ("10000 sessions, 10 active", 10_000, 10),
        ("10000 sessions, all active", 10_000, 10_000),
    ] {
        let now = Instant::now();
        if live.as_ref().is_none_or(|(m, _, _)| *m != n) {
            drop(live.take());
            let (ep, clients) = established(n, now);
            live = Some((n, ep, clients));
        }
        let Some((_, ep, clients)) = live.as_mut() else { unreachable!() };
        // The senders: the first `active` sessions, visited with a stride coprime with
        // `active`, so consecutive datagrams go to sessions far apart in memory.
        let stride = if active > 10 { 7919 } else { 3 };
        let mut next = 0usize;
        let mut batch: Vec<(SocketAddr, Vec<u8>)> = (0..1024).map(|_| (peer(0), Vec::with_capacity(128))).collect();
        let payload = [0x42u8; 64];
        g.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let k = left.min(batch.len() as u64) as usize;
                    for slot in batch.iter_mut().take(k) {
                        next = (next + stride) % active;
                        let c = &mut clients[next];
                        c.send(&payload).unwrap();
                        c.poll_transmit_into(&mut slot.1).unwrap();
                        slot.0 = peer(next);
                    }
                    let start = Instant::now();
                    for (from, dgram) in batch.iter().take(k) {
                        ep.handle(now, *from, dgram);
                        while let Some((h, ev)) = ep.poll_event() {
                            if let EndpointEvent::Session(Event::ApplicationData(d)) = ev {
                                ep.recycle(h, d);
                            }
                        }
                    }
                    total += start.elapsed();
                    left -= k as u64;
                }
                total
            })
        });
    }
    g.finish();

    // The memory reference, in a group of its own so its ratio has its own denominator.
    let mut g = c.benchmark_group("endpoint/routing-aead-only");
    g.measurement_time(Duration::from_secs(5));
    for (label, keys) in [("ring, 10 keys", 10usize), ("ring, 10000 keys, all active", 10_000)] {
        let stride = if keys > 10 { 7919 } else { 3 };
        g.bench_function(label, |b| {
            let mut r = ColdKeys::new(keys);
            let mut next = 0usize;
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let k = left.min(1024) as usize;
                    r.seal_batch(k, &mut next, stride);
                    let clock = Instant::now();
                    r.open_batch(k);
                    total += clock.elapsed();
                    left -= k as u64;
                }
                total
            })
        });
    }
    g.finish();
}

/// `n` peers' AES-128-GCM keys for ring: a sealing key per client and a separate opening key
/// per server-side peer (as in the endpoint case, where the untimed sealing touches the
/// clients' state and the timed opening the server's).
struct ColdKeys {
    seal: Vec<ring::aead::LessSafeKey>,
    open: Vec<ring::aead::LessSafeKey>,
    seq: Vec<u64>,
    batch: Vec<(usize, u64, Vec<u8>)>,
}

impl ColdKeys {
    fn new(n: usize) -> Self {
        let key = |i: usize| {
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&(i as u64).to_be_bytes());
            ring::aead::LessSafeKey::new(ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, &k).unwrap())
        };
        Self {
            seal: (0..n).map(key).collect(),
            open: (0..n).map(key).collect(),
            seq: vec![0; n],
            batch: (0..1024).map(|_| (0, 0, Vec::with_capacity(128))).collect(),
        }
    }

    fn nonce(seq: u64) -> ring::aead::Nonce {
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&seq.to_be_bytes());
        ring::aead::Nonce::assume_unique_for_key(n)
    }

    /// Seal `k` 64-byte records for the next `k` peers in visiting order.
    fn seal_batch(&mut self, k: usize, next: &mut usize, stride: usize) {
        let n = self.seal.len();
        for slot in self.batch.iter_mut().take(k) {
            *next = (*next + stride) % n;
            let seq = self.seq[*next];
            self.seq[*next] += 1;
            slot.0 = *next;
            slot.1 = seq;
            slot.2.clear();
            slot.2.extend_from_slice(&[0x42; 64]);
            let aad = ring::aead::Aad::from(seq.to_be_bytes());
            self.seal[*next].seal_in_place_append_tag(Self::nonce(seq), aad, &mut slot.2).unwrap();
        }
    }

    /// Open the sealed batch, each record with its peer's key.
    fn open_batch(&mut self, k: usize) {
        for (peer, seq, record) in self.batch.iter_mut().take(k) {
            let aad = ring::aead::Aad::from(seq.to_be_bytes());
            let plain = self.open[*peer].open_in_place(Self::nonce(*seq), aad, record).unwrap();
            black_box(plain.len());
        }
    }
}

criterion_group!(benches, hello_verify_request, routing);
criterion_main!(benches);
