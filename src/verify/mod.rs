//! Deciding whether the peer's certificate chain is acceptable: the verifier traits an
//! application may implement, and the stock verifiers (CA roots through `rustls-webpki`,
//! fingerprint pinning, and the accept-anything ones for tests).
//!
//! This module owns the verification *policy*. It must never read the clock (callers pass
//! `now`), never trust a chain it did not verify (except the explicit `AcceptAny*` test
//! verifiers), and never panic on peer certificates. The peer's signatures over handshake
//! messages are checked in `crate::crypto::verify`.

use core::fmt;

use rustls_pki_types::{CertificateDer, UnixTime};

use crate::error::CertificateError;

mod fingerprint;
mod roots;

pub use fingerprint::{FingerprintVerifier, fingerprint_sha256};
pub use roots::{WebPkiClientVerifier, WebPkiServerVerifier};

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
