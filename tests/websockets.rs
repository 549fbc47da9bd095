//! WebSockets, on `models/websockets.toml` (4 servers): with local connection maps a
//! message to a user on another server is dropped, about (n-1)/n of them; a Redis
//! pub/sub bridge and a gateway deliver them; a kill makes a reconnect storm unless
//! clients jitter; pub/sub pushes every message to every server.

use statesim::scenario::load_file;
use statesim::sweep::{RunOptions, run_and_summarize};
use std::path::Path;

#[test]
fn websocket_claims() {
    let model = load_file(Path::new("models/websockets.toml"), &[]).unwrap();
    let (s, _) = run_and_summarize(&model, &RunOptions::default(), &|| {});
    let m = |v: &str, k: &str| s.variants.iter().find(|x| x.name == v).unwrap().metrics[k].mean;
    let n = 4.0;

    let dropped = m("local", "ws.dropped") / m("local", "ws.messages_sent");
    // (n-1)/n while peers are spread over 4 servers; 2/3 after the kill, over 3.
    assert!(dropped > 0.6 && dropped < (n - 1.0) / n + 0.01, "local dropped {dropped}");
    for v in ["pubsub", "pubsub-jittered", "gateway"] {
        assert!(m(v, "ws.delivered_share") > 0.98, "{v}");
    }
    assert_eq!(m("gateway", "ws.dropped"), 0.0, "the gateway holds the connections through the kill");
    assert_eq!(m("gateway", "ws.reconnects"), 0.0);
    let storm = m("pubsub", "ws.reconnects_peak_per_s");
    assert!(storm >= 2000.0, "all of server-2's clients at once: {storm}");
    assert!(m("pubsub-jittered", "ws.reconnects_peak_per_s") < storm / 4.0);
    // Fan-out: each message is pushed to every server, so the cost grows with the fleet.
    assert!((m("pubsub", "ws.pubsub_receipts_per_message") - n).abs() < 0.5);
    assert!((m("pubsub-16-servers", "ws.pubsub_receipts_per_message") - 16.0).abs() < 0.5);
    assert!(m("pubsub-16-servers", "redis.utilisation") > 2.0 * m("pubsub", "redis.utilisation"));
}
