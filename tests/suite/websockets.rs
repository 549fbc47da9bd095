//! WebSockets, on `models/websockets.toml` (4 servers): with local connection maps a
//! message to a user on another server is dropped, about (n-1)/n of them; a Redis
//! pub/sub bridge and a gateway deliver them; a kill makes a reconnect storm unless
//! clients jitter; pub/sub pushes every message to every server.

use statesim::metrics::catalog as c;

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
    let storm = m("pubsub", c::WS_RECONNECTS_PEAK_PER_S.key);
    assert!(storm >= 2000.0, "all of server-2's clients at once: {storm}");
    assert!(m("pubsub-jittered", c::WS_RECONNECTS_PEAK_PER_S.key) < storm / 4.0);
    // Fan-out: each message is pushed to every server, so the cost grows with the fleet.
    assert!((m("pubsub", c::WS_PUBSUB_RECEIPTS_PER_MESSAGE.key) - n).abs() < 0.5);
    assert!((m("pubsub-16-servers", c::WS_PUBSUB_RECEIPTS_PER_MESSAGE.key) - 16.0).abs() < 0.5);
    assert!(m("pubsub-16-servers", c::REDIS_UTILISATION.key) > 2.0 * m("pubsub", c::REDIS_UTILISATION.key));
}
