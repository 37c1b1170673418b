//! Client and server configuration: validated once by a builder, then shared as `Arc`.
//! Owns every knob (suites, groups, MTU, timers, caps, certificates, verifiers, RNG seed,
//! wall clock for certificate validity); never changes after `build()`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls_pki_types::{CertificateDer, UnixTime};

use crate::crypto::kx;
use crate::crypto::rng::DetRng;
use crate::crypto::sign::{SigningKey, load_certificates};
use crate::crypto::verify::{
    AcceptAnyServerCert, ClientCertVerifier, ServerCertVerifier, WebPkiClientVerifier, WebPkiServerVerifier,
};
use crate::error::{CertificateError, Error};
use crate::extensions::srtp;
use crate::keylog::KeyLog;
use crate::suites::{self, SuiteInfo};
use crate::wire::{NamedGroup, SignatureScheme, SrtpProtectionProfile};

/// Default path MTU: the largest datagram we send.
pub const DEFAULT_MTU: usize = 1200;
/// Smallest MTU we accept.
pub const MIN_MTU: usize = 256;
/// Largest MTU we accept.
pub const MAX_MTU: usize = 65535;

/// Signature schemes we can verify, in the order we offer them (RFC 5246 §7.4.1.4.1).
pub use crate::crypto::verify::SUPPORTED_SCHEMES as VERIFY_SCHEMES;

/// Default key exchange groups, in preference order.
pub static DEFAULT_GROUPS: &[NamedGroup] = &[NamedGroup::X25519, NamedGroup::Secp256r1, NamedGroup::Secp384r1];

/// A source of wall-clock time, used only to check certificate validity periods.
pub type TimeSource = Arc<dyn Fn() -> UnixTime + Send + Sync>;

/// Settings shared by both roles.
pub struct CommonConfig {
    pub(crate) suites: Vec<&'static SuiteInfo>,
    pub(crate) groups: Vec<NamedGroup>,
    /// The signature schemes accepted from the peer, in preference order.
    pub(crate) verify_schemes: Vec<SignatureScheme>,
    pub(crate) mtu: usize,
    pub(crate) initial_rto: Duration,
    pub(crate) max_rto: Duration,
    pub(crate) handshake_timeout: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) require_ems: bool,
    pub(crate) max_message_len: usize,
    pub(crate) max_reassembly_bytes: usize,
    pub(crate) max_early_records: usize,
    pub(crate) max_queued: usize,
    pub(crate) time: TimeSource,
    pub(crate) alpn_protocols: Vec<Vec<u8>>,
    pub(crate) srtp_profiles: Vec<SrtpProtectionProfile>,
    /// Fail the handshake unless an SRTP profile is agreed (RFC 5764 §4.1.1).
    pub(crate) require_srtp: bool,
    pub(crate) key_log: Option<Arc<dyn KeyLog>>,
    rng: Mutex<DetRng>,
}

impl core::fmt::Debug for CommonConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CommonConfig")
            .field("suites", &self.suites.iter().map(|s| s.iana_name).collect::<Vec<_>>())
            .field("groups", &self.groups)
            .field("mtu", &self.mtu)
            .field("initial_rto", &self.initial_rto)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("require_ems", &self.require_ems)
            .field("alpn_protocols", &self.alpn_protocols)
            .field("srtp_profiles", &self.srtp_profiles)
            .field("require_srtp", &self.require_srtp)
            .finish_non_exhaustive()
    }
}

impl CommonConfig {
    /// A fresh RNG for one session: forked from the configured (possibly seeded) generator,
    /// so seeded configurations give reproducible sessions in creation order.
    pub(crate) fn session_rng(&self) -> DetRng {
        match self.rng.lock() {
            Ok(mut g) => g.fork(),
            Err(poisoned) => poisoned.into_inner().fork(),
        }
    }
}

/// Builder state shared by both roles.
struct CommonBuilder {
    suites: Vec<&'static SuiteInfo>,
    groups: Vec<NamedGroup>,
    verify_schemes: Vec<SignatureScheme>,
    mtu: usize,
    initial_rto: Duration,
    max_rto: Duration,
    handshake_timeout: Duration,
    idle_timeout: Option<Duration>,
    require_ems: bool,
    max_message_len: usize,
    max_reassembly_bytes: usize,
    max_queued: usize,
    seed: Option<[u8; 32]>,
    time: Option<TimeSource>,
    alpn_protocols: Vec<Vec<u8>>,
    srtp_profiles: Vec<SrtpProtectionProfile>,
    require_srtp: bool,
    key_log: Option<Arc<dyn KeyLog>>,
    error: Option<Error>,
}

impl Default for CommonBuilder {
    fn default() -> Self {
        Self {
            suites: suites::ALL_SUITES.iter().collect(),
            groups: DEFAULT_GROUPS.to_vec(),
            verify_schemes: VERIFY_SCHEMES.to_vec(),
            mtu: DEFAULT_MTU,
            // RFC 6347 §4.2.4.1: initial timer 1 s, doubled up to 60 s.
            initial_rto: Duration::from_secs(1),
            max_rto: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(60),
            idle_timeout: None,
            require_ems: true,
            max_message_len: 64 * 1024,
            max_reassembly_bytes: 256 * 1024,
            max_queued: 256,
            seed: None,
            time: None,
            alpn_protocols: Vec::new(),
            srtp_profiles: Vec::new(),
            require_srtp: false,
            key_log: None,
            error: None,
        }
    }
}

impl CommonBuilder {
    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    fn build(self) -> Result<CommonConfig, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if !(MIN_MTU..=MAX_MTU).contains(&self.mtu) {
            return Err(Error::InvalidConfig(format!("mtu {} outside {MIN_MTU}..={MAX_MTU}", self.mtu)));
        }
        if self.suites.is_empty() {
            return Err(Error::InvalidConfig("no cipher suites".into()));
        }
        if self.groups.is_empty() {
            return Err(Error::InvalidConfig("no key exchange groups".into()));
        }
        if self.verify_schemes.is_empty() {
            return Err(Error::InvalidConfig("no signature schemes to accept".into()));
        }
        if self.initial_rto.is_zero() || self.initial_rto > self.max_rto {
            return Err(Error::InvalidConfig("initial retransmit timeout must be in (0, 60 s]".into()));
        }
        if self.require_srtp && self.srtp_profiles.is_empty() {
            return Err(Error::InvalidConfig("require_srtp without srtp_profiles: no profile could be agreed".into()));
        }
        let rng = match self.seed {
            Some(seed) => DetRng::from_seed(seed),
            None => DetRng::from_os()?,
        };
        Ok(CommonConfig {
            suites: self.suites,
            groups: self.groups,
            verify_schemes: self.verify_schemes,
            mtu: self.mtu,
            initial_rto: self.initial_rto,
            max_rto: self.max_rto,
            handshake_timeout: self.handshake_timeout,
            idle_timeout: self.idle_timeout,
            require_ems: self.require_ems,
            max_message_len: self.max_message_len,
            max_reassembly_bytes: self.max_reassembly_bytes,
            max_early_records: 32,
            max_queued: self.max_queued,
            time: self.time.unwrap_or_else(|| Arc::new(UnixTime::now)),
            alpn_protocols: self.alpn_protocols,
            srtp_profiles: self.srtp_profiles,
            require_srtp: self.require_srtp,
            key_log: self.key_log,
            rng: Mutex::new(rng),
        })
    }
}

macro_rules! common_setters {
    () => {
        /// Cipher suites in preference order. Every suite must be one this engine implements
        /// ([`suites::ALL_SUITES`](crate::suites::ALL_SUITES)): an unsupported one is not
        /// dropped but makes `build()` fail with `Error::InvalidConfig`.
        pub fn cipher_suites(mut self, suites: &[crate::wire::CipherSuite]) -> Self {
            let list: Vec<_> = suites.iter().filter_map(|s| crate::suites::lookup(*s)).collect();
            if list.len() != suites.len() {
                self.common.fail(Error::InvalidConfig("unsupported cipher suite".into()));
            }
            self.common.suites = list;
            self
        }

        /// Key exchange groups in preference order (X25519, P-256, P-384).
        pub fn groups(mut self, groups: &[NamedGroup]) -> Self {
            if groups.iter().any(|g| !kx::is_supported(*g)) {
                self.common.fail(Error::InvalidConfig("unsupported group".into()));
            }
            self.common.groups = groups.to_vec();
            self
        }

        /// The signature schemes accepted from the peer, in preference order (default: every
        /// supported one). They are what this side offers in signature_algorithms (client,
        /// RFC 5246 §7.4.1.4.1) or CertificateRequest (server, §7.4.4), and a
        /// ServerKeyExchange or CertificateVerify signed with another is refused. The
        /// signatures inside certificate chains are checked by webpki, whatever this says.
        pub fn verify_signature_schemes(mut self, schemes: &[SignatureScheme]) -> Self {
            if schemes.iter().any(|s| !VERIFY_SCHEMES.contains(s)) {
                self.common.fail(Error::InvalidConfig("unsupported signature scheme".into()));
            }
            self.common.verify_schemes = schemes.to_vec();
            self
        }

        /// Largest datagram sent, 256..=65535 (default 1200).
        pub fn mtu(mut self, mtu: usize) -> Self {
            self.common.mtu = mtu;
            self
        }

        /// First retransmission timeout (RFC 6347 §4.2.4.1; default 1 s, doubled up to 60 s).
        pub fn initial_retransmit_timeout(mut self, d: Duration) -> Self {
            self.common.initial_rto = d;
            self
        }

        /// Give up on a handshake that has not completed after this long (default 60 s).
        pub fn handshake_timeout(mut self, d: Duration) -> Self {
            self.common.handshake_timeout = d;
            self
        }

        /// End an established session when no authentic record has arrived from the peer
        /// for this long (`Error::IdleTimeout`). Off by default: DTLS 1.2 has no keep-alive,
        /// so only the application knows how long silence may last.
        pub fn idle_timeout(mut self, d: Duration) -> Self {
            self.common.idle_timeout = Some(d);
            self
        }

        /// Accept peers without the extended master secret extension (RFC 7627). Off by
        /// default: such handshakes are refused with `handshake_failure`.
        pub fn allow_no_extended_master_secret(mut self, allow: bool) -> Self {
            self.common.require_ems = !allow;
            self
        }

        /// Largest handshake message we reassemble, and the cap on bytes buffered for
        /// reassembly per session.
        pub fn reassembly_limits(mut self, max_message: usize, max_total: usize) -> Self {
            self.common.max_message_len = max_message;
            self.common.max_reassembly_bytes = max_total;
            self
        }

        /// Cipher suites by IANA or OpenSSL name, in preference order
        /// (`TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256` or `ECDHE-ECDSA-AES128-GCM-SHA256`).
        /// An unknown name makes `build()` fail.
        pub fn cipher_suites_by_name(mut self, names: &[&str]) -> Self {
            let mut list = Vec::new();
            for n in names {
                match crate::suites::by_name(n) {
                    Some(s) => list.push(s),
                    None => self.common.fail(Error::InvalidConfig(format!("unknown cipher suite {n}"))),
                }
            }
            self.common.suites = list;
            self
        }

        /// Groups by name in preference order: `X25519`, `P-256` (`prime256v1`,
        /// `secp256r1`), `P-384` (`secp384r1`). An unknown name makes `build()` fail.
        pub fn groups_by_name(mut self, names: &[&str]) -> Self {
            let mut list = Vec::new();
            for n in names {
                match group_by_name(n) {
                    Some(g) => list.push(g),
                    None => self.common.fail(Error::InvalidConfig(format!("unknown group {n}"))),
                }
            }
            self.common.groups = list;
            self
        }

        /// ALPN protocols (RFC 7301): the client's offer, or the server's preference order.
        pub fn alpn_protocols(mut self, protocols: &[&[u8]]) -> Self {
            if protocols.iter().any(|p| p.is_empty() || p.len() > 255) {
                self.common.fail(Error::InvalidConfig("ALPN protocol names must be 1..=255 bytes".into()));
            }
            self.common.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
            self
        }

        /// DTLS-SRTP protection profiles (RFC 5764): the client's offer, or the server's
        /// preference order. Without [`require_srtp`](Self::require_srtp), a peer that
        /// agrees on none still completes the handshake, without SRTP.
        pub fn srtp_profiles(mut self, profiles: &[SrtpProtectionProfile]) -> Self {
            if profiles.iter().any(|p| srtp::key_salt_len(*p).is_none()) {
                self.common.fail(Error::InvalidConfig("unsupported SRTP profile".into()));
            }
            self.common.srtp_profiles = profiles.to_vec();
            self
        }

        /// Require DTLS-SRTP (default off): fail the handshake with
        /// `PeerIncompatible::NoCommonSrtpProfile` and a `handshake_failure` alert unless one
        /// of the [`srtp_profiles`](Self::srtp_profiles) is agreed. A server refuses a
        /// ClientHello that offers none of its profiles, or no use_srtp at all; a client
        /// refuses a ServerHello without use_srtp. RFC 5764 §4.1.1 lets a peer without a
        /// shared profile fall back to DTLS without SRTP, and has a server for which that
        /// is not acceptable answer with an alert; for a media session whose keys must come
        /// from the handshake (WebRTC), a session without SRTP keys is useless. Without
        /// profiles, `build()` fails.
        pub fn require_srtp(mut self, required: bool) -> Self {
            self.common.require_srtp = required;
            self
        }

        /// Write NSS key log lines (`CLIENT_RANDOM ...`) to this sink. Debugging only: it
        /// reveals every session key.
        pub fn key_log(mut self, sink: Arc<dyn KeyLog>) -> Self {
            self.common.key_log = Some(sink);
            self
        }

        /// Cap on datagrams waiting in a session for `poll_transmit`, and on received
        /// application records waiting for `poll_event` (default 256 each). Beyond it `send`
        /// returns `Error::SendQueueFull` and received records are dropped and counted.
        pub fn queue_limit(mut self, max_queued: usize) -> Self {
            self.common.max_queued = max_queued.max(1);
            self
        }

        /// Make every random value reproducible (tests, simulation).
        pub fn rng_seed(mut self, seed: [u8; 32]) -> Self {
            self.common.seed = Some(seed);
            self
        }

        /// The wall clock used for certificate validity (default: the system clock).
        pub fn time_source(mut self, f: impl Fn() -> UnixTime + Send + Sync + 'static) -> Self {
            self.common.time = Some(Arc::new(f));
            self
        }
    };
}

/// A key exchange group by name (`X25519`, `P-256`, `prime256v1`, `secp256r1`, `P-384`,
/// `secp384r1`; case-insensitive).
pub fn group_by_name(name: &str) -> Option<NamedGroup> {
    match name.to_ascii_lowercase().as_str() {
        "x25519" => Some(NamedGroup::X25519),
        "p-256" | "p256" | "prime256v1" | "secp256r1" => Some(NamedGroup::Secp256r1),
        "p-384" | "p384" | "secp384r1" => Some(NamedGroup::Secp384r1),
        _ => None,
    }
}

/// Client configuration.
#[derive(Debug)]
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
        self.verifier = Some(Arc::new(crate::crypto::fingerprint::FingerprintVerifier::new(fingerprint)?));
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
        Ok(Arc::new(ClientConfig {
            common: self.common.build()?,
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
#[derive(Debug)]
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
    /// Session-ID cache and ticket keys for resumption.
    pub(crate) resumption: crate::resumption::ServerResumption,
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
            session_lifetime: DEFAULT_SESSION_LIFETIME,
        }
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
    session_lifetime: Duration,
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

    /// Validate and freeze the configuration.
    pub fn build(self) -> Result<Arc<ServerConfig>, Error> {
        let (chain, key) = self.identity.ok_or_else(|| Error::InvalidConfig("server needs a certificate".into()))?;
        if chain.is_empty() {
            return Err(Error::InvalidConfig("empty certificate chain".into()));
        }
        let common = self.common.build()?;
        let mut cookie_secret = zeroize::Zeroizing::new([0u8; 32]);
        // One fork of the configuration's RNG for the server's own secrets (the cookie key
        // first, then the ticket keys), so sessions draw the same streams as before.
        let mut own = common.session_rng();
        rand_core::RngCore::fill_bytes(&mut own, &mut *cookie_secret);
        let cookie_key = crate::cookie::key(&cookie_secret);
        let lifetime = u32::try_from(self.session_lifetime.as_secs()).unwrap_or(u32::MAX).max(1);
        let tickets = if self.session_tickets {
            Some(
                crate::resumption::TicketKeys::new(own.fork(), u64::from(lifetime))
                    .ok_or(Error::Crypto("ticket key"))?,
            )
        } else {
            None
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
            resumption: crate::resumption::ServerResumption { cache, tickets, lifetime },
        }))
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
