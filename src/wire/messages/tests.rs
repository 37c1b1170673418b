//! Compiled only under `#[cfg(test)]` (declared so by the parent module): unwraps here are test assertions.
//! Byte-layout, round-trip and hostile-input tests for the handshake message bodies.

use proptest::prelude::*;
use rustls_pki_types::CertificateDer;

use super::*;
use crate::wire::{
    CipherSuite, ClientCertificateType, Extension, ExtensionType, NamedGroup, SignatureScheme, find_extension,
    put_extensions, read_extensions,
};

/// Decode a hex string, ignoring whitespace.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd hex length");
    digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
}

/// `payload` encodes to exactly `bytes`, and `bytes` reads back to `payload`.
fn layout(payload: HandshakePayload, bytes: &str) {
    let bytes = hex(bytes);
    let mut out = Vec::new();
    payload.encode_body(&mut out);
    assert_eq!(out, bytes, "encoding of {payload:?}");
    assert_eq!(HandshakePayload::read(payload.msg_type(), &bytes), Ok(payload));
}

fn read(typ: HandshakeType, bytes: &str) -> Result<HandshakePayload, InvalidMessage> {
    HandshakePayload::read(typ, &hex(bytes))
}

fn client_hello() -> ClientHello {
    ClientHello {
        client_version: DTLS_1_2,
        random: [0x11; 32],
        session_id: vec![],
        cookie: vec![0xc0, 0xc1],
        cipher_suites: vec![
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
        ],
        compression_methods: vec![0],
        extensions: vec![Extension::ExtendedMasterSecret],
    }
}

fn server_hello() -> ServerHello {
    ServerHello {
        server_version: DTLS_1_2,
        random: [0x22; 32],
        session_id: vec![0x33; 32],
        cipher_suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        compression_method: 0,
        extensions: vec![Extension::RenegotiationInfo(vec![]), Extension::ExtendedMasterSecret],
    }
}

fn ecdhe_params() -> EcdheParams {
    EcdheParams { group: NamedGroup::Secp256r1, public: vec![4, 1, 2, 3] }
}

/// One value of every handshake payload variant.
fn every_payload() -> Vec<HandshakePayload> {
    vec![
        HandshakePayload::HelloRequest,
        HandshakePayload::ClientHello(client_hello()),
        HandshakePayload::ClientHello(ClientHello { extensions: vec![], ..client_hello() }),
        HandshakePayload::ServerHello(server_hello()),
        HandshakePayload::HelloVerifyRequest(HelloVerifyRequest { server_version: DTLS_1_0, cookie: vec![7; 255] }),
        HandshakePayload::Certificate(CertificateMsg { chain: vec![] }),
        HandshakePayload::Certificate(CertificateMsg {
            chain: vec![CertificateDer::from(vec![0x30, 0]), CertificateDer::from(vec![5; 300])],
        }),
        HandshakePayload::ServerKeyExchange(ServerKeyExchange {
            params: ecdhe_params(),
            scheme: SignatureScheme::ECDSA_NISTP256_SHA256,
            signature: vec![9; 71],
        }),
        HandshakePayload::CertificateRequest(CertificateRequest {
            certificate_types: vec![ClientCertificateType::EcdsaSign, ClientCertificateType::RsaSign],
            schemes: vec![SignatureScheme::ED25519],
            authorities: vec![],
        }),
        HandshakePayload::ServerHelloDone,
        HandshakePayload::CertificateVerify(CertificateVerify {
            scheme: SignatureScheme::RSA_PSS_RSAE_SHA256,
            signature: vec![],
        }),
        HandshakePayload::ClientKeyExchange(ClientKeyExchange { public: vec![0xee; 32] }),
        HandshakePayload::Finished(Finished { verify_data: vec![0xf0; 12] }),
    ]
}

#[test]
fn rfc_layouts() {
    // RFC 6347 §4.2.1 HelloVerifyRequest.
    layout(
        HandshakePayload::HelloVerifyRequest(HelloVerifyRequest {
            server_version: DTLS_1_2,
            cookie: vec![0xaa, 0xbb, 0xcc],
        }),
        "fe fd 03 aa bb cc",
    );
    layout(
        HandshakePayload::ClientHello(client_hello()),
        &format!("fe fd {} 00 02 c0 c1 00 04 c0 2b 00 ff 01 00 00 04 00 17 00 00", "11".repeat(32)),
    );
    layout(
        HandshakePayload::ServerHello(server_hello()),
        &format!("fe fd {} 20 {} c0 2b 00 00 09 ff 01 00 01 00 00 17 00 00", "22".repeat(32), "33".repeat(32)),
    );
    layout(
        HandshakePayload::Certificate(CertificateMsg {
            chain: vec![CertificateDer::from(vec![0x30, 0x00]), CertificateDer::from(vec![5])],
        }),
        "00 00 09 00 00 02 30 00 00 00 01 05",
    );
    layout(HandshakePayload::Certificate(CertificateMsg { chain: vec![] }), "00 00 00");
    layout(
        HandshakePayload::ServerKeyExchange(ServerKeyExchange {
            params: ecdhe_params(),
            scheme: SignatureScheme::ECDSA_NISTP256_SHA256,
            signature: vec![0xaa, 0xbb],
        }),
        "03 00 17 04 04 01 02 03 04 03 00 02 aa bb",
    );
    layout(
        HandshakePayload::CertificateRequest(CertificateRequest {
            certificate_types: vec![ClientCertificateType::EcdsaSign],
            schemes: vec![SignatureScheme::ECDSA_NISTP256_SHA256],
            authorities: vec![vec![0x30, 0x01, 0x02]],
        }),
        "01 40 00 02 04 03 00 05 00 03 30 01 02",
    );
    layout(
        HandshakePayload::CertificateVerify(CertificateVerify {
            scheme: SignatureScheme::ECDSA_NISTP256_SHA256,
            signature: vec![0xde, 0xad],
        }),
        "04 03 00 02 de ad",
    );
    layout(HandshakePayload::ClientKeyExchange(ClientKeyExchange { public: vec![0xaa, 0xbb, 0xcc] }), "03 aa bb cc");
    layout(
        HandshakePayload::Finished(Finished { verify_data: (1..=12).collect() }),
        "01 02 03 04 05 06 07 08 09 0a 0b 0c",
    );
    layout(HandshakePayload::HelloRequest, "");
    layout(HandshakePayload::ServerHelloDone, "");
}

#[test]
fn signed_message_is_randoms_then_params() {
    let msg = ServerKeyExchange::signed_message(&[1; 32], &[2; 32], &ecdhe_params());
    let expected = format!("{}{} 03 00 17 04 04 01 02 03", "01".repeat(32), "02".repeat(32));
    assert_eq!(msg, hex(&expected));
}

#[test]
fn every_payload_round_trips() {
    for payload in every_payload() {
        let mut bytes = Vec::new();
        payload.encode_body(&mut bytes);
        let back = HandshakePayload::read(payload.msg_type(), &bytes).unwrap();
        assert_eq!(back, payload);
        let mut again = Vec::new();
        back.encode_body(&mut again);
        assert_eq!(again, bytes);
        // One more byte is always rejected.
        bytes.push(0);
        assert!(HandshakePayload::read(payload.msg_type(), &bytes).is_err(), "{payload:?}");
    }
}

#[test]
fn alert_and_change_cipher_spec() {
    let fatal = Alert { level: AlertLevel::Fatal, description: AlertDescription::HandshakeFailure };
    assert_eq!(fatal.to_vec(), [0x02, 0x28]);
    assert_eq!(Alert::read_all(&[0x02, 0x28]), Ok(fatal));
    let close = Alert { level: AlertLevel::Warning, description: AlertDescription::CloseNotify };
    assert_eq!(Alert::read_all(&close.to_vec()), Ok(close));
    let odd = Alert { level: AlertLevel::Unknown(9), description: AlertDescription::Unknown(0xfe) };
    assert_eq!(Alert::read_all(&[9, 0xfe]), Ok(odd));
    assert_eq!(Alert::read_all(&[2]), Err(InvalidMessage::Truncated));
    assert!(matches!(Alert::read_all(&[2, 0x28, 0]), Err(InvalidMessage::TrailingData(_))));

    assert_eq!(ChangeCipherSpec.to_vec(), [1]);
    assert_eq!(ChangeCipherSpec::read_all(&[1]), Ok(ChangeCipherSpec));
    assert_eq!(ChangeCipherSpec::read_all(&[2]), Err(InvalidMessage::IllegalValue("change_cipher_spec")));
    assert_eq!(ChangeCipherSpec::read_all(&[]), Err(InvalidMessage::Truncated));
    assert!(ChangeCipherSpec::read_all(&[1, 1]).is_err());
}

#[test]
fn malformed_bodies_are_rejected() {
    use HandshakeType as T;
    let random = "00".repeat(32);
    // session_id longer than 32 bytes.
    let long_id = format!("fe fd {random} 21 {} 00 00 02 c0 2b 01 00", "00".repeat(33));
    assert_eq!(read(T::ClientHello, &long_id), Err(InvalidMessage::IllegalValue("session_id")));
    let ch = |suites: &str, comp: &str| format!("fe fd {random} 00 00 {suites} {comp}");
    assert_eq!(
        read(T::ClientHello, &ch("00 03 c0 2b 00", "01 00")),
        Err(InvalidMessage::IllegalValue("cipher_suites length"))
    );
    assert_eq!(read(T::ClientHello, &ch("00 00", "01 00")), Err(InvalidMessage::EmptyList("cipher_suites")));
    assert_eq!(read(T::ClientHello, &ch("00 02 c0 2b", "00")), Err(InvalidMessage::EmptyList("compression_methods")));
    assert!(read(T::ClientHello, &ch("00 02 c0 2b", "01 00")).is_ok());
    // A lone byte where the extension block would be.
    assert_eq!(read(T::ClientHello, &ch("00 02 c0 2b", "01 00 00")), Err(InvalidMessage::Truncated));
    // Extension block followed by trailing bytes.
    assert_eq!(
        read(T::ClientHello, &ch("00 02 c0 2b", "01 00 00 00 ff")),
        Err(InvalidMessage::TrailingData("handshake body"))
    );
    // ServerHello cut short.
    assert_eq!(read(T::ServerHello, &format!("fe fd {random} 00 c0")), Err(InvalidMessage::Truncated));
    assert_eq!(
        read(T::Finished, "01 02 03 04 05 06 07 08 09 0a 0b"),
        Err(InvalidMessage::IllegalValue("verify_data length"))
    );
    assert_eq!(
        read(T::ServerKeyExchange, "01 00 17 01 04 04 03 00 00"),
        Err(InvalidMessage::IllegalValue("curve_type"))
    );
    assert_eq!(read(T::ServerKeyExchange, "03 00 17 00 04 03 00 00"), Err(InvalidMessage::EmptyList("ECPoint")));
    assert_eq!(read(T::ClientKeyExchange, "00"), Err(InvalidMessage::EmptyList("ecdh_Yc")));
    assert_eq!(read(T::ClientKeyExchange, ""), Err(InvalidMessage::Truncated));
    assert_eq!(read(T::Certificate, "00 00 03 00 00 00"), Err(InvalidMessage::EmptyList("ASN.1Cert")));
    assert_eq!(read(T::Certificate, "00 00 04 00 00 02 30"), Err(InvalidMessage::Truncated));
    assert_eq!(
        read(T::CertificateRequest, "00 00 02 04 03 00 00"),
        Err(InvalidMessage::EmptyList("certificate_types"))
    );
    assert_eq!(
        read(T::CertificateRequest, "01 40 00 00 00 00"),
        Err(InvalidMessage::EmptyList("supported_signature_algorithms"))
    );
    assert_eq!(
        read(T::CertificateRequest, "01 40 00 02 04 03 00 02 00 00"),
        Err(InvalidMessage::EmptyList("DistinguishedName"))
    );
    assert_eq!(read(T::ServerHelloDone, "00"), Err(InvalidMessage::TrailingData("handshake body")));
    assert_eq!(read(T::HelloRequest, "00"), Err(InvalidMessage::TrailingData("handshake body")));
    assert_eq!(read(T::HelloVerifyRequest, "fe fd 04 aa"), Err(InvalidMessage::Truncated));
    // NewSessionTicket (4) and anything unknown.
    assert_eq!(read(T::Unknown(4), ""), Err(InvalidMessage::IllegalValue("handshake type")));
    assert_eq!(read(T::Unknown(0xff), "00"), Err(InvalidMessage::IllegalValue("handshake type")));
}

#[test]
fn hello_duplicate_extensions_are_rejected() {
    let body = format!("fe fd {} 00 00 00 02 c0 2b 01 00 00 08 00 17 00 00 00 17 00 00", "00".repeat(32));
    assert_eq!(read(HandshakeType::ClientHello, &body), Err(InvalidMessage::IllegalValue("duplicate extension")));
    let ch = client_hello();
    assert!(find_extension(&ch.extensions, ExtensionType::ExtendedMasterSecret).is_some());
}

/// Whatever parses re-encodes to something that parses to the same value.
fn check_stable(typ: HandshakeType, bytes: &[u8]) {
    if let Ok(payload) = HandshakePayload::read(typ, bytes) {
        assert_eq!(payload.msg_type(), typ);
        let mut again = Vec::new();
        payload.encode_body(&mut again);
        assert_eq!(HandshakePayload::read(typ, &again), Ok(payload));
    }
}

proptest! {
    #[test]
    fn arbitrary_bodies_never_panic(typ in any::<u8>(), bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        check_stable(HandshakeType::from(typ), &bytes);
    }

    #[test]
    fn arbitrary_bodies_of_every_known_type_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        for payload in every_payload() {
            check_stable(payload.msg_type(), &bytes);
        }
    }

    #[test]
    fn mutated_valid_bodies_never_panic(
        which in 0usize..13,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let all = every_payload();
        let payload = &all[which % all.len()];
        let mut bytes = Vec::new();
        payload.encode_body(&mut bytes);
        if !bytes.is_empty() {
            for (at, value) in &edits {
                let i = at.index(bytes.len());
                bytes[i] = *value;
            }
        }
        check_stable(payload.msg_type(), &bytes);
        let len = bytes.len();
        bytes.truncate(cut.index(len + 1));
        check_stable(payload.msg_type(), &bytes);
    }

    #[test]
    fn arbitrary_extension_blocks_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut r = Reader::new(&bytes);
        if let Ok(exts) = read_extensions(&mut r) {
            let mut again = Vec::new();
            put_extensions(&mut again, &exts);
            prop_assert_eq!(read_extensions(&mut Reader::new(&again)), Ok(exts));
        }
        // Arbitrary bytes behind a correct block length.
        let mut block = Vec::new();
        put_prefixed(&mut block, LenPrefix::U16, |o| o.put_slice(&bytes));
        let _ = read_extensions(&mut Reader::new(&block));
    }
}
