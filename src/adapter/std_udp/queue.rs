//! The std driver's input channel ([`queue`]): many senders, one receiver, items in order.
//! A deque behind a mutex with a condition variable, so that once it has grown to the
//! largest backlog it held, passing an item allocates nothing (the standard library's
//! unbounded channel allocates a block for every 31 items, which per application record
//! was the std adapter's last allocation). It never blocks a sender and never decides
//! anything about what it carries.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct Shared<T> {
    /// The items, and whether the receiver is gone (then sends fail).
    state: Mutex<(VecDeque<T>, bool)>,
    ready: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, (VecDeque<T>, bool)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A new channel: its sending end (cloned for every sender) and its receiving end.
pub(super) fn queue<T>() -> (QueueSender<T>, QueueReceiver<T>) {
    let shared = Arc::new(Shared { state: Mutex::new((VecDeque::new(), false)), ready: Condvar::new() });
    (QueueSender(shared.clone()), QueueReceiver(shared))
}

/// A sending end.
pub(super) struct QueueSender<T>(Arc<Shared<T>>);

impl<T> Clone for QueueSender<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> QueueSender<T> {
    /// Queue `item`; given back if the receiver is gone.
    pub(super) fn send(&self, item: T) -> Result<(), T> {
        let mut state = self.0.lock();
        if state.1 {
            return Err(item);
        }
        state.0.push_back(item);
        drop(state);
        self.0.ready.notify_one();
        Ok(())
    }
}

/// The receiving end. Dropping it fails later sends and drops what waits (outside the
/// lock: dropping a request answers its handle).
pub(super) struct QueueReceiver<T>(Arc<Shared<T>>);

impl<T> QueueReceiver<T> {
    /// The next item, if one waits.
    pub(super) fn try_recv(&self) -> Option<T> {
        self.0.lock().0.pop_front()
    }

    /// The next item, waiting for it up to `wait` (`None`: as long as it takes); `None` if
    /// none came in time.
    pub(super) fn recv_timeout(&self, wait: Option<Duration>) -> Option<T> {
        let deadline = wait.and_then(|d| Instant::now().checked_add(d));
        let mut state = self.0.lock();
        loop {
            if let Some(item) = state.0.pop_front() {
                return Some(item);
            }
            state = match deadline {
                None => self.0.ready.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(at) => {
                    let left = at.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
                    self.0.ready.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
    }
}

impl<T> Drop for QueueReceiver<T> {
    fn drop(&mut self) {
        let waiting = {
            let mut state = self.0.lock();
            state.1 = true;
            std::mem::take(&mut state.0)
        };
        drop(waiting);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_arrive_in_order_from_several_senders() {
        let (tx, rx) = queue();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let tx = tx.clone();
                std::thread::spawn(move || (0..100).for_each(|i| tx.send((t, i)).unwrap()))
            })
            .collect();
        let mut last = [None; 4];
        for _ in 0..400 {
            let (t, i) = rx.recv_timeout(Some(Duration::from_secs(30))).unwrap();
            assert!(last[t].is_none_or(|l| l + 1 == i), "thread {t}: {i} after {:?}", last[t]);
            last[t] = Some(i);
        }
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert!(rx.try_recv().is_none());
    }

    #[test]
    fn a_wait_ends_at_its_timeout_and_sends_fail_once_the_receiver_is_gone() {
        let (tx, rx) = queue::<u8>();
        assert_eq!(rx.recv_timeout(Some(Duration::from_millis(5))), None);
        assert_eq!(rx.recv_timeout(Some(Duration::ZERO)), None);
        tx.send(1).unwrap();
        assert_eq!(rx.recv_timeout(None), Some(1));
        // What waits when the receiver goes is dropped with it.
        let item = Arc::new(());
        let (tx, rx) = queue();
        tx.send(item.clone()).unwrap();
        drop(rx);
        assert_eq!(Arc::strong_count(&item), 1);
        assert!(tx.send(item).is_err());
    }

    #[test]
    fn a_grown_queue_reuses_its_room() {
        let (tx, rx) = queue();
        (0..64).for_each(|i| tx.send(i).unwrap());
        while rx.try_recv().is_some() {}
        let room = rx.0.lock().0.capacity();
        for i in 0..10_000 {
            tx.send(i).unwrap();
            assert_eq!(rx.try_recv(), Some(i));
        }
        assert_eq!(rx.0.lock().0.capacity(), room);
    }
}
