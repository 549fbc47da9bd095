//! Latency distributions: a CDF per variant on a log time axis, and its tail. Both are over
//! all responses: the share that were ok within each time, so a variant whose requests
//! failed levels off below 100% (and its tail above 0%) by the share that failed.

use super::Chart;
use super::style::*;
use crate::metrics::catalog::{self as c, Distribution};
use crate::metrics::{KeptRuns, ModelSummary, RunResult, Unit};
use crate::report::format;
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
///
/// The whole request's line is over every response, ok or failed: at each time the share
/// of responses that were ok within it. It reaches 100% only if nothing failed; a
/// variant with failures levels off at its ok share, carried to the right edge, and its
/// key names the share that failed.
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
        // Room for the longest name, a possible " (no check)" and " (12.3% failed)".
        let failures = self.runs.firsts().any(|r| ok_share_of_responses(r) < 1.0);
        34 + 8 * self.model.variants.iter().map(|v| v.name.len() as i32).max().unwrap_or(8) + if self.auth { 88 } else { 0 } + if failures { 112 } else { 0 }
    }
}

/// The share of a run's responses (ok or failed; not those in flight at the end) that were
/// ok: where its whole-request line levels off.
pub fn ok_share_of_responses(run: &RunResult) -> f64 {
    let get = |m: &c::Metric| run.metrics.get(m.key).copied().unwrap_or(0.0);
    let (ok, failed) = (get(&c::REQUESTS_OK), get(&c::REQUESTS_FAILED));
    if ok + failed > 0.0 { ok / (ok + failed) } else { 1.0 }
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
        // Each panel: its label, its values, the share of its population a line reaches
        // (for the whole request, the ok share of all responses), the y axis's words.
        type Reach = fn(&RunResult) -> f64;
        let mut panels: Vec<(&str, Pick, Reach, &str)> =
            vec![("whole request", |r| &r.latency_quantiles_ms, ok_share_of_responses, "share of all responses, ok within this time")];
        if self.auth {
            panels.push(("checking the session or token", |r| &r.auth_quantiles_ms, |_| 1.0, "share of checked requests at most this slow"));
        }
        let quantiles = crate::metrics::recorder::cdf_quantiles();
        for (panel, (label, pick, reach, y_desc)) in plots.split_evenly((1, panels.len())).iter().zip(&panels) {
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
                .y_desc(*y_desc)
                .axis_desc_style(label_style())
                .x_label_formatter(&|x| if decade(*x) { trim_zeros(&format!("{:.8}", 10f64.powf(x.log10().round()))) } else { String::new() })
                .y_labels(5)
                .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
                .light_line_style(RGBColor(245, 245, 245))
                .draw()?;
            // The first variant last, on top.
            for (v, run) in first.iter().enumerate().rev() {
                let Some(run) = run.filter(|r| measured(r)) else { continue };
                let share = reach(run);
                let mut line: Vec<(f64, f64)> = pick(run).iter().map(|x| x.max(lo)).zip(quantiles.iter().map(|q| q * share)).collect();
                if share < 1.0 {
                    // No more ok responses past the slowest: the line stays at the ok share.
                    line.push((hi, share));
                }
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
            let mut name = if checks { variant.name.clone() } else { format!("{} (no check)", variant.name) };
            if let Some(failed) = first[v].map(|r| 1.0 - ok_share_of_responses(r)).filter(|f| *f > 0.0) {
                name = format!("{name} ({} failed)", format::value(Unit::Share, failed));
            }
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

/// A variant's tail: its (latency ms, share not ok by then) points, and the failed share
/// it levels off at past its slowest ok response, if any failed.
type TailLine = (Vec<(f64, f64)>, Option<f64>);

/// The shares slower drawn: 10% (p90) down to 0.01% (p99.99); up to 100% when a
/// variant's failures alone are more than 10% of its responses, so its line is on the chart.
const TAIL_SHARES: (f64, f64) = (1e-4, 0.1);

impl LatencyTail<'_> {
    /// Each variant's (latency ms, share slower) points in the tail.
    /// The largest share slower drawn: 10%, or 100% when some variant failed more than that.
    fn top_share(&self) -> f64 {
        let failed_most = self.runs.firsts().map(|r| 1.0 - ok_share_of_responses(r)).fold(0.0f64, f64::max);
        if failed_most > TAIL_SHARES.1 { 1.0 } else { TAIL_SHARES.1 }
    }

    fn lines(&self) -> Vec<Option<TailLine>> {
        let quantiles = crate::metrics::recorder::cdf_quantiles();
        let top = self.top_share();
        self.runs
            .variants
            .iter()
            .map(|k| {
                let r = k.first.as_ref()?;
                // Of all responses, the share not ok within each time: a failed response
                // is never ok, so the tail levels off at the failed share.
                let ok_share = ok_share_of_responses(r);
                let pts: Vec<(f64, f64)> = r
                    .latency_quantiles_ms
                    .iter()
                    .zip(&quantiles)
                    .map(|(x, q)| (*x, 1.0 - q * ok_share))
                    .filter(|(x, slower)| *slower <= top + 1e-9 && *slower > 0.0 && *x > 0.0)
                    .map(|(x, slower)| (x, slower.max(TAIL_SHARES.0)))
                    .collect();
                // Past the slowest ok response the line stays at the failed share.
                let floor = (ok_share < 1.0).then_some((1.0 - ok_share).max(TAIL_SHARES.0));
                (!pts.is_empty()).then_some((pts, floor))
            })
            .collect()
    }
}

impl LatencyTail<'_> {
    /// Each variant's name in the key, with the share of its responses that failed.
    fn legend_names(&self) -> Vec<String> {
        self.model
            .variants
            .iter()
            .zip(&self.runs.variants)
            .map(|(variant, kept)| match kept.first.as_ref().map(|r| 1.0 - ok_share_of_responses(r)).filter(|f| *f > 0.0) {
                Some(failed) => format!("{} ({} failed)", variant.name, format::value(Unit::Share, failed)),
                None => variant.name.clone(),
            })
            .collect()
    }

    fn legend_width(names: &[String]) -> i32 {
        34 + 8 * names.iter().map(|n| n.chars().count() as i32).max().unwrap_or(8)
    }
}

impl Chart for LatencyTail<'_> {
    fn size(&self) -> (u32, u32) {
        let per_row = ((WIDTH as i32 - 40) / Self::legend_width(&self.legend_names())).max(1) as u32;
        (WIDTH, TITLE_BAND + CDF_PLOT + 16 + 22 * (self.model.variants.len() as u32).div_ceil(per_row))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
    where
        DB::ErrorType: 'static,
    {
        let model = self.model;
        let area = titled(
            root,
            &model.title,
            &format!(
                "{}: the latency tail per variant, from {} to p99.99 (all responses: a failed one is never ok), replication 0",
                model.name,
                if self.top_share() < 1.0 { "p90" } else { "the fastest" }
            ),
        )?;
        let (plot, legend) = area.split_vertically(CDF_PLOT);
        let lines = self.lines();
        let xs: Vec<f64> = lines.iter().flatten().flat_map(|(l, _)| l.iter().map(|(x, _)| *x)).collect();
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
            .build_cartesian_2d((lo..hi).log_scale(), (TAIL_SHARES.0 * 0.9..self.top_share() * 1.1).log_scale())?;
        house_mesh(&mut chart.configure_mesh())
            .x_desc("whole request (ms, log scale)")
            .y_desc("share of responses not ok by then (log scale)")
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
                if share >= 1.0 { format!("{pct}%") } else { format!("{pct}% (p{p})") }
            })
            .light_line_style(RGBColor(245, 245, 245))
            .draw()?;
        // The first variant last, on top.
        for (v, line) in lines.iter().enumerate().rev() {
            if let Some((line, floor)) = line {
                let mut line = line.clone();
                if let Some(floor) = floor {
                    line.push((hi, *floor));
                }
                variant_line(&mut chart, v, line, 2)?;
            }
        }
        let names = self.legend_names();
        let w = Self::legend_width(&names);
        let (mut x, mut y) = (20, 8);
        for (v, name) in names.into_iter().enumerate() {
            if x + w > WIDTH as i32 - 20 {
                x = 20;
                y += 22;
            }
            let name_x = key(&legend, v, (x, y + 8), true)?;
            legend.draw(&Text::new(name, (name_x, y + 8), left_centre(label_style())))?;
            x += w;
        }
        Ok(())
    }
}
