//! The DTLS 1.2 handshake: fragmentation and reassembly, flights, the key schedule and the
//! client and server state machines.

pub mod client;
pub mod context;
pub mod flight;
pub mod fragment;
pub mod key_schedule;
pub mod output;
pub mod reassembler;
pub mod server;
