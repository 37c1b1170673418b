//! The `key_share` extension (RFC 8446 §4.2.8), in its three message-dependent forms.

use crate::codec::{Codec, LenPrefix, Put, Reader, put_list, put_prefixed};
use crate::error::InvalidMessage;
use crate::wire::tls13::ExtensionBody;
use crate::wire::{ExtensionType, NamedGroup};

/// One key share: a group and the sender's public value for it.
// RFC 8446 §4.2.8
//   struct {
//       NamedGroup group;
//       opaque key_exchange<1..2^16-1>;
//   } KeyShareEntry;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyShareEntry {
    /// The group the share is for.
    pub group: NamedGroup,
    /// The public value, non-empty; its format depends on the group (RFC 8446 §4.2.8.1,
    /// §4.2.8.2; draft-ietf-tls-ecdhe-mlkem for the hybrids).
    pub key_exchange: Vec<u8>,
}

impl Codec for KeyShareEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        self.group.encode(out);
        put_prefixed(out, LenPrefix::U16, |o| o.put_slice(&self.key_exchange));
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let group = NamedGroup::read(r)?;
        let key_exchange = r.sub_u16()?.take_rest();
        if key_exchange.is_empty() {
            return Err(InvalidMessage::EmptyList("key_exchange"));
        }
        Ok(Self { group, key_exchange: key_exchange.to_vec() })
    }
}

/// `key_share` in a ClientHello: the client's shares, in preference order.
// RFC 8446 §4.2.8
//   struct {
//       KeyShareEntry client_shares<0..2^16-1>;
//   } KeyShareClientHello;
// "Clients MUST NOT offer multiple KeyShareEntry values for the same group." A repeated group
// is refused here like a repeated extension type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyShareClientHello {
    /// The shares; empty is legal (the client asks for a HelloRetryRequest).
    pub client_shares: Vec<KeyShareEntry>,
}

impl ExtensionBody for KeyShareClientHello {
    const TYPE: ExtensionType = ExtensionType::KeyShare;

    fn encode_body(&self, out: &mut Vec<u8>) {
        put_list(out, LenPrefix::U16, &self.client_shares);
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let client_shares: Vec<KeyShareEntry> = crate::codec::read_list(r.sub_u16()?)?;
        // Sorted rather than compared pairwise: a hostile list can hold ~13k entries.
        let mut groups: Vec<u16> = client_shares.iter().map(|e| u16::from(e.group)).collect();
        groups.sort_unstable();
        if groups.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
            return Err(InvalidMessage::IllegalValue("duplicate key_share group"));
        }
        Ok(Self { client_shares })
    }
}

/// `key_share` in a ServerHello: the server's one share, in a group the client offered.
// RFC 8446 §4.2.8
//   struct {
//       KeyShareEntry server_share;
//   } KeyShareServerHello;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyShareServerHello {
    /// The server's share.
    pub server_share: KeyShareEntry,
}

impl ExtensionBody for KeyShareServerHello {
    const TYPE: ExtensionType = ExtensionType::KeyShare;

    fn encode_body(&self, out: &mut Vec<u8>) {
        self.server_share.encode(out);
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self { server_share: KeyShareEntry::read(r)? })
    }
}

/// `key_share` in a HelloRetryRequest: the group the client must send a share for.
// RFC 8446 §4.2.8
//   struct {
//       NamedGroup selected_group;
//   } KeyShareHelloRetryRequest;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyShareHelloRetryRequest {
    /// The group the server selected.
    pub selected_group: NamedGroup,
}

impl ExtensionBody for KeyShareHelloRetryRequest {
    const TYPE: ExtensionType = ExtensionType::KeyShare;

    fn encode_body(&self, out: &mut Vec<u8>) {
        self.selected_group.encode(out);
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self { selected_group: NamedGroup::read(r)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tls13::test_util::{check_layout, hex};

    fn entry(group: NamedGroup, len: usize, byte: u8) -> KeyShareEntry {
        KeyShareEntry { group, key_exchange: vec![byte; len] }
    }

    #[test]
    fn client_hello_layout() {
        let ks = KeyShareClientHello {
            client_shares: vec![entry(NamedGroup::X25519, 3, 0xaa), entry(NamedGroup::Secp256r1, 1, 0x04)],
        };
        check_layout(&ks, &hex("00 0c  00 1d 00 03 aa aa aa  00 17 00 01 04"), KeyShareClientHello::parse, |v| {
            v.body_bytes()
        });
        // An empty list is legal: the client asks the server to pick a group (HRR).
        let empty = KeyShareClientHello { client_shares: vec![] };
        check_layout(&empty, &hex("00 00"), KeyShareClientHello::parse, |v| v.body_bytes());
        assert_eq!(empty.to_extension().to_vec(), hex("00 33 00 02 00 00"));
        // Real sizes: X25519 (32) and the X25519MLKEM768 client share (1184 + 32).
        let big = KeyShareClientHello {
            client_shares: vec![entry(NamedGroup::X25519MLKEM768, 1216, 1), entry(NamedGroup::X25519, 32, 2)],
        };
        let bytes = big.body_bytes();
        assert_eq!(bytes.len(), 2 + 4 + 1216 + 4 + 32);
        assert_eq!(bytes[..6], hex("04 e8 11 ec 04 c0"));
        assert_eq!(KeyShareClientHello::parse(&bytes), Ok(big));
    }

    #[test]
    fn client_hello_invalid() {
        let bad = |s: &str| KeyShareClientHello::parse(&hex(s));
        assert_eq!(bad("00 04 00 1d 00 00"), Err(InvalidMessage::EmptyList("key_exchange")));
        assert_eq!(
            bad("00 0a 00 1d 00 01 aa 00 1d 00 01 bb"),
            Err(InvalidMessage::IllegalValue("duplicate key_share group"))
        );
        assert_eq!(bad("00 05 00 1d 00 02 aa"), Err(InvalidMessage::Truncated));
        assert_eq!(bad("00 06 00 1d 00 01 aa bb"), Err(InvalidMessage::Truncated));
    }

    #[test]
    fn server_hello_and_retry_layouts() {
        let sh = KeyShareServerHello { server_share: entry(NamedGroup::X25519, 2, 0x55) };
        check_layout(&sh, &hex("00 1d 00 02 55 55"), KeyShareServerHello::parse, |v| v.body_bytes());
        assert_eq!(KeyShareServerHello::parse(&hex("00 1d 00 00")), Err(InvalidMessage::EmptyList("key_exchange")));
        let hrr = KeyShareHelloRetryRequest { selected_group: NamedGroup::X25519MLKEM768 };
        check_layout(&hrr, &hex("11 ec"), KeyShareHelloRetryRequest::parse, |v| v.body_bytes());
        assert_eq!(hrr.to_extension().to_vec(), hex("00 33 00 02 11 ec"));
        assert_eq!(KeyShareHelloRetryRequest::find_in(&[hrr.to_extension()]), Ok(Some(hrr)));
        // Unknown groups are kept (whether acceptable is the handshake's decision).
        let unknown = KeyShareHelloRetryRequest::parse(&hex("ab cd")).unwrap();
        assert_eq!(unknown.selected_group, NamedGroup::Unknown(0xabcd));
    }
}
