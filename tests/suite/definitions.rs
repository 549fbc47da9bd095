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

/// Utilisation and CPU are averaged over the time each server was in service. With
/// autoscaling on, room is kept for 12 instances but 2 run (a target of 90% never adds
/// one): their 8 workers carry an offered load of 400/s x 10 ms = 4, so the fleet is
/// 50% busy, not 2/12 of that. A server killed halfway through is judged over the half
/// it was up: a third of the load on each of 3 servers, then half on each of 2, which
/// averages 4 / (12/2 + 8/2) = 40% over the servers' time in service.
#[test]
fn utilisation_is_averaged_over_the_time_servers_were_in_service() {
    let base = "schema_version = 1\n[run]\nduration = \"10m\"\nwarmup = \"30s\"\n\
        [clients]\narrival_rate = \"400/s\"\n\
        [load_balancer]\npolicy = \"round-robin\"\n\
        [servers]\ncores = 4\nservice = { dist = \"exponential\", mean = \"10ms\" }\n";
    let scaled = run(&format!("{base}[autoscaling]\nenabled = true\ntarget_cpu = 0.9\nmin = 2\nmax = 12\n"), &["servers.count=2"]);
    let m = |r: &RunResult, metric: &c::Metric| r.metrics[metric.key];
    assert_eq!(scaled.servers.len(), 12, "room for the largest fleet");
    assert_eq!(m(&scaled, &c::FLEET_INSTANCES_MAX), 2.0, "the autoscaler never launched another");
    for metric in [&c::SERVERS_UTILISATION_MEAN, &c::SERVERS_CPU_MEAN, &c::SERVERS_UTILISATION_MIN, &c::SERVERS_UTILISATION_MAX] {
        let u = m(&scaled, metric);
        assert!((u - 0.5).abs() < 0.02, "{}: {u}, offered load 4 on 8 workers", metric.key);
    }
    for s in &scaled.servers[2..] {
        assert_eq!((s.utilisation, s.cpu), (0.0, 0.0), "{} never ran", s.name);
    }

    let killed = run(&format!("{base}[[faults]]\nat = \"5m15s\"\nkill = \"server-3\"\n"), &["servers.count=3"]);
    let third = &killed.servers[2];
    assert!((third.utilisation - 1.0 / 3.0).abs() < 0.02, "server-3 while it was up: {}", third.utilisation);
    assert!((third.cpu - 1.0 / 3.0).abs() < 0.02, "server-3's CPU while it was up: {}", third.cpu);
    for s in &killed.servers[..2] {
        // A third of the load for half the window, then half of it.
        assert!((s.utilisation - (1.0 / 3.0 + 0.5) / 2.0).abs() < 0.02, "{}: {}", s.name, s.utilisation);
    }
    let mean = m(&killed, &c::SERVERS_UTILISATION_MEAN);
    assert!((mean - 0.4).abs() < 0.02, "the fleet over its servers' time up: {mean}");
}

/// Logouts are counted by cause. 1,000 users with 10 s sessions in server memory, a
/// request a second each (think time 1 s), 20 ms from the load balancer: every session
/// reaches the end of its lifetime about every L + 1 s (the next request after it
/// notices), so about 1,000 x 300 s / 11 s expire in the run, some of them while a
/// request is on its way. None is lost while valid: no server dies and affinity never
/// moves a user. Firing users revokes their sessions: nearly every fired user comes back
/// and is turned away.
#[test]
fn logouts_are_counted_by_cause() {
    let text = "schema_version = 1\n[run]\nduration = \"5m\"\nwarmup = \"0s\"\n\
        [clients]\nusers = 1000\nthink_time = { dist = \"exponential\", mean = \"1s\" }\n\
        [network]\nclient_to_lb = \"20ms\"\n\
        [load_balancer]\npolicy = \"cookie\"\n\
        [servers]\ncount = 4\n\
        [sessions]\nstore = \"server-memory\"\nlifetime = \"10s\"\n";
    let r = run(text, &[]);
    let m = |metric: &c::Metric| r.metrics[metric.key];
    assert_eq!(m(&c::SESSIONS_LOGOUTS_STATE_LOST), 0.0, "no session was lost while valid");
    assert_eq!(m(&c::SESSIONS_STATE_LOST_USERS), 0.0);
    let column = r.column(&statesim::metrics::series::LOGOUTS_STATE_LOST).expect("the sessions' column");
    assert!(r.series.iter().all(|row| row.parts[column] == 0.0), "no blips of expiries in the timeline");
    let expected = 1000.0 * 300.0 / 11.0;
    let expired = m(&c::SESSIONS_LOGOUTS_EXPIRED);
    assert!((expired - expected).abs() < 0.05 * expected, "{expired} sessions expired, about {expected} expected");
    assert!(r.metrics.get(c::SESSIONS_LOGOUTS_REVOKED.key).is_none_or(|n| *n == 0.0));

    let fired = run(&format!("{text}[revocation]\nfire_rate = \"1/s\"\nfire_until = \"2m\"\n"), &[]);
    let m = |metric: &c::Metric| fired.metrics[metric.key];
    assert_eq!(m(&c::SESSIONS_LOGOUTS_STATE_LOST), 0.0, "a revoked session is not lost state");
    let (fired, revoked) = (m(&c::REVOCATION_FIRED), m(&c::SESSIONS_LOGOUTS_REVOKED));
    assert!(fired > 80.0 && revoked <= fired && revoked > 0.95 * fired, "{revoked} of {fired} fired users turned away");

    // With sessions that outlive the run, a kill loses the dead server's sessions, a
    // quarter of them, and those are the only ones counted as lost.
    let killed = run(&format!("{text}[[faults]]\nat = \"4m\"\nkill = \"server-2\"\n"), &["sessions.lifetime=1h"]);
    let lost = killed.metrics[c::SESSIONS_STATE_LOST_SHARE.key];
    assert!((lost - 0.25).abs() < 0.05, "{lost} of the active users lost their session to the kill");
}

/// mega-proxy kills nothing: its only logouts were sessions expiring (warm-started 1-hour
/// sessions, some of them on their way through the hot server's queue), which are not
/// lost state.
#[test]
fn mega_proxy_loses_no_session() {
    let ran = crate::shared::bundled("mega-proxy");
    for v in ["ip-hash-sticky", "round-robin-shared"] {
        assert_eq!(ran.mean(v, c::SESSIONS_LOGOUTS_STATE_LOST.key), 0.0, "{v}");
        assert_eq!(ran.mean(v, c::SESSIONS_STATE_LOST_SHARE.key), 0.0, "{v}");
        assert!(ran.mean(v, c::SESSIONS_LOGOUTS_EXPIRED.key) > 0.0, "{v}: sessions did expire");
    }
}

/// A blocklist cached on k servers, each refreshing every T at its own phase: a ban holds
/// once the last of the k copies is refreshed after it, the largest of k independent
/// uniform waits on [0, T], whose mean is k/(k+1) x T (8 s for 4 servers and T = 10 s,
/// where stopping at the first 401 gave about T/(k+1)). Each run draws its own phases, so
/// the test runs 20 replications and allows twice the half-width of their 95% interval.
/// A fired user keeps trying meanwhile: more 401s than fired users, and requests
/// accepted after a ban.
#[test]
fn exposure_with_a_cached_blocklist_lasts_until_every_copy_has_the_ban() {
    let text = "schema_version = 1\n[run]\nduration = \"10m\"\nwarmup = \"30s\"\n\
        [clients]\nusers = 2000\nthink_time = { dist = \"exponential\", mean = \"5s\" }\n\
        [servers]\ncount = 4\n\
        [sessions]\nstore = \"jwt\"\nlifetime = \"1h\"\nblocklist = \"cached\"\nblocklist_refresh = \"10s\"\n\
        [revocation]\nfire_rate = \"60/min\"\nfire_until = \"9m\"\n";
    let refresh_s = 10.0;
    for (servers, seed) in [(4, 1), (4, 2), (2, 3)] {
        let sets = [format!("servers.count={servers}"), format!("run.seed={seed}")];
        let model = model(text, &sets.iter().map(String::as_str).collect::<Vec<_>>());
        let opts = statesim::sweep::RunOptions { replications: Some(20), threads: None };
        let summary = statesim::sweep::run_summary(&model, &opts, &|| {});
        let m = &summary.variants[0].metrics;
        let e = &m[c::REVOCATION_EXPOSURE_MEAN_S.key];
        let k = f64::from(servers);
        let expected = k / (k + 1.0) * refresh_s;
        let tolerance = 2.0 * e.ci95.expect("replications give an interval") + 0.01;
        assert!(
            (e.mean - expected).abs() < tolerance,
            "{servers} servers, seed {seed}: mean exposure {} s, k/(k+1) x T = {expected} s (± {tolerance})",
            e.mean
        );
        assert!(m[c::REVOCATION_EXPOSURE_MAX_S.key].mean <= refresh_s + 0.01, "never longer than a refresh period");
        let (fired, turned_away) =
            (m[c::REVOCATION_FIRED.key].mean, m[statesim::metrics::catalog::failed(statesim::metrics::FailReason::Unauthorized).key].mean);
        assert!(turned_away > 1.1 * fired, "fired users keep trying after a 401: {turned_away} 401s for {fired} fired users");
        assert!(m[c::REVOCATION_ACCEPTED_AFTER_BAN.key].mean > 0.3 * fired, "and some server still lets them in");
    }
}

/// Latency is kept for ok responses and for all responses. One server of one worker
/// (10 ms a request) gets 300 requests a second, 20 ms from the load balancer: its queue
/// of 5 is full most of the time and most requests are refused (503) on arrival. A
/// refusal reaches the client 40 ms after it sent the request (there and back), and an
/// ok response no sooner than 50 ms. The ok-only distribution leaves the refusals out;
/// the one over all responses holds both, failures at the moment the client learns of
/// them. With a client timeout instead, the requests that wait too long count at exactly
/// the timeout.
#[test]
fn latency_over_all_responses_includes_failures_when_the_client_learns_of_them() {
    let text = "schema_version = 1\n[run]\nduration = \"2m\"\nwarmup = \"10s\"\n\
        [clients]\narrival_rate = \"300/s\"\ntimeout = \"off\"\n\
        [network]\nclient_to_lb = \"20ms\"\nlb_to_server = \"0s\"\n\
        [load_balancer]\nlatency = \"0s\"\nhealth_check = { enabled = false }\n\
        [servers]\ncount = 1\ncores = 1\nservice = \"10ms\"\nqueue_limit = 5\n";
    let r = run(text, &[]);
    let m = |metric: &c::Metric| r.metrics[metric.key];
    let (ok, failed) = (m(&c::REQUESTS_OK), m(c::failed(statesim::metrics::FailReason::Overloaded)));
    assert_eq!(failed, m(&c::REQUESTS_FAILED), "only 503s");
    assert!(failed > ok, "{failed} refused, {ok} ok");
    // The refusals: 40 ms each, the median of all responses, and nowhere among the ok.
    // Within the histograms' three significant digits.
    let near = |x: f64, y: f64| (x - y).abs() <= 1e-3 * y;
    assert!(near(m(&c::LATENCY_ALL_MS.p50), 40.0), "all responses' p50 {}", m(&c::LATENCY_ALL_MS.p50));
    assert!(m(&c::LATENCY_MS.p50) >= 50.0, "ok responses' p50 {}", m(&c::LATENCY_MS.p50));
    // The mean over all responses is the ok mean and 40 ms, weighted by their counts.
    let mixed = (m(&c::LATENCY_MS.mean) * ok + 40.0 * failed) / (ok + failed);
    assert!((m(&c::LATENCY_ALL_MS.mean) - mixed).abs() < 1e-6 * mixed, "{} against {mixed}", m(&c::LATENCY_ALL_MS.mean));
    assert_eq!(m(&c::LATENCY_ALL_MS.max), m(&c::LATENCY_MS.max), "the slowest response was ok");

    // No queue limit, a client timeout of 200 ms: past it a request counts as failed, at
    // 200 ms exactly, and more than 1% of them do, so that is the p99 of all responses,
    // while every ok response came sooner.
    let r = run(text, &["servers.queue_limit=100000", "clients.timeout=200ms", "clients.arrival_rate=95/s"]);
    let m = |metric: &c::Metric| r.metrics[metric.key];
    let timeouts = m(c::failed(statesim::metrics::FailReason::ClientTimeout));
    assert!(timeouts > 0.01 * m(&c::REQUESTS_SENT), "{timeouts} timeouts");
    assert!(near(m(&c::LATENCY_ALL_MS.p99), 200.0) && near(m(&c::LATENCY_ALL_MS.max), 200.0), "all responses' p99 {}", m(&c::LATENCY_ALL_MS.p99));
    assert!(m(&c::LATENCY_MS.max) <= 200.0 * 1.001, "ok responses' max {}", m(&c::LATENCY_MS.max));
    assert!(m(&c::LATENCY_MS.p99) < m(&c::LATENCY_ALL_MS.p99), "ok responses' p99 {}", m(&c::LATENCY_MS.p99));
    let (ok, failed) = (m(&c::REQUESTS_OK), m(&c::REQUESTS_FAILED));
    let mixed = (m(&c::LATENCY_MS.mean) * ok + 200.0 * failed) / (ok + failed);
    assert!((m(&c::LATENCY_ALL_MS.mean) - mixed).abs() < 1e-6 * mixed, "{} against {mixed}", m(&c::LATENCY_ALL_MS.mean));
}
