//! Compiled only under `#[cfg(test)]` (declared so by the parent module): unwraps here are test assertions.
//! Real OpenSSL 3.0 DTLS 1.2 handshake datagrams (`vectors/captures/openssl-hello/`, made by
//! `vectors/captures/capture.py`): every plaintext body parses, carries what OpenSSL sent and
//! re-encodes to the identical bytes.
//!
//! The record and handshake headers are stripped by hand here; every captured message is
//! unfragmented (the real reassembly lives elsewhere).

use super::tests::hex;
use super::*;
use crate::wire::{
    CipherSuite, ContentType, EcPointFormat, Extension, ExtensionType, NamedGroup, SignatureScheme, find_extension,
};

const C2S_01: &str = include_str!("../../../vectors/captures/openssl-hello/c2s-01.hex");
const C2S_02: &str = include_str!("../../../vectors/captures/openssl-hello/c2s-02.hex");
const C2S_03: &str = include_str!("../../../vectors/captures/openssl-hello/c2s-03.hex");
const S2C_01: &str = include_str!("../../../vectors/captures/openssl-hello/s2c-01.hex");
const S2C_02: &str = include_str!("../../../vectors/captures/openssl-hello/s2c-02.hex");
const S2C_03: &str = include_str!("../../../vectors/captures/openssl-hello/s2c-03.hex");

/// One DTLS record: content type, epoch and fragment (RFC 6347 §4.1).
struct Record {
    typ: ContentType,
    epoch: u16,
    fragment: Vec<u8>,
}

/// Split a datagram into records by slicing the 13-byte headers.
fn records(datagram: &str) -> Vec<Record> {
    let bytes = hex(datagram);
    let mut rest = &bytes[..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len = u16::from_be_bytes([rest[11], rest[12]]) as usize;
        out.push(Record {
            typ: ContentType::from(rest[0]),
            epoch: u16::from_be_bytes([rest[3], rest[4]]),
            fragment: rest[13..13 + len].to_vec(),
        });
        rest = &rest[13 + len..];
    }
    out
}

/// Every plaintext (epoch 0) handshake message in the datagram, as (type, body), after
/// checking that each is a single unfragmented fragment.
fn handshakes(datagram: &str) -> Vec<(HandshakeType, Vec<u8>)> {
    records(datagram)
        .into_iter()
        .filter(|r| r.typ == ContentType::Handshake && r.epoch == 0)
        .map(|r| {
            let f = &r.fragment;
            let length = u32::from_be_bytes([0, f[1], f[2], f[3]]) as usize;
            let frag_offset = u32::from_be_bytes([0, f[6], f[7], f[8]]) as usize;
            let frag_length = u32::from_be_bytes([0, f[9], f[10], f[11]]) as usize;
            assert_eq!((frag_offset, frag_length), (0, length), "fragmented capture");
            assert_eq!(f.len(), 12 + length);
            (HandshakeType::from(f[0]), f[12..].to_vec())
        })
        .collect()
}

/// Parse a body and check that it re-encodes to the identical bytes.
fn parse_exact(typ: HandshakeType, body: &[u8]) -> HandshakePayload {
    let payload = HandshakePayload::read(typ, body).unwrap();
    assert_eq!(payload.msg_type(), typ);
    let mut again = Vec::new();
    payload.encode_body(&mut again);
    assert_eq!(again, body, "re-encoding of {typ:?}");
    payload
}

fn only_client_hello(datagram: &str) -> ClientHello {
    let msgs = handshakes(datagram);
    assert_eq!(msgs.len(), 1);
    match parse_exact(msgs[0].0, &msgs[0].1) {
        HandshakePayload::ClientHello(ch) => ch,
        other => panic!("expected ClientHello, got {other:?}"),
    }
}

fn hello_verify_request() -> HelloVerifyRequest {
    let msgs = handshakes(S2C_01);
    assert_eq!(msgs.len(), 1);
    match parse_exact(msgs[0].0, &msgs[0].1) {
        HandshakePayload::HelloVerifyRequest(hvr) => hvr,
        other => panic!("expected HelloVerifyRequest, got {other:?}"),
    }
}

#[test]
fn first_client_hello() {
    let ch = only_client_hello(C2S_01);
    assert_eq!(ch.client_version, DTLS_1_2);
    assert!(ch.session_id.is_empty());
    assert!(ch.cookie.is_empty());
    assert!(ch.cipher_suites.contains(&CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256));
    // RFC 5746 §3.3: OpenSSL signals secure renegotiation with the SCSV in its first hello.
    assert!(ch.cipher_suites.contains(&CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV));
    assert!(ch.cipher_suites.iter().any(|s| matches!(s, CipherSuite::Unknown(_))));
    assert_eq!(ch.compression_methods, [0]);

    let ext = |t| find_extension(&ch.extensions, t);
    match ext(ExtensionType::SupportedGroups) {
        Some(Extension::SupportedGroups(groups)) => {
            assert!(groups.contains(&NamedGroup::X25519));
            assert!(groups.contains(&NamedGroup::Secp256r1));
        }
        other => panic!("supported_groups: {other:?}"),
    }
    match ext(ExtensionType::SignatureAlgorithms) {
        Some(Extension::SignatureAlgorithms(schemes)) => {
            assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP256_SHA256));
            assert!(schemes.contains(&SignatureScheme::RSA_PSS_RSAE_SHA256));
        }
        other => panic!("signature_algorithms: {other:?}"),
    }
    match ext(ExtensionType::EcPointFormats) {
        Some(Extension::EcPointFormats(formats)) => {
            assert!(formats.contains(&EcPointFormat::Uncompressed))
        }
        other => panic!("ec_point_formats: {other:?}"),
    }
    assert_eq!(ext(ExtensionType::ExtendedMasterSecret), Some(&Extension::ExtendedMasterSecret));
    // Extensions we do not parse are kept verbatim.
    assert_eq!(
        ext(ExtensionType::EncryptThenMac),
        Some(&Extension::Unknown { typ: ExtensionType::EncryptThenMac, data: vec![] })
    );
    assert!(ext(ExtensionType::SessionTicket).is_some());
}

#[test]
fn hello_verify_request_and_second_client_hello() {
    let hvr = hello_verify_request();
    // RFC 6347 §4.2.1: servers SHOULD send DTLS 1.0 in HelloVerifyRequest; OpenSSL does.
    assert_eq!(hvr.server_version, DTLS_1_0);
    assert!(!hvr.cookie.is_empty());

    // RFC 6347 §4.2.1: the second ClientHello repeats the first, plus the cookie.
    let first = only_client_hello(C2S_01);
    let second = only_client_hello(C2S_02);
    assert_eq!(second.cookie, hvr.cookie);
    assert_eq!(second, ClientHello { cookie: hvr.cookie.clone(), ..first });
}

#[test]
fn server_flight() {
    let client = only_client_hello(C2S_02);
    let msgs = handshakes(S2C_02);
    let payloads: Vec<_> = msgs.iter().map(|(t, b)| parse_exact(*t, b)).collect();
    let [
        HandshakePayload::ServerHello(sh),
        HandshakePayload::Certificate(cert),
        HandshakePayload::ServerKeyExchange(ske),
        HandshakePayload::ServerHelloDone,
    ] = &payloads[..]
    else {
        panic!("unexpected flight {payloads:?}");
    };

    assert_eq!(sh.server_version, DTLS_1_2);
    assert!(client.cipher_suites.contains(&sh.cipher_suite));
    assert!(matches!(
        sh.cipher_suite,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            | CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
            | CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    ));
    assert_eq!(sh.compression_method, 0);
    let ext = |t| find_extension(&sh.extensions, t);
    assert_eq!(ext(ExtensionType::RenegotiationInfo), Some(&Extension::RenegotiationInfo(vec![])));
    assert_eq!(ext(ExtensionType::ExtendedMasterSecret), Some(&Extension::ExtendedMasterSecret));

    // The self-signed P-256 certificate the capture script made.
    assert_eq!(cert.chain.len(), 1);
    let (_, x509) = x509_parser::parse_x509_certificate(cert.chain[0].as_ref()).unwrap();
    let cn = x509.subject().iter_common_name().next().unwrap().as_str().unwrap();
    assert_eq!(cn, "localhost");

    // The ServerKeyExchange signature verifies over our signed_message: the real check
    // that the layout of EcdheParams matches what OpenSSL signed.
    assert_eq!(ske.params.group, NamedGroup::X25519);
    assert_eq!(ske.params.public.len(), 32);
    assert_eq!(ske.scheme, SignatureScheme::ECDSA_NISTP256_SHA256);
    let msg = ServerKeyExchange::signed_message(&client.random, &sh.random, &ske.params);
    let spki = &x509.public_key().subject_public_key.data;
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, spki)
        .verify(&msg, &ske.signature)
        .unwrap();
}

#[test]
fn client_key_exchange_and_change_cipher_spec() {
    let recs = records(C2S_03);
    let msgs = handshakes(C2S_03);
    assert_eq!(msgs.len(), 1);
    match parse_exact(msgs[0].0, &msgs[0].1) {
        // X25519, as the ServerKeyExchange chose.
        HandshakePayload::ClientKeyExchange(cke) => assert_eq!(cke.public.len(), 32),
        other => panic!("expected ClientKeyExchange, got {other:?}"),
    }
    let ccs: Vec<_> = recs.iter().filter(|r| r.typ == ContentType::ChangeCipherSpec).collect();
    assert_eq!(ccs.len(), 1);
    assert_eq!(ChangeCipherSpec::read_all(&ccs[0].fragment), Ok(ChangeCipherSpec));
    // The encrypted Finished follows in epoch 1.
    assert!(recs.iter().any(|r| r.typ == ContentType::Handshake && r.epoch == 1));
}

/// OpenSSL's NewSessionTicket (RFC 5077 §3.3) parses: a lifetime hint and a ticket.
#[test]
fn new_session_ticket_from_openssl_parses() {
    let msgs = handshakes(S2C_03);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].0, HandshakeType::NewSessionTicket);
    match parse_exact(msgs[0].0, &msgs[0].1) {
        HandshakePayload::NewSessionTicket(nst) => {
            assert!(nst.lifetime_hint > 0);
            assert!(!nst.ticket.is_empty());
            assert_eq!(nst.to_vec(), msgs[0].1);
        }
        other => panic!("expected NewSessionTicket, got {other:?}"),
    }
    let ccs = records(S2C_03).into_iter().find(|r| r.typ == ContentType::ChangeCipherSpec);
    assert_eq!(ChangeCipherSpec::read_all(&ccs.unwrap().fragment), Ok(ChangeCipherSpec));
}

/// Every captured body, for the mutation test.
fn captured_bodies() -> Vec<(HandshakeType, Vec<u8>)> {
    [C2S_01, C2S_02, C2S_03, S2C_01, S2C_02].iter().flat_map(|d| handshakes(d)).collect()
}

proptest::proptest! {
    #[test]
    fn mutated_captures_never_panic(
        which in proptest::prelude::any::<proptest::sample::Index>(),
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()),
            1..4,
        ),
        cut in proptest::prelude::any::<proptest::sample::Index>(),
    ) {
        let bodies = captured_bodies();
        let (typ, body) = &bodies[which.index(bodies.len())];
        let mut body = body.clone();
        for (at, value) in &edits {
            let i = at.index(body.len().max(1));
            if let Some(b) = body.get_mut(i) {
                *b = *value;
            }
        }
        let len = body.len();
        body.truncate(cut.index(len + 1));
        if let Ok(payload) = HandshakePayload::read(*typ, &body) {
            let mut again = Vec::new();
            payload.encode_body(&mut again);
            proptest::prop_assert_eq!(HandshakePayload::read(*typ, &again), Ok(payload));
        }
    }
}
