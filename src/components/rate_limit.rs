//! Rate limits: a counter per key in each server's memory, or in Redis (an atomic
//! script, or INCR then EXPIRE), keyed by user, by IP or by API key; and what they let
//! an abusive client through, whom they turn away, and what a Redis outage does.
//!
//! Its stage is the first on the server: the check runs when a worker takes the request,
//! and a request over the limit is answered 429.

use super::backends::LimitMap;
use super::core::{Core, Step};
use super::redis::{Command, Key, Reply};
use super::{Ctx, ReqId};
use crate::engine::SimTime;
use crate::metrics::catalog::{self, Put};
use crate::metrics::recorder::put_distribution;
use crate::metrics::series::{self, ColumnId};
use crate::metrics::{FailReason, Metrics};
use crate::policies::{FailMode, LimitState};
use crate::policies::{LimitCommands, LimitKey, LimitStore};
use crate::scenario::model::{RateLimitSpec, System};
use std::collections::{BTreeMap, VecDeque};

pub struct RateLimits {
    spec: RateLimitSpec,
    /// Local counters, per server.
    local: Vec<LimitMap>,
    /// Each user's recent sends, to tell whether a rejected user was under the limit.
    recent: Vec<VecDeque<SimTime>>,
    abuser_sent: u64,
    abuser_allowed: u64,
    /// The abuser's allowed requests in the last window, and the most ever seen.
    abuser_window: VecDeque<SimTime>,
    abuser_max_sliding: usize,
    abuser_per_window: BTreeMap<u64, u32>,
    rejected_users: u64,
    rejected_nat: u64,
    wrongly_rejected: u64,
    allowed_while_redis_down: u64,
    /// The time series' column of the abuser's allowed requests.
    abuser_column: ColumnId,
}

impl RateLimits {
    pub fn new(system: &System, spec: &RateLimitSpec, users: usize, core: &mut Core) -> RateLimits {
        RateLimits {
            abuser_column: core.rec.register(&series::ABUSER_ALLOWED),
            spec: spec.clone(),
            local: (0..system.fleet.max).map(|_| LimitMap::default()).collect(),
            recent: vec![VecDeque::new(); users],
            abuser_sent: 0,
            abuser_allowed: 0,
            abuser_window: VecDeque::new(),
            abuser_max_sliding: 0,
            abuser_per_window: BTreeMap::new(),
            rejected_users: 0,
            rejected_nat: 0,
            wrongly_rejected: 0,
            allowed_while_redis_down: 0,
        }
    }

    /// A user sends a request: remember it, to judge a rejection later.
    pub fn on_send(&mut self, core: &Core, user: u32, now: SimTime) {
        let window = self.spec.limit.window;
        let recent = &mut self.recent[user as usize];
        recent.push_back(now);
        while recent.front().is_some_and(|t| now.0 >= t.0 + window.0) {
            recent.pop_front();
        }
        if user == core.abuser_id && core.rec.counts(now) {
            self.abuser_sent += 1;
        }
    }

    /// A killed server's counters were in its memory.
    pub fn on_server_killed(&mut self, server: u16) {
        self.local[server as usize].clear();
    }

    fn key(&self, core: &Core, req: ReqId) -> u64 {
        let r = &core.requests[req];
        match self.spec.key {
            LimitKey::User => r.user as u64,
            LimitKey::Ip => (1 << 40) | r.ip as u64,
            LimitKey::ApiKey => match core.population.group_of(r.user) {
                Some(g) => (2 << 40) | g as u64,
                None => r.user as u64,
            },
        }
    }

    /// The stage: the check, in this server's memory or in Redis.
    pub fn stage(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, req: ReqId) -> Step {
        let now = ctx.now();
        let key = self.key(core, req);
        let epoch = core.servers[server as usize].epoch;
        match (self.spec.store, self.spec.commands) {
            (LimitStore::Local, _) => {
                let limit = self.spec.limit;
                let state = self.local[server as usize].entry(key).or_insert_with(|| limit.new_state(now));
                let allowed = limit.check(state, now);
                self.decided(core, now, req, allowed)
            }
            (LimitStore::Redis, LimitCommands::Atomic) => {
                core.redis.send(ctx, Command::RateCheck(key), req, server, epoch);
                Step::Wait
            }
            (LimitStore::Redis, LimitCommands::IncrThenExpire) => {
                core.redis.send(ctx, Command::Incr(Key::Counter(key)), req, server, epoch);
                Step::Wait
            }
        }
    }

    /// Redis answered a rate-limit command (None: Redis refused the connection).
    pub fn on_redis_reply(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, req: ReqId, cmd: Command, reply: Option<Reply>) -> Step {
        let now = ctx.now();
        let Some(reply) = reply else {
            if core.redis.down && self.spec.fail == FailMode::Open && core.rec.counts(core.requests[req].sent_at) {
                self.allowed_while_redis_down += 1;
            }
            return match self.spec.fail {
                FailMode::Open => self.decided(core, now, req, true),
                FailMode::Closed => Step::Reject(FailReason::RedisUnavailable),
            };
        };
        match (cmd, reply) {
            (Command::RateCheck(_), Reply::Value(Some(v))) => self.decided(core, now, req, v == 1),
            (Command::Incr(k), Reply::Value(Some(count))) => {
                core.requests[req].limit_count = count as u32;
                if count == 1 {
                    // Second round trip: a crash before it lands leaves the key with no TTL.
                    let epoch = core.servers[server as usize].epoch;
                    core.redis.send(ctx, Command::Expire(k, self.spec.limit.window), req, server, epoch);
                    Step::Wait
                } else {
                    self.decided(core, now, req, count as u32 <= self.spec.limit.limit)
                }
            }
            (Command::Expire(..), _) => {
                let count = core.requests[req].limit_count;
                self.decided(core, now, req, count <= self.spec.limit.limit)
            }
            _ => self.decided(core, now, req, true),
        }
    }

    fn decided(&mut self, core: &mut Core, now: SimTime, req: ReqId, allowed: bool) -> Step {
        let r = &core.requests[req];
        let (user, sent_at) = (r.user, r.sent_at);
        // The check started when the worker took the request.
        core.rec.on_check(sent_at, now.since(r.auth_start));
        let counted = core.rec.counts(sent_at);
        if user == core.abuser_id {
            if allowed {
                core.rec.add(self.abuser_column, now, 1.0);
            }
            if allowed && counted {
                let window = self.spec.limit.window;
                self.abuser_allowed += 1;
                self.abuser_window.push_back(now);
                while self.abuser_window.front().is_some_and(|t| now.0 >= t.0 + window.0) {
                    self.abuser_window.pop_front();
                }
                self.abuser_max_sliding = self.abuser_max_sliding.max(self.abuser_window.len());
                *self.abuser_per_window.entry(now.0 / window.0).or_insert(0) += 1;
            }
        } else if !allowed && counted {
            self.rejected_users += 1;
            if core.population.group_of(user).is_some() {
                self.rejected_nat += 1;
            }
            // Was this user, on their own, under the limit? Count their sends in the window.
            if (self.recent[user as usize].len() as u32) <= self.spec.limit.limit {
                self.wrongly_rejected += 1;
            }
        }
        if allowed { Step::Next } else { Step::Reject(FailReason::RateLimited) }
    }

    pub fn report(&self, core: &Core, end: SimTime, window_s: f64, m: &mut Metrics) {
        let rl = &self.spec;
        let rec = &core.rec;
        let windows = (window_s / rl.limit.window.as_secs_f64()).max(1e-9);
        m.put(&catalog::RATELIMIT_ABUSER_SENT, self.abuser_sent as f64);
        m.put(&catalog::RATELIMIT_ABUSER_ALLOWED, self.abuser_allowed as f64);
        m.put(&catalog::RATELIMIT_ABUSER_ALLOWED_PER_WINDOW, self.abuser_allowed as f64 / windows);
        m.put(&catalog::RATELIMIT_ABUSER_MAX_ALIGNED_WINDOW, self.abuser_per_window.values().copied().max().unwrap_or(0) as f64);
        m.put(&catalog::RATELIMIT_ABUSER_MAX_SLIDING_WINDOW, self.abuser_max_sliding as f64);
        m.put(&catalog::RATELIMIT_USERS_REJECTED, self.rejected_users as f64);
        m.put(&catalog::RATELIMIT_NAT_USERS_REJECTED, self.rejected_nat as f64);
        m.put(&catalog::RATELIMIT_WRONGLY_REJECTED, self.wrongly_rejected as f64);
        m.put(&catalog::RATELIMIT_ALLOWED_WHILE_REDIS_DOWN, self.allowed_while_redis_down as f64);
        put_distribution(m, &catalog::RATELIMIT_CHECK_MS, &rec.check_ns.to_hdr(), rec.check_sum_ns);
        // Memory: keys live just before the end (at a window boundary they all expire).
        let end = SimTime(end.0.saturating_sub(1));
        let states: Vec<&LimitState> = match rl.store {
            LimitStore::Local => self.local.iter().flat_map(|mp| mp.values()).filter(|st| !rl.limit.expired(st, end)).collect(),
            LimitStore::Redis => core.redis.limits.values().filter(|st| !rl.limit.expired(st, end)).collect(),
        };
        let (keys, bytes) = if rl.commands == LimitCommands::IncrThenExpire {
            let k = core.redis.kv.len() as u64;
            (k, k * 56)
        } else {
            (states.len() as u64, states.iter().map(|st| st.memory_bytes()).sum::<u64>())
        };
        m.put(&catalog::RATELIMIT_KEYS, keys as f64);
        m.put(&catalog::RATELIMIT_BYTES_PER_KEY, if keys == 0 { 0.0 } else { bytes as f64 / keys as f64 });
        m.put(&catalog::RATELIMIT_KEYS_WITHOUT_TTL, core.redis.kv.keys_without_ttl(end) as f64);
    }
}
