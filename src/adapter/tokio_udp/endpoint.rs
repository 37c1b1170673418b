//! [`UdpEndpoint`], the tokio handle of one socket carrying many sessions (or of several
//! sockets on one address, one per worker): it spawns the driver tasks and sends them
//! requests. It never touches a socket after handing it over.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{ToSocketAddrs, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::driver::{Driver, HandOffRx, HandOffTx};
use super::session::{Command, UdpSession};
use super::{HandshakeFailure, resolve};
use crate::adapter::driver::{EndpointStatus, FAILURE_QUEUE};
use crate::adapter::slots::Slots;
use crate::adapter::workers::{self, HANDOFF_QUEUE, Layout, Outgoing, Router, Spares};
use crate::adapter::{AdapterError, EndpointOptions};
use crate::config::{ClientConfig, ServerConfig};
use crate::endpoint::{Endpoint as Core, EndpointState};
use crate::stats::EndpointStats;

/// A UDP socket carrying many DTLS sessions (node:dtls `DTLSEndpoint`), driven by a
/// background task: the async counterpart of the sans-IO [`crate::Endpoint`]. Make one with
/// [`super::listen`] (server) or [`UdpEndpoint::bind`] (client only). Every method takes
/// `&self`; dropping the endpoint closes it and all its sessions gracefully.
///
/// With [`EndpointOptions::workers`] above one, it is several sockets on one address, each
/// with its own endpoint and driver task (spread over the threads of a multi-thread
/// runtime), all feeding the one [`accept`](Self::accept); [`stats`](Self::stats) adds
/// theirs up and [`worker_stats`](Self::worker_stats) shows each.
pub struct UdpEndpoint {
    /// The first worker (the only one, usually): it also runs `connect`.
    first: Worker,
    others: Vec<Worker>,
    accept: tokio::sync::Mutex<mpsc::UnboundedReceiver<UdpSession>>,
    failures: tokio::sync::Mutex<mpsc::Receiver<HandshakeFailure>>,
    local_addr: SocketAddr,
    /// How its workers lay out connection IDs (`connect` makes its CIDs name the first).
    layout: Arc<Layout>,
}

/// One socket's driver task, how to reach it, and what it publishes.
struct Worker {
    cmd: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<EndpointStatus>,
    driver: Mutex<Option<JoinHandle<()>>>,
}

impl Worker {
    /// Spawn a driver for `socket` and `core`, handing established sessions to `accept`.
    fn spawn(
        socket: UdpSocket,
        peer: Option<SocketAddr>,
        core: Core,
        queues: (&mpsc::UnboundedSender<UdpSession>, &mpsc::Sender<HandshakeFailure>, usize),
        router: Option<(Router<HandOffTx>, HandOffRx)>,
    ) -> Self {
        let (accept, failures, receive_queue) = queues;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (status_tx, status_rx) = watch::channel(EndpointStatus::of(&core, Default::default()));
        let (router, handoffs) = router.unzip();
        let driver = Driver {
            socket,
            peer,
            core,
            status: status_tx,
            slots: Slots::new(cmd_tx.clone(), receive_queue, accept.clone(), failures.clone()),
            router,
            handoffs,
        };
        let task = tokio::spawn(driver.run(cmd_rx));
        Self { cmd: cmd_tx, status: status_rx, driver: Mutex::new(Some(task)) }
    }

    /// Resolves when its endpoint is closed and its task has finished.
    async fn closed(&self) {
        let mut status = self.status.clone();
        let _ = status.wait_for(|s| s.state == EndpointState::Closed).await;
        let task = self.driver.lock().ok().and_then(|mut d| d.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    fn is_finished(&self) -> bool {
        self.driver.lock().ok().is_none_or(|d| d.as_ref().is_none_or(|t| t.is_finished()))
    }
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
        let (layout, mut configs) = workers::plan(server.as_ref(), &options)?;
        let layout = Arc::new(layout);
        let (accept_tx, accept_rx) = mpsc::unbounded_channel();
        let (failure_tx, failure_rx) = mpsc::channel(FAILURE_QUEUE);
        let queues = (&accept_tx, &failure_tx, options.receive_queue);
        let (first, others, local_addr) = if layout.workers() > 1 {
            Self::start_workers(resolve(addr).await?, layout.clone(), configs, queues)?
        } else {
            let socket = UdpSocket::bind(addr).await?;
            if let Some(remote) = peer {
                socket.connect(remote).await?;
            }
            let local_addr = socket.local_addr()?;
            let config = configs.pop().ok_or(AdapterError::Closed)?;
            let core = Core::new(Instant::now(), config);
            (Worker::spawn(socket, peer, core, queues, None), Vec::new(), local_addr)
        };
        Ok(UdpEndpoint {
            first,
            others,
            accept: tokio::sync::Mutex::new(accept_rx),
            failures: tokio::sync::Mutex::new(failure_rx),
            local_addr,
            layout,
        })
    }

    /// Several workers on `addr` (see [`EndpointOptions::workers`]): a socket, an endpoint
    /// and a driver task each, and a bounded hand-off queue to each.
    fn start_workers(
        addr: SocketAddr,
        layout: Arc<Layout>,
        configs: Vec<crate::endpoint::EndpointConfig>,
        queues: (&mpsc::UnboundedSender<UdpSession>, &mpsc::Sender<HandshakeFailure>, usize),
    ) -> Result<(Worker, Vec<Worker>, SocketAddr), AdapterError> {
        let sockets = workers::bind_shared(addr, configs.len())?;
        let local_addr = sockets.first().ok_or(AdapterError::Closed)?.local_addr()?;
        let outgoing = Arc::new(Outgoing::default());
        let handoff_spares = Arc::new(Spares::default());
        let (txs, rxs): (Vec<_>, Vec<_>) = configs.iter().map(|_| mpsc::channel(HANDOFF_QUEUE)).unzip();
        // One clock reading for all: their cookie secrets rotate together.
        let now = Instant::now();
        let mut started = Vec::with_capacity(configs.len());
        for (i, ((socket, config), handoffs)) in sockets.into_iter().zip(configs).zip(rxs).enumerate() {
            socket.set_nonblocking(true)?;
            let socket = UdpSocket::from_std(socket)?;
            let router = Router::new(i, layout.clone(), outgoing.clone(), handoff_spares.clone(), txs.clone());
            started.push(Worker::spawn(socket, None, Core::new(now, config), queues, Some((router, handoffs))));
        }
        let mut workers = started.into_iter();
        let first = workers.next().ok_or(AdapterError::Closed)?;
        Ok((first, workers.collect(), local_addr))
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
        let config = self.layout.connecting(config);
        self.first.cmd.send(Command::Connect { config, remote, timeout, reply }).map_err(|_| AdapterError::Closed)?;
        rx.await.map_err(|_| AdapterError::Closed)?
    }

    /// Whether `remote` may start a server handshake now under
    /// [`EndpointOptions::hello_policy`] (asks the driver); `false` once it has stopped.
    pub async fn may_send_hello(&self, remote: SocketAddr) -> bool {
        let (reply, rx) = oneshot::channel();
        self.first.cmd.send(Command::MaySendHello { remote, reply }).is_ok() && rx.await.unwrap_or(false)
    }

    fn status_of<T>(&self, f: impl FnOnce(&EndpointStatus) -> T) -> T {
        if self.others.is_empty() {
            return f(&self.first.status.borrow());
        }
        f(&workers::merge(self.worker_statuses()))
    }

    /// Every worker's status, the first's first.
    fn worker_statuses(&self) -> Vec<EndpointStatus> {
        self.workers().map(|w| w.status.borrow().clone()).collect()
    }

    fn workers(&self) -> impl Iterator<Item = &Worker> {
        std::iter::once(&self.first).chain(&self.others)
    }

    /// A request without an answer, for every worker; a stopped driver has nothing left to
    /// do with it.
    fn request(&self, c: Command) {
        for w in &self.others {
            if let Some(c) = c.duplicate() {
                let _ = w.cmd.send(c);
            }
        }
        let _ = self.first.cmd.send(c);
    }

    endpoint_accessors!();

    /// Resolves when the endpoint is closed and its driver tasks have finished.
    pub async fn closed(&self) {
        for w in self.workers() {
            w.closed().await;
        }
    }

    /// True once every driver task has finished (nothing of the endpoint is left running).
    pub fn is_finished(&self) -> bool {
        self.workers().all(Worker::is_finished)
    }
}

impl Drop for UdpEndpoint {
    fn drop(&mut self) {
        self.request(Command::CloseEndpoint);
    }
}
