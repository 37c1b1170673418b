//! DTLS 1.3 connection ID updates (RFC 9147 §9): NewConnectionId gives the peer more CIDs
//! to use toward us (at once, or spare for later), RequestConnectionId asks for some. Both
//! are post-handshake messages, acknowledged like any other, and only allowed once CIDs were
//! negotiated.

use std::time::Instant;

use super::Session;
use crate::codec::Codec;
use crate::error::{Error, PeerMisbehaved};
use crate::handshake::output::Output;
use crate::wire::HandshakeType;
use crate::wire::tls13::{ConnectionIdUsage, NewConnectionId, RequestConnectionId};

/// Spare CIDs of the peer we keep, and CIDs we hand out in one NewConnectionId; more than
/// this buys nothing but memory.
const MAX_CIDS: usize = 4;

impl Session {
    /// NewConnectionId from the peer: `cid_immediate` makes its first CID the one our records
    /// carry from now on; `cid_spare` CIDs are kept (at most [`MAX_CIDS`]) for later.
    pub(super) fn on_new_connection_id(&mut self, body: &[u8]) -> Result<(), Error> {
        let msg = NewConnectionId::read_all(body)?;
        let Some(cids) = self.records.cids_mut() else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        // A peer that asked for no CID cannot start one now, and an empty CID is no CID.
        if cids.peer.is_empty() || msg.cids.iter().any(|c| c.is_empty() || c.len() > 255) {
            return Err(PeerMisbehaved::IllegalParameter.into());
        }
        let mut fresh = msg.cids.into_iter();
        if msg.usage == ConnectionIdUsage::Immediate
            && let Some(first) = fresh.next()
        {
            cids.peer = first;
        }
        for cid in fresh {
            if cids.peer_spare.len() < MAX_CIDS && !cids.peer_spare.contains(&cid) {
                cids.peer_spare.push(cid);
            }
        }
        if let Some(info) = self.ctx.info.cids.as_mut() {
            info.peer.clone_from(&cids.peer);
        }
        Ok(())
    }

    /// RequestConnectionId from the peer: answered (RFC 9147 §9 SHOULD) with a NewConnectionId
    /// of as many spare CIDs as asked, at most [`MAX_CIDS`], unless a flight of ours is
    /// still out.
    pub(super) fn on_request_connection_id(&mut self, now: Instant, body: &[u8]) -> Result<(), Error> {
        let msg = RequestConnectionId::read_all(body)?;
        if self.records.cids().is_none_or(|c| c.own.is_empty()) {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        }
        let n = usize::from(msg.num_cids).min(MAX_CIDS);
        if n == 0 || !self.flight.is_empty() {
            return Ok(());
        }
        self.send_new_connection_ids(now, n, ConnectionIdUsage::Spare)
    }

    /// Give the peer `count` (1..=4) new connection IDs to put in the records it sends us
    /// (RFC 9147 §9, DTLS 1.3), drawn like the first one; with `immediate` it is to switch
    /// to the first of them at once. Records with any of our CIDs are accepted from then on,
    /// and an [`Endpoint`](crate::Endpoint) routes them too. A no-op while a flight of ours
    /// (a KeyUpdate, another NewConnectionId) waits for its acknowledgement.
    pub fn issue_connection_ids(&mut self, now: Instant, count: usize, immediate: bool) -> Result<(), Error> {
        if self.failed || self.close_sent {
            return Err(Error::Closed);
        }
        if !self.connected || !self.is_tls13() || self.records.cids().is_none_or(|c| c.own.is_empty()) {
            return Err(Error::ConnectionIdsNotNegotiated);
        }
        if !self.flight.is_empty() || count == 0 {
            return Ok(());
        }
        let usage = if immediate { ConnectionIdUsage::Immediate } else { ConnectionIdUsage::Spare };
        self.send_new_connection_ids(now, count.min(MAX_CIDS), usage).map_err(|e| self.fail(now, e))
    }

    /// Ask the peer for `count` spare connection IDs (RFC 9147 §9, DTLS 1.3).
    pub fn request_connection_ids(&mut self, now: Instant, count: u8) -> Result<(), Error> {
        if self.failed || self.close_sent {
            return Err(Error::Closed);
        }
        if !self.connected || !self.is_tls13() || self.records.cids().is_none_or(|c| c.peer.is_empty()) {
            return Err(Error::ConnectionIdsNotNegotiated);
        }
        if !self.flight.is_empty() {
            return Ok(());
        }
        self.send_post_handshake(
            now,
            HandshakeType::REQUEST_CONNECTION_ID,
            RequestConnectionId { num_cids: count }.to_vec(),
        )
        .map_err(|e| self.fail(now, e))
    }

    /// The peer's spare connection IDs we keep (DTLS 1.3).
    pub fn spare_peer_connection_ids(&self) -> usize {
        self.records.cids().map_or(0, |c| c.peer_spare.len())
    }

    /// Every connection ID the peer may put in records to us: the negotiated one and those
    /// we issued since (what an endpoint routes to this session).
    pub fn own_connection_ids(&self) -> impl Iterator<Item = &[u8]> {
        self.records.cids().into_iter().flat_map(|c| {
            core::iter::once(c.own.as_slice()).chain(c.own_more.iter().map(Vec::as_slice)).filter(|c| !c.is_empty())
        })
    }

    fn send_new_connection_ids(&mut self, now: Instant, n: usize, usage: ConnectionIdUsage) -> Result<(), Error> {
        let Some(policy) = self.ctx.config().connection_ids.clone() else {
            return Err(Error::ConnectionIdsNotNegotiated);
        };
        let fresh: Vec<Vec<u8>> = (0..n).map(|_| policy.generate(&mut self.ctx.rng)).collect();
        if let Some(cids) = self.records.cids_mut() {
            cids.own_more.extend(fresh.iter().cloned());
        }
        self.send_post_handshake(now, HandshakeType::NEW_CONNECTION_ID, NewConnectionId { cids: fresh, usage }.to_vec())
    }

    /// A one-message post-handshake flight in the current epoch, re-sent until acknowledged.
    fn send_post_handshake(&mut self, now: Instant, msg_type: HandshakeType, body: Vec<u8>) -> Result<(), Error> {
        let Some(epoch) = self.v13.as_ref().and_then(|v| v.records.write_epoch()) else { return Ok(()) };
        self.ctx.push13(epoch, msg_type, body);
        let flight = self.ctx.finish_flight(true);
        self.apply(now, Output::send(flight))
    }
}
