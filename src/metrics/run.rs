//! What one simulation run measured, as the rest of the program reads it: the flat
//! metrics, the time series, and the few distributions the charts draw.
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
