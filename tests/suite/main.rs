//! The integration tests, as one binary: it links once, and its modules share what is
//! costly to compute (see [`shared`]: each bundled model is simulated once per suite).
//! `cargo test --release --test suite MODULE::` runs one module.

mod accounting;
mod autoscaling;
mod bad_input;
mod catalog;
mod definitions;
mod determinism;
mod jobs;
mod load_balancing;
mod long_polling;
mod long_runs;
mod models;
mod mutants;
mod outputs;
mod rate_limits;
mod readme;
mod regressions;
mod report;
mod retry_storm;
mod serve;
mod sessions;
mod shared;
mod stale_load;
mod state_tier;
mod sweep;
mod teaching;
mod testbed;
mod theory;
mod uploads;
mod url_expiry;
mod walkthrough;
mod websockets;
