//! A model's takeaway with the run's numbers: the text its file gives, placeholders
//! filled, and each comparison it states checked on the run, as a walkthrough's claims
//! are. A model whose file gives none gets one line generated from its headline metric.

use super::format;
use super::headline;
use crate::metrics::{ModelSummary, Replicates, Unit};
use crate::scenario::takeaway::{Check, Factor, Operand, Piece, Takeaway};

/// An operand's value in each replication; NaN when the variant did not report it (so no
/// comparison with it holds).
fn replicates(s: &ModelSummary, o: &Operand) -> Replicates {
    match s.variants.iter().find(|v| v.name == o.variant) {
        Some(v) => v.replicates(o.metric.key, s.replications),
        None => Replicates::constant(f64::NAN, s.replications),
    }
}

/// A quantity as a sentence writes it: mean ± half-width and unit, or "n/a".
fn written(unit: Unit, r: &Replicates) -> String {
    if r.values().iter().any(|x| x.is_nan()) { "n/a".to_string() } else { format::estimate_with_unit(unit, &r.estimate()) }
}

/// The takeaway's text with the run's numbers (each with its 95% interval).
pub fn fill(t: &Takeaway, s: &ModelSummary) -> String {
    t.pieces
        .iter()
        .map(|p| match p {
            Piece::Text(text) => text.clone(),
            Piece::Value(o) => written(o.metric.unit, &replicates(s, o)),
        })
        .collect()
}

/// A checked comparison: what it says, with the run's numbers, and whether it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub text: String,
    pub holds: bool,
}

/// Each check of the takeaway, evaluated on the run: on the 95% interval of the paired
/// difference between its two sides (see [`Replicates::compare`]), not on one draw.
pub fn check(t: &Takeaway, s: &ModelSummary) -> Vec<Checked> {
    t.checks.iter().map(|c| evaluate(c, s)).collect()
}

/// How a comparison was decided, for a line beside the checks.
pub fn how_checked(s: &ModelSummary) -> String {
    if s.replications > 1 {
        format!(
            "Each comparison holds when it holds across the 95% interval of the difference between its two sides, taken replication by replication over the {} replications (which share random numbers); an equality when it holds in every replication.",
            s.replications
        )
    } else {
        "One replication: each comparison is decided on its one draw, without an interval.".to_string()
    }
}

fn evaluate(c: &Check, s: &ModelSummary) -> Checked {
    // A bare number is written in the unit of the metric it is compared with.
    let unit = c.left.iter().chain(&c.right).find_map(|f| if let Factor::Value(o) = f { Some(o.metric.unit) } else { None }).unwrap_or(Unit::Number);
    let side = |factors: &[Factor]| -> (Replicates, String) {
        let product = factors.iter().fold(Replicates::constant(1.0, s.replications), |acc, f| match f {
            Factor::Value(o) => acc * replicates(s, o),
            Factor::Number(x) => acc * *x,
        });
        let metrics = factors.iter().filter(|f| matches!(f, Factor::Value(_))).count();
        let words: Vec<String> = factors
            .iter()
            .map(|f| match f {
                Factor::Value(o) => format!("{} {} ({})", o.variant, o.metric.label, written(o.metric.unit, &replicates(s, o))),
                Factor::Number(x) if metrics > 0 => format!("{x}"),
                Factor::Number(x) => format::with_unit(unit, *x),
            })
            .collect();
        (product, words.join(" × "))
    };
    let ((a, left), (b, right)) = (side(&c.left), side(&c.right));
    Checked { text: format!("{left} {} {right}", c.comparison.symbol()), holds: a.compare(c.comparison, &b) }
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
            let e = v.metrics.get(metric.key).copied().unwrap_or(crate::metrics::Estimate { mean: 0.0, ci95: None, n: 0 });
            (e.mean, format::estimate_with_unit(metric.unit, &e), v.name.as_str())
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
    use crate::metrics::summary::testing::summary_of;
    use crate::scenario::takeaway::Comparison;

    fn op(v: &str, m: &'static crate::metrics::Metric) -> Operand {
        Operand { variant: v.into(), metric: m }
    }

    fn compare(left: Vec<Factor>, comparison: Comparison, right: Vec<Factor>) -> Check {
        Check { left, comparison, right }
    }

    #[test]
    fn numbers_are_filled_and_comparisons_checked() {
        let lost = c::CARTS_LOST.key;
        let s = summary_of(&[("memory", &[(lost, &[1218.0])]), ("db", &[(lost, &[0.0])])]);
        let t = Takeaway {
            pieces: vec![Piece::Text("lost ".into()), Piece::Value(op("memory", &c::CARTS_LOST)), Piece::Text(" carts".into())],
            checks: vec![
                compare(vec![Factor::Value(op("memory", &c::CARTS_LOST))], Comparison::Greater, vec![Factor::Number(1000.0)]),
                compare(vec![Factor::Value(op("db", &c::CARTS_ITEMS_LOST))], Comparison::Equal, vec![Factor::Number(0.0)]),
            ],
        };
        assert_eq!(fill(&t, &s), "lost 1,218 carts");
        let checked = check(&t, &s);
        assert_eq!(checked[0], Checked { text: "memory carts lost (1,218) > 1,000".into(), holds: true });
        // Not reported: never holds, not even == 0.
        assert!(!checked[1].holds && checked[1].text.contains("n/a"), "{:?}", checked[1]);
        assert!(how_checked(&s).starts_with("One replication"));
    }

    /// A check holds on the interval of its paired difference, not on one draw: one that
    /// only replication 0 bears out fails.
    #[test]
    fn a_check_that_holds_on_one_lucky_draw_fails() {
        let (lost, p99) = (c::CARTS_LOST.key, c::LATENCY_MS.p99.key);
        let s = summary_of(&[
            ("memory", &[(lost, &[1250.0, 900.0, 950.0, 1010.0, 880.0]), (p99, &[100.0, 140.0, 90.0, 120.0, 110.0])]),
            ("db", &[(lost, &[0.0; 5]), (p99, &[101.0, 141.5, 91.0, 121.0, 111.5])]),
        ]);
        let memory_lost = || vec![Factor::Value(op("memory", &c::CARTS_LOST))];
        let t = Takeaway {
            pieces: vec![Piece::Value(op("memory", &c::CARTS_LOST))],
            checks: vec![
                // Replication 0 (1,250) says so; the mean of five (998 ± 186) does not.
                compare(memory_lost(), Comparison::Greater, vec![Factor::Number(1000.0)]),
                // Every replication is far above 500.
                compare(memory_lost(), Comparison::Greater, vec![Factor::Number(500.0)]),
                // db's p99 is above memory's in every replication by 1 to 1.5 ms: the two
                // intervals overlap widely, their paired difference does not reach zero.
                compare(vec![Factor::Value(op("db", &c::LATENCY_MS.p99))], Comparison::Greater, vec![Factor::Value(op("memory", &c::LATENCY_MS.p99))]),
                compare(vec![Factor::Value(op("db", &c::CARTS_LOST))], Comparison::Equal, vec![Factor::Number(0.0)]),
                // A product: 1.1 x memory's p99 is above db's in every replication.
                compare(
                    vec![Factor::Number(1.1), Factor::Value(op("memory", &c::LATENCY_MS.p99))],
                    Comparison::Greater,
                    vec![Factor::Value(op("db", &c::LATENCY_MS.p99))],
                ),
            ],
        };
        let holds: Vec<bool> = check(&t, &s).iter().map(|c| c.holds).collect();
        assert_eq!(holds, [false, true, true, true, true]);
        assert_eq!(fill(&t, &s), "1,000 ± 190");
        assert!(check(&t, &s)[0].text.starts_with("memory carts lost (1,000 ± 190) > 1,000"));
        assert!(how_checked(&s).contains("95% interval of the difference between its two sides"));
    }
}
