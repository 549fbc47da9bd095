//! What one run of a [`System`] will cost, estimated from the model alone before anything
//! runs, and refused beyond a budget.
//!
//! A model can be valid and still impossible to run: a rate of 1e9/s, a health check
//! every nanosecond, 100 million users, a queue limit of 100 million under overload. The
//! estimate is an upper bound built from the model's own numbers: each term names the key
//! that drives it, so the refusal points at that key.
//!
//! Events: requests x [`EVENTS_PER_REQUEST`] (requests = the arrival rate, or users over
//! their think time, over the run, plus each user's first request; capped by
//! `run.max_requests`), plus the abuser, WebSocket messages, firings, health-check probes,
//! blocklist refreshes, scaler ticks and spot interruptions. Memory: the simulator itself,
//! the population (bytes per user by what a user holds), requests queued under overload,
//! and the time-series buckets (at most 3600 unless the model sets `run.timeseries_step`,
//! whose cost this term then shows).
//! The per-item figures below were measured (peak RSS of runs with 1,000 and with
//! 2,000,000 users or queued requests, the difference divided by the count) and rounded up.
//!
//! The budget is per run; variants and replications multiply time, not peak memory per
//! run. [`Budget::DEFAULT`] is 1e9 events (one to two minutes at 60-100 ns per event) and
//! 8 GB; `--budget-events` and `--budget-memory` raise or lower it.

use super::diag::Problem;
use super::model::{FaultAction, System, Workload};
use crate::policies::{BlocklistMode, CartStoreKind, ChatTransport, LbPolicy, LimitKey, ServerThreads, SessionStoreKind};

/// Events one request causes, at most, over the bundled models (measured: 6 to 14.1).
pub const EVENTS_PER_REQUEST: f64 = 16.0;
/// Events of one WebSocket message (routing, delivery, pub/sub fan-out).
pub const EVENTS_PER_MESSAGE: f64 = 16.0;
/// Events of one long poll (sent, taken, its timeout, the load balancer's idle timer, the
/// answer, the Redis read of the mailbox).
pub const EVENTS_PER_POLL: f64 = 12.0;
/// Events of a chat client asking again, or sending a message again, after a refusal.
pub const EVENTS_PER_RETRY: f64 = 4.0;
/// A long-polling client, its registrations and its Redis mailbox (measured 120 bytes).
pub const BYTES_PER_USER_HELD_REQUEST: f64 = 160.0;
/// A chat message waiting for its receiver (in flight, in a mailbox or an outbox).
pub const BYTES_PER_WAITING_MESSAGE: f64 = 48.0;
/// Events of one health-check probe, blocklist refresh or firing.
pub const EVENTS_PER_TICK: f64 = 4.0;
/// A user of a closed workload: a pending think timer in the event queue (measured 86
/// bytes over 200 s, when every user has cycled; 25 bytes in a 2 s run).
pub const BYTES_PER_THINKING_USER: f64 = 96.0;
/// Per-user state when sessions, carts or cookie affinity are on (measured 34 bytes more).
pub const BYTES_PER_USER_STATE: f64 = 40.0;
/// A WebSocket connection per user (measured 8 bytes more).
pub const BYTES_PER_USER_SOCKET: f64 = 16.0;
/// A per-user key in Redis (a session) or a rate-limit counter per user, IP or API key
/// (measured 101 bytes for a local sliding log).
pub const BYTES_PER_USER_KEY: f64 = 128.0;
/// Per-user read-your-writes state with read replicas (17 bytes in three vectors).
pub const BYTES_PER_USER_READ_REPLICAS: f64 = 24.0;
/// A request waiting in a server's queue (measured 111 bytes).
pub const BYTES_PER_QUEUED_REQUEST: f64 = 128.0;
/// A time-series bucket with its latency sketch while the run goes on, and its row kept
/// for `timeseries.csv` after (measured 1.5 KB with 1 s and 1.6 KB with 250 ms buckets on
/// crash-test; rounded up for buckets whose latencies span more octaves). Without an
/// explicit `run.timeseries_step` a run has at most 3600 buckets, under 15 MB.
pub const BYTES_PER_BUCKET: f64 = 4096.0;
/// The simulator itself: code, metrics, topology (measured 10 to 13 MB).
pub const BASE_BYTES: f64 = 16e6;

/// The most one run may be estimated to cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub events: f64,
    pub memory_bytes: f64,
}

impl Budget {
    pub const DEFAULT: Budget = Budget { events: 1e9, memory_bytes: 8e9 };
}

impl Default for Budget {
    fn default() -> Self {
        Budget::DEFAULT
    }
}

/// One part of an estimate: the key that drives it, what it counts, and how much.
#[derive(Debug, Clone)]
pub struct Term {
    pub path: &'static str,
    pub what: String,
    pub amount: f64,
    /// How to make it smaller, e.g. "lower clients.arrival_rate or run.duration".
    pub advice: String,
}

/// The estimated cost of one run.
#[derive(Debug, Clone)]
pub struct Estimate {
    pub events: Vec<Term>,
    pub memory: Vec<Term>,
}

impl Estimate {
    pub fn total_events(&self) -> f64 {
        self.events.iter().map(|t| t.amount).sum()
    }
    pub fn total_bytes(&self) -> f64 {
        self.memory.iter().map(|t| t.amount).sum()
    }
}

/// Requests per second a model can send at most.
fn request_rate(s: &System) -> (f64, &'static str) {
    match &s.clients.workload {
        Workload::Open { rate_per_sec } => (rate_per_sec * s.clients.profile.map_or(1.0, |p| p.max_factor()), "clients.arrival_rate"),
        Workload::Closed { think_time } => {
            // A user's cycle is at least its think time plus the network round trip.
            let n = &s.network;
            let cycle_ns = think_time.mean() + 2.0 * (n.client_to_lb.mean() + n.lb_to_server.mean()) + s.load_balancer.latency.mean();
            (s.clients.users as f64 / (cycle_ns.max(1.0) / 1e9), "clients.think_time")
        }
    }
}

/// The estimate for one run of `s`.
pub fn estimate(s: &System) -> Estimate {
    let secs = s.run.duration.as_secs_f64();
    let mut events = Vec::new();
    let mut memory = Vec::new();

    let (rate, rate_key) = request_rate(s);
    let mut requests = rate * secs;
    if let Workload::Closed { .. } = s.clients.workload {
        // Every user's first request, which comes even when a cycle is longer than the run.
        requests += s.clients.users as f64;
    }
    let mut capped = "";
    if let Some(max) = s.run.max_requests {
        let cap = rate * s.run.warmup.as_secs_f64() + max as f64;
        if cap < requests {
            requests = cap;
            capped = ", capped by run.max_requests";
        }
    }
    events.push(Term {
        path: rate_key,
        what: format!("{} requests ({} per second for {}{capped}) x {EVENTS_PER_REQUEST} events", sci(requests), sci(rate), s.run.duration),
        amount: requests * EVENTS_PER_REQUEST,
        advice: match s.clients.workload {
            Workload::Open { .. } => "lower clients.arrival_rate, shorten run.duration or set run.max_requests".into(),
            Workload::Closed { .. } => "lengthen clients.think_time or lower clients.users, shorten run.duration or set run.max_requests".into(),
        },
    });
    if let Some(a) = &s.clients.abuser {
        let n = a.rate_per_sec * secs;
        events.push(Term {
            path: "clients.abuser.rate",
            what: format!("{} abuser requests x {EVENTS_PER_REQUEST} events", sci(n)),
            amount: n * EVENTS_PER_REQUEST,
            advice: "lower clients.abuser.rate or shorten run.duration".into(),
        });
    }
    if let Some(ws) = &s.websockets {
        let n = s.clients.users as f64 * ws.messages_per_user_per_sec * secs;
        events.push(Term {
            path: "websockets.message_rate",
            what: format!("{} WebSocket messages ({} users) x {EVENTS_PER_MESSAGE} events", sci(n), s.clients.users),
            amount: n * EVENTS_PER_MESSAGE,
            advice: "lower websockets.message_rate or shorten run.duration".into(),
        });
    }
    if let Some(lp) = &s.long_polling {
        let users = s.clients.users as f64;
        let messages = users * lp.messages_per_user_per_sec * secs;
        events.push(Term {
            path: "long_polling.message_rate",
            what: format!("{} chat messages ({} users) x {EVENTS_PER_MESSAGE} events", sci(messages), s.clients.users),
            amount: messages * EVENTS_PER_MESSAGE,
            advice: "lower long_polling.message_rate or shorten run.duration".into(),
        });
        // Every message ends a poll; besides, a poll ends at its timeout or the load
        // balancer's idle timeout, whichever comes first.
        let polls = users
            + messages
            + match lp.transport {
                ChatTransport::LongPoll => users * secs / lp.poll_timeout.min(lp.lb_idle_timeout).as_secs_f64().max(1e-9),
                ChatTransport::Websocket => 0.0,
            };
        events.push(Term {
            path: "long_polling.poll_timeout",
            what: format!("{} polls or connections x {EVENTS_PER_POLL} events", sci(polls)),
            amount: polls * EVENTS_PER_POLL,
            advice: "lengthen long_polling.poll_timeout, lower clients.users or shorten run.duration".into(),
        });
        // While requests are refused, every client and every message not yet handed over
        // is tried again each retry_after: all the run on thread-per-request servers (or
        // when servers come and go), otherwise while a killed server is down.
        let t = refusing_secs(s, lp.server).min(secs);
        let retries = (users + users * lp.messages_per_user_per_sec * t) * t / lp.retry_after.as_secs_f64().max(1e-9);
        events.push(Term {
            path: "long_polling.retry_after",
            what: format!("{} requests asked again over {t:.0} s of refusals x {EVENTS_PER_RETRY} events", sci(retries)),
            amount: retries * EVENTS_PER_RETRY,
            advice: "lengthen long_polling.retry_after, use server = \"event-driven\" or shorten run.duration".into(),
        });
    }
    if s.revocation.fire_rate_per_sec > 0.0 {
        let n = s.revocation.fire_rate_per_sec * s.revocation.fire_until.min(s.run.duration).as_secs_f64();
        events.push(Term {
            path: "revocation.fire_rate",
            what: format!("{} firings x {EVENTS_PER_TICK} events", sci(n)),
            amount: n * EVENTS_PER_TICK,
            advice: "lower revocation.fire_rate or shorten run.duration".into(),
        });
    }
    let fleet = s.fleet.max.max(s.servers.count) as f64;
    if let Some(hc) = &s.load_balancer.health_check {
        let n = fleet * secs / hc.interval.as_secs_f64().max(1e-9);
        events.push(Term {
            path: "load_balancer.health_check.interval",
            what: format!("{} health-check probes ({fleet} servers every {}) x {EVENTS_PER_TICK} events", sci(n), hc.interval),
            amount: n * EVENTS_PER_TICK,
            advice: "lengthen load_balancer.health_check.interval or shorten run.duration".into(),
        });
    }
    if s.sessions.store == SessionStoreKind::Jwt && s.sessions.blocklist == BlocklistMode::Cached {
        let n = fleet * secs / s.sessions.blocklist_refresh.as_secs_f64().max(1e-9);
        events.push(Term {
            path: "sessions.blocklist_refresh",
            what: format!("{} blocklist refreshes x {EVENTS_PER_TICK} events", sci(n)),
            amount: n * EVENTS_PER_TICK,
            advice: "lengthen sessions.blocklist_refresh or shorten run.duration".into(),
        });
    }
    if s.fleet.autoscale {
        let n = secs / s.fleet.metric_period.as_secs_f64().max(1e-9) * (1.0 + fleet);
        events.push(Term {
            path: "autoscaling.metric_period",
            what: format!("{} scaler measurements", sci(n)),
            amount: n,
            advice: "lengthen autoscaling.metric_period or shorten run.duration".into(),
        });
    }
    if s.fleet.spot_share > 0.0 {
        let n = fleet * s.fleet.spot_share * s.fleet.spot_interruptions_per_sec * secs;
        events.push(Term {
            path: "autoscaling.spot_interruptions",
            what: format!("{} spot interruptions x {EVENTS_PER_TICK} events", sci(n)),
            amount: n * EVENTS_PER_TICK,
            advice: "lower autoscaling.spot_interruptions or shorten run.duration".into(),
        });
    }

    memory.push(Term { path: "", what: "the simulator itself".into(), amount: BASE_BYTES, advice: String::new() });
    let mut per_user = 0.0;
    let mut parts: Vec<String> = Vec::new();
    let mut add = |bytes: f64, why: &str| {
        per_user += bytes;
        parts.push(format!("{bytes} {why}"));
    };
    if matches!(s.clients.workload, Workload::Closed { .. }) {
        add(BYTES_PER_THINKING_USER, "for a pending think timer");
    }
    if s.sessions.store != SessionStoreKind::None || s.carts.store != CartStoreKind::None || s.load_balancer.policy == LbPolicy::Cookie {
        add(BYTES_PER_USER_STATE, "of session, cart or cookie state");
    }
    if s.websockets.is_some() {
        add(BYTES_PER_USER_SOCKET, "for a WebSocket connection");
    }
    if s.long_polling.is_some() {
        add(BYTES_PER_USER_HELD_REQUEST, "for a held request and its mailbox");
    }
    if s.sessions.store == SessionStoreKind::Redis {
        add(BYTES_PER_USER_KEY, "for a session key in Redis");
    }
    let limited = s.rate_limit.as_ref().is_some_and(|r| matches!(r.key, LimitKey::User | LimitKey::Ip | LimitKey::ApiKey));
    if limited {
        add(BYTES_PER_USER_KEY, "for a rate-limit counter");
    }
    if s.redis.replication.has_replica() {
        // The replica holds its own copy of every key.
        if s.sessions.store == SessionStoreKind::Redis {
            add(BYTES_PER_USER_KEY, "for the replica's copy of a session key");
        }
        if limited {
            add(BYTES_PER_USER_KEY, "for the replica's copy of a counter");
        }
    }
    if s.database.read_replicas > 0 {
        add(BYTES_PER_USER_READ_REPLICAS, "for when a user's own writes reach the read replicas");
    }
    if per_user > 0.0 {
        let users = s.clients.users as f64;
        memory.push(Term {
            path: "clients.users",
            what: format!("{} users x {per_user} bytes ({})", s.clients.users, parts.join(", ")),
            amount: users * per_user,
            advice: "simulate fewer users and scale the rates".into(),
        });
    }
    if let Some(lp) = &s.long_polling {
        // At worst every message of the run is still waiting at its end.
        let messages = s.clients.users as f64 * lp.messages_per_user_per_sec * secs;
        memory.push(Term {
            path: "long_polling.message_rate",
            what: format!("{} chat messages waiting x {BYTES_PER_WAITING_MESSAGE} bytes", sci(messages)),
            amount: messages * BYTES_PER_WAITING_MESSAGE,
            advice: "lower long_polling.message_rate or shorten run.duration".into(),
        });
    }
    let rho = s.offered_load();
    if rho >= 1.0 {
        let capacity = s.servers.queue_limit as f64 * fleet;
        let waiting = match &s.clients.workload {
            Workload::Open { .. } => rate * (1.0 - 1.0 / rho) * secs,
            Workload::Closed { .. } => s.clients.users as f64,
        };
        let queued = capacity.min(waiting);
        memory.push(Term {
            path: "servers.queue_limit",
            what: format!("{} requests queued under an offered load of {:.0}% x {BYTES_PER_QUEUED_REQUEST} bytes", sci(queued), rho * 100.0),
            amount: queued * BYTES_PER_QUEUED_REQUEST,
            advice: "lower servers.queue_limit or the offered load".into(),
        });
    }
    let buckets = (secs / s.run.timeseries_step.as_secs_f64().max(1e-9)).ceil();
    memory.push(Term {
        path: "run.timeseries_step",
        what: format!("{} time-series buckets of {} x {BYTES_PER_BUCKET} bytes", sci(buckets), s.run.timeseries_step),
        amount: buckets * BYTES_PER_BUCKET,
        advice: "lengthen run.timeseries_step, or leave it out for at most 3600 buckets".into(),
    });
    Estimate { events, memory }
}

/// Seconds in which a chat's requests may be refused: the whole run where threads run out
/// or servers come and go, otherwise the time killed servers are down or booting.
fn refusing_secs(s: &System, server: ServerThreads) -> f64 {
    let secs = s.run.duration.as_secs_f64();
    let replaces = s.load_balancer.health_check.as_ref().is_some_and(|h| h.replace);
    if server == ServerThreads::ThreadPerRequest || s.fleet.autoscale || s.fleet.deploy.is_some() || s.fleet.spot_share > 0.0 || replaces {
        return secs;
    }
    s.faults
        .iter()
        .map(|f| match f.action {
            FaultAction::Kill { restart_after, .. } => restart_after.map_or(secs - f.at.as_secs_f64(), |r| r.as_secs_f64() + s.servers.boot_time.as_secs_f64()),
            _ => 0.0,
        })
        .sum()
}

/// The budget problems of one run of `s`, each at the key of its largest term.
pub fn check(s: &System, budget: &Budget) -> Vec<Problem> {
    let e = estimate(s);
    let mut problems = Vec::new();
    let biggest = |terms: &[Term]| terms.iter().max_by(|a, b| a.amount.total_cmp(&b.amount)).cloned().expect("an estimate has terms");
    let events = e.total_events();
    if events.is_nan() || events > budget.events {
        let t = biggest(&e.events);
        problems.push(at_key(
            t.path,
            format!(
                "one run of this model would take about {} events (roughly {} at 100 ns per event), over the budget of {} events per run",
                sci(events),
                human_time(events * 100e-9),
                sci(budget.events)
            ),
            Some(format!("most of it is {}; {}, or raise the budget with --budget-events {}", t.what, t.advice, sci_up(events))),
        ));
    }
    let bytes = e.total_bytes();
    if bytes.is_nan() || bytes > budget.memory_bytes {
        let t = biggest(&e.memory);
        problems.push(at_key(
            t.path,
            format!("one run of this model would need about {} of memory, over the budget of {} per run", human_bytes(bytes), human_bytes(budget.memory_bytes)),
            Some(format!("most of it is {}; {}, or raise the budget with --budget-memory {}", t.what, t.advice, human_bytes_up(bytes))),
        ));
    }
    problems
}

fn at_key(path: &str, message: String, help: Option<String>) -> Problem {
    if path.is_empty() { Problem::at_span(None, message, help) } else { Problem::at_path(path, message, help) }
}

/// A count for people: 12345 stays, 3.6e9 is short.
pub fn sci(x: f64) -> String {
    if x.is_finite() && x.abs() < 1e6 { format!("{}", (x * 100.0).round() / 100.0) } else { format!("{x:.1e}") }
}

/// `x` rounded up to two significant digits, written like `sci`, for a flag value that
/// lets the run through.
fn sci_up(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let scale = 10f64.powi(x.log10().floor() as i32 - 1);
    let up = (x / scale).ceil() * scale;
    if up < 1e6 { format!("{up:.0}") } else { format!("{up:.1e}") }
}

/// A size for people: "12.3GB".
pub fn human_bytes(b: f64) -> String {
    for (unit, scale) in [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)] {
        if b >= scale {
            return if b >= 1e15 { format!("{b:.1e} bytes") } else { format!("{:.1}{unit}", b / scale) };
        }
    }
    format!("{b:.0}B")
}

fn human_bytes_up(b: f64) -> String {
    if b >= 1e15 || !b.is_finite() {
        return human_bytes(b);
    }
    let gb = (b / 1e9 * 10.0).ceil() / 10.0;
    format!("{gb:.1}GB")
}

fn human_time(secs: f64) -> String {
    match secs {
        s if !s.is_finite() || s > 3.2e9 => "more than a century".into(),
        s if s >= 86400.0 * 2.0 => format!("{:.0} days", s / 86400.0),
        s if s >= 7200.0 => format!("{:.0} hours", s / 3600.0),
        s if s >= 120.0 => format!("{:.0} minutes", s / 60.0),
        s => format!("{s:.0} seconds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(sci(12345.0), "12345");
        assert_eq!(sci(3.6e9), "3.6e9");
        assert_eq!(sci_up(3.61e9), "3.7e9");
        assert_eq!(human_bytes(12.34e9), "12.3GB");
        assert_eq!(human_bytes_up(12.34e9), "12.4GB");
        assert_eq!(human_time(600.0), "10 minutes");
    }

    fn system(sets: &[&str], budget: &Budget) -> Result<System, crate::scenario::ModelErrors> {
        let text = "schema_version = 1\n[clients]\narrival_rate = \"1/s\"\n";
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        crate::scenario::load_str_with("m.toml", "m", text, &sets, budget).map(|m| m.variants[0].system.clone())
    }

    fn bucket_bytes(s: &System) -> f64 {
        estimate(s).memory.iter().find(|t| t.path == "run.timeseries_step").expect("a time-series term").amount
    }

    #[test]
    fn the_time_series_costs_at_most_3600_buckets_unless_the_model_sets_a_step() {
        for d in ["40s", "10m", "1h", "4h", "24h", "100d"] {
            let s = system(&[&format!("run.duration=\"{d}\"")], &Budget::DEFAULT).unwrap();
            assert!(bucket_bytes(&s) <= 3600.0 * BYTES_PER_BUCKET, "{d}");
        }
        // An explicit step is honoured, and costs what its buckets cost.
        let fine = system(&["run.duration=\"24h\"", "run.timeseries_step=\"100ms\""], &Budget::DEFAULT).unwrap();
        assert_eq!(fine.run.timeseries_step, crate::engine::SimDuration::from_millis(100));
        assert_eq!(bucket_bytes(&fine), 864_000.0 * BYTES_PER_BUCKET);
        let tight = Budget { events: 1e9, memory_bytes: 1e9 };
        let refused = system(&["run.duration=\"24h\"", "run.timeseries_step=\"100ms\""], &tight).unwrap_err().to_string();
        assert!(refused.contains("run.timeseries_step") && refused.contains("864000 time-series buckets of 100ms"), "{refused}");
        assert!(system(&["run.duration=\"24h\""], &tight).is_ok(), "the default step fits");
    }

    /// A closed workload whose cycle is longer than the run still sends every user's first
    /// request (found by the mutation test: a load-balancer latency of 4294967296 ms gave
    /// an estimate of 2,907 events for a run of 24,256).
    #[test]
    fn each_users_first_request_is_in_the_estimate() {
        let text = "schema_version = 1\n[run]\nduration = \"1m\"\nwarmup = \"0s\"\n[clients]\nusers = 5000\nthink_time = \"10s\"\n[load_balancer]\nlatency = \"1000h\"\n";
        let model = crate::scenario::load_str("slow.toml", "slow", text, &[]).unwrap();
        let system = &model.variants[0].system;
        let run = crate::sweep::run_once(system, 0);
        let events = run.metrics[crate::metrics::catalog::ENGINE_EVENTS.key];
        assert!(events >= 5000.0, "{events}");
        assert!(estimate(system).total_events() >= events, "estimate {} < {events} events", estimate(system).total_events());
    }
}
