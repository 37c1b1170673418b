//! Verifying the peer: its signatures over handshake messages, and its certificate chain.
//!
//! This module owns the mapping from TLS signature schemes to `rustls-webpki` algorithms, the
//! verifier traits a user may implement, and the stock verifiers built on `rustls-webpki`. It
//! must never read the clock (callers pass `now`), never trust a chain it did not verify
//! (except the explicit `AcceptAny*` test verifiers), and never panic on peer certificates.

use core::fmt;

use rustls_pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use webpki::ring as alg;
use webpki::{EndEntityCert, KeyUsage};

use crate::error::{CertificateError, Error, PeerMisbehaved};
use crate::wire::SignatureScheme;

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

/// Decides whether a server's certificate chain is acceptable. Implement it to plug in your own
/// policy (pinning, a private PKI, ...).
pub trait ServerCertVerifier: Send + Sync + fmt::Debug {
    /// Verify `chain` (end-entity first, then intermediates, as sent in Certificate, RFC 5246
    /// §7.4.2) at time `now`, for `server_name` (a DNS name or an IP address literal) if given.
    ///
    /// When [`requires_server_name`](Self::requires_server_name) is true, the client
    /// configuration guarantees `server_name` is `Some` (a valid DNS name or IP address),
    /// unless it was built with
    /// [`dangerous_skip_server_name_check`](crate::ClientConfigBuilder::dangerous_skip_server_name_check),
    /// which passes `None`.
    fn verify_server_cert(
        &self,
        chain: &[CertificateDer<'_>],
        server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<(), CertificateError>;

    /// Whether this verifier authenticates the server by name, so that a client
    /// configuration without a `server_name` must be refused (as a CA-issued certificate
    /// proves nothing until its name is checked). Defaults to `false`: right for verifiers
    /// that identify the server otherwise (fingerprint pinning, an allow-list of keys).
    /// Return `true` from a verifier that checks certificate chains against CAs.
    fn requires_server_name(&self) -> bool {
        false
    }
}

/// Decides whether a client's certificate chain is acceptable.
pub trait ClientCertVerifier: Send + Sync + fmt::Debug {
    /// Verify `chain` (end-entity first) at time `now`.
    fn verify_client_cert(&self, chain: &[CertificateDer<'_>], now: UnixTime) -> Result<(), CertificateError>;
}

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

/// Accepts any non-empty server chain. For tests only: it authenticates nobody.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAnyServerCert;

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        chain: &[CertificateDer<'_>],
        _server_name: Option<&str>,
        _now: UnixTime,
    ) -> Result<(), CertificateError> {
        if chain.is_empty() { Err(CertificateError::BadEncoding) } else { Ok(()) }
    }
}

/// Accepts any non-empty client chain. For tests only: it authenticates nobody.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAnyClientCert;

impl ClientCertVerifier for AcceptAnyClientCert {
    fn verify_client_cert(&self, chain: &[CertificateDer<'_>], _now: UnixTime) -> Result<(), CertificateError> {
        if chain.is_empty() { Err(CertificateError::BadEncoding) } else { Ok(()) }
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
