//! The byte strings that go into the DTLS 1.3 transcript hash: each handshake message in its
//! TLS 1.3 form (RFC 9147 §5.2), and the synthetic `message_hash` message that replaces the
//! first ClientHello after a HelloRetryRequest (RFC 8446 §4.4.1). Hashing them is the
//! handshake's job; these only build the bytes.

use crate::codec::{Put, put_prefixed};
use crate::error::InvalidMessage;
use crate::wire::HandshakeType;
use crate::wire::handshake_header::MAX_U24;

/// A handshake message as the DTLS 1.3 transcript sees it: `msg_type`, a 24-bit length and
/// the reassembled body, without DTLS's message_seq and fragment fields.
///
/// [`InvalidMessage::TooLarge`] if `body` does not fit a 24-bit length.
// RFC 9147 §5.2
//   "In DTLS 1.3, the message transcript is computed over the original TLS 1.3-style
//   Handshake messages without the message_seq, fragment_offset, and fragment_length values.
//   Note that this is a change from DTLS 1.2 where those values were included in the
//   transcript."
// RFC 8446 §4
//   struct {
//       HandshakeType msg_type;    /* handshake type */
//       uint24 length;             /* remaining bytes in message */
//       select (Handshake.msg_type) { ... };
//   } Handshake;
pub fn transcript_message(msg_type: HandshakeType, body: &[u8]) -> Result<Vec<u8>, InvalidMessage> {
    if body.len() > MAX_U24 as usize {
        return Err(InvalidMessage::TooLarge);
    }
    let mut out = Vec::with_capacity(4 + body.len());
    out.put_u8(u8::from(msg_type));
    out.put_u24(body.len() as u32);
    out.put_slice(body);
    Ok(out)
}

/// The synthetic `message_hash` handshake message that stands for the first ClientHello in
/// the transcript once the server sent a HelloRetryRequest: `254 00 00 Hash.length` followed
/// by `Hash(ClientHello1)` (the hash of [`transcript_message`] of that ClientHello).
///
/// [`InvalidMessage::TooLarge`] if the hash is longer than 255 bytes (no hash is).
// RFC 8446 §4.4.1
//   "When the server responds to a ClientHello with a HelloRetryRequest, the value of
//   ClientHello1 is replaced with a special synthetic handshake message of handshake type
//   "message_hash" containing Hash(ClientHello1). I.e.,
//     Transcript-Hash(ClientHello1, HelloRetryRequest, ... Mn) =
//         Hash(message_hash ||        /* Handshake type */
//              00 00 Hash.length  ||  /* Handshake message length (bytes) */
//              Hash(ClientHello1) ||  /* Hash of ClientHello1 */
//              HelloRetryRequest  || ... || Mn)"
pub fn message_hash(client_hello1_hash: &[u8]) -> Result<Vec<u8>, InvalidMessage> {
    if client_hello1_hash.len() > usize::from(u8::MAX) {
        return Err(InvalidMessage::TooLarge);
    }
    let mut out = Vec::with_capacity(4 + client_hello1_hash.len());
    out.put_u8(u8::from(HandshakeType::MESSAGE_HASH));
    put_prefixed(&mut out, crate::codec::LenPrefix::U24, |o| o.put_slice(client_hello1_hash));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use ring::digest::{SHA256, SHA384, digest};

    use super::*;
    use crate::codec::Codec;
    use crate::wire::handshake_header::HandshakeHeader;

    #[test]
    fn transcript_form_drops_the_dtls_fields() {
        assert_eq!(transcript_message(HandshakeType::Finished, &[9; 3]).unwrap(), [20, 0, 0, 3, 9, 9, 9]);
        assert_eq!(transcript_message(HandshakeType::ENCRYPTED_EXTENSIONS, &[]).unwrap(), [8, 0, 0, 0]);
        // The DTLS header starts with the same msg_type and length; message_seq and the
        // fragment fields are what the 1.3 transcript leaves out.
        let body = [0x42u8; 300];
        let h = HandshakeHeader {
            msg_type: HandshakeType::ClientHello,
            length: 300,
            message_seq: 7,
            fragment_offset: 0,
            fragment_length: 300,
        };
        let mut dtls = Vec::new();
        h.encode(&mut dtls);
        let tm = transcript_message(HandshakeType::ClientHello, &body).unwrap();
        assert_eq!(tm[..4], dtls[..4]);
        assert_eq!(tm[4..], body);
        assert_eq!(transcript_message(HandshakeType::ClientHello, &vec![0; 1 << 24]), Err(InvalidMessage::TooLarge));
    }

    #[test]
    fn message_hash_replaces_client_hello1() {
        let ch1 = transcript_message(HandshakeType::ClientHello, b"first client hello").unwrap();
        let hrr = transcript_message(HandshakeType::ServerHello, b"hello retry request").unwrap();
        let h1 = digest(&SHA256, &ch1);
        let mh = message_hash(h1.as_ref()).unwrap();
        assert_eq!(mh[..4], [0xfe, 0x00, 0x00, 0x20]);
        assert_eq!(mh[4..], *h1.as_ref());
        // Transcript-Hash(ClientHello1, HelloRetryRequest) per RFC 8446 §4.4.1.
        let mut manual = vec![254u8, 0, 0, 32];
        manual.extend_from_slice(h1.as_ref());
        manual.extend_from_slice(&hrr);
        let mut ours = mh.clone();
        ours.extend_from_slice(&hrr);
        assert_eq!(digest(&SHA256, &ours).as_ref(), digest(&SHA256, &manual).as_ref());
        // SHA-384 suites: Hash.length 48.
        let h384 = digest(&SHA384, &ch1);
        assert_eq!(message_hash(h384.as_ref()).unwrap()[..4], [0xfe, 0, 0, 0x30]);
        assert_eq!(message_hash(&[0; 256]), Err(InvalidMessage::TooLarge));
    }
}
