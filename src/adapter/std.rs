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

use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::driver::{self, EndpointStatus, FAILURE_QUEUE, HandleChannels, Slot, Slots};
use super::{EndpointOptions, Error, Established, ExportRequest, PROTOCOL, Status};
use crate::config::{ClientConfig, ServerConfig};
use crate::endpoint::{Endpoint as Core, EndpointState, SessionHandle};
use crate::stats::{EndpointStats, SessionStats};
use crate::{CertificateDer, CipherInfo, SrtpKeyingMaterial, SrtpProtectionProfile, Transmit};

pub use super::HandshakeFailure;

type Command = driver::Command<Session>;

/// A value guarded by a mutex, with a condition variable to wait for changes.
pub(super) struct Watched<T> {
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
pub(super) struct Control {
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

/// A UDP socket carrying many DTLS sessions, driven by a background thread.
pub struct Endpoint {
    control: Control,
    accept: Mutex<Receiver<Session>>,
    failures: Mutex<Receiver<HandshakeFailure>>,
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

/// `Ok(Some)` for a value, `Ok(None)` when `timeout` passed first, `Err(Closed)` when the
/// sender is gone.
fn recv_timeout<T>(rx: &Receiver<T>, timeout: Duration) -> Result<Option<T>, Error> {
    match rx.recv_timeout(timeout) {
        Ok(v) => Ok(Some(v)),
        Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Closed),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
        let (failure_tx, failure_rx) = mpsc::sync_channel(FAILURE_QUEUE);
        let control = Control { cmd: cmd_tx, socket: socket.clone(), wake_to };
        let status = Watched::new(EndpointStatus::of(&core));
        let driver = Driver {
            socket,
            core,
            status: status.clone(),
            slots: Slots::new(control.clone(), options.receive_queue, accept_tx, failure_tx),
        };
        let thread = std::thread::Builder::new().name("dtls-endpoint".into()).spawn(move || driver.run(cmd_rx))?;
        Ok(Self {
            control,
            accept: Mutex::new(accept_rx),
            failures: Mutex::new(failure_rx),
            status,
            local_addr,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The next established server session; `None` once the endpoint is closing.
    pub fn accept(&self) -> Option<Session> {
        lock(&self.accept).recv().ok()
    }

    /// Like [`Endpoint::accept`], giving up after `timeout` (`Ok(None)`); `Err(Closed)` once
    /// the endpoint is closing.
    pub fn accept_timeout(&self, timeout: Duration) -> Result<Option<Session>, Error> {
        recv_timeout(&lock(&self.accept), timeout)
    }

    /// The next server handshake that failed (so it never reached [`Endpoint::accept`]);
    /// `None` once the endpoint is closed. At most a few unread failures are kept.
    pub fn handshake_failure(&self) -> Option<HandshakeFailure> {
        lock(&self.failures).recv().ok()
    }

    /// Like [`Endpoint::handshake_failure`], giving up after `timeout` (`Ok(None)`);
    /// `Err(Closed)` once the endpoint is closed.
    pub fn handshake_failure_timeout(&self, timeout: Duration) -> Result<Option<HandshakeFailure>, Error> {
        recv_timeout(&lock(&self.failures), timeout)
    }

    /// Start a client session to `addr` on this socket and wait for the handshake.
    pub fn connect(&self, addr: impl ToSocketAddrs, config: Arc<ClientConfig>) -> Result<Session, Error> {
        let remote = resolve(addr)?;
        let (reply, rx) = mpsc::channel();
        self.control.send(Command::Connect { config, remote, reply })?;
        rx.recv().map_err(|_| Error::Closed)?
    }

    fn status_of<T>(&self, f: impl FnOnce(&EndpointStatus) -> T) -> T {
        f(&self.status.lock())
    }

    /// A request without an answer; a stopped driver has nothing left to do with it.
    fn request(&self, c: Command) {
        let _ = self.control.send(c);
    }

    endpoint_accessors!();

    /// Block until the endpoint is closed and its driver thread has exited.
    pub fn closed(&self) {
        self.status.wait_until(|s| s.state == EndpointState::Closed);
        let thread = lock(&self.thread).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    /// True once the driver thread has exited (nothing of the endpoint is left running).
    pub fn is_finished(&self) -> bool {
        lock(&self.thread).as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.request(Command::CloseEndpoint);
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

    /// Like [`Session::recv`], giving up after `timeout` (`Ok(None)`); `Err(Closed)` once
    /// the session is closed.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<Vec<u8>>, Error> {
        recv_timeout(&self.data, timeout)
    }

    /// Close gracefully: send close_notify; [`Session::closed`] returns when it is done.
    pub fn close(&self) {
        let _ = self.control.send(Command::Close(self.handle));
    }

    /// Drop the session at once, without close_notify.
    pub fn destroy(&self) {
        let _ = self.control.send(Command::Destroy(self.handle));
    }

    /// Block until the session is gone (close_notify exchanged, linger elapsed, error, or
    /// destroyed). Returns the error that ended it, if any.
    pub fn closed(&self) -> Option<crate::Error> {
        self.status.wait_until(|s| s.final_stats.is_some());
        self.status.lock().error.clone()
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

    /// The session's statistics: live from the driver, or the final ones once destroyed.
    pub fn stats(&self) -> Option<SessionStats> {
        let (reply, rx) = mpsc::channel();
        if self.control.send(Command::Stats { h: self.handle, reply }).is_ok() {
            match rx.recv() {
                Ok(Some(s)) => return Some(s),
                // Gone from the endpoint: its final statistics are on their way (the driver
                // may still hold the event in the batch it is working through).
                Ok(None) => self.status.wait_until(|s| s.final_stats.is_some()),
                Err(_) => {}
            }
        }
        self.final_stats()
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

impl HandleChannels for Session {
    type Control = Control;
    type Data = SyncSender<Vec<u8>>;
    type Status = Arc<Watched<Status>>;
    type Reply<T> = Sender<T>;
    type Accept = Sender<Session>;
    type Failures = SyncSender<HandshakeFailure>;

    fn open(control: &Control, receive_queue: usize, h: SessionHandle, remote: SocketAddr) -> Slot<Self> {
        let (data_tx, data_rx) = mpsc::sync_channel(receive_queue);
        let status = Watched::new(Status::default());
        let session = Session {
            handle: h,
            remote,
            control: control.clone(),
            data: data_rx,
            status: status.clone(),
            endpoint: None,
        };
        Slot::new(remote, session, data_tx, status)
    }

    fn deliver(to: &Self::Data, data: Vec<u8>) {
        let _ = to.try_send(data);
    }

    fn publish(to: &Self::Status, f: impl FnOnce(&mut Status)) {
        to.update(f);
    }

    fn reply<T>(to: Sender<T>, value: T) {
        let _ = to.send(value);
    }

    fn accept(to: &Self::Accept, session: Session) {
        let _ = to.send(session);
    }

    fn fail(to: &Self::Failures, failure: HandshakeFailure) {
        let _ = to.try_send(failure);
    }
}

struct Driver {
    socket: Arc<UdpSocket>,
    core: Core,
    status: Arc<Watched<EndpointStatus>>,
    slots: Slots<Session>,
}

impl Driver {
    fn run(mut self, cmds: Receiver<Command>) {
        let mut buf = vec![0u8; 65536];
        loop {
            while let Ok(c) = cmds.try_recv() {
                self.slots.command(&mut self.core, c, Instant::now());
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
        self.slots.finish(Instant::now());
    }

    /// Drain every output of the core: datagrams to the socket, events to the handles.
    fn flush(&mut self) {
        loop {
            let mut progressed = false;
            // Events first: `poll_transmit` removes a session that has ended, and the
            // handling of its `Accepted` and `Connected` still needs to read it.
            while let Some((h, ev)) = self.core.poll_event() {
                progressed = true;
                self.slots.event(&self.core, h, ev);
            }
            while let Some(Transmit { destination, contents }) = self.core.poll_transmit() {
                progressed = true;
                // A failed send is a lost datagram; DTLS retransmits what matters.
                let _ = self.socket.send_to(&contents, destination);
            }
            if !progressed {
                break;
            }
        }
        let status = EndpointStatus::of(&self.core);
        self.status.update(|s| *s = status);
    }
}
