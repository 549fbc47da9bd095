//! The database's read replicas, and read-your-writes.
//!
//! Writes go to the primary; each reaches the replicas a replication lag after it
//! committed. Reads go where `database.read_from` says: to a replica (any of them, drawn
//! at random), to the primary, or to the primary for a while after the reader's own write.
//! A read of a user's cart served by a replica before that user's latest cart write has
//! reached it is stale: the user added an item (or merged a cart) and the next page shows
//! the cart without it.
//!
//! With a constant lag L, a reader whose next request comes an exponential think time
//! (mean T) plus a few fixed hops c after the write sees a stale first read with
//! probability about 1 - exp(-(L - c) / T) (`tests/suite/state_tier.rs` checks it).

use crate::engine::{Distribution, SimDuration, SimRng, SimTime};
use crate::metrics::Metrics;
use crate::metrics::catalog::{self, Put};
use crate::policies::ReadFrom;
use crate::scenario::model::DatabaseSpec;
use rand::RngExt;

/// Where a read goes: the primary, or replica `k` (from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    Primary,
    Replica(u16),
}

pub struct ReadReplicas {
    count: u16,
    lag: Distribution,
    read_from: ReadFrom,
    primary_after_write: SimDuration,
    /// Per user: when their latest cart write is on the replicas, until when their reads go
    /// to the primary, and whether their next cart read is the first since a write.
    visible_at: Vec<SimTime>,
    primary_until: Vec<SimTime>,
    after_write: Vec<bool>,
    rng: SimRng,
    warmup: SimTime,
    pub cart_reads: u64,
    pub stale_reads: u64,
    pub reads_after_write: u64,
    pub stale_after_write: u64,
    pub primary_reads: u64,
    pub replica_reads: u64,
}

impl ReadReplicas {
    pub fn new(spec: &DatabaseSpec, users: usize, warmup: SimTime, rng: SimRng) -> ReadReplicas {
        ReadReplicas {
            count: spec.read_replicas as u16,
            lag: spec.replication_lag.clone(),
            read_from: spec.read_from,
            primary_after_write: spec.primary_after_write,
            visible_at: vec![SimTime::ZERO; users],
            primary_until: vec![SimTime::ZERO; users],
            after_write: vec![false; users],
            rng,
            warmup,
            cart_reads: 0,
            stale_reads: 0,
            reads_after_write: 0,
            stale_after_write: 0,
            primary_reads: 0,
            replica_reads: 0,
        }
    }

    pub fn replicas(&self) -> usize {
        self.count as usize
    }

    /// Where a read (of `user`'s cart, or another read) goes at `now`.
    pub fn route(&mut self, user: Option<u32>, now: SimTime) -> Node {
        let primary = match self.read_from {
            ReadFrom::Primary => true,
            ReadFrom::Replicas => false,
            ReadFrom::PrimaryAfterWrite => user.is_some_and(|u| self.primary_until[u as usize] > now),
        };
        let counted = now >= self.warmup;
        if primary || self.count == 0 {
            self.primary_reads += counted as u64;
            Node::Primary
        } else {
            self.replica_reads += counted as u64;
            Node::Replica(self.rng.random_range(0..self.count))
        }
    }

    /// A read of `user`'s cart starts on `node` at `now`: stale if a replica does not have
    /// the user's latest write yet.
    pub fn cart_read(&mut self, user: u32, node: Node, now: SimTime) {
        let u = user as usize;
        let stale = node != Node::Primary && now < self.visible_at[u];
        let first = std::mem::take(&mut self.after_write[u]);
        if now < self.warmup {
            return;
        }
        self.cart_reads += 1;
        self.stale_reads += stale as u64;
        if first {
            self.reads_after_write += 1;
            self.stale_after_write += stale as u64;
        }
    }

    /// `user`'s cart write committed on the primary at `now`.
    pub fn cart_written(&mut self, user: u32, now: SimTime) {
        let u = user as usize;
        self.visible_at[u] = now + self.lag.draw(&mut self.rng);
        self.primary_until[u] = now + self.primary_after_write;
        self.after_write[u] = true;
    }

    pub fn report(&self, replica_utilisation: f64, m: &mut Metrics) {
        let share = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        m.put(&catalog::DATABASE_CART_READS, self.cart_reads as f64);
        m.put(&catalog::DATABASE_STALE_READS, self.stale_reads as f64);
        m.put(&catalog::DATABASE_STALE_READ_SHARE, share(self.stale_reads, self.cart_reads));
        m.put(&catalog::DATABASE_READS_AFTER_WRITE, self.reads_after_write as f64);
        m.put(&catalog::DATABASE_STALE_AFTER_WRITE_SHARE, share(self.stale_after_write, self.reads_after_write));
        m.put(&catalog::DATABASE_PRIMARY_READ_SHARE, share(self.primary_reads, self.primary_reads + self.replica_reads));
        m.put(&catalog::DATABASE_REPLICA_UTILISATION, replica_utilisation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    fn spec(read_from: ReadFrom) -> DatabaseSpec {
        DatabaseSpec {
            connections: 10,
            read: Distribution::constant(1e6),
            write: Distribution::constant(3e6),
            read_replicas: 2,
            replication_lag: Distribution::constant(1e9),
            read_from,
            primary_after_write: SimDuration::from_secs(2),
        }
    }

    fn s(x: f64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs_f64(x)
    }

    fn replicas(read_from: ReadFrom) -> ReadReplicas {
        ReadReplicas::new(&spec(read_from), 3, SimTime::ZERO, RngStreams::new(1, 0).stream("db-replicas"))
    }

    #[test]
    fn a_replica_read_within_the_lag_of_the_users_write_is_stale() {
        let mut r = replicas(ReadFrom::Replicas);
        r.cart_written(0, s(10.0));
        let node = r.route(Some(0), s(10.5));
        assert!(matches!(node, Node::Replica(_)));
        r.cart_read(0, node, s(10.5));
        r.cart_read(0, node, s(11.0)); // exactly one lag later: the write has landed
        r.cart_read(1, node, s(10.5)); // another user's cart is not behind
        assert_eq!((r.cart_reads, r.stale_reads, r.reads_after_write, r.stale_after_write), (3, 1, 1, 1));
    }

    #[test]
    fn reads_after_a_write_go_to_the_primary_for_a_while() {
        let mut r = replicas(ReadFrom::PrimaryAfterWrite);
        r.cart_written(0, s(10.0));
        assert_eq!(r.route(Some(0), s(11.9)), Node::Primary);
        assert!(matches!(r.route(Some(0), s(12.0)), Node::Replica(_)));
        assert!(matches!(r.route(Some(1), s(10.1)), Node::Replica(_)));
        assert!(matches!(r.route(None, s(10.1)), Node::Replica(_)));
        let mut p = replicas(ReadFrom::Primary);
        assert_eq!(p.route(Some(2), s(0.0)), Node::Primary);
        assert_eq!((p.primary_reads, p.replica_reads), (1, 0));
    }
}
