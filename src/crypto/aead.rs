//! AEAD record protection keys for the three suite families (AES-128-GCM, AES-256-GCM,
//! ChaCha20-Poly1305). Owns nonce construction; never chooses sequence numbers (the record
//! layer does) and never generates random nonces.

use ring::aead::{self, Aad, LessSafeKey, Nonce, Tag, UnboundKey};
use zeroize::Zeroize;

use crate::error::Error;

/// Length of every AEAD tag we use.
pub const TAG_LEN: usize = 16;

/// The bulk cipher of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadAlgorithm {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    Chacha20Poly1305,
}

impl AeadAlgorithm {
    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm | Self::Chacha20Poly1305 => 32,
        }
    }

    /// Length of the implicit IV taken from the key block (RFC 5288 §3: 4-byte salt;
    /// RFC 7905 §2: 12-byte IV).
    pub fn fixed_iv_len(self) -> usize {
        match self {
            Self::Aes128Gcm | Self::Aes256Gcm => 4,
            Self::Chacha20Poly1305 => 12,
        }
    }

    /// Bytes of explicit nonce carried in each record (8 for GCM, none for ChaCha20).
    pub fn explicit_nonce_len(self) -> usize {
        match self {
            Self::Aes128Gcm | Self::Aes256Gcm => 8,
            Self::Chacha20Poly1305 => 0,
        }
    }

    /// Bytes a record grows by when protected.
    pub fn overhead(self) -> usize {
        self.explicit_nonce_len() + TAG_LEN
    }

    fn ring_alg(self) -> &'static aead::Algorithm {
        match self {
            Self::Aes128Gcm => &aead::AES_128_GCM,
            Self::Aes256Gcm => &aead::AES_256_GCM,
            Self::Chacha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }
}

/// One direction's key and implicit IV for one epoch.
//
// `repr(C)`: the small fields every record reads come first, next to whatever precedes the
// key (see `RecordLayer`).
#[repr(C)]
pub struct RecordKey {
    alg: AeadAlgorithm,
    /// The first 4 bytes of every nonce (the GCM salt, or the first 4 ChaCha20 IV bytes).
    iv_head: [u8; 4],
    /// XORed with `epoch || sequence` for the last 8 nonce bytes: the last 8 ChaCha20 IV
    /// bytes, or 0 for GCM (whose explicit nonce is `epoch || sequence` itself).
    iv_tail: u64,
    key: LessSafeKey,
}

impl core::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecordKey").field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl Drop for RecordKey {
    fn drop(&mut self) {
        // ring zeroizes its own key schedule; the IV is ours.
        self.iv_head.zeroize();
        self.iv_tail.zeroize();
    }
}

impl RecordKey {
    /// A key from key-block material. `iv` must be `alg.fixed_iv_len()` bytes.
    pub fn new(alg: AeadAlgorithm, key: &[u8], iv: &[u8]) -> Result<Self, Error> {
        if iv.len() != alg.fixed_iv_len() {
            return Err(Error::Crypto("AEAD IV length"));
        }
        let unbound = UnboundKey::new(alg.ring_alg(), key).map_err(|_| Error::Crypto("AEAD key length"))?;
        let mut fixed = [0u8; 12];
        fixed.iter_mut().zip(iv).for_each(|(d, s)| *d = *s);
        let [h0, h1, h2, h3, t0, t1, t2, t3, t4, t5, t6, t7] = fixed;
        fixed.zeroize();
        let iv_tail = match alg {
            AeadAlgorithm::Aes128Gcm | AeadAlgorithm::Aes256Gcm => 0,
            AeadAlgorithm::Chacha20Poly1305 => u64::from_be_bytes([t0, t1, t2, t3, t4, t5, t6, t7]),
        };
        Ok(Self { alg, key: LessSafeKey::new(unbound), iv_head: [h0, h1, h2, h3], iv_tail })
    }

    /// A (D)TLS 1.3 key (RFC 8446 §5.3): the nonce of every suite is the 12-byte `iv` XOR
    /// the 64-bit record sequence number, left-padded; no explicit nonce.
    pub fn new_tls13(alg: AeadAlgorithm, key: &[u8], iv: &[u8; 12]) -> Result<Self, Error> {
        let unbound = UnboundKey::new(alg.ring_alg(), key).map_err(|_| Error::Crypto("AEAD key length"))?;
        let [h0, h1, h2, h3, t0, t1, t2, t3, t4, t5, t6, t7] = *iv;
        let iv_tail = u64::from_be_bytes([t0, t1, t2, t3, t4, t5, t6, t7]);
        Ok(Self { alg, key: LessSafeKey::new(unbound), iv_head: [h0, h1, h2, h3], iv_tail })
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> AeadAlgorithm {
        self.alg
    }

    // RFC 5288 §3: nonce = salt (4) || explicit nonce (8); we set the explicit part to the
    // record's epoch||sequence (RFC 6347 §4.1.2.1 / docs/security.md item 6), so it never repeats.
    // RFC 7905 §2: nonce = IV XOR (0^32 || epoch||sequence), left-padded.
    fn nonce(&self, epoch_seq: u64) -> Nonce {
        let [h0, h1, h2, h3] = self.iv_head;
        let [s0, s1, s2, s3, s4, s5, s6, s7] = (self.iv_tail ^ epoch_seq).to_be_bytes();
        Nonce::assume_unique_for_key([h0, h1, h2, h3, s0, s1, s2, s3, s4, s5, s6, s7])
    }

    /// Encrypt `in_out` in place and return the tag. The caller writes the explicit nonce
    /// (`epoch_seq` big-endian, GCM only) before the ciphertext and the tag after it.
    pub fn seal(&self, epoch_seq: u64, aad: &[u8], in_out: &mut [u8]) -> Result<Tag, Error> {
        self.key
            .seal_in_place_separate_tag(self.nonce(epoch_seq), Aad::from(aad), in_out)
            .map_err(|_| Error::Crypto("AEAD seal"))
    }

    /// Decrypt `ciphertext || tag` in place; returns the plaintext length. For GCM the
    /// nonce comes from the record's explicit nonce (`explicit`), as the RFC defines it.
    pub fn open(&self, explicit_or_seq: u64, aad: &[u8], in_out: &mut [u8]) -> Option<usize> {
        self.key.open_in_place(self.nonce(explicit_or_seq), Aad::from(aad), in_out).ok().map(|p| p.len())
    }

    /// Like [`RecordKey::open`] for `ciphertext || tag` at `in_out[src..]`: the plaintext is
    /// written to the front of `in_out` in the same pass. Returns the plaintext length.
    pub fn open_within(&self, explicit_or_seq: u64, aad: &[u8], in_out: &mut [u8], src: usize) -> Option<usize> {
        self.key.open_within(self.nonce(explicit_or_seq), Aad::from(aad), in_out, src..).ok().map(|p| p.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_each_algorithm() {
        for alg in [AeadAlgorithm::Aes128Gcm, AeadAlgorithm::Aes256Gcm, AeadAlgorithm::Chacha20Poly1305] {
            let key = vec![7u8; alg.key_len()];
            let iv = vec![9u8; alg.fixed_iv_len()];
            let k = RecordKey::new(alg, &key, &iv).unwrap();
            let mut buf = b"hello world".to_vec();
            let tag = k.seal(0x0001_0000_0000_0005, b"aad", &mut buf).unwrap();
            buf.extend_from_slice(tag.as_ref());
            let n = k.open(0x0001_0000_0000_0005, b"aad", &mut buf).unwrap();
            assert_eq!(&buf[..n], b"hello world");
        }
    }

    #[test]
    fn wrong_sequence_fails_to_open() {
        let k = RecordKey::new(AeadAlgorithm::Chacha20Poly1305, &[1; 32], &[2; 12]).unwrap();
        let mut buf = b"x".to_vec();
        let tag = k.seal(1, b"", &mut buf).unwrap();
        buf.extend_from_slice(tag.as_ref());
        assert!(k.open(2, b"", &mut buf).is_none());
    }
}
