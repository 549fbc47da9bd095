//! Redis: one command thread, a network round trip from each server, and a key-value
//! store with TTLs. Commands queue and are applied one at a time when served, so the
//! store is linearizable in service order.

use crate::engine::{SimDuration, SimTime};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// A deterministic hasher (keys are already well mixed).
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);
impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = crate::policies::lb::mix64(n);
    }
}

/// A Redis key: a namespace and an id (`session:42` is `Key::Session(42)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Session(u32),
    Blocklist(u32),
    Counter(u64),
}

/// One mixed word per key (a derived `Hash` would feed the namespace and the id byte by
/// byte, on every command).
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(match *self {
            Key::Session(id) => id as u64,
            Key::Blocklist(id) => 1 << 32 | id as u64,
            Key::Counter(id) => id ^ 1 << 63,
        });
    }
}

/// The commands the scenarios use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Command {
    Get(Key),
    /// SET key value, with an optional TTL (EX).
    Set(Key, i64, Option<SimDuration>),
    Del(Key),
    Incr(Key),
    Expire(Key, SimDuration),
    /// A read of the whole blocklist (SMEMBERS), for a server refreshing its copy.
    FetchBlocklist,
    /// A rate-limit check run atomically in Redis (a Lua script) on the key's state.
    RateCheck(u64),
    /// PUBLISH a WebSocket message (by id) to the channel every server subscribes to.
    Publish(u32),
    /// RPUSH a chat message (by id) onto its receiver's list and PUBLISH to their channel.
    MailboxPush(u32),
    /// LRANGE and DEL of a user's list, for a held request (`held`, of generation `generation`).
    MailboxRead {
        user: u32,
        held: u32,
        generation: u32,
    },
}

/// What a command returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reply {
    Value(Option<i64>),
    Ok,
}

#[derive(Clone, Debug, Default)]
pub struct KvStore {
    map: HashMap<Key, (i64, SimTime), BuildHasherDefault<KeyHasher>>,
}

impl KvStore {
    fn live(&self, key: &Key, now: SimTime) -> Option<i64> {
        self.map.get(key).filter(|(_, exp)| *exp > now).map(|(v, _)| *v)
    }

    /// Applies a command at time `now`.
    pub fn apply(&mut self, cmd: Command, now: SimTime) -> Reply {
        match cmd {
            Command::Get(k) => Reply::Value(self.live(&k, now)),
            Command::Set(k, v, ttl) => {
                self.map.insert(k, (v, ttl.map_or(SimTime::MAX, |t| now + t)));
                Reply::Ok
            }
            Command::Del(k) => {
                self.map.remove(&k);
                Reply::Ok
            }
            Command::Incr(k) => {
                let (v, exp) = match self.map.get(&k) {
                    Some(&(v, exp)) if exp > now => (v + 1, exp),
                    _ => (1, SimTime::MAX),
                };
                self.map.insert(k, (v, exp));
                Reply::Value(Some(v))
            }
            Command::Expire(k, ttl) => {
                if let Some(e) = self.map.get_mut(&k) {
                    e.1 = now + ttl;
                }
                Reply::Ok
            }
            Command::FetchBlocklist | Command::RateCheck(_) | Command::Publish(_) | Command::MailboxPush(_) | Command::MailboxRead { .. } => Reply::Ok,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// The keys still live at `now` (in no particular order: for counting only).
    pub fn live_keys(&self, now: SimTime) -> impl Iterator<Item = &Key> {
        self.map.iter().filter(move |(_, (_, exp))| *exp > now).map(|(k, _)| k)
    }

    /// Live keys whose value exists but that will never expire.
    pub fn keys_without_ttl(&self, now: SimTime) -> usize {
        self.map.values().filter(|(_, exp)| *exp == SimTime::MAX && *exp > now).count()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_incr_and_del() {
        let mut kv = KvStore::default();
        let t = |s: u64| SimTime(s * 1_000_000_000);
        let k = Key::Session(1);
        kv.apply(Command::Set(k, 7, Some(SimDuration::from_secs(10))), t(0));
        assert_eq!(kv.apply(Command::Get(k), t(5)), Reply::Value(Some(7)));
        assert_eq!(kv.apply(Command::Get(k), t(10)), Reply::Value(None));
        let c = Key::Counter(9);
        assert_eq!(kv.apply(Command::Incr(c), t(0)), Reply::Value(Some(1)));
        assert_eq!(kv.apply(Command::Incr(c), t(1)), Reply::Value(Some(2)));
        kv.apply(Command::Expire(c, SimDuration::from_secs(2)), t(1));
        assert_eq!(kv.apply(Command::Incr(c), t(4)), Reply::Value(Some(1)), "an expired counter starts again");
        kv.apply(Command::Del(k), t(0));
        assert_eq!(kv.apply(Command::Get(k), t(0)), Reply::Value(None));
    }
}
