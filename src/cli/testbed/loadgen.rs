//! The closed-loop load generator: each user keeps its own keep-alive connection bound
//! to its own source address (127.x.y.z; a NAT group shares one), its own cookies, and
//! thinks an exponential time between requests. It records what the simulator counts.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use rand::SeedableRng;
use rand_distr::Distribution;
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// What the users are told to do.
#[derive(Clone, Debug)]
pub struct Load {
    pub lb: SocketAddr,
    /// Each user's source address (a NAT group's users share one).
    pub sources: Vec<Ipv4Addr>,
    pub think_mean_s: f64,
    pub add_share: f64,
    pub timeout: Duration,
    /// The clock of the whole run: stats from warm-up to end.
    pub start: Instant,
    pub warmup: Duration,
    pub end: Duration,
}

/// One user's record.
#[derive(Default, Clone, Debug)]
pub struct UserLog {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub overloaded_503: u64,
    pub latencies_s: Vec<f64>,
    pub by_server: BTreeMap<String, u64>,
    pub sessions_lost: u64,
    pub carts_lost: u64,
    pub rate_limited_429: u64,
    /// Items added with an ok answer over the whole run, warm-up included (each one a
    /// database write where the cart lives there).
    pub items_added: u64,
    /// Service and login times the servers really held a worker (seconds).
    pub work_s: Vec<f64>,
    pub login_s: Vec<f64>,
    /// The server of every answer (refusals included), and where the user was last.
    pub last_server: Option<String>,
}

/// Source addresses in order: users [0, nat_users) share the NAT's, the others have one
/// of their own.
pub fn sources(users: u32, nat_users: u32) -> Vec<Ipv4Addr> {
    (0..users).map(|u| if u < nat_users { Ipv4Addr::new(127, 2, 0, 1) } else { candidate(u) }).collect()
}

/// The k-th address of 127.1.0.0/16 a user may connect from.
pub fn candidate(k: u32) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (k / 250) as u8, (k % 250 + 1) as u8)
}

/// The server (its id, from 1) that a connection from `src` reaches through the load
/// balancer, or None if none answered.
pub async fn server_reached(lb: SocketAddr, src: Ipv4Addr) -> Option<u32> {
    let load = Load {
        lb,
        sources: Vec::new(),
        think_mean_s: 1.0,
        add_share: 0.0,
        timeout: Duration::from_secs(2),
        start: Instant::now(),
        warmup: Duration::ZERO,
        end: Duration::ZERO,
    };
    let mut conn = None;
    let (_, h) = tokio::time::timeout(load.timeout, request(&mut conn, &load, src, "/whoami", false, "")).await.ok()?.ok()?;
    h.get("x-server")?.to_str().ok()?.parse().ok()
}

type Conn = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(load: &Load, src: Ipv4Addr) -> std::io::Result<Conn> {
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.bind(SocketAddr::new(src.into(), 0))?;
    let stream = sock.connect(load.lb).await?;
    stream.set_nodelay(true)?;
    let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// One request: Ok((status, headers)) or an error (connection reset, timeout).
async fn request(conn: &mut Option<Conn>, load: &Load, src: Ipv4Addr, path: &str, post: bool, cookies: &str) -> Result<(u16, hyper::HeaderMap), ()> {
    if conn.as_ref().is_none_or(|c| c.is_closed()) {
        *conn = Some(connect(load, src).await.map_err(|_| ())?);
    }
    let c = conn.as_mut().expect("connected");
    c.ready().await.map_err(|_| ())?;
    let mut b = hyper::Request::builder().method(if post { "POST" } else { "GET" }).uri(path).header("host", "testbed");
    if !cookies.is_empty() {
        b = b.header("cookie", cookies);
    }
    let req = b.body(Empty::<Bytes>::new()).expect("request");
    let resp = c.send_request(req).await.map_err(|_| ())?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    resp.into_body().collect().await.map_err(|_| ())?;
    Ok((status, headers))
}

/// The abusive client: requests at `rate` a second (exponential gaps, open loop: it does
/// not wait for answers), each on a connection of its own from 127.3.0.1, as user
/// "abuser" with no cookies; it logs what it sent and how it was answered.
pub async fn abuser(load: Load, rate: f64) -> UserLog {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0xabu64);
    let gap = rand_distr::Exp::new(rate).expect("positive rate");
    let src = Ipv4Addr::new(127, 3, 0, 1);
    let mut pending = Vec::new();
    let mut wake = Instant::now();
    loop {
        wake += Duration::from_secs_f64(gap.sample(&mut rng));
        if wake.duration_since(load.start) >= load.end {
            break;
        }
        tokio::time::sleep_until(wake.into()).await;
        let counted = wake.duration_since(load.start) >= load.warmup;
        let load = load.clone();
        pending.push(tokio::spawn(async move {
            let sent_at = Instant::now();
            let mut conn = None;
            let r = tokio::time::timeout(load.timeout, request(&mut conn, &load, src, "/?user=abuser&add=0", false, "")).await;
            (counted, r.ok().and_then(|r| r.ok()).map(|(status, _)| status), sent_at.elapsed().as_secs_f64())
        }));
    }
    let mut log = UserLog::default();
    for p in pending {
        let (counted, status, latency) = p.await.expect("abuser request");
        if !counted {
            continue;
        }
        log.sent += 1;
        match status {
            Some(200) => {
                log.ok += 1;
                log.latencies_s.push(latency);
            }
            Some(429) => {
                log.failed += 1;
                log.rate_limited_429 += 1;
            }
            _ => log.failed += 1,
        }
    }
    log
}

/// Runs one user until the end; `login_only` logs in once (the warm start) and returns.
pub async fn user(load: Load, u: u32, jar: HashMap<String, String>, login_only: bool) -> (UserLog, HashMap<String, String>) {
    let src = load.sources[u as usize];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(u as u64 + 1);
    let think = rand_distr::Exp::new(1.0 / load.think_mean_s).expect("positive think time");
    let coin = rand_distr::Bernoulli::new(load.add_share).expect("share");
    let mut jar = jar;
    let mut log = UserLog::default();
    let mut conn = None;
    let mut items: i64 = jar.get("#items").and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut logged_in = !jar.is_empty();
    loop {
        if !login_only {
            let t = Duration::from_secs_f64(think.sample(&mut rng));
            let wake = Instant::now() + t;
            if wake.duration_since(load.start) >= load.end {
                break;
            }
            tokio::time::sleep_until(wake.into()).await;
        }
        let add = !login_only && coin.sample(&mut rng);
        let cookies: Vec<String> = jar.iter().filter(|(k, _)| !k.starts_with('#')).map(|(k, v)| format!("{k}={v}")).collect();
        let path = format!("/?user=u{u}&add={}", add as u32);
        let sent_at = Instant::now();
        let counted = sent_at.duration_since(load.start) >= load.warmup && !login_only;
        let r = tokio::time::timeout(load.timeout, request(&mut conn, &load, src, &path, add, &cookies.join("; "))).await;
        let latency = sent_at.elapsed().as_secs_f64();
        if counted {
            log.sent += 1;
        }
        if let Ok(Ok((_, h))) = &r {
            let us = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).and_then(|s| s.parse::<f64>().ok()).map(|u| u / 1e6);
            if let Some(w) = us("x-work-us") {
                log.work_s.push(w);
            }
            if let Some(w) = us("x-login-us") {
                log.login_s.push(w);
            }
            if let Some(server) = h.get("x-server").and_then(|v| v.to_str().ok()) {
                if counted {
                    *log.by_server.entry(server.to_string()).or_default() += 1;
                }
                log.last_server = Some(server.to_string());
            }
        }
        match r {
            Ok(Ok((200, h))) => {
                for v in h.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
                    if let Some((k, val)) = v.split(';').next().and_then(|kv| kv.split_once('=')) {
                        jar.insert(k.trim().to_string(), val.trim().to_string());
                    }
                }
                let cart: i64 = h.get("x-cart").and_then(|v| v.to_str().ok()).and_then(|s| s.parse().ok()).unwrap_or(0);
                if h.contains_key("x-login") && logged_in && !login_only {
                    log.sessions_lost += 1;
                }
                logged_in = true;
                let expected = items + add as i64;
                if cart < expected {
                    log.carts_lost += 1;
                }
                items = cart;
                log.items_added += add as u64;
                if counted {
                    log.ok += 1;
                    log.latencies_s.push(latency);
                }
            }
            Ok(Ok((status, _))) => {
                if counted {
                    log.failed += 1;
                    if status == 503 {
                        log.overloaded_503 += 1;
                    }
                    if status == 429 {
                        log.rate_limited_429 += 1;
                    }
                }
                conn = None;
            }
            _ => {
                if counted {
                    log.failed += 1;
                }
                conn = None;
            }
        }
        if login_only {
            break;
        }
    }
    jar.insert("#items".into(), items.to_string());
    (log, jar)
}
