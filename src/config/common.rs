//! The settings both roles share, and the builder state behind them: suites, groups,
//! signature schemes, MTU, retransmission timers (RFC 6347 §4.2.4.1), resource caps, ALPN,
//! DTLS-SRTP, key logging, the RNG seed and the wall clock. Validated once, by `build()`.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::UnixTime;

use super::cid::CidPolicy;
use crate::crypto::rng::{DetRng, SharedRng};
use crate::error::Error;
use crate::keylog::KeyLog;
use crate::registry::{NamedGroup, ProtocolVersion, SignatureScheme, SrtpProtectionProfile};
use crate::suites::{self, Suite13, SuiteInfo};

/// Default path MTU: the largest datagram we send.
pub const DEFAULT_MTU: usize = 1200;
/// Smallest MTU we accept.
pub const MIN_MTU: usize = 256;
/// Largest MTU we accept.
pub const MAX_MTU: usize = 65535;

/// Signature schemes we can verify, in the order we offer them (RFC 5246 §7.4.1.4.1).
pub use crate::crypto::verify::SUPPORTED_SCHEMES as VERIFY_SCHEMES;

/// Default key exchange groups, in preference order: the post-quantum hybrid first (DTLS 1.3
/// only; a DTLS 1.2 handshake skips it), then the classical curves.
pub static DEFAULT_GROUPS: &[NamedGroup] =
    &[NamedGroup::X25519MLKEM768, NamedGroup::X25519, NamedGroup::Secp256r1, NamedGroup::Secp384r1];

/// Default number of records sealed under one DTLS 1.3 write key before a KeyUpdate
/// (RFC 9147 §4.5.3: AES-GCM's confidentiality limit is 2^24.5 full-size records; we stay well
/// under the smallest limit of our suites).
pub const DEFAULT_KEY_UPDATE_AFTER: u64 = 1 << 23;

/// A source of wall-clock time, used only to check certificate validity periods.
pub type TimeSource = Arc<dyn Fn() -> UnixTime + Send + Sync>;

/// Settings shared by both roles.
///
/// A clone shares the random generator (both draw from the one stream, never the same
/// bytes twice) and every `Arc` (key log, clock).
#[derive(Clone)]
pub struct CommonConfig {
    pub(crate) suites: Vec<&'static SuiteInfo>,
    /// The DTLS 1.3 suites, in preference order.
    pub(crate) suites13: Vec<&'static Suite13>,
    pub(crate) min_version: ProtocolVersion,
    pub(crate) max_version: ProtocolVersion,
    /// DTLS 1.3: records sealed under one write key before we update it (RFC 9147 §4.5.3).
    pub(crate) key_update_after: u64,
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
    /// Connection IDs (RFC 9146) offered (client) or accepted (server); none by default.
    pub(crate) connection_ids: Option<CidPolicy>,
    /// Offer (client) or accept (server) the return routability check (RFC 9853) with CIDs.
    pub(crate) rrc: bool,
    rng: SharedRng,
}

impl core::fmt::Debug for CommonConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CommonConfig")
            .field("versions", &(self.min_version, self.max_version))
            .field("suites", &self.suites.iter().map(|s| s.iana_name).collect::<Vec<_>>())
            .field("suites13", &self.suites13.iter().map(|s| s.iana_name).collect::<Vec<_>>())
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
    /// A generator of its own, forked from the configured (possibly seeded) one: for
    /// long-lived secrets (cookie and ticket keys), which must not depend on later sessions.
    pub(crate) fn session_rng(&self) -> DetRng {
        self.rng.fork()
    }

    /// The configuration's generator, which sessions draw from (see [`SharedRng`]).
    pub(crate) fn shared_rng(&self) -> SharedRng {
        self.rng.clone()
    }

    /// Whether this side may negotiate DTLS 1.3.
    pub(crate) fn offers_tls13(&self) -> bool {
        self.max_version >= ProtocolVersion::Dtls13 && !self.suites13.is_empty()
    }

    /// Whether this side may negotiate DTLS 1.2.
    pub(crate) fn offers_tls12(&self) -> bool {
        self.min_version <= ProtocolVersion::Dtls12 && !self.suites.is_empty()
    }

    /// The configured groups a DTLS 1.2 ECDHE exchange can use (the hybrid is 1.3 only).
    pub(crate) fn groups12(&self) -> impl Iterator<Item = NamedGroup> + '_ {
        self.groups.iter().copied().filter(|g| crate::crypto::kx::is_supported(*g))
    }
}

/// Builder state shared by both roles.
pub(super) struct CommonBuilder {
    pub(super) suites: Vec<&'static SuiteInfo>,
    pub(super) suites13: Vec<&'static Suite13>,
    pub(super) min_version: ProtocolVersion,
    pub(super) max_version: ProtocolVersion,
    pub(super) key_update_after: u64,
    pub(super) groups: Vec<NamedGroup>,
    pub(super) verify_schemes: Vec<SignatureScheme>,
    pub(super) mtu: usize,
    pub(super) initial_rto: Duration,
    pub(super) max_rto: Duration,
    pub(super) handshake_timeout: Duration,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) require_ems: bool,
    pub(super) max_message_len: usize,
    pub(super) max_reassembly_bytes: usize,
    pub(super) max_queued: usize,
    pub(super) seed: Option<[u8; 32]>,
    pub(super) time: Option<TimeSource>,
    pub(super) alpn_protocols: Vec<Vec<u8>>,
    pub(super) srtp_profiles: Vec<SrtpProtectionProfile>,
    pub(super) require_srtp: bool,
    pub(super) key_log: Option<Arc<dyn KeyLog>>,
    pub(super) connection_ids: Option<CidPolicy>,
    pub(super) rrc: bool,
    pub(super) error: Option<Error>,
}

impl Default for CommonBuilder {
    fn default() -> Self {
        Self {
            suites: suites::ALL_SUITES.iter().collect(),
            suites13: suites::ALL_SUITES13.iter().collect(),
            min_version: ProtocolVersion::Dtls12,
            max_version: ProtocolVersion::Dtls13,
            key_update_after: DEFAULT_KEY_UPDATE_AFTER,
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
            connection_ids: None,
            rrc: true,
            error: None,
        }
    }
}

impl CommonBuilder {
    pub(super) fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    pub(super) fn build(self) -> Result<CommonConfig, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if !(MIN_MTU..=MAX_MTU).contains(&self.mtu) {
            return Err(Error::InvalidConfig(format!("mtu {} outside {MIN_MTU}..={MAX_MTU}", self.mtu)));
        }
        if self.min_version > self.max_version {
            return Err(Error::InvalidConfig("min_version above max_version".into()));
        }
        let v12 = self.min_version <= ProtocolVersion::Dtls12 && !self.suites.is_empty();
        let v13 = self.max_version >= ProtocolVersion::Dtls13 && !self.suites13.is_empty();
        if !v12 && !v13 {
            return Err(Error::InvalidConfig("no cipher suites for the enabled versions".into()));
        }
        let ecdhe = self.groups.iter().any(|g| crate::crypto::kx::is_supported(*g));
        if self.groups.is_empty() || (v12 && !v13 && !ecdhe) {
            return Err(Error::InvalidConfig("no key exchange groups".into()));
        }
        if self.key_update_after == 0 {
            return Err(Error::InvalidConfig("key_update_after must be at least 1".into()));
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
        if let Some(p) = &self.connection_ids {
            p.validate()?;
        }
        let rng = match self.seed {
            Some(seed) => DetRng::from_seed(seed),
            None => DetRng::from_os()?,
        };
        Ok(CommonConfig {
            suites: self.suites,
            suites13: self.suites13,
            min_version: self.min_version,
            max_version: self.max_version,
            key_update_after: self.key_update_after,
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
            connection_ids: self.connection_ids,
            rrc: self.rrc,
            rng: SharedRng::new(rng),
        })
    }
}
