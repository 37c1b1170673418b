//! The DTLS 1.3 record layer of one session (RFC 9147 §4): the protected epochs in each
//! direction (2 for the handshake, 3 and up for application data and KeyUpdates), their
//! sequence numbers, replay windows and usage counters. Epoch 0 stays with the DTLS 1.2
//! [`RecordLayer`](super::protection::RecordLayer), whose plaintext records 1.3 shares.
//!
//! Never marks a replay window before a record authenticated, never reuses a sequence
//! number, never opens a record of an epoch it has no keys for.

// docs/security.md items 5 (replay window) and 6 (sequence numbers).

use crate::crypto::aead::RecordKey;
use crate::crypto::record_number::RecordNumberKey;
use crate::error::Error;
use crate::record::dtls13::{Keys13, Opened, Protection13};
use crate::record::protection::{Discard, RecordLayer};
use crate::record::replay::ReplayWindow;
use crate::wire::record::{MAX_SEQUENCE, UnifiedHeader};
use crate::wire::{ContentType, Epoch};

/// The first application epoch (RFC 9147 §6.1); below it, the handshake's.
const EPOCH_APPLICATION: Epoch = Epoch(3);

/// How many epochs each direction keeps: RFC 9147 §4.2.1 has the receiver keep the keys of
/// an old epoch for a while after a change (retransmissions, reordering); two old ones cover
/// the handshake epoch together with the first KeyUpdate.
const KEPT_EPOCHS: usize = 3;

/// Unified header, 16-bit sequence number and length, no connection ID.
const HEADER_LEN: usize = 1 + 2 + 2;

/// One read epoch. `key` is `None` for the newest epoch: its AEAD key is in the DTLS 1.2
/// layer's current read slot ([`RecordLayer::install_read13`]); older epochs keep theirs
/// boxed. An idle established session so holds one boxed record-number key per direction
/// and its AEAD keys inline.
struct Reader13 {
    epoch: Epoch,
    sn: RecordNumberKey,
    key: Option<Box<RecordKey>>,
    window: ReplayWindow,
    /// Records that failed authentication (RFC 9147 §4.5.3 integrity limit).
    failures: u64,
}

/// One write epoch, its key kept as [`Reader13`]'s.
struct Writer13 {
    epoch: Epoch,
    sn: RecordNumberKey,
    key: Option<Box<RecordKey>>,
    next_seq: u64,
}

impl core::fmt::Debug for Reader13 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reader13").field("epoch", &self.epoch).finish_non_exhaustive()
    }
}

impl core::fmt::Debug for Writer13 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Writer13").field("epoch", &self.epoch).finish_non_exhaustive()
    }
}

/// The keys of an epoch: its own, or (the newest) the slot's in `slots`.
fn keys<'a>(
    epoch: Epoch,
    sn: &'a RecordNumberKey,
    key: Option<&'a RecordKey>,
    slot: Option<&'a RecordKey>,
) -> Option<Keys13<'a>> {
    Some(Keys13 { epoch, key: key.or(slot)?, sn })
}

/// A record that opened: its epoch and sequence number (what an ACK names), its real
/// content type and where its content lies in the opened buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received13 {
    pub epoch: Epoch,
    pub sequence: u64,
    pub content_type: ContentType,
    pub content: core::ops::Range<usize>,
    /// The record carried our connection ID and is the newest received (current read
    /// epoch, above every sequence number before it): it may move the peer's address.
    pub newest_with_cid: bool,
}

/// The protected epochs of one DTLS 1.3 session.
#[derive(Debug, Default)]
pub struct RecordLayer13 {
    /// Oldest first; the last one is the current read epoch.
    reads: Vec<Reader13>,
    /// Oldest first; the last one is the current write epoch.
    writes: Vec<Writer13>,
}

impl RecordLayer13 {
    /// Accept records of this epoch from now on (and keep the older ones a while). Its AEAD
    /// key goes to `slots`' current read slot; the key it replaces, the previous newest
    /// epoch's, is boxed with that epoch.
    pub fn install_read(&mut self, slots: &mut RecordLayer, protection: Protection13) {
        let (epoch, key, sn) = protection.into_parts();
        if let Some(old) = slots.install_read13(epoch, key)
            && let Some(newest) = self.reads.last_mut()
        {
            newest.key = Some(Box::new(old));
        }
        if self.reads.len() == KEPT_EPOCHS {
            self.reads.remove(0);
        }
        // Exactly as many entries as held: each holds a record-number key schedule.
        self.reads.reserve_exact(1);
        self.reads.push(Reader13 { epoch, sn, key: None, window: ReplayWindow::new(), failures: 0 });
    }

    /// Seal new records in this epoch from now on (the older ones stay available for
    /// retransmitting a flight sent in them); its key is kept as in `install_read`.
    pub fn install_write(&mut self, slots: &mut RecordLayer, protection: Protection13) {
        let (epoch, key, sn) = protection.into_parts();
        if let Some(old) = slots.install_write13(epoch, key)
            && let Some(newest) = self.writes.last_mut()
        {
            newest.key = Some(Box::new(old));
        }
        if self.writes.len() == KEPT_EPOCHS {
            self.writes.remove(0);
        }
        self.writes.reserve_exact(1);
        self.writes.push(Writer13 { epoch, sn, key: None, next_seq: 0 });
    }

    /// Forget every epoch below `epoch`, both directions (the handshake epoch once both
    /// sides are done with it), keeping no spare capacity.
    pub fn retire_below(&mut self, epoch: Epoch) {
        self.reads.retain(|r| r.epoch >= epoch);
        self.reads.shrink_to_fit();
        self.retire_writes_below(epoch);
    }

    /// Forget every write epoch below `epoch`, keeping no spare capacity.
    pub fn retire_writes_below(&mut self, epoch: Epoch) {
        self.writes.retain(|w| w.epoch >= epoch);
        self.writes.shrink_to_fit();
    }

    /// The current write epoch, if any.
    pub fn write_epoch(&self) -> Option<Epoch> {
        self.writes.last().map(|w| w.epoch)
    }

    /// The current read epoch, if any.
    pub fn read_epoch(&self) -> Option<Epoch> {
        self.reads.last().map(|r| r.epoch)
    }

    /// Whether records of `epoch` can be sealed.
    pub fn can_write(&self, epoch: Epoch) -> bool {
        self.writes.iter().any(|w| w.epoch == epoch)
    }

    /// Records sealed so far in the current write epoch.
    pub fn sealed_in_current(&self) -> u64 {
        self.writes.last().map_or(0, |w| w.next_seq)
    }

    /// Bytes a record adds around its content: the header, the content type byte and the
    /// tag (plus padding for contents shorter than the record-number sample).
    pub fn overhead(&self, slots: &RecordLayer) -> usize {
        HEADER_LEN + slots.cids().map_or(0, |c| c.peer.len()) + 1 + crate::crypto::aead::TAG_LEN
    }

    /// Append one record of `content_type` carrying `content` in `epoch` (current or kept)
    /// to `out`; returns its sequence number (an ACK names it). `slots` holds the newest
    /// epoch's key.
    #[inline]
    pub fn seal(
        &mut self,
        slots: &RecordLayer,
        epoch: Epoch,
        content_type: ContentType,
        content: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<u64, Error> {
        let w =
            self.writes.iter_mut().rev().find(|w| w.epoch == epoch).ok_or(Error::Crypto("no keys for this epoch"))?;
        let keys = keys(w.epoch, &w.sn, w.key.as_deref(), slots.write_key13(epoch))
            .ok_or(Error::Crypto("no keys for this epoch"))?;
        let seq = w.next_seq;
        // RFC 9147 §4.2.1: a sequence number never wraps; the key must be updated first.
        if seq > MAX_SEQUENCE {
            return Err(Error::Crypto("sequence number exhausted"));
        }
        // RFC 9147 §9: with a connection ID negotiated, every protected record carries the
        // peer's (the C bit of the unified header).
        let cid = slots.cids().map_or(&[][..], |c| c.peer.as_slice());
        keys.seal(seq, cid, content_type, content, out)?;
        w.next_seq = seq + 1;
        Ok(seq)
    }

    /// Open one record (`record` holds its header of `header`'s length and its body) in
    /// place. RFC 9147 §4.2.1: the epoch is the kept one whose low two bits match the header's
    /// (the newest first). Replays, records of unknown epochs and forgeries are [`Discard`]s.
    /// `slots` holds the newest epoch's key.
    pub fn open(
        &mut self,
        slots: &RecordLayer,
        header: &UnifiedHeader<'_>,
        record: &mut [u8],
    ) -> Result<Received13, Discard> {
        // RFC 9147 §9: a connection ID, when present, must be ours.
        let with_cid = !header.cid.is_empty();
        if with_cid && !slots.cids().is_some_and(|c| c.is_own(header.cid)) {
            return Err(Discard::Epoch);
        }
        let current = if with_cid { self.reads.last().map(|r| r.epoch) } else { None };
        let r = self
            .reads
            .iter_mut()
            .rev()
            .find(|r| r.epoch.to_unified_bits() == header.epoch_bits)
            .ok_or(Discard::Epoch)?;
        let keys = keys(r.epoch, &r.sn, r.key.as_deref(), slots.read_key13(r.epoch)).ok_or(Discard::Epoch)?;
        let expected = r.window.max_seen().map_or(0, |m| m + 1);
        let opened = keys.open(record, header.header_len(), header.sequence_offset(), header.sequence.len(), expected);
        let Opened { sequence, content_type, content } = match opened {
            Ok(o) => o,
            Err(e) => {
                r.failures += 1;
                return Err(e);
            }
        };
        // RFC 9147 §4.5.1: the window is checked with the reconstructed number and updated
        // only after the record authenticated.
        if !r.window.check(sequence) {
            return Err(Discard::Replay);
        }
        let newest_with_cid =
            !header.cid.is_empty() && current == Some(r.epoch) && r.window.max_seen().is_none_or(|m| sequence > m);
        r.window.mark(sequence);
        let epoch = r.epoch;
        // RFC 9147 §8 (and its errata 8047): the peer seals with the keys of a KeyUpdate only
        // once we acknowledged it, and its earlier flights before it; an authentic record of
        // epoch 4 or later so proves the handshake's last flight (the client's Finished) was
        // acknowledged, and nothing of epoch 2 will come again. Until then a server keeps its
        // epoch-2 read key: its ACK of the client's Finished may be lost, and the client then
        // repeats the Finished until one arrives (§7.1); records of epoch 3 prove nothing,
        // since the client may send application data right after its Finished. The RFC's
        // other bound, old keys kept up to the TCP MSL (§4.2.1), is not a timer here.
        if epoch.0 > EPOCH_APPLICATION.0 && self.reads.first().is_some_and(|r| r.epoch.0 < EPOCH_APPLICATION.0) {
            self.reads.retain(|r| r.epoch >= EPOCH_APPLICATION);
            self.reads.shrink_to_fit();
        }
        Ok(Received13 { epoch, sequence, content_type, content, newest_with_cid })
    }

    /// Records that failed authentication in the current read epoch.
    pub fn read_failures(&self) -> u64 {
        self.reads.last().map_or(0, |r| r.failures)
    }
}
