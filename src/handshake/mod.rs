//! The DTLS handshake layer.

pub mod fragment;
pub mod reassembler;
