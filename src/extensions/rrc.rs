//! The `rrc` extension (RFC 9853 §3): negotiated alongside connection IDs, empty both ways.

use crate::wire::{Extension, ExtensionType};

/// The server's decision, with connection IDs already agreed: answer the client's `rrc`
/// extension (adding ours to `answer`) when this side uses the check. True when both do.
pub fn answer(enabled: bool, client: &[Extension], answer: &mut Vec<Extension>) -> bool {
    let offered = client.iter().any(|e| e.ext_type() == ExtensionType::RRC);
    if enabled && offered {
        answer.push(Extension::Unknown { typ: ExtensionType::RRC, data: Vec::new() });
    }
    enabled && offered
}
