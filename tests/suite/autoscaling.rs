//! Autoscaling, spot and deploys, on `models/autoscaling.toml`: scaling on CPU lags a
//! step by about metric period + boot time; spot saves money at the cost of
//! interruptions; a rolling deploy with sessions in server memory loses sessions unless
//! it drains, and shared sessions lose none.

use statesim::metrics::FailReason;
use statesim::metrics::catalog as c;

#[test]
fn autoscaling_claims() {
    let s = crate::shared::bundled("autoscaling");
    let m = |v: &str, k: &str| s.mean(v, k);

    // A fixed fleet too small for the step fails requests; a large one costs double.
    assert!(m("fixed", c::failed(FailReason::Overloaded).key) > 10_000.0);
    assert_eq!(m("fixed-large", c::REQUESTS_FAILED.key), 0.0);
    assert!((m("fixed-large", c::FLEET_COST_PER_HOUR.key) - 2.0 * m("fixed", c::FLEET_COST_PER_HOUR.key)).abs() < 1e-9);

    // Target tracking catches the step after about metric period (60 s) + boot (90 s),
    // plus up to two health-check intervals; it fails far less than the fixed fleet.
    let lag = m("target-tracking", c::FLEET_SCALE_OUT_LAG_S.key);
    assert!((150.0..=175.0).contains(&lag), "scale-out lag {lag} s");
    assert!(m("target-tracking", c::FLEET_SCALE_OUTS.key) > 0.0);
    assert!(m("target-tracking", c::REQUESTS_FAILED.key) < 0.2 * m("fixed", c::REQUESTS_FAILED.key));
    assert!(m("target-tracking", c::FLEET_COST_PER_HOUR.key) < m("fixed-large", c::FLEET_COST_PER_HOUR.key));
    // It holds CPU near its 50% target, over the instances in service (not over the 12
    // slots kept for the largest fleet, most never launched), a little above it for the
    // minutes the step overloads the fleet and a little below once it has caught up.
    for v in ["target-tracking", "spot"] {
        let cpu = m(v, c::SERVERS_CPU_MEAN.key);
        assert!((cpu - 0.5).abs() < 0.05, "{v}: CPU {cpu} against a target of 0.5");
    }

    // Spot: cheaper, interrupted.
    assert!(m("spot", c::FLEET_COST_PER_HOUR.key) < 0.8 * m("target-tracking", c::FLEET_COST_PER_HOUR.key));
    assert!(m("spot", c::FLEET_SPOT_INTERRUPTIONS.key) > 0.0);
    assert!(m("spot", c::FLEET_SPOT_SHARE_OF_HOURS.key) > 0.3);

    // Rolling deploy: cut loses the sessions in memory; draining for the session
    // lifetime loses almost none but is slower; shared sessions lose none and need no drain.
    let cut = m("deploy-memory-cut", c::DEPLOY_SESSIONS_LOST.key);
    assert!(cut > 5_000.0, "{cut}");
    assert!(m("deploy-memory-drain", c::DEPLOY_SESSIONS_LOST.key) < 0.05 * cut);
    assert!(m("deploy-memory-drain", c::DEPLOY_DURATION_S.key) > 1.5 * m("deploy-memory-cut", c::DEPLOY_DURATION_S.key));
    assert_eq!(m("deploy-shared", c::DEPLOY_SESSIONS_LOST.key), 0.0);
    assert!(m("deploy-shared", c::DEPLOY_DURATION_S.key) > 0.0);
    // Over a day's curve the fleet scales out and back in; each instance scaled in takes
    // the files on its disk with it (the playbook's "if server A autoscales down, the
    // image is lost forever"), and the share lost is at most the share of instances ever
    // terminated. In S3 nothing is lost.
    for v in ["scale-in-local-disk", "scale-in-s3"] {
        assert!(m(v, c::FLEET_SCALE_INS.key) > 0.0 && m(v, c::FLEET_SCALE_OUTS.key) > 0.0, "{v} scales out and in");
    }
    let (lost, stored) = (m("scale-in-local-disk", c::FILES_LOST.key), m("scale-in-local-disk", c::FILES_STORED.key));
    assert!(lost > 0.1 * stored && lost < stored, "{lost} of {stored} files lost");
    assert_eq!(m("scale-in-s3", c::FILES_LOST.key), 0.0);
    assert_eq!(m("scale-in-s3", c::READS_NOT_FOUND.key), 0.0);
}

/// A variant that names another load profile or distribution replaces the base's table
/// (whose other keys belong to the old kind) instead of merging into it.
#[test]
fn a_variant_naming_another_kind_replaces_the_table() {
    let text = "schema_version = 1\n[clients]\narrival_rate = \"10/s\"\nprofile = { kind = \"step\", at = \"1m\", factor = 2.0 }\n\
                [servers]\nservice = { dist = \"lognormal\", mean = \"15ms\", cv = 1.0 }\n\
                [variants.daily]\nclients.profile = { kind = \"daily\", period = \"10m\", low = 0.5 }\nservers.service = { dist = \"exponential\", mean = \"10ms\" }\n\
                [variants.steeper]\nclients.profile = { factor = 3.0 }\n";
    let m = statesim::scenario::load_str("kinds.toml", "kinds", text, &[]).unwrap_or_else(|e| panic!("{e}"));
    let daily = &m.variants.iter().find(|v| v.name == "daily").unwrap().system;
    assert!(matches!(daily.clients.profile, Some(statesim::scenario::model::Profile::Daily { .. })));
    assert!((daily.servers.service.mean() - 10e6).abs() < 1.0);
    let steeper = &m.variants.iter().find(|v| v.name == "steeper").unwrap().system;
    assert!(matches!(steeper.clients.profile, Some(statesim::scenario::model::Profile::Step { factor, .. }) if factor == 3.0), "the same kind still merges");
}
