//! Sessions and auth: where a logged-in user's session lives (a server's memory, Redis,
//! or a signed token the client holds), what checking it costs on every request, what
//! a login costs, and revocation: firing someone and how long their session or token
//! still gets them in.
//!
//! Its stage checks the request's credentials: a lookup in this server's memory, a
//! Redis GET, or JWT verification on the CPU plus a blocklist check. A session lost
//! (its server died, or the request landed elsewhere) turns the request into a login
//! and counts the user as logged out. A login reads the database, then creates the
//! session or signs a token.
//!
//! A fired user keeps trying until no server accepts their session or token (a 401 from
//! a server whose cached blocklist is fresh does not stop them while another's is
//! stale); their exposure is the time from the ban until then, and the requests servers
//! accepted after the ban are counted too.
//!
//! Logouts are counted by cause: the session's state was lost while it was still valid
//! (what server-memory sessions risk), it reached the end of its lifetime (noticed by
//! the client before sending, or by the server when it expired on the way), or it was
//! revoked (a fired user turned away).

use super::core::{Core, Kind, NO_REQ, NO_SERVER, Step};
use super::lb::RouteKey;
use super::redis::{Command, Key, Reply};
use super::{Ctx, ReqId};
use crate::engine::{RngStreams, SimDuration, SimRng, SimTime};
use crate::metrics::catalog::{self, Put};
use crate::metrics::recorder::put_distribution;
use crate::metrics::series::{self, ColumnId};
use crate::metrics::{FailReason, Metrics};
use crate::policies::{BlocklistMode, FailMode, SessionStoreKind};
use crate::scenario::model::{SessionSpec, System};
use rand::RngExt;
use rand_distr::{Distribution as _, Exp1};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SessionEvent {
    /// A server fetches its copy of the JWT blocklist.
    BlocklistRefresh { server: u16 },
    /// Someone is fired: their session or token is revoked.
    Fire,
}

/// A fired user and what they still got.
#[derive(Clone, Copy, Debug)]
struct Firing {
    at: SimTime,
    /// When their session or token would have ended anyway (at or before the ban: they
    /// held none).
    expires: SimTime,
    /// When the ban had reached every server, so that none accepted the session or token
    /// any more (None: not yet, or never, as for a JWT without a blocklist).
    closed: Option<SimTime>,
    /// Requests whose session or token a server accepted after the ban.
    accepted: u64,
    /// Turned away (401) at least once since.
    refused: bool,
    /// Requests accepted after the ban had reached every server (a ban the store lost).
    accepted_after_in_force: u64,
}

impl Firing {
    /// Seconds from the ban until no server accepts the session or token: the ban has
    /// reached every server, or it has expired; a window still open at `end` counts to
    /// the end.
    fn exposure_s(&self, end: SimTime) -> f64 {
        let until = self.closed.unwrap_or(SimTime::MAX).min(self.expires.max(self.at)).min(end.max(self.at));
        until.since(self.at).as_secs_f64()
    }
}

/// Steps of the session stage that wait for a reply.
const WAIT_AUTH_LOOKUP: u8 = 1;
const WAIT_CREDENTIALS_READ: u8 = 2;
const WAIT_SESSION_WRITE: u8 = 3;

pub struct Sessions {
    pub spec: SessionSpec,
    fire_rate: f64,
    fire_until: SimTime,
    fired: BTreeMap<u32, Firing>,
    /// Fired users some server may still accept (a cached blocklist not yet refreshed
    /// everywhere), in the order they were fired.
    open: Vec<u32>,
    /// The time of the Redis state each server's blocklist copy reflects.
    blocklist_as_of: Vec<SimTime>,
    /// Each JWT blocklist entry written: when, and when its TTL (the token's remaining
    /// lifetime) ends it.
    blocklist_entries: Vec<(SimTime, SimTime)>,
    logins: u64,
    /// Logouts because the session or token reached the end of its lifetime.
    logouts_expired: u64,
    auth_lookups: u64,
    revocation: SimRng,
    /// The time series' column of logouts whose session state was lost, when sessions
    /// are on.
    state_lost_column: Option<ColumnId>,
}

impl Sessions {
    pub fn new(system: &System, streams: &RngStreams, core: &mut Core) -> Sessions {
        let on = system.sessions.store != SessionStoreKind::None;
        Sessions {
            state_lost_column: on.then(|| core.rec.register(&series::LOGOUTS_STATE_LOST)),
            spec: system.sessions.clone(),
            fire_rate: system.revocation.fire_rate_per_sec,
            fire_until: SimTime::ZERO + system.revocation.fire_until,
            fired: BTreeMap::new(),
            open: Vec::new(),
            blocklist_as_of: vec![SimTime::ZERO; system.fleet.max as usize],
            blocklist_entries: Vec::new(),
            logins: 0,
            logouts_expired: 0,
            auth_lookups: 0,
            revocation: streams.stream("revocation"),
        }
    }

    /// Every user starts logged in, with a session issued at a random moment over the
    /// past lifetime: server-memory sessions on the server the load balancer would pick
    /// for the user now, reference tokens in Redis with their remaining TTL.
    pub fn warm_start(&mut self, core: &mut Core) {
        let lifetime = self.spec.lifetime.0.max(1);
        for user in 0..core.population.users {
            let remaining = SimDuration(1 + core.rng.behaviour.random_range(0..lifetime));
            core.users[user as usize].token_expires = SimTime::ZERO + remaining;
            match self.spec.store {
                SessionStoreKind::ServerMemory => {
                    let key = RouteKey { user, ip: core.population.ip_of(user) };
                    if let Some(s) = core.lb.route(&key, 0, &mut core.rng.routing) {
                        core.users[user as usize].session_server = s;
                        core.users[user as usize].session_epoch = 0;
                    }
                }
                SessionStoreKind::Redis => {
                    core.redis.kv.apply(Command::Set(Key::Session(user), 1, Some(remaining)), SimTime::ZERO);
                }
                _ => {}
            }
        }
    }

    /// Servers with a cached blocklist refresh it out of phase, as independent
    /// processes do.
    pub fn start_blocklist_refreshes(&mut self, core: &mut Core, ctx: &mut Ctx) {
        if self.spec.store == SessionStoreKind::Jwt && self.spec.blocklist == BlocklistMode::Cached {
            let period = self.spec.blocklist_refresh;
            for s in 0..core.servers.len() {
                let phase = SimDuration(core.redis.rng.random_range(0..period.0.max(1)));
                ctx.emit(phase, SessionEvent::BlocklistRefresh { server: s as u16 });
            }
        }
    }

    pub fn start_firing(&mut self, core: &Core, ctx: &mut Ctx) {
        if self.fire_rate > 0.0 {
            let first = core.rec.warmup_end.0 + self.fire_gap().0;
            ctx.emit_at(SimTime(first), SessionEvent::Fire);
        }
    }

    fn fire_gap(&mut self) -> SimDuration {
        let e: f64 = Exp1.sample(&mut self.revocation);
        SimDuration::from_secs_f64(e / self.fire_rate)
    }

    pub fn on_event(&mut self, ev: SessionEvent, core: &mut Core, ctx: &mut Ctx) {
        match ev {
            SessionEvent::BlocklistRefresh { server } => {
                if core.servers[server as usize].state == super::server::ServerState::Up {
                    self.auth_lookups += 1;
                    let epoch = core.servers[server as usize].epoch;
                    core.redis.send(ctx, Command::FetchBlocklist, NO_REQ, server, epoch);
                }
                ctx.emit(self.spec.blocklist_refresh, SessionEvent::BlocklistRefresh { server });
            }
            SessionEvent::Fire => {
                self.fire(core, ctx);
                let next = ctx.now() + self.fire_gap();
                if next < self.fire_until {
                    ctx.emit_at(next, SessionEvent::Fire);
                }
            }
        }
    }

    /// Revokes a random user's session or token.
    fn fire(&mut self, core: &mut Core, ctx: &mut Ctx) {
        let now = ctx.now();
        let user = self.revocation.random_range(0..core.population.users);
        if self.fired.contains_key(&user) {
            return;
        }
        let expires = core.users[user as usize].token_expires;
        self.fired.insert(user, Firing { at: now, expires, closed: None, accepted: 0, refused: false, accepted_after_in_force: 0 });
        match (self.spec.store, self.spec.blocklist) {
            (SessionStoreKind::Redis, _) => core.redis.send(ctx, Command::Del(Key::Session(user)), NO_REQ, NO_SERVER, 0),
            (SessionStoreKind::Jwt, BlocklistMode::PerRequest | BlocklistMode::Cached) => {
                // The entry lives as long as the token would: its TTL is the token's
                // remaining lifetime. A token already expired needs none.
                if expires > now {
                    let ttl = expires.since(now);
                    self.blocklist_entries.push((now, expires));
                    core.redis.send(ctx, Command::Set(Key::Blocklist(user), 1, Some(ttl)), NO_REQ, NO_SERVER, 0);
                }
                if self.spec.blocklist == BlocklistMode::Cached {
                    self.open.push(user);
                    self.close_where_every_copy_has_it(core, now);
                }
            }
            (SessionStoreKind::ServerMemory, _) => {
                // The operator deletes the session on the server that holds it: from now
                // on no server has it.
                core.users[user as usize].session_server = NO_SERVER;
                self.close(core, user, now);
            }
            _ => {}
        }
    }

    /// No server accepts `user`'s session or token any more: their exposure ends, and
    /// the next 401 they get sends them away.
    fn close(&mut self, core: &mut Core, user: u32, now: SimTime) {
        if let Some(f) = self.fired.get_mut(&user)
            && f.closed.is_none()
        {
            f.closed = Some(now);
            core.users[user as usize].revoked_everywhere = true;
        }
    }

    /// Redis applied an operator's command: a reference token deleted, or a token put on
    /// the blocklist. Every lookup from now on refuses it, so with a store or a blocklist
    /// checked in Redis on every request no server accepts it any more.
    pub fn redis_applied(&mut self, core: &mut Core, cmd: Command, now: SimTime) {
        let per_request = match self.spec.store {
            SessionStoreKind::Redis => true,
            SessionStoreKind::Jwt => self.spec.blocklist == BlocklistMode::PerRequest,
            _ => false,
        };
        if let (true, Command::Del(Key::Session(user)) | Command::Set(Key::Blocklist(user), ..)) = (per_request, cmd) {
            self.close(core, user, now);
        }
    }

    /// A server's fresh copy of the blocklist arrived.
    pub fn blocklist_fetched(&mut self, core: &mut Core, server: u16, served_at: SimTime, now: SimTime) {
        let as_of = &mut self.blocklist_as_of[server as usize];
        *as_of = (*as_of).max(served_at);
        self.close_where_every_copy_has_it(core, now);
    }

    /// With a cached blocklist, a ban is in force once every server in service holds a
    /// copy fetched after it.
    fn close_where_every_copy_has_it(&mut self, core: &mut Core, now: SimTime) {
        let oldest = (0..core.servers.len())
            .filter(|&s| core.servers[s].state == super::server::ServerState::Up)
            .map(|s| self.blocklist_as_of[s])
            .min()
            .unwrap_or(SimTime::MAX);
        let mut open = std::mem::take(&mut self.open);
        open.retain(|&user| {
            let in_force = self.fired[&user].at <= oldest;
            if in_force {
                self.close(core, user, now);
            }
            !in_force
        });
        self.open = open;
    }

    /// The user's session was lost while still valid (its server died or was stopped,
    /// or the request landed on a server without it): they must log in again.
    fn state_lost(&self, core: &mut Core, now: SimTime, user: u32) {
        core.sessions_lost += 1;
        if let Some(col) = self.state_lost_column {
            core.rec.add(col, now, 1.0);
        }
        if let Some(u) = core.users.get_mut(user as usize)
            && core.rec.counts(now)
        {
            u.lost_session = true;
        }
    }

    /// The user's session or token reached the end of its lifetime: they log in again
    /// (a JWT is refreshed). Counted once per session, by whoever notices first: the
    /// client before sending, or the server checking a session that expired on the way.
    pub fn expired(&mut self, core: &mut Core, user: u32) {
        let u = &mut core.users[user as usize];
        if u.token_expires != SimTime::ZERO {
            u.token_expires = SimTime::ZERO;
            self.logouts_expired += 1;
        }
    }

    /// A fired user is turned away (401).
    fn revoked(&mut self, user: u32) -> Step {
        if let Some(f) = self.fired.get_mut(&user) {
            f.refused = true;
        }
        Step::Reject(FailReason::Unauthorized)
    }

    /// The stage: check the session or token the request carries.
    pub fn stage(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, req: ReqId) -> Step {
        let now = ctx.now();
        core.requests[req].auth_start = now;
        let r = &core.requests[req];
        let user = r.user;
        if !r.authenticated {
            return self.after_auth(core, ctx, server, req);
        }
        match self.spec.store {
            SessionStoreKind::None => self.after_auth(core, ctx, server, req),
            SessionStoreKind::ServerMemory => {
                let u = core.users[user as usize];
                let here = u.session_server == server && u.session_epoch == core.epoch16(server) && u.token_expires > now;
                if here {
                    self.admitted(core, ctx, server, req)
                } else if self.fired.contains_key(&user) {
                    self.revoked(user)
                } else {
                    if u.token_expires <= now {
                        // It expired on the way (or its expiry was already counted).
                        self.expired(core, user);
                    } else {
                        // The session is gone although still valid (its server died, or
                        // this is another server).
                        self.state_lost(core, now, user);
                    }
                    // Either way the user must log in again.
                    Self::becomes_login(core, req);
                    self.after_auth(core, ctx, server, req)
                }
            }
            SessionStoreKind::Redis => {
                self.auth_lookups += 1;
                self.ask_redis(core, ctx, Command::Get(Key::Session(user)), req, server, WAIT_AUTH_LOOKUP)
            }
            SessionStoreKind::Jwt => {
                let r = &mut core.requests[req];
                r.extra_cpu = r.extra_cpu + self.spec.jwt.verify;
                match self.spec.blocklist {
                    BlocklistMode::Off => self.admitted(core, ctx, server, req),
                    BlocklistMode::PerRequest => {
                        self.auth_lookups += 1;
                        self.ask_redis(core, ctx, Command::Get(Key::Blocklist(user)), req, server, WAIT_AUTH_LOOKUP)
                    }
                    BlocklistMode::Cached => {
                        let as_of = self.blocklist_as_of[server as usize];
                        if self.fired.get(&user).is_some_and(|f| f.at <= as_of) { self.revoked(user) } else { self.admitted(core, ctx, server, req) }
                    }
                }
            }
        }
    }

    fn ask_redis(&mut self, core: &mut Core, ctx: &mut Ctx, cmd: Command, req: ReqId, server: u16, step: u8) -> Step {
        core.requests[req].step = step;
        let epoch = core.servers[server as usize].epoch;
        core.redis.send(ctx, cmd, req, server, epoch);
        Step::Wait
    }

    fn becomes_login(core: &mut Core, req: ReqId) {
        let r = &mut core.requests[req];
        r.kind = Kind::Login { merge: false };
        r.authenticated = false;
    }

    /// Redis answered the request's lookup or its session write (None: refused).
    pub fn on_redis_reply(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, req: ReqId, reply: Option<Reply>) -> Step {
        if core.requests[req].step == WAIT_SESSION_WRITE {
            if reply.is_none() {
                // The session was never stored: the login failed, and the client holds
                // no session (not one that is lost later).
                let user = core.requests[req].user;
                core.users[user as usize].token_expires = SimTime::ZERO;
                return Step::Reject(FailReason::RedisUnavailable);
            }
            return Step::Next;
        }
        let user = core.requests[req].user;
        match (self.spec.store, reply) {
            (_, None) => {
                // Redis refused the connection.
                if self.spec.store == SessionStoreKind::Jwt && self.spec.blocklist_fail == FailMode::Open {
                    self.admitted(core, ctx, server, req)
                } else {
                    Step::Reject(FailReason::RedisUnavailable)
                }
            }
            (SessionStoreKind::Redis, Some(Reply::Value(Some(_)))) => self.admitted(core, ctx, server, req),
            (SessionStoreKind::Redis, Some(_)) => {
                if self.fired.contains_key(&user) {
                    self.revoked(user)
                } else {
                    // Not in Redis: it expired between the client's check and ours
                    // (Redis keeps a session for its whole lifetime); log in again.
                    let now = ctx.now();
                    if core.users[user as usize].token_expires <= now {
                        self.expired(core, user);
                    } else {
                        self.state_lost(core, now, user);
                    }
                    Self::becomes_login(core, req);
                    self.after_auth(core, ctx, server, req)
                }
            }
            (_, Some(Reply::Value(Some(_)))) => self.revoked(user),
            (_, Some(_)) => self.admitted(core, ctx, server, req),
        }
    }

    /// The request's credentials were accepted.
    fn admitted(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, req: ReqId) -> Step {
        let user = core.requests[req].user;
        if let Some(f) = self.fired.get_mut(&user) {
            f.accepted += 1;
            if f.closed.is_some_and(|closed| closed < ctx.now()) {
                // The ban had held everywhere: the store has lost it.
                f.accepted_after_in_force += 1;
            }
        }
        self.after_auth(core, ctx, server, req)
    }

    fn after_auth(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, req: ReqId) -> Step {
        let now = ctx.now();
        let r = &core.requests[req];
        if r.authenticated {
            let took = now.since(r.auth_start) + r.extra_cpu;
            core.rec.on_auth(r.sent_at, took);
        }
        if matches!(r.kind, Kind::Login { .. }) {
            core.requests[req].step = WAIT_CREDENTIALS_READ;
            let epoch = core.servers[server as usize].epoch;
            core.db.send(ctx, req, server, epoch, false, None);
            return Step::Wait;
        }
        Step::Next
    }

    /// The database answered: for a login, the credentials were read.
    pub fn on_db_reply(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, req: ReqId) -> Step {
        debug_assert_eq!(core.requests[req].step, WAIT_CREDENTIALS_READ);
        let now = ctx.now();
        let user = core.requests[req].user;
        if self.fired.contains_key(&user) {
            // A fired user cannot log in or refresh.
            core.users[user as usize].gone = true;
            return self.revoked(user);
        }
        self.logins += 1;
        let lifetime = self.spec.lifetime;
        let epoch = core.epoch16(server);
        let r = &mut core.requests[req];
        r.extra_cpu = r.extra_cpu + self.spec.login_cpu;
        let u = &mut core.users[user as usize];
        u.token_expires = now + lifetime;
        match self.spec.store {
            SessionStoreKind::ServerMemory => {
                u.session_server = server;
                u.session_epoch = epoch;
            }
            SessionStoreKind::Jwt => {
                r.extra_cpu = r.extra_cpu + self.spec.jwt.sign;
            }
            SessionStoreKind::Redis => {
                return self.ask_redis(core, ctx, Command::Set(Key::Session(user), 1, Some(lifetime)), req, server, WAIT_SESSION_WRITE);
            }
            SessionStoreKind::None => {}
        }
        Step::Next
    }

    pub fn report(&self, core: &Core, end: SimTime, m: &mut Metrics) {
        let rec = &core.rec;
        if self.spec.store != SessionStoreKind::None {
            let active = core.users.iter().filter(|u| u.active).count();
            let lost = core.users.iter().filter(|u| u.lost_session).count();
            m.put(&catalog::SESSIONS_LOGINS, self.logins as f64);
            m.put(&catalog::SESSIONS_LOGOUTS_STATE_LOST, core.sessions_lost as f64);
            m.put(&catalog::SESSIONS_LOGOUTS_EXPIRED, self.logouts_expired as f64);
            m.put(&catalog::SESSIONS_LOGOUTS_REVOKED, self.fired.values().filter(|f| f.refused).count() as f64);
            m.put(&catalog::SESSIONS_STATE_LOST_USERS, lost as f64);
            m.put(&catalog::SESSIONS_STATE_LOST_SHARE, if active == 0 { 0.0 } else { lost as f64 / active as f64 });
            m.put(&catalog::SESSIONS_ACTIVE_USERS, active as f64);
            if core.population.has_proxies() {
                let (mut by_nat, mut direct) = ([0usize; 2], [0usize; 2]);
                for (i, u) in core.users.iter().enumerate().filter(|(_, u)| u.active) {
                    let tally = if core.population.proxied(i as u32) { &mut by_nat } else { &mut direct };
                    tally[0] += 1;
                    tally[1] += u.lost_session as usize;
                }
                let share = |t: [usize; 2]| if t[0] == 0 { 0.0 } else { t[1] as f64 / t[0] as f64 };
                m.put(&catalog::SESSIONS_PROXY_STATE_LOST_USERS, by_nat[1] as f64);
                m.put(&catalog::SESSIONS_PROXY_STATE_LOST_SHARE, share(by_nat));
                m.put(&catalog::SESSIONS_DIRECT_STATE_LOST_SHARE, share(direct));
            }
            put_distribution(m, &catalog::AUTH_MS, &rec.auth_ns.to_hdr(), rec.auth_sum_ns);
        }
        if self.fire_rate > 0.0 {
            let exposures = self.exposures_s(end);
            let k = exposures.len() as f64;
            let accepted: u64 = self.fired.values().filter(|f| f.at < self.fire_until).map(|f| f.accepted).sum();
            m.put(&catalog::REVOCATION_FIRED, k);
            m.put(&catalog::REVOCATION_EXPOSURE_MEAN_S, if k == 0.0 { 0.0 } else { exposures.iter().sum::<f64>() / k });
            m.put(&catalog::REVOCATION_EXPOSURE_MAX_S, exposures.iter().copied().fold(0.0, f64::max));
            m.put(&catalog::REVOCATION_ACCEPTED_AFTER_BAN, accepted as f64);
            m.put(&catalog::REVOCATION_ACCEPTED_PER_FIRED_USER, if k == 0.0 { 0.0 } else { accepted as f64 / k });
            m.put(&catalog::REVOCATION_LOOKUPS, self.auth_lookups as f64);
            if core.redis.killed_at.is_some() {
                let again: u64 = self.fired.values().filter(|f| f.at < self.fire_until).map(|f| f.accepted_after_in_force).sum();
                m.put(&catalog::REVOCATION_ACCEPTED_AFTER_IN_FORCE, again as f64);
            }
            m.put(&catalog::REVOCATION_LOOKUPS_PER_REQUEST, if rec.sent == 0 { 0.0 } else { self.auth_lookups as f64 / rec.sent as f64 });
            if self.spec.store == SessionStoreKind::Jwt && self.spec.blocklist != BlocklistMode::Off {
                self.report_blocklist(rec.warmup_end, end, m);
            }
        }
    }

    /// The blocklist's size: its mean over the firing once it is full (from one token
    /// lifetime after the first ban to the last, where entries leave as fast as they
    /// come), its peak, and what Little's law multiplies: entries added per second and
    /// their mean TTL.
    fn report_blocklist(&self, firing_from: SimTime, end: SimTime, m: &mut Metrics) {
        let entries = &self.blocklist_entries;
        let (from, until) = (firing_from + self.spec.lifetime, self.fire_until.min(end));
        if until > from {
            let span = until.since(from).as_secs_f64();
            let held: f64 = entries.iter().map(|&(at, ends)| ends.min(until).0.saturating_sub(at.max(from).0) as f64 / 1e9).sum();
            let added = entries.iter().filter(|&&(at, _)| at >= from && at < until).count();
            m.put(&catalog::REVOCATION_BLOCKLIST_ENTRIES_MEAN, held / span);
            m.put(&catalog::REVOCATION_BLOCKLIST_ADDS_PER_S, added as f64 / span);
        }
        let ttl_mean =
            if entries.is_empty() { 0.0 } else { entries.iter().map(|&(at, ends)| ends.since(at).as_secs_f64()).sum::<f64>() / entries.len() as f64 };
        m.put(&catalog::REVOCATION_BLOCKLIST_TTL_MEAN_S, ttl_mean);
        // The peak: entries in and out in time order (an entry leaving at the instant
        // another arrives has left).
        let mut changes: Vec<(SimTime, i64)> = entries.iter().flat_map(|&(at, ends)| [(at, 1), (ends, -1)]).filter(|&(t, _)| t < end).collect();
        changes.sort_unstable();
        let (mut live, mut peak) = (0i64, 0i64);
        for (_, d) in changes {
            live += d;
            peak = peak.max(live);
        }
        m.put(&catalog::REVOCATION_BLOCKLIST_ENTRIES_MAX, peak as f64);
    }

    /// Each fired user's exposure (seconds from the ban until no server accepts their
    /// session or token; a window still open at `end` counts to it), in the order they
    /// were fired.
    pub fn exposures_s(&self, end: SimTime) -> Vec<f64> {
        let mut fired: Vec<&Firing> = self.fired.values().filter(|f| f.at < self.fire_until).collect();
        fired.sort_by_key(|f| f.at);
        fired.iter().map(|f| f.exposure_s(end)).collect()
    }
}
