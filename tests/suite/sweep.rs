//! Sweeps: the same bytes on one thread, two threads, and two merged partitions; an
//! interrupted sweep resumes from its finished points; bad arguments exit 2.

use assert_cmd::Command;
use std::path::Path;

const VARY: [&str; 4] = ["--vary", "servers.count=8,10", "--vary", "clients.proxies=[{users=5000,ips=1}],[{users=10000,ips=1}]"];

fn sweep(out: &Path, extra: &[&str]) -> String {
    let result = Command::cargo_bin("statesim")
        .unwrap()
        .args(["sweep", "mega-proxy", "-r", "3", "--set", "run.duration=\"1m\"", "--set", "run.warmup=\"10s\"", "--quiet", "--out"])
        .arg(out)
        .args(VARY)
        .args(extra)
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    String::from_utf8_lossy(&result.stdout).into_owned()
}

fn files(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let d = dir.join("mega-proxy/sweep");
    (std::fs::read(d.join("sweep.json")).unwrap(), std::fs::read(d.join("sweep.csv")).unwrap())
}

#[test]
fn threads_partitions_and_merge_give_the_same_bytes() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    sweep(one.path(), &["--threads", "1"]);
    sweep(two.path(), &["--threads", "2"]);
    let reference = files(one.path());
    assert!(reference == files(two.path()), "1 thread and 2 threads differ");
    let csv = String::from_utf8(reference.1.clone()).unwrap();
    assert!(csv.starts_with("point,servers.count,clients.proxies,variant,metric,mean,ci95_low,ci95_high,replications\n"));
    assert_eq!(csv.lines().filter(|l| l.contains(",latency_ms.p99,")).count(), 4 * 3, "4 points x 3 variants");

    // Two shares of a job array, each on its own machine, then merged.
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    sweep(a.path(), &["--partition", "1/2"]);
    sweep(b.path(), &["--partition", "2/2"]);
    assert!(!a.path().join("mega-proxy/sweep/sweep.json").exists(), "a share alone does not assemble");
    let merged = tempfile::tempdir().unwrap();
    let out = merged.path().join("mega-proxy/sweep");
    let result = Command::cargo_bin("statesim")
        .unwrap()
        .arg("merge")
        .arg(a.path().join("mega-proxy/sweep"))
        .arg(b.path().join("mega-proxy"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    assert!(reference == files(merged.path()), "merged shares differ from one machine");

    // Three shares of a job array started together on one shared folder (one node: each
    // share briefly holds the folder alone to clean it, and the others wait for that),
    // then merged there.
    let shared = tempfile::tempdir().unwrap();
    let children: Vec<_> = (1..=3)
        .map(|k| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("statesim"))
                .args(["sweep", "mega-proxy", "-r", "3", "--set", "run.duration=\"1m\"", "--set", "run.warmup=\"10s\"", "--quiet", "--out"])
                .arg(shared.path())
                .args(VARY)
                .args(["--partition", &format!("{k}/3")])
                // Each holds the folder alone for 300 ms while it cleans, so the others
                // surely arrive while it does.
                .env("STATESIM_TEST_CLEAN_PAUSE_MS", "300")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let done = child.wait_with_output().unwrap();
        assert!(done.status.success(), "a share on the shared folder: {}", String::from_utf8_lossy(&done.stderr));
    }
    let result = Command::cargo_bin("statesim").unwrap().arg("merge").arg(shared.path().join("mega-proxy/sweep")).output().unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    assert!(reference == files(shared.path()), "shares on one folder differ from one machine");

    // Merging one share alone is refused: points are missing.
    let result = Command::cargo_bin("statesim").unwrap().arg("merge").arg(a.path().join("mega-proxy/sweep")).output().unwrap();
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("are missing"));
}

#[test]
fn an_interrupted_sweep_resumes() {
    let dir = tempfile::tempdir().unwrap();
    sweep(dir.path(), &[]);
    let before = files(dir.path());
    // Lose two finished points (as if the run had stopped before them).
    let points = dir.path().join("mega-proxy/sweep/points");
    std::fs::remove_file(points.join("000001.json")).unwrap();
    std::fs::remove_file(points.join("000003.json")).unwrap();
    let result = Command::cargo_bin("statesim")
        .unwrap()
        .args(["sweep", "mega-proxy", "-r", "3", "--set", "run.duration=\"1m\"", "--set", "run.warmup=\"10s\"", "--out"])
        .arg(dir.path())
        .args(VARY)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(stderr.contains("owns 4 points, 2 already done"), "{stderr}");
    assert!(before == files(dir.path()));
}

#[test]
fn bad_sweep_arguments_exit_2() {
    for args in [
        vec!["sweep", "mega-proxy", "--vary", "servers.count"],
        vec!["sweep", "mega-proxy", "--vary", "servers.count=8..2"],
        vec!["sweep", "mega-proxy", "--vary", "servers.count=4", "--partition", "3/2"],
        vec!["sweep", "mega-proxy", "--vary", "servers.count=4,0"],
        vec!["sweep", "mega-prox", "--vary", "servers.count=4"],
    ] {
        let out = tempfile::tempdir().unwrap();
        let result = Command::cargo_bin("statesim").unwrap().args(&args).arg("--out").arg(out.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!out.path().join("mega-proxy/sweep/points").exists(), "{args:?} ran something");
    }
}
