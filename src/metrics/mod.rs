//! Measurements: the per-run recorder, flat metrics, and statistics across replications.

pub mod recorder;
pub mod stats;
pub mod summary;

pub use recorder::{FailReason, Metrics, Recorder};
pub use stats::{mean_ci, Estimate};
pub use summary::{ModelSummary, VariantSummary};
