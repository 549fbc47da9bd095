//! The rest of the playbook: long jobs, uploads and S3, WebSockets, the fleet over time.

use super::{RawDist, RawDistSpec, d_zero, dur};
use crate::policies::{UploadStore, WsChannels, WsMode};
use crate::scenario::units::{Bandwidth, ByteSize, Duration, Rate};
use schemars::JsonSchema;
use serde::Deserialize;

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
    /// After its server (or gateway) dies, a client waits this long before reconnecting. Default "1s".
    #[serde(default = "d_ws_reconnect")]
    pub reconnect_after: Duration,
    /// Plus a random extra wait, uniform up to this ("0s": everyone at once). Default "0s".
    #[serde(default = "d_zero")]
    pub reconnect_jitter: Duration,
    /// With mode "pubsub": "broadcast" (every server subscribes to one channel, so each
    /// message is pushed to every server) or "per-user" (a server subscribes to the inbox
    /// channel of each user it holds, so a message is pushed only to the receiver's
    /// server). Default "broadcast".
    #[serde(default = "d_ws_channels")]
    pub channels: WsChannels,
    /// Redis time per PUBLISH for each subscribed server (fan-out). Default "2us".
    #[serde(default = "d_fanout")]
    pub publish_per_subscriber: Duration,
    /// With mode "gateway": the gateway nodes holding the connections, named gateway-1 ..
    /// gateway-N, users spread over them in turn; a fault may kill one (kill = "gateway-1"),
    /// and its clients reconnect to another. Default 2.
    pub gateways: Option<u32>,
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
    /// How long a pre-signed URL stays valid after the server signs it. S3 checks it when a PUT begins, so a PUT begun in time finishes however long it takes; a part, or a PUT sent again after a drop, begun later is refused (403). Default "5m".
    #[serde(default = "d_url_expiry")]
    pub url_expiry: Duration,
    /// Pre-signed uploads in parts of this size (S3 multipart: one signed PUT per part, sent one after another; at least "5MB"). Omitted: one PUT per file.
    #[serde(default)]
    pub part_size: Option<ByteSize>,
    /// How often a client's connection to S3 drops while it sends (Poisson, per hour of sending): the client reconnects after a second and sends that PUT again, the whole file or one part. Default 0.
    #[serde(default)]
    pub drops_per_hour: f64,
    /// With an expired URL before its next PUT, the client asks the server for a fresh one (a round trip) instead of failing. Default false.
    #[serde(default)]
    pub refresh_expired_url: bool,
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

fn d_ws_channels() -> WsChannels {
    WsChannels::Broadcast
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

fn d_url_expiry() -> Duration {
    dur("5m")
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
