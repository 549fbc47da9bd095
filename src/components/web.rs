//! The web tier as one engine `World`: requests flow client -> load balancer -> server
//! -> load balancer -> client, each hop a scheduled event with the hop's latency.
//!
//! On a server a request holds a worker for its whole stay and goes through stages:
//! auth (check the session or token: local memory, a Redis lookup, or JWT verification
//! on the CPU), login (a database read, a new session or token), cart (memory, a
//! database write, or nothing when the client keeps it), then its CPU time. Redis and
//! the database are shared stations with their own queues.
//!
//! Architecture invariant: every request sent ends in exactly one client-side outcome
//! (ok, or failed with one reason) or is still in flight when the run ends; the property
//! test in `tests/accounting.rs` checks `sent = ok + failed + in_flight`.

use super::ReqId;
use super::clients::Population;
use super::lb::{LoadBalancer, RouteKey};
use super::redis::{Command, Key, KeyHasher, KvStore, Reply};
use super::server::ServerState;
use super::station::Station;
use super::topology::Topology;
use crate::engine::{Distribution, RngStreams, Scheduler, SimDuration, SimRng, SimTime, World};
use crate::metrics::recorder::{put_distribution, quantiles_ms};
use crate::metrics::{FailReason, Metrics, Recorder, RunResult, SeriesRow};
use crate::policies::{BlocklistMode, CartStoreKind, FailMode, LimitState, SessionStoreKind};
use crate::policies::{LimitCommands, LimitKey, LimitStore, UploadStore, WsMode};
use crate::scenario::model::{
    AbuserSpec, CartSpec, Fault, FaultAction, FleetSpec, HealthCheck, JobsSpec, Profile, RateLimitSpec, SessionSpec, System, UploadSpec, Workload, WsSpec,
};
use rand::RngExt;
use rand_distr::{Distribution as _, Exp1};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasherDefault;

type LimitMap = HashMap<u64, LimitState, BuildHasherDefault<KeyHasher>>;

/// Everything that can happen in the web tier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// The next open-workload arrival.
    OpenArrival,
    /// A user of a closed workload finishes thinking and sends a request.
    UserWakes {
        user: u32,
    },
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
    /// A request's CPU time on its server is over.
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
    /// A command reaches Redis.
    RedisArrive {
        job: u32,
    },
    RedisDone {
        job: u32,
    },
    /// Redis's answer (or a refused connection) reaches the server that asked.
    RedisReply {
        job: u32,
    },
    DbDone {
        job: u32,
    },
    /// A Redis fault ends.
    RedisRecovers {
        index: u32,
    },
    /// A server fetches its copy of the JWT blocklist.
    BlocklistRefresh {
        server: u16,
    },
    /// Someone is fired: their session or token is revoked.
    Fire,
    /// The abusive client sends a request.
    AbuserSends,
    /// A queue worker finished a job (result written).
    WorkerDone {
        worker: u32,
        job: u32,
        epoch: u32,
    },
    /// A delivered job's visibility timeout: if not acknowledged, it is delivered again.
    VisibilityTimeout {
        job: u32,
        delivery: u32,
    },
    WorkerRestarts {
        worker: u32,
    },
    /// The next WebSocket message, from some user to another.
    WsMessage,
    /// A message reaches the server holding its sender's connection (or the gateway).
    WsAtServer {
        msg: u32,
    },
    /// Pub/sub: the published message reaches the receiver's server.
    WsPushed {
        msg: u32,
    },
    /// A message reaches its receiver.
    WsArrive {
        msg: u32,
    },
    /// A client whose connection dropped tries to connect again.
    WsReconnect {
        user: u32,
    },
    /// The autoscaler measures CPU and decides.
    ScaleCheck,
    /// A deregistered instance's drain is over: stop it.
    InstanceStop {
        server: u16,
        epoch: u32,
        relaunch: bool,
    },
    /// A spot instance gets its interruption notice, then is interrupted.
    SpotNotice {
        server: u16,
        epoch: u32,
    },
    SpotInterrupt {
        server: u16,
        epoch: u32,
    },
    /// The rolling deploy moves to its next server.
    DeployNext,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Pending,
    Ok,
    Failed(FailReason),
}

/// What the client asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Page,
    AddToCart,
    /// Log in (or, for JWT, refresh an expired token); `merge` a guest cart at checkout.
    Login {
        merge: bool,
    },
    /// Submit a long job (processed in the request, or queued and answered 202).
    Job,
    /// Upload a file.
    Upload,
    /// Read a file uploaded earlier.
    ReadFile,
}

#[derive(Clone, Debug)]
struct Request {
    sent_at: SimTime,
    enqueued_at: SimTime,
    /// When the current check (rate limit, then auth) started.
    auth_start: SimTime,
    /// A Redis fixed window's count, between INCR and EXPIRE.
    limit_count: u32,
    /// CPU time of the long job this request submits.
    job_cpu: SimDuration,
    /// Uploads: bytes; reads: which file.
    bytes: u64,
    file: u32,
    /// Pre-signed transfers: the client's own leg to S3 is done.
    s3_leg_done: bool,
    service: SimDuration,
    /// CPU spent or to spend on the server besides `service` (token checks, login).
    extra_cpu: SimDuration,
    user: u32,
    ip: u32,
    /// Bitmask of the first 64 servers already tried.
    tried: u64,
    generation: u32,
    server: u16,
    attempts: u8,
    kind: Kind,
    /// The request carries a session or token to check.
    authenticated: bool,
    live: bool,
    timed_out: bool,
    outcome: Outcome,
}

const NO_SERVER: u16 = u16::MAX;
const NO_REQ: ReqId = u32::MAX;

/// What the simulation remembers about one user (only when sessions or carts are on).
#[derive(Clone, Copy, Debug, Default)]
struct UserState {
    /// When the session or token the client holds expires (ZERO: none).
    token_expires: SimTime,
    /// Server-memory sessions: where the session lives, and that server's epoch then.
    session_server: u16,
    session_epoch: u16,
    /// Items in the cart as the user believes it.
    cart_items: u16,
    cart_server: u16,
    cart_epoch: u16,
    /// Items of the user's saved cart in the database (from earlier logins).
    saved_items: u16,
    /// Guests: requests left in this visit.
    visit_left: u16,
    /// Guests: database writes spent on this visit's guest cart.
    visit_writes: u16,
    active: bool,
    logged_out: bool,
    gone: bool,
}

/// A fired user and what they still got.
#[derive(Clone, Copy, Debug)]
struct Firing {
    at: SimTime,
    last_admitted: Option<SimTime>,
}

/// Random streams, one per purpose.
struct Streams {
    arrivals: SimRng,
    users: SimRng,
    service: SimRng,
    think: SimRng,
    network: SimRng,
    routing: SimRng,
    behaviour: SimRng,
    redis: SimRng,
    database: SimRng,
    revocation: SimRng,
    abuser: SimRng,
    jobs: SimRng,
    uploads: SimRng,
    websockets: SimRng,
    fleet: SimRng,
}

struct WebServer {
    state: ServerState,
    /// Bumped on every kill, so events scheduled before it are recognised as stale.
    epoch: u32,
    workers: Station,
    queue_limit: u64,
    /// The time of the Redis state this server's blocklist copy reflects.
    blocklist_as_of: SimTime,
    /// CPU time spent since the start, for the autoscaler's measurements.
    cpu_total_ns: u128,
    /// Billing: running since (None when stopped), and whether it is a spot instance.
    running_since: Option<SimTime>,
    spot: bool,
}

/// A Redis command in flight: who asked, for which request.
#[derive(Clone, Copy, Debug)]
struct RedisJob {
    cmd: Command,
    req: ReqId,
    server: u16,
    epoch: u32,
    reply: Option<Reply>,
    served_at: SimTime,
}

struct RedisNode {
    station: Station,
    kv: KvStore,
    down: bool,
    round_trip: Distribution,
    service: Distribution,
    normal_round_trip: Distribution,
    normal_service: Distribution,
    jobs: Vec<RedisJob>,
    free: Vec<u32>,
    ops: u64,
    ops_refused: u64,
}

#[derive(Clone, Copy, Debug)]
struct DbJob {
    req: ReqId,
    server: u16,
    epoch: u32,
    write: bool,
}

struct DbNode {
    station: Station,
    read: Distribution,
    write: Distribution,
    jobs: Vec<DbJob>,
    free: Vec<u32>,
    reads: u64,
    writes: u64,
}

/// What the rate limit let through and whom it turned away.
#[derive(Clone, Debug, Default)]
struct LimitStats {
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
}

/// The fleet's history: cost, scaling, interruptions, the deploy.
#[derive(Clone, Debug, Default)]
struct FleetStats {
    on_demand_s: f64,
    spot_s: f64,
    /// Instance-seconds after warm-up, for the mean fleet size.
    instance_s: f64,
    instances_max: u32,
    scale_outs: u64,
    scale_ins: u64,
    last_change: SimTime,
    cpu_snapshot: Vec<u128>,
    /// When a launched instance first entered rotation after the load profile's step.
    first_added_after_step: Option<SimTime>,
    spot_interruptions: u64,
    deploy_queue: Vec<u16>,
    deploy_started: Option<SimTime>,
    deploy_done: Option<SimTime>,
    deploy_logouts_at_start: u64,
    deploy_logouts: u64,
    deploy_failed_at_start: u64,
    deploy_failed: u64,
}

/// A user's WebSocket connection.
#[derive(Clone, Copy, Debug)]
struct WsConn {
    server: u16,
    epoch: u32,
    connected: bool,
}

/// A message in flight.
#[derive(Clone, Copy, Debug)]
struct WsMsg {
    sender: u32,
    receiver: u32,
    sent_at: SimTime,
}

/// What happened to messages and connections.
#[derive(Clone, Debug, Default)]
struct WsStats {
    sent: u64,
    delivered: u64,
    dropped: u64,
    published: u64,
    receipts: u64,
    reconnects: u64,
    /// Reconnect attempts per second of simulated time.
    reconnects_per_s: Vec<u32>,
}

/// An uploaded file: where it lives if on a server's disk.
#[derive(Clone, Copy, Debug)]
struct FileRecord {
    server: u16,
    epoch: u32,
    counted: bool,
}

/// What uploads cost and what reads found.
#[derive(Clone, Debug, Default)]
struct UploadStats {
    server_bytes: f64,
    server_worker_ns: u128,
    server_cpu_ns: u128,
    reads: u64,
    not_found: u64,
    slowdowns: u64,
    s3_second: u64,
    s3_puts_this_second: u32,
}

/// A submitted long job.
#[derive(Clone, Copy, Debug)]
struct JobRecord {
    submitted_at: SimTime,
    cpu: SimDuration,
    deliveries: u32,
    done: bool,
}

/// A queue worker.
#[derive(Clone, Copy, Debug)]
struct JobWorker {
    up: bool,
    epoch: u32,
    /// The job it is processing and when it started.
    job: Option<(u32, SimTime)>,
}

/// What happened to long jobs.
#[derive(Clone, Debug, Default)]
struct JobStats {
    submitted: u64,
    accepted: u64,
    completed: u64,
    completed_after_client_left: u64,
    lost_with_server: u64,
    run_twice: u64,
    cpu_wasted_ns: u128,
    /// Time-weighted sum of the queue's depth, and the most seen.
    depth_area: u128,
    depth_since: SimTime,
    depth_max: u64,
}

/// Scenario counts beside the common metrics.
#[derive(Clone, Debug, Default)]
struct Counts {
    logins: u64,
    logouts: u64,
    carts_lost: u64,
    items_lost: u64,
    merges: u64,
    merge_conflicts: u64,
    visits_abandoned: u64,
    guest_writes_wasted: u64,
    auth_lookups: u64,
    retried_after_failure: u64,
}

pub struct WebTier {
    population: Population,
    /// Whether anything reads which user sent a request (sticky routing, sessions,
    /// carts); if not, open arrivals skip drawing one.
    identify_users: bool,
    workload: Workload,
    timeout: Option<SimDuration>,
    idempotent_share: f64,
    retry_idempotent: bool,
    client_lb: Distribution,
    lb_server: Distribution,
    lb_latency: Distribution,
    service: Distribution,
    lb: LoadBalancer,
    servers: Vec<WebServer>,
    health: Option<HealthCheck>,
    boot_time: SimDuration,
    faults: Vec<Fault>,
    sessions: SessionSpec,
    carts: CartSpec,
    fire_rate: f64,
    fire_until: SimTime,
    redis: RedisNode,
    db: DbNode,
    users: Vec<UserState>,
    fired: BTreeMap<u32, Firing>,
    requests: Vec<Request>,
    free: Vec<ReqId>,
    /// Requests the load balancer sent to each server (counted ones, retries included).
    routed: Vec<u64>,
    rate_limit: Option<RateLimitSpec>,
    abuser: Option<AbuserSpec>,
    /// The abuser's user id (one past the population), or u32::MAX.
    abuser_id: u32,
    /// Local rate-limit counters, per server.
    local_limits: Vec<LimitMap>,
    jobs: Option<JobsSpec>,
    job_records: Vec<JobRecord>,
    job_queue: VecDeque<u32>,
    job_workers: Vec<JobWorker>,
    job_stats: JobStats,
    /// Submission-to-result times of completed jobs (counted ones), in ns.
    job_times: hdrhistogram::Histogram<u64>,
    uploads: Option<UploadSpec>,
    ws: Option<WsSpec>,
    fleet: FleetSpec,
    profile: Option<Profile>,
    /// Instances at the start.
    initial_count: usize,
    fleet_stats: FleetStats,
    ws_conn: Vec<WsConn>,
    ws_msgs: Vec<WsMsg>,
    ws_free: Vec<u32>,
    ws_stats: WsStats,
    ws_times: hdrhistogram::Histogram<u64>,
    files: Vec<FileRecord>,
    upload_stats: UploadStats,
    /// Latency of completed uploads, and of ordinary page requests, in ns.
    upload_times: hdrhistogram::Histogram<u64>,
    page_times: hdrhistogram::Histogram<u64>,
    /// Rate-limit state kept in Redis.
    redis_limits: LimitMap,
    limits: LimitStats,
    rng: Streams,
    pub rec: Recorder,
    counts: Counts,
    max_requests: Option<u64>,
    generated_counted: u64,
    outstanding_counted: u64,
    stop_generating: bool,
}

#[inline(always)]
fn draw(d: &Distribution, rng: &mut SimRng) -> SimDuration {
    if d.is_zero() { SimDuration::ZERO } else { SimDuration::from_nanos_f64(d.sample(rng)) }
}

/// Half of a round trip.
#[inline]
fn one_way(d: &Distribution, rng: &mut SimRng) -> SimDuration {
    SimDuration(draw(d, rng).0 / 2)
}

impl WebTier {
    /// Builds the world for one run of `system`, replication `replication`.
    pub fn new(system: &System, replication: u64) -> WebTier {
        let topo = Topology::build(system);
        let streams = RngStreams::new(system.run.seed, replication);
        let population = Population::new(&system.clients);
        // Room for the largest fleet the autoscaler may launch; the rest start stopped.
        let n = system.fleet.max as usize;
        let warmup = SimTime::ZERO + system.run.warmup;
        let needs_users = system.sessions.store != SessionStoreKind::None || system.carts.store != CartStoreKind::None;
        let abuser_id = if system.clients.abuser.is_some() { population.users } else { u32::MAX };
        let all_users = population.users as usize + system.clients.abuser.is_some() as usize;
        let mut redis_station = Station::new(1);
        redis_station.window_start = warmup;
        let mut db_station = Station::new(system.database.connections);
        db_station.window_start = warmup;
        WebTier {
            identify_users: needs_users || system.load_balancer.policy.is_sticky() || system.rate_limit.is_some(),
            rate_limit: system.rate_limit.clone(),
            abuser: system.clients.abuser.clone(),
            abuser_id,
            local_limits: (0..n).map(|_| LimitMap::default()).collect(),
            jobs: system.jobs.clone(),
            job_records: Vec::new(),
            job_queue: VecDeque::new(),
            job_workers: vec![JobWorker { up: true, epoch: 0, job: None }; system.jobs.as_ref().filter(|j| j.queued).map_or(0, |j| j.workers as usize)],
            job_stats: JobStats { depth_since: warmup, ..JobStats::default() },
            job_times: hdrhistogram::Histogram::new_with_bounds(1, 100_000_000_000_000, 3).expect("valid bounds"),
            uploads: system.uploads.clone(),
            ws: system.websockets.clone(),
            fleet: system.fleet.clone(),
            profile: system.clients.profile,
            initial_count: system.servers.count as usize,
            fleet_stats: FleetStats::default(),
            ws_conn: Vec::new(),
            ws_msgs: Vec::new(),
            ws_free: Vec::new(),
            ws_stats: WsStats { reconnects_per_s: vec![0; system.run.duration.as_secs_f64() as usize + 2], ..WsStats::default() },
            ws_times: hdrhistogram::Histogram::new_with_bounds(1, 100_000_000_000_000, 3).expect("valid bounds"),
            files: Vec::new(),
            upload_stats: UploadStats::default(),
            upload_times: hdrhistogram::Histogram::new_with_bounds(1, 100_000_000_000_000, 3).expect("valid bounds"),
            page_times: hdrhistogram::Histogram::new_with_bounds(1, 100_000_000_000_000, 3).expect("valid bounds"),
            redis_limits: LimitMap::default(),
            limits: LimitStats { recent: if system.rate_limit.is_some() { vec![VecDeque::new(); all_users] } else { Vec::new() }, ..LimitStats::default() },
            workload: system.clients.workload.clone(),
            timeout: system.clients.timeout,
            idempotent_share: system.clients.idempotent_share,
            retry_idempotent: system.load_balancer.retry_idempotent,
            client_lb: topo.hop(topo.clients, topo.lb).clone(),
            lb_server: topo.servers.first().map(|&s| topo.hop(topo.lb, s).clone()).unwrap_or(Distribution::constant(0.0)),
            lb_latency: system.load_balancer.latency.clone(),
            service: system.servers.service.clone(),
            lb: LoadBalancer::new(system.load_balancer.policy, n, population.users, system.load_balancer.virtual_nodes, system.load_balancer.retries),
            servers: (0..n)
                .map(|_| {
                    let mut workers = Station::new(system.servers.cores);
                    workers.window_start = warmup;
                    WebServer {
                        state: ServerState::Up,
                        epoch: 0,
                        workers,
                        queue_limit: system.servers.queue_limit,
                        blocklist_as_of: SimTime::ZERO,
                        cpu_total_ns: 0,
                        running_since: Some(SimTime::ZERO),
                        spot: false,
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
            faults: system.faults.clone(),
            sessions: system.sessions.clone(),
            carts: system.carts.clone(),
            fire_rate: system.revocation.fire_rate_per_sec,
            fire_until: SimTime::ZERO + system.revocation.fire_until,
            redis: RedisNode {
                station: redis_station,
                kv: KvStore::default(),
                down: false,
                round_trip: system.redis.round_trip.clone(),
                service: system.redis.service.clone(),
                normal_round_trip: system.redis.round_trip.clone(),
                normal_service: system.redis.service.clone(),
                jobs: Vec::new(),
                free: Vec::new(),
                ops: 0,
                ops_refused: 0,
            },
            db: DbNode {
                station: db_station,
                read: system.database.read.clone(),
                write: system.database.write.clone(),
                jobs: Vec::new(),
                free: Vec::new(),
                reads: 0,
                writes: 0,
            },
            fired: BTreeMap::new(),
            routed: vec![0; n],
            requests: Vec::new(),
            free: Vec::new(),
            rng: Streams {
                arrivals: streams.stream("arrivals"),
                users: streams.stream("users"),
                service: streams.stream("service"),
                think: streams.stream("think"),
                network: streams.stream("network"),
                routing: streams.stream("routing"),
                behaviour: streams.stream("behaviour"),
                redis: streams.stream("redis"),
                database: streams.stream("database"),
                revocation: streams.stream("revocation"),
                abuser: streams.stream("abuser"),
                jobs: streams.stream("jobs"),
                uploads: streams.stream("uploads"),
                websockets: streams.stream("websockets"),
                fleet: streams.stream("fleet"),
            },
            rec: Recorder::new(n, warmup, system.run.timeseries_step, system.run.duration),
            counts: Counts::default(),
            max_requests: system.run.max_requests,
            generated_counted: 0,
            outstanding_counted: 0,
            stop_generating: false,
        }
    }

    /// Schedules the first events: arrivals or every user's first wake-up, health
    /// checks, blocklist refreshes, firings and faults.
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
        if self.sessions.warm_start && self.sessions.store != SessionStoreKind::None && !self.carts.guests {
            self.warm_start();
        }
        if let Some(h) = self.health {
            sched.emit(h.interval, Event::HealthCheck);
        }
        if self.sessions.store == SessionStoreKind::Jwt && self.sessions.blocklist == BlocklistMode::Cached {
            let period = self.sessions.blocklist_refresh;
            for s in 0..self.servers.len() {
                // Servers refresh out of phase, as independent processes do.
                let phase = SimDuration(self.rng.redis.random_range(0..period.0.max(1)));
                sched.emit(phase, Event::BlocklistRefresh { server: s as u16 });
            }
        }
        if let Some(ws) = self.ws.clone() {
            // Every user connects through the load balancer (the gateway holds them all).
            for user in 0..self.population.users {
                let key = RouteKey { user, ip: self.population.ip_of(user) };
                let server = self.lb.route(&key, &mut self.rng.routing).unwrap_or(0);
                self.ws_conn.push(WsConn { server, epoch: 0, connected: true });
            }
            let rate = ws.messages_per_user_per_sec * self.population.users as f64;
            let e: f64 = Exp1.sample(&mut self.rng.websockets);
            sched.emit(SimDuration::from_secs_f64(e / rate), Event::WsMessage);
        }
        if self.abuser.is_some() {
            let first = self.abuser_next(SimTime::ZERO);
            sched.emit_at(first, Event::AbuserSends);
        }
        if self.fire_rate > 0.0 {
            let first = self.rec.warmup_end.0 + self.fire_gap().0;
            sched.emit_at(SimTime(first), Event::Fire);
        }
        for (i, f) in self.faults.iter().enumerate() {
            sched.emit(f.at, Event::Fault { index: i as u32 });
        }
        // Instances beyond the initial fleet start stopped and out of rotation.
        for s in self.initial_count..self.servers.len() {
            self.servers[s].state = ServerState::Down;
            self.servers[s].running_since = None;
            self.lb.deregister(s as u16, false);
        }
        let spots = (self.initial_count as f64 * self.fleet.spot_share).round() as usize;
        for s in self.initial_count - spots..self.initial_count {
            self.servers[s].spot = true;
            self.schedule_spot_interruption(sched, s as u16);
        }
        if self.fleet.autoscale {
            self.fleet_stats.cpu_snapshot = vec![0; self.servers.len()];
            sched.emit(self.fleet.metric_period, Event::ScaleCheck);
        }
        if let Some((at, _)) = self.fleet.deploy {
            sched.emit(at, Event::DeployNext);
        }
        let n = self.initial_count as u32;
        self.rec.on_fleet_change(SimTime::ZERO, n, n);
        self.note_cost(SimTime::ZERO);
    }

    // ----- the fleet -------------------------------------------------------------------

    fn schedule_spot_interruption(&mut self, sched: &mut Scheduler<Event>, server: u16) {
        if self.fleet.spot_interruptions_per_sec <= 0.0 {
            return;
        }
        let e: f64 = Exp1.sample(&mut self.rng.fleet);
        let epoch = self.servers[server as usize].epoch;
        sched.emit(SimDuration::from_secs_f64(e / self.fleet.spot_interruptions_per_sec), Event::SpotNotice { server, epoch });
    }

    /// Bills a server's running time up to `now` and stops the meter.
    fn bill(&mut self, server: u16, now: SimTime, keep_running: bool) {
        let s = &mut self.servers[server as usize];
        if let Some(since) = s.running_since {
            let secs = now.since(since).as_secs_f64();
            if s.spot {
                self.fleet_stats.spot_s += secs;
            } else {
                self.fleet_stats.on_demand_s += secs;
            }
            let from = since.max(self.rec.warmup_end);
            if now > from {
                self.fleet_stats.instance_s += now.since(from).as_secs_f64();
            }
            s.running_since = if keep_running { Some(now) } else { None };
        }
        self.note_cost(now);
    }

    /// Records what the running instances cost per hour from now on.
    fn note_cost(&mut self, now: SimTime) {
        let per_hour: f64 = self
            .servers
            .iter()
            .filter(|s| s.running_since.is_some())
            .map(|s| if s.spot { self.fleet.spot_per_hour } else { self.fleet.on_demand_per_hour })
            .sum();
        self.rec.on_fleet_cost(now, per_hour);
    }

    fn running(&self) -> usize {
        self.servers.iter().filter(|s| s.running_since.is_some()).count()
    }

    /// Starts a stopped instance: it boots, then health checks put it into rotation.
    fn launch(&mut self, sched: &mut Scheduler<Event>, server: u16) {
        let now = sched.now();
        let running = self.running();
        let spots = self.servers.iter().filter(|s| s.running_since.is_some() && s.spot).count();
        let spot = (spots as f64) < self.fleet.spot_share * (running + 1) as f64 - 0.5;
        let s = &mut self.servers[server as usize];
        s.state = ServerState::Booting;
        s.running_since = Some(now);
        s.spot = spot;
        let epoch = s.epoch;
        self.lb.register(server);
        sched.emit(self.boot_time, Event::ServerReady { server, epoch });
        if spot {
            self.schedule_spot_interruption(sched, server);
        }
        self.fleet_stats.instances_max = self.fleet_stats.instances_max.max(self.running() as u32);
        self.note_cost(now);
    }

    /// Takes an instance out of rotation; after `drain` it stops (and, in a deploy, a new
    /// one starts in its place).
    fn retire(&mut self, sched: &mut Scheduler<Event>, server: u16, drain: SimDuration, relaunch: bool) {
        self.lb.deregister(server, !drain.is_zero());
        let epoch = self.servers[server as usize].epoch;
        sched.emit(drain, Event::InstanceStop { server, epoch, relaunch });
        self.fleet_changed(sched.now());
    }

    fn scale_check(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let period = self.fleet.metric_period;
        sched.emit(period, Event::ScaleCheck);
        // Average CPU of the instances in service over the last period.
        let (mut busy, mut capacity) = (0u128, 0.0f64);
        for (i, s) in self.servers.iter().enumerate() {
            let delta = s.cpu_total_ns - self.fleet_stats.cpu_snapshot[i];
            if s.state == ServerState::Up {
                busy += delta;
                capacity += s.workers.capacity as f64 * period.0 as f64;
            }
        }
        self.fleet_stats.cpu_snapshot = self.servers.iter().map(|s| s.cpu_total_ns).collect();
        if capacity == 0.0 {
            return;
        }
        let cpu = busy as f64 / capacity;
        let running = self.running();
        // Size from the instances in service (booting ones are not measured yet), as
        // target tracking does: in_service x cpu / target.
        let in_service = self.servers.iter().filter(|s| s.state == ServerState::Up && s.running_since.is_some()).count();
        let desired = ((in_service as f64 * cpu / self.fleet.target_cpu).ceil() as usize).clamp(self.fleet.min as usize, self.servers.len());
        if desired > running {
            let stopped: Vec<u16> =
                (0..self.servers.len() as u16).filter(|&s| self.servers[s as usize].running_since.is_none()).take(desired - running).collect();
            for s in stopped {
                self.launch(sched, s);
                self.fleet_stats.scale_outs += 1;
            }
            self.fleet_stats.last_change = now;
        } else if desired < running && now.since(self.fleet_stats.last_change) >= self.fleet.cooldown {
            let victims: Vec<u16> = (0..self.servers.len() as u16)
                .rev()
                .filter(|&s| self.servers[s as usize].state == ServerState::Up && self.lb.is_in_rotation(s))
                .take(running - desired)
                .collect();
            for s in victims {
                self.retire(sched, s, SimDuration::ZERO, false);
                self.fleet_stats.scale_ins += 1;
            }
            self.fleet_stats.last_change = now;
        }
    }

    /// One step of the rolling deploy: replace the next server once the previous one is
    /// back in rotation.
    fn deploy_next(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let (_, drain) = self.fleet.deploy.expect("a deploy");
        if self.fleet_stats.deploy_started.is_none() {
            self.fleet_stats.deploy_started = Some(now);
            self.fleet_stats.deploy_logouts_at_start = self.counts.logouts;
            self.fleet_stats.deploy_failed_at_start = self.rec.failed_total();
            self.fleet_stats.deploy_queue = (0..self.servers.len() as u16).rev().filter(|&s| self.servers[s as usize].running_since.is_some()).collect();
        }
        let busy = self.servers.iter().enumerate().any(|(i, s)| s.running_since.is_some() && (s.state != ServerState::Up || !self.lb.is_in_rotation(i as u16)));
        if busy {
            // The last replacement is still draining, booting or waiting for health checks.
            return sched.emit(SimDuration::from_secs(1), Event::DeployNext);
        }
        match self.fleet_stats.deploy_queue.pop() {
            Some(server) => {
                self.retire(sched, server, drain, true);
                sched.emit(SimDuration::from_secs(1), Event::DeployNext);
            }
            None => {
                self.fleet_stats.deploy_done = Some(now);
                self.fleet_stats.deploy_logouts = self.counts.logouts - self.fleet_stats.deploy_logouts_at_start;
                self.fleet_stats.deploy_failed = self.rec.failed_total() - self.fleet_stats.deploy_failed_at_start;
            }
        }
    }

    /// Every user starts logged in, with a session issued at a random moment over the
    /// past lifetime: server-memory sessions on the server the load balancer would pick
    /// for the user now, reference tokens in Redis with their remaining TTL.
    fn warm_start(&mut self) {
        let lifetime = self.sessions.lifetime.0.max(1);
        for user in 0..self.population.users {
            let remaining = SimDuration(1 + self.rng.behaviour.random_range(0..lifetime));
            self.users[user as usize].token_expires = SimTime::ZERO + remaining;
            match self.sessions.store {
                SessionStoreKind::ServerMemory => {
                    let key = RouteKey { user, ip: self.population.ip_of(user) };
                    if let Some(s) = self.lb.route(&key, &mut self.rng.routing) {
                        self.users[user as usize].session_server = s;
                        self.users[user as usize].session_epoch = 0;
                    }
                }
                SessionStoreKind::Redis => {
                    self.redis.kv.apply(Command::Set(Key::Session(user), 1, Some(remaining)), SimTime::ZERO);
                }
                _ => {}
            }
        }
    }

    #[inline]
    fn interarrival(&mut self, rate_per_sec: f64) -> SimDuration {
        let e: f64 = Exp1.sample(&mut self.rng.arrivals);
        SimDuration::from_nanos_f64(e * (1e9 / rate_per_sec))
    }

    fn fire_gap(&mut self) -> SimDuration {
        let e: f64 = Exp1.sample(&mut self.rng.revocation);
        SimDuration::from_secs_f64(e / self.fire_rate)
    }

    /// Delivers `event` after `delay`; with no delay it is handled at once, which saves
    /// a trip through the queue for zero-latency hops.
    #[inline]
    fn hop(&mut self, sched: &mut Scheduler<Event>, delay: SimDuration, event: Event) {
        if !delay.is_zero() {
            return sched.emit(delay, event);
        }
        // Straight to the handler: the hot hops skip the big dispatch.
        match event {
            Event::ReachLb { req } => self.reach_lb(sched, req),
            Event::ReachServer { req, server } => self.arrive_at_server(sched, req, server),
            Event::ReachClient { req } => self.reach_client(sched, req),
            other => self.handle(other, sched),
        }
    }

    fn reach_lb(&mut self, sched: &mut Scheduler<Event>, req: ReqId) {
        let r = &self.requests[req as usize];
        let key = RouteKey { user: r.user, ip: r.ip };
        match self.lb.route(&key, &mut self.rng.routing) {
            Some(server) => self.forward(sched, req, server),
            None => self.answer_from_lb(sched, req, FailReason::NoHealthyServer),
        }
    }

    fn reach_client(&mut self, sched: &mut Scheduler<Event>, req: ReqId) {
        let now = sched.now();
        if self.uploads.is_some()
            && let Some(leg) = self.s3_leg(req, now)
        {
            // The client now talks to S3 itself; the request ends when that is done.
            return sched.emit(leg, Event::ReachClient { req });
        }
        let r = &self.requests[req as usize];
        let (user, sent_at, timed_out, outcome, kind) = (r.user, r.sent_at, r.timed_out, r.outcome, r.kind);
        if outcome == Outcome::Ok && !timed_out && self.rec.counts(sent_at) {
            let took = now.since(sent_at).0.max(1);
            match kind {
                Kind::Upload => {
                    self.upload_times.saturating_record(took);
                    if self.uploads.as_ref().is_some_and(|u| u.store == UploadStore::Presigned) {
                        self.files.push(FileRecord { server: NO_SERVER, epoch: 0, counted: true });
                    }
                }
                Kind::ReadFile => self.upload_stats.reads += 1,
                // Ordinary requests apart from long ones: only where long ones exist.
                Kind::Page | Kind::AddToCart if self.uploads.is_some() || self.jobs.is_some() => {
                    self.page_times.saturating_record(took);
                }
                _ => {}
            }
        }
        self.release(req);
        if !timed_out {
            match outcome {
                Outcome::Ok => self.rec.on_ok(sched.now(), sent_at),
                Outcome::Failed(reason) => {
                    if reason == FailReason::Unauthorized
                        && let Some(u) = self.users.get_mut(user as usize)
                    {
                        u.gone = true; // a fired user stops once turned away
                    }
                    self.rec.on_failed(sched.now(), sent_at, reason)
                }
                Outcome::Pending => unreachable!("answers carry an outcome"),
            }
            self.client_done(sched, user, sent_at);
        }
    }

    /// The abuser's next send after `now`: Poisson at its rate, only inside its bursts.
    fn abuser_next(&mut self, now: SimTime) -> SimTime {
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

    // ----- rate limits ---------------------------------------------------------------

    fn limit_key(&self, req: ReqId) -> u64 {
        let r = &self.requests[req as usize];
        match self.rate_limit.as_ref().expect("a rate limit").key {
            LimitKey::User => r.user as u64,
            LimitKey::Ip => (1 << 40) | r.ip as u64,
            LimitKey::ApiKey => match self.population.group_of(r.user) {
                Some(g) => (2 << 40) | g as u64,
                None => r.user as u64,
            },
        }
    }

    /// Stage 0: the rate limit, in this server's memory or in Redis.
    fn rate_check(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId) {
        let now = sched.now();
        let spec = self.rate_limit.clone().expect("a rate limit");
        let key = self.limit_key(req);
        match (spec.store, spec.commands) {
            (LimitStore::Local, _) => {
                let map = &mut self.local_limits[server as usize];
                let state = map.entry(key).or_insert_with(|| spec.limit.new_state(now));
                let allowed = spec.limit.check(state, now);
                self.rate_decided(sched, server, req, allowed);
            }
            (LimitStore::Redis, LimitCommands::Atomic) => self.redis_send(sched, Command::RateCheck(key), req, server),
            (LimitStore::Redis, LimitCommands::IncrThenExpire) => self.redis_send(sched, Command::Incr(Key::Counter(key)), req, server),
        }
    }

    /// Redis answered a rate-limit command (None: Redis refused the connection).
    fn rate_reply(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId, cmd: Command, reply: Option<Reply>) {
        let spec = self.rate_limit.clone().expect("a rate limit");
        let Some(reply) = reply else {
            if self.redis.down && spec.fail == FailMode::Open && self.rec.counts(self.requests[req as usize].sent_at) {
                self.limits.allowed_while_redis_down += 1;
            }
            return match spec.fail {
                FailMode::Open => self.rate_decided(sched, server, req, true),
                FailMode::Closed => self.reject(sched, server, req, FailReason::RedisUnavailable),
            };
        };
        match (cmd, reply) {
            (Command::RateCheck(_), Reply::Value(Some(v))) => self.rate_decided(sched, server, req, v == 1),
            (Command::Incr(k), Reply::Value(Some(count))) => {
                self.requests[req as usize].limit_count = count as u32;
                if count == 1 {
                    // Second round trip: a crash before it lands leaves the key with no TTL.
                    self.redis_send(sched, Command::Expire(k, spec.limit.window), req, server);
                } else {
                    self.rate_decided(sched, server, req, count as u32 <= spec.limit.limit);
                }
            }
            (Command::Expire(..), _) => {
                let count = self.requests[req as usize].limit_count;
                self.rate_decided(sched, server, req, count <= spec.limit.limit);
            }
            _ => self.rate_decided(sched, server, req, true),
        }
    }

    fn rate_decided(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId, allowed: bool) {
        let now = sched.now();
        let r = &self.requests[req as usize];
        let (user, sent_at) = (r.user, r.sent_at);
        // The check started when the worker took the request (auth_start until auth resets it).
        self.rec.on_check(sent_at, now.since(r.auth_start));
        let counted = self.rec.counts(sent_at);
        if user == self.abuser_id {
            if allowed {
                self.rec.on_abuser_allowed(now);
            }
            if allowed && counted {
                let window = self.rate_limit.as_ref().expect("a rate limit").limit.window;
                let l = &mut self.limits;
                l.abuser_allowed += 1;
                l.abuser_window.push_back(now);
                while l.abuser_window.front().is_some_and(|t| now.0 >= t.0 + window.0) {
                    l.abuser_window.pop_front();
                }
                l.abuser_max_sliding = l.abuser_max_sliding.max(l.abuser_window.len());
                *l.abuser_per_window.entry(now.0 / window.0).or_insert(0) += 1;
            }
        } else if !allowed && counted {
            self.limits.rejected_users += 1;
            if self.population.group_of(user).is_some() {
                self.limits.rejected_nat += 1;
            }
            // Was this user, on their own, under the limit? Count their sends in the window.
            let limit = self.rate_limit.as_ref().expect("a rate limit").limit;
            if (self.limits.recent[user as usize].len() as u32) <= limit.limit {
                self.limits.wrongly_rejected += 1;
            }
        }
        if !allowed {
            return self.reject(sched, server, req, FailReason::RateLimited);
        }
        if self.users.is_empty() {
            self.run_cpu(sched, server, req);
        } else {
            self.auth(sched, server, req);
        }
    }

    // ----- clients -------------------------------------------------------------------

    /// Decides what a user asks for next, from what the user holds.
    fn next_kind(&mut self, user: u32, now: SimTime) -> (Kind, bool) {
        let add = self.carts.store != CartStoreKind::None && self.rng.behaviour.random::<f64>() < self.carts.add_share;
        let browse = if add { Kind::AddToCart } else { Kind::Page };
        if self.users.is_empty() || self.sessions.store == SessionStoreKind::None {
            return (browse, false);
        }
        let u = &mut self.users[user as usize];
        if self.carts.guests {
            // A guest visit: browse and fill a cart, then check out (log in) or leave.
            if u.visit_left == 0 {
                // Geometric with this mean: ceil(E / -ln(1 - p)), E exponential, p = 1 / mean.
                let p = 1.0 / self.carts.visit_requests.max(1.0);
                let e: f64 = Exp1.sample(&mut self.rng.behaviour);
                let k = (e / -(1.0 - p).ln()).ceil().max(1.0);
                u.visit_left = k.min(u16::MAX as f64) as u16;
            }
            u.visit_left -= 1;
            if u.visit_left == 0 {
                if self.rng.behaviour.random::<f64>() < self.carts.login_share {
                    return (Kind::Login { merge: true }, false);
                }
                // The guest leaves; the cart is abandoned.
                self.counts.visits_abandoned += 1;
                self.counts.guest_writes_wasted += u.visit_writes as u64;
                u.visit_writes = 0;
                u.cart_items = 0;
            }
            return (browse, false);
        }
        if u.token_expires <= now {
            // The session ended: the client drops its cookie too.
            self.lb.unpin(user);
            return (Kind::Login { merge: false }, false);
        }
        (browse, true)
    }

    fn new_request(&mut self, sched: &mut Scheduler<Event>, user: u32) {
        let now = sched.now();
        let service = draw(&self.service, &mut self.rng.service);
        let (mut kind, authenticated) = if user == self.abuser_id { (Kind::Page, false) } else { self.next_kind(user, now) };
        let mut job_cpu = SimDuration::ZERO;
        let mut service = service;
        if let Some(j) = &self.jobs
            && matches!(kind, Kind::Page | Kind::AddToCart)
            && self.rng.jobs.random::<f64>() < j.share
        {
            kind = Kind::Job;
            job_cpu = draw(&j.duration, &mut self.rng.jobs);
            // In the request, the job is the request's CPU; queued, the request only
            // validates and enqueues it.
            service = if j.queued { j.accept_cpu } else { job_cpu };
            if self.rec.counts(now) {
                self.job_stats.submitted += 1;
            }
        }
        let (mut bytes, mut file) = (0u64, 0u32);
        if let Some(u) = &self.uploads
            && matches!(kind, Kind::Page | Kind::AddToCart)
        {
            let x = self.rng.uploads.random::<f64>();
            if x < u.share {
                kind = Kind::Upload;
                bytes = u.size.sample(&mut self.rng.uploads).max(1.0) as u64;
            } else if x < u.share + u.read_share && !self.files.is_empty() {
                kind = Kind::ReadFile;
                file = self.rng.uploads.random_range(0..self.files.len() as u32);
            }
        }
        if let Some(rl) = &self.rate_limit {
            let window = rl.limit.window;
            let recent = &mut self.limits.recent[user as usize];
            recent.push_back(now);
            while recent.front().is_some_and(|t| now.0 >= t.0 + window.0) {
                recent.pop_front();
            }
            if user == self.abuser_id && self.rec.counts(now) {
                self.limits.abuser_sent += 1;
            }
        }
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
            attempts: 0,
            kind,
            authenticated,
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

    /// The client has its outcome (or gave up): a closed-workload user thinks again.
    fn client_done(&mut self, sched: &mut Scheduler<Event>, user: u32, sent_at: SimTime) {
        if self.rec.counts(sent_at) {
            self.outstanding_counted -= 1;
        }
        if self.stop_generating && self.outstanding_counted == 0 {
            sched.stop();
        }
        if user == self.abuser_id || self.users.get(user as usize).is_some_and(|u| u.gone) {
            return;
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

    // ----- load balancer -------------------------------------------------------------

    fn forward(&mut self, sched: &mut Scheduler<Event>, req: ReqId, server: u16) {
        let r = &mut self.requests[req as usize];
        r.server = server;
        if server < 64 {
            r.tried |= 1u64 << server;
        }
        if r.sent_at >= self.rec.warmup_end {
            self.routed[server as usize] += 1;
        }
        self.lb.connections[server as usize] += 1;
        let delay = draw(&self.lb_server, &mut self.rng.network);
        self.hop(sched, delay, Event::ReachServer { req, server });
    }

    /// Tries the request on another server if retries allow; true if it was retried.
    fn retry_elsewhere(&mut self, sched: &mut Scheduler<Event>, req: ReqId) -> bool {
        let r = &mut self.requests[req as usize];
        if (r.attempts as u32) >= self.lb.retries {
            return false;
        }
        r.attempts += 1;
        let key = RouteKey { user: r.user, ip: r.ip };
        let tried = r.tried;
        match self.lb.route_retry(&key, tried) {
            Some(next) => {
                self.forward(sched, req, next);
                true
            }
            None => false,
        }
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

    // ----- servers -------------------------------------------------------------------

    fn arrive_at_server(&mut self, sched: &mut Scheduler<Event>, req: ReqId, server: u16) {
        let now = sched.now();
        let s = &mut self.servers[server as usize];
        if s.state != ServerState::Up {
            let delay = draw(&self.lb_server, &mut self.rng.network);
            self.hop(sched, delay, Event::Refused { req, server });
        } else if s.workers.has_free() {
            self.requests[req as usize].enqueued_at = now;
            self.begin(sched, server, req);
        } else if s.workers.queue.len() as u64 >= s.queue_limit {
            self.answer_from_server(sched, req, Outcome::Failed(FailReason::Overloaded));
        } else {
            s.workers.queue.push_back((req, now));
            self.requests[req as usize].enqueued_at = now;
        }
    }

    /// A worker takes the request: start its pipeline.
    fn begin(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId) {
        let now = sched.now();
        let r = &mut self.requests[req as usize];
        self.rec.on_service_start(r.sent_at, now.since(r.enqueued_at));
        r.auth_start = now;
        r.extra_cpu = SimDuration::ZERO;
        self.servers[server as usize].workers.start(req, now);
        if self.rate_limit.is_some() {
            self.rate_check(sched, server, req);
        } else if self.users.is_empty() {
            self.run_cpu(sched, server, req);
        } else {
            self.auth(sched, server, req);
        }
    }

    fn epoch16(&self, server: u16) -> u16 {
        self.servers[server as usize].epoch as u16
    }

    /// Stage 1: check the session or token the request carries.
    fn auth(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId) {
        let now = sched.now();
        self.requests[req as usize].auth_start = now;
        let r = &self.requests[req as usize];
        let user = r.user;
        if !r.authenticated {
            return self.after_auth(sched, server, req);
        }
        match self.sessions.store {
            SessionStoreKind::None => self.after_auth(sched, server, req),
            SessionStoreKind::ServerMemory => {
                let u = self.users[user as usize];
                let here = u.session_server == server && u.session_epoch == self.epoch16(server) && u.token_expires > now;
                if here {
                    self.admitted(sched, server, req);
                } else if self.fired.contains_key(&user) {
                    self.reject(sched, server, req, FailReason::Unauthorized);
                } else {
                    // The session is gone (its server died, or this is another server):
                    // the user must log in again.
                    self.logged_out(now, user);
                    self.requests[req as usize].kind = Kind::Login { merge: false };
                    self.requests[req as usize].authenticated = false;
                    self.after_auth(sched, server, req);
                }
            }
            SessionStoreKind::Redis => {
                self.counts.auth_lookups += 1;
                self.redis_send(sched, Command::Get(Key::Session(user)), req, server);
            }
            SessionStoreKind::Jwt => {
                self.requests[req as usize].extra_cpu = self.requests[req as usize].extra_cpu + self.sessions.algorithm.verify();
                match self.sessions.blocklist {
                    BlocklistMode::Off => self.admitted(sched, server, req),
                    BlocklistMode::PerRequest => {
                        self.counts.auth_lookups += 1;
                        self.redis_send(sched, Command::Get(Key::Blocklist(user)), req, server);
                    }
                    BlocklistMode::Cached => {
                        let as_of = self.servers[server as usize].blocklist_as_of;
                        if self.fired.get(&user).is_some_and(|f| f.at <= as_of) {
                            self.reject(sched, server, req, FailReason::Unauthorized);
                        } else {
                            self.admitted(sched, server, req);
                        }
                    }
                }
            }
        }
    }

    /// Redis answered an auth lookup.
    fn auth_reply(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId, reply: Option<Reply>) {
        let user = self.requests[req as usize].user;
        match (self.sessions.store, reply) {
            (_, None) => {
                // Redis refused the connection.
                if self.sessions.store == SessionStoreKind::Jwt && self.sessions.blocklist_fail == FailMode::Open {
                    self.admitted(sched, server, req);
                } else {
                    self.reject(sched, server, req, FailReason::RedisUnavailable);
                }
            }
            (SessionStoreKind::Redis, Some(Reply::Value(Some(_)))) => self.admitted(sched, server, req),
            (SessionStoreKind::Redis, Some(_)) => {
                if self.fired.contains_key(&user) {
                    self.reject(sched, server, req, FailReason::Unauthorized);
                } else {
                    // Expired between the client's check and ours: log in again.
                    self.requests[req as usize].kind = Kind::Login { merge: false };
                    self.requests[req as usize].authenticated = false;
                    self.after_auth(sched, server, req);
                }
            }
            (_, Some(Reply::Value(Some(_)))) => self.reject(sched, server, req, FailReason::Unauthorized),
            (_, Some(_)) => self.admitted(sched, server, req),
        }
    }

    /// The request's credentials were accepted.
    fn admitted(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId) {
        let user = self.requests[req as usize].user;
        if let Some(f) = self.fired.get_mut(&user) {
            f.last_admitted = Some(sched.now());
        }
        self.after_auth(sched, server, req);
    }

    fn after_auth(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId) {
        let now = sched.now();
        let r = &self.requests[req as usize];
        if r.authenticated {
            let took = now.since(r.auth_start) + r.extra_cpu;
            self.rec.on_auth(r.sent_at, took);
        }
        if matches!(r.kind, Kind::Login { .. }) {
            self.db_send(sched, req, server, false);
        } else {
            self.cart(sched, server, req);
        }
    }

    /// Stage 2 (logins): the credentials were read from the database.
    fn login(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId) {
        let now = sched.now();
        let user = self.requests[req as usize].user;
        if self.fired.contains_key(&user) {
            // A fired user cannot log in or refresh.
            self.users[user as usize].gone = true;
            return self.reject(sched, server, req, FailReason::Unauthorized);
        }
        self.counts.logins += 1;
        let lifetime = self.sessions.lifetime;
        let epoch = self.epoch16(server);
        let r = &mut self.requests[req as usize];
        r.extra_cpu = r.extra_cpu + self.sessions.login_cpu;
        let u = &mut self.users[user as usize];
        u.token_expires = now + lifetime;
        match self.sessions.store {
            SessionStoreKind::ServerMemory => {
                u.session_server = server;
                u.session_epoch = epoch;
            }
            SessionStoreKind::Jwt => {
                r.extra_cpu = r.extra_cpu + self.sessions.algorithm.sign();
            }
            SessionStoreKind::Redis => {
                return self.redis_send(sched, Command::Set(Key::Session(user), 1, Some(lifetime)), req, server);
            }
            SessionStoreKind::None => {}
        }
        self.after_login(sched, server, req);
    }

    fn after_login(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId) {
        let r = &self.requests[req as usize];
        let user = r.user;
        if r.kind == (Kind::Login { merge: true }) {
            // Checkout: the guest cart becomes the user's saved cart.
            self.check_cart_here(server, user);
            let u = &mut self.users[user as usize];
            self.counts.merges += 1;
            if u.saved_items > 0 && u.cart_items > 0 {
                self.counts.merge_conflicts += 1;
            }
            u.saved_items = u.saved_items.saturating_add(u.cart_items);
            u.cart_items = 0;
            u.visit_writes = 0;
            // The merged cart is written to the database (client and server-memory
            // carts are copied; a database guest cart is re-keyed to the user).
            return self.db_send(sched, req, server, true);
        }
        self.cart(sched, server, req);
    }

    /// Stage 3: the cart. Server-memory carts are checked on every request.
    fn cart(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId) {
        if self.users.is_empty() || self.carts.store == CartStoreKind::None {
            return self.run_cpu(sched, server, req);
        }
        let user = self.requests[req as usize].user;
        let epoch = self.epoch16(server);
        let add = self.requests[req as usize].kind == Kind::AddToCart;
        self.check_cart_here(server, user);
        let u = &mut self.users[user as usize];
        if add {
            u.cart_items = u.cart_items.saturating_add(1);
            if self.carts.store == CartStoreKind::ServerMemory && u.cart_items == 1 {
                u.cart_server = server;
                u.cart_epoch = epoch;
            }
            if self.carts.store == CartStoreKind::Database {
                if self.carts.guests {
                    u.visit_writes = u.visit_writes.saturating_add(1);
                }
                return self.db_send(sched, req, server, true);
            }
        }
        self.run_cpu(sched, server, req);
    }

    /// A server-memory cart is only where it was made: anywhere else, or after that
    /// server restarted, the user finds it empty.
    fn check_cart_here(&mut self, server: u16, user: u32) {
        let epoch = self.epoch16(server);
        let u = &mut self.users[user as usize];
        if self.carts.store == CartStoreKind::ServerMemory && u.cart_items > 0 && (u.cart_server != server || u.cart_epoch != epoch) {
            self.counts.carts_lost += 1;
            self.counts.items_lost += u.cart_items as u64;
            u.cart_items = 0;
        }
    }

    /// Stage 4: CPU time (the request's own work plus token checks and logins).
    fn run_cpu(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId) {
        if let Some(u) = self.uploads.clone()
            && matches!(self.requests[req as usize].kind, Kind::Upload | Kind::ReadFile)
        {
            return self.transfer(sched, server, req, &u);
        }
        let r = &self.requests[req as usize];
        let cpu = r.service + r.extra_cpu;
        let epoch = self.servers[server as usize].epoch;
        sched.emit(cpu, Event::ServiceDone { req, server, epoch });
    }

    /// The server's part of an upload or a read: receive and store, stream through to
    /// S3, sign a URL, or (local disk) find the file here or answer 404.
    fn transfer(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId, u: &UploadSpec) {
        let epoch = self.servers[server as usize].epoch;
        let r = &self.requests[req as usize];
        let (kind, bytes) = (r.kind, r.bytes as f64);
        let secs = |b: f64, per_s: f64| SimDuration::from_secs_f64(b / per_s);
        let (cpu, wait) = match (kind, u.store) {
            (Kind::Upload, UploadStore::LocalDisk) => (SimDuration::from_nanos_f64(bytes * u.cpu_ns_per_byte), secs(bytes, u.client_bytes_per_s)),
            (Kind::Upload, UploadStore::ThroughServer) => {
                let first = draw(&u.s3_first_byte, &mut self.rng.uploads);
                (SimDuration::from_nanos_f64(bytes * u.cpu_ns_per_byte), first + secs(bytes, u.client_bytes_per_s.min(u.s3_bytes_per_s)))
            }
            (Kind::Upload, _) => (u.presign_cpu, SimDuration::ZERO),
            (Kind::ReadFile, UploadStore::LocalDisk) => {
                let f = self.files[r.file as usize];
                if f.server != server || f.epoch != epoch {
                    if self.rec.counts(r.sent_at) {
                        self.upload_stats.not_found += 1;
                    }
                    return self.reject(sched, server, req, FailReason::NotFound);
                }
                (SimDuration::ZERO, SimDuration::ZERO)
            }
            (Kind::ReadFile, UploadStore::ThroughServer) => (SimDuration::ZERO, draw(&u.s3_first_byte, &mut self.rng.uploads)),
            _ => (SimDuration::ZERO, SimDuration::ZERO), // a pre-signed GET: a redirect
        };
        let r = &mut self.requests[req as usize];
        r.extra_cpu = r.extra_cpu + cpu;
        let hold = r.service + r.extra_cpu + wait;
        if kind == Kind::Upload && u.store != UploadStore::Presigned && self.rec.counts(r.sent_at) {
            self.upload_stats.server_bytes += bytes;
            self.upload_stats.server_worker_ns += hold.0 as u128;
            self.upload_stats.server_cpu_ns += cpu.0 as u128;
        }
        sched.emit(hold, Event::ServiceDone { req, server, epoch });
    }

    /// The client's own leg to S3 for a pre-signed upload or read; None if there is none.
    fn s3_leg(&mut self, req: ReqId, now: SimTime) -> Option<SimDuration> {
        let u = self.uploads.clone()?;
        let r = &self.requests[req as usize];
        if u.store != UploadStore::Presigned || r.s3_leg_done || r.outcome != Outcome::Ok || !matches!(r.kind, Kind::Upload | Kind::ReadFile) {
            return None;
        }
        let mut leg = draw(&u.s3_first_byte, &mut self.rng.uploads);
        if r.kind == Kind::Upload {
            leg = leg + SimDuration::from_secs_f64(r.bytes as f64 / u.client_bytes_per_s.min(u.s3_bytes_per_s));
            // S3 allows so many PUTs per second per prefix; above it, 503 SlowDown and a retry.
            let second = now.0 / 1_000_000_000;
            let st = &mut self.upload_stats;
            if st.s3_second != second {
                st.s3_second = second;
                st.s3_puts_this_second = 0;
            }
            st.s3_puts_this_second += 1;
            if st.s3_puts_this_second > u.s3_put_limit {
                st.slowdowns += 1;
                leg = leg + SimDuration::from_millis(100);
            }
        }
        self.requests[req as usize].s3_leg_done = true;
        Some(leg)
    }

    /// The request is refused on the server (401, or Redis unavailable).
    fn reject(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId, reason: FailReason) {
        self.free_worker(sched, server, req);
        self.answer_from_server(sched, req, Outcome::Failed(reason));
    }

    /// Releases the request's worker and starts the next waiting request.
    fn free_worker(&mut self, sched: &mut Scheduler<Event>, server: u16, req: ReqId) {
        let now = sched.now();
        let s = &mut self.servers[server as usize];
        s.workers.finish(req, now);
        if let Some((next, _)) = s.workers.next_waiting() {
            self.begin(sched, server, next);
        }
    }

    fn logged_out(&mut self, now: SimTime, user: u32) {
        self.counts.logouts += 1;
        self.rec.on_logout(now);
        if let Some(u) = self.users.get_mut(user as usize)
            && self.rec.counts(now)
        {
            u.logged_out = true;
        }
    }

    fn kill(&mut self, sched: &mut Scheduler<Event>, server: u16) {
        let now = sched.now();
        let s = &mut self.servers[server as usize];
        if s.state == ServerState::Down {
            return;
        }
        s.state = ServerState::Down;
        s.epoch = s.epoch.wrapping_add(1);
        let _ = s;
        // Counters in the dead process's memory are gone, and so are its WebSockets.
        self.local_limits[server as usize].clear();
        self.ws_connections_dropped(sched, server);
        let s = &mut self.servers[server as usize];
        let in_service: Vec<(ReqId, SimTime)> = s.workers.in_service.drain(..).collect();
        let queued: Vec<ReqId> = s.workers.queue.drain(..).map(|(r, _)| r).collect();
        for &(_, start) in &in_service {
            self.servers[server as usize].workers.add_busy(start, now);
        }
        for &(req, start) in &in_service {
            let r = &self.requests[req as usize];
            if r.kind == Kind::Job && self.jobs.as_ref().is_some_and(|j| !j.queued) && self.rec.counts(r.sent_at) {
                self.job_stats.lost_with_server += 1;
                self.job_stats.cpu_wasted_ns += now.since(start).0 as u128;
            }
        }
        for req in in_service.into_iter().map(|(r, _)| r).chain(queued) {
            self.lb.connections[server as usize] -= 1;
            // Whether the request is idempotent is drawn only when it matters: each
            // request is idempotent with probability `idempotent_share`.
            let idempotent = self.idempotent_share > 0.0 && self.rng.behaviour.random::<f64>() < self.idempotent_share;
            if idempotent && self.retry_idempotent && !self.requests[req as usize].timed_out && self.retry_elsewhere(sched, req) {
                self.counts.retried_after_failure += 1;
                continue;
            }
            self.answer_from_lb(sched, req, FailReason::ServerKilled);
        }
        self.fleet_changed(now);
    }

    fn fleet_changed(&mut self, now: SimTime) {
        let up = self.servers.iter().filter(|s| s.state == ServerState::Up).count() as u32;
        self.rec.on_fleet_change(now, up, self.lb.rotation.len() as u32);
    }

    // ----- WebSockets ------------------------------------------------------------------

    fn ws_drop(&mut self, msg: u32) {
        if self.rec.counts(self.ws_msgs[msg as usize].sent_at) {
            self.ws_stats.dropped += 1;
        }
        self.ws_free.push(msg);
    }

    fn ws_message(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let ws = self.ws.clone().expect("websockets");
        let rate = ws.messages_per_user_per_sec * self.population.users as f64;
        let e: f64 = Exp1.sample(&mut self.rng.websockets);
        sched.emit(SimDuration::from_secs_f64(e / rate), Event::WsMessage);
        let users = self.population.users;
        let sender = self.rng.websockets.random_range(0..users);
        let receiver = (sender + 1 + self.rng.websockets.random_range(0..users - 1)) % users;
        let m = WsMsg { sender, receiver, sent_at: now };
        let msg = match self.ws_free.pop() {
            Some(i) => {
                self.ws_msgs[i as usize] = m;
                i
            }
            None => {
                self.ws_msgs.push(m);
                (self.ws_msgs.len() - 1) as u32
            }
        };
        if self.rec.counts(now) {
            self.ws_stats.sent += 1;
        }
        self.rec.on_ws_message(now, false);
        if ws.mode != WsMode::Gateway && !self.ws_conn[sender as usize].connected {
            return self.ws_drop(msg); // the sender is offline, reconnecting
        }
        let d = draw(&self.client_lb, &mut self.rng.network) + draw(&self.lb_latency, &mut self.rng.network);
        sched.emit(d, Event::WsAtServer { msg });
    }

    fn ws_at_server(&mut self, sched: &mut Scheduler<Event>, msg: u32) {
        let ws = self.ws.clone().expect("websockets");
        let m = self.ws_msgs[msg as usize];
        match ws.mode {
            WsMode::Gateway => {
                // The gateway calls a stateless handler on any server in rotation; a dead
                // one refuses and the next is tried.
                let mut delay = SimDuration::ZERO;
                let mut tried = 0u64;
                loop {
                    let key = RouteKey { user: m.sender, ip: 0 };
                    let Some(s) = self.lb.route_retry(&key, tried) else { return self.ws_drop(msg) };
                    delay = delay + draw(&self.lb_server, &mut self.rng.network) + draw(&self.lb_server, &mut self.rng.network);
                    if self.servers[s as usize].state == ServerState::Up {
                        break;
                    }
                    tried |= 1u64 << (s.min(63));
                }
                delay = delay + draw(&self.client_lb, &mut self.rng.network);
                sched.emit(delay, Event::WsArrive { msg });
            }
            _ => {
                let c = self.ws_conn[m.sender as usize];
                let s = &self.servers[c.server as usize];
                if !c.connected || s.epoch != c.epoch || s.state != ServerState::Up {
                    return self.ws_drop(msg);
                }
                if ws.mode == WsMode::Local {
                    let r = self.ws_conn[m.receiver as usize];
                    if r.connected && r.server == c.server {
                        let d = draw(&self.client_lb, &mut self.rng.network);
                        sched.emit(d, Event::WsArrive { msg });
                    } else {
                        self.ws_drop(msg); // the receiver is on another server's map
                    }
                } else {
                    if self.rec.counts(m.sent_at) {
                        self.ws_stats.published += 1;
                    }
                    self.redis_send(sched, Command::Publish(msg), NO_REQ, c.server);
                }
            }
        }
    }

    /// Pub/sub: Redis has pushed the message to every subscribed server; the one holding
    /// the receiver delivers it.
    fn ws_pushed(&mut self, sched: &mut Scheduler<Event>, msg: u32) {
        let m = self.ws_msgs[msg as usize];
        let r = self.ws_conn[m.receiver as usize];
        let s = &self.servers[r.server as usize];
        if r.connected && s.epoch == r.epoch && s.state == ServerState::Up {
            let d = draw(&self.client_lb, &mut self.rng.network);
            sched.emit(d, Event::WsArrive { msg });
        } else {
            self.ws_drop(msg);
        }
    }

    fn ws_arrive(&mut self, sched: &mut Scheduler<Event>, msg: u32) {
        let m = self.ws_msgs[msg as usize];
        if self.rec.counts(m.sent_at) {
            self.ws_stats.delivered += 1;
            self.ws_times.saturating_record(sched.now().since(m.sent_at).0.max(1));
        }
        self.rec.on_ws_message(m.sent_at, true);
        self.ws_free.push(msg);
    }

    /// A dead server's clients reconnect after their delay (with jitter, spread out).
    fn ws_connections_dropped(&mut self, sched: &mut Scheduler<Event>, server: u16) {
        let Some(ws) = self.ws.clone() else { return };
        if ws.mode == WsMode::Gateway {
            return; // the gateway holds the connections, not the servers
        }
        for user in 0..self.ws_conn.len() {
            let c = &mut self.ws_conn[user];
            if c.connected && c.server == server {
                c.connected = false;
                let jitter =
                    if ws.reconnect_jitter.is_zero() { SimDuration::ZERO } else { SimDuration(self.rng.websockets.random_range(0..ws.reconnect_jitter.0)) };
                sched.emit(ws.reconnect_after + jitter, Event::WsReconnect { user: user as u32 });
            }
        }
    }

    fn ws_reconnect(&mut self, sched: &mut Scheduler<Event>, user: u32) {
        let now = sched.now();
        let ws = self.ws.clone().expect("websockets");
        let second = (now.0 / 1_000_000_000) as usize;
        if let Some(slot) = self.ws_stats.reconnects_per_s.get_mut(second) {
            *slot += 1;
        }
        if self.rec.counts(now) {
            self.ws_stats.reconnects += 1;
        }
        self.rec.on_ws_reconnect(now);
        let key = RouteKey { user, ip: self.population.ip_of(user) };
        match self.lb.route(&key, &mut self.rng.routing) {
            Some(s) if self.servers[s as usize].state == ServerState::Up => {
                self.ws_conn[user as usize] = WsConn { server: s, epoch: self.servers[s as usize].epoch, connected: true };
            }
            _ => {
                // Refused (the dead server is still in rotation): try again later.
                let jitter =
                    if ws.reconnect_jitter.is_zero() { SimDuration::ZERO } else { SimDuration(self.rng.websockets.random_range(0..ws.reconnect_jitter.0)) };
                sched.emit(ws.reconnect_after + jitter, Event::WsReconnect { user });
            }
        }
    }

    // ----- long jobs -----------------------------------------------------------------

    /// A job request's CPU is done: in the request, the job itself is done; queued, the
    /// job is now durably enqueued (and the client gets 202).
    fn job_request_done(&mut self, sched: &mut Scheduler<Event>, sent_at: SimTime, job_cpu: SimDuration, timed_out: bool) {
        let now = sched.now();
        let counted = self.rec.counts(sent_at);
        let queued = self.jobs.as_ref().is_some_and(|j| j.queued);
        if !queued {
            if counted {
                self.job_stats.completed += 1;
                self.job_times.saturating_record(now.since(sent_at).0.max(1));
                if timed_out {
                    // The client left long ago: the result reaches no one.
                    self.job_stats.completed_after_client_left += 1;
                    self.job_stats.cpu_wasted_ns += job_cpu.0 as u128;
                }
            }
            return;
        }
        if counted {
            self.job_stats.accepted += 1;
        }
        self.job_records.push(JobRecord { submitted_at: sent_at, cpu: job_cpu, deliveries: 0, done: false });
        let job = (self.job_records.len() - 1) as u32;
        self.note_depth(now);
        self.job_queue.push_back(job);
        self.job_stats.depth_max = self.job_stats.depth_max.max(self.job_queue.len() as u64);
        self.dispatch_jobs(sched);
        self.rec.on_job_queue(now, self.job_queue.len() as u32);
    }

    /// Accumulates the queue's depth over time (after warm-up).
    fn note_depth(&mut self, now: SimTime) {
        let st = &mut self.job_stats;
        if now > st.depth_since {
            st.depth_area += self.job_queue.len() as u128 * (now.0 - st.depth_since.0) as u128;
            st.depth_since = now;
        }
    }

    /// Idle workers take visible jobs.
    fn dispatch_jobs(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let Some(spec) = self.jobs.clone() else { return };
        for w in 0..self.job_workers.len() {
            if self.job_queue.is_empty() {
                break;
            }
            let worker = self.job_workers[w];
            if !worker.up || worker.job.is_some() {
                continue;
            }
            self.note_depth(now);
            let job = self.job_queue.pop_front().expect("non-empty");
            let rec = &mut self.job_records[job as usize];
            rec.deliveries += 1;
            if rec.deliveries == 2 && rec.submitted_at >= self.rec.warmup_end {
                self.job_stats.run_twice += 1;
            }
            let (cpu, delivery) = (rec.cpu, rec.deliveries);
            self.job_workers[w].job = Some((job, now));
            let write = draw(&spec.result_write, &mut self.rng.jobs);
            sched.emit(cpu + write, Event::WorkerDone { worker: w as u32, job, epoch: worker.epoch });
            sched.emit(spec.visibility_timeout, Event::VisibilityTimeout { job, delivery });
        }
    }

    fn worker_done(&mut self, sched: &mut Scheduler<Event>, worker: u32, job: u32, epoch: u32) {
        let now = sched.now();
        let w = &mut self.job_workers[worker as usize];
        if w.epoch != epoch {
            return; // the worker was killed; the job will be delivered again
        }
        w.job = None;
        let rec = &mut self.job_records[job as usize];
        let counted = rec.submitted_at >= self.rec.warmup_end;
        if rec.done {
            // A second delivery finished work already done (at-least-once).
            if counted {
                self.job_stats.cpu_wasted_ns += rec.cpu.0 as u128;
            }
        } else {
            rec.done = true;
            if counted {
                self.job_stats.completed += 1;
                self.job_times.saturating_record(now.since(rec.submitted_at).0.max(1));
            }
        }
        self.dispatch_jobs(sched);
        self.rec.on_job_queue(now, self.job_queue.len() as u32);
    }

    // ----- Redis and the database ----------------------------------------------------

    fn redis_send(&mut self, sched: &mut Scheduler<Event>, cmd: Command, req: ReqId, server: u16) {
        let epoch = if server == NO_SERVER { 0 } else { self.servers[server as usize].epoch };
        let job = RedisJob { cmd, req, server, epoch, reply: None, served_at: SimTime::ZERO };
        let id = match self.redis.free.pop() {
            Some(id) => {
                self.redis.jobs[id as usize] = job;
                id
            }
            None => {
                self.redis.jobs.push(job);
                (self.redis.jobs.len() - 1) as u32
            }
        };
        if self.redis.down {
            // Connection refused: the caller learns after a round trip.
            self.redis.ops_refused += 1;
            let rtt = draw(&self.redis.round_trip, &mut self.rng.redis);
            sched.emit(rtt, Event::RedisReply { job: id });
        } else {
            let d = one_way(&self.redis.round_trip, &mut self.rng.redis);
            sched.emit(d, Event::RedisArrive { job: id });
        }
    }

    fn redis_start(&mut self, sched: &mut Scheduler<Event>, job: u32) {
        let now = sched.now();
        self.redis.station.start(job, now);
        let mut t = draw(&self.redis.service, &mut self.rng.redis);
        if let (Command::Publish(_), Some(ws)) = (self.redis.jobs[job as usize].cmd, &self.ws) {
            // PUBLISH costs more with every subscriber it is pushed to.
            t = t + SimDuration(ws.publish_per_subscriber.0 * self.servers.len() as u64);
        }
        sched.emit(t, Event::RedisDone { job });
    }

    /// A reply reached its server: continue the request that was waiting for it.
    fn redis_reply(&mut self, sched: &mut Scheduler<Event>, job: u32) {
        let j = self.redis.jobs[job as usize];
        self.redis.free.push(job);
        if j.server == NO_SERVER {
            return; // an administrative command (revocation)
        }
        let s = &mut self.servers[j.server as usize];
        if s.epoch != j.epoch || s.state != ServerState::Up {
            return; // the server died while waiting
        }
        if j.req == NO_REQ {
            if let (Command::FetchBlocklist, Some(_)) = (j.cmd, j.reply) {
                s.blocklist_as_of = s.blocklist_as_of.max(j.served_at);
            }
            return;
        }
        match j.cmd {
            Command::RateCheck(_) | Command::Incr(Key::Counter(_)) | Command::Expire(Key::Counter(_), _) => {
                self.rate_reply(sched, j.server, j.req, j.cmd, j.reply)
            }
            Command::Set(Key::Session(_), ..) => {
                if j.reply.is_none() {
                    return self.reject(sched, j.server, j.req, FailReason::RedisUnavailable);
                }
                self.after_login(sched, j.server, j.req)
            }
            _ => self.auth_reply(sched, j.server, j.req, j.reply),
        }
    }

    fn db_send(&mut self, sched: &mut Scheduler<Event>, req: ReqId, server: u16, write: bool) {
        let epoch = self.servers[server as usize].epoch;
        let job = DbJob { req, server, epoch, write };
        let id = match self.db.free.pop() {
            Some(id) => {
                self.db.jobs[id as usize] = job;
                id
            }
            None => {
                self.db.jobs.push(job);
                (self.db.jobs.len() - 1) as u32
            }
        };
        if write {
            self.db.writes += 1;
        } else {
            self.db.reads += 1;
        }
        let now = sched.now();
        if self.db.station.has_free() {
            self.db_start(sched, id);
        } else {
            self.db.station.queue.push_back((id, now));
        }
    }

    fn db_start(&mut self, sched: &mut Scheduler<Event>, job: u32) {
        let now = sched.now();
        self.db.station.start(job, now);
        let j = self.db.jobs[job as usize];
        let t = if j.write { draw(&self.db.write, &mut self.rng.database) } else { draw(&self.db.read, &mut self.rng.database) };
        sched.emit(t, Event::DbDone { job });
    }

    fn db_done(&mut self, sched: &mut Scheduler<Event>, job: u32) {
        let now = sched.now();
        self.db.station.finish(job, now);
        self.db.free.push(job);
        if let Some((next, _)) = self.db.station.next_waiting() {
            self.db_start(sched, next);
        }
        let j = self.db.jobs[job as usize];
        let s = &self.servers[j.server as usize];
        if s.epoch != j.epoch || s.state != ServerState::Up {
            return;
        }
        let kind = self.requests[j.req as usize].kind;
        match (kind, j.write) {
            (Kind::Login { .. }, false) => self.login(sched, j.server, j.req),
            _ => self.run_cpu(sched, j.server, j.req),
        }
    }

    /// Revokes a random user's session or token.
    fn fire(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let user = self.rng.revocation.random_range(0..self.population.users);
        if self.fired.contains_key(&user) {
            return;
        }
        self.fired.insert(user, Firing { at: now, last_admitted: None });
        match (self.sessions.store, self.sessions.blocklist) {
            (SessionStoreKind::Redis, _) => self.redis_send(sched, Command::Del(Key::Session(user)), NO_REQ, NO_SERVER),
            (SessionStoreKind::Jwt, BlocklistMode::PerRequest | BlocklistMode::Cached) => {
                let ttl = self.sessions.lifetime;
                self.redis_send(sched, Command::Set(Key::Blocklist(user), 1, Some(ttl)), NO_REQ, NO_SERVER);
            }
            (SessionStoreKind::ServerMemory, _) => {
                // The operator deletes the session on the server that holds it.
                self.users[user as usize].session_server = NO_SERVER;
            }
            _ => {}
        }
    }

    /// Closes the books at `end`: busy time still running is counted, and the metrics
    /// and time series are computed.
    pub fn finish(mut self, end: SimTime, events: u64) -> RunResult {
        for s in 0..self.servers.len() as u16 {
            self.bill(s, end, true);
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
        let total_routed: u64 = self.routed.iter().sum();
        let (mut util_sum, mut cpu_sum, mut share_max, mut routed_max) = (0.0, 0.0, 0.0f64, 0.0f64);
        let (mut util_min, mut util_max) = (f64::INFINITY, 0.0f64);
        for (i, s) in rec.servers.iter().enumerate() {
            let name = System::server_name(i);
            let share = if total_served == 0 { 0.0 } else { s.requests as f64 / total_served as f64 };
            let util = self.servers[i].workers.utilisation(end);
            let cores = self.servers[i].workers.capacity as f64;
            let cpu = s.cpu_ns as f64 / (window_s * 1e9 * cores);
            let routed = if total_routed == 0 { 0.0 } else { self.routed[i] as f64 / total_routed as f64 };
            util_sum += util;
            cpu_sum += cpu;
            share_max = share_max.max(share);
            routed_max = routed_max.max(routed);
            util_min = util_min.min(util);
            util_max = util_max.max(util);
            m.insert(format!("server.{name}.routed_share"), routed);
            m.insert(format!("server.{name}.requests"), s.requests as f64);
            m.insert(format!("server.{name}.share"), share);
            m.insert(format!("server.{name}.utilisation"), util);
            m.insert(format!("server.{name}.cpu"), cpu);
        }
        let n = rec.servers.len().max(1) as f64;
        m.insert("servers.utilisation_mean".into(), util_sum / n);
        m.insert("servers.cpu_mean".into(), cpu_sum / n);
        m.insert("servers.share_max".into(), share_max);
        m.insert("servers.routed_share_max".into(), routed_max);
        m.insert("servers.utilisation_min".into(), if util_min.is_finite() { util_min } else { 0.0 });
        m.insert("servers.utilisation_max".into(), util_max);
        m.insert("run.window_s".into(), window_s);
        m.insert("engine.events".into(), events as f64);

        if self.sessions.store != SessionStoreKind::None {
            let active = self.users.iter().filter(|u| u.active).count();
            let out = self.users.iter().filter(|u| u.logged_out).count();
            m.insert("sessions.logins".into(), self.counts.logins as f64);
            m.insert("sessions.logouts".into(), self.counts.logouts as f64);
            m.insert("sessions.logged_out_users".into(), out as f64);
            m.insert("sessions.logged_out_share".into(), if active == 0 { 0.0 } else { out as f64 / active as f64 });
            m.insert("sessions.active_users".into(), active as f64);
            put_distribution(&mut m, "auth_ms", &rec.auth_ns, rec.auth_sum_ns);
        }
        if self.carts.store != CartStoreKind::None {
            m.insert("carts.lost".into(), self.counts.carts_lost as f64);
            m.insert("carts.items_lost".into(), self.counts.items_lost as f64);
            m.insert("carts.merges".into(), self.counts.merges as f64);
            m.insert("carts.merge_conflicts".into(), self.counts.merge_conflicts as f64);
            m.insert("carts.visits_abandoned".into(), self.counts.visits_abandoned as f64);
            m.insert("carts.guest_writes_wasted".into(), self.counts.guest_writes_wasted as f64);
        }
        m.insert("database.reads".into(), self.db.reads as f64);
        m.insert("database.writes".into(), self.db.writes as f64);
        m.insert("database.utilisation".into(), self.db.station.utilisation(end));
        m.insert("redis.ops".into(), self.redis.ops as f64);
        m.insert("redis.ops_per_s".into(), self.redis.ops as f64 / window_s);
        m.insert("redis.refused".into(), self.redis.ops_refused as f64);
        m.insert("redis.utilisation".into(), self.redis.station.utilisation(end));
        m.insert("redis.keys".into(), self.redis.kv.len() as f64);
        m.insert("requests.retried_after_failure".into(), self.counts.retried_after_failure as f64);
        let ms = |h: &hdrhistogram::Histogram<u64>, q: f64| if h.is_empty() { 0.0 } else { h.value_at_quantile(q) as f64 / 1e6 };
        if self.uploads.is_some() || self.jobs.is_some() {
            m.insert("page_latency_ms.p50".into(), ms(&self.page_times, 0.5));
            m.insert("page_latency_ms.p99".into(), ms(&self.page_times, 0.99));
        }
        if self.fleet.autoscale || self.fleet.spot_share > 0.0 || self.fleet.deploy.is_some() || self.profile.is_some() {
            let f = &self.fleet_stats;
            let hours = end.as_secs_f64() / 3600.0;
            let cost = f.on_demand_s / 3600.0 * self.fleet.on_demand_per_hour + f.spot_s / 3600.0 * self.fleet.spot_per_hour;
            m.insert("fleet.cost_per_hour".into(), if hours > 0.0 { cost / hours } else { 0.0 });
            m.insert("fleet.instances_mean".into(), f.instance_s / window_s);
            m.insert("fleet.instances_max".into(), f.instances_max.max(self.initial_count as u32) as f64);
            m.insert("fleet.scale_outs".into(), f.scale_outs as f64);
            m.insert("fleet.scale_ins".into(), f.scale_ins as f64);
            m.insert("fleet.spot_interruptions".into(), f.spot_interruptions as f64);
            m.insert("fleet.spot_share_of_hours".into(), if f.on_demand_s + f.spot_s > 0.0 { f.spot_s / (f.on_demand_s + f.spot_s) } else { 0.0 });
            // Only a fleet that scales itself has a lag (-1: it never scaled out).
            if let (Some(Profile::Step { at, .. }), true) = (self.profile, self.fleet.autoscale) {
                m.insert("fleet.scale_out_lag_s".into(), f.first_added_after_step.map_or(-1.0, |t| t.since(SimTime::ZERO + at).as_secs_f64()));
            }
            if self.fleet.deploy.is_some() {
                m.insert(
                    "deploy.duration_s".into(),
                    match (f.deploy_started, f.deploy_done) {
                        (Some(a), Some(b)) => b.since(a).as_secs_f64(),
                        _ => -1.0,
                    },
                );
                m.insert("deploy.sessions_lost".into(), f.deploy_logouts as f64);
                m.insert("deploy.requests_failed".into(), f.deploy_failed as f64);
            }
        }
        if self.ws.is_some() {
            let st = &self.ws_stats;
            m.insert("ws.messages_sent".into(), st.sent as f64);
            m.insert("ws.delivered".into(), st.delivered as f64);
            m.insert("ws.dropped".into(), st.dropped as f64);
            m.insert("ws.delivered_share".into(), if st.sent == 0 { 0.0 } else { st.delivered as f64 / st.sent as f64 });
            m.insert("ws.latency_p50_ms".into(), ms(&self.ws_times, 0.5));
            m.insert("ws.latency_p99_ms".into(), ms(&self.ws_times, 0.99));
            m.insert("ws.reconnects".into(), st.reconnects as f64);
            m.insert("ws.reconnects_peak_per_s".into(), st.reconnects_per_s.iter().copied().max().unwrap_or(0) as f64);
            m.insert("ws.pubsub_receipts_per_message".into(), if st.published == 0 { 0.0 } else { st.receipts as f64 / st.published as f64 });
        }
        if let Some(u) = &self.uploads {
            let st = &self.upload_stats;
            m.insert("uploads.count".into(), self.upload_times.len() as f64);
            m.insert("uploads.latency_p50_ms".into(), ms(&self.upload_times, 0.5));
            m.insert("uploads.latency_p99_ms".into(), ms(&self.upload_times, 0.99));
            m.insert("uploads.server_mb".into(), st.server_bytes / 1e6);
            m.insert("uploads.server_worker_s".into(), st.server_worker_ns as f64 / 1e9);
            m.insert("uploads.server_cpu_s".into(), st.server_cpu_ns as f64 / 1e9);
            m.insert("uploads.s3_slowdowns".into(), st.slowdowns as f64);
            m.insert("reads.ok".into(), st.reads as f64);
            m.insert("reads.not_found".into(), st.not_found as f64);
            let reads = st.reads + st.not_found;
            m.insert("reads.not_found_share".into(), if reads == 0 { 0.0 } else { st.not_found as f64 / reads as f64 });
            let lost = if u.store == UploadStore::LocalDisk {
                self.files.iter().filter(|f| f.counted && self.servers[f.server as usize].epoch != f.epoch).count()
            } else {
                0
            };
            m.insert("files.stored".into(), self.files.iter().filter(|f| f.counted).count() as f64);
            m.insert("files.lost".into(), lost as f64);
        }
        if let Some(spec) = &self.jobs {
            let st = &self.job_stats;
            let in_progress = if spec.queued {
                self.job_records.iter().filter(|r| !r.done && r.submitted_at >= rec.warmup_end).count() as u64
            } else {
                self.requests.iter().filter(|r| r.live && r.kind == Kind::Job && rec.counts(r.sent_at)).count() as u64
            };
            m.insert("jobs.submitted".into(), st.submitted as f64);
            m.insert("jobs.accepted".into(), if spec.queued { st.accepted } else { st.submitted } as f64);
            m.insert("jobs.completed".into(), st.completed as f64);
            m.insert("jobs.completed_after_client_left".into(), st.completed_after_client_left as f64);
            m.insert("jobs.in_progress_at_end".into(), in_progress as f64);
            let lost = if spec.queued { st.accepted.saturating_sub(st.completed + in_progress) } else { st.lost_with_server };
            m.insert("jobs.lost".into(), lost as f64);
            m.insert("jobs.run_twice".into(), st.run_twice as f64);
            m.insert("jobs.cpu_wasted_s".into(), st.cpu_wasted_ns as f64 / 1e9);
            let h = &self.job_times;
            let q = |p: f64| if h.is_empty() { 0.0 } else { h.value_at_quantile(p) as f64 / 1e9 };
            m.insert("jobs.completion_p50_s".into(), q(0.5));
            m.insert("jobs.completion_p99_s".into(), q(0.99));
            let depth_mean =
                if spec.queued { (st.depth_area as f64 + self.job_queue.len() as f64 * end.since(st.depth_since).0 as f64) / (window_s * 1e9) } else { 0.0 };
            m.insert("jobs.queue_depth_mean".into(), depth_mean);
            m.insert("jobs.queue_depth_max".into(), st.depth_max as f64);
            // Workers (threads) held on average across the fleet: sum of utilisation x pool size.
            let held: f64 = self.servers.iter().map(|s| s.workers.utilisation(end) * s.workers.capacity as f64).sum();
            m.insert("servers.threads_held_mean".into(), held);
        }
        if let Some(rl) = &self.rate_limit {
            let l = &self.limits;
            let windows = (window_s / rl.limit.window.as_secs_f64()).max(1e-9);
            m.insert("ratelimit.abuser_sent".into(), l.abuser_sent as f64);
            m.insert("ratelimit.abuser_allowed".into(), l.abuser_allowed as f64);
            m.insert("ratelimit.abuser_allowed_per_window".into(), l.abuser_allowed as f64 / windows);
            m.insert("ratelimit.abuser_max_aligned_window".into(), l.abuser_per_window.values().copied().max().unwrap_or(0) as f64);
            m.insert("ratelimit.abuser_max_sliding_window".into(), l.abuser_max_sliding as f64);
            m.insert("ratelimit.users_rejected".into(), l.rejected_users as f64);
            m.insert("ratelimit.nat_users_rejected".into(), l.rejected_nat as f64);
            m.insert("ratelimit.wrongly_rejected".into(), l.wrongly_rejected as f64);
            m.insert("ratelimit.allowed_while_redis_down".into(), l.allowed_while_redis_down as f64);
            put_distribution(&mut m, "ratelimit_check_ms", &rec.check_ns, rec.check_sum_ns);
            // Memory: keys live just before the end (at a window boundary they all expire).
            let end = SimTime(end.0.saturating_sub(1));
            let states: Vec<&LimitState> = match rl.store {
                LimitStore::Local => self.local_limits.iter().flat_map(|mp| mp.values()).filter(|st| !rl.limit.expired(st, end)).collect(),
                LimitStore::Redis => self.redis_limits.values().filter(|st| !rl.limit.expired(st, end)).collect(),
            };
            let (keys, bytes) = if rl.commands == LimitCommands::IncrThenExpire {
                let k = self.redis.kv.len() as u64;
                (k, k * 56)
            } else {
                (states.len() as u64, states.iter().map(|st| st.memory_bytes()).sum::<u64>())
            };
            m.insert("ratelimit.keys".into(), keys as f64);
            m.insert("ratelimit.bytes_per_key".into(), if keys == 0 { 0.0 } else { bytes as f64 / keys as f64 });
            m.insert("ratelimit.keys_without_ttl".into(), self.redis.kv.keys_without_ttl(end) as f64);
        }
        if self.fire_rate > 0.0 {
            let exposures: Vec<f64> =
                self.fired.values().filter(|f| f.at < self.fire_until).map(|f| f.last_admitted.map_or(0.0, |t| t.since(f.at).as_secs_f64())).collect();
            let k = exposures.len() as f64;
            m.insert("revocation.fired".into(), k);
            m.insert("revocation.exposure_mean_s".into(), if k == 0.0 { 0.0 } else { exposures.iter().sum::<f64>() / k });
            m.insert("revocation.exposure_max_s".into(), exposures.iter().copied().fold(0.0, f64::max));
            m.insert("revocation.lookups".into(), self.counts.auth_lookups as f64);
            m.insert("revocation.lookups_per_request".into(), if rec.sent == 0 { 0.0 } else { self.counts.auth_lookups as f64 / rec.sent as f64 });
        }

        let step = rec.step().0.max(1);
        let mut series = Vec::with_capacity(rec.buckets.len());
        let (mut up, mut rot, mut queued, mut cost) = (0, 0, 0, 0.0);
        let last = ((end.0.saturating_sub(1)) / step).min(rec.buckets.len() as u64 - 1) as usize;
        for (i, b) in rec.buckets.iter().enumerate().take(last + 1) {
            up = b.servers_up.unwrap_or(up);
            rot = b.servers_in_rotation.unwrap_or(rot);
            queued = b.jobs_queued.unwrap_or(queued);
            cost = b.cost_per_hour.unwrap_or(cost);
            series.push(SeriesRow {
                t_s: (i as u64 * step) as f64 / 1e9,
                sent: b.sent,
                ok: b.ok,
                failed: b.failed,
                latency_mean_ms: if b.ok == 0 { 0.0 } else { b.latency_sum_ns as f64 / b.ok as f64 / 1e6 },
                latency_p99_ms: b.latency_us.as_ref().map_or(0.0, |h| h.value_at_quantile(0.99) as f64 / 1e3),
                servers_up: up,
                servers_in_rotation: rot,
                logouts: b.logouts,
                jobs_queued: queued,
                abuser_allowed: b.abuser_allowed,
                cost_per_hour: cost,
                ws_sent: b.ws_sent,
                ws_delivered: b.ws_delivered,
                ws_reconnects: b.ws_reconnects,
            });
        }
        let mut fired: Vec<&Firing> = self.fired.values().filter(|f| f.at < self.fire_until).collect();
        fired.sort_by_key(|f| f.at);
        let exposures_s = fired.iter().map(|f| f.last_admitted.map_or(0.0, |t| t.since(f.at).as_secs_f64())).collect();
        let latency_quantiles_ms = quantiles_ms(&self.rec.latency_ns);
        let auth_quantiles_ms = quantiles_ms(&self.rec.auth_ns);
        RunResult { metrics: m, series, exposures_s, latency_quantiles_ms, auth_quantiles_ms }
    }
}

impl World for WebTier {
    type Event = Event;

    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::OpenArrival => {
                if self.stop_generating {
                    return;
                }
                let Workload::Open { rate_per_sec } = self.workload else { unreachable!() };
                if let Some(p) = self.profile {
                    // A changing rate by thinning: candidates at the peak rate, each kept
                    // with probability factor(t) / peak.
                    let peak = p.max_factor();
                    let gap = self.interarrival(rate_per_sec * peak);
                    sched.emit(gap, Event::OpenArrival);
                    if self.rng.arrivals.random::<f64>() * peak > p.factor(sched.now().as_secs_f64()) {
                        return;
                    }
                } else {
                    let gap = self.interarrival(rate_per_sec);
                    sched.emit(gap, Event::OpenArrival);
                }
                let user = if self.identify_users { self.rng.users.random_range(0..self.population.users) } else { 0 };
                self.new_request(sched, user);
            }
            Event::UserWakes { user } => {
                if !self.stop_generating {
                    self.new_request(sched, user);
                }
            }
            Event::ReachLb { req } => self.reach_lb(sched, req),
            Event::ReachServer { req, server } => self.arrive_at_server(sched, req, server),
            Event::Refused { req, server } => {
                self.lb.connections[server as usize] -= 1;
                if !self.retry_elsewhere(sched, req) {
                    self.answer_from_lb(sched, req, FailReason::ConnectionRefused);
                }
            }
            Event::ServiceDone { req, server, epoch } => {
                if self.servers[server as usize].epoch != epoch {
                    return; // the server was killed; this request already failed
                }
                let now = sched.now();
                let r = &self.requests[req as usize];
                let cpu = r.service + r.extra_cpu;
                let sent_at = r.sent_at;
                let (kind, job_cpu, timed_out) = (r.kind, r.job_cpu, r.timed_out);
                self.rec.on_cpu(server as usize, now, cpu);
                self.servers[server as usize].cpu_total_ns += cpu.0 as u128;
                self.rec.on_completed_by(server as usize, sent_at);
                if kind == Kind::Job {
                    self.job_request_done(sched, sent_at, job_cpu, timed_out);
                }
                if kind == Kind::Upload && self.uploads.as_ref().is_some_and(|u| u.store != UploadStore::Presigned) {
                    let epoch = self.servers[server as usize].epoch;
                    self.files.push(FileRecord { server, epoch, counted: self.rec.counts(sent_at) });
                }
                self.free_worker(sched, server, req);
                self.answer_from_server(sched, req, Outcome::Ok);
            }
            Event::ReachClient { req } => self.reach_client(sched, req),
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
                    let now = sched.now();
                    if let Some(Profile::Step { at, .. }) = self.profile
                        && now >= SimTime::ZERO + at
                        && self.fleet_stats.first_added_after_step.is_none()
                        && self.lb.rotation.len() > self.initial_count
                    {
                        self.fleet_stats.first_added_after_step = Some(now);
                    }
                    self.fleet_changed(now);
                }
                sched.emit(h.interval, Event::HealthCheck);
            }
            Event::Fault { index } => match self.faults[index as usize].action.clone() {
                FaultAction::Kill { server, restart_after } => {
                    self.kill(sched, server as u16);
                    if let Some(after) = restart_after {
                        sched.emit(after, Event::ServerBoots { server: server as u16 });
                    }
                }
                FaultAction::KillWorker { worker } => {
                    let now = sched.now();
                    let w = &mut self.job_workers[worker as usize];
                    if w.up {
                        w.up = false;
                        w.epoch = w.epoch.wrapping_add(1);
                        if let Some((job, start)) = w.job.take()
                            && self.job_records[job as usize].submitted_at >= self.rec.warmup_end
                        {
                            self.job_stats.cpu_wasted_ns += now.since(start).0 as u128;
                        }
                        let restart = self.jobs.as_ref().expect("jobs").worker_restart;
                        sched.emit(restart, Event::WorkerRestarts { worker });
                    }
                }
                FaultAction::RedisDown { lasting } => {
                    self.redis.down = true;
                    // Commands queued or in service are lost with the connection.
                    let now = sched.now();
                    let pending: Vec<u32> =
                        self.redis.station.in_service.drain(..).map(|(j, _)| j).chain(self.redis.station.queue.drain(..).map(|(j, _)| j)).collect();
                    let _ = now;
                    for job in pending {
                        self.redis.jobs[job as usize].reply = None;
                        let d = one_way(&self.redis.round_trip, &mut self.rng.redis);
                        sched.emit(d, Event::RedisReply { job });
                    }
                    sched.emit(lasting, Event::RedisRecovers { index });
                }
                FaultAction::RedisSlow { lasting, service, round_trip } => {
                    if let Some(s) = service {
                        self.redis.service = s;
                    }
                    if let Some(r) = round_trip {
                        self.redis.round_trip = r;
                    }
                    sched.emit(lasting, Event::RedisRecovers { index });
                }
            },
            Event::RedisRecovers { .. } => {
                self.redis.down = false;
                self.redis.service = self.redis.normal_service.clone();
                self.redis.round_trip = self.redis.normal_round_trip.clone();
            }
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
            Event::RedisArrive { job } => {
                if self.redis.down {
                    self.redis.ops_refused += 1;
                    self.redis.jobs[job as usize].reply = None;
                    let d = one_way(&self.redis.round_trip, &mut self.rng.redis);
                    sched.emit(d, Event::RedisReply { job });
                } else if self.redis.station.has_free() {
                    self.redis_start(sched, job);
                } else {
                    let now = sched.now();
                    self.redis.station.queue.push_back((job, now));
                }
            }
            Event::RedisDone { job } => {
                let now = sched.now();
                if self.redis.station.finish(job, now).is_none() {
                    return; // lost when Redis went down
                }
                if self.rec.counts(now) {
                    self.redis.ops += 1;
                }
                let cmd = self.redis.jobs[job as usize].cmd;
                let reply = match cmd {
                    Command::RateCheck(key) => {
                        let limit = self.rate_limit.as_ref().expect("a rate limit").limit;
                        let state = self.redis_limits.entry(key).or_insert_with(|| limit.new_state(now));
                        if limit.expired(state, now) {
                            *state = limit.new_state(now);
                        }
                        Reply::Value(Some(limit.check(state, now) as i64))
                    }
                    Command::Publish(msg) => {
                        // Every subscribed server receives it; the receiver's delivers.
                        let up = self.servers.iter().filter(|s| s.state == ServerState::Up).count() as u64;
                        if self.rec.counts(self.ws_msgs[msg as usize].sent_at) {
                            self.ws_stats.receipts += up;
                        }
                        let d = one_way(&self.redis.round_trip, &mut self.rng.redis);
                        sched.emit(d, Event::WsPushed { msg });
                        Reply::Ok
                    }
                    _ => self.redis.kv.apply(cmd, now),
                };
                let j = &mut self.redis.jobs[job as usize];
                j.reply = Some(reply);
                j.served_at = now;
                let d = one_way(&self.redis.round_trip, &mut self.rng.redis);
                sched.emit(d, Event::RedisReply { job });
                if let Some((next, _)) = self.redis.station.next_waiting() {
                    self.redis_start(sched, next);
                }
            }
            Event::RedisReply { job } => self.redis_reply(sched, job),
            Event::DbDone { job } => self.db_done(sched, job),
            Event::BlocklistRefresh { server } => {
                if self.servers[server as usize].state == ServerState::Up {
                    self.counts.auth_lookups += 1;
                    self.redis_send(sched, Command::FetchBlocklist, NO_REQ, server);
                }
                sched.emit(self.sessions.blocklist_refresh, Event::BlocklistRefresh { server });
            }
            Event::ScaleCheck => self.scale_check(sched),
            Event::DeployNext => self.deploy_next(sched),
            Event::InstanceStop { server, epoch, relaunch } => {
                if self.servers[server as usize].epoch == epoch {
                    let now = sched.now();
                    self.kill(sched, server);
                    if relaunch {
                        self.bill(server, now, true);
                        self.launch(sched, server);
                    } else {
                        self.bill(server, now, false);
                    }
                }
            }
            Event::SpotNotice { server, epoch } => {
                if self.servers[server as usize].epoch == epoch && self.servers[server as usize].running_since.is_some() {
                    // Two minutes' warning: out of rotation now, a replacement starts.
                    self.lb.deregister(server, false);
                    self.fleet_changed(sched.now());
                    sched.emit(self.fleet.spot_notice, Event::SpotInterrupt { server, epoch });
                    if let Some(stopped) = (0..self.servers.len() as u16).find(|&s| self.servers[s as usize].running_since.is_none()) {
                        self.launch(sched, stopped);
                    }
                }
            }
            Event::SpotInterrupt { server, epoch } => {
                if self.servers[server as usize].epoch == epoch {
                    let now = sched.now();
                    if self.rec.counts(now) {
                        self.fleet_stats.spot_interruptions += 1;
                    }
                    self.kill(sched, server);
                    self.bill(server, now, false);
                }
            }
            Event::WsMessage => self.ws_message(sched),
            Event::WsAtServer { msg } => self.ws_at_server(sched, msg),
            Event::WsPushed { msg } => self.ws_pushed(sched, msg),
            Event::WsArrive { msg } => self.ws_arrive(sched, msg),
            Event::WsReconnect { user } => self.ws_reconnect(sched, user),
            Event::WorkerDone { worker, job, epoch } => self.worker_done(sched, worker, job, epoch),
            Event::VisibilityTimeout { job, delivery } => {
                let rec = &self.job_records[job as usize];
                if !rec.done && rec.deliveries == delivery {
                    // Not acknowledged in time: visible again, for another worker.
                    let now = sched.now();
                    self.note_depth(now);
                    self.job_queue.push_back(job);
                    self.dispatch_jobs(sched);
                    self.rec.on_job_queue(now, self.job_queue.len() as u32);
                }
            }
            Event::WorkerRestarts { worker } => {
                self.job_workers[worker as usize].up = true;
                self.dispatch_jobs(sched);
                let now = sched.now();
                self.rec.on_job_queue(now, self.job_queue.len() as u32);
            }
            Event::AbuserSends => {
                if !self.stop_generating {
                    let next = self.abuser_next(sched.now());
                    sched.emit_at(next, Event::AbuserSends);
                    self.new_request(sched, self.abuser_id);
                }
            }
            Event::Fire => {
                self.fire(sched);
                let next = sched.now() + self.fire_gap();
                if next < self.fire_until {
                    sched.emit_at(next, Event::Fire);
                }
            }
        }
    }
}
