//! The pending-event set: a monotone radix heap with FIFO order among equal times.
//!
//! A discrete-event simulation only ever schedules into the future, so the keys it
//! pops never decrease. A radix heap exploits that: an event sits in the bucket named by
//! the highest bit in which its time differs from the last time popped, and moves down a
//! bucket only when the buckets below it are empty. Buckets are plain vectors, so with a
//! million pending think-time timers the work stays sequential in memory instead of
//! chasing a binary heap's cache misses (`benches/speed.rs` measures the difference).
//!
//! Ties: every event of a given time is always in one bucket, in the order it was pushed
//! (pushes append; redistribution keeps order; no bucket below can hold that time yet),
//! and bucket 0 is drained from the front. So equal-time events pop in insertion order.

use super::time::SimTime;
use std::collections::VecDeque;

const BUCKETS: usize = 65;

/// A min-queue of `(SimTime, E)` that pops in time order, FIFO among equal times.
///
/// Architecture invariant: a pushed time is never earlier than the last popped time.
pub struct EventQueue<E> {
    /// Events whose time equals `last`, in push order.
    now: VecDeque<E>,
    /// `buckets[b]` holds events whose time differs from `last` first at bit `b` (from 0).
    buckets: [Vec<(u64, E)>; BUCKETS - 1],
    /// Bit `b` is set when `buckets[b]` is non-empty, so the lowest one is one instruction away.
    nonempty: u64,
    last: u64,
    len: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue { now: VecDeque::new(), buckets: std::array::from_fn(|_| Vec::new()), nonempty: 0, last: 0, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The time of the most recently popped event (zero before the first pop).
    pub fn last_popped(&self) -> SimTime {
        SimTime(self.last)
    }

    /// Schedules `event` at `time`. Panics in debug builds if `time` is in the past.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        debug_assert!(time.0 >= self.last, "event scheduled in the past: {} < {}", time.0, self.last);
        let t = time.0.max(self.last);
        self.len += 1;
        let diff = t ^ self.last;
        if diff == 0 {
            self.now.push_back(event);
        } else {
            let b = 63 - diff.leading_zeros() as usize;
            self.buckets[b].push((t, event));
            self.nonempty |= 1 << b;
        }
    }

    /// Removes and returns the earliest event (FIFO among equal times).
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.now.is_empty() {
            self.refill()?;
        }
        self.len -= 1;
        self.now.pop_front().map(|e| (SimTime(self.last), e))
    }

    /// Removes and returns the earliest event if it is due at or before `end`.
    #[inline]
    pub fn pop_due(&mut self, end: SimTime) -> Option<(SimTime, E)> {
        if self.now.is_empty() {
            // With few pending events the lowest bucket usually holds one: hand it out
            // directly instead of through `now`. (Bits above `b` of its time equal
            // `last`'s, so every other bucket stays valid for the new `last`.)
            let b = self.nonempty.trailing_zeros() as usize;
            if b < BUCKETS - 1 && self.buckets[b].len() == 1 {
                if self.buckets[b][0].0 > end.0 {
                    return None;
                }
                let (t, e) = self.buckets[b].pop().expect("one item");
                self.nonempty &= !(1 << b);
                self.last = t;
                self.len -= 1;
                return Some((SimTime(t), e));
            }
            self.refill()?;
        }
        if self.last > end.0 {
            return None;
        }
        self.len -= 1;
        self.now.pop_front().map(|e| (SimTime(self.last), e))
    }

    /// The time of the next event without removing it.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if self.now.is_empty() {
            self.refill()?;
        }
        Some(SimTime(self.last))
    }

    /// Moves the lowest non-empty bucket down so that `now` holds the next time's events.
    #[inline]
    fn refill(&mut self) -> Option<()> {
        if self.nonempty == 0 {
            return None;
        }
        let b = self.nonempty.trailing_zeros() as usize;
        self.nonempty &= !(1 << b);
        if self.buckets[b].len() == 1 {
            // The common case with few pending events: nothing to redistribute.
            let (t, e) = self.buckets[b].pop().expect("one item");
            self.last = t;
            self.now.push_back(e);
            return Some(());
        }
        let mut items = std::mem::take(&mut self.buckets[b]);
        let min = items.iter().map(|(t, _)| *t).min().expect("non-empty bucket");
        self.last = min;
        for (t, e) in items.drain(..) {
            let diff = t ^ min;
            if diff == 0 {
                self.now.push_back(e);
            } else {
                let nb = 63 - diff.leading_zeros() as usize;
                debug_assert!(nb < b);
                self.buckets[nb].push((t, e));
                self.nonempty |= 1 << nb;
            }
        }
        // Keep the allocation: this bucket will fill again.
        self.buckets[b] = items;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the schedule, events pop in (time, insertion order): the contract the
        /// whole simulator's determinism rests on.
        #[test]
        fn pops_in_time_then_insertion_order(ops in proptest::collection::vec((0u64..5, 0u64..1_000_000, any::<bool>()), 1..400)) {
            let mut q = EventQueue::new();
            let mut reference: Vec<(u64, usize)> = Vec::new();
            let mut popped = Vec::new();
            let mut expected = Vec::new();
            let mut id = 0usize;
            for (burst, delay, pop) in ops {
                let now = q.last_popped().0;
                for k in 0..=burst {
                    let t = now + if k % 2 == 0 { delay } else { delay / 3 };
                    q.push(SimTime(t), id);
                    reference.push((t, id));
                    id += 1;
                }
                if pop {
                    reference.sort();
                    let (t, e) = reference.remove(0);
                    expected.push((t, e));
                    let (pt, pe) = q.pop().unwrap();
                    popped.push((pt.0, pe));
                }
            }
            reference.sort();
            expected.extend(reference);
            while let Some((t, e)) = q.pop() { popped.push((t.0, e)); }
            prop_assert_eq!(popped, expected);
            prop_assert!(q.is_empty());
        }
    }

    #[test]
    fn equal_times_are_fifo() {
        let mut q = EventQueue::new();
        for i in 0..10 {
            q.push(SimTime(100), i);
        }
        q.push(SimTime(50), 99);
        assert_eq!(q.pop(), Some((SimTime(50), 99)));
        for i in 0..10 {
            assert_eq!(q.pop(), Some((SimTime(100), i)));
        }
        assert_eq!(q.pop(), None);
    }
}
