//! Every request is accounted for: sent = ok + failed (by reason) + in flight at the
//! end, whatever the seed, policy, workload, timeouts, queue limits, kills and parts
//! (sessions, revocation, carts, rate limits, uploads, WebSockets, jobs, the fleet, Redis
//! faults). Each part's own counts obey what can be stated safely about them, a failure
//! reason appears only where its cause is configured, and over the generated cases every
//! failure reason occurs (so the property is not vacuous).

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use statesim::metrics::catalog::{self as c, Metric};
use statesim::metrics::{FailReason, Metrics};
use statesim::policies::LbPolicy;
use statesim::scenario::load_str;
use statesim::sweep::run_once;

/// One random configuration: the core's dimensions and an optional choice for each part
/// (each a string or number copied from the shape of a bundled model's section).
#[derive(Clone, Debug)]
struct Config {
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
    /// Store, blocklist mode, blocklist failure mode.
    sessions: Option<(&'static str, &'static str, &'static str)>,
    revocation: bool,
    /// Store, guests.
    carts: Option<(&'static str, bool)>,
    /// Algorithm, store, key, failure mode, commands.
    rate_limit: Option<(&'static str, &'static str, &'static str, &'static str, &'static str)>,
    uploads: Option<&'static str>,
    websockets: Option<&'static str>,
    /// Mode, kill a worker.
    jobs: Option<(&'static str, bool)>,
    fleet: Option<&'static str>,
    /// "down" or "slow", at this second.
    redis_fault: Option<(&'static str, u32)>,
}

fn one_of(xs: &'static [&'static str]) -> proptest::sample::Select<&'static str> {
    proptest::sample::select(xs)
}

fn config() -> impl Strategy<Value = Config> {
    let core = (
        0u64..1_000_000,
        proptest::sample::select(LbPolicy::ALL.to_vec()),
        any::<bool>(),
        1u32..5,
        1u32..4,
        1u32..40,
        proptest::option::of(50u32..500),
        proptest::option::of(3u32..28),
        0u32..3,
        proptest::option::of(100u32..3000),
    );
    let state = (
        proptest::option::of((one_of(&["server-memory", "redis", "jwt"]), one_of(&["off", "per-request", "cached"]), one_of(&["open", "closed"]))),
        any::<bool>(),
        proptest::option::of((one_of(&["server-memory", "database", "client"]), any::<bool>())),
        proptest::option::of((
            one_of(&["fixed-window", "sliding-log", "sliding-counter", "token-bucket", "gcra"]),
            one_of(&["local", "redis"]),
            one_of(&["user", "ip", "api-key"]),
            one_of(&["open", "closed"]),
            one_of(&["atomic", "incr-then-expire"]),
        )),
    );
    let playbook = (
        proptest::option::of(one_of(&["local-disk", "through-server", "presigned"])),
        proptest::option::of(one_of(&["local", "pubsub", "gateway"])),
        proptest::option::of((one_of(&["in-request", "queue"]), any::<bool>())),
        proptest::option::of(one_of(&["autoscaling", "spot", "deploy"])),
        proptest::option::of((one_of(&["down", "slow"]), 3u32..25)),
    );
    (core, state, playbook).prop_map(
        |(
            (seed, policy, closed, servers, cores, queue_limit, timeout_ms, kill_at_s, retries, max_requests),
            (sessions, revocation, carts, rate_limit),
            (uploads, websockets, jobs, fleet, redis_fault),
        )| Config {
            seed,
            policy,
            closed,
            servers,
            cores,
            queue_limit,
            timeout_ms,
            kill_at_s,
            retries,
            max_requests,
            sessions,
            revocation: revocation && sessions.is_some(),
            carts: carts.map(|(store, guests)| (store, guests && sessions.is_some())),
            rate_limit,
            uploads,
            websockets,
            jobs,
            fleet,
            redis_fault,
        },
    )
}

/// The configuration as model text.
fn model(c: &Config) -> String {
    let mut t = format!("schema_version = 1\n[run]\nduration = \"30s\"\nwarmup = \"2s\"\nseed = {}\n", c.seed);
    if let Some(m) = c.max_requests {
        t += &format!("max_requests = {m}\n");
    }
    t += "[clients]\nusers = 400\n";
    t += if c.closed { "think_time = { dist = \"exponential\", mean = \"2s\" }\n" } else { "arrival_rate = \"200/s\"\n" };
    t += &format!("timeout = {}\n", c.timeout_ms.map_or("\"off\"".to_string(), |ms| format!("\"{ms}ms\"")));
    t += "proxies = [{ users = 100, ips = 2 }]\n";
    if c.rate_limit.is_some() {
        t += "abuser = { rate = \"100/s\", burst_every = \"5s\", burst_length = \"1s\" }\n";
    }
    t += "[network]\nclient_to_lb = { dist = \"exponential\", mean = \"5ms\" }\n";
    t += &format!(
        "[load_balancer]\npolicy = \"{}\"\nretries = {}\nhealth_check = {{ interval = \"1s\", unhealthy_after = 2, healthy_after = 1 }}\n",
        c.policy.name(),
        c.retries
    );
    t += &format!(
        "[servers]\ncount = {}\ncores = {}\nservice = {{ dist = \"lognormal\", mean = \"20ms\", cv = 1.5 }}\nqueue_limit = {}\nboot_time = \"2s\"\n",
        c.servers, c.cores, c.queue_limit
    );
    if let Some((store, blocklist, fail)) = c.sessions {
        t += &format!("[sessions]\nstore = \"{store}\"\nlifetime = \"10s\"\n");
        if store == "jwt" {
            t += &format!("blocklist = \"{blocklist}\"\nblocklist_refresh = \"2s\"\nblocklist_fail = \"{fail}\"\n");
        }
    }
    if c.revocation {
        t += "[revocation]\nfire_rate = \"60/min\"\nfire_until = \"20s\"\n";
    }
    if let Some((store, guests)) = c.carts {
        t += &format!("[carts]\nstore = \"{store}\"\nadd_share = 0.3\nguests = {guests}\nvisit_requests = 5\nlogin_share = 0.3\n");
    }
    if let Some((algorithm, store, key, fail, commands)) = c.rate_limit {
        t += &format!("[rate_limit]\nalgorithm = \"{algorithm}\"\nstore = \"{store}\"\nkey = \"{key}\"\nlimit = 10\nwindow = \"2s\"\nfail = \"{fail}\"\n");
        if (algorithm, store) == ("fixed-window", "redis") {
            t += &format!("commands = \"{commands}\"\n");
        }
    }
    if let Some(store) = c.uploads {
        t += &format!(
            "[uploads]\nstore = \"{store}\"\nshare = 0.05\nread_share = 0.3\nsize = {{ dist = \"empirical\", values = [\"200KB\", \"5MB\"], weights = [0.9, 0.1] }}\nclient_bandwidth = \"5MB/s\"\n"
        );
        if store == "presigned" {
            // A 5 MB video takes about a second; a drop every 2 s of sending, on a URL
            // valid 1 s, sends some of them again after the expiry.
            t += "url_expiry = \"1s\"\ndrops_per_hour = 1800\n";
        }
    }
    if let Some(mode) = c.websockets {
        t += &format!("[websockets]\nmode = \"{mode}\"\nmessage_rate = \"6/min\"\nreconnect_after = \"1s\"\n");
    }
    if let Some((mode, _)) = c.jobs {
        t += &format!(
            "[jobs]\nmode = \"{mode}\"\nshare = 0.01\nduration = {{ dist = \"lognormal\", mean = \"3s\", cv = 0.3 }}\nworkers = 4\nvisibility_timeout = \"5s\"\nworker_restart = \"2s\"\n"
        );
    }
    match c.fleet {
        Some("autoscaling") => t += "[autoscaling]\nenabled = true\nmetric_period = \"5s\"\ncooldown = \"5s\"\nmin = 1\nmax = 6\n",
        Some("spot") => {
            t += "[autoscaling]\nenabled = true\nmetric_period = \"5s\"\ncooldown = \"5s\"\nmin = 1\nmax = 6\nspot_share = 0.5\nspot_interruptions = \"120/h\"\nspot_notice = \"2s\"\n"
        }
        Some(_) => t += "[autoscaling]\ndeploy = { at = \"10s\", drain = \"1s\" }\n",
        None => {}
    }
    if let Some(at) = c.kill_at_s {
        t += &format!("[[faults]]\nat = \"{at}s\"\nkill = \"server-1\"\nrestart_after = \"3s\"\n");
    }
    if let Some((mode, true)) = c.jobs
        && mode == "queue"
    {
        t += "[[faults]]\nat = \"8s\"\nkill_worker = \"worker-1\"\n";
    }
    match c.redis_fault {
        Some(("down", at)) => t += &format!("[[faults]]\nat = \"{at}s\"\nredis = \"down\"\nlasting = \"4s\"\n"),
        Some((_, at)) => t += &format!("[[faults]]\nat = \"{at}s\"\nredis = \"slow\"\nround_trip = \"20ms\"\nlasting = \"4s\"\n"),
        None => {}
    }
    t
}

fn run(c: &Config) -> Result<Metrics, TestCaseError> {
    let m = load_str("prop.toml", "prop", &model(c), &[]).map_err(|e| TestCaseError::fail(format!("{e}\n{}", model(c))))?;
    Ok(run_once(&m.variants[0].system, 0).metrics)
}

/// The accounting identity, the per-part invariants, and each failure reason only where
/// its cause is configured.
fn check(c: &Config, m: &Metrics) -> Result<(), TestCaseError> {
    // Every metric read here is reported whenever its part is on.
    let g = |metric: &Metric| m.get(metric.key).copied().unwrap_or_else(|| panic!("{} not reported: {m:?}", metric.key)) as u64;
    let by_reason: u64 = FailReason::ALL.iter().map(|r| g(c::failed(*r))).sum();
    prop_assert!(g(&c::REQUESTS_SENT) > 0);
    prop_assert_eq!(g(&c::REQUESTS_FAILED), by_reason);
    prop_assert_eq!(g(&c::REQUESTS_SENT), g(&c::REQUESTS_OK) + g(&c::REQUESTS_FAILED) + g(&c::REQUESTS_IN_FLIGHT), "{:?}", m);
    if let Some(max) = c.max_requests {
        prop_assert!(g(&c::REQUESTS_SENT) <= max as u64);
    }

    let none = |reason: FailReason, cause: bool| -> Result<(), TestCaseError> {
        prop_assert!(cause || g(c::failed(reason)) == 0, "{} without its cause", reason.key());
        Ok(())
    };
    let servers_stop = c.kill_at_s.is_some() || c.fleet.is_some();
    none(FailReason::ClientTimeout, c.timeout_ms.is_some())?;
    none(FailReason::ServerKilled, servers_stop)?;
    none(FailReason::ConnectionRefused, servers_stop)?;
    none(FailReason::RedisUnavailable, matches!(c.redis_fault, Some(("down", _))))?;
    none(FailReason::Unauthorized, c.sessions.is_some())?;
    none(FailReason::RateLimited, c.rate_limit.is_some())?;
    none(FailReason::NotFound, c.uploads.is_some())?;
    none(FailReason::UrlExpired, c.uploads == Some("presigned"))?;

    if c.sessions.is_some() {
        prop_assert!(g(&c::SESSIONS_STATE_LOST_USERS) <= g(&c::SESSIONS_ACTIVE_USERS));
    }
    if c.websockets.is_some() {
        prop_assert!(g(&c::WS_DELIVERED) + g(&c::WS_DROPPED) <= g(&c::WS_MESSAGES_SENT), "{:?}", m);
    }
    if c.jobs.is_some() {
        prop_assert!(g(&c::JOBS_ACCEPTED) <= g(&c::JOBS_SUBMITTED));
        prop_assert!(g(&c::JOBS_COMPLETED) <= g(&c::JOBS_ACCEPTED), "{:?}", m);
    }
    if c.rate_limit.is_some() {
        prop_assert!(g(&c::RATELIMIT_ABUSER_ALLOWED) <= g(&c::RATELIMIT_ABUSER_SENT));
    }
    if c.uploads.is_some() {
        prop_assert!(g(&c::READS_NOT_FOUND) >= g(c::failed(FailReason::NotFound)));
        // Expired uploads are tallied when the client learns of them, as failures are.
        let expired = m.get(c::UPLOADS_URL_EXPIRED_SHARE.key).copied().unwrap_or(0.0);
        let finished = g(&c::UPLOADS_COUNT) + g(c::failed(FailReason::UrlExpired));
        prop_assert!((0.0..=1.0).contains(&expired));
        prop_assert!(finished == 0 || (expired - g(c::failed(FailReason::UrlExpired)) as f64 / finished as f64).abs() < 1e-9, "{:?}", m);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn every_request_is_accounted_for(c in config()) {
        let m = run(&c)?;
        check(&c, &m)?;
    }
}

/// What each part must have done somewhere in the sample: a key of its metrics that only
/// moves when the part is exercised (logins lost, users fired, guest carts merged, Redis
/// down with the limit failing open, files read, messages delivered, a job run twice after
/// a worker kill, spot interruptions, a deploy).
static PARTS_EXERCISED: [&Metric; 13] = [
    &c::SESSIONS_LOGOUTS_STATE_LOST,
    &c::REVOCATION_FIRED,
    &c::REVOCATION_LOOKUPS,
    &c::CARTS_MERGES,
    &c::CARTS_LOST,
    &c::RATELIMIT_ALLOWED_WHILE_REDIS_DOWN,
    &c::READS_OK,
    &c::UPLOADS_COUNT,
    &c::WS_DELIVERED,
    &c::JOBS_COMPLETED,
    &c::JOBS_RUN_TWICE,
    &c::FLEET_SPOT_INTERRUPTIONS,
    &c::DEPLOY_DURATION_S,
];

/// Over a fixed sample of the same configurations, every failure reason occurs at least
/// once and every part does its work, so the identity above is checked with every reason
/// and every part in play.
#[test]
fn every_failure_reason_and_part_occurs() {
    let mut runner = TestRunner::deterministic();
    let keys: Vec<&str> = FailReason::ALL.iter().map(|r| c::failed(*r).key).chain(PARTS_EXERCISED.iter().map(|metric| metric.key)).collect();
    let mut seen = vec![0.0; keys.len()];
    for _ in 0..128 {
        let c = config().new_tree(&mut runner).unwrap().current();
        let m = run(&c).unwrap();
        check(&c, &m).unwrap();
        for (n, k) in seen.iter_mut().zip(&keys) {
            *n += m.get(*k).copied().unwrap_or(0.0);
        }
    }
    println!("{:?}", keys.iter().zip(&seen).collect::<Vec<_>>());
    let missing: Vec<_> = keys.iter().zip(&seen).filter(|(_, n)| **n == 0.0).map(|(k, _)| k).collect();
    assert!(missing.is_empty(), "never occurred: {missing:?}");
}
