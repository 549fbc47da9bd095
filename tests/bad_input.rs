//! Bad model files: each gets exit code 2, a message naming file, line and column (or
//! the key path) and what would be valid, never a panic, and no outputs.

use assert_cmd::Command;
use std::path::Path;

const OK_BASE: &str = "schema_version = 1\n[clients]\narrival_rate = \"10/s\"\n";

struct Case {
    name: &'static str,
    text: String,
    /// Every one of these must appear in stderr.
    expect: Vec<&'static str>,
}

fn case(name: &'static str, text: &str, expect: &[&'static str]) -> Case {
    Case { name, text: text.to_string(), expect: expect.to_vec() }
}

fn run_bad(c: &Case) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{}.toml", c.name));
    std::fs::write(&file, &c.text).unwrap();
    let out_dir = dir.path().join("out");
    let output = Command::cargo_bin("statesim").unwrap().arg("run").arg(&file).arg("--out").arg(&out_dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}: exit code, stderr:\n{stderr}", c.name);
    assert!(!stderr.contains("panicked"), "{}: panicked:\n{stderr}", c.name);
    for e in &c.expect {
        let e = e.replace("FILE", &file.display().to_string());
        assert!(stderr.contains(&e), "{}: expected {e:?} in:\n{stderr}", c.name);
    }
    assert!(!Path::new(&out_dir).exists(), "{}: outputs were written for a bad model", c.name);
}

#[test]
fn not_toml() {
    run_bad(&case("not-toml", "this is not = = toml\n", &["FILE:1:", "not valid TOML"]));
}

#[test]
fn empty_file() {
    run_bad(&case("empty", "\n  \n", &["the model file is empty", "schema_version = 1"]));
}

#[test]
fn missing_schema_version() {
    run_bad(&case("no-version", "[clients]\narrival_rate = \"10/s\"\n", &["no schema_version", "add `schema_version = 1`"]));
}

#[test]
fn too_new_schema_version() {
    run_bad(&case("too-new", "schema_version = 2\n", &["FILE:1:18", "schema_version 2 is newer", "reads schema_version = 1"]));
}

#[test]
fn unknown_field_suggests_the_nearest_name() {
    run_bad(&case("unknown", &format!("{OK_BASE}[servers]\ncuont = 3\n"), &["FILE:5:1", "unknown key \"cuont\"", "did you mean \"count\"?"]));
}

#[test]
fn wrong_type() {
    run_bad(&case("wrong-type", &format!("{OK_BASE}[servers]\ncount = \"ten\"\n"), &["FILE:5:9", "servers.count", "expected"]));
}

#[test]
fn negative_duration() {
    run_bad(&case("negative", &format!("{OK_BASE}[run]\nduration = \"-5m\"\n"), &["FILE:5:12", "negative", "\"15ms\""]));
}

#[test]
fn unitless_duration() {
    run_bad(&case("unitless", &format!("{OK_BASE}[run]\nduration = 600\n"), &["FILE:5:12", "has no unit", "\"10m\""]));
}

#[test]
fn zero_servers() {
    run_bad(&case("zero-servers", &format!("{OK_BASE}[servers]\ncount = 0\n"), &["FILE:5:9", "servers.count", "there are no servers", "use 1 or more"]));
}

#[test]
fn fault_names_a_server_that_does_not_exist() {
    run_bad(&case(
        "bad-fault",
        &format!("{OK_BASE}[servers]\ncount = 3\n[[faults]]\nat = \"1m\"\nkill = \"server-7\"\n"),
        &["FILE:8:8", "faults[0].kill", "no server called \"server-7\"", "\"server-1\" to \"server-3\""],
    ));
}

#[test]
fn policy_typo() {
    run_bad(&case(
        "typo",
        &format!("{OK_BASE}[load_balancer]\npolicy = \"round-robn\"\n"),
        &["FILE:5:10", "unknown name \"round-robn\"", "did you mean \"round-robin\"?", "\"least-connections\""],
    ));
}

#[test]
fn negative_coefficient_of_variation() {
    run_bad(&case(
        "negative-cv",
        &format!("{OK_BASE}[servers]\nservice = {{ dist = \"lognormal\", mean = \"15ms\", cv = -1.0 }}\n"),
        &["FILE:5:", "servers.service.cv", "negative", "must be >= 0"],
    ));
}

#[test]
fn population_too_large_for_memory() {
    run_bad(&case(
        "huge",
        "schema_version = 1\n[clients]\nusers = 10_000_000_000\nthink_time = \"10s\"\n",
        &["FILE:3:9", "would need about", "GiB", "statesim runs models up to"],
    ));
}

#[test]
fn several_problems_are_all_reported() {
    let text = format!("{OK_BASE}[servers]\ncount = 0\ncores = 0\n[load_balancer]\npolicy = \"ip-hsh\"\n");
    run_bad(&case("several", &text, &["unknown name \"ip-hsh\""]));
    let text = format!("{OK_BASE}[servers]\ncount = 0\ncores = 0\n");
    run_bad(&case("several-semantic", &text, &["FILE:5:9", "FILE:6:9", "2 problems"]));
}

#[test]
fn a_bad_set_value_is_reported_against_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.toml");
    std::fs::write(&file, OK_BASE).unwrap();
    let output = Command::cargo_bin("statesim").unwrap().args(["validate"]).arg(&file).args(["--set", "servers.count=-3"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--set servers.count=-3:1:15"), "{stderr}");
}

#[test]
fn a_missing_file_or_unknown_bundled_name() {
    let output = Command::cargo_bin("statesim").unwrap().args(["run", "load-balansing", "--out", "/nonexistent-dir/x"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("did you mean \"load-balancing\"?"), "{stderr}");
}

#[test]
fn an_overloaded_model_runs_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hot.toml");
    std::fs::write(&file, "schema_version = 1\n[run]\nduration = \"20s\"\n[clients]\narrival_rate = \"500/s\"\n[servers]\ncount = 1\ncores = 1\nservice = \"10ms\"\nqueue_limit = 100\n").unwrap();
    let output = Command::cargo_bin("statesim").unwrap().arg("run").arg(&file).arg("--out").arg(dir.path().join("out")).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning: hot: variant \"base\": the offered load is 500%"), "{stderr}");
    assert!(dir.path().join("out/hot/summary.json").exists());
}

#[test]
fn clap_usage_errors_exit_2() {
    let output = Command::cargo_bin("statesim").unwrap().args(["run", "mm1", "--replications", "many"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}
