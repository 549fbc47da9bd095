//! The engine against queueing theory: each simulated figure of `statesim check` with its
//! 95% interval beside the analytic value.

use super::Chart;
use super::style::*;
use crate::check::CheckRow;
use crate::metrics::{Estimate, Unit};
use crate::report::format;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One row per figure, grouped under its case: the simulated mean (a dot) and its 95%
/// interval (a whisker) as a deviation from the analytic value, which is the dashed line
/// at zero; the two numbers written at the right. A figure whose interval misses the
/// analytic value is drawn in vermilion.
pub struct CheckChart<'a> {
    pub rows: &'a [CheckRow],
    pub words: CheckWords,
}

/// What the chart calls its two sides: theory against the engine for `statesim check`,
/// or the real testbed against the simulator's prediction.
pub struct CheckWords {
    pub title: &'static str,
    /// The subtitle's opening; "; K of N inside" follows.
    pub subtitle: String,
    /// The reference's column heading and the name of its dashed line.
    pub reference: &'static str,
    pub reference_line: &'static str,
    /// The estimate's column heading.
    pub estimate: &'static str,
    pub x_desc: &'static str,
}

impl CheckWords {
    /// `statesim check`'s words, for estimates over `reps` replications.
    pub fn theory(reps: usize) -> CheckWords {
        CheckWords {
            title: "The engine against queueing theory",
            subtitle: format!("statesim check: each figure's mean over {reps} replications (dot) and its 95% interval, against theory (dashed)"),
            reference: "analytic",
            reference_line: "theory: the analytic value",
            estimate: "simulated, 95%",
            x_desc: "simulated minus analytic, as a share of analytic (%)",
        }
    }
}

/// The height of a row (a figure, or a case's heading).
const ROW: u32 = 21;
/// Room at the left for the figures' names (at least; more for longer names), and at
/// the right for the numbers.
const LEFT: u32 = 120;
const RIGHT: u32 = 250;

/// A row of the chart: a case's heading or one of its figures.
enum Slot<'a> {
    Case(String),
    Figure(&'a CheckRow),
}

impl CheckChart<'_> {
    fn slots(&self) -> Vec<Slot<'_>> {
        let mut out = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            if i == 0 || self.rows[i - 1].model != r.model || self.rows[i - 1].case != r.case {
                out.push(Slot::Case(format!("{} ({})", r.case, r.model)));
            }
            out.push(Slot::Figure(r));
        }
        out
    }
}

/// A figure's deviation from its analytic value, in percent.
fn deviation(r: &CheckRow, x: f64) -> f64 {
    (x / r.analytic - 1.0) * 100.0
}

impl Chart for CheckChart<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_BAND + ROW + self.slots().len() as u32 * ROW + TIME_AXIS + 6)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
    where
        DB::ErrorType: 'static,
    {
        let inside = self.rows.iter().filter(|r| r.inside()).count();
        let w = &self.words;
        let area = titled(root, w.title, &format!("{}; {inside} of {} inside", w.subtitle, self.rows.len()))?;
        let (head, area) = area.split_vertically(ROW);
        let slots = self.slots();
        let n = slots.len() as f64;
        let reach = self
            .rows
            .iter()
            .filter(|r| r.analytic != 0.0)
            .flat_map(|r| [deviation(r, r.simulated.low()), deviation(r, r.simulated.high())])
            .filter(|d| d.is_finite())
            .fold(1.0f64, |a, d| a.max(d.abs()))
            * 1.15;
        // The figures' names take the room they need, at least LEFT.
        let longest = self.rows.iter().map(|r| text_width(root, r.figure, &label_style())).max().unwrap_or(0);
        let mut chart = ChartBuilder::on(&area)
            .margin_left(14)
            .margin_right(RIGHT)
            .margin_bottom(6)
            .x_label_area_size(TIME_AXIS - 4)
            .y_label_area_size(LEFT.max(longest + 20))
            .build_cartesian_2d(-reach..reach, 0f64..n)?;
        let ticks = |x: &f64| if *x == 0.0 { "0".to_string() } else { format!("{}{}%", if *x > 0.0 { "+" } else { "" }, tick(*x, reach)) };
        house_mesh(chart.configure_mesh().disable_y_mesh().y_labels(0).x_labels(7))
            .x_label_formatter(&ticks)
            .x_desc(w.x_desc)
            .axis_desc_style(label_style())
            .draw()?;
        chart.draw_series(DashedLineSeries::new(vec![(0.0, 0.0), (0.0, n)], 5, 4, REFERENCE.stroke_width(1)))?;
        let (left, _) = chart.backend_coord(&(-reach, n));
        let (right, _) = chart.backend_coord(&(reach, n));
        let (zero, _) = chart.backend_coord(&(0.0, n));
        // Column headings at the right, and theory's line named at the top.
        let (theory_x, simulated_x) = (right + 78, right + 96);
        head.draw(&Text::new(w.reference, (theory_x, ROW as i32 / 2 + 2), right_centre(heading_style())))?;
        head.draw(&Text::new(w.estimate, (simulated_x, ROW as i32 / 2 + 2), left_centre(heading_style())))?;
        head.draw(&Text::new(w.reference_line, (zero, ROW as i32 / 2 + 2), centre(note_style().color(&REFERENCE))))?;
        for (i, slot) in slots.iter().enumerate() {
            let y = n - i as f64 - 0.5;
            let (_, py) = chart.backend_coord(&(0.0, y));
            match slot {
                Slot::Case(title) => {
                    // On white, over the axis and theory's line.
                    let w = text_width(root, title, &heading_style()) as i32;
                    root.draw(&Rectangle::new([(10, py - 9), (14 + w + 6, py + 9)], WHITE.filled()))?;
                    root.draw(&Text::new(title.clone(), (14, py), left_centre(heading_style().color(&GREY))))?;
                }
                Slot::Figure(r) => {
                    let colour: &'static RGBColor = if r.inside() { &PALETTE[0] } else { &PALETTE[3] };
                    root.draw(&Text::new(r.figure.to_string(), (left - 10, py), right_centre(label_style())))?;
                    let e = r.simulated;
                    if e.ci95.is_some_and(|h| h > 0.0) {
                        whisker(&chart, deviation(r, e.low()), deviation(r, e.high()), y, true)?;
                    }
                    chart.draw_series(std::iter::once(Circle::new((deviation(r, e.mean), y), 4, colour.filled())))?;
                    // Theory to the digits the simulated interval is written to.
                    let analytic = format::estimate_parts(Unit::Number, &Estimate { mean: r.analytic, ..e }).0;
                    root.draw(&Text::new(analytic, (theory_x, py), right_centre(label_style())))?;
                    let simulated = format::estimate(Unit::Number, &e);
                    let note = if r.inside() { "" } else { " (outside)" };
                    root.draw(&Text::new(format!("{simulated}{note}"), (simulated_x, py), left_centre(label_style().color(colour))))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(model: &str, figure: &'static str, analytic: f64, mean: f64, half: f64) -> CheckRow {
        CheckRow { model: model.into(), case: format!("case {model}"), figure, analytic, simulated: Estimate { mean, ci95: Some(half), n: 20 } }
    }

    /// Every `cx` of the SVG's circles (plotters writes a dot as a `<circle>`).
    fn dots(svg: &str) -> Vec<f64> {
        svg.split("<circle ").skip(1).filter_map(|c| c.split("cx=\"").nth(1)?.split('"').next()?.parse().ok()).collect()
    }

    #[test]
    fn each_figure_is_a_dot_with_its_interval_beside_the_analytic_mark() {
        let rows = [
            row("mm1", "W (s)", 5.0, 5.05, 0.1),
            row("mm1", "Wq (s)", 4.0, 3.9, 0.2),
            // Its interval misses theory: drawn and written in vermilion, named outside.
            row("md1", "W (s)", 3.0, 3.3, 0.1),
        ];
        let chart = CheckChart { rows: &rows, words: CheckWords::theory(20) };
        let (svg, _) = crate::report::charts::render(&chart).unwrap();
        // The dashed line at zero deviation is theory's mark; each dot sits at its mean's
        // deviation, left or right of it as the mean is below or above theory.
        let zero: f64 = svg
            .split("<polyline ")
            .filter(|p| p.contains("stroke=\"#3C3C3C\""))
            .filter_map(|p| p.split("points=\"").nth(1)?.split(',').next()?.parse().ok())
            .next()
            .expect("theory's dashed line");
        let dots = dots(&svg);
        assert_eq!(dots.len(), 3);
        assert!(dots[0] > zero && dots[1] < zero && dots[2] > zero, "{dots:?} around {zero}");
        // +1% and -2.5% on one scale: the second dot is 2.5 times as far from theory.
        assert!(((zero - dots[1]) / (dots[0] - zero) - 2.5).abs() < 0.1, "{dots:?} around {zero}");
        for text in ["case mm1 (mm1)", "case md1 (md1)", "5.05 ± 0.10", "3.30 ± 0.10 (outside)", "2 of 3 inside"] {
            assert!(svg.contains(text), "{text}");
        }
        assert!(svg.contains("#D55E00"), "the figure outside its interval is marked");
    }
}
