//! Interop with wolfSSL, a DTLS 1.3 stack with ML-KEM, over loopback UDP: the peer program in
//! `interop/wolfssl` (a crate of its own over wolfssl-sys, which builds wolfSSL's C sources
//! with DTLS 1.3, ML-KEM and the X25519MLKEM768 hybrid group).
//!
//! - The control: wolfSSL's client and server negotiate DTLS 1.3 with X25519MLKEM768 (after
//!   wolfSSL's stateless cookie HelloRetryRequest), mutual authentication, ALPN, a KeyUpdate,
//!   and equal exporter output, so the peer program itself is sound.
//! - wolfSSL against dimpl (the `interop/dimpl` peer), both ways, in DTLS 1.3: two
//!   independent stacks agree, so the wolfSSL peer speaks standard DTLS 1.3. dimpl 0.9 has
//!   no ML-KEM, so the group is X25519 (a wolfSSL client that prefers X25519MLKEM768 is
//!   steered there by dimpl's HelloRetryRequest).
//! - wolfSSL's DTLS 1.2 client against our `dtls server` (the engine today): HelloVerifyRequest,
//!   handshake, echo, and the same RFC 5705 exporter bytes on both sides.
//!
//! The peer binaries come from `DTLS_WOLFSSL_PEER` and `DTLS_DIMPL_PEER`, which `scripts/test`
//! (the README's test command) sets after building them. Without them these tests fail; they
//! never skip.

#![cfg(feature = "cli")]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::certs::pki;
use common::openssl::OpensslPeer;

const DTLS: &str = env!("CARGO_BIN_EXE_dtls");
const WAIT: Duration = Duration::from_secs(30);
/// How long a peer program may run before it gives up on its own (`--timeout`).
const PEER_TIMEOUT: &str = "20";
const LABEL: &str = "EXPERIMENTAL-dtls-wolfssl";

fn binary(var: &str, hint: &str) -> String {
    match std::env::var_os(var) {
        None => panic!("{var} is not set. {hint}"),
        Some(p) if Path::new(&p).is_file() => PathBuf::from(p).display().to_string(),
        Some(p) => panic!("{var}={} is not a file. {hint}", Path::new(&p).display()),
    }
}

fn wolfssl_peer() -> String {
    binary(
        "DTLS_WOLFSSL_PEER",
        "These tests drive wolfSSL through interop/wolfssl. Run the README's test command, \
         scripts/test, which installs what wolfSSL's build needs, builds that peer and sets \
         DTLS_WOLFSSL_PEER to its binary (or `cd interop/wolfssl && cargo build --release --locked` \
         and export DTLS_WOLFSSL_PEER=interop/wolfssl/target/release/wolfssl-peer).",
    )
}

fn dimpl_peer() -> String {
    binary("DTLS_DIMPL_PEER", "Run scripts/test, which builds interop/dimpl and sets DTLS_DIMPL_PEER to its binary.")
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

fn spawn(program: &str, label: &str, args: &[String]) -> OpensslPeer {
    OpensslPeer::spawn_program(program, label, 0, args)
}

fn wolfssl(label: &str, args: &[&str]) -> OpensslPeer {
    let mut all: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    all.extend(["--timeout".to_owned(), PEER_TIMEOUT.to_owned()]);
    spawn(&wolfssl_peer(), label, &all)
}

/// `wolfssl-peer server --addr 127.0.0.1:0 ARGS` and the port it listens on.
fn wolfssl_server(args: &[&str]) -> (OpensslPeer, u16) {
    let mut all = vec!["server", "--addr", "127.0.0.1:0"];
    all.extend_from_slice(args);
    listening(wolfssl("wolfssl server", &all))
}

/// Waits for the server's `listening ADDR:PORT` line; returns it with PORT.
fn listening(server: OpensslPeer) -> (OpensslPeer, u16) {
    let addr = server.expect_line_after("listening ", WAIT);
    let port = addr.trim().rsplit_once(':').and_then(|(_, p)| p.parse().ok()).expect("listening <addr>:<port>");
    (server, port)
}

fn both(a: &OpensslPeer, b: &OpensslPeer) -> String {
    format!("{}\n{}", a.transcript(), b.transcript())
}

fn assert_exit_ok(peer: &mut OpensslPeer, other: &OpensslPeer) {
    let status = peer.wait_exit(WAIT).unwrap_or_else(|| panic!("{} did not exit\n{}", peer.label(), both(peer, other)));
    assert!(status.success(), "{} failed: {status}\n{}", peer.label(), both(peer, other));
}

/// `key=value` from a `connected ...` line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key).and_then(|w| w.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in `{line}`"))
}

/// (a) The control: wolfSSL's client and server over loopback negotiate DTLS 1.3 with the
/// X25519MLKEM768 hybrid group. wolfSSL's client sends its first ClientHello with an empty
/// key_share (the hybrid share would not fit one datagram), and the server's stateless
/// cookie HelloRetryRequest asks for X25519MLKEM768; both sides authenticate against the
/// test CA, agree on ALPN, derive the same exporter bytes, and the line is echoed after the
/// client's KeyUpdate.
#[test]
fn wolfssl_peers_negotiate_dtls13_with_x25519mlkem768() {
    let pki = pki();
    let export = format!("{LABEL}:32");
    let (server_cert, server_key, ca) = (arg(&pki.server_p256.cert), arg(&pki.server_p256.key), arg(&pki.ca.cert));
    let (client_cert, client_key) = (arg(&pki.client.cert), arg(&pki.client.key));
    let (mut server, port) = wolfssl_server(&[
        "--cert",
        &server_cert,
        "--key",
        &server_key,
        "--ca",
        &ca,
        "--cookie",
        "--groups",
        "X25519MLKEM768,X25519",
        "--alpn",
        "webrtc",
        "--exporter",
        &export,
    ]);
    let addr = format!("127.0.0.1:{port}");
    let mut client = wolfssl(
        "wolfssl client",
        &[
            "client",
            "--addr",
            &addr,
            "--ca",
            &ca,
            "--cert",
            &client_cert,
            "--key",
            &client_key,
            "--groups",
            "X25519MLKEM768,X25519,P-256",
            "--alpn",
            "webrtc",
            "--exporter",
            &export,
            "--key-update",
        ],
    );
    assert_exit_ok(&mut client, &server);
    assert_exit_ok(&mut server, &client);
    let t = both(&client, &server);
    let ours = client.expect_line_after("connected ", WAIT);
    let theirs = server.expect_line_after("connected ", WAIT);
    for line in [&ours, &theirs] {
        assert_eq!(field(line, "protocol"), "DTLSv1.3", "\n{t}");
        assert_eq!(field(line, "group"), "X25519MLKEM768", "\n{t}");
        assert!(field(line, "cipher").starts_with("TLS_AES_"), "\n{t}");
        assert_eq!(field(line, "alpn"), "webrtc", "\n{t}");
        assert_eq!(field(line, "hrr"), "1", "no HelloRetryRequest\n{t}");
    }
    assert_eq!(field(&ours, "cipher"), field(&theirs, "cipher"), "\n{t}");
    let key = client.expect_line_after("keying-material ", WAIT);
    assert_eq!(key.len(), 64, "\n{t}");
    assert_eq!(key, server.expect_line_after("keying-material ", WAIT), "exporters differ\n{t}");
    assert!(client.has_output("key-update sent") && client.has_output("echo ok"), "\n{t}");
    assert!(server.has_output("echoed ") && server.has_output("closed reason=close_notify"), "\n{t}");
}

/// dimpl's auto server (DTLS 1.3, or 1.2 for a client that offers only 1.2), once.
fn dimpl_server(args: &[&str]) -> (OpensslPeer, u16) {
    let mut all: Vec<String> =
        ["server", "127.0.0.1:0", "--once", "--timeout", PEER_TIMEOUT].map(String::from).to_vec();
    all.extend(args.iter().map(|s| (*s).to_owned()));
    listening(spawn(&dimpl_peer(), "dimpl server", &all))
}

/// (b) wolfSSL's DTLS 1.3 client against dimpl's server, which requires a client
/// certificate (wolfSSL presents the test client's; dimpl accepts any without `--pin`, and
/// wolfSSL does no verification of dimpl's self-signed one). `groups` is wolfSSL's offer.
fn wolfssl_client_against_dimpl(groups: &str, version: &str) -> (String, String) {
    let pki = pki();
    let (mut server, port) = dimpl_server(&[]);
    let addr = format!("127.0.0.1:{port}");
    let (cert, key) = (arg(&pki.client.cert), arg(&pki.client.key));
    let mut client = wolfssl(
        "wolfssl client",
        &[
            "client",
            "--addr",
            &addr,
            "--no-verify",
            "--cert",
            &cert,
            "--key",
            &key,
            "--groups",
            groups,
            "--version",
            version,
        ],
    );
    assert_exit_ok(&mut client, &server);
    assert_exit_ok(&mut server, &client);
    let t = both(&client, &server);
    assert!(client.has_output("echo ok") && server.has_output("echoed 127.0.0.1:"), "\n{t}");
    (client.expect_line_after("connected ", WAIT), server.expect_line_after("connected 127.0.0.1:", WAIT))
}

#[test]
fn wolfssl_dtls13_client_with_dimpl_server_over_x25519() {
    let (wolf, dimpl) = wolfssl_client_against_dimpl("X25519,P-256", "1.3");
    assert_eq!(field(&wolf, "protocol"), "DTLSv1.3", "{wolf}");
    assert_eq!(field(&wolf, "group"), "X25519", "{wolf}");
    assert_eq!(field(&dimpl, "version"), "DTLS1.3", "{dimpl}");
    assert_eq!(field(&wolf, "cipher"), field(&dimpl, "cipher"), "{wolf}\n{dimpl}");
}

/// dimpl 0.9 has no ML-KEM: a wolfSSL client that prefers X25519MLKEM768 (and, as always
/// for that group, sends an empty key_share first) ends on X25519 after dimpl's
/// HelloRetryRequest.
#[test]
fn wolfssl_client_preferring_x25519mlkem768_settles_on_x25519_with_dimpl() {
    let (wolf, dimpl) = wolfssl_client_against_dimpl("X25519MLKEM768,X25519", "1.3");
    assert_eq!(field(&wolf, "protocol"), "DTLSv1.3", "{wolf}");
    assert_eq!(field(&wolf, "group"), "X25519", "{wolf}");
    assert_eq!(field(&wolf, "hrr"), "1", "{wolf}");
    assert_eq!(field(&dimpl, "version"), "DTLS1.3", "{dimpl}");
}

/// (b) dimpl's auto client (offering DTLS 1.3 and 1.2) against wolfSSL's DTLS 1.3 server:
/// DTLS 1.3 with X25519, after wolfSSL's cookie HelloRetryRequest.
#[test]
fn dimpl_client_with_wolfssl_dtls13_server() {
    let pki = pki();
    let (cert, key) = (arg(&pki.server_p256.cert), arg(&pki.server_p256.key));
    let (mut server, port) =
        wolfssl_server(&["--cert", &cert, "--key", &key, "--groups", "X25519MLKEM768,X25519,P-256"]);
    let addr = format!("127.0.0.1:{port}");
    let args: Vec<String> = ["client", &addr, "--timeout", PEER_TIMEOUT].map(String::from).to_vec();
    let mut client = spawn(&dimpl_peer(), "dimpl client", &args);
    assert_exit_ok(&mut client, &server);
    assert_exit_ok(&mut server, &client);
    let t = both(&client, &server);
    let wolf = server.expect_line_after("connected ", WAIT);
    let dimpl = client.expect_line_after("connected 127.0.0.1:", WAIT);
    assert_eq!(field(&wolf, "protocol"), "DTLSv1.3", "\n{t}");
    assert_eq!(field(&wolf, "group"), "X25519", "\n{t}");
    assert_eq!(field(&wolf, "hrr"), "1", "\n{t}");
    assert_eq!(field(&dimpl, "version"), "DTLS1.3", "\n{t}");
    assert_eq!(field(&wolf, "cipher"), field(&dimpl, "cipher"), "\n{t}");
    assert!(client.has_output("echo ok") && server.has_output("closed reason=close_notify"), "\n{t}");
}

/// (c) wolfSSL's DTLS 1.2 client against our `dtls server`: our HelloVerifyRequest, a full
/// handshake verified against the test CA, the echo, equal RFC 5705 exporter output, and
/// close_notify.
#[test]
fn wolfssl_dtls12_client_with_our_server() {
    let pki = pki();
    let (cert, key, ca) = (arg(&pki.server_p256.cert), arg(&pki.server_p256.key), arg(&pki.ca.cert));
    let args: Vec<String> = [
        "server",
        "--listen",
        "127.0.0.1:0",
        "--cert",
        &cert,
        "--key",
        &key,
        "--echo",
        "--sessions",
        "1",
        "--export-label",
        LABEL,
        "--export-len",
        "32",
    ]
    .map(String::from)
    .to_vec();
    let (mut server, port) = listening(spawn(DTLS, "dtls server", &args));
    let addr = format!("127.0.0.1:{port}");
    let export = format!("{LABEL}:32");
    let mut client = wolfssl(
        "wolfssl client",
        &[
            "client",
            "--addr",
            &addr,
            "--version",
            "1.2",
            "--ca",
            &ca,
            "--groups",
            "X25519,P-256",
            "--exporter",
            &export,
        ],
    );
    assert_exit_ok(&mut client, &server);
    let t = both(&client, &server);
    let wolf = client.expect_line_after("connected ", WAIT);
    let ours = server.expect_line_after("connected ", WAIT);
    assert_eq!(field(&wolf, "protocol"), "DTLSv1.2", "\n{t}");
    assert_eq!(field(&ours, "protocol"), "DTLSv1.2", "\n{t}");
    assert_eq!(field(&wolf, "group"), "X25519", "\n{t}");
    assert_eq!(field(&wolf, "hvr"), "1", "no HelloVerifyRequest\n{t}");
    assert_eq!(field(&wolf, "cipher"), field(&ours, "cipher"), "the two sides disagree on the suite\n{t}");
    assert!(client.has_output("echo ok"), "\n{t}");
    let key = client.expect_line_after("keying-material ", WAIT);
    assert_eq!(key, server.expect_line_after("keying-material ", WAIT), "exporters differ\n{t}");
    assert_exit_ok(&mut server, &client);
}
