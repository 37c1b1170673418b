//! The smaller DTLS 1.3 hello extensions: `cookie` (RFC 8446 §4.2.2), `psk_key_exchange_modes`
//! (§4.2.9) and `signature_algorithms_cert` (§4.2.3).

use crate::codec::{LenPrefix, Put, Reader, put_list, put_prefixed, read_list};
use crate::error::InvalidMessage;
use crate::wire::tls13::{ExtensionBody, non_empty, read_u16_items};
use crate::wire::{ExtensionType, PskKeyExchangeMode, SignatureScheme};

/// The TLS 1.3 `cookie` extension: sent by the server in a HelloRetryRequest and echoed in
/// the second ClientHello. DTLS 1.3 uses it instead of HelloVerifyRequest (RFC 9147 §5.1);
/// the ClientHello's `legacy_cookie` stays empty.
// RFC 8446 §4.2.2
//   struct {
//       opaque cookie<1..2^16-1>;
//   } Cookie;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The cookie, non-empty.
    pub cookie: Vec<u8>,
}

impl ExtensionBody for Cookie {
    const TYPE: ExtensionType = ExtensionType::Cookie;

    fn encode_body(&self, out: &mut Vec<u8>) {
        put_prefixed(out, LenPrefix::U16, |o| o.put_slice(&self.cookie));
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let cookie = r.sub_u16()?.take_rest();
        if cookie.is_empty() {
            return Err(InvalidMessage::EmptyList("cookie"));
        }
        Ok(Self { cookie: cookie.to_vec() })
    }
}

/// The PSK key exchange modes the client supports.
// RFC 8446 §4.2.9
//   enum { psk_ke(0), psk_dhe_ke(1), (255) } PskKeyExchangeMode;
//   struct {
//       PskKeyExchangeMode ke_modes<1..255>;
//   } PskKeyExchangeModes;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PskKeyExchangeModes {
    /// The modes, non-empty; unknown values are kept (the server ignores them).
    pub ke_modes: Vec<PskKeyExchangeMode>,
}

impl ExtensionBody for PskKeyExchangeModes {
    const TYPE: ExtensionType = ExtensionType::PskKeyExchangeModes;

    fn encode_body(&self, out: &mut Vec<u8>) {
        put_list(out, LenPrefix::U8, &self.ke_modes);
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self { ke_modes: non_empty(read_list(r.sub_u8()?)?, "ke_modes")? })
    }
}

/// The signature schemes the peer accepts in certificates, when they differ from those of
/// `signature_algorithms` (same syntax).
// RFC 8446 §4.2.3
//   struct {
//       SignatureScheme supported_signature_algorithms<2..2^16-2>;
//   } SignatureSchemeList;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureAlgorithmsCert {
    /// The schemes, non-empty, in preference order.
    pub schemes: Vec<SignatureScheme>,
}

impl ExtensionBody for SignatureAlgorithmsCert {
    const TYPE: ExtensionType = ExtensionType::SignatureAlgorithmsCert;

    fn encode_body(&self, out: &mut Vec<u8>) {
        put_list(out, LenPrefix::U16, &self.schemes);
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let schemes = read_u16_items(r, "signature_algorithms_cert length")?;
        Ok(Self { schemes: non_empty(schemes, "signature_algorithms_cert")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Codec;
    use crate::wire::tls13::test_util::{check_layout, hex};

    #[test]
    fn cookie() {
        let c = Cookie { cookie: vec![0xc0, 0x0c, 0x1e] };
        check_layout(&c, &hex("00 03 c0 0c 1e"), Cookie::parse, |v| v.body_bytes());
        assert_eq!(c.to_extension().to_vec(), hex("00 2c 00 05 00 03 c0 0c 1e"));
        // <1..2^16-1>: empty is invalid.
        assert_eq!(Cookie::parse(&hex("00 00")), Err(InvalidMessage::EmptyList("cookie")));
        // The largest cookie fits the extension (whose own length is 2 more).
        let max = Cookie { cookie: vec![7; 0xfffd] };
        assert_eq!(Cookie::parse(&max.body_bytes()), Ok(max));
    }

    #[test]
    fn psk_key_exchange_modes() {
        let m = PskKeyExchangeModes { ke_modes: vec![PskKeyExchangeMode::PskDheKe] };
        check_layout(&m, &hex("01 01"), PskKeyExchangeModes::parse, |v| v.body_bytes());
        assert_eq!(m.to_extension().to_vec(), hex("00 2d 00 02 01 01"));
        let both = PskKeyExchangeModes {
            ke_modes: vec![PskKeyExchangeMode::PskKe, PskKeyExchangeMode::PskDheKe, PskKeyExchangeMode::Unknown(9)],
        };
        check_layout(&both, &hex("03 00 01 09"), PskKeyExchangeModes::parse, |v| v.body_bytes());
        assert_eq!(PskKeyExchangeModes::parse(&hex("00")), Err(InvalidMessage::EmptyList("ke_modes")));
    }

    #[test]
    fn signature_algorithms_cert() {
        let s = SignatureAlgorithmsCert {
            schemes: vec![SignatureScheme::ECDSA_NISTP256_SHA256, SignatureScheme::RSA_PSS_RSAE_SHA256],
        };
        check_layout(&s, &hex("00 04 04 03 08 04"), SignatureAlgorithmsCert::parse, |v| v.body_bytes());
        // Same body as signature_algorithms, different code point.
        assert_eq!(s.to_extension().to_vec(), hex("00 32 00 06 00 04 04 03 08 04"));
        let bad = |s: &str| SignatureAlgorithmsCert::parse(&hex(s));
        assert_eq!(bad("00 00"), Err(InvalidMessage::EmptyList("signature_algorithms_cert")));
        assert_eq!(bad("00 03 04 03 08"), Err(InvalidMessage::IllegalValue("signature_algorithms_cert length")));
    }
}
