//! Long jobs, on `models/long-jobs.toml`: processed in the request they time out for the
//! client while the server keeps working; queued, no job is lost when a worker dies, and
//! some may run twice (at-least-once delivery).

use statesim::scenario::load_file;
use statesim::sweep::{RunOptions, run_and_summarize};
use std::path::Path;

#[test]
fn long_job_claims() {
    let model = load_file(Path::new("models/long-jobs.toml"), &[]).unwrap();
    let (s, runs) = run_and_summarize(&model, &RunOptions::default(), &|| {});
    // The queue's depth over time is in the time series.
    let queue = model.variants.iter().position(|v| v.name == "queue").unwrap();
    let run = &runs[queue][0];
    let depth = run.column(&statesim::metrics::series::JOBS_QUEUED).expect("the job queue registers its depth column");
    assert!(run.series.iter().any(|r| r.parts[depth] > 0.0));
    assert!(run.series.iter().all(|r| r.parts[depth] <= s.variants[queue].metrics["jobs.queue_depth_max"].mean));
    let m = |v: &str, k: &str| s.variants.iter().find(|x| x.name == v).unwrap().metrics[k].mean;

    // In the request: the client gives up at 30 s, the server works on for ~10 minutes.
    assert!(m("in-request", "failed.client_timeout") > 1000.0);
    let done = m("in-request", "jobs.completed");
    assert!(done > 50.0);
    assert_eq!(m("in-request", "jobs.completed_after_client_left"), done, "every result reached no one");
    assert!(m("in-request", "jobs.cpu_wasted_s") > done * 300.0);
    assert!(m("in-request", "servers.threads_held_mean") > 10.0 * m("queue", "servers.threads_held_mean"));
    assert!(m("in-request", "latency_ms.p99") > 10.0 * m("queue", "latency_ms.p99"), "ordinary requests are crowded out");

    // Queued: 202 at once; a worker killed mid-job loses nothing; some jobs run twice.
    assert_eq!(m("queue", "jobs.lost"), 0.0);
    assert!(m("queue", "jobs.completed") > 150.0);
    assert_eq!(m("queue", "jobs.completed_after_client_left"), 0.0);
    assert!(m("queue", "jobs.run_twice") > 0.0, "at-least-once: a job longer than its visibility timeout, or on the killed worker, runs again");
    let p50 = m("queue", "jobs.completion_p50_s");
    assert!((p50 - 600.0).abs() < 90.0, "completion p50 {p50} s: about the job's own 10 minutes");
    assert!(m("queue", "jobs.queue_depth_max") >= 1.0);
    assert!(m("queue", "requests.failed") < 10.0);
}
