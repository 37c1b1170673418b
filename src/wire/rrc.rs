//! The return routability check sub-protocol (RFC 9853): its content type, its extension,
//! and its one message. Codecs only.

use crate::codec::{Codec, Put, Reader};
use crate::error::InvalidMessage;
use crate::wire::{ContentType, ExtensionType};

impl ContentType {
    /// return_routability_check (RFC 9853 §5, IANA TLS ContentType 27).
    pub const RETURN_ROUTABILITY_CHECK: Self = Self::Unknown(27);
}

impl ExtensionType {
    /// rrc (RFC 9853 §3, code point 61): both sides use the return routability check.
    pub const RRC: Self = Self::Unknown(61);
}

// RFC 9853 §5:
//   uint64 Cookie;
//   enum { path_challenge(0), path_response(1), path_drop(2), (255) } rrc_msg_type;
//   struct { rrc_msg_type msg_type; select (...) { case ...: Cookie; }; } return_routability_check;
/// The kind of a return routability check message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RrcType {
    /// Sent to an address to check that the peer is reachable there.
    PathChallenge,
    /// The echo of a challenge's cookie, sent where the challenge came from.
    PathResponse,
    /// "That path is not the one I use any more" (the enhanced check, §6.2).
    PathDrop,
    /// A type this implementation does not know (RFC 9853 §5: parsed, then ignored).
    Unknown(u8),
}

/// One return_routability_check message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rrc {
    /// What it is.
    pub msg_type: RrcType,
    /// The 64-bit cookie.
    pub cookie: [u8; 8],
}

impl Codec for Rrc {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(match self.msg_type {
            RrcType::PathChallenge => 0,
            RrcType::PathResponse => 1,
            RrcType::PathDrop => 2,
            RrcType::Unknown(t) => t,
        });
        out.put_slice(&self.cookie);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let msg_type = match r.u8()? {
            0 => RrcType::PathChallenge,
            1 => RrcType::PathResponse,
            2 => RrcType::PathDrop,
            t => RrcType::Unknown(t),
        };
        let cookie = r.array::<8>()?;
        Ok(Self { msg_type, cookie })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let m = Rrc { msg_type: RrcType::PathResponse, cookie: [1, 2, 3, 4, 5, 6, 7, 8] };
        assert_eq!(m.to_vec(), [1, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(Rrc::read_all(&m.to_vec()), Ok(m));
        assert_eq!(Rrc::read_all(&[9, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap().msg_type, RrcType::Unknown(9));
        assert!(Rrc::read_all(&[0; 8]).is_err());
        assert!(Rrc::read_all(&[0; 10]).is_err());
        assert_eq!(u8::from(ContentType::RETURN_ROUTABILITY_CHECK), 27);
        assert_eq!(u16::from(ExtensionType::RRC), 61);
    }
}
