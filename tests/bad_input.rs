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
    run_bad_with(c, c.text.as_bytes(), &[]);
}

/// `statesim run FILE --out DIR ARGS...` on `bytes` must exit 2 with every `c.expect` in
/// stderr (FILE stands for the file's path), no panic and no outputs.
fn run_bad_with(c: &Case, bytes: &[u8], args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{}.toml", c.name));
    std::fs::write(&file, bytes).unwrap();
    let out_dir = dir.path().join("out");
    let output = Command::cargo_bin("statesim").unwrap().arg("run").arg(&file).arg("--out").arg(&out_dir).args(args).output().unwrap();
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
        &["FILE:3:9", "clients.users", "a population of 10000000000 users", "at most 4294967295"],
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

// ----- Non-finite numbers and fault schedules -----

#[test]
fn nan_and_infinity_are_refused_where_numbers_are_expected() {
    run_bad(&case(
        "nan-price",
        &format!("{OK_BASE}[autoscaling]\non_demand_per_hour = nan\n"),
        &["FILE:5:22", "autoscaling.on_demand_per_hour", "a price of NaN", "finite"],
    ));
    run_bad(&case("inf-price", &format!("{OK_BASE}[autoscaling]\nspot_per_hour = inf\n"), &["FILE:5:17", "autoscaling.spot_per_hour", "a price of inf"]));
    run_bad(&case("inf-rate", "schema_version = 1\n[clients]\narrival_rate = \"inf/s\"\n", &["FILE:3:16", "clients.arrival_rate", "not finite"]));
    run_bad(&case("nan-share", &format!("{OK_BASE}idempotent_share = nan\n"), &["FILE:4:20", "clients.idempotent_share", "NaN is not a share"]));
    let huge = format!("{OK_BASE}[uploads]\nstore = \"presigned\"\nsize = \"{}KB\"\n", "9".repeat(400));
    run_bad(&case("huge-size", &huge, &["FILE:6:8", "uploads.size", "too large"]));
}

#[test]
fn a_deploy_after_the_end_is_refused() {
    run_bad(&case(
        "late-deploy",
        &format!("{OK_BASE}[autoscaling]\ndeploy = {{ at = \"20m\" }}\n"),
        &["FILE:5:", "autoscaling.deploy.at", "the deploy at 20m", "after the end of the run (10m)"],
    ));
}

#[test]
fn keys_a_fault_does_not_use_are_refused() {
    run_bad(&case(
        "kill-lasting",
        &format!("{OK_BASE}[[faults]]\nat = \"1m\"\nkill = \"server-1\"\nlasting = \"30s\"\n"),
        &["FILE:7:11", "faults[0].lasting", "lasting does nothing in a server kill", "at, kill, restart_after"],
    ));
    run_bad(&case(
        "down-service",
        &format!("{OK_BASE}[sessions]\nstore = \"redis\"\n[[faults]]\nat = \"1m\"\nredis = \"down\"\nlasting = \"10s\"\nservice = \"1ms\"\n"),
        &["FILE:10:11", "faults[0].service", "service does nothing in redis = \"down\""],
    ));
}

#[test]
fn overlapping_faults_on_one_target_are_refused() {
    run_bad(&case(
        "double-kill",
        &format!("{OK_BASE}[[faults]]\nat = \"1m\"\nkill = \"server-1\"\nrestart_after = \"2m\"\n[[faults]]\nat = \"2m\"\nkill = \"server-1\"\n"),
        &["FILE:9:6", "faults[1].at", "on server-1 at 2m overlaps faults[0] (at 1m, lasting until 3m)"],
    ));
    run_bad(&case(
        "double-redis",
        &format!(
            "{OK_BASE}[sessions]\nstore = \"redis\"\n[[faults]]\nat = \"1m\"\nredis = \"down\"\nlasting = \"1m\"\n[[faults]]\nat = \"90s\"\nredis = \"slow\"\nlasting = \"1m\"\nservice = \"1ms\"\n"
        ),
        &["faults[1].at", "on Redis at 1.5m overlaps faults[0] (at 1m, lasting until 2m)"],
    ));
}
