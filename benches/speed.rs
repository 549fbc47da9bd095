//! The engine's speed, measured against minimal reference loops in the same process.
//!
//! This machine is noisy, so nothing here is an absolute time to compare across runs:
//! each figure comes from paired runs (reference, subject, reference, subject, ...) and
//! the median of the per-pair ratios is reported beside the median times.
//!
//!   cargo bench --bench speed            all parts, 5 pairs each (about 45 s when idle)
//!   cargo bench --bench speed -- quick   3 pairs each
//!   cargo bench --bench speed -- 1 3     parts 1 and 3 only (combine with quick)
//!
//! 1. M/M/1 at lambda = 0.9 for 1M customers through the real model path (model text,
//!    overrides, validation, components, metrics) vs a hand-written loop (std
//!    BinaryHeap, ChaCha8, exponential draws, no metrics). Goal: at most 1.7x per event.
//! 2. A closed population of 1M users, each with a pending think-time timer, vs the
//!    same shape on std BinaryHeap. Goal: statesim at most 70 ns per event. Beside it,
//!    the same schedule through statesim's event queue with no model at all, paired with
//!    the whole run: the floor the queue sets under the whole run's ns/event.
//! 3. The event-queue structures: statesim's queue (its short array at 2 pending, its radix
//!    heap in base 64 beyond 16), std BinaryHeap and a 4-ary heap, in a hold model (pop one,
//!    push one) with N timers pending.
//! 4. The crash-test model (sessions, carts, health checks, a kill) in events per second
//!    against the M/M/1 reference loop. Goal: at most 2.3x per event.
//! 5. A 16-point sweep on one thread and on two: the speedup (goal at least 1.8x; only
//!    meaningful when nothing else is using the second core).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1};
use statesim::engine::{EventQueue, SimTime};
use statesim::metrics::catalog as c;
use statesim::report::machine::{cpu_clock, stolen_share};
use statesim::scenario::load_str;
use statesim::sweep::run_once;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hint::black_box;
use std::time::Instant;

#[inline(always)]
fn exp(rng: &mut ChaCha8Rng) -> f64 {
    Exp1.sample(rng)
}

/// One timed run: wall seconds, events handled, and a model-specific check value
/// (printed so a broken loop shows, and so nothing is optimised away).
#[derive(Clone, Copy, Debug)]
struct Run {
    secs: f64,
    events: u64,
    check: f64,
}

impl Run {
    fn ns_per_event(&self) -> f64 {
        self.secs * 1e9 / self.events as f64
    }
}

fn timed(f: impl FnOnce() -> (u64, f64)) -> Run {
    let t = Instant::now();
    let (events, check) = f();
    Run { secs: t.elapsed().as_secs_f64(), events, check }
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat (Linux;
/// assumes the usual 100 clock ticks per second). None elsewhere.
fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3, `state`;
    // utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = xs.len();
    if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 }
}

/// The result of alternating a reference and a subject.
struct Paired {
    /// Median ns/event of the reference and of the subject.
    reference: f64,
    subject: f64,
    /// Fastest ns/event of each (the run least disturbed by other processes).
    reference_best: f64,
    subject_best: f64,
    /// Median of the per-pair ratios subject / reference.
    ratio: f64,
    ratio_min: f64,
    ratio_max: f64,
    last_reference: Run,
    last_subject: Run,
}

/// Alternates reference and subject `pairs` times (reference first in each pair).
fn paired(pairs: usize, reference: &dyn Fn() -> Run, subject: &dyn Fn() -> Run) -> Paired {
    let (mut r_ns, mut s_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut lr, mut ls) = (None, None);
    for _ in 0..pairs {
        let r = reference();
        let s = subject();
        r_ns.push(r.ns_per_event());
        s_ns.push(s.ns_per_event());
        ratios.push(s.ns_per_event() / r.ns_per_event());
        lr = Some(r);
        ls = Some(s);
    }
    let ratio_min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let ratio_max = ratios.iter().copied().fold(0.0, f64::max);
    let best = |xs: &[f64]| xs.iter().copied().fold(f64::INFINITY, f64::min);
    Paired {
        reference_best: best(&r_ns),
        subject_best: best(&s_ns),
        reference: median(r_ns),
        subject: median(s_ns),
        ratio: median(ratios),
        ratio_min,
        ratio_max,
        last_reference: lr.unwrap(),
        last_subject: ls.unwrap(),
    }
}

// ----- 1. M/M/1 ------------------------------------------------------------------------

const MM1: &str = include_str!("../models/theory/mm1.toml");
const LAMBDA: f64 = 0.9;
const MU: f64 = 1.0;

/// The reference: the smallest correct M/M/1 simulation one would write by hand.
/// Check value: the mean time in system in seconds (theory 1 / (mu - lambda) = 10 s).
fn reference_mm1(customers: u64) -> Run {
    timed(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // (time ns, sequence, kind 0 = arrival / 1 = departure)
        let mut heap: BinaryHeap<Reverse<(u64, u64, u8)>> = BinaryHeap::new();
        let mut seq = 0u64;
        let mut queue: VecDeque<u64> = VecDeque::new(); // arrival times, in service first
        let mut arrived = 0u64;
        let mut events = 0u64;
        let mut total_in_system = 0u64;
        heap.push(Reverse(((exp(&mut rng) / LAMBDA * 1e9) as u64, seq, 0)));
        while let Some(Reverse((t, _, kind))) = heap.pop() {
            events += 1;
            if kind == 0 {
                arrived += 1;
                if arrived < customers {
                    seq += 1;
                    heap.push(Reverse((t + (exp(&mut rng) / LAMBDA * 1e9) as u64, seq, 0)));
                }
                queue.push_back(t);
                if queue.len() == 1 {
                    seq += 1;
                    heap.push(Reverse((t + (exp(&mut rng) / MU * 1e9) as u64, seq, 1)));
                }
            } else {
                let arr = queue.pop_front().expect("a customer in service");
                total_in_system = total_in_system.wrapping_add(t - arr);
                if !queue.is_empty() {
                    seq += 1;
                    heap.push(Reverse((t + (exp(&mut rng) / MU * 1e9) as u64, seq, 1)));
                }
            }
        }
        let total = black_box(total_in_system);
        (events, total as f64 / customers as f64 / 1e9)
    })
}

/// The overrides of part 1, in `--set KEY=VALUE` form (values are TOML).
fn mm1_sets(customers: u64) -> Vec<String> {
    vec![
        "clients.arrival_rate=\"0.9/s\"".to_string(),
        format!("run.max_requests={customers}"),
        "run.warmup=\"0s\"".to_string(),
        "run.duration=\"100d\"".to_string(),
        "run.replications=1".to_string(),
    ]
}

/// The subject: model text -> overrides -> validation -> run_once.
/// Check value: statesim's mean latency in seconds (theory 10 s).
fn statesim_mm1(customers: u64, sets: &[String]) -> Run {
    timed(|| {
        let model = load_str("mm1.toml", "mm1", MM1, sets).expect("bench model validates");
        let result = run_once(&model.variants[0].system, 0);
        assert_eq!(result.metrics[c::REQUESTS_OK.key] as u64, customers, "every customer served");
        (result.metrics[c::ENGINE_EVENTS.key] as u64, black_box(result.metrics[c::LATENCY_MS.mean.key]) / 1e3)
    })
}

// ----- 2. A million pending timers ------------------------------------------------------

fn closed_model(users: u64, duration_s: u64) -> String {
    format!(
        r#"schema_version = 1
name = "timers"
[run]
duration = "{duration_s}s"
warmup = "0s"
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
/// the earliest and pushes that user's next wake-up. The initial pushes are timed, as
/// statesim's are. Check value: the simulated time reached, in seconds.
fn reference_timers(users: u64, events: u64) -> Run {
    timed(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::with_capacity(users as usize);
        let mut seq = 0;
        for u in 0..users {
            seq += 1;
            heap.push(Reverse(((exp(&mut rng) * 100e9) as u64, seq, u as u32)));
        }
        let mut now = 0;
        let mut check = 0u64;
        for _ in 0..events {
            let Reverse((t, _, u)) = heap.pop().unwrap();
            now = t;
            check = check.wrapping_add(u as u64);
            seq += 1;
            heap.push(Reverse((t + (exp(&mut rng) * 100e9) as u64, seq, u)));
        }
        black_box(check);
        (events, now as f64 / 1e9)
    })
}

/// statesim's event queue alone, fed the schedule of the closed model: every user's first
/// wake-up, then per wake-up an answer 1 ms later (exp) and per answer the next wake-up
/// (exp(100 s)); no model logic. Events carry 16 bytes, as the model's do. This is the
/// floor under the whole run's ns/event. Check value: the simulated time reached, in s.
fn queue_only_timers(users: u64, duration_s: u64) -> Run {
    timed(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut q: EventQueue<[u64; 2]> = EventQueue::new();
        for u in 0..users {
            q.push(SimTime((exp(&mut rng) * 100e9) as u64), [u, 0]);
        }
        let end = duration_s * 1_000_000_000;
        let (mut events, mut now) = (0u64, 0u64);
        while let Some((t, [u, kind])) = q.pop() {
            if t.0 >= end {
                break;
            }
            events += 1;
            now = t.0;
            if kind == 0 {
                q.push(SimTime(t.0 + (exp(&mut rng) * 1e6) as u64), [u, 1]);
            } else {
                q.push(SimTime(t.0 + (exp(&mut rng) * 100e9) as u64), [u, 0]);
            }
        }
        black_box(q.len());
        (events, now as f64 / 1e9)
    })
}

/// Check value: requests completed.
fn statesim_timers(text: &str) -> Run {
    timed(|| {
        let model = load_str("timers.toml", "timers", text, &[]).expect("bench model validates");
        let result = run_once(&model.variants[0].system, 0);
        (result.metrics[c::ENGINE_EVENTS.key] as u64, result.metrics[c::REQUESTS_OK.key])
    })
}

// ----- 3. Queue structures --------------------------------------------------------------

/// A 4-ary min-heap on (time, sequence), packed into one u128 so that a key comparison
/// is one compare: shallower than a binary heap, and a node's four children (64 bytes)
/// share a cache line when the vector is 64-byte aligned, which it mostly is.
struct QuadHeap {
    items: Vec<u128>,
}

#[inline(always)]
fn key(time: u64, seq: u64) -> u128 {
    ((time as u128) << 64) | seq as u128
}

impl QuadHeap {
    fn with_capacity(n: usize) -> Self {
        QuadHeap { items: Vec::with_capacity(n) }
    }
    #[inline]
    fn push(&mut self, time: u64, seq: u64) {
        let x = key(time, seq);
        let mut i = self.items.len();
        self.items.push(x);
        let items = &mut self.items[..];
        while i > 0 {
            let p = (i - 1) / 4;
            if items[p] <= x {
                break;
            }
            items[i] = items[p];
            i = p;
        }
        items[i] = x;
    }
    /// Removes the minimum; returns (time, seq).
    #[inline]
    fn pop(&mut self) -> Option<(u64, u64)> {
        let last = self.items.pop()?;
        let items = &mut self.items[..];
        let n = items.len();
        if n == 0 {
            return Some(((last >> 64) as u64, last as u64));
        }
        let top = items[0];
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            let (best, v) = if first + 4 <= n {
                // A full node: a small tournament, no data-dependent loop.
                let c = &items[first..first + 4];
                let (a, ia) = if c[1] < c[0] { (c[1], 1) } else { (c[0], 0) };
                let (b, ib) = if c[3] < c[2] { (c[3], 3) } else { (c[2], 2) };
                if b < a { (first + ib, b) } else { (first + ia, a) }
            } else if first < n {
                let mut best = first;
                for c in first + 1..n {
                    if items[c] < items[best] {
                        best = c;
                    }
                }
                (best, items[best])
            } else {
                break;
            };
            if last <= v {
                break;
            }
            items[i] = v;
            i = best;
        }
        items[i] = last;
        Some(((top >> 64) as u64, top as u64))
    }
    fn len(&self) -> usize {
        self.items.len()
    }
}

/// Each hold run starts from the same N pending timers (seed 3) with mean-1 s increments;
/// setup is not timed. Check value: the time of the last pop, in seconds.
fn hold_binary(n: u64, ops: u64) -> Run {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut heap: BinaryHeap<Reverse<(u64, u64)>> = (0..n).map(|i| Reverse(((exp(&mut rng) * 1e9) as u64, i))).collect();
    timed(|| {
        let mut seq = n;
        let mut now = 0;
        for _ in 0..ops {
            let Reverse((t, _)) = heap.pop().unwrap();
            now = t;
            seq += 1;
            heap.push(Reverse((t + (exp(&mut rng) * 1e9) as u64, seq)));
        }
        black_box(heap.len());
        (ops, now as f64 / 1e9)
    })
}

fn hold_quad(n: u64, ops: u64) -> Run {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut heap = QuadHeap::with_capacity(n as usize + 1);
    for i in 0..n {
        heap.push((exp(&mut rng) * 1e9) as u64, i);
    }
    timed(|| {
        let mut seq = n;
        let mut now = 0;
        for _ in 0..ops {
            let (t, _) = heap.pop().unwrap();
            now = t;
            seq += 1;
            heap.push(t + (exp(&mut rng) * 1e9) as u64, seq);
        }
        black_box(heap.len());
        (ops, now as f64 / 1e9)
    })
}

/// statesim's queue is FIFO among equal times by construction, so it needs no sequence
/// number; the payload is a u32 (a user id), as in the simulator.
fn hold_statesim(n: u64, ops: u64) -> Run {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut q: EventQueue<u32> = EventQueue::new();
    for i in 0..n {
        q.push(SimTime((exp(&mut rng) * 1e9) as u64), i as u32);
    }
    timed(|| {
        let mut now = 0;
        for _ in 0..ops {
            let (t, e) = q.pop().unwrap();
            now = t.0;
            q.push(SimTime(t.0 + (exp(&mut rng) * 1e9) as u64), e);
        }
        black_box(q.len());
        (ops, now as f64 / 1e9)
    })
}

// ----- main -----------------------------------------------------------------------------

/// One line of the closing summary.
struct Line {
    what: String,
    figure: String,
}

/// Prints the CPU the hypervisor took from this machine during a part, and adds it to
/// the part's last summary line: a part run while much was stolen has wider pairs.
fn note_steal(clock: Option<(u64, u64)>, summary: &mut [Line]) {
    let Some(share) = stolen_share(clock) else { return };
    println!("   CPU stolen by the hypervisor during this part: {:.0}%\n", share * 100.0);
    if let Some(last) = summary.last_mut() {
        last.figure.push_str(&format!("; {:.0}% of the CPU stolen", share * 100.0));
    }
}

fn main() {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "quick");
    let pairs = if quick { 3 } else { 5 };
    // `cargo bench --bench speed -- 1 3` runs parts 1 and 3 only.
    let only: Vec<u32> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let want = |part: u32| only.is_empty() || only.contains(&part);
    println!(
        "statesim speed: {pairs} paired runs per figure (reference then subject), medians; {} cores\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!(
            "load average at start: {} (1, 5, 15 min; when high, other processes share the 2 cores and only the paired ratios compare)\n",
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
    }
    let mut summary: Vec<Line> = Vec::new();

    let customers = 1_000_000;
    if want(1) {
        let clock = cpu_clock();
        let sets = mm1_sets(customers);
        let load = {
            let t = Instant::now();
            let m = load_str("mm1.toml", "mm1", MM1, &sets).expect("bench model validates");
            black_box(&m);
            t.elapsed().as_secs_f64()
        };
        let p = paired(pairs, &|| reference_mm1(customers), &|| statesim_mm1(customers, &sets));
        let (re, se) = (p.last_reference.events, p.last_subject.events);
        println!("1. M/M/1 lambda = {LAMBDA}, mu = {MU}, {customers} customers (models/theory/mm1.toml with {})", sets.join(" "));
        println!(
            "   reference loop : {:6.1} ns/event (best {:5.1})  {:6.1} ns/customer  ({re} events; mean time in system {:.2} s, theory 10)",
            p.reference,
            p.reference_best,
            p.reference * re as f64 / customers as f64,
            p.last_reference.check
        );
        println!(
            "   statesim       : {:6.1} ns/event (best {:5.1})  {:6.1} ns/customer  ({se} events; mean latency {:.2} s; load_str {:.2} ms of it)",
            p.subject,
            p.subject_best,
            p.subject * se as f64 / customers as f64,
            p.last_subject.check,
            load * 1e3
        );
        println!("   ratio          : {:.2}x per event (pairs {:.2}..{:.2}; goal <= 1.7x)", p.ratio, p.ratio_min, p.ratio_max);
        summary.push(Line {
            what: format!("M/M/1 lambda={LAMBDA}, 1M customers"),
            figure: format!(
                "statesim {:.1} ns/event ({:.1} ns/customer), reference {:.1} ns/event ({:.1} ns/customer), ratio {:.2}x (goal <= 1.7x: {})",
                p.subject,
                p.subject * se as f64 / customers as f64,
                p.reference,
                p.reference * re as f64 / customers as f64,
                p.ratio,
                if p.ratio <= 1.7 { "met" } else { "MISSED" }
            ),
        });
        note_steal(clock, &mut summary);
    }

    // 2. A million pending timers.
    if want(2) {
        let clock = cpu_clock();
        let users = 1_000_000;
        let duration_s = 150; // 10k requests/s, 2 events each: about 3M events
        let text = closed_model(users, duration_s);
        let probe = statesim_timers(&text);
        let events = probe.events;
        let p = paired(pairs, &|| reference_timers(users, events), &|| statesim_timers(&text));
        // The whole run against the queue alone: how much the model adds to the floor.
        let floor = paired(pairs, &|| queue_only_timers(users, duration_s), &|| statesim_timers(&text));
        println!(
            "2. Closed population: {users} users, think time exp(100 s), 10 servers x 4 cores, {duration_s} s ({events} events, {:.0} requests)",
            p.last_subject.check
        );
        println!("   std BinaryHeap loop : {:6.1} ns/event (best {:5.1}; 1M timers pushed, then {events} pop+push)", p.reference, p.reference_best);
        println!("   statesim (whole run): {:6.1} ns/event (best {:5.1}; load, 1M first wake-ups, run, metrics)", p.subject, p.subject_best);
        println!(
            "   statesim queue only : {:6.1} ns/event (best {:5.1}; the same schedule through the event queue, no model: the floor)",
            floor.reference, floor.reference_best
        );
        println!(
            "   whole run / queue   : {:.2}x (pairs {:.2}..{:.2}): the queue alone is {:.0}% of the whole run",
            floor.ratio,
            floor.ratio_min,
            floor.ratio_max,
            100.0 / floor.ratio
        );
        println!("   ratio               : {:.2}x (pairs {:.2}..{:.2}); goal statesim <= 70 ns/event", p.ratio, p.ratio_min, p.ratio_max);
        summary.push(Line {
            what: "1M users with pending timers".into(),
            figure: format!(
                "statesim {:.1} ns/event (best {:.1}), std BinaryHeap reference {:.1} ns/event, ratio {:.2}x (goal <= 70 ns/event: {}); the event queue alone {:.1} ns/event ({:.0}% of the run)",
                p.subject,
                p.subject_best,
                p.reference,
                p.ratio,
                if p.subject <= 70.0 { "met" } else { "MISSED" },
                floor.reference,
                100.0 / floor.ratio
            ),
        });
        note_steal(clock, &mut summary);
    }

    // 3. Queue structures, interleaved round by round.
    if want(3) {
        let clock = cpu_clock();
        println!("3. Event queue, hold model (pop the earliest, push it again exp(1 s) later), ns per operation");
        println!("   {:>10} {:>12} {:>10} {:>12} {:>16}", "pending", "BinaryHeap", "4-ary", "statesim", "statesim/binary");
        let ops = 3_000_000;
        for n in [2u64, 1_000, 100_000, 1_000_000] {
            let (mut b, mut q, mut x, mut rb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..pairs {
                let bt = hold_binary(n, ops);
                let qt = hold_quad(n, ops);
                let xt = hold_statesim(n, ops);
                assert!(bt.check == qt.check && bt.check == xt.check, "the three queues pop the same times");
                b.push(bt.ns_per_event());
                q.push(qt.ns_per_event());
                x.push(xt.ns_per_event());
                rb.push(xt.ns_per_event() / bt.ns_per_event());
            }
            let (b, q, x, rb) = (median(b), median(q), median(x), median(rb));
            println!("   {n:>10} {b:>12.1} {q:>10.1} {x:>12.1} {rb:>15.2}x");
            summary.push(Line {
                what: format!("hold model, {n} pending"),
                figure: format!("BinaryHeap {b:.1}, 4-ary {q:.1}, statesim {x:.1} ns/op (statesim/binary {rb:.2}x)"),
            });
        }
        note_steal(clock, &mut summary);
    }

    // 4. The crash-test model against the M/M/1 reference loop.
    if want(4) {
        let clock = cpu_clock();
        let crash = statesim::bundled::find("crash-test").expect("bundled");
        let crash_model = load_str(crash.path, crash.name, crash.text, &[]).expect("crash-test validates");
        let crash_run = || {
            timed(|| {
                let r = run_once(&crash_model.variants[0].system, 0);
                (r.metrics[c::ENGINE_EVENTS.key] as u64, r.metrics[c::REQUESTS_OK.key])
            })
        };
        let p = paired(pairs, &|| reference_mm1(customers), &crash_run);
        let se = p.last_subject.events;
        println!("4. crash-test (first variant, {se} events) vs the M/M/1 reference loop");
        println!("   reference loop : {:6.1} ns/event (best {:5.1}; {:.1} M events/s)", p.reference, p.reference_best, 1e3 / p.reference);
        println!("   crash-test     : {:6.1} ns/event (best {:5.1}; {:.1} M events/s)", p.subject, p.subject_best, 1e3 / p.subject);
        println!("   ratio          : {:.2}x per event (pairs {:.2}..{:.2}; goal <= 2.3x)", p.ratio, p.ratio_min, p.ratio_max);
        summary.push(Line {
            what: "crash-test".into(),
            figure: format!(
                "{:.1} ns/event ({:.1} M events/s), {:.2}x the M/M/1 reference per event (goal <= 2.3x: {})",
                p.subject,
                1e3 / p.subject,
                p.ratio,
                if p.ratio <= 2.3 { "met" } else { "MISSED" }
            ),
        });
        note_steal(clock, &mut summary);
    }

    // 5. Sweep speedup on two threads.
    if want(5) {
        let clock = cpu_clock();
        let mega = statesim::bundled::find("mega-proxy").expect("bundled");
        let grid: Vec<statesim::scenario::Model> = (0..16)
            .map(|i| {
                load_str(mega.path, mega.name, mega.text, &[format!("servers.count={}", 8 + i), "run.duration=\"2m\"".into(), "run.warmup=\"10s\"".into()])
                    .expect("validates")
            })
            .collect();
        // Returns (wall seconds, cores of CPU this process got meanwhile).
        let sweep_on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            let cpu0 = process_cpu_secs();
            let t = Instant::now();
            pool.install(|| {
                use rayon::prelude::*;
                let n: usize = grid.par_iter().map(|m| statesim::sweep::run_model(m, &statesim::sweep::RunOptions::default(), &|| {}).len()).sum();
                black_box(n);
            });
            let wall = t.elapsed().as_secs_f64();
            let cores = match (cpu0, process_cpu_secs()) {
                (Some(a), Some(b)) => (b - a) / wall,
                _ => f64::NAN,
            };
            (wall, cores)
        };
        let (mut speedups, mut cores1, mut cores2) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..pairs {
            let (t1, c1) = sweep_on(1);
            let (t2, c2) = sweep_on(2);
            speedups.push(t1 / t2);
            cores1.push(c1);
            cores2.push(c2);
        }
        let (speedup, cores1, cores2) = (median(speedups), median(cores1), median(cores2));
        let busy = cores2 < 1.8;
        println!("5. 16-point sweep of mega-proxy (2 variants each): 2 threads vs 1");
        println!("   CPU obtained   : {cores1:.2} cores on 1 thread, {cores2:.2} cores on 2 threads (from /proc/self/stat)");
        println!("   speedup        : {speedup:.2}x (goal >= 1.8x){}", if busy { "; NOT MEANINGFUL: other processes held the second core" } else { "" });
        summary.push(Line {
            what: "16-point sweep, 2 threads vs 1".into(),
            figure: format!("speedup {speedup:.2}x with {cores2:.2} cores obtained (goal >= 1.8x){}", if busy { "; machine busy, not meaningful" } else { "" }),
        });
        note_steal(clock, &mut summary);
    }

    println!("summary (median of {pairs} pairs; total bench time {:.0} s)", started.elapsed().as_secs_f64());
    let width = summary.iter().map(|l| l.what.len()).max().unwrap_or(0);
    for l in &summary {
        println!("  {:<width$} : {}", l.what, l.figure);
    }
}
