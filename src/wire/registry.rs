//! The byte encoding of IANA registry values, and the registries only the protocol itself
//! uses (content, handshake, alert level, extension, point format and certificate types).
//! Like the public ones in `crate::registry`, each is an enum with an `Unknown` arm, so every
//! value round-trips and nothing panics on a code point we do not know.

use crate::codec::{Codec, Reader};
use crate::error::InvalidMessage;
use crate::registry::{AlertDescription, CipherSuite, NamedGroup, SignatureScheme, SrtpProtectionProfile, iana_enum};

/// Encode a registry enum as the integer that carries it on the wire.
macro_rules! impl_codec {
    ($($name:ident: $repr:ident),* $(,)?) => {
        $(
            impl Codec for $name {
                fn encode(&self, out: &mut Vec<u8>) {
                    $repr::from(*self).encode(out)
                }
                fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
                    Ok(Self::from($repr::read(r)?))
                }
            }
        )*
    };
}

impl_codec! {
    ContentType: u8,
    HandshakeType: u8,
    AlertLevel: u8,
    AlertDescription: u8,
    CipherSuite: u16,
    NamedGroup: u16,
    SignatureScheme: u16,
    ExtensionType: u16,
    SrtpProtectionProfile: u16,
    EcPointFormat: u8,
    ClientCertificateType: u8,
    PskKeyExchangeMode: u8,
}

iana_enum! {
    /// TLS ContentType (RFC 5246 §6.2.1).
    pub enum ContentType: u8 {
        ChangeCipherSpec = 0x14,
        Alert = 0x15,
        Handshake = 0x16,
        ApplicationData = 0x17,
    }
}

// The DTLS 1.3 code points of ContentType and HandshakeType are named constants, not enum
// arms: the DTLS 1.2 session matches these enums exhaustively and treats every code point it
// does not name as `Unknown` (a dropped record, an unexpected message). As constants they stay
// `Unknown(n)`, so the 1.2 engine behaves exactly as before; they equal `from(n)` and work in
// patterns.
impl ContentType {
    /// ack (RFC 9147 §7, IANA TLS ContentType 26): a DTLS 1.3 ACK record.
    pub const ACK: Self = Self::Unknown(26);
}

impl HandshakeType {
    /// encrypted_extensions (RFC 8446 §4.3.1, code point 8).
    pub const ENCRYPTED_EXTENSIONS: Self = Self::Unknown(8);
    /// request_connection_id (RFC 9147 §9, code point 9).
    pub const REQUEST_CONNECTION_ID: Self = Self::Unknown(9);
    /// new_connection_id (RFC 9147 §9, code point 10).
    pub const NEW_CONNECTION_ID: Self = Self::Unknown(10);
    /// key_update (RFC 8446 §4.6.3, code point 24).
    pub const KEY_UPDATE: Self = Self::Unknown(24);
    /// message_hash (RFC 8446 §4.4.1, code point 254): the synthetic transcript message that
    /// replaces the first ClientHello after a HelloRetryRequest; never sent.
    pub const MESSAGE_HASH: Self = Self::Unknown(254);
}

iana_enum! {
    /// HandshakeType (RFC 5246 §7.4, RFC 6347 §4.3.2).
    pub enum HandshakeType: u8 {
        HelloRequest = 0x00,
        ClientHello = 0x01,
        ServerHello = 0x02,
        HelloVerifyRequest = 0x03,
        NewSessionTicket = 0x04,
        Certificate = 0x0b,
        ServerKeyExchange = 0x0c,
        CertificateRequest = 0x0d,
        ServerHelloDone = 0x0e,
        CertificateVerify = 0x0f,
        ClientKeyExchange = 0x10,
        Finished = 0x14,
    }
}

iana_enum! {
    /// AlertLevel (RFC 5246 §7.2).
    pub enum AlertLevel: u8 {
        Warning = 0x01,
        Fatal = 0x02,
    }
}

iana_enum! {
    /// ExtensionType (IANA TLS ExtensionType Values).
    pub enum ExtensionType: u16 {
        ServerName = 0x0000,
        SupportedGroups = 0x000a,
        EcPointFormats = 0x000b,
        SignatureAlgorithms = 0x000d,
        UseSrtp = 0x000e,
        Alpn = 0x0010,
        EncryptThenMac = 0x0016,
        ExtendedMasterSecret = 0x0017,
        SessionTicket = 0x0023,
        /// RFC 8446 §4.2.1.
        SupportedVersions = 0x002b,
        /// RFC 8446 §4.2.2 (the TLS 1.3 cookie, not DTLS 1.2's HelloVerifyRequest cookie).
        Cookie = 0x002c,
        /// RFC 8446 §4.2.9.
        PskKeyExchangeModes = 0x002d,
        /// RFC 8446 §4.2.3.
        SignatureAlgorithmsCert = 0x0032,
        /// RFC 8446 §4.2.8.
        KeyShare = 0x0033,
        /// RFC 9146 §3 (the code point 54 that replaced the draft's 53).
        ConnectionId = 0x0036,
        RenegotiationInfo = 0xff01,
    }
}

iana_enum! {
    /// ECPointFormat (RFC 8422 §5.1.2).
    pub enum EcPointFormat: u8 {
        Uncompressed = 0x00,
    }
}

iana_enum! {
    /// PskKeyExchangeMode (RFC 8446 §4.2.9).
    pub enum PskKeyExchangeMode: u8 {
        /// PSK-only key establishment.
        PskKe = 0x00,
        /// PSK with (EC)DHE key establishment.
        PskDheKe = 0x01,
    }
}

iana_enum! {
    /// ClientCertificateType (RFC 5246 §7.4.4, RFC 8422 §5.5).
    pub enum ClientCertificateType: u8 {
        RsaSign = 0x01,
        EcdsaSign = 0x40,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_round_trip() {
        let v = CipherSuite::from(0x1234u16);
        assert_eq!(v, CipherSuite::Unknown(0x1234));
        assert_eq!(v.to_vec(), [0x12, 0x34]);
        assert_eq!(CipherSuite::read_all(&[0xc0, 0x2b]).unwrap(), CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
        assert_eq!(u8::from(AlertDescription::NoApplicationProtocol), 120);
    }

    #[test]
    fn dtls13_code_points() {
        for (t, n) in [
            (ExtensionType::SupportedVersions, 43u16),
            (ExtensionType::Cookie, 44),
            (ExtensionType::PskKeyExchangeModes, 45),
            (ExtensionType::SignatureAlgorithmsCert, 50),
            (ExtensionType::KeyShare, 51),
            (ExtensionType::ConnectionId, 54),
        ] {
            assert_eq!(ExtensionType::from(n), t);
            assert_eq!(u16::from(t), n);
        }
        // Constants, still `Unknown` for the 1.2 session's exhaustive matches.
        assert_eq!(ContentType::from(26), ContentType::ACK);
        assert_eq!(ContentType::ACK.to_vec(), [26]);
        assert_eq!(HandshakeType::from(8), HandshakeType::ENCRYPTED_EXTENSIONS);
        assert_eq!(HandshakeType::from(24), HandshakeType::KEY_UPDATE);
        assert_eq!(HandshakeType::from(254), HandshakeType::MESSAGE_HASH);
        assert!(matches!(HandshakeType::read_all(&[8]), Ok(HandshakeType::ENCRYPTED_EXTENSIONS)));
        assert!(matches!(HandshakeType::from(24), HandshakeType::Unknown(_)));
        assert_eq!(PskKeyExchangeMode::from(1), PskKeyExchangeMode::PskDheKe);
    }
}
