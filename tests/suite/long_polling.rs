//! Long polling beside WebSockets, on `models/long-polling.toml` and on small models whose
//! outcome is known: every user's open request is held somewhere, a poll shorter than the
//! load balancer's idle timeout is never cut, a thread pool never holds more requests
//! than it has threads, and on one server a local mailbox is as good as Redis.

use statesim::metrics::catalog as c;
use statesim::metrics::{Metric, ModelSummary};
use statesim::scenario::load_str;
use statesim::sweep::{RunOptions, run_and_summarize};

#[test]
fn long_polling_claims() {
    let s = crate::shared::bundled("long-polling");
    let m = |v: &str, k: &Metric| s.mean(v, k.key);
    // The receiver is on another server 3 times in 4: a local mailbox delivers less, and
    // minutes later rather than milliseconds, and loses what server-2 held.
    assert!(m("local-mailbox", &c::LP_DELIVERED_SHARE) < 0.9);
    assert!(m("local-mailbox", &c::LP_LATENCY_P50) > 5_000.0, "{}", m("local-mailbox", &c::LP_LATENCY_P50));
    assert!(m("local-mailbox", &c::LP_LOST_IN_MEMORY) > 0.0);
    // Redis and WebSockets deliver within a few network hops (client, load balancer,
    // handler, Redis, back): well under a second.
    for v in ["redis-mailbox", "websocket"] {
        assert!(m(v, &c::LP_DELIVERED_SHARE) > 0.99, "{v}");
        assert!(m(v, &c::LP_LATENCY_P50) < 200.0, "{v}: {}", m(v, &c::LP_LATENCY_P50));
        assert_eq!(m(v, &c::LP_LOST_IN_MEMORY), 0.0, "{v}");
    }
    // A long poll costs at least one poll and one POST per message; a WebSocket only its
    // reconnects.
    assert!(m("redis-mailbox", &c::LP_REQUESTS_PER_DELIVERED) > 2.0);
    assert!(m("websocket", &c::LP_REQUESTS_PER_DELIVERED) < 0.1);
    // 10,000 open requests on 800 threads.
    assert!(m("thread-per-request", &c::LP_HELD_PER_SERVER) <= 200.0);
    assert!(m("thread-per-request", &c::LP_REFUSED) > 0.0);
    assert!(m("websocket-thread-per-request", &c::LP_DELIVERED_SHARE) < 0.5);
    // The 90 s poll is cut at 60 s; the 30 s one never.
    assert_eq!(m("redis-mailbox", &c::LP_CUT_BY_LB), 0.0);
    assert!(m("poll-90s", &c::LP_CUT_BY_LB) > 0.0 && m("poll-90s", &c::LP_LOST_TO_CUT) > 0.0);
}

/// A small chat: `users` users on `servers` servers, a message every 20 s each, 5
/// minutes, with `extra` appended to `[long_polling]` and `more` after it.
fn chat(users: u32, servers: u32, seed: u64, extra: &str, more: &str) -> ModelSummary {
    let text = format!(
        "schema_version = 1\n[run]\nduration = \"5m\"\nwarmup = \"30s\"\nseed = {seed}\nreplications = 2\n[clients]\nusers = {users}\nthink_time = \"10m\"\n\
         [servers]\ncount = {servers}\n[long_polling]\nmessage_rate = \"3/min\"\n{extra}\n{more}\n"
    );
    let model = load_str("chat.toml", "chat", &text, &[]).unwrap_or_else(|e| panic!("{e}"));
    run_and_summarize(&model, &RunOptions::default(), &|| {}).0
}

fn mean(s: &ModelSummary, k: &Metric) -> f64 {
    s.variants[0].metrics.get(k.key).unwrap_or_else(|| panic!("{} not reported", k.key)).mean
}

/// Every user holds one open request at all times but for the round trip between an
/// answer and the next poll (about 50 ms of every cycle, a cycle being 30 s or the next
/// message): held requests per server are users / servers, within 1%. Messages reach a
/// user as a Poisson stream of rate λ (3 a minute), so a poll of timeout T = 30 s is
/// answered empty with probability P(no message in T) = e^(-λT) = e^(-1.5) = 22.3%, and
/// a user polls 1 / E[min(Exp(λ), T)] = λ / (1 - e^(-λT)) times a second: per message
/// 1 / (1 - e^(-λT)) polls and one POST, 2.287 HTTP requests. A 30 s poll behind a 60 s
/// idle timeout is never cut, and with nothing killed nothing is lost; at three seeds.
#[test]
fn every_user_holds_one_request_and_none_is_cut() {
    for seed in [1, 2, 3] {
        let s = chat(400, 4, seed, "", "");
        let held = mean(&s, &c::LP_HELD_PER_SERVER);
        assert!((99.0..=100.0).contains(&held), "seed {seed}: {held} held per server, 100 expected");
        assert_eq!(mean(&s, &c::LP_CUT_BY_LB), 0.0, "seed {seed}");
        assert_eq!(mean(&s, &c::LP_LOST_TO_CUT) + mean(&s, &c::LP_LOST_IN_MEMORY), 0.0, "seed {seed}");
        assert!(mean(&s, &c::LP_DELIVERED_SHARE) > 0.995, "seed {seed}");
        let empty_share = (-1.5f64).exp();
        let empty = mean(&s, &c::LP_EMPTY_POLL_SHARE);
        assert!((empty - empty_share).abs() < 0.015, "seed {seed}: {empty} of polls empty, e^(-1.5) = {empty_share} expected");
        let requests = mean(&s, &c::LP_REQUESTS_PER_DELIVERED);
        let predicted = 1.0 + 1.0 / (1.0 - empty_share);
        assert!((requests / predicted - 1.0).abs() < 0.03, "seed {seed}: {requests} requests per message, {predicted} expected");
    }
}

/// On one server the receiver's poll is always on the server that takes the message, so
/// a local mailbox delivers as fast as Redis; on four it waits for a poll to land there.
#[test]
fn a_local_mailbox_is_enough_on_one_server() {
    let one = chat(200, 1, 7, "mailbox = \"local\"", "");
    assert!(mean(&one, &c::LP_DELIVERED_SHARE) > 0.995);
    let p50 = mean(&one, &c::LP_LATENCY_P50);
    assert!(p50 < 200.0, "one server, local mailbox: p50 {p50} ms");
    let four = chat(200, 4, 7, "mailbox = \"local\"", "");
    assert!(mean(&four, &c::LP_LATENCY_P50) > 10.0 * p50, "four servers: p50 {} ms", mean(&four, &c::LP_LATENCY_P50));
}

/// A thread pool holds no more requests than it has threads: 100 users on one server
/// with 10 threads and no accept queue keep every thread busy and are refused; with more
/// threads than users nothing is refused or waits, and the requests held are the
/// event-driven server's.
#[test]
fn a_thread_pool_holds_at_most_its_threads() {
    let small = chat(100, 1, 5, "server = \"thread-per-request\"\nthreads = 10\naccept_queue = 0", "");
    let held = mean(&small, &c::LP_HELD_PER_SERVER);
    assert!(held <= 10.0 && held > 9.5, "{held} held on 10 threads");
    assert!(mean(&small, &c::LP_THREADS_BUSY_SHARE) > 0.95);
    assert!(mean(&small, &c::LP_REFUSED) > 0.0);
    assert_eq!(mean(&small, &c::LP_WAITING_PEAK), 0.0);

    let roomy = chat(100, 1, 5, "server = \"thread-per-request\"\nthreads = 1000", "");
    let evented = chat(100, 1, 5, "", "");
    assert_eq!(mean(&roomy, &c::LP_REFUSED), 0.0);
    assert_eq!(mean(&roomy, &c::LP_WAITING_PEAK), 0.0);
    assert_eq!(mean(&roomy, &c::LP_HELD_PER_SERVER), mean(&evented, &c::LP_HELD_PER_SERVER));
    assert_eq!(mean(&roomy, &c::LP_DELIVERED), mean(&evented, &c::LP_DELIVERED));
}

#[test]
fn bad_long_polling_settings_are_named() {
    for (section, key, hint) in [
        ("[long_polling]\nthreads = 10", "long_polling.threads", "thread-per-request"),
        ("[long_polling]\ntransport = \"websocket\"\npoll_timeout = \"30s\"", "long_polling.poll_timeout", "long-poll"),
        ("[long_polling]\nretry_after = \"0s\"", "long_polling.retry_after", "1s"),
        ("[long_polling]\nserver = \"thread-per-request\"\nthreads = 0", "long_polling.threads", "1 to 100000"),
        ("[long_polling]\n[websockets]\nmode = \"pubsub\"", "long_polling", "transport = \"websocket\""),
        ("[load_balancer]\nidle_timeout = \"0s\"\n[long_polling]", "load_balancer.idle_timeout", "60s"),
        ("[long_polling]\nmailbox = \"disk\"", "long_polling.mailbox", "redis"),
    ] {
        let text = format!("schema_version = 1\n[clients]\nusers = 100\nthink_time = \"10s\"\n{section}\n");
        let shown = load_str("bad.toml", "bad", &text, &[]).expect_err(section).to_string();
        assert!(shown.contains(key) && shown.contains(hint), "{section}: {shown}");
    }
}
