//! Feature `tokio`: an async [`Endpoint`] and [`Session`] over `tokio::net::UdpSocket`,
//! shaped like node:dtls (`listen`, `connect`, `accept`, `send`, `recv`, `close`, `closed`).
//!
//! One driver task per endpoint owns the socket and the sans-IO
//! [`crate::endpoint::Endpoint`]; handles talk to it over channels. This module must never
//! make a protocol decision, and never block the runtime.
//!
//! Design choices:
//! - [`connect`] and [`Endpoint::connect`] resolve when the handshake completes, returning
//!   `Err` if it fails, so there is no separate `opened` future.
//! - [`Endpoint::accept`] yields server sessions once their handshake completed.
//! - Dropping a [`Session`] closes it gracefully (close_notify); dropping an [`Endpoint`]
//!   closes every session and then stops the driver.
//! - Received records wait in a bounded queue ([`EndpointOptions::receive_queue`]); when it
//!   is full, new records are dropped, as datagrams would be.
//! - [`connect`] and [`connect_timeout`] connect their own socket to the peer, so that an
//!   ICMP "port unreachable" ends the attempt at once (see the [parent module](super)).
//! - A request sent before a datagram arrived is carried out before that datagram is
//!   handled (an [`Endpoint::approve_peer`] before the approved peer's ClientHello, say).

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::tokio::net::{ToSocketAddrs, UdpSocket, lookup_host};
use ::tokio::sync::{mpsc, oneshot, watch};
use ::tokio::task::JoinHandle;

use super::driver::{self, EndpointStatus, FAILURE_QUEUE, HandleChannels, Slot, Slots};
use super::{EndpointOptions, Error, Established, ExportRequest, PROTOCOL, Status};
use crate::config::{ClientConfig, ServerConfig};
use crate::endpoint::{Endpoint as Core, EndpointState, SessionHandle};
use crate::stats::{EndpointStats, SessionStats};
use crate::{CertificateDer, CipherInfo, SrtpKeyingMaterial, SrtpProtectionProfile, Transmit};

pub use super::HandshakeFailure;

/// Most datagrams read from the socket in one go before outputs are drained.
const RECEIVE_BATCH: usize = 64;

type Command = driver::Command<Session>;

/// Start a server endpoint on `addr`: it accepts sessions with `config`; take them with
/// [`Endpoint::accept`]. Must be called within a tokio runtime.
pub async fn listen(
    addr: impl ToSocketAddrs,
    config: Arc<ServerConfig>,
    options: EndpointOptions,
) -> Result<Endpoint, Error> {
    Endpoint::start(addr, Some(config), options, None).await
}

/// Connect to a server from a fresh ephemeral socket and complete the handshake. The
/// returned session owns its endpoint; dropping the session closes both.
///
/// The socket is connected to the peer, so a peer that answers with ICMP "port unreachable"
/// (nothing listens there) fails the call at once with [`Error::Io`] of kind
/// [`ErrorKind::ConnectionRefused`]. A peer that does not answer at all is given up after
/// the client configuration's handshake timeout ([`Error::Dtls`] with
/// [`crate::Error::HandshakeTimeout`]); bound the wait with [`connect_timeout`].
pub async fn connect(addr: impl ToSocketAddrs, config: Arc<ClientConfig>) -> Result<Session, Error> {
    connect_own(addr, config, None).await
}

/// Like [`connect`], giving up when the handshake has not completed within `timeout`: the
/// pending session is destroyed and the call fails with [`Error::ConnectTimeout`]. Name
/// resolution of `addr` happens before and is not counted.
///
/// Prefer it to wrapping [`connect`] in `tokio::time::timeout`, which leaves the abandoned
/// handshake running in the driver until its own deadline.
pub async fn connect_timeout(
    addr: impl ToSocketAddrs,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<Session, Error> {
    connect_own(addr, config, Some(timeout)).await
}

async fn connect_own(
    addr: impl ToSocketAddrs,
    config: Arc<ClientConfig>,
    timeout: Option<Duration>,
) -> Result<Session, Error> {
    let remote = resolve(addr).await?;
    let bind: SocketAddr = if remote.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let endpoint = Endpoint::start(bind, None, EndpointOptions::default(), Some(remote)).await?;
    let mut session = endpoint.open(remote, config, timeout).await?;
    session.endpoint = Some(endpoint);
    Ok(session)
}

async fn resolve(addr: impl ToSocketAddrs) -> Result<SocketAddr, Error> {
    lookup_host(addr).await?.next().ok_or_else(|| Error::Io(std::io::ErrorKind::AddrNotAvailable.into()))
}

/// A UDP socket carrying many DTLS sessions (node:dtls `DTLSEndpoint`).
pub struct Endpoint {
    cmd: mpsc::UnboundedSender<Command>,
    accept: ::tokio::sync::Mutex<mpsc::UnboundedReceiver<Session>>,
    failures: ::tokio::sync::Mutex<mpsc::Receiver<HandshakeFailure>>,
    status: watch::Receiver<EndpointStatus>,
    local_addr: SocketAddr,
    driver: Mutex<Option<JoinHandle<()>>>,
}

impl core::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Endpoint").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

impl Endpoint {
    /// A client-only endpoint on `addr` (use [`Endpoint::connect`] for sessions).
    pub async fn bind(addr: impl ToSocketAddrs, options: EndpointOptions) -> Result<Endpoint, Error> {
        Self::start(addr, None, options, None).await
    }

    /// An endpoint on `addr`; with `peer`, its socket is connected to that one peer.
    async fn start(
        addr: impl ToSocketAddrs,
        server: Option<Arc<ServerConfig>>,
        options: EndpointOptions,
        peer: Option<SocketAddr>,
    ) -> Result<Endpoint, Error> {
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
        let task = ::tokio::spawn(driver.run(cmd_rx));
        Ok(Endpoint {
            cmd: cmd_tx,
            accept: ::tokio::sync::Mutex::new(accept_rx),
            failures: ::tokio::sync::Mutex::new(failure_rx),
            status: status_rx,
            local_addr,
            driver: Mutex::new(Some(task)),
        })
    }

    /// The next session whose handshake completed; `None` once the endpoint is closing.
    pub async fn accept(&self) -> Option<Session> {
        self.accept.lock().await.recv().await
    }

    /// The next server handshake that failed (so it never reached [`Endpoint::accept`]);
    /// `None` once the endpoint is closed. At most a few unread failures are kept.
    pub async fn handshake_failure(&self) -> Option<HandshakeFailure> {
        self.failures.lock().await.recv().await
    }

    /// Start a client session to `addr` on this endpoint's socket and wait for the handshake.
    ///
    /// This socket is not connected to the peer (it may serve many), and the OS reports no
    /// ICMP errors on an unconnected socket: a peer where nothing listens is given up only
    /// after the client configuration's handshake timeout (60 s by default). Use
    /// [`Endpoint::connect_timeout`] to bound the wait, or [`connect`] for a socket of its own
    /// that learns of a refusal at once.
    pub async fn connect(&self, addr: impl ToSocketAddrs, config: Arc<ClientConfig>) -> Result<Session, Error> {
        self.open(resolve(addr).await?, config, None).await
    }

    /// Like [`Endpoint::connect`], giving up when the handshake has not completed within
    /// `timeout`: the pending session is destroyed and the call fails with
    /// [`Error::ConnectTimeout`]. Name resolution of `addr` happens before and is not
    /// counted.
    pub async fn connect_timeout(
        &self,
        addr: impl ToSocketAddrs,
        config: Arc<ClientConfig>,
        timeout: Duration,
    ) -> Result<Session, Error> {
        self.open(resolve(addr).await?, config, Some(timeout)).await
    }

    async fn open(
        &self,
        remote: SocketAddr,
        config: Arc<ClientConfig>,
        timeout: Option<Duration>,
    ) -> Result<Session, Error> {
        let (reply, rx) = oneshot::channel();
        self.cmd.send(Command::Connect { config, remote, timeout, reply }).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
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

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.request(Command::CloseEndpoint);
    }
}

/// One DTLS association (node:dtls `DTLSSession`), established.
pub struct Session {
    handle: SessionHandle,
    remote: SocketAddr,
    cmd: mpsc::UnboundedSender<Command>,
    data: mpsc::Receiver<Vec<u8>>,
    status: watch::Receiver<Status>,
    /// The endpoint of a session made by [`connect`], kept alive (and closed) with it.
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
    pub async fn send(&self, data: &[u8]) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        self.cmd.send(Command::Send { h: self.handle, data: data.to_vec(), reply }).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// The next datagram of application data; `None` once the session is closed.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        self.data.recv().await
    }

    /// Close gracefully: send close_notify; [`Session::closed`] resolves when it is done.
    pub fn close(&self) {
        let _ = self.cmd.send(Command::Close(self.handle));
    }

    /// Drop the session at once, without close_notify.
    pub fn destroy(&self) {
        let _ = self.cmd.send(Command::Destroy(self.handle));
    }

    /// Resolves once the session is gone (close_notify exchanged, linger elapsed, error,
    /// or destroyed). Returns the error that ended it, if any.
    pub async fn closed(&self) -> Option<crate::Error> {
        let mut status = self.status.clone();
        match status.wait_for(|s| s.final_stats.is_some()).await {
            Ok(s) => s.error.clone(),
            Err(_) => None,
        }
    }

    fn established<T>(&self, f: impl FnOnce(&Established) -> Option<T>) -> Option<T> {
        self.status.borrow().established.as_ref().and_then(f)
    }

    session_info_accessors!();

    /// Fill `out` with keying material (RFC 5705) for `label` and an optional `context`.
    /// Asks the driver, so it fails with [`Error::Closed`] once the session is gone.
    pub async fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        let request = ExportRequest::new(out.len(), label, context);
        self.cmd.send(Command::Export { h: self.handle, request, reply }).map_err(|_| Error::Closed)?;
        let material = rx.await.map_err(|_| Error::Closed)??;
        out.copy_from_slice(&material);
        Ok(())
    }

    /// The session's statistics: live from the driver, or the final ones once destroyed.
    pub async fn stats(&self) -> Option<SessionStats> {
        let (reply, rx) = oneshot::channel();
        if self.cmd.send(Command::Stats { h: self.handle, reply }).is_ok()
            && let Ok(Some(s)) = rx.await
        {
            return Some(s);
        }
        self.status.borrow().final_stats.clone()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.cmd.send(Command::Close(self.handle));
    }
}

impl HandleChannels for Session {
    type Control = mpsc::UnboundedSender<Command>;
    type Data = mpsc::Sender<Vec<u8>>;
    type Status = watch::Sender<Status>;
    type Reply<T> = oneshot::Sender<T>;
    type Accept = mpsc::UnboundedSender<Session>;
    type Failures = mpsc::Sender<HandshakeFailure>;

    fn open(control: &Self::Control, receive_queue: usize, h: SessionHandle, remote: SocketAddr) -> Slot<Self> {
        let (data_tx, data_rx) = mpsc::channel(receive_queue);
        let (status_tx, status_rx) = watch::channel(Status::default());
        let session =
            Session { handle: h, remote, cmd: control.clone(), data: data_rx, status: status_rx, endpoint: None };
        Slot::new(remote, session, data_tx, status_tx)
    }

    fn deliver(to: &Self::Data, data: Vec<u8>) {
        let _ = to.try_send(data);
    }

    fn publish(to: &Self::Status, f: impl FnOnce(&mut Status)) {
        to.send_modify(f);
    }

    fn reply<T>(to: oneshot::Sender<T>, value: T) {
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
    socket: UdpSocket,
    /// The peer a connected socket is connected to.
    peer: Option<SocketAddr>,
    core: Core,
    status: watch::Sender<EndpointStatus>,
    slots: Slots<Session>,
}

impl Driver {
    async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; 65536];
        // Receive errors in a row.
        let mut errors = 0u32;
        loop {
            self.flush().await;
            if self.core.state() == EndpointState::Closed {
                break;
            }
            let deadline = self.slots.wake_at(&mut self.core);
            let sleep = async {
                match deadline {
                    Some(t) => ::tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            ::tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => {
                        errors = 0;
                        // Requests sent before this datagram arrived come first.
                        while let Ok(c) = cmds.try_recv() {
                            self.slots.command(&mut self.core, c, Instant::now());
                        }
                        self.core.handle(Instant::now(), from, buf.get(..n).unwrap_or_default());
                        for _ in 1..RECEIVE_BATCH {
                            match self.socket.try_recv_from(&mut buf) {
                                Ok((n, from)) => {
                                    self.core.handle(Instant::now(), from, buf.get(..n).unwrap_or_default());
                                }
                                Err(e) => {
                                    if e.kind() != ErrorKind::WouldBlock {
                                        self.socket_error(&e);
                                    }
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => {
                        errors = errors.saturating_add(1);
                        self.socket_error(&e);
                        if let Some(pause) = driver::error_pause(errors) {
                            ::tokio::time::sleep(pause).await;
                        }
                    }
                },
                c = cmds.recv() => match c {
                    Some(c) => self.slots.command(&mut self.core, c, Instant::now()),
                    None => self.core.close(Instant::now()),
                },
                () = sleep => {}
            }
            self.slots.handle_timeout(&mut self.core, Instant::now());
        }
        // Closed: wake every waiter; the socket is dropped with the driver.
        self.slots.finish(Instant::now());
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
    async fn flush(&mut self) {
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
                    Some(peer) if peer == destination => self.socket.send(&contents).await,
                    _ => self.socket.send_to(&contents, destination).await,
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
        self.status.send_modify(|s| *s = status);
    }
}
