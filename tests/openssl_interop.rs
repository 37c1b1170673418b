//! Interop matrix against OpenSSL 3 over loopback: our client against `openssl s_server`,
//! and `openssl s_client` against our server.
//!
//! Every case completes a handshake, checks what was negotiated on both sides, sends one
//! line each way and closes with close_notify. When one fails, run
//! `cargo test --test harness_selftest` first: it runs the same OpenSSL configurations
//! against each other.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::certs::{CertKey, TestPki, pki};
use common::openssl::{
    CLIENT_HANDSHAKE_DONE, OpensslPeer, SERVER_CONNECTION_CLOSED, SERVER_HANDSHAKE_DONE, s_client, s_server,
};
use common::udp::{DriveError, UdpPeer};
use dtls_engine::{AlertDescription, CipherSuite, ClientConfig, Error, NamedGroup, ServerConfig};

/// Budget for each step (handshake, one line, close); loopback needs far less.
const STEP: Duration = Duration::from_secs(5);

/// Which certificate our server (or `s_server`) presents; the trust anchor follows.
#[derive(Clone, Copy, Debug)]
enum Cert {
    P256,
    /// Leaf + CA in one PEM file.
    P256Chain,
    P384,
    Rsa,
    /// Self-signed, `CA:TRUE`, and its own trust anchor.
    SelfSigned,
}

impl Cert {
    fn server(self, pki: &TestPki) -> &CertKey {
        match self {
            Self::P256 => &pki.server_p256,
            Self::P256Chain => &pki.server_p256_chain,
            Self::P384 => &pki.server_p384,
            Self::Rsa => &pki.server_rsa,
            Self::SelfSigned => &pki.self_signed,
        }
    }

    fn trust_anchor(self, pki: &TestPki) -> &CertKey {
        match self {
            Self::SelfSigned => &pki.self_signed,
            _ => &pki.ca,
        }
    }
}

/// One scenario; both roles run it.
#[derive(Clone, Copy, Debug)]
struct Case {
    cert: Cert,
    /// Pin one suite on both sides: ours and its OpenSSL name.
    suite: Option<(CipherSuite, &'static str)>,
    /// Pin one group on both sides: ours, its OpenSSL name, and what `s_client` prints.
    group: Option<(NamedGroup, &'static str, &'static str)>,
    /// The client presents `pki.client`; the server requires it.
    mutual: bool,
    /// MTU 256 on both sides.
    mtu_256: bool,
    /// `s_server -listen` (client role only).
    listen: bool,
}

impl Case {
    const fn new(cert: Cert) -> Self {
        Self { cert, suite: None, group: None, mutual: false, mtu_256: false, listen: false }
    }

    const fn suite(mut self, ours: CipherSuite, name: &'static str) -> Self {
        self.suite = Some((ours, name));
        self
    }

    const fn group(mut self, ours: NamedGroup, name: &'static str, printed: &'static str) -> Self {
        self.group = Some((ours, name, printed));
        self
    }

    const fn mutual(mut self) -> Self {
        self.mutual = true;
        self
    }

    const fn mtu_256(mut self) -> Self {
        self.mtu_256 = true;
        self
    }

    const fn listen(mut self) -> Self {
        self.listen = true;
        self
    }
}

fn client_config(case: &Case, trust: &CertKey) -> Arc<ClientConfig> {
    let pki = pki();
    let mut b = ClientConfig::builder()
        .root_certificates_pem(&trust.cert_pem())
        .expect("root certificates")
        .server_name("localhost")
        .rng_seed(seed_for(case));
    if let Some((suite, _)) = case.suite {
        b = b.cipher_suites(&[suite]);
    }
    if let Some((group, _, _)) = case.group {
        b = b.groups(&[group]);
    }
    if case.mtu_256 {
        b = b.mtu(256);
    }
    if case.mutual {
        b = b.client_certificate_pem(&pki.client.cert_pem(), &pki.client.key_pem()).expect("client certificate");
    }
    b.build().expect("client config")
}

fn server_config(case: &Case) -> Arc<ServerConfig> {
    let pki = pki();
    let cert = case.cert.server(pki);
    let mut b = ServerConfig::builder()
        .certificate_pem(&cert.cert_pem(), &cert.key_pem())
        .expect("server certificate")
        .rng_seed(seed_for(case));
    if let Some((suite, _)) = case.suite {
        b = b.cipher_suites(&[suite]);
    }
    if let Some((group, _, _)) = case.group {
        b = b.groups(&[group]);
    }
    if case.mtu_256 {
        b = b.mtu(256);
    }
    if case.mutual {
        b = b.require_client_certificate_pem(&pki.ca.cert_pem()).expect("client CA");
    }
    b.build().expect("server config")
}

/// Deterministic randomness per case, so a failure reproduces with the same bytes on
/// our side (OpenSSL's side still varies).
fn seed_for(case: &Case) -> [u8; 32] {
    let mut seed = [0u8; 32];
    for (i, b) in format!("{case:?}").bytes().enumerate() {
        seed[i % 32] = seed[i % 32].wrapping_mul(31).wrapping_add(b);
    }
    seed
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Unwraps a drive result, or panics with the OpenSSL transcript.
fn ok<T>(res: Result<T, DriveError>, what: &str, openssl: &OpensslPeer) -> T {
    match res {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e:?}\n{}", openssl.transcript()),
    }
}

/// Our client against `openssl s_server`.
fn our_client_vs_s_server(case: Case) {
    let pki = pki();
    let mut server = s_server().cert(case.cert.server(pki));
    if let Some((_, name)) = case.suite {
        server = server.cipher(name);
    }
    if let Some((_, name, _)) = case.group {
        server = server.groups(name);
    }
    if case.mtu_256 {
        server = server.mtu(256);
    }
    if case.mutual {
        server = server.require_client_cert(&pki.ca.cert);
    }
    if case.listen {
        server = server.listen();
    }
    let mut srv = server.spawn();

    let config = client_config(&case, case.cert.trust_anchor(pki));
    let mut us = UdpPeer::client(config, loopback(srv.port));
    ok(us.run_until_connected(STEP), "handshake", &srv);
    ok(
        us.run_until(STEP, "s_server handshake done", |_| srv.has_output(SERVER_HANDSHAKE_DONE)),
        "s_server handshake",
        &srv,
    );

    // What was negotiated, as both sides see it.
    let session = us.session();
    if let Some((suite, name)) = case.suite {
        assert_eq!(session.cipher_suite(), Some(suite));
        srv.expect_output(&format!("CIPHER is {name}"), STEP);
    }
    if let Some((group, _, _)) = case.group {
        assert_eq!(session.negotiated_group(), Some(group));
    }
    assert!(session.peer_certificates().is_some_and(|c| !c.is_empty()), "no server certificate recorded");
    if case.mutual {
        srv.expect_output("subject=CN = client.localhost", STEP);
    }

    // One line each way.
    ok(us.send(b"hello from dtls-engine client\n"), "send", &srv);
    ok(
        us.run_until(STEP, "s_server to print our line", |_| srv.has_output("hello from dtls-engine client")),
        "our data at s_server",
        &srv,
    );
    srv.write_line("hello from s_server");
    let got = ok(us.recv_app_data(STEP), "data from s_server", &srv);
    assert_eq!(got, b"hello from s_server\n");

    // We close; s_server reports the close_notify and, being one-shot, exits cleanly.
    us.close_and_flush();
    srv.expect_output(SERVER_CONNECTION_CLOSED, STEP);
    srv.expect_output("shutting down SSL", STEP);
    let status = srv.wait_exit(STEP);
    assert!(status.is_some_and(|s| s.success()), "s_server exit {status:?}\n{}", srv.transcript());

    if case.mtu_256 {
        assert!(us.max_datagram_sent <= 256, "sent a {}-byte datagram at MTU 256", us.max_datagram_sent);
    }
}

/// `openssl s_client` against our server.
fn s_client_vs_our_server(case: Case) {
    let pki = pki();
    let mut us = UdpPeer::server(server_config(&case));

    let mut client = s_client(us.port()).ca_file(&case.cert.trust_anchor(pki).cert);
    if let Some((_, name)) = case.suite {
        client = client.cipher(name);
    }
    if let Some((_, name, _)) = case.group {
        client = client.groups(name);
    }
    if case.mtu_256 {
        client = client.mtu(256);
    }
    if case.mutual {
        client = client.cert(&pki.client);
    }
    let mut cli = client.spawn();

    ok(us.run_until_connected(STEP), "handshake", &cli);
    // s_client must have finished too before anything is written to its stdin.
    ok(
        us.run_until(STEP, "s_client handshake done", |_| cli.has_output(CLIENT_HANDSHAKE_DONE)),
        "s_client handshake",
        &cli,
    );
    cli.expect_output("Verify return code: 0 (ok)", STEP);

    let session = us.session();
    if let Some((suite, name)) = case.suite {
        assert_eq!(session.cipher_suite(), Some(suite));
        cli.expect_output(&format!("Cipher is {name}"), STEP);
    }
    if let Some((group, _, printed)) = case.group {
        assert_eq!(session.negotiated_group(), Some(group));
        cli.expect_output(printed, STEP);
    }
    if case.mutual {
        assert!(session.peer_certificates().is_some_and(|c| !c.is_empty()), "client certificate not recorded");
    }

    ok(us.send(b"hello from dtls-engine server\n"), "send", &cli);
    ok(
        us.run_until(STEP, "s_client to print our line", |_| cli.has_output("hello from dtls-engine server")),
        "our data at s_client",
        &cli,
    );
    cli.write_line("hello from s_client");
    let got = ok(us.recv_app_data(STEP), "data from s_client", &cli);
    assert_eq!(got, b"hello from s_client\n");

    // `Q` makes s_client send close_notify (it prints DONE) and exit.
    cli.write_line("Q");
    ok(us.run_until_peer_closed(STEP), "close_notify from s_client", &cli);
    assert!(us.session().is_closed() || us.peer_closed());
    cli.expect_output("DONE", STEP);

    if case.mtu_256 {
        assert!(us.max_datagram_sent <= 256, "sent a {}-byte datagram at MTU 256", us.max_datagram_sent);
    }
}

/// One test per case and role: `our_client::NAME` and `our_server::NAME`.
macro_rules! matrix {
    ($( $name:ident => $case:expr; )*) => {
        mod our_client {
            use super::*;
            $( #[test] fn $name() { our_client_vs_s_server($case) } )*
        }
        mod our_server {
            use super::*;
            $( #[test] fn $name() { s_client_vs_our_server($case) } )*
        }
    };
}

use CipherSuite as S;
use NamedGroup as G;

matrix! {
    // Every suite; ECDSA suites with the P-256 ECDSA certificate, RSA suites with RSA-2048.
    ecdhe_ecdsa_aes128_gcm => Case::new(Cert::P256)
        .suite(S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256");
    ecdhe_ecdsa_aes256_gcm => Case::new(Cert::P256)
        .suite(S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384");
    ecdhe_ecdsa_chacha20 => Case::new(Cert::P256)
        .suite(S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305");
    ecdhe_rsa_aes128_gcm => Case::new(Cert::Rsa)
        .suite(S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256");
    ecdhe_rsa_aes256_gcm => Case::new(Cert::Rsa)
        .suite(S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384");
    ecdhe_rsa_chacha20 => Case::new(Cert::Rsa)
        .suite(S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305");

    // Every group, alone on both sides. With an RSA certificate, because in TLS 1.2 the
    // client's supported_groups also limits the curve of an ECDSA certificate (a client
    // offering only X25519 cannot be served a P-256 ECDSA certificate).
    group_x25519 => Case::new(Cert::Rsa)
        .suite(S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256")
        .group(G::X25519, "X25519", "Server Temp Key: X25519");
    group_p256 => Case::new(Cert::Rsa)
        .suite(S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256")
        .group(G::Secp256r1, "P-256", "Server Temp Key: ECDH, prime256v1");
    group_p384 => Case::new(Cert::Rsa)
        .suite(S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256")
        .group(G::Secp384r1, "P-384", "Server Temp Key: ECDH, secp384r1");

    // A P-384 ECDSA certificate with the default groups and suites of both sides.
    ecdsa_p384_certificate => Case::new(Cert::P384);

    // Mutual authentication; the server presents leaf + CA as a chain.
    mutual_auth => Case::new(Cert::P256Chain).mutual();

    // MTU 256 on both sides with RSA-2048: the certificate flight must be fragmented.
    mtu_256_fragmentation => Case::new(Cert::Rsa)
        .suite(S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256")
        .mtu_256();

    // A self-signed CA:TRUE leaf, which is also the trust anchor.
    self_signed_ca_true_leaf => Case::new(Cert::SelfSigned);
}

/// OpenSSL's stateless cookie exchange (`DTLSv1_listen`) against our client.
#[test]
fn our_client_vs_stateless_cookie_listen() {
    our_client_vs_s_server(Case::new(Cert::P256).listen());
}

/// Our server without the HelloVerifyRequest step (`.cookie(false)`): s_client must cope.
#[test]
fn our_server_without_cookie() {
    let pki = pki();
    let config = ServerConfig::builder()
        .certificate_pem(&pki.server_p256.cert_pem(), &pki.server_p256.key_pem())
        .expect("server certificate")
        .cookie(false)
        .build()
        .expect("server config");
    let mut us = UdpPeer::server(config);
    let mut cli = s_client(us.port()).ca_file(&pki.ca.cert).spawn();
    ok(us.run_until_connected(STEP), "handshake", &cli);
    ok(
        us.run_until(STEP, "s_client handshake done", |_| cli.has_output(CLIENT_HANDSHAKE_DONE)),
        "s_client handshake",
        &cli,
    );
    cli.write_line("hello without cookie");
    let got = ok(us.recv_app_data(STEP), "data from s_client", &cli);
    assert_eq!(got, b"hello without cookie\n");
    cli.write_line("Q");
    ok(us.run_until_peer_closed(STEP), "close_notify", &cli);
}

/// Our server closes first: `s_client` must process our close_notify and answer with its
/// own, which our session reports as `Closed`. (The other direction, `s_server` closing on
/// `q`, cannot be tested: OpenSSL 3.0's `s_server` logs its close_notify with `-msg` but
/// never puts it on the wire, as a UDP relay showed; our client's close_notify reaching
/// `s_server` is checked in every case of the matrix.)
#[test]
fn s_client_answers_our_server_close_notify() {
    let pki = pki();
    let case = Case::new(Cert::P256);
    let mut us = UdpPeer::server(server_config(&case));
    let cli = s_client(us.port()).ca_file(&case.cert.trust_anchor(pki).cert).spawn();
    ok(us.run_until_connected(STEP), "handshake", &cli);
    ok(
        us.run_until(STEP, "s_client handshake done", |_| cli.has_output(CLIENT_HANDSHAKE_DONE)),
        "s_client handshake",
        &cli,
    );
    us.close_and_flush();
    ok(us.run_until_peer_closed(STEP), "close_notify answer from s_client", &cli);
    assert!(us.session().is_closed());
    // After close_notify, sending is refused.
    assert!(us.session_mut().send(b"too late").is_err());
}

/// Our client trusts an unrelated CA: it must reject the server's certificate with
/// `InvalidCertificate`, and send `unknown_ca` (48), which OpenSSL prints.
#[test]
fn our_client_rejects_unknown_ca() {
    let pki = pki();
    let mut srv = s_server().cert(&pki.server_p256).spawn();
    let case = Case::new(Cert::P256);
    let mut us = UdpPeer::client(client_config(&case, &pki.other_ca), loopback(srv.port));
    match us.run_until_connected(STEP) {
        Err(DriveError::Engine(e @ Error::InvalidCertificate(_))) => {
            assert_eq!(e.alert(), Some(AlertDescription::UnknownCa), "{e:?}");
        }
        other => panic!("expected InvalidCertificate, got {other:?}\n{}", srv.transcript()),
    }
    assert!(!us.is_connected());
    srv.expect_output("tlsv1 alert unknown ca", STEP);
    srv.expect_output("SSL alert number 48", STEP);
    srv.kill();
}

/// `s_client -CAfile other-ca.pem -verify_return_error` rejects our server's certificate;
/// OpenSSL sends `unknown_ca` for "unable to get local issuer certificate".
#[test]
fn our_server_gets_unknown_ca_alert() {
    let pki = pki();
    let mut us = UdpPeer::server(server_config(&Case::new(Cert::P256)));
    let mut cli = s_client(us.port()).ca_file(&pki.other_ca.cert).spawn();
    match us.run_until_connected(STEP) {
        Err(DriveError::Engine(Error::AlertReceived(AlertDescription::UnknownCa))) => {}
        other => panic!("expected AlertReceived(UnknownCa), got {other:?}\n{}", cli.transcript()),
    }
    assert!(!us.is_connected());
    let status = cli.wait_exit(STEP);
    assert!(status.is_some_and(|s| !s.success()), "s_client exit {status:?}\n{}", cli.transcript());
    cli.expect_output("unable to get local issuer certificate", STEP);
    cli.expect_output("Cipher is (NONE)", STEP);
}
