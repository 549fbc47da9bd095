//! The one style every chart shares: the embedded font, the palette, text styles, the
//! title band, axis ticks and the mesh, whiskers and wide lines.

use crate::metrics::{Metric, Unit};
use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use std::error::Error;
use std::sync::Once;

pub type ChartResult = Result<(), Box<dyn Error>>;

/// The family every text uses: plotters looks the embedded font up by this name, and
/// the SVGs carry it as their CSS `font-family`, so a browser uses DejaVu Sans where it
/// has it and its own sans-serif elsewhere.
const FONT: &str = "DejaVu Sans, sans-serif";
pub(super) static FONT_REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
pub(super) static FONT_BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");
static REGISTER: Once = Once::new();

pub(super) fn register_fonts() {
    REGISTER.call_once(|| {
        assert!(register_font(FONT, FontStyle::Normal, FONT_REGULAR).is_ok(), "embedded font parses");
        assert!(register_font(FONT, FontStyle::Bold, FONT_BOLD).is_ok(), "embedded font parses");
    });
}

/// The Okabe-Ito palette in the order variants take it (its yellow left out: it
/// vanishes on white). Variants past the seventh take the colours again with a second
/// look (see [`Look`]), so no two variants share an encoding; every chart also names
/// each variant next to its marks.
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
pub(super) const GREY: RGBColor = RGBColor(100, 100, 100);
/// Reference lines (where theory puts a value) and their labels.
pub(super) const REFERENCE: RGBColor = RGBColor(60, 60, 60);
/// Grid lines and axes.
pub(super) const GRID: RGBColor = RGBColor(225, 225, 225);
pub(super) const AXIS: RGBColor = RGBColor(150, 150, 150);
/// Background of spans that are not ordinary running time (warm-up, a fault lasting).
pub(super) const SPAN: RGBColor = RGBColor(238, 238, 238);
/// Width of every model chart, in pixels; readable scaled down to about 800.
pub const WIDTH: u32 = 900;

/// How a variant's marks look besides their colour: the first seven variants solid, the
/// next seven light (bars filled lightly with an outline, lines dashed), the next seven
/// outlined (bars empty with an outline, lines dotted). Past 21 variants encodings repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    Solid,
    Light,
    Outline,
}

/// The colour of variant `i`.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The look of variant `i`'s marks.
pub fn look(i: usize) -> Look {
    match (i / PALETTE.len()) % 3 {
        0 => Look::Solid,
        1 => Look::Light,
        _ => Look::Outline,
    }
}

/// The colour as CSS (`#0072b2`), for pages that show the same variants.
pub fn css_colour(i: usize) -> String {
    let RGBColor(r, g, b) = colour(i);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The CSS of variant `i`'s chip on a page: its colour in its look, as its bars are drawn.
pub fn css_chip(i: usize) -> String {
    let c = css_colour(i);
    match look(i) {
        Look::Solid => format!("background:{c}"),
        Look::Light => format!("background:{c}59;box-shadow:inset 0 0 0 2px {c}"),
        Look::Outline => format!("background:#fff;box-shadow:inset 0 0 0 2px {c}"),
    }
}

/// Variant `i`'s bar from `a` to `b` (opposite corners), in its colour and look.
pub(super) fn bar(i: usize, a: (f64, f64), b: (f64, f64)) -> Vec<Rectangle<(f64, f64)>> {
    let c = colour(i);
    match look(i) {
        Look::Solid => vec![Rectangle::new([a, b], c.filled())],
        Look::Light => vec![Rectangle::new([a, b], c.mix(0.35).filled()), Rectangle::new([a, b], c.stroke_width(2))],
        Look::Outline => vec![Rectangle::new([a, b], WHITE.filled()), Rectangle::new([a, b], c.stroke_width(2))],
    }
}

/// Variant `i`'s line through `points`, `width` pixels wide, in its colour and look.
pub(super) fn variant_line<DB, CT>(chart: &mut ChartContext<DB, CT>, i: usize, points: Vec<(f64, f64)>, width: u32) -> ChartResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate<From = (f64, f64)>,
{
    let style = colour(i).stroke_width(width);
    match look(i) {
        Look::Solid if width > 1 => chart.draw_series(thick_segments(&points, style)).map(|_| ())?,
        Look::Solid => chart.draw_series(LineSeries::new(points, style)).map(|_| ())?,
        Look::Light => chart.draw_series(DashedLineSeries::new(points, 7, 4, style)).map(|_| ())?,
        Look::Outline => chart.draw_series(DashedLineSeries::new(points, 2, 3, style)).map(|_| ())?,
    }
    Ok(())
}

/// Variant `i`'s key beside its name in a row heading or legend: a short bar (for charts
/// of bars) or a short line (for charts of lines) at `(x, y)`, 22 pixels wide; returns
/// where its name goes.
pub(super) fn key<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, i: usize, (x, y): (i32, i32), line: bool) -> Result<i32, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let c = colour(i);
    if line {
        let dashes: &[(i32, i32)] = match look(i) {
            Look::Solid => &[(0, 22)],
            Look::Light => &[(0, 7), (11, 18)],
            Look::Outline => &[(0, 2), (5, 7), (10, 12), (15, 17), (20, 22)],
        };
        for (a, b) in dashes {
            area.draw(&Rectangle::new([(x + a, y - 1), (x + b, y + 2)], c.filled()))?;
        }
    } else {
        let (a, b) = ((x, y - 6), (x + 22, y + 6));
        match look(i) {
            Look::Solid => area.draw(&Rectangle::new([a, b], c.filled()))?,
            Look::Light => {
                area.draw(&Rectangle::new([a, b], c.mix(0.35).filled()))?;
                area.draw(&Rectangle::new([a, b], c.stroke_width(2)))?;
            }
            Look::Outline => area.draw(&Rectangle::new([a, b], c.stroke_width(2)))?,
        }
    }
    Ok(x + 28)
}

// ---------------------------------------------------------------------------------------
// The shared style: fonts, titles, axes, number formats.

pub(super) fn title_style() -> TextStyle<'static> {
    (FONT, 21, FontStyle::Bold).into_font().into()
}
pub(super) fn heading_style() -> TextStyle<'static> {
    (FONT, 15, FontStyle::Bold).into_font().into()
}
pub(super) fn label_style() -> TextStyle<'static> {
    (FONT, 13).into_font().into()
}
pub(super) fn note_style() -> TextStyle<'static> {
    (FONT, 13).into_font().color(&GREY)
}
pub(super) fn right_centre(style: TextStyle<'static>) -> TextStyle<'static> {
    style.pos(Pos::new(HPos::Right, VPos::Center))
}
pub(super) fn left_centre(style: TextStyle<'static>) -> TextStyle<'static> {
    style.pos(Pos::new(HPos::Left, VPos::Center))
}
pub(super) fn centre(style: TextStyle<'static>) -> TextStyle<'static> {
    style.pos(Pos::new(HPos::Center, VPos::Center))
}

pub(super) const TITLE_BAND: u32 = 62;

/// Draws the title and a grey line under it; returns the area below.
pub(super) fn titled<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, subtitle: &str) -> Result<DrawingArea<DB, Shift>, Box<dyn Error>>
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

pub(super) fn trim_zeros(s: &str) -> String {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
}

/// Word-wraps `text` to `max_px` in `style`'s font (a distribution's parameter stays
/// with its value: "cv 0.5").
pub(super) fn wrap(text: &str, style: &TextStyle, max_px: u32) -> Vec<String> {
    let width = |s: &str| style.font.box_size(s).map(|(w, _)| w).unwrap_or(8 * s.len() as u32);
    let text = text.replace(" cv ", " cv\u{a0}");
    let mut lines: Vec<String> = Vec::new();
    // A word wider than the line (a long variant name) breaks after a hyphen.
    let mut words: Vec<String> = Vec::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if width(word) <= max_px || !word.contains('-') {
            words.push(word.to_string());
            continue;
        }
        let mut piece = String::new();
        for part in word.split_inclusive('-') {
            if !piece.is_empty() && width(&format!("{piece}{part}")) > max_px {
                words.push(piece.clone());
                piece.clear();
            }
            piece.push_str(part);
        }
        words.push(piece);
    }
    for word in words.iter().map(String::as_str) {
        match lines.last_mut() {
            Some(line) if width(&format!("{line} {word}")) <= max_px => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    // No word alone on the last line ("per s" / "s"): the line before gives it its last
    // word when both still fit.
    if let [.., before, last] = lines.as_mut_slice()
        && !last.contains(' ')
        && let Some((head, tail)) = before.rsplit_once(' ')
        && tail.chars().any(char::is_alphanumeric)
        && width(&format!("{tail} {last}")) <= max_px
    {
        *last = format!("{tail} {last}");
        *before = head.to_string();
    }
    lines
}

pub(super) fn text_width<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, style: &TextStyle) -> u32 {
    area.estimate_text_size(text, style).map(|(w, _)| w).unwrap_or(8 * text.len() as u32)
}

/// A 95% interval from `low` to `high` at `at` on the other axis, with end caps:
/// horizontal (values on x) or vertical.
pub(super) fn whisker<DB: DrawingBackend>(
    chart: &ChartContext<DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    low: f64,
    high: f64,
    at: f64,
    horizontal: bool,
) -> ChartResult
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

/// A line wider than one pixel as separate segments. The bitmap backend joins a wide
/// polyline with unlimited mitres, so a sharp spike would be drawn far past its value
/// (even above the plot); segments have no joins to overshoot.
pub(super) fn thick_segments(line: &[(f64, f64)], style: ShapeStyle) -> impl Iterator<Item = PathElement<(f64, f64)>> + '_ {
    line.windows(2).map(move |w| PathElement::new(vec![w[0], w[1]], style))
}

/// The height of the band naming a variant above its row, and of the time axis under
/// the last row.
pub(super) const ROW_HEAD: u32 = 22;
pub(super) const TIME_AXIS: u32 = 44;

/// What a metric's values are multiplied by on a chart: shares are drawn in percent.
pub(super) fn display_scale(metric: &Metric) -> f64 {
    if metric.unit == Unit::Share { 100.0 } else { 1.0 }
}

/// The mesh every chart draws: grey tick labels, bold grid lines only, grey axes.
pub(super) fn house_mesh<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    mesh.x_label_style(label_style().color(&GREY))
        .y_label_style(label_style().color(&GREY))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
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
    fn no_word_is_left_alone_on_the_last_line() {
        let style = label_style();
        let text = "logouts, state lost per s";
        // Narrow enough that greedy wrapping leaves "s" alone.
        let width = |s: &str| style.font.box_size(s).unwrap().0;
        let max_px = width("logouts, state lost per") + 2;
        assert_eq!(wrap(text, &style, max_px), ["logouts, state lost", "per s"]);
        assert_eq!(wrap(text, &style, width(text) + 2), [text], "what fits stays on one line");
        // A separator never starts a line.
        let list = "round-robin / random / ip-hash";
        let lines = wrap(list, &style, width("round-robin / random /") + 2);
        assert!(lines.iter().all(|l| !l.starts_with('/')), "{lines:?}");
        // A name wider than the line breaks after a hyphen, and every line fits.
        let name = "only in playbook-local-10-servers, playbook-redis-10-servers";
        let max_px = width("playbook-local-10-servers") - 10;
        let lines = wrap(name, &style, max_px);
        assert!(lines.iter().all(|l| width(l) <= max_px), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), name.replace(' ', ""), "nothing lost: {lines:?}");
    }
}
