//! The DTLS 1.2 handshake: reassembly (the fragment header codec is in
//! [`crate::wire::handshake_header`]), flights, the key schedule and the
//! client and server state machines.

pub mod client;
pub mod context;
pub mod flight;
pub mod key_schedule;
pub mod output;
pub mod reassembler;
pub mod server;
pub mod tls13;
