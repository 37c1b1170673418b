//! Every DTLS 1.3 wire codec (`wire::tls13`): the first byte picks one, the rest is its input.
//! Parsing must never panic; whatever parses must encode to bytes that parse to the same value.
#![no_main]

use core::fmt::Debug;

use dtls_engine::internals::codec::{Codec, Reader};
use dtls_engine::internals::wire::read_extensions;
use dtls_engine::internals::wire::tls13::{
    Ack, Certificate, CertificateRequest, CertificateVerify, Cookie, EncryptedExtensions, ExtensionBody,
    KeyShareClientHello, KeyShareHelloRetryRequest, KeyShareServerHello, KeyUpdate, NewSessionTicket,
    PskKeyExchangeModes, SignatureAlgorithmsCert, SupportedVersionsClientHello, SupportedVersionsServerHello,
    downgrade_sentinel, is_hello_retry_request, message_hash,
};
use libfuzzer_sys::fuzz_target;

/// A message body: parse, and if it parses, encode and parse again.
fn message<T: Codec + PartialEq + Debug>(data: &[u8]) {
    if let Ok(v) = T::read_all(data) {
        let again = T::read_all(&v.to_vec()).expect("our own encoding parses");
        assert_eq!(again, v);
    }
}

/// An extension body: the same, plus the extension-list path (`to_extension`/`find_in`).
fn extension<T: ExtensionBody + PartialEq + Debug>(data: &[u8]) {
    if let Ok(v) = T::parse(data) {
        let bytes = v.body_bytes();
        assert_eq!(T::parse(&bytes).expect("our own encoding parses"), v);
        let found = T::find_in(&[v.to_extension()]).expect("our own extension parses");
        assert_eq!(found.as_ref(), Some(&v));
    }
}

/// An extension block: every 1.3 body looked up in it parses or fails, without panicking.
fn extension_block(data: &[u8]) {
    if let Ok(exts) = read_extensions(&mut Reader::new(data)) {
        let _ = SupportedVersionsClientHello::find_in(&exts);
        let _ = SupportedVersionsServerHello::find_in(&exts);
        let _ = KeyShareClientHello::find_in(&exts);
        let _ = KeyShareServerHello::find_in(&exts);
        let _ = KeyShareHelloRetryRequest::find_in(&exts);
        let _ = Cookie::find_in(&exts);
        let _ = PskKeyExchangeModes::find_in(&exts);
        let _ = SignatureAlgorithmsCert::find_in(&exts);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    match selector % 18 {
        0 => extension::<SupportedVersionsClientHello>(body),
        1 => extension::<SupportedVersionsServerHello>(body),
        2 => extension::<KeyShareClientHello>(body),
        3 => extension::<KeyShareServerHello>(body),
        4 => extension::<KeyShareHelloRetryRequest>(body),
        5 => extension::<Cookie>(body),
        6 => extension::<PskKeyExchangeModes>(body),
        7 => extension::<SignatureAlgorithmsCert>(body),
        8 => message::<EncryptedExtensions>(body),
        9 => message::<Certificate>(body),
        10 => message::<CertificateRequest>(body),
        11 => message::<CertificateVerify>(body),
        12 => message::<KeyUpdate>(body),
        13 => message::<NewSessionTicket>(body),
        14 => message::<Ack>(body),
        15 => extension_block(body),
        16 => {
            if let Ok(random) = <[u8; 32]>::try_from(body) {
                let _ = (is_hello_retry_request(&random), downgrade_sentinel(&random));
            }
        }
        _ => {
            if let Ok(m) = message_hash(body) {
                assert_eq!(m.len(), body.len() + 4);
            }
        }
    }
});
