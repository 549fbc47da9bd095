//! Recording a run's measurements in O(1) per event with bounded memory.
//!
//! Latencies go to [`Latencies`] (HDR histograms' bins, 3 significant digits), one per run: ok responses' on
//! the hot path, failures' in a histogram of their own recorded only on failure, the two
//! added at the end for the latency of all responses; the time series
//! keeps one fixed-width bucket per `timeseries_step` (a bounded number per run unless the
//! model asks for a step, see `RunSpec::timeseries_step`), each with a compact
//! [`LogSketch`] for its p99.
//! Requests sent before the warm-up ends are left out of every summary statistic but
//! still appear in the time series.

use super::catalog::{Distribution, Put, Stat};
use super::histogram::{Latencies, quantile_ms};
use super::series::{Aggregate, ColumnId, SeriesColumn};
use super::sketch::LogSketch;
use crate::engine::{SimDuration, SimTime};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// Why a request failed, as the client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailReason {
    /// The server died while the request was queued or in service (the LB answers 502).
    ServerKilled,
    /// Every server tried refused the connection (dead or booting).
    ConnectionRefused,
    /// The server's queue was full (503).
    Overloaded,
    /// The load balancer had no server in rotation (503).
    NoHealthyServer,
    /// The client gave up waiting.
    ClientTimeout,
    /// The request needed Redis and Redis refused the connection.
    RedisUnavailable,
    /// The token or session was revoked (a fired user), or a login was denied.
    Unauthorized,
    /// Over the rate limit (429).
    RateLimited,
    /// The file is not on this server (404).
    NotFound,
    /// A pre-signed URL had expired when the client began a PUT with it (S3 answers 403).
    UrlExpired,
}

impl FailReason {
    pub const ALL: [FailReason; 10] = [
        FailReason::ServerKilled,
        FailReason::ConnectionRefused,
        FailReason::Overloaded,
        FailReason::NoHealthyServer,
        FailReason::ClientTimeout,
        FailReason::RedisUnavailable,
        FailReason::Unauthorized,
        FailReason::RateLimited,
        FailReason::NotFound,
        FailReason::UrlExpired,
    ];
    pub fn key(self) -> &'static str {
        match self {
            FailReason::ServerKilled => "server_killed",
            FailReason::ConnectionRefused => "connection_refused",
            FailReason::Overloaded => "overloaded_503",
            FailReason::NoHealthyServer => "no_healthy_server",
            FailReason::ClientTimeout => "client_timeout",
            FailReason::RedisUnavailable => "redis_unavailable",
            FailReason::Unauthorized => "unauthorized",
            FailReason::RateLimited => "rate_limited_429",
            FailReason::NotFound => "not_found_404",
            FailReason::UrlExpired => "url_expired_403",
        }
    }
}

/// One bucket of the time series.
#[derive(Clone, Debug, Default)]
pub struct Bucket {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub latency_sum_ns: u128,
    /// Latency of ok responses in nanoseconds, for the bucket's p99.
    pub latency_ns: LogSketch,
    pub servers_up: Option<u32>,
    pub servers_in_rotation: Option<u32>,
}

/// Per-server counters.
#[derive(Clone, Debug, Default)]
pub struct ServerStats {
    /// Requests this server completed (counted ones only).
    pub requests: u64,
    /// Worker-nanoseconds held by requests inside the statistics window.
    pub busy_ns: u128,
    /// CPU-nanoseconds spent inside the statistics window.
    pub cpu_ns: u128,
}

/// Everything measured in one run of one variant.
pub struct Recorder {
    pub warmup_end: SimTime,
    step: SimDuration,
    pub sent: u64,
    pub ok: u64,
    pub failed: [u64; FailReason::ALL.len()],
    /// Latency of ok responses.
    pub latency_ns: Latencies,
    pub latency_sum_ns: u128,
    /// Latency of failed requests, when the client learned of the failure (a timeout at
    /// the timeout). Kept apart so the ok path records once; see [`Recorder::all_latency`].
    pub failed_latency_ns: Latencies,
    pub failed_latency_sum_ns: u128,
    pub queue_wait_ns: Latencies,
    pub queue_wait_sum_ns: u128,
    pub waited: u64,
    /// Time spent checking a session or token, for requests that carried one.
    pub auth_ns: Latencies,
    pub auth_sum_ns: u128,
    /// Time spent on the rate-limit check.
    pub check_ns: Latencies,
    pub check_sum_ns: u128,
    pub servers: Vec<ServerStats>,
    pub buckets: Vec<Bucket>,
    /// The parts' registered columns, and their values: bucket-major, one value per
    /// column (NaN: a level not set in that bucket).
    pub columns: Vec<&'static SeriesColumn>,
    pub column_values: Vec<f64>,
    /// The bucket of the latest record and where it ends (time only moves forward).
    current: usize,
    current_end: SimTime,
}

impl Recorder {
    pub fn new(servers: usize, warmup_end: SimTime, step: SimDuration, duration: SimDuration) -> Recorder {
        let n_buckets = (duration.0 / step.0.max(1)) as usize + 1;
        Recorder {
            warmup_end,
            step,
            sent: 0,
            ok: 0,
            failed: [0; FailReason::ALL.len()],
            latency_ns: Latencies::default(),
            latency_sum_ns: 0,
            failed_latency_ns: Latencies::default(),
            failed_latency_sum_ns: 0,
            queue_wait_ns: Latencies::default(),
            queue_wait_sum_ns: 0,
            waited: 0,
            auth_ns: Latencies::default(),
            auth_sum_ns: 0,
            check_ns: Latencies::default(),
            check_sum_ns: 0,
            servers: vec![ServerStats::default(); servers],
            buckets: vec![Bucket::default(); n_buckets.min(1_000_001)],
            columns: Vec::new(),
            column_values: Vec::new(),
            current: 0,
            current_end: SimTime(step.0.max(1)),
        }
    }

    /// The bucket holding time `t`. Records come in time order, so this is usually the
    /// bucket of the previous record.
    #[inline]
    fn bucket_index(&mut self, t: SimTime) -> usize {
        let step = self.step.0.max(1);
        if t >= self.current_end || t.0 + step < self.current_end.0 {
            self.current = ((t.0 / step) as usize).min(self.buckets.len() - 1);
            self.current_end = SimTime((self.current as u64 + 1).saturating_mul(step));
        }
        self.current
    }

    #[inline]
    fn bucket(&mut self, t: SimTime) -> &mut Bucket {
        let i = self.bucket_index(t);
        &mut self.buckets[i]
    }

    /// Adds a part's column to the time series (before the run starts).
    pub fn register(&mut self, column: &'static SeriesColumn) -> ColumnId {
        let n = self.columns.len();
        let empty = match column.aggregate {
            Aggregate::Sum => 0.0,
            Aggregate::Last | Aggregate::Peak => f64::NAN,
        };
        let mut values = Vec::with_capacity(self.buckets.len() * (n + 1));
        for b in 0..self.buckets.len() {
            values.extend_from_slice(&self.column_values[b * n..(b + 1) * n]);
            values.push(empty);
        }
        self.columns.push(column);
        self.column_values = values;
        ColumnId(n)
    }

    /// Counts `v` in column `col` at time `t` (a `Sum` column).
    #[inline]
    pub fn add(&mut self, col: ColumnId, t: SimTime, v: f64) {
        let b = self.bucket_index(t);
        self.column_values[b * self.columns.len() + col.0] += v;
    }

    /// The index of the bucket holding time `t`.
    #[inline]
    pub fn bucket_of(&mut self, t: SimTime) -> usize {
        self.bucket_index(t)
    }

    /// Sets column `col`'s value in bucket `b` (a level computed after the run).
    pub fn set_in_bucket(&mut self, col: ColumnId, b: usize, v: f64) {
        self.column_values[b * self.columns.len() + col.0] = v;
    }

    /// Sets column `col`'s level at time `t` (a `Last` or `Peak` column).
    #[inline]
    pub fn set(&mut self, col: ColumnId, t: SimTime, v: f64) {
        let b = self.bucket_index(t);
        self.column_values[b * self.columns.len() + col.0] = v;
    }

    pub fn step(&self) -> SimDuration {
        self.step
    }

    /// True if a request sent at `t` counts in the summary.
    #[inline]
    pub fn counts(&self, sent_at: SimTime) -> bool {
        sent_at >= self.warmup_end
    }

    #[inline]
    pub fn on_sent(&mut self, now: SimTime) {
        if self.counts(now) {
            self.sent += 1;
        }
        self.bucket(now).sent += 1;
    }

    #[inline]
    pub fn on_ok(&mut self, now: SimTime, sent_at: SimTime) {
        let latency = now.since(sent_at).0;
        if self.counts(sent_at) {
            self.ok += 1;
            self.latency_ns.record(latency.max(1));
            self.latency_sum_ns += latency as u128;
        }
        let b = self.bucket(now);
        b.ok += 1;
        b.latency_sum_ns += latency as u128;
        b.latency_ns.record(latency);
    }

    /// The client learns at `now` that its request failed (a timeout: `now` is the
    /// timeout).
    #[inline]
    pub fn on_failed(&mut self, now: SimTime, sent_at: SimTime, reason: FailReason) {
        if self.counts(sent_at) {
            self.failed[reason as usize] += 1;
            let latency = now.since(sent_at).0;
            self.failed_latency_ns.record(latency.max(1));
            self.failed_latency_sum_ns += latency as u128;
        }
        self.bucket(now).failed += 1;
    }

    /// The latency of every response, ok or failed, and its sum: the ok and the failed
    /// histograms added (HDR histograms of the same bounds add exactly).
    pub fn all_latency(&self) -> (Histogram<u64>, u128) {
        let mut all = self.latency_ns.to_hdr();
        all.add(self.failed_latency_ns.to_hdr()).expect("histograms of the same bounds add");
        (all, self.latency_sum_ns + self.failed_latency_sum_ns)
    }

    /// A request starts service after waiting `wait` in the queue.
    #[inline]
    pub fn on_service_start(&mut self, sent_at: SimTime, wait: SimDuration) {
        if self.counts(sent_at) {
            self.queue_wait_ns.record(wait.0);
            self.queue_wait_sum_ns += wait.0 as u128;
            if wait.0 > 0 {
                self.waited += 1;
            }
        }
    }

    /// A core of `server` was busy from `start` to `end`; only the part after warm-up counts.
    #[inline]
    pub fn on_busy(&mut self, server: usize, start: SimTime, end: SimTime) {
        let from = start.max(self.warmup_end);
        if end > from {
            self.servers[server].busy_ns += (end.0 - from.0) as u128;
        }
    }

    /// CPU time `cpu` of `server` ended at `end`; only the part after warm-up counts.
    #[inline]
    pub fn on_cpu(&mut self, server: usize, end: SimTime, cpu: SimDuration) {
        let start = SimTime(end.0.saturating_sub(cpu.0)).max(self.warmup_end);
        if end > start {
            self.servers[server].cpu_ns += (end.0 - start.0) as u128;
        }
    }

    #[inline]
    pub fn on_auth(&mut self, sent_at: SimTime, took: SimDuration) {
        if self.counts(sent_at) {
            self.auth_ns.record(took.0);
            self.auth_sum_ns += took.0 as u128;
        }
    }

    #[inline]
    pub fn on_check(&mut self, sent_at: SimTime, took: SimDuration) {
        if self.counts(sent_at) {
            self.check_ns.record(took.0);
            self.check_sum_ns += took.0 as u128;
        }
    }

    #[inline]
    pub fn on_completed_by(&mut self, server: usize, sent_at: SimTime) {
        if self.counts(sent_at) {
            self.servers[server].requests += 1;
        }
    }

    pub fn on_fleet_change(&mut self, now: SimTime, up: u32, in_rotation: u32) {
        let b = self.bucket(now);
        b.servers_up = Some(up);
        b.servers_in_rotation = Some(in_rotation);
    }

    pub fn failed_total(&self) -> u64 {
        self.failed.iter().sum()
    }
}

/// Flat, ordered metrics of one run: the currency of summaries, tables and sweeps.
pub type Metrics = BTreeMap<String, f64>;

/// The quantiles at which a latency's distribution is kept for its CDF and tail charts:
/// the minimum, every percent, every tenth of a percent past p99, then p99.95, p99.98,
/// p99.99 and the maximum.
pub fn cdf_quantiles() -> Vec<f64> {
    let mut q: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
    q.extend((1..10).map(|i| 0.99 + i as f64 / 1000.0));
    q.extend([0.9995, 0.9998, 0.9999, 1.0]);
    q
}

/// Latencies' values (ms) at [`cdf_quantiles`]; empty when nothing was recorded.
pub fn quantiles_ms(latencies: &Latencies) -> Vec<f64> {
    if latencies.is_empty() {
        return Vec::new();
    }
    let h = latencies.to_hdr();
    cdf_quantiles().into_iter().map(|q| quantile_ms(&h, q)).collect()
}

/// Adds the six statistics of a histogram (ns) in milliseconds under the keys of `d`.
pub fn put_distribution(m: &mut Metrics, d: &'static Distribution, h: &Histogram<u64>, sum_ns: u128) {
    let n = h.len();
    let ms = |ns: u64| ns as f64 / 1e6;
    for stat in Stat::ALL {
        let value = match stat {
            _ if n == 0 => 0.0,
            Stat::Mean => sum_ns as f64 / n as f64 / 1e6,
            Stat::P50 => ms(h.value_at_quantile(0.50)),
            Stat::P90 => ms(h.value_at_quantile(0.90)),
            Stat::P99 => ms(h.value_at_quantile(0.99)),
            Stat::P999 => ms(h.value_at_quantile(0.999)),
            Stat::Max => ms(h.max()),
        };
        m.put(d.stat(stat), value);
    }
}

#[cfg(test)]
mod column_tests {
    use super::*;
    use crate::metrics::series::{COST_PER_HOUR, LOGOUTS_STATE_LOST};

    #[test]
    fn registered_columns_count_per_bucket_and_levels_carry_forward_as_unset() {
        let s = SimDuration::from_secs(1);
        let mut rec = Recorder::new(1, SimTime::ZERO, s, SimDuration::from_secs(3));
        let logouts = rec.register(&LOGOUTS_STATE_LOST);
        let cost = rec.register(&COST_PER_HOUR);
        rec.add(logouts, SimTime::ZERO + SimDuration::from_millis(100), 1.0);
        rec.add(logouts, SimTime::ZERO + SimDuration::from_millis(900), 1.0);
        rec.set(cost, SimTime::ZERO, 2.5);
        rec.add(logouts, SimTime::ZERO + SimDuration::from_millis(2500), 1.0);
        let at = |b: usize, c: ColumnId| rec.column_values[b * rec.columns.len() + c.0];
        assert_eq!((at(0, logouts), at(1, logouts), at(2, logouts)), (2.0, 0.0, 1.0));
        assert_eq!(at(0, cost), 2.5);
        assert!(at(1, cost).is_nan(), "a level not set in a bucket is unset there; the series carries the last value forward");
    }
}
