//! A scripted DTLS 1.2 client that sends ClientHellos given as raw bodies (browser-shaped
//! ones from `vectors/hellos/`) to a real server [`Endpoint`], fragmented at a path MTU as a
//! real client would, and then completes the handshake with the crate's public codec, key
//! schedule and record layer, like the scripted peers of `evil.rs` (which face a bare
//! [`Session`](dtls_engine::Session) and send unfragmented messages; this one faces the
//! endpoint, so the stateless cookie path and the session table are in the loop).
//!
//! What it proves by itself: nothing; tests use it to show that the endpoint answers a
//! hello from its first fragment, creates a session only for a verified cookie, and that
//! the session reassembles, negotiates and finishes the handshake (the server's Finished
//! is checked against our own transcript, so both sides hashed the same bytes).
//!
//! Also here: byte-level helpers for ClientHello bodies (insert a cookie, drop extensions,
//! list extension types) and for reading a HelloVerifyRequest out of a datagram.

use std::net::SocketAddr;
use std::time::Instant;

use dtls_engine::internals::codec::Codec;
use dtls_engine::internals::crypto::{DetRng, KeyExchange};
use dtls_engine::internals::handshake::key_schedule::{MasterSecret, Side as KeySide};
use dtls_engine::internals::handshake::reassembler::{HandshakeMessage, Reassembler};
use dtls_engine::internals::record::protection::RecordLayer;
use dtls_engine::internals::suites::{self, SuiteInfo};
use dtls_engine::internals::wire::handshake_header::{HandshakeHeader, encode_fragment, parse_fragments};
use dtls_engine::internals::wire::record::Deframer;
use dtls_engine::internals::wire::{
    Alert, ClientKeyExchange, ContentType, Finished, HandshakePayload, HandshakeType, ServerHello,
};
use dtls_engine::{Endpoint, EndpointEvent, Event, NamedGroup, SessionHandle};

use super::wire::handshake_body;

/// Bytes of a DTLS record header (RFC 6347 §4.1).
pub const RECORD_HEADER_LEN: usize = 13;
/// Bytes of a DTLS handshake header (RFC 6347 §4.2.2).
pub const HANDSHAKE_HEADER_LEN: usize = 12;

// ---------------------------------------------------------------------------------------
// ClientHello bodies, byte by byte (RFC 5246 §7.4.1.2 with RFC 6347 §4.2.1's cookie)

/// Decode lowercase or uppercase hex, ignoring whitespace and lines starting with `#`.
pub fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(str::bytes)
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits
        .chunks(2)
        .map(|p| {
            let s = std::str::from_utf8(p).expect("ascii");
            u8::from_str_radix(s, 16).unwrap_or_else(|_| panic!("bad hex {s:?}"))
        })
        .collect()
}

fn be16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([b[at], b[at + 1]]))
}

/// Offsets in a ClientHello body: the cookie's length byte, the end of
/// compression_methods (where the cookie-bound fields end) and the extension block
/// (its length prefix), if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelloLayout {
    pub cookie_len_at: usize,
    pub pinned_end: usize,
    pub extensions_at: Option<usize>,
}

/// Walk a whole ClientHello body. Panics on a malformed one (test inputs are ours).
pub fn hello_layout(body: &[u8]) -> HelloLayout {
    let sid = 2 + 32;
    let cookie_len_at = sid + 1 + usize::from(body[sid]);
    let suites_at = cookie_len_at + 1 + usize::from(body[cookie_len_at]);
    let compression_at = suites_at + 2 + be16(body, suites_at);
    let pinned_end = compression_at + 1 + usize::from(body[compression_at]);
    let extensions_at = (pinned_end < body.len()).then_some(pinned_end);
    if let Some(at) = extensions_at {
        assert_eq!(at + 2 + be16(body, at), body.len(), "extension block must end the body");
    }
    HelloLayout { cookie_len_at, pinned_end, extensions_at }
}

/// The body with its cookie field replaced by `cookie`; nothing else changes.
pub fn with_cookie(body: &[u8], cookie: &[u8]) -> Vec<u8> {
    let l = hello_layout(body);
    let old_end = l.cookie_len_at + 1 + usize::from(body[l.cookie_len_at]);
    let mut out = body[..l.cookie_len_at].to_vec();
    out.push(u8::try_from(cookie.len()).expect("cookie <= 255 bytes"));
    out.extend_from_slice(cookie);
    out.extend_from_slice(&body[old_end..]);
    out
}

/// The extensions of a body in order: (type, extension_data).
pub fn extensions(body: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let Some(at) = hello_layout(body).extensions_at else { return Vec::new() };
    let end = at + 2 + be16(body, at);
    let mut pos = at + 2;
    let mut out = Vec::new();
    while pos < end {
        let typ = u16::from_be_bytes([body[pos], body[pos + 1]]);
        let len = be16(body, pos + 2);
        out.push((typ, body[pos + 4..pos + 4 + len].to_vec()));
        pos += 4 + len;
    }
    assert_eq!(pos, end, "extension block overruns");
    out
}

/// The extension types of a body, in order.
pub fn extension_types(body: &[u8]) -> Vec<u16> {
    extensions(body).into_iter().map(|(t, _)| t).collect()
}

/// The body without the extensions whose type is in `drop`, the rest in their order.
pub fn without_extensions(body: &[u8], drop: &[u16]) -> Vec<u8> {
    let l = hello_layout(body);
    let mut block = Vec::new();
    for (typ, data) in extensions(body).into_iter().filter(|(t, _)| !drop.contains(t)) {
        block.extend_from_slice(&typ.to_be_bytes());
        block.extend_from_slice(&u16::try_from(data.len()).expect("extension size").to_be_bytes());
        block.extend_from_slice(&data);
    }
    let mut out = body[..l.pinned_end].to_vec();
    out.extend_from_slice(&u16::try_from(block.len()).expect("block size").to_be_bytes());
    out.extend_from_slice(&block);
    out
}

// ---------------------------------------------------------------------------------------
// Datagrams

/// `body` as a ClientHello with `message_seq`, cut into fragments so that each record
/// (13-byte record header, 12-byte handshake header, fragment) fills at most `mtu` bytes,
/// one record per datagram, sealed in epoch 0 with `records`' next sequence numbers.
pub fn hello_datagrams(records: &mut RecordLayer, body: &[u8], message_seq: u16, mtu: usize) -> Vec<Vec<u8>> {
    let room = mtu - RECORD_HEADER_LEN - HANDSHAKE_HEADER_LEN;
    let length = u32::try_from(body.len()).expect("u24 body");
    let mut out = Vec::new();
    for (i, chunk) in body.chunks(room).enumerate() {
        let header = HandshakeHeader {
            msg_type: HandshakeType::ClientHello,
            length,
            message_seq,
            fragment_offset: u32::try_from(i * room).expect("offset"),
            fragment_length: u32::try_from(chunk.len()).expect("fragment"),
        };
        let mut payload = Vec::new();
        encode_fragment(&header, chunk, &mut payload);
        let mut datagram = Vec::new();
        records.seal(0, ContentType::Handshake, &payload, &mut datagram).expect("seal epoch 0");
        assert!(datagram.len() <= mtu);
        out.push(datagram);
    }
    out
}

/// The cookie of the HelloVerifyRequest in `datagram`, if its first record holds one.
pub fn hello_verify_cookie(datagram: &[u8]) -> Option<Vec<u8>> {
    let (header, body) = Deframer::new(datagram).next()?;
    if header.content_type != ContentType::Handshake || header.epoch != 0 {
        return None;
    }
    let (hs, msg) = parse_fragments(body).next()?.ok()?;
    match HandshakePayload::read(hs.msg_type, msg).ok()? {
        HandshakePayload::HelloVerifyRequest(h) => Some(h.cookie),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// The scripted client

/// A scripted client at `addr` facing a real server [`Endpoint`], which it owns.
pub struct HelloClient {
    pub now: Instant,
    pub addr: SocketAddr,
    /// The endpoint under test.
    pub endpoint: Endpoint,
    /// Our path MTU: hellos are fragmented to it.
    pub mtu: usize,
    pub records: RecordLayer,
    pub transcript: Vec<u8>,
    pub rng: DetRng,
    send_seq: u16,
    pub suite: Option<&'static SuiteInfo>,
    pub client_random: [u8; 32],
    pub server_hello: Option<ServerHello>,
    server_kx: Option<(NamedGroup, Vec<u8>)>,
    master: Option<MasterSecret>,
    reassembler: Reassembler,
    /// Handshake messages received (the HelloVerifyRequest is not among them).
    pub messages: Vec<HandshakeMessage>,
    /// How many of `messages` are in the transcript.
    consumed: usize,
    /// Cookies of the HelloVerifyRequests received.
    pub cookies: Vec<Vec<u8>>,
    /// Every datagram we sent and every one the endpoint sent us.
    pub sent: Vec<Vec<u8>>,
    pub received: Vec<Vec<u8>>,
    /// The endpoint's events.
    pub events: Vec<(SessionHandle, EndpointEvent)>,
    /// Application data the server sent us, decrypted.
    pub app_data: Vec<Vec<u8>>,
    pub alerts: Vec<Alert>,
    /// Epoch-1 records we could not open.
    pub undecryptable: usize,
}

impl HelloClient {
    pub fn new(endpoint: Endpoint, addr: SocketAddr, mtu: usize, now: Instant) -> Self {
        Self {
            now,
            addr,
            endpoint,
            mtu,
            records: RecordLayer::new(),
            transcript: Vec::new(),
            rng: DetRng::from_seed([0x5c; 32]),
            send_seq: 0,
            suite: None,
            client_random: [0; 32],
            server_hello: None,
            server_kx: None,
            master: None,
            reassembler: Reassembler::default(),
            messages: Vec::new(),
            consumed: 0,
            cookies: Vec::new(),
            sent: Vec::new(),
            received: Vec::new(),
            events: Vec::new(),
            app_data: Vec::new(),
            alerts: Vec::new(),
            undecryptable: 0,
        }
    }

    /// Send `body` as ClientHello number `message_seq`, fragmented to our MTU (see
    /// [`HelloClient::prepare_hello`]). Returns the datagrams, already delivered.
    pub fn send_hello(&mut self, body: &[u8], message_seq: u16) -> Vec<Vec<u8>> {
        let datagrams = self.prepare_hello(body, message_seq);
        for d in &datagrams {
            self.deliver(d);
        }
        datagrams
    }

    /// The datagrams of `body` as ClientHello number `message_seq`, fragmented to our MTU,
    /// not yet delivered. A hello with a cookie (`message_seq` > 0) starts the transcript
    /// (RFC 6347 §4.2.6: the first ClientHello and the HelloVerifyRequest are not in it).
    pub fn prepare_hello(&mut self, body: &[u8], message_seq: u16) -> Vec<Vec<u8>> {
        self.client_random.copy_from_slice(&body[2..34]);
        let datagrams = hello_datagrams(&mut self.records, body, message_seq, self.mtu);
        if message_seq > 0 {
            self.transcript = handshake_body(HandshakeType::ClientHello, message_seq, body);
            // The server numbers its flight from the hello's message_seq (RFC 6347 §4.2.2).
            self.reassembler.set_next_seq(message_seq);
        }
        self.send_seq = message_seq + 1;
        datagrams
    }

    /// Hand one datagram to the endpoint from our address and collect what it answers.
    pub fn deliver(&mut self, datagram: &[u8]) {
        self.sent.push(datagram.to_vec());
        let (now, addr) = (self.now, self.addr);
        self.endpoint.handle(now, addr, datagram);
        self.collect();
    }

    /// Drain the endpoint: events first, then transmits (all must be for us).
    pub fn collect(&mut self) {
        while let Some(e) = self.endpoint.poll_event() {
            self.events.push(e);
        }
        while let Some(t) = self.endpoint.poll_transmit() {
            assert_eq!(t.destination, self.addr, "the endpoint answered someone else");
            self.absorb(&t.contents);
            self.received.push(t.contents);
        }
    }

    fn absorb(&mut self, datagram: &[u8]) {
        for (header, body) in Deframer::new(datagram) {
            let mut body = body.to_vec();
            let plain = if header.epoch == 0 {
                body
            } else {
                match self.records.open(&header, &mut body, 0) {
                    Ok(()) => body,
                    Err(_) => {
                        self.undecryptable += 1;
                        continue;
                    }
                }
            };
            match header.content_type {
                ContentType::Alert => self.alerts.extend(Alert::read_all(&plain).ok()),
                ContentType::ApplicationData => self.app_data.push(plain),
                ContentType::Handshake => {
                    for (h, b) in parse_fragments(&plain).map_while(Result::ok) {
                        if h.msg_type == HandshakeType::HelloVerifyRequest {
                            if let Ok(HandshakePayload::HelloVerifyRequest(v)) = HandshakePayload::read(h.msg_type, b) {
                                self.cookies.push(v.cookie);
                            }
                            continue;
                        }
                        let _ = self.reassembler.insert(&h, b);
                    }
                    while let Some(m) = self.reassembler.pop() {
                        self.messages.push(m);
                    }
                }
                _ => {}
            }
        }
    }

    /// The server session, once the endpoint made one for us.
    pub fn session(&self) -> Option<SessionHandle> {
        self.endpoint.handle_for(self.addr)
    }

    /// Whether the endpoint reported the server session connected.
    pub fn server_connected(&self) -> bool {
        self.events.iter().any(|(_, e)| *e == EndpointEvent::Session(Event::Connected))
    }

    /// Application data the server session received from us.
    pub fn server_received(&self) -> Vec<Vec<u8>> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                EndpointEvent::Session(Event::ApplicationData(d)) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }

    /// Read flight 4 (ServerHello .. ServerHelloDone) into the transcript; returns the
    /// ServerHello. Panics if the flight is incomplete.
    pub fn read_flight_4(&mut self) -> ServerHello {
        let mut done = false;
        while !done && self.consumed < self.messages.len() {
            let m = self.messages[self.consumed].clone();
            self.consumed += 1;
            m.transcript_bytes(&mut self.transcript);
            match HandshakePayload::read(m.msg_type, &m.body).expect("server message parses") {
                HandshakePayload::ServerHello(sh) => {
                    self.suite = Some(suites::lookup(sh.cipher_suite).expect("a suite we know"));
                    self.server_hello = Some(sh);
                }
                HandshakePayload::ServerKeyExchange(ske) => {
                    self.server_kx = Some((ske.params.group, ske.params.public));
                }
                HandshakePayload::ServerHelloDone => done = true,
                _ => {}
            }
        }
        assert!(done, "flight 4 incomplete: {} messages", self.messages.len());
        self.server_hello.clone().expect("a ServerHello")
    }

    /// Flight 5: ClientKeyExchange, ChangeCipherSpec, Finished, in one datagram.
    pub fn send_flight_5(&mut self) {
        let suite = self.suite.expect("flight 4 read");
        let (group, server_public) = self.server_kx.clone().expect("a ServerKeyExchange");
        let kx = KeyExchange::generate(group, &mut self.rng).expect("key exchange");
        let public = kx.public_key().to_vec();
        let pre_master = kx.complete(&server_public).expect("server share is valid");
        let mut out = Vec::new();
        let cke = HandshakePayload::ClientKeyExchange(ClientKeyExchange { public });
        self.push_message(&cke, 0, &mut out);

        // RFC 7627: the session hash runs through the ClientKeyExchange.
        let server_random = self.server_hello.as_ref().expect("ServerHello").random;
        let hash = suite.prf.digest(&self.transcript);
        let master = MasterSecret::derive(suite.prf, &pre_master, Some(&hash), &self.client_random, &server_random);
        let (write, read) =
            master.record_keys(suite, KeySide::Client, &self.client_random, &server_random).expect("record keys");
        self.records.install_keys(dtls_engine::internals::record::protection::EpochKeys {
            epoch: dtls_engine::internals::wire::Epoch::DTLS12_PROTECTED,
            write,
            read,
        });
        self.records.set_read_epoch(dtls_engine::internals::wire::Epoch::DTLS12_PROTECTED);
        self.records.seal(0, ContentType::ChangeCipherSpec, &[1], &mut out).expect("seal CCS");
        self.records.set_write_epoch(dtls_engine::internals::wire::Epoch::DTLS12_PROTECTED);
        let verify_data = master.verify_data(KeySide::Client, &suite.prf.digest(&self.transcript)).to_vec();
        self.master = Some(master);
        self.push_message(&HandshakePayload::Finished(Finished { verify_data }), 1, &mut out);
        assert!(out.len() <= self.mtu, "flight 5 of {} bytes exceeds MTU {}", out.len(), self.mtu);
        self.deliver(&out);
    }

    fn push_message(&mut self, payload: &HandshakePayload, epoch: u16, out: &mut Vec<u8>) {
        let mut body = Vec::new();
        payload.encode_body(&mut body);
        let message = handshake_body(payload.msg_type(), self.send_seq, &body);
        self.send_seq += 1;
        self.transcript.extend_from_slice(&message);
        self.records.seal(epoch, ContentType::Handshake, &message, out).expect("seal");
    }

    /// True if the server's Finished arrived and its verify_data is the one our transcript
    /// (through our Finished) gives.
    pub fn server_finished_verifies(&self) -> bool {
        let (Some(master), Some(suite)) = (&self.master, self.suite) else { return false };
        let expected = master.verify_data(KeySide::Server, &suite.prf.digest(&self.transcript));
        self.messages[self.consumed..].iter().any(|m| {
            m.msg_type == HandshakeType::Finished
                && matches!(HandshakePayload::read(m.msg_type, &m.body), Ok(HandshakePayload::Finished(f)) if f.verify_data == expected)
        })
    }

    /// Send one application record in epoch 1.
    pub fn send_app(&mut self, data: &[u8]) {
        let mut out = Vec::new();
        self.records.seal(1, ContentType::ApplicationData, data, &mut out).expect("seal");
        self.deliver(&out);
    }
}
