//! Every request is accounted for: sent = ok + failed (by reason) + in flight at the
//! end, whatever the seed, policy, workload, timeouts, queue limits and kills.

use proptest::prelude::*;
use statesim::metrics::FailReason;
use statesim::metrics::catalog as c;
use statesim::policies::LbPolicy;
use statesim::scenario::load_str;
use statesim::sweep::run_once;

/// One random configuration, as model text (every argument is one proptest dimension).
#[allow(clippy::too_many_arguments)]
fn model(
    seed: u64,
    policy: LbPolicy,
    closed: bool,
    servers: u32,
    cores: u32,
    queue_limit: u32,
    timeout_ms: Option<u32>,
    kill_at_s: Option<u32>,
    retries: u32,
    max_requests: Option<u32>,
) -> String {
    let workload = if closed {
        "users = 400\nthink_time = { dist = \"exponential\", mean = \"2s\" }".to_string()
    } else {
        "users = 400\narrival_rate = \"200/s\"".to_string()
    };
    let timeout = timeout_ms.map_or("\"off\"".to_string(), |t| format!("\"{t}ms\""));
    let kill = kill_at_s.map_or(String::new(), |t| format!("[[faults]]\nat = \"{t}s\"\nkill = \"server-1\"\nrestart_after = \"3s\"\n"));
    let max = max_requests.map_or(String::new(), |m| format!("max_requests = {m}\n"));
    format!(
        r#"schema_version = 1
[run]
duration = "30s"
warmup = "2s"
seed = {seed}
{max}
[clients]
{workload}
timeout = {timeout}
proxies = [{{ users = 100, ips = 2 }}]
[network]
client_to_lb = {{ dist = "exponential", mean = "5ms" }}
[load_balancer]
policy = "{}"
retries = {retries}
health_check = {{ interval = "1s", unhealthy_after = 2, healthy_after = 1 }}
[servers]
count = {servers}
cores = {cores}
service = {{ dist = "lognormal", mean = "20ms", cv = 1.5 }}
queue_limit = {queue_limit}
boot_time = "2s"
{kill}"#,
        policy.name()
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn every_request_is_accounted_for(
        seed in 0u64..1_000_000,
        policy in proptest::sample::select(LbPolicy::ALL.to_vec()),
        closed in any::<bool>(),
        servers in 1u32..5,
        cores in 1u32..4,
        queue_limit in 1u32..40,
        timeout_ms in proptest::option::of(50u32..500),
        kill_at_s in proptest::option::of(3u32..28),
        retries in 0u32..3,
        max_requests in proptest::option::of(100u32..3000),
    ) {
        let text = model(seed, policy, closed, servers, cores, queue_limit, timeout_ms, kill_at_s, retries, max_requests);
        let m = load_str("prop.toml", "prop", &text, &[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let r = run_once(&m.variants[0].system, 0);
        let g = |k: &str| r.metrics[k] as u64;
        let by_reason: u64 = [FailReason::ServerKilled, FailReason::ConnectionRefused, FailReason::Overloaded, FailReason::NoHealthyServer, FailReason::ClientTimeout].into_iter().map(|r| g(c::failed(r).key)).sum();
        prop_assert!(g(c::REQUESTS_SENT.key) > 0);
        prop_assert_eq!(g(c::REQUESTS_FAILED.key), by_reason);
        prop_assert_eq!(g(c::REQUESTS_SENT.key), g(c::REQUESTS_OK.key) + g(c::REQUESTS_FAILED.key) + g(c::REQUESTS_IN_FLIGHT.key), "{:?}", r.metrics);
        if timeout_ms.is_none() { prop_assert_eq!(g(c::failed(FailReason::ClientTimeout).key), 0); }
        if kill_at_s.is_none() { prop_assert_eq!(g(c::failed(FailReason::ServerKilled).key) + g(c::failed(FailReason::ConnectionRefused).key), 0); }
        if let Some(max) = max_requests {
            prop_assert!(g(c::REQUESTS_SENT.key) <= max as u64);
        }
    }
}
