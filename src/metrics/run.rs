//! What one simulation run measured, as the rest of the program reads it: the flat
//! metrics, the time series, and the few distributions the charts draw; and what a
//! model's outputs keep of its runs once their metrics are folded into the summary
//! ([`KeptRuns`]), so that the rest of each run can be dropped when it finishes.
//!
//! It lives here, not beside the web tier that fills it, so that summaries, reports and
//! sweeps depend on measurements, never on the components that produced them.

use super::Metrics;
use super::catalog::ServerFigures;
use super::series::SeriesColumn;

/// The measurements of one run.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub metrics: Metrics,
    /// Each server's figures, by server number (also in `metrics` under their keys).
    pub servers: Vec<ServerFigures>,
    pub series: Vec<SeriesRow>,
    /// The parts' columns of the time series (see [`super::series`]).
    pub series_columns: Vec<&'static SeriesColumn>,
    /// Revocation: each fired user's exposure (seconds from the ban to the last request
    /// that got in), in the order they were fired.
    pub exposures_s: Vec<f64>,
    /// Request latency and time checking the session (ms) at
    /// [`cdf_quantiles`](crate::metrics::recorder::cdf_quantiles), for the CDF chart.
    pub latency_quantiles_ms: Vec<f64>,
    pub auth_quantiles_ms: Vec<f64>,
}

/// One row of `timeseries.csv`: the core's columns, then the parts' registered ones.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesRow {
    pub t_s: f64,
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub latency_mean_ms: f64,
    pub latency_p99_ms: f64,
    pub servers_up: u32,
    pub servers_in_rotation: u32,
    /// Values of [`RunResult::series_columns`], in that order.
    pub parts: Vec<f64>,
}

impl RunResult {
    /// The place of `column` in this run's rows, if a part of the run registered it.
    pub fn column(&self, column: &SeriesColumn) -> Option<usize> {
        self.series_columns.iter().position(|c| std::ptr::eq(*c, column))
    }
}

/// What a model's outputs need of its runs once their metrics are in the summary: every
/// replication's time series (for `timeseries.csv`), and replication 0 whole (the
/// timeline, the latency CDF and the exposure chart draw it). Everything else of a run is
/// dropped as soon as it finishes.
#[derive(Clone, Debug, Default)]
pub struct KeptRuns {
    /// By variant.
    pub variants: Vec<KeptVariant>,
}

/// One variant's part of [`KeptRuns`].
#[derive(Clone, Debug, Default)]
pub struct KeptVariant {
    /// Replication 0, whole (None only while it has not finished).
    pub first: Option<RunResult>,
    /// The time series of replications 1, 2, ... (replication 0's is `first.series`).
    pub later_series: Vec<Vec<SeriesRow>>,
}

impl KeptRuns {
    /// Room for `replications[v]` replications of each variant `v`.
    pub fn new(replications: &[usize]) -> KeptRuns {
        KeptRuns { variants: replications.iter().map(|&r| KeptVariant { first: None, later_series: vec![Vec::new(); r.saturating_sub(1)] }).collect() }
    }

    /// Keeps what the outputs need of replication `rep` of variant `v`.
    pub fn add(&mut self, v: usize, rep: usize, run: RunResult) {
        let kept = &mut self.variants[v];
        if rep == 0 {
            kept.first = Some(run);
        } else {
            kept.later_series[rep - 1] = run.series;
        }
    }

    /// Replication 0 of each variant.
    pub fn firsts(&self) -> impl Iterator<Item = &RunResult> {
        self.variants.iter().filter_map(|k| k.first.as_ref())
    }
}

impl KeptVariant {
    /// Each replication's time series, in replication order.
    pub fn series(&self) -> impl Iterator<Item = &[SeriesRow]> {
        self.first.iter().map(|r| r.series.as_slice()).chain(self.later_series.iter().map(Vec::as_slice))
    }
}
