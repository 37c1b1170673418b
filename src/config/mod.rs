//! Client and server configuration: validated once by a builder, then shared as `Arc`.
//! Owns every knob (suites, groups, MTU, timers, caps, certificates, verifiers, RNG seed,
//! wall clock for certificate validity); never changes after `build()`.
//!
//! `common` holds the settings both roles share and `setters` their builder methods;
//! `client` and `server` hold one role each; `cid` and `alpn` the hooks an application
//! plugs in (connection IDs of its own making, its choice of application protocol).

mod alpn;
mod cid;
mod client;
mod common;
mod server;
mod setters;

pub use alpn::{AlpnChoice, AlpnSelector};
pub(crate) use cid::CidPolicy;
pub use cid::{ConnectionIdGenerator, MAX_CID_LEN};
pub use client::{ClientConfig, ClientConfigBuilder};
pub(crate) use common::TimeSource;
pub use common::{CommonConfig, DEFAULT_GROUPS, DEFAULT_MTU, MAX_MTU, MIN_MTU};
pub use server::{
    ClientAuth, DEFAULT_SESSION_CACHE, DEFAULT_SESSION_LIFETIME, Identity, ServerConfig, ServerConfigBuilder,
};
