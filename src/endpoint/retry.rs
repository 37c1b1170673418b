//! Stateless address validation for DTLS 1.3 (RFC 9147 §5.1): a ClientHello from an unknown
//! peer that offers DTLS 1.3 is answered with a HelloRetryRequest carrying a cookie
//! (RFC 8446 §4.1.4, §4.2.2), built by the endpoint without per-peer state, and the second
//! ClientHello, whose cookie extension opens with the endpoint's secrets, creates the
//! session. A DTLS 1.3 hello never carries a legacy_cookie (RFC 9147 §5.3), so the
//! HelloVerifyRequest exchange of DTLS 1.2 cannot validate it.
//!
//! The HelloRetryRequest is the one a session would send: the same suite and group choice
//! (`choose_suite`, `choose_group`), the cookie carrying `Hash(ClientHello1)`, and the same
//! bytes (`hello_retry_request`), so that the session created from the second hello rebuilds
//! the transcript from the cookie alone. Fragmented hellos are reassembled first under the
//! pre-validation budget (`prevalidation.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::hello::{MAX_FRESH_HELLO_SEQ, PeekedHello, peek_client_hello};
use super::prevalidation::{Added, HelloFragment, Reassembled};
use super::{Endpoint, EndpointEvent, EndpointState, MAX_QUEUED_STATELESS};
use crate::codec::{Codec, Reader};
use crate::config::ServerConfig;
use crate::cookie::AddressValidated;
use crate::handshake::tls13::cookie::{RetryState, hello_retry_request};
use crate::handshake::tls13::hash_message;
use crate::handshake::tls13::server::{choose_group, choose_suite, offers_13};
use crate::session::{Session, Transmit};
use crate::wire::handshake_header::{HANDSHAKE_HEADER_LEN, HandshakeHeader, encode_fragment, parse_fragments};
use crate::wire::record::{Deframer, MAX_PLAINTEXT, RecordHeader};
use crate::wire::tls13::{Cookie, ExtensionBody};
use crate::wire::{ClientHello, ContentType, DTLS_1_0, DTLS_1_2, DTLS_1_3, HandshakeType};

/// The supported_versions extension's code point (RFC 8446 §4.2).
const SUPPORTED_VERSIONS: u16 = 43;

/// A whole DTLS 1.3 ClientHello from an unknown peer and where it came from.
struct Hello13<'a> {
    body: &'a [u8],
    message_seq: u16,
    /// The record sequence number the answer (or the new session's epoch-0 records)
    /// continues from: the highest among the hello's records.
    record_seq: u64,
    /// Datagram bytes the peer sent for this hello: the answer may not be larger.
    received: usize,
    /// The datagram that held the whole hello, if one did; else the session is fed the
    /// reassembled hello.
    datagram: Option<&'a [u8]>,
}

/// What the supported_versions extension says, if it lies wholly within `prefix`, the
/// first fragment of a ClientHello body (RFC 8446 §4.2.1): `Some(true)` if it offers
/// DTLS 1.3, `Some(false)` if it does not, `None` if it is not in the prefix.
fn visible_offer13(prefix: &[u8]) -> Option<bool> {
    let mut r = Reader::new(prefix);
    r.take(2 + 32).ok()?;
    r.sub_u8().ok()?;
    r.sub_u8().ok()?;
    r.sub_u16().ok()?;
    r.sub_u8().ok()?;
    r.u16().ok()?;
    // The extension block is cut off by the fragment's end: read whole extensions only.
    while let (Ok(typ), Ok(mut data)) = (r.u16(), r.sub_u16()) {
        if typ == SUPPORTED_VERSIONS {
            let mut list = data.sub_u8().ok()?;
            while let Ok(v) = list.u16() {
                if v == DTLS_1_3 {
                    return Some(true);
                }
            }
            return Some(false);
        }
    }
    None
}

impl Endpoint {
    /// Whether unknown peers' ClientHellos may need the DTLS 1.3 path: the server offers
    /// DTLS 1.3 and validates addresses with cookies.
    pub(super) fn prevalidates(&self) -> bool {
        self.config.server.as_ref().is_some_and(|s| s.cookie && s.common.offers_tls13())
    }

    /// A datagram from an unknown peer (or a restart hello from a live session's address,
    /// see `handle_known`) when [`Endpoint::prevalidates`]: `true` if the
    /// DTLS 1.3 path took it (answered, held or dropped), `false` if it is for the DTLS 1.2
    /// path (a hello that does not offer 1.3 or carries a legacy cookie, or not a hello).
    pub(super) fn handle_unknown13(&mut self, now: Instant, remote: SocketAddr, datagram: &[u8]) -> bool {
        let Some(peeked) = peek_client_hello(datagram, self.max_hello_len()) else {
            // Perhaps a later fragment of a hello being reassembled.
            if !self.prevalidation.holds(remote) {
                return false;
            }
            self.add_hello_fragments(now, remote, datagram);
            return true;
        };
        // RFC 9147 §5.3: a DTLS 1.3 ClientHello has an empty legacy_cookie; one with a
        // cookie answers a HelloVerifyRequest.
        if !peeked.cookie.is_empty() {
            return false;
        }
        if !peeked.fragmented {
            let Ok(hello) = ClientHello::read_all(peeked.body) else { return false };
            if !offers_13(&hello) {
                return false;
            }
            self.prevalidation.forget(remote);
            let h13 = Hello13 {
                body: peeked.body,
                message_seq: peeked.message_seq,
                record_seq: peeked.record_seq,
                received: datagram.len(),
                datagram: Some(datagram),
            };
            self.on_hello13(now, remote, &hello, &h13);
            return true;
        }
        // A first fragment: the hello goes to DTLS 1.2 at once only if its first fragment
        // shows it does not offer 1.3; else it is reassembled and decided whole.
        if visible_offer13(peeked.body) == Some(false) {
            return false;
        }
        if self.admits_hello(remote) {
            self.add_hello_fragments(now, remote, datagram);
        }
        true
    }

    /// Add the ClientHello fragments of `datagram` to the peer's partial hello; a hello that
    /// completes is answered.
    fn add_hello_fragments(&mut self, now: Instant, remote: SocketAddr, datagram: &[u8]) {
        let max_len = self.max_hello_len();
        let mut datagram_len = datagram.len();
        let mut evicted = 0;
        let mut done = None;
        'records: for (header, body) in Deframer::new(datagram) {
            if header.content_type != ContentType::Handshake
                || header.epoch != 0
                || (header.version != DTLS_1_0 && header.version != DTLS_1_2)
            {
                continue;
            }
            for item in parse_fragments(body) {
                let Ok((hs, bytes)) = item else { break };
                if hs.msg_type != HandshakeType::ClientHello
                    || hs.length as usize > max_len
                    || hs.message_seq > MAX_FRESH_HELLO_SEQ
                {
                    self.stats.prevalidation_rejections += 1;
                    continue;
                }
                let frag = HelloFragment {
                    length: hs.length as usize,
                    message_seq: hs.message_seq,
                    offset: hs.fragment_offset as usize,
                    bytes,
                    record_seq: header.sequence,
                };
                match self.prevalidation.add(now, remote, &frag, core::mem::take(&mut datagram_len), &mut evicted) {
                    Added::Held => {}
                    Added::Refused => self.stats.prevalidation_rejections += 1,
                    Added::Complete(hello) => {
                        done = Some(hello);
                        break 'records;
                    }
                }
            }
        }
        self.stats.prevalidation_evictions += evicted;
        if let Some(hello) = done {
            self.stats.prevalidation_reassembled += 1;
            self.on_reassembled(now, remote, hello);
        }
    }

    /// A fragmented hello is whole: DTLS 1.3 if it offers it, else the HelloVerifyRequest
    /// its first fragment would have had (same cookie, same sequence numbers).
    fn on_reassembled(&mut self, now: Instant, remote: SocketAddr, r: Reassembled) {
        let Ok(hello) = ClientHello::read_all(&r.body) else {
            self.stats.datagrams_dropped += 1;
            return;
        };
        if offers_13(&hello) {
            let h13 = Hello13 {
                body: &r.body,
                message_seq: r.message_seq,
                record_seq: r.last_record_seq,
                received: r.received,
                datagram: None,
            };
            self.on_hello13(now, remote, &hello, &h13);
        } else if self.admits_hello(remote) {
            self.stats.fragmented_hellos += 1;
            let peeked = PeekedHello {
                record_seq: r.first_record_seq,
                message_seq: r.message_seq,
                body: &r.body,
                fragmented: false,
                random: hello.random,
                session_id: &hello.session_id,
                cookie: &hello.cookie,
            };
            self.send_hello_verify_request(remote, &peeked, r.received);
        }
    }

    /// A whole DTLS 1.3 ClientHello from an unknown peer: without a cookie extension it
    /// gets a HelloRetryRequest; with one that opens it creates the session; with one that
    /// does not it is dropped.
    fn on_hello13(&mut self, now: Instant, remote: SocketAddr, hello: &ClientHello, h13: &Hello13<'_>) {
        let Some(server) = self.config.server.clone() else { return };
        if self.state != EndpointState::Open {
            self.stats.datagrams_dropped += 1;
            return;
        }
        if !self.admits_hello(remote) {
            return;
        }
        match Cookie::find_in(&hello.extensions) {
            Err(_) => self.stats.datagrams_dropped += 1,
            Ok(None) => self.send_hello_retry_request(remote, &server, hello, h13),
            Ok(Some(c)) => match self.cookies.as_ref().and_then(|k| k.open_retry(remote, &c.cookie)) {
                Some((validated, retry)) => self.accept_after_retry(now, server, validated, retry, hello.random, h13),
                None => self.stats.retry_cookie_rejections += 1,
            },
        }
    }

    /// RFC 8446 §4.1.4 with RFC 9147 §5.1: the stateless HelloRetryRequest, the suite and
    /// group chosen as the session would choose them, the group named only when the client
    /// sent no share for it, `Hash(ClientHello1)` in the cookie. It goes in a DTLSPlaintext
    /// record of epoch 0 (RFC 9147 §4: legacy_record_version DTLS 1.2) that reuses the
    /// hello's record sequence number, as a HelloVerifyRequest does (RFC 6347 §4.2.1), and
    /// the hello's message_seq (RFC 9147 §5.2).
    fn send_hello_retry_request(
        &mut self,
        remote: SocketAddr,
        server: &ServerConfig,
        hello: &ClientHello,
        h13: &Hello13<'_>,
    ) {
        let (Some(cookies), Some(suite), Ok((group, share))) =
            (self.cookies.as_ref(), choose_suite(server, hello), choose_group(server, hello))
        else {
            self.stats.datagrams_dropped += 1;
            return;
        };
        if self.stateless.len() >= MAX_QUEUED_STATELESS {
            self.stats.datagrams_dropped += 1;
            return;
        }
        let state = RetryState {
            suite: suite.suite,
            group: share.is_none().then_some(group),
            client_hello1_hash: hash_message(suite.hash, HandshakeType::ClientHello, h13.body).as_ref().to_vec(),
        };
        let cookie = cookies.seal_retry(remote, &state);
        let body = hello_retry_request(&hello.session_id, &state, cookie).to_vec();
        let mut contents = self.stateless_pool.take(13 + HANDSHAKE_HEADER_LEN + body.len());
        contents.clear();
        encode_hello_records(HandshakeType::ServerHello, h13.message_seq, h13.record_seq, &body, &mut contents);
        // docs/security.md item 11: never answer with more bytes than the ClientHello had.
        if contents.len() > h13.received {
            self.stats.amplification_refusals += 1;
            self.stateless_pool.put(contents);
            return;
        }
        self.stats.hello_retry_requests_sent += 1;
        self.stateless.push_back(Transmit { destination: remote, contents });
    }

    /// The second ClientHello's cookie opened: create the session from it (if
    /// `max_half_open` allows) and feed it the hello, whole.
    fn accept_after_retry(
        &mut self,
        now: Instant,
        server: Arc<ServerConfig>,
        validated: AddressValidated,
        retry: RetryState,
        random: [u8; 32],
        h13: &Hello13<'_>,
    ) {
        if self.half_open >= self.config.max_half_open {
            self.stats.half_open_rejections += 1;
            return;
        }
        // RFC 6347 §4.2.8 (kept by RFC 9147 §5.10 for DTLS 1.3 hellos on an existing
        // association): the client proved reachability with the cookie, so a live session
        // at its address is replaced.
        if let Some(old) = self.by_addr.get(&validated.peer()).copied() {
            self.remove(old);
            self.stats.sessions_replaced += 1;
        }
        let session = Session::server_after_retry(now, server, validated, retry, h13.message_seq, h13.record_seq);
        let h = self.insert(session, Some(random));
        self.stats.server_sessions += 1;
        self.events.push_back((h, EndpointEvent::Accepted));
        match h13.datagram {
            Some(datagram) => self.feed(now, h, datagram),
            None => {
                let mut records = Vec::new();
                encode_hello_records(
                    HandshakeType::ClientHello,
                    h13.message_seq,
                    h13.record_seq,
                    h13.body,
                    &mut records,
                );
                self.feed(now, h, &records);
            }
        }
    }
}

/// One handshake message as plaintext handshake records of epoch 0 (RFC 9147 §4, RFC 6347
/// §4.2.3): a single unfragmented record when it fits a record (2^14 bytes), else records
/// of at most that much, numbered on from `record_seq`.
fn encode_hello_records(msg_type: HandshakeType, message_seq: u16, record_seq: u64, body: &[u8], out: &mut Vec<u8>) {
    // The callers' bodies are at most the endpoint's 16 KiB hello cap or a
    // HelloRetryRequest: their lengths fit the 24-bit fields.
    let length = body.len() as u32;
    let mut offset = 0usize;
    for (seq, chunk) in (record_seq..).zip(body.chunks(MAX_PLAINTEXT - HANDSHAKE_HEADER_LEN)) {
        let hs = HandshakeHeader {
            msg_type,
            length,
            message_seq,
            fragment_offset: offset as u32,
            fragment_length: chunk.len() as u32,
        };
        let record = RecordHeader {
            content_type: ContentType::Handshake,
            version: DTLS_1_2,
            epoch: 0,
            sequence: seq,
            // At most 2^14 bytes.
            length: (HANDSHAKE_HEADER_LEN + chunk.len()) as u16,
        };
        record.encode(out);
        encode_fragment(&hs, chunk, out);
        offset += chunk.len();
    }
}
