//! Verifying the peer's signatures over handshake messages (ServerKeyExchange,
//! CertificateVerify) with the public key of its end-entity certificate.
//!
//! This module owns the mapping from TLS signature schemes to `rustls-webpki` algorithms and
//! the list of schemes we accept. It never panics on a peer's certificate or signature.
//! Certificate *chains* are judged by the verifiers of the top-level `verify` module.

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm};
use webpki::EndEntityCert;
use webpki::ring as alg;

use crate::error::{CertificateError, Error, PeerMisbehaved};
use crate::registry::SignatureScheme;

/// The webpki algorithms that can check a signature made with `scheme`.
///
/// RFC 5246 §7.4.1.4.1 (TLS 1.2) does not bind the ECDSA hash to a curve, so
/// `ecdsa_secp256r1_sha256` may come from a P-384 key and vice versa: both are listed.
/// `rsa_pss_rsae_*` (RFC 8446 §4.2.3, usable in TLS 1.2 per RFC 8446 §1.3) is PSS with an
/// rsaEncryption key, which webpki calls `*_LEGACY_KEY`.
fn algorithms_for(scheme: SignatureScheme) -> &'static [&'static dyn SignatureVerificationAlgorithm] {
    use SignatureScheme as S;
    match scheme {
        S::ECDSA_NISTP256_SHA256 => &ECDSA_SHA256,
        S::ECDSA_NISTP384_SHA384 => &ECDSA_SHA384,
        S::RSA_PKCS1_SHA256 => &RSA_PKCS1_SHA256,
        S::RSA_PKCS1_SHA384 => &RSA_PKCS1_SHA384,
        S::RSA_PKCS1_SHA512 => &RSA_PKCS1_SHA512,
        S::RSA_PSS_RSAE_SHA256 => &RSA_PSS_SHA256,
        S::RSA_PSS_RSAE_SHA384 => &RSA_PSS_SHA384,
        S::RSA_PSS_RSAE_SHA512 => &RSA_PSS_SHA512,
        S::ED25519 => &ED25519,
        _ => &[],
    }
}

type Alg = &'static dyn SignatureVerificationAlgorithm;
static ECDSA_SHA256: [Alg; 2] = [alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256];
static ECDSA_SHA384: [Alg; 2] = [alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384];
static RSA_PKCS1_SHA256: [Alg; 1] = [alg::RSA_PKCS1_2048_8192_SHA256];
static RSA_PKCS1_SHA384: [Alg; 1] = [alg::RSA_PKCS1_2048_8192_SHA384];
static RSA_PKCS1_SHA512: [Alg; 1] = [alg::RSA_PKCS1_2048_8192_SHA512];
static RSA_PSS_SHA256: [Alg; 1] = [alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY];
static RSA_PSS_SHA384: [Alg; 1] = [alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY];
static RSA_PSS_SHA512: [Alg; 1] = [alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY];
static ED25519: [Alg; 1] = [alg::ED25519];

/// The signature schemes [`verify_signature`] supports, in our order of preference (what we
/// put in `signature_algorithms`).
pub const SUPPORTED_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::ECDSA_NISTP256_SHA256,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ED25519,
    SignatureScheme::RSA_PSS_RSAE_SHA256,
    SignatureScheme::RSA_PSS_RSAE_SHA384,
    SignatureScheme::RSA_PSS_RSAE_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
];

/// Check the peer's `signature` over `message` with the public key of its `end_entity`
/// certificate (ServerKeyExchange, RFC 5246 §7.4.3; CertificateVerify, §7.4.8).
///
/// Errors: a scheme we do not support is `PeerMisbehaved::UnofferedSignatureScheme` (we never
/// offer one); a signature that does not verify, or a key that does not fit the scheme (or an
/// RSA key under 2048 bits), is `PeerMisbehaved::BadSignature`; an unparsable certificate is
/// `CertificateError::BadEncoding`.
pub fn verify_signature(
    scheme: SignatureScheme,
    end_entity: &CertificateDer<'_>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let algorithms = algorithms_for(scheme);
    if algorithms.is_empty() {
        return Err(PeerMisbehaved::UnofferedSignatureScheme.into());
    }
    let cert = EndEntityCert::try_from(end_entity).map_err(|_| CertificateError::BadEncoding)?;
    if algorithms.iter().any(|alg| cert.verify_signature(*alg, message, signature).is_ok()) {
        Ok(())
    } else {
        Err(PeerMisbehaved::BadSignature.into())
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
