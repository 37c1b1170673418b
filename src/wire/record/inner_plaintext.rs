//! `DTLSInnerPlaintext`: the protected content of a `tls12_cid` record (RFC 9146 §4) and of
//! every DTLS 1.3 ciphertext record (RFC 9147 §4): the content, its real content type, then
//! zero padding. Nothing here panics on input.

use crate::codec::Put;
use crate::error::InvalidMessage;
use crate::wire::ContentType;

// RFC 9146 §4 (RFC 9147 §4 has the same structure, naming the type field `type`):
//   struct {
//       opaque content[length];
//       ContentType real_type;
//       uint8 zeros[length_of_padding];
//   } DTLSInnerPlaintext;
/// Append `content || real_type || zeros[padding]` to `out`.
///
/// Fails (and writes nothing) if `real_type` is 0: the receiver finds the type as the last
/// non-zero byte, so a zero type could not be told from padding.
#[inline]
pub fn encode_inner_plaintext(
    content: &[u8],
    real_type: ContentType,
    padding: usize,
    out: &mut Vec<u8>,
) -> Result<(), InvalidMessage> {
    let real_type = u8::from(real_type);
    if real_type == 0 {
        return Err(InvalidMessage::IllegalValue("real_type"));
    }
    out.reserve(content.len() + 1 + padding);
    out.put_slice(content);
    out.put_u8(real_type);
    out.resize(out.len() + padding, 0);
    Ok(())
}

/// Split a decrypted `DTLSInnerPlaintext` into its real content type and content.
///
/// RFC 9146 §4: the receiver scans from the end for the first non-zero byte, which is the
/// content type; everything before it is the content. An empty or all-zero plaintext has no
/// content type and is invalid (RFC 9146 §4: "If a receiving implementation does not find a
/// non-zero octet in the cleartext, it MUST terminate the connection with an
/// unexpected_message alert"; the caller decides what to do with the error).
pub fn decode_inner_plaintext(plain: &[u8]) -> Result<(ContentType, &[u8]), InvalidMessage> {
    let type_at = plain.iter().rposition(|&b| b != 0).ok_or(InvalidMessage::IllegalValue("real_type"))?;
    let (content, rest) = plain.split_at(type_at);
    let real_type = rest.first().copied().ok_or(InvalidMessage::IllegalValue("real_type"))?;
    Ok((ContentType::from(real_type), content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_round_trip() {
        let mut v = Vec::new();
        encode_inner_plaintext(b"abc", ContentType::ApplicationData, 3, &mut v).unwrap();
        assert_eq!(v, [b'a', b'b', b'c', 23, 0, 0, 0]);
        assert_eq!(decode_inner_plaintext(&v).unwrap(), (ContentType::ApplicationData, &b"abc"[..]));

        for padding in [0, 1, 100] {
            for content in [&[][..], &[0, 0][..], &[1, 0, 22, 0][..]] {
                let mut v = vec![0xaa];
                encode_inner_plaintext(content, ContentType::Handshake, padding, &mut v).unwrap();
                assert_eq!(v.len(), 1 + content.len() + 1 + padding);
                // Content that ends in zero bytes survives: only bytes after the type are padding.
                let (t, c) = decode_inner_plaintext(&v[1..]).unwrap();
                assert_eq!((t, c), (ContentType::Handshake, content));
            }
        }
    }

    #[test]
    fn unknown_types_are_carried() {
        let (t, c) = decode_inner_plaintext(&[9, 26, 0]).unwrap();
        assert_eq!((t, c), (ContentType::from(26), &[9u8][..]));
    }

    #[test]
    fn empty_and_all_zero_are_invalid() {
        assert!(decode_inner_plaintext(&[]).is_err());
        for n in 1..40 {
            assert!(decode_inner_plaintext(&vec![0; n]).is_err());
        }
        let mut v = vec![1];
        assert!(encode_inner_plaintext(b"x", ContentType::from(0), 2, &mut v).is_err());
        assert_eq!(v, [1]);
    }
}
