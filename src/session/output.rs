//! The session's outputs: carrying out a handshake transition's [`Output`] (keys, flight,
//! completion), sealing flights and alerts into datagrams, and ending the session on a fatal
//! error. Nothing here reads from the network.

use std::collections::VecDeque;
use std::time::Instant;

use super::{Event, Session};
use crate::codec::Codec;
use crate::error::Error;
use crate::handshake::flight::Flight;
use crate::handshake::output::{Outgoing, Output};
use crate::wire::{Alert, AlertDescription, AlertLevel, ContentType};

impl Session {
    /// Between the end of the handshake and the application's first record (while the pool
    /// stays released), a drained queue gives back its room: an idle established session
    /// holds no spare capacity. Steady-state records find the room kept again.
    #[inline]
    pub(super) fn release_idle_queues(&mut self) {
        if self.pool.is_released() {
            self.release_drained_queues();
        }
    }

    #[cold]
    fn release_drained_queues(&mut self) {
        if self.transmits.is_empty() && self.transmits.capacity() != 0 {
            self.transmits = VecDeque::new();
        }
        if self.events.is_empty() && self.events.capacity() != 0 {
            self.events = VecDeque::new();
        }
    }

    /// Carry out what a handshake transition asked for, in this order: install the keys of
    /// the new epoch, send the flight (arming its retransmission timer if it waits for a
    /// reply; RFC 6347 §4.2.4), then complete the handshake.
    ///
    /// Completion retires the flight the peer's last message answered before the new flight
    /// goes out, so a flight sent with the completion (DTLS 1.3's client Finished, which waits
    /// for an ACK; DTLS 1.2's last flights, which wait for nothing) is kept; the handshake's
    /// buffers are released after that flight was sealed.
    pub(super) fn apply(&mut self, now: Instant, output: Output) -> Result<(), Error> {
        // RFC 9146: CIDs are known from the ServerHello on (records of epoch 0 never carry
        // one), so the rest of its datagram is read with them.
        if self.records.cids().is_none()
            && let Some(cids) = &self.ctx.info.cids
        {
            self.records.set_cids((**cids).clone());
        }
        if let Some(keys) = output.keys {
            self.records.install_keys(keys);
        }
        self.install13(now, output.install13);
        if output.established {
            self.retire_answered_flight();
        }
        if let Some(Outgoing { flight, expects_reply }) = output.send {
            if let Some(v13) = self.v13.as_mut() {
                v13.new_flight(flight.items.len());
            }
            self.flight = flight;
            self.rto = self.ctx.config().initial_rto;
            // Sealing it switches our write epoch where its ChangeCipherSpec says so.
            self.emit_flight(now)?;
            self.retransmit_at = expects_reply.then(|| now + self.rto);
        }
        if output.established {
            self.establish(now);
        }
        Ok(())
    }

    /// The transition that completes the handshake answered our last flight with a timer.
    fn retire_answered_flight(&mut self) {
        if self.retransmit_at.is_some() {
            // Our last flight waited for a reply and the peer's Finished is that reply
            // (the client's flight 5 in a full handshake, the server's flight in an
            // abbreviated one, the DTLS 1.3 server's flight): it has our flight. A last
            // flight sent with the completion (the server's flight 6, the client's
            // Finished when resuming, the DTLS 1.3 client's Finished) comes after this
            // and is kept: re-sent if the peer repeats its own (RFC 6347 §4.2.4), or until
            // its ACK (RFC 9147 §5.8.3).
            self.retransmit_at = None;
            self.flight = Flight::default();
        }
    }

    fn establish(&mut self, now: Instant) {
        self.connected = true;
        self.stats.handshake_completed = Some(now);
        self.deadline = None;
        // Release what only the handshake needed, spare buffers included: an idle
        // established session holds no buffer (the pool keeps none until the application
        // first sends or recycles; from then on send, receive and recycle reuse it).
        self.early = Vec::new();
        self.reassembler.clear();
        self.pool.release();
        self.events.push_back(Event::Connected);
        self.deliver_early_data();
    }

    pub(super) fn emit_flight(&mut self, now: Instant) -> Result<(), Error> {
        let mtu = self.ctx.config().mtu;
        let v13 = self.v13.as_deref_mut();
        super::pack::pack_flight(&self.flight, &mut self.records, v13, mtu, &mut self.pool, &mut self.transmits)?;
        self.flight_sent_at = Some(now);
        Ok(())
    }

    pub(super) fn send_alert(&mut self, level: AlertLevel, description: AlertDescription) {
        let mut body = Vec::with_capacity(2);
        Alert { level, description }.encode(&mut body);
        let mut dgram = self.pool.take(64);
        // DTLS 1.3: alerts are protected in our current epoch once we have keys.
        let sealed = match self.v13.as_mut().and_then(|v| v.records.write_epoch().map(|e| (v, e))) {
            Some((v13, epoch)) => v13.records.seal(&self.records, epoch, ContentType::Alert, &body, &mut dgram).is_ok(),
            None => {
                let epoch = self.records.write_epoch();
                self.records.seal(epoch, ContentType::Alert, &body, &mut dgram).is_ok()
            }
        };
        if sealed {
            self.transmits.push_back(dgram);
        }
    }

    /// Record a fatal error: send its alert, stop every timer, refuse further input.
    pub(super) fn fail(&mut self, now: Instant, e: Error) -> Error {
        if !self.failed {
            if let Some(alert) = e.alert() {
                self.send_alert(AlertLevel::Fatal, alert);
            }
            // RFC 5246 §7.2.2: a session ended by a fatal alert, sent or received, must not
            // be resumed.
            if (e.alert().is_some() || matches!(e, Error::AlertReceived(_)))
                && let Some(forget) = self.ctx.forget.take()
            {
                forget.forget();
            }
            self.failed = true;
            self.retransmit_at = None;
            self.deadline = None;
            self.stats.destroyed.get_or_insert(now);
        }
        e
    }
}
