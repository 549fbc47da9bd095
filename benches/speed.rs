//! The engine's speed, measured against minimal reference loops in the same process.
//!
//! This machine is noisy, so nothing here is an absolute time to compare across runs:
//! each figure is a ratio of paired runs (reference, subject, reference, subject, ...)
//! and the median ratio is reported.
//!
//!   cargo bench --bench speed            all three parts
//!   cargo bench --bench speed -- quick   fewer pairs
//!
//! 1. M/M/1 at lambda = 0.9 for 1M customers through the real model path (model text,
//!    validation, components, metrics) vs a hand-written loop (std BinaryHeap, ChaCha8,
//!    exponential draws, no metrics). Goal: at most 2x per event.
//! 2. A closed population of 1M users, each with a pending think-time timer, vs the
//!    same shape on std BinaryHeap. Goal: at most 100 ns per event.
//! 3. The event-queue structures at depth: statesim's radix heap, std BinaryHeap and a
//!    4-ary heap, in a hold model (pop one, push one) with N timers pending.
//! 4. The crash-test model (sessions, carts, health checks, a kill) in events per second
//!    against the M/M/1 reference loop.
//! 5. A 16-point sweep on one thread and on two: the speedup (goal at least 1.8x).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1};
use statesim::engine::{EventQueue, SimTime};
use statesim::scenario::load_str;
use statesim::sweep::run_once;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hint::black_box;
use std::time::Instant;

fn exp(rng: &mut ChaCha8Rng) -> f64 {
    Exp1.sample(rng)
}

/// Runs `f` and returns (seconds, events it reports).
fn timed(f: impl FnOnce() -> u64) -> (f64, u64) {
    let t = Instant::now();
    let events = f();
    (t.elapsed().as_secs_f64(), events)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

/// Alternates reference and subject `pairs` times; returns median ns/event of each and
/// the median of the per-pair ratios.
fn paired(pairs: usize, reference: &dyn Fn() -> (f64, u64), subject: &dyn Fn() -> (f64, u64)) -> (f64, f64, f64, u64, u64) {
    let (mut r_ns, mut s_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut re, mut se) = (0, 0);
    for _ in 0..pairs {
        let (rt, r_events) = reference();
        let (st, s_events) = subject();
        let a = rt * 1e9 / r_events as f64;
        let b = st * 1e9 / s_events as f64;
        r_ns.push(a);
        s_ns.push(b);
        ratios.push(b / a);
        re = r_events;
        se = s_events;
    }
    (median(r_ns), median(s_ns), median(ratios), re, se)
}

// ----- 1. M/M/1 ------------------------------------------------------------------------

const MM1: &str = include_str!("../models/theory/mm1.toml");

/// The reference: the smallest correct M/M/1 simulation one would write by hand.
fn reference_mm1(customers: u64) -> (f64, u64) {
    timed(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // (time ns, sequence, kind 0 = arrival / 1 = departure)
        let mut heap: BinaryHeap<Reverse<(u64, u64, u8)>> = BinaryHeap::new();
        let mut seq = 0u64;
        let (lambda, mu) = (0.9f64, 1.0f64);
        let mut queue: VecDeque<u64> = VecDeque::new();
        let mut busy = false;
        let mut arrived = 0u64;
        let mut events = 0u64;
        let mut total_in_system = 0u64;
        heap.push(Reverse(((exp(&mut rng) / lambda * 1e9) as u64, seq, 0)));
        while let Some(Reverse((t, _, kind))) = heap.pop() {
            events += 1;
            if kind == 0 {
                arrived += 1;
                if arrived < customers {
                    seq += 1;
                    heap.push(Reverse((t + (exp(&mut rng) / lambda * 1e9) as u64, seq, 0)));
                }
                if busy {
                    queue.push_back(t);
                } else {
                    busy = true;
                    seq += 1;
                    heap.push(Reverse((t + (exp(&mut rng) / mu * 1e9) as u64, seq, 1)));
                }
            } else if let Some(arr) = queue.pop_front() {
                total_in_system = total_in_system.wrapping_add(t - arr);
                seq += 1;
                heap.push(Reverse((t + (exp(&mut rng) / mu * 1e9) as u64, seq, 1)));
            } else {
                busy = false;
            }
        }
        black_box(total_in_system);
        events
    })
}

fn statesim_mm1(customers: u64) -> (f64, u64) {
    let sets = [
        "clients.arrival_rate=\"0.9/s\"".to_string(),
        format!("run.max_requests={customers}"),
        "run.warmup=\"0s\"".to_string(),
        "run.duration=\"100d\"".to_string(),
        "run.replications=1".to_string(),
        "run.timeseries_step=\"1d\"".to_string(),
    ];
    timed(|| {
        let model = load_str("mm1.toml", "mm1", MM1, &sets).expect("bench model validates");
        let result = run_once(&model.variants[0].system, 0);
        assert_eq!(result.metrics["requests.ok"] as u64, customers);
        black_box(result.metrics["latency_ms.mean"]);
        result.metrics["engine.events"] as u64
    })
}

// ----- 2. A million pending timers ------------------------------------------------------

fn closed_model(users: u64, duration_s: u64) -> String {
    format!(
        r#"schema_version = 1
[run]
duration = "{duration_s}s"
timeseries_step = "10s"
[clients]
users = {users}
think_time = {{ dist = "exponential", mean = "100s" }}
timeout = "off"
[network]
client_to_lb = "0s"
lb_to_server = "0s"
[load_balancer]
latency = "0s"
health_check = {{ enabled = false }}
[servers]
count = 10
cores = 4
service = {{ dist = "exponential", mean = "1ms" }}
queue_limit = 1_000_000
"#
    )
}

/// The reference: every user has a wake-up timer on a std BinaryHeap; each event pops
/// the earliest and pushes that user's next wake-up.
fn reference_timers(users: u64, events: u64) -> (f64, u64) {
    timed(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::with_capacity(users as usize);
        let mut seq = 0;
        for u in 0..users {
            seq += 1;
            heap.push(Reverse(((exp(&mut rng) * 100e9) as u64, seq, u as u32)));
        }
        let mut n = 0;
        let mut check = 0u64;
        while n < events {
            let Reverse((t, _, u)) = heap.pop().unwrap();
            check = check.wrapping_add(u as u64);
            seq += 1;
            heap.push(Reverse((t + (exp(&mut rng) * 100e9) as u64, seq, u)));
            n += 1;
        }
        black_box(check);
        n
    })
}

fn statesim_timers(users: u64, duration_s: u64) -> (f64, u64) {
    let text = closed_model(users, duration_s);
    timed(|| {
        let model = load_str("timers.toml", "timers", &text, &[]).expect("bench model validates");
        let result = run_once(&model.variants[0].system, 0);
        result.metrics["engine.events"] as u64
    })
}

// ----- 3. Queue structures --------------------------------------------------------------

/// A 4-ary min-heap on (time, sequence): shallower than a binary heap, children of a node
/// share a cache line.
struct QuadHeap {
    items: Vec<(u64, u64)>,
}

impl QuadHeap {
    fn push(&mut self, x: (u64, u64)) {
        self.items.push(x);
        let mut i = self.items.len() - 1;
        while i > 0 {
            let p = (i - 1) / 4;
            if self.items[p] <= self.items[i] {
                break;
            }
            self.items.swap(p, i);
            i = p;
        }
    }
    fn pop(&mut self) -> Option<(u64, u64)> {
        let n = self.items.len();
        if n == 0 {
            return None;
        }
        self.items.swap(0, n - 1);
        let top = self.items.pop();
        let n = self.items.len();
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            let last = (first + 4).min(n);
            let mut best = first;
            for c in first + 1..last {
                if self.items[c] < self.items[best] {
                    best = c;
                }
            }
            if self.items[i] <= self.items[best] {
                break;
            }
            self.items.swap(i, best);
            i = best;
        }
        top
    }
}

fn hold_binary(n: u64, ops: u64) -> (f64, u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut heap: BinaryHeap<Reverse<(u64, u64)>> = (0..n).map(|i| Reverse(((exp(&mut rng) * 1e9) as u64, i))).collect();
    timed(|| {
        let mut seq = n;
        for _ in 0..ops {
            let Reverse((t, _)) = heap.pop().unwrap();
            seq += 1;
            heap.push(Reverse((t + (exp(&mut rng) * 1e9) as u64, seq)));
        }
        black_box(heap.len());
        ops
    })
}

fn hold_quad(n: u64, ops: u64) -> (f64, u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut heap = QuadHeap { items: Vec::with_capacity(n as usize + 1) };
    for i in 0..n {
        heap.push(((exp(&mut rng) * 1e9) as u64, i));
    }
    timed(|| {
        let mut seq = n;
        for _ in 0..ops {
            let (t, _) = heap.pop().unwrap();
            seq += 1;
            heap.push((t + (exp(&mut rng) * 1e9) as u64, seq));
        }
        black_box(heap.items.len());
        ops
    })
}

fn hold_radix(n: u64, ops: u64) -> (f64, u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut q: EventQueue<u32> = EventQueue::new();
    for i in 0..n {
        q.push(SimTime((exp(&mut rng) * 1e9) as u64), i as u32);
    }
    timed(|| {
        for _ in 0..ops {
            let (t, e) = q.pop().unwrap();
            q.push(SimTime(t.0 + (exp(&mut rng) * 1e9) as u64), e);
        }
        black_box(q.len());
        ops
    })
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let pairs = if quick { 3 } else { 5 };
    println!("statesim speed, {pairs} paired runs per figure (median); this machine: {} cores\n", std::thread::available_parallelism().map_or(1, |n| n.get()));

    let customers = 1_000_000;
    let (r, s, ratio, re, se) = paired(pairs, &|| reference_mm1(customers), &|| statesim_mm1(customers));
    println!("1. M/M/1 lambda = 0.9, {customers} customers");
    println!("   reference loop : {r:6.1} ns/event ({re} events, {:.1} ns/customer)", r * re as f64 / customers as f64);
    println!("   statesim       : {s:6.1} ns/event ({se} events, {:.1} ns/customer, model path + metrics)", s * se as f64 / customers as f64);
    println!("   ratio          : {ratio:.2}x per event (goal <= 2x)\n");
    let mm1_ratio = ratio;

    let users = 1_000_000;
    let duration_s = 150;
    let (_, probe_events) = statesim_timers(users, duration_s);
    let (r, s, ratio, _, se) = paired(pairs, &|| reference_timers(users, probe_events), &|| statesim_timers(users, duration_s));
    println!("2. Closed population, {users} users with pending think-time timers ({se} events)");
    println!("   std BinaryHeap loop : {r:6.1} ns/event");
    println!("   statesim (whole run): {s:6.1} ns/event (goal <= 100)");
    println!("   ratio               : {ratio:.2}x\n");
    let timers_ns = s;

    println!("3. Event queue, hold model (pop one, push one), ns per operation");
    println!("   {:>10} {:>12} {:>10} {:>12}", "pending", "BinaryHeap", "4-ary", "radix heap");
    for n in [1_000u64, 100_000, 1_000_000] {
        let ops = 3_000_000;
        let b = median((0..pairs).map(|_| hold_binary(n, ops)).map(|(t, o)| t * 1e9 / o as f64).collect());
        let q = median((0..pairs).map(|_| hold_quad(n, ops)).map(|(t, o)| t * 1e9 / o as f64).collect());
        let x = median((0..pairs).map(|_| hold_radix(n, ops)).map(|(t, o)| t * 1e9 / o as f64).collect());
        println!("   {n:>10} {b:>12.1} {q:>10.1} {x:>12.1}");
    }
    let crash = statesim::bundled::find("crash-test").expect("bundled");
    let crash_model = load_str(crash.path, crash.name, crash.text, &[]).expect("crash-test validates");
    let crash_run = || {
        timed(|| {
            let r = run_once(&crash_model.variants[0].system, 0);
            r.metrics["engine.events"] as u64
        })
    };
    let (r, s, ratio, _, se) = paired(pairs, &|| reference_mm1(customers), &crash_run);
    println!("\n4. crash-test (sticky-memory variant, {se} events) vs the M/M/1 reference loop");
    println!("   reference loop : {r:6.1} ns/event ({:.1} M events/s)", 1e3 / r);
    println!("   crash-test     : {s:6.1} ns/event ({:.1} M events/s)", 1e3 / s);
    println!("   ratio          : {ratio:.2}x per event\n");
    let crash_ratio = ratio;

    let mega = statesim::bundled::find("mega-proxy").expect("bundled");
    let grid: Vec<statesim::scenario::Model> = (0..16)
        .map(|i| load_str(mega.path, mega.name, mega.text, &[format!("servers.count={}", 8 + i), "run.duration=\"2m\"".into(), "run.warmup=\"10s\"".into()]).expect("validates"))
        .collect();
    let sweep_on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        let t = Instant::now();
        pool.install(|| {
            use rayon::prelude::*;
            let n: usize = grid.par_iter().map(|m| statesim::sweep::run_model(m, &statesim::sweep::RunOptions::default(), &|| {}).len()).sum();
            black_box(n);
        });
        t.elapsed().as_secs_f64()
    };
    let speedups: Vec<f64> = (0..pairs).map(|_| sweep_on(1) / sweep_on(2)).collect();
    let speedup = median(speedups);
    println!("5. 16-point sweep of mega-proxy (2 variants each): 2 threads vs 1");
    println!("   speedup        : {speedup:.2}x (goal >= 1.8x)");

    println!("\nsummary: M/M/1 {mm1_ratio:.2}x the reference per event; 1M pending timers {timers_ns:.0} ns/event; crash-test {crash_ratio:.2}x the M/M/1 reference per event; 2-thread sweep speedup {speedup:.2}x");
}
