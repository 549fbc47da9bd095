//! Client retries, on `models/retry-storm.toml`: retries at once, with backoff or with
//! jitter leave goodput collapsed after the fault is gone (a metastable failure), a retry
//! budget or a circuit breaker recover; then, on purpose-built models where every attempt
//! fails, the amplification theory gives exactly: 1 + max_retries attempts per request,
//! and 1 + budget with a retry budget; and the new keys' errors.

use statesim::metrics::catalog as c;
use statesim::scenario::load_str;
use statesim::sweep::run_once;

#[test]
fn retry_storm_claims() {
    let s = crate::shared::bundled("retry-storm");
    let m = |v: &str, k: &c::Metric| s.mean(v, k.key);
    for v in ["immediate", "exponential", "exponential-jitter", "redis-slow-immediate"] {
        assert!(m(v, &c::RETRY_GOODPUT_AFTER_SHARE) < 0.05, "{v} stays collapsed");
        assert_eq!(m(v, &c::RETRY_RECOVERED), 0.0, "{v}");
        // Every attempt fails once the storm holds: 1 + 3 attempts per request.
        let amp = m(v, &c::RETRY_AMPLIFICATION_AFTER);
        assert!((3.9..=4.0).contains(&amp), "{v}: {amp}");
    }
    for v in ["no-retries", "budget", "breaker", "redis-slow-budget"] {
        assert!(m(v, &c::RETRY_GOODPUT_AFTER_SHARE) > 0.9, "{v} recovers");
        assert_eq!(m(v, &c::RETRY_RECOVERED), 1.0, "{v}");
        assert!(m(v, &c::RETRY_RECOVERY_S) < 20.0, "{v}");
    }
    // The same first attempts in every variant (common random numbers); without retries
    // each is one request of the core's, and the retries are the rest.
    let first = m("no-retries", &c::RETRY_REQUESTS);
    for v in ["immediate", "budget", "breaker"] {
        assert_eq!(m(v, &c::RETRY_REQUESTS), first, "{v}");
    }
    assert_eq!(m("no-retries", &c::REQUESTS_SENT), first);
    assert_eq!(m("no-retries", &c::RETRY_RETRIES_SENT), 0.0);
    assert_eq!(m("no-retries", &c::RETRY_DUPLICATE_EXECUTIONS), 0.0);
    let sent = m("immediate", &c::REQUESTS_SENT);
    let attempts = first + m("immediate", &c::RETRY_RETRIES_SENT);
    assert!((sent - attempts).abs() < 0.001 * sent, "every attempt is a request: {sent} vs {attempts}");
    assert!(m("budget", &c::RETRY_AMPLIFICATION) < 1.1 + 10.0 / first);
    assert!(m("immediate", &c::RETRY_DUPLICATE_EXECUTIONS) > 0.0);
}

/// One server that is dead from the start and never restarted, no health checks: every
/// attempt is refused at once, so each request makes 1 + max_retries attempts (those
/// still retrying at the end aside), and with a budget b the retries are b per request
/// (plus the bucket's ten at the start).
fn all_fail(retries: &str) -> statesim::metrics::Metrics {
    let text = format!(
        "schema_version = 1\n[run]\nduration = \"60s\"\nwarmup = \"0s\"\n[clients]\narrival_rate = \"200/s\"\n[servers]\ncount = 1\n\
         [client_retries]\n{retries}\n[[faults]]\nat = \"0s\"\nkill = \"server-1\"\n"
    );
    let model = load_str("all-fail.toml", "all-fail", &text, &[]).expect("a valid model");
    run_once(&model.variants[0].system, 0).metrics
}

#[test]
fn when_every_attempt_fails_a_request_costs_one_plus_max_retries_attempts() {
    for k in [1u32, 3, 6] {
        for backoff in ["backoff = \"immediate\"", "backoff = \"exponential-jitter\"\nbase_delay = \"10ms\""] {
            let m = all_fail(&format!("max_retries = {k}\n{backoff}"));
            let amp = m[c::RETRY_AMPLIFICATION.key];
            let want = 1.0 + k as f64;
            assert!((amp - want).abs() < 0.005 * want, "{k} retries, {backoff}: {amp} attempts per request, want {want}");
            assert_eq!(m[c::RETRY_GOODPUT_PER_S.key], 0.0);
        }
    }
    // A budget of b retries per request: 1 + b, whatever max_retries allows.
    for b in [0.05, 0.2, 0.5] {
        let m = all_fail(&format!("max_retries = 3\nbudget = {b}"));
        assert!((m[c::RETRY_AMPLIFICATION.key] - (1.0 + b)).abs() < 0.01, "budget {b}");
        let requests = m[c::RETRY_REQUESTS.key];
        let retries = m[c::RETRY_RETRIES_SENT.key];
        // The bucket starts full (10) and holds at most 10: between b per request and that plus 10.
        assert!(retries >= b * requests - 1.0 && retries <= b * requests + 11.0, "budget {b}: {retries} retries of {requests} requests");
    }
}

#[test]
fn a_breaker_stops_sending_while_every_attempt_fails() {
    let m = all_fail("max_retries = 3\nbreaker = { failure_share = 0.5, window = \"5s\", open_for = \"5s\" }");
    // Open 5 s, then at most min_requests attempts (20) fail and it opens again.
    let openings = m[c::RETRY_BREAKER_OPENINGS.key];
    assert!((11.0..=13.0).contains(&openings), "{openings}");
    assert!(m[c::RETRY_BREAKER_REJECTED.key] > 0.9 * m[c::RETRY_REQUESTS.key]);
}

#[test]
fn bad_client_retry_keys_are_located() {
    let base = "schema_version = 1\n[clients]\narrival_rate = \"10/s\"\n";
    let cases: &[(&str, &str, &str)] = &[
        ("[client_retries]\nmax_retries = 11\n", "client_retries.max_retries", "use 0 to 10"),
        ("[client_retries]\nbase_delay = \"1s\"\n", "client_retries.base_delay", "immediate retries do not wait"),
        ("[client_retries]\nbackoff = \"exponential\"\nbase_delay = \"0s\"\n", "client_retries.base_delay", "a backoff starting at 0s"),
        ("[client_retries]\nbackoff = \"exponential\"\nbase_delay = \"2s\"\nmax_delay = \"1s\"\n", "client_retries.max_delay", "at least base_delay"),
        ("[client_retries]\nbudget = 0\n", "client_retries.budget", "above 0 and at most 1"),
        ("[client_retries]\nbreaker = { failure_share = 1.5 }\n", "client_retries.breaker.failure_share", "above 0 and at most 1"),
        ("[client_retries]\nbreaker = { window = \"0s\" }\n", "client_retries.breaker.window", "\"5s\""),
        ("[client_retries]\nbackoff = \"linear\"\n", "backoff", "exponential-jitter"),
    ];
    for (extra, path, help) in cases {
        let text = format!("{base}{extra}");
        let errors = load_str("bad.toml", "bad", &text, &[]).expect_err(extra);
        let shown = errors.to_string();
        assert!(shown.contains(path) || shown.contains("bad.toml:"), "{extra}: {shown}");
        assert!(shown.contains(help), "{extra}: want {help:?} in {shown}");
    }
    let closed = "schema_version = 1\n[clients]\nusers = 10\nthink_time = \"1s\"\n[client_retries]\n";
    let shown = load_str("bad.toml", "bad", closed, &[]).expect_err("closed").to_string();
    assert!(shown.contains("set clients.arrival_rate"), "{shown}");
}
