//! DTLS-SRTP (RFC 5764) with the AEAD profiles of RFC 7714: profile selection, MKI rules,
//! and the split of the exported keying material into per-direction key and salt.

use zeroize::Zeroize;

use crate::error::{Error, PeerMisbehaved};
use crate::wire::SrtpProtectionProfile;

/// The exporter label for SRTP keys (RFC 5764 §4.2).
pub const EXPORTER_LABEL: &[u8] = b"EXTRACTOR-dtls_srtp";

/// Profiles we support, in our default preference order.
pub static SUPPORTED_PROFILES: &[SrtpProtectionProfile] = &[
    SrtpProtectionProfile::SRTP_AEAD_AES_128_GCM,
    SrtpProtectionProfile::SRTP_AEAD_AES_256_GCM,
    SrtpProtectionProfile::SRTP_AES128_CM_SHA1_80,
    SrtpProtectionProfile::SRTP_AES128_CM_SHA1_32,
];

/// Master key and master salt lengths of a profile (RFC 5764 §4.1.2, RFC 7714 §12).
pub fn key_salt_len(profile: SrtpProtectionProfile) -> Option<(usize, usize)> {
    use SrtpProtectionProfile as P;
    match profile {
        P::SRTP_AES128_CM_SHA1_80 | P::SRTP_AES128_CM_SHA1_32 => Some((16, 14)),
        P::SRTP_AEAD_AES_128_GCM => Some((16, 12)),
        P::SRTP_AEAD_AES_256_GCM => Some((32, 12)),
        _ => None,
    }
}

/// The profile's registered name (`SRTP_AES128_CM_SHA1_80`, ...).
pub fn profile_name(profile: SrtpProtectionProfile) -> &'static str {
    use SrtpProtectionProfile as P;
    match profile {
        P::SRTP_AES128_CM_SHA1_80 => "SRTP_AES128_CM_SHA1_80",
        P::SRTP_AES128_CM_SHA1_32 => "SRTP_AES128_CM_SHA1_32",
        P::SRTP_AEAD_AES_128_GCM => "SRTP_AEAD_AES_128_GCM",
        P::SRTP_AEAD_AES_256_GCM => "SRTP_AEAD_AES_256_GCM",
        _ => "unknown",
    }
}

/// A profile by its registered name (case-insensitive).
pub fn profile_by_name(name: &str) -> Option<SrtpProtectionProfile> {
    SUPPORTED_PROFILES.iter().copied().find(|p| profile_name(*p).eq_ignore_ascii_case(name))
}

/// Server side (RFC 5764 §4.1.1): the first of our profiles the client offered, or none
/// (then the extension is not answered and the handshake goes on without SRTP).
pub fn select(ours: &[SrtpProtectionProfile], offered: &[SrtpProtectionProfile]) -> Option<SrtpProtectionProfile> {
    ours.iter().copied().find(|p| offered.contains(p))
}

/// Client side (RFC 5764 §4.1.1): the server must pick exactly one offered profile, and
/// its MKI must be empty or equal to ours ("the client MUST abort the handshake").
pub fn check_answer(
    offered: &[SrtpProtectionProfile],
    our_mki: &[u8],
    profiles: &[SrtpProtectionProfile],
    mki: &[u8],
) -> Result<SrtpProtectionProfile, Error> {
    match profiles {
        [one] if offered.contains(one) && (mki.is_empty() || mki == our_mki) => Ok(*one),
        // RFC 5764 §4.1.1: an MKI other than ours "MUST abort the handshake and SHOULD send
        // an invalid_parameter alert"; a profile we did not offer is the same kind of fault.
        _ => Err(PeerMisbehaved::BadSrtpAnswer.into()),
    }
}

/// SRTP master keys and salts for both directions (RFC 5764 §4.2).
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeyingMaterial {
    /// The negotiated protection profile.
    pub profile: SrtpProtectionProfile,
    /// The client's SRTP master key.
    pub client_key: Vec<u8>,
    /// The client's SRTP master salt.
    pub client_salt: Vec<u8>,
    /// The server's SRTP master key.
    pub server_key: Vec<u8>,
    /// The server's SRTP master salt.
    pub server_salt: Vec<u8>,
}

impl core::fmt::Debug for SrtpKeyingMaterial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SrtpKeyingMaterial").field("profile", &self.profile).finish_non_exhaustive()
    }
}

impl Drop for SrtpKeyingMaterial {
    fn drop(&mut self) {
        self.client_key.zeroize();
        self.client_salt.zeroize();
        self.server_key.zeroize();
        self.server_salt.zeroize();
    }
}

impl SrtpKeyingMaterial {
    /// Split the exporter output: client_write_SRTP_master_key, server_write_SRTP_master_key,
    /// client_write_SRTP_master_salt, server_write_SRTP_master_salt (RFC 5764 §4.2).
    pub fn split(profile: SrtpProtectionProfile, material: &[u8]) -> Option<Self> {
        let (k, s) = key_salt_len(profile)?;
        if material.len() != 2 * (k + s) {
            return None;
        }
        let (ck, rest) = material.split_at(k);
        let (sk, rest) = rest.split_at(k);
        let (cs, ss) = rest.split_at(s);
        Some(Self {
            profile,
            client_key: ck.to_vec(),
            server_key: sk.to_vec(),
            client_salt: cs.to_vec(),
            server_salt: ss.to_vec(),
        })
    }

    /// The raw exporter output (client key, server key, client salt, server salt), as
    /// OpenSSL's `-keymatexport EXTRACTOR-dtls_srtp` prints it.
    pub fn to_bytes(&self) -> Vec<u8> {
        [&self.client_key[..], &self.server_key, &self.client_salt, &self.server_salt].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SrtpProtectionProfile as P;

    #[test]
    fn split_follows_rfc_5764_order() {
        let m: Vec<u8> = (0..60).collect();
        let k = SrtpKeyingMaterial::split(P::SRTP_AES128_CM_SHA1_80, &m).unwrap();
        assert_eq!(k.client_key, (0..16).collect::<Vec<u8>>());
        assert_eq!(k.server_key, (16..32).collect::<Vec<u8>>());
        assert_eq!(k.client_salt, (32..46).collect::<Vec<u8>>());
        assert_eq!(k.server_salt, (46..60).collect::<Vec<u8>>());
        assert_eq!(k.to_bytes(), m);
        assert!(SrtpKeyingMaterial::split(P::SRTP_AEAD_AES_256_GCM, &m).is_none());
    }

    #[test]
    fn selection_and_mki_rules() {
        assert_eq!(
            select(
                &[P::SRTP_AEAD_AES_128_GCM, P::SRTP_AES128_CM_SHA1_80],
                &[P::SRTP_AES128_CM_SHA1_80, P::SRTP_AEAD_AES_128_GCM]
            ),
            Some(P::SRTP_AEAD_AES_128_GCM)
        );
        assert_eq!(select(&[P::SRTP_AEAD_AES_128_GCM], &[P::SRTP_AES128_CM_SHA1_32]), None);
        let offered = [P::SRTP_AES128_CM_SHA1_80];
        assert!(check_answer(&offered, b"", &[P::SRTP_AES128_CM_SHA1_80], b"").is_ok());
        assert!(check_answer(&offered, b"", &[P::SRTP_AES128_CM_SHA1_32], b"").is_err());
        assert!(check_answer(&offered, b"ab", &[P::SRTP_AES128_CM_SHA1_80], b"ab").is_ok());
        // RFC 5764 §4.1.1: another MKI (or an unoffered profile) is illegal_parameter.
        let bad = check_answer(&offered, b"ab", &[P::SRTP_AES128_CM_SHA1_80], b"zz").unwrap_err();
        assert_eq!(bad.alert(), Some(crate::wire::AlertDescription::IllegalParameter));
        assert_eq!(profile_by_name("srtp_aead_aes_256_gcm"), Some(P::SRTP_AEAD_AES_256_GCM));
    }
}
