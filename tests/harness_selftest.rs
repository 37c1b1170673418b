//! Checks the interop harness on its own: OpenSSL against OpenSSL over loopback, with the
//! certificates of `common::certs`, for the configurations `openssl_interop.rs` uses. When
//! an interop test fails, this tells whether the harness or the engine is at fault.
//!
//! It includes only the engine-independent parts of `common` (by path), so it builds and
//! runs without `dtls_engine::Session`.

#[path = "common/certs.rs"]
mod certs;
#[path = "common/openssl.rs"]
mod openssl;

use std::time::Duration;

use certs::pki;
use openssl::{ClientBuilder, OpensslPeer, SERVER_CONNECTION_CLOSED, ServerBuilder, s_client, s_server};

const STEP: Duration = Duration::from_secs(5);

/// Handshake, one line each way, then `s_client` closes (`Q` sends close_notify) and the
/// one-shot server exits cleanly. Returns both peers for further checks.
fn exchange(server: ServerBuilder, client: impl FnOnce(ClientBuilder) -> ClientBuilder) -> (OpensslPeer, OpensslPeer) {
    let mut srv = server.spawn();
    let mut cli = client(s_client(srv.port)).spawn();
    assert!(
        cli.handshake_done(STEP) && srv.handshake_done(STEP),
        "handshake did not complete\n{}\n{}",
        srv.transcript(),
        cli.transcript()
    );

    cli.write_line("ping from s_client");
    srv.expect_output("ping from s_client", STEP);
    srv.write_line("pong from s_server");
    cli.expect_output("pong from s_server", STEP);

    cli.write_line("Q");
    srv.expect_output(SERVER_CONNECTION_CLOSED, STEP);
    let status = srv.wait_exit(STEP);
    assert!(status.is_some_and(|s| s.success()), "s_server exit {status:?}\n{}", srv.transcript());
    (srv, cli)
}

#[test]
fn ecdsa_p256_each_direction() {
    let pki = pki();
    let (srv, cli) = exchange(s_server().cert(&pki.server_p256).cipher("ECDHE-ECDSA-AES128-GCM-SHA256"), |c| {
        c.ca_file(&pki.ca.cert)
    });
    srv.expect_output("CIPHER is ECDHE-ECDSA-AES128-GCM-SHA256", STEP);
    cli.expect_output("Verify return code: 0 (ok)", STEP);
    // The server closed on the client's close_notify, not on stdin EOF.
    srv.expect_output("shutting down SSL", STEP);
}

#[test]
fn server_close_q_is_seen_by_server_only() {
    // `q` on s_server's stdin: it prints DONE, sends close_notify and exits. s_client (DTLS,
    // -nbio) does not report the close_notify, so tests of our client close from our side.
    let pki = pki();
    let mut srv = s_server().cert(&pki.server_p256).spawn();
    let mut cli = s_client(srv.port).ca_file(&pki.ca.cert).spawn();
    assert!(cli.handshake_done(STEP) && srv.handshake_done(STEP));
    srv.write_line("q");
    srv.expect_output("DONE", STEP);
    assert!(srv.wait_exit(STEP).is_some_and(|s| s.success()));
    cli.close_stdin();
    assert!(cli.wait_exit(STEP).is_some(), "{}", cli.transcript());
}

#[test]
fn rsa_cert_mtu_256_fragments() {
    let pki = pki();
    let (srv, cli) = exchange(s_server().cert(&pki.server_rsa).cipher("ECDHE-RSA-AES256-GCM-SHA384").mtu(256), |c| {
        c.ca_file(&pki.ca.cert).mtu(256)
    });
    srv.expect_output("CIPHER is ECDHE-RSA-AES256-GCM-SHA384", STEP);
    cli.expect_output("Server public key is 2048 bit", STEP);
}

#[test]
fn ecdsa_p384_cert() {
    let pki = pki();
    let (_srv, cli) = exchange(s_server().cert(&pki.server_p384).cipher("ECDHE-ECDSA-AES256-GCM-SHA384"), |c| {
        c.ca_file(&pki.ca.cert)
    });
    cli.expect_output("Server public key is 384 bit", STEP);
}

#[test]
fn groups_and_chacha() {
    for (group, printed) in [
        ("X25519", "Server Temp Key: X25519"),
        ("P-256", "Server Temp Key: ECDH, prime256v1"),
        ("P-384", "Server Temp Key: ECDH, secp384r1"),
    ] {
        let pki = pki();
        let (_srv, cli) =
            exchange(s_server().cert(&pki.server_rsa).cipher("ECDHE-RSA-CHACHA20-POLY1305").groups(group), |c| {
                c.ca_file(&pki.ca.cert).groups(group)
            });
        cli.expect_output(printed, STEP);
        cli.expect_output("Cipher is ECDHE-RSA-CHACHA20-POLY1305", STEP);
    }
}

#[test]
fn mutual_auth_with_chain_file() {
    let pki = pki();
    let (srv, _cli) = exchange(s_server().cert(&pki.server_p256_chain).require_client_cert(&pki.ca.cert), |c| {
        c.ca_file(&pki.ca.cert).cert(&pki.client)
    });
    srv.expect_output("subject=CN = client.localhost", STEP);
}

#[test]
fn stateless_cookie_listen() {
    let pki = pki();
    exchange(s_server().cert(&pki.server_p256).listen(), |c| c.ca_file(&pki.ca.cert));
}

#[test]
fn self_signed_ca_true_leaf_as_ca_file() {
    let pki = pki();
    exchange(s_server().cert(&pki.self_signed), |c| c.ca_file(&pki.self_signed.cert));
}

#[test]
fn wrong_ca_client_sends_unknown_ca() {
    // What openssl_interop expects when OpenSSL is the verifying client.
    let pki = pki();
    let mut srv = s_server().cert(&pki.server_p256).spawn();
    let mut cli = s_client(srv.port).ca_file(&pki.other_ca.cert).spawn();
    let status = cli.wait_exit(STEP);
    assert!(status.is_some_and(|s| !s.success()), "s_client exit {status:?}\n{}", cli.transcript());
    cli.expect_output("Cipher is (NONE)", STEP);
    cli.expect_output("unable to get local issuer certificate", STEP);
    srv.expect_output("tlsv1 alert unknown ca", STEP);
    srv.expect_output("SSL alert number 48", STEP);
    srv.kill();
}

#[test]
fn wrong_ca_server_sends_unknown_ca() {
    // What openssl_interop expects when OpenSSL is the verifying server (mutual auth).
    let pki = pki();
    let mut srv = s_server().cert(&pki.server_p256).require_client_cert(&pki.other_ca.cert).spawn();
    let mut cli = s_client(srv.port).ca_file(&pki.ca.cert).cert(&pki.client).spawn();
    // s_client sends its chain including the CA it found in -CAfile, hence "self-signed
    // certificate in certificate chain" (error 19) rather than error 20.
    srv.expect_output("verify error", STEP);
    cli.expect_output("tlsv1 alert unknown ca", STEP);
    cli.expect_output("SSL alert number 48", STEP);
    cli.kill();
    srv.kill();
}

/// Without a usable `openssl` the harness must fail loudly, not skip: rerun this test
/// binary with `OPENSSL` pointing nowhere and check the panic message.
#[test]
fn missing_openssl_fails_the_tests() {
    const CHILD: &str = "DTLS_ENGINE_SELFTEST_CHILD";
    if std::env::var_os(CHILD).is_some() {
        certs::pki();
        return;
    }
    let exe = std::env::current_exe().expect("current_exe");
    let out = std::process::Command::new(exe)
        .args(["--exact", "missing_openssl_fails_the_tests", "--nocapture"])
        .env(CHILD, "1")
        .env("OPENSSL", "/nonexistent/openssl")
        .output()
        .expect("rerun test binary");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "child passed without openssl:\n{text}");
    assert!(text.contains("cannot run `/nonexistent/openssl`"), "unexpected failure:\n{text}");
}
