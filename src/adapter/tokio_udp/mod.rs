//! Feature `tokio`: an async [`UdpEndpoint`] and [`UdpSession`] over
//! `tokio::net::UdpSocket`, shaped like node:dtls (`listen`, `connect`, `accept`, `send`,
//! `recv`, `close`, `closed`).
//!
//! One driver task per endpoint owns the socket and the sans-IO [`crate::Endpoint`];
//! handles talk to it over channels. This module must never make a protocol decision, and
//! never block the runtime. Its files: `endpoint`, `session` and `split` (the handles) and
//! `driver` (the driver task's loop); this file has the free functions.
//!
//! Design choices:
//! - [`connect`] and [`UdpEndpoint::connect`] resolve when the handshake completes,
//!   returning `Err` if it fails, so there is no separate `opened` future.
//! - [`UdpEndpoint::accept`] yields server sessions once their handshake completed.
//! - Dropping a [`UdpSession`] closes it gracefully (close_notify); dropping a
//!   [`UdpEndpoint`] closes every session and then stops the driver.
//! - [`UdpSession::into_split`] gives a [`RecvHalf`] for one task and a (cloneable)
//!   [`SendHalf`] for others; the session closes when the last of them is dropped.
//! - Received records wait in a bounded queue ([`EndpointOptions::receive_queue`]); when it
//!   is full, new records are dropped, as datagrams would be.
//! - [`connect`] and [`connect_timeout`] connect their own socket to the peer, so that an
//!   ICMP "port unreachable" ends the attempt at once (see the [parent module](super)).
//! - A request sent before a datagram arrived is carried out before that datagram is
//!   handled (an [`UdpEndpoint::approve_peer`] before the approved peer's ClientHello, say).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{ToSocketAddrs, lookup_host};

use super::{AdapterError, EndpointOptions};
use crate::config::{ClientConfig, ServerConfig};

mod driver;
mod endpoint;
#[macro_use]
mod session;
mod split;

pub use super::HandshakeFailure;
pub use endpoint::UdpEndpoint;
pub use session::UdpSession;
pub use split::{RecvHalf, SendHalf};

/// Start a server endpoint on `addr`: it accepts sessions with `config`; take them with
/// [`UdpEndpoint::accept`]. Must be called within a tokio runtime.
pub async fn listen(
    addr: impl ToSocketAddrs,
    config: Arc<ServerConfig>,
    options: EndpointOptions,
) -> Result<UdpEndpoint, AdapterError> {
    UdpEndpoint::start(addr, Some(config), options, None).await
}

/// Connect to a server from a fresh ephemeral socket and complete the handshake. The
/// returned session owns its endpoint; dropping the session closes both.
///
/// The socket is connected to the peer, so a peer that answers with ICMP "port unreachable"
/// (nothing listens there) fails the call at once with [`AdapterError::Io`] of kind
/// [`std::io::ErrorKind::ConnectionRefused`]. A peer that does not answer at all is given up
/// after the client configuration's handshake timeout ([`AdapterError::Dtls`] with
/// [`crate::Error::HandshakeTimeout`]); bound the wait with [`connect_timeout`].
pub async fn connect(addr: impl ToSocketAddrs, config: Arc<ClientConfig>) -> Result<UdpSession, AdapterError> {
    connect_own(addr, config, None).await
}

/// Like [`connect`], giving up when the handshake has not completed within `timeout`: the
/// pending session is destroyed and the call fails with [`AdapterError::ConnectTimeout`].
/// Name resolution of `addr` happens before and is not counted.
///
/// Prefer it to wrapping [`connect`] in `tokio::time::timeout`, which leaves the abandoned
/// handshake running in the driver until its own deadline.
pub async fn connect_timeout(
    addr: impl ToSocketAddrs,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<UdpSession, AdapterError> {
    connect_own(addr, config, Some(timeout)).await
}

async fn connect_own(
    addr: impl ToSocketAddrs,
    config: Arc<ClientConfig>,
    timeout: Option<Duration>,
) -> Result<UdpSession, AdapterError> {
    let remote = resolve(addr).await?;
    let bind: SocketAddr = if remote.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let endpoint = UdpEndpoint::start(bind, None, EndpointOptions::default(), Some(remote)).await?;
    let session = endpoint.open(remote, config, timeout).await?;
    session.keep_endpoint(endpoint);
    Ok(session)
}

async fn resolve(addr: impl ToSocketAddrs) -> Result<SocketAddr, AdapterError> {
    lookup_host(addr).await?.next().ok_or_else(|| AdapterError::Io(std::io::ErrorKind::AddrNotAvailable.into()))
}
