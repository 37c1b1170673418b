//! Just enough DTLS record framing to see, from the outside, the stateless cookie exchanges
//! of a handshake: HelloRetryRequests (a ServerHello whose random is RFC 8446 §4.1.3's
//! constant) and HelloVerifyRequests. Only plaintext (epoch 0) records are looked at; a DTLS
//! 1.3 unified-header record ends the walk over a datagram. [`epoch_bits`] reads the other
//! kind: the low two bits of the epoch that every DTLS 1.3 unified header carries, which is
//! how a KeyUpdate shows from outside (epoch 3 is the first application-data epoch; bits 0
//! mean epoch 4, the first updated one). [`cids`] reads the connection IDs of records: the
//! DTLS 1.2 `tls12_cid` record (RFC 9146 §4) and the unified header's C bit (RFC 9147 §4).

/// SHA-256("HelloRetryRequest"), the random of every HelloRetryRequest.
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];
const HANDSHAKE: u8 = 22;
const TLS12_CID: u8 = 25;
const SERVER_HELLO: u8 = 2;
const HELLO_VERIFY_REQUEST: u8 = 3;
const RECORD_HEADER: usize = 13;
const HANDSHAKE_HEADER: usize = 12;

#[derive(Default, Debug, PartialEq)]
pub struct Seen {
    pub hello_retry_requests: usize,
    pub hello_verify_requests: usize,
}

/// The cookie exchanges that start in this datagram (first fragments only).
pub fn scan(mut datagram: &[u8]) -> Seen {
    let mut seen = Seen::default();
    while datagram.len() >= RECORD_HEADER {
        let content_type = datagram[0];
        if content_type & 0xe0 == 0x20 {
            break; // DTLS 1.3 unified header: encrypted, and its length may be implicit
        }
        let epoch = u16::from_be_bytes([datagram[3], datagram[4]]);
        let len = usize::from(u16::from_be_bytes([datagram[11], datagram[12]]));
        let Some(body) = datagram.get(RECORD_HEADER..RECORD_HEADER + len) else { break };
        if content_type == HANDSHAKE && epoch == 0 && body.len() >= HANDSHAKE_HEADER {
            let offset = (usize::from(body[6]) << 16) | (usize::from(body[7]) << 8) | usize::from(body[8]);
            let msg = &body[HANDSHAKE_HEADER..];
            if offset == 0 {
                match body[0] {
                    HELLO_VERIFY_REQUEST => seen.hello_verify_requests += 1,
                    SERVER_HELLO if msg.get(2..34) == Some(&HRR_RANDOM[..]) => seen.hello_retry_requests += 1,
                    _ => {}
                }
            }
        }
        datagram = &datagram[RECORD_HEADER + len..];
    }
    seen
}

/// The epoch bits (`EE` of `001CSLEE`) of each DTLS 1.3 unified-header record in this
/// datagram, in order. The walk ends at a record without a length field (it runs to the end
/// of the datagram), at a connection ID (whose length is not in the header) and at anything
/// truncated; plaintext records are stepped over.
pub fn epoch_bits(mut datagram: &[u8]) -> Vec<u8> {
    let mut bits = Vec::new();
    while let Some(&first) = datagram.first() {
        if first & 0xe0 != 0x20 {
            if datagram.len() < RECORD_HEADER {
                break;
            }
            let len = usize::from(u16::from_be_bytes([datagram[11], datagram[12]]));
            let Some(rest) = datagram.get(RECORD_HEADER + len..) else { break };
            datagram = rest;
            continue;
        }
        bits.push(first & 0x03);
        let (has_cid, long_seq, has_len) = (first & 0x10 != 0, first & 0x08 != 0, first & 0x04 != 0);
        if has_cid || !has_len {
            break;
        }
        let header = 1 + if long_seq { 2 } else { 1 } + 2;
        let Some(len) = datagram.get(header - 2..header).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))) else {
            break;
        };
        let Some(rest) = datagram.get(header + len..) else { break };
        datagram = rest;
    }
    bits
}

/// The connection ID of each record in this datagram that carries one, in order: a DTLS 1.2
/// `tls12_cid` record (type 25: the CID between the sequence number and the length) or a
/// DTLS 1.3 unified header with the C bit (the CID right after the first byte). Neither
/// header says how long the CID is: `cid_len` does (the length this direction negotiated).
/// The walk ends at a unified header without a length field (it runs to the end of the
/// datagram), at a CID record while `cid_len` is 0 (it cannot be stepped over) and at
/// anything truncated.
pub fn cids(mut datagram: &[u8], cid_len: usize) -> Vec<Vec<u8>> {
    let mut cids = Vec::new();
    while let Some(&first) = datagram.first() {
        let (cid_at, len_at) = if first & 0xe0 == 0x20 {
            let has_cid = first & 0x10 != 0;
            if has_cid && cid_len == 0 {
                break;
            }
            let cid = if has_cid { cid_len } else { 0 };
            let seq = if first & 0x08 != 0 { 2 } else { 1 };
            if first & 0x04 == 0 {
                // No length: the record runs to the end of the datagram.
                if has_cid && let Some(c) = datagram.get(1..1 + cid) {
                    cids.push(c.to_vec());
                }
                break;
            }
            (has_cid.then_some(1), 1 + cid + seq)
        } else if first == TLS12_CID {
            if cid_len == 0 {
                break;
            }
            (Some(RECORD_HEADER - 2), RECORD_HEADER - 2 + cid_len)
        } else {
            (None, RECORD_HEADER - 2)
        };
        let Some(len) = datagram.get(len_at..len_at + 2).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))) else {
            break;
        };
        if let Some(at) = cid_at {
            cids.push(datagram[at..at + cid_len].to_vec());
        }
        let Some(rest) = datagram.get(len_at + 2 + len..) else { break };
        datagram = rest;
    }
    cids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: u16, handshake: &[u8]) -> Vec<u8> {
        let mut r = vec![HANDSHAKE, 0xfe, 0xfd];
        r.extend_from_slice(&epoch.to_be_bytes());
        r.extend_from_slice(&[0; 6]);
        r.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
        r.extend_from_slice(handshake);
        r
    }

    fn message(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let len = (body.len() as u32).to_be_bytes();
        let mut m = vec![msg_type, len[1], len[2], len[3], 0, 0, 0, 0, 0, len[1], len[2], len[3]];
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn finds_hello_retry_and_hello_verify_requests() {
        let mut hrr = vec![0xfe, 0xfd];
        hrr.extend_from_slice(&HRR_RANDOM);
        hrr.extend_from_slice(&[0; 10]);
        let mut sh = vec![0xfe, 0xfd];
        sh.extend_from_slice(&[7; 32]);
        let mut datagram = record(0, &message(SERVER_HELLO, &hrr));
        datagram.extend(record(0, &message(SERVER_HELLO, &sh)));
        datagram.extend(record(0, &message(HELLO_VERIFY_REQUEST, &[0xfe, 0xff, 1, 9])));
        datagram.extend(record(1, &message(HELLO_VERIFY_REQUEST, &[0xfe, 0xff, 1, 9])));
        assert_eq!(scan(&datagram), Seen { hello_retry_requests: 1, hello_verify_requests: 1 });
    }

    #[test]
    fn stops_at_a_unified_header_and_at_truncation() {
        let mut datagram = vec![0x2c, 1, 2, 3];
        datagram.extend(record(0, &message(HELLO_VERIFY_REQUEST, &[0xfe, 0xff, 0])));
        assert_eq!(scan(&datagram), Seen::default());
        let r = record(0, &message(HELLO_VERIFY_REQUEST, &[0xfe, 0xff, 0]));
        assert_eq!(scan(&r[..r.len() - 1]), Seen::default());
    }

    #[test]
    fn reads_the_epoch_bits_of_unified_headers() {
        // 16-bit sequence number and length (0x2f: epoch bits 3), then an 8-bit sequence
        // number with a length (0x24: bits 0), then one without a length (0x21: bits 1).
        let mut datagram = vec![0x2f, 0, 1, 0, 2, 0xaa, 0xbb];
        datagram.extend([0x24, 5, 0, 1, 0xcc]);
        datagram.extend([0x21, 6, 0xdd, 0xee]);
        assert_eq!(epoch_bits(&datagram), vec![3, 0, 1]);
        // A plaintext record first is stepped over; a truncated record ends the walk.
        let mut datagram = record(0, &message(SERVER_HELLO, &[0; 4]));
        datagram.extend([0x2e, 0, 1, 0, 9, 0]);
        assert_eq!(epoch_bits(&datagram), vec![2]);
        assert_eq!(epoch_bits(&[0x1f, 0xfe]), Vec::<u8>::new());
    }

    #[test]
    fn reads_connection_ids() {
        // A plaintext record, a DTLS 1.2 CID record, a unified header with a CID, a 16-bit
        // sequence number and a length, one without a CID, and one with a CID and no length.
        let mut datagram = record(0, &message(SERVER_HELLO, &[0; 4]));
        datagram.extend([TLS12_CID, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 7, 0xbe, 0xef, 0, 2, 0xaa, 0xbb]);
        datagram.extend([0x3f, 0xca, 0xfe, 0, 1, 0, 1, 0xcc]);
        datagram.extend([0x2c, 0, 1, 0, 1, 0xdd]);
        datagram.extend([0x33, 0xbe, 0xef, 9, 0xee, 0xee]);
        let cids = cids(&datagram, 2);
        assert_eq!(cids, vec![vec![0xbe, 0xef], vec![0xca, 0xfe], vec![0xbe, 0xef]]);
        // Unknown CID length: the walk stops at the first record with a CID.
        assert_eq!(super::cids(&datagram, 0), Vec::<Vec<u8>>::new());
        // Truncated: a length field cut off, or a CID record whose length is missing.
        assert_eq!(super::cids(&[0x3c, 0xbe, 0xef, 0], 2), Vec::<Vec<u8>>::new());
        assert_eq!(super::cids(&[TLS12_CID, 0xfe, 0xfd, 0, 1], 2), Vec::<Vec<u8>>::new());
    }
}
