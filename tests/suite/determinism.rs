//! Same model and seed, same bytes (every output file, charts included): across repeated
//! runs and across thread counts. And
//! variants of one model see the same arrivals (common random numbers).

use assert_cmd::Command;
use statesim::metrics::catalog as c;
use statesim::scenario::load_str;
use statesim::sweep::run_once;

/// load-balancing's 7 variants x 2 replications (14 runs for the threads to share), past
/// its kill at 5 minutes, with a fifth of its users: the order in which runs finish is
/// what varies with the thread count, not how long each one is.
fn run_to(dir: &std::path::Path, threads: &str) {
    let out = Command::cargo_bin("statesim")
        .unwrap()
        .args(["run", "models/load-balancing.toml", "--replications", "2", "--set", "run.duration=\"6m\"", "--set", "clients.users=4000"])
        .args(["--threads", threads, "--quiet", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn outputs_are_byte_identical_whatever_the_thread_count() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    run_to(a.path(), "1");
    run_to(b.path(), "2");
    run_to(c.path(), "2");
    let mut files: Vec<String> =
        std::fs::read_dir(a.path().join("load-balancing")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with(".png")) && files.iter().any(|f| f == "topology.svg"), "{files:?}");
    for file in &files {
        let x = std::fs::read(a.path().join("load-balancing").join(file)).unwrap();
        let y = std::fs::read(b.path().join("load-balancing").join(file)).unwrap();
        let z = std::fs::read(c.path().join("load-balancing").join(file)).unwrap();
        assert!(x == y, "{file} differs between 1 and 2 threads");
        assert!(y == z, "{file} differs between two runs");
    }
}

#[test]
fn the_seed_changes_the_numbers() {
    let text = include_str!("../../models/theory/mm1.toml");
    let a = load_str("mm1.toml", "mm1", text, &["run.duration=\"3h\"".into()]).unwrap();
    let b = load_str("mm1.toml", "mm1", text, &["run.duration=\"3h\"".into(), "run.seed=7".into()]).unwrap();
    let ra = run_once(&a.variants[0].system, 0);
    let rb = run_once(&b.variants[0].system, 0);
    assert_ne!(ra.metrics[c::LATENCY_MS.mean.key], rb.metrics[c::LATENCY_MS.mean.key]);
    let again = run_once(&a.variants[0].system, 0);
    assert_eq!(ra.metrics, again.metrics);
}

/// Two variants that differ only in the routing policy receive exactly the same
/// requests at the same instants, so their difference is the policy alone.
#[test]
fn variants_share_arrivals() {
    let text = r#"
        schema_version = 1
        [run]
        duration = "2m"
        [clients]
        users = 500
        arrival_rate = "300/s"
        [servers]
        count = 3
        cores = 2
        [variants.round-robin]
        [variants.random]
        load_balancer.policy = "random"
        [variants.least-connections]
        load_balancer.policy = "least-connections"
    "#;
    let m = load_str("crn.toml", "crn", text, &[]).unwrap();
    let runs: Vec<_> = m.variants.iter().map(|v| run_once(&v.system, 0)).collect();
    let sent = |i: usize| runs[i].series.iter().map(|r| r.sent).collect::<Vec<_>>();
    assert_eq!(sent(0), sent(1));
    assert_eq!(sent(0), sent(2));
    assert_ne!(runs[0].metrics[c::LATENCY_MS.p99.key], runs[1].metrics[c::LATENCY_MS.p99.key]);
}
