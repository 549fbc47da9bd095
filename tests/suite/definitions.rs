//! What the figures mean, checked where a definition is easy to get subtly wrong: the
//! run's window, which servers a utilisation averages over, what counts as a logout, how
//! long a revoked token stays usable, and which responses a latency includes. Each test
//! runs a small model text (or a bundled model) and compares with a count or a formula
//! that the definition implies.

use statesim::metrics::RunResult;
use statesim::metrics::catalog as c;
use statesim::scenario::{Model, load_str};
use statesim::sweep::run_once;

fn model(text: &str, sets: &[&str]) -> Model {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    load_str("definitions.toml", "definitions", text, &sets).unwrap_or_else(|e| panic!("{e}"))
}

fn run(text: &str, sets: &[&str]) -> RunResult {
    run_once(&model(text, sets).variants[0].system, 0)
}

/// Four users each send a request every second exactly, with no latency anywhere, from
/// t = 1 s. The run is the half-open window [0 s, 10 s): their sends at 1, 2, ..., 9 s
/// are in it and the ones due at exactly 10 s are not (they were counted once, giving
/// n x d + 1 requests in n windows of length d).
#[test]
fn a_request_due_at_exactly_the_end_of_the_run_is_not_sent() {
    let text = "schema_version = 1\n[run]\nduration = \"10s\"\nwarmup = \"0s\"\n\
        [clients]\nusers = 4\nthink_time = \"1s\"\ntimeout = \"off\"\n\
        [network]\nclient_to_lb = \"0s\"\nlb_to_server = \"0s\"\n\
        [load_balancer]\nlatency = \"0s\"\nhealth_check = { enabled = false }\n\
        [servers]\ncount = 1\nservice = \"0s\"\n";
    let r = run(text, &[]);
    assert_eq!(r.metrics[c::REQUESTS_SENT.key], 4.0 * 9.0);
    assert_eq!(r.metrics[c::REQUESTS_OK.key], 4.0 * 9.0);
    // One step longer, and the sends at 10 s are inside.
    let r = run(text, &["run.duration=10001ms"]);
    assert_eq!(r.metrics[c::REQUESTS_SENT.key], 4.0 * 10.0);
    // The time series agrees with the summary: every request sent is in a bucket.
    let r = run(text, &[]);
    assert_eq!(r.series.iter().map(|row| row.sent).sum::<u64>(), 36);
    // A fault at exactly the end would never strike: it is refused, like one after it.
    let late = load_str("late.toml", "late", &format!("{text}[[faults]]\nat = \"10s\"\nkill = \"server-1\"\n"), &[]).unwrap_err().to_string();
    assert!(late.contains("at or after the end of the run"), "{late}");
}
