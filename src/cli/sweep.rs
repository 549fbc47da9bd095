//! `statesim sweep` and `statesim merge`: a parameter grid run in parallel, in
//! resumable per-point files, optionally as one share of a cluster job array.

use super::inputs::{EXIT_BAD_INPUT, load_text};
use super::{RunCommon, fancy_terminal};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use statesim::metrics::catalog::{LATENCY_MS, REQUESTS_FAILED};
use statesim::report::atomic::{LockMode, lock_out};
use statesim::report::format::sig3;
use statesim::report::sweep::{SPEC_FILE, gather, point_path, read_point, read_spec, write_assembled, write_point, write_spec};
use statesim::scenario::{Model, load_str_with};
use statesim::sweep::grid::{Partition, parse_axis, points};
use statesim::sweep::{RunOptions, SweepSpec, run_count, run_point};
use std::path::PathBuf;

pub struct SweepArgs {
    pub model: String,
    pub vary: Vec<String>,
    pub partition: Option<String>,
    pub common: RunCommon,
}

pub fn sweep(args: SweepArgs) -> u8 {
    let mut axes = Vec::new();
    for v in &args.vary {
        match parse_axis(v) {
            Ok(a) => axes.push(a),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let partition = match args.partition.as_deref().map(Partition::parse).transpose() {
        Ok(p) => p.unwrap_or(Partition::WHOLE),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if args.common.replications == Some(0) || args.common.threads == Some(0) {
        eprintln!("error: --replications and --threads must be at least 1");
        return EXIT_BAD_INPUT;
    }
    let (file, stem, text) = match load_text(&args.model) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let grid = points(&axes);
    if grid.len() > 1_000_000 {
        eprintln!("error: the grid has {} points; at most 1,000,000", grid.len());
        return EXIT_BAD_INPUT;
    }
    // Validate every point before running any, so a bad value costs nothing.
    let mut models: Vec<Model> = Vec::with_capacity(grid.len());
    for point in &grid {
        let sets: Vec<String> = args.common.sets.iter().cloned().chain(point.iter().cloned()).collect();
        match load_str_with(&file, &stem, &text, &sets, &args.common.budget.budget()) {
            Ok(m) => models.push(m),
            Err(e) => {
                eprintln!("{e}\n  (at the grid point {})", point.join(" "));
                return EXIT_BAD_INPUT;
            }
        }
    }
    let name = models[0].name.clone();
    let spec = SweepSpec {
        model: name.clone(),
        model_text_hash: Sha256::digest(text.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect(),
        axes,
        sets: args.common.sets.clone(),
        replications: args.common.replications,
        points: grid.len(),
        statesim_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    // Shared: the shares of a job array write into one folder side by side; a run is kept out.
    let _lock = match lock_out(&args.common.out, LockMode::Shared) {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let dir = args.common.out.join(&name).join("sweep");
    match read_spec(&dir) {
        Ok(existing) if existing != spec => {
            eprintln!("error: {} holds a different sweep\n  = help: use another --out, or delete the folder to start over", dir.join(SPEC_FILE).display());
            return EXIT_BAD_INPUT;
        }
        _ => {}
    }
    if let Err(e) = write_spec(&dir, &spec) {
        eprintln!("error: cannot write to {}: {e}", dir.display());
        return 1;
    }

    let opts = RunOptions { replications: args.common.replications, threads: None };
    let owned: Vec<usize> = (0..grid.len()).filter(|&i| partition.owns(i)).collect();
    let todo: Vec<usize> = owned
        .iter()
        .copied()
        .filter(|&i| match read_point(&dir, i) {
            Ok(done) => done.is_none(),
            Err(e) => {
                eprintln!("warning: {e}; running the point again");
                true
            }
        })
        .collect();
    let seed = models[0].variants[0].system.run.seed;
    if !args.common.quiet {
        eprintln!(
            "{name}: sweep of {} points x {} variants, seed {seed}; share {}/{} owns {} points, {} already done",
            grid.len(),
            models[0].variants.len(),
            partition.k,
            partition.n,
            owned.len(),
            owned.len() - todo.len()
        );
    }
    let total: u64 = todo.iter().map(|&i| run_count(&models[i], &opts)).sum();
    let bar = if args.common.quiet || !fancy_terminal() { ProgressBar::hidden() } else { ProgressBar::new(total) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} sweep [{bar:30}] {pos}/{len} runs, {elapsed} (eta {eta})").expect("valid template").progress_chars("=> "),
    );
    let run_all = || -> Vec<(usize, std::io::Result<()>)> {
        todo.par_iter()
            .map(|&i| {
                let point = run_point(i, grid[i].clone(), &models[i], &opts, &|| bar.inc(1));
                (i, write_point(&dir, &point))
            })
            .collect()
    };
    let results = match args.common.threads {
        Some(t) => rayon::ThreadPoolBuilder::new().num_threads(t).build().expect("thread pool").install(run_all),
        None => run_all(),
    };
    bar.finish_and_clear();
    for (i, r) in &results {
        if let Err(e) = r {
            eprintln!("error: cannot write {}: {e}", point_path(&dir, *i).display());
            return 1;
        }
    }
    if partition != Partition::WHOLE {
        if !args.common.quiet {
            eprintln!("share {}/{} done: {} point files in {}; combine the shares with `statesim merge`", partition.k, partition.n, owned.len(), dir.display());
        }
        return 0;
    }
    assemble(&[dir], None, args.common.quiet)
}

/// `statesim merge DIR...`: the shares of a partitioned sweep into one result.
pub fn merge(dirs: Vec<PathBuf>, out: Option<PathBuf>, quiet: bool) -> u8 {
    let dirs: Vec<PathBuf> = dirs.into_iter().map(|d| if d.join(SPEC_FILE).exists() { d } else { d.join("sweep") }).collect();
    assemble(&dirs, out, quiet)
}

fn assemble(dirs: &[PathBuf], out: Option<PathBuf>, quiet: bool) -> u8 {
    let (spec, points) = match gather(dirs) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let out = out.unwrap_or_else(|| dirs[0].clone());
    if out != dirs[0]
        && let Err(e) = write_spec(&out, &spec)
    {
        eprintln!("error: cannot write to {}: {e}", out.display());
        return 1;
    }
    match write_assembled(&out, &spec, &points).and_then(|mut files| {
        files.extend(statesim::report::write_sweep_charts(&out, &spec, &points)?);
        Ok(files)
    }) {
        Ok(files) => {
            if !quiet {
                eprintln!("wrote {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
            }
        }
        Err(e) => {
            eprintln!("error: cannot write to {}: {e}", out.display());
            return 1;
        }
    }
    // A compact view: p99 latency of ok responses and failed requests per point and variant.
    let mut t = comfy_table::Table::new();
    t.load_preset(if fancy_terminal() { comfy_table::presets::UTF8_FULL_CONDENSED } else { comfy_table::presets::ASCII_FULL_CONDENSED });
    let variants: Vec<String> = points[0].variants.iter().map(|v| v.name.clone()).collect();
    let mut header = vec!["point".to_string()];
    header.extend(variants.iter().map(|v| format!("{v}: p99 ms (ok) / failed")));
    t.set_header(header);
    for p in &points {
        let mut row = vec![p.sets.join(" ")];
        for v in &p.variants {
            let p99 = v.metrics.get(LATENCY_MS.p99.key).map_or(0.0, |e| e.mean);
            let failed = v.metrics.get(REQUESTS_FAILED.key).map_or(0.0, |e| e.mean);
            row.push(format!("{} / {}", sig3(p99), sig3(failed)));
        }
        t.add_row(row);
    }
    println!("{} — sweep of {} points\n{t}", spec.model, points.len());
    0
}
