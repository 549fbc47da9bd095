//! A quantity's value in each replication, and comparisons that hold on its 95% interval,
//! not on one draw.
//!
//! Variants share random numbers replication by replication (common random numbers), so
//! two variants' values at one replication index are a pair. Arithmetic is done
//! replication by replication (`a - 5 * b` is one number per replication), and a
//! comparison is decided on the Student-t interval of the paired difference:
//!
//! - `a > b` holds when the interval of `a - b` lies wholly above zero (`<`: below);
//! - `a >= b` when its lower bound is at least zero (`<=`: its upper bound at most zero),
//!   so a bound met exactly in every replication (`a - b = 0` each time) holds;
//! - `a == b` when the two are equal in every replication (the interval is the point 0).
//!
//! With one replication there is no interval: the comparison is made on the one draw,
//! and [`Replicates::interval`] is None, so a reader can be told.

use super::stats::{Estimate, mean_ci};
use std::cmp::Ordering;
use std::ops::{Add, Div, Mul, Sub};

/// A comparison between two quantities, as a takeaway check or a walkthrough claim
/// states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
}

impl Comparison {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Less => "<",
            Comparison::LessOrEqual => "≤",
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => "≥",
            Comparison::Equal => "=",
        }
    }

    /// Whether `a` compares to `b` so, for single numbers; never with a NaN.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Comparison::Less => a < b,
            Comparison::LessOrEqual => a <= b,
            Comparison::Greater => a > b,
            Comparison::GreaterOrEqual => a >= b,
            Comparison::Equal => a == b,
        }
    }
}

/// One number per replication, in replication order. NaN where a replication did not
/// report it (then no comparison with it holds).
#[derive(Clone, Debug, PartialEq)]
pub struct Replicates(Vec<f64>);

impl Replicates {
    pub fn new(values: Vec<f64>) -> Replicates {
        Replicates(values)
    }

    /// The same number in each of `n` replications.
    pub fn constant(x: f64, n: usize) -> Replicates {
        Replicates(vec![x; n.max(1)])
    }

    pub fn values(&self) -> &[f64] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The mean and its 95% interval across the replications.
    pub fn estimate(&self) -> Estimate {
        mean_ci(&self.0)
    }

    pub fn mean(&self) -> f64 {
        self.estimate().mean
    }

    /// The 95% interval `(low, high)`; None with one replication.
    pub fn interval(&self) -> Option<(f64, f64)> {
        let e = self.estimate();
        e.ci95.map(|_| (e.low(), e.high()))
    }

    /// Each replication's value through `f`.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Replicates {
        Replicates(self.0.iter().map(|&x| f(x)).collect())
    }

    pub fn abs(&self) -> Replicates {
        self.map(f64::abs)
    }

    /// Each replication's value, at least `floor` (a divisor kept from zero).
    pub fn floored(&self, floor: f64) -> Replicates {
        self.map(|x| x.max(floor))
    }

    /// Pairs two quantities replication by replication; with different numbers of
    /// replications there are no pairs, and every value is NaN.
    fn zip(&self, other: &Replicates, f: impl Fn(f64, f64) -> f64) -> Replicates {
        if self.0.len() == other.0.len() {
            Replicates(self.0.iter().zip(&other.0).map(|(&a, &b)| f(a, b)).collect())
        } else if other.0.len() == 1 {
            self.map(|a| f(a, other.0[0]))
        } else if self.0.len() == 1 {
            other.map(|b| f(self.0[0], b))
        } else {
            Replicates(vec![f64::NAN; self.0.len().max(other.0.len())])
        }
    }

    /// Where this quantity lies against `other`, decided on the interval of the paired
    /// difference: Greater or Less when the interval excludes zero on that side, Equal
    /// when it contains zero. None when a value is missing. With one replication, the
    /// one draw decides.
    pub fn versus(&self, other: impl Into<Replicates>) -> Option<Ordering> {
        let d = self - &other.into();
        match d.0[..] {
            _ if d.0.iter().any(|x| x.is_nan()) => None,
            [one] => one.partial_cmp(&0.0),
            _ => d.estimate().versus_zero(),
        }
    }

    /// Whether `self op other` holds on the interval of the paired difference (see the
    /// module's documentation); with one replication, on the one draw.
    pub fn compare(&self, op: Comparison, other: impl Into<Replicates>) -> bool {
        let d = self - &other.into();
        if d.0.is_empty() || d.0.iter().any(|x| x.is_nan()) {
            return false;
        }
        if op == Comparison::Equal {
            return d.0.iter().all(|&x| x == 0.0);
        }
        let e = d.estimate();
        let (low, high) = (e.low(), e.high());
        match op {
            Comparison::Less => high < 0.0,
            Comparison::LessOrEqual => high <= 0.0,
            Comparison::Greater => low > 0.0,
            Comparison::GreaterOrEqual => low >= 0.0,
            Comparison::Equal => unreachable!(),
        }
    }

    /// `self < other` on the interval.
    pub fn less_than(&self, other: impl Into<Replicates>) -> bool {
        self.compare(Comparison::Less, other)
    }
    /// `self <= other` on the interval.
    pub fn at_most(&self, other: impl Into<Replicates>) -> bool {
        self.compare(Comparison::LessOrEqual, other)
    }
    /// `self > other` on the interval.
    pub fn greater_than(&self, other: impl Into<Replicates>) -> bool {
        self.compare(Comparison::Greater, other)
    }
    /// `self >= other` on the interval.
    pub fn at_least(&self, other: impl Into<Replicates>) -> bool {
        self.compare(Comparison::GreaterOrEqual, other)
    }
    /// `self == other` in every replication.
    pub fn equals(&self, other: impl Into<Replicates>) -> bool {
        self.compare(Comparison::Equal, other)
    }

    /// Whether the whole interval lies between `low` and `high` (inclusive).
    pub fn within(&self, low: f64, high: f64) -> bool {
        self.at_least(low) && self.at_most(high)
    }
}

impl From<f64> for Replicates {
    fn from(x: f64) -> Replicates {
        Replicates(vec![x])
    }
}

impl From<&Replicates> for Replicates {
    fn from(r: &Replicates) -> Replicates {
        r.clone()
    }
}

macro_rules! arithmetic {
    ($trait:ident, $method:ident, $op:tt) => {
        impl $trait<&Replicates> for &Replicates {
            type Output = Replicates;
            fn $method(self, other: &Replicates) -> Replicates {
                self.zip(other, |a, b| a $op b)
            }
        }
        impl $trait<Replicates> for Replicates {
            type Output = Replicates;
            fn $method(self, other: Replicates) -> Replicates {
                (&self).$method(&other)
            }
        }
        impl $trait<&Replicates> for Replicates {
            type Output = Replicates;
            fn $method(self, other: &Replicates) -> Replicates {
                (&self).$method(other)
            }
        }
        impl $trait<Replicates> for &Replicates {
            type Output = Replicates;
            fn $method(self, other: Replicates) -> Replicates {
                self.$method(&other)
            }
        }
        impl $trait<f64> for &Replicates {
            type Output = Replicates;
            fn $method(self, x: f64) -> Replicates {
                self.map(|a| a $op x)
            }
        }
        impl $trait<f64> for Replicates {
            type Output = Replicates;
            fn $method(self, x: f64) -> Replicates {
                self.map(|a| a $op x)
            }
        }
        impl $trait<&Replicates> for f64 {
            type Output = Replicates;
            fn $method(self, r: &Replicates) -> Replicates {
                r.map(|b| self $op b)
            }
        }
        impl $trait<Replicates> for f64 {
            type Output = Replicates;
            fn $method(self, r: Replicates) -> Replicates {
                r.map(|b| self $op b)
            }
        }
    };
}

arithmetic!(Add, add, +);
arithmetic!(Sub, sub, -);
arithmetic!(Mul, mul, *);
arithmetic!(Div, div, /);

#[cfg(test)]
mod tests {
    use super::*;

    fn r(xs: &[f64]) -> Replicates {
        Replicates::new(xs.to_vec())
    }

    #[test]
    fn a_claim_that_holds_on_one_lucky_draw_fails() {
        // Replication 0 says a > b; the other four say the opposite.
        let (a, b) = (r(&[12.0, 9.0, 9.5, 8.8, 9.2]), r(&[10.0, 10.0, 10.0, 10.0, 10.0]));
        assert!(Comparison::Greater.holds(a.values()[0], b.values()[0]), "the lucky draw");
        assert!(!a.greater_than(&b));
        // Higher in every replication but by a wobbly amount: the interval decides.
        let noisy = r(&[10.1, 14.0, 10.1, 10.1, 10.1]);
        assert!(noisy.values().iter().zip(b.values()).all(|(x, y)| x > y));
        assert!(!noisy.greater_than(&b), "{:?}", (&noisy - &b).interval());
        // Higher in every replication by a steady amount: it holds.
        assert!(r(&[10.5, 10.6, 10.4, 10.5, 10.5]).greater_than(&b));
    }

    #[test]
    fn comparisons_are_paired_replication_by_replication() {
        // The two overlap as intervals, but their paired difference is steady: common
        // random numbers move both together.
        let a = r(&[100.0, 140.0, 90.0, 120.0, 110.0]);
        let b = &a + 1.0;
        let (alo, ahi) = a.interval().unwrap();
        let (blo, _) = b.interval().unwrap();
        assert!(blo < ahi && alo < blo, "the intervals overlap");
        assert!(b.greater_than(&a) && a.less_than(&b));
        assert_eq!(b.versus(&a), Some(Ordering::Greater));
        assert_eq!(a.versus(&a), Some(Ordering::Equal));
        // Products with numbers and quantities, per replication.
        assert!((&b * 2.0).greater_than(&a + &a));
    }

    #[test]
    fn bounds_equality_and_missing_values() {
        let zero = r(&[0.0; 5]);
        assert!(zero.equals(0.0) && zero.at_most(0.0) && zero.at_least(0.0) && !zero.less_than(0.0));
        // A bound met exactly in every replication.
        assert!(r(&[20.0; 5]).at_most(20.0));
        assert!(!r(&[0.0, 0.0, 1.0, 0.0, 0.0]).equals(0.0));
        assert!(r(&[0.07, 0.08, 0.075, 0.078, 0.072]).within(0.05, 0.1));
        assert!(!r(&[0.07, 0.08, 0.075, 0.078, 0.072]).within(0.075, 0.1));
        let missing = r(&[1.0, f64::NAN, 1.0, 1.0, 1.0]);
        assert!(!missing.at_least(0.0) && !missing.equals(missing.clone()) && !missing.less_than(5.0));
        assert_eq!(missing.versus(0.0), None);
        // One replication: the one draw decides, and there is no interval.
        assert!(r(&[3.0]).greater_than(2.0) && r(&[3.0]).interval().is_none());
        // Different numbers of replications cannot be paired.
        assert!(!r(&[1.0, 2.0]).less_than(r(&[5.0, 6.0, 7.0])));
    }
}
