//! What several tests read, computed once per suite: each bundled model run in process
//! with its own settings (every variant and replication, as `statesim run` does), and the
//! main job's output folder. Simulating every bundled model is most of the suite's cost;
//! the claims, the walkthroughs, the README's table, the catalog and the report all look
//! at the same runs, so each model is simulated once here and once by the main job (the
//! binary under test), not once per test.

use statesim::bundled;
use statesim::metrics::{KeptRuns, ModelSummary};
use statesim::scenario::{Model, load_str};
use statesim::sweep::{RunOptions, run_and_summarize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// One bundled model, loaded from its text with no overrides, and its runs.
pub struct Ran {
    pub model: Model,
    pub summary: ModelSummary,
    /// What the outputs keep of the runs: replication 0 of each variant whole.
    pub runs: KeptRuns,
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

/// The runs of the bundled model `name`, simulated by the first test that asks (the
/// others wait for it).
pub fn bundled(name: &str) -> &'static Ran {
    static CACHE: OnceLock<BTreeMap<&'static str, OnceLock<Ran>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| bundled::MODELS.iter().map(|b| (b.name, OnceLock::new())).collect());
    let cell = cache.get(name).unwrap_or_else(|| panic!("no bundled model called {name}"));
    cell.get_or_init(|| {
        let b = bundled::find(name).unwrap();
        let model = load_str(b.path, b.name, b.text, &[]).unwrap_or_else(|e| panic!("{e}"));
        let (summary, runs) = run_and_summarize(&model, &RunOptions::default(), &|| {});
        Ran { model, summary, runs }
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
