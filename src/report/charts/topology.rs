//! The system drawn from its graph.

use super::Chart;
use super::style::*;
use plotters::coord::Shift;
use plotters::prelude::*;

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

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult
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
