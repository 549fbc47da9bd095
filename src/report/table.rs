//! The comparison table: one column per variant, one row per headline metric, in the
//! terminal (comfy-table), as Markdown, or as JSON.

use super::format;
use crate::metrics::catalog::{self as c, Metric};
use crate::metrics::{Estimate, ModelSummary, VariantSummary};
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use std::cmp::Ordering;

/// A row of the table: a metric, whether it is indented under the row above, and
/// whether it is shown even when zero in every variant.
struct Row {
    metric: &'static Metric,
    sub: bool,
    always: bool,
}

const fn row(metric: &'static Metric) -> Row {
    Row { metric, sub: false, always: false }
}
const fn always(metric: &'static Metric) -> Row {
    Row { metric, sub: false, always: true }
}
const fn sub(metric: &'static Metric) -> Row {
    Row { metric, sub: true, always: false }
}

/// The rows above the failures by reason.
static REQUEST_ROWS: &[Row] = &[always(&c::REQUESTS_SENT), always(&c::REQUESTS_OK_SHARE), always(&c::REQUESTS_FAILED)];

/// The rows below them: what every user feels, then each part of the system.
static ROWS: &[Row] = &[
    row(&c::REQUESTS_RETRIED),
    always(&c::LATENCY_MS.p50),
    always(&c::LATENCY_MS.p99),
    always(&c::LATENCY_MS.p999),
    always(&c::LATENCY_ALL_MS.p99),
    always(&c::QUEUE_WAIT_MS.mean),
    always(&c::WAITED_FRACTION),
    always(&c::SERVERS_UTILISATION_MEAN),
    always(&c::SERVERS_ROUTED_SHARE_MAX),
    row(&c::SERVERS_CPU_MEAN),
    row(&c::AUTH_MS.p50),
    row(&c::AUTH_MS.p99),
    row(&c::HEALTH_PROBES_FAILED),
    row(&c::HEALTH_MARKED_DOWN),
    sub(&c::HEALTH_REPLACED),
    row(&c::SESSIONS_STATE_LOST_USERS),
    sub(&c::SESSIONS_STATE_LOST_SHARE),
    row(&c::SESSIONS_PROXY_STATE_LOST_USERS),
    sub(&c::SESSIONS_PROXY_STATE_LOST_SHARE),
    sub(&c::SESSIONS_DIRECT_STATE_LOST_SHARE),
    row(&c::CARTS_LOST),
    sub(&c::CARTS_ITEMS_LOST),
    row(&c::CARTS_MERGES),
    sub(&c::CARTS_MERGE_CONFLICTS),
    row(&c::CARTS_GUEST_WRITES_WASTED),
    row(&c::DATABASE_WRITES),
    row(&c::DATABASE_STALE_READ_SHARE),
    sub(&c::DATABASE_STALE_AFTER_WRITE_SHARE),
    row(&c::DATABASE_PRIMARY_READ_SHARE),
    row(&c::REDIS_OPS_PER_S),
    row(&c::REDIS_UTILISATION),
    row(&c::REDIS_FAILOVER_LOST_WRITES),
    sub(&c::REDIS_FAILOVER_LOST_SESSIONS),
    sub(&c::REDIS_FAILOVER_LOST_BANS),
    sub(&c::REDIS_FAILOVER_LOST_COUNTER_WRITES),
    row(&c::REDIS_FAILOVER_LOST_WRITES_EXPECTED),
    row(&c::RATELIMIT_ABUSER_ALLOWED_PER_WINDOW),
    sub(&c::RATELIMIT_ABUSER_MAX_ALIGNED_WINDOW),
    sub(&c::RATELIMIT_ABUSER_MAX_SLIDING_WINDOW),
    row(&c::RATELIMIT_WRONGLY_REJECTED),
    row(&c::RATELIMIT_CHECK_MS.p50),
    row(&c::RATELIMIT_CHECK_MS.p99),
    row(&c::RATELIMIT_BYTES_PER_KEY),
    row(&c::RATELIMIT_KEYS_WITHOUT_TTL),
    row(&c::RATELIMIT_ALLOWED_WHILE_REDIS_DOWN),
    row(&c::FLEET_INSTANCES_MEAN),
    row(&c::FLEET_INSTANCES_MAX),
    row(&c::FLEET_SCALE_OUT_LAG_S),
    row(&c::FLEET_COST_PER_HOUR),
    row(&c::FLEET_SPOT_INTERRUPTIONS),
    row(&c::DEPLOY_DURATION_S),
    row(&c::DEPLOY_SESSIONS_LOST),
    row(&c::WS_DELIVERED_SHARE),
    row(&c::WS_DROPPED),
    row(&c::WS_LOST_DISCONNECTED),
    row(&c::WS_LATENCY_P99),
    row(&c::WS_RECONNECTS_PEAK_PER_S),
    row(&c::WS_PUBSUB_RECEIPTS_PER_MESSAGE),
    row(&c::LP_MESSAGES_SENT),
    row(&c::LP_DELIVERED_SHARE),
    row(&c::LP_LATENCY_P50),
    row(&c::LP_LATENCY_P99),
    row(&c::LP_LOST_IN_MEMORY),
    row(&c::LP_LOST_TO_CUT),
    row(&c::LP_REQUESTS_PER_S),
    row(&c::LP_REQUESTS_PER_DELIVERED),
    row(&c::LP_EMPTY_POLL_SHARE),
    row(&c::LP_CUT_BY_LB),
    row(&c::LP_RETRIES),
    row(&c::LP_HELD_PER_SERVER),
    row(&c::LP_THREADS_BUSY_SHARE),
    row(&c::LP_WAITING_PEAK),
    row(&c::LP_REFUSED),
    row(&c::LP_SEND_WAIT_P99),
    row(&c::WS_PUBSUB_PUSHES_PER_S),
    row(&c::RETRY_GOODPUT_BEFORE_PER_S),
    row(&c::RETRY_GOODPUT_AFTER_SHARE),
    row(&c::RETRY_RECOVERY_S),
    row(&c::RETRY_RECOVERED),
    row(&c::RETRY_GOODPUT_PER_S),
    row(&c::RETRY_REQUESTS),
    sub(&c::RETRY_GAVE_UP),
    row(&c::RETRY_RETRIES_SENT),
    row(&c::RETRY_AMPLIFICATION),
    row(&c::RETRY_AMPLIFICATION_AFTER),
    row(&c::RETRY_BUDGET_DENIED),
    row(&c::RETRY_BREAKER_REJECTED),
    row(&c::RETRY_BREAKER_OPENINGS),
    row(&c::RETRY_DUPLICATE_EXECUTIONS),
    row(&c::PAGE_LATENCY_P99),
    row(&c::UPLOADS_LATENCY_P50),
    row(&c::UPLOADS_LATENCY_P99),
    row(&c::UPLOADS_SERVER_MB),
    row(&c::UPLOADS_SERVER_WORKER_S),
    row(&c::READS_NOT_FOUND_SHARE),
    row(&c::FILES_LOST),
    row(&c::UPLOADS_INTERRUPTED),
    sub(&c::UPLOADS_INTERRUPTED_RESENT_MB),
    row(&c::UPLOADS_CONNECTION_DROPS),
    sub(&c::UPLOADS_DROPPED_RESENT_MB),
    row(&c::UPLOADS_URL_EXPIRED_SHARE),
    row(&c::UPLOADS_URL_REFRESHES),
    row(&c::UPLOADS_EXPIRED_WASTED_MB),
    row(&c::SERVERS_THREADS_HELD_MEAN),
    row(&c::JOBS_ACCEPTED),
    row(&c::JOBS_COMPLETED),
    sub(&c::JOBS_COMPLETED_AFTER_CLIENT_LEFT),
    row(&c::JOBS_LOST),
    row(&c::JOBS_RUN_TWICE),
    row(&c::JOBS_CPU_WASTED_S),
    row(&c::JOBS_COMPLETION_P50_S),
    row(&c::JOBS_COMPLETION_P99_S),
    row(&c::JOBS_QUEUE_DEPTH_MEAN),
    row(&c::REVOCATION_EXPOSURE_MEAN_S),
    row(&c::REVOCATION_EXPOSURE_MAX_S),
    row(&c::REVOCATION_ACCEPTED_PER_FIRED_USER),
    row(&c::REVOCATION_ACCEPTED_AFTER_IN_FORCE),
    row(&c::REVOCATION_LOOKUPS_PER_REQUEST),
];

/// Every row in order: the requests, each failure reason under them, the rest.
fn layout() -> impl Iterator<Item = Row> {
    let copy = |r: &Row| Row { metric: r.metric, sub: r.sub, always: r.always };
    REQUEST_ROWS.iter().map(copy).chain(c::FAILED.iter().map(sub)).chain(ROWS.iter().map(copy))
}

/// How a variant's value compares with the baseline's (the first variant's), decided on
/// the 95% interval of their paired difference: higher or lower beyond chance when the
/// interval excludes zero, else not distinguishable.
pub fn versus_baseline(v: &VariantSummary, metric: &Metric) -> Option<Ordering> {
    v.vs_baseline.as_ref()?.get(metric.key)?.versus_zero()
}

/// The mark a cell carries for its comparison with the baseline.
pub fn mark(o: Ordering) -> &'static str {
    match o {
        Ordering::Greater => "▲",
        Ordering::Less => "▼",
        Ordering::Equal => "≈",
    }
}

/// A cell of the table: the value, its 95% half-width where the replications give one
/// that shows, and for a variant after the first its comparison with the first.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub value: String,
    pub half: Option<String>,
    pub versus: Option<Ordering>,
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.value)?;
        if let Some(h) = &self.half {
            write!(f, " ± {h}")?;
        }
        if let Some(o) = self.versus {
            write!(f, " {}", mark(o))?;
        }
        Ok(())
    }
}

fn cell(v: &VariantSummary, metric: &Metric) -> Cell {
    match v.metrics.get(metric.key) {
        None => Cell { value: "-".into(), half: None, versus: None },
        Some(e) => {
            let (value, half) = format::estimate_parts(metric.unit, e);
            Cell { value, half, versus: versus_baseline(v, metric) }
        }
    }
}

/// A row of the table: the metric's heading (indented under the row above where it
/// belongs to it) and one cell per variant.
#[derive(Clone, Debug)]
pub struct TableRow {
    /// The catalog's declaration of the row's metric (its definition among the rest).
    pub metric: &'static Metric,
    pub label: String,
    pub sub: bool,
    pub cells: Vec<Cell>,
}

/// The rows of the table, in order; a metric zero in every variant is left out unless
/// it is always shown.
pub fn table_rows(s: &ModelSummary) -> Vec<TableRow> {
    let mut out = Vec::new();
    for Row { metric, sub, always } in layout() {
        let values: Vec<Option<&Estimate>> = s.variants.iter().map(|v| v.metrics.get(metric.key)).collect();
        if !always && values.iter().all(|e| e.is_none_or(|e| e.mean == 0.0)) {
            continue;
        }
        out.push(TableRow { metric, label: metric.heading(), sub, cells: s.variants.iter().map(|v| cell(v, metric)).collect() });
    }
    out
}

/// Rows of label then one cell per variant, as text.
pub fn rows(s: &ModelSummary) -> Vec<Vec<String>> {
    table_rows(s)
        .into_iter()
        .map(|r| std::iter::once(format!("{}{}", if r.sub { "  " } else { "" }, r.label)).chain(r.cells.iter().map(Cell::to_string)).collect())
        .collect()
}

/// What the intervals and marks mean, for the line under a table; None with one
/// replication (no intervals, no marks).
pub fn legend(s: &ModelSummary) -> Option<String> {
    if s.replications < 2 {
        return None;
    }
    let mut text = format!(
        "± is the 95% confidence interval of the mean over {} replications (left out where it is below the last digit shown or every replication gave the same number).",
        s.replications
    );
    if let Some(base) = s.variants.first().filter(|_| s.variants.iter().skip(1).any(|v| v.vs_baseline.is_some())) {
        text.push_str(&format!(
            " {} {}: higher, lower than {} beyond chance (the 95% interval of their difference, replication by replication on the same random numbers, excludes zero); {}: not distinguishable from {}.",
            mark(Ordering::Greater),
            mark(Ordering::Less),
            base.name,
            mark(Ordering::Equal),
            base.name
        ));
    }
    Some(text)
}

/// The header row: `metric` and the variant names.
pub fn header(s: &ModelSummary) -> Vec<String> {
    let mut header = vec![String::from("metric")];
    header.extend(s.variants.iter().map(|v| v.name.clone()));
    header
}

/// A terminal table (UTF-8 borders on a terminal, ASCII otherwise).
pub fn render_terminal(s: &ModelSummary, fancy: bool) -> String {
    let mut t = Table::new();
    t.load_preset(if fancy { presets::UTF8_FULL_CONDENSED } else { presets::ASCII_FULL_CONDENSED });
    t.set_content_arrangement(ContentArrangement::Dynamic);
    let mut header = vec![String::from("metric")];
    header.extend(s.variants.iter().map(|v| v.name.clone()));
    t.set_header(header);
    for row in rows(s) {
        t.add_row(row);
    }
    for col in 1..=s.variants.len() {
        if let Some(c) = t.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let legend = legend(s).map_or(String::new(), |l| format!("{l}\n"));
    format!("{} — {}\nseed {}, {} replication{}\n{t}\n{legend}", s.model, s.title, s.seed, s.replications, if s.replications == 1 { "" } else { "s" })
}

/// A GitHub-flavoured Markdown table.
pub fn render_markdown(s: &ModelSummary) -> String {
    let mut out = format!("### {} — {}\n\nseed {}, {} replication(s)\n\n| metric |", s.model, s.title, s.seed, s.replications);
    for v in &s.variants {
        out.push_str(&format!(" {} |", v.name));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(s.variants.len()));
    out.push('\n');
    for row in rows(s) {
        out.push_str(&format!("| {} |\n", row.iter().map(|c| c.trim()).collect::<Vec<_>>().join(" | ")));
    }
    if let Some(l) = legend(s) {
        out.push_str(&format!("\n{l}\n"));
    }
    out
}

/// With replications: each variant's paired difference from the first variant on the
/// headline metrics, with its 95% interval and whether it excludes zero.
pub fn render_differences(s: &ModelSummary) -> Option<String> {
    if s.replications < 2 || s.variants.len() < 2 {
        return None;
    }
    let baseline = &s.variants[0].name;
    let mut metrics: Vec<&'static Metric> = vec![&c::LATENCY_MS.p50, &c::LATENCY_MS.p99, &c::REQUESTS_FAILED];
    for m in super::headline::headline_metrics(s, 4) {
        if !metrics.iter().any(|k| k.key == m.key) {
            metrics.push(m);
        }
    }
    let mut out = format!("Paired differences from {baseline} (same random numbers; 95% interval over {} replications):\n", s.replications);
    for v in &s.variants[1..] {
        let Some(diffs) = &v.vs_baseline else { continue };
        for metric in &metrics {
            let Some(d) = diffs.get(metric.key) else { continue };
            let verdict = match versus_baseline(v, metric) {
                Some(Ordering::Greater | Ordering::Less) => "significant",
                _ => "not significant",
            };
            out.push_str(&format!("  {:<22} {:<34} {} ({verdict})\n", v.name, metric.axis_title(), format::difference(metric.unit, d)));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::summary::testing::summary_of;

    const P50: &str = "latency_ms.p50";

    fn p50_row(s: &ModelSummary) -> Vec<String> {
        rows(s).into_iter().find(|r| r[0] == c::LATENCY_MS.p50.heading()).expect("the table has latency p50")
    }

    #[test]
    fn with_replications_every_cell_shows_its_interval_and_its_difference_from_the_baseline() {
        let s = summary_of(&[
            ("base", &[(P50, &[10.0, 11.0, 10.5, 10.2, 10.8])]),
            // Higher in every replication by about 2 ms: beyond chance.
            ("slower", &[(P50, &[12.1, 13.0, 12.4, 12.2, 12.9])]),
            // Lower in one replication, higher in the others: not distinguishable.
            ("noisy", &[(P50, &[9.0, 12.5, 10.9, 10.0, 11.7])]),
            // Lower in every replication.
            ("faster", &[(P50, &[9.0, 10.1, 9.4, 9.3, 9.8])]),
        ]);
        let row = p50_row(&s);
        assert_eq!(row[1], "10.5 ± 0.5", "{row:?}");
        assert_eq!(row[2], "12.5 ± 0.5 ▲");
        assert!(row[3].starts_with("10.8 ± ") && row[3].ends_with(" ≈"), "{row:?}");
        assert_eq!(row[4], "9.5 ± 0.5 ▼");
        let legend = legend(&s).unwrap();
        assert!(legend.contains("over 5 replications") && legend.contains("▲ ▼: higher, lower than base beyond chance"), "{legend}");
        // The terminal and Markdown tables carry the same cells and the legend.
        let markdown = render_markdown(&s);
        assert!(markdown.contains(&format!("| {} | 10.5 ± 0.5 | 12.5 ± 0.5 ▲ |", c::LATENCY_MS.p50.heading())) && markdown.contains(&legend), "{markdown}");
        assert!(render_terminal(&s, false).contains(&legend));
        // The paired differences say the same.
        let diffs = render_differences(&s).unwrap();
        assert!(diffs.lines().any(|l| l.contains("slower") && l.contains("latency p50") && l.ends_with("(significant)")), "{diffs}");
        assert!(diffs.lines().any(|l| l.contains("noisy") && l.contains("latency p50") && l.ends_with("(not significant)")), "{diffs}");
    }

    #[test]
    fn one_replication_shows_no_interval_and_no_mark() {
        let s = summary_of(&[("base", &[(P50, &[10.0])]), ("slower", &[(P50, &[12.0])])]);
        assert_eq!(p50_row(&s)[1..], ["10.0", "12.0"]);
        assert!(legend(&s).is_none() && render_differences(&s).is_none());
        assert!(!render_markdown(&s).contains('±'));
    }
}
