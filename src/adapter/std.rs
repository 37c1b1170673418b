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
//!
//! [`connect`] and [`connect_timeout`] connect their own socket to the peer, so that an
//! ICMP "port unreachable" ends the attempt at once (see the [parent module](super)). A
//! connected socket takes datagrams only from its peer, so the wake-up datagram cannot
//! reach it: there a second thread reads the socket and hands the driver each datagram
//! through the driver's channel, on which the driver waits instead.

use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
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

/// How often the reader thread of a connected endpoint checks whether its driver stopped,
/// in case the datagram that wakes it at once did not arrive.
const READER_POLL: Duration = Duration::from_millis(500);

/// What reaches a driver through its channel.
pub(super) enum Input {
    /// A request from a handle.
    Command(Command),
    /// A datagram the reader thread of a connected endpoint received.
    Datagram(SocketAddr, Vec<u8>),
    /// The connected socket failed to receive (how ICMP errors are reported).
    Failed(std::io::Error),
}

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
    input: Sender<Input>,
    /// An unconnected socket, whose driver blocks in `recv_from`, and its own address: an
    /// empty datagram there wakes the driver. `None` for a connected socket, whose driver
    /// waits on its channel.
    wake: Option<(Arc<UdpSocket>, SocketAddr)>,
}

impl Control {
    fn send(&self, c: Command) -> Result<(), Error> {
        self.input.send(Input::Command(c)).map_err(|_| Error::Closed)?;
        if let Some((socket, to)) = &self.wake {
            socket.send_to(&[], *to)?;
        }
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
    Endpoint::start(addr, Some(config), options, None)
}

/// Connect from a fresh ephemeral socket and complete the handshake. The session owns its
/// endpoint; dropping the session closes both.
///
/// The socket is connected to the peer, so a peer that answers with ICMP "port unreachable"
/// (nothing listens there) fails the call at once with [`Error::Io`] of kind
/// [`ErrorKind::ConnectionRefused`]. A peer that does not answer at all is given up after
/// the client configuration's handshake timeout ([`Error::Dtls`] with
/// [`crate::Error::HandshakeTimeout`]); bound the wait yourself with [`connect_timeout`].
pub fn connect(addr: impl ToSocketAddrs, config: Arc<ClientConfig>) -> Result<Session, Error> {
    connect_own(addr, config, None)
}

/// Like [`connect`], giving up when the handshake has not completed within `timeout`: the
/// pending session is destroyed and the call fails with [`Error::ConnectTimeout`]. Name
/// resolution of `addr` happens before and is not counted.
pub fn connect_timeout(
    addr: impl ToSocketAddrs,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<Session, Error> {
    connect_own(addr, config, Some(timeout))
}

fn connect_own(
    addr: impl ToSocketAddrs,
    config: Arc<ClientConfig>,
    timeout: Option<Duration>,
) -> Result<Session, Error> {
    let remote = resolve(addr)?;
    let bind: SocketAddr = if remote.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let endpoint = Endpoint::start(bind, None, EndpointOptions::default(), Some(remote))?;
    let mut session = endpoint.open(remote, config, timeout)?;
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
        Self::start(addr, None, options, None)
    }

    /// An endpoint on `addr`; with `peer`, its socket is connected to that one peer.
    fn start(
        addr: impl ToSocketAddrs,
        server: Option<Arc<ServerConfig>>,
        options: EndpointOptions,
        peer: Option<SocketAddr>,
    ) -> Result<Self, Error> {
        let socket = UdpSocket::bind(addr)?;
        if let Some(remote) = peer {
            socket.connect(remote)?;
        }
        let socket = Arc::new(socket);
        let local_addr = socket.local_addr()?;
        let core = Core::new(Instant::now(), options.endpoint_config(server));
        let (input_tx, input_rx) = mpsc::channel();
        let (accept_tx, accept_rx) = mpsc::channel();
        let (failure_tx, failure_rx) = mpsc::sync_channel(FAILURE_QUEUE);
        let (wake, reader) = match peer {
            Some(_) => (None, Some(Reader::spawn(socket.clone(), input_tx.clone())?)),
            None => {
                let mut wake_to = local_addr;
                if wake_to.ip().is_unspecified() {
                    wake_to.set_ip(if wake_to.is_ipv4() {
                        [127, 0, 0, 1].into()
                    } else {
                        std::net::Ipv6Addr::LOCALHOST.into()
                    });
                }
                (Some((socket.clone(), wake_to)), None)
            }
        };
        let control = Control { input: input_tx, wake };
        let status = Watched::new(EndpointStatus::of(&core));
        let driver = Driver {
            socket,
            peer,
            core,
            status: status.clone(),
            slots: Slots::new(control.clone(), options.receive_queue, accept_tx, failure_tx),
            reader,
            errors: 0,
        };
        let thread = std::thread::Builder::new().name("dtls-endpoint".into()).spawn(move || driver.run(input_rx))?;
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
    ///
    /// This socket is not connected to the peer (it may serve many), and the OS reports no
    /// ICMP errors on an unconnected socket: a peer where nothing listens is given up only
    /// after the client configuration's handshake timeout (60 s by default). Use
    /// [`Endpoint::connect_timeout`] to bound the wait, or [`connect`] for a socket of its own
    /// that learns of a refusal at once.
    pub fn connect(&self, addr: impl ToSocketAddrs, config: Arc<ClientConfig>) -> Result<Session, Error> {
        self.open(resolve(addr)?, config, None)
    }

    /// Like [`Endpoint::connect`], giving up when the handshake has not completed within
    /// `timeout`: the pending session is destroyed and the call fails with
    /// [`Error::ConnectTimeout`]. Name resolution of `addr` happens before and is not
    /// counted.
    pub fn connect_timeout(
        &self,
        addr: impl ToSocketAddrs,
        config: Arc<ClientConfig>,
        timeout: Duration,
    ) -> Result<Session, Error> {
        self.open(resolve(addr)?, config, Some(timeout))
    }

    fn open(&self, remote: SocketAddr, config: Arc<ClientConfig>, timeout: Option<Duration>) -> Result<Session, Error> {
        let (reply, rx) = mpsc::channel();
        self.control.send(Command::Connect { config, remote, timeout, reply })?;
        rx.recv().map_err(|_| Error::Closed)?
    }

    /// Whether `remote` may start a server handshake now under
    /// [`EndpointOptions::hello_policy`] (asks the driver); `false` once it has stopped.
    pub fn may_send_hello(&self, remote: SocketAddr) -> bool {
        let (reply, rx) = mpsc::channel();
        self.control.send(Command::MaySendHello { remote, reply }).is_ok() && rx.recv().unwrap_or(false)
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
    /// Send one datagram of application data. Data larger than one record carries is
    /// refused with [`Error::Dtls`]`(`[`crate::Error::MessageTooLarge`]` { max })`, which is
    /// not fatal: nothing was sent and the session stays usable.
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

/// The thread that reads a connected socket for its driver (which waits on its channel),
/// stopped and joined when dropped.
struct Reader {
    socket: Arc<UdpSocket>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    fn spawn(socket: Arc<UdpSocket>, to: Sender<Input>) -> Result<Self, Error> {
        socket.set_read_timeout(Some(READER_POLL))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (s, halt) = (socket.clone(), stop.clone());
        let thread = std::thread::Builder::new().name("dtls-endpoint-rx".into()).spawn(move || {
            let mut buf = vec![0u8; 65536];
            let mut errors = 0u32;
            while !halt.load(Ordering::Acquire) {
                let input = match s.recv_from(&mut buf) {
                    // Empty datagrams are never DTLS (the stop nudge among them).
                    Ok((0, _)) => continue,
                    Ok((n, from)) => {
                        errors = 0;
                        Input::Datagram(from, buf.get(..n).unwrap_or_default().to_vec())
                    }
                    Err(e) if is_timeout(&e) => continue,
                    Err(e) => {
                        errors = errors.saturating_add(1);
                        Input::Failed(e)
                    }
                };
                if to.send(input).is_err() {
                    break;
                }
                if let Some(pause) = driver::error_pause(errors) {
                    std::thread::sleep(pause);
                }
            }
        })?;
        Ok(Self { socket, stop, thread: Some(thread) })
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the thread out of `recv_from` now: a connected socket takes datagrams only
        // from its peer, so connect it to itself and send it an empty datagram. Should that
        // fail, the thread sees `stop` within READER_POLL.
        if let Ok(me) = self.socket.local_addr()
            && self.socket.connect(me).is_ok()
        {
            let _ = self.socket.send(&[]);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A receive that ended because its timeout passed (or a signal), not an error.
fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}

struct Driver {
    socket: Arc<UdpSocket>,
    /// The peer a connected socket is connected to.
    peer: Option<SocketAddr>,
    core: Core,
    status: Arc<Watched<EndpointStatus>>,
    slots: Slots<Session>,
    /// Reads a connected socket.
    reader: Option<Reader>,
    /// Receive errors in a row on an unconnected socket.
    errors: u32,
}

impl Driver {
    fn run(mut self, inputs: Receiver<Input>) {
        let mut buf = if self.peer.is_some() { Vec::new() } else { vec![0u8; 65536] };
        loop {
            while let Ok(i) = inputs.try_recv() {
                self.input(i);
            }
            self.flush();
            if self.core.state() == EndpointState::Closed {
                break;
            }
            let wait = self.slots.wake_at(&mut self.core).map(|t| t.saturating_duration_since(Instant::now()));
            if self.peer.is_some() {
                let input = match wait {
                    Some(d) => inputs.recv_timeout(d),
                    None => inputs.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                match input {
                    Ok(i) => self.input(i),
                    Err(RecvTimeoutError::Timeout) => {}
                    // Cannot happen (the slots keep a sender); nobody could reach it anyway.
                    Err(RecvTimeoutError::Disconnected) => self.core.destroy(Instant::now()),
                }
            } else {
                self.receive(&inputs, &mut buf, wait);
            }
            self.slots.handle_timeout(&mut self.core, Instant::now());
        }
        self.slots.finish(Instant::now());
        // Stop and join the reader thread: nothing of the endpoint is left running.
        drop(self.reader.take());
    }

    fn input(&mut self, i: Input) {
        match i {
            Input::Command(c) => self.slots.command(&mut self.core, c, Instant::now()),
            Input::Datagram(from, d) => self.core.handle(Instant::now(), from, &d),
            Input::Failed(e) => self.socket_error(&e),
        }
    }

    /// Wait up to `wait` for a datagram on the unconnected socket and hand it to the core.
    fn receive(&mut self, inputs: &Receiver<Input>, buf: &mut [u8], wait: Option<Duration>) {
        let _ = self.socket.set_read_timeout(wait.map(|d| d.max(Duration::from_millis(1))));
        match self.socket.recv_from(buf) {
            // Empty datagrams are wake-ups from handles (or noise): never DTLS.
            Ok((0, _)) => self.errors = 0,
            Ok((n, from)) => {
                self.errors = 0;
                // Requests sent before this datagram arrived come first (`approve_peer`, say).
                while let Ok(i) = inputs.try_recv() {
                    self.input(i);
                }
                self.core.handle(Instant::now(), from, buf.get(..n).unwrap_or_default());
            }
            Err(e) if is_timeout(&e) => {}
            Err(e) => {
                self.errors = self.errors.saturating_add(1);
                self.socket_error(&e);
                if let Some(pause) = driver::error_pause(self.errors) {
                    std::thread::sleep(pause);
                }
            }
        }
    }

    /// A receive or send failed. Only a refusal reported on a connected socket matters:
    /// anything else is a lost datagram, which DTLS retransmits if it matters.
    fn socket_error(&mut self, e: &std::io::Error) {
        if e.kind() == ErrorKind::ConnectionRefused
            && let Some(peer) = self.peer
        {
            self.slots.refused(&mut self.core, peer, e);
        }
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
                // Some systems refuse `send_to` on a connected socket.
                let sent = match self.peer {
                    Some(peer) if peer == destination => self.socket.send(&contents),
                    _ => self.socket.send_to(&contents, destination),
                };
                if let Err(e) = sent {
                    self.socket_error(&e);
                }
            }
            if !progressed {
                break;
            }
        }
        let status = EndpointStatus::of(&self.core);
        self.status.update(|s| *s = status);
    }
}
