//! The runner's flags as dtls-engine configurations, through the public builders only.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dtls_engine::{
    AlpnChoice, AlpnSelector, CertificateDer, CertificateError, ClientAuth, ClientCertVerifier, ClientConfig,
    ClientSessionStore, ServerCertVerifier, ServerConfig, UnixTime,
};

use crate::Failure;
use crate::flags::Opts;

/// The runner's timeout schedule adds up to minutes of simulated time; the handshake
/// deadline must not cut it short (it counts on the virtual clock only).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Without `-mtu`, BoringSSL sends application records of up to 16384 bytes whatever its
/// MTU; the engine never sends a record larger than its MTU (RFC 6347 §4.1.1), so the shim
/// sets one that fits a full record and its AEAD overhead. Tests of fragmentation pass `-mtu`.
const MTU_FOR_FULL_RECORDS: usize = 16384 + 64;

/// Accepts any certificate, or rejects every one with `-verify-fail` (BoringSSL's shim
/// installs a verify callback that does the same: it never checks chains). The switch is
/// shared, so that one server configuration serves every connection of a test, each with its
/// own `-verify-fail` (`-on-resume-verify-fail`), as a verify callback reading the current
/// connection's settings would.
#[derive(Debug)]
struct ShimVerifier {
    fail: Arc<AtomicBool>,
}

impl ShimVerifier {
    fn verify(&self, chain: &[CertificateDer<'_>]) -> Result<(), CertificateError> {
        if chain.is_empty() {
            Err(CertificateError::BadEncoding)
        } else if self.fail.load(Ordering::Relaxed) {
            Err(CertificateError::Other("rejected by -verify-fail".into()))
        } else {
            Ok(())
        }
    }
}

impl ServerCertVerifier for ShimVerifier {
    fn verify_server_cert(
        &self,
        chain: &[CertificateDer<'_>],
        _server_name: Option<&str>,
        _now: UnixTime,
    ) -> Result<(), CertificateError> {
        self.verify(chain)
    }
}

impl ClientCertVerifier for ShimVerifier {
    fn verify_client_cert(&self, chain: &[CertificateDer<'_>], _now: UnixTime) -> Result<(), CertificateError> {
        self.verify(chain)
    }
}

fn read(path: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Failed(format!("cannot read {path}: {e}")))
}

/// A configuration the engine refuses (a key type it lacks, an MTU below its minimum, ...)
/// is a feature we do not have.
fn refused(e: dtls_engine::Error) -> Failure {
    Failure::Unimplemented(format!("configuration refused by the engine: {e}"))
}

/// Settings both roles share, applied to either builder (they have the same setters).
macro_rules! common {
    ($builder:expr, $o:expr) => {{
        let o: &Opts = $o;
        // The shim speaks DTLS 1.2 only for now: the runner's DTLS 1.3 tests are refused as
        // unimplemented by the version flags (`flags.rs`), and a 1.3 offer would change what
        // every 1.2 test sees (supported_versions, key_share, the downgrade sentinel).
        let mut b = $builder.handshake_timeout(HANDSHAKE_TIMEOUT).max_version(dtls_engine::ProtocolVersion::Dtls12);
        b = b.mtu(o.mtu.unwrap_or(MTU_FOR_FULL_RECORDS));
        if !o.verify_prefs.is_empty() {
            b = b.verify_signature_schemes(&o.verify_prefs);
        }
        if !o.curves.is_empty() {
            b = b.groups(&o.curves);
        }
        if let Some(suites) = &o.cipher_suites {
            b = b.cipher_suites(suites);
        }
        if let Some(ms) = o.initial_timeout_ms {
            b = b.initial_retransmit_timeout(Duration::from_millis(ms));
        }
        if !o.srtp_profiles.is_empty() {
            b = b.srtp_profiles(&o.srtp_profiles);
        }
        if let Some(max) = o.max_cert_list {
            // BoringSSL's cap on a handshake message's length; ours also bounds the bytes
            // buffered for reassembly, which we leave at a comfortable multiple.
            b = b.reassembly_limits(max, 4 * max);
        }
        b
    }};
}

/// A client configuration for one connection; every connection of a test shares `store`,
/// so the later ones offer the session the earlier ones established.
pub fn client(o: &Opts, store: &Arc<ClientSessionStore>) -> Result<Arc<ClientConfig>, Failure> {
    // BoringSSL's client verifies in SSL_VERIFY_NONE mode unless told otherwise: a rejected
    // certificate is recorded, not fatal. The engine always aborts on a rejection.
    if o.verify_fail && !o.verify_peer {
        return Err(Failure::Unimplemented(
            "-verify-fail without -verify-peer: a soft certificate failure (SSL_VERIFY_NONE) has no equivalent".into(),
        ));
    }
    if o.no_ticket {
        return Err(Failure::Unimplemented(
            "-no-ticket on a client: the engine's client always asks for a ticket".into(),
        ));
    }
    let mut b = common!(ClientConfig::builder(), o)
        .verifier(Arc::new(ShimVerifier { fail: Arc::new(AtomicBool::new(o.verify_fail)) }))
        .resumption(store.clone())
        .reverify_on_resume(o.reverify_on_resume);
    if let Some(name) = &o.host_name {
        b = b.server_name(name);
    }
    if !o.advertise_alpn.is_empty() {
        let protocols: Vec<&[u8]> = o.advertise_alpn.iter().map(Vec::as_slice).collect();
        b = b.alpn_protocols(&protocols);
    }
    if let (Some(cert), Some(key)) = (&o.cert_file, &o.key_file) {
        b = b.client_certificate_pem(&read(cert)?, &read(key)?).map_err(refused)?;
    }
    b.build().map_err(refused)
}

/// The server configuration for every connection of a test: its session cache and ticket keys
/// live in it, so resumptions need the same one. `verify_fail` is the verifier's switch.
pub fn server(o: &Opts, verify_fail: &Arc<AtomicBool>) -> Result<Arc<ServerConfig>, Failure> {
    let (Some(cert), Some(key)) = (&o.cert_file, &o.key_file) else {
        return Err(Failure::Unimplemented("a server without -cert-file and -key-file".into()));
    };
    let mut b = common!(ServerConfig::builder(), o).certificate_pem(&read(cert)?, &read(key)?).map_err(refused)?;
    let verifier = Arc::new(ShimVerifier { fail: verify_fail.clone() });
    if o.require_any_client_certificate {
        b = b.client_auth(ClientAuth::Required(verifier));
    } else if o.verify_peer {
        b = b.client_auth(ClientAuth::Optional(verifier));
    }
    if o.select_alpn.is_some() || o.decline_alpn || o.reject_alpn || o.expect_advertised_alpn.is_some() {
        b = b.alpn_selector(Arc::new(ShimAlpn {
            select: o.select_alpn.clone(),
            decline: o.decline_alpn,
            reject: o.reject_alpn,
            expect_offer: o.expect_advertised_alpn.clone(),
        }));
    }
    if o.no_ticket {
        b = b.session_tickets(false);
    }
    b.build().map_err(refused)
}

/// The server's ALPN callback, as BoringSSL's shim installs it: an offer other than
/// `-expect-advertised-alpn` fails the handshake, `-reject-alpn` refuses, `-decline-alpn`
/// answers without ALPN, and `-select-alpn` picks its protocol (refused if not offered).
#[derive(Debug)]
struct ShimAlpn {
    select: Option<Vec<u8>>,
    decline: bool,
    reject: bool,
    expect_offer: Option<Vec<Vec<u8>>>,
}

impl AlpnSelector for ShimAlpn {
    fn select(&self, offered: &[Vec<u8>]) -> AlpnChoice {
        if let Some(want) = &self.expect_offer
            && offered != want.as_slice()
        {
            eprintln!("the client offered ALPN {offered:?}, not {want:?}");
            return AlpnChoice::Refuse;
        }
        if self.reject {
            return AlpnChoice::Refuse;
        }
        if self.decline {
            return AlpnChoice::Decline;
        }
        match &self.select {
            Some(p) => offered.iter().position(|o| o == p).map_or(AlpnChoice::Refuse, AlpnChoice::Protocol),
            None => AlpnChoice::Decline,
        }
    }
}

/// Whether a server configured for `initial` also serves `resume` (every setting `server`
/// reads but `-verify-fail`, which switches at run time, must agree).
pub fn same_server_settings(initial: &Opts, resume: &Opts) -> bool {
    fn settings(o: &Opts) -> impl PartialEq + '_ {
        (
            (&o.cert_file, &o.key_file, o.verify_peer, o.require_any_client_certificate),
            (
                o.mtu,
                &o.curves,
                &o.cipher_suites,
                o.initial_timeout_ms,
                &o.srtp_profiles,
                o.max_cert_list,
                &o.verify_prefs,
            ),
            (&o.select_alpn, o.decline_alpn, o.no_ticket, o.reject_alpn, &o.expect_advertised_alpn),
        )
    }
    settings(initial) == settings(resume)
}
