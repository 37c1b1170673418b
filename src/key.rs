//! Our private keys: loading them in every form OpenSSL writes, and signing handshake messages
//! (ServerKeyExchange, CertificateVerify) with them. Our certificate chains are loaded by
//! `crate::crypto::load_certificates`.
//!
//! This module owns our private keys and every `ring` signing call. It must never print or expose key material (`Debug`
//! shows the algorithm only), never draw randomness from anywhere but the RNG it is given, and
//! never sign with a scheme the key does not support.

use core::fmt;

use rand_core::RngCore;
use ring::rand::SecureRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

use crate::crypto::der;
use crate::error::Error;
use crate::registry::SignatureScheme;

/// The kind of a [`SigningKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 (secp256r1).
    EcdsaP256,
    /// ECDSA on P-384 (secp384r1).
    EcdsaP384,
    /// RSA, 2048 to 4096 bits.
    Rsa,
    /// Ed25519.
    Ed25519,
}

/// Object identifiers, as the DER content octets of the OID.
mod oid {
    /// id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480 §2.1.1).
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// secp256r1, 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1).
    pub const SECP256R1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// secp384r1, 1.3.132.0.34 (RFC 5480 §2.1.1.1).
    pub const SECP384R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    /// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 Appendix C).
    pub const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// id-Ed25519, 1.3.101.112 (RFC 8410 §3).
    pub const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
}

enum Inner {
    Ecdsa(EcdsaKeyPair, KeyAlgorithm),
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// One of our private keys, ready to sign.
pub struct SigningKey {
    inner: Inner,
}

fn config_err(msg: impl Into<String>) -> Error {
    Error::InvalidConfig(msg.into())
}

/// Ring's `SecureRandom` is sealed, so we pass `FixedByteRandom` (ring's hidden, deprecated
/// test helper) filled with one byte drawn from the session RNG. This is sound: ring hedges
/// the ECDSA nonce as `H(H(rand || private key) || rand || H(message))`, so nonces stay secret
/// and distinct per key and message even with constant `rand` (like RFC 6979). The RSA-PSS
/// salt becomes a constant string, which PSS permits (RFC 8017 §9.1: the salt may even be
/// empty); RSA-PKCS#1 and Ed25519 use no randomness. Signing stays deterministic in the seed.
#[allow(deprecated)]
fn ring_rng(byte: u8) -> impl SecureRandom {
    ring::test::rand::FixedByteRandom { byte }
}

impl SigningKey {
    /// Load a private key from PEM: PKCS#8 `PRIVATE KEY` (ECDSA P-256/P-384, RSA, Ed25519),
    /// SEC1 `EC PRIVATE KEY` (P-256/P-384, with its public key, as OpenSSL writes it) or PKCS#1
    /// `RSA PRIVATE KEY`. Other PEM sections (e.g. `EC PARAMETERS`) are skipped.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        match PrivateKeyDer::from_pem_slice(pem) {
            Ok(der) => Self::from_der(der),
            Err(_) if contains(pem, b"ENCRYPTED PRIVATE KEY") => {
                Err(config_err("encrypted private keys are not supported; decrypt it first"))
            }
            Err(e) => Err(config_err(format!("no usable private key in the PEM input: {e}"))),
        }
    }

    /// Load a private key from DER in any of the forms of [`PrivateKeyDer`].
    pub fn from_der(key: PrivateKeyDer<'_>) -> Result<Self, Error> {
        match key {
            PrivateKeyDer::Pkcs8(k) => Self::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Sec1(k) => Self::from_sec1(k.secret_sec1_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der())
                .map(|k| Self { inner: Inner::Rsa(k) })
                .map_err(|e| config_err(format!("RSA (PKCS#1) private key rejected: {e}"))),
            _ => Err(config_err("unsupported private key encoding")),
        }
    }

    /// RFC 5208 §5: `PrivateKeyInfo ::= SEQUENCE { version, privateKeyAlgorithm
    /// AlgorithmIdentifier, privateKey OCTET STRING, ... }`. We read the algorithm to pick the
    /// ring type, so errors name what went wrong.
    fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, Error> {
        let (alg, params) = pkcs8_algorithm(pkcs8).ok_or_else(|| config_err("malformed PKCS#8 private key"))?;
        let rejected =
            |what: &str, e: ring::error::KeyRejected| config_err(format!("{what} private key (PKCS#8) rejected: {e}"));
        let inner = match alg {
            oid::EC_PUBLIC_KEY => {
                let (ring_alg, kind) = if params == oid::SECP256R1 {
                    (&signature::ECDSA_P256_SHA256_ASN1_SIGNING, KeyAlgorithm::EcdsaP256)
                } else if params == oid::SECP384R1 {
                    (&signature::ECDSA_P384_SHA384_ASN1_SIGNING, KeyAlgorithm::EcdsaP384)
                } else {
                    return Err(config_err("unsupported EC curve (supported: P-256, P-384)"));
                };
                // The rng only blinds ring's nonce key, H(rand || d), which is secret anyway
                // because it covers the private key d; see `ring_rng`.
                let key = EcdsaKeyPair::from_pkcs8(ring_alg, pkcs8, &ring_rng(0)).map_err(|e| rejected("ECDSA", e))?;
                Inner::Ecdsa(key, kind)
            }
            oid::RSA_ENCRYPTION => Inner::Rsa(RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| rejected("RSA", e))?),
            // OpenSSL writes PKCS#8 v1 without the public key, which `from_pkcs8` refuses.
            oid::ED25519 => {
                Inner::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(|e| rejected("Ed25519", e))?)
            }
            _ => {
                return Err(config_err(
                    "unsupported private key algorithm (supported: ECDSA P-256/P-384, RSA, Ed25519)",
                ));
            }
        };
        Ok(Self { inner })
    }

    /// SEC1 (RFC 5915 §3): `ECPrivateKey ::= SEQUENCE { version INTEGER (1), privateKey OCTET
    /// STRING, parameters [0] ECParameters OPTIONAL, publicKey [1] BIT STRING OPTIONAL }`.
    ///
    /// ring loads ECDSA keys from PKCS#8 only, so wrap the SEC1 document unchanged as the
    /// `privateKey` of a PKCS#8 `PrivateKeyInfo` (RFC 5208 §5) whose AlgorithmIdentifier is
    /// id-ecPublicKey with the named curve (RFC 5915 §1, RFC 5480 §2.1.1).
    fn from_sec1(sec1: &[u8]) -> Result<Self, Error> {
        let malformed = || config_err("malformed SEC1 EC private key");
        let (body, rest) = der::expect_tlv(sec1, der::SEQUENCE).ok_or_else(malformed)?;
        if !rest.is_empty() {
            return Err(malformed());
        }
        let (_version, body) = der::expect_tlv(body, der::INTEGER).ok_or_else(malformed)?;
        let (private, mut body) = der::expect_tlv(body, der::OCTET_STRING).ok_or_else(malformed)?;
        let (mut curve, mut has_public) = (None, false);
        while !body.is_empty() {
            let (tag, value, rest) = der::read_tlv(body).ok_or_else(malformed)?;
            match tag {
                der::CONTEXT_0 => {
                    let (named, _) = der::expect_tlv(value, der::OID)
                        .ok_or_else(|| config_err("SEC1 EC key: only named curves are supported"))?;
                    curve = Some(named);
                }
                der::CONTEXT_1 => has_public = true,
                _ => return Err(malformed()),
            }
            body = rest;
        }
        // Without [0], infer the curve from the private key length (RFC 5915 §3: the key is
        // ceiling(log2(n)/8) octets).
        let curve = match (curve, private.len()) {
            (Some(c), _) => c,
            (None, 32) => oid::SECP256R1,
            (None, 48) => oid::SECP384R1,
            _ => return Err(config_err("SEC1 EC key: cannot tell its curve")),
        };
        if curve != oid::SECP256R1 && curve != oid::SECP384R1 {
            return Err(config_err("unsupported EC curve (supported: P-256, P-384)"));
        }
        if !has_public {
            return Err(config_err(
                "SEC1 EC key lacks its public key; re-export it with `openssl ec -in KEY -out KEY`",
            ));
        }

        let mut alg_id = Vec::with_capacity(24);
        der::write_tlv(&mut alg_id, der::OID, oid::EC_PUBLIC_KEY);
        der::write_tlv(&mut alg_id, der::OID, curve);
        let mut info = Vec::with_capacity(sec1.len() + 32);
        der::write_tlv(&mut info, der::INTEGER, &[0]); // version v1 (0)
        der::write_tlv(&mut info, der::SEQUENCE, &alg_id);
        der::write_tlv(&mut info, der::OCTET_STRING, sec1);
        let mut pkcs8 = zeroize::Zeroizing::new(Vec::with_capacity(info.len() + 4));
        der::write_tlv(&mut pkcs8, der::SEQUENCE, &info);
        zeroize::Zeroize::zeroize(&mut info);
        Self::from_pkcs8(&pkcs8)
    }

    /// The kind of key.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match &self.inner {
            Inner::Ecdsa(_, kind) => *kind,
            Inner::Rsa(_) => KeyAlgorithm::Rsa,
            Inner::Ed25519(_) => KeyAlgorithm::Ed25519,
        }
    }

    /// The schemes this key can sign with, in our order of preference.
    pub fn schemes(&self) -> &'static [SignatureScheme] {
        use SignatureScheme as S;
        match self.algorithm() {
            KeyAlgorithm::EcdsaP256 => &[S::ECDSA_NISTP256_SHA256],
            KeyAlgorithm::EcdsaP384 => &[S::ECDSA_NISTP384_SHA384],
            KeyAlgorithm::Rsa => &[
                S::RSA_PSS_RSAE_SHA256,
                S::RSA_PSS_RSAE_SHA384,
                S::RSA_PSS_RSAE_SHA512,
                S::RSA_PKCS1_SHA256,
                S::RSA_PKCS1_SHA384,
                S::RSA_PKCS1_SHA512,
            ],
            KeyAlgorithm::Ed25519 => &[S::ED25519],
        }
    }

    /// The first of our schemes that the peer offered (RFC 5246 §7.4.1.4.1,
    /// `signature_algorithms`), or `None` if there is none in common.
    pub fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<SignatureScheme> {
        self.schemes().iter().copied().find(|s| offered.contains(s))
    }

    /// Sign `message` with `scheme`, which must be one of [`Self::schemes`].
    ///
    /// ECDSA signatures are DER `Ecdsa-Sig-Value`s (RFC 8422 §5.4), RSA ones are the modulus
    /// length (RFC 5246 §4.7), Ed25519 ones 64 bytes (RFC 8422 §5.4).
    pub fn sign(&self, scheme: SignatureScheme, message: &[u8], rng: &mut dyn RngCore) -> Result<Vec<u8>, Error> {
        if !self.schemes().contains(&scheme) {
            return Err(Error::Crypto("signature scheme does not match the key"));
        }
        let mut byte = [0u8; 1];
        rng.fill_bytes(&mut byte);
        let rand = ring_rng(byte[0]);
        let failed = |_| Error::Crypto("signing failed");
        match &self.inner {
            Inner::Ecdsa(key, _) => Ok(key.sign(&rand, message).map_err(failed)?.as_ref().to_vec()),
            Inner::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
            Inner::Rsa(key) => {
                use SignatureScheme as S;
                let padding: &'static dyn signature::RsaEncoding = match scheme {
                    S::RSA_PSS_RSAE_SHA256 => &signature::RSA_PSS_SHA256,
                    S::RSA_PSS_RSAE_SHA384 => &signature::RSA_PSS_SHA384,
                    S::RSA_PSS_RSAE_SHA512 => &signature::RSA_PSS_SHA512,
                    S::RSA_PKCS1_SHA256 => &signature::RSA_PKCS1_SHA256,
                    S::RSA_PKCS1_SHA384 => &signature::RSA_PKCS1_SHA384,
                    S::RSA_PKCS1_SHA512 => &signature::RSA_PKCS1_SHA512,
                    _ => return Err(Error::Crypto("signature scheme does not match the key")),
                };
                let mut sig = vec![0u8; key.public().modulus_len()];
                key.sign(padding, &rand, message, &mut sig).map_err(failed)?;
                Ok(sig)
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("algorithm", &self.algorithm()).finish_non_exhaustive()
    }
}

/// The AlgorithmIdentifier of a PKCS#8 document: `(algorithm OID, parameters)`, where the
/// parameters are the content of an OID parameter (the named curve) or empty.
fn pkcs8_algorithm(pkcs8: &[u8]) -> Option<(&[u8], &[u8])> {
    let (info, _) = der::expect_tlv(pkcs8, der::SEQUENCE)?;
    let (_version, info) = der::expect_tlv(info, der::INTEGER)?;
    let (alg_id, _) = der::expect_tlv(info, der::SEQUENCE)?;
    let (alg, params) = der::expect_tlv(alg_id, der::OID)?;
    let params = der::expect_tlv(params, der::OID).map_or(&[][..], |(curve, _)| curve);
    Some((alg, params))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
#[path = "key_tests.rs"]
mod tests;
