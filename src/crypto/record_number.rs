//! DTLS 1.3 record-number encryption (RFC 9147 §4.2.3): the sequence number bytes of a
//! unified header are XORed with a mask computed from the record's ciphertext under the
//! epoch's `sn` key — AES-ECB of the first 16 ciphertext bytes for the AES suites, the
//! ChaCha20 keystream with the first 4 bytes as counter and the next 12 as nonce for
//! ChaCha20-Poly1305 (the construction of QUIC header protection, which ring provides).
//!
//! This module never panics on a short record: one whose ciphertext has fewer than 16 bytes
//! cannot be unmasked, and RFC 9147 §4.2.3 has such records dropped.

use ring::aead::quic;

use crate::crypto::aead::AeadAlgorithm;
use crate::error::Error;

/// RFC 9147 §4.2.3: the mask is computed from this many bytes of ciphertext.
pub const SAMPLE_LEN: usize = 16;

/// One epoch's record-number key in one direction.
pub struct RecordNumberKey {
    key: quic::HeaderProtectionKey,
}

impl core::fmt::Debug for RecordNumberKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecordNumberKey").finish_non_exhaustive()
    }
}

impl RecordNumberKey {
    /// The key for `aead`'s suite from the epoch's `sn` key bytes (as long as the AEAD key).
    pub fn new(aead: AeadAlgorithm, sn_key: &[u8]) -> Result<Self, Error> {
        let alg = match aead {
            AeadAlgorithm::Aes128Gcm => &quic::AES_128,
            AeadAlgorithm::Aes256Gcm => &quic::AES_256,
            AeadAlgorithm::Chacha20Poly1305 => &quic::CHACHA20,
        };
        let key = quic::HeaderProtectionKey::new(alg, sn_key).map_err(|_| Error::Crypto("record number key"))?;
        Ok(Self { key })
    }

    /// The mask for a record whose ciphertext (everything after the unified header) is
    /// `ciphertext`; `None` when it is shorter than [`SAMPLE_LEN`].
    pub fn mask(&self, ciphertext: &[u8]) -> Option<[u8; 5]> {
        let sample = ciphertext.get(..SAMPLE_LEN)?;
        self.key.new_mask(sample).ok()
    }

    /// XOR the 1- or 2-byte sequence number field `seq` (in place) with the mask of
    /// `ciphertext`: the same call encrypts and decrypts. False (and `seq` untouched) if the
    /// ciphertext is too short or the field longer than two bytes.
    pub fn apply(&self, seq: &mut [u8], ciphertext: &[u8]) -> bool {
        let Some(mask) = self.mask(ciphertext) else { return false };
        if seq.len() > 2 {
            return false;
        }
        for (s, m) in seq.iter_mut().zip(mask) {
            *s ^= m;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_hex::decode as hex;

    const KEY32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const SAMPLE: &str = "d1b2a3948576a6b7c8d9e0f102132435";

    // Expected masks computed with OpenSSL 3.0's command-line tool, an independent
    // implementation of the same ciphers:
    //   AES:      sample | openssl enc -aes-128-ecb (-aes-256-ecb) -K key -nopad
    //   ChaCha20: 5 zero bytes | openssl enc -chacha20 -K key -iv sample
    //             (OpenSSL's 16-byte ChaCha20 IV is the 4-byte little-endian counter
    //             followed by the 12-byte nonce, exactly the sample's split)
    #[test]
    fn masks_match_an_independent_implementation() {
        let cases = [
            (AeadAlgorithm::Aes128Gcm, &KEY32[..32], "5bd0ebd10c"),
            (AeadAlgorithm::Aes256Gcm, KEY32, "279b328df8"),
            (AeadAlgorithm::Chacha20Poly1305, KEY32, "055e7c6cf5"),
        ];
        for (aead, key, mask) in cases {
            let k = RecordNumberKey::new(aead, &hex(key)).unwrap();
            assert_eq!(k.mask(&hex(SAMPLE)).unwrap().to_vec(), hex(mask), "{aead:?}");
        }
    }

    #[test]
    fn apply_is_its_own_inverse_and_refuses_short_records() {
        let k = RecordNumberKey::new(AeadAlgorithm::Aes128Gcm, &[9; 16]).unwrap();
        let ct = [0x55u8; 40];
        let mut seq = [0x12, 0x34];
        assert!(k.apply(&mut seq, &ct));
        assert_ne!(seq, [0x12, 0x34]);
        assert!(k.apply(&mut seq, &ct));
        assert_eq!(seq, [0x12, 0x34]);
        let mut one = [0x7f];
        assert!(!k.apply(&mut one, &ct[..15]));
        assert_eq!(one, [0x7f]);
        assert!(!k.apply(&mut [0u8; 3], &ct));
        assert!(RecordNumberKey::new(AeadAlgorithm::Aes128Gcm, &[0; 15]).is_err());
    }
}
