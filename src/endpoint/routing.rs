//! The endpoint's receive path: a datagram from a known peer goes to its session (a new
//! ClientHello from a live session's address follows RFC 6347 §4.2.8); one from an unknown
//! peer is answered statelessly until its cookie verifies, then creates a session (DTLS 1.3
//! hellos: see `retry.rs`).

use std::net::SocketAddr;
use std::time::Instant;

use super::hello::{PeekedHello, may_be_client_hello, peek_client_hello};
use super::{
    Endpoint, EndpointEvent, EndpointState, HELLO_VERIFY_REQUEST_LEN, MAX_CLIENT_HELLO_LEN, MAX_QUEUED_STATELESS,
    RX_BUFFER_LEN, SessionHandle,
};
use crate::session::{Event, Session, Transmit};

impl Endpoint {
    /// RFC 6347 §4.2.8: "If a server receives a ClientHello at epoch 0 on a port with an
    /// existing association, it SHOULD proceed with a new handshake but MUST NOT destroy
    /// the existing association until the client has demonstrated reachability either by
    /// completing a cookie exchange or by completing a complete handshake".
    ///
    /// So for a live server session, a ClientHello at epoch 0:
    /// - with the random of the hello that created the session is a retransmission and goes
    ///   to the session (which re-sends its flight);
    /// - with another random and no valid cookie gets a stateless HelloVerifyRequest, and
    ///   the live session is untouched (a spoofed hello cannot harm it);
    /// - with another random and a valid cookie replaces the session.
    ///
    /// Routing cookie-less hellos to the session instead would leave a restarted client
    /// (same address and port) without an answer until the old session timed out.
    ///
    /// A DTLS 1.3 hello with another random takes the stateless HelloRetryRequest path
    /// instead (`retry.rs`): the live session is replaced only once the second hello's
    /// cookie opens, and a restart hello's later fragments go to the pre-validation budget.
    pub(super) fn handle_known(&mut self, now: Instant, h: SessionHandle, remote: SocketAddr, datagram: &[u8]) {
        if may_be_client_hello(datagram)
            && let Some(old_random) = self.sessions.get(h).and_then(|e| e.hello_random)
        {
            let peeked = peek_client_hello(datagram, self.max_hello_len());
            let restart = match &peeked {
                Some(p) => p.random != old_random,
                None => self.prevalidation.holds(remote),
            };
            if restart
                && self.prevalidates()
                && self.state == EndpointState::Open
                && self.handle_unknown13(now, remote, datagram)
            {
                return;
            }
            if let Some(peeked) = peeked.filter(|p| p.random != old_random) {
                self.known_hello12(now, h, remote, &peeked, datagram);
                return;
            }
        }
        self.feed(now, h, datagram);
    }

    /// A DTLS 1.2 ClientHello with a new random from the address of live session `h`.
    fn known_hello12(
        &mut self,
        now: Instant,
        h: SessionHandle,
        remote: SocketAddr,
        peeked: &PeekedHello<'_>,
        datagram: &[u8],
    ) {
        let validated = self.cookies.as_ref().and_then(|c| c.verify(remote, peeked));
        if !self.may_send_hello(remote) {
            self.stats.policy_rejections += 1;
        } else if validated.is_none() {
            self.send_hello_verify_request(remote, peeked, datagram.len());
        } else if self.state != EndpointState::Open {
            self.stats.datagrams_dropped += 1;
        } else if self.busy {
            self.stats.busy_rejections += 1;
        } else {
            self.remove(h);
            self.stats.sessions_replaced += 1;
            self.accept(now, remote, validated, peeked, datagram);
        }
    }

    /// The largest ClientHello accepted (see [`MAX_CLIENT_HELLO_LEN`]).
    pub(super) fn max_hello_len(&self) -> usize {
        self.config.server.as_ref().map_or(0, |s| s.common.max_message_len.min(MAX_CLIENT_HELLO_LEN))
    }

    pub(super) fn handle_unknown(&mut self, now: Instant, remote: SocketAddr, datagram: &[u8]) {
        let Some(server) = self.config.server.as_ref() else {
            self.stats.datagrams_dropped += 1;
            return;
        };
        let cookie_exchange = server.cookie;
        // RFC 9147 §4: a first byte of 0b001xxxxx is a DTLS 1.3 ciphertext record (unified
        // header); an unknown peer has no keys, so there is nothing to open it with.
        if datagram.first().is_some_and(|b| b & 0xe0 == 0x20) || self.state != EndpointState::Open {
            self.stats.datagrams_dropped += 1;
            return;
        }
        // DTLS 1.3 hellos are validated with a HelloRetryRequest (retry.rs).
        if self.prevalidates() && self.handle_unknown13(now, remote, datagram) {
            return;
        }
        // Anything but a ClientHello (or its first fragment) from an unknown peer is
        // dropped, with no state.
        let Some(peeked) = peek_client_hello(datagram, self.max_hello_len()) else {
            self.stats.datagrams_dropped += 1;
            return;
        };
        if !self.admits_hello(remote) {
            return;
        }
        if peeked.fragmented {
            self.stats.fragmented_hellos += 1;
        }
        let validated = self.cookies.as_ref().and_then(|c| c.verify(remote, &peeked));
        if validated.is_some() || !cookie_exchange {
            self.accept(now, remote, validated, &peeked, datagram);
        } else {
            self.send_hello_verify_request(remote, &peeked, datagram.len());
        }
    }

    /// Whether a ClientHello from `remote`, an unknown peer, may start a handshake now: its
    /// address is allowed by the hello policy, the endpoint is not busy, and fewer than
    /// `max_sessions` sessions exist. A refusal is counted.
    pub(super) fn admits_hello(&mut self, remote: SocketAddr) -> bool {
        if !self.may_send_hello(remote) {
            self.stats.policy_rejections += 1;
            return false;
        }
        if self.busy {
            self.stats.busy_rejections += 1;
            return false;
        }
        // A hello from a live session's address would replace that session.
        if self.sessions.len() - usize::from(self.by_addr.contains_key(&remote)) >= self.config.max_sessions {
            self.stats.session_limit_rejections += 1;
            return false;
        }
        true
    }

    /// Create a server session for a ClientHello whose cookie verified (or, with the cookie
    /// exchange switched off in the server configuration, for any ClientHello), unless
    /// `max_half_open` sessions are already in their handshake. The session is fed the
    /// datagram; when it held only the hello's first fragment, the session reassembles the
    /// rest from the peer's next datagrams under its configuration's reassembly caps.
    pub(super) fn accept(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        validated: Option<crate::cookie::AddressValidated>,
        peeked: &PeekedHello<'_>,
        datagram: &[u8],
    ) {
        let Some(server) = self.config.server.clone() else { return };
        if self.half_open >= self.config.max_half_open {
            self.stats.half_open_rejections += 1;
            return;
        }
        let session = match validated {
            Some(proof) => Session::server_after_cookie(now, server, proof, peeked.message_seq, peeked.record_seq),
            None => Session::server(now, server, remote),
        };
        let h = self.insert(session, Some(peeked.random));
        self.stats.server_sessions += 1;
        self.events.push_back((h, EndpointEvent::Accepted));
        self.feed(now, h, datagram);
    }

    pub(super) fn send_hello_verify_request(&mut self, remote: SocketAddr, peeked: &PeekedHello<'_>, hello_len: usize) {
        let Some(cookies) = self.cookies.as_ref() else {
            self.stats.datagrams_dropped += 1;
            return;
        };
        if self.stateless.len() >= MAX_QUEUED_STATELESS {
            self.stats.datagrams_dropped += 1;
            return;
        }
        let mut contents = self.stateless_pool.take(HELLO_VERIFY_REQUEST_LEN);
        cookies.hello_verify_request(remote, peeked, &mut contents);
        // docs/security.md item 11: never answer with more bytes than the ClientHello had.
        if contents.len() > hello_len {
            self.stats.amplification_refusals += 1;
            self.stateless_pool.put(contents);
            return;
        }
        self.stats.hello_verify_requests_sent += 1;
        self.stateless.push_back(Transmit { destination: remote, contents });
    }

    pub(super) fn feed(&mut self, now: Instant, h: SessionHandle, datagram: &[u8]) {
        let Some(e) = self.sessions.get_mut(h) else { return };
        if e.ended {
            self.stats.datagrams_dropped += 1;
            return;
        }
        let mut buf = self.rx_pool.take(datagram.len().max(RX_BUFFER_LEN));
        buf.extend_from_slice(datagram);
        let result = e.session.handle_in_place(now, &mut buf);
        // Taken as a payload: `buf` is empty and unallocated, and the pool ignores it.
        self.rx_pool.put(buf);
        match result {
            Ok(None) => {}
            // The record's payload goes straight to the endpoint's queue when the session has
            // no older event waiting (it never has, unless the application queued one through
            // `session_mut`), sparing a visit to the session's own queue.
            Ok(Some(payload)) if !e.session.has_events() => {
                self.events.push_back((h, EndpointEvent::Session(Event::ApplicationData(payload))));
            }
            Ok(Some(payload)) => e.session.push_application_data(payload),
            Err(err) => {
                e.ended = true;
                self.events.push_back((h, EndpointEvent::Failed(err)));
            }
        }
        self.settle(h);
    }
}
