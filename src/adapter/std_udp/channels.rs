//! What the std handles and their driver thread share: the driver's [`Input`] channel, the
//! [`Control`] a handle sends requests through (and wakes the driver with), the bounded
//! [`Inbox`] datagrams reach a driver through when it does not read its socket itself, and
//! [`Watched`] values the driver publishes and handles wait on. No protocol logic.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::queue::QueueSender;
use super::session::UdpSession;
use crate::adapter::AdapterError;
use crate::adapter::driver;

/// A request from a std handle to its driver.
pub(in crate::adapter) type Command = driver::Command<UdpSession>;

/// What reaches a driver through its channel.
pub(in crate::adapter) enum Input {
    /// A request from a handle.
    Command(Command),
    /// A datagram the driver's reader thread received (a connected endpoint's, or a
    /// worker's).
    Datagram(SocketAddr, Vec<u8>),
    /// A datagram another worker received that carries this worker's connection ID.
    HandOff(SocketAddr, Vec<u8>),
    /// The connected socket failed to receive (how ICMP errors are reported).
    Failed(std::io::Error),
}

/// The way datagrams reach a driver that does not read its socket itself: through its
/// channel, at most `cap` of them waiting at once (requests are not counted). A datagram
/// that finds `cap` waiting is dropped, as a full socket buffer drops it.
#[derive(Clone)]
pub(in crate::adapter) struct Inbox {
    input: QueueSender<Input>,
    waiting: Arc<AtomicUsize>,
    cap: usize,
}

impl Inbox {
    pub(super) fn new(input: QueueSender<Input>, cap: usize) -> Self {
        Self { input, waiting: Arc::new(AtomicUsize::new(0)), cap }
    }

    /// Queue a datagram (`Input::Datagram` or `Input::HandOff`); given back if `cap` are
    /// waiting or the driver has stopped.
    pub(super) fn push(&self, datagram: Input) -> Result<(), Input> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.cap {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(datagram);
        }
        self.input.send(datagram).inspect_err(|_| {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
        })
    }

    /// Pass on an input that is not a datagram (a receive error), uncounted.
    pub(super) fn send(&self, input: Input) -> bool {
        self.input.send(input).is_ok()
    }

    /// The driver took a datagram out of its channel.
    pub(super) fn taken(&self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

impl crate::adapter::workers::HandOff for Inbox {
    fn try_hand_off(&self, from: SocketAddr, datagram: Vec<u8>) -> Result<(), Vec<u8>> {
        match self.push(Input::HandOff(from, datagram)) {
            Ok(()) => Ok(()),
            Err(Input::HandOff(_, d)) => Err(d),
            Err(_) => Err(Vec::new()),
        }
    }
}

/// A value guarded by a mutex, with a condition variable to wait for changes.
pub(in crate::adapter) struct Watched<T> {
    value: Mutex<T>,
    changed: Condvar,
}

impl<T> Watched<T> {
    pub(super) fn new(v: T) -> Arc<Self> {
        Arc::new(Self { value: Mutex::new(v), changed: Condvar::new() })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, T> {
        super::lock(&self.value)
    }

    pub(super) fn update(&self, f: impl FnOnce(&mut T)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }

    pub(super) fn wait_until(&self, mut done: impl FnMut(&T) -> bool) {
        let mut g = self.lock();
        while !done(&g) {
            g = self.changed.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// How handles wake a driver that blocks in `recv_from` on an unconnected socket: an empty
/// datagram to the socket's own address. One wake-up is enough for every request sent
/// before the driver next takes its requests, so a handle sends one only when none is
/// pending: under load, requests cost no datagram each.
#[derive(Clone)]
pub(in crate::adapter) struct Waker {
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    /// A wake-up was sent that the driver has not acted on yet.
    pending: Arc<AtomicBool>,
}

impl Waker {
    pub(super) fn new(socket: Arc<UdpSocket>, to: SocketAddr) -> Self {
        Self { socket, to, pending: Arc::new(AtomicBool::new(false)) }
    }

    /// After a request was queued: wake the driver unless a wake-up is pending already.
    fn wake(&self) -> Result<(), AdapterError> {
        // Release: the driver that clears the flag (acquire) sees the request queued before.
        if !self.pending.swap(true, Ordering::AcqRel)
            && let Err(e) = self.socket.send_to(&[], self.to)
        {
            self.pending.store(false, Ordering::Release);
            return Err(e.into());
        }
        Ok(())
    }

    /// The driver is about to take its requests: the next request needs a new wake-up.
    pub(super) fn taking(&self) {
        self.pending.swap(false, Ordering::AcqRel);
    }
}

/// Sends commands to the driver and wakes it.
#[derive(Clone)]
pub(in crate::adapter) struct Control {
    pub(super) input: QueueSender<Input>,
    /// For an unconnected socket, whose driver blocks in `recv_from`; `None` for a
    /// connected socket or a worker's, whose driver waits on its channel.
    pub(super) wake: Option<Waker>,
}

impl Control {
    pub(super) fn send(&self, c: Command) -> Result<(), AdapterError> {
        self.input.send(Input::Command(c)).map_err(|_| AdapterError::Closed)?;
        if let Some(w) = &self.wake {
            w.wake()?;
        }
        Ok(())
    }
}
