//! Seal + open of one 1200-byte application record through a connected client/server pair,
//! beside the raw ring AEAD work on the same bytes (copy into the buffer, seal, open), for
//! each AEAD suite. Read the result as the ratio of the two in one run.
//!
//! DTLS 1.3 likewise (`records13/...`): the same record through a connected 1.3 pair (unified
//! header, inner content type, record-number encryption), beside ring's AEAD plus the
//! record-number mask computed twice (`RawAead13`).

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod common;
use common::{
    RECORD_LEN, RawAead, RawAead13, SUITES, SUITES13, client_config, client_config13, handshake, handshake13,
    one_record, ring_alg, server_config, server_config13,
};
use dtls_engine::NamedGroup;

fn records(c: &mut Criterion) {
    let payload = [0x5au8; RECORD_LEN];
    for (name, suite) in SUITES {
        let mut g = c.benchmark_group(format!("records/{name}"));
        g.throughput(Throughput::Bytes(RECORD_LEN as u64));
        let mut wire = Vec::with_capacity(2048);
        let (mut client, mut server) = handshake(&client_config(suite, false), &server_config(suite, false), &mut wire);
        let now = Instant::now();
        g.bench_function("dtls-engine", |b| {
            b.iter(|| one_record(&mut client, &mut server, black_box(&payload), &mut wire, now))
        });
        let mut raw = RawAead::new(ring_alg(suite));
        g.bench_function("ring", |b| b.iter(|| raw.seal_open(black_box(&payload))));
        g.finish();
    }
}

fn records13(c: &mut Criterion) {
    let payload = [0x5au8; RECORD_LEN];
    for (name, suite) in SUITES13 {
        let mut g = c.benchmark_group(format!("records13/{name}"));
        g.throughput(Throughput::Bytes(RECORD_LEN as u64));
        let mut wire = Vec::with_capacity(2048);
        let (ccfg, scfg) = (client_config13(suite, NamedGroup::X25519, false), server_config13(suite, false, false));
        let (mut client, mut server) = handshake13(&ccfg, &scfg, &mut wire);
        let now = Instant::now();
        g.bench_function("dtls-engine", |b| {
            b.iter(|| one_record(&mut client, &mut server, black_box(&payload), &mut wire, now))
        });
        let mut raw = RawAead13::new(suite);
        g.bench_function("ring+masks", |b| b.iter(|| raw.seal_open(black_box(&payload))));
        g.finish();
    }
}

criterion_group!(benches, records, records13);
criterion_main!(benches);
