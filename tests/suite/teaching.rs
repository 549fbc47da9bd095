//! The teaching surface: `index.html` built as a course over the main job's output (the
//! playbook's order, contents and a way back, each model's takeaway with its comparisons
//! holding on the run, where to learn more, the validation section), read in headless
//! Chromium at 1400 and 390 px (no table wider than the page, chart text at least 10 px),
//! a takeaway's mistakes located in the model file, and walkthrough topics named after
//! the models.

use assert_cmd::Command;
use statesim::playbook;
use std::path::{Path, PathBuf};

/// The main job's output folder (the suite's shared one), checked to have run cleanly.
fn main_job() -> &'static Path {
    let job = crate::shared::main_job();
    let stderr = String::from_utf8_lossy(&job.output.stderr);
    assert!(job.output.status.success(), "{stderr}");
    assert!(!stderr.contains("does not bear out"), "{stderr}");
    &job.dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text of the `<section>` of `model`.
fn section<'h>(html: &'h str, model: &str) -> &'h str {
    let start = html.find(&format!("<section id=\"{model}\">")).unwrap_or_else(|| panic!("no section for {model}"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap()]
}

/// The playbook's final checklist is a section of the page (after the models, linked from
/// the contents): each item beside the runs' numbers, every claim holding on this run.
#[test]
fn the_page_walks_the_final_checklist() {
    let out = main_job();
    let html = read(&out.join("index.html"));
    let contents = html.split("<nav id=\"contents\">").nth(1).unwrap().split("</nav>").next().unwrap();
    assert!(contents.contains("<a href=\"#checklist\">"));
    let s = section(&html, "checklist");
    for item in ["Sessions:", "Uploads:", "Connections:", "Scaling:", "statesim walkthrough checklist"] {
        assert!(s.contains(item), "the checklist section lacks {item}");
    }
    assert!(s.contains("claims all hold") && !s.contains("class=\"fails\"") && !s.contains("n/a"), "{s}");
    let last_model = playbook::lessons().last().unwrap().1.model;
    assert!(html.find("<section id=\"checklist\">") > html.find(&format!("<section id=\"{last_model}\">")));
}

#[test]
fn the_page_is_a_course_in_the_playbooks_order() {
    let out = main_job();
    let html = read(&out.join("index.html"));
    let contents = html.split("<nav id=\"contents\">").nth(1).unwrap().split("</nav>").next().unwrap();
    let lessons: Vec<&str> = playbook::lessons().map(|(_, l)| l.model).collect();
    // The contents and the sections both in playbook order, chapter by chapter.
    let positions = |text: &str, pattern: &dyn Fn(&str) -> String| -> Vec<usize> { lessons.iter().map(|m| text.find(&pattern(m)).unwrap()).collect() };
    let in_contents = positions(contents, &|m| format!("<a href=\"#{m}\">"));
    let in_page = positions(&html, &|m| format!("<section id=\"{m}\">"));
    assert!(in_contents.is_sorted() && in_page.is_sorted(), "contents {in_contents:?}, sections {in_page:?}");
    let chapters: Vec<usize> = playbook::CHAPTERS.iter().map(|c| contents.find(&format!("<li>{}", c.title)).unwrap()).collect();
    assert!(chapters.is_sorted(), "{chapters:?}");
    assert!(contents.contains("<a href=\"#validation\">"));
    let validation = section(&html, "validation");
    assert!(validation.contains("statesim check") && validation.contains("href=\"#top\""));

    for (chapter, lesson) in playbook::lessons() {
        let m = lesson.model;
        let s = section(&html, m);
        let number = playbook::CHAPTERS.iter().position(|c| c.title == chapter.title).unwrap() + 1;
        let kicker = format!("{} &middot; chapter {number} of {}", chapter.title, playbook::CHAPTERS.len());
        assert!(s.contains(&kicker), "{m}: its chapter and its number, {kicker}");
        assert!(s.contains("<a href=\"#contents\">"), "{m}: a way back to the contents");
        // The takeaway the model file states, each comparison holding on this run.
        let takeaway = s.split("<p class=\"takeaway\">").nth(1).unwrap().split("</p>").next().unwrap();
        assert!(!takeaway.contains('{') && !takeaway.contains("n/a"), "{m}: {takeaway}");
        assert!(s.contains("comparisons it states all hold") && !s.contains("class=\"fails\""), "{m}: a takeaway check fails");
        // Where to learn more: the walkthrough, the notebook, the model file that was run.
        assert!(s.contains(&format!("<code>statesim walkthrough {m}</code>")), "{m}: walkthrough");
        assert!(s.contains(&format!("<code>{}</code>", lesson.notebook)) && Path::new(lesson.notebook).is_file(), "{m}: notebook");
        let notebook = read(Path::new(lesson.notebook));
        assert!(notebook.contains(m), "{}: does not run {m}", lesson.notebook);
        let file = out.join(m).join(format!("{m}.toml"));
        assert!(s.contains(&format!("href=\"{m}/{m}.toml\"")), "{m}: links its model file");
        assert_eq!(read(&file), statesim::bundled::find(m).unwrap().text, "{m}: the model file written is the one run");
        // No table shows more than three variants.
        for table in s.split("<table>").skip(1) {
            let header = table.split("</tr>").next().unwrap();
            assert!(header.matches("<th>").count() <= 4, "{m}: {header}");
        }
    }
}

/// The smallest `font-size` of an SVG's text.
fn smallest_font(svg: &str) -> f64 {
    svg.split("font-size=\"").skip(1).filter_map(|s| s.split('"').next()?.parse::<f64>().ok()).fold(f64::INFINITY, f64::min)
}

/// Runs the page in headless Chromium inside a frame `width` px wide; returns the
/// probe's lines: `page SCROLL CLIENT`, `table I RIGHT SCROLL CLIENT`, `img SRC WIDTH`.
fn probe(chromium: &str, out: &Path, width: u32) -> Vec<String> {
    let script = "function probe(d){const vw=d.documentElement.clientWidth;const o=['page '+d.documentElement.scrollWidth+' '+vw];\
        d.querySelectorAll('table').forEach((t,i)=>o.push('table '+i+' '+Math.ceil(t.getBoundingClientRect().right)+' '+t.scrollWidth+' '+t.clientWidth));\
        d.querySelectorAll('img').forEach(i=>o.push('img '+i.getAttribute('src')+' '+i.getBoundingClientRect().width));return o.join('\\n');}\
        window.addEventListener('load',()=>{let t;try{t=probe(document.getElementById('f').contentDocument);}catch(e){t='error '+e;}\
        const p=document.createElement('pre');p.id='probe';p.textContent=t;document.body.appendChild(p);});";
    let frame = out.join(format!("frame-{width}.html"));
    std::fs::write(
        &frame,
        format!("<!doctype html><html><body style=\"margin:0\"><iframe id=\"f\" src=\"index.html\" style=\"width:{width}px;height:900px;border:0\"></iframe><script>{script}</script></body></html>"),
    )
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let result = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--allow-file-access-from-files", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync", "--virtual-time-budget=10000", "--dump-dom"])
        .arg(format!("--window-size={},1000", width + 100))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", frame.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&result.stdout);
    let text = dom.split("<pre id=\"probe\">").nth(1).and_then(|r| r.split("</pre>").next()).unwrap_or_else(|| panic!("no probe at {width} px: {dom}"));
    text.lines().map(str::to_string).collect()
}

#[test]
fn the_page_reads_at_1400_and_390_px() {
    let Some(chromium) = crate::shared::chromium() else { return };
    let out = main_job();
    for width in [1400, 390] {
        let lines = probe(chromium, out, width);
        assert!(!lines.iter().any(|l| l.starts_with("error")), "{lines:?}");
        let numbers = |l: &str| l.split(' ').filter_map(|x| x.parse::<f64>().ok()).collect::<Vec<f64>>();
        let page = numbers(&lines[0]);
        assert!(page[0] <= page[1], "at {width} px the page scrolls sideways: {}", lines[0]);
        let mut tables = 0;
        for l in lines.iter().filter(|l| l.starts_with("table ")) {
            let [_, right, scroll, client] = numbers(l)[..] else { panic!("{l}") };
            assert!(right <= f64::from(width) && scroll <= client, "at {width} px a table hides columns: {l}");
            tables += 1;
        }
        assert!(tables >= 12, "{tables} tables");
        let mut images = 0;
        for l in lines.iter().filter(|l| l.starts_with("img ")) {
            let parts: Vec<&str> = l.split(' ').collect();
            let (src, shown) = (parts[1], parts[2].parse::<f64>().unwrap());
            let svg: PathBuf = out.join(src);
            let natural = read(&svg).split(" width=\"").nth(1).and_then(|r| r.split('"').next()).and_then(|w| w.parse::<f64>().ok()).unwrap();
            let text_px = smallest_font(&read(&svg)) * shown / natural;
            assert!(text_px >= 10.0, "at {width} px {src} is drawn {shown} px wide: its smallest text is {text_px:.1} px");
            images += 1;
        }
        assert!(images >= 50, "{images} charts");
    }
}

#[test]
fn a_takeaways_mistakes_are_located_in_the_file() {
    let text = "schema_version = 1\nname = \"m\"\ntakeaway = \"Redis took {redis:auth_ms.p5} and {jtw:auth_ms.p50}.\"\ntakeaway_checks = [\"redis:carts.lost > > 2\"]\n[clients]\narrival_rate = \"10/s\"\n[variants.redis]\nsessions.store = \"redis\"\n[variants.jwt]\nsessions.store = \"jwt\"\n";
    let e = statesim::scenario::load_str("m.toml", "m", text, &[]).unwrap_err().to_string();
    assert!(e.contains("m.toml:3:24") && e.contains("\"auth_ms.p5\" is not a metric") && e.contains("did you mean \"auth_ms.p50\""), "{e}");
    assert!(e.contains("m.toml:3:47") && e.contains("no variant \"jtw\"") && e.contains("did you mean \"jwt\""), "{e}");
    assert!(e.contains("m.toml:4:21") && e.contains("takeaway_checks[0]"), "{e}");
    // The command refuses the model before running anything.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.toml"), text).unwrap();
    let run = Command::cargo_bin("statesim").unwrap().args(["validate"]).arg(dir.path().join("m.toml")).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
}

#[test]
fn walkthrough_topics_answer_to_the_models_names() {
    for b in statesim::bundled::MODELS {
        assert_eq!(statesim::walkthrough::find(b.name).map(|t| t.name), Some(b.name));
    }
    // An old topic name still works; the question comes before the run.
    let run = Command::cargo_bin("statesim").unwrap().args(["walkthrough", "hot-spots"]).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.starts_with("\n== mega-proxy ==\nInterviewer: Sticky sessions by IP hash"), "{text}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("running mega-proxy (15 simulations)"));
}

/// A takeaway's placeholder brings its own unit ("5.48 ms"): the text around it must not
/// repeat it ("5.48 ms ms"). Checked on every takeaway as the page shows it.
#[test]
fn no_takeaway_repeats_a_unit() {
    let html = read(&main_job().join("index.html"));
    let mut doubled = Vec::new();
    for part in html.split("class=\"takeaway\"").skip(1) {
        let text = part.split("</p>").next().unwrap_or("");
        let words: Vec<&str> = text.split_whitespace().collect();
        for pair in words.windows(2) {
            let second = pair[1].trim_end_matches(|c: char| c.is_ascii_punctuation());
            if ["ms", "s", "MB", "%", "min"].contains(&pair[0]) && pair[0] == second {
                doubled.push(text.chars().take(80).collect::<String>());
            }
        }
    }
    assert!(doubled.is_empty(), "takeaways repeating a unit: {doubled:?}");
}
