//! Sweep files: one JSON file per grid point (written atomically as each point
//! finishes, so an interrupted sweep resumes where it stopped and cluster shares can be
//! merged), and the assembled `sweep.json` and `sweep.csv`, which depend only on the
//! point files: one machine, N threads or N merged shares give the same bytes.

use super::atomic::write_atomic;
use crate::sweep::{PointResult, SweepSpec};
use std::path::{Path, PathBuf};

pub const SPEC_FILE: &str = "sweep-spec.json";
pub const POINTS_DIR: &str = "points";

pub fn point_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(POINTS_DIR).join(format!("{index:06}.json"))
}

pub fn write_spec(dir: &Path, spec: &SweepSpec) -> std::io::Result<()> {
    let mut json = serde_json::to_string_pretty(spec).expect("spec serializes");
    json.push('\n');
    write_atomic(&dir.join(SPEC_FILE), json.as_bytes())
}

/// Why sweep files could not be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum SweepFileError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a statesim sweep file: {reason}")]
    Invalid { path: String, reason: String },
    #[error("{a} and {b} belong to different sweeps (model, axes, overrides, replications or version differ)")]
    Mismatch { a: String, b: String },
    #[error("the sweep has {total} points but {missing} are missing (first: point {first}); run the missing --partition shares, or rerun to resume")]
    Incomplete { total: usize, missing: usize, first: usize },
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SweepFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| SweepFileError::Io { path: path.display().to_string(), source })?;
    serde_json::from_str(&text).map_err(|e| SweepFileError::Invalid { path: path.display().to_string(), reason: e.to_string() })
}

pub fn read_spec(dir: &Path) -> Result<SweepSpec, SweepFileError> {
    read_json(&dir.join(SPEC_FILE))
}

pub fn write_point(dir: &Path, point: &PointResult) -> std::io::Result<()> {
    let mut json = serde_json::to_string_pretty(point).expect("point serializes");
    json.push('\n');
    write_atomic(&point_path(dir, point.index), json.as_bytes())
}

/// A finished point: `None` if its file does not exist, an error naming the file if it
/// exists but does not read back as that point (truncated, corrupt, another point).
pub fn read_point(dir: &Path, index: usize) -> Result<Option<PointResult>, SweepFileError> {
    let path = point_path(dir, index);
    if !path.exists() {
        return Ok(None);
    }
    let point = read_json::<PointResult>(&path)?;
    if point.index != index {
        return Err(SweepFileError::Invalid { path: path.display().to_string(), reason: format!("it holds point {}, not {index}", point.index) });
    }
    Ok(Some(point))
}

/// Gathers every point of a sweep from one or more folders (shares of a cluster run).
pub fn gather(dirs: &[PathBuf]) -> Result<(SweepSpec, Vec<PointResult>), SweepFileError> {
    let spec = read_spec(&dirs[0])?;
    for d in &dirs[1..] {
        if read_spec(d)? != spec {
            return Err(SweepFileError::Mismatch { a: dirs[0].join(SPEC_FILE).display().to_string(), b: d.join(SPEC_FILE).display().to_string() });
        }
    }
    let mut points: Vec<Option<PointResult>> = vec![None; spec.points];
    for (i, slot) in points.iter_mut().enumerate() {
        // A share's good file wins; with none, a corrupt file is named, not called missing.
        let mut corrupt = None;
        for d in dirs {
            match read_point(d, i) {
                Ok(Some(p)) => {
                    *slot = Some(p);
                    break;
                }
                Ok(None) => {}
                Err(e) => corrupt = corrupt.or(Some(e)),
            }
        }
        if let (None, Some(e)) = (&slot, corrupt) {
            return Err(e);
        }
    }
    let missing: Vec<usize> = points.iter().enumerate().filter(|(_, p)| p.is_none()).map(|(i, _)| i).collect();
    if let Some(&first) = missing.first() {
        return Err(SweepFileError::Incomplete { total: spec.points, missing: missing.len(), first });
    }
    Ok((spec, points.into_iter().map(|p| p.expect("checked")).collect()))
}

/// Writes `sweep.json` and `sweep.csv` from the points.
pub fn write_assembled(dir: &Path, spec: &SweepSpec, points: &[PointResult]) -> std::io::Result<Vec<PathBuf>> {
    let json_path = dir.join("sweep.json");
    let mut json = serde_json::to_string_pretty(&serde_json::json!({ "spec": spec, "points": points })).expect("sweep serializes");
    json.push('\n');
    write_atomic(&json_path, json.as_bytes())?;

    let csv_path = dir.join("sweep.csv");
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["point".to_string()];
    header.extend(spec.axes.iter().map(|a| a.key.clone()));
    header.extend(["variant", "metric", "mean", "ci95_low", "ci95_high", "replications"].map(String::from));
    w.write_record(&header).expect("write to memory");
    for p in points {
        let values: Vec<String> = p.sets.iter().map(|s| s.split_once('=').map_or(String::new(), |(_, v)| v.trim_matches('"').to_string())).collect();
        for v in &p.variants {
            for (metric, e) in &v.metrics {
                let mut row = vec![p.index.to_string()];
                row.extend(values.iter().cloned());
                row.push(v.name.clone());
                row.push(metric.clone());
                row.push(format!("{}", e.mean));
                row.push(e.ci95.map_or(String::new(), |_| format!("{}", e.low())));
                row.push(e.ci95.map_or(String::new(), |_| format!("{}", e.high())));
                row.push(e.n.to_string());
                w.write_record(&row).expect("write to memory");
            }
        }
    }
    write_atomic(&csv_path, &w.into_inner().expect("flush to memory"))?;
    Ok(vec![json_path, csv_path])
}
