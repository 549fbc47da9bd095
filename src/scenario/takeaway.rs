//! A model's takeaway: the one or two sentences a reader should leave its section with,
//! written in the model file by someone who knows its point, with the run's numbers filled
//! in and its comparisons checked on the run.
//!
//! ```toml
//! takeaway = "Server memory logged out {sticky-memory:sessions.state_lost_share} of the active users; Redis {redis:sessions.state_lost_share}."
//! takeaway_checks = ["sticky-memory:sessions.state_lost_share > 0.07", "redis:carts.lost == 0"]
//! ```
//!
//! A placeholder `{VARIANT:KEY}` is the mean of catalog metric KEY in that variant,
//! written with its unit. A check compares two products of numbers and placeholders
//! (`a:k > 5 * b:k`) with `<`, `<=`, `>`, `>=` or `==`; the page shows each check with its
//! numbers and says so when one does not hold on the run (a `--set` can change what a
//! model shows). Both are read here, at load time, so a misspelt variant or metric is a
//! located problem of the file, not a blank on the page. Metrics are resolved to their
//! catalog declarations: nothing downstream sees a key as a string.

use super::diag::{Problem, nearest};
use crate::metrics::catalog::{self, Metric};
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// A metric of one variant, as a takeaway names it.
#[derive(Clone, Debug, PartialEq)]
pub struct Operand {
    pub variant: String,
    pub metric: &'static Metric,
}

/// A piece of a takeaway's text: words, or a metric to fill in.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Text(String),
    Value(Operand),
}

/// A factor of a check's side: a number or a metric.
#[derive(Clone, Debug, PartialEq)]
pub enum Factor {
    Number(f64),
    Value(Operand),
}

pub use crate::metrics::Comparison;

/// A comparison the takeaway states: the product of `left`'s factors against `right`'s.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub left: Vec<Factor>,
    pub comparison: Comparison,
    pub right: Vec<Factor>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Takeaway {
    pub pieces: Vec<Piece>,
    pub checks: Vec<Check>,
}

/// A problem at byte `at..at + len` of a string, before it is placed in the file.
struct Found {
    at: usize,
    len: usize,
    message: String,
    help: String,
}

/// Reads `VARIANT:KEY`.
fn operand(s: &str, variants: &[&str]) -> Result<Operand, (String, String)> {
    let Some((variant, key)) = s.split_once(':') else {
        return Err((format!("\"{s}\" is not VARIANT:METRIC"), "name a variant and a catalog metric, e.g. {redis:latency_ms.p99}".into()));
    };
    let (variant, key) = (variant.trim(), key.trim());
    if !variants.contains(&variant) {
        let hint = nearest(variant, variants.iter().copied()).map_or(String::new(), |n| format!("did you mean \"{n}\"? "));
        return Err((format!("the model has no variant \"{variant}\""), format!("{hint}variants: {}", variants.join(", "))));
    }
    match catalog::all().find(|m| m.key == key) {
        Some(metric) => Ok(Operand { variant: variant.to_string(), metric }),
        None => {
            let hint = nearest(key, catalog::all().map(|m| m.key)).map_or(String::new(), |n| format!("did you mean \"{n}\"? "));
            Err((format!("\"{key}\" is not a metric"), format!("{hint}the metrics are listed in the README and declared in src/metrics/catalog.rs")))
        }
    }
}

/// The text's pieces; a `{` opens a placeholder that a `}` closes.
fn pieces(text: &str, variants: &[&str]) -> Result<Vec<Piece>, Vec<Found>> {
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_string()));
        }
        let Some(close) = rest[open..].find('}') else {
            problems.push(Found {
                at: offset + open,
                len: rest.len() - open,
                message: "a placeholder is not closed".into(),
                help: "write {VARIANT:METRIC}, e.g. {redis:latency_ms.p99}".into(),
            });
            return Err(problems);
        };
        let inner = &rest[open + 1..open + close];
        match operand(inner, variants) {
            Ok(o) => out.push(Piece::Value(o)),
            Err((message, help)) => problems.push(Found { at: offset + open, len: close + 1, message, help }),
        }
        offset += open + close + 1;
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// Reads `SIDE OP SIDE`, a side being factors joined by `*`, every token apart.
fn check(text: &str, variants: &[&str]) -> Result<Check, Found> {
    let whole = |message: String| Found {
        at: 0,
        len: text.len(),
        message,
        help: "write two sides and a comparison, spaced: \"a:carts.lost > 10 * b:carts.lost\" (<, <=, >, >=, ==)".into(),
    };
    let ops =
        [("<=", Comparison::LessOrEqual), (">=", Comparison::GreaterOrEqual), ("==", Comparison::Equal), ("<", Comparison::Less), (">", Comparison::Greater)];
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let at_op: Vec<usize> = tokens.iter().enumerate().filter(|(_, t)| ops.iter().any(|(s, _)| s == *t)).map(|(i, _)| i).collect();
    let [i] = at_op[..] else {
        return Err(whole(format!("\"{text}\" has {} comparisons; a check has one", at_op.len())));
    };
    let comparison = ops.iter().find(|(s, _)| *s == tokens[i]).map(|(_, c)| *c).expect("an operator");
    let side = |tokens: &[&str]| -> Result<Vec<Factor>, Found> {
        if tokens.is_empty() || tokens.len().is_multiple_of(2) || tokens.iter().skip(1).step_by(2).any(|t| *t != "*") {
            return Err(whole(format!("\"{}\" is not a product like 2 * a:metric", tokens.join(" "))));
        }
        tokens
            .iter()
            .step_by(2)
            .map(|t| match t.replace('_', "").parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Factor::Number(x)),
                _ => operand(t, variants).map(Factor::Value).map_err(|(message, help)| {
                    let at = text.find(t).unwrap_or(0);
                    Found { at, len: t.len(), message, help }
                }),
            })
            .collect()
    };
    Ok(Check { left: side(&tokens[..i])?, comparison, right: side(&tokens[i + 1..])? })
}

/// The span of `needle` inside a value's source text, or the whole value's span.
fn place(source: &str, value: Range<usize>, needle: &str) -> Range<usize> {
    match source.get(value.clone()).and_then(|s| s.find(needle)) {
        Some(i) => value.start + i..value.start + i + needle.len(),
        None => value,
    }
}

/// The model's takeaway, read from its raw `takeaway` and `takeaway_checks` and checked
/// against its variants and the catalog; `root` and `source` locate problems in the file.
pub fn read(root: &DeTable, source: &str, text: Option<&str>, checks: &[String], variants: &[&str]) -> Result<Option<Takeaway>, Vec<Problem>> {
    let Some(text) = text else {
        return if checks.is_empty() {
            Ok(None)
        } else {
            Err(vec![
                Problem::at_path("takeaway_checks", "checks without a takeaway".into(), Some("add the takeaway = \"...\" they check".into()))
                    .with_span(root.get("takeaway_checks").map(|v| v.span())),
            ])
        };
    };
    let mut problems = Vec::new();
    let text_span = root.get("takeaway").map(|v| v.span());
    let pieces = pieces(text, variants).unwrap_or_else(|found| {
        for f in found {
            let needle = &text[f.at..f.at + f.len];
            let span = text_span.clone().map(|s| place(source, s, needle));
            problems.push(Problem::at_path("takeaway", f.message, Some(f.help)).with_span(span));
        }
        Vec::new()
    });
    let check_spans: Vec<Range<usize>> = match root.get("takeaway_checks").map(|v| v.get_ref()) {
        Some(DeValue::Array(a)) => a.iter().map(|v| v.span()).collect(),
        _ => Vec::new(),
    };
    let mut parsed = Vec::new();
    for (i, c) in checks.iter().enumerate() {
        match check(c, variants) {
            Ok(c) => parsed.push(c),
            Err(f) => {
                let needle = &c[f.at..f.at + f.len];
                let span = check_spans.get(i).map(|s| place(source, s.clone(), needle));
                problems.push(Problem::at_path(&format!("takeaway_checks[{i}]"), f.message, Some(f.help)).with_span(span));
            }
        }
    }
    if problems.is_empty() { Ok(Some(Takeaway { pieces, checks: parsed })) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARIANTS: &[&str] = &["redis", "jwt"];

    #[test]
    fn placeholders_and_checks_are_read() {
        let p = pieces("Redis took {redis:auth_ms.p50}, JWT {jwt:auth_ms.p50}.", VARIANTS).ok().unwrap();
        assert_eq!(p.len(), 5);
        assert_eq!(p[1], Piece::Value(Operand { variant: "redis".into(), metric: &catalog::AUTH_MS.p50 }));
        let c = check("redis:auth_ms.p50 > 100 * jwt:auth_ms.p50", VARIANTS).ok().unwrap();
        assert_eq!(c.comparison, Comparison::Greater);
        assert_eq!(c.right, vec![Factor::Number(100.0), Factor::Value(Operand { variant: "jwt".into(), metric: &catalog::AUTH_MS.p50 })]);
    }

    #[test]
    fn unknown_names_are_problems_with_a_suggestion() {
        let e = pieces("{redis:auth_ms.p5} and {jwtt:carts.lost}", VARIANTS).err().unwrap();
        assert_eq!(e.len(), 2);
        assert!(e[0].message.contains("\"auth_ms.p5\" is not a metric") && e[0].help.contains("did you mean \"auth_ms.p50\""), "{}", e[0].help);
        assert_eq!((e[1].at, e[1].len), (23, 17));
        assert!(e[1].help.contains("did you mean \"jwt\""));
        assert!(check("redis:carts.lost > jwt:carts.lost > 1", VARIANTS).is_err());
        assert!(check("redis:carts.lost 2", VARIANTS).is_err());
        assert!(check("redis:cart.lost == 0", VARIANTS).err().unwrap().message.contains("cart.lost"));
    }
}
