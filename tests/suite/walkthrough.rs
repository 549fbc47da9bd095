//! Every claim every walkthrough makes holds on its live run (the suite's shared runs of
//! the bundled models), and the command runs straight through when not on a terminal.

use assert_cmd::Command;
use statesim::walkthrough::{TOPICS, tell};

#[test]
fn every_claim_of_every_walkthrough_holds() {
    let mut failures = Vec::new();
    for topic in TOPICS {
        let summaries: Vec<_> = topic.models.iter().map(|m| crate::shared::bundled(m).summary.clone()).collect();
        let w = tell(topic, &summaries);
        assert!(w.sections.len() >= 5, "{}: question, tempting answer, run, senior answer, numbers, trade-off", topic.name);
        assert!(w.claims.len() >= 3, "{}", topic.name);
        for c in w.claims {
            if !c.holds {
                failures.push(format!("{}: {}", topic.name, c.text));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_command_lists_topics_and_runs_without_a_terminal() {
    let list = Command::cargo_bin("statesim").unwrap().arg("walkthrough").output().unwrap();
    assert!(list.status.success());
    let text = String::from_utf8_lossy(&list.stdout);
    for t in TOPICS {
        assert!(text.contains(t.name), "{}", t.name);
    }
    let one = Command::cargo_bin("statesim").unwrap().args(["walkthrough", "sticky-hashing"]).output().unwrap();
    let text = String::from_utf8_lossy(&one.stdout);
    assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
    assert!(text.contains("Interviewer: If sessions must be sticky"));
    assert!(text.contains("The senior answer"));
    assert!(!text.contains("[Enter]"), "no pauses without a terminal");
    assert!(!text.contains("FAILS"));
    assert!(text.contains("Reproduce: statesim run sticky-hashing --seed 42"));
    let bad = Command::cargo_bin("statesim").unwrap().args(["walkthrough", "crash-tset"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("did you mean \"crash-test\""));
}
