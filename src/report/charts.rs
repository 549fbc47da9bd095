//! Charts, drawn with plotters into memory as SVG and PNG, in one shared style.
//!
//! Text uses the DejaVu Sans font compiled into the binary (no system fonts needed).
//! Colours are the Okabe-Ito palette (without its yellow, too faint on white), which
//! stays distinguishable with the common forms of colour blindness. Every chart is drawn
//! twice from the same code, once per backend.
//!
//! The charts of a model:
//! - [`VariantBars`]: the variants side by side on the headline metrics, with 95%
//!   whiskers when there are replications;
//! - [`Timeline`]: one row per variant, one column per measure over time, each row with
//!   its own faults marked and the warm-up shaded;
//! - [`ServerShares`]: the share of requests each server got, one row per variant;
//! - [`LatencyCdf`]: the distribution of request latency (and of the session check)
//!   per variant, on a log axis;
//! - [`ExposureHistogram`]: how long each fired user kept getting in;
//! - [`TopologyPicture`]: the system drawn from its graph.

use crate::metrics::{Estimate, ModelSummary};
use crate::metrics::{RunResult, SeriesRow};
use crate::scenario::Model;
use crate::scenario::model::{Fault, FaultAction};
use crate::sweep::{PointResult, SweepSpec};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use std::error::Error;
use std::sync::Once;

type DrawResult = Result<(), Box<dyn Error>>;

/// The family every text uses: plotters looks the embedded font up by this name, and
/// the SVGs carry it as their CSS `font-family`, so a browser uses DejaVu Sans where it
/// has it and its own sans-serif elsewhere.
const FONT: &str = "DejaVu Sans, sans-serif";
static FONT_REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static FONT_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
static REGISTER: Once = Once::new();

fn register_fonts() {
    REGISTER.call_once(|| {
        assert!(register_font(FONT, FontStyle::Normal, FONT_REGULAR).is_ok(), "embedded font parses");
        assert!(register_font(FONT, FontStyle::Bold, FONT_BOLD).is_ok(), "embedded font parses");
    });
}

/// The Okabe-Ito palette in the order variants take it (its yellow left out: it
/// vanishes on white). Variants past the seventh reuse the colours; every chart names
/// each variant next to its marks, so colour is never the only key.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
];
/// Text of secondary importance, fault marks.
const GREY: RGBColor = RGBColor(100, 100, 100);
/// Grid lines and axes.
const GRID: RGBColor = RGBColor(225, 225, 225);
const AXIS: RGBColor = RGBColor(150, 150, 150);
/// Background of spans that are not ordinary running time (warm-up, a fault lasting).
const SPAN: RGBColor = RGBColor(238, 238, 238);
/// Width of every model chart, in pixels; readable scaled down to about 800.
pub const WIDTH: u32 = 900;

/// The colour of variant `i`.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The colour as CSS (`#0072b2`), for pages that show the same variants.
pub fn css_colour(i: usize) -> String {
    let RGBColor(r, g, b) = colour(i);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A chart that can draw itself on any plotters backend.
pub trait Chart {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Renders a chart as SVG text and PNG bytes, both in memory.
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
    let svg = svg_font_sizes(&svg);
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

/// plotters writes SVG font sizes as size / 1.24, while the PNG's glyphs get an em of
/// size / 1.164 (DejaVu's ascent minus descent); scale the SVG's to match, so text
/// takes the same room in both.
fn svg_font_sizes(svg: &str) -> String {
    const KEY: &str = "font-size=\"";
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(i) = rest.find(KEY) {
        let (head, tail) = rest.split_at(i + KEY.len());
        out.push_str(head);
        let end = tail.find('"').unwrap_or(0);
        match tail[..end].parse::<f64>() {
            Ok(size) => out.push_str(&format!("{:.2}", size * 1.24 / 1.164)),
            Err(_) => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------
// The shared style: fonts, titles, axes, number formats.

fn title_style() -> TextStyle<'static> {
    (FONT, 21, FontStyle::Bold).into_font().into()
}
fn heading_style() -> TextStyle<'static> {
    (FONT, 15, FontStyle::Bold).into_font().into()
}
fn label_style() -> TextStyle<'static> {
    (FONT, 13).into_font().into()
}
fn note_style() -> TextStyle<'static> {
    (FONT, 13).into_font().color(&GREY)
}
fn right_centre(style: TextStyle<'static>) -> TextStyle<'static> {
    style.pos(Pos::new(HPos::Right, VPos::Center))
}
fn left_centre(style: TextStyle<'static>) -> TextStyle<'static> {
    style.pos(Pos::new(HPos::Left, VPos::Center))
}
fn centre(style: TextStyle<'static>) -> TextStyle<'static> {
    style.pos(Pos::new(HPos::Center, VPos::Center))
}

const TITLE_BAND: u32 = 62;

/// Draws the title and a grey line under it; returns the area below.
fn titled<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, subtitle: &str) -> Result<DrawingArea<DB, Shift>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let (top, rest) = root.split_vertically(TITLE_BAND);
    top.draw(&Text::new(title.to_string(), (14, 10), title_style()))?;
    top.draw(&Text::new(subtitle.to_string(), (14, 39), note_style()))?;
    Ok(rest)
}

/// A number for an axis tick: as few digits as the range needs, thousands as `k`.
pub fn tick(x: f64, range: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if x.abs() >= 1e6 && range >= 1e6 {
        return format!("{}M", trim_zeros(&format!("{:.2}", x / 1e6)));
    }
    if x.abs() >= 1e3 && range >= 1e4 {
        return format!("{}k", trim_zeros(&format!("{:.1}", x / 1e3)));
    }
    let decimals = (2 - range.abs().max(1e-12).log10().floor() as i32).clamp(0, 8) as usize;
    trim_zeros(&format!("{x:.decimals$}"))
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
}

/// Whole numbers with thousands separators.
pub fn group_thousands(x: f64) -> String {
    crate::report::table::group_thousands(x.round() as i64)
}

/// How the values of a metric are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A whole number of things: `1,893`.
    Count,
    /// A fraction shown in percent: `9.9%`.
    Share,
    /// Milliseconds, three significant digits.
    Ms,
    /// Seconds, three significant digits.
    Secs,
    /// A plain number, three significant digits.
    Number,
}

impl Unit {
    /// A value as the comparison table writes it (`1,893`, `9.9%`, `158`), except that
    /// shares under 0.1% keep three significant digits (`0.0360%`, not `0.0%`).
    pub fn format(self, x: f64) -> String {
        match self {
            Unit::Count => group_thousands(x),
            Unit::Share if x > 0.0 && x < 0.0005 => format!("{}%", crate::report::table::sig3(x * 100.0)),
            Unit::Share => format!("{:.1}%", x * 100.0),
            Unit::Ms | Unit::Secs | Unit::Number => crate::report::table::sig3(x),
        }
    }
    /// The same with its unit, for sentences (`158 ms`, `292 s`).
    pub fn format_with_unit(self, x: f64) -> String {
        match self {
            Unit::Ms => format!("{} ms", self.format(x)),
            Unit::Secs => format!("{} s", self.format(x)),
            _ => self.format(x),
        }
    }
    /// A difference too small to notice, for ranking which metric differs most.
    fn noticeable(self, sent: f64) -> f64 {
        match self {
            Unit::Count => (sent * 1e-3).max(1.0),
            Unit::Share => 0.005,
            Unit::Ms => 1.0,
            Unit::Secs => 1.0,
            Unit::Number => 1.0,
        }
    }
}

/// How a metric is labelled and scaled on a chart.
pub struct MetricAxis {
    pub key: &'static str,
    pub label: &'static str,
    /// Multiply values by this for display (100 for shares shown in %).
    pub scale: f64,
    pub unit: Unit,
    /// Whether it says what users got (and so may make the one-line takeaway), rather
    /// than what it cost the system.
    pub outcome: bool,
}

const fn metric(key: &'static str, label: &'static str, unit: Unit, outcome: bool) -> MetricAxis {
    let scale = if matches!(unit, Unit::Share) { 100.0 } else { 1.0 };
    MetricAxis { key, label, scale, unit, outcome }
}

/// What each model's own story is about, most telling first; a model gets those it has
/// and that differ between its variants.
pub const HEADLINE: &[MetricAxis] = &[
    metric("sessions.logged_out_share", "users logged out (% of active)", Unit::Share, true),
    metric("carts.lost", "carts lost", Unit::Count, true),
    metric("files.lost", "uploaded files lost", Unit::Count, true),
    metric("reads.not_found_share", "file reads not found (%)", Unit::Share, true),
    metric("page_latency_ms.p99", "page latency p99 (ms)", Unit::Ms, true),
    metric("jobs.lost", "jobs lost", Unit::Count, true),
    metric("jobs.completed_after_client_left", "job results nobody received", Unit::Count, true),
    metric("jobs.run_twice", "jobs run twice", Unit::Count, true),
    metric("jobs.cpu_wasted_s", "CPU wasted on jobs (s)", Unit::Number, false),
    metric("servers.threads_held_mean", "server threads held, mean", Unit::Number, false),
    metric("uploads.server_mb", "MB uploaded through the servers", Unit::Number, false),
    metric("ws.delivered_share", "messages delivered (%)", Unit::Share, true),
    metric("ws.reconnects_peak_per_s", "peak reconnects per second", Unit::Count, true),
    metric("ws.pubsub_receipts_per_message", "pub/sub pushes per message", Unit::Number, false),
    metric("deploy.sessions_lost", "sessions lost in the deploy", Unit::Count, true),
    metric("deploy.duration_s", "deploy duration (s)", Unit::Secs, false),
    metric("fleet.cost_per_hour", "cost per hour", Unit::Number, false),
    metric("fleet.spot_interruptions", "spot interruptions", Unit::Count, true),
    metric("revocation.exposure_mean_s", "exposure after a ban, mean (s)", Unit::Secs, true),
    metric("revocation.exposure_max_s", "exposure after a ban, max (s)", Unit::Secs, true),
    metric("ratelimit.abuser_allowed_per_window", "abuser allowed per window", Unit::Number, true),
    metric("ratelimit.abuser_max_sliding_window", "abuser, most in any window", Unit::Count, true),
    metric("ratelimit.wrongly_rejected", "users under the limit rejected", Unit::Count, true),
    metric("carts.guest_writes_wasted", "DB writes on abandoned carts", Unit::Count, false),
    metric("database.writes", "database writes", Unit::Count, false),
    metric("servers.routed_share_max", "busiest server's share (%)", Unit::Share, false),
    metric("auth_ms.p50", "auth added, p50 (ms)", Unit::Ms, true),
    metric("redis.utilisation", "Redis utilisation (%)", Unit::Share, false),
    metric("servers.cpu_mean", "server CPU (%)", Unit::Share, false),
    metric("queue_wait_ms.mean", "queue wait, mean (ms)", Unit::Ms, false),
];

/// Shown for every model: what every user feels.
pub const ALWAYS: &[MetricAxis] =
    &[metric("latency_ms.p99", "latency p99 (ms)", Unit::Ms, true), metric("requests.failed", "failed requests", Unit::Count, true)];

fn value_of(s: &ModelSummary, v: usize, key: &str) -> Option<f64> {
    s.variants[v].metrics.get(key).map(|e| e.mean).filter(|x| x.is_finite())
}

/// Whether a metric is present and differs across the variants by more than 2% of its
/// largest value (shares: and by at least 0.1 percentage point).
fn differs(s: &ModelSummary, key: &str) -> bool {
    let vals: Vec<f64> = (0..s.variants.len()).map(|v| value_of(s, v, key).unwrap_or(0.0)).collect();
    let present = (0..s.variants.len()).any(|v| value_of(s, v, key).is_some());
    let max = vals.iter().copied().fold(0.0f64, |a, b| a.max(b.abs()));
    let spread = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max) - vals.iter().copied().fold(f64::INFINITY, f64::min);
    let share = HEADLINE.iter().chain(ALWAYS).any(|m| m.key == key && m.unit == Unit::Share);
    present && max > 0.0 && spread > 0.02 * max && (!share || spread >= 0.001)
}

/// The panels of the side-by-side chart: up to `max` of the model's own metrics that
/// differ between its variants, then p99 latency and failed requests.
/// A panel that repeats another's numbers (page latency is all the latency there is
/// when no long request completes) is left out, and another of the model's own takes
/// its place.
pub fn panel_metrics(s: &ModelSummary, max: usize) -> Vec<&'static MetricAxis> {
    let values = |m: &MetricAxis| (0..s.variants.len()).map(|v| value_of(s, v, m.key)).collect::<Vec<_>>();
    let always: Vec<&'static MetricAxis> = ALWAYS.iter().filter(|m| s.variants.iter().any(|v| v.metrics.contains_key(m.key))).collect();
    let own: Vec<&'static MetricAxis> = HEADLINE.iter().filter(|m| differs(s, m.key)).collect();
    let repeated = always.iter().filter(|a| own.iter().take(max).any(|m| values(m) == values(a))).count();
    let mut out: Vec<&'static MetricAxis> = own.into_iter().take(max + repeated).collect();
    let kept: Vec<&'static MetricAxis> = always.into_iter().filter(|a| !out.iter().any(|m| values(m) == values(a))).collect();
    out.extend(kept);
    out
}

/// Up to `max` metrics that this summary has and that differ across variants, the
/// model's own first (p99 latency when none differ).
pub fn headline_metrics(s: &ModelSummary, max: usize) -> Vec<&'static MetricAxis> {
    let mut out: Vec<&'static MetricAxis> = HEADLINE.iter().chain(ALWAYS).filter(|m| differs(s, m.key)).take(max).collect();
    if out.is_empty() {
        out.push(&ALWAYS[0]);
    }
    out
}

/// The measure of what users got on which the variants differ most: the ratio of the
/// largest value to the smallest, each plus a difference too small to notice.
pub fn most_different(s: &ModelSummary) -> Option<&'static MetricAxis> {
    let sent = value_of(s, 0, "requests.sent").unwrap_or(0.0);
    let scored: Vec<(&'static MetricAxis, f64)> = HEADLINE
        .iter()
        .chain(ALWAYS)
        .filter(|m| m.outcome && differs(s, m.key))
        .map(|m| {
            let vals: Vec<f64> = (0..s.variants.len()).map(|v| value_of(s, v, m.key).unwrap_or(0.0).abs()).collect();
            let eps = m.unit.noticeable(sent);
            let hi = vals.iter().copied().fold(0.0f64, f64::max);
            let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
            (m, ((hi + eps) / (lo + eps)).ln())
        })
        .filter(|(_, r)| *r > 0.05)
        .collect();
    // Ratios of the same order count as a tie, which the model's own measures win.
    let best = scored.iter().map(|(_, r)| *r).fold(0.0f64, f64::max);
    scored.into_iter().find(|(_, r)| *r >= 0.8 * best).map(|(m, _)| m)
}

fn estimate(s: &ModelSummary, v: usize, key: &str) -> Estimate {
    s.variants[v].metrics.get(key).copied().filter(|e| e.mean.is_finite()).unwrap_or(Estimate { mean: 0.0, ci95: None, n: 0 })
}

fn text_width<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, style: &TextStyle) -> u32 {
    area.estimate_text_size(text, style).map(|(w, _)| w).unwrap_or(8 * text.len() as u32)
}

/// A 95% interval from `low` to `high` at `at` on the other axis, with end caps:
/// horizontal (values on x) or vertical.
fn whisker<DB: DrawingBackend>(
    chart: &ChartContext<DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    low: f64,
    high: f64,
    at: f64,
    horizontal: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let area = chart.plotting_area();
    let point = |v: f64| if horizontal { chart.backend_coord(&(v, at)) } else { chart.backend_coord(&(at, v)) };
    let (a, b) = (point(low), point(high));
    let (ox, oy) = area.get_base_pixel();
    let rel = |(x, y): (i32, i32)| (x - ox, y - oy);
    let (a, b) = (rel(a), rel(b));
    let cap = |p: (i32, i32)| if horizontal { vec![(p.0, p.1 - 5), (p.0, p.1 + 5)] } else { vec![(p.0 - 5, p.1), (p.0 + 5, p.1)] };
    let pixels = area.strip_coord_spec();
    let style = BLACK.stroke_width(1);
    pixels.draw(&PathElement::new(vec![a, b], style))?;
    pixels.draw(&PathElement::new(cap(a), style))?;
    pixels.draw(&PathElement::new(cap(b), style))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// (a) The variants side by side.

/// Variants side by side on the headline metrics, one small panel per metric, with 95%
/// confidence whiskers when there are replications.
pub struct VariantBars<'a> {
    pub summary: &'a ModelSummary,
    pub metrics: Vec<&'static MetricAxis>,
}

impl VariantBars<'_> {
    fn bar_height(&self) -> u32 {
        if self.summary.variants.len() <= 5 { 28 } else { 21 }
    }
    fn panel_height(&self) -> u32 {
        64 + self.bar_height() * self.summary.variants.len() as u32
    }
}

impl Chart for VariantBars<'_> {
    fn size(&self) -> (u32, u32) {
        let rows = self.metrics.len().div_ceil(2) as u32;
        (WIDTH, TITLE_BAND + rows * self.panel_height() + 6)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let s = self.summary;
        let reps = if s.replications > 1 {
            format!("mean of {} replications; whiskers: 95% confidence interval", s.replications)
        } else {
            "one replication".to_string()
        };
        let area = titled(root, &s.title, &format!("{}: the variants side by side (seed {}, {reps})", s.model, s.seed))?;
        let rows = self.metrics.len().div_ceil(2);
        let (area, _) = area.split_vertically(rows as u32 * self.panel_height());
        let panels = area.split_evenly((rows, 2));
        let n = s.variants.len();
        let name_width = 18 + s.variants.iter().map(|v| text_width(root, &v.name, &label_style())).max().unwrap_or(40);
        for (panel, metric) in panels.iter().zip(&self.metrics) {
            let values: Vec<Estimate> = (0..n).map(|v| estimate(s, v, metric.key)).collect();
            let high = values.iter().map(|e| e.high().max(e.mean) * metric.scale).fold(0.0f64, f64::max);
            let top = if high > 0.0 { high * 1.28 } else { 1.0 };
            let integer = metric.unit == Unit::Count;
            let mut chart = ChartBuilder::on(panel)
                .caption(metric.label, heading_style())
                .margin_left(6)
                .margin_right(18)
                .margin_top(4)
                .margin_bottom(6)
                .x_label_area_size(24)
                .y_label_area_size(name_width)
                .build_cartesian_2d(0f64..top, -0.5f64..n as f64 - 0.5)?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(0)
                .x_labels(4)
                .x_label_style(label_style().color(&GREY))
                .x_label_formatter(&|x| if integer && x.fract().abs() > 1e-9 { String::new() } else { tick(*x, top) })
                .bold_line_style(GRID)
                .light_line_style(TRANSPARENT)
                .axis_style(AXIS)
                .draw()?;
            // Top to bottom in model order: variant i sits at y = n - 1 - i.
            let y_of = |i: usize| (n - 1 - i) as f64;
            for (i, v) in s.variants.iter().enumerate() {
                let (px, py) = chart.backend_coord(&(0.0, y_of(i)));
                root.draw(&Text::new(v.name.clone(), (px - 8, py), right_centre(label_style())))?;
            }
            chart.draw_series(
                values.iter().enumerate().map(|(i, e)| Rectangle::new([(0.0, y_of(i) - 0.34), (e.mean * metric.scale, y_of(i) + 0.34)], colour(i).filled())),
            )?;
            for (i, e) in values.iter().enumerate().filter(|(_, e)| e.ci95.is_some_and(|h| h > 0.0)) {
                whisker(&chart, (e.low() * metric.scale).max(0.0), e.high() * metric.scale, y_of(i), true)?;
            }
            // The value beside each bar (past its whisker), as the table writes it; "n/a"
            // where the variant has no such thing (a deploy's duration without a deploy).
            for (i, e) in values.iter().enumerate() {
                let (px, py) = chart.backend_coord(&(e.high().max(e.mean) * metric.scale, y_of(i)));
                if s.variants[i].metrics.contains_key(metric.key) {
                    root.draw(&Text::new(metric.unit.format(e.mean), (px + 5, py), left_centre(label_style())))?;
                } else {
                    root.draw(&Text::new("n/a", (px + 5, py), left_centre(note_style())))?;
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// (b) Over time, one row per variant.

/// One point of a timeline: `width` seconds of buckets merged.
#[derive(Clone, Copy, Debug)]
struct Point {
    /// Start and end of the span, seconds.
    t0: f64,
    t1: f64,
    ok_per_s: f64,
    failed_per_s: f64,
    /// The worst bucket p99 in the span; none when nothing completed in it.
    p99_ms: Option<f64>,
    logouts_per_s: f64,
    /// Servers in rotation at the end of the span, and the most jobs waiting in it.
    in_rotation: f64,
    jobs_queued: f64,
    abuser_allowed_per_s: f64,
    cost_per_hour: f64,
    /// Share of the WebSocket messages sent in the span that were delivered (%).
    ws_delivered_pct: Option<f64>,
    ws_reconnects_per_s: f64,
}

/// Merges the buckets of a series `k` at a time.
fn merge_buckets(rows: &[SeriesRow], step_s: f64, k: usize) -> Vec<Point> {
    rows.chunks(k.max(1))
        .map(|c| {
            let width = step_s * c.len() as f64;
            let sum = |f: fn(&SeriesRow) -> u64| c.iter().map(f).sum::<u64>() as f64 / width;
            let p99 = c.iter().filter(|r| r.ok > 0).map(|r| r.latency_p99_ms).fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
            Point {
                t0: c[0].t_s,
                t1: c[0].t_s + width,
                ok_per_s: sum(|r| r.ok),
                failed_per_s: sum(|r| r.failed),
                p99_ms: p99,
                logouts_per_s: sum(|r| r.logouts),
                in_rotation: c.last().map_or(0.0, |r| r.servers_in_rotation as f64),
                jobs_queued: c.iter().map(|r| r.jobs_queued).max().unwrap_or(0) as f64,
                abuser_allowed_per_s: sum(|r| r.abuser_allowed),
                cost_per_hour: c.last().map_or(0.0, |r| r.cost_per_hour),
                ws_delivered_pct: {
                    let sent: u64 = c.iter().map(|r| r.ws_sent).sum();
                    (sent > 0).then(|| 100.0 * c.iter().map(|r| r.ws_delivered).sum::<u64>() as f64 / sent as f64)
                },
                ws_reconnects_per_s: sum(|r| r.ws_reconnects),
            }
        })
        .collect()
}

/// A fault in words: `kill server-5 at 5m, back after 60s`.
pub fn describe_fault(f: &Fault) -> String {
    match &f.action {
        FaultAction::Kill { server, restart_after: Some(d) } => format!("server-{} killed at {}, restarted {} later", server + 1, f.at, d),
        FaultAction::Kill { server, restart_after: None } => format!("server-{} killed at {}", server + 1, f.at),
        FaultAction::RedisDown { lasting } => format!("Redis down at {} for {}", f.at, lasting),
        FaultAction::RedisSlow { lasting, .. } => format!("Redis slow at {} for {}", f.at, lasting),
        FaultAction::KillWorker { worker } => format!("worker-{} killed at {}", worker + 1, f.at),
    }
}

/// When a fault starts and how long its effect is scheduled to last, in seconds.
fn fault_span(f: &Fault) -> (f64, f64) {
    let lasting = match &f.action {
        FaultAction::Kill { restart_after, .. } => restart_after.map_or(0.0, |d| d.as_secs_f64()),
        FaultAction::RedisDown { lasting } | FaultAction::RedisSlow { lasting, .. } => lasting.as_secs_f64(),
        FaultAction::KillWorker { .. } => 0.0,
    };
    (f.at.as_secs_f64(), lasting)
}

/// A line wider than one pixel as separate segments. The bitmap backend joins a wide
/// polyline with unlimited mitres, so a sharp spike would be drawn far past its value
/// (even above the plot); segments have no joins to overshoot.
fn thick_segments(line: &[(f64, f64)], style: ShapeStyle) -> impl Iterator<Item = PathElement<(f64, f64)>> + '_ {
    line.windows(2).map(move |w| PathElement::new(vec![w[0], w[1]], style))
}

type Measure = (&'static str, fn(&Point) -> Option<f64>);

/// A y axis from zero, or logarithmic (plotted as log10) when asked for and the values
/// span more than a factor of 30.
struct YScale {
    lo: f64,
    hi: f64,
    log: bool,
}

impl YScale {
    fn fit(values: impl Iterator<Item = f64>, log_if_wide: bool) -> YScale {
        let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
        for y in values.filter(|y| *y > 0.0) {
            lo = lo.min(y);
            hi = hi.max(y);
        }
        if hi <= 0.0 {
            return YScale { lo: 0.0, hi: 1.0, log: false };
        }
        if log_if_wide && hi / lo > 30.0 {
            return YScale { lo: lo.log10().floor(), hi: (hi * 1.3).log10(), log: true };
        }
        YScale { lo: 0.0, hi: hi * 1.12, log: false }
    }
    /// Where a value goes on the plot's axis.
    fn map(&self, y: f64) -> f64 {
        if self.log { y.max(10f64.powf(self.lo)).log10() } else { y }
    }
    fn labels(&self) -> usize {
        if self.log { (self.hi - self.lo).floor() as usize + 1 } else { 3 }
    }
    fn label(&self, y: f64) -> String {
        if !self.log {
            tick(y, self.hi)
        } else if (y - y.round()).abs() < 1e-6 {
            let v = 10f64.powf(y.round());
            tick(v, v)
        } else {
            String::new()
        }
    }
}

/// Per-second throughput, failures, p99 latency (and logouts, where any) of every
/// variant over time (replication 0): one row per variant on shared scales, each row
/// with its own faults marked.
pub struct Timeline<'a> {
    pub model: &'a Model,
    pub runs: &'a [Vec<RunResult>],
}

const ROW_HEAD: u32 = 22;
const ROW_PLOT: u32 = 84;
const COLUMN_HEAD: u32 = 26;
const TIME_AXIS: u32 = 44;

impl Timeline<'_> {
    fn measures(&self) -> Vec<Measure> {
        let mut m: Vec<Measure> = vec![("ok per s", |p| Some(p.ok_per_s)), ("failed per s", |p| Some(p.failed_per_s)), ("latency p99 (ms)", |p| p.p99_ms)];
        let logouts = self.runs.iter().flat_map(|r| r.first()).any(|r| r.series.iter().any(|row| row.logouts > 0));
        if logouts {
            m.push(("logouts per s", |p| Some(p.logouts_per_s)));
        }
        let fleet_moves = self.model.variants.iter().any(|v| v.system.fleet.autoscale || v.system.fleet.deploy.is_some() || v.system.fleet.spot_share > 0.0);
        if fleet_moves {
            m.push(("in rotation", |p| Some(p.in_rotation)));
            m.push(("cost per hour", |p| Some(p.cost_per_hour)));
        }
        let queued = self.runs.iter().flat_map(|r| r.first()).any(|r| r.series.iter().any(|row| row.jobs_queued > 0));
        if queued {
            m.push(("jobs queued", |p| Some(p.jobs_queued)));
        }
        let websockets = self.runs.iter().flat_map(|r| r.first()).any(|r| r.series.iter().any(|row| row.ws_sent > 0));
        if websockets {
            m.push(("messages delivered (%)", |p| p.ws_delivered_pct));
            m.push(("reconnects per s", |p| Some(p.ws_reconnects_per_s)));
        }
        let abuser = self.runs.iter().flat_map(|r| r.first()).any(|r| r.series.iter().any(|row| row.abuser_allowed > 0));
        if abuser {
            m.push(("abuser allowed per s", |p| Some(p.abuser_allowed_per_s)));
        }
        m
    }

    fn step_s(&self) -> f64 {
        self.model.variants[0].system.run.timeseries_step.as_secs_f64()
    }

    /// Buckets merged per point, so a panel shows at most about 150 points.
    fn merge(&self) -> usize {
        let n = self.runs.iter().flat_map(|r| r.first()).map(|r| r.series.len()).max().unwrap_or(1);
        n.div_ceil(150).max(1)
    }
}

impl Chart for Timeline<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_BAND + COLUMN_HEAD + self.model.variants.len() as u32 * (ROW_HEAD + ROW_PLOT) + TIME_AXIS)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let model = self.model;
        let step_s = self.step_s();
        let k = self.merge();
        let point = if k == 1 {
            format!("one point per {}", model.variants[0].system.run.timeseries_step)
        } else {
            format!("one point per {} s (latency: the worst {} s p99 in it)", tick(step_s * k as f64, step_s), tick(step_s, step_s))
        };
        let area = titled(root, &model.title, &format!("{}: over time, replication 0, {point}; grey: warm-up and faults", model.name))?;
        let measures = self.measures();
        let points: Vec<Vec<Point>> = self.runs.iter().map(|reps| reps.first().map(|r| merge_buckets(&r.series, step_s, k)).unwrap_or_default()).collect();
        let duration = model.variants.iter().map(|v| v.system.run.duration.as_secs_f64()).fold(0.0f64, f64::max);
        let t_end = self
            .runs
            .iter()
            .flat_map(|r| r.first())
            .flat_map(|r| r.series.last())
            .map(|r| r.t_s + step_s)
            .fold(0.0f64, f64::max)
            .min(duration.max(step_s))
            .max(step_s);
        // Minutes on the axis for runs of ten minutes or more.
        let (t_div, t_unit) = if t_end >= 600.0 { (60.0, "min") } else { (1.0, "s") };
        let t_max = t_end / t_div;
        let scales: Vec<YScale> =
            measures.iter().map(|(label, pick)| YScale::fit(points.iter().flatten().filter_map(pick), label.contains("latency"))).collect();

        let (head, rest) = area.split_vertically(COLUMN_HEAD);
        let columns = head.split_evenly((1, measures.len()));
        let y_area = 50;
        for ((c, (label, _)), scale) in columns.iter().zip(&measures).zip(&scales) {
            let (w, _) = c.dim_in_pixel();
            let label = if scale.log { label.replace(" (ms)", " (ms, log scale)") } else { label.to_string() };
            c.draw(&Text::new(label, ((y_area + (w as i32 - y_area)) / 2 + 2, 12), centre(heading_style())))?;
        }
        let mut rest = rest;
        let n = model.variants.len();
        for (v, variant) in model.variants.iter().enumerate() {
            let last = v + 1 == n;
            let (row, below) = rest.split_vertically(ROW_HEAD + ROW_PLOT + if last { TIME_AXIS } else { 0 });
            rest = below;
            let (row_head, row_plots) = row.split_vertically(ROW_HEAD);
            let name_w = text_width(root, &variant.name, &heading_style());
            row_head.draw(&Text::new(variant.name.clone(), (14, 11), left_centre(heading_style().color(&PALETTE[v % PALETTE.len()]))))?;
            let faults: Vec<String> = variant.system.faults.iter().map(describe_fault).collect();
            if !faults.is_empty() {
                row_head.draw(&Text::new(faults.join("; "), (14 + name_w as i32 + 12, 11), left_centre(note_style())))?;
            }
            let warmup = variant.system.run.warmup.as_secs_f64() / t_div;
            for ((panel, (label, pick)), scale) in row_plots.split_evenly((1, measures.len())).iter().zip(&measures).zip(&scales) {
                let (bottom, top) = (scale.lo, scale.hi);
                let mut chart = ChartBuilder::on(panel)
                    .margin_left(2)
                    .margin_right(12)
                    .margin_top(2)
                    .margin_bottom(4)
                    .x_label_area_size(if last { TIME_AXIS - 4 } else { 0 })
                    .y_label_area_size(y_area)
                    .build_cartesian_2d(0f64..t_max, bottom..top)?;
                // Warm-up and fault spans behind everything.
                if warmup > 0.0 {
                    chart.draw_series(std::iter::once(Rectangle::new([(0.0, bottom), (warmup.min(t_max), top)], SPAN.filled())))?;
                }
                for f in &variant.system.faults {
                    let (at, lasting) = fault_span(f);
                    if lasting > 0.0 {
                        chart
                            .draw_series(std::iter::once(Rectangle::new([(at / t_div, bottom), (((at + lasting) / t_div).min(t_max), top)], SPAN.filled())))?;
                    }
                }
                let y_fmt = |y: &f64| scale.label(*y);
                let x_fmt = |x: &f64| tick(*x, t_max);
                let mut mesh = chart.configure_mesh();
                mesh.disable_x_mesh()
                    .y_labels(scale.labels())
                    .x_labels(if last { 6 } else { 0 })
                    .y_label_style(label_style().color(&GREY))
                    .x_label_style(label_style().color(&GREY))
                    .y_label_formatter(&y_fmt)
                    .x_label_formatter(&x_fmt)
                    .bold_line_style(GRID)
                    .light_line_style(TRANSPARENT)
                    .axis_style(AXIS);
                if last {
                    mesh.x_desc(format!("time ({t_unit})")).axis_desc_style(label_style());
                }
                mesh.draw()?;
                for f in &variant.system.faults {
                    let at = f.at.as_secs_f64() / t_div;
                    chart.draw_series(DashedLineSeries::new(vec![(at, bottom), (at, top)], 4, 3, GREY.stroke_width(1).into()))?;
                }
                // A line per stretch of defined values (p99 has none where nothing completed).
                let c = colour(v);
                // Rates as steps (a count over each span), latency through the middle of each.
                let rate = label.contains("per s");
                let mut stretch: Vec<(f64, f64)> = Vec::new();
                let mut stretches = Vec::new();
                for p in &points[v] {
                    match pick(p) {
                        Some(y) if rate => stretch.extend([(p.t0 / t_div, scale.map(y)), (p.t1.min(t_end) / t_div, scale.map(y))]),
                        Some(y) => stretch.push(((p.t0 + p.t1.min(t_end)) / 2.0 / t_div, scale.map(y))),
                        None => stretches.push(std::mem::take(&mut stretch)),
                    }
                }
                stretches.push(stretch);
                for s in stretches.into_iter().filter(|s| !s.is_empty()) {
                    if rate {
                        chart.draw_series(LineSeries::new(s, c.stroke_width(1)))?;
                    } else if s.len() == 1 {
                        chart.draw_series(std::iter::once(Circle::new(s[0], 2, c.filled())))?;
                    } else {
                        chart.draw_series(thick_segments(&s, c.stroke_width(2)))?;
                    }
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// (c) Per server, and latency percentiles.

/// Server names in `server.<name>.<suffix>` keys, by number.
fn server_names(s: &ModelSummary, suffix: &str) -> Vec<String> {
    let mut servers: Vec<String> = s
        .variants
        .iter()
        .flat_map(|v| v.metrics.keys())
        .filter_map(|k| k.strip_prefix("server.").and_then(|r| r.strip_suffix(&format!(".{suffix}"))))
        .map(String::from)
        .collect();
    servers.sort_by_key(|n| n.trim_start_matches("server-").parse::<u32>().unwrap_or(0));
    servers.dedup();
    servers
}

/// The servers of variant `v` (of `all`), with their share of routed requests.
fn shares_of<'s>(s: &ModelSummary, v: usize, all: &'s [String]) -> Vec<(usize, &'s str, Estimate)> {
    all.iter().enumerate().filter_map(|(i, srv)| s.variants[v].metrics.get(&format!("server.{srv}.routed_share")).map(|e| (i, srv.as_str(), *e))).collect()
}

/// Whether some server of some variant got a share more than 10% away from an even one.
pub fn uneven_shares(s: &ModelSummary) -> bool {
    (0..s.variants.len()).any(|v| uneven_variant(s, v))
}

/// Whether some server's share in variant `v` is more than 10% off an even share.
fn uneven_variant(s: &ModelSummary, v: usize) -> bool {
    let all = server_names(s, "routed_share");
    let shares = shares_of(s, v, &all);
    let even = 1.0 / shares.len().max(1) as f64;
    shares.iter().any(|(_, _, e)| ((e.mean - even) / even).abs() > 0.1)
}

/// The share of routed requests per server, one row of bars per variant, with the even
/// share marked.
pub struct ServerShares<'a> {
    pub summary: &'a ModelSummary,
}

const SHARE_ROW: u32 = 96;

impl ServerShares<'_> {
    /// The variants drawn: all of up to four; past that the first (for reference) and
    /// those with an uneven spread, so a dozen rows of even bars do not hide the one
    /// that matters.
    fn shown(&self) -> Vec<usize> {
        let s = self.summary;
        let n = s.variants.len();
        if n <= 4 {
            return (0..n).collect();
        }
        (0..n).filter(|&v| v == 0 || uneven_variant(s, v)).collect()
    }
}

impl Chart for ServerShares<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_BAND + self.shown().len() as u32 * SHARE_ROW + TIME_AXIS)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let s = self.summary;
        let servers = server_names(s, "routed_share");
        let ns = servers.len().max(1);
        let shown = self.shown();
        let even = |v: usize| 100.0 / shares_of(s, v, &servers).len().max(1) as f64;
        let evens: Vec<f64> = shown.iter().map(|&v| even(v)).collect();
        let same_even = evens.iter().all(|e| (e - evens[0]).abs() < 1e-9);
        let hidden = s.variants.len() - shown.len();
        let left_out = if hidden > 0 { format!("; {hidden} variants with even shares left out") } else { String::new() };
        let even_note =
            if same_even { format!("an even share, {}%", tick(evens[0], evens[0])) } else { "an even share among the variant's servers".to_string() };
        let area = titled(root, &s.title, &format!("{}: share of routed requests per server (%); dashed: {even_note}{left_out}", s.model))?;
        let top =
            shown.iter().flat_map(|&v| shares_of(s, v, &servers)).map(|(_, _, e)| e.high() * 100.0).chain(evens.iter().copied()).fold(0.0f64, f64::max) * 1.22;
        let mut rest = area;
        for (row_index, &v) in shown.iter().enumerate() {
            let last = row_index + 1 == shown.len();
            let (row, below) = rest.split_vertically(SHARE_ROW + if last { TIME_AXIS } else { 0 });
            rest = below;
            let (head, plot) = row.split_vertically(ROW_HEAD);
            let shares = shares_of(s, v, &servers);
            let busiest = shares.iter().max_by(|a, b| a.2.mean.total_cmp(&b.2.mean));
            let name = &s.variants[v].name;
            head.draw(&Text::new(name.clone(), (14, 11), left_centre(heading_style().color(&PALETTE[v % PALETTE.len()]))))?;
            if let Some((_, b, e)) = busiest {
                let w = text_width(root, name, &heading_style());
                head.draw(&Text::new(format!("busiest: {b}, {:.1}%", e.mean * 100.0), (14 + w as i32 + 12, 11), left_centre(note_style())))?;
            }
            let mut chart = ChartBuilder::on(&plot)
                .margin_left(14)
                .margin_right(14)
                .margin_bottom(4)
                .x_label_area_size(if last { TIME_AXIS - 4 } else { 0 })
                .y_label_area_size(44)
                .build_cartesian_2d(0.5f64..ns as f64 + 0.5, 0f64..top)?;
            let x_fmt = |x: &f64| if (x - x.round()).abs() < 0.01 && *x >= 1.0 { format!("{}", x.round()) } else { String::new() };
            let y_fmt = |y: &f64| tick(*y, top);
            let mut mesh = chart.configure_mesh();
            mesh.disable_x_mesh()
                .y_labels(3)
                .x_labels(if last { ns + 1 } else { 0 })
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .x_label_style(label_style().color(&GREY))
                .y_label_style(label_style().color(&GREY))
                .bold_line_style(GRID)
                .light_line_style(TRANSPARENT)
                .axis_style(AXIS);
            if last {
                mesh.x_desc("server (number)").axis_desc_style(label_style());
            }
            mesh.draw()?;
            chart.draw_series(shares.iter().map(|(i, _, e)| {
                let x = *i as f64 + 1.0;
                Rectangle::new([(x - 0.36, 0.0), (x + 0.36, e.mean * 100.0)], colour(v).filled())
            }))?;
            for (i, _, e) in shares.iter().filter(|(_, _, e)| e.ci95.is_some_and(|h| h > 0.0)) {
                whisker(&chart, (e.low() * 100.0).max(0.0), e.high() * 100.0, *i as f64 + 1.0, false)?;
            }
            let last_server = shares.last().map_or(ns, |(i, _, _)| i + 1) as f64;
            chart.draw_series(DashedLineSeries::new(vec![(0.5, even(v)), (last_server + 0.5, even(v))], 5, 4, BLACK.stroke_width(1).into()))?;
        }
        Ok(())
    }
}

/// Whether at least two variants have a latency `<prefix>.p50` above zero, with p99s
/// more than `factor` apart.
pub fn percentiles_differ(s: &ModelSummary, prefix: &str, factor: f64) -> bool {
    let p99: Vec<f64> = (0..s.variants.len())
        .filter(|&v| value_of(s, v, &format!("{prefix}.p50")).unwrap_or(0.0) > 0.0)
        .filter_map(|v| value_of(s, v, &format!("{prefix}.p99")))
        .collect();
    let lo = p99.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = p99.iter().copied().fold(0.0f64, f64::max);
    p99.len() >= 2 && hi > lo * factor
}

/// Latency CDFs per variant (replication 0) on a log time axis: the whole request and,
/// when `auth` is set, beside it the time spent checking the session or token. Variants
/// past the palette's length are dashed.
pub struct LatencyCdf<'a> {
    pub model: &'a Model,
    pub runs: &'a [Vec<RunResult>],
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

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let model = self.model;
        let what = if self.auth { "whole request, and time checking the session or token" } else { "whole request" };
        let area = titled(root, &model.title, &format!("{}: latency CDF per variant ({what}), replication 0", model.name))?;
        let (plots, legend) = area.split_vertically(CDF_PLOT);
        let first: Vec<Option<&RunResult>> = self.runs.iter().map(|r| r.first()).collect();
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
            chart
                .configure_mesh()
                .x_desc(format!("{label} (ms, log scale)"))
                .y_desc("share of requests at most this slow")
                .axis_desc_style(label_style())
                .x_label_style(label_style().color(&GREY))
                .y_label_style(label_style().color(&GREY))
                .x_label_formatter(&|x| if decade(*x) { trim_zeros(&format!("{:.8}", 10f64.powf(x.log10().round()))) } else { String::new() })
                .y_labels(5)
                .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
                .bold_line_style(GRID)
                .light_line_style(RGBColor(245, 245, 245))
                .axis_style(AXIS)
                .draw()?;
            // The first variant last, on top.
            for (v, run) in first.iter().enumerate().rev() {
                let Some(run) = run.filter(|r| measured(r)) else { continue };
                let line: Vec<(f64, f64)> = pick(run).iter().map(|x| x.max(lo)).zip(quantiles.iter().copied()).collect();
                let style = colour(v).stroke_width(2);
                if v < PALETTE.len() {
                    chart.draw_series(thick_segments(&line, style))?;
                } else {
                    chart.draw_series(DashedLineSeries::new(line, 6, 4, style))?;
                }
            }
        }
        let w = self.legend_width();
        let (mut x, mut y) = (20, 8);
        for (v, variant) in model.variants.iter().enumerate() {
            if x + w > WIDTH as i32 - 20 {
                x = 20;
                y += 22;
            }
            let c = colour(v);
            if v < PALETTE.len() {
                legend.draw(&Rectangle::new([(x, y + 6), (x + 22, y + 10)], c.filled()))?;
            } else {
                for dash in [x, x + 9, x + 18] {
                    legend.draw(&Rectangle::new([(dash, y + 6), (dash + 5, y + 10)], c.filled()))?;
                }
            }
            // Without a session check there is nothing to plot on the right.
            let checks = !self.auth || first[v].is_some_and(|r| r.auth_quantiles_ms.last().is_some_and(|max| *max > 0.0));
            let name = if checks { variant.name.clone() } else { format!("{} (no check)", variant.name) };
            legend.draw(&Text::new(name, (x + 28, y + 8), left_centre(label_style())))?;
            x += w;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Sweeps.

/// A headline metric against the first swept parameter, one line per variant (and per
/// value of any other swept parameter), with its 95% confidence band.
pub struct SweepLines<'a> {
    pub spec: &'a SweepSpec,
    pub points: &'a [PointResult],
    pub metric: &'static MetricAxis,
}

impl SweepLines<'_> {
    /// A line for each variant x combination of the other axes: label and points.
    #[allow(clippy::type_complexity)]
    fn lines(&self) -> Vec<(String, Vec<(f64, Estimate)>)> {
        let axis = &self.spec.axes[0];
        let x_of = |p: &PointResult| p.sets.first().and_then(|s| s.split_once('=')).and_then(|(_, v)| v.trim_matches('"').parse::<f64>().ok());
        let numeric = self.points.iter().all(|p| x_of(p).is_some());
        let x_index = |p: &PointResult| {
            if numeric { x_of(p).unwrap_or(0.0) } else { axis.values.iter().position(|v| p.sets[0].ends_with(v.as_str())).unwrap_or(0) as f64 }
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

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let axis = &self.spec.axes[0];
        let area = titled(root, &format!("{}: {} vs {}", self.spec.model, self.metric.label, axis.key), "mean over replications; shaded: 95% confidence band")?;
        let x_of = |p: &PointResult| p.sets.first().and_then(|s| s.split_once('=')).and_then(|(_, v)| v.trim_matches('"').parse::<f64>().ok());
        let numeric = self.points.iter().all(|p| x_of(p).is_some());
        let integers = numeric && self.points.iter().all(|p| x_of(p).is_some_and(|x| x.fract() == 0.0));
        let lines = self.lines();
        let xs: Vec<f64> = lines.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x)).collect();
        let (x0, x1) = (xs.iter().copied().fold(f64::INFINITY, f64::min), xs.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        let pad = ((x1 - x0) * 0.05).max(0.5);
        let high = lines.iter().flat_map(|(_, p)| p.iter().map(|(_, e)| e.high() * self.metric.scale)).fold(0.0f64, f64::max);
        let top = if high > 0.0 { high * 1.1 } else { 1.0 };
        let (plot, legend) = area.split_vertically(400);
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .margin_right(20)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d((x0 - pad)..(x1 + pad), 0f64..top)?;
        chart
            .configure_mesh()
            .x_desc(axis.key.as_str())
            .y_desc(self.metric.label)
            .axis_desc_style(label_style())
            .x_label_style(label_style().color(&GREY))
            .y_label_style(label_style().color(&GREY))
            .x_label_formatter(&|x| {
                if !numeric {
                    if (x - x.round()).abs() < 1e-9 { axis.values.get(x.round().max(0.0) as usize).cloned().unwrap_or_default() } else { String::new() }
                } else if integers {
                    if (x - x.round()).abs() < 1e-9 { format!("{x:.0}") } else { String::new() }
                } else {
                    tick(*x, x1 - x0)
                }
            })
            .y_label_formatter(&|y| tick(*y, top))
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(AXIS)
            .draw()?;
        for (k, (_, pts)) in lines.iter().enumerate() {
            let c = colour(k);
            let band: Vec<(f64, f64)> =
                pts.iter().map(|(x, e)| (*x, e.high() * self.metric.scale)).chain(pts.iter().rev().map(|(x, e)| (*x, e.low() * self.metric.scale))).collect();
            chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.2).filled())))?;
            let line: Vec<(f64, f64)> = pts.iter().map(|(x, e)| (*x, e.mean * self.metric.scale)).collect();
            chart.draw_series(thick_segments(&line, c.stroke_width(3)))?;
            chart.draw_series(pts.iter().map(|(x, e)| Circle::new((*x, e.mean * self.metric.scale), 4, c.filled())))?;
        }
        let (mut x, mut y) = (20, 8);
        for (k, (label, _)) in lines.iter().enumerate() {
            let w = 34 + 8 * label.len() as i32;
            if x + w > WIDTH as i32 {
                x = 20;
                y += 22;
            }
            legend.draw(&Rectangle::new([(x, y + 2), (x + 18, y + 14)], colour(k).filled()))?;
            legend.draw(&Text::new(label.clone(), (x + 24, y + 8), left_centre(label_style())))?;
            x += w;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The topology.

/// The system drawn from its `petgraph` topology: columns from clients to back ends,
/// an arrow per hop, the hop's latency on the first arrow of each column pair.
pub struct TopologyPicture<'a> {
    pub title: &'a str,
    /// The variant whose system this is.
    pub variant: &'a str,
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
        use crate::components::topology::Node;
        let area = titled(root, self.title, &format!("the topology of variant {}: nodes of the model's graph and the latency of each hop", self.variant))?;
        let layers = self.topology.layers();
        let (w, h) = area.dim_in_pixel();
        let cols = layers.len() as i32;
        // Narrower boxes when a fifth column (workers) needs the room for hop labels.
        let box_w = if cols > 4 { 126 } else { 150 };
        let gap = (w as i32 - 40 - cols * box_w) / (cols - 1).max(1);
        let mut pos = std::collections::BTreeMap::new();
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
        let mut labelled = std::collections::BTreeSet::new();
        for e in g.edge_indices() {
            let (a, b) = g.edge_endpoints(e).expect("edge");
            let (&(ax, ay, ah), &(bx, by, bh)) = (&pos[&a], &pos[&b]);
            let from = (ax + box_w, ay + ah / 2);
            let to = (bx, by + bh / 2);
            area.draw(&PathElement::new(vec![from, to], GREY.stroke_width(1)))?;
            area.draw(&Polygon::new(vec![to, (to.0 - 8, to.1 - 4), (to.0 - 8, to.1 + 4)], GREY.filled()))?;
            let layer_pair = (layers.iter().position(|l| l.contains(&a)), layers.iter().position(|l| l.contains(&b)));
            let text = g[e].label();
            // One label per pair of neighbouring columns; a hop that skips columns (clients
            // straight to S3) would put its label on the boxes between.
            let neighbours = matches!(layer_pair, (Some(x), Some(y)) if y == x + 1);
            if !text.is_empty() && neighbours && labelled.insert(layer_pair) {
                // Centred over the arrow's middle, wrapped to fit between the columns.
                let style = centre(label_style().color(&GREY));
                let room = (to.0 - from.0 - 10).max(40) as u32;
                let mut lines: Vec<String> = Vec::new();
                for word in text.split_whitespace() {
                    match lines.last_mut() {
                        Some(line) if text_width(root, &format!("{line} {word}"), &style) <= room => {
                            line.push(' ');
                            line.push_str(word);
                        }
                        _ => lines.push(word.to_string()),
                    }
                }
                let mid = ((from.0 + to.0) / 2, (from.1 + to.1) / 2);
                for (i, line) in lines.iter().enumerate() {
                    let dy = 10 + 15 * (lines.len() - 1 - i) as i32;
                    area.draw(&Text::new(line.clone(), (mid.0, mid.1 - dy), style.clone()))?;
                }
            }
        }
        for (n, &(x, y, bh)) in &pos {
            let fill = match g[*n] {
                Node::Server { .. } | Node::Workers { .. } => PALETTE[5].mix(0.25),
                Node::LoadBalancer { .. } => PALETTE[1].mix(0.35),
                Node::Redis | Node::Database { .. } | Node::S3 { .. } | Node::JobQueue { .. } => PALETTE[2].mix(0.3),
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

/// Revocation: how long each fired user kept getting in, one histogram per variant
/// (replication 0) on a shared axis.
pub struct ExposureHistogram<'a> {
    pub model: &'a Model,
    pub runs: &'a [Vec<RunResult>],
}

impl Chart for ExposureHistogram<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_BAND + (ROW_HEAD + 120) * self.model.variants.len() as u32 + 40)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let area = titled(
            root,
            &self.model.title,
            &format!(
                "{}: fired users by seconds from the ban to their last request that got in (replication 0; each row its own count scale)",
                self.model.name
            ),
        )?;
        let all: Vec<&Vec<f64>> = self.runs.iter().filter_map(|r| r.first()).map(|r| &r.exposures_s).collect();
        let max = all.iter().flat_map(|v| v.iter().copied()).fold(0.0f64, f64::max).max(1.0);
        let bins = 30usize;
        let width = max / bins as f64 * 1.0001;
        let counts: Vec<Vec<u32>> = all
            .iter()
            .map(|v| {
                let mut c = vec![0u32; bins];
                for x in v.iter() {
                    c[((x / width) as usize).min(bins - 1)] += 1;
                }
                c
            })
            .collect();
        let n = counts.len();
        let mut rest = area;
        for (v, c) in counts.iter().enumerate() {
            let last = v + 1 == n;
            let (row, below) = rest.split_vertically(ROW_HEAD + 120 + if last { 40 } else { 0 });
            rest = below;
            // Each row on its own count scale, so a spread-out histogram stays visible.
            let top = c.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.15;
            let name = &self.model.variants[v].name;
            let mean = all[v].iter().sum::<f64>() / all[v].len().max(1) as f64;
            let note = format!(
                "{} fired; exposure mean {} s, max {} s",
                all[v].len(),
                crate::report::table::sig3(mean),
                crate::report::table::sig3(all[v].iter().copied().fold(0.0, f64::max))
            );
            let (head, plot) = row.split_vertically(ROW_HEAD);
            let name_w = text_width(root, name, &heading_style());
            head.draw(&Text::new(name.clone(), (14, 11), left_centre(heading_style().color(&PALETTE[v % PALETTE.len()]))))?;
            head.draw(&Text::new(note, (14 + name_w as i32 + 12, 11), left_centre(note_style())))?;
            let mut chart = ChartBuilder::on(&plot)
                .margin_left(6)
                .margin_right(18)
                .margin_bottom(4)
                .x_label_area_size(if last { 40 } else { 0 })
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..max, 0f64..top)?;
            let x_fmt = |x: &f64| tick(*x, max);
            let y_fmt = |y: &f64| tick(*y, top);
            let mut mesh = chart.configure_mesh();
            mesh.disable_x_mesh()
                .x_labels(if last { 8 } else { 0 })
                .y_labels(3)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .x_label_style(label_style().color(&GREY))
                .y_label_style(label_style().color(&GREY))
                .bold_line_style(GRID)
                .light_line_style(TRANSPARENT)
                .axis_style(AXIS);
            if last {
                mesh.x_desc("seconds the fired user still got in after the ban").axis_desc_style(label_style());
            }
            mesh.draw()?;
            chart.draw_series(
                c.iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(i, n)| Rectangle::new([(i as f64 * width, 0.0), ((i as f64 + 0.9) * width, *n as f64)], colour(v).filled())),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_use_few_digits() {
        assert_eq!(tick(0.5, 2.3), "0.5");
        assert_eq!(tick(10.0, 12.0), "10");
        assert_eq!(tick(0.001, 0.0046), "0.001");
        assert_eq!(tick(150000.0, 200000.0), "150k");
        assert_eq!(tick(2500.0, 9000.0), "2500");
        assert_eq!(tick(0.0, 5.0), "0");
    }

    #[test]
    fn units_write_like_the_table() {
        assert_eq!(Unit::Share.format(0.0993), "9.9%");
        assert_eq!(Unit::Share.format(0.00036), "0.0360%");
        assert_eq!(Unit::Share.format(0.0), "0.0%");
        assert_eq!(Unit::Count.format(1893.0), "1,893");
        assert_eq!(Unit::Ms.format_with_unit(158.2), "158 ms");
        assert_eq!(Unit::Number.format(104_604.4), "104,604");
        assert_eq!(Unit::Number.format(6166.0), "6166");
    }
}
