//! What one simulation run measured, as the rest of the program reads it: the flat
//! metrics, the time series, and the few distributions the charts draw.
//!
//! It lives here, not beside the web tier that fills it, so that summaries, reports and
//! sweeps depend on measurements, never on the components that produced them.

use super::Metrics;

/// The measurements of one run.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub metrics: Metrics,
    pub series: Vec<SeriesRow>,
    /// Revocation: each fired user's exposure (seconds from the ban to the last request
    /// that got in), in the order they were fired.
    pub exposures_s: Vec<f64>,
    /// Request latency and time checking the session (ms) at
    /// [`cdf_quantiles`](crate::metrics::recorder::cdf_quantiles), for the CDF chart.
    pub latency_quantiles_ms: Vec<f64>,
    pub auth_quantiles_ms: Vec<f64>,
}

/// One row of `timeseries.csv`.
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
    pub logouts: u64,
    /// Jobs waiting in the job queue at the end of the bucket.
    pub jobs_queued: u32,
    /// Requests of the abusive client the rate limit let through.
    pub abuser_allowed: u64,
    /// What the running fleet costs per hour at the end of the bucket.
    pub cost_per_hour: f64,
    /// WebSocket messages sent in the bucket, those of them delivered, and reconnects.
    pub ws_sent: u64,
    pub ws_delivered: u64,
    pub ws_reconnects: u64,
}
