//! Feature `std-net`: a blocking [`Endpoint`] and [`Session`] over `std::net::UdpSocket`.
//!
//! One driver thread per endpoint owns the socket and the sans-IO
//! [`crate::endpoint::Endpoint`]; handles talk to it over channels and wake it by sending an
//! empty datagram to the socket's own address (empty datagrams are never DTLS, so the
//! driver ignores them). This module must never make a protocol decision.
//!
//! As in the tokio adapter, [`Endpoint::connect`] returns once the handshake completed,
//! [`Endpoint::accept`] yields established server sessions, and dropping a handle closes
//! it gracefully.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{EndpointOptions, Error, Established, ExportRequest, PROTOCOL, Status};
use crate::config::{ClientConfig, ServerConfig};
use crate::endpoint::{Endpoint as Core, EndpointEvent, EndpointState, SessionHandle};
use crate::session::Event;
use crate::stats::{EndpointStats, SessionStats};
use crate::{CertificateDer, CipherInfo, SrtpKeyingMaterial, SrtpProtectionProfile, Transmit};

enum Command {
    Connect { config: Arc<ClientConfig>, remote: SocketAddr, reply: Sender<Result<Session, Error>> },
    Send { h: SessionHandle, data: Vec<u8>, reply: Sender<Result<(), Error>> },
    Export { h: SessionHandle, request: ExportRequest, reply: Sender<Result<Vec<u8>, Error>> },
    Close(SessionHandle),
    Destroy(SessionHandle),
    SetBusy(bool),
    CloseEndpoint,
    DestroyEndpoint,
}

/// A value guarded by a mutex, with a condition variable to wait for changes.
struct Watched<T> {
    value: Mutex<T>,
    changed: Condvar,
}

impl<T> Watched<T> {
    fn new(v: T) -> Arc<Self> {
        Arc::new(Self { value: Mutex::new(v), changed: Condvar::new() })
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        self.value.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut T)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }

    fn wait_until(&self, mut done: impl FnMut(&T) -> bool) {
        let mut g = self.lock();
        while !done(&g) {
            g = self.changed.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Sends commands to the driver and wakes it.
#[derive(Clone)]
struct Control {
    cmd: Sender<Command>,
    socket: Arc<UdpSocket>,
    wake_to: SocketAddr,
}

impl Control {
    fn send(&self, c: Command) -> Result<(), Error> {
        self.cmd.send(c).map_err(|_| Error::Closed)?;
        self.socket.send_to(&[], self.wake_to)?;
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct EndpointStatus {
    state: EndpointState,
    stats: EndpointStats,
    sessions: usize,
}

/// A UDP socket carrying many DTLS sessions, driven by a background thread.
pub struct Endpoint {
    control: Control,
    accept: Mutex<Receiver<Session>>,
    status: Arc<Watched<EndpointStatus>>,
    local_addr: SocketAddr,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl core::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Endpoint").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

/// Start a server endpoint on `addr`; take its sessions with [`Endpoint::accept`].
pub fn listen(
    addr: impl ToSocketAddrs,
    config: Arc<ServerConfig>,
    options: EndpointOptions,
) -> Result<Endpoint, Error> {
    Endpoint::start(addr, Some(config), options)
}

/// Connect from a fresh ephemeral socket and complete the handshake. The session owns its
/// endpoint; dropping the session closes both.
pub fn connect(addr: impl ToSocketAddrs, config: Arc<ClientConfig>) -> Result<Session, Error> {
    let remote = resolve(addr)?;
    let bind: SocketAddr = if remote.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let endpoint = Endpoint::bind(bind, EndpointOptions::default())?;
    let mut session = endpoint.connect(remote, config)?;
    session.endpoint = Some(endpoint);
    Ok(session)
}

fn resolve(addr: impl ToSocketAddrs) -> Result<SocketAddr, Error> {
    addr.to_socket_addrs()?.next().ok_or_else(|| Error::Io(ErrorKind::AddrNotAvailable.into()))
}

impl Endpoint {
    /// A client-only endpoint on `addr`.
    pub fn bind(addr: impl ToSocketAddrs, options: EndpointOptions) -> Result<Endpoint, Error> {
        Self::start(addr, None, options)
    }

    fn start(
        addr: impl ToSocketAddrs,
        server: Option<Arc<ServerConfig>>,
        options: EndpointOptions,
    ) -> Result<Self, Error> {
        let socket = Arc::new(UdpSocket::bind(addr)?);
        let local_addr = socket.local_addr()?;
        let mut wake_to = local_addr;
        if wake_to.ip().is_unspecified() {
            wake_to.set_ip(if wake_to.is_ipv4() {
                [127, 0, 0, 1].into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let core = Core::new(options.endpoint_config(server), Instant::now());
        let (cmd_tx, cmd_rx) = mpsc::channel();
        let (accept_tx, accept_rx) = mpsc::channel();
        let control = Control { cmd: cmd_tx, socket: socket.clone(), wake_to };
        let status = Watched::new(EndpointStatus { state: core.state(), stats: core.stats().clone(), sessions: 0 });
        let driver = Driver {
            socket,
            core,
            control: control.clone(),
            accept_tx: Some(accept_tx),
            status: status.clone(),
            slots: HashMap::new(),
            receive_queue: options.receive_queue.max(1),
        };
        let thread = std::thread::Builder::new().name("dtls-endpoint".into()).spawn(move || driver.run(cmd_rx))?;
        Ok(Self { control, accept: Mutex::new(accept_rx), status, local_addr, thread: Mutex::new(Some(thread)) })
    }

    /// The next established server session; `None` once the endpoint is closing.
    pub fn accept(&self) -> Option<Session> {
        self.accept.lock().unwrap_or_else(|p| p.into_inner()).recv().ok()
    }

    /// Start a client session to `addr` on this socket and wait for the handshake.
    pub fn connect(&self, addr: impl ToSocketAddrs, config: Arc<ClientConfig>) -> Result<Session, Error> {
        let remote = resolve(addr)?;
        let (reply, rx) = mpsc::channel();
        self.control.send(Command::Connect { config, remote, reply })?;
        rx.recv().map_err(|_| Error::Closed)?
    }

    /// The local address of the socket.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Open, closing or closed.
    pub fn state(&self) -> EndpointState {
        self.status.lock().state
    }

    /// A snapshot of the statistics.
    pub fn stats(&self) -> EndpointStats {
        self.status.lock().stats.clone()
    }

    /// Live sessions.
    pub fn session_count(&self) -> usize {
        self.status.lock().sessions
    }

    /// Refuse (`true`) or accept again new sessions.
    pub fn set_busy(&self, busy: bool) {
        let _ = self.control.send(Command::SetBusy(busy));
    }

    /// Close every session gracefully, then stop.
    pub fn close(&self) {
        let _ = self.control.send(Command::CloseEndpoint);
    }

    /// Drop every session at once and stop.
    pub fn destroy(&self) {
        let _ = self.control.send(Command::DestroyEndpoint);
    }

    /// Block until the endpoint is closed and its driver thread has exited.
    pub fn closed(&self) {
        self.status.wait_until(|s| s.state == EndpointState::Closed);
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.control.send(Command::CloseEndpoint);
    }
}

/// One established DTLS association.
pub struct Session {
    handle: SessionHandle,
    remote: SocketAddr,
    control: Control,
    data: Receiver<Vec<u8>>,
    status: Arc<Watched<Status>>,
    endpoint: Option<Endpoint>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session").field("remote", &self.remote).finish_non_exhaustive()
    }
}

impl Session {
    /// Send one datagram of application data.
    pub fn send(&self, data: &[u8]) -> Result<(), Error> {
        let (reply, rx) = mpsc::channel();
        self.control.send(Command::Send { h: self.handle, data: data.to_vec(), reply })?;
        rx.recv().map_err(|_| Error::Closed)?
    }

    /// The next datagram of application data; `None` once the session is closed.
    pub fn recv(&self) -> Option<Vec<u8>> {
        self.data.recv().ok()
    }

    /// Like [`Session::recv`], giving up after `timeout` (`Err(Closed)` when closed).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<Vec<u8>>, Error> {
        match self.data.recv_timeout(timeout) {
            Ok(d) => Ok(Some(d)),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Closed),
        }
    }

    /// Close gracefully (close_notify).
    pub fn close(&self) {
        let _ = self.control.send(Command::Close(self.handle));
    }

    /// Drop the session at once.
    pub fn destroy(&self) {
        let _ = self.control.send(Command::Destroy(self.handle));
    }

    /// Block until the session is gone; returns the error that ended it, if any.
    pub fn closed(&self) -> Option<crate::Error> {
        self.status.wait_until(|s| s.final_stats.is_some());
        self.status.lock().error.clone()
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    /// Always `"DTLSv1.2"`.
    pub fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn established<T>(&self, f: impl FnOnce(&Established) -> Option<T>) -> Option<T> {
        self.status.lock().established.as_ref().and_then(f)
    }

    session_info_accessors!();

    /// Fill `out` with keying material (RFC 5705) for `label` and an optional `context`.
    /// Asks the driver, so it fails with [`Error::Closed`] once the session is gone.
    pub fn export_keying_material(&self, out: &mut [u8], label: &[u8], context: Option<&[u8]>) -> Result<(), Error> {
        let (reply, rx) = mpsc::channel();
        let request = ExportRequest::new(out.len(), label, context);
        self.control.send(Command::Export { h: self.handle, request, reply })?;
        let material = rx.recv().map_err(|_| Error::Closed)??;
        out.copy_from_slice(&material);
        Ok(())
    }

    /// Final statistics, once the session is gone.
    pub fn final_stats(&self) -> Option<SessionStats> {
        self.status.lock().final_stats.clone()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.control.send(Command::Close(self.handle));
    }
}

struct Slot {
    data: Option<SyncSender<Vec<u8>>>,
    status: Arc<Watched<Status>>,
    pending: Option<Session>,
    reply: Option<Sender<Result<Session, Error>>>,
}

struct Driver {
    socket: Arc<UdpSocket>,
    core: Core,
    control: Control,
    accept_tx: Option<Sender<Session>>,
    status: Arc<Watched<EndpointStatus>>,
    slots: HashMap<SessionHandle, Slot>,
    receive_queue: usize,
}

impl Driver {
    fn run(mut self, cmds: Receiver<Command>) {
        let mut buf = vec![0u8; 65536];
        loop {
            while let Ok(c) = cmds.try_recv() {
                self.command(c);
            }
            self.flush();
            if self.core.state() == EndpointState::Closed {
                break;
            }
            let wait = self.core.poll_timeout().map(|t| t.saturating_duration_since(Instant::now()));
            let _ = self.socket.set_read_timeout(wait.map(|d| d.max(Duration::from_millis(1))));
            match self.socket.recv_from(&mut buf) {
                // Empty datagrams are wake-ups from handles (or noise): never DTLS.
                Ok((0, _)) => {}
                Ok((n, from)) => self.core.handle(Instant::now(), from, buf.get(..n).unwrap_or_default()),
                Err(_) => {}
            }
            self.core.handle_timeout(Instant::now());
        }
        for (_, slot) in self.slots.drain() {
            slot.status.update(|s| {
                s.final_stats.get_or_insert_with(|| SessionStats::new(Instant::now()));
            });
        }
    }

    fn command(&mut self, c: Command) {
        let now = Instant::now();
        match c {
            Command::Connect { config, remote, reply } => match self.core.connect(config, remote, now) {
                Ok(h) => {
                    let mut slot = self.new_slot(h, remote);
                    slot.reply = Some(reply);
                    self.slots.insert(h, slot);
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Send { h, data, reply } => {
                let _ = reply.send(self.core.send(h, &data).map_err(Error::from));
            }
            Command::Export { h, request, reply } => {
                let _ = reply.send(request.run(self.core.session(h)));
            }
            Command::Close(h) => self.core.close_session(h, now),
            Command::Destroy(h) => self.core.destroy_session(h),
            Command::SetBusy(b) => self.core.set_busy(b),
            Command::CloseEndpoint => {
                self.accept_tx = None;
                self.core.close(now);
            }
            Command::DestroyEndpoint => {
                self.accept_tx = None;
                self.core.destroy(now);
            }
        }
    }

    fn new_slot(&self, h: SessionHandle, remote: SocketAddr) -> Slot {
        let (data_tx, data_rx) = mpsc::sync_channel(self.receive_queue);
        let status = Watched::new(Status::default());
        let session = Session {
            handle: h,
            remote,
            control: self.control.clone(),
            data: data_rx,
            status: status.clone(),
            endpoint: None,
        };
        Slot { data: Some(data_tx), status, pending: Some(session), reply: None }
    }

    fn flush(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(Transmit { destination, contents }) = self.core.poll_transmit() {
                progressed = true;
                let _ = self.socket.send_to(&contents, destination);
            }
            while let Some((h, ev)) = self.core.poll_event() {
                progressed = true;
                self.event(h, ev);
            }
            if !progressed {
                break;
            }
        }
        let (state, stats, sessions) = (self.core.state(), self.core.stats().clone(), self.core.session_count());
        self.status.update(|s| *s = EndpointStatus { state, stats, sessions });
    }

    fn event(&mut self, h: SessionHandle, ev: EndpointEvent) {
        if let EndpointEvent::Accepted = ev {
            if let Some(remote) = self.core.session(h).map(|s| s.remote_addr()) {
                let slot = self.new_slot(h, remote);
                self.slots.insert(h, slot);
            }
            return;
        }
        let Some(slot) = self.slots.get_mut(&h) else { return };
        match ev {
            EndpointEvent::Session(Event::Connected) => {
                let established = self.core.session(h).map(Established::of);
                slot.status.update(|s| s.established = established);
                if let Some(session) = slot.pending.take() {
                    match slot.reply.take() {
                        Some(reply) => {
                            let _ = reply.send(Ok(session));
                        }
                        None => {
                            if let Some(tx) = &self.accept_tx {
                                let _ = tx.send(session);
                            }
                        }
                    }
                }
            }
            EndpointEvent::Session(Event::ApplicationData(d)) => {
                if let Some(tx) = &slot.data {
                    let _ = tx.try_send(d);
                }
            }
            EndpointEvent::Session(Event::Closed) => slot.data = None,
            EndpointEvent::Failed(e) => {
                if let Some(reply) = slot.reply.take() {
                    let _ = reply.send(Err(Error::Dtls(e.clone())));
                }
                slot.status.update(|s| s.error = Some(e));
            }
            EndpointEvent::Destroyed(stats) => {
                if let Some(slot) = self.slots.remove(&h) {
                    if let Some(reply) = slot.reply {
                        let _ = reply.send(Err(Error::Closed));
                    }
                    slot.status.update(|s| s.final_stats = Some(*stats));
                }
            }
            EndpointEvent::Accepted => {}
        }
    }
}
