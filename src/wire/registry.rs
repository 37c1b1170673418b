//! IANA registries as enums with an `Unknown` arm, so every value round-trips and nothing
//! panics on a code point we do not know.

use crate::codec::{Codec, Reader};
use crate::error::InvalidMessage;

macro_rules! registry {
    (
        $(#[$meta:meta])*
        pub enum $name:ident: $repr:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(non_camel_case_types)]
        #[non_exhaustive]
        #[allow(non_camel_case_types)] // IANA names, as in the registries
        pub enum $name {
            $( $(#[$vmeta])* #[doc = concat!("Code point `", stringify!($value), "`.")] $variant, )*
            /// A code point this implementation does not know.
            Unknown($repr),
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                match v {
                    $( $value => Self::$variant, )*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                match v {
                    $( $name::$variant => $value, )*
                    $name::Unknown(other) => other,
                }
            }
        }

        impl Codec for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                $repr::from(*self).encode(out)
            }
            fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
                Ok(Self::from($repr::read(r)?))
            }
        }
    };
}

registry! {
    /// TLS ContentType (RFC 5246 §6.2.1).
    pub enum ContentType: u8 {
        ChangeCipherSpec = 0x14,
        Alert = 0x15,
        Handshake = 0x16,
        ApplicationData = 0x17,
    }
}

registry! {
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

registry! {
    /// AlertLevel (RFC 5246 §7.2).
    pub enum AlertLevel: u8 {
        Warning = 0x01,
        Fatal = 0x02,
    }
}

registry! {
    /// AlertDescription (RFC 5246 §7.2, RFC 7301 §3.2).
    pub enum AlertDescription: u8 {
        CloseNotify = 0x00,
        UnexpectedMessage = 0x0a,
        BadRecordMac = 0x14,
        RecordOverflow = 0x16,
        DecompressionFailure = 0x1e,
        HandshakeFailure = 0x28,
        BadCertificate = 0x2a,
        UnsupportedCertificate = 0x2b,
        CertificateRevoked = 0x2c,
        CertificateExpired = 0x2d,
        CertificateUnknown = 0x2e,
        IllegalParameter = 0x2f,
        UnknownCa = 0x30,
        AccessDenied = 0x31,
        DecodeError = 0x32,
        DecryptError = 0x33,
        ProtocolVersion = 0x46,
        InsufficientSecurity = 0x47,
        InternalError = 0x50,
        UserCanceled = 0x5a,
        NoRenegotiation = 0x64,
        UnsupportedExtension = 0x6e,
        UnrecognizedName = 0x70,
        NoApplicationProtocol = 0x78,
    }
}

registry! {
    /// CipherSuite (IANA TLS Cipher Suites registry).
    pub enum CipherSuite: u16 {
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xc02b,
        TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = 0xc02c,
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xc02f,
        TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xc030,
        TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xcca8,
        TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = 0xcca9,
        /// RFC 5746 §3.3 signalling value.
        TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff,
    }
}

registry! {
    /// NamedGroup (RFC 8422 §5.1.1, RFC 7919).
    pub enum NamedGroup: u16 {
        Secp256r1 = 0x0017,
        Secp384r1 = 0x0018,
        Secp521r1 = 0x0019,
        X25519 = 0x001d,
        X448 = 0x001e,
    }
}

registry! {
    /// SignatureScheme (RFC 8446 §4.2.3; in TLS 1.2 the (hash, signature) pair of RFC 5246
    /// §7.4.1.4.1 occupies the same two bytes).
    pub enum SignatureScheme: u16 {
        RSA_PKCS1_SHA1 = 0x0201,
        ECDSA_SHA1 = 0x0203,
        RSA_PKCS1_SHA256 = 0x0401,
        ECDSA_NISTP256_SHA256 = 0x0403,
        RSA_PKCS1_SHA384 = 0x0501,
        ECDSA_NISTP384_SHA384 = 0x0503,
        RSA_PKCS1_SHA512 = 0x0601,
        ECDSA_NISTP521_SHA512 = 0x0603,
        RSA_PSS_RSAE_SHA256 = 0x0804,
        RSA_PSS_RSAE_SHA384 = 0x0805,
        RSA_PSS_RSAE_SHA512 = 0x0806,
        ED25519 = 0x0807,
        ED448 = 0x0808,
    }
}

registry! {
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
        RenegotiationInfo = 0xff01,
    }
}

registry! {
    /// SRTPProtectionProfile (RFC 5764 §4.1.2, RFC 7714 §14.2).
    pub enum SrtpProtectionProfile: u16 {
        SRTP_AES128_CM_SHA1_80 = 0x0001,
        SRTP_AES128_CM_SHA1_32 = 0x0002,
        SRTP_AEAD_AES_128_GCM = 0x0007,
        SRTP_AEAD_AES_256_GCM = 0x0008,
    }
}

registry! {
    /// ECPointFormat (RFC 8422 §5.1.2).
    pub enum EcPointFormat: u8 {
        Uncompressed = 0x00,
    }
}

registry! {
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
}
