//! The return routability check (RFC 9853 §6.1, the basic check): when an authentic record
//! with our connection ID arrives from a new address, the session does not move at once; it
//! sends a `path_challenge` with a random cookie to that address and moves only when a
//! `path_response` echoing the cookie comes back from there. Until then nothing but
//! challenges goes to the new address (at most one per authentic datagram received from it,
//! and [`MAX_CHALLENGES`] in all: the anti-amplification limit, §8.1), and the session's
//! other datagrams wait (§6: "stop sending any buffered application data"): to the new
//! address once it answered, or to the old one when the check fails. A check unanswered
//! within `T` (1 s, §6.4; the configuration's initial retransmission timeout) is dropped.
//!
//! The other side of the check: a `path_challenge` is answered at once with a
//! `path_response` to the address it came from (§6.3.2).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use super::{Event, Session};
use crate::codec::Codec;
use crate::wire::{ContentType, Rrc, RrcType};

/// Challenges sent to one unvalidated address, at most.
pub(super) const MAX_CHALLENGES: u8 = 3;

/// A check under way, and RRC messages waiting to go out (each to its own address).
#[derive(Debug, Default)]
pub(super) struct PathState {
    check: Option<Check>,
    outgoing: VecDeque<(SocketAddr, Vec<u8>)>,
}

#[derive(Debug)]
struct Check {
    addr: SocketAddr,
    cookie: [u8; 8],
    deadline: Instant,
    challenges: u8,
}

impl Session {
    /// An authentic record, newer than all before it, came from `from`, not the peer's
    /// address: move there, at once (RFC 9146 §6) or once the return routability check
    /// succeeds (RFC 9853), as negotiated.
    pub(super) fn peer_seen_at(&mut self, now: Instant, from: SocketAddr) {
        if !self.ctx.info.rrc {
            self.move_to(from);
            return;
        }
        let state = self.path.get_or_insert_with(Box::default);
        match state.check.as_mut() {
            Some(c) if c.addr == from => {
                if c.challenges >= MAX_CHALLENGES {
                    return;
                }
                c.challenges += 1;
            }
            _ => {
                // A new check replaces one for another address (a nested rebinding, §6).
                let mut cookie = [0u8; 8];
                rand_core::RngCore::fill_bytes(&mut self.ctx.rng, &mut cookie);
                let deadline = now + self.ctx.config().initial_rto;
                state.check = Some(Check { addr: from, cookie, deadline, challenges: 1 });
            }
        }
        let cookie = state.check.as_ref().map(|c| c.cookie).unwrap_or_default();
        self.send_rrc(from, Rrc { msg_type: RrcType::PathChallenge, cookie });
    }

    /// A return_routability_check record (RFC 9853 §5) from `from` (the peer's address when
    /// the caller did not say).
    pub(super) fn handle_rrc(&mut self, content: &[u8]) {
        let Ok(msg) = Rrc::read_all(content) else {
            self.stats.records_dropped += 1;
            return;
        };
        let from = self.rx_from.unwrap_or(self.ctx.peer);
        match msg.msg_type {
            RrcType::PathChallenge => self.send_rrc(from, Rrc { msg_type: RrcType::PathResponse, cookie: msg.cookie }),
            RrcType::PathResponse => {
                let answered = self
                    .path
                    .as_mut()
                    .and_then(|p| p.check.take_if(|c| c.addr == from && c.cookie == msg.cookie))
                    .is_some();
                if answered {
                    self.move_to(from);
                }
            }
            // We never migrate on purpose, so we never ask for (or act on) path_drop; unknown
            // types are ignored (§5).
            RrcType::PathDrop | RrcType::Unknown(_) => {}
        }
    }

    fn move_to(&mut self, to: SocketAddr) {
        if to != self.ctx.peer {
            self.ctx.peer = to;
            self.events.push_back(Event::PeerAddressChanged(to));
        }
    }

    /// Seal one RRC message in our current epoch, for `to`.
    fn send_rrc(&mut self, to: SocketAddr, msg: Rrc) {
        let body = msg.to_vec();
        let mut dgram = Vec::with_capacity(64);
        let sealed = match self.v13.as_mut().and_then(|v| v.records.write_epoch().map(|e| (v, e))) {
            Some((v13, epoch)) => {
                v13.records.seal(&self.records, epoch, ContentType::RETURN_ROUTABILITY_CHECK, &body, &mut dgram).is_ok()
            }
            None => {
                let epoch = self.records.write_epoch();
                !epoch.is_plaintext()
                    && self.records.seal(epoch, ContentType::RETURN_ROUTABILITY_CHECK, &body, &mut dgram).is_ok()
            }
        };
        if sealed {
            self.path.get_or_insert_with(Box::default).outgoing.push_back((to, dgram));
        }
    }

    /// `poll_transmit_into` while a check is under way: its next probe (`Some(Some(to))`),
    /// or nothing while the session's datagrams are held (`Some(None)`); `None`: carry on.
    #[cold]
    #[inline(never)]
    pub(super) fn poll_probe_into(&mut self, buf: &mut Vec<u8>) -> Option<Option<SocketAddr>> {
        if let Some((to, contents)) = self.pop_probe() {
            *buf = contents;
            return Some(Some(to));
        }
        self.path_held().then_some(None)
    }

    /// The next RRC datagram and where it goes.
    pub(super) fn pop_probe(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.path.as_mut()?.outgoing.pop_front()
    }

    /// Whether the session's datagrams wait for a check under way.
    #[inline]
    pub(super) fn path_held(&self) -> bool {
        self.path.as_ref().is_some_and(|p| p.check.is_some())
    }

    /// When the check under way gives up.
    pub(super) fn path_deadline(&self) -> Option<Instant> {
        self.path.as_ref()?.check.as_ref().map(|c| c.deadline)
    }

    /// Drop a check whose time is up (the binding stays), and the state once idle.
    pub(super) fn expire_path_check(&mut self, now: Instant) {
        let Some(p) = self.path.as_mut() else { return };
        if p.check.as_ref().is_some_and(|c| now >= c.deadline) {
            p.check = None;
        }
        if p.check.is_none() && p.outgoing.is_empty() {
            self.path = None;
        }
    }
}
