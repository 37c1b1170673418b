//! Cryptographic primitives: the per-session deterministic RNG, the TLS 1.2 PRF and transcript
//! hash, ECDHE key exchange, the AEAD keys of record protection, verification of the peer's
//! signatures, and loading certificates.
//!
//! This module owns the `ring` and `rustls-webpki` calls of these primitives; our private keys
//! (module `key`) and the certificate chain verifiers (module `verify`) are built on them and
//! make their own. It must never use global randomness (every operation that needs randomness
//! takes the session's RNG), read the clock, do I/O, or panic on anything the peer sent.

pub mod aead;
pub(crate) mod der;
pub mod hybrid;
pub mod kx;
pub mod pem;
pub mod prf;
pub mod record_number;
pub mod rng;
pub mod tls13;
pub mod verify;

pub use kx::KeyExchange;
pub use pem::load_certificates;
pub use prf::{PrfHash, TranscriptHash, prf};
pub use rng::{DetRng, SessionRng};
pub use verify::verify_signature;

/// Constant-time equality for MACs, Finished values, fingerprints and key names: the time
/// taken depends on the lengths (which are public) but not on where the bytes differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Hex helpers shared by the unit tests of this module.
#[cfg(test)]
pub(crate) mod test_hex {
    /// Decode hex, ignoring whitespace. Panics on bad input (tests only).
    pub fn decode(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        assert!(digits.len().is_multiple_of(2), "odd hex length");
        digits.chunks(2).map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
    }

    /// Lowercase hex.
    pub fn encode(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
