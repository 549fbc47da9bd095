//! The model file as written: serde types with documented defaults.
//!
//! These are the only types deserialized from TOML. Unknown keys are rejected. They
//! are resolved into the typed [`super::model::System`] by [`super::model::resolve`], which
//! checks everything serde cannot (ranges, references to servers, sizes).
//! `statesim schema` prints their JSON Schema, so editors and docs see the same truth.
//!
//! One file per family of sections: `traffic` (run, clients, network, load balancer,
//! servers), `state` (sessions, Redis, database, carts, revocation, rate limit),
//! `playbook` (jobs, uploads, S3, WebSockets, autoscaling), `retries` (client retries), `long_polling` (chat over held requests), `faults`, and `values`
//! (distributions and "off"-able durations shared by all of them).

mod faults;
mod long_polling;
mod playbook;
mod retries;
mod state;
mod traffic;
mod values;

pub use faults::*;
pub use long_polling::*;
pub use playbook::*;
pub use retries::*;
pub use state::*;
pub use traffic::*;
pub use values::*;

use super::units::Duration;
use crate::policies::FailMode;
use schemars::JsonSchema;
use serde::Deserialize;

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
    /// What a reader should take away, with `{VARIANT:METRIC}` placeholders filled from
    /// the run, e.g. "{redis:auth_ms.p50} per request".
    pub takeaway: Option<String>,
    /// Comparisons the takeaway states, checked on the run and shown beside it, e.g.
    /// "a:carts.lost > 10 * b:carts.lost" (<, <=, >, >=, ==).
    #[serde(default)]
    pub takeaway_checks: Vec<String>,
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
    /// JWT signing and verification costs per algorithm.
    #[serde(default)]
    pub jwt: RawJwt,
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
    /// Client retries after a failure or a timeout (absent: clients do not retry).
    pub client_retries: Option<RawClientRetries>,
    /// Chat over long polls or WebSockets, with the server's threads and the mailbox
    /// counted (absent: no chat of this kind).
    pub long_polling: Option<RawLongPolling>,
    /// Scheduled faults, each at a time with one action.
    #[serde(default)]
    pub faults: Vec<RawFault>,
}

fn dur(s: &str) -> Duration {
    Duration(super::units::parse_duration(s).expect("valid default"))
}

fn d_zero() -> Duration {
    dur("0s")
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

fn d_fail_open() -> FailMode {
    FailMode::Open
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
