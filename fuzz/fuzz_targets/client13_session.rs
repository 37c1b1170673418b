//! A DTLS 1.3 client session at a point of a genuine 1.3 handshake (X25519 or the
//! X25519MLKEM768 hybrid), then fuzzed datagrams and timers: unified-header records, ACKs,
//! KeyUpdates, HelloRetryRequests. Must never panic. See `scripted.rs` for the input layout.
#![no_main]

mod scripted;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| scripted::run(scripted::Role::Client13, data));
