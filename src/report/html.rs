//! `index.html`: every model of a run on one self-contained page (no network: inline
//! CSS, no scripts, charts as relative links to the SVGs in each model's folder).
//!
//! The page is a course, not a catalogue: models come in the playbook's order
//! ([`crate::playbook`]) under a table of contents, each section opens with the
//! takeaway its model file states (numbers from the run, comparisons checked on it) and
//! says where the model is told at length (its walkthrough, its notebook, its file). It
//! must read at 1400 px and at 390 px: the page uses the width it has, a table of many
//! variants is split into tables of a few that sit side by side when there is room, and a
//! chart is never drawn so narrow that its text falls below 10 px (it scrolls sideways instead).

use super::ChartFile;
use super::charts::{self, css_chip};
use super::{table, takeaway};
use crate::check::CheckRow;
use crate::metrics::ModelSummary;
use crate::playbook;
use crate::scenario::Model;

/// The theory check the run made, for the page's last section: its rows and chart, in
/// `folder` (relative to the page).
pub struct CheckSection<'a> {
    pub rows: &'a [CheckRow],
    pub folder: String,
    pub chart: ChartFile,
}

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

/// Most variants one table shows; more are split into tables of about equal size, which
/// sit side by side where the page is wide and one under the other where it is not.
/// Three, since a cell holds a value, its `±` half-width and a mark: a table of three
/// still fits a phone's 390 px.
const VARIANTS_PER_TABLE: usize = 3;

/// The smallest width a chart is drawn at, in CSS pixels: its smallest text (a font
/// size of 11.2 px at its natural 900) stays at 10 px or more. Narrower screens scroll
/// the chart sideways.
const CHART_MIN_WIDTH: u32 = 810;

const STYLE: &str = "\
body{font-family:'DejaVu Sans',-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:1560px;margin:1.5em auto;padding:0 24px;color:#222;line-height:1.5}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin:.2em 0 .4em;font-size:1.35em}
section{border-top:1px solid #ddd;margin-top:2.6em;padding-top:.6em}
h3{font-size:1.05em;margin:1.4em 0 .4em}
a{color:#0072b2}
p,li{max-width:82ch}
.meta{color:#666;font-size:.9em}
.kicker{color:#0072b2;font-size:.85em;text-transform:uppercase;letter-spacing:.06em;margin:0}
.story p{margin:.5em 0;color:#333}
.takeaway{font-weight:600;background:#eef6fb;border-left:4px solid #0072b2;padding:.5em .8em;margin:1em 0 .3em;max-width:82ch}
.checks{margin:.2em 0 1em;font-size:.88em;color:#444}.checks summary{cursor:pointer}
.checks ul{list-style:none;padding:0;margin:.3em 0}
.definitions dt{font-weight:600;margin-top:.6em}.definitions dd{margin:.1em 0 0 1.2em;max-width:82ch;color:#333}
.checks li:before{content:'\\2713  ';color:#009e73;font-weight:700}
.checks li.fails:before{content:'\\2717  ';color:#d55e00}
.checks li.fails{color:#d55e00}
.learn{font-size:.9em}
.chip{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.3em;vertical-align:baseline}
.variants{list-style:none;padding:0;margin:.4em 0;display:flex;flex-wrap:wrap;gap:.3em 1.2em}
.variants code{font-size:.95em}
.tables{display:flex;flex-wrap:wrap;gap:0 2em;align-items:flex-start}
table{border-collapse:collapse;font-size:.86em;margin:.6em 0}
th,td{padding:.2em .6em;border-bottom:1px solid #e5e5e5;text-align:right;font-variant-numeric:tabular-nums}
td .v,td .pm{white-space:nowrap}td .pm{color:#555;font-size:.92em}.vs{color:#333}.vs.same{color:#999}
.legend{max-width:110ch}
th:first-child,td:first-child{text-align:left;white-space:normal;min-width:9em}
thead th{background:#f2f2f2;vertical-align:bottom;white-space:normal;overflow-wrap:anywhere}
td.sub{padding-left:1.8em;color:#555}
figure{margin:1.4em 0;overflow-x:auto}
figure img{width:100%;min-width:CHART_MINpx;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.88em;margin-top:.2em;max-width:82ch}
pre{white-space:pre-wrap;font-size:.85em}
.toc{padding-left:1.2em}.toc>li{margin:.5em 0}.toc ul{padding-left:1.2em;margin:.1em 0}
.top{text-align:right;font-size:.85em;margin:1em 0 0}
@media (max-width:600px){body{padding:0 10px}table{font-size:.74em}th,td{padding:.15em .3em}th:first-child,td:first-child{min-width:7em}td.sub{padding-left:.9em}}
";

/// The sections in playbook order (a model outside the playbook after it, in run order).
fn in_playbook_order<'s, 'a>(sections: &'s [ModelSection<'a>]) -> Vec<&'s ModelSection<'a>> {
    let mut ordered: Vec<&ModelSection> = sections.iter().collect();
    ordered.sort_by_key(|s| playbook::rank(&s.model.name));
    ordered
}

/// The chapter a model is in, as the page names it.
fn chapter_of(model: &str) -> &'static str {
    playbook::find(model).map_or("Other models", |(c, _)| c.title)
}

/// The page: contents, then per model its takeaway, where to learn more, story,
/// variants, comparison table and charts, then how far to trust the numbers (with the
/// theory check's picture when the run made one).
pub fn render(sections: &[ModelSection], check: Option<&CheckSection>) -> String {
    let style = STYLE.replace("CHART_MIN", &CHART_MIN_WIDTH.to_string());
    let mut h = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>statesim report</title>\n<style>\n{style}</style>\n</head>\n<body>\n<h1 id=\"top\">statesim report</h1>\n<p class=\"meta\">{} simulated by statesim {}. Every number on this page comes from the runs that wrote it; each model's folder holds its summary.json, timeseries.csv, charts (SVG and PNG) and the model file that was run.</p>\n",
        if sections.len() == 1 { "One model".to_string() } else { format!("{} models", sections.len()) },
        env!("CARGO_PKG_VERSION")
    );
    let ordered = in_playbook_order(sections);
    h.push_str("<nav id=\"contents\">\n<h2>Contents</h2>\n<ol class=\"toc\">\n");
    let mut i = 0;
    while i < ordered.len() {
        let chapter = chapter_of(&ordered[i].model.name);
        h.push_str(&format!("<li>{}\n<ul>\n", esc(chapter)));
        while i < ordered.len() && chapter_of(&ordered[i].model.name) == chapter {
            let m = ordered[i].model;
            h.push_str(&format!("<li><a href=\"#{0}\">{0}</a>: {1}</li>\n", esc(&m.name), esc(&m.title)));
            i += 1;
        }
        h.push_str("</ul></li>\n");
    }
    let checklist = checklist(&ordered);
    if checklist.is_some() {
        h.push_str("<li><a href=\"#checklist\">The final checklist, beside the runs</a></li>\n");
    }
    h.push_str(
        "<li><a href=\"#validation\">How far to trust these numbers</a></li>\n<li><a href=\"#definitions\">What each number counts</a></li>\n</ol>\n</nav>\n",
    );
    for s in &ordered {
        h.push_str(&section(s));
    }
    if let Some(c) = checklist {
        h.push_str(&c);
    }
    h.push_str(&validation(check));
    h.push_str(&definitions(&ordered));
    h.push_str("</body>\n</html>\n");
    h
}

/// The playbook's final checklist walked beside the runs that measure it (the walkthrough
/// topic `checklist`, told from this page's own summaries), when the page has every model
/// it reads.
fn checklist(sections: &[&ModelSection]) -> Option<String> {
    let topic = &crate::walkthrough::CHECKLIST;
    let summaries: Vec<ModelSummary> =
        topic.models.iter().map(|name| sections.iter().find(|s| s.model.name == *name).map(|s| s.summary.clone())).collect::<Option<_>>()?;
    let w = crate::walkthrough::tell(topic, &summaries);
    let mut h = String::from("<section id=\"checklist\">\n<p class=\"kicker\">The playbook's last page</p>\n<h2>The final checklist, beside the runs</h2>\n");
    h.push_str(&format!(
        "<p class=\"meta\">From the runs above of {}; the walkthrough <code>statesim walkthrough checklist</code> tells the same.</p>\n",
        topic.models.iter().map(|m| format!("<a href=\"#{0}\">{0}</a>", esc(m))).collect::<Vec<_>>().join(", ")
    ));
    h.push_str(&format!("<p class=\"takeaway\">{}</p>\n", esc(w.question)));
    for s in &w.sections {
        h.push_str(&format!("<h3>{}</h3>\n<p>{}</p>\n", esc(s.heading), esc(&s.text)));
    }
    let failing = w.claims.iter().filter(|c| !c.holds).count();
    let (open, summary) = match failing {
        0 => ("", format!("Checked on this run: the {} claims all hold", w.claims.len())),
        k => (" open", format!("Checked on this run: {k} of the {} claims do not hold", w.claims.len())),
    };
    h.push_str(&format!("<details class=\"checks\"{open}><summary>{summary}</summary>\n<ul>\n"));
    for c in &w.claims {
        let (class, note) = if c.holds { ("", "") } else { (" class=\"fails\"", " (does not hold on this run)") };
        h.push_str(&format!("<li{class}>{}{note}</li>\n", esc(&c.text)));
    }
    h.push_str(&format!("</ul>\n<p>{}</p>\n</details>\n<p class=\"top\"><a href=\"#contents\">&uarr; contents</a></p>\n</section>\n", esc(&w.how_checked)));
    Some(h)
}

/// Every metric in the page's tables with its definition, from the catalog (each row's
/// tooltip says the same), in the order the tables first show them.
fn definitions(sections: &[&ModelSection]) -> String {
    let mut seen: Vec<&'static crate::metrics::catalog::Metric> = Vec::new();
    for s in sections {
        for row in table::table_rows(s.summary) {
            if !seen.iter().any(|m| m.key == row.metric.key) {
                seen.push(row.metric);
            }
        }
    }
    let mut h = String::from(
        "<section id=\"definitions\">\n<h2>What each number counts</h2>\n<p>Each row of the tables above, as the simulator defines it (its key in <code>summary.json</code> after the name). Latency is of ok responses unless the row says all responses; a failed response counts when the client learns of it, a client timeout at the timeout.</p>\n<dl class=\"definitions\">\n",
    );
    for m in seen {
        h.push_str(&format!("<dt>{} <code>{}</code></dt><dd>{}</dd>\n", esc(&m.heading()), esc(m.key), esc(m.definition)));
    }
    h.push_str("</dl>\n<p><a href=\"#top\">back to the contents</a></p>\n</section>\n");
    h
}

/// How the numbers are checked, and how a reader checks them again: the theory check
/// (pictured when the run made it), the takeaways' checks, the intervals.
fn validation(check: Option<&CheckSection>) -> String {
    let mut h = String::from("<section id=\"validation\">\n<h2>How far to trust these numbers</h2>\n");
    h.push_str(THEORY);
    if let Some(c) = check {
        let (folder, stem, caption, (w, ht)) = (url_segment(&c.folder), url_segment(&c.chart.stem), esc(&c.chart.caption), c.chart.size);
        h.push_str("<p>The run that wrote this page made the same check (<code>statesim run</code> of a folder checks the models of its <code>theory/</code> folder too):</p>\n");
        h.push_str(&format!(
            "<figure><img src=\"{folder}/{stem}.svg\" width=\"{w}\" height=\"{ht}\" style=\"max-width:{w}px\" alt=\"{caption}\"><figcaption>{caption} <a href=\"{folder}/{stem}.png\">PNG</a>, <a href=\"{folder}/check.json\">check.json</a></figcaption></figure>\n"
        ));
        let outside: Vec<String> = c.rows.iter().filter(|r| !r.inside()).map(|r| format!("{} of {}", r.figure, r.model)).collect();
        if !outside.is_empty() {
            h.push_str(&format!(
                "<p class=\"meta\">Outside its interval on this run: {}. At 95% about one figure in twenty falls outside by chance; the test suite checks the figures across seeds as one family.</p>\n",
                esc(&outside.join(", "))
            ));
        }
    }
    h.push_str(REST);
    h
}

const THEORY: &str = "<p>The engine is checked against queueing theory. <code>statesim check</code> runs the models in <code>models/theory/</code> (M/M/1, M/M/c by Erlang C, M/D/1 by Pollaczek-Khinchine, random routing over M/M/1 queues, and the power of two choices against its exact Markov chain), 20 independent replications each, and prints each analytic figure beside the simulated one with its 95% confidence interval; the test suite checks every figure at several seeds as one family (Holm, 5% family-wise) and shows that the check fails for a wrong queue.</p>\n";

const REST: &str = "<p>Each takeaway above states comparisons; each is evaluated on the run that wrote this page and marked with a tick (or a cross, in red, where a changed model no longer bears it out). A comparison holds on the interval, not on one draw: <em>a &gt; b</em> holds when the 95% interval of <em>a &minus; b</em>, taken replication by replication, lies above zero, and an equality when it holds in every replication. A walkthrough (<code>statesim walkthrough MODEL</code>) checks each of its claims on its own run the same way.</p>\n\
<p>Every number in the tables is the mean over the model's independent replications (five for the bundled models: <code>run.replications</code>) with its 95% confidence interval after the &plusmn;. The variants of a model share random numbers replication by replication, so each variant's difference from the first is measured pair by pair, much more tightly than the two intervals suggest: &#9650; and &#9660; mark a difference whose 95% interval lies above or below zero, &asymp; one whose interval contains zero. <code>statesim run MODEL -r 20</code> narrows the intervals; a run with one replication shows numbers without them. The same model and seed give the same bytes, on any number of threads.</p>\n\
<p class=\"top\"><a href=\"#top\">&uarr; back to the top</a></p>\n</section>\n";

/// A cell of the comparison table: the value, its `±` half-width and its mark, each
/// kept whole but free to wrap below the one before on a narrow screen.
fn cell(c: &table::Cell, baseline: &str) -> String {
    let mut h = format!("<span class=\"v\">{}</span>", esc(&c.value));
    let mark = c.versus.map(|o| {
        let (class, title) = match o {
            std::cmp::Ordering::Greater => ("vs", format!("higher than {baseline} beyond chance")),
            std::cmp::Ordering::Less => ("vs", format!("lower than {baseline} beyond chance")),
            std::cmp::Ordering::Equal => ("vs same", format!("not distinguishable from {baseline}")),
        };
        format!("<span class=\"{class}\" title=\"{}\">{}</span>", esc(&title), table::mark(o))
    });
    if let Some(half) = &c.half {
        h.push_str(&format!(" <span class=\"pm\">± {}</span>", esc(half)));
    }
    if let Some(mark) = mark {
        h.push_str(&format!(" {mark}"));
    }
    h
}

/// The comparison table, split into tables of at most [`VARIANTS_PER_TABLE`] variants
/// of about equal size, and what its intervals and marks mean.
fn tables(s: &ModelSummary) -> String {
    let header = table::header(s);
    let rows = table::table_rows(s);
    let baseline = s.variants.first().map_or("", |v| v.name.as_str());
    let n = s.variants.len();
    let parts = n.div_ceil(VARIANTS_PER_TABLE).max(1);
    let mut h = String::from("<div class=\"tables\">\n");
    let mut start = 0;
    for p in 0..parts {
        let len = n / parts + usize::from(p < n % parts);
        let columns = start..start + len;
        h.push_str("<table>\n<thead><tr><th>metric</th>");
        for v in columns.clone() {
            h.push_str(&format!("<th><span class=\"chip\" style=\"{}\"></span>{}</th>", css_chip(v), esc(&header[v + 1])));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for row in &rows {
            let class = if row.sub { " class=\"sub\"" } else { "" };
            h.push_str(&format!("<tr><td{class} title=\"{}\">{}</td>", esc(row.metric.definition), esc(&row.label)));
            for c in &row.cells[columns.clone()] {
                h.push_str(&format!("<td>{}</td>", cell(c, baseline)));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table>\n");
        start = columns.end;
    }
    h.push_str("</div>\n");
    if let Some(legend) = table::legend(s) {
        h.push_str(&format!("<p class=\"meta legend\">{}</p>\n", esc(&legend)));
    }
    h
}

fn section(s: &ModelSection) -> String {
    let m = s.model;
    let folder = url_segment(&s.folder);
    let lesson = playbook::find(&m.name);
    let mut h = format!("<section id=\"{}\">\n", esc(&m.name));
    if let Some((chapter, _)) = lesson {
        let number = playbook::chapter_number(chapter);
        h.push_str(&format!("<p class=\"kicker\">{} &middot; chapter {number} of {}</p>\n", esc(chapter.title), playbook::CHAPTERS.len()));
    }
    h.push_str(&format!("<h2>{}</h2>\n", esc(&m.title)));
    h.push_str(&format!(
        "<p class=\"meta\">model <code>{}</code> ({}), seed {}, {} replication{}</p>\n",
        esc(&m.name),
        esc(&m.source),
        s.summary.seed,
        s.summary.replications,
        if s.summary.replications == 1 { "" } else { "s" }
    ));
    match &m.takeaway {
        Some(t) => {
            h.push_str(&format!("<p class=\"takeaway\">{}</p>\n", esc(&takeaway::fill(t, s.summary))));
            let checked = takeaway::check(t, s.summary);
            let failing = checked.iter().filter(|c| !c.holds).count();
            if !checked.is_empty() {
                let (open, summary) = match failing {
                    0 => ("", format!("Checked on this run: the {} comparisons it states all hold", checked.len())),
                    k => (" open", format!("Checked on this run: {k} of the {} comparisons it states do not hold", checked.len())),
                };
                h.push_str(&format!("<details class=\"checks\"{open}><summary>{summary}</summary>\n<ul>\n"));
                for c in checked {
                    let (class, note) = if c.holds { ("", "") } else { (" class=\"fails\"", " (does not hold on this run)") };
                    h.push_str(&format!("<li{class}>{}{note}</li>\n", esc(&c.text)));
                }
                h.push_str(&format!("</ul>\n<p>{}</p>\n</details>\n", esc(&takeaway::how_checked(s.summary))));
            }
        }
        None => h.push_str(&format!("<p class=\"takeaway\">{}</p>\n", esc(&takeaway::generated(s.summary)))),
    }
    let mut learn = Vec::new();
    if let Some((_, lesson)) = lesson {
        learn.push(format!("the walkthrough <code>statesim walkthrough {}</code>", esc(&m.name)));
        learn.push(format!("the notebook <code>{}</code>", esc(lesson.notebook)));
    }
    let file = url_segment(&format!("{}.toml", m.name));
    learn.push(format!("the model file that was run, <a href=\"{folder}/{file}\">{}.toml</a>", esc(&m.name)));
    h.push_str(&format!("<p class=\"learn\">More: {}.</p>\n", learn.join("; ")));
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
        h.push_str(&format!("<li><span class=\"chip\" style=\"{}\"></span><code>{}</code>{faults}</li>\n", css_chip(i), esc(&v.name)));
    }
    h.push_str("</ul>\n");
    if shared && !faults_of(&m.variants[0]).is_empty() {
        h.push_str(&format!("<p class=\"meta\">Faults, the same in every variant: {}.</p>\n", esc(&faults_of(&m.variants[0]))));
    }
    h.push_str(&tables(s.summary));
    if let Some(diff) = table::render_differences(s.summary) {
        h.push_str(&format!(
            "<details><summary>Paired differences from {}</summary>\n<pre>{}</pre>\n</details>\n",
            esc(&s.summary.variants[0].name),
            esc(&diff)
        ));
    }
    for c in &s.charts {
        let (stem, caption, (w, ht)) = (url_segment(&c.stem), esc(&c.caption), c.size);
        h.push_str(&format!("<figure><img src=\"{folder}/{stem}.svg\" width=\"{w}\" height=\"{ht}\" style=\"max-width:{w}px\" alt=\"{caption}\"><figcaption>{caption} <a href=\"{folder}/{stem}.png\">PNG</a></figcaption></figure>\n"));
    }
    h.push_str(&format!("<p class=\"meta\">Files: <a href=\"{folder}/summary.json\">summary.json</a>, <a href=\"{folder}/timeseries.csv\">timeseries.csv</a>, <a href=\"{folder}/topology.dot\">topology.dot</a>, <a href=\"{folder}/{file}\">{}.toml</a></p>\n", esc(&m.name)));
    h.push_str("<p class=\"top\"><a href=\"#contents\">&uarr; contents</a></p>\n</section>\n");
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
