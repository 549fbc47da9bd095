//! `statesim walkthrough [TOPIC]`: the interview walkthroughs in the terminal. On a
//! terminal it pauses for Enter between parts; otherwise it runs straight through.

use super::fancy_terminal;
use statesim::walkthrough::{TOPICS, Walkthrough, find, run};
use std::io::{BufRead, IsTerminal, Write};

pub fn walkthrough(topic: Option<String>, no_pause: bool) -> u8 {
    let Some(name) = topic else {
        println!("Interview walkthroughs: each asks a question, runs the models live and shows the numbers.\n");
        for t in TOPICS {
            println!("  {:<16} {}", t.name, t.question);
        }
        println!("\nRun one with `statesim walkthrough TOPIC`, or all with `statesim walkthrough all`.");
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
                match statesim::scenario::diag::nearest(&name, names.iter().copied()) {
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
        eprintln!("running {} ...", t.models.join(", "));
        let w = run(t);
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

fn show(w: &Walkthrough, pause: bool) -> bool {
    let bold = |s: &str| if fancy_terminal() { format!("\x1b[1m{s}\x1b[0m") } else { s.to_string() };
    println!("\n{}\n{}\n", bold(&format!("== {} ==", w.topic)), bold(&format!("Interviewer: {}", w.question)));
    for s in &w.sections {
        println!("{}\n  {}\n", bold(s.heading), wrap(&s.text, 88));
        if pause {
            wait_for_enter();
        }
    }
    println!("{}", bold("Checked against this run"));
    let mut ok = true;
    for c in &w.claims {
        println!("  [{}] {}", if c.holds { "ok" } else { "FAILS" }, c.text);
        ok &= c.holds;
    }
    let reproduce: Vec<String> = w.runs.iter().map(|(m, seed)| format!("statesim run {m} --seed {seed}")).collect();
    println!("\nReproduce: {}", reproduce.join("; "));
    ok
}
