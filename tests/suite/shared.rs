//! What several tests read, computed once per suite: the main job's output folder
//! (`statesim run models/`, the binary, every bundled model at its own settings: every
//! variant and replication), and replication 0 of every bundled model run in process.
//! Simulating the bundled models is most of the suite's cost; the claims, the
//! walkthroughs, the README's table and the report all read the main job's summaries
//! (what readers see), so each model's replications are simulated once, by the binary
//! under test. The catalog tests need whole runs, which replication 0 in process gives,
//! and which the main-job test compares with the binary's own replication 0.

use statesim::bundled;
use statesim::metrics::{KeptRuns, ModelSummary};
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
