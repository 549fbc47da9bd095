//! Charts, drawn with plotters into memory as SVG and PNG, in one shared style.
//!
//! Text uses the DejaVu Sans font compiled into the binary (no system fonts needed).
//! Colours are the Okabe-Ito palette, which stays distinguishable with the common forms
//! of colour blindness. Every chart is drawn twice from the same code, once per backend.

use crate::components::web::RunResult;
use crate::metrics::{Estimate, ModelSummary};
use crate::scenario::model::FaultAction;
use crate::scenario::Model;
use crate::sweep::{PointResult, SweepSpec};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::error::Error;
use std::sync::Once;

type DrawResult = Result<(), Box<dyn Error>>;

const FONT: &str = "sans-serif";
static FONT_REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static FONT_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
static REGISTER: Once = Once::new();

fn register_fonts() {
    REGISTER.call_once(|| {
        assert!(register_font(FONT, FontStyle::Normal, FONT_REGULAR).is_ok(), "embedded font parses");
        assert!(register_font(FONT, FontStyle::Bold, FONT_BOLD).is_ok(), "embedded font parses");
    });
}

/// The Okabe-Ito palette, in the order variants take it.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(240, 228, 66),  // yellow
    RGBColor(0, 0, 0),       // black
];
const GREY: RGBColor = RGBColor(120, 120, 120);
const WIDTH: u32 = 960;

pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A chart that can draw itself on any plotters backend.
pub trait Chart {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Renders a chart as SVG text and PNG bytes.
pub fn render<C: Chart>(chart: &C) -> Result<(String, Vec<u8>), Box<dyn Error>> {
    register_fonts();
    let (w, h) = chart.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root)?;
        root.present()?;
    }
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        chart.draw(&root)?;
        root.present()?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&rgb)?;
    }
    Ok((svg, png_bytes))
}

fn title_style() -> TextStyle<'static> {
    (FONT, 22).into_font().style(FontStyle::Bold).into()
}
fn panel_style() -> TextStyle<'static> {
    (FONT, 16).into_font().into()
}
fn label_style() -> TextStyle<'static> {
    (FONT, 13).into_font().into()
}

/// The category name at a whole-number tick, nothing between ticks.
fn label_at(names: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 0.01 && i >= 0.0 && (i as usize) < names.len() { names[i as usize].clone() } else { String::new() }
}

/// Splits off a title band and returns the area below it.
fn titled<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, subtitle: &str) -> Result<DrawingArea<DB, Shift>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let (top, rest) = root.split_vertically(if subtitle.is_empty() { 40 } else { 60 });
    top.draw(&Text::new(title.to_string(), (14, 10), title_style()))?;
    if !subtitle.is_empty() {
        top.draw(&Text::new(subtitle.to_string(), (14, 38), label_style().color(&GREY)))?;
    }
    Ok(rest)
}

/// How a metric is labelled and scaled on a chart.
pub struct MetricAxis {
    pub key: &'static str,
    pub label: &'static str,
    /// Multiply values by this for display (100 for shares shown in %).
    pub scale: f64,
}

/// The metrics worth a panel, most telling first; a model gets those it has and that
/// differ between its variants.
pub const HEADLINE: &[MetricAxis] = &[
    MetricAxis { key: "sessions.logged_out_share", label: "users logged out (% of active)", scale: 100.0 },
    MetricAxis { key: "carts.items_lost", label: "cart items lost", scale: 1.0 },
    MetricAxis { key: "revocation.exposure_mean_s", label: "exposure after a ban, mean (s)", scale: 1.0 },
    MetricAxis { key: "revocation.exposure_max_s", label: "exposure after a ban, max (s)", scale: 1.0 },
    MetricAxis { key: "ratelimit.abuser_allowed_per_window", label: "abuser allowed per window", scale: 1.0 },
    MetricAxis { key: "ratelimit.abuser_max_sliding_window", label: "abuser, most in any window", scale: 1.0 },
    MetricAxis { key: "ratelimit.wrongly_rejected", label: "users under the limit rejected", scale: 1.0 },
    MetricAxis { key: "servers.routed_share_max", label: "busiest server's share (%)", scale: 100.0 },
    MetricAxis { key: "auth_ms.p50", label: "auth added, p50 (ms)", scale: 1.0 },
    MetricAxis { key: "latency_ms.p99", label: "latency p99 (ms)", scale: 1.0 },
    MetricAxis { key: "requests.failed", label: "failed requests", scale: 1.0 },
    MetricAxis { key: "carts.guest_writes_wasted", label: "DB writes on abandoned carts", scale: 1.0 },
    MetricAxis { key: "redis.utilisation", label: "Redis utilisation (%)", scale: 100.0 },
    MetricAxis { key: "servers.cpu_mean", label: "server CPU (%)", scale: 100.0 },
    MetricAxis { key: "queue_wait_ms.mean", label: "queue wait, mean (ms)", scale: 1.0 },
    MetricAxis { key: "latency_ms.p50", label: "latency p50 (ms)", scale: 1.0 },
];

/// Up to `max` headline metrics that this summary has and that differ across variants.
pub fn headline_metrics(s: &ModelSummary, max: usize) -> Vec<&'static MetricAxis> {
    let varies = |key: &str| {
        let vals: Vec<f64> = s.variants.iter().filter_map(|v| v.metrics.get(key).map(|e| e.mean)).collect();
        let max = vals.iter().copied().fold(0.0f64, |a, b| a.max(b.abs()));
        vals.len() == s.variants.len() && max > 0.0 && vals.iter().any(|x| (x - vals[0]).abs() > 0.02 * max)
    };
    let mut out: Vec<&'static MetricAxis> = HEADLINE.iter().filter(|m| varies(m.key)).take(max).collect();
    if out.is_empty() {
        out.push(&HEADLINE[9]);
    }
    out
}

/// Variants side by side on the headline metrics, one small panel per metric, with 95%
/// confidence whiskers when there are replications.
pub struct VariantBars<'a> {
    pub summary: &'a ModelSummary,
    pub metrics: Vec<&'static MetricAxis>,
}

impl Chart for VariantBars<'_> {
    fn size(&self) -> (u32, u32) {
        let rows = self.metrics.len().div_ceil(2) as u32;
        (WIDTH, 70 + rows * (70 + 26 * self.summary.variants.len() as u32))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let s = self.summary;
        let reps = if s.replications > 1 { format!("mean of {} replications, 95% intervals", s.replications) } else { "one replication".to_string() };
        let area = titled(root, &s.title, &format!("{}: the variants side by side (seed {}, {reps})", s.model, s.seed))?;
        let rows = self.metrics.len().div_ceil(2);
        let panels = area.split_evenly((rows, 2));
        let n = s.variants.len();
        // Top to bottom in model order: variant i sits at y = n - 1 - i.
        let names: Vec<String> = s.variants.iter().rev().map(|v| v.name.clone()).collect();
        let name_width = 16 + 7 * names.iter().map(|n| n.len()).max().unwrap_or(4) as u32;
        for (panel, metric) in panels.iter().zip(&self.metrics) {
            let values: Vec<Estimate> = s.variants.iter().map(|v| v.metrics.get(metric.key).copied().unwrap_or(Estimate { mean: 0.0, ci95: None, n: 0 })).collect();
            let top = values.iter().map(|e| e.high() * metric.scale).fold(0.0f64, f64::max).max(1e-9) * 1.15;
            let mut chart = ChartBuilder::on(panel)
                .caption(metric.label, panel_style())
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(name_width)
                .build_cartesian_2d(0f64..top, -0.5f64..n as f64 - 0.5)?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n + 1)
                .y_label_formatter(&|y| label_at(&names, *y))
                .y_label_style(label_style())
                .x_labels(5)
                .x_label_style(label_style())
                .x_label_formatter(&|x| crate::report::table::sig3(*x))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            chart.draw_series(values.iter().enumerate().map(|(i, e)| {
                let y = (n - 1 - i) as f64;
                Rectangle::new([(0.0, y - 0.35), (e.mean * metric.scale, y + 0.35)], colour(i).filled())
            }))?;
            chart.draw_series(values.iter().enumerate().filter(|(_, e)| e.ci95.is_some()).map(|(i, e)| {
                let y = (n - 1 - i) as f64;
                ErrorBar::new_horizontal(y, e.low() * metric.scale, e.mean * metric.scale, e.high() * metric.scale, BLACK.stroke_width(2), 10)
            }))?;
            // The value at the end of each bar, so small differences are readable.
            chart.draw_series(values.iter().enumerate().map(|(i, e)| {
                let y = (n - 1 - i) as f64;
                Text::new(crate::report::table::sig3(e.mean * metric.scale), (e.mean * metric.scale + top * 0.01, y + 0.25), label_style())
            }))?;
        }
        Ok(())
    }
}

/// Per-second throughput, errors and p99 of every variant (replication 0), with the
/// faults marked.
pub struct Timeline<'a> {
    pub model: &'a Model,
    pub runs: &'a [Vec<RunResult>],
}

impl Chart for Timeline<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 60 + self.panels() as u32 * 230 + 30)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, &self.model.title, &format!("{}: over time, per {} (replication 0; dashed lines: faults)", self.model.name, self.model.variants[0].system.run.timeseries_step))?;
        let k = self.panels();
        let (area, legend) = area.split_vertically(k as u32 * 230);
        let panels = area.split_evenly((k, 1));
        let step_s = self.model.variants[0].system.run.timeseries_step.as_secs_f64();
        type Pick = fn(&crate::components::web::SeriesRow, f64) -> f64;
        let mut series: Vec<(&str, Pick)> = vec![
            ("ok responses per second", |r, step| r.ok as f64 / step),
            ("failed requests per second", |r, step| r.failed as f64 / step),
            ("latency p99 (ms)", |r, _| r.latency_p99_ms),
        ];
        if k == 4 {
            series.push(("users logged out per second", |r, step| r.logouts as f64 / step));
        }
        let t_max = self.runs.iter().filter_map(|r| r.first()).flat_map(|r| r.series.last()).map(|r| r.t_s + step_s).fold(1.0f64, f64::max);
        let faults: Vec<(f64, String)> = self.model.variants[0]
            .system
            .faults
            .iter()
            .map(|f| {
                let what = match &f.action {
                    FaultAction::Kill { server, .. } => format!("kill server-{}", server + 1),
                    FaultAction::RedisDown { .. } => "Redis down".to_string(),
                    FaultAction::RedisSlow { .. } => "Redis slow".to_string(),
                };
                (f.at.as_secs_f64(), what)
            })
            .collect();
        for (panel, (label, pick)) in panels.iter().zip(series) {
            let top = self.runs.iter().filter_map(|r| r.first()).flat_map(|r| r.series.iter().map(|row| pick(row, step_s))).fold(0.0f64, f64::max).max(1e-9) * 1.1;
            let mut chart = ChartBuilder::on(panel).caption(label, panel_style()).margin(8).x_label_area_size(30).y_label_area_size(60).build_cartesian_2d(0f64..t_max, 0f64..top)?;
            chart
                .configure_mesh()
                .x_desc("simulated time (s)")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .x_label_style(label_style())
                .y_label_style(label_style())
                .y_label_formatter(&|y| crate::report::table::sig3(*y))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()?;
            for (t, _) in &faults {
                chart.draw_series(DashedLineSeries::new(vec![(*t, 0.0), (*t, top)], 6, 4, GREY.stroke_width(2)))?;
            }
            for (v, reps) in self.runs.iter().enumerate() {
                if let Some(run) = reps.first() {
                    chart.draw_series(LineSeries::new(run.series.iter().map(|r| (r.t_s + step_s / 2.0, pick(r, step_s))), colour(v).stroke_width(2)))?;
                }
            }
        }
        // Legend: one swatch per variant, then the faults.
        let mut x = 20;
        for (v, variant) in self.model.variants.iter().enumerate() {
            legend.draw(&Rectangle::new([(x, 10), (x + 18, 22)], colour(v).filled()))?;
            legend.draw(&Text::new(variant.name.clone(), (x + 24, 9), label_style()))?;
            x += 34 + 8 * variant.name.len() as i32;
        }
        for (t, what) in &faults {
            legend.draw(&Text::new(format!("| {what} at {t}s"), (x, 9), label_style().color(&GREY)))?;
            x += 30 + 8 * what.len() as i32;
        }
        Ok(())
    }
}

impl Timeline<'_> {
    /// Three panels, and a fourth for logouts when any variant logged anyone out.
    fn panels(&self) -> usize {
        let logouts = self.runs.iter().flat_map(|r| r.first()).any(|r| r.series.iter().any(|row| row.logouts > 0));
        if logouts { 4 } else { 3 }
    }
}

/// Grouped bars of one per-server metric (`server.<name>.<suffix>`) for every variant.
pub struct PerServer<'a> {
    pub summary: &'a ModelSummary,
    pub suffix: &'static str,
    pub label: &'static str,
}

impl Chart for PerServer<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 440)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let s = self.summary;
        let area = titled(root, &s.title, &format!("{}: {} per server", s.model, self.label))?;
        let servers: Vec<String> = s.variants[0].metrics.keys().filter_map(|k| k.strip_prefix("server.").and_then(|r| r.strip_suffix(&format!(".{}", self.suffix)))).map(String::from).collect();
        let mut servers = servers;
        servers.sort_by_key(|n| n.trim_start_matches("server-").parse::<u32>().unwrap_or(0));
        let n = servers.len().max(1);
        let nv = s.variants.len();
        let value = |v: usize, srv: &str| s.variants[v].metrics.get(&format!("server.{srv}.{}", self.suffix)).map_or(0.0, |e| e.mean * 100.0);
        let top = (0..nv).flat_map(|v| servers.iter().map(move |srv| (v, srv))).map(|(v, srv)| value(v, srv)).fold(0.0f64, f64::max).max(1e-9) * 1.15;
        let (plot, legend) = area.split_vertically(340);
        let mut chart = ChartBuilder::on(&plot).margin(8).x_label_area_size(30).y_label_area_size(60).build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n + 1)
            .x_label_formatter(&|x| label_at(&servers, *x))
            .x_label_style(label_style())
            .y_desc(format!("{} (%)", self.label))
            .y_label_style(label_style())
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        let width = 0.8 / nv as f64;
        for v in 0..nv {
            chart.draw_series(servers.iter().enumerate().map(|(i, srv)| {
                let x0 = i as f64 - 0.4 + v as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width * 0.9, value(v, srv))], colour(v).filled())
            }))?;
        }
        let mut x = 20;
        for (v, variant) in s.variants.iter().enumerate() {
            legend.draw(&Rectangle::new([(x, 12), (x + 18, 24)], colour(v).filled()))?;
            legend.draw(&Text::new(variant.name.clone(), (x + 24, 11), label_style()))?;
            x += 34 + 8 * variant.name.len() as i32;
        }
        Ok(())
    }
}

/// Percentiles of a latency (`<prefix>.p50/p90/p99/p999`) per variant, on a log scale.
pub struct Percentiles<'a> {
    pub summary: &'a ModelSummary,
    pub prefix: &'static str,
    pub label: &'static str,
}

impl Chart for Percentiles<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 150 + 34 * self.summary.variants.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let s = self.summary;
        let area = titled(root, &s.title, &format!("{}: {} per request (log scale): dot p50, bar p50 to p99.9, tick p99", s.model, self.label))?;
        let value = |v: usize, q: &str| s.variants[v].metrics.get(&format!("{}.{q}", self.prefix)).map_or(0.0, |e| e.mean);
        let n = s.variants.len();
        let all: Vec<f64> = (0..n).flat_map(|v| ["p50", "p999"].map(|q| value(v, q))).filter(|x| *x > 0.0).collect();
        let lo = all.iter().copied().fold(f64::INFINITY, f64::min).min(1.0) / 2.0;
        let hi = all.iter().copied().fold(0.0f64, f64::max).max(lo * 10.0) * 8.0;
        let names: Vec<String> = s.variants.iter().rev().map(|v| v.name.clone()).collect();
        let name_width = 16 + 7 * names.iter().map(|n| n.len()).max().unwrap_or(4) as u32;
        let mut chart = ChartBuilder::on(&area).margin(12).x_label_area_size(40).y_label_area_size(name_width).build_cartesian_2d((lo..hi).log_scale(), -0.5f64..n as f64 - 0.5)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n + 1)
            .y_label_formatter(&|y| label_at(&names, *y))
            .y_label_style(label_style())
            .x_desc(format!("{} (ms)", self.label))
            .x_label_style(label_style())
            .x_label_formatter(&|x| crate::report::table::sig3(*x))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        for v in 0..n {
            let y = (n - 1 - v) as f64;
            let (p50, p99, p999) = (value(v, "p50").max(lo), value(v, "p99").max(lo), value(v, "p999").max(lo));
            let c = colour(v);
            chart.draw_series(std::iter::once(PathElement::new(vec![(p50, y), (p999, y)], c.stroke_width(4))))?;
            chart.draw_series(std::iter::once(PathElement::new(vec![(p99, y - 0.25), (p99, y + 0.25)], BLACK.stroke_width(2))))?;
            chart.draw_series(std::iter::once(Circle::new((p50, y), 6, c.filled())))?;
            chart.draw_series(std::iter::once(Text::new(format!("p50 {}  p99 {}", crate::report::table::sig3(value(v, "p50")), crate::report::table::sig3(value(v, "p99"))), (p999 * 1.15, y + 0.2), label_style())))?;
        }
        Ok(())
    }
}

/// A headline metric against the first swept parameter, one line per variant (and per
/// value of any other swept parameter), with its 95% confidence band.
pub struct SweepLines<'a> {
    pub spec: &'a SweepSpec,
    pub points: &'a [PointResult],
    pub metric: &'static MetricAxis,
}

impl Chart for SweepLines<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 520)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let axis = &self.spec.axes[0];
        let area = titled(root, &format!("{}: {} vs {}", self.spec.model, self.metric.label, axis.key), "mean over replications; shaded: 95% confidence band")?;
        let x_of = |p: &PointResult| p.sets.first().and_then(|s| s.split_once('=')).and_then(|(_, v)| v.trim_matches('"').parse::<f64>().ok());
        let numeric = self.points.iter().all(|p| x_of(p).is_some());
        let integers = numeric && self.points.iter().all(|p| x_of(p).is_some_and(|x| x.fract() == 0.0));
        let x_index = |p: &PointResult| if numeric { x_of(p).unwrap_or(0.0) } else { axis.values.iter().position(|v| p.sets[0].ends_with(v.as_str())).unwrap_or(0) as f64 };
        // A line for each variant x combination of the other axes.
        let mut lines: Vec<(String, usize, Vec<(f64, Estimate)>)> = Vec::new();
        for p in self.points {
            let rest = p.sets[1..].join(" ");
            for (vi, v) in p.variants.iter().enumerate() {
                let label = if rest.is_empty() { v.name.clone() } else { format!("{} {rest}", v.name) };
                let e = v.metrics.get(self.metric.key).copied().unwrap_or(Estimate { mean: 0.0, ci95: None, n: 0 });
                match lines.iter_mut().find(|(l, _, _)| *l == label) {
                    Some((_, _, pts)) => pts.push((x_index(p), e)),
                    None => lines.push((label, vi, vec![(x_index(p), e)])),
                }
            }
        }
        let xs: Vec<f64> = lines.iter().flat_map(|(_, _, p)| p.iter().map(|(x, _)| *x)).collect();
        let (x0, x1) = (xs.iter().copied().fold(f64::INFINITY, f64::min), xs.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        let pad = ((x1 - x0) * 0.05).max(0.5);
        let top = lines.iter().flat_map(|(_, _, p)| p.iter().map(|(_, e)| e.high() * self.metric.scale)).fold(0.0f64, f64::max).max(1e-9) * 1.1;
        let (plot, legend) = area.split_vertically(400);
        let mut chart = ChartBuilder::on(&plot).margin(8).x_label_area_size(35).y_label_area_size(70).build_cartesian_2d((x0 - pad)..(x1 + pad), 0f64..top)?;
        chart
            .configure_mesh()
            .x_desc(axis.key.as_str())
            .y_desc(self.metric.label)
            .x_label_style(label_style())
            .y_label_style(label_style())
            .x_label_formatter(&|x| {
                if !numeric {
                    axis.values.get(x.round() as usize).cloned().unwrap_or_default()
                } else if integers {
                    if (x - x.round()).abs() < 1e-9 { format!("{x:.0}") } else { String::new() }
                } else {
                    crate::report::table::sig3(*x)
                }
            })
            .y_label_formatter(&|y| crate::report::table::sig3(*y))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        for (k, (_, _, pts)) in lines.iter().enumerate() {
            let c = colour(k);
            let band: Vec<(f64, f64)> = pts.iter().map(|(x, e)| (*x, e.high() * self.metric.scale)).chain(pts.iter().rev().map(|(x, e)| (*x, e.low() * self.metric.scale))).collect();
            chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.2).filled())))?;
            chart.draw_series(LineSeries::new(pts.iter().map(|(x, e)| (*x, e.mean * self.metric.scale)), c.stroke_width(3)))?;
            chart.draw_series(pts.iter().map(|(x, e)| Circle::new((*x, e.mean * self.metric.scale), 4, c.filled())))?;
        }
        let (mut x, mut y) = (20, 8);
        for (k, (label, _, _)) in lines.iter().enumerate() {
            let w = 34 + 7 * label.len() as i32;
            if x + w > WIDTH as i32 {
                x = 20;
                y += 22;
            }
            legend.draw(&Rectangle::new([(x, y + 2), (x + 18, y + 14)], colour(k).filled()))?;
            legend.draw(&Text::new(label.clone(), (x + 24, y), label_style()))?;
            x += w;
        }
        Ok(())
    }
}

/// The system drawn from its `petgraph` topology: columns from clients to back ends,
/// an arrow per hop, the hop's latency on the first arrow of each column pair.
pub struct TopologyPicture<'a> {
    pub title: &'a str,
    pub topology: &'a crate::components::Topology,
}

impl TopologyPicture<'_> {
    fn box_height(&self, n: petgraph::graph::NodeIndex) -> i32 {
        12 + 17 * self.topology.label(n).len() as i32
    }
}

impl Chart for TopologyPicture<'_> {
    fn size(&self) -> (u32, u32) {
        let tallest = self.topology.layers().iter().map(|l| l.iter().map(|&n| self.box_height(n) + 12).sum::<i32>()).max().unwrap_or(100);
        (WIDTH, (tallest + 110).max(260) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let area = titled(root, self.title, "the topology: nodes of the model's graph and the latency of each hop")?;
        let layers = self.topology.layers();
        let (w, h) = area.dim_in_pixel();
        let cols = layers.len() as i32;
        let box_w = 150;
        let gap = (w as i32 - 40 - cols * box_w) / (cols - 1).max(1);
        let mut pos = std::collections::HashMap::new();
        for (c, layer) in layers.iter().enumerate() {
            let total: i32 = layer.iter().map(|&n| self.box_height(n) + 12).sum();
            let mut y = ((h as i32 - total) / 2).max(4);
            let x = 20 + c as i32 * (box_w + gap);
            for &n in layer {
                let bh = self.box_height(n);
                pos.insert(n, (x, y, bh));
                y += bh + 12;
            }
        }
        let g = &self.topology.graph;
        let mut labelled = std::collections::HashSet::new();
        for e in g.edge_indices() {
            let (a, b) = g.edge_endpoints(e).expect("edge");
            let (&(ax, ay, ah), &(bx, by, bh)) = (&pos[&a], &pos[&b]);
            let from = (ax + box_w, ay + ah / 2);
            let to = (bx, by + bh / 2);
            area.draw(&PathElement::new(vec![from, to], GREY.stroke_width(1)))?;
            area.draw(&Polygon::new(vec![to, (to.0 - 8, to.1 - 4), (to.0 - 8, to.1 + 4)], GREY.filled()))?;
            let layer_pair = (layers.iter().position(|l| l.contains(&a)), layers.iter().position(|l| l.contains(&b)));
            if labelled.insert(layer_pair) {
                let text = crate::components::topology::describe(&g[e].latency);
                area.draw(&Text::new(text, (from.0 + 6, from.1 - 18), label_style().color(&GREY)))?;
            }
        }
        for (n, &(x, y, bh)) in &pos {
            let fill = match g[*n] {
                crate::components::topology::Node::Server { .. } => PALETTE[5].mix(0.25),
                crate::components::topology::Node::LoadBalancer { .. } => PALETTE[1].mix(0.35),
                crate::components::topology::Node::Redis | crate::components::topology::Node::Database { .. } => PALETTE[2].mix(0.3),
                _ => PALETTE[4].mix(0.25),
            };
            area.draw(&Rectangle::new([(x, y), (x + box_w, y + bh)], fill.filled()))?;
            area.draw(&Rectangle::new([(x, y), (x + box_w, y + bh)], BLACK.stroke_width(1)))?;
            for (i, line) in self.topology.label(*n).iter().enumerate() {
                area.draw(&Text::new(line.clone(), (x + 8, y + 6 + 17 * i as i32), label_style()))?;
            }
        }
        Ok(())
    }
}
