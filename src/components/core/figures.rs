//! What the core reports at the end of a run: requests and their outcomes, latency,
//! queueing, each server's load and the backends, and its time-series rows.

use super::*;
use crate::metrics::histogram::quantile_ms;

impl Core {
    /// The metrics every run reports: requests and their outcomes, latency, queueing,
    /// each server's load, the backends.
    /// Writes the core's metrics into `m` and returns each server's figures (also written
    /// into `m`, under their keys).
    pub fn report(&self, end: SimTime, window_s: f64, events: u64, m: &mut Metrics) -> Vec<ServerFigures> {
        let in_flight = self.requests.iter().filter(|r| r.live && !r.timed_out && self.rec.counts(r.sent_at)).count() as u64;
        let rec = &self.rec;
        m.put(&catalog::REQUESTS_SENT, rec.sent as f64);
        m.put(&catalog::REQUESTS_OK, rec.ok as f64);
        m.put(&catalog::REQUESTS_FAILED, rec.failed_total() as f64);
        m.put(&catalog::REQUESTS_IN_FLIGHT, in_flight as f64);
        m.put(&catalog::REQUESTS_OK_SHARE, if rec.sent == 0 { 0.0 } else { rec.ok as f64 / rec.sent as f64 });
        for reason in FailReason::ALL {
            m.put(catalog::failed(reason), rec.failed[reason as usize] as f64);
        }
        put_distribution(m, &catalog::LATENCY_MS, &rec.latency_ns.to_hdr(), rec.latency_sum_ns);
        let (all, all_sum_ns) = rec.all_latency();
        put_distribution(m, &catalog::LATENCY_ALL_MS, &all, all_sum_ns);
        put_distribution(m, &catalog::QUEUE_WAIT_MS, &rec.queue_wait_ns.to_hdr(), rec.queue_wait_sum_ns);
        let started = rec.queue_wait_ns.len();
        m.put(&catalog::WAITED_FRACTION, if started == 0 { 0.0 } else { rec.waited as f64 / started as f64 });
        m.put(&catalog::THROUGHPUT_OK_PER_S, rec.ok as f64 / window_s);
        if self.health.is_some_and(|h| h.timeout.is_some() || h.replace) {
            m.put(&catalog::HEALTH_PROBES_FAILED, self.health_probes_failed as f64);
            m.put(&catalog::HEALTH_MARKED_DOWN, self.health_marked_down as f64);
            m.put(&catalog::HEALTH_REPLACED, self.health_replaced as f64);
        }
        let total_served: u64 = rec.servers.iter().map(|s| s.requests).sum();
        let total_routed: u64 = self.routed.iter().sum();
        // Utilisation and CPU are over the time each server was in service: an instance
        // the autoscaler never launched, or a dead server's downtime, dilutes nothing.
        let (mut busy_sum, mut cpu_sum, mut capacity_sum, mut share_max, mut routed_max) = (0.0, 0.0, 0.0, 0.0f64, 0.0f64);
        let (mut util_min, mut util_max) = (f64::INFINITY, 0.0f64);
        let mut servers = Vec::with_capacity(rec.servers.len());
        for (i, s) in rec.servers.iter().enumerate() {
            let name = System::server_name(i);
            let share = if total_served == 0 { 0.0 } else { s.requests as f64 / total_served as f64 };
            let server = &self.servers[i];
            let cores = server.workers.capacity as f64;
            let capacity_ns = server.in_service_ns(end, rec.warmup_end) as f64 * cores;
            let busy_ns = server.workers.busy_ns_until(end) as f64;
            let of_capacity = |ns: f64| if capacity_ns > 0.0 { ns / capacity_ns } else { 0.0 };
            let (util, cpu) = (of_capacity(busy_ns), of_capacity(s.cpu_ns as f64));
            let routed = if total_routed == 0 { 0.0 } else { self.routed[i] as f64 / total_routed as f64 };
            share_max = share_max.max(share);
            routed_max = routed_max.max(routed);
            if capacity_ns > 0.0 {
                busy_sum += busy_ns;
                cpu_sum += s.cpu_ns as f64;
                capacity_sum += capacity_ns;
                util_min = util_min.min(util);
                util_max = util_max.max(util);
            }
            let figures = ServerFigures { name, requests: s.requests as f64, share, routed_share: routed, utilisation: util, cpu };
            m.put_server(&figures);
            servers.push(figures);
        }
        let over_capacity = |ns: f64| if capacity_sum > 0.0 { ns / capacity_sum } else { 0.0 };
        m.put(&catalog::SERVERS_UTILISATION_MEAN, over_capacity(busy_sum));
        m.put(&catalog::SERVERS_CPU_MEAN, over_capacity(cpu_sum));
        m.put(&catalog::SERVERS_SHARE_MAX, share_max);
        m.put(&catalog::SERVERS_ROUTED_SHARE_MAX, routed_max);
        m.put(&catalog::SERVERS_UTILISATION_MIN, if util_min.is_finite() { util_min } else { 0.0 });
        m.put(&catalog::SERVERS_UTILISATION_MAX, util_max);
        m.put(&catalog::RUN_WINDOW_S, window_s);
        m.put(&catalog::ENGINE_EVENTS, events as f64);
        m.put(&catalog::DATABASE_READS, self.db.reads as f64);
        m.put(&catalog::DATABASE_WRITES, self.db.writes as f64);
        m.put(&catalog::DATABASE_UTILISATION, self.db.station.utilisation(end));
        self.db.report_replicas(end, m);
        m.put(&catalog::REDIS_OPS, self.redis.ops as f64);
        m.put(&catalog::REDIS_OPS_PER_S, self.redis.ops as f64 / window_s);
        m.put(&catalog::REDIS_REFUSED, self.redis.ops_refused as f64);
        m.put(&catalog::REDIS_UTILISATION, self.redis.station.utilisation(end));
        m.put(&catalog::REDIS_KEYS, self.redis.kv.len() as f64);
        m.put(&catalog::REQUESTS_RETRIED, self.retried_after_failure as f64);
        let retried: u64 = self.retried_on.iter().sum();
        m.put(&catalog::REQUESTS_RETRIED_ON_ANOTHER_SERVER, retried as f64);
        // The server that took the most retries (the first of equals), by number.
        let top = (0..self.retried_on.len()).rev().max_by_key(|&s| self.retried_on[s]).filter(|_| retried > 0);
        m.put(&catalog::REQUESTS_RETRY_TOP_SERVER, top.map_or(0.0, |s| s as f64 + 1.0));
        m.put(&catalog::REQUESTS_RETRY_TOP_SERVER_SHARE, top.map_or(0.0, |s| self.retried_on[s] as f64 / retried as f64));
        if let Some(p) = &self.pages {
            let h = p.counted.to_hdr();
            m.put(&catalog::PAGE_LATENCY_P50, quantile_ms(&h, 0.5));
            m.put(&catalog::PAGE_LATENCY_P99, quantile_ms(&h, 0.99));
        }
        servers
    }

    /// The time series, one row per bucket up to `end`.
    pub fn series(&self, end: SimTime) -> Vec<SeriesRow> {
        let rec = &self.rec;
        let step = rec.step().0.max(1);
        let mut series = Vec::with_capacity(rec.buckets.len());
        let (mut up, mut rot) = (0, 0);
        // A level not set in a bucket holds its last value (zero before the first).
        let n = rec.columns.len();
        let mut levels = vec![0.0; n];
        let last = ((end.0.saturating_sub(1)) / step).min(rec.buckets.len() as u64 - 1) as usize;
        for (i, b) in rec.buckets.iter().enumerate().take(last + 1) {
            up = b.servers_up.unwrap_or(up);
            rot = b.servers_in_rotation.unwrap_or(rot);
            series.push(SeriesRow {
                t_s: (i as u64 * step) as f64 / 1e9,
                sent: b.sent,
                ok: b.ok,
                failed: b.failed,
                latency_mean_ms: if b.ok == 0 { 0.0 } else { b.latency_sum_ns as f64 / b.ok as f64 / 1e6 },
                latency_p99_ms: b.latency_ns.value_at_quantile(0.99).map_or(0.0, |ns| ns as f64 / 1e6),
                servers_up: up,
                servers_in_rotation: rot,
                parts: (0..n)
                    .map(|c| {
                        let v = rec.column_values[i * n + c];
                        if v.is_nan() {
                            levels[c]
                        } else {
                            levels[c] = v;
                            v
                        }
                    })
                    .collect(),
            });
        }
        series
    }
}
