//! The symmetric cryptography a DTLS 1.3 handshake cannot do without, done with ring alone:
//! the part of the 1.3 crypto floor that `Floor::run13` adds to the public-key operations.
//!
//! Both sides' work for one handshake with TLS_AES_128_GCM_SHA256 (RFC 8446 §7.1, RFC 9147):
//! - the transcript hash over the handshake messages, with a snapshot wherever the protocol
//!   needs one (handshake secrets, each CertificateVerify, each Finished, application secrets);
//! - the key schedule: HKDF-Extract of the handshake secret (the PSK-less early secret's
//!   "derived" value is a constant, so it is not recomputed), the handshake and application
//!   traffic secrets and the exporter master secret, and from each traffic secret its key,
//!   IV and record-number key (RFC 9147 §4.2.3), and the Finished keys;
//! - the Finished MACs (each side computes its own and checks its peer's);
//! - the protected records: AES-128-GCM seal and open of every encrypted handshake record,
//!   and the record-number mask on each side.
//!
//! The message and record sizes are those of the engine's handshakes in
//! `examples/handshake_profile.rs` (measured: `Flights::of`), so both hash and encrypt the
//! same number of bytes. Parsing, encoding, buffers, state machines, timers and ACK
//! bookkeeping are the engine's own cost and are not here.

use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey, quic};
use ring::{digest, hkdf, hmac};

/// What one handshake hashes and protects: handshake message bodies in transcript order
/// (type, body length) and the content lengths of the protected records.
pub struct Flights {
    /// Messages both sides hash, up to and including the server's Finished.
    shared: &'static [usize],
    /// The client's Certificate and CertificateVerify (mutual authentication), hashed by both.
    client_auth: &'static [usize],
    /// Records the server protects with its handshake key (EncryptedExtensions through Finished).
    server_records: &'static [usize],
    /// Records the client protects with its handshake key (its certificate, if any, and Finished).
    client_records: &'static [usize],
    /// The server's ACK of the client's last flight, under the application key.
    ack: usize,
}

impl Flights {
    /// The engine's flights (suite TLS_AES_128_GCM_SHA256, one key share, P-256 certificates
    /// from `pki()`), as counted in the engine's transcript and record layer.
    ///
    /// Messages: ClientHello (143 bytes with one X25519 share, 1,327 with one X25519MLKEM768
    /// share), ServerHello (86 / 1,174), EncryptedExtensions 6, CertificateRequest 21,
    /// Certificate 334, CertificateVerify 76, Finished 32; the client's Certificate 348 and
    /// CertificateVerify 75. Records: one per message (with the hybrid's larger ServerHello
    /// the server's Certificate is split over two), plus the server's ACK.
    pub fn of(client_auth: bool, hybrid: bool) -> Self {
        match (client_auth, hybrid) {
            (false, false) => Self {
                shared: &[143, 86, 6, 334, 76, 32],
                client_auth: &[],
                server_records: &[18, 346, 88, 44],
                client_records: &[44],
                ack: 18,
            },
            (false, true) => Self {
                shared: &[1327, 1174, 6, 334, 76, 32],
                client_auth: &[],
                server_records: &[18, 120, 239, 87, 44],
                client_records: &[44],
                ack: 18,
            },
            (true, false) => Self {
                shared: &[143, 86, 6, 21, 334, 76, 32],
                client_auth: &[348, 75],
                server_records: &[18, 33, 347, 87, 44],
                client_records: &[360, 87, 44],
                ack: 50,
            },
            (true, true) => Self {
                shared: &[1327, 1174, 6, 21, 334, 76, 32],
                client_auth: &[348, 75],
                server_records: &[18, 33, 175, 184, 87, 44],
                client_records: &[362, 87, 44],
                ack: 50,
            },
        }
    }
}

/// One side's traffic keys from one traffic secret.
struct Keys {
    aead: LessSafeKey,
    iv: [u8; 12],
    sn: quic::HeaderProtectionKey,
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label with the "dtls13" prefix (RFC 9147 §5.9) into `out`.
fn expand_label(prk: &hkdf::Prk, label: &[u8], context: &[u8], out: &mut [u8]) {
    let len = (out.len() as u16).to_be_bytes();
    let label_len = [(6 + label.len()) as u8];
    let context_len = [context.len() as u8];
    let info = [&len[..], &label_len, b"dtls13", label, &context_len, context];
    prk.expand(&info, Len(out.len())).expect("expand").fill(out).expect("fill");
}

fn secret(prk: &hkdf::Prk, label: &[u8], transcript: &[u8]) -> hkdf::Prk {
    let mut s = [0u8; 32];
    expand_label(prk, label, transcript, &mut s);
    hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &s)
}

fn keys(secret: &hkdf::Prk) -> Keys {
    let (mut key, mut iv, mut sn) = ([0u8; 16], [0u8; 12], [0u8; 16]);
    expand_label(secret, b"key", &[], &mut key);
    expand_label(secret, b"iv", &[], &mut iv);
    expand_label(secret, b"sn", &[], &mut sn);
    Keys {
        aead: LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).expect("key")),
        iv,
        sn: quic::HeaderProtectionKey::new(&quic::AES_128, &sn).expect("sn key"),
    }
}

fn finished_key(secret: &hkdf::Prk) -> hmac::Key {
    let mut k = [0u8; 32];
    expand_label(secret, b"finished", &[], &mut k);
    hmac::Key::new(hmac::HMAC_SHA256, &k)
}

/// One protected record of `len` content bytes: the sender seals it (content, type byte) and
/// masks its record number; the receiver unmasks and opens it.
fn record(keys: &Keys, seq: u64, len: usize, buf: &mut [u8; 512]) {
    let plain = len + 1;
    let header = [0x2c, 0, seq as u8, ((plain + 16) >> 8) as u8, (plain + 16) as u8];
    let mut nonce = keys.iv;
    nonce[4..].iter_mut().zip(seq.to_be_bytes()).for_each(|(n, s)| *n ^= s);
    let tag = keys
        .aead
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(header), &mut buf[..plain])
        .expect("seal");
    buf[plain..plain + 16].copy_from_slice(tag.as_ref());
    let mask = keys.sn.new_mask(&buf[..16]).expect("mask");
    std::hint::black_box(mask);
    let mask = keys.sn.new_mask(&buf[..16]).expect("mask");
    std::hint::black_box(mask);
    let mut nonce = keys.iv;
    nonce[4..].iter_mut().zip(seq.to_be_bytes()).for_each(|(n, s)| *n ^= s);
    keys.aead
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(header), &mut buf[..plain + 16])
        .expect("open");
}

fn add(t: &mut digest::Context, body: &[u8], len: usize) {
    let n = (len as u32).to_be_bytes();
    t.update(&[0x01, n[1], n[2], n[3]]);
    t.update(&body[..len]);
}

/// One side's traffic keys and Finished keys.
struct Side {
    c_hs: Keys,
    s_hs: Keys,
    c_ap: Keys,
    s_ap: Keys,
    c_fin: hmac::Key,
    s_fin: hmac::Key,
}

fn schedule(derived_early: &[u8; 32], shared: &[u8], hello_hash: &[u8], finished_hash: &[u8]) -> Side {
    // RFC 8446 §7.1: Handshake Secret = HKDF-Extract(Derive-Secret(Early, "derived", ""), (EC)DHE).
    let hs = hkdf::Salt::new(hkdf::HKDF_SHA256, derived_early).extract(shared);
    let c_hs = secret(&hs, b"c hs traffic", hello_hash);
    let s_hs = secret(&hs, b"s hs traffic", hello_hash);
    let mut derived = [0u8; 32];
    expand_label(&hs, b"derived", EMPTY_SHA256, &mut derived);
    let master = hkdf::Salt::new(hkdf::HKDF_SHA256, &derived).extract(&[0u8; 32]);
    let c_ap = secret(&master, b"c ap traffic", finished_hash);
    let s_ap = secret(&master, b"s ap traffic", finished_hash);
    let mut exporter = [0u8; 32];
    expand_label(&master, b"exp master", finished_hash, &mut exporter);
    std::hint::black_box(exporter);
    Side {
        c_fin: finished_key(&c_hs),
        s_fin: finished_key(&s_hs),
        c_hs: keys(&c_hs),
        s_hs: keys(&s_hs),
        c_ap: keys(&c_ap),
        s_ap: keys(&s_ap),
    }
}

/// Derive-Secret(Early Secret, "derived", "") without a PSK: a constant of the suite's hash
/// (RFC 8446 §7.1), computed once.
pub fn derived_early() -> [u8; 32] {
    let early = hkdf::Salt::new(hkdf::HKDF_SHA256, &[0u8; 32]).extract(&[0u8; 32]);
    let mut derived = [0u8; 32];
    expand_label(&early, b"derived", EMPTY_SHA256, &mut derived);
    derived
}

/// SHA-256 of the empty string, the context of Derive-Secret(., "derived", "").
const EMPTY_SHA256: &[u8] = &[
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Both sides' symmetric work for one handshake over `flights`, with `shared` the key
/// exchange's shared secret and `derived_early` the constant early "derived" secret.
pub fn run(flights: &Flights, derived_early: &[u8; 32], shared: &[u8]) {
    let body = [0x5au8; 1400];
    debug_assert!(flights.shared.iter().chain(flights.client_auth).all(|&l| l <= body.len()));
    let mut buf = [0u8; 512];
    let n = flights.shared.len();
    for side in [Role::Client, Role::Server] {
        // The transcript hash, with a snapshot after ServerHello (handshake secrets), after
        // the server's Certificate (its CertificateVerify) and CertificateVerify (its
        // Finished), after its Finished (application secrets, the client's Finished without
        // client authentication), and after the client's Certificate and CertificateVerify.
        let mut t = digest::Context::new(&digest::SHA256);
        let mut hello_hash = None;
        for (i, &len) in flights.shared.iter().enumerate() {
            add(&mut t, &body, len);
            if i == 1 {
                hello_hash = Some(t.clone().finish());
            } else if i + 3 == n || i + 2 == n {
                std::hint::black_box(t.clone().finish());
            }
        }
        let finished_hash = t.clone().finish();
        for &len in flights.client_auth {
            add(&mut t, &body, len);
            std::hint::black_box(t.clone().finish());
        }
        let hello_hash = hello_hash.expect("ServerHello");
        let keys = schedule(derived_early, shared, hello_hash.as_ref(), finished_hash.as_ref());
        // Finished: each side computes its own and checks its peer's.
        std::hint::black_box(hmac::sign(&keys.s_fin, finished_hash.as_ref()));
        std::hint::black_box(hmac::sign(&keys.c_fin, finished_hash.as_ref()));
        // Each record is sealed on one side and opened on the other: counted once, here.
        if side == Role::Server {
            for (seq, &len) in flights.server_records.iter().enumerate() {
                record(&keys.s_hs, seq as u64, len, &mut buf);
            }
            for (seq, &len) in flights.client_records.iter().enumerate() {
                record(&keys.c_hs, seq as u64, len, &mut buf);
            }
            record(&keys.s_ap, 0, flights.ack, &mut buf);
        }
        std::hint::black_box((&keys.c_ap.iv, &keys.s_ap.iv));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Client,
    Server,
}
