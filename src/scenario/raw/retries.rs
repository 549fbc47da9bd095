//! What a client does when a request fails: retries, backoff, a retry budget, a circuit
//! breaker.

use crate::policies::Backoff;
use crate::scenario::units::Duration;
use schemars::JsonSchema;
use serde::Deserialize;

/// Client retries (open workloads): a request that fails or times out is sent again.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawClientRetries {
    /// Retries after the first attempt, 0 to 10 (0: never retry; goodput is still measured). Default 3.
    #[serde(default = "d_max_retries")]
    pub max_retries: u32,
    /// "immediate", "exponential" or "exponential-jitter" (full jitter). Default "immediate".
    #[serde(default = "d_backoff")]
    pub backoff: Backoff,
    /// With backoff: the wait before the first retry, doubling after each. Default "100ms".
    pub base_delay: Option<Duration>,
    /// With backoff: the longest wait. Default "10s".
    pub max_delay: Option<Duration>,
    /// A retry budget: retries allowed per first attempt (a token bucket of at most 10
    /// retries, filled by this much per request), such as 0.1. Default: no budget.
    pub budget: Option<f64>,
    /// A circuit breaker shared by the clients: when at least `failure_share` of the
    /// attempts of a `window` fail, no request is sent for `open_for`.
    pub breaker: Option<RawBreaker>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    /// The share of failed attempts in a window that opens the breaker. Default 0.5.
    #[serde(default = "d_failure_share")]
    pub failure_share: f64,
    /// The window the share is counted over. Default "5s".
    #[serde(default = "d_window")]
    pub window: Duration,
    /// How long it stays open, failing requests at once. Default "5s".
    #[serde(default = "d_window")]
    pub open_for: Duration,
    /// Attempts a window needs before it can open the breaker. Default 20.
    #[serde(default = "d_min_requests")]
    pub min_requests: u32,
}

fn d_max_retries() -> u32 {
    3
}
fn d_backoff() -> Backoff {
    Backoff::Immediate
}
fn d_failure_share() -> f64 {
    0.5
}
fn d_window() -> Duration {
    super::dur("5s")
}
fn d_min_requests() -> u32 {
    20
}
