//! Sealing a flight into datagrams (RFC 6347 §4.1.1, §4.2.3, §4.2.4): every item becomes
//! one or more records, several records share a datagram up to the MTU, messages are split
//! into fragments where needed, and every emission seals afresh, so a retransmission
//! carries new record sequence numbers. Never decides *when* to send.

// Fresh sequence numbers on retransmission: docs/security.md item 6.

use std::collections::VecDeque;

use crate::codec::Codec;
use crate::error::Error;
use crate::handshake::flight::{Flight, FlightItem};
use crate::pool::BufferPool;
use crate::record::protection::RecordLayer;
use crate::session::tls13::Session13;
use crate::wire::handshake_header::{HANDSHAKE_HEADER_LEN, HandshakeHeader};
use crate::wire::tls13::RecordNumber;
use crate::wire::{ContentType, Epoch};

// Do not start a fragment with fewer body bytes than this unless it finishes the message:
// a new datagram costs less than many tiny fragments.
const MIN_FRAGMENT: usize = 64;

/// Seal every item into records and pack them into as few datagrams of at most `mtu`
/// bytes as the MTU allows (RFC 6347 §4.1.1: several records per datagram;
/// §4.2.3: fragments sized to the path MTU). Buffers come from `pool` when it has any.
pub(super) fn pack_flight(
    flight: &Flight,
    records: &mut RecordLayer,
    mut v13: Option<&mut Session13>,
    mtu: usize,
    pool: &mut BufferPool,
    out: &mut VecDeque<Vec<u8>>,
) -> Result<(), Error> {
    let mut dgram = pool.take(mtu);
    let mut payload = pool.take(mtu);
    if let Some(v13) = v13.as_deref_mut() {
        v13.begin_emission();
    }
    let result = pack_into(flight, records, v13, mtu, pool, out, &mut dgram, &mut payload);
    pool.put(payload);
    if result.is_ok() && !dgram.is_empty() {
        out.push_back(dgram);
    } else {
        pool.put(dgram);
    }
    result
}

/// [`pack_flight`] with its two working buffers; the last datagram is left in `dgram`.
#[allow(clippy::too_many_arguments)]
fn pack_into(
    flight: &Flight,
    records: &mut RecordLayer,
    mut v13: Option<&mut Session13>,
    mtu: usize,
    pool: &mut BufferPool,
    out: &mut VecDeque<Vec<u8>>,
    dgram: &mut Vec<u8>,
    payload: &mut Vec<u8>,
) -> Result<(), Error> {
    // RFC 9147 §7.2: on retransmission, only what the peer did not acknowledge.
    let acked = |v13: &Option<&mut Session13>, i: usize| v13.as_ref().is_some_and(|v| v.is_acked(i));
    for (index, item) in flight.items.iter().enumerate() {
        if acked(&v13, index) {
            continue;
        }
        match item {
            FlightItem::ChangeCipherSpec => {
                if dgram.len() + records.overhead(Epoch::PLAINTEXT) + 1 > mtu {
                    out.push_back(core::mem::replace(dgram, pool.take(mtu)));
                }
                records.seal(Epoch::PLAINTEXT, ContentType::ChangeCipherSpec, &[1], dgram)?;
            }
            FlightItem::Message { epoch, msg_type, message_seq, body } => {
                // DTLS 1.3's protected epochs are sealed by its own record layer.
                let protected13 = v13.as_ref().is_some_and(|v| v.records.can_write(*epoch));
                // A message of a later epoch follows our ChangeCipherSpec: from here on
                // our records use that epoch (RFC 6347 §4.1). On retransmission the
                // epoch is current already and nothing changes.
                if !protected13 && *epoch > records.write_epoch() {
                    records.set_write_epoch(*epoch);
                }
                let record_overhead = match &v13 {
                    Some(v) if protected13 => v.records.overhead(records),
                    _ => records.overhead(*epoch),
                };
                let overhead = record_overhead + HANDSHAKE_HEADER_LEN;
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
                    match v13.as_deref_mut() {
                        Some(v) if protected13 => {
                            let seq = v.records.seal(records, *epoch, ContentType::Handshake, payload, dgram)?;
                            v.track(RecordNumber { epoch: epoch.0, sequence_number: seq }, index);
                        }
                        _ => records.seal(*epoch, ContentType::Handshake, payload, dgram)?,
                    }
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
