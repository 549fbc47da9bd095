//! statesim: a deterministic discrete-event simulator of stateful and stateless web
//! architectures.
//!
//! Data flows one way: a model file is loaded and validated ([`scenario`]), each variant
//! is simulated by the [`engine`] driving the web tier ([`components`]), measurements go
//! to the [`metrics`] recorder, and [`report`] writes them out. What each metric means
//! (key, label, unit, population) is declared once in [`metrics::catalog`].
//!
//! ```
//! use statesim::metrics::catalog::LATENCY_MS;
//! use statesim::scenario::load_str;
//! use statesim::sweep::{run_and_summarize, RunOptions};
//!
//! // An M/M/1 queue at rho = 0.8, written as an ordinary model.
//! let text = r#"
//!     schema_version = 1
//!     [run]
//!     duration = "1d"
//!     warmup = "1h"
//!     replications = 4
//!     [clients]
//!     arrival_rate = "0.8/s"
//!     timeout = "off"
//!     [network]
//!     client_to_lb = "0s"
//!     lb_to_server = "0s"
//!     [load_balancer]
//!     latency = "0s"
//!     [servers]
//!     count = 1
//!     cores = 1
//!     service = { dist = "exponential", mean = "1s" }
//!     queue_limit = 1_000_000
//! "#;
//! let model = load_str("mm1.toml", "mm1", text, &[]).unwrap();
//! let (summary, _runs) = run_and_summarize(&model, &RunOptions::default(), &|| {});
//! let w = summary.variants[0].metrics[LATENCY_MS.mean.key];
//! // Theory: W = 1 / (mu - lambda) = 5 s.
//! assert!((w.mean / 1e3 - 5.0).abs() < 0.5);
//! ```

pub mod bundled;
pub mod check;
pub mod components;
pub mod engine;
pub mod metrics;
pub mod playbook;
pub mod policies;
pub mod report;
pub mod scenario;
pub mod sweep;
pub mod theory;
pub mod walkthrough;
