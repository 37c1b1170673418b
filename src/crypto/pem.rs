//! Certificates in and out: loading a chain given as PEM (RFC 7468) or DER, and PEM
//! encoding for display and export. PEM decoding itself is done by `rustls-pki-types`.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::crypto::der;
use crate::error::Error;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                let sextet = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(ALPHABET.get(sextet).map_or('=', |c| char::from(*c)));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `-----BEGIN <label>-----`, base64 in 64-column lines, `-----END <label>-----`.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Load certificates: PEM with one or more `CERTIFICATE` blocks (other sections skipped), or a
/// single DER certificate.
pub fn load_certificates(pem_or_der: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    if pem_or_der.first() == Some(&der::SEQUENCE) {
        // One DER certificate: a single SEQUENCE spanning the whole input.
        return match der::read_tlv(pem_or_der) {
            Some((_, _, [])) => Ok(vec![CertificateDer::from(pem_or_der.to_vec())]),
            _ => Err(Error::InvalidConfig("malformed DER certificate".into())),
        };
    }
    let certs = CertificateDer::pem_slice_iter(pem_or_der)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::InvalidConfig(format!("malformed PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(Error::InvalidConfig("no CERTIFICATE found in the PEM input".into()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn pem_round_trips_through_pki_types() {
        let der: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let pem = encode("CERTIFICATE", &der);
        let back = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        assert_eq!(back.as_ref(), &der[..]);
    }

    #[test]
    fn certificates_load_from_pem_and_der() {
        let p256 = include_bytes!("../../tests/fixtures/keys/p256-cert.pem");
        let p256_der = include_bytes!("../../tests/fixtures/keys/p256-cert.der");
        let chain = [&p256[..], b"\n", &include_bytes!("../../tests/fixtures/chain/server.pem")[..]].concat();
        let certs = load_certificates(&chain).unwrap();
        assert_eq!(certs.len(), 2);
        let der = load_certificates(p256_der).unwrap();
        assert_eq!(der, vec![certs[0].clone()]);
        assert!(load_certificates(&p256_der[..100]).is_err());
        assert!(load_certificates(include_bytes!("../../tests/fixtures/keys/p256-pkcs8.pem")).is_err());
        assert!(load_certificates(b"").is_err());
    }
}
