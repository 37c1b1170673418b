//! The DTLS handshake header and fragmentation (RFC 6347 §4.2.2, §4.2.3): encoding and
//! decoding the 12-byte header, splitting a handshake record body into its fragments, and
//! splitting one outgoing message into fragments that fit a record.
//!
//! This module owns only the framing, a wire format: it must never buffer or reassemble (the
//! handshake's reassembler does), never interpret message bodies, and never loop without
//! consuming input: every fragment read consumes at least the 12-byte header.

use core::fmt;

use crate::codec::{Codec, Put, Reader};
use crate::error::InvalidMessage;
use crate::wire::HandshakeType;

/// Length of the DTLS handshake header (RFC 6347 §4.2.2).
pub const HANDSHAKE_HEADER_LEN: usize = 12;

/// The largest value a 24-bit length field can carry.
pub const MAX_U24: u32 = 0x00ff_ffff;

/// The DTLS handshake message header (RFC 6347 §4.2.2).
///
/// ```text
/// struct {
///   HandshakeType msg_type;
///   uint24 length;
///   uint16 message_seq;
///   uint24 fragment_offset;
///   uint24 fragment_length;
///   ...
/// } Handshake;
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HandshakeHeader {
    /// The handshake message type.
    pub msg_type: HandshakeType,
    /// Length of the whole (unfragmented) message body.
    pub length: u32,
    /// Position of the message in the handshake, counting from 0 per side.
    pub message_seq: u16,
    /// Offset of this fragment's bytes within the message body.
    pub fragment_offset: u32,
    /// Number of body bytes carried by this fragment.
    pub fragment_length: u32,
}

impl fmt::Debug for HandshakeHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HandshakeHeader({:?} seq={} len={} frag={}+{})",
            self.msg_type, self.message_seq, self.length, self.fragment_offset, self.fragment_length
        )
    }
}

impl HandshakeHeader {
    /// Check the fragment bounds against the message length: offset + fragment_length must
    /// not exceed length (RFC 6347 §4.2.3).
    // docs/security.md item 3.
    pub fn validate(&self) -> Result<(), InvalidMessage> {
        let end = self
            .fragment_offset
            .checked_add(self.fragment_length)
            .ok_or(InvalidMessage::IllegalValue("fragment_length"))?;
        if end > self.length || self.length > MAX_U24 {
            return Err(InvalidMessage::IllegalValue("fragment_length"));
        }
        Ok(())
    }

    /// True if this fragment carries the whole message.
    pub fn is_whole_message(&self) -> bool {
        self.fragment_offset == 0 && self.fragment_length == self.length
    }
}

impl Codec for HandshakeHeader {
    fn encode(&self, out: &mut Vec<u8>) {
        self.msg_type.encode(out);
        out.put_u24(self.length);
        out.put_u16(self.message_seq);
        out.put_u24(self.fragment_offset);
        out.put_u24(self.fragment_length);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            msg_type: HandshakeType::read(r)?,
            length: r.u24()?,
            message_seq: r.u16()?,
            fragment_offset: r.u24()?,
            fragment_length: r.u24()?,
        })
    }
}

/// Split the body of one handshake record into its fragments.
///
/// RFC 6347 §4.2.3: one record may carry several handshake fragments back to back. Each
/// item is a header and exactly `fragment_length` body bytes, with
/// `fragment_offset + fragment_length <= length`. The iterator yields the first error and then
/// stops, so it terminates on any input; the caller drops the rest of the record.
pub fn parse_fragments(record_body: &[u8]) -> Fragments<'_> {
    Fragments { reader: Reader::new(record_body), failed: false }
}

/// Iterator over the handshake fragments of one record; see [`parse_fragments`].
#[derive(Debug, Clone)]
pub struct Fragments<'a> {
    reader: Reader<'a>,
    failed: bool,
}

impl<'a> Fragments<'a> {
    fn read_one(&mut self) -> Result<(HandshakeHeader, &'a [u8]), InvalidMessage> {
        let header = HandshakeHeader::read(&mut self.reader)?;
        header.validate()?;
        let body = self.reader.take(header.fragment_length as usize)?;
        Ok((header, body))
    }
}

impl<'a> Iterator for Fragments<'a> {
    type Item = Result<(HandshakeHeader, &'a [u8]), InvalidMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.reader.is_empty() {
            return None;
        }
        // Each successful read consumes at least HANDSHAKE_HEADER_LEN bytes; a failed one
        // ends the iteration. Either way the loop over this iterator terminates.
        let item = self.read_one();
        if item.is_err() {
            self.failed = true;
        }
        Some(item)
    }
}

impl core::iter::FusedIterator for Fragments<'_> {}

/// Split one outgoing handshake message into fragments of at most `max_fragment_body` body
/// bytes each, calling `out` with each header and its slice of `body`, in order.
///
/// RFC 6347 §4.2.3: "each DTLS handshake message may be fragmented over several DTLS
/// records"; an unfragmented message is a single fragment with offset 0 and
/// fragment_length = length. There is always at least one fragment, even for an empty body.
/// `max_fragment_body` of 0 is treated as 1.
///
/// Fails with [`InvalidMessage::TooLarge`] (and calls `out` never) if `body` does not fit the
/// 24-bit length field.
pub fn fragment(
    msg_type: HandshakeType,
    message_seq: u16,
    body: &[u8],
    max_fragment_body: usize,
    mut out: impl FnMut(HandshakeHeader, &[u8]),
) -> Result<(), InvalidMessage> {
    let length = u32::try_from(body.len()).map_err(|_| InvalidMessage::TooLarge)?;
    if length > MAX_U24 {
        return Err(InvalidMessage::TooLarge);
    }
    let header = |fragment_offset: u32, fragment_length: u32| HandshakeHeader {
        msg_type,
        length,
        message_seq,
        fragment_offset,
        fragment_length,
    };
    if body.is_empty() {
        out(header(0, 0), &[]);
        return Ok(());
    }
    // RFC 6347 §4.2.3: contiguous ranges, in order, that together cover the body.
    let mut offset = 0u32;
    for chunk in body.chunks(max_fragment_body.max(1)) {
        // Chunks are no longer than `body`, whose length fits in 24 bits.
        let len = chunk.len() as u32;
        out(header(offset, len), chunk);
        offset += len;
    }
    Ok(())
}

/// Encode one fragment (header then body) into `out`, as it goes into a handshake record.
pub fn encode_fragment(header: &HandshakeHeader, body: &[u8], out: &mut Vec<u8>) {
    debug_assert_eq!(header.fragment_length as usize, body.len());
    header.encode(out);
    out.put_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hdr(length: u32, seq: u16, off: u32, flen: u32) -> HandshakeHeader {
        HandshakeHeader {
            msg_type: HandshakeType::Certificate,
            length,
            message_seq: seq,
            fragment_offset: off,
            fragment_length: flen,
        }
    }

    #[test]
    fn header_round_trips() {
        let h = hdr(0x010203, 0x0405, 0x060708, 0x090a0b);
        let bytes = h.to_vec();
        assert_eq!(bytes, [0x0b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(bytes.len(), HANDSHAKE_HEADER_LEN);
        assert_eq!(HandshakeHeader::read_all(&bytes).unwrap(), h);
        let unknown = HandshakeHeader { msg_type: HandshakeType::Unknown(0xee), ..h };
        assert_eq!(HandshakeHeader::read_all(&unknown.to_vec()).unwrap(), unknown);
    }

    #[test]
    fn parses_several_fragments_in_one_record() {
        let mut rec = Vec::new();
        encode_fragment(&hdr(5, 1, 0, 2), b"ab", &mut rec);
        encode_fragment(&hdr(5, 1, 2, 3), b"cde", &mut rec);
        encode_fragment(&hdr(0, 2, 0, 0), b"", &mut rec);
        let got: Vec<_> = parse_fragments(&rec).collect::<Result<_, _>>().unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (hdr(5, 1, 0, 2), &b"ab"[..]));
        assert_eq!(got[1], (hdr(5, 1, 2, 3), &b"cde"[..]));
        assert_eq!(got[2], (hdr(0, 2, 0, 0), &b""[..]));
    }

    #[test]
    fn rejects_bad_bounds_and_stops() {
        // fragment_offset + fragment_length > length
        let mut rec = Vec::new();
        encode_fragment(&hdr(4, 0, 2, 3), b"abc", &mut rec);
        encode_fragment(&hdr(3, 1, 0, 3), b"abc", &mut rec);
        let got: Vec<_> = parse_fragments(&rec).collect();
        assert_eq!(got, [Err(InvalidMessage::IllegalValue("fragment_length"))]);

        // body shorter than fragment_length
        let mut rec = hdr(9, 0, 0, 9).to_vec();
        rec.extend_from_slice(b"short");
        let got: Vec<_> = parse_fragments(&rec).collect();
        assert_eq!(got, [Err(InvalidMessage::Truncated)]);

        // a truncated header
        let got: Vec<_> = parse_fragments(&[0x01, 0, 0]).collect();
        assert_eq!(got, [Err(InvalidMessage::Truncated)]);
        assert_eq!(parse_fragments(&[]).count(), 0);
    }

    #[test]
    fn fragments_cover_the_body() {
        let body: Vec<u8> = (0..10).collect();
        let mut got = Vec::new();
        fragment(HandshakeType::Finished, 3, &body, 4, |h, b| got.push((h, b.to_vec()))).unwrap();
        let lens: Vec<_> = got.iter().map(|(h, _)| (h.fragment_offset, h.fragment_length)).collect();
        assert_eq!(lens, [(0, 4), (4, 4), (8, 2)]);
        assert!(got.iter().all(|(h, _)| h.length == 10 && h.message_seq == 3));
        let joined: Vec<u8> = got.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(joined, body);
    }

    #[test]
    fn empty_body_and_zero_max_still_fragment() {
        let mut n = 0;
        fragment(HandshakeType::ServerHelloDone, 0, &[], 100, |h, b| {
            assert_eq!(h, HandshakeHeader { msg_type: HandshakeType::ServerHelloDone, ..hdr(0, 0, 0, 0) });
            assert!(b.is_empty());
            n += 1;
        })
        .unwrap();
        assert_eq!(n, 1);
        let mut n = 0;
        fragment(HandshakeType::Finished, 0, b"abc", 0, |h, _| {
            assert_eq!(h.fragment_length, 1);
            n += 1;
        })
        .unwrap();
        assert_eq!(n, 3);
    }

    proptest! {
        #[test]
        fn fragment_then_parse_round_trips(
            body in proptest::collection::vec(any::<u8>(), 0..600),
            max in 0usize..700,
            seq in any::<u16>(),
        ) {
            let mut rec = Vec::new();
            fragment(HandshakeType::Certificate, seq, &body, max, |h, b| {
                encode_fragment(&h, b, &mut rec)
            })
            .unwrap();
            let mut joined = Vec::new();
            for item in parse_fragments(&rec) {
                let (h, b) = item.unwrap();
                prop_assert!(h.fragment_length as usize <= max.max(1));
                prop_assert_eq!(h.fragment_offset as usize, joined.len());
                joined.extend_from_slice(b);
            }
            prop_assert_eq!(joined, body);
        }

        #[test]
        fn parse_never_panics_and_terminates(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut n = 0usize;
            for item in parse_fragments(&bytes) {
                n += 1;
                if let Ok((h, b)) = item {
                    prop_assert!(h.validate().is_ok());
                    prop_assert_eq!(b.len(), h.fragment_length as usize);
                }
            }
            prop_assert!(n <= bytes.len() / HANDSHAKE_HEADER_LEN + 1);
        }
    }
}
