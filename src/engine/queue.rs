//! The pending-event set: a monotone radix heap in base 64, FIFO among equal times.
//!
//! A discrete-event simulation only ever schedules into the future, so the times it
//! pops never decrease. A radix heap exploits that: an event sits in the bucket named by
//! the highest digit in which its time differs from the last time popped (its *level*)
//! and by its own value of that digit, and moves to a lower level only when everything
//! below it has been popped. With digits of 6 bits an event moves at most ten times however
//! far ahead it is scheduled (a think time of ten seconds in nanoseconds moves at most
//! five times; in base 2 it would move up to 33 times), each level's non-empty buckets are
//! one 64-bit word (so the lowest is one instruction away), and every move is a push
//! onto a plain vector, so a million pending timers stay sequential in memory instead of
//! chasing a binary heap's cache misses (`benches/speed.rs` measures the difference).
//!
//! Ties: every event of a given time is always in one bucket (the bucket is a function of
//! the time and the last time popped), in the order it was pushed: pushes append, moving
//! a bucket down keeps its order, and nothing can be below a bucket being moved. Events
//! of the current time are drained from the front of `now`. So equal-time events pop in
//! insertion order.
//!
//! Few events: while no more than `SMALL` events are pending (an M/M/1 queue has two)
//! they wait in a short array sorted latest first, FIFO among equal times, and a pop
//! takes the last; the radix levels, whose buckets are spread over several cache lines,
//! take over when the array is full and hand back once they are empty.
//!
//! Deadlines: timers of one fixed length (a client's timeout) are pushed in time order,
//! so they wait in a FIFO of their own instead of moving down the radix levels (a 30 s
//! timeout would move five times, into buckets last touched a second earlier). A deadline
//! pops when it is earlier than every other pending event; at an equal time it pops after
//! them (a deadline fires once everything else of its instant has happened).

use super::time::SimTime;
use std::collections::VecDeque;

const DIGIT_BITS: u32 = 6;
const DIGITS: usize = 1 << DIGIT_BITS;
const LEVELS: usize = 64_usize.div_ceil(DIGIT_BITS as usize);
/// Buckets of levels below this keep their allocation when drained (level 4's digit is
/// 2^24 ns, about 17 ms, so level 5's buckets are drained about once a second).
const KEEP_ALLOCATION_BELOW_LEVEL: usize = 5;
/// A higher level's bucket keeps an allocation of at most this many events (6 levels of
/// 64 buckets, so under 1 MB in all), so that a queue of a few events a second ahead does
/// not allocate and free at every refill.
const KEEP_SMALL_ALLOCATION: usize = 64;
/// Larger allocations of drained high-level buckets wait, this many at most and each of at
/// most `SPARE_MAX_CAPACITY` events (under 7 MB in all), for the next empty high-level
/// bucket an event is placed in: thousands of timers seconds ahead then fill a bucket without
/// growing it from nothing, copy after copy.
const SPARE_BUCKETS: usize = 8;
const SPARE_MAX_CAPACITY: usize = 1 << 15;

/// At most this many pending events wait in the short sorted array (see the module's doc).
const SMALL: usize = 16;

/// A min-queue of `(SimTime, E)` that pops in time order, FIFO among equal times (a
/// deadline after the other events of its time).
///
/// Architecture invariant: a pushed time is never earlier than the last popped time.
pub struct EventQueue<E> {
    /// While `few` holds: every pending event but the deadlines, latest first (the next
    /// to pop is last), FIFO among equal times; the radix levels and `now` are empty.
    /// Otherwise empty.
    small: Vec<(u64, E)>,
    /// Pushes go to `small` (see the module's doc).
    few: bool,
    /// Events whose time equals `last`, in push order.
    now: VecDeque<(u64, E)>,
    /// `buckets[level * DIGITS + digit]`: events whose time first differs from `last` in
    /// digit `level` (counted from the least significant) and has value `digit` there.
    buckets: Vec<Vec<(u64, E)>>,
    /// The earliest time in each bucket (`u64::MAX` when empty), kept as events are
    /// placed, so a refill reads a large bucket once instead of twice.
    mins: Vec<u64>,
    /// Allocations of drained high-level buckets, for buckets that have none.
    spare: Vec<Vec<(u64, E)>>,
    /// Deadlines, in time order (see the module's doc).
    deadlines: VecDeque<(u64, E)>,
    /// The event `front_due` handed out is the first deadline.
    front_is_deadline: bool,
    /// The time of the last deadline popped.
    last_deadline: u64,
    /// Per level, one bit per non-empty digit bucket.
    occupied: [u64; LEVELS],
    /// One bit per level with any non-empty bucket.
    levels: u32,
    last: u64,
    len: usize,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            small: Vec::with_capacity(SMALL),
            few: true,
            now: VecDeque::new(),
            buckets: (0..LEVELS * DIGITS).map(|_| Vec::new()).collect(),
            mins: vec![u64::MAX; LEVELS * DIGITS],
            spare: Vec::new(),
            deadlines: VecDeque::new(),
            front_is_deadline: false,
            last_deadline: 0,
            occupied: [0; LEVELS],
            levels: 0,
            last: 0,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The time of the most recently popped event (zero before the first pop).
    pub fn last_popped(&self) -> SimTime {
        SimTime(self.last.max(self.last_deadline))
    }

    /// Schedules `event` at `time`. Panics in debug builds if `time` is in the past.
    #[inline(always)]
    pub fn push(&mut self, time: SimTime, event: E) {
        debug_assert!(time.0 >= self.last, "event scheduled in the past: {} < {}", time.0, self.last);
        let t = time.0.max(self.last);
        self.len += 1;
        if self.few {
            if self.small.len() < SMALL {
                // Slides in from the end (the earliest) past every event not later than
                // it: events of the same time were pushed earlier and pop first.
                self.small.push((t, event));
                let small = &mut self.small[..];
                let mut at = small.len() - 1;
                while at > 0 && small[at - 1].0 <= t {
                    small[at] = small[at - 1];
                    at -= 1;
                }
                small[at] = (t, event);
                return;
            }
            self.spill_to_levels();
        }
        self.push_levels(t, event);
    }

    /// The array is full: its events move to the radix levels, earliest first (so equal
    /// times keep their order), and the queue works on the levels until they are empty.
    #[cold]
    fn spill_to_levels(&mut self) {
        self.few = false;
        let small = std::mem::take(&mut self.small);
        for &(t, e) in small.iter().rev() {
            self.push_levels(t, e);
        }
        self.small = small;
        self.small.clear();
    }

    /// Puts an event in the radix levels (or `now`).
    #[inline(always)]
    fn push_levels(&mut self, t: u64, event: E) {
        let diff = t ^ self.last;
        if diff == 0 {
            self.now.push_back((t, event));
        } else {
            self.place(t, event, diff);
        }
    }

    /// Schedules a deadline: `event` at `time`, no earlier than the last deadline pushed
    /// (timers of one fixed length, pushed as the clock advances, are). An earlier one
    /// would break the FIFO's order, so it goes through the radix levels instead.
    #[inline]
    pub fn push_deadline(&mut self, time: SimTime, event: E) {
        debug_assert!(time.0 >= self.last, "deadline in the past: {} < {}", time.0, self.last);
        match self.deadlines.back() {
            Some(&(latest, _)) if time.0 < latest => self.push(time, event),
            _ => {
                self.len += 1;
                self.deadlines.push_back((time.0.max(self.last), event));
            }
        }
    }

    /// Puts an event whose time differs from `last` (`diff = t ^ last`, non-zero) in its bucket.
    #[inline(always)]
    fn place(&mut self, t: u64, event: E, diff: u64) {
        let level = ((63 - diff.leading_zeros()) / DIGIT_BITS) as usize;
        let digit = ((t >> (level as u32 * DIGIT_BITS)) as usize) & (DIGITS - 1);
        let index = level * DIGITS + digit;
        let bucket = &mut self.buckets[index];
        if bucket.capacity() == 0
            && level >= KEEP_ALLOCATION_BELOW_LEVEL
            && let Some(spare) = self.spare.pop()
        {
            *bucket = spare;
        }
        bucket.push((t, event));
        self.mins[index] = self.mins[index].min(t);
        self.occupied[level] |= 1 << digit;
        self.levels |= 1 << level;
    }

    /// The lowest non-empty bucket: (level, index into `buckets`).
    #[inline(always)]
    fn lowest(&self) -> Option<(usize, usize)> {
        if self.levels == 0 {
            return None;
        }
        let level = self.levels.trailing_zeros() as usize;
        let digit = self.occupied[level].trailing_zeros() as usize;
        Some((level, level * DIGITS + digit))
    }

    /// Marks bucket `index` (at `level`) empty.
    #[inline(always)]
    fn clear(&mut self, level: usize, index: usize) {
        let digit = index - level * DIGITS;
        self.mins[index] = u64::MAX;
        self.occupied[level] &= !(1 << digit);
        if self.occupied[level] == 0 {
            self.levels &= !(1 << level);
        }
    }

    /// Removes and returns the earliest event (FIFO among equal times).
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let &(t, e) = self.front_due(SimTime::MAX)?;
        self.remove_front();
        Some((SimTime(t), e))
    }

    /// The earliest event, left in place, if it is due at or before `end`: read it, then
    /// [`EventQueue::remove_front`] before pushing anything. (The loop reads the event
    /// where it lies: moving it out through an `Option` made the compiler split a 16-byte
    /// event into overlapping 8-byte copies that stall the processor's store forwarding.)
    #[inline(always)]
    pub fn front_due(&mut self, end: SimTime) -> Option<&(u64, E)> {
        if let Some(&(deadline, _)) = self.deadlines.front()
            && self.next_levels_time().is_none_or(|t| deadline < t)
        {
            self.front_is_deadline = true;
            return if deadline <= end.0 { self.deadlines.front() } else { None };
        }
        self.front_is_deadline = false;
        if self.now.is_empty() {
            let Some((_, index)) = self.lowest() else {
                // The levels are empty: the short array holds whatever is pending (it
                // is empty unless `few`), so the levels' path pays no extra test for it.
                let entry = self.small.last()?;
                return (entry.0 <= end.0).then_some(entry);
            };
            // With few pending events the lowest bucket usually holds one: hand it out
            // directly. (Its time shares every digit above its level with `last` and has
            // the lowest digit at that level, so every other bucket stays valid for it as
            // the new `last`.)
            if self.buckets[index].len() == 1 {
                let entry = &self.buckets[index][0];
                return (entry.0 <= end.0).then_some(entry);
            }
            self.refill();
        }
        if self.last > end.0 {
            return None;
        }
        self.now.front()
    }

    /// Removes the event [`EventQueue::front_due`] returned.
    #[inline(always)]
    pub fn remove_front(&mut self) {
        self.len -= 1;
        if self.front_is_deadline {
            // The radix levels keep `last`: every event in them is later than this
            // deadline, and so is everything pushed from now on.
            if let Some((t, _)) = self.deadlines.pop_front() {
                self.last_deadline = t;
            }
        } else if self.now.pop_front().is_none() {
            match self.lowest() {
                None => {
                    if let Some((t, _)) = self.small.pop() {
                        self.last = t;
                    }
                }
                Some((level, index)) => {
                    let bucket = &mut self.buckets[index];
                    self.last = bucket[0].0;
                    bucket.clear();
                    self.clear(level, index);
                    // The levels are empty (and `now` was): the short array takes over again.
                    self.few = self.levels == 0;
                }
            }
        }
    }

    /// The time of the next event that is not a deadline, if any.
    #[inline(always)]
    fn next_levels_time(&self) -> Option<u64> {
        if !self.now.is_empty() {
            return Some(self.last);
        }
        match self.lowest() {
            Some((_, index)) => Some(self.mins[index]),
            None => self.small.last().map(|&(t, _)| t),
        }
    }

    /// Moves buckets down until `now` holds the next time's events. Call only when `now`
    /// is empty and some bucket is not.
    fn refill(&mut self) {
        if let Some((level, index)) = self.lowest() {
            let min = self.mins[index];
            self.clear(level, index);
            let mut items = std::mem::take(&mut self.buckets[index]);
            if level == 0 {
                // Every event here has the same time: they become `now`, in order, and the
                // emptied `now` lends its allocation to the bucket.
                self.last = items[0].0;
                let spare = std::mem::replace(&mut self.now, VecDeque::from(items));
                self.buckets[index] = Vec::from(spare);
                return;
            }
            debug_assert_eq!(Some(min), items.iter().map(|(t, _)| *t).min());
            self.last = min;
            // Read in place, not drained: moving an event out through an `Option` splits it
            // into overlapping copies the processor cannot forward (see `front_due`).
            for &(t, e) in &items {
                let diff = t ^ min;
                if diff == 0 {
                    self.now.push_back((t, e));
                } else {
                    debug_assert!(((63 - diff.leading_zeros()) / DIGIT_BITS) < level as u32);
                    self.place(t, e, diff);
                }
            }
            items.clear();
            // A low level's bucket fills again within milliseconds: keep its allocation. A
            // high level's is drained once per digit period (a second and up) and would
            // otherwise hold its largest-ever size forever; as simulated time advances
            // ever more of them are touched, so keeping them made memory grow with it.
            if level < KEEP_ALLOCATION_BELOW_LEVEL || items.capacity() <= KEEP_SMALL_ALLOCATION {
                self.buckets[index] = items;
            } else if self.spare.len() < SPARE_BUCKETS && items.capacity() <= SPARE_MAX_CAPACITY {
                self.spare.push(items);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the schedule, events pop in (time, insertion order): the contract the
        /// whole simulator's determinism rests on. Pops per step vary from none to more
        /// than were pushed, so the pending count crosses `SMALL` both ways (the short
        /// array and the radix levels take turns).
        #[test]
        fn pops_in_time_then_insertion_order(ops in proptest::collection::vec((0u64..5, prop_oneof![0u64..300, 0u64..1_000_000, 0u64..(1u64 << 45)], 0usize..8), 1..400)) {
            let mut q = EventQueue::new();
            let mut reference: Vec<(u64, usize)> = Vec::new();
            let mut popped = Vec::new();
            let mut expected = Vec::new();
            let mut id = 0usize;
            for (burst, delay, pops) in ops {
                let now = q.last_popped().0;
                for k in 0..=burst {
                    let t = now + if k % 2 == 0 { delay } else { delay / 3 };
                    q.push(SimTime(t), id);
                    reference.push((t, id));
                    id += 1;
                }
                for _ in 0..pops.min(reference.len()) {
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

    proptest! {
        /// With deadlines (a fixed delay from the clock, so pushed in time order) among
        /// the other events, events pop in (time, deadlines after the others, insertion
        /// order).
        #[test]
        fn deadlines_pop_in_time_order_after_other_events_of_their_time(
            ops in proptest::collection::vec((0u64..4, prop_oneof![0u64..300, 0u64..1_000_000, 0u64..(1u64 << 40)], any::<bool>(), 0usize..8), 1..400),
            fixed in prop_oneof![Just(0u64), 1u64..300, 1u64..(1u64 << 36)],
        ) {
            let mut q = EventQueue::new();
            // (time, 1 for a deadline, id): the order the queue must follow.
            let mut reference: Vec<(u64, u8, usize)> = Vec::new();
            let (mut popped, mut expected) = (Vec::new(), Vec::new());
            let mut id = 0usize;
            for (burst, delay, deadline, pops) in ops {
                let now = q.last_popped().0;
                for _ in 0..=burst {
                    if deadline {
                        q.push_deadline(SimTime(now + fixed), id);
                        reference.push((now + fixed, 1, id));
                    } else {
                        q.push(SimTime(now + delay), id);
                        reference.push((now + delay, 0, id));
                    }
                    id += 1;
                }
                for _ in 0..pops.min(reference.len()) {
                    reference.sort();
                    let (t, _, e) = reference.remove(0);
                    expected.push((t, e));
                    let (pt, pe) = q.pop().unwrap();
                    popped.push((pt.0, pe));
                }
            }
            prop_assert_eq!(q.len(), reference.len());
            reference.sort();
            expected.extend(reference.into_iter().map(|(t, _, e)| (t, e)));
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

    /// Slots allocated across all buckets and `now`: what the queue holds in memory.
    fn allocated_slots<E>(q: &EventQueue<E>) -> usize {
        q.now.capacity() + q.buckets.iter().chain(&q.spare).map(Vec::capacity).sum::<usize>()
    }

    /// Memory stays flat in simulated time: 2,000 timers, each rescheduled 1 to 20 s
    /// ahead, hold about as much after a simulated day as after ten minutes (keeping every
    /// drained bucket's allocation made it grow with each new high-level digit touched).
    #[test]
    fn allocation_is_flat_in_simulated_time() {
        const SEC: u64 = 1_000_000_000;
        let mut q = EventQueue::new();
        let mut lcg = 12345u64;
        let mut delay = || {
            lcg = lcg.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            SEC + (lcg >> 33) % (19 * SEC)
        };
        for i in 0..2_000u32 {
            q.push(SimTime(delay()), i);
        }
        let mut after_10_min = None;
        while let Some((t, i)) = q.pop() {
            if after_10_min.is_none() && t.0 >= 600 * SEC {
                after_10_min = Some(allocated_slots(&q));
            }
            if t.0 >= 86_400 * SEC {
                break;
            }
            q.push(SimTime(t.0 + delay()), i);
        }
        let (early, late) = (after_10_min.expect("ran ten minutes"), allocated_slots(&q));
        assert!(late <= early * 13 / 10, "{late} slots after a day against {early} after ten minutes");
    }
}
