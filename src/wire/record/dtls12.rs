//! The 13-byte DTLS 1.2 record header and the deframer that splits one datagram into records
//! (RFC 6347 §4.1, §4.1.1). Knows nothing of keys or epochs' meaning; never panics.

use crate::codec::{Put, Reader};
use crate::wire::ContentType;

/// Length of a DTLS 1.2 record header.
pub const RECORD_HEADER_LEN: usize = 13;

/// RFC 6347 §4.1: the largest plaintext fragment (2^14).
pub const MAX_PLAINTEXT: usize = 1 << 14;

/// Largest sequence number in an epoch (48 bits).
pub const MAX_SEQUENCE: u64 = (1 << 48) - 1;

// RFC 6347 §4.1:
//   struct { ContentType type; ProtocolVersion version; uint16 epoch;
//            uint48 sequence_number; uint16 length; opaque fragment[length]; } DTLSPlaintext;
/// A parsed record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The record's content type (in DTLS 1.2 also that of a protected record's content).
    pub content_type: ContentType,
    /// The record-layer `ProtocolVersion`.
    pub version: u16,
    /// The 16-bit epoch field.
    pub epoch: u16,
    /// The 48-bit sequence number (the upper 16 bits are always zero).
    pub sequence: u64,
    /// Length of the fragment that follows the header.
    pub length: u16,
}

impl RecordHeader {
    /// The 64-bit `epoch || sequence` value used in the AEAD nonce and additional data.
    pub fn epoch_seq(&self) -> u64 {
        (u64::from(self.epoch) << 48) | self.sequence
    }

    /// The 13 header bytes.
    pub fn to_bytes(&self) -> [u8; RECORD_HEADER_LEN] {
        let [v0, v1] = self.version.to_be_bytes();
        let [e0, e1] = self.epoch.to_be_bytes();
        let [_, _, s0, s1, s2, s3, s4, s5] = self.sequence.to_be_bytes();
        let [l0, l1] = self.length.to_be_bytes();
        [self.content_type.into(), v0, v1, e0, e1, s0, s1, s2, s3, s4, s5, l0, l1]
    }

    /// The header of the one record that exactly fills `datagram`, if it does (its length
    /// field accounts for every byte after the header).
    pub fn parse_exact(datagram: &[u8]) -> Option<Self> {
        match datagram.first_chunk::<RECORD_HEADER_LEN>() {
            Some(&[t, v0, v1, e0, e1, s0, s1, s2, s3, s4, s5, l0, l1])
                if usize::from(u16::from_be_bytes([l0, l1])) + RECORD_HEADER_LEN == datagram.len() =>
            {
                Some(Self {
                    content_type: ContentType::from(t),
                    version: u16::from_be_bytes([v0, v1]),
                    epoch: u16::from_be_bytes([e0, e1]),
                    sequence: u64::from_be_bytes([0, 0, s0, s1, s2, s3, s4, s5]),
                    length: u16::from_be_bytes([l0, l1]),
                })
            }
            _ => None,
        }
    }

    /// Read one header and the body its length field covers from `r`. `None` if either does
    /// not fit; `r` is then left anywhere. Any first byte is taken as a content type.
    // The Deframer's per-record path: always inlined, like the closure it replaced there.
    #[inline(always)]
    pub fn read<'a>(r: &mut Reader<'a>) -> Option<(Self, &'a [u8])> {
        let [t, v0, v1, e0, e1, s0, s1, s2, s3, s4, s5, l0, l1] = r.array::<RECORD_HEADER_LEN>().ok()?;
        let length = u16::from_be_bytes([l0, l1]);
        let body = r.take(usize::from(length)).ok()?;
        let header = Self {
            content_type: ContentType::from(t),
            version: u16::from_be_bytes([v0, v1]),
            epoch: u16::from_be_bytes([e0, e1]),
            sequence: u64::from_be_bytes([0, 0, s0, s1, s2, s3, s4, s5]),
            length,
        };
        Some((header, body))
    }

    /// Append the 13 header bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_slice(&self.to_bytes());
    }
}

/// Splits a datagram into `(header, body)` pairs. Stops at the first record whose header or
/// length does not fit: RFC 6347 §4.1.2.7 lets us discard the rest of the datagram, and the
/// caller counts it through [`Deframer::truncated`].
#[derive(Debug)]
pub struct Deframer<'a> {
    r: Reader<'a>,
    truncated: bool,
}

impl<'a> Deframer<'a> {
    /// Iterate over the records of `datagram`.
    pub fn new(datagram: &'a [u8]) -> Self {
        Self { r: Reader::new(datagram), truncated: false }
    }

    /// True once trailing bytes that did not form a record were discarded.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl<'a> Iterator for Deframer<'a> {
    type Item = (RecordHeader, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.r.is_empty() {
            return None;
        }
        let parsed = RecordHeader::read(&mut self.r);
        if parsed.is_none() {
            self.truncated = true;
            self.r.take_rest();
        }
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_matches_rfc() {
        let h = RecordHeader {
            content_type: ContentType::Handshake,
            version: 0xfefd,
            epoch: 1,
            sequence: 0x0000_0102_0304,
            length: 5,
        };
        let mut v = Vec::new();
        h.encode(&mut v);
        assert_eq!(v, [0x16, 0xfe, 0xfd, 0x00, 0x01, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x00, 0x05]);
        assert_eq!(h.epoch_seq(), 0x0001_0000_0102_0304);
    }

    #[test]
    fn several_records_then_garbage() {
        let mut d = Vec::new();
        for i in 0..3u8 {
            RecordHeader { content_type: ContentType::Alert, version: 0xfefd, epoch: 0, sequence: i.into(), length: 2 }
                .encode(&mut d);
            d.extend_from_slice(&[1, i]);
        }
        d.extend_from_slice(&[0x17, 0xfe]);
        let mut it = Deframer::new(&d);
        let recs: Vec<_> = it.by_ref().collect();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[2].1, &[1, 2]);
        assert!(it.truncated());
    }

    #[test]
    fn length_beyond_datagram_is_discarded() {
        let d = [0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2];
        let mut it = Deframer::new(&d);
        assert!(it.next().is_none());
        assert!(it.truncated());
    }
}
