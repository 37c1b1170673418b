//! Complete OpenSSL 3.0 DTLS 1.2 conversations, replayed through our code with the master
//! secret from OpenSSL's key log.
//!
//! Each directory under `vectors/captures/` named in [`CAPTURES`] holds every datagram an
//! `openssl s_client` / `openssl s_server` pair exchanged through a recording relay
//! (`vectors/captures/capture_full.py`): handshake, two application data lines each way and
//! the close_notify alerts. For each one this test splits the datagrams with our deframer,
//! opens every record with our [`RecordLayer`] (keys from our key schedule, fed only the key
//! log's master secret), reassembles and parses every handshake message with our codecs, and
//! checks both Finished messages, the signatures, the application data and the alerts. Any
//! disagreement with OpenSSL in the PRF, the key block layout, the AEAD nonce or additional
//! data, fragmentation or the transcript rules fails here.

use std::fs;
use std::path::{Path, PathBuf};

use dtls_engine::internals::codec::Codec;
use dtls_engine::internals::crypto::verify_signature;
use dtls_engine::internals::handshake::key_schedule::{MasterSecret, Side};
use dtls_engine::internals::handshake::reassembler::{HandshakeMessage, Inserted, Reassembler};
use dtls_engine::internals::record::protection::{Discard, EpochKeys, RecordLayer};
use dtls_engine::internals::suites::{SuiteInfo, lookup};
use dtls_engine::internals::wire::Epoch;
use dtls_engine::internals::wire::handshake_header::parse_fragments;
use dtls_engine::internals::wire::record::{Deframer, RecordHeader};
use dtls_engine::internals::wire::{
    Alert, AlertLevel, ChangeCipherSpec, ClientHello, ContentType, DTLS_1_0, DTLS_1_2, Extension, ExtensionType,
    HandshakePayload, HandshakeType, ServerKeyExchange, find_extension,
};
use dtls_engine::{AlertDescription, CertificateDer, CipherSuite, NamedGroup};

/// What each capture is meant to show; the test checks the capture really is that.
struct Expect {
    dir: &'static str,
    suite: CipherSuite,
    group: NamedGroup,
    /// Some handshake message arrived in more than one fragment (`-mtu 256`).
    fragmented: bool,
    /// The server asked for, and the client sent, a certificate.
    mutual: bool,
}

const CAPTURES: &[Expect] = &[
    Expect {
        dir: "openssl-ecdsa-aes128gcm-x25519",
        suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        group: NamedGroup::X25519,
        fragmented: false,
        mutual: false,
    },
    Expect {
        dir: "openssl-rsa-aes256gcm-p384-mtu256",
        suite: CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        group: NamedGroup::Secp384r1,
        fragmented: true,
        mutual: false,
    },
    Expect {
        dir: "openssl-ecdsa-chacha20-p256-mutual",
        suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        group: NamedGroup::Secp256r1,
        fragmented: false,
        mutual: true,
    },
];

/// Who sent a datagram; also the index of per-direction state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    C2s = 0,
    S2c = 1,
}

impl Dir {
    fn sender(self) -> Side {
        match self {
            Dir::C2s => Side::Client,
            Dir::S2c => Side::Server,
        }
    }

    fn other(self) -> Dir {
        match self {
            Dir::C2s => Dir::S2c,
            Dir::S2c => Dir::C2s,
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd hex length");
    digits.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
}

/// The files of one capture directory.
struct Capture {
    datagrams: Vec<(Dir, Vec<u8>)>,
    keylog_client_random: [u8; 32],
    master_secret: [u8; 48],
    /// Expected application data per direction, indexed by [`Dir`].
    appdata: [Vec<u8>; 2],
}

fn capture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/captures").join(name)
}

fn load(name: &str) -> Capture {
    let dir = capture_dir(name);
    let mut files: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".hex"))
        .collect();
    // NNN-c2s.hex / NNN-s2c.hex: the number is the global order on the wire.
    files.sort();
    let datagrams: Vec<_> = files
        .iter()
        .map(|f| {
            let d = if f.ends_with("-c2s.hex") {
                Dir::C2s
            } else {
                assert!(f.ends_with("-s2c.hex"), "{f}");
                Dir::S2c
            };
            (d, hex(&fs::read_to_string(dir.join(f)).unwrap()))
        })
        .collect();
    assert!(datagrams.len() >= 10, "{name}: only {} datagrams", datagrams.len());

    // NSS key log format: `CLIENT_RANDOM <64 hex digits> <96 hex digits>`.
    let keylog = fs::read_to_string(dir.join("keylog.txt")).unwrap();
    let lines: Vec<_> = keylog.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{name}: keylog.txt must hold exactly one line");
    let fields: Vec<_> = lines[0].split_whitespace().collect();
    assert_eq!(fields.len(), 3);
    assert_eq!(fields[0], "CLIENT_RANDOM");
    let keylog_client_random = hex(fields[1]).try_into().expect("32-byte client random");
    let master_secret = hex(fields[2]).try_into().expect("48-byte master secret");

    // `<c2s|s2c> <text>`; OpenSSL sent each text with a trailing "\n".
    let mut appdata = [Vec::new(), Vec::new()];
    for line in fs::read_to_string(dir.join("appdata.txt")).unwrap().lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (d, text) = line.split_once(' ').unwrap();
        let d = match d {
            "c2s" => Dir::C2s,
            "s2c" => Dir::S2c,
            other => panic!("{name}: bad direction {other:?} in appdata.txt"),
        };
        appdata[d as usize].extend_from_slice(text.as_bytes());
        appdata[d as usize].push(b'\n');
    }
    assert!(!appdata[0].is_empty() && !appdata[1].is_empty());
    Capture { datagrams, keylog_client_random, master_secret, appdata }
}

/// Everything learned while replaying one capture.
struct Replay {
    name: &'static str,
    /// Receives the records of each direction, indexed by [`Dir`]: `layers[C2s]` acts as the
    /// server (reads client records, writes server records), `layers[S2c]` as the client.
    layers: [RecordLayer; 2],
    reassemblers: [Reassembler; 2],
    keylog_secret: [u8; 48],
    /// Made from the key log once the ServerHello names the suite (and so the PRF hash).
    master: Option<MasterSecret>,
    client_hello: Option<ClientHello>,
    cookie: Option<Vec<u8>>,
    server_random: Option<[u8; 32]>,
    suite: Option<&'static SuiteInfo>,
    ems: bool,
    ske_group: Option<NamedGroup>,
    server_cert: Option<CertificateDer<'static>>,
    client_cert: Option<CertificateDer<'static>>,
    certificate_request: bool,
    certificate_verify_checked: bool,
    /// RFC 6347 §4.2.6: every handshake message from the second ClientHello on (without the
    /// HelloVerifyRequest), each with its header as if unfragmented.
    transcript: Vec<u8>,
    finished_checked: [bool; 2],
    new_session_ticket: bool,
    reencoded: usize,
    fragmented: bool,
    appdata: [Vec<u8>; 2],
    alerts: [Vec<Alert>; 2],
    /// Epoch-1 records that our own `seal` reproduced byte for byte.
    resealed: usize,
    /// Records our replay window refused (a retransmission in the capture).
    replayed: usize,
}

impl Replay {
    fn new(name: &'static str, keylog_secret: [u8; 48]) -> Self {
        Self {
            name,
            layers: [RecordLayer::new(), RecordLayer::new()],
            reassemblers: [Reassembler::default(), Reassembler::default()],
            keylog_secret,
            master: None,
            client_hello: None,
            cookie: None,
            server_random: None,
            suite: None,
            ems: false,
            ske_group: None,
            server_cert: None,
            client_cert: None,
            certificate_request: false,
            certificate_verify_checked: false,
            transcript: Vec::new(),
            finished_checked: [false; 2],
            new_session_ticket: false,
            reencoded: 0,
            fragmented: false,
            appdata: [Vec::new(), Vec::new()],
            alerts: [Vec::new(), Vec::new()],
            resealed: 0,
            replayed: 0,
        }
    }

    fn client_random(&self) -> [u8; 32] {
        self.client_hello.as_ref().expect("ClientHello before keys").random
    }

    /// One datagram: every record in it must be well formed and open.
    fn datagram(&mut self, dir: Dir, datagram: &[u8]) {
        let mut records = Deframer::new(datagram);
        for (header, body) in records.by_ref() {
            self.record(dir, &header, body);
        }
        assert!(!records.truncated(), "{}: trailing bytes in a {dir:?} datagram", self.name);
    }

    fn record(&mut self, dir: Dir, header: &RecordHeader, body: &[u8]) {
        let name = self.name;
        assert_eq!(usize::from(header.length), body.len());
        // RFC 6347 §4.2.1: a ClientHello's record may carry DTLS 1.0 (OpenSSL's first flight
        // does); everything else is DTLS 1.2.
        assert!(header.version == DTLS_1_2 || (header.version == DTLS_1_0 && header.epoch == 0));
        let mut buf = body.to_vec();
        match self.layers[dir as usize].open(header, &mut buf, 0) {
            Ok(()) => {}
            Err(Discard::Replay) => {
                self.replayed += 1;
                return;
            }
            Err(e) => panic!("{name}: {dir:?} record {header:?} did not open: {e:?}"),
        };
        let plain = &buf[..];
        if header.epoch == 1 {
            self.reseal(dir, header, plain, body);
        }
        match header.content_type {
            ContentType::Handshake => {
                for fragment in parse_fragments(plain) {
                    let (h, frag) = fragment.unwrap_or_else(|e| panic!("{name}: bad fragment: {e:?}"));
                    self.fragmented |= !h.is_whole_message();
                    let r = &mut self.reassemblers[dir as usize];
                    match r.insert(&h, frag) {
                        Ok(Inserted::Buffered) => {}
                        Ok(Inserted::Old) => continue,
                        other => panic!("{name}: {dir:?} fragment {h:?}: {other:?}"),
                    }
                    while let Some(msg) = self.reassemblers[dir as usize].pop() {
                        self.message(dir, msg);
                    }
                }
            }
            ContentType::ChangeCipherSpec => {
                assert_eq!(ChangeCipherSpec::read_all(plain), Ok(ChangeCipherSpec));
                assert!(self.layers[dir as usize].has_keys(), "{name}: CCS before keys");
                // The receiver of this direction reads epoch 1 from now on; the other layer,
                // which plays the sender, writes it (for `reseal`).
                self.layers[dir as usize].set_read_epoch(Epoch::DTLS12_PROTECTED);
                self.layers[dir.other() as usize].set_write_epoch(Epoch::DTLS12_PROTECTED);
            }
            ContentType::ApplicationData => {
                assert_eq!(header.epoch, 1, "{name}: plaintext application data");
                assert!(self.finished_checked[dir as usize], "{name}: application data before Finished");
                self.appdata[dir as usize].extend_from_slice(plain);
            }
            ContentType::Alert => {
                assert_eq!(header.epoch, 1, "{name}: plaintext alert");
                self.alerts[dir as usize].push(Alert::read_all(plain).unwrap());
            }
            other => panic!("{name}: unexpected content type {other:?}"),
        }
    }

    /// Seal the plaintext again as the sender and compare with what OpenSSL sent.
    ///
    /// Only possible where the nonce is a function of the record: RFC 7905 §2 derives the
    /// ChaCha20-Poly1305 nonce from epoch and sequence. For AES-GCM the 8-byte explicit nonce
    /// is the sender's choice (RFC 5288 §3); OpenSSL counts up from a random value, we send
    /// epoch||sequence, so the ciphertexts differ by design (our `open` takes the nonce from
    /// the record, which is what the successful opens above prove).
    fn reseal(&mut self, dir: Dir, header: &RecordHeader, plain: &[u8], sent: &[u8]) {
        let sender = &mut self.layers[dir.other() as usize];
        let suite = self.suite.expect("epoch 1 after ServerHello");
        if suite.aead.explicit_nonce_len() != 0 {
            return;
        }
        assert_eq!(sender.write_epoch(), Epoch::DTLS12_PROTECTED);
        let mut out = Vec::new();
        sender.seal(1, header.content_type, plain, &mut out).unwrap();
        let mut expected = Vec::new();
        header.encode(&mut expected);
        expected.extend_from_slice(sent);
        // Our sequence counter only matches if OpenSSL sent no retransmission in between.
        if out[..11] == expected[..11] {
            assert_eq!(out, expected, "{}: {dir:?} record {header:?} resealed differently", self.name);
            self.resealed += 1;
        }
    }

    /// One reassembled handshake message, in the order the peers processed them.
    fn message(&mut self, dir: Dir, msg: HandshakeMessage) {
        let name = self.name;
        let from = dir.sender();
        // OpenSSL issues a NewSessionTicket (RFC 5077 §3.3) because its client offered the
        // extension; it is part of the server Finished transcript.
        if msg.msg_type == HandshakeType::NewSessionTicket {
            assert_eq!(dir, Dir::S2c);
            match HandshakePayload::read(msg.msg_type, &msg.body) {
                Ok(HandshakePayload::NewSessionTicket(nst)) => assert!(!nst.ticket.is_empty()),
                other => panic!("{name}: NewSessionTicket does not parse: {other:?}"),
            }
            self.new_session_ticket = true;
            msg.transcript_bytes(&mut self.transcript);
            return;
        }
        let payload = HandshakePayload::read(msg.msg_type, &msg.body)
            .unwrap_or_else(|e| panic!("{name}: {:?} does not parse: {e:?}", msg.msg_type));
        assert_eq!(payload.msg_type(), msg.msg_type);
        let mut again = Vec::new();
        payload.encode_body(&mut again);
        assert_eq!(again, msg.body, "{name}: {:?} re-encodes differently", msg.msg_type);
        self.reencoded += 1;

        match payload {
            HandshakePayload::ClientHello(ch) => {
                assert_eq!(dir, Dir::C2s);
                if let Some(cookie) = &self.cookie {
                    // RFC 6347 §4.2.1: the second ClientHello repeats the first with the cookie.
                    assert_eq!(&ch.cookie, cookie);
                    let first = self.client_hello.as_ref().unwrap();
                    assert_eq!(ch, ClientHello { cookie: cookie.clone(), ..first.clone() });
                }
                self.client_hello = Some(ch);
            }
            HandshakePayload::HelloVerifyRequest(hvr) => {
                assert_eq!(dir, Dir::S2c);
                // RFC 6347 §4.2.6: the first ClientHello and the HelloVerifyRequest are not
                // part of the transcript; it starts again with the second ClientHello.
                self.transcript.clear();
                self.cookie = Some(hvr.cookie);
                return;
            }
            HandshakePayload::ServerHello(ref sh) => {
                let suite = lookup(sh.cipher_suite).unwrap_or_else(|| panic!("{name}: unknown suite"));
                self.suite = Some(suite);
                self.server_random = Some(sh.random);
                let ch = self.client_hello.as_ref().expect("ClientHello first");
                // RFC 7627 §5.1: negotiated when both hellos carry the extension.
                let ems = |exts: &[Extension]| {
                    find_extension(exts, ExtensionType::ExtendedMasterSecret) == Some(&Extension::ExtendedMasterSecret)
                };
                self.ems = ems(&ch.extensions) && ems(&sh.extensions);
                self.install_keys(suite);
            }
            HandshakePayload::Certificate(cert) => {
                let ee = cert.chain.first().cloned();
                match dir {
                    Dir::S2c => self.server_cert = ee,
                    Dir::C2s => self.client_cert = ee,
                }
            }
            HandshakePayload::ServerKeyExchange(ske) => {
                let (cr, sr) = (self.client_random(), self.server_random.unwrap());
                let signed = ServerKeyExchange::signed_message(&cr, &sr, &ske.params);
                let cert = self.server_cert.as_ref().expect("Certificate before ServerKeyExchange");
                verify_signature(ske.scheme, cert, &signed, &ske.signature)
                    .unwrap_or_else(|e| panic!("{name}: ServerKeyExchange signature: {e:?}"));
                self.ske_group = Some(ske.params.group);
            }
            HandshakePayload::CertificateRequest(_) => self.certificate_request = true,
            HandshakePayload::CertificateVerify(cv) => {
                // RFC 5246 §7.4.8: signed over every handshake message so far, which is
                // exactly our transcript at this point.
                let cert = self.client_cert.as_ref().expect("client Certificate before CertificateVerify");
                verify_signature(cv.scheme, cert, &self.transcript, &cv.signature)
                    .unwrap_or_else(|e| panic!("{name}: CertificateVerify signature: {e:?}"));
                self.certificate_verify_checked = true;
            }
            HandshakePayload::Finished(ref fin) => {
                let suite = self.suite.expect("ServerHello before Finished");
                let master = self.master.as_ref().unwrap();
                // RFC 5246 §7.4.9: PRF(master_secret, finished_label, Hash(handshake_messages)).
                let expected = master.verify_data(from, &suite.prf.digest(&self.transcript));
                assert_eq!(fin.verify_data, expected, "{name}: {from:?} Finished");
                self.finished_checked[dir as usize] = true;
            }
            HandshakePayload::ServerHelloDone | HandshakePayload::ClientKeyExchange(_) => {}
            other => panic!("{name}: unexpected {other:?}"),
        }
        msg.transcript_bytes(&mut self.transcript);
    }

    /// Derive both directions' keys from the key log's master secret, as our key schedule
    /// does for a session of its own.
    fn install_keys(&mut self, suite: &'static SuiteInfo) {
        let master = MasterSecret::from_bytes(suite.prf, self.keylog_secret);
        let (cr, sr) = (self.client_random(), self.server_random.unwrap());
        for (dir, receiver) in [(Dir::C2s, Side::Server), (Dir::S2c, Side::Client)] {
            let (write, read) = master.record_keys(suite, receiver, &cr, &sr).unwrap();
            self.layers[dir as usize].install_keys(EpochKeys { epoch: Epoch::DTLS12_PROTECTED, write, read });
        }
        self.master = Some(master);
    }
}

fn check(expect: &Expect) {
    let name = expect.dir;
    let capture = load(name);
    let mut replay = Replay::new(name, capture.master_secret);
    for (dir, datagram) in &capture.datagrams {
        replay.datagram(*dir, datagram);
    }

    // The capture is the conversation it claims to be.
    let suite = replay.suite.expect("a ServerHello");
    assert_eq!(suite.suite, expect.suite, "{name}");
    assert_eq!(replay.ske_group, Some(expect.group), "{name}");
    assert_eq!(replay.fragmented, expect.fragmented, "{name}: fragmentation");
    assert_eq!(replay.certificate_request, expect.mutual, "{name}: CertificateRequest");
    assert_eq!(replay.client_cert.is_some(), expect.mutual, "{name}: client certificate");
    assert_eq!(replay.certificate_verify_checked, expect.mutual, "{name}: CertificateVerify");
    assert!(replay.cookie.is_some(), "{name}: OpenSSL's s_server always sends a HelloVerifyRequest");
    assert!(replay.new_session_ticket, "{name}: NewSessionTicket");
    assert!(replay.reencoded >= 8, "{name}: only {} messages re-encoded", replay.reencoded);

    // The key log belongs to this conversation.
    assert_eq!(capture.keylog_client_random, replay.client_random(), "{name}: key log client random");
    // RFC 7627: with EMS the master secret hashes the transcript up to the ClientKeyExchange,
    // which needs the ECDHE premaster we do not have; that the Finished messages verify with
    // the logged secret is the check on it. Here: it was negotiated.
    assert!(replay.ems, "{name}: extended_master_secret not negotiated");

    // (a) Both Finished messages verified (in `message`), so key block, PRF and transcript
    // agree with OpenSSL.
    assert_eq!(replay.finished_checked, [true, true], "{name}: Finished");

    // (c) The application data, each direction in order.
    for dir in [Dir::C2s, Dir::S2c] {
        assert_eq!(
            String::from_utf8_lossy(&replay.appdata[dir as usize]),
            String::from_utf8_lossy(&capture.appdata[dir as usize]),
            "{name}: {dir:?} application data"
        );
    }

    // (d) The client closed with close_notify; the server answered with its own.
    let close = Alert { level: AlertLevel::Warning, description: AlertDescription::CloseNotify };
    assert_eq!(replay.alerts[Dir::C2s as usize], [close], "{name}: client alerts");
    assert!(replay.alerts[Dir::S2c as usize].iter().all(|a| *a == close), "{name}: server alerts");

    if suite.aead.explicit_nonce_len() == 0 {
        // Finished, two application data records and close_notify, at least, per direction.
        assert!(replay.resealed >= 8, "{name}: only {} records resealed", replay.resealed);
    }
    assert_eq!(replay.replayed, 0, "{name}: the capture has retransmissions; regenerate it");
}

#[test]
fn ecdhe_ecdsa_aes128_gcm_x25519() {
    check(&CAPTURES[0]);
}

#[test]
fn ecdhe_rsa_aes256_gcm_p384_fragmented() {
    check(&CAPTURES[1]);
}

#[test]
fn ecdhe_ecdsa_chacha20_p256_mutual_auth() {
    check(&CAPTURES[2]);
}

/// A flipped bit anywhere in an epoch-1 record must make it fail to open: the successes
/// above are not an artefact of a check that passes everything.
#[test]
fn tampered_epoch1_records_do_not_open() {
    for expect in CAPTURES {
        let capture = load(expect.dir);
        let mut replay = Replay::new(expect.dir, capture.master_secret);
        let mut tried = 0;
        for (dir, datagram) in &capture.datagrams {
            let records: Vec<_> = Deframer::new(datagram).collect();
            for (header, body) in &records {
                if header.epoch == 1 && replay.layers[*dir as usize].read_epoch() == Epoch::DTLS12_PROTECTED {
                    for bit in [0, body.len() * 8 / 2, body.len() * 8 - 1] {
                        let mut bad = body.to_vec();
                        bad[bit / 8] ^= 1 << (bit % 8);
                        let got = replay.layers[*dir as usize].open(header, &mut bad, 0);
                        assert_eq!(got, Err(Discard::BadRecordMac), "{}: bit {bit}", expect.dir);
                        tried += 1;
                    }
                }
            }
            replay.datagram(*dir, datagram);
        }
        assert!(tried >= 12, "{}: {tried}", expect.dir);
    }
}
