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
use crate::Transmit;
use crate::adapter::driver::{self, EndpointStatus};
use crate::adapter::slots::Slots;
use crate::endpoint::{Endpoint as Core, EndpointState};

/// Most datagrams read from the socket in one go before outputs are drained.
const RECEIVE_BATCH: usize = 64;

/// One endpoint's driver, spawned as a task by its [`super::UdpEndpoint`].
pub(super) struct Driver {
    pub(super) socket: UdpSocket,
    /// The peer a connected socket is connected to.
    pub(super) peer: Option<SocketAddr>,
    pub(super) core: Core,
    pub(super) status: watch::Sender<EndpointStatus>,
    pub(super) slots: Slots<UdpSession>,
}

impl Driver {
    /// Serve requests and datagrams until the endpoint is closed, then wake every waiting
    /// handle (the socket is dropped with the driver).
    pub(super) async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<Command>) {
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
                            tokio::time::sleep(pause).await;
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
