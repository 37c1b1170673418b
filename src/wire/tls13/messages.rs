//! TLS 1.3 handshake messages without a DTLS 1.2 counterpart or with a new layout:
//! EncryptedExtensions (RFC 8446 §4.3.1), NewSessionTicket (§4.6.1) and KeyUpdate (§4.6.3).
//! In DTLS 1.3 they travel behind the 12-byte DTLS handshake header (RFC 9147 §5.2).

use crate::codec::{Codec, LenPrefix, Put, Reader, put_prefixed};
use crate::error::InvalidMessage;
use crate::wire::Extension;
use crate::wire::tls13::{put_extension_block, read_extension_block};

/// EncryptedExtensions: the server's extensions that need no ServerHello visibility.
// RFC 8446 §4.3.1
//   struct {
//       Extension extensions<0..2^16-1>;
//   } EncryptedExtensions;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedExtensions {
    /// The extensions; the block is always encoded, possibly empty.
    pub extensions: Vec<Extension>,
}

impl Codec for EncryptedExtensions {
    fn encode(&self, out: &mut Vec<u8>) {
        put_extension_block(out, &self.extensions);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self { extensions: read_extension_block(r)? })
    }
}

/// A TLS 1.3 NewSessionTicket (post-handshake, server to client).
// RFC 8446 §4.6.1
//   struct {
//       uint32 ticket_lifetime;
//       uint32 ticket_age_add;
//       opaque ticket_nonce<0..255>;
//       opaque ticket<1..2^16-1>;
//       Extension extensions<0..2^16-2>;
//   } NewSessionTicket;
// The 7-day cap on ticket_lifetime ("Servers MUST NOT use any value greater than 604800
// seconds") is the handshake's to enforce; the codec keeps the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSessionTicket {
    /// Seconds the ticket may be used for.
    pub ticket_lifetime: u32,
    /// Obscures the ticket age the client reports.
    pub ticket_age_add: u32,
    /// Per-ticket nonce for the PSK derivation, at most 255 bytes.
    pub ticket_nonce: Vec<u8>,
    /// The ticket itself, non-empty.
    pub ticket: Vec<u8>,
    /// The extensions (e.g. early_data); the block is always encoded.
    pub extensions: Vec<Extension>,
}

impl Codec for NewSessionTicket {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.ticket_lifetime);
        out.put_u32(self.ticket_age_add);
        put_prefixed(out, LenPrefix::U8, |o| o.put_slice(&self.ticket_nonce));
        put_prefixed(out, LenPrefix::U16, |o| o.put_slice(&self.ticket));
        put_extension_block(out, &self.extensions);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let ticket_lifetime = r.u32()?;
        let ticket_age_add = r.u32()?;
        let ticket_nonce = r.sub_u8()?.take_rest().to_vec();
        let ticket = r.sub_u16()?.take_rest();
        if ticket.is_empty() {
            return Err(InvalidMessage::EmptyList("ticket"));
        }
        let ticket = ticket.to_vec();
        let extensions = read_extension_block(r)?;
        Ok(Self { ticket_lifetime, ticket_age_add, ticket_nonce, ticket, extensions })
    }
}

/// Whether the receiver of a KeyUpdate must update its own sending keys too.
// RFC 8446 §4.6.3
//   enum {
//       update_not_requested(0), update_requested(1), (255)
//   } KeyUpdateRequest;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUpdateRequest {
    /// `update_not_requested` (0).
    UpdateNotRequested,
    /// `update_requested` (1).
    UpdateRequested,
}

/// A KeyUpdate message.
// RFC 8446 §4.6.3
//   struct {
//       KeyUpdateRequest request_update;
//   } KeyUpdate;
//   "If an implementation receives any other value, it MUST terminate the connection with
//   an "illegal_parameter" alert."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUpdate {
    /// Whether the peer must answer with a KeyUpdate of its own.
    pub request_update: KeyUpdateRequest,
}

impl Codec for KeyUpdate {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(match self.request_update {
            KeyUpdateRequest::UpdateNotRequested => 0,
            KeyUpdateRequest::UpdateRequested => 1,
        });
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let request_update = match r.u8()? {
            0 => KeyUpdateRequest::UpdateNotRequested,
            1 => KeyUpdateRequest::UpdateRequested,
            _ => return Err(InvalidMessage::IllegalValue("request_update")),
        };
        Ok(Self { request_update })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tls13::test_util::{check_layout, hex};
    use crate::wire::{ExtensionType, NamedGroup};

    fn layout<T: Codec + PartialEq + core::fmt::Debug>(value: &T, bytes: &str) {
        check_layout(value, &hex(bytes), T::read_all, T::to_vec);
    }

    #[test]
    fn encrypted_extensions() {
        layout(&EncryptedExtensions { extensions: vec![] }, "00 00");
        let ee = EncryptedExtensions {
            extensions: vec![
                Extension::SupportedGroups(vec![NamedGroup::X25519]),
                Extension::Alpn(vec![b"h2".to_vec()]),
            ],
        };
        layout(&ee, "00 11  00 0a 00 04 00 02 00 1d  00 10 00 05 00 03 02 68 32");
        assert_eq!(
            EncryptedExtensions::read_all(&hex("00 08 00 17 00 00 00 17 00 00")),
            Err(InvalidMessage::IllegalValue("duplicate extension"))
        );
        assert_eq!(EncryptedExtensions::read_all(&[]), Err(InvalidMessage::Truncated));
    }

    #[test]
    fn new_session_ticket() {
        let nst = NewSessionTicket {
            ticket_lifetime: 7200,
            ticket_age_add: 0x0102_0304,
            ticket_nonce: vec![0],
            ticket: vec![0xaa, 0xbb],
            extensions: vec![],
        };
        layout(&nst, "00 00 1c 20  01 02 03 04  01 00  00 02 aa bb  00 00");
        // early_data (42) with its max_early_data_size, kept verbatim.
        let with_ext = NewSessionTicket {
            ticket_nonce: vec![],
            extensions: vec![Extension::Unknown { typ: ExtensionType::Unknown(42), data: vec![0, 0, 0x40, 0] }],
            ..nst
        };
        layout(&with_ext, "00 00 1c 20  01 02 03 04  00  00 02 aa bb  00 08 00 2a 00 04 00 00 40 00");
        assert_eq!(
            NewSessionTicket::read_all(&hex("00 00 1c 20 01 02 03 04 00 00 00 00 00")),
            Err(InvalidMessage::EmptyList("ticket"))
        );
    }

    #[test]
    fn key_update() {
        layout(&KeyUpdate { request_update: KeyUpdateRequest::UpdateNotRequested }, "00");
        layout(&KeyUpdate { request_update: KeyUpdateRequest::UpdateRequested }, "01");
        for v in 2..=255u8 {
            assert_eq!(KeyUpdate::read_all(&[v]), Err(InvalidMessage::IllegalValue("request_update")));
        }
    }
}
