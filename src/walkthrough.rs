//! Interview walkthroughs: each topic asks a system-design question, gives the tempting
//! answer, runs the bundled models live, and shows in numbers what goes wrong, the
//! senior answer, and the trade-off it brings back.
//!
//! Every number in the text is read from the run. Every claim the text makes is also a
//! [`Claim`] evaluated on the same numbers; `tests/walkthrough.rs` fails if any is false.

use crate::bundled;
use crate::metrics::ModelSummary;
use crate::report::table::sig3;
use crate::scenario::load_str;
use crate::sweep::{run_and_summarize, RunOptions};
use rayon::prelude::*;

/// A topic and the bundled models it runs.
pub struct Topic {
    pub name: &'static str,
    pub question: &'static str,
    pub models: &'static [&'static str],
}

pub const TOPICS: &[Topic] = &[
    Topic { name: "crash-test", question: "One of your ten app servers dies. Who notices?", models: &["crash-test"] },
    Topic { name: "sticky-hashing", question: "If sessions must be sticky, how should the load balancer hash?", models: &["sticky-hashing"] },
    Topic { name: "hot-spots", question: "Your biggest customer sits behind one corporate NAT. What happens to your fleet?", models: &["mega-proxy"] },
    Topic { name: "session-latency", question: "Sessions in Redis or JWTs: which is faster, and what breaks when Redis struggles?", models: &["session-latency"] },
    Topic { name: "revocation", question: "You fired someone. How long do they keep getting in?", models: &["jwt-revocation"] },
    Topic { name: "carts", question: "Where does a guest's shopping cart live?", models: &["shopping-cart"] },
    Topic { name: "rate-limits", question: "Rate-limit an API that runs on four servers.", models: &["rate-limits"] },
    Topic { name: "load-balancing", question: "Which load-balancing algorithm would you pick?", models: &["load-balancing"] },
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
}

pub fn find(name: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.name == name)
}

/// Metric lookups on a summary.
struct Run<'a>(&'a ModelSummary);

impl Run<'_> {
    fn m(&self, variant: &str, key: &str) -> f64 {
        let v = self.0.variants.iter().find(|v| v.name == variant).unwrap_or_else(|| panic!("{} has no variant {variant}", self.0.model));
        v.metrics.get(key).map_or(0.0, |e| e.mean)
    }
}

fn pct(x: f64) -> String {
    format!("{}%", sig3(x * 100.0))
}

fn n(x: f64) -> String {
    if x.abs() >= 1000.0 || (x - x.round()).abs() < 1e-9 {
        let s = format!("{:.0}", x.round());
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        sig3(x)
    }
}

fn section(heading: &'static str, text: String) -> Section {
    Section { heading, text }
}

fn claim(text: String, holds: bool) -> Claim {
    Claim { text, holds }
}

/// Runs a topic's models (in parallel) and writes its walkthrough.
pub fn run(topic: &Topic) -> Walkthrough {
    let summaries: Vec<ModelSummary> = topic
        .models
        .par_iter()
        .map(|name| {
            let b = bundled::find(name).expect("a bundled model");
            let model = load_str(b.path, b.name, b.text, &[]).expect("bundled models validate");
            run_and_summarize(&model, &RunOptions::default(), &|| {}).0
        })
        .collect();
    let runs = summaries.iter().map(|s| (s.model.clone(), s.seed)).collect();
    let r = Run(&summaries[0]);
    let (sections, claims) = match topic.name {
        "crash-test" => crash_test(&r),
        "sticky-hashing" => sticky_hashing(&r),
        "hot-spots" => hot_spots(&r),
        "session-latency" => session_latency(&r),
        "revocation" => revocation(&r),
        "carts" => carts(&r),
        "rate-limits" => rate_limits(&r),
        "load-balancing" => load_balancing(&r),
        other => unreachable!("topic {other} has no text"),
    };
    Walkthrough { topic: topic.name, question: topic.question, runs, sections, claims }
}

type Parts = (Vec<Section>, Vec<Claim>);

fn crash_test(r: &Run) -> Parts {
    let share = r.m("sticky-memory", "sessions.logged_out_share");
    let users = r.m("sticky-memory", "sessions.logged_out_users");
    let carts = r.m("sticky-memory", "carts.lost");
    let items = r.m("sticky-memory", "carts.items_lost");
    let failed: Vec<f64> = ["sticky-memory", "redis", "jwt"].iter().map(|v| r.m(v, "requests.failed") + r.m(v, "requests.retried_after_failure")).collect();
    let redis_ops = r.m("redis", "redis.ops_per_s");
    let redis_auth = r.m("redis", "auth_ms.p50");
    (
        vec![
            section("The tempting answer", "\"Sticky sessions: each user stays on one server, which keeps their session and cart in memory. If a server dies, the load balancer routes around it.\"".into()),
            section(
                "What the run shows",
                format!(
                    "20,000 users on 10 servers; server-5 is killed at minute 5. The load balancer does route around it: only {} requests were on server-5 at that instant. But with sessions in server memory, {} users ({} of the active users, about 1/10) were logged out, and {} carts ({} items) vanished.",
                    n(failed[0]), n(users), pct(share), n(carts), n(items)
                ),
            ),
            section("The senior answer", "\"Keep the web tier stateless: sessions in a shared store (Redis) or in a signed token (JWT), carts in the database. Then any server can serve any request and a dead server takes only its in-flight requests with it.\"".into()),
            section(
                "Its numbers",
                format!("The same kill: Redis sessions logged out {} users and JWT {}; neither lost a cart. The kill hit {} and {} requests (idempotent ones were retried elsewhere).", n(r.m("redis", "sessions.logged_out_users")), n(r.m("jwt", "sessions.logged_out_users")), n(failed[1]), n(failed[2])),
            ),
            section(
                "The trade-off",
                format!("Redis is now on every request's path: {} lookups per second here and {} ms added at p50, and a shared dependency that can fail (see the session-latency topic). A JWT cannot be taken back before it expires (see revocation).", n(redis_ops), sig3(redis_auth)),
            ),
        ],
        vec![
            claim(format!("sticky-memory logs out about 1/n = 10% of active users: {}", pct(share)), (share - 0.1).abs() < 0.03),
            claim(format!("sticky-memory loses carts: {}", n(carts)), carts > 0.0),
            claim("Redis and JWT sessions log out no one and lose no cart".into(), r.m("redis", "sessions.logged_out_users") == 0.0 && r.m("jwt", "sessions.logged_out_users") == 0.0 && r.m("redis", "carts.lost") == 0.0 && r.m("jwt", "carts.lost") == 0.0),
            claim(format!("the kill itself hits only a handful of requests in every variant: {}", failed.iter().map(|f| n(*f)).collect::<Vec<_>>().join(", ")), failed.iter().all(|f| *f <= 1004.0)),
            claim(format!("Redis sessions add at least a round trip (0.3 ms): {} ms", sig3(redis_auth)), redis_auth >= 0.3),
        ],
    )
}

fn sticky_hashing(r: &Run) -> Parts {
    let (ip, ring, cookie) = (r.m("ip-hash", "sessions.logged_out_share"), r.m("consistent-hash", "sessions.logged_out_share"), r.m("cookie", "sessions.logged_out_share"));
    (
        vec![
            section("The tempting answer", "\"hash(client IP) modulo the number of servers: no state in the load balancer, and each client always lands on the same server.\"".into()),
            section(
                "What the run shows",
                format!("10 servers, sessions in server memory, server-3 dies. With modulo hashing the divisor changes from 10 to 9 and almost every client is re-hashed: {} of active users were logged out, not 1/10.", pct(ip)),
            ),
            section("The senior answer", "\"If you must be sticky, use a consistent-hash ring with virtual nodes, or a cookie that names the server: a failure moves only the dead server's users. Better still, don't need stickiness.\"".into()),
            section("Its numbers", format!("The ring logged out {} and cookie affinity {}: about 1/n.", pct(ring), pct(cookie))),
            section("The trade-off", "Even 1/n is users logged out on every failure and deploy; and stickiness by IP pins everyone behind a NAT to one server (see hot-spots).".into()),
        ],
        vec![
            claim(format!("modulo ip-hash logs out about (n-1)/n = 90%: {}", pct(ip)), (ip - 0.9).abs() < 0.05),
            claim(format!("a consistent-hash ring logs out about 1/n: {}", pct(ring)), (ring - 0.1).abs() < 0.04),
            claim(format!("cookie affinity logs out about 1/n: {}", pct(cookie)), (cookie - 0.1).abs() < 0.04),
        ],
    )
}

fn hot_spots(r: &Run) -> Parts {
    let hot = r.m("ip-hash-sticky", "servers.routed_share_max");
    let (f, servers) = (0.2, 10.0);
    let theory = f + (1.0 - f) / servers;
    let p99 = r.m("ip-hash-sticky", "latency_ms.p99");
    let p99_rr = r.m("round-robin-shared", "latency_ms.p99");
    let drops = r.m("ip-hash-sticky", "failed.overloaded_503");
    let idle = r.m("ip-hash-sticky", "servers.utilisation_min");
    (
        vec![
            section("The tempting answer", "\"Sticky by client IP, sessions in server memory: the load balancer spreads IPs evenly.\"".into()),
            section(
                "What the run shows",
                format!(
                    "50,000 users, 10,000 of them (f = 0.2) behind one NAT IP, 10 servers. ip-hash sends that whole IP to one server, which receives {} of all requests (theory: f + (1-f)/n = {}). It saturates: p99 {} ms and {} requests refused with 503, while the least busy server idles at {} utilisation.",
                    pct(hot), pct(theory), n(p99), n(drops), pct(idle)
                ),
            ),
            section("The senior answer", "\"Round robin (or least connections) with sessions in a shared store: a request can go anywhere, so no client can pin a server.\"".into()),
            section("Its numbers", format!("Round robin with Redis sessions: the busiest server gets {}, p99 {} ms, {} failures.", pct(r.m("round-robin-shared", "servers.routed_share_max")), n(p99_rr), n(r.m("round-robin-shared", "requests.failed")))),
            section("The trade-off", format!("Every request now reads the session from Redis: {} lookups per second.", n(r.m("round-robin-shared", "redis.ops_per_s")))),
        ],
        vec![
            claim(format!("the NAT's server gets f + (1-f)/n = {} of requests: {}", pct(theory), pct(hot)), (hot - theory).abs() < 0.01),
            claim(format!("the hot server's p99 explodes: {} ms vs {} ms", n(p99), n(p99_rr)), p99 > 5.0 * p99_rr),
            claim(format!("it drops requests ({}) while another server is below half load ({})", n(drops), pct(idle)), drops > 0.0 && idle < 0.5),
            claim("round robin with shared sessions stays balanced and fails nothing".into(), r.m("round-robin-shared", "servers.routed_share_max") < 0.11 && r.m("round-robin-shared", "requests.failed") == 0.0),
        ],
    )
}

fn session_latency(r: &Run) -> Parts {
    let redis = r.m("redis", "auth_ms.p50");
    let algs = [("jwt-hs256", "HS256"), ("jwt-rs256", "RS256"), ("jwt-es256", "ES256"), ("jwt-eddsa", "EdDSA")];
    let jwt: Vec<String> = algs.iter().map(|(v, a)| format!("{a} {} ms", sig3(r.m(v, "auth_ms.p50")))).collect();
    let (p99_r, p99_j) = (r.m("redis-110k", "latency_ms.p99"), r.m("jwt-hs256-110k", "latency_ms.p99"));
    let down = r.m("redis-down", "failed.redis_unavailable");
    (
        vec![
            section("The tempting answer", "\"Sessions in Redis are fast enough: Redis does 100,000 operations per second.\"".into()),
            section(
                "What the run shows",
                format!(
                    "At 20,000 requests per second a reference token costs a Redis round trip: {} ms at p50, with Redis {} busy. Verifying a JWT costs only CPU: {}. At 110,000 requests per second Redis passes its capacity ({} busy) and reference-token p99 becomes {} ms, while JWT's stays at {} ms. With Redis down for 10 s, {} reference-token requests failed.",
                    sig3(redis),
                    pct(r.m("redis", "redis.utilisation")),
                    jwt.join(", "),
                    pct(r.m("redis-110k", "redis.utilisation")),
                    n(p99_r),
                    n(p99_j),
                    n(down)
                ),
            ),
            section("The senior answer", "\"Use a signed token for authentication on the hot path (HS256 or EdDSA are cheap to verify), keep Redis off the per-request path or shard it, and decide up front what happens when it is down.\"".into()),
            section("Its numbers", format!("A JWT with a per-request blocklist in Redis goes on through the outage when it fails open: {} failures.", n(r.m("jwt-blocklist-down", "requests.failed")))),
            section("The trade-off", "A JWT is valid until it expires: revoking one needs a blocklist, which brings the Redis lookup back (see revocation).".into()),
        ],
        vec![
            claim(format!("a reference token adds at least a Redis round trip: {} ms >= 0.3 ms", sig3(redis)), redis >= 0.3),
            claim("every JWT algorithm verifies faster than a Redis round trip".into(), algs.iter().all(|(v, _)| r.m(v, "auth_ms.p50") < redis)),
            claim(format!("past Redis's capacity reference-token p99 explodes ({} ms) while JWT's does not ({} ms)", n(p99_r), n(p99_j)), p99_r > 20.0 * p99_j),
            claim(format!("with Redis down, reference-token requests fail ({}) and fail-open JWT blocklists go on", n(down)), down > 0.0 && r.m("jwt-blocklist-down", "requests.failed") == 0.0),
        ],
    )
}

fn revocation(r: &Run) -> Parts {
    let (mean, max) = (r.m("jwt-only", "revocation.exposure_mean_s"), r.m("jwt-only", "revocation.exposure_max_s"));
    let lifetime = 600.0;
    let per_req = r.m("jwt-blocklist", "revocation.exposure_max_s");
    let cached = r.m("jwt-blocklist-cached", "revocation.exposure_max_s");
    (
        vec![
            section("The tempting answer", "\"We use JWTs, so we are stateless. When someone is fired we disable the account.\"".into()),
            section(
                "What the run shows",
                format!("Tokens live 10 minutes. After the ban a fired user kept getting in for {} s on average and up to {} s: about half the lifetime on average and at most all of it, until the token's refresh finally checked the account.", n(mean), n(max)),
            ),
            section("The senior answer", "\"Keep a blocklist of revoked token ids: checked in Redis on every request, or cached on each server and refreshed every few seconds. Or use reference tokens, revoked by deleting them.\"".into()),
            section(
                "Its numbers",
                format!("A per-request blocklist cut the exposure to {} s (a round trip), a cached one refreshed every 10 s to at most {} s, reference tokens to {} s.", sig3(per_req), sig3(cached), sig3(r.m("reference-token", "revocation.exposure_max_s"))),
            ),
            section(
                "The trade-off",
                format!("The per-request blocklist pays {} Redis lookups per request (and Redis is back on the hot path); the cached one {} per request, for a window of up to its refresh period.", sig3(r.m("jwt-blocklist", "revocation.lookups_per_request")), sig3(r.m("jwt-blocklist-cached", "revocation.lookups_per_request"))),
            ),
        ],
        vec![
            claim(format!("without a blocklist the mean exposure is about half the lifetime: {} s", n(mean)), (mean - lifetime / 2.0).abs() < 0.1 * lifetime),
            claim(format!("and at most the lifetime: {} s <= {} s", n(max), n(lifetime)), max <= lifetime),
            claim(format!("a per-request blocklist cuts it to about a round trip: {} s", sig3(per_req)), per_req < 0.1),
            claim(format!("a cached blocklist to at most its refresh period (10 s): {} s", sig3(cached)), cached <= 10.1),
            claim("the per-request blocklist costs at least a lookup per request".into(), r.m("jwt-blocklist", "revocation.lookups_per_request") >= 1.0),
        ],
    )
}

fn carts(r: &Run) -> Parts {
    let lost = r.m("server-memory", "carts.lost");
    let wasted = r.m("database", "carts.guest_writes_wasted");
    let writes = r.m("database", "database.writes");
    (
        vec![
            section("The tempting answer", "\"Keep the guest's cart in the session, in the server's memory, with sticky sessions.\"".into()),
            section("What the run shows", format!("10,000 guests, server-2 killed at minute 5: {} carts ({} items) were lost.", n(lost), n(r.m("server-memory", "carts.items_lost")))),
            section("The senior answer", "\"Keep the guest cart in the client (a cookie or localStorage) and merge it into the account's cart at login; or in the database.\"".into()),
            section(
                "Its numbers",
                format!("The client cart lost {} and wrote the database {} times (once per checkout). The database cart lost {} but wrote {} times, {} of them ({}) for carts that were abandoned.", n(r.m("client", "carts.lost")), n(r.m("client", "database.writes")), n(r.m("database", "carts.lost")), n(writes), n(wasted), pct(wasted / writes.max(1.0))),
            ),
            section("The trade-off", format!("Merging at login meets the account's saved cart: {} merges conflicted (both carts held items), and the product must decide what wins.", n(r.m("client", "carts.merge_conflicts")))),
        ],
        vec![
            claim(format!("server-memory carts are lost on a kill: {}", n(lost)), lost > 0.0),
            claim("client and database carts lose nothing".into(), r.m("client", "carts.lost") == 0.0 && r.m("database", "carts.lost") == 0.0),
            claim(format!("most database cart writes serve abandoned carts: {}", pct(wasted / writes.max(1.0))), wasted > 0.4 * writes),
            claim("the client cart writes the database once per checkout".into(), r.m("client", "database.writes") == r.m("client", "carts.merges")),
        ],
    )
}

fn rate_limits(r: &Run) -> Parts {
    let local = r.m("local-round-robin", "ratelimit.abuser_allowed_per_window");
    let fixed_sliding = r.m("redis-fixed-window", "ratelimit.abuser_max_sliding_window");
    let log = r.m("redis-sliding-log", "ratelimit.abuser_max_sliding_window");
    let by_ip = r.m("redis-by-ip", "ratelimit.wrongly_rejected");
    let open = r.m("redis-down-fail-open", "ratelimit.allowed_while_redis_down");
    let closed = r.m("redis-down-fail-closed", "failed.redis_unavailable");
    (
        vec![
            section("The tempting answer", "\"A counter per client in each server's memory: 20 requests per 10 s.\"".into()),
            section("What the run shows", format!("Four servers behind round robin each keep their own counter, so the abuser got {} requests per window: 4 x 20.", sig3(local))),
            section("The senior answer", "\"One counter in Redis, shared by every server, with a sliding window or a token bucket, keyed by user or API key, not by IP.\"".into()),
            section(
                "Its numbers",
                format!(
                    "A Redis fixed window held each aligned window to {} but let {} through in a window straddling a boundary; a sliding log never more than {}; a token bucket (b = 20, r = 2/s) at most {}. Keyed by IP, the limit turned away {} requests of ordinary users behind the NAT; keyed by user, {}.",
                    n(r.m("redis-fixed-window", "ratelimit.abuser_max_aligned_window")),
                    n(fixed_sliding),
                    n(log),
                    n(r.m("redis-token-bucket", "ratelimit.abuser_max_sliding_window")),
                    n(by_ip),
                    n(r.m("redis-fixed-window", "ratelimit.wrongly_rejected"))
                ),
            ),
            section(
                "The trade-off",
                format!("Each check costs a Redis round trip ({} ms at p50), and when Redis is down you choose: fail open let {} requests through unchecked, fail closed rejected {}.", sig3(r.m("redis-fixed-window", "ratelimit_check_ms.p50")), n(open), n(closed)),
            ),
        ],
        vec![
            claim(format!("local counters behind round robin let the abuser have N x L = 80 per window: {}", sig3(local)), (local - 80.0).abs() < 8.0),
            claim(format!("a Redis fixed window lets up to 2L = 40 through across a boundary: {}", n(fixed_sliding)), fixed_sliding > 30.0 && fixed_sliding <= 40.0),
            claim(format!("a sliding log never lets more than L = 20 through: {}", n(log)), log <= 20.0),
            claim(format!("keyed by IP the limit rejects users behind the NAT: {}", n(by_ip)), by_ip > 1000.0 && r.m("redis-fixed-window", "ratelimit.wrongly_rejected") == 0.0),
            claim("fail-open lets everything through while Redis is down, fail-closed nothing".into(), open > 10_000.0 && r.m("redis-down-fail-closed", "ratelimit.allowed_while_redis_down") == 0.0 && closed > 10_000.0),
        ],
    )
}

fn load_balancing(r: &Run) -> Parts {
    let (rr, random, lc, p2) = (r.m("round-robin", "latency_ms.p99"), r.m("random", "latency_ms.p99"), r.m("least-connections", "latency_ms.p99"), r.m("power-of-two", "latency_ms.p99"));
    (
        vec![
            section("The tempting answer", "\"Round robin, or random: every server gets the same share.\"".into()),
            section("What the run shows", format!("10 servers at about 75% load: the same share is not the same queue. p99 was {} ms with round robin and {} ms with random.", sig3(rr), sig3(random))),
            section("The senior answer", "\"Send work where the queue is short: least connections, or the power of two random choices, which needs no global view.\"".into()),
            section("Its numbers", format!("Least connections: p99 {} ms; power of two: {} ms; mean queue wait {} ms vs {} ms with round robin.", sig3(lc), sig3(p2), sig3(r.m("least-connections", "queue_wait_ms.mean")), sig3(r.m("round-robin", "queue_wait_ms.mean")))),
            section("The trade-off", format!("Queue-aware policies need connection counts at the load balancer; and no algorithm saves a hashed hot spot: ip-hash's p99 was {} ms with a NAT on one server.", n(r.m("ip-hash", "latency_ms.p99")))),
        ],
        vec![
            claim("least connections and power of two beat random at p99".into(), lc < random && p2 < random),
            claim("least connections waits less than round robin".into(), r.m("least-connections", "queue_wait_ms.mean") < r.m("round-robin", "queue_wait_ms.mean")),
            claim("hashing by IP makes a hot spot".into(), r.m("ip-hash", "latency_ms.p99") > 10.0 * rr),
        ],
    )
}
