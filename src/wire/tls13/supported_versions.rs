//! The `supported_versions` extension (RFC 8446 §4.2.1; DTLS 1.3 is 0xfefc, RFC 9147 §5.3).

use crate::codec::{LenPrefix, Put, Reader, put_prefixed};
use crate::error::InvalidMessage;
use crate::wire::ExtensionType;
use crate::wire::tls13::ExtensionBody;

// RFC 8446 §4.2.1
//   struct {
//       select (Handshake.msg_type) {
//           case client_hello:
//                ProtocolVersion versions<2..254>;
//           case server_hello: /* and HelloRetryRequest */
//                ProtocolVersion selected_version;
//       };
//   } SupportedVersions;

/// `supported_versions` in a ClientHello: the versions the client offers, in preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportedVersionsClientHello {
    /// 1 to 127 versions (`versions<2..254>` counts bytes).
    pub versions: Vec<u16>,
}

impl ExtensionBody for SupportedVersionsClientHello {
    const TYPE: ExtensionType = ExtensionType::SupportedVersions;

    fn encode_body(&self, out: &mut Vec<u8>) {
        put_prefixed(out, LenPrefix::U8, |o| self.versions.iter().for_each(|v| o.put_u16(*v)));
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let mut list = r.sub_u8()?;
        // <2..254>: at least one version, and a whole number of them.
        if list.left() < 2 || !list.left().is_multiple_of(2) {
            return Err(InvalidMessage::IllegalValue("supported_versions length"));
        }
        let mut versions = Vec::with_capacity(list.left() / 2);
        while !list.is_empty() {
            versions.push(list.u16()?);
        }
        Ok(Self { versions })
    }
}

/// `supported_versions` in a ServerHello or HelloRetryRequest: the selected version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedVersionsServerHello {
    /// The version the server selected ([`DTLS_1_3`](crate::wire::DTLS_1_3) for DTLS 1.3).
    pub selected_version: u16,
}

impl ExtensionBody for SupportedVersionsServerHello {
    const TYPE: ExtensionType = ExtensionType::SupportedVersions;

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u16(self.selected_version);
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self { selected_version: r.u16()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Codec;
    use crate::wire::tls13::test_util::{check_layout, hex};
    use crate::wire::{DTLS_1_2, DTLS_1_3, Extension};

    #[test]
    fn client_hello_layout() {
        let both = SupportedVersionsClientHello { versions: vec![DTLS_1_3, DTLS_1_2] };
        check_layout(&both, &hex("04 fe fc fe fd"), SupportedVersionsClientHello::parse, |v| v.body_bytes());
        let one = SupportedVersionsClientHello { versions: vec![DTLS_1_3] };
        check_layout(&one, &hex("02 fe fc"), SupportedVersionsClientHello::parse, |v| v.body_bytes());
        assert_eq!(one.to_extension().to_vec(), hex("00 2b 00 03 02 fe fc"));
    }

    #[test]
    fn client_hello_invalid() {
        let bad = |s: &str| SupportedVersionsClientHello::parse(&hex(s));
        let length = Err(InvalidMessage::IllegalValue("supported_versions length"));
        assert_eq!(bad("00"), length);
        assert_eq!(bad("03 fe fc fe"), length);
        assert_eq!(bad("01 fe"), length);
        assert_eq!(bad("04 fe fc"), Err(InvalidMessage::Truncated));
    }

    #[test]
    fn server_hello_layout() {
        let sel = SupportedVersionsServerHello { selected_version: DTLS_1_3 };
        check_layout(&sel, &hex("fe fc"), SupportedVersionsServerHello::parse, |v| v.body_bytes());
        let ext = sel.to_extension();
        assert_eq!(ext, Extension::Unknown { typ: ExtensionType::SupportedVersions, data: vec![0xfe, 0xfc] });
        assert_eq!(SupportedVersionsServerHello::find_in(&[ext]), Ok(Some(sel)));
        assert_eq!(SupportedVersionsServerHello::find_in(&[]), Ok(None));
        // The client form in a ServerHello is malformed there.
        let client_form = SupportedVersionsClientHello { versions: vec![DTLS_1_3] }.to_extension();
        assert!(SupportedVersionsServerHello::find_in(&[client_form]).is_err());
    }
}
