//! Load-balancing algorithms as data and pure decision functions.
//!
//! The load balancer component keeps the state (which servers are in rotation, open
//! connections, the round-robin cursor, cookies); the functions here only decide.

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
    /// The server in rotation with the fewest open connections (lowest index on ties).
    LeastConnections,
    /// Two servers at random, the one with fewer open connections.
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

/// The fewest-connections server among `candidates`, lowest index on ties.
pub fn least_loaded(candidates: &[u16], connections: &[u32]) -> Option<u16> {
    candidates.iter().copied().min_by_key(|&s| (connections[s as usize], s))
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

    #[test]
    fn least_loaded_breaks_ties_by_index() {
        assert_eq!(least_loaded(&[2, 0, 1], &[3, 1, 1]), Some(1));
        assert_eq!(least_loaded(&[], &[]), None);
    }
}
