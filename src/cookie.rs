//! Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1): an HMAC-SHA256 over the peer's
//! address and the ClientHello parameters the client must repeat, keyed by a server secret.
//! Verifying needs no state about the peer; nothing here allocates.
//!
//! RFC 6347 §4.2.1: "When responding to a HelloVerifyRequest, the client MUST use the same
//! parameter values (version, random, session_id, cipher_suites, compression_method) as it
//! did in the original ClientHello." Those fields, and only those, are bound: a client may
//! change its extensions in the second ClientHello (a DTLS 1.3-capable client drops its
//! key_share and supported_versions after falling back to 1.2), so they are not covered.
//! They all sit in the first ~100 bytes of the body, before the extensions, so a cookie can
//! be computed and checked from the first fragment of a fragmented ClientHello; the MAC is
//! taken straight from the received bytes, without parsing into owned values (the stateless
//! path must stay allocation-free and cheap: it answers unauthenticated traffic).

use std::net::SocketAddr;

use ring::hmac;

use crate::codec::Reader;

/// Cookie length in bytes (a full HMAC-SHA256 tag).
pub const COOKIE_LEN: usize = 32;

/// A cookie secret, ready to MAC (ring precomputes the HMAC pads once).
pub fn key(secret: &[u8; 32]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret)
}

/// Where the fields of a ClientHello body sit that the cookie covers or replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedFields {
    /// The cookie's length byte and contents.
    pub cookie: core::ops::Range<usize>,
    /// The end of compression_methods: everything before it, less `cookie`, is bound.
    pub end: usize,
}

/// Find the pinned fields in `body`, a whole ClientHello body or a prefix of one (its first
/// fragment), RFC 5246 §7.4.1.2 with RFC 6347 §4.2.1's cookie:
/// `client_version(2) random(32) session_id<0..32> cookie<0..2^8-1>
/// cipher_suites<2..2^16-2> compression_methods<1..2^8-1> ...`. `None` if `body` ends
/// before compression_methods does.
pub fn pinned_fields(body: &[u8]) -> Option<PinnedFields> {
    let mut r = Reader::new(body);
    r.take(2 + 32).ok()?;
    r.sub_u8().ok()?;
    let start = r.used();
    r.sub_u8().ok()?;
    let cookie = start..r.used();
    r.sub_u16().ok()?;
    r.sub_u8().ok()?;
    Some(PinnedFields { cookie, end: r.used() })
}

// RFC 6347 §4.2.1: "Cookie = HMAC(Secret, Client-IP, Client-Parameters)". We bind the
// address and port and the pinned parameters, so a cookie is useless from another address
// or with another random, session_id, suite list or compression list (docs/security.md item 7).
fn mac(key: &hmac::Key, peer: SocketAddr, body: &[u8], f: &PinnedFields) -> hmac::Tag {
    let mut m = hmac::Context::with_key(key);
    mac_address(&mut m, peer);
    m.update(body.get(..f.cookie.start).unwrap_or_default());
    m.update(body.get(f.cookie.end..f.end).unwrap_or_default());
    m.sign()
}

/// Feed the peer's address family, address and port to a cookie MAC (docs/security.md item
/// 7: a cookie is useless from another address). Shared with the DTLS 1.3 retry cookie.
pub(crate) fn mac_address(m: &mut hmac::Context, peer: SocketAddr) {
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
}

/// The cookie for the ClientHello `body` (whole, or a first fragment holding the pinned
/// fields) from `peer`; `None` if the body ends before its pinned fields do.
pub fn compute(key: &hmac::Key, peer: SocketAddr, body: &[u8]) -> Option<[u8; COOKIE_LEN]> {
    let fields = pinned_fields(body)?;
    let mut out = [0u8; COOKIE_LEN];
    out.copy_from_slice(mac(key, peer, body, &fields).as_ref());
    Some(out)
}

/// Proof that a ClientHello from `peer` carried a cookie issued to that address: its
/// sender can receive there (RFC 6347 §4.2.1). Only [`verify`] (and, for DTLS 1.3,
/// `open_retry`) makes one; a server session
/// created without the cookie exchange of its own must be given one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressValidated {
    peer: SocketAddr,
}

impl AddressValidated {
    /// The address the cookie was issued to.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }
}

/// Whether the cookie of the ClientHello `body` (whole, or a first fragment holding the
/// pinned fields) is the one we would have issued to `peer` (constant-time comparison):
/// the proof if it is.
pub fn verify(key: &hmac::Key, peer: SocketAddr, body: &[u8]) -> Option<AddressValidated> {
    verify_tag(key, peer, body).then_some(AddressValidated { peer })
}

/// Open a DTLS 1.3 HelloRetryRequest cookie (RFC 8446 §4.2.2, RFC 9147 §5.1) made with
/// `key` for `peer`: what it carries, and the proof that its sender receives at `peer`
/// (the cookie reached it in our HelloRetryRequest). `None` for a forged or altered cookie,
/// one made with another key, or one replayed from another address.
pub(crate) fn open_retry(
    key: &hmac::Key,
    peer: SocketAddr,
    cookie: &[u8],
) -> Option<(AddressValidated, crate::handshake::tls13::cookie::RetryState)> {
    let state = crate::handshake::tls13::cookie::open(key, peer, cookie)?;
    Some((AddressValidated { peer }, state))
}

fn verify_tag(key: &hmac::Key, peer: SocketAddr, body: &[u8]) -> bool {
    let Some(fields) = pinned_fields(body) else { return false };
    // A cookie of another length (above all the empty one of every first ClientHello) can
    // never match: refuse it without computing the MAC, so a cookie-less flood costs one
    // HMAC per hello (the HelloVerifyRequest's), not one more per live secret. The length
    // is public; only the comparison of the tag needs to be constant-time.
    let Some(cookie) = body.get(fields.cookie.start + 1..fields.cookie.end) else { return false };
    if cookie.len() != COOKIE_LEN {
        return false;
    }
    let tag = mac(key, peer, body, &fields);
    crate::crypto::ct_eq(tag.as_ref(), cookie)
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

    fn with_extensions(mut body: Vec<u8>, exts: &[u8]) -> Vec<u8> {
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(exts);
        body
    }

    #[test]
    fn cookie_ignores_extensions_but_binds_pinned_fields() {
        let k = key(&[1; 32]);
        let peer: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        // A first hello with a key_share-like extension, the second without it.
        let c = compute(&k, peer, &with_extensions(hello_body(&[]), &[0, 0x33, 0, 2, 1, 2])).unwrap();
        assert!(verify(&k, peer, &with_extensions(hello_body(&c), &[0, 0x17, 0, 0])).is_some());
        assert!(verify(&k, peer, &hello_body(&c)).is_some());
        // The first fragment alone (through compression_methods) verifies too.
        let whole = with_extensions(hello_body(&c), &[0, 0x17, 0, 0]);
        assert!(verify(&k, peer, &whole[..hello_body(&c).len()]).is_some());
        assert!(verify(&k, peer, &whole[..hello_body(&c).len() - 1]).is_none());
        // Each pinned field is bound: version, random, session_id, suites, compression.
        for at in [0, 5, 34] {
            let mut b = hello_body(&c);
            b[at] ^= 1;
            assert!(verify(&k, peer, &b).is_none(), "byte {at}");
        }
        let mut sid = vec![0xfe, 0xfd];
        sid.extend_from_slice(&[7; 32]);
        sid.extend_from_slice(&[1, 9]);
        sid.push(32);
        sid.extend_from_slice(&c);
        sid.extend_from_slice(&[0, 2, 0xc0, 0x2b, 1, 0]);
        assert!(verify(&k, peer, &sid).is_none());
    }

    #[test]
    fn cookie_verifies_only_for_its_peer_and_hello() {
        let k = key(&[1; 32]);
        let peer: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let c = compute(&k, peer, &hello_body(&[])).unwrap();
        assert!(verify(&k, peer, &hello_body(&c)).is_some());
        assert!(verify(&k, "192.0.2.1:5001".parse().unwrap(), &hello_body(&c)).is_none());
        assert!(verify(&key(&[2; 32]), peer, &hello_body(&c)).is_none());
        let mut other = hello_body(&c);
        *other.last_mut().unwrap() ^= 1;
        assert!(verify(&k, peer, &other).is_none());
        assert!(verify(&k, peer, &hello_body(&c[..31])).is_none());
        assert!(verify(&k, peer, &hello_body(&[])[..20]).is_none());
    }
}
