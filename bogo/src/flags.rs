//! The runner's command line (BoringSSL `ssl/test/test_config.cc` conventions): `-name` or
//! `-name value`, where `-on-initial-`, `-on-resume-` and `-on-retry-` prefixes limit a flag to
//! one connection of the test and `-on-shim-` / `-on-handshaker-` to one process.
//!
//! Every flag either maps onto dtls-engine's public API (or onto the shim's own behaviour), or
//! is refused as unimplemented (exit code 89) with the feature it needs, so that the runner
//! reports the test as unimplemented instead of failed.

use dtls_engine::{CipherSuite, NamedGroup, SrtpProtectionProfile};

/// DTLS 1.2 as the runner passes versions to the shim (`0xfefd`).
pub const DTLS1_2: u16 = 0xfefd;

/// Settings of one connection (the initial one or a resumption).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Opts {
    pub port: u16,
    pub server: bool,
    pub dtls: bool,
    pub resume_count: u32,
    pub key_file: Option<String>,
    pub cert_file: Option<String>,
    /// Server: ask for a client certificate. Client: treat a certificate rejection as fatal.
    pub verify_peer: bool,
    pub require_any_client_certificate: bool,
    /// Our certificate verifier rejects the peer's chain.
    pub verify_fail: bool,
    pub expect_verify_result: bool,
    pub mtu: Option<usize>,
    pub export_keying_material: usize,
    pub export_label: String,
    pub export_context: String,
    pub use_export_context: bool,
    pub shim_writes_first: bool,
    pub shim_shuts_down: bool,
    pub check_close_notify: bool,
    pub host_name: Option<String>,
    pub expect_server_name: Option<String>,
    /// Client: the ALPN offer (decoded from the wire format of `-advertise-alpn`).
    pub advertise_alpn: Vec<Vec<u8>>,
    /// Server: the protocol to select.
    pub select_alpn: Option<Vec<u8>>,
    pub decline_alpn: bool,
    /// Server: refuse every ALPN offer (`no_application_protocol`).
    pub reject_alpn: bool,
    /// Server: the ALPN offer the client must make (wire format decoded).
    pub expect_advertised_alpn: Option<Vec<Vec<u8>>>,
    pub expect_alpn: Option<Vec<u8>>,
    pub srtp_profiles: Vec<SrtpProtectionProfile>,
    pub curves: Vec<NamedGroup>,
    pub cipher_suites: Option<Vec<CipherSuite>>,
    pub expect_version: Option<u16>,
    pub expect_cipher: Option<u16>,
    pub expect_curve_id: Option<u16>,
    pub expect_peer_cert_file: Option<String>,
    pub expect_extended_master_secret: bool,
    pub initial_timeout_ms: Option<u64>,
    pub max_cert_list: Option<usize>,
    pub min_version: Option<u16>,
    pub max_version: Option<u16>,
    /// SSL_OP_NO_TICKET: a server issues no session tickets.
    pub no_ticket: bool,
    /// On a resumption: the session must not have been resumed.
    pub expect_session_miss: bool,
    /// On a resumption: verify the peer's certificate again (refused when a resumption needs it).
    pub reverify_on_resume: bool,
    /// Server, first connection: whether the session must be in the server's cache by ID
    /// (`-expect-session-id`) or not (`-expect-no-session-id`).
    pub expect_session_id: Option<bool>,
    /// Client, on a resumption: the server must have renewed the ticket.
    pub expect_ticket_renewal: bool,
    /// `-verify-prefs`: the signature schemes accepted from the peer.
    pub verify_prefs: Vec<dtls_engine::SignatureScheme>,
}

/// The outcome of parsing the command line.
#[derive(Debug)]
pub enum Command {
    /// `-is-handshaker-supported`: the runner asks whether split-handshake tests apply.
    HandshakerQuery,
    /// Run the test: the settings of the initial connection and of resumptions.
    Run { initial: Box<Opts>, resume: Box<Opts> },
}

/// Why the command line cannot be run.
#[derive(Debug)]
pub enum Refusal {
    /// A flag or feature we do not implement (exit 89).
    Unimplemented(String),
    /// A malformed flag (exit 1).
    Invalid(String),
}

type Setter = fn(&mut Opts, &str) -> Result<(), Refusal>;

fn unimplemented(what: impl Into<String>) -> Refusal {
    Refusal::Unimplemented(what.into())
}

fn int<T: std::str::FromStr>(v: &str) -> Result<T, Refusal> {
    v.parse().map_err(|_| Refusal::Invalid(format!("not a number: {v:?}")))
}

/// Flags without a value, and what they set.
const BOOL_FLAGS: &[(&str, Setter)] = &[
    ("-server", |o, _| {
        o.server = true;
        Ok(())
    }),
    ("-dtls", |o, _| {
        o.dtls = true;
        Ok(())
    }),
    // A sans-IO engine has no asynchronous mode: every input is handled to completion.
    ("-async", |_, _| Ok(())),
    // Handshaking on the first read or write is what the engine always does.
    ("-implicit-handshake", |_, _| Ok(())),
    ("-verify-peer", |o, _| {
        o.verify_peer = true;
        Ok(())
    }),
    ("-require-any-client-certificate", |o, _| {
        o.require_any_client_certificate = true;
        Ok(())
    }),
    ("-verify-fail", |o, _| {
        o.verify_fail = true;
        Ok(())
    }),
    // The shim's certificate verifier is a custom one already (ServerCertVerifier /
    // ClientCertVerifier of the public API).
    ("-use-custom-verify-callback", |_, _| Ok(())),
    ("-expect-verify-result", |o, _| {
        o.expect_verify_result = true;
        Ok(())
    }),
    ("-use-export-context", |o, _| {
        o.use_export_context = true;
        Ok(())
    }),
    ("-shim-writes-first", |o, _| {
        o.shim_writes_first = true;
        Ok(())
    }),
    ("-shim-shuts-down", |o, _| {
        o.shim_shuts_down = true;
        Ok(())
    }),
    ("-check-close-notify", |o, _| {
        o.check_close_notify = true;
        Ok(())
    }),
    ("-decline-alpn", |o, _| {
        o.decline_alpn = true;
        Ok(())
    }),
    ("-reject-alpn", |o, _| {
        o.reject_alpn = true;
        Ok(())
    }),
    ("-expect-extended-master-secret", |o, _| {
        o.expect_extended_master_secret = true;
        Ok(())
    }),
    // The client certificate is configured up front, however BoringSSL would supply it.
    ("-use-old-client-cert-callback", |_, _| Ok(())),
    ("-use-early-callback", |_, _| Ok(())),
    // HelloRetryRequest is TLS 1.3 only: a DTLS 1.2 handshake never has one.
    ("-expect-no-hrr", |_, _| Ok(())),
    // DTLS 1.0 is not implemented, so it is always disabled; DTLS 1.3 likewise.
    ("-no-tls1", |_, _| Ok(())),
    ("-no-tls11", |_, _| Ok(())),
    ("-no-tls13", |_, _| Ok(())),
    ("-no-tls12", |_, _| Err(unimplemented("-no-tls12: DTLS 1.2 is the only version implemented"))),
    ("-no-ticket", |o, _| {
        o.no_ticket = true;
        Ok(())
    }),
    ("-expect-session-miss", |o, _| {
        o.expect_session_miss = true;
        Ok(())
    }),
    ("-reverify-on-resume", |o, _| {
        o.reverify_on_resume = true;
        Ok(())
    }),
    ("-expect-ticket-renewal", |o, _| {
        o.expect_ticket_renewal = true;
        Ok(())
    }),
    ("-expect-session-id", |o, _| {
        o.expect_session_id = Some(true);
        Ok(())
    }),
    ("-expect-no-session-id", |o, _| {
        o.expect_session_id = Some(false);
        Ok(())
    }),
];

/// Flags with a value, and what they set.
const VALUE_FLAGS: &[(&str, Setter)] = &[
    ("-port", |o, v| {
        o.port = int(v)?;
        Ok(())
    }),
    ("-resume-count", |o, v| {
        o.resume_count = int(v)?;
        Ok(())
    }),
    ("-key-file", |o, v| {
        o.key_file = Some(v.to_string());
        Ok(())
    }),
    ("-cert-file", |o, v| {
        o.cert_file = Some(v.to_string());
        Ok(())
    }),
    ("-mtu", |o, v| {
        o.mtu = Some(int(v)?);
        Ok(())
    }),
    ("-export-keying-material", |o, v| {
        o.export_keying_material = int(v)?;
        Ok(())
    }),
    ("-export-label", |o, v| {
        o.export_label = v.to_string();
        Ok(())
    }),
    ("-export-context", |o, v| {
        o.export_context = v.to_string();
        Ok(())
    }),
    ("-host-name", |o, v| {
        o.host_name = Some(v.to_string());
        Ok(())
    }),
    ("-expect-server-name", |o, v| {
        o.expect_server_name = Some(v.to_string());
        Ok(())
    }),
    ("-advertise-alpn", |o, v| {
        o.advertise_alpn = decode_alpn_list(v.as_bytes())?;
        Ok(())
    }),
    ("-expect-advertised-alpn", |o, v| {
        o.expect_advertised_alpn = Some(decode_alpn_list(v.as_bytes())?);
        Ok(())
    }),
    ("-select-alpn", |o, v| {
        o.select_alpn = Some(v.as_bytes().to_vec());
        Ok(())
    }),
    ("-expect-alpn", |o, v| {
        o.expect_alpn = Some(v.as_bytes().to_vec());
        Ok(())
    }),
    ("-srtp-profiles", |o, v| {
        o.srtp_profiles = v.split(':').map(srtp_profile).collect::<Result<_, _>>()?;
        Ok(())
    }),
    ("-curves", |o, v| {
        o.curves.push(curve(int(v)?)?);
        Ok(())
    }),
    ("-verify-prefs", |o, v| {
        o.verify_prefs.push(dtls_engine::SignatureScheme::from(int::<u16>(v)?));
        Ok(())
    }),
    ("-cipher", |o, v| {
        o.cipher_suites = cipher_list(v)?;
        Ok(())
    }),
    ("-expect-version", |o, v| {
        let version: u16 = int(v)?;
        if version != DTLS1_2 {
            return Err(unimplemented(format!("-expect-version {version:#06x}: only DTLS 1.2 is implemented")));
        }
        o.expect_version = Some(version);
        Ok(())
    }),
    ("-expect-cipher", |o, v| {
        o.expect_cipher = Some(int(v)?);
        Ok(())
    }),
    ("-expect-curve-id", |o, v| {
        o.expect_curve_id = Some(int(v)?);
        Ok(())
    }),
    ("-expect-peer-cert-file", |o, v| {
        o.expect_peer_cert_file = Some(v.to_string());
        Ok(())
    }),
    ("-initial-timeout-duration-ms", |o, v| {
        o.initial_timeout_ms = Some(int(v)?);
        Ok(())
    }),
    ("-max-cert-list", |o, v| {
        o.max_cert_list = Some(int(v)?);
        Ok(())
    }),
    ("-min-version", |o, v| {
        let version: u16 = int(v)?;
        // DTLS version numbers count down: 1.3 (0xfefc) is below 1.2 (0xfefd).
        if version != 0 && version < DTLS1_2 {
            return Err(unimplemented(format!("-min-version {version:#06x}: DTLS 1.3 is not implemented")));
        }
        o.min_version = Some(version);
        Ok(())
    }),
    ("-max-version", |o, v| {
        let version: u16 = int(v)?;
        if version != 0 && version > DTLS1_2 {
            return Err(unimplemented(format!("-max-version {version:#06x}: DTLS 1.0 is not implemented")));
        }
        o.max_version = Some(version);
        Ok(())
    }),
    ("-expect-total-renegotiations", |_, v| {
        // No renegotiation ever happens; zero is the only answer we can give.
        match int::<u32>(v)? {
            0 => Ok(()),
            _ => Err(unimplemented("-expect-total-renegotiations: renegotiation is refused (RFC 5746)")),
        }
    }),
];

/// Flags we know and refuse: (name, takes a value, the missing feature).
const REFUSED: &[(&str, bool, &str)] = &[
    ("-quic", false, "QUIC"),
    ("-write-settings", true, "handshake transcripts (-write-settings)"),
    ("-fallback-scsv", false, "TLS_FALLBACK_SCSV (DTLS 1.2 is the only version)"),
    ("-signing-prefs", true, "choosing our signature algorithms (no API)"),
    ("-expect-peer-verify-pref", true, "reporting the peer's signature algorithms (no API)"),
    ("-enable-ech-grease", false, "ECH (TLS 1.3)"),
    ("-ech-server-config", true, "ECH (TLS 1.3)"),
    ("-ech-server-key", true, "ECH (TLS 1.3)"),
    ("-ech-is-retry-config", true, "ECH (TLS 1.3)"),
    ("-expect-ech-accept", false, "ECH (TLS 1.3)"),
    ("-expect-ech-name-override", true, "ECH (TLS 1.3)"),
    ("-expect-no-ech-name-override", false, "ECH (TLS 1.3)"),
    ("-expect-ech-retry-configs", true, "ECH (TLS 1.3)"),
    ("-expect-no-ech-retry-configs", false, "ECH (TLS 1.3)"),
    ("-ech-config-list", true, "ECH (TLS 1.3)"),
    ("-expect-certificate-types", true, "reporting CertificateRequest contents (no API)"),
    ("-advertise-npn", true, "NPN"),
    ("-expect-next-proto", true, "NPN"),
    ("-select-next-proto", true, "NPN"),
    ("-false-start", false, "False Start"),
    ("-allow-false-start-without-alpn", false, "False Start"),
    ("-write-different-record-sizes", false, "TLS-only record sizing"),
    ("-cbc-record-splitting", false, "CBC cipher suites"),
    ("-partial-write", false, "partial writes (TLS only)"),
    ("-expect-channel-id", true, "Channel ID"),
    ("-enable-channel-id", false, "Channel ID"),
    ("-send-channel-id", true, "Channel ID"),
    ("-expect-late-alpn", true, "ALPN chosen after the handshake"),
    ("-select-empty-alpn", false, "selecting an empty ALPN protocol (invalid, RFC 7301 §3.1)"),
    ("-defer-alps", false, "ALPS"),
    ("-application-settings", true, "ALPS"),
    ("-expect-peer-application-settings", true, "ALPS"),
    ("-quic-transport-params", true, "QUIC"),
    ("-expect-quic-transport-params", true, "QUIC"),
    ("-quic-use-legacy-codepoint", true, "QUIC"),
    ("-quic-early-data-context", true, "QUIC"),
    ("-psk", true, "PSK cipher suites"),
    ("-psk-identity", true, "PSK cipher suites"),
    ("-enable-ocsp-stapling", false, "OCSP stapling"),
    ("-ocsp-response", true, "OCSP stapling"),
    ("-expect-ocsp-response", true, "OCSP stapling"),
    ("-use-ocsp-callback", false, "OCSP stapling"),
    ("-set-ocsp-in-callback", false, "OCSP stapling"),
    ("-decline-ocsp-callback", false, "OCSP stapling"),
    ("-fail-ocsp-callback", false, "OCSP stapling"),
    ("-enable-signed-cert-timestamps", false, "SCT (certificate transparency)"),
    ("-signed-cert-timestamps", true, "SCT (certificate transparency)"),
    ("-expect-signed-cert-timestamps", true, "SCT (certificate transparency)"),
    ("-fail-early-callback", false, "a failing early (ClientHello) callback (no API)"),
    ("-install-ddos-callback", false, "a DoS-protection ClientHello callback (no API)"),
    ("-fail-ddos-callback", false, "a DoS-protection ClientHello callback (no API)"),
    ("-fail-cert-callback", false, "a failing certificate callback (no API)"),
    ("-handshake-never-done", false, "stopping mid-handshake (no API)"),
    ("-tls-unique", false, "tls-unique channel binding (no API)"),
    ("-expect-no-session", false, "reporting whether a new session was stored (no API)"),
    ("-expect-ticket-supports-early-data", false, "0-RTT (TLS 1.3)"),
    ("-expect-accept-early-data", false, "0-RTT (TLS 1.3)"),
    ("-expect-reject-early-data", false, "0-RTT (TLS 1.3)"),
    ("-expect-no-offer-early-data", false, "0-RTT (TLS 1.3)"),
    ("-use-ticket-callback", false, "a ticket key callback (no API)"),
    ("-renew-ticket", false, "a ticket key callback (no API)"),
    ("-enable-early-data", false, "0-RTT (TLS 1.3)"),
    ("-verify-peer-if-no-obc", false, "Channel ID"),
    ("-renegotiate-once", false, "renegotiation (refused, RFC 5746)"),
    ("-renegotiate-freely", false, "renegotiation (refused, RFC 5746)"),
    ("-renegotiate-ignore", false, "renegotiation (refused, RFC 5746)"),
    ("-renegotiate-explicit", false, "renegotiation (refused, RFC 5746)"),
    ("-forbid-renegotiation-after-handshake", false, "renegotiation (refused, RFC 5746)"),
    ("-expect-peer-signature-algorithm", true, "reporting the peer's signature algorithm (no API)"),
    ("-use-client-ca-list", true, "certificate_authorities lists (no API)"),
    ("-expect-client-ca-list", true, "certificate_authorities lists (no API)"),
    ("-send-alert", false, "sending an arbitrary alert (no API)"),
    ("-peek-then-read", false, "SSL_peek (no equivalent)"),
    ("-enable-grease", false, "GREASE"),
    ("-permute-extensions", false, "ClientHello extension permutation"),
    ("-ticket-key", true, "setting the ticket key (no API)"),
    ("-use-exporter-between-reads", false, "renegotiation (refused, RFC 5746)"),
    ("-expect-cipher-aes", true, "reporting AES hardware support"),
    ("-expect-cipher-no-aes", true, "reporting AES hardware support"),
    ("-resumption-delay", true, "a delay before resuming (no API to move the clock of session lifetimes)"),
    ("-retain-only-sha256-client-cert", false, "keeping only a hash of the client certificate"),
    ("-expect-sha256-client-cert", false, "keeping only a hash of the client certificate"),
    ("-read-with-unfinished-write", false, "partial writes (no equivalent in a sans-IO engine)"),
    ("-expect-secure-renegotiation", false, "reporting renegotiation_info (no API)"),
    ("-expect-no-secure-renegotiation", false, "reporting renegotiation_info (no API)"),
    ("-max-send-fragment", true, "a record size cap below the MTU (no API)"),
    ("-read-size", true, "short reads (SSL_read sizes have no equivalent)"),
    ("-expect-ticket-age-skew", true, "0-RTT (TLS 1.3)"),
    ("-no-op-extra-handshake", false, "SSL_do_handshake idempotence (no equivalent)"),
    ("-handshake-twice", false, "SSL_do_handshake idempotence (no equivalent)"),
    ("-allow-unknown-alpn-protos", false, "accepting an ALPN protocol we did not offer"),
    ("-expect-msg-callback", true, "a message callback (no API)"),
    ("-handoff", false, "split handshakes"),
    ("-handshake-hints", false, "split handshakes"),
    ("-allow-hint-mismatch", false, "split handshakes"),
    ("-install-cert-compression-algs", false, "certificate compression (TLS 1.3)"),
    ("-install-one-cert-compression-alg", true, "certificate compression (TLS 1.3)"),
    ("-enforce-rsa-key-usage", false, "RSA key usage enforcement switch"),
    ("-handshaker-resume", false, "split handshakes"),
    ("-handshaker-path", true, "split handshakes"),
    ("-jdk11-workaround", false, "the JDK 11 workaround (TLS 1.3)"),
    ("-server-preference", false, "a cipher preference switch (no API)"),
    ("-export-traffic-secrets", false, "TLS 1.3 traffic secrets"),
    ("-key-update", false, "KeyUpdate (TLS 1.3)"),
    ("-expect-delegated-credential-used", false, "delegated credentials (TLS 1.3)"),
    ("-delegated-credential", true, "delegated credentials (TLS 1.3)"),
    ("-expect-early-data-reason", true, "0-RTT (TLS 1.3)"),
    ("-expect-hrr", false, "HelloRetryRequest (TLS 1.3)"),
    ("-wait-for-debugger", false, "a debugger"),
    ("-early-write-after-message", true, "0-RTT (TLS 1.3)"),
];

/// Parse the runner's arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Command, Refusal> {
    if args.iter().any(|a| a == "-is-handshaker-supported") {
        return Ok(Command::HandshakerQuery);
    }
    let mut initial = Opts::default();
    let mut resume = Opts::default();
    let mut i = 0;
    while i < args.len() {
        let raw = args[i].as_str();
        i += 1;
        let (name, skip) = match strip_prefix(raw, "-on-shim") {
            Some(n) => (n, false),
            None => match strip_prefix(raw, "-on-handshaker") {
                Some(n) => (n, true),
                None => (raw, false),
            },
        };
        // Which connections the flag applies to.
        let (name, initial_only, resume_only, retry_only) = if let Some(n) = strip_prefix(name, "-on-initial") {
            (n, true, false, false)
        } else if let Some(n) = strip_prefix(name, "-on-resume") {
            (n, false, true, false)
        } else if let Some(n) = strip_prefix(name, "-on-retry") {
            (n, false, false, true)
        } else {
            (name, false, false, false)
        };
        let (setter, value) = if let Some((_, set)) = BOOL_FLAGS.iter().find(|(n, _)| *n == name) {
            (*set, "")
        } else if let Some((_, set)) = VALUE_FLAGS.iter().find(|(n, _)| *n == name) {
            let Some(v) = args.get(i) else {
                return Err(Refusal::Invalid(format!("missing value for {name}")));
            };
            i += 1;
            (*set, v.as_str())
        } else if let Some((_, _, why)) = REFUSED.iter().find(|(n, _, _)| *n == name) {
            return Err(unimplemented(format!("{name}: {why}")));
        } else {
            return Err(unimplemented(format!("unknown flag {name}")));
        };
        // The 0-RTT retry connection does not exist in DTLS 1.2.
        if skip || retry_only {
            continue;
        }
        if !resume_only {
            setter(&mut initial, value)?;
        }
        if !initial_only {
            setter(&mut resume, value)?;
        }
    }
    Ok(Command::Run { initial: Box::new(initial), resume: Box::new(resume) })
}

/// `-on-resume-verify-fail` with prefix `-on-resume` gives `-verify-fail`.
fn strip_prefix<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.strip_prefix(prefix).filter(|rest| rest.starts_with('-'))
}

/// The ALPN wire format (RFC 7301 §3.1): length-prefixed protocol names.
fn decode_alpn_list(mut wire: &[u8]) -> Result<Vec<Vec<u8>>, Refusal> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = wire.split_first() {
        let len = usize::from(len);
        if len == 0 || rest.len() < len {
            return Err(unimplemented("-advertise-alpn with an empty or truncated protocol name"));
        }
        out.push(rest[..len].to_vec());
        wire = &rest[len..];
    }
    Ok(out)
}

fn srtp_profile(name: &str) -> Result<SrtpProtectionProfile, Refusal> {
    use SrtpProtectionProfile as P;
    Ok(match name {
        "SRTP_AES128_CM_SHA1_80" => P::SRTP_AES128_CM_SHA1_80,
        "SRTP_AES128_CM_SHA1_32" => P::SRTP_AES128_CM_SHA1_32,
        "SRTP_AEAD_AES_128_GCM" => P::SRTP_AEAD_AES_128_GCM,
        "SRTP_AEAD_AES_256_GCM" => P::SRTP_AEAD_AES_256_GCM,
        other => return Err(unimplemented(format!("SRTP profile {other}"))),
    })
}

/// BoringSSL's `SSL_CURVE_*` numbers are the TLS NamedGroup code points.
fn curve(id: u16) -> Result<NamedGroup, Refusal> {
    match NamedGroup::from(id) {
        g @ (NamedGroup::X25519 | NamedGroup::Secp256r1 | NamedGroup::Secp384r1) => Ok(g),
        _ => Err(unimplemented(format!("-curves {id}: group not implemented"))),
    }
}

/// A BoringSSL cipher string, as far as it names suites we have: `DEFAULT`, `ALL` and
/// `HIGH` (all of ours), or `:`-separated OpenSSL or IANA suite names.
fn cipher_list(rule: &str) -> Result<Option<Vec<CipherSuite>>, Refusal> {
    if matches!(rule, "DEFAULT" | "ALL" | "HIGH") {
        return Ok(None);
    }
    let mut suites = Vec::new();
    for name in rule.split([':', ',', ' ']).filter(|p| !p.is_empty()) {
        match dtls_engine::internals::suites::by_name(name) {
            Some(s) => suites.push(s.suite),
            None => return Err(unimplemented(format!("-cipher {rule}: {name} is not one of our suites"))),
        }
    }
    Ok(Some(suites))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn prefixes_split_connections() {
        let Ok(Command::Run { initial, resume }) =
            parse(&args(&["-dtls", "-on-resume-verify-fail", "-on-initial-mtu", "300", "-curves", "29"]))
        else {
            panic!("parse failed");
        };
        assert!(initial.dtls && resume.dtls);
        assert!(!initial.verify_fail && resume.verify_fail);
        assert_eq!((initial.mtu, resume.mtu), (Some(300), None));
        assert_eq!(initial.curves, vec![NamedGroup::X25519]);
    }

    #[test]
    fn refusals() {
        assert!(matches!(parse(&args(&["-psk", "x"])), Err(Refusal::Unimplemented(_))));
        assert!(matches!(parse(&args(&["-no-such-flag"])), Err(Refusal::Unimplemented(_))));
        assert!(matches!(parse(&args(&["-max-version", "65279"])), Err(Refusal::Unimplemented(_))));
        assert!(matches!(parse(&args(&["-cipher", "DEFAULT:NULL-SHA"])), Err(Refusal::Unimplemented(_))));
        assert!(matches!(parse(&args(&["-mtu"])), Err(Refusal::Invalid(_))));
    }

    #[test]
    fn alpn_wire_format() {
        assert_eq!(decode_alpn_list(b"\x03foo\x01x").ok(), Some(vec![b"foo".to_vec(), b"x".to_vec()]));
        assert!(decode_alpn_list(b"\x03fo").is_err());
    }
}
