//! Several workers on one address ([`EndpointOptions::workers`]): the sockets that share it
//! (`SO_REUSEPORT`), each worker's endpoint configuration, the CID layout that says which
//! worker a record belongs to ([`Layout`]), the hand-off of such records to their worker
//! ([`Router`]), and the statistics of the workers together and apart. Both adapters run
//! this same code; each adds only its channel to another worker ([`HandOff`]).
//!
//! Worker `i` of `n` asks for connection IDs that start with the configured prefix followed
//! by the byte `i`. The kernel sends a datagram to the socket its hash of the peer's address
//! picks, which is the right worker until the peer's address changes; from then on the
//! worker that reads a record carrying another worker's CID hands it, with its source
//! address, to that worker, which handles it as if it had read it from its own socket (and
//! answers from that socket: every socket has the same address). Nothing else moves between
//! workers: hellos and records without a CID are served where they arrive.
//!
//! `connect` runs on worker 0. The kernel hashes the answers of the peer it connected to
//! like any other datagram, so every worker hands a datagram from such a peer to worker 0
//! ([`Outgoing`], the peers of worker 0's client sessions, kept by its driver).
//!
//! Every worker's endpoint draws its cookie secrets from one seed, so a HelloVerifyRequest
//! or HelloRetryRequest cookie issued by one worker verifies on every other; and all share
//! the server configuration's random generator, session cache and ticket keys
//! ([`ServerConfig::with_connection_id_prefix`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rand_core::RngCore;

use super::driver::EndpointStatus;
use super::{AdapterError, EndpointOptions, MAX_WORKERS, MIN_RANDOM_CID_BYTES};
use crate::config::{ClientConfig, ServerConfig};
use crate::endpoint::{EndpointConfig, EndpointState};
use crate::stats::EndpointStats;
use crate::wire::record::TLS12_CID;

/// Hand-offs waiting for one worker; more are dropped (and counted), as a full socket
/// buffer drops datagrams.
pub(super) const HANDOFF_QUEUE: usize = 1024;

/// Bytes before the CID in a `tls12_cid` record: type, version, epoch, sequence number
/// (RFC 9146 §4).
const TLS12_CID_OFFSET: usize = 11;

/// Which worker a datagram belongs to, read from the connection ID of its first record.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    workers: usize,
    /// The configured CID prefix, after which comes the worker byte; `None` without
    /// connection IDs (then nothing is handed off).
    prefix: Option<Vec<u8>>,
}

impl Layout {
    pub(super) fn workers(&self) -> usize {
        self.workers
    }

    /// The worker whose connection ID the first record of `datagram` carries: a DTLS 1.2
    /// `tls12_cid` record (CID after type, version, epoch and sequence number) or a DTLS 1.3
    /// unified header with its C bit set (`001CSLEE`, the CID right after that byte). `None`
    /// for anything else, or a CID that is not one of ours.
    pub(super) fn owner(&self, datagram: &[u8]) -> Option<usize> {
        let prefix = self.prefix.as_deref()?;
        let first = *datagram.first()?;
        let at = if first == TLS12_CID {
            TLS12_CID_OFFSET
        } else if first & 0xe0 == 0x20 && first & 0x10 != 0 {
            1
        } else {
            return None;
        };
        let cid = datagram.get(at..)?;
        if cid.get(..prefix.len())? != prefix {
            return None;
        }
        let worker = usize::from(*cid.get(prefix.len())?);
        (worker < self.workers).then_some(worker)
    }

    /// The configuration a `connect` runs with on [`CONNECT_WORKER`]: with connection IDs
    /// that name that worker (the prefix, its byte, at least [`MIN_RANDOM_CID_BYTES`] random
    /// bytes), so that a server that moves to another address still reaches it whichever
    /// worker the kernel hands its records to. `config` as it is without worker-laid-out
    /// CIDs on this endpoint, or when its own CIDs are too short or an application's
    /// (such a server is followed only while its address stays the one connected to).
    pub(super) fn connecting(&self, config: Arc<ClientConfig>) -> Arc<ClientConfig> {
        let Some(prefix) = &self.prefix else { return config };
        let mut own = prefix.clone();
        own.push(CONNECT_WORKER as u8);
        config.with_connection_id_prefix(&own, MIN_RANDOM_CID_BYTES).unwrap_or(config)
    }
}

/// The layout of `options.workers` workers serving `server`, and each one's endpoint
/// configuration. One worker keeps the options as they are. Several need Linux and a server
/// configuration; with connection IDs, the length must leave room for the worker byte and
/// [`MIN_RANDOM_CID_BYTES`] (else [`AdapterError::Dtls`] with
/// [`crate::Error::InvalidConfig`]).
pub(super) fn plan(
    server: Option<&Arc<ServerConfig>>,
    options: &EndpointOptions,
) -> Result<(Layout, Vec<EndpointConfig>), AdapterError> {
    let workers = options.workers.max(1);
    if workers == 1 {
        return Ok((Layout { workers, prefix: None }, vec![options.endpoint_config(server.cloned())]));
    }
    let invalid = |what: String| AdapterError::Dtls(crate::Error::InvalidConfig(what));
    if !cfg!(target_os = "linux") {
        return Err(AdapterError::Io(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "several workers on one address need Linux (SO_REUSEPORT load balancing)",
        )));
    }
    if workers > MAX_WORKERS {
        return Err(invalid(format!("{workers} workers: at most {MAX_WORKERS}")));
    }
    let Some(server) = server else {
        return Err(invalid("several workers serve: they need a server configuration".into()));
    };
    // One seed for every worker's cookie secrets, drawn once.
    let seed = options.rng_seed.unwrap_or_else(|| {
        let mut seed = [0u8; 32];
        server.common.session_rng().fill_bytes(&mut seed);
        seed
    });
    let options = EndpointOptions { rng_seed: Some(seed), ..options.clone() };
    let policy = server.common.connection_ids.as_ref().filter(|p| p.len > 0);
    let Some(policy) = policy else {
        let configs = (0..workers).map(|_| options.endpoint_config(Some(server.clone()))).collect();
        return Ok((Layout { workers, prefix: None }, configs));
    };
    if policy.custom.is_some() {
        return Err(invalid(format!(
            "{workers} workers with connection IDs from a ConnectionIdGenerator: the workers put their \
             number in each CID, after the prefix; use connection_ids with connection_id_prefix"
        )));
    }
    let prefix = policy.prefix.clone();
    if policy.len < prefix.len() + 1 + MIN_RANDOM_CID_BYTES {
        return Err(invalid(format!(
            "{workers} workers with {}-byte connection IDs and a {}-byte prefix: the CID needs the prefix, \
             a worker byte and {MIN_RANDOM_CID_BYTES} random bytes (connection_ids({}) at least)",
            policy.len,
            prefix.len(),
            prefix.len() + 1 + MIN_RANDOM_CID_BYTES
        )));
    }
    let mut configs = Vec::with_capacity(workers);
    for i in 0..workers {
        let mut own = prefix.clone();
        own.push(u8::try_from(i).unwrap_or(u8::MAX));
        configs.push(options.endpoint_config(Some(server.with_connection_id_prefix(&own)?)));
    }
    Ok((Layout { workers, prefix: Some(prefix) }, configs))
}

/// Bind `workers` UDP sockets to `addr` with `SO_REUSEPORT`: the first one to `addr`, the
/// others to the address it got (the port the system chose for port 0).
pub(super) fn bind_shared(addr: SocketAddr, workers: usize) -> std::io::Result<Vec<std::net::UdpSocket>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let bind = |addr: SocketAddr| -> std::io::Result<std::net::UdpSocket> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        // Only sockets of the same user may join a reuse-port group (Linux), so another
        // user's process cannot take a share of the peers.
        socket.set_reuse_port(true)?;
        socket.bind(&addr.into())?;
        Ok(socket.into())
    };
    let first = bind(addr)?;
    let addr = first.local_addr()?;
    let mut sockets = vec![first];
    for _ in 1..workers {
        sockets.push(bind(addr)?);
    }
    Ok(sockets)
}

/// How a worker reaches another one: a bounded queue that never blocks the sender.
pub(super) trait HandOff {
    /// Queue `datagram` from `from` for the worker; given back if its queue is full or it
    /// stopped.
    fn try_hand_off(&self, from: SocketAddr, datagram: Vec<u8>) -> Result<(), Vec<u8>>;
}

/// Buffers for hand-offs, shared by an endpoint's workers: the worker that hands a datagram
/// over copies it into one, the worker that handled it gives it back. A peer whose address
/// the kernel hashes to another worker than the one its CID names (a client after a move,
/// a connected server) is handed over for every record, so that costs no allocation each.
#[derive(Debug, Default)]
pub(super) struct Spares(Mutex<Vec<Vec<u8>>>);

impl Spares {
    /// Most buffers kept: more than the hand-offs in flight at once on a busy endpoint
    /// would need; the rest are freed.
    const MAX: usize = 64;

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        // A list of buffers is consistent whatever panicked while holding it.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of `datagram` in a spare buffer (a new one if none is left).
    fn filled(&self, datagram: &[u8]) -> Vec<u8> {
        let mut buf = self.lock().pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(datagram);
        buf
    }

    /// Keep `buf` for a later hand-off (freed if enough are kept).
    fn give(&self, buf: Vec<u8>) {
        let mut spares = self.lock();
        if spares.len() < Self::MAX && buf.capacity() > 0 {
            spares.push(buf);
        }
    }
}

/// One worker's hand-off counters, published with its status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct HandOffCounts {
    pub sent: u64,
    pub received: u64,
    pub dropped: u64,
}

/// The worker that runs `connect`.
pub(super) const CONNECT_WORKER: usize = 0;

/// The peers that [`CONNECT_WORKER`]'s client sessions talk to, with how many sessions each
/// (an address can be connected to again after its session ended and before the old one is
/// gone). Written by that worker's driver, read by every worker for every datagram without
/// a CID of ours, so the empty case costs one atomic load.
#[derive(Debug, Default)]
pub(super) struct Outgoing {
    len: AtomicUsize,
    peers: Mutex<HashMap<SocketAddr, u32>>,
}

impl Outgoing {
    fn peers(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, u32>> {
        // A panic elsewhere while holding this lock leaves a map that is still consistent.
        self.peers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn contains(&self, remote: SocketAddr) -> bool {
        self.len.load(Ordering::Acquire) > 0 && self.peers().contains_key(&remote)
    }

    fn add(&self, remote: SocketAddr) {
        let mut peers = self.peers();
        *peers.entry(remote).or_insert(0) += 1;
        self.len.store(peers.len(), Ordering::Release);
    }

    fn remove(&self, remote: SocketAddr) {
        let mut peers = self.peers();
        if let Some(n) = peers.get_mut(&remote) {
            *n -= 1;
            if *n == 0 {
                peers.remove(&remote);
            }
        }
        self.len.store(peers.len(), Ordering::Release);
    }
}

/// What a worker knows of the others: the layout, the peers of outgoing sessions, and a
/// queue to each worker (its own among them).
pub(super) struct Router<T> {
    me: usize,
    layout: Arc<Layout>,
    outgoing: Arc<Outgoing>,
    spares: Arc<Spares>,
    peers: Vec<T>,
    pub(super) counts: HandOffCounts,
}

impl<T: HandOff> Router<T> {
    pub(super) fn new(
        me: usize,
        layout: Arc<Layout>,
        outgoing: Arc<Outgoing>,
        spares: Arc<Spares>,
        peers: Vec<T>,
    ) -> Self {
        Self { me, layout, outgoing, spares, peers, counts: HandOffCounts::default() }
    }

    /// A datagram another worker handed to this one was handled: count it, and keep its
    /// buffer for the next hand-off.
    pub(super) fn handled(&mut self, datagram: Vec<u8>) {
        self.counts.received += 1;
        self.spares.give(datagram);
    }

    /// This worker's driver opened a client session to `remote` (only [`CONNECT_WORKER`]'s
    /// does): from now on the other workers hand it `remote`'s datagrams.
    pub(super) fn connected(&self, remote: SocketAddr) {
        self.outgoing.add(remote);
    }

    /// A client session of this worker to `remote` ended.
    pub(super) fn disconnected(&self, remote: SocketAddr) {
        self.outgoing.remove(remote);
    }

    /// Whether `datagram` belongs to another worker (it comes from a peer
    /// [`CONNECT_WORKER`] connected to, or carries another worker's CID): then it was handed
    /// to that worker, or dropped if the worker's queue was full, and this worker must not
    /// handle it. The peer's address decides first: the CIDs in a connected server's records
    /// are the client configuration's, not laid out by worker.
    pub(super) fn divert(&mut self, from: SocketAddr, datagram: &[u8]) -> bool {
        let owner = if self.outgoing.contains(from) {
            CONNECT_WORKER
        } else {
            match self.layout.owner(datagram) {
                Some(w) => w,
                None => return false,
            }
        };
        if owner == self.me {
            return false;
        }
        let Some(peer) = self.peers.get(owner) else { return false };
        match peer.try_hand_off(from, self.spares.filled(datagram)) {
            Ok(()) => self.counts.sent += 1,
            Err(buf) => {
                self.spares.give(buf);
                self.counts.dropped += 1;
            }
        }
        true
    }
}

/// One worker of an endpoint, as of its driver's last batch
/// (`UdpEndpoint::worker_stats`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Live sessions.
    pub sessions: usize,
    /// The worker's endpoint statistics (the endpoint's `stats` adds every worker's).
    pub endpoint: EndpointStats,
    /// Datagrams that carried another worker's connection ID, handed to that worker.
    pub handoffs_sent: u64,
    /// Datagrams other workers handed to this one.
    pub handoffs_received: u64,
    /// Datagrams for another worker dropped because its queue was full.
    pub handoffs_dropped: u64,
}

impl WorkerStats {
    pub(super) fn of(s: &EndpointStatus) -> Self {
        Self {
            sessions: s.sessions,
            endpoint: s.stats.clone(),
            handoffs_sent: s.handoffs.sent,
            handoffs_received: s.handoffs.received,
            handoffs_dropped: s.handoffs.dropped,
        }
    }
}

/// The status of every worker together: counters added, open while any worker is.
pub(super) fn merge(statuses: Vec<EndpointStatus>) -> EndpointStatus {
    let mut statuses = statuses.into_iter();
    let Some(mut all) = statuses.next() else {
        // No worker at all: as closed as can be.
        let stats = EndpointStats::new(std::time::Instant::now());
        let handoffs = HandOffCounts::default();
        return EndpointStatus {
            state: EndpointState::Closed,
            stats,
            sessions: 0,
            busy: false,
            half_open: 0,
            handoffs,
        };
    };
    for s in statuses {
        all.state = match (all.state, s.state) {
            (EndpointState::Open, _) | (_, EndpointState::Open) => EndpointState::Open,
            (EndpointState::Closing, _) | (_, EndpointState::Closing) => EndpointState::Closing,
            _ => EndpointState::Closed,
        };
        add(&mut all.stats, &s.stats);
        all.sessions += s.sessions;
        all.busy |= s.busy;
        all.half_open += s.half_open;
        all.handoffs.sent += s.handoffs.sent;
        all.handoffs.received += s.handoffs.received;
        all.handoffs.dropped += s.handoffs.dropped;
    }
    all
}

/// Add `b`'s counters to `a`: the earliest creation, the latest end (once all ended). Every
/// field is named, so that a new one cannot be forgotten here.
fn add(a: &mut EndpointStats, b: &EndpointStats) {
    let EndpointStats {
        created,
        destroyed,
        bytes_received,
        bytes_sent,
        packets_received,
        packets_sent,
        server_sessions,
        client_sessions,
        busy_rejections,
        session_limit_rejections,
        datagrams_dropped,
        hello_verify_requests_sent,
        amplification_refusals,
        sessions_replaced,
        half_open_rejections,
        policy_rejections,
        fragmented_hellos,
        hello_retry_requests_sent,
        retry_cookie_rejections,
        prevalidation_reassembled,
        prevalidation_rejections,
        prevalidation_evictions,
        address_changes,
    } = b;
    a.created = a.created.min(*created);
    a.destroyed = match (a.destroyed, destroyed) {
        (Some(x), Some(y)) => Some(x.max(*y)),
        _ => None,
    };
    a.bytes_received += bytes_received;
    a.bytes_sent += bytes_sent;
    a.packets_received += packets_received;
    a.packets_sent += packets_sent;
    a.server_sessions += server_sessions;
    a.client_sessions += client_sessions;
    a.busy_rejections += busy_rejections;
    a.session_limit_rejections += session_limit_rejections;
    a.datagrams_dropped += datagrams_dropped;
    a.hello_verify_requests_sent += hello_verify_requests_sent;
    a.amplification_refusals += amplification_refusals;
    a.sessions_replaced += sessions_replaced;
    a.half_open_rejections += half_open_rejections;
    a.policy_rejections += policy_rejections;
    a.fragmented_hellos += fragmented_hellos;
    a.hello_retry_requests_sent += hello_retry_requests_sent;
    a.retry_cookie_rejections += retry_cookie_rejections;
    a.prevalidation_reassembled += prevalidation_reassembled;
    a.prevalidation_rejections += prevalidation_rejections;
    a.prevalidation_evictions += prevalidation_evictions;
    a.address_changes += address_changes;
}

#[cfg(test)]
#[path = "workers_tests.rs"]
mod tests;
