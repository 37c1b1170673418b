//! The hello messages: ClientHello with its cookie and HelloVerifyRequest (RFC 6347 §4.2.1),
//! ServerHello (RFC 5246 §7.4.1.3), and NewSessionTicket (RFC 5077 §3.3), which carries a
//! session to resume in a later ClientHello.

use crate::codec::{Codec, LenPrefix, Put, Reader, put_list, read_list};
use crate::error::InvalidMessage;
use crate::wire::extensions::{put_extensions, read_extensions};
use crate::wire::messages::put_opaque;
use crate::wire::{CipherSuite, Extension};

/// Longest `session_id` (RFC 5246 §7.4.1.2: `opaque SessionID<0..32>`).
const MAX_SESSION_ID: usize = 32;

/// Read `opaque SessionID<0..32>`.
fn read_session_id(r: &mut Reader<'_>) -> Result<Vec<u8>, InvalidMessage> {
    let id = r.sub_u8()?.take_rest();
    if id.len() > MAX_SESSION_ID {
        return Err(InvalidMessage::IllegalValue("session_id"));
    }
    Ok(id.to_vec())
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
    /// Highest version the client supports; [`DTLS_1_2`](super::DTLS_1_2) for us.
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
    /// RFC 6347 §4.2.1 recommends [`DTLS_1_0`](super::DTLS_1_0) here whatever version is negotiated.
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
