//! The system drawn from its graph: every variant's nodes and hops in one picture.

use super::Chart;
use super::style::*;
use crate::components::topology::{Overview, Role};
use petgraph::graph::NodeIndex;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// The model's [`Overview`]: columns from clients to back ends, an arrow per hop. A
/// hop's latency is written above the gap between two columns when every hop across
/// that gap has the same one, and otherwise inside the box it leads to, so no label
/// sits on an arrow. A node that only some variants have is drawn with a grey border
/// and says which.
pub struct TopologyPicture<'a> {
    pub title: &'a str,
    pub overview: &'a Overview,
}

const LINE_PX: i32 = 17;
/// Room above the boxes for hop labels of up to three lines.
const BAND_PX: i32 = 52;
/// Room below the boxes for hops that skip a column (clients straight to S3).
const ROUTE_PX: i32 = 16;

/// Where each node goes and what it says.
struct Layout {
    columns: Vec<Vec<NodeIndex>>,
    box_w: i32,
    gap: i32,
    /// Each node's lines, wrapped to its box, with any hop latency and the variants
    /// that have it.
    lines: BTreeMap<NodeIndex, Vec<(String, bool)>>,
    /// Gaps (between columns c and c + 1) whose hops share one latency, written above.
    band_labels: BTreeMap<usize, String>,
}

/// Word-wraps `text` to `max_px` in the label font.
fn wrap(text: &str, max_px: u32) -> Vec<String> {
    super::style::wrap(text, &label_style(), max_px)
}

impl TopologyPicture<'_> {
    fn layout(&self) -> Layout {
        let o = self.overview;
        let g = &o.graph;
        let columns = o.layers();
        let column_of: BTreeMap<NodeIndex, usize> = columns.iter().enumerate().flat_map(|(c, l)| l.iter().map(move |&n| (n, c))).collect();
        let cols = columns.len() as i32;
        // Narrower boxes when a fifth column (workers) needs the room for hop labels.
        let box_w = if cols > 4 { 126 } else { 150 };
        let gap = (WIDTH as i32 - 40 - cols * box_w) / (cols - 1).max(1);
        // The distinct latencies across each gap between neighbouring columns.
        let mut across: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for e in g.edge_indices() {
            let (a, b) = g.edge_endpoints(e).expect("edge");
            let (ca, cb) = (column_of[&a], column_of[&b]);
            let label = g[e].label.as_str();
            if ca.abs_diff(cb) == 1 && !label.is_empty() {
                let seen = across.entry(ca.min(cb)).or_default();
                if !seen.contains(&label) {
                    seen.push(label);
                }
            }
        }
        let band_labels: BTreeMap<usize, String> = across.iter().filter(|(_, l)| l.len() == 1).map(|(&c, l)| (c, l[0].to_string())).collect();
        let text_px = (box_w - 16) as u32;
        let mut lines: BTreeMap<NodeIndex, Vec<(String, bool)>> = BTreeMap::new();
        for n in g.node_indices() {
            let mut own: Vec<(String, bool)> = g[n].lines.iter().flat_map(|l| wrap(l, text_px)).map(|l| (l, false)).collect();
            // Hop latencies the band above does not carry, once each.
            let mut hops: Vec<&str> = Vec::new();
            for e in g.edges_directed(n, petgraph::Direction::Incoming) {
                let c = column_of[&petgraph::visit::EdgeRef::source(&e)];
                let label = e.weight().label.as_str();
                let in_band = c.abs_diff(column_of[&n]) == 1 && band_labels.contains_key(&c.min(column_of[&n]));
                if !label.is_empty() && !in_band && !hops.contains(&label) {
                    hops.push(label);
                }
            }
            for h in hops {
                own.extend(wrap(&format!("hop {h}"), text_px).into_iter().map(|l| (l, true)));
            }
            if let Some(names) = o.only_in(n) {
                let note =
                    if names.len() <= 2 { format!("only in {}", names.join(", ")) } else { format!("in {} of {} variants", names.len(), o.variants.len()) };
                own.extend(wrap(&note, text_px).into_iter().map(|l| (l, true)));
            }
            lines.insert(n, own);
        }
        Layout { columns, box_w, gap, lines, band_labels }
    }

    fn box_height(layout: &Layout, n: NodeIndex) -> i32 {
        12 + LINE_PX * layout.lines[&n].len() as i32
    }
}

impl Chart for TopologyPicture<'_> {
    fn size(&self) -> (u32, u32) {
        let layout = self.layout();
        let tallest = layout.columns.iter().map(|l| l.iter().map(|&n| Self::box_height(&layout, n) + 12).sum::<i32>()).max().unwrap_or(100);
        (WIDTH, (tallest + BAND_PX + 100 + ROUTE_PX).max(280) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
    where
        DB::ErrorType: 'static,
    {
        let o = self.overview;
        let subtitle = if o.variants.len() == 1 {
            format!("variant {}: the nodes of the model's graph and the latency of each hop", o.variants[0])
        } else {
            let all = if o.variants.len() == 2 { "both variants".to_string() } else { format!("all {} variants", o.variants.len()) };
            format!("{all} in one graph: each node, each hop and its latency once")
        };
        let area = titled(root, self.title, &subtitle)?;
        let layout = self.layout();
        let (w, h) = area.dim_in_pixel();
        let _ = w;
        let (box_w, gap) = (layout.box_w, layout.gap);
        let mut pos: BTreeMap<NodeIndex, (i32, i32, i32)> = BTreeMap::new();
        let mut column_top = Vec::new();
        for (c, layer) in layout.columns.iter().enumerate() {
            let total: i32 = layer.iter().map(|&n| Self::box_height(&layout, n) + 12).sum();
            let mut y = BAND_PX + ((h as i32 - BAND_PX - ROUTE_PX - total) / 2).max(4);
            column_top.push(y);
            let x = 20 + c as i32 * (box_w + gap);
            for &n in layer {
                let bh = Self::box_height(&layout, n);
                pos.insert(n, (x, y, bh));
                y += bh + 12;
            }
        }
        let g = &o.graph;
        for e in g.edge_indices() {
            let (a, b) = g.edge_endpoints(e).expect("edge");
            let (&(ax, ay, ah), &(bx, by, bh)) = (&pos[&a], &pos[&b]);
            let (ca, cb) = ((ax - 20) / (box_w + gap), (bx - 20) / (box_w + gap));
            let path = if ca.abs_diff(cb) > 1 {
                // A hop that skips a column goes round beneath the boxes, not through them.
                let below = pos.values().map(|&(_, y, bh)| y + bh).max().unwrap_or(0) + ROUTE_PX - 4;
                let (fx, tx) = (ax + box_w / 2, bx + box_w / 2);
                vec![(fx, ay + ah), (fx, below), (tx, below), (tx, by + bh)]
            } else if bx > ax {
                // Forward hops leave a box's right side, backward ones (workers writing
                // to S3) its left side.
                vec![(ax + box_w, ay + ah / 2), (bx, by + bh / 2)]
            } else {
                vec![(ax, ay + ah / 2), (bx + box_w, by + bh / 2)]
            };
            area.draw(&PathElement::new(path.clone(), GREY.stroke_width(1)))?;
            let (from, to) = (path[path.len() - 2], path[path.len() - 1]);
            let (dx, dy) = ((to.0 - from.0) as f64, (to.1 - from.1) as f64);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let (ux, uy) = (dx / len, dy / len);
            let back = |side: f64| (to.0 - (ux * 8.0 - uy * side * 4.0) as i32, to.1 - (uy * 8.0 + ux * side * 4.0) as i32);
            area.draw(&Polygon::new(vec![to, back(1.0), back(-1.0)], GREY.filled()))?;
        }
        // Hop latencies shared across a gap, above the boxes on both sides.
        for (&c, label) in &layout.band_labels {
            let x0 = 20 + c as i32 * (box_w + gap) + box_w;
            let lines = wrap(label, (gap - 6).max(40) as u32);
            let top = column_top[c].min(column_top[c + 1]);
            let style = centre(label_style().color(&GREY));
            for (i, line) in lines.iter().enumerate() {
                let y = top - 10 - 15 * (lines.len() - 1 - i) as i32;
                area.draw(&Text::new(line.clone(), (x0 + gap / 2, y), style.clone()))?;
            }
        }
        for (n, &(x, y, bh)) in &pos {
            let fill = match g[*n].role {
                Role::Server | Role::Worker => PALETTE[5].mix(0.25),
                Role::Balancer => PALETTE[1].mix(0.35),
                Role::Backend => PALETTE[2].mix(0.3),
                Role::Clients => PALETTE[4].mix(0.25),
            };
            let border = if o.only_in(*n).is_some() { GREY } else { BLACK };
            area.draw(&Rectangle::new([(x, y), (x + box_w, y + bh)], fill.filled()))?;
            area.draw(&Rectangle::new([(x, y), (x + box_w, y + bh)], border.stroke_width(1)))?;
            for (i, (line, note)) in layout.lines[n].iter().enumerate() {
                let style = if *note { note_style() } else { label_style() };
                area.draw(&Text::new(line.clone(), (x + 8, y + 6 + LINE_PX * i as i32), style))?;
            }
        }
        Ok(())
    }
}
