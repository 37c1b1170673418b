//! What both handshake state machines share while they run: the transcript, outgoing
//! message numbering and epochs, the flight being built, the session RNG and the values
//! negotiated so far. The state machines decide; this only records. It never touches the
//! record layer: keys leave it as [`EpochKeys`] in a transition's output.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;

use crate::codec::Codec;
use crate::config::CommonConfig;
use crate::crypto::rng::SharedRng;
use crate::handshake::flight::{Flight, FlightItem};
use crate::handshake::key_schedule::{MasterSecret, Side};
use crate::handshake::output::{EpochKeys, Outgoing};
use crate::handshake::reassembler::HandshakeMessage;
use crate::suites::SuiteInfo;
use crate::wire::handshake_header::HandshakeHeader;
use crate::wire::{Epoch, HandshakePayload, NamedGroup, SignatureScheme, SrtpProtectionProfile};

/// Values agreed during the handshake, readable by the application afterwards.
#[derive(Debug, Default)]
pub struct Negotiated {
    pub suite: Option<&'static SuiteInfo>,
    pub group: Option<NamedGroup>,
    pub peer_chain: Option<Vec<CertificateDer<'static>>>,
    pub client_random: [u8; 32],
    pub server_random: [u8; 32],
    pub extended_master_secret: bool,
    pub server_name: Option<String>,
    pub peer_signature_scheme: Option<SignatureScheme>,
    pub alpn_protocol: Option<Vec<u8>>,
    pub srtp_profile: Option<SrtpProtectionProfile>,
    /// The MKI both sides agreed to use (empty: none).
    pub srtp_mki: Vec<u8>,
    pub master: Option<MasterSecret>,
    /// This handshake resumed a session (RFC 5246 §7.3 abbreviated handshake).
    pub resumed: bool,
    /// The session ID of the ServerHello (empty: the session cannot be resumed by ID).
    pub session_id: Vec<u8>,
    /// The ServerHello acknowledged the session_ticket extension: a NewSessionTicket
    /// precedes the server's ChangeCipherSpec (RFC 5077 §3.2).
    pub ticket_promised: bool,
    /// Client: the ticket received in this handshake, with its lifetime hint.
    pub new_ticket: Option<(Vec<u8>, u32)>,
    /// Client: a NewSessionTicket arrived in this handshake.
    pub ticket_received: bool,
    /// DTLS 1.3: the suite agreed (set exactly when 1.3 was chosen).
    pub suite13: Option<&'static crate::suites::Suite13>,
    /// Client: the connection ID offered in the ClientHello (RFC 9146 §3).
    pub cid_offered: Option<Box<[u8]>>,
    /// DTLS 1.2: the connection IDs both sides agreed on (RFC 9146 §3).
    pub cids: Option<Box<crate::record::protection::Cids>>,
    /// Both sides use the return routability check (RFC 9853 §3).
    pub rrc: bool,
}

/// The transcript capacity reserved up front: a handshake with P-256 certificates both ways
/// stays below it, so the transcript is not reallocated (and copied) as it grows.
const TRANSCRIPT_CAPACITY: usize = 2048;

/// The capacity of the buffer our messages are encoded in: a certificate message with a
/// P-256 or RSA-2048 leaf fits.
const ENCODE_CAPACITY: usize = 1024;

/// Handshake-time state shared by client and server.
pub struct Context {
    pub side: Side,
    pub peer: SocketAddr,
    pub common: Arc<dyn AsCommon>,
    pub rng: SharedRng,
    /// Every handshake message of this handshake, as if unfragmented (RFC 6347 §4.2.6).
    pub transcript: Vec<u8>,
    /// Where [`Context::push_message`] encodes a message body before the flight takes an
    /// exact-size copy: one buffer for the whole handshake instead of a vector grown (and
    /// copied) afresh for every message.
    encode_buf: Vec<u8>,
    /// A running hash of `transcript[..n]` (the suite's PRF hash, started at the first
    /// [`Context::transcript_hash`]), so each hash only reads the bytes appended since.
    /// Boxed: a session holds only a pointer for it once the handshake is over.
    transcript_hasher: Option<Box<(ring::digest::Context, usize)>>,
    pub send_seq: u16,
    /// The epoch our next handshake message goes out in: 0 until our ChangeCipherSpec
    /// (RFC 6347 §4.1).
    write_epoch: Epoch,
    /// The flight being assembled; leaves as [`Outgoing`] from [`Context::finish_flight`].
    building: Flight,
    pub info: Negotiated,
    /// What to forget if this session ends in a fatal alert (RFC 5246 §7.2.2).
    pub(crate) forget: Option<crate::resumption::Forget>,
}

/// Access to the role-independent configuration behind either config type.
pub trait AsCommon: Send + Sync {
    fn common(&self) -> &CommonConfig;
}

impl AsCommon for crate::config::ClientConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }
}

impl AsCommon for crate::config::ServerConfig {
    fn common(&self) -> &CommonConfig {
        &self.common
    }
}

impl Context {
    pub fn new(side: Side, peer: SocketAddr, common: Arc<dyn AsCommon>) -> Self {
        let rng = common.common().shared_rng();
        Self {
            side,
            peer,
            common,
            rng,
            transcript: Vec::with_capacity(TRANSCRIPT_CAPACITY),
            encode_buf: Vec::with_capacity(ENCODE_CAPACITY),
            transcript_hasher: None,
            send_seq: 0,
            write_epoch: Epoch::PLAINTEXT,
            building: Flight::default(),
            info: Negotiated::default(),
            forget: None,
        }
    }

    pub fn config(&self) -> &CommonConfig {
        self.common.common()
    }

    /// Append a message we send to the flight being built (and to the transcript unless
    /// `in_transcript` is false: HelloVerifyRequest is never hashed, RFC 6347 §4.2.1).
    pub fn push_message(&mut self, payload: &HandshakePayload, in_transcript: bool) {
        self.encode_buf.clear();
        payload.encode_body(&mut self.encode_buf);
        let body = self.encode_buf.clone();
        let message_seq = self.send_seq;
        self.send_seq = self.send_seq.wrapping_add(1);
        if in_transcript {
            let header = HandshakeHeader {
                msg_type: payload.msg_type(),
                length: body.len() as u32,
                message_seq,
                fragment_offset: 0,
                fragment_length: body.len() as u32,
            };
            header.encode(&mut self.transcript);
            self.transcript.extend_from_slice(&body);
        }
        self.building.items.push(FlightItem::Message {
            epoch: self.write_epoch,
            msg_type: payload.msg_type(),
            message_seq,
            body,
        });
    }

    /// Append a DTLS 1.3 message we send to the flight being built, in `epoch`, with the
    /// next message_seq. The 1.3 transcript is the state machine's, not this one's.
    pub fn push13(&mut self, epoch: Epoch, msg_type: crate::wire::HandshakeType, body: Vec<u8>) {
        let message_seq = self.send_seq;
        self.send_seq = self.send_seq.wrapping_add(1);
        self.building.items.push(FlightItem::Message { epoch, msg_type, message_seq, body });
    }

    /// DTLS 1.3: the handshake is complete; release what only the handshake needed.
    pub fn establish13(&mut self) {
        self.transcript = Vec::new();
        self.encode_buf = Vec::new();
        self.transcript_hasher = None;
    }

    /// Append a message we received to the transcript, as if it had been sent unfragmented
    /// (RFC 6347 §4.2.6), straight from the reassembled message.
    pub fn add_received(&mut self, msg: &HandshakeMessage) {
        msg.transcript_bytes(&mut self.transcript);
    }

    /// Append our ChangeCipherSpec; later messages of the flight go out in the next epoch.
    pub fn push_change_cipher_spec(&mut self) {
        self.building.items.push(FlightItem::ChangeCipherSpec);
        self.write_epoch = self.write_epoch.next();
    }

    /// The flight under construction, complete: hand it to the session to send.
    pub fn finish_flight(&mut self, expects_reply: bool) -> Outgoing {
        Outgoing { flight: core::mem::take(&mut self.building), expects_reply }
    }

    /// Hash of the transcript so far with `suite`'s PRF hash.
    pub fn transcript_hash(&mut self, suite: &SuiteInfo) -> ring::digest::Digest {
        let alg = suite.prf.digest_algorithm();
        let stale =
            self.transcript_hasher.as_ref().is_some_and(|b| b.0.algorithm() != alg || b.1 > self.transcript.len());
        if stale {
            self.transcript_hasher = None;
        }
        let (ctx, hashed) =
            &mut **self.transcript_hasher.get_or_insert_with(|| Box::new((ring::digest::Context::new(alg), 0)));
        ctx.update(self.transcript.get(*hashed..).unwrap_or_default());
        *hashed = self.transcript.len();
        ctx.clone().finish()
    }

    /// Forget the transcript (a restarted handshake, RFC 6347 §4.2.1).
    pub fn clear_transcript(&mut self) {
        self.transcript.clear();
        self.transcript_hasher = None;
    }

    /// With the transcript through ClientKeyExchange in place: derive the master secret
    /// (RFC 7627 §4: session_hash covers the transcript through ClientKeyExchange) and the
    /// epoch-1 record keys, and write the secret to the key log if configured.
    pub fn derive_keys(
        &mut self,
        suite: &SuiteInfo,
        pre_master: &[u8],
    ) -> Result<(EpochKeys, MasterSecret), crate::error::Error> {
        let session_hash = if self.info.extended_master_secret { Some(self.transcript_hash(suite)) } else { None };
        let (client_random, server_random) = (&self.info.client_random, &self.info.server_random);
        let session_hash = session_hash.as_ref().map(|h| h.as_ref());
        let master = MasterSecret::derive(suite.prf, pre_master, session_hash, client_random, server_random);
        let (write, read) = master.record_keys(suite, self.side, client_random, server_random)?;
        if let Some(log) = &self.config().key_log {
            log.log("CLIENT_RANDOM", client_random, master.secret());
        }
        Ok((EpochKeys { epoch: Epoch::DTLS12_PROTECTED, write, read }, master))
    }

    /// RFC 5246 §7.3 abbreviated handshake: with both randoms in place, take the resumed
    /// session's master secret, derive the epoch-1 record keys and write the key log line
    /// (the client random is new, so the line is too).
    pub(crate) fn resume_keys(
        &mut self,
        suite: &SuiteInfo,
        stored: &crate::resumption::StoredSession,
    ) -> Result<(EpochKeys, MasterSecret), crate::error::Error> {
        let master = MasterSecret::from_bytes(suite.prf, *stored.master);
        let (client_random, server_random) = (&self.info.client_random, &self.info.server_random);
        let (write, read) = master.record_keys(suite, self.side, client_random, server_random)?;
        if let Some(log) = &self.config().key_log {
            log.log("CLIENT_RANDOM", client_random, master.secret());
        }
        self.info.extended_master_secret = stored.ems;
        self.info.resumed = true;
        if !stored.peer_chain.is_empty() {
            self.info.peer_chain = Some(stored.peer_chain.clone());
        }
        Ok((EpochKeys { epoch: Epoch::DTLS12_PROTECTED, write, read }, master))
    }

    /// The session this handshake established (`suite`, `master`), for resumption,
    /// resumable for `lifetime` seconds from now.
    pub(crate) fn stored_session(
        &self,
        suite: &SuiteInfo,
        master: &MasterSecret,
        lifetime: u32,
    ) -> crate::resumption::StoredSession {
        crate::resumption::StoredSession {
            suite: suite.suite,
            master: zeroize::Zeroizing::new(*master.secret()),
            ems: self.info.extended_master_secret,
            issued: self.now_secs(),
            lifetime,
            peer_chain: self.info.peer_chain.clone().unwrap_or_default(),
        }
    }

    /// Wall-clock seconds since the Unix epoch, from the configuration's time source.
    pub fn now_secs(&self) -> u64 {
        (self.config().time)().as_secs()
    }

    /// The handshake is complete: keep what the application may still ask for (the master
    /// secret, for exporters and SRTP keys) and release what only the handshake needed.
    pub fn establish(&mut self, master: MasterSecret) {
        self.info.master = Some(master);
        self.transcript = Vec::new();
        self.encode_buf = Vec::new();
        self.transcript_hasher = None;
    }

    /// Fill a random value from the session RNG.
    pub fn random32(&mut self) -> [u8; 32] {
        let mut r = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut self.rng, &mut r);
        r
    }
}
