//! Certificate authentication in DTLS 1.3 (RFC 8446 §4.4.2, §4.4.3): the Certificate
//! message we send, the CertificateVerify we sign and the one we check. Path validation is
//! the verifier's (webpki); this checks the signature over the transcript.

use rand_core::RngCore;
use rustls_pki_types::CertificateDer;

use crate::crypto::verify::verify_signature;
use crate::error::{Error, PeerMisbehaved};
use crate::key::SigningKey;
use crate::registry::SignatureScheme;
use crate::wire::CertificateVerify;
use crate::wire::tls13::{Certificate, CertificateEntry};

/// RFC 8446 §4.2.3: RSASSA-PKCS1-v1_5 and SHA-1 schemes "MUST NOT be offered or negotiated"
/// for CertificateVerify in TLS 1.3 (they remain valid inside certificates).
pub fn allowed_in_verify(scheme: SignatureScheme) -> bool {
    use SignatureScheme as S;
    !matches!(
        scheme,
        S::RSA_PKCS1_SHA1 | S::ECDSA_SHA1 | S::RSA_PKCS1_SHA256 | S::RSA_PKCS1_SHA384 | S::RSA_PKCS1_SHA512
    )
}

/// RFC 8446 §4.4.3: the content a CertificateVerify signs — 64 spaces, the context string,
/// a zero byte, the transcript hash. DTLS 1.3 keeps TLS 1.3's context strings (RFC 9147
/// changes only the HKDF labels).
pub fn signed_content(server: bool, transcript_hash: &[u8]) -> Vec<u8> {
    let context: &[u8] =
        if server { b"TLS 1.3, server CertificateVerify" } else { b"TLS 1.3, client CertificateVerify" };
    let mut out = Vec::with_capacity(64 + context.len() + 1 + transcript_hash.len());
    out.extend_from_slice(&[0x20; 64]);
    out.extend_from_slice(context);
    out.push(0);
    out.extend_from_slice(transcript_hash);
    out
}

/// The body of our Certificate message (RFC 8446 §4.4.2), no per-entry extensions.
pub fn certificate_body(context: &[u8], chain: &[CertificateDer<'static>]) -> Vec<u8> {
    let msg = Certificate {
        certificate_request_context: context.to_vec(),
        certificate_list: chain
            .iter()
            .map(|c| CertificateEntry { cert_data: c.clone(), extensions: Vec::new() })
            .collect(),
    };
    crate::codec::Codec::to_vec(&msg)
}

/// The chain of a received Certificate message, leaf first.
pub fn chain_of(msg: Certificate) -> Vec<CertificateDer<'static>> {
    msg.certificate_list.into_iter().map(|e| e.cert_data).collect()
}

/// Sign the transcript with `key`, using the first of its schemes the peer `offered` that
/// DTLS 1.3 allows.
pub fn sign(
    key: &SigningKey,
    offered: &[SignatureScheme],
    server: bool,
    transcript_hash: &[u8],
    rng: &mut dyn RngCore,
) -> Result<CertificateVerify, Error> {
    let scheme = key
        .schemes()
        .iter()
        .copied()
        .find(|s| allowed_in_verify(*s) && offered.contains(s))
        .ok_or(crate::error::PeerIncompatible::NoCommonSignatureScheme)?;
    let signature = key.sign(scheme, &signed_content(server, transcript_hash), rng)?;
    Ok(CertificateVerify { scheme, signature })
}

/// Check the peer's CertificateVerify against the leaf of its chain: a scheme we accept and
/// 1.3 allows, and a signature over the transcript that verifies.
pub fn verify(
    cv: &CertificateVerify,
    accepted: &[SignatureScheme],
    leaf: &CertificateDer<'_>,
    server: bool,
    transcript_hash: &[u8],
) -> Result<(), Error> {
    if !accepted.contains(&cv.scheme) || !allowed_in_verify(cv.scheme) {
        return Err(PeerMisbehaved::UnofferedSignatureScheme.into());
    }
    verify_signature(cv.scheme, leaf, &signed_content(server, transcript_hash), &cv.signature)
}
