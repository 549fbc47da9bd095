//! How a store is copied to its replicas, and where reads go.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How Redis copies its writes to a replica.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicationMode {
    /// One Redis and no replica: if it dies, a replacement starts empty.
    #[default]
    None,
    /// The primary answers at once and streams each write to the replica, which applies
    /// it a replication lag later: writes not yet applied there die with the primary.
    Async,
    /// The primary answers a write only once the replica has it (WAIT 1): a write pays
    /// the lag, and no acknowledged write is lost with the primary.
    Sync,
}

/// Where the database's reads go when it has read replicas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReadFrom {
    /// Every read to a replica, whatever the reader just wrote.
    #[default]
    Replicas,
    /// Every read to the primary: the replicas serve nothing.
    Primary,
    /// A user's reads go to the primary for a while after that user's write, the rest to
    /// a replica.
    PrimaryAfterWrite,
}

impl ReplicationMode {
    /// Whether the Redis has a replica to promote.
    pub fn has_replica(self) -> bool {
        self != ReplicationMode::None
    }
}
