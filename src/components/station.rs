//! A FIFO service station with `c` parallel servers: the shape shared by a web server's
//! worker pool, Redis's single command thread and the database's connection pool.

use crate::engine::SimTime;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct Station {
    pub capacity: u32,
    /// Jobs waiting, with the time they arrived.
    pub queue: VecDeque<(u32, SimTime)>,
    /// Jobs in service, with their start times.
    pub in_service: Vec<(u32, SimTime)>,
    /// Server-nanoseconds spent in service since the statistics window opened.
    pub busy_ns: u128,
    pub window_start: SimTime,
    pub served: u64,
}

impl Station {
    pub fn new(capacity: u32) -> Station {
        Station {
            capacity,
            queue: VecDeque::new(),
            in_service: Vec::with_capacity(capacity.min(64) as usize),
            busy_ns: 0,
            window_start: SimTime::ZERO,
            served: 0,
        }
    }
    #[inline]
    pub fn has_free(&self) -> bool {
        (self.in_service.len() as u32) < self.capacity
    }
    #[inline]
    pub fn start(&mut self, job: u32, now: SimTime) {
        self.in_service.push((job, now));
    }
    /// Ends `job`'s service; returns its start time, and counts its busy time.
    #[inline]
    pub fn finish(&mut self, job: u32, now: SimTime) -> Option<SimTime> {
        let i = self.in_service.iter().position(|&(j, _)| j == job)?;
        let start = self.in_service.swap_remove(i).1;
        self.add_busy(start, now);
        self.served += 1;
        Some(start)
    }
    #[inline]
    pub fn add_busy(&mut self, start: SimTime, end: SimTime) {
        let from = start.max(self.window_start);
        if end > from {
            self.busy_ns += (end.0 - from.0) as u128;
        }
    }
    /// The next waiting job, if a server is free.
    #[inline]
    pub fn next_waiting(&mut self) -> Option<(u32, SimTime)> {
        if self.has_free() { self.queue.pop_front() } else { None }
    }
    /// Server-nanoseconds in service inside the window up to `end`, jobs still in
    /// service included.
    pub fn busy_ns_until(&self, end: SimTime) -> u128 {
        let mut busy = self.busy_ns;
        for &(_, start) in &self.in_service {
            let from = start.max(self.window_start);
            if end > from {
                busy += (end.0 - from.0) as u128;
            }
        }
        busy
    }
    /// Busy share of the servers' time over the whole window.
    pub fn utilisation(&self, end: SimTime) -> f64 {
        let window = end.since(self.window_start).0 as f64 * self.capacity as f64;
        if window <= 0.0 { 0.0 } else { self.busy_ns_until(end) as f64 / window }
    }
}
