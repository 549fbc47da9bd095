//! Chat over held requests: a rate that sends messages, threads and a queue only where
//! threads are, a poll timeout only where there are polls, and one chat per model.

use super::checker::Checker;
use super::{LongPollSpec, ServerSpec};
use crate::policies::{ChatTransport, ServerThreads, WsMode};
use crate::scenario::raw::{RawLongPolling, RawModel};

/// Most threads a thread-per-request server may have, and most requests waiting for one.
pub const MAX_THREADS: u32 = 100_000;
pub const MAX_ACCEPT_QUEUE: u32 = 1_000_000;

pub(super) fn resolve_long_polling(c: &mut Checker, raw: &RawModel, lp: &RawLongPolling, users: u64, servers: &ServerSpec) -> LongPollSpec {
    const P: &str = "long_polling";
    if raw.websockets.mode != WsMode::None {
        c.err(
            P,
            "long_polling beside websockets",
            "a model has one chat: use long_polling.transport = \"websocket\" to compare the two on one workload, or remove one section",
        );
    }
    if lp.message_rate.per_sec <= 0.0 {
        c.err(&format!("{P}.message_rate"), "users who never send a message", "use a rate such as \"1/min\"");
    }
    if users < 2 {
        c.err("clients.users", "messages need at least two users", "use 2 or more");
    }
    let poll_timeout = match (lp.transport, lp.poll_timeout) {
        (ChatTransport::Websocket, Some(_)) => {
            c.err(
                &format!("{P}.poll_timeout"),
                "a poll timeout with transport = \"websocket\"",
                "a WebSocket is not polled: remove poll_timeout, or use transport = \"long-poll\"",
            );
            crate::engine::SimDuration::ZERO
        }
        (ChatTransport::Websocket, None) => crate::engine::SimDuration::ZERO,
        (ChatTransport::LongPoll, t) => {
            let t = t.map_or(crate::engine::SimDuration::from_secs(30), |d| d.0);
            if t.is_zero() {
                c.err(&format!("{P}.poll_timeout"), "a poll timeout of 0s", "use a duration such as \"30s\"");
            }
            t
        }
    };
    let (threads, accept_queue) = match lp.server {
        ServerThreads::ThreadPerRequest => (lp.threads.unwrap_or(200), lp.accept_queue.unwrap_or(100)),
        ServerThreads::EventDriven => {
            for (key, set) in [("threads", lp.threads.is_some()), ("accept_queue", lp.accept_queue.is_some())] {
                if set {
                    c.err(
                        &format!("{P}.{key}"),
                        format!("{key} with server = \"event-driven\""),
                        "an event loop holds any number of requests: remove it, or use server = \"thread-per-request\"",
                    );
                }
            }
            (0, 0)
        }
    };
    if lp.server == ServerThreads::ThreadPerRequest && !(1..=MAX_THREADS).contains(&threads) {
        c.err(&format!("{P}.threads"), format!("{threads} threads"), format!("use 1 to {MAX_THREADS}"));
    }
    if accept_queue > MAX_ACCEPT_QUEUE {
        c.err(&format!("{P}.accept_queue"), format!("{accept_queue} waiting requests"), format!("use 0 to {MAX_ACCEPT_QUEUE}"));
    }
    if lp.retry_after.0.is_zero() {
        c.err(
            &format!("{P}.retry_after"),
            "a wait of 0s before asking again",
            "clients would ask again at the same instant forever: use a wait such as \"1s\"",
        );
    }
    let idle = raw.load_balancer.idle_timeout.0;
    if idle.is_zero() {
        c.err("load_balancer.idle_timeout", "an idle timeout of 0s", "use a duration such as \"60s\"");
    }
    LongPollSpec {
        transport: lp.transport,
        messages_per_user_per_sec: lp.message_rate.per_sec,
        poll_timeout,
        mailbox: lp.mailbox,
        server: lp.server,
        threads,
        accept_queue,
        retry_after: lp.retry_after.0,
        lb_idle_timeout: idle,
        handler: servers.service.clone(),
    }
}
