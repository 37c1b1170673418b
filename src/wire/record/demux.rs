//! Splitting a datagram into records of any of the three header formats, by their first
//! byte (RFC 9147 §4.1). The session's DTLS 1.2 path uses the 1.2-only
//! [`Deframer`](super::Deframer); this is the version-aware one. Nothing here panics on input.

use super::{CidRecordHeader, RecordHeader, TLS12_CID, UnifiedHeader, is_unified_header};
use crate::codec::Reader;

/// One record of a datagram, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// A record with the 13-byte `DTLSPlaintext`-style header: any DTLS 1.2 record without a
    /// CID, and DTLS 1.3 plaintext records (RFC 6347 §4.1; RFC 9147 §4).
    Dtls12 {
        /// The header.
        header: RecordHeader,
        /// The `length` bytes after it.
        body: &'a [u8],
    },
    /// A DTLS 1.2 record with a connection ID (RFC 9146 §4).
    Tls12Cid {
        /// The header.
        header: CidRecordHeader<'a>,
        /// The protected `DTLSInnerPlaintext`.
        body: &'a [u8],
    },
    /// A DTLS 1.3 record with the unified header (RFC 9147 §4).
    Unified {
        /// The header, its sequence number still masked.
        header: UnifiedHeader<'a>,
        /// The encrypted record: `length` bytes, or the rest of the datagram without L.
        body: &'a [u8],
    },
}

impl<'a> Record<'a> {
    /// The record's body (what follows the header).
    pub fn body(&self) -> &'a [u8] {
        match *self {
            Self::Dtls12 { body, .. } | Self::Tls12Cid { body, .. } | Self::Unified { body, .. } => body,
        }
    }

    /// Length of the record's header on the wire.
    pub fn header_len(&self) -> usize {
        match self {
            Self::Dtls12 { .. } => super::RECORD_HEADER_LEN,
            Self::Tls12Cid { header, .. } => header.header_len(),
            Self::Unified { header, .. } => header.header_len(),
        }
    }

    /// Append the record's header bytes, as they were on the wire for a parsed record.
    pub fn encode_header(&self, out: &mut Vec<u8>) {
        match self {
            Self::Dtls12 { header, .. } => header.encode(out),
            Self::Tls12Cid { header, .. } => header.encode(out),
            Self::Unified { header, .. } => header.encode(out),
        }
    }
}

/// Splits a datagram into [`Record`]s of any format, given the length of the connection ID
/// the receiver expects (0 if none was negotiated).
///
/// RFC 9147 §4.1 demultiplexing, by the first byte of each record:
/// - 20 to 27, except 25: a `DTLSPlaintext`-style 13-byte header (change_cipher_spec, alert,
///   handshake, application_data, heartbeat, ack, return_routability_check);
/// - 25 (`tls12_cid`): a DTLS 1.2 record with a CID of the expected length (RFC 9146 §4; with
///   an expected length of 0 its CID is empty, and whoever negotiated none refuses it);
/// - `001xxxxx` (32 to 63): a unified header; with the C bit set it needs an expected CID
///   length above 0;
/// - anything else is rejected.
///
/// Like [`Deframer`](super::Deframer), it stops at the first record that is rejected or whose header or length
/// does not fit, drops the rest of the datagram (RFC 6347 §4.1.2.7, RFC 9147 §4.5.2) and
/// says so through [`Demux::truncated`]. Every record it yields consumed at least one byte,
/// so it terminates on any input.
#[derive(Debug)]
pub struct Demux<'a> {
    r: Reader<'a>,
    cid_len: usize,
    truncated: bool,
}

impl<'a> Demux<'a> {
    /// Iterate over the records of `datagram`, expecting connection IDs of `cid_len` bytes.
    pub fn new(datagram: &'a [u8], cid_len: usize) -> Self {
        Self { r: Reader::new(datagram), cid_len, truncated: false }
    }

    /// Expect connection IDs of `cid_len` bytes from the next record on: a datagram may carry
    /// the ServerHello that negotiates them and the first record that uses them.
    pub fn set_cid_len(&mut self, cid_len: usize) {
        self.cid_len = cid_len;
    }

    /// True once trailing bytes that did not form a record were discarded.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    fn read_one(&mut self) -> Option<Record<'a>> {
        let first = *self.r.rest().first()?;
        match first {
            TLS12_CID => {
                let (header, body) = CidRecordHeader::read(&mut self.r, self.cid_len)?;
                Some(Record::Tls12Cid { header, body })
            }
            // 27: return_routability_check (RFC 9853) toward a peer that asked for no CID.
            20..=27 => {
                let (header, body) = RecordHeader::read(&mut self.r)?;
                Some(Record::Dtls12 { header, body })
            }
            _ if is_unified_header(first) => {
                let (header, body) = UnifiedHeader::read(&mut self.r, self.cid_len)?;
                Some(Record::Unified { header, body })
            }
            _ => None,
        }
    }
}

impl<'a> Iterator for Demux<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.r.is_empty() {
            return None;
        }
        let parsed = self.read_one();
        if parsed.is_none() {
            self.truncated = true;
            self.r.take_rest();
        }
        parsed
    }
}

impl core::iter::FusedIterator for Demux<'_> {}

#[cfg(test)]
mod tests {
    use super::super::{Deframer, SequenceField};
    use super::*;
    use crate::wire::ContentType;
    use proptest::prelude::*;

    fn dtls12(content_type: ContentType, seq: u64, body: &[u8], out: &mut Vec<u8>) {
        RecordHeader { content_type, version: 0xfefd, epoch: 0, sequence: seq, length: body.len() as u16 }.encode(out);
        out.extend_from_slice(body);
    }

    fn cid(cid: &[u8], body: &[u8], out: &mut Vec<u8>) {
        CidRecordHeader { version: 0xfefd, epoch: 1, sequence: 7, cid, length: body.len() as u16 }.encode(out);
        out.extend_from_slice(body);
    }

    fn unified(cid: &[u8], body: &[u8], with_length: bool, out: &mut Vec<u8>) {
        let length = with_length.then_some(body.len() as u16);
        UnifiedHeader { cid, epoch_bits: 3, sequence: SequenceField::Long(0x0102), length }.encode(out);
        out.extend_from_slice(body);
    }

    fn kinds(d: &[u8], cid_len: usize) -> (Vec<(char, Vec<u8>)>, bool) {
        let mut it = Demux::new(d, cid_len);
        let got = it
            .by_ref()
            .map(|r| {
                let k = match r {
                    Record::Dtls12 { .. } => 'p',
                    Record::Tls12Cid { .. } => 'c',
                    Record::Unified { .. } => 'u',
                };
                (k, r.body().to_vec())
            })
            .collect();
        (got, it.truncated())
    }

    #[test]
    fn mixed_datagram_splits_in_order() {
        let id = [0xc0, 0xc1, 0xc2, 0xc3, 0xc4];
        let mut d = Vec::new();
        dtls12(ContentType::Handshake, 0, b"hs", &mut d);
        cid(&id, b"cid-record", &mut d);
        dtls12(ContentType::from(26), 1, b"ack", &mut d);
        unified(&id, b"with-length", true, &mut d);
        unified(&id, b"the rest", false, &mut d);
        let (got, truncated) = kinds(&d, id.len());
        let want: Vec<(char, Vec<u8>)> =
            [('p', &b"hs"[..]), ('c', b"cid-record"), ('p', b"ack"), ('u', b"with-length"), ('u', b"the rest")]
                .iter()
                .map(|(k, b)| (*k, b.to_vec()))
                .collect();
        assert_eq!(got, want);
        assert!(!truncated);
    }

    #[test]
    fn dtls12_records_match_the_deframer() {
        let mut d = Vec::new();
        for (i, t) in [20u8, 21, 22, 23, 24, 26].into_iter().enumerate() {
            dtls12(ContentType::from(t), i as u64, &[t; 3], &mut d);
        }
        let old: Vec<_> = Deframer::new(&d).collect();
        let new: Vec<_> = Demux::new(&d, 0).collect();
        assert_eq!(old.len(), 6);
        assert_eq!(new.len(), 6);
        for ((h, b), r) in old.into_iter().zip(new) {
            assert_eq!(r, Record::Dtls12 { header: h, body: b });
        }
    }

    #[test]
    fn first_byte_demultiplexing() {
        for first in 0..=255u8 {
            // Thirteen bytes: a whole record of length 0 in every format that takes this byte.
            let mut d = vec![first];
            d.extend_from_slice(&[0; 12]);
            let got = Demux::new(&d, 0).next();
            match first {
                20..=24 | 26 | 27 => assert!(matches!(got, Some(Record::Dtls12 { .. })), "{first}"),
                TLS12_CID => assert!(matches!(got, Some(Record::Tls12Cid { .. })), "{first}"),
                // Without L these consume the whole datagram; with C they need a CID length.
                32..=63 if first & 0x10 == 0 => assert!(matches!(got, Some(Record::Unified { .. })), "{first}"),
                _ => assert_eq!(got, None, "{first}"),
            }
        }
    }

    #[test]
    fn stops_at_the_first_bad_record() {
        let mut d = Vec::new();
        dtls12(ContentType::Alert, 0, b"ok", &mut d);
        let good = d.len();
        d.push(0x40); // 010xxxxx: neither content type nor unified header
        dtls12(ContentType::Alert, 1, b"never", &mut d);
        let (got, truncated) = kinds(&d, 0);
        assert_eq!(got, [('p', b"ok".to_vec())]);
        assert!(truncated);
        // Truncated at every length: never a panic, only whole records, the rest refused.
        let mut full = Vec::new();
        cid(&[1, 2, 3, 4], b"abc", &mut full);
        unified(&[1, 2, 3, 4], b"xyz", true, &mut full);
        for n in 0..full.len() {
            let (got, truncated) = kinds(&full[..n], 4);
            assert_eq!(got.len(), usize::from(n >= 20), "{n}");
            assert_eq!(truncated, n != 0 && n != 20, "{n}");
        }
        assert!(!kinds(&d[..good], 0).1);
    }

    #[test]
    fn cid_length_mismatch_is_refused() {
        let mut d = Vec::new();
        cid(&[1, 2, 3, 4], b"abc", &mut d);
        assert_eq!(kinds(&d, 4).0.len(), 1);
        for wrong in [0, 2, 6, 8] {
            let (got, truncated) = kinds(&d, wrong);
            assert!(got.is_empty() && truncated, "{wrong}");
        }
        let mut d = Vec::new();
        unified(&[1, 2, 3, 4], b"abc", true, &mut d);
        assert_eq!(kinds(&d, 4).0.len(), 1);
        for wrong in [0, 2, 6, 8] {
            let (got, truncated) = kinds(&d, wrong);
            assert!(got.is_empty() && truncated, "{wrong}");
        }
    }

    #[test]
    fn unified_without_length_takes_the_rest() {
        let mut d = Vec::new();
        unified(&[], b"swallows", false, &mut d);
        dtls12(ContentType::Alert, 0, b"hidden", &mut d);
        let (got, truncated) = kinds(&d, 0);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1.len(), 8 + 13 + 6);
        assert!(!truncated);
    }

    proptest! {
        /// Any bytes, any CID length: the records re-encode to consecutive pieces of the
        /// input, and whatever they leave is exactly what was refused.
        #[test]
        fn records_tile_the_input(bytes in proptest::collection::vec(any::<u8>(), 0..120), cid_len in 0usize..=20) {
            let mut it = Demux::new(&bytes, cid_len);
            let mut pos = 0;
            for r in it.by_ref() {
                let mut again = Vec::new();
                r.encode_header(&mut again);
                prop_assert_eq!(again.len(), r.header_len());
                again.extend_from_slice(r.body());
                prop_assert!(!again.is_empty());
                prop_assert_eq!(bytes.get(pos..pos + again.len()), Some(&again[..]));
                pos += again.len();
            }
            prop_assert_eq!(it.truncated(), pos != bytes.len());
        }
    }
}
