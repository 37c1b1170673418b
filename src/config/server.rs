//! The server's configuration and its builder: its certificates (a default one and one per
//! SNI name), client authentication, the HelloVerifyRequest cookie (RFC 6347 §4.2.1), and
//! session resumption by session ID (RFC 5246 §7.4.1.2) and ticket (RFC 5077).

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;

use super::common::{CommonBuilder, CommonConfig};
use super::setters::common_setters;
use crate::crypto::load_certificates;
use crate::error::Error;
use crate::key::SigningKey;
use crate::verify::{ClientCertVerifier, WebPkiClientVerifier};

/// Whether and how a server authenticates clients.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// Do not ask for a client certificate.
    None,
    /// Ask; accept a client that sends none.
    Optional(Arc<dyn ClientCertVerifier>),
    /// Ask; refuse a client that sends none (handshake_failure).
    Required(Arc<dyn ClientCertVerifier>),
}

/// Server configuration.
///
/// A clone shares all the state the configuration keeps: its random generator, the
/// session-ID cache, the ticket keys and the HelloVerifyRequest cookie key; so a ticket
/// issued under one clone opens under another (see
/// [`ServerConfig::with_connection_id_prefix`]).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub(crate) common: CommonConfig,
    /// The default certificate and key.
    pub(crate) identity: Identity,
    /// Certificates chosen by the client's server_name (exact, case-insensitive match).
    pub(crate) sni_identities: Vec<(String, Identity)>,
    pub(crate) client_auth: ClientAuth,
    pub(crate) cookie: bool,
    /// The HelloVerifyRequest cookie key, made once from a random secret (ring keeps the
    /// HMAC pads, so a ClientHello costs no key setup; the secret itself is not kept).
    pub(crate) cookie_key: ring::hmac::Key,
    /// A cookie secret shared with other servers (`cookie_secret`), for the endpoints.
    pub(crate) cookie_secret: Option<Arc<zeroize::Zeroizing<[u8; 32]>>>,
    /// Session-ID cache and ticket keys for resumption (shared by clones).
    pub(crate) resumption: Arc<crate::resumption::ServerResumption>,
    /// The application's choice of ALPN protocol, instead of `common.alpn_protocols`.
    pub(crate) alpn_selector: Option<Arc<dyn super::AlpnSelector>>,
}

/// A certificate chain with its private key.
#[derive(Debug, Clone)]
pub struct Identity {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: Arc<SigningKey>,
}

impl ServerConfig {
    /// Start building a server configuration.
    pub fn builder() -> ServerConfigBuilder {
        ServerConfigBuilder {
            common: CommonBuilder::default(),
            identity: None,
            sni_identities: Vec::new(),
            client_auth: ClientAuth::None,
            cookie: true,
            session_cache: DEFAULT_SESSION_CACHE,
            session_tickets: true,
            ticket_secret: None,
            cookie_secret: None,
            session_lifetime: DEFAULT_SESSION_LIFETIME,
            alpn_selector: None,
        }
    }

    /// This configuration with every connection ID it asks for starting with `prefix`
    /// instead of the configured prefix (the length stays): for servers that share one
    /// address, each routing by its own prefix (the adapters' workers extend the configured
    /// prefix by a worker byte). Everything else is shared with `self`, as in a clone: the
    /// random generator, the session-ID cache, the ticket keys and the cookie key.
    ///
    /// Fails with [`Error::InvalidConfig`] when `connection_ids` was not configured, when
    /// `prefix` is longer than the configured connection ID length, or when the connection
    /// IDs come from a [`ConnectionIdGenerator`](crate::ConnectionIdGenerator).
    pub fn with_connection_id_prefix(&self, prefix: &[u8]) -> Result<Arc<ServerConfig>, Error> {
        let Some(policy) = &self.common.connection_ids else {
            return Err(Error::InvalidConfig("connection ID prefix without connection_ids".into()));
        };
        let mut config = self.clone();
        config.common.connection_ids = Some(policy.with_prefix(prefix)?);
        Ok(Arc::new(config))
    }

    /// The identity for the client's server_name: an SNI-specific one, else the default.
    pub(crate) fn identity_for(&self, server_name: Option<&str>) -> &Identity {
        server_name
            .and_then(|n| self.sni_identities.iter().find(|(name, _)| name.eq_ignore_ascii_case(n)))
            .map(|(_, id)| id)
            .unwrap_or(&self.identity)
    }
}

/// Builds a [`ServerConfig`].
pub struct ServerConfigBuilder {
    common: CommonBuilder,
    identity: Option<(Vec<CertificateDer<'static>>, SigningKey)>,
    sni_identities: Vec<(String, Identity)>,
    client_auth: ClientAuth,
    cookie: bool,
    session_cache: usize,
    session_tickets: bool,
    ticket_secret: Option<zeroize::Zeroizing<[u8; 32]>>,
    cookie_secret: Option<zeroize::Zeroizing<[u8; 32]>>,
    session_lifetime: Duration,
    alpn_selector: Option<Arc<dyn super::AlpnSelector>>,
}

/// Sessions a server keeps for resumption by session ID unless configured otherwise.
pub const DEFAULT_SESSION_CACHE: usize = 1024;

/// How long a session may be resumed unless configured otherwise (two hours).
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

impl ServerConfigBuilder {
    common_setters!();

    /// The server's certificate chain (PEM, leaf first) and private key (PEM: PKCS#8,
    /// SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
    pub fn certificate_pem(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        let chain = load_certificates(chain_pem)?;
        let key = SigningKey::from_pem(key_pem)?;
        self.identity = Some((chain, key));
        Ok(self)
    }

    /// The server's certificate chain (DER, leaf first) and key.
    pub fn certificate(mut self, chain: Vec<CertificateDer<'static>>, key: SigningKey) -> Self {
        self.identity = Some((chain, key));
        self
    }

    /// An extra certificate chain and key (PEM), used when the client's server_name (SNI)
    /// equals `name` (case-insensitive).
    pub fn sni_certificate_pem(mut self, name: &str, chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        let chain = load_certificates(chain_pem)?;
        if chain.is_empty() {
            return Err(Error::InvalidConfig("empty certificate chain".into()));
        }
        let key = Arc::new(SigningKey::from_pem(key_pem)?);
        self.sni_identities.push((name.to_string(), Identity { chain, key }));
        Ok(self)
    }

    /// Require a client certificate issued by one of these CAs (PEM).
    pub fn require_client_certificate_pem(mut self, ca_pem: &[u8]) -> Result<Self, Error> {
        let roots = load_certificates(ca_pem)?;
        self.client_auth = ClientAuth::Required(Arc::new(WebPkiClientVerifier::new(roots)?));
        Ok(self)
    }

    /// Set the client authentication policy.
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// Whether to run the HelloVerifyRequest cookie exchange (default on).
    pub fn cookie(mut self, on: bool) -> Self {
        self.cookie = on;
        self
    }

    /// How many sessions to keep for resumption by session ID (RFC 5246 §7.4.1.2; default
    /// [`DEFAULT_SESSION_CACHE`]; 0 turns the cache off and ServerHellos carry an empty
    /// session ID). The oldest session is forgotten first. The cache is shared by every
    /// session made with this configuration.
    pub fn session_cache(mut self, capacity: usize) -> Self {
        self.session_cache = capacity;
        self
    }

    /// Derive the cookie secrets (the DTLS 1.2 HelloVerifyRequest and DTLS 1.3
    /// HelloRetryRequest cookies) from `secret`, by wall-clock period (the endpoint's cookie
    /// rotation), instead of drawing them: every endpoint, process or machine configured with
    /// the same secret (and a clock within a period) accepts the cookies the others issue, so
    /// a balancer may send a client's second ClientHello to another server. A cookie still
    /// proves only the client's address, as before.
    pub fn cookie_secret(mut self, secret: [u8; 32]) -> Self {
        self.cookie_secret = Some(zeroize::Zeroizing::new(secret));
        self
    }

    /// Derive the session ticket keys (RFC 5077) from `secret` instead of drawing them: every
    /// server configured with the same secret seals and opens the same tickets (keys rotate
    /// with the wall clock, every session lifetime, the previous one still accepted), so a
    /// client resumes on any of them, behind a load balancer that sends it elsewhere. Keep
    /// the secret as secret as the servers' private keys: it opens every ticket.
    pub fn session_ticket_secret(mut self, secret: [u8; 32]) -> Self {
        self.ticket_secret = Some(zeroize::Zeroizing::new(secret));
        self
    }

    /// Whether to issue RFC 5077 session tickets to clients that ask for them (default on).
    /// Tickets are sealed with AES-256-GCM under a key drawn from this configuration's RNG
    /// and replaced every session lifetime; a ticket opens under the current and the
    /// previous key only.
    pub fn session_tickets(mut self, on: bool) -> Self {
        self.session_tickets = on;
        self
    }

    /// How long after its full handshake a session may be resumed (default
    /// [`DEFAULT_SESSION_LIFETIME`], at least one second), by session ID or ticket; also the
    /// ticket key rotation period and the lifetime hint sent with tickets.
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }

    /// Let `selector` choose the application protocol from each client's ALPN offer
    /// (RFC 7301), instead of a preference list ([`alpn_protocols`](Self::alpn_protocols);
    /// `build` refuses both). See [`AlpnSelector`](crate::AlpnSelector).
    pub fn alpn_selector(mut self, selector: Arc<dyn super::AlpnSelector>) -> Self {
        self.alpn_selector = Some(selector);
        self
    }

    /// Validate and freeze the configuration.
    pub fn build(self) -> Result<Arc<ServerConfig>, Error> {
        let (chain, key) = self.identity.ok_or_else(|| Error::InvalidConfig("server needs a certificate".into()))?;
        if chain.is_empty() {
            return Err(Error::InvalidConfig("empty certificate chain".into()));
        }
        let common = self.common.build()?;
        if self.alpn_selector.is_some() && !common.alpn_protocols.is_empty() {
            return Err(Error::InvalidConfig("alpn_protocols and alpn_selector: one of them chooses".into()));
        }
        let mut cookie_secret = zeroize::Zeroizing::new([0u8; 32]);
        // One fork of the configuration's RNG for the server's own secrets (the cookie key
        // first, then the ticket keys), so sessions draw the same streams as before.
        let mut own = common.session_rng();
        rand_core::RngCore::fill_bytes(&mut own, &mut *cookie_secret);
        // With a shared secret, a standalone session's key comes from it too.
        if let Some(shared) = &self.cookie_secret {
            let tag = ring::hmac::sign(
                &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &shared[..]),
                b"dtls-engine session cookie",
            );
            cookie_secret.copy_from_slice(tag.as_ref());
        }
        let cookie_key = crate::cookie::key(&cookie_secret);
        let lifetime = u32::try_from(self.session_lifetime.as_secs()).unwrap_or(u32::MAX).max(1);
        let tickets = match (self.session_tickets, self.ticket_secret) {
            (false, _) => None,
            (true, Some(secret)) => Some(
                crate::resumption::TicketKeys::shared(*secret, own.fork(), u64::from(lifetime))
                    .ok_or(Error::Crypto("ticket key"))?,
            ),
            (true, None) => Some(
                crate::resumption::TicketKeys::new(own.fork(), u64::from(lifetime))
                    .ok_or(Error::Crypto("ticket key"))?,
            ),
        };
        let cache =
            (self.session_cache > 0).then(|| Arc::new(crate::resumption::SessionCache::new(self.session_cache)));
        Ok(Arc::new(ServerConfig {
            common,
            identity: Identity { chain, key: Arc::new(key) },
            sni_identities: self.sni_identities,
            client_auth: self.client_auth,
            cookie: self.cookie,
            cookie_key,
            cookie_secret: self.cookie_secret.map(Arc::new),
            resumption: Arc::new(crate::resumption::ServerResumption { cache, tickets, lifetime }),
            alpn_selector: self.alpn_selector,
        }))
    }
}
