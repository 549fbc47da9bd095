//! Whole-model runs of the bundled models (whose texts are the files in `models/`),
//! checking what their stories claim, and the main job end to end.

use assert_cmd::Command;
use statesim::metrics::FailReason;
use statesim::metrics::catalog as c;
use statesim::scenario::load_file;
use std::path::Path;

#[test]
fn load_balancing_story_holds() {
    let s = crate::shared::bundled("load-balancing").table();
    let m = |v: &str, k: &str| s[v][k];
    for v in ["round-robin", "random", "least-connections", "power-of-two", "cookie"] {
        // Only what was on server-3 when it died is hit: at most its 4 workers + queue.
        // Idempotent requests among them are retried elsewhere; the rest fail (502).
        let hit = m(v, c::failed(FailReason::ServerKilled).key) + m(v, c::REQUESTS_RETRIED.key);
        assert!((1.0..=1004.0).contains(&hit), "{v}: {hit}");
        assert!(m(v, c::failed(FailReason::ServerKilled).key) < hit, "{v}: some were retried");
        // Refused connections to the dead server before health checks noticed were
        // retried elsewhere.
        assert_eq!(m(v, c::failed(FailReason::ConnectionRefused).key), 0.0, "{v}");
        assert!(m(v, c::REQUESTS_OK_SHARE.key) > 0.999, "{v}");
    }
    // Queue-aware policies beat blind ones at the tail.
    assert!(m("least-connections", c::LATENCY_MS.p99.key) < m("random", c::LATENCY_MS.p99.key));
    assert!(m("power-of-two", c::LATENCY_MS.p99.key) < m("random", c::LATENCY_MS.p99.key));
    assert!(m("least-connections", c::QUEUE_WAIT_MS.mean.key) < m("round-robin", c::QUEUE_WAIT_MS.mean.key));
    // Hashing by IP pins the NAT group to one server: a hot spot with a huge tail.
    for v in ["ip-hash", "consistent-hash"] {
        assert!(m(v, c::SERVERS_SHARE_MAX.key) > m("round-robin", c::SERVERS_SHARE_MAX.key) + 0.02, "{v}");
        assert!(m(v, c::LATENCY_MS.p99.key) > 10.0 * m("round-robin", c::LATENCY_MS.p99.key), "{v}");
        assert!(m(v, c::failed(FailReason::Overloaded).key) > 0.0, "{v}");
    }
}

/// The main job (run once for the suite, see `shared::main_job`) writes every model's
/// outputs and prints its table, with at least five replications of every model; its
/// replication 0 is the library's (the runs the catalog tests check), number for number.
#[test]
fn the_main_job_writes_every_model() {
    let job = crate::shared::main_job();
    let result = &job.output;
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let stdout = String::from_utf8_lossy(&result.stdout);
    for b in statesim::bundled::MODELS {
        let dir = job.dir.join(b.name);
        let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["model"], b.name);
        assert_eq!(summary["seed"], 42);
        let reps = summary["replications"].as_u64().unwrap();
        assert!(reps >= 5, "{}: {reps} replications; the main job shows every figure with an interval", b.name);
        assert!(summary["variants"][0]["model_hash"].as_str().unwrap().len() == 16);
        assert!(std::fs::read_to_string(dir.join("timeseries.csv")).unwrap().starts_with("variant,replication,t_s,"));
        assert!(std::fs::read_to_string(dir.join("topology.dot")).unwrap().contains("digraph"));
        assert!(stdout.contains(b.name), "no table for {}", b.name);
        // The binary's numbers are the library's: replication 0 run in process.
        let ran = crate::shared::first_runs(b.name);
        assert_eq!(summary["variants"].as_array().unwrap().len(), ran.model.variants.len());
        for (i, (v, kept)) in ran.model.variants.iter().zip(&ran.runs.variants).enumerate() {
            let written = &summary["variants"][i];
            assert_eq!(written["name"], v.name.as_str());
            assert_eq!(written["model_hash"], v.hash.as_str(), "{}/{}", b.name, v.name);
            let first = kept.first.as_ref().expect("replication 0 is kept whole");
            for (key, x) in &first.metrics {
                let values = written["per_replication"][key].as_array().unwrap_or_else(|| panic!("{}/{}: no {key}", b.name, v.name));
                assert_eq!(values.len() as u64, reps);
                let same = match values[0].as_f64() {
                    Some(w) => (w - x).abs() <= 1e-12 * w.abs().max(x.abs()),
                    None => !x.is_finite(),
                };
                assert!(same, "{}/{}: {key} is {} in summary.json's replication 0, {x} in process", b.name, v.name, values[0]);
                assert!(written["metrics"][key]["n"] == reps, "{}/{}: {key}", b.name, v.name);
            }
        }
    }
}

#[test]
fn every_bundled_model_is_in_models_and_validates() {
    for b in statesim::bundled::MODELS.iter().chain(statesim::bundled::THEORY) {
        assert_eq!(std::fs::read_to_string(b.path).unwrap(), b.text);
        load_file(Path::new(b.path), &[]).unwrap();
    }
    let on_disk = std::fs::read_dir("models").unwrap().filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == "toml")).count();
    assert_eq!(on_disk, statesim::bundled::MODELS.len(), "every models/*.toml is bundled");
}

/// Killing a run part-way leaves no half-written output: files appear only by rename.
#[test]
fn an_interrupted_run_leaves_no_partial_file() {
    let out = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("statesim"))
        .args(["run", "models/load-balancing.toml", "--replications", "50", "--quiet", "--out"])
        .arg(out.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    child.kill().unwrap();
    child.wait().unwrap();
    let dir = out.path().join("load-balancing");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "summary.json" {
                serde_json::from_slice::<serde_json::Value>(&std::fs::read(e.path()).unwrap()).expect("complete JSON");
            }
        }
    }
}

/// With replications every metric gets a 95% interval, and each variant its paired
/// difference from the first, printed with whether it is significant.
#[test]
fn replications_give_intervals_and_paired_differences() {
    let out = tempfile::tempdir().unwrap();
    let result = Command::cargo_bin("statesim")
        .unwrap()
        .args(["run", "mega-proxy", "-r", "4", "--set", "run.duration=\"1m\"", "--set", "run.warmup=\"10s\"", "--quiet", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(result.status.success());
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("Paired differences from ip-hash-sticky"), "{stdout}");
    assert!(stdout.contains("round-robin-shared     latency p99, ok responses (ms)"), "{stdout}");
    assert!(stdout.contains("(significant)"), "{stdout}");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.path().join("mega-proxy/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["replications"], 4);
    let p99 = &summary["variants"][1]["metrics"][c::LATENCY_MS.p99.key];
    assert!(p99["ci95"].as_f64().unwrap() > 0.0);
    let diff = &summary["variants"][1]["vs_baseline"][c::LATENCY_MS.p99.key];
    assert!(diff["mean"].as_f64().unwrap() < 0.0 && diff["mean"].as_f64().unwrap().abs() > diff["ci95"].as_f64().unwrap());
}
