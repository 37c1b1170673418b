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

use crate::config::{ClientConfig, ServerConfig};
use crate::cookie::AddressValidated;
use crate::error::Error;
use crate::handshake::client::{self, ClientState};
use crate::handshake::context::Context;
use crate::handshake::flight::Flight;
use crate::handshake::key_schedule::Side;
use crate::handshake::reassembler::Reassembler;
use crate::handshake::server::ServerState;
use crate::pool::BufferPool;
use crate::record::protection::RecordLayer;
use crate::stats::SessionStats;
use crate::wire::record::RecordHeader;
use crate::wire::{AlertDescription, AlertLevel, ContentType, Epoch};

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
    /// The peer's address changed to this one: a record carrying our connection ID arrived
    /// from it, authentic and newer than every record before it (RFC 9146 §6). Datagrams
    /// go there from now on.
    PeerAddressChanged(SocketAddr),
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
// limits, the timers, the event queue and the counters, then the record layer; handshake-only
// state last. An endpoint routing datagrams for
// thousands of sessions reaches each one's state cold, and every extra cache line costs a
// memory round trip (`benches/endpoint.rs`, "all active").
#[repr(C)]
pub struct Session {
    failed: bool,
    /// The handshake completed (the state machine said so in its output).
    connected: bool,
    close_sent: bool,
    close_received: bool,
    peer_ccs_pending: bool,
    /// The datagram being handled held an authentic connection-ID record newer than any
    /// before it (RFC 9146 §6; read by `handle_from`).
    cid_newest: bool,
    /// The address the datagram being handled came from, when the caller said
    /// (`handle_from`).
    rx_from: Option<SocketAddr>,
    /// The return routability check (`path.rs`), while one is under way.
    path: Option<Box<path::PathState>>,
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
    /// Keys, sequence numbers and replay windows per epoch; only the session touches it.
    records: RecordLayer,
    /// What the handshake state machines share: transcript, RNG, negotiated values.
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
    pool: BufferPool,
    /// DTLS 1.3's record layer, ACK and KeyUpdate state, once 1.3 is chosen.
    v13: Option<Box<tls13::Session13>>,
}

mod cid12;
mod cid13;
mod in_place13;
mod info;
mod key_update;
mod output;
mod pack;
mod path;
mod receive;
mod tls13;

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.ctx.peer)
            .field("side", &self.ctx.side)
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A client session to `remote`; the ClientHello is queued at once.
    pub fn client(now: Instant, config: Arc<ClientConfig>, remote: SocketAddr) -> Self {
        let mut s = Self::new(Side::Client, remote, config.clone(), now);
        // The only ways to fail here are an MTU too small for a handshake fragment, which
        // the configuration's validation rules out, and a key share that cannot be made;
        // the session would report it as closed.
        match client::start(&mut s.ctx, &config) {
            Ok((state, output)) => {
                s.role = Role::Client(config, state);
                if let Err(e) = s.apply(now, output) {
                    s.fail(now, e);
                }
            }
            Err(e) => {
                s.fail(now, e);
            }
        }
        s
    }

    /// A server session for the client at `remote`; feed it the client's datagrams.
    pub fn server(now: Instant, config: Arc<ServerConfig>, remote: SocketAddr) -> Self {
        let mut s = Self::new(Side::Server, remote, config.clone(), now);
        s.role = Role::Server(config, ServerState::start(None));
        s
    }

    /// A server session for a client whose ClientHello cookie an endpoint has already
    /// verified statelessly (RFC 6347 §4.2.1); `validated` is that proof and names the
    /// client's address. `client_hello_seq` is that ClientHello's message_seq: the session
    /// expects it next and numbers its own flight from it, as a stateless server must
    /// (RFC 6347 §4.2.2). Our epoch-0 records continue from `client_hello_record_seq`, the
    /// record sequence number of that ClientHello (see `RecordLayer::continue_epoch0_at`).
    /// Feed the ClientHello's datagram next.
    pub(crate) fn server_after_cookie(
        now: Instant,
        config: Arc<ServerConfig>,
        validated: AddressValidated,
        client_hello_seq: u16,
        client_hello_record_seq: u64,
    ) -> Self {
        let mut s = Self::new(Side::Server, validated.peer(), config.clone(), now);
        s.role = Role::Server(config, ServerState::start(Some(validated)));
        s.reassembler.set_next_seq(client_hello_seq);
        s.ctx.send_seq = client_hello_seq;
        s.records.continue_epoch0_at(client_hello_record_seq);
        s
    }

    /// A server session for a DTLS 1.3 client whose second ClientHello carried a
    /// HelloRetryRequest cookie an endpoint verified statelessly (RFC 9147 §5.1): `retry` is
    /// what the cookie carried, the rest as for [`Session::server_after_cookie`].
    pub(crate) fn server_after_retry(
        now: Instant,
        config: Arc<ServerConfig>,
        validated: AddressValidated,
        retry: crate::handshake::tls13::cookie::RetryState,
        client_hello_seq: u16,
        client_hello_record_seq: u64,
    ) -> Self {
        let mut s = Self::new(Side::Server, validated.peer(), config.clone(), now);
        s.role = Role::Server(config, ServerState::start_after_retry(validated, retry));
        s.reassembler.set_next_seq(client_hello_seq);
        s.ctx.send_seq = client_hello_seq;
        s.records.continue_epoch0_at(client_hello_record_seq);
        s
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
            records: RecordLayer::new(),
            connected: false,
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
            cid_newest: false,
            rx_from: None,
            path: None,
            last_heard: now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            pool: BufferPool::default(),
            v13: None,
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
        // A session that may speak DTLS 1.3 reads all three header formats (RFC 9147 §4.1);
        // a 1.2-only one keeps the 1.2 deframer.
        if self.v13.is_some() || self.ctx.config().offers_tls13() {
            return self.handle_datagram13(now, datagram).map_err(|e| self.fail(now, e));
        }
        let mut records = crate::wire::record::Demux::new(datagram, self.records.own_cid_len());
        while let Some(record) = records.next() {
            let result = match record {
                crate::wire::record::Record::Dtls12 { header, body } => self.handle_record(now, header, body),
                crate::wire::record::Record::Tls12Cid { header, body } => self.handle_cid_record(now, &header, body),
                crate::wire::record::Record::Unified { .. } => {
                    self.stats.records_dropped += 1;
                    Ok(())
                }
            };
            if let Err(e) = result {
                return Err(self.fail(now, e));
            }
            records.set_cid_len(self.records.own_cid_len());
        }
        if records.truncated() {
            self.stats.records_dropped += 1;
        }
        Ok(())
    }

    /// Like [`Session::handle`], but the session may keep the allocation of `datagram`: a
    /// datagram holding exactly one protected record of the current epoch (with or without
    /// a connection ID) is authenticated and decrypted in place; application data becomes
    /// the payload of its [`Event::ApplicationData`] (no copy of the record), and `datagram`
    /// is swapped for an empty recycled buffer (or a new, unallocated one). Any other
    /// datagram is handled as [`Session::handle`] would. Afterwards `datagram`'s contents
    /// are unspecified (a record may have been decrypted in it), its allocation reusable.
    /// With [`Session::recycle`] and [`Session::poll_transmit_into`], steady-state records
    /// need no heap allocation.
    pub fn handle_buf(&mut self, now: Instant, datagram: &mut Vec<u8>) -> Result<(), Error> {
        if let Some(payload) = self.handle_in_place(now, datagram)? {
            self.push_application_data(payload);
            *datagram = self.pool.take_spare();
        }
        Ok(())
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
        if self.deadline.is_some_and(|d| now >= d) && !self.connected {
            return Err(self.fail(now, Error::HandshakeTimeout));
        }
        if self.connected && self.idle_deadline().is_some_and(|d| now >= d) {
            return Err(self.fail(now, Error::IdleTimeout));
        }
        self.expire_path_check(now);
        if self.retransmit_at.is_some_and(|at| now >= at) && self.give_up_post_handshake_flight() {
            self.flight = Default::default();
            self.retransmit_at = None;
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
        // A return routability check under way (rare) sends its probes first and holds the rest.
        if self.path.is_some() {
            if let Some((destination, contents)) = self.pop_probe() {
                return Some(Transmit { destination, contents });
            }
            if self.path_held() {
                return None;
            }
        }
        let Some(contents) = self.transmits.pop_front() else {
            self.release_idle_queues();
            return None;
        };
        self.stats.packets_sent += 1;
        self.stats.datagram_bytes_sent += contents.len() as u64;
        Some(Transmit { destination: self.ctx.peer, contents })
    }

    /// Like [`Session::poll_transmit`], but swaps the datagram into `buf` (whose old
    /// allocation the session keeps for reuse): with one long-lived `buf`, sending needs no
    /// heap allocation per record.
    pub fn poll_transmit_into(&mut self, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        if self.path.is_some()
            && let Some(answer) = self.poll_probe_into(buf)
        {
            return answer;
        }
        let Some(contents) = self.transmits.pop_front() else {
            self.release_idle_queues();
            return None;
        };
        self.stats.packets_sent += 1;
        self.stats.datagram_bytes_sent += contents.len() as u64;
        let old = core::mem::replace(buf, contents);
        self.pool.put(old);
        Some(self.ctx.peer)
    }

    /// Hand back a buffer the session gave out (a [`Transmit`]'s contents or the payload of
    /// [`Event::ApplicationData`]) so later records reuse it instead of allocating.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        self.pool.reopen();
        self.pool.put(buf);
    }

    /// The next instant at which [`Session::handle_timeout`] must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.failed {
            return None;
        }
        let deadline = if self.connected { self.idle_deadline() } else { self.deadline };
        [self.retransmit_at, deadline, self.path_deadline()].into_iter().flatten().min()
    }

    fn idle_deadline(&self) -> Option<Instant> {
        if self.close_sent || self.close_received {
            return None;
        }
        Some(self.last_heard + self.idle_timeout?)
    }

    /// The next event, if any.
    #[must_use]
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front();
        if event.is_none() {
            self.release_idle_queues();
        }
        event
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
        if !self.connected {
            return Err(Error::HandshakeNotComplete);
        }
        let max = self.max_payload();
        if data.len() > max {
            return Err(Error::MessageTooLarge { max });
        }
        if self.transmits.len() >= self.max_queued {
            return Err(Error::SendQueueFull);
        }
        if let Some(now) = self.v13.as_ref().map(|v| v.last_now) {
            self.maybe_update_keys(now)?;
        }
        // Sending: the pool keeps buffers again (released when the handshake completed).
        self.pool.reopen();
        let mut dgram = self.pool.take(data.len() + 64);
        match self.v13.as_mut() {
            Some(v13) => {
                let epoch = v13.records.write_epoch().ok_or(Error::HandshakeNotComplete)?;
                v13.records.seal(&self.records, epoch, ContentType::ApplicationData, data, &mut dgram)?;
            }
            None => self.records.seal(Epoch::DTLS12_PROTECTED, ContentType::ApplicationData, data, &mut dgram)?,
        }
        self.transmits.push_back(dgram);
        self.stats.app_bytes_sent += data.len() as u64;
        self.stats.app_messages_sent += 1;
        Ok(())
    }

    /// Largest application payload that fits one datagram at the configured MTU.
    pub fn max_payload(&self) -> usize {
        let overhead = match &self.v13 {
            Some(v13) => v13.records.overhead(&self.records),
            None => self.records.overhead(Epoch::DTLS12_PROTECTED),
        };
        self.mtu.saturating_sub(overhead).min(crate::wire::record::MAX_PLAINTEXT)
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
}
