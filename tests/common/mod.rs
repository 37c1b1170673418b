//! Shared harness for the integration tests that talk to real peers over loopback.
//!
//! - [`certs`]: a throw-away PKI made with the `openssl` CLI, once per test binary.
//! - [`openssl`]: spawns `openssl s_server` / `s_client` and watches what they print.
//! - [`udp`]: runs one engine `Session` over a loopback `UdpSocket`.
//! - [`gnutls`]: spawns `gnutls-cli` / `gnutls-serv` (DTLS 1.2) with the same process wrapper.
//! - [`keylog`]: our key log lines in memory, to compare with a peer's key log file.
//! - [`status`]: the peers' `connected key=value` and `listening` lines, transcripts.
//! - [`nginx`]: nginx as the UDP load balancer (the config of `deploy/nginx`), and UDP
//!   sockets standing in for backends.
//! - [`netns`]: re-runs one test case inside a private network namespace (`unshare --net --pid`),
//!   for `gnutls-serv`, which binds every interface.
//!
//! [`certs`] and [`openssl`] do not depend on the engine, so `harness_selftest.rs` includes
//! them by path and checks them on their own (OpenSSL against OpenSSL).
//!
//! Everything here sends to 127.0.0.1 only (inside a private namespace, its own 127.0.0.1).

#![allow(dead_code)]

pub mod certs;
pub mod gnutls;
pub mod keylog;
pub mod netns;
pub mod nginx;
pub mod openssl;
pub mod status;
pub mod udp;
