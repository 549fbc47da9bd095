//! Memory flat in simulated time, on the outputs it shapes: a run longer than an hour
//! without `run.timeseries_step` has at most 3600 time-series rows per replication (the
//! step widened to a round one), an explicit step is honoured, and with replications
//! folded as they finish every output is the same bytes on one thread and on two.
//! (Peak memory itself is measured by `cargo bench --bench memory`.)

use assert_cmd::Command;
use std::path::Path;

const MODEL: &str = "schema_version = 1\nname = \"long\"\n[run]\nduration = \"3h\"\nwarmup = \"1m\"\n[clients]\nusers = 200\narrival_rate = \"20/s\"\n[servers]\ncount = 2\ncores = 1\nservice = { dist = \"exponential\", mean = \"20ms\" }\n[[faults]]\nat = \"1h\"\nkill = \"server-1\"\nrestart_after = \"10m\"\n[variants.round-robin]\n[variants.least-connections]\nload_balancer.policy = \"least-connections\"\n";

fn run(file: &Path, out: &Path, threads: &str, sets: &[&str]) {
    let mut cmd = Command::cargo_bin("statesim").unwrap();
    cmd.args(["run"]).arg(file).args(["--replications", "3", "--threads", threads, "--quiet", "--out"]).arg(out);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Rows of `timeseries.csv` per (variant, replication), and the distinct steps between rows.
fn rows(csv: &str) -> (Vec<usize>, Vec<f64>) {
    let mut counts: Vec<((String, String), usize)> = Vec::new();
    let mut steps: Vec<f64> = Vec::new();
    let mut last: Option<f64> = None;
    for line in csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let key = (cells[0].to_string(), cells[1].to_string());
        let t: f64 = cells[2].parse().unwrap();
        match counts.last_mut() {
            Some((k, n)) if *k == key => {
                *n += 1;
                let step = t - last.unwrap();
                if !steps.contains(&step) {
                    steps.push(step);
                }
            }
            _ => counts.push((key, 1)),
        }
        last = Some(t);
    }
    (counts.into_iter().map(|(_, n)| n).collect(), steps)
}

#[test]
fn a_long_run_keeps_at_most_3600_rows_and_the_same_bytes_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long.toml");
    std::fs::write(&file, MODEL).unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    run(&file, &one, "1", &[]);
    run(&file, &two, "2", &[]);
    let mut files: Vec<String> = std::fs::read_dir(one.join("long")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert!(files.contains(&"timeline.svg".to_string()), "{files:?}");
    for f in &files {
        assert!(std::fs::read(one.join("long").join(f)).unwrap() == std::fs::read(two.join("long").join(f)).unwrap(), "{f} differs between 1 and 2 threads");
    }
    // Three hours in steps of 5 s (1 s would be 10,800 rows).
    let csv = std::fs::read_to_string(one.join("long/timeseries.csv")).unwrap();
    let (counts, steps) = rows(&csv);
    assert_eq!(counts, vec![2160; 6], "two variants x three replications");
    assert_eq!(steps, vec![5.0]);
    assert!(csv.lines().skip(1).all(|l| l.split(',').nth(7).unwrap().parse::<f64>().unwrap() > 0.0), "every bucket has a p99");

    // An explicit step is honoured.
    let fine = dir.path().join("fine");
    run(&file, &fine, "2", &["run.timeseries_step=\"1s\"", "run.duration=\"70m\""]);
    let (counts, steps) = rows(&std::fs::read_to_string(fine.join("long/timeseries.csv")).unwrap());
    assert_eq!((counts, steps), (vec![4200; 6], vec![1.0]));
}
