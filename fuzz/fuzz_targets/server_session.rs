//! A server session at a point of a genuine handshake, then fuzzed datagrams and timers.
//! Must never panic. See `scripted.rs` for the input layout.
#![no_main]

mod scripted;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| scripted::run(scripted::Role::Server, data));
