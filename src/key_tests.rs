//! Compiled only under `#[cfg(test)]` (declared so by the parent module): unwraps here are test assertions.
//! Tests of `key.rs` with keys the OpenSSL CLI wrote (tests/fixtures/keys, see its README).

use rustls_pki_types::CertificateDer;

use super::*;
use crate::crypto::load_certificates;
use crate::crypto::rng::DetRng;
use crate::crypto::verify::verify_signature;
use crate::error::PeerMisbehaved;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../tests/fixtures/keys/", $name))
    };
}

fn cert(pem: &[u8]) -> CertificateDer<'static> {
    load_certificates(pem).unwrap().remove(0)
}

/// (key file, its certificate, expected algorithm)
fn fixtures() -> Vec<(&'static str, &'static [u8], &'static [u8], KeyAlgorithm)> {
    vec![
        ("p256-pkcs8", fixture!("p256-pkcs8.pem"), fixture!("p256-cert.pem"), KeyAlgorithm::EcdsaP256),
        ("p256-sec1", fixture!("p256-sec1.pem"), fixture!("p256-sec1-cert.pem"), KeyAlgorithm::EcdsaP256),
        ("p384-sec1", fixture!("p384-sec1.pem"), fixture!("p384-cert.pem"), KeyAlgorithm::EcdsaP384),
        ("p384-pkcs8", fixture!("p384-pkcs8.pem"), fixture!("p384-cert.pem"), KeyAlgorithm::EcdsaP384),
        ("rsa-pkcs1", fixture!("rsa2048-pkcs1.pem"), fixture!("rsa2048-pkcs1-cert.pem"), KeyAlgorithm::Rsa),
        ("rsa-pkcs8", fixture!("rsa2048-pkcs8.pem"), fixture!("rsa2048-cert.pem"), KeyAlgorithm::Rsa),
        ("ed25519", fixture!("ed25519-pkcs8.pem"), fixture!("ed25519-cert.pem"), KeyAlgorithm::Ed25519),
    ]
}

#[test]
fn every_openssl_form_loads_signs_and_verifies() {
    let mut rng = DetRng::from_seed([2; 32]);
    let message = b"ServerKeyExchange params";
    for (name, key_pem, cert_pem, algorithm) in fixtures() {
        let key = SigningKey::from_pem(key_pem).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(key.algorithm(), algorithm, "{name}");
        let cert = cert(cert_pem);
        for &scheme in key.schemes() {
            let sig = key.sign(scheme, message, &mut rng).unwrap();
            verify_signature(scheme, &cert, message, &sig).unwrap_or_else(|e| panic!("{name} {scheme:?}: {e}"));
            assert_eq!(
                verify_signature(scheme, &cert, b"another message", &sig),
                Err(PeerMisbehaved::BadSignature.into()),
                "{name} {scheme:?}"
            );
        }
    }
}

#[test]
fn ecdsa_signatures_are_der() {
    let key = SigningKey::from_pem(fixture!("p256-pkcs8.pem")).unwrap();
    let mut rng = DetRng::from_seed([0; 32]);
    let sig = key.sign(SignatureScheme::ECDSA_NISTP256_SHA256, b"m", &mut rng).unwrap();
    // Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
    let (body, rest) = der::expect_tlv(&sig, der::SEQUENCE).unwrap();
    assert!(rest.is_empty());
    let (_, body) = der::expect_tlv(body, der::INTEGER).unwrap();
    let (_, body) = der::expect_tlv(body, der::INTEGER).unwrap();
    assert!(body.is_empty());
}

#[test]
fn signing_is_deterministic_in_the_rng() {
    for (name, key_pem, _, _) in fixtures() {
        let key = SigningKey::from_pem(key_pem).unwrap();
        let scheme = key.schemes()[0];
        let a = key.sign(scheme, b"m", &mut DetRng::from_seed([1; 32])).unwrap();
        let b = key.sign(scheme, b"m", &mut DetRng::from_seed([1; 32])).unwrap();
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn choose_scheme_takes_our_first_offered() {
    use SignatureScheme as S;
    let rsa = SigningKey::from_pem(fixture!("rsa2048-pkcs1.pem")).unwrap();
    assert_eq!(
        rsa.choose_scheme(&[S::RSA_PKCS1_SHA512, S::RSA_PSS_RSAE_SHA384, S::ED25519]),
        Some(S::RSA_PSS_RSAE_SHA384)
    );
    assert_eq!(rsa.choose_scheme(&[S::RSA_PKCS1_SHA1, S::ECDSA_NISTP256_SHA256]), None);
    let p384 = SigningKey::from_pem(fixture!("p384-sec1.pem")).unwrap();
    assert_eq!(p384.choose_scheme(&[S::ECDSA_NISTP256_SHA256]), None);
    assert_eq!(p384.schemes(), &[S::ECDSA_NISTP384_SHA384]);
}

#[test]
fn signing_with_a_foreign_scheme_fails() {
    let key = SigningKey::from_pem(fixture!("ed25519-pkcs8.pem")).unwrap();
    let mut rng = DetRng::from_seed([0; 32]);
    assert!(key.sign(SignatureScheme::ECDSA_NISTP256_SHA256, b"m", &mut rng).is_err());
}

fn config_error(pem: &[u8]) -> String {
    match SigningKey::from_pem(pem) {
        Err(Error::InvalidConfig(msg)) => msg,
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn unusable_keys_are_config_errors() {
    assert!(config_error(fixture!("p256-sec1-nopub.pem")).contains("public key"));
    assert!(config_error(fixture!("rsa1024-pkcs1.pem")).contains("RSA"));
    assert!(config_error(b"not a key").contains("no usable private key"));
    assert!(config_error(fixture!("p256-cert.pem")).contains("no usable private key"));
    let encrypted = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert!(config_error(encrypted).contains("encrypted"));
    let garbage = b"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n";
    assert!(config_error(garbage).contains("PKCS#8"));
    let garbage = b"-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n";
    assert!(config_error(garbage).contains("SEC1"));
}

#[test]
fn from_der_accepts_pkcs8_from_rcgen() {
    let generated = rcgen::KeyPair::generate().unwrap();
    let der = PrivateKeyDer::try_from(generated.serialize_der()).unwrap();
    let key = SigningKey::from_der(der).unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256);
    assert!(format!("{key:?}").contains("EcdsaP256"));
}
