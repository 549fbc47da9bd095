//! The world: the core and the parts together, as the engine's `World`.
//!
//! It routes each event to the part that owns it, moves a request along its pipeline
//! (the loop here, never a handler, calls the next stage), and carries out what spans
//! the parts: a new request (each part may shape it), a server kill (each part reacts),
//! and the run's report.

use super::backends::{DbEvent, RedisEvent};
use super::carts::{Carts, Visit};
use super::core::{Core, CoreEvent, Kind, NO_REQ, NO_SERVER, Stage, Step};
use super::fleet::Fleet;
use super::jobs::Jobs;
use super::long_polling::LongPolling;
use super::rate_limit::RateLimits;
use super::redis::{Command, Reply};
use super::retries::{ClientRetries, RetryEvent};
use super::sessions::Sessions;
use super::uploads::Uploads;
use super::websockets::WebSockets;
use super::{Ctx, Event, ReqId};
use crate::engine::{RngStreams, Scheduler, SimDuration, SimTime, World};
use crate::metrics::recorder::quantiles_ms;
use crate::metrics::{Metrics, RunResult};
use crate::policies::SessionStoreKind;
use crate::scenario::model::{Fault, FaultAction, System, Workload};
use rand::RngExt;

/// A backend's answer to a request waiting at a stage.
#[derive(Clone, Copy, Debug)]
enum BackendReply {
    Redis(Command, Option<Reply>),
    Db,
}

pub struct WebTier {
    pub core: Core,
    sessions: Sessions,
    carts: Carts,
    rate_limit: Option<RateLimits>,
    uploads: Option<Uploads>,
    ws: Option<WebSockets>,
    long_polling: Option<LongPolling>,
    jobs: Option<Jobs>,
    fleet: Fleet,
    retries: Option<ClientRetries>,
    faults: Vec<Fault>,
    /// The stages a request walks on a server, built from the system.
    pipeline: Vec<Stage>,
}

impl WebTier {
    /// Builds the world for one run of `system`, replication `replication`.
    pub fn new(system: &System, replication: u64) -> WebTier {
        let streams = RngStreams::new(system.run.seed, replication);
        let mut core = Core::new(system, &streams);
        // Uploads may extend an answer's trip (the client's own leg to S3), so the world
        // must see every answer arrive.
        core.answers_through_parts = system.uploads.is_some();
        let mut pipeline = Vec::new();
        if system.rate_limit.is_some() {
            pipeline.push(Stage::RateLimit);
        }
        if !core.users.is_empty() {
            pipeline.push(Stage::Session);
            pipeline.push(Stage::Cart);
        }
        pipeline.push(Stage::Work);
        let all_users = core.population.users as usize + system.clients.abuser.is_some() as usize;
        let warmup = SimTime::ZERO + system.run.warmup;
        // Parts register their time-series columns in the order of `series::PART_COLUMNS`.
        let sessions = Sessions::new(system, &streams, &mut core);
        let jobs = system.jobs.as_ref().map(|spec| Jobs::new(spec, warmup, &streams, &mut core));
        let rate_limit = system.rate_limit.as_ref().map(|spec| RateLimits::new(system, spec, all_users, &mut core));
        let fleet = Fleet::new(system, &streams, &mut core);
        let ws = system.websockets.as_ref().map(|spec| WebSockets::new(spec, system.run.duration, &streams, &mut core));
        let long_polling = system.long_polling.as_ref().map(|spec| LongPolling::new(spec, &streams, &mut core));
        if system.uploads.is_some() || system.jobs.is_some() {
            core.track_page_latency();
        }
        let carts = Carts::new(system, &mut core);
        let uploads = system.uploads.as_ref().map(|spec| Uploads::new(spec, &streams, &mut core));
        let retries = system.client_retries.as_ref().map(|spec| ClientRetries::new(spec, system, &streams, &mut core));
        // Client retries follow every answer, so every answer arrives as an event.
        core.answers_through_parts |= retries.is_some();
        WebTier { sessions, carts, rate_limit, uploads, ws, long_polling, jobs, fleet, retries, faults: system.faults.clone(), pipeline, core }
    }

    /// Schedules the first events: arrivals or every user's first wake-up, health
    /// checks, blocklist refreshes, connections, firings, faults and the fleet's own.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        let ctx = &mut Ctx::new(sched);
        let core = &mut self.core;
        core.start(ctx);
        let sessions = &self.sessions.spec;
        if sessions.warm_start && sessions.store != SessionStoreKind::None && !self.carts.spec.guests {
            self.sessions.warm_start(core);
        }
        core.redis.sync_replica();
        core.start_health_checks(ctx);
        self.sessions.start_blocklist_refreshes(core, ctx);
        if let Some(ws) = &mut self.ws {
            ws.start(core, ctx);
        }
        if let Some(lp) = &mut self.long_polling {
            lp.start(core, ctx);
        }
        core.start_abuser(ctx);
        self.sessions.start_firing(core, ctx);
        for (i, f) in self.faults.iter().enumerate() {
            ctx.emit(f.at, CoreEvent::Fault { index: i as u32 });
        }
        self.fleet.start(core, ctx);
    }

    fn dispatch(&mut self, event: Event, ctx: &mut Ctx) {
        match event {
            Event::Core(ev) => self.on_core(ev, ctx),
            Event::Sessions(ev) => self.sessions.on_event(ev, &mut self.core, ctx),
            Event::Ws(ev) => self.ws.as_mut().expect("websockets").on_event(ev, &mut self.core, ctx),
            Event::LongPoll(ev) => self.long_polling.as_mut().expect("long polling").on_event(ev, &mut self.core, ctx),
            Event::Jobs(ev) => self.jobs.as_mut().expect("jobs").on_event(ev, &mut self.core, ctx),
            Event::Fleet(ev) => {
                if let Some(stop) = self.fleet.on_event(ev, &mut self.core, ctx) {
                    self.kill(ctx, stop.server);
                    self.fleet.stopped(&mut self.core, ctx, stop);
                }
            }
            Event::Redis(ev) => self.on_redis(ev, ctx),
            Event::Retry(RetryEvent::Send { op, generation }) => self.send_retry(ctx, op, generation),
            Event::Db(DbEvent::Done { job }) => {
                let j = self.core.db.done(ctx, job);
                if self.core.is_up(j.server, j.epoch) {
                    self.resume(ctx, j.req, j.server, BackendReply::Db);
                }
            }
        }
    }

    fn on_core(&mut self, ev: CoreEvent, ctx: &mut Ctx) {
        let core = &mut self.core;
        match ev {
            CoreEvent::OpenArrival => {
                if core.stop_generating {
                    return;
                }
                let Workload::Open { rate_per_sec } = core.workload else { unreachable!() };
                if let Some(p) = core.profile {
                    // A changing rate by thinning: candidates at the peak rate, each kept
                    // with probability factor(t) / peak.
                    let peak = p.max_factor();
                    let gap = core.interarrival(rate_per_sec * peak);
                    ctx.emit(gap, CoreEvent::OpenArrival);
                    if core.rng.arrivals.random::<f64>() * peak > p.factor(ctx.now().as_secs_f64()) {
                        return;
                    }
                } else {
                    let gap = core.interarrival(rate_per_sec);
                    ctx.emit(gap, CoreEvent::OpenArrival);
                }
                let user = if core.identify_users { core.rng.users.random_range(0..core.population.users) } else { 0 };
                self.new_request(ctx, user);
            }
            CoreEvent::UserWakes { user } => {
                if !core.stop_generating {
                    self.new_request(ctx, user);
                }
            }
            CoreEvent::AbuserSends => {
                if !core.stop_generating {
                    let next = core.abuser_next(ctx.now());
                    ctx.emit_at(next, CoreEvent::AbuserSends);
                    let abuser = core.abuser_id;
                    self.new_request(ctx, abuser);
                }
            }
            CoreEvent::ReachLb { req } => {
                if let Some(server) = core.reach_lb(ctx, req) {
                    self.start_pipeline(ctx, req, server);
                }
            }
            CoreEvent::ReachServer { req, server } => {
                if core.arrive_at_server(ctx, req, server) {
                    self.start_pipeline(ctx, req, server);
                }
            }
            CoreEvent::Refused { req, server } => core.refused(ctx, req, server),
            CoreEvent::ServiceDone { req, server, epoch } => {
                if core.servers[server as usize].epoch != epoch {
                    return; // the server was killed; this request already failed
                }
                core.service_done(ctx.now(), req, server);
                if let Some(rt) = &mut self.retries {
                    rt.on_executed(req);
                }
                let kind = core.requests[req].kind;
                if kind == Kind::Job
                    && let Some(jobs) = &mut self.jobs
                {
                    jobs.on_request_done(core, ctx, req);
                }
                if let Some(u) = &mut self.uploads {
                    u.on_service_done(core, req, server);
                }
                if let Some(next) = core.complete(ctx, req, server) {
                    self.start_pipeline(ctx, next, server);
                }
            }
            CoreEvent::ReachClient { req } => {
                if let Some(u) = &mut self.uploads {
                    if u.client_leg(core, ctx, req) {
                        return;
                    }
                    u.on_answered(core, req, ctx.now());
                }
                if let Some(rt) = &mut self.retries {
                    rt.on_answer(core, ctx, req);
                }
                core.reach_client(ctx, req);
            }
            CoreEvent::ClientTimeout { req, generation } => {
                if let Some(rt) = &mut self.retries {
                    rt.on_timeout(core, ctx, req, generation);
                }
                core.client_timeout(ctx, req, generation)
            }
            CoreEvent::HealthCheck => {
                let (changed, taken_out) = core.health_check(ctx);
                if changed {
                    let now = ctx.now();
                    self.fleet.rotation_changed(core, now);
                    core.fleet_changed(now);
                }
                if core.health.is_some_and(|h| h.replace) {
                    // Replaced as an autoscaling group replaces an unhealthy instance:
                    // the process dies with what it held, and a new one boots.
                    for server in taken_out {
                        if self.core.rec.counts(ctx.now()) {
                            self.core.health_replaced += 1;
                        }
                        self.kill(ctx, server);
                        ctx.emit(SimDuration::ZERO, CoreEvent::ServerBoots { server });
                    }
                }
            }
            CoreEvent::Fault { index } => match self.faults[index as usize].action.clone() {
                FaultAction::Kill { server, restart_after } => {
                    self.kill(ctx, server as u16);
                    if let Some(after) = restart_after {
                        ctx.emit(after, CoreEvent::ServerBoots { server: server as u16 });
                    }
                }
                FaultAction::KillWorker { worker } => self.jobs.as_mut().expect("jobs").kill_worker(core, ctx, worker),
                FaultAction::KillGateway { gateway, restart_after } => self.ws.as_mut().expect("websockets").kill_gateway(ctx, gateway, restart_after),
                FaultAction::RedisDown { lasting } => {
                    core.redis.go_down(ctx);
                    ctx.emit(lasting, RedisEvent::Recovers);
                }
                FaultAction::KillRedisPrimary { failover_after } => core.redis.kill_primary(ctx, failover_after),
                FaultAction::RedisSlow { lasting, service, round_trip } => {
                    core.redis.slow_down(service, round_trip);
                    ctx.emit(lasting, RedisEvent::Recovers);
                }
            },
            CoreEvent::ServerBoots { server } => core.server_boots(ctx, server),
            CoreEvent::ServerReady { server, epoch } => core.server_ready(ctx.now(), server, epoch),
        }
    }

    fn on_redis(&mut self, ev: RedisEvent, ctx: &mut Ctx) {
        let core = &mut self.core;
        match ev {
            RedisEvent::Arrive { job } => core.redis.arrive(ctx, job),
            RedisEvent::Done { job } => {
                let now = ctx.now();
                let counted = core.rec.counts(now);
                let Some(cmd) = core.redis.finish(now, job, counted) else { return };
                let reply = match cmd {
                    Command::Publish(msg) => {
                        let delay = core.redis.one_way();
                        self.ws.as_mut().expect("websockets").published(core, ctx, msg, delay);
                        Reply::Ok
                    }
                    Command::MailboxPush(msg) => {
                        let delay = core.redis.one_way();
                        self.long_polling.as_mut().expect("long polling").mail_stored(core, ctx, msg, delay);
                        Reply::Ok
                    }
                    Command::MailboxRead { user, held, generation } => {
                        let delay = core.redis.one_way();
                        self.long_polling.as_mut().expect("long polling").mail_taken(core, ctx, user, held, generation, delay);
                        Reply::Ok
                    }
                    _ => {
                        let reply = core.redis.apply(cmd, now);
                        self.sessions.redis_applied(core, cmd, now);
                        reply
                    }
                };
                core.redis.answer(ctx, job, reply);
            }
            RedisEvent::Reply { job } => {
                let j = core.redis.take(job);
                if j.server == NO_SERVER || !core.is_up(j.server, j.epoch) {
                    return; // an operator's command, or the server died while waiting
                }
                if j.req == NO_REQ {
                    match (j.cmd, j.reply) {
                        (Command::FetchBlocklist, Some(_)) => self.sessions.blocklist_fetched(core, j.server, j.served_at, ctx.now()),
                        // Redis refused the message (or went down with it): the POST fails.
                        (Command::MailboxPush(msg), None) => self.long_polling.as_mut().expect("long polling").mail_refused(core, ctx, msg),
                        _ => {}
                    }
                    return;
                }
                self.resume(ctx, j.req, j.server, BackendReply::Redis(j.cmd, j.reply));
            }
            RedisEvent::Recovers => core.redis.recover(),
            RedisEvent::Promoted => core.redis.promote(),
        }
    }

    // ----- requests ------------------------------------------------------------------

    /// Decides what a user asks for next, from what the user holds.
    fn next_kind(&mut self, user: u32, now: SimTime) -> (Kind, bool) {
        let core = &mut self.core;
        let add = self.carts.adds_item(core);
        let browse = if add { Kind::AddToCart } else { Kind::Page };
        if core.users.is_empty() || self.sessions.spec.store == SessionStoreKind::None {
            return (browse, false);
        }
        if self.carts.spec.guests {
            return match self.carts.guest_visit(core, user) {
                Visit::Checkout => (Kind::Login { merge: true }, false),
                Visit::Browse => (browse, false),
            };
        }
        if core.users[user as usize].token_expires <= now {
            // The session ended (or the user never had one): the client drops its cookie
            // too, and logs in.
            self.sessions.expired(core, user);
            core.lb.unpin(user);
            return (Kind::Login { merge: false }, false);
        }
        (browse, true)
    }

    /// A user sends a request; each part may shape it (a job, an upload, a read).
    fn new_request(&mut self, ctx: &mut Ctx, user: u32) {
        let now = ctx.now();
        let mut service = self.core.draw_service();
        let (mut kind, authenticated) = if user == self.core.abuser_id { (Kind::Page, false) } else { self.next_kind(user, now) };
        let mut job_cpu = SimDuration::ZERO;
        if let Some(jobs) = &mut self.jobs
            && matches!(kind, Kind::Page | Kind::AddToCart)
            && let Some((cpu, request_cpu)) = jobs.choose(&self.core, now)
        {
            kind = Kind::Job;
            job_cpu = cpu;
            service = request_cpu;
        }
        let (mut bytes, mut file) = (0u64, 0u32);
        if let Some(u) = &mut self.uploads
            && matches!(kind, Kind::Page | Kind::AddToCart)
            && let Some((k, b, f)) = u.choose()
        {
            (kind, bytes, file) = (k, b, f);
        }
        if let Some(rl) = &mut self.rate_limit {
            rl.on_send(&self.core, user, now);
        }
        let op = match &mut self.retries {
            Some(rt) => match rt.start(&self.core, now, user, kind, authenticated, service) {
                Some(op) => Some(op),
                None => return, // the open circuit breaker failed it at once
            },
            None => None,
        };
        let sent = self.core.send(ctx, user, kind, authenticated, service, job_cpu, bytes, file);
        if let (Some(rt), Some(op)) = (&mut self.retries, op) {
            rt.attach(self.core.last_sent, op);
        }
        if let Some((req, server)) = sent {
            self.start_pipeline(ctx, req, server);
        }
    }

    /// A client's backoff is over: it sends its request again.
    fn send_retry(&mut self, ctx: &mut Ctx, op: u32, generation: u32) {
        let rt = self.retries.as_mut().expect("client retries");
        let Some((user, kind, authenticated, service)) = rt.next_attempt(op, generation) else { return };
        if self.core.stop_generating {
            return;
        }
        let sent = self.core.send(ctx, user, kind, authenticated, service, SimDuration::ZERO, 0, 0);
        let req = self.core.last_sent;
        rt.retry_sent(&mut self.core, ctx.now(), req, op);
        if let Some((req, server)) = sent {
            self.start_pipeline(ctx, req, server);
        }
    }

    fn start_pipeline(&mut self, ctx: &mut Ctx, req: ReqId, server: u16) {
        let step = self.run_stage(ctx, req, server);
        self.advance(ctx, req, server, step);
    }

    /// Moves a request along its pipeline until a stage waits or refuses it. A refused
    /// request frees its worker for the next queued one, which this same loop then moves
    /// on: a cascade of refusals through a long queue runs in constant stack.
    fn advance(&mut self, ctx: &mut Ctx, mut req: ReqId, server: u16, mut step: Step) {
        loop {
            match step {
                Step::Wait => return,
                Step::Reject(reason) => match self.core.reject(ctx, server, req, reason) {
                    Some(next) => {
                        req = next;
                        step = self.run_stage(ctx, req, server);
                    }
                    None => return,
                },
                Step::Next => {
                    let r = &mut self.core.requests[req];
                    r.stage += 1;
                    r.step = 0;
                    step = self.run_stage(ctx, req, server);
                }
            }
        }
    }

    fn run_stage(&mut self, ctx: &mut Ctx, req: ReqId, server: u16) -> Step {
        let core = &mut self.core;
        match self.pipeline[core.requests[req].stage as usize] {
            Stage::RateLimit => self.rate_limit.as_mut().expect("a rate limit").stage(core, ctx, server, req),
            Stage::Session => self.sessions.stage(core, ctx, server, req),
            Stage::Cart => self.carts.stage(core, ctx, server, req),
            Stage::Work => match &mut self.uploads {
                Some(u) if matches!(core.requests[req].kind, Kind::Upload | Kind::ReadFile) => u.transfer(core, ctx, server, req),
                _ => {
                    core.run_cpu(ctx, server, req);
                    Step::Wait
                }
            },
        }
    }

    /// A backend answered a request waiting at its stage: the stage goes on.
    fn resume(&mut self, ctx: &mut Ctx, req: ReqId, server: u16, reply: BackendReply) {
        let core = &mut self.core;
        let step = match (self.pipeline[core.requests[req].stage as usize], reply) {
            (Stage::RateLimit, BackendReply::Redis(cmd, reply)) => {
                self.rate_limit.as_mut().expect("a rate limit").on_redis_reply(core, ctx, server, req, cmd, reply)
            }
            (Stage::Session, BackendReply::Redis(_, reply)) => self.sessions.on_redis_reply(core, ctx, server, req, reply),
            (Stage::Session, BackendReply::Db) => self.sessions.on_db_reply(core, ctx, server, req),
            (Stage::Cart, BackendReply::Db) => self.carts.on_db_reply(),
            (stage, reply) => unreachable!("{reply:?} for a request at stage {stage:?}"),
        };
        self.advance(ctx, req, server, step);
    }

    /// A server's process dies: every part loses what it held there, and the requests
    /// it held fail or are retried elsewhere.
    fn kill(&mut self, ctx: &mut Ctx, server: u16) {
        let now = ctx.now();
        let Some(held) = self.core.kill(now, server) else { return };
        if let Some(rl) = &mut self.rate_limit {
            rl.on_server_killed(server);
        }
        if let Some(ws) = &mut self.ws {
            ws.on_server_killed(ctx, server);
        }
        if let Some(lp) = &mut self.long_polling {
            lp.on_server_killed(&self.core, ctx, server);
        }
        if let Some(jobs) = &mut self.jobs {
            jobs.on_server_killed(&self.core, now, &held.in_service);
        }
        if let Some(u) = &mut self.uploads {
            u.on_server_killed(&self.core, now, &held.in_service);
        }
        let victims = held.in_service.into_iter().map(|(r, _)| r).chain(held.queued);
        self.core.fail_with_server(ctx, server, victims);
    }

    /// Closes the books at `end`: busy time still running is counted, and the metrics
    /// and time series are computed.
    pub fn finish(mut self, end: SimTime, events: u64) -> RunResult {
        self.fleet.close(&mut self.core, end);
        self.core.close_page_latency();
        let core = &self.core;
        let window_s = end.since(core.rec.warmup_end).as_secs_f64().max(1e-9);
        let mut m = Metrics::new();
        let servers = core.report(end, window_s, events, &mut m);
        self.sessions.report(core, end, &mut m);
        self.carts.report(&mut m);
        if self.faults.iter().any(|f| matches!(f.action, FaultAction::KillRedisPrimary { .. })) {
            core.redis.report_failover(end, &mut m);
        }
        self.fleet.report(end, window_s, &mut m);
        if let Some(ws) = &self.ws {
            ws.report(window_s, &mut m);
        }
        if let Some(lp) = &self.long_polling {
            lp.report(core, end, window_s, &mut m);
        }
        if let Some(u) = &self.uploads {
            u.report(core, &mut m);
        }
        if let Some(jobs) = &self.jobs {
            jobs.report(core, end, window_s, &mut m);
        }
        if let Some(rl) = &self.rate_limit {
            rl.report(core, end, window_s, &mut m);
        }
        if let Some(rt) = &self.retries {
            rt.report(core, end, window_s, &mut m);
        }
        RunResult {
            metrics: m,
            servers,
            series: core.series(end),
            series_columns: core.rec.columns.clone(),
            exposures_s: self.sessions.exposures_s(end),
            latency_quantiles_ms: quantiles_ms(&core.rec.latency_ns),
            auth_quantiles_ms: quantiles_ms(&core.rec.auth_ns),
        }
    }
}

impl World for WebTier {
    type Event = Event;

    #[inline]
    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        self.dispatch(event, &mut Ctx::new(sched));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::run_until;
    use crate::metrics::catalog;
    use crate::scenario::load_str;

    fn tier(extra: &str) -> WebTier {
        let text = format!(
            "schema_version = 1\n[run]\nduration = \"20s\"\nwarmup = \"0s\"\n[clients]\nusers = 50\narrival_rate = \"20/s\"\n[servers]\ncount = 2\n{extra}"
        );
        let model = load_str("test.toml", "test", &text, &[]).expect("a valid model");
        WebTier::new(&model.variants[0].system, 0)
    }

    fn run(mut world: WebTier) -> RunResult {
        let mut sched = Scheduler::new();
        world.start(&mut sched);
        run_until(&mut world, &mut sched, SimTime::ZERO + SimDuration::from_secs(20));
        let end = sched.now();
        world.finish(end, sched.handled())
    }

    #[test]
    fn the_pipeline_has_a_stage_for_each_part_that_is_on() {
        assert_eq!(tier("").pipeline, vec![Stage::Work]);
        assert_eq!(tier("[sessions]\nstore = \"redis\"\n").pipeline, vec![Stage::Session, Stage::Cart, Stage::Work]);
        let limited = tier("[rate_limit]\nalgorithm = \"fixed-window\"\nstore = \"local\"\nkey = \"user\"\nlimit = 5\nwindow = \"10s\"\n");
        assert_eq!(limited.pipeline, vec![Stage::RateLimit, Stage::Work]);
    }

    #[test]
    fn a_killed_servers_memory_sessions_are_lost_and_redis_sessions_are_not() {
        let kill = "[[faults]]\nat = \"10s\"\nkill = \"server-1\"\n";
        let memory = run(tier(&format!("[sessions]\nstore = \"server-memory\"\n{kill}")));
        let redis = run(tier(&format!("[sessions]\nstore = \"redis\"\n{kill}")));
        assert!(memory.metrics[catalog::SESSIONS_LOGOUTS_STATE_LOST.key] > 0.0, "sessions in the dead server's memory are gone");
        assert_eq!(redis.metrics[catalog::SESSIONS_LOGOUTS_STATE_LOST.key], 0.0, "sessions in Redis survive a server");
        for r in [&memory, &redis] {
            let m = &r.metrics;
            let n = |metric: &catalog::Metric| m[metric.key];
            assert_eq!(n(&catalog::REQUESTS_SENT), n(&catalog::REQUESTS_OK) + n(&catalog::REQUESTS_FAILED) + n(&catalog::REQUESTS_IN_FLIGHT));
        }
    }
}
