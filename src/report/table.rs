//! The comparison table: one column per variant, one row per headline metric, in the
//! terminal (comfy-table), as Markdown, or as JSON.

use crate::metrics::{Estimate, ModelSummary};
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

/// How a metric is shown.
#[derive(Clone, Copy)]
enum Unit {
    Count,
    Ms,
    Share,
    Secs,
    Rate,
}

/// Headline rows: (metric key, label, unit, shown even when zero everywhere).
const ROWS: &[(&str, &str, Unit, bool)] = &[
    ("requests.sent", "requests sent", Unit::Count, true),
    ("requests.ok_share", "ok", Unit::Share, true),
    ("requests.failed", "failed", Unit::Count, true),
    ("failed.server_killed", "  server killed (502)", Unit::Count, false),
    ("failed.connection_refused", "  connection refused", Unit::Count, false),
    ("failed.overloaded_503", "  queue full (503)", Unit::Count, false),
    ("failed.no_healthy_server", "  no healthy server", Unit::Count, false),
    ("failed.client_timeout", "  client timeout", Unit::Count, false),
    ("failed.redis_unavailable", "  Redis unavailable", Unit::Count, false),
    ("failed.unauthorized", "  unauthorized (401)", Unit::Count, false),
    ("failed.rate_limited_429", "  rate limited (429)", Unit::Count, false),
    ("requests.retried_after_failure", "retried after a 502", Unit::Count, false),
    ("latency_ms.p50", "latency p50 (ms)", Unit::Ms, true),
    ("latency_ms.p99", "latency p99 (ms)", Unit::Ms, true),
    ("latency_ms.p999", "latency p99.9 (ms)", Unit::Ms, true),
    ("queue_wait_ms.mean", "queue wait mean (ms)", Unit::Ms, true),
    ("waited_fraction", "requests that waited", Unit::Share, true),
    ("servers.utilisation_mean", "server utilisation", Unit::Share, true),
    ("servers.share_max", "busiest server's share", Unit::Share, true),
    ("servers.cpu_mean", "server CPU", Unit::Share, false),
    ("auth_ms.p50", "auth added p50 (ms)", Unit::Ms, false),
    ("auth_ms.p99", "auth added p99 (ms)", Unit::Ms, false),
    ("sessions.logged_out_users", "users logged out", Unit::Count, false),
    ("sessions.logged_out_share", "  share of active users", Unit::Share, false),
    ("carts.lost", "carts lost", Unit::Count, false),
    ("carts.items_lost", "  items lost", Unit::Count, false),
    ("carts.merges", "carts merged at login", Unit::Count, false),
    ("carts.merge_conflicts", "  merge conflicts", Unit::Count, false),
    ("carts.guest_writes_wasted", "DB writes on abandoned carts", Unit::Count, false),
    ("database.writes", "database writes", Unit::Count, false),
    ("redis.ops_per_s", "Redis ops/s", Unit::Rate, false),
    ("redis.utilisation", "Redis utilisation", Unit::Share, false),
    ("ratelimit.abuser_allowed_per_window", "abuser allowed per window", Unit::Secs, false),
    ("ratelimit.abuser_max_aligned_window", "  most in one aligned window", Unit::Count, false),
    ("ratelimit.abuser_max_sliding_window", "  most in any sliding window", Unit::Count, false),
    ("ratelimit.wrongly_rejected", "users under the limit rejected", Unit::Count, false),
    ("ratelimit_check_ms.p50", "limit check p50 (ms)", Unit::Ms, false),
    ("ratelimit_check_ms.p99", "limit check p99 (ms)", Unit::Ms, false),
    ("ratelimit.bytes_per_key", "memory per key (bytes)", Unit::Count, false),
    ("ratelimit.keys_without_ttl", "counters left without a TTL", Unit::Count, false),
    ("ratelimit.allowed_while_redis_down", "allowed while Redis was down", Unit::Count, false),
    ("fleet.instances_mean", "instances, mean", Unit::Secs, false),
    ("fleet.instances_max", "instances, max", Unit::Count, false),
    ("fleet.scale_out_lag_s", "scale-out lag after the step (s)", Unit::Secs, false),
    ("fleet.cost_per_hour", "cost per hour", Unit::Secs, false),
    ("fleet.spot_interruptions", "spot interruptions", Unit::Count, false),
    ("deploy.duration_s", "deploy duration (s)", Unit::Secs, false),
    ("deploy.sessions_lost", "sessions lost in the deploy", Unit::Count, false),
    ("ws.delivered_share", "messages delivered", Unit::Share, false),
    ("ws.dropped", "messages dropped", Unit::Count, false),
    ("ws.latency_p99_ms", "message latency p99 (ms)", Unit::Ms, false),
    ("ws.reconnects_peak_per_s", "peak reconnects per second", Unit::Count, false),
    ("ws.pubsub_receipts_per_message", "pub/sub pushes per message", Unit::Secs, false),
    ("page_latency_ms.p99", "page latency p99 (ms)", Unit::Ms, false),
    ("uploads.latency_p50_ms", "upload latency p50 (ms)", Unit::Ms, false),
    ("uploads.latency_p99_ms", "upload latency p99 (ms)", Unit::Ms, false),
    ("uploads.server_mb", "upload MB through servers", Unit::Count, false),
    ("uploads.server_worker_s", "server thread-seconds on uploads", Unit::Count, false),
    ("reads.not_found_share", "reads that 404", Unit::Share, false),
    ("files.lost", "files lost", Unit::Count, false),
    ("servers.threads_held_mean", "server threads held (mean)", Unit::Secs, false),
    ("jobs.accepted", "jobs accepted", Unit::Count, false),
    ("jobs.completed", "jobs completed", Unit::Count, false),
    ("jobs.completed_after_client_left", "  after the client left", Unit::Count, false),
    ("jobs.lost", "jobs lost", Unit::Count, false),
    ("jobs.run_twice", "jobs run twice", Unit::Count, false),
    ("jobs.cpu_wasted_s", "CPU wasted on jobs (s)", Unit::Count, false),
    ("jobs.completion_p50_s", "job completion p50 (s)", Unit::Secs, false),
    ("jobs.completion_p99_s", "job completion p99 (s)", Unit::Secs, false),
    ("jobs.queue_depth_mean", "job queue depth, mean", Unit::Secs, false),
    ("revocation.exposure_mean_s", "exposure after ban, mean (s)", Unit::Secs, false),
    ("revocation.exposure_max_s", "exposure after ban, max (s)", Unit::Secs, false),
    ("revocation.lookups_per_request", "revocation lookups per request", Unit::Secs, false),
];

fn fmt_value(x: f64, unit: Unit) -> String {
    match unit {
        Unit::Count | Unit::Rate => group_thousands(x.round() as i64),
        Unit::Ms | Unit::Secs => sig3(x),
        Unit::Share => format!("{:.1}%", x * 100.0),
    }
}

fn fmt_half(x: f64, unit: Unit) -> String {
    match unit {
        Unit::Share => format!("{:.1}%", x * 100.0),
        _ => sig3(x),
    }
}

/// Three significant digits, without scientific notation for ordinary values; from
/// 10,000 up, the whole number with thousands separators.
pub fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    if x.abs() >= 10_000.0 {
        return group_thousands(x.round() as i64);
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}

/// Whole numbers with thousands separators: 1234567 -> "1,234,567".
pub fn group_thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn cell(e: Option<&Estimate>, unit: Unit) -> String {
    match e {
        None => "-".into(),
        Some(e) => match e.ci95 {
            Some(h) if h > 0.0 => format!("{} ± {}", fmt_value(e.mean, unit), fmt_half(h, unit)),
            _ => fmt_value(e.mean, unit),
        },
    }
}

/// Rows of label then one cell per variant.
pub fn rows(s: &ModelSummary) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for &(key, label, unit, always) in ROWS {
        let values: Vec<Option<&Estimate>> = s.variants.iter().map(|v| v.metrics.get(key)).collect();
        if !always && values.iter().all(|e| e.is_none_or(|e| e.mean == 0.0)) {
            continue;
        }
        let mut row = vec![label.to_string()];
        row.extend(values.iter().map(|e| cell(*e, unit)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(sig3(1234.5678), "1235");
        assert_eq!(sig3(12.345), "12.3");
        assert_eq!(sig3(0.012345), "0.0123");
        assert_eq!(group_thousands(1234567), "1,234,567");
    }
}

/// With replications: each variant's paired difference from the first variant on the
/// headline metrics, with its 95% interval and whether it excludes zero.
pub fn render_differences(s: &ModelSummary) -> Option<String> {
    if s.replications < 2 || s.variants.len() < 2 {
        return None;
    }
    let baseline = &s.variants[0].name;
    let mut keys: Vec<(&str, &str, f64)> =
        vec![("latency_ms.p50", "latency p50 (ms)", 1.0), ("latency_ms.p99", "latency p99 (ms)", 1.0), ("requests.failed", "failed requests", 1.0)];
    for m in crate::report::charts::headline_metrics(s, 4) {
        if !keys.iter().any(|(k, _, _)| *k == m.key) {
            keys.push((m.key, m.label, m.scale));
        }
    }
    let mut out = format!("Paired differences from {baseline} (same random numbers; 95% interval over {} replications):\n", s.replications);
    for v in &s.variants[1..] {
        let Some(diffs) = &v.vs_baseline else { continue };
        for (key, label, scale) in &keys {
            let Some(d) = diffs.get(*key) else { continue };
            let half = d.ci95.unwrap_or(0.0) * scale;
            let mean = d.mean * scale;
            let verdict = if mean.abs() > half { "significant" } else { "not significant" };
            let sign = if mean >= 0.0 { "+" } else { "" };
            out.push_str(&format!("  {:<22} {:<34} {sign}{} ± {} ({verdict})\n", v.name, label, sig3(mean), sig3(half)));
        }
    }
    Some(out)
}
