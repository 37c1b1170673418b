//! What every benchmark shares: a throw-away PKI made with rcgen (a P-256 CA, a server leaf
//! and a client leaf it signed), configurations, and an in-memory handshake driver.
//!
//! Shared by the benches of this crate and by `benches/peers` (through `#[path]`), so every
//! engine is measured on the same certificates and the same workload.

#![allow(dead_code)]

pub mod schedule13;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use dtls_engine::{
    CertificateDer, CipherSuite, ClientAuth, ClientConfig, ClientConfigBuilder, Event, FingerprintVerifier, NamedGroup,
    ProtocolVersion, ServerConfig, ServerConfigBuilder, Session, fingerprint_sha256,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// Payload of one application record in the record benchmarks.
pub const RECORD_LEN: usize = 1200;

/// Certificates and keys (PEM and DER) of the benchmark PKI.
pub struct Pki {
    pub ca_pem: String,
    pub ca_der: Vec<u8>,
    pub server_pem: String,
    pub server_der: Vec<u8>,
    pub server_key_pem: String,
    pub server_key_der: Vec<u8>,
    pub client_pem: String,
    pub client_der: Vec<u8>,
    pub client_key_pem: String,
    pub client_key_der: Vec<u8>,
}

/// The PKI of this process, made on first use.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.distinguished_name.push(DnType::CommonName, "bench CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |name: &str| {
            let key = KeyPair::generate().expect("leaf key");
            let mut params = CertificateParams::new(vec![name.to_string()]).expect("leaf params");
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.signed_by(&key, &issuer).expect("leaf cert");
            (cert, key)
        };
        let (server, server_key) = leaf("localhost");
        let (client, client_key) = leaf("client.localhost");
        Pki {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().to_vec(),
            server_pem: server.pem(),
            server_der: server.der().to_vec(),
            server_key_pem: server_key.serialize_pem(),
            server_key_der: server_key.serialize_der(),
            client_pem: client.pem(),
            client_der: client.der().to_vec(),
            client_key_pem: client_key.serialize_pem(),
            client_key_der: client_key.serialize_der(),
        }
    })
}

/// How the peer is authenticated in a benchmark configuration.
#[derive(Clone, Copy)]
enum PeerAuth {
    /// Chains validated against the CA (webpki), the server's name checked.
    Ca,
    /// The peer's certificate fingerprint pinned (WebRTC style): no chain validation, only
    /// the pin and the peer's signatures.
    Pinned,
}

/// The server side: the CA-signed P-256 leaf, ECDHE on P-256, MTU 1500, the cookie exchange
/// on, and (with `client_auth`) a client certificate required and checked as `auth` says.
fn server(suite: CipherSuite, client_auth: bool, auth: PeerAuth) -> Arc<ServerConfig> {
    server_builder(suite, client_auth, auth).build().expect("server config")
}

fn server_builder(suite: CipherSuite, client_auth: bool, auth: PeerAuth) -> ServerConfigBuilder {
    let p = pki();
    let mut b = ServerConfig::builder()
        .certificate_pem(p.server_pem.as_bytes(), p.server_key_pem.as_bytes())
        .expect("server cert")
        .cipher_suites(&[suite])
        .groups_by_name(&["P-256"])
        .mtu(1500)
        .cookie(true);
    if client_auth {
        b = match auth {
            PeerAuth::Ca => b.require_client_certificate_pem(p.ca_pem.as_bytes()).expect("client CA"),
            PeerAuth::Pinned => {
                let pin = FingerprintVerifier::new(&fingerprint(&p.client_der)).expect("client pin");
                b.client_auth(ClientAuth::Required(Arc::new(pin)))
            }
        };
    }
    b
}

/// The client side: ECDHE on P-256, MTU 1500, the server checked as `auth` says, and (with
/// `client_auth`) the client's CA-signed leaf.
fn client(suite: CipherSuite, client_auth: bool, auth: PeerAuth) -> Arc<ClientConfig> {
    client_builder(suite, client_auth, auth).build().expect("client config")
}

fn client_builder(suite: CipherSuite, client_auth: bool, auth: PeerAuth) -> ClientConfigBuilder {
    let p = pki();
    let b = match auth {
        PeerAuth::Ca => {
            ClientConfig::builder().root_certificates_pem(p.ca_pem.as_bytes()).expect("roots").server_name("localhost")
        }
        PeerAuth::Pinned => ClientConfig::builder().pin_fingerprint(&fingerprint(&p.server_der)).expect("server pin"),
    };
    let mut b = b.cipher_suites(&[suite]).groups_by_name(&["P-256"]).mtu(1500);
    if client_auth {
        b = b.client_certificate_pem(p.client_pem.as_bytes(), p.client_key_pem.as_bytes()).expect("client cert");
    }
    b
}

/// [`server_config`] and [`client_config`] (server authentication only) with 8-byte
/// connection IDs both ways: application records are `tls12_cid` records (RFC 9146).
pub fn cid_configs(suite: CipherSuite) -> (Arc<ClientConfig>, Arc<ServerConfig>) {
    let client = client_builder(suite, false, PeerAuth::Ca).connection_ids(8).build().expect("client config");
    let server = server_builder(suite, false, PeerAuth::Ca).connection_ids(8).build().expect("server config");
    (client, server)
}

/// Server configuration: the CA-signed P-256 leaf, ECDHE on P-256, the cookie exchange on,
/// and (with `client_auth`) a client certificate required from the same CA.
pub fn server_config(suite: CipherSuite, client_auth: bool) -> Arc<ServerConfig> {
    server(suite, client_auth, PeerAuth::Ca)
}

/// Client configuration trusting the CA, for server name `localhost`.
pub fn client_config(suite: CipherSuite, client_auth: bool) -> Arc<ClientConfig> {
    client(suite, client_auth, PeerAuth::Ca)
}

/// The SHA-256 fingerprint (`sha-256 AB:CD:...`) of a DER certificate.
fn fingerprint(der: &[u8]) -> String {
    fingerprint_sha256(&CertificateDer::from(der))
}

/// [`server_config`] authenticating the client by its pinned certificate fingerprint
/// (WebRTC style): no chain validation, only the pin and the CertificateVerify signature.
pub fn server_config_pinned(suite: CipherSuite, client_auth: bool) -> Arc<ServerConfig> {
    server(suite, client_auth, PeerAuth::Pinned)
}

/// [`client_config`] authenticating the server by its pinned certificate fingerprint
/// instead of the CA (no chain validation, no name check).
pub fn client_config_pinned(suite: CipherSuite, client_auth: bool) -> Arc<ClientConfig> {
    client(suite, client_auth, PeerAuth::Pinned)
}

/// The DTLS 1.3 suites, with short names for benchmark ids.
pub const SUITES13: [(&str, CipherSuite); 3] = [
    ("AES-128-GCM", CipherSuite::TLS_AES_128_GCM_SHA256),
    ("AES-256-GCM", CipherSuite::TLS_AES_256_GCM_SHA384),
    ("ChaCha20-Poly1305", CipherSuite::TLS_CHACHA20_POLY1305_SHA256),
];

/// DTLS 1.3 server configuration for the 1.3 benchmarks: the same CA-signed P-256 leaf as
/// [`server_config`], only `suite` (a DTLS 1.3 suite, so 1.2 is not offered), both 1.3
/// groups (the client's share decides), MTU 1500, the HelloRetryRequest cookie round as
/// `cookie` says (off, the handshake has the message count of the 1.3 floor), and (with
/// `client_auth`) a client certificate required from the CA.
pub fn server_config13(suite: CipherSuite, client_auth: bool, cookie: bool) -> Arc<ServerConfig> {
    let p = pki();
    let mut b = ServerConfig::builder()
        .certificate_pem(p.server_pem.as_bytes(), p.server_key_pem.as_bytes())
        .expect("server cert")
        .max_version(ProtocolVersion::Dtls13)
        .cipher_suites(&[suite])
        .groups(&[NamedGroup::X25519MLKEM768, NamedGroup::X25519])
        .mtu(1500)
        .cookie(cookie);
    if client_auth {
        b = b.require_client_certificate_pem(p.ca_pem.as_bytes()).expect("client CA");
    }
    b.build().expect("server config")
}

/// DTLS 1.3 client configuration: trusts the CA for `localhost`, offers only `suite` and
/// only `group` (so it sends exactly one key share: with X25519MLKEM768 alone, no extra
/// X25519 share as the default groups add), MTU 1500, and (with `client_auth`) the client's
/// CA-signed leaf.
pub fn client_config13(suite: CipherSuite, group: NamedGroup, client_auth: bool) -> Arc<ClientConfig> {
    let p = pki();
    let mut b = ClientConfig::builder()
        .root_certificates_pem(p.ca_pem.as_bytes())
        .expect("roots")
        .server_name("localhost")
        .max_version(ProtocolVersion::Dtls13)
        .cipher_suites(&[suite])
        .groups(&[group])
        .mtu(1500);
    if client_auth {
        b = b.client_certificate_pem(p.client_pem.as_bytes(), p.client_key_pem.as_bytes()).expect("client cert");
    }
    b.build().expect("client config")
}

/// Run one DTLS 1.3 handshake in memory until both sides are connected and quiet (the
/// server's ACK of the client's flight delivered too), and return the pair with their
/// events drained.
pub fn handshake13(ccfg: &Arc<ClientConfig>, scfg: &Arc<ServerConfig>, wire: &mut Vec<u8>) -> (Session, Session) {
    let ca: SocketAddr = CLIENT_ADDR.parse().expect("addr");
    let sa: SocketAddr = SERVER_ADDR.parse().expect("addr");
    let now = Instant::now();
    let mut c = Session::client(now, ccfg.clone(), sa);
    let mut s = Session::server(now, scfg.clone(), ca);
    for _ in 0..8 {
        let mut moved = false;
        while c.poll_transmit_into(wire).is_some() {
            s.handle(now, wire).expect("server handle");
            moved = true;
        }
        while s.poll_transmit_into(wire).is_some() {
            c.handle(now, wire).expect("client handle");
            moved = true;
        }
        if !moved && c.is_connected() && s.is_connected() {
            break;
        }
    }
    assert!(c.is_connected() && s.is_connected(), "DTLS 1.3 handshake did not complete");
    while c.poll_event().is_some() {}
    while s.poll_event().is_some() {}
    (c, s)
}

pub const CLIENT_ADDR: &str = "127.0.0.1:40000";
pub const SERVER_ADDR: &str = "127.0.0.1:4433";

/// Run one complete handshake in memory (cookie exchange included) and return the pair,
/// connected, with their `Connected` events drained.
pub fn handshake(ccfg: &Arc<ClientConfig>, scfg: &Arc<ServerConfig>, wire: &mut Vec<u8>) -> (Session, Session) {
    let ca: SocketAddr = CLIENT_ADDR.parse().expect("addr");
    let sa: SocketAddr = SERVER_ADDR.parse().expect("addr");
    let now = Instant::now();
    let mut c = Session::client(now, ccfg.clone(), sa);
    let mut s = Session::server(now, scfg.clone(), ca);
    for _ in 0..8 {
        while c.poll_transmit_into(wire).is_some() {
            s.handle(now, wire).expect("server handle");
        }
        while s.poll_transmit_into(wire).is_some() {
            c.handle(now, wire).expect("client handle");
        }
        if c.is_connected() && s.is_connected() {
            break;
        }
    }
    assert!(c.is_connected() && s.is_connected(), "handshake did not complete");
    while c.poll_event().is_some() {}
    while s.poll_event().is_some() {}
    (c, s)
}

/// Send one application record from `from` to `to`, recycling every buffer: the steady
/// state of an application that uses `poll_transmit_into`, `handle_buf` (the record is
/// opened in the datagram's own buffer, which becomes the event's payload) and `recycle`.
#[inline]
pub fn one_record(from: &mut Session, to: &mut Session, payload: &[u8], wire: &mut Vec<u8>, now: Instant) {
    from.send(payload).expect("send");
    while from.poll_transmit_into(wire).is_some() {
        to.handle_buf(now, wire).expect("handle");
    }
    while let Some(ev) = to.poll_event() {
        if let Event::ApplicationData(d) = ev {
            to.recycle(d);
        }
    }
}

/// The three AEAD suites, with short names for benchmark ids.
pub const SUITES: [(&str, CipherSuite); 3] = [
    ("AES-128-GCM", CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
    ("AES-256-GCM", CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
    ("ChaCha20-Poly1305", CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
];

/// The reference for one record: the raw ring AEAD work the record layer cannot avoid.
/// Copy the payload into the datagram buffer (the application hands us a `&[u8]`, and
/// ring seals in place), seal it with a 13-byte additional data, open it again.
pub struct RawAead {
    key: ring::aead::LessSafeKey,
    buf: Vec<u8>,
    seq: u64,
}

impl RawAead {
    pub fn new(alg: &'static ring::aead::Algorithm) -> Self {
        let key_bytes = vec![7u8; alg.key_len()];
        let key = ring::aead::LessSafeKey::new(ring::aead::UnboundKey::new(alg, &key_bytes).expect("key"));
        Self { key, buf: Vec::with_capacity(RECORD_LEN + 64), seq: 0 }
    }

    #[inline]
    pub fn seal_open(&mut self, payload: &[u8]) -> usize {
        use ring::aead::{Aad, Nonce};
        self.seq += 1;
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&self.seq.to_be_bytes());
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&self.seq.to_be_bytes());
        aad[11..].copy_from_slice(&(payload.len() as u16).to_be_bytes());
        self.buf.clear();
        self.buf.extend_from_slice(payload);
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut self.buf)
            .expect("seal");
        self.buf.extend_from_slice(tag.as_ref());
        let plain =
            self.key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut self.buf).expect("open");
        plain.len()
    }
}

/// The reference for one DTLS 1.3 record: [`RawAead`]'s seal and open, plus the
/// record-number mask (RFC 9147 §4.2.3) computed twice, once to send and once to receive.
pub struct RawAead13 {
    raw: RawAead,
    hp: ring::aead::quic::HeaderProtectionKey,
}

impl RawAead13 {
    pub fn new(suite: CipherSuite) -> Self {
        use ring::aead::quic;
        let (alg, hp) = match suite {
            CipherSuite::TLS_AES_256_GCM_SHA384 => (&ring::aead::AES_256_GCM, &quic::AES_256),
            CipherSuite::TLS_CHACHA20_POLY1305_SHA256 => (&ring::aead::CHACHA20_POLY1305, &quic::CHACHA20),
            _ => (&ring::aead::AES_128_GCM, &quic::AES_128),
        };
        let hp = quic::HeaderProtectionKey::new(hp, &vec![3u8; hp.key_len()]).expect("hp");
        Self { raw: RawAead::new(alg), hp }
    }

    #[inline]
    pub fn seal_open(&mut self, payload: &[u8]) -> usize {
        let n = self.raw.seal_open(payload);
        let send = self.hp.new_mask(std::hint::black_box(&payload[..16])).expect("mask");
        let recv = self.hp.new_mask(std::hint::black_box(&payload[16..32])).expect("mask");
        std::hint::black_box((send, recv));
        n
    }
}

pub fn ring_alg(suite: CipherSuite) -> &'static ring::aead::Algorithm {
    match suite {
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => &ring::aead::AES_256_GCM,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => &ring::aead::CHACHA20_POLY1305,
        _ => &ring::aead::AES_128_GCM,
    }
}

/// The public-key floor of one handshake: exactly the ring operations our handshake
/// performs, with the same keys and message sizes.
///
/// Both sides: ECDHE P-256 key generation (private scalar and public point) and agreement.
/// Server: ECDSA P-256 signature of the ServerKeyExchange. Client: verification of that
/// signature and of the CA's signature on the server certificate (webpki's chain check).
/// With client authentication also: the client's CertificateVerify signature, its
/// verification, and the CA's signature on the client certificate.
pub struct Floor {
    derived_early: [u8; 32],
    rng: ring::rand::SystemRandom,
    server_key: ring::signature::EcdsaKeyPair,
    client_key: ring::signature::EcdsaKeyPair,
    server_pub: Vec<u8>,
    client_pub: Vec<u8>,
    ca_pub: Vec<u8>,
    server_tbs: (Vec<u8>, Vec<u8>),
    client_tbs: (Vec<u8>, Vec<u8>),
}

impl Default for Floor {
    fn default() -> Self {
        Self::new()
    }
}

impl Floor {
    pub fn new() -> Self {
        use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
        let p = pki();
        let rng = ring::rand::SystemRandom::new();
        let server_key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &p.server_key_der, &rng).expect("k");
        let client_key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &p.client_key_der, &rng).expect("k");
        let server_pub = server_key.public_key().as_ref().to_vec();
        let client_pub = client_key.public_key().as_ref().to_vec();
        let ca_pub = spki_point(&p.ca_der);
        Self {
            derived_early: schedule13::derived_early(),
            rng,
            server_key,
            client_key,
            server_pub,
            client_pub,
            ca_pub,
            server_tbs: tbs_and_signature(&p.server_der),
            client_tbs: tbs_and_signature(&p.client_der),
        }
    }

    /// One handshake's public-key operations; panics if any fails.
    pub fn run(&self, client_auth: bool) {
        self.run_with(client_auth, true)
    }

    /// [`Floor::run`] without the CA-signature verifications: the floor of a handshake
    /// that authenticates peers by pinned fingerprint (1 ECDSA verification fewer, 2 with
    /// client authentication).
    pub fn run_no_pki(&self, client_auth: bool) {
        self.run_with(client_auth, false)
    }

    /// The crypto floor of a DTLS 1.3 handshake: its public-key operations
    /// ([`Floor::run13_public_key`]) and the symmetric cryptography the protocol requires
    /// (`schedule13`: transcript hash, key schedule, Finished MACs, the protected handshake
    /// records), all with ring and libcrux alone.
    pub fn run13(&self, client_auth: bool, hybrid: bool) {
        let shared = self.run13_public_key(client_auth, hybrid);
        schedule13::run(&schedule13::Flights::of(client_auth, hybrid), &self.derived_early, &shared[..]);
    }

    /// The public-key floor of a DTLS 1.3 handshake (RFC 8446 §4): the key exchange over
    /// X25519, or with `hybrid` over X25519MLKEM768 (ML-KEM-768 key generation, the server's
    /// key check and encapsulation, the client's decapsulation, plus X25519 both ways); the
    /// server's CertificateVerify signed and verified, the CA signature on its certificate
    /// verified; with `client_auth` the same for the client. Returns the shared secret
    /// (ML-KEM's, then X25519's with the hybrid).
    pub fn run13_public_key(&self, client_auth: bool, hybrid: bool) -> SharedSecret13 {
        use libcrux_ml_kem::mlkem768;
        use ring::agreement::{EphemeralPrivateKey, UnparsedPublicKey, X25519, agree_ephemeral};
        use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey as Pub};
        let mut shared = SharedSecret13 { bytes: [0; 64], len: 32 };
        if hybrid {
            let pair = mlkem768::generate_key_pair([0x33; 64]);
            assert!(mlkem768::validate_public_key(pair.public_key()));
            let (ct, ss) = mlkem768::encapsulate(pair.public_key(), [0x44; 32]);
            assert_eq!(mlkem768::decapsulate(pair.private_key(), &ct), ss);
            shared.bytes[..32].copy_from_slice(ss.as_ref());
            shared.len = 64;
        }
        let c = EphemeralPrivateKey::generate(&X25519, &self.rng).expect("gen");
        let c_pub = c.compute_public_key().expect("pub");
        let s = EphemeralPrivateKey::generate(&X25519, &self.rng).expect("gen");
        let s_pub = s.compute_public_key().expect("pub");
        let x = shared.len - 32;
        agree_ephemeral(c, &UnparsedPublicKey::new(&X25519, s_pub.as_ref()), |k| {
            shared.bytes[x..x + 32].copy_from_slice(k)
        })
        .expect("agree");
        agree_ephemeral(s, &UnparsedPublicKey::new(&X25519, c_pub.as_ref()), |k| k[0]).expect("agree");
        // CertificateVerify signs 64 spaces, the context string, a zero byte and the
        // transcript hash (RFC 8446 §4.4.3): 130 bytes with SHA-256.
        let content = [0x20u8; 130];
        let sig = self.server_key.sign(&self.rng, &content).expect("sign");
        Pub::new(&ECDSA_P256_SHA256_ASN1, &self.ca_pub).verify(&self.server_tbs.0, &self.server_tbs.1).expect("chain");
        Pub::new(&ECDSA_P256_SHA256_ASN1, &self.server_pub).verify(&content, sig.as_ref()).expect("cv");
        if client_auth {
            let sig = self.client_key.sign(&self.rng, &content).expect("sign");
            Pub::new(&ECDSA_P256_SHA256_ASN1, &self.ca_pub)
                .verify(&self.client_tbs.0, &self.client_tbs.1)
                .expect("chain");
            Pub::new(&ECDSA_P256_SHA256_ASN1, &self.client_pub).verify(&content, sig.as_ref()).expect("cv");
        }
        shared
    }

    fn run_with(&self, client_auth: bool, chains: bool) {
        use ring::agreement::{ECDH_P256, EphemeralPrivateKey, UnparsedPublicKey, agree_ephemeral};
        use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey as Pub};
        // ECDHE: one key pair per side, one agreement per side.
        let c = EphemeralPrivateKey::generate(&ECDH_P256, &self.rng).expect("gen");
        let c_pub = c.compute_public_key().expect("pub");
        let s = EphemeralPrivateKey::generate(&ECDH_P256, &self.rng).expect("gen");
        let s_pub = s.compute_public_key().expect("pub");
        // ServerKeyExchange: client_random(32) || server_random(32) || params(3+1+65).
        let mut ske = [0x11u8; 133];
        ske[68..].copy_from_slice(s_pub.as_ref());
        let sig = self.server_key.sign(&self.rng, &ske).expect("sign");
        agree_ephemeral(c, &UnparsedPublicKey::new(&ECDH_P256, s_pub.as_ref()), |k| k[0]).expect("agree");
        agree_ephemeral(s, &UnparsedPublicKey::new(&ECDH_P256, c_pub.as_ref()), |k| k[0]).expect("agree");
        // The client checks the server certificate (CA signature) and the SKE signature.
        if chains {
            Pub::new(&ECDSA_P256_SHA256_ASN1, &self.ca_pub)
                .verify(&self.server_tbs.0, &self.server_tbs.1)
                .expect("chain");
        }
        Pub::new(&ECDSA_P256_SHA256_ASN1, &self.server_pub).verify(&ske, sig.as_ref()).expect("ske");
        if client_auth {
            // CertificateVerify covers the transcript so far (about 1.5 KB here).
            let transcript = [0x22u8; 1500];
            let sig = self.client_key.sign(&self.rng, &transcript).expect("sign");
            if chains {
                Pub::new(&ECDSA_P256_SHA256_ASN1, &self.ca_pub)
                    .verify(&self.client_tbs.0, &self.client_tbs.1)
                    .expect("chain");
            }
            Pub::new(&ECDSA_P256_SHA256_ASN1, &self.client_pub).verify(&transcript, sig.as_ref()).expect("cv");
        }
    }
}

/// The key exchange's shared secret in a 1.3 floor run: ML-KEM's then X25519's (64 bytes)
/// with the hybrid, X25519's (32) without.
pub struct SharedSecret13 {
    bytes: [u8; 64],
    len: usize,
}

impl core::ops::Deref for SharedSecret13 {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

// ---- a minimal DER walk, enough for rcgen's certificates --------------------------------

fn der_tlv(input: &[u8]) -> (u8, &[u8], &[u8], &[u8]) {
    // (tag, whole TLV, contents, rest)
    let tag = input[0];
    let (len, hdr) = match input[1] {
        n if n < 0x80 => (n as usize, 2),
        0x81 => (input[2] as usize, 3),
        0x82 => (((input[2] as usize) << 8) | input[3] as usize, 4),
        _ => panic!("DER length"),
    };
    (tag, &input[..hdr + len], &input[hdr..hdr + len], &input[hdr + len..])
}

/// (tbsCertificate, signature value) of a certificate.
fn tbs_and_signature(cert: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (_, _, body, _) = der_tlv(cert);
    let (_, tbs, _, rest) = der_tlv(body);
    let (_, _, _, rest) = der_tlv(rest); // signatureAlgorithm
    let (_, _, bits, _) = der_tlv(rest);
    (tbs.to_vec(), bits[1..].to_vec())
}

/// The EC point of a certificate's subjectPublicKeyInfo.
fn spki_point(cert: &[u8]) -> Vec<u8> {
    let (_, _, body, _) = der_tlv(cert);
    let (_, _, tbs, _) = der_tlv(body);
    let mut rest = tbs;
    // [0] version, serial, signature, issuer, validity, subject, then SPKI.
    if rest[0] == 0xa0 {
        rest = der_tlv(rest).3;
    }
    for _ in 0..5 {
        rest = der_tlv(rest).3;
    }
    let (_, _, spki, _) = der_tlv(rest);
    let (_, _, _, rest) = der_tlv(spki); // algorithm
    let (_, _, bits, _) = der_tlv(rest);
    bits[1..].to_vec()
}
