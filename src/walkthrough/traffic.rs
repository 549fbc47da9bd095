//! The stories of the topics about traffic: rate limits, load balancing, files, real-time
//! connections, long jobs and scaling.

use super::*;

pub(super) fn rate_limits(r: &Run) -> Story {
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

pub(super) fn load_balancing(r: &Run) -> Story {
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

pub(super) fn url_expiry(r: &Run) -> Story {
    let spec = |variant: &str| r.system(variant).uploads.expect("url-expiry uploads files");
    let (short, long) = (spec("one-put").url_expiry.as_secs_f64(), spec("one-put-1h").url_expiry.as_secs_f64());
    let part_mb = spec("multipart").part_bytes.expect("multipart has parts") / 1e6;
    let expired = |v: &str| r.m(v, &c::UPLOADS_URL_EXPIRED_SHARE);
    let (steady_p99, steady) = (r.m("steady", &c::UPLOADS_LATENCY_P99), expired("steady"));
    let (one_put, multipart, fresh, one_put_long) = (expired("one-put"), expired("multipart"), expired("multipart-fresh-url"), expired("one-put-1h"));
    let (resent_fresh, resent_long) = (r.m("multipart-fresh-url", &c::UPLOADS_DROPPED_RESENT_MB), r.m("one-put-1h", &c::UPLOADS_DROPPED_RESENT_MB));
    let refreshes = r.m("multipart-fresh-url", &c::UPLOADS_URL_REFRESHES);
    let wasted = r.m("multipart", &c::UPLOADS_EXPIRED_WASTED_MB);
    Story {
        tempting: format!("\"The URL is valid for {}, so an upload must finish within {}: make it valid for longer, just in case.\"", dur(short), dur(short)),
        shows: format!(
            "S3 checks the URL when a PUT begins. Over a steady connection none of the uploads failed ({}), though the videos took {} ms at p99, well past {}. What expires is a PUT begun late: over a connection that drops about every 10 minutes, one PUT sent again after the {} failed {} of uploads, and {part_mb:.0} MB parts signed once failed {} of them, sending {} MB in vain.",
            pct(&steady),
            n(&steady_p99),
            dur(short),
            dur(short),
            pct(&one_put),
            pct(&multipart),
            n(&wasted)
        ),
        senior: format!(
            "\"Keep the URL short-lived and upload large files in parts; when the URL has expired before the next part, the client asks the server for a fresh one. Whoever sees a URL can use it until it expires: {}, not {}.\"",
            dur(short),
            dur(long)
        ),
        numbers: format!(
            "Parts with a fresh URL when one had expired failed {} ({} fresh URLs, one round trip each) and sent {} MB again after drops, one part at a time. One PUT with a URL valid for {} failed {} but sent {} MB again: after each drop the whole file.",
            pct(&fresh),
            n(&refreshes),
            n(&resent_fresh),
            dur(long),
            pct(&one_put_long),
            n(&resent_long)
        ),
        trade_off: format!(
            "A longer URL trades failures for exposure ({} in the wrong hands instead of {}) and whole files sent again; parts need the client to track them and the server to sign again, and S3 to be told to complete (or abort) the upload.",
            dur(long),
            dur(short)
        ),
        claims: vec![
            claim(
                format!("a PUT begun in time finishes: over a steady connection {} failed, with videos taking {} ms at p99", pct(&steady), n(&steady_p99)),
                steady.equals(0.0) && steady_p99.greater_than(short * 1e3),
            ),
            claim(format!("a PUT sent again after the expiry fails: {} of uploads", pct(&one_put)), one_put.greater_than(0.0)),
            claim(format!("parts signed once fail more: {} against {}", pct(&multipart), pct(&one_put)), multipart.greater_than(&one_put)),
            claim(
                format!("a fresh URL when one expired: none failed ({}), {} fresh URLs", pct(&fresh), n(&refreshes)),
                fresh.equals(0.0) && refreshes.greater_than(0.0),
            ),
            claim(
                format!(
                    "a longer URL fails less ({} against {}) but sends more again: {} MB against {} MB",
                    pct(&one_put_long),
                    pct(&one_put),
                    n(&resent_long),
                    n(&resent_fresh)
                ),
                one_put_long.less_than(&one_put) && resent_long.greater_than(5.0 * &resent_fresh),
            ),
        ],
    }
}

pub(super) fn files(r: &Run) -> Story {
    let share = r.m("local-disk", &c::READS_NOT_FOUND_SHARE);
    let lost = r.m("local-disk", &c::FILES_LOST);
    let through_mb = r.m("through-server", &c::UPLOADS_SERVER_MB);
    let through_threads = r.m("through-server", &c::UPLOADS_SERVER_WORKER_S);
    let (page_through, page_presigned) = (r.m("through-server", &c::PAGE_LATENCY_P99), r.m("presigned", &c::PAGE_LATENCY_P99));
    let (cut, resent) = (r.m("through-server", &c::UPLOADS_INTERRUPTED), r.m("through-server", &c::UPLOADS_INTERRUPTED_RESENT_MB));
    let presigned_cut = r.m("presigned", &c::UPLOADS_INTERRUPTED);
    Story {
        tempting: "\"Save the upload on the server's disk and serve it from there.\"".into(),
        shows: format!(
            "4 servers behind round robin: {} of reads asked a server that did not have the file and got 404, about (n-1)/n = 75%; and when server-2 died, {} files died with it.",
            pct(&share),
            n(&lost)
        ),
        senior: "\"Put files in object storage (S3), and let the client upload straight to it with a pre-signed URL the server signs.\"".into(),
        numbers: format!(
            "Both S3 variants lost {} and {} files and never answered 404. Streaming through the server moved {} MB through the servers and held their threads for {} thread-seconds, and page p99 rose to {} ms; pre-signed uploads moved {} MB through them, with page p99 {} ms. When server-2 died it interrupted {} uploads streaming through it, whose clients had to send {} MB again; pre-signed, the kill interrupted {}.",
            n(r.m("through-server", &c::FILES_LOST)),
            n(r.m("presigned", &c::FILES_LOST)),
            n(&through_mb),
            n(&through_threads),
            n(&page_through),
            n(r.m("presigned", &c::UPLOADS_SERVER_MB)),
            n(&page_presigned),
            n(&cut),
            n(&resent),
            n(&presigned_cut)
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
            claim(
                format!(
                    "a kill interrupts only uploads streaming through the server: {} in all {} replications ({} MB to send again), none pre-signed ({})",
                    n(R::from(cut.values().iter().sum::<f64>())),
                    cut.values().len(),
                    n(R::from(resent.values().iter().sum::<f64>())),
                    n(&presigned_cut)
                ),
                cut.values().iter().sum::<f64>() > 0.0 && presigned_cut.equals(0.0),
            ),
            claim("pre-signed uploads use no server bandwidth".into(), r.m("presigned", &c::UPLOADS_SERVER_MB).equals(0.0) && through_mb.greater_than(0.0)),
            claim(
                format!("uploads through the server crowd out ordinary requests: p99 {} vs {} ms", n(&page_through), n(&page_presigned)),
                page_through.greater_than(2.0 * &page_presigned),
            ),
        ],
    }
}

pub(super) fn real_time(r: &Run) -> Story {
    let local = r.m("local", &c::WS_DROPPED) / r.m("local", &c::WS_MESSAGES_SENT).floored(1.0);
    let storm = r.m("pubsub", &c::WS_RECONNECTS_PEAK_PER_S);
    let jittered = r.m("pubsub-jittered", &c::WS_RECONNECTS_PEAK_PER_S);
    let (node_reconnects, node_peak, node_lost) = (
        r.m("gateway-node-dies", &c::WS_RECONNECTS),
        r.m("gateway-node-dies", &c::WS_RECONNECTS_PEAK_PER_S),
        r.m("gateway-node-dies", &c::WS_LOST_DISCONNECTED),
    );
    let (fan, per_user) = ("playbook-1000-servers-fanout", "playbook-1000-servers-per-user-channels");
    let fleet = r.system(fan).servers.count as f64;
    let (fan_per_msg, user_per_msg) = (r.m(fan, &c::WS_PUBSUB_RECEIPTS_PER_MESSAGE), r.m(per_user, &c::WS_PUBSUB_RECEIPTS_PER_MESSAGE));
    let (fan_pushes, user_pushes) = (r.m(fan, &c::WS_PUBSUB_PUSHES_PER_S), r.m(per_user, &c::WS_PUBSUB_PUSHES_PER_S));
    let (fan_busy, user_busy) = (r.m(fan, &c::REDIS_UTILISATION), r.m(per_user, &c::REDIS_UTILISATION));
    let (fan_p99, user_p99) = (r.m(fan, &c::WS_LATENCY_P99), r.m(per_user, &c::WS_LATENCY_P99));
    Story {
            tempting: "\"Each server keeps a map of its WebSocket connections and delivers messages to them.\"".into(),
            shows: format!("10,000 users on 4 servers message each other: {} of the {} messages were dropped, because the receiver was on another server's map (about (n-1)/n).", pct(&local), n(r.m("local", &c::WS_MESSAGES_SENT))),
            senior: "\"Bridge the servers with Redis pub/sub (every server subscribes; the one holding the receiver delivers), or put an external gateway in front that holds the connections and calls stateless handlers.\"".into(),
            numbers: format!("Pub/sub delivered {} of messages and the gateway {}. When server-2 died, its clients reconnected all at once: {} reconnects in one second; with jittered backoff the peak was {}.", pct(r.m("pubsub", &c::WS_DELIVERED_SHARE)), pct(r.m("gateway", &c::WS_DELIVERED_SHARE)), n(&storm), n(&jittered)),
            trade_off: format!("With one broadcast channel, as here, every message is pushed to every server: {} pushes per message with 4 servers, {} with 16, so Redis's load grows with the fleet. Spin up {} nodes, as statelessness promises, and every message is pushed {} times: {} pushes per second, Redis {} busy, message p99 {} ms. A channel per user (user_b_inbox), which only the server holding that user subscribes to, pushes it {} times: {} pushes per second, Redis {} busy, p99 {} ms. A gateway only moves the failure: when one of its two nodes died, its {} clients reconnected, {} of them in one second. And neither delivers more than once: pub/sub lost {} of messages ({}) and the gateway node's death {}, messages from or to users between a dropped connection and the next, so a chat keeps messages in a store (a stream or a mailbox) that a client reads from where it left off.", v(r.m("pubsub", &c::WS_PUBSUB_RECEIPTS_PER_MESSAGE)), v(r.m("pubsub-16-servers", &c::WS_PUBSUB_RECEIPTS_PER_MESSAGE)), n(R::from(fleet)), v(&fan_per_msg), n(&fan_pushes), pct(&fan_busy), v(&fan_p99), v(&user_per_msg), n(&user_pushes), pct(&user_busy), v(&user_p99), n(&node_reconnects), n(&node_peak), pct(1.0 - r.m("pubsub", &c::WS_DELIVERED_SHARE)), n(r.m("pubsub", &c::WS_DROPPED)), n(&node_lost)),
        claims: vec![
            claim(format!("local maps drop about (n-1)/n of messages: {}", pct(&local)), local.greater_than(0.6) && local.less_than(0.76)),
            claim("pub/sub and the gateway deliver them".into(), r.m("pubsub", &c::WS_DELIVERED_SHARE).greater_than(0.98) && r.m("gateway", &c::WS_DELIVERED_SHARE).greater_than(0.98)),
            claim(format!("a kill makes a reconnect storm ({}/s) that jitter flattens ({}/s)", n(&storm), n(&jittered)), storm.greater_than(4.0 * &jittered)),
            claim("one broadcast channel pushes each message to every server".into(), r.m("pubsub-16-servers", &c::WS_PUBSUB_RECEIPTS_PER_MESSAGE).within(15.5, 16.5)),
            claim(
                format!("on {} servers a broadcast channel pushes each message to about all of them ({}), a per-user channel once at most ({})", n(R::from(fleet)), v(&fan_per_msg), v(&user_per_msg)),
                fan_per_msg.greater_than(0.99 * fleet) && user_per_msg.values().iter().all(|&x| x <= 1.0),
            ),
            claim(format!("and the fan-out costs Redis far more: {} busy against {}", pct(&fan_busy), pct(&user_busy)), fan_busy.greater_than(20.0 * &user_busy)),
            claim(format!("pub/sub delivers at most once: {} messages lost", n(r.m("pubsub", &c::WS_DROPPED))), r.m("pubsub", &c::WS_DROPPED).greater_than(0.0)),
            claim("a server's death drops no gateway connection".into(), r.m("gateway", &c::WS_RECONNECTS).equals(0.0) && r.m("gateway", &c::WS_DROPPED).equals(0.0)),
            claim(
                format!("a gateway node's death drops its connections: {} reconnects, {} messages lost", n(&node_reconnects), n(&node_lost)),
                node_reconnects.equals(5000.0) && node_lost.greater_than(0.0),
            ),
        ],
    }
}

pub(super) fn long_jobs(r: &Run) -> Story {
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

pub(super) fn scaling(r: &Run) -> Story {
    let lag = r.m("target-tracking", &c::FLEET_SCALE_OUT_LAG_S);
    let cut = r.m("deploy-memory-cut", &c::DEPLOY_SESSIONS_LOST);
    let drained = r.m("deploy-memory-drain", &c::DEPLOY_SESSIONS_LOST);
    let (disk_lost, disk_stored, scale_ins) =
        (r.m("scale-in-local-disk", &c::FILES_LOST), r.m("scale-in-local-disk", &c::FILES_STORED), r.m("scale-in-local-disk", &c::FLEET_SCALE_INS));
    let s3_lost = r.m("scale-in-s3", &c::FILES_LOST);
    Story {
            tempting: "\"Autoscaling handles it: it adds servers when CPU is high.\"".into(),
            shows: format!("The rate triples at minute 10. A fixed fleet of 3 failed {} requests. Scaling on CPU added servers, but the first one entered rotation {} s after the step (a 60 s metric period plus a 90 s boot, plus health checks); {} requests failed in that gap.", n(r.m("fixed", &c::REQUESTS_FAILED)), n(&lag), n(r.m("target-tracking", &c::REQUESTS_FAILED))),
            senior: "\"Scale on a leading signal or schedule ahead of known peaks, keep boot times short, run part of the fleet on spot, and keep servers stateless so instances can come and go.\"".into(),
            numbers: format!("Cost per hour: fixed-large {}, target tracking {}, with half on spot {} (and {} spot interruptions). A rolling deploy with sessions in server memory cut {} sessions; draining them for the session lifetime lost {} but took {} s instead of {} s; with sessions in Redis it lost {}.", v(r.m("fixed-large", &c::FLEET_COST_PER_HOUR)), v(r.m("target-tracking", &c::FLEET_COST_PER_HOUR)), v(r.m("spot", &c::FLEET_COST_PER_HOUR)), n(r.m("spot", &c::FLEET_SPOT_INTERRUPTIONS)), n(&cut), n(&drained), n(r.m("deploy-memory-drain", &c::DEPLOY_DURATION_S)), n(r.m("deploy-memory-cut", &c::DEPLOY_DURATION_S)), n(r.m("deploy-shared", &c::DEPLOY_SESSIONS_LOST))),
            trade_off: format!("Spot saves money at the cost of interruptions (more failed requests); draining protects sticky sessions at the cost of slow deploys; shared sessions remove the problem but add Redis to every request. And scaling in terminates instances with whatever they hold: over a day's curve of load the fleet scaled in {} times, and with uploads on the servers' own disks {} of {} files were lost for good; in S3, {}.", n(&scale_ins), n(&disk_lost), n(&disk_stored), n(&s3_lost)),
        claims: vec![
            claim(format!("scaling on CPU lags a step by about metric period + boot time (150 s): {} s", n(&lag)), lag.within(150.0, 175.0)),
            claim("spot is cheaper and gets interrupted".into(), r.m("spot", &c::FLEET_COST_PER_HOUR).less_than(r.m("target-tracking", &c::FLEET_COST_PER_HOUR)) && r.m("spot", &c::FLEET_SPOT_INTERRUPTIONS).greater_than(0.0)),
            claim(format!("a deploy with sessions in memory loses them unless it drains: {} vs {}", n(&cut), n(&drained)), cut.greater_than(20.0 * drained.floored(1.0))),
            claim("shared sessions lose none in a deploy".into(), r.m("deploy-shared", &c::DEPLOY_SESSIONS_LOST).equals(0.0)),
            claim(
                format!("scaling in loses the files on the terminated servers' disks: {} of {} after {} scale-ins; none in S3 ({})", n(&disk_lost), n(&disk_stored), n(&scale_ins), n(&s3_lost)),
                scale_ins.greater_than(0.0) && disk_lost.greater_than(0.0) && s3_lost.equals(0.0),
            ),
        ],
    }
}

pub(super) fn long_polling(r: &Run) -> Story {
    let secs = |x: R| x.map(|ms| ms / 1000.0);
    let (local, redis, ws, threads, ws_threads, cut) =
        ("local-mailbox", "redis-mailbox", "websocket", "thread-per-request", "websocket-thread-per-request", "poll-90s");
    let (local_share, redis_share) = (r.m(local, &c::LP_DELIVERED_SHARE), r.m(redis, &c::LP_DELIVERED_SHARE));
    let (local_p50, redis_p50, ws_p50) = (r.m(local, &c::LP_LATENCY_P50), r.m(redis, &c::LP_LATENCY_P50), r.m(ws, &c::LP_LATENCY_P50));
    let lost_memory = r.m(local, &c::LP_LOST_IN_MEMORY);
    let (poll_requests, ws_requests) = (r.m(redis, &c::LP_REQUESTS_PER_DELIVERED), r.m(ws, &c::LP_REQUESTS_PER_DELIVERED));
    let held = r.m(redis, &c::LP_HELD_PER_SERVER);
    let (busy, refused, threads_share) = (r.m(threads, &c::LP_THREADS_BUSY_SHARE), r.m(threads, &c::LP_REFUSED), r.m(threads, &c::LP_DELIVERED_SHARE));
    let ws_threads_share = r.m(ws_threads, &c::LP_DELIVERED_SHARE);
    let (cuts, lost_cut) = (r.m(cut, &c::LP_CUT_BY_LB), r.m(cut, &c::LP_LOST_TO_CUT));
    let idle = r.system(cut).long_polling.expect("long-polling chats").lb_idle_timeout.as_secs_f64();
    let poll = |variant: &str| r.system(variant).long_polling.expect("long-polling chats").poll_timeout.as_secs_f64();
    let users = r.system(redis).clients.users as f64;
    let servers = r.system(redis).servers.count as f64;
    Story {
        tempting: "\"Long polling: each client keeps a request open, and the server answers it when a message comes. The server that takes a message keeps it in memory until the receiver's poll picks it up.\"".into(),
        shows: format!(
            "10,000 users on 4 servers behind round robin, a message a minute each. The server that takes a message holds the receiver's poll only 1 time in 4; otherwise the message waits in its memory for one of the receiver's polls to land there. By the end of the run {} of messages had arrived, at {} s at the median (p99 {} s), and {} went with server-2's memory when it died. On thread-per-request servers (200 threads, 100 waiting, as Tomcat's defaults) every open poll holds a thread: {} of the threads were held, {} requests were refused, and even with a shared mailbox only {} of messages arrived, at {} s at the median.",
            pct(&local_share),
            v(secs(local_p50.clone())),
            v(secs(r.m(local, &c::LP_LATENCY_P99))),
            n(&lost_memory),
            pct(&busy),
            n(&refused),
            pct(&threads_share),
            v(secs(r.m(threads, &c::LP_LATENCY_P50)))
        ),
        senior: "\"Keep each user's messages in a shared mailbox (a Redis list per user, with a channel per user so the server holding the receiver's poll hears of it and answers), serve the polls from event-driven servers that hold thousands of idle requests, and keep the poll timeout under the load balancer's idle timeout. Better still, WebSockets where the network allows them: the same mailbox, one connection instead of a request per message.\"".into(),
        numbers: format!(
            "With the Redis mailbox {} of messages arrived, at {} ms at the median, and none were lost when server-2 died; over WebSockets {} ms. Every open request is still held somewhere: {} per server on average, one per user ({} users on {} servers), which an event loop holds and a thread pool cannot.",
            pct(&redis_share),
            v(&redis_p50),
            v(&ws_p50),
            v(&held),
            n(R::from(users)),
            n(R::from(servers))
        ),
        trade_off: format!(
            "Long polls cost requests: {} HTTP requests per delivered message ({} of the polls answered empty after the {} timeout), against {} over WebSockets, which open one connection and then send frames. A poll longer than the load balancer's idle timeout ({} here) is cut: with a {} poll the load balancer closed {} polls, and the servers, which did not know, answered {} messages into them, lost. WebSockets do not escape the thread: on the same thread-per-request servers they delivered {} of messages. And either way the messages must live where every server can reach them: the local mailbox is the websockets model's \"receiver on another server\" in a new form.",
            v(&poll_requests),
            pct(r.m(redis, &c::LP_EMPTY_POLL_SHARE)),
            dur(poll(redis)),
            v(&ws_requests),
            dur(idle),
            dur(poll(cut)),
            n(&cuts),
            n(&lost_cut),
            pct(&ws_threads_share)
        ),
        claims: vec![
            claim(
                format!("a message kept in the memory of the server that took it arrives less often ({} against {}) and far later ({} against {} ms at p50)", pct(&local_share), pct(&redis_share), v(&local_p50), v(&redis_p50)),
                local_share.less_than(&redis_share) && local_p50.greater_than(100.0 * &redis_p50),
            ),
            claim(format!("and dies with that server: {} messages lost, none with Redis", n(&lost_memory)), lost_memory.greater_than(0.0) && r.m(redis, &c::LP_LOST_IN_MEMORY).equals(0.0)),
            claim(format!("a Redis mailbox delivers ({}), as WebSockets do ({})", pct(&redis_share), pct(r.m(ws, &c::LP_DELIVERED_SHARE))), redis_share.greater_than(0.99) && r.m(ws, &c::LP_DELIVERED_SHARE).greater_than(0.99)),
            claim(format!("long polls cost more than ten times the requests per message of WebSockets ({} against {})", v(&poll_requests), v(&ws_requests)), poll_requests.greater_than(10.0 * &ws_requests)),
            claim(format!("every user's open request is held: {} per server, about users / servers", v(&held)), held.within(0.95 * users / servers, 1.05 * users / servers)),
            claim(
                format!("thread-per-request servers run out of threads ({} held, {} refused) and deliver less ({})", pct(&busy), n(&refused), pct(&threads_share)),
                busy.greater_than(0.95) && refused.greater_than(0.0) && threads_share.less_than(&redis_share),
            ),
            claim(format!("WebSockets on them deliver less than half ({})", pct(&ws_threads_share)), ws_threads_share.less_than(0.5)),
            claim(
                format!("a poll under the idle timeout is never cut, a longer one is ({} cuts, {} messages lost into them)", n(&cuts), n(&lost_cut)),
                r.m(redis, &c::LP_CUT_BY_LB).equals(0.0) && cuts.greater_than(0.0) && lost_cut.greater_than(0.0) && poll(redis) < idle && poll(cut) > idle,
            ),
        ],
    }
}
