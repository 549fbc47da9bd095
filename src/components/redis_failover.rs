//! Redis as primary and replica: the replication stream, and what a failover keeps.
//!
//! Every write the primary applies (a session stored or deleted, a blocklist entry, a
//! rate-limit counter's new state) goes into an ordered stream; the replica applies each
//! one a replication lag after the primary did (a drawn lag never lets a later write
//! overtake an earlier one). When the primary dies, the writes still in the stream are
//! lost: after the failover delay the replica is promoted with what it had. With no
//! replica an empty replacement takes over, and every key is lost. With synchronous
//! replication (WAIT) the replica has each write before the primary answers, so nothing
//! acknowledged is lost, and each write's answer waits for the lag instead.
//!
//! With a constant lag L and writes at rate w, the stream holds the writes of the last L
//! before the kill: about w x L of them are lost (`tests/suite/state_tier.rs` checks it).

use super::backends::LimitMap;
use super::redis::{Command, Key, KvStore};
use crate::engine::{Distribution, SimRng, SimTime};
use crate::policies::{LimitState, ReplicationMode};
use std::collections::VecDeque;

/// A write as the replica applies it.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A key-value command, applied at the primary's time (so TTLs end at the same moment).
    Kv(Command, SimTime),
    /// A rate-limit key's state after the script ran (scripts replicate by effect).
    Limit(u64, LimitState),
}

/// What a write was about, for counting what a failover loses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// A session stored at login.
    Session,
    /// A ban: a revoked session deleted, or a token put on the blocklist.
    Ban,
    /// A rate-limit counter changed.
    Counter,
    /// Anything else.
    Other,
}

impl Change {
    pub fn kind(&self) -> WriteKind {
        match self {
            Change::Kv(Command::Set(Key::Session(_), ..), _) => WriteKind::Session,
            Change::Kv(Command::Del(Key::Session(_)) | Command::Set(Key::Blocklist(_), ..), _) => WriteKind::Ban,
            Change::Kv(Command::Incr(_) | Command::Expire(..), _) | Change::Limit(..) => WriteKind::Counter,
            Change::Kv(..) => WriteKind::Other,
        }
    }
}

/// Whether a command changes the store (and so is replicated).
pub fn is_write(cmd: &Command) -> bool {
    matches!(cmd, Command::Set(..) | Command::Del(..) | Command::Incr(..) | Command::Expire(..))
}

/// Writes a failover lost, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lost {
    pub sessions: u64,
    pub bans: u64,
    pub counters: u64,
    pub other: u64,
}

impl Lost {
    pub fn add(&mut self, kind: WriteKind) {
        match kind {
            WriteKind::Session => self.sessions += 1,
            WriteKind::Ban => self.bans += 1,
            WriteKind::Counter => self.counters += 1,
            WriteKind::Other => self.other += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.sessions + self.bans + self.counters + self.other
    }
}

/// The replica: its own copy of the store, and the writes on their way to it.
pub struct Replica {
    pub mode: ReplicationMode,
    lag: Distribution,
    pub kv: KvStore,
    pub limits: LimitMap,
    /// Writes applied on the primary and not yet on the replica, with when they land.
    stream: VecDeque<(SimTime, Change)>,
    last_due: SimTime,
    rng: SimRng,
}

impl Replica {
    pub fn new(mode: ReplicationMode, lag: Distribution, rng: SimRng) -> Replica {
        Replica { mode, lag, kv: KvStore::default(), limits: LimitMap::default(), stream: VecDeque::new(), last_due: SimTime::ZERO, rng }
    }

    /// The replica starts as a full copy of the primary (a completed initial sync); with
    /// no replica there is nothing to copy to.
    pub fn sync_from(&mut self, kv: &KvStore, limits: &LimitMap) {
        if !self.mode.has_replica() {
            return;
        }
        self.kv = kv.clone();
        self.limits = limits.clone();
        self.stream.clear();
    }

    /// The primary applied `change` at `now`: it reaches the replica after the lag (at
    /// once with synchronous replication, whose cost is paid by the write's answer).
    pub fn record(&mut self, change: Change, now: SimTime) {
        self.catch_up(now);
        let due = match self.mode {
            ReplicationMode::None => return,
            ReplicationMode::Sync => now,
            ReplicationMode::Async => (now + self.lag.draw(&mut self.rng)).max(self.last_due),
        };
        self.last_due = due;
        if due <= now {
            self.apply(change);
        } else {
            self.stream.push_back((due, change));
        }
    }

    /// How long a synchronous write's answer waits for the replica.
    pub fn ack_delay(&mut self) -> crate::engine::SimDuration {
        self.lag.draw(&mut self.rng)
    }

    /// Applies every write due by `now`.
    pub fn catch_up(&mut self, now: SimTime) {
        while self.stream.front().is_some_and(|(due, _)| *due <= now) {
            let (_, change) = self.stream.pop_front().expect("a write");
            self.apply(change);
        }
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::Kv(cmd, at) => {
                self.kv.apply(cmd, at);
            }
            Change::Limit(key, state) => {
                self.limits.insert(key, state);
            }
        }
    }

    /// The primary dies at `now`: what had reached the replica stays, the rest is lost.
    pub fn primary_dies(&mut self, now: SimTime) -> Lost {
        self.catch_up(now);
        let mut lost = Lost::default();
        for (_, change) in self.stream.drain(..) {
            lost.add(change.kind());
        }
        lost
    }

    /// Writes on their way to the replica.
    pub fn in_flight(&self) -> usize {
        self.stream.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{RngStreams, SimDuration};

    fn ms(x: u64) -> SimTime {
        SimTime(x * 1_000_000)
    }

    fn replica(mode: ReplicationMode, lag_ms: f64) -> Replica {
        Replica::new(mode, Distribution::constant(lag_ms * 1e6), RngStreams::new(1, 0).stream("replica"))
    }

    fn set(user: u32) -> Change {
        Change::Kv(Command::Set(Key::Session(user), 1, Some(SimDuration::from_secs(60))), SimTime::ZERO)
    }

    #[test]
    fn writes_within_the_lag_of_the_kill_are_lost_and_older_ones_kept() {
        let mut r = replica(ReplicationMode::Async, 50.0);
        for (i, t) in [0, 10, 60, 100, 120].into_iter().enumerate() {
            r.record(Change::Kv(Command::Set(Key::Session(i as u32), 1, None), ms(t)), ms(t));
        }
        r.record(Change::Kv(Command::Set(Key::Blocklist(9), 1, None), ms(130)), ms(130));
        r.record(Change::Limit(7, LimitState::Fixed { window: 0, count: 3 }), ms(140));
        // At 150 ms the writes of 0, 10, 60 and 100 ms have landed; those of 120, 130 and 140 ms have not.
        let lost = r.primary_dies(ms(150));
        assert_eq!(lost, Lost { sessions: 1, bans: 1, counters: 1, other: 0 });
        assert_eq!(lost.total(), 3);
        assert_eq!(r.kv.len(), 4);
        assert!(r.limits.is_empty());
    }

    #[test]
    fn a_write_exactly_one_lag_old_has_landed() {
        let mut r = replica(ReplicationMode::Async, 50.0);
        r.record(set(1), ms(100));
        assert_eq!(r.primary_dies(ms(150)).total(), 0);
        let mut r = replica(ReplicationMode::Async, 50.0);
        r.record(set(1), ms(100));
        assert_eq!(r.primary_dies(ms(149)).total(), 1);
    }

    #[test]
    fn synchronous_replication_loses_nothing_and_no_replica_keeps_nothing() {
        let mut sync = replica(ReplicationMode::Sync, 50.0);
        let mut none = replica(ReplicationMode::None, 50.0);
        for t in 0..100 {
            sync.record(set(t), ms(t as u64));
            none.record(set(t), ms(t as u64));
        }
        assert_eq!(sync.primary_dies(ms(100)).total(), 0);
        assert_eq!(sync.kv.len(), 100);
        assert_eq!(none.in_flight(), 0);
        assert_eq!(none.kv.len(), 0, "no replica holds nothing");
        let mut primary = KvStore::default();
        primary.apply(Command::Set(Key::Session(1), 1, None), SimTime::ZERO);
        none.sync_from(&primary, &LimitMap::default());
        assert_eq!(none.kv.len(), 0, "not even the state at the start");
        sync.sync_from(&primary, &LimitMap::default());
        assert_eq!(sync.kv.len(), 1);
    }

    #[test]
    fn a_drawn_lag_never_reorders_the_stream() {
        let lag = Distribution::exponential(50e6);
        let mut r = Replica::new(ReplicationMode::Async, lag, RngStreams::new(3, 0).stream("replica"));
        let k = Key::Session(1);
        // Set, delete, set again: the replica must end with the last one, in order.
        for (t, cmd) in [(0, Command::Set(k, 1, None)), (1, Command::Del(k)), (2, Command::Set(k, 3, None))] {
            r.record(Change::Kv(cmd, ms(t)), ms(t));
        }
        r.catch_up(ms(100_000));
        assert_eq!(r.kv.apply(Command::Get(k), ms(100_000)), super::super::redis::Reply::Value(Some(3)));
    }

    proptest::proptest! {
        /// With a constant lag L, a kill at T loses exactly the writes applied in (T - L, T],
        /// whatever their times, and the replica holds all the others.
        #[test]
        fn a_kill_loses_exactly_the_writes_of_the_last_lag(
            mut times in proptest::collection::vec(0u64..10_000, 0..200),
            lag_ms in 0u64..2_000,
            kill_ms in 0u64..12_000,
        ) {
            times.sort_unstable();
            times.retain(|&t| t <= kill_ms);
            let mut r = replica(ReplicationMode::Async, lag_ms as f64);
            for (i, &t) in times.iter().enumerate() {
                r.record(Change::Kv(Command::Set(Key::Session(i as u32), 1, None), ms(t)), ms(t));
            }
            let lost = r.primary_dies(ms(kill_ms));
            let expected = times.iter().filter(|&&t| t + lag_ms > kill_ms).count() as u64;
            proptest::prop_assert_eq!(lost.total(), expected);
            proptest::prop_assert_eq!(lost.sessions, expected);
            proptest::prop_assert_eq!(r.kv.len() as u64, times.len() as u64 - expected);
        }
    }

    #[test]
    fn writes_are_classified_by_what_they_keep() {
        assert_eq!(set(1).kind(), WriteKind::Session);
        assert_eq!(Change::Kv(Command::Del(Key::Session(1)), SimTime::ZERO).kind(), WriteKind::Ban);
        assert_eq!(Change::Kv(Command::Incr(Key::Counter(1)), SimTime::ZERO).kind(), WriteKind::Counter);
        assert!(is_write(&Command::Expire(Key::Counter(1), SimDuration::from_secs(1))));
        assert!(!is_write(&Command::Get(Key::Session(1))));
    }
}
