//! Scheduled faults.

use super::RawDist;
use crate::scenario::units::Duration;
use schemars::JsonSchema;
use serde::Deserialize;

/// A fault at a time. One action per entry.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub at: Duration,
    /// Kill this server ("server-3"): its queued and in-flight requests fail. Or kill a
    /// WebSocket gateway ("gateway-1", with websockets.mode = "gateway"): its connections drop.
    pub kill: Option<String>,
    /// Start the killed server (or gateway) again this long after the kill (a server then boots for `servers.boot_time`).
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
