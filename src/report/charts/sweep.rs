//! Sweeps: a headline metric against the first swept parameter.

use super::Chart;
use super::style::*;
use crate::metrics::Estimate;
use crate::metrics::catalog::Metric;
use crate::sweep::{PointResult, SweepSpec};
use plotters::coord::Shift;
use plotters::prelude::*;

/// A headline metric against the first swept parameter, one line per variant (and per
/// value of any other swept parameter), with its 95% confidence band.
pub struct SweepLines<'a> {
    pub spec: &'a SweepSpec,
    pub points: &'a [PointResult],
    pub metric: &'static Metric,
}

/// The first axis's values when they grow by one constant factor of at least 1.5 (1, 2, 4,
/// 8, 16): drawn evenly spaced, as on a log scale, so the small values are not squeezed
/// into the first tenth of the axis.
fn geometric_grid(values: &[f64]) -> bool {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.len() < 3 || v[0] <= 0.0 {
        return false;
    }
    let ratios: Vec<f64> = v.windows(2).map(|w| w[1] / w[0]).collect();
    let (lo, hi) = ratios.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    lo >= 1.5 && hi / lo <= 1.05
}

impl SweepLines<'_> {
    /// The first axis's value of each point, if every one is a number.
    fn numbers(&self) -> Option<Vec<f64>> {
        let x_of = |p: &PointResult| p.sets.first().and_then(|s| s.split_once('=')).and_then(|(_, v)| v.trim_matches('"').parse::<f64>().ok());
        self.points.iter().map(x_of).collect()
    }

    /// Whether the x axis is a log scale (a geometric grid), drawn as evenly spaced values.
    fn log_x(&self) -> bool {
        self.numbers().is_some_and(|xs| geometric_grid(&xs))
    }

    /// A line for each variant x combination of the other axes: label and points.
    #[allow(clippy::type_complexity)]
    fn lines(&self) -> Vec<(String, Vec<(f64, Estimate)>)> {
        let axis = &self.spec.axes[0];
        let x_of = |p: &PointResult| p.sets.first().and_then(|s| s.split_once('=')).and_then(|(_, v)| v.trim_matches('"').parse::<f64>().ok());
        let numeric = self.points.iter().all(|p| x_of(p).is_some());
        // A geometric grid sits at its rank among the distinct values: log spacing.
        let ranks: Vec<f64> = {
            let mut v: Vec<f64> = self.numbers().unwrap_or_default();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        let log_x = self.log_x();
        let x_index = |p: &PointResult| {
            if log_x {
                x_of(p).and_then(|x| ranks.iter().position(|r| *r == x)).unwrap_or(0) as f64
            } else if numeric {
                x_of(p).unwrap_or(0.0)
            } else {
                axis.values.iter().position(|v| p.sets[0].ends_with(v.as_str())).unwrap_or(0) as f64
            }
        };
        let mut lines: Vec<(String, Vec<(f64, Estimate)>)> = Vec::new();
        for p in self.points {
            let rest = p.sets[1..].join(" ");
            for v in &p.variants {
                let label = if rest.is_empty() { v.name.clone() } else { format!("{} {rest}", v.name) };
                let e = v.metrics.get(self.metric.key).copied().unwrap_or(Estimate { mean: 0.0, ci95: None, n: 0 });
                match lines.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, pts)) => pts.push((x_index(p), e)),
                    None => lines.push((label, vec![(x_index(p), e)])),
                }
            }
        }
        lines
    }

    fn legend_rows(&self) -> u32 {
        let mut rows = 1;
        let mut x = 20;
        for (label, _) in self.lines() {
            let w = 34 + 8 * label.len() as i32;
            if x + w > WIDTH as i32 {
                x = 20;
                rows += 1;
            }
            x += w;
        }
        rows
    }
}

impl Chart for SweepLines<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_BAND + 400 + 12 + 22 * self.legend_rows())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
    where
        DB::ErrorType: 'static,
    {
        let axis = &self.spec.axes[0];
        let area =
            titled(root, &format!("{}: {} vs {}", self.spec.model, self.metric.axis_title(), axis.key), "mean over replications; shaded: 95% confidence band")?;
        let x_of = |p: &PointResult| p.sets.first().and_then(|s| s.split_once('=')).and_then(|(_, v)| v.trim_matches('"').parse::<f64>().ok());
        let log_x = self.log_x();
        let numeric = self.points.iter().all(|p| x_of(p).is_some()) && !log_x;
        let integers = numeric && self.points.iter().all(|p| x_of(p).is_some_and(|x| x.fract() == 0.0));
        let grid: Vec<f64> = {
            let mut v: Vec<f64> = self.numbers().unwrap_or_default();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        let lines = self.lines();
        let xs: Vec<f64> = lines.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x)).collect();
        let (x0, x1) = (xs.iter().copied().fold(f64::INFINITY, f64::min), xs.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        let pad = ((x1 - x0) * 0.05).max(0.5);
        let high = lines.iter().flat_map(|(_, p)| p.iter().map(|(_, e)| e.high() * display_scale(self.metric))).fold(0.0f64, f64::max);
        let top = if high > 0.0 { high * 1.1 } else { 1.0 };
        let (plot, legend) = area.split_vertically(400);
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .margin_right(20)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d((x0 - pad)..(x1 + pad), 0f64..top)?;
        house_mesh(&mut chart.configure_mesh())
            .x_desc(if log_x { format!("{} (log scale)", axis.key) } else { axis.key.clone() })
            .y_desc(self.metric.axis_title())
            .axis_desc_style(label_style())
            .x_label_formatter(&|x| {
                if log_x {
                    if (x - x.round()).abs() < 1e-9 { grid.get(x.round().max(0.0) as usize).map(|v| tick(*v, *v)).unwrap_or_default() } else { String::new() }
                } else if !numeric {
                    if (x - x.round()).abs() < 1e-9 { axis.values.get(x.round().max(0.0) as usize).cloned().unwrap_or_default() } else { String::new() }
                } else if integers {
                    if (x - x.round()).abs() < 1e-9 { format!("{x:.0}") } else { String::new() }
                } else {
                    tick(*x, x1 - x0)
                }
            })
            .y_label_formatter(&|y| tick(*y, top))
            .draw()?;
        for (k, (_, pts)) in lines.iter().enumerate() {
            let c = colour(k);
            let band: Vec<(f64, f64)> = pts
                .iter()
                .map(|(x, e)| (*x, e.high() * display_scale(self.metric)))
                .chain(pts.iter().rev().map(|(x, e)| (*x, e.low() * display_scale(self.metric))))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.2).filled())))?;
            let line: Vec<(f64, f64)> = pts.iter().map(|(x, e)| (*x, e.mean * display_scale(self.metric))).collect();
            variant_line(&mut chart, k, line, 3)?;
            chart.draw_series(pts.iter().map(|(x, e)| Circle::new((*x, e.mean * display_scale(self.metric)), 4, c.filled())))?;
        }
        let (mut x, mut y) = (20, 8);
        for (k, (label, _)) in lines.iter().enumerate() {
            let w = 34 + 8 * label.len() as i32;
            if x + w > WIDTH as i32 {
                x = 20;
                y += 22;
            }
            let name_x = key(&legend, k, (x, y + 8), true)?;
            legend.draw(&Text::new(label.clone(), (name_x, y + 8), left_centre(label_style())))?;
            x += w;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::geometric_grid;

    #[test]
    fn doubling_grids_are_drawn_on_a_log_axis() {
        assert!(geometric_grid(&[1.0, 2.0, 4.0, 8.0, 16.0]));
        assert!(geometric_grid(&[16.0, 4.0, 1.0, 4.0, 64.0]), "order and repeats (other axes, variants) do not matter");
        assert!(!geometric_grid(&[2.0, 4.0, 6.0, 8.0]), "an even grid stays linear");
        assert!(!geometric_grid(&[1.0, 2.0]), "two values say nothing");
        assert!(!geometric_grid(&[0.0, 1.0, 2.0, 4.0]), "zero has no log");
    }
}
