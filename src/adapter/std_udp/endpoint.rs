//! [`UdpEndpoint`], the std handle of one socket carrying many sessions (or of several
//! sockets on one address, one per worker): it starts the driver threads and sends them
//! requests. It never touches a socket after handing it over.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::channels::{Command, Control, Inbox, Input, Waker, Watched};
use super::driver::Driver;
use super::queue::{QueueReceiver, queue};
use super::reader::Reader;
use super::session::UdpSession;
use super::{HandshakeFailure, lock, recv_timeout, resolve};
use crate::adapter::answer::Recycler;
use crate::adapter::driver::{EndpointStatus, FAILURE_QUEUE};
use crate::adapter::slots::Slots;
use crate::adapter::workers::{self, HANDOFF_QUEUE, Layout, Outgoing, Router, Spares};
use crate::adapter::{AdapterError, EndpointOptions};
use crate::config::{ClientConfig, ServerConfig};
use crate::endpoint::{Endpoint as Core, EndpointState};
use crate::stats::EndpointStats;

/// A UDP socket carrying many DTLS sessions, driven by a background thread (the blocking
/// counterpart of the sans-IO [`crate::Endpoint`]). Make one with [`super::listen`] (server)
/// or [`UdpEndpoint::bind`] (client only). Every method takes `&self`, so an endpoint can be
/// shared between threads; dropping it closes it and all its sessions gracefully.
///
/// With [`EndpointOptions::workers`] above one, it is several sockets on one address, each
/// with its own endpoint and driver thread (and a reader thread), all feeding the one
/// [`accept`](Self::accept); [`stats`](Self::stats) adds theirs up and
/// [`worker_stats`](Self::worker_stats) shows each.
pub struct UdpEndpoint {
    /// The first worker (the only one, usually): it also runs `connect`.
    first: Worker,
    others: Vec<Worker>,
    accept: Mutex<Receiver<UdpSession>>,
    failures: Mutex<Receiver<HandshakeFailure>>,
    local_addr: SocketAddr,
    /// How its workers lay out connection IDs (`connect` makes its CIDs name the first).
    layout: Arc<Layout>,
}

/// One socket's driver thread, how to reach it, and what it publishes.
struct Worker {
    control: Control,
    status: Arc<Watched<EndpointStatus>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Worker {
    /// Run `driver` on a thread of its own.
    fn spawn(
        driver: Driver,
        control: Control,
        inputs: QueueReceiver<Input>,
        name: String,
    ) -> Result<Self, AdapterError> {
        let status = driver.status.clone();
        let thread = std::thread::Builder::new().name(name).spawn(move || driver.run(inputs))?;
        Ok(Self { control, status, thread: Mutex::new(Some(thread)) })
    }

    /// Wait until its endpoint is closed and its thread has exited.
    fn closed(&self) {
        self.status.wait_until(|s| s.state == EndpointState::Closed);
        let thread = lock(&self.thread).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl core::fmt::Debug for UdpEndpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UdpEndpoint").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

impl UdpEndpoint {
    /// A client-only endpoint on `addr`.
    pub fn bind(addr: impl ToSocketAddrs, options: EndpointOptions) -> Result<UdpEndpoint, AdapterError> {
        Self::start(addr, None, options, None)
    }

    /// An endpoint on `addr`; with `peer`, its socket is connected to that one peer.
    pub(super) fn start(
        addr: impl ToSocketAddrs,
        server: Option<Arc<ServerConfig>>,
        options: EndpointOptions,
        peer: Option<SocketAddr>,
    ) -> Result<Self, AdapterError> {
        let (layout, mut configs) = workers::plan(server.as_ref(), &options)?;
        if layout.workers() > 1 {
            return Self::start_workers(resolve(addr)?, Arc::new(layout), configs, &options);
        }
        let config = configs.pop().ok_or(AdapterError::Closed)?;
        let socket = UdpSocket::bind(addr)?;
        if let Some(remote) = peer {
            socket.connect(remote)?;
        }
        let socket = Arc::new(socket);
        let local_addr = socket.local_addr()?;
        let core = Core::new(Instant::now(), config);
        let (input_tx, input_rx) = queue();
        let (accept_tx, accept_rx) = mpsc::channel();
        let (failure_tx, failure_rx) = mpsc::sync_channel(FAILURE_QUEUE);
        let inbox = peer.map(|_| Inbox::new(input_tx.clone(), HANDOFF_QUEUE));
        let (spares, spare_rx) = Recycler::new();
        let (wake, reader) = match &inbox {
            Some(inbox) => {
                let reader = Reader::spawn(socket.clone(), inbox.clone(), spare_rx, "dtls-endpoint-rx".into())?;
                (None, Some(reader))
            }
            None => {
                let mut wake_to = local_addr;
                if wake_to.ip().is_unspecified() {
                    wake_to.set_ip(if wake_to.is_ipv4() {
                        [127, 0, 0, 1].into()
                    } else {
                        std::net::Ipv6Addr::LOCALHOST.into()
                    });
                }
                (Some(Waker::new(socket.clone(), wake_to)), None)
            }
        };
        let control = Control { input: input_tx, wake: wake.clone() };
        let driver = Driver {
            socket,
            peer,
            waker: wake,
            spares,
            status: Watched::new(EndpointStatus::of(&core, Default::default())),
            core,
            slots: Slots::new(control.clone(), options.receive_queue, accept_tx, failure_tx),
            reader,
            inbox,
            router: None,
            errors: 0,
        };
        let first = Worker::spawn(driver, control, input_rx, "dtls-endpoint".into())?;
        Ok(Self {
            first,
            others: Vec::new(),
            accept: Mutex::new(accept_rx),
            failures: Mutex::new(failure_rx),
            local_addr,
            layout: Arc::new(layout),
        })
    }

    /// Several workers on `addr` (see [`EndpointOptions::workers`]): a socket, an endpoint,
    /// a driver thread and a reader thread each (a wake-up datagram sent to the shared
    /// address would reach whichever socket the kernel's hash picks, so the drivers wait on
    /// their channels), all feeding one accept queue.
    fn start_workers(
        addr: SocketAddr,
        layout: Arc<Layout>,
        configs: Vec<crate::endpoint::EndpointConfig>,
        options: &EndpointOptions,
    ) -> Result<Self, AdapterError> {
        let sockets = workers::bind_shared(addr, configs.len())?;
        let local_addr = sockets.first().ok_or(AdapterError::Closed)?.local_addr()?;
        let outgoing = Arc::new(Outgoing::default());
        let handoff_spares = Arc::new(Spares::default());
        let (accept_tx, accept_rx) = mpsc::channel();
        let (failure_tx, failure_rx) = mpsc::sync_channel(FAILURE_QUEUE);
        let channels: Vec<_> = configs.iter().map(|_| queue()).collect();
        let inboxes: Vec<_> = channels.iter().map(|(tx, _)| Inbox::new(tx.clone(), HANDOFF_QUEUE)).collect();
        // One clock reading for all: their cookie secrets rotate together.
        let now = Instant::now();
        let mut started = Vec::with_capacity(configs.len());
        let parts = sockets.into_iter().zip(configs).zip(channels).zip(inboxes.iter().cloned());
        for (i, (((socket, config), (input_tx, input_rx)), inbox)) in parts.enumerate() {
            let socket = Arc::new(socket);
            let control = Control { input: input_tx, wake: None };
            let core = Core::new(now, config);
            let (spares, spare_rx) = Recycler::new();
            let driver = Driver {
                reader: Some(Reader::spawn(socket.clone(), inbox.clone(), spare_rx, format!("dtls-worker-{i}-rx"))?),
                socket,
                peer: None,
                waker: None,
                spares,
                status: Watched::new(EndpointStatus::of(&core, Default::default())),
                core,
                slots: Slots::new(control.clone(), options.receive_queue, accept_tx.clone(), failure_tx.clone()),
                inbox: Some(inbox),
                router: Some(Router::new(i, layout.clone(), outgoing.clone(), handoff_spares.clone(), inboxes.clone())),
                errors: 0,
            };
            started.push(Worker::spawn(driver, control, input_rx, format!("dtls-worker-{i}"))?);
        }
        let mut workers = started.into_iter();
        let first = workers.next().ok_or(AdapterError::Closed)?;
        Ok(Self {
            first,
            others: workers.collect(),
            accept: Mutex::new(accept_rx),
            failures: Mutex::new(failure_rx),
            local_addr,
            layout,
        })
    }

    /// The next established server session; `None` once the endpoint is closing.
    pub fn accept(&self) -> Option<UdpSession> {
        lock(&self.accept).recv().ok()
    }

    /// Like [`UdpEndpoint::accept`], giving up after `timeout` (`Ok(None)`); `Err(Closed)`
    /// once the endpoint is closing.
    pub fn accept_timeout(&self, timeout: Duration) -> Result<Option<UdpSession>, AdapterError> {
        recv_timeout(&lock(&self.accept), timeout)
    }

    /// The next server handshake that failed (so it never reached
    /// [`UdpEndpoint::accept`]); `None` once the endpoint is closed. At most a few unread
    /// failures are kept.
    pub fn handshake_failure(&self) -> Option<HandshakeFailure> {
        lock(&self.failures).recv().ok()
    }

    /// Like [`UdpEndpoint::handshake_failure`], giving up after `timeout` (`Ok(None)`);
    /// `Err(Closed)` once the endpoint is closed.
    pub fn handshake_failure_timeout(&self, timeout: Duration) -> Result<Option<HandshakeFailure>, AdapterError> {
        recv_timeout(&lock(&self.failures), timeout)
    }

    /// Start a client session to `addr` on this socket and wait for the handshake.
    ///
    /// This socket is not connected to the peer (it may serve many), and the OS reports no
    /// ICMP errors on an unconnected socket: a peer where nothing listens is given up only
    /// after the client configuration's handshake timeout (60 s by default). Use
    /// [`UdpEndpoint::connect_timeout`] to bound the wait, or [`super::connect`] for a socket
    /// of its own that learns of a refusal at once.
    pub fn connect(&self, addr: impl ToSocketAddrs, config: Arc<ClientConfig>) -> Result<UdpSession, AdapterError> {
        self.open(resolve(addr)?, config, None)
    }

    /// Like [`UdpEndpoint::connect`], giving up when the handshake has not completed within
    /// `timeout`: the pending session is destroyed and the call fails with
    /// [`AdapterError::ConnectTimeout`]. Name resolution of `addr` happens before and is not
    /// counted.
    pub fn connect_timeout(
        &self,
        addr: impl ToSocketAddrs,
        config: Arc<ClientConfig>,
        timeout: Duration,
    ) -> Result<UdpSession, AdapterError> {
        self.open(resolve(addr)?, config, Some(timeout))
    }

    pub(super) fn open(
        &self,
        remote: SocketAddr,
        config: Arc<ClientConfig>,
        timeout: Option<Duration>,
    ) -> Result<UdpSession, AdapterError> {
        let (reply, rx) = mpsc::channel();
        let config = self.layout.connecting(config);
        self.first.control.send(Command::Connect { config, remote, timeout, reply })?;
        rx.recv().map_err(|_| AdapterError::Closed)?
    }

    /// Whether `remote` may start a server handshake now under
    /// [`EndpointOptions::hello_policy`] (asks the driver); `false` once it has stopped.
    pub fn may_send_hello(&self, remote: SocketAddr) -> bool {
        let (reply, rx) = mpsc::channel();
        self.first.control.send(Command::MaySendHello { remote, reply }).is_ok() && rx.recv().unwrap_or(false)
    }

    fn status_of<T>(&self, f: impl FnOnce(&EndpointStatus) -> T) -> T {
        if self.others.is_empty() {
            return f(&self.first.status.lock());
        }
        f(&workers::merge(self.worker_statuses()))
    }

    /// Every worker's status, the first's first.
    fn worker_statuses(&self) -> Vec<EndpointStatus> {
        self.workers().map(|w| w.status.lock().clone()).collect()
    }

    fn workers(&self) -> impl Iterator<Item = &Worker> {
        std::iter::once(&self.first).chain(&self.others)
    }

    /// A request without an answer, for every worker; a stopped driver has nothing left to
    /// do with it.
    fn request(&self, c: Command) {
        for w in &self.others {
            if let Some(c) = c.duplicate() {
                let _ = w.control.send(c);
            }
        }
        let _ = self.first.control.send(c);
    }

    endpoint_accessors!();

    /// Block until the endpoint is closed and its driver threads have exited.
    pub fn closed(&self) {
        self.workers().for_each(Worker::closed);
    }

    /// True once every driver thread has exited (nothing of the endpoint is left running).
    pub fn is_finished(&self) -> bool {
        self.workers().all(|w| lock(&w.thread).as_ref().is_none_or(JoinHandle::is_finished))
    }
}

impl Drop for UdpEndpoint {
    fn drop(&mut self) {
        self.request(Command::CloseEndpoint);
    }
}
