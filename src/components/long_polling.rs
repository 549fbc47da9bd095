//! Long polling: chat over requests held open, beside WebSockets on the same workload.
//!
//! Every user keeps one request open to the servers through the load balancer. A long
//! poll is answered when a message for its user arrives, or empty after the poll
//! timeout, and the client asks again at once; a WebSocket stays open until its server
//! dies. A message is a POST through the load balancer (long polls) or a frame on the
//! sender's WebSocket, handled by whichever server gets it. That server answers the
//! receiver's request if it holds it; otherwise the message waits: in the server's own
//! memory (mailbox "local": the receiver gets it only when one of its polls lands on that
//! server, and it dies with the server) or in Redis (a list and a channel per user: the
//! server holding the receiver's request is told, reads the list and answers).
//!
//! A thread-per-request server holds a thread for every open request, up to `threads`;
//! beyond them requests wait in an accept queue, and beyond that are refused. An
//! event-driven server holds any number. The load balancer closes a request on which
//! nothing has moved for its idle timeout; the server does not know, keeps holding it
//! (and its thread) until its own timeout, and a message answered into it is lost.
//! A client whose request was refused, reset or cut asks again after `retry_after`; a
//! message it could not hand over is sent again, so messages are lost only in a server's
//! memory or into a cut request.

use super::Ctx;
use super::core::{Core, NO_REQ};
use super::lb::RouteKey;
use super::redis::Command;
use super::slab::Slab;
use crate::engine::{RngStreams, SimDuration, SimRng, SimTime};
use crate::metrics::Metrics;
use crate::metrics::catalog::{self, Put};
use crate::metrics::histogram::{Latencies, quantile_ms};
use crate::metrics::series::{self, ColumnId};
use crate::policies::{ChatTransport, Mailbox, ServerThreads};
use crate::scenario::model::LongPollSpec;
use rand::RngExt;
use rand_distr::{Distribution as _, Exp1};
use std::collections::{BTreeMap, VecDeque};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LpEvent {
    /// The next message, from some user to another.
    Message,
    /// A message's POST (or WebSocket frame) reaches a server.
    SendAtServer { msg: u32, server: u16, epoch: u32 },
    /// The server's handler has taken the message.
    SendDone { msg: u32, server: u16, epoch: u32 },
    /// A client sends a message again after its POST failed.
    Resend { msg: u32 },
    /// A poll (or WebSocket upgrade) reaches a server.
    PollAtServer { user: u32, generation: u32, server: u16 },
    /// A held poll's timeout: the server answers it empty.
    PollTimeout { held: u32, generation: u32 },
    /// The load balancer's idle timeout on a request still open.
    IdleCut { user: u32, generation: u32 },
    /// A poll's answer reaches its client, who asks again at once.
    Answered { user: u32, generation: u32 },
    /// A client asks again after a refused, reset or cut request.
    Retry { user: u32, generation: u32 },
    /// A message reaches its receiver.
    Arrive { msg: u32 },
    /// Redis tells a server holding the receiver's request that mail has come.
    Pushed { held: u32, generation: u32 },
    /// A server has read a user's Redis mailbox (the batch it took) for a held request.
    MailRead { batch: u32 },
}

/// A request a server holds open: a long poll or a WebSocket.
#[derive(Clone, Copy, Debug)]
struct Held {
    user: u32,
    generation: u32,
    server: u16,
    epoch: u32,
    alive: bool,
}

/// A client: the generation of its current request (numbered over all clients, so a
/// held request's number alone says whose it is), whether that request is still open
/// (sent, and neither answered nor failed; for a WebSocket: not yet accepted), its
/// WebSocket's server once accepted, and the messages waiting for a WebSocket.
#[derive(Clone, Debug, Default)]
struct Client {
    generation: u32,
    open: bool,
    socket: Option<(u16, u32)>,
    outbox: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
enum Job {
    Poll { user: u32, generation: u32 },
    Send { msg: u32, at: SimTime },
}

/// A server's threads (thread-per-request only) and its accept queue.
#[derive(Clone, Debug, Default)]
struct Threads {
    busy: u32,
    queue: VecDeque<Job>,
}

#[derive(Clone, Copy, Debug)]
struct Msg {
    sender: u32,
    receiver: u32,
    sent_at: SimTime,
}

/// Messages a server took from a user's Redis mailbox for one held request.
#[derive(Clone, Debug)]
struct Batch {
    msgs: Vec<u32>,
    held: u32,
    user: u32,
    generation: u32,
    server: u16,
    epoch: u32,
}

#[derive(Default)]
struct Counts {
    sent: u64,
    delivered: u64,
    lost_memory: u64,
    lost_cut: u64,
    requests: u64,
    polls_answered: u64,
    polls_empty: u64,
    polls_cut: u64,
    retries: u64,
    refused: u64,
}

pub struct LongPolling {
    spec: LongPollSpec,
    clients: Vec<Client>,
    /// The number of the latest request any client opened.
    last_generation: u32,
    msgs: Slab<Msg>,
    held: Slab<Held>,
    /// Each user's requests registered on a server (at most one per server).
    registered: Vec<Vec<u32>>,
    threads: Vec<Threads>,
    local_box: BTreeMap<(u16, u32), Vec<u32>>,
    redis_box: Vec<Vec<u32>>,
    batches: Slab<Batch>,
    n: Counts,
    /// Open requests held and threads busy over all servers, and their time integrals
    /// inside the statistics window (ns).
    held_open: u64,
    held_area: u128,
    busy_area: u128,
    last_tick: SimTime,
    waiting_peak: usize,
    /// Delivery times of delivered messages, and POSTs' waits for a thread, in ns.
    times: Latencies,
    send_waits: Latencies,
    rng: SimRng,
    /// The time series' columns: messages sent, delivered, HTTP requests.
    columns: [ColumnId; 3],
}

impl LongPolling {
    pub fn new(spec: &LongPollSpec, streams: &RngStreams, core: &mut Core) -> LongPolling {
        let users = core.population.users as usize;
        LongPolling {
            columns: [&series::LP_SENT, &series::LP_DELIVERED, &series::LP_REQUESTS].map(|c| core.rec.register(c)),
            spec: spec.clone(),
            clients: vec![Client::default(); users],
            last_generation: 0,
            msgs: Slab::default(),
            held: Slab::default(),
            registered: vec![Vec::new(); users],
            threads: vec![Threads::default(); core.servers.len()],
            local_box: BTreeMap::new(),
            redis_box: vec![Vec::new(); users],
            batches: Slab::default(),
            n: Counts::default(),
            held_open: 0,
            held_area: 0,
            busy_area: 0,
            last_tick: SimTime::ZERO,
            waiting_peak: 0,
            times: Latencies::default(),
            send_waits: Latencies::default(),
            rng: streams.stream("long-polling"),
        }
    }

    /// Every user opens its first request; the first message is scheduled.
    pub fn start(&mut self, core: &mut Core, ctx: &mut Ctx) {
        for user in 0..core.population.users {
            self.ask(core, ctx, user);
        }
        let gap = self.message_gap(core);
        ctx.emit(gap, LpEvent::Message);
    }

    fn message_gap(&mut self, core: &Core) -> SimDuration {
        let rate = self.spec.messages_per_user_per_sec * core.population.users as f64;
        let e: f64 = Exp1.sample(&mut self.rng);
        SimDuration::from_secs_f64(e / rate)
    }

    fn thread_per_request(&self) -> bool {
        self.spec.server == ServerThreads::ThreadPerRequest
    }

    /// Adds the held requests' and busy threads' time since the last change.
    fn tick(&mut self, core: &Core, now: SimTime) {
        let from = self.last_tick.max(core.rec.warmup_end);
        if now > from {
            let dt = (now.0 - from.0) as u128;
            self.held_area += dt * self.held_open as u128;
            self.busy_area += dt * self.threads.iter().map(|t| t.busy as u128).sum::<u128>();
        }
        self.last_tick = now;
    }

    pub fn on_event(&mut self, ev: LpEvent, core: &mut Core, ctx: &mut Ctx) {
        self.tick(core, ctx.now());
        match ev {
            LpEvent::Message => self.message(core, ctx),
            LpEvent::SendAtServer { msg, server, epoch } => self.send_at_server(core, ctx, msg, server, epoch),
            LpEvent::SendDone { msg, server, epoch } => {
                if !core.is_up(server, epoch) {
                    return self.send_failed(core, ctx, msg); // the server died while handling it
                }
                if self.spec.transport == ChatTransport::LongPoll && self.thread_per_request() {
                    self.free_thread(core, ctx, server);
                }
                self.deliver_from(core, ctx, server, epoch, msg);
            }
            LpEvent::Resend { msg } => self.post(core, ctx, msg),
            LpEvent::PollAtServer { user, generation, server } => self.poll_at_server(core, ctx, user, generation, server),
            LpEvent::PollTimeout { held, generation } => {
                if !self.is_held(held, generation) {
                    return;
                }
                let user = self.held[held].user;
                if self.is_current(held) {
                    // The empty answer goes back; the client asks again when it arrives.
                    if core.rec.counts(ctx.now()) {
                        self.n.polls_empty += 1;
                    }
                    self.clients[user as usize].open = false;
                    let d = self.back_to_client(core);
                    ctx.emit(d, LpEvent::Answered { user, generation });
                }
                let server = self.end_held(held);
                self.free_thread(core, ctx, server);
            }
            LpEvent::IdleCut { user, generation } => {
                let c = &mut self.clients[user as usize];
                if c.generation == generation && c.open {
                    c.open = false;
                    if core.rec.counts(ctx.now()) {
                        self.n.polls_cut += 1;
                    }
                    ctx.emit(self.spec.retry_after, LpEvent::Retry { user, generation });
                }
            }
            LpEvent::Answered { user, generation } => {
                if self.clients[user as usize].generation == generation {
                    self.ask(core, ctx, user);
                }
            }
            LpEvent::Retry { user, generation } => {
                if self.clients[user as usize].generation == generation {
                    if core.rec.counts(ctx.now()) {
                        self.n.retries += 1;
                    }
                    self.ask(core, ctx, user);
                }
            }
            LpEvent::Arrive { msg } => {
                let m = self.msgs[msg];
                if core.rec.counts(m.sent_at) {
                    self.n.delivered += 1;
                    self.times.record(ctx.now().since(m.sent_at).0.max(1));
                }
                core.rec.add(self.columns[1], m.sent_at, 1.0);
                self.msgs.remove(msg);
            }
            LpEvent::Pushed { held, generation } => {
                if self.is_held(held, generation) {
                    let h = self.held[held];
                    core.redis.send(ctx, Command::MailboxRead { user: h.user, held, generation }, NO_REQ, h.server, h.epoch);
                }
            }
            LpEvent::MailRead { batch } => self.mail_read(core, ctx, batch),
        }
    }

    /// The time an answer takes from a server to its client.
    fn back_to_client(&self, core: &mut Core) -> SimDuration {
        core.lb_server.draw(&mut core.rng.network) + core.client_lb.draw(&mut core.rng.network)
    }

    /// The time a request takes from its client to a server.
    fn to_server(&self, core: &mut Core) -> SimDuration {
        core.client_lb.draw(&mut core.rng.network) + core.lb_latency.draw(&mut core.rng.network) + core.lb_server.draw(&mut core.rng.network)
    }

    fn count_request(&mut self, core: &mut Core, now: SimTime) {
        if core.rec.counts(now) {
            self.n.requests += 1;
        }
        core.rec.add(self.columns[2], now, 1.0);
    }

    /// A client opens a new request (a poll, or a WebSocket upgrade) through the load
    /// balancer.
    fn ask(&mut self, core: &mut Core, ctx: &mut Ctx, user: u32) {
        self.last_generation = self.last_generation.wrapping_add(1);
        let c = &mut self.clients[user as usize];
        c.generation = self.last_generation;
        c.open = true;
        c.socket = None;
        let generation = c.generation;
        self.count_request(core, ctx.now());
        let key = RouteKey { user, ip: core.population.ip_of(user) };
        match core.lb.route(&key, 0, &mut core.rng.routing) {
            Some(server) => {
                let d = self.to_server(core);
                ctx.emit(d, LpEvent::PollAtServer { user, generation, server });
                ctx.emit(d + self.spec.lb_idle_timeout, LpEvent::IdleCut { user, generation });
            }
            None => {
                self.clients[user as usize].open = false;
                ctx.emit(self.spec.retry_after, LpEvent::Retry { user, generation });
            }
        }
    }

    fn message(&mut self, core: &mut Core, ctx: &mut Ctx) {
        let now = ctx.now();
        let gap = self.message_gap(core);
        ctx.emit(gap, LpEvent::Message);
        let users = core.population.users;
        let sender = self.rng.random_range(0..users);
        let receiver = (sender + 1 + self.rng.random_range(0..users - 1)) % users;
        let msg = self.msgs.insert(Msg { sender, receiver, sent_at: now });
        if core.rec.counts(now) {
            self.n.sent += 1;
        }
        core.rec.add(self.columns[0], now, 1.0);
        match self.spec.transport {
            ChatTransport::LongPoll => self.post(core, ctx, msg),
            ChatTransport::Websocket => self.frame(core, ctx, msg),
        }
    }

    /// A message as a POST through the load balancer to any server.
    fn post(&mut self, core: &mut Core, ctx: &mut Ctx, msg: u32) {
        self.count_request(core, ctx.now());
        let sender = self.msgs[msg].sender;
        let key = RouteKey { user: sender, ip: core.population.ip_of(sender) };
        match core.lb.route(&key, 0, &mut core.rng.routing) {
            Some(server) => {
                let d = self.to_server(core);
                let epoch = core.servers[server as usize].epoch;
                ctx.emit(d, LpEvent::SendAtServer { msg, server, epoch });
            }
            None => ctx.emit(self.spec.retry_after, LpEvent::Resend { msg }),
        }
    }

    /// A message as a frame on the sender's WebSocket, or kept until it has one.
    fn frame(&mut self, core: &mut Core, ctx: &mut Ctx, msg: u32) {
        let sender = self.msgs[msg].sender as usize;
        match self.clients[sender].socket {
            Some((server, epoch)) if core.is_up(server, epoch) => {
                let d = self.to_server(core);
                ctx.emit(d, LpEvent::SendAtServer { msg, server, epoch });
            }
            _ => self.clients[sender].outbox.push(msg),
        }
    }

    /// The client could not hand the message over: it sends it again.
    fn send_failed(&mut self, core: &mut Core, ctx: &mut Ctx, msg: u32) {
        match self.spec.transport {
            ChatTransport::LongPoll => ctx.emit(self.spec.retry_after, LpEvent::Resend { msg }),
            ChatTransport::Websocket => self.frame(core, ctx, msg),
        }
    }

    fn send_at_server(&mut self, core: &mut Core, ctx: &mut Ctx, msg: u32, server: u16, epoch: u32) {
        if !core.is_up(server, epoch) {
            return self.send_failed(core, ctx, msg); // refused, or reset by a kill
        }
        if self.spec.transport == ChatTransport::LongPoll && self.thread_per_request() {
            self.admit(core, ctx, server, Job::Send { msg, at: ctx.now() });
        } else {
            // An event loop, or the WebSocket's own thread, takes it at once.
            self.start_job(core, ctx, server, Job::Send { msg, at: ctx.now() });
        }
    }

    fn poll_at_server(&mut self, core: &mut Core, ctx: &mut Ctx, user: u32, generation: u32, server: u16) {
        if !core.serves(server) {
            // Refused (the dead server is still in rotation): ask again later.
            return self.request_failed(ctx, user, generation);
        }
        if self.thread_per_request() {
            self.admit(core, ctx, server, Job::Poll { user, generation });
        } else {
            self.start_job(core, ctx, server, Job::Poll { user, generation });
        }
    }

    /// The client's request `generation` failed (refused or reset): it asks again later.
    fn request_failed(&mut self, ctx: &mut Ctx, user: u32, generation: u32) {
        let c = &mut self.clients[user as usize];
        if c.generation == generation && (c.open || c.socket.is_some()) {
            c.open = false;
            c.socket = None;
            ctx.emit(self.spec.retry_after, LpEvent::Retry { user, generation });
        }
    }

    /// A thread-per-request server takes a request: on a free thread, into the accept
    /// queue, or refused.
    fn admit(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, job: Job) {
        let t = &mut self.threads[server as usize];
        if t.busy < self.spec.threads {
            t.busy += 1;
            if !self.start_job(core, ctx, server, job) {
                self.threads[server as usize].busy -= 1;
            }
        } else if (t.queue.len() as u32) < self.spec.accept_queue {
            t.queue.push_back(job);
            let waiting = t.queue.len();
            if core.rec.counts(ctx.now()) {
                self.waiting_peak = self.waiting_peak.max(waiting);
            }
        } else {
            if core.rec.counts(ctx.now()) {
                self.n.refused += 1;
            }
            match job {
                Job::Send { msg, .. } => self.send_failed(core, ctx, msg),
                Job::Poll { user, generation } => self.request_failed(ctx, user, generation),
            }
        }
    }

    /// A thread came free: the accept queue's requests take threads while there are some.
    /// (A request answered as it starts gives its thread back in the same loop.)
    fn free_thread(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16) {
        if !self.thread_per_request() {
            return;
        }
        let s = server as usize;
        self.threads[s].busy -= 1;
        while self.threads[s].busy < self.spec.threads {
            let Some(job) = self.threads[s].queue.pop_front() else { break };
            self.threads[s].busy += 1;
            if !self.start_job(core, ctx, server, job) {
                self.threads[s].busy -= 1;
            }
        }
    }

    /// Starts a request on `server`; true while it still holds its thread.
    fn start_job(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, job: Job) -> bool {
        let now = ctx.now();
        let epoch = core.servers[server as usize].epoch;
        match job {
            Job::Send { msg, at } => {
                if self.spec.transport == ChatTransport::LongPoll && self.thread_per_request() && core.rec.counts(now) {
                    self.send_waits.record(now.since(at).0.max(1));
                }
                let d = self.spec.handler.draw(&mut self.rng);
                ctx.emit(d, LpEvent::SendDone { msg, server, epoch });
                true
            }
            Job::Poll { user, generation } => self.start_poll(core, ctx, server, epoch, user, generation),
        }
    }

    /// A server starts holding a poll or WebSocket: it registers it (in place of an older
    /// one of the user's on this server), and looks in the user's mailbox.
    fn start_poll(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, epoch: u32, user: u32, generation: u32) -> bool {
        let held = self.held.insert(Held { user, generation, server, epoch, alive: true });
        self.held_open += 1;
        let regs = &mut self.registered[user as usize];
        match regs.iter().position(|&h| self.held[h].server == server) {
            Some(i) => regs[i] = held, // the older one stays held, unregistered, until its timeout
            None => regs.push(held),
        }
        let c = &mut self.clients[user as usize];
        if self.spec.transport == ChatTransport::Websocket {
            if c.generation == generation && c.open {
                c.open = false;
                c.socket = Some((server, epoch));
                for msg in std::mem::take(&mut c.outbox) {
                    self.frame(core, ctx, msg);
                }
            }
        } else {
            ctx.emit(self.spec.poll_timeout, LpEvent::PollTimeout { held, generation });
        }
        match self.spec.mailbox {
            Mailbox::Local => {
                if let Some(msgs) = self.local_box.remove(&(server, user)) {
                    return !self.answer(core, ctx, held, &msgs);
                }
            }
            Mailbox::Redis => core.redis.send(ctx, Command::MailboxRead { user, held, generation }, NO_REQ, server, epoch),
        }
        true
    }

    /// Whether request `generation` is still held in slot `held` (a request's number is
    /// unique over all clients, so it names the user too).
    fn is_held(&self, held: u32, generation: u32) -> bool {
        let h = self.held[held];
        h.alive && h.generation == generation
    }

    /// Whether a held request is its client's current one (not cut by the load balancer
    /// or given up for a newer one).
    fn is_current(&self, held: u32) -> bool {
        let h = self.held[held];
        let c = &self.clients[h.user as usize];
        c.generation == h.generation && (c.open || c.socket.is_some())
    }

    /// A held request ends: unregistered and freed; returns its server.
    fn end_held(&mut self, held: u32) -> u16 {
        let h = self.held[held];
        self.held[held].alive = false;
        self.held.remove(held);
        self.held_open -= 1;
        self.registered[h.user as usize].retain(|&r| r != held);
        h.server
    }

    /// The server writes `msgs` into a held request. Into a current one they reach the
    /// client (a long poll then ends, and its client asks again); into one the load
    /// balancer has cut they are lost. Returns true if the request ended (its thread to
    /// be freed by the caller).
    fn answer(&mut self, core: &mut Core, ctx: &mut Ctx, held: u32, msgs: &[u32]) -> bool {
        let now = ctx.now();
        let h = self.held[held];
        if self.is_current(held) {
            let d = self.back_to_client(core);
            for &msg in msgs {
                ctx.emit(d, LpEvent::Arrive { msg });
            }
            if self.spec.transport == ChatTransport::LongPoll {
                self.clients[h.user as usize].open = false;
                ctx.emit(d, LpEvent::Answered { user: h.user, generation: h.generation });
                if core.rec.counts(now) {
                    self.n.polls_answered += 1;
                }
            }
        } else {
            for &msg in msgs {
                if core.rec.counts(self.msgs[msg].sent_at) {
                    self.n.lost_cut += 1;
                }
                self.msgs.remove(msg);
            }
        }
        if self.spec.transport == ChatTransport::LongPoll || !self.is_current(held) {
            self.end_held(held);
            return true;
        }
        false
    }

    /// The server that took a message hands it on: to the receiver's request if it holds
    /// it, or into the mailbox.
    fn deliver_from(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, epoch: u32, msg: u32) {
        let receiver = self.msgs[msg].receiver;
        match self.spec.mailbox {
            Mailbox::Local => {
                let here = self.registered[receiver as usize].iter().copied().find(|&h| self.held[h].server == server);
                match here {
                    Some(held) => {
                        if self.answer(core, ctx, held, &[msg]) {
                            self.free_thread(core, ctx, server);
                        }
                    }
                    None => self.local_box.entry((server, receiver)).or_default().push(msg),
                }
            }
            Mailbox::Redis => core.redis.send(ctx, Command::MailboxPush(msg), NO_REQ, server, epoch),
        }
    }

    /// Redis stored a message in its receiver's list and published to their channel:
    /// every server holding one of the receiver's requests hears of it after `delay`.
    pub fn mail_stored(&mut self, core: &Core, ctx: &mut Ctx, msg: u32, delay: SimDuration) {
        let user = self.msgs[msg].receiver;
        self.redis_box[user as usize].push(msg);
        for &held in &self.registered[user as usize] {
            let h = self.held[held];
            if core.is_up(h.server, h.epoch) {
                ctx.emit(delay, LpEvent::Pushed { held, generation: h.generation });
            }
        }
    }

    /// Redis refused a message (it was down, or went down with the command queued): the
    /// server answers the POST with an error and the client sends the message again.
    pub fn mail_refused(&mut self, core: &mut Core, ctx: &mut Ctx, msg: u32) {
        self.send_failed(core, ctx, msg);
    }

    /// Redis ran a server's read of a user's list (LRANGE and DEL): the server has the
    /// messages after `delay`.
    pub fn mail_taken(&mut self, core: &Core, ctx: &mut Ctx, user: u32, held: u32, generation: u32, delay: SimDuration) {
        let msgs = std::mem::take(&mut self.redis_box[user as usize]);
        let h = self.held[held];
        let (server, epoch) = if h.generation == generation { (h.server, h.epoch) } else { (u16::MAX, 0) };
        if msgs.is_empty() || server == u16::MAX || !core.is_up(server, epoch) {
            // Nothing to take, or the request (or its server) is gone: the list stays.
            self.redis_box[user as usize] = msgs;
            return;
        }
        let batch = self.batches.insert(Batch { msgs, held, user, generation, server, epoch });
        ctx.emit(delay, LpEvent::MailRead { batch });
    }

    fn mail_read(&mut self, core: &mut Core, ctx: &mut Ctx, batch: u32) {
        let b = std::mem::replace(&mut self.batches[batch], Batch { msgs: Vec::new(), held: 0, user: 0, generation: 0, server: 0, epoch: 0 });
        self.batches.remove(batch);
        if !core.is_up(b.server, b.epoch) {
            // The server died with the messages it had taken.
            for msg in b.msgs {
                self.lose_in_memory(core, msg);
            }
            return;
        }
        if !self.is_held(b.held, b.generation) {
            // Answered or timed out meanwhile: the server puts them back at the head.
            let list = &mut self.redis_box[b.user as usize];
            let rest = std::mem::replace(list, b.msgs);
            list.extend(rest);
            return;
        }
        if self.answer(core, ctx, b.held, &b.msgs) {
            self.free_thread(core, ctx, b.server);
        }
    }

    fn lose_in_memory(&mut self, core: &Core, msg: u32) {
        if core.rec.counts(self.msgs[msg].sent_at) {
            self.n.lost_memory += 1;
        }
        self.msgs.remove(msg);
    }

    /// A server dies: the requests it held and queued fail (their clients ask again), its
    /// threads go, and the messages in its memory are lost.
    pub fn on_server_killed(&mut self, core: &Core, ctx: &mut Ctx, server: u16) {
        self.tick(core, ctx.now());
        let on_server: Vec<u32> = (0..self.held_len()).filter(|&i| self.held[i].alive && self.held[i].server == server).collect();
        for held in on_server {
            let h = self.held[held];
            let current = self.is_current(held);
            self.end_held(held);
            if current {
                self.request_failed(ctx, h.user, h.generation);
            }
        }
        let t = &mut self.threads[server as usize];
        t.busy = 0;
        for job in std::mem::take(&mut t.queue) {
            match job {
                Job::Poll { user, generation } => self.request_failed(ctx, user, generation),
                Job::Send { msg, .. } => ctx.emit(self.spec.retry_after, LpEvent::Resend { msg }),
            }
        }
        let boxes: Vec<(u16, u32)> = self.local_box.range((server, 0)..=(server, u32::MAX)).map(|(&k, _)| k).collect();
        for key in boxes {
            for msg in self.local_box.remove(&key).unwrap_or_default() {
                self.lose_in_memory(core, msg);
            }
        }
    }

    fn held_len(&self) -> u32 {
        self.held.iter().count() as u32
    }

    pub fn report(&self, core: &Core, end: SimTime, window_s: f64, m: &mut Metrics) {
        let ms = |h: &Latencies, q: f64| quantile_ms(&h.to_hdr(), q);
        let n = &self.n;
        let window_ns = end.since(core.rec.warmup_end).0.max(1) as f64;
        let servers = core.servers.len().max(1) as f64;
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        m.put(&catalog::LP_MESSAGES_SENT, n.sent as f64);
        m.put(&catalog::LP_DELIVERED, n.delivered as f64);
        m.put(&catalog::LP_DELIVERED_SHARE, ratio(n.delivered, n.sent));
        m.put(&catalog::LP_LATENCY_P50, ms(&self.times, 0.5));
        m.put(&catalog::LP_LATENCY_P99, ms(&self.times, 0.99));
        m.put(&catalog::LP_LOST_IN_MEMORY, n.lost_memory as f64);
        m.put(&catalog::LP_LOST_TO_CUT, n.lost_cut as f64);
        m.put(&catalog::LP_REQUESTS_PER_S, n.requests as f64 / window_s);
        m.put(&catalog::LP_REQUESTS_PER_DELIVERED, ratio(n.requests, n.delivered));
        m.put(&catalog::LP_CUT_BY_LB, n.polls_cut as f64);
        m.put(&catalog::LP_RETRIES, n.retries as f64);
        m.put(&catalog::LP_HELD_PER_SERVER, self.held_area as f64 / window_ns / servers);
        if self.spec.transport == ChatTransport::LongPoll {
            m.put(&catalog::LP_EMPTY_POLL_SHARE, ratio(n.polls_empty, n.polls_empty + n.polls_answered));
        }
        if self.thread_per_request() {
            m.put(&catalog::LP_THREADS_BUSY_SHARE, self.busy_area as f64 / window_ns / (servers * self.spec.threads as f64));
            m.put(&catalog::LP_WAITING_PEAK, self.waiting_peak as f64);
            m.put(&catalog::LP_REFUSED, n.refused as f64);
            if self.spec.transport == ChatTransport::LongPoll {
                m.put(&catalog::LP_SEND_WAIT_P99, ms(&self.send_waits, 0.99));
            }
        }
    }
}
