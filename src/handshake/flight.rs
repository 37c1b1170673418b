//! Outgoing flights (RFC 6347 §4.2.4): the messages of one flight, each with its epoch and
//! message_seq, kept until the peer's next flight proves receipt. Sealing them into
//! datagrams is the session's (`session/pack.rs`): the handshake never touches the record
//! layer.

use crate::wire::{Epoch, HandshakeType};

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

impl Flight {
    /// True if the flight has nothing to send.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
