//! Interview walkthroughs: each topic asks a system-design question, gives the tempting
//! answer, runs the bundled models live, and shows in numbers what goes wrong, the
//! senior answer, and the trade-off it brings back.
//!
//! Every number in the text is read from the run. Every claim the text makes is also a
//! [`Claim`] evaluated on the same numbers; `tests/suite/walkthrough.rs` fails if any is false.

use crate::bundled;
use crate::metrics::catalog::{self as c, Metric};
use crate::metrics::{FailReason, ModelSummary, Replicates as R, Unit};
use crate::report::format;
use crate::scenario::load_str;
use crate::sweep::{RunOptions, run_summary};
use rayon::prelude::*;
use std::borrow::Borrow;
use std::cell::RefCell;

/// A topic: a bundled model's name, the names it answered to before, the interview
/// question, and the bundled models it runs.
pub struct Topic {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub question: &'static str,
    pub models: &'static [&'static str],
}

/// One topic per bundled model, named after it, in the playbook's order
/// (`crate::playbook`; a unit test keeps the two in step).
pub const TOPICS: &[Topic] = &[
    Topic {
        name: "crash-test",
        aliases: &[],
        question: "I terminate server #5 of your ten, at random. Who notices: is anyone logged out, does a cart or an upload vanish?",
        models: &["crash-test"],
    },
    Topic { name: "sticky-hashing", aliases: &[], question: "If sessions must be sticky, how should the load balancer hash?", models: &["sticky-hashing"] },
    Topic {
        name: "session-latency",
        aliases: &[],
        question: "Sessions in Redis or JWTs: which is faster, and what breaks when Redis struggles?",
        models: &["session-latency"],
    },
    Topic {
        name: "jwt-revocation",
        aliases: &["revocation"],
        question: "We use JWTs, and we just fired someone whose token is valid for another hour. How do we lock them out now?",
        models: &["jwt-revocation"],
    },
    Topic { name: "shopping-cart", aliases: &["carts"], question: "Where does a guest's shopping cart live?", models: &["shopping-cart"] },
    Topic {
        name: "state-tier",
        aliases: &[],
        question: "Your servers are stateless and the state lives in Redis and the database. What happens when that tier fails?",
        models: &["state-tier"],
    },
    Topic {
        name: "file-uploads",
        aliases: &["files"],
        question: "Users upload profile pictures and videos. Where do the files go?",
        models: &["file-uploads"],
    },
    Topic { name: "websockets", aliases: &["real-time"], question: "Add chat over WebSockets to a fleet of stateless servers.", models: &["websockets"] },
    Topic {
        name: "mega-proxy",
        aliases: &["hot-spots"],
        question: "Your biggest customer sits behind one corporate NAT. What happens to your fleet?",
        models: &["mega-proxy"],
    },
    Topic {
        name: "rate-limits",
        aliases: &[],
        question: "Limit every user to 100 requests a minute, on ten servers. Will a counter in each server's memory do?",
        models: &["rate-limits"],
    },
    Topic {
        name: "long-jobs",
        aliases: &[],
        question: "A user uploads a video that takes 10 minutes to compress, and the HTTP request times out after 30 s. How do you handle it?",
        models: &["long-jobs"],
    },
    Topic {
        name: "autoscaling",
        aliases: &["scaling"],
        question: "Traffic triples at a launch. How does the fleet keep up, and how do you deploy?",
        models: &["autoscaling"],
    },
    Topic { name: "load-balancing", aliases: &[], question: "Which load-balancing algorithm would you pick?", models: &["load-balancing"] },
];

/// One part of a walkthrough.
#[derive(Clone, Debug)]
pub struct Section {
    pub heading: &'static str,
    pub text: String,
}

/// A statement the walkthrough makes, checked against the run.
#[derive(Clone, Debug)]
pub struct Claim {
    pub text: String,
    pub holds: bool,
}

#[derive(Clone, Debug)]
pub struct Walkthrough {
    pub topic: &'static str,
    pub question: &'static str,
    /// Model name and seed of each run, for reproducing it.
    pub runs: Vec<(String, u64)>,
    pub sections: Vec<Section>,
    pub claims: Vec<Claim>,
    /// How the claims were decided: on the 95% interval over the run's replications.
    pub how_checked: String,
}

/// The topic of this name or of one of its aliases.
pub fn find(name: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.name == name || t.aliases.contains(&name))
}

fn load(name: &str) -> crate::scenario::Model {
    let b = bundled::find(name).expect("a bundled model");
    load_str(b.path, b.name, b.text, &[]).expect("bundled models validate")
}

/// How many simulations a topic runs (each variant x replication of its models), for a
/// progress bar.
pub fn run_count(topic: &Topic) -> u64 {
    topic.models.iter().map(|name| crate::sweep::run_count(&load(name), &RunOptions::default())).sum()
}

/// Metric lookups on a summary.
struct Run<'a> {
    summary: &'a ModelSummary,
    /// Reads of a metric the variant did not report.
    missing: RefCell<Vec<String>>,
}

impl Run<'_> {
    /// A metric's value in each replication of `variant`. Metrics are named by their
    /// catalog declaration, so an undeclared one does not compile; one the run did not
    /// report reads as NaN (so no comparison with it holds, not even `equals(0.0)`) and is
    /// recorded; [`run`] turns the record into a failed claim.
    fn m(&self, variant: &str, metric: &Metric) -> R {
        let s = self.summary;
        let v = s.variants.iter().find(|v| v.name == variant).unwrap_or_else(|| panic!("{} has no variant {variant}", s.model));
        let problem = match v.per_replication.get(metric.key) {
            Some(values) => return R::new(values.clone()),
            None => format!("{} did not report {} in variant {variant}", s.model, metric.key),
        };
        let mut missing = self.missing.borrow_mut();
        if !missing.contains(&problem) {
            missing.push(problem);
        }
        R::constant(f64::NAN, s.replications)
    }
}

/// A quantity as the text writes it: its mean and 95% half-width (`9.95% ± 0.07%`), or
/// "n/a" when the run did not report it.
fn shown(unit: Unit, x: &R) -> String {
    if x.values().iter().any(|v| v.is_nan()) { "n/a".to_string() } else { format::estimate(unit, &x.estimate()) }
}

/// A share, in percent.
fn pct(x: impl Borrow<R>) -> String {
    shown(Unit::Share, x.borrow())
}

/// A count: whole numbers with thousands separators; a fraction to three digits.
fn n(x: impl Borrow<R>) -> String {
    let x = x.borrow();
    let whole = x.values().iter().all(|v| v.fract() == 0.0) || x.mean().abs() >= 1000.0;
    shown(if whole { Unit::Count } else { Unit::Number }, x)
}

/// A number to three significant digits.
fn v(x: impl Borrow<R>) -> String {
    shown(Unit::Number, x.borrow())
}

fn claim(text: String, holds: bool) -> Claim {
    Claim { text, holds }
}

/// Runs a topic's models (in parallel) and writes its walkthrough.
pub fn run(topic: &Topic) -> Walkthrough {
    run_with_progress(topic, &|| {})
}

/// [`run`], calling `on_run_done` as each simulation ([`run_count`] in all) finishes.
pub fn run_with_progress(topic: &Topic, on_run_done: &(dyn Fn() + Sync)) -> Walkthrough {
    let summaries: Vec<ModelSummary> = topic.models.par_iter().map(|name| run_summary(&load(name), &RunOptions::default(), on_run_done)).collect();
    tell(topic, &summaries)
}

/// The walkthrough of a topic from summaries of its models' runs (in the order of
/// `topic.models`), for a caller that has run them already.
pub fn tell(topic: &Topic, summaries: &[ModelSummary]) -> Walkthrough {
    assert_eq!(summaries.len(), topic.models.len(), "{}: one summary per model", topic.name);
    let runs = summaries.iter().map(|s| (s.model.clone(), s.seed)).collect();
    let r = Run { summary: &summaries[0], missing: RefCell::new(Vec::new()) };
    let story = match topic.name {
        "crash-test" => crash_test(&r),
        "sticky-hashing" => sticky_hashing(&r),
        "mega-proxy" => hot_spots(&r),
        "session-latency" => session_latency(&r),
        "jwt-revocation" => revocation(&r),
        "shopping-cart" => carts(&r),
        "state-tier" => state_tier(&r),
        "rate-limits" => rate_limits(&r),
        "load-balancing" => load_balancing(&r),
        "file-uploads" => files(&r),
        "websockets" => real_time(&r),
        "long-jobs" => long_jobs(&r),
        "autoscaling" => scaling(&r),
        other => unreachable!("topic {other} has no text"),
    };
    let (sections, mut claims) = story.sections();
    for problem in r.missing.into_inner() {
        claims.push(claim(format!("the run reports every metric the text reads: {problem}"), false));
    }
    let how_checked = crate::report::takeaway::how_checked(&summaries[0]);
    Walkthrough { topic: topic.name, question: topic.question, runs, sections, claims, how_checked }
}

/// What a topic tells, part by part, and the claims its text makes. Every topic has the
/// same five parts; [`Story::sections`] gives them their headings.
struct Story {
    tempting: String,
    shows: String,
    senior: String,
    numbers: String,
    trade_off: String,
    claims: Vec<Claim>,
}

impl Story {
    fn sections(self) -> (Vec<Section>, Vec<Claim>) {
        let parts = [
            ("The tempting answer", self.tempting),
            ("What the run shows", self.shows),
            ("The senior answer", self.senior),
            ("Its numbers", self.numbers),
            ("The trade-off", self.trade_off),
        ];
        (parts.into_iter().map(|(heading, text)| Section { heading, text }).collect(), self.claims)
    }
}

fn crash_test(r: &Run) -> Story {
    let share = r.m("sticky-memory", &c::SESSIONS_STATE_LOST_SHARE);
    let users = r.m("sticky-memory", &c::SESSIONS_STATE_LOST_USERS);
    let carts = r.m("sticky-memory", &c::CARTS_LOST);
    let items = r.m("sticky-memory", &c::CARTS_ITEMS_LOST);
    let active = r.m("sticky-memory", &c::SESSIONS_ACTIVE_USERS);
    let failed: Vec<R> = ["sticky-memory", "redis", "jwt"].iter().map(|v| r.m(v, &c::REQUESTS_FAILED) + r.m(v, &c::REQUESTS_RETRIED)).collect();
    let redis_ops = r.m("redis", &c::REDIS_OPS_PER_S);
    let redis_auth = r.m("redis", &c::AUTH_MS.p50);
    let (sf, sl) = ("playbook-stateful", "playbook-stateless");
    let (sf_users, sf_carts, sf_uploads) = (r.m(sf, &c::SESSIONS_STATE_LOST_USERS), r.m(sf, &c::CARTS_LOST), r.m(sf, &c::UPLOADS_CUT_OFF));
    let (retried, top, top_share) =
        (r.m(sl, &c::REQUESTS_RETRIED_ON_ANOTHER_SERVER), r.m(sl, &c::REQUESTS_RETRY_TOP_SERVER), r.m(sl, &c::REQUESTS_RETRY_TOP_SERVER_SHARE));
    let sl_failed = r.m(sl, &c::REQUESTS_FAILED);
    let sl_sent = r.m(sl, &c::REQUESTS_SENT);
    let sl_noticed = r.m(sl, &c::SESSIONS_STATE_LOST_USERS) + r.m(sl, &c::CARTS_LOST) + r.m(sl, &c::UPLOADS_CUT_OFF);
    Story {
            tempting: "\"Sticky sessions: each user stays on one server, which keeps their session and cart in memory and the files they upload on its disk. If a server dies, the load balancer routes around it.\"".into(),
            shows: format!(
                    "5,000 users on 10 servers, some uploading 20 MB files; server-5 is terminated at minute 5. In that one run the stateful design logged out {} users, lost {} carts and cut off {} uploads in progress. The load balancer did route around the dead server, but it could not bring back what lived in it. With the model's own numbers (20,000 users, no uploads) the same kill logged out {} users ({} of the {} active users, about 1/10) and lost {} carts ({} items), though only {} requests were on server-5 at that instant.",
                    n(&sf_users), n(&sf_carts), n(&sf_uploads), n(&users), pct(&share), n(&active), n(&carts), n(&items), n(&failed[0])
                ),
            senior: "\"Keep the web tier stateless: sessions in a shared store (Redis) or in a signed token (JWT), carts in the database, files uploaded straight to S3 with a pre-signed URL. Then any server can serve any request: when one dies, the load balancer sends its requests to the next server and a dead server takes only its in-flight requests with it.\"".into(),
            numbers: format!("The stateless design under the same kill: {} requests that met the dead server (refused, or in flight on it) were retried on another server, {} of them on server-{} (the next one after server-5); nothing was lost ({} logouts, lost carts and cut-off uploads in all), and {} of {} requests failed (a request that is not idempotent is not sent twice). With the model's own numbers Redis sessions logged out {} users and JWT {}; neither lost a cart. The kill hit {} and {} requests there (idempotent ones were retried elsewhere).", n(&retried), pct(&top_share), n(&top), n(&sl_noticed), n(&sl_failed), n(&sl_sent), n(r.m("redis", &c::SESSIONS_STATE_LOST_USERS)), n(r.m("jwt", &c::SESSIONS_STATE_LOST_USERS)), n(&failed[1]), n(&failed[2])),
            trade_off: format!("Redis is now on every request's path: {} lookups per second here and {} ms added at p50, and a shared dependency that can fail (see session-latency). A JWT cannot be taken back before it expires (see jwt-revocation).", n(&redis_ops), v(&redis_auth)),
        claims: vec![
            claim(
                format!("in one run the stateful design logs users out ({}), loses carts ({}) and cuts off uploads in progress ({})", n(&sf_users), n(&sf_carts), n(&sf_uploads)),
                sf_users.greater_than(0.0) && sf_carts.greater_than(0.0) && sf_uploads.greater_than(0.0),
            ),
            claim(
                format!("the stateless design's load balancer retries on another server ({}), all on server-6: server-{} took {}", n(&retried), n(&top), pct(&top_share)),
                retried.greater_than(0.0) && top.equals(6.0) && top_share.equals(1.0),
            ),
            claim(
                format!("and hardly anyone notices: no one logged out, no cart or upload lost ({}), at most 1 request in 10,000 failed ({} of {})", n(&sl_noticed), n(&sl_failed), n(&sl_sent)),
                sl_noticed.equals(0.0) && sl_failed.at_most(1e-4 * &sl_sent),
            ),
            claim(format!("sticky-memory logs out about 1/n = 10% of active users: {}", pct(&share)), share.within(0.07, 0.13)),
            claim(format!("sticky-memory loses carts: {}", n(&carts)), carts.greater_than(0.0)),
            claim("Redis and JWT sessions log out no one and lose no cart".into(), r.m("redis", &c::SESSIONS_STATE_LOST_USERS).equals(0.0) && r.m("jwt", &c::SESSIONS_STATE_LOST_USERS).equals(0.0) && r.m("redis", &c::CARTS_LOST).equals(0.0) && r.m("jwt", &c::CARTS_LOST).equals(0.0)),
            claim(format!("the kill itself hits only a handful of requests in every variant: {}", failed.iter().map(n).collect::<Vec<_>>().join(", ")), failed.iter().all(|f| f.at_most(1004.0))),
            claim(format!("Redis sessions add at least a round trip (0.3 ms): {} ms", v(&redis_auth)), redis_auth.at_least(0.3)),
        ],
    }
}

fn sticky_hashing(r: &Run) -> Story {
    let (ip, ring, cookie) =
        (r.m("ip-hash", &c::SESSIONS_STATE_LOST_SHARE), r.m("consistent-hash", &c::SESSIONS_STATE_LOST_SHARE), r.m("cookie", &c::SESSIONS_STATE_LOST_SHARE));
    Story {
            tempting: "\"hash(client IP) modulo the number of servers: no state in the load balancer, and each client always lands on the same server.\"".into(),
            shows: format!("10 servers, sessions in server memory, server-3 dies. With modulo hashing the divisor changes from 10 to 9 and almost every client is re-hashed: {} of active users were logged out, not 1/10.", pct(&ip)),
            senior: "\"If you must be sticky, use a consistent-hash ring with virtual nodes, or a cookie that names the server: a failure moves only the dead server's users. Better still, don't need stickiness.\"".into(),
            numbers: format!("The ring logged out {} and cookie affinity {}: about 1/n.", pct(&ring), pct(&cookie)),
            trade_off: "Even 1/n is users logged out on every failure and deploy; and stickiness by IP pins everyone behind a NAT to one server (see mega-proxy).".into(),
        claims: vec![
            claim(format!("modulo ip-hash logs out about (n-1)/n = 90%: {}", pct(&ip)), ip.within(0.85, 0.95)),
            claim(format!("a consistent-hash ring logs out about 1/n: {}", pct(&ring)), ring.within(0.06, 0.14)),
            claim(format!("cookie affinity logs out about 1/n: {}", pct(&cookie)), cookie.within(0.06, 0.14)),
        ],
    }
}

fn hot_spots(r: &Run) -> Story {
    let hot = r.m("ip-hash-sticky", &c::SERVERS_ROUTED_SHARE_MAX);
    let (f, servers) = (0.2, 10.0);
    let theory = f + (1.0 - f) / servers;
    let p99 = r.m("ip-hash-sticky", &c::LATENCY_MS.p99);
    let p99_rr = r.m("round-robin-shared", &c::LATENCY_MS.p99);
    let drops = r.m("ip-hash-sticky", c::failed(FailReason::Overloaded));
    let idle = r.m("ip-hash-sticky", &c::SERVERS_UTILISATION_MIN);
    Story {
        tempting: "\"Sticky by client IP, sessions in server memory: the load balancer spreads IPs evenly.\"".into(),
        shows: format!(
            "50,000 users, 10,000 of them (f = 0.2) behind one NAT IP, 10 servers. ip-hash sends that whole IP to one server, which receives {} of all requests (theory: f + (1-f)/n = {}). It saturates: p99 {} ms and {} of {} requests refused with 503, while the least busy server idles at {} utilisation.",
            pct(&hot),
            pct(R::from(theory)),
            n(&p99),
            n(&drops),
            n(r.m("ip-hash-sticky", &c::REQUESTS_SENT)),
            pct(&idle)
        ),
        senior: "\"Round robin (or least connections) with sessions in a shared store: a request can go anywhere, so no client can pin a server.\"".into(),
        numbers: format!(
            "Round robin with Redis sessions: the busiest server gets {}, p99 {} ms, {} failures.",
            pct(r.m("round-robin-shared", &c::SERVERS_ROUTED_SHARE_MAX)),
            n(&p99_rr),
            n(r.m("round-robin-shared", &c::REQUESTS_FAILED))
        ),
        trade_off: format!("Every request now reads the session from Redis: {} lookups per second.", n(r.m("round-robin-shared", &c::REDIS_OPS_PER_S))),
        claims: vec![
            claim(format!("the NAT's server gets f + (1-f)/n = {} of requests: {}", pct(R::from(theory)), pct(&hot)), hot.within(theory - 0.01, theory + 0.01)),
            claim(format!("the hot server's p99 explodes: {} ms vs {} ms", n(&p99), n(&p99_rr)), p99.greater_than(5.0 * &p99_rr)),
            claim(
                format!("it drops requests ({}) while another server is below half load ({})", n(&drops), pct(&idle)),
                drops.greater_than(0.0) && idle.less_than(0.5),
            ),
            claim(
                "round robin with shared sessions stays balanced and fails nothing".into(),
                r.m("round-robin-shared", &c::SERVERS_ROUTED_SHARE_MAX).less_than(0.11) && r.m("round-robin-shared", &c::REQUESTS_FAILED).equals(0.0),
            ),
        ],
    }
}

fn session_latency(r: &Run) -> Story {
    let redis = r.m("redis", &c::AUTH_MS.p50);
    let request = r.m("redis", &c::LATENCY_MS.p50);
    let busy = r.m("redis", &c::REDIS_UTILISATION);
    let algs = [("jwt-hs256", "HS256"), ("jwt-rs256", "RS256"), ("jwt-es256", "ES256"), ("jwt-eddsa", "EdDSA")];
    let jwt: Vec<String> = algs.iter().map(|(name, a)| format!("{a} {} ms", v(r.m(name, &c::AUTH_MS.p50)))).collect();
    let eddsa = r.m("jwt-eddsa", &c::AUTH_MS.p50);
    let (p99_r, p99_j) = (r.m("redis-110k", &c::LATENCY_MS.p99), r.m("jwt-hs256-110k", &c::LATENCY_MS.p99));
    let down = r.m("redis-down", c::failed(FailReason::RedisUnavailable));
    Story {
        tempting: "\"Redis does 100,000 operations per second, so a session lookup on every request costs nothing worth thinking about.\"".into(),
        shows: format!(
            "Half true. At 20,000 requests per second a reference token costs a Redis round trip, {} ms at p50 of a {} ms request ({}), with Redis {} busy: fast enough, today. Verifying a JWT costs only CPU: {}. The trouble is Redis's limits, not its speed: at 110,000 requests per second it passes its capacity ({} busy) and reference-token p99 becomes {} ms, while JWT's stays at {} ms; and with Redis down for 10 s, {} reference-token requests failed.",
            v(&redis),
            v(&request),
            pct(&redis / &request),
            pct(&busy),
            jwt.join(", "),
            pct(r.m("redis-110k", &c::REDIS_UTILISATION)),
            n(&p99_r),
            n(&p99_j),
            n(&down)
        ),
        senior: "\"Reference tokens in Redis are fine while Redis has headroom and a plan for its outage; know the load at which it saturates. For a hot path that must not depend on it, verify a signed token on the CPU. With HS256 every service that verifies tokens holds the secret that signs them, so any of them can mint one: fine for one service, wrong when verifiers are many; then sign with an asymmetric key (EdDSA or ES256) and give verifiers only the public key.\"".into(),
        numbers: format!(
            "An EdDSA check took {} ms, still {} of the Redis round trip. A JWT with a per-request blocklist in Redis goes on through the outage when it fails open: {} failures.",
            v(&eddsa),
            pct(&eddsa / &redis),
            n(r.m("jwt-blocklist-down", &c::REQUESTS_FAILED))
        ),
        trade_off: "A JWT is valid until it expires: revoking one needs short lifetimes and refresh tokens, or a blocklist, which brings the Redis lookup back (see jwt-revocation).".into(),
        claims: vec![
            claim(format!("a reference token adds at least a Redis round trip: {} ms >= 0.3 ms", v(&redis)), redis.at_least(0.3)),
            claim(format!("at 20,000 requests per second that is under 5% of the request ({}) and Redis is under half busy ({})", pct(&redis / &request), pct(&busy)), redis.less_than(0.05 * &request) && busy.less_than(0.5)),
            claim("every JWT algorithm verifies faster than a Redis round trip".into(), algs.iter().all(|(v, _)| r.m(v, &c::AUTH_MS.p50).less_than(&redis))),
            claim(format!("an asymmetric EdDSA check costs under a third of the round trip: {}", pct(&eddsa / &redis)), eddsa.less_than(&redis / 3.0)),
            claim(format!("past Redis's capacity reference-token p99 explodes ({} ms) while JWT's does not ({} ms)", n(&p99_r), n(&p99_j)), p99_r.greater_than(20.0 * &p99_j)),
            claim(format!("with Redis down, reference-token requests fail ({}) and fail-open JWT blocklists go on", n(&down)), down.greater_than(0.0) && r.m("jwt-blocklist-down", &c::REQUESTS_FAILED).equals(0.0)),
        ],
    }
}

fn revocation(r: &Run) -> Story {
    let hour = 3600.0;
    let (mean_1h, max_1h) = (r.m("playbook-1h-token", &c::REVOCATION_EXPOSURE_MEAN_S), r.m("playbook-1h-token", &c::REVOCATION_EXPOSURE_MAX_S));
    let accepted_1h = r.m("playbook-1h-token", &c::REVOCATION_ACCEPTED_PER_FIRED_USER);
    let blocked_1h = r.m("playbook-1h-blocklist", &c::REVOCATION_EXPOSURE_MAX_S);
    let entries = r.m("playbook-1h-blocklist", &c::REVOCATION_BLOCKLIST_ENTRIES_MEAN);
    let adds = r.m("playbook-1h-blocklist", &c::REVOCATION_BLOCKLIST_ADDS_PER_S);
    let ttl = r.m("playbook-1h-blocklist", &c::REVOCATION_BLOCKLIST_TTL_MEAN_S);
    let little = &adds * &ttl;
    let lookups_1h = r.m("playbook-1h-blocklist", &c::REVOCATION_LOOKUPS_PER_REQUEST);
    let (mean, max) = (r.m("jwt-only", &c::REVOCATION_EXPOSURE_MEAN_S), r.m("jwt-only", &c::REVOCATION_EXPOSURE_MAX_S));
    let lifetime = 600.0;
    let per_req = r.m("jwt-blocklist", &c::REVOCATION_EXPOSURE_MAX_S);
    let cached = r.m("jwt-blocklist-cached", &c::REVOCATION_EXPOSURE_MAX_S);
    let cached_mean = r.m("jwt-blocklist-cached", &c::REVOCATION_EXPOSURE_MEAN_S);
    Story {
            tempting: "\"We disable the account. The token is signed and the servers never look anything up, so that is all we can do: it will run out.\"".into(),
            shows: format!("Tokens valid for 1 hour, issued at random moments, 10 users fired a minute. After the ban a fired user's token was still accepted for {} s on average and up to {} s: about half an hour and at most the full hour, {} requests per fired user, until the token expired and its refresh checked the account. With the model's own 10-minute tokens the same holds at a tenth of the scale: {} s on average, at most {} s.", n(&mean_1h), n(&max_1h), n(&accepted_1h), n(&mean), n(&max)),
            senior: "\"Bring back a little state: when someone is banned, put their token's id (jti) in Redis with a TTL equal to what is left of the token's lifetime, and check that blocklist on every request. The entry disappears when the token would have expired anyway, so the list stays small. Keep access tokens short-lived and renew them with a refresh token checked against the account, so the list only has to cover one lifetime. Or use reference tokens, revoked by deleting them.\"".into(),
            numbers: format!("With 1-hour tokens a blocklist checked in Redis on every request ended the exposure within {} s (a round trip). It is as small as Little's law says: entries were added at {} per second and each lived {} s on average (half the hour: the token's remaining lifetime), so once the firing had gone on for a token lifetime the list held {} entries on average against {} x {} = {}, and never more than {}, however long the firing went on. With 10-minute tokens, a per-request blocklist cut the exposure to {} s, a cached one refreshed every 10 s to {} s on average and at most {} s (the ban holds only once every server's copy is refreshed, so more than half the period on average), reference tokens to {} s.", v(&blocked_1h), v(&adds), n(&ttl), n(&entries), v(&adds), n(&ttl), n(&little), n(r.m("playbook-1h-blocklist", &c::REVOCATION_BLOCKLIST_ENTRIES_MAX)), v(&per_req), v(&cached_mean), v(&cached), v(r.m("reference-token", &c::REVOCATION_EXPOSURE_MAX_S))),
            trade_off: format!("The lookup is back on every request: {} lookups per request sent (every authenticated request; a login looks nothing up), {} Redis commands per second, and Redis on the hot path again, though only for this one check. A blocklist cached on each server pays {} lookups per request, for a window of up to its refresh period.", v(&lookups_1h), n(r.m("playbook-1h-blocklist", &c::REDIS_OPS_PER_S)), v(r.m("jwt-blocklist-cached", &c::REVOCATION_LOOKUPS_PER_REQUEST))),
        claims: vec![
            claim(format!("a fired user's 1-hour token keeps working about half an hour on average: {} s", n(&mean_1h)), mean_1h.within(0.4 * hour, 0.6 * hour)),
            claim(
                format!("and up to the hour, never more (in every replication): {} s <= {} s", n(&max_1h), n(R::from(hour))),
                max_1h.values().iter().all(|&x| x <= hour) && max_1h.greater_than(0.9 * hour),
            ),
            claim(format!("a blocklist checked in Redis on every request ends it within a round trip: {} s", v(&blocked_1h)), blocked_1h.less_than(0.1)),
            claim(format!("an entry's TTL, the token's remaining lifetime, is about half the hour: {} s", n(&ttl)), ttl.within(0.4 * hour, 0.6 * hour)),
            claim(format!("Little's law: the full blocklist holds entries added per second x their mean TTL: {} vs {}", n(&entries), n(&little)), (&entries / little.floored(1e-9)).within(0.9, 1.1)),
            claim(format!("the blocklist costs a lookup for every authenticated request: {} per request sent", v(&lookups_1h)), lookups_1h.within(0.9, 1.0)),
            claim(format!("with 10-minute tokens and no blocklist the mean exposure is about half the lifetime: {} s", n(&mean)), mean.within(0.4 * lifetime, 0.6 * lifetime)),
            claim(format!("and at most the lifetime, where the refresh checks the account: {} s <= {} s", n(&max), n(R::from(lifetime))), max.at_most(lifetime)),
            claim(format!("a per-request blocklist cuts it to about a round trip: {} s", v(&per_req)), per_req.less_than(0.1)),
            claim(format!("a cached blocklist to at most its refresh period (10 s): {} s", v(&cached)), cached.at_most(10.1)),
            claim(format!("but more than half of it on average, since every server's copy must be refreshed: {} s", v(&cached_mean)), cached_mean.greater_than(5.0) && cached_mean.less_than(10.0)),
            claim("the per-request blocklist costs at least a lookup per request".into(), r.m("jwt-blocklist", &c::REVOCATION_LOOKUPS_PER_REQUEST).at_least(1.0)),
        ],
    }
}

fn carts(r: &Run) -> Story {
    let lost = r.m("server-memory", &c::CARTS_LOST);
    let wasted = r.m("database", &c::CARTS_GUEST_WRITES_WASTED);
    let writes = r.m("database", &c::DATABASE_WRITES);
    Story {
        tempting: "\"Keep the guest's cart in the session, in the server's memory, with sticky sessions.\"".into(),
        shows: format!(
            "{} guests on 6 servers, server-2 killed at minute 5: {} carts ({} items) were lost, about 1 guest in {}.",
            n(r.m("server-memory", &c::SESSIONS_ACTIVE_USERS)),
            n(&lost),
            n(r.m("server-memory", &c::CARTS_ITEMS_LOST)),
            n((r.m("server-memory", &c::SESSIONS_ACTIVE_USERS) / &lost).map(f64::round))
        ),
        senior: "\"Keep the guest cart in the client (a cookie or localStorage) and merge it into the account's cart at login; or in the database.\"".into(),
        numbers: format!(
            "The client cart lost {} and wrote the database {} times (once per checkout). The database cart lost {} but wrote {} times, {} of them ({}) for carts that were abandoned.",
            n(r.m("client", &c::CARTS_LOST)),
            n(r.m("client", &c::DATABASE_WRITES)),
            n(r.m("database", &c::CARTS_LOST)),
            n(&writes),
            n(&wasted),
            pct(&wasted / writes.floored(1.0))
        ),
        trade_off: format!(
            "Merging at login meets the account's saved cart: {} merges conflicted (both carts held items), and the product must decide what wins.",
            n(r.m("client", &c::CARTS_MERGE_CONFLICTS))
        ),
        claims: vec![
            claim(format!("server-memory carts are lost on a kill: {}", n(&lost)), lost.greater_than(0.0)),
            claim("client and database carts lose nothing".into(), r.m("client", &c::CARTS_LOST).equals(0.0) && r.m("database", &c::CARTS_LOST).equals(0.0)),
            claim(format!("most database cart writes serve abandoned carts: {}", pct(&wasted / writes.floored(1.0))), wasted.greater_than(0.4 * &writes)),
            claim("the client cart writes the database once per checkout".into(), r.m("client", &c::DATABASE_WRITES).equals(r.m("client", &c::CARTS_MERGES))),
        ],
    }
}

fn state_tier(r: &Run) -> Story {
    let users_lost = |v: &str| r.m(v, &c::SESSIONS_STATE_LOST_USERS);
    let lost = |v: &str| r.m(v, &c::REDIS_FAILOVER_LOST_WRITES);
    let expected = |v: &str| r.m(v, &c::REDIS_FAILOVER_LOST_WRITES_EXPECTED);
    let abuser = |v: &str| r.m(v, &c::RATELIMIT_ABUSER_ALLOWED_PER_WINDOW);
    let failed = |v: &str| r.m(v, c::failed(FailReason::RedisUnavailable));
    let p99 = |v: &str| r.m(v, &c::LATENCY_MS.p99);
    let stale = |v: &str| r.m(v, &c::DATABASE_STALE_AFTER_WRITE_SHARE);
    // The read replicas' lag and the users' mean think time, as the model sets them.
    let (lag_s, think_s) = (1.0, 2.0);
    let theory = 1.0 - f64::exp(-lag_s / think_s);
    let ratio = |v: &str| &lost(v) / expected(v).floored(1e-9);
    Story {
        tempting: "\"Make the web servers stateless: sessions, rate-limit counters and the blocklist go to Redis, carts to the database. Now a server can die and nobody notices.\"".into(),
        shows: format!(
            "The state did not go away; it moved to a tier of its own, which fails too. The Redis primary dies 30 s into the run. With no replica an empty Redis takes over 5 s later: {} users had to log in again, and the abuser's spent counter came back empty ({} requests allowed per one-minute window against a limit of 100; {} with a replica). Meanwhile every request that needed Redis failed: {} of them in those 5 s.",
            n(users_lost("no-replica")),
            n(abuser("no-replica")),
            n(abuser("lag-50ms")),
            n(failed("no-replica"))
        ),
        senior: "\"Give the state tier a replica and automatic failover, and know what it promises: with asynchronous replication the replica is promoted with what had reached it, so the writes of the last replication lag are lost: sessions, counter updates, bans. Watch the lag, keep failover short, and where a lost write is unacceptable (a ban, a payment) make the write wait for the replica or keep it in a durable store. For read replicas, read your own writes from the primary for a while after writing.\"".into(),
        numbers: format!(
            "The promoted replica lost {} writes at 50 ms of lag, {} at 500 ms and {} at 5 s: the write rate times the lag ({} and {} expected at 50 ms and 5 s). At 5 s that was {} users logged out again and {} blocklist entries gone; {} requests of banned users were accepted after their ban had held (through a lost entry, or a blocklist check that failed open while Redis was away). A 30 s failover failed {} requests against {} in 5 s. Read replicas 1 s behind showed a stale cart on {} of the first reads after a write (theory for 2 s think times: 1 - e^(-L/T) = {}), {} at 200 ms; reading from the primary for 2 s after a write made it {}.",
            n(lost("lag-50ms")),
            n(lost("lag-500ms")),
            n(lost("lag-5s")),
            v(expected("lag-50ms")),
            v(expected("lag-5s")),
            n(users_lost("lag-5s")),
            n(r.m("jwt-blocklist", &c::REDIS_FAILOVER_LOST_BANS)),
            n(r.m("jwt-blocklist", &c::REVOCATION_ACCEPTED_AFTER_IN_FORCE)),
            n(failed("failover-30s")),
            n(failed("lag-50ms")),
            pct(stale("lag-50ms")),
            pct(R::from(theory)),
            pct(stale("db-lag-200ms")),
            pct(stale("db-primary-after-write"))
        ),
        trade_off: format!(
            "Waiting for the replica (WAIT) lost {} writes, but every write waits for it: with the rate limit's counter written on every request, p99 went from {} ms to {} ms. Reading from the primary after a write put {} of the reads back on the primary ({} when every read goes there): the replicas exist to take that load.",
            n(lost("sync")),
            v(p99("lag-50ms")),
            v(p99("sync")),
            pct(r.m("db-primary-after-write", &c::DATABASE_PRIMARY_READ_SHARE)),
            pct(r.m("db-read-primary", &c::DATABASE_PRIMARY_READ_SHARE))
        ),
        claims: vec![
            claim(format!("with no replica, far more users are logged out than with one: {} against {}", n(users_lost("no-replica")), n(users_lost("lag-50ms"))), users_lost("no-replica").greater_than(100.0 * &users_lost("lag-50ms"))),
            claim(format!("with no replica the abuser gets a fresh allowance: {} against {} per window", n(abuser("no-replica")), n(abuser("lag-50ms"))), abuser("no-replica").greater_than(1.3 * &abuser("lag-50ms"))),
            claim(format!("a replica's lost counter writes give the abuser nothing more, even at 5 s of lag: {}", n(abuser("lag-5s"))), abuser("lag-5s").equals(abuser("lag-50ms"))),
            claim(format!("writes lost are about rate x lag at 50 ms: {} of expected", v(ratio("lag-50ms"))), ratio("lag-50ms").within(0.7, 1.3)),
            claim(format!("and at 5 s: {} of expected", v(ratio("lag-5s"))), ratio("lag-5s").within(0.9, 1.1)),
            claim(format!("more lag, more users logged out again: {} at 5 s, {} at 50 ms", n(users_lost("lag-5s")), n(users_lost("lag-50ms"))), users_lost("lag-5s").greater_than(10.0 * &users_lost("lag-50ms"))),
            claim(format!("a lagging replica loses bans: {}", n(r.m("jwt-blocklist", &c::REDIS_FAILOVER_LOST_BANS))), r.m("jwt-blocklist", &c::REDIS_FAILOVER_LOST_BANS).greater_than(0.0)),
            claim(format!("a longer failover fails more requests: {} against {}", n(failed("failover-30s")), n(failed("lag-50ms"))), failed("failover-30s").greater_than(4.0 * &failed("lag-50ms"))),
            claim("WAIT loses no write".into(), lost("sync").equals(0.0)),
            claim(format!("and costs every write the lag: p99 {} ms against {} ms", v(p99("sync")), v(p99("lag-50ms"))), p99("sync").greater_than(10.0 * &p99("lag-50ms"))),
            claim(format!("the first read after a write is stale about 1 - e^(-L/T) = {} of the time: {}", pct(R::from(theory)), pct(stale("lag-50ms"))), stale("lag-50ms").within(theory - 0.02, theory + 0.02)),
            claim("reading from the primary after a write leaves no stale read".into(), r.m("db-primary-after-write", &c::DATABASE_STALE_READS).equals(0.0)),
        ],
    }
}

fn rate_limits(r: &Run) -> Story {
    let local = r.m("local-round-robin", &c::RATELIMIT_ABUSER_ALLOWED_PER_WINDOW);
    let fixed_sliding = r.m("redis-fixed-window", &c::RATELIMIT_ABUSER_MAX_SLIDING_WINDOW);
    let log = r.m("redis-sliding-log", &c::RATELIMIT_ABUSER_MAX_SLIDING_WINDOW);
    let by_ip = r.m("redis-by-ip", &c::RATELIMIT_WRONGLY_REJECTED);
    let by_key = r.m("redis-by-api-key", &c::RATELIMIT_WRONGLY_REJECTED);
    let open = r.m("redis-down-fail-open", &c::RATELIMIT_ALLOWED_WHILE_REDIS_DOWN);
    let closed = r.m("redis-down-fail-closed", c::failed(FailReason::RedisUnavailable));
    let (local10, redis10) =
        (r.m("playbook-local-10-servers", &c::RATELIMIT_ABUSER_ALLOWED_PER_WINDOW), r.m("playbook-redis-10-servers", &c::RATELIMIT_ABUSER_ALLOWED_PER_WINDOW));
    // The user's requests per window: sent, times windows per allowed request.
    let sent10 =
        r.m("playbook-local-10-servers", &c::RATELIMIT_ABUSER_SENT) * &local10 / r.m("playbook-local-10-servers", &c::RATELIMIT_ABUSER_ALLOWED).floored(1.0);
    Story {
        tempting: "\"Yes: a hash map from user to a counter in each server's memory, reset every minute.\"".into(),
        shows: format!(
            "10 servers behind round robin, a limit of 100 per minute, and one user sending {} requests a minute: each server counts only the requests it sees, so each lets the user have its own 100, and the user got {} a minute, about 10 x 100. A limit that depends on how many servers you run is not a limit. The same happens with the model's own numbers (4 servers, 20 per 10 s): the abuser got {} per window, about 4 x 20.",
            n(&sent10),
            v(&local10),
            v(&local)
        ),
        senior: "\"One counter in Redis that every server shares: INCR the user's key and, on the first request of a window, EXPIRE it after the window; better a sliding window or a token bucket run as one script, keyed by the authenticated user; by an API key only where a key is one client, not an organisation's key that everyone behind its NAT shares; never by IP.\"".into(),
        numbers: format!(
            "INCR then EXPIRE in Redis held the same user to {} a minute on the same 10 servers. On 4 servers at 20 per 10 s, a Redis fixed window held each aligned window to {} but let {} through in a window straddling a boundary; a sliding log never more than {}; a token bucket (b = 20, r = 2/s) at most {}. Keyed by IP, the limit turned away {} requests of ordinary users behind the NAT; keyed by the API key their organisation shares, {}, exactly as many; keyed by user, {}.",
            v(&redis10),
            n(r.m("redis-fixed-window", &c::RATELIMIT_ABUSER_MAX_ALIGNED_WINDOW)),
            n(&fixed_sliding),
            n(&log),
            n(r.m("redis-token-bucket", &c::RATELIMIT_ABUSER_MAX_SLIDING_WINDOW)),
            n(&by_ip),
            n(&by_key),
            n(r.m("redis-fixed-window", &c::RATELIMIT_WRONGLY_REJECTED))
        ),
        trade_off: format!(
            "Each check costs a Redis round trip ({} ms at p50), and when Redis is down you choose: fail open let {} requests through unchecked, fail closed rejected {}.",
            v(r.m("redis-fixed-window", &c::RATELIMIT_CHECK_MS.p50)),
            n(&open),
            n(&closed)
        ),
        claims: vec![
            claim(
                format!("at 100 per minute on 10 servers, counters in memory let a user through about 10 x 100 = 1,000 a minute, never more: {}", v(&local10)),
                local10.at_least(950.0) && local10.values().iter().all(|&x| x <= 1000.0),
            ),
            claim(format!("and Redis INCR + EXPIRE holds the user to 100 a minute: {}", v(&redis10)), redis10.within(95.0, 100.0)),
            claim(format!("local counters behind round robin let the abuser have N x L = 80 per window: {}", v(&local)), local.within(72.0, 88.0)),
            claim(format!("a Redis fixed window lets 2L = 40 through across a boundary: {}", n(&fixed_sliding)), fixed_sliding.equals(40.0)),
            claim(format!("a sliding log never lets more than L = 20 through: {}", n(&log)), log.at_most(20.0)),
            claim(
                format!("keyed by IP the limit rejects users behind the NAT: {}", n(&by_ip)),
                by_ip.greater_than(1000.0) && r.m("redis-fixed-window", &c::RATELIMIT_WRONGLY_REJECTED).equals(0.0),
            ),
            claim(format!("an API key shared by the NAT's organisation rejects them like an IP key: {} vs {}", n(&by_key), n(&by_ip)), by_key.greater_than(1000.0) && by_key.at_least(0.9 * &by_ip)),
            claim(
                "fail-open lets everything through while Redis is down, fail-closed nothing".into(),
                open.greater_than(10_000.0) && r.m("redis-down-fail-closed", &c::RATELIMIT_ALLOWED_WHILE_REDIS_DOWN).equals(0.0) && closed.greater_than(10_000.0),
            ),
        ],
    }
}

fn load_balancing(r: &Run) -> Story {
    let (rr, random, lc, p2) = (
        r.m("round-robin", &c::LATENCY_MS.p99),
        r.m("random", &c::LATENCY_MS.p99),
        r.m("least-connections", &c::LATENCY_MS.p99),
        r.m("power-of-two", &c::LATENCY_MS.p99),
    );
    Story {
        tempting: "\"Round robin, or random: every server gets the same share.\"".into(),
        shows: format!(
            "10 servers at about 75% load: the same share is not the same queue. p99 was {} ms with round robin and {} ms with random.",
            v(&rr),
            v(&random)
        ),
        senior: "\"Send work where the queue is short: least connections, or the power of two random choices, which needs no global view.\"".into(),
        numbers: format!(
            "Least connections: p99 {} ms; power of two: {} ms; mean queue wait {} ms vs {} ms with round robin.",
            v(&lc),
            v(&p2),
            v(r.m("least-connections", &c::QUEUE_WAIT_MS.mean)),
            v(r.m("round-robin", &c::QUEUE_WAIT_MS.mean))
        ),
        trade_off: format!(
            "Queue-aware policies need connection counts at the load balancer; and no algorithm saves a hashed hot spot: ip-hash's p99 was {} ms with a NAT on one server.",
            n(r.m("ip-hash", &c::LATENCY_MS.p99))
        ),
        claims: vec![
            claim("least connections and power of two beat random at p99".into(), lc.less_than(&random) && p2.less_than(&random)),
            claim(
                "least connections waits less than round robin".into(),
                r.m("least-connections", &c::QUEUE_WAIT_MS.mean).less_than(r.m("round-robin", &c::QUEUE_WAIT_MS.mean)),
            ),
            claim("hashing by IP makes a hot spot".into(), r.m("ip-hash", &c::LATENCY_MS.p99).greater_than(10.0 * &rr)),
        ],
    }
}

fn files(r: &Run) -> Story {
    let share = r.m("local-disk", &c::READS_NOT_FOUND_SHARE);
    let lost = r.m("local-disk", &c::FILES_LOST);
    let through_mb = r.m("through-server", &c::UPLOADS_SERVER_MB);
    let through_threads = r.m("through-server", &c::UPLOADS_SERVER_WORKER_S);
    let (page_through, page_presigned) = (r.m("through-server", &c::PAGE_LATENCY_P99), r.m("presigned", &c::PAGE_LATENCY_P99));
    Story {
        tempting: "\"Save the upload on the server's disk and serve it from there.\"".into(),
        shows: format!(
            "4 servers behind round robin: {} of reads asked a server that did not have the file and got 404, about (n-1)/n = 75%; and when server-2 died, {} files died with it.",
            pct(&share),
            n(&lost)
        ),
        senior: "\"Put files in object storage (S3), and let the client upload straight to it with a pre-signed URL the server signs.\"".into(),
        numbers: format!(
            "Both S3 variants lost {} and {} files and never answered 404. Streaming through the server moved {} MB through the servers and held their threads for {} thread-seconds, and page p99 rose to {} ms; pre-signed uploads moved {} MB through them, with page p99 {} ms.",
            n(r.m("through-server", &c::FILES_LOST)),
            n(r.m("presigned", &c::FILES_LOST)),
            n(&through_mb),
            n(&through_threads),
            n(&page_through),
            n(r.m("presigned", &c::UPLOADS_SERVER_MB)),
            n(&page_presigned)
        ),
        trade_off: format!(
            "The client now talks to S3 itself (its own upload still takes {} ms at p99 for a 50 MB video), and the server must check afterwards that the upload really happened.",
            n(r.m("presigned", &c::UPLOADS_LATENCY_P99))
        ),
        claims: vec![
            claim(format!("local-disk reads 404 about (n-1)/n = 75% of the time: {}", pct(&share)), share.within(0.7, 0.8)),
            claim(format!("local-disk files vanish with their server: {}", n(&lost)), lost.greater_than(0.0)),
            claim(
                "both S3 variants lose nothing".into(),
                r.m("through-server", &c::FILES_LOST).equals(0.0)
                    && r.m("presigned", &c::FILES_LOST).equals(0.0)
                    && r.m("presigned", &c::READS_NOT_FOUND).equals(0.0),
            ),
            claim("pre-signed uploads use no server bandwidth".into(), r.m("presigned", &c::UPLOADS_SERVER_MB).equals(0.0) && through_mb.greater_than(0.0)),
            claim(
                format!("uploads through the server crowd out ordinary requests: p99 {} vs {} ms", n(&page_through), n(&page_presigned)),
                page_through.greater_than(2.0 * &page_presigned),
            ),
        ],
    }
}

fn real_time(r: &Run) -> Story {
    let local = r.m("local", &c::WS_DROPPED) / r.m("local", &c::WS_MESSAGES_SENT).floored(1.0);
    let storm = r.m("pubsub", &c::WS_RECONNECTS_PEAK_PER_S);
    let jittered = r.m("pubsub-jittered", &c::WS_RECONNECTS_PEAK_PER_S);
    let (node_reconnects, node_peak, node_lost) = (
        r.m("gateway-node-dies", &c::WS_RECONNECTS),
        r.m("gateway-node-dies", &c::WS_RECONNECTS_PEAK_PER_S),
        r.m("gateway-node-dies", &c::WS_LOST_DISCONNECTED),
    );
    Story {
            tempting: "\"Each server keeps a map of its WebSocket connections and delivers messages to them.\"".into(),
            shows: format!("10,000 users on 4 servers message each other: {} of the {} messages were dropped, because the receiver was on another server's map (about (n-1)/n).", pct(&local), n(r.m("local", &c::WS_MESSAGES_SENT))),
            senior: "\"Bridge the servers with Redis pub/sub (every server subscribes; the one holding the receiver delivers), or put an external gateway in front that holds the connections and calls stateless handlers.\"".into(),
            numbers: format!("Pub/sub delivered {} of messages and the gateway {}. When server-2 died, its clients reconnected all at once: {} reconnects in one second; with jittered backoff the peak was {}.", pct(r.m("pubsub", &c::WS_DELIVERED_SHARE)), pct(r.m("gateway", &c::WS_DELIVERED_SHARE)), n(&storm), n(&jittered)),
            trade_off: format!("With one broadcast channel, as here, every message is pushed to every server: {} pushes per message with 4 servers, {} with 16, so Redis's load grows with the fleet; a channel per user or per room, which only the server holding that user subscribes to, brings it back to about one. A gateway only moves the failure: when one of its two nodes died, its {} clients reconnected, {} of them in one second. And neither delivers more than once: pub/sub lost {} of messages ({}) and the gateway node's death {}, messages from or to users between a dropped connection and the next, so a chat keeps messages in a store (a stream or a mailbox) that a client reads from where it left off.", v(r.m("pubsub", &c::WS_PUBSUB_RECEIPTS_PER_MESSAGE)), v(r.m("pubsub-16-servers", &c::WS_PUBSUB_RECEIPTS_PER_MESSAGE)), n(&node_reconnects), n(&node_peak), pct(1.0 - r.m("pubsub", &c::WS_DELIVERED_SHARE)), n(r.m("pubsub", &c::WS_DROPPED)), n(&node_lost)),
        claims: vec![
            claim(format!("local maps drop about (n-1)/n of messages: {}", pct(&local)), local.greater_than(0.6) && local.less_than(0.76)),
            claim("pub/sub and the gateway deliver them".into(), r.m("pubsub", &c::WS_DELIVERED_SHARE).greater_than(0.98) && r.m("gateway", &c::WS_DELIVERED_SHARE).greater_than(0.98)),
            claim(format!("a kill makes a reconnect storm ({}/s) that jitter flattens ({}/s)", n(&storm), n(&jittered)), storm.greater_than(4.0 * &jittered)),
            claim("one broadcast channel pushes each message to every server".into(), r.m("pubsub-16-servers", &c::WS_PUBSUB_RECEIPTS_PER_MESSAGE).within(15.5, 16.5)),
            claim(format!("pub/sub delivers at most once: {} messages lost", n(r.m("pubsub", &c::WS_DROPPED))), r.m("pubsub", &c::WS_DROPPED).greater_than(0.0)),
            claim("a server's death drops no gateway connection".into(), r.m("gateway", &c::WS_RECONNECTS).equals(0.0) && r.m("gateway", &c::WS_DROPPED).equals(0.0)),
            claim(
                format!("a gateway node's death drops its connections: {} reconnects, {} messages lost", n(&node_reconnects), n(&node_lost)),
                node_reconnects.equals(5000.0) && node_lost.greater_than(0.0),
            ),
        ],
    }
}

fn long_jobs(r: &Run) -> Story {
    let timeouts = r.m("in-request", c::failed(FailReason::ClientTimeout));
    let nobody = r.m("in-request", &c::JOBS_COMPLETED_AFTER_CLIENT_LEFT);
    let wasted = r.m("in-request", &c::JOBS_CPU_WASTED_S);
    let held = r.m("in-request", &c::SERVERS_THREADS_HELD_MEAN);
    let (twice, p99) = (r.m("queue", &c::JOBS_RUN_TWICE), r.m("queue", &c::JOBS_COMPLETION_P99_S));
    Story {
            tempting: "\"Process the video in the request handler and return the result.\"".into(),
            shows: format!("The client gives up after 30 s, but the server cannot know and works on for ten minutes: {} requests timed out, {} of the {} videos finished were finished for no one ({} CPU-seconds wasted), and {} server threads were held on average, so ordinary pages waited: p99 {} ms.", n(&timeouts), n(&nobody), n(r.m("in-request", &c::JOBS_COMPLETED)), n(&wasted), v(&held), n(r.m("in-request", &c::LATENCY_MS.p99))),
            senior: "\"Accept the upload, push a job onto a durable queue (SQS, RabbitMQ) and answer 202 Accepted at once. A worker pool pulls the job, compresses the video, updates the database and puts the result in S3, then acknowledges; the client polls or is notified. The web servers stay stateless and free for new traffic.\"".into(),
            numbers: format!("With the queue, all {} submissions were answered 202 Accepted well inside the 30 s timeout ({} client timeouts), and workers finished {} jobs, each writing its result to S3 and its status to the database; page p99 was {} ms; jobs completed in {} s at p50; when worker-3 died mid-job, {} jobs were lost: the job came back after its visibility timeout.", n(r.m("queue", &c::JOBS_ACCEPTED)), n(r.m("queue", c::failed(FailReason::ClientTimeout))), n(r.m("queue", &c::JOBS_COMPLETED)), n(r.m("queue", &c::LATENCY_MS.p99)), n(r.m("queue", &c::JOBS_COMPLETION_P50_S)), n(r.m("queue", &c::JOBS_LOST))),
            trade_off: format!("Delivery is at least once: {} of {} jobs ran twice, though one worker died: the slowest jobs outlive the 15-minute visibility timeout (completion p99 {} s) and are delivered again while still running. A worker should send heartbeats that extend the visibility timeout while it works, so only a dead worker's job comes back; and a handler should be idempotent, with an idempotency key per job written with its result, so a second run finds the result and does nothing.", n(&twice), n(r.m("queue", &c::JOBS_ACCEPTED)), n(&p99)),
        claims: vec![
            claim(format!("in the request, clients time out ({}) while the server keeps working ({} results for no one)", n(&timeouts), n(&nobody)), timeouts.greater_than(0.0) && nobody.greater_than(0.0) && nobody.equals(r.m("in-request", &c::JOBS_COMPLETED))),
            claim(
                format!("with the queue every submission is answered 202 before the 30 s timeout: {} accepted of {} submitted, {} timeouts", n(r.m("queue", &c::JOBS_ACCEPTED)), n(r.m("queue", &c::JOBS_SUBMITTED)), n(r.m("queue", c::failed(FailReason::ClientTimeout)))),
                r.m("queue", &c::JOBS_ACCEPTED).equals(r.m("queue", &c::JOBS_SUBMITTED)) && r.m("queue", c::failed(FailReason::ClientTimeout)).equals(0.0),
            ),
            claim(
                format!("and a job takes about the 10-minute compression: {} s at p50", n(r.m("queue", &c::JOBS_COMPLETION_P50_S))),
                r.m("queue", &c::JOBS_COMPLETION_P50_S).within(480.0, 720.0) && r.m("queue", &c::JOBS_COMPLETED).greater_than(0.0),
            ),
            claim("the queue loses no job when a worker dies".into(), r.m("queue", &c::JOBS_LOST).equals(0.0)),
            claim(format!("and may run some twice: {}", n(&twice)), twice.greater_than(0.0)),
            claim(format!("more than the dead worker's job ran twice, as the slowest jobs outlive the visibility timeout: {} jobs, completion p99 {} s > 900 s", n(&twice), n(&p99)), twice.greater_than(1.0) && p99.greater_than(900.0)),
            claim("ordinary requests are crowded out only in the request variant".into(), r.m("in-request", &c::LATENCY_MS.p99).greater_than(10.0 * r.m("queue", &c::LATENCY_MS.p99))),
        ],
    }
}

fn scaling(r: &Run) -> Story {
    let lag = r.m("target-tracking", &c::FLEET_SCALE_OUT_LAG_S);
    let cut = r.m("deploy-memory-cut", &c::DEPLOY_SESSIONS_LOST);
    let drained = r.m("deploy-memory-drain", &c::DEPLOY_SESSIONS_LOST);
    Story {
            tempting: "\"Autoscaling handles it: it adds servers when CPU is high.\"".into(),
            shows: format!("The rate triples at minute 10. A fixed fleet of 3 failed {} requests. Scaling on CPU added servers, but the first one entered rotation {} s after the step (a 60 s metric period plus a 90 s boot, plus health checks); {} requests failed in that gap.", n(r.m("fixed", &c::REQUESTS_FAILED)), n(&lag), n(r.m("target-tracking", &c::REQUESTS_FAILED))),
            senior: "\"Scale on a leading signal or schedule ahead of known peaks, keep boot times short, run part of the fleet on spot, and keep servers stateless so instances can come and go.\"".into(),
            numbers: format!("Cost per hour: fixed-large {}, target tracking {}, with half on spot {} (and {} spot interruptions). A rolling deploy with sessions in server memory cut {} sessions; draining them for the session lifetime lost {} but took {} s instead of {} s; with sessions in Redis it lost {}.", v(r.m("fixed-large", &c::FLEET_COST_PER_HOUR)), v(r.m("target-tracking", &c::FLEET_COST_PER_HOUR)), v(r.m("spot", &c::FLEET_COST_PER_HOUR)), n(r.m("spot", &c::FLEET_SPOT_INTERRUPTIONS)), n(&cut), n(&drained), n(r.m("deploy-memory-drain", &c::DEPLOY_DURATION_S)), n(r.m("deploy-memory-cut", &c::DEPLOY_DURATION_S)), n(r.m("deploy-shared", &c::DEPLOY_SESSIONS_LOST))),
            trade_off: "Spot saves money at the cost of interruptions (more failed requests); draining protects sticky sessions at the cost of slow deploys; shared sessions remove the problem but add Redis to every request.".into(),
        claims: vec![
            claim(format!("scaling on CPU lags a step by about metric period + boot time (150 s): {} s", n(&lag)), lag.within(150.0, 175.0)),
            claim("spot is cheaper and gets interrupted".into(), r.m("spot", &c::FLEET_COST_PER_HOUR).less_than(r.m("target-tracking", &c::FLEET_COST_PER_HOUR)) && r.m("spot", &c::FLEET_SPOT_INTERRUPTIONS).greater_than(0.0)),
            claim(format!("a deploy with sessions in memory loses them unless it drains: {} vs {}", n(&cut), n(&drained)), cut.greater_than(20.0 * drained.floored(1.0))),
            claim("shared sessions lose none in a deploy".into(), r.m("deploy-shared", &c::DEPLOY_SESSIONS_LOST).equals(0.0)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::summary::testing::summary_of;

    #[test]
    fn every_bundled_model_is_a_topic_in_playbook_order() {
        let names: Vec<&str> = TOPICS.iter().map(|t| t.name).collect();
        let lessons: Vec<&str> = crate::playbook::lessons().map(|(_, l)| l.model).collect();
        assert_eq!(names, lessons);
        for (old, new) in [("hot-spots", "mega-proxy"), ("revocation", "jwt-revocation"), ("carts", "shopping-cart"), ("scaling", "autoscaling")] {
            assert_eq!(find(old).map(|t| t.name), Some(new));
        }
    }

    #[test]
    fn a_metric_not_reported_is_never_zero() {
        let s = summary_of(&[("a", &[(c::REQUESTS_FAILED.key, &[0.0, 0.0])])]);
        let r = Run { summary: &s, missing: RefCell::new(Vec::new()) };
        assert!(r.m("a", &c::REQUESTS_FAILED).equals(0.0));
        // Declared but not reported: an `equals(0.0)` claim on it must not hold.
        assert!(!r.m("a", &c::CARTS_LOST).equals(0.0));
        assert_eq!(n(r.m("a", &c::CARTS_LOST)), "n/a");
        let missing = r.missing.into_inner();
        assert_eq!(missing, ["m did not report carts.lost in variant a"]);
    }

    /// The claims hold on the interval over the replications: sticky-hashing's "a ring
    /// logs out about 1/n" fails when only replication 0 is near 1/n.
    #[test]
    fn a_claim_that_holds_on_one_lucky_draw_fails() {
        let share = c::SESSIONS_STATE_LOST_SHARE.key;
        let story = |ring: &[f64]| {
            let s = summary_of(&[
                ("ip-hash", &[(share, &[0.9, 0.91, 0.89, 0.9, 0.9])]),
                ("consistent-hash", &[(share, ring)]),
                ("cookie", &[(share, &[0.1, 0.1, 0.11, 0.09, 0.1])]),
            ]);
            let r = Run { summary: &s, missing: RefCell::new(Vec::new()) };
            sticky_hashing(&r).claims
        };
        let holds = |claims: &[Claim]| claims.iter().map(|c| c.holds).collect::<Vec<_>>();
        assert_eq!(holds(&story(&[0.1, 0.11, 0.09, 0.1, 0.1])), [true, true, true]);
        let lucky = story(&[0.1, 0.2, 0.25, 0.18, 0.22]);
        assert_eq!(holds(&lucky), [true, false, true]);
        assert!(lucky[1].text.ends_with("19% ± 7%"), "{}", lucky[1].text);
    }
}
