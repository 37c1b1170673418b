//! Negotiation of the optional extensions: use_srtp (RFC 5764, RFC 7714) and ALPN
//! (RFC 7301). The wire encodings live in `wire::extensions`; this module only decides.

pub mod alpn;
pub mod srtp;
