//! The handshake and record workloads of `benches/handshake.rs` and `benches/records.rs` run
//! through dtls-engine, dimpl 0.9 and OpenSSL, beside the ring references, in one run.
//!
//! DTLS 1.3 handshakes (`peers/handshake13/...`, the workload of `common::handshake13`):
//! dtls-engine, dimpl 0.9 (`Dtls::new_13`, X25519 only) and, with `--features wolfssl`,
//! wolfSSL, beside the 1.3 crypto floor (`Floor::run13`), for X25519 and X25519MLKEM768.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dtls_engine::{CipherSuite, NamedGroup};
use dtls_engine_peer_benches::common::{
    Floor, RECORD_LEN, RawAead, client_config, client_config_pinned, client_config13, handshake, handshake13,
    one_record, ring_alg, server_config, server_config_pinned, server_config13,
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

fn handshakes13(c: &mut Criterion) {
    let suite = CipherSuite::TLS_AES_128_GCM_SHA256;
    let floor = Floor::new();
    for (group_name, group) in [("X25519", NamedGroup::X25519), ("X25519MLKEM768", NamedGroup::X25519MLKEM768)] {
        let hybrid = group == NamedGroup::X25519MLKEM768;
        for (name, client_auth) in [("server-auth", false), ("mutual-auth", true)] {
            let mut g = c.benchmark_group(format!("peers/handshake13/{group_name}/{name}"));
            let (ccfg, scfg) = (client_config13(suite, group, client_auth), server_config13(suite, client_auth, false));
            let mut wire = Vec::with_capacity(2048);
            g.bench_function("dtls-engine", |b| b.iter(|| handshake13(&ccfg, &scfg, &mut wire)));
            if !hybrid {
                let d = dimpl_peer::configs13(client_auth, true);
                g.bench_function("dimpl", |b| b.iter(|| dimpl_peer::handshake(&d)));
            }
            #[cfg(feature = "wolfssl")]
            {
                use dtls_engine_peer_benches::wolfssl_peer;
                let id = if hybrid { wolfssl_peer::X25519MLKEM768 } else { wolfssl_peer::X25519 };
                let w = wolfssl_peer::contexts(id, client_auth);
                let negotiated = wolfssl_peer::handshake(&w).group();
                assert_eq!(negotiated, group_name, "wolfSSL negotiated {negotiated}");
                g.bench_function("wolfssl", |b| b.iter(|| wolfssl_peer::handshake(&w)));
            }
            g.bench_function("floor", |b| b.iter(|| floor.run13(client_auth, hybrid)));
            g.finish();
        }
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

criterion_group!(benches, handshakes, handshakes13, records);
criterion_main!(benches);
