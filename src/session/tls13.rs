//! The session's DTLS 1.3 record paths (RFC 9147): unified-header records in and out, ACKs
//! (§7) both ways, acknowledgement-driven retransmission of our flights, KeyUpdate (§8) in
//! both directions and before the AEAD limits (§4.5.3), and the post-handshake messages.
//! The 1.3 state lives boxed in [`Session13`] so a DTLS 1.2 session pays one pointer for it.

use std::time::Instant;

use super::{Event, Role, Session};
use crate::error::Error;
use crate::handshake::reassembler::Inserted;
use crate::handshake::tls13::{AppSecrets, Install13};
use crate::record::layer13::{Received13, RecordLayer13};
use crate::wire::handshake_header::parse_fragments;
use crate::wire::record::UnifiedHeader;
use crate::wire::tls13::RecordNumber;
use crate::wire::{ContentType, Epoch};

mod ack;

/// ContentType `ack` (RFC 9147 §7).
const ACK: ContentType = ContentType::Unknown(26);
/// Record numbers we remember to acknowledge, and records of our flight we track.
const MAX_TRACKED: usize = 64;
/// Records of epochs we have no keys for yet (reordered past the ServerHello), kept: at
/// most this many, and this many bytes in all.
const MAX_EARLY: usize = 16;
const MAX_EARLY_BYTES: usize = 32 * 1024;
/// Retransmissions of an unacknowledged flight after the handshake before giving up.
const MAX_POST_RETRANSMITS: u32 = 8;
/// RFC 9147 §4.5.3: AES-GCM and ChaCha20-Poly1305 both allow 2^36 forged records per key
/// before the integrity guarantee weakens; past that the session ends.
const INTEGRITY_LIMIT: u64 = 1 << 36;

/// One record we sent carrying (part of) a flight item.
#[derive(Debug, Clone, Copy)]
struct Sent {
    number: RecordNumber,
    item: usize,
    emission: u32,
    acked: bool,
}

/// Everything a DTLS 1.3 session adds to a session.
#[derive(Debug)]
pub(crate) struct Session13 {
    /// The latest `now` the session was given (for timers started by `send`).
    pub(super) last_now: Instant,
    pub(super) records: RecordLayer13,
    pub(super) secrets: Option<AppSecrets>,
    /// Handshake records of the peer to acknowledge (RFC 9147 §7).
    to_ack: Vec<RecordNumber>,
    /// Records that carried our current flight, per emission.
    sent: Vec<Sent>,
    emission: u32,
    /// Items of the current flight the peer acknowledged.
    acked: Vec<bool>,
    /// A partial flight of the peer's arrived out of order: acknowledge it after this
    /// datagram (RFC 9147 §7.1).
    ack_due: bool,
    /// While re-sending the gaps a partial ACK showed, items from this index on are still in
    /// flight and are not re-sent (`pack_flight`).
    resend_below: Option<usize>,
    /// Unified records that arrived before the keys of their epoch.
    early: Vec<Vec<u8>>,
    /// Server: the client's application data that authenticated under its epoch-3 key but
    /// arrived before its Finished (that Finished was lost or reordered), delivered once
    /// the Finished verifies.
    early_data: Vec<Vec<u8>>,
    /// Our KeyUpdate is out and not yet acknowledged.
    pub(super) update_pending: bool,
    /// Times the current post-handshake flight (the client's Finished, a KeyUpdate) was
    /// re-sent without an ACK.
    post_retransmits: u32,
    /// KeyUpdates that took effect: ours (acknowledged), the peer's.
    pub(super) updates_sent: u64,
    pub(super) updates_received: u64,
}

impl Session13 {
    fn new(now: Instant) -> Self {
        Self {
            last_now: now,
            records: RecordLayer13::default(),
            secrets: None,
            to_ack: Vec::new(),
            sent: Vec::new(),
            emission: 0,
            acked: Vec::new(),
            ack_due: false,
            resend_below: None,
            early: Vec::new(),
            early_data: Vec::new(),
            update_pending: false,
            post_retransmits: 0,
            updates_sent: 0,
            updates_received: 0,
        }
    }

    /// Install one transition's keys; the newest AEAD keys go to the 1.2 layer's slots.
    fn install(&mut self, slots: &mut crate::record::protection::RecordLayer, install: Install13) {
        match install {
            Install13::Read(p) => self.records.install_read(slots, p),
            Install13::Write(p) => self.records.install_write(slots, p),
            Install13::Secrets(s) => self.secrets = Some(s),
        }
    }
}

impl Session {
    /// Whether DTLS 1.3 was negotiated (its record layer has keys; the box alone may only
    /// hold records that came before the ServerHello).
    pub(super) fn is_tls13(&self) -> bool {
        self.v13.as_ref().is_some_and(|v| v.records.read_epoch().is_some())
    }

    /// Install what a 1.3 transition produced; the first install makes this a 1.3 session.
    pub(super) fn install13(&mut self, now: Instant, installs: Vec<Install13>) {
        if installs.is_empty() {
            return;
        }
        if !self.is_tls13() {
            // From the ServerHello on, handshake messages arrive only in protected records:
            // drop whatever plaintext fragments of later messages were buffered (an
            // attacker's, since a 1.3 server sends nothing after its ServerHello in epoch 0).
            self.reassembler.clear();
        }
        let v13 = self.v13.get_or_insert_with(|| Box::new(Session13::new(now)));
        for i in installs {
            v13.install(&mut self.records, i);
        }
    }

    /// Records that arrived before their keys: try them again now.
    pub(super) fn replay_early13(&mut self, now: Instant) -> Result<(), Error> {
        let Some(v13) = self.v13.as_mut() else { return Ok(()) };
        if v13.early.is_empty() {
            return Ok(());
        }
        for record in core::mem::take(&mut v13.early) {
            self.handle_datagram13(now, &record)?;
        }
        Ok(())
    }

    /// Every record of a datagram of a session that may speak 1.3, by header format.
    pub(super) fn handle_datagram13(&mut self, now: Instant, datagram: &[u8]) -> Result<(), Error> {
        if let Some(v13) = self.v13.as_mut() {
            v13.last_now = now;
        }
        let mut records = crate::wire::record::Demux::new(datagram, self.records.own_cid_len());
        while let Some(record) = records.next() {
            match record {
                crate::wire::record::Record::Dtls12 { header, body } => self.handle_record(now, header, body)?,
                crate::wire::record::Record::Unified { header, body } => {
                    let start = header.header_len();
                    let mut buf = self.pool.take(start + body.len());
                    header.encode(&mut buf);
                    buf.extend_from_slice(body);
                    let result = self.handle_unified(now, &header, buf);
                    result?;
                }
                crate::wire::record::Record::Tls12Cid { header, body } => self.handle_cid_record(now, &header, body)?,
            }
            if self.failed {
                break;
            }
            records.set_cid_len(self.records.own_cid_len());
        }
        if records.truncated() {
            self.stats.records_dropped += 1;
        }
        if let Some(v13) = self.v13.as_mut()
            && core::mem::take(&mut v13.ack_due)
            && !self.connected
            && !self.failed
        {
            self.send_ack();
        }
        Ok(())
    }

    /// One unified-header record (its bytes in `buf`, header first).
    fn handle_unified(&mut self, now: Instant, header: &UnifiedHeader<'_>, mut buf: Vec<u8>) -> Result<(), Error> {
        if self.close_received || self.failed {
            self.stats.records_dropped += 1;
            self.pool.put(buf);
            return Ok(());
        }
        let connected = self.connected;
        let Some(v13) = self.v13.as_mut() else {
            // Keys not there yet (the ServerHello was lost or reordered): keep a few.
            self.keep_early13(now, buf);
            return Ok(());
        };
        let opened = match v13.records.open(&self.records, header, &mut buf) {
            Ok(o) => o,
            Err(crate::record::protection::Discard::Epoch) if !connected => {
                self.keep_early13(now, buf);
                return Ok(());
            }
            Err(_) => {
                self.stats.records_dropped += 1;
                self.pool.put(buf);
                if v13.records.read_failures() >= INTEGRITY_LIMIT {
                    return Err(Error::Crypto("AEAD integrity limit reached"));
                }
                return Ok(());
            }
        };
        self.last_heard = now;
        self.cid_newest |= opened.newest_with_cid && self.connected;
        let result = match opened.content_type {
            ContentType::ApplicationData => {
                // docs/security.md item 2: application data only once the handshake is
                // complete, and only in an application epoch. RFC 9147 §5.8.3 lets the client
                // send it right after its Finished, so a server that has not verified that
                // Finished yet keeps a few such records for after it.
                let early = !self.connected && opened.epoch.0 >= 3 && matches!(self.role, Role::Server(..));
                if early && self.keep_early_data(buf.get(opened.content.clone()).unwrap_or_default()) {
                    // Delivered once the client's Finished verifies.
                } else if !self.connected
                    || self.close_sent
                    || opened.epoch.0 < 3
                    || self.events.len() >= self.max_queued
                {
                    self.stats.records_dropped += 1;
                } else {
                    // The content starts the buffer (`Protection13::open`).
                    buf.truncate(opened.content.end);
                    self.stats.app_bytes_received += buf.len() as u64;
                    self.stats.app_messages_received += 1;
                    self.events.push_back(Event::ApplicationData(core::mem::take(&mut buf)));
                }
                Ok(())
            }
            _ => {
                let content = buf.get(opened.content.clone()).unwrap_or_default();
                self.handle_control13(now, &opened, content)
            }
        };
        self.pool.put(buf);
        result
    }

    /// Keep one record of early application data (see `handle_unified`), within the same
    /// bounds as records held before their keys.
    fn keep_early_data(&mut self, content: &[u8]) -> bool {
        let Some(v13) = self.v13.as_mut() else { return false };
        let held: usize = v13.early_data.iter().map(Vec::len).sum();
        if v13.early_data.len() >= MAX_EARLY || held + content.len() > MAX_EARLY_BYTES {
            return false;
        }
        v13.early_data.push(content.to_vec());
        true
    }

    /// The handshake completed: deliver the application data kept for after it, after the
    /// `Connected` event.
    pub(super) fn deliver_early_data(&mut self) {
        let Some(v13) = self.v13.as_mut() else { return };
        for data in core::mem::take(&mut v13.early_data) {
            self.stats.app_bytes_received += data.len() as u64;
            self.stats.app_messages_received += 1;
            self.events.push_back(Event::ApplicationData(data));
        }
    }

    /// An opened record that is not application data: handshake, alert or ACK; any other
    /// content type is dropped. One place for both receive branches.
    pub(super) fn handle_control13(&mut self, now: Instant, opened: &Received13, content: &[u8]) -> Result<(), Error> {
        match opened.content_type {
            ContentType::Handshake => {
                let number = RecordNumber { epoch: opened.epoch.0, sequence_number: opened.sequence };
                self.handle_handshake13(now, opened.epoch, number, content)
            }
            ContentType::Alert => self.handle_alert(now, opened.epoch, content),
            ACK => self.handle_ack(now, content),
            ContentType::RETURN_ROUTABILITY_CHECK if self.connected => {
                self.handle_rrc(content);
                Ok(())
            }
            _ => {
                self.stats.records_dropped += 1;
                Ok(())
            }
        }
    }

    fn keep_early13(&mut self, now: Instant, buf: Vec<u8>) {
        let v13 = self.v13.get_or_insert_with(|| Box::new(Session13::new(now)));
        let held: usize = v13.early.iter().map(Vec::len).sum();
        if v13.early.len() < MAX_EARLY && held + buf.len() <= MAX_EARLY_BYTES && !self.connected {
            v13.early.push(buf);
        } else {
            self.stats.records_dropped += 1;
            self.pool.put(buf);
        }
    }

    /// Handshake data in a protected record: the server's flight (epoch 2), the client's
    /// last flight (epoch 2), or after the handshake KeyUpdate and NewSessionTicket.
    fn handle_handshake13(
        &mut self,
        now: Instant,
        epoch: Epoch,
        number: RecordNumber,
        plain: &[u8],
    ) -> Result<(), Error> {
        // RFC 9147 §6.1: the handshake runs in epoch 2; later messages in epoch 3 and up.
        let allowed = if self.connected { epoch.0 >= 2 } else { epoch.0 == 2 };
        if !allowed {
            self.stats.records_dropped += 1;
            return Ok(());
        }
        let mut repeated = false;
        let mut out_of_order = false;
        for fragment in parse_fragments(plain) {
            let Ok((header, data)) = fragment else {
                self.stats.records_dropped += 1;
                break;
            };
            out_of_order |= !self.reassembler.continues(&header);
            match self.reassembler.insert(&header, data) {
                Ok(Inserted::Old) => repeated = true,
                Ok(_) => {}
                Err(_) => self.stats.records_dropped += 1,
            }
        }
        if let Some(v13) = self.v13.as_mut() {
            v13.remember(number);
        }
        let was_connected = self.connected;
        let mut processed = false;
        while let Some(msg) = self.reassembler.pop() {
            processed = true;
            if self.connected {
                self.post_handshake(now, epoch, &msg)?;
            } else {
                self.handle_message(now, msg)?;
            }
            if self.failed {
                return Ok(());
            }
        }
        // RFC 9147 §7.1: acknowledge the client's last flight (server), post-handshake
        // messages, and any repeat of something already processed (our ACK was lost). The
        // server's flight needs no ACK: the client's Finished acknowledges it.
        // A repeat while our own last flight still waits for its ACK (the client's
        // Finished) means the peer lost that flight: send it again rather than an ACK.
        let completed_as_server = !was_connected && self.connected && matches!(self.role, Role::Server(..));
        if !was_connected
            && self.connected
            && matches!(self.role, Role::Client(..))
            && let Some(v13) = self.v13.as_mut()
        {
            // RFC 9147 §7.1: our Finished acknowledges the server's flight; its record
            // numbers need no ACK.
            v13.to_ack = Vec::new();
        }
        if repeated && !self.flight.is_empty() {
            self.on_peer_repeat13(now)?;
        } else if (was_connected && (processed || repeated)) || completed_as_server {
            self.send_ack();
        } else if out_of_order
            && !self.connected
            && let Some(v13) = self.v13.as_mut()
        {
            // RFC 9147 §7.1: a fragment that is not the next piece of the flight shows that
            // a record before it was lost; acknowledging what arrived (once per datagram,
            // `handle_datagram13`) lets the peer re-send just the gap at once (`handle_ack`)
            // instead of the whole flight at its timeout. Only authenticated records (epoch 2)
            // get here, so no one but the peer can trigger it.
            v13.ack_due = true;
        }
        if completed_as_server && let Some(v13) = self.v13.as_mut() {
            // Our flight is answered: its epoch-2 write key is not needed any more (the read
            // key stays, to acknowledge a repeated Finished), nor are the handshake's buffers.
            v13.records.retire_writes_below(crate::handshake::tls13::EPOCH_APPLICATION);
            v13.sent = Vec::new();
            v13.acked = Vec::new();
            self.pool.release();
        }
        Ok(())
    }

    /// After the handshake, a flight the peer never acknowledges (its ACKs lost for minutes,
    /// or an implementation that does not send them) is not re-sent for ever: after
    /// [`MAX_POST_RETRANSMITS`] times (about four minutes with the RFC timer) it is dropped.
    /// A KeyUpdate dropped so never takes effect; our records stay in the current epoch,
    /// which the peer keeps accepting.
    pub(super) fn give_up_post_handshake_flight(&mut self) -> bool {
        let connected = self.connected;
        let Some(v13) = self.v13.as_mut() else { return false };
        if !connected {
            return false;
        }
        v13.post_retransmits += 1;
        if v13.post_retransmits <= MAX_POST_RETRANSMITS {
            return false;
        }
        v13.update_pending = false;
        true
    }
}
