//! Split arbitrary datagrams into records of all three header formats (DTLS 1.2, RFC 9146
//! `tls12_cid`, the DTLS 1.3 unified header) with an arbitrary expected CID length.
//! Must terminate and never panic; every record must lie within the input, right after the
//! previous one, and its header must re-encode to the bytes it was parsed from.
#![no_main]

use dtls_engine::internals::codec::Reader;
use dtls_engine::internals::wire::record::{
    CidRecordHeader, Deframer, Demux, Record, RecordHeader, UnifiedHeader, decode_inner_plaintext,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the expected CID length (0..=20); the rest is the datagram.
    let Some((&pick, datagram)) = data.split_first() else { return };
    let cid_len = usize::from(pick % 21);
    let mut demux = Demux::new(datagram, cid_len);
    let mut pos = 0usize;
    for record in demux.by_ref() {
        let start = pos;
        let mut again = Vec::new();
        record.encode_header(&mut again);
        assert_eq!(again.len(), record.header_len());
        let body = record.body();
        again.extend_from_slice(body);
        assert!(!again.is_empty());
        pos += again.len();
        assert!(pos <= datagram.len());
        // The header re-encodes to the bytes it came from, and the body follows it.
        assert_eq!(datagram.get(start..pos), Some(&again[..]));
        // Each format's own parser agrees on its slice of the datagram.
        let rest = datagram.get(start..).unwrap_or_default();
        match record {
            Record::Dtls12 { header, body } => {
                assert_eq!(usize::from(header.length), body.len());
                assert_eq!(Deframer::new(rest).next(), Some((header, body)));
                assert_eq!(RecordHeader::read(&mut Reader::new(rest)), Some((header, body)));
            }
            Record::Tls12Cid { header, body } => {
                assert_eq!(header.cid.len(), cid_len);
                assert_eq!(usize::from(header.length), body.len());
                assert_eq!(CidRecordHeader::read(&mut Reader::new(rest), cid_len), Some((header, body)));
                let aad = header.additional_data(header.length).expect("CID at most 20 bytes");
                assert_eq!(aad.len(), 23 + cid_len);
                // As if the body were the decrypted DTLSInnerPlaintext.
                if let Ok((_, content)) = decode_inner_plaintext(body) {
                    assert!(content.len() < body.len());
                }
            }
            Record::Unified { header, body } => {
                assert!(header.cid.is_empty() || header.cid.len() == cid_len);
                match header.length {
                    Some(l) => assert_eq!(usize::from(l), body.len()),
                    None => assert_eq!(pos, datagram.len()),
                }
                let at = start + header.sequence_offset();
                let seq = datagram.get(at..at + header.sequence.len()).expect("sequence inside the record");
                let value = seq.iter().fold(0u16, |v, &b| v << 8 | u16::from(b));
                assert_eq!(value, header.sequence.value());
                assert_eq!(UnifiedHeader::read(&mut Reader::new(rest), cid_len), Some((header, body)));
            }
        }
    }
    assert_eq!(demux.truncated(), pos != datagram.len());
});
