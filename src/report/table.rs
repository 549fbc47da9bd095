//! The comparison table: one column per variant, one row per headline metric, in the
//! terminal (comfy-table), as Markdown, or as JSON.

use super::format::{self, sig3};
use crate::metrics::catalog::{self as c, Metric};
use crate::metrics::{Estimate, ModelSummary, Unit};
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

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
    row(&c::SESSIONS_STATE_LOST_USERS),
    sub(&c::SESSIONS_STATE_LOST_SHARE),
    row(&c::CARTS_LOST),
    sub(&c::CARTS_ITEMS_LOST),
    row(&c::CARTS_MERGES),
    sub(&c::CARTS_MERGE_CONFLICTS),
    row(&c::CARTS_GUEST_WRITES_WASTED),
    row(&c::DATABASE_WRITES),
    row(&c::REDIS_OPS_PER_S),
    row(&c::REDIS_UTILISATION),
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
    row(&c::PAGE_LATENCY_P99),
    row(&c::UPLOADS_LATENCY_P50),
    row(&c::UPLOADS_LATENCY_P99),
    row(&c::UPLOADS_SERVER_MB),
    row(&c::UPLOADS_SERVER_WORKER_S),
    row(&c::READS_NOT_FOUND_SHARE),
    row(&c::FILES_LOST),
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
    row(&c::REVOCATION_LOOKUPS_PER_REQUEST),
];

/// Every row in order: the requests, each failure reason under them, the rest.
fn layout() -> impl Iterator<Item = Row> {
    let copy = |r: &Row| Row { metric: r.metric, sub: r.sub, always: r.always };
    REQUEST_ROWS.iter().map(copy).chain(c::FAILED.iter().map(sub)).chain(ROWS.iter().map(copy))
}

/// An interval's half-width: shares in percent, everything else to three digits.
fn fmt_half(x: f64, unit: Unit) -> String {
    match unit {
        Unit::Share => format::value(unit, x),
        _ => sig3(x),
    }
}

fn cell(e: Option<&Estimate>, unit: Unit) -> String {
    match e {
        None => "-".into(),
        Some(e) => match e.ci95 {
            Some(h) if h > 0.0 => format!("{} ± {}", format::value(unit, e.mean), fmt_half(h, unit)),
            _ => format::value(unit, e.mean),
        },
    }
}

/// Rows of label then one cell per variant.
pub fn rows(s: &ModelSummary) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for Row { metric, sub, always } in layout() {
        let values: Vec<Option<&Estimate>> = s.variants.iter().map(|v| v.metrics.get(metric.key)).collect();
        if !always && values.iter().all(|e| e.is_none_or(|e| e.mean == 0.0)) {
            continue;
        }
        let indent = if sub { "  " } else { "" };
        let mut row = vec![format!("{indent}{}", metric.heading())];
        row.extend(values.iter().map(|e| cell(*e, metric.unit)));
        out.push(row);
    }
    out
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
    format!("{} — {}\nseed {}, {} replication{}\n{t}\n", s.model, s.title, s.seed, s.replications, if s.replications == 1 { "" } else { "s" })
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
            let scale = if metric.unit == Unit::Share { 100.0 } else { 1.0 };
            let half = d.ci95.unwrap_or(0.0) * scale;
            let mean = d.mean * scale;
            let verdict = if mean.abs() > half { "significant" } else { "not significant" };
            let sign = if mean >= 0.0 { "+" } else { "" };
            out.push_str(&format!("  {:<22} {:<34} {sign}{} ± {} ({verdict})\n", v.name, metric.axis_title(), sig3(mean), sig3(half)));
        }
    }
    Some(out)
}
