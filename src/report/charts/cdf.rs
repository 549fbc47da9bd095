//! Latency distributions: a CDF per variant on a log time axis, and its tail.

use super::Chart;
use super::style::*;
use crate::metrics::catalog::Distribution;
use crate::metrics::{KeptRuns, ModelSummary, RunResult};
use crate::report::headline::value_of;
use crate::scenario::Model;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Whether at least two variants have a distribution's p50 above zero, with p99s more
/// than `factor` apart.
pub fn percentiles_differ(s: &ModelSummary, distribution: &Distribution, factor: f64) -> bool {
    let p99: Vec<f64> =
        (0..s.variants.len()).filter(|&v| value_of(s, v, &distribution.p50).unwrap_or(0.0) > 0.0).filter_map(|v| value_of(s, v, &distribution.p99)).collect();
    let lo = p99.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = p99.iter().copied().fold(0.0f64, f64::max);
    p99.len() >= 2 && hi > lo * factor
}

/// Latency CDFs per variant (replication 0) on a log time axis: the whole request and,
/// when `auth` is set, beside it the time spent checking the session or token. Each
/// variant's line has its colour and look (dashed, dotted past the palette's length).
pub struct LatencyCdf<'a> {
    pub model: &'a Model,
    pub runs: &'a KeptRuns,
    pub auth: bool,
}

const CDF_PLOT: u32 = 380;

impl LatencyCdf<'_> {
    fn legend_rows(&self) -> u32 {
        let per_row = (WIDTH as i32 - 40) / self.legend_width();
        (self.model.variants.len() as u32).div_ceil(per_row.max(1) as u32)
    }
    fn legend_width(&self) -> i32 {
        // Room for the longest name and a possible " (no check)".
        34 + 8 * self.model.variants.iter().map(|v| v.name.len() as i32).max().unwrap_or(8) + if self.auth { 88 } else { 0 }
    }
}

impl Chart for LatencyCdf<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_BAND + CDF_PLOT + 16 + 22 * self.legend_rows())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
    where
        DB::ErrorType: 'static,
    {
        let model = self.model;
        let what = if self.auth { "whole request, and time checking the session or token" } else { "whole request" };
        let area = titled(root, &model.title, &format!("{}: latency CDF per variant ({what}), replication 0", model.name))?;
        let (plots, legend) = area.split_vertically(CDF_PLOT);
        let first: Vec<Option<&RunResult>> = self.runs.variants.iter().map(|k| k.first.as_ref()).collect();
        type Pick = fn(&RunResult) -> &Vec<f64>;
        let mut panels: Vec<(&str, Pick)> = vec![("whole request", |r| &r.latency_quantiles_ms)];
        if self.auth {
            panels.push(("checking the session or token", |r| &r.auth_quantiles_ms));
        }
        let quantiles = crate::metrics::recorder::cdf_quantiles();
        for (panel, (label, pick)) in plots.split_evenly((1, panels.len())).iter().zip(&panels) {
            // Variants that measured anything above zero, and the decades their values span.
            let measured = |r: &RunResult| pick(r).last().is_some_and(|max| *max > 0.0);
            let values: Vec<f64> = first.iter().flatten().filter(|r| measured(r)).flat_map(|r| pick(r).iter().copied()).filter(|x| *x > 0.0).collect();
            let lo = 10f64.powf(values.iter().copied().fold(f64::INFINITY, f64::min).log10().floor());
            let hi = 10f64.powf(values.iter().copied().fold(0.0f64, f64::max).log10().ceil());
            // A little room past the outer decades, so their ticks are drawn.
            let (lo, hi) = if values.is_empty() { (0.001, 1.0) } else { (lo / 1.1, hi.max(lo * 10.0) * 1.1) };
            let decade = |x: f64| (x.log10() - x.log10().round()).abs() < 1e-6;
            let mut chart = ChartBuilder::on(panel)
                .margin(10)
                .margin_right(24)
                .x_label_area_size(44)
                .y_label_area_size(if panels.len() == 1 { 70 } else { 56 })
                .build_cartesian_2d((lo..hi).log_scale(), 0f64..1.0)?;
            house_mesh(&mut chart.configure_mesh())
                .x_desc(format!("{label} (ms, log scale)"))
                .y_desc("share of requests at most this slow")
                .axis_desc_style(label_style())
                .x_label_formatter(&|x| if decade(*x) { trim_zeros(&format!("{:.8}", 10f64.powf(x.log10().round()))) } else { String::new() })
                .y_labels(5)
                .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
                .light_line_style(RGBColor(245, 245, 245))
                .draw()?;
            // The first variant last, on top.
            for (v, run) in first.iter().enumerate().rev() {
                let Some(run) = run.filter(|r| measured(r)) else { continue };
                let line: Vec<(f64, f64)> = pick(run).iter().map(|x| x.max(lo)).zip(quantiles.iter().copied()).collect();
                variant_line(&mut chart, v, line, 2)?;
            }
        }
        let w = self.legend_width();
        let (mut x, mut y) = (20, 8);
        for (v, variant) in model.variants.iter().enumerate() {
            if x + w > WIDTH as i32 - 20 {
                x = 20;
                y += 22;
            }
            let name_x = key(&legend, v, (x, y + 8), true)?;
            // Without a session check there is nothing to plot on the right.
            let checks = !self.auth || first[v].is_some_and(|r| r.auth_quantiles_ms.last().is_some_and(|max| *max > 0.0));
            let name = if checks { variant.name.clone() } else { format!("{} (no check)", variant.name) };
            legend.draw(&Text::new(name, (name_x, y + 8), left_centre(label_style())))?;
            x += w;
        }
        Ok(())
    }
}

/// The tail of each variant's latency (replication 0): the share of requests slower than
/// each time, on log axes from p90 (10% slower) to p99.99 (0.01% slower), so p99 and
/// p99.9 get as much room as the median does on a CDF.
pub struct LatencyTail<'a> {
    pub model: &'a Model,
    pub runs: &'a KeptRuns,
}

/// The shares slower drawn: 10% (p90) down to 0.01% (p99.99).
const TAIL_SHARES: (f64, f64) = (1e-4, 0.1);

impl LatencyTail<'_> {
    /// Each variant's (latency ms, share slower) points in the tail.
    fn lines(&self) -> Vec<Option<Vec<(f64, f64)>>> {
        let quantiles = crate::metrics::recorder::cdf_quantiles();
        self.runs
            .variants
            .iter()
            .map(|k| {
                let r = k.first.as_ref()?;
                let pts: Vec<(f64, f64)> = r
                    .latency_quantiles_ms
                    .iter()
                    .zip(&quantiles)
                    .filter(|(x, q)| **q >= 0.9 - 1e-9 && **q < 1.0 && **x > 0.0)
                    .map(|(x, q)| (*x, (1.0 - q).max(TAIL_SHARES.0)))
                    .collect();
                (!pts.is_empty()).then_some(pts)
            })
            .collect()
    }
}

impl Chart for LatencyTail<'_> {
    fn size(&self) -> (u32, u32) {
        let per_row = ((WIDTH as i32 - 40) / (34 + 8 * self.model.variants.iter().map(|v| v.name.len() as i32).max().unwrap_or(8))).max(1) as u32;
        (WIDTH, TITLE_BAND + CDF_PLOT + 16 + 22 * (self.model.variants.len() as u32).div_ceil(per_row))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
    where
        DB::ErrorType: 'static,
    {
        let model = self.model;
        let area = titled(root, &model.title, &format!("{}: the latency tail per variant, from p90 to p99.99 (ok responses), replication 0", model.name))?;
        let (plot, legend) = area.split_vertically(CDF_PLOT);
        let lines = self.lines();
        let xs: Vec<f64> = lines.iter().flatten().flat_map(|l| l.iter().map(|(x, _)| *x)).collect();
        // The data's own range, not the decades around it.
        let (min, max) = (xs.iter().copied().fold(f64::INFINITY, f64::min), xs.iter().copied().fold(0.0f64, f64::max));
        let (lo, hi) = if xs.is_empty() { (0.001, 1.0) } else { (min / 1.25, (max * 1.25).max(min * 4.0)) };
        let decade = |x: f64| (x.log10() - x.log10().round()).abs() < 1e-6;
        // Ticks at 1, 2 and 5 times a power of ten.
        let round_tick = |x: f64| {
            let m = x / 10f64.powf(x.log10().floor());
            [1.0, 2.0, 5.0, 10.0].iter().any(|r| (m - r).abs() < 1e-6 * r)
        };
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .margin_right(24)
            .x_label_area_size(44)
            .y_label_area_size(110)
            .build_cartesian_2d((lo..hi).log_scale(), (TAIL_SHARES.0 * 0.9..TAIL_SHARES.1 * 1.1).log_scale())?;
        house_mesh(&mut chart.configure_mesh())
            .x_desc("whole request (ms, log scale)")
            .y_desc("share of requests slower (log scale)")
            .axis_desc_style(label_style())
            .x_labels(12)
            .x_label_formatter(&|x| if round_tick(*x) { tick(*x, *x) } else { String::new() })
            .y_label_formatter(&|y| {
                if !decade(*y) {
                    return String::new();
                }
                let share = 10f64.powf(y.log10().round());
                let pct = trim_zeros(&format!("{:.4}", share * 100.0));
                let p = trim_zeros(&format!("{:.4}", 100.0 - share * 100.0));
                format!("{pct}% (p{p})")
            })
            .light_line_style(RGBColor(245, 245, 245))
            .draw()?;
        // The first variant last, on top.
        for (v, line) in lines.iter().enumerate().rev() {
            if let Some(line) = line {
                variant_line(&mut chart, v, line.clone(), 2)?;
            }
        }
        let w = 34 + 8 * model.variants.iter().map(|v| v.name.len() as i32).max().unwrap_or(8);
        let (mut x, mut y) = (20, 8);
        for (v, variant) in model.variants.iter().enumerate() {
            if x + w > WIDTH as i32 - 20 {
                x = 20;
                y += 22;
            }
            let name_x = key(&legend, v, (x, y + 8), true)?;
            legend.draw(&Text::new(variant.name.clone(), (name_x, y + 8), left_centre(label_style())))?;
            x += w;
        }
        Ok(())
    }
}
