//! Simulated time as integer nanoseconds.
//!
//! Time is never a float inside the engine: integer nanoseconds cannot drift, and two
//! events scheduled for the same instant compare equal exactly, so tie-breaking is exact.

use serde::Serialize;
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SimDuration(pub u64);

pub const NANOS_PER_SEC: u64 = 1_000_000_000;

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub fn from_secs_f64(secs: f64) -> SimDuration {
        SimDuration::from_nanos_f64(secs * NANOS_PER_SEC as f64)
    }
    /// Rounds to the nearest nanosecond (half up); negative and NaN become zero, huge
    /// values saturate: what Rust's float-to-integer `as` does with `nanos + 0.5`.
    /// (`f64::round` is a library call on this hot path.)
    #[inline]
    pub fn from_nanos_f64(nanos: f64) -> SimDuration {
        SimDuration((nanos + 0.5) as u64)
    }
    pub const fn from_secs(secs: u64) -> SimDuration {
        SimDuration(secs * NANOS_PER_SEC)
    }
    pub const fn from_millis(ms: u64) -> SimDuration {
        SimDuration(ms * 1_000_000)
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}
impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.since(earlier)
    }
}

impl fmt::Display for SimDuration {
    /// Prints the largest unit that keeps the value readable: `250us`, `15ms`, `2.5s`, `10m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let units: [(u64, &str); 6] =
            [(3_600 * NANOS_PER_SEC, "h"), (60 * NANOS_PER_SEC, "m"), (NANOS_PER_SEC, "s"), (1_000_000, "ms"), (1_000, "us"), (1, "ns")];
        for (scale, unit) in units {
            if n >= scale || scale == 1 {
                let v = n as f64 / scale as f64;
                return if v.fract() == 0.0 { write!(f, "{v:.0}{unit}") } else { write!(f, "{}{unit}", trim_float(v)) };
            }
        }
        unreachable!()
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}", SimDuration(self.0))
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_picks_a_readable_unit() {
        assert_eq!(SimDuration(250_000).to_string(), "250us");
        assert_eq!(SimDuration::from_millis(15).to_string(), "15ms");
        assert_eq!(SimDuration::from_millis(2500).to_string(), "2.5s");
        assert_eq!(SimDuration::from_secs(600).to_string(), "10m");
        assert_eq!(SimDuration(0).to_string(), "0ns");
    }

    #[test]
    fn conversions_round_and_saturate() {
        assert_eq!(SimDuration::from_secs_f64(1.5), SimDuration(1_500_000_000));
        assert_eq!(SimDuration::from_nanos_f64(-3.0), SimDuration(0));
        assert_eq!(SimDuration::from_nanos_f64(f64::INFINITY), SimDuration(u64::MAX));
        assert_eq!(SimDuration::from_nanos_f64(1e30), SimDuration(u64::MAX));
        assert_eq!(SimDuration::from_nanos_f64(f64::NAN), SimDuration(0));
        assert_eq!(SimDuration::from_nanos_f64(-0.4), SimDuration(0));
        assert_eq!((SimDuration::from_nanos_f64(2.49), SimDuration::from_nanos_f64(2.5)), (SimDuration(2), SimDuration(3)));
        assert_eq!(SimTime::MAX + SimDuration(5), SimTime::MAX);
    }
}
