//! The stories of the topics a senior adds to the playbook: retry storms, and load
//! balancing on stale load data.

use super::*;

pub(super) fn retry_storm(r: &Run) -> Story {
    let after = |v: &str| r.m(v, &c::RETRY_GOODPUT_AFTER_SHARE);
    let rec = |v: &str| r.m(v, &c::RETRY_RECOVERY_S);
    let amp = |v: &str| r.m(v, &c::RETRY_AMPLIFICATION_AFTER);
    let dup = r.m("immediate", &c::RETRY_DUPLICATE_EXECUTIONS);
    let collapsed = ["immediate", "exponential", "exponential-jitter", "redis-slow-immediate"];
    let recovered = ["no-retries", "budget", "breaker", "redis-slow-budget"];
    Story {
        tempting: "\"The network is unreliable, so the client retries a failed or slow request, three times, with exponential backoff to be polite.\"".into(),
        shows: format!(
            "320 requests per second reach 4 servers, 80% busy; clients give up on a request after 500 ms and retry it. At 60 s server-1 dies and is back in service 30 s later. Without retries, goodput (requests that end ok, after any retries) was back {} s after that. With three immediate retries it never came back: from 30 s after the fault was gone to the end, goodput was {} of its level before the fault ({} per second), in {} of the runs it never recovered, and each request cost {} attempts, 1 + 3, because every attempt failed. Exponential backoff left it at {} and backoff with jitter at {}: they spread the same retries over time, they do not send fewer. The servers stay busy with requests whose clients have already left (a timed-out request is not cancelled), so the new ones time out too: a metastable failure, sustained by the retries after its trigger is gone. A Redis slowdown (every request waits 15 ms on it for 30 s) leaves the same storm behind: {}.",
            v(rec("no-retries")),
            pct(after("immediate")),
            n(r.m("immediate", &c::RETRY_GOODPUT_BEFORE_PER_S)),
            pct(1.0 - r.m("immediate", &c::RETRY_RECOVERED)),
            v(amp("immediate")),
            pct(after("exponential")),
            pct(after("exponential-jitter")),
            pct(after("redis-slow-immediate")),
        ),
        senior: "\"Retries multiply load exactly when the service can least take it. Cap them: a retry budget (retries at most a tenth of requests, a token bucket per client), or a circuit breaker that stops sending for a while when most attempts fail; backoff with jitter on top, so the retries that are allowed do not arrive in waves. Retry only idempotent requests, or make them idempotent with an idempotency key. And shed load at the server: drop a request whose client has already given up.\"".into(),
        numbers: format!(
            "With a budget of one retry per ten requests goodput was back {} s after the fault was gone ({} attempts per request afterwards, {} retries refused by the budget); with a circuit breaker (open for 5 s when half the attempts of 5 s fail) {} s, after {} openings. After the Redis slowdown the budget recovered in {} s.",
            v(rec("budget")),
            v(amp("budget")),
            n(r.m("budget", &c::RETRY_BUDGET_DENIED)),
            v(rec("breaker")),
            v(r.m("breaker", &c::RETRY_BREAKER_OPENINGS)),
            v(rec("redis-slow-budget")),
        ),
        trade_off: format!(
            "A budget or a breaker gives up on requests a patient retry would have saved: over the run the budget variant gave up on {} requests and the breaker failed {} at once without sending them. And a retry runs the work again: with immediate retries {} requests were executed twice or more, because an attempt that timed out on the client still ran on its server. That is the crash test's lesson again: the load balancer retries a request that met a dead server on the next server, which is safe only for idempotent requests (a page view, not a payment).",
            n(r.m("budget", &c::RETRY_GAVE_UP)),
            n(r.m("breaker", &c::RETRY_BREAKER_REJECTED)),
            n(&dup),
        ),
        claims: vec![
            claim(
                "without retries, with a budget or with a breaker, goodput comes back to its level before the fault".into(),
                recovered.iter().all(|v| r.m(v, &c::RETRY_RECOVERED).equals(1.0) && after(v).greater_than(0.9)),
            ),
            claim(
                "with retries at once, with backoff or with jitter, goodput stays collapsed after the fault is gone (metastable), after a kill and after a Redis slowdown".into(),
                collapsed.iter().all(|v| after(v).less_than(0.05) && r.m(v, &c::RETRY_RECOVERED).equals(0.0)),
            ),
            claim(
                format!("when every attempt fails a request costs 1 + max_retries attempts: {}", v(amp("immediate"))),
                collapsed.iter().all(|v| amp(v).within(3.9, 4.0)),
            ),
            claim(format!("the budget caps attempts per request near 1 + budget: {}", v(amp("budget"))), amp("budget").less_than(1.1)),
            claim(
                "the budget and the breaker recover in seconds".into(),
                rec("budget").less_than(20.0) && rec("breaker").less_than(20.0) && r.m("breaker", &c::RETRY_BREAKER_OPENINGS).greater_than(0.0),
            ),
            claim(format!("retries execute requests twice: {}", n(&dup)), dup.greater_than(0.0) && r.m("no-retries", &c::RETRY_DUPLICATE_EXECUTIONS).equals(0.0)),
        ],
    }
}

pub(super) fn stale_load(r: &Run) -> Story {
    let p99 = |v: &str| r.m(v, &c::LATENCY_MS.p99);
    let wait = |v: &str| r.m(v, &c::QUEUE_WAIT_MS.mean);
    Story {
        tempting: "\"Least connections: always send the request to the least busy server. It is the smartest policy there is.\"".into(),
        shows: format!(
            "850 requests per second reach 10 single-worker servers, 85% busy. With live counts least connections waits {} ms on average in the queue (random: {} ms). But a load balancer rarely sees live counts: when its view is a snapshot refreshed every 100 ms the wait is {} ms, and every 1 s {} ms, worse than random: between two refreshes every request goes to the server that looked least loaded at the last one, so the 'best' server gets the herd (p99 {} ms against {} ms for random).",
            v(wait("least-connections")),
            v(wait("random")),
            v(wait("stale-100ms")),
            v(wait("stale-1s")),
            n(p99("stale-1s")),
            n(p99("random")),
        ),
        senior: "\"Use the power of two choices: pick two servers at random and send the request to the less loaded of the two. It needs no fresh global view: when the load numbers are a little old it stays good, because two random servers rarely share the same 'best' one, so the herd is spread.\"".into(),
        numbers: format!(
            "On the same 100 ms snapshot two random choices wait {} ms in the queue, less than random ({} ms) and far less than least connections on it ({} ms); p99 {} ms. Fresh enough data (10 ms) keeps least connections good: {} ms.",
            v(wait("power-of-two-stale-100ms")),
            v(wait("random")),
            v(wait("stale-100ms")),
            n(p99("power-of-two-stale-100ms")),
            v(wait("stale-10ms")),
        ),
        trade_off: format!(
            "Two choices are robust, not immune: on a 1 s-old snapshot they herd too, onto the servers that looked lighter, and wait {} ms, worse than random, though far less than least connections on it ({} ms). The remedy is fresher numbers or more randomness; never a deterministic best pick on stale data. Counting one's own connections is fresh: 4 load balancers side by side, each seeing only the quarter of the traffic it sent, waited {} ms with least connections and {} ms with two choices, worse than one load balancer's {} ms but far better than random; they do not herd, as each picture, though partial, is live.",
            v(wait("power-of-two-stale-1s")),
            v(wait("stale-1s")),
            v(wait("least-connections-4-lbs")),
            v(wait("power-of-two-4-lbs")),
            v(wait("least-connections")),
        ),
        claims: vec![
            claim("with live counts least connections waits less than random".into(), wait("least-connections").less_than(wait("random"))),
            claim(
                format!("on a 1 s-old snapshot least connections herds: it waits more than random ({} ms vs {} ms)", v(wait("stale-1s")), v(wait("random"))),
                wait("stale-1s").greater_than(wait("random")) && p99("stale-1s").greater_than(p99("random")),
            ),
            claim("the older the snapshot, the longer the wait".into(), wait("stale-100ms").less_than(wait("stale-1s")) && wait("stale-10ms").less_than(wait("stale-100ms"))),
            claim(
                "two random choices on a 100 ms snapshot beat least connections on it, and random".into(),
                wait("power-of-two-stale-100ms").less_than(wait("stale-100ms")) && wait("power-of-two-stale-100ms").less_than(wait("random")),
            ),
            claim(
                format!(
                    "4 load balancers each counting their own connections wait between one load balancer and random: {} ms, against {} and {} ms",
                    v(wait("least-connections-4-lbs")),
                    v(wait("least-connections")),
                    v(wait("random"))
                ),
                wait("least-connections-4-lbs").greater_than(wait("least-connections")) && wait("least-connections-4-lbs").less_than(wait("random")),
            ),
            claim(
                "on a 1 s snapshot two choices herd too (worse than random), far less than least connections".into(),
                wait("power-of-two-stale-1s").greater_than(wait("random")) && wait("power-of-two-stale-1s").less_than(wait("stale-1s")),
            ),
        ],
    }
}
