//! Rate-limit algorithms as pure state machines: given a key's state, the limit and the
//! time, allow or refuse one request. The same code runs in a server's memory (local
//! counters) and inside Redis (a shared counter checked atomically, as a Lua script
//! would), so the two placements differ only by where the state lives.

use crate::engine::{SimDuration, SimTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

// Where a rate limit's counters live: each server's memory, or Redis (shared). These
// three carry plain comments: a doc comment would enter the model's JSON Schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LimitStore {
    Local,
    Redis,
}

// What a counter is kept per: a user, a public IP, or an API key (one per proxy group).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LimitKey {
    User,
    Ip,
    ApiKey,
}

// How a Redis fixed window is written: INCR and EXPIRE in one script, or two round trips.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LimitCommands {
    Atomic,
    IncrThenExpire,
}

/// The algorithms a limit can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    /// A counter per aligned window: at most `limit` per window, but up to twice that
    /// in a window that straddles a boundary.
    FixedWindow,
    /// A log of the times of allowed requests: never more than `limit` in any window;
    /// memory grows with the limit.
    SlidingLog,
    /// The previous window's count, weighted by its overlap, plus the current one.
    SlidingCounter,
    /// Tokens refill at `limit / window` up to `burst`; a request takes one.
    TokenBucket,
    /// The generic cell rate algorithm: a token bucket kept as one timestamp.
    Gcra,
}

/// A limit: at most `limit` requests per `window` (and a bucket of `burst`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Limit {
    pub algorithm: Algorithm,
    pub limit: u32,
    pub window: SimDuration,
    /// Bucket capacity for token bucket and GCRA.
    pub burst: u32,
}

/// One key's state.
#[derive(Clone, Debug, PartialEq)]
pub enum LimitState {
    Fixed { window: u64, count: u32 },
    Log(VecDeque<SimTime>),
    Counter { window: u64, current: u32, previous: u32 },
    Bucket { tokens: f64, last: SimTime },
    Gcra { tat: SimTime },
}

impl Limit {
    pub fn new_state(&self, now: SimTime) -> LimitState {
        match self.algorithm {
            Algorithm::FixedWindow => LimitState::Fixed { window: self.window_index(now), count: 0 },
            Algorithm::SlidingLog => LimitState::Log(VecDeque::new()),
            Algorithm::SlidingCounter => LimitState::Counter { window: self.window_index(now), current: 0, previous: 0 },
            Algorithm::TokenBucket => LimitState::Bucket { tokens: self.burst as f64, last: now },
            Algorithm::Gcra => LimitState::Gcra { tat: now },
        }
    }

    fn window_index(&self, now: SimTime) -> u64 {
        now.0 / self.window.0.max(1)
    }

    /// Nanoseconds between tokens: window / limit.
    fn emission_interval(&self) -> f64 {
        self.window.0 as f64 / self.limit.max(1) as f64
    }

    /// Decides one request at `now`, updating the state; true if allowed.
    pub fn check(&self, state: &mut LimitState, now: SimTime) -> bool {
        match state {
            LimitState::Fixed { window, count } => {
                let w = self.window_index(now);
                if w != *window {
                    *window = w;
                    *count = 0;
                }
                if *count < self.limit {
                    *count += 1;
                    true
                } else {
                    false
                }
            }
            LimitState::Log(log) => {
                let horizon = now.0.saturating_sub(self.window.0);
                while log.front().is_some_and(|t| t.0 <= horizon && now.0 >= self.window.0) {
                    log.pop_front();
                }
                if (log.len() as u32) < self.limit {
                    log.push_back(now);
                    true
                } else {
                    false
                }
            }
            LimitState::Counter { window, current, previous } => {
                let w = self.window_index(now);
                if w != *window {
                    *previous = if w == *window + 1 { *current } else { 0 };
                    *current = 0;
                    *window = w;
                }
                // The share of the previous window still inside the sliding window.
                let into = (now.0 - w * self.window.0) as f64 / self.window.0 as f64;
                let estimate = *previous as f64 * (1.0 - into) + *current as f64;
                if estimate < self.limit as f64 {
                    *current += 1;
                    true
                } else {
                    false
                }
            }
            LimitState::Bucket { tokens, last } => {
                let refill = now.since(*last).0 as f64 / self.emission_interval();
                *tokens = (*tokens + refill).min(self.burst as f64);
                *last = now;
                if *tokens >= 1.0 {
                    *tokens -= 1.0;
                    true
                } else {
                    false
                }
            }
            LimitState::Gcra { tat } => {
                // Allowed if the theoretical arrival time is no further ahead than the
                // burst tolerance (burst - 1) * T.
                let t = self.emission_interval();
                let tolerance = (self.burst.max(1) - 1) as f64 * t;
                let base = (*tat).max(now);
                if (base.0 - now.0) as f64 <= tolerance + 1e-6 {
                    *tat = base + SimDuration::from_nanos_f64(t);
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Whether a key's state can be forgotten at `now` (what a TTL would do).
    pub fn expired(&self, state: &LimitState, now: SimTime) -> bool {
        match state {
            LimitState::Fixed { window, .. } => self.window_index(now) > *window,
            LimitState::Log(log) => log.back().is_none_or(|t| now.0 >= t.0 + self.window.0),
            LimitState::Counter { window, .. } => self.window_index(now) > *window + 1,
            LimitState::Bucket { tokens, last } => *tokens + now.since(*last).0 as f64 / self.emission_interval() >= self.burst as f64,
            LimitState::Gcra { tat } => *tat <= now,
        }
    }
}

impl LimitState {
    /// Approximate bytes a key's state takes in Redis or in a server's memory: a key of
    /// about 40 bytes with its overhead, plus the value.
    pub fn memory_bytes(&self) -> u64 {
        40 + match self {
            LimitState::Fixed { .. } => 16,
            LimitState::Log(log) => 16 + 16 * log.len() as u64,
            LimitState::Counter { .. } => 24,
            LimitState::Bucket { .. } => 16,
            LimitState::Gcra { .. } => 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEC: u64 = 1_000_000_000;

    fn limit(algorithm: Algorithm, l: u32, window_s: u64, burst: u32) -> Limit {
        Limit { algorithm, limit: l, window: SimDuration::from_secs(window_s), burst }
    }

    /// Runs arrivals through a limit; returns the allowed times.
    fn allowed(lim: &Limit, arrivals: &[u64]) -> Vec<u64> {
        let mut st = lim.new_state(SimTime::ZERO);
        arrivals.iter().copied().filter(|&t| lim.check(&mut st, SimTime(t))).collect()
    }

    /// The most allowed times in any half-open interval of length `len`.
    fn max_in_any(times: &[u64], len: u64) -> usize {
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..times.len() {
            while times[hi] - times[lo] >= len {
                lo += 1;
            }
            best = best.max(hi - lo + 1);
        }
        best
    }

    fn arrivals() -> impl Strategy<Value = Vec<u64>> {
        proptest::collection::vec(0u64..30 * SEC, 1..600).prop_map(|mut v| {
            v.sort();
            v
        })
    }

    proptest! {
        /// A sliding log never lets more than L through in any window.
        #[test]
        fn sliding_log_never_exceeds_the_limit(ts in arrivals(), l in 1u32..20) {
            let lim = limit(Algorithm::SlidingLog, l, 5, l);
            prop_assert!(max_in_any(&allowed(&lim, &ts), 5 * SEC) <= l as usize);
        }

        /// A fixed window holds every aligned window to L and any window to 2L.
        #[test]
        fn fixed_window_holds_aligned_windows(ts in arrivals(), l in 1u32..20) {
            let lim = limit(Algorithm::FixedWindow, l, 5, l);
            let a = allowed(&lim, &ts);
            for w in 0..6u64 {
                prop_assert!(a.iter().filter(|&&t| t / (5 * SEC) == w).count() <= l as usize);
            }
            prop_assert!(max_in_any(&a, 5 * SEC) <= 2 * l as usize);
        }

        /// A token bucket (and GCRA) of capacity b and rate r lets at most b + r T through
        /// in any interval of length T.
        #[test]
        fn token_bucket_bound(ts in arrivals(), l in 1u32..20, b in 1u32..20, t_s in 1u64..12) {
            for alg in [Algorithm::TokenBucket, Algorithm::Gcra] {
                let lim = limit(alg, l, 5, b);
                let a = allowed(&lim, &ts);
                let r_per_s = l as f64 / 5.0;
                let bound = b as f64 + r_per_s * t_s as f64;
                prop_assert!(max_in_any(&a, t_s * SEC) as f64 <= bound + 1.0, "{alg:?}: {} > {bound}", max_in_any(&a, t_s * SEC));
            }
        }
    }

    #[test]
    fn fixed_window_lets_two_limits_through_a_boundary() {
        let lim = limit(Algorithm::FixedWindow, 10, 10, 10);
        // 10 requests just before t = 10 s and 10 just after.
        let ts: Vec<u64> = (0..10).map(|i| 9 * SEC + i * 50_000_000).chain((0..10).map(|i| 10 * SEC + i * 50_000_000)).collect();
        let a = allowed(&lim, &ts);
        assert_eq!(a.len(), 20);
        assert_eq!(max_in_any(&a, 10 * SEC), 20);
        let log = limit(Algorithm::SlidingLog, 10, 10, 10);
        assert_eq!(allowed(&log, &ts).len(), 10);
    }

    #[test]
    fn gcra_matches_token_bucket_on_a_steady_stream() {
        let ts: Vec<u64> = (0..2000).map(|i| i * 10_000_000).collect(); // 100/s for 20 s
        let tb = allowed(&limit(Algorithm::TokenBucket, 10, 1, 5), &ts).len();
        let g = allowed(&limit(Algorithm::Gcra, 10, 1, 5), &ts).len();
        assert!((tb as i64 - g as i64).abs() <= 2, "{tb} vs {g}");
        assert!((200..=206).contains(&tb), "{tb}");
    }
}
