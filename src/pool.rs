//! A small free list of byte buffers, so steady-state application records need no heap
//! allocation: datagrams and received payloads are built in recycled buffers, and the
//! application hands them back with `recycle`. Bounded: it never holds more than
//! [`BufferPool::MAX_BUFFERS`] buffers, nor any buffer larger than [`BufferPool::MAX_KEPT`].

/// Recycled `Vec<u8>` buffers.
#[derive(Debug, Default)]
pub struct BufferPool {
    free: Vec<Vec<u8>>,
    /// Released (see [`BufferPool::release`]): buffers given back are freed, not kept, until
    /// [`BufferPool::reopen`].
    released: bool,
}

impl BufferPool {
    /// Most buffers kept for reuse.
    pub const MAX_BUFFERS: usize = 16;
    /// Buffers with more capacity than this are freed rather than kept.
    pub const MAX_KEPT: usize = 1 << 17;

    /// An empty buffer, with at least `capacity` bytes when a new one must be made.
    pub fn take(&mut self, capacity: usize) -> Vec<u8> {
        match self.free.pop() {
            Some(mut b) => {
                b.clear();
                b.reserve(capacity);
                b
            }
            None => Vec::with_capacity(capacity),
        }
    }

    /// An empty buffer for a caller that needs no capacity: a recycled one if any (kept
    /// buffers are already empty), else a new unallocated one.
    pub fn take_spare(&mut self) -> Vec<u8> {
        self.free.pop().unwrap_or_default()
    }

    /// Free every buffer (and the list's room), and keep none given back until
    /// [`BufferPool::reopen`]: a session calls this when its handshake completes, so an idle
    /// established session holds no buffer, not even one the application swapped in after
    /// (the datagrams that end the handshake, an ACK, go out through
    /// `poll_transmit_into`, which hands the session the application's previous buffer).
    pub fn release(&mut self) {
        self.free = Vec::new();
        self.released = true;
    }

    /// Whether the pool was released and not reopened since: the session is idle after its
    /// handshake, and drained queues give back their room too.
    #[inline]
    pub fn is_released(&self) -> bool {
        self.released
    }

    /// Keep buffers given back again: the application sends or recycles, so its records
    /// reuse them from now on.
    pub fn reopen(&mut self) {
        self.released = false;
    }

    /// Give a buffer back for reuse.
    pub fn put(&mut self, mut buf: Vec<u8>) {
        if !self.released
            && self.free.len() < Self::MAX_BUFFERS
            && buf.capacity() <= Self::MAX_KEPT
            && buf.capacity() > 0
        {
            buf.clear();
            self.free.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_bounded() {
        let mut p = BufferPool::default();
        let mut b = p.take(100);
        b.extend_from_slice(b"abc");
        let ptr = b.as_ptr();
        p.put(b);
        let again = p.take(10);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), ptr);
        for _ in 0..100 {
            p.put(Vec::with_capacity(8));
        }
        assert_eq!(p.free.len(), BufferPool::MAX_BUFFERS);
        p.put(Vec::with_capacity(BufferPool::MAX_KEPT + 1));
        assert_eq!(p.free.len(), BufferPool::MAX_BUFFERS);
    }

    #[test]
    fn a_released_pool_keeps_nothing_until_reopened() {
        let mut p = BufferPool::default();
        p.put(Vec::with_capacity(8));
        p.release();
        assert_eq!(p.free.capacity(), 0);
        p.put(Vec::with_capacity(8));
        assert!(p.free.is_empty());
        p.reopen();
        p.put(Vec::with_capacity(8));
        assert_eq!(p.free.len(), 1);
    }
}
