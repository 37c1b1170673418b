//! Feature `std-net`: a blocking [`UdpEndpoint`] and [`UdpSession`] over
//! `std::net::UdpSocket`.
//!
//! One driver thread per endpoint owns the socket and the sans-IO [`crate::Endpoint`];
//! handles talk to it over channels and wake it by sending an empty datagram to the socket's
//! own address (empty datagrams are never DTLS, so the driver ignores them). This module
//! must never make a protocol decision. Its files: `endpoint` and `session` (the handles),
//! `channels` (what handles and the driver share), `queue` (the driver's input channel),
//! `driver` (the driver thread's loop) and
//! `reader` (the reader thread of a connected socket, or of a worker's); this file has the
//! free functions.
//!
//! With [`EndpointOptions::workers`] above one, each worker has its own socket, driver thread
//! and reader thread: the kernel would hash a wake-up datagram sent to the shared address to
//! whichever worker it likes, so each driver waits on its channel, which its reader, the
//! handles and the other workers (with hand-offs) feed.
//!
//! As in the tokio adapter, [`UdpEndpoint::connect`] returns once the handshake completed,
//! [`UdpEndpoint::accept`] yields established server sessions, and dropping a handle closes
//! it gracefully. Every method of both handles takes `&self`, and both are `Send` and
//! `Sync`: share a session between threads (an `Arc` or a scoped thread) to receive on one
//! while another sends.
//!
//! [`connect`] and [`connect_timeout`] connect their own socket to the peer, so that an
//! ICMP "port unreachable" ends the attempt at once (see the [parent module](super)). A
//! connected socket takes datagrams only from its peer, so the wake-up datagram cannot
//! reach it: there a second thread reads the socket and hands the driver each datagram
//! through the driver's channel, on which the driver waits instead.

use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{AdapterError, EndpointOptions};
use crate::config::{ClientConfig, ServerConfig};

mod channels;
mod driver;
mod endpoint;
mod queue;
mod reader;
mod session;

pub use super::HandshakeFailure;
pub use endpoint::UdpEndpoint;
pub use session::UdpSession;

/// Start a server endpoint on `addr`; take its sessions with [`UdpEndpoint::accept`].
pub fn listen(
    addr: impl ToSocketAddrs,
    config: Arc<ServerConfig>,
    options: EndpointOptions,
) -> Result<UdpEndpoint, AdapterError> {
    UdpEndpoint::start(addr, Some(config), options, None)
}

/// Connect from a fresh ephemeral socket and complete the handshake. The session owns its
/// endpoint; dropping the session closes both.
///
/// The socket is connected to the peer, so a peer that answers with ICMP "port unreachable"
/// (nothing listens there) fails the call at once with [`AdapterError::Io`] of kind
/// [`ErrorKind::ConnectionRefused`]. A peer that does not answer at all is given up after
/// the client configuration's handshake timeout ([`AdapterError::Dtls`] with
/// [`crate::Error::HandshakeTimeout`]); bound the wait yourself with [`connect_timeout`].
pub fn connect(addr: impl ToSocketAddrs, config: Arc<ClientConfig>) -> Result<UdpSession, AdapterError> {
    connect_own(addr, config, None)
}

/// Like [`connect`], giving up when the handshake has not completed within `timeout`: the
/// pending session is destroyed and the call fails with [`AdapterError::ConnectTimeout`].
/// Name resolution of `addr` happens before and is not counted.
pub fn connect_timeout(
    addr: impl ToSocketAddrs,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<UdpSession, AdapterError> {
    connect_own(addr, config, Some(timeout))
}

fn connect_own(
    addr: impl ToSocketAddrs,
    config: Arc<ClientConfig>,
    timeout: Option<Duration>,
) -> Result<UdpSession, AdapterError> {
    let remote = resolve(addr)?;
    let bind: SocketAddr = if remote.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let endpoint = UdpEndpoint::start(bind, None, EndpointOptions::default(), Some(remote))?;
    let mut session = endpoint.open(remote, config, timeout)?;
    session.endpoint = Some(endpoint);
    Ok(session)
}

fn resolve(addr: impl ToSocketAddrs) -> Result<SocketAddr, AdapterError> {
    addr.to_socket_addrs()?.next().ok_or_else(|| AdapterError::Io(ErrorKind::AddrNotAvailable.into()))
}

/// `Ok(Some)` for a value, `Ok(None)` when `timeout` passed first, `Err(Closed)` when the
/// sender is gone.
fn recv_timeout<T>(rx: &Receiver<T>, timeout: Duration) -> Result<Option<T>, AdapterError> {
    match rx.recv_timeout(timeout) {
        Ok(v) => Ok(Some(v)),
        Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(AdapterError::Closed),
    }
}

/// Lock `m`, whether or not a thread panicked while holding it (what it guards stays valid).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
