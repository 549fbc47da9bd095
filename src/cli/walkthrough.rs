//! `statesim walkthrough [TOPIC]`: the interview walkthroughs in the terminal. The
//! question comes at once, with the run's progress under it (some runs take seconds);
//! on a terminal it pauses for Enter between parts, otherwise it runs straight through.

use super::fancy_terminal;
use indicatif::{ProgressBar, ProgressStyle};
use statesim::walkthrough::{TOPICS, Topic, Walkthrough, find, run_count, run_with_progress};
use std::io::{BufRead, IsTerminal, Write};

pub fn walkthrough(topic: Option<String>, no_pause: bool) -> u8 {
    let Some(name) = topic else {
        println!("Interview walkthroughs: each asks a question, runs the models live and shows the numbers.\n");
        for t in TOPICS {
            println!("  {:<16} {}", t.name, t.question);
        }
        println!("\nEach topic is a bundled model, named after it. Run one with `statesim walkthrough TOPIC`, or all with `statesim walkthrough all`.");
        return 0;
    };
    let topics: Vec<_> = if name == "all" {
        TOPICS.iter().collect()
    } else {
        match find(&name) {
            Some(t) => vec![t],
            None => {
                eprintln!("error: no walkthrough called \"{name}\"");
                let names: Vec<&str> = TOPICS.iter().map(|t| t.name).collect();
                let known = TOPICS.iter().flat_map(|t| std::iter::once(t.name).chain(t.aliases.iter().copied()));
                match statesim::scenario::diag::nearest(&name, known).and_then(find).map(|t| t.name) {
                    Some(best) => eprintln!("  = help: did you mean \"{best}\"? topics: {}", names.join(", ")),
                    None => eprintln!("  = help: topics: {}", names.join(", ")),
                }
                return 2;
            }
        }
    };
    let pause = !no_pause && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let mut all_hold = true;
    for t in topics {
        ask(t);
        let total = run_count(t);
        let bar = if fancy_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("  running {msg}: {pos}/{len} simulations [{bar:24}] {elapsed}").expect("valid template").progress_chars("=> "),
            );
            bar
        } else {
            eprintln!("running {} ({total} simulations) ...", t.models.join(", "));
            ProgressBar::hidden()
        };
        bar.set_message(t.models.join(", "));
        let w = run_with_progress(t, &|| bar.inc(1));
        bar.finish_and_clear();
        all_hold &= show(&w, pause);
    }
    if all_hold { 0 } else { 1 }
}

fn wait_for_enter() {
    print!("  [Enter]");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line + word.len() + 1 > width && line > 0 {
            out.push_str("\n  ");
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
    }
    out
}

fn bold(s: &str) -> String {
    if fancy_terminal() { format!("\x1b[1m{s}\x1b[0m") } else { s.to_string() }
}

/// The topic's heading and question, before its models run.
fn ask(t: &Topic) {
    println!("\n{}\n{}\n", bold(&format!("== {} ==", t.name)), bold(&format!("Interviewer: {}", t.question)));
    let _ = std::io::stdout().flush();
}

fn show(w: &Walkthrough, pause: bool) -> bool {
    for s in &w.sections {
        println!("{}\n  {}\n", bold(s.heading), wrap(&s.text, 88));
        if pause {
            wait_for_enter();
        }
    }
    println!("{}", bold("Checked against this run"));
    println!("  {}", wrap(&w.how_checked, 88));
    let mut ok = true;
    for c in &w.claims {
        println!("  [{}] {}", if c.holds { "ok" } else { "FAILS" }, c.text);
        ok &= c.holds;
    }
    let reproduce: Vec<String> = w.runs.iter().map(|(m, seed)| format!("statesim run {m} --seed {seed}")).collect();
    println!("\nReproduce: {}", reproduce.join("; "));
    ok
}
