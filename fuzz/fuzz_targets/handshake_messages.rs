//! Every handshake message type: whatever parses must encode back to a body that parses to
//! the same value (rustls' `read(encode(read(x))) == read(x)` habit).
#![no_main]

use dtls_engine::internals::wire::{HandshakePayload, HandshakeType};
use libfuzzer_sys::fuzz_target;

const TYPES: [u8; 11] = [0, 1, 2, 3, 11, 12, 13, 14, 15, 16, 20];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let typ = HandshakeType::from(TYPES[usize::from(selector) % TYPES.len()]);
    if let Ok(payload) = HandshakePayload::read(typ, body) {
        assert_eq!(payload.msg_type(), typ);
        let mut encoded = Vec::new();
        payload.encode_body(&mut encoded);
        let again = HandshakePayload::read(typ, &encoded).expect("our own encoding parses");
        assert_eq!(again, payload);
    }
});
