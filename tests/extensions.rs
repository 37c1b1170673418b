//! In-memory checks of the negotiated extensions and session surface (ALPN, use_srtp, the
//! RFC 5705 exporter, key log, SNI certificate choice, fingerprint pinning), engine against
//! engine. The same features are proven against OpenSSL in `openssl_extensions.rs`.

mod sim;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dtls_engine::{
    AlertDescription, CertificateError, ClientAuth, ClientConfig, ClientConfigBuilder, Error, FingerprintVerifier,
    KeyLog, PeerIncompatible, ServerConfig, ServerConfigBuilder, SrtpProtectionProfile as P, fingerprint_sha256,
};
use sim::{LinkConfig, Pair, sim_pki};

const DEADLINE: Duration = Duration::from_secs(5);

fn client() -> ClientConfigBuilder {
    let pki = sim_pki();
    ClientConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .root_certificates_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .server_name("localhost")
        .rng_seed([1; 32])
}

fn server() -> ServerConfigBuilder {
    let pki = sim_pki();
    ServerConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .certificate_pem(pki.server_cert_pem.as_bytes(), pki.server_key_pem.as_bytes())
        .unwrap()
        .rng_seed([2; 32])
}

/// Deliver what is still in flight after a failure (the alert), without a deadline.
fn drain(p: &mut Pair) {
    for _ in 0..100 {
        if !p.step() {
            break;
        }
    }
}

fn pair(c: ClientConfigBuilder, s: ServerConfigBuilder) -> Pair {
    Pair::new(c.build().unwrap(), s.build().unwrap(), LinkConfig::default(), LinkConfig::default(), 7)
}

#[test]
fn alpn_server_preference_wins() {
    let mut p = pair(client().alpn_protocols(&[b"coap", b"h2"]), server().alpn_protocols(&[b"h2", b"coap"]));
    p.expect_handshake(DEADLINE);
    assert_eq!(p.client.session().alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(p.server.session().alpn_protocol(), Some(&b"h2"[..]));
}

#[test]
fn alpn_without_overlap_fails_with_no_application_protocol() {
    let mut p = pair(client().alpn_protocols(&[b"coap"]), server().alpn_protocols(&[b"h2"]));
    assert!(p.handshake(DEADLINE).is_err());
    drain(&mut p);
    let e = p.server.error.clone().expect("server error");
    assert_eq!(e, Error::PeerIncompatible(PeerIncompatible::NoCommonApplicationProtocol));
    assert_eq!(p.client.error, Some(Error::AlertReceived(AlertDescription::NoApplicationProtocol)));
}

#[test]
fn alpn_ignored_when_server_has_none() {
    let mut p = pair(client().alpn_protocols(&[b"coap"]), server());
    p.expect_handshake(DEADLINE);
    assert_eq!(p.client.session().alpn_protocol(), None);
}

/// An application's ALPN choice: the client's *last* offer (which no preference list of the
/// server's could express for every offer), `Decline` for an offer of one, `Refuse` when
/// "refuse" is offered; it records every offer it saw.
#[derive(Debug, Default)]
struct LastOffer(Mutex<Vec<Vec<Vec<u8>>>>);

impl dtls_engine::AlpnSelector for LastOffer {
    fn select(&self, offered: &[Vec<u8>]) -> dtls_engine::AlpnChoice {
        self.0.lock().unwrap().push(offered.to_vec());
        match offered {
            [_] => dtls_engine::AlpnChoice::Decline,
            _ if offered.iter().any(|p| p == b"refuse") => dtls_engine::AlpnChoice::Refuse,
            _ => dtls_engine::AlpnChoice::Protocol(offered.len() - 1),
        }
    }
}

/// The selector decides in both versions, sees the client's offer in the client's order,
/// runs again on resumption (DTLS 1.2), declines and refuses; a configuration with both a
/// list and a selector is refused.
#[test]
fn alpn_selector_chooses_from_the_clients_offer() {
    use dtls_engine::ProtocolVersion::{Dtls12, Dtls13};
    for version in [Dtls12, Dtls13] {
        let selector = Arc::new(LastOffer::default());
        let scfg = server().max_version(version).alpn_selector(selector.clone()).build().unwrap();
        let ccfg = client()
            .max_version(version)
            .alpn_protocols(&[b"h2", b"coap", b"mqtt"])
            .resumption(dtls_engine::ClientSessionStore::new(4))
            .build()
            .unwrap();
        let mut p = Pair::new(ccfg.clone(), scfg.clone(), LinkConfig::default(), LinkConfig::default(), 7);
        p.expect_handshake(DEADLINE);
        assert_eq!(p.client.session().alpn_protocol(), Some(&b"mqtt"[..]), "{version:?}");
        assert_eq!(p.server.session().alpn_protocol(), Some(&b"mqtt"[..]), "{version:?}");
        let offer: Vec<Vec<u8>> = [&b"h2"[..], b"coap", b"mqtt"].iter().map(|p| p.to_vec()).collect();
        assert_eq!(*selector.0.lock().unwrap(), [offer], "{version:?}");
        if version == Dtls12 {
            // Resumption (the client configuration keeps the session): the selector chooses again.
            let mut p = Pair::new(ccfg, scfg.clone(), LinkConfig::default(), LinkConfig::default(), 8);
            p.expect_handshake(DEADLINE);
            assert!(p.client.session().is_resumed());
            assert_eq!(p.client.session().alpn_protocol(), Some(&b"mqtt"[..]));
            assert_eq!(selector.0.lock().unwrap().len(), 2);
        }
        // One protocol offered: declined, no ALPN agreed, the handshake goes on.
        let one = client().max_version(version).alpn_protocols(&[b"h2"]).build().unwrap();
        let mut p = Pair::new(one, scfg.clone(), LinkConfig::default(), LinkConfig::default(), 9);
        p.expect_handshake(DEADLINE);
        assert_eq!((p.client.session().alpn_protocol(), p.server.session().alpn_protocol()), (None, None));
        // Refused: no_application_protocol.
        let refused = client().max_version(version).alpn_protocols(&[b"h2", b"refuse"]).build().unwrap();
        let mut p = Pair::new(refused, scfg, LinkConfig::default(), LinkConfig::default(), 10);
        assert!(p.handshake(DEADLINE).is_err());
        drain(&mut p);
        assert_eq!(p.server.error, Some(Error::PeerIncompatible(PeerIncompatible::NoCommonApplicationProtocol)));
        assert_eq!(p.client.error, Some(Error::AlertReceived(AlertDescription::NoApplicationProtocol)));
    }
    // No offer: the selector is not asked.
    let selector = Arc::new(LastOffer::default());
    let mut p = pair(client(), server().alpn_selector(selector.clone()));
    p.expect_handshake(DEADLINE);
    assert!(selector.0.lock().unwrap().is_empty());
    let both = server().alpn_protocols(&[b"h2"]).alpn_selector(selector).build();
    assert!(matches!(both, Err(Error::InvalidConfig(_))), "{both:?}");
}

/// A selector's index past the offer's end refuses the handshake (no panic, no protocol the
/// client did not offer).
#[test]
fn alpn_selector_index_out_of_range_refuses() {
    #[derive(Debug)]
    struct Past;
    impl dtls_engine::AlpnSelector for Past {
        fn select(&self, offered: &[Vec<u8>]) -> dtls_engine::AlpnChoice {
            dtls_engine::AlpnChoice::Protocol(offered.len())
        }
    }
    let mut p = pair(client().alpn_protocols(&[b"h2"]), server().alpn_selector(Arc::new(Past)));
    assert!(p.handshake(DEADLINE).is_err());
    drain(&mut p);
    assert_eq!(p.client.error, Some(Error::AlertReceived(AlertDescription::NoApplicationProtocol)));
}

#[test]
fn srtp_profile_and_keys_agree() {
    for (ours, theirs, expect) in [
        (vec![P::SRTP_AES128_CM_SHA1_80], vec![P::SRTP_AES128_CM_SHA1_80], Some(P::SRTP_AES128_CM_SHA1_80)),
        (
            vec![P::SRTP_AEAD_AES_256_GCM, P::SRTP_AES128_CM_SHA1_32],
            vec![P::SRTP_AES128_CM_SHA1_32, P::SRTP_AEAD_AES_256_GCM],
            Some(P::SRTP_AEAD_AES_256_GCM),
        ),
        (vec![P::SRTP_AEAD_AES_128_GCM], vec![P::SRTP_AES128_CM_SHA1_80], None),
    ] {
        let mut p = pair(client().srtp_profiles(&theirs), server().srtp_profiles(&ours));
        p.expect_handshake(DEADLINE);
        assert_eq!(p.client.session().srtp_profile(), expect);
        assert_eq!(p.server.session().srtp_profile(), expect);
        match expect {
            Some(profile) => {
                let c = p.client.session().srtp_keying_material().unwrap();
                let s = p.server.session().srtp_keying_material().unwrap();
                assert_eq!(c, s);
                assert_eq!(c.profile, profile);
                let (k, salt) = match profile {
                    P::SRTP_AEAD_AES_256_GCM => (32, 12),
                    P::SRTP_AEAD_AES_128_GCM => (16, 12),
                    _ => (16, 14),
                };
                assert_eq!((c.client_key.len(), c.client_salt.len(), c.to_bytes().len()), (k, salt, 2 * (k + salt)));
            }
            None => {
                assert_eq!(p.client.session().srtp_keying_material(), Err(Error::SrtpNotNegotiated));
                assert_eq!(p.server.session().srtp_keying_material(), Err(Error::SrtpNotNegotiated));
            }
        }
    }
}

/// Before the handshake completes, SRTP keys are `HandshakeNotComplete` (also once the
/// client has the server's use_srtp answer but not yet its Finished); after a handshake
/// that agreed no profile (none configured), `SrtpNotNegotiated`. Neither is fatal.
#[test]
fn srtp_keying_material_before_the_handshake_and_without_a_profile() {
    let profiles = [P::SRTP_AEAD_AES_128_GCM];
    let mut p = pair(client().srtp_profiles(&profiles), server().srtp_profiles(&profiles));
    assert_eq!(p.client.session().srtp_keying_material(), Err(Error::HandshakeNotComplete));
    // The server endpoint has a session once the client's cookie verified.
    p.drive_until(DEADLINE, |p| p.server.accepted == 1).unwrap();
    for s in [p.client.session(), p.server.session()] {
        assert_eq!(s.srtp_keying_material(), Err(Error::HandshakeNotComplete));
    }
    p.drive_until(DEADLINE, |p| p.client.session().srtp_profile().is_some()).unwrap();
    assert!(!p.client.session().is_connected());
    assert_eq!(p.client.session().srtp_keying_material(), Err(Error::HandshakeNotComplete));
    p.expect_handshake(DEADLINE);
    assert_eq!(p.client.session().srtp_keying_material().unwrap(), p.server.session().srtp_keying_material().unwrap());

    let mut p = pair(client(), server());
    p.expect_handshake(DEADLINE);
    for s in [p.client.session(), p.server.session()] {
        assert_eq!(s.srtp_profile(), None);
        let e = s.srtp_keying_material().unwrap_err();
        assert_eq!(e, Error::SrtpNotNegotiated);
        assert_eq!(e.alert(), None);
        assert!(!s.is_closed());
    }
}

/// `require_srtp(true)` (RFC 5764 §4.1.1: a server for which falling back to DTLS without
/// SRTP is not acceptable answers with an alert): a server refuses a client that offers
/// none of its profiles, or no use_srtp at all; a client refuses a ServerHello without
/// use_srtp. Both with `NoCommonSrtpProfile` and a handshake_failure alert.
#[test]
fn require_srtp_fails_the_handshake_without_a_common_profile() {
    let ours = [P::SRTP_AEAD_AES_256_GCM, P::SRTP_AES128_CM_SHA1_80];
    let refused = Error::PeerIncompatible(PeerIncompatible::NoCommonSrtpProfile);
    let failure = Error::AlertReceived(AlertDescription::HandshakeFailure);

    // The server requires SRTP.
    for (what, offer) in [("no profile in common", Some(&[P::SRTP_AEAD_AES_128_GCM][..])), ("no use_srtp", None)] {
        let c = match offer {
            Some(offer) => client().srtp_profiles(offer),
            None => client(),
        };
        let mut p = pair(c, server().srtp_profiles(&ours).require_srtp(true));
        assert!(p.handshake(DEADLINE).is_err(), "{what}");
        drain(&mut p);
        let e = p.server.error.clone().expect("server error");
        assert_eq!(e, refused, "{what}");
        assert_eq!(e.alert(), Some(AlertDescription::HandshakeFailure), "{what}");
        assert_eq!(p.client.error, Some(failure.clone()), "{what}");
        assert!(!p.client.is_connected() && !p.server.is_connected(), "{what}");
    }

    // The client requires SRTP; the server answers without use_srtp.
    for (what, server_profiles) in [("no profile in common", &[P::SRTP_AEAD_AES_128_GCM][..]), ("no SRTP", &[][..])] {
        let s = if server_profiles.is_empty() { server() } else { server().srtp_profiles(server_profiles) };
        let mut p = pair(client().srtp_profiles(&ours).require_srtp(true), s);
        assert!(p.handshake(DEADLINE).is_err(), "{what}");
        drain(&mut p);
        let e = p.client.error.clone().expect("client error");
        assert_eq!(e, refused, "{what}");
        assert_eq!(e.alert(), Some(AlertDescription::HandshakeFailure), "{what}");
        assert_eq!(p.server.error, Some(failure.clone()), "{what}");
        assert!(!p.client.is_connected() && !p.server.is_connected(), "{what}");
    }

    // Off (the default), the same peers complete the handshake without SRTP.
    let mut p = pair(client().srtp_profiles(&ours).require_srtp(false), server());
    p.expect_handshake(DEADLINE);
    assert_eq!(p.client.session().srtp_profile(), None);

    // Required without profiles cannot be met: refused when building.
    assert!(matches!(client().require_srtp(true).build(), Err(Error::InvalidConfig(_))));
    assert!(matches!(server().require_srtp(true).build(), Err(Error::InvalidConfig(_))));
}

/// With a profile in common, `require_srtp` on both sides changes nothing: full and
/// resumed (abbreviated) handshakes agree a profile and keys.
#[test]
fn require_srtp_with_a_common_profile_connects_and_resumes() {
    let store = dtls_engine::ClientSessionStore::new(4);
    let c = client()
        .srtp_profiles(&[P::SRTP_AES128_CM_SHA1_80, P::SRTP_AEAD_AES_128_GCM])
        .require_srtp(true)
        .resumption(store)
        .build()
        .unwrap();
    let s = server().srtp_profiles(&[P::SRTP_AEAD_AES_128_GCM]).require_srtp(true).build().unwrap();
    for resumed in [false, true] {
        let mut p = Pair::new(c.clone(), s.clone(), LinkConfig::default(), LinkConfig::default(), 7);
        p.expect_handshake(DEADLINE);
        assert_eq!(p.client.session().is_resumed(), resumed);
        assert_eq!(p.server.session().is_resumed(), resumed);
        assert_eq!(p.client.session().srtp_profile(), Some(P::SRTP_AEAD_AES_128_GCM));
        let keys = p.client.session().srtp_keying_material().unwrap();
        assert_eq!(keys, p.server.session().srtp_keying_material().unwrap());
    }
}

#[test]
fn exporter_agrees_and_refuses_reserved_labels_and_early_use() {
    let mut p = pair(client(), server());
    let mut out = [0u8; 32];
    assert_eq!(
        p.client.session().export_keying_material(&mut out, b"EXPERIMENTAL-x", None),
        Err(Error::HandshakeNotComplete)
    );
    p.expect_handshake(DEADLINE);
    for ctx in [None, Some(&b""[..]), Some(&b"context"[..])] {
        let (mut a, mut b) = ([0u8; 100], [0u8; 100]);
        p.client.session().export_keying_material(&mut a, b"EXPERIMENTAL-x", ctx).unwrap();
        p.server.session().export_keying_material(&mut b, b"EXPERIMENTAL-x", ctx).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, [0u8; 100]);
    }
    let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
    p.client.session().export_keying_material(&mut a, b"EXPERIMENTAL-x", None).unwrap();
    p.client.session().export_keying_material(&mut b, b"EXPERIMENTAL-x", Some(b"")).unwrap();
    assert_ne!(a, b, "an empty context differs from no context (RFC 5705 §4)");
    for label in ["client finished", "server finished", "master secret", "key expansion", "extended master secret"] {
        assert_eq!(
            p.client.session().export_keying_material(&mut a, label.as_bytes(), None),
            Err(Error::ExporterRefused)
        );
    }
}

#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl KeyLog for Lines {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.0.lock().unwrap().push(dtls_engine::internals::format_line(label, client_random, secret));
    }
}

#[test]
fn key_log_lines_match_on_both_sides() {
    let (cl, sl) = (Arc::new(Lines::default()), Arc::new(Lines::default()));
    let mut p = pair(client().key_log(cl.clone()), server().key_log(sl.clone()));
    p.expect_handshake(DEADLINE);
    let (c, s) = (cl.0.lock().unwrap().clone(), sl.0.lock().unwrap().clone());
    assert_eq!(c.len(), 1);
    assert_eq!(c, s);
    assert!(c[0].starts_with("CLIENT_RANDOM ") && c[0].len() == 14 + 64 + 1 + 96);
}

#[test]
fn sni_selects_certificate_and_is_visible_to_the_server() {
    let pki = sim_pki();
    let s = server().sni_certificate_pem("rsa.test", pki.rsa_cert_pem.as_bytes(), pki.rsa_key_pem.as_bytes()).unwrap();
    let c = ClientConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .dangerous_accept_any_server_certificate()
        .server_name("rsa.test");
    let mut p = pair(c, s);
    p.expect_handshake(DEADLINE);
    assert_eq!(p.server.session().server_name(), Some("rsa.test"));
    let leaf = p.client.session().peer_certificates().unwrap()[0].clone();
    let rsa = dtls_engine::internals::crypto::load_certificates(pki.rsa_cert_pem.as_bytes()).unwrap();
    assert_eq!(leaf, rsa[0]);
    assert!(p.client.session().cipher().unwrap().standard_name.contains("RSA"));
}

#[test]
fn fingerprint_pinning() {
    let pki = sim_pki();
    let server_cert = dtls_engine::internals::crypto::load_certificates(pki.server_cert_pem.as_bytes()).unwrap();
    let good = fingerprint_sha256(&server_cert[0]);
    let mut p = pair(
        ClientConfig::builder().max_version(dtls_engine::ProtocolVersion::Dtls12).pin_fingerprint(&good).unwrap(),
        server(),
    );
    p.expect_handshake(DEADLINE);

    let bad = format!("sha-256 {}", ["00"; 32].join(":"));
    let mut p = pair(
        ClientConfig::builder().max_version(dtls_engine::ProtocolVersion::Dtls12).pin_fingerprint(&bad).unwrap(),
        server(),
    );
    assert!(p.handshake(DEADLINE).is_err());
    drain(&mut p);
    let e = p.client.error.clone().unwrap();
    assert_eq!(e, Error::InvalidCertificate(CertificateError::FingerprintMismatch));
    assert_eq!(e.alert(), Some(AlertDescription::BadCertificate));
    assert_eq!(p.server.error, Some(Error::AlertReceived(AlertDescription::BadCertificate)));
}

/// The server side of WebRTC-style pinning: the client is authenticated by its certificate's
/// fingerprint alone (no CA), and a client whose certificate does not match is refused.
#[test]
fn client_fingerprint_pinning() {
    let pki = sim_pki();
    let client_cert = dtls_engine::internals::crypto::load_certificates(pki.client_cert_pem.as_bytes()).unwrap();
    let pinned = |fingerprint: &str| {
        let pin = FingerprintVerifier::new(fingerprint).unwrap();
        server().client_auth(ClientAuth::Required(std::sync::Arc::new(pin)))
    };
    let with_cert = || client().client_certificate_pem(pki.client_cert_pem.as_bytes(), pki.client_key_pem.as_bytes());

    let mut p = pair(with_cert().unwrap(), pinned(&fingerprint_sha256(&client_cert[0])));
    p.expect_handshake(DEADLINE);
    assert_eq!(p.server.session().peer_certificates().unwrap()[0], client_cert[0]);

    let bad = format!("sha-256 {}", ["00"; 32].join(":"));
    let mut p = pair(with_cert().unwrap(), pinned(&bad));
    assert!(p.handshake(DEADLINE).is_err());
    drain(&mut p);
    let e = p.server.error.clone().unwrap();
    assert_eq!(e, Error::InvalidCertificate(CertificateError::FingerprintMismatch));
    assert_eq!(e.alert(), Some(AlertDescription::BadCertificate));
    assert_eq!(p.client.error, Some(Error::AlertReceived(AlertDescription::BadCertificate)));
}

/// A server key given as DER through the crate's own `PrivateKeyDer` (re-exported, so no
/// direct dependency on rustls-pki-types is needed) and `SigningKey::from_der`.
#[test]
fn server_key_from_der_through_the_reexported_private_key_der() {
    let pki = sim_pki();
    let chain = dtls_engine::internals::crypto::load_certificates(pki.server_cert_pem.as_bytes()).unwrap();
    let der = rcgen::KeyPair::from_pem(&pki.server_key_pem).unwrap().serialize_der();
    let key: dtls_engine::PrivateKeyDer<'static> = dtls_engine::PrivateKeyDer::try_from(der).unwrap();
    let key = dtls_engine::SigningKey::from_der(key).unwrap();
    let s = ServerConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .certificate(chain.clone(), key)
        .rng_seed([2; 32]);
    let mut p = pair(client(), s);
    p.expect_handshake(DEADLINE);
    assert_eq!(p.client.session().peer_certificates().unwrap()[0], chain[0]);
}

/// `cipher_suites` takes only suites this engine implements: an unsupported one (a CBC
/// suite, or the renegotiation SCSV, which names no suite) is not dropped but refused by
/// `build()`.
#[test]
fn cipher_suites_refuses_unsupported_suites() {
    use dtls_engine::CipherSuite as S;
    let supported = S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    for unsupported in [S::Unknown(0xc023), S::TLS_EMPTY_RENEGOTIATION_INFO_SCSV] {
        let e = client().cipher_suites(&[supported, unsupported]).build().unwrap_err();
        assert!(matches!(e, Error::InvalidConfig(_)), "{e:?}");
        let e = server().cipher_suites(&[unsupported, supported]).build().unwrap_err();
        assert!(matches!(e, Error::InvalidConfig(_)), "{e:?}");
    }
    let mut p = pair(client().cipher_suites(&[supported]), server().cipher_suites(&[supported]));
    p.expect_handshake(DEADLINE);
    assert_eq!(p.client.session().cipher_suite(), Some(supported));
}

#[test]
fn suites_and_groups_by_name() {
    let mut p = pair(
        client().cipher_suites_by_name(&["ECDHE-ECDSA-CHACHA20-POLY1305"]).groups_by_name(&["prime256v1"]),
        server()
            .cipher_suites_by_name(&["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"]),
    );
    p.expect_handshake(DEADLINE);
    let c = p.client.session().cipher().unwrap();
    assert_eq!(
        (c.name, c.standard_name, c.version),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "DTLSv1.2")
    );
    assert_eq!(p.server.session().negotiated_group(), Some(dtls_engine::NamedGroup::Secp256r1));
    assert_eq!(p.client.session().protocol(), "DTLSv1.2");
    assert!(p.client.session().peer_certificate_pem().unwrap().starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(client().cipher_suites_by_name(&["RC4-MD5"]).build().is_err());
    assert!(client().groups_by_name(&["brainpool"]).build().is_err());
}

/// A peer that vanishes after the handshake must not pin a session forever: with an idle
/// timeout configured, the session ends with `IdleTimeout` once nothing authentic arrived
/// for that long, and authentic traffic keeps it alive.
#[test]
fn idle_timeout_ends_a_silent_session() {
    let mut p = pair(client(), server().idle_timeout(Duration::from_secs(30)));
    p.expect_handshake(DEADLINE);
    let start = p.elapsed();
    // Traffic every 20 s keeps the server session alive past 30 s.
    for _ in 0..3 {
        p.now += Duration::from_secs(20);
        p.client.session_mut().send(b"ping").unwrap();
        p.drive_until(p.elapsed() + Duration::from_secs(1), |p| p.server.app_data.len() == 1).unwrap();
        p.server.app_data.clear();
    }
    assert!(p.server.error.is_none(), "{:?}", p.server.error);
    assert!(p.elapsed() - start >= Duration::from_secs(60));
    // Then silence: the server gives up 30 s after the last record.
    let r = p.drive_until(p.elapsed() + Duration::from_secs(40), |p| p.server.error.is_some());
    assert!(r.is_err() || p.server.error.is_some());
    assert_eq!(p.server.error, Some(Error::IdleTimeout));
    assert!(p.client.error.is_none());
}

/// Bounds: an application that never drains cannot make a session grow without limit.
/// `send` refuses beyond the queue cap (not fatal), and received records beyond the event
/// cap are dropped and counted.
#[test]
fn queues_are_bounded() {
    let mut p = pair(client().queue_limit(4), server().queue_limit(4));
    p.expect_handshake(DEADLINE);
    for _ in 0..4 {
        p.client.session_mut().send(b"x").unwrap();
    }
    assert_eq!(p.client.session_mut().send(b"x"), Err(Error::SendQueueFull));
    // Drained: sending works again.
    while p.client.session_mut().poll_transmit().is_some() {}
    p.client.session_mut().send(b"x").unwrap();

    // The server's application never polls events: four records queue, the rest drop.
    let mut wire = Vec::new();
    let now = p.now;
    let before = p.server.session().stats().records_dropped;
    while p.server.session_mut().poll_event().is_some() {}
    for _ in 0..10 {
        while p.client.session_mut().poll_transmit_into(&mut wire).is_some() {
            p.server.session_mut().handle(now, &wire).unwrap();
        }
        let _ = p.client.session_mut().send(b"y");
    }
    let delivered = std::iter::from_fn(|| p.server.session_mut().poll_event()).count();
    assert_eq!(delivered, 4);
    assert!(p.server.session().stats().records_dropped - before >= 6);
}

/// `verify_signature_schemes`: a client accepting only ECDSA P-384/SHA-384 offers only that
/// in signature_algorithms, so a server whose key is P-256 has no scheme to sign with
/// (handshake_failure); accepting P-256/SHA-256 works. A server restricting client
/// CertificateVerify schemes lists only those in its CertificateRequest, and a client key
/// that cannot use them sends no certificate, which a server requiring one refuses.
#[test]
fn verify_signature_schemes_restrict_what_is_offered_and_accepted() {
    use dtls_engine::SignatureScheme as S;
    let mut p = pair(client().verify_signature_schemes(&[S::ECDSA_NISTP384_SHA384]), server());
    assert!(p.handshake(DEADLINE).is_err());
    drain(&mut p);
    assert_eq!(p.server.error, Some(Error::PeerIncompatible(PeerIncompatible::NoCommonCipherSuite)));

    let mut p = pair(client().verify_signature_schemes(&[S::ECDSA_NISTP256_SHA256]), server());
    p.expect_handshake(DEADLINE);

    let pki = sim_pki();
    let mutual = |schemes: &[S]| {
        pair(
            client().client_certificate_pem(pki.client_cert_pem.as_bytes(), pki.client_key_pem.as_bytes()).unwrap(),
            server().require_client_certificate_pem(pki.ca_pem.as_bytes()).unwrap().verify_signature_schemes(schemes),
        )
    };
    mutual(&[S::ECDSA_NISTP256_SHA256]).expect_handshake(DEADLINE);
    let mut p = mutual(&[S::RSA_PSS_RSAE_SHA256]);
    assert!(p.handshake(DEADLINE).is_err());
    drain(&mut p);
    assert_eq!(p.server.error, Some(Error::PeerIncompatible(PeerIncompatible::CertificateRequired)));

    assert!(client().verify_signature_schemes(&[S::from(0x0904)]).build().is_err(), "ML-DSA is not supported");
    assert!(client().verify_signature_schemes(&[]).build().is_err());
}
