//! The std driver thread's loop ([`Driver`]): it owns the socket and the sans-IO endpoint,
//! carries out requests, feeds datagrams to the core, and drains its transmits and events.
//! What to do with a request or an event is the shared `slots`' business; the protocol is
//! the core's.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::channels::{Inbox, Input, Waker, Watched};
use super::queue::QueueReceiver;
use super::reader::{Reader, is_timeout};
use super::session::UdpSession;
use crate::adapter::answer::Recycler;
use crate::adapter::driver::{self, EndpointStatus};
use crate::adapter::slots::Slots;
use crate::adapter::workers::Router;
use crate::endpoint::{Endpoint as Core, EndpointState};

/// One endpoint's driver, run on its own thread by [`Driver::run`].
pub(super) struct Driver {
    pub(super) socket: Arc<UdpSocket>,
    /// The peer a connected socket is connected to.
    pub(super) peer: Option<SocketAddr>,
    /// How handles wake this driver out of `recv_from` (`None` when it waits on its channel).
    pub(super) waker: Option<Waker>,
    /// Where the buffers of the reader's datagrams go back to it once handled.
    pub(super) spares: Recycler,
    pub(super) core: Core,
    pub(super) status: Arc<Watched<EndpointStatus>>,
    pub(super) slots: Slots<UdpSession>,
    /// Reads the socket when a wake-up datagram could not reach the driver (a connected
    /// socket, a worker's), through `inbox`; the driver then waits on its channel.
    pub(super) reader: Option<Reader>,
    /// How the reader's datagrams and other workers' hand-offs come.
    pub(super) inbox: Option<Inbox>,
    /// The other workers of the endpoint, for the datagrams that are theirs.
    pub(super) router: Option<Router<Inbox>>,
    /// Receive errors in a row on an unconnected socket.
    pub(super) errors: u32,
}

impl Driver {
    /// Serve requests and datagrams until the endpoint is closed, then wake every waiting
    /// handle and stop the reader thread.
    pub(super) fn run(mut self, inputs: QueueReceiver<Input>) {
        let mut buf = if self.reader.is_some() { Vec::new() } else { vec![0u8; 65536] };
        // Each outgoing datagram in turn (no allocation per datagram).
        let mut out = Vec::with_capacity(2048);
        loop {
            self.take_inputs(&inputs);
            self.slots.reclaim(&mut self.core);
            self.flush(&mut out);
            if self.core.state() == EndpointState::Closed {
                break;
            }
            let wait = self.slots.wake_at(&mut self.core).map(|t| t.saturating_duration_since(Instant::now()));
            if self.reader.is_some() {
                if let Some(i) = inputs.recv_timeout(wait) {
                    self.input(i);
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

    /// Everything waiting in the channel, without blocking.
    fn take_inputs(&mut self, inputs: &QueueReceiver<Input>) {
        if let Some(w) = &self.waker {
            w.taking();
        }
        while let Some(i) = inputs.try_recv() {
            self.input(i);
        }
    }

    fn input(&mut self, i: Input) {
        match i {
            Input::Command(c) => self.command(c),
            Input::Datagram(from, d) => {
                self.taken();
                self.datagram(from, &d);
                self.spares.give(d);
            }
            Input::HandOff(from, d) => {
                self.taken();
                self.core.handle(Instant::now(), from, &d);
                if let Some(r) = self.router.as_mut() {
                    r.handled(d);
                }
            }
            Input::Failed(e) => self.socket_error(&e),
        }
    }

    /// Carry out a handle's request; a `connect` tells the other workers whose datagrams
    /// are this one's.
    fn command(&mut self, c: driver::Command<UdpSession>) {
        let connected = self.slots.command(&mut self.core, c, Instant::now());
        if let (Some(remote), Some(r)) = (connected, &self.router) {
            r.connected(remote);
        }
    }

    fn taken(&self) {
        if let Some(inbox) = &self.inbox {
            inbox.taken();
        }
    }

    /// A datagram from the socket: to the core, unless it is another worker's.
    fn datagram(&mut self, from: SocketAddr, d: &[u8]) {
        if self.router.as_mut().is_some_and(|r| r.divert(from, d)) {
            return;
        }
        self.core.handle(Instant::now(), from, d);
    }

    /// Wait up to `wait` for a datagram on the unconnected socket and hand it to the core.
    fn receive(&mut self, inputs: &QueueReceiver<Input>, buf: &mut [u8], wait: Option<Duration>) {
        let _ = self.socket.set_read_timeout(wait.map(|d| d.max(Duration::from_millis(1))));
        match self.socket.recv_from(buf) {
            // Empty datagrams are wake-ups from handles (or noise): never DTLS.
            Ok((0, _)) => self.errors = 0,
            Ok((n, from)) => {
                self.errors = 0;
                // Requests sent before this datagram arrived come first (`approve_peer`, say).
                self.take_inputs(inputs);
                self.datagram(from, buf.get(..n).unwrap_or_default());
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
    fn flush(&mut self, out: &mut Vec<u8>) {
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
                    Some(peer) if peer == destination => self.socket.send(out),
                    _ => self.socket.send_to(out, destination),
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
        self.status.update(|s| *s = status);
    }
}
