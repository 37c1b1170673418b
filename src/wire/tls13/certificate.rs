//! The TLS 1.3 authentication messages: Certificate (RFC 8446 §4.4.2), CertificateRequest
//! (§4.3.2) and CertificateVerify (§4.4.3).

use rustls_pki_types::CertificateDer;

use crate::codec::{Codec, LenPrefix, Put, Reader, put_prefixed};
use crate::error::InvalidMessage;
use crate::wire::tls13::{put_extension_block, read_extension_block};
use crate::wire::{Extension, ExtensionType, find_extension};

/// CertificateVerify is unchanged from TLS 1.2's digitally-signed layout: the DTLS 1.2 codec
/// is the 1.3 one. Only what is signed differs (RFC 8446 §4.4.3: 64 spaces, a context string,
/// a zero byte and the transcript hash), which is not a wire format.
// RFC 8446 §4.4.3
//   struct {
//       SignatureScheme algorithm;
//       opaque signature<0..2^16-1>;
//   } CertificateVerify;
pub use crate::wire::CertificateVerify;

/// Read `opaque certificate_request_context<0..2^8-1>`.
fn read_context(r: &mut Reader<'_>) -> Result<Vec<u8>, InvalidMessage> {
    Ok(r.sub_u8()?.take_rest().to_vec())
}

/// Write `opaque certificate_request_context<0..2^8-1>`.
fn put_context(out: &mut Vec<u8>, context: &[u8]) {
    put_prefixed(out, LenPrefix::U8, |o| o.put_slice(context));
}

/// One certificate of a chain with its per-certificate extensions (e.g. OCSP status, SCTs).
/// Only the X.509 form is represented; a raw public key (RFC 7250) has the same layout.
// RFC 8446 §4.4.2
//   struct {
//       select (certificate_type) {
//           case RawPublicKey: opaque ASN1_subjectPublicKeyInfo<1..2^24-1>;
//           case X509: opaque cert_data<1..2^24-1>;
//       };
//       Extension extensions<0..2^16-1>;
//   } CertificateEntry;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateEntry {
    /// The DER certificate, non-empty.
    pub cert_data: CertificateDer<'static>,
    /// The entry's extensions (always encoded, possibly as an empty block).
    pub extensions: Vec<Extension>,
}

impl Codec for CertificateEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        put_prefixed(out, LenPrefix::U24, |o| o.put_slice(self.cert_data.as_ref()));
        put_extension_block(out, &self.extensions);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let der = r.sub_u24()?.take_rest();
        if der.is_empty() {
            return Err(InvalidMessage::EmptyList("cert_data"));
        }
        let extensions = read_extension_block(r)?;
        Ok(Self { cert_data: CertificateDer::from(der.to_vec()), extensions })
    }
}

/// A TLS 1.3 Certificate message.
// RFC 8446 §4.4.2
//   struct {
//       opaque certificate_request_context<0..2^8-1>;
//       CertificateEntry certificate_list<0..2^24-1>;
//   } Certificate;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Empty in the handshake's server Certificate; the CertificateRequest's context in a
    /// client's.
    pub certificate_request_context: Vec<u8>,
    /// The chain, end-entity first; empty is a client without a certificate.
    pub certificate_list: Vec<CertificateEntry>,
}

impl Codec for Certificate {
    fn encode(&self, out: &mut Vec<u8>) {
        put_context(out, &self.certificate_request_context);
        put_prefixed(out, LenPrefix::U24, |o| self.certificate_list.iter().for_each(|e| e.encode(o)));
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let certificate_request_context = read_context(r)?;
        // Each entry consumes at least 5 bytes or fails, so this is bounded by the input.
        let certificate_list = crate::codec::read_list(r.sub_u24()?)?;
        Ok(Self { certificate_request_context, certificate_list })
    }
}

/// A TLS 1.3 CertificateRequest.
// RFC 8446 §4.3.2
//   struct {
//       opaque certificate_request_context<0..2^8-1>;
//       Extension extensions<2..2^16-1>;
//   } CertificateRequest;
//   "The "signature_algorithms" extension MUST be specified, and other extensions may
//   optionally be included if defined for this message."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// An identifier echoed in the client's Certificate; empty in the main handshake.
    pub certificate_request_context: Vec<u8>,
    /// The extensions; [`CertificateRequest::read`] requires `signature_algorithms`.
    pub extensions: Vec<Extension>,
}

impl Codec for CertificateRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        put_context(out, &self.certificate_request_context);
        put_extension_block(out, &self.extensions);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let certificate_request_context = read_context(r)?;
        let extensions = read_extension_block(r)?;
        if find_extension(&extensions, ExtensionType::SignatureAlgorithms).is_none() {
            return Err(InvalidMessage::IllegalValue("certificate_request without signature_algorithms"));
        }
        Ok(Self { certificate_request_context, extensions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::SignatureScheme;
    use crate::wire::tls13::test_util::{check_layout, hex};

    fn layout<T: Codec + PartialEq + core::fmt::Debug>(value: &T, bytes: &str) {
        check_layout(value, &hex(bytes), T::read_all, T::to_vec);
    }

    #[test]
    fn certificate_layout() {
        let msg = Certificate {
            certificate_request_context: vec![],
            certificate_list: vec![
                CertificateEntry { cert_data: CertificateDer::from(vec![0x30, 0x01, 0xaa]), extensions: vec![] },
                CertificateEntry {
                    cert_data: CertificateDer::from(vec![0x30, 0x00]),
                    extensions: vec![Extension::Unknown { typ: ExtensionType::Unknown(5), data: vec![1] }],
                },
            ],
        };
        layout(&msg, "00  00 00 14  00 00 03 30 01 aa 00 00  00 00 02 30 00 00 05 00 05 00 01 01");
        // A client without a certificate, answering a request with context 0x42.
        let empty = Certificate { certificate_request_context: vec![0x42], certificate_list: vec![] };
        layout(&empty, "01 42 00 00 00");
    }

    #[test]
    fn certificate_invalid() {
        let bad = |s: &str| Certificate::read_all(&hex(s));
        assert_eq!(bad("00 00 00 05 00 00 00 00 00"), Err(InvalidMessage::EmptyList("cert_data")));
        // An entry without its extension block.
        assert_eq!(bad("00 00 00 04 00 00 01 30"), Err(InvalidMessage::Truncated));
        // Duplicate extensions in an entry.
        assert_eq!(
            bad("00 00 00 0e 00 00 01 30 00 08 00 05 00 00 00 05 00 00"),
            Err(InvalidMessage::IllegalValue("duplicate extension"))
        );
        // The list length says more than there is.
        assert_eq!(bad("00 ff ff ff"), Err(InvalidMessage::Truncated));
    }

    #[test]
    fn certificate_request_layout() {
        let req = CertificateRequest {
            certificate_request_context: vec![],
            extensions: vec![Extension::SignatureAlgorithms(vec![SignatureScheme::ED25519])],
        };
        layout(&req, "00 00 08 00 0d 00 04 00 02 08 07");
        let with_context = CertificateRequest { certificate_request_context: vec![1, 2], ..req };
        layout(&with_context, "02 01 02 00 08 00 0d 00 04 00 02 08 07");
        // signature_algorithms is required.
        assert_eq!(
            CertificateRequest::read_all(&hex("00 00 04 ab cd 00 00")),
            Err(InvalidMessage::IllegalValue("certificate_request without signature_algorithms"))
        );
        assert_eq!(
            CertificateRequest::read_all(&hex("00 00 00")),
            Err(InvalidMessage::IllegalValue("certificate_request without signature_algorithms"))
        );
    }

    #[test]
    fn certificate_verify_is_the_12_layout() {
        let cv = CertificateVerify { scheme: SignatureScheme::ECDSA_NISTP256_SHA256, signature: vec![0x30, 0x06] };
        layout(&cv, "04 03 00 02 30 06");
        let empty = CertificateVerify { scheme: SignatureScheme::ED25519, signature: vec![] };
        layout(&empty, "08 07 00 00");
    }
}
