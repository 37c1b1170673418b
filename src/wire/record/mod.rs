//! Record headers on the wire and the epoch they carry, shared by the record layer and the
//! handshake. One header codec per record format:
//!
//! - `dtls12.rs`: the 13-byte DTLS 1.2 `DTLSPlaintext`/`DTLSCiphertext` header (RFC 6347 §4.1)
//!   and [`Deframer`], the fast 1.2-only iterator the session uses;
//! - `tls12_cid.rs`: the RFC 9146 §4 record with a connection ID ([`CidRecordHeader`]) and
//!   its AEAD additional data (RFC 9146 §5);
//! - `unified.rs`: the DTLS 1.3 unified header ([`UnifiedHeader`], RFC 9147 §4);
//! - `inner_plaintext.rs`: `DTLSInnerPlaintext` (content, real type, zero padding), the
//!   protected content of the last two;
//! - `demux.rs`: [`Demux`], which splits a datagram into records of all three formats by
//!   their first byte (RFC 9147 §4.1).
//!
//! Nothing here knows keys or what an epoch means to a connection; nothing panics on input.

mod demux;
mod dtls12;
mod inner_plaintext;
mod tls12_cid;
mod unified;

pub use demux::{Demux, Record};
pub use dtls12::{Deframer, MAX_PLAINTEXT, MAX_SEQUENCE, RECORD_HEADER_LEN, RecordHeader};
pub use inner_plaintext::{decode_inner_plaintext, encode_inner_plaintext};
pub use tls12_cid::{CID_HEADER_FIXED_LEN, CidRecordHeader, MAX_ADDITIONAL_DATA_LEN, TLS12_CID};
pub use unified::{SequenceField, UNIFIED_FIXED_BITS, UnifiedHeader, is_unified_header};

/// A record epoch (RFC 6347 §4.1; RFC 9147 §4). DTLS 1.2 carries 16 bits of it on the wire
/// and, without renegotiation, only uses 0 (plaintext) and 1 (the negotiated keys); DTLS 1.3
/// counts up to 2^64 - 1 (0 plaintext, 2 handshake, 3 application data, 4 and beyond after
/// each KeyUpdate) and carries only its low two bits in the unified header. The type holds
/// the full value; each header format truncates it to what its wire field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Epoch(pub u64);

impl Epoch {
    /// Epoch 0: records without protection.
    pub const PLAINTEXT: Self = Self(0);
    /// DTLS 1.2's only protected epoch (no renegotiation).
    pub const DTLS12_PROTECTED: Self = Self(1);

    /// The epoch after this one.
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }

    /// The 16-bit epoch field of a DTLS 1.2 record header (RFC 6347 §4.1).
    pub fn to_wire16(self) -> u16 {
        self.0 as u16
    }

    /// The EE bits of a DTLS 1.3 unified header: the epoch's low two bits (RFC 9147 §4).
    pub fn to_unified_bits(self) -> u8 {
        (self.0 & 0b11) as u8
    }

    /// True for epoch 0.
    pub fn is_plaintext(self) -> bool {
        self.0 == 0
    }
}

impl From<u16> for Epoch {
    fn from(e: u16) -> Self {
        Self(u64::from(e))
    }
}
