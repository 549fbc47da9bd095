//! The metric catalog: every metric a run reports, declared once with its key, label,
//! unit, population and one-line definition.
//!
//! A run's metrics travel as a flat [`Metrics`](super::Metrics) map of string keys; this
//! module is what those keys mean. The comparison table, the charts, `index.html`, the
//! walkthroughs, `statesim check` and the sweep charts all take their labels and units
//! from here, so they cannot drift apart, and a test checks that the keys declared here
//! are exactly the keys the bundled models produce.
//!
//! Three families are declared once rather than key by key:
//! - distributions ([`Distribution`]): `<prefix>.{mean,p50,p90,p99,p999,max}` in ms;
//! - failures by reason ([`FAILED`]): `failed.<reason>`, one per [`FailReason`];
//! - per-server figures ([`ServerFigure`]): `server.<name>.<figure>` in the map, which is
//!   their serialized form; code reads them typed, as [`ServerFigures`].
//!
//! A producer writes `m.put(&REQUESTS_SENT, x)` (the [`Put`] trait on the map), a
//! distribution with `recorder::put_distribution(m, &LATENCY_MS, ..)` and a failure with
//! `m.put(failed(reason), n)` and a server's figures with `m.put_server(&figures)`; no key
//! is spelled outside this module. A consumer holds
//! `&REQUESTS_SENT` and shows its `label` and `unit`.

use super::FailReason;

/// What a metric's numbers are, and so how they are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A whole number of things: `1,893`.
    Count,
    /// A fraction, shown in percent: `9.9%`.
    Share,
    /// Milliseconds.
    Ms,
    /// Seconds.
    Secs,
    /// Events per second, rounded to a whole number.
    PerSec,
    /// Megabytes (10^6 bytes).
    Megabytes,
    /// Bytes, rounded to a whole number.
    Bytes,
    /// Money, in dollars (the currency of the model's prices).
    Dollars,
    /// A plain number: a ratio or a mean count (instances, pushes per message, cost).
    Number,
}

impl Unit {
    /// What a label adds to name the unit (`latency p99 (ms)`); nothing for counts,
    /// rates and plain numbers, whose labels say what they count. A share's cells carry
    /// their `%`, so it adds nothing here either; see [`Metric::axis_title`].
    pub fn suffix(self) -> &'static str {
        match self {
            Unit::Ms => " (ms)",
            Unit::Secs => " (s)",
            Unit::Megabytes => " (MB)",
            Unit::Bytes => " (bytes)",
            Unit::Dollars => " ($)",
            Unit::Count | Unit::Share | Unit::PerSec | Unit::Number => "",
        }
    }
}

/// Whom or what a metric counts or averages over. Requests are those sent after the
/// warm-up, and counts are of events after it, unless a definition says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Population {
    /// Every request sent, whatever its outcome.
    Requests,
    /// Requests that got an ok response.
    OkRequests,
    /// Requests that got a response, ok or failed (a client timeout is one, at the
    /// timeout); only requests still in flight at the end are left out.
    Responses,
    /// Requests that got an ok response and were ordinary pages (no upload, no job).
    OkPages,
    /// Requests that reached a server's workers (served, whether they waited or not).
    ServedRequests,
    /// Requests that carried a session or token and had it checked.
    AuthenticatedRequests,
    /// Requests checked against the rate limit.
    RateCheckedRequests,
    /// The requests of the abusive client in the rate-limit model.
    AbuserRequests,
    /// One value per server.
    PerServer,
    /// The servers of the fleet together.
    Servers,
    /// Users (active users, or users whose sessions were checked).
    Users,
    /// Shopping carts.
    Carts,
    /// Long jobs submitted by clients.
    Jobs,
    /// Chat messages (WebSockets, long polling), and the chat's requests.
    Messages,
    /// File uploads.
    Uploads,
    /// Requests that read an uploaded file.
    FileReads,
    /// Uploaded files.
    Files,
    /// Users fired during the run (revocation).
    FiredUsers,
    /// Redis commands and keys.
    Redis,
    /// Database queries.
    Database,
    /// Rate-limit counters.
    RateLimitKeys,
    /// Instances of a fleet that scales or deploys.
    Instances,
    /// Requests as their users see them (client retries): the first attempt and its
    /// retries together, sent after the warm-up.
    ClientRequests,
    /// The run as a whole.
    Run,
}

/// One metric: the key it has in [`Metrics`](super::Metrics) and how to show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    pub key: &'static str,
    /// A short label without its unit: a table row, a chart panel's title.
    pub label: &'static str,
    pub unit: Unit,
    pub population: Population,
    /// One line saying exactly what is measured.
    pub definition: &'static str,
}

impl Metric {
    /// The label with its unit, as a table row names it: `latency p99 (ms)`.
    pub fn heading(&self) -> String {
        format!("{}{}", self.label, self.unit.suffix())
    }

    /// The label with its unit for a chart axis, where shares are drawn in percent:
    /// `busiest server's share (%)`.
    pub fn axis_title(&self) -> String {
        if self.unit == Unit::Share { format!("{} (%)", self.label) } else { self.heading() }
    }
}

/// How a producer writes into a [`Metrics`](super::Metrics) map: by a metric's
/// declaration, never by a key of its own.
pub trait Put {
    /// Sets `metric` to `value`.
    fn put(&mut self, metric: &Metric, value: f64);
    /// Sets a server's figures under their keys, `server.<name>.<figure>` (the map's
    /// serialized form; code reads the typed [`ServerFigures`]).
    fn put_server(&mut self, server: &ServerFigures);
}

impl Put for super::Metrics {
    fn put(&mut self, metric: &Metric, value: f64) {
        self.insert(metric.key.to_string(), value);
    }

    fn put_server(&mut self, server: &ServerFigures) {
        for figure in ServerFigure::ALL {
            self.insert(server_key(&server.name, figure), server.get(figure));
        }
    }
}

/// Declares metrics with fixed keys, as statics, and lists them in [`PLAIN`].
macro_rules! metrics {
    ($($name:ident: $key:literal, $label:literal, $unit:ident, $pop:ident, $def:literal;)*) => {
        $(
            #[doc = concat!("`", $key, "`: ", $def)]
            pub static $name: Metric = Metric { key: $key, label: $label, unit: Unit::$unit, population: Population::$pop, definition: $def };
        )*
        /// Every metric with a fixed key, in declaration order.
        pub static PLAIN: &[&Metric] = &[$(&$name),*];
    };
}

metrics! {
    // Requests.
    REQUESTS_SENT: "requests.sent", "requests sent", Count, Requests, "requests sent after the warm-up";
    REQUESTS_OK: "requests.ok", "requests ok", Count, Requests, "requests that got an ok response";
    REQUESTS_FAILED: "requests.failed", "failed requests", Count, Requests, "requests that failed, for any reason (see failed.<reason>)";
    REQUESTS_IN_FLIGHT: "requests.in_flight", "requests in flight at the end", Count, Requests, "requests with no outcome yet when the run ended: sent = ok + failed + in flight";
    REQUESTS_OK_SHARE: "requests.ok_share", "ok", Share, Requests, "ok responses as a share of requests sent";
    REQUESTS_RETRIED: "requests.retried_after_failure", "retried after a 502", Count, Requests, "idempotent requests on a killed server that the load balancer retried on another, in the whole run (warm-up included)";
    WAITED_FRACTION: "waited_fraction", "requests that waited", Share, ServedRequests, "share of served requests that queued for a worker before service (P(wait))";
    THROUGHPUT_OK_PER_S: "throughput_ok_per_s", "ok responses per second", PerSec, OkRequests, "ok responses per second of the statistics window";
    PAGE_LATENCY_P50: "page_latency_ms.p50", "page latency p50, ok responses", Ms, OkPages, "median latency of ordinary requests (no upload, no job) that got an ok response, where uploads or jobs share the servers";
    PAGE_LATENCY_P99: "page_latency_ms.p99", "page latency p99, ok responses", Ms, OkPages, "99th percentile latency of ordinary requests (no upload, no job) that got an ok response";
    // The fleet of servers.
    SERVERS_UTILISATION_MEAN: "servers.utilisation_mean", "server utilisation", Share, Servers, "share of worker time held by requests while in service: busy worker time summed over the servers, over their workers' time up (an instance never launched, or a server's downtime, counts for nothing)";
    SERVERS_UTILISATION_MIN: "servers.utilisation_min", "least busy server's utilisation", Share, Servers, "utilisation of the least busy server, each over its own time in service (servers never up left out)";
    SERVERS_UTILISATION_MAX: "servers.utilisation_max", "busiest server's utilisation", Share, Servers, "utilisation of the busiest server, each over its own time in service";
    SERVERS_CPU_MEAN: "servers.cpu_mean", "server CPU", Share, Servers, "share of CPU time spent on requests while in service: CPU time summed over the servers, over their cores' time up (an instance never launched, or a server's downtime, counts for nothing)";
    REQUESTS_RETRIED_ON_ANOTHER_SERVER: "requests.retried_on_another_server", "retried on another server", Count, Requests, "requests the load balancer sent again to another server after theirs refused the connection or died with them";
    REQUESTS_RETRY_TOP_SERVER: "requests.retry_top_server", "server that took most retries", Count, Requests, "the number N of server-N, the server that took the most of those retries (0: there were none)";
    REQUESTS_RETRY_TOP_SERVER_SHARE: "requests.retry_top_server_share", "retries on that server", Share, Requests, "the share of those retries that server took";
    SERVERS_ROUTED_SHARE_MAX: "servers.routed_share_max", "busiest server's share", Share, Servers, "the largest share of the requests the load balancer routed to one server (retries included): a hot spot's load";
    SERVERS_SHARE_MAX: "servers.share_max", "busiest server's share of completions", Share, Servers, "the largest share of the completed requests that one server completed (a dead or refusing server completes less than it was sent)";
    SERVERS_THREADS_HELD_MEAN: "servers.threads_held_mean", "server threads held, mean", Number, Servers, "workers held by requests at a time, summed over the servers and averaged over time";
    HEALTH_PROBES_FAILED: "health.probes_failed_running", "health probes a running server failed", Count, Servers, "health probes of running servers that failed after the warm-up: the probe met a full queue, or its wait behind the queued work passed the probe's timeout";
    HEALTH_MARKED_DOWN: "health.marked_down_running", "running servers marked down", Count, Servers, "times health checks took a running (overloaded) server out of rotation after the warm-up";
    HEALTH_REPLACED: "health.replaced", "servers replaced by health checks", Count, Servers, "running servers that health checks took out of rotation and that were then terminated and replaced (their memory lost), after the warm-up";
    // The run.
    RUN_WINDOW_S: "run.window_s", "statistics window", Secs, Run, "seconds from the end of the warm-up to the end of the run";
    ENGINE_EVENTS: "engine.events", "events simulated", Count, Run, "events the engine processed in the whole run";
    // Sessions.
    SESSIONS_LOGINS: "sessions.logins", "logins", Count, Users, "logins performed, first ones and those forced by a lost session, in the whole run (warm-up included)";
    SESSIONS_LOGOUTS_STATE_LOST: "sessions.logouts_state_lost", "logouts, session state lost", Count, Users, "times a user's session was lost while still valid (its server died or was stopped, or the request landed on a server without it) and they had to log in again, in the whole run (warm-up included)";
    SESSIONS_LOGOUTS_EXPIRED: "sessions.logouts_expired", "logouts, session expired", Count, Users, "times a user's session or token reached the end of its lifetime and they logged in again (a JWT: refreshed it), noticed by the client or by the server checking it, in the whole run (warm-up included)";
    SESSIONS_LOGOUTS_REVOKED: "sessions.logouts_revoked", "logouts, revoked", Count, FiredUsers, "fired users turned away (401) at least once: their session or token refused, or their login denied";
    SESSIONS_STATE_LOST_USERS: "sessions.state_lost_users", "users whose session was lost", Count, Users, "active users who lost a still valid session at least once (state lost: its server died or was stopped, or they landed elsewhere; expiry and revocation not counted)";
    SESSIONS_STATE_LOST_SHARE: "sessions.state_lost_share", "active users whose session was lost", Share, Users, "users whose session was lost (state lost) as a share of the active users";
    SESSIONS_PROXY_STATE_LOST_USERS: "sessions.proxy_state_lost_users", "NAT users whose session was lost", Count, Users, "active users behind a proxy group (one corporate NAT's few IPs) who lost a still valid session at least once";
    SESSIONS_PROXY_STATE_LOST_SHARE: "sessions.proxy_state_lost_share", "active NAT users whose session was lost", Share, Users, "NAT users whose session was lost as a share of the active users behind proxy groups";
    SESSIONS_DIRECT_STATE_LOST_SHARE: "sessions.direct_state_lost_share", "active users not behind a NAT whose session was lost", Share, Users, "users not behind a proxy group whose session was lost, as a share of such active users";
    SESSIONS_ACTIVE_USERS: "sessions.active_users", "active users", Count, Users, "users who sent at least one request after the warm-up";
    // Carts.
    CARTS_LOST: "carts.lost", "carts lost", Count, Carts, "carts with items that vanished (their server died or forgot them), in the whole run (warm-up included)";
    CARTS_ITEMS_LOST: "carts.items_lost", "cart items lost", Count, Carts, "items in the carts that were lost, in the whole run (warm-up included)";
    CARTS_MERGES: "carts.merges", "carts merged at login", Count, Carts, "guest carts merged into the account's cart at login, in the whole run (warm-up included)";
    CARTS_MERGE_CONFLICTS: "carts.merge_conflicts", "cart merge conflicts", Count, Carts, "merges where both the guest cart and the account's saved cart held items, in the whole run (warm-up included)";
    CARTS_VISITS_ABANDONED: "carts.visits_abandoned", "visits abandoned", Count, Carts, "guest visits that ended without a checkout, in the whole run (warm-up included)";
    CARTS_GUEST_WRITES_WASTED: "carts.guest_writes_wasted", "DB writes on abandoned carts", Count, Carts, "database writes of guest carts whose visit was abandoned, in the whole run (warm-up included)";
    // The database and Redis.
    DATABASE_READS: "database.reads", "database reads", Count, Database, "database read queries, in the whole run (warm-up included)";
    DATABASE_WRITES: "database.writes", "database writes", Count, Database, "database write queries, in the whole run (warm-up included)";
    DATABASE_UTILISATION: "database.utilisation", "database utilisation", Share, Database, "share of the connection pool's time held by queries (with read replicas: the primary's pool)";
    DATABASE_CART_READS: "database.cart_reads", "cart reads", Count, Database, "reads of a user's cart (a page showing it), after the warm-up";
    DATABASE_STALE_READS: "database.stale_reads", "stale cart reads", Count, Database, "cart reads a read replica served before the user's own latest cart write had reached it, after the warm-up";
    DATABASE_STALE_READ_SHARE: "database.stale_read_share", "share of cart reads stale", Share, Database, "stale cart reads as a share of all cart reads";
    DATABASE_READS_AFTER_WRITE: "database.reads_after_write", "first cart reads after a write", Count, Database, "the first read of a user's cart after that user's cart write (an item added, a cart merged), after the warm-up";
    DATABASE_STALE_AFTER_WRITE_SHARE: "database.stale_after_write_share", "first read after a write stale", Share, Database, "of the first cart reads after a user's cart write (an item added, a cart merged), the share that did not show it: read-your-writes broken";
    DATABASE_PRIMARY_READ_SHARE: "database.primary_read_share", "reads on the primary", Share, Database, "share of database reads the primary served rather than a read replica, after the warm-up";
    DATABASE_REPLICA_UTILISATION: "database.replica_utilisation", "read replica utilisation", Share, Database, "share of a read replica's connection pool time held by queries, averaged over the replicas";
    REDIS_OPS: "redis.ops", "Redis ops", Count, Redis, "Redis commands served";
    REDIS_OPS_PER_S: "redis.ops_per_s", "Redis ops per second", PerSec, Redis, "Redis commands served per second of the statistics window";
    REDIS_REFUSED: "redis.refused", "Redis commands refused", Count, Redis, "Redis commands refused because Redis was down";
    REDIS_UTILISATION: "redis.utilisation", "Redis utilisation", Share, Redis, "share of time Redis's command thread was busy";
    REDIS_KEYS: "redis.keys", "Redis keys", Count, Redis, "keys held in Redis at the end of the run";
    REDIS_FAILOVER_LOST_WRITES: "redis.failover.lost_writes", "writes lost in the failover", Count, Redis, "writes the Redis primary had applied and answered that the promoted replica never got (still on their way when the primary died); with no replica, every key the primary held";
    REDIS_FAILOVER_LOST_SESSIONS: "redis.failover.lost_sessions", "sessions lost in the failover", Count, Redis, "of the writes lost in the failover, sessions stored at login";
    REDIS_FAILOVER_LOST_BANS: "redis.failover.lost_bans", "bans lost in the failover", Count, Redis, "of the writes lost in the failover, bans: a revoked session's deletion or a token's blocklist entry";
    REDIS_FAILOVER_LOST_COUNTER_WRITES: "redis.failover.lost_counter_writes", "counter writes lost in the failover", Count, Redis, "of the writes lost in the failover, rate-limit counter updates";
    REDIS_FAILOVER_LOST_WRITES_EXPECTED: "redis.failover.lost_writes_expected", "writes lost, expected (rate x lag)", Number, Redis, "the primary's writes per second from the warm-up until it died, times the mean replication lag: what an asynchronous replica is expected to lose";
    // The fleet over time.
    FLEET_COST_PER_HOUR: "fleet.cost_per_hour", "cost per hour", Dollars, Instances, "what the fleet's running instances cost, averaged per hour of the whole run (warm-up included; on-demand and spot prices)";
    FLEET_INSTANCES_MEAN: "fleet.instances_mean", "instances, mean", Number, Instances, "running instances, averaged over the statistics window";
    FLEET_INSTANCES_MAX: "fleet.instances_max", "instances, max", Count, Instances, "the most instances running at once";
    FLEET_SCALE_OUTS: "fleet.scale_outs", "scale-outs", Count, Instances, "instances the autoscaler launched";
    FLEET_SCALE_INS: "fleet.scale_ins", "scale-ins", Count, Instances, "instances the autoscaler removed";
    FLEET_SPOT_INTERRUPTIONS: "fleet.spot_interruptions", "spot interruptions", Count, Instances, "spot instances reclaimed by the provider";
    FLEET_SPOT_SHARE_OF_HOURS: "fleet.spot_share_of_hours", "spot share of instance hours", Share, Instances, "share of the instance hours of the whole run (warm-up included) that ran on spot";
    FLEET_SCALE_OUT_LAG_S: "fleet.scale_out_lag_s", "scale-out lag after the step", Secs, Instances, "seconds from the step in load to the first added instance in rotation (-1: none was added)";
    DEPLOY_DURATION_S: "deploy.duration_s", "deploy duration", Secs, Instances, "seconds from the start of the rolling deploy to its end (-1: it did not finish)";
    DEPLOY_SESSIONS_LOST: "deploy.sessions_lost", "sessions lost in the deploy", Count, Users, "sessions lost while still valid because the deploy stopped the server holding them (state lost)";
    DEPLOY_REQUESTS_FAILED: "deploy.requests_failed", "requests failed in the deploy", Count, Requests, "requests that failed because the deploy stopped their server";
    // Client retries.
    RETRY_GOODPUT_PER_S: "retry.goodput_per_s", "goodput", PerSec, ClientRequests, "requests that ended ok (after any retries), per second of the window";
    RETRY_GOODPUT_BEFORE_PER_S: "retry.goodput_before_per_s", "goodput before the fault", PerSec, ClientRequests, "requests that ended ok per second, from the warm-up's end to the first fault";
    RETRY_GOODPUT_AFTER_SHARE: "retry.goodput_after_share", "goodput after the fault is gone", Share, ClientRequests, "requests that ended ok per second from 30 s after the last fault is gone (a server back in service, Redis back) to the end, as a share of the goodput before the fault";
    RETRY_RECOVERY_S: "retry.recovery_s", "recovery time", Secs, ClientRequests, "seconds from the moment the last fault is gone until goodput over the next 10 s is back to 90% of the goodput before the fault (the rest of the run when it never is)";
    RETRY_RECOVERED: "retry.recovered", "runs that recovered", Share, Run, "runs in which goodput came back to 90% of its level before the fault (see retry.recovery_s)";
    RETRY_REQUESTS: "retry.requests", "requests, first attempts", Count, ClientRequests, "requests clients started (first attempts), including those the breaker failed at once";
    RETRY_GAVE_UP: "retry.gave_up", "requests given up", Count, ClientRequests, "requests that failed on their last allowed attempt, or whose retry the budget or the breaker refused";
    RETRY_RETRIES_SENT: "retry.retries_sent", "retries sent", Count, ClientRequests, "attempts after the first that clients sent";
    RETRY_AMPLIFICATION: "retry.amplification", "attempts per request", Number, ClientRequests, "attempts sent (first attempts and retries) per request started: the load amplification";
    RETRY_AMPLIFICATION_AFTER: "retry.amplification_after", "attempts per request after the fault", Number, ClientRequests, "attempts per request for requests started from 30 s after the last fault is gone";
    RETRY_BUDGET_DENIED: "retry.budget_denied", "retries refused by the budget", Count, ClientRequests, "retries the retry budget refused (the request failed instead)";
    RETRY_BREAKER_REJECTED: "retry.breaker_rejected", "failed fast by the breaker", Count, ClientRequests, "requests and retries the open circuit breaker failed at once, without sending them";
    RETRY_BREAKER_OPENINGS: "retry.breaker_openings", "breaker openings", Count, Run, "times the circuit breaker opened";
    RETRY_DUPLICATE_EXECUTIONS: "retry.duplicate_executions", "requests executed twice or more", Count, ClientRequests, "requests whose work a server completed more than once (a timed-out attempt still ran, and a retry ran too): harmless for idempotent requests, a double charge for a payment";
    // WebSockets.
    WS_MESSAGES_SENT: "ws.messages_sent", "messages sent", Count, Messages, "WebSocket messages users sent";
    WS_DELIVERED: "ws.delivered", "messages delivered", Count, Messages, "messages that reached their receiver";
    WS_DROPPED: "ws.dropped", "messages dropped", Count, Messages, "messages that never reached their receiver";
    WS_LOST_DISCONNECTED: "ws.lost_disconnected", "lost to a dropped connection", Count, Messages, "messages dropped because their sender or receiver was between a lost connection and the next (part of the messages dropped)";
    WS_DELIVERED_SHARE: "ws.delivered_share", "share of messages delivered", Share, Messages, "messages delivered as a share of messages sent";
    WS_LATENCY_P50: "ws.latency_p50_ms", "message latency p50, delivered", Ms, Messages, "median time from sending a message to its delivery, over delivered messages (dropped ones are left out; see ws.dropped)";
    WS_LATENCY_P99: "ws.latency_p99_ms", "message latency p99, delivered", Ms, Messages, "99th percentile time from sending a message to its delivery, over delivered messages";
    WS_RECONNECTS: "ws.reconnects", "reconnects", Count, Users, "WebSocket clients reconnecting after losing their server or gateway node";
    WS_RECONNECTS_PEAK_PER_S: "ws.reconnects_peak_per_s", "peak reconnects per second", Count, Users, "the most reconnects in any one second of the run (warm-up included)";
    WS_PUBSUB_PUSHES_PER_S: "ws.pubsub_pushes_per_s", "pub/sub pushes per second", PerSec, Messages, "messages Redis pushed to subscribed servers per second of the statistics window (a message to n subscribers counts n)";
    WS_PUBSUB_RECEIPTS_PER_MESSAGE: "ws.pubsub_receipts_per_message", "pub/sub pushes per message", Number, Messages, "servers a published message was pushed to, on average";
    // Chat over requests held open (long polling, or WebSockets on the same workload).
    LP_MESSAGES_SENT: "lp.messages_sent", "chat messages sent", Count, Messages, "chat messages users sent (long polling model)";
    LP_DELIVERED: "lp.delivered", "chat messages delivered", Count, Messages, "chat messages that reached their receiver";
    LP_DELIVERED_SHARE: "lp.delivered_share", "share of chat messages delivered", Share, Messages, "chat messages delivered by the end of the run as a share of those sent (the rest were lost, or still waiting in a mailbox)";
    LP_LATENCY_P50: "lp.latency_p50_ms", "chat delivery p50, delivered", Ms, Messages, "median time from sending a chat message to its delivery, over delivered messages";
    LP_LATENCY_P99: "lp.latency_p99_ms", "chat delivery p99, delivered", Ms, Messages, "99th percentile time from sending a chat message to its delivery, over delivered messages";
    LP_LOST_IN_MEMORY: "lp.lost_in_server_memory", "lost with a server's memory", Count, Messages, "chat messages waiting in a server's memory (its local mailbox, or taken from Redis and not yet answered) when it died";
    LP_LOST_TO_CUT: "lp.lost_to_cut_requests", "lost into a cut request", Count, Messages, "chat messages a server answered into a request the load balancer had already closed at its idle timeout (the server did not know)";
    LP_REQUESTS_PER_S: "lp.requests_per_s", "chat HTTP requests per second", PerSec, Messages, "HTTP requests the chat's clients opened per second: polls, message POSTs and WebSocket upgrades, retries included";
    LP_REQUESTS_PER_DELIVERED: "lp.requests_per_delivered", "HTTP requests per delivered message", Number, Messages, "the chat's HTTP requests (polls, POSTs, upgrades) per chat message delivered";
    LP_EMPTY_POLL_SHARE: "lp.empty_poll_share", "long polls answered empty", Share, Messages, "long polls the server answered with no message at the poll timeout, as a share of the polls it answered";
    LP_CUT_BY_LB: "lp.cut_by_lb", "requests cut at the idle timeout", Count, Messages, "held requests (long polls, or WebSocket upgrades waiting for a thread) the load balancer closed after its idle timeout with nothing sent";
    LP_RETRIES: "lp.retries", "chat requests asked again", Count, Messages, "times a chat client opened its request again after one was refused, reset by a kill or cut by the load balancer";
    LP_HELD_PER_SERVER: "lp.held_per_server", "requests held open per server", Number, Servers, "open requests (long polls or WebSockets, including those the load balancer had cut) a server held on average";
    LP_THREADS_BUSY_SHARE: "lp.threads_busy_share", "server threads busy", Share, Servers, "thread-per-request servers: the share of their threads held by a request, on average";
    LP_WAITING_PEAK: "lp.waiting_for_thread_peak", "most requests waiting for a thread", Count, Servers, "thread-per-request servers: the longest accept queue any server had";
    LP_REFUSED: "lp.refused", "chat requests refused, no thread", Count, Messages, "chat requests a thread-per-request server refused with every thread busy and its accept queue full";
    LP_SEND_WAIT_P99: "lp.send_wait_p99_ms", "message POST wait for a thread p99", Ms, Messages, "thread-per-request servers: 99th percentile time a message's POST waited in the accept queue for a thread";
    // Uploads and file reads.
    UPLOADS_COUNT: "uploads.count", "uploads", Count, Uploads, "uploads completed";
    UPLOADS_LATENCY_P50: "uploads.latency_p50_ms", "upload latency p50, completed", Ms, Uploads, "median time for a client to complete an upload, over completed uploads (failed ones are left out)";
    UPLOADS_LATENCY_P99: "uploads.latency_p99_ms", "upload latency p99, completed", Ms, Uploads, "99th percentile time for a client to complete an upload, over completed uploads";
    UPLOADS_SERVER_MB: "uploads.server_mb", "uploaded through the servers", Megabytes, Uploads, "upload bytes that passed through the web servers";
    UPLOADS_SERVER_WORKER_S: "uploads.server_worker_s", "server thread time on uploads", Secs, Uploads, "worker-seconds the web servers spent holding uploads";
    UPLOADS_SERVER_CPU_S: "uploads.server_cpu_s", "server CPU time on uploads", Secs, Uploads, "CPU-seconds the web servers spent on uploads";
    UPLOADS_INTERRUPTED_RESENT_MB: "uploads.interrupted_resent_mb", "MB of interrupted uploads sent again", Megabytes, Uploads, "megabytes the uploads cut off by a kill had already sent to the dying server (the client sends them again)";
    UPLOADS_INTERRUPTED: "uploads.interrupted", "uploads interrupted by a kill", Count, Uploads, "uploads whose transfer was passing through a server when it died (the client must start again)";
    UPLOADS_URL_EXPIRED_SHARE: "uploads.url_expired_share", "uploads failed on an expired URL", Share, Uploads, "uploads whose pre-signed URL had expired when the client began a PUT (they fail with 403), as a share of the uploads that completed or failed so";
    UPLOADS_URL_REFRESHES: "uploads.url_refreshes", "fresh URLs after one expired", Count, Uploads, "times a client whose pre-signed URL had expired asked the server for a new one before its next PUT";
    UPLOADS_CONNECTION_DROPS: "uploads.connection_drops", "connections to S3 dropped", Count, Uploads, "times a client's connection to S3 dropped during a PUT (the client sends that PUT again: the whole file, or one part)";
    UPLOADS_DROPPED_RESENT_MB: "uploads.dropped_resent_mb", "MB sent again after drops", Megabytes, Uploads, "megabytes a dropped PUT had already sent to S3 before the drop (the client sends them again)";
    UPLOADS_EXPIRED_WASTED_MB: "uploads.expired_wasted_mb", "MB sent by uploads that expired", Megabytes, Uploads, "megabytes sent to S3 by uploads that then failed on an expired URL";
    UPLOADS_S3_SLOWDOWNS: "uploads.s3_slowdowns", "S3 slowdowns", Count, Uploads, "S3 PUTs answered 503 SlowDown (over the per-prefix rate) and retried, in the whole run (warm-up included)";
    READS_OK: "reads.ok", "file reads ok", Count, FileReads, "reads of an uploaded file that found it";
    READS_NOT_FOUND: "reads.not_found", "file reads not found", Count, FileReads, "reads of an uploaded file that got 404 (the server asked did not have it)";
    READS_NOT_FOUND_SHARE: "reads.not_found_share", "share of file reads not found", Share, FileReads, "reads that got 404 as a share of all file reads";
    FILES_STORED: "files.stored", "files stored", Count, Files, "files uploaded after the warm-up";
    FILES_LOST: "files.lost", "uploaded files lost", Count, Files, "uploaded files gone with their server's disk";
    // Long jobs.
    JOBS_SUBMITTED: "jobs.submitted", "jobs submitted", Count, Jobs, "jobs clients submitted";
    JOBS_ACCEPTED: "jobs.accepted", "jobs accepted", Count, Jobs, "jobs accepted for processing (queued with 202, or started in the request)";
    JOBS_COMPLETED: "jobs.completed", "jobs completed", Count, Jobs, "jobs processed to the end";
    JOBS_COMPLETED_AFTER_CLIENT_LEFT: "jobs.completed_after_client_left", "job results nobody received", Count, Jobs, "jobs finished after their client had timed out: results nobody received";
    JOBS_IN_PROGRESS_AT_END: "jobs.in_progress_at_end", "jobs in progress at the end", Count, Jobs, "accepted jobs neither completed nor lost when the run ended";
    JOBS_LOST: "jobs.lost", "jobs lost", Count, Jobs, "accepted jobs that will never complete (their server or worker died with them)";
    JOBS_RUN_TWICE: "jobs.run_twice", "jobs run twice", Count, Jobs, "jobs delivered again after their visibility timeout and processed a second time";
    JOBS_CPU_WASTED_S: "jobs.cpu_wasted_s", "CPU wasted on jobs", Secs, Jobs, "CPU-seconds spent on jobs whose result was lost or nobody received";
    JOBS_COMPLETION_P50_S: "jobs.completion_p50_s", "job completion p50", Secs, Jobs, "median time from submitting a job to its completion";
    JOBS_COMPLETION_P99_S: "jobs.completion_p99_s", "job completion p99", Secs, Jobs, "99th percentile time from submitting a job to its completion";
    JOBS_QUEUE_DEPTH_MEAN: "jobs.queue_depth_mean", "job queue depth, mean", Number, Jobs, "jobs waiting in the queue, averaged over time";
    JOBS_QUEUE_DEPTH_MAX: "jobs.queue_depth_max", "job queue depth, max", Count, Jobs, "the most jobs waiting in the queue at once";
    // Rate limits.
    RATELIMIT_ABUSER_SENT: "ratelimit.abuser_sent", "abuser requests sent", Count, AbuserRequests, "requests the abusive client sent";
    RATELIMIT_ABUSER_ALLOWED: "ratelimit.abuser_allowed", "abuser requests allowed", Count, AbuserRequests, "requests of the abusive client the limit let through";
    RATELIMIT_ABUSER_ALLOWED_PER_WINDOW: "ratelimit.abuser_allowed_per_window", "abuser allowed per window", Number, AbuserRequests, "abuser requests let through per limit window, on average";
    RATELIMIT_ABUSER_MAX_ALIGNED_WINDOW: "ratelimit.abuser_max_aligned_window", "abuser, most in one aligned window", Count, AbuserRequests, "the most abuser requests let through in one window aligned to the clock";
    RATELIMIT_ABUSER_MAX_SLIDING_WINDOW: "ratelimit.abuser_max_sliding_window", "abuser, most in any sliding window", Count, AbuserRequests, "the most abuser requests let through in any window-long span";
    RATELIMIT_USERS_REJECTED: "ratelimit.users_rejected", "ordinary requests rejected", Count, RateCheckedRequests, "requests of ordinary users the limit rejected";
    RATELIMIT_NAT_USERS_REJECTED: "ratelimit.nat_users_rejected", "requests rejected behind a NAT", Count, RateCheckedRequests, "requests of users behind a shared proxy IP the limit rejected";
    RATELIMIT_WRONGLY_REJECTED: "ratelimit.wrongly_rejected", "users under the limit rejected", Count, RateCheckedRequests, "requests rejected although their own user was under the limit";
    RATELIMIT_ALLOWED_WHILE_REDIS_DOWN: "ratelimit.allowed_while_redis_down", "allowed while Redis was down", Count, RateCheckedRequests, "requests let through unchecked (fail open) while Redis was down";
    RATELIMIT_KEYS: "ratelimit.keys", "rate-limit keys", Count, RateLimitKeys, "counters live just before the end of the run";
    RATELIMIT_BYTES_PER_KEY: "ratelimit.bytes_per_key", "memory per key", Bytes, RateLimitKeys, "memory a live counter takes, on average";
    RATELIMIT_KEYS_WITHOUT_TTL: "ratelimit.keys_without_ttl", "counters left without a TTL", Count, RateLimitKeys, "counters in Redis that will never expire (a crash between INCR and EXPIRE)";
    // Revocation.
    REVOCATION_FIRED: "revocation.fired", "users fired", Count, FiredUsers, "users fired (banned) during the run";
    REVOCATION_EXPOSURE_MEAN_S: "revocation.exposure_mean_s", "exposure after a ban, mean", Secs, FiredUsers, "seconds from a ban until no server accepts the fired user's session or token (the ban has reached every server's check, or the token has expired), averaged over fired users; one still open at the end counts to the end";
    REVOCATION_EXPOSURE_MAX_S: "revocation.exposure_max_s", "exposure after a ban, max", Secs, FiredUsers, "the longest time from a ban until no server accepts the fired user's session or token";
    REVOCATION_ACCEPTED_AFTER_BAN: "revocation.accepted_after_ban", "requests accepted after a ban", Count, FiredUsers, "requests of fired users whose session or token a server accepted after the ban (a fired user keeps trying until no server accepts it)";
    REVOCATION_ACCEPTED_PER_FIRED_USER: "revocation.accepted_per_fired_user", "accepted after a ban, per fired user", Number, FiredUsers, "requests accepted after the ban per fired user, on average";
    REVOCATION_LOOKUPS: "revocation.lookups", "revocation lookups", Count, AuthenticatedRequests, "lookups of a token's or session's revocation (a blocklist or the session store), in the whole run (warm-up included)";
    REVOCATION_ACCEPTED_AFTER_IN_FORCE: "revocation.accepted_after_in_force", "accepted after the ban held", Count, FiredUsers, "requests of fired users accepted after their ban had reached every server: the store lost the ban, or a blocklist check failed open while Redis was down";
    REVOCATION_LOOKUPS_PER_REQUEST: "revocation.lookups_per_request", "revocation lookups per request", Number, Requests, "revocation lookups in the whole run per request sent after the warm-up";
    REVOCATION_BLOCKLIST_ENTRIES_MEAN: "revocation.blocklist_entries_mean", "blocklist entries, mean when full", Number, FiredUsers, "JWT blocklist entries live in Redis, averaged from one token lifetime after the first ban to the last ban (Little's law: entries added per second x their mean TTL)";
    REVOCATION_BLOCKLIST_ENTRIES_MAX: "revocation.blocklist_entries_max", "blocklist entries, max", Count, FiredUsers, "the most JWT blocklist entries live in Redis at once";
    REVOCATION_BLOCKLIST_ADDS_PER_S: "revocation.blocklist_adds_per_s", "blocklist entries added per second", Number, FiredUsers, "JWT blocklist entries written per second over the same span as the mean";
    REVOCATION_BLOCKLIST_TTL_MEAN_S: "revocation.blocklist_ttl_mean_s", "blocklist entry TTL, mean", Secs, FiredUsers, "the mean TTL of a JWT blocklist entry: its token's remaining lifetime at the ban";
}

/// The statistics of a distribution, as key suffixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    Mean,
    P50,
    P90,
    P99,
    P999,
    Max,
}

impl Stat {
    pub const ALL: [Stat; 6] = [Stat::Mean, Stat::P50, Stat::P90, Stat::P99, Stat::P999, Stat::Max];
    /// The key's last part: `p999`.
    pub fn suffix(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P99 => "p99",
            Stat::P999 => "p999",
            Stat::Max => "max",
        }
    }
}

/// A distribution in milliseconds: six metrics `<prefix>.{mean,p50,p90,p99,p999,max}`
/// over one population.
#[derive(Debug)]
pub struct Distribution {
    pub prefix: &'static str,
    pub label: &'static str,
    pub population: Population,
    pub definition: &'static str,
    pub mean: Metric,
    pub p50: Metric,
    pub p90: Metric,
    pub p99: Metric,
    pub p999: Metric,
    pub max: Metric,
}

impl Distribution {
    pub fn stat(&'static self, stat: Stat) -> &'static Metric {
        match stat {
            Stat::Mean => &self.mean,
            Stat::P50 => &self.p50,
            Stat::P90 => &self.p90,
            Stat::P99 => &self.p99,
            Stat::P999 => &self.p999,
            Stat::Max => &self.max,
        }
    }

    /// The six metrics, in [`Stat::ALL`] order.
    pub fn members(&'static self) -> [&'static Metric; 6] {
        Stat::ALL.map(|s| self.stat(s))
    }
}

/// Declares a distribution: its six members share the prefix, label, population and
/// definition. A member's label is the distribution's, its statistic, then the
/// population where the label must say it (`latency p99, ok responses`).
macro_rules! distribution {
    ($name:ident: $prefix:literal, $label:literal, $pop:ident, $def:literal) => {
        distribution!($name: $prefix, $label, "", $pop, $def);
    };
    ($name:ident: $prefix:literal, $label:literal, $whose:literal, $pop:ident, $def:literal) => {
        #[doc = concat!("`", $prefix, ".*`: ", $def)]
        pub static $name: Distribution = Distribution {
            prefix: $prefix,
            label: concat!($label, $whose),
            population: Population::$pop,
            definition: $def,
    mean: distribution!(@m $prefix, "mean", $label, " mean", $whose, $pop, "the mean ", $def),
    p50: distribution!(@m $prefix, "p50", $label, " p50", $whose, $pop, "the median ", $def),
    p90: distribution!(@m $prefix, "p90", $label, " p90", $whose, $pop, "the 90th percentile ", $def),
    p99: distribution!(@m $prefix, "p99", $label, " p99", $whose, $pop, "the 99th percentile ", $def),
    p999: distribution!(@m $prefix, "p999", $label, " p99.9", $whose, $pop, "the 99.9th percentile ", $def),
    max: distribution!(@m $prefix, "max", $label, " max", $whose, $pop, "the largest ", $def),
        };
    };
    (@m $prefix:literal, $suffix:literal, $label:literal, $stat:literal, $whose:literal, $pop:ident, $which:literal, $def:literal) => {
        Metric {
            key: concat!($prefix, ".", $suffix),
            label: concat!($label, $stat, $whose),
            unit: Unit::Ms,
            population: Population::$pop,
            definition: concat!($which, $def),
        }
    };
}

distribution!(LATENCY_MS: "latency_ms", "latency", ", ok responses", OkRequests, "time from sending a request to its ok response; failed requests are left out (see latency_all_ms)");
distribution!(LATENCY_ALL_MS: "latency_all_ms", "latency", ", all responses", Responses, "time from sending a request to its response, ok or failed: a failure when the client learns of it, a client timeout at the timeout (requests still in flight at the end are left out)");
distribution!(QUEUE_WAIT_MS: "queue_wait_ms", "queue wait", ServedRequests, "time a request waited for a server's worker");
distribution!(AUTH_MS: "auth_ms", "auth added", AuthenticatedRequests, "time spent checking a request's session or token");
distribution!(RATELIMIT_CHECK_MS: "ratelimit_check_ms", "limit check", RateCheckedRequests, "time spent checking a request against the rate limit");

/// Every distribution.
pub static DISTRIBUTIONS: &[&Distribution] = &[&LATENCY_MS, &LATENCY_ALL_MS, &QUEUE_WAIT_MS, &AUTH_MS, &RATELIMIT_CHECK_MS];

/// Failed requests by reason, `failed.<reason>`, in [`FailReason::ALL`] order.
pub static FAILED: [Metric; FailReason::ALL.len()] = [
    failure("failed.server_killed", "server killed (502)", "requests on a server when it died (the load balancer answers 502)"),
    failure("failed.connection_refused", "connection refused", "requests every server tried refused (dead or booting)"),
    failure("failed.overloaded_503", "queue full (503)", "requests refused because the server's queue was full"),
    failure("failed.no_healthy_server", "no healthy server", "requests the load balancer had no server in rotation for (503)"),
    failure("failed.client_timeout", "client timeout", "requests the client gave up waiting for"),
    failure("failed.redis_unavailable", "Redis unavailable", "requests that needed Redis while it refused connections"),
    failure("failed.unauthorized", "unauthorized (401)", "requests whose token or session was revoked, or whose login was denied"),
    failure("failed.rate_limited_429", "rate limited (429)", "requests over the rate limit"),
    failure("failed.not_found_404", "not found (404)", "file reads that asked a server without the file"),
    failure(
        "failed.url_expired_403",
        "URL expired (403)",
        "uploads whose pre-signed URL had expired when the client began a PUT with it (a part, or a PUT again after a dropped connection)",
    ),
];

const fn failure(key: &'static str, label: &'static str, definition: &'static str) -> Metric {
    Metric { key, label, unit: Unit::Count, population: Population::Requests, definition }
}

/// The metric counting failures for `reason`.
pub fn failed(reason: FailReason) -> &'static Metric {
    &FAILED[reason as usize]
}

/// A figure reported for every server, as `server.<name>.<figure>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerFigure {
    /// Requests the server completed.
    Requests,
    /// Its share of the completed requests.
    Share,
    /// Its share of the requests the load balancer routed (retries included).
    RoutedShare,
    /// Share of its worker time held by requests while it was in service.
    Utilisation,
    /// Share of its CPU time spent on requests while it was in service.
    Cpu,
}

impl ServerFigure {
    pub const ALL: [ServerFigure; 5] = [ServerFigure::Requests, ServerFigure::Share, ServerFigure::RoutedShare, ServerFigure::Utilisation, ServerFigure::Cpu];

    /// The key's last part.
    pub fn suffix(self) -> &'static str {
        match self {
            ServerFigure::Requests => "requests",
            ServerFigure::Share => "share",
            ServerFigure::RoutedShare => "routed_share",
            ServerFigure::Utilisation => "utilisation",
            ServerFigure::Cpu => "cpu",
        }
    }

    /// The figure as a metric, its key a pattern (`server.<name>.routed_share`).
    pub fn metric(self) -> &'static Metric {
        &SERVER_FIGURES[self as usize]
    }
}

/// The per-server figures as metrics, in [`ServerFigure::ALL`] order; their keys name the
/// pattern, for documentation.
pub static SERVER_FIGURES: [Metric; 5] = [
    per_server_metric("server.<name>.requests", "requests completed", Unit::Count, "requests the server completed"),
    per_server_metric("server.<name>.share", "share of completions", Unit::Share, "the server's share of the completed requests"),
    per_server_metric(
        "server.<name>.routed_share",
        "share of routed requests",
        Unit::Share,
        "the server's share of the requests the load balancer routed, retries included",
    ),
    per_server_metric(
        "server.<name>.utilisation",
        "utilisation",
        Unit::Share,
        "share of the server's worker time held by requests while it was up (in service); 0 if it never was",
    ),
    per_server_metric(
        "server.<name>.cpu",
        "CPU",
        Unit::Share,
        "share of the server's CPU time spent on requests while it was up (in service); 0 if it never was",
    ),
];

const fn per_server_metric(key: &'static str, label: &'static str, unit: Unit, definition: &'static str) -> Metric {
    Metric { key, label, unit, population: Population::PerServer, definition }
}

/// The key of a per-server figure: `server.server-3.routed_share`.
pub fn server_key(server: &str, figure: ServerFigure) -> String {
    format!("server.{server}.{}", figure.suffix())
}

/// One server's figures, typed: a run's values (`T = f64`, in
/// [`RunResult::servers`](super::RunResult::servers)) or a summary's estimates across
/// replications (in [`VariantSummary::servers`](super::VariantSummary::servers)).
#[derive(Clone, Debug, PartialEq)]
pub struct ServerFigures<T = f64> {
    /// The server's name as models and outputs write it: `server-3`.
    pub name: String,
    pub requests: T,
    pub share: T,
    pub routed_share: T,
    pub utilisation: T,
    pub cpu: T,
}

impl<T: Copy> ServerFigures<T> {
    pub fn get(&self, figure: ServerFigure) -> T {
        match figure {
            ServerFigure::Requests => self.requests,
            ServerFigure::Share => self.share,
            ServerFigure::RoutedShare => self.routed_share,
            ServerFigure::Utilisation => self.utilisation,
            ServerFigure::Cpu => self.cpu,
        }
    }

    /// The figures of server `name`, each given by `value`.
    pub fn from_fn(name: String, mut value: impl FnMut(ServerFigure) -> T) -> Self {
        ServerFigures {
            name,
            requests: value(ServerFigure::Requests),
            share: value(ServerFigure::Share),
            routed_share: value(ServerFigure::RoutedShare),
            utilisation: value(ServerFigure::Utilisation),
            cpu: value(ServerFigure::Cpu),
        }
    }
}

/// Every metric with a key of its own: the plain ones, each distribution's members and
/// each failure reason (per-server figures are patterns; see [`SERVER_FIGURES`]).
pub fn all() -> impl Iterator<Item = &'static Metric> {
    PLAIN.iter().copied().chain(DISTRIBUTIONS.iter().flat_map(|d| d.members())).chain(FAILED.iter())
}

/// The declaration of a key, if the catalog has one (a per-server figure by its pattern,
/// `server.<name>.cpu`).
pub fn find(key: &str) -> Option<&'static Metric> {
    all().chain(SERVER_FIGURES.iter()).find(|m| m.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keys_follow_the_reasons() {
        for reason in FailReason::ALL {
            assert_eq!(failed(reason).key, format!("failed.{}", reason.key()));
        }
    }

    #[test]
    fn the_recorder_writes_a_distribution_under_its_declared_keys() {
        let h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 1_000_000, 3).unwrap();
        let mut m = super::super::Metrics::new();
        super::super::recorder::put_distribution(&mut m, &LATENCY_MS, &h, 0);
        let written: Vec<&str> = m.keys().map(String::as_str).collect();
        let mut declared: Vec<&str> = LATENCY_MS.members().iter().map(|d| d.key).collect();
        declared.sort();
        assert_eq!(written, declared);
    }

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = all().map(|m| m.key).collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    /// One figure, one label: no two metrics share a heading, so a table row or a
    /// definition names exactly one figure.
    #[test]
    fn headings_are_unique() {
        let mut seen: std::collections::BTreeMap<String, &str> = std::collections::BTreeMap::new();
        for m in all() {
            if let Some(other) = seen.insert(m.heading(), m.key) {
                panic!("{} and {other} are both shown as {:?}", m.key, m.heading());
            }
        }
    }

    #[test]
    fn a_servers_figures_are_written_under_their_keys() {
        let server = ServerFigures::from_fn("server-2".into(), |f| f as usize as f64);
        let mut m = super::super::Metrics::new();
        m.put_server(&server);
        assert_eq!(m.len(), ServerFigure::ALL.len());
        assert_eq!(m[&server_key("server-2", ServerFigure::RoutedShare)], server.routed_share);
        assert_eq!(server.get(ServerFigure::Cpu), 4.0);
        assert_eq!(find("server.<name>.cpu"), Some(ServerFigure::Cpu.metric()));
        assert_eq!(find("latency_ms.p999").map(|m| m.label), Some("latency p99.9, ok responses"));
        assert_eq!(find("latency_all_ms.p99").map(|m| m.label), Some("latency p99, all responses"));
        assert_eq!(find("queue_wait_ms.mean").map(|m| m.label), Some("queue wait mean"));
        assert!(find("latency_ms.p99_9").is_none());
    }
}
