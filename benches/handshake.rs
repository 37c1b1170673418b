//! One complete in-memory handshake (ECDHE P-256, ECDSA P-256 certificates from a CA,
//! AES-128-GCM, cookie exchange on), with and without client authentication, beside the
//! ring public-key operations that handshake performs (its floor). Read the result as the
//! ratio of the two in one run.

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::{Floor, client_config, handshake, server_config};
use dtls_engine::CipherSuite;

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

criterion_group!(benches, handshakes);
criterion_main!(benches);
