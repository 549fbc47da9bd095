//! A bounded mutation test over the bundled models: a few hundred seeded mutants of the
//! texts in `models/` (bytes flipped, lines deleted, duplicated, swapped or borrowed from
//! another model, numbers replaced by 0, -1, 1e300, nan, huge integers... or scaled up
//! 10 to a million times, keys renamed, values swapped between keys, the text cut short). Each mutant is loaded the way
//! `statesim validate` loads a file, in process and under `catch_unwind`:
//!
//! - loading never panics: it gives a model (exit 0) or problems that each name a line
//!   and column or a key path (exit 2); a sample goes through the binary too;
//! - every mutant that validates runs a short simulation (shortened with the overrides
//!   `--set` uses) of one of its variants, and stays within what the budget check
//!   estimated for it: no more events, no more heap (measured by the counting allocator
//!   below) and a bounded time; every request is accounted for.
//!
//! The same seed gives the same mutants; a failure prints the mutant's text.

use rayon::prelude::*;
use statesim::bundled::{self, Bundled};
use statesim::metrics::catalog as c;
use statesim::scenario::budget::estimate;
use statesim::scenario::{Budget, ModelErrors, load_str, load_str_with, model_text};
use statesim::sweep::run_once;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Mutants per bundled model.
const PER_MODEL: usize = 40;
const SEED: u64 = 0x5eed_0012;
/// No short run may take longer (a hang or an event storm is caught long before this).
const RUN_TIME_LIMIT: Duration = Duration::from_secs(10);
/// The whole test, as a watchdog against a mutant that never returns.
const TEST_TIME_LIMIT: Duration = Duration::from_secs(300);

/// Heap accounting for the current thread: the most bytes a closure held at once. The
/// suite's allocator counts every allocation on the thread that makes it; a simulation
/// runs on one thread, so its peak is exact.
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(n: isize) {
        let _ = LIVE.try_with(|live| {
            let v = live.get() + n;
            live.set(v);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(v)));
        });
    }

    // SAFETY: every call is forwarded to the system allocator unchanged; the counters
    // are thread-local cells that never allocate.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller's contract is the system allocator's.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                add(layout.size() as isize);
            }
            p
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as above.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                add(layout.size() as isize);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: as above.
            unsafe { System.dealloc(ptr, layout) };
            add(-(layout.size() as isize));
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: as above.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                add(new_size as isize - layout.size() as isize);
            }
            p
        }
    }

    /// `f()` and the most heap it held at once, in bytes, beyond what was live before.
    pub fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let start = LIVE.with(Cell::get);
        PEAK.with(|p| p.set(start));
        let out = f();
        let peak = PEAK.with(Cell::get);
        (out, (peak - start).max(0) as usize)
    }
}

#[global_allocator]
static ALLOCATOR: heap::Counting = heap::Counting;

/// SplitMix64: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// What a number becomes.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1e300",
    "-1e300",
    "nan",
    "inf",
    "-inf",
    "1e-300",
    "0.0",
    "-0",
    "2.5",
    "4294967296",
    "9223372036854775807",
    "18446744073709551616",
    "99999999999999999999999",
    "1_000_000_000",
    "0x7fffffff",
];

/// Byte ranges of the numbers in `text` (digits with their sign, point, exponent and
/// underscores), including those inside strings such as "15ms" or "300/s".
fn numbers(text: &str) -> Vec<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.' || b[i - 1] == b'_'));
        if !starts {
            i += 1;
            continue;
        }
        let start = if i > 0 && b[i - 1] == b'-' && (i < 2 || !b[i - 2].is_ascii_alphanumeric()) { i - 1 } else { i };
        let mut j = i;
        while j < b.len()
            && (b[j].is_ascii_digit()
                || b[j] == b'_'
                || b[j] == b'.'
                || ((b[j] == b'e' || b[j] == b'E') && j + 1 < b.len() && (b[j + 1].is_ascii_digit() || b[j + 1] == b'-')))
        {
            j += if b[j] == b'e' || b[j] == b'E' { 2 } else { 1 };
        }
        out.push(start..j.min(b.len()));
        i = j;
    }
    out
}

/// Byte ranges of the keys in `text`: a bare key (dotted allowed) followed by `=`, on a
/// line of its own or inside an inline table, and the names in `[table]` headers.
fn keys(text: &str) -> Vec<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let is_key = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.';
    let mut out = Vec::new();
    let mut in_string = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => in_string = !in_string,
            b'\n' => in_string = false,
            b'#' if !in_string => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            c if !in_string && is_key(c) && (i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'\n' | b'{' | b',' | b'[')) => {
                let mut j = i;
                while j < b.len() && is_key(b[j]) {
                    j += 1;
                }
                let mut k = j;
                while k < b.len() && (b[k] == b' ' || b[k] == b'\t') {
                    k += 1;
                }
                if k < b.len() && (b[k] == b'=' || b[k] == b']') && !b[i].is_ascii_digit() {
                    out.push(i..j);
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The `key = value` lines of `lines`: (line index, byte offset of the value).
fn assignments(lines: &[String]) -> Vec<(usize, usize)> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with('#') && !l.trim_start().starts_with('['))
        .filter_map(|(n, l)| l.find('=').map(|at| (n, at + 1)))
        .collect()
}

fn replace(text: &str, at: std::ops::Range<usize>, with: &str) -> Vec<u8> {
    let b = text.as_bytes();
    [&b[..at.start], with.as_bytes(), &b[at.end..]].concat()
}

fn lines_of(text: &str) -> Vec<String> {
    text.split('\n').map(str::to_string).collect()
}

/// One mutation of `text`, with a word for what it did. `others` are the texts of all
/// bundled models, for lines and keys borrowed from elsewhere.
fn mutate(rng: &mut Rng, bytes: &[u8], others: &[&str]) -> (Vec<u8>, &'static str) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        // Already not UTF-8: only byte-level changes apply.
        let mut b = bytes.to_vec();
        let at = rng.below(b.len());
        b[at] ^= 1 + rng.below(255) as u8;
        return (b, "byte flipped");
    };
    let mut lines = lines_of(text);
    let n = lines.len();
    match rng.below(14) {
        0 => {
            let mut b = bytes.to_vec();
            let at = rng.below(b.len());
            b[at] ^= 1 + rng.below(255) as u8;
            (b, "byte flipped")
        }
        1 => {
            lines.remove(rng.below(n));
            (lines.join("\n").into_bytes(), "line deleted")
        }
        2 => {
            let l = lines[rng.below(n)].clone();
            lines.insert(rng.below(n + 1), l);
            (lines.join("\n").into_bytes(), "line duplicated")
        }
        3 => {
            let (a, b) = (rng.below(n), rng.below(n));
            lines.swap(a, b);
            (lines.join("\n").into_bytes(), "lines swapped")
        }
        4 => {
            let donor = lines_of(others[rng.below(others.len())]);
            let l = rng.pick(&donor).clone();
            lines.insert(rng.below(n + 1), l);
            (lines.join("\n").into_bytes(), "line borrowed")
        }
        5..=7 => {
            let spots = numbers(text);
            if spots.is_empty() {
                return (bytes.to_vec(), "unchanged");
            }
            let at = rng.pick(&spots).clone();
            (replace(text, at, NUMBERS[rng.below(NUMBERS.len())]), "number replaced")
        }
        8 | 9 => {
            let spots = keys(text);
            if spots.is_empty() {
                return (bytes.to_vec(), "unchanged");
            }
            let at = rng.pick(&spots).clone();
            let key = &text[at.clone()];
            let new = match rng.below(3) {
                0 => {
                    let donor = rng.pick(others);
                    let theirs = keys(donor);
                    donor[rng.pick(&theirs).clone()].to_string()
                }
                1 if key.len() > 1 => {
                    let cut = rng.below(key.len());
                    format!("{}{}", &key[..cut], &key[cut + 1..])
                }
                _ => format!("{key}s"),
            };
            (replace(text, at, &new), "key renamed")
        }
        12 | 13 => {
            let spots: Vec<_> = numbers(text).into_iter().filter(|r| !text[r.clone()].contains(['.', 'e', 'E'])).collect();
            if spots.is_empty() {
                return (bytes.to_vec(), "unchanged");
            }
            let at = rng.pick(&spots).clone();
            let scaled = format!("{}{}", &text[at.clone()], ["0", "000", "000000"][rng.below(3)]);
            (replace(text, at, &scaled), "number scaled up")
        }
        10 => {
            let a = assignments(&lines);
            if a.len() < 2 {
                return (bytes.to_vec(), "unchanged");
            }
            let ((l1, v1), (l2, v2)) = (*rng.pick(&a), *rng.pick(&a));
            let (x, y) = (lines[l1][v1..].to_string(), lines[l2][v2..].to_string());
            lines[l1].replace_range(v1.., &y);
            lines[l2].replace_range(v2.., &x);
            (lines.join("\n").into_bytes(), "values swapped")
        }
        _ => {
            let mut b = bytes.to_vec();
            b.truncate(rng.below(b.len()));
            (b, "cut short")
        }
    }
}

/// Overrides that make a run short, tried in turn: a model whose faults come later
/// needs a longer run than 30 s. The requests are capped as well.
const SHORT: [&str; 5] = ["30s", "3m", "6m", "21m", "61m"];
/// The budget of a short run: a fraction of a second. A shortened mutant estimated to
/// cost more is refused by the budget check, as `--budget-events` would refuse it.
const SHORT_BUDGET: Budget = Budget { events: 4e6, memory_bytes: 512e6 };

fn short_sets(duration: &str) -> Vec<String> {
    vec![format!("run.duration=\"{duration}\""), "run.warmup=\"0s\"".into(), "run.replications=1".into(), "run.max_requests=5000".into()]
}

/// What happened to one mutant.
enum Outcome {
    /// Refused (exit 2) with this many problems.
    Refused(usize),
    /// Validated (exit 0), but even shortened over [`SHORT_BUDGET`], so refused by the
    /// budget check (exit 2 with that budget) and not run.
    OverShortBudget,
    /// Validated (exit 0), shortened with this duration, and one variant ran.
    Ran { duration: &'static str, events: f64, estimated_events: f64, heap: usize, estimated_bytes: f64, time: Duration },
}

/// Every problem names where it is: a line and column (a span) or a key path; the
/// message renders.
fn check_refusal(e: &ModelErrors) -> Result<usize, String> {
    let shown = e.to_string();
    if e.problems.is_empty() {
        return Err(format!("refused without a problem:\n{shown}"));
    }
    for p in &e.problems {
        if p.span.is_none() && p.path.is_none() && !e.text.trim().is_empty() {
            return Err(format!("a problem with no location: {p:?}\n{shown}"));
        }
    }
    Ok(e.problems.len())
}

/// Loads the mutant as `statesim validate` does and, if it validates, runs a short
/// simulation of its variant number `pick`.
fn evaluate(name: &str, bytes: &[u8], pick: usize) -> Result<Outcome, String> {
    let file = format!("models/{name}.toml");
    let text = match model_text(&file, bytes.to_vec()) {
        Ok(t) => t,
        Err(e) => return check_refusal(&e).map(Outcome::Refused),
    };
    if let Err(e) = load_str(&file, name, &text, &[]) {
        return check_refusal(&e).map(Outcome::Refused);
    }
    let shortened = SHORT.iter().map(|d| (*d, load_str_with(&file, name, &text, &short_sets(d), &SHORT_BUDGET)));
    let mut over_budget = false;
    let mut found = None;
    for (d, result) in shortened {
        match result {
            Ok(m) => {
                found = Some((d, m));
                break;
            }
            Err(e) => {
                check_refusal(&e)?;
                over_budget |= e.problems.iter().any(|p| p.message.contains("over the budget"));
            }
        }
    }
    let Some((duration, model)) = found else {
        return if over_budget { Ok(Outcome::OverShortBudget) } else { Err("it validates, but none of the short durations does".into()) };
    };
    let system = &model.variants[pick % model.variants.len()].system;
    let est = estimate(system);
    let start = Instant::now();
    let (run, heap) = heap::peak(|| run_once(system, 0));
    let time = start.elapsed();
    let m = |k: &str| run.metrics.get(k).copied().unwrap_or(f64::NAN);
    let (sent, ok, failed, in_flight) = (m(c::REQUESTS_SENT.key), m(c::REQUESTS_OK.key), m(c::REQUESTS_FAILED.key), m(c::REQUESTS_IN_FLIGHT.key));
    if sent != ok + failed + in_flight {
        return Err(format!("requests unaccounted for: sent {sent} != ok {ok} + failed {failed} + in flight {in_flight}"));
    }
    Ok(Outcome::Ran { duration, events: m(c::ENGINE_EVENTS.key), estimated_events: est.total_events(), heap, estimated_bytes: est.total_bytes(), time })
}

/// The mutants: `PER_MODEL` of each bundled model, each one to three mutations deep.
fn mutants() -> Vec<(&'static Bundled, usize, Vec<u8>, Vec<&'static str>)> {
    let mut rng = Rng(SEED);
    let others: Vec<&str> = bundled::MODELS.iter().map(|b| b.text).collect();
    let mut out = Vec::new();
    for b in bundled::MODELS {
        for i in 0..PER_MODEL {
            let mut bytes = b.text.as_bytes().to_vec();
            let mut what = Vec::new();
            // Mostly one mutation, so that many mutants still validate and run.
            let depth = [1, 1, 1, 1, 2, 2, 3][rng.below(7)];
            for _ in 0..depth {
                let (next, op) = mutate(&mut rng, &bytes, &others);
                bytes = next;
                what.push(op);
            }
            if bytes.is_empty() {
                bytes.push(b'\n');
            }
            out.push((b, i, bytes, what));
        }
    }
    out
}

#[test]
fn mutants_of_the_bundled_models_validate_or_are_refused_and_run_within_budget() {
    let all = mutants();
    let (tx, rx) = mpsc::channel();
    let work = all.clone();
    std::thread::spawn(move || {
        let results: Vec<Result<Outcome, String>> = work
            .par_iter()
            .map(|(b, i, bytes, _)| match catch_unwind(AssertUnwindSafe(|| evaluate(b.name, bytes, *i))) {
                Ok(r) => r,
                Err(panic) => Err(format!(
                    "panicked: {}",
                    panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
                )),
            })
            .collect();
        let _ = tx.send(results);
    });
    let results = rx.recv_timeout(TEST_TIME_LIMIT).expect("the mutants finish in time (a hang?)");

    let mut failures = Vec::new();
    let (mut refused, mut problems, mut ran, mut over) = (0, 0, 0, 0);
    let mut by_op: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut by_duration: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut worst_events, mut worst_heap) = (0.0f64, 0.0f64);
    let mut slowest = Vec::new();
    for ((b, i, bytes, what), result) in all.iter().zip(&results) {
        let fail = |why: String| format!("{} mutant {i} ({}): {why}\n----\n{}\n----", b.name, what.join(", "), String::from_utf8_lossy(bytes));
        let validated = match result {
            Err(why) => {
                failures.push(fail(why.clone()));
                continue;
            }
            Ok(Outcome::OverShortBudget) => {
                over += 1;
                true
            }
            Ok(Outcome::Refused(n)) => {
                refused += 1;
                problems += n;
                false
            }
            Ok(Outcome::Ran { duration, events, estimated_events, heap, estimated_bytes, time }) => {
                ran += 1;
                *by_duration.entry(duration).or_default() += 1;
                worst_events = worst_events.max(events / estimated_events);
                worst_heap = worst_heap.max(*heap as f64 / estimated_bytes);
                slowest.push((*time, format!("{} mutant {i} ({}, {duration}, {events} events)", b.name, what.join(", "))));
                if events.is_nan() || events > estimated_events {
                    failures.push(fail(format!("{events} events, more than the {estimated_events} estimated")));
                }
                if *heap as f64 > *estimated_bytes {
                    failures.push(fail(format!("{heap} bytes of heap at the peak, more than the {estimated_bytes} estimated")));
                }
                if *time > RUN_TIME_LIMIT {
                    failures.push(fail(format!("the short run took {time:?}")));
                }
                true
            }
        };
        for op in what {
            let e = by_op.entry(op).or_default();
            e.0 += 1;
            e.1 += validated as usize;
        }
    }
    println!(
        "{} mutants: {refused} refused (exit 2, {problems} problems), {} validated (exit 0): {ran} ran, {over} over the short budget",
        all.len(),
        ran + over
    );
    println!("mutations (used, of which in a mutant that validated): {by_op:?}");
    println!("short durations used: {by_duration:?}");
    slowest.sort();
    println!(
        "largest share of the estimate: events {worst_events:.3}, heap {worst_heap:.3}; slowest runs {:?}",
        slowest.iter().rev().take(3).collect::<Vec<_>>()
    );
    assert!(failures.is_empty(), "{} of {} mutants failed:\n{}", failures.len(), all.len(), failures.join("\n"));
    assert!(all.len() >= 300);
    // Neither outcome is rare, so both paths are exercised.
    assert!(refused >= all.len() / 5 && ran >= all.len() / 5, "refused {refused}, ran {ran}");
}

/// A sample of the mutants through the binary: `statesim validate` exits 0 or 2, never
/// panics, and agrees with the library on which.
#[test]
fn the_binary_agrees_on_a_sample_of_mutants() {
    let dir = tempfile::tempdir().unwrap();
    for (b, i, bytes, _) in mutants().into_iter().step_by(PER_MODEL / 2 + 1) {
        let file = dir.path().join(format!("{}.toml", b.name));
        std::fs::write(&file, &bytes).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_statesim")).arg("validate").arg(&file).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{} mutant {i}: {stderr}", b.name);
        let valid = model_text("m", bytes.clone()).ok().is_some_and(|t| load_str("m", b.name, &t, &[]).is_ok());
        assert_eq!(out.status.code(), Some(if valid { 0 } else { 2 }), "{} mutant {i}: {stderr}", b.name);
    }
}
