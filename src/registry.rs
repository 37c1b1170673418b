//! The IANA code points an application names: alerts, cipher suites, key exchange groups,
//! signature schemes and DTLS-SRTP protection profiles. Each is an enum with an `Unknown`
//! arm, so every value converts to and from its integer without loss and nothing panics on a
//! code point this implementation does not know.
//!
//! This module owns the names and numbers only. It depends on no other module of the crate;
//! the byte encoding (`Codec`) of these types lives in `wire`, next to the code points only
//! the protocol uses (content and handshake types, extension types, ...).

/// Declares a registry enum: its named code points, an `Unknown` arm, and the conversions to
/// and from the integer type that carries it on the wire.
macro_rules! iana_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident: $repr:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    };
}
pub(crate) use iana_enum;

iana_enum! {
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
        MissingExtension = 0x6d,
        UnsupportedExtension = 0x6e,
        UnrecognizedName = 0x70,
        CertificateRequired = 0x74,
        NoApplicationProtocol = 0x78,
    }
}

iana_enum! {
    /// CipherSuite (IANA TLS Cipher Suites registry).
    pub enum CipherSuite: u16 {
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xc02b,
        TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = 0xc02c,
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xc02f,
        TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xc030,
        TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xcca8,
        TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = 0xcca9,
        /// TLS 1.3 / DTLS 1.3 only (RFC 8446 §B.4).
        TLS_AES_128_GCM_SHA256 = 0x1301,
        /// TLS 1.3 / DTLS 1.3 only (RFC 8446 §B.4).
        TLS_AES_256_GCM_SHA384 = 0x1302,
        /// TLS 1.3 / DTLS 1.3 only (RFC 8446 §B.4).
        TLS_CHACHA20_POLY1305_SHA256 = 0x1303,
        /// RFC 5746 §3.3 signalling value.
        TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff,
    }
}

iana_enum! {
    /// NamedGroup (RFC 8422 §5.1.1, RFC 7919).
    pub enum NamedGroup: u16 {
        Secp256r1 = 0x0017,
        Secp384r1 = 0x0018,
        Secp521r1 = 0x0019,
        X25519 = 0x001d,
        X448 = 0x001e,
        /// The hybrid of ML-KEM-768 and X25519 (draft-ietf-tls-ecdhe-mlkem §3); TLS 1.3 only.
        X25519MLKEM768 = 0x11ec,
    }
}

iana_enum! {
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

iana_enum! {
    /// SRTPProtectionProfile (RFC 5764 §4.1.2, RFC 7714 §14.2).
    pub enum SrtpProtectionProfile: u16 {
        SRTP_AES128_CM_SHA1_80 = 0x0001,
        SRTP_AES128_CM_SHA1_32 = 0x0002,
        SRTP_AEAD_AES_128_GCM = 0x0007,
        SRTP_AEAD_AES_256_GCM = 0x0008,
    }
}

/// A DTLS protocol version this engine speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// DTLS 1.2 (RFC 6347).
    Dtls12,
    /// DTLS 1.3 (RFC 9147).
    Dtls13,
}

impl ProtocolVersion {
    /// The name node:dtls and OpenSSL report: `DTLSv1.2` or `DTLSv1.3`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dtls12 => "DTLSv1.2",
            Self::Dtls13 => "DTLSv1.3",
        }
    }

    /// The version by name: `1.2`, `1.3`, `DTLSv1.2`, `DTLSv1.3` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "1.2" | "dtlsv1.2" | "dtls1.2" | "dtls1_2" => Some(Self::Dtls12),
            "1.3" | "dtlsv1.3" | "dtls1.3" | "dtls1_3" => Some(Self::Dtls13),
            _ => None,
        }
    }
}

impl NamedGroup {
    /// The group's usual name: `X25519MLKEM768`, `X25519`, `P-256`, `P-384`, `P-521`,
    /// `X448`; `None` for a code point without one here.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::X25519MLKEM768 => "X25519MLKEM768",
            Self::X25519 => "X25519",
            Self::Secp256r1 => "P-256",
            Self::Secp384r1 => "P-384",
            Self::Secp521r1 => "P-521",
            Self::X448 => "X448",
            Self::Unknown(_) => return None,
        })
    }
}
