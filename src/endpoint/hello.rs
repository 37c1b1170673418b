//! The stateless part of an endpoint: recognising a ClientHello from a datagram, the rotating
//! cookie secrets, and building the HelloVerifyRequest answer (RFC 6347 §4.2.1). The same
//! secrets seal and open DTLS 1.3 HelloRetryRequest cookies (`retry.rs`).
//!
//! This module owns only per-endpoint values (two secrets and an RNG). It must never keep
//! anything about a peer: every function takes the peer's datagram and address and returns a
//! value the caller sends or drops before its call returns.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand_core::RngCore;
use zeroize::Zeroize;

use ring::hmac;

use crate::codec::Reader;
use crate::cookie;
use crate::crypto::rng::DetRng;
use crate::handshake::tls13::cookie::{self as tls13_cookie, RetryState};
use crate::wire::handshake_header::{HANDSHAKE_HEADER_LEN, HandshakeHeader, encode_fragment, parse_fragments};
use crate::wire::record::{Deframer, RecordHeader};
use crate::wire::{ContentType, DTLS_1_0, DTLS_1_2, HandshakeType};

/// The highest message_seq a ClientHello that starts a handshake may carry: 0 for the first
/// one, plus one per HelloVerifyRequest round (our client follows at most four).
pub(crate) const MAX_FRESH_HELLO_SEQ: u16 = 4;

/// A ClientHello found in the first record of a datagram, borrowed from the datagram: the
/// stateless path parses only what it needs and allocates nothing.
#[derive(Debug)]
pub(crate) struct PeekedHello<'a> {
    /// The record sequence number; the HelloVerifyRequest reuses it (RFC 6347 §4.2.1).
    pub record_seq: u64,
    /// The handshake message_seq; the HelloVerifyRequest reuses it (RFC 6347 §4.2.2).
    pub message_seq: u16,
    /// The ClientHello body as far as this fragment carries it: all of it, or (when
    /// `fragmented`) a prefix that holds at least the fields the cookie binds.
    pub body: &'a [u8],
    /// Only the first fragment of a larger ClientHello is in this datagram.
    pub fragmented: bool,
    pub random: [u8; 32],
    #[cfg_attr(not(test), allow(dead_code))]
    pub session_id: &'a [u8],
    #[cfg_attr(not(test), allow(dead_code))]
    pub cookie: &'a [u8],
}

/// Cheap pre-check used for datagrams of known peers: does the first record look like a
/// plaintext handshake record of epoch 0? (Content type 22 and epoch bytes zero.)
pub(crate) fn may_be_client_hello(datagram: &[u8]) -> bool {
    matches!(datagram, [22, _, _, 0, 0, ..])
}

/// Parse just enough of `datagram` to find one ClientHello: the first record must be a
/// handshake record of epoch 0 with a DTLS 1.0 or 1.2 record version, whose first fragment
/// is a ClientHello that starts a handshake, of at most `max_len` bytes, and either whole
/// or the fragment at offset 0 (RFC 6347 §4.2.3). Anything else is `None`.
///
/// A first fragment must hold every field the cookie binds (version, random, session_id,
/// cookie, cipher_suites, compression_methods: the first ~100 bytes, as OpenSSL's
/// `DTLSv1_listen` also requires), so the cookie is computed and verified from it alone and
/// no state is kept for the rest until it verifies. A whole hello's structure is checked
/// too (RFC 5246 §7.4.1.2: every length prefix fits, the extension block is well-formed and
/// nothing trails it); its contents are checked by the session once the cookie verified.
pub(crate) fn peek_client_hello(datagram: &[u8], max_len: usize) -> Option<PeekedHello<'_>> {
    let (header, body) = Deframer::new(datagram).next()?;
    if header.content_type != ContentType::Handshake
        || header.epoch != 0
        || (header.version != DTLS_1_0 && header.version != DTLS_1_2)
    {
        return None;
    }
    let (hs, msg) = parse_fragments(body).next()?.ok()?;
    let fragmented = !hs.is_whole_message();
    if hs.msg_type != HandshakeType::ClientHello
        || hs.fragment_offset != 0
        || hs.message_seq > MAX_FRESH_HELLO_SEQ
        || hs.length as usize > max_len
    {
        return None;
    }
    let mut r = Reader::new(msg);
    r.u16().ok()?;
    let random = r.array().ok()?;
    let session_id = r.sub_u8().ok()?.take_rest();
    let cookie = r.sub_u8().ok()?.take_rest();
    let suites = r.sub_u16().ok()?;
    let compression = r.sub_u8().ok()?;
    if session_id.len() > 32 || suites.is_empty() || suites.left() % 2 != 0 || compression.is_empty() {
        return None;
    }
    if !fragmented && !r.is_empty() {
        let mut exts = r.sub_u16().ok()?;
        while !exts.is_empty() {
            exts.u16().ok()?;
            exts.sub_u16().ok()?;
        }
        if !r.is_empty() {
            return None;
        }
    }
    Some(PeekedHello {
        record_seq: header.sequence,
        message_seq: hs.message_seq,
        body: msg,
        fragmented,
        random,
        session_id,
        cookie,
    })
}

/// The endpoint's cookie secrets: the current one, and the previous one, still accepted for
/// one rotation period so that a client caught by a rotation mid-exchange still gets in.
pub(crate) struct CookieSecrets {
    // Only the HMAC keys are kept (ring's precomputed pads), never the raw secrets.
    current: hmac::Key,
    previous: Option<hmac::Key>,
    next_rotation: Instant,
    period: Duration,
    rng: DetRng,
    /// With a secret shared by several endpoints (`ServerConfigBuilder::cookie_secret`), the
    /// secrets come from it by wall-clock period, the same everywhere.
    shared: Option<SharedCookieSecret>,
}

/// A shared cookie secret, the clock that numbers its periods, and the current period.
struct SharedCookieSecret {
    secret: hmac::Key,
    time: crate::config::TimeSource,
    index: u64,
}

impl SharedCookieSecret {
    /// The period's number now, and the time until the next one.
    fn now(&self, period: Duration) -> (u64, Duration) {
        let secs = (self.time)().as_secs();
        let p = period.as_secs().max(1);
        (secs / p, Duration::from_secs(p - secs % p))
    }

    /// The HMAC key of period `index`: HMAC(secret, label || index).
    fn key(&self, index: u64) -> hmac::Key {
        let tag = hmac::sign(&self.secret, &[&b"dtls-engine cookie secret"[..], &index.to_be_bytes()].concat());
        hmac::Key::new(hmac::HMAC_SHA256, tag.as_ref())
    }
}

impl core::fmt::Debug for CookieSecrets {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CookieSecrets").field("next_rotation", &self.next_rotation).finish_non_exhaustive()
    }
}

impl CookieSecrets {
    /// Draw the first secret from `rng`. Periods under one second are raised to one second.
    pub(crate) fn new(mut rng: DetRng, period: Duration, now: Instant) -> Self {
        let period = period.max(Duration::from_secs(1));
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        let current = cookie::key(&secret);
        secret.zeroize();
        Self { current, previous: None, next_rotation: now + period, period, rng, shared: None }
    }

    /// Secrets derived from `secret` (shared by every endpoint that should accept the same
    /// cookies), one per `period` of the wall clock `time` (at least one second), the
    /// previous one still accepted.
    pub(crate) fn shared(
        secret: &[u8],
        time: crate::config::TimeSource,
        period: Duration,
        now: Instant,
        rng: DetRng,
    ) -> Self {
        let period = Duration::from_secs(period.as_secs().max(1));
        let mut shared = SharedCookieSecret { secret: hmac::Key::new(hmac::HMAC_SHA256, secret), time, index: 0 };
        let (index, left) = shared.now(period);
        shared.index = index;
        let current = shared.key(index);
        let previous = index.checked_sub(1).map(|i| shared.key(i));
        Self { current, previous, next_rotation: now + left, period, rng, shared: Some(shared) }
    }

    /// RFC 6347 §4.2.1: "the server SHOULD change its secret periodically". Rotate when a
    /// period has elapsed; a secret older than two periods is never accepted again.
    pub(crate) fn rotate_if_due(&mut self, now: Instant) {
        if now < self.next_rotation {
            return;
        }
        if let Some(shared) = self.shared.as_mut() {
            let (index, left) = shared.now(self.period);
            if index != shared.index {
                shared.index = index;
                self.current = shared.key(index);
                self.previous = index.checked_sub(1).map(|i| shared.key(i));
            }
            self.next_rotation = now + left;
            return;
        }
        let missed_one = now >= self.next_rotation + self.period;
        let mut secret = [0u8; 32];
        self.rng.fill_bytes(&mut secret);
        let fresh = cookie::key(&secret);
        secret.zeroize();
        let old = core::mem::replace(&mut self.current, fresh);
        self.previous = None;
        if missed_one {
            // The old current secret is already more than one period past its retirement.
            self.next_rotation = now + self.period;
        } else {
            self.previous = Some(old);
            self.next_rotation += self.period;
        }
    }

    /// The proof that the hello's cookie was issued to `peer` with the current or previous
    /// secret, if it was.
    pub(crate) fn verify(&self, peer: SocketAddr, hello: &PeekedHello<'_>) -> Option<cookie::AddressValidated> {
        cookie::verify(&self.current, peer, hello.body)
            .or_else(|| self.previous.as_ref().and_then(|p| cookie::verify(p, peer, hello.body)))
    }

    /// RFC 9147 §5.1: the DTLS 1.3 HelloRetryRequest cookie for `state`, bound to `peer`,
    /// made with the current secret.
    pub(crate) fn seal_retry(&self, peer: SocketAddr, state: &RetryState) -> Vec<u8> {
        tls13_cookie::seal(&self.current, peer, state)
    }

    /// A DTLS 1.3 cookie extension's contents, if made for `peer` with the current or the
    /// previous secret: what it carries, and the proof of address.
    pub(crate) fn open_retry(&self, peer: SocketAddr, cookie: &[u8]) -> Option<(cookie::AddressValidated, RetryState)> {
        cookie::open_retry(&self.current, peer, cookie)
            .or_else(|| self.previous.as_ref().and_then(|p| cookie::open_retry(p, peer, cookie)))
    }

    /// The stateless HelloVerifyRequest datagram answering `peeked` from `peer`.
    ///
    /// RFC 6347 §4.2.1: "the server MUST use the record sequence number in the ClientHello
    /// as the record sequence number in the HelloVerifyRequest"; RFC 6347 §4.2.2: the
    /// HelloVerifyRequest carries the ClientHello's message_seq. Like OpenSSL (see
    /// `vectors/captures/openssl-hello/s2c-01.hex`) the record and server_version are
    /// DTLS 1.0 (0xfeff), as RFC 6347 §4.2.1 recommends.
    pub(crate) fn hello_verify_request(&self, peer: SocketAddr, peeked: &PeekedHello<'_>, out: &mut Vec<u8>) {
        // The peeked body always holds a cookie field (`peek_client_hello` read it).
        let cookie = cookie::compute(&self.current, peer, peeked.body).unwrap_or_default();
        // HelloVerifyRequest body: server_version(2) cookie<0..2^8-1> (RFC 6347 §4.2.1).
        let mut body = [0u8; 3 + cookie::COOKIE_LEN];
        let [v0, v1] = DTLS_1_0.to_be_bytes();
        let (head, tail) = body.split_at_mut(3);
        head.copy_from_slice(&[v0, v1, cookie::COOKIE_LEN as u8]);
        tail.copy_from_slice(&cookie);
        let length = body.len() as u32;
        let hs = HandshakeHeader {
            msg_type: HandshakeType::HelloVerifyRequest,
            length,
            message_seq: peeked.message_seq,
            fragment_offset: 0,
            fragment_length: length,
        };
        let record = RecordHeader {
            content_type: ContentType::Handshake,
            version: DTLS_1_0,
            epoch: 0,
            sequence: peeked.record_seq,
            // The handshake header and a 35-byte body: fits in u16.
            length: (HANDSHAKE_HEADER_LEN + body.len()) as u16,
        };
        out.clear();
        record.encode(out);
        encode_fragment(&hs, &body, out);
    }
}
