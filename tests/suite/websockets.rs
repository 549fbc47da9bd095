//! WebSockets, on `models/websockets.toml` (4 servers): with local connection maps a
//! message to a user on another server is dropped, about (n-1)/n of them; a Redis
//! pub/sub bridge and a gateway deliver them; a kill makes a reconnect storm unless
//! clients jitter; pub/sub pushes every message to every server; a gateway node's death
//! drops its connections. Then, on a purpose-built model at several seeds, the messages
//! a gateway node's death loses against the count the outage predicts.

use crate::shared::{holm, poisson_two_sided_p};
use statesim::metrics::catalog as c;
use statesim::scenario::load_str;
use statesim::sweep::run_once;

#[test]
fn websocket_claims() {
    let s = crate::shared::bundled("websockets");
    let m = |v: &str, k: &str| s.mean(v, k);
    let n = 4.0;

    let dropped = m("local", c::WS_DROPPED.key) / m("local", c::WS_MESSAGES_SENT.key);
    // (n-1)/n while peers are spread over 4 servers; 2/3 after the kill, over 3.
    assert!(dropped > 0.6 && dropped < (n - 1.0) / n + 0.01, "local dropped {dropped}");
    for v in ["pubsub", "pubsub-jittered", "gateway"] {
        assert!(m(v, c::WS_DELIVERED_SHARE.key) > 0.98, "{v}");
    }
    assert_eq!(m("gateway", c::WS_DROPPED.key), 0.0, "the gateway holds the connections through the kill");
    assert_eq!(m("gateway", c::WS_RECONNECTS.key), 0.0);
    // A gateway node's death: its half of the users (every other one) reconnect at once,
    // and every message it costs is one whose sender or receiver was reconnecting.
    assert_eq!(m("gateway-node-dies", c::WS_RECONNECTS.key), 5000.0);
    assert_eq!(m("gateway-node-dies", c::WS_RECONNECTS_PEAK_PER_S.key), 5000.0);
    let lost = m("gateway-node-dies", c::WS_LOST_DISCONNECTED.key);
    assert!(lost > 0.0 && lost == m("gateway-node-dies", c::WS_DROPPED.key), "{lost}");
    // Elsewhere, messages lost to a dropped connection are some of those dropped.
    for v in ["local", "pubsub", "pubsub-jittered"] {
        assert!(m(v, c::WS_LOST_DISCONNECTED.key) > 0.0 && m(v, c::WS_LOST_DISCONNECTED.key) <= m(v, c::WS_DROPPED.key), "{v}");
    }
    let storm = m("pubsub", c::WS_RECONNECTS_PEAK_PER_S.key);
    assert!(storm >= 2000.0, "all of server-2's clients at once: {storm}");
    assert!(m("pubsub-jittered", c::WS_RECONNECTS_PEAK_PER_S.key) < storm / 4.0);
    // "Spin up 1,000 nodes": a broadcast channel pushes each message to every server up
    // (999 while server-2 is down), a per-user channel to the receiver's server only, at
    // most once; Redis's time goes with the pushes.
    let fan = m("playbook-1000-servers-fanout", c::WS_PUBSUB_RECEIPTS_PER_MESSAGE.key);
    assert!((990.0..=1000.0).contains(&fan), "{fan}");
    let one = m("playbook-1000-servers-per-user-channels", c::WS_PUBSUB_RECEIPTS_PER_MESSAGE.key);
    assert!((0.95..=1.0).contains(&one), "{one}");
    let pushes = |v: &str| m(v, c::WS_PUBSUB_PUSHES_PER_S.key) / m(v, c::WS_PUBSUB_RECEIPTS_PER_MESSAGE.key);
    assert!((pushes("playbook-1000-servers-fanout") / pushes("playbook-1000-servers-per-user-channels") - 1.0).abs() < 0.01, "the same messages");
    assert!(m("playbook-1000-servers-fanout", c::REDIS_UTILISATION.key) > 20.0 * m("playbook-1000-servers-per-user-channels", c::REDIS_UTILISATION.key));
    assert!(m("playbook-1000-servers-per-user-channels", c::WS_DELIVERED_SHARE.key) > 0.98);
    // Fan-out: each message is pushed to every server, so the cost grows with the fleet.
    assert!((m("pubsub", c::WS_PUBSUB_RECEIPTS_PER_MESSAGE.key) - n).abs() < 0.5);
    assert!((m("pubsub-16-servers", c::WS_PUBSUB_RECEIPTS_PER_MESSAGE.key) - 16.0).abs() < 0.5);
    assert!(m("pubsub-16-servers", c::REDIS_UTILISATION.key) > 2.0 * m("pubsub", c::REDIS_UTILISATION.key));
}

/// A gateway node's death, with no network latency so nothing is in flight: of 1,000
/// users on 4 gateway nodes, the 250 on gateway-1 are disconnected for exactly
/// `reconnect_after` = 10 s, then reconnect to the other nodes. Messages are Poisson at
/// 100/s in all, each from a user drawn at random to another, so those sent in the outage
/// with a disconnected sender or receiver are Poisson with mean 100/s x 10 s x
/// (1 - 750/1000 x 749/999) = 437.7: each seed's count is tested against it exactly
/// (two-sided), the three seeds as one family under Holm's correction at 1%. Losing only
/// the messages of disconnected senders (mean 250), or of receivers, fails it.
#[test]
fn a_gateway_node_death_loses_the_messages_of_its_outage() {
    let text = r#"schema_version = 1
        [run]
        duration = "60s"
        warmup = "5s"
        [clients]
        users = 1000
        think_time = { dist = "exponential", mean = "60s" }
        [network]
        client_to_lb = "0s"
        lb_to_server = "0s"
        [load_balancer]
        latency = "0s"
        [servers]
        count = 2
        [websockets]
        mode = "gateway"
        gateways = 4
        message_rate = "6/min"
        reconnect_after = "10s"
        [[faults]]
        at = "20s"
        kill = "gateway-1"
        restart_after = "30s"
        "#;
    let (users, disconnected, rate_per_s, outage_s) = (1000.0, 250.0, 100.0, 10.0);
    let share = 1.0 - (users - disconnected) / users * (users - disconnected - 1.0) / (users - 1.0);
    let mu = rate_per_s * outage_s * share;
    let mut tests = Vec::new();
    for seed in [1u64, 2, 3] {
        let model = load_str("gateway.toml", "gateway", text, &[format!("run.seed={seed}")]).unwrap();
        let r = run_once(&model.variants[0].system, 0);
        let m = |metric: &c::Metric| r.metrics[metric.key];
        assert_eq!(m(&c::WS_RECONNECTS), disconnected, "seed {seed}: every client of gateway-1 reconnects once");
        assert_eq!(m(&c::WS_RECONNECTS_PEAK_PER_S), disconnected, "seed {seed}: all at once");
        let lost = m(&c::WS_LOST_DISCONNECTED);
        assert_eq!(lost, m(&c::WS_DROPPED), "seed {seed}: nothing else is dropped");
        println!("seed {seed}: {lost} messages lost, expected {mu:.1}");
        tests.push((poisson_two_sided_p(lost as u64, mu), format!("seed {seed}: {lost} lost, Poisson mean {mu:.1}")));
    }
    let rejected = holm(&tests, 0.01);
    assert!(rejected.is_empty(), "{rejected:#?}");
    // Without the kill nothing is lost and nobody reconnects.
    let calm = load_str("gateway.toml", "gateway", text, &["faults=[]".into()]).unwrap();
    let r = run_once(&calm.variants[0].system, 0);
    assert_eq!((r.metrics[c::WS_DROPPED.key], r.metrics[c::WS_RECONNECTS.key]), (0.0, 0.0));
}
