//! The summary of a model run: every metric of every variant, as a mean with a 95%
//! confidence interval across replications, plus each variant's paired difference from
//! the first (baseline) variant. Because variants share random numbers, paired
//! differences have much tighter intervals than the two means would suggest.

use super::catalog::ServerFigures;
use super::stats::{Estimate, mean_ci};
use crate::metrics::RunResult;
use crate::scenario::Model;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize)]
pub struct ModelSummary {
    pub model: String,
    pub title: String,
    pub source: String,
    pub statesim_version: String,
    pub seed: u64,
    pub replications: usize,
    pub variants: Vec<VariantSummary>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VariantSummary {
    pub name: String,
    /// Hash of the resolved system this variant ran.
    pub model_hash: String,
    /// Every metric by key; per-server figures are here under their keys too, which is
    /// how `summary.json` carries them.
    pub metrics: BTreeMap<String, Estimate>,
    /// Each server's figures across replications, by server number: what code reads.
    #[serde(skip)]
    pub servers: Vec<ServerFigures<Estimate>>,
    /// This variant minus the baseline, replication by replication (absent for the baseline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_baseline: Option<BTreeMap<String, Estimate>>,
}

pub fn summarize(model: &Model, runs: &[Vec<RunResult>]) -> ModelSummary {
    let mut variants = Vec::new();
    for (v, variant) in model.variants.iter().enumerate() {
        let reps = &runs[v];
        let keys: Vec<&String> = reps.first().map(|r| r.metrics.keys().collect()).unwrap_or_default();
        let metrics = keys.iter().map(|k| ((*k).clone(), mean_ci(&reps.iter().map(|r| r.metrics[*k]).collect::<Vec<_>>()))).collect();
        let vs_baseline = (v > 0 && reps.len() > 1 && runs[0].len() == reps.len()).then(|| {
            keys.iter()
                .filter(|k| runs[0][0].metrics.contains_key(**k))
                .map(|k| {
                    let diffs: Vec<f64> = reps.iter().zip(&runs[0]).map(|(a, b)| a.metrics[*k] - b.metrics[*k]).collect();
                    ((*k).clone(), mean_ci(&diffs))
                })
                .collect()
        });
        let servers = reps.first().map_or_else(Vec::new, |first| {
            let each = |i: usize, figure| mean_ci(&reps.iter().map(|r| r.servers[i].get(figure)).collect::<Vec<_>>());
            first.servers.iter().enumerate().map(|(i, s)| ServerFigures::from_fn(s.name.clone(), |f| each(i, f))).collect()
        });
        variants.push(VariantSummary { name: variant.name.clone(), model_hash: variant.hash.clone(), metrics, servers, vs_baseline });
    }
    ModelSummary {
        model: model.name.clone(),
        title: model.title.clone(),
        source: model.source.clone(),
        statesim_version: env!("CARGO_PKG_VERSION").to_string(),
        seed: model.variants.first().map_or(0, |v| v.system.run.seed),
        replications: runs.first().map_or(0, |r| r.len()),
        variants,
    }
}
