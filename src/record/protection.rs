//! Per-epoch record protection: sequence numbers, AEAD seal/open, and the anti-replay
//! windows, for any [`Epoch`]. Each epoch has its own write sequence counter and its own
//! replay window. One `seal` and one `open` (in place) serve every caller.
//!
//! Never updates a replay window before the record authenticated, never reuses a sequence
//! number.

// docs/security.md items 5 (replay window) and 6 (sequence numbers).

mod cid;

pub use cid::Cids;

use crate::crypto::aead::RecordKey;
use crate::error::Error;
use crate::record::replay::ReplayWindow;
use crate::wire::record::{MAX_PLAINTEXT, MAX_SEQUENCE, RECORD_HEADER_LEN, RecordHeader};
use crate::wire::{ContentType, DTLS_1_2, Epoch};

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

/// Record keys for a new epoch, both directions (RFC 5246 §6.3). Written records switch to
/// them with our ChangeCipherSpec (the flight's epochs say where); read records with the
/// peer's.
pub struct EpochKeys {
    /// The epoch these keys protect.
    pub epoch: Epoch,
    /// Our write key.
    pub write: RecordKey,
    /// The peer's write key, our read key.
    pub read: RecordKey,
}

impl core::fmt::Debug for EpochKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EpochKeys").field("epoch", &self.epoch).finish_non_exhaustive()
    }
}

/// One epoch's read side: its replay window and key (none for epoch 0).
#[derive(Debug)]
#[repr(C)]
struct ReadEpoch<K> {
    epoch: Epoch,
    window: ReplayWindow,
    key: Option<K>,
}

/// One epoch's write side: its next sequence number and key (none for epoch 0).
#[derive(Debug)]
struct WriteEpoch<K> {
    epoch: Epoch,
    next_seq: u64,
    key: Option<K>,
}

/// The record layer's keys, counters and replay windows for one session.
///
/// Each direction keeps two epochs: the current one and the one before it. DTLS 1.2 needs
/// both because a flight spans them (its messages in epoch 0, its Finished in epoch 1) and
/// may be retransmitted, and the peer's epoch-0 retransmissions keep arriving after the
/// switch; DTLS 1.3 needs the same across each key change (RFC 9147 §4.2.1). Keys for the
/// next epoch wait in `next` until each direction switches (`set_read_epoch`,
/// `set_write_epoch`).
//
// `repr(C)`, read side first: opening a record touches the current read epoch (its number,
// window and key), which then share as few cache lines as they can (an endpoint visiting
// thousands of sessions reaches each one's state cold; see `benches/endpoint.rs`). Only the
// current epochs hold their keys inline (an AEAD key with its expanded schedule is hundreds
// of bytes); the previous epochs' keys and the next epoch's are boxed, and absent once a
// DTLS 1.2 handshake is over (its previous epoch is the plaintext one).
#[derive(Debug)]
#[repr(C)]
pub struct RecordLayer {
    read: ReadEpoch<RecordKey>,
    write: WriteEpoch<RecordKey>,
    previous_read: Option<ReadEpoch<Box<RecordKey>>>,
    previous_write: Option<WriteEpoch<Box<RecordKey>>>,
    /// Keys of the next epoch, installed and not yet switched to in one or both directions.
    next: Option<Box<NextKeys>>,
    /// Connection IDs (RFC 9146), when a DTLS 1.2 handshake negotiated them.
    cids: Option<Box<Cids>>,
}

/// Keys installed for the next epoch; each direction takes its key when it switches.
#[derive(Debug)]
struct NextKeys {
    epoch: Epoch,
    write: Option<RecordKey>,
    read: Option<RecordKey>,
}

impl Default for RecordLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordLayer {
    /// A record layer in epoch 0 with no keys.
    pub fn new() -> Self {
        Self {
            read: ReadEpoch { epoch: Epoch::PLAINTEXT, window: ReplayWindow::new(), key: None },
            write: WriteEpoch { epoch: Epoch::PLAINTEXT, next_seq: 0, key: None },
            previous_read: None,
            previous_write: None,
            next: None,
            cids: None,
        }
    }

    /// Epoch used for new outgoing records.
    pub fn write_epoch(&self) -> Epoch {
        self.write.epoch
    }

    /// Epoch accepted for incoming records (besides the one before it).
    pub fn read_epoch(&self) -> Epoch {
        self.read.epoch
    }

    /// Install the keys of the next epoch, both directions; each direction switches to them
    /// with [`RecordLayer::set_write_epoch`] / [`RecordLayer::set_read_epoch`].
    pub fn install_keys(&mut self, keys: EpochKeys) {
        self.next = Some(Box::new(NextKeys { epoch: keys.epoch, write: Some(keys.write), read: Some(keys.read) }));
    }

    /// True once keys for a protected epoch exist (installed, or in use for writing).
    pub fn has_keys(&self) -> bool {
        self.next.as_ref().is_some_and(|n| n.write.is_some()) || self.write.key.is_some()
    }

    /// Take the installed key of `epoch` for one direction; the box goes once both are taken.
    fn take_next(&mut self, epoch: Epoch, write: bool) -> Option<RecordKey> {
        let next = self.next.as_mut().filter(|n| n.epoch == epoch)?;
        let key = if write { next.write.take() } else { next.read.take() }?;
        if next.write.is_none() && next.read.is_none() {
            self.next = None;
        }
        Some(key)
    }

    /// Continue epoch 0 at record sequence `seq` (never backwards). A server that answered
    /// a ClientHello statelessly uses that hello's record sequence number for its
    /// HelloVerifyRequest (RFC 6347 §4.2.1), so its session must not start below the
    /// sequence of the ClientHello that carried the cookie, or the client's replay window
    /// would discard the ServerHello.
    pub fn continue_epoch0_at(&mut self, seq: u64) {
        if self.write.epoch.is_plaintext() {
            self.write.next_seq = self.write.next_seq.max(seq.min(MAX_SEQUENCE));
        }
    }

    /// Our ChangeCipherSpec went out (1.2), or our keys changed (1.3): new records use
    /// `epoch`, whose keys were installed. The epoch before stays usable for retransmission.
    /// Setting the current epoch again, or one without installed keys, changes nothing.
    pub fn set_write_epoch(&mut self, epoch: Epoch) {
        if epoch == self.write.epoch {
            return;
        }
        let Some(key) = self.take_next(epoch, true) else { return };
        let key = Some(key);
        let old = core::mem::replace(&mut self.write, WriteEpoch { epoch, next_seq: 0, key });
        self.previous_write = Some(WriteEpoch { epoch: old.epoch, next_seq: old.next_seq, key: old.key.map(Box::new) });
    }

    /// The peer's ChangeCipherSpec arrived (1.2), or its keys changed (1.3): accept `epoch`
    /// from now on, and the epoch before it still (the peer may retransmit its flight).
    /// Setting the current epoch again, or one without installed keys, changes nothing.
    pub fn set_read_epoch(&mut self, epoch: Epoch) {
        if epoch == self.read.epoch {
            return;
        }
        let Some(key) = self.take_next(epoch, false) else { return };
        let key = Some(key);
        let old = core::mem::replace(&mut self.read, ReadEpoch { epoch, window: ReplayWindow::new(), key });
        self.previous_read = Some(ReadEpoch { epoch: old.epoch, window: old.window, key: old.key.map(Box::new) });
    }

    /// DTLS 1.3: `key` becomes the read key of `epoch` (2 and up), kept in the current read
    /// slot, which a 1.3 session's own epochs never fill: one key representation for both
    /// versions, and no second copy of the largest part of an epoch's state. The first call
    /// moves epoch 0 (its window; plaintext records still flow during the handshake) to
    /// the previous slot; later ones return the key they replace, which the 1.3 layer keeps
    /// with its older epoch. The 1.3 layer keeps the windows, so the slot's stays unused.
    pub fn install_read13(&mut self, epoch: Epoch, key: RecordKey) -> Option<RecordKey> {
        if self.read.epoch.is_plaintext() {
            let old =
                core::mem::replace(&mut self.read, ReadEpoch { epoch, window: ReplayWindow::new(), key: Some(key) });
            self.previous_read = Some(ReadEpoch { epoch: old.epoch, window: old.window, key: None });
            return None;
        }
        self.read.epoch = epoch;
        self.read.key.replace(key)
    }

    /// DTLS 1.3: [`RecordLayer::install_read13`] for the write direction (epoch 0 keeps its
    /// sequence numbers in the previous slot, for a retransmitted ServerHello).
    pub fn install_write13(&mut self, epoch: Epoch, key: RecordKey) -> Option<RecordKey> {
        if self.write.epoch.is_plaintext() {
            let old = core::mem::replace(&mut self.write, WriteEpoch { epoch, next_seq: 0, key: Some(key) });
            self.previous_write = Some(WriteEpoch { epoch: old.epoch, next_seq: old.next_seq, key: None });
            return None;
        }
        self.write.epoch = epoch;
        self.write.key.replace(key)
    }

    /// DTLS 1.3: the read key of `epoch` if the current slot holds it.
    pub fn read_key13(&self, epoch: Epoch) -> Option<&RecordKey> {
        self.read.key.as_ref().filter(|_| self.read.epoch == epoch)
    }

    /// DTLS 1.3: the write key of `epoch` if the current slot holds it.
    pub fn write_key13(&self, epoch: Epoch) -> Option<&RecordKey> {
        self.write.key.as_ref().filter(|_| self.write.epoch == epoch)
    }

    /// The next sequence number and key of `epoch`, if it is the current or the previous
    /// write epoch.
    fn writer(&mut self, epoch: Epoch) -> Option<(&mut u64, Option<&RecordKey>)> {
        if self.write.epoch == epoch {
            return Some((&mut self.write.next_seq, self.write.key.as_ref()));
        }
        let w = self.previous_write.as_mut().filter(|w| w.epoch == epoch)?;
        Some((&mut w.next_seq, w.key.as_deref()))
    }

    /// The replay window and key of `epoch`, if it is the current or the previous read
    /// epoch.
    fn reader(&self, epoch: Epoch) -> Option<(&ReplayWindow, Option<&RecordKey>)> {
        if self.read.epoch == epoch {
            return Some((&self.read.window, self.read.key.as_ref()));
        }
        let r = self.previous_read.as_ref().filter(|r| r.epoch == epoch)?;
        Some((&r.window, r.key.as_deref()))
    }

    /// Bytes a record in `epoch` adds around its plaintext.
    pub fn overhead(&self, epoch: Epoch) -> usize {
        let key = if self.write.epoch == epoch {
            self.write.key.as_ref()
        } else if let Some(w) = self.previous_write.as_ref().filter(|w| w.epoch == epoch) {
            w.key.as_deref()
        } else {
            self.next.as_ref().filter(|n| n.epoch == epoch).and_then(|n| n.write.as_ref())
        };
        let cid = if self.sends_cid(epoch) { self.cids.as_ref().map_or(0, |c| c.peer.len() + 1) } else { 0 };
        RECORD_HEADER_LEN + cid + key.map_or(0, |k| k.algorithm().overhead())
    }

    /// Append one record carrying `payload` to `out`, in `epoch` (the current write epoch or
    /// the one before it), protected with that epoch's key (none in epoch 0), with its next
    /// unused sequence number (RFC 6347 §4.1: fresh on retransmission).
    pub fn seal(
        &mut self,
        epoch: impl Into<Epoch>,
        content_type: ContentType,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let epoch = epoch.into();
        if self.sends_cid(epoch) {
            return self.seal_cid(epoch, content_type, payload, out);
        }
        let (next_seq, key) = self.writer(epoch).ok_or(Error::Crypto("no keys for this epoch"))?;
        let seq = *next_seq;
        if seq > MAX_SEQUENCE {
            // RFC 6347 §4.1: a sequence number must not wrap; without renegotiation the
            // session must end.
            return Err(Error::Crypto("sequence number exhausted"));
        }
        if payload.len() > MAX_PLAINTEXT {
            return Err(Error::MessageTooLarge { max: MAX_PLAINTEXT });
        }
        *next_seq = seq + 1;
        let mut header =
            RecordHeader { content_type, version: DTLS_1_2, epoch: epoch.to_wire16(), sequence: seq, length: 0 };
        match key {
            None => {
                header.length = payload.len() as u16;
                header.encode(out);
                out.extend_from_slice(payload);
            }
            Some(key) => {
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
        }
        Ok(())
    }

    /// Check, authenticate and decrypt one record whose body is `buf[body_start..]` (its
    /// header, if any, before it in the same buffer), of the current read epoch or the one
    /// before it: in place, moving the plaintext to the front, so that on success `buf`
    /// holds exactly the plaintext and the epoch's replay window is marked. On failure the
    /// contents of `buf` are unspecified and nothing is marked.
    pub fn open(&mut self, header: &RecordHeader, buf: &mut Vec<u8>, body_start: usize) -> Result<(), Discard> {
        let epoch = Epoch::from(header.epoch);
        let (window, key) = self.reader(epoch).ok_or(Discard::Epoch)?;
        if !window.check(header.sequence) {
            return Err(Discard::Replay);
        }
        let body = buf.get(body_start..).ok_or(Discard::BadRecordMac)?;
        match key {
            None => {
                if body.len() > MAX_PLAINTEXT {
                    return Err(Discard::Overflow);
                }
                buf.drain(..body_start);
            }
            Some(key) => {
                let alg = key.algorithm();
                let explicit = alg.explicit_nonce_len();
                let plain_len = body.len().checked_sub(alg.overhead()).ok_or(Discard::BadRecordMac)?;
                if plain_len > MAX_PLAINTEXT {
                    return Err(Discard::Overflow);
                }
                // RFC 5288 §3: GCM takes its nonce's last 8 bytes from the record; RFC 7905
                // §2: ChaCha20 derives it from epoch||sequence.
                let nonce_seq = match body.first_chunk::<8>() {
                    Some(n) if explicit == 8 => u64::from_be_bytes(*n),
                    _ => header.epoch_seq(),
                };
                let aad = aad(header, plain_len);
                let n = key.open_within(nonce_seq, &aad, buf, body_start + explicit).ok_or(Discard::BadRecordMac)?;
                buf.truncate(n);
            }
        }
        self.mark_read(epoch, header.sequence);
        Ok(())
    }

    /// RFC 6347 §4.1.2.6: the window is updated only once the record authenticated.
    fn mark_read(&mut self, epoch: Epoch, sequence: u64) {
        if self.read.epoch == epoch {
            self.read.window.mark(sequence);
        } else if let Some(r) = self.previous_read.as_mut().filter(|r| r.epoch == epoch) {
            r.window.mark(sequence);
        }
    }
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
    use crate::wire::record::Deframer;

    const E1: Epoch = Epoch::DTLS12_PROTECTED;

    fn open(layer: &mut RecordLayer, h: &RecordHeader, body: &[u8]) -> Result<Vec<u8>, Discard> {
        let mut buf = body.to_vec();
        layer.open(h, &mut buf, 0).map(|()| buf)
    }

    fn pair(alg: AeadAlgorithm) -> (RecordLayer, RecordLayer) {
        let k = |b: u8| RecordKey::new(alg, &vec![b; alg.key_len()], &vec![b + 1; alg.fixed_iv_len()]).unwrap();
        let mut a = RecordLayer::new();
        let mut b = RecordLayer::new();
        a.install_keys(EpochKeys { epoch: E1, write: k(1), read: k(2) });
        b.install_keys(EpochKeys { epoch: E1, write: k(2), read: k(1) });
        a.set_write_epoch(E1);
        b.set_read_epoch(E1);
        (a, b)
    }

    #[test]
    fn sealed_records_open_once_and_only_once() {
        for alg in [AeadAlgorithm::Aes128Gcm, AeadAlgorithm::Aes256Gcm, AeadAlgorithm::Chacha20Poly1305] {
            let (mut a, mut b) = pair(alg);
            let mut dgram = Vec::new();
            a.seal(E1, ContentType::ApplicationData, b"ping", &mut dgram).unwrap();
            a.seal(E1, ContentType::ApplicationData, b"pong", &mut dgram).unwrap();
            let replay = dgram.clone();
            for (i, (h, body)) in Deframer::new(&dgram).enumerate() {
                let plain = open(&mut b, &h, body).unwrap();
                assert_eq!(&plain[..], if i == 0 { b"ping" } else { b"pong" });
            }
            for (h, body) in Deframer::new(&replay) {
                assert_eq!(open(&mut b, &h, body), Err(Discard::Replay));
            }
        }
    }

    #[test]
    fn tampered_record_does_not_advance_window() {
        let (mut a, mut b) = pair(AeadAlgorithm::Aes128Gcm);
        let mut dgram = Vec::new();
        a.seal(E1, ContentType::ApplicationData, b"data", &mut dgram).unwrap();
        let (h, body) = Deframer::new(&dgram).next().unwrap();
        let mut bad = body.to_vec();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(open(&mut b, &h, &bad), Err(Discard::BadRecordMac));
        // The forged copy must not have consumed the sequence number.
        assert!(open(&mut b, &h, body).is_ok());
    }

    #[test]
    fn gcm_explicit_nonce_is_epoch_and_sequence() {
        let (mut a, _) = pair(AeadAlgorithm::Aes128Gcm);
        let mut d = Vec::new();
        a.seal(E1, ContentType::ApplicationData, b"x", &mut d).unwrap();
        a.seal(E1, ContentType::ApplicationData, b"y", &mut d).unwrap();
        let recs: Vec<_> = Deframer::new(&d).collect();
        assert_eq!(&recs[0].1[..8], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&recs[1].1[..8], &[0, 1, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn future_epoch_is_not_opened() {
        let mut b = RecordLayer::new();
        let h =
            RecordHeader { content_type: ContentType::Handshake, version: DTLS_1_2, epoch: 1, sequence: 0, length: 0 };
        assert_eq!(open(&mut b, &h, &[]), Err(Discard::Epoch));
    }
}
