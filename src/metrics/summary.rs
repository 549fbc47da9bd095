//! The summary of a model run: every metric of every variant, as a mean with a 95%
//! confidence interval across replications, plus each variant's paired difference from
//! the first (baseline) variant. Because variants share random numbers, paired
//! differences have much tighter intervals than the two means would suggest.
//!
//! Replications are folded in as they finish ([`SummaryFold::add`]), in any order: each
//! leaves one number per metric and per server figure, in its replication's slot, and the
//! rest of its run can be dropped at once. The means and intervals are computed at the end
//! from the slots in replication order, so the summary is the same whatever order runs
//! finish in (and equal, to the bit, to computing it from every run kept whole).

use super::catalog::{ServerFigure, ServerFigures};
use super::replicates::Replicates;
use super::stats::{Estimate, mean_ci};
use crate::metrics::RunResult;
use crate::scenario::Model;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelSummary {
    pub model: String,
    pub title: String,
    pub source: String,
    pub statesim_version: String,
    pub seed: u64,
    pub replications: usize,
    pub variants: Vec<VariantSummary>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_baseline: Option<BTreeMap<String, Estimate>>,
    /// Every metric's value in each replication, in replication order, by key. Variants
    /// share random numbers replication by replication, so two variants' values at one
    /// index are a pair: any comparison between variants is made on these pairs
    /// ([`crate::metrics::Replicates`]).
    #[serde(with = "super::stats::nan_as_null_vecs")]
    pub per_replication: BTreeMap<String, Vec<f64>>,
}

impl VariantSummary {
    /// A metric's value in each of the variant's replications, NaN where one did not
    /// report it; every value NaN (for `replications`) when none did.
    pub fn replicates(&self, key: &str, replications: usize) -> Replicates {
        match self.per_replication.get(key) {
            Some(values) => Replicates::new(values.clone()),
            None => Replicates::constant(f64::NAN, replications),
        }
    }
}

/// What one variant's replications leave for the summary: one value per metric and per
/// server figure for each replication.
#[derive(Debug, Default)]
struct VariantFold {
    /// The keys replication 0 reported, in order: the metrics the summary lists.
    keys: Vec<String>,
    /// Each metric's value in each replication, by key (NaN until it is in).
    values: BTreeMap<String, Vec<f64>>,
    /// Each server's name and its figures in each replication, in `ServerFigure::ALL` order.
    servers: Vec<(String, [Vec<f64>; 5])>,
    replications: usize,
}

/// A model's summary, built one finished run at a time.
#[derive(Debug)]
pub struct SummaryFold {
    variants: Vec<VariantFold>,
}

impl SummaryFold {
    /// A fold for `replications[v]` replications of each variant `v`.
    pub fn new(replications: &[usize]) -> SummaryFold {
        SummaryFold { variants: replications.iter().map(|&r| VariantFold { replications: r, ..VariantFold::default() }).collect() }
    }

    /// Takes in replication `rep` of variant `v`.
    pub fn add(&mut self, v: usize, rep: usize, run: &RunResult) {
        let f = &mut self.variants[v];
        let n = f.replications;
        for (k, x) in &run.metrics {
            match f.values.get_mut(k) {
                Some(slots) => slots[rep] = *x,
                None => {
                    let mut slots = vec![f64::NAN; n];
                    slots[rep] = *x;
                    f.values.insert(k.clone(), slots);
                }
            }
        }
        if rep == 0 {
            f.keys = run.metrics.keys().cloned().collect();
        }
        for (i, s) in run.servers.iter().enumerate() {
            if f.servers.len() <= i {
                f.servers.push((s.name.clone(), std::array::from_fn(|_| vec![f64::NAN; n])));
            }
            for (slots, figure) in f.servers[i].1.iter_mut().zip(ServerFigure::ALL) {
                slots[rep] = s.get(figure);
            }
        }
    }

    /// The summary of every replication taken in.
    pub fn finish(self, model: &Model) -> ModelSummary {
        let base = self.variants.first();
        let mut variants = Vec::new();
        for (v, (variant, f)) in model.variants.iter().zip(&self.variants).enumerate() {
            let metrics = f.keys.iter().map(|k| (k.clone(), mean_ci(&f.values[k]))).collect();
            let vs_baseline = base.filter(|b| v > 0 && f.replications > 1 && b.replications == f.replications).map(|b| {
                f.keys
                    .iter()
                    .filter(|k| b.keys.binary_search(k).is_ok())
                    .map(|k| {
                        let diffs: Vec<f64> = f.values[k].iter().zip(&b.values[k]).map(|(a, b)| a - b).collect();
                        (k.clone(), mean_ci(&diffs))
                    })
                    .collect()
            });
            let servers = f.servers.iter().map(|(name, figures)| ServerFigures::from_fn(name.clone(), |figure| mean_ci(&figures[figure as usize]))).collect();
            let per_replication = f.keys.iter().map(|k| (k.clone(), f.values[k].clone())).collect();
            variants.push(VariantSummary { name: variant.name.clone(), model_hash: variant.hash.clone(), metrics, servers, vs_baseline, per_replication });
        }
        ModelSummary {
            model: model.name.clone(),
            title: model.title.clone(),
            source: model.source.clone(),
            statesim_version: env!("CARGO_PKG_VERSION").to_string(),
            seed: model.variants.first().map_or(0, |v| v.system.run.seed),
            replications: self.variants.first().map_or(0, |f| f.replications),
            variants,
        }
    }
}

/// The summary of runs kept whole, `[variant][replication]`.
pub fn summarize(model: &Model, runs: &[Vec<RunResult>]) -> ModelSummary {
    let mut fold = SummaryFold::new(&runs.iter().map(Vec::len).collect::<Vec<_>>());
    for (v, reps) in runs.iter().enumerate() {
        for (rep, run) in reps.iter().enumerate() {
            fold.add(v, rep, run);
        }
    }
    fold.finish(model)
}

/// Summaries made from given numbers, for the tests of what reads them.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::metrics::Metrics;

    /// A variant's name and, per metric key, its value in each replication.
    pub type Reported<'a> = (&'a str, &'a [(&'a str, &'a [f64])]);

    /// The summary of a model whose variants (by name, in order) reported, in each
    /// replication, the given value of each metric key.
    pub fn summary_of(variants: &[Reported]) -> ModelSummary {
        model_and_summary_of(variants).1
    }

    /// [`summary_of`], with the model it summarizes.
    pub fn model_and_summary_of(variants: &[Reported]) -> (Model, ModelSummary) {
        let mut text = String::from("schema_version = 1\nname = \"m\"\ntitle = \"t\"\n[clients]\narrival_rate = \"10/s\"\n");
        for (name, _) in variants {
            text.push_str(&format!("[variants.{name}]\n"));
        }
        let model = crate::scenario::load_str("m.toml", "m", &text, &[]).unwrap();
        let runs: Vec<Vec<RunResult>> = variants
            .iter()
            .map(|(_, metrics)| {
                let reps = metrics.first().map_or(1, |(_, xs)| xs.len());
                (0..reps)
                    .map(|r| RunResult {
                        metrics: metrics.iter().map(|(k, xs)| (k.to_string(), xs[r])).collect::<Metrics>(),
                        servers: Vec::new(),
                        series: Vec::new(),
                        series_columns: Vec::new(),
                        exposures_s: Vec::new(),
                        latency_quantiles_ms: Vec::new(),
                        auth_quantiles_ms: Vec::new(),
                    })
                    .collect()
            })
            .collect();
        let summary = summarize(&model, &runs);
        (model, summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    fn run(x: f64) -> RunResult {
        let mut metrics = Metrics::new();
        metrics.insert("a".into(), x);
        metrics.insert("b".into(), x * x / 7.0 + 0.1);
        let server = |i: usize| ServerFigures::from_fn(format!("server-{i}"), |f| x * (i + 1) as f64 + f as usize as f64 / 3.0);
        RunResult {
            metrics,
            servers: vec![server(1), server(2)],
            series: Vec::new(),
            series_columns: Vec::new(),
            exposures_s: Vec::new(),
            latency_quantiles_ms: Vec::new(),
            auth_quantiles_ms: Vec::new(),
        }
    }

    #[test]
    fn folding_in_any_order_gives_the_same_bytes() {
        let text = "schema_version = 1\n[clients]\narrival_rate = \"10/s\"\n[variants.one]\n[variants.two]\nservers.count = 3\n";
        let model = crate::scenario::load_str("fold.toml", "fold", text, &[]).unwrap();
        let runs: Vec<Vec<RunResult>> = (0..2).map(|v| (0..7).map(|r| run(1.0 / 3.0 + (v * 10 + r * r) as f64 * 0.37)).collect()).collect();
        let whole = serde_json::to_string(&summarize(&model, &runs)).unwrap();
        // Replications finishing last-first, the variants interleaved.
        let mut fold = SummaryFold::new(&[7, 7]);
        for r in (0..7).rev() {
            for v in [1, 0] {
                fold.add(v, r, &runs[v][r]);
            }
        }
        let folded = fold.finish(&model);
        assert_eq!(serde_json::to_string(&folded).unwrap(), whole);
        assert!(folded.variants[1].vs_baseline.is_some());
        assert_eq!(folded.variants[0].servers[1].cpu.n, 7);
        assert_eq!(folded.variants[1].per_replication["a"], runs[1].iter().map(|r| r.metrics["a"]).collect::<Vec<_>>());
    }

    /// `summary.json` reads back as the summary it was written from (its typed servers
    /// aside), a metric some replication lacked (NaN, written `null`) included.
    #[test]
    fn a_summary_reads_back_from_its_json() {
        let text = "schema_version = 1\n[clients]\narrival_rate = \"10/s\"\n[variants.one]\n[variants.two]\nservers.count = 3\n";
        let model = crate::scenario::load_str("fold.toml", "fold", text, &[]).unwrap();
        let mut runs: Vec<Vec<RunResult>> = (0..2).map(|v| (0..3).map(|r| run(v as f64 + r as f64 * 0.25)).collect()).collect();
        runs[1][2].metrics.remove("b");
        let summary = summarize(&model, &runs);
        let json = serde_json::to_string(&summary).unwrap();
        let back: ModelSummary = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        assert!(back.variants[1].metrics["b"].mean.is_nan() && back.variants[1].per_replication["b"][2].is_nan());
        assert_eq!(back.variants[0].per_replication["a"], summary.variants[0].per_replication["a"]);
    }
}
