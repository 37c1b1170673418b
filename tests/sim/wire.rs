//! Taking datagrams apart and putting them back together, for tests that tamper with what a
//! real session sent: records (cleartext headers), handshake fragments and whole messages.
//! Uses the crate's own codec types; knows nothing about keys.

use dtls_engine::AlertDescription;
use dtls_engine::internals::codec::Codec;
use dtls_engine::internals::wire::handshake_header::{HandshakeHeader, encode_fragment, parse_fragments};
use dtls_engine::internals::wire::record::{Deframer, RecordHeader};
use dtls_engine::internals::wire::{Alert, AlertLevel, ContentType, DTLS_1_2, HandshakePayload, HandshakeType};

/// One record of a datagram, body still protected if its epoch has keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub header: RecordHeader,
    pub body: Vec<u8>,
}

impl Record {
    /// A record with `body`; the header's length is set from it.
    pub fn new(content_type: ContentType, epoch: u16, sequence: u64, body: Vec<u8>) -> Self {
        let header = RecordHeader { content_type, version: DTLS_1_2, epoch, sequence, length: body.len() as u16 };
        Self { header, body }
    }

    /// The handshake fragments of a cleartext handshake record.
    pub fn fragments(&self) -> Vec<(HandshakeHeader, Vec<u8>)> {
        parse_fragments(&self.body).map_while(Result::ok).map(|(h, b)| (h, b.to_vec())).collect()
    }

    /// The first handshake type in a cleartext handshake record.
    pub fn handshake_type(&self) -> Option<HandshakeType> {
        if self.header.content_type != ContentType::Handshake || self.header.epoch != 0 {
            return None;
        }
        self.fragments().first().map(|(h, _)| h.msg_type)
    }
}

/// Split a datagram into its records.
pub fn records(datagram: &[u8]) -> Vec<Record> {
    Deframer::new(datagram).map(|(header, body)| Record { header, body: body.to_vec() }).collect()
}

/// Re-encode records into one datagram, fixing every header's length.
pub fn datagram(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        let header = RecordHeader { length: r.body.len() as u16, ..r.header };
        header.encode(&mut out);
        out.extend_from_slice(&r.body);
    }
    out
}

/// A handshake record body holding one unfragmented message.
pub fn handshake_body(msg_type: HandshakeType, message_seq: u16, body: &[u8]) -> Vec<u8> {
    let header = HandshakeHeader {
        msg_type,
        length: body.len() as u32,
        message_seq,
        fragment_offset: 0,
        fragment_length: body.len() as u32,
    };
    let mut out = Vec::new();
    encode_fragment(&header, body, &mut out);
    out
}

/// The encoded body of a handshake payload.
pub fn payload_body(payload: &HandshakePayload) -> Vec<u8> {
    let mut body = Vec::new();
    payload.encode_body(&mut body);
    body
}

/// A cleartext (epoch 0) handshake record holding one unfragmented message.
pub fn plaintext_handshake(sequence: u64, message_seq: u16, payload: &HandshakePayload) -> Record {
    let body = handshake_body(payload.msg_type(), message_seq, &payload_body(payload));
    Record::new(ContentType::Handshake, 0, sequence, body)
}

/// Cleartext alerts in a datagram (epoch 0 only).
pub fn plaintext_alerts(datagram: &[u8]) -> Vec<Alert> {
    records(datagram)
        .into_iter()
        .filter(|r| r.header.content_type == ContentType::Alert && r.header.epoch == 0)
        .filter_map(|r| Alert::read_all(&r.body).ok())
        .collect()
}

/// True if `alerts` holds a fatal alert with `description`.
pub fn has_fatal(alerts: &[Alert], description: AlertDescription) -> bool {
    alerts.iter().any(|a| a.level == AlertLevel::Fatal && a.description == description)
}
