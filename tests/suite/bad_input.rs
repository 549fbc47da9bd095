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

// ----- Names, non-finite numbers, budgets, fault schedules, --set, located messages -----

fn named(value: &str) -> String {
    format!("schema_version = 1\nname = {value}\n[clients]\narrival_rate = \"10/s\"\n")
}

#[test]
fn a_name_must_be_a_safe_file_name() {
    for (label, value, what) in [
        ("dotdot", "\"../x\"", "contains '/'"),
        ("absolute", "\"/tmp/x\"", "contains '/'"),
        ("empty", "\"\"", "is empty"),
        ("nul", "\"a\\u0000b\"", "contains '\\0'"),
        ("dots", "\"..\"", "does not start with a letter or digit"),
    ] {
        run_bad(&case(label, &named(value), &["FILE:2:8", "(at name)", what, "1 to 64 characters"]));
    }
    let long = format!("\"{}\"", "a".repeat(1 << 20));
    run_bad(&case("long", &named(&long), &["FILE:2:8", "(at name)", "is 1048576 bytes long"]));
    run_bad_with(&case("set-name", OK_BASE, &["--set name=../x:1:6", "contains '/'"]), OK_BASE.as_bytes(), &["--set", "name=../x"]);
    let with_more = format!("{}[servers]\ncount = 0\n", named("\"../x\""));
    run_bad(&case("name-and-more", &with_more, &["FILE:2:8", "FILE:6:9", "2 problems"]));
}

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
fn absurd_rates_are_refused_before_running() {
    let over = "over the budget of 1.0e9 events per run";
    run_bad(&case("rate-1e6", "schema_version = 1\n[clients]\narrival_rate = \"1e6/s\"\n", &["FILE:3:16", "clients.arrival_rate", over, "--budget-events"]));
    run_bad(&case("rate-1e300", "schema_version = 1\n[clients]\narrival_rate = \"1e300/s\"\n", &["FILE:3:16", "more than a century", "--budget-events"]));
    run_bad(&case("abuser", &format!("{OK_BASE}abuser = {{ rate = \"1e9/s\" }}\n"), &["FILE:4:", "clients.abuser.rate", over]));
    run_bad(&case(
        "firing",
        &format!("{OK_BASE}[sessions]\nstore = \"redis\"\n[revocation]\nfire_rate = \"1e7/s\"\n"),
        &["FILE:7:13", "revocation.fire_rate", over],
    ));
    run_bad(&case(
        "messages",
        &format!("{OK_BASE}[websockets]\nmode = \"local\"\nmessage_rate = \"1e6/s\"\n"),
        &["FILE:6:16", "websockets.message_rate", over],
    ));
    run_bad(&case(
        "probes",
        &format!("{OK_BASE}[load_balancer]\nhealth_check = {{ interval = \"1ns\" }}\n"),
        &["FILE:5:", "load_balancer.health_check.interval", over, "lengthen load_balancer.health_check.interval"],
    ));
}

#[test]
fn absurd_memory_is_refused_before_running() {
    let users = "schema_version = 1\n[clients]\nusers = 100_000_000\nthink_time = \"1h\"\n";
    run_bad(&case("users-100m", users, &["FILE:3:9", "clients.users", "about 9.6GB of memory", "over the budget of 8.0GB", "--budget-memory 9.7GB"]));
    let queue = "schema_version = 1\n[clients]\narrival_rate = \"1000000/s\"\ntimeout = \"off\"\n[servers]\ncount = 1\ncores = 1\nservice = \"1ms\"\nqueue_limit = 100_000_000\n";
    run_bad_with(
        &case("queue-100m", queue, &["FILE:9:15", "servers.queue_limit", "1.0e8 requests queued", "--budget-memory"]),
        queue.as_bytes(),
        &["--budget-events", "1e12"],
    );
    let closed = "schema_version = 1\n[clients]\nusers = 50_000_000\nthink_time = \"1h\"\n[servers]\ncount = 1\ncores = 1\nqueue_limit = 100_000_000\n";
    run_bad(&case("queue-closed", closed, &["FILE:8:15", "servers.queue_limit", "5.0e7 requests queued"]));
}

#[test]
fn the_budget_can_be_raised() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.toml");
    std::fs::write(&file, "schema_version = 1\n[clients]\narrival_rate = \"1e6/s\"\n").unwrap();
    let validate = |args: &[&str]| Command::cargo_bin("statesim").unwrap().arg("validate").arg(&file).args(args).output().unwrap();
    assert_eq!(validate(&[]).status.code(), Some(2));
    let output = validate(&["--budget-events", "1e10"]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let output = validate(&["--budget-events", "many"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a number of events"));
}

#[test]
fn the_benchmark_inputs_fit_the_default_budget() {
    use statesim::scenario::load_str;
    let mm1 = statesim::bundled::find("mm1").unwrap();
    let sets: Vec<String> = ["clients.arrival_rate=\"0.9/s\"", "run.max_requests=1000000", "run.warmup=\"0s\"", "run.duration=\"100d\"", "run.replications=1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    load_str(mm1.path, mm1.name, mm1.text, &sets).unwrap();
    let closed = "schema_version = 1\nname = \"timers\"\n[run]\nduration = \"150s\"\nwarmup = \"0s\"\ntimeseries_step = \"10s\"\n[clients]\nusers = 1000000\nthink_time = { dist = \"exponential\", mean = \"100s\" }\ntimeout = \"off\"\n[network]\nclient_to_lb = \"0s\"\nlb_to_server = \"0s\"\n[load_balancer]\nlatency = \"0s\"\nhealth_check = { enabled = false }\n[servers]\ncount = 10\ncores = 4\nservice = { dist = \"exponential\", mean = \"1ms\" }\nqueue_limit = 1_000_000\n";
    load_str("timers.toml", "timers", closed, &[]).unwrap();
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

#[test]
fn set_cannot_create_a_variant_or_change_the_version() {
    let text = format!("{OK_BASE}[variants.sticky]\nload_balancer.policy = \"cookie\"\n[variants.plain]\n");
    run_bad_with(
        &case("set-typo", &text, &["--set variants.stiky.servers.count=2:1:1", "no variant called \"stiky\"", "did you mean \"sticky\"?", "\"plain\""]),
        text.as_bytes(),
        &["--set", "variants.stiky.servers.count=2"],
    );
    run_bad_with(&case("set-version", OK_BASE, &["--set schema_version=2", "cannot be overridden"]), OK_BASE.as_bytes(), &["--set", "schema_version=2"]);
}

#[test]
fn invalid_utf8_is_located() {
    let mut bytes = format!("{OK_BASE}# caf").into_bytes();
    bytes.extend_from_slice(b"\xE9\n");
    run_bad_with(&case("latin1", "", &["FILE:4:6", "not valid UTF-8", "0xE9"]), &bytes, &[]);
}

#[test]
fn a_deeply_nested_key_is_located() {
    let dotted = format!("{OK_BASE}{} = 1\n", vec!["a"; 300].join("."));
    run_bad(&case("deep-key", &dotted, &["FILE:4:1", "nested too deeply"]));
    let header = format!("{OK_BASE}[{}]\nx = 1\n", vec!["a"; 300].join("."));
    run_bad(&case("deep-header", &header, &["FILE:4:1", "nested too deeply"]));
}

#[test]
fn a_name_of_the_wrong_type_lists_the_valid_names() {
    run_bad(&case(
        "policy-5",
        &format!("{OK_BASE}[load_balancer]\npolicy = 5\n"),
        &["FILE:5:10", "load_balancer.policy", "\"round-robin\"", "\"least-connections\"", "\"cookie\""],
    ));
}

#[test]
fn an_unknown_key_in_a_variant_fault_keeps_the_variant_prefix() {
    run_bad(&case(
        "variant-fault",
        &format!("{OK_BASE}[variants.a]\nfaults = [{{ at = \"1m\", kil = \"server-1\" }}]\n"),
        &["FILE:5:24", "variants.a.faults[0].kil", "did you mean \"kill\"?"],
    ));
}

#[test]
fn a_variant_cannot_change_the_version_or_the_name() {
    run_bad(&case(
        "variant-version",
        &format!("{OK_BASE}[variants.a]\nschema_version = 2\nname = \"other\"\nservers.count = 0\n"),
        &["FILE:5:18", "variants.a.schema_version", "FILE:6:8", "variants.a.name", "cannot change the model's name", "there are no servers", "3 problems"],
    ));
}

#[test]
fn choices_without_power_of_two_is_located() {
    run_bad(&case(
        "choices",
        &format!("{OK_BASE}[load_balancer]\npolicy = \"random\"\nchoices = \"independent\"\n"),
        &["FILE:6:11", "load_balancer.choices", "with policy \"random\"", "power-of-two"],
    ));
    run_bad(&case("choices-name", &format!("{OK_BASE}[load_balancer]\nchoices = \"distinc\"\n"), &["FILE:5:11", "did you mean \"distinct\"?"]));
}

#[test]
fn gateway_faults_and_counts_are_located() {
    let ws = "[websockets]\nmode = \"pubsub\"\n";
    run_bad(&case(
        "no-gateway",
        &format!("{OK_BASE}{ws}[[faults]]\nat = \"1m\"\nkill = \"gateway-1\"\n"),
        &["FILE:8:8", "faults[0].kill", "no gateway called \"gateway-1\"", "websockets.mode = \"gateway\""],
    ));
    run_bad(&case(
        "gateway-3",
        &format!("{OK_BASE}[websockets]\nmode = \"gateway\"\n[[faults]]\nat = \"1m\"\nkill = \"gateway-3\"\n"),
        &["FILE:8:8", "\"gateway-1\" to \"gateway-2\""],
    ));
    run_bad(&case("gateways-pubsub", &format!("{OK_BASE}{ws}gateways = 3\n"), &["FILE:6:12", "websockets.gateways", "mode = \"gateway\""]));
    run_bad(&case("gateways-0", &format!("{OK_BASE}[websockets]\nmode = \"gateway\"\ngateways = 0\n"), &["FILE:6:12", "0 gateways"]));
}

#[test]
fn state_tier_keys_need_what_they_act_on() {
    run_bad(&case(
        "lag-without-replica",
        &format!("{OK_BASE}[redis]\nreplication_lag = \"50ms\"\n"),
        &["FILE:5:19", "redis.replication_lag", "a replication lag with no replica", "set redis.replication = \"async\" (or \"sync\")"],
    ));
    run_bad(&case(
        "read-from-without-replicas",
        &format!("{OK_BASE}[database]\nread_from = \"primary-after-write\"\n"),
        &["FILE:5:13", "database.read_from", "read_from with no read replicas", "set database.read_replicas to 1 or more"],
    ));
    run_bad(&case(
        "page-reads-without-database-carts",
        &format!("{OK_BASE}[carts]\nstore = \"server-memory\"\npage_reads = true\n"),
        &["FILE:6:14", "carts.page_reads", "carts are not kept there", "set carts.store = \"database\""],
    ));
    run_bad(&case(
        "redis-primary-restart",
        &format!("{OK_BASE}[redis]\nreplication = \"async\"\n[[faults]]\nat = \"1m\"\nkill = \"redis-primary\"\nrestart_after = \"10s\"\n"),
        &["FILE:9:17", "faults[0].restart_after", "restart_after does nothing in a Redis primary kill", "this kind of fault uses at, kill"],
    ));
    run_bad(&case(
        "replication-typo",
        &format!("{OK_BASE}[redis]\nreplication = \"asynchronous\"\n"),
        &["FILE:5:15", "redis.replication", "none", "async", "sync"],
    ));
}

#[test]
fn health_check_timeout_and_replace_are_located() {
    run_bad(&case(
        "zero-probe-timeout",
        &format!("{OK_BASE}[load_balancer]\nhealth_check = {{ timeout = \"0s\" }}\n"),
        &["FILE:5:", "load_balancer.health_check.timeout", "a zero timeout fails every probe", "\"off\""],
    ));
    run_bad(&case(
        "replace-without-health-checks",
        &format!("{OK_BASE}[load_balancer]\nhealth_check = {{ enabled = false, replace = true }}\n"),
        &["FILE:5:", "load_balancer.health_check.replace", "with health checks off does nothing", "enabled = true"],
    ));
    run_bad(&case(
        "probe-timeout-not-a-duration",
        &format!("{OK_BASE}[load_balancer]\nhealth_check = {{ timeout = \"soon\" }}\n"),
        &["FILE:5:", "load_balancer.health_check.timeout", "\"off\""],
    ));
    run_bad(&case(
        "replace-not-a-bool",
        &format!("{OK_BASE}[load_balancer]\nhealth_check = {{ replace = \"yes\" }}\n"),
        &["FILE:5:", "load_balancer.health_check.replace", "expected"],
    ));
}

#[test]
fn per_user_channels_need_pubsub() {
    run_bad(&case(
        "channels-without-pubsub",
        &format!("{OK_BASE}[websockets]\nmode = \"local\"\nchannels = \"per-user\"\n"),
        &["FILE:6:12", "websockets.channels", "per-user channels with mode \"local\"", "use mode = \"pubsub\""],
    ));
    run_bad(&case(
        "channels-typo",
        &format!("{OK_BASE}[websockets]\nmode = \"pubsub\"\nchannels = \"per-room\"\n"),
        &["FILE:6:12", "websockets.channels", "broadcast", "per-user"],
    ));
}
