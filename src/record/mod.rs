//! The DTLS record layer.

pub mod replay;
