//! The DTLS record layer (RFC 6347 §4.1).

pub mod header;
pub mod protection;
pub mod replay;
