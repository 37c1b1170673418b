//! [`UdpSession`], the std handle of one established association, and how the driver
//! reaches such handles ([`HandleChannels`]). Every request goes to the driver thread; the
//! handle only reads what the driver published.

use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::channels::{Command, Control, Watched};
use super::endpoint::UdpEndpoint;
use super::{HandshakeFailure, lock, recv_timeout};
use crate::adapter::answer::{Answer, AnswerBox, Recycler};
use crate::adapter::driver::HandleChannels;
use crate::adapter::slots::Slot;
use crate::adapter::status::{Established, ExportRequest, Status};
use crate::adapter::{AdapterError, PROTOCOL};
use crate::endpoint::SessionHandle;
use crate::stats::SessionStats;
use crate::{CertificateDer, CipherInfo, SrtpKeyingMaterial, SrtpProtectionProfile};

/// One established DTLS association on a [`UdpEndpoint`] (the blocking counterpart of the
/// sans-IO [`crate::Session`]).
///
/// Every method takes `&self` and the session is `Send` and `Sync`, so one thread can block
/// in [`recv`](Self::recv) while others [`send`](Self::send) on the same session: share it
/// through an `Arc` or a scoped thread, no split is needed. Receives are taken one at a
/// time (a second thread's `recv` waits for the first). Dropping the session closes it
/// gracefully (close_notify).
pub struct UdpSession {
    handle: SessionHandle,
    remote: SocketAddr,
    control: Control,
    data: Mutex<Receiver<Vec<u8>>>,
    /// The number of the latest `send`; held while one is in flight, so sends take turns.
    send_turn: Mutex<u64>,
    answers: Arc<AnswerBox<Condvar>>,
    recycler: Recycler,
    status: Arc<Watched<Status>>,
    /// The endpoint of a session made by [`super::connect`], kept alive (and closed) with it.
    pub(super) endpoint: Option<UdpEndpoint>,
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
    ///
    /// The data travels to the driver in a buffer the session keeps for its sends, so a
    /// send allocates nothing once the first has. Sends from several threads take turns.
    pub fn send(&self, data: &[u8]) -> Result<(), AdapterError> {
        let mut turn = lock(&self.send_turn);
        *turn += 1;
        let mut buf = self.answers.take_buffer();
        buf.extend_from_slice(data);
        let reply = Answer::new(self.answers.clone(), *turn);
        self.control.send(Command::Send { h: self.handle, data: buf, reply })?;
        self.answers.wait(*turn)
    }

    /// The next datagram of application data; `None` once the session is closed. Give the
    /// buffer back with [`recycle`](Self::recycle) when done with it, and receiving
    /// allocates nothing.
    pub fn recv(&self) -> Option<Vec<u8>> {
        lock(&self.data).recv().ok()
    }

    /// Give back the buffer of a received datagram (from [`recv`](Self::recv)), for a later
    /// record of any session of the endpoint to be received into: in a loop that receives
    /// and recycles, records need no heap allocation. Any `Vec` may be given; the driver
    /// keeps a few and frees the rest.
    pub fn recycle(&self, buf: Vec<u8>) {
        self.recycler.give(buf);
    }

    /// Like [`UdpSession::recv`], giving up after `timeout` (`Ok(None)`); `Err(Closed)` once
    /// the session is closed.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<Vec<u8>>, AdapterError> {
        recv_timeout(&lock(&self.data), timeout)
    }

    /// Close gracefully: send close_notify; [`UdpSession::closed`] returns when it is done.
    pub fn close(&self) {
        let _ = self.control.send(Command::Close(self.handle));
    }

    /// Drop the session at once, without close_notify.
    pub fn destroy(&self) {
        let _ = self.control.send(Command::Destroy(self.handle));
    }

    /// Block until the session is gone (close_notify exchanged, linger elapsed, error, or
    /// destroyed). Returns the error that ended it, if any.
    pub fn closed(&self) -> Option<crate::Error> {
        self.status.wait_until(|s| s.final_stats.is_some());
        self.status.lock().error.clone()
    }

    fn established<T>(&self, f: impl FnOnce(&Established) -> Option<T>) -> Option<T> {
        self.status.lock().established.as_ref().and_then(f)
    }

    session_info_accessors!();

    /// Fill `out` with keying material (RFC 5705) for `label` and an optional `context`.
    /// Asks the driver, so it fails with [`AdapterError::Closed`] once the session is gone.
    pub fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), AdapterError> {
        let (reply, rx) = mpsc::channel();
        let request = ExportRequest::new(out.len(), label, context);
        self.control.send(Command::Export { h: self.handle, request, reply })?;
        let material = rx.recv().map_err(|_| AdapterError::Closed)??;
        out.copy_from_slice(&material);
        Ok(())
    }

    /// The session's statistics: live from the driver, or the final ones once destroyed.
    pub fn stats(&self) -> Option<SessionStats> {
        let (reply, rx) = mpsc::channel();
        if self.control.send(Command::Stats { h: self.handle, reply }).is_ok() {
            match rx.recv() {
                Ok(Some(s)) => return Some(s),
                // Gone from the endpoint: its final statistics are on their way (the driver
                // may still hold the event in the batch it is working through).
                Ok(None) => self.status.wait_until(|s| s.final_stats.is_some()),
                Err(_) => {}
            }
        }
        self.final_stats()
    }

    /// Final statistics, once the session is gone.
    pub fn final_stats(&self) -> Option<SessionStats> {
        self.status.lock().final_stats.clone()
    }
}

impl Drop for UdpSession {
    fn drop(&mut self) {
        let _ = self.control.send(Command::Close(self.handle));
    }
}

impl HandleChannels for UdpSession {
    type Control = Control;
    type Data = SyncSender<Vec<u8>>;
    type Status = Arc<Watched<Status>>;
    type Reply<T> = Sender<T>;
    type Wake = Condvar;
    type Accept = Sender<UdpSession>;
    type Failures = SyncSender<HandshakeFailure>;

    fn open(
        control: &Control,
        recycler: &Recycler,
        receive_queue: usize,
        h: SessionHandle,
        remote: SocketAddr,
    ) -> Slot<Self> {
        let (data_tx, data_rx) = mpsc::sync_channel(receive_queue);
        let status = Watched::new(Status::default());
        let session = UdpSession {
            handle: h,
            remote,
            control: control.clone(),
            data: Mutex::new(data_rx),
            send_turn: Mutex::new(0),
            answers: AnswerBox::new(Condvar::new()),
            recycler: recycler.clone(),
            status: status.clone(),
            endpoint: None,
        };
        Slot::new(remote, session, data_tx, status)
    }

    fn deliver(to: &Self::Data, data: Vec<u8>) {
        let _ = to.try_send(data);
    }

    fn publish(to: &Self::Status, f: impl FnOnce(&mut Status)) {
        to.update(f);
    }

    fn reply<T>(to: Sender<T>, value: T) {
        let _ = to.send(value);
    }

    fn accept(to: &Self::Accept, session: UdpSession) {
        let _ = to.send(session);
    }

    fn fail(to: &Self::Failures, failure: HandshakeFailure) {
        let _ = to.try_send(failure);
    }
}
