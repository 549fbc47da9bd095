//! Which metrics a model's outputs lead with: its own measures that differ between its
//! variants, then what every user feels. The side-by-side chart, the sweep charts, the
//! paired differences under the table and the takeaway in `index.html` all choose here.

use crate::metrics::catalog::{self, Metric};
use crate::metrics::{ModelSummary, Unit};

/// A metric a model may lead with.
pub struct Headline {
    pub metric: &'static Metric,
    /// Whether it says what users got (and so may make the one-line takeaway), rather
    /// than what it cost the system.
    pub outcome: bool,
}

const fn outcome(metric: &'static Metric) -> Headline {
    Headline { metric, outcome: true }
}
const fn cost(metric: &'static Metric) -> Headline {
    Headline { metric, outcome: false }
}

/// What each model's own story is about, most telling first; a model gets those it has
/// and that differ between its variants.
pub static HEADLINE: &[Headline] = &[
    outcome(&catalog::RETRY_GOODPUT_AFTER_SHARE),
    outcome(&catalog::RETRY_RECOVERY_S),
    cost(&catalog::RETRY_AMPLIFICATION_AFTER),
    outcome(&catalog::RETRY_DUPLICATE_EXECUTIONS),
    outcome(&catalog::SESSIONS_STATE_LOST_SHARE),
    outcome(&catalog::REDIS_FAILOVER_LOST_WRITES),
    outcome(&catalog::REVOCATION_ACCEPTED_AFTER_IN_FORCE),
    outcome(&catalog::DATABASE_STALE_AFTER_WRITE_SHARE),
    outcome(&catalog::CARTS_LOST),
    outcome(&catalog::FILES_LOST),
    outcome(&catalog::READS_NOT_FOUND_SHARE),
    outcome(&catalog::PAGE_LATENCY_P99),
    outcome(&catalog::JOBS_LOST),
    outcome(&catalog::JOBS_COMPLETED_AFTER_CLIENT_LEFT),
    outcome(&catalog::JOBS_RUN_TWICE),
    cost(&catalog::JOBS_CPU_WASTED_S),
    cost(&catalog::SERVERS_THREADS_HELD_MEAN),
    cost(&catalog::UPLOADS_SERVER_MB),
    outcome(&catalog::UPLOADS_URL_EXPIRED_SHARE),
    cost(&catalog::UPLOADS_DROPPED_RESENT_MB),
    outcome(&catalog::WS_DELIVERED_SHARE),
    outcome(&catalog::WS_RECONNECTS_PEAK_PER_S),
    cost(&catalog::WS_PUBSUB_RECEIPTS_PER_MESSAGE),
    outcome(&catalog::LP_DELIVERED_SHARE),
    outcome(&catalog::LP_LATENCY_P50),
    cost(&catalog::LP_REQUESTS_PER_DELIVERED),
    outcome(&catalog::LP_LOST_TO_CUT),
    outcome(&catalog::DEPLOY_SESSIONS_LOST),
    cost(&catalog::DEPLOY_DURATION_S),
    cost(&catalog::FLEET_COST_PER_HOUR),
    outcome(&catalog::FLEET_SPOT_INTERRUPTIONS),
    outcome(&catalog::REVOCATION_EXPOSURE_MEAN_S),
    outcome(&catalog::REVOCATION_EXPOSURE_MAX_S),
    outcome(&catalog::RATELIMIT_ABUSER_ALLOWED_PER_WINDOW),
    outcome(&catalog::RATELIMIT_ABUSER_MAX_SLIDING_WINDOW),
    outcome(&catalog::RATELIMIT_WRONGLY_REJECTED),
    cost(&catalog::CARTS_GUEST_WRITES_WASTED),
    cost(&catalog::DATABASE_WRITES),
    cost(&catalog::SERVERS_ROUTED_SHARE_MAX),
    outcome(&catalog::AUTH_MS.p50),
    cost(&catalog::REDIS_UTILISATION),
    cost(&catalog::SERVERS_CPU_MEAN),
    cost(&catalog::QUEUE_WAIT_MS.mean),
];

/// Shown for every model: what every user feels.
pub static ALWAYS: &[Headline] = &[outcome(&catalog::LATENCY_MS.p99), outcome(&catalog::REQUESTS_FAILED)];

/// The mean of a metric in variant `v`, if it has it.
pub fn value_of(s: &ModelSummary, v: usize, metric: &Metric) -> Option<f64> {
    s.variants[v].metrics.get(metric.key).map(|e| e.mean).filter(|x| x.is_finite())
}

/// Whether a metric is present and differs across the variants by more than 2% of its
/// largest value (shares: and by at least 0.1 percentage point).
pub fn differs(s: &ModelSummary, metric: &Metric) -> bool {
    let vals: Vec<f64> = (0..s.variants.len()).map(|v| value_of(s, v, metric).unwrap_or(0.0)).collect();
    let present = (0..s.variants.len()).any(|v| value_of(s, v, metric).is_some());
    let max = vals.iter().copied().fold(0.0f64, |a, b| a.max(b.abs()));
    let spread = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max) - vals.iter().copied().fold(f64::INFINITY, f64::min);
    present && max > 0.0 && spread > 0.02 * max && (metric.unit != Unit::Share || spread >= 0.001)
}

/// The panels of the side-by-side chart: up to `max` of the model's own metrics that
/// differ between its variants, then p99 latency and failed requests where they differ
/// (a panel of equal bars says nothing; p99 stays when nothing else is left).
/// A panel that repeats another's numbers (page latency is all the latency there is
/// when no long request completes) is left out, and another of the model's own takes
/// its place.
pub fn panel_metrics(s: &ModelSummary, max: usize) -> Vec<&'static Metric> {
    let values = |m: &Metric| (0..s.variants.len()).map(|v| value_of(s, v, m)).collect::<Vec<_>>();
    let always: Vec<&'static Metric> =
        ALWAYS.iter().map(|h| h.metric).filter(|m| s.variants.iter().any(|v| v.metrics.contains_key(m.key)) && differs(s, m)).collect();
    let own: Vec<&'static Metric> = HEADLINE.iter().map(|h| h.metric).filter(|m| differs(s, m)).collect();
    let repeated = always.iter().filter(|a| own.iter().take(max).any(|m| values(m) == values(a))).count();
    let mut out: Vec<&'static Metric> = own.into_iter().take(max + repeated).collect();
    let kept: Vec<&'static Metric> = always.into_iter().filter(|a| !out.iter().any(|m| values(m) == values(a))).collect();
    out.extend(kept);
    if out.is_empty() {
        out.push(ALWAYS[0].metric);
    }
    out
}

/// Up to `max` metrics that this summary has and that differ across variants, the
/// model's own first (p99 latency when none differ).
pub fn headline_metrics(s: &ModelSummary, max: usize) -> Vec<&'static Metric> {
    let mut out: Vec<&'static Metric> = HEADLINE.iter().chain(ALWAYS).map(|h| h.metric).filter(|m| differs(s, m)).take(max).collect();
    if out.is_empty() {
        out.push(ALWAYS[0].metric);
    }
    out
}

/// A difference too small to notice, for ranking which metric differs most.
fn noticeable(unit: Unit, sent: f64) -> f64 {
    match unit {
        Unit::Count | Unit::PerSec => (sent * 1e-3).max(1.0),
        Unit::Share => 0.005,
        Unit::Ms | Unit::Secs | Unit::Megabytes | Unit::Bytes | Unit::Number | Unit::Dollars => 1.0,
    }
}

/// The measure of what users got on which the variants differ most: the ratio of the
/// largest value to the smallest, each plus a difference too small to notice.
pub fn most_different(s: &ModelSummary) -> Option<&'static Metric> {
    let sent = value_of(s, 0, &catalog::REQUESTS_SENT).unwrap_or(0.0);
    let scored: Vec<(&'static Metric, f64)> = HEADLINE
        .iter()
        .chain(ALWAYS)
        .filter(|h| h.outcome && differs(s, h.metric))
        .map(|h| {
            let m = h.metric;
            let vals: Vec<f64> = (0..s.variants.len()).map(|v| value_of(s, v, m).unwrap_or(0.0).abs()).collect();
            let eps = noticeable(m.unit, sent);
            let hi = vals.iter().copied().fold(0.0f64, f64::max);
            let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
            (m, ((hi + eps) / (lo + eps)).ln())
        })
        .filter(|(_, r)| *r > 0.05)
        .collect();
    // Ratios of the same order count as a tie, which the model's own measures win.
    let best = scored.iter().map(|(_, r)| *r).fold(0.0f64, f64::max);
    scored.into_iter().find(|(_, r)| *r >= 0.8 * best).map(|(m, _)| m)
}
