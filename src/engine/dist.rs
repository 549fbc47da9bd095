//! The one distribution type of statesim.
//!
//! Every random quantity in a model (service times, think times, network latency, file
//! sizes) is a [`Distribution`] over `f64` in the quantity's base unit (nanoseconds for
//! time). Model files describe it by its mean and coefficient of variation where that is
//! what people know, and the constructor turns that into the distribution's parameters.

use super::rng::SimRng;
use super::time::SimDuration;
use rand::RngExt;
use rand_distr::{Distribution as _, Exp1, StandardNormal};
use serde::Serialize;

/// A distribution of non-negative values in a base unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "kebab-case")]
pub enum Distribution {
    Constant {
        value: f64,
    },
    Exponential {
        mean: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    /// Log-normal given by its mean and coefficient of variation (stddev / mean).
    Lognormal {
        mean: f64,
        cv: f64,
        #[serde(skip)]
        mu: f64,
        #[serde(skip)]
        sigma: f64,
    },
    /// A weighted choice among values; `cumulative` holds the running sums of the weights.
    Empirical {
        values: Vec<f64>,
        #[serde(skip)]
        cumulative: Vec<f64>,
    },
}

impl Distribution {
    pub fn constant(value: f64) -> Self {
        Distribution::Constant { value }
    }
    pub fn exponential(mean: f64) -> Self {
        Distribution::Exponential { mean }
    }
    pub fn uniform(min: f64, max: f64) -> Self {
        Distribution::Uniform { min, max }
    }
    /// sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2, so that E[X] = mean and
    /// sd[X] / E[X] = cv.
    pub fn lognormal(mean: f64, cv: f64) -> Self {
        let sigma2 = (1.0 + cv * cv).ln();
        Distribution::Lognormal { mean, cv, mu: mean.ln() - sigma2 / 2.0, sigma: sigma2.sqrt() }
    }
    /// `weights` need not sum to one; they must be non-negative with a positive sum.
    pub fn empirical(values: Vec<f64>, weights: &[f64]) -> Self {
        let mut acc = 0.0;
        let cumulative = weights.iter().map(|w| {
            acc += w;
            acc
        });
        Distribution::Empirical { cumulative: cumulative.collect(), values }
    }

    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        match self {
            Distribution::Constant { value } => *value,
            Distribution::Exponential { mean } => {
                let e: f64 = Exp1.sample(rng);
                e * mean
            }
            Distribution::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
            Distribution::Lognormal { mu, sigma, .. } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            Distribution::Empirical { values, cumulative } => {
                let total = *cumulative.last().expect("validated non-empty");
                let u = rng.random::<f64>() * total;
                let i = cumulative.partition_point(|&c| c <= u).min(values.len() - 1);
                values[i]
            }
        }
    }

    pub fn mean(&self) -> f64 {
        match self {
            Distribution::Constant { value } => *value,
            Distribution::Exponential { mean } | Distribution::Lognormal { mean, .. } => *mean,
            Distribution::Uniform { min, max } => (min + max) / 2.0,
            Distribution::Empirical { values, cumulative } => {
                let total = cumulative.last().copied().unwrap_or(1.0);
                let mut prev = 0.0;
                values
                    .iter()
                    .zip(cumulative)
                    .map(|(v, c)| {
                        let w = c - prev;
                        prev = *c;
                        v * w / total
                    })
                    .sum()
            }
        }
    }

    /// True when every draw is zero (lets hops with no latency skip the event queue).
    pub fn is_zero(&self) -> bool {
        matches!(self, Distribution::Constant { value } if *value == 0.0)
    }

    /// A draw as a duration (the distribution is in nanoseconds); a zero distribution
    /// draws nothing from `rng`.
    #[inline(always)]
    pub fn draw(&self, rng: &mut SimRng) -> SimDuration {
        if self.is_zero() { SimDuration::ZERO } else { SimDuration::from_nanos_f64(self.sample(rng)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::RngStreams;

    fn sample_mean_cv(d: &Distribution, n: usize) -> (f64, f64) {
        let mut r = RngStreams::new(1, 0).stream("dist");
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut r)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
        (m, v.sqrt() / m)
    }

    #[test]
    fn lognormal_matches_its_mean_and_cv() {
        let (m, cv) = sample_mean_cv(&Distribution::lognormal(15.0, 1.0), 400_000);
        assert!((m - 15.0).abs() < 0.15, "mean {m}");
        assert!((cv - 1.0).abs() < 0.05, "cv {cv}");
    }

    #[test]
    fn exponential_has_cv_one() {
        let (m, cv) = sample_mean_cv(&Distribution::exponential(2.0), 400_000);
        assert!((m - 2.0).abs() < 0.02, "mean {m}");
        assert!((cv - 1.0).abs() < 0.02, "cv {cv}");
    }

    #[test]
    fn empirical_follows_its_weights() {
        let d = Distribution::empirical(vec![1.0, 10.0], &[3.0, 1.0]);
        assert!((d.mean() - 3.25).abs() < 1e-12);
        let (m, _) = sample_mean_cv(&d, 200_000);
        assert!((m - 3.25).abs() < 0.05, "mean {m}");
    }

    #[test]
    fn uniform_mean() {
        let (m, _) = sample_mean_cv(&Distribution::uniform(2.0, 4.0), 100_000);
        assert!((m - 3.0).abs() < 0.01);
    }
}
