//! [`UdpSession`], the tokio handle of one established association, what all handles of a
//! session share ([`Shared`], whose drop closes the session), and how the driver reaches
//! such handles ([`HandleChannels`]). Every request goes to the driver task; the handles
//! only read what the driver published.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::HandshakeFailure;
use super::endpoint::UdpEndpoint;
use super::split::{RecvHalf, SendHalf};
use crate::adapter::answer::{Answer, AnswerBox, Recycler, Wake};
use crate::adapter::driver::{self, HandleChannels};
use crate::adapter::slots::Slot;
use crate::adapter::status::{Established, ExportRequest, Status};
use crate::adapter::{AdapterError, PROTOCOL};
use crate::endpoint::SessionHandle;
use crate::stats::SessionStats;
use crate::{CertificateDer, CipherInfo, SrtpKeyingMaterial, SrtpProtectionProfile};

/// A request from a tokio handle to its driver.
pub(in crate::adapter) type Command = driver::Command<UdpSession>;

/// The methods every handle of a session has (the session and both its halves), besides
/// the session information: each handle keeps an `Arc<Shared>` in `shared`.
macro_rules! shared_session_methods {
    () => {
        /// Close the session gracefully: send close_notify. This ends it for every handle of
        /// the session (a split session's `recv` then returns `None`); `closed` resolves when
        /// it is done.
        pub fn close(&self) {
            self.shared.request(Command::Close(self.shared.handle));
        }

        /// Drop the session at once, without close_notify (for every handle of it).
        pub fn destroy(&self) {
            self.shared.request(Command::Destroy(self.shared.handle));
        }

        /// Resolves once the session is gone (close_notify exchanged, linger elapsed, error,
        /// or destroyed). Returns the error that ended it, if any.
        pub async fn closed(&self) -> Option<crate::Error> {
            self.shared.closed().await
        }

        /// Fill `out` with keying material (RFC 5705) for `label` and an optional `context`.
        /// Asks the driver, so it fails with [`AdapterError::Closed`] once the session is
        /// gone.
        pub async fn export_keying_material(
            &self,
            out: &mut [u8],
            label: &[u8],
            context: Option<&[u8]>,
        ) -> Result<(), AdapterError> {
            self.shared.export_keying_material(out, label, context).await
        }

        /// The session's statistics: live from the driver, or the final ones once destroyed.
        pub async fn stats(&self) -> Option<SessionStats> {
            self.shared.stats().await
        }

        /// Give back the buffer of a received datagram (from `recv`), for a later record of
        /// any session of the endpoint to be received into: in a loop that receives and
        /// recycles, records need no heap allocation. Any `Vec` may be given; the driver
        /// keeps a few and frees the rest.
        pub fn recycle(&self, buf: Vec<u8>) {
            self.shared.recycler.give(buf);
        }

        fn established<T>(&self, f: impl FnOnce(&Established) -> Option<T>) -> Option<T> {
            self.shared.established(f)
        }

        session_info_accessors!();
    };
}

/// What every handle of one session shares. Dropping it, with the last handle, closes the
/// session gracefully and lets go of the endpoint of a session made by `connect`.
pub(super) struct Shared {
    pub(super) handle: SessionHandle,
    cmd: mpsc::UnboundedSender<Command>,
    /// The number of the latest `send`; held while one is in flight, so sends take turns.
    send_turn: tokio::sync::Mutex<u64>,
    answers: Arc<AnswerBox<Notify>>,
    pub(super) recycler: Recycler,
    status: watch::Receiver<Status>,
    /// The endpoint of a session made by [`super::connect`], kept alive (and closed) with it.
    endpoint: OnceLock<UdpEndpoint>,
}

impl Shared {
    /// A request without an answer; a stopped driver has nothing left to do with it.
    pub(super) fn request(&self, c: Command) {
        let _ = self.cmd.send(c);
    }

    /// The data travels in the session's own buffer, which the answer brings back. A send
    /// whose future is dropped after its request went out is carried out all the same; the
    /// next send waits for its own answer (by number) and uses a new buffer meanwhile.
    pub(super) async fn send(&self, data: &[u8]) -> Result<(), AdapterError> {
        let mut turn = self.send_turn.lock().await;
        *turn += 1;
        let mut buf = self.answers.take_buffer();
        buf.extend_from_slice(data);
        let reply = Answer::new(self.answers.clone(), *turn);
        self.cmd.send(Command::Send { h: self.handle, data: buf, reply }).map_err(|_| AdapterError::Closed)?;
        self.answers.wait(*turn).await
    }

    pub(super) async fn closed(&self) -> Option<crate::Error> {
        let mut status = self.status.clone();
        match status.wait_for(|s| s.final_stats.is_some()).await {
            Ok(s) => s.error.clone(),
            Err(_) => None,
        }
    }

    pub(super) fn established<T>(&self, f: impl FnOnce(&Established) -> Option<T>) -> Option<T> {
        self.status.borrow().established.as_ref().and_then(f)
    }

    pub(super) async fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), AdapterError> {
        let (reply, rx) = oneshot::channel();
        let request = ExportRequest::new(out.len(), label, context);
        self.cmd.send(Command::Export { h: self.handle, request, reply }).map_err(|_| AdapterError::Closed)?;
        let material = rx.await.map_err(|_| AdapterError::Closed)??;
        out.copy_from_slice(&material);
        Ok(())
    }

    pub(super) async fn stats(&self) -> Option<SessionStats> {
        let (reply, rx) = oneshot::channel();
        if self.cmd.send(Command::Stats { h: self.handle, reply }).is_ok()
            && let Ok(Some(s)) = rx.await
        {
            return Some(s);
        }
        self.status.borrow().final_stats.clone()
    }
}

impl Wake for Notify {
    fn wake(&self) {
        // One handle waits at a time (sends take turns); a wake-up before it waits is kept.
        self.notify_one();
    }
}

impl AnswerBox<Notify> {
    /// Wait until request `seq` is answered; its result.
    async fn wait(&self, seq: u64) -> Result<(), AdapterError> {
        loop {
            let woken = self.wake.notified();
            if let Some(result) = self.result(seq) {
                return result;
            }
            woken.await;
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.request(Command::Close(self.handle));
    }
}

/// One established DTLS association on a [`UdpEndpoint`] (node:dtls `DTLSSession`): the
/// async counterpart of the sans-IO [`crate::Session`].
///
/// [`recv`](Self::recv) takes `&mut self`; to receive in one task while others send, split
/// the session with [`into_split`](Self::into_split). Dropping the session closes it
/// gracefully (close_notify).
pub struct UdpSession {
    remote: SocketAddr,
    data: mpsc::Receiver<Vec<u8>>,
    shared: Arc<Shared>,
}

impl core::fmt::Debug for UdpSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UdpSession").field("remote", &self.remote).finish_non_exhaustive()
    }
}

impl UdpSession {
    /// Send one datagram of application data. Data larger than one record carries is
    /// refused with [`AdapterError::Dtls`]`(`[`crate::Error::MessageTooLarge`]` { max })`,
    /// which is not fatal: nothing was sent and the session stays usable.
    pub async fn send(&self, data: &[u8]) -> Result<(), AdapterError> {
        self.shared.send(data).await
    }

    /// The next datagram of application data; `None` once the session is closed. Give the
    /// buffer back with [`recycle`](Self::recycle) when done with it, and receiving
    /// allocates nothing.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        self.data.recv().await
    }

    /// Split the session into a [`RecvHalf`], for the one task that receives, and a
    /// [`SendHalf`], which can be cloned for every task that sends, so that receiving needs
    /// no `&mut` borrow of the value the senders use.
    ///
    /// Both halves are handles of the same session, with its information and statistics:
    /// `close` or `destroy` on either ends it for both (the [`RecvHalf`] then receives
    /// `None`, and a send fails). Dropping a half leaves the session open while another
    /// half remains; dropping the last one closes it gracefully, as dropping the session
    /// does (and lets go of the endpoint of a session made by [`super::connect`]).
    ///
    /// ```no_run
    /// # async fn echo_count(session: dtls_engine::adapter::tokio_udp::UdpSession) {
    /// let (mut rx, tx) = session.into_split();
    /// let reader = tokio::spawn(async move {
    ///     let mut n = 0;
    ///     while rx.recv().await.is_some() {
    ///         n += 1;
    ///     }
    ///     n
    /// });
    /// let tx2 = tx.clone();
    /// tokio::spawn(async move { tx2.send(b"from another task").await });
    /// let _ = tx.send(b"hello").await;
    /// tx.close();
    /// let received = reader.await;
    /// # let _ = received;
    /// # }
    /// ```
    pub fn into_split(self) -> (RecvHalf, SendHalf) {
        let Self { remote, data, shared } = self;
        (RecvHalf::new(remote, data, shared.clone()), SendHalf::new(remote, shared))
    }

    /// Keep `endpoint` alive as long as the session (a session made by [`super::connect`]).
    pub(super) fn keep_endpoint(&self, endpoint: UdpEndpoint) {
        // A new session's endpoint is set once; were it set already, the extra one would
        // just close.
        let _ = self.shared.endpoint.set(endpoint);
    }

    shared_session_methods!();
}

impl HandleChannels for UdpSession {
    type Control = mpsc::UnboundedSender<Command>;
    type Data = mpsc::Sender<Vec<u8>>;
    type Status = watch::Sender<Status>;
    type Reply<T> = oneshot::Sender<T>;
    type Wake = Notify;
    type Accept = mpsc::UnboundedSender<UdpSession>;
    type Failures = mpsc::Sender<HandshakeFailure>;

    fn open(
        control: &Self::Control,
        recycler: &Recycler,
        receive_queue: usize,
        h: SessionHandle,
        remote: SocketAddr,
    ) -> Slot<Self> {
        let (data_tx, data_rx) = mpsc::channel(receive_queue);
        let (status_tx, status_rx) = watch::channel(Status::default());
        let shared = Shared {
            handle: h,
            cmd: control.clone(),
            send_turn: tokio::sync::Mutex::new(0),
            answers: AnswerBox::new(Notify::new()),
            recycler: recycler.clone(),
            status: status_rx,
            endpoint: OnceLock::new(),
        };
        let session = UdpSession { remote, data: data_rx, shared: Arc::new(shared) };
        Slot::new(remote, session, data_tx, status_tx)
    }

    fn deliver(to: &Self::Data, data: Vec<u8>) {
        let _ = to.try_send(data);
    }

    fn publish(to: &Self::Status, f: impl FnOnce(&mut Status)) {
        to.send_modify(f);
    }

    fn reply<T>(to: oneshot::Sender<T>, value: T) {
        let _ = to.send(value);
    }

    fn accept(to: &Self::Accept, session: UdpSession) {
        let _ = to.send(session);
    }

    fn fail(to: &Self::Failures, failure: HandshakeFailure) {
        let _ = to.try_send(failure);
    }
}
