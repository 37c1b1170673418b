//! Runs one engine [`Session`] over a loopback [`UdpSocket`], in the order the engine
//! documents: feed each datagram to `handle`, fire `handle_timeout` once `poll_timeout`
//! has passed, drain `poll_transmit` to the socket, collect `poll_event`.
//!
//! The driver owns no protocol logic. It only ever sends to loopback addresses.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::fmt;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dtls_engine::{ClientConfig, Error, Event, ServerConfig, Session};

/// Why a drive loop stopped without reaching its goal.
pub enum DriveError {
    /// The engine returned a (fatal) error; its alert, if any, has been sent.
    Engine(Error),
    /// The goal was not reached in time.
    Timeout(String),
}

impl fmt::Debug for DriveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Engine(e) => write!(f, "engine error: {e:?}"),
            Self::Timeout(what) => write!(f, "timed out waiting for {what}"),
        }
    }
}

enum Role {
    Client,
    /// The session is created when the first datagram arrives, for its source address.
    Server(Arc<ServerConfig>),
}

/// One session on one loopback socket.
pub struct UdpPeer {
    socket: UdpSocket,
    role: Role,
    session: Option<Session>,
    remote: Option<SocketAddr>,
    app_data: VecDeque<Vec<u8>>,
    connected: bool,
    peer_closed: bool,
    error: Option<Error>,
    /// Largest datagram we sent, to check the MTU was honoured.
    pub max_datagram_sent: usize,
    pub datagrams_sent: u64,
    pub datagrams_received: u64,
}

impl UdpPeer {
    /// A client session towards `remote` (a loopback address); the ClientHello is queued.
    pub fn client(config: Arc<ClientConfig>, remote: SocketAddr) -> Self {
        assert!(remote.ip().is_loopback(), "tests only talk to loopback");
        let session = Session::client(Instant::now(), config, remote);
        let mut peer = Self::new(Role::Client);
        peer.session = Some(session);
        peer.remote = Some(remote);
        peer
    }

    /// A server waiting on its own loopback port ([`port`](Self::port)) for one client.
    pub fn server(config: Arc<ServerConfig>) -> Self {
        Self::new(Role::Server(config))
    }

    fn new(role: Role) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        Self {
            socket,
            role,
            session: None,
            remote: None,
            app_data: VecDeque::new(),
            connected: false,
            peer_closed: false,
            error: None,
            max_datagram_sent: 0,
            datagrams_sent: 0,
            datagrams_received: 0,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("local_addr")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// The session; panics for a server that has not heard from a client yet.
    pub fn session(&self) -> &Session {
        self.session.as_ref().expect("no session yet")
    }

    pub fn session_mut(&mut self) -> &mut Session {
        self.session.as_mut().expect("no session yet")
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// True once the peer's close_notify arrived (`Event::Closed`).
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// The fatal error the session ended with, if any.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Drives the session until `done(self)` holds, for at most `timeout`.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        what: &str,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<(), DriveError> {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return Ok(());
            }
            if let Some(e) = &self.error {
                return Err(DriveError::Engine(e.clone()));
            }
            if Instant::now() >= deadline {
                return Err(DriveError::Timeout(format!("{what} (after {timeout:?})")));
            }
            self.turn(deadline)?;
        }
    }

    /// Drives the session for `duration` whatever happens (errors still stop it).
    pub fn run_for(&mut self, duration: Duration) -> Result<(), DriveError> {
        match self.run_until(duration, "nothing", |_| false) {
            Err(DriveError::Timeout(_)) => Ok(()),
            other => other,
        }
    }

    pub fn run_until_connected(&mut self, timeout: Duration) -> Result<(), DriveError> {
        self.run_until(timeout, "Event::Connected", |p| p.connected)
    }

    /// Sends one record of application data.
    pub fn send(&mut self, data: &[u8]) -> Result<(), DriveError> {
        self.session_mut().send(data).map_err(DriveError::Engine)?;
        self.flush();
        Ok(())
    }

    /// The next application-data record received, driving the session until one arrives.
    pub fn recv_app_data(&mut self, timeout: Duration) -> Result<Vec<u8>, DriveError> {
        self.run_until(timeout, "application data", |p| !p.app_data.is_empty())?;
        Ok(self.app_data.pop_front().expect("checked non-empty"))
    }

    /// Queues close_notify and sends it.
    pub fn close_and_flush(&mut self) {
        self.session_mut().close(std::time::Instant::now());
        self.flush();
    }

    /// Drives until the peer's close_notify arrives.
    pub fn run_until_peer_closed(&mut self, timeout: Duration) -> Result<(), DriveError> {
        self.run_until(timeout, "Event::Closed", |p| p.peer_closed)
    }

    /// One turn: send what is queued, wait for one datagram until the next timer (or a
    /// short poll interval), handle it, fire due timers, send again, collect events.
    fn turn(&mut self, deadline: Instant) -> Result<(), DriveError> {
        self.flush();
        let now = Instant::now();
        let mut wake = deadline.min(now + Duration::from_millis(50));
        if let Some(t) = self.session.as_mut().and_then(|s| s.poll_timeout()) {
            wake = wake.min(t);
        }
        let wait = wake.saturating_duration_since(now).max(Duration::from_millis(1));
        self.socket.set_read_timeout(Some(wait)).expect("set_read_timeout");

        let mut buf = vec![0u8; 65536];
        match self.socket.recv_from(&mut buf) {
            Ok((n, from)) => self.on_datagram(from, &buf[..n])?,
            // No datagram, or an ICMP error from a peer that has exited: nothing to do.
            // `Interrupted` too: a `recvfrom` with `SO_RCVTIMEO` fails with EINTR when the
            // process is stopped and continued (or frozen and thawed), handler or not.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock
                        | ErrorKind::TimedOut
                        | ErrorKind::Interrupted
                        | ErrorKind::ConnectionRefused
                        | ErrorKind::ConnectionReset
                ) => {}
            Err(e) => panic!("recv_from: {e}"),
        }

        if let Some(session) = self.session.as_mut()
            && session.poll_timeout().is_some_and(|t| t <= Instant::now())
        {
            let res = session.handle_timeout(Instant::now());
            self.check(res)?;
        }
        self.flush();
        self.drain_events();
        Ok(())
    }

    fn on_datagram(&mut self, from: SocketAddr, datagram: &[u8]) -> Result<(), DriveError> {
        if self.session.is_none() {
            let Role::Server(config) = &self.role else { unreachable!("a client always has a session") };
            self.session = Some(Session::server(Instant::now(), Arc::clone(config), from));
            self.remote = Some(from);
        }
        if self.remote != Some(from) {
            return Ok(()); // not our peer
        }
        self.datagrams_received += 1;
        let res = self.session.as_mut().expect("created above").handle(Instant::now(), datagram);
        self.check(res)?;
        self.drain_events();
        Ok(())
    }

    /// On a fatal error: send the queued alert, remember the error, stop.
    fn check(&mut self, res: Result<(), Error>) -> Result<(), DriveError> {
        match res {
            Ok(()) => Ok(()),
            Err(e) => {
                self.flush();
                self.drain_events();
                self.error = Some(e.clone());
                Err(DriveError::Engine(e))
            }
        }
    }

    fn flush(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        while let Some(t) = session.poll_transmit() {
            assert!(t.destination.ip().is_loopback(), "engine asked to send to {}", t.destination);
            self.max_datagram_sent = self.max_datagram_sent.max(t.contents.len());
            self.datagrams_sent += 1;
            // A send error (peer gone) is not ours to judge; the test checks outcomes.
            let _ = self.socket.send_to(&t.contents, t.destination);
        }
    }

    fn drain_events(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        while let Some(event) = session.poll_event() {
            match event {
                Event::Connected => self.connected = true,
                Event::ApplicationData(data) => self.app_data.push_back(data),
                Event::Closed => self.peer_closed = true,
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }
}
