//! Verifying a chain against a set of trusted roots with `rustls-webpki`: path building,
//! signatures, validity period (RFC 5280 §4.1.2.5), extended key usage and, for servers, the
//! name in its subjectAltName.

use core::fmt;

use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::error::{CertificateError, Error};
use crate::verify::{ClientCertVerifier, ServerCertVerifier};

/// Trust anchors shared by the two webpki verifiers.
struct Roots {
    certs: Vec<CertificateDer<'static>>,
    anchors: Vec<TrustAnchor<'static>>,
}

impl Roots {
    fn new(certs: Vec<CertificateDer<'static>>) -> Result<Self, Error> {
        if certs.is_empty() {
            return Err(Error::InvalidConfig("no root certificates given".into()));
        }
        let anchors = certs
            .iter()
            .map(|c| webpki::anchor_from_trusted_cert(c).map(|a| a.to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::InvalidConfig(format!("unusable root certificate: {e}")))?;
        Ok(Self { certs, anchors })
    }

    /// Verify the chain for `usage`, then the name if given.
    fn verify(
        &self,
        chain: &[CertificateDer<'_>],
        usage: KeyUsage,
        server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<(), CertificateError> {
        let (leaf, intermediates) = chain.split_first().ok_or(CertificateError::BadEncoding)?;
        let name = server_name.map(parse_name).transpose()?;
        let cert = EndEntityCert::try_from(leaf).map_err(map_webpki_error)?;

        // Our spec: a self-signed server (or client) certificate given as the trust root is
        // trusted as is, as OpenSSL and node do. rustls-webpki would refuse it when it is
        // CA:TRUE (`CaUsedAsEndEntity`). Its validity period and name are still checked.
        if self.certs.iter().any(|root| root.as_ref() == leaf.as_ref()) {
            check_validity(leaf, now)?;
        } else {
            cert.verify_for_usage(webpki::ALL_VERIFICATION_ALGS, &self.anchors, intermediates, now, usage, None, None)
                .map_err(map_webpki_error)?;
        }
        // webpki's name check reads the subjectAltName only; it does not look at the CA flag.
        match name {
            Some(name) => cert.verify_is_valid_for_subject_name(&name).map_err(map_webpki_error),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Roots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Roots").field("count", &self.certs.len()).finish()
    }
}

fn parse_name(name: &str) -> Result<ServerName<'static>, CertificateError> {
    ServerName::try_from(name).map(|n| n.to_owned()).map_err(|_| CertificateError::NotValidForName)
}

/// RFC 5280 §4.1.2.5: the certificate is valid from notBefore to notAfter, inclusive.
fn check_validity(cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), CertificateError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|_| CertificateError::BadEncoding)?;
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let validity = parsed.validity();
    if now < validity.not_before.timestamp() {
        Err(CertificateError::NotValidYet)
    } else if now > validity.not_after.timestamp() {
        Err(CertificateError::Expired)
    } else {
        Ok(())
    }
}

/// Map rustls-webpki's reasons onto ours.
fn map_webpki_error(e: webpki::Error) -> CertificateError {
    use webpki::Error as W;
    match e {
        W::CertExpired { .. } | W::InvalidCertValidity => CertificateError::Expired,
        W::CertNotValidYet { .. } => CertificateError::NotValidYet,
        W::UnknownIssuer => CertificateError::UnknownIssuer,
        W::CertNotValidForName(_) => CertificateError::NotValidForName,
        W::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        W::BadDer
        | W::BadDerTime
        | W::TrailingData(_)
        | W::UnsupportedCertVersion
        | W::MalformedExtensions
        | W::ExtensionValueInvalid
        | W::UnsupportedCriticalExtension
        | W::InvalidSerialNumber => CertificateError::BadEncoding,
        W::UnsupportedSignatureAlgorithmContext(_) | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            CertificateError::UnsupportedKey
        }
        other => CertificateError::Other(format!("{other}")),
    }
}

/// Verifies server chains against a set of roots with rustls-webpki (path building, signatures,
/// validity, the serverAuth extended key usage, and the server name). It
/// [requires a server name](ServerCertVerifier::requires_server_name): called directly with
/// `None`, it checks the chain only.
#[derive(Debug)]
pub struct WebPkiServerVerifier {
    roots: Roots,
}

impl WebPkiServerVerifier {
    /// A verifier trusting `roots` (DER certificates). Errors if there are none or one cannot
    /// be used as a trust anchor.
    pub fn new(roots: Vec<CertificateDer<'static>>) -> Result<Self, Error> {
        Ok(Self { roots: Roots::new(roots)? })
    }
}

impl ServerCertVerifier for WebPkiServerVerifier {
    fn verify_server_cert(
        &self,
        chain: &[CertificateDer<'_>],
        server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<(), CertificateError> {
        self.roots.verify(chain, KeyUsage::server_auth(), server_name, now)
    }

    /// Always `true`: any certificate the roots issued would pass without the name check.
    fn requires_server_name(&self) -> bool {
        true
    }
}

/// Verifies client chains against a set of roots with rustls-webpki (as
/// [`WebPkiServerVerifier`], with the clientAuth usage and no name).
#[derive(Debug)]
pub struct WebPkiClientVerifier {
    roots: Roots,
}

impl WebPkiClientVerifier {
    /// A verifier trusting `roots` (DER certificates).
    pub fn new(roots: Vec<CertificateDer<'static>>) -> Result<Self, Error> {
        Ok(Self { roots: Roots::new(roots)? })
    }
}

impl ClientCertVerifier for WebPkiClientVerifier {
    fn verify_client_cert(&self, chain: &[CertificateDer<'_>], now: UnixTime) -> Result<(), CertificateError> {
        self.roots.verify(chain, KeyUsage::client_auth(), None, now)
    }
}

#[cfg(test)]
#[path = "roots_tests.rs"]
mod tests;
