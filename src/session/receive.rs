//! The session's receive path: every record of a datagram, by content type and epoch,
//! through the record layer to the reassembler and the state machine. One path: the
//! zero-copy branch for a lone application record ([`Session::handle_in_place`]) uses the
//! same checks and the same `open_application` as the general one.

use std::net::SocketAddr;
use std::time::Instant;

use super::{Event, Role, Session};
use crate::codec::Codec;
use crate::error::{Error, PeerMisbehaved};
use crate::handshake::reassembler::{HandshakeMessage, Inserted};
use crate::wire::handshake_header::parse_fragments;
use crate::wire::record::{RECORD_HEADER_LEN, RecordHeader};
use crate::wire::{
    Alert, AlertDescription, AlertLevel, ContentType, DTLS_1_0, DTLS_1_2, Epoch, HandshakePayload, HandshakeType,
};

impl Session {
    /// [`Session::handle`] for a datagram that came from `from`, which may not be the peer's
    /// address: with connection IDs (RFC 9146 §6), a datagram from another address holding
    /// an authentic record with our CID, newer than any record received before, moves the
    /// peer to `from` ([`Event::PeerAddressChanged`]). Anything else from another address
    /// changes nothing: a replayed or older record, a forged one, or records without a CID.
    pub fn handle_from(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) -> Result<(), Error> {
        self.cid_newest = false;
        self.rx_from = Some(from);
        let result = self.handle(now, datagram);
        self.rx_from = None;
        if core::mem::take(&mut self.cid_newest) && from != self.ctx.peer && !self.failed {
            self.peer_seen_at(now, from);
        }
        result
    }

    pub(super) fn handle_record(&mut self, now: Instant, header: RecordHeader, body: &[u8]) -> Result<(), Error> {
        // RFC 6347 §4.1: DTLS 1.2 records; a ClientHello may use the DTLS 1.0 record version.
        let version_ok = header.version == DTLS_1_2 || (header.version == DTLS_1_0 && header.epoch == 0);
        if !version_ok || self.close_received || self.failed {
            self.stats.records_dropped += 1;
            return Ok(());
        }
        let epoch = Epoch::from(header.epoch);
        if !epoch.is_plaintext() && self.is_tls13() {
            // A DTLS 1.3 session takes only plaintext records in this format: its protected
            // epochs (whose newest keys the 1.2 layer's slots hold) use unified headers.
            self.stats.records_dropped += 1;
            return Ok(());
        }
        let read_epoch = self.records.read_epoch();
        if epoch == read_epoch.next() {
            // RFC 6347 §4.1: records of the next epoch may arrive before the
            // ChangeCipherSpec; buffer a bounded number of them.
            if self.early.len() < self.ctx.config().max_early_records && !self.connected {
                self.early.push((header, body.to_vec()));
            } else {
                self.stats.records_dropped += 1;
            }
            return Ok(());
        }
        if header.content_type == ContentType::ApplicationData && !epoch.is_plaintext() && epoch == read_epoch {
            // The steady-state branch: open the record straight into the buffer that becomes
            // its event (one copy of the ciphertext, none of the plaintext).
            let mut buf = self.pool.take(body.len());
            buf.extend_from_slice(body);
            if self.open_application(now, &header, &mut buf, 0) {
                self.events.push_back(Event::ApplicationData(buf));
            } else {
                self.pool.put(buf);
            }
            return Ok(());
        }
        let mut buf = self.pool.take(body.len());
        buf.extend_from_slice(body);
        let result = match self.records.open(&header, &mut buf, 0) {
            Ok(()) => {
                if !epoch.is_plaintext() {
                    self.last_heard = now;
                }
                self.handle_plaintext(now, &header, &buf)
            }
            Err(_) => {
                self.stats.records_dropped += 1;
                Ok(())
            }
        };
        // After the handshake this path only sees the odd alert or repeated Finished: keep
        // no buffer for it (see `establish`).
        if !self.connected {
            self.pool.put(buf);
        }
        result
    }

    /// [`Session::handle_buf`] without the swap and without queueing: when `datagram` is an
    /// authentic application record, returns its payload (in `datagram`'s allocation, an
    /// empty unallocated vector left in its place), which the caller must deliver as the
    /// next [`Event::ApplicationData`] after any events already queued. An endpoint uses this
    /// with buffers of its own pool, so records it routes never drain the session's pool.
    pub(crate) fn handle_in_place(&mut self, now: Instant, datagram: &mut Vec<u8>) -> Result<Option<Vec<u8>>, Error> {
        // The fast branch of the receive path: one application-data record of the current
        // epoch exactly filling the datagram is opened in the datagram's own buffer.
        if self.v13.is_some() {
            return self.handle_in_place13(now, datagram);
        }
        if let Some(result) = self.handle_cid_in_place(now, datagram) {
            return result;
        }
        let Some(header) = self.lone_application_record(datagram) else {
            return self.handle(now, datagram).map(|()| None);
        };
        self.stats.packets_received += 1;
        self.stats.datagram_bytes_received += datagram.len() as u64;
        Ok(self.open_application(now, &header, datagram, RECORD_HEADER_LEN).then(|| core::mem::take(datagram)))
    }

    /// The one record exactly filling `datagram`, if it is application data of the current
    /// (protected) read epoch and the session can still receive: what the fast branch of
    /// the receive path takes. Anything else goes through [`Session::handle`].
    pub(super) fn lone_application_record(&self, datagram: &[u8]) -> Option<RecordHeader> {
        let header = RecordHeader::parse_exact(datagram)?;
        let epoch = Epoch::from(header.epoch);
        let usable = !self.failed
            && !self.close_received
            && header.version == DTLS_1_2
            && header.content_type == ContentType::ApplicationData
            && !epoch.is_plaintext()
            && epoch == self.records.read_epoch();
        usable.then_some(header)
    }

    /// Open one application-data record of the current epoch held in `buf` (its body from
    /// `body_start`), leaving exactly the plaintext in `buf`; true if it is to be delivered.
    /// Shared by both branches of the receive path.
    pub(super) fn open_application(
        &mut self,
        now: Instant,
        header: &RecordHeader,
        buf: &mut Vec<u8>,
        body_start: usize,
    ) -> bool {
        // Bounded like a socket buffer: an application that stops polling events loses
        // records rather than growing the queue without limit.
        if self.events.len() >= self.max_queued {
            self.stats.records_dropped += 1;
            return false;
        }
        if self.records.open(header, buf, body_start).is_err() {
            self.stats.records_dropped += 1;
            return false;
        }
        self.last_heard = now;
        // docs/security.md item 2: application data only once the handshake is complete.
        if !self.connected || self.close_sent {
            self.stats.records_dropped += 1;
            return false;
        }
        self.stats.app_bytes_received += buf.len() as u64;
        self.stats.app_messages_received += 1;
        true
    }

    pub(super) fn handle_plaintext(&mut self, now: Instant, header: &RecordHeader, plain: &[u8]) -> Result<(), Error> {
        match header.content_type {
            ContentType::Handshake => self.handle_handshake_record(now, Epoch::from(header.epoch), plain),
            ContentType::ChangeCipherSpec => {
                // RFC 5246 §7.1: exactly one byte of value 1, in the plaintext epoch.
                if header.epoch != 0 || plain != [1] {
                    self.stats.records_dropped += 1;
                    return Ok(());
                }
                if !self.connected && self.records.read_epoch().is_plaintext() {
                    self.peer_ccs_pending = true;
                    self.try_switch_read_epoch(now)?;
                }
                Ok(())
            }
            ContentType::Alert => self.handle_alert(now, Epoch::from(header.epoch), plain),
            // RFC 9853: authenticated records only, after the handshake.
            ContentType::RETURN_ROUTABILITY_CHECK if header.epoch != 0 && self.connected => {
                self.handle_rrc(plain);
                Ok(())
            }
            ContentType::ApplicationData => {
                // docs/security.md item 2: application data only in an epoch with keys; records
                // of the current epoch went to `handle_application_record`, so what reaches
                // here is plaintext (epoch 0) or of an old epoch.
                self.stats.records_dropped += 1;
                Ok(())
            }
            ContentType::Unknown(_) => {
                self.stats.records_dropped += 1;
                Ok(())
            }
        }
    }

    /// RFC 5246 §6.2.1: messages of one content type may be coalesced into one record, so
    /// an alert record may hold several alerts; each is handled in turn. A record that is not
    /// a whole number of alerts is dropped.
    pub(super) fn handle_alert(&mut self, now: Instant, epoch: Epoch, plain: &[u8]) -> Result<(), Error> {
        if plain.is_empty() || !plain.len().is_multiple_of(2) {
            self.stats.records_dropped += 1;
            return Ok(());
        }
        for one in plain.chunks_exact(2) {
            self.handle_one_alert(now, epoch, one)?;
            if self.close_received {
                break;
            }
        }
        Ok(())
    }

    fn handle_one_alert(&mut self, now: Instant, epoch: Epoch, plain: &[u8]) -> Result<(), Error> {
        let Ok(alert) = Alert::read_all(plain) else {
            self.stats.records_dropped += 1;
            return Ok(());
        };
        // After the handshake only authenticated alerts count; a plaintext one could come
        // from anybody on the path.
        if self.connected && epoch.is_plaintext() {
            self.stats.records_dropped += 1;
            return Ok(());
        }
        if alert.description == AlertDescription::CloseNotify {
            if !self.close_received {
                self.close_received = true;
                self.stats.closing.get_or_insert(now);
                self.retransmit_at = None;
                self.deadline = None;
                // RFC 5246 §7.2.1: answer close_notify with close_notify.
                if !self.close_sent {
                    self.close_sent = true;
                    self.send_alert(AlertLevel::Warning, AlertDescription::CloseNotify);
                }
                self.events.push_back(Event::Closed);
            }
            return Ok(());
        }
        if alert.level == AlertLevel::Warning {
            return Ok(());
        }
        Err(Error::AlertReceived(alert.description))
    }

    fn handle_handshake_record(&mut self, now: Instant, epoch: Epoch, plain: &[u8]) -> Result<(), Error> {
        // DTLS 1.3: after the ServerHello every handshake message travels protected
        // (`session/tls13.rs`); plaintext ones are retransmissions or forgeries.
        if self.is_tls13() {
            // The client's ClientHello again, after our flight: it lost that flight
            // (RFC 9147 §5.8.2). (A repeated ServerHello tells a client nothing new: the
            // server's timer resends its whole flight anyway.)
            let next = self.reassembler.next_seq();
            let old = parse_fragments(plain).any(|f| f.is_ok_and(|(h, _)| h.message_seq < next));
            if old && !self.connected && matches!(self.role, Role::Server(..)) {
                return self.on_peer_repeat13(now);
            }
            self.stats.records_dropped += 1;
            return Ok(());
        }
        let mut repeated = false;
        for fragment in parse_fragments(plain) {
            let Ok((header, data)) = fragment else {
                self.stats.records_dropped += 1;
                break;
            };
            // RFC 5746 §4.4 / docs/security.md item 9: after the handshake, a handshake message
            // in the protected epoch other than a repeated Finished starts a renegotiation
            // (its message_seq restarts at 0, RFC 6347 §4.2.2); refuse it with a warning.
            if self.connected && epoch == Epoch::DTLS12_PROTECTED && header.msg_type != HandshakeType::Finished {
                self.send_alert(AlertLevel::Warning, AlertDescription::NoRenegotiation);
                break;
            }
            // docs/security.md item 8: Finished only in epoch 1, everything else of the initial
            // handshake only in epoch 0.
            if (header.msg_type == HandshakeType::Finished) != (epoch == Epoch::DTLS12_PROTECTED) {
                self.stats.records_dropped += 1;
                continue;
            }
            // The peer's Finished ends its last flight (RFC 5246 §7.4): a second one in the
            // protected epoch with another message_seq, in whichever order the two arrive,
            // is authenticated handshake data after the end of the flight.
            if epoch == Epoch::DTLS12_PROTECTED && !self.connected {
                match self.peer_finished_seq {
                    Some(seq) if seq != header.message_seq => {
                        return Err(PeerMisbehaved::HandshakeDataAfterFinished.into());
                    }
                    _ => self.peer_finished_seq = Some(header.message_seq),
                }
            }
            match self.reassembler.insert(&header, data) {
                Ok(Inserted::Old) => repeated = true,
                Ok(_) => {}
                Err(_) => self.stats.records_dropped += 1,
            }
        }
        if repeated {
            self.on_peer_repeat(now)?;
        }
        while let Some(msg) = self.reassembler.pop() {
            let answered_statelessly = is_stateless_answer(&msg);
            self.handle_message(now, msg)?;
            if self.failed {
                break;
            }
            // A HelloVerifyRequest (RFC 6347 §4.2.1) or HelloRetryRequest (RFC 8446 §4.1.4,
            // RFC 9147 §5.1) is answered with a new ClientHello, so a later server message
            // buffered before it cannot answer that hello: it is an older handshake's
            // retransmission to this address (a client that reused its port). Taken for the
            // server's answer, it would leave the handshake on keys the server never used.
            if answered_statelessly {
                self.reassembler.clear();
            }
        }
        Ok(())
    }

    /// RFC 6347 §4.2.4: a peer that repeats its previous flight lost ours; send it again,
    /// at most once per burst of repeated datagrams.
    fn on_peer_repeat(&mut self, now: Instant) -> Result<(), Error> {
        if self.flight.is_empty() || self.close_sent {
            return Ok(());
        }
        let guard = self.ctx.config().initial_rto / 8;
        if self.flight_sent_at.is_some_and(|t| now.saturating_duration_since(t) < guard) {
            return Ok(());
        }
        self.stats.handshake_retransmissions += 1;
        self.emit_flight(now)
    }

    pub(super) fn handle_message(&mut self, now: Instant, msg: HandshakeMessage) -> Result<(), Error> {
        if self.is_tls13() && !self.connected {
            return self.handle_message13(now, &msg);
        }
        if self.connected {
            // RFC 5746 §4.4 / docs/security.md item 9: refuse renegotiation (a HelloRequest
            // or ClientHello) with a warning. Any other new message after the handshake (a
            // second Finished, say; a retransmitted one has an old message_seq and never
            // gets here) is out of place: RFC 5246 §7.4, fatal unexpected_message.
            if matches!(msg.msg_type, HandshakeType::HelloRequest | HandshakeType::ClientHello) {
                self.send_alert(AlertLevel::Warning, AlertDescription::NoRenegotiation);
                return Ok(());
            }
            return Err(PeerMisbehaved::HandshakeDataAfterFinished.into());
        }
        // A handshake type we do not know is a message out of place, not a malformed one.
        if matches!(msg.msg_type, HandshakeType::Unknown(_)) {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        }
        let payload = HandshakePayload::read(msg.msg_type, &msg.body)?;
        let (role, output) = match core::mem::replace(&mut self.role, Role::Failed) {
            Role::Client(cfg, state) => {
                let (next, output) = state.handle(&mut self.ctx, &cfg, payload, &msg)?;
                (Role::Client(cfg, next), output)
            }
            Role::Server(cfg, state) => {
                let (next, output) = state.handle(&mut self.ctx, &cfg, payload, &msg)?;
                (Role::Server(cfg, next), output)
            }
            Role::Failed => return Err(PeerMisbehaved::UnexpectedMessage.into()),
        };
        self.role = role;
        self.apply(now, output)?;
        self.try_switch_read_epoch(now)?;
        // The ServerHello chose DTLS 1.3: records of epoch 2 that came before it can open now.
        self.replay_early13(now)
    }

    /// A complete handshake message for the DTLS 1.3 machine of either role (the bodies of
    /// 1.3 messages are parsed there).
    fn handle_message13(&mut self, now: Instant, msg: &HandshakeMessage) -> Result<(), Error> {
        let (role, output) = match core::mem::replace(&mut self.role, Role::Failed) {
            Role::Client(cfg, state) => {
                let (next, output) = state.handle13(&mut self.ctx, &cfg, msg)?;
                (Role::Client(cfg, next), output)
            }
            Role::Server(cfg, state) => {
                let (next, output) = state.handle13(&mut self.ctx, &cfg, msg)?;
                (Role::Server(cfg, next), output)
            }
            Role::Failed => return Err(PeerMisbehaved::UnexpectedMessage.into()),
        };
        self.role = role;
        self.apply(now, output)
    }

    fn try_switch_read_epoch(&mut self, now: Instant) -> Result<(), Error> {
        let expects = match &self.role {
            Role::Client(_, s) => s.expects_ccs(),
            Role::Server(_, s) => s.expects_ccs(),
            Role::Failed => false,
        };
        let read_epoch = self.records.read_epoch();
        if !(self.peer_ccs_pending && expects && read_epoch.is_plaintext()) {
            return Ok(());
        }
        self.peer_ccs_pending = false;
        self.records.set_read_epoch(read_epoch.next());
        for (header, body) in core::mem::take(&mut self.early) {
            self.handle_record(now, header, &body)?;
        }
        Ok(())
    }
}

/// A HelloVerifyRequest, or a ServerHello that is a HelloRetryRequest.
fn is_stateless_answer(msg: &HandshakeMessage) -> bool {
    match msg.msg_type {
        HandshakeType::HelloVerifyRequest => true,
        // ServerHello: legacy_version (2 bytes), then the random.
        HandshakeType::ServerHello => msg
            .body
            .get(2..34)
            .and_then(|r| <&[u8; 32]>::try_from(r).ok())
            .is_some_and(crate::wire::tls13::is_hello_retry_request),
        _ => false,
    }
}
