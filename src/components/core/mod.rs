//! The core of the web tier: what every scenario shares.
//!
//! Clients send requests (an open Poisson stream, a closed population thinking between
//! requests, and an abusive client); the load balancer routes them, with retries and
//! health checks; each server holds a request on one of its workers while the request
//! walks its pipeline, then answers through the load balancer. Redis and the database
//! are shared backends any part may use. Parts add stages and state; the core never
//! names a part.
//!
//! Architecture invariant: every request sent ends in exactly one client-side outcome
//! (ok, or failed with one reason) or is still in flight when the run ends; the property
//! test in `tests/suite/accounting.rs` checks `sent = ok + failed + in_flight`.

use super::backends::{DbNode, RedisNode};
use super::clients::Population;
use super::lb::{LoadBalancer, RouteKey};
pub use super::request::{Kind, NO_REQ, NO_SERVER, Outcome, Request, Stage, Step, UserState};
use super::server::ServerState;
pub use super::server::WebServer;
use super::slab::Slab;
use super::station::Station;
use super::topology::Topology;
use super::{Ctx, ReqId};
use crate::engine::{Distribution, RngStreams, SimDuration, SimRng, SimTime};
use crate::metrics::catalog::{self, Put, ServerFigures};
use crate::metrics::recorder::put_distribution;
use crate::metrics::series::{self, ColumnId};
use crate::metrics::{FailReason, Metrics, Recorder, SeriesRow};
use crate::scenario::model::{AbuserSpec, HealthCheck, Profile, System, Workload};
use rand::RngExt;
use rand_distr::{Distribution as _, Exp1};

mod figures;

/// The core's own events: a request's trip and the servers' lives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CoreEvent {
    /// The next open-workload arrival.
    OpenArrival,
    /// A user of a closed workload finishes thinking and sends a request.
    UserWakes {
        user: u32,
    },
    /// The abusive client sends a request.
    AbuserSends,
    /// A request reaches the load balancer (its processing time included).
    ReachLb {
        req: ReqId,
    },
    ReachServer {
        req: ReqId,
        server: u16,
    },
    /// The load balancer learns that `server` refused the connection.
    Refused {
        req: ReqId,
        server: u16,
    },
    /// A request's work on its server is over.
    ServiceDone {
        req: ReqId,
        server: u16,
        epoch: u32,
    },
    /// The answer (ok or error) reaches the client.
    ReachClient {
        req: ReqId,
    },
    ClientTimeout {
        req: ReqId,
        generation: u32,
    },
    HealthCheck,
    Fault {
        index: u32,
    },
    /// A killed server's process starts again and begins booting.
    ServerBoots {
        server: u16,
    },
    ServerReady {
        server: u16,
        epoch: u32,
    },
}

/// The requests a killed server held.
pub struct HeldRequests {
    /// Those a worker had taken, with the time it took them.
    pub in_service: Vec<(ReqId, SimTime)>,
    pub queued: Vec<ReqId>,
}

/// The core's random streams, one per purpose.
pub struct CoreStreams {
    pub arrivals: SimRng,
    pub users: SimRng,
    pub service: SimRng,
    pub think: SimRng,
    pub network: SimRng,
    pub routing: SimRng,
    pub behaviour: SimRng,
    pub abuser: SimRng,
}

pub struct Core {
    pub population: Population,
    /// Whether anything reads which user sent a request (sticky routing, sessions,
    /// carts, rate limits); if not, open arrivals skip drawing one.
    pub identify_users: bool,
    pub workload: Workload,
    /// How the open arrival rate changes over the run, if it does.
    pub profile: Option<Profile>,
    timeout: Option<SimDuration>,
    idempotent_share: f64,
    retry_idempotent: bool,
    pub client_lb: Distribution,
    pub lb_server: Distribution,
    pub lb_latency: Distribution,
    /// No hop between clients, load balancer and servers takes time (each would draw
    /// zero, and draws nothing from the network stream): a request's trip skips them.
    instant_network: bool,
    service: Distribution,
    pub lb: LoadBalancer,
    pub servers: Vec<WebServer>,
    pub health: Option<HealthCheck>,
    pub boot_time: SimDuration,
    /// Per-user state; empty unless sessions or carts need it.
    pub users: Vec<UserState>,
    pub requests: Slab<Request>,
    /// Requests the load balancer sent to each server (counted ones, retries included).
    pub routed: Vec<u64>,
    pub abuser: Option<AbuserSpec>,
    /// The abuser's user id (one past the population), or u32::MAX.
    pub abuser_id: u32,
    pub redis: RedisNode,
    pub db: DbNode,
    pub rng: CoreStreams,
    pub rec: Recorder,
    /// Ordinary requests' latency, kept apart where long requests (uploads, jobs) exist.
    /// Latency of ordinary requests, where uploads or jobs share the servers.
    pub pages: Option<PageLatency>,
    pub retried_after_failure: u64,
    /// Counted requests the load balancer tried again on another server (after a
    /// refused connection or a kill), by the server that took the retry.
    pub retried_on: Vec<u64>,
    /// Set by the world when a part may extend an answer's trip: answers then always
    /// arrive as events it sees.
    pub answers_through_parts: bool,
    /// Times a user's session was lost while still valid (its server died or was
    /// stopped, or the request landed elsewhere) and they had to log in again.
    pub sessions_lost: u64,
    /// Health probes of running servers that failed (queue full, or a wait past the
    /// probe's timeout), in the statistics window.
    pub health_probes_failed: u64,
    /// Running servers health checks took out of rotation, and of those the ones
    /// terminated and replaced, in the statistics window.
    pub health_marked_down: u64,
    pub health_replaced: u64,
    max_requests: Option<u64>,
    generated_counted: u64,
    outstanding_counted: u64,
    pub stop_generating: bool,
    /// The request `send` created last (parts that follow attempts read it).
    pub last_sent: ReqId,
}

/// The latency of ordinary requests (no upload, no job): a histogram of those counted
/// in the summary, and a sketch per time-series bucket for the page-latency column.
pub struct PageLatency {
    counted: crate::metrics::histogram::Latencies,
    buckets: Vec<crate::metrics::sketch::LogSketch>,
    column: ColumnId,
}

impl Core {
    /// Keeps page latency apart (before the run starts), where uploads or jobs share
    /// the servers.
    pub fn track_page_latency(&mut self) {
        let column = self.rec.register(&series::PAGE_LATENCY_P99);
        let buckets = vec![crate::metrics::sketch::LogSketch::default(); self.rec.buckets.len()];
        self.pages = Some(PageLatency { counted: Default::default(), buckets, column });
    }

    /// Writes each bucket's page-latency p99 into its column (after the run).
    pub fn close_page_latency(&mut self) {
        if let Some(p) = &self.pages {
            for (b, sketch) in p.buckets.iter().enumerate() {
                if let Some(ns) = sketch.value_at_quantile(0.99) {
                    self.rec.set_in_bucket(p.column, b, ns as f64 / 1e6);
                }
            }
        }
    }

    pub fn new(system: &System, streams: &RngStreams) -> Core {
        let topo = Topology::build(system);
        let population = Population::new(&system.clients);
        // Room for the largest fleet the autoscaler may launch; the rest start stopped.
        let n = system.fleet.max as usize;
        let warmup = SimTime::ZERO + system.run.warmup;
        let needs_users = system.sessions.store != crate::policies::SessionStoreKind::None || system.carts.store != crate::policies::CartStoreKind::None;
        let abuser_id = if system.clients.abuser.is_some() { population.users } else { u32::MAX };
        let all_users = population.users as usize + system.clients.abuser.is_some() as usize;
        Core {
            identify_users: needs_users || system.load_balancer.policy.is_sticky() || system.rate_limit.is_some(),
            workload: system.clients.workload.clone(),
            profile: system.clients.profile,
            timeout: system.clients.timeout,
            idempotent_share: system.clients.idempotent_share,
            retry_idempotent: system.load_balancer.retry_idempotent,
            client_lb: topo.hop(topo.clients, topo.lb).clone(),
            lb_server: topo.servers.first().map(|&s| topo.hop(topo.lb, s).clone()).unwrap_or(Distribution::constant(0.0)),
            lb_latency: system.load_balancer.latency.clone(),
            instant_network: topo.hop(topo.clients, topo.lb).is_zero()
                && system.load_balancer.latency.is_zero()
                && topo.servers.iter().all(|&s| topo.hop(topo.lb, s).is_zero()),
            service: system.servers.service.clone(),
            lb: LoadBalancer::new(&system.load_balancer, n, all_users as u32),
            servers: (0..n)
                .map(|_| {
                    let mut workers = Station::new(system.servers.cores);
                    workers.window_start = warmup;
                    WebServer {
                        state: ServerState::Up,
                        epoch: 0,
                        workers,
                        queue_limit: system.servers.queue_limit,
                        cpu_total_ns: 0,
                        up_since: SimTime::ZERO,
                        up_ns: 0,
                    }
                })
                .collect(),
            users: if needs_users {
                vec![UserState { session_server: NO_SERVER, cart_server: NO_SERVER, ..UserState::default() }; all_users]
            } else {
                Vec::new()
            },
            population,
            health: system.load_balancer.health_check,
            boot_time: system.servers.boot_time,
            requests: Slab::default(),
            routed: vec![0; n],
            abuser: system.clients.abuser.clone(),
            abuser_id,
            redis: RedisNode::new(system, warmup, streams.stream("redis"), streams.stream("redis-replica")),
            db: DbNode::new(system, warmup, all_users, streams.stream("database"), streams.stream("db-replicas")),
            rng: CoreStreams {
                arrivals: streams.stream("arrivals"),
                users: streams.stream("users"),
                service: streams.stream("service"),
                think: streams.stream("think"),
                network: streams.stream("network"),
                routing: streams.stream("routing"),
                behaviour: streams.stream("behaviour"),
                abuser: streams.stream("abuser"),
            },
            rec: Recorder::new(n, warmup, system.run.timeseries_step, system.run.duration),
            pages: None,
            retried_after_failure: 0,
            retried_on: vec![0; n],
            answers_through_parts: false,
            sessions_lost: 0,
            health_probes_failed: 0,
            health_marked_down: 0,
            health_replaced: 0,
            max_requests: system.run.max_requests,
            generated_counted: 0,
            outstanding_counted: 0,
            stop_generating: false,
            last_sent: NO_REQ,
        }
    }

    /// Schedules the clients' first requests and the first health check.
    pub fn start(&mut self, ctx: &mut Ctx) {
        match &self.workload {
            Workload::Open { rate_per_sec } => {
                let gap = self.interarrival(*rate_per_sec);
                ctx.emit(gap, CoreEvent::OpenArrival);
            }
            Workload::Closed { think_time } => {
                let think = think_time.clone();
                for user in 0..self.population.users {
                    ctx.emit(think.draw(&mut self.rng.think), CoreEvent::UserWakes { user });
                }
            }
        }
    }

    pub fn start_health_checks(&mut self, ctx: &mut Ctx) {
        if let Some(h) = self.health {
            ctx.emit(h.interval, CoreEvent::HealthCheck);
        }
    }

    pub fn start_abuser(&mut self, ctx: &mut Ctx) {
        if self.abuser.is_some() {
            let first = self.abuser_next(SimTime::ZERO);
            ctx.emit_at(first, CoreEvent::AbuserSends);
        }
    }

    #[inline]
    pub fn interarrival(&mut self, rate_per_sec: f64) -> SimDuration {
        let e: f64 = Exp1.sample(&mut self.rng.arrivals);
        SimDuration::from_nanos_f64(e * (1e9 / rate_per_sec))
    }

    /// The abuser's next send after `now`: Poisson at its rate, only inside its bursts.
    pub fn abuser_next(&mut self, now: SimTime) -> SimTime {
        let a = self.abuser.as_ref().expect("an abuser");
        let e: f64 = Exp1.sample(&mut self.rng.abuser);
        let t = now + SimDuration::from_nanos_f64(e * 1e9 / a.rate_per_sec);
        match a.burst_every {
            None => t,
            Some(every) => {
                // Bursts are centred on multiples of `every`.
                let half = a.burst_length.0 / 2;
                let phase = (t.0 + half) % every.0;
                if phase < a.burst_length.0 { t } else { SimTime(t.0 + half - phase + every.0 - half).max(t) }
            }
        }
    }

    #[inline]
    pub fn epoch16(&self, server: u16) -> u16 {
        self.servers[server as usize].epoch as u16
    }

    #[inline]
    pub fn is_up(&self, server: u16, epoch: u32) -> bool {
        let s = &self.servers[server as usize];
        s.epoch == epoch && s.state == ServerState::Up
    }

    /// Whether `server` takes connections now (whatever its epoch: a request that
    /// reaches a restarted server meets the new process).
    #[inline]
    pub fn serves(&self, server: u16) -> bool {
        self.servers[server as usize].state == ServerState::Up
    }

    pub fn servers_up(&self) -> usize {
        self.servers.iter().filter(|s| s.state == ServerState::Up).count()
    }

    // ----- clients -------------------------------------------------------------------

    /// Creates a request of `kind` from `user` and sends it towards the load balancer.
    /// With no latency on the way the request reaches its server in this step: returns
    /// it and the server if it took a worker there, for the caller to start its pipeline.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn send(
        &mut self,
        ctx: &mut Ctx,
        user: u32,
        kind: Kind,
        authenticated: bool,
        service: SimDuration,
        job_cpu: SimDuration,
        bytes: u64,
        file: u32,
    ) -> Option<(ReqId, u16)> {
        let now = ctx.now();
        if let Some(u) = self.users.get_mut(user as usize)
            && self.rec.counts(now)
        {
            u.active = true;
        }
        let request = Request {
            sent_at: now,
            enqueued_at: now,
            auth_start: now,
            limit_count: 0,
            job_cpu,
            bytes,
            file,
            s3_leg_done: false,
            service,
            extra_cpu: SimDuration::ZERO,
            user,
            ip: self.population.ip_of(user),
            tried: 0,
            generation: 0,
            server: 0,
            lb_instance: 0,
            attempts: 0,
            kind,
            stage: 0,
            step: 0,
            authenticated,
            live: true,
            timed_out: false,
            outcome: Outcome::Pending,
        };
        let req = self.requests.insert_with(|old| Request { generation: old.map_or(0, |r| r.generation), ..request });
        self.last_sent = req;
        self.rec.on_sent(now);
        if self.rec.counts(now) {
            self.generated_counted += 1;
            self.outstanding_counted += 1;
            if self.max_requests.is_some_and(|m| self.generated_counted >= m) {
                self.stop_generating = true;
            }
        }
        if let Some(t) = self.timeout {
            let generation = self.requests[req].generation;
            ctx.emit_deadline(t, CoreEvent::ClientTimeout { req, generation });
        }
        let delay =
            if self.instant_network { SimDuration::ZERO } else { self.client_lb.draw(&mut self.rng.network) + self.lb_latency.draw(&mut self.rng.network) };
        if delay.is_zero() {
            return self.reach_lb(ctx, req).map(|server| (req, server));
        }
        ctx.emit(delay, CoreEvent::ReachLb { req });
        None
    }

    /// A request's own CPU demand, drawn when it is created.
    #[inline]
    pub fn draw_service(&mut self) -> SimDuration {
        self.service.draw(&mut self.rng.service)
    }

    /// The answer reached the client: count the outcome, free the slot, think again.
    #[inline]
    pub fn reach_client(&mut self, ctx: &mut Ctx, req: ReqId) {
        let now = ctx.now();
        let r = &self.requests[req];
        let (user, sent_at, timed_out, outcome, kind) = (r.user, r.sent_at, r.timed_out, r.outcome, r.kind);
        if let Some(p) = &mut self.pages
            && outcome == Outcome::Ok
            && !timed_out
            && matches!(kind, Kind::Page | Kind::AddToCart)
        {
            let latency = now.since(sent_at).0;
            if self.rec.counts(sent_at) {
                p.counted.record(latency.max(1));
            }
            p.buckets[self.rec.bucket_of(now)].record(latency);
        }
        self.release(req);
        if !timed_out {
            match outcome {
                Outcome::Ok => self.rec.on_ok(now, sent_at),
                Outcome::Failed(reason) => {
                    if reason == FailReason::Unauthorized
                        && let Some(u) = self.users.get_mut(user as usize)
                        && u.revoked_everywhere
                    {
                        // A fired user stops once turned away where no server would let
                        // them in; until then another server may still accept them.
                        u.gone = true;
                    }
                    self.rec.on_failed(now, sent_at, reason)
                }
                Outcome::Pending => unreachable!("answers carry an outcome"),
            }
            self.client_done(ctx, user, sent_at);
        }
    }

    pub fn client_timeout(&mut self, ctx: &mut Ctx, req: ReqId, generation: u32) {
        let r = &mut self.requests[req];
        if r.generation != generation || !r.live || r.timed_out {
            return;
        }
        r.timed_out = true;
        let (user, sent_at) = (r.user, r.sent_at);
        self.rec.on_failed(ctx.now(), sent_at, FailReason::ClientTimeout);
        self.client_done(ctx, user, sent_at);
    }

    /// The client has its outcome (or gave up): a closed-workload user thinks again.
    #[inline(always)]
    fn client_done(&mut self, ctx: &mut Ctx, user: u32, sent_at: SimTime) {
        if self.rec.counts(sent_at) {
            self.outstanding_counted -= 1;
        }
        if self.stop_generating && self.outstanding_counted == 0 {
            ctx.stop();
        }
        if user == self.abuser_id || self.users.get(user as usize).is_some_and(|u| u.gone) {
            return;
        }
        if let Workload::Closed { think_time } = &self.workload
            && !self.stop_generating
        {
            let think = think_time.draw(&mut self.rng.think);
            ctx.emit(think, CoreEvent::UserWakes { user });
        }
    }

    #[inline(always)]
    fn release(&mut self, req: ReqId) {
        let r = &mut self.requests[req];
        r.live = false;
        r.generation = r.generation.wrapping_add(1);
        self.requests.remove(req);
    }

    // ----- load balancer -------------------------------------------------------------

    /// The load balancer routes the request. With no latency between it and its servers
    /// the request reaches the server in the same step; returns the server if it took a
    /// worker there, for the caller to start its pipeline.
    #[inline]
    pub fn reach_lb(&mut self, ctx: &mut Ctx, req: ReqId) -> Option<u16> {
        let instance = self.lb.pick_instance(&mut self.rng.routing);
        let r = &mut self.requests[req];
        r.lb_instance = instance;
        let key = RouteKey { user: r.user, ip: r.ip };
        self.lb.clock = ctx.now();
        match self.lb.route(&key, instance, &mut self.rng.routing) {
            Some(server) => {
                let delay = self.forward(req, server);
                if delay.is_zero() {
                    return self.arrive_at_server(ctx, req, server).then_some(server);
                }
                ctx.hop(delay, CoreEvent::ReachServer { req, server });
            }
            None => self.answer_from_lb(ctx, req, FailReason::NoHealthyServer),
        }
        None
    }

    /// The load balancer sends the request on to `server`; returns the hop's latency.
    #[inline(always)]
    fn forward(&mut self, req: ReqId, server: u16) -> SimDuration {
        let r = &mut self.requests[req];
        r.server = server;
        if server < 64 {
            r.tried |= 1u64 << server;
        }
        if r.sent_at >= self.rec.warmup_end {
            self.routed[server as usize] += 1;
        }
        let instance = r.lb_instance;
        self.lb.open(server, instance);
        if self.instant_network { SimDuration::ZERO } else { self.lb_server.draw(&mut self.rng.network) }
    }

    /// Tries the request on another server if retries allow; true if it was retried.
    fn retry_elsewhere(&mut self, ctx: &mut Ctx, req: ReqId) -> bool {
        let r = &mut self.requests[req];
        if (r.attempts as u32) >= self.lb.retries {
            return false;
        }
        r.attempts += 1;
        let key = RouteKey { user: r.user, ip: r.ip };
        let (tried, failed, counts) = (r.tried, r.server, r.sent_at >= self.rec.warmup_end);
        match self.lb.route_retry(&key, tried, failed) {
            Some(next) => {
                if counts {
                    self.retried_on[next as usize] += 1;
                }
                let delay = self.forward(req, next);
                ctx.hop(delay, CoreEvent::ReachServer { req, server: next });
                true
            }
            None => false,
        }
    }

    /// The server refused the connection: another server, or an error to the client.
    pub fn refused(&mut self, ctx: &mut Ctx, req: ReqId, server: u16) {
        self.lb.close(server, self.requests[req].lb_instance);
        if !self.retry_elsewhere(ctx, req) {
            self.answer_from_lb(ctx, req, FailReason::ConnectionRefused);
        }
    }

    /// The server answers (ok or error); the answer travels back through the LB.
    #[inline(always)]
    pub fn answer_from_server(&mut self, ctx: &mut Ctx, req: ReqId, outcome: Outcome) {
        let (server, instance) = (self.requests[req].server, self.requests[req].lb_instance);
        self.lb.close(server, instance);
        self.requests[req].outcome = outcome;
        let delay =
            if self.instant_network { SimDuration::ZERO } else { self.lb_server.draw(&mut self.rng.network) + self.client_lb.draw(&mut self.rng.network) };
        self.deliver_answer(ctx, delay, req);
    }

    /// The load balancer itself answers with an error.
    pub fn answer_from_lb(&mut self, ctx: &mut Ctx, req: ReqId, reason: FailReason) {
        self.requests[req].outcome = Outcome::Failed(reason);
        let delay = self.client_lb.draw(&mut self.rng.network);
        self.deliver_answer(ctx, delay, req);
    }

    /// The answer travels to the client; with no latency it arrives in the same step,
    /// unless a part may extend its trip (then the world sees it arrive).
    #[inline(always)]
    fn deliver_answer(&mut self, ctx: &mut Ctx, delay: SimDuration, req: ReqId) {
        if delay.is_zero() && !self.answers_through_parts {
            self.reach_client(ctx, req);
        } else {
            ctx.hop(delay, CoreEvent::ReachClient { req });
        }
    }

    // ----- servers -------------------------------------------------------------------

    /// A request reaches its server: refused, turned away (queue full), queued, or it
    /// takes a worker; in the last case the caller starts its pipeline.
    #[inline]
    pub fn arrive_at_server(&mut self, ctx: &mut Ctx, req: ReqId, server: u16) -> bool {
        let now = ctx.now();
        let s = &mut self.servers[server as usize];
        if s.state != ServerState::Up {
            let delay = self.lb_server.draw(&mut self.rng.network);
            ctx.hop(delay, CoreEvent::Refused { req, server });
            false
        } else if s.workers.has_free() {
            self.requests[req].enqueued_at = now;
            self.take_worker(now, server, req);
            true
        } else if s.workers.queue.len() as u64 >= s.queue_limit {
            self.answer_from_server(ctx, req, Outcome::Failed(FailReason::Overloaded));
            false
        } else {
            s.workers.queue.push_back((req, now));
            self.requests[req].enqueued_at = now;
            false
        }
    }

    /// A worker takes the request (at once, so no later arrival can overtake it).
    #[inline(always)]
    fn take_worker(&mut self, now: SimTime, server: u16, req: ReqId) {
        let r = &mut self.requests[req];
        self.rec.on_service_start(r.sent_at, now.since(r.enqueued_at));
        r.auth_start = now;
        r.extra_cpu = SimDuration::ZERO;
        r.stage = 0;
        r.step = 0;
        self.servers[server as usize].workers.start(req, now);
    }

    /// Releases the request's worker; the next waiting request takes it now (so no
    /// later arrival overtakes it). Returns that request: the caller starts its pipeline
    /// once it is done with this one.
    #[must_use = "the next request took the worker and must start its pipeline"]
    #[inline(always)]
    fn free_worker(&mut self, now: SimTime, server: u16, req: ReqId) -> Option<ReqId> {
        let s = &mut self.servers[server as usize];
        s.workers.finish(req, now);
        let (next, _) = s.workers.next_waiting()?;
        self.take_worker(now, server, next);
        Some(next)
    }

    /// The request is refused on the server (401, 429, 404, Redis unavailable). Returns
    /// the next request, which took the freed worker.
    #[must_use = "the next request took the worker and must start its pipeline"]
    pub fn reject(&mut self, ctx: &mut Ctx, server: u16, req: ReqId, reason: FailReason) -> Option<ReqId> {
        let next = self.free_worker(ctx.now(), server, req);
        self.answer_from_server(ctx, req, Outcome::Failed(reason));
        next
    }

    /// The request's work is done: count its CPU; the caller then lets parts look at it
    /// and calls `complete`.
    #[inline(always)]
    pub fn service_done(&mut self, now: SimTime, req: ReqId, server: u16) {
        let r = &self.requests[req];
        let cpu = r.service + r.extra_cpu;
        let sent_at = r.sent_at;
        self.rec.on_cpu(server as usize, now, cpu);
        self.servers[server as usize].cpu_total_ns += cpu.0 as u128;
        self.rec.on_completed_by(server as usize, sent_at);
    }

    /// The request is answered ok. Returns the next request, which took the freed worker.
    #[must_use = "the next request took the worker and must start its pipeline"]
    #[inline(always)]
    pub fn complete(&mut self, ctx: &mut Ctx, req: ReqId, server: u16) -> Option<ReqId> {
        let next = self.free_worker(ctx.now(), server, req);
        self.answer_from_server(ctx, req, Outcome::Ok);
        next
    }

    /// The last stage: the request's CPU time (its own work plus token checks, login).
    #[inline(always)]
    pub fn run_cpu(&mut self, ctx: &mut Ctx, server: u16, req: ReqId) {
        let r = &self.requests[req];
        let cpu = r.service + r.extra_cpu;
        let epoch = self.servers[server as usize].epoch;
        ctx.emit(cpu, CoreEvent::ServiceDone { req, server, epoch });
    }

    /// Health checks probe every server; returns whether the rotation changed, and the
    /// running servers the probes took out of rotation (to be replaced, if the model says
    /// so). With a probe timeout a probe waits behind the queued work: it fails when the
    /// queue is full (a 503) or when the queued requests' mean service time over the
    /// server's workers passes the timeout.
    pub fn health_check(&mut self, ctx: &mut Ctx) -> (bool, Vec<u16>) {
        let h = self.health.expect("health checks are on");
        let mean_service_s = self.service.mean() / 1e9;
        let counts = self.rec.counts(ctx.now());
        let mut changed = false;
        let mut taken_out = Vec::new();
        for i in 0..self.servers.len() {
            let s = &self.servers[i];
            let up = s.state == ServerState::Up;
            let answers = up
                && h.timeout.is_none_or(|t| {
                    let queued = s.workers.queue.len() as u64;
                    queued < s.queue_limit && queued as f64 * mean_service_s / s.workers.capacity as f64 <= t.as_secs_f64()
                });
            if up && !answers && counts {
                self.health_probes_failed += 1;
            }
            let moved = self.lb.probe(i as u16, answers, h.unhealthy_after, h.healthy_after);
            if moved && up && !answers {
                if counts {
                    self.health_marked_down += 1;
                }
                taken_out.push(i as u16);
            }
            changed |= moved;
        }
        ctx.emit(h.interval, CoreEvent::HealthCheck);
        (changed, taken_out)
    }

    pub fn server_boots(&mut self, ctx: &mut Ctx, server: u16) {
        let s = &mut self.servers[server as usize];
        if s.state == ServerState::Down {
            s.set_state(ServerState::Booting, ctx.now(), self.rec.warmup_end);
            let epoch = s.epoch;
            ctx.emit(self.boot_time, CoreEvent::ServerReady { server, epoch });
        }
    }

    pub fn server_ready(&mut self, now: SimTime, server: u16, epoch: u32) {
        let s = &mut self.servers[server as usize];
        if s.epoch == epoch && s.state == ServerState::Booting {
            s.set_state(ServerState::Up, now, self.rec.warmup_end);
            self.fleet_changed(now);
        }
    }

    /// Marks `server` dead and takes every request it held. None if it was already down.
    pub fn kill(&mut self, now: SimTime, server: u16) -> Option<HeldRequests> {
        let s = &mut self.servers[server as usize];
        if s.state == ServerState::Down {
            return None;
        }
        s.set_state(ServerState::Down, now, self.rec.warmup_end);
        s.epoch = s.epoch.wrapping_add(1);
        let in_service: Vec<(ReqId, SimTime)> = s.workers.in_service.drain(..).collect();
        let queued: Vec<ReqId> = s.workers.queue.drain(..).map(|(r, _)| r).collect();
        for &(_, start) in &in_service {
            s.workers.add_busy(start, now);
        }
        Some(HeldRequests { in_service, queued })
    }

    /// The killed server's requests: each idempotent one the load balancer may retry on
    /// another server; the others fail (502).
    pub fn fail_with_server(&mut self, ctx: &mut Ctx, server: u16, victims: impl Iterator<Item = ReqId>) {
        for req in victims {
            self.lb.close(server, self.requests[req].lb_instance);
            // Whether the request is idempotent is drawn only when it matters: each
            // request is idempotent with probability `idempotent_share`.
            let idempotent = self.idempotent_share > 0.0 && self.rng.behaviour.random::<f64>() < self.idempotent_share;
            // An upload's body was streamed to the dead server: the load balancer does
            // not hold it, so it cannot send it again.
            let idempotent = idempotent && self.requests[req].kind != Kind::Upload;
            if idempotent && self.retry_idempotent && !self.requests[req].timed_out && self.retry_elsewhere(ctx, req) {
                self.retried_after_failure += 1;
                continue;
            }
            self.answer_from_lb(ctx, req, FailReason::ServerKilled);
        }
        self.fleet_changed(ctx.now());
    }

    pub fn fleet_changed(&mut self, now: SimTime) {
        let up = self.servers_up() as u32;
        self.rec.on_fleet_change(now, up, self.lb.rotation.len() as u32);
    }
}
