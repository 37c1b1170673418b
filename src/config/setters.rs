//! The builder methods common to both roles (suites, groups, signature schemes, MTU, timers,
//! limits, ALPN, DTLS-SRTP, key log, seed, clock), written once as a macro and expanded into
//! `ClientConfigBuilder` and `ServerConfigBuilder`, so each appears on both in the docs.

use crate::registry::NamedGroup;

/// The setters of the settings both roles share, expanded into each role's builder (whose
/// `common` field is a `CommonBuilder`).
macro_rules! common_setters {
    () => {
        /// Cipher suites in preference order. Every suite must be one this engine implements
        /// (the six ECDHE suites of DTLS 1.2 and the three `TLS_AES_*`/`TLS_CHACHA20_*`
        /// suites of DTLS 1.3 in [`CipherSuite`](crate::CipherSuite)): an unsupported one is
        /// not dropped but makes `build()` fail with `Error::InvalidConfig`. The list sets
        /// both versions' suites: naming only 1.2 suites leaves DTLS 1.3 without any (so it
        /// is not offered), and the other way round.
        pub fn cipher_suites(mut self, suites: &[crate::registry::CipherSuite]) -> Self {
            let list: Vec<_> = suites.iter().filter_map(|s| crate::suites::lookup(*s)).collect();
            let list13: Vec<_> = suites.iter().filter_map(|s| crate::suites::lookup13(*s)).collect();
            if list.len() + list13.len() != suites.len() {
                self.common.fail(crate::error::Error::InvalidConfig("unsupported cipher suite".into()));
            }
            self.common.suites = list;
            self.common.suites13 = list13;
            self
        }

        /// The lowest protocol version this side negotiates (default DTLS 1.2).
        pub fn min_version(mut self, version: crate::registry::ProtocolVersion) -> Self {
            self.common.min_version = version;
            self
        }

        /// The highest protocol version this side negotiates (default DTLS 1.3).
        /// A server picks the highest version both sides enable; a server able to speak
        /// DTLS 1.3 that agrees on 1.2 marks its random as RFC 8446 §4.1.3 says, and a
        /// client able to speak 1.3 refuses such a ServerHello.
        pub fn max_version(mut self, version: crate::registry::ProtocolVersion) -> Self {
            self.common.max_version = version;
            self
        }

        /// DTLS 1.3: after this many records sealed under one key, update it with a
        /// KeyUpdate (RFC 9147 §8; default 2^23, under the AEAD limits of RFC 9147 §4.5.3).
        pub fn key_update_after_records(mut self, records: u64) -> Self {
            self.common.key_update_after = records;
            self
        }

        /// Key exchange groups in preference order (X25519MLKEM768 (DTLS 1.3 only), X25519,
        /// P-256, P-384).
        pub fn groups(mut self, groups: &[crate::registry::NamedGroup]) -> Self {
            let known = |g: &crate::registry::NamedGroup| {
                crate::crypto::kx::is_supported(*g) || *g == crate::registry::NamedGroup::X25519MLKEM768
            };
            if !groups.iter().all(known) {
                self.common.fail(crate::error::Error::InvalidConfig("unsupported group".into()));
            }
            self.common.groups = groups.to_vec();
            self
        }

        /// The signature schemes accepted from the peer, in preference order (default: every
        /// supported one). They are what this side offers in signature_algorithms (client,
        /// RFC 5246 §7.4.1.4.1) or CertificateRequest (server, §7.4.4), and a
        /// ServerKeyExchange or CertificateVerify signed with another is refused. The
        /// signatures inside certificate chains are checked by webpki, whatever this says.
        pub fn verify_signature_schemes(mut self, schemes: &[crate::registry::SignatureScheme]) -> Self {
            if schemes.iter().any(|s| !crate::config::common::VERIFY_SCHEMES.contains(s)) {
                self.common.fail(crate::error::Error::InvalidConfig("unsupported signature scheme".into()));
            }
            self.common.verify_schemes = schemes.to_vec();
            self
        }

        /// Use connection IDs (RFC 9146, DTLS 1.2): this side asks its peer to put a CID of
        /// `len` bytes (at most 20; 0 = send CIDs but receive none) in the records it sends,
        /// so that a session survives the peer's address change and a load balancer can route
        /// its records. A client offers them, a server accepts them from clients that offer
        /// them; without this (the default) neither does. See also
        /// `connection_id_prefix`.
        pub fn connection_ids(mut self, len: usize) -> Self {
            let prefix = self.common.connection_ids.take().map(|p| p.prefix).unwrap_or_default();
            self.common.connection_ids = Some(crate::config::CidPolicy::random(len, prefix));
            self
        }

        /// Start every connection ID this side asks for with `prefix` (a server id that a
        /// load balancer routes by, the QUIC-LB idea; the rest is random). Needs
        /// `connection_ids` with a length of at least `prefix.len()`.
        pub fn connection_id_prefix(mut self, prefix: &[u8]) -> Self {
            let len = self.common.connection_ids.take().map_or(prefix.len(), |p| p.len);
            self.common.connection_ids = Some(crate::config::CidPolicy::random(len, prefix.to_vec()));
            self
        }

        /// Use connection IDs made by `generator` (its length, its layout) instead of
        /// `connection_ids(len)` with `connection_id_prefix`; whichever of these is called
        /// last decides. See [`ConnectionIdGenerator`](crate::ConnectionIdGenerator).
        pub fn connection_id_generator(mut self, generator: std::sync::Arc<dyn crate::ConnectionIdGenerator>) -> Self {
            self.common.connection_ids = Some(crate::config::CidPolicy::custom(generator));
            self
        }

        /// With connection IDs, check that the peer is reachable at a new address before
        /// sending there (RFC 9853 return routability check; on by default, used when both
        /// sides negotiate it). Without it, a session moves on the first authentic record
        /// from a new address that is newer than all before it (RFC 9146 §6).
        pub fn return_routability_check(mut self, on: bool) -> Self {
            self.common.rrc = on;
            self
        }

        /// Largest datagram sent, 256..=65535 (default 1200).
        pub fn mtu(mut self, mtu: usize) -> Self {
            self.common.mtu = mtu;
            self
        }

        /// First retransmission timeout (RFC 6347 §4.2.4.1; default 1 s, doubled up to 60 s).
        pub fn initial_retransmit_timeout(mut self, d: std::time::Duration) -> Self {
            self.common.initial_rto = d;
            self
        }

        /// Give up on a handshake that has not completed after this long (default 60 s).
        pub fn handshake_timeout(mut self, d: std::time::Duration) -> Self {
            self.common.handshake_timeout = d;
            self
        }

        /// End an established session when no authentic record has arrived from the peer
        /// for this long (`Error::IdleTimeout`). Off by default: DTLS 1.2 has no keep-alive,
        /// so only the application knows how long silence may last.
        pub fn idle_timeout(mut self, d: std::time::Duration) -> Self {
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
            let (mut list, mut list13) = (Vec::new(), Vec::new());
            for n in names {
                match (crate::suites::by_name(n), crate::suites::by_name13(n)) {
                    (Some(s), _) => list.push(s),
                    (None, Some(s)) => list13.push(s),
                    (None, None) => {
                        self.common.fail(crate::error::Error::InvalidConfig(format!("unknown cipher suite {n}")))
                    }
                }
            }
            self.common.suites = list;
            self.common.suites13 = list13;
            self
        }

        /// Groups by name in preference order: `X25519`, `P-256` (`prime256v1`,
        /// `secp256r1`), `P-384` (`secp384r1`). An unknown name makes `build()` fail.
        pub fn groups_by_name(mut self, names: &[&str]) -> Self {
            let mut list = Vec::new();
            for n in names {
                match crate::config::setters::group_by_name(n) {
                    Some(g) => list.push(g),
                    None => self.common.fail(crate::error::Error::InvalidConfig(format!("unknown group {n}"))),
                }
            }
            self.common.groups = list;
            self
        }

        /// ALPN protocols (RFC 7301): the client's offer, or the server's preference order.
        pub fn alpn_protocols(mut self, protocols: &[&[u8]]) -> Self {
            if protocols.iter().any(|p| p.is_empty() || p.len() > 255) {
                self.common
                    .fail(crate::error::Error::InvalidConfig("ALPN protocol names must be 1..=255 bytes".into()));
            }
            self.common.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
            self
        }

        /// DTLS-SRTP protection profiles (RFC 5764): the client's offer, or the server's
        /// preference order. Without [`require_srtp`](Self::require_srtp), a peer that
        /// agrees on none still completes the handshake, without SRTP.
        pub fn srtp_profiles(mut self, profiles: &[crate::registry::SrtpProtectionProfile]) -> Self {
            if profiles.iter().any(|p| crate::extensions::srtp::key_salt_len(*p).is_none()) {
                self.common.fail(crate::error::Error::InvalidConfig("unsupported SRTP profile".into()));
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
        pub fn key_log(mut self, sink: std::sync::Arc<dyn crate::keylog::KeyLog>) -> Self {
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
        pub fn time_source(mut self, f: impl Fn() -> rustls_pki_types::UnixTime + Send + Sync + 'static) -> Self {
            self.common.time = Some(std::sync::Arc::new(f));
            self
        }
    };
}
pub(super) use common_setters;

/// A key exchange group by name (`X25519MLKEM768`, `X25519`, `P-256`, `prime256v1`, `secp256r1`, `P-384`,
/// `secp384r1`; case-insensitive).
pub(super) fn group_by_name(name: &str) -> Option<NamedGroup> {
    match name.to_ascii_lowercase().as_str() {
        "x25519" => Some(NamedGroup::X25519),
        "p-256" | "p256" | "prime256v1" | "secp256r1" => Some(NamedGroup::Secp256r1),
        "p-384" | "p384" | "secp384r1" => Some(NamedGroup::Secp384r1),
        "x25519mlkem768" | "x25519-mlkem768" | "x25519_mlkem768" => Some(NamedGroup::X25519MLKEM768),
        _ => None,
    }
}
