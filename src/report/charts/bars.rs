//! Bars: the variants side by side on the headline metrics, the share of requests per
//! server, and the revocation exposure histogram.

use super::Chart;
use super::reference::Reference;
use super::references;
use super::style::*;
use crate::metrics::catalog::Metric;
use crate::metrics::{Estimate, KeptRuns, ModelSummary, Unit};
use crate::policies::LbPolicy;
use crate::report::format;
use crate::scenario::Model;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Variants side by side on the headline metrics, one small panel per metric, with 95%
/// confidence whiskers when there are replications.
/// Where theory gives a value for a panel's metric, a dashed line marks it, labelled.
pub struct VariantBars<'a> {
    pub model: &'a Model,
    pub summary: &'a ModelSummary,
    pub metrics: Vec<&'static Metric>,
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

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
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
            let scale = display_scale(metric);
            let values: Vec<Estimate> = (0..n).map(|v| estimate(s, v, metric)).collect();
            let refs = references(self.model, metric);
            let high = values.iter().map(|e| e.high().max(e.mean) * scale).chain(refs.iter().map(|r| r.value * scale)).fold(0.0f64, f64::max);
            // The value beside each bar, past its whisker, as the table writes it (mean ±
            // half-width); "n/a" where the variant has no such thing (a deploy's duration
            // without a deploy). The axis reaches far enough for the longest to fit.
            let labels: Vec<String> = (0..n)
                .map(|v| if s.variants[v].metrics.contains_key(metric.key) { format::estimate(metric.unit, &values[v]) } else { "n/a".to_string() })
                .collect();
            let plot_width = panel.dim_in_pixel().0 as f64 - name_width as f64 - 24.0;
            let fit = values
                .iter()
                .zip(&labels)
                .map(|(e, label)| {
                    let room = (plot_width - 10.0 - text_width(root, label, &label_style()) as f64).max(0.4 * plot_width);
                    e.high().max(e.mean) * scale * plot_width / room
                })
                .fold(0.0f64, f64::max);
            let top = if high > 0.0 { (high * 1.28).max(fit * 1.02) } else { 1.0 };
            // A row above the bars for the reference lines' labels.
            let above = 0.8 * reference_rows(&refs) as f64 * if n <= 5 { 1.0 } else { 1.4 };
            let integer = metric.unit == Unit::Count;
            let mut chart = ChartBuilder::on(panel)
                .caption(metric.axis_title(), heading_style())
                .margin_left(6)
                .margin_right(18)
                .margin_top(4)
                .margin_bottom(6)
                .x_label_area_size(24)
                .y_label_area_size(name_width)
                .build_cartesian_2d(0f64..top, -0.5f64..n as f64 - 0.5 + above)?;
            house_mesh(chart.configure_mesh().disable_y_mesh().y_labels(0).x_labels(4))
                .x_label_formatter(&|x| if integer && x.fract().abs() > 1e-9 { String::new() } else { tick(*x, top) })
                .draw()?;
            // Top to bottom in model order: variant i sits at y = n - 1 - i.
            let y_of = |i: usize| (n - 1 - i) as f64;
            for (i, v) in s.variants.iter().enumerate() {
                let (px, py) = chart.backend_coord(&(0.0, y_of(i)));
                root.draw(&Text::new(v.name.clone(), (px - 8, py), right_centre(label_style())))?;
            }
            chart.draw_series(values.iter().enumerate().flat_map(|(i, e)| bar(i, (0.0, y_of(i) - 0.34), (e.mean * scale, y_of(i) + 0.34))))?;
            for (i, e) in values.iter().enumerate().filter(|(_, e)| e.ci95.is_some_and(|h| h > 0.0)) {
                whisker(&chart, (e.low() * scale).max(0.0), e.high() * scale, y_of(i), true)?;
            }
            draw_references(&mut chart, root, &refs, scale, (-0.5, n as f64 - 0.5 + above))?;
            for (i, (e, label)) in values.iter().zip(labels).enumerate() {
                let (px, py) = chart.backend_coord(&(e.high().max(e.mean) * scale, y_of(i)));
                let style = if s.variants[i].metrics.contains_key(metric.key) { label_style() } else { note_style() };
                root.draw(&Text::new(label, (px + 5, py), left_centre(style)))?;
            }
        }
        Ok(())
    }
}

/// Rows of labels the reference lines of a panel need above its bars.
fn reference_rows(refs: &[Reference]) -> usize {
    refs.iter().filter(|r| !r.label.is_empty()).count().min(2)
}

/// Dashed vertical lines at each reference value (times `scale`) from `ys.0` to `ys.1`,
/// each labelled at the top: right of its line where that fits beside the labels already
/// placed, else left of it, else in the second row.
fn draw_references<DB: DrawingBackend>(
    chart: &mut ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    root: &DrawingArea<DB, Shift>,
    refs: &[Reference],
    scale: f64,
    ys: (f64, f64),
) -> ChartResult
where
    DB::ErrorType: 'static,
{
    let plot = chart.plotting_area().get_pixel_range().0;
    let mut sorted: Vec<&Reference> = refs.iter().collect();
    sorted.sort_by(|a, b| a.value.total_cmp(&b.value));
    // The pixel spans taken in each row of labels.
    let mut taken: [Vec<(i32, i32)>; 2] = [Vec::new(), Vec::new()];
    for r in sorted {
        let x = r.value * scale;
        chart.draw_series(DashedLineSeries::new(vec![(x, ys.0), (x, ys.1)], 5, 4, REFERENCE.stroke_width(1)))?;
        if r.label.is_empty() {
            continue;
        }
        let (px, py) = chart.backend_coord(&(x, ys.1));
        let w = text_width(root, &r.label, &note_style()) as i32;
        let free = |row: &Vec<(i32, i32)>, (a, b): (i32, i32)| a >= plot.start && b <= plot.end && row.iter().all(|(c, d)| b + 6 <= *c || a >= d + 6);
        let sides = [(px + 4, px + 4 + w), (px - 4 - w, px - 4)];
        let place = (0..2).flat_map(|row| sides.iter().map(move |s| (row, *s))).find(|(row, span)| free(&taken[*row], *span));
        let (row, (a, b)) = place.unwrap_or((0, sides[0]));
        taken[row].push((a, b));
        root.draw(&Text::new(r.label.clone(), (a, py + 9 + 16 * row as i32), left_centre(note_style().color(&REFERENCE))))?;
    }
    Ok(())
}

/// The mean and interval of a metric in variant `v`; zero where it has none.
fn estimate(s: &ModelSummary, v: usize, metric: &Metric) -> Estimate {
    s.variants[v].metrics.get(metric.key).copied().filter(|e| e.mean.is_finite()).unwrap_or(Estimate { mean: 0.0, ci95: None, n: 0 })
}

/// The servers any variant reports, by number: servers are numbered from 1 in every
/// variant, so the variant with the most names them all.
fn server_names(s: &ModelSummary) -> Vec<String> {
    s.variants.iter().map(|v| &v.servers).max_by_key(|servers| servers.len()).map_or_else(Vec::new, |servers| servers.iter().map(|f| f.name.clone()).collect())
}

/// The servers of variant `v` (their index in `all`), with their share of routed requests.
fn shares_of<'s>(s: &ModelSummary, v: usize, all: &'s [String]) -> Vec<(usize, &'s str, Estimate)> {
    s.variants[v].servers.iter().filter_map(|f| all.iter().position(|n| *n == f.name).map(|i| (i, all[i].as_str(), f.routed_share))).collect()
}

/// Whether some server of some variant got a share more than 10% away from an even one.
pub fn uneven_shares(s: &ModelSummary) -> bool {
    (0..s.variants.len()).any(|v| uneven_variant(s, v))
}

/// Whether some server's share in variant `v` is more than 10% off an even share.
fn uneven_variant(s: &ModelSummary, v: usize) -> bool {
    let all = server_names(s);
    let shares = shares_of(s, v, &all);
    let even = 1.0 / shares.len().max(1) as f64;
    shares.iter().any(|(_, _, e)| ((e.mean - even) / even).abs() > 0.1)
}

/// The share of routed requests per server, one row of bars per variant, with the even
/// share marked.
pub struct ServerShares<'a> {
    pub model: &'a Model,
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

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
    where
        DB::ErrorType: 'static,
    {
        let s = self.summary;
        let servers = server_names(s);
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
        // Where theory puts a hashed NAT's server, for the variants that hash by IP.
        let hot = references(self.model, &crate::metrics::catalog::SERVERS_ROUTED_SHARE_MAX);
        let top = shown
            .iter()
            .flat_map(|&v| shares_of(s, v, &servers))
            .map(|(_, _, e)| e.high() * 100.0)
            .chain(evens.iter().copied())
            .chain(hot.iter().map(|r| r.value * 100.0))
            .fold(0.0f64, f64::max)
            * 1.22;
        let mut rest = area;
        for (row_index, &v) in shown.iter().enumerate() {
            let last = row_index + 1 == shown.len();
            let (row, below) = rest.split_vertically(SHARE_ROW + if last { TIME_AXIS } else { 0 });
            rest = below;
            let (head, plot) = row.split_vertically(ROW_HEAD);
            let shares = shares_of(s, v, &servers);
            let busiest = shares.iter().max_by(|a, b| a.2.mean.total_cmp(&b.2.mean));
            let name = &s.variants[v].name;
            let x = key(&head, v, (14, 11), false)?;
            head.draw(&Text::new(name.clone(), (x, 11), left_centre(heading_style().color(&PALETTE[v % PALETTE.len()]))))?;
            if let Some((_, b, e)) = busiest {
                let w = text_width(root, name, &heading_style());
                head.draw(&Text::new(format!("busiest: {b}, {}", format::estimate(Unit::Share, e)), (x + w as i32 + 12, 11), left_centre(note_style())))?;
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
            house_mesh(&mut mesh).disable_x_mesh().y_labels(3).x_labels(if last { ns + 1 } else { 0 }).x_label_formatter(&x_fmt).y_label_formatter(&y_fmt);
            if last {
                mesh.x_desc("server (number)").axis_desc_style(label_style());
            }
            mesh.draw()?;
            chart.draw_series(shares.iter().flat_map(|(i, _, e)| {
                let x = *i as f64 + 1.0;
                bar(v, (x - 0.36, 0.0), (x + 0.36, e.mean * 100.0))
            }))?;
            for (i, _, e) in shares.iter().filter(|(_, _, e)| e.ci95.is_some_and(|h| h > 0.0)) {
                whisker(&chart, (e.low() * 100.0).max(0.0), e.high() * 100.0, *i as f64 + 1.0, false)?;
            }
            let last_server = shares.last().map_or(ns, |(i, _, _)| i + 1) as f64;
            chart.draw_series(DashedLineSeries::new(vec![(0.5, even(v)), (last_server + 0.5, even(v))], 5, 4, BLACK.stroke_width(1)))?;
            let hashes = matches!(self.model.variants[v].system.load_balancer.policy, LbPolicy::IpHash | LbPolicy::ConsistentHash);
            for r in hot.iter().filter(|_| hashes) {
                let y = r.value * 100.0;
                chart.draw_series(DashedLineSeries::new(vec![(0.5, y), (last_server + 0.5, y)], 5, 4, REFERENCE.stroke_width(1)))?;
                let (px, py) = chart.backend_coord(&(last_server + 0.5, y));
                root.draw(&Text::new(r.label.clone(), (px, py - 8), right_centre(note_style().color(&REFERENCE))))?;
            }
        }
        Ok(())
    }
}

/// Revocation: how long each fired user kept getting in, one histogram per variant
/// (replication 0) on a shared axis.
pub struct ExposureHistogram<'a> {
    pub model: &'a Model,
    pub runs: &'a KeptRuns,
}

impl Chart for ExposureHistogram<'_> {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_BAND + (ROW_HEAD + 120) * self.model.variants.len() as u32 + 40)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
    where
        DB::ErrorType: 'static,
    {
        let area = titled(
            root,
            &self.model.title,
            &format!(
                "{}: fired users by seconds from the ban until no server accepted their token (replication 0; each row its own count scale)",
                self.model.name
            ),
        )?;
        let all: Vec<&Vec<f64>> = self.runs.firsts().map(|r| &r.exposures_s).collect();
        let refs: Vec<Reference> = super::reference::exposure_references(self.model).into_iter().map(|(_, r)| r).collect();
        let max = all.iter().flat_map(|v| v.iter().copied()).chain(refs.iter().map(|r| r.value)).fold(0.0f64, f64::max).max(1.0);
        // Bins fine enough to tell 0 s from the shortest reference (a refresh period):
        // at least two bins to it, at least 60 over the axis, at most 600.
        let shortest = refs.iter().map(|r| r.value).filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
        let width = (max / 60.0).min(shortest / 2.0).max(max / 600.0) * 1.0001;
        let bins = (max / width).ceil() as usize;
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
            let top = c.iter().copied().max().unwrap_or(1).max(1) as f64 * if v == 0 { 1.15 + 0.3 * reference_rows(&refs) as f64 } else { 1.15 };
            let name = &self.model.variants[v].name;
            let mean = all[v].iter().sum::<f64>() / all[v].len().max(1) as f64;
            let note =
                format!("{} fired; exposure mean {} s, max {} s", all[v].len(), format::sig3(mean), format::sig3(all[v].iter().copied().fold(0.0, f64::max)));
            let (head, plot) = row.split_vertically(ROW_HEAD);
            let name_w = text_width(root, name, &heading_style());
            let x = key(&head, v, (14, 11), false)?;
            head.draw(&Text::new(name.clone(), (x, 11), left_centre(heading_style().color(&PALETTE[v % PALETTE.len()]))))?;
            head.draw(&Text::new(note, (x + name_w as i32 + 12, 11), left_centre(note_style())))?;
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
            house_mesh(&mut mesh).disable_x_mesh().x_labels(if last { 8 } else { 0 }).y_labels(3).x_label_formatter(&x_fmt).y_label_formatter(&y_fmt);
            if last {
                mesh.x_desc("seconds from the ban until no server accepts the token").axis_desc_style(label_style());
            }
            mesh.draw()?;
            chart.draw_series(
                c.iter().enumerate().filter(|(_, n)| **n > 0).flat_map(|(i, n)| bar(v, (i as f64 * width, 0.0), ((i as f64 + 0.9) * width, *n as f64))),
            )?;
            // The references in every row, labelled in the first.
            let shown: Vec<Reference> = if v == 0 { refs.clone() } else { refs.iter().map(|r| Reference { label: String::new(), ..r.clone() }).collect() };
            draw_references(&mut chart, root, &shown, 1.0, (0.0, top))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog::LATENCY_MS;
    use crate::metrics::summary::testing::model_and_summary_of;

    /// The numbers of each `<tag ...>` of an SVG whose attributes contain `filter`, by
    /// attribute name.
    fn elements(svg: &str, tag: &str, filter: &str) -> Vec<std::collections::BTreeMap<String, String>> {
        svg.split(&format!("<{tag} "))
            .skip(1)
            .map(|e| e.split("/>").next().unwrap())
            .filter(|e| e.contains(filter))
            .map(|e| e.split("\" ").filter_map(|kv| kv.split_once("=\"")).map(|(k, v)| (k.trim().to_string(), v.trim_matches('"').to_string())).collect())
            .collect()
    }

    /// Black horizontal segments (whiskers' spans): (y, x from, x to).
    fn whiskers(svg: &str) -> Vec<(f64, f64, f64)> {
        let mut out: Vec<(f64, f64, f64)> = elements(svg, "polyline", "stroke=\"#000000\"")
            .iter()
            .filter_map(|e| {
                let p: Vec<(f64, f64)> =
                    e["points"].split_whitespace().map(|xy| xy.split_once(',').unwrap()).map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap())).collect();
                (p[0].1 == p[1].1 && p[0].0 != p[1].0).then(|| (p[0].1, p[0].0.min(p[1].0), p[0].0.max(p[1].0)))
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }

    #[test]
    fn each_bar_carries_the_95_percent_interval_of_the_summary() {
        let p99 = LATENCY_MS.p99.key;
        let (model, summary) =
            model_and_summary_of(&[("base", &[(p99, &[100.0, 120.0, 110.0, 105.0, 115.0])]), ("slower", &[(p99, &[200.0, 260.0, 230.0, 215.0, 245.0])])]);
        let chart = VariantBars { model: &model, summary: &summary, metrics: vec![&LATENCY_MS.p99] };
        let (svg, _) = crate::report::charts::render(&chart).unwrap();
        // The bars, top to bottom in variant order: each from zero to its mean.
        let mut bars: Vec<(f64, f64, f64)> = elements(&svg, "rect", "fill=\"#")
            .iter()
            .filter(|r| r["fill"] != "#FFFFFF")
            .map(|r| (r["y"].parse().unwrap(), r["x"].parse().unwrap(), r["width"].parse().unwrap()))
            .collect();
        bars.sort_by(|a, b| a.0.total_cmp(&b.0));
        let spans = whiskers(&svg);
        assert_eq!((bars.len(), spans.len()), (2, 2), "{bars:?} {spans:?}");
        for (v, ((_, x0, width), (_, from, to))) in bars.iter().zip(&spans).enumerate() {
            let e = summary.variants[v].metrics[p99];
            let px_per_ms = width / e.mean;
            // Pixels are whole numbers: within a pixel and a half of the summary's bounds.
            assert!((from - (x0 + e.low() * px_per_ms)).abs() <= 1.5, "variant {v}: whisker from {from}, low {} ms", e.low());
            assert!((to - (x0 + e.high() * px_per_ms)).abs() <= 1.5, "variant {v}: whisker to {to}, high {} ms", e.high());
            assert!(*from < x0 + width && *to > x0 + width, "the whisker straddles the bar's end");
        }
        // Each value is labelled as the table writes it.
        assert!(svg.contains(&format::estimate(Unit::Ms, &summary.variants[1].metrics[p99])));

        // One replication: no interval, no whisker.
        let (model, summary) = model_and_summary_of(&[("base", &[(p99, &[100.0])]), ("slower", &[(p99, &[200.0])])]);
        let (svg, _) = crate::report::charts::render(&VariantBars { model: &model, summary: &summary, metrics: vec![&LATENCY_MS.p99] }).unwrap();
        assert!(whiskers(&svg).is_empty());
    }
}
