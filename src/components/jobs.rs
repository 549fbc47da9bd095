//! Long jobs: processed inside the request (holding a worker until done, past the
//! client's and the load balancer's timeouts), or accepted with 202 onto a durable
//! queue whose workers pull, process, write the result and acknowledge. A job not
//! acknowledged within its visibility timeout is delivered again, so a killed worker
//! loses nothing, at the price of some jobs run twice.

use super::core::{Core, Kind};
use super::{Ctx, ReqId};
use crate::engine::{RngStreams, SimDuration, SimRng, SimTime};
use crate::metrics::Metrics;
use crate::metrics::catalog::{self, Put};
use crate::metrics::histogram::Latencies;
use crate::metrics::series::{self, ColumnId};
use crate::scenario::model::JobsSpec;
use rand::RngExt;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum JobEvent {
    /// A queue worker finished the job it holds (result written; one job at a time).
    WorkerDone {
        worker: u32,
        epoch: u32,
    },
    /// A delivered job's visibility timeout: if not acknowledged, it is delivered again.
    VisibilityTimeout {
        job: u32,
        delivery: u32,
    },
    WorkerRestarts {
        worker: u32,
    },
}

/// A submitted job.
#[derive(Clone, Copy, Debug)]
struct JobRecord {
    submitted_at: SimTime,
    cpu: SimDuration,
    deliveries: u32,
    done: bool,
}

/// A queue worker.
#[derive(Clone, Copy, Debug)]
struct JobWorker {
    up: bool,
    epoch: u32,
    /// The job it is processing and when it started.
    job: Option<(u32, SimTime)>,
}

pub struct Jobs {
    spec: JobsSpec,
    records: Vec<JobRecord>,
    queue: VecDeque<u32>,
    workers: Vec<JobWorker>,
    submitted: u64,
    accepted: u64,
    completed: u64,
    completed_after_client_left: u64,
    lost_with_server: u64,
    run_twice: u64,
    cpu_wasted_ns: u128,
    /// Time-weighted sum of the queue's depth, and the most seen.
    depth_area: u128,
    depth_since: SimTime,
    depth_max: u64,
    /// Submission-to-result times of completed jobs (counted ones), in ns.
    times: Latencies,
    rng: SimRng,
    /// The time series' queue-depth column.
    depth_column: ColumnId,
}

impl Jobs {
    pub fn new(spec: &JobsSpec, warmup: SimTime, streams: &RngStreams, core: &mut Core) -> Jobs {
        Jobs {
            depth_column: core.rec.register(&series::JOBS_QUEUED),
            spec: spec.clone(),
            records: Vec::new(),
            queue: VecDeque::new(),
            workers: vec![JobWorker { up: true, epoch: 0, job: None }; if spec.queued { spec.workers as usize } else { 0 }],
            submitted: 0,
            accepted: 0,
            completed: 0,
            completed_after_client_left: 0,
            lost_with_server: 0,
            run_twice: 0,
            cpu_wasted_ns: 0,
            depth_area: 0,
            depth_since: warmup,
            depth_max: 0,
            times: Latencies::default(),
            rng: streams.stream("jobs"),
        }
    }

    /// Whether the next request submits a job: its CPU time and what the request itself
    /// costs the server (the job, or only validating and enqueueing it).
    pub fn choose(&mut self, core: &Core, now: SimTime) -> Option<(SimDuration, SimDuration)> {
        if self.rng.random::<f64>() >= self.spec.share {
            return None;
        }
        let job_cpu = self.spec.duration.draw(&mut self.rng);
        if core.rec.counts(now) {
            self.submitted += 1;
        }
        Some((job_cpu, if self.spec.queued { self.spec.accept_cpu } else { job_cpu }))
    }

    /// A job request's CPU is done: in the request, the job itself is done; queued, the
    /// job is now durably enqueued (and the client gets 202).
    pub fn on_request_done(&mut self, core: &mut Core, ctx: &mut Ctx, req: ReqId) {
        let now = ctx.now();
        let r = &core.requests[req];
        let (sent_at, job_cpu, timed_out) = (r.sent_at, r.job_cpu, r.timed_out);
        let counted = core.rec.counts(sent_at);
        if !self.spec.queued {
            if counted {
                self.completed += 1;
                self.times.record(now.since(sent_at).0.max(1));
                if timed_out {
                    // The client left long ago: the result reaches no one.
                    self.completed_after_client_left += 1;
                    self.cpu_wasted_ns += job_cpu.0 as u128;
                }
            }
            return;
        }
        if counted {
            self.accepted += 1;
        }
        self.records.push(JobRecord { submitted_at: sent_at, cpu: job_cpu, deliveries: 0, done: false });
        let job = (self.records.len() - 1) as u32;
        self.note_depth(now);
        self.queue.push_back(job);
        self.depth_max = self.depth_max.max(self.queue.len() as u64);
        self.dispatch(core, ctx);
        core.rec.set(self.depth_column, now, self.queue.len() as f64);
    }

    /// A killed server loses the in-request jobs it was processing.
    pub fn on_server_killed(&mut self, core: &Core, now: SimTime, in_service: &[(ReqId, SimTime)]) {
        if self.spec.queued {
            return;
        }
        for &(req, start) in in_service {
            let r = &core.requests[req];
            if r.kind == Kind::Job && core.rec.counts(r.sent_at) {
                self.lost_with_server += 1;
                self.cpu_wasted_ns += now.since(start).0 as u128;
            }
        }
    }

    /// A fault kills a queue worker; it restarts after a while.
    pub fn kill_worker(&mut self, core: &Core, ctx: &mut Ctx, worker: u32) {
        let now = ctx.now();
        let w = &mut self.workers[worker as usize];
        if w.up {
            w.up = false;
            w.epoch = w.epoch.wrapping_add(1);
            if let Some((job, start)) = w.job.take()
                && self.records[job as usize].submitted_at >= core.rec.warmup_end
            {
                self.cpu_wasted_ns += now.since(start).0 as u128;
            }
            ctx.emit(self.spec.worker_restart, JobEvent::WorkerRestarts { worker });
        }
    }

    /// Accumulates the queue's depth over time (after warm-up).
    fn note_depth(&mut self, now: SimTime) {
        if now > self.depth_since {
            self.depth_area += self.queue.len() as u128 * (now.0 - self.depth_since.0) as u128;
            self.depth_since = now;
        }
    }

    /// Idle workers take visible jobs.
    fn dispatch(&mut self, core: &Core, ctx: &mut Ctx) {
        let now = ctx.now();
        for w in 0..self.workers.len() {
            if self.queue.is_empty() {
                break;
            }
            let worker = self.workers[w];
            if !worker.up || worker.job.is_some() {
                continue;
            }
            self.note_depth(now);
            let job = self.queue.pop_front().expect("non-empty");
            let rec = &mut self.records[job as usize];
            rec.deliveries += 1;
            if rec.deliveries == 2 && rec.submitted_at >= core.rec.warmup_end {
                self.run_twice += 1;
            }
            let (cpu, delivery) = (rec.cpu, rec.deliveries);
            self.workers[w].job = Some((job, now));
            let write = self.spec.result_write.draw(&mut self.rng);
            ctx.emit(cpu + write, JobEvent::WorkerDone { worker: w as u32, epoch: worker.epoch });
            ctx.emit(self.spec.visibility_timeout, JobEvent::VisibilityTimeout { job, delivery });
        }
    }

    pub fn on_event(&mut self, ev: JobEvent, core: &mut Core, ctx: &mut Ctx) {
        let now = ctx.now();
        match ev {
            JobEvent::WorkerDone { worker, epoch } => {
                let w = &mut self.workers[worker as usize];
                if w.epoch != epoch {
                    return; // the worker was killed; the job will be delivered again
                }
                let (job, _) = w.job.take().expect("a worker that finishes holds a job");
                let rec = &mut self.records[job as usize];
                let counted = rec.submitted_at >= core.rec.warmup_end;
                if rec.done {
                    // A second delivery finished work already done (at-least-once).
                    if counted {
                        self.cpu_wasted_ns += rec.cpu.0 as u128;
                    }
                } else {
                    rec.done = true;
                    if counted {
                        self.completed += 1;
                        self.times.record(now.since(rec.submitted_at).0.max(1));
                    }
                }
            }
            JobEvent::VisibilityTimeout { job, delivery } => {
                let rec = &self.records[job as usize];
                if rec.done || rec.deliveries != delivery {
                    return;
                }
                // Not acknowledged in time: visible again, for another worker.
                self.note_depth(now);
                self.queue.push_back(job);
            }
            JobEvent::WorkerRestarts { worker } => self.workers[worker as usize].up = true,
        }
        self.dispatch(core, ctx);
        core.rec.set(self.depth_column, now, self.queue.len() as f64);
    }

    pub fn report(&self, core: &Core, end: SimTime, window_s: f64, m: &mut Metrics) {
        let warmup_end = core.rec.warmup_end;
        let in_progress = if self.spec.queued {
            self.records.iter().filter(|r| !r.done && r.submitted_at >= warmup_end).count() as u64
        } else {
            core.requests.iter().filter(|r| r.live && r.kind == Kind::Job && core.rec.counts(r.sent_at)).count() as u64
        };
        m.put(&catalog::JOBS_SUBMITTED, self.submitted as f64);
        m.put(&catalog::JOBS_ACCEPTED, if self.spec.queued { self.accepted } else { self.submitted } as f64);
        m.put(&catalog::JOBS_COMPLETED, self.completed as f64);
        m.put(&catalog::JOBS_COMPLETED_AFTER_CLIENT_LEFT, self.completed_after_client_left as f64);
        m.put(&catalog::JOBS_IN_PROGRESS_AT_END, in_progress as f64);
        let lost = if self.spec.queued { self.accepted.saturating_sub(self.completed + in_progress) } else { self.lost_with_server };
        m.put(&catalog::JOBS_LOST, lost as f64);
        m.put(&catalog::JOBS_RUN_TWICE, self.run_twice as f64);
        m.put(&catalog::JOBS_CPU_WASTED_S, self.cpu_wasted_ns as f64 / 1e9);
        let times = self.times.to_hdr();
        let q = |p: f64| if times.is_empty() { 0.0 } else { times.value_at_quantile(p) as f64 / 1e9 };
        m.put(&catalog::JOBS_COMPLETION_P50_S, q(0.5));
        m.put(&catalog::JOBS_COMPLETION_P99_S, q(0.99));
        let depth_mean =
            if self.spec.queued { (self.depth_area as f64 + self.queue.len() as f64 * end.since(self.depth_since).0 as f64) / (window_s * 1e9) } else { 0.0 };
        m.put(&catalog::JOBS_QUEUE_DEPTH_MEAN, depth_mean);
        m.put(&catalog::JOBS_QUEUE_DEPTH_MAX, self.depth_max as f64);
        // Workers (threads) held on average across the fleet: sum of utilisation x pool size.
        let held: f64 = core.servers.iter().map(|s| s.workers.utilisation(end) * s.workers.capacity as f64).sum();
        m.put(&catalog::SERVERS_THREADS_HELD_MEAN, held);
    }
}
