//! The PNG's backend: plotters' bitmap backend with text laid out properly.
//!
//! plotters draws a glyph of the `ab_glyph` font at the pen position truncated to a whole
//! pixel and without the glyph's left side bearing, so letters drift apart and together
//! ("fail ed per s", "sti cky-memory"), and thin horizontal strokes (a hyphen) land
//! between pixel rows as faint dots. This backend passes everything to the bitmap backend
//! but text, which it draws itself: each glyph at its exact (sub-pixel) position with its
//! bearing and kerning, on the same baseline and in the same box plotters uses (so a
//! chart's layout, which plotters measures, does not move), with coverage lifted by a
//! gamma so that thin strokes keep their weight at 13 px. The SVG is unaffected: there
//! the viewer lays the text out.

use super::style::{FONT_BOLD, FONT_REGULAR};
use ab_glyph::{Font, FontRef, ScaleFont, point};
use plotters::prelude::BitMapBackend;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind};
use std::sync::OnceLock;

/// Coverage is raised to this power: below 1 darkens anti-aliased edges, as hinting or
/// stem darkening would, so strokes narrower than a pixel stay visible.
const COVERAGE_GAMMA: f32 = 0.7;

fn font(style: FontStyle) -> &'static FontRef<'static> {
    static REGULAR: OnceLock<FontRef<'static>> = OnceLock::new();
    static BOLD: OnceLock<FontRef<'static>> = OnceLock::new();
    let (cell, bytes) = if matches!(style, FontStyle::Bold) { (&BOLD, FONT_BOLD) } else { (&REGULAR, FONT_REGULAR) };
    cell.get_or_init(|| FontRef::try_from_slice(bytes).expect("embedded font parses"))
}

pub(super) struct Raster<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> Raster<'a> {
    pub(super) fn new(inner: BitMapBackend<'a>) -> Self {
        Raster { inner }
    }
}

type Result<E> = std::result::Result<(), DrawingErrorKind<E>>;

impl<'a> DrawingBackend for Raster<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }
    fn ensure_prepared(&mut self) -> Result<Self::ErrorType> {
        self.inner.ensure_prepared()
    }
    fn present(&mut self) -> Result<Self::ErrorType> {
        self.inner.present()
    }
    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<Self::ErrorType> {
        self.inner.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, style: &S) -> Result<Self::ErrorType> {
        self.inner.draw_line(from, to, style)
    }
    fn draw_rect<S: BackendStyle>(&mut self, upper_left: BackendCoord, bottom_right: BackendCoord, style: &S, fill: bool) -> Result<Self::ErrorType> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(&mut self, path: I, style: &S) -> Result<Self::ErrorType> {
        self.inner.draw_path(path, style)
    }
    fn draw_circle<S: BackendStyle>(&mut self, center: BackendCoord, radius: u32, style: &S, fill: bool) -> Result<Self::ErrorType> {
        self.inner.draw_circle(center, radius, style, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(&mut self, vert: I, style: &S) -> Result<Self::ErrorType> {
        self.inner.fill_polygon(vert, style)
    }
    fn blit_bitmap(&mut self, pos: BackendCoord, (iw, ih): (u32, u32), src: &[u8]) -> Result<Self::ErrorType> {
        self.inner.blit_bitmap(pos, (iw, ih), src)
    }

    fn draw_text<TStyle: BackendTextStyle>(&mut self, text: &str, style: &TStyle, pos: BackendCoord) -> Result<Self::ErrorType> {
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let size = style.size() as f32;
        let font = font(style.style());
        let scaled = font.as_scaled(size);
        // The box plotters measures (and so lays the chart out by): the advances and
        // kerning, as wide; size / 1.24 high.
        let ids: Vec<_> = text.chars().map(|c| font.glyph_id(c)).collect();
        let mut pens = Vec::with_capacity(ids.len());
        let mut pen = 0f32;
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                pen += scaled.kern(ids[i - 1], *id);
            }
            pens.push(pen);
            pen += scaled.h_advance(*id);
        }
        let (width, height) = (pen as i32, (size as f64 / 1.24) as i32);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        let rgb = colour.rgb;
        for (id, x) in ids.iter().zip(pens) {
            // The baseline where plotters puts it: half the size below the box's top.
            let glyph = id.with_scale_and_position(size, point(x, size / 2.0));
            let Some(outline) = font.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            let mut pixels = Vec::new();
            outline.draw(|gx, gy, coverage| pixels.push((bounds.min.x as i32 + gx as i32, bounds.min.y as i32 + gy as i32, coverage)));
            for (gx, gy, coverage) in pixels {
                let (tx, ty) = transform.transform(gx + dx, gy + dy);
                let (px, py) = (pos.0 + tx, pos.1 + ty);
                if coverage > 0.0 && px >= 0 && py >= 0 && (px as u32) < w && (py as u32) < h {
                    let alpha = colour.alpha * f64::from(coverage.min(1.0).powf(COVERAGE_GAMMA));
                    self.inner.draw_pixel((px, py), BackendColor { alpha, rgb })?;
                }
            }
        }
        Ok(())
    }
}
