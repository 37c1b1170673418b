//! Version negotiation of our DTLS 1.3-capable ends, the `dtls` tool with `--max-version
//! 1.3`, over loopback UDP, as separate processes:
//!
//! - against DTLS 1.2-only stacks, OpenSSL 3.0 (`s_server` / `s_client -dtls1_2`) and GnuTLS
//!   3.7 (`gnutls-cli --udp`, and `gnutls-serv` inside a private network namespace), in both
//!   roles: the session is DTLS 1.2 on both sides. Our client offers DTLS 1.3 and 1.2 in one
//!   ClientHello (with an X25519MLKEM768 key share, so the hello is fragmented at our default
//!   MTU) and, allowing 1.3, checks the ServerHello random for RFC 8446 §4.1.3's downgrade
//!   sentinel: a completed handshake also proves these servers send none. Our server,
//!   allowing 1.3, answers a hello without supported_versions with DTLS 1.2 (a
//!   HelloVerifyRequest first).
//! - our client against our server, both allowing 1.3, at the default MTU: DTLS 1.3 with
//!   X25519MLKEM768 (our server's stateless cookie HelloRetryRequest first), the same
//!   exporter output, and, with mutual authentication, ALPN, SRTP and KeyUpdates after every
//!   record on both sides, every line echoed; our client held to 1.2 gets 1.2 from the same
//!   server.
//!
//! These tests need `openssl` and `gnutls-bin`, and for `gnutls-serv` root (or
//! `CAP_SYS_ADMIN`), `unshare` and `ip`; they fail, never skip, without them.

#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::time::Duration;

use common::certs::{iana_name_of, pki};
use common::gnutls::{CLI_DESCRIPTION, CLI_HANDSHAKE_DONE, SERV_EOF, SERV_RECEIVED, gnutls_cli, gnutls_serv};
use common::netns;
use common::openssl::{CLIENT_HANDSHAKE_DONE, OpensslPeer, SERVER_HANDSHAKE_DONE, s_client, s_server};
use common::status::{self, both, field, listening_port};

const DTLS: &str = env!("CARGO_BIN_EXE_dtls");
const WAIT: Duration = Duration::from_secs(15);
/// Budget for one case in its network namespace, PKI generation included.
const NETNS_CASE: Duration = Duration::from_secs(90);
/// The port `gnutls-serv` listens on inside its namespace.
const SERV_PORT: u16 = 5557;
const LABEL: &str = "EXPERIMENTAL-dtls13-interop";

fn arg(p: &Path) -> String {
    p.display().to_string()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// `dtls client --connect 127.0.0.1:PORT --ca-file CA --expect N ARGS`, stdin held open
/// (write lines, then close it).
fn our_client(port: u16, expect: usize, args: &[&str]) -> OpensslPeer {
    let pki = pki();
    let (connect, ca, expect) = (format!("127.0.0.1:{port}"), arg(&pki.ca.cert), expect.to_string());
    let mut all = strings(&["client", "--connect", &connect, "--ca-file", &ca, "--timeout", "10", "--expect", &expect]);
    all.extend(strings(args));
    OpensslPeer::spawn_program(DTLS, "dtls client", port, &all)
}

/// `dtls server --listen 127.0.0.1:0 --echo --sessions 1 --cert/--key (server_p256) ARGS`
/// and its port.
fn our_server(args: &[&str]) -> (OpensslPeer, u16) {
    let pki = pki();
    let (cert, key) = (arg(&pki.server_p256.cert), arg(&pki.server_p256.key));
    let mut all =
        strings(&["server", "--listen", "127.0.0.1:0", "--echo", "--sessions", "1", "--cert", &cert, "--key", &key]);
    all.extend(strings(args));
    let server = OpensslPeer::spawn_program(DTLS, "dtls server", 0, &all);
    let port = listening_port(&server, WAIT);
    (server, port)
}

fn assert_exit_ok(peer: &mut OpensslPeer, other: &OpensslPeer) {
    status::assert_exit_ok(peer, other, WAIT);
}

// ---------------------------------------------------------------------------------------
// OpenSSL 3.0, DTLS 1.2 only

/// Our client allowing DTLS 1.3 against `openssl s_server -dtls1_2`: DTLS 1.2 on both sides
/// (s_server, which prints no version in this mode, names an ECDHE suite, which only 1.2
/// has), no downgrade sentinel (our client would abort on one), a line each way, and our
/// close_notify ends s_server's session. (s_server lists our X25519MLKEM768, unknown to
/// OpenSSL 3.0, as `<NULL>` among the supported groups.)
#[test]
fn our_dtls13_client_with_openssl_dtls12_server() {
    let pki = pki();
    let mut srv = s_server().cert(&pki.server_p256).spawn();
    let mut us = our_client(srv.port, 1, &["--max-version", "1.3"]);
    let ours = us.expect_line_after("connected ", WAIT);
    assert!(srv.wait_for_output(SERVER_HANDSHAKE_DONE, WAIT), "\n{}", both(&us, &srv));
    let t = both(&us, &srv);
    assert_eq!(field(&ours, "protocol"), "DTLSv1.2", "\n{t}");
    let theirs = srv.expect_line_after(SERVER_HANDSHAKE_DONE, WAIT);
    assert!(theirs.starts_with("ECDHE-"), "\n{t}");
    assert_eq!(iana_name_of(&theirs), field(&ours, "cipher"), "\n{t}");

    srv.write_line("hello from s_server");
    us.expect_output("hello from s_server", WAIT);
    us.write_line("hello from our 1.3-capable client");
    srv.expect_output("hello from our 1.3-capable client", WAIT);
    us.close_stdin();
    assert_exit_ok(&mut us, &srv);
    assert_exit_ok(&mut srv, &us);
}

/// `openssl s_client -dtls1_2` against our server allowing DTLS 1.3: DTLS 1.2 on both sides
/// (`Protocol  : DTLSv1.2`), after our HelloVerifyRequest; the line is echoed.
#[test]
fn openssl_dtls12_client_with_our_dtls13_server() {
    let pki = pki();
    let (mut us, port) = our_server(&["--max-version", "1.3"]);
    let mut cli = s_client(port).ca_file(&pki.ca.cert).spawn();
    assert!(cli.wait_for_output(CLIENT_HANDSHAKE_DONE, WAIT), "\n{}", both(&us, &cli));
    let ours = us.expect_line_after("connected ", WAIT);
    let t = both(&us, &cli);
    assert_eq!(field(&ours, "protocol"), "DTLSv1.2", "\n{t}");
    assert_eq!(cli.expect_line_after("Protocol  : ", WAIT), "DTLSv1.2", "\n{t}");
    cli.expect_output("Verify return code: 0 (ok)", WAIT);

    cli.write_line("hello from s_client");
    us.expect_output("hello from s_client", WAIT);
    // s_client prints what it receives: our echo of its line.
    assert!(cli.wait_for_output("hello from s_client", WAIT), "no echo\n{}", both(&us, &cli));
    cli.write_line("Q");
    assert_exit_ok(&mut us, &cli);
    assert!(us.has_output("reason=close_notify"), "\n{}", both(&us, &cli));
}

// ---------------------------------------------------------------------------------------
// GnuTLS 3.7 (no DTLS 1.3)

/// `gnutls-cli --udp` with GnuTLS's default priorities against our server allowing DTLS
/// 1.3: `(DTLS1.2-X.509)-...` on GnuTLS's side and DTLS 1.2 on ours; the line is echoed.
#[test]
fn gnutls_client_with_our_dtls13_server() {
    let pki = pki();
    let (mut us, port) = our_server(&["--max-version", "1.3"]);
    let mut cli = gnutls_cli(port).ca_file(&pki.ca.cert).spawn();
    assert!(cli.wait_for_output(CLI_HANDSHAKE_DONE, WAIT), "\n{}", both(&us, &cli));
    let ours = us.expect_line_after("connected ", WAIT);
    let t = both(&us, &cli);
    assert_eq!(field(&ours, "protocol"), "DTLSv1.2", "\n{t}");
    assert!(cli.expect_line_after(CLI_DESCRIPTION, WAIT).starts_with("(DTLS1.2-X.509)-"), "\n{t}");

    cli.write_line("hello from gnutls-cli");
    us.expect_output("hello from gnutls-cli", WAIT);
    // gnutls-cli prints what it receives: our echo of its line.
    assert!(cli.wait_for_output("hello from gnutls-cli", WAIT), "no echo\n{t}");
    cli.close_stdin();
    assert_exit_ok(&mut us, &cli);
    assert_exit_ok(&mut cli, &us);
}

/// Our client allowing DTLS 1.3 against `gnutls-serv --udp --echo` (inside a private
/// network namespace): DTLS 1.2, no downgrade sentinel, and our line comes back.
#[test]
fn our_dtls13_client_with_gnutls_server() {
    netns::run_in_private_netns("netns_inner", "our_dtls13_client_with_gnutls_server", NETNS_CASE);
}

/// Runs inside the namespace only (see [`netns_inner`]).
fn our_dtls13_client_with_gnutls_serv_inner() {
    let pki = pki();
    let mut serv = gnutls_serv(SERV_PORT).cert(&pki.server_p256).spawn();
    let mut us = our_client(SERV_PORT, 1, &["--max-version", "1.3"]);
    let ours = us.expect_line_after("connected ", WAIT);
    assert_eq!(field(&ours, "protocol"), "DTLSv1.2", "\n{}", both(&us, &serv));
    us.write_line("hello from our 1.3-capable client");
    us.close_stdin();
    assert_exit_ok(&mut us, &serv);
    let t = both(&us, &serv);
    assert!(us.stdout().lines().any(|l| l == "hello from our 1.3-capable client"), "no echo\n{t}");
    assert!(serv.expect_line_after(SERV_RECEIVED, WAIT).ends_with("]: hello from our 1.3-capable client"), "\n{t}");
    serv.expect_output(SERV_EOF, WAIT);
    serv.kill();
}

/// The inner half of the namespace cases: does nothing in a plain `cargo test`; re-run by
/// `common::netns::run_in_private_netns` with the case named in `DTLS_ENGINE_NETNS_CASE`.
#[test]
fn netns_inner() {
    let Some(name) = netns::inner_case() else {
        return;
    };
    match name.as_str() {
        "our_dtls13_client_with_gnutls_server" => our_dtls13_client_with_gnutls_serv_inner(),
        other => panic!("no case named {other:?}"),
    }
    println!("{}", netns::passed_marker(&name));
}

// ---------------------------------------------------------------------------------------
// Our DTLS 1.3 client against our DTLS 1.3 server, through the CLI

/// Our client and our server, both allowing DTLS 1.3 with their default groups and MTU:
/// DTLS 1.3 with X25519MLKEM768 (our client's 1.4 KB hello goes out in fragments, our
/// server's cookie HelloRetryRequest comes first), the same exporter output on both sides,
/// and the lines are echoed.
#[test]
fn our_dtls13_client_with_our_dtls13_server() {
    let export = ["--export-label", LABEL, "--export-len", "32"];
    let mut server_args = vec!["--max-version", "1.3"];
    server_args.extend(export);
    let (mut srv, port) = our_server(&server_args);
    let mut client_args = vec!["--max-version", "1.3"];
    client_args.extend(export);
    let mut us = our_client(port, 2, &client_args);
    us.write_line("first line over X25519MLKEM768");
    us.write_line("second line");
    us.close_stdin();
    assert_exit_ok(&mut us, &srv);
    assert_exit_ok(&mut srv, &us);
    let t = both(&us, &srv);
    let (client, server) = (us.expect_line_after("connected ", WAIT), srv.expect_line_after("connected ", WAIT));
    for line in [&client, &server] {
        assert_eq!(field(line, "protocol"), "DTLSv1.3", "\n{t}");
        assert_eq!(field(line, "group"), "X25519MLKEM768", "\n{t}");
    }
    assert_eq!(field(&client, "cipher"), field(&server, "cipher"), "\n{t}");
    let key = us.expect_line_after("\nkeying-material ", WAIT);
    assert_eq!(key.len(), 64, "\n{t}");
    assert_eq!(key, srv.expect_line_after("\nkeying-material ", WAIT), "exporters differ\n{t}");
    assert!(us.stdout().lines().any(|l| l == "second line"), "no echo\n{t}");
}

/// The same pair with everything on: our server requires a client certificate from the
/// test CA, ALPN and SRTP are agreed (the SRTP keying material is equal), ChaCha20-Poly1305
/// is pinned, and both sides update their sending keys after every record
/// (`--key-update-after 1`) while four lines go out and come back.
#[test]
fn our_dtls13_ends_with_mutual_auth_alpn_srtp_and_key_updates() {
    let pki = pki();
    let (cert, key, ca) = (arg(&pki.client.cert), arg(&pki.client.key), arg(&pki.ca.cert));
    let common = [
        "--max-version",
        "1.3",
        "--alpn",
        "webrtc",
        "--srtp",
        "SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80",
        "--cipher",
        "TLS_CHACHA20_POLY1305_SHA256",
        "--key-update-after",
        "1",
    ];
    let mut server_args = vec!["--ca-file", &ca, "--require-client-cert"];
    server_args.extend(common);
    let (mut srv, port) = our_server(&server_args);
    let mut client_args = vec!["--cert", &cert, "--key", &key];
    client_args.extend(common);
    let mut us = our_client(port, 4, &client_args);
    let lines = ["line 1", "line 2", "line 3", "line 4"];
    for line in lines {
        us.write_line(line);
    }
    us.close_stdin();
    assert_exit_ok(&mut us, &srv);
    assert_exit_ok(&mut srv, &us);
    let t = both(&us, &srv);
    let (client, server) = (us.expect_line_after("connected ", WAIT), srv.expect_line_after("connected ", WAIT));
    for line in [&client, &server] {
        assert_eq!(field(line, "protocol"), "DTLSv1.3", "\n{t}");
        assert_eq!(field(line, "cipher"), "TLS_CHACHA20_POLY1305_SHA256", "\n{t}");
        assert_eq!(field(line, "alpn"), "webrtc", "\n{t}");
        assert_eq!(field(line, "srtp"), "SRTP_AEAD_AES_256_GCM", "\n{t}");
    }
    let km = us.expect_line_after("srtp-keying-material ", WAIT);
    assert_eq!(km.len(), 2 * 2 * (32 + 12), "\n{t}");
    assert_eq!(km, srv.expect_line_after("srtp-keying-material ", WAIT), "SRTP keys differ\n{t}");
    for line in lines {
        assert!(us.stdout().lines().any(|l| l == line), "{line:?} did not come back\n{t}");
    }
}

/// Our client held to DTLS 1.2 (`--max-version 1.2`) against our server allowing 1.3: DTLS
/// 1.2 on both sides.
#[test]
fn our_dtls12_client_with_our_dtls13_server() {
    let (mut srv, port) = our_server(&["--max-version", "1.3"]);
    let mut us = our_client(port, 1, &["--max-version", "1.2"]);
    us.write_line("over DTLS 1.2");
    us.close_stdin();
    assert_exit_ok(&mut us, &srv);
    assert_exit_ok(&mut srv, &us);
    let t = both(&us, &srv);
    assert_eq!(field(&us.expect_line_after("connected ", WAIT), "protocol"), "DTLSv1.2", "\n{t}");
    assert_eq!(field(&srv.expect_line_after("connected ", WAIT), "protocol"), "DTLSv1.2", "\n{t}");
}
