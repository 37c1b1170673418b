//! [`UdpEndpoint`], the tokio handle of one socket carrying many sessions: it spawns the
//! driver task and sends it requests. It never touches the socket after handing it over.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{ToSocketAddrs, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::driver::Driver;
use super::session::{Command, UdpSession};
use super::{HandshakeFailure, resolve};
use crate::adapter::driver::{EndpointStatus, FAILURE_QUEUE};
use crate::adapter::slots::Slots;
use crate::adapter::{AdapterError, EndpointOptions};
use crate::config::{ClientConfig, ServerConfig};
use crate::endpoint::{Endpoint as Core, EndpointState};
use crate::stats::EndpointStats;

/// A UDP socket carrying many DTLS sessions (node:dtls `DTLSEndpoint`), driven by a
/// background task: the async counterpart of the sans-IO [`crate::Endpoint`]. Make one with
/// [`super::listen`] (server) or [`UdpEndpoint::bind`] (client only). Every method takes
/// `&self`; dropping the endpoint closes it and all its sessions gracefully.
pub struct UdpEndpoint {
    cmd: mpsc::UnboundedSender<Command>,
    accept: tokio::sync::Mutex<mpsc::UnboundedReceiver<UdpSession>>,
    failures: tokio::sync::Mutex<mpsc::Receiver<HandshakeFailure>>,
    status: watch::Receiver<EndpointStatus>,
    local_addr: SocketAddr,
    driver: Mutex<Option<JoinHandle<()>>>,
}

impl core::fmt::Debug for UdpEndpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UdpEndpoint").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

impl UdpEndpoint {
    /// A client-only endpoint on `addr` (use [`UdpEndpoint::connect`] for sessions).
    pub async fn bind(addr: impl ToSocketAddrs, options: EndpointOptions) -> Result<UdpEndpoint, AdapterError> {
        Self::start(addr, None, options, None).await
    }

    /// An endpoint on `addr`; with `peer`, its socket is connected to that one peer.
    pub(super) async fn start(
        addr: impl ToSocketAddrs,
        server: Option<Arc<ServerConfig>>,
        options: EndpointOptions,
        peer: Option<SocketAddr>,
    ) -> Result<UdpEndpoint, AdapterError> {
        let socket = UdpSocket::bind(addr).await?;
        if let Some(remote) = peer {
            socket.connect(remote).await?;
        }
        let local_addr = socket.local_addr()?;
        let now = Instant::now();
        let core = Core::new(now, options.endpoint_config(server));
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (accept_tx, accept_rx) = mpsc::unbounded_channel();
        let (failure_tx, failure_rx) = mpsc::channel(FAILURE_QUEUE);
        let (status_tx, status_rx) = watch::channel(EndpointStatus::of(&core));
        let driver = Driver {
            socket,
            peer,
            core,
            status: status_tx,
            slots: Slots::new(cmd_tx.clone(), options.receive_queue, accept_tx, failure_tx),
        };
        let task = tokio::spawn(driver.run(cmd_rx));
        Ok(UdpEndpoint {
            cmd: cmd_tx,
            accept: tokio::sync::Mutex::new(accept_rx),
            failures: tokio::sync::Mutex::new(failure_rx),
            status: status_rx,
            local_addr,
            driver: Mutex::new(Some(task)),
        })
    }

    /// The next session whose handshake completed; `None` once the endpoint is closing.
    pub async fn accept(&self) -> Option<UdpSession> {
        self.accept.lock().await.recv().await
    }

    /// The next server handshake that failed (so it never reached
    /// [`UdpEndpoint::accept`]); `None` once the endpoint is closed. At most a few unread
    /// failures are kept.
    pub async fn handshake_failure(&self) -> Option<HandshakeFailure> {
        self.failures.lock().await.recv().await
    }

    /// Start a client session to `addr` on this endpoint's socket and wait for the handshake.
    ///
    /// This socket is not connected to the peer (it may serve many), and the OS reports no
    /// ICMP errors on an unconnected socket: a peer where nothing listens is given up only
    /// after the client configuration's handshake timeout (60 s by default). Use
    /// [`UdpEndpoint::connect_timeout`] to bound the wait, or [`super::connect`] for a socket
    /// of its own that learns of a refusal at once.
    pub async fn connect(
        &self,
        addr: impl ToSocketAddrs,
        config: Arc<ClientConfig>,
    ) -> Result<UdpSession, AdapterError> {
        self.open(resolve(addr).await?, config, None).await
    }

    /// Like [`UdpEndpoint::connect`], giving up when the handshake has not completed within
    /// `timeout`: the pending session is destroyed and the call fails with
    /// [`AdapterError::ConnectTimeout`]. Name resolution of `addr` happens before and is not
    /// counted.
    pub async fn connect_timeout(
        &self,
        addr: impl ToSocketAddrs,
        config: Arc<ClientConfig>,
        timeout: Duration,
    ) -> Result<UdpSession, AdapterError> {
        self.open(resolve(addr).await?, config, Some(timeout)).await
    }

    pub(super) async fn open(
        &self,
        remote: SocketAddr,
        config: Arc<ClientConfig>,
        timeout: Option<Duration>,
    ) -> Result<UdpSession, AdapterError> {
        let (reply, rx) = oneshot::channel();
        self.cmd.send(Command::Connect { config, remote, timeout, reply }).map_err(|_| AdapterError::Closed)?;
        rx.await.map_err(|_| AdapterError::Closed)?
    }

    /// Whether `remote` may start a server handshake now under
    /// [`EndpointOptions::hello_policy`] (asks the driver); `false` once it has stopped.
    pub async fn may_send_hello(&self, remote: SocketAddr) -> bool {
        let (reply, rx) = oneshot::channel();
        self.cmd.send(Command::MaySendHello { remote, reply }).is_ok() && rx.await.unwrap_or(false)
    }

    fn status_of<T>(&self, f: impl FnOnce(&EndpointStatus) -> T) -> T {
        f(&self.status.borrow())
    }

    /// A request without an answer; a stopped driver has nothing left to do with it.
    fn request(&self, c: Command) {
        let _ = self.cmd.send(c);
    }

    endpoint_accessors!();

    /// Resolves when the endpoint is closed and its driver task has finished.
    pub async fn closed(&self) {
        let mut status = self.status.clone();
        let _ = status.wait_for(|s| s.state == EndpointState::Closed).await;
        let task = self.driver.lock().ok().and_then(|mut d| d.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// True once the driver task has finished (nothing of the endpoint is left running).
    pub fn is_finished(&self) -> bool {
        self.driver.lock().ok().is_none_or(|d| d.as_ref().is_none_or(|t| t.is_finished()))
    }
}

impl Drop for UdpEndpoint {
    fn drop(&mut self) {
        self.request(Command::CloseEndpoint);
    }
}
