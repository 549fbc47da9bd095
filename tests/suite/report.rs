//! The report a reader sees, in the main job's output folder: charts for every model (SVG
//! with the right titles, PNG that decode), `index.html` whose links all exist and whose
//! numbers are the run's, and (where Chromium is installed; CI installs it) a headless
//! browser that loads the page with every image and no errors.

use statesim::metrics::catalog as c;
use statesim::report::table;
use std::path::Path;

/// The main job's output folder (written once per suite), after checking that it ran.
fn main_job_out() -> &'static Path {
    let job = crate::shared::main_job();
    assert!(job.output.status.success(), "{}", String::from_utf8_lossy(&job.output.stderr));
    &job.dir
}

/// What `statesim run MODELS --format markdown` prints for these bundled models, from the
/// suite's shared runs of them.
fn markdown(models: &[&str]) -> String {
    let mut out = String::new();
    for name in models {
        let summary = &crate::shared::bundled(name).summary;
        out.push_str(&table::render_markdown(summary));
        if let Some(diffs) = table::render_differences(summary) {
            out.push('\n');
            out.push_str(&diffs);
        }
        out.push('\n');
    }
    out
}

/// Decodes a PNG completely; returns its size and the share of pixels that are not white.
fn decode_png(path: &Path) -> (u32, u32, f64) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let px = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let inked = pixels.chunks(px).filter(|p| p.iter().take(3).any(|&c| c < 240)).count();
    (info.width, info.height, inked as f64 / (info.width * info.height) as f64)
}

/// The `width` and `height` of an SVG's root element.
fn svg_size(svg: &str) -> (u32, u32) {
    let head = &svg[..svg.find('>').unwrap()];
    let attr = |name: &str| head.split(&format!(" {name}=\"")).nth(1).and_then(|r| r.split('"').next()).and_then(|v| v.parse().ok()).unwrap();
    (attr("width"), attr("height"))
}

/// Text as plotters writes it inside SVG.
fn svg_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&apos;").replace('"', "&quot;")
}

/// Every `src="..."` and `href="..."` of a page that is not an anchor on the page.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let link = part.split('"').next().unwrap();
            if !link.starts_with('#') {
                out.push(link.to_string());
            }
        }
    }
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_model_gets_charts_and_the_page_links_only_existing_files() {
    let out = main_job_out();
    let markdown = markdown(&["crash-test", "mega-proxy", "sticky-hashing"]);
    let title = |model: &str| -> String {
        let summary: serde_json::Value = serde_json::from_str(&read(&out.join(model).join("summary.json"))).unwrap();
        summary["title"].as_str().unwrap().to_string()
    };
    let expected: [(&str, &[&str]); 3] = [
        ("crash-test", &["variants", "timeline", "servers", "latency-cdf", "topology"]),
        ("mega-proxy", &["variants", "timeline", "servers", "latency-cdf", "latency-tail", "topology"]),
        ("sticky-hashing", &["variants", "timeline", "topology"]),
    ];
    for (model, charts) in expected {
        let title = svg_text(&title(model));
        for chart in charts {
            let svg = read(&out.join(model).join(format!("{chart}.svg")));
            assert!(svg.starts_with("<svg"), "{model}/{chart}.svg is an SVG");
            assert!(svg.contains(&format!(">{title}</text>")) || svg.contains(&title), "{model}/{chart}.svg has the title {title}");
            let (w, h, inked) = decode_png(&out.join(model).join(format!("{chart}.png")));
            assert_eq!((w, h), svg_size(&svg), "{model}/{chart}: PNG and SVG have one size");
            assert!((800..=1200).contains(&w) && (150..=3000).contains(&h), "{model}/{chart}.png is {w}x{h}");
            assert!(inked > 0.01 && inked < 0.6, "{model}/{chart}.png: {:.1}% of its pixels drawn", inked * 100.0);
        }
    }
    // Each chart shows what its model is about.
    let crash = |chart: &str| read(&out.join("crash-test").join(format!("{chart}.svg")));
    assert!(crash("variants").contains(&svg_text(&c::SESSIONS_STATE_LOST_SHARE.axis_title())));
    assert!(crash("variants").contains(&svg_text(&c::LATENCY_MS.p99.heading())) && crash("variants").contains("failed requests"));
    for text in ["sticky-memory", "redis", "jwt", "server-5 killed at 5 min", "latency p99 (ms)", "of ok responses", "logouts, state lost", "time (min)"] {
        assert!(crash("timeline").contains(&svg_text(text)), "crash-test timeline shows {text}");
    }
    let servers = read(&out.join("mega-proxy/servers.svg"));
    assert!(servers.contains("busiest: server-") && servers.contains("ip-hash-sticky"), "mega-proxy per-server chart");
    for text in [
        "whole request (ms, log scale)",
        "checking the session or token (ms, log scale)",
        "sticky-memory (no check)",
        "share of all responses, ok within this time",
        "share of checked requests at most this slow",
    ] {
        assert!(crash("latency-cdf").contains(&svg_text(text)), "crash-test latency CDF shows {text}");
    }

    let html = read(&out.join("index.html"));
    assert!(html.starts_with("<!doctype html>"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"), "the page needs no network and runs nothing");
    let links = links(&html);
    assert!(links.iter().filter(|l| l.ends_with(".svg")).count() >= 12, "{links:?}");
    for link in &links {
        assert!(!link.contains("..") && !link.starts_with('/'), "relative link inside the output folder: {link}");
        assert!(out.join(link).is_file(), "index.html links a missing {link}");
    }
    for (model, _) in expected {
        assert!(html.contains(&format!("<h2>{}</h2>", title(model).replace('&', "&amp;"))), "{model} has its section");
    }
    assert!(html.contains("<p>20,000 shoppers are logged in"), "the story of crash-test, from its file");

    // The takeaway's numbers are the run's: crash-test's logged-out share.
    let summary: serde_json::Value = serde_json::from_str(&read(&out.join("crash-test/summary.json"))).unwrap();
    let share = |v: usize| {
        let e: statesim::metrics::Estimate = serde_json::from_value(summary["variants"][v]["metrics"][c::SESSIONS_STATE_LOST_SHARE.key].clone()).unwrap();
        statesim::report::format::estimate_with_unit(statesim::metrics::Unit::Share, &e)
    };
    let takeaway = html.split("<p class=\"takeaway\">").nth(1).unwrap().split("</p>").next().unwrap();
    assert!(takeaway.contains(&format!("server memory {} of the active users", share(0))), "takeaway {takeaway}");

    // The table and the per-server chart show the same hot server's share (of routed
    // requests): f + (1-f)/n for the NAT's server in mega-proxy.
    let hot = servers.split("busiest: ").nth(1).and_then(|t| t.split(", ").nth(1)).and_then(|t| t.split('<').next()).unwrap().trim().to_string();
    let mega = html.split("<section id=\"mega-proxy\">").nth(1).unwrap().split("</section>").next().unwrap();
    let busiest = html_rows(mega).into_iter().find(|r| r[0] == "busiest server's share").expect("mega-proxy's table has the busiest server's share");
    assert!(busiest[1].starts_with(&hot), "mega-proxy's table shows the chart's {hot}: {busiest:?}");

    // The HTML tables hold the Markdown tables' numbers, row by row (the page splits a
    // table of many variants into several).
    let page_rows = html_rows(&html);
    let mut rows = 0;
    for line in markdown.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| metric")) {
        let cells: Vec<String> = line.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect();
        assert!(page_rows.iter().any(|r| r[0] == cells[0] && cells[1..].windows(r.len() - 1).any(|w| w == &r[1..])), "index.html lacks the row {line}");
        rows += 1;
    }
    assert!(rows >= 40, "{rows} rows compared");

    // What each number counts: every row's metric, defined once in the catalog, is
    // defined on the page, and each row's tooltip says the same.
    let definitions = html.split("<section id=\"definitions\">").nth(1).expect("the page defines its numbers");
    let mut defined = 0;
    for m in c::all().filter(|m| page_rows.iter().any(|r| r[0] == m.heading())) {
        let definition = m.definition.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
        assert!(definitions.contains(&format!("<code>{}</code></dt><dd>{definition}</dd>", m.key)), "the page defines {}", m.key);
        assert!(html.contains(&format!(" title=\"{definition}\">")), "{}'s rows carry its definition", m.key);
        defined += 1;
    }
    assert!(defined >= 20, "{defined} definitions checked");
}

/// The text of each table row of a page, cell by cell (tags dropped, entities read).
fn html_rows(html: &str) -> Vec<Vec<String>> {
    let text = |cell: &str| -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for ch in cell.chars() {
            match ch {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&").trim().to_string()
    };
    html.split("<tr>")
        .skip(1)
        .filter_map(|r| r.split("</tr>").next())
        .filter(|r| r.starts_with("<td"))
        .map(|r| r.split("<td").skip(1).map(|c| text(&format!("<td{c}"))).collect())
        .collect()
}

/// The main job checks the engine against queueing theory (the models of
/// `models/theory/`, as `statesim check` does) and shows it on the page: a picture of each
/// simulated figure with its interval beside the analytic value, and its numbers.
#[test]
fn the_page_pictures_the_theory_check() {
    let out = main_job_out();
    let dir = out.join(statesim::report::CHECK_FOLDER);
    let rows: serde_json::Value = serde_json::from_str(&read(&dir.join("check.json"))).unwrap();
    let rows = rows.as_array().unwrap();
    let theory = statesim::bundled::THEORY;
    assert_eq!(rows.len(), 29, "every figure of every theory model (`statesim check` prints 29)");
    for b in theory {
        assert!(rows.iter().any(|r| r["model"] == b.name), "{} is checked", b.name);
    }
    for r in rows {
        let (low, high, analytic) = (r["ci95_low"].as_f64().unwrap(), r["ci95_high"].as_f64().unwrap(), r["analytic"].as_f64().unwrap());
        assert!(low < high && r["replications"] == 20, "{r}");
        assert_eq!(r["inside"].as_bool().unwrap(), low <= analytic && analytic <= high, "{r}");
    }
    let svg = read(&dir.join("check.svg"));
    let inside = rows.iter().filter(|r| r["inside"] == true).count();
    assert!(svg.contains(&format!("{inside} of {} inside", rows.len())), "the chart counts the figures inside");
    assert_eq!(svg.matches("<circle").count(), rows.len(), "a dot per figure");
    let (w, h, inked) = decode_png(&dir.join("check.png"));
    assert_eq!((w, h), svg_size(&svg));
    assert!(inked > 0.01 && inked < 0.6);
    let html = read(&out.join("index.html"));
    let validation = html.split("<section id=\"validation\">").nth(1).unwrap();
    assert!(validation.contains("<img src=\"theory-check/check.svg\"") && validation.contains("href=\"theory-check/check.json\""), "the page embeds the check");
}

/// Each scenario's own measure over time, and the chart that fits it, for the models
/// whose story is not requests and latency alone.
#[test]
fn scenario_charts_show_the_scenarios_own_measures() {
    let out = main_job_out();
    let chart = |model: &str, chart: &str| read(&out.join(model).join(format!("{chart}.svg")));
    let expected: [(&str, &str, &[&str]); 12] = [
        ("mega-proxy", "latency-tail", &["1% (p99)", "0.01% (p99.99)", "share of responses not ok by then (log scale)", "ip-hash-sticky (", "% failed)"]),
        ("long-jobs", "timeline", &["jobs queued", "page latency p99"]),
        ("crash-test", "timeline", &["logouts, state lost", "carts lost per s"]),
        ("file-uploads", "timeline", &["404 not found per s", "page latency p99"]),
        ("url-expiry", "variants", &["uploads failed on an", "MB sent again after"]),
        ("websockets", "timeline", &["delivered (%)", "reconnects per s"]),
        ("autoscaling", "timeline", &["in rotation", "cost per", "failed per s"]),
        ("rate-limits", "timeline", &["abuser allowed per s", "Redis down at 120 s for 30 s"]),
        ("jwt-revocation", "exposure", &["jwt-only", "exposure mean", "seconds from the ban until no server accepts the token"]),
        ("session-latency", "latency-cdf", &["checking the session or token (ms, log scale)", "jwt-hs256", "redis-110k"]),
        ("long-jobs", "variants", &["page latency p99, ok responses (ms)", "job results nobody received"]),
        // The 503s of the NAT's server: its line levels off below 100%, its key says by how much.
        ("mega-proxy", "latency-cdf", &["share of all responses, ok within this time", "ip-hash-sticky (", "% failed)"]),
    ];
    for (model, name, texts) in expected {
        let svg = chart(model, name);
        for text in texts {
            assert!(svg.contains(&svg_text(text)), "{model}/{name}.svg shows {text}");
        }
    }
    // Page latency is all the latency long-jobs has, so its panel is not drawn twice,
    // on the timeline either.
    assert!(!chart("long-jobs", "timeline").contains(">latency p99 (ms"), "long-jobs' timeline repeats page latency as latency");
    assert!(!chart("long-jobs", "variants").contains(">latency p99, ok responses (ms)<"), "long-jobs repeats page latency as latency");
    // The topology pictures every variant: the queue, its workers and what they write
    // to, the abuser, the WebSocket gateway, and which variants have what.
    let topology = [
        ("long-jobs", &["job queue", "60 workers", "job results", "job status", "only in queue"][..]),
        ("rate-limits", &["abusive client", "in 12 of 16 variants", "round-robin / random /", "ip-hash"][..]),
        ("websockets", &["WebSocket gateway", "only in gateway,", "server-5 to server-16"][..]),
    ];
    for (model, texts) in topology {
        let svg = chart(model, "topology");
        for text in texts {
            assert!(svg.contains(&svg_text(text)), "{model}/topology.svg shows {text}");
        }
    }
    // A fixed fleet has no deploy: its bar is marked n/a, not drawn as zero.
    assert!(chart("autoscaling", "variants").contains("n/a"), "autoscaling marks metrics a variant lacks");
    // Servers come and go in autoscaling: no per-server shares.
    assert!(!out.join("autoscaling/servers.svg").exists(), "autoscaling has no per-server chart");
    // Rate limits keep only the variants whose shares are uneven (and the first).
    let servers = chart("rate-limits", "servers");
    assert!(
        servers.contains("local-ip-hash") && !servers.contains("redis-gcra") && servers.contains("variants with even shares left out"),
        "rate-limits per-server chart"
    );
}

/// Opens the page in headless Chromium: every image must load and the console must
/// stay free of errors. Skipped only outside CI when Chromium is not installed.
#[test]
fn the_page_loads_in_a_browser() {
    let Some(chromium) = crate::shared::chromium() else { return };
    let out = main_job_out();
    let index = out.join("index.html");
    // A probe beside the page reports, after load, how many images failed and any error.
    let html = read(&index);
    let probe = html.replace(
        "</body>",
        "<script>window.addEventListener('error',e=>{document.title='page-error: '+e.message;});\
         window.addEventListener('load',()=>{if(document.title.startsWith('page-error'))return;\
         const bad=[...document.images].filter(i=>!(i.complete&&i.naturalWidth>0)).map(i=>i.getAttribute('src'));\
         document.title='images-failed:'+bad.length+' of '+document.images.length+' '+bad.join(' ');});</script></body>",
    );
    let probe_path = out.join("browser-probe.html");
    std::fs::write(&probe_path, probe).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let result = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", probe_path.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&result.stdout);
    let log = String::from_utf8_lossy(&result.stderr);
    let title = dom.lines().find(|l| l.contains("<title>")).unwrap_or("no title");
    let images = title.split("images-failed:0 of ").nth(1).and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next()).and_then(|n| n.parse::<usize>().ok());
    assert!(images.is_some_and(|n| n >= 8), "images failed to load or the page failed: {title}\n{log}");
    for line in log.lines() {
        assert!(
            (!line.contains("CONSOLE") || !line.contains("ERROR")) && !line.contains("Uncaught") && !line.contains("Not allowed to load"),
            "page error: {line}"
        );
    }
}

/// Where a hop's arrow runs, no text is written: in every bundled model's topology
/// picture, no label's box (from its SVG position, size and anchor) meets a line.
#[test]
fn topology_labels_stay_off_the_arrows() {
    let out = main_job_out();
    let number = |tag: &str, attr: &str| -> f64 {
        let start = tag.find(&format!(" {attr}=\"")).unwrap_or_else(|| panic!("{attr} in {tag}")) + attr.len() + 3;
        tag[start..].split('"').next().unwrap().parse().unwrap()
    };
    let mut models = 0;
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path().join("topology.svg");
        let Ok(svg) = std::fs::read_to_string(&path) else { continue };
        models += 1;
        let mut segments = Vec::new();
        for tag in svg.split("<polyline").skip(1) {
            let points = tag.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
            let p: Vec<(f64, f64)> = points
                .split_whitespace()
                .map(|xy| {
                    let (x, y) = xy.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect();
            segments.extend(p.windows(2).map(|w| (w[0], w[1])));
        }
        assert!(!segments.is_empty(), "{} draws its hops", path.display());
        for tag in svg.split("<text").skip(1) {
            let (head, rest) = tag.split_once('>').unwrap();
            let text = rest.split('<').next().unwrap().trim();
            let (x, y, size) = (number(head, "x"), number(head, "y"), number(head, "font-size"));
            // DejaVu Sans's advance widths, roughly: narrow letters and punctuation a
            // third of an em, wide ones nine tenths, the rest a little over half. The box
            // shrinks by a pixel so a line that only touches a letter's edge is not counted.
            let em: f64 = text
                .chars()
                .map(|ch| match ch {
                    'i' | 'j' | 'l' | 'f' | 't' | 'r' | '\'' | '(' | ')' | '-' | '.' | ',' | ':' | ';' | '/' | '|' | ' ' | '\u{a0}' => 0.34,
                    'm' | 'w' | 'M' | 'W' => 0.9,
                    c if c.is_uppercase() => 0.68,
                    _ => 0.58,
                })
                .sum();
            let w = em * size;
            let x0 = if head.contains("text-anchor=\"middle\"") { x - w / 2.0 } else { x };
            let y0 = if head.contains("dy=\"0.76em\"") { y } else { y - size / 2.0 };
            let (x0, x1, y0, y1) = (x0 + 1.0, x0 + w - 1.0, y0 + 1.0, y0 + size - 1.0);
            for &((ax, ay), (bx, by)) in &segments {
                let steps = ((bx - ax).abs().max((by - ay).abs()) as usize).max(1);
                let hit = (0..=steps).any(|i| {
                    let t = i as f64 / steps as f64;
                    let (px, py) = (ax + t * (bx - ax), ay + t * (by - ay));
                    px > x0 && px < x1 && py > y0 && py < y1
                });
                assert!(!hit, "{}: the line from ({ax},{ay}) to ({bx},{by}) runs through the text {text:?}", path.display());
            }
        }
    }
    assert!(models >= 10, "the main job drew {models} topology pictures");
}

/// The series that carry a model's point count what its summary counts: every cart lost
/// and every 404 is in some bucket, and page latency is kept apart from uploads'.
#[test]
fn carts_lost_404s_and_page_latency_over_time() {
    use statesim::metrics::series::{CARTS_LOST, FILES_NOT_FOUND, PAGE_LATENCY_P99};
    let first = |model: &str, variant: &str| {
        let ran = crate::shared::first_runs(model);
        let v = ran.model.variants.iter().position(|v| v.name == variant).unwrap();
        ran.runs.variants[v].first.as_ref().unwrap()
    };
    let column_sum = |r: &statesim::metrics::RunResult, c| {
        let i = r.column(c).expect("the column is registered");
        r.series.iter().map(|row| row.parts[i]).sum::<f64>()
    };
    let sticky = first("crash-test", "sticky-memory");
    let lost = sticky.metrics[c::CARTS_LOST.key];
    assert!(lost > 100.0, "the kill loses carts: {lost}");
    assert_eq!(column_sum(sticky, &CARTS_LOST), lost, "every cart lost is in a bucket");
    assert!(first("crash-test", "redis").column(&CARTS_LOST).is_none(), "carts in the database are never lost");

    let local = first("file-uploads", "local-disk");
    let in_buckets = column_sum(local, &FILES_NOT_FOUND);
    let counted = local.metrics[c::failed(statesim::metrics::FailReason::NotFound).key];
    // The buckets hold the warm-up's 404s too; the summary counts those after it.
    assert!(in_buckets >= counted && counted > 1000.0, "404s: {in_buckets} in buckets, {counted} counted");

    // Uploads take seconds; pages do not: the worst page p99 is below the worst p99.
    let through = first("file-uploads", "through-server");
    let i = through.column(&PAGE_LATENCY_P99).expect("page latency kept apart");
    let worst = |f: &dyn Fn(&statesim::metrics::SeriesRow) -> f64| through.series.iter().map(f).fold(0.0f64, f64::max);
    let (pages, all) = (worst(&|r| r.parts[i]), worst(&|r| r.latency_p99_ms));
    assert!(pages > 0.0 && pages < all, "page p99 {pages} ms, every request's {all} ms");
}
