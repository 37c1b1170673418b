//! The handshake and record workloads of `benches/handshake.rs` and `benches/records.rs` run
//! through dtls-engine, dimpl 0.9 and OpenSSL, beside the ring references, in one run.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dtls_engine::CipherSuite;
use dtls_engine_peer_benches::common::{
    Floor, RECORD_LEN, RawAead, client_config, client_config_pinned, handshake, one_record, ring_alg, server_config,
    server_config_pinned,
};
use dtls_engine_peer_benches::{dimpl_peer, openssl_peer};

const SUITE: CipherSuite = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;

fn handshakes(c: &mut Criterion) {
    let floor = Floor::new();
    for (name, client_auth) in [("server-auth", false), ("mutual-auth", true)] {
        let mut g = c.benchmark_group(format!("peers/handshake/{name}"));
        let (ccfg, scfg) = (client_config(SUITE, client_auth), server_config(SUITE, client_auth));
        let mut wire = Vec::with_capacity(2048);
        g.bench_function("dtls-engine", |b| b.iter(|| handshake(&ccfg, &scfg, &mut wire)));
        // Peers authenticated by pinned certificate fingerprint: no chain validation, the
        // same public-key work as dimpl-no-pki.
        let (ccfg, scfg) = (client_config_pinned(SUITE, client_auth), server_config_pinned(SUITE, client_auth));
        g.bench_function("dtls-engine-fingerprint", |b| b.iter(|| handshake(&ccfg, &scfg, &mut wire)));
        let d = dimpl_peer::configs(client_auth, true);
        g.bench_function("dimpl", |b| b.iter(|| dimpl_peer::handshake(&d)));
        let d = dimpl_peer::configs(client_auth, false);
        g.bench_function("dimpl-no-pki", |b| b.iter(|| dimpl_peer::handshake(&d)));
        let o = openssl_peer::contexts(client_auth);
        g.bench_function("openssl", |b| b.iter(|| openssl_peer::handshake(&o)));
        g.bench_function("ring-floor", |b| b.iter(|| floor.run(client_auth)));
        g.bench_function("ring-floor-no-pki", |b| b.iter(|| floor.run_no_pki(client_auth)));
        g.finish();
    }
}

fn records(c: &mut Criterion) {
    let payload = [0x5au8; RECORD_LEN];
    let mut g = c.benchmark_group("peers/records/AES-128-GCM");
    g.throughput(Throughput::Bytes(RECORD_LEN as u64));
    let mut wire = Vec::with_capacity(2048);
    let (mut client, mut server) = handshake(&client_config(SUITE, false), &server_config(SUITE, false), &mut wire);
    let now = Instant::now();
    g.bench_function("dtls-engine", |b| {
        b.iter(|| one_record(&mut client, &mut server, black_box(&payload), &mut wire, now))
    });
    let mut d = dimpl_peer::handshake(&dimpl_peer::configs(false, false));
    g.bench_function("dimpl", |b| b.iter(|| d.record(black_box(&payload))));
    let mut o = openssl_peer::handshake(&openssl_peer::contexts(false));
    g.bench_function("openssl", |b| b.iter(|| o.record(black_box(&payload))));
    let mut raw = RawAead::new(ring_alg(SUITE));
    g.bench_function("ring", |b| b.iter(|| raw.seal_open(black_box(&payload))));
    g.finish();
}

criterion_group!(benches, handshakes, records);
criterion_main!(benches);
