//! Wire types: IANA registries, hello extensions, handshake message bodies, the handshake
//! fragment header ([`handshake_header`]) and the record header formats ([`record`]).

mod extensions;
pub mod handshake_header;
mod messages;
pub mod record;
mod registry;
mod rrc;
pub mod tls13;

pub use extensions::*;
pub use messages::*;
pub use record::Epoch;
pub use registry::*;
pub use rrc::{Rrc, RrcType};
// The public registries are defined in `crate::registry`; their `Codec` impls live in
// `registry` here. Re-exported crate-wide only, so that the message code and its users name
// them alongside the internal ones, and so that `internals::wire` does not publish them twice.
pub(crate) use crate::registry::{AlertDescription, CipherSuite, NamedGroup, SignatureScheme, SrtpProtectionProfile};
