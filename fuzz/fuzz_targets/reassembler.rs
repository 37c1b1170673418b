//! A sequence of (header, fragment) inserts and pops against small caps: never panics,
//! never buffers more than the session cap, delivers in message_seq order, and every
//! delivered message has the declared length.
#![no_main]

use dtls_engine::internals::handshake::reassembler::Reassembler;
use dtls_engine::internals::wire::HandshakeType;
use dtls_engine::internals::wire::handshake_header::HandshakeHeader;
use libfuzzer_sys::fuzz_target;

const MAX_MESSAGE: usize = 2048;
const MAX_TOTAL: usize = 4096;

fn u24(b: &[u8]) -> u32 {
    u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2])
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reassembler::new(MAX_MESSAGE, MAX_TOTAL);
    let mut rest = data;
    let mut expected_seq = r.next_seq();
    // op: 1 byte kind; insert: type(1) length(2, scaled) seq(1) offset(2) flen(2) + bytes.
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        if op & 0x80 != 0 {
            while let Some(msg) = r.pop() {
                assert_eq!(msg.message_seq, expected_seq);
                expected_seq = expected_seq.wrapping_add(1);
                assert!(msg.body.len() <= MAX_MESSAGE);
            }
            continue;
        }
        if rest.len() < 9 {
            break;
        }
        let (h, tail) = rest.split_at(9);
        rest = tail;
        // Lengths up to 2^24 - 1 so the caps and the 24-bit bounds are both reached.
        let length = if op & 0x40 != 0 { u24(&h[1..4]) } else { u32::from(u16::from_be_bytes([h[1], h[2]])) % 3000 };
        let header = HandshakeHeader {
            msg_type: HandshakeType::from(h[0] % 24),
            length,
            message_seq: u16::from(h[4] % 24),
            fragment_offset: u32::from(u16::from_be_bytes([h[5], h[6]])),
            fragment_length: u32::from(u16::from_be_bytes([h[7], h[8]])),
        };
        // Usually hand over exactly fragment_length bytes; bit 5 tests the mismatch path.
        let want = if op & 0x20 != 0 { usize::from(op & 0x1f) } else { header.fragment_length as usize };
        let take = want.min(rest.len());
        let (fragment, tail) = rest.split_at(take);
        rest = tail;
        let _ = r.insert(&header, fragment);
        assert!(r.buffered_bytes() <= MAX_TOTAL, "buffered {} > cap", r.buffered_bytes());
    }
    while let Some(msg) = r.pop() {
        assert_eq!(msg.message_seq, expected_seq);
        expected_seq = expected_seq.wrapping_add(1);
    }
    assert!(r.buffered_bytes() <= MAX_TOTAL);
});
