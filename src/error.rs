//! The error taxonomy. An [`Error`] returned while processing input is fatal for its
//! session only; one returned by a local request (`send`, an export) is not fatal at all
//! (see [`Error`] for which is which). Invalid records never surface here (they are dropped
//! and counted, RFC 6347 §4.1.2.7).
//!
//! Each fatal error maps to the alert we send ([`Error::alert`]).

use core::fmt;

use crate::registry::AlertDescription;

/// A message could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// The input ended before the structure did.
    Truncated,
    /// Bytes were left over after the named structure.
    TrailingData(&'static str),
    /// A field held a value that is not allowed (the name of the field).
    IllegalValue(&'static str),
    /// An empty vector where the RFC requires at least one element.
    EmptyList(&'static str),
    /// A message declared a size beyond our caps.
    TooLarge,
}

/// The peer sent something well-formed that breaks a protocol rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// A handshake message that is not allowed at this point of the handshake.
    UnexpectedMessage,
    /// A HelloVerifyRequest after the server's ServerHello (RFC 6347 §4.2.1).
    HelloVerifyRequestAfterServerHello,
    /// The peer's Finished did not carry the expected verify_data.
    BadFinished,
    /// A signature (ServerKeyExchange, CertificateVerify) did not verify.
    BadSignature,
    /// The peer's key-exchange public value is not a valid point or key.
    BadKeyShare,
    /// A client certificate without the CertificateVerify that proves its key.
    MissingCertificateVerify,
    /// An empty Certificate message where a certificate is required.
    EmptyCertificate,
    /// The server chose a cipher suite we did not offer.
    UnofferedCipherSuite,
    /// The server chose a group we did not offer.
    UnofferedGroup,
    /// The server answered with an extension we did not offer.
    UnofferedExtension,
    /// A signature made with a scheme we did not offer.
    UnofferedSignatureScheme,
    /// The server chose an application protocol (ALPN) we did not offer.
    UnofferedProtocol,
    /// A protocol version other than DTLS 1.2.
    WrongVersion,
    /// A renegotiation_info extension with the wrong contents (RFC 5746).
    BadRenegotiationInfo,
    /// The peer did not use extended_master_secret while it is required (RFC 7627).
    MissingExtendedMasterSecret,
    /// A cookie that does not verify.
    BadCookie,
    /// A ClientHello whose compression_methods lack `null` (RFC 5246 §7.4.1.2).
    NullCompressionMissing,
    /// An ec_point_formats list without `uncompressed` (RFC 8422 §5.1.2).
    UncompressedPointFormatMissing,
    /// A use_srtp answer with a profile we did not offer, several profiles, or another MKI
    /// (RFC 5764 §4.1.1).
    BadSrtpAnswer,
    /// A new handshake message after the peer's Finished ended its last flight (RFC 5246
    /// §7.4), other than a renegotiation attempt.
    HandshakeDataAfterFinished,
    /// A DTLS 1.3-capable server negotiated DTLS 1.2 with the downgrade sentinel in its
    /// random (RFC 8446 §4.1.3), or a server chose a version we did not offer.
    Downgrade,
    /// A DTLS 1.3 hello without an extension 1.3 requires (RFC 8446 §9.2).
    MissingExtension,
    /// A HelloRetryRequest that would not change the ClientHello, or a second one
    /// (RFC 8446 §4.1.4).
    BadHelloRetryRequest,
    /// A field whose value the protocol forbids here (RFC 8446 §6.2 `illegal_parameter`).
    IllegalParameter,
}

/// The peer is valid but wants something we do not support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerIncompatible {
    /// No signature scheme in common for our key (DTLS 1.3 CertificateVerify).
    NoCommonSignatureScheme,
    /// No cipher suite both sides support.
    NoCommonCipherSuite,
    /// No group (curve) both sides support.
    NoCommonGroup,
    /// No SRTP protection profile agreed while one is required (`require_srtp`,
    /// RFC 5764 §4.1.1): alert handshake_failure.
    NoCommonSrtpProfile,
    /// No application protocol (ALPN) both sides support (RFC 7301 §3.2).
    NoCommonApplicationProtocol,
    /// The peer offers no protocol version we support (only DTLS 1.2).
    UnsupportedVersion,
    /// The peer does not support extended_master_secret, which our configuration requires.
    ExtendedMasterSecretRequired,
    /// The client sent no certificate while our configuration requires one.
    CertificateRequired,
}

/// Why a peer certificate was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateError {
    /// The certificate could not be parsed.
    BadEncoding,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet.
    NotValidYet,
    /// The chain does not lead to a trusted root.
    UnknownIssuer,
    /// The certificate is not valid for the expected server name.
    NotValidForName,
    /// A signature in the chain did not verify.
    BadSignature,
    /// The certificate's key type or algorithm is not supported.
    UnsupportedKey,
    /// The certificate's fingerprint is not the pinned one
    /// ([`FingerprintVerifier`](crate::FingerprintVerifier), RFC 8122 §5).
    FingerprintMismatch,
    /// A user verifier's own reason.
    Other(String),
}

/// An error of the engine: a session's failure, or a refused request.
///
/// # Which errors are fatal
///
/// An error returned by [`Session::handle`](crate::Session::handle),
/// [`Session::handle_buf`](crate::Session::handle_buf) or
/// [`Session::handle_timeout`](crate::Session::handle_timeout) (and reported by an
/// [`Endpoint`](crate::Endpoint) as a session's failure) is fatal for that session only: its
/// alert ([`Error::alert`]), if any, has been queued as a transmit, and from then on the
/// session refuses input with [`Error::Closed`]. These are [`Error::InvalidMessage`],
/// [`Error::PeerMisbehaved`], [`Error::PeerIncompatible`], [`Error::InvalidCertificate`],
/// [`Error::AlertReceived`], [`Error::HandshakeTimeout`], [`Error::IdleTimeout`] and
/// [`Error::Crypto`].
///
/// An error returned by a local request (`send`, `export_keying_material`,
/// `srtp_keying_material`, on a session or through an endpoint or adapter) is not fatal:
/// the request was refused, nothing was queued, and the session goes on as before. These
/// are [`Error::MessageTooLarge`], [`Error::SendQueueFull`], [`Error::HandshakeNotComplete`],
/// [`Error::ExporterRefused`] and [`Error::SrtpNotNegotiated`]; [`Error::Closed`] says that
/// the session had already ended. The one exception is [`Error::Crypto`] from `send`, once
/// the session has used up its 2^48 record sequence numbers (RFC 6347 §4.1): nothing more
/// can be sent, and the session should be closed.
///
/// [`Error::InvalidConfig`] comes from configuration builders and constructors, before any
/// session exists.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A message from the peer could not be parsed.
    InvalidMessage(InvalidMessage),
    /// The peer broke a protocol rule.
    PeerMisbehaved(PeerMisbehaved),
    /// The peer wants something we do not support.
    PeerIncompatible(PeerIncompatible),
    /// The peer's certificate was rejected.
    InvalidCertificate(CertificateError),
    /// The peer sent a fatal alert.
    AlertReceived(AlertDescription),
    /// The handshake did not finish before the configured deadline.
    HandshakeTimeout,
    /// Nothing authentic arrived from the peer for the configured idle timeout.
    IdleTimeout,
    /// The configuration is not usable (what is wrong).
    InvalidConfig(String),
    /// An operation that needs an established session was attempted too early.
    HandshakeNotComplete,
    /// The session is closed or closing.
    Closed,
    /// `send` refused: the data is larger than one record can carry in one datagram of the
    /// configured MTU. Not fatal: nothing was sent, and the session stays usable; split the
    /// data, or send at most `max` bytes at once.
    MessageTooLarge {
        /// The largest payload one record carries at this session's MTU (what
        /// [`Session::max_payload`](crate::Session::max_payload) returns).
        max: usize,
    },
    /// `send` refused: the queue of datagrams not yet drained with `poll_transmit` is at
    /// its cap. Not fatal: drain transmits, then send again.
    SendQueueFull,
    /// Export of keying material refused (reserved label, say).
    ExporterRefused,
    /// SRTP keying material asked of a session that agreed no SRTP profile (RFC 5764): the
    /// peer offered or accepted none of ours. Not fatal. To refuse such a session during its
    /// handshake instead, configure `require_srtp(true)`.
    SrtpNotNegotiated,
    /// Connection IDs asked of a session that did not negotiate them (or, for the DTLS 1.3
    /// messages that change them, one that is not a DTLS 1.3 session). Not fatal.
    ConnectionIdsNotNegotiated,
    /// A cryptographic primitive failed where it should not have.
    Crypto(&'static str),
}

impl Error {
    /// The alert we send to the peer for this error, if any.
    pub fn alert(&self) -> Option<AlertDescription> {
        use AlertDescription as A;
        Some(match self {
            Self::InvalidMessage(_) => A::DecodeError,
            Self::PeerMisbehaved(p) => match p {
                PeerMisbehaved::BadFinished | PeerMisbehaved::BadSignature => A::DecryptError,
                PeerMisbehaved::BadKeyShare
                | PeerMisbehaved::UnofferedCipherSuite
                | PeerMisbehaved::UnofferedGroup
                | PeerMisbehaved::UnofferedSignatureScheme
                | PeerMisbehaved::UnofferedProtocol
                | PeerMisbehaved::NullCompressionMissing
                | PeerMisbehaved::UncompressedPointFormatMissing
                | PeerMisbehaved::BadSrtpAnswer
                | PeerMisbehaved::BadCookie
                | PeerMisbehaved::Downgrade
                | PeerMisbehaved::BadHelloRetryRequest
                | PeerMisbehaved::IllegalParameter => A::IllegalParameter,
                PeerMisbehaved::MissingExtension => A::MissingExtension,
                PeerMisbehaved::UnofferedExtension => A::UnsupportedExtension,
                PeerMisbehaved::WrongVersion => A::ProtocolVersion,
                PeerMisbehaved::BadRenegotiationInfo | PeerMisbehaved::MissingExtendedMasterSecret => {
                    A::HandshakeFailure
                }
                PeerMisbehaved::EmptyCertificate => A::BadCertificate,
                _ => A::UnexpectedMessage,
            },
            Self::PeerIncompatible(p) => match p {
                PeerIncompatible::UnsupportedVersion => A::ProtocolVersion,
                PeerIncompatible::NoCommonApplicationProtocol => A::NoApplicationProtocol,
                PeerIncompatible::CertificateRequired => A::HandshakeFailure,
                _ => A::HandshakeFailure,
            },
            Self::InvalidCertificate(c) => match c {
                CertificateError::Expired | CertificateError::NotValidYet => A::CertificateExpired,
                CertificateError::UnknownIssuer => A::UnknownCa,
                CertificateError::UnsupportedKey => A::UnsupportedCertificate,
                CertificateError::BadSignature => A::DecryptError,
                CertificateError::NotValidForName
                | CertificateError::BadEncoding
                | CertificateError::FingerprintMismatch
                | CertificateError::Other(_) => A::BadCertificate,
            },
            Self::HandshakeTimeout | Self::IdleTimeout => return None,
            Self::AlertReceived(_) | Self::Closed => return None,
            Self::InvalidConfig(_)
            | Self::HandshakeNotComplete
            | Self::MessageTooLarge { .. }
            | Self::SendQueueFull
            | Self::ExporterRefused
            | Self::SrtpNotNegotiated
            | Self::ConnectionIdsNotNegotiated => {
                return None;
            }
            Self::Crypto(_) => A::InternalError,
        })
    }
}

impl From<InvalidMessage> for Error {
    fn from(e: InvalidMessage) -> Self {
        Self::InvalidMessage(e)
    }
}

impl From<PeerMisbehaved> for Error {
    fn from(e: PeerMisbehaved) -> Self {
        Self::PeerMisbehaved(e)
    }
}

impl From<PeerIncompatible> for Error {
    fn from(e: PeerIncompatible) -> Self {
        Self::PeerIncompatible(e)
    }
}

impl From<CertificateError> for Error {
    fn from(e: CertificateError) -> Self {
        Self::InvalidCertificate(e)
    }
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadEncoding => "malformed certificate",
            Self::Expired => "certificate expired",
            Self::NotValidYet => "certificate not valid yet",
            Self::UnknownIssuer => "issued by an untrusted or unknown CA",
            Self::NotValidForName => "not valid for the server name",
            Self::BadSignature => "bad signature in the chain",
            Self::UnsupportedKey => "unsupported key or signature algorithm",
            Self::FingerprintMismatch => "certificate fingerprint does not match the pinned value",
            Self::Other(reason) => reason,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidMessage(e) => write!(f, "invalid message: {e:?}"),
            Self::PeerMisbehaved(e) => write!(f, "peer misbehaved: {e:?}"),
            Self::PeerIncompatible(e) => write!(f, "peer incompatible: {e:?}"),
            Self::InvalidCertificate(e) => write!(f, "invalid peer certificate: {e}"),
            Self::AlertReceived(a) => write!(f, "received fatal alert: {}", alert_name(*a)),
            Self::HandshakeTimeout => f.write_str("handshake timed out"),
            Self::IdleTimeout => f.write_str("idle timeout: nothing heard from the peer"),
            Self::InvalidConfig(s) => write!(f, "invalid configuration: {s}"),
            Self::HandshakeNotComplete => f.write_str("handshake not complete"),
            Self::Closed => f.write_str("session closed"),
            Self::MessageTooLarge { max } => {
                write!(f, "message too large for one record (at most {max} bytes at this MTU)")
            }
            Self::SendQueueFull => f.write_str("send queue full: drain poll_transmit first"),
            Self::ExporterRefused => f.write_str("keying material export refused"),
            Self::SrtpNotNegotiated => f.write_str("no SRTP protection profile was agreed"),
            Self::ConnectionIdsNotNegotiated => {
                f.write_str("no connection IDs were negotiated (DTLS 1.3 for new ones)")
            }
            Self::Crypto(s) => write!(f, "cryptographic failure: {s}"),
        }
    }
}

impl std::error::Error for Error {}

/// The lowercase RFC name of an alert, as OpenSSL prints it (`handshake_failure`).
pub fn alert_name(a: AlertDescription) -> String {
    use AlertDescription as A;
    let s = match a {
        A::CloseNotify => "close_notify",
        A::UnexpectedMessage => "unexpected_message",
        A::BadRecordMac => "bad_record_mac",
        A::RecordOverflow => "record_overflow",
        A::DecompressionFailure => "decompression_failure",
        A::HandshakeFailure => "handshake_failure",
        A::BadCertificate => "bad_certificate",
        A::UnsupportedCertificate => "unsupported_certificate",
        A::CertificateRevoked => "certificate_revoked",
        A::CertificateExpired => "certificate_expired",
        A::CertificateUnknown => "certificate_unknown",
        A::IllegalParameter => "illegal_parameter",
        A::UnknownCa => "unknown_ca",
        A::AccessDenied => "access_denied",
        A::DecodeError => "decode_error",
        A::DecryptError => "decrypt_error",
        A::ProtocolVersion => "protocol_version",
        A::InsufficientSecurity => "insufficient_security",
        A::InternalError => "internal_error",
        A::UserCanceled => "user_canceled",
        A::NoRenegotiation => "no_renegotiation",
        A::MissingExtension => "missing_extension",
        A::UnsupportedExtension => "unsupported_extension",
        A::CertificateRequired => "certificate_required",
        A::UnrecognizedName => "unrecognized_name",
        A::NoApplicationProtocol => "no_application_protocol",
        A::Unknown(v) => return format!("alert_{v}"),
    };
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Certificate failures read as sentences, not as variant names.
    #[test]
    fn certificate_errors_display_as_text() {
        let e = Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(e.to_string(), "invalid peer certificate: issued by an untrusted or unknown CA");
        let other = Error::InvalidCertificate(CertificateError::Other("pin mismatch".into()));
        assert_eq!(other.to_string(), "invalid peer certificate: pin mismatch");
        let pin = Error::InvalidCertificate(CertificateError::FingerprintMismatch);
        assert_eq!(
            pin.to_string(),
            "invalid peer certificate: certificate fingerprint does not match the pinned value"
        );
        assert_eq!(pin.alert(), Some(AlertDescription::BadCertificate));
    }
}
