//! Per-epoch record protection: sequence numbers, AEAD seal/open, and the anti-replay
//! windows. Renegotiation is refused, so only epochs 0 (plaintext) and 1 (negotiated keys)
//! ever exist; each has its own write sequence counter and its own replay window.
//!
//! Never updates a replay window before the record authenticated, never reuses a sequence
//! number.

// docs/security.md items 5 (replay window) and 6 (sequence numbers).

use crate::crypto::aead::{RecordKey, TAG_LEN};
use crate::error::Error;
use crate::record::header::{MAX_PLAINTEXT, MAX_SEQUENCE, RECORD_HEADER_LEN, RecordHeader};
use crate::record::replay::ReplayWindow;
use crate::wire::{ContentType, DTLS_1_2};

/// Why an incoming record was discarded. All of these are silent drops (RFC 6347 §4.1.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    /// Epoch not current (and not buffered by the caller).
    Epoch,
    /// Seen before, or too old for the window.
    Replay,
    /// AEAD authentication failed or the record is too short to hold the tag.
    BadRecordMac,
    /// Plaintext longer than 2^14.
    Overflow,
}

/// The record layer's keys and counters for one session.
//
// `repr(C)`, read side first: opening a record touches the epoch, the replay window and
// the read key, which then share as few cache lines as they can (an endpoint visiting
// thousands of sessions reaches each one's state cold; see `benches/endpoint.rs`).
#[derive(Debug, Default)]
#[repr(C)]
pub struct RecordLayer {
    read_epoch: u16,
    write_epoch: u16,
    replay: [ReplayWindow; 2],
    read_key: Option<RecordKey>,
    write_seq: [u64; 2],
    write_key: Option<RecordKey>,
}

impl RecordLayer {
    /// A record layer in epoch 0 with no keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Epoch used for new outgoing records.
    pub fn write_epoch(&self) -> u16 {
        self.write_epoch
    }

    /// Epoch accepted for incoming records.
    pub fn read_epoch(&self) -> u16 {
        self.read_epoch
    }

    /// Install the epoch-1 keys (pending until the change_cipher_spec switches epochs).
    pub fn install_keys(&mut self, write: RecordKey, read: RecordKey) {
        self.write_key = Some(write);
        self.read_key = Some(read);
    }

    /// True once epoch-1 keys exist.
    pub fn has_keys(&self) -> bool {
        self.write_key.is_some()
    }

    /// Continue epoch 0 at record sequence `seq` (never backwards). A server that answered
    /// a ClientHello statelessly uses that hello's record sequence number for its
    /// HelloVerifyRequest (RFC 6347 §4.2.1), so its session must not start below the
    /// sequence of the ClientHello that carried the cookie, or the client's replay window
    /// would discard the ServerHello.
    pub fn continue_epoch0_at(&mut self, seq: u64) {
        self.write_seq[0] = self.write_seq[0].max(seq.min(crate::record::header::MAX_SEQUENCE));
    }

    /// Our ChangeCipherSpec went out: further records use epoch 1.
    pub fn advance_write_epoch(&mut self) {
        self.write_epoch = 1;
    }

    /// The peer's ChangeCipherSpec arrived: accept epoch 1 from now on.
    pub fn advance_read_epoch(&mut self) {
        self.read_epoch = 1;
    }

    /// Bytes a record in `epoch` adds around its plaintext.
    pub fn overhead(&self, epoch: u16) -> usize {
        RECORD_HEADER_LEN
            + match (epoch, &self.write_key) {
                (1, Some(k)) => k.algorithm().overhead(),
                _ => 0,
            }
    }

    /// Append one protected record carrying `payload` to `out`, in `epoch` (0 or 1), with the
    /// next unused sequence number of that epoch (RFC 6347 §4.1: fresh on retransmission).
    pub fn seal(
        &mut self,
        epoch: u16,
        content_type: ContentType,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let counter = self.write_seq.get_mut(usize::from(epoch)).ok_or(Error::Crypto("no such epoch"))?;
        let seq = *counter;
        if seq > MAX_SEQUENCE {
            // RFC 6347 §4.1: a sequence number must not wrap; without renegotiation the
            // session must end.
            return Err(Error::Crypto("sequence number exhausted"));
        }
        if payload.len() > MAX_PLAINTEXT {
            return Err(Error::MessageTooLarge { max: MAX_PLAINTEXT });
        }
        *counter = seq + 1;
        let mut header = RecordHeader { content_type, version: DTLS_1_2, epoch, sequence: seq, length: 0 };
        let start = out.len();
        match (epoch, &self.write_key) {
            (0, _) => {
                header.length = payload.len() as u16;
                header.encode(out);
                out.extend_from_slice(payload);
            }
            (_, Some(key)) => {
                let alg = key.algorithm();
                let explicit = alg.explicit_nonce_len();
                header.length = (payload.len() + alg.overhead()) as u16;
                let epoch_seq = header.epoch_seq();
                // The header and (GCM) the explicit nonce, epoch||sequence, in one append.
                let mut prefix = [0u8; RECORD_HEADER_LEN + 8];
                let (h, n) = prefix.split_at_mut(RECORD_HEADER_LEN);
                h.copy_from_slice(&header.to_bytes());
                n.copy_from_slice(&epoch_seq.to_be_bytes());
                out.reserve(RECORD_HEADER_LEN + payload.len() + alg.overhead());
                out.extend_from_slice(prefix.get(..RECORD_HEADER_LEN + explicit).unwrap_or(&prefix));
                // RFC 6347 §4.1.2.1 / RFC 5246 §6.2.3.3: additional_data = seq_num(epoch||seq)
                // + type + version + plaintext length.
                let aad = aad(&header, payload.len());
                let body = out.len();
                out.extend_from_slice(payload);
                let tag = key.seal(epoch_seq, &aad, out.get_mut(body..).unwrap_or_default())?;
                out.extend_from_slice(tag.as_ref());
            }
            (_, None) => {
                out.truncate(start);
                return Err(Error::Crypto("no keys for epoch 1"));
            }
        }
        Ok(())
    }

    /// Check, authenticate and decrypt one protected record of the current read epoch into
    /// `out` (cleared first): the ciphertext is copied into `out` once and opened there, so
    /// the plaintext needs no further copy. On success `out` holds exactly the plaintext and
    /// the replay window is marked; on failure `out` is left empty.
    pub fn open_into(&mut self, header: &RecordHeader, body: &[u8], out: &mut Vec<u8>) -> Result<(), Discard> {
        out.clear();
        let p = self.open_params(header, body)?;
        out.extend_from_slice(body.get(p.explicit..).unwrap_or_default());
        match p.key.open(p.nonce_seq, &p.aad, out) {
            Some(n) => {
                out.truncate(n);
                self.mark(header);
                Ok(())
            }
            None => {
                out.clear();
                Err(Discard::BadRecordMac)
            }
        }
    }

    /// Like [`RecordLayer::open_into`] for a record whose body is `buf[body_start..]` (its
    /// header before it, in the same buffer): authenticates and decrypts it in place, moving
    /// the plaintext to the front, so that `buf` ends up holding exactly the plaintext. On
    /// failure the contents of `buf` are unspecified.
    pub fn open_in_place(
        &mut self,
        header: &RecordHeader,
        buf: &mut Vec<u8>,
        body_start: usize,
    ) -> Result<(), Discard> {
        let p = self.open_params(header, buf.get(body_start..).ok_or(Discard::BadRecordMac)?)?;
        let n = p.key.open_within(p.nonce_seq, &p.aad, buf, body_start + p.explicit).ok_or(Discard::BadRecordMac)?;
        buf.truncate(n);
        self.mark(header);
        Ok(())
    }

    /// Check, decrypt in place and authenticate one record of the current read epoch (or
    /// epoch 0 after the switch: the peer may still retransmit its plaintext flight).
    /// On success returns the plaintext range inside `body` and marks the replay window.
    pub fn open(&mut self, header: &RecordHeader, body: &mut [u8]) -> Result<core::ops::Range<usize>, Discard> {
        let range = if header.epoch == 0 {
            self.check_replay(header)?;
            if body.len() > MAX_PLAINTEXT {
                return Err(Discard::Overflow);
            }
            0..body.len()
        } else {
            let p = self.open_params(header, body)?;
            let sealed = body.get_mut(p.explicit..).ok_or(Discard::BadRecordMac)?;
            let n = p.key.open(p.nonce_seq, &p.aad, sealed).ok_or(Discard::BadRecordMac)?;
            debug_assert_eq!(n + TAG_LEN, sealed.len());
            p.explicit..p.explicit + n
        };
        self.mark(header);
        Ok(range)
    }

    /// Everything opening a protected record needs, checked before any decryption: the
    /// record is of the current (keyed) read epoch, not a replay, long enough for the AEAD
    /// overhead and not longer than 2^14 once opened.
    fn open_params(&self, header: &RecordHeader, body: &[u8]) -> Result<OpenParams<'_>, Discard> {
        if header.epoch == 0 || header.epoch != self.read_epoch {
            return Err(Discard::Epoch);
        }
        self.check_replay(header)?;
        let key = self.read_key.as_ref().ok_or(Discard::Epoch)?;
        let alg = key.algorithm();
        let explicit = alg.explicit_nonce_len();
        let plain_len = body.len().checked_sub(alg.overhead()).ok_or(Discard::BadRecordMac)?;
        if plain_len > MAX_PLAINTEXT {
            return Err(Discard::Overflow);
        }
        // RFC 5288 §3: GCM takes its nonce's last 8 bytes from the record; RFC 7905 §2:
        // ChaCha20 derives it from epoch||sequence.
        let nonce_seq = match body.first_chunk::<8>() {
            Some(n) if explicit == 8 => u64::from_be_bytes(*n),
            _ => header.epoch_seq(),
        };
        Ok(OpenParams { key, nonce_seq, aad: aad(header, plain_len), explicit })
    }

    fn check_replay(&self, header: &RecordHeader) -> Result<(), Discard> {
        match self.replay.get(usize::from(header.epoch)) {
            Some(w) if w.check(header.sequence) => Ok(()),
            Some(_) => Err(Discard::Replay),
            None => Err(Discard::Epoch),
        }
    }

    // RFC 6347 §4.1.2.6: the window is updated only once the record authenticated.
    fn mark(&mut self, header: &RecordHeader) {
        if let Some(w) = self.replay.get_mut(usize::from(header.epoch)) {
            w.mark(header.sequence);
        }
    }
}

/// What [`RecordLayer::open_params`] established for one record.
struct OpenParams<'k> {
    key: &'k RecordKey,
    nonce_seq: u64,
    aad: [u8; 13],
    explicit: usize,
}

fn aad(header: &RecordHeader, plain_len: usize) -> [u8; 13] {
    let mut a = [0u8; 13];
    a[..8].copy_from_slice(&header.epoch_seq().to_be_bytes());
    a[8] = header.content_type.into();
    a[9..11].copy_from_slice(&header.version.to_be_bytes());
    a[11..].copy_from_slice(&(plain_len as u16).to_be_bytes());
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::aead::AeadAlgorithm;
    use crate::record::header::Deframer;

    fn pair(alg: AeadAlgorithm) -> (RecordLayer, RecordLayer) {
        let k = |b: u8| RecordKey::new(alg, &vec![b; alg.key_len()], &vec![b + 1; alg.fixed_iv_len()]).unwrap();
        let mut a = RecordLayer::new();
        let mut b = RecordLayer::new();
        a.install_keys(k(1), k(2));
        b.install_keys(k(2), k(1));
        a.advance_write_epoch();
        b.advance_read_epoch();
        (a, b)
    }

    #[test]
    fn sealed_records_open_once_and_only_once() {
        for alg in [AeadAlgorithm::Aes128Gcm, AeadAlgorithm::Aes256Gcm, AeadAlgorithm::Chacha20Poly1305] {
            let (mut a, mut b) = pair(alg);
            let mut dgram = Vec::new();
            a.seal(1, ContentType::ApplicationData, b"ping", &mut dgram).unwrap();
            a.seal(1, ContentType::ApplicationData, b"pong", &mut dgram).unwrap();
            let replay = dgram.clone();
            for (i, (h, body)) in Deframer::new(&dgram).enumerate() {
                let mut body = body.to_vec();
                let r = b.open(&h, &mut body).unwrap();
                assert_eq!(&body[r], if i == 0 { b"ping" } else { b"pong" });
            }
            for (h, body) in Deframer::new(&replay) {
                assert_eq!(b.open(&h, &mut body.to_vec()), Err(Discard::Replay));
            }
        }
    }

    #[test]
    fn tampered_record_does_not_advance_window() {
        let (mut a, mut b) = pair(AeadAlgorithm::Aes128Gcm);
        let mut dgram = Vec::new();
        a.seal(1, ContentType::ApplicationData, b"data", &mut dgram).unwrap();
        let (h, body) = Deframer::new(&dgram).next().unwrap();
        let mut bad = body.to_vec();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(b.open(&h, &mut bad), Err(Discard::BadRecordMac));
        // The forged copy must not have consumed the sequence number.
        assert!(b.open(&h, &mut body.to_vec()).is_ok());
    }

    #[test]
    fn gcm_explicit_nonce_is_epoch_and_sequence() {
        let (mut a, _) = pair(AeadAlgorithm::Aes128Gcm);
        let mut d = Vec::new();
        a.seal(1, ContentType::ApplicationData, b"x", &mut d).unwrap();
        a.seal(1, ContentType::ApplicationData, b"y", &mut d).unwrap();
        let recs: Vec<_> = Deframer::new(&d).collect();
        assert_eq!(&recs[0].1[..8], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&recs[1].1[..8], &[0, 1, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn future_epoch_is_not_opened() {
        let mut b = RecordLayer::new();
        let h =
            RecordHeader { content_type: ContentType::Handshake, version: DTLS_1_2, epoch: 1, sequence: 0, length: 0 };
        assert_eq!(b.open(&h, &mut []), Err(Discard::Epoch));
    }
}
