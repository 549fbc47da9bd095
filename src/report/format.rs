//! How numbers are written for people: three significant digits, thousands separators,
//! and each catalog [`Unit`] written one way in the table, the charts, `index.html` and
//! the walkthroughs.

use crate::metrics::Unit;

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
