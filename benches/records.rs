//! Seal + open of one 1200-byte application record through a connected client/server pair,
//! beside the raw ring AEAD work on the same bytes (copy into the buffer, seal, open), for
//! each AEAD suite. Read the result as the ratio of the two in one run.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod common;
use common::{RECORD_LEN, RawAead, SUITES, client_config, handshake, one_record, ring_alg, server_config};

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

criterion_group!(benches, records);
criterion_main!(benches);
