//! The DTLS 1.3 unified header (RFC 9147 §4), which starts every protected DTLS 1.3 record.
//!
//! The sequence number bytes are kept as they are on the wire: protected records carry them
//! encrypted (record number encryption, RFC 9147 §4.2.3), so the header gives their offset in
//! the record for the record layer to remove the mask once it has the key. Nothing here
//! panics on input.

use crate::codec::{Put, Reader};

/// The fixed bits `001` in the three high bits of the first byte (RFC 9147 §4).
pub const UNIFIED_FIXED_BITS: u8 = 0b0010_0000;
/// Mask of the fixed bits.
const FIXED_MASK: u8 = 0b1110_0000;
/// C: a connection ID is present.
const C_BIT: u8 = 0b0001_0000;
/// S: the sequence number is 16 bits (else 8).
const S_BIT: u8 = 0b0000_1000;
/// L: a 16-bit length is present.
const L_BIT: u8 = 0b0000_0100;
/// EE: the low two bits of the epoch.
const EPOCH_MASK: u8 = 0b0000_0011;

/// True if `first` starts a unified header: its three high bits are `001` (RFC 9147 §4.1).
pub fn is_unified_header(first: u8) -> bool {
    first & FIXED_MASK == UNIFIED_FIXED_BITS
}

/// The low 8 or 16 bits of the record sequence number as they are on the wire: encrypted in
/// a protected record until the record-number mask is removed (RFC 9147 §4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceField {
    /// S = 0: one byte.
    Short(u8),
    /// S = 1: two bytes, big-endian.
    Long(u16),
}

impl SequenceField {
    /// Number of bytes on the wire (1 or 2).
    pub fn len(self) -> usize {
        match self {
            Self::Short(_) => 1,
            Self::Long(_) => 2,
        }
    }

    /// Never empty; for symmetry with [`SequenceField::len`].
    pub fn is_empty(self) -> bool {
        false
    }

    /// The field's value (of its 8 or 16 bits).
    pub fn value(self) -> u16 {
        match self {
            Self::Short(s) => u16::from(s),
            Self::Long(s) => s,
        }
    }

    /// XOR the field with the leading bytes of `mask`: RFC 9147 §4.2.3 encrypts and decrypts
    /// the sequence number this way ("XORing the leading bytes of the Mask with the sequence
    /// number").
    #[must_use]
    pub fn xor(self, mask: [u8; 2]) -> Self {
        let [m0, m1] = mask;
        match self {
            Self::Short(s) => Self::Short(s ^ m0),
            Self::Long(s) => Self::Long(s ^ u16::from_be_bytes([m0, m1])),
        }
    }

    fn encode(self, out: &mut Vec<u8>) {
        match self {
            Self::Short(s) => out.put_u8(s),
            Self::Long(s) => out.put_u16(s),
        }
    }
}

// RFC 9147 §4, Figure 3:
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   |0|0|1|C|S|L|E E|
//   +-+-+-+-+-+-+-+-+
//   | Connection ID |   C: the Connection ID is present (length as negotiated)
//   | (if any,      |   S: 0 means an 8-bit sequence number, 1 means 16-bit
//   /  length as    /   L: the length is present
//   |  negotiated)  |   E: the low order two bits of the epoch
//   +-+-+-+-+-+-+-+-+
//   |  8 or 16 bit  |
//   |Sequence Number|
//   +-+-+-+-+-+-+-+-+
//   | 16 bit Length |
//   | (if present)  |
//   +-+-+-+-+-+-+-+-+
// and "the length field MAY be omitted by clearing the L bit, which means that the record
// consumes the entire rest of the datagram".
/// A parsed unified header (RFC 9147 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnifiedHeader<'a> {
    /// The connection ID; empty when the C bit is clear. The C bit is set exactly when this
    /// is non-empty.
    pub cid: &'a [u8],
    /// The EE bits: the low two bits of the epoch (0..=3; encoding keeps only those bits).
    pub epoch_bits: u8,
    /// The sequence number field as on the wire (still masked in a protected record).
    pub sequence: SequenceField,
    /// The length field if the L bit is set; `None` when the record runs to the end of the
    /// datagram.
    pub length: Option<u16>,
}

impl<'a> UnifiedHeader<'a> {
    /// The first byte, `001CSLEE`.
    pub fn first_byte(&self) -> u8 {
        let mut b = UNIFIED_FIXED_BITS | (self.epoch_bits & EPOCH_MASK);
        if !self.cid.is_empty() {
            b |= C_BIT;
        }
        if let SequenceField::Long(_) = self.sequence {
            b |= S_BIT;
        }
        if self.length.is_some() {
            b |= L_BIT;
        }
        b
    }

    /// Offset of the sequence number bytes from the start of the record: they follow the
    /// first byte and the CID. Record number encryption (RFC 9147 §4.2.3) XORs these
    /// [`SequenceField::len`] bytes.
    pub fn sequence_offset(&self) -> usize {
        1 + self.cid.len()
    }

    /// Length of the header on the wire. RFC 9147 §4: these bytes, with the sequence number
    /// unmasked, are the AEAD additional data.
    pub fn header_len(&self) -> usize {
        self.sequence_offset() + self.sequence.len() + if self.length.is_some() { 2 } else { 0 }
    }

    /// Read one unified header and its record body. The CID, if the C bit says it is there,
    /// is `cid_len` bytes. The body is `length` bytes if the L bit is set, else the rest of
    /// `r`. `None` if the first byte is not `001xxxxx`, if the C bit is set while `cid_len` is
    /// 0 (no CID was negotiated, so its length is unknown), or if the header or body does not
    /// fit; `r` is then left anywhere.
    pub fn read(r: &mut Reader<'a>, cid_len: usize) -> Option<(Self, &'a [u8])> {
        let first = r.u8().ok()?;
        if !is_unified_header(first) {
            return None;
        }
        // The usual header (no CID, 16-bit sequence number, length), read in one go.
        if first & (C_BIT | S_BIT | L_BIT) == S_BIT | L_BIT {
            let [s0, s1, l0, l1] = r.array::<4>().ok()?;
            let length = u16::from_be_bytes([l0, l1]);
            let body = r.take(usize::from(length)).ok()?;
            let sequence = SequenceField::Long(u16::from_be_bytes([s0, s1]));
            return Some((Self { cid: &[], epoch_bits: first & EPOCH_MASK, sequence, length: Some(length) }, body));
        }
        let cid = match (first & C_BIT != 0, cid_len) {
            (false, _) => &[][..],
            (true, 0) => return None,
            (true, n) => r.take(n).ok()?,
        };
        let sequence =
            if first & S_BIT != 0 { SequenceField::Long(r.u16().ok()?) } else { SequenceField::Short(r.u8().ok()?) };
        let (length, body) = if first & L_BIT != 0 {
            let length = r.u16().ok()?;
            (Some(length), r.take(usize::from(length)).ok()?)
        } else {
            (None, r.take_rest())
        };
        Some((Self { cid, epoch_bits: first & EPOCH_MASK, sequence, length }, body))
    }

    /// Append the header bytes: the first byte, the CID, the sequence field and, if present,
    /// the length.
    pub fn encode(&self, out: &mut Vec<u8>) {
        if self.cid.is_empty() {
            // The usual header (no CID): at most five bytes, appended at once.
            let first = self.first_byte();
            let (bytes, n) = match (self.sequence, self.length) {
                (SequenceField::Long(s), Some(l)) => {
                    let ([s0, s1], [l0, l1]) = (s.to_be_bytes(), l.to_be_bytes());
                    ([first, s0, s1, l0, l1], 5)
                }
                (SequenceField::Short(s), Some(l)) => {
                    let [l0, l1] = l.to_be_bytes();
                    ([first, s, l0, l1, 0], 4)
                }
                (SequenceField::Long(s), None) => {
                    let [s0, s1] = s.to_be_bytes();
                    ([first, s0, s1, 0, 0], 3)
                }
                (SequenceField::Short(s), None) => ([first, s, 0, 0, 0], 2),
            };
            out.extend_from_slice(bytes.get(..n).unwrap_or(&bytes));
            return;
        }
        out.put_u8(self.first_byte());
        out.put_slice(self.cid);
        self.sequence.encode(out);
        if let Some(length) = self.length {
            out.put_u16(length);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Epoch;

    fn hdr(cid: &[u8], epoch_bits: u8, sequence: SequenceField, length: Option<u16>) -> UnifiedHeader<'_> {
        UnifiedHeader { cid, epoch_bits, sequence, length }
    }

    #[test]
    fn first_byte_bit_by_bit() {
        // Every combination of C, S, L and EE, against 0b001CSLEE spelled out.
        for c in 0..2u8 {
            for s in 0..2u8 {
                for l in 0..2u8 {
                    for ee in 0..4u8 {
                        let cid: &[u8] = if c == 1 { &[0xcc] } else { &[] };
                        let seq = if s == 1 { SequenceField::Long(0x1234) } else { SequenceField::Short(0x12) };
                        let h = hdr(cid, ee, seq, (l == 1).then_some(0));
                        // Bits 7..5 are 0, 0, 1.
                        let want = 0b001 << 5 | (c << 4) | (s << 3) | (l << 2) | ee;
                        assert_eq!(h.first_byte(), want, "C={c} S={s} L={l} EE={ee}");
                        assert!(is_unified_header(want));
                    }
                }
            }
        }
        // Hand-checked values: 001 0 1 1 00 and 001 0 0 0 11, and the EE of epoch 6 (0b110).
        assert_eq!(hdr(&[], 0, SequenceField::Long(0), Some(0)).first_byte(), 0x2c);
        assert_eq!(hdr(&[], 3, SequenceField::Short(0), None).first_byte(), 0x23);
        assert_eq!(hdr(&[1], 2, SequenceField::Long(0), Some(0)).first_byte(), 0x3e);
        assert_eq!(Epoch(6).to_unified_bits(), 0b10);
        assert!(!is_unified_header(0x1f) && !is_unified_header(0x40) && !is_unified_header(0x17));
    }

    #[test]
    fn figure_4_full_and_minimal_layouts() {
        // The "full" DTLSCiphertext of RFC 9147 Figure 4: C, S and L set.
        let cid = [0xa0, 0xa1, 0xa2];
        let h = hdr(&cid, 1, SequenceField::Long(0xbeef), Some(2));
        let mut v = Vec::new();
        h.encode(&mut v);
        assert_eq!(v, [0b0011_1101, 0xa0, 0xa1, 0xa2, 0xbe, 0xef, 0x00, 0x02]);
        assert_eq!((h.header_len(), h.sequence_offset()), (8, 4));
        v.extend_from_slice(&[0x55, 0x66]);
        let (got, body) = UnifiedHeader::read(&mut Reader::new(&v), 3).unwrap();
        assert_eq!((got, body), (h, &[0x55, 0x66][..]));
        assert_eq!(v.get(got.sequence_offset()..got.sequence_offset() + 2), Some(&[0xbe, 0xef][..]));

        // The "minimal" one: 8-bit sequence, no CID, no length; the record is the rest.
        let v = [0b0010_0010, 0x07, 1, 2, 3, 4];
        let (got, body) = UnifiedHeader::read(&mut Reader::new(&v), 0).unwrap();
        assert_eq!(got, hdr(&[], 2, SequenceField::Short(7), None));
        assert_eq!((body, got.header_len(), got.sequence_offset()), (&[1, 2, 3, 4][..], 2, 1));
    }

    #[test]
    fn round_trips() {
        for cid in [&[][..], &[9u8; 8][..]] {
            for seq in [SequenceField::Short(0xfe), SequenceField::Long(0xfedc)] {
                for length in [None, Some(3)] {
                    let h = hdr(cid, 3, seq, length);
                    let mut v = Vec::new();
                    h.encode(&mut v);
                    assert_eq!(v.len(), h.header_len());
                    v.extend_from_slice(b"abc");
                    let mut r = Reader::new(&v);
                    let (got, body) = UnifiedHeader::read(&mut r, 8).unwrap();
                    assert_eq!((got, body), (h, &b"abc"[..]));
                    assert!(r.is_empty());
                }
            }
        }
    }

    #[test]
    fn without_length_consumes_the_rest() {
        let v = [0x20, 0x00, 0x20, 0x00, 0x01, 0xff];
        let mut r = Reader::new(&v);
        let (h, body) = UnifiedHeader::read(&mut r, 0).unwrap();
        assert_eq!(h.length, None);
        assert_eq!(body, &v[2..]);
        assert!(r.is_empty());
        // An empty body is still a record (the record layer refuses it as too short).
        assert_eq!(UnifiedHeader::read(&mut Reader::new(&[0x20, 0x00]), 0).unwrap().1, &[] as &[u8]);
    }

    #[test]
    fn truncated_at_every_length_is_refused() {
        let mut v = Vec::new();
        hdr(&[1, 2, 3, 4], 0, SequenceField::Long(5), Some(4)).encode(&mut v);
        v.extend_from_slice(b"wxyz");
        for n in 0..v.len() {
            assert!(UnifiedHeader::read(&mut Reader::new(&v[..n]), 4).is_none(), "{n}");
        }
        // Without a length only the header can be cut short.
        let v = [0x38, 1, 2, 3, 4, 0x00, 0x05];
        for n in 0..v.len() {
            assert!(UnifiedHeader::read(&mut Reader::new(&v[..n]), 4).is_none(), "{n}");
        }
    }

    #[test]
    fn cid_length_mismatch_and_wrong_fixed_bits_are_refused() {
        // C set while no CID is expected: its length is unknown.
        assert!(UnifiedHeader::read(&mut Reader::new(&[0x34, 1, 0, 0, 0]), 0).is_none());
        // A longer expected CID swallows the length field, and the rest does not fit.
        let mut v = Vec::new();
        hdr(&[1, 2], 0, SequenceField::Short(5), Some(1)).encode(&mut v);
        v.push(0xaa);
        assert!(UnifiedHeader::read(&mut Reader::new(&v), 2).is_some());
        assert!(UnifiedHeader::read(&mut Reader::new(&v), 4).is_none());
        for first in [0x00, 0x1f, 0x40, 0x80, 0xff] {
            assert!(UnifiedHeader::read(&mut Reader::new(&[first, 0, 0, 0]), 0).is_none());
        }
    }

    #[test]
    fn sequence_mask_is_an_involution() {
        let s = SequenceField::Long(0x1234);
        assert_eq!(s.xor([0xff, 0x00]), SequenceField::Long(0xed34));
        assert_eq!(s.xor([0xab, 0xcd]).xor([0xab, 0xcd]), s);
        assert_eq!(SequenceField::Short(0x0f).xor([0xf0, 0xff]), SequenceField::Short(0xff));
        assert_eq!((SequenceField::Short(1).len(), SequenceField::Long(1).len()), (1, 2));
    }
}
