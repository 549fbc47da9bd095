//! Autoscaling, spot and deploys, on `models/autoscaling.toml`: scaling on CPU lags a
//! step by about metric period + boot time; spot saves money at the cost of
//! interruptions; a rolling deploy with sessions in server memory loses sessions unless
//! it drains, and shared sessions lose none.

use statesim::scenario::load_file;
use statesim::sweep::{RunOptions, run_and_summarize};
use std::path::Path;

#[test]
fn autoscaling_claims() {
    let model = load_file(Path::new("models/autoscaling.toml"), &[]).unwrap();
    let (s, _) = run_and_summarize(&model, &RunOptions::default(), &|| {});
    let m = |v: &str, k: &str| s.variants.iter().find(|x| x.name == v).unwrap().metrics[k].mean;

    // A fixed fleet too small for the step fails requests; a large one costs double.
    assert!(m("fixed", "failed.overloaded_503") > 10_000.0);
    assert_eq!(m("fixed-large", "requests.failed"), 0.0);
    assert!((m("fixed-large", "fleet.cost_per_hour") - 2.0 * m("fixed", "fleet.cost_per_hour")).abs() < 1e-9);

    // Target tracking catches the step after about metric period (60 s) + boot (90 s),
    // plus up to two health-check intervals; it fails far less than the fixed fleet.
    let lag = m("target-tracking", "fleet.scale_out_lag_s");
    assert!((150.0..=175.0).contains(&lag), "scale-out lag {lag} s");
    assert!(m("target-tracking", "fleet.scale_outs") > 0.0);
    assert!(m("target-tracking", "requests.failed") < 0.2 * m("fixed", "requests.failed"));
    assert!(m("target-tracking", "fleet.cost_per_hour") < m("fixed-large", "fleet.cost_per_hour"));

    // Spot: cheaper, interrupted.
    assert!(m("spot", "fleet.cost_per_hour") < 0.8 * m("target-tracking", "fleet.cost_per_hour"));
    assert!(m("spot", "fleet.spot_interruptions") > 0.0);
    assert!(m("spot", "fleet.spot_share_of_hours") > 0.3);

    // Rolling deploy: cut loses the sessions in memory; draining for the session
    // lifetime loses almost none but is slower; shared sessions lose none and need no drain.
    let cut = m("deploy-memory-cut", "deploy.sessions_lost");
    assert!(cut > 5_000.0, "{cut}");
    assert!(m("deploy-memory-drain", "deploy.sessions_lost") < 0.05 * cut);
    assert!(m("deploy-memory-drain", "deploy.duration_s") > 1.5 * m("deploy-memory-cut", "deploy.duration_s"));
    assert_eq!(m("deploy-shared", "deploy.sessions_lost"), 0.0);
    assert!(m("deploy-shared", "deploy.duration_s") > 0.0);
}
