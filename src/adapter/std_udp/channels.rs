//! What the std handles and their driver thread share: the driver's [`Input`] channel, the
//! [`Control`] a handle sends requests through (and wakes the driver with), and
//! [`Watched`] values the driver publishes and handles wait on. No protocol logic.

use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::session::UdpSession;
use crate::adapter::AdapterError;
use crate::adapter::driver;

/// A request from a std handle to its driver.
pub(in crate::adapter) type Command = driver::Command<UdpSession>;

/// What reaches a driver through its channel.
pub(in crate::adapter) enum Input {
    /// A request from a handle.
    Command(Command),
    /// A datagram the reader thread of a connected endpoint received.
    Datagram(SocketAddr, Vec<u8>),
    /// The connected socket failed to receive (how ICMP errors are reported).
    Failed(std::io::Error),
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

/// Sends commands to the driver and wakes it.
#[derive(Clone)]
pub(in crate::adapter) struct Control {
    pub(super) input: Sender<Input>,
    /// An unconnected socket, whose driver blocks in `recv_from`, and its own address: an
    /// empty datagram there wakes the driver. `None` for a connected socket, whose driver
    /// waits on its channel.
    pub(super) wake: Option<(Arc<UdpSocket>, SocketAddr)>,
}

impl Control {
    pub(super) fn send(&self, c: Command) -> Result<(), AdapterError> {
        self.input.send(Input::Command(c)).map_err(|_| AdapterError::Closed)?;
        if let Some((socket, to)) = &self.wake {
            socket.send_to(&[], *to)?;
        }
        Ok(())
    }
}
