//! The engine against queueing theory: every analytic figure of every bundled theory
//! model (M/M/1, M/M/c for c = 2, 4, 8 via Erlang C, M/D/1, random routing over 4 M/M/1
//! servers) must fall inside the simulation's 95% confidence interval over 20
//! independent replications.

use statesim::bundled::THEORY;
use statesim::check::check_model;
use statesim::metrics::catalog as c;
use statesim::scenario::load_str;
use statesim::sweep::RunOptions;

#[test]
fn every_theory_case_is_inside_its_interval() {
    let mut failures = Vec::new();
    for b in THEORY {
        let model = load_str(b.path, b.name, b.text, &[]).unwrap();
        let rows = check_model(&model, &RunOptions::default(), &|| {}).unwrap();
        assert!(rows.len() >= 3);
        for r in rows {
            println!(
                "{:<50} {:<13} analytic {:>8.4}  simulated {:>8.4} [{:.4}, {:.4}]",
                r.case,
                r.figure,
                r.analytic,
                r.simulated.mean,
                r.simulated.low(),
                r.simulated.high()
            );
            if !r.inside() {
                failures.push(format!("{} {}: analytic {} outside [{}, {}]", r.case, r.figure, r.analytic, r.simulated.low(), r.simulated.high()));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A check must be able to fail: an M/M/1 queue whose arrival rate is 6% higher than
/// the formula assumes misses the analytic Wq by far more than the interval.
#[test]
fn the_check_fails_for_the_wrong_queue() {
    let b = THEORY.iter().find(|b| b.name == "mm1").unwrap();
    let model = load_str(b.path, b.name, b.text, &["run.duration=\"1d\"".into(), "run.replications=10".into()]).unwrap();
    let mut wrong = model.clone();
    wrong.variants[0].system.clients.workload = statesim::scenario::Workload::Open { rate_per_sec: 0.85 };
    let (_, theory) = statesim::check::analytic(&model.variants[0].system).unwrap();
    let (summary, _) = statesim::sweep::run_and_summarize(&wrong, &RunOptions::default(), &|| {});
    let wq = summary.variants[0].metrics[c::QUEUE_WAIT_MS.mean.key];
    assert!(!(wq.low() / 1e3 <= theory.wq && theory.wq <= wq.high() / 1e3), "a 6% higher arrival rate went unnoticed");
}
