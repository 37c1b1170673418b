//! The ECDHE key exchange messages (RFC 8422 §5.4, §5.7): the server's signed parameters
//! (ServerKeyExchange) and the client's public key (ClientKeyExchange). Only named curves and
//! the explicit point form are represented.

use crate::codec::{Codec, LenPrefix, Put, Reader};
use crate::error::InvalidMessage;
use crate::wire::messages::put_opaque;
use crate::wire::{NamedGroup, SignatureScheme};

/// ECCurveType named_curve (RFC 8422 §5.4).
const NAMED_CURVE: u8 = 3;

/// Read a u8-prefixed, non-empty `opaque point <1..2^8-1>` (RFC 8422 §5.4).
fn read_point(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>, InvalidMessage> {
    let point = r.sub_u8()?.take_rest();
    if point.is_empty() {
        return Err(InvalidMessage::EmptyList(what));
    }
    Ok(point.to_vec())
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
