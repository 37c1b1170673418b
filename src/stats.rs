//! Per-session statistics, as node:dtls reports them. Counting only; never decides.

use std::time::Instant;

/// Counters and timestamps of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStats {
    pub created: Instant,
    pub handshake_completed: Option<Instant>,
    pub closing: Option<Instant>,
    pub destroyed: Option<Instant>,
    /// Application payload bytes sent / received.
    pub app_bytes_sent: u64,
    pub app_bytes_received: u64,
    /// Application records sent / received.
    pub app_messages_sent: u64,
    pub app_messages_received: u64,
    /// Datagrams and their bytes, both directions.
    pub packets_sent: u64,
    pub packets_received: u64,
    pub datagram_bytes_sent: u64,
    pub datagram_bytes_received: u64,
    /// Flights re-sent (timer or peer repeat).
    pub handshake_retransmissions: u64,
    /// Records discarded silently (RFC 6347 §4.1.2.7): bad MAC, replay, wrong epoch,
    /// malformed, or over a cap.
    pub records_dropped: u64,
}

impl SessionStats {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            created: now,
            handshake_completed: None,
            closing: None,
            destroyed: None,
            app_bytes_sent: 0,
            app_bytes_received: 0,
            app_messages_sent: 0,
            app_messages_received: 0,
            packets_sent: 0,
            packets_received: 0,
            datagram_bytes_sent: 0,
            datagram_bytes_received: 0,
            handshake_retransmissions: 0,
            records_dropped: 0,
        }
    }
}
