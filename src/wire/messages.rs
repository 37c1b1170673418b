//! Handshake message bodies (RFC 5246 §7.4, RFC 6347 §4.2, RFC 8422 §5) and the Alert and
//! ChangeCipherSpec record bodies (RFC 5246 §7.1, §7.2).
//!
//! This module owns the byte layout of message *bodies* only: the 12-byte DTLS handshake
//! header, fragmentation and reassembly live elsewhere. It checks syntax (lengths, non-empty
//! vectors, trailing bytes) and never decides policy (which suite, group or scheme is
//! acceptable). Only the ECDHE key exchange is represented. Nothing here may panic on input.

use rustls_pki_types::CertificateDer;

use crate::codec::{Codec, LenPrefix, Put, Reader, put_list, put_prefixed, read_list};
use crate::error::InvalidMessage;
use crate::wire::extensions::{put_extensions, read_extensions};
use crate::wire::{
    AlertDescription, AlertLevel, CipherSuite, ClientCertificateType, Extension, HandshakeType, NamedGroup,
    SignatureScheme,
};

/// The DTLS 1.2 `ProtocolVersion` on the wire (RFC 6347 §4.1: the 1's complement of 1.2).
pub const DTLS_1_2: u16 = 0xfefd;
/// The DTLS 1.0 `ProtocolVersion` on the wire (RFC 4347 §4.1).
pub const DTLS_1_0: u16 = 0xfeff;

/// Longest `session_id` (RFC 5246 §7.4.1.2: `opaque SessionID<0..32>`).
const MAX_SESSION_ID: usize = 32;
/// `verify_data_length` for every TLS 1.2 cipher suite we know (RFC 5246 §7.4.9).
const VERIFY_DATA_LEN: usize = 12;
/// ECCurveType named_curve (RFC 8422 §5.4).
const NAMED_CURVE: u8 = 3;

/// Read `opaque SessionID<0..32>`.
fn read_session_id(r: &mut Reader<'_>) -> Result<Vec<u8>, InvalidMessage> {
    let id = r.sub_u8()?.take_rest();
    if id.len() > MAX_SESSION_ID {
        return Err(InvalidMessage::IllegalValue("session_id"));
    }
    Ok(id.to_vec())
}

/// Write `bytes` behind a length prefix.
fn put_opaque(out: &mut Vec<u8>, prefix: LenPrefix, bytes: &[u8]) {
    put_prefixed(out, prefix, |o| o.put_slice(bytes));
}

/// Read a u8-prefixed, non-empty `opaque point <1..2^8-1>` (RFC 8422 §5.4).
fn read_point(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>, InvalidMessage> {
    let point = r.sub_u8()?.take_rest();
    if point.is_empty() {
        return Err(InvalidMessage::EmptyList(what));
    }
    Ok(point.to_vec())
}

/// A ClientHello.
// RFC 6347 §4.2.1 (adds the cookie to RFC 5246 §7.4.1.2)
//   struct {
//     ProtocolVersion client_version; Random random; SessionID session_id;
//     opaque cookie<0..2^8-1>;
//     CipherSuite cipher_suites<2..2^16-2>; CompressionMethod compression_methods<1..2^8-1>;
//     select (extensions_present) { case false: struct {}; case true: Extension extensions<0..2^16-1>; };
//   } ClientHello;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// Highest version the client supports; [`DTLS_1_2`] for us.
    pub client_version: u16,
    /// 32 bytes of client randomness.
    pub random: [u8; 32],
    /// Session to resume, at most 32 bytes.
    pub session_id: Vec<u8>,
    /// The cookie echoed from a HelloVerifyRequest, at most 255 bytes.
    pub cookie: Vec<u8>,
    /// Offered cipher suites, non-empty.
    pub cipher_suites: Vec<CipherSuite>,
    /// Offered compression methods, non-empty (must contain null, 0).
    pub compression_methods: Vec<u8>,
    /// Extensions; empty means the block is omitted.
    pub extensions: Vec<Extension>,
}

impl Codec for ClientHello {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u16(self.client_version);
        out.put_slice(&self.random);
        put_opaque(out, LenPrefix::U8, &self.session_id);
        put_opaque(out, LenPrefix::U8, &self.cookie);
        put_list(out, LenPrefix::U16, &self.cipher_suites);
        put_opaque(out, LenPrefix::U8, &self.compression_methods);
        put_extensions(out, &self.extensions);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let client_version = r.u16()?;
        let random = r.array()?;
        let session_id = read_session_id(r)?;
        let cookie = r.sub_u8()?.take_rest().to_vec();
        let suites = r.sub_u16()?;
        if !suites.left().is_multiple_of(2) {
            return Err(InvalidMessage::IllegalValue("cipher_suites length"));
        }
        let cipher_suites: Vec<CipherSuite> = read_list(suites)?;
        if cipher_suites.is_empty() {
            return Err(InvalidMessage::EmptyList("cipher_suites"));
        }
        let compression_methods = r.sub_u8()?.take_rest().to_vec();
        if compression_methods.is_empty() {
            return Err(InvalidMessage::EmptyList("compression_methods"));
        }
        let extensions = read_extensions(r)?;
        Ok(Self { client_version, random, session_id, cookie, cipher_suites, compression_methods, extensions })
    }
}

/// A HelloVerifyRequest, the server's stateless cookie challenge.
// RFC 6347 §4.2.1
//   struct { ProtocolVersion server_version; opaque cookie<0..2^8-1>; } HelloVerifyRequest;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloVerifyRequest {
    /// RFC 6347 §4.2.1 recommends [`DTLS_1_0`] here whatever version is negotiated.
    pub server_version: u16,
    /// The cookie the client must echo, at most 255 bytes.
    pub cookie: Vec<u8>,
}

impl Codec for HelloVerifyRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u16(self.server_version);
        put_opaque(out, LenPrefix::U8, &self.cookie);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let server_version = r.u16()?;
        let cookie = r.sub_u8()?.take_rest().to_vec();
        Ok(Self { server_version, cookie })
    }
}

/// A ServerHello.
// RFC 5246 §7.4.1.3
//   struct {
//     ProtocolVersion server_version; Random random; SessionID session_id;
//     CipherSuite cipher_suite; CompressionMethod compression_method;
//     select (extensions_present) { case false: struct {}; case true: Extension extensions<0..2^16-1>; };
//   } ServerHello;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version.
    pub server_version: u16,
    /// 32 bytes of server randomness.
    pub random: [u8; 32],
    /// The session's identifier, at most 32 bytes (empty: not resumable).
    pub session_id: Vec<u8>,
    /// The selected cipher suite.
    pub cipher_suite: CipherSuite,
    /// The selected compression method (null, 0).
    pub compression_method: u8,
    /// Extensions; empty means the block is omitted.
    pub extensions: Vec<Extension>,
}

impl Codec for ServerHello {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u16(self.server_version);
        out.put_slice(&self.random);
        put_opaque(out, LenPrefix::U8, &self.session_id);
        self.cipher_suite.encode(out);
        out.put_u8(self.compression_method);
        put_extensions(out, &self.extensions);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            server_version: r.u16()?,
            random: r.array()?,
            session_id: read_session_id(r)?,
            cipher_suite: CipherSuite::read(r)?,
            compression_method: r.u8()?,
            extensions: read_extensions(r)?,
        })
    }
}

/// A Certificate message: the sender's chain, end-entity first.
// RFC 5246 §7.4.2
//   opaque ASN.1Cert<1..2^24-1>;
//   struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateMsg {
    /// DER certificates; empty is allowed (a client without a certificate, RFC 5246 §7.4.6).
    pub chain: Vec<CertificateDer<'static>>,
}

impl Codec for CertificateMsg {
    fn encode(&self, out: &mut Vec<u8>) {
        put_prefixed(out, LenPrefix::U24, |o| {
            for cert in &self.chain {
                put_opaque(o, LenPrefix::U24, cert.as_ref());
            }
        });
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let mut list = r.sub_u24()?;
        let mut chain = Vec::new();
        while !list.is_empty() {
            let der = list.sub_u24()?.take_rest();
            if der.is_empty() {
                return Err(InvalidMessage::EmptyList("ASN.1Cert"));
            }
            chain.push(CertificateDer::from(der.to_vec()));
        }
        Ok(Self { chain })
    }
}

/// ECDHE parameters for a named curve; explicit curves are not supported.
// RFC 8422 §5.4
//   struct { ECCurveType curve_type; select (curve_type) { case named_curve: NamedCurve namedcurve; }; } ECParameters;
//   struct { opaque point <1..2^8-1>; } ECPoint;
//   struct { ECParameters curve_params; ECPoint public; } ServerECDHParams;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcdheParams {
    /// The server's chosen group.
    pub group: NamedGroup,
    /// The server's ephemeral public key, non-empty.
    pub public: Vec<u8>,
}

impl EcdheParams {
    /// Append `ServerECDHParams` to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(NAMED_CURVE);
        self.group.encode(out);
        put_opaque(out, LenPrefix::U8, &self.public);
    }

    /// Read `ServerECDHParams`, leaving `r` after it. Any curve_type other than
    /// named_curve is [`InvalidMessage::IllegalValue`].
    pub fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        if r.u8()? != NAMED_CURVE {
            return Err(InvalidMessage::IllegalValue("curve_type"));
        }
        let group = NamedGroup::read(r)?;
        let public = read_point(r, "ECPoint")?;
        Ok(Self { group, public })
    }
}

impl Codec for EcdheParams {
    fn encode(&self, out: &mut Vec<u8>) {
        EcdheParams::encode(self, out)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        EcdheParams::read(r)
    }
}

/// An ECDHE ServerKeyExchange with its signature.
// RFC 8422 §5.4
//   struct { ServerECDHParams params; Signature signed_params; } ServerKeyExchange;
// RFC 5246 §4.7, §7.4.1.4.1
//   struct { SignatureAndHashAlgorithm algorithm; opaque signature<0..2^16-1>; } DigitallySigned;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyExchange {
    /// The signed ECDHE parameters.
    pub params: EcdheParams,
    /// The signature scheme used.
    pub scheme: SignatureScheme,
    /// The signature over [`ServerKeyExchange::signed_message`].
    pub signature: Vec<u8>,
}

impl ServerKeyExchange {
    /// The bytes the server signs: client_random || server_random || ServerECDHParams (RFC 8422 §5.4)
    pub fn signed_message(client_random: &[u8; 32], server_random: &[u8; 32], params: &EcdheParams) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 4 + params.public.len());
        out.put_slice(client_random);
        out.put_slice(server_random);
        params.encode(&mut out);
        out
    }
}

impl Codec for ServerKeyExchange {
    fn encode(&self, out: &mut Vec<u8>) {
        self.params.encode(out);
        self.scheme.encode(out);
        put_opaque(out, LenPrefix::U16, &self.signature);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            params: EcdheParams::read(r)?,
            scheme: SignatureScheme::read(r)?,
            signature: r.sub_u16()?.take_rest().to_vec(),
        })
    }
}

/// A CertificateRequest.
// RFC 5246 §7.4.4
//   struct {
//     ClientCertificateType certificate_types<1..2^8-1>;
//     SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>;
//     DistinguishedName certificate_authorities<0..2^16-1>;
//   } CertificateRequest;
//   opaque DistinguishedName<1..2^16-1>;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// Acceptable certificate types, non-empty.
    pub certificate_types: Vec<ClientCertificateType>,
    /// Acceptable signature schemes, non-empty.
    pub schemes: Vec<SignatureScheme>,
    /// DER-encoded distinguished names of acceptable CAs, each non-empty.
    pub authorities: Vec<Vec<u8>>,
}

impl Codec for CertificateRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        put_list(out, LenPrefix::U8, &self.certificate_types);
        put_list(out, LenPrefix::U16, &self.schemes);
        put_prefixed(out, LenPrefix::U16, |o| {
            for dn in &self.authorities {
                put_opaque(o, LenPrefix::U16, dn);
            }
        });
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let certificate_types: Vec<ClientCertificateType> = read_list(r.sub_u8()?)?;
        if certificate_types.is_empty() {
            return Err(InvalidMessage::EmptyList("certificate_types"));
        }
        let schemes: Vec<SignatureScheme> = read_list(r.sub_u16()?)?;
        if schemes.is_empty() {
            return Err(InvalidMessage::EmptyList("supported_signature_algorithms"));
        }
        let mut list = r.sub_u16()?;
        let mut authorities = Vec::new();
        while !list.is_empty() {
            let dn = list.sub_u16()?.take_rest();
            if dn.is_empty() {
                return Err(InvalidMessage::EmptyList("DistinguishedName"));
            }
            authorities.push(dn.to_vec());
        }
        Ok(Self { certificate_types, schemes, authorities })
    }
}

/// A CertificateVerify: the client's signature over the handshake messages.
// RFC 5246 §7.4.8
//   struct { digitally-signed struct { opaque handshake_messages[handshake_messages_length]; } } CertificateVerify;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateVerify {
    /// The signature scheme used.
    pub scheme: SignatureScheme,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

impl Codec for CertificateVerify {
    fn encode(&self, out: &mut Vec<u8>) {
        self.scheme.encode(out);
        put_opaque(out, LenPrefix::U16, &self.signature);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self { scheme: SignatureScheme::read(r)?, signature: r.sub_u16()?.take_rest().to_vec() })
    }
}

/// An ECDHE ClientKeyExchange: the client's ephemeral public key.
// RFC 8422 §5.7
//   struct { select (PublicValueEncoding) { case implicit: struct { }; case explicit: ECPoint ecdh_Yc; } ecdh_public; } ClientECDiffieHellmanPublic;
// Only the explicit form is used with ECDHE, so the point is u8-prefixed and non-empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKeyExchange {
    /// The client's ephemeral public key, non-empty.
    pub public: Vec<u8>,
}

impl Codec for ClientKeyExchange {
    fn encode(&self, out: &mut Vec<u8>) {
        put_opaque(out, LenPrefix::U8, &self.public);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self { public: read_point(r, "ecdh_Yc")? })
    }
}

/// A Finished message.
// RFC 5246 §7.4.9
//   struct { opaque verify_data[verify_data_length]; } Finished;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The whole body; 12 bytes for every cipher suite we support.
    pub verify_data: Vec<u8>,
}

impl Codec for Finished {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_slice(&self.verify_data);
    }

    /// Takes the rest of `r`, which must be exactly 12 bytes.
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let verify_data = r.take_rest();
        if verify_data.len() != VERIFY_DATA_LEN {
            return Err(InvalidMessage::IllegalValue("verify_data length"));
        }
        Ok(Self { verify_data: verify_data.to_vec() })
    }
}

/// A NewSessionTicket (RFC 5077 §3.3): the server's sealed session state for the client
/// to present in a later ClientHello.
// RFC 5077 §3.3
//   struct { uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>; } NewSessionTicket;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSessionTicket {
    /// Seconds the ticket should be kept; 0 means unspecified.
    pub lifetime_hint: u32,
    /// The opaque ticket (empty: the server has no ticket for us after all).
    pub ticket: Vec<u8>,
}

impl Codec for NewSessionTicket {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.lifetime_hint);
        put_opaque(out, LenPrefix::U16, &self.ticket);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let lifetime_hint = r.u32()?;
        let ticket = r.sub_u16()?.take_rest().to_vec();
        Ok(Self { lifetime_hint, ticket })
    }
}

/// The body of one handshake message.
// RFC 5246 §7.4, RFC 6347 §4.3.2
//   struct { HandshakeType msg_type; ...; select (HandshakeType) { ... } body; } Handshake;
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakePayload {
    /// HelloRequest (empty body); we never renegotiate.
    HelloRequest,
    /// ClientHello.
    ClientHello(ClientHello),
    /// ServerHello.
    ServerHello(ServerHello),
    /// HelloVerifyRequest.
    HelloVerifyRequest(HelloVerifyRequest),
    /// NewSessionTicket (RFC 5077).
    NewSessionTicket(NewSessionTicket),
    /// Certificate.
    Certificate(CertificateMsg),
    /// ServerKeyExchange (ECDHE).
    ServerKeyExchange(ServerKeyExchange),
    /// CertificateRequest.
    CertificateRequest(CertificateRequest),
    /// ServerHelloDone (empty body).
    ServerHelloDone,
    /// CertificateVerify.
    CertificateVerify(CertificateVerify),
    /// ClientKeyExchange (ECDHE).
    ClientKeyExchange(ClientKeyExchange),
    /// Finished.
    Finished(Finished),
}

impl HandshakePayload {
    /// The handshake type that goes in the message header.
    pub fn msg_type(&self) -> HandshakeType {
        match self {
            Self::HelloRequest => HandshakeType::HelloRequest,
            Self::ClientHello(_) => HandshakeType::ClientHello,
            Self::ServerHello(_) => HandshakeType::ServerHello,
            Self::HelloVerifyRequest(_) => HandshakeType::HelloVerifyRequest,
            Self::NewSessionTicket(_) => HandshakeType::NewSessionTicket,
            Self::Certificate(_) => HandshakeType::Certificate,
            Self::ServerKeyExchange(_) => HandshakeType::ServerKeyExchange,
            Self::CertificateRequest(_) => HandshakeType::CertificateRequest,
            Self::ServerHelloDone => HandshakeType::ServerHelloDone,
            Self::CertificateVerify(_) => HandshakeType::CertificateVerify,
            Self::ClientKeyExchange(_) => HandshakeType::ClientKeyExchange,
            Self::Finished(_) => HandshakeType::Finished,
        }
    }

    /// Append the body only, without the handshake header.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Self::HelloRequest | Self::ServerHelloDone => {}
            Self::ClientHello(m) => m.encode(out),
            Self::ServerHello(m) => m.encode(out),
            Self::HelloVerifyRequest(m) => m.encode(out),
            Self::NewSessionTicket(m) => m.encode(out),
            Self::Certificate(m) => m.encode(out),
            Self::ServerKeyExchange(m) => m.encode(out),
            Self::CertificateRequest(m) => m.encode(out),
            Self::CertificateVerify(m) => m.encode(out),
            Self::ClientKeyExchange(m) => m.encode(out),
            Self::Finished(m) => m.encode(out),
        }
    }

    /// Parse a complete (reassembled) body of type `typ`. Trailing bytes are rejected; an
    /// unknown type is [`InvalidMessage::IllegalValue`]`("handshake type")`.
    pub fn read(typ: HandshakeType, body: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(body);
        let payload = match typ {
            HandshakeType::HelloRequest => Self::HelloRequest,
            HandshakeType::ClientHello => Self::ClientHello(ClientHello::read(&mut r)?),
            HandshakeType::ServerHello => Self::ServerHello(ServerHello::read(&mut r)?),
            HandshakeType::HelloVerifyRequest => Self::HelloVerifyRequest(HelloVerifyRequest::read(&mut r)?),
            HandshakeType::NewSessionTicket => Self::NewSessionTicket(NewSessionTicket::read(&mut r)?),
            HandshakeType::Certificate => Self::Certificate(CertificateMsg::read(&mut r)?),
            HandshakeType::ServerKeyExchange => Self::ServerKeyExchange(ServerKeyExchange::read(&mut r)?),
            HandshakeType::CertificateRequest => Self::CertificateRequest(CertificateRequest::read(&mut r)?),
            HandshakeType::ServerHelloDone => Self::ServerHelloDone,
            HandshakeType::CertificateVerify => Self::CertificateVerify(CertificateVerify::read(&mut r)?),
            HandshakeType::ClientKeyExchange => Self::ClientKeyExchange(ClientKeyExchange::read(&mut r)?),
            HandshakeType::Finished => Self::Finished(Finished::read(&mut r)?),
            _ => return Err(InvalidMessage::IllegalValue("handshake type")),
        };
        r.expect_empty("handshake body")?;
        Ok(payload)
    }
}

/// An Alert record body.
// RFC 5246 §7.2
//   struct { AlertLevel level; AlertDescription description; } Alert;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// Warning or fatal.
    pub level: AlertLevel,
    /// What happened.
    pub description: AlertDescription,
}

impl Codec for Alert {
    fn encode(&self, out: &mut Vec<u8>) {
        self.level.encode(out);
        self.description.encode(out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self { level: AlertLevel::read(r)?, description: AlertDescription::read(r)? })
    }
}

/// A ChangeCipherSpec record body: the single byte 1.
// RFC 5246 §7.1
//   struct { enum { change_cipher_spec(1), (255) } type; } ChangeCipherSpec;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeCipherSpec;

impl Codec for ChangeCipherSpec {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(1);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        match r.u8()? {
            1 => Ok(Self),
            _ => Err(InvalidMessage::IllegalValue("change_cipher_spec")),
        }
    }
}

#[cfg(test)]
mod capture_tests;
#[cfg(test)]
pub(crate) mod tests;
