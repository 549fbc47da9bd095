//! The load balancer's state: which servers are in rotation, open connections per
//! server, the round-robin cursor, cookies, and health-check counters. Decisions are
//! delegated to the pure functions of [`crate::policies::lb`].

use crate::engine::{SimDuration, SimRng, SimTime};
use crate::policies::lb::{Choices, HashRing, LbPolicy, RetryTarget, fewer_of_two, least_loaded, modulo_pick, next_after, two_candidates};
use crate::scenario::model::LbSpec;
use rand::RngExt;

const NO_SERVER: u16 = u16::MAX;

pub struct LoadBalancer {
    pub policy: LbPolicy,
    /// How the power of two choices draws its candidates.
    pub choices: Choices,
    pub retries: u32,
    /// Where a retry goes.
    retry_to: RetryTarget,
    /// Servers in rotation, ascending.
    pub rotation: Vec<u16>,
    in_rotation: Vec<bool>,
    /// Requests forwarded to each server and not yet answered.
    pub connections: Vec<u32>,
    cursor: usize,
    /// `cursor % round_robin_len`, for the list length of the last pick: the next pick
    /// from a list of that length needs no division.
    round_robin_at: usize,
    round_robin_len: usize,
    ring: Option<HashRing>,
    /// Cookie affinity: the server each user is pinned to, or NO_SERVER.
    cookies: Vec<u16>,
    /// Consecutive failed and passed probes per server.
    fails: Vec<u32>,
    passes: Vec<u32>,
    /// Taken out of rotation by the operator (deploy, scale-in, spot notice): health
    /// checks do not put it back.
    admin_out: Vec<bool>,
    /// Draining: out of rotation, but sticky users pinned to it still reach it.
    draining: Vec<bool>,
    /// Stale load information: the connections as of the last refresh, refreshed every
    /// `info_period` (zero: the policy reads live counts).
    info_period: SimDuration,
    snapshot: Vec<u32>,
    snapshot_at: Option<SimTime>,
    /// The time of the request being routed (set by the core before `route`).
    pub clock: SimTime,
    /// Instances side by side (1: one load balancer). With more, each request reaches
    /// one at random and each instance counts only the connections it opened itself:
    /// `own[instance * servers + server]`.
    pub instances: u8,
    own: Vec<u32>,
}

/// What a routing decision needs to know about the request.
pub struct RouteKey {
    pub user: u32,
    pub ip: u32,
}

impl LoadBalancer {
    pub fn new(spec: &LbSpec, servers: usize, users: u32) -> LoadBalancer {
        let policy = spec.policy;
        LoadBalancer {
            policy,
            choices: spec.choices,
            retries: spec.retries,
            retry_to: spec.retry_to,
            rotation: (0..servers as u16).collect(),
            in_rotation: vec![true; servers],
            connections: vec![0; servers],
            cursor: 0,
            round_robin_at: 0,
            round_robin_len: 0,
            ring: (policy == LbPolicy::ConsistentHash).then(|| HashRing::new(servers, spec.virtual_nodes)),
            cookies: if policy == LbPolicy::Cookie { vec![NO_SERVER; users as usize] } else { Vec::new() },
            fails: vec![0; servers],
            passes: vec![0; servers],
            admin_out: vec![false; servers],
            draining: vec![false; servers],
            info_period: spec.load_info_period,
            snapshot: Vec::new(),
            snapshot_at: None,
            clock: SimTime::ZERO,
            instances: spec.instances,
            own: if spec.instances > 1 { vec![0; servers * spec.instances as usize] } else { Vec::new() },
        }
    }

    /// The instance a new request reaches: one at random when there are several.
    pub fn pick_instance(&self, rng: &mut SimRng) -> u8 {
        if self.instances > 1 { rng.random_range(0..self.instances) } else { 0 }
    }

    /// `instance` opened a connection to `server`.
    #[inline(always)]
    pub fn open(&mut self, server: u16, instance: u8) {
        self.connections[server as usize] += 1;
        if self.instances > 1 {
            self.own[instance as usize * self.connections.len() + server as usize] += 1;
        }
    }

    /// The connection `instance` opened to `server` closed.
    #[inline(always)]
    pub fn close(&mut self, server: u16, instance: u8) {
        self.connections[server as usize] -= 1;
        if self.instances > 1 {
            self.own[instance as usize * self.connections.len() + server as usize] -= 1;
        }
    }

    /// Takes a server out of rotation until `register` (launch, deploy, scale-in).
    pub fn deregister(&mut self, server: u16, drain: bool) {
        let i = server as usize;
        self.admin_out[i] = true;
        self.draining[i] = drain;
        self.passes[i] = 0;
        if self.in_rotation[i] {
            self.in_rotation[i] = false;
            self.rebuild_rotation();
        }
    }

    /// Lets health checks put a (re)launched server into rotation.
    pub fn register(&mut self, server: u16) {
        self.admin_out[server as usize] = false;
        self.draining[server as usize] = false;
    }

    /// Forgets a user's cookie (their session ended).
    pub fn unpin(&mut self, user: u32) {
        if let Some(c) = self.cookies.get_mut(user as usize) {
            *c = NO_SERVER;
        }
    }

    pub fn is_in_rotation(&self, server: u16) -> bool {
        self.in_rotation[server as usize]
    }

    /// The next round-robin position in a list of `n` candidates (`cursor % n`).
    #[inline]
    fn round_robin(&mut self, n: usize) -> Option<usize> {
        if n == 0 {
            return None;
        }
        let at = if n == self.round_robin_len { self.round_robin_at } else { self.cursor % n };
        self.cursor = self.cursor.wrapping_add(1);
        self.round_robin_len = n;
        self.round_robin_at = if at + 1 == n { 0 } else { at + 1 };
        Some(at)
    }

    /// Refreshes the load snapshot if it is due (stale load information only).
    fn refresh_snapshot(&mut self) {
        if self.info_period.is_zero() {
            return;
        }
        let due = self.snapshot_at.is_none_or(|at| self.clock >= at + self.info_period);
        if due {
            self.snapshot.clone_from(&self.connections);
            // Refreshes fall on multiples of the period.
            self.snapshot_at = Some(SimTime(self.clock.0 - self.clock.0 % self.info_period.0));
        }
    }

    /// Picks a server for a first attempt, as instance `instance` sees the servers.
    pub fn route(&mut self, key: &RouteKey, instance: u8, rng: &mut SimRng) -> Option<u16> {
        let n = self.rotation.len();
        if n == 0 {
            return None;
        }
        self.refresh_snapshot();
        let servers = self.connections.len();
        let load = if self.instances > 1 {
            &self.own[instance as usize * servers..(instance as usize + 1) * servers]
        } else if self.info_period.is_zero() {
            &self.connections
        } else {
            &self.snapshot
        };
        match self.policy {
            LbPolicy::Random => Some(self.rotation[rng.random_range(0..n)]),
            LbPolicy::RoundRobin => self.round_robin(n).map(|at| self.rotation[at]),
            LbPolicy::LeastConnections => least_loaded(&self.rotation, load, rng),
            LbPolicy::PowerOfTwo => {
                let (a, b) = two_candidates(n, self.choices, rng);
                Some(fewer_of_two(self.rotation[a], self.rotation[b], load))
            }
            LbPolicy::IpHash => modulo_pick(key.ip as u64, &self.rotation),
            LbPolicy::ConsistentHash => {
                let in_rot = &self.in_rotation;
                self.ring.as_ref().expect("ring built for consistent-hash").lookup(key.ip as u64, |s| in_rot[s as usize])
            }
            LbPolicy::Cookie => {
                let pinned = self.cookies[key.user as usize];
                if pinned != NO_SERVER && (self.in_rotation[pinned as usize] || self.draining[pinned as usize]) {
                    return Some(pinned);
                }
                let s = self.round_robin(n).map(|at| self.rotation[at]);
                if let Some(s) = s {
                    self.cookies[key.user as usize] = s;
                }
                s
            }
        }
    }

    /// Picks another server after a refused connection: round-robin over servers in
    /// rotation not yet tried (`tried` is a bitmask of the first 64 servers).
    pub fn route_retry(&mut self, key: &RouteKey, tried: u64, failed: u16) -> Option<u16> {
        let candidates: Vec<u16> = self.rotation.iter().copied().filter(|&s| s >= 64 || tried & (1u64 << s) == 0).collect();
        let s = match self.retry_to {
            RetryTarget::RoundRobin => candidates[self.round_robin(candidates.len())?],
            RetryTarget::NextServer => next_after(&candidates, failed)?,
        };
        if self.policy == LbPolicy::Cookie {
            self.cookies[key.user as usize] = s;
        }
        Some(s)
    }

    /// Records one health probe; returns true if the rotation changed.
    pub fn probe(&mut self, server: u16, healthy: bool, unhealthy_after: u32, healthy_after: u32) -> bool {
        let i = server as usize;
        if healthy {
            self.fails[i] = 0;
            self.passes[i] += 1;
            if !self.in_rotation[i] && !self.admin_out[i] && self.passes[i] >= healthy_after {
                self.in_rotation[i] = true;
                self.rebuild_rotation();
                return true;
            }
        } else {
            self.passes[i] = 0;
            self.fails[i] += 1;
            if self.in_rotation[i] && self.fails[i] >= unhealthy_after {
                self.in_rotation[i] = false;
                self.rebuild_rotation();
                return true;
            }
        }
        false
    }

    fn rebuild_rotation(&mut self) {
        self.rotation = (0..self.in_rotation.len() as u16).filter(|&s| self.in_rotation[s as usize]).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Without a division, a pick is still the cursor modulo the list's length, whatever
        /// lengths follow one another (the rotation shrinks, retries pick among fewer).
        #[test]
        fn round_robin_is_the_cursor_modulo_the_length(lengths in proptest::collection::vec(0usize..7, 1..200)) {
            let mm1 = crate::bundled::find("mm1").expect("bundled");
            let model = crate::scenario::load_str(mm1.path, mm1.name, mm1.text, &[]).expect("mm1 validates");
            let mut lb = LoadBalancer::new(&model.variants[0].system.load_balancer, 8, 1);
            let mut cursor = 0usize;
            for n in lengths {
                let expected = if n == 0 { None } else { Some(cursor % n) };
                prop_assert_eq!(lb.round_robin(n), expected);
                if n > 0 {
                    cursor += 1;
                }
            }
        }
    }
}
