//! X25519MLKEM768, the hybrid key exchange of draft-ietf-tls-ecdhe-mlkem §3 (TLS 1.3 only):
//! ML-KEM-768 (FIPS 203) combined with X25519.
//!
//! - The client's key share is the ML-KEM encapsulation key (1,184 bytes) followed by its
//!   X25519 public value (32 bytes).
//! - The server checks the encapsulation key (FIPS 203 §7.2 modulus check), encapsulates to
//!   it and answers with the ML-KEM ciphertext (1,088 bytes) followed by its own X25519
//!   public value.
//! - Both sides' shared secret is the ML-KEM shared secret followed by the X25519 one
//!   (32 + 32 bytes), the input of the 1.3 key schedule.
//!
//! ML-KEM comes from `libcrux-ml-kem`; X25519 from ring through [`KeyExchange`]. Randomness
//! comes only from the RNG passed in. A malformed share from the peer (wrong length, an
//! encapsulation key that fails the check, an all-zero X25519 output) is
//! `PeerMisbehaved::BadKeyShare`; nothing here panics.

use libcrux_ml_kem::mlkem768;
use rand_core::RngCore;
use zeroize::Zeroizing;

use crate::crypto::kx::KeyExchange;
use crate::error::{Error, PeerMisbehaved};
use crate::registry::NamedGroup;

/// Bytes of an ML-KEM-768 encapsulation key.
pub const MLKEM768_EK_LEN: usize = 1184;
/// Bytes of an ML-KEM-768 ciphertext.
pub const MLKEM768_CT_LEN: usize = 1088;
const X25519_LEN: usize = 32;
/// Bytes of the client's key share.
pub const CLIENT_SHARE_LEN: usize = MLKEM768_EK_LEN + X25519_LEN;
/// Bytes of the server's key share.
pub const SERVER_SHARE_LEN: usize = MLKEM768_CT_LEN + X25519_LEN;

/// The client's half: an ML-KEM-768 key pair and an X25519 ephemeral key.
pub struct HybridClient {
    mlkem: mlkem768::MlKem768KeyPair,
    x25519: KeyExchange,
    share: Vec<u8>,
}

impl core::fmt::Debug for HybridClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HybridClient").finish_non_exhaustive()
    }
}

impl HybridClient {
    /// Generate both key pairs from `rng`.
    pub fn generate(rng: &mut dyn RngCore) -> Result<Self, Error> {
        let mut seed = Zeroizing::new([0u8; 64]);
        rng.fill_bytes(&mut *seed);
        let mlkem = mlkem768::generate_key_pair(*seed);
        let x25519 = KeyExchange::generate(NamedGroup::X25519, rng)?;
        let mut share = Vec::with_capacity(CLIENT_SHARE_LEN);
        share.extend_from_slice(mlkem.public_key().as_slice());
        share.extend_from_slice(x25519.public_key());
        Ok(Self { mlkem, x25519, share })
    }

    /// The key share to send: encapsulation key, then X25519 public value.
    pub fn share(&self) -> &[u8] {
        &self.share
    }

    /// Complete with the server's share (ciphertext, then X25519 public value).
    pub fn complete(self, server_share: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        if server_share.len() != SERVER_SHARE_LEN {
            return Err(PeerMisbehaved::BadKeyShare.into());
        }
        let (ct, x25519_public) = server_share.split_at(MLKEM768_CT_LEN);
        let ct: [u8; MLKEM768_CT_LEN] = ct.try_into().map_err(|_| PeerMisbehaved::BadKeyShare)?;
        let mlkem_secret = mlkem768::decapsulate(self.mlkem.private_key(), &mlkem768::MlKem768Ciphertext::from(ct));
        let x25519_secret = self.x25519.complete(x25519_public)?;
        Ok(combine(mlkem_secret.as_ref(), &x25519_secret))
    }
}

/// The server's side in one step: check and encapsulate to the client's share, agree on
/// X25519, and return our share with the shared secret.
pub fn server_respond(client_share: &[u8], rng: &mut dyn RngCore) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), Error> {
    if client_share.len() != CLIENT_SHARE_LEN {
        return Err(PeerMisbehaved::BadKeyShare.into());
    }
    let (ek, x25519_public) = client_share.split_at(MLKEM768_EK_LEN);
    let ek: [u8; MLKEM768_EK_LEN] = ek.try_into().map_err(|_| PeerMisbehaved::BadKeyShare)?;
    let ek = mlkem768::MlKem768PublicKey::from(ek);
    // FIPS 203 §7.2: the encapsulation key's coefficients must be reduced modulo q.
    if !mlkem768::validate_public_key(&ek) {
        return Err(PeerMisbehaved::BadKeyShare.into());
    }
    let mut randomness = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut *randomness);
    let (ct, mlkem_secret) = mlkem768::encapsulate(&ek, *randomness);
    let x25519 = KeyExchange::generate(NamedGroup::X25519, rng)?;
    let mut share = Vec::with_capacity(SERVER_SHARE_LEN);
    share.extend_from_slice(ct.as_ref());
    share.extend_from_slice(x25519.public_key());
    let x25519_secret = x25519.complete(x25519_public)?;
    Ok((share, combine(mlkem_secret.as_ref(), &x25519_secret)))
}

/// draft-ietf-tls-ecdhe-mlkem §3: the ML-KEM shared secret first, then X25519's.
fn combine(mlkem: &[u8], x25519: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(mlkem.len() + x25519.len()));
    out.extend_from_slice(mlkem);
    out.extend_from_slice(x25519);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rng::DetRng;

    #[test]
    fn both_sides_agree_and_shares_have_the_draft_layout() {
        let mut rng = DetRng::from_seed([3; 32]);
        let client = HybridClient::generate(&mut rng).unwrap();
        assert_eq!(client.share().len(), 1216);
        let (server_share, server_secret) = server_respond(client.share(), &mut rng).unwrap();
        assert_eq!(server_share.len(), 1120);
        let client_secret = client.complete(&server_share).unwrap();
        assert_eq!(*client_secret, *server_secret);
        assert_eq!(client_secret.len(), 64);
    }

    #[test]
    fn the_secret_is_mlkem_then_x25519() {
        // The X25519 half, computed again from the two public values with ring, must be the
        // last 32 bytes of the combined secret.
        let mut rng = DetRng::from_seed([8; 32]);
        let client = HybridClient::generate(&mut rng).unwrap();
        let client_x25519 = client.share()[MLKEM768_EK_LEN..].to_vec();
        let mut server_rng = DetRng::from_seed([9; 32]);
        let (server_share, secret) = server_respond(client.share(), &mut server_rng).unwrap();
        // Regenerate the server's X25519 key: it draws after the 32 bytes of encapsulation
        // randomness.
        let mut replay = DetRng::from_seed([9; 32]);
        replay.fill_bytes(&mut [0u8; 32]);
        let server_x25519 = KeyExchange::generate(NamedGroup::X25519, &mut replay).unwrap();
        assert_eq!(server_x25519.public_key(), &server_share[MLKEM768_CT_LEN..]);
        assert_eq!(&secret[32..], &server_x25519.complete(&client_x25519).unwrap()[..]);
    }

    #[test]
    fn deterministic_in_the_rng() {
        let a = HybridClient::generate(&mut DetRng::from_seed([1; 32])).unwrap();
        let b = HybridClient::generate(&mut DetRng::from_seed([1; 32])).unwrap();
        let c = HybridClient::generate(&mut DetRng::from_seed([2; 32])).unwrap();
        assert_eq!(a.share(), b.share());
        assert_ne!(a.share(), c.share());
    }

    #[test]
    fn malformed_shares_are_bad_key_share() {
        let bad = Error::PeerMisbehaved(PeerMisbehaved::BadKeyShare);
        let mut rng = DetRng::from_seed([5; 32]);
        let client = HybridClient::generate(&mut rng).unwrap();
        for len in [0, 32, CLIENT_SHARE_LEN - 1, CLIENT_SHARE_LEN + 1] {
            assert_eq!(server_respond(&vec![1; len], &mut rng).unwrap_err(), bad, "client share of {len}");
        }
        // An encapsulation key with a coefficient of 0xfff (≥ q = 3329) fails the check.
        let mut unreduced = client.share().to_vec();
        unreduced[0] = 0xff;
        unreduced[1] |= 0x0f;
        assert_eq!(server_respond(&unreduced, &mut rng).unwrap_err(), bad);
        // An X25519 half that is a small-order point (all zeros) gives an all-zero output.
        let mut small_order = client.share().to_vec();
        small_order[MLKEM768_EK_LEN..].fill(0);
        assert_eq!(server_respond(&small_order, &mut rng).unwrap_err(), bad);
        for len in [0, SERVER_SHARE_LEN - 1, SERVER_SHARE_LEN + 1] {
            let c = HybridClient::generate(&mut rng).unwrap();
            assert_eq!(c.complete(&vec![1; len]).unwrap_err(), bad, "server share of {len}");
        }
    }

    #[test]
    fn a_tampered_ciphertext_gives_another_secret() {
        // ML-KEM's implicit rejection: decapsulating a modified ciphertext yields a
        // pseudorandom secret, so the handshake fails at Finished, not here.
        let mut rng = DetRng::from_seed([6; 32]);
        let client = HybridClient::generate(&mut rng).unwrap();
        let (mut server_share, server_secret) = server_respond(client.share(), &mut rng).unwrap();
        server_share[10] ^= 1;
        let client_secret = client.complete(&server_share).unwrap();
        assert_ne!(*client_secret, *server_secret);
        assert_eq!(client_secret[32..], server_secret[32..]);
    }
}
