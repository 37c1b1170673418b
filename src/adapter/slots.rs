//! The table of one driver's sessions ([`Slots`]): which handle belongs to which session,
//! where a finished handshake goes (`connect`'s reply or `accept`), the `connect_timeout`
//! deadlines, and the handling of every [`Command`] and endpoint event. Both adapters run
//! this same code through their [`HandleChannels`]; it never makes a protocol decision
//! (the core does) and never blocks.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::answer::Recycler;
use super::driver::{Command, HandleChannels};
use super::status::Established;
use super::{AdapterError, HandshakeFailure};
use crate::endpoint::{Endpoint as Core, EndpointEvent, SessionHandle};
use crate::session::Event;
use crate::stats::SessionStats;

/// The driver's view of one session.
pub(super) struct Slot<C: HandleChannels> {
    remote: SocketAddr,
    /// `None` once the peer closed: the handle's `recv` then ends.
    data: Option<C::Data>,
    status: C::Status,
    /// The handle, until the handshake completes and it is handed out.
    pending: Option<C>,
    /// For sessions made by `connect`: where the handle goes.
    reply: Option<C::Reply<Result<C, AdapterError>>>,
    /// For `connect_timeout`: when the connect gives up, and the timeout it was given.
    deadline: Option<(Instant, Duration)>,
    /// For sessions made by `connect`: the address connected to.
    connected_to: Option<SocketAddr>,
}

impl<C: HandleChannels> Slot<C> {
    pub(super) fn new(remote: SocketAddr, handle: C, data: C::Data, status: C::Status) -> Self {
        Self {
            remote,
            data: Some(data),
            status,
            pending: Some(handle),
            reply: None,
            deadline: None,
            connected_to: None,
        }
    }

    /// The reply of a `connect` still waiting, taken with its deadline (if any).
    fn take_reply(
        &mut self,
        h: SessionHandle,
        deadlines: &mut BTreeSet<(Instant, SessionHandle)>,
    ) -> Option<C::Reply<Result<C, AdapterError>>> {
        if let Some((at, _)) = self.deadline.take() {
            deadlines.remove(&(at, h));
        }
        self.reply.take()
    }
}

/// Every session's slot, and where finished handshakes go.
pub(super) struct Slots<C: HandleChannels> {
    slots: HashMap<SessionHandle, Slot<C>>,
    control: C::Control,
    /// Where the handles give back the buffers of records they received, and the end the
    /// core takes them from.
    recycler: Recycler,
    recycled: Receiver<Vec<u8>>,
    receive_queue: usize,
    /// `None` once the endpoint is closing: `accept` then ends.
    accept: Option<C::Accept>,
    failures: C::Failures,
    /// The deadlines of `connect_timeout` calls still waiting, earliest first.
    deadlines: BTreeSet<(Instant, SessionHandle)>,
}

impl<C: HandleChannels> Slots<C> {
    pub(super) fn new(control: C::Control, receive_queue: usize, accept: C::Accept, failures: C::Failures) -> Self {
        let receive_queue = receive_queue.max(1);
        let (recycler, recycled) = Recycler::new();
        Self {
            slots: HashMap::new(),
            control,
            recycler,
            recycled,
            receive_queue,
            accept: Some(accept),
            failures,
            deadlines: BTreeSet::new(),
        }
    }

    /// Hand the core the buffers the handles gave back, to receive the next records into
    /// (the core keeps a bounded number and frees the rest).
    pub(super) fn reclaim(&self, core: &mut Core) {
        while let Ok(buf) = self.recycled.try_recv() {
            core.recycle_buffer(buf);
        }
    }

    /// When the driver must wake next: the core's next timer or the earliest
    /// `connect_timeout` deadline.
    pub(super) fn wake_at(&self, core: &mut Core) -> Option<Instant> {
        let connect = self.deadlines.first().map(|&(at, _)| at);
        match (core.poll_timeout(), connect) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Run what is due at `now`: every `connect_timeout` whose deadline passed fails with
    /// [`AdapterError::ConnectTimeout`] and its session is destroyed; then the core's timers.
    pub(super) fn handle_timeout(&mut self, core: &mut Core, now: Instant) {
        while let Some(&(at, h)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.remove(&(at, h));
            let timeout = self.slots.get(&h).and_then(|s| s.deadline).map_or(Duration::ZERO, |(_, t)| t);
            self.abandon(core, h, AdapterError::ConnectTimeout(timeout));
        }
        core.handle_timeout(now);
    }

    /// End the `connect` of session `h` if it is still waiting for its handshake: it
    /// fails with `error` and the session is destroyed. Its handle is dropped too, so
    /// that a `Connected` event the core queued meanwhile hands it to nobody.
    fn abandon(&mut self, core: &mut Core, h: SessionHandle, error: AdapterError) {
        let Some(slot) = self.slots.get_mut(&h) else { return };
        let Some(reply) = slot.take_reply(h, &mut self.deadlines) else { return };
        slot.pending = None;
        C::reply(reply, Err(error));
        core.destroy_session(h);
    }

    /// The socket, connected to `remote`, reported that `remote` refused (ICMP port
    /// unreachable): a `connect` to it still waiting for its handshake fails at once with
    /// `error` and its session is destroyed. An established session is left alone, as
    /// TCP treats hard ICMP errors in its synchronized states (RFC 5927): an
    /// unauthenticated ICMP message must not end an authenticated session.
    pub(super) fn refused(&mut self, core: &mut Core, remote: SocketAddr, error: &std::io::Error) {
        let Some(h) = core.handle_for(remote) else { return };
        let error = std::io::Error::new(error.kind(), format!("{remote}: {error}"));
        self.abandon(core, h, AdapterError::Io(error));
    }

    /// Carry out one request from a handle. Returns the address a `connect` opened a
    /// session to (the workers' router must know it).
    pub(super) fn command(&mut self, core: &mut Core, c: Command<C>, now: Instant) -> Option<SocketAddr> {
        match c {
            Command::Connect { config, remote, timeout, reply } => match core.connect(now, config, remote) {
                Ok(h) => {
                    let mut slot = C::open(&self.control, &self.recycler, self.receive_queue, h, remote);
                    slot.reply = Some(reply);
                    slot.connected_to = Some(remote);
                    // A deadline too far away to represent is no deadline.
                    if let Some(t) = timeout
                        && let Some(at) = now.checked_add(t)
                    {
                        slot.deadline = Some((at, t));
                        self.deadlines.insert((at, h));
                    }
                    self.slots.insert(h, slot);
                    return Some(remote);
                }
                Err(e) => C::reply(reply, Err(e.into())),
            },
            Command::Send { h, data, reply } => reply.send(core.send(h, &data).map_err(AdapterError::from), data),
            Command::Stats { h, reply } => C::reply(reply, core.session(h).map(|s| s.stats().clone())),
            Command::Export { h, request, reply } => C::reply(reply, request.run(core.session(h))),
            Command::Close(h) => core.close_session(now, h),
            Command::Destroy(h) => core.destroy_session(h),
            Command::SetBusy(b) => core.set_busy(b),
            Command::ApprovePeer(remote) => core.approve_peer(remote),
            Command::RevokePeer(remote) => core.revoke_peer(remote),
            Command::MaySendHello { remote, reply } => C::reply(reply, core.may_send_hello(remote)),
            Command::CloseEndpoint => {
                self.accept = None;
                core.close(now);
            }
            Command::DestroyEndpoint => {
                self.accept = None;
                core.destroy(now);
            }
        }
        None
    }

    /// Pass one endpoint event on to the handles. Drain events before transmits: the
    /// session of an `Accepted` or `Connected` event must still be there to be read, and
    /// `poll_transmit` removes a session that ended (say, on its first ClientHello).
    /// Returns the address a `connect` had opened the session to, when it is gone.
    pub(super) fn event(&mut self, core: &Core, h: SessionHandle, ev: EndpointEvent) -> Option<SocketAddr> {
        if let EndpointEvent::Accepted = ev {
            if let Some(remote) = core.session(h).map(|s| s.remote_addr()) {
                let slot = C::open(&self.control, &self.recycler, self.receive_queue, h, remote);
                self.slots.insert(h, slot);
            }
            return None;
        }
        let slot = self.slots.get_mut(&h)?;
        match ev {
            EndpointEvent::Session(Event::Connected) => {
                let established = core.session(h).map(Established::of);
                C::publish(&slot.status, |s| s.established = established);
                if let Some(session) = slot.pending.take() {
                    match (slot.take_reply(h, &mut self.deadlines), &self.accept) {
                        (Some(reply), _) => C::reply(reply, Ok(session)),
                        (None, Some(accept)) => C::accept(accept, session),
                        (None, None) => {}
                    }
                }
            }
            EndpointEvent::Session(Event::ApplicationData(d)) => {
                if let Some(tx) = &slot.data {
                    C::deliver(tx, d);
                }
            }
            EndpointEvent::Session(Event::Closed) => slot.data = None,
            // The endpoint sends to the new address already; failures name it from now on.
            EndpointEvent::Session(Event::PeerAddressChanged(remote)) => slot.remote = remote,
            EndpointEvent::Failed(e) => {
                if let Some(reply) = slot.take_reply(h, &mut self.deadlines) {
                    C::reply(reply, Err(AdapterError::Dtls(e.clone())));
                } else if slot.pending.is_some() {
                    C::fail(&self.failures, HandshakeFailure { remote: slot.remote, error: e.clone() });
                }
                C::publish(&slot.status, |s| s.error = Some(e));
            }
            EndpointEvent::Destroyed(stats) => {
                let mut slot = self.slots.remove(&h)?;
                if let Some(reply) = slot.take_reply(h, &mut self.deadlines) {
                    C::reply(reply, Err(AdapterError::Closed));
                }
                C::publish(&slot.status, |s| s.final_stats = Some(*stats));
                return slot.connected_to;
            }
            EndpointEvent::Accepted => {}
        }
        None
    }

    /// The driver stops: wake every handle still waiting for its session to end.
    pub(super) fn finish(&mut self, now: Instant) {
        self.deadlines.clear();
        for (_, slot) in self.slots.drain() {
            C::publish(&slot.status, |s| {
                s.final_stats.get_or_insert_with(|| SessionStats::new(now));
            });
        }
    }
}
