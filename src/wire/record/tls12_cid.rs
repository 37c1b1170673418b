//! The DTLS 1.2 record with a connection ID (RFC 9146 §4, outer content type `tls12_cid`) and
//! the additional data its AEAD protection authenticates (RFC 9146 §5).
//!
//! The CID's length is not on the wire: the receiver knows it from the negotiation, so every
//! parser here takes the expected length. Nothing here panics on input.

use crate::codec::{Put, Reader};

/// The outer content type of every record that carries a CID (RFC 9146 §4: `tls12_cid(25)`).
pub const TLS12_CID: u8 = 25;

/// Bytes of a `tls12_cid` header besides the CID: type(1) version(2) epoch(2) sequence(6)
/// length(2).
pub const CID_HEADER_FIXED_LEN: usize = 13;

/// RFC 9146 §5: `seq_num_placeholder`, "8 bytes of 0xff", which starts the additional data so
/// that it can never equal that of a record without a CID.
const SEQ_NUM_PLACEHOLDER: [u8; 8] = [0xff; 8];

/// The longest additional data of a `tls12_cid` record: 23 bytes and a 255-byte CID.
pub const MAX_ADDITIONAL_DATA_LEN: usize = 23 + 255;

// RFC 9146 §4:
//   struct {
//       ContentType outer_type = tls12_cid;
//       ProtocolVersion version;
//       uint16 epoch;
//       uint48 sequence_number;
//       opaque cid[cid_length];               // New field
//       uint16 length;
//       opaque enc_content[DTLSCiphertext.length];
//   } DTLSCiphertext;
/// A parsed `tls12_cid` record header (RFC 9146 §4). The outer content type is always
/// [`TLS12_CID`]; the real one is inside the protected `DTLSInnerPlaintext`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CidRecordHeader<'a> {
    /// The record-layer `ProtocolVersion`.
    pub version: u16,
    /// The 16-bit epoch field.
    pub epoch: u16,
    /// The 48-bit sequence number (the upper 16 bits are zero in a parsed header; encoding
    /// keeps only the low 48).
    pub sequence: u64,
    /// The connection ID, as long as negotiated.
    pub cid: &'a [u8],
    /// Length of the protected content that follows the header.
    pub length: u16,
}

impl<'a> CidRecordHeader<'a> {
    /// Length of this header on the wire: 13 bytes plus the CID.
    pub fn header_len(&self) -> usize {
        CID_HEADER_FIXED_LEN + self.cid.len()
    }

    /// The 64-bit `epoch || sequence` value used in the AEAD nonce.
    pub fn epoch_seq(&self) -> u64 {
        (u64::from(self.epoch) << 48) | (self.sequence & super::MAX_SEQUENCE)
    }

    /// Read one `tls12_cid` header, with a CID of `cid_len` bytes, and the body its length
    /// field covers. `None` if the first byte is not [`TLS12_CID`] or the header or body does
    /// not fit in `r`; `r` is then left anywhere.
    pub fn read(r: &mut Reader<'a>, cid_len: usize) -> Option<(Self, &'a [u8])> {
        let [t, v0, v1, e0, e1, s0, s1, s2, s3, s4, s5] = r.array::<11>().ok()?;
        if t != TLS12_CID {
            return None;
        }
        let cid = r.take(cid_len).ok()?;
        let length = r.u16().ok()?;
        let body = r.take(usize::from(length)).ok()?;
        let header = Self {
            version: u16::from_be_bytes([v0, v1]),
            epoch: u16::from_be_bytes([e0, e1]),
            sequence: u64::from_be_bytes([0, 0, s0, s1, s2, s3, s4, s5]),
            cid,
            length,
        };
        Some((header, body))
    }

    /// Append the header bytes (type, version, epoch, sequence, CID, length).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(TLS12_CID);
        out.put_u16(self.version);
        out.put_u16(self.epoch);
        out.put_u48(self.sequence);
        out.put_slice(self.cid);
        out.put_u16(self.length);
    }

    /// The additional data of this record's AEAD protection (RFC 9146 §5.3), for a
    /// serialised `DTLSInnerPlaintext` of `inner_plaintext_len` bytes. `None` if the CID is
    /// longer than its one-byte `cid_length` can say (255 bytes; RFC 9146 §3 negotiates
    /// `opaque cid<0..2^8-1>`, so no negotiated CID is).
    //
    // RFC 9146 §5.3:
    //   additional_data = seq_num_placeholder + tls12_cid + cid_length + tls12_cid +
    //                     DTLSCiphertext.version + epoch + sequence_number + cid +
    //                     length_of_DTLSInnerPlaintext;
    // with seq_num_placeholder 8 bytes of 0xff, cid_length one byte and
    // length_of_DTLSInnerPlaintext two ("+" is concatenation).
    pub fn additional_data(&self, inner_plaintext_len: u16) -> Option<Vec<u8>> {
        let mut out = vec![0u8; MAX_ADDITIONAL_DATA_LEN];
        let n = self.write_additional_data(inner_plaintext_len, &mut out)?;
        out.truncate(n);
        Some(out)
    }

    /// [`CidRecordHeader::additional_data`] written to the front of `out` (at least
    /// [`MAX_ADDITIONAL_DATA_LEN`] bytes serve any CID) without allocating; returns its length.
    pub fn write_additional_data(&self, inner_plaintext_len: u16, out: &mut [u8]) -> Option<usize> {
        let cid_length = u8::try_from(self.cid.len()).ok()?;
        let sequence = self.sequence.to_be_bytes();
        let parts: [&[u8]; 9] = [
            &SEQ_NUM_PLACEHOLDER,
            &[TLS12_CID],
            &[cid_length],
            &[TLS12_CID],
            &self.version.to_be_bytes(),
            &self.epoch.to_be_bytes(),
            sequence.get(2..)?,
            self.cid,
            &inner_plaintext_len.to_be_bytes(),
        ];
        let mut at = 0;
        for part in parts {
            out.get_mut(at..at + part.len())?.copy_from_slice(part);
            at += part.len();
        }
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID: [u8; 4] = [0xc1, 0xc2, 0xc3, 0xc4];

    fn header(cid: &[u8], length: u16) -> CidRecordHeader<'_> {
        CidRecordHeader { version: 0xfefd, epoch: 1, sequence: 0x0000_0a0b_0c0d, cid, length }
    }

    fn record(cid: &[u8], body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        header(cid, body.len() as u16).encode(&mut v);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn layout_matches_rfc_9146_section_4() {
        let v = record(&CID, &[0xee, 0xff]);
        #[rustfmt::skip]
        let want = [
            25,                                   // outer_type = tls12_cid
            0xfe, 0xfd,                           // version
            0x00, 0x01,                           // epoch
            0x00, 0x00, 0x0a, 0x0b, 0x0c, 0x0d,   // sequence_number (48 bits)
            0xc1, 0xc2, 0xc3, 0xc4,               // cid[cid_length]
            0x00, 0x02,                           // length
            0xee, 0xff,                           // enc_content
        ];
        assert_eq!(v, want);
        assert_eq!(header(&CID, 2).header_len(), 17);
        assert_eq!(header(&CID, 2).epoch_seq(), 0x0001_0000_0a0b_0c0d);
    }

    #[test]
    fn round_trips() {
        for cid in [&[][..], &CID[..], &[7u8; 20][..]] {
            let v = record(cid, b"body");
            let mut r = Reader::new(&v);
            let (h, body) = CidRecordHeader::read(&mut r, cid.len()).unwrap();
            assert_eq!(h, header(cid, 4));
            assert_eq!(body, b"body");
            assert!(r.is_empty());
            let mut again = Vec::new();
            h.encode(&mut again);
            again.extend_from_slice(body);
            assert_eq!(again, v);
        }
    }

    #[test]
    fn truncated_at_every_length_is_refused() {
        let v = record(&CID, b"xyz");
        for n in 0..v.len() {
            assert!(CidRecordHeader::read(&mut Reader::new(&v[..n]), CID.len()).is_none(), "{n}");
        }
    }

    #[test]
    fn wrong_type_and_cid_length_mismatch_are_refused() {
        let mut v = record(&CID, b"xyz");
        // Parsed with a longer CID, the length field lands on body bytes and overruns.
        assert!(CidRecordHeader::read(&mut Reader::new(&v), CID.len() + 2).is_none());
        // Parsed with a shorter CID, the length field reads CID bytes (0xc3c4) and overruns.
        assert!(CidRecordHeader::read(&mut Reader::new(&v), CID.len() - 2).is_none());
        v[0] = 23;
        assert!(CidRecordHeader::read(&mut Reader::new(&v), CID.len()).is_none());
    }

    #[test]
    fn additional_data_matches_rfc_9146_section_5() {
        let aad = header(&CID, 40).additional_data(0x0123).unwrap();
        #[rustfmt::skip]
        let want = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // seq_num_placeholder
            25,                                             // tls12_cid
            4,                                              // cid_length
            25,                                             // tls12_cid
            0xfe, 0xfd,                                     // DTLSCiphertext.version
            0x00, 0x01,                                     // epoch
            0x00, 0x00, 0x0a, 0x0b, 0x0c, 0x0d,             // sequence_number
            0xc1, 0xc2, 0xc3, 0xc4,                         // cid
            0x01, 0x23,                                     // length_of_DTLSInnerPlaintext
        ];
        assert_eq!(aad, want);
        assert_eq!(header(&[], 0).additional_data(0).unwrap().len(), 23);
        assert!(header(&[0; 256], 0).additional_data(0).is_none());
        assert_eq!(header(&[0; 255], 0).additional_data(0).unwrap().len(), 23 + 255);
    }
}
