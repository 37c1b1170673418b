//! Record headers on the wire and the epoch they carry, shared by the record layer and the
//! handshake. One header codec per record format:
//!
//! - `dtls12.rs`: the 13-byte DTLS 1.2 `DTLSPlaintext`/`DTLSCiphertext` header (RFC 6347 §4.1)
//!   and [`Deframer`], the 1.2-only iterator the session uses.
//!
//! Nothing here knows keys or what an epoch means to a connection; nothing panics on input.

mod dtls12;

pub use dtls12::{Deframer, MAX_PLAINTEXT, MAX_SEQUENCE, RECORD_HEADER_LEN, RecordHeader};

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
