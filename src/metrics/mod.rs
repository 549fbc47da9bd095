//! Measurements: the per-run recorder, flat metrics, the catalog that says what each
//! metric means, and statistics across replications.

pub mod catalog;
pub mod histogram;
pub mod recorder;
pub mod replicates;
pub mod run;
pub mod series;
pub mod sketch;
pub mod stats;
pub mod summary;

pub use catalog::{Metric, ServerFigures, Unit};
pub use recorder::{FailReason, Metrics, Recorder};
pub use replicates::{Comparison, Replicates};
pub use run::{KeptRuns, KeptVariant, RunResult, SeriesRow};
pub use stats::{Estimate, mean_ci};
pub use summary::{ModelSummary, SummaryFold, VariantSummary};
