//! Handshake message bodies (RFC 5246 §7.4, RFC 6347 §4.2, RFC 8422 §5) and the Alert and
//! ChangeCipherSpec record bodies (RFC 5246 §7.1, §7.2).
//!
//! This module owns the byte layout of message *bodies* only: the 12-byte DTLS handshake
//! header, fragmentation and reassembly live elsewhere. It checks syntax (lengths, non-empty
//! vectors, trailing bytes) and never decides policy (which suite, group or scheme is
//! acceptable). Only the ECDHE key exchange is represented. Nothing here may panic on input.
//!
//! `hello`, `key_exchange` and `certificate` hold the message bodies by flight; this file
//! holds Finished, the union of all bodies (`HandshakePayload`) and the record bodies.

mod certificate;
mod hello;
mod key_exchange;

pub use certificate::{CertificateMsg, CertificateRequest, CertificateVerify};
pub use hello::{ClientHello, HelloVerifyRequest, NewSessionTicket, ServerHello};
pub use key_exchange::{ClientKeyExchange, EcdheParams, ServerKeyExchange};

use crate::codec::{Codec, LenPrefix, Put, Reader, put_prefixed};
use crate::error::InvalidMessage;
use crate::wire::{AlertDescription, AlertLevel, HandshakeType};

/// The DTLS 1.2 `ProtocolVersion` on the wire (RFC 6347 §4.1: the 1's complement of 1.2).
pub const DTLS_1_2: u16 = 0xfefd;
/// The DTLS 1.3 `ProtocolVersion`, 0xfefc (RFC 9147 §5.3). It travels only in the
/// `supported_versions` extension; the hellos' legacy version fields carry [`DTLS_1_2`].
pub const DTLS_1_3: u16 = 0xfefc;
/// The DTLS 1.0 `ProtocolVersion` on the wire (RFC 4347 §4.1).
pub const DTLS_1_0: u16 = 0xfeff;

/// `verify_data_length` for every TLS 1.2 cipher suite we know (RFC 5246 §7.4.9).
const VERIFY_DATA_LEN: usize = 12;

/// Write `bytes` behind a length prefix.
fn put_opaque(out: &mut Vec<u8>, prefix: LenPrefix, bytes: &[u8]) {
    put_prefixed(out, prefix, |o| o.put_slice(bytes));
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
