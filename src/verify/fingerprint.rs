//! Certificate fingerprint pinning in the form WebRTC uses in SDP (`a=fingerprint:sha-256
//! AB:CD:...`, RFC 8122 §5): the peer is accepted when its leaf certificate's SHA-256
//! equals the pinned value, whatever its issuer. Never consults a CA.

use ring::digest::{SHA256, digest};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::error::{CertificateError, Error};
use crate::verify::{ClientCertVerifier, ServerCertVerifier};

/// The SHA-256 fingerprint of a certificate as `sha-256 AB:CD:...` (uppercase hex).
pub fn fingerprint_sha256(cert: &CertificateDer<'_>) -> String {
    let digest = digest(&SHA256, cert.as_ref());
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    format!("sha-256 {}", hex.join(":"))
}

/// Accepts exactly the certificate whose SHA-256 fingerprint was pinned; any other is
/// refused with [`CertificateError::FingerprintMismatch`] (alert bad_certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerprintVerifier {
    sha256: [u8; 32],
}

impl FingerprintVerifier {
    /// Parse `sha-256 AB:CD:...` (the algorithm name and separator are case-insensitive;
    /// `sha-256:AB..`, `sha256 AB..` and bare hex with or without colons are accepted).
    pub fn new(fingerprint: &str) -> Result<Self, Error> {
        let s = fingerprint.trim();
        let lower = s.to_ascii_lowercase();
        let hex_part = ["sha-256", "sha256"]
            .iter()
            .find_map(|p| lower.strip_prefix(p))
            .map(|rest| rest.trim_start_matches([' ', ':', '=']))
            .unwrap_or(&lower);
        let digits: String = hex_part.chars().filter(|c| *c != ':').collect();
        let bad = || Error::InvalidConfig(format!("not a SHA-256 fingerprint: {fingerprint}"));
        if digits.len() != 64 {
            return Err(bad());
        }
        let mut sha256 = [0u8; 32];
        for (i, out) in sha256.iter_mut().enumerate() {
            let pair = digits.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            *out = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Self { sha256 })
    }

    fn check(&self, chain: &[CertificateDer<'_>]) -> Result<(), CertificateError> {
        let leaf = chain.first().ok_or(CertificateError::BadEncoding)?;
        let digest = digest(&SHA256, leaf.as_ref());
        if crate::crypto::ct_eq(digest.as_ref(), &self.sha256) {
            Ok(())
        } else {
            Err(CertificateError::FingerprintMismatch)
        }
    }
}

impl ServerCertVerifier for FingerprintVerifier {
    fn verify_server_cert(
        &self,
        chain: &[CertificateDer<'_>],
        _server_name: Option<&str>,
        _now: UnixTime,
    ) -> Result<(), CertificateError> {
        self.check(chain)
    }
}

impl ClientCertVerifier for FingerprintVerifier {
    fn verify_client_cert(&self, chain: &[CertificateDer<'_>], _now: UnixTime) -> Result<(), CertificateError> {
        self.check(chain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sdp_forms_and_pins() {
        let cert = CertificateDer::from(vec![1u8, 2, 3]);
        let fp = fingerprint_sha256(&cert);
        assert!(fp.starts_with("sha-256 ") && fp.len() == 8 + 95);
        let v = FingerprintVerifier::new(&fp).unwrap();
        assert!(v.check(std::slice::from_ref(&cert)).is_ok());
        let bare = fp.trim_start_matches("sha-256 ").replace(':', "").to_lowercase();
        assert_eq!(FingerprintVerifier::new(&bare).unwrap(), v);
        assert_eq!(FingerprintVerifier::new(&format!("SHA-256:{}", &fp[8..])).unwrap(), v);
        assert_eq!(v.check(&[CertificateDer::from(vec![9u8])]), Err(CertificateError::FingerprintMismatch));
        assert!(v.check(&[]).is_err());
        assert!(FingerprintVerifier::new("sha-256 AB:CD").is_err());
        assert!(FingerprintVerifier::new(&"Z".repeat(64)).is_err());
    }
}
