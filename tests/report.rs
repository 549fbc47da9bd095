//! The report a reader sees: charts for every model, `index.html` whose images all
//! exist, and (where Chromium is installed; CI installs it) a headless browser that loads
//! the page without errors.

use assert_cmd::Command;
use std::path::Path;

fn run_models(out: &Path, models: &[&str]) {
    let result = Command::cargo_bin("statesim").unwrap().arg("run").args(models).args(["--quiet", "--out"]).arg(out).output().unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
}

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn every_model_gets_charts_and_the_page_links_only_existing_files() {
    let out = tempfile::tempdir().unwrap();
    run_models(out.path(), &["crash-test", "mega-proxy", "sticky-hashing"]);
    for (model, charts) in [("crash-test", vec!["variants", "timeline"]), ("mega-proxy", vec!["variants", "timeline", "servers"]), ("sticky-hashing", vec!["variants", "timeline"])] {
        for chart in charts {
            let svg = std::fs::read_to_string(out.path().join(model).join(format!("{chart}.svg"))).unwrap();
            assert!(svg.starts_with("<svg"), "{model}/{chart}.svg");
            assert!(svg.contains("<text"), "{model}/{chart}.svg has text");
            let (w, h) = png_size(&out.path().join(model).join(format!("{chart}.png")));
            assert!(w >= 800 && h >= 200, "{model}/{chart}.png is {w}x{h}");
        }
    }
    let variants = std::fs::read_to_string(out.path().join("crash-test/variants.svg")).unwrap();
    assert!(variants.contains("Kill one server: who notices?"));
    assert!(variants.contains("users logged out"));

    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "the page needs no network");
    let mut images = 0;
    for part in html.split("src=\"").skip(1) {
        let src = part.split('"').next().unwrap();
        assert!(out.path().join(src).exists(), "index.html links a missing {src}");
        images += 1;
    }
    assert!(images >= 7, "{images} images");
    // The takeaway's numbers are the run's.
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.path().join("crash-test/summary.json")).unwrap()).unwrap();
    let share = summary["variants"][0]["metrics"]["sessions.logged_out_share"]["mean"].as_f64().unwrap() * 100.0;
    let shown = statesim::report::table::sig3(share);
    assert!(html.contains(&format!("users logged out (% of active): sticky-memory {shown}")), "takeaway with {shown}");
}

/// Opens the page in headless Chromium: every image must load and the console must
/// stay free of errors. Skipped only outside CI when Chromium is not installed.
#[test]
fn the_page_loads_in_a_browser() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().find(|p| Path::new(p).exists());
    let Some(chromium) = chromium else {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium (see .ci/run)");
        eprintln!("chromium not installed; skipping the browser check");
        return;
    };
    let out = tempfile::tempdir().unwrap();
    run_models(out.path(), &["mega-proxy", "sticky-hashing"]);
    let index = out.path().join("index.html");
    // A probe script reports, after load, how many images failed.
    let html = std::fs::read_to_string(&index).unwrap();
    let probe = html.replace(
        "</body>",
        "<script>window.addEventListener('load',()=>{const bad=[...document.images].filter(i=>!(i.complete&&i.naturalWidth>0)).length;document.title='images-failed:'+bad+' of '+document.images.length;});</script></body>",
    );
    let probe_path = out.path().join("probe.html");
    std::fs::write(&probe_path, probe).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let result = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", probe_path.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&result.stdout);
    let log = String::from_utf8_lossy(&result.stderr);
    assert!(dom.contains("<title>images-failed:0 of "), "images failed to load: {}", dom.lines().find(|l| l.contains("<title>")).unwrap_or("no title"));
    for line in log.lines() {
        assert!(!(line.contains("CONSOLE") && line.contains("ERROR")) && !line.contains("Uncaught"), "page error: {line}");
    }
}
