//! The stories of the topics about where sessions and carts live and what a lost server or
//! a failing state tier costs them.

use super::*;

pub(super) fn crash_test(r: &Run) -> Story {
    let share = r.m("sticky-memory", &c::SESSIONS_STATE_LOST_SHARE);
    let users = r.m("sticky-memory", &c::SESSIONS_STATE_LOST_USERS);
    let carts = r.m("sticky-memory", &c::CARTS_LOST);
    let items = r.m("sticky-memory", &c::CARTS_ITEMS_LOST);
    let active = r.m("sticky-memory", &c::SESSIONS_ACTIVE_USERS);
    let failed: Vec<R> = ["sticky-memory", "redis", "jwt"].iter().map(|v| r.m(v, &c::REQUESTS_FAILED) + r.m(v, &c::REQUESTS_RETRIED)).collect();
    let redis_ops = r.m("redis", &c::REDIS_OPS_PER_S);
    let redis_auth = r.m("redis", &c::AUTH_MS.p50);
    Story {
            tempting: "\"Sticky sessions: each user stays on one server, which keeps their session and cart in memory. If a server dies, the load balancer routes around it.\"".into(),
            shows: format!(
                    "20,000 shoppers on 10 servers; server-5 is terminated at minute 5. The load balancer did route around the dead server, but it could not bring back what lived in it: the kill logged out {} users ({} of the {} active users, about 1/10) and lost {} carts ({} items), though only {} requests were on server-5 at that instant. (The playbook's own litmus test, 5,000 users with uploads in progress, is the topic litmus-test.)",
                    n(&users), pct(&share), n(&active), n(&carts), n(&items), n(&failed[0])
                ),
            senior: "\"Keep the web tier stateless: sessions in a shared store (Redis) or in a signed token (JWT), carts in the database. Then any server can serve any request: when one dies, the load balancer sends its requests elsewhere and a dead server takes only its in-flight requests with it.\"".into(),
            numbers: format!("Under the same kill Redis sessions logged out {} users and JWT {}; neither lost a cart. The kill hit {} and {} requests there (idempotent ones were retried elsewhere).", n(r.m("redis", &c::SESSIONS_STATE_LOST_USERS)), n(r.m("jwt", &c::SESSIONS_STATE_LOST_USERS)), n(&failed[1]), n(&failed[2])),
            trade_off: format!("Redis is now on every request's path: {} lookups per second here and {} ms added at p50, and a shared dependency that can fail (see session-latency and state-tier). A JWT cannot be taken back before it expires (see jwt-revocation).", n(&redis_ops), v(&redis_auth)),
        claims: vec![
            claim(format!("sticky-memory logs out about 1/n = 10% of active users: {}", pct(&share)), share.within(0.07, 0.13)),
            claim(format!("sticky-memory loses carts: {}", n(&carts)), carts.greater_than(0.0)),
            claim("Redis and JWT sessions log out no one and lose no cart".into(), r.m("redis", &c::SESSIONS_STATE_LOST_USERS).equals(0.0) && r.m("jwt", &c::SESSIONS_STATE_LOST_USERS).equals(0.0) && r.m("redis", &c::CARTS_LOST).equals(0.0) && r.m("jwt", &c::CARTS_LOST).equals(0.0)),
            claim(format!("the kill itself hits only a handful of requests in every variant: {}", failed.iter().map(n).collect::<Vec<_>>().join(", ")), failed.iter().all(|f| f.at_most(1004.0))),
            claim(format!("Redis sessions add at least a round trip (0.3 ms): {} ms", v(&redis_auth)), redis_auth.at_least(0.3)),
        ],
    }
}

pub(super) fn litmus_test(r: &Run) -> Story {
    let (sf, sl) = ("stateful", "stateless");
    let (sf_users, sf_carts, sf_uploads) = (r.m(sf, &c::SESSIONS_STATE_LOST_USERS), r.m(sf, &c::CARTS_LOST), r.m(sf, &c::UPLOADS_INTERRUPTED));
    let sf_active = r.m(sf, &c::SESSIONS_ACTIVE_USERS);
    let (retried, top, top_share) =
        (r.m(sl, &c::REQUESTS_RETRIED_ON_ANOTHER_SERVER), r.m(sl, &c::REQUESTS_RETRY_TOP_SERVER), r.m(sl, &c::REQUESTS_RETRY_TOP_SERVER_SHARE));
    let sl_failed = r.m(sl, &c::REQUESTS_FAILED);
    let sl_sent = r.m(sl, &c::REQUESTS_SENT);
    let sl_noticed = r.m(sl, &c::SESSIONS_STATE_LOST_USERS) + r.m(sl, &c::CARTS_LOST) + r.m(sl, &c::UPLOADS_INTERRUPTED);
    // The model's own numbers: its users, servers, file size and the kill.
    let sys = r.system(sf);
    let upload_mb = sys.uploads.as_ref().map_or(f64::NAN, |u| u.size.mean() / 1e6);
    let (killed, kill_min) = sys
        .faults
        .iter()
        .find_map(|f| match f.action {
            crate::scenario::FaultAction::Kill { server, .. } => Some((server + 1, f.at.as_secs_f64() / 60.0)),
            _ => None,
        })
        .unwrap_or((0, f64::NAN));
    Story {
            tempting: "\"Sticky sessions: each user stays on one server, which keeps their session and cart in memory and the files they upload on its disk. If a server dies, the load balancer routes around it.\"".into(),
            shows: format!(
                    "{} users on {} servers, some uploading {} MB files; server #{} is terminated at minute {}. In that one run the stateful design logged out {} users (user B: {} of the {} active ones), lost {} shopping carts (user A) and cut off {} uploads in progress. Health checks took server-{} out of rotation, but what lived in its memory and on its disk was gone.",
                    n(R::from(sys.clients.users as f64)),
                    n(R::from(sys.servers.count as f64)),
                    n(R::from(upload_mb)),
                    n(R::from(killed as f64)),
                    n(R::from(kill_min)),
                    n(&sf_users), pct(&sf_users / sf_active.floored(1.0)), n(&sf_active), n(&sf_carts), n(&sf_uploads),
                    n(R::from(killed as f64))
                ),
            senior: "\"Keep the web tier stateless: sessions in a signed token (JWT) or a shared store, carts in the database, files uploaded straight to S3 with a pre-signed URL. Then any server can serve any request: the load balancer retries what met the dead server on the next one, and nobody notices.\"".into(),
            numbers: format!("The stateless design under the same kill: {} requests that met the dead server (refused, or in flight on it) were retried on another server, {} of them on server-{}, the next one after server-{}. Nothing was lost ({} logouts, lost carts and cut-off uploads in all), and {} of {} requests failed: a request that is not idempotent is not sent twice.", n(&retried), pct(&top_share), n(&top), n(R::from(killed as f64)), n(&sl_noticed), n(&sl_failed), n(&sl_sent)),
            trade_off: format!("The state has moved, not gone: every cart change is a database write ({} of them here), each upload is signed by a server and stored in S3, and a JWT cannot be taken back before it expires (see jwt-revocation); the tier holding the state fails too (see state-tier).", n(r.m(sl, &c::DATABASE_WRITES))),
        claims: vec![
            claim(
                format!("in one run the stateful design logs users out ({}), loses carts ({}) and cuts off uploads in progress ({})", n(&sf_users), n(&sf_carts), n(&sf_uploads)),
                sf_users.greater_than(0.0) && sf_carts.greater_than(0.0) && sf_uploads.greater_than(0.0),
            ),
            claim(
                format!("the stateless design's load balancer retries on another server ({}), all on the one after server-{}: server-{} took {}", n(&retried), n(R::from(killed as f64)), n(&top), pct(&top_share)),
                retried.greater_than(0.0) && top.equals((killed % sys.servers.count + 1) as f64) && top_share.equals(1.0),
            ),
            claim(
                format!("and nobody notices: no one logged out, no cart or upload lost ({}), at most 1 request in 10,000 failed ({} of {})", n(&sl_noticed), n(&sl_failed), n(&sl_sent)),
                sl_noticed.equals(0.0) && sl_failed.at_most(1e-4 * &sl_sent),
            ),
        ],
    }
}

pub(super) fn sticky_hashing(r: &Run) -> Story {
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

pub(super) fn hot_spots(r: &Run) -> Story {
    let hot = r.m("ip-hash-sticky", &c::SERVERS_ROUTED_SHARE_MAX);
    let base = r.system("ip-hash-sticky");
    let servers = base.servers.count as f64;
    let group = base.clients.proxies.first().map_or(f64::NAN, |g| g.users as f64);
    let f = group / base.clients.users as f64;
    let theory = f + (1.0 - f) / servers;
    let p99 = r.m("ip-hash-sticky", &c::LATENCY_MS.p99);
    let p99_rr = r.m("round-robin-shared", &c::LATENCY_MS.p99);
    let drops = r.m("ip-hash-sticky", c::failed(FailReason::Overloaded));
    let idle = r.m("ip-hash-sticky", &c::SERVERS_UTILISATION_MIN);
    let melt = "playbook-ip-hash-meltdown";
    let hc = r.system(melt).load_balancer.health_check;
    let probe_timeout = hc.and_then(|h| h.timeout).map_or(f64::NAN, |t| t.as_secs_f64());
    let (replaced, nat_lost, nat_share, others) = (
        r.m(melt, &c::HEALTH_REPLACED),
        r.m(melt, &c::SESSIONS_PROXY_STATE_LOST_USERS),
        r.m(melt, &c::SESSIONS_PROXY_STATE_LOST_SHARE),
        r.m(melt, &c::SESSIONS_DIRECT_STATE_LOST_SHARE),
    );
    let window_min = r.m(melt, &c::RUN_WINDOW_S) / 60.0;
    Story {
        tempting: "\"Sticky sessions by IP hash, sessions in server memory: the load balancer spreads IPs evenly, and each user always lands on the server that holds their session.\"".into(),
        shows: format!(
            "{} users, {} of them (f = {}) behind one corporate NAT IP, {} servers. IP hash sends that whole IP to one server, which receives {} of all requests (theory: f + (1-f)/n = {}). It saturates: p99 {} ms and {} of {} requests refused with 503, while the least busy server idles at {} utilisation. Now let its health probes wait in its queue like any request ({} timeout), and let the health check replace a server it takes out of rotation: the hot server fails its probes and is terminated, and the sessions in its memory die with it. {} of the NAT's active users ({}) were logged out, against {} of everyone else; and the ring hands the NAT to the next server, which melts in turn: {} servers replaced in {} minutes.",
            n(R::from(base.clients.users as f64)),
            n(R::from(group)),
            v(R::from(f)),
            n(R::from(servers)),
            pct(&hot),
            pct(R::from(theory)),
            n(&p99),
            n(&drops),
            n(r.m("ip-hash-sticky", &c::REQUESTS_SENT)),
            pct(&idle),
            dur(probe_timeout),
            pct(&nat_share),
            n(&nat_lost),
            pct(&others),
            n(&replaced),
            v(&window_min)
        ),
        senior: "\"Round robin (or least connections) with sessions in a shared store: a request can go anywhere, so no client can pin a server, and a server's death takes no session with it.\"".into(),
        numbers: format!(
            "Round robin with Redis sessions: the busiest server gets {}, p99 {} ms, {} failures, {} users logged out.",
            pct(r.m("round-robin-shared", &c::SERVERS_ROUTED_SHARE_MAX)),
            n(&p99_rr),
            n(r.m("round-robin-shared", &c::REQUESTS_FAILED)),
            n(r.m("round-robin-shared", &c::SESSIONS_STATE_LOST_USERS))
        ),
        trade_off: format!("Every request now reads the session from Redis: {} lookups per second.", n(r.m("round-robin-shared", &c::REDIS_OPS_PER_S))),
        claims: vec![
            claim(format!("the NAT's server gets f + (1-f)/n = {} of requests: {}", pct(R::from(theory)), pct(&hot)), hot.within(theory - 0.01, theory + 0.01)),
            claim(format!("the hot server's p99 explodes: {} ms vs {} ms", n(&p99), n(&p99_rr)), p99.greater_than(5.0 * &p99_rr)),
            claim(
                format!("it drops requests ({}) while another server is below half load ({})", n(&drops), pct(&idle)),
                drops.greater_than(0.0) && idle.less_than(0.5),
            ),
            claim(format!("when its probes time out behind the queue, the health check replaces the hot server: {} replaced", n(&replaced)), replaced.at_least(1.0)),
            claim(
                format!("and the NAT's users are logged out together: {} of them ({} of the NAT's {}), against {} of the others", pct(&nat_share), n(&nat_lost), n(R::from(group)), pct(&others)),
                nat_share.greater_than(0.95) && nat_lost.within(0.9 * group, group) && nat_share.greater_than(2.0 * &others),
            ),
            claim(
                "round robin with shared sessions stays balanced and fails nothing".into(),
                r.m("round-robin-shared", &c::SERVERS_ROUTED_SHARE_MAX).less_than(0.11) && r.m("round-robin-shared", &c::REQUESTS_FAILED).equals(0.0),
            ),
        ],
    }
}

pub(super) fn session_latency(r: &Run) -> Story {
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

pub(super) fn revocation(r: &Run) -> Story {
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

pub(super) fn carts(r: &Run) -> Story {
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

pub(super) fn state_tier(r: &Run) -> Story {
    let users_lost = |v: &str| r.m(v, &c::SESSIONS_STATE_LOST_USERS);
    let lost = |v: &str| r.m(v, &c::REDIS_FAILOVER_LOST_WRITES);
    let expected = |v: &str| r.m(v, &c::REDIS_FAILOVER_LOST_WRITES_EXPECTED);
    let abuser = |v: &str| r.m(v, &c::RATELIMIT_ABUSER_ALLOWED_PER_WINDOW);
    let failed = |v: &str| r.m(v, c::failed(FailReason::RedisUnavailable));
    let p99 = |v: &str| r.m(v, &c::LATENCY_MS.p99);
    let stale = |v: &str| r.m(v, &c::DATABASE_STALE_AFTER_WRITE_SHARE);
    // The read replicas' lag, the users' mean think time and the other settings the text
    // names, as the model sets them.
    let base = r.system("lag-50ms");
    let secs = |d: &crate::engine::Distribution| d.mean() / 1e9;
    let lag_s = secs(&base.database.replication_lag);
    let think_s = match &base.clients.workload {
        crate::scenario::Workload::Closed { think_time } => secs(think_time),
        crate::scenario::Workload::Open { .. } => f64::NAN,
    };
    let short_lag_s = secs(&r.system("db-lag-200ms").database.replication_lag);
    let primary_after_s = r.system("db-primary-after-write").database.primary_after_write.as_secs_f64();
    let failover_s = base.redis.failover_after.as_secs_f64();
    let long_failover_s = r.system("failover-30s").redis.failover_after.as_secs_f64();
    let redis_lag = |v: &str| secs(&r.system(v).redis.replication_lag);
    let kill_s = base.faults.iter().map(|f| f.at.as_secs_f64()).next().unwrap_or(f64::NAN);
    let no_replica_failover_s = r.system("no-replica").redis.failover_after.as_secs_f64();
    let theory = 1.0 - f64::exp(-lag_s / think_s);
    let ratio = |v: &str| &lost(v) / expected(v).floored(1e-9);
    Story {
        tempting: "\"Make the web servers stateless: sessions, rate-limit counters and the blocklist go to Redis, carts to the database. Now a server can die and nobody notices.\"".into(),
        shows: format!(
            "The state did not go away; it moved to a tier of its own, which fails too. The Redis primary dies {} into the run. With no replica an empty Redis takes over {} later: {} users had to log in again, and the abuser's spent counter came back empty ({} requests allowed per one-minute window against a limit of 100; {} with a replica). Meanwhile every request that needed Redis failed: {} of them in those {}.",
            dur(kill_s),
            dur(no_replica_failover_s),
            n(users_lost("no-replica")),
            n(abuser("no-replica")),
            n(abuser("lag-50ms")),
            n(failed("no-replica")),
            dur(no_replica_failover_s)
        ),
        senior: "\"Give the state tier a replica and automatic failover, and know what it promises: with asynchronous replication the replica is promoted with what had reached it, so the writes of the last replication lag are lost: sessions, counter updates, bans. Watch the lag, keep failover short, and where a lost write is unacceptable (a ban, a payment) make the write wait for the replica or keep it in a durable store. For read replicas, read your own writes from the primary for a while after writing.\"".into(),
        numbers: format!(
            "The promoted replica lost {} writes at {} of lag, {} at {} and {} at {}: the write rate times the lag ({} and {} expected at {} and {}). At {} that was {} users logged out again and {} blocklist entries gone; {} requests of banned users were accepted after their ban had held (through a lost entry, or a blocklist check that failed open while Redis was away). A {} failover failed {} requests against {} in {}. Read replicas {} behind showed a stale cart on {} of the first reads after a write (theory for {} think times: 1 - e^(-L/T) = {}), {} at {}; reading from the primary for {} after a write made it {}.",
            n(lost("lag-50ms")),
            dur(redis_lag("lag-50ms")),
            n(lost("lag-500ms")),
            dur(redis_lag("lag-500ms")),
            n(lost("lag-5s")),
            dur(redis_lag("lag-5s")),
            v(expected("lag-50ms")),
            v(expected("lag-5s")),
            dur(redis_lag("lag-50ms")),
            dur(redis_lag("lag-5s")),
            dur(redis_lag("lag-5s")),
            n(users_lost("lag-5s")),
            n(r.m("jwt-blocklist", &c::REDIS_FAILOVER_LOST_BANS)),
            n(r.m("jwt-blocklist", &c::REVOCATION_ACCEPTED_AFTER_IN_FORCE)),
            dur(long_failover_s),
            n(failed("failover-30s")),
            n(failed("lag-50ms")),
            dur(failover_s),
            dur(lag_s),
            pct(stale("lag-50ms")),
            dur(think_s),
            pct(R::from(theory)),
            pct(stale("db-lag-200ms")),
            dur(short_lag_s),
            dur(primary_after_s),
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
            claim(format!("a replica's lost counter writes give the abuser nothing more, even at {} of lag: {}", dur(redis_lag("lag-5s")), n(abuser("lag-5s"))), abuser("lag-5s").equals(abuser("lag-50ms"))),
            claim(format!("writes lost are about rate x lag at {}: {} of expected", dur(redis_lag("lag-50ms")), v(ratio("lag-50ms"))), ratio("lag-50ms").within(0.7, 1.3)),
            claim(format!("and at {}: {} of expected", dur(redis_lag("lag-5s")), v(ratio("lag-5s"))), ratio("lag-5s").within(0.9, 1.1)),
            claim(format!("more lag, more users logged out again: {} at {}, {} at {}", n(users_lost("lag-5s")), dur(redis_lag("lag-5s")), n(users_lost("lag-50ms")), dur(redis_lag("lag-50ms"))), users_lost("lag-5s").greater_than(10.0 * &users_lost("lag-50ms"))),
            claim(format!("a lagging replica loses bans: {}", n(r.m("jwt-blocklist", &c::REDIS_FAILOVER_LOST_BANS))), r.m("jwt-blocklist", &c::REDIS_FAILOVER_LOST_BANS).greater_than(0.0)),
            claim(format!("a longer failover fails more requests: {} against {}", n(failed("failover-30s")), n(failed("lag-50ms"))), failed("failover-30s").greater_than(4.0 * &failed("lag-50ms"))),
            claim("WAIT loses no write".into(), lost("sync").equals(0.0)),
            claim(format!("and costs every write the lag: p99 {} ms against {} ms", v(p99("sync")), v(p99("lag-50ms"))), p99("sync").greater_than(10.0 * &p99("lag-50ms"))),
            claim(format!("the first read after a write is stale about 1 - e^(-L/T) = {} of the time: {}", pct(R::from(theory)), pct(stale("lag-50ms"))), stale("lag-50ms").within(theory - 0.02, theory + 0.02)),
            claim("reading from the primary after a write leaves no stale read".into(), r.m("db-primary-after-write", &c::DATABASE_STALE_READS).equals(0.0)),
        ],
    }
}
