//! Stale load information, on `models/stale-load.toml`: random routing makes each server
//! an M/M/1 queue (theory: mean wait rho / (mu - lambda)); least connections on live
//! counts beats it, on a snapshot 100 ms or 1 s old it herds and loses to it; two random
//! choices on the 100 ms snapshot beat both. And the new key's error.

use crate::shared::p_value;
use statesim::metrics::catalog as c;
use statesim::scenario::load_str;

#[test]
fn stale_load_claims() {
    let s = crate::shared::bundled("stale-load");
    let m = |v: &str| s.mean(v, c::QUEUE_WAIT_MS.mean.key);
    assert!(m("least-connections") < m("stale-10ms"));
    assert!(m("stale-10ms") < m("random"));
    assert!(m("stale-100ms") > 2.0 * m("random"), "herding: {} vs {}", m("stale-100ms"), m("random"));
    assert!(m("stale-1s") > m("stale-100ms"));
    assert!(m("power-of-two-stale-100ms") < m("random"));
    assert!(m("power-of-two-stale-1s") < m("stale-1s") / 5.0);
    // Herding does not change how much work each server does, only when.
    for v in ["random", "least-connections", "stale-1s", "power-of-two-stale-1s"] {
        let u = s.mean(v, c::SERVERS_UTILISATION_MEAN.key);
        assert!((u - 0.85).abs() < 0.01, "{v}: {u}");
    }
}

/// Random routing splits the Poisson stream into 10 Poisson streams of 85/s, each to one
/// single-worker server of exponential 10 ms: M/M/1 at rho = 0.85, whose mean wait is
/// rho / (mu - lambda) = 0.85 / (100 - 85) s = 56.7 ms. The 95% interval over the
/// replications must not reject it at 1%.
#[test]
fn random_routing_waits_as_m_m_1_predicts() {
    let s = crate::shared::bundled("stale-load");
    let v = s.summary.variants.iter().find(|v| v.name == "random").expect("a random variant");
    let e = &v.metrics[c::QUEUE_WAIT_MS.mean.key];
    let want = 0.85 / (100.0 - 85.0) * 1e3;
    assert!(p_value(e, want) > 0.01, "mean wait {e:?}, M/M/1 {want}");
}

#[test]
fn a_load_snapshot_needs_a_policy_that_reads_load() {
    let text = "schema_version = 1\n[clients]\narrival_rate = \"10/s\"\n[load_balancer]\npolicy = \"round-robin\"\nload_info_period = \"1s\"\n";
    let shown = load_str("bad.toml", "bad", text, &[]).expect_err("round-robin reads no load").to_string();
    assert!(shown.contains("reads no load") && shown.contains("least-connections"), "{shown}");
}

/// Several load balancers, each counting only the connections it opened: every one sees a
/// live quarter of the picture, so there is no herd; least connections lands between one
/// load balancer's live view and random routing.
#[test]
fn several_load_balancers_each_counting_their_own_do_not_herd() {
    let s = crate::shared::bundled("stale-load");
    let wait = |v: &str| s.mean(v, c::QUEUE_WAIT_MS.mean.key);
    let (one, four, random) = (wait("least-connections"), wait("least-connections-4-lbs"), wait("random"));
    assert!(one < four && four < 0.5 * random, "one {one}, four {four}, random {random}");
    assert!(wait("power-of-two-4-lbs") < 0.5 * random);
}

#[test]
fn several_instances_need_a_policy_that_reads_load_and_no_snapshot() {
    for (lb, hint) in [
        ("policy = \"round-robin\"\ninstances = 4", "reads no load"),
        ("policy = \"least-connections\"\ninstances = 4\nload_info_period = \"1s\"", "remove load_info_period"),
        ("policy = \"least-connections\"\ninstances = 0", "use 1 to 64"),
    ] {
        let text = format!("schema_version = 1\n[clients]\narrival_rate = \"10/s\"\n[load_balancer]\n{lb}\n");
        let shown = load_str("bad.toml", "bad", &text, &[]).expect_err(lb).to_string();
        assert!(shown.contains("load_balancer.instances") && shown.contains(hint), "{lb}: {shown}");
    }
}
