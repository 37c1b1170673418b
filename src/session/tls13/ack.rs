//! DTLS 1.3 acknowledgements (RFC 9147 §7): which of the peer's records we owe an ACK, which
//! records carried our own flight, and what an ACK the peer sends does to that flight.

use std::time::Instant;

use super::{ACK, MAX_TRACKED, Sent, Session13};
use crate::codec::Codec;
use crate::error::Error;
use crate::handshake::flight::FlightItem;
use crate::session::Session;
use crate::wire::Epoch;
use crate::wire::tls13::{Ack, RecordNumber};

impl Session13 {
    /// A new flight replaces the old: forget what tracked the old one.
    pub(in crate::session) fn new_flight(&mut self, items: usize) {
        self.sent.clear();
        self.post_retransmits = 0;
        self.acked = vec![false; items];
    }

    /// Whether item `i` of the current flight is not to be sent in this emission: the peer
    /// acknowledged it, or it is past the gaps a partial ACK asked for.
    pub(in crate::session) fn is_acked(&self, i: usize) -> bool {
        self.acked.get(i).copied().unwrap_or(false) || self.resend_below.is_some_and(|end| i >= end)
    }

    /// Start one emission of the current flight.
    pub(in crate::session) fn begin_emission(&mut self) {
        self.emission = self.emission.wrapping_add(1);
    }

    /// Remember that record `number` carried part of item `item`.
    pub(in crate::session) fn track(&mut self, number: RecordNumber, item: usize) {
        if self.sent.len() == MAX_TRACKED {
            self.sent.remove(0);
        }
        self.sent.push(Sent { number, item, emission: self.emission, acked: false });
    }

    /// Apply an ACK; true when every tracked item of the flight is now acknowledged.
    pub(in crate::session) fn on_ack(&mut self, ack: &Ack) -> bool {
        for n in &ack.record_numbers {
            for s in self.sent.iter_mut().filter(|s| s.number == *n) {
                s.acked = true;
            }
        }
        // An item is acknowledged once every record of one of its emissions is.
        for (i, done) in self.acked.iter_mut().enumerate() {
            if *done {
                continue;
            }
            let mut emissions: Vec<u32> = self.sent.iter().filter(|s| s.item == i).map(|s| s.emission).collect();
            emissions.sort_unstable();
            emissions.dedup();
            *done =
                emissions.iter().any(|e| self.sent.iter().filter(|s| s.item == i && s.emission == *e).all(|s| s.acked));
        }
        let tracked: Vec<usize> = self.sent.iter().map(|s| s.item).collect();
        !tracked.is_empty() && tracked.iter().all(|i| self.acked.get(*i).copied().unwrap_or(false))
    }

    pub(in crate::session) fn remember(&mut self, number: RecordNumber) {
        if self.to_ack.contains(&number) {
            return;
        }
        if self.to_ack.len() == MAX_TRACKED {
            self.to_ack.remove(0);
        }
        self.to_ack.push(number);
    }
}

impl Session {
    /// The peer repeated part of its previous flight before our handshake completed: it
    /// lost ours (RFC 9147 §5.8.2).
    pub(in crate::session) fn on_peer_repeat13(&mut self, now: Instant) -> Result<(), Error> {
        if self.flight.is_empty() {
            return Ok(());
        }
        let guard = self.ctx.config().initial_rto / 8;
        if self.flight_sent_at.is_some_and(|t| now.saturating_duration_since(t) < guard) {
            return Ok(());
        }
        self.stats.handshake_retransmissions += 1;
        self.emit_flight(now)
    }

    /// Send an ACK of the handshake records received since the last one (RFC 9147 §7), in our
    /// current epoch. A record the peer sends again after a lost ACK is a new record, and is
    /// acknowledged by the next ACK; so an ACK stays small however long the session runs.
    pub(in crate::session) fn send_ack(&mut self) {
        let Some(v13) = self.v13.as_mut() else { return };
        let Some(epoch) = v13.records.write_epoch() else { return };
        let mut record_numbers = core::mem::take(&mut v13.to_ack);
        record_numbers.sort_by_key(|n| (n.epoch, n.sequence_number));
        let body = Ack { record_numbers }.to_vec();
        let mut dgram = self.pool.take(body.len() + 64);
        if v13.records.seal(&self.records, epoch, ACK, &body, &mut dgram).is_ok() {
            self.transmits.push_back(dgram);
        }
    }

    /// An ACK (RFC 9147 §7): records of our flight it names need not be re-sent; once all
    /// are acknowledged the flight is done (and a pending KeyUpdate takes effect, §8).
    pub(in crate::session) fn handle_ack(&mut self, now: Instant, body: &[u8]) -> Result<(), Error> {
        let Ok(ack) = Ack::read_all(body) else {
            return Err(crate::error::InvalidMessage::IllegalValue("ack").into());
        };
        let Some(v13) = self.v13.as_mut() else { return Ok(()) };
        if self.flight.is_empty() {
            return Ok(());
        }
        // An ACK is protected with a key its sender derived from our ServerHello: that
        // acknowledges every epoch-0 message of the flight, which its ACK does not name.
        for (i, item) in self.flight.items.iter().enumerate() {
            if matches!(item, FlightItem::Message { epoch: Epoch::PLAINTEXT, .. })
                && let Some(done) = v13.acked.get_mut(i)
            {
                *done = true;
            }
        }
        let before = v13.acked.iter().filter(|a| **a).count();
        if !v13.on_ack(&ack) {
            // RFC 9147 §7.2: after an ACK for part of a handshake flight, re-send what it
            // shows missing. Only the gaps: items before the last one acknowledged (those
            // after it may still be in flight, their ACK on the way), once per new information.
            let last_acked = v13.acked.iter().rposition(|a| *a);
            let gap =
                last_acked.is_some_and(|last| v13.acked.get(..last).is_some_and(|before| before.contains(&false)));
            if !self.connected && gap && v13.acked.iter().filter(|a| **a).count() > before {
                v13.resend_below = last_acked;
                self.stats.handshake_retransmissions += 1;
                let result = self.emit_flight(now);
                if let Some(v13) = self.v13.as_mut() {
                    v13.resend_below = None;
                }
                result?;
            }
            return Ok(());
        }
        self.flight = Default::default();
        self.retransmit_at = None;
        v13.sent = Vec::new();
        v13.acked = Vec::new();
        if v13.update_pending {
            v13.update_pending = false;
            self.advance_write_key()?;
        } else if self.connected {
            // The client's Finished is acknowledged: the server has all of the handshake, so
            // epoch 2 is over in both directions (RFC 9147 §5.9: a server retransmits nothing
            // of it after the client's Finished), and the handshake's buffers go.
            v13.records.retire_below(crate::handshake::tls13::EPOCH_APPLICATION);
            self.pool.release();
        }
        Ok(())
    }
}
