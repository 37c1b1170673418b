//! Negotiation of the optional extensions: use_srtp (RFC 5764, RFC 7714) and ALPN
//! (RFC 7301), and the return routability check's `rrc` (RFC 9853). The wire encodings live in `wire::extensions`; this module only decides.

pub mod alpn;
pub mod rrc;
pub mod srtp;
