//! Compiled only under `#[cfg(test)]` (declared so by the parent module): unwraps here are test assertions.
//! Tests for the reassembler: unit tests per rule, a property test against the original
//! messages, and a never-panics property test on arbitrary input.

use super::*;
use crate::wire::handshake_header::{fragment, parse_fragments};
use proptest::prelude::*;

const CERT: HandshakeType = HandshakeType::Certificate;

fn hdr(msg_type: HandshakeType, length: u32, seq: u16, off: u32, flen: u32) -> HandshakeHeader {
    HandshakeHeader { msg_type, length, message_seq: seq, fragment_offset: off, fragment_length: flen }
}

/// Insert `body[off..off+len]` of message `seq` (type Certificate).
fn put(r: &mut Reassembler, seq: u16, body: &[u8], off: usize, len: usize) -> Result<Inserted, InsertError> {
    let h = hdr(CERT, body.len() as u32, seq, off as u32, len as u32);
    r.insert(&h, &body[off..off + len])
}

/// Insert as [`put`] and require that the fragment was buffered.
fn buffered(r: &mut Reassembler, seq: u16, body: &[u8], off: usize, len: usize) {
    assert_eq!(put(r, seq, body, off, len), Ok(Inserted::Buffered));
}

fn body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

#[test]
fn whole_message_in_one_fragment() {
    let mut r = Reassembler::default();
    let b = body(10);
    assert_eq!(put(&mut r, 0, &b, 0, 10), Ok(Inserted::Buffered));
    assert_eq!(r.buffered_bytes(), 10);
    let m = r.pop().unwrap();
    assert_eq!(m, HandshakeMessage { msg_type: CERT, message_seq: 0, body: b });
    assert_eq!(r.next_seq(), 1);
    assert_eq!(r.buffered_bytes(), 0);
    assert_eq!(r.pop(), None);
}

#[test]
fn out_of_order_overlapping_and_duplicate_fragments() {
    let mut r = Reassembler::default();
    let b = body(100);
    buffered(&mut r, 0, &b, 60, 40);
    assert_eq!(r.pop(), None);
    buffered(&mut r, 0, &b, 60, 40); // duplicate
    buffered(&mut r, 0, &b, 10, 60); // overlaps the first
    assert_eq!(r.pop(), None);
    buffered(&mut r, 0, &b, 0, 15);
    assert_eq!(r.pop().unwrap().body, b);
}

#[test]
fn messages_are_delivered_in_sequence_order() {
    let mut r = Reassembler::default();
    let (b0, b1) = (body(5), body(8));
    buffered(&mut r, 1, &b1, 0, 8);
    assert_eq!(r.pop(), None, "seq 1 must wait for seq 0");
    buffered(&mut r, 0, &b0, 0, 5);
    assert_eq!(r.pop().unwrap().message_seq, 0);
    assert_eq!(r.pop().unwrap().message_seq, 1);
    assert_eq!(r.pop(), None);
}

#[test]
fn retransmission_fragmented_differently() {
    let mut r = Reassembler::default();
    let b = body(90);
    // First transmission: 30-byte fragments, the middle one lost.
    buffered(&mut r, 0, &b, 0, 30);
    buffered(&mut r, 0, &b, 60, 30);
    // Retransmission with a smaller MTU: 25-byte fragments.
    for off in (0..90).step_by(25) {
        buffered(&mut r, 0, &b, off, 25.min(90 - off));
    }
    assert_eq!(r.pop().unwrap().body, b);
}

/// Regression for the GnuTLS 2026 heap overflow: fragments were matched on message type
/// alone, so a fragment declaring a larger length was copied into a smaller buffer.
#[test]
fn inconsistent_type_or_length_is_rejected() {
    let mut r = Reassembler::default();
    let b = body(20);
    buffered(&mut r, 0, &b, 0, 10);
    let big = body(4000);
    assert_eq!(put(&mut r, 0, &big, 3000, 1000), Err(InsertError::Inconsistent));
    let other_type = hdr(HandshakeType::ServerKeyExchange, 20, 0, 10, 10);
    assert_eq!(r.insert(&other_type, &b[10..]), Err(InsertError::Inconsistent));
    assert_eq!(r.buffered_bytes(), 20);
    assert_eq!(r.pop(), None);
    buffered(&mut r, 0, &b, 10, 10);
    assert_eq!(r.pop().unwrap().body, b);
}

#[test]
fn conflicting_overlap_is_rejected_and_first_bytes_kept() {
    let mut r = Reassembler::default();
    let b = body(20);
    buffered(&mut r, 0, &b, 0, 12);
    let mut forged = b.clone();
    forged[5] ^= 0xff;
    assert_eq!(put(&mut r, 0, &forged, 0, 20), Err(InsertError::Inconsistent));
    assert_eq!(r.pop(), None, "the rejected fragment must not fill the gap");
    buffered(&mut r, 0, &b, 12, 8);
    assert_eq!(r.pop().unwrap().body, b);
}

/// A message that arrived whole in one fragment keeps no bitmap (the fast path): a repeat of
/// any part of it must still be checked against its bytes, and must never change them.
#[test]
fn repeat_of_a_whole_message_is_checked_against_its_bytes() {
    let mut r = Reassembler::default();
    let b = body(20);
    buffered(&mut r, 1, &b, 0, 20);
    let mut forged = b.clone();
    forged[15] ^= 0xff;
    assert_eq!(put(&mut r, 1, &forged, 10, 10), Err(InsertError::Inconsistent));
    assert_eq!(put(&mut r, 1, &forged, 0, 20), Err(InsertError::Inconsistent));
    buffered(&mut r, 1, &b, 5, 10);
    buffered(&mut r, 0, &body(3), 0, 3);
    assert_eq!(r.pop().unwrap().body, body(3));
    assert_eq!(r.pop().unwrap().body, b);
}

#[test]
fn malformed_fragments_are_rejected() {
    let mut r = Reassembler::default();
    let h = hdr(CERT, 10, 0, 8, 4); // 8 + 4 > 10
    assert!(matches!(r.insert(&h, &[0; 4]), Err(InsertError::Malformed(_))));
    let h = hdr(CERT, 10, 0, 0, 4);
    assert!(matches!(r.insert(&h, &[0; 3]), Err(InsertError::Malformed(_))));
    let h = hdr(CERT, 0x00ff_ffff, 0, 0x00ff_fff0, 0x10);
    assert!(matches!(r.insert(&h, &[0; 3]), Err(InsertError::Malformed(_))));
    assert_eq!(r.buffered_bytes(), 0);
}

#[test]
fn caps_are_enforced_before_allocating() {
    let mut r = Reassembler::new(100, 150);
    assert_eq!(put(&mut r, 0, &body(101), 0, 1), Err(InsertError::TooLarge));
    assert_eq!(r.buffered_bytes(), 0);
    buffered(&mut r, 0, &body(100), 0, 1);
    assert_eq!(r.buffered_bytes(), 100);
    assert_eq!(put(&mut r, 1, &body(51), 0, 51), Err(InsertError::OverBudget));
    assert_eq!(r.buffered_bytes(), 100, "nothing buffered for a refused fragment");
    buffered(&mut r, 1, &body(50), 0, 50);
    assert_eq!(r.buffered_bytes(), 150);
    // Once seq 0 is delivered its budget is released.
    buffered(&mut r, 0, &body(100), 1, 99);
    assert_eq!(r.pop().unwrap().body, body(100));
    assert_eq!(r.buffered_bytes(), 50);
    buffered(&mut r, 2, &body(100), 0, 10);
}

#[test]
fn default_caps_admit_a_large_certificate_chain() {
    let mut r = Reassembler::default();
    let b = body(DEFAULT_MAX_MESSAGE_LEN);
    for off in (0..b.len()).step_by(1200) {
        buffered(&mut r, 0, &b, off, 1200.min(b.len() - off));
    }
    assert_eq!(r.pop().unwrap().body, b);
    assert_eq!(put(&mut r, 1, &body(DEFAULT_MAX_MESSAGE_LEN + 1), 0, 1), Err(InsertError::TooLarge));
}

/// Regression for pion CVE-2022-29190 class: degenerate zero-length fragments must neither
/// loop nor allocate, and must complete an empty message.
#[test]
fn zero_length_fragments() {
    let mut r = Reassembler::default();
    // Zero-length message: one empty fragment completes it.
    let h = hdr(HandshakeType::ServerHelloDone, 0, 0, 0, 0);
    assert_eq!(r.insert(&h, &[]), Ok(Inserted::Buffered));
    let m = r.pop().unwrap();
    assert_eq!((m.msg_type, m.body.len()), (HandshakeType::ServerHelloDone, 0));
    // Empty fragments of a non-empty message: no-ops, no allocation.
    for off in 0..=50 {
        assert_eq!(r.insert(&hdr(CERT, 50, 1, off, 0), &[]), Ok(Inserted::Buffered));
    }
    assert_eq!(r.buffered_bytes(), 0);
    assert_eq!(r.pop(), None);
    // ...and also once the message exists.
    buffered(&mut r, 1, &body(50), 0, 10);
    assert_eq!(r.insert(&hdr(CERT, 50, 1, 20, 0), &[]), Ok(Inserted::Buffered));
    assert_eq!(r.pop(), None);
}

#[test]
fn old_sequence_is_reported() {
    let mut r = Reassembler::default();
    let b = body(4);
    buffered(&mut r, 0, &b, 0, 4);
    r.pop().unwrap();
    assert_eq!(put(&mut r, 0, &b, 0, 2), Ok(Inserted::Old));
    assert_eq!(r.buffered_bytes(), 0);
    assert_eq!(r.pop(), None);
}

#[test]
fn far_ahead_is_ignored() {
    let mut r = Reassembler::default();
    let b = body(4);
    assert_eq!(put(&mut r, MAX_SEQ_AHEAD + 1, &b, 0, 4), Ok(Inserted::TooFarAhead));
    assert_eq!(put(&mut r, u16::MAX, &b, 0, 4), Ok(Inserted::TooFarAhead));
    assert_eq!(r.buffered_bytes(), 0);
    assert_eq!(put(&mut r, MAX_SEQ_AHEAD, &b, 0, 4), Ok(Inserted::Buffered));
    assert_eq!(r.buffered_bytes(), 4);
}

#[test]
fn set_next_seq_after_cookie_exchange() {
    let mut r = Reassembler::default();
    let b = body(6);
    buffered(&mut r, 0, &b, 0, 3); // a partial first ClientHello
    buffered(&mut r, 3, &b, 0, 6);
    r.set_next_seq(1);
    assert_eq!(r.next_seq(), 1);
    assert_eq!(r.buffered_bytes(), 6, "seq 0 dropped, seq 3 kept");
    assert_eq!(put(&mut r, 0, &b, 3, 3), Ok(Inserted::Old));
    buffered(&mut r, 1, &b, 0, 6);
    assert_eq!(r.pop().unwrap().message_seq, 1);
    r.clear();
    assert_eq!(r.buffered_bytes(), 0);
    assert_eq!(r.next_seq(), 2);
}

#[test]
fn transcript_bytes_use_the_unfragmented_header() {
    let m = HandshakeMessage { msg_type: HandshakeType::Finished, message_seq: 5, body: vec![9; 3] };
    let mut out = vec![0xaa];
    m.transcript_bytes(&mut out);
    assert_eq!(out, [0xaa, 0x14, 0, 0, 3, 0, 5, 0, 0, 0, 0, 0, 3, 9, 9, 9]);
}

/// A tiny deterministic generator for shuffling inside property tests.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn msg_type_strategy() -> impl Strategy<Value = HandshakeType> {
    prop_oneof![
        Just(HandshakeType::ClientHello),
        Just(HandshakeType::Certificate),
        Just(HandshakeType::ServerHelloDone),
        any::<u8>().prop_map(HandshakeType::from),
    ]
}

proptest! {
    #[test]
    fn reassembles_shuffled_duplicated_refragmented_flights(
        msgs in proptest::collection::vec(
            (msg_type_strategy(), proptest::collection::vec(any::<u8>(), 0..300)),
            1..6,
        ),
        cuts in proptest::collection::vec(1usize..200, 1..4),
        extra in proptest::collection::vec((any::<u16>(), any::<u16>()), 0..10),
        seed in 1u64..,
    ) {
        // Every message fragmented once per cut size, plus arbitrary overlapping slices.
        let mut frags: Vec<(HandshakeHeader, Vec<u8>)> = Vec::new();
        for (seq, (ty, b)) in msgs.iter().enumerate() {
            for &cut in &cuts {
                fragment(*ty, seq as u16, b, cut, |h, s| frags.push((h, s.to_vec()))).unwrap();
            }
            for &(a, c) in &extra {
                let (a, c) = (a as usize % (b.len() + 1), c as usize % (b.len() + 1));
                let (lo, hi) = (a.min(c), a.max(c));
                let h = hdr(*ty, b.len() as u32, seq as u16, lo as u32, (hi - lo) as u32);
                frags.push((h, b[lo..hi].to_vec()));
            }
        }
        let mut state = seed;
        for i in (1..frags.len()).rev() {
            let j = (xorshift(&mut state) % (i as u64 + 1)) as usize;
            frags.swap(i, j);
        }
        let mut r = Reassembler::default();
        let mut got = Vec::new();
        for (h, b) in &frags {
            let res = r.insert(h, b);
            if h.message_seq < r.next_seq() {
                prop_assert_eq!(res, Ok(Inserted::Old));
            } else {
                prop_assert_eq!(res, Ok(Inserted::Buffered));
            }
            while let Some(m) = r.pop() {
                got.push(m);
            }
        }
        let want: Vec<_> = msgs
            .iter()
            .enumerate()
            .map(|(seq, (ty, b))| HandshakeMessage { msg_type: *ty, message_seq: seq as u16, body: b.clone() })
            .collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn arbitrary_records_never_panic(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 0..8),
        structured in proptest::collection::vec(
            (any::<u8>(), 0u32..80, 0u16..20, 0u32..90, 0u32..90, proptest::collection::vec(any::<u8>(), 0..90)),
            0..30,
        ),
        next in 0u16..4,
    ) {
        let mut r = Reassembler::new(64, 128);
        r.set_next_seq(next);
        let mut crafted = Vec::new();
        for (ty, len, seq, off, flen, b) in structured {
            let h = hdr(HandshakeType::from(ty % 4), len, seq, off, flen);
            // Deliberately not `encode_fragment`: the body length may disagree with the header.
            h.encode(&mut crafted);
            crafted.extend_from_slice(&b);
        }
        for rec in records.iter().chain(core::iter::once(&crafted)) {
            for (h, b) in parse_fragments(rec).flatten() {
                let _ = r.insert(&h, b);
                prop_assert!(r.buffered_bytes() <= 128);
                while let Some(m) = r.pop() {
                    prop_assert!(m.body.len() <= 64);
                }
            }
        }
    }
}

/// `continues`: in-order fragments (across messages, and a message's next piece) continue;
/// a fragment past a gap in its own message or past an incomplete earlier message does not.
#[test]
fn continues_tells_a_gap_from_the_next_piece() {
    let mut r = Reassembler::default();
    let b = body(300);
    let h = |seq: u16, off: u32, len: u32| hdr(CERT, 300, seq, off, len);
    assert!(r.continues(&h(0, 0, 100)));
    assert!(!r.continues(&h(0, 100, 100)), "nothing of message 0 yet");
    assert!(!r.continues(&h(1, 0, 100)), "message 0 not complete");
    buffered(&mut r, 0, &b, 0, 100);
    assert!(r.continues(&h(0, 100, 100)));
    assert!(!r.continues(&h(0, 200, 100)), "bytes 100..200 missing");
    assert!(r.continues(&h(0, 64, 100)), "overlapping the received prefix");
    buffered(&mut r, 0, &b, 200, 100);
    assert!(!r.continues(&h(1, 0, 300)));
    buffered(&mut r, 0, &b, 100, 100);
    assert!(r.continues(&h(1, 0, 300)), "message 0 complete, not yet popped");
    assert!(r.pop().is_some());
    assert!(r.continues(&h(1, 0, 300)));
    assert!(r.continues(&h(0, 0, 300)), "an old message's repeat");
    // Prefix ends inside a 64-bit word of the bitmap.
    buffered(&mut r, 1, &b, 0, 70);
    assert!(r.continues(&h(1, 70, 10)));
    assert!(r.continues(&h(1, 69, 10)));
    assert!(!r.continues(&h(1, 71, 10)));
}
