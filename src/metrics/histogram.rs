//! A latency histogram recorded inline on the hot path, read as an HDR histogram.
//!
//! Every answered request records its latency and its queue wait, so recording is on
//! the loop's hottest path. `hdrhistogram::Histogram::saturating_record` is an
//! out-of-line call that recomputes its layout from fields, checks for resizing, and
//! keeps a minimum and a maximum: about 60 instructions a record. This type keeps the
//! same counts in the same bins (HDR's layout for 1 ns to [`HIST_MAX_NS`] at 3
//! significant digits, with its constants fixed at compile time) in about a dozen, and
//! becomes an `hdrhistogram::Histogram` when the run is summarised.
//!
//! **Exactness.** A bin is the set of values HDR counts together. [`Latencies::to_hdr`]
//! records each bin's count at the bin's lowest value, so every count lands in the bin it
//! would have had; the maximum and minimum HDR reports are a bin's highest and lowest
//! equivalent value, the same for any value of the bin. So every quantile, the maximum,
//! the minimum and the count read from it equal those of a histogram fed value by value
//! (`tests::reads_as_the_histogram_fed_value_by_value`).

use hdrhistogram::Histogram;

/// The histograms' largest value: values above it count as it (about 28 hours).
pub const HIST_MAX_NS: u64 = 100_000_000_000_000;

// HDR's layout for a lowest discernible value of 1 and 3 significant digits: a bucket per
// power of two, each of 2^11 sub-buckets of which the upper half is used past bucket 0.
const SUB_BUCKET_MAGNITUDE: u32 = 11;
const SUB_BUCKET_HALF_MAGNITUDE: u32 = SUB_BUCKET_MAGNITUDE - 1;
const SUB_BUCKET_HALF_COUNT: u64 = 1 << SUB_BUCKET_HALF_MAGNITUDE;
const SUB_BUCKET_MASK: u64 = (1 << SUB_BUCKET_MAGNITUDE) - 1;
const LEADING_ZERO_COUNT_BASE: u32 = 64 - SUB_BUCKET_MAGNITUDE;
/// HDR's number of counts: buckets of doubling range until one holds [`HIST_MAX_NS`], plus
/// one, each of half the sub-buckets (bucket 0's lower half is the extra one).
const BINS: usize = {
    let (mut smallest_untrackable, mut buckets) = (1u64 << SUB_BUCKET_MAGNITUDE, 1usize);
    while smallest_untrackable <= HIST_MAX_NS {
        smallest_untrackable <<= 1;
        buckets += 1;
    }
    (buckets + 1) << SUB_BUCKET_HALF_MAGNITUDE
};
/// Where a value past every bin counts (HDR clamps it to the largest trackable value).
const CLAMPED_BIN: usize = bin_of(HIST_MAX_NS);

/// The HDR bin (counts index) of value `v`.
#[inline(always)]
const fn bin_of(v: u64) -> usize {
    let bucket = LEADING_ZERO_COUNT_BASE - (v | SUB_BUCKET_MASK).leading_zeros();
    let sub_bucket = v >> bucket;
    (((bucket as u64 + 1) << SUB_BUCKET_HALF_MAGNITUDE) + sub_bucket - SUB_BUCKET_HALF_COUNT) as usize
}

/// The lowest value of bin `i`.
fn lowest_in_bin(i: usize) -> u64 {
    let i = i as u64;
    let bucket = (i >> SUB_BUCKET_HALF_MAGNITUDE) as i64 - 1;
    let sub_bucket = (i & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if bucket < 0 { sub_bucket - SUB_BUCKET_HALF_COUNT } else { sub_bucket << bucket }
}

/// An empty HDR histogram of the bounds every latency uses.
pub fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_NS, 3).expect("valid histogram bounds")
}

/// The value at quantile `q` (0 to 1) in milliseconds, from nanoseconds; 0 when empty.
pub fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() { 0.0 } else { h.value_at_quantile(q) as f64 / 1e6 }
}

/// Latencies in nanoseconds, counted in HDR's bins.
#[derive(Clone, Debug)]
pub struct Latencies {
    counts: Box<[u64; BINS]>,
    total: u64,
}

impl Default for Latencies {
    fn default() -> Self {
        let counts = vec![0; BINS].into_boxed_slice().try_into().expect("BINS counts");
        Latencies { counts, total: 0 }
    }
}

impl Latencies {
    /// Counts one value; values past the last bin count as [`HIST_MAX_NS`].
    #[inline(always)]
    pub fn record(&mut self, ns: u64) {
        let bin = bin_of(ns);
        let bin = if bin < BINS { bin } else { CLAMPED_BIN };
        self.counts[bin] += 1;
        self.total += 1;
    }

    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The same values as an HDR histogram (exact, see the module's notes).
    pub fn to_hdr(&self) -> Histogram<u64> {
        let mut h = new_hist();
        for (i, &n) in self.counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            h.record_n(lowest_in_bin(i), n).expect("a bin's lowest value is in range");
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_layout_is_hdrs() {
        let h = new_hist();
        assert_eq!(BINS, h.distinct_values(), "one bin per HDR count");
        for v in [0, 1, 2047, 2048, 2049, 4095, 4096, 1_000_000, HIST_MAX_NS, HIST_MAX_NS + HIST_MAX_NS / 3] {
            assert_eq!(lowest_in_bin(bin_of(v)), h.lowest_equivalent(v), "bin of {v}");
        }
    }

    proptest! {
        /// Any values, from a nanosecond to past the largest: every figure read from the
        /// converted histogram equals the directly fed one's.
        #[test]
        fn reads_as_the_histogram_fed_value_by_value(values in proptest::collection::vec(prop_oneof![0u64..5_000, 0u64..10_000_000_000, 0u64..u64::MAX], 1..300)) {
            let mut direct = new_hist();
            let mut ours = Latencies::default();
            for &v in &values {
                direct.saturating_record(v);
                ours.record(v);
            }
            let converted = ours.to_hdr();
            prop_assert_eq!(converted.len(), direct.len());
            prop_assert_eq!(converted.max(), direct.max());
            prop_assert_eq!(converted.min(), direct.min());
            for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0] {
                prop_assert_eq!(converted.value_at_quantile(q), direct.value_at_quantile(q));
            }
            prop_assert_eq!(converted, direct);
        }
    }
}
