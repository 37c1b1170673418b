//! What a session negotiated and reports: connection state, suite, group, certificates,
//! ALPN, SRTP, keying material exporters and statistics. Read-only views of the session;
//! nothing here changes it.

use std::net::SocketAddr;

use rustls_pki_types::CertificateDer;

use super::{CipherInfo, Session};
use crate::error::Error;
use crate::exporter;
use crate::extensions::srtp::{self, SrtpKeyingMaterial};
use crate::registry::ProtocolVersion;
use crate::stats::SessionStats;
use crate::wire::{CipherSuite, NamedGroup, SrtpProtectionProfile};

impl Session {
    /// True once the handshake completed.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// True once the session can carry no more data: we sent close_notify, the peer did,
    /// or a fatal error occurred.
    pub fn is_closed(&self) -> bool {
        self.close_sent || self.close_received || self.failed
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.ctx.peer
    }

    /// The negotiated cipher suite.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.ctx.info.suite.map(|s| s.suite).or(self.ctx.info.suite13.map(|s| s.suite))
    }

    /// The negotiated protocol version, once the ServerHello chose it.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        match (self.ctx.info.suite13, self.ctx.info.suite) {
            (Some(_), _) => Some(ProtocolVersion::Dtls13),
            (None, Some(_)) => Some(ProtocolVersion::Dtls12),
            (None, None) => None,
        }
    }

    /// The negotiated key exchange group.
    pub fn negotiated_group(&self) -> Option<NamedGroup> {
        self.ctx.info.group
    }

    /// The signature scheme the peer signed its key exchange (DTLS 1.2 ServerKeyExchange) or
    /// its CertificateVerify with, once verified.
    pub fn peer_signature_scheme(&self) -> Option<crate::registry::SignatureScheme> {
        self.ctx.info.peer_signature_scheme
    }

    /// The peer's certificate chain (leaf first), once verified.
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.ctx.info.peer_chain.as_deref()
    }

    /// The server name the client asked for (server side) or sent (client side).
    pub fn server_name(&self) -> Option<&str> {
        self.ctx.info.server_name.as_deref()
    }

    /// The session ID of the ServerHello: what names this session for resumption by ID
    /// (RFC 5246 §7.4.1.3). Empty when the server keeps no session cache, or issued a
    /// session ticket instead (RFC 5077). On a server, non-empty exactly when the session is
    /// in its cache.
    pub fn session_id(&self) -> &[u8] {
        &self.ctx.info.session_id
    }

    /// Client: whether the server sent a NewSessionTicket (RFC 5077 §3.3) in this
    /// handshake; after an abbreviated handshake, whether it renewed the ticket.
    pub fn new_ticket_received(&self) -> bool {
        self.ctx.info.ticket_received
    }

    /// The connection IDs agreed in the handshake (RFC 9146, DTLS 1.2): `(ours, the peer's)`:
    /// the peer puts ours in the records it sends us, we put its in ours (either may be
    /// empty: no CID in that direction). `None` when none was negotiated.
    pub fn connection_ids(&self) -> Option<(&[u8], &[u8])> {
        self.ctx.info.cids.as_ref().map(|c| (c.own.as_slice(), c.peer.as_slice()))
    }

    /// Whether the handshake resumed an earlier session (RFC 5246 §7.3 abbreviated
    /// handshake, by session ID or RFC 5077 ticket) instead of running a full one.
    pub fn is_resumed(&self) -> bool {
        self.ctx.info.resumed
    }

    /// Whether the extended master secret (RFC 7627) was negotiated.
    pub fn extended_master_secret(&self) -> bool {
        self.ctx.info.extended_master_secret
    }

    /// The protocol version as node:dtls names it: `DTLSv1.2` or `DTLSv1.3` (`DTLSv1.2`
    /// before the ServerHello, the only version a 1.2-only configuration can reach).
    pub fn protocol(&self) -> &'static str {
        self.protocol_version().unwrap_or(ProtocolVersion::Dtls12).name()
    }

    /// The negotiated cipher, named as OpenSSL and IANA name it (DTLS 1.3 suites have
    /// one name, the IANA one).
    pub fn cipher(&self) -> Option<CipherInfo> {
        if let Some(s) = self.ctx.info.suite13 {
            return Some(CipherInfo { name: s.iana_name, standard_name: s.iana_name, version: "DTLSv1.3" });
        }
        self.ctx.info.suite.map(|s| CipherInfo {
            name: s.openssl_name,
            standard_name: s.iana_name,
            version: "DTLSv1.2",
        })
    }

    /// The peer's leaf certificate in PEM, once verified.
    pub fn peer_certificate_pem(&self) -> Option<String> {
        let leaf = self.ctx.info.peer_chain.as_ref()?.first()?;
        Some(crate::crypto::pem::encode("CERTIFICATE", leaf.as_ref()))
    }

    /// The application protocol agreed through ALPN (RFC 7301).
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.ctx.info.alpn_protocol.as_deref()
    }

    /// The SRTP protection profile agreed through use_srtp (RFC 5764).
    pub fn srtp_profile(&self) -> Option<SrtpProtectionProfile> {
        self.ctx.info.srtp_profile
    }

    /// The MKI agreed for SRTP (empty when none is used).
    pub fn srtp_mki(&self) -> &[u8] {
        &self.ctx.info.srtp_mki
    }

    /// SRTP master keys and salts (RFC 5764 §4.2), exported with `EXTRACTOR-dtls_srtp`.
    /// [`Error::HandshakeNotComplete`] before the handshake completes, and
    /// [`Error::SrtpNotNegotiated`] when it agreed no SRTP profile; neither is fatal.
    pub fn srtp_keying_material(&self) -> Result<SrtpKeyingMaterial, Error> {
        if !self.connected {
            return Err(Error::HandshakeNotComplete);
        }
        let profile = self.ctx.info.srtp_profile.ok_or(Error::SrtpNotNegotiated)?;
        let (k, s) = srtp::key_salt_len(profile).ok_or(Error::ExporterRefused)?;
        let mut material = zeroize::Zeroizing::new(vec![0u8; 2 * (k + s)]);
        self.export_keying_material(&mut material, srtp::EXPORTER_LABEL, None)?;
        SrtpKeyingMaterial::split(profile, &material).ok_or(Error::ExporterRefused)
    }

    /// Fill `out` with keying material (RFC 5705) for `label` and an optional `context`.
    /// Refused before the handshake completes and for the labels TLS itself uses.
    /// In DTLS 1.3 this is the RFC 8446 §7.5 exporter (where an absent and an empty context
    /// give the same bytes).
    pub fn export_keying_material(&self, out: &mut [u8], label: &[u8], context: Option<&[u8]>) -> Result<(), Error> {
        if let Some(secrets) = self.v13.as_ref().and_then(|v| v.secrets.as_ref()) {
            if !self.connected {
                return Err(Error::HandshakeNotComplete);
            }
            return exporter::export13(&secrets.exporter, label, context, out);
        }
        let master = match (&self.ctx.info.master, self.connected) {
            (Some(m), true) => m,
            _ => return Err(Error::HandshakeNotComplete),
        };
        exporter::export(master, &self.ctx.info.client_random, &self.ctx.info.server_random, label, context, out)
    }

    /// Statistics of this session.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }
}
