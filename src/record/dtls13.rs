//! DTLS 1.3 record protection (RFC 9147 §4): one epoch's keys in one direction, sealing
//! content into a unified-header `DTLSCiphertext` record and opening one.
//!
//! - The plaintext is a `DTLSInnerPlaintext` (content, real type, zero padding).
//! - The AEAD nonce is the traffic IV XOR the 64-bit record sequence number (RFC 8446 §5.3;
//!   RFC 9147 §4: "unlike DTLS 1.2, the epoch is not included").
//! - The additional data is the unified header as sent, but with the sequence number before
//!   record-number encryption (RFC 9147 §4).
//! - The sequence number bytes are then XORed with the mask of the first 16 ciphertext
//!   bytes (RFC 9147 §4.2.3); the receiver removes the mask and reconstructs the full
//!   sequence number (§4.2.2) before it can open the record.
//!
//! Replay windows and the choice of epoch belong to the caller (the record layer); this
//! module never panics on a record from the network and reports every failure as a
//! [`Discard`], a silent drop.

use core::ops::Range;

use crate::crypto::aead::{AeadAlgorithm, RecordKey, TAG_LEN};
use crate::crypto::record_number::{RecordNumberKey, SAMPLE_LEN};
use crate::crypto::tls13::TrafficKeys;
use crate::error::Error;
use crate::record::protection::Discard;
use crate::wire::record::{MAX_PLAINTEXT, MAX_SEQUENCE, decode_inner_plaintext, encode_inner_plaintext};
use crate::wire::record::{SequenceField, UnifiedHeader};
use crate::wire::{ContentType, Epoch};

/// RFC 9147 §4.2.2: reconstruct the full sequence number from its low `bits` bits (8 or 16)
/// as the value closest to `expected` (one plus the highest sequence number deprotected in
/// this epoch so far), never below 0 nor above 2^48 - 1.
//
// The candidates are `base` (expected's upper bits with the received low bits) and its
// neighbours one window below and above; a neighbour wins only when strictly closer, which
// is when `base` lies more than half a window from `expected` on its side.
#[inline]
pub fn reconstruct_sequence(expected: u64, low: u16, bits: u32) -> u64 {
    let window = 1u64 << bits;
    let mask = window - 1;
    let half = window >> 1;
    let base = (expected & !mask) | (u64::from(low) & mask);
    if base > expected {
        if base - expected > half && base >= window {
            return base - window;
        }
    } else if expected - base > half && base + window <= MAX_SEQUENCE {
        return base + window;
    }
    base
}

/// The longest unified header: first byte, a connection ID of up to 255 bytes (RFC 9146
/// §3: `opaque cid<0..2^8-1>`), a 16-bit sequence number and a length.
const MAX_HEADER_LEN: usize = 1 + 255 + 2 + 2;

/// Unified headers up to this long (a CID of up to 11 bytes) use the small stack buffer.
const SMALL_HEADER_LEN: usize = 16;

/// One epoch's DTLS 1.3 protection in one direction.
pub struct Protection13 {
    epoch: Epoch,
    key: RecordKey,
    sn: RecordNumberKey,
}

/// One epoch's keys, borrowed from wherever the record layer keeps them (the newest epoch's
/// AEAD key lives in the DTLS 1.2 layer's current slot, `RecordLayer::install_read13`).
#[derive(Clone, Copy)]
pub struct Keys13<'a> {
    pub epoch: Epoch,
    pub key: &'a RecordKey,
    pub sn: &'a RecordNumberKey,
}

impl core::fmt::Debug for Protection13 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Protection13").field("epoch", &self.epoch).finish_non_exhaustive()
    }
}

/// What [`Protection13::open`] found in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The full (reconstructed) record sequence number.
    pub sequence: u64,
    /// The real content type from the inner plaintext.
    pub content_type: ContentType,
    /// Where the content lies in the buffer that was opened.
    pub content: Range<usize>,
}

impl Protection13 {
    /// The protection of `epoch` from its traffic keys (RFC 8446 §7.3, RFC 9147 §4.2.3).
    pub fn new(epoch: Epoch, alg: AeadAlgorithm, keys: &TrafficKeys) -> Result<Self, Error> {
        Ok(Self {
            epoch,
            key: RecordKey::new_tls13(alg, &keys.key, &keys.iv)?,
            sn: RecordNumberKey::new(alg, &keys.sn)?,
        })
    }

    /// The epoch these keys protect.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The epoch, the AEAD key and the record-number key, for a record layer that keeps
    /// them apart.
    pub fn into_parts(self) -> (Epoch, RecordKey, RecordNumberKey) {
        (self.epoch, self.key, self.sn)
    }

    /// These keys, borrowed.
    pub fn keys(&self) -> Keys13<'_> {
        Keys13 { epoch: self.epoch, key: &self.key, sn: &self.sn }
    }

    /// [`Keys13::seal`] with these keys.
    pub fn seal(
        &self,
        sequence: u64,
        cid: &[u8],
        content_type: ContentType,
        content: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.keys().seal(sequence, cid, content_type, content, out)
    }

    /// [`Keys13::open`] with these keys.
    pub fn open(
        &self,
        record: &mut [u8],
        header_len: usize,
        seq_offset: usize,
        seq_len: usize,
        expected: u64,
    ) -> Result<Opened, Discard> {
        self.keys().open(record, header_len, seq_offset, seq_len, expected)
    }
}

impl Keys13<'_> {
    /// Append one record carrying `content` of `content_type` with record sequence number
    /// `sequence` to `out`: unified header with the connection ID `cid` (if any), a 16-bit
    /// sequence field and a length; then the encrypted inner plaintext, padded with zeros
    /// so that the ciphertext reaches the 16 bytes record-number encryption samples.
    pub fn seal(
        self,
        sequence: u64,
        cid: &[u8],
        content_type: ContentType,
        content: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if content.len() > MAX_PLAINTEXT {
            return Err(Error::MessageTooLarge { max: MAX_PLAINTEXT });
        }
        let overhead = TAG_LEN;
        // Inner plaintext (content + type) plus the tag must give at least SAMPLE_LEN bytes.
        let padding = SAMPLE_LEN.saturating_sub(content.len() + 1 + overhead);
        let ciphertext_len = content.len() + 1 + padding + overhead;
        let length = u16::try_from(ciphertext_len).map_err(|_| Error::MessageTooLarge { max: MAX_PLAINTEXT })?;
        let header = UnifiedHeader {
            cid,
            epoch_bits: (self.epoch.0 & 0b11) as u8,
            sequence: SequenceField::Long(sequence as u16),
            length: Some(length),
        };
        let start = out.len();
        header.encode(out);
        let body = out.len();
        let seq_at = start + header.sequence_offset();
        encode_inner_plaintext(content, content_type, padding, out).map_err(Error::InvalidMessage)?;
        // The header, just written before the body, is the additional data (no copy).
        let (head, body_bytes) = out.split_at_mut(body);
        let aad = head.get(start..).unwrap_or_default();
        let tag = self.key.seal(sequence, aad, body_bytes)?;
        out.extend_from_slice(tag.as_ref());
        // RFC 9147 §4.2.3: encrypt the sequence number with the mask of the ciphertext.
        let (head, ciphertext) = out.split_at_mut(body);
        let seq_bytes = head.get_mut(seq_at..seq_at + 2).ok_or(Error::Crypto("header layout"))?;
        if !self.sn.apply(seq_bytes, ciphertext) {
            out.truncate(start);
            return Err(Error::Crypto("record too short for record number encryption"));
        }
        Ok(())
    }

    /// Open one record held in `record` (its unified header of `header_len` bytes with the
    /// sequence field at `seq_offset`, 1 or 2 bytes as `seq_len` says, then the ciphertext),
    /// in place. `expected` is one plus the highest sequence number deprotected in this
    /// epoch (0 before the first). On success the content lies at [`Opened::content`] of
    /// `record`, which starts at 0 (the header is overwritten); on failure `record`'s contents
    /// are unspecified.
    pub fn open(
        self,
        record: &mut [u8],
        header_len: usize,
        seq_offset: usize,
        seq_len: usize,
        expected: u64,
    ) -> Result<Opened, Discard> {
        if !(seq_len == 1 || seq_len == 2) || seq_offset + seq_len > header_len {
            return Err(Discard::BadRecordMac);
        }
        let (head, ciphertext) = record.split_at_mut_checked(header_len).ok_or(Discard::BadRecordMac)?;
        let overhead = TAG_LEN;
        if ciphertext.len() < SAMPLE_LEN.max(overhead + 1) {
            return Err(Discard::BadRecordMac);
        }
        if ciphertext.len() > MAX_PLAINTEXT + 256 {
            return Err(Discard::Overflow);
        }
        let seq_bytes = head.get_mut(seq_offset..seq_offset + seq_len).ok_or(Discard::BadRecordMac)?;
        if !self.sn.apply(seq_bytes, ciphertext) {
            return Err(Discard::BadRecordMac);
        }
        let low = match *seq_bytes {
            [a] => u16::from(a),
            [a, b] => u16::from_be_bytes([a, b]),
            _ => return Err(Discard::BadRecordMac),
        };
        let sequence = reconstruct_sequence(expected, low, 8 * seq_len as u32);
        // The header with the sequence number unmasked is the additional data; copied to the
        // stack, since the plaintext is written over it: decryption moves it to the front of
        // `record`, so the caller's buffer starts with the content (no copy after).
        // A header without a connection ID is 5 bytes: a small stack buffer then, to spare
        // zeroing the largest one every record.
        let mut small = [0u8; SMALL_HEADER_LEN];
        let mut large;
        let aad: &mut [u8] = if header_len <= SMALL_HEADER_LEN {
            small.get_mut(..header_len).ok_or(Discard::BadRecordMac)?
        } else {
            large = [0u8; MAX_HEADER_LEN];
            large.get_mut(..header_len).ok_or(Discard::BadRecordMac)?
        };
        aad.copy_from_slice(head);
        let plain_len = self.key.open_within(sequence, aad, record, header_len).ok_or(Discard::BadRecordMac)?;
        let inner = record.get(..plain_len).ok_or(Discard::BadRecordMac)?;
        if inner.len() > MAX_PLAINTEXT + 1 + 255 {
            return Err(Discard::Overflow);
        }
        let (content_type, content) = decode_inner_plaintext(inner).map_err(|_| Discard::BadRecordMac)?;
        if content.len() > MAX_PLAINTEXT {
            return Err(Discard::Overflow);
        }
        Ok(Opened { sequence, content_type, content: 0..content.len() })
    }
}

#[cfg(test)]
#[path = "dtls13_tests.rs"]
mod tests;
