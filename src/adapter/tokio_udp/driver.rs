//! The tokio driver task's loop ([`Driver`]): it owns the socket and the sans-IO endpoint,
//! carries out requests, feeds datagrams to the core in batches, and drains its transmits
//! and events. What to do with a request or an event is the shared `slots`' business; the
//! protocol is the core's.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::session::{Command, UdpSession};
use crate::adapter::driver::{self, EndpointStatus};
use crate::adapter::slots::Slots;
use crate::adapter::workers::{HandOff, Router};
use crate::endpoint::{Endpoint as Core, EndpointState};

/// Most datagrams read from the socket in one go before outputs are drained.
const RECEIVE_BATCH: usize = 64;

/// A queue of datagrams for one worker, from the others (bounded: [`HandOff`] never waits).
pub(super) type HandOffTx = mpsc::Sender<(SocketAddr, Vec<u8>)>;
/// A worker's end of its [`HandOffTx`].
pub(super) type HandOffRx = mpsc::Receiver<(SocketAddr, Vec<u8>)>;

impl HandOff for HandOffTx {
    fn try_hand_off(&self, from: SocketAddr, datagram: Vec<u8>) -> Result<(), Vec<u8>> {
        self.try_send((from, datagram)).map_err(|e| e.into_inner().1)
    }
}

/// One endpoint's driver (or one worker's), spawned as a task by its [`super::UdpEndpoint`].
pub(super) struct Driver {
    pub(super) socket: UdpSocket,
    /// The peer a connected socket is connected to.
    pub(super) peer: Option<SocketAddr>,
    pub(super) core: Core,
    pub(super) status: watch::Sender<EndpointStatus>,
    pub(super) slots: Slots<UdpSession>,
    /// A worker's way to the others, for the datagrams that are theirs.
    pub(super) router: Option<Router<HandOffTx>>,
    /// A worker's datagrams from the others.
    pub(super) handoffs: Option<HandOffRx>,
}

impl Driver {
    /// Serve requests and datagrams until the endpoint is closed, then wake every waiting
    /// handle (the socket is dropped with the driver).
    pub(super) async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; 65536];
        // Each outgoing datagram in turn (no allocation per datagram).
        let mut out = Vec::with_capacity(2048);
        // Receive errors in a row.
        let mut errors = 0u32;
        loop {
            self.slots.reclaim(&mut self.core);
            self.flush(&mut out).await;
            if self.core.state() == EndpointState::Closed {
                break;
            }
            let deadline = self.slots.wake_at(&mut self.core);
            let sleep = async {
                match deadline {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => {
                        errors = 0;
                        // Requests sent before this datagram arrived come first.
                        while let Ok(c) = cmds.try_recv() {
                            self.command(c);
                        }
                        self.datagram(from, buf.get(..n).unwrap_or_default());
                        for _ in 1..RECEIVE_BATCH {
                            match self.socket.try_recv_from(&mut buf) {
                                Ok((n, from)) => self.datagram(from, buf.get(..n).unwrap_or_default()),
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
                            tokio::time::sleep(pause).await;
                        }
                    }
                },
                c = cmds.recv() => match c {
                    Some(c) => self.command(c),
                    None => self.core.close(Instant::now()),
                },
                h = next_handoff(&mut self.handoffs) => match h {
                    Some((from, d)) => {
                        self.core.handle(Instant::now(), from, &d);
                        if let Some(r) = self.router.as_mut() {
                            r.handled(d);
                        }
                    }
                    // Every other worker has stopped.
                    None => self.handoffs = None,
                },
                () = sleep => {}
            }
            self.slots.handle_timeout(&mut self.core, Instant::now());
        }
        // Closed: wake every waiter; the socket is dropped with the driver.
        self.slots.finish(Instant::now());
    }

    /// Carry out a handle's request; a `connect` tells the other workers whose datagrams
    /// are this one's.
    fn command(&mut self, c: Command) {
        let connected = self.slots.command(&mut self.core, c, Instant::now());
        if let (Some(remote), Some(r)) = (connected, &self.router) {
            r.connected(remote);
        }
    }

    /// A datagram from the socket: to the core, unless it is another worker's.
    fn datagram(&mut self, from: SocketAddr, d: &[u8]) {
        if self.router.as_mut().is_some_and(|r| r.divert(from, d)) {
            return;
        }
        self.core.handle(Instant::now(), from, d);
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
    async fn flush(&mut self, out: &mut Vec<u8>) {
        loop {
            let mut progressed = false;
            // Events first: `poll_transmit` removes a session that has ended, and the
            // handling of its `Accepted` and `Connected` still needs to read it.
            while let Some((h, ev)) = self.core.poll_event() {
                progressed = true;
                let disconnected = self.slots.event(&self.core, h, ev);
                if let (Some(remote), Some(r)) = (disconnected, &self.router) {
                    r.disconnected(remote);
                }
            }
            while let Some(destination) = self.core.poll_transmit_into(out) {
                progressed = true;
                // Some systems refuse `send_to` on a connected socket.
                let sent = match self.peer {
                    Some(peer) if peer == destination => self.socket.send(out).await,
                    _ => self.socket.send_to(out, destination).await,
                };
                if let Err(e) = sent {
                    self.socket_error(&e);
                }
            }
            if !progressed {
                break;
            }
        }
        let status = EndpointStatus::of(&self.core, self.router.as_ref().map(|r| r.counts).unwrap_or_default());
        self.status.send_modify(|s| *s = status);
    }
}

/// The next datagram another worker handed over; never, for an endpoint of one worker.
async fn next_handoff(rx: &mut Option<HandOffRx>) -> Option<(SocketAddr, Vec<u8>)> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
