//! How an application record goes from a handle to its driver and back without a heap
//! allocation: each session has one [`AnswerBox`], where the driver leaves the result of
//! the handle's latest `send` together with the buffer that carried its data, which the
//! next `send` fills again; and one [`Recycler`] per driver takes back the buffers of
//! received records the application is done with, for the core to receive into again.
//! Neither makes a decision; the adapters wait on the box their own way (a condition
//! variable, a tokio `Notify`).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};

use super::AdapterError;

/// Wakes the handle that waits for an answer in an [`AnswerBox`].
pub(super) trait Wake: Send + Sync + 'static {
    fn wake(&self);
}

/// What the latest answered request of a session left.
struct Answered {
    /// Its number: the handle waits for the answer with the number of its request.
    seq: u64,
    result: Result<(), AdapterError>,
    /// The buffer that carried its data, empty once the next request took it.
    buf: Vec<u8>,
}

/// One session's place for the answers to its sends, shared by its handles and by the
/// request in flight. A handle sends one request at a time (its handles take turns), so
/// one place suffices; a request whose waiter gave up (a cancelled future) is answered all
/// the same, and the next waiter skips its answer by number.
pub(super) struct AnswerBox<W> {
    state: Mutex<Answered>,
    pub(super) wake: W,
}

impl<W: Wake> AnswerBox<W> {
    pub(super) fn new(wake: W) -> Arc<Self> {
        Arc::new(Self { state: Mutex::new(Answered { seq: 0, result: Ok(()), buf: Vec::new() }), wake })
    }

    /// The buffer to carry the next request's data: the last request's, emptied (a new,
    /// unallocated one while that request is still in flight).
    pub(super) fn take_buffer(&self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.lock().buf);
        buf.clear();
        buf
    }

    /// The result of request `seq`, once it is answered.
    #[cfg(any(test, feature = "tokio"))]
    pub(super) fn result(&self, seq: u64) -> Option<Result<(), AdapterError>> {
        Self::answer_of(&mut self.lock(), seq)
    }

    /// The result of request `seq` in `state`, once it is answered (taken: asked once).
    fn answer_of(state: &mut Answered, seq: u64) -> Option<Result<(), AdapterError>> {
        (state.seq == seq).then(|| std::mem::replace(&mut state.result, Ok(())))
    }

    fn lock(&self) -> MutexGuard<'_, Answered> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, seq: u64, result: Result<(), AdapterError>, buf: Vec<u8>) {
        let mut state = self.lock();
        *state = Answered { seq, result, buf };
        drop(state);
        self.wake.wake();
    }
}

#[cfg(any(test, feature = "std-net"))]
impl AnswerBox<std::sync::Condvar> {
    /// Block until request `seq` is answered; its result.
    pub(super) fn wait(&self, seq: u64) -> Result<(), AdapterError> {
        let mut state = self.lock();
        loop {
            if let Some(result) = Self::answer_of(&mut state, seq) {
                return result;
            }
            state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Wake for std::sync::Condvar {
    fn wake(&self) {
        self.notify_all();
    }
}

/// The driver's end of one request: answered once with [`Answer::send`]; dropped without
/// an answer (its driver stopped), it answers [`AdapterError::Closed`], so no handle waits
/// forever.
pub(in crate::adapter) struct Answer<W: Wake> {
    to: Option<Arc<AnswerBox<W>>>,
    seq: u64,
}

impl<W: Wake> Answer<W> {
    pub(super) fn new(to: Arc<AnswerBox<W>>, seq: u64) -> Self {
        Self { to: Some(to), seq }
    }

    /// Answer with `result`, giving back the buffer that carried the data.
    pub(super) fn send(mut self, result: Result<(), AdapterError>, buf: Vec<u8>) {
        if let Some(to) = self.to.take() {
            to.set(self.seq, result, buf);
        }
    }
}

impl<W: Wake> Drop for Answer<W> {
    fn drop(&mut self) {
        if let Some(to) = self.to.take() {
            to.set(self.seq, Err(AdapterError::Closed), Vec::new());
        }
    }
}

/// Buffers of received records on their way back to a driver: at most this many wait; a
/// buffer that finds the way full is freed.
const RECYCLED: usize = 32;

/// A handle's way to give a driver back the buffer of a record it received (`recycle`).
#[derive(Clone)]
pub(in crate::adapter) struct Recycler(SyncSender<Vec<u8>>);

impl Recycler {
    /// A recycler and the driver's end of it.
    pub(super) fn new() -> (Self, Receiver<Vec<u8>>) {
        let (tx, rx) = sync_channel(RECYCLED);
        (Self(tx), rx)
    }

    /// Give `buf` back; freed if the driver has enough waiting or has stopped.
    pub(super) fn give(&self, buf: Vec<u8>) {
        if buf.capacity() > 0 {
            match self.0.try_send(buf) {
                Ok(()) | Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Condvar;

    use super::*;

    #[test]
    fn an_answer_returns_its_buffer_for_the_next_request() {
        let b = AnswerBox::new(Condvar::new());
        let mut buf = b.take_buffer();
        buf.extend_from_slice(b"record");
        let ptr = buf.as_ptr();
        Answer::new(b.clone(), 1).send(Ok(()), buf);
        assert!(matches!(b.wait(1), Ok(())));
        let again = b.take_buffer();
        assert_eq!((again.as_ptr(), again.len()), (ptr, 0), "the same allocation, emptied");
    }

    #[test]
    fn an_unanswered_request_answers_closed() {
        let b = AnswerBox::new(Condvar::new());
        drop(Answer::new(b.clone(), 7));
        assert!(matches!(b.wait(7), Err(AdapterError::Closed)));
    }

    #[test]
    fn a_waiter_skips_the_answer_to_an_abandoned_request() {
        let b = AnswerBox::new(Condvar::new());
        let (old, new) = (Answer::new(b.clone(), 1), Answer::new(b.clone(), 2));
        old.send(Err(AdapterError::Closed), Vec::new());
        assert!(b.result(2).is_none(), "request 1's answer is not request 2's");
        let waiter = std::thread::spawn({
            let b = b.clone();
            move || b.wait(2)
        });
        new.send(Ok(()), Vec::with_capacity(8));
        assert!(matches!(waiter.join().unwrap(), Ok(())));
    }

    #[test]
    fn recycled_buffers_are_bounded_and_empty_ones_ignored() {
        let (r, rx) = Recycler::new();
        r.give(Vec::new());
        for _ in 0..RECYCLED + 5 {
            r.give(Vec::with_capacity(16));
        }
        assert_eq!(rx.try_iter().count(), RECYCLED);
        drop(rx);
        r.give(Vec::with_capacity(16));
    }
}
