//! Connection IDs with wolfSSL, over loopback UDP: the peer program in `interop/wolfssl`
//! (wolfSSL built with WOLFSSL_DTLS_CID) against our `dtls` tool, both roles, DTLS 1.3
//! (RFC 9147 §9: the connection_id extension in ClientHello and ServerHello, the CID in the
//! unified header) and DTLS 1.2 (RFC 9146: `tls12_cid` records).
//!
//! Each side asks for the CID the other puts in the records it sends: our `--cid-len N`
//! (with `--server-id HEX`, our CID starts with it) and wolfSSL's `--cid HEX`. So the pair
//! our `connected` line prints, `cid=<ours>/<peer's>`, is wolfSSL's `cid rx=<ours...>`
//! reversed: wolfSSL's rx (the CID it asked for) is our peer's CID, its tx is ours. wolfSSL's
//! `cid-wire` line shows the CIDs in the records that actually crossed the wire, each
//! direction, which must be those two and nothing else.
//!
//! - DTLS 1.3, our client (`--cid-len 4`, default groups at MTU 1500: X25519MLKEM768 after
//!   wolfSSL's cookie HelloRetryRequest) with wolfSSL's server (`--cid beef`), and wolfSSL's
//!   client (`--cid c1d0`) with our server (`--cid-len 6 --server-id a1b2`).
//! - Zero-length CIDs (wolfSSL's `--cid ""`, our `--cid-len 0`): the side that asked for none
//!   receives records without a CID and still sends the other's.
//! - DTLS 1.2, both roles (wolfSSL supports RFC 9146), and a zero-length CID in 1.2.
//! - A KeyUpdate each way with CIDs in DTLS 1.3: records of the new epochs carry them too.
//! - One side without CIDs: no connection_id in the answer, `cid=-` and `cid none`, and the
//!   session works as usual.
//!
//! wolfSSL's server does not answer a ClientHello that arrives in fragments, so our client
//! offers X25519 only (a small hello) or runs at `--mtu 1500`, as in tests/wolfssl_interop.rs.
//!
//! The peer comes from `DTLS_WOLFSSL_PEER`, which `scripts/test` (the README's test command)
//! sets after building it. Without it these tests fail; they never skip.

#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::time::Duration;

use common::certs::pki;
use common::openssl::OpensslPeer;
use common::status::{self, both, field, listening_port};

const DTLS: &str = env!("CARGO_BIN_EXE_dtls");
const WAIT: Duration = Duration::from_secs(30);
/// How long the peer program may run before it gives up on its own (`--timeout`).
const PEER_TIMEOUT: &str = "20";
const OUR_TIMEOUT: &str = "10";

fn wolfssl_peer() -> String {
    let hint = "These tests drive wolfSSL through interop/wolfssl. Run the README's test command, \
                scripts/test, which installs what wolfSSL's build needs, builds that peer and sets \
                DTLS_WOLFSSL_PEER to its binary (or `cd interop/wolfssl && cargo build --release --locked` \
                and export DTLS_WOLFSSL_PEER=interop/wolfssl/target/release/wolfssl-peer).";
    status::peer_binary("DTLS_WOLFSSL_PEER", hint)
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

fn wolfssl(label: &str, args: &[&str]) -> OpensslPeer {
    let mut all = owned(args);
    all.extend(["--timeout".to_owned(), PEER_TIMEOUT.to_owned()]);
    OpensslPeer::spawn_program(&wolfssl_peer(), label, 0, &all)
}

fn assert_exit_ok(peer: &mut OpensslPeer, other: &OpensslPeer) {
    status::assert_exit_ok(peer, other, WAIT);
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Version {
    V13,
    V12,
}

impl Version {
    /// Our `--max-version`.
    fn ours(self) -> &'static str {
        match self {
            Version::V13 => "1.3",
            Version::V12 => "1.2",
        }
    }

    /// wolfSSL's `--version`, and the protocol both sides print.
    fn wolf(self) -> &'static str {
        self.ours()
    }

    fn protocol(self) -> &'static str {
        match self {
            Version::V13 => "DTLSv1.3",
            Version::V12 => "DTLSv1.2",
        }
    }
}

/// CIDs seen on the wire, each with its count (`cid-wire`).
type Seen = Vec<(String, usize)>;

/// What both sides printed about one session.
struct Both {
    version: Version,
    /// Our `connected ...` line.
    ours: String,
    /// wolfSSL's `connected ...` line.
    theirs: String,
    us: OpensslPeer,
    wolf: OpensslPeer,
}

/// The connection IDs of one session as both sides report them (lowercase hex, empty for a
/// zero-length CID).
#[derive(Debug, PartialEq)]
struct Cids {
    /// Ours: the CID we asked for, in the records wolfSSL sends us.
    ours: String,
    /// The peer's: the CID wolfSSL asked for, in the records we send.
    peer: String,
}

impl Both {
    fn transcript(&self) -> String {
        both(&self.us, &self.wolf)
    }

    /// Both sides negotiated `self.version` with the same suite.
    fn assert_protocol(&self) {
        let t = self.transcript();
        assert_eq!(field(&self.ours, "protocol"), self.version.protocol(), "\n{t}");
        assert_eq!(field(&self.theirs, "protocol"), self.version.protocol(), "\n{t}");
        assert_eq!(field(&self.ours, "cipher"), field(&self.theirs, "cipher"), "the sides disagree on the suite\n{t}");
    }

    /// Our `cid=` field: `None` for `cid=-`.
    fn our_cids(&self) -> Option<Cids> {
        let t = self.transcript();
        match field(&self.ours, "cid") {
            "-" => None,
            pair => {
                let (ours, peer) = pair.split_once('/').unwrap_or_else(|| panic!("cid={pair}: not OURS/PEER\n{t}"));
                Some(Cids { ours: ours.to_owned(), peer: peer.to_owned() })
            }
        }
    }

    /// wolfSSL's `cid rx=.. tx=..` line (`None` for `cid none`), turned around to our point of
    /// view: its rx is the peer's CID (the one we send), its tx ours.
    fn wolf_cids(&self) -> Option<Cids> {
        let t = self.transcript();
        let line = self.wolf.expect_line_after("\ncid ", WAIT);
        if line == "none" {
            return None;
        }
        let rx = line.strip_prefix("rx=").and_then(|l| l.split_once(" tx="));
        let (rx, tx) = rx.unwrap_or_else(|| panic!("`cid {line}`: not `cid rx=HEX tx=HEX`\n{t}"));
        Some(Cids { ours: tx.to_owned(), peer: rx.to_owned() })
    }

    /// wolfSSL's `cid-wire received=.. sent=..`: the CIDs in the records it received (ours
    /// to send: the peer's CID) and sent (ours), each with its count.
    fn wire(&self) -> (Seen, Seen) {
        let t = self.transcript();
        let line = self.wolf.expect_line_after("cid-wire ", WAIT);
        let list = |key: &str| -> Seen {
            match field(&line, key) {
                "-" => Vec::new(),
                list => list
                    .split(',')
                    .map(|e| {
                        let (cid, n) = e.rsplit_once('*').unwrap_or_else(|| panic!("{e}: not CID*N\n{t}"));
                        (cid.to_owned(), n.parse().unwrap_or_else(|_| panic!("{e}: not CID*N\n{t}")))
                    })
                    .collect(),
            }
        };
        (list("received"), list("sent"))
    }

    /// Both sides agree on the CIDs in use, and only those crossed the wire: every record
    /// with a CID that wolfSSL received carried `peer` (none at all when that is empty), and
    /// every one it sent carried `ours` (again none when it is empty). Returns the CIDs.
    fn assert_cids(&self) -> Cids {
        let t = self.transcript();
        let ours = self.our_cids().unwrap_or_else(|| panic!("we report no CIDs\n{t}"));
        let theirs = self.wolf_cids().unwrap_or_else(|| panic!("wolfSSL reports no CIDs\n{t}"));
        assert_eq!(ours, theirs, "the sides disagree on the CIDs (ours vs wolfSSL's, from our side)\n{t}");
        let (received, sent) = self.wire();
        let expect = |cid: &str, seen: &Seen, what: &str| {
            if cid.is_empty() {
                assert!(seen.is_empty(), "zero-length CID, yet wolfSSL {what} records with CIDs {seen:?}\n{t}");
            } else {
                assert_eq!(seen.len(), 1, "wolfSSL {what} records with CIDs {seen:?}, expected {cid} only\n{t}");
                assert_eq!(seen[0].0, cid, "wolfSSL {what} records with the wrong CID\n{t}");
                assert!(seen[0].1 >= 1, "\n{t}");
            }
        };
        expect(&ours.peer, &received, "received");
        expect(&ours.ours, &sent, "sent");
        ours
    }

    /// Neither side uses CIDs.
    fn assert_no_cids(&self) {
        let t = self.transcript();
        assert_eq!(self.our_cids(), None, "\n{t}");
        if self.wolf.has_output("\ncid ") {
            assert_eq!(self.wolf_cids(), None, "\n{t}");
            assert_eq!(self.wire(), (Vec::new(), Vec::new()), "CIDs on the wire\n{t}");
        }
    }

    /// The low epoch bits of our DTLS 1.3 records as wolfSSL saw them.
    fn our_epoch_bits_at_wolfssl(&self) -> Vec<u8> {
        let line = self.wolf.expect_line_after("peer-epoch-bits ", WAIT);
        line.split(',').filter(|b| *b != "-").map(|b| b.parse().expect("epoch bits")).collect()
    }
}

/// `dtls client --connect 127.0.0.1:PORT --max-version V --ca-file CA ARGS`; it writes each
/// of `lines` to its stdin, closes it, waits for as many datagrams back and sends
/// close_notify.
fn our_client(version: Version, port: u16, args: &[&str], lines: &[&str]) -> OpensslPeer {
    let pki = pki();
    let mut all = owned(&[
        "client",
        "--connect",
        &format!("127.0.0.1:{port}"),
        "--max-version",
        version.ours(),
        "--ca-file",
        &arg(&pki.ca.cert),
        "--timeout",
        OUR_TIMEOUT,
        "--expect",
        &lines.len().to_string(),
    ]);
    all.extend(owned(args));
    let mut client = OpensslPeer::spawn_program(DTLS, "dtls client", 0, &all);
    for line in lines {
        client.write_line(line);
    }
    client.close_stdin();
    client
}

/// Our client (`our_args`, sending `lines`) against wolfSSL's server (`wolf_args`), which
/// echoes every line; both must exit 0.
fn our_client_vs_wolfssl(version: Version, wolf_args: &[&str], our_args: &[&str], lines: &[&str]) -> Both {
    let pki = pki();
    let (cert, key) = (arg(&pki.server_p256.cert), arg(&pki.server_p256.key));
    let mut all = vec!["server", "--addr", "127.0.0.1:0", "--version", version.wolf(), "--cert", &cert, "--key", &key];
    all.extend_from_slice(wolf_args);
    let mut wolf = wolfssl("wolfssl server", &all);
    let port = listening_port(&wolf, WAIT);
    let mut us = our_client(version, port, our_args, lines);
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
    let run = Both { version, ours, theirs, us, wolf };
    run.assert_protocol();
    run
}

/// wolfSSL's client (`wolf_args`; it verifies us against the test CA, sends its line and
/// expects it back) against our echoing server (`--max-version V`, `our_args`); both must
/// exit 0.
fn wolfssl_vs_our_server(version: Version, wolf_args: &[&str], our_args: &[&str]) -> Both {
    let pki = pki();
    let mut all = owned(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--max-version",
        version.ours(),
        "--echo",
        "--sessions",
        "1",
        "--cert",
        &arg(&pki.server_p256.cert),
        "--key",
        &arg(&pki.server_p256.key),
    ]);
    all.extend(owned(our_args));
    let mut us = OpensslPeer::spawn_program(DTLS, "dtls server", 0, &all);
    let port = listening_port(&us, WAIT);
    let (addr, ca) = (format!("127.0.0.1:{port}"), arg(&pki.ca.cert));
    let mut all =
        vec!["client", "--addr", &addr, "--version", version.wolf(), "--ca", &ca, "--message", "hello with CIDs"];
    all.extend_from_slice(wolf_args);
    let mut wolf = wolfssl("wolfssl client", &all);
    assert_exit_ok(&mut wolf, &us);
    assert_exit_ok(&mut us, &wolf);
    let ours = us.expect_line_after("connected ", WAIT);
    let theirs = wolf.expect_line_after("connected ", WAIT);
    let t = both(&us, &wolf);
    assert!(wolf.has_output("echo ok"), "\n{t}");
    assert!(us.has_output("closed 127.0.0.1:") && us.has_output("reason=close_notify"), "\n{t}");
    let run = Both { version, ours, theirs, us, wolf };
    run.assert_protocol();
    run
}

fn is_hex(s: &str, bytes: usize) -> bool {
    s.len() == 2 * bytes && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

// --- DTLS 1.3 -------------------------------------------------------------------------------

/// Our client asks for a 4-byte CID, wolfSSL's server for `beef`; our default offer
/// (X25519MLKEM768 first, one datagram at MTU 1500) meets wolfSSL's cookie HelloRetryRequest,
/// so the connection_id extension goes out in both ClientHellos. Both sides report the same
/// pair, and the records on the wire carry them: ours `beef`, wolfSSL's our 4 bytes.
#[test]
fn dtls13_our_client_with_wolfssl_server() {
    let run = our_client_vs_wolfssl(
        Version::V13,
        &["--cid", "beef", "--cookie"],
        &["--cid-len", "4", "--mtu", "1500"],
        &["first with CIDs", "second with CIDs"],
    );
    let t = run.transcript();
    assert_eq!(field(&run.theirs, "hrr"), "1", "no cookie HelloRetryRequest\n{t}");
    assert_eq!(field(&run.ours, "group"), "X25519MLKEM768", "\n{t}");
    let cids = run.assert_cids();
    assert_eq!(cids.peer, "beef", "\n{t}");
    assert!(is_hex(&cids.ours, 4), "our CID {:?} is not 4 bytes\n{t}", cids.ours);
}

/// wolfSSL's client asks for `c1d0`, our server for 6 bytes starting with the server id
/// `a1b2`, after our cookie HelloRetryRequest.
#[test]
fn dtls13_wolfssl_client_with_our_server() {
    let run = wolfssl_vs_our_server(
        Version::V13,
        &["--cid", "c1d0", "--groups", "X25519"],
        &["--cid-len", "6", "--server-id", "a1b2"],
    );
    let t = run.transcript();
    assert_eq!(field(&run.theirs, "hrr"), "1", "\n{t}");
    let cids = run.assert_cids();
    assert_eq!(cids.peer, "c1d0", "\n{t}");
    assert!(is_hex(&cids.ours, 6) && cids.ours.starts_with("a1b2"), "our CID {:?}\n{t}", cids.ours);
}

/// A zero-length CID asked for by our client (`--cid-len 0`): wolfSSL's server sends us
/// records without a CID, ours carry its `beef`.
#[test]
fn dtls13_our_client_asks_for_a_zero_length_cid() {
    let run = our_client_vs_wolfssl(
        Version::V13,
        &["--cid", "beef"],
        &["--cid-len", "0", "--groups", "X25519"],
        &["no CID to us"],
    );
    let cids = run.assert_cids();
    assert_eq!(cids, Cids { ours: String::new(), peer: "beef".into() }, "\n{}", run.transcript());
}

/// A zero-length CID asked for by wolfSSL's client (`--cid ""`): our server sends records
/// without a CID, wolfSSL's carry ours.
#[test]
fn dtls13_wolfssl_client_asks_for_a_zero_length_cid() {
    let run = wolfssl_vs_our_server(
        Version::V13,
        &["--cid", "", "--groups", "X25519"],
        &["--cid-len", "6", "--server-id", "a1b2"],
    );
    let t = run.transcript();
    let cids = run.assert_cids();
    assert_eq!(cids.peer, "", "\n{t}");
    assert!(is_hex(&cids.ours, 6) && cids.ours.starts_with("a1b2"), "our CID {:?}\n{t}", cids.ours);
}

/// The same the other way round: wolfSSL's server asks for none, our client for 4 bytes.
#[test]
fn dtls13_wolfssl_server_asks_for_a_zero_length_cid() {
    let run = our_client_vs_wolfssl(
        Version::V13,
        &["--cid", ""],
        &["--cid-len", "4", "--groups", "X25519"],
        &["CIDs one way"],
    );
    let t = run.transcript();
    let cids = run.assert_cids();
    assert_eq!(cids.peer, "", "\n{t}");
    assert!(is_hex(&cids.ours, 4), "our CID {:?}\n{t}", cids.ours);
}

/// A KeyUpdate from wolfSSL's client (sent right after the handshake, update_requested) with
/// CIDs both ways: our server follows it and updates its own keys, its records reach epoch 4
/// (epoch bits 0), and every record still carries the CIDs.
#[test]
fn dtls13_wolfssl_key_update_with_cids() {
    let run = wolfssl_vs_our_server(
        Version::V13,
        &["--cid", "c1d0", "--groups", "X25519", "--key-update", "--repeat", "3"],
        &["--cid-len", "5"],
    );
    let t = run.transcript();
    let cids = run.assert_cids();
    assert_eq!(cids.peer, "c1d0", "\n{t}");
    let bits = run.our_epoch_bits_at_wolfssl();
    assert!(bits.contains(&0), "our records never reached epoch 4 (bits {bits:?})\n{t}");
}

/// Our client updates its sending keys after every record (`--key-update-after 1`) with
/// CIDs both ways: wolfSSL follows each KeyUpdate (every line is echoed, each sent after the
/// echo of the one before and a pause for wolfSSL's ACK) and sees our records in epochs 3
/// to 6, all with its CID.
#[test]
fn dtls13_our_key_updates_with_cids() {
    let pki = pki();
    let (cert, key) = (arg(&pki.server_p256.cert), arg(&pki.server_p256.key));
    let mut wolf = wolfssl(
        "wolfssl server",
        &["server", "--addr", "127.0.0.1:0", "--cert", &cert, "--key", &key, "--groups", "X25519", "--cid", "0badcafe"],
    );
    let port = listening_port(&wolf, WAIT);
    let mut all = owned(&[
        "client",
        "--connect",
        &format!("127.0.0.1:{port}"),
        "--max-version",
        "1.3",
        "--ca-file",
        &arg(&pki.ca.cert),
        "--timeout",
        OUR_TIMEOUT,
        "--groups",
        "X25519",
        "--cid-len",
        "3",
        "--key-update-after",
        "1",
    ]);
    let lines = ["line 1", "line 2", "line 3", "line 4"];
    all.extend(["--expect".to_owned(), lines.len().to_string()]);
    let mut us = OpensslPeer::spawn_program(DTLS, "dtls client", 0, &all);
    for line in lines {
        us.write_line(line);
        assert!(us.wait_for_output(&format!("{line}\n"), WAIT), "no echo of {line:?}\n{}", both(&us, &wolf));
        std::thread::sleep(Duration::from_millis(200));
    }
    us.close_stdin();
    assert_exit_ok(&mut us, &wolf);
    assert_exit_ok(&mut wolf, &us);
    let (ours, theirs) = (us.expect_line_after("connected ", WAIT), wolf.expect_line_after("connected ", WAIT));
    let run = Both { version: Version::V13, ours, theirs, us, wolf };
    run.assert_protocol();
    let t = run.transcript();
    assert_eq!(run.wolf.stdout().matches("echoed ").count(), lines.len(), "\n{t}");
    let cids = run.assert_cids();
    assert_eq!(cids.peer, "0badcafe", "\n{t}");
    assert!(is_hex(&cids.ours, 3), "\n{t}");
    let bits = run.our_epoch_bits_at_wolfssl();
    for b in [3, 0, 1, 2] {
        assert!(bits.contains(&b), "no record of ours with epoch bits {b} (saw {bits:?})\n{t}");
    }
}

/// wolfSSL's server without `--cid` against our client asking for 4 bytes: its ServerHello
/// has no connection_id, so no CIDs (`cid=-`), and the session works as usual.
#[test]
fn dtls13_wolfssl_server_without_cids() {
    let run =
        our_client_vs_wolfssl(Version::V13, &[], &["--cid-len", "4", "--mtu", "1500"], &["no CIDs", "still none"]);
    run.assert_no_cids();
    assert!(!run.wolf.has_output("\ncid "), "\n{}", run.transcript());
}

/// wolfSSL's client with `--cid` against our server without `--cid-len`: our ServerHello
/// has no connection_id, wolfSSL drops its CID state (`cid none`), no CIDs on the wire.
#[test]
fn dtls13_our_server_without_cids() {
    let run = wolfssl_vs_our_server(Version::V13, &["--cid", "c1d0", "--groups", "X25519"], &[]);
    let t = run.transcript();
    assert!(run.wolf.has_output("\ncid none"), "\n{t}");
    run.assert_no_cids();
}

// --- DTLS 1.2 (RFC 9146) --------------------------------------------------------------------

/// Our DTLS 1.2 client (`--max-version 1.2 --cid-len 4`) with wolfSSL's DTLS 1.2 server
/// (`--cid beef`, HelloVerifyRequest): `tls12_cid` records both ways.
#[test]
fn dtls12_our_client_with_wolfssl_server() {
    let run = our_client_vs_wolfssl(Version::V12, &["--cid", "beef"], &["--cid-len", "4"], &["one", "two"]);
    let t = run.transcript();
    assert_eq!(field(&run.theirs, "hvr"), "1", "\n{t}");
    let cids = run.assert_cids();
    assert_eq!(cids.peer, "beef", "\n{t}");
    assert!(is_hex(&cids.ours, 4), "our CID {:?}\n{t}", cids.ours);
}

/// wolfSSL's DTLS 1.2 client (`--cid c1d0`) with our server (`--cid-len 6 --server-id
/// a1b2`).
#[test]
fn dtls12_wolfssl_client_with_our_server() {
    let run = wolfssl_vs_our_server(
        Version::V12,
        &["--cid", "c1d0", "--groups", "X25519"],
        &["--cid-len", "6", "--server-id", "a1b2"],
    );
    let t = run.transcript();
    let cids = run.assert_cids();
    assert_eq!(cids.peer, "c1d0", "\n{t}");
    assert!(is_hex(&cids.ours, 6) && cids.ours.starts_with("a1b2"), "our CID {:?}\n{t}", cids.ours);
}

/// Zero-length CIDs in DTLS 1.2, both ways round: our client asks for none from wolfSSL's
/// server, and wolfSSL's client asks for none from our server.
#[test]
fn dtls12_zero_length_cids() {
    let run = our_client_vs_wolfssl(Version::V12, &["--cid", "beef"], &["--cid-len", "0"], &["one way"]);
    let cids = run.assert_cids();
    assert_eq!(cids, Cids { ours: String::new(), peer: "beef".into() }, "\n{}", run.transcript());

    let run = wolfssl_vs_our_server(Version::V12, &["--cid", "", "--groups", "X25519"], &["--cid-len", "4"]);
    let t = run.transcript();
    let cids = run.assert_cids();
    assert_eq!(cids.peer, "", "\n{t}");
    assert!(is_hex(&cids.ours, 4), "our CID {:?}\n{t}", cids.ours);
}

/// One side without CIDs in DTLS 1.2: wolfSSL's server without `--cid` against our client's
/// `--cid-len 4`, and wolfSSL's client with `--cid` against our server without.
#[test]
fn dtls12_one_side_without_cids() {
    let run = our_client_vs_wolfssl(Version::V12, &[], &["--cid-len", "4"], &["no CIDs"]);
    run.assert_no_cids();

    let run = wolfssl_vs_our_server(Version::V12, &["--cid", "c1d0", "--groups", "X25519"], &[]);
    assert!(run.wolf.has_output("\ncid none"), "\n{}", run.transcript());
    run.assert_no_cids();
}
