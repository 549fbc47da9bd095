//! The simulation loop: pop the earliest event, hand it to the world, repeat.
//!
//! The engine is generic over the world and its event type; it knows nothing of load
//! balancers or servers. A world reacts to an event by scheduling new ones through the
//! [`Scheduler`], never by calling into the loop. Run to completion: an event scheduled
//! for "now" with [`Scheduler::emit_now`] waits in a FIFO that the loop drains before
//! the clock moves, so no handler ever calls another.

use super::queue::EventQueue;
use super::time::{SimDuration, SimTime};
use std::collections::VecDeque;

/// Something that reacts to events: the simulated system.
pub trait World {
    type Event: Copy;
    fn handle(&mut self, event: Self::Event, sched: &mut Scheduler<Self::Event>);
}

/// The clock and the pending events, as a world sees them.
pub struct Scheduler<E> {
    queue: EventQueue<E>,
    /// Events for the current instant, in the order they were emitted.
    now_queue: VecDeque<E>,
    now: SimTime,
    stop_requested: bool,
    handled: u64,
}

impl<E: Copy> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Scheduler<E> {
    pub fn new() -> Self {
        Scheduler { queue: EventQueue::new(), now_queue: VecDeque::new(), now: SimTime::ZERO, stop_requested: false, handled: 0 }
    }
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }
    /// Schedules `event` to happen `delay` from now.
    #[inline]
    pub fn emit(&mut self, delay: SimDuration, event: E) {
        self.queue.push(self.now + delay, event);
    }
    /// Schedules a deadline `delay` from now: for timers of one fixed length (see
    /// [`EventQueue::push_deadline`]). At an equal time it runs after every other event.
    #[inline]
    pub fn emit_deadline(&mut self, delay: SimDuration, event: E) {
        self.queue.push_deadline(self.now + delay, event);
    }
    /// Schedules `event` for the current instant, after the event being handled and the
    /// others emitted for now before it, ahead of anything in the event queue.
    #[inline]
    pub fn emit_now(&mut self, event: E) {
        self.now_queue.push_back(event);
    }
    /// Schedules `event` at an absolute time, which must not be in the past.
    #[inline]
    pub fn emit_at(&mut self, time: SimTime, event: E) {
        debug_assert!(time >= self.now);
        self.queue.push(time.max(self.now), event);
    }
    /// Ends the run after the current event.
    pub fn stop(&mut self) {
        self.stop_requested = true;
    }
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
    /// Events popped from the event queue so far (events emitted for now are not
    /// counted: they are steps of the event that emitted them).
    pub fn handled(&self) -> u64 {
        self.handled
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The clock reached the end time.
    EndTime,
    /// The world asked to stop (for example after its request budget).
    Requested,
    /// No events were left.
    Exhausted,
}

/// Runs `world` until `end`, a stop request, or no more events. The run is the half-open
/// window `[now, end)`: events at exactly `end` do not run (a request due then is not
/// sent), so a run of n steps of length d sees what happens in n x d, not one instant
/// more. The clock is left at the time of the last event handled, or `end`.
pub fn run_until<W: World>(world: &mut W, sched: &mut Scheduler<W::Event>, end: SimTime) -> StopReason {
    // Integer time: "before `end`" is "at or before `end` - 1 ns"; nothing is before 0.
    let last_due = end.0.checked_sub(1).map(SimTime);
    while let Some(last) = last_due
        && let Some(&(t, event)) = sched.queue.front_due(last)
    {
        sched.queue.remove_front();
        sched.now = SimTime(t);
        sched.handled += 1;
        world.handle(event, sched);
        while let Some(&next) = sched.now_queue.front() {
            sched.now_queue.pop_front();
            world.handle(next, sched);
        }
        if sched.stop_requested {
            return StopReason::Requested;
        }
    }
    if sched.queue.is_empty() {
        StopReason::Exhausted
    } else {
        sched.now = end;
        StopReason::EndTime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ping-pong world: each event schedules the next 1 s later, and records times.
    struct Ticker {
        seen: Vec<(u64, u32)>,
    }
    impl World for Ticker {
        type Event = u32;
        fn handle(&mut self, e: u32, s: &mut Scheduler<u32>) {
            self.seen.push((s.now().0 / 1_000_000_000, e));
            if e < 5 {
                s.emit(SimDuration::from_secs(1), e + 1);
            }
        }
    }

    /// Events emitted for now run after the current event, in emission order, before
    /// an event already queued for the same instant.
    struct Chain {
        seen: Vec<u32>,
    }
    impl World for Chain {
        type Event = u32;
        fn handle(&mut self, e: u32, s: &mut Scheduler<u32>) {
            self.seen.push(e);
            if e == 1 {
                s.emit_now(10);
                s.emit_now(11);
            }
            if e == 10 {
                s.emit_now(100);
            }
        }
    }

    #[test]
    fn events_for_now_run_in_order_before_the_queue() {
        let mut w = Chain { seen: vec![] };
        let mut s = Scheduler::new();
        s.emit(SimDuration::ZERO, 1);
        s.emit(SimDuration::ZERO, 2);
        run_until(&mut w, &mut s, SimTime::MAX);
        assert_eq!(w.seen, vec![1, 10, 11, 100, 2]);
        assert_eq!(s.handled(), 2, "events for now are steps of the event that emitted them");
    }

    #[test]
    fn runs_until_the_end_time_exclusive() {
        let mut w = Ticker { seen: vec![] };
        let mut s = Scheduler::new();
        s.emit(SimDuration::ZERO, 0);
        let r = run_until(&mut w, &mut s, SimTime(3_000_000_000));
        assert_eq!(r, StopReason::EndTime);
        assert_eq!(w.seen, vec![(0, 0), (1, 1), (2, 2)], "the event at exactly the end waits");
        assert_eq!(s.now(), SimTime(3_000_000_000));
        assert_eq!(run_until(&mut w, &mut s, SimTime(3_000_000_001)), StopReason::EndTime);
        assert_eq!(w.seen.last(), Some(&(3, 3)), "and runs in a window that goes past it");
        assert_eq!(run_until(&mut w, &mut s, SimTime::MAX), StopReason::Exhausted);
        assert_eq!(w.seen.len(), 6);
        let mut at_zero = Ticker { seen: vec![] };
        let mut s = Scheduler::new();
        s.emit(SimDuration::ZERO, 0);
        assert_eq!(run_until(&mut at_zero, &mut s, SimTime::ZERO), StopReason::EndTime);
        assert!(at_zero.seen.is_empty(), "an empty window runs nothing");
    }
}
