//! The certificate messages: Certificate (RFC 5246 §7.4.2), CertificateRequest (§7.4.4)
//! and CertificateVerify (§7.4.8).

use rustls_pki_types::CertificateDer;

use crate::codec::{Codec, LenPrefix, Reader, put_list, put_prefixed, read_list};
use crate::error::InvalidMessage;
use crate::wire::messages::put_opaque;
use crate::wire::{ClientCertificateType, SignatureScheme};

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
