//! The client's configuration and its builder: how the server is authenticated (roots,
//! a pinned fingerprint or a verifier of the application's, and the name it must be valid
//! for), the client certificate, and session resumption.

use std::sync::Arc;

use rustls_pki_types::{CertificateDer, UnixTime};

use super::common::{CommonBuilder, CommonConfig};
use super::setters::common_setters;
use crate::crypto::load_certificates;
use crate::error::{CertificateError, Error};
use crate::key::SigningKey;
use crate::verify::{AcceptAnyServerCert, FingerprintVerifier, ServerCertVerifier, WebPkiServerVerifier};

/// Client configuration. A clone shares its random generator and session store.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub(crate) common: CommonConfig,
    pub(crate) server_name: Option<String>,
    pub(crate) verifier: Arc<dyn ServerCertVerifier>,
    pub(crate) certificate: Option<(Vec<CertificateDer<'static>>, Arc<SigningKey>)>,
    pub(crate) srtp_mki: Vec<u8>,
    pub(crate) session_store: Option<Arc<crate::resumption::ClientSessionStore>>,
    pub(crate) reverify_on_resume: bool,
}

impl ClientConfig {
    /// Start building a client configuration.
    pub fn builder() -> ClientConfigBuilder {
        ClientConfigBuilder {
            common: CommonBuilder::default(),
            server_name: None,
            verifier: None,
            verifier_from_roots: false,
            skip_server_name_check: false,
            certificate: None,
            srtp_mki: Vec::new(),
            session_store: None,
            reverify_on_resume: false,
        }
    }

    /// This configuration with every connection ID it asks for starting with `prefix`
    /// (the length stays), or `None` when it asks for none, when `prefix` leaves fewer than
    /// `random` bytes random, or when an application generator makes them: how a
    /// multi-worker endpoint's `connect` makes CIDs that name the worker it runs on.
    #[cfg(any(feature = "std-net", feature = "tokio"))]
    pub(crate) fn with_connection_id_prefix(&self, prefix: &[u8], random: usize) -> Option<Arc<ClientConfig>> {
        let policy = self.common.connection_ids.as_ref()?;
        if policy.len < prefix.len() + random {
            return None;
        }
        let mut config = self.clone();
        config.common.connection_ids = Some(policy.with_prefix(prefix).ok()?);
        Some(Arc::new(config))
    }
}

/// Builds a [`ClientConfig`].
///
/// Server authentication is required: give root certificates
/// ([`root_certificates_pem`](Self::root_certificates_pem),
/// [`root_certificates`](Self::root_certificates)), a pinned fingerprint
/// ([`pin_fingerprint`](Self::pin_fingerprint)) or a [`verifier`](Self::verifier). With root
/// certificates (or any verifier whose
/// [`requires_server_name`](ServerCertVerifier::requires_server_name) is true) the server's
/// certificate must also be valid for [`server_name`](Self::server_name), and `build` fails
/// without one, unless [`dangerous_skip_server_name_check`](Self::dangerous_skip_server_name_check)
/// was called.
pub struct ClientConfigBuilder {
    common: CommonBuilder,
    server_name: Option<String>,
    verifier: Option<Arc<dyn ServerCertVerifier>>,
    /// The verifier came from `root_certificates*` (for the wording of build errors).
    verifier_from_roots: bool,
    skip_server_name_check: bool,
    certificate: Option<(Vec<CertificateDer<'static>>, Arc<SigningKey>)>,
    srtp_mki: Vec<u8>,
    session_store: Option<Arc<crate::resumption::ClientSessionStore>>,
    reverify_on_resume: bool,
}

impl ClientConfigBuilder {
    common_setters!();

    /// Accept exactly the server certificate with this SHA-256 fingerprint, in the SDP
    /// `a=fingerprint` form `sha-256 AB:CD:...` (WebRTC-style pinning; no CA involved).
    pub fn pin_fingerprint(mut self, fingerprint: &str) -> Result<Self, Error> {
        self.verifier = Some(Arc::new(FingerprintVerifier::new(fingerprint)?));
        self.verifier_from_roots = false;
        Ok(self)
    }

    /// The SRTP master key identifier offered in use_srtp (RFC 5764 §4.1.1; default none).
    pub fn srtp_mki(mut self, mki: &[u8]) -> Self {
        if mki.len() > 255 {
            self.common.fail(Error::InvalidConfig("SRTP MKI longer than 255 bytes".into()));
        }
        self.srtp_mki = mki.to_vec();
        self
    }

    /// Trust these CA certificates (PEM, one or more) for the server's chain. A self-signed
    /// server certificate given here is trusted directly, as OpenSSL does. The certificate
    /// must also be valid for [`server_name`](Self::server_name), which is then required.
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let roots = load_certificates(pem)?;
        self.verifier = Some(Arc::new(WebPkiServerVerifier::new(roots)?));
        self.verifier_from_roots = true;
        Ok(self)
    }

    /// Trust these CA certificates (DER). As with
    /// [`root_certificates_pem`](Self::root_certificates_pem), a
    /// [`server_name`](Self::server_name) is then required.
    pub fn root_certificates(mut self, roots: Vec<CertificateDer<'static>>) -> Result<Self, Error> {
        self.verifier = Some(Arc::new(WebPkiServerVerifier::new(roots)?));
        self.verifier_from_roots = true;
        Ok(self)
    }

    /// Verify the server with a verifier of your own. A [`server_name`](Self::server_name) is
    /// required when the verifier's
    /// [`requires_server_name`](ServerCertVerifier::requires_server_name) says so.
    pub fn verifier(mut self, v: Arc<dyn ServerCertVerifier>) -> Self {
        self.verifier = Some(v);
        self.verifier_from_roots = false;
        self
    }

    /// Accept any server certificate. For tests only: this removes all authentication.
    pub fn dangerous_accept_any_server_certificate(mut self) -> Self {
        self.verifier = Some(Arc::new(AcceptAnyServerCert));
        self.verifier_from_roots = false;
        self
    }

    /// The name the server certificate must be valid for (DNS name or IP address literal,
    /// checked against its subjectAltName); DNS names are also sent as server_name (SNI).
    /// Required with root certificates; `build` refuses a name that is neither.
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_string());
        self
    }

    /// Do not check that the server's certificate is valid for a name: with root
    /// certificates, any certificate those CAs issued for any name is then accepted, so
    /// anyone holding one can impersonate the server. Only for a private CA that issues
    /// certificates to nothing but the servers you mean to reach.
    ///
    /// The chain, its validity and usage are still verified; a
    /// [`server_name`](Self::server_name), if given, is still sent as SNI but not checked
    /// (the verifier is passed `None`). Prefer `server_name` with the real host name, or
    /// [`pin_fingerprint`](Self::pin_fingerprint).
    pub fn dangerous_skip_server_name_check(mut self) -> Self {
        self.skip_server_name_check = true;
        self
    }

    /// Resume sessions (RFC 5246 §7.3 abbreviated handshake): each session made with this
    /// configuration offers the session `store` holds for its server (by session ID, or by
    /// an RFC 5077 ticket, which it always asks for), and stores the session its handshake
    /// establishes. Off by default. A resumed session skips certificate exchange and key
    /// agreement; [`Session::is_resumed`](crate::Session::is_resumed) tells which happened.
    pub fn resumption(mut self, store: Arc<crate::resumption::ClientSessionStore>) -> Self {
        self.session_store = Some(store);
        self
    }

    /// Verify the server's certificate chain again, with this configuration's verifier and
    /// the current time, when a session is resumed (default off: a resumed session was
    /// authenticated by its full handshake, and the server sends no certificate). A chain
    /// that no longer verifies (expired, or refused by a verifier that changed its mind)
    /// fails the handshake as it would a full one.
    pub fn reverify_on_resume(mut self, on: bool) -> Self {
        self.reverify_on_resume = on;
        self
    }

    /// A client certificate chain and key (PEM), sent when the server asks for one.
    pub fn client_certificate_pem(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        let chain = load_certificates(chain_pem)?;
        let key = SigningKey::from_pem(key_pem)?;
        self.certificate = Some((chain, Arc::new(key)));
        Ok(self)
    }

    /// A client certificate chain and key.
    pub fn client_certificate(mut self, chain: Vec<CertificateDer<'static>>, key: SigningKey) -> Self {
        self.certificate = Some((chain, Arc::new(key)));
        self
    }

    /// Validate and freeze the configuration.
    pub fn build(self) -> Result<Arc<ClientConfig>, Error> {
        let mut verifier = self.verifier.ok_or_else(|| {
            Error::InvalidConfig("no server verification: give root certificates or a verifier".into())
        })?;
        if self.skip_server_name_check {
            verifier = Arc::new(SkipServerName(verifier));
        } else if verifier.requires_server_name() {
            check_server_name(self.server_name.as_deref(), self.verifier_from_roots)?;
        }
        if let Some((chain, _)) = &self.certificate
            && chain.is_empty()
        {
            return Err(Error::InvalidConfig("empty client certificate chain".into()));
        }
        let common = self.common.build()?;
        Ok(Arc::new(ClientConfig {
            common,
            server_name: self.server_name,
            verifier,
            certificate: self.certificate,
            srtp_mki: self.srtp_mki,
            session_store: self.session_store,
            reverify_on_resume: self.reverify_on_resume,
        }))
    }
}

/// With a verifier that needs it, the name must be there and be a DNS name or an IP address.
fn check_server_name(name: Option<&str>, from_roots: bool) -> Result<(), Error> {
    let Some(name) = name else {
        let what = if from_roots { "root certificates given" } else { "the server certificate verifier checks names" };
        return Err(Error::InvalidConfig(format!(
            "{what} but no server_name: call server_name() with the host name (or IP address) the \
             server's certificate must be valid for, or call dangerous_skip_server_name_check()"
        )));
    };
    match rustls_pki_types::ServerName::try_from(name) {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::InvalidConfig(format!("server_name {name:?} is neither a DNS name nor an IP address"))),
    }
}

/// What `dangerous_skip_server_name_check` installs: the wrapped verifier never sees a name.
#[derive(Debug)]
struct SkipServerName(Arc<dyn ServerCertVerifier>);

impl ServerCertVerifier for SkipServerName {
    fn verify_server_cert(
        &self,
        chain: &[CertificateDer<'_>],
        _server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<(), CertificateError> {
        self.0.verify_server_cert(chain, None, now)
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
