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
        ("mega-proxy", &["variants", "timeline", "servers", "latency-cdf", "topology"]),
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
    assert!(crash("variants").contains("active users logged out (%)"));
    assert!(crash("variants").contains("latency p99 (ms)") && crash("variants").contains("failed requests"));
    for text in ["sticky-memory", "redis", "jwt", "server-5 killed at 5 min", "latency p99 (ms)", "logouts per s", "time (min)"] {
        assert!(crash("timeline").contains(&svg_text(text)), "crash-test timeline shows {text}");
    }
    let servers = read(&out.join("mega-proxy/servers.svg"));
    assert!(servers.contains("busiest: server-") && servers.contains("ip-hash-sticky"), "mega-proxy per-server chart");
    for text in
        ["whole request (ms, log scale)", "checking the session or token (ms, log scale)", "sticky-memory (no check)", "share of requests at most this slow"]
    {
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
        let e: statesim::metrics::Estimate = serde_json::from_value(summary["variants"][v]["metrics"][c::SESSIONS_LOGGED_OUT_SHARE.key].clone()).unwrap();
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
    assert_eq!(rows.len(), 23, "every figure of every theory model");
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
    assert!(svg.contains(&format!("{inside} of 23 inside")), "the chart counts the figures inside");
    assert_eq!(svg.matches("<circle").count(), 23, "a dot per figure");
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
    let expected: [(&str, &str, &[&str]); 7] = [
        ("long-jobs", "timeline", &["jobs queued", "latency p99 (ms, log scale)"]),
        ("websockets", "timeline", &["messages delivered (%)", "reconnects per s"]),
        ("autoscaling", "timeline", &["in rotation", "cost per hour", "failed per s"]),
        ("rate-limits", "timeline", &["abuser allowed per s", "Redis down at 120 s for 30 s"]),
        ("jwt-revocation", "exposure", &["jwt-only", "exposure mean", "seconds the fired user still got in after the ban"]),
        ("session-latency", "latency-cdf", &["checking the session or token (ms, log scale)", "jwt-hs256", "redis-110k"]),
        ("long-jobs", "variants", &["page latency p99 (ms)", "job results nobody received"]),
    ];
    for (model, name, texts) in expected {
        let svg = chart(model, name);
        for text in texts {
            assert!(svg.contains(&svg_text(text)), "{model}/{name}.svg shows {text}");
        }
    }
    // Page latency is all the latency long-jobs has, so its panel is not drawn twice.
    assert!(!chart("long-jobs", "variants").contains(">latency p99 (ms)<"), "long-jobs repeats page latency as latency");
    // The topology pictures the variant with the queue and its workers.
    assert!(chart("long-jobs", "topology").contains("variant queue"), "long-jobs topology is the queue variant");
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
