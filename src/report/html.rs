//! `index.html`: every model of a run on one self-contained page (no network: inline
//! CSS, charts as relative links to the SVGs beside it).

use super::table;
use super::ChartFile;
use crate::metrics::ModelSummary;
use crate::scenario::Model;

/// What the page shows for one model.
pub struct ModelSection<'a> {
    pub model: &'a Model,
    pub summary: &'a ModelSummary,
    /// Folder of the model's outputs, relative to the page.
    pub folder: String,
    pub charts: Vec<ChartFile>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One line with the run's own numbers: the most telling metric, per variant.
pub fn takeaway(summary: &ModelSummary) -> String {
    let metric = super::charts::headline_metrics(summary, 1)[0];
    let values: Vec<String> = summary
        .variants
        .iter()
        .map(|v| {
            let x = v.metrics.get(metric.key).map_or(0.0, |e| e.mean) * metric.scale;
            format!("{} {}", v.name, table::sig3(x))
        })
        .collect();
    format!("{}: {}.", metric.label, values.join(", "))
}

pub fn render(sections: &[ModelSection]) -> String {
    let mut h = String::from(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>statesim report</title>\n<style>\n\
body{font-family:-apple-system,'Segoe UI','DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\n\
h1{font-size:1.8em}h2{margin-top:2.2em;border-bottom:1px solid #ddd;padding-bottom:.2em}\n\
.story{white-space:pre-wrap;color:#444;background:#f7f7f7;padding:.8em 1em;border-radius:6px;font-size:.92em}\n\
.takeaway{font-weight:600;background:#eef6fb;border-left:4px solid #0072b2;padding:.5em .8em}\n\
table{border-collapse:collapse;font-size:.88em;margin:1em 0;display:block;overflow-x:auto}\n\
th,td{padding:.25em .6em;border-bottom:1px solid #e5e5e5;text-align:right;white-space:nowrap}th:first-child,td:first-child{text-align:left}\n\
thead th{background:#f2f2f2}figure{margin:1.2em 0}figure img{width:100%;height:auto;border:1px solid #eee}figcaption{color:#555;font-size:.9em}\n\
nav a{margin-right:1em}.meta{color:#666;font-size:.9em}\n</style>\n</head>\n<body>\n<h1>statesim report</h1>\n",
    );
    h.push_str("<p class=\"meta\">Every number on this page comes from the simulation runs that wrote it. Models:</p>\n<nav>");
    for s in sections {
        h.push_str(&format!("<a href=\"#{}\">{}</a>", esc(&s.model.name), esc(&s.model.name)));
    }
    h.push_str("</nav>\n");
    for s in sections {
        let m = s.model;
        h.push_str(&format!("<section id=\"{}\">\n<h2>{}</h2>\n", esc(&m.name), esc(&m.title)));
        h.push_str(&format!(
            "<p class=\"meta\">model <code>{}</code> ({}), seed {}, {} replication(s), variants: {}</p>\n",
            esc(&m.name),
            esc(&m.source),
            s.summary.seed,
            s.summary.replications,
            m.variants.iter().map(|v| format!("<code>{}</code>", esc(&v.name))).collect::<Vec<_>>().join(", ")
        ));
        h.push_str(&format!("<p class=\"takeaway\">{}</p>\n", esc(&takeaway(s.summary))));
        if !m.story.is_empty() {
            h.push_str(&format!("<div class=\"story\">{}</div>\n", esc(&m.story)));
        }
        h.push_str("<table>\n<thead><tr>");
        for c in table::header(s.summary) {
            h.push_str(&format!("<th>{}</th>", esc(&c)));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for row in table::rows(s.summary) {
            h.push_str("<tr>");
            for c in row {
                h.push_str(&format!("<td>{}</td>", esc(c.trim())));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table>\n");
        for c in &s.charts {
            h.push_str(&format!(
                "<figure><img src=\"{}/{}.svg\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
                esc(&s.folder),
                esc(&c.stem),
                esc(&c.caption),
                esc(&c.caption)
            ));
        }
        h.push_str(&format!("<p class=\"meta\">Files: <a href=\"{0}/summary.json\">summary.json</a>, <a href=\"{0}/timeseries.csv\">timeseries.csv</a>, <a href=\"{0}/topology.dot\">topology.dot</a></p>\n</section>\n", esc(&s.folder)));
    }
    h.push_str("</body>\n</html>\n");
    h
}
