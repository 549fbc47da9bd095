//! The web tier: clients, load balancer and servers, reacting to events.
//!
//! [`web::WebTier`] is the engine's `World`. Components never call the engine loop;
//! they schedule events with a delay. Failures of the simulated system are outcomes
//! recorded in the [`crate::metrics::Recorder`], never `Err`.

pub mod clients;
pub mod lb;
pub mod redis;
pub mod server;
pub mod station;
pub mod topology;
pub mod web;

/// Index of a request in the world's request slab.
pub type ReqId = u32;

pub use topology::Topology;
pub use web::{Event, WebTier};
