//! DTLS 1.3 handshake wire formats: RFC 8446 §4 as amended by RFC 9147 §5. Codecs only.
//!
//! DTLS 1.3 keeps the DTLS 1.2 hello layouts (RFC 9147 §5.3: ClientHello with
//! `legacy_cookie`) and the 12-byte handshake header (`wire::handshake_header`), so
//! [`ClientHello`](super::ClientHello), [`ServerHello`](super::ServerHello) and the header
//! codec parse 1.3 messages as they are. What 1.3 adds lives here, one concern per file:
//!
//! - `supported_versions.rs`, `key_share.rs`, `hello_extensions.rs`: the bodies of the 1.3
//!   extensions (supported_versions, key_share, cookie, psk_key_exchange_modes,
//!   signature_algorithms_cert). The 1.2 [`Extension`] enum has no variant for them and keeps
//!   them verbatim as [`Extension::Unknown`]; [`ExtensionBody`] converts between that and the
//!   typed body, so 1.2 parsing is untouched;
//! - `server_hello.rs`: the HelloRetryRequest random and the downgrade sentinels;
//! - `messages.rs`, `certificate.rs`: EncryptedExtensions, KeyUpdate, NewSessionTicket, and
//!   the 1.3 Certificate, CertificateRequest and CertificateVerify;
//! - `transcript.rs`: the transcript form of a message and the HelloRetryRequest
//!   `message_hash` construction;
//! - `ack.rs`: the DTLS 1.3 ACK record body (RFC 9147 §7);
//! - `connection_id.rs`: NewConnectionId and RequestConnectionId (RFC 9147 §9).
//!
//! As in the rest of `wire`, these check syntax (lengths, non-empty vectors, trailing bytes,
//! invalid enum values) and never policy. Every list is read from a length-prefixed slice of
//! the input, so what a parse allocates is bounded by the input's length; nothing panics.

mod ack;
mod certificate;
mod connection_id;
mod hello_extensions;
mod key_share;
mod messages;
mod server_hello;
mod supported_versions;
mod transcript;

pub use ack::{Ack, RecordNumber};
pub use certificate::{Certificate, CertificateEntry, CertificateRequest, CertificateVerify};
pub use connection_id::{ConnectionIdUsage, NewConnectionId, RequestConnectionId};
pub use hello_extensions::{Cookie, PskKeyExchangeModes, SignatureAlgorithmsCert};
pub use key_share::{KeyShareClientHello, KeyShareEntry, KeyShareHelloRetryRequest, KeyShareServerHello};
pub use messages::{EncryptedExtensions, KeyUpdate, KeyUpdateRequest, NewSessionTicket};
pub use server_hello::{
    DOWNGRADE_TLS11, DOWNGRADE_TLS12, DowngradeSentinel, HELLO_RETRY_REQUEST_RANDOM, downgrade_sentinel,
    is_hello_retry_request,
};
pub use supported_versions::{SupportedVersionsClientHello, SupportedVersionsServerHello};
pub use transcript::{message_hash, transcript_message};

use crate::codec::{Codec, LenPrefix, Reader, put_list};
use crate::error::InvalidMessage;
use crate::wire::{Extension, ExtensionType, find_extension, read_extensions};

/// The typed body (`extension_data`) of one DTLS 1.3 extension.
///
/// The hello codecs keep these extensions as [`Extension::Unknown`]; [`Self::find_in`] reads
/// the typed body out of a parsed extension list and [`Self::to_extension`] makes the list
/// entry. An extension whose syntax depends on the message (RFC 8446 §4.2.1, §4.2.8) has one
/// type per message, all with the same [`Self::TYPE`].
pub trait ExtensionBody: Sized {
    /// The extension's code point.
    const TYPE: ExtensionType;

    /// Append `extension_data` (without the type and length) to `out`.
    fn encode_body(&self, out: &mut Vec<u8>);

    /// Read `extension_data` from `r`; [`Self::parse`] checks that nothing is left.
    fn read_body(r: &mut Reader<'_>) -> Result<Self, InvalidMessage>;

    /// Parse a whole `extension_data`, rejecting trailing bytes.
    fn parse(data: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(data);
        let body = Self::read_body(&mut r)?;
        r.expect_empty("extension_data")?;
        Ok(body)
    }

    /// The encoded `extension_data`.
    fn body_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_body(&mut out);
        out
    }

    /// The extension list entry carrying this body.
    fn to_extension(&self) -> Extension {
        Extension::Unknown { typ: Self::TYPE, data: self.body_bytes() }
    }

    /// Find the extension of type [`Self::TYPE`] in `exts` and parse its body: `Ok(None)` if
    /// absent, an error if present but malformed.
    fn find_in(exts: &[Extension]) -> Result<Option<Self>, InvalidMessage> {
        match find_extension(exts, Self::TYPE) {
            None => Ok(None),
            Some(Extension::Unknown { data, .. }) => Self::parse(data).map(Some),
            // Not reached while `Extension` has no variant for the 1.3 types; should one be
            // added, its encoded body is still the same bytes.
            Some(other) => Self::parse(other.to_vec().get(4..).unwrap_or_default()).map(Some),
        }
    }
}

/// Read a mandatory u16-prefixed extension block (`Extension extensions<0..2^16-1>`), as the
/// 1.3 messages other than the hellos have it: absent is [`InvalidMessage::Truncated`].
/// Duplicate types are rejected as in the hellos (RFC 8446 §4.2).
fn read_extension_block(r: &mut Reader<'_>) -> Result<Vec<Extension>, InvalidMessage> {
    if r.is_empty() {
        return Err(InvalidMessage::Truncated);
    }
    read_extensions(r)
}

/// Write a mandatory u16-prefixed extension block (written even when empty).
fn put_extension_block(out: &mut Vec<u8>, exts: &[Extension]) {
    put_list(out, LenPrefix::U16, exts);
}

/// Fail with [`InvalidMessage::EmptyList`] if `v` is empty.
fn non_empty<T>(v: Vec<T>, what: &'static str) -> Result<Vec<T>, InvalidMessage> {
    if v.is_empty() { Err(InvalidMessage::EmptyList(what)) } else { Ok(v) }
}

/// Read a u16-prefixed list of 2-byte items, rejecting an odd length.
fn read_u16_items<T: Codec>(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<T>, InvalidMessage> {
    let list = r.sub_u16()?;
    if !list.left().is_multiple_of(2) {
        return Err(InvalidMessage::IllegalValue(what));
    }
    crate::codec::read_list(list)
}

#[cfg(test)]
pub(crate) mod test_util;
