//! The DTLS 1.3 codecs (`wire::tls13`) against real datagrams of an independent implementation:
//! dimpl 0.9's DTLS 1.3 client and server, captured on loopback (`vectors/dtls13/README.md`
//! says how). Each datagram goes through the record demultiplexer, the handshake header and
//! the hello codecs; every extension is re-encoded to the exact bytes it was read from, and
//! the 1.3 extension bodies are parsed with their typed codecs.

use dtls_engine::NamedGroup;
use dtls_engine::internals::codec::{Codec, Reader};
use dtls_engine::internals::wire::handshake_header::{HandshakeHeader, parse_fragments};
use dtls_engine::internals::wire::record::{Demux, Record};
use dtls_engine::internals::wire::tls13::{
    Cookie, ExtensionBody, KeyShareClientHello, KeyShareHelloRetryRequest, KeyShareServerHello, PskKeyExchangeModes,
    SignatureAlgorithmsCert, SupportedVersionsClientHello, SupportedVersionsServerHello, downgrade_sentinel,
    is_hello_retry_request, message_hash, transcript_message,
};
use dtls_engine::internals::wire::{
    ClientHello, ContentType, DTLS_1_2, DTLS_1_3, Extension, ExtensionType, HandshakePayload, HandshakeType,
    ServerHello,
};

const CLIENT_HELLO: &str = include_str!("../vectors/dtls13/client_hello.hex");
const CLIENT_HELLO_AUTO: &str = include_str!("../vectors/dtls13/client_hello_auto.hex");
const CH1: &str = include_str!("../vectors/dtls13/00_c2s.hex");
const HRR: &str = include_str!("../vectors/dtls13/01_s2c.hex");
const CH2: &str = include_str!("../vectors/dtls13/02_c2s.hex");
const SH: &str = include_str!("../vectors/dtls13/03_s2c.hex");
const LOG: &str = include_str!("../vectors/dtls13/handshake.log");

/// TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256 (RFC 8446 §B.4).
const TLS13_SUITES: [u16; 3] = [0x1301, 0x1302, 0x1303];

fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim();
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit")).collect()
}

/// One whole handshake message of a plaintext record.
struct Message {
    header: HandshakeHeader,
    body: Vec<u8>,
}

/// Demultiplex `datagram`: the handshake messages of its leading plaintext (DTLS 1.2 header,
/// epoch 0) records, and the number of DTLS 1.3 unified-header records after them.
fn split(datagram: &[u8]) -> (Vec<Message>, usize) {
    let mut demux = Demux::new(datagram, 0);
    let (mut messages, mut protected) = (Vec::new(), 0);
    for record in demux.by_ref() {
        match record {
            Record::Dtls12 { header, body } => {
                assert_eq!(protected, 0, "plaintext record after a protected one");
                assert_eq!(header.content_type, ContentType::Handshake);
                assert_eq!(header.epoch, 0);
                // RFC 9147 §5.3/§4: plaintext records carry the DTLS 1.2 legacy version.
                assert_eq!(header.version, DTLS_1_2);
                assert_eq!(usize::from(header.length), body.len());
                for fragment in parse_fragments(body) {
                    let (header, body) = fragment.expect("handshake fragment");
                    assert!(header.is_whole_message(), "dimpl fragmented {header:?}");
                    assert_eq!(header.length as usize, body.len());
                    messages.push(Message { header, body: body.to_vec() });
                }
            }
            Record::Unified { header, body } => {
                assert!(header.epoch_bits >= 2 || header.epoch_bits == 0, "epoch bits {}", header.epoch_bits);
                assert!(!body.is_empty());
                protected += 1;
            }
            Record::Tls12Cid { .. } => panic!("no connection ID was negotiated"),
        }
    }
    assert!(!demux.truncated(), "datagram ends inside a record");
    (messages, protected)
}

/// The only handshake message of a datagram that holds nothing else.
fn only_message(hex: &str) -> Message {
    let (mut messages, protected) = split(&unhex(hex));
    assert_eq!((messages.len(), protected), (1, 0));
    messages.remove(0)
}

/// The raw `(type, extension_data)` pairs of the extension block at the end of `body`, whose
/// fixed part (everything before the block) is `fixed_len` bytes.
fn raw_extensions(body: &[u8], fixed_len: usize) -> Vec<(u16, Vec<u8>, Vec<u8>)> {
    let mut r = Reader::new(&body[fixed_len..]);
    let mut block = r.sub_u16().expect("extension block");
    assert!(r.is_empty());
    let mut out = Vec::new();
    while !block.is_empty() {
        let start = block.rest();
        let typ = block.u16().expect("type");
        let data = block.sub_u16().expect("extension_data").take_rest().to_vec();
        let whole = start[..start.len() - block.left()].to_vec();
        out.push((typ, data, whole));
    }
    out
}

/// Every parsed extension encodes back to the bytes it came from, in order; the 1.3 bodies
/// parse with their typed codec (`client` picks the ClientHello forms) and re-encode too.
fn check_extensions(exts: &[Extension], raw: &[(u16, Vec<u8>, Vec<u8>)], client: bool) {
    assert_eq!(exts.len(), raw.len());
    for (ext, (typ, data, whole)) in exts.iter().zip(raw) {
        assert_eq!(u16::from(ext.ext_type()), *typ);
        assert_eq!(&ext.to_vec(), whole, "re-encoding of {ext:?}");
        let again = |bytes: Vec<u8>| assert_eq!(&bytes, data, "re-encoding of extension {typ}");
        match (ExtensionType::from(*typ), client) {
            (ExtensionType::SupportedVersions, true) => {
                again(SupportedVersionsClientHello::parse(data).expect("supported_versions").body_bytes())
            }
            (ExtensionType::SupportedVersions, false) => {
                again(SupportedVersionsServerHello::parse(data).expect("supported_versions").body_bytes())
            }
            (ExtensionType::KeyShare, true) => again(KeyShareClientHello::parse(data).expect("key_share").body_bytes()),
            (ExtensionType::KeyShare, false) => {
                // ServerHello form, or the HelloRetryRequest form (2 bytes).
                match KeyShareServerHello::parse(data) {
                    Ok(ks) => again(ks.body_bytes()),
                    Err(_) => again(KeyShareHelloRetryRequest::parse(data).expect("key_share").body_bytes()),
                }
            }
            (ExtensionType::Cookie, _) => again(Cookie::parse(data).expect("cookie").body_bytes()),
            (ExtensionType::PskKeyExchangeModes, _) => {
                again(PskKeyExchangeModes::parse(data).expect("psk_key_exchange_modes").body_bytes())
            }
            (ExtensionType::SignatureAlgorithmsCert, _) => {
                again(SignatureAlgorithmsCert::parse(data).expect("signature_algorithms_cert").body_bytes())
            }
            _ => {}
        }
    }
}

/// Parse a ClientHello message and check it byte for byte.
fn client_hello(m: &Message) -> ClientHello {
    assert_eq!(m.header.msg_type, HandshakeType::ClientHello);
    let HandshakePayload::ClientHello(ch) = HandshakePayload::read(m.header.msg_type, &m.body).expect("ClientHello")
    else {
        unreachable!()
    };
    assert_eq!(ch.to_vec(), m.body);
    // RFC 9147 §5.3: legacy_version {254, 253}, an empty legacy_cookie, null compression.
    assert_eq!(ch.client_version, DTLS_1_2);
    assert!(ch.cookie.is_empty());
    assert_eq!(ch.compression_methods, [0]);
    let fixed = ClientHello { extensions: vec![], ..ch.clone() }.to_vec().len();
    check_extensions(&ch.extensions, &raw_extensions(&m.body, fixed), true);
    ch
}

/// Parse a ServerHello (or HelloRetryRequest) message and check it byte for byte.
fn server_hello(m: &Message) -> ServerHello {
    assert_eq!(m.header.msg_type, HandshakeType::ServerHello);
    let HandshakePayload::ServerHello(sh) = HandshakePayload::read(m.header.msg_type, &m.body).expect("ServerHello")
    else {
        unreachable!()
    };
    assert_eq!(sh.to_vec(), m.body);
    assert_eq!(sh.server_version, DTLS_1_2);
    assert_eq!(sh.compression_method, 0);
    let fixed = ServerHello { extensions: vec![], ..sh.clone() }.to_vec().len();
    check_extensions(&sh.extensions, &raw_extensions(&m.body, fixed), false);
    sh
}

fn versions(ch: &ClientHello) -> Vec<u16> {
    SupportedVersionsClientHello::find_in(&ch.extensions).expect("well-formed").expect("supported_versions").versions
}

fn share_groups(ch: &ClientHello) -> Vec<(NamedGroup, usize)> {
    let ks = KeyShareClientHello::find_in(&ch.extensions).expect("well-formed").expect("key_share");
    ks.client_shares.iter().map(|e| (e.group, e.key_exchange.len())).collect()
}

fn selected_version(sh: &ServerHello) -> u16 {
    SupportedVersionsServerHello::find_in(&sh.extensions)
        .expect("well-formed")
        .expect("supported_versions")
        .selected_version
}

#[test]
fn dimpl_13_client_hello() {
    let m = only_message(CLIENT_HELLO);
    assert_eq!(m.header.message_seq, 0);
    let ch = client_hello(&m);
    assert_eq!(versions(&ch), [DTLS_1_3]);
    assert_eq!(share_groups(&ch), [(NamedGroup::X25519, 32)]);
    assert!(ch.cipher_suites.iter().all(|s| TLS13_SUITES.contains(&u16::from(*s))));
    assert_eq!(Cookie::find_in(&ch.extensions), Ok(None));
    let Some(Extension::SupportedGroups(groups)) =
        ch.extensions.iter().find(|e| e.ext_type() == ExtensionType::SupportedGroups)
    else {
        panic!("supported_groups")
    };
    assert!(groups.contains(&NamedGroup::X25519));
}

#[test]
fn dimpl_auto_client_hello_offers_13_and_12() {
    let ch = client_hello(&only_message(CLIENT_HELLO_AUTO));
    assert_eq!(versions(&ch), [DTLS_1_3, DTLS_1_2]);
    assert_eq!(share_groups(&ch), [(NamedGroup::X25519, 32)]);
    // 1.3 and 1.2 suites in one list.
    assert!(ch.cipher_suites.iter().any(|s| TLS13_SUITES.contains(&u16::from(*s))));
    assert!(ch.cipher_suites.iter().any(|s| !TLS13_SUITES.contains(&u16::from(*s))));
}

#[test]
fn dimpl_13_handshake_with_hello_retry_request() {
    let m1 = only_message(CH1);
    let ch1 = client_hello(&m1);
    assert_eq!(versions(&ch1), [DTLS_1_3]);
    assert_eq!(Cookie::find_in(&ch1.extensions), Ok(None));

    // The HelloRetryRequest: a ServerHello with the special random.
    let mh = only_message(HRR);
    assert_eq!(mh.header.message_seq, 0);
    let hrr = server_hello(&mh);
    assert!(is_hello_retry_request(&hrr.random));
    assert_eq!(downgrade_sentinel(&hrr.random), None);
    assert_eq!(selected_version(&hrr), DTLS_1_3);
    assert_eq!(hrr.session_id, ch1.session_id, "legacy_session_id_echo");
    assert!(ch1.cipher_suites.contains(&hrr.cipher_suite));
    let cookie = Cookie::find_in(&hrr.extensions).expect("well-formed").expect("cookie in the HRR");
    assert!(!cookie.cookie.is_empty());
    // If the HRR names a group, the client offered it in supported_groups.
    if let Some(ks) = KeyShareHelloRetryRequest::find_in(&hrr.extensions).expect("well-formed") {
        assert!(
            ch1.extensions.iter().any(|e| matches!(e, Extension::SupportedGroups(g) if g.contains(&ks.selected_group)))
        );
    }

    // The second ClientHello echoes the cookie; same random (RFC 8446 §4.1.2).
    let m2 = only_message(CH2);
    assert_eq!(m2.header.message_seq, 1);
    let ch2 = client_hello(&m2);
    assert_eq!(ch2.random, ch1.random);
    assert_eq!(Cookie::find_in(&ch2.extensions), Ok(Some(cookie)));
    assert_eq!(versions(&ch2), [DTLS_1_3]);

    // The ServerHello, then the encrypted rest of the flight in the same datagram.
    let (messages, protected) = split(&unhex(SH));
    assert_eq!(messages.len(), 1);
    assert!(protected >= 1, "EncryptedExtensions.. follow under unified headers");
    assert_eq!(messages[0].header.message_seq, 1);
    let sh = server_hello(&messages[0]);
    assert!(!is_hello_retry_request(&sh.random));
    assert_eq!(downgrade_sentinel(&sh.random), None);
    assert_eq!(selected_version(&sh), DTLS_1_3);
    assert_eq!(sh.cipher_suite, hrr.cipher_suite);
    let share = KeyShareServerHello::find_in(&sh.extensions).expect("well-formed").expect("key_share").server_share;
    assert!(share_groups(&ch2).contains(&(share.group, share.key_exchange.len())), "group matches an offer");
    assert_eq!(share.group, NamedGroup::X25519);

    // The transcript after the HRR starts with message_hash(Hash(ClientHello1)); the suite
    // (TLS_AES_128_GCM_SHA256) hashes with SHA-256.
    assert_eq!(u16::from(sh.cipher_suite), 0x1301);
    let ch1_transcript = transcript_message(HandshakeType::ClientHello, &m1.body).unwrap();
    let mut dtls_header = Vec::new();
    m1.header.encode(&mut dtls_header);
    assert_eq!(ch1_transcript[..4], dtls_header[..4]);
    let digest = ring::digest::digest(&ring::digest::SHA256, &ch1_transcript);
    let synthetic = message_hash(digest.as_ref()).unwrap();
    assert_eq!(synthetic[..4], [254, 0, 0, 32]);
}

#[test]
fn every_logged_datagram_demultiplexes() {
    let mut plaintext = 0;
    let mut protected = 0;
    let mut lines = 0;
    for line in LOG.lines() {
        let (dir, hex) = line.split_once(' ').expect("direction and hex");
        assert!(dir == "c>s" || dir == "s>c");
        let (messages, p) = split(&unhex(hex));
        plaintext += messages.len();
        protected += p;
        lines += 1;
    }
    // CH1, HRR, CH2, ServerHello in the clear; the rest under unified headers.
    assert_eq!(plaintext, 4);
    assert!(protected >= lines - 3);
}
