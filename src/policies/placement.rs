//! Where the state of uploads and WebSockets lives. These are read from model files,
//! so their names are the model's (kebab-case).
//!
//! The enums carry plain comments, not doc comments: a doc comment would become a
//! description in the model's JSON Schema (`statesim schema`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// Where WebSocket connections live: each server, servers bridged by Redis pub/sub, or a gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WsMode {
    None,
    Local,
    Pubsub,
    Gateway,
}

impl WsMode {
    pub fn name(self) -> &'static str {
        match self {
            WsMode::None => "none",
            WsMode::Local => "local",
            WsMode::Pubsub => "pubsub",
            WsMode::Gateway => "gateway",
        }
    }
}

// How servers subscribe to Redis pub/sub: every server to one broadcast channel, or each
// server to the channels of the users it holds (user_b_inbox).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WsChannels {
    Broadcast,
    PerUser,
}

// Where uploaded files go: the server's disk, S3 through the server, or S3 straight from the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UploadStore {
    None,
    LocalDisk,
    ThroughServer,
    Presigned,
}

// How a chat client holds its line to the servers: a long poll (a request held until a
// message or the poll timeout, then asked again) or a WebSocket (held until it drops).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ChatTransport {
    LongPoll,
    Websocket,
}

// Where a message waits for its receiver: in the memory of the server that took it, or
// in Redis (a list per user, with a pub/sub channel per user telling the server that
// holds the receiver's request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mailbox {
    Local,
    Redis,
}

// How a server holds open requests: a thread each (a fixed pool with an accept queue),
// or an event loop that holds any number of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ServerThreads {
    ThreadPerRequest,
    EventDriven,
}
