//! The state tier, on `models/state-tier.toml`: what a Redis failover loses with no
//! replica, with an asynchronous one across lags and failover times, and with WAIT; and
//! stale reads from lagging read replicas. Then, on purpose-built models at several
//! seeds, the two expectations theory gives: writes lost = write rate x lag, and a first
//! read after a write stale with probability 1 - exp(-(L - s) / T).

use crate::shared::{holm, poisson_two_sided_p};
use statesim::metrics::FailReason;
use statesim::metrics::catalog as c;
use statesim::scenario::load_str;
use statesim::sweep::run_once;

#[test]
fn state_tier_claims() {
    let s = crate::shared::bundled("state-tier");
    let m = |v: &str, metric: &c::Metric| s.mean(v, metric.key);
    // With no replica every session key is lost; with a replica only the last lag's.
    assert!(m("no-replica", &c::REDIS_FAILOVER_LOST_SESSIONS) > 1000.0);
    assert!(m("no-replica", &c::SESSIONS_STATE_LOST_USERS) > 100.0 * m("lag-50ms", &c::SESSIONS_STATE_LOST_USERS).max(1.0));
    // Lost writes grow with the lag, about in proportion, and match rate x lag.
    let lost = |v: &str| m(v, &c::REDIS_FAILOVER_LOST_WRITES);
    assert!(lost("lag-50ms") < lost("lag-500ms") && lost("lag-500ms") < lost("lag-5s"));
    for v in ["lag-50ms", "lag-500ms", "lag-5s", "failover-30s"] {
        let ratio = lost(v) / m(v, &c::REDIS_FAILOVER_LOST_WRITES_EXPECTED);
        assert!((0.7..1.3).contains(&ratio), "{v}: lost {} against {} expected", lost(v), m(v, &c::REDIS_FAILOVER_LOST_WRITES_EXPECTED));
    }
    // The failover time does not change what is lost, only how many requests fail.
    assert_eq!(lost("failover-30s"), lost("lag-50ms"));
    let unavailable = |v: &str| m(v, c::failed(FailReason::RedisUnavailable));
    assert!(unavailable("failover-30s") > 4.0 * unavailable("lag-50ms"));
    // WAIT loses nothing and reports no expectation (nothing is on its way).
    assert_eq!(lost("sync"), 0.0);
    let sync = s.summary.variants.iter().find(|v| v.name == "sync").expect("a sync variant");
    assert!(!sync.metrics.contains_key(c::REDIS_FAILOVER_LOST_WRITES_EXPECTED.key));
    // A lagging replica loses bans, and a banned token gets in again.
    assert!(m("jwt-blocklist", &c::REDIS_FAILOVER_LOST_BANS) > 0.0);
    assert!(m("jwt-blocklist", &c::REVOCATION_ACCEPTED_AFTER_IN_FORCE) > 0.0);
    assert_eq!(m("lag-50ms", &c::REVOCATION_ACCEPTED_AFTER_IN_FORCE), 0.0, "a 50 ms lag loses no ban here");
    // Read replicas: stale reads with lag, none when reads follow the writer to the primary.
    assert!(m("lag-50ms", &c::DATABASE_STALE_AFTER_WRITE_SHARE) > 3.0 * m("db-lag-200ms", &c::DATABASE_STALE_AFTER_WRITE_SHARE));
    assert_eq!(m("db-primary-after-write", &c::DATABASE_STALE_READS), 0.0);
    assert_eq!(m("db-read-primary", &c::DATABASE_PRIMARY_READ_SHARE), 1.0);
    assert_eq!(m("db-read-primary", &c::DATABASE_REPLICA_UTILISATION), 0.0);
    assert!(m("db-read-primary", &c::DATABASE_UTILISATION) > 2.0 * m("lag-50ms", &c::DATABASE_UTILISATION));
}

/// Every request is a rate check in Redis that changes its user's counter (100,000 users,
/// each far under the limit), so writes reach the primary as a Poisson stream at the
/// arrival rate (a constant network leg shifts it, no more). With a constant lag L the
/// primary's death loses the writes of its last L: Poisson with mean rate x L = 2000/s x
/// 100 ms = 200. Each seed's count is tested against it exactly (two-sided), the three
/// seeds as one family under Holm's correction at 1%; losing the writes of half the lag,
/// or of twice it, fails.
#[test]
fn a_failover_loses_the_writes_of_the_last_lag() {
    let text = r#"schema_version = 1
        [run]
        duration = "20s"
        warmup = "5s"
        [clients]
        users = 100000
        arrival_rate = "2000/s"
        [servers]
        count = 4
        cores = 4
        service = "1ms"
        [rate_limit]
        algorithm = "fixed-window"
        store = "redis"
        limit = 100
        window = "1m"
        [redis]
        replication = "async"
        replication_lag = "100ms"
        [[faults]]
        at = "15s"
        kill = "redis-primary"
        "#;
    let (rate_per_s, lag_s) = (2000.0, 0.1);
    let mu = rate_per_s * lag_s;
    let mut tests = Vec::new();
    for seed in [1u64, 2, 3] {
        let model = load_str("failover.toml", "failover", text, &[format!("run.seed={seed}")]).unwrap();
        let r = run_once(&model.variants[0].system, 0);
        let m = |metric: &c::Metric| r.metrics[metric.key];
        let lost = m(&c::REDIS_FAILOVER_LOST_WRITES);
        assert_eq!(lost, m(&c::REDIS_FAILOVER_LOST_COUNTER_WRITES), "seed {seed}: only counters are written");
        let expected = m(&c::REDIS_FAILOVER_LOST_WRITES_EXPECTED);
        assert!((expected / mu - 1.0).abs() < 0.05, "seed {seed}: the measured write rate x lag, {expected}, is about {mu}");
        println!("seed {seed}: {lost} writes lost, expected {mu:.1}");
        tests.push((poisson_two_sided_p(lost as u64, mu), format!("seed {seed}: {lost} lost, Poisson mean {mu:.1}")));
    }
    let rejected = holm(&tests, 0.01);
    assert!(rejected.is_empty(), "{rejected:#?}");
    // With WAIT nothing is lost; with no replica every counter is.
    let sync = load_str("failover.toml", "failover", text, &["redis.replication=\"sync\"".into()]).unwrap();
    assert_eq!(run_once(&sync.variants[0].system, 0).metrics[c::REDIS_FAILOVER_LOST_WRITES.key], 0.0);
}

/// Users think an exponential time (mean T = 1 s) between requests, every hop takes no
/// time, and a request's CPU is a constant s = 1 ms after its cart query: a cart write
/// commits, and the user's next read starts s + think later. A replica has the write L =
/// 500 ms after it committed, so that read is stale with probability
/// P(think < L - s) = 1 - exp(-(L - s) / T) = 0.3929. The stale first reads of three
/// independent seeds, pooled (about 26,000 reads), are tested against the binomial
/// (normal approximation, two-sided, at 1%); half the lag (p = 0.22) or twice it
/// (p = 0.63) would fail by far, and so would a bias of two percentage points.
#[test]
fn the_first_read_after_a_write_is_stale_with_the_probability_theory_gives() {
    let text = r#"schema_version = 1
        [run]
        duration = "60s"
        warmup = "5s"
        [clients]
        users = 1000
        think_time = { dist = "exponential", mean = "1s" }
        [network]
        client_to_lb = "0s"
        lb_to_server = "0s"
        [load_balancer]
        latency = "0s"
        [servers]
        count = 4
        cores = 8
        service = "1ms"
        [database]
        connections = 1000
        read = "0s"
        write = "0s"
        read_replicas = 2
        replication_lag = "500ms"
        [carts]
        store = "database"
        add_share = 0.2
        page_reads = true
        "#;
    let (lag_s, service_s, think_s) = (0.5, 0.001, 1.0);
    let p = 1.0 - f64::exp(-(lag_s - service_s) / think_s);
    let (mut reads, mut stale) = (0.0, 0.0);
    for seed in [1u64, 2, 3] {
        let model = load_str("replicas.toml", "replicas", text, &[format!("run.seed={seed}")]).unwrap();
        let r = run_once(&model.variants[0].system, 0);
        let n = r.metrics[c::DATABASE_READS_AFTER_WRITE.key];
        let share = r.metrics[c::DATABASE_STALE_AFTER_WRITE_SHARE.key];
        assert!(n > 5000.0, "seed {seed}: {n} first reads after a write");
        println!("seed {seed}: {share:.4} of {n} stale, theory {p:.4}");
        reads += n;
        stale += (share * n).round();
    }
    let share = stale / reads;
    let z = (share - p) / (p * (1.0 - p) / reads).sqrt();
    let two_sided = erfc(z.abs() / std::f64::consts::SQRT_2);
    assert!(two_sided > 0.01, "pooled: {share:.4} of {reads} stale against {p:.4} (z = {z:.2}, p = {two_sided:.1e})");
    // Reads that follow the writer to the primary for longer than the lag are never stale.
    let fixed =
        load_str("replicas.toml", "replicas", text, &["database.read_from=\"primary-after-write\"".into(), "database.primary_after_write=\"500ms\"".into()])
            .unwrap();
    let r = run_once(&fixed.variants[0].system, 0);
    assert_eq!(r.metrics[c::DATABASE_STALE_READS.key], 0.0);
    assert!(r.metrics[c::DATABASE_PRIMARY_READ_SHARE.key] > 0.0 && r.metrics[c::DATABASE_PRIMARY_READ_SHARE.key] < 0.2);
}

/// The complementary error function (Abramowitz and Stegun 7.1.26, error below 1.5e-7).
fn erfc(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    poly * (-x * x).exp()
}
