//! Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1): an HMAC-SHA256 over the peer's
//! address and the ClientHello fields, keyed by a server secret. Verifying needs no state
//! about the peer; nothing here allocates per peer.

use std::net::SocketAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::codec::{Codec, Put};
use crate::wire::ClientHello;

/// Cookie length in bytes (a full HMAC-SHA256 tag).
pub const COOKIE_LEN: usize = 32;

// RFC 6347 §4.2.1: "Cookie = HMAC(Secret, Client-IP, Client-Parameters)". We bind the
// address and port, and every ClientHello field except the cookie itself, so a cookie is
// useless from another address or with another hello (SECURITY.md item 7).
fn mac(secret: &[u8; 32], peer: SocketAddr, hello: &ClientHello) -> Hmac<Sha256> {
    // RFC 2104 §2: a key shorter than the block is zero-padded to it, so padding here gives
    // the same MAC while letting the key type be checked at compile time.
    let mut block = [0u8; 64];
    block.iter_mut().zip(secret).for_each(|(d, s)| *d = *s);
    let mut m = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
    match peer {
        SocketAddr::V4(a) => {
            m.update(&[4]);
            m.update(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            m.update(&[6]);
            m.update(&a.ip().octets());
        }
    }
    m.update(&peer.port().to_be_bytes());
    let mut fields = Vec::with_capacity(256);
    fields.put_u16(hello.client_version);
    fields.put_slice(&hello.random);
    fields.put_u8(hello.session_id.len() as u8);
    fields.put_slice(&hello.session_id);
    for s in &hello.cipher_suites {
        s.encode(&mut fields);
    }
    fields.put_u8(0xff);
    fields.put_slice(&hello.compression_methods);
    for e in &hello.extensions {
        e.encode(&mut fields);
    }
    m.update(&fields);
    m
}

/// The cookie for `hello` from `peer`.
pub fn compute(secret: &[u8; 32], peer: SocketAddr, hello: &ClientHello) -> [u8; COOKIE_LEN] {
    mac(secret, peer, hello).finalize().into_bytes().into()
}

/// True if `hello.cookie` is the cookie we would have issued (constant-time comparison).
pub fn verify(secret: &[u8; 32], peer: SocketAddr, hello: &ClientHello) -> bool {
    // A cookie of another length (above all the empty one of every first ClientHello) can
    // never match: refuse it without computing the MAC, so a cookie-less flood costs one
    // HMAC per hello (the HelloVerifyRequest's), not one more per live secret. The length
    // is public; only the comparison of the tag needs to be constant-time.
    if hello.cookie.len() != COOKIE_LEN {
        return false;
    }
    mac(secret, peer, hello).verify_slice(&hello.cookie).is_ok()
}
