//! Real components on loopback (`--features testbed`): a short crash-test testbed run,
//! and a calibration file that `run --calibration` applies. They need haproxy and
//! redis-server: without them the tests say why they skip, and under CI (CI=true, where
//! .ci/run installs both) they fail instead.
//!
//! `cargo test --release --features testbed --bins --test suite -- testbed` (with
//! `--bins`, the unit test of the testbed's port handling in `src/cli/testbed/procs.rs`).

#[cfg(feature = "testbed")]
mod real {
    use assert_cmd::Command;

    fn installed(program: &str) -> bool {
        std::process::Command::new(program).arg("-v").output().is_ok_and(|o| o.status.success())
    }

    /// Whether the real components are here; skipping is refused under CI.
    fn components_present(test: &str) -> bool {
        let missing: Vec<&str> = ["/usr/sbin/haproxy", "redis-server"].into_iter().filter(|p| !installed(p)).collect();
        if missing.is_empty() {
            return true;
        }
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{test}: {missing:?} missing under CI; .ci/run installs them");
        eprintln!("skipping {test}: {} not installed (apt-get install -y haproxy redis-server)", missing.join(" and "));
        false
    }

    #[test]
    fn a_short_crash_test_testbed_logs_out_the_killed_servers_users_only_when_they_lived_there() {
        if !components_present("the crash-test testbed") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::cargo_bin("statesim").unwrap().args(["testbed", "crash-test", "--quick", "--out"]).arg(dir.path()).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // 0: every target held, 1: some did not (a short run is noisy); never a bad setup.
        assert!(matches!(out.status.code(), Some(0 | 1)), "exit {:?}\n{stdout}\n{stderr}", out.status.code());
        assert!(stdout.contains("targets held"), "{stdout}");
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("comparison.json")).unwrap()).unwrap();
        assert!(dir.path().join("comparison.png").exists());
        let rows = json["rows"].as_array().unwrap();
        let row = |variant: &str, metric: &str| {
            rows.iter().find(|r| r["variant"] == variant && r["metric"] == metric).unwrap_or_else(|| panic!("{variant} {metric}"))
        };
        // Sessions in server memory: the killed server's users are logged out, as predicted;
        // in Redis or a JWT, no one.
        let lost = row("sticky-memory", "sessions.state_lost_users");
        assert!(lost["measured"].as_f64().unwrap() > 0.0, "{lost}");
        assert_eq!(lost["held"], true, "{lost}");
        for v in ["redis", "jwt"] {
            assert_eq!(row(v, "sessions.state_lost_users")["measured"].as_f64(), Some(0.0));
            assert_eq!(row(v, "carts.lost")["measured"].as_f64(), Some(0.0));
        }
        // Nothing it started is left listening: the servers' and HAProxy's ports are free.
        let cfg = std::fs::read_to_string(dir.path().join("haproxy-redis.cfg")).unwrap();
        for port in cfg.lines().filter_map(|l| l.split("127.0.0.1:").nth(1)?.split(' ').next()) {
            assert!(std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(), "something still listens on {port}");
        }
    }

    /// HAProxy's source hash and the simulator's ip-hash are different functions; the
    /// testbed gives each user a source address that HAProxy sends where the simulator's
    /// hash sends that user, so the two compare the same deal of users to servers.
    #[test]
    fn a_quick_mega_proxy_testbed_deals_the_users_as_the_simulator_does() {
        if !components_present("the mega-proxy testbed") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::cargo_bin("statesim").unwrap().args(["testbed", "mega-proxy", "--quick", "--out"]).arg(dir.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(matches!(out.status.code(), Some(0 | 1)), "exit {:?}\n{stderr}", out.status.code());
        let line = stderr.lines().find(|l| l.contains("HAProxy's source hash put")).unwrap_or_else(|| panic!("{stderr}"));
        let numbers: Vec<u64> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
        let (haproxy, simulator) = (numbers[0], numbers[numbers.len() - 1]);
        assert_eq!(haproxy, simulator, "{line}");
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("comparison.json")).unwrap()).unwrap();
        let share =
            json["rows"].as_array().unwrap().iter().find(|r| r["variant"] == "ip-hash-sticky" && r["metric"] == "servers.routed_share_max").unwrap().clone();
        assert_eq!(share["held"], true, "{share}");
    }

    #[test]
    fn a_calibration_file_is_written_and_applied() {
        if !components_present("calibrate") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("calibration.toml");
        let out = Command::cargo_bin("statesim").unwrap().arg("calibrate").arg("--out").arg(&file).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("JWT backend: jsonwebtoken aws-lc-rs"), "{stdout}");
        let text = std::fs::read_to_string(&file).unwrap();
        for key in ["[jwt.hs256]", "[jwt.rs256]", "[jwt.es256]", "[jwt.eddsa]", "[redis]", "round_trip", "service"] {
            assert!(text.contains(key), "{key} in {text}");
        }
        let model = dir.path().join("m.toml");
        std::fs::write(&model, "schema_version = 1\n[run]\nduration = \"1m\"\nwarmup = \"10s\"\nreplications = 1\n[clients]\narrival_rate = \"10/s\"\n[sessions]\nstore = \"jwt\"\n").unwrap();
        let run = Command::cargo_bin("statesim")
            .unwrap()
            .arg("run")
            .arg(&model)
            .arg("--calibration")
            .arg(&file)
            .arg("--out")
            .arg(dir.path().join("out"))
            .arg("--quiet")
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        // The overrides are part of the run's record of its inputs.
        let record = std::fs::read_to_string(dir.path().join("out/m/m.toml")).unwrap();
        assert!(record.contains("jwt.hs256.verify"), "{record}");
    }
}
