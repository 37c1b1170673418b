//! The cipher suites we implement (AEAD only, ECDHE only) and their parameters and names.

use crate::crypto::aead::AeadAlgorithm;
use crate::crypto::prf::PrfHash;
use crate::wire::CipherSuite;

/// Which certificate/key type a suite authenticates the server with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    Ecdsa,
    Rsa,
}

/// Everything the engine needs to know about one suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuiteInfo {
    pub suite: CipherSuite,
    pub aead: AeadAlgorithm,
    pub prf: PrfHash,
    pub auth: AuthKind,
    /// IANA name, e.g. `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`.
    pub iana_name: &'static str,
    /// OpenSSL name, e.g. `ECDHE-ECDSA-AES128-GCM-SHA256`.
    pub openssl_name: &'static str,
}

macro_rules! suite {
    ($s:ident, $aead:ident, $prf:ident, $auth:ident, $ossl:literal) => {
        SuiteInfo {
            suite: CipherSuite::$s,
            aead: AeadAlgorithm::$aead,
            prf: PrfHash::$prf,
            auth: AuthKind::$auth,
            iana_name: stringify!($s),
            openssl_name: $ossl,
        }
    };
}

/// All supported suites, in our default order of preference.
pub static ALL_SUITES: &[SuiteInfo] = &[
    suite!(TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, Aes128Gcm, Sha256, Ecdsa, "ECDHE-ECDSA-AES128-GCM-SHA256"),
    suite!(TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, Aes256Gcm, Sha384, Ecdsa, "ECDHE-ECDSA-AES256-GCM-SHA384"),
    suite!(
        TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        Chacha20Poly1305,
        Sha256,
        Ecdsa,
        "ECDHE-ECDSA-CHACHA20-POLY1305"
    ),
    suite!(TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, Aes128Gcm, Sha256, Rsa, "ECDHE-RSA-AES128-GCM-SHA256"),
    suite!(TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, Aes256Gcm, Sha384, Rsa, "ECDHE-RSA-AES256-GCM-SHA384"),
    suite!(TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, Chacha20Poly1305, Sha256, Rsa, "ECDHE-RSA-CHACHA20-POLY1305"),
];

/// Parameters of a supported suite.
pub fn lookup(suite: CipherSuite) -> Option<&'static SuiteInfo> {
    ALL_SUITES.iter().find(|s| s.suite == suite)
}

/// A suite by IANA or OpenSSL name (case-insensitive).
pub fn by_name(name: &str) -> Option<&'static SuiteInfo> {
    ALL_SUITES.iter().find(|s| s.iana_name.eq_ignore_ascii_case(name) || s.openssl_name.eq_ignore_ascii_case(name))
}

/// A DTLS 1.3 cipher suite (RFC 8446 §B.4): only the AEAD and the HKDF hash; key exchange
/// and authentication are negotiated apart from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite13 {
    pub suite: CipherSuite,
    pub aead: AeadAlgorithm,
    pub hash: crate::crypto::tls13::Hash,
    /// IANA name, which OpenSSL uses too for 1.3 suites.
    pub iana_name: &'static str,
}

/// All supported DTLS 1.3 suites, in our default order of preference.
pub static ALL_SUITES13: &[Suite13] = &[
    Suite13 {
        suite: CipherSuite::TLS_AES_128_GCM_SHA256,
        aead: AeadAlgorithm::Aes128Gcm,
        hash: crate::crypto::tls13::Hash::Sha256,
        iana_name: "TLS_AES_128_GCM_SHA256",
    },
    Suite13 {
        suite: CipherSuite::TLS_AES_256_GCM_SHA384,
        aead: AeadAlgorithm::Aes256Gcm,
        hash: crate::crypto::tls13::Hash::Sha384,
        iana_name: "TLS_AES_256_GCM_SHA384",
    },
    Suite13 {
        suite: CipherSuite::TLS_CHACHA20_POLY1305_SHA256,
        aead: AeadAlgorithm::Chacha20Poly1305,
        hash: crate::crypto::tls13::Hash::Sha256,
        iana_name: "TLS_CHACHA20_POLY1305_SHA256",
    },
];

/// Parameters of a supported DTLS 1.3 suite.
pub fn lookup13(suite: CipherSuite) -> Option<&'static Suite13> {
    ALL_SUITES13.iter().find(|s| s.suite == suite)
}

/// A DTLS 1.3 suite by IANA name (case-insensitive).
pub fn by_name13(name: &str) -> Option<&'static Suite13> {
    ALL_SUITES13.iter().find(|s| s.iana_name.eq_ignore_ascii_case(name))
}
