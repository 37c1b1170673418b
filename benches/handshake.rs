//! One complete in-memory handshake (ECDHE P-256, ECDSA P-256 certificates from a CA,
//! AES-128-GCM, cookie exchange on), with and without client authentication, beside the
//! ring public-key operations that handshake performs (its floor). Read the result as the
//! ratio of the two in one run.
//!
//! DTLS 1.3 likewise (`handshake13/...`): X25519 and X25519MLKEM768, the same certificates,
//! TLS_AES_128_GCM_SHA256, one key share, the server's HelloRetryRequest cookie round off so
//! the handshake does what its floor does, beside two floors: `floor` (`Floor::run13`, the
//! crypto floor: public-key operations, transcript hash, key schedule, Finished MACs and the
//! protected handshake records) and `floor-public-key` (`Floor::run13_public_key`, the
//! public-key operations alone).

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::{Floor, client_config, client_config13, handshake, handshake13, server_config, server_config13};
use dtls_engine::{CipherSuite, NamedGroup};

fn handshakes(c: &mut Criterion) {
    let suite = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    let floor = Floor::new();
    for (name, client_auth) in [("server-auth", false), ("mutual-auth", true)] {
        let mut g = c.benchmark_group(format!("handshake/{name}"));
        let (ccfg, scfg) = (client_config(suite, client_auth), server_config(suite, client_auth));
        let mut wire = Vec::with_capacity(2048);
        g.bench_function("dtls-engine", |b| b.iter(|| handshake(&ccfg, &scfg, &mut wire)));
        g.bench_function("ring-floor", |b| b.iter(|| floor.run(client_auth)));
        g.finish();
    }
}

fn handshakes13(c: &mut Criterion) {
    let suite = CipherSuite::TLS_AES_128_GCM_SHA256;
    let floor = Floor::new();
    for (group_name, group) in [("X25519", NamedGroup::X25519), ("X25519MLKEM768", NamedGroup::X25519MLKEM768)] {
        let hybrid = group == NamedGroup::X25519MLKEM768;
        for (name, client_auth) in [("server-auth", false), ("mutual-auth", true)] {
            let mut g = c.benchmark_group(format!("handshake13/{group_name}/{name}"));
            let (ccfg, scfg) = (client_config13(suite, group, client_auth), server_config13(suite, client_auth, false));
            let mut wire = Vec::with_capacity(2048);
            g.bench_function("dtls-engine", |b| b.iter(|| handshake13(&ccfg, &scfg, &mut wire)));
            g.bench_function("floor", |b| b.iter(|| floor.run13(client_auth, hybrid)));
            g.bench_function("floor-public-key", |b| b.iter(|| floor.run13_public_key(client_auth, hybrid)));
            g.finish();
        }
    }
}

criterion_group!(benches, handshakes, handshakes13);
criterion_main!(benches);
