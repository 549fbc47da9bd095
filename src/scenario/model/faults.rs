//! Scheduled faults: each entry does one thing, uses only the keys of its kind, names a
//! target that exists (a server, a WebSocket gateway, a queue worker, Redis), falls inside
//! the run, and does not overlap another fault on the same target (a server killed again
//! while it is down, two Redis faults at once).

use super::checker::Checker;
use super::{Fault, FaultAction, JobsSpec};
use crate::engine::SimDuration;
use crate::scenario::raw::{RawFault, RedisFaultKind};

/// Checks `raw` and returns the faults in time order.
pub(super) fn resolve_faults(
    c: &mut Checker,
    raw: &[RawFault],
    duration: SimDuration,
    servers: u32,
    jobs: Option<&JobsSpec>,
    gateways: u32,
    failover_after: SimDuration,
) -> Vec<Fault> {
    let mut faults: Vec<(usize, Fault)> = Vec::new();
    for (i, f) in raw.iter().enumerate() {
        let path = format!("faults[{i}]");
        // The run is the half-open window [0, duration): a fault at its end never strikes.
        if f.at.0 >= duration {
            c.err(
                &format!("{path}.at"),
                format!("the fault at {} comes at or after the end of the run ({duration})", f.at.0),
                "move it inside the run or lengthen run.duration",
            );
        }
        unused_keys(c, f, &path);
        if let Some(name) = &f.kill_worker {
            let count = jobs.filter(|j| j.queued).map_or(0, |j| j.workers);
            match name.strip_prefix("worker-").and_then(|k| k.parse::<u32>().ok()) {
                Some(k) if k >= 1 && k <= count => faults.push((i, Fault { at: f.at.0, action: FaultAction::KillWorker { worker: k - 1 } })),
                _ => c.err(
                    &format!("{path}.kill_worker"),
                    format!("there is no worker called \"{name}\""),
                    if count == 0 {
                        "workers exist only with jobs.mode = \"queue\"".to_string()
                    } else {
                        format!("workers are named \"worker-1\" to \"worker-{count}\"")
                    },
                ),
            }
            if f.kill.is_some() || f.redis.is_some() {
                c.err(&path, "this fault does two things", "write one [[faults]] entry per action");
            }
            continue;
        }
        match (&f.kill, f.redis) {
            (Some(_), Some(_)) => c.err(&path, "this fault both kills a server and breaks Redis", "write two [[faults]] entries"),
            (Some(name), None) if name == REDIS_PRIMARY => faults.push((i, Fault { at: f.at.0, action: FaultAction::KillRedisPrimary { failover_after } })),
            (Some(name), None) if name.starts_with("gateway-") => match parse_gateway_name(name, gateways) {
                Ok(gateway) => {
                    faults.push((i, Fault { at: f.at.0, action: FaultAction::KillGateway { gateway, restart_after: f.restart_after.map(|d| d.0) } }))
                }
                Err(help) => c.err(&format!("{path}.kill"), format!("there is no gateway called \"{name}\""), help),
            },
            (Some(name), None) => match parse_server_name(name, servers) {
                Ok(server) => faults.push((i, Fault { at: f.at.0, action: FaultAction::Kill { server, restart_after: f.restart_after.map(|d| d.0) } })),
                Err(help) => c.err(&format!("{path}.kill"), format!("there is no server called \"{name}\""), help),
            },
            (None, Some(kind)) => {
                let Some(lasting) = f.lasting else {
                    c.err(&format!("{path}.lasting"), "a Redis fault needs to say how long it lasts", "add lasting = \"30s\"");
                    continue;
                };
                let action = match kind {
                    RedisFaultKind::Down => FaultAction::RedisDown { lasting: lasting.0 },
                    RedisFaultKind::Slow => {
                        if f.service.is_none() && f.round_trip.is_none() {
                            c.err(&path, "a slow Redis needs a slower service or round_trip", "add service = \"100us\" or round_trip = \"5ms\"");
                        }
                        let service = f.service.as_ref().map(|d| c.time_dist(d, &format!("{path}.service")));
                        let round_trip = f.round_trip.as_ref().map(|d| c.time_dist(d, &format!("{path}.round_trip")));
                        FaultAction::RedisSlow { lasting: lasting.0, service, round_trip }
                    }
                };
                faults.push((i, Fault { at: f.at.0, action }));
            }
            (None, None) => c.err(&path, "this fault does nothing", "add an action such as kill = \"server-1\" or redis = \"down\""),
        }
    }
    faults.sort_by_key(|(_, f)| f.at);
    overlaps(c, &faults, jobs.map_or(SimDuration(0), |j| j.worker_restart));
    faults.into_iter().map(|(_, f)| f).collect()
}

/// Keys a fault of another kind would use are refused, not ignored.
fn unused_keys(c: &mut Checker, f: &RawFault, path: &str) {
    let present = [
        ("restart_after", f.restart_after.is_some()),
        ("lasting", f.lasting.is_some()),
        ("service", f.service.is_some()),
        ("round_trip", f.round_trip.is_some()),
    ];
    let (kind, uses): (&str, &[&str]) = if f.kill_worker.is_some() {
        ("a worker kill (kill_worker)", &["at", "kill_worker"])
    } else if f.kill.as_deref() == Some(REDIS_PRIMARY) && f.redis.is_none() {
        ("a Redis primary kill (kill = \"redis-primary\"; redis.failover_after says when it is replaced)", &["at", "kill"])
    } else if f.kill.as_ref().is_some_and(|k| k.starts_with("gateway-")) && f.redis.is_none() {
        ("a gateway kill (kill)", &["at", "kill", "restart_after"])
    } else if f.kill.is_some() && f.redis.is_none() {
        ("a server kill (kill)", &["at", "kill", "restart_after"])
    } else if f.kill.is_none() && f.redis == Some(RedisFaultKind::Down) {
        ("redis = \"down\"", &["at", "redis", "lasting"])
    } else if f.kill.is_none() && f.redis == Some(RedisFaultKind::Slow) {
        ("redis = \"slow\"", &["at", "redis", "lasting", "service", "round_trip"])
    } else {
        return; // no action or two actions: reported as such
    };
    for (key, set) in present {
        if set && !uses.contains(&key) {
            c.err(&format!("{path}.{key}"), format!("{key} does nothing in {kind}"), format!("remove it; this kind of fault uses {}", uses.join(", ")));
        }
    }
}

/// The target a fault acts on and the end of its effect (`None`: until the end of the run).
fn target_and_end(f: &Fault, worker_restart: SimDuration) -> (String, Option<SimDuration>) {
    match &f.action {
        FaultAction::Kill { server, restart_after } => (format!("server-{}", server + 1), restart_after.map(|r| f.at + r)),
        FaultAction::KillGateway { gateway, restart_after } => (format!("gateway-{}", gateway + 1), restart_after.map(|r| f.at + r)),
        FaultAction::KillWorker { worker } => (format!("worker-{}", worker + 1), Some(f.at + worker_restart)),
        FaultAction::RedisDown { lasting } | FaultAction::RedisSlow { lasting, .. } => ("Redis".to_string(), Some(f.at + *lasting)),
        // The primary dies once: what takes over is another node, not this one back.
        FaultAction::KillRedisPrimary { .. } => ("Redis".to_string(), None),
    }
}

/// Two faults on one target may not overlap in time: the second would act on a server
/// already down, or on a Redis already broken, and what it means would depend on order.
fn overlaps(c: &mut Checker, faults: &[(usize, Fault)], worker_restart: SimDuration) {
    for (k, (j, later)) in faults.iter().enumerate() {
        let (target, _) = target_and_end(later, worker_restart);
        let earlier = faults[..k].iter().find(|(_, e)| {
            let (t, end) = target_and_end(e, worker_restart);
            t == target && end.is_none_or(|end| later.at < end)
        });
        if let Some((i, e)) = earlier {
            let (_, end) = target_and_end(e, worker_restart);
            let until = end.map_or("the end of the run".to_string(), |end| end.to_string());
            c.err(
                &format!("faults[{j}].at"),
                format!("this fault on {target} at {} overlaps faults[{i}] (at {}, lasting until {until})", later.at, e.at),
                "faults on one target must not overlap: move this one later, or shorten the earlier one",
            );
        }
    }
}

fn parse_gateway_name(name: &str, count: u32) -> Result<u32, String> {
    let valid = match count {
        0 => "gateways exist only with websockets.mode = \"gateway\"".to_string(),
        1 => "this model has one gateway: \"gateway-1\"".to_string(),
        n => format!("gateways are named \"gateway-1\" to \"gateway-{n}\""),
    };
    match name.strip_prefix("gateway-").and_then(|k| k.parse::<u32>().ok()) {
        Some(k) if k >= 1 && k <= count => Ok(k - 1),
        _ => Err(valid),
    }
}

/// The name a fault kills the Redis primary by.
pub const REDIS_PRIMARY: &str = "redis-primary";

fn parse_server_name(name: &str, count: u32) -> Result<u32, String> {
    let valid = match count {
        0 => "this model has no servers (the Redis primary is \"redis-primary\")".to_string(),
        1 => "this model has one server: \"server-1\" (the Redis primary is \"redis-primary\")".to_string(),
        n => format!("servers are named \"server-1\" to \"server-{n}\" (the Redis primary is \"redis-primary\")"),
    };
    match name.strip_prefix("server-").and_then(|k| k.parse::<u32>().ok()) {
        Some(k) if k >= 1 && k <= count => Ok(k - 1),
        _ => Err(valid),
    }
}
