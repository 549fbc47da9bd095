//! The load balancer's queue-aware policies on identical servers: every server gets the
//! same share (ties are broken at random, not towards server-1). The power of two's
//! figures against the exact chain are in `theory.rs` (models/theory/power-of-two*.toml).

use crate::shared::{holm, p_value};
use statesim::scenario::load_str;
use statesim::sweep::{RunOptions, run_and_summarize};

/// Seeds of the families below; each runs every variant with its own replications.
const SEEDS: [u64; 3] = [1, 2, 3];
/// Probability that a correct simulator fails a family (Holm, family-wise).
const FAMILY_ALPHA: f64 = 0.01;

/// 10 identical servers of 4 cores at 75% load, nothing killed: nothing tells one server
/// from another, so each must get 1/10 of the requests. Lowest-index tie-breaking gave
/// least connections a staircase in `load-balancing`, from 11.4% of completed requests
/// on server-1 down to 9.0% on server-10.
const IDENTICAL: &str = r#"schema_version = 1
name = "identical"
[run]
duration = "1m"
warmup = "10s"
replications = 8
[clients]
users = 1000
arrival_rate = "2000/s"
[servers]
count = 10
cores = 4
service = { dist = "exponential", mean = "15ms" }
[variants.least-connections]
load_balancer.policy = "least-connections"
[variants.power-of-two]
load_balancer.policy = "power-of-two"
"#;

/// Each server's share of the routed requests (a t-interval over the replications) is
/// 1/n at every seed: one family of 2 variants x 10 servers x 3 seeds under Holm's
/// correction. Ties broken towards the lowest index fail it at every seed: here server-1
/// got 11.2% and server-10 8.7% with least connections (10.6% and 9.3% with power of two),
/// against 95% intervals of about +-0.1%.
#[test]
fn queue_aware_policies_give_identical_servers_equal_shares() {
    let mut tests = Vec::new();
    for seed in SEEDS {
        let model = load_str("identical.toml", "identical", IDENTICAL, &[format!("run.seed={seed}")]).unwrap();
        let (summary, _) = run_and_summarize(&model, &RunOptions::default(), &|| {});
        for v in &summary.variants {
            let n = v.servers.len();
            assert_eq!(n, 10);
            let shares: Vec<String> = v.servers.iter().map(|s| format!("{:.4}", s.routed_share.mean)).collect();
            println!("seed {seed} {:<18} {}", v.name, shares.join(" "));
            for s in &v.servers {
                let e = s.routed_share;
                tests.push((p_value(&e, 1.0 / n as f64), format!("seed {seed}: {} {}: share {:.4} +- {:.4}", v.name, s.name, e.mean, e.ci95.unwrap())));
            }
        }
    }
    let rejected = holm(&tests, FAMILY_ALPHA);
    assert!(rejected.is_empty(), "shares not 1/n at family-wise level {FAMILY_ALPHA} (Holm over {} tests): {rejected:#?}", tests.len());
}
