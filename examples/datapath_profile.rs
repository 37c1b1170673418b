//! The record and routing workloads of `benches/records.rs` and `benches/endpoint.rs`, for
//! callgrind: instruction counts, and cache misses with its cache simulation, are repeatable
//! where timings on a shared machine are not. The measured loops are functions of their own,
//! so `--toggle-collect` counts them alone (setup and handshakes excluded):
//!
//! ```sh
//! cargo build --release --example datapath_profile
//! # one 1200-byte record client → server (suite 0 AES-128-GCM, 1 AES-256-GCM, 2 ChaCha20),
//! # 1,016 times through the sessions, then 1,000 times through raw ring:
//! valgrind --tool=callgrind --toggle-collect='datapath_profile::engine_records' \
//!     target/release/examples/datapath_profile records 0 1000
//! valgrind --tool=callgrind --toggle-collect='datapath_profile::ring_records' \
//!     target/release/examples/datapath_profile records 0 1000
//! # the same with 8-byte connection IDs both ways (`tls12_cid` records, RFC 9146):
//! valgrind --tool=callgrind --toggle-collect='datapath_profile::engine_records' \
//!     target/release/examples/datapath_profile records-cid 0 1000
//! # DTLS 1.3 record protection alone (unified header, inner plaintext, record-number
//! # encryption), the same 1,200-byte record, against ring's AEAD plus the two masks:
//! valgrind --tool=callgrind --toggle-collect='datapath_profile::engine13_records' \
//!     target/release/examples/datapath_profile records13 0 1000
//! valgrind --tool=callgrind --toggle-collect='datapath_profile::ring13_records' \
//!     target/release/examples/datapath_profile records13 0 1000
//! # DTLS 1.3 records through connected Sessions (send, poll_transmit_into, handle_buf,
//! # recycle), the same 1,200-byte datagram, 1,016 times; then 1,000 times ring's AEAD plus
//! # the two masks (`RawAead13`):
//! valgrind --tool=callgrind --toggle-collect='datapath_profile::engine_records' \
//!     target/release/examples/datapath_profile sessions13 0 1000
//! valgrind --tool=callgrind --toggle-collect='datapath_profile::ring13s_records' \
//!     target/release/examples/datapath_profile sessions13 0 1000
//! # 64-byte records from 2,000 sessions in scattered order, 4 batches of 1,024 datagrams:
//! valgrind --tool=callgrind --cache-sim=yes --D1=65536,8,64 --LL=1048576,16,64 \
//!     --toggle-collect='datapath_profile::route' \
//!     target/release/examples/datapath_profile routing 2000 4
//! ```

#[path = "../benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;

use common::{
    RawAead, RawAead13, SUITES, SUITES13, client_config, client_config13, handshake, handshake13, ring_alg,
    server_config, server_config13,
};
use dtls_engine::internals::crypto::aead::AeadAlgorithm;
use dtls_engine::internals::crypto::tls13::{Hash, LabelPrefix, Schedule, traffic_keys};
use dtls_engine::internals::record::dtls13::Protection13;
use dtls_engine::internals::wire::record::{Demux, Record};
use dtls_engine::internals::wire::{ContentType, Epoch};
use dtls_engine::{CipherSuite, Endpoint, EndpointConfig, EndpointEvent, Event, NamedGroup, Session};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: datapath_profile records SUITE N | records-cid SUITE N | records13 SUITE N | sessions13 SUITE N | \
         routing SESSIONS BATCHES";
    let (Some(mode), Some(a), Some(b)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    match mode.as_str() {
        "records" => records(a, b),
        "records-cid" => records_cid(a, b),
        "records13" => records13(a, b),
        "sessions13" => sessions13(a, b),
        "routing" => routing(a, b),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}

fn records(suite: usize, n: usize) {
    let (_, suite) = SUITES[suite.min(SUITES.len() - 1)];
    let mut wire = Vec::with_capacity(2048);
    let (mut c, mut s) = handshake(&client_config(suite, false), &server_config(suite, false), &mut wire);
    let payload = [0x5au8; common::RECORD_LEN - 13 - 24];
    let now = Instant::now();
    // Warm-up: the pools reach their steady size.
    engine_records(&mut c, &mut s, &payload, &mut wire, now, 16);
    engine_records(&mut c, &mut s, &payload, &mut wire, now, n);
    let mut raw = RawAead::new(ring_alg(suite));
    ring_records(&mut raw, &payload, n);
}

/// [`records`] with 8-byte connection IDs both ways: the 1,200-byte datagram is one
/// `tls12_cid` record (13 + 8 header bytes, the explicit nonce, payload, type byte, tag).
fn records_cid(suite: usize, n: usize) {
    let (_, suite) = SUITES[suite.min(SUITES.len() - 1)];
    let mut wire = Vec::with_capacity(2048);
    let (ccfg, scfg) = common::cid_configs(suite);
    let (mut c, mut s) = handshake(&ccfg, &scfg, &mut wire);
    assert!(c.connection_ids().is_some(), "CIDs negotiated");
    let payload = [0x5au8; common::RECORD_LEN - 21 - 24 - 1];
    let now = Instant::now();
    engine_records(&mut c, &mut s, &payload, &mut wire, now, 16);
    engine_records(&mut c, &mut s, &payload, &mut wire, now, n);
}

#[inline(never)]
fn engine_records(c: &mut Session, s: &mut Session, payload: &[u8], wire: &mut Vec<u8>, now: Instant, n: usize) {
    for _ in 0..n {
        common::one_record(c, s, payload, wire, now);
    }
}

#[inline(never)]
fn ring_records(raw: &mut RawAead, payload: &[u8], n: usize) {
    for _ in 0..n {
        black_box(raw.seal_open(black_box(payload)));
    }
}

/// DTLS 1.3 application records client → server through a connected pair of Sessions (the
/// datagram 1,200 bytes: 5-byte unified header, payload, content type, 16-byte tag).
fn sessions13(suite: usize, n: usize) {
    let (_, suite) = SUITES13[suite.min(SUITES13.len() - 1)];
    let mut wire = Vec::with_capacity(2048);
    let ccfg = client_config13(suite, NamedGroup::X25519, false);
    let (mut c, mut s) = handshake13(&ccfg, &server_config13(suite, false, false), &mut wire);
    let payload = [0x5au8; common::RECORD_LEN - 5 - 17];
    let now = Instant::now();
    c.send(&payload).expect("send");
    c.poll_transmit_into(&mut wire).expect("datagram");
    assert_eq!(wire.len(), common::RECORD_LEN, "a 1,200-byte datagram");
    s.handle_buf(now, &mut wire).expect("handle");
    while s.poll_event().is_some() {}
    engine_records(&mut c, &mut s, &payload, &mut wire, now, 16);
    engine_records(&mut c, &mut s, &payload, &mut wire, now, n);
    let mut raw = RawAead13::new(suite);
    ring13s_records(&mut raw, &payload, n);
}

#[inline(never)]
fn ring13s_records(raw: &mut RawAead13, payload: &[u8], n: usize) {
    for _ in 0..n {
        black_box(raw.seal_open(black_box(payload)));
    }
}

/// One direction of DTLS 1.3 record protection (suite 0 AES-128-GCM, 1 AES-256-GCM, 2
/// ChaCha20-Poly1305), keys derived the DTLS 1.3 way from a fixed secret.
fn protection13(suite: usize) -> (Protection13, &'static ring::aead::Algorithm, &'static ring::aead::quic::Algorithm) {
    let (aead, hash, key_len, ring_aead, ring_hp) = match suite {
        1 => (AeadAlgorithm::Aes256Gcm, Hash::Sha384, 32, &ring::aead::AES_256_GCM, &ring::aead::quic::AES_256),
        2 => (
            AeadAlgorithm::Chacha20Poly1305,
            Hash::Sha256,
            32,
            &ring::aead::CHACHA20_POLY1305,
            &ring::aead::quic::CHACHA20,
        ),
        _ => (AeadAlgorithm::Aes128Gcm, Hash::Sha256, 16, &ring::aead::AES_128_GCM, &ring::aead::quic::AES_128),
    };
    let schedule = Schedule::new(LabelPrefix::Dtls13, hash, &[1; 32]).expect("schedule");
    let app = schedule.application(&vec![2; hash.output_len()]).expect("secrets");
    let keys = traffic_keys(LabelPrefix::Dtls13, &app.traffic.client, key_len).expect("keys");
    (Protection13::new(Epoch(3), aead, &keys).expect("protection"), ring_aead, ring_hp)
}

fn records13(suite: usize, n: usize) {
    let (p, ring_aead, ring_hp) = protection13(suite);
    let payload = [0x5au8; common::RECORD_LEN - 5 - 17];
    let mut wire = Vec::with_capacity(2048);
    engine13_records(&p, &payload, &mut wire, 16);
    engine13_records(&p, &payload, &mut wire, n);
    let mut raw = RawAead::new(ring_aead);
    let hp = ring::aead::quic::HeaderProtectionKey::new(ring_hp, &vec![3u8; ring_hp.key_len()]).expect("hp");
    ring13_records(&mut raw, &hp, &payload, n);
}

/// Seal one record and open it again through the unified-header parser.
#[inline(never)]
fn engine13_records(p: &Protection13, payload: &[u8], wire: &mut Vec<u8>, n: usize) {
    for seq in 0..n as u64 {
        wire.clear();
        p.seal(seq, &[], ContentType::ApplicationData, black_box(payload), wire).expect("seal");
        let Some(Record::Unified { header, .. }) = Demux::new(wire, 0).next() else { panic!("record") };
        let (len, at, seq_len) = (header.header_len(), header.sequence_offset(), header.sequence.len());
        let opened = p.open(wire, len, at, seq_len, seq).expect("open");
        black_box(opened.content.len());
    }
}

/// The floor: ring's AEAD seal and open of the same payload, and the record-number mask
/// computed twice (once to send, once to receive).
#[inline(never)]
fn ring13_records(raw: &mut RawAead, hp: &ring::aead::quic::HeaderProtectionKey, payload: &[u8], n: usize) {
    for _ in 0..n {
        black_box(raw.seal_open(black_box(payload)));
        black_box(hp.new_mask(black_box(&payload[..16])).expect("mask"));
        black_box(hp.new_mask(black_box(&payload[16..32])).expect("mask"));
    }
}

fn peer(i: usize) -> SocketAddr {
    SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 5000))
}

fn routing(sessions: usize, batches: usize) {
    const SUITE: CipherSuite = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    let now = Instant::now();
    let config = EndpointConfig {
        server: Some(server_config(SUITE, false)),
        rng_seed: Some([9; 32]),
        ..EndpointConfig::default()
    };
    let mut ep = Endpoint::new(now, config);
    let ccfg = client_config(SUITE, false);
    let server_addr: SocketAddr = common::SERVER_ADDR.parse().expect("address");
    let mut wire = Vec::with_capacity(2048);
    let mut clients = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let mut c = Session::client(now, ccfg.clone(), server_addr);
        for _ in 0..8 {
            while c.poll_transmit_into(&mut wire).is_some() {
                ep.handle(now, peer(i), &wire);
            }
            while ep.poll_transmit_into(&mut wire).is_some() {
                c.handle(now, &wire).expect("handshake");
            }
            while ep.poll_event().is_some() {}
        }
        assert!(c.is_connected());
        while c.poll_event().is_some() {}
        clients.push(c);
    }
    // The benchmark's visiting order: a stride coprime with the session count.
    let stride = if sessions > 10 { 7919 } else { 3 };
    let mut next = 0;
    let payload = [0x42u8; 64];
    let mut batch: Vec<(SocketAddr, Vec<u8>)> = (0..1024).map(|_| (peer(0), Vec::with_capacity(128))).collect();
    for _ in 0..batches {
        for slot in batch.iter_mut() {
            next = (next + stride) % sessions;
            let c = &mut clients[next];
            c.send(&payload).expect("send");
            c.poll_transmit_into(&mut slot.1).expect("datagram");
            slot.0 = peer(next);
        }
        route(&mut ep, &batch, now);
    }
    black_box(ep.stats().packets_received);
}

#[inline(never)]
fn route(ep: &mut Endpoint, batch: &[(SocketAddr, Vec<u8>)], now: Instant) {
    for (from, datagram) in batch {
        ep.handle(now, *from, datagram);
        while let Some((h, ev)) = ep.poll_event() {
            if let EndpointEvent::Session(Event::ApplicationData(d)) = ev {
                ep.recycle(h, d);
            }
        }
    }
}
