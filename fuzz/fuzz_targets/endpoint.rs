//! The sans-IO Endpoint fed arbitrary datagrams from a few addresses, mixed with genuine
//! (and mutated) ClientHellos and a real client's handshake, so cookies verify and sessions
//! exist while the fuzzer attacks. Must never panic, and must never hold more sessions than
//! addresses that completed a cookie exchange.
//!
//! Input: `[stop]` (how many genuine handshake round trips the real client at address 0
//! runs first, `stop % 4`), then chunks: tag `0x80..=0xff`: advance the clock by
//! `(tag & 0x7f) * 50 ms` and run timers; tag `0x40..=0x7f`: a fresh genuine client at
//! address `tag & 3` sends its ClientHello XORed with the next 8 bytes (cycled) — then the
//! endpoint's answer is delivered back to it and its second ClientHello sent too; with bit
//! `0x20` set each of that client's ClientHellos is split into two fragments (two
//! datagrams) at a point the next byte chooses, as a post-quantum-sized hello arrives;
//! other tags: a raw datagram from address `tag & 3`, length in the next two bytes.
//! The endpoint's half-open cap (2) must hold throughout.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dtls_engine::internals::wire::handshake_header::{HandshakeHeader, encode_fragment, parse_fragments};
use dtls_engine::internals::wire::record::{Deframer, RecordHeader};
use dtls_engine::internals::wire::{ContentType, HandshakeType};
use dtls_engine::{ClientConfig, Endpoint, EndpointConfig, ServerConfig, Session, UnixTime};
use libfuzzer_sys::fuzz_target;

const CA: &[u8] = include_bytes!("../../tests/fixtures/chain/ca.pem");
const CERT: &[u8] = include_bytes!("../../tests/fixtures/chain/server.pem");
const KEY: &[u8] = include_bytes!("../../tests/fixtures/chain/server-key.pem");

fn cert_time() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(1_798_761_600))
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + (i & 3))), 5000 + u16::from(i & 3))
}

fn client_config() -> Arc<ClientConfig> {
    ClientConfig::builder()
        .root_certificates_pem(CA)
        .expect("fixture CA")
        .server_name("server.test")
        .rng_seed([3; 32])
        .time_source(cert_time)
        .build()
        .expect("client config")
}

/// With `split`, a datagram that is one plaintext record holding one whole ClientHello
/// becomes two datagrams, each one record with one fragment of it (the first `split % len`
/// body bytes, at least one, and the rest); anything else is returned as it is.
fn refragment(datagram: &[u8], split: Option<usize>) -> Vec<Vec<u8>> {
    let whole = || vec![datagram.to_vec()];
    let Some(split) = split else { return whole() };
    let mut records = Deframer::new(datagram);
    let Some((record, body)) = records.next() else { return whole() };
    if records.next().is_some() || record.content_type != ContentType::Handshake || record.epoch != 0 {
        return whole();
    }
    let Some(Ok((hs, msg))) = parse_fragments(body).next() else { return whole() };
    if hs.msg_type != HandshakeType::ClientHello || !hs.is_whole_message() || msg.len() < 2 {
        return whole();
    }
    let cut = 1 + split % (msg.len() - 1);
    let (a, b) = msg.split_at(cut);
    [(0, a), (cut, b)]
        .into_iter()
        .enumerate()
        .map(|(i, (offset, part))| {
            let h = HandshakeHeader { fragment_offset: offset as u32, fragment_length: part.len() as u32, ..hs };
            let mut frag = Vec::new();
            encode_fragment(&h, part, &mut frag);
            let mut out = Vec::new();
            RecordHeader { sequence: record.sequence + i as u64, length: frag.len() as u16, ..record }.encode(&mut out);
            out.extend_from_slice(&frag);
            out
        })
        .collect()
}

/// Deliver everything the endpoint wants to send to `client` at `at`, and back.
fn exchange(ep: &mut Endpoint, client: &mut Session, at: SocketAddr, now: Instant, split: Option<usize>) {
    for _ in 0..4 {
        let mut moved = false;
        while let Some(t) = client.poll_transmit() {
            for d in refragment(&t.contents, split) {
                ep.handle(now, at, &d);
            }
            moved = true;
        }
        while let Some(t) = ep.poll_transmit() {
            if t.destination == at {
                let _ = client.handle(now, &t.contents);
                moved = true;
            }
        }
        while ep.poll_event().is_some() {}
        while client.poll_event().is_some() {}
        if !moved {
            break;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let server = ServerConfig::builder()
        .certificate_pem(CERT, KEY)
        .expect("fixture server cert")
        .rng_seed([2; 32])
        .time_source(cert_time)
        .build()
        .expect("server config");
    let base = Instant::now();
    let mut now = base;
    let mut ep = Endpoint::new(
        now,
        EndpointConfig {
            server: Some(server),
            max_sessions: 8,
            max_half_open: 2,
            rng_seed: Some([9; 32]),
            ..EndpointConfig::default()
        },
    );
    let Some((&stop, mut rest)) = data.split_first() else { return };

    // A genuine client at address 0, `stop % 4` round trips into its handshake.
    let mut real = Session::client(now, client_config(), addr(0));
    for _ in 0..(stop % 4) {
        exchange(&mut ep, &mut real, addr(0), now, None);
    }

    while let Some((&tag, tail)) = rest.split_first() {
        rest = tail;
        match tag {
            0x80..=0xff => {
                now += Duration::from_millis(50 * u64::from(tag & 0x7f));
                ep.handle_timeout(now);
                let _ = real.handle_timeout(now);
            }
            0x40..=0x7f => {
                let at = addr(tag);
                let n = rest.len().min(8);
                let (mask, tail) = rest.split_at(n);
                rest = tail;
                let split = if tag & 0x20 != 0 {
                    let Some((&at, tail)) = rest.split_first() else { break };
                    rest = tail;
                    Some(usize::from(at))
                } else {
                    None
                };
                let mut fresh = Session::client(now, client_config(), at);
                if let Some(t) = fresh.poll_transmit() {
                    let mut hello = t.contents;
                    if !mask.is_empty() {
                        for (i, b) in hello.iter_mut().enumerate() {
                            *b ^= mask[i % mask.len()];
                        }
                    }
                    for d in refragment(&hello, split) {
                        ep.handle(now, at, &d);
                    }
                }
                exchange(&mut ep, &mut fresh, at, now, split);
            }
            _ => {
                let Some((len, tail)) = rest.split_at_checked(2) else { break };
                let len = usize::from(u16::from_be_bytes([len[0], len[1]])).min(tail.len());
                let (dgram, tail) = tail.split_at(len);
                rest = tail;
                ep.handle(now, addr(tag), dgram);
            }
        }
        while ep.poll_transmit().is_some() {}
        while ep.poll_event().is_some() {}
        let _ = ep.poll_timeout();
        assert!(ep.session_count() <= 8, "more sessions than the cap");
        assert!(ep.half_open_count() <= 2, "more half-open sessions than the cap");
    }
});
