//! Confidence intervals across independent replications (Student t, 95%).

use serde::{Deserialize, Serialize};

/// A mean with its 95% confidence half-width (None for a single replication).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// NaN (written `null` in JSON) when some replication did not report the metric.
    #[serde(deserialize_with = "nan_as_null::deserialize")]
    pub mean: f64,
    pub ci95: Option<f64>,
    pub n: usize,
}

impl Estimate {
    pub fn low(&self) -> f64 {
        self.mean - self.ci95.unwrap_or(0.0)
    }
    pub fn high(&self) -> f64 {
        self.mean + self.ci95.unwrap_or(0.0)
    }
    pub fn contains(&self, x: f64) -> bool {
        self.low() <= x && x <= self.high()
    }

    /// Where the interval lies against zero, for a difference: Greater or Less when it
    /// excludes zero on that side (a difference beyond chance), Equal when it contains
    /// zero. None without an interval (one replication) or for a mean that is not a
    /// number.
    pub fn versus_zero(&self) -> Option<std::cmp::Ordering> {
        use std::cmp::Ordering;
        if self.ci95.is_none() || !self.mean.is_finite() {
            return None;
        }
        Some(if self.low() > 0.0 {
            Ordering::Greater
        } else if self.high() < 0.0 {
            Ordering::Less
        } else {
            Ordering::Equal
        })
    }
}

/// JSON has no NaN: serde_json writes it as `null`; these read `null` back as NaN.
pub(crate) mod nan_as_null {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// [`nan_as_null`] for a map of series of numbers.
pub(crate) mod nan_as_null_vecs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(m: &BTreeMap<String, Vec<f64>>, s: S) -> Result<S::Ok, S::Error> {
        m.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<f64>>, D::Error> {
        let m = BTreeMap::<String, Vec<Option<f64>>>::deserialize(d)?;
        Ok(m.into_iter().map(|(k, v)| (k, v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())).collect())
    }
}

/// Two-sided 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
        2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        // Cornish-Fisher expansion around the normal quantile; error below 1e-3 for df > 30.
        _ => {
            let z: f64 = 1.959964;
            let d = df as f64;
            z + (z.powi(3) + z) / (4.0 * d) + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
        }
    }
}

/// Mean and 95% t-interval half-width of independent observations.
pub fn mean_ci(xs: &[f64]) -> Estimate {
    let n = xs.len();
    if n == 0 {
        return Estimate { mean: f64::NAN, ci95: None, n };
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Estimate { mean, ci95: None, n };
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Estimate { mean, ci95: Some(t975(n - 1) * (var / n as f64).sqrt()), n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles() {
        assert_eq!(t975(1), 12.706);
        assert!((t975(60) - 2.000).abs() < 1e-3);
        assert!((t975(120) - 1.980).abs() < 1e-3);
    }

    #[test]
    fn a_difference_is_beyond_chance_when_its_interval_excludes_zero() {
        use std::cmp::Ordering;
        assert_eq!(mean_ci(&[1.0, 1.2, 0.9, 1.1, 1.0]).versus_zero(), Some(Ordering::Greater));
        assert_eq!(mean_ci(&[-1.0, -1.2, -0.9, -1.1, -1.0]).versus_zero(), Some(Ordering::Less));
        assert_eq!(mean_ci(&[1.0, -1.2, 0.9, 1.1, 1.0]).versus_zero(), Some(Ordering::Equal));
        // The same difference in every replication is certain; none at all is no difference.
        assert_eq!(mean_ci(&[2.0; 5]).versus_zero(), Some(Ordering::Greater));
        assert_eq!(mean_ci(&[0.0; 5]).versus_zero(), Some(Ordering::Equal));
        // One replication has no interval to decide on.
        assert_eq!(mean_ci(&[2.0]).versus_zero(), None);
    }

    #[test]
    fn interval_of_known_data() {
        let e = mean_ci(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(e.mean, 3.0);
        // s = sqrt(2.5), t(4) = 2.776, half-width = 2.776 * sqrt(2.5 / 5)
        assert!((e.ci95.unwrap() - 2.776 * 0.5f64.sqrt()).abs() < 1e-9);
    }
}
