//! Outputs appear whole or not at all: the real binary is killed (SIGKILL, SIGTERM,
//! SIGINT) during its write phase, and the output folder is checked: no partial model
//! folder, the previous outputs intact, no temporaries after the next run. A second run
//! into the same folder is refused; a corrupt sweep point file is named.
//!
//! The write phase is made long with the writer's test hook `STATESIM_TEST_WRITE_PAUSE_MS`
//! (a pause after each staged file and between the two renames of a swap); the tests detect
//! it by watching the output folder change, not by the hook's names, so they also run
//! against another build: `STATESIM_TEST_BIN=/path/to/statesim cargo test --test suite outputs::`.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

const LOCK: &str = ".statesim.lock";

fn bin() -> PathBuf {
    std::env::var_os("STATESIM_TEST_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_statesim")), PathBuf::from)
}

/// `statesim run MODEL` at `seed` into `out`. crash-test runs with a tenth of its users:
/// what is checked is the write phase, which is the same, not the simulation.
fn command(out: &Path, model: &str, seed: u64) -> Command {
    let mut c = Command::new(bin());
    c.args(["run", model, "-r", "1", "--quiet", "--format", "json", "--seed", &seed.to_string(), "--out"]).arg(out);
    if model == "crash-test" {
        c.args(["--set", "clients.users=2000"]);
    }
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn run(out: &Path, model: &str, seed: u64) -> Output {
    command(out, model, seed).output().unwrap()
}

fn run_ok(out: &Path, model: &str, seed: u64) {
    let o = run(out, model, seed);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A run whose writer pauses 200 ms after each file.
fn start_slow(out: &Path, seed: u64) -> Child {
    command(out, "crash-test", seed).env("STATESIM_TEST_WRITE_PAUSE_MS", "200").spawn().unwrap()
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        f(&p);
        if p.is_dir() {
            walk(&p, f);
        }
    }
}

/// Every file's bytes under `dir`, by relative path.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut m = BTreeMap::new();
    walk(dir, &mut |p| {
        if p.is_file() {
            m.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(p).unwrap_or_default());
        }
    });
    m
}

/// Every entry under `dir` but the lock file, with size and modification time.
fn listing(dir: &Path) -> BTreeMap<PathBuf, (u64, Option<SystemTime>)> {
    let mut m = BTreeMap::new();
    walk(dir, &mut |p| {
        if p.file_name().is_some_and(|n| n != LOCK)
            && let Ok(meta) = p.symlink_metadata()
        {
            m.insert(p.to_path_buf(), (meta.len(), meta.modified().ok()));
        }
    });
    m
}

/// Hidden entries under `dir` (temporaries), the lock file aside.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    walk(dir, &mut |p| {
        let name = p.file_name().unwrap().to_string_lossy();
        if name.starts_with('.') && name != LOCK {
            v.push(p.to_path_buf());
        }
    });
    v
}

/// Polls until `ready` holds; panics if the child ends first or after a minute.
fn wait_until(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before {what}");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A slow run of crash-test, returned once it is writing: anything in `out` changed.
fn writing(out: &Path, seed: u64) -> Child {
    let mut child = start_slow(out, seed);
    let before = listing(out);
    wait_until(&mut child, "the write phase", || listing(out) != before);
    child
}

fn kill_9(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A complete earlier run of crash-test into `out`: its model folder's files.
fn previous(out: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    run_ok(out, "crash-test", 1);
    contents(&out.join("crash-test"))
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: sends a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

fn a_complete_model_folder(dir: &Path) {
    let files = contents(dir);
    for f in ["summary.json", "timeseries.csv", "topology.dot", "topology.svg", "topology.png", "variants.svg", "variants.png", "timeline.svg", "timeline.png"]
    {
        assert!(files.contains_key(Path::new(f)), "{f} missing from {}: {:?}", dir.display(), files.keys().collect::<Vec<_>>());
    }
}

#[test]
fn killed_during_a_first_write_no_model_folder_appears() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path();
    kill_9(writing(out, 1));
    assert!(!out.join("crash-test").exists(), "a partial model folder: {:?}", contents(&out.join("crash-test")).keys().collect::<Vec<_>>());
    assert!(!out.join("index.html").exists());

    run_ok(out, "crash-test", 1);
    a_complete_model_folder(&out.join("crash-test"));
    assert!(out.join("index.html").exists());
    assert_eq!(leftovers(out), Vec::<PathBuf>::new(), "temporaries left after the next run");
}

#[test]
fn a_killed_rewrite_leaves_the_previous_outputs_whole() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path();
    let before = previous(out);
    let index = std::fs::read(out.join("index.html")).unwrap();
    kill_9(writing(out, 2));
    let after = contents(&out.join("crash-test"));
    let changed: Vec<_> = before.keys().chain(after.keys()).filter(|p| after.get(*p) != before.get(*p)).collect();
    assert!(changed.is_empty(), "the killed rewrite changed {changed:?}");
    assert_eq!(std::fs::read(out.join("index.html")).unwrap(), index);

    // The next run (of another model) removes the temporaries and leaves crash-test alone.
    run_ok(out, "mm1", 1);
    assert_eq!(leftovers(out), Vec::<PathBuf>::new());
    assert!(contents(&out.join("crash-test")) == before);
}

#[test]
fn killed_between_the_two_renames_the_next_run_puts_the_old_folder_back() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path();
    let before = previous(out);
    let mut child = start_slow(out, 2);
    // The old folder has been moved aside and the new one not yet moved in.
    wait_until(&mut child, "the swap", || !out.join("crash-test").exists());
    kill_9(child);

    run_ok(out, "mm1", 1);
    assert!(contents(&out.join("crash-test")) == before, "the old outputs were not put back whole");
    assert_eq!(leftovers(out), Vec::<PathBuf>::new());
}

#[test]
fn sigterm_and_sigint_remove_the_temporaries_and_exit_143_and_130() {
    for (sig, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let out = tempfile::tempdir().unwrap();
        let out = out.path();
        let before = previous(out);
        let mut child = writing(out, 2);
        signal(&child, sig);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "signal {sig}: {status}");
        assert_eq!(leftovers(out), Vec::<PathBuf>::new(), "signal {sig} left temporaries");
        assert!(contents(&out.join("crash-test")) == before, "signal {sig} changed the previous outputs");
    }
}

#[test]
fn a_second_run_into_the_same_folder_is_refused() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path();
    let first = writing(out, 1);
    let second = run(out, "crash-test", 2);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&out.display().to_string()) && stderr.contains(&format!("PID {}", first.id())), "{stderr}");
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = std::fs::read_to_string(out.join("crash-test/summary.json")).unwrap();
    assert!(summary.contains("\"seed\": 1"), "the first run's outputs, whole");
}

#[test]
fn a_corrupt_point_file_is_named() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path();
    let sweep = || {
        Command::new(bin())
            .args([
                "sweep",
                "mega-proxy",
                "-r",
                "1",
                "--set",
                "run.duration=\"1m\"",
                "--set",
                "run.warmup=\"10s\"",
                "--quiet",
                "--vary",
                "servers.count=8,10",
                "--out",
            ])
            .arg(out)
            .output()
            .unwrap()
    };
    assert!(sweep().status.success());
    let point = out.join("mega-proxy/sweep/points/000001.json");
    let text = std::fs::read(&point).unwrap();
    std::fs::write(&point, &text[..text.len() / 2]).unwrap();

    let merged = Command::new(bin()).arg("merge").arg(out.join("mega-proxy/sweep")).arg("--quiet").output().unwrap();
    let stderr = String::from_utf8_lossy(&merged.stderr);
    assert_eq!(merged.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&point.display().to_string()) && !stderr.contains("missing"), "{stderr}");

    let resumed = sweep();
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success() && stderr.contains(&point.display().to_string()), "{stderr}");
    assert_eq!(std::fs::read(&point).unwrap(), text, "the point is run again");
}
