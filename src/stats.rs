//! Session and endpoint statistics, as node:dtls reports them. Counting only; never decides.

use std::time::Instant;

/// Counters and timestamps of one session.
//
// `repr(C)` with the four counters every received record updates first, so they share one
// cache line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(C)]
pub struct SessionStats {
    /// Datagrams received.
    pub packets_received: u64,
    /// Bytes of the datagrams received.
    pub datagram_bytes_received: u64,
    /// Application-data records received.
    pub app_messages_received: u64,
    /// Payload bytes of the application-data records received.
    pub app_bytes_received: u64,
    /// Datagrams sent.
    pub packets_sent: u64,
    /// Bytes of the datagrams sent.
    pub datagram_bytes_sent: u64,
    /// Application-data records sent.
    pub app_messages_sent: u64,
    /// Payload bytes of the application-data records sent.
    pub app_bytes_sent: u64,
    /// Flights re-sent (timer or peer repeat).
    pub handshake_retransmissions: u64,
    /// Records discarded silently (RFC 6347 §4.1.2.7): bad MAC, replay, wrong epoch,
    /// malformed, or over a cap.
    pub records_dropped: u64,
    /// When the session was created.
    pub created: Instant,
    /// When the handshake completed, if it has.
    pub handshake_completed: Option<Instant>,
    /// When close_notify was first sent or received.
    pub closing: Option<Instant>,
    /// When the session failed, or was removed from its endpoint.
    pub destroyed: Option<Instant>,
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

/// Counters and timestamps of one [`Endpoint`](crate::Endpoint) (one socket, many sessions).
///
/// Datagram counters cover everything the endpoint saw or produced: datagrams routed to
/// sessions, stateless HelloVerifyRequests and HelloRetryRequests, and datagrams dropped
/// before any session existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStats {
    /// When the endpoint was created.
    pub created: Instant,
    /// When the endpoint reached the `Closed` state (closed or destroyed).
    pub destroyed: Option<Instant>,
    /// Datagram bytes received (every datagram passed to `handle`).
    pub bytes_received: u64,
    /// Datagram bytes sent (every datagram returned by `poll_transmit`).
    pub bytes_sent: u64,
    /// Datagrams received.
    pub packets_received: u64,
    /// Datagrams sent.
    pub packets_sent: u64,
    /// Server sessions created (after a verified cookie).
    pub server_sessions: u64,
    /// Client sessions created by `connect`.
    pub client_sessions: u64,
    /// ClientHellos refused because the endpoint was busy (node:dtls `serverBusyCount`).
    pub busy_rejections: u64,
    /// ClientHellos refused because `max_sessions` sessions were live.
    pub session_limit_rejections: u64,
    /// Datagrams dropped without creating state: not a ClientHello from an unknown peer
    /// (including DTLS 1.3 protected records, RFC 9147 §4, from an unknown peer), no
    /// server configuration, endpoint closing, a DTLS 1.3 hello the server cannot answer
    /// (no common suite or group), or sent to a finished session.
    pub datagrams_dropped: u64,
    /// Stateless HelloVerifyRequests sent.
    pub hello_verify_requests_sent: u64,
    /// HelloVerifyRequests not sent because they would have been larger than the
    /// ClientHello datagram: the endpoint never sends an unverified peer more bytes than it
    /// received. Never expected to happen.
    // docs/security.md item 11.
    pub amplification_refusals: u64,
    /// Live server sessions replaced by a new handshake from the same address
    /// (RFC 6347 §4.2.8).
    pub sessions_replaced: u64,
    /// ClientHellos with a valid cookie refused because `max_half_open` server sessions
    /// were still in their handshake.
    pub half_open_rejections: u64,
    /// ClientHellos dropped because the endpoint's `HelloPolicy` does not allow their
    /// address (not approved with `approve_peer`).
    pub policy_rejections: u64,
    /// ClientHellos from unknown peers that arrived fragmented and were answered (or
    /// accepted) from their first fragment.
    pub fragmented_hellos: u64,
    /// Stateless DTLS 1.3 HelloRetryRequests sent (RFC 9147 §5.1).
    pub hello_retry_requests_sent: u64,
    /// DTLS 1.3 ClientHellos whose cookie extension did not open (forged, altered, expired
    /// or replayed from another address): dropped without state.
    pub retry_cookie_rejections: u64,
    /// Fragmented ClientHellos of unknown peers reassembled under the pre-validation
    /// budget (see `EndpointConfig::max_prevalidation_hellos`).
    pub prevalidation_reassembled: u64,
    /// ClientHello fragments the pre-validation budget refused: out of order, inconsistent
    /// with the fragments held, or a hello larger than the whole budget.
    pub prevalidation_rejections: u64,
    /// Partial ClientHellos dropped from the pre-validation budget: evicted (oldest first)
    /// to make room for a newer one, or expired.
    pub prevalidation_evictions: u64,
    /// Sessions whose peer moved to another address (RFC 9146 §6: an authentic record with
    /// the session's connection ID, newer than any before it, from the new address).
    pub address_changes: u64,
}

impl EndpointStats {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            created: now,
            destroyed: None,
            bytes_received: 0,
            bytes_sent: 0,
            packets_received: 0,
            packets_sent: 0,
            server_sessions: 0,
            client_sessions: 0,
            busy_rejections: 0,
            session_limit_rejections: 0,
            datagrams_dropped: 0,
            hello_verify_requests_sent: 0,
            amplification_refusals: 0,
            sessions_replaced: 0,
            address_changes: 0,
            half_open_rejections: 0,
            policy_rejections: 0,
            fragmented_hellos: 0,
            hello_retry_requests_sent: 0,
            retry_cookie_rejections: 0,
            prevalidation_reassembled: 0,
            prevalidation_rejections: 0,
            prevalidation_evictions: 0,
        }
    }
}
