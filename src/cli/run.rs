//! `statesim run`: load every model first, then run them all, write outputs, and print
//! one comparison table per model.

use super::inputs::{load_all_with, load_theory};
use super::{Format, RunCommon, fancy_terminal};
use indicatif::{ProgressBar, ProgressStyle};
use statesim::check::{CheckRow, check_model};
use statesim::report::atomic::{LockMode, Staging, lock_out, write_atomic};
use statesim::report::html::{CheckSection, ModelSection};
use statesim::report::{CHECK_FOLDER, table, takeaway, write_check_outputs, write_model_outputs};
use statesim::sweep::{RunOptions, run_and_summarize, run_count};

pub struct RunArgs {
    pub inputs: Vec<String>,
    pub seed: Option<u64>,
    pub common: RunCommon,
    pub format: Format,
}

pub fn run(args: RunArgs) -> u8 {
    let mut sets = args.common.sets.clone();
    if let Some(seed) = args.seed {
        sets.insert(0, format!("run.seed={seed}"));
    }
    if let Some(r) = args.common.replications
        && r == 0
    {
        eprintln!("error: --replications must be at least 1");
        return 2;
    }
    if args.common.threads == Some(0) {
        eprintln!("error: --threads must be at least 1");
        return 2;
    }
    let models = match load_all_with(&args.inputs, &sets, &args.common.budget.budget()) {
        Ok(m) => m,
        Err(code) => return code,
    };
    // A folder's theory/ models are checked against queueing theory too, at their own
    // replications, unless a model would take their output folder's name.
    let theory = match load_theory(&args.inputs) {
        Ok(t) if models.iter().any(|m| m.name == CHECK_FOLDER) => {
            if !t.is_empty() {
                eprintln!("warning: a model is called \"{CHECK_FOLDER}\"; the theory check, which writes to that folder, is left out");
            }
            Vec::new()
        }
        Ok(t) => t,
        Err(code) => return code,
    };
    // Held to the end; a second run into the same folder is refused, not queued.
    let _lock = match lock_out(&args.common.out, LockMode::Exclusive) {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let opts = RunOptions { replications: args.common.replications, threads: args.common.threads };
    let check_opts = RunOptions { replications: None, threads: args.common.threads };
    let total: u64 = models.iter().map(|m| run_count(m, &opts)).sum::<u64>() + theory.iter().map(|m| run_count(m, &check_opts)).sum::<u64>();
    let bar = if args.common.quiet || !fancy_terminal() { ProgressBar::hidden() } else { ProgressBar::new(total) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<20} [{bar:30}] {pos}/{len} runs, {elapsed} (eta {eta})").expect("valid template").progress_chars("=> "),
    );

    let mut summaries = Vec::new();
    let mut sections = Vec::new();
    let mut staged = Vec::new();
    let mut failed = false;
    for model in &models {
        for w in &model.warnings {
            bar.suspend(|| eprintln!("warning: {}: {w}", model.name));
        }
        if !args.common.quiet {
            let seed = model.variants[0].system.run.seed;
            bar.suspend(|| {
                eprintln!(
                    "{}: seed {seed}, {} variant(s) x {} replication(s)",
                    model.name,
                    model.variants.len(),
                    run_count(model, &opts) / model.variants.len() as u64
                )
            });
        }
        bar.set_message(model.name.clone());
        let (summary, runs) = run_and_summarize(model, &opts, &|| bar.inc(1));
        // A takeaway written for the model's own parameters may not hold after a --set.
        for c in model.takeaway.iter().flat_map(|t| takeaway::check(t, &summary)).filter(|c| !c.holds) {
            bar.suspend(|| eprintln!("warning: {}: the takeaway states what this run does not bear out: {}", model.name, c.text));
        }
        let dir = args.common.out.join(&model.name);
        // Staged now, swapped in once every model is staged, so an interrupted run leaves
        // the previous outputs as they were.
        match Staging::new(&dir).and_then(|staging| Ok((write_model_outputs(&staging, model, &summary, &runs)?, staging))) {
            Ok(((files, charts), staging)) => {
                sections.push((model.name.clone(), charts));
                staged.push((staging, files));
            }
            Err(e) => {
                bar.suspend(|| eprintln!("error: cannot write outputs to {}: {e}", dir.display()));
                failed = true;
            }
        }
        if args.format != Format::Json {
            let mut text = match args.format {
                Format::Markdown => table::render_markdown(&summary),
                _ => table::render_terminal(&summary, fancy_terminal()),
            };
            if let Some(diffs) = table::render_differences(&summary) {
                text.push('\n');
                text.push_str(&diffs);
            }
            bar.suspend(|| println!("{text}"));
        }
        summaries.push(summary);
    }
    let mut check: Option<(Vec<CheckRow>, statesim::report::ChartFile)> = None;
    if !theory.is_empty() {
        bar.set_message("theory check");
        let mut rows = Vec::new();
        for m in &theory {
            match check_model(m, &check_opts, &|| bar.inc(1)) {
                Ok(r) => rows.extend(r),
                Err(e) => bar.suspend(|| eprintln!("warning: {}: left out of the theory check: {e}", m.source)),
            }
        }
        let dir = args.common.out.join(CHECK_FOLDER);
        match Staging::new(&dir).and_then(|staging| Ok((write_check_outputs(&staging, &rows)?, staging))) {
            Ok(((files, chart), staging)) => {
                if !args.common.quiet {
                    let inside = rows.iter().filter(|r| r.inside()).count();
                    let reps = rows.first().map_or(0, |r| r.simulated.n);
                    bar.suspend(|| eprintln!("theory check: {inside} of {} figures inside their 95% interval ({reps} replications each)", rows.len()));
                }
                staged.push((staging, files));
                check = Some((rows, chart));
            }
            Err(e) => {
                bar.suspend(|| eprintln!("error: cannot write outputs to {}: {e}", dir.display()));
                failed = true;
            }
        }
    }
    bar.finish_and_clear();
    for (staging, files) in staged {
        let dir = staging.target().to_path_buf();
        match staging.commit() {
            Ok(()) if !args.common.quiet => eprintln!("wrote {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")),
            Ok(()) => {}
            Err(e) => {
                eprintln!("error: cannot put the outputs in place at {}: {e}", dir.display());
                failed = true;
            }
        }
    }
    if !sections.is_empty() && !failed {
        let html_sections: Vec<ModelSection> =
            models.iter().zip(&summaries).zip(sections).map(|((model, summary), (folder, charts))| ModelSection { model, summary, folder, charts }).collect();
        let check_section = check.as_ref().map(|(rows, chart)| CheckSection { rows, folder: CHECK_FOLDER.to_string(), chart: chart.clone() });
        let index = args.common.out.join("index.html");
        match write_atomic(&index, statesim::report::html::render(&html_sections, check_section.as_ref()).as_bytes()) {
            Ok(()) => {
                if !args.common.quiet {
                    eprintln!("report: {}", index.display());
                }
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", index.display());
                failed = true;
            }
        }
    }
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&summaries).expect("summaries serialize"));
    }
    if failed { 1 } else { 0 }
}
