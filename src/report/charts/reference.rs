//! Reference lines: where theory says a measure should land, computed from the model's
//! own parameters (never typed in), so a reader sees the simulated bar against the
//! formula an interviewer would quote.
//!
//! - users logged out when one of n servers dies with sessions in server memory: 1/n,
//!   and (n-1)/n when the load balancer hashes modulo the servers in rotation;
//! - file reads that 404 with files on local disk: (n-1)/n; messages delivered with
//!   local WebSocket maps: 1/n;
//! - the busiest server's share when a NAT's share f of an open workload is hashed to one
//!   server: f + (1-f)/n;
//! - what a rate limit of L per window lets an abuser have: L, 2L across a boundary with a
//!   fixed window, N x L with local counters on N servers;
//! - a fired user's exposure: half the token lifetime on average without a blocklist, the
//!   lifetime at most; with a blocklist cached on k servers refreshing at independent
//!   phases, k/(k+1) of the refresh period on average (the last of k uniform waits) and
//!   the refresh period at most.

use crate::metrics::Unit;
use crate::metrics::catalog::{self as c, Metric};
use crate::policies::{BlocklistMode, LbPolicy, LimitStore, SessionStoreKind, UploadStore, WsMode};
use crate::report::format;
use crate::scenario::model::FaultAction;
use crate::scenario::{Model, System, Workload};

/// A value theory gives for a metric, in the metric's unit, and its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    pub value: f64,
    pub label: String,
}

fn reference(label: &str, metric: &Metric, value: f64) -> Reference {
    let written = if value.fract() == 0.0 && metric.unit == Unit::Number { format!("{value}") } else { format::with_unit(metric.unit, value) };
    Reference { value, label: format!("{label} = {written}") }
}

/// The first variant's system that satisfies `test`.
fn first(model: &Model, test: impl Fn(&System) -> bool) -> Option<&System> {
    model.variants.iter().map(|v| &v.system).find(|s| test(s))
}

fn kills_a_server(s: &System) -> bool {
    s.faults.iter().any(|f| matches!(f.action, FaultAction::Kill { .. }))
}

/// The reference lines theory gives for `metric` in `model`; none where it gives none.
pub fn references(model: &Model, metric: &Metric) -> Vec<Reference> {
    let mut out = Vec::new();
    let n = |s: &System| f64::from(s.servers.count);
    if metric == &c::SESSIONS_STATE_LOST_SHARE {
        if let Some(s) = first(model, |s| s.sessions.store == SessionStoreKind::ServerMemory && kills_a_server(s)) {
            out.push(reference("1/n", metric, 1.0 / n(s)));
        }
        if let Some(s) = first(model, |s| s.sessions.store == SessionStoreKind::ServerMemory && kills_a_server(s) && s.load_balancer.policy == LbPolicy::IpHash)
        {
            out.push(reference("(n-1)/n", metric, (n(s) - 1.0) / n(s)));
        }
    } else if metric == &c::READS_NOT_FOUND_SHARE {
        if let Some(s) = first(model, |s| s.uploads.as_ref().is_some_and(|u| u.store == UploadStore::LocalDisk)) {
            out.push(reference("(n-1)/n", metric, (n(s) - 1.0) / n(s)));
        }
    } else if metric == &c::WS_DELIVERED_SHARE {
        if let Some(s) = first(model, |s| s.websockets.as_ref().is_some_and(|w| w.mode == WsMode::Local)) {
            out.push(reference("1/n", metric, 1.0 / n(s)));
        }
    } else if metric == &c::SERVERS_ROUTED_SHARE_MAX {
        if let Some(share) = hot_spot_share(model) {
            out.push(reference("f + (1-f)/n", metric, share));
        }
    } else if [&c::RATELIMIT_ABUSER_ALLOWED_PER_WINDOW, &c::RATELIMIT_ABUSER_MAX_ALIGNED_WINDOW, &c::RATELIMIT_ABUSER_MAX_SLIDING_WINDOW].contains(&metric) {
        if let Some(limit) = first(model, |s| s.rate_limit.is_some()).and_then(|s| s.rate_limit.as_ref()) {
            let l = f64::from(limit.limit.limit);
            out.push(reference("L", metric, l));
            if metric == &c::RATELIMIT_ABUSER_MAX_SLIDING_WINDOW {
                out.push(reference("2L", metric, 2.0 * l));
            }
            if let Some(s) = first(model, |s| s.rate_limit.as_ref().is_some_and(|r| r.store == LimitStore::Local)) {
                out.push(reference("N x L", metric, n(s) * l));
            }
        }
    } else if metric == &c::REVOCATION_EXPOSURE_MEAN_S || metric == &c::REVOCATION_EXPOSURE_MAX_S {
        out.extend(exposure_references(model).into_iter().filter(|(mean, _)| *mean == (metric == &c::REVOCATION_EXPOSURE_MEAN_S)).map(|(_, r)| r));
    }
    out
}

/// The share of routed requests theory gives the server a NAT hashes to, f + (1-f)/n,
/// for an open workload (a closed one slows down with its overloaded server) in which
/// some variant hashes by client IP.
pub fn hot_spot_share(model: &Model) -> Option<f64> {
    let s = first(model, |s| matches!(s.load_balancer.policy, LbPolicy::IpHash | LbPolicy::ConsistentHash))?;
    let open = matches!(s.clients.workload, Workload::Open { .. });
    let nat = s.clients.proxies.iter().filter(|p| p.ips == 1).map(|p| p.users).max()?;
    let f = nat as f64 / s.clients.users.max(1) as f64;
    open.then(|| f + (1.0 - f) / f64::from(s.servers.count))
}

/// Exposure references, each marked whether it is about the mean (else the maximum):
/// lifetime / 2 and the lifetime for a JWT without a blocklist, k/(k+1) of the refresh
/// period and the refresh period for a blocklist cached on k servers.
pub fn exposure_references(model: &Model) -> Vec<(bool, Reference)> {
    let (mean, max) = (&c::REVOCATION_EXPOSURE_MEAN_S, &c::REVOCATION_EXPOSURE_MAX_S);
    let mut out = Vec::new();
    if let Some(s) =
        first(model, |s| s.revocation.fire_rate_per_sec > 0.0 && s.sessions.store == SessionStoreKind::Jwt && s.sessions.blocklist == BlocklistMode::Off)
    {
        let lifetime = s.sessions.lifetime.as_secs_f64();
        out.push((true, reference("lifetime / 2", mean, lifetime / 2.0)));
        out.push((false, reference("lifetime", max, lifetime)));
    }
    if let Some(s) = first(model, |s| s.revocation.fire_rate_per_sec > 0.0 && s.sessions.blocklist == BlocklistMode::Cached) {
        let (k, refresh) = (f64::from(s.servers.count), s.sessions.blocklist_refresh.as_secs_f64());
        out.push((true, reference("k/(k+1) x refresh period", mean, k / (k + 1.0) * refresh)));
        out.push((false, reference("refresh period", max, refresh)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled(name: &str) -> Model {
        let b = crate::bundled::find(name).unwrap();
        crate::scenario::load_str(b.path, b.name, b.text, &[]).unwrap()
    }

    #[test]
    fn references_come_from_the_parameters() {
        let labels = |model: &str, m: &Metric| references(&bundled(model), m).into_iter().map(|r| r.label).collect::<Vec<_>>();
        assert_eq!(labels("crash-test", &c::SESSIONS_STATE_LOST_SHARE), ["1/n = 10.0%"]);
        assert_eq!(labels("sticky-hashing", &c::SESSIONS_STATE_LOST_SHARE), ["1/n = 10.0%", "(n-1)/n = 90.0%"]);
        assert_eq!(labels("mega-proxy", &c::SERVERS_ROUTED_SHARE_MAX), ["f + (1-f)/n = 28.0%"]);
        assert!(labels("load-balancing", &c::SERVERS_ROUTED_SHARE_MAX).is_empty(), "a closed workload has no such formula");
        assert_eq!(labels("rate-limits", &c::RATELIMIT_ABUSER_MAX_SLIDING_WINDOW), ["L = 20", "2L = 40", "N x L = 80"]);
        assert_eq!(labels("jwt-revocation", &c::REVOCATION_EXPOSURE_MAX_S), ["lifetime = 600 s", "refresh period = 10.0 s"]);
        assert_eq!(labels("jwt-revocation", &c::REVOCATION_EXPOSURE_MEAN_S), ["lifetime / 2 = 300 s", "k/(k+1) x refresh period = 8.00 s"]);
        assert_eq!(labels("file-uploads", &c::READS_NOT_FOUND_SHARE), ["(n-1)/n = 75.0%"]);
        assert!(labels("crash-test", &c::CARTS_LOST).is_empty());
    }
}
