//! Long jobs, on `models/long-jobs.toml`: processed in the request they time out for the
//! client while the server keeps working; queued, no job is lost when a worker dies, and
//! some may run twice (at-least-once delivery).

use statesim::metrics::FailReason;
use statesim::metrics::catalog as c;

#[test]
fn long_job_claims() {
    let s = &crate::shared::bundled("long-jobs").summary;
    // The queue's depth over time is in the time series (replication 0, kept whole).
    let first = crate::shared::first_runs("long-jobs");
    let queue = first.model.variants.iter().position(|v| v.name == "queue").unwrap();
    let run = first.runs.variants[queue].first.as_ref().expect("replication 0 is kept whole");
    let depth = run.column(&statesim::metrics::series::JOBS_QUEUED).expect("the job queue registers its depth column");
    assert!(run.series.iter().any(|r| r.parts[depth] > 0.0));
    assert!(run.series.iter().all(|r| r.parts[depth] <= run.metrics[c::JOBS_QUEUE_DEPTH_MAX.key]));
    let m = |v: &str, k: &str| s.variants.iter().find(|x| x.name == v).unwrap().metrics[k].mean;

    // In the request: the client gives up at 30 s, the server works on for ~10 minutes.
    assert!(m("in-request", c::failed(FailReason::ClientTimeout).key) > 1000.0);
    let done = m("in-request", c::JOBS_COMPLETED.key);
    assert!(done > 50.0);
    assert_eq!(m("in-request", c::JOBS_COMPLETED_AFTER_CLIENT_LEFT.key), done, "every result reached no one");
    assert!(m("in-request", c::JOBS_CPU_WASTED_S.key) > done * 300.0);
    assert!(m("in-request", c::SERVERS_THREADS_HELD_MEAN.key) > 10.0 * m("queue", c::SERVERS_THREADS_HELD_MEAN.key));
    assert!(m("in-request", c::LATENCY_MS.p99.key) > 10.0 * m("queue", c::LATENCY_MS.p99.key), "ordinary requests are crowded out");

    // Queued: 202 at once; a worker killed mid-job loses nothing; some jobs run twice.
    assert_eq!(m("queue", c::JOBS_LOST.key), 0.0);
    assert!(m("queue", c::JOBS_COMPLETED.key) > 150.0);
    assert_eq!(m("queue", c::JOBS_COMPLETED_AFTER_CLIENT_LEFT.key), 0.0);
    assert!(m("queue", c::JOBS_RUN_TWICE.key) > 0.0, "at-least-once: a job longer than its visibility timeout, or on the killed worker, runs again");
    let p50 = m("queue", c::JOBS_COMPLETION_P50_S.key);
    assert!((p50 - 600.0).abs() < 90.0, "completion p50 {p50} s: about the job's own 10 minutes");
    assert!(m("queue", c::JOBS_QUEUE_DEPTH_MAX.key) >= 1.0);
    assert!(m("queue", c::REQUESTS_FAILED.key) < 10.0);
}
