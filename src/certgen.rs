//! Self-signed ECDSA P-256 certificates for WebRTC-style peers that authenticate by
//! fingerprint (feature `rcgen`). Randomness comes from rcgen's key generation (the OS),
//! which is fine for key material created once, outside any session.

use rustls_pki_types::CertificateDer;

use crate::error::Error;
use crate::verify::fingerprint_sha256;

/// A fresh certificate, its private key, and its SHA-256 fingerprint.
#[derive(Clone)]
pub struct SelfSignedCertificate {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The PKCS#8 private key, PEM.
    pub key_pem: String,
    /// The certificate, DER.
    pub cert_der: CertificateDer<'static>,
    /// `sha-256 AB:CD:...`, as in an SDP `a=fingerprint` line.
    pub fingerprint: String,
}

impl core::fmt::Debug for SelfSignedCertificate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SelfSignedCertificate").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

/// Make a self-signed ECDSA P-256 certificate valid for `names` (DNS names or IPs).
pub fn generate_self_signed(names: &[&str]) -> Result<SelfSignedCertificate, Error> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| Error::InvalidConfig(format!("certificate generation failed: {e}")))?;
    let cert_der = certified.cert.der().clone();
    Ok(SelfSignedCertificate {
        cert_pem: certified.cert.pem(),
        key_pem: certified.signing_key.serialize_pem(),
        fingerprint: fingerprint_sha256(&cert_der),
        cert_der,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_loads_and_matches_its_fingerprint() {
        let c = generate_self_signed(&["localhost"]).unwrap();
        let loaded = crate::crypto::load_certificates(c.cert_pem.as_bytes()).unwrap();
        assert_eq!(loaded[0], c.cert_der);
        let key = crate::key::SigningKey::from_pem(c.key_pem.as_bytes()).unwrap();
        assert_eq!(key.algorithm(), crate::key::KeyAlgorithm::EcdsaP256);
        assert!(crate::verify::FingerprintVerifier::new(&c.fingerprint).is_ok());
    }
}
