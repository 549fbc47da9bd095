//! The smallest correct M/M/1 simulation one would write by hand (std BinaryHeap,
//! ChaCha8, exponential draws, no metrics), as a whole process: the reference that
//! `statesim run` of the same queue is timed against.
//!
//!   cargo build --release --example reference_mm1
//!   target/release/examples/reference_mm1 1000000
//!
//! Prints the mean time in system (theory for lambda = 0.9, mu = 1: 10 s).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

const LAMBDA: f64 = 0.9;
const MU: f64 = 1.0;

fn main() {
    let customers: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut exp = || -> f64 { Exp1.sample(&mut rng) };
    // (time ns, sequence, kind 0 = arrival / 1 = departure)
    let mut heap: BinaryHeap<Reverse<(u64, u64, u8)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut queue: VecDeque<u64> = VecDeque::new();
    let (mut arrived, mut total_in_system) = (0u64, 0u64);
    heap.push(Reverse(((exp() / LAMBDA * 1e9) as u64, seq, 0)));
    while let Some(Reverse((t, _, kind))) = heap.pop() {
        if kind == 0 {
            arrived += 1;
            if arrived < customers {
                seq += 1;
                heap.push(Reverse((t + (exp() / LAMBDA * 1e9) as u64, seq, 0)));
            }
            queue.push_back(t);
            if queue.len() == 1 {
                seq += 1;
                heap.push(Reverse((t + (exp() / MU * 1e9) as u64, seq, 1)));
            }
        } else {
            let arr = queue.pop_front().expect("a customer in service");
            total_in_system += t - arr;
            if !queue.is_empty() {
                seq += 1;
                heap.push(Reverse((t + (exp() / MU * 1e9) as u64, seq, 1)));
            }
        }
    }
    println!("mean time in system: {:.3} s over {customers} customers", total_in_system as f64 / customers as f64 / 1e9);
}
