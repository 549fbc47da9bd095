//! A model's takeaway with the run's numbers: the text its file gives, placeholders
//! filled, and each comparison it states checked on the run, as a walkthrough's claims
//! are. A model whose file gives none gets one line generated from its headline metric.

use super::format;
use super::headline;
use crate::metrics::{ModelSummary, Unit};
use crate::scenario::takeaway::{Check, Factor, Operand, Piece, Takeaway};

/// The mean of an operand in the summary; NaN when the variant did not report it (so no
/// comparison with it holds).
fn value(s: &ModelSummary, o: &Operand) -> f64 {
    s.variants.iter().find(|v| v.name == o.variant).and_then(|v| v.metrics.get(o.metric.key)).map_or(f64::NAN, |e| e.mean)
}

fn written(unit: Unit, x: f64) -> String {
    if x.is_nan() { "n/a".to_string() } else { format::with_unit(unit, x) }
}

/// The takeaway's text with the run's numbers.
pub fn fill(t: &Takeaway, s: &ModelSummary) -> String {
    t.pieces
        .iter()
        .map(|p| match p {
            Piece::Text(text) => text.clone(),
            Piece::Value(o) => written(o.metric.unit, value(s, o)),
        })
        .collect()
}

/// A checked comparison: what it says, with the run's numbers, and whether it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub text: String,
    pub holds: bool,
}

/// Each check of the takeaway, evaluated on the run.
pub fn check(t: &Takeaway, s: &ModelSummary) -> Vec<Checked> {
    t.checks.iter().map(|c| evaluate(c, s)).collect()
}

fn evaluate(c: &Check, s: &ModelSummary) -> Checked {
    // A bare number is written in the unit of the metric it is compared with.
    let unit = c.left.iter().chain(&c.right).find_map(|f| if let Factor::Value(o) = f { Some(o.metric.unit) } else { None }).unwrap_or(Unit::Number);
    let side = |factors: &[Factor]| -> (f64, String) {
        let product = factors
            .iter()
            .map(|f| match f {
                Factor::Value(o) => value(s, o),
                Factor::Number(x) => *x,
            })
            .product();
        let metrics = factors.iter().filter(|f| matches!(f, Factor::Value(_))).count();
        let words: Vec<String> = factors
            .iter()
            .map(|f| match f {
                Factor::Value(o) => format!("{} {} ({})", o.variant, o.metric.label, written(o.metric.unit, value(s, o))),
                Factor::Number(x) if metrics > 0 => format!("{x}"),
                Factor::Number(x) => written(unit, *x),
            })
            .collect();
        (product, words.join(" × "))
    };
    let ((a, left), (b, right)) = (side(&c.left), side(&c.right));
    Checked { text: format!("{left} {} {right}", c.comparison.symbol()), holds: c.comparison.holds(a, b) }
}

/// One line with the run's own numbers for a model whose file gives no takeaway: the
/// measure of what users got on which the variants differ most, per variant (grouped
/// when many share a value).
pub fn generated(summary: &ModelSummary) -> String {
    let Some(metric) = headline::most_different(summary) else {
        return "The variants do not differ on the headline measures.".to_string();
    };
    let mut values: Vec<(f64, String, &str)> = summary
        .variants
        .iter()
        .map(|v| {
            let x = v.metrics.get(metric.key).map_or(0.0, |e| e.mean);
            (x, format::with_unit(metric.unit, x), v.name.as_str())
        })
        .collect();
    // The values carry their unit.
    let label = metric.label;
    if values.len() <= 4 {
        let parts: Vec<String> = values.iter().map(|(_, text, name)| format!("{name} {text}")).collect();
        return format!("{label}: {}.", parts.join("; "));
    }
    // Many variants: highest first, those showing the same number together.
    values.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (_, text, name) in &values {
        match groups.last_mut() {
            Some((t, names)) if t == text => names.push(name),
            _ => groups.push((text.clone(), vec![name])),
        }
    }
    let show = |(text, names): &(String, Vec<&str>), last: bool| {
        if names.len() <= 2 {
            format!("{} {text}", names.join(" and "))
        } else if last {
            format!("the other {} variants {text}", names.len())
        } else {
            format!("{} variants {text}", names.len())
        }
    };
    let mut parts: Vec<String> = Vec::new();
    let n = groups.len();
    for (i, g) in groups.iter().enumerate() {
        if n > 4 && i == 2 {
            parts.push("…".to_string());
        }
        if n <= 4 || i < 2 || i == n - 1 {
            parts.push(show(g, i == n - 1 && i > 0));
        }
    }
    format!("{label}: {}.", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog as c;
    use crate::metrics::{Estimate, VariantSummary};
    use crate::scenario::takeaway::Comparison;

    fn summary() -> ModelSummary {
        let variant = |name: &str, lost: f64| VariantSummary {
            name: name.into(),
            model_hash: "h".into(),
            metrics: [(c::CARTS_LOST.key.to_string(), Estimate { mean: lost, ci95: None, n: 1 })].into_iter().collect(),
            servers: Vec::new(),
            vs_baseline: None,
            per_replication: [(c::CARTS_LOST.key.to_string(), vec![lost])].into_iter().collect(),
        };
        ModelSummary {
            model: "m".into(),
            title: "t".into(),
            source: "m.toml".into(),
            statesim_version: "0".into(),
            seed: 1,
            replications: 1,
            variants: vec![variant("memory", 1218.0), variant("db", 0.0)],
        }
    }

    #[test]
    fn numbers_are_filled_and_comparisons_checked() {
        let s = summary();
        let op = |v: &str, m| Operand { variant: v.into(), metric: m };
        let t = Takeaway {
            pieces: vec![Piece::Text("lost ".into()), Piece::Value(op("memory", &c::CARTS_LOST)), Piece::Text(" carts".into())],
            checks: vec![
                Check { left: vec![Factor::Value(op("memory", &c::CARTS_LOST))], comparison: Comparison::Greater, right: vec![Factor::Number(1000.0)] },
                Check { left: vec![Factor::Value(op("db", &c::CARTS_ITEMS_LOST))], comparison: Comparison::Equal, right: vec![Factor::Number(0.0)] },
            ],
        };
        assert_eq!(fill(&t, &s), "lost 1,218 carts");
        let checked = check(&t, &s);
        assert_eq!(checked[0], Checked { text: "memory carts lost (1,218) > 1,000".into(), holds: true });
        // Not reported: never holds, not even == 0.
        assert!(!checked[1].holds && checked[1].text.contains("n/a"), "{:?}", checked[1]);
    }
}
