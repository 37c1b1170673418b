//! One timer structure for every session of an endpoint: a min-heap of
//! `(deadline, session, generation)` with lazy invalidation.
//!
//! Re-arming a session's timer pushes a new entry with a fresh generation; the old entry
//! stays in the heap and is discarded when it reaches the top. So arming is O(log n), the
//! next wake-up is O(log n) amortised, and firing touches only due sessions. This module
//! owns only the heap; it must never look at sessions or decide what a timer means.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use super::SessionHandle;

/// The armed timer of one session, as the session table remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Armed {
    pub at: Option<Instant>,
    pub generation: u64,
}

/// Deadlines of all sessions.
#[derive(Debug, Default)]
pub(crate) struct TimerHeap {
    heap: BinaryHeap<Reverse<(Instant, SessionHandle, u64)>>,
    next_generation: u64,
}

impl TimerHeap {
    /// Re-arm `armed` (the session's record) to `at`. Does nothing if unchanged.
    pub(crate) fn arm(&mut self, h: SessionHandle, armed: &mut Armed, at: Option<Instant>) {
        if armed.at == at {
            return;
        }
        self.next_generation += 1;
        *armed = Armed { at, generation: self.next_generation };
        if let Some(t) = at {
            self.heap.push(Reverse((t, h, self.next_generation)));
        }
    }

    /// Drop stale entries from the top, using `is_current` to check an entry against the
    /// session table, and return the earliest live deadline.
    pub(crate) fn next(&mut self, mut is_current: impl FnMut(SessionHandle, Instant, u64) -> bool) -> Option<Instant> {
        while let Some(Reverse((t, h, g))) = self.heap.peek().copied() {
            if is_current(h, t, g) {
                return Some(t);
            }
            self.heap.pop();
        }
        None
    }

    /// Pop the earliest entry due at `now`, live or stale (the caller checks).
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(SessionHandle, Instant, u64)> {
        let Reverse((t, h, g)) = self.heap.peek().copied()?;
        if t > now {
            return None;
        }
        self.heap.pop();
        Some((h, t, g))
    }

    /// Entries in the heap, stale ones included.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Rebuild the heap from the live entries only (called when stale entries pile up).
    pub(crate) fn compact(&mut self, mut is_current: impl FnMut(SessionHandle, Instant, u64) -> bool) {
        self.heap.retain(|Reverse((t, h, g))| is_current(*h, *t, *g));
    }

    /// Forget everything.
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}
