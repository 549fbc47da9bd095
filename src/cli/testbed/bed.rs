//! One testbed variant stood up for real: redis-server, N web servers (this binary's
//! hidden `testbed-server`), HAProxy configured from the variant's policy and health
//! checks, the load generator, and a SIGKILL at the fault time.

use super::loadgen::{self, Load, UserLog};
use super::procs::{self, Proc};
use super::server::{RateLimit, ServerConfig, Store};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The load balancer's policy, as HAProxy and the simulator both know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    RoundRobin,
    Cookie,
    Source,
}

impl Policy {
    pub fn model(self) -> &'static str {
        match self {
            Policy::RoundRobin => "round-robin",
            Policy::Cookie => "cookie",
            Policy::Source => "ip-hash",
        }
    }
}

/// One variant's parameters: what the testbed stands up and what the simulator's model says.
#[derive(Clone, Debug)]
pub struct Variant {
    pub name: &'static str,
    pub policy: Policy,
    pub sessions: Store,
    pub carts: Store,
    pub servers: u32,
    pub cores: u32,
    pub queue_limit: u64,
    pub service_mean_s: f64,
    pub service_cv: f64,
    pub login_cpu_s: f64,
    pub users: u32,
    pub nat_users: u32,
    pub think_mean_s: f64,
    pub add_share: f64,
    pub timeout_s: f64,
    pub duration_s: f64,
    pub warmup_s: f64,
    /// (seconds, server index from 1) of the SIGKILL.
    pub kill: Option<(f64, u32)>,
    pub health_inter_s: f64,
    pub fall: u32,
    pub rise: u32,
    pub retries: u32,
    /// A rate limit per user on every server, and an abusive client sending this many
    /// requests a second (Poisson) as a user of its own.
    pub rate_limit: Option<RateLimit>,
    pub abuser_rate: f64,
}

/// What a run of the testbed measured.
#[derive(Debug, Default, Clone)]
pub struct Measured {
    pub users: Vec<UserLog>,
    /// The abusive client's record, if the variant has one.
    pub abuser: Option<UserLog>,
    pub window_s: f64,
}

fn haproxy_config(v: &Variant, port: u16, servers: &[u16]) -> String {
    let balance = match v.policy {
        Policy::Source => "balance source\n    hash-type map-based",
        _ => "balance roundrobin",
    };
    let cookie = if v.policy == Policy::Cookie { "    cookie SRV insert indirect nocache\n" } else { "" };
    let inter = (v.health_inter_s * 1000.0).round() as u64;
    let mut s = format!(
        "global\n    nbthread 1\n    maxconn 4000\n\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 60s\n    timeout server 60s\n    retries {}\n    option redispatch 1\n    retry-on conn-failure empty-response\n\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n\nbackend be\n    {balance}\n{cookie}    option httpchk GET /health\n",
        v.retries
    );
    for (i, p) in servers.iter().enumerate() {
        let ck = if v.policy == Policy::Cookie { format!(" cookie s{}", i + 1) } else { String::new() };
        s.push_str(&format!("    server s{} 127.0.0.1:{p} check inter {inter} fall {} rise {}{ck}\n", i + 1, v.fall, v.rise));
    }
    s
}

/// Stands the variant up, runs it, tears it down. `redis` is a running redis-server.
pub fn run(v: &Variant, redis: &str, dir: &Path) -> Result<Measured, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut servers: Vec<Proc> = Vec::new();
    let mut ports = Vec::new();
    for i in 0..v.servers {
        let (server, port) =
            procs::spawn_listening(&format!("server-{}", i + 1), Some(&dir.join(format!("server-{}.log", i + 1))), Duration::from_secs(10), |port| {
                let cfg = ServerConfig {
                    id: i + 1,
                    port,
                    cores: v.cores,
                    queue_limit: v.queue_limit,
                    service_mean_s: v.service_mean_s,
                    service_cv: v.service_cv,
                    login_cpu_s: v.login_cpu_s,
                    sessions: v.sessions,
                    carts: v.carts,
                    redis: Some(redis.to_string()),
                    rate_limit: v.rate_limit,
                };
                let json = serde_json::to_string(&cfg).expect("config serializes");
                let mut cmd = Command::new(&exe);
                cmd.args(["testbed-server", "--config", &json]);
                Ok(cmd)
            })?;
        servers.push(server);
        ports.push(port);
    }
    let cfg_file = dir.join(format!("haproxy-{}.cfg", v.name));
    let (_haproxy, lb_port) = procs::spawn_listening("haproxy", Some(&dir.join("haproxy.log")), Duration::from_secs(10), |lb_port| {
        // Written before each start: a retry on a fresh port rewrites it.
        std::fs::write(&cfg_file, haproxy_config(v, lb_port, &ports)).map_err(|e| format!("cannot write {}: {e}", cfg_file.display()))?;
        let mut cmd = Command::new(haproxy());
        cmd.arg("-db").arg("-f").arg(&cfg_file);
        Ok(cmd)
    })?;
    let lb = format!("127.0.0.1:{lb_port}");
    std::thread::sleep(Duration::from_millis((v.health_inter_s * 1000.0 * v.rise as f64) as u64 + 200));

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| e.to_string())?;
    let lb_addr: std::net::SocketAddr = lb.parse().expect("address");
    let sources = match v.policy {
        Policy::Source => rt.block_on(aligned_sources(v, lb_addr))?,
        _ => loadgen::sources(v.users, v.nat_users),
    };
    let load = Load {
        lb: lb_addr,
        sources,
        think_mean_s: v.think_mean_s,
        add_share: v.add_share,
        timeout: Duration::from_secs_f64(v.timeout_s),
        start: Instant::now(),
        warmup: Duration::from_secs_f64(v.warmup_s),
        end: Duration::from_secs_f64(v.duration_s),
    };
    // Warm start: every user logs in (and gets its cookies) before the clock starts.
    let jars: Vec<HashMap<String, String>> = rt.block_on(async {
        let mut jars = Vec::new();
        for chunk in (0..v.users).collect::<Vec<_>>().chunks(50) {
            let hs: Vec<_> = chunk.iter().map(|&u| tokio::spawn(loadgen::user(load.clone(), u, HashMap::new(), true))).collect();
            for h in hs {
                jars.push(h.await.expect("user task").1);
            }
        }
        jars
    });
    let load = Load { start: Instant::now(), ..load };
    let users = rt.block_on(async {
        let hs: Vec<_> = jars.into_iter().enumerate().map(|(u, jar)| tokio::spawn(loadgen::user(load.clone(), u as u32, jar, false))).collect();
        let abuser = (v.abuser_rate > 0.0).then(|| tokio::spawn(loadgen::abuser(load.clone(), v.abuser_rate)));
        if let Some((at, k)) = v.kill {
            tokio::time::sleep_until((load.start + Duration::from_secs_f64(at)).into()).await;
            servers[(k - 1) as usize].kill9();
        }
        let mut logs = Vec::new();
        for h in hs {
            logs.push(h.await.expect("user task").0);
        }
        let abuser = match abuser {
            Some(h) => Some(h.await.expect("abuser task")),
            None => None,
        };
        (logs, abuser)
    });
    let (users, abuser) = users;
    drop(servers);
    Ok(Measured { users, abuser, window_s: v.duration_s - v.warmup_s })
}

/// Source addresses under which HAProxy's source hash deals the users to the servers as
/// the simulator's ip-hash does (`mix64(ip) % n` of the simulator's address numbers: 0 for
/// the NAT, 1, 2, ... for the others in order), so the two compare the same deal: the
/// two hash functions differ, and on a few hundred users their deals differ by several
/// users per server. Candidate addresses are probed through HAProxy (`/whoami`) and each
/// user given one that reaches the server the simulator would pick.
async fn aligned_sources(v: &Variant, lb: std::net::SocketAddr) -> Result<Vec<std::net::Ipv4Addr>, String> {
    use statesim::policies::lb::mix64;
    let n = v.servers as u64;
    let ip_of = |u: u32| if u < v.nat_users { 0 } else { 1 + (u - v.nat_users) as u64 };
    let want: Vec<u32> = (0..v.users).map(|u| (mix64(ip_of(u)) % n) as u32 + 1).collect();
    // Addresses still needed per server id: the NAT's one, and one per other user.
    let mut needed = vec![0usize; v.servers as usize + 1];
    if v.nat_users > 0 {
        needed[want[0] as usize] += 1;
    }
    for u in v.nat_users..v.users {
        needed[want[u as usize] as usize] += 1;
    }
    let mut found: Vec<Vec<std::net::Ipv4Addr>> = vec![Vec::new(); v.servers as usize + 1];
    let most = (v.users * 20).clamp(1000, 60_000);
    let mut k = 0;
    while (1..=v.servers as usize).any(|s| found[s].len() < needed[s]) {
        if k >= most {
            return Err(format!("aligning HAProxy's source hash: {k} addresses probed, still short of some server's share"));
        }
        let src = loadgen::candidate(k);
        k += 1;
        if let Some(s) = loadgen::server_reached(lb, src).await
            && (1..=v.servers).contains(&s)
            && found[s as usize].len() < needed[s as usize]
        {
            found[s as usize].push(src);
        }
    }
    let nat = if v.nat_users > 0 { found[want[0] as usize].pop() } else { None };
    let mut next = found.iter().map(|f| f.clone().into_iter()).collect::<Vec<_>>();
    Ok((0..v.users)
        .map(|u| if u < v.nat_users { nat.expect("a NAT address") } else { next[want[u as usize] as usize].next().expect("an address per user") })
        .collect())
}

/// The HAProxy binary.
pub fn haproxy() -> &'static str {
    if Path::new("/usr/sbin/haproxy").exists() { "/usr/sbin/haproxy" } else { "haproxy" }
}
