//! Client retries: a retry count in range, backoff delays only where there is backoff,
//! a budget and a breaker that mean something, and an open workload to retry in.

use super::checker::Checker;
use super::{ClientRetrySpec, Workload};
use crate::engine::SimDuration;
use crate::policies::Backoff;
use crate::scenario::raw::RawClientRetries;

pub(super) fn resolve_client_retries(c: &mut Checker, raw: &RawClientRetries, workload: &Workload) -> ClientRetrySpec {
    const P: &str = "client_retries";
    if !matches!(workload, Workload::Open { .. }) {
        c.err(
            P,
            "client retries with a closed workload (clients.think_time)",
            "client retries need an open workload: set clients.arrival_rate instead of think_time",
        );
    }
    if raw.max_retries > 10 {
        c.err(&format!("{P}.max_retries"), format!("{} retries", raw.max_retries), "use 0 to 10 (0: clients never retry, and goodput is still measured)");
    }
    if raw.backoff == Backoff::Immediate {
        for (key, set) in [("base_delay", raw.base_delay.is_some()), ("max_delay", raw.max_delay.is_some())] {
            if set {
                c.err(
                    &format!("{P}.{key}"),
                    format!("{key} with backoff = \"immediate\""),
                    "immediate retries do not wait: remove it, or set backoff = \"exponential\" or \"exponential-jitter\"",
                );
            }
        }
    }
    let base = raw.base_delay.map_or(SimDuration::from_millis(100), |d| d.0);
    let max = raw.max_delay.map_or(SimDuration::from_secs(10), |d| d.0);
    if raw.backoff != Backoff::Immediate && base.is_zero() {
        c.err(&format!("{P}.base_delay"), "a backoff starting at 0s", "use a delay such as \"100ms\", or backoff = \"immediate\"");
    }
    if raw.backoff != Backoff::Immediate && max < base {
        c.err(&format!("{P}.max_delay"), format!("a longest wait ({max}) shorter than the first ({base})"), "make max_delay at least base_delay");
    }
    if let Some(b) = raw.budget
        && !(b > 0.0 && b <= 1.0)
    {
        c.err(&format!("{P}.budget"), format!("a budget of {b} retries per request"), "use a share above 0 and at most 1, such as 0.1");
    }
    let breaker = raw.breaker.as_ref().map(|b| {
        if !(b.failure_share > 0.0 && b.failure_share <= 1.0) {
            c.err(
                &format!("{P}.breaker.failure_share"),
                format!("{} is not a failure share", b.failure_share),
                "use a share above 0 and at most 1, such as 0.5",
            );
        }
        for (key, d) in [("window", b.window.0), ("open_for", b.open_for.0)] {
            if d.is_zero() {
                c.err(&format!("{P}.breaker.{key}"), format!("a breaker {key} of 0s"), "use a duration such as \"5s\"");
            }
        }
        super::BreakerSpec { failure_share: b.failure_share, window: b.window.0, open_for: b.open_for.0, min_requests: b.min_requests }
    });
    ClientRetrySpec { max_retries: raw.max_retries.min(10), backoff: raw.backoff, base_delay: base, max_delay: max, budget: raw.budget, breaker }
}
