//! The README's model reference names every key of `statesim schema`, and starts with
//! the two commands that set everything up.

fn key_paths(node: &serde_json::Value, defs: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    let resolve = |n: &serde_json::Value| -> serde_json::Value {
        // An optional section is `anyOf: [{$ref}, {type: null}]`: follow the reference.
        let n = match n.get("anyOf").and_then(|a| a.as_array()).and_then(|a| a.iter().find(|x| x.get("$ref").is_some())) {
            Some(r) if defs[r["$ref"].as_str().unwrap().rsplit('/').next().unwrap()].get("properties").is_some() => r,
            _ => n,
        };
        match n.get("$ref").and_then(|r| r.as_str()) {
            Some(r) => defs[r.rsplit('/').next().unwrap()].clone(),
            None => n.clone(),
        }
    };
    let node = resolve(node);
    if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
        for (k, v) in props {
            let path = format!("{prefix}{k}");
            let v = resolve(v);
            if v.get("properties").is_some() {
                // A section: its keys are listed, not the section itself.
                key_paths(&v, defs, &format!("{path}."), out);
            } else {
                out.push(path.clone());
            }
            if let Some(items) = v.get("items") {
                key_paths(items, defs, &format!("{path}[]."), out);
            }
        }
    }
}

#[test]
fn readme_reference_covers_the_schema() {
    let schema = statesim::scenario::json_schema();
    let mut paths = Vec::new();
    key_paths(&schema, &schema["$defs"], "", &mut paths);
    assert!(paths.len() > 30);
    let readme = std::fs::read_to_string("README.md").unwrap();
    let missing: Vec<_> = paths.iter().filter(|p| !readme.contains(&format!("| `{p}` |"))).collect();
    assert!(missing.is_empty(), "README reference lacks {missing:?}");
}

#[test]
fn readme_starts_with_the_two_commands() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let first_block = readme.split("```sh").nth(1).unwrap().split("```").next().unwrap();
    assert!(first_block.contains("cargo run --release -- run models/"));
    assert!(first_block.contains("cargo test --release"));
    let ci = std::fs::read_to_string(".ci/run").unwrap();
    assert!(ci.contains("cargo test --release"), ".ci/run calls the README's test command");
}

/// The README's example table is exactly what `statesim run crash-test --format
/// markdown` prints today: its numbers come from the simulator, not from an old run.
#[test]
fn readme_table_comes_from_the_current_simulator() {
    let summary = &crate::shared::bundled("crash-test").summary;
    let markdown = statesim::report::table::render_markdown(summary);
    let table = markdown.split("\n\n").nth(2).unwrap().trim();
    let readme = std::fs::read_to_string("README.md").unwrap();
    assert!(readme.contains(table), "README.md's crash-test table is stale; regenerate it with\n  statesim run crash-test --format markdown\n\n{table}");
}

/// The gallery's images are committed (the main job regenerates them).
#[test]
fn readme_gallery_images_exist() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let images: Vec<&str> = readme.split("](output/").skip(1).map(|s| s.split(')').next().unwrap()).collect();
    assert!(images.len() >= 4);
    for img in images {
        let path = format!("output/{img}");
        let bytes = std::fs::read(&path).unwrap_or_else(|_| panic!("{path} is missing: run `cargo run --release -- run models/`"));
        assert!(bytes.starts_with(b"\x89PNG"), "{path}");
    }
}
