//! Chat over requests held open: long polls (or WebSockets, on the same workload), the
//! server threads they hold, and where a message waits for its receiver.

use super::dur;
use crate::policies::{ChatTransport, Mailbox, ServerThreads};
use crate::scenario::units::{Duration, Rate};
use schemars::JsonSchema;
use serde::Deserialize;

/// Every user keeps a request open to the servers and messages other users.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLongPolling {
    /// "long-poll" (a request held until a message arrives or `poll_timeout` passes, then
    /// asked again) or "websocket" (a connection held until it drops). Default "long-poll".
    #[serde(default = "d_transport")]
    pub transport: ChatTransport,
    /// Messages each user sends, to another user drawn at random. Default "1/min".
    #[serde(default = "d_rate")]
    pub message_rate: Rate,
    /// With "long-poll": the server answers a poll with no message after this long.
    /// Default "30s".
    pub poll_timeout: Option<Duration>,
    /// Where a message waits for its receiver: "local" (the memory of the server that took
    /// it; the receiver gets it only from that server) or "redis" (a list per user in
    /// Redis, and a pub/sub channel per user telling the server that holds the receiver's
    /// request). Default "redis".
    #[serde(default = "d_mailbox")]
    pub mailbox: Mailbox,
    /// "thread-per-request" (every open request holds one of `threads` threads; the rest
    /// wait in an accept queue of `accept_queue`, and beyond it are refused) or
    /// "event-driven" (an event loop holds any number). Default "event-driven".
    #[serde(default = "d_server")]
    pub server: ServerThreads,
    /// Threads per server, with "thread-per-request". Default 200.
    pub threads: Option<u32>,
    /// Requests that may wait for a thread on each server, with "thread-per-request".
    /// Default 100.
    pub accept_queue: Option<u32>,
    /// After a refused, reset or cut request, a client waits this long before asking again
    /// (a message it could not send is sent again then). Default "1s".
    #[serde(default = "d_retry_after")]
    pub retry_after: Duration,
}

fn d_transport() -> ChatTransport {
    ChatTransport::LongPoll
}
fn d_rate() -> Rate {
    Rate { per_sec: 1.0 / 60.0 }
}
fn d_mailbox() -> Mailbox {
    Mailbox::Redis
}
fn d_server() -> ServerThreads {
    ServerThreads::EventDriven
}
fn d_retry_after() -> Duration {
    dur("1s")
}
