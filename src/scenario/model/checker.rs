//! The checker that resolving a raw model fills: every problem with its key path, and
//! the checks of values (shares, distributions) the sections share.

use super::*;
use crate::scenario::diag::Problem;
use crate::scenario::raw::*;
use crate::scenario::units::{ByteSize, Duration};

/// A quantity a distribution can be over, in its base unit.
pub(super) trait Quantity {
    fn base(&self) -> f64;
}
impl Quantity for Duration {
    fn base(&self) -> f64 {
        self.0.0 as f64
    }
}
impl Quantity for ByteSize {
    fn base(&self) -> f64 {
        self.0
    }
}

/// Collects problems with their key paths while resolving.
pub(super) struct Checker {
    pub(super) problems: Vec<Problem>,
}

impl Checker {
    pub(super) fn err(&mut self, path: &str, message: impl Into<String>, help: impl Into<String>) {
        let help = help.into();
        self.problems.push(Problem::at_path(path, message.into(), if help.is_empty() { None } else { Some(help) }));
    }

    pub(super) fn share(&mut self, x: f64, path: &str) -> f64 {
        if !(0.0..=1.0).contains(&x) {
            self.err(path, format!("{x} is not a share"), "use a number from 0 to 1");
            return x.clamp(0.0, 1.0);
        }
        x
    }

    pub(super) fn time_dist(&mut self, raw: &RawDist<Duration>, path: &str) -> Distribution {
        self.dist(raw, path)
    }

    /// Any distribution, in its quantity's base unit (nanoseconds, bytes).
    pub(super) fn dist<Q: Quantity>(&mut self, raw: &RawDist<Q>, path: &str) -> Distribution {
        let ns = |d: &Q| d.base();
        match raw {
            RawDist::Fixed(d) => Distribution::constant(ns(d)),
            RawDist::Spec(spec) => match spec {
                RawDistSpec::Constant { value } => Distribution::constant(ns(value)),
                RawDistSpec::Exponential { mean } => {
                    if mean.base() == 0.0 {
                        self.err(
                            &format!("{path}.mean"),
                            "an exponential distribution needs a mean above zero",
                            "for a fixed zero, write \"0s\" without a table",
                        );
                    }
                    Distribution::exponential(ns(mean))
                }
                RawDistSpec::Uniform { min, max } => {
                    if min.base() > max.base() {
                        self.err(&format!("{path}.max"), "max is below min", "a uniform distribution needs min <= max");
                    }
                    Distribution::uniform(ns(min), ns(max))
                }
                RawDistSpec::Lognormal { mean, cv } => {
                    if !cv.is_finite() || *cv < 0.0 {
                        self.err(
                            &format!("{path}.cv"),
                            format!("the coefficient of variation {cv} is negative or not a number"),
                            "cv is stddev / mean: 0 for constant, 1 for about as variable as exponential; it must be >= 0",
                        );
                        return Distribution::constant(ns(mean));
                    }
                    if mean.base() == 0.0 {
                        self.err(&format!("{path}.mean"), "a log-normal distribution needs a mean above zero", "");
                        return Distribution::constant(0.0);
                    }
                    if *cv == 0.0 { Distribution::constant(ns(mean)) } else { Distribution::lognormal(ns(mean), *cv) }
                }
                RawDistSpec::Empirical { values, weights } => {
                    if values.is_empty() {
                        self.err(&format!("{path}.values"), "an empirical distribution needs at least one value", "values = [\"1ms\", \"10ms\"]");
                        return Distribution::constant(0.0);
                    }
                    let w = weights.clone().unwrap_or_else(|| vec![1.0; values.len()]);
                    if w.len() != values.len() {
                        self.err(
                            &format!("{path}.weights"),
                            format!("{} weights for {} values", w.len(), values.len()),
                            "give one weight per value, or none for equal weights",
                        );
                        return Distribution::constant(ns(&values[0]));
                    }
                    if w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0 {
                        self.err(&format!("{path}.weights"), "weights must be non-negative numbers with a positive sum", "");
                        return Distribution::constant(ns(&values[0]));
                    }
                    Distribution::empirical(values.iter().map(ns).collect(), &w)
                }
            },
        }
    }
}
