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
use openssl::{
    CLIENT_ALPN, ClientBuilder, KEYING_MATERIAL, OpensslPeer, SERVER_ALPN_OFFERED, SERVER_ALPN_SELECTED,
    SERVER_CONNECTION_CLOSED, SRTP_NEGOTIATED, ServerBuilder, read_key_log, s_client, s_server,
};

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

// ---- Extensions: what `openssl_extensions.rs` relies on ---------------------------------

/// `-use_srtp` with each profile, and `-keymatexport EXTRACTOR-dtls_srtp`: both sides print
/// the profile and the same material, `2 * (key + salt)` bytes.
#[test]
fn srtp_each_profile_and_its_keying_material() {
    let pki = pki();
    for (profile, len) in [
        ("SRTP_AES128_CM_SHA1_80", 60),
        ("SRTP_AES128_CM_SHA1_32", 60),
        ("SRTP_AEAD_AES_128_GCM", 56),
        ("SRTP_AEAD_AES_256_GCM", 88),
    ] {
        let (srv, cli) = exchange(
            s_server().cert(&pki.server_p256).use_srtp(&[profile]).keymatexport("EXTRACTOR-dtls_srtp", len),
            |c| c.ca_file(&pki.ca.cert).use_srtp(&[profile]).keymatexport("EXTRACTOR-dtls_srtp", len),
        );
        assert_eq!(srv.expect_line_after(SRTP_NEGOTIATED, STEP), profile);
        assert_eq!(cli.expect_line_after(SRTP_NEGOTIATED, STEP), profile);
        let (a, b) = (srv.keying_material(STEP), cli.keying_material(STEP));
        assert_eq!(a.len(), len);
        assert_eq!(a, b, "{profile}");
    }
}

/// `s_server` chooses the SRTP profile by its own order, not the client's; with no common
/// profile the handshake goes on without SRTP and neither side prints the SRTP line.
#[test]
fn srtp_server_preference_and_no_overlap() {
    let pki = pki();
    let (gcm, cm80) = ("SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80");
    for (server, client, chosen) in [([gcm, cm80], [cm80, gcm], gcm), ([cm80, gcm], [gcm, cm80], cm80)] {
        let (srv, cli) = exchange(s_server().cert(&pki.server_p256).use_srtp(&server), |c| {
            c.ca_file(&pki.ca.cert).use_srtp(&client)
        });
        assert_eq!(srv.expect_line_after(SRTP_NEGOTIATED, STEP), chosen);
        assert_eq!(cli.expect_line_after(SRTP_NEGOTIATED, STEP), chosen);
    }
    let (srv, cli) = exchange(s_server().cert(&pki.server_p256).use_srtp(&[cm80]), |c| {
        c.ca_file(&pki.ca.cert).use_srtp(&["SRTP_AEAD_AES_256_GCM"])
    });
    assert!(!srv.has_output(SRTP_NEGOTIATED) && !cli.has_output(SRTP_NEGOTIATED));
}

/// ALPN: `s_server` chooses by its own order and prints what it was offered and chose;
/// `s_client` prints `ALPN protocol: X`.
#[test]
fn alpn_server_preference() {
    let pki = pki();
    for (server, client, chosen, offered) in [
        (["h2", "webrtc"], ["webrtc", "h2"], "h2", "webrtc, h2"),
        (["webrtc", "h2"], ["h2", "webrtc"], "webrtc", "h2, webrtc"),
    ] {
        let (srv, cli) =
            exchange(s_server().cert(&pki.server_p256).alpn(&server), |c| c.ca_file(&pki.ca.cert).alpn(&client));
        assert_eq!(srv.expect_line_after(SERVER_ALPN_OFFERED, STEP), offered);
        assert_eq!(srv.expect_line_after(SERVER_ALPN_SELECTED, STEP), chosen);
        assert_eq!(cli.expect_line_after(CLIENT_ALPN, STEP), chosen);
    }
}

/// ALPN with disjoint lists: OpenSSL 3.0's `s_server` does NOT carry on without ALPN, it
/// fails the handshake with a fatal `no_application_protocol` (120) alert.
#[test]
fn alpn_no_overlap_is_fatal_at_s_server() {
    let pki = pki();
    let mut srv = s_server().cert(&pki.server_p256).alpn(&["foo"]).spawn();
    let mut cli = s_client(srv.port).ca_file(&pki.ca.cert).alpn(&["bar", "baz"]).spawn();
    let status = cli.wait_exit(STEP);
    assert!(status.is_some_and(|s| !s.success()), "s_client exit {status:?}\n{}", cli.transcript());
    cli.expect_output("tlsv1 alert no application protocol", STEP);
    cli.expect_output("SSL alert number 120", STEP);
    cli.expect_output("Cipher is (NONE)", STEP);
    cli.expect_output("No ALPN negotiated", STEP);
    srv.expect_output("ALPN protocols advertised by the client: bar, baz", STEP);
    srv.expect_output("tls_handle_alpn:no application protocol", STEP);
    srv.kill();
}

/// `-keymatexport` without context gives the same bytes on both sides, for any length up
/// to 256 and other labels; reserved labels print `Error` instead.
#[test]
fn keymatexport_both_sides_agree_and_reserved_labels_fail() {
    let pki = pki();
    for (label, len) in [("EXPERIMENTAL-dtls-engine", 256), ("EXTRACTOR-test", 16)] {
        let (srv, cli) = exchange(s_server().cert(&pki.server_p256).keymatexport(label, len), |c| {
            c.ca_file(&pki.ca.cert).keymatexport(label, len)
        });
        srv.expect_output(&format!("Label: '{label}'"), STEP);
        let (a, b) = (srv.keying_material(STEP), cli.keying_material(STEP));
        assert_eq!(a.len(), len);
        assert_eq!(a, b);
    }
    let (srv, cli) = exchange(s_server().cert(&pki.server_p256).keymatexport("master secret", 16), |c| {
        c.ca_file(&pki.ca.cert).keymatexport("key expansion", 16)
    });
    for peer in [&srv, &cli] {
        assert!(!peer.has_output(KEYING_MATERIAL), "{}", peer.transcript());
        peer.expect_output("Length: 16 bytes\n    Error", STEP);
    }
}

/// `-keylogfile` on both sides writes the same single `CLIENT_RANDOM <random> <master>`
/// line (lower-case hex) after a comment header.
#[test]
fn keylogfile_both_sides_agree() {
    let pki = pki();
    let dir = certs::fresh_temp_dir("dtls-engine-keylog");
    let (s_log, c_log) = (dir.join("server.keylog"), dir.join("client.keylog"));
    let (_srv, _cli) =
        exchange(s_server().cert(&pki.server_p256).keylogfile(&s_log), |c| c.ca_file(&pki.ca.cert).keylogfile(&c_log));
    let (s_lines, c_lines) = (read_key_log(&s_log, STEP), read_key_log(&c_log, STEP));
    assert_eq!(s_lines.len(), 1, "{s_lines:?}");
    assert_eq!(s_lines, c_lines);
    let words: Vec<&str> = s_lines[0].split(' ').collect();
    assert_eq!(words.len(), 3);
    assert_eq!(words[0], "CLIENT_RANDOM");
    assert_eq!((words[1].len(), words[2].len()), (64, 96));
    assert!(words[1..].iter().all(|w| w.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))));
    let header = std::fs::read_to_string(&c_log).expect("key log");
    assert!(header.starts_with("# SSL/TLS secrets log file, generated by OpenSSL"), "{header}");
}

/// SNI: without `-servername`, `s_client` sends no SNI to 127.0.0.1 and gets the default
/// certificate; with the name `s_server -servername` knows, it gets `-cert2`.
#[test]
fn sni_selects_second_certificate() {
    let pki = pki();
    let other = certs::self_signed_for("other.test");
    let server = || s_server().cert(&pki.server_p256).sni_cert("other.test", &other);
    let (srv, cli) = exchange(server(), |c| c.servername("other.test"));
    srv.expect_output("Hostname in TLS extension: \"other.test\"", STEP);
    cli.expect_output("subject=CN = other.test", STEP);
    let (srv, cli) = exchange(server(), |c| c);
    assert!(!srv.has_output("Hostname in TLS extension"));
    cli.expect_output("subject=CN = localhost", STEP);
}

/// A verifying `s_client` that rejects the certificate for a hostname mismatch sends
/// `bad_certificate` (42), and `s_server` prints it as `sslv3 alert bad certificate`.
#[test]
fn bad_certificate_alert_text() {
    let pki = pki();
    let mut srv = s_server().cert(&pki.server_p256).spawn();
    let mut cli = s_client(srv.port).ca_file(&pki.ca.cert).args(&["-verify_hostname", "wrong.test"]).spawn();
    assert!(cli.wait_exit(STEP).is_some_and(|s| !s.success()), "{}", cli.transcript());
    srv.expect_output("sslv3 alert bad certificate", STEP);
    srv.expect_output("SSL alert number 42", STEP);
    srv.kill();
}

/// `openssl x509 -fingerprint -sha256` prints `sha256 Fingerprint=AB:CD:...` (32 upper-case
/// pairs), and `openssl ciphers -stdname` maps OpenSSL names to IANA names.
#[test]
fn fingerprint_and_cipher_name_formats() {
    let pki = pki();
    let fp = certs::x509_sha256_fingerprint(&pki.server_p256.cert);
    let pairs: Vec<&str> = fp.split(':').collect();
    assert_eq!(pairs.len(), 32, "{fp}");
    assert!(pairs.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())));
    assert_eq!(certs::iana_name_of("ECDHE-ECDSA-AES128-GCM-SHA256"), "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    assert_eq!(certs::iana_name_of("ECDHE-RSA-CHACHA20-POLY1305"), "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
}

/// `s_client` names the protocol `DTLSv1.2` in its session summary (but `TLSv1.2` in the
/// `New, TLSv1.2, Cipher is ...` line).
#[test]
fn s_client_prints_protocol_dtls12() {
    let pki = pki();
    let (_srv, cli) = exchange(s_server().cert(&pki.server_p256), |c| c.ca_file(&pki.ca.cert));
    cli.expect_output("Protocol  : DTLSv1.2", STEP);
    cli.expect_output("New, TLSv1.2, Cipher is ", STEP);
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
