//! The validated model: typed, in engine units (nanoseconds, per-second rates), with
//! every cross-reference checked. Nothing downstream of this module sees raw TOML.
//!
//! This file holds the types; `resolve.rs` turns a raw model into them and `faults.rs`
//! checks the fault schedule.

use crate::engine::{Distribution, SimDuration};
use crate::policies::{
    Backoff, BlocklistMode, CartStoreKind, Choices, FailMode, JwtAlgorithm, LbPolicy, Limit, LimitCommands, LimitKey, LimitStore, ReadFrom, ReplicationMode,
    RetryTarget, SessionStoreKind, UploadStore, WsChannels, WsMode,
};
use crate::policies::{ChatTransport, Mailbox, ServerThreads};
use serde::Serialize;

mod checker;
mod faults;
mod jwt;
mod long_polling;
mod resolve;
mod retries;

pub use resolve::resolve;

pub const MAX_SERVERS: u32 = 10_000;
/// Most WebSocket gateway nodes a model may have.
pub const MAX_GATEWAYS: u32 = 1_000;
pub const MAX_CORES: u32 = 1_024;

/// One system to simulate: the base model with one variant's overrides applied.
#[derive(Debug, Clone, Serialize)]
pub struct System {
    pub run: RunSpec,
    pub clients: ClientSpec,
    pub network: NetworkSpec,
    pub load_balancer: LbSpec,
    pub servers: ServerSpec,
    pub sessions: SessionSpec,
    pub redis: RedisSpec,
    pub database: DatabaseSpec,
    pub carts: CartSpec,
    pub revocation: RevocationSpec,
    pub rate_limit: Option<RateLimitSpec>,
    pub jobs: Option<JobsSpec>,
    pub uploads: Option<UploadSpec>,
    pub websockets: Option<WsSpec>,
    pub client_retries: Option<ClientRetrySpec>,
    pub long_polling: Option<LongPollSpec>,
    pub fleet: FleetSpec,
    pub faults: Vec<Fault>,
}

/// How an open workload's rate changes over time.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Profile {
    Step { at: SimDuration, factor: f64 },
    Daily { period: SimDuration, low: f64 },
}

impl Profile {
    /// The rate multiplier at `t` (seconds).
    pub fn factor(&self, t: f64) -> f64 {
        match *self {
            Profile::Step { at, factor } => {
                if t >= at.as_secs_f64() {
                    factor
                } else {
                    1.0
                }
            }
            Profile::Daily { period, low } => low + (1.0 - low) * (1.0 - (2.0 * std::f64::consts::PI * t / period.as_secs_f64()).cos()) / 2.0,
        }
    }
    pub fn max_factor(&self) -> f64 {
        match *self {
            Profile::Step { factor, .. } => factor.max(1.0),
            Profile::Daily { .. } => 1.0,
        }
    }
}

/// The fleet: its size limits, scaler, spot share, prices and deploy.
#[derive(Debug, Clone, Serialize)]
pub struct FleetSpec {
    pub autoscale: bool,
    pub target_cpu: f64,
    pub metric_period: SimDuration,
    pub cooldown: SimDuration,
    pub min: u32,
    /// Instances the simulation can hold: `max` when scaling, else `servers.count`.
    pub max: u32,
    pub spot_share: f64,
    pub spot_interruptions_per_sec: f64,
    pub spot_notice: SimDuration,
    pub on_demand_per_hour: f64,
    pub spot_per_hour: f64,
    pub deploy: Option<(SimDuration, SimDuration)>,
}

/// What clients do when a request fails or times out.
#[derive(Debug, Clone, Serialize)]
pub struct ClientRetrySpec {
    pub max_retries: u32,
    pub backoff: Backoff,
    pub base_delay: SimDuration,
    pub max_delay: SimDuration,
    /// Retries allowed per first attempt (a token bucket), if there is a budget.
    pub budget: Option<f64>,
    pub breaker: Option<BreakerSpec>,
}

/// A circuit breaker over the clients' attempts, in tumbling windows.
#[derive(Debug, Clone, Serialize)]
pub struct BreakerSpec {
    pub failure_share: f64,
    pub window: SimDuration,
    pub open_for: SimDuration,
    pub min_requests: u32,
}

/// Chat over requests held open: long polls or WebSockets.
#[derive(Debug, Clone, Serialize)]
pub struct LongPollSpec {
    pub transport: ChatTransport,
    pub messages_per_user_per_sec: f64,
    /// A long poll is answered empty after this (long-poll only).
    pub poll_timeout: SimDuration,
    pub mailbox: Mailbox,
    pub server: ServerThreads,
    /// Threads per server and requests that may wait for one (thread-per-request only).
    pub threads: u32,
    pub accept_queue: u32,
    pub retry_after: SimDuration,
    /// The load balancer closes a connection idle this long.
    pub lb_idle_timeout: SimDuration,
    /// A message's handler on a server (the servers' service time).
    pub handler: Distribution,
}

#[derive(Debug, Clone, Serialize)]
pub struct WsSpec {
    pub mode: WsMode,
    pub messages_per_user_per_sec: f64,
    pub reconnect_after: SimDuration,
    pub reconnect_jitter: SimDuration,
    pub publish_per_subscriber: SimDuration,
    /// With pub/sub: one broadcast channel, or a channel per user.
    pub channels: WsChannels,
    /// Gateway nodes (mode "gateway"; 0 otherwise).
    pub gateways: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct UploadSpec {
    pub store: UploadStore,
    pub share: f64,
    pub read_share: f64,
    /// File sizes in bytes.
    pub size: Distribution,
    pub client_bytes_per_s: f64,
    pub cpu_ns_per_byte: f64,
    pub presign_cpu: SimDuration,
    /// A pre-signed URL's lifetime; S3 checks it when a PUT begins.
    pub url_expiry: SimDuration,
    /// Multipart uploads' part size in bytes; None: one PUT per file.
    pub part_bytes: Option<f64>,
    /// Drops of the client's connection to S3 per second of sending.
    pub drops_per_s: f64,
    pub refresh_expired_url: bool,
    pub s3_first_byte: Distribution,
    pub s3_bytes_per_s: f64,
    pub s3_put_limit: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobsSpec {
    pub queued: bool,
    pub share: f64,
    pub duration: Distribution,
    pub workers: u32,
    pub visibility_timeout: SimDuration,
    pub accept_cpu: SimDuration,
    pub result_write: Distribution,
    pub worker_restart: SimDuration,
}

#[derive(Debug, Clone, Serialize)]
pub struct RateLimitSpec {
    pub limit: Limit,
    pub store: LimitStore,
    pub key: LimitKey,
    pub fail: FailMode,
    pub commands: LimitCommands,
}

#[derive(Debug, Clone, Serialize)]
pub struct AbuserSpec {
    pub rate_per_sec: f64,
    pub burst_every: Option<SimDuration>,
    pub burst_length: SimDuration,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionSpec {
    pub store: SessionStoreKind,
    pub lifetime: SimDuration,
    pub algorithm: JwtAlgorithm,
    pub blocklist: BlocklistMode,
    pub blocklist_refresh: SimDuration,
    pub blocklist_fail: FailMode,
    pub login_cpu: SimDuration,
    pub warm_start: bool,
    /// What the chosen algorithm costs. Serialized only when not the default, so the
    /// hash of a model that does not set `[jwt]` keys is what it always was.
    #[serde(skip_serializing_if = "JwtCosts::is_default")]
    pub jwt: JwtCosts,
}

/// CPU time to verify and to sign one JWT with the session's algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JwtCosts {
    /// The algorithm's defaults, for [`JwtCosts::is_default`].
    #[serde(skip)]
    pub algorithm: JwtAlgorithm,
    pub verify: SimDuration,
    pub sign: SimDuration,
}

impl JwtCosts {
    pub fn default_for(algorithm: JwtAlgorithm) -> JwtCosts {
        JwtCosts { algorithm, verify: algorithm.default_verify(), sign: algorithm.default_sign() }
    }
    pub fn is_default(&self) -> bool {
        *self == JwtCosts::default_for(self.algorithm)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RedisSpec {
    pub round_trip: Distribution,
    pub service: Distribution,
    pub replication: ReplicationMode,
    /// From a write on the primary until the replica has applied it.
    pub replication_lag: Distribution,
    /// From the primary's death until the replica (or an empty replacement) takes commands.
    pub failover_after: SimDuration,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseSpec {
    pub connections: u32,
    pub read: Distribution,
    pub write: Distribution,
    /// Read replicas (0: the primary serves everything).
    pub read_replicas: u32,
    /// From a write committed on the primary until the read replicas have it.
    pub replication_lag: Distribution,
    pub read_from: ReadFrom,
    /// With `ReadFrom::PrimaryAfterWrite`: how long a user's reads go to the primary.
    pub primary_after_write: SimDuration,
}

#[derive(Debug, Clone, Serialize)]
pub struct CartSpec {
    pub store: CartStoreKind,
    pub add_share: f64,
    pub guests: bool,
    pub visit_requests: f64,
    pub login_share: f64,
    /// Every page reads the user's cart from the database.
    pub page_reads: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RevocationSpec {
    pub fire_rate_per_sec: f64,
    pub fire_until: SimDuration,
}

impl System {
    /// Whether any request or background task talks to Redis.
    pub fn uses_redis(&self) -> bool {
        self.sessions.store == SessionStoreKind::Redis
            || (self.sessions.store == SessionStoreKind::Jwt && self.sessions.blocklist != BlocklistMode::Off)
            || self.rate_limit.as_ref().is_some_and(|r| r.store == LimitStore::Redis)
            || self.websockets.as_ref().is_some_and(|w| w.mode == WsMode::Pubsub)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunSpec {
    pub duration: SimDuration,
    pub warmup: SimDuration,
    pub seed: u64,
    pub max_requests: Option<u64>,
    pub replications: u32,
    /// The width of a time-series bucket: the model's `run.timeseries_step`, or when it
    /// gives none [`default_timeseries_step`] of the duration.
    pub timeseries_step: SimDuration,
}

/// The most time-series buckets a run has when the model does not choose its step: an
/// hour at one second. A run's memory then does not grow with its simulated time.
pub const DEFAULT_MAX_BUCKETS: u64 = 3600;

/// Round steps, in seconds, that a long run's time series widens to.
const ROUND_STEPS_S: [u64; 18] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/// The time-series step of a run of `duration` whose model gives none: one second, or
/// the first round step (5 s, 30 s, 1 min, ..., a day, then whole days) that cuts the run
/// into at most [`DEFAULT_MAX_BUCKETS`] buckets.
pub fn default_timeseries_step(duration: SimDuration) -> SimDuration {
    let buckets = |step_s: u64| duration.0.div_ceil(step_s * 1_000_000_000);
    let step_s = ROUND_STEPS_S
        .iter()
        .copied()
        .find(|&s| buckets(s) <= DEFAULT_MAX_BUCKETS)
        .unwrap_or_else(|| duration.0.div_ceil(DEFAULT_MAX_BUCKETS * 86_400_000_000_000) * 86_400);
    SimDuration::from_secs(step_s)
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Workload {
    /// Poisson arrivals.
    Open { rate_per_sec: f64 },
    /// Each user alternates think time and one request.
    Closed { think_time: Distribution },
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientSpec {
    pub users: u64,
    pub workload: Workload,
    pub timeout: Option<SimDuration>,
    pub proxies: Vec<ProxyGroup>,
    pub idempotent_share: f64,
    pub abuser: Option<AbuserSpec>,
    pub profile: Option<Profile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProxyGroup {
    pub name: String,
    pub users: u64,
    pub ips: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NetworkSpec {
    pub client_to_lb: Distribution,
    pub lb_to_server: Distribution,
}

#[derive(Debug, Clone, Serialize)]
pub struct LbSpec {
    pub policy: LbPolicy,
    /// How power-of-two draws its two candidates.
    pub choices: Choices,
    pub latency: Distribution,
    pub health_check: Option<HealthCheck>,
    pub retries: u32,
    pub retry_idempotent: bool,
    pub retry_to: RetryTarget,
    pub virtual_nodes: u32,
    /// How often the policy's view of open connections is refreshed (zero: live).
    pub load_info_period: SimDuration,
    /// Load balancer instances, each counting only its own connections.
    pub instances: u8,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct HealthCheck {
    pub interval: SimDuration,
    pub unhealthy_after: u32,
    pub healthy_after: u32,
    /// A probe that would wait longer than this behind the queued work fails.
    pub timeout: Option<SimDuration>,
    /// A running server taken out of rotation is terminated and replaced.
    pub replace: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerSpec {
    pub count: u32,
    pub cores: u32,
    pub service: Distribution,
    pub queue_limit: u64,
    pub boot_time: SimDuration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub at: SimDuration,
    pub action: FaultAction,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum FaultAction {
    /// Kill server `server` (0-based); start it again after `restart_after` if given.
    Kill { server: u32, restart_after: Option<SimDuration> },
    /// Kill queue worker `worker` (0-based); it comes back after `jobs.worker_restart`.
    KillWorker { worker: u32 },
    /// Kill WebSocket gateway `gateway` (0-based): its connections drop; it starts again
    /// after `restart_after` if given.
    KillGateway { gateway: u32, restart_after: Option<SimDuration> },
    /// Redis refuses connections for `lasting`.
    RedisDown { lasting: SimDuration },
    /// The Redis primary dies; after `redis.failover_after` its replica is promoted (or,
    /// with none, an empty replacement takes over).
    KillRedisPrimary { failover_after: SimDuration },
    /// Redis answers slowly for `lasting`.
    RedisSlow { lasting: SimDuration, service: Option<Distribution>, round_trip: Option<Distribution> },
}

impl System {
    /// Mean service demand per request, in seconds.
    pub fn mean_service_secs(&self) -> f64 {
        self.servers.service.mean() / 1e9
    }
    /// Offered load as a share of total core capacity (open workloads; closed ones bound it by N/Z):
    /// at the load profile's peak, against the largest fleet the model may run (`max` when it
    /// autoscales).
    pub fn offered_load(&self) -> f64 {
        let servers = if self.fleet.autoscale { self.fleet.max } else { self.servers.count };
        let capacity = servers as f64 * self.servers.cores as f64;
        let peak = self.clients.profile.map_or(1.0, |p| p.max_factor());
        let rate = match &self.clients.workload {
            Workload::Open { rate_per_sec } => *rate_per_sec * peak,
            Workload::Closed { think_time } => self.clients.users as f64 / ((think_time.mean() / 1e9) + self.mean_service_secs()),
        };
        rate * self.mean_service_secs() / capacity
    }
    /// Server name as written in model files and outputs.
    pub fn server_name(index: usize) -> String {
        format!("server-{}", index + 1)
    }
}

#[cfg(test)]
mod step_tests {
    use super::*;

    #[test]
    fn long_runs_get_a_round_step_and_at_most_3600_buckets() {
        let step = |d: SimDuration| default_timeseries_step(d).0 / 1_000_000_000;
        let (min, hour) = (60, 3600);
        for (secs, want) in
            [(40, 1), (30 * min, 1), (hour, 1), (hour + 1, 2), (160 * min, 5), (4 * hour, 5), (8 * hour, 10), (24 * hour, 30), (100 * 24 * hour, hour)]
        {
            assert_eq!(step(SimDuration::from_secs(secs)), want, "{secs} s");
        }
        // Past a day per bucket: whole days.
        assert_eq!(step(SimDuration::from_secs(20 * 365 * 24 * hour)), 3 * 24 * hour);
        for secs in [1, 59, 3599, 3601, 7201, 86_399, 1_000_003, 90_000_000, 3_000_000_000] {
            let d = SimDuration::from_secs(secs);
            let s = default_timeseries_step(d);
            assert!(d.0.div_ceil(s.0) <= DEFAULT_MAX_BUCKETS, "{secs} s in steps of {s}");
        }
    }
}
