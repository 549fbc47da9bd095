//! The session, cart and revocation claims of the playbook, checked on the real model
//! files in `models/` (one replication at the model's seed; tolerances are several times
//! the run-to-run noise seen across seeds).

use statesim::scenario::load_file;
use statesim::sweep::{RunOptions, run_and_summarize};
use std::collections::BTreeMap;
use std::path::Path;

type Table = BTreeMap<String, BTreeMap<String, f64>>;

fn run(model: &str) -> Table {
    let model = load_file(Path::new(&format!("models/{model}.toml")), &[]).unwrap();
    let (s, _) = run_and_summarize(&model, &RunOptions::default(), &|| {});
    s.variants.into_iter().map(|v| (v.name, v.metrics.into_iter().map(|(k, e)| (k, e.mean)).collect())).collect()
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
    let share = get(&t, "sticky-memory", "sessions.logged_out_share");
    assert!((share - 0.1).abs() < 0.03, "sticky-memory logged out {share}");
    assert!(get(&t, "sticky-memory", "carts.lost") > 500.0);
    for v in ["redis", "jwt"] {
        assert_eq!(get(&t, v, "sessions.logged_out_users"), 0.0, "{v}");
        assert_eq!(get(&t, v, "carts.lost"), 0.0, "{v}");
    }
    // The requests hit by the kill are the same few for every variant.
    for v in ["sticky-memory", "redis", "jwt"] {
        assert!(get(&t, v, "requests.failed") < 20.0, "{v}");
    }
}

/// On a kill, modulo ip-hash re-hashes about (n-1)/n of users (logging them out), a
/// consistent-hash ring about 1/n, cookie affinity 1/n.
#[test]
fn sticky_hashing() {
    let t = run("sticky-hashing");
    let modulo = get(&t, "ip-hash", "sessions.logged_out_share");
    assert!((modulo - 0.9).abs() < 0.05, "ip-hash logged out {modulo}");
    for v in ["consistent-hash", "cookie"] {
        let s = get(&t, v, "sessions.logged_out_share");
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
    let hot = get(&t, "ip-hash-sticky", "servers.routed_share_max");
    assert!((hot - (f + (1.0 - f) / n)).abs() < 0.01, "hot share {hot}");
    assert!(get(&t, "ip-hash-sticky", "failed.overloaded_503") > 1000.0);
    assert!(get(&t, "ip-hash-sticky", "servers.utilisation_max") > 0.99);
    assert!(get(&t, "ip-hash-sticky", "servers.utilisation_min") < 0.5);
    assert!(get(&t, "ip-hash-sticky", "latency_ms.p99") > 5.0 * get(&t, "round-robin-shared", "latency_ms.p99"));
    assert!(get(&t, "round-robin-shared", "servers.routed_share_max") < 0.11);
    assert_eq!(get(&t, "round-robin-shared", "requests.failed"), 0.0);
}

/// Reference tokens add a Redis round trip to every request; JWT adds its verification
/// CPU; past Redis's capacity reference-token p99 explodes while JWT's does not; with
/// Redis down, reference-token requests fail and JWTs go on.
#[test]
fn session_latency() {
    let t = run("session-latency");
    let rtt_ms = 0.3;
    assert!(get(&t, "redis", "auth_ms.p50") >= rtt_ms);
    assert!(get(&t, "jwt-blocklist", "auth_ms.p50") >= rtt_ms + 0.0015);
    for (v, verify_ms) in [("jwt-hs256", 0.0015), ("jwt-rs256", 0.027), ("jwt-es256", 0.077), ("jwt-eddsa", 0.054)] {
        let a = get(&t, v, "auth_ms.p50");
        assert!((a - verify_ms).abs() / verify_ms < 0.01, "{v} auth {a} ms");
        assert!(a < rtt_ms, "{v}: a signature check is cheaper than a Redis round trip");
    }
    assert!(get(&t, "jwt-es256", "servers.cpu_mean") > get(&t, "jwt-hs256", "servers.cpu_mean"));
    assert!(get(&t, "redis", "redis.utilisation") > 0.15);
    assert!(get(&t, "redis-110k", "redis.utilisation") > 0.99);
    assert!(get(&t, "redis-110k", "latency_ms.p99") > 20.0 * get(&t, "jwt-hs256-110k", "latency_ms.p99"));
    assert!(get(&t, "jwt-hs256-110k", "latency_ms.p99") < 2.0 * get(&t, "jwt-hs256", "latency_ms.p99"));
    // 10 s down at 20,000 requests per second.
    let down = get(&t, "redis-down", "failed.redis_unavailable");
    assert!((down - 200_000.0).abs() < 10_000.0, "{down}");
    assert_eq!(get(&t, "jwt-blocklist-down", "requests.failed"), 0.0);
}

/// Without a blocklist a fired user keeps access for about half the token lifetime on
/// average and at most all of it; a per-request blocklist cuts that to about a round
/// trip; a cached one to at most its refresh period.
#[test]
fn jwt_revocation() {
    let t = run("jwt-revocation");
    let lifetime_s = 600.0;
    let think_s = 5.0;
    let mean = get(&t, "jwt-only", "revocation.exposure_mean_s");
    assert!((mean - lifetime_s / 2.0).abs() < 0.1 * lifetime_s, "jwt-only mean exposure {mean}");
    assert!(get(&t, "jwt-only", "revocation.exposure_max_s") <= lifetime_s);
    assert!(get(&t, "jwt-only", "revocation.exposure_max_s") > 0.9 * lifetime_s);
    for v in ["jwt-blocklist", "reference-token"] {
        assert!(get(&t, v, "revocation.exposure_max_s") < 0.1, "{v}");
        assert!(get(&t, v, "revocation.lookups_per_request") >= 1.0, "{v} pays a lookup per request");
    }
    let refresh_s = 10.0;
    assert!(get(&t, "jwt-blocklist-cached", "revocation.exposure_max_s") <= refresh_s + 0.1);
    assert!(get(&t, "jwt-blocklist-cached", "revocation.exposure_mean_s") < refresh_s / 2.0 + think_s);
    assert!(get(&t, "jwt-blocklist-cached", "revocation.lookups_per_request") < 0.01);
    assert!(get(&t, "jwt-only", "revocation.fired") > 700.0);
}

/// Guest carts in server memory are lost on a kill; in the database nothing is lost but
/// most writes serve abandoned carts; in the client nothing is lost and the database is
/// written once per checkout.
#[test]
fn shopping_cart() {
    let t = run("shopping-cart");
    assert!(get(&t, "server-memory", "carts.lost") > 300.0);
    assert!(get(&t, "server-memory", "carts.items_lost") > get(&t, "server-memory", "carts.lost"));
    for v in ["database", "client"] {
        assert_eq!(get(&t, v, "carts.lost"), 0.0, "{v}");
    }
    let wasted = get(&t, "database", "carts.guest_writes_wasted");
    assert!(wasted > 0.4 * get(&t, "database", "database.writes"), "{wasted}");
    assert_eq!(get(&t, "client", "carts.guest_writes_wasted"), 0.0);
    assert_eq!(get(&t, "client", "database.writes"), get(&t, "client", "carts.merges"));
    assert!(get(&t, "client", "carts.merge_conflicts") > 0.0);
}
