//! The contract between the shared driver logic and each adapter's socket loop: the
//! [`HandleChannels`] an adapter implements for its channel types, the [`Command`]s handles
//! send to their driver, the [`EndpointStatus`] a driver publishes, and the pause after
//! repeated socket errors. The table of sessions that acts on them is in `slots`. Nothing
//! here touches a socket or makes a protocol decision.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::answer::{Answer, Recycler, Wake};
use super::slots::Slot;
use super::status::{ExportRequest, Status};
use super::workers::HandOffCounts;
use super::{AdapterError, HandshakeFailure};
use crate::config::ClientConfig;
use crate::endpoint::{Endpoint as Core, EndpointState, SessionHandle};
use crate::stats::{EndpointStats, SessionStats};

/// Failed server handshakes kept for `handshake_failure`; later ones are dropped until
/// the application reads them.
pub(super) const FAILURE_QUEUE: usize = 64;

/// How long a driver pauses after its socket failed `consecutive` times in a row, so a
/// socket that keeps failing cannot make it spin: not at all after a single failure (an
/// ICMP error is reported once), then 1 ms, doubling up to 64 ms.
pub(super) fn error_pause(consecutive: u32) -> Option<Duration> {
    let n = consecutive.checked_sub(2)?;
    Some(Duration::from_millis(1 << n.min(6)))
}

/// How a driver reaches the handles of one adapter: its channel types and how to send on
/// them. Implemented by the adapter's `UdpSession`. No send may block the driver: a value
/// that finds its channel full or closed is dropped, as a datagram would be.
pub(super) trait HandleChannels: Sized {
    /// What a handle keeps to send requests to the driver.
    type Control;
    /// The driver's end of one session's bounded queue of application records.
    type Data;
    /// The driver's end of one session's [`Status`], which its handle reads and waits on.
    type Status;
    /// The driver's end of the answer to one request.
    type Reply<T>;
    /// How a handle waiting for the answer to a `send` is woken.
    type Wake: Wake;
    /// Where established server sessions go (`accept`).
    type Accept;
    /// Where failed server handshakes go (`handshake_failure`), at most [`FAILURE_QUEUE`].
    type Failures;

    /// A handle for a new session, with the driver's ends of its channels; the handle gives
    /// the buffers of received records back through `recycler`.
    fn open(
        control: &Self::Control,
        recycler: &Recycler,
        receive_queue: usize,
        h: SessionHandle,
        remote: SocketAddr,
    ) -> Slot<Self>;
    fn deliver(to: &Self::Data, data: Vec<u8>);
    fn publish(to: &Self::Status, f: impl FnOnce(&mut Status));
    fn reply<T>(to: Self::Reply<T>, value: T);
    fn accept(to: &Self::Accept, session: Self);
    fn fail(to: &Self::Failures, failure: HandshakeFailure);
}

/// A request from a handle to its driver.
pub(super) enum Command<C: HandleChannels> {
    Connect {
        config: Arc<ClientConfig>,
        remote: SocketAddr,
        /// Give up (destroying the session) if the handshake has not completed by then.
        timeout: Option<Duration>,
        reply: C::Reply<Result<C, AdapterError>>,
    },
    /// One application record, in the session's own buffer, which the answer gives back.
    Send {
        h: SessionHandle,
        data: Vec<u8>,
        reply: Answer<C::Wake>,
    },
    Stats {
        h: SessionHandle,
        reply: C::Reply<Option<SessionStats>>,
    },
    Export {
        h: SessionHandle,
        request: ExportRequest,
        reply: C::Reply<Result<Vec<u8>, AdapterError>>,
    },
    Close(SessionHandle),
    Destroy(SessionHandle),
    SetBusy(bool),
    ApprovePeer(SocketAddr),
    RevokePeer(SocketAddr),
    MaySendHello {
        remote: SocketAddr,
        reply: C::Reply<bool>,
    },
    CloseEndpoint,
    DestroyEndpoint,
}

impl<C: HandleChannels> Command<C> {
    /// A copy of a request that wants no answer, for every worker of an endpoint (`None`
    /// for a request that wants one: it goes to one worker).
    pub(super) fn duplicate(&self) -> Option<Self> {
        match self {
            Self::SetBusy(b) => Some(Self::SetBusy(*b)),
            Self::ApprovePeer(a) => Some(Self::ApprovePeer(*a)),
            Self::RevokePeer(a) => Some(Self::RevokePeer(*a)),
            Self::CloseEndpoint => Some(Self::CloseEndpoint),
            Self::DestroyEndpoint => Some(Self::DestroyEndpoint),
            _ => None,
        }
    }
}

/// What the endpoint's handle shows, published by the driver after every batch.
#[derive(Debug, Clone)]
pub(super) struct EndpointStatus {
    pub state: EndpointState,
    pub stats: EndpointStats,
    pub sessions: usize,
    pub busy: bool,
    pub half_open: usize,
    /// The worker's hand-offs (zero for an endpoint of one worker).
    pub handoffs: HandOffCounts,
}

impl EndpointStatus {
    pub(super) fn of(core: &Core, handoffs: HandOffCounts) -> Self {
        Self {
            state: core.state(),
            stats: core.stats().clone(),
            sessions: core.session_count(),
            busy: core.is_busy(),
            half_open: core.half_open_count(),
            handoffs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_error_pauses_start_at_the_second_error_and_are_capped() {
        let pauses: Vec<_> = (0..12).map(error_pause).collect();
        assert_eq!(&pauses[..3], &[None, None, Some(Duration::from_millis(1))]);
        assert_eq!(pauses[3], Some(Duration::from_millis(2)));
        assert_eq!(pauses[11], Some(Duration::from_millis(64)));
        assert_eq!(error_pause(u32::MAX), Some(Duration::from_millis(64)));
    }
}
