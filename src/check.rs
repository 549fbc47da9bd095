//! `statesim check`: the engine against queueing theory, case by case.
//!
//! Each case is an ordinary model file (`models/theory/`). Its analytic figures are
//! computed from the model's own parameters, and its simulated figures are means over
//! independent replications with a 95% Student-t interval.

use crate::engine::Distribution;
use crate::metrics::Estimate;
use crate::metrics::catalog::{LATENCY_MS, Metric, QUEUE_WAIT_MS, WAITED_FRACTION};
use crate::policies::LbPolicy;
use crate::scenario::{Model, System, Workload};
use crate::sweep::{RunOptions, run_summary};
use crate::theory::{QueueFigures, md1, mmc, two_choices};

/// One compared figure.
#[derive(Clone, Debug)]
pub struct CheckRow {
    /// The model the figure comes from, and the queue it is (`M/M/1, lambda = 0.8, mu = 1`).
    pub model: String,
    pub case: String,
    pub figure: &'static str,
    pub analytic: f64,
    pub simulated: Estimate,
}

impl CheckRow {
    pub fn inside(&self) -> bool {
        self.simulated.contains(self.analytic)
    }
}

/// The analytic figures for a model, if it is one of the queues theory covers:
/// M/M/c, M/D/1, random routing over single-core exponential servers, or the power of
/// two choices over a few of them (the exact Markov chain, solved numerically).
pub fn analytic(system: &System) -> Result<(String, QueueFigures), String> {
    let Workload::Open { rate_per_sec: lambda } = system.clients.workload else {
        return Err("theory cases need Poisson arrivals (clients.arrival_rate)".into());
    };
    let (n, c) = (system.servers.count, system.servers.cores);
    let no_delay = system.network.client_to_lb.is_zero() && system.network.lb_to_server.is_zero() && system.load_balancer.latency.is_zero();
    if !no_delay {
        return Err("theory cases need zero network and load-balancer latency".into());
    }
    match (&system.servers.service, n, c) {
        (Distribution::Exponential { mean }, 1, c) => {
            let mu = 1e9 / mean;
            Ok((format!("M/M/{c}, lambda = {lambda}, mu = {mu}"), mmc(lambda, mu, c)))
        }
        (Distribution::Constant { value }, 1, 1) => Ok((format!("M/D/1, lambda = {lambda}, d = {} s", value / 1e9), md1(lambda, value / 1e9))),
        (Distribution::Exponential { mean }, n, 1) if system.load_balancer.policy == LbPolicy::Random => {
            let mu = 1e9 / mean;
            Ok((format!("random routing over {n} x M/M/1, lambda = {lambda}, mu = {mu}"), mmc(lambda / n as f64, mu, 1)))
        }
        (Distribution::Exponential { mean }, n, 1) if system.load_balancer.policy == LbPolicy::PowerOfTwo => {
            let mu = 1e9 / mean;
            let choices = system.load_balancer.choices;
            let figures = two_choices(n, lambda, mu, choices)?;
            Ok((format!("power of two ({} draws) over {n} x M/M/1, lambda = {lambda}, mu = {mu}", choices.name()), figures))
        }
        _ => Err("no closed form for this model: use one server with exponential service (M/M/c), one core with constant service (M/D/1), or random routing or the power of two choices over single-core exponential servers".into()),
    }
}

/// Runs a theory model and compares it with its formulas.
pub fn check_model(model: &Model, opts: &RunOptions, on_run_done: &(dyn Fn() + Sync)) -> Result<Vec<CheckRow>, String> {
    let variant = model.variants.first().ok_or("the model has no variants")?;
    let (case, theory) = analytic(&variant.system)?;
    let summary = run_summary(model, opts, on_run_done);
    let m = &summary.variants[0].metrics;
    let get = |metric: &Metric| *m.get(metric.key).unwrap_or_else(|| panic!("a run reports {}", metric.key));
    let secs = |metric: &Metric| {
        let e = get(metric);
        Estimate { mean: e.mean / 1e3, ci95: e.ci95.map(|h| h / 1e3), n: e.n }
    };
    let row =
        |figure: &'static str, analytic: f64, simulated: Estimate| CheckRow { model: model.name.clone(), case: case.clone(), figure, analytic, simulated };
    let mut rows = vec![
        row("P(wait)", theory.p_wait, get(&WAITED_FRACTION)),
        row("Wq (s)", theory.wq, secs(&QUEUE_WAIT_MS.mean)),
        row("W (s)", theory.w, secs(&LATENCY_MS.mean)),
    ];
    if let Some(p99) = theory.w_p99 {
        rows.push(row("p99 of W (s)", p99, secs(&LATENCY_MS.p99)));
    }
    Ok(rows)
}
