//! `statesim list`: the bundled models, one line each.

use statesim::bundled;
use statesim::scenario::load_str;

pub fn list() -> u8 {
    let show = |heading: &str, models: &[bundled::Bundled]| {
        println!("{heading}");
        for b in models {
            match load_str(b.path, b.name, b.text, &[]) {
                Ok(m) => println!("  {:<18} {} ({} variant{})", b.name, m.title, m.variants.len(), if m.variants.len() == 1 { "" } else { "s" }),
                Err(_) => println!("  {:<18} (does not validate; run `statesim validate {}`)", b.name, b.path),
            }
        }
    };
    show("Scenario models (statesim run NAME):", bundled::MODELS);
    println!();
    show("Queueing-theory models (statesim check):", bundled::THEORY);
    0
}
