//! The few DER (ITU-T X.690) pieces key loading needs: read one TLV, write one TLV.
//!
//! This module owns nothing but byte layout. It must never panic on any input, never
//! interpret what it reads (callers do), and never accept indefinite lengths (BER only).

/// Universal tags used here.
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
/// Context-specific constructed `[0]` and `[1]`.
pub(crate) const CONTEXT_0: u8 = 0xa0;
pub(crate) const CONTEXT_1: u8 = 0xa1;

/// One tag-length-value read from the front of `input`: `(tag, value, rest)`.
///
/// X.690 §8.1.3: definite lengths only, short form (< 0x80) or long form with up to four
/// length octets. Multi-byte tags (low bits 0x1f) are not used by the structures we read and
/// are rejected.
pub(crate) fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (octets, after) = rest.split_at_checked(n)?;
        rest = after;
        octets.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (value, rest) = rest.split_at_checked(len)?;
    Some((tag, value, rest))
}

/// Read one TLV that must carry `tag`.
pub(crate) fn expect_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match read_tlv(input)? {
        (t, value, rest) if t == tag => Some((value, rest)),
        _ => None,
    }
}

/// Append `tag || length || value` with the minimal (DER) length encoding.
pub(crate) fn write_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        // cast: len < 0x80 here.
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or(&[]);
        // cast: at most size_of::<usize>() (8) length octets.
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_short_and_long_lengths() {
        for len in [0usize, 1, 0x7f, 0x80, 0xff, 0x100, 70_000] {
            let value = vec![0xab; len];
            let mut out = Vec::new();
            write_tlv(&mut out, OCTET_STRING, &value);
            out.push(0x99);
            let (tag, v, rest) = read_tlv(&out).unwrap();
            assert_eq!((tag, v.len(), rest), (OCTET_STRING, len, &[0x99][..]));
        }
    }

    #[test]
    fn rejects_truncation_and_indefinite_lengths() {
        assert!(read_tlv(&[]).is_none());
        assert!(read_tlv(&[0x30]).is_none());
        assert!(read_tlv(&[0x30, 0x80, 0x00, 0x00]).is_none());
        assert!(read_tlv(&[0x30, 0x02, 0x00]).is_none());
        assert!(read_tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(read_tlv(&[0x1f, 0x01, 0x00]).is_none());
        assert!(expect_tlv(&[0x02, 0x01, 0x00], SEQUENCE).is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input: Vec<u8>) {
            let _ = read_tlv(&input);
        }
    }
}
