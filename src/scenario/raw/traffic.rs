//! Who sends what, over which network, to which load balancer and servers, for how long.

use super::{DurationOrOff, RawDist, RawDistSpec, d_one, d_one_u64, d_true, d_two, d_zero, dur};
use crate::policies::{Choices, LbPolicy, RetryTarget};
use crate::scenario::units::{Duration, Rate};
use schemars::JsonSchema;
use serde::Deserialize;

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
    /// Width of a time-series bucket. Default "1s", widened for runs over an hour to a
    /// round step that gives at most 3600 buckets ("5s" for 4h, "30s" for a day).
    pub timeseries_step: Option<Duration>,
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
    /// How power-of-two draws its two servers: "distinct" (two different servers) or
    /// "independent" (two draws that may name the same server). Default "distinct".
    #[serde(default = "d_choices")]
    pub choices: Choices,
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
    /// Where a retry goes: "round-robin" (the next server in the rotation) or
    /// "next-server" (the server after the one that failed: server-6 after server-5).
    /// Default "round-robin".
    #[serde(default = "d_retry_to")]
    pub retry_to: RetryTarget,
    /// Points per server on the consistent-hash ring. Default 150.
    #[serde(default = "d_vnodes")]
    pub virtual_nodes: u32,
    /// least-connections and power-of-two: the load balancer sees the servers' open
    /// connections as a snapshot refreshed this often, so up to this old. Default "0s" (live).
    #[serde(default = "super::d_zero")]
    pub load_info_period: Duration,
    /// Load balancer instances side by side (DNS or ECMP sends each request to one at
    /// random). With least-connections or power-of-two each counts only the connections it
    /// opened itself. Default 1.
    #[serde(default = "d_one")]
    pub instances: u32,
    /// The load balancer closes a connection on which no byte has moved for this long
    /// (a 504 to the client). It matters for requests held open: long polls, and
    /// WebSocket upgrades still waiting for a server thread (an open WebSocket pings
    /// every 30 s). Default "60s".
    #[serde(default = "d_idle_timeout")]
    pub idle_timeout: Duration,
}

fn d_idle_timeout() -> Duration {
    dur("60s")
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
    /// A probe waits in the server's queue behind the real work, like any request: it
    /// fails when the queue is full or its wait (queued requests x mean service time /
    /// cores) passes this timeout, so an overloaded server fails its health checks.
    /// Default "off": a probe of a running server always passes.
    #[serde(default = "d_off")]
    pub timeout: DurationOrOff,
    /// A running server taken out of rotation by failed probes is terminated and replaced,
    /// as an autoscaling group replaces an unhealthy instance: its process dies (what it
    /// held in memory is lost) and a new one boots. Default false.
    #[serde(default)]
    pub replace: bool,
}

fn d_off() -> DurationOrOff {
    DurationOrOff::Off
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

fn d_duration() -> Duration {
    dur("10m")
}

fn d_seed() -> u64 {
    42
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

fn d_choices() -> Choices {
    Choices::Distinct
}

fn d_lb_latency() -> RawDist<Duration> {
    RawDist::Fixed(dur("1ms"))
}

fn d_retry_to() -> RetryTarget {
    RetryTarget::RoundRobin
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

fn d_idempotent() -> f64 {
    0.8
}

fn d_burst_len() -> Duration {
    dur("1s")
}
