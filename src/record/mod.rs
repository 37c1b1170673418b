//! The DTLS record layer (RFC 6347 §4.1): record protection and replay detection. The record
//! header formats it reads and writes are wire formats, in [`crate::wire::record`].

pub mod dtls13;
pub mod layer13;
pub mod protection;
pub mod replay;
