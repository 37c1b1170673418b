//! The per-session random number generator: a deterministic Hash_DRBG with SHA-256.
//!
//! The core never uses global randomness: every session owns one [`SessionRng`], usually a
//! [`DetRng`] seeded from the OS once, or from a fixed seed in tests and simulations so that a
//! whole run is reproducible. This module owns the DRBG state; it must never read the OS
//! random source except in [`DetRng::from_os`], and never leave key material in memory after
//! drop.

use core::fmt;
use std::sync::{Arc, Mutex};

use rand_core::{CryptoRng, CryptoRngCore, OsRng, RngCore};
use ring::digest::{self, SHA256};
use zeroize::Zeroize;

use crate::error::Error;

/// The RNG a session owns. Any cryptographically secure generator will do.
pub type SessionRng = Box<dyn CryptoRngCore + Send>;

/// Personalization string mixed in when a child generator is forked.
const FORK_LABEL: &[u8] = b"dtls-engine DetRng fork";

/// seedlen for SHA-256: 440 bits (NIST SP 800-90A Rev. 1 §10.1, Table 2).
const SEEDLEN: usize = 55;

/// Hash_DRBG with SHA-256 (NIST SP 800-90A Rev. 1 §10.1.1), without reseeding, prediction
/// resistance or additional input: its output is a pure function of the seed and of the
/// sequence of requests, which is what makes simulations reproducible.
///
/// Chosen over HMAC_DRBG for its cost: a request of up to 32 bytes takes three SHA-256
/// compressions here and ten there, and a handshake makes about ten requests (two more
/// instantiations when sessions fork their generators). The state (`V`, `C`) is zeroized
/// on drop. `reseed_counter` never nears the 2^48 requests after which §10.1 requires a
/// reseed: a session makes a handful.
#[derive(Clone)]
pub struct DetRng {
    v: [u8; SEEDLEN],
    c: [u8; SEEDLEN],
    reseed_counter: u64,
}

impl DetRng {
    /// A generator whose whole output is determined by `seed`.
    ///
    /// Use a seed with 256 bits of entropy for anything but tests.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self::instantiate(&[&seed])
    }

    /// A generator seeded from the operating system's random source (once; afterwards it never
    /// touches the OS again).
    pub fn from_os() -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        OsRng.try_fill_bytes(&mut seed).map_err(|_| Error::Crypto("the OS random source failed"))?;
        let rng = Self::from_seed(seed);
        seed.zeroize();
        Ok(rng)
    }

    /// Derive an independent child generator. The parent's state advances, so two forks in a
    /// row give different children, and the child's output reveals nothing about the parent's.
    pub fn fork(&mut self) -> DetRng {
        let mut child_seed = [0u8; 32];
        self.fill_bytes(&mut child_seed);
        let child = Self::instantiate(&[&child_seed, FORK_LABEL]);
        child_seed.zeroize();
        child
    }

    /// SP 800-90A §10.1.1.2, Hash_DRBG_Instantiate_algorithm: `V = Hash_df(seed_material)`,
    /// `C = Hash_df(0x00 || V)`, `reseed_counter = 1`.
    fn instantiate(seed_material: &[&[u8]]) -> Self {
        let v = hash_df(&[], seed_material);
        let c = hash_df(&[0x00], &[&v]);
        Self { v, c, reseed_counter: 1 }
    }

    /// SP 800-90A §10.1.1.4, Hash_DRBG_Generate_algorithm (no additional input): the output
    /// is `Hashgen(V)`, then `V = V + Hash(0x03 || V) + C + reseed_counter` (mod 2^440).
    fn generate(&mut self, out: &mut [u8]) {
        // Hashgen: Hash(data), Hash(data + 1), ... with data starting at V.
        let mut data = self.v;
        let mut chunks = out.chunks_mut(SHA256.output_len()).peekable();
        while let Some(chunk) = chunks.next() {
            let w = digest::digest(&SHA256, &data);
            // Chunks are at most the digest's length.
            chunk.iter_mut().zip(w.as_ref()).for_each(|(d, s)| *d = *s);
            if chunks.peek().is_some() {
                add_mod(&mut data, &[&[1]]);
            }
        }
        data.zeroize();
        let mut ctx = digest::Context::new(&SHA256);
        ctx.update(&[0x03]);
        ctx.update(&self.v);
        let h = ctx.finish();
        add_mod(&mut self.v, &[h.as_ref(), &self.c, &self.reseed_counter.to_be_bytes()]);
        self.reseed_counter += 1;
    }
}

/// SP 800-90A §10.3.1, Hash_df for seedlen bits: `Hash(counter || 440 || input)` for
/// counter 1 and 2, truncated to 55 bytes. `input` is `prefix` followed by `parts`.
fn hash_df(prefix: &[u8], parts: &[&[u8]]) -> [u8; SEEDLEN] {
    let bits = ((SEEDLEN * 8) as u32).to_be_bytes();
    let mut out = [0u8; SEEDLEN];
    for (counter, chunk) in (1u8..).zip(out.chunks_mut(SHA256.output_len())) {
        let mut ctx = digest::Context::new(&SHA256);
        ctx.update(&[counter]);
        ctx.update(&bits);
        ctx.update(prefix);
        parts.iter().for_each(|p| ctx.update(p));
        // Chunks are at most the digest's length.
        chunk.iter_mut().zip(ctx.finish().as_ref()).for_each(|(d, s)| *d = *s);
    }
    out
}

/// `acc = (acc + x + y + ...) mod 2^440` in one pass, all big-endian; each addend is at
/// most 55 bytes long (and there are few: a column sum stays far below 2^32).
fn add_mod(acc: &mut [u8; SEEDLEN], addends: &[&[u8]]) {
    let mut carry = 0u32;
    for (i, a) in acc.iter_mut().rev().enumerate() {
        let column: u32 = addends
            .iter()
            .filter_map(|x| x.len().checked_sub(i + 1).and_then(|j| x.get(j)))
            .map(|&b| u32::from(b))
            .sum();
        let sum = u32::from(*a) + column + carry;
        *a = sum as u8;
        carry = sum >> 8;
    }
}

impl RngCore for DetRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.generate(&mut b);
        u32::from_be_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.generate(&mut b);
        u64::from_be_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.generate(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.generate(dest);
        Ok(())
    }
}

impl CryptoRng for DetRng {}

impl Drop for DetRng {
    fn drop(&mut self) {
        self.v.zeroize();
        self.c.zeroize();
    }
}

/// A handle on a generator shared by every session of one configuration: each request locks
/// it, draws, and unlocks.
///
/// Sessions draw from their configuration's generator instead of owning a fork of it: a
/// fork is a Hash_DRBG instantiation (eleven SHA-256 compressions, about 28 k instructions,
/// half the generator's cost in a handshake), while a session makes only a handful of
/// requests (its random, its key shares, a signature's nonce). A seeded configuration still
/// gives reproducible runs: the streams follow the order of the requests, which a
/// deterministic simulation fixes. The lock is held for one request (a few SHA-256
/// compressions), never across a public-key operation.
#[derive(Clone)]
pub struct SharedRng(Arc<Mutex<DetRng>>);

impl SharedRng {
    /// Share `rng`.
    pub fn new(rng: DetRng) -> Self {
        Self(Arc::new(Mutex::new(rng)))
    }

    /// Run `f` on the generator (a poisoned lock is taken over: the DRBG's state is valid
    /// between requests whatever the panicking thread did).
    fn with<T>(&self, f: impl FnOnce(&mut DetRng) -> T) -> T {
        match self.0.lock() {
            Ok(mut g) => f(&mut g),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// An independent generator of its own, forked from the shared one.
    pub fn fork(&self) -> DetRng {
        self.with(DetRng::fork)
    }
}

impl RngCore for SharedRng {
    fn next_u32(&mut self) -> u32 {
        self.with(|g| g.next_u32())
    }

    fn next_u64(&mut self) -> u64 {
        self.with(|g| g.next_u64())
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.with(|g| g.generate(dest))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.with(|g| g.generate(dest));
        Ok(())
    }
}

impl CryptoRng for SharedRng {}

impl fmt::Debug for SharedRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedRng { .. }")
    }
}

impl fmt::Debug for DetRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DetRng { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(rng: &mut DetRng, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        rng.fill_bytes(&mut v);
        v
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = DetRng::from_seed([7; 32]);
        let mut b = DetRng::from_seed([7; 32]);
        assert_eq!(bytes(&mut a, 100), bytes(&mut b, 100));
        assert_eq!(a.next_u64(), b.next_u64());
        assert_eq!(a.next_u32(), b.next_u32());
    }

    #[test]
    fn different_seeds_differ() {
        let mut a = DetRng::from_seed([7; 32]);
        let mut b = DetRng::from_seed([8; 32]);
        assert_ne!(bytes(&mut a, 32), bytes(&mut b, 32));
    }

    #[test]
    fn successive_outputs_differ() {
        let mut a = DetRng::from_seed([0; 32]);
        let x = bytes(&mut a, 32);
        let y = bytes(&mut a, 32);
        assert_ne!(x, y);
        assert_ne!(x, [0u8; 32]);
    }

    #[test]
    fn forks_are_deterministic_and_independent() {
        let mut p1 = DetRng::from_seed([1; 32]);
        let mut p2 = DetRng::from_seed([1; 32]);
        let mut c1 = p1.fork();
        let mut c2 = p2.fork();
        assert_eq!(bytes(&mut c1, 48), bytes(&mut c2, 48));
        let mut c3 = p1.fork();
        let mut c1_again = p2.fork();
        assert_eq!(bytes(&mut c3, 16), bytes(&mut c1_again, 16));
        let mut fresh_child = DetRng::from_seed([1; 32]).fork();
        let mut parent = DetRng::from_seed([1; 32]);
        assert_ne!(bytes(&mut fresh_child, 32), bytes(&mut parent, 32));
    }

    /// Handles on one shared generator draw one stream between them, in request order.
    #[test]
    fn shared_handles_draw_one_stream() {
        let mut direct = DetRng::from_seed([4; 32]);
        let shared = SharedRng::new(DetRng::from_seed([4; 32]));
        let (mut a, mut b) = (shared.clone(), shared.clone());
        let mut x = [0u8; 20];
        a.fill_bytes(&mut x);
        assert_eq!(x.to_vec(), bytes(&mut direct, 20));
        let mut y = [0u8; 7];
        b.fill_bytes(&mut y);
        assert_eq!(y.to_vec(), bytes(&mut direct, 7));
        assert_eq!(a.next_u64(), direct.next_u64());
        let mut child = shared.fork();
        assert_eq!(bytes(&mut child, 16), bytes(&mut direct.fork(), 16));
    }

    #[test]
    fn os_seeded_generators_differ() {
        let mut a = DetRng::from_os().unwrap();
        let mut b = DetRng::from_os().unwrap();
        assert_ne!(bytes(&mut a, 32), bytes(&mut b, 32));
    }

    #[test]
    fn usable_as_session_rng() {
        let mut rng: SessionRng = Box::new(DetRng::from_seed([3; 32]));
        let mut buf = [0u8; 5];
        rng.fill_bytes(&mut buf);
        assert_ne!(buf, [0u8; 5]);
    }

    /// Pin the stream against an independent implementation of SP 800-90A Hash_DRBG with
    /// SHA-256 (a few lines of Python `hashlib` with integer arithmetic for the additions,
    /// seed material = the seed), so it never changes silently: simulations and recorded
    /// traces depend on it. The last case makes a thousand 33-byte requests first (two
    /// Hashgen blocks each, the counter and the carries of `V` at work).
    #[test]
    fn stream_matches_reference_hash_drbg() {
        let mut a = DetRng::from_seed([0; 32]);
        assert_eq!(
            hex(&bytes(&mut a, 40)),
            "e887d223480cc9ab4fd38645356bb7c9dd928281da98a84567e6352464c3b3feba0e22fcaa42a1c3"
        );
        assert_eq!(hex(&bytes(&mut a, 8)), "154ac870c9015f0f");
        let mut child = DetRng::from_seed([1; 32]).fork();
        assert_eq!(hex(&bytes(&mut child, 16)), "ac1016f5a44c6e35946933e63cbe7d6d");
        let mut b = DetRng::from_seed([0xff; 32]);
        for _ in 0..1000 {
            bytes(&mut b, 33);
        }
        assert_eq!(
            hex(&bytes(&mut b, 100)),
            "c457d78aa4c2c2319e0631d981eef47a011965f7a33083f7a35bb9131631a31c547189fcb9005e402eda022f\
             194394be65122de3a346a7920b632edd070aef08e565358de1d583587b9d6b0c3eccf41d45c51bd41a8247be\
             57d9c408a79d666a87d94247"
        );
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// NIST CAVP known answers (DRBGVS, CAVS 14.3, `drbgvectors_no_reseed/Hash_DRBG.rsp`,
    /// `[SHA-256]`, no prediction resistance, no additional input, COUNT = 0, without and with
    /// a personalization string): instantiate with entropy || nonce || personalization,
    /// generate 1024 bits twice, the second output is ReturnedBits.
    #[test]
    fn nist_cavp_hash_drbg_sha256() {
        let cases = [
            (
                "a65ad0f345db4e0effe875c3a2e71f42c7129d620ff5c119a9ef55f05185e0fb",
                "8581f9317517276e06e9607ddbcbcc2e",
                "",
                "d3e160c35b99f340b2628264d1751060e0045da383ff57a57d73a673d2b8d80daaf6a6c35a91bb4579d73fd0\
                 c8fed111b0391306828adfed528f018121b3febdc343e797b87dbb63db1333ded9d1ece177cfa6b71fe8ab1d\
                 a46624ed6415e51ccde2c7ca86e283990eeaeb91120415528b2295910281b02dd431f4c9f70427df",
            ),
            (
                "dfeabab904bfe93a37bb5b1ea4a696f881ab5ab4be87ffbf2d4e8cdfaabb37fd",
                "a2d458b475053a0346b57fc518849ba1",
                "d15d5d9a4a3a41877b4ea98dbda5079ee393f6ab24105dbd70f5bf145772b15c",
                "86d8c63ed4a8a19f3429b4dd57ede5ca573e861712e631400645ceee763c37cf950bdcc4d9c886ead3f0f1bf\
                 46a63bf22bd2eb39b2dac61d2e8c8f29e26045b3db56b2265adc8152d4f736c09ee90364a1e265eb5e77b0c5\
                 988c8fa52717fd33b6da760e78f2a7c27065227c47ac2134b95b7dadbf96e4ea2dad78ef200e174b",
            ),
        ];
        for (entropy, nonce, personalization, returned) in cases {
            let (e, n, p) = (unhex(entropy), unhex(nonce), unhex(personalization));
            let mut drbg = DetRng::instantiate(&[&e, &n, &p]);
            let mut out = [0u8; 128];
            drbg.generate(&mut out);
            drbg.generate(&mut out);
            assert_eq!(hex(&out), returned);
        }
    }

    /// `V + x` wraps modulo 2^440 and carries across bytes.
    #[test]
    fn add_mod_carries_and_wraps() {
        let mut acc = [0xff; SEEDLEN];
        add_mod(&mut acc, &[&[1]]);
        assert_eq!(acc, [0; SEEDLEN]);
        let mut acc = [0; SEEDLEN];
        acc[SEEDLEN - 1] = 0xff;
        add_mod(&mut acc, &[&[0x01, 0x01]]);
        assert_eq!(acc[SEEDLEN - 3..], [0x00, 0x02, 0x00]);
        // Three addends at once: 0xff + 0xff + 0xff + 0x03 = 0x300.
        let mut acc = [0; SEEDLEN];
        acc[SEEDLEN - 1] = 0x03;
        add_mod(&mut acc, &[&[0xff], &[0xff], &[0xff]]);
        assert_eq!(acc[SEEDLEN - 2..], [0x03, 0x00]);
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
