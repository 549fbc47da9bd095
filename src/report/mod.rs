//! Everything a run writes: `summary.json`, `timeseries.csv`, `topology.dot`, and the
//! comparison table. Only this module and `cli` touch files and the terminal.

pub mod atomic;
pub mod sweep;
pub mod table;

use crate::components::web::RunResult;
use crate::components::Topology;
use crate::metrics::ModelSummary;
use crate::scenario::Model;
use atomic::write_atomic;
use std::path::{Path, PathBuf};

/// Writes a model's outputs into `dir` (created if needed); returns the files written.
pub fn write_model_outputs(dir: &Path, model: &Model, summary: &ModelSummary, runs: &[Vec<RunResult>]) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let summary_path = dir.join("summary.json");
    let mut json = serde_json::to_string_pretty(summary).expect("summary serializes");
    json.push('\n');
    write_atomic(&summary_path, json.as_bytes())?;
    written.push(summary_path);

    let series_path = dir.join("timeseries.csv");
    write_atomic(&series_path, &timeseries_csv(model, runs))?;
    written.push(series_path);

    let dot_path = dir.join("topology.dot");
    let first = &model.variants[0].system;
    write_atomic(&dot_path, Topology::build(first).to_dot().as_bytes())?;
    written.push(dot_path);
    Ok(written)
}

/// The per-bucket series of every variant and replication, in long format.
pub fn timeseries_csv(model: &Model, runs: &[Vec<RunResult>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["variant", "replication", "t_s", "sent", "ok", "failed", "latency_mean_ms", "latency_p99_ms", "servers_up", "servers_in_rotation"]).expect("write to memory");
    for (v, reps) in runs.iter().enumerate() {
        for (rep, run) in reps.iter().enumerate() {
            for row in &run.series {
                w.write_record([
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
                ])
                .expect("write to memory");
            }
        }
    }
    w.into_inner().expect("flush to memory")
}
