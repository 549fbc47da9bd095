//! The playbook's final checklist, each item beside the runs that measure it: sessions
//! (crash-test), uploads (file-uploads), connections (websockets) and scaling
//! (autoscaling).

use super::*;

pub(super) fn checklist(runs: &[Run]) -> Story {
    let [crash, files, ws, scale] = runs else { panic!("the checklist reads four runs") };
    // Sessions.
    let sticky = crash.m("sticky-memory", &c::SESSIONS_STATE_LOST_SHARE);
    let sticky_users = crash.m("sticky-memory", &c::SESSIONS_STATE_LOST_USERS);
    let shared_lost = crash.m("redis", &c::SESSIONS_STATE_LOST_USERS) + crash.m("jwt", &c::SESSIONS_STATE_LOST_USERS);
    let redis_ops = crash.m("redis", &c::REDIS_OPS_PER_S);
    let crash_system = crash.system("sticky-memory");
    let (crash_users, crash_servers) = (R::from(crash_system.clients.users as f64), R::from(crash_system.servers.count as f64));
    let fleet = |v: &str| R::from(ws.system(v).servers.count as f64);
    let dollars = |x: &R| shown(c::FLEET_COST_PER_HOUR.unit, x);
    // Uploads.
    let not_found = files.m("local-disk", &c::READS_NOT_FOUND_SHARE);
    let disk_lost = files.m("local-disk", &c::FILES_LOST);
    let s3_lost = files.m("presigned", &c::FILES_LOST) + files.m("presigned", &c::READS_NOT_FOUND);
    let presigned_mb = files.m("presigned", &c::UPLOADS_SERVER_MB);
    let through_mb = files.m("through-server", &c::UPLOADS_SERVER_MB);
    // Connections.
    let local = ws.m("local", &c::WS_DELIVERED_SHARE);
    let pubsub = ws.m("pubsub", &c::WS_DELIVERED_SHARE);
    let fan4 = ws.m("pubsub", &c::WS_PUBSUB_RECEIPTS_PER_MESSAGE);
    let fan16 = ws.m("pubsub-16-servers", &c::WS_PUBSUB_RECEIPTS_PER_MESSAGE);
    // Scaling.
    let fixed = scale.m("fixed", &c::REQUESTS_FAILED);
    let tracking = scale.m("target-tracking", &c::REQUESTS_FAILED);
    let lag = scale.m("target-tracking", &c::FLEET_SCALE_OUT_LAG_S);
    let (cost_large, cost_tracking) = (scale.m("fixed-large", &c::FLEET_COST_PER_HOUR), scale.m("target-tracking", &c::FLEET_COST_PER_HOUR));
    Story {
        tempting: "\"Four rules and the web tier is stateless: sessions in Redis or a JWT, never in local RAM; uploads to S3 with pre-signed URLs, never to the local disk; Redis pub/sub to bridge WebSockets; auto-scaling groups on CPU load. Nothing more to say.\"".into(),
        shows: format!(
            "Each rule, against the run that measures it. Sessions: with sessions and carts in local RAM, killing one of {} servers logged out {} users ({} of the active ones); in Redis or a JWT, {}. Uploads: on the local disk {} of file reads asked a server without the file (404) and the dead server took {} files with it; pre-signed to S3, {} lost or not found, and the servers handled {} MB of it (through the server, {} MB). Connections: with each server's own connection map {} of chat messages arrived; bridged by Redis pub/sub, {}. Scaling: when the load tripled a fixed fleet failed {} requests; scaling on CPU failed {}.",
            n(&crash_servers),
            n(&sticky_users),
            pct(&sticky),
            n(&shared_lost),
            pct(&not_found),
            n(&disk_lost),
            n(&s3_lost),
            n(&presigned_mb),
            n(&through_mb),
            pct(&local),
            pct(&pubsub),
            n(&fixed),
            n(&tracking)
        ),
        senior: "\"Every rule holds, and each has its fine print: the state moved to a tier of its own, which must be sized and which fails too; a JWT cannot be taken back; a broadcast channel grows with the fleet; and scaling on CPU comes late to a step.\"".into(),
        numbers: format!(
            "Redis sessions cost {} lookups per second at {} users. One broadcast pub/sub channel pushes every message to every server: {} pushes per message on {} servers, {} on {}. Scaling on CPU put its first new server in rotation {} s after the step (a metric period plus a boot), and cost ${} an hour against ${} for a fleet sized for the peak.",
            n(&redis_ops),
            n(&crash_users),
            v(&fan4),
            n(fleet("pubsub")),
            v(&fan16),
            n(fleet("pubsub-16-servers")),
            n(&lag),
            dollars(&cost_tracking),
            dollars(&cost_large)
        ),
        trade_off: "The checklist moves state; it does not remove it. See state-tier for the tier that holds it failing, jwt-revocation for the token that cannot be taken back, websockets for channels per user instead of one broadcast, and autoscaling for the step that CPU scaling meets late.".into(),
        claims: vec![
            claim(format!("sessions: local RAM logs out about 1/n of users on a kill ({}), Redis and JWT nobody ({})", pct(&sticky), n(&shared_lost)), sticky.within(0.07, 0.13) && shared_lost.equals(0.0)),
            claim(
                format!("uploads: the local disk 404s most reads ({}) and loses files ({}); pre-signed S3 loses none ({}) and costs the servers no upload traffic ({} MB)", pct(&not_found), n(&disk_lost), n(&s3_lost), n(&presigned_mb)),
                not_found.greater_than(0.5) && disk_lost.greater_than(0.0) && s3_lost.equals(0.0) && presigned_mb.equals(0.0),
            ),
            claim(format!("connections: local maps deliver under half the messages ({}), pub/sub nearly all ({})", pct(&local), pct(&pubsub)), local.less_than(0.5) && pubsub.greater_than(0.98)),
            claim(
                format!("connections: one broadcast channel's pushes per message grow with the fleet: {} on {} servers, {} on {}", v(&fan4), n(fleet("pubsub")), v(&fan16), n(fleet("pubsub-16-servers"))),
                fan16.greater_than(3.0 * &fan4),
            ),
            claim(format!("scaling: CPU target tracking fails far fewer requests than a fixed fleet: {} against {}", n(&tracking), n(&fixed)), tracking.less_than(0.2 * &fixed)),
            claim(format!("scaling: but its first server arrives a metric period plus a boot after the step: {} s", n(&lag)), lag.within(150.0, 175.0)),
            claim(format!("scaling: and costs less than a fleet sized for the peak: ${} against ${} an hour", dollars(&cost_tracking), dollars(&cost_large)), cost_tracking.less_than(&cost_large)),
        ],
    }
}
