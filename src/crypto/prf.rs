//! The TLS 1.2 pseudo-random function (RFC 5246 §5) and the running handshake transcript hash.
//!
//! This module owns `P_hash` and the hash choice a cipher suite makes for it. It must never
//! allocate per PRF call (the seed is streamed from its parts) and never hold secrets longer
//! than the call.

use core::fmt;

use ring::{digest, hmac};

/// The hash a cipher suite's PRF uses (RFC 5246 §5: SHA-256 unless the suite says otherwise;
/// the `_SHA384` GCM suites of RFC 5289 §3 use SHA-384).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrfHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

impl PrfHash {
    /// The hash output length in bytes (32 or 48).
    pub fn output_len(self) -> usize {
        self.digest_algorithm().output_len()
    }

    /// The hash of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.digest_algorithm(), data).as_ref().to_vec()
    }

    pub(crate) fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
        }
    }

    fn hmac_algorithm(self) -> hmac::Algorithm {
        match self {
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha384 => hmac::HMAC_SHA384,
        }
    }
}

/// The TLS 1.2 PRF, filling all of `out`.
///
/// `seed_parts` are concatenated to form the seed (e.g. `[client_random, server_random]`), so
/// callers need not build the concatenation themselves.
///
/// RFC 5246 §5:
/// ```text
/// P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) +
///                        HMAC_hash(secret, A(2) + seed) + ...
/// A(0) = seed
/// A(i) = HMAC_hash(secret, A(i-1))
/// PRF(secret, label, seed) = P_<hash>(secret, label + seed)
/// ```
pub fn prf(hash: PrfHash, secret: &[u8], label: &[u8], seed_parts: &[&[u8]], out: &mut [u8]) {
    prf_keyed(hash, &prf_key(hash, secret), label, seed_parts, out);
}

/// The HMAC key [`prf_keyed`] takes: `secret` with the pads of `hash` precomputed, so
/// several PRF outputs under one secret set the key up once.
pub(crate) fn prf_key(hash: PrfHash, secret: &[u8]) -> hmac::Key {
    hmac::Key::new(hash.hmac_algorithm(), secret)
}

/// [`prf`] with the secret given as its HMAC key (from [`prf_key`] with the same `hash`).
pub(crate) fn prf_keyed(hash: PrfHash, key: &hmac::Key, label: &[u8], seed_parts: &[&[u8]], out: &mut [u8]) {
    let full_seed = || core::iter::once(label).chain(seed_parts.iter().copied());

    // A(1) = HMAC_hash(secret, A(0)) with A(0) = label + seed.
    let mut ctx = hmac::Context::with_key(key);
    full_seed().for_each(|p| ctx.update(p));
    let mut a = ctx.sign();

    let mut chunks = out.chunks_mut(hash.output_len()).peekable();
    while let Some(chunk) = chunks.next() {
        // HMAC_hash(secret, A(i) + seed)
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(a.as_ref());
        full_seed().for_each(|p| ctx.update(p));
        let block = ctx.sign();
        // Chunks are at most output_len bytes, the tag's length.
        chunk.iter_mut().zip(block.as_ref()).for_each(|(d, s)| *d = *s);
        // A(i+1) = HMAC_hash(secret, A(i)), only if another chunk needs it.
        if chunks.peek().is_some() {
            a = hmac::sign(key, a.as_ref());
        }
    }
}

/// A running hash of the handshake messages, readable at any point without consuming it.
///
/// Used for the Finished `verify_data` (RFC 5246 §7.4.9, `Hash(handshake_messages)`) and for
/// the `session_hash` of the extended master secret (RFC 7627 §3).
#[derive(Clone)]
pub struct TranscriptHash {
    hash: PrfHash,
    ctx: digest::Context,
}

impl TranscriptHash {
    /// An empty transcript hashed with `hash`.
    pub fn new(hash: PrfHash) -> Self {
        Self { hash, ctx: digest::Context::new(hash.digest_algorithm()) }
    }

    /// The hash function in use.
    pub fn hash(&self) -> PrfHash {
        self.hash
    }

    /// Append bytes to the transcript.
    pub fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
    }

    /// The hash of everything appended so far. The transcript stays usable.
    pub fn current(&self) -> Vec<u8> {
        self.ctx.clone().finish().as_ref().to_vec()
    }
}

impl fmt::Debug for TranscriptHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TranscriptHash").field("hash", &self.hash).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_hex::{decode, encode};

    /// The widely circulated TLS 1.2 PRF vectors posted to the IETF TLS list
    /// (https://www.ietf.org/mail-archive/web/tls/current/msg03416.html), reproduced in the
    /// test suites of GnuTLS, Botan, mbedTLS and others.
    #[test]
    fn published_vectors() {
        let mut out = [0u8; 100];
        prf(
            PrfHash::Sha256,
            &decode("9bbe436ba940f017b17652849a71db35"),
            b"test label",
            &[&decode("a0ba9f936cda311827a6f796ffd5198c")],
            &mut out,
        );
        assert_eq!(
            encode(&out),
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a\
             6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab\
             4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701\
             87347b66"
        );

        let mut out = [0u8; 148];
        // Split the seed: only the concatenation matters.
        let seed = decode("cd665cf6a8447dd6ff8b27555edb7465");
        prf(
            PrfHash::Sha384,
            &decode("b80b733d6ceefcdc71566ea48e5567df"),
            b"test label",
            &[&seed[..5], &seed[5..]],
            &mut out,
        );
        assert_eq!(
            encode(&out),
            "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd\
             e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd\
             8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425\
             9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6\
             91c8f3a26854308d5eaa3be85e0990703d73e56f"
        );
    }

    /// One record of `vectors/prf/*.txt`.
    #[derive(Default)]
    struct Vector {
        hash: String,
        secret: Vec<u8>,
        label: Vec<u8>,
        seed: Vec<u8>,
        output: Vec<u8>,
    }

    /// Parse the `vectors/prf/*.txt` format: blank-line separated records of `key=hex` lines
    /// (`hash=` is `SHA256` or `SHA384`), `#` comments.
    fn vectors(text: &str) -> Vec<Vector> {
        let mut out = vec![Vector::default()];
        for line in text.lines().map(str::trim) {
            if line.starts_with('#') {
                continue;
            }
            if line.is_empty() {
                if !out.last().unwrap().hash.is_empty() {
                    out.push(Vector::default());
                }
                continue;
            }
            let v = out.last_mut().unwrap();
            let (key, value) = line.split_once('=').unwrap();
            match key {
                "hash" => v.hash = value.to_string(),
                "secret" => v.secret = decode(value),
                "label" => v.label = decode(value),
                "seed" => v.seed = decode(value),
                "output" => v.output = decode(value),
                other => panic!("unknown key {other}"),
            }
        }
        out.retain(|v| !v.hash.is_empty());
        out
    }

    /// Vectors computed with `openssl kdf ... TLS1-PRF` (see the header of each file).
    #[test]
    fn openssl_vectors() {
        let files = [include_str!("../../vectors/prf/sha256.txt"), include_str!("../../vectors/prf/sha384.txt")];
        let (mut n256, mut n384) = (0, 0);
        let mut lengths = std::collections::BTreeSet::new();
        for v in files.iter().flat_map(|t| vectors(t)) {
            let hash = match v.hash.as_str() {
                "SHA256" => {
                    n256 += 1;
                    PrfHash::Sha256
                }
                "SHA384" => {
                    n384 += 1;
                    PrfHash::Sha384
                }
                other => panic!("unknown hash {other}"),
            };
            assert!(!v.output.is_empty());
            lengths.insert(v.output.len());
            let mut out = vec![0u8; v.output.len()];
            prf(hash, &v.secret, &v.label, &[&v.seed], &mut out);
            assert_eq!(encode(&out), encode(&v.output), "{} label {:?}", v.hash, v.label);
        }
        assert!(n256 >= 3 && n384 >= 3, "{n256} {n384}");
        assert!(lengths.len() >= 4);
    }

    #[test]
    fn shorter_output_is_a_prefix() {
        let mut long = [0u8; 70];
        let mut short = [0u8; 33];
        prf(PrfHash::Sha256, b"k", b"l", &[b"s"], &mut long);
        prf(PrfHash::Sha256, b"k", b"l", &[b"s"], &mut short);
        assert_eq!(long[..33], short);
    }

    #[test]
    fn transcript_hash_reads_without_consuming() {
        let mut t = TranscriptHash::new(PrfHash::Sha384);
        assert_eq!(t.current(), PrfHash::Sha384.digest(b""));
        t.update(b"hello ");
        let mid = t.current();
        assert_eq!(mid, PrfHash::Sha384.digest(b"hello "));
        t.update(b"world");
        assert_eq!(t.current(), PrfHash::Sha384.digest(b"hello world"));
        assert_eq!(t.current().len(), PrfHash::Sha384.output_len());
        assert_eq!(PrfHash::Sha256.digest(b"abc").len(), 32);
    }
}
