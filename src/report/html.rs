//! `index.html`: every model of a run on one self-contained page (no network: inline
//! CSS, no scripts, charts as relative links to the SVGs in each model's folder).

use super::ChartFile;
use super::charts::{self, css_colour};
use super::{format, headline, table};
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

/// A path segment for a relative link: everything but unreserved characters encoded.
fn url_segment(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The model's story (its `story`, which the loader of the model's text fills) as
/// paragraphs, without one that only repeats the title.
pub fn story(model: &Model) -> Vec<String> {
    let text = &model.story;
    let mut paragraphs: Vec<String> = Vec::new();
    for block in text.split("\n\n") {
        let p = block.split_whitespace().collect::<Vec<_>>().join(" ");
        if !p.is_empty() && p != model.title {
            paragraphs.push(p);
        }
    }
    paragraphs
}

/// One line with the run's own numbers: the measure of what users got on which the
/// variants differ most, per variant (grouped when many share a value).
pub fn takeaway(summary: &ModelSummary) -> String {
    let Some(metric) = headline::most_different(summary) else {
        return "The variants do not differ on the headline measures.".to_string();
    };
    let mut values: Vec<(f64, String, &str)> = summary
        .variants
        .iter()
        .map(|v| {
            let x = v.metrics.get(metric.key).map_or(0.0, |e| e.mean);
            (x, format::with_unit(metric.unit, x), v.name.as_str())
        })
        .collect();
    // The values carry their unit.
    let label = metric.label;
    if values.len() <= 4 {
        let parts: Vec<String> = values.iter().map(|(_, text, name)| format!("{name} {text}")).collect();
        return format!("{label}: {}.", parts.join("; "));
    }
    // Many variants: highest first, those showing the same number together.
    values.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (_, text, name) in &values {
        match groups.last_mut() {
            Some((t, names)) if t == text => names.push(name),
            _ => groups.push((text.clone(), vec![name])),
        }
    }
    let show = |(text, names): &(String, Vec<&str>), last: bool| {
        if names.len() <= 2 {
            format!("{} {text}", names.join(" and "))
        } else if last {
            format!("the other {} variants {text}", names.len())
        } else {
            format!("{} variants {text}", names.len())
        }
    };
    let mut parts: Vec<String> = Vec::new();
    let n = groups.len();
    for (i, g) in groups.iter().enumerate() {
        if n > 4 && i == 2 {
            parts.push("…".to_string());
        }
        if n <= 4 || i < 2 || i == n - 1 {
            parts.push(show(g, i == n - 1 && i > 0));
        }
    }
    format!("{label}: {}.", parts.join("; "))
}

const STYLE: &str = "\
body{font-family:'DejaVu Sans',-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222;line-height:1.5}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:2.4em;border-bottom:1px solid #ddd;padding-bottom:.2em;font-size:1.35em}
h3{font-size:1.05em;margin:1.4em 0 .4em}
a{color:#0072b2}
.meta{color:#666;font-size:.9em}
.story p{margin:.5em 0;color:#333}
.takeaway{font-weight:600;background:#eef6fb;border-left:4px solid #0072b2;padding:.5em .8em;margin:1em 0}
.chip{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.3em;vertical-align:baseline}
.variants{list-style:none;padding:0;margin:.4em 0;display:flex;flex-wrap:wrap;gap:.3em 1.2em}
.variants code{font-size:.95em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.86em;margin:.6em 0}
th,td{padding:.2em .6em;border-bottom:1px solid #e5e5e5;text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
th:first-child,td:first-child{text-align:left}
td.sub{padding-left:1.8em;color:#555}
thead th{background:#f2f2f2;vertical-align:bottom}
figure{margin:1.4em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.88em;margin-top:.2em}
.overview th,.overview td{white-space:normal;text-align:left;vertical-align:top}
.overview td:first-child{white-space:nowrap}
";

/// The page: an overview with every model's takeaway, then per model its question,
/// story, variants, comparison table, takeaway and charts.
pub fn render(sections: &[ModelSection]) -> String {
    let mut h = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>statesim report</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<h1>statesim report</h1>\n<p class=\"meta\">{} simulated by statesim {}. Every number on this page comes from the runs that wrote it; each model's folder holds its summary.json, timeseries.csv and charts (SVG and PNG).</p>\n",
        if sections.len() == 1 { "One model".to_string() } else { format!("{} models", sections.len()) },
        env!("CARGO_PKG_VERSION")
    );
    h.push_str("<table class=\"overview\">\n<thead><tr><th>model</th><th>question</th><th>what the run shows</th></tr></thead>\n<tbody>\n");
    for s in sections {
        h.push_str(&format!(
            "<tr><td><a href=\"#{0}\">{0}</a></td><td>{1}</td><td>{2}</td></tr>\n",
            esc(&s.model.name),
            esc(&s.model.title),
            esc(&takeaway(s.summary))
        ));
    }
    h.push_str("</tbody>\n</table>\n");
    for s in sections {
        h.push_str(&section(s));
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn section(s: &ModelSection) -> String {
    let m = s.model;
    let folder = url_segment(&s.folder);
    let mut h = format!("<section id=\"{}\">\n<h2>{}</h2>\n", esc(&m.name), esc(&m.title));
    h.push_str(&format!(
        "<p class=\"meta\">model <code>{}</code> ({}), seed {}, {} replication{}</p>\n",
        esc(&m.name),
        esc(&m.source),
        s.summary.seed,
        s.summary.replications,
        if s.summary.replications == 1 { "" } else { "s" }
    ));
    let story = story(m);
    if !story.is_empty() {
        h.push_str("<div class=\"story\">\n");
        for p in story {
            h.push_str(&format!("<p>{}</p>\n", esc(&p)));
        }
        h.push_str("</div>\n");
    }
    // Faults: once when every variant has the same, else with each variant.
    let faults_of = |v: &crate::scenario::Variant| v.system.faults.iter().map(charts::describe_fault).collect::<Vec<_>>().join("; ");
    let shared = m.variants.iter().all(|v| faults_of(v) == faults_of(&m.variants[0]));
    h.push_str("<h3>Variants</h3>\n<ul class=\"variants\">\n");
    for (i, v) in m.variants.iter().enumerate() {
        let faults = faults_of(v);
        let faults = if shared || faults.is_empty() { String::new() } else { format!(" <span class=\"meta\">({})</span>", esc(&faults)) };
        h.push_str(&format!("<li><span class=\"chip\" style=\"background:{}\"></span><code>{}</code>{faults}</li>\n", css_colour(i), esc(&v.name)));
    }
    h.push_str("</ul>\n");
    if shared && !faults_of(&m.variants[0]).is_empty() {
        h.push_str(&format!("<p class=\"meta\">Faults, the same in every variant: {}.</p>\n", esc(&faults_of(&m.variants[0]))));
    }
    h.push_str(&format!("<p class=\"takeaway\">{}</p>\n", esc(&takeaway(s.summary))));
    h.push_str("<div class=\"scroll\">\n<table>\n<thead><tr>");
    for c in table::header(s.summary) {
        h.push_str(&format!("<th>{}</th>", esc(&c)));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for row in table::rows(s.summary) {
        h.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            let class = if i == 0 && c.starts_with("  ") { " class=\"sub\"" } else { "" };
            h.push_str(&format!("<td{class}>{}</td>", esc(c.trim())));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n</div>\n");
    if let Some(diff) = table::render_differences(s.summary) {
        h.push_str(&format!(
            "<details><summary>Paired differences from {}</summary>\n<pre>{}</pre>\n</details>\n",
            esc(&s.summary.variants[0].name),
            esc(&diff)
        ));
    }
    for c in &s.charts {
        let (stem, caption, (w, ht)) = (url_segment(&c.stem), esc(&c.caption), c.size);
        h.push_str(&format!("<figure><img src=\"{folder}/{stem}.svg\" width=\"{w}\" height=\"{ht}\" alt=\"{caption}\"><figcaption>{caption} <a href=\"{folder}/{stem}.png\">PNG</a></figcaption></figure>\n"));
    }
    h.push_str(&format!("<p class=\"meta\">Files: <a href=\"{folder}/summary.json\">summary.json</a>, <a href=\"{folder}/timeseries.csv\">timeseries.csv</a>, <a href=\"{folder}/topology.dot\">topology.dot</a></p>\n</section>\n"));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_encoded() {
        assert_eq!(url_segment("crash-test"), "crash-test");
        assert_eq!(url_segment("a b&c"), "a%20b%26c");
    }
}
