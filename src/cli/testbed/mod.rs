//! Real components on loopback, behind the `testbed` feature: `statesim calibrate`
//! (JWT and Redis costs of this machine) and `statesim testbed MODEL` (real web servers,
//! HAProxy, Redis and a load generator, compared with the simulator).
//!
//! I/O through and through, so it lives with the command line; the simulator's library
//! knows nothing of it. Every process it starts is registered in [`procs`] and stopped
//! at the end, on failure and on Ctrl-C; everything listens on 127.0.0.0/8 only.

mod bed;
mod calibrate;
mod compare;
mod loadgen;
mod procs;
mod resp;
pub mod server;

pub use calibrate::calibrate;

use statesim::check::CheckRow;
use statesim::metrics::stats::Estimate;
use statesim::report::machine::{cpu_clock, stolen_share};
use std::path::Path;

fn fail(msg: String) -> u8 {
    eprintln!("error: {msg}");
    2
}

/// Redis GET p50 and server CPU per command, in seconds, measured as `calibrate` does.
fn redis_costs(addr: &str) -> Result<(f64, f64), String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(calibrate::measure_redis(addr)).map_err(|e| e.to_string())
}

pub fn testbed(model: &str, out: &Path, quick: bool) -> u8 {
    procs::stop_children_on_signals();
    let Some(variants) = compare::scenario(model, quick) else {
        return fail(format!("the testbed knows crash-test, mega-proxy, shopping-cart and rate-limits, not \"{model}\""));
    };
    for (prog, pkg) in [(bed::haproxy(), "haproxy"), ("redis-server", "redis-server")] {
        if !procs::have(prog) {
            return fail(format!("{prog} is not installed; `apt-get install -y {pkg}`"));
        }
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        return fail(format!("cannot create {}: {e}", out.display()));
    }
    let (redis_proc, redis) = match procs::start_redis() {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let (redis_p50, redis_service) = match redis_costs(&redis) {
        Ok(x) => x,
        Err(e) => return fail(format!("redis: {e}")),
    };
    eprintln!("redis-server at {redis}: GET p50 {:.1} us, {:.1} us of CPU per command", redis_p50 * 1e6, redis_service * 1e6);
    // The testbed's own overhead: the first variant with no work, no login cost and no kill.
    let zero = bed::Variant {
        name: "zero-work",
        service_mean_s: 0.0,
        login_cpu_s: 0.0,
        kill: None,
        duration_s: variants[0].duration_s / 2.0,
        warmup_s: variants[0].warmup_s / 2.0,
        ..variants[0].clone()
    };
    // Its p99 is taken off every variant's, so a zero-work run the hypervisor stalled
    // (more than 5% of the CPU stolen) is run again, up to three times in all, and the
    // least disturbed kept.
    let mut best: Option<((f64, f64), Option<f64>)> = None;
    for attempt in 1..=3 {
        eprintln!("zero-work run ({} s){} ...", zero.duration_s, if attempt > 1 { ", again" } else { "" });
        let clock = cpu_clock();
        let overhead = match bed::run(&zero, &redis, out) {
            Ok(m) => compare::latency_ms(&m),
            Err(e) => return fail(e),
        };
        let share = stolen_share(clock);
        eprintln!("testbed overhead: p50 {:.2} ms, p99 {:.2} ms{}", overhead.0, overhead.1, stolen_note(share));
        if best.is_none_or(|(_, s)| share.unwrap_or(0.0) < s.unwrap_or(0.0)) {
            best = Some((overhead, share));
        }
        if share.unwrap_or(0.0) <= 0.05 {
            break;
        }
    }
    let (overhead, zero_stolen) = best.expect("a zero-work run");
    let mut stolen = vec![("zero-work".to_string(), zero_stolen)];
    let mut measured = Vec::new();
    for v in &variants {
        let mut r = match super::testbed::resp_flush(&redis) {
            Ok(()) => Ok(()),
            Err(e) => Err(e),
        };
        if r.is_ok() {
            eprintln!(
                "{model} / {}: {} servers, {} users, {} s{} ...",
                v.name,
                v.servers,
                v.users,
                v.duration_s,
                v.kill.map(|(at, k)| format!(", server-{k} killed at {at} s")).unwrap_or_default()
            );
            let clock = cpu_clock();
            r = bed::run(v, &redis, out).map(|m| measured.push(m));
            let share = stolen_share(clock);
            if r.is_ok() && !stolen_note(share).is_empty() {
                eprintln!("{}:{}", v.name, stolen_note(share));
            }
            stolen.push((v.name.to_string(), share));
        }
        if let Err(e) = r {
            return fail(e);
        }
    }
    drop(redis_proc);

    let used: Vec<compare::Used> = variants.iter().zip(&measured).map(|(v, m)| compare::used(v, m)).collect();
    for (v, u) in variants.iter().zip(&used) {
        eprintln!(
            "{}: service really held {:.2} ms (cv {:.2}) for a nominal {:.2} ms; a login {:.2} ms for {:.2} ms",
            v.name,
            u.service_mean_s * 1e3,
            u.service_cv,
            v.service_mean_s * 1e3,
            u.login_s * 1e3,
            v.login_cpu_s * 1e3
        );
    }
    let text = compare::model_text(model, &variants, &used, redis_p50, redis_service, 10);
    let model_file = out.join(format!("testbed-{model}.toml"));
    let _ = std::fs::write(&model_file, &text);
    let m = match statesim::scenario::load_str(&model_file.display().to_string(), "testbed", &text, &[]) {
        Ok(m) => m,
        Err(e) => return fail(format!("the written model does not load: {e}")),
    };
    let (summary, _) = statesim::sweep::run_and_summarize(&m, &statesim::sweep::RunOptions::default(), &|| {});
    let mut rows = Vec::new();
    for (v, meas) in variants.iter().zip(&measured) {
        rows.extend(compare::compare(model, v, meas, &summary, overhead));
    }

    let mut t = comfy_table::Table::new();
    t.load_preset(if crate::cli::fancy_terminal() { comfy_table::presets::UTF8_FULL_CONDENSED } else { comfy_table::presets::ASCII_FULL_CONDENSED });
    t.set_header(vec!["variant", "metric", "measured", "less overhead", "predicted (95% interval; counts: of one run)", "target", "held"]);
    for r in &rows {
        t.add_row(vec![
            r.variant.clone(),
            r.metric.clone(),
            format!("{:.4}", r.measured),
            format!("{:.4}", r.measured_net),
            format!("{:.4} ({:.4} to {:.4})", r.predicted, r.predicted_low, r.predicted_high),
            r.target.clone(),
            if r.held { "yes".into() } else { "NO".into() },
        ]);
    }
    let held = rows.iter().filter(|r| r.held).count();
    println!("{model}: measured on loopback vs predicted by statesim (overhead of the testbed: p50 {:.2} ms, p99 {:.2} ms)\n{t}", overhead.0, overhead.1);
    println!("{held}/{} targets held", rows.len());
    let json = serde_json::json!({
        "model": model,
        "quick": quick,
        "redis_get_p50_us": redis_p50 * 1e6,
        "redis_service_us": redis_service * 1e6,
        "overhead_ms": { "p50": overhead.0, "p99": overhead.1 },
        // The share of this machine's CPU time the hypervisor gave to others during each
        // run (/proc/stat's steal), where the kernel reports it.
        "cpu_stolen_share": stolen.iter().map(|(name, share)| serde_json::json!({ "run": name, "share": share })).collect::<Vec<_>>(),
        "service_used": variants.iter().zip(&used).map(|(v, u)| serde_json::json!({ "variant": v.name, "nominal_mean_ms": v.service_mean_s * 1e3, "nominal_cv": v.service_cv, "used_mean_ms": u.service_mean_s * 1e3, "used_cv": u.service_cv, "login_nominal_ms": v.login_cpu_s * 1e3, "login_used_ms": u.login_s * 1e3 })).collect::<Vec<_>>(),
        "targets_held": held,
        "targets": rows.len(),
        "rows": rows,
    });
    let _ = std::fs::write(out.join("comparison.json"), serde_json::to_string_pretty(&json).expect("json"));
    // Each prediction's whisker is its target: the wider of its 95% interval (for counts,
    // one run's 95% range) and the tolerance, so a measured figure inside it is a target
    // held. Zeros are in the table only.
    let chart_rows: Vec<CheckRow> = rows
        .iter()
        .filter(|r| r.measured_net != 0.0)
        .map(|r| CheckRow {
            model: model.to_string(),
            case: r.variant.clone(),
            figure: catalog_label(&r.metric),
            analytic: r.measured_net,
            simulated: Estimate { mean: r.predicted, ci95: Some((r.predicted_high - r.predicted).max(r.tolerance * r.predicted.abs())), n: 10 },
        })
        .collect();
    let words = statesim::report::charts::CheckWords {
        title: "Does the simulator match a real testbed?",
        subtitle: format!("statesim testbed {model}: each prediction (dot) with its target (whisker), against what was measured on loopback (dashed)"),
        reference: "measured",
        reference_line: "the testbed: measured, less its overhead",
        estimate: "predicted, target",
        x_desc: "predicted minus measured, as a share of measured (%)",
    };
    match statesim::report::charts::render(&statesim::report::charts::CheckChart { rows: &chart_rows, words }) {
        Ok((_svg, png)) => {
            let _ = std::fs::write(out.join("comparison.png"), png);
        }
        Err(e) => eprintln!("warning: no chart: {e}"),
    }
    println!("wrote {}/comparison.json, comparison.png and {}", out.display(), model_file.display());
    if held == rows.len() { 0 } else { 1 }
}

/// A figure's name short enough for the chart's left margin.
fn catalog_label(metric: &str) -> &'static str {
    // The catalog's label, as the table and the report name the figure.
    statesim::metrics::catalog::find(metric).map_or("other", |m| m.label)
}

/// A warning when a run lost more than 5% of the CPU to other machines: its latencies
/// are then the machine's, not the model's.
fn stolen_note(share: Option<f64>) -> String {
    match share {
        Some(x) if x > 0.05 => format!(" warning: {:.0}% of the CPU was stolen by the hypervisor during this run; latency targets may miss for it", x * 100.0),
        _ => String::new(),
    }
}

/// Empties the Redis between variants.
fn resp_flush(addr: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut r = resp::Redis::connect(addr).await?;
        r.cmd(&[b"FLUSHALL"]).await.map(|_| ())
    })
    .map_err(|e| e.to_string())
}
