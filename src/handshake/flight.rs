//! Outgoing flights (RFC 6347 §4.2.4): the messages of one flight, kept until the peer's
//! next flight proves receipt, and their packing into datagrams no larger than the MTU.
//! Every emission seals the records afresh, so a retransmission carries new sequence
//! numbers (RFC 6347 §4.2.4). Never decides *when* to send.

// Fresh sequence numbers on retransmission: docs/security.md item 6.

use std::collections::VecDeque;

use crate::codec::Codec;
use crate::error::Error;
use crate::pool::BufferPool;
use crate::record::protection::RecordLayer;
use crate::wire::handshake_header::{HANDSHAKE_HEADER_LEN, HandshakeHeader};
use crate::wire::{ContentType, Epoch, HandshakeType};

/// One element of a flight.
#[derive(Debug, Clone)]
pub enum FlightItem {
    /// A handshake message, sent in `epoch`.
    Message { epoch: Epoch, msg_type: HandshakeType, message_seq: u16, body: Vec<u8> },
    /// A ChangeCipherSpec (always epoch 0, RFC 6347 §4.1); later items use the next epoch.
    ChangeCipherSpec,
}

/// A flight of handshake messages.
#[derive(Debug, Clone, Default)]
pub struct Flight {
    pub items: Vec<FlightItem>,
}

// Do not start a fragment with fewer body bytes than this unless it finishes the message:
// a new datagram costs less than many tiny fragments.
const MIN_FRAGMENT: usize = 64;

impl Flight {
    /// True if the flight has nothing to send.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Seal every item into records and pack them into as few datagrams of at most `mtu`
    /// bytes as the MTU allows (RFC 6347 §4.1.1: several records per datagram;
    /// §4.2.3: fragments sized to the path MTU). Buffers come from `pool` when it has any.
    pub fn emit(
        &self,
        records: &mut RecordLayer,
        mtu: usize,
        pool: &mut BufferPool,
        out: &mut VecDeque<Vec<u8>>,
    ) -> Result<(), Error> {
        let mut dgram = pool.take(mtu);
        let mut payload = pool.take(mtu);
        let result = self.emit_into(records, mtu, pool, out, &mut dgram, &mut payload);
        pool.put(payload);
        if result.is_ok() && !dgram.is_empty() {
            out.push_back(dgram);
        } else {
            pool.put(dgram);
        }
        result
    }

    /// [`Flight::emit`] with its two working buffers; the last datagram is left in `dgram`.
    fn emit_into(
        &self,
        records: &mut RecordLayer,
        mtu: usize,
        pool: &mut BufferPool,
        out: &mut VecDeque<Vec<u8>>,
        dgram: &mut Vec<u8>,
        payload: &mut Vec<u8>,
    ) -> Result<(), Error> {
        for item in &self.items {
            match item {
                FlightItem::ChangeCipherSpec => {
                    if dgram.len() + records.overhead(Epoch::PLAINTEXT) + 1 > mtu {
                        out.push_back(core::mem::replace(dgram, pool.take(mtu)));
                    }
                    records.seal(Epoch::PLAINTEXT, ContentType::ChangeCipherSpec, &[1], dgram)?;
                }
                FlightItem::Message { epoch, msg_type, message_seq, body } => {
                    // A message of a later epoch follows our ChangeCipherSpec: from here on
                    // our records use that epoch (RFC 6347 §4.1). On retransmission the
                    // epoch is current already and nothing changes.
                    if *epoch > records.write_epoch() {
                        records.set_write_epoch(*epoch);
                    }
                    let overhead = records.overhead(*epoch) + HANDSHAKE_HEADER_LEN;
                    let mut offset = 0usize;
                    loop {
                        let remaining = body.len() - offset;
                        let mut space = mtu.saturating_sub(dgram.len() + overhead);
                        if space < remaining.clamp(1, MIN_FRAGMENT) && !dgram.is_empty() {
                            out.push_back(core::mem::replace(dgram, pool.take(mtu)));
                            space = mtu.saturating_sub(overhead);
                        }
                        if space == 0 {
                            return Err(Error::InvalidConfig("MTU too small for a handshake fragment".into()));
                        }
                        let n = remaining.min(space);
                        // RFC 6347 §4.2.3: each fragment repeats the message header with its
                        // own fragment_offset and fragment_length.
                        let header = HandshakeHeader {
                            msg_type: *msg_type,
                            length: body.len() as u32,
                            message_seq: *message_seq,
                            fragment_offset: offset as u32,
                            fragment_length: n as u32,
                        };
                        payload.clear();
                        header.encode(payload);
                        payload.extend_from_slice(body.get(offset..offset + n).unwrap_or_default());
                        records.seal(*epoch, ContentType::Handshake, payload, dgram)?;
                        offset += n;
                        if offset >= body.len() {
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
