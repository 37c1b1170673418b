//! Anti-replay protection for one epoch: a 64-record sliding window over the 48-bit record
//! sequence numbers (RFC 6347 §4.1.2.6).
//!
//! This module owns only the window arithmetic. It must never decide on its own that a record
//! is genuine: [`ReplayWindow::check`] is a read-only question asked before decryption, and
//! [`ReplayWindow::mark`] is called by the record layer only after the record was
//! authenticated (a window moved by a forged record would discard genuine ones, as in
//! OpenSSL CVE-2016-2181). One window per epoch.

// docs/security.md item 5.

/// Number of sequence numbers the window remembers below the highest one seen.
pub const REPLAY_WINDOW_SIZE: u64 = 64;

/// One past the largest DTLS record sequence number (sequence numbers are 48 bits).
pub const SEQUENCE_LIMIT: u64 = 1 << 48;

/// A sliding anti-replay window for one epoch (RFC 6347 §4.1.2.6).
///
/// Bit `i` of the bitmap stands for sequence number `max_seen - i`; a set bit means that record
/// was received and authenticated.
///
/// ```
/// use dtls_engine::internals::record::replay::ReplayWindow;
///
/// let mut w = ReplayWindow::new();
/// assert!(w.check(7));
/// // ... decrypt and authenticate record 7, then:
/// w.mark(7);
/// assert!(!w.check(7));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    /// The highest authenticated sequence number, if any record was marked yet.
    max_seen: Option<u64>,
    /// Bit `i` set: `max_seen - i` was marked.
    bitmap: u64,
}

impl ReplayWindow {
    /// An empty window: every sequence number below 2^48 is acceptable.
    pub fn new() -> Self {
        Self::default()
    }

    /// True if a record with sequence number `seq` may be processed: it is a valid 48-bit
    /// sequence number, not older than the window, and not already marked.
    ///
    /// This never changes the window; a record that passes must still be authenticated
    /// before [`ReplayWindow::mark`] is called for it.
    pub fn check(&self, seq: u64) -> bool {
        if seq >= SEQUENCE_LIMIT {
            return false;
        }
        let Some(max) = self.max_seen else {
            return true;
        };
        // RFC 6347 §4.1.2.6: a record to the right of the window is new; one inside the
        // window is new unless already received; one to the left of it is discarded.
        if seq > max {
            return true;
        }
        let age = max - seq;
        if age >= REPLAY_WINDOW_SIZE {
            return false;
        }
        self.bitmap & (1u64 << age) == 0
    }

    /// Record that `seq` was received.
    ///
    /// **Call this ONLY after the record carrying `seq` was successfully authenticated (the
    /// AEAD open succeeded).** Marking before authentication lets a forged record with a far
    /// future sequence number slide the window and make every genuine record look too old
    /// (RFC 6347 §4.1.2.6: "The receive window is updated only if the MAC verification
    /// succeeds"; OpenSSL CVE-2016-2181).
    ///
    /// Values at or above 2^48, and values already left of the window, are ignored.
    pub fn mark(&mut self, seq: u64) {
        if seq >= SEQUENCE_LIMIT {
            return;
        }
        let Some(max) = self.max_seen else {
            self.max_seen = Some(seq);
            self.bitmap = 1;
            return;
        };
        if seq > max {
            let shift = seq - max;
            self.bitmap = if shift >= REPLAY_WINDOW_SIZE { 0 } else { self.bitmap << shift };
            self.bitmap |= 1;
            self.max_seen = Some(seq);
        } else {
            let age = max - seq;
            if age < REPLAY_WINDOW_SIZE {
                self.bitmap |= 1u64 << age;
            }
        }
    }

    /// The highest sequence number marked so far.
    pub fn max_seen(&self) -> Option<u64> {
        self.max_seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn fresh_window_accepts_everything_valid() {
        let w = ReplayWindow::new();
        assert!(w.check(0));
        assert!(w.check(SEQUENCE_LIMIT - 1));
        assert!(!w.check(SEQUENCE_LIMIT));
        assert!(!w.check(u64::MAX));
    }

    #[test]
    fn duplicates_and_old_records_are_rejected() {
        let mut w = ReplayWindow::new();
        w.mark(100);
        assert!(!w.check(100));
        assert!(w.check(99));
        assert!(w.check(37)); // 100 - 63: the oldest slot still in the window
        assert!(!w.check(36)); // 36 + 64 <= 100
        assert!(w.check(101));
        w.mark(37);
        assert!(!w.check(37));
        w.mark(200);
        assert!(!w.check(100)); // slid out
        assert!(w.check(199));
    }

    /// Regression for OpenSSL CVE-2016-2181: checking must not move the window, so a forged
    /// record with a huge sequence number that fails authentication changes nothing.
    #[test]
    fn check_does_not_mutate() {
        let mut w = ReplayWindow::new();
        w.mark(10);
        let before = w.clone();
        assert!(w.check(SEQUENCE_LIMIT - 1));
        assert_eq!(w, before);
        assert!(w.check(11));
    }

    #[test]
    fn out_of_range_mark_is_ignored() {
        let mut w = ReplayWindow::new();
        w.mark(SEQUENCE_LIMIT);
        assert_eq!(w.max_seen(), None);
        w.mark(SEQUENCE_LIMIT - 1);
        assert!(!w.check(SEQUENCE_LIMIT - 1));
        assert!(w.check(SEQUENCE_LIMIT - 2));
    }

    /// The naive model: every sequence number ever marked, plus the maximum.
    #[derive(Default)]
    struct Model {
        seen: BTreeSet<u64>,
        max_seen: Option<u64>,
    }

    impl Model {
        fn check(&self, seq: u64) -> bool {
            if seq >= SEQUENCE_LIMIT || self.seen.contains(&seq) {
                return false;
            }
            !matches!(self.max_seen, Some(max) if seq + REPLAY_WINDOW_SIZE <= max)
        }
        fn mark(&mut self, seq: u64) {
            self.seen.insert(seq);
            self.max_seen = self.max_seen.max(Some(seq));
        }
    }

    fn seq_strategy() -> impl Strategy<Value = u64> {
        prop_oneof![0u64..200, (SEQUENCE_LIMIT - 200)..(SEQUENCE_LIMIT + 5), any::<u64>(),]
    }

    proptest! {
        #[test]
        fn agrees_with_naive_model(
            start in 0u64..SEQUENCE_LIMIT,
            steps in proptest::collection::vec((seq_strategy(), any::<bool>()), 0..300),
        ) {
            let mut w = ReplayWindow::new();
            let mut m = Model::default();
            for (raw, relative) in steps {
                // Half the steps land near `start` so the window is exercised densely.
                let seq = if relative { start.wrapping_add(raw % 150) } else { raw };
                let accepted = w.check(seq);
                prop_assert_eq!(accepted, m.check(seq), "seq {}", seq);
                if accepted {
                    w.mark(seq);
                    m.mark(seq);
                }
            }
        }
    }
}
