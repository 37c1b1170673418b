//! Routing by connection ID (RFC 9146): a datagram from an address no session has goes to
//! the session whose CID its first record carries, and that session decides whether its
//! peer moved there (`Session::handle_from`: only an authentic record newer than all before
//! it moves it, RFC 9146 §6); the address map follows.
//!
//! The CID sits at a fixed offset: in a `tls12_cid` record after the outer type, version,
//! epoch and sequence number (RFC 9146 §4), in a DTLS 1.3 unified header with the C bit
//! right after the first byte (RFC 9147 §4); its length is the one our sessions asked for
//! (the configurations' lengths; usually one).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use super::{Endpoint, EndpointEvent, SessionHandle};
use crate::wire::record::TLS12_CID;

/// Bytes before the CID in a `tls12_cid` record: type, version, epoch, sequence number.
const CID_OFFSET: usize = 11;
/// The C bit of a unified header's first byte `001CSLEE` (RFC 9147 §4).
const UNIFIED_C_BIT: u8 = 0x10;

/// Our sessions' connection IDs (the ones their peers put in records).
#[derive(Debug, Default)]
pub(super) struct CidRoutes {
    by_cid: HashMap<Vec<u8>, SessionHandle>,
    /// The distinct CID lengths in use, with how many sessions use each.
    lens: Vec<(usize, usize)>,
}

impl CidRoutes {
    /// Route records carrying `cid` to `h` (a CID already routed elsewhere is left alone:
    /// CIDs are random, so that takes a broken generator).
    pub(super) fn register(&mut self, cid: &[u8], h: SessionHandle) {
        if cid.is_empty() || self.by_cid.contains_key(cid) {
            return;
        }
        self.by_cid.insert(cid.to_vec(), h);
        match self.lens.iter_mut().find(|(len, _)| *len == cid.len()) {
            Some((_, n)) => *n += 1,
            None => self.lens.push((cid.len(), 1)),
        }
    }

    /// Forget `cid` if it routes to `h`.
    pub(super) fn unregister(&mut self, cid: &[u8], h: SessionHandle) {
        if self.by_cid.get(cid) != Some(&h) {
            return;
        }
        self.by_cid.remove(cid);
        if let Some(i) = self.lens.iter().position(|(len, _)| *len == cid.len())
            && let Some((_, n)) = self.lens.get_mut(i)
        {
            *n -= 1;
            if *n == 0 {
                self.lens.swap_remove(i);
            }
        }
    }

    /// The session whose CID the first record of `datagram` carries.
    pub(super) fn lookup(&self, datagram: &[u8]) -> Option<SessionHandle> {
        let offset = match *datagram.first()? {
            TLS12_CID => CID_OFFSET,
            b if b & 0xe0 == 0x20 && b & UNIFIED_C_BIT != 0 => 1,
            _ => return None,
        };
        self.lens.iter().find_map(|(len, _)| self.by_cid.get(datagram.get(offset..offset + len)?).copied())
    }

    pub(super) fn clear(&mut self) {
        self.by_cid.clear();
        self.lens.clear();
    }
}

impl Endpoint {
    /// A datagram from an address no session has: if its first record carries one of our
    /// connection IDs, its session handles it as coming from `remote`, and if the session's
    /// peer moved there, the address map follows. False if no CID matched (the datagram is
    /// then an unknown peer's).
    pub(super) fn handle_by_cid(&mut self, now: Instant, remote: SocketAddr, datagram: &[u8]) -> bool {
        let Some(h) = self.cids.lookup(datagram) else { return false };
        let Some(e) = self.sessions.get_mut(h) else { return false };
        if e.ended {
            self.stats.datagrams_dropped += 1;
            return true;
        }
        let before = e.session.remote_addr();
        if let Err(err) = e.session.handle_from(now, remote, datagram) {
            e.ended = true;
            self.events.push_back((h, EndpointEvent::Failed(err)));
        }
        let after = e.session.remote_addr();
        if after != before {
            if self.by_addr.get(&before) == Some(&h) {
                self.by_addr.remove(&before);
            }
            // A session of the new address, if any, keeps its entry: it is another peer's
            // (the address moved to this session's peer only as far as its CID says).
            self.by_addr.entry(after).or_insert(h);
            self.stats.address_changes += 1;
        }
        self.settle(h);
        true
    }

    /// Route every connection ID of session `h` to it (those already routed stay).
    pub(super) fn route_cids(&mut self, h: SessionHandle) {
        let Some(e) = self.sessions.get(h) else { return };
        for own in e.session.own_connection_ids() {
            self.cids.register(own, h);
        }
    }
}
