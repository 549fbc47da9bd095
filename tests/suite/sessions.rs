//! The session, cart and revocation claims of the playbook, checked on the real model
//! files in `models/` (one replication at the model's seed; tolerances are several times
//! the run-to-run noise seen across seeds).

use statesim::metrics::FailReason;
use statesim::metrics::catalog as c;
use std::collections::BTreeMap;

type Table = BTreeMap<String, BTreeMap<String, f64>>;

fn run(model: &str) -> Table {
    crate::shared::bundled(model).table()
}

fn get(t: &Table, variant: &str, key: &str) -> f64 {
    *t.get(variant).unwrap_or_else(|| panic!("no variant {variant}")).get(key).unwrap_or_else(|| panic!("{variant} has no {key}"))
}

/// Killing 1 of n = 10 servers with sessions in server memory logs out about 1/n of
/// active users under cookie affinity; Redis and JWT sessions log out no one, and lose
/// no cart.
#[test]
fn crash_test() {
    let t = run("crash-test");
    let share = get(&t, "sticky-memory", c::SESSIONS_STATE_LOST_SHARE.key);
    assert!((share - 0.1).abs() < 0.03, "sticky-memory logged out {share}");
    assert!(get(&t, "sticky-memory", c::CARTS_LOST.key) > 500.0);
    for v in ["redis", "jwt"] {
        assert_eq!(get(&t, v, c::SESSIONS_STATE_LOST_USERS.key), 0.0, "{v}");
        assert_eq!(get(&t, v, c::CARTS_LOST.key), 0.0, "{v}");
    }
    // The requests hit by the kill are the same few for every variant.
    for v in ["sticky-memory", "redis", "jwt"] {
        assert!(get(&t, v, c::REQUESTS_FAILED.key) < 20.0, "{v}");
    }
}

/// On a kill, modulo ip-hash re-hashes about (n-1)/n of users (logging them out), a
/// consistent-hash ring about 1/n, cookie affinity 1/n.
#[test]
fn sticky_hashing() {
    let t = run("sticky-hashing");
    let modulo = get(&t, "ip-hash", c::SESSIONS_STATE_LOST_SHARE.key);
    assert!((modulo - 0.9).abs() < 0.05, "ip-hash logged out {modulo}");
    for v in ["consistent-hash", "cookie"] {
        let s = get(&t, v, c::SESSIONS_STATE_LOST_SHARE.key);
        assert!((s - 0.1).abs() < 0.04, "{v} logged out {s}");
    }
}

/// A NAT group holding a share f = 0.2 of users puts f + (1-f)/n = 0.28 of the load on
/// one server under ip-hash; that server saturates (503s, a huge p99) while others
/// idle; round robin with shared sessions stays balanced.
#[test]
fn mega_proxy() {
    let t = run("mega-proxy");
    let (f, n) = (0.2, 10.0);
    let hot = get(&t, "ip-hash-sticky", c::SERVERS_ROUTED_SHARE_MAX.key);
    assert!((hot - (f + (1.0 - f) / n)).abs() < 0.01, "hot share {hot}");
    assert!(get(&t, "ip-hash-sticky", c::failed(FailReason::Overloaded).key) > 1000.0);
    assert!(get(&t, "ip-hash-sticky", c::SERVERS_UTILISATION_MAX.key) > 0.99);
    assert!(get(&t, "ip-hash-sticky", c::SERVERS_UTILISATION_MIN.key) < 0.5);
    assert!(get(&t, "ip-hash-sticky", c::LATENCY_MS.p99.key) > 5.0 * get(&t, "round-robin-shared", c::LATENCY_MS.p99.key));
    assert!(get(&t, "round-robin-shared", c::SERVERS_ROUTED_SHARE_MAX.key) < 0.11);
    assert_eq!(get(&t, "round-robin-shared", c::REQUESTS_FAILED.key), 0.0);
}

/// Reference tokens add a Redis round trip to every request; JWT adds its verification
/// CPU; past Redis's capacity reference-token p99 explodes while JWT's does not; with
/// Redis down, reference-token requests fail and JWTs go on.
#[test]
fn session_latency() {
    let t = run("session-latency");
    let rtt_ms = 0.3;
    assert!(get(&t, "redis", c::AUTH_MS.p50.key) >= rtt_ms);
    assert!(get(&t, "jwt-blocklist", c::AUTH_MS.p50.key) >= rtt_ms + 0.0015);
    for (v, verify_ms) in [("jwt-hs256", 0.0015), ("jwt-rs256", 0.027), ("jwt-es256", 0.077), ("jwt-eddsa", 0.054)] {
        let a = get(&t, v, c::AUTH_MS.p50.key);
        assert!((a - verify_ms).abs() / verify_ms < 0.01, "{v} auth {a} ms");
        assert!(a < rtt_ms, "{v}: a signature check is cheaper than a Redis round trip");
    }
    assert!(get(&t, "jwt-es256", c::SERVERS_CPU_MEAN.key) > get(&t, "jwt-hs256", c::SERVERS_CPU_MEAN.key));
    assert!(get(&t, "redis", c::REDIS_UTILISATION.key) > 0.15);
    assert!(get(&t, "redis-110k", c::REDIS_UTILISATION.key) > 0.99);
    assert!(get(&t, "redis-110k", c::LATENCY_MS.p99.key) > 20.0 * get(&t, "jwt-hs256-110k", c::LATENCY_MS.p99.key));
    assert!(get(&t, "jwt-hs256-110k", c::LATENCY_MS.p99.key) < 2.0 * get(&t, "jwt-hs256", c::LATENCY_MS.p99.key));
    // 10 s down at 20,000 requests per second.
    let down = get(&t, "redis-down", c::failed(FailReason::RedisUnavailable).key);
    assert!((down - 200_000.0).abs() < 10_000.0, "{down}");
    assert_eq!(get(&t, "jwt-blocklist-down", c::REQUESTS_FAILED.key), 0.0);
}

/// Without a blocklist a fired user keeps access for about half the token lifetime on
/// average and at most all of it; a per-request blocklist cuts that to about a round
/// trip; a cached one to at most its refresh period.
#[test]
fn jwt_revocation() {
    let t = run("jwt-revocation");
    let lifetime_s = 600.0;
    let think_s = 5.0;
    let mean = get(&t, "jwt-only", c::REVOCATION_EXPOSURE_MEAN_S.key);
    assert!((mean - lifetime_s / 2.0).abs() < 0.1 * lifetime_s, "jwt-only mean exposure {mean}");
    assert!(get(&t, "jwt-only", c::REVOCATION_EXPOSURE_MAX_S.key) <= lifetime_s);
    assert!(get(&t, "jwt-only", c::REVOCATION_EXPOSURE_MAX_S.key) > 0.9 * lifetime_s);
    for v in ["jwt-blocklist", "reference-token"] {
        assert!(get(&t, v, c::REVOCATION_EXPOSURE_MAX_S.key) < 0.1, "{v}");
        assert!(get(&t, v, c::REVOCATION_LOOKUPS_PER_REQUEST.key) >= 1.0, "{v} pays a lookup per request");
    }
    // A cached blocklist holds once every server's copy is refreshed: at most a refresh
    // period, and on average the wait for the last of the 4 copies, between half the
    // period (refreshes in phase) and 7/8 of it (evenly spread); see `definitions` for
    // k/(k+1) over many phases.
    let refresh_s = 10.0;
    assert!(get(&t, "jwt-blocklist-cached", c::REVOCATION_EXPOSURE_MAX_S.key) <= refresh_s + 0.1);
    let cached = get(&t, "jwt-blocklist-cached", c::REVOCATION_EXPOSURE_MEAN_S.key);
    assert!(cached > refresh_s / 2.0 - 0.5 && cached < refresh_s * 7.0 / 8.0 + 0.5, "cached mean exposure {cached}");
    // Fired users keep trying while a server may still let them in: with a cached
    // blocklist they get in after the ban, with a per-request one hardly ever.
    assert!(get(&t, "jwt-blocklist-cached", c::REVOCATION_ACCEPTED_PER_FIRED_USER.key) > 0.5);
    assert!(get(&t, "jwt-blocklist", c::REVOCATION_ACCEPTED_PER_FIRED_USER.key) < 0.01);
    assert!(get(&t, "jwt-only", c::REVOCATION_ACCEPTED_PER_FIRED_USER.key) > 0.5 * lifetime_s / 2.0 / think_s);
    assert!(get(&t, "jwt-blocklist-cached", c::REVOCATION_LOOKUPS_PER_REQUEST.key) < 0.01);
    assert!(get(&t, "jwt-only", c::REVOCATION_FIRED.key) > 700.0);
}

/// The playbook's chain, item by item: sticky by IP hash, 10,000 users behind one NAT IP;
/// the hot server's probes time out behind its queue, the health check replaces it, and
/// in every replication nearly all of the NAT's active users are logged out (about the
/// group's size), far more in share than the other users. With the probe timeout off the
/// same overload never fails a probe: the chain is the timeout's doing.
#[test]
fn ip_hash_meltdown() {
    let ran = crate::shared::bundled("mega-proxy");
    let per_rep =
        |k: &str| -> Vec<f64> { ran.summary.variants.iter().find(|x| x.name == "playbook-ip-hash-meltdown").expect("the variant").per_replication[k].clone() };
    let (replaced, nat, nat_share, others) = (
        per_rep(c::HEALTH_REPLACED.key),
        per_rep(c::SESSIONS_PROXY_STATE_LOST_USERS.key),
        per_rep(c::SESSIONS_PROXY_STATE_LOST_SHARE.key),
        per_rep(c::SESSIONS_DIRECT_STATE_LOST_SHARE.key),
    );
    for i in 0..replaced.len() {
        assert!(replaced[i] >= 1.0, "replication {i}: {replaced:?}");
        assert!(nat_share[i] > 0.95 && (9_000.0..=10_000.0).contains(&nat[i]), "replication {i}: {nat:?} {nat_share:?}");
        assert!(nat_share[i] > 2.0 * others[i], "replication {i}: {nat_share:?} {others:?}");
    }
    let b = statesim::bundled::find("mega-proxy").unwrap();
    let off =
        statesim::scenario::load_str(b.path, b.name, b.text, &["variants.playbook-ip-hash-meltdown.load_balancer.health_check.timeout=\"off\"".to_string()])
            .unwrap();
    let v = off.variants.iter().find(|v| v.name == "playbook-ip-hash-meltdown").unwrap();
    let m = statesim::sweep::run_once(&v.system, 0).metrics;
    assert_eq!(m[c::HEALTH_PROBES_FAILED.key], 0.0);
    assert_eq!(m[c::HEALTH_REPLACED.key], 0.0);
    assert_eq!(m[c::SESSIONS_PROXY_STATE_LOST_USERS.key], 0.0);
}

/// The playbook's litmus test (the model litmus-test), server #5 terminated: in every replication the stateful
/// design logs users out, loses carts and cuts off uploads; the stateless one's load
/// balancer retries on server-6 and nothing is lost.
#[test]
fn terminate_server_five() {
    let ran = crate::shared::bundled("litmus-test");
    let per_rep =
        |v: &str, k: &str| -> Vec<f64> { ran.summary.variants.iter().find(|x| x.name == v).unwrap_or_else(|| panic!("{v}")).per_replication[k].clone() };
    for k in [c::SESSIONS_STATE_LOST_USERS.key, c::CARTS_LOST.key, c::UPLOADS_INTERRUPTED.key] {
        assert!(per_rep("stateful", k).iter().all(|&x| x > 0.0), "stateful {k}");
        assert!(per_rep("stateless", k).iter().all(|&x| x == 0.0), "stateless {k}");
    }
    assert!(per_rep("stateless", c::REQUESTS_RETRIED_ON_ANOTHER_SERVER.key).iter().all(|&x| x > 100.0));
    assert!(per_rep("stateless", c::REQUESTS_RETRY_TOP_SERVER.key).iter().all(|&x| x == 6.0));
    assert!(per_rep("stateless", c::REQUESTS_RETRY_TOP_SERVER_SHARE.key).iter().all(|&x| x == 1.0));
    let (failed, sent) = (per_rep("stateless", c::REQUESTS_FAILED.key), per_rep("stateless", c::REQUESTS_SENT.key));
    assert!(failed.iter().zip(&sent).all(|(f, s)| *f <= 1e-4 * s), "{failed:?}");
    // crash-test's retries, to the next server in the rotation, spread over the servers.
    let crash = crate::shared::bundled("crash-test");
    let redis = &crash.summary.variants.iter().find(|x| x.name == "redis").unwrap().per_replication[c::REQUESTS_RETRY_TOP_SERVER_SHARE.key];
    assert!(redis.iter().all(|&x| x < 0.5), "{redis:?}");
}

/// The interview's 1-hour token: a fired user keeps getting in about 30 minutes on
/// average and at most 60; a Redis blocklist whose entries live for the token's remaining
/// lifetime holds, once full, entries added per second x mean TTL (Little's law).
#[test]
fn a_one_hour_token_and_its_blocklist() {
    let t = run("jwt-revocation");
    let hour_s = 3600.0;
    let mean = get(&t, "playbook-1h-token", c::REVOCATION_EXPOSURE_MEAN_S.key);
    assert!((mean - hour_s / 2.0).abs() < 0.1 * hour_s, "1-hour token mean exposure {mean}");
    let max = get(&t, "playbook-1h-token", c::REVOCATION_EXPOSURE_MAX_S.key);
    assert!(max <= hour_s && max > 0.9 * hour_s, "1-hour token max exposure {max}");
    let v = "playbook-1h-blocklist";
    assert!(get(&t, v, c::REVOCATION_EXPOSURE_MAX_S.key) < 0.1);
    let ttl = get(&t, v, c::REVOCATION_BLOCKLIST_TTL_MEAN_S.key);
    assert!((ttl - hour_s / 2.0).abs() < 0.1 * hour_s, "an entry lives the token's remaining lifetime: {ttl}");
    let (entries, adds) = (get(&t, v, c::REVOCATION_BLOCKLIST_ENTRIES_MEAN.key), get(&t, v, c::REVOCATION_BLOCKLIST_ADDS_PER_S.key));
    assert!((entries / (adds * ttl) - 1.0).abs() < 0.1, "Little's law: {entries} vs {adds} x {ttl}");
    // 10 bans a minute, each entry about half an hour: some 300 entries, and the peak
    // not far above the mean: entries leave as fast as they come.
    assert!((entries - 10.0 / 60.0 * hour_s / 2.0).abs() < 0.2 * 300.0, "{entries}");
    assert!(get(&t, v, c::REVOCATION_BLOCKLIST_ENTRIES_MAX.key) < 1.3 * entries);
    assert!(get(&t, v, c::REVOCATION_LOOKUPS_PER_REQUEST.key) > 0.9);
}

/// Guest carts in server memory are lost on a kill; in the database nothing is lost but
/// most writes serve abandoned carts; in the client nothing is lost and the database is
/// written once per checkout.
#[test]
fn shopping_cart() {
    let t = run("shopping-cart");
    assert!(get(&t, "server-memory", c::CARTS_LOST.key) > 300.0);
    assert!(get(&t, "server-memory", c::CARTS_ITEMS_LOST.key) > get(&t, "server-memory", c::CARTS_LOST.key));
    for v in ["database", "client"] {
        assert_eq!(get(&t, v, c::CARTS_LOST.key), 0.0, "{v}");
    }
    let wasted = get(&t, "database", c::CARTS_GUEST_WRITES_WASTED.key);
    assert!(wasted > 0.4 * get(&t, "database", c::DATABASE_WRITES.key), "{wasted}");
    assert_eq!(get(&t, "client", c::CARTS_GUEST_WRITES_WASTED.key), 0.0);
    assert_eq!(get(&t, "client", c::DATABASE_WRITES.key), get(&t, "client", c::CARTS_MERGES.key));
    assert!(get(&t, "client", c::CARTS_MERGE_CONFLICTS.key) > 0.0);
}
