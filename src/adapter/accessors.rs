//! The public accessors every adapter handle shares, as macros expanded into each handle's
//! `impl` block, so that the std and tokio surfaces cannot drift apart. A macro reads only
//! what the handle already holds: it never makes a protocol decision.

/// The session-information accessors of both adapters' `UdpSession` (and of the tokio
/// session's halves): besides the address and protocol, each reads the snapshot taken when
/// the handshake completed, through the handle's own `established(|e| ..)` (a `Mutex` in
/// std, a watch channel in tokio). The handle needs a `remote: SocketAddr` field.
macro_rules! session_info_accessors {
    () => {
        /// The peer's address.
        pub fn remote_addr(&self) -> SocketAddr {
            self.remote
        }

        /// The protocol version, `"DTLSv1.2"` or `"DTLSv1.3"` (node:dtls
        /// `session.protocol`); [`PROTOCOL`](crate::adapter::PROTOCOL) before the handshake
        /// completed.
        pub fn protocol(&self) -> &'static str {
            self.established(|e| e.protocol).map_or(PROTOCOL, |v| v.name())
        }

        /// The key exchange group agreed (e.g. `X25519MLKEM768` in DTLS 1.3).
        pub fn negotiated_group(&self) -> Option<crate::NamedGroup> {
            self.established(|e| e.group)
        }

        /// The connection IDs agreed (RFC 9146, DTLS 1.2): ours, then the peer's
        /// ([`Session::connection_ids`](crate::Session::connection_ids)).
        pub fn connection_ids(&self) -> Option<(Vec<u8>, Vec<u8>)> {
            self.established(|e| e.connection_ids.clone())
        }

        /// The negotiated cipher suite (OpenSSL name, IANA name, version).
        pub fn cipher(&self) -> Option<CipherInfo> {
            self.established(|e| e.cipher)
        }

        /// The peer's leaf certificate (DER), if it sent one.
        pub fn peer_certificate(&self) -> Option<CertificateDer<'static>> {
            self.established(|e| e.peer_certificate.clone())
        }

        /// The peer's leaf certificate in PEM, if it sent one.
        pub fn peer_certificate_pem(&self) -> Option<String> {
            self.established(|e| e.peer_certificate_pem.clone())
        }

        /// The application protocol agreed through ALPN (RFC 7301).
        pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
            self.established(|e| e.alpn_protocol.clone())
        }

        /// The SRTP protection profile agreed through use_srtp (RFC 5764).
        pub fn srtp_profile(&self) -> Option<SrtpProtectionProfile> {
            self.established(|e| e.srtp_profile)
        }

        /// SRTP master keys and salts (RFC 5764 §4.2), when a profile was agreed.
        pub fn srtp_keying_material(&self) -> Option<SrtpKeyingMaterial> {
            self.established(|e| e.srtp_keying_material.clone())
        }

        /// Whether the handshake resumed an earlier session (RFC 5246 §7.3 abbreviated
        /// handshake) instead of running a full one; false before it completed.
        pub fn is_resumed(&self) -> bool {
            self.established(|e| Some(e.resumed)).unwrap_or(false)
        }
    };
}

/// The endpoint accessors and requests both adapters' `UdpEndpoint` share: each reads the
/// status the drivers publish after every batch through the adapter's own
/// `status_of(|s| ..)` (every worker's added up) or `worker_statuses()`, and sends requests
/// it needs no answer to through `request(..)` (to every worker).
macro_rules! endpoint_accessors {
    () => {
        /// The local address of the socket (of every worker's socket).
        pub fn local_addr(&self) -> SocketAddr {
            self.local_addr
        }

        /// Open, closing or closed.
        pub fn state(&self) -> EndpointState {
            self.status_of(|s| s.state)
        }

        /// A snapshot of the endpoint's statistics (updated by the driver after every batch).
        pub fn stats(&self) -> EndpointStats {
            self.status_of(|s| s.stats.clone())
        }

        /// Live sessions, as of the driver's last batch.
        pub fn session_count(&self) -> usize {
            self.status_of(|s| s.sessions)
        }

        /// Each worker's sessions, statistics and hand-offs, as of its driver's last batch
        /// (one entry for an endpoint of one worker; see
        /// [`EndpointOptions::workers`](crate::adapter::EndpointOptions::workers)).
        pub fn worker_stats(&self) -> Vec<crate::adapter::WorkerStats> {
            self.worker_statuses().iter().map(crate::adapter::WorkerStats::of).collect()
        }

        /// Whether new sessions are refused, as of the driver's last batch.
        pub fn is_busy(&self) -> bool {
            self.status_of(|s| s.busy)
        }

        /// Refuse (`true`) or accept again new sessions; existing ones are not affected. Takes
        /// effect when the driver reads it; [`is_busy`](Self::is_busy) then reports it.
        pub fn set_busy(&self, busy: bool) {
            self.request(Command::SetBusy(busy));
        }

        /// Close every session gracefully (close_notify), then stop. See
        /// [`closed`](Self::closed).
        pub fn close(&self) {
            self.request(Command::CloseEndpoint);
        }

        /// Drop every session at once, without close_notify, and stop.
        pub fn destroy(&self) {
            self.request(Command::DestroyEndpoint);
        }

        /// Allow a ClientHello from `remote` under [`crate::HelloPolicy::ApprovedOnly`]
        /// ([`crate::adapter::EndpointOptions::hello_policy`]).
        ///
        /// This is the defence against the WebRTC "DTLS ClientHello race" (OWASP ASVS 5.0
        /// V12): an attacker who learns the server's address races the real peer with its own
        /// ClientHello. The application approves only the address that ICE validated with
        /// STUN connectivity checks (the selected candidate pair's remote address) and the
        /// endpoint ignores every other one, counting it in
        /// [`EndpointStats::policy_rejections`].
        ///
        /// Sent to the driver like the other requests: it is in force for every datagram that
        /// reaches the socket after this call returns. Sessions that exist are not affected.
        /// Under [`crate::HelloPolicy::AcceptAll`] approvals are kept but change nothing.
        pub fn approve_peer(&self, remote: SocketAddr) {
            self.request(Command::ApprovePeer(remote));
        }

        /// Withdraw an approval given with [`approve_peer`](Self::approve_peer) (the ICE pair
        /// failed or was replaced, say). A session with `remote` that exists is not affected:
        /// destroy it to end it.
        pub fn revoke_peer(&self, remote: SocketAddr) {
            self.request(Command::RevokePeer(remote));
        }

        /// Server sessions whose handshake has started (after a verified cookie) and not
        /// completed, as of the driver's last batch; at most
        /// [`crate::adapter::EndpointOptions::max_half_open`].
        pub fn half_open_count(&self) -> usize {
            self.status_of(|s| s.half_open)
        }
    };
}
