//! Valid models that once crashed the simulator, run to the end on the real files in
//! `tests/models/`, with every request accounted for.

use statesim::metrics::FailReason;
use statesim::metrics::RunResult;
use statesim::metrics::catalog as c;
use statesim::scenario::load_file;
use statesim::sweep::{RunOptions, run_model};
use std::path::Path;

fn run(file: &str, sets: &[&str], opts: RunOptions) -> Vec<Vec<RunResult>> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let model = load_file(Path::new(file), &sets).unwrap_or_else(|e| panic!("{file}: {e:?}"));
    run_model(&model, &opts, &|| {})
}

fn assert_accounted(runs: &[Vec<RunResult>]) {
    for r in runs.iter().flatten() {
        let m = |k: &str| r.metrics[k];
        assert_eq!(m(c::REQUESTS_SENT.key), m(c::REQUESTS_OK.key) + m(c::REQUESTS_FAILED.key) + m(c::REQUESTS_IN_FLIGHT.key));
    }
}

/// Nearly every request is turned away (429) the moment a worker takes it, and the next
/// of a queue of up to a million starts at once. Handlers that called each other for
/// each step overflowed the stack here; zero-time steps now go through a queue.
#[test]
fn a_cascade_of_rejections_through_a_deep_queue_completes() {
    let runs = run("tests/models/cascade.toml", &[], RunOptions::default());
    assert_accounted(&runs);
    let m = &runs[0][0].metrics;
    assert!(m[c::failed(FailReason::RateLimited).key] > 1e6, "the cascade happened: {}", m[c::failed(FailReason::RateLimited).key]);
}

/// The same on rayon's worker threads, whose stacks are smaller than the main thread's.
#[test]
fn the_cascade_completes_on_worker_threads() {
    let runs = run("tests/models/cascade.toml", &["servers.queue_limit=10000", "run.duration=5s"], RunOptions { replications: Some(2), threads: Some(2) });
    assert_accounted(&runs);
    assert_eq!(runs[0].len(), 2);
}

/// Cookie affinity pins every client, the abusive one (a user beyond the population)
/// included: its cookie once indexed past the end of the table.
#[test]
fn cookie_affinity_with_an_abusive_client_runs() {
    let runs = run("tests/models/cookie-abuser.toml", &[], RunOptions::default());
    assert_accounted(&runs);
    assert!(runs[0][0].metrics[c::RATELIMIT_ABUSER_SENT.key] > 1000.0);
}
