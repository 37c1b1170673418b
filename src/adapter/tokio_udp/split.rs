//! The two halves of a split tokio session ([`super::UdpSession::into_split`]): a
//! [`RecvHalf`] for the task that receives and a cloneable [`SendHalf`] for the tasks that
//! send. They hold the same shared handle as the session; the last one dropped closes it.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::session::{Command, Shared};
use crate::adapter::status::Established;
use crate::adapter::{AdapterError, PROTOCOL};
use crate::stats::SessionStats;
use crate::{CertificateDer, CipherInfo, SrtpKeyingMaterial, SrtpProtectionProfile};

/// The receiving half of a split [`super::UdpSession`]: the one handle that takes the
/// session's application data. Made by [`super::UdpSession::into_split`].
///
/// Dropping it leaves the session open for its [`SendHalf`]s (records that arrive are then
/// dropped, as datagrams to a socket nobody reads); the session closes gracefully once the
/// last half is dropped.
pub struct RecvHalf {
    remote: SocketAddr,
    data: mpsc::Receiver<Vec<u8>>,
    shared: Arc<Shared>,
}

impl core::fmt::Debug for RecvHalf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecvHalf").field("remote", &self.remote).finish_non_exhaustive()
    }
}

impl RecvHalf {
    pub(super) fn new(remote: SocketAddr, data: mpsc::Receiver<Vec<u8>>, shared: Arc<Shared>) -> Self {
        Self { remote, data, shared }
    }

    /// The next datagram of application data; `None` once the session is closed (by the
    /// peer, or by `close` or `destroy` on either half). Give the buffer back with
    /// [`recycle`](Self::recycle) when done with it, and receiving allocates nothing.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        self.data.recv().await
    }

    shared_session_methods!();
}

/// The sending half of a split [`super::UdpSession`], made by
/// [`super::UdpSession::into_split`]. Clone it for every task that sends: all clones send
/// on the same session, each datagram whole.
///
/// Dropping a clone closes nothing while another half remains; the session closes
/// gracefully once the last half (this, its clones and the [`RecvHalf`]) is dropped. Call
/// [`close`](Self::close) to end it sooner, for the receiving half too.
#[derive(Clone)]
pub struct SendHalf {
    remote: SocketAddr,
    shared: Arc<Shared>,
}

impl core::fmt::Debug for SendHalf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SendHalf").field("remote", &self.remote).finish_non_exhaustive()
    }
}

impl SendHalf {
    pub(super) fn new(remote: SocketAddr, shared: Arc<Shared>) -> Self {
        Self { remote, shared }
    }

    /// Send one datagram of application data. Data larger than one record carries is
    /// refused with [`AdapterError::Dtls`]`(`[`crate::Error::MessageTooLarge`]` { max })`,
    /// which is not fatal: nothing was sent and the session stays usable.
    pub async fn send(&self, data: &[u8]) -> Result<(), AdapterError> {
        self.shared.send(data).await
    }

    shared_session_methods!();
}
