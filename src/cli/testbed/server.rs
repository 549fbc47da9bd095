//! One real web server of the testbed (`statesim testbed-server --config JSON`, started
//! by the testbed as its own process so that it can be killed with SIGKILL).
//!
//! Every request takes a worker (`cores` of them; at most `queue_limit` wait, beyond
//! that 503), checks the session for real (in this process's memory, a Redis GET, or a
//! JWT verified with its signature), logs the user in when it is missing (a session
//! created, a token signed), spends its service time, and adds to the cart (in memory or
//! a Redis INCR standing for the database). CPU work is a timed sleep: a 2-core machine
//! cannot burn `servers x cores` cores, and the simulator's service time is a duration.

use super::calibrate::{Claims, keys};
use super::resp::Redis;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::SeedableRng;
use rand_distr::Distribution;
use serde::{Deserialize, Serialize};
use statesim::policies::JwtAlgorithm;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Store {
    None,
    Memory,
    Redis,
    Jwt,
    /// A cart kept by the client, in a cookie the server rewrites (carts only).
    Client,
}

/// What a server is told to be.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServerConfig {
    pub id: u32,
    pub port: u16,
    pub cores: u32,
    pub queue_limit: u64,
    /// Lognormal service time, seconds (0: no work, the overhead run).
    pub service_mean_s: f64,
    pub service_cv: f64,
    pub login_cpu_s: f64,
    pub sessions: Store,
    pub carts: Store,
    pub redis: Option<String>,
    /// A fixed-window limit per user, if any.
    pub rate_limit: Option<RateLimit>,
}

/// A fixed-window rate limit per user: `limit` requests per `window_s`, counted in the
/// server's own memory or in Redis (INCR, and EXPIRE on a window's first request); over
/// it, 429.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct RateLimit {
    pub redis: bool,
    pub limit: u32,
    pub window_s: f64,
}

struct App {
    cfg: ServerConfig,
    workers: Semaphore,
    waiting: AtomicUsize,
    sessions: Mutex<HashMap<String, String>>,
    carts: Mutex<HashMap<String, i64>>,
    /// Local counters: (window number, requests in it) per user.
    counters: Mutex<HashMap<String, (u64, u32)>>,
    redis: Vec<Mutex<Redis>>,
    next_redis: AtomicUsize,
    next_sid: AtomicU64,
    rng: Mutex<rand_chacha::ChaCha8Rng>,
    jwt: (jsonwebtoken::Algorithm, jsonwebtoken::EncodingKey, jsonwebtoken::DecodingKey),
}

#[derive(Deserialize)]
struct Req {
    user: String,
    #[serde(default)]
    add: u32,
}

impl App {
    async fn redis(&self, args: &[&[u8]]) -> Option<String> {
        let i = self.next_redis.fetch_add(1, Ordering::Relaxed) % self.redis.len();
        self.redis[i].lock().await.text(args).await.ok()
    }

    fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
        headers
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('='))
    }

    async fn session_ok(&self, sid: Option<&str>, user: &str) -> bool {
        let Some(sid) = sid else { return false };
        match self.cfg.sessions {
            Store::None | Store::Client => true,
            Store::Memory => self.sessions.lock().await.get(sid).is_some_and(|u| u == user),
            Store::Redis => self.redis(&[b"GET", format!("sess:{sid}").as_bytes()]).await.is_some_and(|u| u == user),
            Store::Jwt => {
                let (alg, _, dec) = &self.jwt;
                jsonwebtoken::decode::<Claims>(sid, dec, &jsonwebtoken::Validation::new(*alg)).is_ok_and(|t| t.claims.sub == user)
            }
        }
    }

    async fn log_in(&self, user: &str) -> String {
        let sid = format!("{}-{}", self.cfg.id, self.next_sid.fetch_add(1, Ordering::Relaxed));
        match self.cfg.sessions {
            Store::None | Store::Client => String::new(),
            Store::Memory => {
                self.sessions.lock().await.insert(sid.clone(), user.to_string());
                sid
            }
            Store::Redis => {
                self.redis(&[b"SET", format!("sess:{sid}").as_bytes(), user.as_bytes(), b"EX", b"3600"]).await;
                sid
            }
            Store::Jwt => {
                let (alg, enc, _) = &self.jwt;
                jsonwebtoken::encode(&jsonwebtoken::Header::new(*alg), &Claims { sub: user.to_string(), exp: 4_000_000_000 }, enc).unwrap_or_default()
            }
        }
    }

    async fn cart(&self, user: &str, add: u32) -> i64 {
        match self.cfg.carts {
            Store::Memory => {
                let mut c = self.carts.lock().await;
                let n = c.entry(user.to_string()).or_insert(0);
                *n += add as i64;
                *n
            }
            Store::Redis | Store::Jwt => {
                let key = format!("cart:{user}");
                let r = if add > 0 {
                    self.redis(&[b"INCRBY", key.as_bytes(), add.to_string().as_bytes()]).await
                } else {
                    self.redis(&[b"GET", key.as_bytes()]).await
                };
                r.and_then(|s| s.parse().ok()).unwrap_or(0)
            }
            Store::None | Store::Client => 0,
        }
    }

    /// Whether `user` is still under the limit (counting this request).
    async fn allowed(&self, user: &str) -> bool {
        let Some(rl) = self.cfg.rate_limit else { return true };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let window = (now / rl.window_s) as u64;
        let count = if rl.redis {
            let key = format!("rl:{user}:{window}");
            let n: u32 = self.redis(&[b"INCR", key.as_bytes()]).await.and_then(|s| s.parse().ok()).unwrap_or(0);
            if n == 1 {
                self.redis(&[b"EXPIRE", key.as_bytes(), format!("{}", rl.window_s.ceil() as u64).as_bytes()]).await;
            }
            n
        } else {
            let mut c = self.counters.lock().await;
            let e = c.entry(user.to_string()).or_insert((window, 0));
            if e.0 != window {
                *e = (window, 0);
            }
            e.1 += 1;
            e.1
        };
        count <= rl.limit
    }

    async fn sample(&self, mean: f64, cv: f64) -> Duration {
        if mean <= 0.0 {
            return Duration::ZERO;
        }
        if cv <= 0.0 {
            return Duration::from_secs_f64(mean);
        }
        let s2 = (1.0 + cv * cv).ln();
        let d = rand_distr::LogNormal::new(mean.ln() - s2 / 2.0, s2.sqrt()).expect("valid lognormal");
        Duration::from_secs_f64(d.sample(&mut *self.rng.lock().await))
    }
}

async fn handle(State(app): State<Arc<App>>, headers: HeaderMap, Query(q): Query<Req>) -> Response {
    if !app.allowed(&q.user).await {
        return (StatusCode::TOO_MANY_REQUESTS, [("x-server", app.cfg.id.to_string())], "over the limit").into_response();
    }
    if app.waiting.load(Ordering::Relaxed) as u64 >= app.cfg.queue_limit {
        return (StatusCode::SERVICE_UNAVAILABLE, [("x-server", app.cfg.id.to_string())], "queue full").into_response();
    }
    app.waiting.fetch_add(1, Ordering::Relaxed);
    let permit = app.workers.acquire().await.expect("semaphore open");
    app.waiting.fetch_sub(1, Ordering::Relaxed);
    let mut out = HeaderMap::new();
    if !app.session_ok(App::cookie(&headers, "sid"), &q.user).await {
        let t = std::time::Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(app.cfg.login_cpu_s)).await;
        out.insert("x-login-us", HeaderValue::from(t.elapsed().as_micros() as u64));
        let sid = app.log_in(&q.user).await;
        out.insert("set-cookie", HeaderValue::from_str(&format!("sid={sid}; Path=/")).expect("ascii"));
        out.insert("x-login", HeaderValue::from_static("1"));
    }
    let work = app.sample(app.cfg.service_mean_s, app.cfg.service_cv).await;
    if !work.is_zero() {
        // What the worker was really held: a timer wakes up late (about a millisecond
        // on tokio), and the simulator is given this, not the nominal time.
        let t = std::time::Instant::now();
        tokio::time::sleep(work).await;
        out.insert("x-work-us", HeaderValue::from(t.elapsed().as_micros() as u64));
    }
    let items = if app.cfg.carts == Store::Client {
        // The client's cart comes in its cookie and goes back with the item added.
        let n = App::cookie(&headers, "cart").and_then(|c| c.parse::<i64>().ok()).unwrap_or(0) + q.add as i64;
        out.append("set-cookie", HeaderValue::from_str(&format!("cart={n}; Path=/")).expect("ascii"));
        n
    } else {
        app.cart(&q.user, q.add).await
    };
    drop(permit);
    out.insert("x-server", HeaderValue::from(app.cfg.id));
    out.insert("x-cart", HeaderValue::from(items));
    (StatusCode::OK, out, "ok").into_response()
}

pub fn main(config: &str) -> u8 {
    let cfg: ServerConfig = match serde_json::from_str(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: bad testbed server config: {e}");
            return 2;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    rt.block_on(async move {
        let mut redis = Vec::new();
        if let Some(addr) = &cfg.redis {
            for _ in 0..4 {
                redis.push(Mutex::new(Redis::connect(addr).await.expect("redis reachable")));
            }
        }
        let app = Arc::new(App {
            workers: Semaphore::new(cfg.cores as usize),
            waiting: AtomicUsize::new(0),
            sessions: Mutex::new(HashMap::new()),
            carts: Mutex::new(HashMap::new()),
            counters: Mutex::new(HashMap::new()),
            redis,
            next_redis: AtomicUsize::new(0),
            next_sid: AtomicU64::new(1),
            rng: Mutex::new(rand_chacha::ChaCha8Rng::seed_from_u64(cfg.id as u64)),
            jwt: keys(JwtAlgorithm::HS256),
            cfg,
        });
        let router = axum::Router::new()
            .route("/", axum::routing::get(handle).post(handle))
            .route("/health", axum::routing::get(|| async { "ok" }))
            // Which server a source address reaches, for aligning HAProxy's source hash.
            .route(
                "/whoami",
                axum::routing::get(|axum::extract::State(app): axum::extract::State<Arc<App>>| async move { ([("x-server", app.cfg.id.to_string())], "") }),
            )
            .with_state(app.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", app.cfg.port)).await.expect("port free");
        axum::serve(listener, router).await.expect("serve");
    });
    0
}
