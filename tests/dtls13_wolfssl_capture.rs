//! Our DTLS 1.3 building blocks against real DTLS 1.3 sessions between wolfSSL 5.9's client
//! and server, captured on loopback with both sides' key logs (`vectors/dtls13/wolfssl/`,
//! whose README says how). No wolfSSL at test time: the committed files are read with
//! `include_str!`.
//!
//! For each captured run, every datagram goes through [`Demux`]; the plaintext handshake
//! messages (ClientHello, HelloRetryRequest, ServerHello) are reassembled and parsed; every
//! protected record is opened with a [`Protection13`] whose keys OUR key schedule derived
//! from the key log's traffic secrets (`traffic_keys` with the "dtls13" labels, and
//! `next_traffic_secret` after each KeyUpdate); the decrypted handshake messages parse with
//! the 1.3 codecs; both Finished messages equal OUR `finished_verify_data` over the
//! transcript computed the DTLS 1.3 way (RFC 9147 §5.2, with `message_hash` after the
//! HelloRetryRequest); ACKs parse and name records that were sent; the application data is
//! what the peers sent; and OUR exporter gives the keying material both peers printed.

use std::collections::{BTreeMap, HashMap, HashSet};

use dtls_engine::internals::codec::Codec;
use dtls_engine::internals::crypto::aead::AeadAlgorithm;
use dtls_engine::internals::crypto::tls13::{
    Hash, LabelPrefix, Secret, export, finished_verify_data, next_traffic_secret, traffic_keys,
};
use dtls_engine::internals::record::dtls13::Protection13;
use dtls_engine::internals::wire::handshake_header::parse_fragments;
use dtls_engine::internals::wire::record::{Demux, Record};
use dtls_engine::internals::wire::tls13::{
    Ack, Certificate, CertificateRequest, CertificateVerify, EncryptedExtensions, ExtensionBody, KeyShareServerHello,
    KeyUpdate, KeyUpdateRequest, NewSessionTicket, is_hello_retry_request, message_hash, transcript_message,
};
use dtls_engine::internals::wire::{
    ClientHello, ContentType, DTLS_1_2, Epoch, HandshakePayload, HandshakeType, ServerHello,
};

/// The line the client sends and the server echoes (`capture.py`'s MESSAGE).
const MESSAGE: &[u8] = b"application data from the wolfSSL client, echoed by the wolfSSL server";
/// The exporter label both peers used (`capture.py`'s EXPORTER), 32 bytes, no context.
const EXPORTER_LABEL: &[u8] = b"EXPERIMENTAL dtls-engine capture";

struct Run {
    name: &'static str,
    datagrams: &'static str,
    keylog: &'static str,
    info: &'static str,
    /// The negotiated suite (TLS 1.3 code point) and the group, as the peers reported.
    suite: u16,
    group: u16,
    client_auth: bool,
}

macro_rules! run {
    ($name:literal, $suite:expr, $group:expr, $client_auth:expr) => {
        Run {
            name: $name,
            datagrams: include_str!(concat!("../vectors/dtls13/wolfssl/", $name, "/datagrams.txt")),
            keylog: include_str!(concat!("../vectors/dtls13/wolfssl/", $name, "/keylog.txt")),
            info: include_str!(concat!("../vectors/dtls13/wolfssl/", $name, "/run.txt")),
            suite: $suite,
            group: $group,
            client_auth: $client_auth,
        }
    };
}

fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim();
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit")).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Dir {
    ClientToServer,
    ServerToClient,
}

impl Dir {
    fn other(self) -> Self {
        match self {
            Self::ClientToServer => Self::ServerToClient,
            Self::ServerToClient => Self::ClientToServer,
        }
    }
}

fn datagrams(text: &str) -> Vec<(Dir, Vec<u8>)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (d, hex) = l.split_once(' ').expect("`DIR HEX`");
            let dir = match d {
                "c>s" => Dir::ClientToServer,
                "s>c" => Dir::ServerToClient,
                _ => panic!("direction {d:?}"),
            };
            (dir, unhex(hex))
        })
        .collect()
}

/// label -> (client_random, secret) of one side's section of keylog.txt.
type KeyLog = BTreeMap<String, (Vec<u8>, Vec<u8>)>;

/// The client's and the server's key logs (`# client` / `# server` sections).
fn keylogs(text: &str) -> (KeyLog, KeyLog) {
    let (mut client, mut server) = (KeyLog::new(), KeyLog::new());
    let mut side = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line {
            "# client" => side = Some(&mut client),
            "# server" => side = Some(&mut server),
            _ => {
                let mut w = line.split(' ');
                let (label, random, secret) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
                assert!(w.next().is_none(), "{line}");
                let log = side.as_deref_mut().expect("a line before `# client`");
                assert!(log.insert(label.to_string(), (unhex(random), unhex(secret))).is_none(), "two {label}");
            }
        }
    }
    (client, server)
}

/// The suite's hash and AEAD (RFC 8446 §B.4).
fn suite(code: u16) -> (Hash, AeadAlgorithm) {
    match code {
        0x1301 => (Hash::Sha256, AeadAlgorithm::Aes128Gcm),
        0x1302 => (Hash::Sha384, AeadAlgorithm::Aes256Gcm),
        0x1303 => (Hash::Sha256, AeadAlgorithm::Chacha20Poly1305),
        _ => panic!("not a TLS 1.3 suite: {code:#06x}"),
    }
}

fn digest(hash: Hash, data: &[u8]) -> Vec<u8> {
    ring::digest::digest(hash.digest_algorithm(), data).as_ref().to_vec()
}

/// A handshake message being reassembled from its fragments (RFC 9147 §5.5).
struct Partial {
    msg_type: HandshakeType,
    body: Vec<u8>,
    have: Vec<bool>,
}

/// One whole handshake message, in the order its last missing fragment arrived.
#[derive(Debug, Clone)]
struct Message {
    dir: Dir,
    epoch: u64,
    msg_type: HandshakeType,
    body: Vec<u8>,
}

/// One direction's receive state: the protection of each epoch and the next expected
/// sequence number in it (one plus the highest opened, RFC 9147 §4.2.2).
struct Keys {
    protections: BTreeMap<u64, Protection13>,
    expected: HashMap<u64, u64>,
    /// The application traffic secret of the newest epoch (3, then 4 after a KeyUpdate, ...).
    app_secret: Secret,
    app_epoch: u64,
}

impl Keys {
    fn new(alg: AeadAlgorithm, handshake: &Secret, application: &Secret) -> Self {
        let mut protections = BTreeMap::new();
        for (epoch, secret) in [(2, handshake), (3, application)] {
            let keys = traffic_keys(LabelPrefix::Dtls13, secret, alg.key_len()).expect("traffic keys");
            protections.insert(epoch, Protection13::new(Epoch(epoch), alg, &keys).expect("protection"));
        }
        Self { protections, expected: HashMap::new(), app_secret: application.clone(), app_epoch: 3 }
    }

    /// RFC 8446 §7.2 / RFC 9147 §8: the sender of a KeyUpdate moves to the next epoch, keyed
    /// with application_traffic_secret_N+1.
    fn update(&mut self, alg: AeadAlgorithm) {
        self.app_secret = next_traffic_secret(LabelPrefix::Dtls13, &self.app_secret).expect("traffic upd");
        self.app_epoch += 1;
        let keys = traffic_keys(LabelPrefix::Dtls13, &self.app_secret, alg.key_len()).expect("traffic keys");
        self.protections
            .insert(self.app_epoch, Protection13::new(Epoch(self.app_epoch), alg, &keys).expect("protection"));
    }

    /// The newest epoch we hold whose low two bits are `bits` (RFC 9147 §4: the unified
    /// header carries only those).
    fn epoch_for(&self, bits: u8) -> Option<u64> {
        self.protections.keys().rev().copied().find(|e| e & 3 == u64::from(bits))
    }
}

/// What one run's records yielded.
#[derive(Default)]
struct Seen {
    messages: Vec<Message>,
    app_data: HashMap<Dir, Vec<u8>>,
    /// Direction, epoch, the ACK, and its index in `trace` (`None` for a plaintext one).
    acks: Vec<(Dir, u64, Ack, Option<usize>)>,
    alerts: Vec<(Dir, u64, Vec<u8>)>,
    /// (direction, epoch, sequence) of every record sent, plaintext or opened.
    records: HashSet<(Dir, u64, u64)>,
    /// Records opened per (direction, epoch).
    opened: BTreeMap<(Dir, u64), usize>,
    /// Every protected record in capture order: direction, epoch, sequence, content type.
    trace: Vec<(Dir, u64, u64, ContentType)>,
    /// The record (epoch, sequence) that carried each side's KeyUpdate.
    key_update_record: HashMap<Dir, (u64, u64)>,
    plaintext: usize,
}

struct Assembler {
    partial: HashMap<(Dir, u64, u16, u8, u32), Partial>,
    done: HashSet<(Dir, u64, u16, u8, u32)>,
}

impl Assembler {
    /// Add the handshake fragments of one record body; finished messages go to `out`.
    fn add(&mut self, dir: Dir, epoch: u64, body: &[u8], out: &mut Vec<Message>) {
        for fragment in parse_fragments(body) {
            let (h, bytes) = fragment.expect("handshake fragment");
            // RFC 9147 §5.2: message_seq does not reset per epoch; a stateless HelloRetryRequest
            // and the ServerHello after it may share it, so the type and length are part of the key.
            let key = (dir, epoch, h.message_seq, u8::from(h.msg_type), h.length);
            if self.done.contains(&key) {
                continue; // a retransmission
            }
            let p = self.partial.entry(key).or_insert_with(|| Partial {
                msg_type: h.msg_type,
                body: vec![0; h.length as usize],
                have: vec![false; h.length as usize],
            });
            let range = h.fragment_offset as usize..(h.fragment_offset + h.fragment_length) as usize;
            p.body[range.clone()].copy_from_slice(bytes);
            p.have[range].iter_mut().for_each(|b| *b = true);
            if p.have.iter().all(|b| *b) {
                let p = self.partial.remove(&key).unwrap();
                self.done.insert(key);
                out.push(Message { dir, epoch, msg_type: p.msg_type, body: p.body });
            }
        }
    }
}

fn check_run(run: &Run) {
    let (client_log, server_log) = keylogs(run.keylog);
    assert_eq!(client_log, server_log, "{}: the two key logs differ", run.name);
    for label in [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    ] {
        assert!(client_log.contains_key(label), "{}: no {label}", run.name);
    }
    let (hash, alg) = suite(run.suite);
    let secret = |label: &str| {
        let (_, bytes) = &client_log[label];
        Secret::from_bytes(hash, bytes).unwrap_or_else(|| panic!("{}: {label} is not {hash:?}-long", run.name))
    };

    let mut seen = Seen::default();
    let mut asm = Assembler { partial: HashMap::new(), done: HashSet::new() };
    let mut keys: Option<HashMap<Dir, Keys>> = None;
    for (dir, datagram) in datagrams(run.datagrams) {
        let mut demux = Demux::new(&datagram, 0);
        for record in demux.by_ref() {
            match record {
                Record::Dtls12 { header, body } => {
                    // RFC 9147 §4: only epoch 0 uses the DTLSPlaintext header in DTLS 1.3.
                    assert_eq!(header.epoch, 0, "{}: DTLSPlaintext record of epoch {}", run.name, header.epoch);
                    assert!(
                        matches!(header.version, DTLS_1_2 | 0xfeff),
                        "legacy_record_version {:#06x}",
                        header.version
                    );
                    seen.plaintext += 1;
                    seen.records.insert((dir, 0, header.sequence));
                    match header.content_type {
                        ContentType::Handshake => asm.add(dir, 0, body, &mut seen.messages),
                        ContentType::ACK => seen.acks.push((dir, 0, Ack::read_all(body).expect("plaintext ACK"), None)),
                        ContentType::Alert => seen.alerts.push((dir, 0, body.to_vec())),
                        t => panic!("{}: plaintext record of type {t:?}", run.name),
                    }
                }
                Record::Unified { header, body } => {
                    assert!(header.cid.is_empty());
                    // The keys exist once the ServerHello (always before the first protected
                    // record) told us the suite; a panic here would mean it did not.
                    let keys = keys.get_or_insert_with(|| {
                        let sh = seen
                            .messages
                            .iter()
                            .find(|m| m.msg_type == HandshakeType::ServerHello && !is_hrr(&m.body))
                            .expect("a protected record before the ServerHello");
                        let sh = server_hello(&sh.body);
                        assert_eq!(u16::from(sh.cipher_suite), run.suite, "{}: suite", run.name);
                        HashMap::from([
                            (
                                Dir::ClientToServer,
                                Keys::new(
                                    alg,
                                    &secret("CLIENT_HANDSHAKE_TRAFFIC_SECRET"),
                                    &secret("CLIENT_TRAFFIC_SECRET_0"),
                                ),
                            ),
                            (
                                Dir::ServerToClient,
                                Keys::new(
                                    alg,
                                    &secret("SERVER_HANDSHAKE_TRAFFIC_SECRET"),
                                    &secret("SERVER_TRAFFIC_SECRET_0"),
                                ),
                            ),
                        ])
                    });
                    let k = keys.get_mut(&dir).unwrap();
                    let epoch = k.epoch_for(header.epoch_bits).unwrap_or_else(|| {
                        panic!("{}: {dir:?} record with epoch bits {} and no keys for it", run.name, header.epoch_bits)
                    });
                    let mut buf = Vec::new();
                    record.encode_header(&mut buf);
                    buf.extend_from_slice(body);
                    let expected = k.expected.get(&epoch).copied().unwrap_or(0);
                    let opened = k.protections[&epoch]
                        .open(&mut buf, header.header_len(), header.sequence_offset(), header.sequence.len(), expected)
                        .unwrap_or_else(|e| {
                            panic!(
                                "{}: {dir:?} epoch {epoch} record (expected seq {expected}) does not open: {e:?}",
                                run.name
                            )
                        });
                    let next = k.expected.entry(epoch).or_insert(0);
                    *next = (*next).max(opened.sequence + 1);
                    *seen.opened.entry((dir, epoch)).or_insert(0) += 1;
                    seen.records.insert((dir, epoch, opened.sequence));
                    let content = &buf[opened.content.clone()];
                    seen.trace.push((dir, epoch, opened.sequence, opened.content_type));
                    match opened.content_type {
                        ContentType::Handshake => {
                            let before = seen.messages.len();
                            asm.add(dir, epoch, content, &mut seen.messages);
                            // A KeyUpdate from this side: its next records use the next epoch.
                            let updates = seen.messages[before..]
                                .iter()
                                .filter(|m| m.msg_type == HandshakeType::KEY_UPDATE)
                                .count();
                            for _ in 0..updates {
                                k.update(alg);
                                seen.key_update_record.insert(dir, (epoch, opened.sequence));
                            }
                        }
                        ContentType::ApplicationData => {
                            assert!(epoch >= 3, "{}: application data in epoch {epoch}", run.name);
                            seen.app_data.entry(dir).or_default().extend_from_slice(content);
                        }
                        ContentType::ACK => {
                            let at = seen.trace.len() - 1;
                            seen.acks.push((dir, epoch, Ack::read_all(content).expect("ACK"), Some(at)))
                        }
                        ContentType::Alert => seen.alerts.push((dir, epoch, content.to_vec())),
                        t => panic!("{}: protected record of type {t:?}", run.name),
                    }
                }
                Record::Tls12Cid { .. } => panic!("{}: tls12_cid record", run.name),
            }
        }
        assert!(!demux.truncated(), "{}: a datagram ends inside a record", run.name);
    }
    assert!(asm.partial.is_empty(), "{}: messages never completed", run.name);

    check_handshake(run, hash, &seen, &client_log);

    // Application data, both ways, decrypted to what was sent. Each side sent it in epoch 3,
    // after its KeyUpdate but before that was acknowledged: RFC 9147 §8, "the sender MUST NOT
    // send records protected with the new key" until the KeyUpdate is acknowledged.
    assert_eq!(seen.app_data.get(&Dir::ClientToServer).map(Vec::as_slice), Some(MESSAGE), "{}", run.name);
    assert_eq!(seen.app_data.get(&Dir::ServerToClient).map(Vec::as_slice), Some(MESSAGE), "{}", run.name);

    // Each side sent one KeyUpdate in epoch 3, and then used epoch 4. wolfSSL_update_keys
    // sends update_requested; each peer's own KeyUpdate was its only one (RFC 8446 §4.6.3: the
    // receiver of update_requested sends "a KeyUpdate of its own ... prior to sending its next
    // Application Data record"; both had sent theirs by then).
    for dir in [Dir::ClientToServer, Dir::ServerToClient] {
        let updates: Vec<_> =
            seen.messages.iter().filter(|m| m.dir == dir && m.msg_type == HandshakeType::KEY_UPDATE).collect();
        assert_eq!(updates.len(), 1, "{}: {dir:?} KeyUpdates", run.name);
        assert_eq!(updates[0].epoch, 3);
        let ku = KeyUpdate::read_all(&updates[0].body).expect("KeyUpdate");
        assert_eq!(ku.request_update, KeyUpdateRequest::UpdateRequested, "{}: wolfSSL_update_keys", run.name);
        assert!(seen.opened.get(&(dir, 4)).copied().unwrap_or(0) > 0, "{}: {dir:?} sent nothing in epoch 4", run.name);
        // RFC 9147 §8: epoch 4 only after the peer's ACK of the KeyUpdate record.
        let (ku_epoch, ku_seq) = seen.key_update_record[&dir];
        let acked_at = seen
            .acks
            .iter()
            .filter(|(d, _, ack, _)| {
                *d == dir.other()
                    && ack.record_numbers.iter().any(|rn| (rn.epoch, rn.sequence_number) == (ku_epoch, ku_seq))
            })
            .find_map(|(_, _, _, at)| *at);
        let first_new = seen.trace.iter().position(|(d, e, _, _)| *d == dir && *e == 4);
        assert!(
            matches!((acked_at, first_new), (Some(a), Some(f)) if a < f),
            "{}: {dir:?} used epoch 4 before its KeyUpdate was ACKed",
            run.name
        );
        let app_epochs: Vec<u64> = seen
            .trace
            .iter()
            .filter(|(d, _, _, t)| *d == dir && *t == ContentType::ApplicationData)
            .map(|(_, e, _, _)| *e)
            .collect();
        assert_eq!(app_epochs, [3], "{}: {dir:?} application data epochs", run.name);
    }

    // Every ACK names records the other side really sent (RFC 9147 §7).
    assert!(!seen.acks.is_empty(), "{}: no ACK", run.name);
    for (dir, _, ack, _) in &seen.acks {
        for rn in &ack.record_numbers {
            assert!(
                seen.records.contains(&(dir.other(), rn.epoch, rn.sequence_number)),
                "{}: {dir:?} ACKs {rn:?}, which was never sent",
                run.name
            );
        }
    }
    // Alerts: the client's close_notify (warning, 0) and the server's in reply, protected
    // with the application keys of epoch 4.
    let alerts: Vec<_> = seen.alerts.iter().map(|(d, e, a)| (*d, *e, a.as_slice())).collect();
    assert_eq!(
        alerts,
        [(Dir::ClientToServer, 4, &[1u8, 0][..]), (Dir::ServerToClient, 4, &[1u8, 0][..])],
        "{}: alerts",
        run.name
    );

    // OUR exporter (RFC 8446 §7.5, "dtls13" labels) from the key log's EXPORTER_SECRET gives
    // the keying material both peers printed.
    let printed: Vec<&str> = run.info.lines().filter_map(|l| l.trim().strip_prefix("keying-material ")).collect();
    assert_eq!(printed.len(), 2, "{}: keying-material lines", run.name);
    assert_eq!(printed[0], printed[1]);
    let mut ours = [0u8; 32];
    export(LabelPrefix::Dtls13, &secret("EXPORTER_SECRET"), EXPORTER_LABEL, &[], &mut ours).expect("export");
    assert_eq!(ours.to_vec(), unhex(printed[0]), "{}: exporter", run.name);

    eprintln!(
        "{}: {} datagrams, {} plaintext records, opened {:?}, {} handshake messages, {} ACKs",
        run.name,
        datagrams(run.datagrams).len(),
        seen.plaintext,
        seen.opened,
        seen.messages.len(),
        seen.acks.len()
    );
}

fn is_hrr(server_hello_body: &[u8]) -> bool {
    server_hello_body.get(2..34).and_then(|r| <&[u8; 32]>::try_from(r).ok()).is_some_and(is_hello_retry_request)
}

fn server_hello(body: &[u8]) -> ServerHello {
    let HandshakePayload::ServerHello(sh) =
        HandshakePayload::read(HandshakeType::ServerHello, body).expect("ServerHello")
    else {
        unreachable!()
    };
    assert_eq!(sh.to_vec(), body);
    sh
}

fn client_hello(body: &[u8]) -> ClientHello {
    let HandshakePayload::ClientHello(ch) =
        HandshakePayload::read(HandshakeType::ClientHello, body).expect("ClientHello")
    else {
        unreachable!()
    };
    assert_eq!(ch.to_vec(), body);
    ch
}

/// The handshake messages parse, and both Finished messages are OUR verify_data over OUR
/// transcript.
fn check_handshake(run: &Run, hash: Hash, seen: &Seen, log: &KeyLog) {
    let name = run.name;
    let order: Vec<(Dir, HandshakeType)> = seen.messages.iter().map(|m| (m.dir, m.msg_type)).collect();
    let c = Dir::ClientToServer;
    let s = Dir::ServerToClient;
    // The flights, in the order the capture saw them complete. wolfSSL's server always sends
    // a stateless-cookie HelloRetryRequest first.
    let mut want = vec![
        (c, HandshakeType::ClientHello),
        (s, HandshakeType::ServerHello),
        (c, HandshakeType::ClientHello),
        (s, HandshakeType::ServerHello),
        (s, HandshakeType::ENCRYPTED_EXTENSIONS),
    ];
    if run.client_auth {
        want.push((s, HandshakeType::CertificateRequest));
    }
    want.extend([(s, HandshakeType::Certificate), (s, HandshakeType::CertificateVerify), (s, HandshakeType::Finished)]);
    if run.client_auth {
        want.extend([(c, HandshakeType::Certificate), (c, HandshakeType::CertificateVerify)]);
    }
    want.push((c, HandshakeType::Finished));
    assert_eq!(&order[..want.len()], want.as_slice(), "{name}: handshake order");
    // After it: the two KeyUpdates and any NewSessionTicket.
    for (dir, t) in &order[want.len()..] {
        assert!(
            *t == HandshakeType::KEY_UPDATE || (*dir == s && *t == HandshakeType::NewSessionTicket),
            "{name}: post-handshake {dir:?} {t:?}"
        );
    }

    let msgs = &seen.messages;
    let ch1 = client_hello(&msgs[0].body);
    let hrr = server_hello(&msgs[1].body);
    assert!(is_hrr(&msgs[1].body), "{name}: the second message is not a HelloRetryRequest");
    let ch2 = client_hello(&msgs[2].body);
    let sh = server_hello(&msgs[3].body);
    assert!(!is_hrr(&msgs[3].body));
    for m in &msgs[..4] {
        assert_eq!(m.epoch, 0, "{name}: hello in epoch {}", m.epoch);
    }
    for m in &msgs[4..want.len()] {
        assert_eq!(m.epoch, 2, "{name}: {:?} in epoch {}", m.msg_type, m.epoch);
    }
    // The key log is keyed by the client random; the two ClientHellos share it.
    assert_eq!(ch1.random, ch2.random);
    for (label, (random, _)) in log {
        assert_eq!(random.as_slice(), ch1.random, "{name}: {label}'s client_random");
    }
    // RFC 9147 §5.3: legacy_session_id "MUST be set as a zero-length vector" (no cached
    // pre-1.3 session); §5.4: legacy_session_id_echo "MUST be empty in DTLS 1.3". wolfssl-sys
    // builds wolfSSL with WOLFSSL_DTLS13_ECHO_LEGACY_SESSION_ID and WOLFSSL_TLS13_MIDDLEBOX_COMPAT,
    // which could make it deviate here; in these captures it does not: all four are empty,
    // and no change_cipher_spec record appears (a plaintext record of another type than
    // handshake, alert or ack fails above).
    for (what, sid) in
        [("CH1", &ch1.session_id), ("HRR", &hrr.session_id), ("CH2", &ch2.session_id), ("SH", &sh.session_id)]
    {
        assert!(sid.is_empty(), "{name}: {what} legacy_session_id {sid:02x?}");
    }
    assert_eq!(u16::from(hrr.cipher_suite), run.suite);
    assert!(ch2.cipher_suites.iter().any(|cs| u16::from(*cs) == run.suite));
    let share = KeyShareServerHello::find_in(&sh.extensions).expect("well-formed").expect("key_share");
    assert_eq!(u16::from(share.server_share.group), run.group, "{name}: group");

    // RFC 9147 §5.2 / RFC 8446 §4.4.1: each message as msg_type, uint24 length, body;
    // ClientHello1 replaced by message_hash(Hash(ClientHello1)).
    let ch1_hash = digest(hash, &transcript_message(HandshakeType::ClientHello, &msgs[0].body).unwrap());
    let mut transcript = message_hash(&ch1_hash).unwrap();
    let mut server_finished = None;
    let mut client_finished = None;
    for m in &msgs[1..want.len()] {
        let hash_before = digest(hash, &transcript);
        match (m.dir, m.msg_type) {
            (_, HandshakeType::ClientHello | HandshakeType::ServerHello) => {}
            (_, t) if t == HandshakeType::ENCRYPTED_EXTENSIONS => {
                let ee = EncryptedExtensions::read_all(&m.body).expect("EncryptedExtensions");
                assert_eq!(ee.to_vec(), m.body);
            }
            (_, HandshakeType::CertificateRequest) => {
                let cr = CertificateRequest::read_all(&m.body).expect("CertificateRequest");
                assert_eq!(cr.to_vec(), m.body);
            }
            (dir, HandshakeType::Certificate) => {
                let cert = Certificate::read_all(&m.body).expect("Certificate");
                assert_eq!(cert.to_vec(), m.body);
                assert!(!cert.certificate_list.is_empty(), "{name}: {dir:?} sent no certificate");
            }
            (_, HandshakeType::CertificateVerify) => {
                let cv = CertificateVerify::read_all(&m.body).expect("CertificateVerify");
                assert_eq!(cv.to_vec(), m.body);
            }
            (Dir::ServerToClient, HandshakeType::Finished) => server_finished = Some((m.body.clone(), hash_before)),
            (Dir::ClientToServer, HandshakeType::Finished) => client_finished = Some((m.body.clone(), hash_before)),
            (dir, t) => panic!("{name}: {dir:?} {t:?} in the handshake"),
        }
        transcript.extend_from_slice(&transcript_message(m.msg_type, &m.body).unwrap());
    }
    for m in &msgs[want.len()..] {
        if m.msg_type == HandshakeType::NewSessionTicket {
            let nst = NewSessionTicket::read_all(&m.body).expect("NewSessionTicket");
            assert_eq!(nst.to_vec(), m.body);
        }
    }
    let hs = |label: &str| Secret::from_bytes(hash, &log[label].1).unwrap();
    let (body, transcript_hash) = server_finished.expect("server Finished");
    let ours = finished_verify_data(LabelPrefix::Dtls13, &hs("SERVER_HANDSHAKE_TRAFFIC_SECRET"), &transcript_hash);
    assert_eq!(ours.expect("verify_data"), body, "{name}: server Finished");
    let (body, transcript_hash) = client_finished.expect("client Finished");
    let ours = finished_verify_data(LabelPrefix::Dtls13, &hs("CLIENT_HANDSHAKE_TRAFFIC_SECRET"), &transcript_hash);
    assert_eq!(ours.expect("verify_data"), body, "{name}: client Finished");
}

#[test]
fn wolfssl_x25519mlkem768_aes256gcm_client_auth() {
    check_run(&run!("x25519mlkem768", 0x1302, 0x11ec, true));
}

#[test]
fn wolfssl_x25519_chacha20_poly1305() {
    check_run(&run!("x25519-chacha20", 0x1303, 0x001d, false));
}

#[test]
fn wolfssl_x25519_aes128gcm() {
    check_run(&run!("x25519-aes128", 0x1301, 0x001d, false));
}
