//! Turning command-line model arguments into validated models: files, folders of
//! `*.toml`, or names of bundled models. Every problem of every file is printed before
//! anything runs, so a bad file never leaves partial outputs behind.

use statesim::bundled;
use statesim::scenario::{Budget, LoadError, Model, load_file_with, load_str_with, read_model_text};
use std::path::Path;

pub const EXIT_BAD_INPUT: u8 = 2;

/// Loads every model named by `inputs`; on any problem prints them all and returns 2.
pub fn load_all(inputs: &[String], sets: &[String]) -> Result<Vec<Model>, u8> {
    load_all_with(inputs, sets, &Budget::DEFAULT)
}

/// [`load_all`] with a budget per run other than the default.
pub fn load_all_with(inputs: &[String], sets: &[String], budget: &Budget) -> Result<Vec<Model>, u8> {
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
            match load_str_with(b.path, b.name, b.text, sets, budget) {
                Ok(m) => models.push(m),
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
            match load_file_with(&file, sets, budget) {
                Ok(m) => models.push(m),
                Err(LoadError::Io { path, source }) => {
                    eprintln!("error: cannot read {path}: {source}");
                    failed = true;
                }
                Err(LoadError::Invalid(e)) => {
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

/// The theory models of the folders named by `inputs`: every `*.toml` of a `theory/`
/// folder inside a named folder (`models/theory/` for `statesim run models/`), which the
/// run checks against queueing theory as `statesim check` does. Loaded without the run's
/// `--set` overrides, which are meant for the models themselves.
pub fn load_theory(inputs: &[String]) -> Result<Vec<Model>, u8> {
    let folders: Vec<String> = inputs
        .iter()
        .map(|i| Path::new(i).join("theory"))
        .filter(|t| t.is_dir() && std::fs::read_dir(t).is_ok_and(|mut e| e.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml")))))
        .map(|t| t.display().to_string())
        .collect();
    if folders.is_empty() { Ok(Vec::new()) } else { load_all(&folders, &[]) }
}

/// The text of one model named on the command line (a file or a bundled name), with the
/// name to show in messages and the default model name.
pub fn load_text(input: &str) -> Result<(String, String, String), u8> {
    let path = Path::new(input);
    if path.is_file() {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        return match read_model_text(path) {
            Ok(t) => Ok((path.display().to_string(), stem, t)),
            Err(LoadError::Io { path, source }) => {
                eprintln!("error: cannot read {path}: {source}");
                Err(EXIT_BAD_INPUT)
            }
            Err(LoadError::Invalid(e)) => {
                eprintln!("{e}");
                Err(EXIT_BAD_INPUT)
            }
        };
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
