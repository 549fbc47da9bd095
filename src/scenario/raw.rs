//! The model file as written: serde types with documented defaults.
//!
//! These are the only types deserialized from TOML. Unknown keys are rejected. They
//! are resolved into the typed [`super::model::System`] by [`super::model::resolve`], which
//! checks everything serde cannot (ranges, references to servers, sizes).
//! `statesim schema` prints their JSON Schema, so editors and docs see the same truth.

use super::units::{Bandwidth, ByteSize, Duration, Rate};
use crate::policies::{Algorithm, BlocklistMode, CartStoreKind, FailMode, JwtAlgorithm, LbPolicy, SessionStoreKind};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor, value::MapAccessDeserializer};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// The newest model format this statesim reads.
pub const SCHEMA_VERSION: i64 = 1;

/// A whole model file. Variants are kept apart by the loader and merged into this shape.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// The model format version; this statesim reads 1.
    pub schema_version: i64,
    /// Short name used for the output folder; defaults to the file name.
    pub name: Option<String>,
    /// The question the model answers, one line.
    pub title: Option<String>,
    /// What the model shows and why, a few sentences.
    pub story: Option<String>,
    #[serde(default)]
    pub run: RawRun,
    #[serde(default)]
    pub clients: RawClients,
    #[serde(default)]
    pub network: RawNetwork,
    #[serde(default)]
    pub load_balancer: RawLoadBalancer,
    #[serde(default)]
    pub servers: RawServers,
    #[serde(default)]
    pub sessions: RawSessions,
    #[serde(default)]
    pub redis: RawRedis,
    #[serde(default)]
    pub database: RawDatabase,
    #[serde(default)]
    pub carts: RawCarts,
    #[serde(default)]
    pub revocation: RawRevocation,
    #[serde(default)]
    pub rate_limit: RawRateLimit,
    #[serde(default)]
    pub jobs: RawJobs,
    #[serde(default)]
    pub uploads: RawUploads,
    #[serde(default)]
    pub websockets: RawWebsockets,
    #[serde(default)]
    pub autoscaling: RawAutoscaling,
    #[serde(default)]
    pub s3: RawS3,
    /// Scheduled faults, each at a time with one action.
    #[serde(default)]
    pub faults: Vec<RawFault>,
}

/// Logged-in sessions: where they live and what checking them costs.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSessions {
    /// "none", "server-memory", "redis" (reference token) or "jwt". Default "none".
    #[serde(default = "d_store")]
    pub store: SessionStoreKind,
    /// Session (or token) lifetime from login; then the user logs in again (jwt: refreshes). Default "30m".
    #[serde(default = "d_lifetime")]
    pub lifetime: Duration,
    /// JWT signature algorithm: "HS256", "RS256", "ES256" or "EdDSA". Default "HS256".
    #[serde(default = "d_algorithm")]
    pub algorithm: JwtAlgorithm,
    /// JWT revocation: "off", "per-request" (Redis lookup) or "cached" (local copy). Default "off".
    #[serde(default = "d_blocklist")]
    pub blocklist: BlocklistMode,
    /// How often a cached blocklist is fetched from Redis. Default "5s".
    #[serde(default = "d_refresh")]
    pub blocklist_refresh: Duration,
    /// With Redis down, a blocklist check lets requests through ("open") or rejects them ("closed"). Default "open".
    #[serde(default = "d_fail_open")]
    pub blocklist_fail: FailMode,
    /// Server CPU to check a password and start a session (besides one database read). Default "2ms".
    #[serde(default = "d_login_cpu")]
    pub login_cpu: Duration,
    /// Users start logged in, their sessions issued at random moments over the past lifetime
    /// (a steady state, with no login storm at t = 0). Default true.
    #[serde(default = "d_true")]
    pub warm_start: bool,
}

/// The Redis server shared by all web servers.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRedis {
    /// Network round trip from a web server, same zone. Default "300us".
    #[serde(default = "d_redis_rtt")]
    pub round_trip: RawDist<Duration>,
    /// Time the single command thread spends per command. Default "10us" (about 100k ops/s).
    #[serde(default = "d_redis_service")]
    pub service: RawDist<Duration>,
}

/// The database (carts, credentials).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// Connections in the shared pool: queries beyond it wait. Default 50.
    #[serde(default = "d_db_conns")]
    pub connections: u32,
    /// Time of one read (network included). Default "1ms".
    #[serde(default = "d_db_read")]
    pub read: RawDist<Duration>,
    /// Time of one write (network included). Default "3ms".
    #[serde(default = "d_db_write")]
    pub write: RawDist<Duration>,
}

/// Shopping carts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCarts {
    /// "none", "server-memory", "database" or "client". Default "none".
    #[serde(default = "d_cart_store")]
    pub store: CartStoreKind,
    /// Share of requests that add an item to the cart. Default 0.1.
    #[serde(default = "d_add_share")]
    pub add_share: f64,
    /// Users shop as guests and log in only to check out. Default false.
    #[serde(default)]
    pub guests: bool,
    /// Guests: mean requests in a visit before checkout or abandonment. Default 10.
    #[serde(default = "d_visit")]
    pub visit_requests: f64,
    /// Guests: share of visits that end in a login (checkout); the rest abandon the cart. Default 0.3.
    #[serde(default = "d_login_share")]
    pub login_share: f64,
}

/// A rate limit checked by every server before anything else.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// "fixed-window", "sliding-log", "sliding-counter", "token-bucket" or "gcra"; none when absent.
    pub algorithm: Option<Algorithm>,
    /// Where the counters live: "local" (each server's memory) or "redis" (shared). Default "redis".
    #[serde(default = "d_where")]
    pub store: LimitStore,
    /// What a counter is kept per: "user", "ip" or "api-key" (one per proxy group, one per other user). Default "user".
    #[serde(default = "d_key")]
    pub key: LimitKey,
    /// Requests allowed per window. Default 100.
    #[serde(default = "d_limit")]
    pub limit: u32,
    /// Default "1m".
    #[serde(default = "d_window")]
    pub window: Duration,
    /// Bucket capacity for token-bucket and gcra. Default: the limit.
    pub burst: Option<u32>,
    /// With Redis down: "open" lets requests through, "closed" rejects them. Default "open".
    #[serde(default = "d_fail_open")]
    pub fail: FailMode,
    /// Redis fixed window: "atomic" (INCR and EXPIRE in one script, one round trip) or
    /// "incr-then-expire" (two round trips: a crash in between leaves a key with no TTL). Default "atomic".
    #[serde(default = "d_commands")]
    pub commands: LimitCommands,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LimitStore {
    Local,
    Redis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LimitKey {
    User,
    Ip,
    ApiKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LimitCommands {
    Atomic,
    IncrThenExpire,
}

/// The fleet over time: target tracking on CPU, spot instances, rolling deploys.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscaling {
    /// Scale on CPU (target tracking). Default false: a fixed fleet of servers.count.
    #[serde(default)]
    pub enabled: bool,
    /// Average CPU the scaler aims for. Default 0.5.
    #[serde(default = "d_target_cpu")]
    pub target_cpu: f64,
    /// How often CPU is measured and a decision taken. Default "1m".
    #[serde(default = "d_metric_period")]
    pub metric_period: Duration,
    /// No scale-in for this long after a change. Default "5m".
    #[serde(default = "d_cooldown")]
    pub cooldown: Duration,
    /// Default 2.
    #[serde(default = "d_min")]
    pub min: u32,
    /// Default 20.
    #[serde(default = "d_max")]
    pub max: u32,
    /// Share of instances that are spot. Default 0.
    #[serde(default)]
    pub spot_share: f64,
    /// Interruptions per spot instance. Default "1/h".
    #[serde(default = "d_spot_rate")]
    pub spot_interruptions: Rate,
    /// Warning before a spot interruption; the instance is taken out of rotation at once. Default "2m".
    #[serde(default = "d_spot_notice")]
    pub spot_notice: Duration,
    /// Price of an on-demand instance-hour. Default 0.10.
    #[serde(default = "d_on_demand")]
    pub on_demand_per_hour: f64,
    /// Price of a spot instance-hour. Default 0.03.
    #[serde(default = "d_spot_price")]
    pub spot_per_hour: f64,
    /// A rolling deploy that replaces every server, one at a time.
    pub deploy: Option<RawDeploy>,
}

/// Replace every server: take it out of rotation, drain, stop, start a new one.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDeploy {
    pub at: Duration,
    /// Deregistration delay: sticky users keep reaching a draining server this long ("0s": cut at once).
    #[serde(default = "d_zero")]
    pub drain: Duration,
}

/// WebSockets: every user holds a connection and messages other users.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWebsockets {
    /// "none", "local" (each server's own connection map), "pubsub" (a Redis pub/sub bridge) or "gateway" (an external gateway holds the connections). Default "none".
    #[serde(default = "d_ws_mode")]
    pub mode: WsMode,
    /// Messages each user sends, to another user drawn at random. Default "1/min".
    #[serde(default = "d_ws_rate")]
    pub message_rate: Rate,
    /// After its server dies, a client waits this long before reconnecting. Default "1s".
    #[serde(default = "d_ws_reconnect")]
    pub reconnect_after: Duration,
    /// Plus a random extra wait, uniform up to this ("0s": everyone at once). Default "0s".
    #[serde(default = "d_zero")]
    pub reconnect_jitter: Duration,
    /// Redis time per PUBLISH for each subscribed server (fan-out). Default "2us".
    #[serde(default = "d_fanout")]
    pub publish_per_subscriber: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WsMode {
    None,
    Local,
    Pubsub,
    Gateway,
}

/// File uploads (profile pictures, videos) and later reads of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUploads {
    /// "none", "local-disk" (the server's own disk), "through-server" (streamed via the server to S3) or "presigned" (the client uploads straight to S3). Default "none".
    #[serde(default = "d_upload_store")]
    pub store: UploadStore,
    /// Share of requests that upload a file. Default 0.02.
    #[serde(default = "d_upload_share")]
    pub share: f64,
    /// Share of requests that read a file uploaded earlier (by anyone). Default 0.1.
    #[serde(default = "d_read_share")]
    pub read_share: f64,
    /// File sizes. Default: 90% "200KB" pictures, 10% "50MB" videos.
    #[serde(default = "d_file_size")]
    pub size: RawDist<ByteSize>,
    /// The client's upload bandwidth. Default "5MB/s".
    #[serde(default = "d_client_bw")]
    pub client_bandwidth: Bandwidth,
    /// Server CPU per megabyte of upload it handles. Default "2ms".
    #[serde(default = "d_cpu_per_mb")]
    pub cpu_per_mb: Duration,
    /// Server CPU to sign a pre-signed URL (a local HMAC). Default "10us".
    #[serde(default = "d_presign")]
    pub presign_cpu: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UploadStore {
    None,
    LocalDisk,
    ThroughServer,
    Presigned,
}

/// S3.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawS3 {
    /// Time to first byte. Default lognormal, mean "40ms", cv 1 (p50 about 30 ms, a tail past 100 ms).
    #[serde(default = "d_first_byte")]
    pub first_byte: RawDist<Duration>,
    /// Throughput of one connection. Default "45MB/s".
    #[serde(default = "d_s3_tp")]
    pub throughput: Bandwidth,
    /// PUTs per second per key prefix before S3 answers 503 SlowDown (retried with backoff). Default 3500.
    #[serde(default = "d_put_limit")]
    pub put_limit: u32,
}

/// Long jobs (video processing): done inside the request, or queued for workers.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJobs {
    /// "none", "in-request" (the request does the work) or "queue" (202 Accepted, then a worker). Default "none".
    #[serde(default = "d_jobs_mode")]
    pub mode: JobsMode,
    /// Share of requests that submit a job. Default 0.01.
    #[serde(default = "d_job_share")]
    pub share: f64,
    /// CPU time of one job. Default lognormal, mean "10m", cv 0.3.
    #[serde(default = "d_job_duration")]
    pub duration: RawDist<Duration>,
    /// Queue mode: workers pulling jobs. Default 20.
    #[serde(default = "d_workers")]
    pub workers: u32,
    /// Queue mode: a job not acknowledged this long after delivery is delivered again. Default "15m".
    #[serde(default = "d_visibility")]
    pub visibility_timeout: Duration,
    /// Queue mode: server CPU to validate and enqueue a job before answering 202. Default "2ms".
    #[serde(default = "d_accept_cpu")]
    pub accept_cpu: Duration,
    /// Writing a job's result to S3 and the database. Default "200ms".
    #[serde(default = "d_result_write")]
    pub result_write: RawDist<Duration>,
    /// Time for a killed worker to come back. Default "1m".
    #[serde(default = "d_worker_restart")]
    pub worker_restart: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum JobsMode {
    None,
    InRequest,
    Queue,
}

/// One abusive client far over the limit, with an IP of its own.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAbuser {
    /// Its request rate while sending.
    pub rate: Rate,
    /// Send in bursts this often (centred on multiples of it, e.g. window boundaries); always when absent.
    pub burst_every: Option<Duration>,
    /// Length of each burst. Default "1s".
    #[serde(default = "d_burst_len")]
    pub burst_length: Duration,
}

/// Firing users: a fired user's session or token is revoked at a random moment.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRevocation {
    /// Users fired per unit time (Poisson), after warm-up. Default "0/s" (none).
    #[serde(default = "d_zero_rate")]
    pub fire_rate: Rate,
    /// No one is fired after this time (so every exposure can end before the run does). Default: the end of the run.
    pub fire_until: Option<Duration>,
}

/// How long to simulate and what to measure.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    /// Simulated time. Default "10m".
    #[serde(default = "d_duration")]
    pub duration: Duration,
    /// Leading time excluded from statistics (requests sent before it are not counted). Default "0s".
    #[serde(default = "d_zero")]
    pub warmup: Duration,
    /// Seed of every random stream. Default 42.
    #[serde(default = "d_seed")]
    pub seed: u64,
    /// Stop after this many requests have been sent after warm-up (whichever comes first with duration).
    pub max_requests: Option<u64>,
    /// Independent replications; default 1.
    #[serde(default = "d_one")]
    pub replications: u32,
    /// Width of a time-series bucket. Default "1s".
    #[serde(default = "d_step")]
    pub timeseries_step: Duration,
}

/// Who sends requests.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawClients {
    /// Distinct users (each has an id and a public IP). Default 1000.
    #[serde(default = "d_users")]
    pub users: u64,
    /// Open workload: Poisson arrivals at this rate, each from a user drawn at random.
    pub arrival_rate: Option<Rate>,
    /// Closed workload: every user waits this long between a response and the next request.
    pub think_time: Option<RawDist<Duration>>,
    /// The client gives up after this long ("off" for never). Default "30s".
    #[serde(default = "d_timeout")]
    pub timeout: DurationOrOff,
    /// Groups of users sharing few public IPs (corporate NAT, mega-proxies).
    #[serde(default)]
    pub proxies: Vec<RawProxy>,
    /// Share of requests that are idempotent (GET-like) and may be retried after a failure. Default 0.8.
    #[serde(default = "d_idempotent")]
    pub idempotent_share: f64,
    /// An abusive client, besides the users.
    pub abuser: Option<RawAbuser>,
    /// Open workloads: the arrival rate over time (a step, or a daily curve). Constant when absent.
    pub profile: Option<RawProfile>,
}

/// How an open workload's rate changes: `factor` times `arrival_rate`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawProfile {
    /// The rate jumps to `factor` x at `at`.
    Step { at: Duration, factor: f64 },
    /// A daily curve: from `low` x at the start up to 1 x at half the period and back.
    Daily { period: Duration, low: f64 },
}

/// Users behind a NAT: `users` of the population share `ips` public addresses.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProxy {
    pub users: u64,
    /// Default 1.
    #[serde(default = "d_one_u64")]
    pub ips: u64,
    /// A label for tables and charts. Default "proxy-N".
    pub name: Option<String>,
}

/// One-way latencies of the network hops.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Client to load balancer (and back), one way. Default "10ms".
    #[serde(default = "d_client_lb")]
    pub client_to_lb: RawDist<Duration>,
    /// Load balancer to server (and back), one way, same zone. Default "150us".
    #[serde(default = "d_lb_server")]
    pub lb_to_server: RawDist<Duration>,
}

/// The load balancer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLoadBalancer {
    /// Default "round-robin".
    #[serde(default = "d_policy")]
    pub policy: LbPolicy,
    /// Time the load balancer adds to each request. Default "1ms".
    #[serde(default = "d_lb_latency")]
    pub latency: RawDist<Duration>,
    #[serde(default)]
    pub health_check: RawHealthCheck,
    /// Tries on another server after a refused connection. Default 1.
    #[serde(default = "d_one")]
    pub retries: u32,
    /// Also retry idempotent requests (see clients.idempotent_share) on another server after a 502. Default true.
    #[serde(default = "d_true")]
    pub retry_idempotent: bool,
    /// Points per server on the consistent-hash ring. Default 150.
    #[serde(default = "d_vnodes")]
    pub virtual_nodes: u32,
}

/// Active health checks: a server leaves rotation after `unhealthy_after` failed probes in
/// a row and returns after `healthy_after` good ones.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    /// Default true.
    #[serde(default = "d_true")]
    pub enabled: bool,
    /// Default "5s".
    #[serde(default = "d_hc_interval")]
    pub interval: Duration,
    /// Default 2.
    #[serde(default = "d_two")]
    pub unhealthy_after: u32,
    /// Default 2.
    #[serde(default = "d_two")]
    pub healthy_after: u32,
}

/// The web servers.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawServers {
    /// Default 4. Servers are named server-1 .. server-N.
    #[serde(default = "d_servers")]
    pub count: u32,
    /// Requests served at once per server. Default 4.
    #[serde(default = "d_cores")]
    pub cores: u32,
    /// CPU time of one request. Default lognormal, mean "15ms", cv 1.
    #[serde(default = "d_service")]
    pub service: RawDist<Duration>,
    /// Requests waiting beyond this are refused with 503. Default 1000.
    #[serde(default = "d_queue_limit")]
    pub queue_limit: u64,
    /// Time from start to serving. Default "30s".
    #[serde(default = "d_boot")]
    pub boot_time: Duration,
}

/// A fault at a time. One action per entry.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub at: Duration,
    /// Kill this server ("server-3"): its queued and in-flight requests fail.
    pub kill: Option<String>,
    /// Start the killed server again this long after the kill (it then boots for `servers.boot_time`).
    pub restart_after: Option<Duration>,
    /// Kill this queue worker ("worker-2"): its job is delivered again after the visibility timeout.
    pub kill_worker: Option<String>,
    /// Redis becomes "down" (connections refused) or "slow" for `lasting`.
    pub redis: Option<RedisFaultKind>,
    /// How long a Redis fault lasts.
    pub lasting: Option<Duration>,
    /// A slow Redis's command time.
    pub service: Option<RawDist<Duration>>,
    /// A slow Redis's round trip.
    pub round_trip: Option<RawDist<Duration>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RedisFaultKind {
    Down,
    Slow,
}

/// A duration, or "off".
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DurationOrOff {
    Off,
    On(Duration),
}

impl<'de> Deserialize<'de> for DurationOrOff {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationOrOff;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration like \"30s\" or \"off\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationOrOff, E> {
                if v == "off" {
                    return Ok(DurationOrOff::Off);
                }
                super::units::parse_duration(v)
                    .map(|d| DurationOrOff::On(Duration(d)))
                    .map_err(|m| E::custom(format!("{m}; write a duration like \"30s\" or \"off\"")))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for DurationOrOff {
    fn schema_name() -> Cow<'static, str> {
        "DurationOrOff".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({ "anyOf": [g.subschema_for::<Duration>(), { "const": "off" }] })
    }
}

/// A distribution of a quantity `Q`: a plain value (constant) or a table with `dist`.
#[derive(Debug, Clone)]
pub enum RawDist<Q> {
    Fixed(Q),
    Spec(RawDistSpec<Q>),
}

/// The distributions a model can name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawDistSpec<Q> {
    /// Always `value`.
    Constant { value: Q },
    /// Memoryless, with this mean.
    Exponential { mean: Q },
    /// Uniform between `min` and `max`.
    Uniform { min: Q, max: Q },
    /// Log-normal with this mean and coefficient of variation (stddev / mean, >= 0).
    Lognormal { mean: Q, cv: f64 },
    /// One of `values`, with `weights` (default: equal).
    Empirical { values: Vec<Q>, weights: Option<Vec<f64>> },
}

impl<'de, Q: Deserialize<'de>> Deserialize<'de> for RawDist<Q> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<Q>(PhantomData<Q>);
        impl<'de, Q: Deserialize<'de>> Visitor<'de> for V<Q> {
            type Value = RawDist<Q>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value like \"15ms\" or a table like { dist = \"exponential\", mean = \"15ms\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Q::deserialize(de::value::StrDeserializer::<E>::new(v)).map(RawDist::Fixed)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Q::deserialize(de::value::I64Deserializer::<E>::new(v)).map(RawDist::Fixed)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Q::deserialize(de::value::U64Deserializer::<E>::new(v)).map(RawDist::Fixed)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Q::deserialize(de::value::F64Deserializer::<E>::new(v)).map(RawDist::Fixed)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawDistSpec::deserialize(MapAccessDeserializer::new(map)).map(RawDist::Spec)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<Q: JsonSchema> JsonSchema for RawDist<Q> {
    fn schema_name() -> Cow<'static, str> {
        format!("Distribution_of_{}", Q::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A constant written as a plain value, or a table naming `dist`.",
            "anyOf": [g.subschema_for::<Q>(), g.subschema_for::<RawDistSpec<Q>>()]
        })
    }
}

fn dur(s: &str) -> Duration {
    Duration(super::units::parse_duration(s).expect("valid default"))
}
fn d_duration() -> Duration {
    dur("10m")
}
fn d_zero() -> Duration {
    dur("0s")
}
fn d_step() -> Duration {
    dur("1s")
}
fn d_seed() -> u64 {
    42
}
fn d_one() -> u32 {
    1
}
fn d_one_u64() -> u64 {
    1
}
fn d_two() -> u32 {
    2
}
fn d_true() -> bool {
    true
}
fn d_users() -> u64 {
    1000
}
fn d_timeout() -> DurationOrOff {
    DurationOrOff::On(dur("30s"))
}
fn d_client_lb() -> RawDist<Duration> {
    RawDist::Fixed(dur("10ms"))
}
fn d_lb_server() -> RawDist<Duration> {
    RawDist::Fixed(dur("150us"))
}
fn d_policy() -> LbPolicy {
    LbPolicy::RoundRobin
}
fn d_lb_latency() -> RawDist<Duration> {
    RawDist::Fixed(dur("1ms"))
}
fn d_vnodes() -> u32 {
    150
}
fn d_hc_interval() -> Duration {
    dur("5s")
}
fn d_servers() -> u32 {
    4
}
fn d_cores() -> u32 {
    4
}
fn d_service() -> RawDist<Duration> {
    RawDist::Spec(RawDistSpec::Lognormal { mean: dur("15ms"), cv: 1.0 })
}
fn d_queue_limit() -> u64 {
    1000
}
fn d_boot() -> Duration {
    dur("30s")
}

fn d_store() -> SessionStoreKind {
    SessionStoreKind::None
}
fn d_lifetime() -> Duration {
    dur("30m")
}
fn d_algorithm() -> JwtAlgorithm {
    JwtAlgorithm::HS256
}
fn d_blocklist() -> BlocklistMode {
    BlocklistMode::Off
}
fn d_refresh() -> Duration {
    dur("5s")
}
fn d_fail_open() -> FailMode {
    FailMode::Open
}
fn d_login_cpu() -> Duration {
    dur("2ms")
}
fn d_redis_rtt() -> RawDist<Duration> {
    RawDist::Fixed(dur("300us"))
}
fn d_redis_service() -> RawDist<Duration> {
    RawDist::Fixed(dur("10us"))
}
fn d_db_conns() -> u32 {
    50
}
fn d_db_read() -> RawDist<Duration> {
    RawDist::Fixed(dur("1ms"))
}
fn d_db_write() -> RawDist<Duration> {
    RawDist::Fixed(dur("3ms"))
}
fn d_cart_store() -> CartStoreKind {
    CartStoreKind::None
}
fn d_add_share() -> f64 {
    0.1
}
fn d_visit() -> f64 {
    10.0
}
fn d_login_share() -> f64 {
    0.3
}
fn d_zero_rate() -> Rate {
    Rate { per_sec: 0.0 }
}
fn d_idempotent() -> f64 {
    0.8
}
fn d_where() -> LimitStore {
    LimitStore::Redis
}
fn d_key() -> LimitKey {
    LimitKey::User
}
fn d_limit() -> u32 {
    100
}
fn d_window() -> Duration {
    dur("1m")
}
fn d_commands() -> LimitCommands {
    LimitCommands::Atomic
}
fn d_burst_len() -> Duration {
    dur("1s")
}
fn d_target_cpu() -> f64 {
    0.5
}
fn d_metric_period() -> Duration {
    dur("1m")
}
fn d_cooldown() -> Duration {
    dur("5m")
}
fn d_min() -> u32 {
    2
}
fn d_max() -> u32 {
    20
}
fn d_spot_rate() -> Rate {
    Rate { per_sec: 1.0 / 3600.0 }
}
fn d_spot_notice() -> Duration {
    dur("2m")
}
fn d_on_demand() -> f64 {
    0.10
}
fn d_spot_price() -> f64 {
    0.03
}
fn d_ws_mode() -> WsMode {
    WsMode::None
}
fn d_ws_rate() -> Rate {
    Rate { per_sec: 1.0 / 60.0 }
}
fn d_ws_reconnect() -> Duration {
    dur("1s")
}
fn d_fanout() -> Duration {
    dur("2us")
}
fn d_upload_store() -> UploadStore {
    UploadStore::None
}
fn d_upload_share() -> f64 {
    0.02
}
fn d_read_share() -> f64 {
    0.1
}
fn d_file_size() -> RawDist<ByteSize> {
    RawDist::Spec(RawDistSpec::Empirical { values: vec![ByteSize(200e3), ByteSize(50e6)], weights: Some(vec![0.9, 0.1]) })
}
fn d_client_bw() -> Bandwidth {
    Bandwidth(5e6)
}
fn d_cpu_per_mb() -> Duration {
    dur("2ms")
}
fn d_presign() -> Duration {
    dur("10us")
}
fn d_first_byte() -> RawDist<Duration> {
    RawDist::Spec(RawDistSpec::Lognormal { mean: dur("40ms"), cv: 1.0 })
}
fn d_s3_tp() -> Bandwidth {
    Bandwidth(45e6)
}
fn d_put_limit() -> u32 {
    3500
}
fn d_jobs_mode() -> JobsMode {
    JobsMode::None
}
fn d_job_share() -> f64 {
    0.01
}
fn d_job_duration() -> RawDist<Duration> {
    RawDist::Spec(RawDistSpec::Lognormal { mean: dur("10m"), cv: 0.3 })
}
fn d_workers() -> u32 {
    20
}
fn d_visibility() -> Duration {
    dur("15m")
}
fn d_accept_cpu() -> Duration {
    dur("2ms")
}
fn d_result_write() -> RawDist<Duration> {
    RawDist::Fixed(dur("200ms"))
}
fn d_worker_restart() -> Duration {
    dur("1m")
}

macro_rules! default_from_empty_table {
    ($($t:ty),*) => {$(
        impl Default for $t {
            fn default() -> Self {
                toml::from_str("").expect("every field has a default")
            }
        }
    )*};
}
default_from_empty_table!(
    RawRun,
    RawClients,
    RawNetwork,
    RawLoadBalancer,
    RawHealthCheck,
    RawServers,
    RawSessions,
    RawRedis,
    RawDatabase,
    RawCarts,
    RawRevocation,
    RawRateLimit,
    RawJobs,
    RawUploads,
    RawS3,
    RawWebsockets,
    RawAutoscaling
);
