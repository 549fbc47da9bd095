//! A client's retry policy as data, and the pure function that says how long it waits
//! before a retry.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How long a client waits before retrying a failed request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Backoff {
    /// At once.
    Immediate,
    /// `base_delay` before the first retry, doubling each time, at most `max_delay`.
    Exponential,
    /// Full jitter: uniform between zero and the exponential delay.
    ExponentialJitter,
}

impl Backoff {
    pub fn name(self) -> &'static str {
        match self {
            Backoff::Immediate => "immediate",
            Backoff::Exponential => "exponential",
            Backoff::ExponentialJitter => "exponential-jitter",
        }
    }
}

/// The wait before retry number `retry` (0 for the first), in nanoseconds, with `u` a
/// uniform draw in [0, 1) (read only with jitter).
pub fn backoff_ns(backoff: Backoff, base_ns: u64, max_ns: u64, retry: u32, u: f64) -> u64 {
    let exp = base_ns.saturating_mul(1u64 << retry.min(40)).min(max_ns);
    match backoff {
        Backoff::Immediate => 0,
        Backoff::Exponential => exp,
        Backoff::ExponentialJitter => (exp as f64 * u) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_doubles_up_to_its_cap_and_jitter_stays_under_it() {
        let d: Vec<u64> = (0..6).map(|k| backoff_ns(Backoff::Exponential, 100, 1_000, k, 0.5)).collect();
        assert_eq!(d, vec![100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(backoff_ns(Backoff::Immediate, 100, 1_000, 3, 0.5), 0);
        assert_eq!(backoff_ns(Backoff::ExponentialJitter, 100, 1_000, 2, 0.5), 200);
        assert_eq!(backoff_ns(Backoff::ExponentialJitter, 100, 1_000, 2, 0.0), 0);
    }
}
