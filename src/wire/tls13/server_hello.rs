//! What the ServerHello's `random` carries in TLS 1.3 besides randomness (RFC 8446 §4.1.3):
//! the fixed value that marks a HelloRetryRequest, and the downgrade sentinels.

/// The `random` of every HelloRetryRequest: SHA-256 of the ASCII string "HelloRetryRequest".
/// A HelloRetryRequest is a ServerHello with this random (RFC 8446 §4.1.3, §4.1.4); it has
/// no message type of its own.
// RFC 8446 §4.1.3
//   "For reasons of backward compatibility with middleboxes (see Appendix D.4), the
//   HelloRetryRequest message uses the same structure as the ServerHello, but with Random set
//   to the special value of the SHA-256 of "HelloRetryRequest":
//     CF 21 AD 74 E5 9A 61 11 BE 1D 8C 02 1E 65 B8 91
//     C2 A2 11 16 7A BB 8C 5E 07 9E 09 E2 C8 A8 33 9C"
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, //
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// True if a ServerHello with this `random` is a HelloRetryRequest.
pub fn is_hello_retry_request(random: &[u8; 32]) -> bool {
    *random == HELLO_RETRY_REQUEST_RANDOM
}

// RFC 8446 §4.1.3
//   "If negotiating TLS 1.2, TLS 1.3 servers MUST set the last 8 bytes of their Random value
//   to the bytes: 44 4F 57 4E 47 52 44 01. If negotiating TLS 1.1 or below, TLS 1.3 servers
//   MUST, and TLS 1.2 servers SHOULD, set the last 8 bytes of their ServerHello.Random value
//   to the bytes: 44 4F 57 4E 47 52 44 00."
// In DTLS the same holds with DTLS 1.2 for TLS 1.2 and DTLS 1.0 for TLS 1.1 and below
// (RFC 9147 §5 applies RFC 8446's handshake to DTLS 1.3).

/// The last 8 bytes of the random of a 1.3-capable server that negotiated (D)TLS 1.2:
/// "DOWNGRD" and 01.
pub const DOWNGRADE_TLS12: [u8; 8] = [0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01];
/// The last 8 bytes of the random of a server that negotiated TLS 1.1 or below (DTLS 1.0):
/// "DOWNGRD" and 00.
pub const DOWNGRADE_TLS11: [u8; 8] = [0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x00];

/// A downgrade sentinel found in a ServerHello random.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DowngradeSentinel {
    /// [`DOWNGRADE_TLS12`]: the server supports 1.3 but negotiated (D)TLS 1.2.
    Tls12,
    /// [`DOWNGRADE_TLS11`]: the server negotiated TLS 1.1 or below (DTLS 1.0).
    Tls11OrBelow,
}

impl DowngradeSentinel {
    /// The 8 bytes of this sentinel.
    pub fn bytes(self) -> [u8; 8] {
        match self {
            Self::Tls12 => DOWNGRADE_TLS12,
            Self::Tls11OrBelow => DOWNGRADE_TLS11,
        }
    }

    /// Overwrite the last 8 bytes of a server random with this sentinel.
    pub fn apply(self, random: &mut [u8; 32]) {
        if let Some(tail) = random.last_chunk_mut::<8>() {
            *tail = self.bytes();
        }
    }
}

/// The downgrade sentinel at the end of a ServerHello `random`, if there is one. A client
/// that offered 1.3 and gets 1.2 with a sentinel must abort (RFC 8446 §4.1.3); deciding that
/// is the handshake's business.
pub fn downgrade_sentinel(random: &[u8; 32]) -> Option<DowngradeSentinel> {
    match random.last_chunk::<8>() {
        Some(&DOWNGRADE_TLS12) => Some(DowngradeSentinel::Tls12),
        Some(&DOWNGRADE_TLS11) => Some(DowngradeSentinel::Tls11OrBelow),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_retry_request_random_is_sha256_of_its_name() {
        let digest = ring::digest::digest(&ring::digest::SHA256, b"HelloRetryRequest");
        assert_eq!(digest.as_ref(), HELLO_RETRY_REQUEST_RANDOM);
        assert!(is_hello_retry_request(&HELLO_RETRY_REQUEST_RANDOM));
        let mut other = HELLO_RETRY_REQUEST_RANDOM;
        other[31] ^= 1;
        assert!(!is_hello_retry_request(&other));
        assert!(!is_hello_retry_request(&[0; 32]));
    }

    #[test]
    fn downgrade_sentinels() {
        assert_eq!(&DOWNGRADE_TLS12[..7], b"DOWNGRD");
        assert_eq!(&DOWNGRADE_TLS11[..7], b"DOWNGRD");
        let mut random = [0x5a; 32];
        assert_eq!(downgrade_sentinel(&random), None);
        for s in [DowngradeSentinel::Tls12, DowngradeSentinel::Tls11OrBelow] {
            s.apply(&mut random);
            assert_eq!(random[..24], [0x5a; 24]);
            assert_eq!(random[24..], s.bytes());
            assert_eq!(downgrade_sentinel(&random), Some(s));
        }
        // Any other last byte, or the prefix elsewhere, is no sentinel.
        random[31] = 2;
        assert_eq!(downgrade_sentinel(&random), None);
        let mut shifted = [0u8; 32];
        shifted[23..31].copy_from_slice(&DOWNGRADE_TLS12);
        assert_eq!(downgrade_sentinel(&shifted), None);
        assert_eq!(downgrade_sentinel(&HELLO_RETRY_REQUEST_RANDOM), None);
    }
}
