//! The thread that reads a socket for its driver ([`Reader`]) when no wake-up datagram could
//! reach a driver blocked on it: a connected socket takes datagrams only from its peer, and
//! the kernel hashes a wake-up sent to a worker's shared address to whichever worker it
//! likes. The driver waits on its channel instead, and this thread feeds it through the
//! driver's bounded [`Inbox`]. It passes datagrams and errors on, and decides nothing.

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::Duration;

use super::channels::{Inbox, Input};
use crate::adapter::AdapterError;
use crate::adapter::driver;

/// How often the reader thread of a connected endpoint checks whether its driver stopped,
/// in case the datagram that wakes it at once did not arrive.
const READER_POLL: Duration = Duration::from_millis(500);

/// The thread that reads a socket for its driver (which waits on its channel), stopped and
/// joined when dropped.
pub(super) struct Reader {
    socket: Arc<UdpSocket>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    /// Read `socket` into buffers the driver gave back through `spares` (new ones when none
    /// are waiting), and pass each datagram on to `to`.
    pub(super) fn spawn(
        socket: Arc<UdpSocket>,
        to: Inbox,
        spares: Receiver<Vec<u8>>,
        name: String,
    ) -> Result<Self, AdapterError> {
        socket.set_read_timeout(Some(READER_POLL))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (s, halt) = (socket.clone(), stop.clone());
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            let mut buf = vec![0u8; 65536];
            // The buffer of the last datagram the inbox had no room for.
            let mut dropped = Vec::new();
            let mut errors = 0u32;
            while !halt.load(Ordering::Acquire) {
                let passed = match s.recv_from(&mut buf) {
                    // Empty datagrams are never DTLS (the stop nudge among them).
                    Ok((0, _)) => continue,
                    Ok((n, from)) => {
                        errors = 0;
                        // A full inbox drops the datagram. The driver stops this thread (`halt`)
                        // before it lets go of its channel.
                        let mut d = match std::mem::take(&mut dropped) {
                            d if d.capacity() > 0 => d,
                            _ => spares.try_recv().unwrap_or_default(),
                        };
                        d.clear();
                        d.extend_from_slice(buf.get(..n).unwrap_or_default());
                        if let Err(Input::Datagram(_, d)) = to.push(Input::Datagram(from, d)) {
                            // Dropped (a full inbox): its buffer serves the next datagram.
                            dropped = d;
                        }
                        true
                    }
                    Err(e) if is_timeout(&e) => continue,
                    Err(e) => {
                        errors = errors.saturating_add(1);
                        to.send(Input::Failed(e))
                    }
                };
                if !passed {
                    break;
                }
                if let Some(pause) = driver::error_pause(errors) {
                    std::thread::sleep(pause);
                }
            }
        })?;
        Ok(Self { socket, stop, thread: Some(thread) })
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the thread out of `recv_from` now. On Linux, shutting the socket down for
        // reading ends a blocked receive with 0 bytes, connected or not (for an unconnected
        // one the call reports ENOTCONN, and wakes it all the same). Elsewhere: a connected
        // socket takes datagrams only from its peer, so connect it to itself and send it an
        // empty datagram (which, for a worker's socket, may reach another worker of the
        // group instead). Should both fail, the thread sees `stop` within READER_POLL.
        let _ = socket2::SockRef::from(&*self.socket).shutdown(std::net::Shutdown::Read);
        if let Ok(me) = self.socket.local_addr()
            && self.socket.connect(me).is_ok()
        {
            let _ = self.socket.send(&[]);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A receive that ended because its timeout passed (or a signal), not an error.
pub(super) fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}
