//! Model text in, a validated model or located errors out: the path `statesim validate`
//! takes (UTF-8 check, TOML, resolution, `--set` overrides, the budget), then what it
//! prints (each variant's estimate, or the errors with their lines). Any panic is a find.
//!
//! An input is the bytes of a model file, optionally followed by a line `#--set` and then
//! `--set` arguments, one per line.

#![no_main]

use libfuzzer_sys::fuzz_target;
use statesim::scenario::budget::{self, human_bytes, sci};
use statesim::scenario::{Budget, ModelErrors, load_str_with, model_text};

const SETS: &[u8] = b"\n#--set\n";

/// Every problem names where it is: a line and column (a span) or a key path.
fn check_errors(e: &ModelErrors) {
    let shown = e.to_string();
    assert!(!e.problems.is_empty(), "an error without problems");
    assert!(shown.contains(&e.file), "{shown}");
    for p in &e.problems {
        assert!(p.span.is_some() || p.path.is_some() || e.text.trim().is_empty(), "a problem with no location: {p:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let (file_bytes, sets) = match data.windows(SETS.len()).position(|w| w == SETS) {
        Some(at) => {
            let sets = String::from_utf8_lossy(&data[at + SETS.len()..]).lines().map(str::to_string).collect::<Vec<_>>();
            (&data[..at], sets)
        }
        None => (data, Vec::new()),
    };
    let text = match model_text("fuzz.toml", file_bytes.to_vec()) {
        Ok(text) => text,
        Err(e) => return check_errors(&e),
    };
    match load_str_with("fuzz.toml", "fuzz", &text, &sets, &Budget::DEFAULT) {
        Ok(model) => {
            assert!(!model.variants.is_empty());
            for v in &model.variants {
                let e = budget::estimate(&v.system);
                let (events, bytes) = (e.total_events(), e.total_bytes());
                assert!(events <= Budget::DEFAULT.events && bytes <= Budget::DEFAULT.memory_bytes, "{}: over the budget yet valid", v.name);
                let _ = (sci(events), human_bytes(bytes));
            }
        }
        Err(e) => check_errors(&e),
    }
});
