//! Just enough DTLS record framing to see, from the outside, the stateless cookie exchanges
//! of a handshake: HelloRetryRequests (a ServerHello whose random is RFC 8446 §4.1.3's
//! constant) and HelloVerifyRequests. Only plaintext (epoch 0) records are looked at; a DTLS
//! 1.3 unified-header record ends the walk over a datagram.

/// SHA-256("HelloRetryRequest"), the random of every HelloRetryRequest.
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];
const HANDSHAKE: u8 = 22;
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
}
