//! What can go wrong in an adapter: [`AdapterError`], and [`HandshakeFailure`], the report
//! of a server handshake that failed before its session could be accepted. Owns no protocol
//! logic: a DTLS failure is the core's [`crate::Error`], carried as it is.

use std::net::SocketAddr;
use std::time::Duration;

use crate::endpoint::ConnectError;

/// A server handshake that failed before the session could be accepted, as an endpoint's
/// `handshake_failure` reports it.
#[derive(Debug, Clone)]
pub struct HandshakeFailure {
    /// The client's address.
    pub remote: SocketAddr,
    /// What went wrong (its alert, if any, was sent to the client).
    pub error: crate::Error,
}

/// What can go wrong in an adapter (`std_udp` or `tokio_udp`). The sans-IO core's own error
/// is [`crate::Error`], carried here as [`AdapterError::Dtls`].
#[derive(Debug)]
#[non_exhaustive]
pub enum AdapterError {
    /// The socket failed (bind, address resolution, send). A `connect` from its own socket
    /// whose peer answered with ICMP "port unreachable" before the handshake completed
    /// fails with kind [`std::io::ErrorKind::ConnectionRefused`] (see the
    /// [module documentation](super)).
    Io(std::io::Error),
    /// The DTLS session failed; the peer got the matching alert. Also a configuration the
    /// adapter refused at bind time ([`crate::Error::InvalidConfig`]: workers that do not
    /// fit the connection IDs, see [`super::EndpointOptions::workers`]).
    Dtls(crate::Error),
    /// The endpoint refused to start a session.
    Connect(ConnectError),
    /// The endpoint or session is closed (or its driver has stopped).
    Closed,
    /// `connect_timeout`: the handshake did not complete within this time; the pending
    /// session was destroyed.
    ConnectTimeout(Duration),
}

impl core::fmt::Display for AdapterError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "i/o: {e}"),
            Self::Dtls(e) => write!(f, "dtls: {e}"),
            Self::Connect(e) => write!(f, "connect: {e}"),
            Self::Closed => f.write_str("closed"),
            Self::ConnectTimeout(t) => write!(f, "connect: no handshake within the timeout of {t:?}"),
        }
    }
}

impl std::error::Error for AdapterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Dtls(e) => Some(e),
            Self::Connect(e) => Some(e),
            Self::Closed | Self::ConnectTimeout(_) => None,
        }
    }
}

impl From<std::io::Error> for AdapterError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<crate::Error> for AdapterError {
    fn from(e: crate::Error) -> Self {
        Self::Dtls(e)
    }
}

impl From<ConnectError> for AdapterError {
    fn from(e: ConnectError) -> Self {
        Self::Connect(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_timeout_error_names_the_timeout() {
        let e = AdapterError::ConnectTimeout(Duration::from_millis(300));
        assert!(e.to_string().contains("300ms"), "{e}");
    }
}
