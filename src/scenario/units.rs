//! Quantities with units, as model files write them: `"250us"`, `"15ms"`, `"10m"`,
//! `"2000/s"`. A number without a unit is an error: `15` could mean anything.

use crate::engine::{NANOS_PER_SEC, SimDuration};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A non-negative span of time written with a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration(pub SimDuration);

/// A size in bytes written with a unit: `"200KB"`, `"50MB"`, `"1.5GB"` (powers of 1000).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ByteSize(pub f64);

/// A bandwidth in bytes per second: `"45MB/s"`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bandwidth(pub f64);

pub const SIZE_HELP: &str = "write a number and a unit: \"800B\", \"200KB\", \"50MB\", \"2GB\"";
pub const BANDWIDTH_HELP: &str = "write bytes per second: \"45MB/s\", \"10MB/s\", \"1GB/s\"";

pub fn parse_size(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("\"{text}\" is not a size"));
    }
    let value: f64 = num.replace('_', "").parse().map_err(|_| format!("\"{num}\" is not a number"))?;
    let scale = match unit.trim() {
        "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "" => return Err(format!("the size \"{text}\" has no unit")),
        other => return Err(format!("unknown size unit \"{other}\" in \"{text}\"")),
    };
    if !(value * scale).is_finite() {
        return Err(format!("the size \"{text}\" is too large"));
    }
    Ok(value * scale)
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor { what: "size", help: SIZE_HELP, parse: |s| parse_size(s).map(ByteSize) })
    }
}

impl<'de> Deserialize<'de> for Bandwidth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            what: "bandwidth",
            help: BANDWIDTH_HELP,
            parse: |s| {
                let (size, per) = s.split_once('/').ok_or_else(|| format!("the bandwidth \"{s}\" has no \"/s\""))?;
                if per.trim() != "s" {
                    return Err(format!("write bandwidth per second, not per \"{per}\""));
                }
                let b = parse_size(size)?;
                if b <= 0.0 { Err(format!("the bandwidth \"{s}\" is zero")) } else { Ok(Bandwidth(b)) }
            },
        })
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> Cow<'static, str> {
        "ByteSize".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^[0-9][0-9_]*(\\.[0-9]+)?\\s*(B|KB|kB|MB|GB|TB)$", "description": "A size: \"200KB\", \"50MB\" (powers of 1000)." })
    }
}

impl JsonSchema for Bandwidth {
    fn schema_name() -> Cow<'static, str> {
        "Bandwidth".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^[0-9][0-9_]*(\\.[0-9]+)?\\s*(B|KB|kB|MB|GB|TB)/s$", "description": "Bytes per second: \"45MB/s\"." })
    }
}

/// A rate of events per unit time, written `"<number>/<unit>"`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_sec: f64,
}

const DURATION_UNITS: [(&str, f64); 9] =
    [("ns", 1.0), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("min", 60e9), ("h", 3600e9), ("d", 86400e9)];

pub const DURATION_HELP: &str = "write a number and a unit: \"250us\", \"15ms\", \"2s\", \"10m\", \"1h\" (units: ns, us, ms, s, m, h, d)";
pub const RATE_HELP: &str = "write events per unit time: \"2000/s\", \"0.8/s\", \"120/min\", \"3/h\"";

/// Parses `"15ms"`, `"1.5s"` or a compound such as `"2m30s"` into nanoseconds.
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!("the duration \"{text}\" is negative; durations are zero or more"));
    }
    if t.is_empty() {
        return Err("an empty duration".to_string());
    }
    let mut rest = t;
    let mut nanos = 0.0;
    while !rest.is_empty() {
        let split = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_')).unwrap_or(rest.len());
        let (num, after) = rest.split_at(split);
        if num.is_empty() {
            return Err(format!("\"{text}\" is not a duration"));
        }
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let unit = unit.trim();
        if unit.is_empty() {
            return Err(format!("the duration \"{text}\" has no unit"));
        }
        let value: f64 = num.replace('_', "").parse().map_err(|_| format!("\"{num}\" is not a number"))?;
        let scale = DURATION_UNITS.iter().find(|(u, _)| *u == unit).map(|(_, s)| *s).ok_or_else(|| format!("unknown time unit \"{unit}\" in \"{text}\""))?;
        nanos += value * scale;
        rest = next.trim_start();
    }
    if !nanos.is_finite() || nanos > 1e9 * 86400.0 * 366.0 * 100.0 {
        return Err(format!("the duration \"{text}\" is too long (at most 100 years)"));
    }
    Ok(SimDuration::from_nanos_f64(nanos))
}

/// Parses `"2000/s"` into events per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let (num, unit) = text.split_once('/').ok_or_else(|| format!("the rate \"{text}\" has no unit"))?;
    let value: f64 = num.trim().replace('_', "").parse().map_err(|_| format!("\"{}\" is not a number", num.trim()))?;
    if value < 0.0 || !value.is_finite() {
        return Err(format!("the rate \"{text}\" is negative or not finite"));
    }
    let per = match unit.trim() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        "d" | "day" => 86400.0,
        other => return Err(format!("unknown rate unit \"/{other}\" in \"{text}\"")),
    };
    Ok(value / per)
}

struct UnitVisitor<T> {
    what: &'static str,
    help: &'static str,
    parse: fn(&str) -> Result<T, String>,
}

impl<T> Visitor<'_> for UnitVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} as a string; {}", self.what, self.help)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(|m| E::custom(format!("{m}; {}", self.help)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Err(E::custom(format!("the {} {v} has no unit; {}", self.what, self.help)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Err(E::custom(format!("the {} {v} has no unit; {}", self.what, self.help)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Err(E::custom(format!("the {} {v} has no unit; {}", self.what, self.help)))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor { what: "duration", help: DURATION_HELP, parse: |s| parse_duration(s).map(Duration) })
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor { what: "rate", help: RATE_HELP, parse: |s| parse_rate(s).map(|per_sec| Rate { per_sec }) })
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^([0-9][0-9_]*(\\.[0-9]+)?\\s*(ns|us|µs|ms|s|m|min|h|d)\\s*)+$",
            "description": "A duration with a unit: \"250us\", \"15ms\", \"2s\", \"10m\", \"1h\", or a compound such as \"2m30s\".",
            "examples": ["15ms", "30s", "10m"]
        })
    }
}

impl JsonSchema for Rate {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9][0-9_]*(\\.[0-9]+)?\\s*/\\s*(s|sec|second|m|min|minute|h|hour|d|day)$",
            "description": "Events per unit time: \"2000/s\", \"0.8/s\", \"120/min\".",
            "examples": ["2000/s", "0.8/s"]
        })
    }
}

impl Duration {
    pub fn secs(self) -> f64 {
        self.0.0 as f64 / NANOS_PER_SEC as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250us").unwrap(), SimDuration(250_000));
        assert_eq!(parse_duration("15ms").unwrap(), SimDuration::from_millis(15));
        assert_eq!(parse_duration("1.5s").unwrap(), SimDuration(1_500_000_000));
        assert_eq!(parse_duration("10m").unwrap(), SimDuration::from_secs(600));
        assert_eq!(parse_duration("1h").unwrap(), SimDuration::from_secs(3600));
        assert_eq!(parse_duration("0s").unwrap(), SimDuration(0));
        assert_eq!(parse_duration("2m30s").unwrap(), SimDuration::from_secs(150));
        assert_eq!(parse_duration("1h 30m").unwrap(), SimDuration::from_secs(5400));
        assert!(parse_duration("15").unwrap_err().contains("no unit"));
        assert!(parse_duration("-5s").unwrap_err().contains("negative"));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unknown time unit"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("200KB").unwrap(), 200e3);
        assert_eq!(parse_size("1.5GB").unwrap(), 1.5e9);
        assert!(parse_size("12").unwrap_err().contains("no unit"));
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("2000/s").unwrap(), 2000.0);
        assert_eq!(parse_rate("120/min").unwrap(), 2.0);
        assert!(parse_rate("2000").is_err());
        assert!(parse_rate("-1/s").is_err());
    }
}
