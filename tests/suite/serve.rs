//! `statesim serve`, as a child process of the built binary: the page in headless
//! Chromium runs a changed setting and shows the numbers the library gives for it; under a
//! burst of runs the page stays quick and the runs beyond the queue are refused with 503
//! and Retry-After; bad input gets the CLI's messages.

use statesim::report::table;
use statesim::sweep::{RunOptions, run_and_summarize};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `statesim serve --port 0` child process, stopped when dropped.
struct Server {
    child: Child,
    /// `127.0.0.1:PORT`
    addr: String,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_statesim"))
            .args(["serve", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("statesim serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr =
            line.trim().strip_prefix("statesim serve: http://").and_then(|r| r.strip_suffix('/')).unwrap_or_else(|| panic!("first line: {line}")).to_string();
        Server { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Still running, and nothing on stderr says it panicked.
    fn check_alive(&mut self) {
        assert!(self.child.try_wait().unwrap().is_none(), "the server exited");
    }

    fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let mut err = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        err
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    headers: String,
    body: String,
}

/// A tiny HTTP/1.1 client: one request per connection.
fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {head:?}"));
    Response { status, headers: head.to_ascii_lowercase(), body: body.to_string() }
}

fn field(json: &str, key: &str) -> serde_json::Value {
    serde_json::from_str::<serde_json::Value>(json).unwrap_or_else(|e| panic!("{e}: {json}"))[key].clone()
}

fn encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn html_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\u{a0}', "&nbsp;")
}

#[test]
fn the_page_runs_a_changed_setting_and_shows_the_librarys_numbers() {
    let Some(chromium) = crate::shared::chromium() else { return };
    let server = Server::start(&[]);
    let sets: Vec<String> =
        ["run.duration=3h", "run.warmup=10m", "run.replications=3", "run.seed=11", "servers.count=2"].iter().map(|s| s.to_string()).collect();
    let query: Vec<String> = sets.iter().map(|s| format!("set={}", encode(s))).collect();
    let url = format!("{}?model=mm1&{}&run=1", server.url(), query.join("&"));
    let profile = tempfile::tempdir().unwrap();
    // Virtual time stands still while a request is pending, and the page waits for the
    // run by long polls, so the budget is spent only once the result is in the page.
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=60000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(&url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("<body data-state=\"done\""),
        "the page did not finish the run: {}\n{}",
        &dom[..dom.len().min(3000)],
        String::from_utf8_lossy(&out.stderr)
    );

    // The same settings through the library, as `statesim run mm1 --set ...` does.
    let model = statesim::scenario::load_file(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models/theory/mm1.toml")), &sets).unwrap();
    let (summary, _) = run_and_summarize(&model, &RunOptions::default(), &|| {});
    let rows = table::rows(&summary);
    let p50 = rows.iter().find(|r| r[0].starts_with("latency p50")).expect("a p50 row");
    assert!(dom.contains(&format!("<td>{}</td><td>{}</td>", html_text(&p50[0]), html_text(&p50[1]))), "p50 {p50:?} not shown");
    let body: String = rows.iter().map(|r| format!("<tr>{}</tr>", r.iter().map(|c| format!("<td>{}</td>", html_text(c))).collect::<String>())).collect();
    assert!(dom.contains(&format!("<tbody>{body}</tbody>")), "the table differs from the library's:\n{body}");
    assert!(dom.contains("seed 11, 3 replications"));
    // The charts are the report's SVGs, inline.
    assert!(dom.matches("<figure><svg").count() >= 2, "charts missing");
    assert!(server.stop().lines().all(|l| !l.contains("panicked")));
}

#[test]
fn under_a_burst_the_page_stays_quick_and_runs_beyond_the_queue_get_503() {
    let (workers, queue) = (1, 4);
    let mut server = Server::start(&["--workers", &workers.to_string(), "--queue", &queue.to_string()]);
    // Each run takes the simulator a few seconds, so the queue is full during the burst.
    let body = r#"{"model":"mm1","sets":["run.duration=20d","run.replications=4"]}"#;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let (addr, barrier) = (server.addr.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                http(&addr, "POST", "/api/runs", Some(body))
            })
        })
        .collect();
    let responses: Vec<Response> = handles.into_iter().map(|h| h.join().expect("no client panicked")).collect();
    let accepted: Vec<&Response> = responses.iter().filter(|r| r.status == 202).collect();
    let refused: Vec<&Response> = responses.iter().filter(|r| r.status == 503).collect();
    assert_eq!(accepted.len() + refused.len(), 50, "statuses: {:?}", responses.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(!accepted.is_empty() && accepted.len() <= workers + queue + 1, "{} accepted", accepted.len());
    for r in &refused {
        assert!(r.headers.contains("\r\nretry-after: "), "503 without Retry-After: {}", r.headers);
        assert!(r.body.contains("busy"), "{}", r.body);
    }

    // The page, and a status, stay quick while the cores simulate.
    for _ in 0..5 {
        let t = Instant::now();
        let page = http(&server.addr, "GET", "/", None);
        assert_eq!(page.status, 200);
        assert!(page.body.contains("statesim explorer"));
        assert!(t.elapsed() < Duration::from_secs(1), "the page took {:?} under load", t.elapsed());
        std::thread::sleep(Duration::from_millis(200));
    }
    let ids: Vec<u64> = accepted.iter().map(|r| field(&r.body, "id").as_u64().unwrap()).collect();
    // ... while runs were still waiting for a worker.
    if ids.len() > workers {
        let last = http(&server.addr, "GET", &format!("/api/runs/{}", ids.iter().max().unwrap()), None);
        assert_eq!(field(&last.body, "state"), "queued", "{}", last.body);
    }
    let first = http(&server.addr, "GET", &format!("/api/runs/{}", ids[0]), None);
    assert_eq!(first.status, 200);
    assert!(["queued", "running", "done"].contains(&field(&first.body, "state").as_str().unwrap()), "{}", first.body);

    // Cancelled, every run stops: a queued one at once, a running one between replications.
    for id in &ids {
        assert_eq!(http(&server.addr, "POST", &format!("/api/runs/{id}/cancel"), Some("")).status, 200);
    }
    for id in &ids {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = http(&server.addr, "GET", &format!("/api/runs/{id}?seen=0&wait=2000"), None);
            let state = field(&s.body, "state");
            if state == "cancelled" || state == "done" {
                break;
            }
            assert!(Instant::now() < deadline, "run {id} still {state}");
        }
    }
    // Room again in the queue.
    let again = http(&server.addr, "POST", "/api/runs", Some(r#"{"model":"mm1","sets":["run.duration=2h","run.replications=1"]}"#));
    assert_eq!(again.status, 202, "{}", again.body);
    server.check_alive();
    let err = server.stop();
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_gets_the_clis_messages_and_a_large_body_413() {
    let server = Server::start(&[]);
    // An unknown key, located in the --set argument exactly as `statesim run` shows it.
    let sets = vec!["servers.cont=2".to_string()];
    let expected = statesim::scenario::load_str("models/theory/mm1.toml", "mm1", statesim::bundled::find("mm1").unwrap().text, &sets).unwrap_err().to_string();
    let r = http(&server.addr, "POST", "/api/runs", Some(r#"{"model":"mm1","sets":["servers.cont=2"]}"#));
    assert_eq!(r.status, 422);
    assert_eq!(r.body, expected);
    assert!(r.body.contains("did you mean \"count\"?"));
    // A pasted model with a mistake: file, line and column.
    let r = http(&server.addr, "POST", "/api/model", Some(r#"{"text":"schema_version = 1\n[clients]\narrival_rate = \"10/s\"\n[servers]\ncount = -3\n"}"#));
    assert_eq!(r.status, 422);
    assert!(r.body.contains("--> pasted.toml:5:"), "{}", r.body);
    let r = http(&server.addr, "POST", "/api/runs", Some(r#"{"model":"mm11"}"#));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("did you mean \"mm1\"?"), "{}", r.body);
    let big = format!(r#"{{"text":"{}"}}"#, "#".repeat(300 * 1024));
    assert_eq!(http(&server.addr, "POST", "/api/runs", Some(&big)).status, 413);
    // Over the run budget, as the CLI refuses it.
    let r = http(&server.addr, "POST", "/api/runs", Some(r#"{"model":"mm1","sets":["run.duration=100000d"]}"#));
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(http(&server.addr, "GET", "/api/runs/999", None).status, 404);
}
