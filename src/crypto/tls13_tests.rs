//! The key schedule against the RFC 8448 §3 trace (TLS 1.3 labels; "Simple 1-RTT Handshake",
//! X25519, TLS_AES_128_GCM_SHA256), and the DTLS 1.3 label prefix against HKDF computed
//! from its definition (RFC 5869 §2.3) with HMAC alone.

use super::*;
use crate::crypto::test_hex::decode as hex;

const ECDHE: &str = "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d";
/// Transcript-Hash(ClientHello..ServerHello).
const HELLO_HASH: &str = "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8";
/// Transcript-Hash(ClientHello..server Finished).
const SERVER_FINISHED_HASH: &str = "9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13";

fn rfc8448() -> Schedule {
    Schedule::new(LabelPrefix::Tls13, Hash::Sha256, &hex(ECDHE)).unwrap()
}

#[test]
fn early_derived_and_handshake_secrets() {
    let early = extract(Hash::Sha256, &[], &[0; 32]);
    assert_eq!(early.as_bytes(), hex("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"));
    let empty = ring::digest::digest(&ring::digest::SHA256, b"");
    let derived = derive_secret(LabelPrefix::Tls13, &early, b"derived", empty.as_ref()).unwrap();
    assert_eq!(derived.as_bytes(), hex("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"));
    assert_eq!(
        rfc8448().handshake_secret().as_bytes(),
        hex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac")
    );
}

#[test]
fn handshake_traffic_secrets_and_keys() {
    let hs = rfc8448().handshake_traffic(&hex(HELLO_HASH)).unwrap();
    assert_eq!(hs.client.as_bytes(), hex("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21"));
    assert_eq!(hs.server.as_bytes(), hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"));
    let server = traffic_keys(LabelPrefix::Tls13, &hs.server, 16).unwrap();
    assert_eq!(&server.key[..], hex("3fce516009c21727d0f2e4e86ee403bc"));
    assert_eq!(server.iv.to_vec(), hex("5d313eb2671276ee13000b30"));
    let client = traffic_keys(LabelPrefix::Tls13, &hs.client, 16).unwrap();
    assert_eq!(&client.key[..], hex("dbfaa693d1762c5b666af5d950258d01"));
    assert_eq!(client.iv.to_vec(), hex("5bd3c71b836e0b76bb73265f"));
}

#[test]
fn master_application_and_exporter_secrets() {
    let schedule = rfc8448();
    assert_eq!(
        schedule.master_secret().unwrap().as_bytes(),
        hex("18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919")
    );
    let app = schedule.application(&hex(SERVER_FINISHED_HASH)).unwrap();
    assert_eq!(app.traffic.client.as_bytes(), hex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"));
    assert_eq!(app.traffic.server.as_bytes(), hex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"));
    assert_eq!(app.exporter.as_bytes(), hex("fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50"));
    let server = traffic_keys(LabelPrefix::Tls13, &app.traffic.server, 16).unwrap();
    assert_eq!(&server.key[..], hex("9f02283b6c9c07efc26bb9f2ac92e356"));
    assert_eq!(server.iv.to_vec(), hex("cf782b88dd83549aadf1e984"));
    let client = traffic_keys(LabelPrefix::Tls13, &app.traffic.client, 16).unwrap();
    assert_eq!(&client.key[..], hex("17422dda596ed5d9acd890e3c63f5051"));
}

/// HKDF-Expand (RFC 5869 §2.3) for at most one block, from HMAC alone.
fn expand_one_block(prk: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, prk);
    let mut input = info.to_vec();
    input.push(1);
    ring::hmac::sign(&key, &input).as_ref()[..len].to_vec()
}

#[test]
fn dtls13_labels_carry_the_dtls13_prefix() {
    // RFC 9147 §5.9: HkdfLabel.label = "dtls13" + Label, no space.
    let secret = extract(Hash::Sha256, b"salt", b"input keying material");
    let mut ours = [0u8; 12];
    expand_label(LabelPrefix::Dtls13, &secret, b"iv", &[], &mut ours).unwrap();
    let info = [&[0u8, 12, 8][..], b"dtls13iv", &[0]].concat();
    assert_eq!(ours.to_vec(), expand_one_block(secret.as_bytes(), &info, 12));
    // The same secret under TLS 1.3 labels gives another IV.
    let mut tls = [0u8; 12];
    expand_label(LabelPrefix::Tls13, &secret, b"iv", &[], &mut tls).unwrap();
    assert_ne!(ours, tls);
    // RFC 9147 §4.2.3: the record-number key uses the label "sn".
    let keys = traffic_keys(LabelPrefix::Dtls13, &secret, 16).unwrap();
    let info = [&[0u8, 16, 8][..], b"dtls13sn", &[0]].concat();
    assert_eq!(keys.sn.to_vec(), expand_one_block(secret.as_bytes(), &info, 16));
}

#[test]
fn finished_update_and_exporter_are_hmac_and_expand_label() {
    let secret = extract(Hash::Sha256, b"s", b"k");
    let hash = [7u8; 32];
    // finished_key = HKDF-Expand-Label(base, "finished", "", 32); verify_data = HMAC(..).
    let info = [&[0u8, 32, 14][..], b"dtls13finished", &[0]].concat();
    let finished_key = expand_one_block(secret.as_bytes(), &info, 32);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &finished_key);
    assert_eq!(
        finished_verify_data(LabelPrefix::Dtls13, &secret, &hash).unwrap(),
        ring::hmac::sign(&key, &hash).as_ref()
    );
    let next = next_traffic_secret(LabelPrefix::Dtls13, &secret).unwrap();
    let info = [&[0u8, 32, 17][..], b"dtls13traffic upd", &[0]].concat();
    assert_eq!(next.as_bytes(), expand_one_block(secret.as_bytes(), &info, 32));
    let mut a = [0u8; 20];
    let mut b = [0u8; 20];
    export(LabelPrefix::Dtls13, &secret, b"EXPORTER-test", b"ctx", &mut a).unwrap();
    export(LabelPrefix::Dtls13, &secret, b"EXPORTER-test", b"other", &mut b).unwrap();
    assert_ne!(a, b);
}

#[test]
fn sha384_secrets_are_48_bytes_and_overlong_requests_are_refused() {
    let schedule = Schedule::new(LabelPrefix::Dtls13, Hash::Sha384, &[1; 32]).unwrap();
    let hs = schedule.handshake_traffic(&[0; 48]).unwrap();
    assert_eq!(hs.client.as_bytes().len(), 48);
    assert_ne!(hs.client.as_bytes(), hs.server.as_bytes());
    let mut too_long = vec![0u8; 255 * 48 + 1];
    assert!(expand_label(LabelPrefix::Dtls13, &hs.client, b"key", &[], &mut too_long).is_err());
    let long_label = [b'x'; 250];
    assert!(expand_label(LabelPrefix::Dtls13, &hs.client, &long_label, &[], &mut [0u8; 16]).is_err());
}

#[test]
fn secret_from_bytes_takes_exactly_the_hash_length() {
    let s = Secret::from_bytes(Hash::Sha384, &[7; 48]).unwrap();
    assert_eq!((s.hash(), s.as_bytes()), (Hash::Sha384, &[7u8; 48][..]));
    assert_eq!(Secret::from_bytes(Hash::Sha256, &[1; 32]).unwrap().as_bytes(), [1; 32]);
    assert!(Secret::from_bytes(Hash::Sha256, &[1; 31]).is_none());
    assert!(Secret::from_bytes(Hash::Sha256, &[1; 48]).is_none());
    assert!(Secret::from_bytes(Hash::Sha384, &[]).is_none());
}

#[test]
fn empty_hashes_are_the_digests_of_nothing() {
    for hash in [Hash::Sha256, Hash::Sha384] {
        assert_eq!(hash.empty(), ring::digest::digest(hash.digest_algorithm(), b"").as_ref());
    }
}
