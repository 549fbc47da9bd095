//! Load-balancing algorithms as data and pure decision functions.
//!
//! The load balancer component keeps the state (which servers are in rotation, open
//! connections, the round-robin cursor, cookies); the functions here only decide.

use crate::engine::SimRng;
use rand::RngExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the load balancer picks a server for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LbPolicy {
    /// Uniformly at random among servers in rotation.
    Random,
    /// Each server in rotation in turn.
    RoundRobin,
    /// The server in rotation with the fewest open connections (ties broken at random).
    LeastConnections,
    /// Two servers at random (see `load_balancer.choices`), the one with fewer open
    /// connections (either on a tie).
    PowerOfTwo,
    /// hash(client IP) modulo the number of servers in rotation: sticky, but a change in
    /// the rotation moves most clients.
    IpHash,
    /// A hash ring with virtual nodes keyed by client IP: a change moves about 1/n.
    ConsistentHash,
    /// Sticky by cookie: a user stays on the server that first served them while it is in
    /// rotation; new users and orphans are placed round-robin.
    Cookie,
}

impl LbPolicy {
    pub const ALL: [LbPolicy; 7] = [
        LbPolicy::Random,
        LbPolicy::RoundRobin,
        LbPolicy::LeastConnections,
        LbPolicy::PowerOfTwo,
        LbPolicy::IpHash,
        LbPolicy::ConsistentHash,
        LbPolicy::Cookie,
    ];
    pub fn name(self) -> &'static str {
        match self {
            LbPolicy::Random => "random",
            LbPolicy::RoundRobin => "round-robin",
            LbPolicy::LeastConnections => "least-connections",
            LbPolicy::PowerOfTwo => "power-of-two",
            LbPolicy::IpHash => "ip-hash",
            LbPolicy::ConsistentHash => "consistent-hash",
            LbPolicy::Cookie => "cookie",
        }
    }
    /// Whether the same client keeps landing on the same server.
    pub fn is_sticky(self) -> bool {
        matches!(self, LbPolicy::IpHash | LbPolicy::ConsistentHash | LbPolicy::Cookie)
    }
}

/// Where the load balancer sends a request again after its server refused it or died
/// with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RetryTarget {
    /// The next server in the round-robin rotation.
    RoundRobin,
    /// The server after the failed one, by number (server-6 after server-5), as a load
    /// balancer that walks its list of upstreams does.
    NextServer,
}

/// The first of `candidates` (ascending, none of them `failed`) after `failed`, wrapping
/// round to the lowest.
pub fn next_after(candidates: &[u16], failed: u16) -> Option<u16> {
    candidates.iter().copied().find(|&s| s > failed).or_else(|| candidates.first().copied())
}

/// How the power of two choices draws its two servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Choices {
    /// Two different servers, as NGINX's `random two` draws them.
    Distinct,
    /// Two independent draws, which may name the same server twice (the textbook model).
    Independent,
}

impl Choices {
    pub fn name(self) -> &'static str {
        match self {
            Choices::Distinct => "distinct",
            Choices::Independent => "independent",
        }
    }
}

/// The positions (in `0..n`, n >= 1) of the two candidates of the power of two choices,
/// in the order drawn. Distinct draws are uniform over ordered pairs of different
/// positions (one server alone is both candidates); independent draws over all n x n.
pub fn two_candidates(n: usize, choices: Choices, rng: &mut SimRng) -> (usize, usize) {
    let a = rng.random_range(0..n);
    match choices {
        Choices::Independent => (a, rng.random_range(0..n)),
        Choices::Distinct if n < 2 => (a, a),
        Choices::Distinct => {
            let b = rng.random_range(0..n - 1);
            (a, if b >= a { b + 1 } else { b })
        }
    }
}

/// A 64-bit mixing hash (SplitMix64's finaliser): stable across platforms and releases.
#[inline]
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Modulo hashing over the servers in rotation (sorted by index).
pub fn modulo_pick(key: u64, in_rotation: &[u16]) -> Option<u16> {
    if in_rotation.is_empty() {
        return None;
    }
    Some(in_rotation[(mix64(key) % in_rotation.len() as u64) as usize])
}

/// The fewest-connections server among `candidates`, ties broken uniformly at random
/// (one draw from `rng`, and only when there is a tie). Taking the lowest index on ties
/// gives the low-numbered servers more than their share: a staircase from server-1 down.
pub fn least_loaded(candidates: &[u16], connections: &[u32], rng: &mut SimRng) -> Option<u16> {
    let fewest = candidates.iter().map(|&s| connections[s as usize]).min()?;
    let mut tied = candidates.iter().copied().filter(|&s| connections[s as usize] == fewest);
    let count = tied.clone().count();
    if count == 1 {
        return tied.next();
    }
    tied.nth(rng.random_range(0..count))
}

/// Of two candidates, the one with fewer connections; the first drawn on a tie (which
/// of the two was drawn first is itself uniform, so no server is favoured).
pub fn fewer_of_two(a: u16, b: u16, connections: &[u32]) -> u16 {
    if connections[b as usize] < connections[a as usize] { b } else { a }
}

/// A consistent-hash ring: each server owns `virtual_nodes` points.
#[derive(Clone, Debug)]
pub struct HashRing {
    points: Vec<(u64, u16)>,
}

impl HashRing {
    pub fn new(servers: usize, virtual_nodes: u32) -> HashRing {
        let mut points: Vec<(u64, u16)> =
            (0..servers).flat_map(|s| (0..virtual_nodes).map(move |v| (mix64(((s as u64) << 32) ^ v as u64 ^ 0x5151_0000_0000_0000), s as u16))).collect();
        points.sort_unstable();
        HashRing { points }
    }

    /// The first point clockwise from hash(key) whose server is in rotation.
    pub fn lookup(&self, key: u64, in_rotation: impl Fn(u16) -> bool) -> Option<u16> {
        if self.points.is_empty() {
            return None;
        }
        let h = mix64(key);
        let start = self.points.partition_point(|&(p, _)| p < h);
        let n = self.points.len();
        (0..n).map(|i| self.points[(start + i) % n].1).find(|&s| in_rotation(s))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_retry_goes_to_the_server_after_the_failed_one() {
        assert_eq!(next_after(&[0, 1, 2, 3, 5, 6, 7], 4), Some(5));
        assert_eq!(next_after(&[0, 1, 2, 3, 5, 6], 6), Some(0), "wraps round");
        assert_eq!(next_after(&[], 4), None);
        assert_eq!(next_after(&[2, 3], u16::MAX), Some(2), "no failed server: the first");
    }
    use super::*;

    /// Removing one of n servers moves about 1/n of keys on a ring but about (n-1)/n
    /// under modulo hashing: the property the sticky-hashing model puts on trial.
    #[test]
    fn ring_moves_few_keys_modulo_moves_most() {
        let n = 10u16;
        let all: Vec<u16> = (0..n).collect();
        let without: Vec<u16> = (0..n).filter(|&s| s != 4).collect();
        let ring = HashRing::new(n as usize, 150);
        let keys = 100_000u64;
        let (mut ring_moved, mut mod_moved) = (0, 0);
        for k in 0..keys {
            let before = ring.lookup(k, |_| true).unwrap();
            let after = ring.lookup(k, |s| s != 4).unwrap();
            if before != after {
                ring_moved += 1;
            }
            if modulo_pick(k, &all) != modulo_pick(k, &without) {
                mod_moved += 1;
            }
        }
        let ring_share = ring_moved as f64 / keys as f64;
        let mod_share = mod_moved as f64 / keys as f64;
        assert!((ring_share - 0.1).abs() < 0.03, "ring moved {ring_share}");
        assert!(mod_share > 0.85, "modulo moved {mod_share}");
    }

    fn rng() -> SimRng {
        crate::engine::RngStreams::new(7, 0).stream("test")
    }

    /// Every count of `counts` (draws falling in each of k equally likely cells, so each
    /// is Binomial(N, 1/k)) is within Hoeffding's bound P(|c - N/k| >= t) <= 2 exp(-2 t^2 / N),
    /// Bonferroni-corrected over the k cells at family-wise level 1e-4.
    fn assert_uniform(counts: &[u64], what: &str) {
        let (total, k) = (counts.iter().sum::<u64>() as f64, counts.len() as f64);
        let t = (total * (2.0 * k / 1e-4).ln() / 2.0).sqrt();
        for (i, &c) in counts.iter().enumerate() {
            assert!((c as f64 - total / k).abs() < t, "{what}: cell {i} has {c}, expected {:.0} +- {t:.0}", total / k);
        }
    }

    #[test]
    fn least_loaded_breaks_ties_at_random() {
        let mut r = rng();
        assert_eq!(least_loaded(&[2, 0, 1], &[3, 1, 2], &mut r), Some(1), "no tie, no draw needed");
        assert_eq!(least_loaded(&[], &[], &mut r), None);
        // Servers 1, 3 and 4 tie with 1 connection: each is picked a third of the time.
        let connections = [2, 1, 5, 1, 1];
        let mut counts = [0u64; 5];
        for _ in 0..30_000 {
            counts[least_loaded(&[0, 1, 2, 3, 4], &connections, &mut r).unwrap() as usize] += 1;
        }
        assert_eq!((counts[0], counts[2]), (0, 0));
        assert_uniform(&[counts[1], counts[3], counts[4]], "ties");
    }

    /// Distinct draws never name one server twice and are uniform over ordered pairs;
    /// independent draws name the same server with probability 1/n.
    #[test]
    fn two_candidates_distinct_and_independent() {
        let mut r = rng();
        for n in 2..=6 {
            let mut pairs = vec![0u64; n * n];
            for _ in 0..20_000 * n {
                let (a, b) = two_candidates(n, Choices::Distinct, &mut r);
                assert_ne!(a, b, "n = {n}");
                pairs[a * n + b] += 1;
            }
            let off_diagonal: Vec<u64> = (0..n * n).filter(|i| i / n != i % n).map(|i| pairs[i]).collect();
            assert_uniform(&off_diagonal, &format!("distinct pairs, n = {n}"));
            let mut pairs = vec![0u64; n * n];
            for _ in 0..20_000 * n {
                let (a, b) = two_candidates(n, Choices::Independent, &mut r);
                pairs[a * n + b] += 1;
            }
            assert_uniform(&pairs, &format!("independent pairs, n = {n}"));
        }
        assert_eq!(two_candidates(1, Choices::Distinct, &mut r), (0, 0), "one server is both candidates");
    }

    #[test]
    fn fewer_of_two_takes_the_first_on_a_tie() {
        assert_eq!(fewer_of_two(3, 1, &[0, 2, 0, 2]), 3);
        assert_eq!(fewer_of_two(1, 3, &[0, 2, 0, 2]), 1);
        assert_eq!(fewer_of_two(1, 2, &[0, 2, 0, 2]), 2);
    }
}
