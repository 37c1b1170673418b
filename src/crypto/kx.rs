//! Ephemeral elliptic-curve Diffie-Hellman (ECDHE, RFC 8422) over X25519, P-256 and P-384.
//!
//! This module owns our ephemeral private key from generation to the shared secret. It must
//! never draw randomness from anywhere but the session RNG it is given, never reuse a private
//! key (completing consumes it), and never panic on a peer's public value.

use core::fmt;

use rand_core::RngCore;
use ring::agreement;
use zeroize::Zeroizing;

use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::registry::NamedGroup;

/// The groups we can do ECDHE with, in our order of preference.
pub const SUPPORTED_GROUPS: &[NamedGroup] = &[NamedGroup::X25519, NamedGroup::Secp256r1, NamedGroup::Secp384r1];

/// True for the groups [`KeyExchange::generate`] accepts.
pub fn is_supported(group: NamedGroup) -> bool {
    SUPPORTED_GROUPS.contains(&group)
}

/// The ring algorithm for a group and the number of random bytes ring asks for when it
/// generates a private key on it.
///
/// Checked against ring 0.17.14 (`src/ec/keys.rs` `Seed::generate`, which fills
/// `curve.elem_scalar_seed_len` bytes exactly once per attempt): X25519 fills 32 bytes
/// (`x25519_generate_private_key`), P-256 32 and P-384 48 (`generate_private_scalar_bytes` on
/// `ops.common.len()`).
fn ring_params(group: NamedGroup) -> Option<(&'static agreement::Algorithm, usize)> {
    match group {
        NamedGroup::X25519 => Some((&agreement::X25519, 32)),
        NamedGroup::Secp256r1 => Some((&agreement::ECDH_P256, 32)),
        NamedGroup::Secp384r1 => Some((&agreement::ECDH_P384, 48)),
        _ => None,
    }
}

/// Our half of one ECDHE exchange: an ephemeral private key and its public value.
pub struct KeyExchange {
    group: NamedGroup,
    algorithm: &'static agreement::Algorithm,
    private: agreement::EphemeralPrivateKey,
    public: Vec<u8>,
}

impl KeyExchange {
    /// Generate an ephemeral key pair on `group`, with randomness from `rng` only.
    ///
    /// An unsupported group gives `PeerIncompatible::NoCommonGroup`.
    pub fn generate(group: NamedGroup, rng: &mut dyn RngCore) -> Result<Self, Error> {
        let (algorithm, seed_len) = ring_params(group).ok_or(PeerIncompatible::NoCommonGroup)?;
        let mut seed = Zeroizing::new([0u8; 48]);
        // seed_len is 32 or 48 (`ring_params`), never beyond the array.
        let seed = seed.get_mut(..seed_len).ok_or(Error::Crypto("seed length"))?;
        rng.fill_bytes(seed);

        // ring's `SecureRandom` is sealed, and the core must not use the system RNG, so we hand
        // ring exactly the bytes it will ask for through `FixedSliceRandom`, ring's (hidden,
        // deprecated) test helper. It panics if asked for a different length; `ring_params`
        // pins the lengths ring 0.17 requests. If the bytes are not a valid scalar (P-256/P-384,
        // probability < 2^-32), ring retries with the same bytes and fails: that is an error
        // here, never a loop.
        #[allow(deprecated)]
        let fixed = ring::test::rand::FixedSliceRandom { bytes: seed };
        let private = agreement::EphemeralPrivateKey::generate(algorithm, &fixed)
            .map_err(|_| Error::Crypto("ECDHE private key generation failed"))?;
        let public = private
            .compute_public_key()
            .map_err(|_| Error::Crypto("ECDHE public key computation failed"))?
            .as_ref()
            .to_vec();
        Ok(Self { group, algorithm, private, public })
    }

    /// The group of this exchange.
    pub fn group(&self) -> NamedGroup {
        self.group
    }

    /// Our public value as it goes on the wire: 32 bytes for X25519 (RFC 8422 §5.11), the
    /// uncompressed point `0x04 || X || Y` for the NIST curves (RFC 8422 §5.4.1).
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// Complete the exchange with the peer's public value, giving the premaster secret.
    ///
    /// RFC 8422 §5.10: the premaster secret is the x-coordinate of the shared point (NIST
    /// curves), or the X25519 output. RFC 8422 §5.11 and RFC 7748 §6.1: an all-zero X25519
    /// output MUST be rejected (ring does). ring validates that NIST points are on the curve
    /// and uncompressed. Any failure is `PeerMisbehaved::BadKeyShare`.
    pub fn complete(self, peer_public: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let peer = agreement::UnparsedPublicKey::new(self.algorithm, peer_public);
        agreement::agree_ephemeral(self.private, &peer, |secret| Zeroizing::new(secret.to_vec()))
            .map_err(|_| PeerMisbehaved::BadKeyShare.into())
    }
}

impl fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyExchange").field("group", &self.group).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rng::DetRng;

    #[test]
    fn both_sides_agree_on_every_group() {
        let mut rng = DetRng::from_seed([9; 32]);
        for &group in SUPPORTED_GROUPS {
            let a = KeyExchange::generate(group, &mut rng).unwrap();
            let b = KeyExchange::generate(group, &mut rng).unwrap();
            assert_eq!(a.group(), group);
            let expected_len = match group {
                NamedGroup::X25519 => 32,
                NamedGroup::Secp256r1 => 65,
                _ => 97,
            };
            assert_eq!(a.public_key().len(), expected_len);
            if group != NamedGroup::X25519 {
                assert_eq!(a.public_key()[0], 0x04);
            }
            let (pa, pb) = (a.public_key().to_vec(), b.public_key().to_vec());
            let s1 = a.complete(&pb).unwrap();
            let s2 = b.complete(&pa).unwrap();
            assert_eq!(*s1, *s2);
            assert_eq!(s1.len(), if group == NamedGroup::Secp384r1 { 48 } else { 32 });
        }
    }

    #[test]
    fn generation_is_deterministic_in_the_rng() {
        for &group in SUPPORTED_GROUPS {
            let a = KeyExchange::generate(group, &mut DetRng::from_seed([4; 32])).unwrap();
            let b = KeyExchange::generate(group, &mut DetRng::from_seed([4; 32])).unwrap();
            let c = KeyExchange::generate(group, &mut DetRng::from_seed([5; 32])).unwrap();
            assert_eq!(a.public_key(), b.public_key());
            assert_ne!(a.public_key(), c.public_key());
        }
    }

    #[test]
    fn works_with_a_boxed_session_rng() {
        let mut rng: crate::crypto::SessionRng = Box::new(DetRng::from_seed([6; 32]));
        let kx = KeyExchange::generate(NamedGroup::X25519, &mut *rng).unwrap();
        assert_eq!(kx.public_key().len(), 32);
    }

    #[test]
    fn unsupported_group_is_no_common_group() {
        let mut rng = DetRng::from_seed([0; 32]);
        for group in [NamedGroup::X448, NamedGroup::Secp521r1, NamedGroup::Unknown(0x1234)] {
            assert!(!is_supported(group));
            assert_eq!(
                KeyExchange::generate(group, &mut rng).unwrap_err(),
                Error::PeerIncompatible(PeerIncompatible::NoCommonGroup)
            );
        }
    }

    #[test]
    fn bad_peer_points_are_bad_key_share() {
        let mut rng = DetRng::from_seed([1; 32]);
        let bad = Error::PeerMisbehaved(PeerMisbehaved::BadKeyShare);
        for &group in SUPPORTED_GROUPS {
            let len = KeyExchange::generate(group, &mut rng).unwrap().public_key().len();
            let mut off_curve = vec![0x04; len];
            off_curve[1] = 0x01;
            let mut compressed = KeyExchange::generate(group, &mut rng).unwrap().public_key()[..len / 2 + 1].to_vec();
            compressed[0] = 0x02;
            let candidates: Vec<Vec<u8>> = vec![
                Vec::new(),
                vec![0; len - 1],
                vec![0; len + 1],
                vec![0; len], // X25519: small-order point, all-zero output; NIST: not a point
                off_curve,
                compressed,
            ];
            for peer in candidates {
                let ours = KeyExchange::generate(group, &mut rng).unwrap();
                if group == NamedGroup::X25519 && peer.len() == 32 && peer[0] == 0x04 {
                    continue; // an arbitrary 32-byte string is a valid X25519 input
                }
                assert_eq!(ours.complete(&peer).unwrap_err(), bad, "{group:?} {peer:02x?}");
            }
        }
    }
}
