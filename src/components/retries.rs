//! Client retries: what a client does when a request fails or times out.
//!
//! A request as its user sees it (an *operation* here) is a first attempt and the
//! retries it takes; each attempt is an ordinary request of the core. A failed or
//! timed-out attempt is retried after the policy's backoff (at once, exponential, or
//! exponential with full jitter) while retries are left, the retry budget (a token
//! bucket filled by each first attempt) has a token and the circuit breaker is closed;
//! the breaker opens when enough of a window's attempts fail and fails every request at
//! once while open. A timed-out attempt is not cancelled: its server still does the work,
//! which is how retries feed an overload, and how a request gets executed twice.
//!
//! The part measures goodput (operations that end ok) per second, before the first fault
//! and after the last one is gone, and the time goodput takes to come back: with
//! retries that multiply the load, it may not (a metastable failure).

use super::core::{Core, Kind, Outcome};
use super::slab::Slab;
use super::{Ctx, ReqId};
use crate::engine::{RngStreams, SimDuration, SimRng, SimTime};
use crate::metrics::Metrics;
use crate::metrics::catalog::{self, Put};
use crate::metrics::series::{self, ColumnId};
use crate::policies::client_retry::backoff_ns;
use crate::scenario::model::{ClientRetrySpec, FaultAction, System};
use rand::RngExt;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RetryEvent {
    /// An operation's backoff is over: send its next attempt.
    Send { op: u32, generation: u32 },
}

/// Goodput within this share of its level before the fault counts as recovered.
const RECOVERED_SHARE: f64 = 0.9;
/// Goodput is judged over this many seconds.
const RECOVERY_WINDOW_S: usize = 10;
/// The "after" figures start this long after the last fault is gone.
const SETTLE_S: f64 = 30.0;
/// The budget's bucket holds at most this many retries.
const BUDGET_CAP: f64 = 10.0;

/// One operation: what to send again, and how far it got.
#[derive(Clone, Copy, Debug)]
struct Op {
    user: u32,
    kind: Kind,
    authenticated: bool,
    service: SimDuration,
    /// The attempt whose outcome decides (older ones have timed out).
    current: ReqId,
    attempts: u8,
    executions: u8,
    /// Attempts still in the core (a timed-out one stays until its answer arrives).
    live: u8,
    done: bool,
    counted: bool,
    after: bool,
    generation: u32,
}

pub struct ClientRetries {
    spec: ClientRetrySpec,
    ops: Slab<Op>,
    /// Per request slot: its operation and that operation's generation.
    by_req: Vec<(u32, u32)>,
    rng: SimRng,
    tokens: f64,
    open_until: SimTime,
    window_start: SimTime,
    window_attempts: u32,
    window_failed: u32,
    /// When the first fault strikes and when the last one is gone.
    fault_start: SimTime,
    fault_end: SimTime,
    ok_per_s: Vec<u32>,
    columns: [ColumnId; 2],
    requests: u64,
    ok: u64,
    gave_up: u64,
    attempts: u64,
    after_requests: u64,
    after_attempts: u64,
    budget_denied: u64,
    breaker_rejected: u64,
    breaker_openings: u64,
    duplicates: u64,
    retries: u64,
}

const NO_OP: (u32, u32) = (u32::MAX, 0);

impl ClientRetries {
    pub fn new(spec: &ClientRetrySpec, system: &System, streams: &RngStreams, core: &mut Core) -> ClientRetries {
        let end = SimTime::ZERO + system.run.duration;
        let mut fault_start = end;
        let mut fault_end = core.rec.warmup_end;
        for f in &system.faults {
            let at = SimTime::ZERO + f.at;
            let gone = match &f.action {
                FaultAction::Kill { restart_after: Some(d), .. } => at + *d + system.servers.boot_time,
                FaultAction::Kill { restart_after: None, .. } => end,
                FaultAction::RedisDown { lasting } | FaultAction::RedisSlow { lasting, .. } => at + *lasting,
                FaultAction::KillRedisPrimary { failover_after } => at + *failover_after,
                FaultAction::KillWorker { .. } | FaultAction::KillGateway { .. } => at,
            };
            fault_start = fault_start.min(at);
            fault_end = fault_end.max(gone.min(end));
        }
        ClientRetries {
            columns: [&series::RETRY_GOODPUT, &series::RETRY_RETRIES].map(|c| core.rec.register(c)),
            spec: spec.clone(),
            ops: Slab::default(),
            by_req: Vec::new(),
            rng: streams.stream("client-retries"),
            tokens: BUDGET_CAP,
            open_until: SimTime::ZERO,
            window_start: SimTime::ZERO,
            window_attempts: 0,
            window_failed: 0,
            fault_start,
            fault_end,
            ok_per_s: vec![0; system.run.duration.as_secs_f64().ceil() as usize + 1],
            requests: 0,
            ok: 0,
            gave_up: 0,
            attempts: 0,
            after_requests: 0,
            after_attempts: 0,
            budget_denied: 0,
            breaker_rejected: 0,
            breaker_openings: 0,
            duplicates: 0,
            retries: 0,
        }
    }

    fn breaker_open(&self, now: SimTime) -> bool {
        now < self.open_until
    }

    /// A user starts a request: its operation, or none if the open breaker fails it at once.
    pub fn start(&mut self, core: &Core, now: SimTime, user: u32, kind: Kind, authenticated: bool, service: SimDuration) -> Option<u32> {
        let counted = core.rec.counts(now);
        let after = now.0 as f64 >= self.fault_end.0 as f64 + SETTLE_S * 1e9;
        if counted {
            self.requests += 1;
            self.after_requests += after as u64;
        }
        if self.spec.budget.is_some() {
            self.tokens = (self.tokens + self.spec.budget.unwrap_or(0.0)).min(BUDGET_CAP);
        }
        if self.breaker_open(now) {
            if counted {
                self.breaker_rejected += 1;
                self.gave_up += 1;
            }
            return None;
        }
        let op = Op { user, kind, authenticated, service, current: u32::MAX, attempts: 0, executions: 0, live: 0, done: false, counted, after, generation: 0 };
        Some(self.ops.insert_with(|old| Op { generation: old.map_or(0, |o| o.generation.wrapping_add(1)), ..op }))
    }

    /// The core has just sent `req` as the next attempt of `op`.
    pub fn attach(&mut self, req: ReqId, op: u32) {
        let o = &mut self.ops[op];
        o.current = req;
        o.attempts += 1;
        o.live += 1;
        if o.counted {
            self.attempts += 1;
            self.after_attempts += o.after as u64;
        }
        if self.by_req.len() <= req as usize {
            self.by_req.resize(req as usize + 1, NO_OP);
        }
        self.by_req[req as usize] = (op, o.generation);
    }

    /// The operation of attempt `req`, if it still has one.
    fn op_of(&self, req: ReqId) -> Option<u32> {
        let (op, generation) = *self.by_req.get(req as usize)?;
        (op != u32::MAX && self.ops[op].generation == generation).then_some(op)
    }

    /// What to send for `op`'s next attempt, if the retry is still due.
    pub fn next_attempt(&self, op: u32, generation: u32) -> Option<(u32, Kind, bool, SimDuration)> {
        let o = &self.ops[op];
        (o.generation == generation && !o.done).then_some((o.user, o.kind, o.authenticated, o.service))
    }

    /// A server completed attempt `req`'s work.
    pub fn on_executed(&mut self, req: ReqId) {
        if let Some(op) = self.op_of(req) {
            let o = &mut self.ops[op];
            o.executions = o.executions.saturating_add(1);
            if o.executions == 2 && o.counted {
                self.duplicates += 1;
            }
        }
    }

    /// The answer to attempt `req` reaches its client (before the core counts it).
    pub fn on_answer(&mut self, core: &mut Core, ctx: &mut Ctx, req: ReqId) {
        let Some(op) = self.op_of(req) else { return };
        self.by_req[req as usize] = NO_OP;
        let r = &core.requests[req];
        let (timed_out, outcome) = (r.timed_out, r.outcome);
        self.ops[op].live -= 1;
        if !timed_out && self.ops[op].current == req {
            self.attempt_ended(core, ctx, op, outcome == Outcome::Ok);
        }
        self.free_if_finished(op);
    }

    /// The client gives up waiting for attempt `req` (before the core counts it).
    pub fn on_timeout(&mut self, core: &mut Core, ctx: &mut Ctx, req: ReqId, generation: u32) {
        let r = &core.requests[req];
        if r.generation != generation || !r.live || r.timed_out {
            return;
        }
        if let Some(op) = self.op_of(req)
            && self.ops[op].current == req
        {
            self.attempt_ended(core, ctx, op, false);
        }
    }

    fn free_if_finished(&mut self, op: u32) {
        let o = &self.ops[op];
        if o.done && o.live == 0 {
            self.ops.remove(op);
        }
    }

    /// The breaker counts an attempt's outcome; enough failures in a window open it.
    fn breaker_note(&mut self, now: SimTime, failed: bool) {
        let Some(b) = &self.spec.breaker else { return };
        if self.breaker_open(now) {
            return;
        }
        if now >= self.window_start + b.window {
            (self.window_start, self.window_attempts, self.window_failed) = (now, 0, 0);
        }
        self.window_attempts += 1;
        self.window_failed += failed as u32;
        if self.window_attempts >= b.min_requests && self.window_failed as f64 >= b.failure_share * self.window_attempts as f64 {
            self.open_until = now + b.open_for;
            (self.window_start, self.window_attempts, self.window_failed) = (self.open_until, 0, 0);
            self.breaker_openings += 1;
        }
    }

    fn attempt_ended(&mut self, core: &mut Core, ctx: &mut Ctx, op: u32, ok: bool) {
        let now = ctx.now();
        self.breaker_note(now, !ok);
        let counted = self.ops[op].counted;
        if ok {
            self.ops[op].done = true;
            if counted {
                self.ok += 1;
            }
            if let Some(c) = self.ok_per_s.get_mut(now.as_secs_f64() as usize) {
                *c += 1;
            }
            core.rec.add(self.columns[0], now, 1.0);
            return;
        }
        let o = self.ops[op];
        let retries_used = o.attempts as u32 - 1;
        let refused = if retries_used >= self.spec.max_retries {
            true
        } else if self.breaker_open(now) {
            self.breaker_rejected += counted as u64;
            true
        } else if self.spec.budget.is_some() && self.tokens < 1.0 {
            self.budget_denied += counted as u64;
            true
        } else {
            false
        };
        if refused {
            self.ops[op].done = true;
            self.gave_up += counted as u64;
            return;
        }
        if self.spec.budget.is_some() {
            self.tokens -= 1.0;
        }
        let u: f64 = self.rng.random();
        let wait = backoff_ns(self.spec.backoff, self.spec.base_delay.0, self.spec.max_delay.0, retries_used, u);
        ctx.hop(SimDuration(wait), RetryEvent::Send { op, generation: o.generation });
    }

    /// The world sent `op`'s retry as `req`.
    pub fn retry_sent(&mut self, core: &mut Core, now: SimTime, req: ReqId, op: u32) {
        core.rec.add(self.columns[1], now, 1.0);
        self.retries += self.ops[op].counted as u64;
        self.attach(req, op);
    }

    /// Goodput per second before the fault, after it, and when it came back.
    fn goodput(&self, warmup_end: SimTime, end: SimTime) -> (f64, f64, f64, bool) {
        let secs = |t: SimTime| t.as_secs_f64();
        let sum = |a: usize, b: usize| self.ok_per_s[a.min(self.ok_per_s.len())..b.min(self.ok_per_s.len())].iter().map(|&x| x as f64).sum::<f64>();
        let (w, fs, fe, e) = (secs(warmup_end), secs(self.fault_start), secs(self.fault_end), secs(end));
        let b0 = w.ceil() as usize;
        let b1 = (fs.floor() as usize).max(b0 + 1);
        let before = sum(b0, b1) / (b1 - b0) as f64;
        let a0 = (fe + SETTLE_S).ceil() as usize;
        let a1 = e.floor() as usize;
        let after = if a1 > a0 { sum(a0, a1) / (a1 - a0) as f64 } else { f64::NAN };
        let start = fe.ceil() as usize;
        let recovered_at =
            (start..a1.saturating_sub(RECOVERY_WINDOW_S - 1)).find(|&s| sum(s, s + RECOVERY_WINDOW_S) / RECOVERY_WINDOW_S as f64 >= RECOVERED_SHARE * before);
        match recovered_at {
            Some(s) => (before, after / before, (s as f64 - fe).max(0.0), true),
            None => (before, after / before, e - fe, false),
        }
    }

    pub fn report(&self, core: &Core, end: SimTime, window_s: f64, m: &mut Metrics) {
        let (before, after_share, recovery, recovered) = self.goodput(core.rec.warmup_end, end);
        let per = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        m.put(&catalog::RETRY_GOODPUT_PER_S, self.ok as f64 / window_s);
        m.put(&catalog::RETRY_GOODPUT_BEFORE_PER_S, before);
        m.put(&catalog::RETRY_GOODPUT_AFTER_SHARE, after_share);
        m.put(&catalog::RETRY_RECOVERY_S, recovery);
        m.put(&catalog::RETRY_RECOVERED, recovered as u8 as f64);
        m.put(&catalog::RETRY_REQUESTS, self.requests as f64);
        m.put(&catalog::RETRY_GAVE_UP, self.gave_up as f64);
        m.put(&catalog::RETRY_RETRIES_SENT, self.retries as f64);
        m.put(&catalog::RETRY_AMPLIFICATION, per(self.attempts, self.requests));
        m.put(&catalog::RETRY_AMPLIFICATION_AFTER, per(self.after_attempts, self.after_requests));
        m.put(&catalog::RETRY_BUDGET_DENIED, self.budget_denied as f64);
        m.put(&catalog::RETRY_BREAKER_REJECTED, self.breaker_rejected as f64);
        m.put(&catalog::RETRY_BREAKER_OPENINGS, self.breaker_openings as f64);
        m.put(&catalog::RETRY_DUPLICATE_EXECUTIONS, self.duplicates as f64);
    }
}
