//! Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1): an HMAC-SHA256 over the peer's
//! address and the ClientHello, keyed by a server secret. Verifying needs no state about the
//! peer; nothing here allocates.
//!
//! The MAC covers the raw ClientHello body as received, less its cookie field, so it can be
//! computed straight from the datagram without parsing the hello into owned values (the
//! stateless path must stay allocation-free and cheap: it answers unauthenticated traffic).

use std::net::SocketAddr;

use ring::hmac;

use crate::codec::Reader;

/// Cookie length in bytes (a full HMAC-SHA256 tag).
pub const COOKIE_LEN: usize = 32;

/// A cookie secret, ready to MAC (ring precomputes the HMAC pads once).
pub fn key(secret: &[u8; 32]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret)
}

/// Where the cookie field sits in a ClientHello body (RFC 5246 §7.4.1.2, RFC 6347 §4.2.1):
/// `client_version(2) random(32) session_id<0..32> cookie<0..2^8-1> ...`. Returns the range of
/// the cookie's length byte and contents, or `None` if the body is too short to hold them.
pub fn cookie_field(body: &[u8]) -> Option<core::ops::Range<usize>> {
    let mut r = Reader::new(body);
    r.take(2 + 32).ok()?;
    r.sub_u8().ok()?;
    let start = r.used();
    r.sub_u8().ok()?;
    Some(start..r.used())
}

// RFC 6347 §4.2.1: "Cookie = HMAC(Secret, Client-IP, Client-Parameters)". We bind the
// address and port, and every byte of the ClientHello body except the cookie field itself,
// so a cookie is useless from another address or with another hello (SECURITY.md item 7).
fn mac(key: &hmac::Key, peer: SocketAddr, body: &[u8], cookie_field: &core::ops::Range<usize>) -> hmac::Tag {
    let mut m = hmac::Context::with_key(key);
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
    m.update(body.get(..cookie_field.start).unwrap_or_default());
    m.update(body.get(cookie_field.end..).unwrap_or_default());
    m.sign()
}

/// The cookie for the ClientHello `body` from `peer`; `None` if the body is too short to
/// be a ClientHello.
pub fn compute(key: &hmac::Key, peer: SocketAddr, body: &[u8]) -> Option<[u8; COOKIE_LEN]> {
    let field = cookie_field(body)?;
    let mut out = [0u8; COOKIE_LEN];
    out.copy_from_slice(mac(key, peer, body, &field).as_ref());
    Some(out)
}

/// True if the cookie of the ClientHello `body` is the one we would have issued to `peer`
/// (constant-time comparison).
pub fn verify(key: &hmac::Key, peer: SocketAddr, body: &[u8]) -> bool {
    let Some(field) = cookie_field(body) else { return false };
    // A cookie of another length (above all the empty one of every first ClientHello) can
    // never match: refuse it without computing the MAC, so a cookie-less flood costs one
    // HMAC per hello (the HelloVerifyRequest's), not one more per live secret. The length
    // is public; only the comparison of the tag needs to be constant-time.
    let Some(cookie) = body.get(field.start + 1..field.end) else { return false };
    if cookie.len() != COOKIE_LEN {
        return false;
    }
    let tag = mac(key, peer, body, &field);
    crate::handshake::context::ct_eq(tag.as_ref(), cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello_body(cookie: &[u8]) -> Vec<u8> {
        let mut b = vec![0xfe, 0xfd];
        b.extend_from_slice(&[7; 32]);
        b.push(0);
        b.push(cookie.len() as u8);
        b.extend_from_slice(cookie);
        b.extend_from_slice(&[0, 2, 0xc0, 0x2b, 1, 0]);
        b
    }

    #[test]
    fn cookie_verifies_only_for_its_peer_and_hello() {
        let k = key(&[1; 32]);
        let peer: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let c = compute(&k, peer, &hello_body(&[])).unwrap();
        assert!(verify(&k, peer, &hello_body(&c)));
        assert!(!verify(&k, "192.0.2.1:5001".parse().unwrap(), &hello_body(&c)));
        assert!(!verify(&key(&[2; 32]), peer, &hello_body(&c)));
        let mut other = hello_body(&c);
        *other.last_mut().unwrap() ^= 1;
        assert!(!verify(&k, peer, &other));
        assert!(!verify(&k, peer, &hello_body(&c[..31])));
        assert!(!verify(&k, peer, &hello_body(&[])[..20]));
    }
}
