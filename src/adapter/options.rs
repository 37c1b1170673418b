//! [`EndpointOptions`]: the settings of an adapter's endpoint besides the server
//! configuration, and their translation into the sans-IO core's [`EndpointConfig`]. Owns no
//! socket and no session.

use std::time::Duration;

use crate::endpoint::{EndpointConfig, HelloPolicy};

/// Most workers on one address ([`EndpointOptions::workers`]): the worker byte of a
/// connection ID tells 256 apart.
pub const MAX_WORKERS: usize = 256;

/// Random bytes a worker's connection ID keeps at least, after the configured prefix and the
/// worker byte ([`EndpointOptions::workers`]): the sessions' CIDs are told apart by them.
pub const MIN_RANDOM_CID_BYTES: usize = 4;

/// Endpoint settings besides the server configuration (see [`EndpointConfig`]).
#[derive(Debug, Clone)]
pub struct EndpointOptions {
    /// Most live sessions.
    pub max_sessions: usize,
    /// Cookie secret rotation period.
    pub cookie_rotation: Duration,
    /// How long a closing session waits for the peer's close_notify.
    pub close_linger: Duration,
    /// Seed for the cookie secrets (tests).
    pub rng_seed: Option<[u8; 32]>,
    /// Application records buffered per session before new ones are dropped, as a slow
    /// reader of a UDP socket would lose them.
    pub receive_queue: usize,
    /// Most server sessions in their handshake at once (see
    /// [`EndpointConfig::max_half_open`]); further ClientHellos are refused and counted in
    /// [`crate::EndpointStats::half_open_rejections`].
    pub max_half_open: usize,
    /// Which addresses may start a server handshake (default: any). With
    /// [`HelloPolicy::ApprovedOnly`], only those approved with the adapter's
    /// `UdpEndpoint::approve_peer`; see there.
    pub hello_policy: HelloPolicy,
    /// Most fragmented ClientHellos of not-yet-validated peers reassembled at once (see
    /// [`EndpointConfig::max_prevalidation_hellos`]).
    pub max_prevalidation_hellos: usize,
    /// Bytes those partial hellos may reserve in all
    /// ([`EndpointConfig::max_prevalidation_bytes`]).
    pub max_prevalidation_bytes: usize,
    /// How long a partial hello of an unvalidated peer is kept
    /// ([`EndpointConfig::prevalidation_timeout`]).
    pub prevalidation_timeout: Duration,
    /// Sockets on the one address, each with an endpoint and a driver of its own (default
    /// 1). With more than one (Linux only, [`MAX_WORKERS`] at most), the sockets share the address with
    /// `SO_REUSEPORT` and the kernel spreads the peers over them by a hash of their address.
    /// With connection IDs, worker `i` asks for CIDs that start with the configured prefix
    /// followed by the byte `i`, and a worker hands a record carrying another worker's CID
    /// (a peer whose address changed) to that worker; the configured CID length must leave
    /// room for the worker byte and at least [`MIN_RANDOM_CID_BYTES`] random
    /// bytes. Without connection IDs the workers serve their peers without hand-off (a peer
    /// that changes address is then a stranger, as with one worker). `connect` runs on the
    /// first worker, to which the others hand the connected peer's datagrams; when the
    /// client configuration's CIDs are long enough, the session's CIDs name that worker
    /// too, so that a server that changes address is followed. See `docs/architecture.md`.
    pub workers: usize,
}

impl Default for EndpointOptions {
    fn default() -> Self {
        let c = EndpointConfig::default();
        Self {
            max_sessions: c.max_sessions,
            cookie_rotation: c.cookie_rotation,
            close_linger: c.close_linger,
            rng_seed: None,
            receive_queue: 1024,
            max_half_open: c.max_half_open,
            hello_policy: c.hello_policy,
            max_prevalidation_hellos: c.max_prevalidation_hellos,
            max_prevalidation_bytes: c.max_prevalidation_bytes,
            prevalidation_timeout: c.prevalidation_timeout,
            workers: 1,
        }
    }
}

impl EndpointOptions {
    #[cfg_attr(not(any(feature = "std-net", feature = "tokio")), allow(dead_code))]
    pub(crate) fn endpoint_config(
        &self,
        server: Option<std::sync::Arc<crate::config::ServerConfig>>,
    ) -> EndpointConfig {
        EndpointConfig {
            server,
            max_sessions: self.max_sessions,
            cookie_rotation: self.cookie_rotation,
            close_linger: self.close_linger,
            rng_seed: self.rng_seed,
            max_half_open: self.max_half_open,
            hello_policy: self.hello_policy,
            max_prevalidation_hellos: self.max_prevalidation_hellos,
            max_prevalidation_bytes: self.max_prevalidation_bytes,
            prevalidation_timeout: self.prevalidation_timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_pass_the_hello_policy_and_half_open_cap_to_the_core() {
        let defaults = EndpointOptions::default();
        let core = EndpointConfig::default();
        assert_eq!((defaults.hello_policy, defaults.max_half_open), (core.hello_policy, core.max_half_open));
        let options =
            EndpointOptions { hello_policy: HelloPolicy::ApprovedOnly, max_half_open: 7, ..EndpointOptions::default() };
        let config = options.endpoint_config(None);
        assert_eq!((config.hello_policy, config.max_half_open), (HelloPolicy::ApprovedOnly, 7));
    }
}
