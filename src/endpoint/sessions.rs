//! The endpoint's session bookkeeping: inserting and removing sessions, the address map and
//! half-open count, re-arming timers and draining what a session produced.

use std::time::Instant;

use super::timers::Armed;
use super::{Endpoint, EndpointEvent, EndpointState, Entry, SessionHandle};
use crate::session::{Event, Session};

impl Endpoint {
    /// Insert a session; a server session (`hello_random` set) counts as half-open until
    /// it connects or is removed.
    pub(super) fn insert(&mut self, session: Session, hello_random: Option<[u8; 32]>) -> SessionHandle {
        let remote = session.remote_addr();
        // The peer's session takes its datagrams from now on; a hello reassembled (and kept
        // after its answer) in the pre-validation budget is not needed any more, and would
        // otherwise take the session's later hello fragments (`handle_known`).
        self.prevalidation.forget(remote);
        let half_open = hello_random.is_some();
        self.half_open += usize::from(half_open);
        let h = self.sessions.insert(Entry {
            peer_closed: false,
            ended: false,
            queued: false,
            timer: Armed::default(),
            linger_until: None,
            session,
            hello_random,
            half_open,
            routed_cids: 0,
        });
        self.by_addr.insert(remote, h);
        h
    }

    /// After any input to session `h`: queue it for transmit draining, then collect its
    /// events, decide whether it ended, and re-arm its timer.
    pub(super) fn settle(&mut self, h: SessionHandle) {
        if let Some(e) = self.sessions.get_mut(h)
            && !e.queued
        {
            e.queued = true;
            self.touched.push_back(h);
        }
        self.settle_quiet(h);
    }

    pub(super) fn settle_quiet(&mut self, h: SessionHandle) {
        let Some(mut e) = self.sessions.get_mut(h) else { return };
        while let Some(ev) = e.session.poll_event() {
            if ev == Event::Closed {
                e.peer_closed = true;
            }
            if ev == Event::Connected && e.half_open {
                e.half_open = false;
                self.half_open -= 1;
            }
            self.events.push_back((h, EndpointEvent::Session(ev)));
        }
        // Route every connection ID the session gave its peer (negotiated, or issued later
        // with NewConnectionId); the count changes rarely.
        let issued = e.session.own_connection_ids().count();
        if issued != e.routed_cids {
            e.routed_cids = issued;
            self.route_cids(h);
            let Some(again) = self.sessions.get_mut(h) else { return };
            e = again;
        }
        // The peer's close_notify was received; the session has queued its answer.
        if e.peer_closed && e.session.is_closed() {
            e.ended = true;
        }
        let at = if e.ended {
            None
        } else {
            match (e.session.poll_timeout(), e.linger_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        self.timers.arm(h, &mut e.timer, at);
        self.compact_timers();
    }

    /// Rebuild the heap when stale entries outnumber live sessions (amortised O(1)).
    pub(super) fn compact_timers(&mut self) {
        if self.timers.len() > 2 * self.sessions.len() + 64 {
            let sessions = &self.sessions;
            self.timers
                .compact(|h, t, g| sessions.get(h).is_some_and(|e| e.timer.at == Some(t) && e.timer.generation == g));
        }
    }

    pub(super) fn remove(&mut self, h: SessionHandle) {
        let Some(e) = self.sessions.remove(h) else { return };
        self.half_open -= usize::from(e.half_open);
        let remote = e.session.remote_addr();
        if self.by_addr.get(&remote) == Some(&h) {
            self.by_addr.remove(&remote);
        }
        for own in e.session.own_connection_ids() {
            self.cids.unregister(own, h);
        }
        let mut stats = e.session.stats().clone();
        stats.destroyed.get_or_insert(self.last_now);
        self.events.push_back((h, EndpointEvent::Destroyed(Box::new(stats))));
        self.check_closed(self.last_now);
    }

    pub(super) fn check_closed(&mut self, now: Instant) {
        if self.state == EndpointState::Closing && self.sessions.is_empty() {
            self.state = EndpointState::Closed;
            self.stats.destroyed.get_or_insert(now);
        }
    }

    pub(super) fn count_sent(&mut self, len: usize) {
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += len as u64;
    }
}
