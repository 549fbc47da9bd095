//! Raw model -> [`System`]: every range, share and reference checked, every problem
//! listed with its key path.

use super::checker::Checker;
use super::*;
use crate::scenario::diag::Problem;
use crate::scenario::raw::*;

/// Load balancer instances a model may run side by side.
const MAX_LB_INSTANCES: u32 = 64;

/// Checks a deserialized model and turns it into a [`System`], or lists every problem.
pub fn resolve(raw: &RawModel) -> Result<System, Vec<Problem>> {
    let mut c = Checker { problems: Vec::new() };

    // run
    let r = &raw.run;
    if r.duration.0.is_zero() {
        c.err("run.duration", "the run has zero duration", "give it a length such as \"10m\"");
    }
    if r.warmup.0 >= r.duration.0 && !r.duration.0.is_zero() {
        c.err(
            "run.warmup",
            format!("the warm-up ({}) is not shorter than the run ({})", r.warmup.0, r.duration.0),
            "warm-up is excluded from statistics, so it must end before the run does",
        );
    }
    if r.replications == 0 || r.replications > 10_000 {
        c.err("run.replications", format!("{} replications", r.replications), "use 1 to 10000");
    }
    match r.timeseries_step {
        Some(step) if step.0.is_zero() => c.err("run.timeseries_step", "the time-series step is zero", "use \"1s\" or longer"),
        Some(step) if r.duration.0.0 / step.0.0 > 1_000_000 => c.err(
            "run.timeseries_step",
            format!("{} buckets of {} in {}", r.duration.0.0 / step.0.0, step.0, r.duration.0),
            "use a step that gives at most 1,000,000 buckets, or leave it out for at most 3600",
        ),
        _ => {}
    }
    if r.max_requests == Some(0) {
        c.err("run.max_requests", "max_requests is zero", "leave it out to run for the whole duration");
    }
    let run = RunSpec {
        duration: r.duration.0,
        warmup: r.warmup.0,
        seed: r.seed,
        max_requests: r.max_requests,
        replications: r.replications.max(1),
        timeseries_step: match r.timeseries_step {
            Some(step) if !step.0.is_zero() => step.0,
            _ => default_timeseries_step(r.duration.0),
        },
    };

    // clients
    let cl = &raw.clients;
    if cl.users == 0 {
        c.err("clients.users", "there are no users", "use 1 or more");
    }
    // Memory for large populations is the budget's concern (see `budget`); user ids
    // are 32-bit.
    if cl.users > u32::MAX as u64 {
        c.err(
            "clients.users",
            format!("a population of {} users", cl.users),
            format!("statesim simulates at most {} users; simulate a sample and scale the rates", u32::MAX),
        );
    }
    let workload = match (&cl.arrival_rate, &cl.think_time) {
        (Some(rate), None) => {
            if rate.per_sec <= 0.0 {
                c.err("clients.arrival_rate", "the arrival rate is zero", "use a positive rate such as \"100/s\"");
            }
            Workload::Open { rate_per_sec: rate.per_sec }
        }
        (None, Some(think)) => Workload::Closed { think_time: c.time_dist(think, "clients.think_time") },
        (Some(_), Some(_)) => {
            c.err(
                "clients.think_time",
                "both arrival_rate and think_time are set",
                "arrival_rate makes an open workload (Poisson arrivals), think_time a closed one (each user waits, then sends); keep one",
            );
            Workload::Open { rate_per_sec: 1.0 }
        }
        (None, None) => {
            c.err(
                "clients",
                "the clients send nothing: neither arrival_rate nor think_time is set",
                "add arrival_rate = \"100/s\" (open) or think_time = { dist = \"exponential\", mean = \"30s\" } (closed)",
            );
            Workload::Open { rate_per_sec: 1.0 }
        }
    };
    let timeout = match cl.timeout {
        DurationOrOff::Off => None,
        DurationOrOff::On(d) if d.0.is_zero() => {
            c.err("clients.timeout", "a zero timeout fails every request", "use \"30s\", or \"off\" for no timeout");
            None
        }
        DurationOrOff::On(d) => Some(d.0),
    };
    let mut proxies = Vec::new();
    let mut behind = 0u64;
    for (i, p) in cl.proxies.iter().enumerate() {
        let path = format!("clients.proxies[{i}]");
        if p.users == 0 {
            c.err(&format!("{path}.users"), "a proxy group with no users", "use 1 or more");
        }
        if p.ips == 0 || p.ips > p.users.max(1) {
            c.err(&format!("{path}.ips"), format!("{} IPs for {} users", p.ips, p.users), "a group shares between 1 and `users` public IPs");
        }
        behind = behind.saturating_add(p.users);
        proxies.push(ProxyGroup { name: p.name.clone().unwrap_or_else(|| format!("proxy-{}", i + 1)), users: p.users, ips: p.ips.max(1) });
    }
    if behind > cl.users {
        c.err(
            "clients.proxies",
            format!("the proxy groups hold {behind} users but the population is {}", cl.users),
            "proxy groups are part of clients.users; raise users or shrink the groups",
        );
    }
    let idempotent_share = c.share(cl.idempotent_share, "clients.idempotent_share");
    let abuser = cl.abuser.as_ref().map(|a| {
        if a.rate.per_sec <= 0.0 {
            c.err("clients.abuser.rate", "an abuser that sends nothing", "use a rate such as \"200/s\"");
        }
        if let Some(every) = a.burst_every
            && (every.0.is_zero() || a.burst_length.0 > every.0)
        {
            c.err(
                "clients.abuser.burst_length",
                "bursts longer than the time between them",
                "use burst_length < burst_every, or leave burst_every out to send all the time",
            );
        }
        AbuserSpec { rate_per_sec: a.rate.per_sec, burst_every: a.burst_every.map(|d| d.0), burst_length: a.burst_length.0 }
    });
    let profile = cl.profile.as_ref().map(|p| {
        if !matches!(workload, Workload::Open { .. }) {
            c.err("clients.profile", "a rate profile needs an open workload", "set clients.arrival_rate (and not think_time)");
        }
        match p {
            RawProfile::Step { at, factor } => {
                if factor.is_nan() || *factor <= 0.0 || *factor > 1000.0 {
                    c.err("clients.profile.factor", format!("a step to {factor} x"), "use a factor above 0 (2 doubles the rate)");
                }
                Profile::Step { at: at.0, factor: *factor }
            }
            RawProfile::Daily { period, low } => {
                if period.0.is_zero() {
                    c.err("clients.profile.period", "a daily curve with a period of 0s", "use \"24h\", or a shorter day such as \"1h\"");
                }
                if !(0.0..=1.0).contains(low) {
                    c.err("clients.profile.low", format!("{low} is not a share of the peak"), "use a number from 0 to 1");
                }
                Profile::Daily { period: if period.0.is_zero() { SimDuration::from_secs(86400) } else { period.0 }, low: *low }
            }
        }
    });
    let clients = ClientSpec { users: cl.users, workload, timeout, proxies, idempotent_share, abuser, profile };

    // network and load balancer
    let network = NetworkSpec {
        client_to_lb: c.time_dist(&raw.network.client_to_lb, "network.client_to_lb"),
        lb_to_server: c.time_dist(&raw.network.lb_to_server, "network.lb_to_server"),
    };
    let lb = &raw.load_balancer;
    let hc = &lb.health_check;
    if hc.enabled {
        if hc.interval.0.is_zero() {
            c.err("load_balancer.health_check.interval", "health checks every 0s", "use 5s to 30s, or enabled = false");
        }
        if hc.unhealthy_after == 0 {
            c.err("load_balancer.health_check.unhealthy_after", "0 failures before removal", "use 1 or more (2 is usual)");
        }
        if hc.healthy_after == 0 {
            c.err("load_balancer.health_check.healthy_after", "0 successes before return", "use 1 or more (2 is usual)");
        }
        if matches!(hc.timeout, DurationOrOff::On(d) if d.0.is_zero()) {
            c.err("load_balancer.health_check.timeout", "a zero timeout fails every probe of a server with work queued", "use \"2s\" to \"10s\", or \"off\"");
        }
    }
    if !hc.enabled && (hc.replace || matches!(hc.timeout, DurationOrOff::On(_))) {
        let key = if hc.replace { "load_balancer.health_check.replace" } else { "load_balancer.health_check.timeout" };
        c.err(key, "a probe timeout or replacement with health checks off does nothing", "set load_balancer.health_check.enabled = true, or remove the key");
    }
    let hc_timeout = match hc.timeout {
        DurationOrOff::On(d) => Some(d.0),
        DurationOrOff::Off => None,
    };
    let servers = &raw.servers;
    if lb.virtual_nodes == 0 || lb.virtual_nodes as u64 * servers.count as u64 > 10_000_000 {
        c.err(
            "load_balancer.virtual_nodes",
            format!("{} virtual nodes per server", lb.virtual_nodes),
            "use 1 or more, with at most 10,000,000 ring points in all (150 per server is usual)",
        );
    }
    if lb.retries > 16 {
        c.err("load_balancer.retries", format!("{} retries", lb.retries), "use 0 to 16");
    }
    if lb.choices != Choices::Distinct && lb.policy != LbPolicy::PowerOfTwo {
        c.err(
            "load_balancer.choices",
            format!("choices = \"{}\" with policy \"{}\"", lb.choices.name(), lb.policy.name()),
            "only power-of-two draws candidates: use policy = \"power-of-two\", or remove choices",
        );
    }
    let load_balancer = LbSpec {
        policy: lb.policy,
        choices: lb.choices,
        latency: c.time_dist(&lb.latency, "load_balancer.latency"),
        health_check: hc.enabled.then_some(HealthCheck {
            interval: hc.interval.0,
            unhealthy_after: hc.unhealthy_after,
            healthy_after: hc.healthy_after,
            timeout: hc_timeout,
            replace: hc.replace,
        }),
        retries: lb.retries,
        retry_idempotent: lb.retry_idempotent,
        retry_to: lb.retry_to,
        virtual_nodes: lb.virtual_nodes,
        load_info_period: lb.load_info_period.0,
        instances: lb.instances.clamp(1, MAX_LB_INSTANCES) as u8,
    };
    if !(1..=MAX_LB_INSTANCES).contains(&lb.instances) {
        c.err("load_balancer.instances", format!("{} load balancer instances", lb.instances), format!("use 1 to {MAX_LB_INSTANCES}"));
    } else if lb.instances > 1 && !matches!(lb.policy, LbPolicy::LeastConnections | LbPolicy::PowerOfTwo) {
        c.err(
            "load_balancer.instances",
            format!("several load balancer instances with policy \"{}\", which reads no load (they would route as one)", lb.policy.name()),
            "use it with policy = \"least-connections\" or \"power-of-two\", or remove it",
        );
    } else if lb.instances > 1 && !lb.load_info_period.0.is_zero() {
        c.err(
            "load_balancer.instances",
            "several instances and a load snapshot together",
            "each instance counts its own connections live: remove load_info_period, or use one instance",
        );
    }
    if !lb.load_info_period.0.is_zero() && !matches!(lb.policy, LbPolicy::LeastConnections | LbPolicy::PowerOfTwo) {
        c.err(
            "load_balancer.load_info_period",
            format!("a load snapshot with policy \"{}\", which reads no load", lb.policy.name()),
            "use it with policy = \"least-connections\" or \"power-of-two\", or remove it",
        );
    }

    // servers
    if servers.count == 0 {
        c.err("servers.count", "there are no servers", "use 1 or more");
    } else if servers.count > MAX_SERVERS {
        c.err("servers.count", format!("{} servers", servers.count), format!("use at most {MAX_SERVERS}"));
    }
    if servers.cores == 0 || servers.cores > MAX_CORES {
        c.err("servers.cores", format!("{} cores per server", servers.cores), format!("use 1 to {MAX_CORES}"));
    }
    if servers.queue_limit > 100_000_000 {
        c.err("servers.queue_limit", format!("a queue of {} requests", servers.queue_limit), "use at most 100,000,000");
    }
    let server_spec = ServerSpec {
        count: servers.count,
        cores: servers.cores,
        service: c.time_dist(&servers.service, "servers.service"),
        queue_limit: servers.queue_limit,
        boot_time: servers.boot_time.0,
    };

    // sessions, redis, database, carts, revocation
    let se = &raw.sessions;
    if se.lifetime.0.is_zero() {
        c.err("sessions.lifetime", "sessions that last 0s", "use a lifetime such as \"30m\"");
    }
    if se.blocklist != BlocklistMode::Off && se.store != SessionStoreKind::Jwt {
        c.err(
            "sessions.blocklist",
            "a blocklist is for JWT sessions",
            "set sessions.store = \"jwt\", or remove blocklist: reference tokens are revoked by deleting them",
        );
    }
    if se.blocklist == BlocklistMode::Cached && se.blocklist_refresh.0.is_zero() {
        c.err("sessions.blocklist_refresh", "a cached blocklist refreshed every 0s", "use \"5s\" or more, or blocklist = \"per-request\"");
    }
    let sessions = SessionSpec {
        store: se.store,
        lifetime: se.lifetime.0,
        algorithm: se.algorithm,
        blocklist: se.blocklist,
        blocklist_refresh: se.blocklist_refresh.0,
        blocklist_fail: se.blocklist_fail,
        login_cpu: se.login_cpu.0,
        warm_start: se.warm_start,
        jwt: super::jwt::resolve_jwt(&mut c, &raw.jwt, se.algorithm),
    };
    let redis = resolve_redis(&mut c, &raw.redis);
    if raw.database.connections == 0 || raw.database.connections > 100_000 {
        c.err("database.connections", format!("{} connections", raw.database.connections), "use 1 to 100000");
    }
    let database = resolve_database(&mut c, &raw.database);
    let ca = &raw.carts;
    let carts = CartSpec {
        store: ca.store,
        add_share: c.share(ca.add_share, "carts.add_share"),
        guests: ca.guests,
        visit_requests: ca.visit_requests,
        login_share: c.share(ca.login_share, "carts.login_share"),
        page_reads: ca.page_reads,
    };
    if ca.page_reads && ca.store != CartStoreKind::Database {
        c.err(
            "carts.page_reads",
            "pages read the cart from the database, but carts are not kept there",
            "set carts.store = \"database\", or remove page_reads",
        );
    }
    if ca.guests && ca.store == CartStoreKind::None {
        c.err("carts.guests", "guest shoppers with no cart store", "set carts.store to \"server-memory\", \"database\" or \"client\"");
    }
    if ca.guests && se.store == SessionStoreKind::None {
        c.err("carts.guests", "guests log in at checkout, but there are no sessions", "set sessions.store");
    }
    if ca.visit_requests.is_nan() || ca.visit_requests < 1.0 {
        c.err("carts.visit_requests", format!("{} requests per visit", ca.visit_requests), "use 1 or more");
    }
    let rv = &raw.revocation;
    if rv.fire_rate.per_sec > 0.0 && se.store == SessionStoreKind::None {
        c.err("revocation.fire_rate", "users are fired but there are no sessions to revoke", "set sessions.store");
    }
    let revocation = RevocationSpec { fire_rate_per_sec: rv.fire_rate.per_sec, fire_until: rv.fire_until.map_or(run.duration, |d| d.0) };

    let rl = &raw.rate_limit;
    let rate_limit = rl.algorithm.map(|algorithm| {
        if rl.limit == 0 {
            c.err("rate_limit.limit", "a limit of 0 rejects everything", "use 1 or more");
        }
        if rl.window.0.is_zero() {
            c.err("rate_limit.window", "a window of 0s", "use \"1s\" or more");
        }
        if rl.burst == Some(0) {
            c.err("rate_limit.burst", "a bucket of 0 rejects everything", "use 1 or more, or leave it out (the limit)");
        }
        if rl.commands == LimitCommands::IncrThenExpire && (algorithm != crate::policies::Algorithm::FixedWindow || rl.store != LimitStore::Redis) {
            c.err(
                "rate_limit.commands",
                "incr-then-expire is how a Redis fixed window is sometimes written",
                "use it with algorithm = \"fixed-window\" and store = \"redis\"",
            );
        }
        RateLimitSpec {
            limit: Limit {
                algorithm,
                limit: rl.limit.max(1),
                window: if rl.window.0.is_zero() { SimDuration::from_secs(1) } else { rl.window.0 },
                burst: rl.burst.unwrap_or(rl.limit).max(1),
            },
            store: rl.store,
            key: rl.key,
            fail: rl.fail,
            commands: rl.commands,
        }
    });

    let jb = &raw.jobs;
    let jobs = (jb.mode != JobsMode::None).then(|| {
        if jb.workers == 0 || jb.workers > 100_000 {
            c.err("jobs.workers", format!("{} workers", jb.workers), "use 1 to 100000");
        }
        JobsSpec {
            queued: jb.mode == JobsMode::Queue,
            share: c.share(jb.share, "jobs.share"),
            duration: c.time_dist(&jb.duration, "jobs.duration"),
            workers: jb.workers.max(1),
            visibility_timeout: jb.visibility_timeout.0,
            accept_cpu: jb.accept_cpu.0,
            result_write: c.time_dist(&jb.result_write, "jobs.result_write"),
            worker_restart: jb.worker_restart.0,
        }
    });

    let up = &raw.uploads;
    let uploads = (up.store != UploadStore::None).then(|| {
        let share = c.share(up.share, "uploads.share");
        let read_share = c.share(up.read_share, "uploads.read_share");
        if share + read_share > 1.0 {
            c.err("uploads.read_share", "uploads and reads add up to more than every request", "keep share + read_share <= 1");
        }
        if up.url_expiry.0.is_zero() {
            c.err("uploads.url_expiry", "a pre-signed URL that has expired before the client can use it", "use \"5m\" (the playbook's) or longer");
        }
        if let Some(part) = up.part_size
            && part.0 < 5e6
        {
            c.err(
                "uploads.part_size",
                "a part smaller than S3 accepts",
                "use \"5MB\" or more (S3's smallest part but the last), or omit it for one PUT per file",
            );
        }
        if !(up.drops_per_hour.is_finite() && (0.0..=3600.0).contains(&up.drops_per_hour)) {
            c.err(
                "uploads.drops_per_hour",
                "a drop rate that is negative, not a number, or more than one a second",
                "use a rate between 0 and 3600, such as 6",
            );
        }
        if raw.s3.put_limit == 0 {
            c.err("s3.put_limit", "S3 refusing every PUT", "use 3500 (S3's per-prefix rate)");
        }
        UploadSpec {
            store: up.store,
            share,
            read_share,
            size: c.dist(&up.size, "uploads.size"),
            client_bytes_per_s: up.client_bandwidth.0,
            cpu_ns_per_byte: up.cpu_per_mb.0.0 as f64 / 1e6,
            presign_cpu: up.presign_cpu.0,
            url_expiry: up.url_expiry.0,
            part_bytes: up.part_size.map(|p| p.0),
            drops_per_s: up.drops_per_hour / 3600.0,
            refresh_expired_url: up.refresh_expired_url,
            s3_first_byte: c.time_dist(&raw.s3.first_byte, "s3.first_byte"),
            s3_bytes_per_s: raw.s3.throughput.0,
            s3_put_limit: raw.s3.put_limit.max(1),
        }
    });

    let ws = &raw.websockets;
    let websockets = (ws.mode != WsMode::None).then(|| {
        if ws.message_rate.per_sec <= 0.0 {
            c.err("websockets.message_rate", "users who never send a message", "use a rate such as \"1/min\"");
        }
        if clients.users < 2 {
            c.err("clients.users", "messages need at least two users", "use 2 or more");
        }
        let gateways = match (ws.mode, ws.gateways) {
            (WsMode::Gateway, g) => g.unwrap_or(2),
            (_, None) => 0,
            (mode, Some(_)) => {
                c.err(
                    "websockets.gateways",
                    format!("gateways with mode \"{}\"", mode.name()),
                    "gateways hold the connections only with mode = \"gateway\": remove gateways, or use that mode",
                );
                0
            }
        };
        if ws.channels != WsChannels::Broadcast && ws.mode != WsMode::Pubsub {
            c.err(
                "websockets.channels",
                format!("per-user channels with mode \"{}\"", ws.mode.name()),
                "channels are Redis pub/sub's: use mode = \"pubsub\", or remove channels",
            );
        }
        if ws.mode == WsMode::Gateway && !(1..=MAX_GATEWAYS).contains(&gateways) {
            c.err("websockets.gateways", format!("{gateways} gateways"), format!("use 1 to {MAX_GATEWAYS}"));
        }
        WsSpec {
            mode: ws.mode,
            messages_per_user_per_sec: ws.message_rate.per_sec,
            reconnect_after: ws.reconnect_after.0,
            reconnect_jitter: ws.reconnect_jitter.0,
            publish_per_subscriber: ws.publish_per_subscriber.0,
            channels: ws.channels,
            gateways,
        }
    });

    let a = &raw.autoscaling;
    if a.enabled {
        if a.min == 0 || a.min > a.max {
            c.err("autoscaling.min", format!("min {} with max {}", a.min, a.max), "use 1 <= min <= max");
        }
        if a.max > MAX_SERVERS {
            c.err("autoscaling.max", format!("{} instances", a.max), format!("use at most {MAX_SERVERS}"));
        }
        if !(a.target_cpu > 0.0 && a.target_cpu < 1.0) {
            c.err("autoscaling.target_cpu", format!("a CPU target of {}", a.target_cpu), "use a share between 0 and 1, such as 0.5");
        }
        if a.metric_period.0.is_zero() {
            c.err("autoscaling.metric_period", "a metric period of 0s", "use \"1m\"");
        }
    }
    let spot_share = c.share(a.spot_share, "autoscaling.spot_share");
    let fleet = FleetSpec {
        autoscale: a.enabled,
        target_cpu: a.target_cpu,
        metric_period: if a.metric_period.0.is_zero() { SimDuration::from_secs(60) } else { a.metric_period.0 },
        cooldown: a.cooldown.0,
        min: a.min.max(1),
        max: if a.enabled { a.max.max(servers.count).min(MAX_SERVERS) } else { servers.count },
        spot_share,
        spot_interruptions_per_sec: a.spot_interruptions.per_sec,
        spot_notice: a.spot_notice.0,
        on_demand_per_hour: a.on_demand_per_hour,
        spot_per_hour: a.spot_per_hour,
        deploy: a.deploy.as_ref().map(|d| (d.at.0, d.drain.0)),
    };
    if let Some(d) = &a.deploy
        && d.at.0 >= run.duration
    {
        c.err(
            "autoscaling.deploy.at",
            format!("the deploy at {} comes at or after the end of the run ({})", d.at.0, run.duration),
            "move it inside the run or lengthen run.duration",
        );
    }
    for (price, path) in [(a.on_demand_per_hour, "autoscaling.on_demand_per_hour"), (a.spot_per_hour, "autoscaling.spot_per_hour")] {
        if !(price.is_finite() && price >= 0.0) {
            c.err(path, format!("a price of {price} per instance-hour"), "use a finite number, 0 or more, such as 0.10");
        }
    }

    let client_retries = raw.client_retries.as_ref().map(|r| super::retries::resolve_client_retries(&mut c, r, &clients.workload));
    let long_polling = raw.long_polling.as_ref().map(|r| super::long_polling::resolve_long_polling(&mut c, raw, r, clients.users, &server_spec));

    // faults
    let gateways = websockets.as_ref().map_or(0, |w| w.gateways);
    let faults = super::faults::resolve_faults(&mut c, &raw.faults, run.duration, servers.count, jobs.as_ref(), gateways, redis.failover_after);

    if c.problems.is_empty() {
        Ok(System {
            run,
            clients,
            network,
            load_balancer,
            servers: server_spec,
            sessions,
            redis,
            database,
            carts,
            revocation,
            rate_limit,
            jobs,
            uploads,
            websockets,
            client_retries,
            long_polling,
            fleet,
            faults,
        })
    } else {
        Err(c.problems)
    }
}

/// Redis and its replica: the lag and the failover time mean something only with a replica
/// to copy to (the failover time also with none: the time an empty replacement takes).
fn resolve_redis(c: &mut Checker, r: &RawRedis) -> RedisSpec {
    let replication_lag = match &r.replication_lag {
        Some(lag) => {
            if !r.replication.has_replica() {
                c.err(
                    "redis.replication_lag",
                    "a replication lag with no replica",
                    "set redis.replication = \"async\" (or \"sync\"), or remove replication_lag",
                );
            }
            c.time_dist(lag, "redis.replication_lag")
        }
        None => Distribution::constant(1e6),
    };
    RedisSpec {
        round_trip: c.time_dist(&r.round_trip, "redis.round_trip"),
        service: c.time_dist(&r.service, "redis.service"),
        replication: r.replication,
        replication_lag,
        failover_after: r.failover_after.map_or(SimDuration::from_secs(30), |d| d.0),
    }
}

/// The database's read replicas: the lag and where reads go mean something only with
/// replicas, and the time reads stay on the primary only when they go there after a write.
fn resolve_database(c: &mut Checker, d: &RawDatabase) -> DatabaseSpec {
    let replicas = d.read_replicas;
    if replicas > 1_000 {
        c.err("database.read_replicas", format!("{replicas} read replicas"), "use 0 to 1000");
    }
    let only_with_replicas = |c: &mut Checker, key: &str| {
        if replicas == 0 {
            c.err(&format!("database.{key}"), format!("{key} with no read replicas"), "set database.read_replicas to 1 or more, or remove it");
        }
    };
    let replication_lag = match &d.replication_lag {
        Some(lag) => {
            only_with_replicas(c, "replication_lag");
            c.time_dist(lag, "database.replication_lag")
        }
        None => Distribution::constant(1e8),
    };
    if d.read_from.is_some() {
        only_with_replicas(c, "read_from");
    }
    let read_from = d.read_from.unwrap_or_default();
    if d.primary_after_write.is_some() && read_from != ReadFrom::PrimaryAfterWrite {
        c.err(
            "database.primary_after_write",
            "a time on the primary after a write, but reads do not go there after a write",
            "set database.read_from = \"primary-after-write\", or remove primary_after_write",
        );
    }
    DatabaseSpec {
        connections: d.connections.max(1),
        read: c.time_dist(&d.read, "database.read"),
        write: c.time_dist(&d.write, "database.write"),
        read_replicas: replicas.min(1_000),
        replication_lag,
        read_from,
        primary_after_write: d.primary_after_write.map_or(SimDuration::from_secs(1), |p| p.0),
    }
}
