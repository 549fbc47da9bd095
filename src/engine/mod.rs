//! The discrete-event engine: integer time, the event queue, random streams,
//! distributions and the run loop. Nothing here knows about the web tier.

pub mod dist;
pub mod queue;
pub mod rng;
pub mod sim;
pub mod time;

pub use dist::Distribution;
pub use queue::EventQueue;
pub use rng::{RngStreams, SimRng};
pub use sim::{Scheduler, StopReason, World, run_until};
pub use time::{NANOS_PER_SEC, SimDuration, SimTime};
