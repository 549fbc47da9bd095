//! `statesim serve`: a local web app to explore the models on the real engine.
//!
//! One page (`page.html`, compiled in; no other asset, nothing fetched from the network)
//! and a small JSON API:
//!
//! - `GET /`: the page. Its query string holds the settings (`model` or `text`, `set`
//!   for each `KEY=VALUE` override, `compare=1` and `bset` for a second setting,
//!   `run=1` to run at once), so a link reproduces a run.
//! - `GET /api/models`: the bundled models.
//! - `POST /api/model` `{model | text, sets}`: the model validated, with its adjustable
//!   parameters; bad input gets the CLI's located messages (400/422, text).
//! - `POST /api/runs` `{model | text, sets}`: queues a run (202); a full queue answers
//!   503 with `Retry-After`.
//! - `GET /api/runs/ID?seen=V&wait=MS`: the run's state and progress, waiting up to MS
//!   milliseconds for a version after V.
//! - `GET /api/runs/ID/result`: the comparison table (the CLI's rows), the summary and
//!   the charts as SVG.
//! - `POST /api/runs/ID/cancel`.
//!
//! A run is `statesim run MODEL --set ...` in memory: the same loading (budget
//! included), the same `sweep::run_and_summarize`, the same table and charts.

mod jobs;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use jobs::Pool;
use serde::Deserialize;
use serde_json::{Value, json};
use statesim::bundled;
use statesim::components::topology::Overview;
use statesim::metrics::{KeptRuns, ModelSummary};
use statesim::report::atomic::Sink;
use statesim::report::{charts, table, takeaway, write_model_charts};
use statesim::scenario::{Budget, Model, load_str_with};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const PAGE: &str = include_str!("page.html");
/// Largest request body (a pasted model and its overrides).
const BODY_LIMIT: usize = 256 * 1024;
/// Most `KEY=VALUE` overrides in one request.
const MAX_SETS: usize = 64;
/// Finished runs kept in memory.
const KEPT: usize = 16;
/// Longest a status request waits for a change.
const MAX_WAIT: Duration = Duration::from_secs(20);
/// What a refused run is told to wait, in seconds.
const RETRY_AFTER: &str = "5";

pub struct ServeArgs {
    pub port: u16,
    pub bind: IpAddr,
    pub workers: usize,
    pub queue: usize,
    pub budget: Budget,
}

#[derive(Clone)]
struct App {
    pool: Arc<Pool>,
    budget: Budget,
}

pub fn serve(args: ServeArgs) -> u8 {
    if args.workers == 0 {
        eprintln!("error: --workers must be at least 1");
        return 2;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("serve-http").enable_io().enable_time().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the web server: {e}");
            return 1;
        }
    };
    let app = App { pool: Pool::start(args.workers, args.queue, KEPT, Box::new(render)), budget: args.budget };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {}:{}: {e}", args.bind, args.port);
                return 1;
            }
        };
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        // The first line of output: tests and scripts read the address from it.
        println!("statesim serve: http://{addr}/");
        eprintln!(
            "  {} run{} at a time, {} more queued; finished runs kept in memory (the last {KEPT}), nothing written to disk. Ctrl-C stops.",
            args.workers,
            if args.workers == 1 { "" } else { "s" },
            args.queue
        );
        match axum::serve(listener, router(app)).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: the web server stopped: {e}");
                1
            }
        }
    })
}

fn router(app: App) -> Router {
    Router::new()
        .route("/", get(|| async { ([(header::CACHE_CONTROL, "no-cache")], Html(PAGE)) }))
        .route("/api/models", get(models))
        .route("/api/model", post(model))
        .route("/api/runs", post(submit))
        .route("/api/runs/{id}", get(status))
        .route("/api/runs/{id}/result", get(result))
        .route("/api/runs/{id}/cancel", post(cancel))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

/// A model to load: a bundled one by name, or pasted text; and overrides.
#[derive(Deserialize)]
struct ModelRequest {
    model: Option<String>,
    text: Option<String>,
    #[serde(default)]
    sets: Vec<String>,
}

fn text_error(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

/// Bad input: a status and the CLI's message.
struct Refused(StatusCode, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        text_error(self.0, self.1)
    }
}

/// Loads the model a request names, as `statesim run` would: the same messages.
fn load(req: &ModelRequest, budget: &Budget) -> Result<Model, Refused> {
    if req.sets.len() > MAX_SETS {
        return Err(Refused(StatusCode::BAD_REQUEST, format!("error: {} overrides; at most {MAX_SETS} are taken", req.sets.len())));
    }
    let loaded = match (&req.text, &req.model) {
        (Some(text), _) => load_str_with("pasted.toml", "pasted", text, &req.sets, budget),
        (None, Some(name)) => match bundled::find(name) {
            Some(b) => load_str_with(b.path, b.name, b.text, &req.sets, budget),
            None => {
                let names: Vec<&str> = bundled::MODELS.iter().chain(bundled::THEORY).map(|b| b.name).collect();
                let help = match statesim::scenario::diag::nearest(name, names.iter().copied()) {
                    Some(best) => format!("did you mean \"{best}\"? `statesim list` shows the bundled models"),
                    None => "`statesim list` shows the bundled models".to_string(),
                };
                return Err(Refused(StatusCode::BAD_REQUEST, format!("error: no bundled model called \"{name}\"\n  = help: {help}")));
            }
        },
        (None, None) => return Err(Refused(StatusCode::BAD_REQUEST, "error: name a bundled model (\"model\") or paste a model file (\"text\")".into())),
    };
    loaded.map_err(|e| Refused(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
}

async fn models() -> Json<Value> {
    static LIST: OnceLock<Value> = OnceLock::new();
    Json(
        LIST.get_or_init(|| {
            let list = |kind: &str, models: &[bundled::Bundled]| -> Vec<Value> {
                let mut models: Vec<&bundled::Bundled> = models.iter().collect();
                models.sort_by_key(|b| statesim::playbook::rank(b.name));
                models
                    .into_iter()
                    .filter_map(|b| statesim::scenario::load_str(b.path, b.name, b.text, &[]).ok())
                    .map(|m| json!({"name": m.name, "title": m.title, "kind": kind, "variants": m.variants.iter().map(|v| &v.name).collect::<Vec<_>>()}))
                    .collect()
            };
            let mut all = list("scenario", bundled::MODELS);
            all.extend(list("theory", bundled::THEORY));
            Value::Array(all)
        })
        .clone(),
    )
}

/// An adjustable parameter the page offers when the model has it.
struct Knob {
    key: &'static str,
    label: &'static str,
    /// A hint on the value: its unit or format.
    unit: &'static str,
    /// `int` (a slider with a number), `text`, or `choice` (of `options`).
    kind: &'static str,
    range: (f64, f64, f64),
    options: &'static [&'static str],
    /// Shown even when the model leaves it to its default.
    always: bool,
}

const fn knob(key: &'static str, label: &'static str, unit: &'static str, kind: &'static str, range: (f64, f64, f64), always: bool) -> Knob {
    Knob { key, label, unit, kind, range, options: &[], always }
}

static KNOBS: &[Knob] = &[
    knob("run.duration", "simulated time", "e.g. 30s, 10m, 2h", "text", (0.0, 0.0, 0.0), true),
    knob("run.replications", "replications", "runs per variant", "int", (1.0, 40.0, 1.0), true),
    knob("run.seed", "seed", "any whole number", "int", (0.0, 1000.0, 1.0), true),
    knob("run.warmup", "warm-up", "left out of the statistics", "text", (0.0, 0.0, 0.0), false),
    knob("servers.count", "servers", "behind the load balancer", "int", (1.0, 64.0, 1.0), true),
    knob("servers.cores", "cores per server", "requests served at once", "int", (1.0, 32.0, 1.0), false),
    knob("servers.queue_limit", "queue limit", "waiting requests per server", "int", (0.0, 5000.0, 50.0), false),
    knob("clients.users", "users", "people using the site", "int", (100.0, 100_000.0, 100.0), false),
    knob("clients.arrival_rate", "arrival rate", "requests per second, e.g. 0.8/s", "text", (0.0, 0.0, 0.0), false),
    knob("clients.timeout", "client timeout", "e.g. 30s, or off", "text", (0.0, 0.0, 0.0), false),
    Knob {
        key: "load_balancer.policy",
        label: "load-balancing policy",
        unit: "",
        kind: "choice",
        range: (0.0, 0.0, 0.0),
        options: &["random", "round-robin", "least-connections", "power-of-two", "ip-hash", "consistent-hash", "cookie"],
        always: false,
    },
    knob("load_balancer.retries", "load-balancer retries", "per request", "int", (0.0, 5.0, 1.0), false),
];

/// The model's value of a dotted key in its own text, as `--set` would write it.
fn value_in(table: &toml::Table, key: &str) -> Option<String> {
    let mut parts = key.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The parameters the page offers for a model, with the model's values.
fn knobs(model: &Model) -> Vec<Value> {
    let table: toml::Table = model.text.parse().unwrap_or_default();
    let base = &model.variants[0].system;
    KNOBS
        .iter()
        .filter_map(|k| {
            let value = value_in(&table, k.key).or_else(|| match k.key {
                "run.seed" => Some(base.run.seed.to_string()),
                "run.replications" => Some(base.run.replications.to_string()),
                "servers.count" => Some(base.servers.count.to_string()),
                _ => None,
            });
            if value.is_none() && !k.always {
                return None;
            }
            Some(json!({
                "key": k.key, "label": k.label, "unit": k.unit, "kind": k.kind,
                "min": k.range.0, "max": k.range.1, "step": k.range.2, "options": k.options,
                "value": value.unwrap_or_default(),
            }))
        })
        .collect()
}

/// What the page shows of a valid model.
fn describe(model: &Model) -> Value {
    let estimates: Vec<_> = model.variants.iter().map(|v| statesim::scenario::budget::estimate(&v.system)).collect();
    let events = estimates.iter().map(|e| e.total_events()).fold(0.0, f64::max);
    let bytes = estimates.iter().map(|e| e.total_bytes()).fold(0.0, f64::max);
    json!({
        "name": model.name,
        "title": model.title,
        "story": model.story,
        "source": model.source,
        "variants": model.variants.iter().map(|v| &v.name).collect::<Vec<_>>(),
        "knobs": knobs(model),
        "warnings": model.warnings,
        "estimate": format!(
            "largest run: about {} events and {}",
            statesim::scenario::budget::sci(events),
            statesim::scenario::budget::human_bytes(bytes)
        ),
    })
}

async fn model(State(app): State<App>, Json(req): Json<ModelRequest>) -> Response {
    match tokio::task::spawn_blocking(move || load(&req, &app.budget).map(|m| describe(&m))).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(refused)) => refused.into_response(),
        Err(_) => text_error(StatusCode::INTERNAL_SERVER_ERROR, "error: the model could not be read".into()),
    }
}

fn job_status(app: &App, job: &jobs::Job) -> Value {
    let state = job.state();
    let mut v = json!({
        "id": job.id,
        "model": job.model_name,
        "sets": job.sets,
        "state": state.name(),
        "done": job.done.load(std::sync::atomic::Ordering::Relaxed),
        "total": job.total,
        "version": job.version(),
    });
    if let jobs::State::Failed(why) = &state {
        v["error"] = json!(why);
    }
    if state == jobs::State::Queued {
        v["position"] = json!(app.pool.position(job.id));
    }
    v
}

async fn submit(State(app): State<App>, Json(req): Json<ModelRequest>) -> Response {
    let budget = app.budget;
    let loaded = tokio::task::spawn_blocking(move || load(&req, &budget).map(|m| (m, req.sets))).await;
    let (model, sets) = match loaded {
        Ok(Ok(m)) => m,
        Ok(Err(refused)) => return refused.into_response(),
        Err(_) => return text_error(StatusCode::INTERNAL_SERVER_ERROR, "error: the model could not be read".into()),
    };
    match app.pool.submit(model, sets) {
        Ok(job) => (StatusCode::ACCEPTED, Json(job_status(&app, &job))).into_response(),
        Err(full) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, RETRY_AFTER), (header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("busy: {} runs are waiting already; try again in a few seconds", full.waiting),
        )
            .into_response(),
    }
}

fn no_run(id: u64) -> Response {
    text_error(StatusCode::NOT_FOUND, format!("error: no run {id} (only the last {KEPT} finished runs are kept, and only until the server stops)"))
}

#[derive(Deserialize)]
struct Wait {
    seen: Option<u64>,
    wait: Option<u64>,
}

async fn status(State(app): State<App>, Path(id): Path<u64>, Query(wait): Query<Wait>) -> Response {
    let Some(job) = app.pool.get(id) else { return no_run(id) };
    if let (Some(seen), Some(ms)) = (wait.seen, wait.wait) {
        let mut changes = job.watch();
        let now = *changes.borrow_and_update();
        if now == seen {
            let _ = tokio::time::timeout(Duration::from_millis(ms).min(MAX_WAIT), changes.changed()).await;
        }
    }
    Json(job_status(&app, &job)).into_response()
}

async fn result(State(app): State<App>, Path(id): Path<u64>) -> Response {
    let Some(job) = app.pool.get(id) else { return no_run(id) };
    match job.result() {
        Some(json) => ([(header::CONTENT_TYPE, "application/json")], json.as_str().to_owned()).into_response(),
        None => text_error(StatusCode::CONFLICT, format!("error: run {id} is {}, it has no result", job.state().name())),
    }
}

async fn cancel(State(app): State<App>, Path(id): Path<u64>) -> Response {
    match app.pool.cancel(id) {
        Some(job) => Json(job_status(&app, &job)).into_response(),
        None => no_run(id),
    }
}

/// Files kept in memory: where the report writes its charts here.
#[derive(Default)]
struct Memory {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl Sink for Memory {
    fn put(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        // Only the SVGs are shown.
        if name.ends_with(".svg") {
            self.files.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), bytes.to_vec());
        }
        Ok(PathBuf::from(name))
    }
}

/// A finished run as the page shows it: the CLI's table, its paired differences, the
/// summary (every metric's mean and interval) and the report's charts.
fn render(model: &Model, summary: &ModelSummary, runs: &KeptRuns) -> Result<String, String> {
    let memory = Memory::default();
    let mut written = Vec::new();
    let list = write_model_charts(&memory, model, summary, runs, &mut written).map_err(|e| e.to_string())?;
    let mut files = memory.files.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut shown: Vec<Value> = list
        .iter()
        .map(|c| json!({"stem": c.stem, "caption": c.caption, "svg": String::from_utf8_lossy(&files.remove(&format!("{}.svg", c.stem)).unwrap_or_default())}))
        .collect();
    let overview = Overview::new(model.variants.iter().map(|v| (v.name.as_str(), &v.system)));
    let (svg, _) = charts::render(&charts::TopologyPicture { title: &model.title, overview: &overview }).map_err(|e| e.to_string())?;
    shown.push(json!({"stem": "topology", "caption": "The system, drawn from the model's graph, every variant in one picture.", "svg": svg}));
    let unmet: Vec<String> = model.takeaway.iter().flat_map(|t| takeaway::check(t, summary)).filter(|c| !c.holds).map(|c| c.text).collect();
    let v = json!({
        "model": model.name,
        "title": model.title,
        "seed": summary.seed,
        "replications": summary.replications,
        "header": table::header(summary),
        "rows": table::rows(summary),
        "markdown": table::render_markdown(summary),
        "differences": table::render_differences(summary),
        "takeaway": model.takeaway.as_ref().map(|t| takeaway::fill(t, summary)),
        "takeaway_unmet": unmet,
        "warnings": model.warnings,
        "summary": summary,
        "charts": shown,
    });
    Ok(v.to_string())
}
