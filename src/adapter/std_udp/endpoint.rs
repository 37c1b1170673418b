//! [`UdpEndpoint`], the std handle of one socket carrying many sessions: it starts the
//! driver thread and sends it requests. It never touches the socket after handing it over.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::channels::{Command, Control, Watched};
use super::driver::Driver;
use super::reader::Reader;
use super::session::UdpSession;
use super::{HandshakeFailure, lock, recv_timeout, resolve};
use crate::adapter::driver::{EndpointStatus, FAILURE_QUEUE};
use crate::adapter::slots::Slots;
use crate::adapter::{AdapterError, EndpointOptions};
use crate::config::{ClientConfig, ServerConfig};
use crate::endpoint::{Endpoint as Core, EndpointState};
use crate::stats::EndpointStats;

/// A UDP socket carrying many DTLS sessions, driven by a background thread (the blocking
/// counterpart of the sans-IO [`crate::Endpoint`]). Make one with [`super::listen`] (server)
/// or [`UdpEndpoint::bind`] (client only). Every method takes `&self`, so an endpoint can be
/// shared between threads; dropping it closes it and all its sessions gracefully.
pub struct UdpEndpoint {
    control: Control,
    accept: Mutex<Receiver<UdpSession>>,
    failures: Mutex<Receiver<HandshakeFailure>>,
    status: Arc<Watched<EndpointStatus>>,
    local_addr: SocketAddr,
    thread: Mutex<Option<JoinHandle<()>>>,
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
        self.control.send(Command::Connect { config, remote, timeout, reply })?;
        rx.recv().map_err(|_| AdapterError::Closed)?
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

impl Drop for UdpEndpoint {
    fn drop(&mut self) {
        self.request(Command::CloseEndpoint);
    }
}
