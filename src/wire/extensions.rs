//! Hello extensions (RFC 5246 §7.4.1.4) and the extension block of ClientHello/ServerHello.
//!
//! This module owns the byte layout of each extension we understand; anything else is kept
//! verbatim as [`Extension::Unknown`] so it round-trips. It parses and checks the syntax
//! (lengths, non-empty lists, no duplicates) and never decides policy: whether an extension
//! is allowed in a given message, or whether its contents are acceptable, is the handshake
//! state machines' business. Nothing here may panic on any input.

use crate::codec::{Codec, LenPrefix, Put, Reader, put_list, put_prefixed, read_list};
use crate::error::InvalidMessage;
use crate::wire::{EcPointFormat, ExtensionType, NamedGroup, SignatureScheme, SrtpProtectionProfile};

/// `NameType` host_name (RFC 6066 §3).
const HOST_NAME: u8 = 0;

/// One hello extension.
///
/// `Unknown` is meant for extension types we do not parse; building it with the type of an
/// extension that has its own variant encodes fine but reads back as that variant.
// RFC 5246 §7.4.1.4
//   struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extension {
    /// Client: the first host_name entry (RFC 6066 §3); server: None = empty acknowledgement.
    ServerName(Option<String>),
    /// The client's elliptic curve groups, in preference order (RFC 8422 §5.1.1).
    SupportedGroups(Vec<NamedGroup>),
    /// Supported EC point formats (RFC 8422 §5.1.2).
    EcPointFormats(Vec<EcPointFormat>),
    /// Supported signature schemes (RFC 5246 §7.4.1.4.1).
    SignatureAlgorithms(Vec<SignatureScheme>),
    /// DTLS-SRTP profiles and the SRTP master key identifier (RFC 5764 §4.1.1).
    UseSrtp {
        /// Offered (client) or selected (server, exactly one) protection profiles.
        profiles: Vec<SrtpProtectionProfile>,
        /// The `srtp_mki` value, usually empty.
        mki: Vec<u8>,
    },
    /// ALPN protocol names, each 1..=255 bytes, list non-empty (RFC 7301 §3.1).
    Alpn(Vec<Vec<u8>>),
    /// Extended master secret (RFC 7627 §5.1); empty body.
    ExtendedMasterSecret,
    /// The `renegotiated_connection` field, u8-prefixed (RFC 5746 §3.2).
    RenegotiationInfo(Vec<u8>),
    /// A session ticket (RFC 5077 §3.2): the client's ticket, or empty to ask for one; the
    /// server's acknowledgement is always empty.
    SessionTicket(Vec<u8>),
    /// The connection ID the sender wants to receive in records (RFC 9146 §3), 0..=255 bytes;
    /// empty: it sends CIDs but wants none in the records it receives.
    ConnectionId(Vec<u8>),
    /// Any other extension, kept verbatim.
    Unknown {
        /// The extension type.
        typ: ExtensionType,
        /// The raw `extension_data`.
        data: Vec<u8>,
    },
}

impl Extension {
    /// The extension's type code.
    pub fn ext_type(&self) -> ExtensionType {
        match self {
            Self::ServerName(_) => ExtensionType::ServerName,
            Self::SupportedGroups(_) => ExtensionType::SupportedGroups,
            Self::EcPointFormats(_) => ExtensionType::EcPointFormats,
            Self::SignatureAlgorithms(_) => ExtensionType::SignatureAlgorithms,
            Self::UseSrtp { .. } => ExtensionType::UseSrtp,
            Self::Alpn(_) => ExtensionType::Alpn,
            Self::ExtendedMasterSecret => ExtensionType::ExtendedMasterSecret,
            Self::RenegotiationInfo(_) => ExtensionType::RenegotiationInfo,
            Self::SessionTicket(_) => ExtensionType::SessionTicket,
            Self::ConnectionId(_) => ExtensionType::ConnectionId,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    /// Write `extension_data` (without the type and length).
    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Self::ServerName(None) => {}
            // RFC 6066 §3
            //   struct { NameType name_type; select (name_type) { case host_name: HostName; } name; } ServerName;
            //   opaque HostName<1..2^16-1>;
            //   struct { ServerName server_name_list<1..2^16-1> } ServerNameList;
            Self::ServerName(Some(name)) => put_prefixed(out, LenPrefix::U16, |o| {
                o.put_u8(HOST_NAME);
                put_prefixed(o, LenPrefix::U16, |o| o.put_slice(name.as_bytes()));
            }),
            // RFC 8422 §5.1.1: NamedCurve named_curve_list<2..2^16-1>
            Self::SupportedGroups(groups) => put_list(out, LenPrefix::U16, groups),
            // RFC 8422 §5.1.2: ECPointFormat ec_point_format_list<1..2^8-1>
            Self::EcPointFormats(formats) => put_list(out, LenPrefix::U8, formats),
            // RFC 5246 §7.4.1.4.1: supported_signature_algorithms<2..2^16-2>
            Self::SignatureAlgorithms(schemes) => put_list(out, LenPrefix::U16, schemes),
            // RFC 5764 §4.1.1
            //   struct { SRTPProtectionProfiles SRTPProtectionProfiles; opaque srtp_mki<0..255>; } UseSRTPData;
            Self::UseSrtp { profiles, mki } => {
                put_list(out, LenPrefix::U16, profiles);
                put_prefixed(out, LenPrefix::U8, |o| o.put_slice(mki));
            }
            // RFC 7301 §3.1
            //   opaque ProtocolName<1..2^8-1>;
            //   struct { ProtocolName protocol_name_list<2..2^16-1> } ProtocolNameList;
            Self::Alpn(names) => put_prefixed(out, LenPrefix::U16, |o| {
                for name in names {
                    put_prefixed(o, LenPrefix::U8, |o| o.put_slice(name));
                }
            }),
            // RFC 7627 §5.1: "The "extension_data" field of this extension SHALL be empty."
            Self::ExtendedMasterSecret => {}
            // RFC 5746 §3.2: opaque renegotiated_connection<0..255>;
            Self::RenegotiationInfo(data) => put_prefixed(out, LenPrefix::U8, |o| o.put_slice(data)),
            // RFC 5077 §3.2: the extension_data is the ticket itself, without a length.
            Self::SessionTicket(ticket) => out.put_slice(ticket),
            // RFC 9146 §3: struct { opaque cid<0..2^8-1>; } ConnectionId;
            Self::ConnectionId(cid) => put_prefixed(out, LenPrefix::U8, |o| o.put_slice(cid)),
            Self::Unknown { data, .. } => out.put_slice(data),
        }
    }

    /// Parse `extension_data` of type `typ`; the caller checks that `r` is then empty.
    fn read_body(typ: ExtensionType, r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(match typ {
            ExtensionType::ServerName => Self::ServerName(read_server_name(r)?),
            ExtensionType::SupportedGroups => {
                Self::SupportedGroups(non_empty(read_list(r.sub_u16()?)?, "supported_groups")?)
            }
            ExtensionType::EcPointFormats => {
                Self::EcPointFormats(non_empty(read_list(r.sub_u8()?)?, "ec_point_formats")?)
            }
            ExtensionType::SignatureAlgorithms => {
                Self::SignatureAlgorithms(non_empty(read_list(r.sub_u16()?)?, "signature_algorithms")?)
            }
            ExtensionType::UseSrtp => {
                let profiles = non_empty(read_list(r.sub_u16()?)?, "use_srtp profiles")?;
                let mki = r.sub_u8()?.take_rest().to_vec();
                Self::UseSrtp { profiles, mki }
            }
            ExtensionType::Alpn => Self::Alpn(read_alpn(r)?),
            ExtensionType::ExtendedMasterSecret => Self::ExtendedMasterSecret,
            ExtensionType::RenegotiationInfo => Self::RenegotiationInfo(r.sub_u8()?.take_rest().to_vec()),
            ExtensionType::SessionTicket => Self::SessionTicket(r.take_rest().to_vec()),
            ExtensionType::ConnectionId => Self::ConnectionId(r.sub_u8()?.take_rest().to_vec()),
            typ => Self::Unknown { typ, data: r.take_rest().to_vec() },
        })
    }
}

/// Fail with [`InvalidMessage::EmptyList`] if `v` is empty.
fn non_empty<T>(v: Vec<T>, what: &'static str) -> Result<Vec<T>, InvalidMessage> {
    if v.is_empty() { Err(InvalidMessage::EmptyList(what)) } else { Ok(v) }
}

// RFC 6066 §3: "The ServerNameList MUST NOT contain more than one name of the same name_type."
// An empty body is the server's acknowledgement. Entries of name types other than host_name
// (none are defined) are skipped, assuming the u16-prefixed layout HostName has.
fn read_server_name(r: &mut Reader<'_>) -> Result<Option<String>, InvalidMessage> {
    if r.is_empty() {
        return Ok(None);
    }
    let mut list = r.sub_u16()?;
    if list.is_empty() {
        return Err(InvalidMessage::EmptyList("server_name_list"));
    }
    let mut host = None;
    while !list.is_empty() {
        let name_type = list.u8()?;
        let name = list.sub_u16()?.take_rest();
        if name_type != HOST_NAME {
            continue;
        }
        if host.is_some() {
            return Err(InvalidMessage::IllegalValue("duplicate host_name"));
        }
        if name.is_empty() {
            return Err(InvalidMessage::EmptyList("host_name"));
        }
        // Host names are ASCII (RFC 6066 §3: IDNs are sent as A-labels).
        if !name.is_ascii() {
            return Err(InvalidMessage::IllegalValue("host_name"));
        }
        host = Some(String::from_utf8_lossy(name).into_owned());
    }
    host.map(Some).ok_or(InvalidMessage::IllegalValue("server_name without host_name"))
}

// RFC 7301 §3.1: "Empty strings MUST NOT be included and byte strings MUST NOT be truncated."
fn read_alpn(r: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, InvalidMessage> {
    let mut list = r.sub_u16()?;
    let mut names = Vec::new();
    while !list.is_empty() {
        let name = list.sub_u8()?.take_rest();
        if name.is_empty() {
            return Err(InvalidMessage::EmptyList("protocol name"));
        }
        names.push(name.to_vec());
    }
    non_empty(names, "protocol_name_list")
}

impl Codec for Extension {
    fn encode(&self, out: &mut Vec<u8>) {
        self.ext_type().encode(out);
        put_prefixed(out, LenPrefix::U16, |o| self.encode_body(o));
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let typ = ExtensionType::read(r)?;
        let mut body = r.sub_u16()?;
        let ext = Self::read_body(typ, &mut body)?;
        body.expect_empty("extension_data")?;
        Ok(ext)
    }
}

/// Read the optional, u16-prefixed extension block at the end of a hello.
///
/// An absent block (`r` already empty) gives an empty vector. Two extensions of the same
/// type are rejected (RFC 5246 §7.4.1.4: "There MUST NOT be more than one extension of the
/// same type."). `r` is left after the block; the caller rejects trailing bytes.
// RFC 5246 §7.4.1.2: Extension extensions<0..2^16-1>;
pub fn read_extensions(r: &mut Reader<'_>) -> Result<Vec<Extension>, InvalidMessage> {
    if r.is_empty() {
        return Ok(Vec::new());
    }
    let exts: Vec<Extension> = read_list(r.sub_u16()?)?;
    // Sort the type codes rather than compare pairs: a hostile block can hold ~16k entries.
    let mut types: Vec<u16> = exts.iter().map(|e| u16::from(e.ext_type())).collect();
    types.sort_unstable();
    if types.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
        return Err(InvalidMessage::IllegalValue("duplicate extension"));
    }
    Ok(exts)
}

/// Write the u16-prefixed extension block; writes nothing at all if `exts` is empty.
pub fn put_extensions(out: &mut Vec<u8>, exts: &[Extension]) {
    if !exts.is_empty() {
        put_list(out, LenPrefix::U16, exts);
    }
}

/// The first extension of type `typ`, if any.
pub fn find_extension(exts: &[Extension], typ: ExtensionType) -> Option<&Extension> {
    exts.iter().find(|e| e.ext_type() == typ)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::messages::tests::hex;

    /// Check the exact layout both ways: encode gives `bytes`, read gives `ext`.
    fn layout(ext: Extension, bytes: &str) {
        let bytes = hex(bytes);
        assert_eq!(ext.to_vec(), bytes, "encoding of {ext:?}");
        assert_eq!(Extension::read_all(&bytes), Ok(ext));
    }

    #[test]
    fn rfc_layouts() {
        // RFC 5746 §3.4: the client's initial empty renegotiation_info.
        layout(Extension::RenegotiationInfo(vec![]), "ff 01 00 01 00");
        layout(Extension::RenegotiationInfo(vec![0xaa; 3]), "ff 01 00 04 03 aa aa aa");
        layout(Extension::ExtendedMasterSecret, "00 17 00 00");
        layout(
            Extension::UseSrtp { profiles: vec![SrtpProtectionProfile::SRTP_AES128_CM_SHA1_80], mki: vec![] },
            "00 0e 00 05 00 02 00 01 00",
        );
        layout(
            Extension::UseSrtp {
                profiles: vec![SrtpProtectionProfile::SRTP_AEAD_AES_128_GCM, SrtpProtectionProfile::Unknown(0x1234)],
                mki: vec![0x42],
            },
            "00 0e 00 08 00 04 00 07 12 34 01 42",
        );
        layout(Extension::Alpn(vec![b"http/1.1".to_vec()]), "00 10 00 0b 00 09 08 68 74 74 70 2f 31 2e 31");
        layout(Extension::Alpn(vec![b"h2".to_vec(), b"x".to_vec()]), "00 10 00 07 00 05 02 68 32 01 78");
        layout(
            Extension::ServerName(Some("localhost".into())),
            "00 00 00 0e 00 0c 00 00 09 6c 6f 63 61 6c 68 6f 73 74",
        );
        layout(Extension::ServerName(None), "00 00 00 00");
        layout(
            Extension::SupportedGroups(vec![NamedGroup::X25519, NamedGroup::Secp256r1]),
            "00 0a 00 06 00 04 00 1d 00 17",
        );
        layout(Extension::EcPointFormats(vec![EcPointFormat::Uncompressed]), "00 0b 00 02 01 00");
        layout(
            Extension::SignatureAlgorithms(vec![
                SignatureScheme::ECDSA_NISTP256_SHA256,
                SignatureScheme::RSA_PSS_RSAE_SHA256,
            ]),
            "00 0d 00 06 00 04 04 03 08 04",
        );
        // RFC 5077 §3.2: the ticket is the whole extension_data (empty: asking for one).
        layout(Extension::SessionTicket(vec![]), "00 23 00 00");
        layout(Extension::SessionTicket(vec![0xab; 3]), "00 23 00 03 ab ab ab");
        layout(Extension::Unknown { typ: ExtensionType::Unknown(0xabcd), data: vec![1, 2] }, "ab cd 00 02 01 02");
        // RFC 9146 §3: connection_id(54), opaque cid<0..2^8-1>; zero length allowed.
        layout(Extension::ConnectionId(vec![0xbe, 0xef]), "00 36 00 03 02 be ef");
        layout(Extension::ConnectionId(vec![]), "00 36 00 01 00");
    }

    #[test]
    fn ext_type_matches_the_wire() {
        let exts = [
            Extension::ServerName(None),
            Extension::SupportedGroups(vec![NamedGroup::X25519]),
            Extension::EcPointFormats(vec![EcPointFormat::Uncompressed]),
            Extension::SignatureAlgorithms(vec![SignatureScheme::ED25519]),
            Extension::UseSrtp { profiles: vec![SrtpProtectionProfile::SRTP_AES128_CM_SHA1_32], mki: vec![] },
            Extension::Alpn(vec![b"webrtc".to_vec()]),
            Extension::ExtendedMasterSecret,
            Extension::RenegotiationInfo(vec![]),
            Extension::Unknown { typ: ExtensionType::EncryptThenMac, data: vec![] },
        ];
        for ext in exts {
            let bytes = ext.to_vec();
            assert_eq!(ExtensionType::read_all(&bytes[..2]), Ok(ext.ext_type()));
            let back = Extension::read_all(&bytes).unwrap();
            assert_eq!(back.to_vec(), bytes);
            assert_eq!(back, ext);
        }
    }

    #[test]
    fn block_round_trips_and_absent_block_is_empty() {
        let exts = vec![
            Extension::RenegotiationInfo(vec![]),
            Extension::ExtendedMasterSecret,
            Extension::Alpn(vec![b"h2".to_vec()]),
        ];
        let mut out = Vec::new();
        put_extensions(&mut out, &exts);
        assert_eq!(out, hex("00 12 ff 01 00 01 00 00 17 00 00 00 10 00 05 00 03 02 68 32"));
        let mut r = Reader::new(&out);
        assert_eq!(read_extensions(&mut r).unwrap(), exts);
        assert!(r.is_empty());

        let mut out = Vec::new();
        put_extensions(&mut out, &[]);
        assert!(out.is_empty());
        assert_eq!(read_extensions(&mut Reader::new(&[])), Ok(vec![]));
        // A present but empty block is legal (extensions<0..2^16-1>).
        assert_eq!(read_extensions(&mut Reader::new(&[0, 0])), Ok(vec![]));

        assert_eq!(find_extension(&exts, ExtensionType::ExtendedMasterSecret), Some(&Extension::ExtendedMasterSecret));
        assert_eq!(find_extension(&exts, ExtensionType::UseSrtp), None);
    }

    #[test]
    fn duplicates_are_rejected() {
        let bytes = hex("00 08 00 17 00 00 00 17 00 00");
        assert_eq!(read_extensions(&mut Reader::new(&bytes)), Err(InvalidMessage::IllegalValue("duplicate extension")));
        // Unknown types are compared too.
        let bytes = hex("00 0c ab cd 00 00 00 17 00 00 ab cd 00 00");
        assert_eq!(read_extensions(&mut Reader::new(&bytes)), Err(InvalidMessage::IllegalValue("duplicate extension")));
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        let bad = |s: &str| Extension::read_all(&hex(s));
        // EMS with a body (RFC 7627 §5.1: SHALL be empty).
        assert_eq!(bad("00 17 00 01 00"), Err(InvalidMessage::TrailingData("extension_data")));
        // Empty lists where the RFC says <1..> or <2..>.
        assert_eq!(bad("00 0a 00 02 00 00"), Err(InvalidMessage::EmptyList("supported_groups")));
        assert_eq!(bad("00 0b 00 01 00"), Err(InvalidMessage::EmptyList("ec_point_formats")));
        assert_eq!(bad("00 0d 00 02 00 00"), Err(InvalidMessage::EmptyList("signature_algorithms")));
        assert_eq!(bad("00 0e 00 03 00 00 00"), Err(InvalidMessage::EmptyList("use_srtp profiles")));
        assert_eq!(bad("00 10 00 02 00 00"), Err(InvalidMessage::EmptyList("protocol_name_list")));
        assert_eq!(bad("00 10 00 03 00 01 00"), Err(InvalidMessage::EmptyList("protocol name")));
        assert_eq!(bad("00 00 00 02 00 00"), Err(InvalidMessage::EmptyList("server_name_list")));
        // Odd-length u16 list.
        assert_eq!(bad("00 0a 00 03 00 01 17"), Err(InvalidMessage::Truncated));
        // Inner length past the extension's end.
        assert_eq!(bad("ff 01 00 01 05"), Err(InvalidMessage::Truncated));
        // Bytes after the inner vector.
        assert_eq!(bad("ff 01 00 02 00 00"), Err(InvalidMessage::TrailingData("extension_data")));
        // Outer length past the input.
        assert_eq!(bad("00 17 00 01"), Err(InvalidMessage::Truncated));
        // SNI: non-ASCII, two host names, empty name, no host name at all.
        assert_eq!(bad("00 00 00 06 00 04 00 00 01 ff"), Err(InvalidMessage::IllegalValue("host_name")));
        assert_eq!(
            bad("00 00 00 0a 00 08 00 00 01 61 00 00 01 62"),
            Err(InvalidMessage::IllegalValue("duplicate host_name"))
        );
        assert_eq!(bad("00 00 00 05 00 03 00 00 00"), Err(InvalidMessage::EmptyList("host_name")));
        assert_eq!(
            bad("00 00 00 06 00 04 07 00 01 61"),
            Err(InvalidMessage::IllegalValue("server_name without host_name"))
        );
    }

    #[test]
    fn server_name_skips_unknown_name_types() {
        let ext = Extension::read_all(&hex("00 00 00 0b 00 09 07 00 01 61 00 00 02 62 63")).unwrap();
        assert_eq!(ext, Extension::ServerName(Some("bc".into())));
    }
}
