//! Compiled only under `#[cfg(test)]` (declared so by the parent module): unwraps here are test assertions.
//! Tests of `verify.rs`: signatures made by the OpenSSL CLI (tests/fixtures/keys, see its
//! README).

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/", $name))
    };
}

fn pem_cert(pem: &[u8]) -> CertificateDer<'static> {
    crate::crypto::load_certificates(pem).unwrap().remove(0)
}

#[test]
fn openssl_signatures_verify() {
    let message = fixture!("keys/message.txt");
    let cases: [(SignatureScheme, &[u8], &[u8]); 3] = [
        // A P-256 key signing SHA-384 and a P-384 key signing SHA-256: TLS 1.2 allows both.
        (SignatureScheme::ECDSA_NISTP384_SHA384, fixture!("keys/p256-cert.pem"), fixture!("keys/p256-sha384.sig")),
        (SignatureScheme::ECDSA_NISTP256_SHA256, fixture!("keys/p384-cert.pem"), fixture!("keys/p384-sha256.sig")),
        (
            SignatureScheme::RSA_PSS_RSAE_SHA256,
            fixture!("keys/rsa2048-cert.pem"),
            fixture!("keys/rsa2048-pss-sha256.sig"),
        ),
    ];
    for (scheme, cert, sig) in cases {
        assert_eq!(verify_signature(scheme, &pem_cert(cert), message, sig), Ok(()), "{scheme:?}");
    }
}

#[test]
fn signature_errors() {
    let message = fixture!("keys/message.txt");
    let p256 = pem_cert(fixture!("keys/p256-cert.pem"));
    let sig = fixture!("keys/p256-sha384.sig");
    let bad_sig = Err(Error::PeerMisbehaved(PeerMisbehaved::BadSignature));
    // Wrong key type for the scheme.
    assert_eq!(verify_signature(SignatureScheme::RSA_PKCS1_SHA384, &p256, message, sig), bad_sig);
    assert_eq!(verify_signature(SignatureScheme::ED25519, &p256, message, sig), bad_sig);
    // Corrupted signature; empty signature.
    let mut corrupt = sig.to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    assert_eq!(verify_signature(SignatureScheme::ECDSA_NISTP384_SHA384, &p256, message, &corrupt), bad_sig);
    assert_eq!(verify_signature(SignatureScheme::ECDSA_NISTP384_SHA384, &p256, message, &[]), bad_sig);
    // Schemes we never offer.
    for scheme in [
        SignatureScheme::RSA_PKCS1_SHA1,
        SignatureScheme::ECDSA_SHA1,
        SignatureScheme::ECDSA_NISTP521_SHA512,
        SignatureScheme::ED448,
        SignatureScheme::Unknown(0x0102),
    ] {
        assert_eq!(
            verify_signature(scheme, &p256, message, sig),
            Err(Error::PeerMisbehaved(PeerMisbehaved::UnofferedSignatureScheme))
        );
    }
    // Unparsable certificate.
    assert_eq!(
        verify_signature(SignatureScheme::ECDSA_NISTP256_SHA256, &CertificateDer::from(vec![0x30, 0x00]), message, sig),
        Err(Error::InvalidCertificate(CertificateError::BadEncoding))
    );
    // A 1024-bit RSA key: refused, never a panic, even though OpenSSL's signature is valid.
    let weak = pem_cert(fixture!("keys/rsa1024-cert.pem"));
    assert_eq!(
        verify_signature(SignatureScheme::RSA_PKCS1_SHA256, &weak, message, fixture!("keys/rsa1024-sha256.sig")),
        bad_sig
    );
}
