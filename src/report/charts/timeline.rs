//! Over time: each variant's throughput, failures, p99 latency and the model's own
//! measures, one row per variant on shared scales, faults and warm-up marked.

use super::Chart;
use super::style::*;
use crate::engine::SimDuration;
use crate::metrics::series::{
    ABUSER_ALLOWED, Aggregate, CARTS_LOST, COST_PER_HOUR, FILES_NOT_FOUND, JOBS_QUEUED, LOGOUTS_STATE_LOST, LP_DELIVERED, LP_REQUESTS, LP_SENT,
    PAGE_LATENCY_P99, PART_COLUMNS, RETRY_GOODPUT, RETRY_RETRIES, SeriesColumn, WS_DELIVERED, WS_RECONNECTS, WS_SENT,
};
use crate::metrics::{KeptRuns, RunResult, SeriesRow};
use crate::scenario::Model;
use crate::scenario::System;
use crate::scenario::model::{Fault, FaultAction, Profile};
use plotters::coord::Shift;
use plotters::prelude::*;

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
    /// Servers in rotation at the end of the span.
    in_rotation: f64,
    /// Each of `PART_COLUMNS` the run has: a count per second over the span, a level's
    /// last value, or its peak.
    parts: [Option<f64>; PART_COLUMNS.len()],
    /// Share of the WebSocket messages sent in the span that were delivered (%).
    ws_delivered_pct: Option<f64>,
}

/// Merges the buckets of a run's series `k` at a time.
fn merge_buckets(run: &RunResult, step_s: f64, k: usize) -> Vec<Point> {
    let index: Vec<Option<usize>> = PART_COLUMNS.iter().map(|c| run.column(c)).collect();
    run.series
        .chunks(k.max(1))
        .map(|c| {
            let width = step_s * c.len() as f64;
            let sum = |f: fn(&SeriesRow) -> u64| c.iter().map(f).sum::<u64>() as f64 / width;
            let total = |i: usize| c.iter().map(|r| r.parts[i]).sum::<f64>();
            let p99 = c.iter().filter(|r| r.ok > 0).map(|r| r.latency_p99_ms).fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
            let parts = std::array::from_fn(|j| {
                index[j].map(|i| match PART_COLUMNS[j].aggregate {
                    Aggregate::Sum => total(i) / width,
                    Aggregate::Last => c.last().map_or(0.0, |r| r.parts[i]),
                    Aggregate::Peak => c.iter().map(|r| r.parts[i]).fold(0.0, f64::max),
                })
            });
            // Chat messages sent in the bucket that reached their receiver (WebSockets or
            // long polling).
            let pair = |sent, delivered| run.column(sent).zip(run.column(delivered));
            let ws_delivered_pct = match pair(&WS_SENT, &WS_DELIVERED).or_else(|| pair(&LP_SENT, &LP_DELIVERED)) {
                Some((s, d)) if total(s) > 0.0 => Some(100.0 * total(d) / total(s)),
                _ => None,
            };
            Point {
                t0: c[0].t_s,
                t1: c[0].t_s + width,
                ok_per_s: sum(|r| r.ok),
                failed_per_s: sum(|r| r.failed),
                p99_ms: p99,
                in_rotation: c.last().map_or(0.0, |r| r.servers_in_rotation as f64),
                parts,
                ws_delivered_pct,
            }
        })
        .collect()
}

/// A fault in words, with the durations the model file uses: `server-5 killed at 5m,
/// restarted 1m later`.
pub fn describe_fault(f: &Fault) -> String {
    describe_fault_with(f, &|d| d.to_string())
}

/// A fault in words, each time written by `time` (a chart writes them in its axis's unit).
fn describe_fault_with(f: &Fault, time: &dyn Fn(SimDuration) -> String) -> String {
    let at = time(f.at);
    match &f.action {
        FaultAction::Kill { server, restart_after: Some(d) } => format!("server-{} killed at {at}, restarted {} later", server + 1, time(*d)),
        FaultAction::Kill { server, restart_after: None } => format!("server-{} killed at {at}", server + 1),
        FaultAction::RedisDown { lasting } => format!("Redis down at {at} for {}", time(*lasting)),
        FaultAction::RedisSlow { lasting, .. } => format!("Redis slow at {at} for {}", time(*lasting)),
        FaultAction::KillRedisPrimary { failover_after } => format!("Redis primary killed at {at}, replaced {} later", time(*failover_after)),
        FaultAction::KillWorker { worker } => format!("worker-{} killed at {at}", worker + 1),
        FaultAction::KillGateway { gateway, restart_after: Some(d) } => format!("gateway-{} killed at {at}, restarted {} later", gateway + 1, time(*d)),
        FaultAction::KillGateway { gateway, restart_after: None } => format!("gateway-{} killed at {at}", gateway + 1),
    }
}

/// What else happens at a moment of a variant's run and is marked like a fault: a step
/// in load, the start of a rolling deploy; each with its time in seconds.
fn moments(system: &System, time: &dyn Fn(SimDuration) -> String) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    if let Some(Profile::Step { at, factor }) = system.clients.profile {
        out.push((at.as_secs_f64(), format!("load x{} at {}", trim_zeros(&format!("{factor:.2}")), time(at))));
    }
    if let Some((at, _)) = system.fleet.deploy {
        out.push((at.as_secs_f64(), format!("rolling deploy from {}", time(at))));
    }
    out
}

/// When a fault starts and how long its effect is scheduled to last, in seconds.
fn fault_span(f: &Fault) -> (f64, f64) {
    let lasting = match &f.action {
        FaultAction::Kill { restart_after, .. } | FaultAction::KillGateway { restart_after, .. } => restart_after.map_or(0.0, |d| d.as_secs_f64()),
        FaultAction::RedisDown { lasting } | FaultAction::RedisSlow { lasting, .. } => lasting.as_secs_f64(),
        FaultAction::KillRedisPrimary { failover_after } => failover_after.as_secs_f64(),
        FaultAction::KillWorker { .. } => 0.0,
    };
    (f.at.as_secs_f64(), lasting)
}

/// A timeline panel: its title, and what it draws of each point.
type Measure = (String, Box<dyn Fn(&Point) -> Option<f64>>);

/// The panel of a part's column.
fn part_measure(column: &'static SeriesColumn) -> Measure {
    let j = PART_COLUMNS.iter().position(|c| std::ptr::eq(*c, column)).expect("a declared column");
    (column.panel_title(), Box::new(move |p: &Point| p.parts[j]))
}

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

/// Per-second throughput, failures, p99 latency (and logouts of lost sessions, where any) of every
/// variant over time (replication 0): one row per variant on shared scales, each row
/// with its own faults marked.
pub struct Timeline<'a> {
    pub model: &'a Model,
    pub runs: &'a KeptRuns,
}

const ROW_PLOT: u32 = 84;
const COLUMN_HEAD: u32 = 26;

impl Timeline<'_> {
    fn measures(&self) -> Vec<Measure> {
        let core = |label: &str, pick: fn(&Point) -> Option<f64>| -> Measure { (label.to_string(), Box::new(pick)) };
        let mut m: Vec<Measure> = vec![core("ok per s", |p| Some(p.ok_per_s)), core("failed per s", |p| Some(p.failed_per_s))];
        // A part's column gets a panel where some variant's replication 0 has a non-zero value.
        let shows = |column: &SeriesColumn| self.runs.firsts().any(|r| r.column(column).is_some_and(|i| r.series.iter().any(|row| row.parts[i] > 0.0)));
        // Page latency where uploads or jobs share the servers; the p99 of every request
        // beside it only where it says something else (where no long request completes,
        // nearly every ok request is a page and the two panels would look the same: within
        // 10% in 99% of the buckets).
        let pages_are_all = self.runs.firsts().all(|r| {
            r.column(&PAGE_LATENCY_P99).is_some_and(|i| {
                let rows: Vec<&SeriesRow> = r.series.iter().filter(|row| row.ok > 0).collect();
                let alike = rows.iter().filter(|row| (row.parts[i] - row.latency_p99_ms).abs() <= 0.1 * row.latency_p99_ms).count();
                alike as f64 >= 0.99 * rows.len() as f64
            })
        });
        if !pages_are_all {
            m.push(core("latency p99 (ms)", |p| p.p99_ms));
        }
        if shows(&PAGE_LATENCY_P99) {
            m.push(part_measure(&PAGE_LATENCY_P99));
        }
        if shows(&LOGOUTS_STATE_LOST) {
            m.push(part_measure(&LOGOUTS_STATE_LOST));
        }
        if shows(&CARTS_LOST) {
            m.push(part_measure(&CARTS_LOST));
        }
        if shows(&FILES_NOT_FOUND) {
            m.push(part_measure(&FILES_NOT_FOUND));
        }
        let fleet_moves = self.model.variants.iter().any(|v| v.system.fleet.autoscale || v.system.fleet.deploy.is_some() || v.system.fleet.spot_share > 0.0);
        if fleet_moves {
            m.push(core("servers in rotation", |p| Some(p.in_rotation)));
            m.push(part_measure(&COST_PER_HOUR));
        }
        if shows(&JOBS_QUEUED) {
            m.push(part_measure(&JOBS_QUEUED));
        }
        if shows(&WS_SENT) {
            m.push(core("messages delivered (%)", |p| p.ws_delivered_pct));
            m.push(part_measure(&WS_RECONNECTS));
        }
        if shows(&LP_SENT) {
            m.push(core("messages delivered (%)", |p| p.ws_delivered_pct));
            m.push(part_measure(&LP_REQUESTS));
        }
        if shows(&ABUSER_ALLOWED) {
            m.push(part_measure(&ABUSER_ALLOWED));
        }
        if self.runs.firsts().any(|r| r.column(&RETRY_GOODPUT).is_some()) {
            m.push(part_measure(&RETRY_GOODPUT));
        }
        if shows(&RETRY_RETRIES) {
            m.push(part_measure(&RETRY_RETRIES));
        }
        m
    }

    /// The band of column titles: one line, or two where a title must wrap.
    fn column_head(&self) -> u32 {
        let measures = self.measures();
        let w = WIDTH / measures.len().max(1) as u32;
        let two = measures.iter().any(|(label, _)| {
            let longest = if label.contains("latency") { label.replace(" (ms)", " (ms, log scale)") } else { label.clone() };
            wrap(&longest, &heading_style(), w - 8).len() > 1
        });
        if two { COLUMN_HEAD + 17 } else { COLUMN_HEAD }
    }

    fn step_s(&self) -> f64 {
        self.model.variants[0].system.run.timeseries_step.as_secs_f64()
    }

    /// Buckets merged per point, so a panel shows at most about 150 points.
    fn merge(&self) -> usize {
        let n = self.runs.firsts().map(|r| r.series.len()).max().unwrap_or(1);
        n.div_ceil(150).max(1)
    }
}

impl Chart for Timeline<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_BAND + self.column_head() + self.model.variants.len() as u32 * (ROW_HEAD + ROW_PLOT) + TIME_AXIS)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
    where
        DB::ErrorType: 'static,
    {
        let model = self.model;
        let step_s = self.step_s();
        let k = self.merge();
        let point = if k == 1 {
            format!("one point per {} (latency: of ok responses)", model.variants[0].system.run.timeseries_step)
        } else {
            format!("one point per {} s (latency: the worst {} s p99 of ok responses in it)", tick(step_s * k as f64, step_s), tick(step_s, step_s))
        };
        let area = titled(root, &model.title, &format!("{}: over time, replication 0, {point}; grey: warm-up and faults", model.name))?;
        let measures = self.measures();
        let points: Vec<Vec<Point>> =
            self.runs.variants.iter().map(|kept| kept.first.as_ref().map(|r| merge_buckets(r, step_s, k)).unwrap_or_default()).collect();
        let duration = model.variants.iter().map(|v| v.system.run.duration.as_secs_f64()).fold(0.0f64, f64::max);
        let t_end = self.runs.firsts().flat_map(|r| r.series.last()).map(|r| r.t_s + step_s).fold(0.0f64, f64::max).min(duration.max(step_s)).max(step_s);
        // Minutes on the axis for runs of ten minutes or more.
        let (t_div, t_unit) = if t_end >= 600.0 { (60.0, "min") } else { (1.0, "s") };
        let t_max = t_end / t_div;
        let scales: Vec<YScale> =
            measures.iter().map(|(label, pick)| YScale::fit(points.iter().flatten().filter_map(pick), label.contains("latency"))).collect();

        let (head, rest) = area.split_vertically(self.column_head());
        let columns = head.split_evenly((1, measures.len()));
        let y_area = 50;
        for ((c, (label, _)), scale) in columns.iter().zip(&measures).zip(&scales) {
            let (w, _) = c.dim_in_pixel();
            let label = if scale.log { label.replace(" (ms)", " (ms, log scale)") } else { label.to_string() };
            let lines = wrap(&label, &heading_style(), w - 8);
            let below = self.column_head() as i32 - 14 - 17 * lines.len() as i32;
            for (i, line) in lines.iter().enumerate() {
                c.draw(&Text::new(line.clone(), ((y_area + (w as i32 - y_area)) / 2 + 2, below + 12 + 17 * i as i32), centre(heading_style())))?;
            }
        }
        let mut rest = rest;
        let n = model.variants.len();
        for (v, variant) in model.variants.iter().enumerate() {
            let last = v + 1 == n;
            let (row, below) = rest.split_vertically(ROW_HEAD + ROW_PLOT + if last { TIME_AXIS } else { 0 });
            rest = below;
            let (row_head, row_plots) = row.split_vertically(ROW_HEAD);
            let name_w = text_width(root, &variant.name, &heading_style());
            let x = key(&row_head, v, (14, 11), true)?;
            row_head.draw(&Text::new(variant.name.clone(), (x, 11), left_centre(heading_style().color(&PALETTE[v % PALETTE.len()]))))?;
            let time = |d: SimDuration| format!("{} {t_unit}", trim_zeros(&format!("{:.2}", d.as_secs_f64() / t_div)));
            let marks = moments(&variant.system, &time);
            let faults: Vec<String> = variant.system.faults.iter().map(|f| describe_fault_with(f, &time)).chain(marks.iter().map(|(_, m)| m.clone())).collect();
            if !faults.is_empty() {
                row_head.draw(&Text::new(faults.join("; "), (x + name_w as i32 + 12, 11), left_centre(note_style())))?;
            }
            let warmup = variant.system.run.warmup.as_secs_f64() / t_div;
            // Time ticks at most one per 35 px of a panel, so narrow panels' labels do not run together.
            let x_ticks = (WIDTH / measures.len().max(1) as u32 / 35).clamp(2, 6) as usize;
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
                house_mesh(&mut mesh)
                    .disable_x_mesh()
                    .y_labels(scale.labels())
                    .x_labels(if last { x_ticks } else { 0 })
                    .y_label_formatter(&y_fmt)
                    .x_label_formatter(&x_fmt);
                if last {
                    mesh.x_desc(format!("time ({t_unit})")).axis_desc_style(label_style());
                }
                mesh.draw()?;
                for f in &variant.system.faults {
                    let at = f.at.as_secs_f64() / t_div;
                    chart.draw_series(DashedLineSeries::new(vec![(at, bottom), (at, top)], 4, 3, GREY.stroke_width(1)))?;
                }
                for (at, _) in &marks {
                    let at = at / t_div;
                    chart.draw_series(DashedLineSeries::new(vec![(at, bottom), (at, top)], 4, 3, GREY.stroke_width(1)))?;
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
                    if !rate && s.len() == 1 {
                        chart.draw_series(std::iter::once(Circle::new(s[0], 2, c.filled())))?;
                    } else {
                        variant_line(&mut chart, v, s, if rate { 1 } else { 2 })?;
                    }
                }
            }
        }
        Ok(())
    }
}
