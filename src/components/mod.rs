//! The web tier as a core and parts.
//!
//! The [`core::Core`] owns what every scenario shares: the client population, requests
//! (a slab with generations), per-user state, the load balancer, the servers and their
//! worker pools, the shared backends (Redis, the database) and the recorder. Each
//! playbook part is a module with its own state, its own events, its stage in a
//! request's pipeline where it has one, its reaction to a server kill, and the metrics
//! it reports: [`sessions`] (auth, logins, revocation), [`carts`], [`rate_limit`],
//! [`uploads`], [`websockets`], [`jobs`], [`fleet`] (autoscaling, spot, deploys) and
//! [`retries`] (what clients do when a request fails) and [`long_polling`] (chat over
//! requests held open).
//! [`world::WebTier`] holds the core and the parts, is the engine's `World`, routes each
//! event to its owner, and moves requests along their pipeline.
//!
//! Run to completion: no handler calls another event's handler. Zero-time steps are
//! emitted for "now" ([`Ctx::hop`]); the engine's loop runs them, in order, before the
//! clock moves.
//! Failures of the simulated system are outcomes recorded in the
//! [`crate::metrics::Recorder`], never `Err`.

pub mod backends;
pub mod carts;
pub mod clients;
pub mod core;
pub mod fleet;
pub mod jobs;
pub mod lb;
pub mod long_polling;
pub mod rate_limit;
pub mod read_replicas;
pub mod redis;
pub mod redis_failover;
pub mod request;
pub mod retries;
pub mod server;
pub mod sessions;
pub mod slab;
pub mod station;
pub mod topology;
pub mod uploads;
pub mod websockets;
pub mod world;

use crate::engine::{Scheduler, SimDuration, SimTime};

/// Index of a request in the core's request slab.
pub type ReqId = u32;

pub use topology::Topology;
pub use world::WebTier;

/// Declares the top-level `Event`, one variant per owner wrapping its own sub-enum, and
/// the conversions that let a part emit its own events as `Event`s.
macro_rules! events {
    ($($(#[$doc:meta])* $variant:ident($ty:ty)),* $(,)?) => {
        /// Everything that can happen in the web tier: one closed enum of the parts' own events.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Event {
            $($(#[$doc])* $variant($ty),)*
        }
        $(impl From<$ty> for Event {
            #[inline]
            fn from(e: $ty) -> Event {
                Event::$variant(e)
            }
        })*
    };
}

events! {
    /// A request's trip, health checks, faults, restarts.
    Core(core::CoreEvent),
    Sessions(sessions::SessionEvent),
    Ws(websockets::WsEvent),
    Jobs(jobs::JobEvent),
    Fleet(fleet::FleetEvent),
    Redis(backends::RedisEvent),
    Db(backends::DbEvent),
    Retry(retries::RetryEvent),
    LongPoll(long_polling::LpEvent),
}

// Every pending event is copied into and through the event queue's buckets as (time,
// event): 24 bytes while an event fits in 16 (a tag and at most 12 bytes of payload in
// each part's enum), 32 beyond. The loop's speed depends on it (`benches/speed.rs`); a
// part that needs more carries an index into its own table.
const _: () = assert!(std::mem::size_of::<Event>() <= 16, "an Event must fit in 16 bytes");

/// What a handler may do besides changing state: read the clock and schedule events.
pub struct Ctx<'a> {
    sched: &'a mut Scheduler<Event>,
}

impl<'a> Ctx<'a> {
    pub fn new(sched: &'a mut Scheduler<Event>) -> Self {
        Ctx { sched }
    }
    #[inline]
    pub fn now(&self) -> SimTime {
        self.sched.now()
    }
    /// Schedules `event` after `delay` through the event queue (with no delay: after
    /// every event of this instant already scheduled).
    #[inline(always)]
    pub fn emit(&mut self, delay: SimDuration, event: impl Into<Event>) {
        self.sched.emit(delay, event.into())
    }
    /// Schedules a deadline after `delay`, a timer of one fixed length (a client's
    /// timeout); at an equal time it runs after every other event.
    #[inline(always)]
    pub fn emit_deadline(&mut self, delay: SimDuration, event: impl Into<Event>) {
        self.sched.emit_deadline(delay, event.into())
    }
    /// Delivers `event` after `delay`; with no delay it is emitted for now, to run after
    /// the current event and before anything in the event queue.
    #[inline(always)]
    pub fn hop(&mut self, delay: SimDuration, event: impl Into<Event>) {
        if delay.is_zero() { self.sched.emit_now(event.into()) } else { self.sched.emit(delay, event.into()) }
    }
    #[inline]
    pub fn emit_at(&mut self, time: SimTime, event: impl Into<Event>) {
        self.sched.emit_at(time, event.into())
    }
    /// Ends the run after the current event.
    pub fn stop(&mut self) {
        self.sched.stop()
    }
}
