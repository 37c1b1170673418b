//! One DTLS association, sans-IO: datagrams in, datagrams, timeouts and events out.
//!
//! The session owns the record layer, the handshake reassembler, the current flight with
//! its retransmission timer, and the state machine of its role. It never touches a socket
//! or a clock: time arrives as `now`, randomness from the configured RNG.
//!
//! Drive it like this, draining every output after every input, events first (see the
//! crate documentation's run loop):
//!
//! ```text
//! loop {
//!     session.handle(now, &datagram)?;          // or handle_timeout(now), send(data), close()
//!     while let Some(e) = session.poll_event() { /* Connected, ApplicationData, Closed */ }
//!     while let Some(t) = session.poll_transmit() { socket.send_to(&t.contents, t.destination) }
//!     sleep_until(session.poll_timeout());
//! }
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::codec::Codec;
use crate::config::{ClientConfig, ServerConfig};
use crate::error::{Error, PeerMisbehaved};
use crate::handshake::client::{self, ClientState};
use crate::handshake::context::Context;
use crate::handshake::flight::Flight;
use crate::handshake::fragment::parse_fragments;
use crate::handshake::key_schedule::Side;
use crate::handshake::reassembler::{HandshakeMessage, Inserted, Reassembler};
use crate::handshake::server::ServerState;
use crate::pool::BufferPool;
use crate::record::header::{Deframer, RECORD_HEADER_LEN, RecordHeader};
use crate::stats::SessionStats;
use crate::wire::{
    Alert, AlertDescription, AlertLevel, ContentType, DTLS_1_0, DTLS_1_2, HandshakePayload, HandshakeType,
};

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The peer's address.
    pub destination: SocketAddr,
    /// The datagram.
    pub contents: Vec<u8>,
}

/// The negotiated cipher, as node:dtls reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CipherInfo {
    /// OpenSSL name, e.g. `ECDHE-ECDSA-AES128-GCM-SHA256`.
    pub name: &'static str,
    /// IANA name, e.g. `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`.
    pub standard_name: &'static str,
    /// Always `DTLSv1.2`.
    pub version: &'static str,
}

/// Something the application should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The handshake completed; application data may flow.
    Connected,
    /// One application data record from the peer.
    ApplicationData(Vec<u8>),
    /// The peer sent close_notify.
    Closed,
}

enum Role {
    Client(Arc<ClientConfig>, ClientState),
    Server(Arc<ServerConfig>, ServerState),
    /// Transitional placeholder while a state is being advanced, and after a fatal error.
    Failed,
}

/// One DTLS 1.2 association with one peer.
//
// `repr(C)`, in the order a received application record reads the fields: the flags and
// limits, the timers, the event queue and the counters, then the context (whose record
// layer comes first); handshake-only state last. An endpoint routing datagrams for
// thousands of sessions reaches each one's state cold, and every extra cache line costs a
// memory round trip (`benches/endpoint.rs`, "all active").
#[repr(C)]
pub struct Session {
    failed: bool,
    close_sent: bool,
    close_received: bool,
    peer_ccs_pending: bool,
    /// `config().max_queued`, `config().idle_timeout` and `config().mtu`, copied so the
    /// per-record paths read them without going through the configuration's trait object.
    max_queued: usize,
    idle_timeout: Option<Duration>,
    /// When the last authentic record arrived (for the idle timeout).
    last_heard: Instant,
    retransmit_at: Option<Instant>,
    deadline: Option<Instant>,
    events: VecDeque<Event>,
    stats: SessionStats,
    ctx: Context,
    mtu: usize,
    role: Role,
    reassembler: Reassembler,
    /// The last flight we sent, kept for retransmission.
    flight: Flight,
    flight_sent_at: Option<Instant>,
    rto: Duration,
    /// Records of the next epoch that arrived before its ChangeCipherSpec (RFC 6347 §4.1).
    early: Vec<(RecordHeader, Vec<u8>)>,
    /// The message_seq of the peer's Finished, once a fragment of it arrived.
    peer_finished_seq: Option<u16>,
    transmits: VecDeque<Vec<u8>>,
    scratch: Vec<u8>,
    pool: BufferPool,
}

mod info;

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.ctx.peer)
            .field("side", &self.ctx.side)
            .field("connected", &self.ctx.connected)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A client session to `remote`; the ClientHello is queued at once.
    pub fn client(now: Instant, config: Arc<ClientConfig>, remote: SocketAddr) -> Self {
        let mut s = Self::new(Side::Client, remote, config.clone(), now);
        let state = client::start(&mut s.ctx, &config);
        s.role = Role::Client(config, state);
        s.after_transition(now);
        s
    }

    /// A server session for the client at `remote`; feed it the client's datagrams.
    pub fn server(now: Instant, config: Arc<ServerConfig>, remote: SocketAddr) -> Self {
        let mut s = Self::new(Side::Server, remote, config.clone(), now);
        s.role = Role::Server(config, ServerState::start(false));
        s
    }

    /// A server session for a client whose ClientHello cookie an endpoint has already
    /// verified statelessly (RFC 6347 §4.2.1). `client_hello_seq` is that ClientHello's
    /// message_seq: the session expects it next and numbers its own flight from it, as a
    /// stateless server must (RFC 6347 §4.2.2). Feed the ClientHello's datagram next.
    pub fn server_after_cookie(
        now: Instant,
        config: Arc<ServerConfig>,
        remote: SocketAddr,
        client_hello_seq: u16,
    ) -> Self {
        let mut s = Self::new(Side::Server, remote, config.clone(), now);
        s.role = Role::Server(config, ServerState::start(true));
        s.reassembler.set_next_seq(client_hello_seq);
        s.ctx.send_seq = client_hello_seq;
        s
    }

    /// Endpoint hook: start our epoch-0 record sequence at that of the ClientHello that
    /// carried the verified cookie (RFC 6347 §4.2.1; see `RecordLayer::continue_epoch0_at`).
    pub(crate) fn continue_record_sequence(&mut self, client_hello_record_seq: u64) {
        self.ctx.records.continue_epoch0_at(client_hello_record_seq);
    }

    fn new(side: Side, remote: SocketAddr, common: Arc<dyn crate::handshake::context::AsCommon>, now: Instant) -> Self {
        let ctx = Context::new(side, remote, common);
        let c = ctx.config();
        let reassembler = Reassembler::new(c.max_message_len, c.max_reassembly_bytes);
        let rto = c.initial_rto;
        let deadline = Some(now + c.handshake_timeout);
        let (max_queued, mtu, idle_timeout) = (c.max_queued, c.mtu, c.idle_timeout);
        Self {
            ctx,
            role: Role::Failed,
            reassembler,
            flight: Flight::default(),
            flight_sent_at: None,
            retransmit_at: None,
            rto,
            deadline,
            early: Vec::new(),
            peer_finished_seq: None,
            peer_ccs_pending: false,
            last_heard: now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            scratch: Vec::new(),
            pool: BufferPool::default(),
            close_sent: false,
            close_received: false,
            failed: false,
            stats: SessionStats::new(now),
            max_queued,
            mtu,
            idle_timeout,
        }
    }

    /// Process one datagram from the peer. An `Err` is fatal for this session: the alert
    /// for it (if any) has been queued for transmission.
    pub fn handle(&mut self, now: Instant, datagram: &[u8]) -> Result<(), Error> {
        if self.failed {
            return Err(Error::Closed);
        }
        self.stats.packets_received += 1;
        self.stats.datagram_bytes_received += datagram.len() as u64;
        let mut records = Deframer::new(datagram);
        for (header, body) in records.by_ref() {
            if let Err(e) = self.handle_record(now, header, body) {
                return Err(self.fail(now, e));
            }
        }
        if records.truncated() {
            self.stats.records_dropped += 1;
        }
        Ok(())
    }

    /// Like [`Session::handle`], but the session may keep the allocation of `datagram`: a
    /// datagram holding exactly one application-data record is authenticated and decrypted in
    /// place, becomes the payload of its [`Event::ApplicationData`] (no copy of the record),
    /// and `datagram` is swapped for an empty recycled buffer (or a new, unallocated one).
    /// Any other datagram is handled as [`Session::handle`] would, and left as it was. After
    /// an authentic application record, `datagram`'s previous contents are gone; after a
    /// discarded one, they are unspecified. With [`Session::recycle`] and
    /// [`Session::poll_transmit_into`], steady-state records need no heap allocation.
    pub fn handle_buf(&mut self, now: Instant, datagram: &mut Vec<u8>) -> Result<(), Error> {
        if let Some(payload) = self.handle_in_place(now, datagram)? {
            self.push_application_data(payload);
            *datagram = self.pool.take_spare();
        }
        Ok(())
    }

    /// [`Session::handle_buf`] without the swap and without queueing: when `datagram` is an
    /// authentic application record, returns its payload (in `datagram`'s allocation, an
    /// empty unallocated vector left in its place), which the caller must deliver as the
    /// next [`Event::ApplicationData`] after any events already queued. An endpoint uses this
    /// with buffers of its own pool, so records it routes never drain the session's pool.
    pub(crate) fn handle_in_place(&mut self, now: Instant, datagram: &mut Vec<u8>) -> Result<Option<Vec<u8>>, Error> {
        // One record exactly filling the datagram (RFC 6347 §4.1 header), else the general path.
        let header = match datagram.first_chunk::<RECORD_HEADER_LEN>() {
            Some(&[t, v0, v1, e0, e1, s0, s1, s2, s3, s4, s5, l0, l1])
                if usize::from(u16::from_be_bytes([l0, l1])) + RECORD_HEADER_LEN == datagram.len() =>
            {
                RecordHeader {
                    content_type: ContentType::from(t),
                    version: u16::from_be_bytes([v0, v1]),
                    epoch: u16::from_be_bytes([e0, e1]),
                    sequence: u64::from_be_bytes([0, 0, s0, s1, s2, s3, s4, s5]),
                    length: u16::from_be_bytes([l0, l1]),
                }
            }
            _ => return self.handle(now, datagram).map(|()| None),
        };
        let read_epoch = self.ctx.records.read_epoch();
        if self.failed
            || self.close_received
            || header.version != DTLS_1_2
            || header.content_type != ContentType::ApplicationData
            || header.epoch == 0
            || header.epoch != read_epoch
        {
            return self.handle(now, datagram).map(|()| None);
        }
        self.stats.packets_received += 1;
        self.stats.datagram_bytes_received += datagram.len() as u64;
        // As in `handle_application_record`: bounded queue, authenticate, then deliver only
        // once the handshake is complete (docs/security.md item 2).
        if self.events.len() >= self.max_queued {
            self.stats.records_dropped += 1;
            return Ok(None);
        }
        if self.ctx.records.open_in_place(&header, datagram, RECORD_HEADER_LEN).is_err() {
            self.stats.records_dropped += 1;
            return Ok(None);
        }
        self.last_heard = now;
        if !self.ctx.connected || self.close_sent {
            self.stats.records_dropped += 1;
            return Ok(None);
        }
        self.stats.app_bytes_received += datagram.len() as u64;
        self.stats.app_messages_received += 1;
        Ok(Some(core::mem::take(datagram)))
    }

    /// Whether events wait to be polled.
    pub(crate) fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Queue a received application record's payload.
    pub(crate) fn push_application_data(&mut self, payload: Vec<u8>) {
        self.events.push_back(Event::ApplicationData(payload));
    }

    /// Run timers that are due: retransmission and the handshake deadline.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if self.failed {
            return Err(Error::Closed);
        }
        if self.deadline.is_some_and(|d| now >= d) && !self.ctx.connected {
            return Err(self.fail(now, Error::HandshakeTimeout));
        }
        if self.ctx.connected && self.idle_deadline().is_some_and(|d| now >= d) {
            return Err(self.fail(now, Error::IdleTimeout));
        }
        if self.retransmit_at.is_some_and(|at| now >= at) {
            // RFC 6347 §4.2.4.1: double the timer on each retransmission, up to 60 s.
            self.rto = (self.rto * 2).min(self.ctx.config().max_rto);
            self.stats.handshake_retransmissions += 1;
            if let Err(e) = self.emit_flight(now) {
                return Err(self.fail(now, e));
            }
            self.retransmit_at = Some(now + self.rto);
        }
        Ok(())
    }

    /// The next datagram to send, if any.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let contents = self.transmits.pop_front()?;
        self.stats.packets_sent += 1;
        self.stats.datagram_bytes_sent += contents.len() as u64;
        Some(Transmit { destination: self.ctx.peer, contents })
    }

    /// Like [`Session::poll_transmit`], but swaps the datagram into `buf` (whose old
    /// allocation the session keeps for reuse): with one long-lived `buf`, sending needs no
    /// heap allocation per record.
    pub fn poll_transmit_into(&mut self, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        let contents = self.transmits.pop_front()?;
        self.stats.packets_sent += 1;
        self.stats.datagram_bytes_sent += contents.len() as u64;
        let old = core::mem::replace(buf, contents);
        self.pool.put(old);
        Some(self.ctx.peer)
    }

    /// Hand back a buffer the session gave out (a [`Transmit`]'s contents or the payload of
    /// [`Event::ApplicationData`]) so later records reuse it instead of allocating.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        self.pool.put(buf);
    }

    /// The next instant at which [`Session::handle_timeout`] must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.failed {
            return None;
        }
        let deadline = if self.ctx.connected { self.idle_deadline() } else { self.deadline };
        match (self.retransmit_at, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn idle_deadline(&self) -> Option<Instant> {
        if self.close_sent || self.close_received {
            return None;
        }
        Some(self.last_heard + self.idle_timeout?)
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Send one application record. Refused before the handshake completes
    /// ([`Error::HandshakeNotComplete`]), after close ([`Error::Closed`]), when `data` does
    /// not fit in one datagram of the configured MTU ([`Error::MessageTooLarge`], naming
    /// [`Session::max_payload`]) or when the transmit queue is full
    /// ([`Error::SendQueueFull`]). None of these is fatal: a refused `send` queues nothing
    /// and leaves the session as it was.
    pub fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        if self.failed || self.close_sent {
            return Err(Error::Closed);
        }
        if !self.ctx.connected {
            return Err(Error::HandshakeNotComplete);
        }
        let max = self.max_payload();
        if data.len() > max {
            return Err(Error::MessageTooLarge { max });
        }
        if self.transmits.len() >= self.max_queued {
            return Err(Error::SendQueueFull);
        }
        let mut dgram = self.pool.take(data.len() + 64);
        self.ctx.records.seal(1, ContentType::ApplicationData, data, &mut dgram)?;
        self.transmits.push_back(dgram);
        self.stats.app_bytes_sent += data.len() as u64;
        self.stats.app_messages_sent += 1;
        Ok(())
    }

    /// Largest application payload that fits one datagram at the configured MTU.
    pub fn max_payload(&self) -> usize {
        let overhead = self.ctx.records.overhead(1);
        self.mtu.saturating_sub(overhead).min(crate::record::header::MAX_PLAINTEXT)
    }

    /// Close gracefully: queue close_notify (RFC 5246 §7.2.1). Idempotent.
    pub fn close(&mut self, now: Instant) {
        if self.close_sent || self.failed {
            return;
        }
        self.close_sent = true;
        self.stats.closing.get_or_insert(now);
        self.retransmit_at = None;
        self.deadline = None;
        self.send_alert(AlertLevel::Warning, AlertDescription::CloseNotify);
    }

    // ---- receive path -------------------------------------------------------------------

    fn handle_record(&mut self, now: Instant, header: RecordHeader, body: &[u8]) -> Result<(), Error> {
        // RFC 6347 §4.1: DTLS 1.2 records; a ClientHello may use the DTLS 1.0 record version.
        let version_ok = header.version == DTLS_1_2 || (header.version == DTLS_1_0 && header.epoch == 0);
        if !version_ok || self.close_received || self.failed {
            self.stats.records_dropped += 1;
            return Ok(());
        }
        let read_epoch = self.ctx.records.read_epoch();
        if header.epoch == read_epoch + 1 {
            // RFC 6347 §4.1: records of the next epoch may arrive before the
            // ChangeCipherSpec; buffer a bounded number of them.
            if self.early.len() < self.ctx.config().max_early_records && !self.ctx.connected {
                self.early.push((header, body.to_vec()));
            } else {
                self.stats.records_dropped += 1;
            }
            return Ok(());
        }
        if header.content_type == ContentType::ApplicationData && header.epoch != 0 && header.epoch == read_epoch {
            self.handle_application_record(now, &header, body);
            return Ok(());
        }
        let mut buf = core::mem::take(&mut self.scratch);
        if buf.capacity() == 0 {
            buf = self.pool.take_spare();
        }
        buf.clear();
        buf.extend_from_slice(body);
        let result = match self.ctx.records.open(&header, &mut buf) {
            Ok(range) => {
                if header.epoch > 0 {
                    self.last_heard = now;
                }
                self.handle_plaintext(now, &header, buf.get(range).unwrap_or(&[]))
            }
            Err(_) => {
                self.stats.records_dropped += 1;
                Ok(())
            }
        };
        // After the handshake this path only sees the odd alert or repeated Finished: keep
        // no buffer for it (see `after_transition`).
        if !self.ctx.connected {
            self.scratch = buf;
        }
        result
    }

    /// The steady-state receive path: open an application-data record of the current epoch
    /// straight into the buffer that becomes its [`Event::ApplicationData`] (one copy of the
    /// ciphertext, none of the plaintext).
    fn handle_application_record(&mut self, now: Instant, header: &RecordHeader, body: &[u8]) {
        // Bounded like a socket buffer: an application that stops polling events loses
        // records rather than growing the queue without limit.
        if self.events.len() >= self.max_queued {
            self.stats.records_dropped += 1;
            return;
        }
        let mut buf = self.pool.take(body.len());
        if self.ctx.records.open_into(header, body, &mut buf).is_err() {
            self.stats.records_dropped += 1;
            self.pool.put(buf);
            return;
        }
        self.last_heard = now;
        // docs/security.md item 2: application data only once the handshake is complete.
        if !self.ctx.connected || self.close_sent {
            self.stats.records_dropped += 1;
            self.pool.put(buf);
            return;
        }
        self.stats.app_bytes_received += buf.len() as u64;
        self.stats.app_messages_received += 1;
        self.events.push_back(Event::ApplicationData(buf));
    }

    fn handle_plaintext(&mut self, now: Instant, header: &RecordHeader, plain: &[u8]) -> Result<(), Error> {
        match header.content_type {
            ContentType::Handshake => self.handle_handshake_record(now, header.epoch, plain),
            ContentType::ChangeCipherSpec => {
                // RFC 5246 §7.1: exactly one byte of value 1, in the plaintext epoch.
                if header.epoch != 0 || plain != [1] {
                    self.stats.records_dropped += 1;
                    return Ok(());
                }
                if !self.ctx.connected && self.ctx.records.read_epoch() == 0 {
                    self.peer_ccs_pending = true;
                    self.try_switch_read_epoch(now)?;
                }
                Ok(())
            }
            ContentType::Alert => self.handle_alert(now, header.epoch, plain),
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
    fn handle_alert(&mut self, now: Instant, epoch: u16, plain: &[u8]) -> Result<(), Error> {
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

    fn handle_one_alert(&mut self, now: Instant, epoch: u16, plain: &[u8]) -> Result<(), Error> {
        let Ok(alert) = Alert::read_all(plain) else {
            self.stats.records_dropped += 1;
            return Ok(());
        };
        // After the handshake only authenticated alerts count; a plaintext one could come
        // from anybody on the path.
        if self.ctx.connected && epoch == 0 {
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

    fn handle_handshake_record(&mut self, now: Instant, epoch: u16, plain: &[u8]) -> Result<(), Error> {
        let mut repeated = false;
        for fragment in parse_fragments(plain) {
            let Ok((header, data)) = fragment else {
                self.stats.records_dropped += 1;
                break;
            };
            // RFC 5746 §4.4 / docs/security.md item 9: after the handshake, a handshake message
            // in the protected epoch other than a repeated Finished starts a renegotiation
            // (its message_seq restarts at 0, RFC 6347 §4.2.2); refuse it with a warning.
            if self.ctx.connected && epoch == 1 && header.msg_type != HandshakeType::Finished {
                self.send_alert(AlertLevel::Warning, AlertDescription::NoRenegotiation);
                break;
            }
            // docs/security.md item 8: Finished only in epoch 1, everything else of the initial
            // handshake only in epoch 0.
            if (header.msg_type == HandshakeType::Finished) != (epoch == 1) {
                self.stats.records_dropped += 1;
                continue;
            }
            // The peer's Finished ends its last flight (RFC 5246 §7.4): a second one in the
            // protected epoch with another message_seq, in whichever order the two arrive,
            // is authenticated handshake data after the end of the flight.
            if epoch == 1 && !self.ctx.connected {
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
            self.handle_message(now, msg)?;
            if self.failed {
                break;
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

    fn handle_message(&mut self, now: Instant, msg: HandshakeMessage) -> Result<(), Error> {
        if self.ctx.connected {
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
        let role = core::mem::replace(&mut self.role, Role::Failed);
        self.role = match role {
            Role::Client(cfg, state) => {
                let next = state.handle(&mut self.ctx, &cfg, payload, &msg)?;
                Role::Client(cfg, next)
            }
            Role::Server(cfg, state) => {
                let next = state.handle(&mut self.ctx, &cfg, payload, &msg)?;
                Role::Server(cfg, next)
            }
            Role::Failed => return Err(PeerMisbehaved::UnexpectedMessage.into()),
        };
        self.after_transition(now);
        self.try_switch_read_epoch(now)
    }

    /// Send what the state machine built and update timers and events.
    fn after_transition(&mut self, now: Instant) {
        if self.ctx.flight_ready {
            self.ctx.flight_ready = false;
            self.flight = core::mem::take(&mut self.ctx.building);
            self.rto = self.ctx.config().initial_rto;
            if let Err(e) = self.emit_flight(now) {
                self.fail(now, e);
                return;
            }
            self.retransmit_at = self.ctx.flight_expects_reply.then(|| now + self.rto);
        }
        if self.ctx.connected && self.stats.handshake_completed.is_none() {
            self.stats.handshake_completed = Some(now);
            self.deadline = None;
            if self.retransmit_at.is_some() {
                // Our last flight waited for a reply and the peer's Finished is that reply
                // (the client's flight 5 in a full handshake, the server's flight in an
                // abbreviated one): it has our flight. A last flight without a timer (the
                // server's flight 6, the client's Finished when resuming) is kept, to be
                // re-sent if the peer repeats its own (RFC 6347 §4.2.4).
                self.retransmit_at = None;
                self.flight = Flight::default();
            }
            // Release what only the handshake needed, spare buffers included: an idle
            // established session holds no buffer; the first records after the handshake
            // refill the pool, and from then on send, receive and recycle reuse it.
            self.early = Vec::new();
            self.scratch = Vec::new();
            self.reassembler.clear();
            self.pool.trim(0);
            self.ctx.release_transcript();
            self.events.push_back(Event::Connected);
        }
    }

    fn try_switch_read_epoch(&mut self, now: Instant) -> Result<(), Error> {
        let expects = match &self.role {
            Role::Client(_, s) => s.expects_ccs(),
            Role::Server(_, s) => s.expects_ccs(),
            Role::Failed => false,
        };
        if !(self.peer_ccs_pending && expects && self.ctx.records.read_epoch() == 0) {
            return Ok(());
        }
        self.peer_ccs_pending = false;
        self.ctx.records.advance_read_epoch();
        for (header, body) in core::mem::take(&mut self.early) {
            self.handle_record(now, header, &body)?;
        }
        Ok(())
    }

    fn emit_flight(&mut self, now: Instant) -> Result<(), Error> {
        let mtu = self.ctx.config().mtu;
        self.flight.emit(&mut self.ctx.records, mtu, &mut self.pool, &mut self.transmits)?;
        self.flight_sent_at = Some(now);
        Ok(())
    }

    fn send_alert(&mut self, level: AlertLevel, description: AlertDescription) {
        let mut body = Vec::with_capacity(2);
        Alert { level, description }.encode(&mut body);
        let epoch = self.ctx.records.write_epoch();
        let mut dgram = self.pool.take(64);
        if self.ctx.records.seal(epoch, ContentType::Alert, &body, &mut dgram).is_ok() {
            self.transmits.push_back(dgram);
        }
    }

    /// Record a fatal error: send its alert, stop every timer, refuse further input.
    fn fail(&mut self, now: Instant, e: Error) -> Error {
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
