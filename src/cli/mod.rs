//! The command line: arguments as typed (clap), then what they mean, then one function
//! per command. Exit codes: 0 ok, 1 a run or check failed, 2 bad input.

mod calibration;
mod check;
mod inputs;
mod list;
mod run;
mod serve;
mod sweep;
#[cfg(feature = "testbed")]
mod testbed;
mod walkthrough;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  statesim run models/                      run every bundled model, write output/
  statesim run models/load-balancing.toml --replications 10 --seed 7
  statesim run load-balancing --set servers.count=20 --format markdown
  statesim sweep mega-proxy --vary servers.count=4,8,16 -r 5
  statesim walkthrough crash-test           an interview question, replayed with numbers
  statesim check                            the engine against queueing theory
  statesim validate my-model.toml           parse and check a model, run nothing
  statesim schema > statesim.schema.json    JSON Schema for editors
  statesim list                             the bundled models
  statesim serve                            explore the models in a browser, http://127.0.0.1:8080/";

#[derive(Parser)]
#[command(name = "statesim", version, about = "Deterministic simulator of stateful vs stateless web architectures", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
}

/// Options shared by `run` and `sweep`.
#[derive(Args)]
pub struct RunCommon {
    /// Independent replications (default: the model's run.replications).
    #[arg(long, short = 'r')]
    pub replications: Option<u32>,
    /// Worker threads (default: all cores). Output does not depend on it.
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    /// Override a model key, e.g. servers.count=8 or variants.sticky.load_balancer.policy=cookie (in a sweep: at every point).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Costs measured on a machine (a file from `statesim calibrate`), applied to every
    /// model as `--set`s before the command line's own.
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// Folder for outputs; each model writes into a subfolder named after it.
    #[arg(long, default_value = "output")]
    pub out: PathBuf,
    /// No progress bar or notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// The most one run may be estimated to cost; a model over it is refused before anything runs.
#[derive(Args)]
pub struct BudgetArgs {
    /// Most events one run may take, by the model's estimate (rates x duration, probes, messages...) [default: 1e9, a minute or two]
    #[arg(long, value_name = "N", value_parser = parse_events)]
    pub budget_events: Option<f64>,
    /// Most memory one run may need, by the model's estimate (users, queues, time series) [default: 8GB]
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    pub budget_memory: Option<f64>,
}

impl BudgetArgs {
    pub fn budget(&self) -> statesim::scenario::Budget {
        let d = statesim::scenario::Budget::DEFAULT;
        statesim::scenario::Budget { events: self.budget_events.unwrap_or(d.events), memory_bytes: self.budget_memory.unwrap_or(d.memory_bytes) }
    }
}

fn parse_events(s: &str) -> Result<f64, String> {
    match s.replace('_', "").parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("\"{s}\" is not a number of events; write e.g. 5e9 or 5_000_000_000")),
    }
}

fn parse_memory(s: &str) -> Result<f64, String> {
    match statesim::scenario::units::parse_size(s) {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(_) => Err(format!("\"{s}\" is not a usable size")),
        Err(e) => Err(format!("{e}; write e.g. 16GB")),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run models and print a comparison table of their variants.
    #[command(
        after_help = "Examples:\n  statesim run models/\n  statesim run models/load-balancing.toml --replications 10 --threads 2\n  statesim run load-balancing --set load_balancer.health_check.interval=30s\n  statesim run mm1 --set run.replications=40 --format json\n  statesim run big.toml --budget-events 5e9 --budget-memory 16GB   (a model over the default budget)"
    )]
    Run {
        /// Model files, folders of models (every *.toml in them; the models of a folder's
        /// theory/ folder are checked against queueing theory, as `statesim check` does,
        /// into OUT/theory-check/ and index.html), or bundled model names.
        #[arg(required = true, value_name = "MODEL or DIR")]
        models: Vec<String>,
        /// Seed of every random stream (default: the model's run.seed).
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        common: RunCommon,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Run a model over a grid of parameter values, in parallel (resumable; shareable across a cluster).
    #[command(
        after_help = "Examples:\n  statesim sweep mega-proxy --vary servers.count=4,8,16 --vary 'clients.proxies=[{users=5000,ips=1}],[{users=20000,ips=1}]' -r 5\n  statesim sweep crash-test --vary servers.count=2..64:*2 --replications 10\n  statesim sweep crash-test --vary servers.count=2..32:2 --partition 3/8 --out /shared/out   (one share of a job array)\n  statesim merge /shared/out/crash-test/sweep\n\nRanges: KEY=2..64 (step 1), KEY=2..64:4 (step 4), KEY=2..64:*2 (doubling). Values are TOML (strings need quotes).\nPoint files are written as each point finishes: run the same command again to resume."
    )]
    Sweep {
        /// Model file or bundled model name.
        #[arg(value_name = "MODEL")]
        model: String,
        /// A parameter and its values: KEY=V1,V2,... or a range KEY=START..END[:STEP|:*FACTOR].
        #[arg(long, required = true, value_name = "KEY=VALUES")]
        vary: Vec<String>,
        /// Run only share K of N of the points (e.g. a job-array task), then `statesim merge`.
        #[arg(long, value_name = "K/N")]
        partition: Option<String>,
        #[command(flatten)]
        common: RunCommon,
    },
    /// Combine the shares of a partitioned sweep into the result one machine would give.
    #[command(after_help = "Example:\n  statesim merge share-1/crash-test/sweep share-2/crash-test/sweep --out output/crash-test/sweep")]
    Merge {
        /// Sweep folders (each holding sweep-spec.json and points/), or their model folders.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Where to write sweep.json and sweep.csv (default: the first DIR).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, short)]
        quiet: bool,
    },
    /// Compare the engine with queueing theory (M/M/1, M/M/c, M/D/1, random routing).
    #[command(after_help = "Examples:\n  statesim check\n  statesim check mm1 md1 --replications 40\n  statesim check my-queue.toml")]
    Check {
        /// Theory models to check (default: all bundled ones).
        #[arg(value_name = "MODEL")]
        models: Vec<String>,
        /// Independent replications of each model (default: the model's run.replications, 20 for the bundled ones); more narrows the intervals.
        #[arg(long, short = 'r')]
        replications: Option<u32>,
        /// Worker threads (default: all cores). The figures do not depend on it.
        #[arg(long, short = 'j')]
        threads: Option<usize>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// No progress bar on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Interview walkthroughs: a question, the tempting answer, a live run, the senior answer, the trade-off.
    #[command(
        after_help = "Examples:\n  statesim walkthrough              list the topics\n  statesim walkthrough crash-test   one topic (any bundled model's name), pausing for Enter on a terminal\n  statesim walkthrough all --no-pause"
    )]
    Walkthrough {
        /// A topic (a bundled model's name, e.g. mega-proxy), or `all`; none lists the topics.
        topic: Option<String>,
        /// Do not wait for Enter between parts.
        #[arg(long)]
        no_pause: bool,
    },
    /// Parse and validate models without running them.
    #[command(after_help = "Example:\n  statesim validate models/*.toml")]
    Validate {
        #[arg(required = true, value_name = "MODEL")]
        models: Vec<String>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        #[command(flatten)]
        budget: BudgetArgs,
    },
    /// Measure JWT and Redis costs on this machine and write a calibration file for `--calibration` (needs `--features testbed`).
    #[command(
        after_help = "Examples:\n  statesim calibrate                       starts its own redis-server on a free loopback port\n  statesim calibrate --redis 127.0.0.1:6379 --out calibration.toml\n  statesim run crash-test --calibration calibration.toml"
    )]
    Calibrate {
        /// A Redis to measure (HOST:PORT); default: a redis-server started on loopback.
        #[arg(long, value_name = "HOST:PORT")]
        redis: Option<String>,
        /// Where to write the calibration file.
        #[arg(long, default_value = "calibration.toml")]
        out: PathBuf,
    },
    /// Stand the model up for real on loopback (HTTP servers, HAProxy, Redis, a load generator), kill a server, and compare with the simulator (needs `--features testbed`).
    #[command(
        after_help = "Examples:\n  statesim testbed crash-test --out output/testbed\n  statesim testbed mega-proxy --quick\n  statesim testbed shopping-cart\n  statesim testbed rate-limits\n\nExit code: 0 every target held, 1 some did not, 2 bad input or a missing haproxy/redis-server."
    )]
    Testbed {
        /// crash-test, mega-proxy, shopping-cart or rate-limits.
        model: String,
        /// Folder for comparison.json and comparison.png.
        #[arg(long, default_value = "output/testbed")]
        out: PathBuf,
        /// A short run (for tests): a third of the duration and users.
        #[arg(long)]
        quick: bool,
    },
    /// One real web server of the testbed (started by `statesim testbed`).
    #[command(hide = true)]
    TestbedServer {
        #[arg(long)]
        config: String,
    },
    /// Print the JSON Schema of the model format.
    Schema,
    /// List the bundled models.
    List,
    /// A local web app: pick or paste a model, change its parameters, run, compare two settings.
    #[command(
        after_help = "Examples:\n  statesim serve                       http://127.0.0.1:8080/\n  statesim serve --port 0              any free port (printed)\n  statesim serve --bind 0.0.0.0 --port 8000   reachable from other machines\n\nRuns are `statesim run MODEL --set ...` in memory, at most --workers at a time and --queue more waiting\n(beyond that: 503 with Retry-After); the page's address holds the settings, so a link reproduces a run.\nNothing is written to disk."
    )]
    Serve {
        /// Port to listen on (0: any free port).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to listen on; only this machine by default.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Runs at a time.
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Runs waiting beyond those; more are refused.
        #[arg(long, default_value_t = 8)]
        queue: usize,
        #[command(flatten)]
        budget: BudgetArgs,
    },
}

#[cfg(not(feature = "testbed"))]
fn no_testbed() -> u8 {
    eprintln!("error: this statesim was built without the testbed; build it with `cargo build --release --features testbed`");
    2
}

/// Whether to draw progress and box characters: only for a terminal, never with NO_COLOR.
pub fn fancy_terminal() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// On SIGINT or SIGTERM: remove this process's temporary files and folders, then exit
/// with 128 + the signal (130, 143), the shell's convention.
fn clean_up_on_signals() {
    #[cfg(unix)]
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]) {
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                statesim::report::atomic::remove_temporaries_and_exit(128 + signal);
            }
        });
    }
}

pub fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Command::Run { common, .. } | Command::Sweep { common, .. } = &mut cli.command
        && let Err(code) = calibration::apply(&common.calibration.take(), &mut common.sets)
    {
        return ExitCode::from(code);
    }
    if matches!(cli.command, Command::Run { .. } | Command::Sweep { .. } | Command::Merge { .. }) {
        clean_up_on_signals();
    }
    let code = match cli.command {
        Command::Run { models, seed, common, format } => run::run(run::RunArgs { inputs: models, seed, common, format }),
        Command::Sweep { model, vary, partition, common } => sweep::sweep(sweep::SweepArgs { model, vary, partition, common }),
        Command::Merge { dirs, out, quiet } => sweep::merge(dirs, out, quiet),
        Command::Check { models, replications, threads, format, quiet } => check::check(models, replications, threads, format, quiet),
        Command::Validate { models, sets, budget } => match inputs::load_all_with(&models, &sets, &budget.budget()) {
            Ok(loaded) => {
                for m in loaded {
                    let names: Vec<&str> = m.variants.iter().map(|v| v.name.as_str()).collect();
                    println!("ok: {} ({}: {} variant{}: {})", m.source, m.name, names.len(), if names.len() == 1 { "" } else { "s" }, names.join(", "));
                    let estimates: Vec<_> = m.variants.iter().map(|v| statesim::scenario::budget::estimate(&v.system)).collect();
                    let events = estimates.iter().map(|e| e.total_events()).fold(0.0, f64::max);
                    let bytes = estimates.iter().map(|e| e.total_bytes()).fold(0.0, f64::max);
                    println!(
                        "  largest run: about {} events and {} (budget {} events, {})",
                        statesim::scenario::budget::sci(events),
                        statesim::scenario::budget::human_bytes(bytes),
                        statesim::scenario::budget::sci(budget.budget().events),
                        statesim::scenario::budget::human_bytes(budget.budget().memory_bytes)
                    );
                    for w in &m.warnings {
                        eprintln!("warning: {w}");
                    }
                }
                0
            }
            Err(code) => code,
        },
        Command::Walkthrough { topic, no_pause } => walkthrough::walkthrough(topic, no_pause),
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&statesim::scenario::json_schema()).expect("schema serializes"));
            0
        }
        Command::List => list::list(),
        Command::Serve { port, bind, workers, queue, budget } => serve::serve(serve::ServeArgs { port, bind, workers, queue, budget: budget.budget() }),
        #[cfg(feature = "testbed")]
        Command::Calibrate { redis, out } => testbed::calibrate(redis, out),
        #[cfg(feature = "testbed")]
        Command::Testbed { model, out, quick } => testbed::testbed(&model, &out, quick),
        #[cfg(feature = "testbed")]
        Command::TestbedServer { config } => testbed::server::main(&config),
        #[cfg(not(feature = "testbed"))]
        Command::Calibrate { .. } | Command::Testbed { .. } | Command::TestbedServer { .. } => no_testbed(),
    };
    ExitCode::from(code)
}
