//! `statesim check`: analytic vs simulated for every theory model, side by side.

use super::inputs::load_all;
use super::{Format, fancy_terminal};
use comfy_table::{CellAlignment, Table, presets};
use indicatif::ProgressBar;
use statesim::bundled;
use statesim::check::{CheckRow, check_model};
use statesim::sweep::{RunOptions, run_count};

pub fn check(models: Vec<String>, replications: Option<u32>, threads: Option<usize>, format: Format, quiet: bool) -> u8 {
    let names = if models.is_empty() { bundled::THEORY.iter().map(|b| b.name.to_string()).collect() } else { models };
    let loaded = match load_all(&names, &[]) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let opts = RunOptions { replications, threads };
    let total = loaded.iter().map(|m| run_count(m, &opts)).sum();
    let bar = if quiet || !fancy_terminal() { ProgressBar::hidden() } else { ProgressBar::new(total) };
    let mut rows: Vec<CheckRow> = Vec::new();
    for m in &loaded {
        bar.set_message(m.name.clone());
        match check_model(m, &opts, &|| bar.inc(1)) {
            Ok(r) => rows.extend(r),
            Err(e) => {
                bar.suspend(|| eprintln!("error: {}: {e}", m.source));
                return 2;
            }
        }
    }
    bar.finish_and_clear();
    let outside = rows.iter().filter(|r| !r.inside()).count();
    match format {
        Format::Json => {
            println!("{}", serde_json::to_string_pretty(&statesim::report::check_json(&rows)).expect("rows serialize"));
        }
        Format::Markdown => {
            println!("| case | figure | analytic | simulated | 95% CI | inside |\n|---|---|---:|---:|---|---|");
            for r in &rows {
                println!(
                    "| {} | {} | {} | {} | {} .. {} | {} |",
                    r.case,
                    r.figure,
                    sig4(r.analytic),
                    sig4(r.simulated.mean),
                    sig4(r.simulated.low()),
                    sig4(r.simulated.high()),
                    if r.inside() { "yes" } else { "NO" }
                );
            }
        }
        Format::Table => {
            let mut t = Table::new();
            t.load_preset(if fancy_terminal() { presets::UTF8_FULL_CONDENSED } else { presets::ASCII_FULL_CONDENSED });
            t.set_header(["case", "figure", "analytic", "simulated", "95% CI", "inside"]);
            for r in &rows {
                t.add_row([
                    r.case.clone(),
                    r.figure.to_string(),
                    sig4(r.analytic),
                    sig4(r.simulated.mean),
                    format!("{} .. {}", sig4(r.simulated.low()), sig4(r.simulated.high())),
                    if r.inside() { "yes".into() } else { "NO".into() },
                ]);
            }
            for c in 2..=3 {
                if let Some(col) = t.column_mut(c) {
                    col.set_cell_alignment(CellAlignment::Right);
                }
            }
            println!("{t}");
            let reps = rows.first().map_or(0, |r| r.simulated.n);
            println!("{} of {} figures inside their 95% interval ({} replications each, seed from each model file)", rows.len() - outside, rows.len(), reps);
        }
    }
    if outside > 0 { 1 } else { 0 }
}

fn sig4(x: f64) -> String {
    format!("{x:.4}")
}
