//! What several tests read, computed once per suite: the main job's output folder
//! (`statesim run models/`, the binary, every bundled model at its own settings: every
//! variant and replication), and replication 0 of every bundled model run in process.
//! Simulating the bundled models is most of the suite's cost; the claims, the
//! walkthroughs, the README's table and the report all read the main job's summaries
//! (what readers see), so each model's replications are simulated once, by the binary
//! under test. The catalog tests need whole runs, which replication 0 in process gives,
//! and which the main-job test compares with the binary's own replication 0.

use statesim::bundled;
use statesim::metrics::stats::t975;
use statesim::metrics::{Estimate, KeptRuns, ModelSummary};
use statesim::scenario::{Model, load_str};
use statesim::sweep::{RunOptions, run_and_summarize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// One bundled model, loaded from its text with no overrides, and the summary of its
/// runs in the main job (every variant and replication).
pub struct Ran {
    pub model: Model,
    pub summary: ModelSummary,
}

impl Ran {
    /// The mean of `key` in `variant`; panics naming what is missing.
    pub fn mean(&self, variant: &str, key: &str) -> f64 {
        let v = self.summary.variants.iter().find(|v| v.name == variant).unwrap_or_else(|| panic!("{} has no variant {variant}", self.model.name));
        v.metrics.get(key).unwrap_or_else(|| panic!("{}: {variant} has no {key}", self.model.name)).mean
    }

    /// Every variant's means by key.
    pub fn table(&self) -> BTreeMap<String, BTreeMap<String, f64>> {
        self.summary.variants.iter().map(|v| (v.name.clone(), v.metrics.iter().map(|(k, e)| (k.clone(), e.mean)).collect())).collect()
    }
}

fn load(name: &str) -> Model {
    let b = bundled::find(name).unwrap_or_else(|| panic!("no bundled model called {name}"));
    load_str(b.path, b.name, b.text, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// The bundled model `name` with the summary the main job wrote for it (read back from
/// its `summary.json`; the first test that asks runs the main job, the others wait).
pub fn bundled(name: &str) -> &'static Ran {
    static CACHE: OnceLock<BTreeMap<&'static str, OnceLock<Ran>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| bundled::MODELS.iter().map(|b| (b.name, OnceLock::new())).collect());
    let cell = cache.get(name).unwrap_or_else(|| panic!("no bundled model called {name}"));
    cell.get_or_init(|| {
        let job = main_job();
        assert!(job.output.status.success(), "the main job failed: {}", String::from_utf8_lossy(&job.output.stderr));
        let path = job.dir.join(name).join("summary.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let summary: ModelSummary = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Ran { model: load(name), summary }
    })
}

/// Replication 0 of every variant of a bundled model, run in process and kept whole.
pub struct FirstRuns {
    pub model: Model,
    pub runs: KeptRuns,
}

/// Replication 0 of the bundled model `name`, simulated by the first test that asks.
pub fn first_runs(name: &str) -> &'static FirstRuns {
    static CACHE: OnceLock<BTreeMap<&'static str, OnceLock<FirstRuns>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| bundled::MODELS.iter().map(|b| (b.name, OnceLock::new())).collect());
    let cell = cache.get(name).unwrap_or_else(|| panic!("no bundled model called {name}"));
    cell.get_or_init(|| {
        let model = load(name);
        let (_, runs) = run_and_summarize(&model, &RunOptions { replications: Some(1), threads: None }, &|| {});
        FirstRuns { model, runs }
    })
}

/// The main job as a newcomer runs it, `statesim run models/ --quiet --out DIR`: its
/// output folder and what it printed.
pub struct MainJob {
    pub dir: PathBuf,
    pub output: Output,
}

/// Runs the main job once per suite, into a folder under the target directory named
/// after this test binary (so a release and a checked build do not share it). The folder
/// stays after the suite, for a look at a failure.
pub fn main_job() -> &'static MainJob {
    static JOB: OnceLock<MainJob> = OnceLock::new();
    JOB.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let stem = exe.file_stem().unwrap().to_string_lossy().into_owned();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{stem}-main-job"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let output = Command::new(env!("CARGO_BIN_EXE_statesim")).args(["run", "models/", "--quiet", "--out"]).arg(&dir).output().unwrap();
        MainJob { dir, output }
    })
}

/// Headless Chromium for the browser tests, or None (with a note) outside CI when it is
/// not installed; in CI its absence fails the test, since `.ci/run` installs it.
pub fn chromium() -> Option<&'static str> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().find(|p| std::path::Path::new(p).exists());
    if found.is_none() {
        let ci = std::env::var("CI").unwrap_or_default();
        assert!(ci.is_empty() || ci == "false" || ci == "0", "CI={ci}: CI must install chromium (see .ci/run)");
        eprintln!("chromium not installed; skipping the browser check");
    }
    found
}

/// P(|T| <= t) for Student's t with `df` degrees of freedom (Abramowitz and Stegun
/// 26.7.3 and 26.7.4: a finite series in cos(theta), theta = atan(t / sqrt(df))).
pub fn t_inside(t: f64, df: usize) -> f64 {
    let theta = (t.abs() / (df as f64).sqrt()).atan();
    let (s, c2) = (theta.sin(), theta.cos().powi(2));
    let (mut sum, mut term) = (0.0, 1.0);
    if df % 2 == 1 {
        // (2/pi) (theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...)), terms up to cos^(df-2)
        for k in (1..df.saturating_sub(1)).step_by(2) {
            sum += term;
            term *= c2 * (k + 1) as f64 / (k + 2) as f64;
        }
        let series = if df == 1 { 0.0 } else { s * theta.cos() * sum };
        2.0 / std::f64::consts::PI * (theta + series)
    } else {
        // sin (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...), terms up to cos^(df-2)
        for k in (1..df).step_by(2) {
            sum += term;
            term *= c2 * k as f64 / (k + 1) as f64;
        }
        s * sum
    }
}

/// Two-sided p-value of "the true mean is `target`", from an estimate's t-interval over
/// its replications (at least two).
pub fn p_value(e: &Estimate, target: f64) -> f64 {
    let df = e.n - 1;
    let se = e.ci95.expect("replications give an interval") / t975(df);
    if se == 0.0 {
        return if e.mean == target { 1.0 } else { 0.0 };
    }
    1.0 - t_inside((e.mean - target) / se, df)
}

/// The tests Holm's step-down procedure rejects at family-wise level `alpha`, valid under
/// any dependence between them: sorted by p-value, the i-th smallest (from 0) is
/// rejected while p <= alpha / (m - i). Each test is its p-value and what it tested.
pub fn holm(tests: &[(f64, String)], alpha: f64) -> Vec<String> {
    let mut ps: Vec<&(f64, String)> = tests.iter().collect();
    ps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let m = ps.len();
    ps.iter().enumerate().take_while(|(i, (p, _))| *p <= alpha / (m - i) as f64).map(|(_, (p, what))| format!("{what}, p = {p:.2e}")).collect()
}

/// P(X <= k) for X ~ Poisson(mu), summed in log space.
fn poisson_cdf(k: u64, mu: f64) -> f64 {
    let mut log_term = -mu; // log P(X = 0)
    let mut sum = log_term.exp();
    for i in 1..=k {
        log_term += mu.ln() - (i as f64).ln();
        sum += log_term.exp();
    }
    sum.min(1.0)
}

/// The two-sided p-value of a count `k` under Poisson(mu): twice the smaller tail.
pub fn poisson_two_sided_p(k: u64, mu: f64) -> f64 {
    let below = poisson_cdf(k, mu);
    let above = 1.0 - poisson_cdf(k.saturating_sub(1), mu);
    (2.0 * below.min(above)).min(1.0)
}
