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
//! - [`LatencyTail`]: the share of requests slower than each time, p90 to p99.99, on
//!   log axes;
//! - [`ExposureHistogram`]: how long each fired user kept getting in;
//! - [`TopologyPicture`]: the system drawn from its graph, every variant in one picture;
//! - [`SweepLines`]: a headline metric across a sweep's grid;
//! - [`CheckChart`]: `statesim check`, each simulated figure with its 95% interval
//!   beside the analytic value.
//!
//! One file per family of charts; `style` holds what they share.

mod bars;
mod cdf;
mod check;
mod raster;
mod reference;
mod style;
mod sweep;
mod timeline;
mod topology;

pub use bars::{ExposureHistogram, ServerShares, VariantBars, uneven_shares};
pub use cdf::{LatencyCdf, LatencyTail, percentiles_differ};
pub use check::{CheckChart, CheckWords};
pub use reference::{Reference, references};
pub use style::{Look, PALETTE, WIDTH, colour, css_chip, css_colour, look, tick};
pub use sweep::SweepLines;
pub use timeline::{Timeline, describe_fault};
pub use topology::TopologyPicture;

use plotters::coord::Shift;
use plotters::prelude::*;
use std::error::Error;
use style::{ChartResult, register_fonts};

/// A chart that can draw itself on any plotters backend.
pub trait Chart {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
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
        let root = raster::Raster::new(BitMapBackend::with_buffer(&mut rgb, (w, h))).into_drawing_area();
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
