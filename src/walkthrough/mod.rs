//! Interview walkthroughs: each topic asks a system-design question, gives the tempting
//! answer, runs the bundled models live, and shows in numbers what goes wrong, the
//! senior answer, and the trade-off it brings back.
//!
//! Every number in the text is read from the run. Every claim the text makes is also a
//! [`Claim`] evaluated on the same numbers; `tests/suite/walkthrough.rs` fails if any is false.

use crate::bundled;
use crate::metrics::catalog::{self as c, Metric};
use crate::metrics::{FailReason, ModelSummary, Replicates as R, Unit};
use crate::report::format;
use crate::scenario::load_str;
use crate::sweep::{RunOptions, run_summary};
use rayon::prelude::*;
use std::borrow::Borrow;
use std::cell::RefCell;

mod checklist;
mod seniors;
mod sessions;
mod traffic;

use checklist::*;
use seniors::*;
use sessions::*;
use traffic::*;

/// A topic: a bundled model's name, the names it answered to before, the interview
/// question, and the bundled models it runs.
pub struct Topic {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub question: &'static str,
    pub models: &'static [&'static str],
}

/// One topic per bundled model, named after it, in the playbook's order
/// (`crate::playbook`; a unit test keeps the two in step).
pub const TOPICS: &[Topic] = &[
    Topic {
        name: "crash-test",
        aliases: &[],
        question: "I kill one of your ten servers at random. Who notices: is anyone logged out, does a cart vanish?",
        models: &["crash-test"],
    },
    Topic {
        name: "litmus-test",
        aliases: &[],
        question: "I randomly terminate server #5 in your cluster. Does user A lose their shopping cart, is user B logged out, does an upload in progress fail? Or does the load balancer retry on server #6 and nobody notice?",
        models: &["litmus-test"],
    },
    Topic { name: "sticky-hashing", aliases: &[], question: "If sessions must be sticky, how should the load balancer hash?", models: &["sticky-hashing"] },
    Topic {
        name: "retry-storm",
        aliases: &["retries"],
        question: "A server dies for half a minute and your clients retry failed requests. Does the service come back when the server does?",
        models: &["retry-storm"],
    },
    Topic {
        name: "session-latency",
        aliases: &[],
        question: "Sessions in Redis or JWTs: which is faster, and what breaks when Redis struggles?",
        models: &["session-latency"],
    },
    Topic {
        name: "jwt-revocation",
        aliases: &["revocation"],
        question: "We use JWTs, and we just fired someone whose token is valid for another hour. How do we lock them out now?",
        models: &["jwt-revocation"],
    },
    Topic { name: "shopping-cart", aliases: &["carts"], question: "Where does a guest's shopping cart live?", models: &["shopping-cart"] },
    Topic {
        name: "state-tier",
        aliases: &[],
        question: "Your servers are stateless and the state lives in Redis and the database. What happens when that tier fails?",
        models: &["state-tier"],
    },
    Topic { name: "file-uploads", aliases: &["files"], question: "A user uploads a profile picture. Where do you store it?", models: &["file-uploads"] },
    Topic {
        name: "url-expiry",
        aliases: &["presigned-url"],
        question: "Your server hands the client a pre-signed S3 URL valid for 5 minutes. A user on a slow connection uploads a 500 MB video. What happens?",
        models: &["url-expiry"],
    },
    Topic {
        name: "websockets",
        aliases: &["real-time"],
        question: "User A on server 1 sends a chat message to user B, whose WebSocket is on server 2. How does it get there, and what does the bridge cost once you spin up 1,000 nodes?",
        models: &["websockets"],
    },
    Topic {
        name: "long-polling",
        aliases: &["polling"],
        question: "Your servers cannot hold WebSockets, so the chat uses long polling: each client keeps a request open until a message comes. What can go wrong, and what does it cost next to WebSockets?",
        models: &["long-polling"],
    },
    Topic {
        name: "mega-proxy",
        aliases: &["hot-spots"],
        question: "Sticky sessions by IP hash, and a corporate Wi-Fi routes 10,000 users through one IP. What happens to that server, and to those 10,000 users when it dies?",
        models: &["mega-proxy"],
    },
    Topic {
        name: "rate-limits",
        aliases: &[],
        question: "Limit every user to 100 requests a minute, on ten servers. Will a counter in each server's memory do?",
        models: &["rate-limits"],
    },
    Topic {
        name: "long-jobs",
        aliases: &[],
        question: "A user uploads a video that takes 10 minutes to compress, and the HTTP request times out after 30 s. How do you handle it?",
        models: &["long-jobs"],
    },
    Topic {
        name: "autoscaling",
        aliases: &["scaling"],
        question: "Traffic triples at a launch. How does the fleet keep up, and how do you deploy?",
        models: &["autoscaling"],
    },
    Topic { name: "load-balancing", aliases: &[], question: "Which load-balancing algorithm would you pick?", models: &["load-balancing"] },
    Topic {
        name: "stale-load",
        aliases: &["herding"],
        question: "Least connections needs each server's load. What if the load balancer's numbers are a second old?",
        models: &["stale-load"],
    },
    CHECKLIST,
];

/// The playbook's final checklist, walked item by item beside the runs that measure it:
/// the one topic that is not a model's, after every model's.
pub const CHECKLIST: Topic = Topic {
    name: "checklist",
    aliases: &["final-checklist"],
    question: "Your closing checklist: sessions in Redis or a JWT, never in local RAM; uploads to S3 with pre-signed URLs, never to the local disk; WebSockets bridged by Redis pub/sub; auto-scaling groups on CPU load. What does each item buy, in numbers?",
    models: &["crash-test", "file-uploads", "websockets", "autoscaling"],
};

/// One part of a walkthrough.
#[derive(Clone, Debug)]
pub struct Section {
    pub heading: &'static str,
    pub text: String,
}

/// A statement the walkthrough makes, checked against the run.
#[derive(Clone, Debug)]
pub struct Claim {
    pub text: String,
    pub holds: bool,
}

#[derive(Clone, Debug)]
pub struct Walkthrough {
    pub topic: &'static str,
    pub question: &'static str,
    /// Model name and seed of each run, for reproducing it.
    pub runs: Vec<(String, u64)>,
    pub sections: Vec<Section>,
    pub claims: Vec<Claim>,
    /// How the claims were decided: on the 95% interval over the run's replications.
    pub how_checked: String,
}

/// The topic of this name or of one of its aliases.
pub fn find(name: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.name == name || t.aliases.contains(&name))
}

fn load(name: &str) -> crate::scenario::Model {
    let b = bundled::find(name).expect("a bundled model");
    load_str(b.path, b.name, b.text, &[]).expect("bundled models validate")
}

/// How many simulations a topic runs (each variant x replication of its models), for a
/// progress bar.
pub fn run_count(topic: &Topic) -> u64 {
    topic.models.iter().map(|name| crate::sweep::run_count(&load(name), &RunOptions::default())).sum()
}

/// Metric lookups on a summary.
struct Run<'a> {
    summary: &'a ModelSummary,
    /// Reads of a metric the variant did not report.
    missing: RefCell<Vec<String>>,
}

impl Run<'_> {
    /// The resolved system of `variant` of the bundled model this run is of: the model's
    /// own parameters, for a story that names them.
    fn system(&self, variant: &str) -> crate::scenario::System {
        let model = load(&self.summary.model);
        model.variants.into_iter().find(|v| v.name == variant).unwrap_or_else(|| panic!("{} has no variant {variant}", self.summary.model)).system
    }

    /// A metric's value in each replication of `variant`. Metrics are named by their
    /// catalog declaration, so an undeclared one does not compile; one the run did not
    /// report reads as NaN (so no comparison with it holds, not even `equals(0.0)`) and is
    /// recorded; [`run`] turns the record into a failed claim.
    fn m(&self, variant: &str, metric: &Metric) -> R {
        let s = self.summary;
        let v = s.variants.iter().find(|v| v.name == variant).unwrap_or_else(|| panic!("{} has no variant {variant}", s.model));
        let problem = match v.per_replication.get(metric.key) {
            Some(values) => return R::new(values.clone()),
            None => format!("{} did not report {} in variant {variant}", s.model, metric.key),
        };
        let mut missing = self.missing.borrow_mut();
        if !missing.contains(&problem) {
            missing.push(problem);
        }
        R::constant(f64::NAN, s.replications)
    }
}

/// A quantity as the text writes it: its mean and 95% half-width (`9.95% ± 0.07%`), or
/// "n/a" when the run did not report it.
fn shown(unit: Unit, x: &R) -> String {
    if x.values().iter().any(|v| v.is_nan()) { "n/a".to_string() } else { format::estimate(unit, &x.estimate()) }
}

/// A share, in percent.
fn pct(x: impl Borrow<R>) -> String {
    shown(Unit::Share, x.borrow())
}

/// A count: whole numbers with thousands separators; a fraction to three digits.
fn n(x: impl Borrow<R>) -> String {
    let x = x.borrow();
    let whole = x.values().iter().all(|v| v.fract() == 0.0) || x.mean().abs() >= 1000.0;
    shown(if whole { Unit::Count } else { Unit::Number }, x)
}

/// A number to three significant digits.
fn v(x: impl Borrow<R>) -> String {
    shown(Unit::Number, x.borrow())
}

/// A setting of the model (a lag, a timeout), in seconds: "50 ms", "2 s", "5 min".
fn dur(secs: f64) -> String {
    let trim = |x: f64| {
        let t = format::sig3(x);
        if t.contains('.') { t.trim_end_matches('0').trim_end_matches('.').to_string() } else { t }
    };
    if secs < 1.0 {
        format!("{} ms", trim(secs * 1e3))
    } else if secs >= 3600.0 && (secs % 3600.0) == 0.0 {
        format!("{} h", trim(secs / 3600.0))
    } else if secs >= 120.0 && (secs % 60.0) == 0.0 {
        format!("{} min", trim(secs / 60.0))
    } else {
        format!("{} s", trim(secs))
    }
}

fn claim(text: String, holds: bool) -> Claim {
    Claim { text, holds }
}

/// Runs a topic's models (in parallel) and writes its walkthrough.
pub fn run(topic: &Topic) -> Walkthrough {
    run_with_progress(topic, &|| {})
}

/// [`run`], calling `on_run_done` as each simulation ([`run_count`] in all) finishes.
pub fn run_with_progress(topic: &Topic, on_run_done: &(dyn Fn() + Sync)) -> Walkthrough {
    let summaries: Vec<ModelSummary> = topic.models.par_iter().map(|name| run_summary(&load(name), &RunOptions::default(), on_run_done)).collect();
    tell(topic, &summaries)
}

/// The walkthrough of a topic from summaries of its models' runs (in the order of
/// `topic.models`), for a caller that has run them already.
pub fn tell(topic: &Topic, summaries: &[ModelSummary]) -> Walkthrough {
    assert_eq!(summaries.len(), topic.models.len(), "{}: one summary per model", topic.name);
    let runs = summaries.iter().map(|s| (s.model.clone(), s.seed)).collect();
    let all: Vec<Run> = summaries.iter().map(|s| Run { summary: s, missing: RefCell::new(Vec::new()) }).collect();
    let r = &all[0];
    let story = match topic.name {
        "checklist" => checklist(&all),
        "crash-test" => crash_test(r),
        "litmus-test" => litmus_test(r),
        "sticky-hashing" => sticky_hashing(r),
        "retry-storm" => retry_storm(r),
        "stale-load" => stale_load(r),
        "mega-proxy" => hot_spots(r),
        "session-latency" => session_latency(r),
        "jwt-revocation" => revocation(r),
        "shopping-cart" => carts(r),
        "state-tier" => state_tier(r),
        "rate-limits" => rate_limits(r),
        "load-balancing" => load_balancing(r),
        "file-uploads" => files(r),
        "url-expiry" => url_expiry(r),
        "websockets" => real_time(r),
        "long-polling" => long_polling(r),
        "long-jobs" => long_jobs(r),
        "autoscaling" => scaling(r),
        other => unreachable!("topic {other} has no text"),
    };
    let (sections, mut claims) = story.sections();
    for problem in all.into_iter().flat_map(|r| r.missing.into_inner()) {
        claims.push(claim(format!("the run reports every metric the text reads: {problem}"), false));
    }
    let how_checked = crate::report::takeaway::how_checked(&summaries[0]);
    Walkthrough { topic: topic.name, question: topic.question, runs, sections, claims, how_checked }
}

/// What a topic tells, part by part, and the claims its text makes. Every topic has the
/// same five parts; [`Story::sections`] gives them their headings.
struct Story {
    tempting: String,
    shows: String,
    senior: String,
    numbers: String,
    trade_off: String,
    claims: Vec<Claim>,
}

impl Story {
    fn sections(self) -> (Vec<Section>, Vec<Claim>) {
        let parts = [
            ("The tempting answer", self.tempting),
            ("What the run shows", self.shows),
            ("The senior answer", self.senior),
            ("Its numbers", self.numbers),
            ("The trade-off", self.trade_off),
        ];
        (parts.into_iter().map(|(heading, text)| Section { heading, text }).collect(), self.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::summary::testing::summary_of;

    #[test]
    fn every_bundled_model_is_a_topic_in_playbook_order() {
        let names: Vec<&str> = TOPICS.iter().map(|t| t.name).collect();
        let mut lessons: Vec<&str> = crate::playbook::lessons().map(|(_, l)| l.model).collect();
        lessons.push(CHECKLIST.name);
        assert_eq!(names, lessons);
        for (old, new) in [("hot-spots", "mega-proxy"), ("revocation", "jwt-revocation"), ("carts", "shopping-cart"), ("scaling", "autoscaling")] {
            assert_eq!(find(old).map(|t| t.name), Some(new));
        }
    }

    #[test]
    fn a_metric_not_reported_is_never_zero() {
        let s = summary_of(&[("a", &[(c::REQUESTS_FAILED.key, &[0.0, 0.0])])]);
        let r = Run { summary: &s, missing: RefCell::new(Vec::new()) };
        assert!(r.m("a", &c::REQUESTS_FAILED).equals(0.0));
        // Declared but not reported: an `equals(0.0)` claim on it must not hold.
        assert!(!r.m("a", &c::CARTS_LOST).equals(0.0));
        assert_eq!(n(r.m("a", &c::CARTS_LOST)), "n/a");
        let missing = r.missing.into_inner();
        assert_eq!(missing, ["m did not report carts.lost in variant a"]);
    }

    /// The claims hold on the interval over the replications: sticky-hashing's "a ring
    /// logs out about 1/n" fails when only replication 0 is near 1/n.
    #[test]
    fn a_claim_that_holds_on_one_lucky_draw_fails() {
        let share = c::SESSIONS_STATE_LOST_SHARE.key;
        let story = |ring: &[f64]| {
            let s = summary_of(&[
                ("ip-hash", &[(share, &[0.9, 0.91, 0.89, 0.9, 0.9])]),
                ("consistent-hash", &[(share, ring)]),
                ("cookie", &[(share, &[0.1, 0.1, 0.11, 0.09, 0.1])]),
            ]);
            let r = Run { summary: &s, missing: RefCell::new(Vec::new()) };
            sticky_hashing(&r).claims
        };
        let holds = |claims: &[Claim]| claims.iter().map(|c| c.holds).collect::<Vec<_>>();
        assert_eq!(holds(&story(&[0.1, 0.11, 0.09, 0.1, 0.1])), [true, true, true]);
        let lucky = story(&[0.1, 0.2, 0.25, 0.18, 0.22]);
        assert_eq!(holds(&lucky), [true, false, true]);
        assert!(lucky[1].text.ends_with("19% ± 7%"), "{}", lucky[1].text);
    }
}
