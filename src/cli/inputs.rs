//! Turning command-line model arguments into validated models: files, folders of
//! `*.toml`, or names of bundled models. Every problem of every file is printed before
//! anything runs, so a bad file never leaves partial outputs behind.

use statesim::bundled;
use statesim::scenario::{Model, load_str};
use std::path::Path;

pub const EXIT_BAD_INPUT: u8 = 2;

/// Loads every model named by `inputs`; on any problem prints them all and returns 2.
pub fn load_all(inputs: &[String], sets: &[String]) -> Result<Vec<Model>, u8> {
    let mut models = Vec::new();
    let mut failed = false;
    for input in inputs {
        let path = Path::new(input);
        let files: Vec<std::path::PathBuf> = if path.is_dir() {
            match std::fs::read_dir(path) {
                Ok(entries) => {
                    let mut files: Vec<_> =
                        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file()).collect();
                    files.sort();
                    if files.is_empty() {
                        eprintln!("error: {input} holds no model files (*.toml)");
                        failed = true;
                    }
                    files
                }
                Err(e) => {
                    eprintln!("error: cannot read the folder {input}: {e}");
                    failed = true;
                    continue;
                }
            }
        } else if path.exists() {
            vec![path.to_path_buf()]
        } else if let Some(b) = bundled::find(input) {
            match load_str(b.path, b.name, b.text, sets) {
                Ok(m) => models.push(with_story(m, b.text)),
                Err(e) => {
                    eprintln!("{e}");
                    failed = true;
                }
            }
            continue;
        } else {
            let names: Vec<&str> = bundled::MODELS.iter().chain(bundled::THEORY).map(|b| b.name).collect();
            eprintln!("error: no file, folder or bundled model called \"{input}\"");
            match statesim::scenario::diag::nearest(input, names.iter().copied()) {
                Some(best) => eprintln!("  = help: did you mean \"{best}\"? `statesim list` shows the bundled models"),
                None => eprintln!("  = help: `statesim list` shows the bundled models"),
            }
            failed = true;
            continue;
        };
        for file in files {
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(source) => {
                    eprintln!("error: cannot read {}: {source}", file.display());
                    failed = true;
                    continue;
                }
            };
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
            match load_str(&file.display().to_string(), &stem, &text, sets) {
                Ok(m) => models.push(with_story(m, &text)),
                Err(e) => {
                    eprintln!("{e}\n");
                    failed = true;
                }
            }
        }
    }
    // Two models writing to one output folder would overwrite each other.
    for (i, m) in models.iter().enumerate() {
        if let Some(other) = models[..i].iter().find(|o| o.name == m.name) {
            eprintln!(
                "error: {} and {} are both called \"{}\"; outputs would collide\n  = help: give one of them another `name`",
                other.source, m.source, m.name
            );
            failed = true;
        }
    }
    if failed { Err(EXIT_BAD_INPUT) } else { Ok(models) }
}

/// A model whose file has no `story` tells it in the comment block that opens the file.
fn with_story(mut model: Model, text: &str) -> Model {
    if model.story.is_empty() {
        model.story = opening_comments(text);
    }
    model
}

/// The comment block that opens a model file, without the `#` marks; blank comment lines
/// separate paragraphs.
fn opening_comments(text: &str) -> String {
    text.lines()
        .take_while(|l| l.trim_start().starts_with('#'))
        .map(|l| {
            let body = l.trim_start().trim_start_matches('#');
            body.strip_prefix(' ').unwrap_or(body).to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of one model named on the command line (a file or a bundled name), with the
/// name to show in messages and the default model name.
pub fn load_text(input: &str) -> Result<(String, String, String), u8> {
    let path = Path::new(input);
    if path.is_file() {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        return std::fs::read_to_string(path).map(|t| (path.display().to_string(), stem, t)).map_err(|e| {
            eprintln!("error: cannot read {input}: {e}");
            EXIT_BAD_INPUT
        });
    }
    if let Some(b) = bundled::find(input) {
        return Ok((b.path.to_string(), b.name.to_string(), b.text.to_string()));
    }
    let names: Vec<&str> = bundled::MODELS.iter().chain(bundled::THEORY).map(|b| b.name).collect();
    eprintln!("error: no model file or bundled model called \"{input}\"");
    match statesim::scenario::diag::nearest(input, names.iter().copied()) {
        Some(best) => eprintln!("  = help: did you mean \"{best}\"? `statesim list` shows the bundled models"),
        None => eprintln!("  = help: `statesim list` shows the bundled models"),
    }
    Err(EXIT_BAD_INPUT)
}
