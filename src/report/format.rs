//! How numbers are written for people: three significant digits, thousands separators,
//! and each catalog [`Unit`] written one way in the table, the charts, `index.html` and
//! the walkthroughs.

use crate::metrics::{Estimate, Unit};

/// Three significant digits, without scientific notation for ordinary values; from
/// 10,000 up, the whole number with thousands separators.
pub fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    if x.abs() >= 10_000.0 {
        return group_thousands(x.round() as i64);
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}

/// Whole numbers with thousands separators: 1234567 -> "1,234,567".
pub fn group_thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A value as the table and the charts write it (`1,893`, `9.9%`, `158`); shares under
/// 0.05% keep three significant digits (`0.0360%`, not `0.0%`).
pub fn value(unit: Unit, x: f64) -> String {
    match unit {
        Unit::Count | Unit::PerSec | Unit::Bytes => group_thousands(x.round() as i64),
        Unit::Share if x > 0.0 && x < 0.0005 => format!("{}%", sig3(x * 100.0)),
        Unit::Share => format!("{:.1}%", x * 100.0),
        Unit::Ms | Unit::Secs | Unit::Megabytes | Unit::Number | Unit::Dollars => sig3(x),
    }
}

/// The same with its unit, for sentences (`158 ms`, `292 s`, `9.9%`).
pub fn with_unit(unit: Unit, x: f64) -> String {
    match unit {
        Unit::Ms => format!("{} ms", value(unit, x)),
        Unit::Secs => format!("{} s", value(unit, x)),
        Unit::Megabytes => format!("{} MB", value(unit, x)),
        Unit::Bytes => format!("{} bytes", value(unit, x)),
        Unit::Dollars => format!("${}", value(unit, x)),
        _ => value(unit, x),
    }
}

/// The decimal places that show a half-width `h > 0` to one significant digit, or two
/// when its first digit is 1 (`0.4`, `0.15`, `30`, `1,600`); negative for tens and up.
fn half_decimals(h: f64) -> i32 {
    let magnitude = h.log10().floor() as i32;
    let first = h / 10f64.powi(magnitude);
    let digits = if first < 2.0 { 2 } else { 1 };
    digits - 1 - magnitude
}

/// The decimal places [`value`] shows for `x` (already in percent for a share).
fn value_decimals(unit: Unit, x: f64) -> i32 {
    let sig3 = |x: f64| if x == 0.0 || x.abs() >= 10_000.0 { 0 } else { (2 - x.abs().log10().floor() as i32).max(0) };
    match unit {
        Unit::Count | Unit::PerSec | Unit::Bytes => 0,
        Unit::Share if x > 0.0 && x < 0.05 => sig3(x),
        Unit::Share => 1,
        Unit::Ms | Unit::Secs | Unit::Megabytes | Unit::Number | Unit::Dollars => sig3(x),
    }
}

/// `x` rounded to `decimals` places (tens, hundreds, ... when negative), with thousands
/// separators where [`value`] would write them.
fn fixed(unit: Unit, x: f64, decimals: i32) -> String {
    let x = if decimals < 0 { (x / 10f64.powi(-decimals)).round() * 10f64.powi(-decimals) } else { x };
    let d = decimals.max(0) as usize;
    let text = format!("{:.d$}", x.abs());
    let grouped = matches!(unit, Unit::Count | Unit::PerSec | Unit::Bytes) || x.abs() >= 10_000.0;
    let text = match text.split_once('.') {
        _ if !grouped => text,
        Some((whole, frac)) => format!("{}.{frac}", group_thousands(whole.parse::<i64>().unwrap_or(0))),
        None => group_thousands(text.parse::<i64>().unwrap_or(0)),
    };
    if x < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') { format!("-{text}") } else { text }
}

/// `x` rounded to `decimals` places in scientific notation (`2e-8`, `3.20e-6`), for
/// numbers whose digits start past the sixth decimal.
fn scientific(x: f64, decimals: i32) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    let digits = (x.abs().log10().floor() as i32 + decimals).max(0) as usize;
    format!("{x:.digits$e}")
}

/// An estimate as the table writes it: the mean and, with replications, its 95%
/// half-width, both to the decimal place of the half-width's first significant digit
/// (its first two when that is a 1): `12.3 ± 0.4`, `59.2% ± 0.2%`, `1,071,600 ± 1,600`.
/// No `±` with one replication, where every replication gave the same number, or where
/// the half-width is below the last digit [`value`] would show.
pub fn estimate(unit: Unit, e: &Estimate) -> String {
    match estimate_parts(unit, e) {
        (mean, Some(half)) => format!("{mean} ± {half}"),
        (mean, None) => mean,
    }
}

/// [`estimate`] as its two parts: the mean, and the half-width if it is shown (shares
/// with their `%`).
pub fn estimate_parts(unit: Unit, e: &Estimate) -> (String, Option<String>) {
    let scale = if unit == Unit::Share { 100.0 } else { 1.0 };
    let percent = if unit == Unit::Share { "%" } else { "" };
    match e.ci95 {
        Some(h) if h > 0.0 && h.is_finite() && e.mean.is_finite() => {
            let (m, h) = (e.mean * scale, h * scale);
            let decimals = half_decimals(h);
            if decimals > value_decimals(unit, m) + 1 {
                return (value(unit, e.mean), None);
            }
            let write = |x: f64| if decimals > 6 { scientific(x, decimals) } else { fixed(unit, x, decimals) };
            (format!("{}{percent}", write(m)), Some(format!("{}{percent}", write(h))))
        }
        _ => (value(unit, e.mean), None),
    }
}

/// The same with its unit, for sentences (`12.3 ± 0.4 ms`, `59.2% ± 0.2%`, `$0.586 ± 0.002`).
pub fn estimate_with_unit(unit: Unit, e: &Estimate) -> String {
    let (mean, half) = estimate_parts(unit, e);
    let both = match &half {
        Some(h) => format!("{mean} ± {h}"),
        None => mean.clone(),
    };
    match unit {
        Unit::Ms => format!("{both} ms"),
        Unit::Secs => format!("{both} s"),
        Unit::Megabytes => format!("{both} MB"),
        Unit::Bytes => format!("{both} bytes"),
        Unit::Dollars => format!("${both}"),
        _ => both,
    }
}

/// A difference (a paired one, from the baseline) with its sign, in the metric's unit
/// (shares in percentage points, without a `%`): `+12.3 ± 0.4`, `-0.71 ± 0.15`.
pub fn difference(unit: Unit, e: &Estimate) -> String {
    let (unit, e) = match unit {
        Unit::Share => (Unit::Number, Estimate { mean: e.mean * 100.0, ci95: e.ci95.map(|h| h * 100.0), n: e.n }),
        _ => (unit, *e),
    };
    let text = estimate(unit, &e);
    if e.mean > 0.0 { format!("+{text}") } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(sig3(1234.5678), "1235");
        assert_eq!(sig3(12.345), "12.3");
        assert_eq!(sig3(0.012345), "0.0123");
        assert_eq!(group_thousands(1234567), "1,234,567");
    }

    #[test]
    fn estimates_show_their_interval_to_its_first_digit() {
        let e = |mean: f64, h: Option<f64>| Estimate { mean, ci95: h, n: if h.is_some() { 5 } else { 1 } };
        assert_eq!(estimate(Unit::Ms, &e(12.34, Some(0.43))), "12.3 ± 0.4");
        assert_eq!(estimate_with_unit(Unit::Ms, &e(12.34, Some(0.43))), "12.3 ± 0.4 ms");
        assert_eq!(estimate(Unit::Ms, &e(61.5, Some(3.4))), "62 ± 3");
        assert_eq!(estimate(Unit::Ms, &e(0.449, Some(0.00375))), "0.449 ± 0.004");
        assert_eq!(estimate(Unit::Ms, &e(53.123, Some(0.0223))), "53.12 ± 0.02");
        assert_eq!(estimate(Unit::Ms, &e(53.123, Some(0.15))), "53.12 ± 0.15");
        assert_eq!(estimate(Unit::Share, &e(0.592, Some(0.0021))), "59.2% ± 0.2%");
        assert_eq!(estimate_with_unit(Unit::Share, &e(0.592, Some(0.0021))), "59.2% ± 0.2%");
        assert_eq!(estimate(Unit::Count, &e(1_071_572.4, Some(1645.0))), "1,071,600 ± 1,600");
        assert_eq!(estimate(Unit::Count, &e(5.6, Some(2.83))), "6 ± 3");
        assert_eq!(estimate(Unit::Count, &e(0.2, Some(0.44))), "0.2 ± 0.4");
        assert_eq!(estimate_with_unit(Unit::Dollars, &e(0.5863, Some(0.0017))), "$0.5863 ± 0.0017");
        // Digits that start past the sixth decimal, in scientific notation.
        assert_eq!(estimate(Unit::Secs, &e(2.3e-8, Some(5.1e-8))), "2e-8 ± 5e-8");
        assert_eq!(estimate(Unit::Secs, &e(3.2e-6, Some(4.6e-8))), "3.20e-6 ± 5e-8");
        // One replication, every replication the same, or an interval below the last digit
        // shown: no ±.
        assert_eq!(estimate(Unit::Ms, &e(12.34, None)), "12.3");
        assert_eq!(estimate(Unit::Count, &e(0.0, Some(0.0))), "0");
        assert_eq!(estimate(Unit::Share, &e(0.333, Some(1.66e-7))), "33.3%");
        assert_eq!(estimate(Unit::Share, &e(0.991, Some(0.000324))), "99.10% ± 0.03%");
        // Differences carry their sign; shares in percentage points.
        assert_eq!(difference(Unit::Ms, &e(-82.31, Some(3.32))), "-82 ± 3");
        assert_eq!(difference(Unit::Share, &e(0.012, Some(0.0031))), "+1.2 ± 0.3");
        assert_eq!(difference(Unit::Ms, &e(0.3, Some(0.0))), "+0.300");
    }

    #[test]
    fn units_write_one_way() {
        assert_eq!(value(Unit::Share, 0.0993), "9.9%");
        assert_eq!(value(Unit::Share, 0.00036), "0.0360%");
        assert_eq!(value(Unit::Share, 0.0), "0.0%");
        assert_eq!(value(Unit::Count, 1893.0), "1,893");
        assert_eq!(with_unit(Unit::Ms, 158.2), "158 ms");
        assert_eq!(with_unit(Unit::Share, 0.0993), "9.9%");
        assert_eq!(with_unit(Unit::Dollars, 0.585), "$0.585");
        assert_eq!(value(Unit::Number, 104_604.4), "104,604");
        assert_eq!(value(Unit::Number, 6166.0), "6166");
    }
}
