//! Recording a run's measurements in O(1) per event with bounded memory.
//!
//! Latencies go to HDR histograms (3 significant digits); the time series keeps one
//! fixed-width bucket per `timeseries_step`, each with its own small histogram for p99.
//! Requests sent before the warm-up ends are left out of every summary statistic but
//! still appear in the time series.

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
}

impl FailReason {
    pub const ALL: [FailReason; 9] = [
        FailReason::ServerKilled,
        FailReason::ConnectionRefused,
        FailReason::Overloaded,
        FailReason::NoHealthyServer,
        FailReason::ClientTimeout,
        FailReason::RedisUnavailable,
        FailReason::Unauthorized,
        FailReason::RateLimited,
        FailReason::NotFound,
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
        }
    }
}

const HIST_MAX_NS: u64 = 100_000_000_000_000; // about 28 hours

pub fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_NS, 3).expect("valid histogram bounds")
}

/// One bucket of the time series.
#[derive(Clone, Debug, Default)]
pub struct Bucket {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub latency_sum_ns: u128,
    /// Latency of ok responses in microseconds, 2 significant digits.
    pub latency_us: Option<Histogram<u32>>,
    pub servers_up: Option<u32>,
    pub servers_in_rotation: Option<u32>,
    /// Users forced to log in again because their session was lost.
    pub logouts: u64,
    /// Jobs waiting in the job queue (the last value set in the bucket).
    pub jobs_queued: Option<u32>,
    /// Requests of the abusive client that the rate limit let through.
    pub abuser_allowed: u64,
    /// What the running fleet costs per hour (the last value set in the bucket).
    pub cost_per_hour: Option<f64>,
    /// WebSocket messages sent in the bucket, and how many of those reached their receiver.
    pub ws_sent: u64,
    pub ws_delivered: u64,
    /// WebSocket clients reconnecting after losing their server.
    pub ws_reconnects: u64,
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
    pub failed: [u64; 9],
    pub latency_ns: Histogram<u64>,
    pub latency_sum_ns: u128,
    pub queue_wait_ns: Histogram<u64>,
    pub queue_wait_sum_ns: u128,
    pub waited: u64,
    /// Time spent checking a session or token, for requests that carried one.
    pub auth_ns: Histogram<u64>,
    pub auth_sum_ns: u128,
    /// Time spent on the rate-limit check.
    pub check_ns: Histogram<u64>,
    pub check_sum_ns: u128,
    pub servers: Vec<ServerStats>,
    pub buckets: Vec<Bucket>,
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
            failed: [0; 9],
            latency_ns: new_hist(),
            latency_sum_ns: 0,
            queue_wait_ns: new_hist(),
            queue_wait_sum_ns: 0,
            waited: 0,
            auth_ns: new_hist(),
            auth_sum_ns: 0,
            check_ns: new_hist(),
            check_sum_ns: 0,
            servers: vec![ServerStats::default(); servers],
            buckets: vec![Bucket::default(); n_buckets.min(1_000_001)],
            current: 0,
            current_end: SimTime(step.0.max(1)),
        }
    }

    /// The bucket holding time `t`. Records come in time order, so this is usually the
    /// bucket of the previous record.
    #[inline]
    fn bucket(&mut self, t: SimTime) -> &mut Bucket {
        let step = self.step.0.max(1);
        if t >= self.current_end || t.0 + step < self.current_end.0 {
            self.current = ((t.0 / step) as usize).min(self.buckets.len() - 1);
            self.current_end = SimTime((self.current as u64 + 1).saturating_mul(step));
        }
        &mut self.buckets[self.current]
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
            self.latency_ns.saturating_record(latency.max(1));
            self.latency_sum_ns += latency as u128;
        }
        let b = self.bucket(now);
        b.ok += 1;
        b.latency_sum_ns += latency as u128;
        b.latency_us
            .get_or_insert_with(|| Histogram::new_with_bounds(1, HIST_MAX_NS / 1000, 2).expect("valid bounds"))
            .saturating_record((latency / 1000).max(1));
    }

    #[inline]
    pub fn on_failed(&mut self, now: SimTime, sent_at: SimTime, reason: FailReason) {
        if self.counts(sent_at) {
            self.failed[reason as usize] += 1;
        }
        self.bucket(now).failed += 1;
    }

    /// A request starts service after waiting `wait` in the queue.
    #[inline]
    pub fn on_service_start(&mut self, sent_at: SimTime, wait: SimDuration) {
        if self.counts(sent_at) {
            self.queue_wait_ns.saturating_record(wait.0);
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
            self.auth_ns.saturating_record(took.0);
            self.auth_sum_ns += took.0 as u128;
        }
    }

    #[inline]
    pub fn on_check(&mut self, sent_at: SimTime, took: SimDuration) {
        if self.counts(sent_at) {
            self.check_ns.saturating_record(took.0);
            self.check_sum_ns += took.0 as u128;
        }
    }

    pub fn on_fleet_cost(&mut self, now: SimTime, per_hour: f64) {
        self.bucket(now).cost_per_hour = Some(per_hour);
    }

    /// A WebSocket message sent at `sent_at`; `delivered` once it reaches its receiver.
    pub fn on_ws_message(&mut self, sent_at: SimTime, delivered: bool) {
        let b = self.bucket(sent_at);
        if delivered {
            b.ws_delivered += 1;
        } else {
            b.ws_sent += 1;
        }
    }

    pub fn on_ws_reconnect(&mut self, now: SimTime) {
        self.bucket(now).ws_reconnects += 1;
    }

    pub fn on_abuser_allowed(&mut self, now: SimTime) {
        self.bucket(now).abuser_allowed += 1;
    }

    pub fn on_job_queue(&mut self, now: SimTime, depth: u32) {
        self.bucket(now).jobs_queued = Some(depth);
    }

    pub fn on_logout(&mut self, now: SimTime) {
        self.bucket(now).logouts += 1;
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

/// The quantiles at which a latency's distribution is kept for its CDF chart: the
/// minimum, every percent, then finer into the tail, and the maximum.
pub fn cdf_quantiles() -> Vec<f64> {
    let mut q: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
    q.extend([0.995, 0.999, 0.9995, 0.9999, 1.0]);
    q
}

/// A histogram's values (ms) at [`cdf_quantiles`]; empty when nothing was recorded.
pub fn quantiles_ms(h: &Histogram<u64>) -> Vec<f64> {
    if h.is_empty() {
        return Vec::new();
    }
    cdf_quantiles().into_iter().map(|q| h.value_at_quantile(q) as f64 / 1e6).collect()
}

/// Adds `mean, p50, p90, p99, p999, max` of a histogram in milliseconds under `prefix`.
pub fn put_distribution(m: &mut Metrics, prefix: &str, h: &Histogram<u64>, sum_ns: u128) {
    let n = h.len();
    let ms = |ns: u64| ns as f64 / 1e6;
    let q = |p: f64| if n == 0 { 0.0 } else { ms(h.value_at_quantile(p)) };
    m.insert(format!("{prefix}.mean"), if n == 0 { 0.0 } else { sum_ns as f64 / n as f64 / 1e6 });
    m.insert(format!("{prefix}.p50"), q(0.50));
    m.insert(format!("{prefix}.p90"), q(0.90));
    m.insert(format!("{prefix}.p99"), q(0.99));
    m.insert(format!("{prefix}.p999"), q(0.999));
    m.insert(format!("{prefix}.max"), if n == 0 { 0.0 } else { ms(h.max()) });
}
