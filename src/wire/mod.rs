//! Wire types: IANA registries, hello extensions and handshake message bodies.

mod extensions;
mod messages;
mod record;
mod registry;

pub use extensions::*;
pub use messages::*;
pub use record::*;
pub use registry::*;
