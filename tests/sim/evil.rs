//! Hand-built "evil" peers: a client and a server scripted message by message with the
//! crate's public codec, key schedule and record layer, facing one real [`Session`]. They
//! hold real keys, so they can send well-formed, authenticated messages in an order or
//! shape a correct peer never would (a client Certificate without CertificateVerify, a
//! Finished in epoch 0, a ClientHello in epoch 1, an invalid ECDHE point with a valid
//! signature, ...).
//!
//! Messages are never fragmented; every send goes out as one datagram.

use std::sync::Arc;
use std::time::Instant;

use dtls_engine::internals::codec::Codec;
use dtls_engine::internals::crypto::{DetRng, KeyExchange, load_certificates};
use dtls_engine::internals::handshake::key_schedule::{MasterSecret, Side as KeySide};
use dtls_engine::internals::handshake::reassembler::{HandshakeMessage, Reassembler};
use dtls_engine::internals::record::protection::RecordLayer;
use dtls_engine::internals::suites::{self, SuiteInfo};
use dtls_engine::internals::wire::{
    Alert, CertificateMsg, CertificateVerify, ClientHello, ClientKeyExchange, ContentType, DTLS_1_2, EcPointFormat,
    EcdheParams, Extension, Finished, HandshakePayload, ServerHello, ServerKeyExchange,
};
use dtls_engine::{
    CertificateDer, CipherSuite, ClientConfig, Error, Event, NamedGroup, ServerConfig, Session, SignatureScheme,
    SigningKey,
};

use super::wire::{handshake_body, payload_body, records};
use super::{CLIENT_ADDR, SERVER_ADDR, sim_pki};

/// What both scripted peers share: the real session they face, our record layer and
/// transcript, and everything the session sent back.
pub struct Scripted {
    pub now: Instant,
    /// The real session under test.
    pub peer: Session,
    pub records: RecordLayer,
    pub send_seq: u16,
    pub transcript: Vec<u8>,
    pub rng: DetRng,
    pub suite: &'static SuiteInfo,
    pub client_random: [u8; 32],
    pub server_random: [u8; 32],
    pub master: Option<MasterSecret>,
    reassembler: Reassembler,
    /// The records of the datagram being built.
    out: Vec<u8>,
    /// Every datagram the session sent us.
    pub received: Vec<Vec<u8>>,
    /// Handshake messages the session sent us, reassembled (epoch 0 and 1).
    pub messages: Vec<HandshakeMessage>,
    /// Alerts the session sent us (decrypted when in epoch 1).
    pub alerts: Vec<Alert>,
    pub events: Vec<Event>,
    /// The first error the session returned.
    pub error: Option<Error>,
    /// Records of epoch 1 we could not open.
    pub undecryptable: usize,
    stash: Vec<Vec<u8>>,
}

impl Scripted {
    fn new(peer: Session, now: Instant) -> Self {
        Self {
            now,
            peer,
            records: RecordLayer::new(),
            send_seq: 0,
            transcript: Vec::new(),
            rng: DetRng::from_seed([0xe7; 32]),
            suite: suites::lookup(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256).expect("suite"),
            client_random: [0x11; 32],
            server_random: [0x22; 32],
            master: None,
            reassembler: Reassembler::default(),
            out: Vec::new(),
            received: Vec::new(),
            messages: Vec::new(),
            alerts: Vec::new(),
            events: Vec::new(),
            error: None,
            undecryptable: 0,
            stash: Vec::new(),
        }
    }

    /// Append one unfragmented handshake message in `epoch` with the next message_seq,
    /// adding it to the transcript if `in_transcript`.
    pub fn push(&mut self, epoch: u16, payload: &HandshakePayload, in_transcript: bool) {
        let seq = self.send_seq;
        self.send_seq += 1;
        self.push_with_seq(epoch, seq, payload, in_transcript);
    }

    /// Like [`push`](Self::push) with an explicit message_seq (the counter is untouched).
    pub fn push_with_seq(&mut self, epoch: u16, message_seq: u16, payload: &HandshakePayload, in_transcript: bool) {
        let body = handshake_body(payload.msg_type(), message_seq, &payload_body(payload));
        if in_transcript {
            self.transcript.extend_from_slice(&body);
        }
        self.push_record(epoch, ContentType::Handshake, &body);
    }

    /// Send one handshake message (next message_seq, in the transcript) in `pieces`
    /// fragments, each in a record and datagram of its own, last fragment first: what a
    /// peer with a small MTU sends, reordered by the network. Anything pushed before is
    /// flushed first.
    pub fn send_fragmented(&mut self, epoch: u16, payload: &HandshakePayload, pieces: usize) {
        self.flush();
        let message_seq = self.send_seq;
        self.send_seq += 1;
        let body = payload_body(payload);
        let whole = handshake_body(payload.msg_type(), message_seq, &body);
        self.transcript.extend_from_slice(&whole);
        let size = body.len().div_ceil(pieces.max(1)).max(1);
        let mut datagrams = Vec::new();
        for (i, part) in body.chunks(size).enumerate() {
            let h = dtls_engine::internals::wire::handshake_header::HandshakeHeader {
                msg_type: payload.msg_type(),
                length: body.len() as u32,
                message_seq,
                fragment_offset: (i * size) as u32,
                fragment_length: part.len() as u32,
            };
            let mut fragment = Vec::new();
            dtls_engine::internals::wire::handshake_header::encode_fragment(&h, part, &mut fragment);
            self.push_record(epoch, ContentType::Handshake, &fragment);
            datagrams.push(core::mem::take(&mut self.out));
        }
        for d in datagrams.into_iter().rev() {
            self.deliver(&d);
        }
    }

    /// Append one record of any type, sealed in `epoch` with the next sequence number.
    pub fn push_record(&mut self, epoch: u16, content_type: ContentType, payload: &[u8]) {
        self.records.seal(epoch, content_type, payload, &mut self.out).expect("seal");
    }

    /// Append a ChangeCipherSpec; later records we seal may use epoch 1.
    pub fn push_ccs(&mut self) {
        self.push_record(0, ContentType::ChangeCipherSpec, &[1]);
        self.records.set_write_epoch(dtls_engine::internals::wire::Epoch::DTLS12_PROTECTED);
    }

    /// Send the datagram built so far to the session and collect what it answers.
    pub fn flush(&mut self) {
        let d = core::mem::take(&mut self.out);
        self.deliver(&d);
    }

    /// Hand any datagram to the session and collect what it answers.
    pub fn deliver(&mut self, datagram: &[u8]) {
        if let Err(e) = self.peer.handle(self.now, datagram) {
            self.error.get_or_insert(e);
        }
        self.collect();
    }

    /// Read the session's transmits and events.
    pub fn collect(&mut self) {
        while let Some(e) = self.peer.poll_event() {
            self.events.push(e);
        }
        while let Some(t) = self.peer.poll_transmit() {
            self.received.push(t.contents.clone());
            self.absorb(&t.contents);
        }
    }

    /// Take in the records of one datagram from the session. Epoch-1 records we cannot
    /// open yet (no keys) are kept for [`retry_stashed`](Self::retry_stashed).
    fn absorb(&mut self, datagram: &[u8]) {
        for r in records(datagram) {
            let mut body = r.body.clone();
            let plain = if r.header.epoch == 0 {
                body
            } else {
                match self.records.open(&r.header, &mut body, 0) {
                    Ok(()) => body,
                    Err(_) => {
                        self.undecryptable += 1;
                        self.stash.push(super::wire::datagram(std::slice::from_ref(&r)));
                        continue;
                    }
                }
            };
            match r.header.content_type {
                ContentType::Alert => self.alerts.extend(Alert::read_all(&plain).ok()),
                ContentType::Handshake => {
                    for (h, b) in
                        dtls_engine::internals::wire::handshake_header::parse_fragments(&plain).map_while(Result::ok)
                    {
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

    /// Open the epoch-1 records that arrived before we had keys.
    pub fn retry_stashed(&mut self) {
        for d in core::mem::take(&mut self.stash) {
            self.absorb(&d);
        }
    }

    /// The messages received so far of `typ`, parsed.
    pub fn received_payloads(&self) -> Vec<HandshakePayload> {
        self.messages.iter().filter_map(|m| HandshakePayload::read(m.msg_type, &m.body).ok()).collect()
    }

    pub fn transcript_hash(&self) -> Vec<u8> {
        self.suite.prf.digest(&self.transcript)
    }

    /// Derive the master secret (with EMS over the transcript so far) and install the
    /// record keys of `side`; epoch 1 is readable at once.
    pub fn derive_keys(&mut self, pre_master: &[u8], side: KeySide) {
        let hash = self.transcript_hash();
        let master =
            MasterSecret::derive(self.suite.prf, pre_master, Some(&hash), &self.client_random, &self.server_random);
        let (write, read) =
            master.record_keys(self.suite, side, &self.client_random, &self.server_random).expect("record keys");
        self.records.install_keys(dtls_engine::internals::record::protection::EpochKeys {
            epoch: dtls_engine::internals::wire::Epoch::DTLS12_PROTECTED,
            write,
            read,
        });
        self.records.set_read_epoch(dtls_engine::internals::wire::Epoch::DTLS12_PROTECTED);
        self.master = Some(master);
    }

    /// Our Finished over the transcript so far.
    pub fn finished(&self, side: KeySide) -> HandshakePayload {
        let master = self.master.as_ref().expect("keys derived");
        let verify_data = master.verify_data(side, &self.transcript_hash());
        HandshakePayload::Finished(Finished { verify_data: verify_data.to_vec() })
    }

    /// Seal `payload` as one record of `content_type` in epoch 1 and deliver it alone.
    pub fn send_protected(&mut self, content_type: ContentType, payload: &[u8]) {
        self.push_record(1, content_type, payload);
        self.flush();
    }

    pub fn connected(&self) -> bool {
        self.events.contains(&Event::Connected)
    }
}

/// The ClientHello a scripted client sends: one ECDSA AES-128-GCM suite, X25519 or P-256,
/// EMS and secure renegotiation signalled.
pub fn evil_client_hello(random: [u8; 32], group: NamedGroup) -> ClientHello {
    ClientHello {
        client_version: DTLS_1_2,
        random,
        session_id: Vec::new(),
        cookie: Vec::new(),
        cipher_suites: vec![CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256],
        compression_methods: vec![0],
        extensions: vec![
            Extension::SupportedGroups(vec![group]),
            Extension::EcPointFormats(vec![EcPointFormat::Uncompressed]),
            Extension::SignatureAlgorithms(vec![SignatureScheme::ECDSA_NISTP256_SHA256]),
            Extension::ExtendedMasterSecret,
            Extension::RenegotiationInfo(Vec::new()),
        ],
    }
}

/// What a scripted client puts in flight 5.
pub struct ClientFlight5 {
    /// Certificate message: `None` sends none, `Some(vec![])` an empty list.
    pub certificate: Option<Vec<CertificateDer<'static>>>,
    /// Replace our real ECDHE public value with these bytes.
    pub cke_public: Option<Vec<u8>>,
    /// Sign a CertificateVerify with this key.
    pub certificate_verify: Option<SigningKey>,
    /// Send the ChangeCipherSpec.
    pub ccs: bool,
    /// Epoch of the Finished record.
    pub finished_epoch: u16,
}

impl Default for ClientFlight5 {
    fn default() -> Self {
        Self { certificate: None, cke_public: None, certificate_verify: None, ccs: true, finished_epoch: 1 }
    }
}

/// A scripted client facing a real server [`Session`].
pub struct EvilClient {
    pub s: Scripted,
    group: NamedGroup,
    server_public: Vec<u8>,
}

impl EvilClient {
    pub fn new(config: Arc<ServerConfig>) -> Self {
        let now = Instant::now();
        let peer = Session::server(now, config, CLIENT_ADDR);
        Self { s: Scripted::new(peer, now), group: NamedGroup::X25519, server_public: Vec::new() }
    }

    /// Offer (only) `group` for the key exchange.
    pub fn with_group(mut self, group: NamedGroup) -> Self {
        self.group = group;
        self
    }

    /// Flights 1 to 4: ClientHello, the cookie round, and the server's flight 4 read.
    pub fn run_to_flight_4(&mut self) {
        let mut hello = evil_client_hello(self.s.client_random, self.group);
        self.s.push(0, &HandshakePayload::ClientHello(hello.clone()), false);
        self.s.flush();
        let cookie = self.s.received_payloads().into_iter().find_map(|p| match p {
            HandshakePayload::HelloVerifyRequest(h) => Some(h.cookie),
            _ => None,
        });
        if let Some(cookie) = cookie {
            hello.cookie = cookie;
            self.s.push(0, &HandshakePayload::ClientHello(hello), true);
            self.s.flush();
        }
        for m in self.s.messages.clone() {
            if m.msg_type == dtls_engine::internals::wire::HandshakeType::HelloVerifyRequest {
                continue;
            }
            m.transcript_bytes(&mut self.s.transcript);
            match HandshakePayload::read(m.msg_type, &m.body).expect("server message parses") {
                HandshakePayload::ServerHello(sh) => {
                    self.s.server_random = sh.random;
                    self.s.suite = suites::lookup(sh.cipher_suite).expect("known suite");
                }
                HandshakePayload::ServerKeyExchange(ske) => self.server_public = ske.params.public,
                _ => {}
            }
        }
        assert!(!self.server_public.is_empty(), "no ServerKeyExchange from the server");
    }

    /// Flight 5 as `plan` says.
    pub fn send_flight_5(&mut self, plan: ClientFlight5) {
        if let Some(chain) = plan.certificate {
            self.s.push(0, &HandshakePayload::Certificate(CertificateMsg { chain }), true);
        }
        let kx = KeyExchange::generate(self.group, &mut self.s.rng).expect("kx");
        let public = plan.cke_public.unwrap_or_else(|| kx.public_key().to_vec());
        let pre_master = kx.complete(&self.server_public).expect("server point is valid");
        self.s.push(0, &HandshakePayload::ClientKeyExchange(ClientKeyExchange { public }), true);
        self.s.derive_keys(&pre_master, KeySide::Client);
        if let Some(key) = plan.certificate_verify {
            let scheme = SignatureScheme::ECDSA_NISTP256_SHA256;
            let signature = key.sign(scheme, &self.s.transcript, &mut self.s.rng).expect("sign");
            self.s.push(0, &HandshakePayload::CertificateVerify(CertificateVerify { scheme, signature }), true);
        }
        if plan.ccs {
            self.s.push_ccs();
        }
        let finished = self.s.finished(KeySide::Client);
        self.s.push(plan.finished_epoch, &finished, true);
        self.s.flush();
    }
}

/// A scripted server facing a real client [`Session`] (no cookie exchange).
pub struct EvilServer {
    pub s: Scripted,
    pub hello: Option<ClientHello>,
    kx: Option<KeyExchange>,
    key: SigningKey,
    chain: Vec<CertificateDer<'static>>,
}

impl EvilServer {
    pub fn new(config: Arc<ClientConfig>) -> Self {
        let now = Instant::now();
        let peer = Session::client(now, config, SERVER_ADDR);
        let pki = sim_pki();
        let key = SigningKey::from_pem(pki.server_key_pem.as_bytes()).expect("sim server key");
        let chain = load_certificates(pki.server_cert_pem.as_bytes()).expect("sim server cert");
        let mut s = Scripted::new(peer, now);
        s.collect();
        let hello = s.received_payloads().into_iter().find_map(|p| match p {
            HandshakePayload::ClientHello(h) => Some(h),
            _ => None,
        });
        let hello = hello.expect("the client sent a ClientHello");
        s.client_random = hello.random;
        s.messages[0].clone().transcript_bytes(&mut s.transcript);
        Self { s, hello: Some(hello), kx: None, key, chain }
    }

    pub fn push_server_hello(&mut self) {
        let sh = self.server_hello();
        self.s.push(0, &HandshakePayload::ServerHello(sh), true);
    }

    /// The ServerHello [`push_server_hello`](Self::push_server_hello) sends.
    pub fn server_hello(&self) -> ServerHello {
        ServerHello {
            server_version: DTLS_1_2,
            random: self.s.server_random,
            session_id: Vec::new(),
            cipher_suite: self.s.suite.suite,
            compression_method: 0,
            extensions: vec![Extension::RenegotiationInfo(Vec::new()), Extension::ExtendedMasterSecret],
        }
    }

    /// Certificate, ServerKeyExchange (over `public` if given, else a real X25519 share),
    /// correctly signed, and ServerHelloDone.
    pub fn push_rest_of_flight_4(&mut self, public: Option<Vec<u8>>) {
        self.s.push(0, &HandshakePayload::Certificate(CertificateMsg { chain: self.chain.clone() }), true);
        let kx = KeyExchange::generate(NamedGroup::X25519, &mut self.s.rng).expect("kx");
        let params =
            EcdheParams { group: NamedGroup::X25519, public: public.unwrap_or_else(|| kx.public_key().to_vec()) };
        self.kx = Some(kx);
        let scheme = SignatureScheme::ECDSA_NISTP256_SHA256;
        let signed = ServerKeyExchange::signed_message(&self.s.client_random, &self.s.server_random, &params);
        let signature = self.key.sign(scheme, &signed, &mut self.s.rng).expect("sign");
        self.s.push(0, &HandshakePayload::ServerKeyExchange(ServerKeyExchange { params, scheme, signature }), true);
        self.s.push(0, &HandshakePayload::ServerHelloDone, true);
    }

    /// Read the client's flight 5, derive keys and answer with ChangeCipherSpec + Finished.
    pub fn finish(&mut self) {
        self.prepare_finished();
        let finished = self.s.finished(KeySide::Server);
        self.s.push(1, &finished, true);
        self.s.flush();
    }

    /// Like [`finish`](Self::finish), with the first bytes of a second Finished (the next
    /// message_seq) placed before the real one in the same datagram: handshake data that is
    /// pending when the real Finished completes the handshake.
    pub fn finish_with_extra_fragment(&mut self) {
        self.prepare_finished();
        let finished = self.s.finished(KeySide::Server);
        let body = payload_body(&finished);
        let header = dtls_engine::internals::wire::handshake_header::HandshakeHeader {
            msg_type: finished.msg_type(),
            length: body.len() as u32,
            message_seq: self.s.send_seq + 1,
            fragment_offset: 0,
            fragment_length: 4,
        };
        let mut fragment = Vec::new();
        dtls_engine::internals::wire::handshake_header::encode_fragment(&header, &body[..4], &mut fragment);
        self.s.push_record(1, ContentType::Handshake, &fragment);
        self.s.push(1, &finished, true);
        self.s.flush();
    }

    /// Read the client's flight 5, derive the keys, queue our ChangeCipherSpec.
    fn prepare_finished(&mut self) {
        let msgs: Vec<_> = self.s.messages.iter().skip(1).cloned().collect();
        for m in msgs {
            m.transcript_bytes(&mut self.s.transcript);
            if let Ok(HandshakePayload::ClientKeyExchange(cke)) = HandshakePayload::read(m.msg_type, &m.body) {
                let kx = self.kx.take().expect("kx");
                let pre_master = kx.complete(&cke.public).expect("client point");
                self.s.derive_keys(&pre_master, KeySide::Server);
            }
        }
        assert!(self.s.master.is_some(), "the client sent no ClientKeyExchange");
        let n = self.s.messages.len();
        self.s.retry_stashed();
        let s = &mut self.s;
        for m in &s.messages[n..] {
            m.transcript_bytes(&mut s.transcript);
        }
        self.s.push_ccs();
    }
}

/// The sim client's leaf (DER) and key, for scripted clients that authenticate.
pub fn sim_client_identity() -> (Vec<CertificateDer<'static>>, SigningKey) {
    let pki = sim_pki();
    let chain = load_certificates(pki.client_cert_pem.as_bytes()).expect("client cert");
    let key = SigningKey::from_pem(pki.client_key_pem.as_bytes()).expect("client key");
    (chain, key)
}

/// Encode a value with the crate codec.
pub fn encode<T: Codec>(v: &T) -> Vec<u8> {
    v.to_vec()
}
