//! Where state lives: sessions, Redis, the database, carts, revocation, rate limits.

use super::{RawDist, d_fail_open, d_true, dur};
use crate::policies::{
    Algorithm, BlocklistMode, CartStoreKind, FailMode, JwtAlgorithm, LimitCommands, LimitKey, LimitStore, ReadFrom, ReplicationMode, SessionStoreKind,
};
use crate::scenario::units::{Duration, Rate};
use schemars::JsonSchema;
use serde::Deserialize;

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

/// What signing and verifying a JWT costs on a server's CPU, per algorithm. Defaults
/// were measured with the `jsonwebtoken` crate; `statesim calibrate` measures this machine.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJwt {
    /// HS256 (HMAC-SHA256). Defaults: verify "1.5us", sign "1.3us".
    #[serde(default)]
    pub hs256: RawJwtCost,
    /// RS256 (RSA 2048). Defaults: verify "27us", sign "665us".
    #[serde(default)]
    pub rs256: RawJwtCost,
    /// ES256 (ECDSA P-256). Defaults: verify "77us", sign "42us".
    #[serde(default)]
    pub es256: RawJwtCost,
    /// EdDSA (Ed25519). Defaults: verify "54us", sign "59us".
    #[serde(default)]
    pub eddsa: RawJwtCost,
}

/// One algorithm's costs; a key left out keeps its default.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJwtCost {
    /// CPU time to verify one token, e.g. "1.5us".
    pub verify: Option<Duration>,
    /// CPU time to sign one token, e.g. "1.3us".
    pub sign: Option<Duration>,
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
    /// A replica: "none" (if Redis dies, a replacement starts empty), "async" (writes reach
    /// the replica `replication_lag` after the primary answered) or "sync" (WAIT: a write is
    /// answered once the replica has it). Default "none".
    #[serde(default)]
    pub replication: ReplicationMode,
    /// Time from a write applied on the primary until the replica has applied it (a
    /// distribution allowed; the stream stays in order). Only with a replica. Default "1ms".
    pub replication_lag: Option<RawDist<Duration>>,
    /// Time from the primary's death (a fault kill = "redis-primary") until the replica is
    /// promoted, or with no replica an empty replacement takes commands. Default "30s".
    pub failover_after: Option<Duration>,
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
    /// Read replicas, each with a pool of `connections`; writes go to the primary. Default 0.
    #[serde(default)]
    pub read_replicas: u32,
    /// Time from a write committed on the primary until the read replicas have it. Only
    /// with read replicas. Default "100ms".
    pub replication_lag: Option<RawDist<Duration>>,
    /// Where reads go: "replicas", "primary", or "primary-after-write" (a user's reads go to
    /// the primary for `primary_after_write` after their own write). Only with read
    /// replicas. Default "replicas".
    pub read_from: Option<ReadFrom>,
    /// With read_from = "primary-after-write": how long after a write the user's reads go
    /// to the primary. Default "1s".
    pub primary_after_write: Option<Duration>,
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
    /// Every page shows the user's cart: a database read of it (database carts). Default false.
    #[serde(default)]
    pub page_reads: bool,
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
