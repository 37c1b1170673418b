//! Reassembly of incoming DTLS handshake fragments into whole messages, delivered strictly
//! in message_seq order (RFC 6347 §4.2.2, §4.2.3).
//!
//! This module owns the buffering of not-yet-delivered handshake messages and the caps on
//! it. It must never allocate beyond its caps (per message and per session, checked before
//! any allocation), never match fragments on message type alone (fragments are keyed by
//! message_seq and must agree on type and length), never loop without progress on
//! degenerate fragments, and never interpret message bodies. It does not decide what a
//! repeated flight means; it reports it ([`Inserted::Old`]) and the session decides.

// docs/security.md items 3 (fragments keyed by message_seq) and 4 (degenerate fragments).

use core::fmt;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use crate::codec::{Codec, Put};
use crate::error::InvalidMessage;
use crate::wire::HandshakeType;
use crate::wire::handshake_header::{HandshakeHeader, MAX_U24};

/// Default cap on one message body: large enough for long certificate chains.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 256 * 1024;

/// Default cap on the bytes buffered across all pending messages of one session.
pub const DEFAULT_MAX_TOTAL_BYTES: usize = 512 * 1024;

/// How far beyond the next expected message_seq a fragment may be and still be buffered.
/// A flight holds at most a handful of messages; anything further ahead is dropped.
pub const MAX_SEQ_AHEAD: u16 = 16;

/// A complete, reassembled handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeMessage {
    /// The handshake message type.
    pub msg_type: HandshakeType,
    /// The message_seq it was sent with.
    pub message_seq: u16,
    /// The whole message body (without the handshake header). At most 2^24 - 1 bytes.
    pub body: Vec<u8>,
}

impl HandshakeMessage {
    /// The header this message has when sent unfragmented: fragment_offset 0 and
    /// fragment_length equal to length.
    pub fn header(&self) -> HandshakeHeader {
        debug_assert!(self.body.len() <= MAX_U24 as usize);
        // A reassembled body never exceeds its 24-bit declared length; saturate otherwise.
        let length = u32::try_from(self.body.len()).unwrap_or(MAX_U24).min(MAX_U24);
        HandshakeHeader {
            msg_type: self.msg_type,
            length,
            message_seq: self.message_seq,
            fragment_offset: 0,
            fragment_length: length,
        }
    }

    /// Append the bytes this message contributes to the handshake transcript: the 12-byte
    /// header as if unfragmented, then the body.
    // RFC 6347 §4.2.6: "in order to remove sensitivity to handshake message fragmentation,
    // the Finished MAC MUST be computed as if each handshake message had been sent as a
    // single fragment."
    pub fn transcript_bytes(&self, out: &mut Vec<u8>) {
        self.header().encode(out);
        out.put_slice(&self.body);
    }
}

/// What [`Reassembler::insert`] did with an acceptable fragment.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The fragment belongs to the next message or one shortly after it and was taken into
    /// account (it may have added no new bytes, if it was a duplicate).
    Buffered,
    /// The fragment belongs to a message already delivered: the peer is retransmitting.
    /// RFC 6347 §4.2.4: a repeated previous flight from the peer means our last flight was
    /// lost and should be re-sent.
    Old,
    /// The fragment's message_seq is more than [`MAX_SEQ_AHEAD`] beyond the next expected
    /// one; it was dropped.
    TooFarAhead,
}

/// Why [`Reassembler::insert`] refused a fragment. Nothing of the fragment was buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsertError {
    /// The header's bounds are invalid, or the fragment is not `fragment_length` bytes.
    /// Drop the fragment (or the record).
    Malformed(InvalidMessage),
    /// The fragment disagrees with earlier fragments of the same message_seq (message type,
    /// total length, or the bytes it overlaps). Treat as an invalid fragment and drop it;
    /// this is not fatal.
    Inconsistent,
    /// The declared message length exceeds the per-message cap.
    TooLarge,
    /// Buffering this message would exceed the per-session cap.
    OverBudget,
}

impl fmt::Display for InsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed handshake fragment: {e:?}"),
            Self::Inconsistent => f.write_str("handshake fragment inconsistent with earlier ones"),
            Self::TooLarge => f.write_str("handshake message exceeds the size cap"),
            Self::OverBudget => f.write_str("handshake reassembly budget exhausted"),
        }
    }
}

impl std::error::Error for InsertError {}

/// One message being reassembled.
#[derive(Debug)]
struct Pending {
    msg_type: HandshakeType,
    /// Sized to the declared length when the first fragment arrives.
    body: Vec<u8>,
    /// One bit per body byte: set when that byte has been received. Empty for a message
    /// that arrived whole in its first fragment (every byte is received).
    received: Vec<u64>,
    /// Body bytes not received yet; the message is complete at 0.
    missing: usize,
}

impl Pending {
    fn new(msg_type: HandshakeType, length: usize) -> Self {
        Self { msg_type, body: vec![0; length], received: vec![0; length.div_ceil(64)], missing: length }
    }

    /// A message whose first fragment is the whole of it (the usual case): its body is a
    /// copy of the fragment, and no zeroed body or bitmap is allocated.
    fn whole(msg_type: HandshakeType, body: &[u8]) -> Self {
        Self { msg_type, body: body.to_vec(), received: Vec::new(), missing: 0 }
    }

    fn has(&self, pos: usize) -> bool {
        if self.missing == 0 {
            return pos < self.body.len();
        }
        let bit = 1u64 << (pos % 64);
        self.received.get(pos / 64).is_some_and(|w| w & bit != 0)
    }

    /// Whether every byte before `end` was received (whole 64-byte words at a time).
    fn has_prefix(&self, end: usize) -> bool {
        if self.missing == 0 {
            return true;
        }
        let words = end / 64;
        self.received.get(..words).is_some_and(|w| w.iter().all(|&x| x == u64::MAX))
            && (end.is_multiple_of(64)
                || self.received.get(words).is_some_and(|&w| w | !((1u64 << (end % 64)) - 1) == u64::MAX))
    }

    /// True if a byte of `fragment` at `offset` differs from a byte already received there.
    fn conflicts(&self, offset: usize, fragment: &[u8]) -> bool {
        let Some(existing) = self.body.get(offset..offset.saturating_add(fragment.len())) else {
            return true;
        };
        existing.iter().zip(fragment).enumerate().any(|(i, (old, new))| old != new && self.has(offset + i))
    }

    /// Copy the bytes of `fragment` not received yet. Bounds were validated by the caller;
    /// out-of-range bytes are ignored rather than trusted.
    fn write(&mut self, offset: usize, fragment: &[u8]) {
        // A complete message has every byte already (a repeat was checked for conflicts).
        if self.missing == 0 {
            return;
        }
        // Fast path: nothing of this message was received yet (the usual first and only
        // fragment), so every byte is new: copy the range and set its bits word by word.
        if self.missing == self.body.len() {
            let end = offset.saturating_add(fragment.len());
            if let Some(dst) = self.body.get_mut(offset..end) {
                dst.copy_from_slice(fragment);
                let mut pos = offset;
                while pos < end {
                    let lo = pos % 64;
                    let n = (64 - lo).min(end - pos);
                    let mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << lo };
                    if let Some(word) = self.received.get_mut(pos / 64) {
                        *word |= mask;
                    }
                    pos += n;
                }
                self.missing -= fragment.len();
                return;
            }
        }
        for (i, &byte) in fragment.iter().enumerate() {
            let pos = offset + i;
            let bit = 1u64 << (pos % 64);
            let (Some(word), Some(slot)) = (self.received.get_mut(pos / 64), self.body.get_mut(pos)) else {
                return;
            };
            if *word & bit == 0 {
                *word |= bit;
                *slot = byte;
                self.missing = self.missing.saturating_sub(1);
            }
        }
    }
}

/// Reassembles handshake fragments into messages and delivers them in message_seq order.
///
/// Memory is bounded: a message longer than `max_message_len` is refused, the bodies of all
/// pending messages together never exceed `max_total_bytes` (plus one bit of bookkeeping per
/// byte), and at most [`MAX_SEQ_AHEAD`] + 1 messages are pending.
#[derive(Debug)]
pub struct Reassembler {
    max_message_len: usize,
    max_total_bytes: usize,
    next_seq: u16,
    pending: BTreeMap<u16, Pending>,
    buffered: usize,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_LEN, DEFAULT_MAX_TOTAL_BYTES)
    }
}

impl Reassembler {
    /// A reassembler expecting message_seq 0, with the given caps (in body bytes).
    pub fn new(max_message_len: usize, max_total_bytes: usize) -> Self {
        Self { max_message_len, max_total_bytes, next_seq: 0, pending: BTreeMap::new(), buffered: 0 }
    }

    /// Take in one fragment (as produced by [`crate::wire::handshake_header::parse_fragments`]).
    ///
    /// Fragments may arrive out of order, overlap, repeat, or be cut differently on
    /// retransmission. On error nothing of the fragment is kept.
    pub fn insert(&mut self, header: &HandshakeHeader, fragment: &[u8]) -> Result<Inserted, InsertError> {
        // RFC 6347 §4.2.3: fragment_offset + fragment_length must lie within the message.
        header.validate().map_err(InsertError::Malformed)?;
        if fragment.len() != header.fragment_length as usize {
            return Err(InsertError::Malformed(InvalidMessage::IllegalValue("fragment_length")));
        }
        // RFC 6347 §4.2.2: "If the sequence number is less than next_receive_seq, the
        // message MUST be discarded"; messages ahead of it may be buffered or discarded.
        if header.message_seq < self.next_seq {
            return Ok(Inserted::Old);
        }
        if header.message_seq - self.next_seq > MAX_SEQ_AHEAD {
            return Ok(Inserted::TooFarAhead);
        }
        let length = header.length as usize;
        let offset = header.fragment_offset as usize;
        match self.pending.entry(header.message_seq) {
            Entry::Occupied(entry) => {
                let pending = entry.into_mut();
                // docs/security.md item 3: a fragment joins a message only if type, length and the
                // bytes it overlaps all agree with what that message_seq already holds.
                if pending.msg_type != header.msg_type
                    || pending.body.len() != length
                    || pending.conflicts(offset, fragment)
                {
                    return Err(InsertError::Inconsistent);
                }
                pending.write(offset, fragment);
            }
            Entry::Vacant(entry) => {
                if length > self.max_message_len {
                    return Err(InsertError::TooLarge);
                }
                // docs/security.md item 4: an empty fragment of a non-empty message adds nothing;
                // do not allocate for it.
                if length > 0 && fragment.is_empty() {
                    return Ok(Inserted::Buffered);
                }
                let total = self.buffered.checked_add(length).ok_or(InsertError::OverBudget)?;
                if total > self.max_total_bytes {
                    return Err(InsertError::OverBudget);
                }
                // Allocation happens only here, after both caps were checked.
                let pending = if offset == 0 && fragment.len() == length {
                    Pending::whole(header.msg_type, fragment)
                } else {
                    let mut pending = Pending::new(header.msg_type, length);
                    pending.write(offset, fragment);
                    pending
                };
                entry.insert(pending);
                self.buffered = total;
            }
        }
        Ok(Inserted::Buffered)
    }

    /// Whether the fragment `header` describes continues what was received so far: every
    /// message from the next expected one up to its own is complete, and its own message has
    /// every byte before the fragment's offset. A fragment that does not is out of order: a
    /// record before it was lost or reordered (RFC 9147 §7.1 calls for an ACK then). An old
    /// or repeated fragment counts as continuing.
    pub fn continues(&self, header: &HandshakeHeader) -> bool {
        if header.message_seq < self.next_seq {
            return true;
        }
        let complete = |seq: u16| self.pending.get(&seq).is_some_and(|p| p.missing == 0);
        if !(self.next_seq..header.message_seq).all(complete) {
            return false;
        }
        let offset = header.fragment_offset as usize;
        match self.pending.get(&header.message_seq) {
            None => offset == 0,
            Some(p) => p.has_prefix(offset),
        }
    }

    /// The next message in order, if it is complete. Advances [`Reassembler::next_seq`].
    pub fn pop(&mut self) -> Option<HandshakeMessage> {
        let seq = self.next_seq;
        if self.pending.get(&seq)?.missing != 0 {
            return None;
        }
        let done = self.pending.remove(&seq)?;
        self.buffered = self.buffered.saturating_sub(done.body.len());
        self.next_seq = seq.wrapping_add(1);
        Some(HandshakeMessage { msg_type: done.msg_type, message_seq: seq, body: done.body })
    }

    /// The message_seq expected next for delivery.
    pub fn next_seq(&self) -> u16 {
        self.next_seq
    }

    /// Expect `seq` next, dropping pending messages that fall outside the new range.
    ///
    /// RFC 6347 §4.2.2: a server that answered the first ClientHello statelessly with a
    /// HelloVerifyRequest expects the second ClientHello with message_seq 1.
    pub fn set_next_seq(&mut self, seq: u16) {
        self.next_seq = seq;
        self.pending.retain(|&s, _| s >= seq && s - seq <= MAX_SEQ_AHEAD);
        self.buffered = self.pending.values().map(|p| p.body.len()).sum();
    }

    /// Body bytes currently held for pending (incomplete or undelivered) messages.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Drop every pending message. [`Reassembler::next_seq`] is unchanged.
    pub fn clear(&mut self) {
        self.pending.clear();
        self.buffered = 0;
    }
}

#[cfg(test)]
mod tests;
