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
    Endpoint::new(config, now)
}

fn hello_verify_request(c: &mut Criterion) {
    let now = Instant::now();
    let server_addr: SocketAddr = common::SERVER_ADDR.parse().unwrap();
    let mut client = Session::client(client_config(SUITE, false), server_addr, now);
    let hello = client.poll_transmit().unwrap().contents;
    let mut ep = endpoint_with_server(now);
    let from = peer(1);

    // What the cookie MAC covers: address family, address and port, then the ClientHello
    // body (its cookie is empty here).
    let mut input = vec![4u8, 10, 0, 0, 1, 0x13, 0x88];
    input.extend_from_slice(&hello[13 + 12..]);
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
        let mut c = Session::client(ccfg.clone(), server_addr, now);
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
}

criterion_group!(benches, hello_verify_request, routing);
criterion_main!(benches);
