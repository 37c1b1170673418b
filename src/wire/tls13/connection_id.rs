//! The DTLS 1.3 connection ID messages (RFC 9147 §9): NewConnectionId, which hands the peer
//! more CIDs to put in the records it sends us, and RequestConnectionId, which asks the peer
//! for some. Codecs only.

use crate::codec::{Codec, LenPrefix, Put, Reader, put_prefixed};
use crate::error::InvalidMessage;

// RFC 9147 §9:
//   enum { cid_immediate(0), cid_spare(1), (255) } ConnectionIdUsage;
//   opaque ConnectionId<0..2^8-1>;
//   struct { ConnectionId cids<0..2^16-1>; ConnectionIdUsage usage; } NewConnectionId;
//   struct { uint8 num_cids; } RequestConnectionId;
/// How the peer is to use the CIDs of a [`NewConnectionId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionIdUsage {
    /// Switch to one of them at once.
    Immediate,
    /// Keep them for later (say, after an address change).
    Spare,
}

/// NewConnectionId (RFC 9147 §9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnectionId {
    /// The new CIDs, each 0..=255 bytes.
    pub cids: Vec<Vec<u8>>,
    /// What the peer is to do with them.
    pub usage: ConnectionIdUsage,
}

impl Codec for NewConnectionId {
    fn encode(&self, out: &mut Vec<u8>) {
        put_prefixed(out, LenPrefix::U16, |o| {
            for cid in &self.cids {
                put_prefixed(o, LenPrefix::U8, |o| o.put_slice(cid));
            }
        });
        out.put_u8(match self.usage {
            ConnectionIdUsage::Immediate => 0,
            ConnectionIdUsage::Spare => 1,
        });
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let mut list = r.sub_u16()?;
        let mut cids = Vec::new();
        while !list.is_empty() {
            cids.push(list.sub_u8()?.take_rest().to_vec());
        }
        let usage = match r.u8()? {
            0 => ConnectionIdUsage::Immediate,
            1 => ConnectionIdUsage::Spare,
            _ => return Err(InvalidMessage::IllegalValue("ConnectionIdUsage")),
        };
        Ok(Self { cids, usage })
    }
}

/// RequestConnectionId (RFC 9147 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestConnectionId {
    /// How many CIDs the sender would like.
    pub num_cids: u8,
}

impl Codec for RequestConnectionId {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(self.num_cids);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self { num_cids: r.u8()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let m = NewConnectionId { cids: vec![vec![0xaa, 0xbb], vec![]], usage: ConnectionIdUsage::Spare };
        let bytes = m.to_vec();
        assert_eq!(bytes, [0, 4, 2, 0xaa, 0xbb, 0, 1]);
        assert_eq!(NewConnectionId::read_all(&bytes), Ok(m));
        let r = RequestConnectionId { num_cids: 3 };
        assert_eq!(r.to_vec(), [3]);
        assert_eq!(RequestConnectionId::read_all(&[3]), Ok(r));
    }

    #[test]
    fn malformed_is_refused() {
        for bad in [&[0, 4, 2, 0xaa, 0xbb, 0, 2][..], &[0, 3, 2, 0xaa][..], &[0, 0][..], &[][..], &[0, 0, 0, 0][..]] {
            assert!(NewConnectionId::read_all(bad).is_err(), "{bad:?}");
        }
        assert!(RequestConnectionId::read_all(&[1, 2]).is_err());
    }
}
