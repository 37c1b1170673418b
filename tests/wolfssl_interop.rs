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
//! - DTLS 1.3 between our `dtls` tool (`--max-version 1.3`) and wolfSSL, both roles:
//!   X25519MLKEM768 (our client at MTU 1500, see below; wolfSSL's client after our cookie
//!   HelloRetryRequest at our default MTU), X25519, HelloRetryRequest for a group, wolfSSL's
//!   cookie HelloRetryRequest, mutual authentication, ALPN, equal exporters, each of the three
//!   suites, KeyUpdate from either side, and DTLS-SRTP (profile and keying material).
//!
//! The peer binaries come from `DTLS_WOLFSSL_PEER` and `DTLS_DIMPL_PEER`, which `scripts/test`
//! (the README's test command) sets after building them. Without them these tests fail; they
//! never skip.

#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::time::Duration;

use common::certs::pki;
use common::openssl::OpensslPeer;
use common::status::{self, both, field, listening_port};

const DTLS: &str = env!("CARGO_BIN_EXE_dtls");
const WAIT: Duration = Duration::from_secs(30);
/// How long a peer program may run before it gives up on its own (`--timeout`).
const PEER_TIMEOUT: &str = "20";
const LABEL: &str = "EXPERIMENTAL-dtls-wolfssl";

fn wolfssl_peer() -> String {
    status::peer_binary(
        "DTLS_WOLFSSL_PEER",
        "These tests drive wolfSSL through interop/wolfssl. Run the README's test command, \
         scripts/test, which installs what wolfSSL's build needs, builds that peer and sets \
         DTLS_WOLFSSL_PEER to its binary (or `cd interop/wolfssl && cargo build --release --locked` \
         and export DTLS_WOLFSSL_PEER=interop/wolfssl/target/release/wolfssl-peer).",
    )
}

fn dimpl_peer() -> String {
    status::peer_binary(
        "DTLS_DIMPL_PEER",
        "Run scripts/test, which builds interop/dimpl and sets DTLS_DIMPL_PEER to its binary.",
    )
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
    let port = listening_port(&server, WAIT);
    (server, port)
}

fn assert_exit_ok(peer: &mut OpensslPeer, other: &OpensslPeer) {
    status::assert_exit_ok(peer, other, WAIT);
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

// ---------------------------------------------------------------------------------------
// DTLS 1.3 between our `dtls` tool (`--max-version 1.3`) and wolfSSL, both roles.
//
// Two facts about wolfSSL 5.9.4 shape these cases:
// - Its server handles a ClientHello without a cookie statelessly (DoClientHelloStateless)
//   and only whole, in one datagram: a first ClientHello in fragments is never answered.
//   Our client's hello with an X25519MLKEM768 share is about 1.4 KB, so at our default MTU
//   (1200) it is fragmented and wolfSSL stays silent; the cases where our client offers
//   that share first run it at `--mtu 1500` (one datagram on loopback). A second
//   ClientHello in fragments is fine after a HelloRetryRequest without a cookie (wolfSSL is
//   stateful by then); after a cookie HelloRetryRequest wolfSSL takes one only with
//   `wolfSSL_dtls13_allow_ch_frag` (the peer's `--allow-ch-frag`) and only when the cookie
//   extension is in the first fragment, which our client's is not (it follows the
//   key_share), so that combination is not tested here.
// - Its client never sends a hybrid share in its first ClientHello (an empty key_share
//   instead) and waits for the server's HelloRetryRequest naming the group.
// Our server always starts with a stateless cookie HelloRetryRequest (the Endpoint's).
// ---------------------------------------------------------------------------------------

const OUR_TIMEOUT: &str = "10";

/// `dtls client --connect 127.0.0.1:PORT --max-version 1.3 --ca-file CA ARGS`. With
/// `lines`, it writes each to its stdin and closes it; it waits for as many datagrams back
/// (`--expect`), then sends close_notify. Without, stdin stays open (ARGS sets `--expect`).
fn our_client(port: u16, args: &[&str], lines: &[&str]) -> OpensslPeer {
    let pki = pki();
    let mut all: Vec<String> = [
        "client",
        "--connect",
        &format!("127.0.0.1:{port}"),
        "--max-version",
        "1.3",
        "--ca-file",
        &arg(&pki.ca.cert),
        "--timeout",
        OUR_TIMEOUT,
    ]
    .map(String::from)
    .to_vec();
    if !lines.is_empty() {
        all.extend(["--expect".to_owned(), lines.len().to_string()]);
    }
    all.extend(args.iter().map(|s| (*s).to_owned()));
    let mut client = spawn(DTLS, "dtls client", &all);
    if !lines.is_empty() {
        for line in lines {
            client.write_line(line);
        }
        client.close_stdin();
    }
    client
}

/// `dtls server --listen 127.0.0.1:0 --max-version 1.3 --echo --sessions 1 --cert/--key
/// (server_p256) ARGS` and its port.
fn our_server(args: &[&str]) -> (OpensslPeer, u16) {
    let pki = pki();
    let mut all: Vec<String> = [
        "server",
        "--listen",
        "127.0.0.1:0",
        "--max-version",
        "1.3",
        "--echo",
        "--sessions",
        "1",
        "--cert",
        &arg(&pki.server_p256.cert),
        "--key",
        &arg(&pki.server_p256.key),
    ]
    .map(String::from)
    .to_vec();
    all.extend(args.iter().map(|s| (*s).to_owned()));
    listening(spawn(DTLS, "dtls server", &all))
}

/// What both sides printed about one session.
struct Both {
    /// Our `connected ...` line.
    ours: String,
    /// wolfSSL's `connected ...` line.
    theirs: String,
    us: OpensslPeer,
    wolf: OpensslPeer,
}

impl Both {
    fn transcript(&self) -> String {
        both(&self.us, &self.wolf)
    }

    /// Both sides negotiated DTLS 1.3 with `group` and the same suite; returns the suite.
    fn assert_dtls13(&self, group: &str) -> String {
        let t = self.transcript();
        assert_eq!(field(&self.ours, "protocol"), "DTLSv1.3", "\n{t}");
        assert_eq!(field(&self.theirs, "protocol"), "DTLSv1.3", "\n{t}");
        assert_eq!(field(&self.ours, "group"), group, "\n{t}");
        assert_eq!(field(&self.theirs, "group"), group, "\n{t}");
        assert_eq!(field(&self.ours, "cipher"), field(&self.theirs, "cipher"), "the sides disagree on the suite\n{t}");
        field(&self.ours, "cipher").to_owned()
    }

    /// The exporter output (`--export-label`/`--exporter`) is present and equal on both sides.
    fn assert_exporters_equal(&self) {
        let t = self.transcript();
        // A leading newline: `srtp-keying-material` lines must not match.
        let ours = self.us.expect_line_after("\nkeying-material ", WAIT);
        let theirs = self.wolf.expect_line_after("\nkeying-material ", WAIT);
        assert_eq!(ours.len(), 64, "\n{t}");
        assert_eq!(ours, theirs, "exporters differ\n{t}");
    }

    /// The low epoch bits of our records as wolfSSL saw them: `2,3,0` when we updated our
    /// sending keys once after the handshake.
    fn our_epoch_bits_at_wolfssl(&self) -> Vec<u8> {
        let line = self.wolf.expect_line_after("peer-epoch-bits ", WAIT);
        line.split(',').filter(|b| *b != "-").map(|b| b.parse().expect("epoch bits")).collect()
    }
}

/// Our client (its `args`, sending `lines`) against wolfSSL's DTLS 1.3 server (`wolf_args`),
/// which echoes every line; both must exit 0.
fn our_client_vs_wolfssl(wolf_args: &[&str], our_args: &[&str], lines: &[&str]) -> Both {
    let pki = pki();
    let (cert, key) = (arg(&pki.server_p256.cert), arg(&pki.server_p256.key));
    let mut all = vec!["--cert", &cert, "--key", &key];
    all.extend_from_slice(wolf_args);
    let (mut wolf, port) = wolfssl_server(&all);
    let mut us = our_client(port, our_args, lines);
    assert_exit_ok(&mut us, &wolf);
    assert_exit_ok(&mut wolf, &us);
    let ours = us.expect_line_after("connected ", WAIT);
    let theirs = wolf.expect_line_after("connected ", WAIT);
    let t = both(&us, &wolf);
    assert_eq!(wolf.stdout().matches("echoed ").count(), lines.len(), "\n{t}");
    assert!(wolf.has_output("closed reason=close_notify"), "\n{t}");
    for line in lines {
        assert!(us.stdout().lines().any(|l| l == *line), "{line:?} did not come back\n{t}");
    }
    Both { ours, theirs, us, wolf }
}

/// wolfSSL's DTLS 1.3 client (`wolf_args`; it verifies us against the test CA, sends one
/// line and expects it back) against our server (`our_args`); both must exit 0.
fn wolfssl_vs_our_server(wolf_args: &[&str], our_args: &[&str]) -> Both {
    let pki = pki();
    let (mut us, port) = our_server(our_args);
    let addr = format!("127.0.0.1:{port}");
    let ca = arg(&pki.ca.cert);
    let mut all = vec!["client", "--addr", &addr, "--ca", &ca, "--message", "hello over DTLS 1.3 from wolfSSL"];
    all.extend_from_slice(wolf_args);
    let mut wolf = wolfssl("wolfssl client", &all);
    assert_exit_ok(&mut wolf, &us);
    assert_exit_ok(&mut us, &wolf);
    let ours = us.expect_line_after("connected ", WAIT);
    let theirs = wolf.expect_line_after("connected ", WAIT);
    let t = both(&us, &wolf);
    assert!(wolf.has_output("echo ok"), "\n{t}");
    assert!(us.has_output("closed 127.0.0.1:") && us.has_output("reason=close_notify"), "\n{t}");
    Both { ours, theirs, us, wolf }
}

/// Our client, offering X25519MLKEM768 first, against wolfSSL's server (cookie exchange off)
/// preferring the same group: DTLS 1.3 with X25519MLKEM768 in one round trip (no
/// HelloRetryRequest), AES-128-GCM (pinned on both sides), and equal exporters. At MTU
/// 1500: wolfSSL does not answer the fragmented hello our default MTU would produce (see
/// above).
#[test]
fn our_client_with_wolfssl_server_x25519mlkem768() {
    let export = format!("{LABEL}:32");
    let run = our_client_vs_wolfssl(
        &[
            "--no-cookie",
            "--groups",
            "X25519MLKEM768,X25519",
            "--ciphers",
            "TLS13-AES128-GCM-SHA256",
            "--exporter",
            &export,
        ],
        &[
            "--groups",
            "X25519MLKEM768:X25519",
            "--mtu",
            "1500",
            "--cipher",
            "TLS_AES_128_GCM_SHA256",
            "--export-label",
            LABEL,
            "--export-len",
            "32",
        ],
        &["one line over X25519MLKEM768"],
    );
    let suite = run.assert_dtls13("X25519MLKEM768");
    assert_eq!(suite, "TLS_AES_128_GCM_SHA256", "\n{}", run.transcript());
    assert_eq!(field(&run.theirs, "hrr"), "0", "\n{}", run.transcript());
    run.assert_exporters_equal();
}

/// X25519 only, at our default MTU, with ChaCha20-Poly1305 pinned on both sides and
/// wolfSSL's cookie HelloRetryRequest (`--cookie`): our client answers the cookie and the
/// exporters agree.
#[test]
fn our_client_with_wolfssl_server_x25519_chacha20_cookie() {
    let export = format!("{LABEL}:32");
    let run = our_client_vs_wolfssl(
        &["--cookie", "--groups", "X25519", "--ciphers", "TLS13-CHACHA20-POLY1305-SHA256", "--exporter", &export],
        &[
            "--groups",
            "X25519",
            "--cipher",
            "TLS_CHACHA20_POLY1305_SHA256",
            "--export-label",
            LABEL,
            "--export-len",
            "32",
        ],
        &["one line over X25519", "and another"],
    );
    let suite = run.assert_dtls13("X25519");
    assert_eq!(suite, "TLS_CHACHA20_POLY1305_SHA256", "\n{}", run.transcript());
    assert_eq!(field(&run.theirs, "hrr"), "1", "no cookie HelloRetryRequest\n{}", run.transcript());
    run.assert_exporters_equal();
}

/// HelloRetryRequest for a group: our client's key share is X25519 (it also supports
/// X25519MLKEM768), wolfSSL's server (no cookie exchange, so the one HelloRetryRequest is
/// the group's) accepts only X25519MLKEM768 and asks for it; our second ClientHello carries
/// the hybrid share, about 1.4 KB, so at our default MTU it goes out in two fragments,
/// which wolfSSL (stateful after a HelloRetryRequest without cookie) reassembles; the
/// session uses X25519MLKEM768.
#[test]
fn our_client_with_wolfssl_server_hello_retry_for_x25519mlkem768() {
    let run = our_client_vs_wolfssl(
        &["--no-cookie", "--groups", "X25519MLKEM768"],
        &["--groups", "X25519:X25519MLKEM768"],
        &["after a HelloRetryRequest"],
    );
    run.assert_dtls13("X25519MLKEM768");
    assert_eq!(field(&run.theirs, "hrr"), "1", "\n{}", run.transcript());
}

/// The cookie HelloRetryRequest with our second ClientHello fragmented (MTU 256):
/// wolfSSL's server (`--allow-ch-frag`) looks for the cookie only in the first fragment, so
/// our client puts the cookie extension first (it was last, after key_share, and wolfSSL
/// dropped the hello in silence). Regression test for that ordering.
#[test]
fn our_client_with_wolfssl_cookie_retry_and_a_fragmented_second_hello() {
    let run = our_client_vs_wolfssl(
        &["--cookie", "--allow-ch-frag", "--groups", "X25519"],
        &["--groups", "X25519", "--mtu", "256"],
        &["after a fragmented second hello"],
    );
    run.assert_dtls13("X25519");
    assert_eq!(field(&run.theirs, "hrr"), "1", "\n{}", run.transcript());
}

/// Mutual authentication and ALPN with our client: wolfSSL's server requires a client
/// certificate issued by the test CA (`--ca`) and picks `webrtc` from our offer; our client
/// verifies wolfSSL's certificate against the same CA; AES-256-GCM pinned on both sides.
#[test]
fn our_client_with_wolfssl_server_mutual_auth_alpn_aes256() {
    let pki = pki();
    let (cert, key, ca) = (arg(&pki.client.cert), arg(&pki.client.key), arg(&pki.ca.cert));
    let run = our_client_vs_wolfssl(
        &["--ca", &ca, "--groups", "X25519", "--alpn", "webrtc", "--ciphers", "TLS13-AES256-GCM-SHA384"],
        &[
            "--groups",
            "X25519",
            "--cert",
            &cert,
            "--key",
            &key,
            "--alpn",
            "h2,webrtc",
            "--cipher",
            "TLS_AES_256_GCM_SHA384",
        ],
        &["authenticated both ways"],
    );
    let suite = run.assert_dtls13("X25519");
    assert_eq!(suite, "TLS_AES_256_GCM_SHA384", "\n{}", run.transcript());
    assert_eq!(field(&run.ours, "alpn"), "webrtc", "\n{}", run.transcript());
    assert_eq!(field(&run.theirs, "alpn"), "webrtc", "\n{}", run.transcript());
}

/// A KeyUpdate from wolfSSL's server (`--key-update`, sent right after the handshake with
/// update_requested): our client takes the new receiving key (every later echo still
/// arrives) and answers with a KeyUpdate of its own, which wolfSSL sees as our records
/// moving to epoch 4 (epoch bits 0).
#[test]
fn our_client_follows_a_wolfssl_key_update() {
    let run = our_client_vs_wolfssl(
        &["--groups", "X25519", "--key-update"],
        &["--groups", "X25519"],
        &["before or after the update", "after the update", "still after it"],
    );
    run.assert_dtls13("X25519");
    assert!(run.wolf.has_output("key-update sent"), "\n{}", run.transcript());
    let bits = run.our_epoch_bits_at_wolfssl();
    assert!(bits.contains(&0), "our records never reached epoch 4 (bits {bits:?})\n{}", run.transcript());
}

/// Our client updates its sending keys after every record (`--key-update-after 1`) while
/// sending four lines, each after the echo of the one before (and a pause, so that wolfSSL's
/// ACK of our KeyUpdate is in: RFC 9147 §8 forbids the new keys, and another KeyUpdate,
/// before it). wolfSSL follows each KeyUpdate (every line is echoed) and sees our records in
/// epochs 3, 4, 5 and 6 (epoch bits 3, 0, 1, 2).
#[test]
fn our_client_key_updates_with_wolfssl_server() {
    let pki = pki();
    let (cert, key) = (arg(&pki.server_p256.cert), arg(&pki.server_p256.key));
    let (mut wolf, port) = wolfssl_server(&["--cert", &cert, "--key", &key, "--groups", "X25519"]);
    let lines = ["line 1", "line 2", "line 3", "line 4"];
    let mut us = our_client(port, &["--groups", "X25519", "--key-update-after", "1", "--expect", "4"], &[]);
    for line in lines {
        us.write_line(line);
        assert!(us.wait_for_output(&format!("{line}\n"), WAIT), "no echo of {line:?}\n{}", both(&us, &wolf));
        std::thread::sleep(Duration::from_millis(200));
    }
    us.close_stdin();
    assert_exit_ok(&mut us, &wolf);
    assert_exit_ok(&mut wolf, &us);
    let (ours, theirs) = (us.expect_line_after("connected ", WAIT), wolf.expect_line_after("connected ", WAIT));
    let run = Both { ours, theirs, us, wolf };
    run.assert_dtls13("X25519");
    assert_eq!(run.wolf.stdout().matches("echoed ").count(), lines.len(), "\n{}", run.transcript());
    let bits = run.our_epoch_bits_at_wolfssl();
    for b in [3, 0, 1, 2] {
        assert!(bits.contains(&b), "no record of ours with epoch bits {b} (saw {bits:?})\n{}", run.transcript());
    }
}

/// DTLS-SRTP in DTLS 1.3 (use_srtp in ClientHello and EncryptedExtensions): our client
/// offers two profiles, SRTP_AEAD_AES_128_GCM first, wolfSSL's server (which supports both)
/// agrees to it, and both sides derive the same EXTRACTOR-dtls_srtp keying material
/// (2 * (16 + 12) bytes).
#[test]
fn our_client_with_wolfssl_server_srtp() {
    let run = our_client_vs_wolfssl(
        &["--groups", "X25519", "--srtp", "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM"],
        &["--groups", "X25519", "--srtp", "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"],
        &["with SRTP keys"],
    );
    run.assert_dtls13("X25519");
    let t = run.transcript();
    assert_eq!(field(&run.ours, "srtp"), "SRTP_AEAD_AES_128_GCM", "\n{t}");
    assert_eq!(field(&run.theirs, "srtp"), "SRTP_AEAD_AES_128_GCM", "\n{t}");
    let ours = run.us.expect_line_after("srtp-keying-material ", WAIT);
    assert_eq!(ours.len(), 2 * 2 * (16 + 12), "\n{t}");
    assert_eq!(ours, run.wolf.expect_line_after("srtp-keying-material ", WAIT), "SRTP keys differ\n{t}");
}

/// wolfSSL's client preferring X25519MLKEM768 against our server at its default MTU:
/// wolfSSL's first ClientHello has an empty key_share; our server's cookie
/// HelloRetryRequest names X25519MLKEM768; wolfSSL's second ClientHello (cookie and the
/// hybrid share) fits one datagram, and the session uses X25519MLKEM768 with AES-128-GCM
/// (pinned on both sides), equal exporters and ALPN.
#[test]
fn wolfssl_client_with_our_server_x25519mlkem768() {
    let export = format!("{LABEL}:32");
    let run = wolfssl_vs_our_server(
        &[
            "--groups",
            "X25519MLKEM768,X25519",
            "--ciphers",
            "TLS13-AES128-GCM-SHA256",
            "--exporter",
            &export,
            "--alpn",
            "webrtc",
        ],
        &["--cipher", "TLS_AES_128_GCM_SHA256", "--export-label", LABEL, "--export-len", "32", "--alpn", "webrtc"],
    );
    let suite = run.assert_dtls13("X25519MLKEM768");
    let t = run.transcript();
    assert_eq!(suite, "TLS_AES_128_GCM_SHA256", "\n{t}");
    assert_eq!(field(&run.theirs, "hrr"), "1", "\n{t}");
    assert_eq!(field(&run.ours, "alpn"), "webrtc", "\n{t}");
    assert_eq!(field(&run.theirs, "alpn"), "webrtc", "\n{t}");
    run.assert_exporters_equal();
}

/// wolfSSL's client offering an X25519 share against our server: our server's cookie
/// HelloRetryRequest (it always does the cookie round) is answered, and the session runs on
/// X25519 with ChaCha20-Poly1305 (pinned on both sides).
#[test]
fn wolfssl_client_with_our_server_x25519_chacha20_cookie() {
    let run = wolfssl_vs_our_server(
        &["--groups", "X25519,P-256", "--ciphers", "TLS13-CHACHA20-POLY1305-SHA256"],
        &["--cipher", "TLS_CHACHA20_POLY1305_SHA256"],
    );
    let suite = run.assert_dtls13("X25519");
    assert_eq!(suite, "TLS_CHACHA20_POLY1305_SHA256", "\n{}", run.transcript());
    assert_eq!(field(&run.theirs, "hrr"), "1", "our server did no cookie exchange\n{}", run.transcript());
}

/// HelloRetryRequest for a group with our server: wolfSSL's key share is X25519, our server
/// accepts only X25519MLKEM768, so its (cookie) HelloRetryRequest asks for the hybrid group,
/// and wolfSSL's second ClientHello carries it.
#[test]
fn wolfssl_client_with_our_server_hello_retry_for_group() {
    let run = wolfssl_vs_our_server(&["--groups", "X25519,X25519MLKEM768"], &["--groups", "X25519MLKEM768"]);
    run.assert_dtls13("X25519MLKEM768");
    assert_eq!(field(&run.theirs, "hrr"), "1", "\n{}", run.transcript());
}

/// Mutual authentication with our server: it requires a client certificate issued by the
/// test CA (`--ca-file --require-client-cert`); wolfSSL presents the test client's and
/// verifies ours; AES-256-GCM pinned on both sides; SRTP: our server picks
/// SRTP_AES128_CM_SHA1_80 from wolfSSL's offer and both sides derive the same keying
/// material (2 * (16 + 14) bytes).
#[test]
fn wolfssl_client_with_our_server_mutual_auth_srtp_aes256() {
    let pki = pki();
    let (cert, key, ca) = (arg(&pki.client.cert), arg(&pki.client.key), arg(&pki.ca.cert));
    let run = wolfssl_vs_our_server(
        &[
            "--groups",
            "X25519",
            "--cert",
            &cert,
            "--key",
            &key,
            "--ciphers",
            "TLS13-AES256-GCM-SHA384",
            "--srtp",
            "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
        ],
        &[
            "--ca-file",
            &ca,
            "--require-client-cert",
            "--cipher",
            "TLS_AES_256_GCM_SHA384",
            "--srtp",
            "SRTP_AES128_CM_SHA1_80",
        ],
    );
    let suite = run.assert_dtls13("X25519");
    let t = run.transcript();
    assert_eq!(suite, "TLS_AES_256_GCM_SHA384", "\n{t}");
    assert_eq!(field(&run.ours, "srtp"), "SRTP_AES128_CM_SHA1_80", "\n{t}");
    assert_eq!(field(&run.theirs, "srtp"), "SRTP_AES128_CM_SHA1_80", "\n{t}");
    let ours = run.us.expect_line_after("srtp-keying-material ", WAIT);
    assert_eq!(ours.len(), 2 * 2 * (16 + 14), "\n{t}");
    assert_eq!(ours, run.wolf.expect_line_after("srtp-keying-material ", WAIT), "SRTP keys differ\n{t}");
}

/// A KeyUpdate from wolfSSL's client (`--key-update`, update_requested) right after the
/// handshake: our server takes the new receiving key (the lines after it are echoed) and
/// answers with a KeyUpdate of its own. Our first echo may still go out under the old key
/// (RFC 9147 §8: the new one only after wolfSSL's ACK), so wolfSSL sends its line three
/// times, each after the previous echo, and sees our later records at epoch 4.
#[test]
fn wolfssl_client_key_update_with_our_server() {
    let run = wolfssl_vs_our_server(&["--groups", "X25519", "--key-update", "--repeat", "3"], &[]);
    run.assert_dtls13("X25519");
    let bits = run.our_epoch_bits_at_wolfssl();
    assert!(bits.contains(&0), "our records never reached epoch 4 (bits {bits:?})\n{}", run.transcript());
}

/// wolfSSL's DTLS 1.2-only server (`--version 1.2`, wolfDTLSv1_2_server_method) against our
/// client allowing 1.3 with its default offer (DTLS 1.3 and 1.2, an X25519MLKEM768 key
/// share): DTLS 1.2 on both sides after wolfSSL's HelloVerifyRequest, no downgrade sentinel
/// from wolfSSL (our client would abort on one), equal exporters. At MTU 1500: wolfSSL's
/// DTLS 1.2 server, too, never answers a first ClientHello in fragments, and this one is
/// about 1.4 KB.
#[test]
fn our_dtls13_client_with_wolfssl_dtls12_server() {
    let export = format!("{LABEL}:32");
    let run = our_client_vs_wolfssl(
        &["--version", "1.2", "--groups", "X25519,P-256", "--exporter", &export],
        &["--mtu", "1500", "--export-label", LABEL, "--export-len", "32"],
        &["over DTLS 1.2"],
    );
    let t = run.transcript();
    assert_eq!(field(&run.ours, "protocol"), "DTLSv1.2", "\n{t}");
    assert_eq!(field(&run.theirs, "protocol"), "DTLSv1.2", "\n{t}");
    assert_eq!(field(&run.theirs, "hvr"), "1", "\n{t}");
    assert_eq!(field(&run.ours, "cipher"), field(&run.theirs, "cipher"), "\n{t}");
    run.assert_exporters_equal();
}

/// wolfSSL's DTLS 1.2 client against our server allowing 1.3: DTLS 1.2 on both sides, after
/// our HelloVerifyRequest.
#[test]
fn wolfssl_dtls12_client_with_our_dtls13_server() {
    let run = wolfssl_vs_our_server(&["--version", "1.2", "--groups", "X25519,P-256"], &[]);
    let t = run.transcript();
    assert_eq!(field(&run.ours, "protocol"), "DTLSv1.2", "\n{t}");
    assert_eq!(field(&run.theirs, "protocol"), "DTLSv1.2", "\n{t}");
    assert_eq!(field(&run.theirs, "hvr"), "1", "\n{t}");
    assert_eq!(field(&run.ours, "cipher"), field(&run.theirs, "cipher"), "\n{t}");
}

/// Our server at its smallest MTU (256) against wolfSSL's client preferring X25519MLKEM768:
/// our ServerHello (with the 1088-byte ML-KEM ciphertext) and the rest of our flight reach
/// wolfSSL in fragments, which it reassembles; DTLS 1.3 with X25519MLKEM768. (wolfSSL's own
/// client cannot go that low: at `--mtu 256` it fails with a buffer error before sending
/// its second ClientHello.)
#[test]
fn wolfssl_client_with_our_server_at_mtu_256() {
    let run = wolfssl_vs_our_server(&["--groups", "X25519MLKEM768,X25519"], &["--mtu", "256"]);
    run.assert_dtls13("X25519MLKEM768");
    assert_eq!(field(&run.theirs, "hrr"), "1", "\n{}", run.transcript());
}

/// Our server's `AlpnSelector` in DTLS 1.3 against wolfSSL's client: the selector takes the
/// client's *last* offer, and wolfSSL, offering `h2,webrtc` and then `webrtc,h2`, reports
/// the protocol it chose each time (no preference list of ours would give both).
#[test]
fn wolfssl_client_gets_the_alpn_our_selector_chooses() {
    use std::sync::Arc;

    use dtls_engine::adapter::EndpointOptions;
    use dtls_engine::adapter::tokio_udp::listen;
    use dtls_engine::{AlpnChoice, AlpnSelector, ProtocolVersion, ServerConfig};

    #[derive(Debug)]
    struct Last;
    impl AlpnSelector for Last {
        fn select(&self, offered: &[Vec<u8>]) -> AlpnChoice {
            AlpnChoice::Protocol(offered.len() - 1)
        }
    }
    let pki = pki();
    let (cert, key) = (std::fs::read(&pki.server_p256.cert).unwrap(), std::fs::read(&pki.server_p256.key).unwrap());
    let ca = arg(&pki.ca.cert);
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (offer, chosen) in [("h2,webrtc", "webrtc"), ("webrtc,h2", "h2")] {
        let config = ServerConfig::builder()
            .certificate_pem(&cert, &key)
            .unwrap()
            .max_version(ProtocolVersion::Dtls13)
            .alpn_selector(Arc::new(Last))
            .build()
            .unwrap();
        let (addr, server) = rt.block_on(async {
            let endpoint = listen("127.0.0.1:0", config, EndpointOptions::default()).await.unwrap();
            let addr = endpoint.local_addr();
            let server = tokio::spawn(async move {
                let mut s = endpoint.accept().await.expect("a session");
                let seen = (s.protocol(), s.alpn_protocol());
                let d = s.recv().await.expect("a message");
                s.send(&d).await.expect("echo");
                s.closed().await;
                seen
            });
            (addr, server)
        });
        let addr = addr.to_string();
        let args = ["client", "--addr", &addr, "--ca", &ca, "--groups", "X25519", "--alpn", offer, "--message", "hi"];
        let mut wolf = wolfssl("wolfssl client", &args);
        let status = wolf.wait_exit(WAIT);
        assert!(status.is_some_and(|s| s.success()), "wolfSSL exit {status:?}\n{}", wolf.transcript());
        let line = wolf.expect_line_after("connected ", WAIT);
        assert_eq!(field(&line, "protocol"), "DTLSv1.3", "\n{}", wolf.transcript());
        assert_eq!(field(&line, "alpn"), chosen, "\n{}", wolf.transcript());
        let seen = rt.block_on(async { tokio::time::timeout(WAIT, server).await }).unwrap().unwrap();
        assert_eq!(seen, ("DTLSv1.3", Some(chosen.as_bytes().to_vec())));
    }
}
