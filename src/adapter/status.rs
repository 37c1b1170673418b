//! What a session handle knows about its session without asking the driver: the snapshot
//! of session information taken when the handshake completed ([`Established`]) and the
//! session's life ([`Status`]), plus the one question it must ask, keying material export
//! ([`ExportRequest`]). The driver publishes; handles only read.

use super::AdapterError;

/// What an application may ask about an established session, captured when the handshake
/// completed (all of it is fixed from then on). Exporting keying material for other labels
/// needs the master secret, which stays in the driver: the handles ask it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Established {
    pub protocol: Option<crate::ProtocolVersion>,
    pub group: Option<crate::NamedGroup>,
    pub cipher: Option<crate::CipherInfo>,
    pub peer_certificate: Option<crate::CertificateDer<'static>>,
    pub peer_certificate_pem: Option<String>,
    pub alpn_protocol: Option<Vec<u8>>,
    pub srtp_profile: Option<crate::SrtpProtectionProfile>,
    pub srtp_keying_material: Option<crate::SrtpKeyingMaterial>,
    pub resumed: bool,
    /// The connection IDs agreed (ours, the peer's), RFC 9146.
    pub connection_ids: Option<(Vec<u8>, Vec<u8>)>,
}

impl Established {
    pub(crate) fn of(s: &crate::Session) -> Self {
        Self {
            protocol: s.protocol_version(),
            group: s.negotiated_group(),
            cipher: s.cipher(),
            peer_certificate: s.peer_certificates().and_then(|c| c.first().cloned()),
            peer_certificate_pem: s.peer_certificate_pem(),
            alpn_protocol: s.alpn_protocol().map(<[u8]>::to_vec),
            srtp_profile: s.srtp_profile(),
            srtp_keying_material: s.srtp_keying_material().ok(),
            resumed: s.is_resumed(),
            connection_ids: s.connection_ids().map(|(o, p)| (o.to_vec(), p.to_vec())),
        }
    }
}

/// A request to export keying material (RFC 5705), answered by the driver.
#[derive(Debug)]
pub(crate) struct ExportRequest {
    pub len: usize,
    pub label: Vec<u8>,
    pub context: Option<Vec<u8>>,
}

impl ExportRequest {
    pub(crate) fn new(len: usize, label: &[u8], context: Option<&[u8]>) -> Self {
        Self { len, label: label.to_vec(), context: context.map(<[u8]>::to_vec) }
    }

    /// Run the export against the live session (the driver side).
    pub(crate) fn run(&self, session: Option<&crate::Session>) -> Result<Vec<u8>, AdapterError> {
        let s = session.ok_or(AdapterError::Closed)?;
        let mut out = vec![0u8; self.len];
        s.export_keying_material(&mut out, &self.label, self.context.as_deref())?;
        Ok(out)
    }
}

/// Where a session is in its life, as the handles see it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Status {
    pub established: Option<Established>,
    pub error: Option<crate::Error>,
    /// Final statistics, once the session was destroyed.
    pub final_stats: Option<crate::SessionStats>,
}
