//! The HelloRetryRequest and its cookie (RFC 8446 §4.1.4, §4.2.2; RFC 9147 §5.1): what a
//! DTLS 1.3 server needs to continue after a retry — the hash of the first ClientHello, the
//! suite and the group it chose — travels in the cookie, MACed and bound to the client's
//! address, so the server keeps no state before the second ClientHello proves the address.
//! The HelloRetryRequest itself is rebuilt from the cookie byte for byte (it is part of the
//! transcript), so it must depend on nothing else but the echoed session ID.

use std::net::SocketAddr;

use ring::hmac;

use crate::registry::{CipherSuite, NamedGroup};
use crate::wire::tls13::{
    Cookie, ExtensionBody, HELLO_RETRY_REQUEST_RANDOM, KeyShareHelloRetryRequest, SupportedVersionsServerHello,
};
use crate::wire::{DTLS_1_2, DTLS_1_3, ServerHello};

/// First byte of our cookies: the layout version.
const COOKIE_FORMAT: u8 = 1;
/// The MAC at the end of a cookie: HMAC-SHA256.
const MAC_LEN: usize = 32;
/// Longest cookie: format, suite, group, hash length, a SHA-384 hash, the MAC.
pub const MAX_COOKIE_LEN: usize = 1 + 2 + 2 + 1 + 48 + MAC_LEN;

/// What a verified cookie carries: the server's earlier choices and the first hello's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryState {
    pub suite: CipherSuite,
    /// The group the HelloRetryRequest asked for, if it asked for one.
    pub group: Option<NamedGroup>,
    /// `Hash(ClientHello1)` in transcript form.
    pub client_hello1_hash: Vec<u8>,
}

/// The cookie for `state`, bound to `peer`.
pub fn seal(key: &hmac::Key, peer: SocketAddr, state: &RetryState) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_COOKIE_LEN);
    out.push(COOKIE_FORMAT);
    out.extend_from_slice(&u16::from(state.suite).to_be_bytes());
    out.extend_from_slice(&state.group.map_or(0, u16::from).to_be_bytes());
    out.push(state.client_hello1_hash.len() as u8);
    out.extend_from_slice(&state.client_hello1_hash);
    let tag = mac(key, peer, &out);
    out.extend_from_slice(tag.as_ref());
    out
}

/// The state in `cookie` if it is ours and was made for `peer`; `None` otherwise (a forged,
/// altered or replayed-from-elsewhere cookie).
pub fn open(key: &hmac::Key, peer: SocketAddr, cookie: &[u8]) -> Option<RetryState> {
    let (fields, tag) = cookie.split_at_checked(cookie.len().checked_sub(MAC_LEN)?)?;
    let &[format, s0, s1, g0, g1, hash_len, ref hash @ ..] = fields else { return None };
    if format != COOKIE_FORMAT || usize::from(hash_len) != hash.len() || !(hash.len() == 32 || hash.len() == 48) {
        return None;
    }
    if !crate::crypto::ct_eq(mac(key, peer, fields).as_ref(), tag) {
        return None;
    }
    let group = u16::from_be_bytes([g0, g1]);
    Some(RetryState {
        suite: CipherSuite::from(u16::from_be_bytes([s0, s1])),
        group: (group != 0).then(|| NamedGroup::from(group)),
        client_hello1_hash: hash.to_vec(),
    })
}

/// The MAC of a cookie's fields for `peer` (the address first, as the DTLS 1.2 cookie's).
fn mac(key: &hmac::Key, peer: SocketAddr, fields: &[u8]) -> hmac::Tag {
    let mut m = hmac::Context::with_key(key);
    crate::cookie::mac_address(&mut m, peer);
    m.update(fields);
    m.sign()
}

/// The HelloRetryRequest (RFC 8446 §4.1.4): a ServerHello with the special random,
/// supported_versions, the group to retry with (if any) and the cookie, in that order.
pub fn hello_retry_request(session_id: &[u8], state: &RetryState, cookie: Vec<u8>) -> ServerHello {
    let mut extensions = vec![SupportedVersionsServerHello { selected_version: DTLS_1_3 }.to_extension()];
    if let Some(group) = state.group {
        extensions.push(KeyShareHelloRetryRequest { selected_group: group }.to_extension());
    }
    extensions.push(Cookie { cookie }.to_extension());
    ServerHello {
        server_version: DTLS_1_2,
        random: HELLO_RETRY_REQUEST_RANDOM,
        session_id: session_id.to_vec(),
        cipher_suite: state.suite,
        compression_method: 0,
        extensions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &[7; 32])
    }

    #[test]
    fn cookie_round_trips_only_for_its_address() {
        let state = RetryState {
            suite: CipherSuite::TLS_AES_128_GCM_SHA256,
            group: Some(NamedGroup::X25519MLKEM768),
            client_hello1_hash: vec![9; 32],
        };
        let a: SocketAddr = "127.0.0.1:4444".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:4445".parse().unwrap();
        let c = seal(&key(), a, &state);
        assert!(c.len() <= MAX_COOKIE_LEN);
        assert_eq!(open(&key(), a, &c), Some(state));
        assert_eq!(open(&key(), b, &c), None);
        for i in 0..c.len() {
            let mut bad = c.clone();
            bad[i] ^= 1;
            assert_eq!(open(&key(), a, &bad), None, "byte {i}");
        }
        assert_eq!(open(&key(), a, &c[..10]), None);
        assert_eq!(open(&key(), a, &[]), None);
    }
}
