//! The runs behind `statesim serve`: a bounded queue in front of a few worker threads.
//!
//! A run is a whole model (every variant x replication) on the real engine, exactly as
//! `statesim run` does it; its replications share one rayon pool whose threads run at a
//! lower priority, so the web server stays quick while the cores are busy. A full queue
//! refuses new runs (the caller answers 503). Finished runs are kept in memory, the last
//! few only; nothing is written to disk.

use statesim::metrics::{KeptRuns, ModelSummary};
use statesim::scenario::Model;
use statesim::sweep::{RunOptions, run_and_summarize_cancellable, run_count};
use std::collections::{BTreeMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::watch;

/// What the finished runs of a model are turned into (the JSON the page shows).
pub type Render = dyn Fn(&Model, &ModelSummary, &KeptRuns) -> Result<String, String> + Send + Sync;

#[derive(Clone, Debug, PartialEq)]
pub enum State {
    Queued,
    Running,
    Done,
    Failed(String),
    Cancelled,
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Done => "done",
            State::Failed(_) => "failed",
            State::Cancelled => "cancelled",
        }
    }
    fn finished(&self) -> bool {
        matches!(self, State::Done | State::Failed(_) | State::Cancelled)
    }
}

/// One run request: a validated model, its progress and, once done, its result.
pub struct Job {
    pub id: u64,
    pub model_name: String,
    pub sets: Vec<String>,
    /// Runs (variant x replication) in all, and done so far.
    pub total: u64,
    pub done: AtomicU64,
    cancel: AtomicBool,
    model: Mutex<Option<Model>>,
    state: Mutex<(State, Option<Arc<String>>)>,
    /// Bumped at every change, so a client can wait for the next one.
    version: watch::Sender<u64>,
}

impl Job {
    fn lock(&self) -> MutexGuard<'_, (State, Option<Arc<String>>)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn state(&self) -> State {
        self.lock().0.clone()
    }
    /// The rendered result, once done.
    pub fn result(&self) -> Option<Arc<String>> {
        self.lock().1.clone()
    }
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
    pub fn version(&self) -> u64 {
        *self.version.borrow()
    }
    fn bump(&self) {
        self.version.send_modify(|v| *v += 1);
    }
    fn set(&self, state: State, result: Option<Arc<String>>) {
        *self.lock() = (state, result);
        self.bump();
    }
}

/// The queue was full.
pub struct Full {
    pub waiting: usize,
}

struct Shared {
    queue: VecDeque<Arc<Job>>,
    jobs: BTreeMap<u64, Arc<Job>>,
    finished: VecDeque<u64>,
    next_id: u64,
}

pub struct Pool {
    shared: Mutex<Shared>,
    wake: Condvar,
    queue_limit: usize,
    kept: usize,
    render: Box<Render>,
}

impl Pool {
    /// Starts `workers` threads taking runs from a queue of at most `queue_limit` waiting
    /// runs; keeps the last `kept` finished runs.
    pub fn start(workers: usize, queue_limit: usize, kept: usize, render: Box<Render>) -> Arc<Pool> {
        let pool = Arc::new(Pool {
            shared: Mutex::new(Shared { queue: VecDeque::new(), jobs: BTreeMap::new(), finished: VecDeque::new(), next_id: 1 }),
            wake: Condvar::new(),
            queue_limit,
            kept,
            render,
        });
        // The simulations' threads yield to the web server's.
        let threads = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("serve-sim-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .map(Arc::new)
            .expect("a thread pool for the runs");
        for w in 0..workers.max(1) {
            let (pool, threads) = (Arc::clone(&pool), Arc::clone(&threads));
            std::thread::Builder::new().name(format!("serve-worker-{w}")).spawn(move || pool.work(&threads)).expect("a worker thread");
        }
        pool
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a run of `model`, or refuses it when the queue is full.
    pub fn submit(&self, model: Model, sets: Vec<String>) -> Result<Arc<Job>, Full> {
        let mut s = self.lock();
        if s.queue.len() >= self.queue_limit {
            return Err(Full { waiting: s.queue.len() });
        }
        let id = s.next_id;
        s.next_id += 1;
        let job = Arc::new(Job {
            id,
            model_name: model.name.clone(),
            sets,
            total: run_count(&model, &RunOptions::default()),
            done: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
            model: Mutex::new(Some(model)),
            state: Mutex::new((State::Queued, None)),
            version: watch::Sender::new(0),
        });
        s.queue.push_back(Arc::clone(&job));
        s.jobs.insert(id, Arc::clone(&job));
        drop(s);
        self.wake.notify_one();
        Ok(job)
    }

    pub fn get(&self, id: u64) -> Option<Arc<Job>> {
        self.lock().jobs.get(&id).cloned()
    }

    /// Where a queued run stands in the queue (0: next).
    pub fn position(&self, id: u64) -> Option<usize> {
        self.lock().queue.iter().position(|j| j.id == id)
    }

    /// Cancels a run: a queued one at once, a running one between two replications.
    pub fn cancel(&self, id: u64) -> Option<Arc<Job>> {
        let mut s = self.lock();
        let job = s.jobs.get(&id).cloned()?;
        job.cancel.store(true, Ordering::Relaxed);
        if let Some(i) = s.queue.iter().position(|j| j.id == id) {
            s.queue.remove(i);
            job.model.lock().unwrap_or_else(|e| e.into_inner()).take();
            job.set(State::Cancelled, None);
            self.forget_old(&mut s, id);
        }
        Some(job)
    }

    /// Records `id` as finished and drops the oldest finished runs beyond the kept number.
    fn forget_old(&self, s: &mut Shared, id: u64) {
        s.finished.push_back(id);
        while s.finished.len() > self.kept {
            if let Some(old) = s.finished.pop_front() {
                s.jobs.remove(&old);
            }
        }
    }

    fn work(&self, threads: &rayon::ThreadPool) {
        loop {
            let job = {
                let mut s = self.lock();
                loop {
                    if let Some(job) = s.queue.pop_front() {
                        break job;
                    }
                    s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner());
                }
            };
            let Some(model) = job.model.lock().unwrap_or_else(|e| e.into_inner()).take() else { continue };
            job.set(State::Running, None);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let tick = || {
                    job.done.fetch_add(1, Ordering::Relaxed);
                    job.bump();
                };
                let ran = threads.install(|| run_and_summarize_cancellable(&model, &RunOptions::default(), &tick, &job.cancel));
                ran.map(|(summary, runs)| (self.render)(&model, &summary, &runs))
            }));
            let (state, result) = match outcome {
                Ok(Some(Ok(json))) => (State::Done, Some(Arc::new(json))),
                Ok(Some(Err(e))) => (State::Failed(format!("error: cannot draw the results: {e}")), None),
                Ok(None) => (State::Cancelled, None),
                Err(panic) => {
                    let why = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
                    (State::Failed(format!("error: the simulation stopped on an internal error: {why}")), None)
                }
            };
            debug_assert!(state.finished());
            let mut s = self.lock();
            job.set(state, result);
            self.forget_old(&mut s, job.id);
        }
    }
}

/// Lowers the calling thread's scheduling priority (Linux: per thread), so that the
/// simulations yield the cores to the web server.
fn lower_priority() {
    #[cfg(unix)]
    // SAFETY: nice() only changes the calling thread's priority; its result is ignored.
    unsafe {
        libc::nice(10);
    }
}
