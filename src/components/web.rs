//! The web tier as one engine `World`: requests flow client -> load balancer -> server
//! -> load balancer -> client, each hop a scheduled event with the hop's latency.
//!
//! Architecture invariant: every request sent ends in exactly one client-side outcome
//! (ok, or failed with one reason) or is still in flight when the run ends; the property
//! test in `tests/accounting.rs` checks `sent = ok + failed + in_flight`.

use super::clients::Population;
use super::lb::{LoadBalancer, RouteKey};
use super::server::{Server, ServerState};
use super::topology::Topology;
use super::ReqId;
use crate::engine::{Distribution, RngStreams, Scheduler, SimDuration, SimRng, SimTime, World};
use crate::metrics::recorder::put_distribution;
use crate::metrics::{FailReason, Metrics, Recorder};
use crate::scenario::model::{Fault, FaultAction, HealthCheck, System, Workload};
use rand::RngExt;
use rand_distr::{Distribution as _, Exp1};

/// Everything that can happen in the web tier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// The next open-workload arrival.
    OpenArrival,
    /// A user of a closed workload finishes thinking and sends a request.
    UserWakes { user: u32 },
    /// A request reaches the load balancer (its processing time included).
    ReachLb { req: ReqId },
    ReachServer { req: ReqId, server: u16 },
    /// The load balancer learns that `server` refused the connection.
    Refused { req: ReqId, server: u16 },
    ServiceDone { req: ReqId, server: u16, epoch: u32 },
    /// The answer (ok or error) reaches the client.
    ReachClient { req: ReqId },
    ClientTimeout { req: ReqId, generation: u32 },
    HealthCheck,
    Fault { index: u32 },
    /// A killed server's process starts again and begins booting.
    ServerBoots { server: u16 },
    ServerReady { server: u16, epoch: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Pending,
    Ok,
    Failed(FailReason),
}

#[derive(Clone, Debug)]
struct Request {
    sent_at: SimTime,
    enqueued_at: SimTime,
    service: SimDuration,
    user: u32,
    ip: u32,
    /// Bitmask of the first 64 servers already tried.
    tried: u64,
    generation: u32,
    server: u16,
    attempts: u8,
    live: bool,
    timed_out: bool,
    outcome: Outcome,
}

/// Random streams, one per purpose.
struct Streams {
    arrivals: SimRng,
    users: SimRng,
    service: SimRng,
    think: SimRng,
    network: SimRng,
    routing: SimRng,
}

pub struct WebTier {
    population: Population,
    workload: Workload,
    timeout: Option<SimDuration>,
    client_lb: Distribution,
    lb_server: Distribution,
    lb_latency: Distribution,
    service: Distribution,
    lb: LoadBalancer,
    servers: Vec<Server>,
    health: Option<HealthCheck>,
    boot_time: SimDuration,
    faults: Vec<Fault>,
    requests: Vec<Request>,
    free: Vec<ReqId>,
    rng: Streams,
    pub rec: Recorder,
    max_requests: Option<u64>,
    generated_counted: u64,
    outstanding_counted: u64,
    stop_generating: bool,
}

/// The measurements of one run.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub metrics: Metrics,
    pub series: Vec<SeriesRow>,
}

/// One row of `timeseries.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesRow {
    pub t_s: f64,
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub latency_mean_ms: f64,
    pub latency_p99_ms: f64,
    pub servers_up: u32,
    pub servers_in_rotation: u32,
}

#[inline]
fn draw(d: &Distribution, rng: &mut SimRng) -> SimDuration {
    if d.is_zero() { SimDuration::ZERO } else { SimDuration::from_nanos_f64(d.sample(rng)) }
}

impl WebTier {
    /// Builds the world for one run of `system`, replication `replication`.
    pub fn new(system: &System, replication: u64) -> WebTier {
        let topo = Topology::build(system);
        let streams = RngStreams::new(system.run.seed, replication);
        let population = Population::new(&system.clients);
        let n = system.servers.count as usize;
        WebTier {
            workload: system.clients.workload.clone(),
            timeout: system.clients.timeout,
            client_lb: topo.hop(topo.clients, topo.lb).clone(),
            lb_server: topo.servers.first().map(|&s| topo.hop(topo.lb, s).clone()).unwrap_or(Distribution::constant(0.0)),
            lb_latency: system.load_balancer.latency.clone(),
            service: system.servers.service.clone(),
            lb: LoadBalancer::new(system.load_balancer.policy, n, population.users, system.load_balancer.virtual_nodes, system.load_balancer.retries),
            population,
            servers: (0..n).map(|_| Server::new(system.servers.cores, system.servers.queue_limit)).collect(),
            health: system.load_balancer.health_check,
            boot_time: system.servers.boot_time,
            faults: system.faults.clone(),
            requests: Vec::new(),
            free: Vec::new(),
            rng: Streams {
                arrivals: streams.stream("arrivals"),
                users: streams.stream("users"),
                service: streams.stream("service"),
                think: streams.stream("think"),
                network: streams.stream("network"),
                routing: streams.stream("routing"),
            },
            rec: Recorder::new(n, SimTime::ZERO + system.run.warmup, system.run.timeseries_step, system.run.duration),
            max_requests: system.run.max_requests,
            generated_counted: 0,
            outstanding_counted: 0,
            stop_generating: false,
        }
    }

    /// Schedules the first events: arrivals or every user's first wake-up, health
    /// checks, and faults.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        match &self.workload {
            Workload::Open { rate_per_sec } => {
                let gap = self.interarrival(*rate_per_sec);
                sched.emit(gap, Event::OpenArrival);
            }
            Workload::Closed { think_time } => {
                let think = think_time.clone();
                for user in 0..self.population.users {
                    sched.emit(draw(&think, &mut self.rng.think), Event::UserWakes { user });
                }
            }
        }
        if let Some(h) = self.health {
            sched.emit(h.interval, Event::HealthCheck);
        }
        for (i, f) in self.faults.iter().enumerate() {
            sched.emit(f.at, Event::Fault { index: i as u32 });
        }
        let n = self.servers.len() as u32;
        self.rec.on_fleet_change(SimTime::ZERO, n, n);
    }

    #[inline]
    fn interarrival(&mut self, rate_per_sec: f64) -> SimDuration {
        let e: f64 = Exp1.sample(&mut self.rng.arrivals);
        SimDuration::from_secs_f64(e / rate_per_sec)
    }

    /// Delivers `event` after `delay`; with no delay it is handled at once, which saves
    /// a trip through the queue for zero-latency hops.
    #[inline]
    fn hop(&mut self, sched: &mut Scheduler<Event>, delay: SimDuration, event: Event) {
        if delay.is_zero() {
            self.handle(event, sched);
        } else {
            sched.emit(delay, event);
        }
    }

    fn new_request(&mut self, sched: &mut Scheduler<Event>, user: u32) {
        let now = sched.now();
        let service = draw(&self.service, &mut self.rng.service);
        let request = Request {
            sent_at: now,
            enqueued_at: now,
            service,
            user,
            ip: self.population.ip_of(user),
            tried: 0,
            generation: 0,
            server: 0,
            attempts: 0,
            live: true,
            timed_out: false,
            outcome: Outcome::Pending,
        };
        let req = match self.free.pop() {
            Some(id) => {
                let generation = self.requests[id as usize].generation;
                self.requests[id as usize] = Request { generation, ..request };
                id
            }
            None => {
                self.requests.push(request);
                (self.requests.len() - 1) as ReqId
            }
        };
        self.rec.on_sent(now);
        if self.rec.counts(now) {
            self.generated_counted += 1;
            self.outstanding_counted += 1;
            if self.max_requests.is_some_and(|m| self.generated_counted >= m) {
                self.stop_generating = true;
            }
        }
        if let Some(t) = self.timeout {
            let generation = self.requests[req as usize].generation;
            sched.emit(t, Event::ClientTimeout { req, generation });
        }
        let delay = draw(&self.client_lb, &mut self.rng.network) + draw(&self.lb_latency, &mut self.rng.network);
        self.hop(sched, delay, Event::ReachLb { req });
    }

    fn forward(&mut self, sched: &mut Scheduler<Event>, req: ReqId, server: u16) {
        let r = &mut self.requests[req as usize];
        r.server = server;
        if server < 64 {
            r.tried |= 1u64 << server;
        }
        self.lb.connections[server as usize] += 1;
        let delay = draw(&self.lb_server, &mut self.rng.network);
        self.hop(sched, delay, Event::ReachServer { req, server });
    }

    fn start_service(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId) {
        let now = sched.now();
        let r = &self.requests[req as usize];
        self.rec.on_service_start(r.sent_at, now.since(r.enqueued_at));
        let done = r.service;
        let s = &mut self.servers[server as usize];
        s.in_service.push((req, now));
        let epoch = s.epoch;
        sched.emit(done, Event::ServiceDone { req, server, epoch });
    }

    /// The server answers (ok or error); the answer travels back through the LB.
    fn answer_from_server(&mut self, sched: &mut Scheduler<Event>, req: ReqId, outcome: Outcome) {
        let server = self.requests[req as usize].server;
        self.lb.connections[server as usize] -= 1;
        self.requests[req as usize].outcome = outcome;
        let delay = draw(&self.lb_server, &mut self.rng.network) + draw(&self.client_lb, &mut self.rng.network);
        self.hop(sched, delay, Event::ReachClient { req });
    }

    /// The load balancer itself answers with an error.
    fn answer_from_lb(&mut self, sched: &mut Scheduler<Event>, req: ReqId, reason: FailReason) {
        self.requests[req as usize].outcome = Outcome::Failed(reason);
        let delay = draw(&self.client_lb, &mut self.rng.network);
        self.hop(sched, delay, Event::ReachClient { req });
    }

    /// The client has its outcome (or gave up): a closed-workload user thinks again.
    fn client_done(&mut self, sched: &mut Scheduler<Event>, user: u32, sent_at: SimTime) {
        if self.rec.counts(sent_at) {
            self.outstanding_counted -= 1;
        }
        if self.stop_generating && self.outstanding_counted == 0 {
            sched.stop();
        }
        if let Workload::Closed { think_time } = &self.workload
            && !self.stop_generating
        {
            let think = draw(think_time, &mut self.rng.think);
            sched.emit(think, Event::UserWakes { user });
        }
    }

    fn release(&mut self, req: ReqId) {
        let r = &mut self.requests[req as usize];
        r.live = false;
        r.generation = r.generation.wrapping_add(1);
        self.free.push(req);
    }

    fn kill(&mut self, sched: &mut Scheduler<Event>, server: u16) {
        let now = sched.now();
        let s = &mut self.servers[server as usize];
        if s.state == ServerState::Down {
            return;
        }
        s.state = ServerState::Down;
        s.epoch = s.epoch.wrapping_add(1);
        let in_service: Vec<(ReqId, SimTime)> = s.in_service.drain(..).collect();
        let queued: Vec<ReqId> = s.queue.drain(..).collect();
        for (req, start) in in_service {
            self.rec.on_busy(server as usize, start, now);
            self.lb.connections[server as usize] -= 1;
            self.answer_from_lb(sched, req, FailReason::ServerKilled);
        }
        for req in queued {
            self.lb.connections[server as usize] -= 1;
            self.answer_from_lb(sched, req, FailReason::ServerKilled);
        }
        self.fleet_changed(now);
    }

    fn fleet_changed(&mut self, now: SimTime) {
        let up = self.servers.iter().filter(|s| s.state == ServerState::Up).count() as u32;
        self.rec.on_fleet_change(now, up, self.lb.rotation.len() as u32);
    }

    /// Closes the books at `end`: busy time still running is counted, and the metrics
    /// and time series are computed.
    pub fn finish(mut self, end: SimTime, events: u64) -> RunResult {
        for (i, s) in self.servers.iter().enumerate() {
            for &(_, start) in &s.in_service {
                self.rec.on_busy(i, start, end);
            }
        }
        let in_flight = self.requests.iter().filter(|r| r.live && !r.timed_out && self.rec.counts(r.sent_at)).count() as u64;
        let rec = &self.rec;
        let mut m = Metrics::new();
        let window_s = end.since(rec.warmup_end).as_secs_f64().max(1e-9);
        m.insert("requests.sent".into(), rec.sent as f64);
        m.insert("requests.ok".into(), rec.ok as f64);
        m.insert("requests.failed".into(), rec.failed_total() as f64);
        m.insert("requests.in_flight".into(), in_flight as f64);
        m.insert("requests.ok_share".into(), if rec.sent == 0 { 0.0 } else { rec.ok as f64 / rec.sent as f64 });
        for reason in FailReason::ALL {
            m.insert(format!("failed.{}", reason.key()), rec.failed[reason as usize] as f64);
        }
        put_distribution(&mut m, "latency_ms", &rec.latency_ns, rec.latency_sum_ns);
        put_distribution(&mut m, "queue_wait_ms", &rec.queue_wait_ns, rec.queue_wait_sum_ns);
        let started = rec.queue_wait_ns.len();
        m.insert("waited_fraction".into(), if started == 0 { 0.0 } else { rec.waited as f64 / started as f64 });
        m.insert("throughput_ok_per_s".into(), rec.ok as f64 / window_s);
        let total_served: u64 = rec.servers.iter().map(|s| s.requests).sum();
        let cores = self.servers.first().map_or(1, |s| s.cores) as f64;
        let (mut util_sum, mut share_max) = (0.0, 0.0f64);
        for (i, s) in rec.servers.iter().enumerate() {
            let name = System::server_name(i);
            let share = if total_served == 0 { 0.0 } else { s.requests as f64 / total_served as f64 };
            let util = s.busy_ns as f64 / (window_s * 1e9 * cores);
            util_sum += util;
            share_max = share_max.max(share);
            m.insert(format!("server.{name}.requests"), s.requests as f64);
            m.insert(format!("server.{name}.share"), share);
            m.insert(format!("server.{name}.utilisation"), util);
        }
        m.insert("servers.utilisation_mean".into(), util_sum / rec.servers.len().max(1) as f64);
        m.insert("servers.share_max".into(), share_max);
        m.insert("run.window_s".into(), window_s);
        m.insert("engine.events".into(), events as f64);

        let mut series = Vec::with_capacity(rec.buckets.len());
        let (mut up, mut rot) = (0, 0);
        let last = ((end.0.saturating_sub(1)) / rec_step(rec)).min(rec.buckets.len() as u64 - 1) as usize;
        for (i, b) in rec.buckets.iter().enumerate().take(last + 1) {
            up = b.servers_up.unwrap_or(up);
            rot = b.servers_in_rotation.unwrap_or(rot);
            series.push(SeriesRow {
                t_s: (i as u64 * rec_step(rec)) as f64 / 1e9,
                sent: b.sent,
                ok: b.ok,
                failed: b.failed,
                latency_mean_ms: if b.ok == 0 { 0.0 } else { b.latency_sum_ns as f64 / b.ok as f64 / 1e6 },
                latency_p99_ms: b.latency_us.as_ref().map_or(0.0, |h| h.value_at_quantile(0.99) as f64 / 1e3),
                servers_up: up,
                servers_in_rotation: rot,
            });
        }
        RunResult { metrics: m, series }
    }
}

fn rec_step(rec: &Recorder) -> u64 {
    rec.step().0.max(1)
}

impl World for WebTier {
    type Event = Event;

    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::OpenArrival => {
                if self.stop_generating {
                    return;
                }
                let user = self.rng.users.random_range(0..self.population.users);
                let Workload::Open { rate_per_sec } = self.workload else { unreachable!() };
                let gap = self.interarrival(rate_per_sec);
                sched.emit(gap, Event::OpenArrival);
                self.new_request(sched, user);
            }
            Event::UserWakes { user } => {
                if !self.stop_generating {
                    self.new_request(sched, user);
                }
            }
            Event::ReachLb { req } => {
                let r = &self.requests[req as usize];
                let key = RouteKey { user: r.user, ip: r.ip };
                match self.lb.route(&key, &mut self.rng.routing) {
                    Some(server) => self.forward(sched, req, server),
                    None => self.answer_from_lb(sched, req, FailReason::NoHealthyServer),
                }
            }
            Event::ReachServer { req, server } => {
                let s = &mut self.servers[server as usize];
                if s.state != ServerState::Up {
                    let delay = draw(&self.lb_server, &mut self.rng.network);
                    self.hop(sched, delay, Event::Refused { req, server });
                } else if s.has_free_core() {
                    self.requests[req as usize].enqueued_at = sched.now();
                    self.start_service(sched, server, req);
                } else if s.queue_full() {
                    self.answer_from_server(sched, req, Outcome::Failed(FailReason::Overloaded));
                } else {
                    s.queue.push_back(req);
                    self.requests[req as usize].enqueued_at = sched.now();
                }
            }
            Event::Refused { req, server } => {
                self.lb.connections[server as usize] -= 1;
                let r = &mut self.requests[req as usize];
                if (r.attempts as u32) < self.lb.retries {
                    r.attempts += 1;
                    let key = RouteKey { user: r.user, ip: r.ip };
                    let tried = r.tried;
                    match self.lb.route_retry(&key, tried) {
                        Some(next) => self.forward(sched, req, next),
                        None => self.answer_from_lb(sched, req, FailReason::ConnectionRefused),
                    }
                } else {
                    self.answer_from_lb(sched, req, FailReason::ConnectionRefused);
                }
            }
            Event::ServiceDone { req, server, epoch } => {
                let s = &mut self.servers[server as usize];
                if s.epoch != epoch {
                    return; // the server was killed; this request already failed
                }
                let start = s.finish(req).expect("a completing request is in service");
                let next = s.queue.pop_front();
                let now = sched.now();
                self.rec.on_busy(server as usize, start, now);
                self.rec.on_completed_by(server as usize, self.requests[req as usize].sent_at);
                self.answer_from_server(sched, req, Outcome::Ok);
                if let Some(next) = next {
                    self.start_service(sched, server, next);
                }
            }
            Event::ReachClient { req } => {
                let r = &self.requests[req as usize];
                let (user, sent_at, timed_out, outcome) = (r.user, r.sent_at, r.timed_out, r.outcome);
                self.release(req);
                if !timed_out {
                    match outcome {
                        Outcome::Ok => self.rec.on_ok(sched.now(), sent_at),
                        Outcome::Failed(reason) => self.rec.on_failed(sched.now(), sent_at, reason),
                        Outcome::Pending => unreachable!("answers carry an outcome"),
                    }
                    self.client_done(sched, user, sent_at);
                }
            }
            Event::ClientTimeout { req, generation } => {
                let r = &mut self.requests[req as usize];
                if r.generation != generation || !r.live || r.timed_out {
                    return;
                }
                r.timed_out = true;
                let (user, sent_at) = (r.user, r.sent_at);
                self.rec.on_failed(sched.now(), sent_at, FailReason::ClientTimeout);
                self.client_done(sched, user, sent_at);
            }
            Event::HealthCheck => {
                let h = self.health.expect("health checks are on");
                let mut changed = false;
                for i in 0..self.servers.len() {
                    let healthy = self.servers[i].state == ServerState::Up;
                    changed |= self.lb.probe(i as u16, healthy, h.unhealthy_after, h.healthy_after);
                }
                if changed {
                    self.fleet_changed(sched.now());
                }
                sched.emit(h.interval, Event::HealthCheck);
            }
            Event::Fault { index } => match self.faults[index as usize].action {
                FaultAction::Kill { server, restart_after } => {
                    self.kill(sched, server as u16);
                    if let Some(after) = restart_after {
                        sched.emit(after, Event::ServerBoots { server: server as u16 });
                    }
                }
            },
            Event::ServerBoots { server } => {
                let s = &mut self.servers[server as usize];
                if s.state == ServerState::Down {
                    s.state = ServerState::Booting;
                    let epoch = s.epoch;
                    sched.emit(self.boot_time, Event::ServerReady { server, epoch });
                }
            }
            Event::ServerReady { server, epoch } => {
                let s = &mut self.servers[server as usize];
                if s.epoch == epoch && s.state == ServerState::Booting {
                    s.state = ServerState::Up;
                    self.fleet_changed(sched.now());
                }
            }
        }
    }
}
