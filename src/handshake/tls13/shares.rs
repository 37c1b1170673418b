//! DTLS 1.3 key shares (RFC 8446 §4.2.8): the client's ephemeral keys for each group it
//! sends a share for, and the server's one-step answer. Classical groups are ECDHE
//! ([`KeyExchange`]); X25519MLKEM768 is the hybrid of draft-ietf-tls-ecdhe-mlkem
//! ([`crate::crypto::hybrid`]). Randomness comes only from the session RNG.

use rand_core::RngCore;
use zeroize::Zeroizing;

use crate::crypto::hybrid::{self, HybridClient};
use crate::crypto::kx::{self, KeyExchange};
use crate::error::{Error, PeerIncompatible};
use crate::registry::NamedGroup;

/// True for every group a DTLS 1.3 key share can use here.
pub fn is_supported13(group: NamedGroup) -> bool {
    kx::is_supported(group) || group == NamedGroup::X25519MLKEM768
}

enum Keys {
    Ecdhe(KeyExchange),
    Hybrid(Box<HybridClient>),
}

/// The client's private half of one key share.
pub struct ClientShare {
    group: NamedGroup,
    keys: Keys,
}

impl ClientShare {
    /// Generate a share on `group`.
    pub fn generate(group: NamedGroup, rng: &mut dyn RngCore) -> Result<Self, Error> {
        let keys = if group == NamedGroup::X25519MLKEM768 {
            Keys::Hybrid(Box::new(HybridClient::generate(rng)?))
        } else {
            Keys::Ecdhe(KeyExchange::generate(group, rng)?)
        };
        Ok(Self { group, keys })
    }

    /// The group.
    pub fn group(&self) -> NamedGroup {
        self.group
    }

    /// The public value to send (`key_exchange`).
    pub fn public(&self) -> &[u8] {
        match &self.keys {
            Keys::Ecdhe(k) => k.public_key(),
            Keys::Hybrid(h) => h.share(),
        }
    }

    /// The shared secret from the server's `key_exchange`; a malformed one is
    /// `PeerMisbehaved::BadKeyShare`.
    pub fn complete(self, server_share: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        match self.keys {
            Keys::Ecdhe(k) => k.complete(server_share),
            Keys::Hybrid(h) => h.complete(server_share),
        }
    }
}

/// The server's answer to the client's share on `group`: our `key_exchange` and the shared
/// secret.
pub fn respond(
    group: NamedGroup,
    client_share: &[u8],
    rng: &mut dyn RngCore,
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), Error> {
    if group == NamedGroup::X25519MLKEM768 {
        return hybrid::server_respond(client_share, rng);
    }
    if !kx::is_supported(group) {
        return Err(PeerIncompatible::NoCommonGroup.into());
    }
    let ours = KeyExchange::generate(group, rng)?;
    let public = ours.public_key().to_vec();
    let secret = ours.complete(client_share)?;
    Ok((public, secret))
}
