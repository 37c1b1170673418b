//! DTLS 1.3 record protection: layout, round trips, record-number encryption, tampering,
//! short records and sequence number reconstruction.

use super::*;
use crate::crypto::tls13::{Hash, LabelPrefix, Schedule, traffic_keys};
use crate::wire::record::{Demux, Record};

const ALGS: [(AeadAlgorithm, Hash, usize); 3] = [
    (AeadAlgorithm::Aes128Gcm, Hash::Sha256, 16),
    (AeadAlgorithm::Aes256Gcm, Hash::Sha384, 32),
    (AeadAlgorithm::Chacha20Poly1305, Hash::Sha256, 32),
];

/// Keys of one direction of epoch 3 from a made-up shared secret, derived the DTLS 1.3 way.
fn protection(alg: AeadAlgorithm, hash: Hash, key_len: usize, seed: u8) -> Protection13 {
    let schedule = Schedule::new(LabelPrefix::Dtls13, hash, &[seed; 32]).unwrap();
    let app = schedule.application(&vec![seed; hash.output_len()]).unwrap();
    let keys = traffic_keys(LabelPrefix::Dtls13, &app.traffic.client, key_len).unwrap();
    Protection13::new(Epoch(3), alg, &keys).unwrap()
}

/// Parse `datagram`'s single record with the unified-header codec and open it (a datagram
/// that does not parse as one is refused like a record that does not open).
fn open_one(p: &Protection13, datagram: &[u8], cid_len: usize, expected: u64) -> Result<(Opened, Vec<u8>), Discard> {
    let Some(Record::Unified { header, .. }) = Demux::new(datagram, cid_len).next() else {
        return Err(Discard::BadRecordMac);
    };
    let mut buf = datagram.to_vec();
    let opened = p.open(&mut buf, header.header_len(), header.sequence_offset(), header.sequence.len(), expected)?;
    Ok((opened, buf))
}

#[test]
fn seal_then_open_every_suite_with_and_without_cid() {
    for (alg, hash, key_len) in ALGS {
        let p = protection(alg, hash, key_len, 1);
        for cid in [&[][..], &[0xde, 0xad, 0xbe, 0xef][..]] {
            for (seq, content) in [(0u64, &b""[..]), (1, b"x"), (0x1_2345, &[7u8; 1200][..])] {
                let mut out = Vec::new();
                p.seal(seq, cid, ContentType::ApplicationData, content, &mut out).unwrap();
                // 001CSLEE: C as given, S = 1, L = 1, EE = 3.
                let c = if cid.is_empty() { 0 } else { 0x10 };
                assert_eq!(out[0], 0b0010_1111 | c);
                assert_eq!(&out[1..1 + cid.len()], cid);
                let (opened, buf) = open_one(&p, &out, cid.len(), seq).unwrap();
                assert_eq!(opened.sequence, seq);
                assert_eq!(opened.content_type, ContentType::ApplicationData);
                assert_eq!(&buf[opened.content.clone()], content, "{alg:?}");
            }
        }
    }
}

#[test]
fn the_sequence_number_is_encrypted_on_the_wire() {
    let p = protection(AeadAlgorithm::Aes128Gcm, Hash::Sha256, 16, 2);
    let mut seen = std::collections::HashSet::new();
    for seq in 0..64u64 {
        let mut out = Vec::new();
        p.seal(seq, &[], ContentType::ApplicationData, b"same payload", &mut out).unwrap();
        seen.insert([out[1], out[2]]);
    }
    // Sent in the clear, 64 consecutive numbers would share their high byte (0).
    assert!(seen.iter().filter(|s| s[0] == 0).count() < 16, "{seen:02x?}");
}

#[test]
fn short_content_is_padded_to_the_sample_size() {
    // ChaCha20-Poly1305 and the GCM suites have 16-byte tags, so every record is long
    // enough; the padding rule must still give a ciphertext of at least 16 bytes.
    for (alg, hash, key_len) in ALGS {
        let p = protection(alg, hash, key_len, 3);
        let mut out = Vec::new();
        p.seal(9, &[], ContentType::Alert, &[], &mut out).unwrap();
        assert!(out.len() - 5 >= SAMPLE_LEN);
        let (opened, _) = open_one(&p, &out, 0, 9).unwrap();
        assert_eq!(opened.content_type, ContentType::Alert);
        assert!(opened.content.is_empty());
    }
}

#[test]
fn tampering_anywhere_is_refused() {
    let p = protection(AeadAlgorithm::Chacha20Poly1305, Hash::Sha256, 32, 4);
    let mut out = Vec::new();
    p.seal(5, &[1, 2], ContentType::Handshake, b"a handshake message", &mut out).unwrap();
    assert!(open_one(&p, &out, 2, 5).is_ok());
    for i in 0..out.len() {
        let mut bad = out.clone();
        bad[i] ^= 0x01;
        // Flipping bits of the first byte may turn the record into something else entirely.
        if i == 0 {
            continue;
        }
        assert!(open_one(&p, &bad, 2, 5).is_err(), "byte {i} of {}", out.len());
    }
    // Another epoch's keys cannot open it.
    let other = protection(AeadAlgorithm::Chacha20Poly1305, Hash::Sha256, 32, 5);
    assert!(open_one(&other, &out, 2, 5).is_err());
}

#[test]
fn short_and_malformed_records_are_dropped_without_panic() {
    let p = protection(AeadAlgorithm::Aes128Gcm, Hash::Sha256, 16, 6);
    let mut out = Vec::new();
    p.seal(1, &[], ContentType::ApplicationData, b"hello", &mut out).unwrap();
    for cut in 0..out.len() {
        let mut buf = out[..cut].to_vec();
        let header_len = 5.min(cut);
        let _ = p.open(&mut buf, header_len, 1, 2, 1);
    }
    let mut buf = out.clone();
    assert_eq!(p.open(&mut buf, 5, 1, 3, 1), Err(Discard::BadRecordMac));
    assert_eq!(p.open(&mut buf, 5, 4, 2, 1), Err(Discard::BadRecordMac));
    assert_eq!(p.open(&mut buf, 500, 1, 2, 1), Err(Discard::BadRecordMac));
}

#[test]
fn reconstruction_picks_the_closest_value() {
    // RFC 9147 §4.2.2: closest to one plus the highest deprotected sequence number.
    assert_eq!(reconstruct_sequence(0, 0, 16), 0);
    assert_eq!(reconstruct_sequence(0x1_0000, 0xffff, 16), 0xffff);
    assert_eq!(reconstruct_sequence(0xfff0, 0x0005, 16), 0x1_0005);
    assert_eq!(reconstruct_sequence(0x12_3456, 0x3450, 16), 0x12_3450);
    assert_eq!(reconstruct_sequence(0x1_00, 0xff, 8), 0xff);
    assert_eq!(reconstruct_sequence(0xf0, 0x02, 8), 0x102);
    assert_eq!(reconstruct_sequence(5, 0xfffe, 16), 0xfffe);
    // Never beyond 2^48 - 1.
    let max = MAX_SEQUENCE;
    assert_eq!(reconstruct_sequence(max, (max & 0xffff) as u16, 16), max);
    assert!(reconstruct_sequence(max, 0x0001, 16) <= max);
}

/// The reconstruction against its definition: of the values with the received low bits in
/// `0..=2^48-1`, the one closest to `expected`, the value in `expected`'s own window on a tie.
#[test]
fn reconstruction_matches_the_closest_value_by_definition() {
    fn reference(expected: u64, low: u16, bits: u32) -> u64 {
        let window = 1u64 << bits;
        let base = (expected & !(window - 1)) | (u64::from(low) & (window - 1));
        let mut best = base;
        for c in [base.checked_sub(window), base.checked_add(window)].into_iter().flatten() {
            if c <= MAX_SEQUENCE && c.abs_diff(expected) < best.abs_diff(expected) {
                best = c;
            }
        }
        best
    }
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let edges =
        [0, 1, 0x7f, 0x80, 0x81, 0xff, 0x100, 0x7fff, 0x8000, 0x8001, 0xffff, 0x1_0000, MAX_SEQUENCE - 1, MAX_SEQUENCE];
    for i in 0..200_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let expected = if i < 196 { edges[(i % 14) as usize] } else { (x >> 16) % (MAX_SEQUENCE + 1) };
        let expected = if i % 3 == 0 { expected & 0xffff_ffff } else { expected };
        let low = (x & 0xffff) as u16;
        for bits in [8, 16] {
            assert_eq!(
                reconstruct_sequence(expected, low, bits),
                reference(expected, low, bits),
                "{expected:#x} {low:#x} {bits}"
            );
        }
    }
}

#[test]
fn records_far_from_the_expected_number_do_not_open() {
    let p = protection(AeadAlgorithm::Aes256Gcm, Hash::Sha384, 32, 7);
    let mut out = Vec::new();
    p.seal(0x2_0001, &[], ContentType::ApplicationData, b"late", &mut out).unwrap();
    // Reconstructed against an expectation a whole window away, the nonce is wrong.
    assert!(open_one(&p, &out, 0, 0x0_0001).is_err());
    assert_eq!(open_one(&p, &out, 0, 0x2_0000).unwrap().0.sequence, 0x2_0001);
}
