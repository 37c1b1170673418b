//! Wire types: IANA registries and handshake message structures.

mod registry;
pub use registry::*;
