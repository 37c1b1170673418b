//! Browser-shaped ClientHellos through a real server `Endpoint` (vectors in
//! `vectors/hellos/`, described in its README).
//!
//! What this proves:
//! - The committed vectors have the structure the README describes (GREASE, TLS 1.3 and 1.2
//!   suites, supported_versions {DTLS 1.3, DTLS 1.2}, key shares, ML-DSA signature
//!   algorithms, the 1,216-byte X25519MLKEM768 share), parsed by the crate's own codec.
//! - A 2026 Chrome-shaped and a Firefox 148-shaped hello, sent from an unknown address and
//!   fragmented as a client at MTU 1200 or 256 would, get a HelloVerifyRequest from their
//!   first fragment alone, with no session, timer or event on the server; the other
//!   fragments from the still-unknown address are dropped.
//! - The hello repeated with the cookie (keeping the DTLS 1.3 extensions, or without
//!   key_share, supported_versions and psk_key_exchange_modes) creates one half-open
//!   session from its first fragment; the session reassembles the rest, answers with a DTLS
//!   1.2 ServerHello (version 0xfefd, an ECDHE suite, no RFC 8446 downgrade sentinel in
//!   server_random) and completes the handshake with a scripted client: the server reports
//!   Connected, its Finished verifies against our transcript, and application data flows
//!   both ways.
//! - Negative cases: a non-first fragment from an unknown address, or a first fragment too
//!   short to hold compression_methods, creates nothing; a first fragment with a valid cookie
//!   creates exactly one session; valid-cookie first fragments from many addresses stop at
//!   `max_half_open`, counted in `half_open_rejections`, and a completed handshake frees
//!   its slot.

mod sim;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use dtls_engine::internals::codec::Codec;
use dtls_engine::internals::record::protection::RecordLayer;
use dtls_engine::internals::wire::handshake_header::{HandshakeHeader, encode_fragment};
use dtls_engine::internals::wire::{ClientHello, ContentType, DTLS_1_2, Extension, ExtensionType, HandshakeType};
use dtls_engine::{
    CipherSuite, Endpoint, EndpointConfig, EndpointEvent, ServerConfig, SignatureScheme, SrtpProtectionProfile,
};
use sim::hello_client::{
    HANDSHAKE_HEADER_LEN, HelloClient, RECORD_HEADER_LEN, extension_types, extensions, hello_datagrams, hello_layout,
    hello_verify_cookie, unhex, with_cookie, without_extensions,
};

const CHROME_HEX: &str = include_str!("../vectors/hellos/chrome-2026.hex");
const FIREFOX_HEX: &str = include_str!("../vectors/hellos/firefox-148.hex");

const SUPPORTED_GROUPS: u16 = 0x000a;
const SIGNATURE_ALGORITHMS: u16 = 0x000d;
const USE_SRTP: u16 = 0x000e;
const PADDING: u16 = 0x0015;
const EXTENDED_MASTER_SECRET: u16 = 0x0017;
const SUPPORTED_VERSIONS: u16 = 0x002b;
const PSK_KEY_EXCHANGE_MODES: u16 = 0x002d;
const KEY_SHARE: u16 = 0x0033;
const RENEGOTIATION_INFO: u16 = 0xff01;
/// The extensions a client that falls back to DTLS 1.2 after a HelloVerifyRequest drops.
const DTLS13_ONLY: [u16; 3] = [KEY_SHARE, SUPPORTED_VERSIONS, PSK_KEY_EXCHANGE_MODES];
const X25519MLKEM768: u16 = 0x11ec;
const X25519: u16 = 0x001d;

/// RFC 8446 §4.1.3: the last 8 bytes of a TLS 1.3 server's random when it negotiates
/// TLS 1.2 (…01) or below (…00).
const DOWNGRADE_TLS12: [u8; 8] = [0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01];
const DOWNGRADE_TLS11: [u8; 8] = [0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x00];

fn chrome() -> Vec<u8> {
    unhex(CHROME_HEX)
}

fn firefox() -> Vec<u8> {
    unhex(FIREFOX_HEX)
}

/// RFC 8701 §2: 0x?A?A with both bytes equal.
fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

fn u16s(data: &[u8]) -> Vec<u16> {
    data.chunks(2).map(|p| u16::from_be_bytes([p[0], p[1]])).collect()
}

/// The entries of a key_share extension_data (RFC 8446 §4.2.8): (group, share length).
fn key_shares(data: &[u8]) -> Vec<(u16, usize)> {
    let list = &data[2..];
    assert_eq!(usize::from(u16::from_be_bytes([data[0], data[1]])), list.len());
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < list.len() {
        let group = u16::from_be_bytes([list[pos], list[pos + 1]]);
        let len = usize::from(u16::from_be_bytes([list[pos + 2], list[pos + 3]]));
        out.push((group, len));
        pos += 4 + len;
    }
    assert_eq!(pos, list.len());
    out
}

fn ext_data(body: &[u8], typ: u16) -> Vec<u8> {
    extensions(body).into_iter().find(|(t, _)| *t == typ).map(|(_, d)| d).unwrap_or_else(|| panic!("no {typ:#06x}"))
}

// ---------------------------------------------------------------------------------------
// The server

fn cert() -> &'static (String, String) {
    static CERT: OnceLock<(String, String)> = OnceLock::new();
    CERT.get_or_init(|| {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
        (c.cert.pem(), c.signing_key.serialize_pem())
    })
}

/// An ECDSA P-256 server offering DTLS-SRTP, as a WebRTC peer would, at `mtu`.
fn server_config(mtu: usize) -> Arc<ServerConfig> {
    let (cert, key) = cert();
    ServerConfig::builder()
        .max_version(dtls_engine::ProtocolVersion::Dtls12)
        .certificate_pem(cert.as_bytes(), key.as_bytes())
        .expect("server certificate")
        .srtp_profiles(&[SrtpProtectionProfile::SRTP_AEAD_AES_128_GCM, SrtpProtectionProfile::SRTP_AES128_CM_SHA1_80])
        .mtu(mtu)
        .rng_seed([1; 32])
        .build()
        .expect("server config")
}

fn server_endpoint(mtu: usize, f: impl FnOnce(&mut EndpointConfig)) -> Endpoint {
    let mut config = EndpointConfig { server: Some(server_config(mtu)), rng_seed: Some([3; 32]), ..Default::default() };
    f(&mut config);
    Endpoint::new(Instant::now(), config)
}

fn peer(i: u32) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(0xc633_6400 + i), 40_000 + (i % 1000) as u16))
}

fn fragments_at(len: usize, mtu: usize) -> usize {
    len.div_ceil(mtu - RECORD_HEADER_LEN - HANDSHAKE_HEADER_LEN)
}

// ---------------------------------------------------------------------------------------
// The vectors

#[test]
fn chrome_vector_has_the_described_shape() {
    let body = chrome();
    let hello = ClientHello::read_all(&body).expect("the crate's codec parses it");
    assert_eq!(hello.client_version, DTLS_1_2);
    assert!(hello.session_id.is_empty() && hello.cookie.is_empty());
    assert_eq!(hello.compression_methods, vec![0]);
    let suites: Vec<u16> = hello.cipher_suites.iter().map(|s| u16::from(*s)).collect();
    assert!(is_grease(suites[0]), "GREASE suite first: {suites:04x?}");
    assert_eq!(&suites[1..4], &[0x1301, 0x1302, 0x1303]);
    for s in [0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8] {
        assert!(suites.contains(&s), "{s:#06x}");
    }

    let types = extension_types(&body);
    assert!(is_grease(types[0]), "GREASE extension first: {types:04x?}");
    assert_eq!(types[types.len() - 1], PADDING);
    assert!(is_grease(types[types.len() - 2]), "GREASE extension last before padding");
    assert_ne!(types[0], types[types.len() - 2]);
    let mut unique = types.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), types.len(), "no extension twice");
    // Permuted: not in the ascending order of type codes a fixed-order stack might use.
    let inner = &types[1..types.len() - 2];
    assert!(inner.windows(2).any(|w| w[0] > w[1]), "{inner:04x?}");
    for t in [
        USE_SRTP,
        SUPPORTED_VERSIONS,
        KEY_SHARE,
        SUPPORTED_GROUPS,
        RENEGOTIATION_INFO,
        SIGNATURE_ALGORITHMS,
        0x000b,
        EXTENDED_MASTER_SECRET,
        PSK_KEY_EXCHANGE_MODES,
    ] {
        assert!(types.contains(&t), "{t:#06x} missing");
    }

    let versions = ext_data(&body, SUPPORTED_VERSIONS);
    let versions = u16s(&versions[1..]);
    assert!(is_grease(versions[0]));
    assert_eq!(&versions[1..], &[0xfefc, 0xfefd]);
    let groups = u16s(&ext_data(&body, SUPPORTED_GROUPS)[2..]);
    assert!(is_grease(groups[0]));
    assert_eq!(&groups[1..], &[X25519, 0x0017, 0x0018]);
    let shares = key_shares(&ext_data(&body, KEY_SHARE));
    assert_eq!(shares.len(), 2);
    assert!(is_grease(shares[0].0) && shares[0].1 == 1);
    assert_eq!(shares[1], (X25519, 32));
    let Some(Extension::SignatureAlgorithms(schemes)) =
        hello.extensions.iter().find(|e| e.ext_type() == ExtensionType::SignatureAlgorithms)
    else {
        panic!("signature_algorithms")
    };
    let codes: Vec<u16> = schemes.iter().map(|s| u16::from(*s)).collect();
    assert!(is_grease(codes[0]));
    assert!(codes.contains(&0x0904) && codes.contains(&0x0905) && codes.contains(&0x0906), "ML-DSA");
    assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP256_SHA256));
    // One 256-byte datagram cannot carry it, one 1200-byte datagram can.
    assert_eq!(fragments_at(body.len(), 256), 2);
    assert_eq!(fragments_at(body.len(), 1200), 1);
}

#[test]
fn firefox_vector_has_the_described_shape() {
    let body = firefox();
    let hello = ClientHello::read_all(&body).expect("the crate's codec parses it");
    assert_eq!(hello.client_version, DTLS_1_2);
    assert!(hello.session_id.is_empty() && hello.cookie.is_empty());
    let suites: Vec<u16> = hello.cipher_suites.iter().map(|s| u16::from(*s)).collect();
    assert_eq!(&suites[..3], &[0x1301, 0x1303, 0x1302]);
    assert!(suites.contains(&u16::from(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)));
    assert!(!suites.iter().any(|s| is_grease(*s)));

    let types = extension_types(&body);
    assert!(!types.iter().any(|t| is_grease(*t)));
    for t in DTLS13_ONLY.iter().chain(&[USE_SRTP, EXTENDED_MASTER_SECRET, RENEGOTIATION_INFO, 0x001c]) {
        assert!(types.contains(t), "{t:#06x} missing");
    }
    let shares = key_shares(&ext_data(&body, KEY_SHARE));
    assert_eq!(shares, vec![(X25519MLKEM768, 1216), (X25519, 32)]);
    let groups = u16s(&ext_data(&body, SUPPORTED_GROUPS)[2..]);
    assert_eq!(&groups[..2], &[X25519MLKEM768, X25519]);
    let versions = ext_data(&body, SUPPORTED_VERSIONS);
    assert_eq!(u16s(&versions[1..]), vec![0xfefc, 0xfefd]);
    // About 1.5 KB: two datagrams at MTU 1200, seven at 256.
    assert!((1300..1600).contains(&body.len()), "{} bytes", body.len());
    assert_eq!(fragments_at(body.len(), 1200), 2);
    assert_eq!(fragments_at(body.len(), 256), 7);
}

// ---------------------------------------------------------------------------------------
// Full handshakes

#[derive(Clone, Copy, Debug)]
enum Second {
    /// The second hello is the first with the cookie inserted.
    KeepAll,
    /// ... and without key_share, supported_versions and psk_key_exchange_modes.
    Drop13,
}

/// Send `body` through a server endpoint as a client at `mtu` would, then complete the
/// handshake. Every assertion of the module documentation's second and third points.
fn handshake(name: &str, body: &[u8], mtu: usize, second: Second) {
    let what = format!("{name} at MTU {mtu}, {second:?}");
    let me: SocketAddr = "198.51.100.7:50000".parse().unwrap();
    let mut c = HelloClient::new(server_endpoint(mtu, |_| {}), me, mtu, Instant::now());

    // Flight 1: only the first fragment reaches the server first.
    let first = c.prepare_hello(body, 0);
    assert_eq!(first.len(), fragments_at(body.len(), mtu), "{what}");
    let fragmented = first.len() > 1;
    c.deliver(&first[0]);
    assert_eq!(c.cookies.len(), 1, "{what}: a HelloVerifyRequest from the first fragment alone");
    assert_eq!(c.received.len(), 1, "{what}");
    assert!(c.received[0].len() <= first[0].len(), "{what}: HVR larger than what it answers");
    assert_eq!(hello_verify_cookie(&c.received[0]).as_ref(), Some(&c.cookies[0]));
    assert_eq!(c.endpoint.session_count(), 0, "{what}");
    assert_eq!(c.endpoint.half_open_count(), 0, "{what}");
    assert_eq!(c.endpoint.poll_timeout(), None, "{what}: no timer for a stateless answer");
    assert!(c.events.is_empty(), "{what}");
    assert_eq!(c.endpoint.stats().fragmented_hellos, u64::from(fragmented), "{what}");
    // The rest of the flight follows, as a real client sends it: nothing to keep.
    for d in &first[1..] {
        c.deliver(d);
    }
    assert_eq!(c.endpoint.stats().datagrams_dropped, first.len() as u64 - 1, "{what}");
    assert_eq!((c.endpoint.session_count(), c.received.len()), (0, 1), "{what}");

    // Flight 3: the hello again, with the cookie.
    let cookie = c.cookies[0].clone();
    let mut again = with_cookie(body, &cookie);
    if let Second::Drop13 = second {
        again = without_extensions(&again, &DTLS13_ONLY);
        assert!(extension_types(&again).iter().all(|t| !DTLS13_ONLY.contains(t)));
    }
    let third = c.prepare_hello(&again, 1);
    assert_eq!(third.len(), fragments_at(again.len(), mtu), "{what}");
    // Without its 1.3 extensions the hello may fit in one datagram where it did not before.
    let third_fragmented = third.len() > 1;
    c.deliver(&third[0]);
    assert_eq!(c.endpoint.session_count(), 1, "{what}: the verified first fragment makes the session");
    assert_eq!(c.endpoint.half_open_count(), 1, "{what}");
    assert!(matches!(c.events.first(), Some((_, EndpointEvent::Accepted))), "{what}: {:?}", c.events);
    if third_fragmented {
        assert_eq!(c.received.len(), 1, "{what}: nothing before the hello is whole");
        for d in &third[1..] {
            c.deliver(d);
        }
    }
    assert_eq!(c.endpoint.stats().hello_verify_requests_sent, 1, "{what}");
    assert_eq!(c.endpoint.stats().fragmented_hellos, u64::from(fragmented) + u64::from(third_fragmented), "{what}");
    assert!(c.received.len() > 1, "{what}: no flight 4");
    for d in &c.received {
        assert!(d.len() <= mtu, "{what}: a {}-byte datagram at MTU {mtu}", d.len());
    }

    // Flight 4: a DTLS 1.2 ServerHello.
    let sh = c.read_flight_4();
    assert_eq!(sh.server_version, 0xfefd, "{what}");
    assert!(
        [
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ]
        .contains(&sh.cipher_suite),
        "{what}: {:?}",
        sh.cipher_suite
    );
    let tail: [u8; 8] = sh.random[24..].try_into().unwrap();
    assert_ne!(tail, DOWNGRADE_TLS12, "{what}: TLS 1.3 downgrade sentinel");
    assert_ne!(tail, DOWNGRADE_TLS11, "{what}: TLS 1.3 downgrade sentinel");
    let sh_types: Vec<u16> = sh.extensions.iter().map(|e| u16::from(e.ext_type())).collect();
    for t in [EXTENDED_MASTER_SECRET, RENEGOTIATION_INFO, USE_SRTP] {
        assert!(sh_types.contains(&t), "{what}: ServerHello lacks {t:#06x}: {sh_types:04x?}");
    }
    for t in DTLS13_ONLY {
        assert!(!sh_types.contains(&t), "{what}: a DTLS 1.2 ServerHello with {t:#06x}");
    }
    let offered = u16s(&ext_data(body, USE_SRTP)[2..10]);
    let Some(Extension::UseSrtp { profiles, .. }) =
        sh.extensions.iter().find(|e| e.ext_type() == ExtensionType::UseSrtp)
    else {
        panic!("{what}: use_srtp")
    };
    assert!(profiles.len() == 1 && offered.contains(&u16::from(profiles[0])), "{what}: {profiles:?}");

    // Flights 5 and 6.
    c.send_flight_5();
    assert!(c.server_connected(), "{what}: server not connected; events {:?}, alerts {:?}", c.events, c.alerts);
    assert!(c.server_finished_verifies(), "{what}: the server's Finished does not match our transcript");
    assert_eq!(c.undecryptable, 0, "{what}");
    assert_eq!(c.endpoint.half_open_count(), 0, "{what}");
    let h = c.session().expect("session");
    let session = c.endpoint.session(h).expect("session");
    assert_eq!(session.cipher_suite(), Some(sh.cipher_suite));
    assert_eq!(session.negotiated_group(), Some(dtls_engine::NamedGroup::X25519), "{what}");
    assert!(session.extended_master_secret());

    // Application data both ways.
    c.send_app(b"from the browser");
    assert_eq!(c.server_received(), vec![b"from the browser".to_vec()], "{what}");
    c.endpoint.send(h, b"from the server").expect("server send");
    c.collect();
    assert_eq!(c.app_data, vec![b"from the server".to_vec()], "{what}");
    assert!(c.alerts.is_empty(), "{what}: {:?}", c.alerts);
}

#[test]
fn chrome_2026_at_mtu_1200() {
    handshake("chrome-2026", &chrome(), 1200, Second::KeepAll);
    handshake("chrome-2026", &chrome(), 1200, Second::Drop13);
}

#[test]
fn chrome_2026_at_mtu_256() {
    handshake("chrome-2026", &chrome(), 256, Second::KeepAll);
    handshake("chrome-2026", &chrome(), 256, Second::Drop13);
}

#[test]
fn firefox_148_at_mtu_1200_in_two_datagrams() {
    handshake("firefox-148", &firefox(), 1200, Second::KeepAll);
    handshake("firefox-148", &firefox(), 1200, Second::Drop13);
}

#[test]
fn firefox_148_at_mtu_256() {
    handshake("firefox-148", &firefox(), 256, Second::KeepAll);
    handshake("firefox-148", &firefox(), 256, Second::Drop13);
}

// ---------------------------------------------------------------------------------------
// Negative cases

/// A datagram with one record holding the first `prefix` bytes of `body` as the fragment at
/// offset 0 of a ClientHello of `body.len()` bytes.
fn first_fragment(records: &mut RecordLayer, body: &[u8], prefix: usize) -> Vec<u8> {
    let header = HandshakeHeader {
        msg_type: HandshakeType::ClientHello,
        length: body.len() as u32,
        message_seq: 0,
        fragment_offset: 0,
        fragment_length: prefix as u32,
    };
    let mut payload = Vec::new();
    encode_fragment(&header, &body[..prefix], &mut payload);
    let mut datagram = Vec::new();
    records.seal(0, ContentType::Handshake, &payload, &mut datagram).unwrap();
    datagram
}

/// The cookie the endpoint gives `from` for `body` (whose first fragment at `mtu` it sees).
fn cookie_for(endpoint: &mut Endpoint, from: SocketAddr, body: &[u8], mtu: usize) -> Vec<u8> {
    let first = hello_datagrams(&mut RecordLayer::new(), body, 0, mtu);
    endpoint.handle(Instant::now(), from, &first[0]);
    let hvr = endpoint.poll_transmit().expect("a HelloVerifyRequest");
    assert_eq!(hvr.destination, from);
    hello_verify_cookie(&hvr.contents).expect("a cookie")
}

#[test]
fn non_first_fragment_from_unknown_address_creates_nothing() {
    let mut server = server_endpoint(1200, |_| {});
    let datagrams = hello_datagrams(&mut RecordLayer::new(), &firefox(), 0, 1200);
    assert_eq!(datagrams.len(), 2);
    server.handle(Instant::now(), peer(1), &datagrams[1]);
    assert_eq!(server.stats().datagrams_dropped, 1);
    assert_eq!(server.stats().hello_verify_requests_sent, 0);
    assert_eq!(server.stats().fragmented_hellos, 0);
    assert_eq!(server.session_count(), 0);
    assert!(server.poll_transmit().is_none() && server.poll_event().is_none());
    assert_eq!(server.poll_timeout(), None);

    // Also when it carries the cookie-bearing hello's tail, after a cookie was issued.
    let cookie = cookie_for(&mut server, peer(2), &firefox(), 1200);
    let again = hello_datagrams(&mut RecordLayer::new(), &with_cookie(&firefox(), &cookie), 1, 1200);
    server.handle(Instant::now(), peer(2), &again[1]);
    assert_eq!(server.stats().datagrams_dropped, 2);
    assert_eq!(server.session_count(), 0);
    assert!(server.poll_transmit().is_none() && server.poll_event().is_none());
}

#[test]
fn first_fragment_without_compression_methods_creates_nothing() {
    for body in [chrome(), firefox()] {
        let layout = hello_layout(&body);
        let mut server = server_endpoint(1200, |_| {});
        let mut records = RecordLayer::new();
        // Ending inside cipher_suites, and one byte short of compression_methods' end.
        for (n, prefix) in [layout.cookie_len_at + 10, layout.pinned_end - 1].into_iter().enumerate() {
            server.handle(Instant::now(), peer(1), &first_fragment(&mut records, &body, prefix));
            assert_eq!(server.stats().datagrams_dropped, n as u64 + 1);
        }
        // With a valid cookie, cut just as short: still nothing.
        let cookie = cookie_for(&mut server, peer(2), &body, 1200);
        let again = with_cookie(&body, &cookie);
        let short = first_fragment(&mut records, &again, hello_layout(&again).pinned_end - 1);
        server.handle(Instant::now(), peer(2), &short);
        assert_eq!(server.stats().datagrams_dropped, 3);
        assert_eq!(server.stats().hello_verify_requests_sent, 1);
        assert_eq!(server.session_count(), 0);
        assert_eq!(server.half_open_count(), 0);
        assert!(server.poll_transmit().is_none() && server.poll_event().is_none());
        // The shortest acceptable first fragment ends exactly with compression_methods.
        let exact = first_fragment(&mut records, &body, layout.pinned_end);
        server.handle(Instant::now(), peer(3), &exact);
        assert!(server.poll_transmit().is_some_and(|t| hello_verify_cookie(&t.contents).is_some()));
    }
}

#[test]
fn first_fragment_with_valid_cookie_creates_exactly_one_session() {
    let mut server = server_endpoint(1200, |_| {});
    let body = firefox();
    let cookie = cookie_for(&mut server, peer(1), &body, 1200);
    let mut records = RecordLayer::new();
    let again = hello_datagrams(&mut records, &with_cookie(&body, &cookie), 1, 1200);
    server.handle(Instant::now(), peer(1), &again[0]);
    assert_eq!(server.session_count(), 1);
    assert_eq!(server.half_open_count(), 1);
    assert_eq!(server.stats().server_sessions, 1);
    assert!(matches!(server.poll_event(), Some((_, EndpointEvent::Accepted))));
    assert!(server.poll_event().is_none());
    assert!(server.poll_transmit().is_none(), "nothing to say before the hello is whole");
    assert!(server.poll_timeout().is_some(), "the half-open session has its handshake deadline");
    // The same first fragment again (a retransmission) goes to that session.
    server.handle(Instant::now(), peer(1), &again[0]);
    assert_eq!((server.session_count(), server.half_open_count(), server.stats().server_sessions), (1, 1, 1));
    assert!(server.poll_event().is_none());
}

#[test]
fn valid_cookie_first_fragments_stop_at_max_half_open() {
    const MAX_HALF_OPEN: usize = 8;
    const PEERS: u32 = 40;
    let mtu = 1200;
    let body = firefox();
    let me = peer(0);
    let endpoint = server_endpoint(mtu, |c| c.max_half_open = MAX_HALF_OPEN);
    let mut c = HelloClient::new(endpoint, me, mtu, Instant::now());

    // Our scripted client takes the first slot and holds it (its hello is not whole yet).
    c.send_hello(&body, 0);
    let with = with_cookie(&body, &c.cookies[0]);
    let ours = c.prepare_hello(&with, 1);
    c.deliver(&ours[0]);
    assert_eq!(c.endpoint.half_open_count(), 1);

    // Everyone else: a cookie, then the first fragment with it, never the rest.
    let mut refused = Vec::new();
    for i in 1..PEERS {
        let from = peer(i);
        let cookie = cookie_for(&mut c.endpoint, from, &body, mtu);
        let datagrams = hello_datagrams(&mut RecordLayer::new(), &with_cookie(&body, &cookie), 1, mtu);
        c.endpoint.handle(Instant::now(), from, &datagrams[0]);
        assert!(c.endpoint.poll_transmit().is_none(), "peer {i} got an answer");
        assert!(c.endpoint.half_open_count() <= MAX_HALF_OPEN);
        if c.endpoint.handle_for(from).is_none() {
            refused.push(datagrams[0].clone());
        }
    }
    let stats = c.endpoint.stats().clone();
    assert_eq!(c.endpoint.half_open_count(), MAX_HALF_OPEN);
    assert_eq!(c.endpoint.session_count(), MAX_HALF_OPEN);
    assert_eq!(stats.server_sessions, MAX_HALF_OPEN as u64);
    assert_eq!(stats.half_open_rejections, u64::from(PEERS) - MAX_HALF_OPEN as u64);
    assert_eq!(refused.len(), PEERS as usize - MAX_HALF_OPEN);
    let accepted =
        std::iter::from_fn(|| c.endpoint.poll_event()).filter(|(_, e)| matches!(e, EndpointEvent::Accepted)).count();
    assert_eq!(accepted, MAX_HALF_OPEN - 1, "besides ours, whose event the client already took");

    // Our handshake completes: its slot is free, and one refused peer's retransmitted first
    // fragment now gets in.
    for d in &ours[1..] {
        c.deliver(d);
    }
    c.read_flight_4();
    c.send_flight_5();
    assert!(c.server_connected());
    assert_eq!(c.endpoint.half_open_count(), MAX_HALF_OPEN - 1);
    let retry_from = peer(MAX_HALF_OPEN as u32);
    assert!(c.endpoint.handle_for(retry_from).is_none());
    c.endpoint.handle(Instant::now(), retry_from, &refused[0]);
    assert!(c.endpoint.handle_for(retry_from).is_some());
    assert_eq!(c.endpoint.half_open_count(), MAX_HALF_OPEN);
    assert_eq!(c.endpoint.stats().half_open_rejections, stats.half_open_rejections);
}
