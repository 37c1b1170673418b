//! Interop against GnuTLS 3.7 over loopback: `gnutls-cli --udp` against our server, and
//! our client against `gnutls-serv --udp --echo`.
//!
//! Every case completes a handshake, checks what was negotiated (on our side, and on
//! `gnutls-cli`'s printout), checks that our NSS key log line equals the one GnuTLS wrote
//! to `SSLKEYLOGFILE` for the same connection (same client random, same master secret),
//! sends data both ways and closes with close_notify.
//!
//! `gnutls-serv` binds every interface, so the cases with it run in a private network
//! namespace: each `our_client::*` test re-runs this binary under `unshare --net --pid` for the
//! single test [`netns_inner`], which does nothing unless started that way (see
//! `common::netns`). They need root (or `CAP_SYS_ADMIN`), `unshare` (util-linux), `ip`
//! (iproute2) and `gnutls-bin`, and fail, never skip, without them.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::certs::{CertKey, fresh_temp_dir, pki};
use common::gnutls::{
    CLI_ALPN, CLI_DESCRIPTION, CLI_HANDSHAKE_DONE, CLI_KEY_MATERIAL, CLI_OPTIONS, CLI_PEER_CLOSED, CLI_SRTP,
    CLI_TRUSTED, GnutlsPeer, SERV_EOF, SERV_RECEIVED, gnutls_cli, gnutls_serv,
};
use common::keylog::MemoryKeyLog;
use common::netns;
use common::openssl::{hex_decode, hex_lower, read_key_log};
use common::udp::{DriveError, UdpPeer};
use dtls_engine::{CipherSuite, ClientConfig, NamedGroup, ServerConfig, SrtpProtectionProfile};

/// Budget for each step (handshake, one message, close); loopback needs far less.
const STEP: Duration = Duration::from_secs(5);

/// Budget for one whole case in its network namespace, PKI generation included.
const NETNS_CASE: Duration = Duration::from_secs(90);

/// The port `gnutls-serv` listens on; each namespace has a loopback of its own.
const SERV_PORT: u16 = 5556;

/// Which certificate the server presents; all are signed by `pki.ca`.
#[derive(Clone, Copy, Debug)]
enum Cert {
    /// ECDSA P-256 (SEC1 key).
    Ecdsa,
    /// RSA-2048 (PKCS#1 key).
    Rsa,
}

impl Cert {
    fn files(self) -> &'static CertKey {
        match self {
            Self::Ecdsa => &pki().server_p256,
            Self::Rsa => &pki().server_rsa,
        }
    }

    /// How `gnutls-cli` names the signature of our ServerKeyExchange.
    fn gnutls_signature(self) -> &'static str {
        match self {
            Self::Ecdsa => "ECDSA-SHA256",
            Self::Rsa => "RSA-PSS-RSAE-SHA256",
        }
    }
}

/// The AEAD of the suite, which is what a GnuTLS priority string pins.
#[derive(Clone, Copy, Debug)]
enum Aead {
    Aes128Gcm,
    Aes256Gcm,
    Chacha20Poly1305,
}

impl Aead {
    /// The GnuTLS cipher name (in priority strings and in `- Description:`).
    fn gnutls_name(self) -> &'static str {
        match self {
            Self::Aes128Gcm => "AES-128-GCM",
            Self::Aes256Gcm => "AES-256-GCM",
            Self::Chacha20Poly1305 => "CHACHA20-POLY1305",
        }
    }

    /// DTLS 1.2 only, this cipher only, everything else GnuTLS's `NORMAL`.
    fn priority(self) -> String {
        format!("NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+{}", self.gnutls_name())
    }

    /// The suite that must be negotiated with a certificate of kind `cert`.
    fn suite(self, cert: Cert) -> CipherSuite {
        use CipherSuite as S;
        match (cert, self) {
            (Cert::Ecdsa, Self::Aes128Gcm) => S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            (Cert::Ecdsa, Self::Aes256Gcm) => S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            (Cert::Ecdsa, Self::Chacha20Poly1305) => S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            (Cert::Rsa, Self::Aes128Gcm) => S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            (Cert::Rsa, Self::Aes256Gcm) => S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            (Cert::Rsa, Self::Chacha20Poly1305) => S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        }
    }
}

/// How `gnutls-cli` names a key exchange group (`ECDHE-SECP256R1`).
fn gnutls_group(group: NamedGroup) -> &'static str {
    match group {
        NamedGroup::X25519 => "X25519",
        NamedGroup::Secp256r1 => "SECP256R1",
        NamedGroup::Secp384r1 => "SECP384R1",
        other => panic!("no GnuTLS name for {other:?}"),
    }
}

/// One scenario; both roles run it.
#[derive(Clone, Copy, Debug)]
struct Case {
    cert: Cert,
    aead: Aead,
    /// ALPN: the GnuTLS peer offers or accepts `webrtc` and `h2` (see [`ALPN`]).
    alpn: bool,
    /// use_srtp: GnuTLS offers `SRTP_AES128_CM_HMAC_SHA1_80` only; we offer an AEAD
    /// profile first, which GnuTLS 3.7 does not know.
    srtp: bool,
    /// The client presents `pki.client`; the server requires and verifies it.
    mutual: bool,
}

impl Case {
    const fn new(cert: Cert, aead: Aead) -> Self {
        Self { cert, aead, alpn: false, srtp: false, mutual: false }
    }

    const fn alpn(mut self) -> Self {
        self.alpn = true;
        self
    }

    const fn srtp(mut self) -> Self {
        self.srtp = true;
        self
    }

    const fn mutual(mut self) -> Self {
        self.mutual = true;
        self
    }
}

/// ALPN lists: ours in our preference order, GnuTLS's in its order.
const OUR_ALPN: [&[u8]; 2] = [b"h2", b"webrtc"];
const GNUTLS_ALPN: [&str; 2] = ["webrtc", "h2"];

/// What our use_srtp offer is, and what must come of it with GnuTLS.
const OUR_SRTP: [SrtpProtectionProfile; 2] =
    [SrtpProtectionProfile::SRTP_AEAD_AES_128_GCM, SrtpProtectionProfile::SRTP_AES128_CM_SHA1_80];
const GNUTLS_SRTP: &str = "SRTP_AES128_CM_HMAC_SHA1_80";
/// RFC 5764 §4.2: 2 * (16-byte key + 14-byte salt) for AES128_CM_HMAC_SHA1_80.
const SRTP_MATERIAL_LEN: usize = 60;

/// Our key log equals GnuTLS's for this connection: one `CLIENT_RANDOM` line, same bytes.
fn check_key_log(ours: &MemoryKeyLog, gnutls_file: &Path, peer: &GnutlsPeer) {
    let theirs = read_key_log(gnutls_file, STEP);
    assert_eq!(theirs.len(), 1, "GnuTLS key log {theirs:?}\n{}", peer.transcript());
    assert!(theirs[0].starts_with("CLIENT_RANDOM "), "{theirs:?}");
    assert_eq!(ours.lines(), theirs, "our key log differs from GnuTLS's");
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Unwraps a drive result, or panics with the GnuTLS transcript.
fn ok<T>(res: Result<T, DriveError>, what: &str, peer: &GnutlsPeer) -> T {
    match res {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e:?}\n{}", peer.transcript()),
    }
}

/// A fresh path for GnuTLS's `SSLKEYLOGFILE`.
fn key_log_path() -> PathBuf {
    fresh_temp_dir("dtls-engine-gnutls-keylog").join("gnutls.keylog")
}

// ---------------------------------------------------------------------------------------
// gnutls-cli against our server (root namespace, 127.0.0.1)

fn server_config(case: &Case, key_log: Arc<MemoryKeyLog>) -> Arc<ServerConfig> {
    let pki = pki();
    let cert = case.cert.files();
    let mut b = ServerConfig::builder()
        .certificate_pem(&cert.cert_pem(), &cert.key_pem())
        .expect("server certificate")
        .key_log(key_log);
    if case.alpn {
        b = b.alpn_protocols(&OUR_ALPN);
    }
    if case.srtp {
        b = b.srtp_profiles(&OUR_SRTP);
    }
    if case.mutual {
        b = b.require_client_certificate_pem(&pki.ca.cert_pem()).expect("client CA");
    }
    b.build().expect("server config")
}

/// Spawns `gnutls-cli` for `case` against our server and completes the handshake.
fn connect_gnutls_cli(case: &Case, key_log: &Arc<MemoryKeyLog>, gnutls_key_log: &Path) -> (UdpPeer, GnutlsPeer) {
    let pki = pki();
    let mut us = UdpPeer::server(server_config(case, Arc::clone(key_log)));
    let mut cli = gnutls_cli(us.port()).ca_file(&pki.ca.cert).priority(&case.aead.priority()).key_log(gnutls_key_log);
    if case.alpn {
        cli = cli.alpn(&GNUTLS_ALPN);
    }
    if case.srtp {
        cli = cli.srtp_profiles(&[GNUTLS_SRTP]).keymatexport("EXTRACTOR-dtls_srtp", SRTP_MATERIAL_LEN);
    }
    if case.mutual {
        cli = cli.cert(&pki.client);
    }
    let cli = cli.spawn();
    ok(us.run_until_connected(STEP), "handshake", &cli);
    // gnutls-cli must have finished too before anything is written to its stdin.
    ok(us.run_until(STEP, "gnutls-cli handshake done", |_| cli.has_output(CLI_HANDSHAKE_DONE)), "gnutls-cli", &cli);
    (us, cli)
}

fn gnutls_cli_vs_our_server(case: Case) {
    let key_log = Arc::new(MemoryKeyLog::default());
    let gnutls_key_log = key_log_path();
    let (mut us, mut cli) = connect_gnutls_cli(&case, &key_log, &gnutls_key_log);

    // What was negotiated, as both sides see it.
    let session = us.session();
    let suite = case.aead.suite(case.cert);
    assert_eq!(session.cipher_suite(), Some(suite));
    let group = session.negotiated_group().expect("an ECDHE group");
    cli.expect_output(CLI_TRUSTED, STEP);
    assert_eq!(
        cli.expect_line_after(CLI_DESCRIPTION, STEP),
        format!(
            "(DTLS1.2-X.509)-(ECDHE-{})-({})-({})",
            gnutls_group(group),
            case.cert.gnutls_signature(),
            case.aead.gnutls_name()
        ),
        "{}",
        cli.transcript()
    );
    assert!(session.extended_master_secret());
    assert!(cli.expect_line_after(CLI_OPTIONS, STEP).contains("extended master secret"));
    if case.alpn {
        assert_eq!(session.alpn_protocol(), Some(&b"h2"[..]), "our server picks by its own order");
        assert_eq!(cli.expect_line_after(CLI_ALPN, STEP), "h2");
    } else {
        assert_eq!(session.alpn_protocol(), None);
        assert!(!cli.has_output(CLI_ALPN));
    }
    if case.srtp {
        assert_eq!(session.srtp_profile(), Some(SrtpProtectionProfile::SRTP_AES128_CM_SHA1_80));
        assert_eq!(cli.expect_line_after(CLI_SRTP, STEP), GNUTLS_SRTP);
        let theirs = cli.expect_line_after(CLI_KEY_MATERIAL, STEP);
        let theirs = hex_decode(theirs.trim()).unwrap_or_else(|| panic!("bad key material {theirs:?}"));
        let ours = session.srtp_keying_material().expect("SRTP keying material").to_bytes();
        assert_eq!(ours.len(), SRTP_MATERIAL_LEN);
        assert_eq!(hex_lower(&ours), hex_lower(&theirs), "SRTP keying material differs from GnuTLS's");
    } else {
        assert_eq!(session.srtp_profile(), None);
    }
    if case.mutual {
        assert!(session.peer_certificates().is_some_and(|c| !c.is_empty()), "client certificate not recorded");
    }
    check_key_log(&key_log, &gnutls_key_log, &cli);

    // Data both ways: gnutls-cli sends each stdin line with its `\n`, prints what it gets.
    cli.write_line("hello from gnutls-cli");
    assert_eq!(ok(us.recv_app_data(STEP), "data from gnutls-cli", &cli), b"hello from gnutls-cli\n");
    ok(us.send(b"hello from dtls-engine server\n"), "send", &cli);
    ok(
        us.run_until(STEP, "gnutls-cli to print our line", |_| cli.has_output("hello from dtls-engine server")),
        "our data at gnutls-cli",
        &cli,
    );

    // At stdin EOF gnutls-cli sends close_notify and exits 0; our session answers it.
    cli.close_stdin();
    ok(us.run_until_peer_closed(STEP), "close_notify from gnutls-cli", &cli);
    assert!(us.session().is_closed());
    let status = cli.wait_exit(STEP);
    assert!(status.is_some_and(|s| s.success()), "gnutls-cli exit {status:?}\n{}", cli.transcript());
}

// ---------------------------------------------------------------------------------------
// Our client against gnutls-serv (inside a private network namespace)

fn client_config(case: &Case, key_log: Arc<MemoryKeyLog>) -> Arc<ClientConfig> {
    let pki = pki();
    let mut b = ClientConfig::builder()
        .root_certificates_pem(&pki.ca.cert_pem())
        .expect("root certificates")
        .server_name("localhost")
        .key_log(key_log);
    if case.alpn {
        b = b.alpn_protocols(&OUR_ALPN);
    }
    if case.srtp {
        b = b.srtp_profiles(&OUR_SRTP);
    }
    if case.mutual {
        b = b.client_certificate_pem(&pki.client.cert_pem(), &pki.client.key_pem()).expect("client certificate");
    }
    b.build().expect("client config")
}

/// Runs inside the namespace only (see [`netns_inner`]).
fn our_client_vs_gnutls_serv(case: Case) {
    let pki = pki();
    let gnutls_key_log = key_log_path();
    let mut serv =
        gnutls_serv(SERV_PORT).cert(case.cert.files()).priority(&case.aead.priority()).key_log(&gnutls_key_log);
    if case.alpn {
        serv = serv.alpn(&GNUTLS_ALPN);
    }
    if case.srtp {
        serv = serv.srtp_profiles(&[GNUTLS_SRTP]);
    }
    if case.mutual {
        serv = serv.require_client_cert(&pki.ca.cert);
    }
    let mut serv = serv.spawn();

    let key_log = Arc::new(MemoryKeyLog::default());
    let mut us = UdpPeer::client(client_config(&case, Arc::clone(&key_log)), loopback(SERV_PORT));
    ok(us.run_until_connected(STEP), "handshake", &serv);

    // gnutls-serv prints no session details over UDP: what was negotiated is checked on
    // our side, and the key log proves both sides derived the same master secret.
    let session = us.session();
    assert_eq!(session.cipher_suite(), Some(case.aead.suite(case.cert)));
    assert!(session.negotiated_group().is_some());
    assert!(session.extended_master_secret());
    assert!(session.peer_certificates().is_some_and(|c| !c.is_empty()), "no server certificate recorded");
    if case.alpn {
        // GnuTLS (without GNUTLS_ALPN_SERVER_PRECEDENCE, as gnutls-serv sets it up) takes
        // the first protocol of the client's list that it knows.
        assert_eq!(session.alpn_protocol(), Some(OUR_ALPN[0]));
    } else {
        assert_eq!(session.alpn_protocol(), None);
    }
    if case.srtp {
        assert_eq!(session.srtp_profile(), Some(SrtpProtectionProfile::SRTP_AES128_CM_SHA1_80));
        let km = session.srtp_keying_material().expect("SRTP keying material");
        assert_eq!(km.to_bytes().len(), SRTP_MATERIAL_LEN);
    } else {
        assert_eq!(session.srtp_profile(), None);
    }
    check_key_log(&key_log, &gnutls_key_log, &serv);

    // gnutls-serv --echo sends every record back (over UDP, at most 254 bytes of it).
    for message in [&b"hello from dtls-engine client\n"[..], &[0xa5; 254][..]] {
        ok(us.send(message), "send", &serv);
        assert_eq!(ok(us.recv_app_data(STEP), "echo from gnutls-serv", &serv), message);
    }
    // Our first record of epoch 1 has sequence number 1 (the Finished had 0).
    assert_eq!(serv.expect_line_after(SERV_RECEIVED, STEP), "0001000000000001]: hello from dtls-engine client");

    // We close; gnutls-serv reports our close_notify (and, over UDP, does not answer it).
    us.close_and_flush();
    serv.expect_output(SERV_EOF, STEP);
    assert!(us.session().is_closed());
    assert!(!serv.has_output("Error in recv()"), "{}", serv.transcript());
    serv.kill();
}

// ---------------------------------------------------------------------------------------
// The matrix

/// One test per case and role: `our_server::NAME` runs `gnutls-cli` against our server;
/// `our_client::NAME` runs our client against `gnutls-serv` in a private network
/// namespace, by re-running this binary's [`netns_inner`] for case `NAME`.
macro_rules! matrix {
    ($( $name:ident => $case:expr; )*) => {
        mod our_server {
            use super::*;
            $( #[test] fn $name() { gnutls_cli_vs_our_server($case) } )*
        }
        mod our_client {
            use super::*;
            $(
                #[test]
                fn $name() {
                    common::gnutls::require_gnutls();
                    netns::run_in_private_netns("netns_inner", stringify!($name), NETNS_CASE);
                }
            )*
        }
        /// The case named `name`, for [`netns_inner`].
        fn case_named(name: &str) -> Option<Case> {
            match name {
                $( stringify!($name) => Some($case), )*
                _ => None,
            }
        }
    };
}

use Aead::{Aes128Gcm, Aes256Gcm, Chacha20Poly1305};

matrix! {
    // Every AEAD suite, with an ECDSA P-256 and an RSA-2048 certificate.
    ecdsa_aes128_gcm => Case::new(Cert::Ecdsa, Aes128Gcm);
    ecdsa_aes256_gcm => Case::new(Cert::Ecdsa, Aes256Gcm);
    ecdsa_chacha20_poly1305 => Case::new(Cert::Ecdsa, Chacha20Poly1305);
    rsa_aes128_gcm => Case::new(Cert::Rsa, Aes128Gcm);
    rsa_aes256_gcm => Case::new(Cert::Rsa, Aes256Gcm);
    rsa_chacha20_poly1305 => Case::new(Cert::Rsa, Chacha20Poly1305);

    // ALPN (RFC 7301) and use_srtp (RFC 5764), alone and together.
    alpn => Case::new(Cert::Ecdsa, Aes128Gcm).alpn();
    srtp => Case::new(Cert::Ecdsa, Aes128Gcm).srtp();
    alpn_and_srtp_rsa => Case::new(Cert::Rsa, Aes256Gcm).alpn().srtp();

    // Mutual authentication: the server requires and verifies the client's certificate.
    mutual_auth => Case::new(Cert::Ecdsa, Aes128Gcm).mutual();
}

/// The half of every `our_client::*` test that runs inside its private network namespace.
/// Under a plain `cargo test` it returns at once (it is started for real, with
/// `DTLS_ENGINE_NETNS_CASE` naming the case, by `common::netns::run_in_private_netns`).
#[test]
fn netns_inner() {
    let Some(name) = netns::inner_case() else {
        return;
    };
    let case = case_named(&name).unwrap_or_else(|| panic!("no case named {name:?}"));
    our_client_vs_gnutls_serv(case);
    println!("{}", netns::passed_marker(&name));
}

/// Our server closes first: `gnutls-cli` reports our close_notify and exits.
#[test]
fn our_server_closes_first() {
    let case = Case::new(Cert::Ecdsa, Aes128Gcm);
    let key_log = Arc::new(MemoryKeyLog::default());
    let (mut us, mut cli) = connect_gnutls_cli(&case, &key_log, &key_log_path());
    us.close_and_flush();
    cli.expect_output(CLI_PEER_CLOSED, STEP);
    assert!(cli.wait_exit(STEP).is_some(), "gnutls-cli still running\n{}", cli.transcript());
    assert!(us.session_mut().send(b"too late").is_err());
}
