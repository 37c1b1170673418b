//! The endpoint's session table: a slab of slots indexed by the low 32 bits of a
//! [`SessionHandle`], whose high 32 bits are the slot's generation.
//!
//! A lookup by handle is an index and one comparison: no hashing, no probing, and the
//! entry's first bytes share a cache line with the generation checked. A freed slot's
//! generation is bumped, so a stale handle finds nothing even after the slot is reused.
//! This module owns only storage; it must never look inside an entry.

use super::SessionHandle;

/// `repr(C)`, cache-line aligned: the generation checked on every lookup shares a line with
/// the start of the entry, and an entry's hot fields always fall on the same lines.
#[repr(C, align(64))]
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// Entries addressed by generation-checked handles.
pub(crate) struct Table<T> {
    slots: Vec<Slot<T>>,
    /// Indices of empty slots, reused last-freed first.
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self { slots: Vec::new(), free: Vec::new(), len: 0 }
    }
}

fn split(h: SessionHandle) -> (usize, u32) {
    ((h.0 & 0xffff_ffff) as usize, (h.0 >> 32) as u32)
}

fn join(index: usize, generation: u32) -> SessionHandle {
    SessionHandle((u64::from(generation) << 32) | index as u64)
}

impl<T> Table<T> {
    /// Live entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn get(&self, h: SessionHandle) -> Option<&T> {
        let (i, g) = split(h);
        let slot = self.slots.get(i)?;
        if slot.generation != g {
            return None;
        }
        slot.value.as_ref()
    }

    pub(crate) fn get_mut(&mut self, h: SessionHandle) -> Option<&mut T> {
        let (i, g) = split(h);
        let slot = self.slots.get_mut(i)?;
        if slot.generation != g {
            return None;
        }
        slot.value.as_mut()
    }

    /// Store `value` and return its handle. Handles are never reused: a slot's generation
    /// changes each time it is freed (after 2^32 reuses of one slot, a handle kept that long
    /// would alias; the endpoint caps sessions far below the rate that needs).
    pub(crate) fn insert(&mut self, value: T) -> SessionHandle {
        self.len += 1;
        if let Some(i) = self.free.pop() {
            let i = i as usize;
            if let Some(slot) = self.slots.get_mut(i) {
                slot.value = Some(value);
                return join(i, slot.generation);
            }
        }
        let i = self.slots.len();
        self.slots.push(Slot { generation: 0, value: Some(value) });
        join(i, 0)
    }

    pub(crate) fn remove(&mut self, h: SessionHandle) -> Option<T> {
        let (i, g) = split(h);
        let slot = self.slots.get_mut(i)?;
        if slot.generation != g {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.len -= 1;
        // Slot indices fit in 32 bits: `insert` is only reached below `max_sessions`.
        self.free.push(i as u32);
        Some(value)
    }

    /// Handles of the live entries, in slot order.
    pub(crate) fn handles(&self) -> Vec<SessionHandle> {
        self.iter().map(|(h, _)| h).collect()
    }

    /// The live entries with their handles, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (SessionHandle, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.value.as_ref().map(|v| (join(i, s.generation), v)))
    }

    /// Remove every entry, returning them with their handles in slot order.
    pub(crate) fn drain(&mut self) -> Vec<(SessionHandle, T)> {
        let handles = self.handles();
        handles.into_iter().filter_map(|h| self.remove(h).map(|v| (h, v))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_find_nothing_after_reuse() {
        let mut t = Table::default();
        let a = t.insert("a");
        let b = t.insert("b");
        assert_eq!(t.remove(a), Some("a"));
        assert_eq!(t.get(a), None);
        let c = t.insert("c");
        assert_ne!(c, a, "a reused slot gets a new handle");
        assert_eq!(t.get(a), None);
        assert_eq!(t.remove(a), None);
        assert_eq!((t.get(b), t.get(c), t.len()), (Some(&"b"), Some(&"c"), 2));
        assert_eq!(t.drain(), vec![(c, "c"), (b, "b")]);
        assert!(t.is_empty());
    }

    #[test]
    fn forged_handles_find_nothing() {
        let mut t = Table::default();
        let a = t.insert(1u8);
        assert_eq!(t.get(SessionHandle(a.0 + 1)), None);
        assert_eq!(t.get(SessionHandle(a.0 | 1 << 40)), None);
        assert_eq!(t.get_mut(SessionHandle(u64::MAX)), None);
    }
}
