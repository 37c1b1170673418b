//! Shared harness for the integration tests that talk to real peers over loopback.
//!
//! - [`certs`]: a throw-away PKI made with the `openssl` CLI, once per test binary.
//! - [`openssl`]: spawns `openssl s_server` / `s_client` and watches what they print.
//! - [`udp`]: runs one engine `Session` over a loopback `UdpSocket`.
//!
//! [`certs`] and [`openssl`] do not depend on the engine, so `harness_selftest.rs` includes
//! them by path and checks them on their own (OpenSSL against OpenSSL).
//!
//! Everything here sends to 127.0.0.1 only.

#![allow(dead_code)]

pub mod certs;
pub mod openssl;
pub mod udp;
