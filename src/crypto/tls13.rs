//! The (D)TLS 1.3 key schedule (RFC 8446 §7.1, with DTLS 1.3's label prefix, RFC 9147
//! §5.9): HKDF-Extract and HKDF-Expand-Label over the suite's hash, the chain of secrets
//! from the (EC)DHE or hybrid shared secret to the traffic secrets, traffic keys and IVs
//! (§7.3), the record-number key (RFC 9147 §4.2.3), Finished (§4.4.4), KeyUpdate (§7.2) and
//! the exporter (§7.5).
//!
//! Every secret is held in a [`Secret`], which zeroizes itself. This module never draws
//! randomness, never reads a clock and never panics on any input: the only inputs are
//! secrets, transcript hashes and labels we choose.

use ring::{digest, hkdf, hmac};
use zeroize::Zeroizing;

use crate::error::Error;

/// The largest hash output of a 1.3 suite (SHA-384).
const MAX_HASH_LEN: usize = 48;

/// Which labels: TLS 1.3's "tls13 " or DTLS 1.3's "dtls13" (RFC 9147 §5.9: "the label
/// prefix is changed to 'dtls13'", so a DTLS key never equals a TLS one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelPrefix {
    /// RFC 8446 §7.1: `"tls13 "`.
    Tls13,
    /// RFC 9147 §5.9: `"dtls13"`.
    Dtls13,
}

impl LabelPrefix {
    fn bytes(self) -> &'static [u8] {
        match self {
            Self::Tls13 => b"tls13 ",
            Self::Dtls13 => b"dtls13",
        }
    }
}

/// The hash of a 1.3 cipher suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256.
    Sha256,
    /// TLS_AES_256_GCM_SHA384.
    Sha384,
}

impl Hash {
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }

    fn hkdf(self) -> hkdf::Algorithm {
        match self {
            Self::Sha256 => hkdf::HKDF_SHA256,
            Self::Sha384 => hkdf::HKDF_SHA384,
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha384 => hmac::HMAC_SHA384,
        }
    }

    /// The ring digest algorithm, for transcript hashes.
    pub fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
        }
    }

    /// `Hash("")`, the context of Derive-Secret(.., "derived", "") (FIPS 180-4 test values;
    /// `empty_hashes_are_the_digests_of_nothing` checks them against ring).
    fn empty(self) -> &'static [u8] {
        const SHA256_EMPTY: [u8; 32] = [
            0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae,
            0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
        ];
        const SHA384_EMPTY: [u8; 48] = [
            0x38, 0xb0, 0x60, 0xa7, 0x51, 0xac, 0x96, 0x38, 0x4c, 0xd9, 0x32, 0x7e, 0xb1, 0xb1, 0xe3, 0x6a, 0x21, 0xfd,
            0xb7, 0x11, 0x14, 0xbe, 0x07, 0x43, 0x4c, 0x0c, 0xc7, 0xbf, 0x63, 0xf6, 0xe1, 0xda, 0x27, 0x4e, 0xde, 0xbf,
            0xe7, 0x6f, 0x65, 0xfb, 0xd5, 0x1a, 0xd2, 0xf1, 0x48, 0x98, 0xb9, 0x5b,
        ];
        match self {
            Self::Sha256 => &SHA256_EMPTY,
            Self::Sha384 => &SHA384_EMPTY,
        }
    }

    /// `Hash.length` zeros: the IKM of the early secret without a PSK and of the master
    /// secret (RFC 8446 §7.1).
    fn zeros(self) -> &'static [u8] {
        const ZEROS: [u8; MAX_HASH_LEN] = [0; MAX_HASH_LEN];
        ZEROS.get(..self.output_len()).unwrap_or(&ZEROS)
    }
}

/// One secret of the schedule, as long as the suite's hash; zeroized when dropped.
#[derive(Clone)]
pub struct Secret {
    hash: Hash,
    bytes: Zeroizing<[u8; MAX_HASH_LEN]>,
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Secret").field("hash", &self.hash).finish_non_exhaustive()
    }
}

impl Secret {
    /// The secret's bytes (for the key log and tests).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.hash.output_len()).unwrap_or_default()
    }

    /// The hash this secret belongs to.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// A secret from its bytes (a key log line, a test vector): `None` unless `bytes` is
    /// exactly `hash.output_len()` long.
    pub fn from_bytes(hash: Hash, bytes: &[u8]) -> Option<Self> {
        (bytes.len() == hash.output_len()).then(|| Self::from_slice(hash, bytes))
    }

    fn from_slice(hash: Hash, bytes: &[u8]) -> Self {
        let mut out = Zeroizing::new([0u8; MAX_HASH_LEN]);
        if let Some(dst) = out.get_mut(..bytes.len().min(hash.output_len())) {
            dst.copy_from_slice(bytes.get(..dst.len()).unwrap_or_default());
        }
        Self { hash, bytes: out }
    }
}

/// RFC 5869 §2.2 HKDF-Extract(salt, IKM); an empty salt is `hash.output_len()` zeros.
pub fn extract(hash: Hash, salt: &[u8], ikm: &[u8]) -> Secret {
    let salt = if salt.is_empty() { hash.zeros() } else { salt };
    // HKDF-Extract is HMAC(salt, IKM); computed directly so the PRK's bytes are ours to keep.
    let tag = hmac::sign(&hmac::Key::new(hash.hmac(), salt), ikm);
    Secret::from_slice(hash, tag.as_ref())
}

/// The output length ring's HKDF-Expand is asked for.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// A secret set up once for any number of HKDF-Expand-Label calls: ring keeps its HMAC key
/// (the pads hashed), so each further label costs only its own HMAC.
struct Expander {
    prefix: LabelPrefix,
    hash: Hash,
    prk: hkdf::Prk,
}

impl Expander {
    fn new(prefix: LabelPrefix, secret: &Secret) -> Self {
        Self { prefix, hash: secret.hash, prk: hkdf::Prk::new_less_safe(secret.hash.hkdf(), secret.as_bytes()) }
    }

    /// RFC 8446 §7.1 HKDF-Expand-Label(this secret, Label, Context, out.len()) into `out`.
    fn fill(&self, label: &[u8], context: &[u8], out: &mut [u8]) -> Result<(), Error> {
        // struct { uint16 length; opaque label<7..255> = prefix + Label; opaque context<0..255>; }
        let full_label_len = self.prefix.bytes().len() + label.len();
        let (Ok(length), Ok(label_len), Ok(context_len)) =
            (u16::try_from(out.len()), u8::try_from(full_label_len), u8::try_from(context.len()))
        else {
            return Err(Error::Crypto("HKDF-Expand-Label argument too long"));
        };
        let length = length.to_be_bytes();
        let info: [&[u8]; 6] = [&length, &[label_len], self.prefix.bytes(), label, &[context_len], context];
        self.prk
            .expand(&info, Len(out.len()))
            .and_then(|okm| okm.fill(out))
            .map_err(|_| Error::Crypto("HKDF-Expand-Label output too long"))
    }

    /// HKDF-Expand-Label to a new secret of the hash's length (Derive-Secret when `context`
    /// is a transcript hash).
    fn secret(&self, label: &[u8], context: &[u8]) -> Result<Secret, Error> {
        let mut out = Zeroizing::new([0u8; MAX_HASH_LEN]);
        let dst = out.get_mut(..self.hash.output_len()).ok_or(Error::Crypto("hash length"))?;
        self.fill(label, context, dst)?;
        Ok(Secret { hash: self.hash, bytes: out })
    }
}

/// RFC 8446 §7.1 HKDF-Expand-Label(Secret, Label, Context, Length) with `prefix`'s label
/// prefix, into `out` (its length is `Length`, at most 255 × the hash length).
pub fn expand_label(
    prefix: LabelPrefix,
    secret: &Secret,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    Expander::new(prefix, secret).fill(label, context, out)
}

/// HKDF-Expand-Label to a new secret of the hash's length.
fn expand_secret(prefix: LabelPrefix, secret: &Secret, label: &[u8], context: &[u8]) -> Result<Secret, Error> {
    Expander::new(prefix, secret).secret(label, context)
}

/// RFC 8446 §7.1 Derive-Secret(Secret, Label, Messages), given `transcript_hash` =
/// Transcript-Hash(Messages).
pub fn derive_secret(
    prefix: LabelPrefix,
    secret: &Secret,
    label: &[u8],
    transcript_hash: &[u8],
) -> Result<Secret, Error> {
    expand_secret(prefix, secret, label, transcript_hash)
}

/// The handshake's secrets without a PSK (RFC 8446 §7.1): the early secret is
/// HKDF-Extract(0, 0), the handshake secret extracts the (EC)DHE or hybrid shared secret
/// under Derive-Secret(early, "derived", ""), the master secret extracts zeros under
/// Derive-Secret(handshake, "derived", "").
pub struct Schedule {
    handshake_secret: Secret,
    /// The handshake secret and the master secret, each set up once for its labels.
    handshake: Expander,
    master: Expander,
}

impl core::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Schedule").field("hash", &self.handshake_secret.hash).finish_non_exhaustive()
    }
}

/// The two handshake traffic secrets, `c hs traffic` and `s hs traffic`.
#[derive(Debug)]
pub struct TrafficSecrets {
    /// The client's write secret.
    pub client: Secret,
    /// The server's write secret.
    pub server: Secret,
}

/// What the master secret gives: the first application traffic secrets and the exporter
/// master secret (RFC 8446 §7.1), given Transcript-Hash(ClientHello..server Finished).
#[derive(Debug)]
pub struct ApplicationSecrets {
    /// `c ap traffic` and `s ap traffic`.
    pub traffic: TrafficSecrets,
    /// `exp master`.
    pub exporter: Secret,
}

impl Schedule {
    /// Start the schedule from the key exchange's shared secret (no PSK).
    pub fn new(prefix: LabelPrefix, hash: Hash, shared_secret: &[u8]) -> Result<Self, Error> {
        let derived = early_derived(prefix, hash)?;
        let handshake_secret = extract(hash, derived.as_bytes(), shared_secret);
        let handshake = Expander::new(prefix, &handshake_secret);
        // The master secret depends on no transcript: derived once, here.
        let derived = handshake.secret(b"derived", hash.empty())?;
        let master = Expander::new(prefix, &extract(hash, derived.as_bytes(), hash.zeros()));
        Ok(Self { handshake_secret, handshake, master })
    }

    /// The handshake secret (for tests and the key log's derivations).
    pub fn handshake_secret(&self) -> &Secret {
        &self.handshake_secret
    }

    /// The handshake traffic secrets, given Transcript-Hash(ClientHello..ServerHello).
    pub fn handshake_traffic(&self, hello_hash: &[u8]) -> Result<TrafficSecrets, Error> {
        Ok(TrafficSecrets {
            client: self.handshake.secret(b"c hs traffic", hello_hash)?,
            server: self.handshake.secret(b"s hs traffic", hello_hash)?,
        })
    }

    /// The master secret.
    pub fn master_secret(&self) -> Result<Secret, Error> {
        let hash = self.handshake_secret.hash;
        let derived = self.handshake.secret(b"derived", hash.empty())?;
        Ok(extract(hash, derived.as_bytes(), hash.zeros()))
    }

    /// The application traffic secrets and the exporter master secret, given
    /// Transcript-Hash(ClientHello..server Finished).
    pub fn application(&self, server_finished_hash: &[u8]) -> Result<ApplicationSecrets, Error> {
        let h = server_finished_hash;
        Ok(ApplicationSecrets {
            traffic: TrafficSecrets {
                client: self.master.secret(b"c ap traffic", h)?,
                server: self.master.secret(b"s ap traffic", h)?,
            },
            exporter: self.master.secret(b"exp master", h)?,
        })
    }
}

/// Derive-Secret(HKDF-Extract(0, 0), "derived", ""): without a PSK the early secret, and so
/// this, depend only on the label prefix and the hash; computed once per pair and kept (it
/// is public: anyone can compute it).
fn early_derived(prefix: LabelPrefix, hash: Hash) -> Result<Secret, Error> {
    static CACHE: [std::sync::OnceLock<Secret>; 4] = [const { std::sync::OnceLock::new() }; 4];
    let slot = match (prefix, hash) {
        (LabelPrefix::Tls13, Hash::Sha256) => 0,
        (LabelPrefix::Tls13, Hash::Sha384) => 1,
        (LabelPrefix::Dtls13, Hash::Sha256) => 2,
        (LabelPrefix::Dtls13, Hash::Sha384) => 3,
    };
    let cell = CACHE.get(slot).ok_or(Error::Crypto("schedule cache"))?;
    if let Some(s) = cell.get() {
        return Ok(s.clone());
    }
    let early = extract(hash, &[], hash.zeros());
    let derived = derive_secret(prefix, &early, b"derived", hash.empty())?;
    Ok(cell.get_or_init(|| derived).clone())
}

/// RFC 8446 §7.3 traffic keys: `key` (the AEAD key length) and `iv` (12 bytes) from a
/// traffic secret; RFC 9147 §4.2.3 adds `sn`, the record-number key, as long as the AEAD key.
#[derive(Debug)]
pub struct TrafficKeys {
    /// The AEAD key.
    pub key: Zeroizing<Vec<u8>>,
    /// The per-record nonce base.
    pub iv: [u8; 12],
    /// The record-number encryption key.
    pub sn: Zeroizing<Vec<u8>>,
}

/// Derive the traffic keys of `secret` for an AEAD key of `key_len` bytes.
pub fn traffic_keys(prefix: LabelPrefix, secret: &Secret, key_len: usize) -> Result<TrafficKeys, Error> {
    traffic_keys_from(&Expander::new(prefix, secret), key_len)
}

/// The Finished key of a handshake traffic secret (RFC 8446 §4.4.4), set up to MAC.
pub struct FinishedKey(hmac::Key);

impl core::fmt::Debug for FinishedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FinishedKey")
    }
}

impl FinishedKey {
    /// verify_data = HMAC(finished_key, Transcript-Hash(..)).
    pub fn verify_data(&self, transcript_hash: &[u8]) -> Vec<u8> {
        hmac::sign(&self.0, transcript_hash).as_ref().to_vec()
    }
}

/// A handshake traffic secret's traffic keys and Finished key, expanded from one set-up.
pub fn handshake_keys(
    prefix: LabelPrefix,
    secret: &Secret,
    key_len: usize,
) -> Result<(TrafficKeys, FinishedKey), Error> {
    let expander = Expander::new(prefix, secret);
    let keys = traffic_keys_from(&expander, key_len)?;
    let finished = expander.secret(b"finished", &[])?;
    Ok((keys, FinishedKey(hmac::Key::new(secret.hash.hmac(), finished.as_bytes()))))
}

fn traffic_keys_from(expander: &Expander, key_len: usize) -> Result<TrafficKeys, Error> {
    let mut key = Zeroizing::new(vec![0u8; key_len]);
    expander.fill(b"key", &[], &mut key)?;
    let mut iv = [0u8; 12];
    expander.fill(b"iv", &[], &mut iv)?;
    let mut sn = Zeroizing::new(vec![0u8; key_len]);
    expander.fill(b"sn", &[], &mut sn)?;
    Ok(TrafficKeys { key, iv, sn })
}

/// RFC 8446 §7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N,
/// "traffic upd", "", Hash.length).
pub fn next_traffic_secret(prefix: LabelPrefix, secret: &Secret) -> Result<Secret, Error> {
    expand_secret(prefix, secret, b"traffic upd", &[])
}

/// RFC 8446 §4.4.4: verify_data = HMAC(finished_key, Transcript-Hash(..)), finished_key =
/// HKDF-Expand-Label(base_key, "finished", "", Hash.length).
pub fn finished_verify_data(prefix: LabelPrefix, base_key: &Secret, transcript_hash: &[u8]) -> Result<Vec<u8>, Error> {
    let finished_key = expand_secret(prefix, base_key, b"finished", &[])?;
    let key = hmac::Key::new(base_key.hash.hmac(), finished_key.as_bytes());
    Ok(hmac::sign(&key, transcript_hash).as_ref().to_vec())
}

/// RFC 8446 §7.5 exporter: HKDF-Expand-Label(Derive-Secret(exporter_master, label, ""),
/// "exporter", Hash(context), out.len()).
pub fn export(
    prefix: LabelPrefix,
    exporter_master: &Secret,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let hash = exporter_master.hash;
    let per_label = derive_secret(prefix, exporter_master, label, hash.empty())?;
    let context_hash = digest::digest(hash.digest_algorithm(), context);
    expand_label(prefix, &per_label, b"exporter", context_hash.as_ref(), out)
}

#[cfg(test)]
#[path = "tls13_tests.rs"]
mod tests;
