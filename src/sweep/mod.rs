//! Running simulations: one run, or many independent runs in parallel.
//!
//! Parallelism is across runs only (variants x replications, later sweep points).
//! Every run owns its world and its random streams, derived from (seed, replication),
//! and each result goes to its (variant, replication) slot, folded as it finishes or
//! collected in input order, so output does not depend on the thread count.

pub mod grid;

use crate::components::WebTier;
use crate::engine::{Scheduler, SimTime, run_until};
use crate::metrics::summary::ModelSummary;
use crate::metrics::{Estimate, KeptRuns, RunResult, SummaryFold};
use crate::scenario::{Model, System};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Runs `system` once as replication `replication`.
pub fn run_once(system: &System, replication: u64) -> RunResult {
    let mut world = WebTier::new(system, replication);
    let mut sched = Scheduler::new();
    world.start(&mut sched);
    run_until(&mut world, &mut sched, SimTime::ZERO + system.run.duration);
    let end = sched.now();
    world.finish(end, sched.handled())
}

/// Options that apply to a whole model run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides the model's `run.replications`.
    pub replications: Option<u32>,
    /// Worker threads; None for all cores.
    pub threads: Option<usize>,
}

/// The (variant, replication) pairs of a model run, in order.
fn jobs(model: &Model, opts: &RunOptions) -> Vec<(usize, u64)> {
    model
        .variants
        .iter()
        .enumerate()
        .flat_map(|(v, variant)| {
            let r = opts.replications.unwrap_or(variant.system.run.replications).max(1) as u64;
            (0..r).map(move |rep| (v, rep))
        })
        .collect()
}

/// Runs `each` over the jobs on `opts.threads` threads (all cores when None).
fn in_pool<T: Send>(opts: &RunOptions, each: impl FnOnce() -> T + Send) -> T {
    match opts.threads {
        Some(t) => rayon::ThreadPoolBuilder::new().num_threads(t.max(1)).build().expect("thread pool").install(each),
        None => each(),
    }
}

/// Every variant x replication of a model, each run kept whole, collected as
/// `[variant][replication]`. Its memory grows with the replications and their time
/// series; [`run_and_summarize`] keeps only what the outputs need.
pub fn run_model(model: &Model, opts: &RunOptions, on_run_done: &(dyn Fn() + Sync)) -> Vec<Vec<RunResult>> {
    let jobs = jobs(model, opts);
    let results: Vec<RunResult> = in_pool(opts, || {
        jobs.par_iter()
            .map(|&(v, rep)| {
                let result = run_once(&model.variants[v].system, rep);
                on_run_done();
                result
            })
            .collect()
    });
    let mut out: Vec<Vec<RunResult>> = model.variants.iter().map(|_| Vec::new()).collect();
    for ((v, _), r) in jobs.into_iter().zip(results) {
        out[v].push(r);
    }
    out
}

/// Number of runs `run_model` will do.
pub fn run_count(model: &Model, opts: &RunOptions) -> u64 {
    model.variants.iter().map(|v| opts.replications.unwrap_or(v.system.run.replications).max(1) as u64).sum()
}

/// Runs every variant x replication, folding each run into the summary as it finishes
/// (and, with `keep`, what the outputs need of it into [`KeptRuns`]); a finished run is
/// dropped at once, so at most one run per thread is held whole. Runs may finish in any
/// order: each goes into its own replication's slot, so the result does not depend on it.
fn run_folded(model: &Model, opts: &RunOptions, keep: bool, on_run_done: &(dyn Fn() + Sync), cancel: &AtomicBool) -> Option<(ModelSummary, KeptRuns)> {
    let jobs = jobs(model, opts);
    let reps: Vec<usize> = (0..model.variants.len()).map(|v| jobs.iter().filter(|j| j.0 == v).count()).collect();
    let fold = Mutex::new((SummaryFold::new(&reps), KeptRuns::new(if keep { &reps } else { &[] })));
    in_pool(opts, || {
        jobs.par_iter().for_each(|&(v, rep)| {
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            let result = run_once(&model.variants[v].system, rep);
            {
                let mut guard = fold.lock().expect("no run panicked while folding");
                let (summary, kept) = &mut *guard;
                summary.add(v, rep as usize, &result);
                if keep {
                    kept.add(v, rep as usize, result);
                }
            }
            on_run_done();
        })
    });
    if cancel.load(Ordering::Relaxed) {
        return None;
    }
    let (summary, kept) = fold.into_inner().expect("no run panicked while folding");
    Some((summary.finish(model), kept))
}

/// Runs a model and summarizes it, keeping what its outputs need (every replication's
/// time series, replication 0 whole).
pub fn run_and_summarize(model: &Model, opts: &RunOptions, on_run_done: &(dyn Fn() + Sync)) -> (ModelSummary, KeptRuns) {
    run_folded(model, opts, true, on_run_done, &AtomicBool::new(false)).expect("never cancelled")
}

/// [`run_and_summarize`] that stops between runs once `cancel` is set (runs under way
/// finish, none starts) and then returns None.
pub fn run_and_summarize_cancellable(
    model: &Model,
    opts: &RunOptions,
    on_run_done: &(dyn Fn() + Sync),
    cancel: &AtomicBool,
) -> Option<(ModelSummary, KeptRuns)> {
    run_folded(model, opts, true, on_run_done, cancel)
}

/// Runs a model and summarizes it, keeping nothing else (sweep points, checks).
pub fn run_summary(model: &Model, opts: &RunOptions, on_run_done: &(dyn Fn() + Sync)) -> ModelSummary {
    run_folded(model, opts, false, on_run_done, &AtomicBool::new(false)).expect("never cancelled").0
}

/// What identifies a sweep: two shares of it can be merged only if these agree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    pub model: String,
    /// SHA-256 of the model file's text, short hex.
    pub model_text_hash: String,
    pub axes: Vec<grid::Axis>,
    pub sets: Vec<String>,
    pub replications: Option<u32>,
    pub points: usize,
    pub statesim_version: String,
}

/// One grid point's results: every variant's metrics across replications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    pub index: usize,
    /// The overrides that make this point, `KEY=VALUE`.
    pub sets: Vec<String>,
    pub variants: Vec<PointVariant>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointVariant {
    pub name: String,
    pub metrics: BTreeMap<String, Estimate>,
}

/// Runs one grid point of a model (already loaded with the point's overrides).
pub fn run_point(index: usize, sets: Vec<String>, model: &Model, opts: &RunOptions, on_run_done: &(dyn Fn() + Sync)) -> PointResult {
    let summary = run_summary(model, opts, on_run_done);
    PointResult { index, sets, variants: summary.variants.into_iter().map(|v| PointVariant { name: v.name, metrics: v.metrics }).collect() }
}
