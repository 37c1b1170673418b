//! Interop with Mbed TLS 3.6 over loopback UDP: its sample programs `ssl_server2` and
//! `ssl_client2`, built by `interop/mbedtls/build.sh` from Debian 13's `mbedtls` source
//! package. Mbed TLS 3.6 supports DTLS Connection IDs in the RFC 9146 format; our engine
//! does not yet, so these cases are DTLS 1.2 without one:
//!
//! - our `dtls client` against `ssl_server2 dtls=1`: Mbed TLS's HelloVerifyRequest, a
//!   handshake verified against the test CA, our request and its fixed HTML page back,
//!   close_notify; once more with a client certificate (`auth_mode=required`);
//! - `ssl_client2 dtls=1` (verifying us against the test CA, `auth_mode=required`) against
//!   our `dtls server --echo`: its request comes back as its response;
//! - Mbed TLS offering a Connection ID (`cid=1 cid_val=beef`) as server and as client (the
//!   latter with mutual authentication): we send no `connection_id` extension, so none is
//!   negotiated (RFC 9146 §3) and the session goes on without one. Mbed TLS says so in its
//!   report lines ([`SERVER_CID_NOT_OFFERED`], [`CLIENT_CID_REJECTED`]); at `debug_level=3`
//!   its debug lines show the extension it sent and that it found none in our hello.
//!
//! What the programs do (Mbed TLS 3.6.6):
//! - `ssl_server2` serves one connection after the other and never exits on its own: a test
//!   waits for what it printed about the session, then kills it. Each ClientHello without a
//!   cookie gets a HelloVerifyRequest, after which it prints `hello verification requested`
//!   and starts over. It cannot bind port 0, so it is started on a free port (retried if
//!   taken meanwhile). In DTLS it reads one datagram as the request, without parsing it,
//!   and answers with its page ([`SERVER_PAGE`]).
//! - `ssl_client2` sends one request datagram (`GET / HTTP/1.0`, a Host line and an extra
//!   header), reads one datagram back, sends close_notify and exits 0.
//! - Both print `[ Protocol is DTLSv1.2 ]` and `[ Ciphersuite is TLS-ECDHE-...]` (the IANA
//!   name with `-` for `_`), and report the Connection ID after the handshake, once as
//!   `(initial handshake) ...` and once more as `(after renegotiation) ...` even when there
//!   was no renegotiation.
//!
//! The binaries come from `DTLS_MBEDTLS_SERVER` and `DTLS_MBEDTLS_CLIENT`, which
//! `scripts/test` (the README's test command) sets after running `interop/mbedtls/build.sh`.
//! Without them these tests fail; they never skip.

#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::certs::pki;
use common::openssl::{OpensslPeer, pick_free_port};
use common::status::{self, both, field, listening_port};

const DTLS: &str = env!("CARGO_BIN_EXE_dtls");
const WAIT: Duration = Duration::from_secs(30);
/// Seconds our `dtls client` waits for the handshake and for the reply.
const OUR_TIMEOUT: &str = "10";
/// Mbed TLS's handshake retransmission timer, min-max in milliseconds: it gives up after
/// about 15 s.
const HS_TIMEOUT: &str = "hs_timeout=1000-8000";
/// How long Mbed TLS waits for a record in the data exchange, in milliseconds.
const READ_TIMEOUT: &str = "read_timeout=10000";

/// The heading of the page `ssl_server2` sends back for any request.
const SERVER_PAGE: &str = "<h2>Mbed TLS Test Server</h2>";
/// `ssl_server2`'s report, with `cid=1`, after a handshake in which the client sent no
/// `connection_id` extension.
const SERVER_CID_NOT_OFFERED: &str = "(initial handshake) Use of Connection ID was not offered by client.";
/// `ssl_client2`'s report, with `cid=1`, after a handshake in which the server answered
/// without a `connection_id` extension.
const CLIENT_CID_REJECTED: &str = "(initial handshake) Use of Connection ID was rejected by the server.";
/// What either program reports when a Connection ID was negotiated (followed by
/// `(...) Peer CID (length N Bytes): xx xx`).
const CID_NEGOTIATED: &str = "Use of Connection ID has been negotiated.";

fn binary(var: &str) -> String {
    let hint = "These tests drive Mbed TLS's ssl_server2 and ssl_client2. Run the README's test \
                command, scripts/test, which builds them from Debian 13's mbedtls source package \
                (interop/mbedtls/build.sh) and sets DTLS_MBEDTLS_SERVER and DTLS_MBEDTLS_CLIENT \
                (or run interop/mbedtls/build.sh and export DTLS_MBEDTLS_SERVER=$PWD/interop/mbedtls/bin/\
                ssl_server2 DTLS_MBEDTLS_CLIENT=$PWD/interop/mbedtls/bin/ssl_client2).";
    status::peer_binary(var, hint)
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// The IANA name of a suite as Mbed TLS prints it (`TLS-ECDHE-ECDSA-WITH-...`).
fn iana(mbedtls_suite: &str) -> String {
    mbedtls_suite.replace('-', "_")
}

/// Whether `needle` occurs in `out` after `marker`. At `debug_level=3` debug lines may stand
/// between a progress message (`  < Read from server:`) and its result (` 51 bytes read`).
fn follows(out: &str, marker: &str, needle: &str) -> bool {
    out.find(marker).is_some_and(|at| out[at + marker.len()..].contains(needle))
}

/// A running `ssl_server2 dtls=1` on 127.0.0.1 and its port.
struct MbedServer {
    peer: OpensslPeer,
    port: u16,
}

impl MbedServer {
    /// `ssl_server2 dtls=1 server_addr=127.0.0.1 server_port=PORT crt_file/key_file
    /// (server_p256) ARGS` on a free port, once it waits for a connection.
    fn spawn(args: &[&str]) -> Self {
        let pki = pki();
        let program = binary("DTLS_MBEDTLS_SERVER");
        let mut last = String::new();
        for _attempt in 0..5 {
            let port = pick_free_port();
            let mut all = owned(&[
                "dtls=1",
                "server_addr=127.0.0.1",
                &format!("server_port={port}"),
                &format!("crt_file={}", arg(&pki.server_p256.cert)),
                &format!("key_file={}", arg(&pki.server_p256.key)),
                HS_TIMEOUT,
                READ_TIMEOUT,
            ]);
            all.extend(owned(args));
            let mut peer = OpensslPeer::spawn_program(&program, format!("ssl_server2 :{port}"), port, &all);
            if peer.wait_for_output("Waiting for a remote connection", WAIT) {
                return Self { peer, port };
            }
            peer.kill();
            last = peer.transcript();
            if !last.contains("Bind on") {
                break;
            }
        }
        panic!("ssl_server2 did not start\n{last}");
    }

    /// Waits until the server has closed a session and waits for the next connection, i.e.
    /// `Waiting for a remote connection` follows `Closing the connection` (debug lines may
    /// stand between `Closing the connection...` and its ` done`).
    fn wait_session_closed(&self, other: &OpensslPeer) {
        let deadline = Instant::now() + WAIT;
        loop {
            let out = self.peer.stdout();
            if out
                .rfind("Closing the connection")
                .is_some_and(|at| out[at..].contains("Waiting for a remote connection"))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "ssl_server2 did not close the session within {WAIT:?}\n{}",
                both(&self.peer, other)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `ssl_client2 dtls=1 server_addr=127.0.0.1 server_port=PORT server_name=localhost
/// ca_file=CA auth_mode=required ARGS`: it verifies our certificate against the test CA.
fn mbed_client(port: u16, args: &[&str]) -> OpensslPeer {
    let pki = pki();
    let mut all = owned(&[
        "dtls=1",
        "server_addr=127.0.0.1",
        &format!("server_port={port}"),
        "server_name=localhost",
        &format!("ca_file={}", arg(&pki.ca.cert)),
        "auth_mode=required",
        HS_TIMEOUT,
        READ_TIMEOUT,
    ]);
    all.extend(owned(args));
    OpensslPeer::spawn_program(&binary("DTLS_MBEDTLS_CLIENT"), format!("ssl_client2 ->:{port}"), port, &all)
}

/// `dtls client --connect 127.0.0.1:PORT --max-version 1.2 --ca-file CA --expect 1 ARGS`,
/// which sends `line` as one datagram and waits for one back.
fn our_client(port: u16, args: &[&str], line: &str) -> OpensslPeer {
    let pki = pki();
    let mut all = owned(&[
        "client",
        "--connect",
        &format!("127.0.0.1:{port}"),
        "--max-version",
        "1.2",
        "--ca-file",
        &arg(&pki.ca.cert),
        "--expect",
        "1",
        "--timeout",
        OUR_TIMEOUT,
    ]);
    all.extend(owned(args));
    let mut client = OpensslPeer::spawn_program(DTLS, "dtls client", port, &all);
    client.write_line(line);
    client.close_stdin();
    client
}

/// `dtls server --listen 127.0.0.1:0 --max-version 1.2 --echo --sessions 1 --cert/--key
/// (server_p256) ARGS` and its port.
fn our_server(args: &[&str]) -> (OpensslPeer, u16) {
    let pki = pki();
    let mut all = owned(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--max-version",
        "1.2",
        "--echo",
        "--sessions",
        "1",
        "--cert",
        &arg(&pki.server_p256.cert),
        "--key",
        &arg(&pki.server_p256.key),
    ]);
    all.extend(owned(args));
    let server = OpensslPeer::spawn_program(DTLS, "dtls server", 0, &all);
    let port = listening_port(&server, WAIT);
    (server, port)
}

fn assert_exit_ok(peer: &mut OpensslPeer, other: &OpensslPeer) {
    status::assert_exit_ok(peer, other, WAIT);
}

/// Both sides negotiated DTLS 1.2 with the same suite: Mbed TLS's `[ Protocol is ... ]` and
/// `[ Ciphersuite is ... ]` lines against our `connected ...` line. Returns the suite.
fn assert_same_dtls12_session(mbed: &OpensslPeer, ours: &OpensslPeer) -> String {
    let t = both(mbed, ours);
    let connected = ours.expect_line_after("connected ", WAIT);
    assert_eq!(field(&connected, "protocol"), "DTLSv1.2", "\n{t}");
    assert_eq!(mbed.expect_line_after("[ Protocol is ", WAIT), "DTLSv1.2 ]", "\n{t}");
    let suite = mbed.expect_line_after("[ Ciphersuite is ", WAIT);
    let suite = iana(suite.trim_end_matches(" ]"));
    assert_eq!(field(&connected, "cipher"), suite, "the sides disagree on the suite\n{t}");
    suite
}

/// Our client against `ssl_server2` (its `server_args`): the HelloVerifyRequest, the
/// handshake, our request line answered with the server's page, close_notify. Returns both
/// (the server still running) for more checks.
fn our_client_vs_mbed_server(server_args: &[&str], our_args: &[&str]) -> (MbedServer, OpensslPeer) {
    let server = MbedServer::spawn(server_args);
    let mut us = our_client(server.port, our_args, "GET / HTTP/1.0");
    assert_exit_ok(&mut us, &server.peer);
    server.wait_session_closed(&us);
    let t = both(&server.peer, &us);
    let suite = assert_same_dtls12_session(&server.peer, &us);
    assert!(server.peer.has_output("hello verification requested"), "no HelloVerifyRequest\n{t}");
    assert!(follows(&server.peer.stdout(), "< Read from client:", " 14 bytes read"), "\n{t}");
    assert!(us.stdout().contains(SERVER_PAGE), "our client did not receive the page\n{t}");
    assert!(us.stdout().contains(&format!("Successful connection using: {}", suite.replace('_', "-"))), "\n{t}");
    assert!(us.has_output("reason=close_notify"), "\n{t}");
    (server, us)
}

/// `ssl_client2` (its `client_args`) against our echo server (`our_args`): its request
/// comes back, both exit 0. Returns both for more checks.
fn mbed_client_vs_our_server(client_args: &[&str], our_args: &[&str]) -> (OpensslPeer, OpensslPeer) {
    let (mut us, port) = our_server(our_args);
    let mut mbed = mbed_client(port, client_args);
    assert_exit_ok(&mut mbed, &us);
    assert_exit_ok(&mut us, &mbed);
    let t = both(&mbed, &us);
    assert_same_dtls12_session(&mbed, &us);
    assert!(mbed.has_output("Verifying peer X.509 certificate... ok"), "\n{t}");
    assert!(us.stdout().contains("GET / HTTP/1.0"), "our server did not receive the request\n{t}");
    assert!(follows(&mbed.stdout(), "< Read from server:", "GET / HTTP/1.0"), "the request did not come back\n{t}");
    assert!(mbed.has_output("Closing the connection"), "\n{t}");
    assert!(us.has_output("reason=close_notify"), "\n{t}");
    (mbed, us)
}

/// Our client against `ssl_server2 dtls=1`: verified against the test CA, the server's
/// page comes back.
#[test]
fn our_client_with_mbedtls_server() {
    let (server, us) = our_client_vs_mbed_server(&[], &[]);
    let t = both(&server.peer, &us);
    assert!(!server.peer.has_output("Use of Connection ID"), "no CID report without cid=1\n{t}");
}

/// Mutual authentication: `ssl_server2 auth_mode=required` verifies our client certificate
/// (the test client's, P-256) against the test CA.
#[test]
fn our_client_with_mbedtls_server_mutual_auth() {
    let pki = pki();
    let (ca, cert, key) = (arg(&pki.ca.cert), arg(&pki.client.cert), arg(&pki.client.key));
    let (server, us) =
        our_client_vs_mbed_server(&["auth_mode=required", &format!("ca_file={ca}")], &["--cert", &cert, "--key", &key]);
    let t = both(&server.peer, &us);
    assert!(server.peer.has_output("Verifying peer X.509 certificate... ok"), "\n{t}");
    assert!(server.peer.has_output("subject name      : CN=client.localhost"), "\n{t}");
}

/// `ssl_client2 dtls=1` against our echo server: it verifies us against the test CA and
/// reads its request back.
#[test]
fn mbedtls_client_with_our_server() {
    let (mbed, us) = mbed_client_vs_our_server(&["crt_file=none", "key_file=none"], &[]);
    let t = both(&mbed, &us);
    assert!(!mbed.has_output("Use of Connection ID"), "no CID report without cid=1\n{t}");
}

/// `ssl_server2 cid=1 cid_val=beef` against our client, which sends no `connection_id`
/// extension: the server negotiates none (it says so) and the session goes on without one.
/// At debug level 3 it shows that it found no CID extension in our hello and sent none.
#[test]
fn mbedtls_server_offering_a_cid_gets_none_from_our_client() {
    let (server, us) = our_client_vs_mbed_server(&["cid=1", "cid_val=beef", "debug_level=3"], &[]);
    let t = both(&server.peer, &us);
    assert!(server.peer.has_output("Enable use of CID extension."), "cid=1 not in effect\n{t}");
    assert!(server.peer.has_output(SERVER_CID_NOT_OFFERED), "\n{t}");
    assert!(!server.peer.has_output(CID_NEGOTIATED), "\n{t}");
    assert!(!server.peer.has_output("found CID extension"), "our ClientHello carried a CID extension\n{t}");
    assert!(!server.peer.has_output("server hello, adding CID extension"), "\n{t}");
}

/// `ssl_client2 cid=1 cid_val=beef` with a client certificate against our server, which
/// requires one: Mbed TLS offers a Connection ID, we ignore the extension (RFC 9146 §3: a
/// server that does not send it back negotiates none), Mbed TLS reports it rejected, and
/// the session (mutually authenticated) goes on without one.
#[test]
fn mbedtls_client_offering_a_cid_with_mutual_auth_gets_none_from_our_server() {
    let pki = pki();
    let (ca, cert, key) = (arg(&pki.ca.cert), arg(&pki.client.cert), arg(&pki.client.key));
    let (mbed, us) = mbed_client_vs_our_server(
        &["cid=1", "cid_val=beef", "debug_level=3", &format!("crt_file={cert}"), &format!("key_file={key}")],
        &["--ca-file", &ca, "--require-client-cert"],
    );
    let t = both(&mbed, &us);
    assert!(mbed.has_output("client hello, adding CID extension"), "Mbed TLS offered no CID\n{t}");
    assert!(mbed.has_output(CLIENT_CID_REJECTED), "\n{t}");
    assert!(!mbed.has_output(CID_NEGOTIATED), "\n{t}");
    assert!(!mbed.has_output("found CID extension"), "our ServerHello carried a CID extension\n{t}");
    assert!(mbed.has_output("Loading the client cert. and key... ok (key type: EC)"), "\n{t}");
}

/// Mbed TLS's `Peer CID (length N Bytes): xx xx ...` line as lowercase hex.
fn mbed_peer_cid(mbed: &OpensslPeer, other: &OpensslPeer) -> String {
    let line = mbed.expect_line_after("(initial handshake) Peer CID (length ", WAIT);
    let bytes = line.split_once("Bytes):").map(|(_, b)| b).unwrap_or_else(|| panic!("`{line}`\n{}", both(mbed, other)));
    bytes.split_whitespace().collect()
}

/// RFC 9146 with Mbed TLS's server: our client asks for a 4-byte CID, the server for
/// `beef`; both report the same pair, and the request and the page travel in `tls12_cid`
/// records both ways (Mbed TLS parses the records we send with the CID it asked for).
#[test]
fn our_client_negotiates_cids_with_mbedtls_server() {
    let (server, us) = our_client_vs_mbed_server(&["cid=1", "cid_val=beef"], &["--cid-len", "4"]);
    let t = both(&server.peer, &us);
    assert!(server.peer.has_output(CID_NEGOTIATED), "\n{t}");
    let connected = us.expect_line_after("connected ", WAIT);
    let (ours, theirs) = field(&connected, "cid").split_once('/').unwrap_or_else(|| panic!("cid=\n{t}"));
    assert_eq!(theirs, "beef", "\n{t}");
    assert_eq!(ours.len(), 8, "\n{t}");
    assert_eq!(mbed_peer_cid(&server.peer, &us), ours, "Mbed TLS sends another CID than ours\n{t}");
}

/// The other role, with mutual authentication and a server id: `ssl_client2` asks for
/// `c1d0`, our server for a 6-byte CID starting with `a1b2`; the echo comes back through
/// `tls12_cid` records.
#[test]
fn mbedtls_client_negotiates_cids_with_our_server() {
    let pki = pki();
    let (ca, cert, key) = (arg(&pki.ca.cert), arg(&pki.client.cert), arg(&pki.client.key));
    let (mbed, us) = mbed_client_vs_our_server(
        &["cid=1", "cid_val=c1d0", &format!("crt_file={cert}"), &format!("key_file={key}")],
        &["--ca-file", &ca, "--require-client-cert", "--cid-len", "6", "--server-id", "a1b2"],
    );
    let t = both(&mbed, &us);
    assert!(mbed.has_output(CID_NEGOTIATED), "\n{t}");
    let connected = us.expect_line_after("connected ", WAIT);
    let (ours, theirs) = field(&connected, "cid").split_once('/').unwrap_or_else(|| panic!("cid=\n{t}"));
    assert_eq!(theirs, "c1d0", "\n{t}");
    assert!(ours.starts_with("a1b2") && ours.len() == 12, "{ours}\n{t}");
    assert_eq!(mbed_peer_cid(&mbed, &us), ours, "\n{t}");
}

/// Zero-length CIDs (RFC 9146 §3): Mbed TLS's server asks for none (`cid_val=` empty) but
/// sends ours; our client asks for none and sends the server's.
#[test]
fn zero_length_cids_with_mbedtls() {
    let (server, us) = our_client_vs_mbed_server(&["cid=1", "cid_val="], &["--cid-len", "3"]);
    let t = both(&server.peer, &us);
    assert!(server.peer.has_output(CID_NEGOTIATED), "\n{t}");
    let connected = us.expect_line_after("connected ", WAIT);
    let (ours, theirs) = field(&connected, "cid").split_once('/').unwrap_or_else(|| panic!("cid=\n{t}"));
    assert_eq!((ours.len(), theirs), (6, ""), "\n{t}");
    let (server, us) = our_client_vs_mbed_server(&["cid=1", "cid_val=0102"], &["--cid-len", "0"]);
    let t = both(&server.peer, &us);
    assert!(server.peer.has_output(CID_NEGOTIATED), "\n{t}");
    let connected = us.expect_line_after("connected ", WAIT);
    assert_eq!(field(&connected, "cid"), "/0102", "\n{t}");
}

/// A relay between Mbed TLS's client and our server that moves the client to a new source
/// port before each of its `tls12_cid` records after the first (its Finished): the server
/// sees every request from a new address, as behind a NAT that keeps rebinding. Only
/// replies that reach the newest outside socket go back to the client.
struct MovingRelay {
    addr: std::net::SocketAddr,
    moves: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MovingRelay {
    fn start(target: std::net::SocketAddr) -> Self {
        use std::net::UdpSocket;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let inside = UdpSocket::bind("127.0.0.1:0").unwrap();
        inside.set_nonblocking(true).unwrap();
        let addr = inside.local_addr().unwrap();
        let moves = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (Arc::clone(&moves), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let fresh = || {
                let o = UdpSocket::bind("127.0.0.1:0").unwrap();
                o.set_nonblocking(true).unwrap();
                o
            };
            // Old outside sockets stay open but what reaches them is dropped.
            let mut outside = vec![fresh()];
            let mut client = None;
            let mut cid_records = 0;
            let mut buf = vec![0u8; 65536];
            while !s.load(Ordering::Relaxed) {
                let mut idle = true;
                if let Ok((n, from)) = inside.recv_from(&mut buf) {
                    idle = false;
                    client = Some(from);
                    if buf[0] == 25 {
                        cid_records += 1;
                        if cid_records > 1 {
                            outside.push(fresh());
                            m.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    let _ = outside.last().unwrap().send_to(&buf[..n], target);
                }
                for (i, o) in outside.iter().enumerate() {
                    if let Ok(n) = o.recv(&mut buf) {
                        idle = false;
                        // Only the newest mapping reaches the client: a reply sent to an
                        // old port is lost, as behind a NAT that rebound.
                        if let Some(c) = client.filter(|_| i + 1 == outside.len()) {
                            let _ = inside.send_to(&buf[..n], c);
                        }
                    }
                }
                if idle {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        Self { addr, moves, stop, thread: Some(thread) }
    }
}

impl Drop for MovingRelay {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// RFC 9146 §6 with Mbed TLS's client: it negotiates a CID with our server, then every one
/// of its three requests arrives from a new source port (a relay plays the NAT). Our
/// endpoint finds the session by its CID each time, moves it (Mbed TLS does not offer the
/// return routability check, so the move is immediate on an authentic record newer than all
/// before it), and every echo reaches the client at its new port.
#[test]
fn mbedtls_client_moving_between_requests_keeps_its_session_with_our_server() {
    let (mut us, port) = our_server(&["--cid-len", "6", "--server-id", "a1b2"]);
    let relay = MovingRelay::start(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    let mut mbed =
        mbed_client(relay.addr.port(), &["cid=1", "cid_val=c1d0", "exchanges=3", "crt_file=none", "key_file=none"]);
    let status = mbed.wait_exit(WAIT);
    let _ = us.wait_exit(WAIT);
    let t = both(&mbed, &us);
    assert!(status.is_some_and(|s| s.success()), "ssl_client2 failed\n{t}");
    assert!(mbed.has_output(CID_NEGOTIATED), "\n{t}");
    let echoes = mbed.stdout().matches("< Read from server:").count();
    assert_eq!(echoes, 3, "every request came back\n{t}");
    assert!(relay.moves.load(std::sync::atomic::Ordering::Relaxed) >= 3, "the relay moved the client\n{t}");
    assert!(us.has_output("reason=close_notify"), "\n{t}");
}
