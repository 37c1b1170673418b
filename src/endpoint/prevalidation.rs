//! The pre-validation budget: fragmented ClientHellos of peers whose address is not
//! validated yet, reassembled so that a DTLS 1.3 HelloRetryRequest can be computed from the
//! whole first hello and a second hello's cookie extension can be found wherever it sits.
//!
//! RFC 9147 §5.1 lets a server answer a ClientHello statelessly with a HelloRetryRequest
//! whose cookie (RFC 8446 §4.2.2) carries `Hash(ClientHello1)`, so it needs every byte of
//! the hello before it can answer, and a post-quantum hello (an X25519MLKEM768 share of
//! 1,216 bytes) does not fit one datagram at common MTUs (RFC 9147 §4.4: handshake
//! messages are fragmented to fit the PMTU). This is the only state an endpoint keeps for
//! an unvalidated address, and it is explicitly bounded: at most `max_hellos` partial
//! hellos holding at most `max_bytes` together (each reserves its hello's declared length
//! on its first fragment, so nothing grows after admission), each at most the endpoint's
//! hello cap (16 KiB), each until `timeout` passes without a fragment; when full, the oldest
//! is evicted. One entry per address. Fragments may arrive in any order and across the
//! client's retransmissions (each must agree with the bytes held where it overlaps them);
//! a hello that completed and was answered stays held, so that when the answer is lost the
//! next fragment of the client's retransmission is answered again at once — a lossy path
//! need not deliver every fragment of the same retransmission (RFC 9147 §5.8.1, and the
//! loss sweeps in `tests/loss_sweep.rs`). The entry is forgotten when the peer's session
//! is created.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One fragment of a ClientHello, as it arrived.
#[derive(Debug, Clone, Copy)]
pub(super) struct HelloFragment<'a> {
    /// The hello's whole body length.
    pub length: usize,
    pub message_seq: u16,
    pub offset: usize,
    pub bytes: &'a [u8],
    /// The record sequence number of the record it came in.
    pub record_seq: u64,
}

/// A ClientHello reassembled from its fragments.
#[derive(Debug)]
pub(super) struct Reassembled {
    pub body: Vec<u8>,
    pub message_seq: u16,
    /// The record sequence number of the hello's first fragment.
    pub first_record_seq: u64,
    /// The highest record sequence number among its fragments.
    pub last_record_seq: u64,
    /// Datagram bytes the peer sent for this hello (the amplification limit of the answer).
    pub received: usize,
}

/// What adding a fragment did.
#[derive(Debug)]
pub(super) enum Added {
    /// Held; more fragments are needed.
    Held,
    /// The hello is complete (and no longer held).
    Complete(Reassembled),
    /// Refused: out of order, inconsistent with what is held, no entry for a later
    /// fragment, or larger than the whole budget.
    Refused,
}

/// Most disjoint pieces a partial hello may be held in: fragments arrive in any order, but a
/// peer that cuts its hello into more pieces than this is refused.
const MAX_PIECES: usize = 16;

struct Partial {
    hello: Reassembled,
    /// The hello's declared length: what the entry reserves from the budget.
    length: usize,
    /// The byte ranges of `hello.body` received so far, disjoint and sorted. `hello.body` is
    /// `length` bytes from admission on (zeros where nothing arrived yet).
    held: Vec<(usize, usize)>,
    /// The hello was complete and answered; it stays (with its bytes) so that a
    /// retransmission of any of its fragments is answered again at once, without waiting for
    /// every fragment once more (the answer was lost; RFC 9147 §5.8.1).
    answered: bool,
    /// Key of this entry in `Prevalidation::order`.
    since: (Instant, u64),
}

impl Partial {
    /// Whether `frag` agrees with what is held: same length and message_seq (RFC 6347
    /// §4.2.3 / RFC 9147 §5.5: every fragment carries both), and the same bytes wherever it
    /// overlaps what was received.
    fn agrees(&self, frag: &HelloFragment<'_>) -> bool {
        if self.length != frag.length || self.hello.message_seq != frag.message_seq {
            return false;
        }
        let end = frag.offset.saturating_add(frag.bytes.len());
        self.held.iter().all(|&(a, b)| {
            let (lo, hi) = (a.max(frag.offset), b.min(end));
            lo >= hi || self.hello.body.get(lo..hi) == frag.bytes.get(lo - frag.offset..hi - frag.offset)
        })
    }

    /// Record `frag`'s bytes (checked to agree) and its range; false if that would split the
    /// hello into more than [`MAX_PIECES`].
    fn insert(&mut self, frag: &HelloFragment<'_>) -> bool {
        let (start, end) = (frag.offset, frag.offset + frag.bytes.len());
        let mut merged = (start, end);
        let mut rest = Vec::with_capacity(self.held.len() + 1);
        for &(a, b) in &self.held {
            if b < merged.0 || a > merged.1 {
                rest.push((a, b));
            } else {
                merged = (merged.0.min(a), merged.1.max(b));
            }
        }
        rest.push(merged);
        rest.sort_unstable();
        if rest.len() > MAX_PIECES {
            return false;
        }
        if let Some(dst) = self.hello.body.get_mut(start..end) {
            dst.copy_from_slice(frag.bytes);
        }
        self.held = rest;
        true
    }

    fn complete(&self) -> bool {
        self.held == [(0, self.length)]
    }
}

/// The bounded table of partial hellos. See the module documentation.
pub(super) struct Prevalidation {
    max_hellos: usize,
    max_bytes: usize,
    timeout: Duration,
    /// Boxed, so that the map's buckets stay small (the map is sized for twice
    /// `max_hellos`, see `admit`).
    by_peer: HashMap<SocketAddr, Box<Partial>>,
    /// Oldest first: when each entry last received a fragment (with a serial to keep keys
    /// distinct).
    order: BTreeMap<(Instant, u64), SocketAddr>,
    serial: u64,
    /// Bytes reserved by the entries (the sum of their hellos' declared lengths).
    bytes: usize,
}

impl core::fmt::Debug for Prevalidation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Prevalidation").field("hellos", &self.by_peer.len()).field("bytes", &self.bytes).finish()
    }
}

impl Prevalidation {
    pub(super) fn new(max_hellos: usize, max_bytes: usize, timeout: Duration) -> Self {
        Self { max_hellos, max_bytes, timeout, by_peer: HashMap::new(), order: BTreeMap::new(), serial: 0, bytes: 0 }
    }

    /// Partial hellos held.
    pub(super) fn len(&self) -> usize {
        self.by_peer.len()
    }

    /// Bytes reserved by the partial hellos held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Forget everything.
    pub(super) fn clear(&mut self) {
        self.by_peer.clear();
        self.order.clear();
        self.bytes = 0;
    }

    /// Whether a partial hello from `peer` is held.
    pub(super) fn holds(&self, peer: SocketAddr) -> bool {
        self.by_peer.contains_key(&peer)
    }

    /// Forget the partial hello of `peer`, if any.
    pub(super) fn forget(&mut self, peer: SocketAddr) {
        if let Some(p) = self.by_peer.remove(&peer) {
            self.order.remove(&p.since);
            self.bytes -= p.length;
        }
    }

    /// Drop the entries that received nothing for the timeout; returns how many.
    pub(super) fn expire(&mut self, now: Instant) -> u64 {
        let mut dropped = 0;
        while let Some((&(at, _), &peer)) = self.order.first_key_value() {
            if now.saturating_duration_since(at) < self.timeout {
                break;
            }
            self.forget(peer);
            dropped += 1;
        }
        dropped
    }

    /// Add one fragment from `peer`, which came in a datagram of `datagram_len` bytes (pass
    /// 0 for the second and later fragments of one datagram). Fragments may come in any
    /// order: the first one of a hello starts an entry, evicting the oldest entries to make
    /// room (`evicted` counts them); a fragment that disagrees with the peer's entry
    /// replaces it if it starts a hello (offset 0), and is refused otherwise. A fragment of
    /// a hello already complete and answered makes it complete again (its answer is sent
    /// again); the entry stays until [`Prevalidation::forget`] or expiry.
    pub(super) fn add(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        frag: &HelloFragment<'_>,
        datagram_len: usize,
        evicted: &mut u64,
    ) -> Added {
        let end = frag.offset.saturating_add(frag.bytes.len());
        if end > frag.length {
            return Added::Refused;
        }
        match self.by_peer.get(&peer).map(|p| p.agrees(frag)) {
            Some(true) => {}
            Some(false) if frag.offset != 0 => return Added::Refused,
            _ => {
                if !self.admit(now, peer, frag, evicted) {
                    return Added::Refused;
                }
            }
        }
        self.serial += 1;
        let touched = (now, self.serial);
        let Some(p) = self.by_peer.get_mut(&peer) else { return Added::Refused };
        if !p.insert(frag) {
            return Added::Refused;
        }
        // Activity keeps an entry: retransmissions come at the peer's growing intervals.
        self.order.remove(&p.since);
        p.since = touched;
        self.order.insert(touched, peer);
        p.hello.received = p.hello.received.saturating_add(datagram_len);
        p.hello.first_record_seq =
            if frag.offset == 0 { frag.record_seq } else { p.hello.first_record_seq.min(frag.record_seq) };
        p.hello.last_record_seq = p.hello.last_record_seq.max(frag.record_seq);
        if !p.complete() {
            return Added::Held;
        }
        p.answered = true;
        let done = Reassembled {
            body: p.hello.body.clone(),
            message_seq: p.hello.message_seq,
            first_record_seq: p.hello.first_record_seq,
            last_record_seq: p.hello.last_record_seq,
            received: p.hello.received,
        };
        // What the next answer may spend is what arrives after this one.
        p.hello.received = 0;
        Added::Complete(done)
    }

    /// Make room for and create the entry a fragment starts (replacing the peer's entry, if
    /// it held another hello).
    fn admit(&mut self, now: Instant, peer: SocketAddr, frag: &HelloFragment<'_>, evicted: &mut u64) -> bool {
        self.forget(peer);
        if frag.length > self.max_bytes || self.max_hellos == 0 {
            return false;
        }
        while self.by_peer.len() >= self.max_hellos || self.bytes + frag.length > self.max_bytes {
            let Some((_, oldest)) = self.order.pop_first() else { return false };
            if let Some(p) = self.by_peer.remove(&oldest) {
                self.bytes -= p.length;
            }
            *evicted += 1;
        }
        let mut body = Vec::new();
        if body.try_reserve_exact(frag.length).is_err() {
            return false;
        }
        body.resize(frag.length, 0);
        // Sized once for twice the most entries: the map then always rehashes in place
        // (its tombstones included) instead of growing, so a flood cannot move its size.
        // If that much cannot be had, the map grows on demand instead.
        if self.by_peer.capacity() == 0 {
            let _ = self.by_peer.try_reserve(self.max_hellos.saturating_mul(2));
        }
        self.serial += 1;
        let since = (now, self.serial);
        self.order.insert(since, peer);
        self.bytes += frag.length;
        let hello = Reassembled {
            body,
            message_seq: frag.message_seq,
            first_record_seq: frag.record_seq,
            last_record_seq: frag.record_seq,
            received: 0,
        };
        let partial = Partial { hello, length: frag.length, held: Vec::new(), answered: false, since };
        self.by_peer.insert(peer, Box::new(partial));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    fn frag(length: usize, offset: usize, bytes: &[u8]) -> HelloFragment<'_> {
        HelloFragment { length, message_seq: 0, offset, bytes, record_seq: offset as u64 }
    }

    #[test]
    fn reassembles_in_any_order_across_retransmissions_and_refuses_conflicts() {
        let now = Instant::now();
        let mut t = Prevalidation::new(4, 1000, Duration::from_secs(5));
        let mut ev = 0;
        let body: Vec<u8> = (0..100).collect();
        // A later fragment first: held (its first fragment was lost or comes later).
        assert!(matches!(t.add(now, peer(1), &frag(100, 40, &body[40..70]), 10, &mut ev), Added::Held));
        assert!(matches!(t.add(now, peer(1), &frag(100, 0, &body[..30]), 10, &mut ev), Added::Held));
        // Overlapping bytes that differ are refused; equal ones are a retransmission.
        let mut other = body[20..60].to_vec();
        other[0] ^= 1;
        assert!(matches!(t.add(now, peer(1), &frag(100, 20, &other), 10, &mut ev), Added::Refused));
        assert!(matches!(t.add(now, peer(1), &frag(99, 20, &body[20..60]), 10, &mut ev), Added::Refused));
        assert!(matches!(t.add(now, peer(1), &frag(100, 20, &body[20..60]), 10, &mut ev), Added::Held));
        // Past the declared length: refused.
        assert!(matches!(t.add(now, peer(1), &frag(100, 90, &body[..20]), 10, &mut ev), Added::Refused));
        assert_eq!((t.len(), t.bytes()), (1, 100));
        let Added::Complete(done) = t.add(now, peer(1), &frag(100, 70, &body[70..]), 10, &mut ev) else {
            panic!("not complete")
        };
        assert_eq!(done.body, body);
        assert_eq!((done.received, done.first_record_seq, done.last_record_seq), (40, 0, 70));
        // Answered, it stays: any agreeing fragment of a retransmission completes it again,
        // counting only what arrived since the last answer.
        assert_eq!((t.len(), t.bytes(), ev), (1, 100, 0));
        let Added::Complete(again) = t.add(now, peer(1), &frag(100, 60, &body[60..]), 7, &mut ev) else {
            panic!("not complete again")
        };
        assert_eq!((again.body, again.received), (body.clone(), 7));
        t.forget(peer(1));
        assert_eq!((t.len(), t.bytes()), (0, 0));
    }

    #[test]
    fn a_hello_cut_into_too_many_pieces_is_refused() {
        let now = Instant::now();
        let mut t = Prevalidation::new(4, 1000, Duration::from_secs(5));
        let mut ev = 0;
        let body = [7u8; 200];
        for i in 0..MAX_PIECES {
            assert!(matches!(t.add(now, peer(1), &frag(200, 2 * i, &body[..1]), 1, &mut ev), Added::Held));
        }
        assert!(matches!(t.add(now, peer(1), &frag(200, 100, &body[..1]), 1, &mut ev), Added::Refused));
    }

    #[test]
    fn a_new_first_fragment_replaces_the_peers_partial_hello() {
        let now = Instant::now();
        let mut t = Prevalidation::new(4, 1000, Duration::from_secs(5));
        let mut ev = 0;
        assert!(matches!(t.add(now, peer(1), &frag(100, 0, &[1; 50]), 10, &mut ev), Added::Held));
        assert!(matches!(t.add(now, peer(1), &frag(200, 0, &[2; 50]), 10, &mut ev), Added::Held));
        assert_eq!((t.len(), t.bytes(), ev), (1, 200, 0));
        let Added::Complete(done) = t.add(now, peer(1), &frag(200, 50, &[2; 150]), 10, &mut ev) else {
            panic!("not complete")
        };
        assert_eq!(done.body, vec![2; 200]);
    }

    #[test]
    fn budget_evicts_oldest_first_and_entries_expire() {
        let start = Instant::now();
        let mut t = Prevalidation::new(3, 1000, Duration::from_secs(5));
        let mut ev = 0;
        for (i, len) in [(1, 300), (2, 300), (3, 300)] {
            let at = start + Duration::from_millis(i);
            assert!(matches!(t.add(at, peer(i as u16), &frag(len, 0, &[0; 10]), 10, &mut ev), Added::Held));
        }
        // Over the byte budget: the oldest goes.
        assert!(matches!(
            t.add(start + Duration::from_millis(4), peer(4), &frag(200, 0, &[0; 10]), 10, &mut ev),
            Added::Held
        ));
        assert_eq!((t.len(), t.bytes(), ev), (3, 800, 1));
        assert!(!t.holds(peer(1)) && t.holds(peer(2)));
        // Over the entry budget: the oldest goes.
        assert!(matches!(
            t.add(start + Duration::from_millis(5), peer(5), &frag(10, 0, &[0; 5]), 10, &mut ev),
            Added::Held
        ));
        assert_eq!((t.len(), ev), (3, 2));
        assert!(!t.holds(peer(2)));
        // Larger than the whole budget: refused, nothing evicted.
        assert!(matches!(t.add(start, peer(6), &frag(1001, 0, &[0; 5]), 10, &mut ev), Added::Refused));
        assert_eq!((t.len(), ev), (3, 2));
        // Expiry takes entries by age.
        assert_eq!(t.expire(start + Duration::from_millis(5003)), 1, "peer 3");
        assert_eq!(t.expire(start + Duration::from_secs(6)), 2);
        assert_eq!((t.len(), t.bytes()), (0, 0));
    }
}
