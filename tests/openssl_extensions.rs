//! Extensions and session details against OpenSSL 3 over loopback, in both roles: our
//! client against `openssl s_server`, `openssl s_client` against our server.
//!
//! - use_srtp (RFC 5764, RFC 7714 GCM profiles): each profile, server preference, and the
//!   SRTP keying material equal to OpenSSL's `-keymatexport EXTRACTOR-dtls_srtp`;
//! - ALPN (RFC 7301): server preference, or an application's `AlpnSelector`; disjoint lists
//!   (or a refusal) fail with `no_application_protocol`;
//! - the RFC 5705 exporter: our bytes equal OpenSSL's `-keymatexport` for two labels and
//!   lengths 16..256; reserved labels and early calls are refused (in memory, `sim`);
//! - the NSS key log line equal to OpenSSL's `-keylogfile` for the same connection;
//! - SNI: the name our server receives, and the certificate it selects by that name;
//! - suites and groups by OpenSSL and IANA names, and `cipher()` / `protocol()` against
//!   what OpenSSL prints;
//! - SHA-256 fingerprint pinning, and `fingerprint_sha256` against `openssl x509`.
//!
//! What OpenSSL prints is checked OpenSSL-against-OpenSSL in `harness_selftest.rs`; run that
//! first when something here fails.

mod common;
mod sim;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::certs::{CertKey, iana_name_of, pki, self_signed_for, x509_sha256_fingerprint};
use common::keylog::MemoryKeyLog;
use common::openssl::{
    CLIENT_ALPN, CLIENT_HANDSHAKE_DONE, OpensslPeer, SERVER_ALPN_OFFERED, SERVER_ALPN_SELECTED, SERVER_HANDSHAKE_DONE,
    SRTP_NEGOTIATED, hex_lower, read_key_log, s_client, s_server,
};
use common::udp::{DriveError, UdpPeer};
use dtls_engine::{
    AlertDescription, CertificateDer, CertificateError, CipherSuite, ClientConfig, ClientConfigBuilder, Error,
    KeyLogFile, NamedGroup, PeerIncompatible, ServerConfig, ServerConfigBuilder, Session, SrtpProtectionProfile,
    fingerprint_sha256,
};
use rustls_pki_types::pem::PemObject;

/// Budget for each step; loopback needs far less.
const STEP: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------
// Helpers

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

/// The engine error a drive ended with; panics (with the transcript) on anything else.
fn engine_error(res: Result<(), DriveError>, openssl: &OpensslPeer) -> Error {
    match res {
        Err(DriveError::Engine(e)) => e,
        other => panic!("expected an engine error, got {other:?}\n{}", openssl.transcript()),
    }
}

/// Our client, trusting the test CA, for `localhost`.
fn client_builder() -> ClientConfigBuilder {
    ClientConfig::builder()
        .root_certificates_pem(&pki().ca.cert_pem())
        .expect("root certificates")
        .server_name("localhost")
}

/// Our server with `cert`.
fn server_builder_with(cert: &CertKey) -> ServerConfigBuilder {
    ServerConfig::builder().certificate_pem(&cert.cert_pem(), &cert.key_pem()).expect("server certificate")
}

/// Our server with the ECDSA P-256 leaf (`CN=localhost`).
fn server_builder() -> ServerConfigBuilder {
    server_builder_with(&pki().server_p256)
}

/// Our client against a running `s_server`: both sides have finished the handshake.
fn connect_to(srv: &OpensslPeer, config: Arc<ClientConfig>) -> UdpPeer {
    let mut us = UdpPeer::client(config, loopback(srv.port));
    ok(us.run_until_connected(STEP), "handshake", srv);
    ok(us.run_until(STEP, "s_server handshake done", |_| srv.has_output(SERVER_HANDSHAKE_DONE)), "s_server", srv);
    us
}

/// `s_client` against our server: both sides have finished the handshake.
fn accept_from(us: &mut UdpPeer, cli: &OpensslPeer) {
    ok(us.run_until_connected(STEP), "handshake", cli);
    ok(us.run_until(STEP, "s_client handshake done", |_| cli.has_output(CLIENT_HANDSHAKE_DONE)), "s_client", cli);
}

/// The first certificate of a PEM file, as DER.
fn first_cert_der(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

/// `CN=other.test`, self-signed (its own trust anchor), for the SNI tests.
fn other_test_cert() -> &'static CertKey {
    static OTHER: std::sync::OnceLock<CertKey> = std::sync::OnceLock::new();
    OTHER.get_or_init(|| self_signed_for("other.test"))
}

// ---------------------------------------------------------------------------------------
// use_srtp (RFC 5764, RFC 7714)

use SrtpProtectionProfile as P;

/// The OpenSSL name, master key length and master salt length of a profile
/// (RFC 5764 §4.1.2, RFC 7714 §12).
fn srtp_params(profile: SrtpProtectionProfile) -> (&'static str, usize, usize) {
    match profile {
        P::SRTP_AES128_CM_SHA1_80 => ("SRTP_AES128_CM_SHA1_80", 16, 14),
        P::SRTP_AES128_CM_SHA1_32 => ("SRTP_AES128_CM_SHA1_32", 16, 14),
        P::SRTP_AEAD_AES_128_GCM => ("SRTP_AEAD_AES_128_GCM", 16, 12),
        P::SRTP_AEAD_AES_256_GCM => ("SRTP_AEAD_AES_256_GCM", 32, 12),
        other => panic!("no parameters for {other:?}"),
    }
}

/// The exporter length for `profile`: `2 * (key + salt)` (60, 56 or 88).
fn srtp_len(profile: SrtpProtectionProfile) -> usize {
    let (_, key, salt) = srtp_params(profile);
    2 * (key + salt)
}

/// Our SRTP keying material is well formed and equals `theirs` (OpenSSL's
/// `-keymatexport EXTRACTOR-dtls_srtp -keymatexportlen <len>`).
fn check_srtp_material(session: &mut Session, profile: SrtpProtectionProfile, theirs: &[u8]) {
    let (name, key_len, salt_len) = srtp_params(profile);
    let km = session.srtp_keying_material().expect("SRTP keying material");
    assert_eq!(km.profile, profile);
    assert_eq!((km.client_key.len(), km.server_key.len()), (key_len, key_len), "{name} key lengths");
    assert_eq!((km.client_salt.len(), km.server_salt.len()), (salt_len, salt_len), "{name} salt lengths");
    let bytes = km.to_bytes();
    // RFC 5764 §4.2: client_write_SRTP_master_key || server_... key || client salt || server salt.
    let parts =
        [km.client_key.as_slice(), km.server_key.as_slice(), km.client_salt.as_slice(), km.server_salt.as_slice()];
    assert_eq!(bytes, parts.concat());
    assert_eq!(bytes.len(), srtp_len(profile));
    assert_eq!(hex_lower(&bytes), hex_lower(theirs), "{name}: our SRTP keying material differs from OpenSSL's");
    // The same through the generic exporter.
    let mut out = vec![0u8; bytes.len()];
    session.export_keying_material(&mut out, b"EXTRACTOR-dtls_srtp", None).expect("export");
    assert_eq!(out, bytes);
}

/// Our client offers `profile`; `s_server` offers it too and exports the SRTP keys.
fn our_client_srtp(profile: SrtpProtectionProfile) {
    let pki = pki();
    let (name, _, _) = srtp_params(profile);
    let srv = s_server()
        .cert(&pki.server_p256)
        .use_srtp(&[name])
        .keymatexport("EXTRACTOR-dtls_srtp", srtp_len(profile))
        .spawn();
    let mut us = connect_to(&srv, client_builder().srtp_profiles(&[profile]).build().expect("client config"));
    assert_eq!(us.session().srtp_profile(), Some(profile));
    assert_eq!(srv.expect_line_after(SRTP_NEGOTIATED, STEP), name);
    let theirs = srv.keying_material(STEP);
    check_srtp_material(us.session_mut(), profile, &theirs);
    us.close_and_flush();
}

/// `s_client` offers `profile` and exports the SRTP keys; our server accepts it.
fn our_server_srtp(profile: SrtpProtectionProfile) {
    let pki = pki();
    let (name, _, _) = srtp_params(profile);
    let mut us = UdpPeer::server(server_builder().srtp_profiles(&[profile]).build().expect("server config"));
    let cli = s_client(us.port())
        .ca_file(&pki.ca.cert)
        .use_srtp(&[name])
        .keymatexport("EXTRACTOR-dtls_srtp", srtp_len(profile))
        .spawn();
    accept_from(&mut us, &cli);
    assert_eq!(us.session().srtp_profile(), Some(profile));
    assert_eq!(cli.expect_line_after(SRTP_NEGOTIATED, STEP), name);
    let theirs = cli.keying_material(STEP);
    check_srtp_material(us.session_mut(), profile, &theirs);
    us.close_and_flush();
}

mod srtp {
    use super::*;

    #[test]
    fn our_client_aes128_cm_sha1_80() {
        our_client_srtp(P::SRTP_AES128_CM_SHA1_80);
    }

    #[test]
    fn our_client_aes128_cm_sha1_32() {
        our_client_srtp(P::SRTP_AES128_CM_SHA1_32);
    }

    #[test]
    fn our_client_aead_aes_128_gcm() {
        our_client_srtp(P::SRTP_AEAD_AES_128_GCM);
    }

    #[test]
    fn our_client_aead_aes_256_gcm() {
        our_client_srtp(P::SRTP_AEAD_AES_256_GCM);
    }

    #[test]
    fn our_server_aes128_cm_sha1_80() {
        our_server_srtp(P::SRTP_AES128_CM_SHA1_80);
    }

    #[test]
    fn our_server_aes128_cm_sha1_32() {
        our_server_srtp(P::SRTP_AES128_CM_SHA1_32);
    }

    #[test]
    fn our_server_aead_aes_128_gcm() {
        our_server_srtp(P::SRTP_AEAD_AES_128_GCM);
    }

    #[test]
    fn our_server_aead_aes_256_gcm() {
        our_server_srtp(P::SRTP_AEAD_AES_256_GCM);
    }

    /// Our server picks by its own order: [GCM, CM_80] against a client offering
    /// [CM_80, GCM] gives GCM, and the reverse gives CM_80.
    #[test]
    fn our_server_preference_wins() {
        let pki = pki();
        let (gcm, cm80) = (P::SRTP_AEAD_AES_128_GCM, P::SRTP_AES128_CM_SHA1_80);
        for (ours, theirs, chosen) in [
            ([gcm, cm80], ["SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_128_GCM"], gcm),
            ([cm80, gcm], ["SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"], cm80),
        ] {
            let mut us = UdpPeer::server(server_builder().srtp_profiles(&ours).build().expect("server config"));
            let cli = s_client(us.port()).ca_file(&pki.ca.cert).use_srtp(&theirs).spawn();
            accept_from(&mut us, &cli);
            assert_eq!(us.session().srtp_profile(), Some(chosen), "ours {ours:?}, theirs {theirs:?}");
            assert_eq!(cli.expect_line_after(SRTP_NEGOTIATED, STEP), srtp_params(chosen).0);
            us.close_and_flush();
        }
    }

    /// `s_server` picks by its own order too (observed with OpenSSL 3.0, see
    /// `harness_selftest::srtp_server_preference_and_no_overlap`): our client offering
    /// [CM_80, GCM] to `s_server -use_srtp GCM:CM_80` gets GCM, and the reverse CM_80.
    #[test]
    fn s_server_preference_wins() {
        let pki = pki();
        let (gcm, cm80) = (P::SRTP_AEAD_AES_128_GCM, P::SRTP_AES128_CM_SHA1_80);
        for (ours, theirs, chosen) in [
            ([cm80, gcm], ["SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"], gcm),
            ([gcm, cm80], ["SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_128_GCM"], cm80),
        ] {
            let srv = s_server().cert(&pki.server_p256).use_srtp(&theirs).spawn();
            let mut us = connect_to(&srv, client_builder().srtp_profiles(&ours).build().expect("client config"));
            assert_eq!(us.session().srtp_profile(), Some(chosen), "ours {ours:?}, theirs {theirs:?}");
            assert_eq!(srv.expect_line_after(SRTP_NEGOTIATED, STEP), srtp_params(chosen).0);
            us.close_and_flush();
        }
    }
}

// ---------------------------------------------------------------------------------------
// ALPN (RFC 7301)

mod alpn {
    use super::*;

    /// `s_server -alpn h2,webrtc` picks by its own order from our [webrtc, h2], and prints
    /// our list in the order we sent it.
    #[test]
    fn our_client_negotiates() {
        let pki = pki();
        let srv = s_server().cert(&pki.server_p256).alpn(&["h2", "webrtc"]).spawn();
        let config =
            client_builder().alpn_protocols(&[b"webrtc".as_slice(), b"h2".as_slice()]).build().expect("client config");
        let mut us = connect_to(&srv, config);
        assert_eq!(us.session().alpn_protocol(), Some(&b"h2"[..]));
        assert_eq!(srv.expect_line_after(SERVER_ALPN_OFFERED, STEP), "webrtc, h2");
        assert_eq!(srv.expect_line_after(SERVER_ALPN_SELECTED, STEP), "h2");
        us.close_and_flush();
    }

    /// Our server picks by its own order, whatever the order of the client's list.
    #[test]
    fn our_server_negotiates_by_its_preference() {
        let pki = pki();
        for (ours, theirs, chosen) in [
            ([b"h2".as_slice(), b"webrtc".as_slice()], ["webrtc", "h2"], "h2"),
            ([b"webrtc".as_slice(), b"h2".as_slice()], ["h2", "webrtc"], "webrtc"),
        ] {
            let mut us = UdpPeer::server(server_builder().alpn_protocols(&ours).build().expect("server config"));
            let cli = s_client(us.port()).ca_file(&pki.ca.cert).alpn(&theirs).spawn();
            accept_from(&mut us, &cli);
            assert_eq!(us.session().alpn_protocol(), Some(chosen.as_bytes()));
            assert_eq!(cli.expect_line_after(CLIENT_ALPN, STEP), chosen);
            us.close_and_flush();
        }
    }

    /// Our server with an application's `AlpnSelector` (here: the client's *last* offer, or
    /// a refusal when "refuse" is offered): `s_client -alpn` gets what it chose, which no
    /// preference list of ours would give for both offers, and the refusal as
    /// `no_application_protocol`.
    #[test]
    fn our_server_with_an_alpn_selector() {
        #[derive(Debug)]
        struct Last;
        impl dtls_engine::AlpnSelector for Last {
            fn select(&self, offered: &[Vec<u8>]) -> dtls_engine::AlpnChoice {
                if offered.iter().any(|p| p == b"refuse") {
                    return dtls_engine::AlpnChoice::Refuse;
                }
                dtls_engine::AlpnChoice::Protocol(offered.len() - 1)
            }
        }
        let pki = pki();
        for (theirs, chosen) in [(["h2", "webrtc"], "webrtc"), (["webrtc", "h2"], "h2")] {
            let mut us =
                UdpPeer::server(server_builder().alpn_selector(Arc::new(Last)).build().expect("server config"));
            let cli = s_client(us.port()).ca_file(&pki.ca.cert).alpn(&theirs).spawn();
            accept_from(&mut us, &cli);
            assert_eq!(us.session().alpn_protocol(), Some(chosen.as_bytes()));
            assert_eq!(cli.expect_line_after(CLIENT_ALPN, STEP), chosen);
            us.close_and_flush();
        }
        let mut us = UdpPeer::server(server_builder().alpn_selector(Arc::new(Last)).build().expect("server config"));
        let cli = s_client(us.port()).ca_file(&pki.ca.cert).alpn(&["h2", "refuse"]).spawn();
        let e = engine_error(us.run_until_connected(STEP), &cli);
        assert_eq!(e, Error::PeerIncompatible(PeerIncompatible::NoCommonApplicationProtocol));
        cli.expect_output("SSL alert number 120", STEP);
    }

    /// A client that offers no ALPN gets none from our ALPN-configured server.
    #[test]
    fn our_server_without_client_alpn() {
        let pki = pki();
        let mut us =
            UdpPeer::server(server_builder().alpn_protocols(&[b"h2".as_slice()]).build().expect("server config"));
        let cli = s_client(us.port()).ca_file(&pki.ca.cert).spawn();
        accept_from(&mut us, &cli);
        assert_eq!(us.session().alpn_protocol(), None);
        cli.expect_output("No ALPN negotiated", STEP);
        us.close_and_flush();
    }

    /// Disjoint lists at our server: `PeerIncompatible(NoCommonApplicationProtocol)`, and
    /// `s_client` reports our `no_application_protocol` (120) alert.
    #[test]
    fn our_server_no_overlap_sends_no_application_protocol() {
        let pki = pki();
        let mut us =
            UdpPeer::server(server_builder().alpn_protocols(&[b"foo".as_slice()]).build().expect("server config"));
        let mut cli = s_client(us.port()).ca_file(&pki.ca.cert).alpn(&["bar", "baz"]).spawn();
        let e = engine_error(us.run_until_connected(STEP), &cli);
        assert_eq!(e, Error::PeerIncompatible(PeerIncompatible::NoCommonApplicationProtocol));
        assert_eq!(e.alert(), Some(AlertDescription::NoApplicationProtocol));
        assert!(!us.is_connected());
        cli.expect_output("tlsv1 alert no application protocol", STEP);
        cli.expect_output("SSL alert number 120", STEP);
        let status = cli.wait_exit(STEP);
        assert!(status.is_some_and(|s| !s.success()), "s_client exit {status:?}\n{}", cli.transcript());
        cli.expect_output("Cipher is (NONE)", STEP);
    }

    /// Disjoint lists at `s_server`: OpenSSL 3.0 does not carry on without ALPN, it sends a
    /// fatal `no_application_protocol` alert (checked OpenSSL-vs-OpenSSL in
    /// `harness_selftest::alpn_no_overlap_is_fatal_at_s_server`), which our client reports.
    #[test]
    fn our_client_no_overlap_gets_no_application_protocol() {
        let pki = pki();
        let mut srv = s_server().cert(&pki.server_p256).alpn(&["foo"]).spawn();
        let config =
            client_builder().alpn_protocols(&[b"bar".as_slice(), b"baz".as_slice()]).build().expect("client config");
        let mut us = UdpPeer::client(config, loopback(srv.port));
        let e = engine_error(us.run_until_connected(STEP), &srv);
        assert_eq!(e, Error::AlertReceived(AlertDescription::NoApplicationProtocol));
        assert!(!us.is_connected());
        srv.expect_output("ALPN protocols advertised by the client: bar, baz", STEP);
        srv.expect_output("no application protocol", STEP);
        srv.kill();
    }
}

// ---------------------------------------------------------------------------------------
// The RFC 5705 exporter

const EXPORT_LENGTHS: [usize; 5] = [16, 32, 64, 100, 256];

/// Our exported bytes against `s_server -keymatexport label -keymatexportlen len`.
fn our_client_exporter(label: &str) {
    let pki = pki();
    for len in EXPORT_LENGTHS {
        let srv = s_server().cert(&pki.server_p256).keymatexport(label, len).spawn();
        let mut us = connect_to(&srv, client_builder().build().expect("client config"));
        let mut ours = vec![0u8; len];
        us.session_mut().export_keying_material(&mut ours, label.as_bytes(), None).expect("export");
        let theirs = srv.keying_material(STEP);
        assert_eq!(hex_lower(&ours), hex_lower(&theirs), "label {label:?}, length {len}");
        us.close_and_flush();
    }
}

/// Our exported bytes against `s_client -keymatexport label -keymatexportlen len`.
fn our_server_exporter(label: &str) {
    let pki = pki();
    for len in EXPORT_LENGTHS {
        let mut us = UdpPeer::server(server_builder().build().expect("server config"));
        let cli = s_client(us.port()).ca_file(&pki.ca.cert).keymatexport(label, len).spawn();
        accept_from(&mut us, &cli);
        let mut ours = vec![0u8; len];
        us.session_mut().export_keying_material(&mut ours, label.as_bytes(), None).expect("export");
        let theirs = cli.keying_material(STEP);
        assert_eq!(hex_lower(&ours), hex_lower(&theirs), "label {label:?}, length {len}");
        us.close_and_flush();
    }
}

mod exporter {
    use super::*;

    #[test]
    fn our_client_experimental_label() {
        our_client_exporter("EXPERIMENTAL-dtls-engine");
    }

    #[test]
    fn our_client_extractor_label() {
        our_client_exporter("EXTRACTOR-test");
    }

    #[test]
    fn our_server_experimental_label() {
        our_server_exporter("EXPERIMENTAL-dtls-engine");
    }

    #[test]
    fn our_server_extractor_label() {
        our_server_exporter("EXTRACTOR-test");
    }

    /// In memory: `HandshakeNotComplete` before `Connected`, `ExporterRefused` for the
    /// labels the TLS PRF itself uses (OpenSSL refuses them too, printing `Error`), and
    /// otherwise both sides agree, with and without a context.
    #[test]
    fn refuses_reserved_labels_and_before_handshake() {
        let mut pair = sim::Pair::lossless();
        let mut out = vec![0u8; 32];
        assert_eq!(
            pair.client.session_mut().export_keying_material(&mut out, b"EXPERIMENTAL-early", None),
            Err(Error::HandshakeNotComplete)
        );
        // The server endpoint has a session once the client's cookie verified.
        pair.drive_until(Duration::from_secs(1), |p| p.server.accepted == 1).expect("accepted");
        for session in [pair.client.session_mut(), pair.server.session_mut()] {
            assert_eq!(
                session.export_keying_material(&mut out, b"EXPERIMENTAL-early", None),
                Err(Error::HandshakeNotComplete)
            );
        }
        pair.expect_handshake(Duration::from_secs(1));
        for label in ["client finished", "server finished", "master secret", "key expansion", "extended master secret"]
        {
            for session in [pair.client.session_mut(), pair.server.session_mut()] {
                assert_eq!(
                    session.export_keying_material(&mut out, label.as_bytes(), None),
                    Err(Error::ExporterRefused),
                    "{label:?}"
                );
            }
        }
        let export = |session: &mut Session, context: Option<&[u8]>| {
            let mut out = vec![0u8; 32];
            session.export_keying_material(&mut out, b"EXPERIMENTAL-ok", context).expect("export");
            out
        };
        let no_context = export(pair.client.session_mut(), None);
        assert_eq!(no_context, export(pair.server.session_mut(), None));
        let with_context = export(pair.client.session_mut(), Some(b"context"));
        assert_eq!(with_context, export(pair.server.session_mut(), Some(b"context")));
        assert_ne!(no_context, with_context);
        // RFC 5705 §4: no context and an empty context are different inputs.
        assert_ne!(no_context, export(pair.client.session_mut(), Some(b"")));
    }
}

// ---------------------------------------------------------------------------------------
// NSS key log

mod key_log {
    use super::*;

    /// Our client's line equals the one `s_server -keylogfile` wrote for the connection.
    #[test]
    fn our_client_line_equals_s_server_keylogfile() {
        let pki = pki();
        let path = common::certs::fresh_temp_dir("dtls-engine-keylog").join("s_server.keylog");
        let srv = s_server().cert(&pki.server_p256).keylogfile(&path).spawn();
        let log = Arc::new(MemoryKeyLog::default());
        let mut us = connect_to(&srv, client_builder().key_log(log.clone()).build().expect("client config"));
        let theirs = read_key_log(&path, STEP);
        assert_eq!(theirs.len(), 1, "{theirs:?}\n{}", srv.transcript());
        assert_eq!(log.lines(), theirs);
        us.close_and_flush();
    }

    /// Our server's line equals the one `s_client -keylogfile` wrote.
    #[test]
    fn our_server_line_equals_s_client_keylogfile() {
        let pki = pki();
        let path = common::certs::fresh_temp_dir("dtls-engine-keylog").join("s_client.keylog");
        let log = Arc::new(MemoryKeyLog::default());
        let mut us = UdpPeer::server(server_builder().key_log(log.clone()).build().expect("server config"));
        let cli = s_client(us.port()).ca_file(&pki.ca.cert).keylogfile(&path).spawn();
        accept_from(&mut us, &cli);
        let theirs = read_key_log(&path, STEP);
        assert_eq!(theirs.len(), 1, "{theirs:?}\n{}", cli.transcript());
        assert_eq!(log.lines(), theirs);
        us.close_and_flush();
    }

    /// `KeyLogFile` writes (and flushes) the same line to a file as OpenSSL does.
    #[test]
    fn key_log_file_equals_s_client_keylogfile() {
        let pki = pki();
        let dir = common::certs::fresh_temp_dir("dtls-engine-keylog");
        let (ours, theirs) = (dir.join("ours.keylog"), dir.join("s_client.keylog"));
        let file = KeyLogFile::new(&ours).expect("key log file");
        let mut us = UdpPeer::server(server_builder().key_log(Arc::new(file)).build().expect("server config"));
        let cli = s_client(us.port()).ca_file(&pki.ca.cert).keylogfile(&theirs).spawn();
        accept_from(&mut us, &cli);
        let theirs = read_key_log(&theirs, STEP);
        assert_eq!(theirs.len(), 1, "{theirs:?}");
        assert_eq!(read_key_log(&ours, STEP), theirs);
        us.close_and_flush();
    }
}

// ---------------------------------------------------------------------------------------
// SNI

mod sni {
    use super::*;

    /// Our server with the default `CN=localhost` certificate and `CN=other.test` for SNI
    /// `other.test`.
    fn two_cert_server() -> UdpPeer {
        let other = other_test_cert();
        let config = server_builder()
            .sni_certificate_pem("other.test", &other.cert_pem(), &other.key_pem())
            .expect("SNI certificate")
            .build()
            .expect("server config");
        UdpPeer::server(config)
    }

    /// `-servername example.test`: our server records the name, and, having no certificate
    /// for it, presents the default one.
    #[test]
    fn our_server_receives_server_name() {
        let mut us = two_cert_server();
        let cli = s_client(us.port()).ca_file(&pki().ca.cert).servername("example.test").spawn();
        accept_from(&mut us, &cli);
        assert_eq!(us.session().server_name(), Some("example.test"));
        cli.expect_output("subject=CN = localhost", STEP);
        cli.expect_output("Verify return code: 0 (ok)", STEP);
        us.close_and_flush();
    }

    /// `-servername other.test`: our server presents the `other.test` certificate, which
    /// `s_client` verifies against that certificate as its CA file.
    #[test]
    fn our_server_selects_certificate_by_server_name() {
        let mut us = two_cert_server();
        let cli = s_client(us.port()).ca_file(&other_test_cert().cert).servername("other.test").spawn();
        accept_from(&mut us, &cli);
        assert_eq!(us.session().server_name(), Some("other.test"));
        cli.expect_output("subject=CN = other.test", STEP);
        cli.expect_output("Verify return code: 0 (ok)", STEP);
        us.close_and_flush();
    }

    /// `s_client` to 127.0.0.1 without `-servername` sends no SNI: default certificate.
    #[test]
    fn our_server_without_server_name_uses_default() {
        let mut us = two_cert_server();
        let cli = s_client(us.port()).ca_file(&pki().ca.cert).spawn();
        accept_from(&mut us, &cli);
        assert_eq!(us.session().server_name(), None);
        cli.expect_output("subject=CN = localhost", STEP);
        us.close_and_flush();
    }

    /// Our client's SNI makes `s_server -servername other.test -cert2 ...` switch to the
    /// `other.test` certificate, which our client verifies for that name.
    #[test]
    fn our_client_sends_server_name() {
        let pki = pki();
        let other = other_test_cert();
        let srv = s_server().cert(&pki.server_p256).sni_cert("other.test", other).spawn();
        let config = ClientConfig::builder()
            .root_certificates_pem(&other.cert_pem())
            .expect("root certificates")
            .server_name("other.test")
            .build()
            .expect("client config");
        let mut us = connect_to(&srv, config);
        srv.expect_output("Hostname in TLS extension: \"other.test\"", STEP);
        let leaf = us.session().peer_certificates().and_then(|c| c.first().cloned()).expect("server certificate");
        assert_eq!(leaf, first_cert_der(&other.cert));
        us.close_and_flush();
    }
}

// ---------------------------------------------------------------------------------------
// Suites and groups by name; cipher() and protocol()

/// Our `cipher()` names what OpenSSL printed (`printed`), its IANA name is what
/// `openssl ciphers -stdname` gives for it, and the protocol is DTLS 1.2.
fn check_cipher_info(session: &Session, suite: CipherSuite, printed: &str) {
    assert_eq!(session.cipher_suite(), Some(suite));
    let info = session.cipher().expect("cipher info once connected");
    assert_eq!(info.name, printed);
    assert_eq!(info.standard_name, iana_name_of(printed));
    assert_eq!(info.version, "DTLSv1.2");
    assert_eq!(session.protocol(), "DTLSv1.2");
}

mod names {
    use super::*;

    /// OpenSSL suite name and group `P-256` on our client.
    #[test]
    fn our_client_suite_by_openssl_name() {
        let pki = pki();
        let srv = s_server().cert(&pki.server_p256).spawn();
        let config = client_builder()
            .cipher_suites_by_name(&["ECDHE-ECDSA-AES128-GCM-SHA256"])
            .groups_by_name(&["P-256"])
            .build()
            .expect("client config");
        let mut us = connect_to(&srv, config);
        srv.expect_output("CIPHER is ECDHE-ECDSA-AES128-GCM-SHA256", STEP);
        check_cipher_info(
            us.session(),
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            "ECDHE-ECDSA-AES128-GCM-SHA256",
        );
        assert_eq!(us.session().negotiated_group(), Some(NamedGroup::Secp256r1));
        us.close_and_flush();
    }

    /// IANA suite name and group `secp384r1` on our client, RSA certificate.
    #[test]
    fn our_client_suite_by_iana_name() {
        let pki = pki();
        let srv = s_server().cert(&pki.server_rsa).spawn();
        let config = client_builder()
            .cipher_suites_by_name(&["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"])
            .groups_by_name(&["secp384r1"])
            .build()
            .expect("client config");
        let mut us = connect_to(&srv, config);
        srv.expect_output("CIPHER is ECDHE-RSA-AES256-GCM-SHA384", STEP);
        check_cipher_info(
            us.session(),
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            "ECDHE-RSA-AES256-GCM-SHA384",
        );
        assert_eq!(us.session().negotiated_group(), Some(NamedGroup::Secp384r1));
        us.close_and_flush();
    }

    /// IANA suite name and group `X25519` on our server; `s_client` prints both, and the
    /// protocol.
    #[test]
    fn our_server_suite_by_iana_name() {
        let pki = pki();
        let config = server_builder()
            .cipher_suites_by_name(&["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"])
            .groups_by_name(&["X25519"])
            .build()
            .expect("server config");
        let mut us = UdpPeer::server(config);
        let cli = s_client(us.port()).ca_file(&pki.ca.cert).spawn();
        accept_from(&mut us, &cli);
        cli.expect_output("Cipher is ECDHE-ECDSA-CHACHA20-POLY1305", STEP);
        cli.expect_output("Server Temp Key: X25519", STEP);
        cli.expect_output("Protocol  : DTLSv1.2", STEP);
        check_cipher_info(
            us.session(),
            CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            "ECDHE-ECDSA-CHACHA20-POLY1305",
        );
        assert_eq!(us.session().negotiated_group(), Some(NamedGroup::X25519));
        us.close_and_flush();
    }

    /// OpenSSL suite name and group `prime256v1` on our server, RSA certificate.
    #[test]
    fn our_server_suite_by_openssl_name() {
        let pki = pki();
        let config = server_builder_with(&pki.server_rsa)
            .cipher_suites_by_name(&["ECDHE-RSA-AES128-GCM-SHA256"])
            .groups_by_name(&["prime256v1"])
            .build()
            .expect("server config");
        let mut us = UdpPeer::server(config);
        let cli = s_client(us.port()).ca_file(&pki.ca.cert).spawn();
        accept_from(&mut us, &cli);
        cli.expect_output("Cipher is ECDHE-RSA-AES128-GCM-SHA256", STEP);
        cli.expect_output("Server Temp Key: ECDH, prime256v1", STEP);
        cli.expect_output("Protocol  : DTLSv1.2", STEP);
        check_cipher_info(
            us.session(),
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            "ECDHE-RSA-AES128-GCM-SHA256",
        );
        assert_eq!(us.session().negotiated_group(), Some(NamedGroup::Secp256r1));
        us.close_and_flush();
    }

    /// In memory: every suite by either name, every group by each of its names, end up
    /// negotiated; unknown names fail at `build()`.
    #[test]
    fn every_name_resolves() {
        let sim = sim::sim_pki();
        let suites = [
            ("ECDHE-ECDSA-AES128-GCM-SHA256", CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, false),
            ("ECDHE-ECDSA-AES256-GCM-SHA384", CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, false),
            ("ECDHE-ECDSA-CHACHA20-POLY1305", CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, false),
            ("ECDHE-RSA-AES128-GCM-SHA256", CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, true),
            ("ECDHE-RSA-AES256-GCM-SHA384", CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, true),
            ("ECDHE-RSA-CHACHA20-POLY1305", CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, true),
        ];
        let groups = [
            ("X25519", NamedGroup::X25519),
            ("P-256", NamedGroup::Secp256r1),
            ("prime256v1", NamedGroup::Secp256r1),
            ("secp256r1", NamedGroup::Secp256r1),
            ("P-384", NamedGroup::Secp384r1),
            ("secp384r1", NamedGroup::Secp384r1),
        ];
        let handshake = |client: ClientConfigBuilder, rsa: bool| {
            let (cert, key) =
                if rsa { (&sim.rsa_cert_pem, &sim.rsa_key_pem) } else { (&sim.server_cert_pem, &sim.server_key_pem) };
            let server = ServerConfig::builder()
                .certificate_pem(cert.as_bytes(), key.as_bytes())
                .expect("server certificate")
                .build()
                .expect("server config");
            let mut pair = sim::Pair::new(
                client.build().expect("client config"),
                server,
                sim::LinkConfig::default(),
                sim::LinkConfig::default(),
                7,
            );
            pair.expect_handshake(Duration::from_secs(1));
            pair
        };
        let sim_client = || {
            ClientConfig::builder()
                .root_certificates_pem(sim.ca_pem.as_bytes())
                .expect("sim CA")
                .server_name("localhost")
        };

        for (openssl_name, suite, rsa) in suites {
            let iana = iana_name_of(openssl_name);
            for name in [openssl_name, iana.as_str()] {
                let pair = handshake(sim_client().cipher_suites_by_name(&[name]), rsa);
                assert_eq!(pair.client.session().cipher_suite(), Some(suite), "{name}");
                let info = pair.server.session().cipher().expect("cipher info");
                assert_eq!((info.name, info.standard_name), (openssl_name, iana.as_str()), "{name}");
            }
        }
        for (name, group) in groups {
            let pair = handshake(sim_client().groups_by_name(&[name]), false);
            assert_eq!(pair.client.session().negotiated_group(), Some(group), "{name}");
        }

        assert!(sim_client().cipher_suites_by_name(&["NOT-A-SUITE"]).build().is_err());
        assert!(sim_client().cipher_suites_by_name(&["TLS_RSA_WITH_RC4_128_MD5"]).build().is_err());
        assert!(sim_client().groups_by_name(&["brainpoolP256r1"]).build().is_err());
    }
}

// ---------------------------------------------------------------------------------------
// SHA-256 fingerprint pinning

mod fingerprint {
    use super::*;

    /// `fingerprint_sha256` equals `openssl x509 -noout -fingerprint -sha256` (prefixed
    /// with the SDP hash name `sha-256 `), for every certificate of the test PKI.
    #[test]
    fn fingerprint_sha256_matches_openssl_x509() {
        let pki = pki();
        for ck in [&pki.ca, &pki.server_p256, &pki.server_p384, &pki.server_rsa, &pki.client, &pki.self_signed] {
            let ours = fingerprint_sha256(&first_cert_der(&ck.cert));
            assert_eq!(ours, format!("sha-256 {}", x509_sha256_fingerprint(&ck.cert)), "{}", ck.cert.display());
        }
    }

    /// Pinned to `s_server`'s certificate (whose CA our client does not know), our client
    /// connects, and the certificate it recorded is that one.
    #[test]
    fn our_client_connects_with_right_fingerprint() {
        let pki = pki();
        let srv = s_server().cert(&pki.server_p256).spawn();
        let pin = format!("sha-256 {}", x509_sha256_fingerprint(&pki.server_p256.cert));
        let config = ClientConfig::builder()
            .pin_fingerprint(&pin)
            .expect("pin")
            .server_name("localhost")
            .build()
            .expect("client config");
        let mut us = connect_to(&srv, config);
        let session = us.session();
        let leaf = session.peer_certificates().and_then(|c| c.first().cloned()).expect("server certificate");
        assert_eq!(fingerprint_sha256(&leaf), pin);
        // The PEM form starts with the very certificate s_server was given.
        let strip = |s: &str| s.split_whitespace().collect::<String>();
        let pem = session.peer_certificate_pem().expect("peer certificate PEM");
        let file = String::from_utf8(pki.server_p256.cert_pem()).expect("utf-8 PEM");
        assert!(strip(&pem).starts_with(&strip(&file)), "{pem}\nvs\n{file}");
        us.close_and_flush();
    }

    /// Pinned to another certificate: `InvalidCertificate` with a `bad_certificate` alert,
    /// which `s_server` prints.
    #[test]
    fn our_client_rejects_wrong_fingerprint() {
        let pki = pki();
        let mut srv = s_server().cert(&pki.server_p256).spawn();
        let wrong = format!("sha-256 {}", x509_sha256_fingerprint(&pki.server_p384.cert));
        let config = ClientConfig::builder()
            .pin_fingerprint(&wrong)
            .expect("pin")
            .server_name("localhost")
            .build()
            .expect("client config");
        let mut us = UdpPeer::client(config, loopback(srv.port));
        let e = engine_error(us.run_until_connected(STEP), &srv);
        assert_eq!(e, Error::InvalidCertificate(CertificateError::FingerprintMismatch));
        assert_eq!(e.alert(), Some(AlertDescription::BadCertificate));
        assert!(!us.is_connected());
        srv.expect_output("sslv3 alert bad certificate", STEP);
        srv.expect_output("SSL alert number 42", STEP);
        srv.kill();
    }

    /// Malformed pins are refused by the builder.
    #[test]
    fn malformed_pins_are_refused() {
        for pin in ["", "not a fingerprint", "sha-256 AB:CD", "sha-256 ZZ:ZZ:ZZ:ZZ:ZZ:ZZ:ZZ:ZZ:ZZ:ZZ:ZZ:ZZ:ZZ:ZZ:ZZ:ZZ"]
        {
            assert!(ClientConfig::builder().pin_fingerprint(pin).is_err(), "{pin:?} accepted");
        }
    }
}
