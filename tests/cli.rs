//! The `dtls` tool (feature `cli`) against `openssl s_server` / `s_client` and against
//! itself, on 127.0.0.1: echo of lines, ALPN, SRTP, the exporter (equal to OpenSSL's
//! `-keymatexport` bytes), the status lines and exit statuses; and `dtls demo`.
//! OpenSSL missing is a failure, not a skip (see `common::certs::openssl_bin`).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::certs::{fresh_temp_dir, pki};
use common::openssl::{OpensslPeer, hex_lower, s_client, s_server};

const DTLS: &str = env!("CARGO_BIN_EXE_dtls");
const WAIT: Duration = Duration::from_secs(10);
const LABEL: &str = "EXPERIMENTAL-dtls-cli";

fn arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Starts `dtls ARGS` with stdin held open, watched like an OpenSSL peer.
fn dtls(label: &str, args: &[&str]) -> OpensslPeer {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    OpensslPeer::spawn_program(DTLS, label, 0, &args)
}

/// Starts `dtls server --listen 127.0.0.1:0 ARGS` and returns it with its port.
fn dtls_server(args: &[&str]) -> (OpensslPeer, u16) {
    let mut all = vec!["server", "--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let server = dtls("dtls server", &all);
    let addr = server.expect_line_after("listening ", WAIT);
    let port = addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).expect("listening <addr>:<port>");
    (server, port)
}

/// The non-empty stdout lines (OpenSSL sends each stdin line with its newline, which the
/// tool then prints followed by one more).
fn data_lines(peer: &OpensslPeer) -> Vec<String> {
    peer.stdout().lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

fn assert_exit(peer: &mut OpensslPeer, code: i32) {
    let status = peer.wait_exit(WAIT).unwrap_or_else(|| panic!("{} did not exit\n{}", peer.label(), peer.transcript()));
    assert_eq!(status.code(), Some(code), "{} exit status\n{}", peer.label(), peer.transcript());
}

#[test]
fn demo_runs_a_session_and_prints_equal_srtp_keys_and_stats() {
    let out = Command::new(DTLS).arg("demo").output().expect("run dtls demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "dtls demo failed\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for needle in [
        "fingerprint sha-256 ",
        "client: connected 127.0.0.1:",
        "server: connected 127.0.0.1:",
        // The defaults: DTLS 1.3 with the post-quantum hybrid, after the endpoint's stateless
        // HelloRetryRequest (its first ClientHello is fragmented at MTU 1200).
        "protocol=DTLSv1.3 cipher=TLS_AES_128_GCM_SHA256 alpn=webrtc srtp=SRTP_AEAD_AES_128_GCM group=X25519MLKEM768",
        "hello_retry_requests_sent=1",
        "client -> server: message 3",
        "server -> client: message 3",
        "srtp keys equal on both sides: yes",
        "reason=close_notify",
        "stats client session: ",
        "stats server session: ",
        "stats server endpoint: ",
        "stats client endpoint: ",
    ] {
        assert!(text.contains(needle), "demo output lacks {needle:?}\n{text}");
    }
    let keys: Vec<&str> = text.lines().filter_map(|l| l.split_once("srtp-keying-material ").map(|(_, k)| k)).collect();
    assert_eq!(keys.len(), 2, "{text}");
    assert_eq!(keys[0], keys[1]);
    assert_eq!(keys[0].len(), 2 * 2 * (16 + 12), "AEAD_AES_128_GCM: 2 keys of 16 and 2 salts of 12 bytes");
}

#[test]
fn client_against_openssl_server() {
    let pki = pki();
    let mut server = s_server()
        .cert(&pki.server_p256)
        .alpn(&["h2"])
        .use_srtp(&["SRTP_AEAD_AES_128_GCM"])
        .keymatexport(LABEL, 32)
        .spawn();
    let port = server.port.to_string();
    let connect = format!("127.0.0.1:{port}");
    let mut client = dtls(
        "dtls client",
        &[
            "client",
            "--connect",
            &connect,
            "--ca-file",
            &arg(&pki.ca.cert),
            "--server-name",
            "localhost",
            "--alpn",
            "webrtc,h2",
            "--srtp",
            "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM",
            "--export-label",
            LABEL,
            "--export-len",
            "32",
            "--expect",
            "2",
            "--timeout",
            "5",
        ],
    );
    let connected = client.expect_line_after("connected ", WAIT);
    assert_eq!(
        connected,
        format!(
            "{connect} protocol=DTLSv1.2 cipher=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 alpn=h2 srtp=SRTP_AEAD_AES_128_GCM group=X25519 cid=-"
        )
    );
    assert!(server.handshake_done(WAIT), "{}", server.transcript());
    let ours = client.expect_line_after("\nkeying-material ", WAIT);
    assert_eq!(ours, hex_lower(&server.keying_material(WAIT)));
    client.expect_output("srtp-keying-material ", WAIT);

    client.write_line("from the dtls tool");
    server.expect_output("from the dtls tool", WAIT);
    client.close_stdin();
    // s_server sends whatever one read(2) of its stdin returns as one record: one line
    // at a time, so each is its own datagram.
    server.write_line("line one");
    client.expect_output("line one", WAIT);
    server.write_line("line two");
    assert_exit(&mut client, 0);
    assert_eq!(data_lines(&client), ["line one", "line two"]);
    assert!(client.stderr().contains(&format!("closed {connect} reason=close_notify")), "{}", client.transcript());
    server.expect_output("CONNECTION CLOSED", WAIT);
}

#[test]
fn openssl_client_against_echo_server() {
    let pki = pki();
    let (mut server, port) = dtls_server(&[
        "--cert",
        &arg(&pki.server_p256.cert),
        "--key",
        &arg(&pki.server_p256.key),
        "--echo",
        "--sessions",
        "1",
        "--alpn",
        "h2,webrtc",
        "--srtp",
        "SRTP_AES128_CM_SHA1_80",
        "--export-label",
        LABEL,
        "--export-len",
        "40",
    ]);
    let mut client = s_client(port)
        .ca_file(&pki.ca.cert)
        .alpn(&["webrtc"])
        .use_srtp(&["SRTP_AES128_CM_SHA1_80"])
        .keymatexport(LABEL, 40)
        .spawn();
    assert!(client.handshake_done(WAIT), "{}\n{}", client.transcript(), server.transcript());
    let connected = server.expect_line_after("connected ", WAIT);
    assert!(
        connected.ends_with(
            " protocol=DTLSv1.2 cipher=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 alpn=webrtc srtp=SRTP_AES128_CM_SHA1_80 group=X25519 cid=-"
        ),
        "{connected}"
    );
    client.expect_output("ALPN protocol: webrtc", WAIT);
    client.expect_output("SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_80", WAIT);
    let ours = server.expect_line_after("\nkeying-material ", WAIT);
    assert_eq!(ours, hex_lower(&client.keying_material(WAIT)));

    // One line at a time: s_client sends what one read(2) of its stdin returns as one
    // record. It prints what the server echoed on stdout.
    client.write_line("ping one");
    client.expect_output("ping one", WAIT);
    client.write_line("ping two");
    client.expect_output("ping two", WAIT);
    client.close_stdin();
    assert_exit(&mut server, 0);
    assert_eq!(data_lines(&server), ["ping one", "ping two"]);
    assert!(server.stderr().contains("reason=close_notify"), "{}", server.transcript());
}

#[test]
fn client_against_server_with_a_pinned_generated_certificate() {
    let (mut server, port) = dtls_server(&[
        "--echo",
        "--sessions",
        "1",
        "--alpn",
        "webrtc",
        "--srtp",
        "SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80",
        "--cipher",
        "ECDHE-ECDSA-CHACHA20-POLY1305:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "--export-label",
        LABEL,
        "--export-len",
        "16",
        "--export-context",
        "00ff",
    ]);
    let fingerprint = server.expect_line_after("fingerprint sha-256 ", WAIT);
    let pin = format!("sha-256:{fingerprint}");
    let connect = format!("127.0.0.1:{port}");
    let mut client = dtls(
        "dtls client",
        &[
            "client",
            "--connect",
            &connect,
            "--fingerprint",
            &pin,
            "--alpn",
            "webrtc",
            "--srtp",
            "SRTP_AEAD_AES_256_GCM",
            "--export-label",
            LABEL,
            "--export-len",
            "16",
            "--export-context",
            "00FF",
            "--expect",
            "3",
        ],
    );
    let connected = client.expect_line_after("connected ", WAIT);
    assert_eq!(
        connected,
        format!(
            "{connect} protocol=DTLSv1.2 cipher=TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 alpn=webrtc srtp=SRTP_AEAD_AES_256_GCM group=X25519 cid=-"
        )
    );
    for line in ["one", "two", "three"] {
        client.write_line(line);
    }
    client.close_stdin();
    assert_exit(&mut client, 0);
    assert_exit(&mut server, 0);
    assert_eq!(data_lines(&client), ["one", "two", "three"]);
    assert_eq!(data_lines(&server), ["one", "two", "three"]);
    for prefix in ["\nkeying-material ", "srtp-keying-material "] {
        let (a, b) = (client.expect_line_after(prefix, WAIT), server.expect_line_after(prefix, WAIT));
        assert_eq!(a, b, "{prefix}");
    }
}

#[test]
fn wrong_ca_fails_with_unknown_ca_on_both_sides() {
    let pki = pki();
    let (mut server, port) =
        dtls_server(&["--cert", &arg(&pki.server_p256.cert), "--key", &arg(&pki.server_p256.key), "--sessions", "1"]);
    let connect = format!("127.0.0.1:{port}");
    let mut client = dtls(
        "dtls client",
        &["client", "--connect", &connect, "--ca-file", &arg(&pki.other_ca.cert), "--server-name", "localhost"],
    );
    assert_exit(&mut client, 1);
    let error = client.expect_line_after("error: ", WAIT);
    assert!(error.contains("unknown_ca"), "{}", client.transcript());
    assert!(!client.has_output("connected "), "{}", client.transcript());
    assert_exit(&mut server, 1);
    let error = server.expect_line_after("error: ", WAIT);
    assert!(error.contains("received fatal alert: unknown_ca"), "{}", server.transcript());
}

#[test]
fn missing_client_certificate_fails_with_handshake_failure_and_a_good_one_passes() {
    let pki = pki();
    let ca = arg(&pki.ca.cert);
    let base = ["--cert", &arg(&pki.server_p256.cert), "--key", &arg(&pki.server_p256.key)];
    let (mut server, port) =
        dtls_server(&[&base[..], &["--ca-file", &ca, "--require-client-cert", "--sessions", "2"]].concat());
    let connect = format!("127.0.0.1:{port}");
    let client_args = ["client", "--connect", &connect, "--ca-file", &ca, "--server-name", "localhost"];

    let mut refused = dtls("dtls client (no cert)", &client_args);
    assert_exit(&mut refused, 1);
    let error = refused.expect_line_after("error: ", WAIT);
    assert!(error.contains("handshake_failure"), "{}", refused.transcript());

    let (cert, key) = (arg(&pki.client.cert), arg(&pki.client.key));
    let mut accepted = dtls("dtls client (cert)", &[&client_args[..], &["--cert", &cert, "--key", &key]].concat());
    accepted.close_stdin();
    assert_exit(&mut accepted, 0);
    // Two sessions ended, one of them a failed handshake: status 1.
    assert_exit(&mut server, 1);
    assert!(server.has_output("handshake_failure"), "{}", server.transcript());
    assert!(server.has_output("reason=close_notify"), "{}", server.transcript());
}

/// With --ca-file and no --server-name, the host of --connect is the name the server's
/// certificate must be valid for (as `openssl s_client -verify_hostname HOST` checks).
#[test]
fn client_checks_the_host_of_connect_by_default() {
    let pki = pki();
    // server_p256 names localhost and 127.0.0.1: connecting to 127.0.0.1 passes.
    let (mut server, port) =
        dtls_server(&["--cert", &arg(&pki.server_p256.cert), "--key", &arg(&pki.server_p256.key), "--sessions", "1"]);
    let connect = format!("127.0.0.1:{port}");
    let mut client =
        dtls("dtls client (127.0.0.1)", &["client", "--connect", &connect, "--ca-file", &arg(&pki.ca.cert)]);
    client.close_stdin();
    assert_exit(&mut client, 0);
    assert_exit(&mut server, 0);

    // A certificate for good.example only (self-signed, trusted as its own root).
    let dir = fresh_temp_dir("dtls-cli-name");
    let generated = dtls_engine::certgen::generate_self_signed(&["good.example"]).expect("certificate");
    let (cert, key) = (dir.join("good.pem"), dir.join("good.key"));
    std::fs::write(&cert, &generated.cert_pem).expect("write certificate");
    std::fs::write(&key, &generated.key_pem).expect("write key");
    let (cert, key) = (arg(&cert), arg(&key));
    let (mut server, port) = dtls_server(&["--cert", &cert, "--key", &key, "--sessions", "2"]);
    let connect = format!("127.0.0.1:{port}");
    let args = ["client", "--connect", &connect, "--ca-file", &cert];

    let mut refused = dtls("dtls client (name from --connect)", &args);
    assert_exit(&mut refused, 1);
    let error = refused.expect_line_after("error: ", WAIT);
    assert!(error.contains("not valid for the server name"), "{}", refused.transcript());
    assert!(!refused.has_output("connected "), "{}", refused.transcript());

    let mut accepted = dtls("dtls client (--server-name)", &[&args[..], &["--server-name", "good.example"]].concat());
    accepted.close_stdin();
    assert_exit(&mut accepted, 0);
    assert_exit(&mut server, 1);
    assert!(server.has_output("bad_certificate"), "{}", server.transcript());

    // A host that is no name cannot be checked: the client refuses to start without one.
    let mut nameless = dtls("dtls client (no name)", &["client", "--connect", "bad_host!:4433", "--ca-file", &cert]);
    assert_exit(&mut nameless, 1);
    let error = nameless.expect_line_after("error: ", WAIT);
    assert!(error.contains("give --server-name"), "{}", nameless.transcript());
}

/// A stdin line longer than one record carries is the user's mistake, not the session's
/// end: the tool says so on stderr, naming the limit, and the session goes on (both the
/// client's and the server's stdin, and the lines after it still flow).
#[test]
fn a_line_too_long_for_one_record_is_reported_and_the_session_goes_on() {
    let (mut server, port) = dtls_server(&["--echo", "--sessions", "1"]);
    let fingerprint = server.expect_line_after("fingerprint sha-256 ", WAIT);
    let pin = format!("sha-256:{fingerprint}");
    let connect = format!("127.0.0.1:{port}");
    let mut client = dtls("dtls client", &["client", "--connect", &connect, "--fingerprint", &pin, "--expect", "2"]);
    client.expect_line_after("connected ", WAIT);
    server.expect_line_after("connected ", WAIT);
    let long = "x".repeat(2000);

    server.write_line(&long);
    let refused = server.expect_line_after("error: line of 2000 bytes not sent: ", WAIT);
    assert!(refused.starts_with("message too large for one record (at most "), "{}", server.transcript());
    assert!(refused.ends_with(" bytes at this MTU)"), "{}", server.transcript());

    client.write_line("one");
    client.write_line(&long);
    client.write_line("two");
    client.close_stdin();
    assert_exit(&mut client, 0);
    assert_exit(&mut server, 0);
    let refused = client.expect_line_after("error: line of 2000 bytes not sent: ", WAIT);
    assert!(refused.starts_with("message too large for one record (at most "), "{}", client.transcript());
    assert_eq!(data_lines(&client), ["one", "two"]);
    assert_eq!(data_lines(&server), ["one", "two"]);
    assert!(client.has_output("reason=close_notify"), "{}", client.transcript());
    assert!(!client.has_output("reason=error"), "{}", client.transcript());
    assert!(!server.has_output("reason=error"), "{}", server.transcript());
}

/// `dtls server --workers 2` with connection IDs: six clients (each from its own port) all
/// get their echo; every CID the server chose is its --server-id, then a worker byte (00 or
/// 01), then random bytes. A CID too short for the worker byte is refused at start.
#[test]
fn server_with_two_workers_serves_clients_with_worker_cids() {
    const CLIENTS: usize = 6;
    let sessions = CLIENTS.to_string();
    let (mut server, port) =
        dtls_server(&["--workers", "2", "--cid-len", "8", "--server-id", "a1", "--echo", "--sessions", &sessions]);
    let connect = format!("127.0.0.1:{port}");
    let mut workers = std::collections::BTreeSet::new();
    for i in 0..CLIENTS {
        let args = ["client", "--connect", &connect, "--insecure", "--max-version", "1.2", "--cid-len", "4"];
        let mut client = dtls("dtls client", &[&args[..], &["--expect", "1"]].concat());
        let connected = client.expect_line_after("connected ", WAIT);
        let cid = connected.rsplit_once("cid=").map(|(_, c)| c.to_owned()).unwrap_or_default();
        let (_, server_cid) = cid.split_once('/').unwrap_or_else(|| panic!("{connected}"));
        assert_eq!(server_cid.len(), 16, "{connected}");
        assert!(["a100", "a101"].contains(&&server_cid[..4]), "{connected}");
        workers.insert(server_cid[..4].to_owned());
        let line = format!("line {i}");
        client.write_line(&line);
        client.close_stdin();
        assert_exit(&mut client, 0);
        assert_eq!(data_lines(&client), [line]);
    }
    assert_exit(&mut server, 0);
    assert!(!workers.is_empty());

    let mut refused = dtls(
        "dtls server",
        &["server", "--listen", "127.0.0.1:0", "--workers", "2", "--cid-len", "5", "--server-id", "a1"],
    );
    assert_exit(&mut refused, 1);
    assert!(refused.stderr().contains("worker byte"), "{}", refused.transcript());
}

/// `--quiet`: no `connected` or `closed` line for a session that ends cleanly, but a failed
/// handshake is still reported, and the data still flows.
#[test]
fn a_quiet_server_prints_only_what_went_wrong() {
    let (mut server, port) = dtls_server(&["--echo", "--quiet", "--sessions", "2"]);
    let fingerprint = server.expect_line_after("fingerprint sha-256 ", WAIT);
    let connect = format!("127.0.0.1:{port}");
    let pin = format!("sha-256:{fingerprint}");
    let mut good = dtls("dtls client", &["client", "--connect", &connect, "--fingerprint", &pin, "--expect", "1"]);
    good.expect_line_after("connected ", WAIT);
    good.write_line("hello");
    good.close_stdin();
    assert_exit(&mut good, 0);
    assert_eq!(data_lines(&good), ["hello"]);
    let wrong = format!("sha-256:{}", "00:".repeat(31) + "00");
    let mut bad = dtls("dtls client (wrong pin)", &["client", "--connect", &connect, "--fingerprint", &wrong]);
    assert_exit(&mut bad, 1);
    assert_exit(&mut server, 1);
    let stderr = server.stderr();
    assert!(stderr.contains("error: handshake with 127.0.0.1:"), "{}", server.transcript());
    for line in stderr.lines() {
        assert!(!line.starts_with("connected ") && !line.starts_with("closed "), "{}", server.transcript());
    }
    assert_eq!(data_lines(&server), ["hello"]);
}
