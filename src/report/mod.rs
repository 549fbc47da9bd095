//! Everything a run writes: `summary.json`, `timeseries.csv`, `topology.dot`, and the
//! comparison table. Only this module and `cli` touch files and the terminal.

pub mod atomic;
pub mod charts;
pub mod format;
pub mod headline;
pub mod html;
pub mod machine;
pub mod sweep;
pub mod table;
pub mod takeaway;

use crate::check::CheckRow;
use crate::components::topology::Overview;
use crate::metrics::catalog::{AUTH_MS, LATENCY_MS};
use crate::metrics::series::{PART_COLUMNS, SeriesColumn};
use crate::metrics::{KeptRuns, ModelSummary, Unit};
use crate::scenario::Model;
use atomic::Sink;
use std::path::{Path, PathBuf};

/// A chart written for a model: its file stem (`<stem>.svg`, `<stem>.png`), caption and
/// size in pixels.
#[derive(Clone, Debug)]
pub struct ChartFile {
    pub stem: String,
    pub caption: String,
    pub size: (u32, u32),
}

fn write_chart<S: Sink + ?Sized, C: charts::Chart>(
    dir: &S,
    stem: &str,
    caption: &str,
    chart: &C,
    written: &mut Vec<PathBuf>,
    list: &mut Vec<ChartFile>,
) -> std::io::Result<()> {
    let (svg, png) = charts::render(chart).map_err(|e| std::io::Error::other(format!("drawing {stem}: {e}")))?;
    for (ext, bytes) in [("svg", svg.as_bytes()), ("png", png.as_slice())] {
        written.push(dir.put(&format!("{stem}.{ext}"), bytes)?);
    }
    list.push(ChartFile { stem: stem.to_string(), caption: caption.to_string(), size: chart.size() });
    Ok(())
}

/// The charts that fit a model: the variants side by side, a timeline, and per-server
/// load or latency percentiles where the model has them.
pub fn write_model_charts<S: Sink + ?Sized>(
    dir: &S,
    model: &Model,
    summary: &ModelSummary,
    runs: &KeptRuns,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<Vec<ChartFile>> {
    let mut list = Vec::new();
    let metrics = headline::panel_metrics(summary, 4);
    let whiskers = if summary.replications > 1 { " Whiskers: 95% confidence intervals over the replications." } else { "" };
    write_chart(
        dir,
        "variants",
        &format!(
            "The variants side by side on the model's own measures, and on p99 latency and failed requests where they differ; dashed: where theory puts a value.{whiskers}"
        ),
        &charts::VariantBars { model, summary, metrics },
        written,
        &mut list,
    )?;
    write_chart(
        dir,
        "timeline",
        "Each variant over time, on shared scales: responses and failures per second, p99 latency of ok responses. Grey: the warm-up (left out of the statistics) and faults; dashed: the moment a fault strikes.",
        &charts::Timeline { model, runs },
        written,
        &mut list,
    )?;
    // Shares per server mean little when servers come and go (autoscaling, spot, deploys).
    let fleet_moves = model.variants.iter().any(|v| v.system.fleet.autoscale || v.system.fleet.deploy.is_some() || v.system.fleet.spot_share > 0.0);
    if charts::uneven_shares(summary) && !fleet_moves {
        write_chart(
            dir,
            "servers",
            "Share of routed requests per server: a hot spot is one tall bar, a dead server a short one.",
            &charts::ServerShares { model, summary },
            written,
            &mut list,
        )?;
    }
    let auth = charts::percentiles_differ(summary, &AUTH_MS, 1.2);
    if auth || charts::percentiles_differ(summary, &LATENCY_MS, 2.0) {
        let caption = if auth {
            "How latency is spread: for each time on the (log) axis, the share of all responses that were ok within it (a line levels off below 100% by the share that failed, named in the key). Left the whole request, right the time spent checking the session or token (the share of checked requests)."
        } else {
            "How latency is spread: for each time on the (log) axis, the share of all responses that were ok within it (a line levels off below 100% by the share that failed, named in the key)."
        };
        write_chart(dir, "latency-cdf", caption, &charts::LatencyCdf { model, runs, auth }, written, &mut list)?;
    }
    if charts::percentiles_differ(summary, &LATENCY_MS, 1.5) {
        write_chart(
            dir,
            "latency-tail",
            "The tail: for each time on the (log) axis, the share of requests slower than it, from 10% (p90) to 0.01% (p99.99). A line further right is a slower tail.",
            &charts::LatencyTail { model, runs },
            written,
            &mut list,
        )?;
    }
    if runs.firsts().any(|r| !r.exposures_s.is_empty()) {
        write_chart(
            dir,
            "exposure",
            "How long after each ban some server still accepted the fired user's session or token (a fired user keeps trying until none does).",
            &charts::ExposureHistogram { model, runs },
            written,
            &mut list,
        )?;
    }
    Ok(list)
}

/// Writes a model's outputs into `dir` (a `Staging` folder, swapped in whole once
/// committed); returns the files written (as they will be named in place) and the charts.
pub fn write_model_outputs<S: Sink + ?Sized>(
    dir: &S,
    model: &Model,
    summary: &ModelSummary,
    runs: &KeptRuns,
) -> std::io::Result<(Vec<PathBuf>, Vec<ChartFile>)> {
    let mut written = Vec::new();
    let mut json = serde_json::to_string_pretty(summary).expect("summary serializes");
    json.push('\n');
    written.push(dir.put("summary.json", json.as_bytes())?);
    written.push(dir.put("timeseries.csv", &timeseries_csv(model, runs))?);
    written.push(dir.put(&format!("{}.toml", model.name), model.text.as_bytes())?);

    let overview = Overview::new(model.variants.iter().map(|v| (v.name.as_str(), &v.system)));
    written.push(dir.put("topology.dot", overview.to_dot().as_bytes())?);
    let mut charts = write_model_charts(dir, model, summary, runs, &mut written)?;
    write_chart(
        dir,
        "topology",
        &topology_caption(&overview),
        &charts::TopologyPicture { title: &model.title, overview: &overview },
        &mut written,
        &mut charts,
    )?;
    Ok((written, charts))
}

/// The topology picture's caption: which variants have each node that not all of them have.
fn topology_caption(overview: &Overview) -> String {
    let mut caption = String::from("The system, drawn from the model's graph (also in topology.dot)");
    let partial: Vec<String> = overview
        .graph
        .node_indices()
        .filter_map(|n| overview.only_in(n).map(|names| format!("{} only in {}", overview.graph[n].lines[0], names.join(", "))))
        .collect();
    if overview.variants.len() > 1 {
        caption.push_str(&format!(", all {} variants in one picture", overview.variants.len()));
    }
    if partial.is_empty() {
        caption.push('.');
    } else {
        caption.push_str(&format!(": {}.", partial.join("; ")));
    }
    caption
}

/// The folder the theory check is written to, beside the models' folders.
pub const CHECK_FOLDER: &str = "theory-check";

/// The rows of `statesim check` as JSON: each figure's analytic value beside its
/// simulated mean, 95% bounds and replications, and whether the interval holds the
/// analytic value.
pub fn check_json(rows: &[CheckRow]) -> serde_json::Value {
    rows.iter()
        .map(|r| {
            serde_json::json!({"model": r.model, "case": r.case, "figure": r.figure, "analytic": r.analytic, "simulated": r.simulated.mean, "ci95_low": r.simulated.low(), "ci95_high": r.simulated.high(), "replications": r.simulated.n, "inside": r.inside()})
        })
        .collect()
}

/// Writes the theory check into `dir` (a `Staging` folder): `check.json` and its chart
/// (`check.svg`, `check.png`); returns the files written and the chart.
pub fn write_check_outputs<S: Sink + ?Sized>(dir: &S, rows: &[CheckRow]) -> std::io::Result<(Vec<PathBuf>, ChartFile)> {
    let mut written = Vec::new();
    let mut json = serde_json::to_string_pretty(&check_json(rows)).expect("rows serialize");
    json.push('\n');
    written.push(dir.put("check.json", json.as_bytes())?);
    let mut list = Vec::new();
    let inside = rows.iter().filter(|r| r.inside()).count();
    let caption = format!(
        "statesim check on this run: {inside} of {} simulated figures of the theory models inside their 95% interval. A dot is a figure's simulated mean, its whisker the 95% interval, as a deviation from the analytic value (the dashed line at zero).",
        rows.len()
    );
    write_chart(
        dir,
        "check",
        &caption,
        &charts::CheckChart { rows, words: charts::CheckWords::theory(rows.first().map_or(0, |r| r.simulated.n)) },
        &mut written,
        &mut list,
    )?;
    Ok((written, list.remove(0)))
}

/// The per-bucket series of every variant and replication, in long format: the core's
/// columns, then each part's column that some variant registered (empty where a
/// variant has no such part).
pub fn timeseries_csv(model: &Model, runs: &KeptRuns) -> Vec<u8> {
    let parts: Vec<&SeriesColumn> = PART_COLUMNS.iter().copied().filter(|c| runs.firsts().any(|r| r.column(c).is_some())).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    let core = ["variant", "replication", "t_s", "sent", "ok", "failed", "latency_mean_ms", "latency_p99_ms", "servers_up", "servers_in_rotation"];
    w.write_record(core.iter().copied().chain(parts.iter().map(|c| c.key))).expect("write to memory");
    for (v, kept) in runs.variants.iter().enumerate() {
        // Every replication of a variant registers the same columns as its first.
        let index: Vec<Option<usize>> = parts.iter().map(|c| kept.first.as_ref().and_then(|r| r.column(c))).collect();
        for (rep, series) in kept.series().enumerate() {
            for row in series {
                let mut record = vec![
                    model.variants[v].name.clone(),
                    rep.to_string(),
                    format!("{}", row.t_s),
                    row.sent.to_string(),
                    row.ok.to_string(),
                    row.failed.to_string(),
                    format!("{:.3}", row.latency_mean_ms),
                    format!("{:.3}", row.latency_p99_ms),
                    row.servers_up.to_string(),
                    row.servers_in_rotation.to_string(),
                ];
                for (c, i) in parts.iter().zip(&index) {
                    record.push(match i {
                        Some(i) if c.decimals == 0 => format!("{}", row.parts[*i] as u64),
                        Some(i) => format!("{:.*}", c.decimals, row.parts[*i]),
                        None => String::new(),
                    });
                }
                w.write_record(&record).expect("write to memory");
            }
        }
    }
    w.into_inner().expect("flush to memory")
}

/// Charts of a sweep: each headline metric that changes across the grid, against the
/// first swept parameter, per variant, with 95% bands. Returns the files written.
pub fn write_sweep_charts(dir: &Path, spec: &crate::sweep::SweepSpec, points: &[crate::sweep::PointResult]) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut list = Vec::new();
    // Changes by more than 2% of its largest value (a share: and by 0.1 percentage point).
    let changes = |m: &crate::metrics::Metric| {
        let vals: Vec<f64> = points.iter().flat_map(|p| p.variants.iter().filter_map(|v| v.metrics.get(m.key).map(|e| e.mean))).collect();
        let max = vals.iter().copied().fold(0.0f64, |a, b| a.max(b.abs()));
        let spread = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max) - vals.iter().copied().fold(f64::INFINITY, f64::min);
        !vals.is_empty() && max > 0.0 && spread > 0.02 * max && (m.unit != Unit::Share || spread >= 0.001)
    };
    // Up to two of the model's own measures, then what every user feels.
    let chosen =
        headline::HEADLINE.iter().map(|h| h.metric).filter(|m| changes(m)).take(2).chain(headline::ALWAYS.iter().map(|h| h.metric).filter(|m| changes(m)));
    for metric in chosen {
        let stem = format!("sweep-{}", metric.key.replace('.', "-"));
        write_chart(dir, &stem, &metric.axis_title(), &charts::SweepLines { spec, points, metric }, &mut written, &mut list)?;
    }
    Ok(written)
}
