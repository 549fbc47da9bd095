//! Peak memory of whole `statesim run` processes: the crash-test model at several
//! simulated durations, side by side.
//!
//! Not a timed test: each run is a child process, and its peak resident set (`ru_maxrss`
//! from `wait4`, the figure `/usr/bin/time -v` prints as "Maximum resident set size") is
//! what is reported, with its wall time and the size of the `timeseries.csv` it wrote.
//! Memory should stay flat in simulated time: the goal is 24 hours with 10 replications
//! under 1 GB, and 4 hours within 30% (+50 MB) of 10 minutes.
//!
//!   cargo bench --bench memory                     10 min, 4 h and 24 h, -r 10 -j 2
//!   cargo bench --bench memory -- --durations 10m,40m,160m,8h -r 1 -j 1
//!   cargo bench --bench memory -- --bin /path/to/statesim   another build (e.g. an older one)
//!   cargo bench --bench memory -- --model load-balancing    another bundled model or file
//!
//! The 24-hour runs take most of the time (about 25 minutes on two idle cores).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

struct Options {
    bin: PathBuf,
    model: String,
    durations: Vec<String>,
    replications: u32,
    threads: u32,
}

fn parse_args() -> Options {
    let mut o = Options {
        bin: PathBuf::from(env!("CARGO_BIN_EXE_statesim")),
        model: "crash-test".into(),
        durations: vec!["10m".into(), "4h".into(), "24h".into()],
        replications: 10,
        threads: 2,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--bin" => o.bin = PathBuf::from(value()),
            "--model" => o.model = value(),
            "--durations" => o.durations = value().split(',').map(str::to_string).collect(),
            "-r" | "--replications" => o.replications = value().parse().expect("-r takes a number"),
            "-j" | "--threads" => o.threads = value().parse().expect("-j takes a number"),
            // cargo bench passes --bench to every bench target.
            "--bench" => {}
            other => panic!("unknown argument {other}; see the top of benches/memory.rs"),
        }
    }
    o
}

/// One finished child: its peak resident set in bytes and its wall time in seconds.
struct Measured {
    peak_rss_bytes: u64,
    wall_s: f64,
    exit: i32,
}

/// Runs `cmd` as a child and reads its own resource usage when it ends.
fn measure(cmd: &mut Command) -> Measured {
    let started = Instant::now();
    // Reaped below by wait4, which std's `Child::wait` cannot replace: only wait4 returns
    // the child's own resource usage.
    #[allow(clippy::zombie_processes)]
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("start statesim");
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value, and wait4 writes both out-parameters
    // for our own child, which nothing else waits for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 on the statesim child");
    let exit = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    // Linux reports ru_maxrss in kilobytes.
    Measured { peak_rss_bytes: usage.ru_maxrss as u64 * 1024, wall_s: started.elapsed().as_secs_f64(), exit }
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn main() {
    let o = parse_args();
    println!("statesim peak memory: `{}` of {}, -r {} -j {}", o.bin.display(), o.model, o.replications, o.threads);
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}\n", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }
    let out = tempfile::tempdir().expect("temporary folder");
    let mut rows = Vec::new();
    for d in &o.durations {
        let dir = out.path().join(d);
        let m = measure(
            Command::new(&o.bin)
                .arg("run")
                .arg(&o.model)
                .args(["--set", &format!("run.duration=\"{d}\"")])
                .args(["-r", &o.replications.to_string(), "-j", &o.threads.to_string()])
                .args(["--budget-events", "1e12", "--quiet", "--out"])
                .arg(&dir),
        );
        let csv = std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| file_size(&e.path().join("timeseries.csv"))).sum::<u64>();
        println!("{d:>8}: peak {:.0} MB, {:.1} s wall, timeseries.csv {:.2} MB, exit {}", mb(m.peak_rss_bytes), m.wall_s, mb(csv), m.exit);
        assert_eq!(m.exit, 0, "statesim run failed for {d}");
        rows.push((d.clone(), m, csv));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let base = rows.first().map_or(0, |(_, m, _)| m.peak_rss_bytes);
    println!("\n| simulated time | peak memory | vs {} | wall time | timeseries.csv |", o.durations.first().map_or("", |d| d.as_str()));
    println!("|---|---:|---:|---:|---:|");
    for (d, m, csv) in &rows {
        println!("| {d} | {:.0} MB | {:.2}x | {:.1} s | {:.2} MB |", mb(m.peak_rss_bytes), m.peak_rss_bytes as f64 / base.max(1) as f64, m.wall_s, mb(*csv));
    }
}
