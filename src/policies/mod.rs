//! Policies: the decisions of the web tier as plain data with pure functions, so that
//! a variant differs from another by a value in a model file, not by code.

pub mod client_retry;
pub mod lb;
pub mod placement;
pub mod rate_limit;
pub mod replication;
pub mod session;

pub use client_retry::Backoff;
pub use lb::{Choices, HashRing, LbPolicy, RetryTarget};
pub use placement::{ChatTransport, Mailbox, ServerThreads, UploadStore, WsChannels, WsMode};
pub use rate_limit::{Algorithm, Limit, LimitCommands, LimitKey, LimitState, LimitStore};
pub use replication::{ReadFrom, ReplicationMode};
pub use session::{BlocklistMode, CartStoreKind, FailMode, JwtAlgorithm, SessionStoreKind};
