//! The RFC 5705 keying material exporter. Refuses the labels the TLS key schedule itself
//! uses, so exported bytes can never equal a secret of the session.

use crate::error::Error;
use crate::handshake::key_schedule::MasterSecret;

// RFC 5705 §4: labels used by the TLS PRF itself are reserved; RFC 7627 adds
// "extended master secret".
const RESERVED_LABELS: &[&[u8]] =
    &[b"client finished", b"server finished", b"master secret", b"key expansion", b"extended master secret"];

/// Fill `out` with keying material for `label` and the optional `context`.
pub fn export(
    master: &MasterSecret,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    label: &[u8],
    context: Option<&[u8]>,
    out: &mut [u8],
) -> Result<(), Error> {
    if RESERVED_LABELS.contains(&label) {
        return Err(Error::ExporterRefused);
    }
    // RFC 5705 §4: the context length is a uint16.
    if context.is_some_and(|c| c.len() > usize::from(u16::MAX)) {
        return Err(Error::ExporterRefused);
    }
    master.export(label, client_random, server_random, context, out);
    Ok(())
}

/// The DTLS 1.3 exporter (RFC 8446 §7.5 with RFC 9147's labels) from the exporter master
/// secret. The 1.3 key schedule derives nothing with an application's label, but the labels
/// RFC 5705 reserves are refused here too, so an application sees one rule in both versions.
pub fn export13(
    exporter_master: &crate::crypto::tls13::Secret,
    label: &[u8],
    context: Option<&[u8]>,
    out: &mut [u8],
) -> Result<(), Error> {
    if RESERVED_LABELS.contains(&label) || context.is_some_and(|c| c.len() > usize::from(u16::MAX)) || label.len() > 249
    {
        return Err(Error::ExporterRefused);
    }
    crate::crypto::tls13::export(
        crate::crypto::tls13::LabelPrefix::Dtls13,
        exporter_master,
        label,
        context.unwrap_or_default(),
        out,
    )
}
