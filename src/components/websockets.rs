//! WebSockets: each user holds a connection pinned to a server (or to a gateway), and
//! messages go from one user to another.
//!
//! With local connection maps only, a message reaches its receiver only if both sit on
//! the same server; a Redis pub/sub bridge publishes every message to every server
//! (at a cost that grows with the subscribers); a gateway holds every connection and
//! calls a stateless handler on any server. A killed server's clients reconnect after a
//! delay, with or without jitter.
//!
//! The gateway is a fleet of nodes (`websockets.gateways`, users spread over them in
//! turn) outside the web servers: a server's death drops none of its connections, but a
//! gateway node can die too (`kill = "gateway-1"`), and then its clients reconnect, to
//! the next node up in turn. A message whose sender or receiver is between a dropped
//! connection and the next is lost, in every mode (`ws.lost_disconnected`).

use super::Ctx;
use super::core::{Core, NO_REQ};
use super::lb::RouteKey;
use super::redis::Command;
use super::server::ServerState;
use super::slab::Slab;
use crate::engine::{RngStreams, SimDuration, SimRng, SimTime};
use crate::metrics::Metrics;
use crate::metrics::catalog::{self, Put};
use crate::metrics::histogram::{Latencies, quantile_ms};
use crate::metrics::series::{self, ColumnId};
use crate::policies::{WsChannels, WsMode};
use crate::scenario::model::WsSpec;
use rand::RngExt;
use rand_distr::{Distribution as _, Exp1};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WsEvent {
    /// The next message, from some user to another.
    Message,
    /// A message reaches the server holding its sender's connection (or the gateway).
    AtServer { msg: u32 },
    /// Pub/sub: the published message reaches the receiver's server.
    Pushed { msg: u32 },
    /// A message reaches its receiver.
    Arrive { msg: u32 },
    /// A client whose connection dropped tries to connect again.
    Reconnect { user: u32 },
    /// A killed gateway node starts again.
    GatewayRestarts { gateway: u16 },
}

/// A user's connection: to a server, or in gateway mode to a gateway node (`server` is
/// then the node, `epoch` the node's).
#[derive(Clone, Copy, Debug)]
struct WsConn {
    server: u16,
    epoch: u32,
    connected: bool,
}

/// A message in flight.
#[derive(Clone, Copy, Debug)]
struct WsMsg {
    sender: u32,
    receiver: u32,
    sent_at: SimTime,
}

pub struct WebSockets {
    spec: WsSpec,
    conns: Vec<WsConn>,
    msgs: Slab<WsMsg>,
    sent: u64,
    delivered: u64,
    dropped: u64,
    /// Dropped because the sender or the receiver had lost its connection.
    lost_disconnected: u64,
    /// Gateway nodes: up or not, and bumped on every kill.
    gateway_up: Vec<bool>,
    gateway_epoch: Vec<u32>,
    /// The next gateway node a reconnecting client tries first.
    gateway_cursor: usize,
    published: u64,
    receipts: u64,
    reconnects: u64,
    /// Reconnect attempts per second of simulated time.
    reconnects_per_s: Vec<u32>,
    /// Delivery times of delivered messages, in ns.
    times: Latencies,
    rng: SimRng,
    /// The time series' columns: messages sent, delivered, reconnects.
    columns: [ColumnId; 3],
}

impl WebSockets {
    pub fn new(spec: &WsSpec, duration: SimDuration, streams: &RngStreams, core: &mut Core) -> WebSockets {
        WebSockets {
            columns: [&series::WS_SENT, &series::WS_DELIVERED, &series::WS_RECONNECTS].map(|c| core.rec.register(c)),
            spec: spec.clone(),
            conns: Vec::new(),
            msgs: Slab::default(),
            sent: 0,
            delivered: 0,
            dropped: 0,
            lost_disconnected: 0,
            gateway_up: vec![true; spec.gateways as usize],
            gateway_epoch: vec![0; spec.gateways as usize],
            gateway_cursor: 0,
            published: 0,
            receipts: 0,
            reconnects: 0,
            reconnects_per_s: vec![0; duration.as_secs_f64() as usize + 2],
            times: Latencies::default(),
            rng: streams.stream("websockets"),
        }
    }

    /// Every user connects through the load balancer (in gateway mode to the gateway
    /// nodes in turn, which hold them all), and the first message is scheduled.
    pub fn start(&mut self, core: &mut Core, ctx: &mut Ctx) {
        let gateways = self.gateway_up.len();
        for user in 0..core.population.users {
            let key = RouteKey { user, ip: core.population.ip_of(user) };
            let mut server = core.lb.route(&key, 0, &mut core.rng.routing).unwrap_or(0);
            if self.spec.mode == WsMode::Gateway {
                server = (user as usize % gateways) as u16;
            }
            self.conns.push(WsConn { server, epoch: 0, connected: true });
        }
        let gap = self.message_gap(core);
        ctx.emit(gap, WsEvent::Message);
    }

    fn message_gap(&mut self, core: &Core) -> SimDuration {
        let rate = self.spec.messages_per_user_per_sec * core.population.users as f64;
        let e: f64 = Exp1.sample(&mut self.rng);
        SimDuration::from_secs_f64(e / rate)
    }

    fn reconnect_delay(&mut self) -> SimDuration {
        let jitter = if self.spec.reconnect_jitter.is_zero() { SimDuration::ZERO } else { SimDuration(self.rng.random_range(0..self.spec.reconnect_jitter.0)) };
        self.spec.reconnect_after + jitter
    }

    pub fn on_event(&mut self, ev: WsEvent, core: &mut Core, ctx: &mut Ctx) {
        match ev {
            WsEvent::Message => self.message(core, ctx),
            WsEvent::AtServer { msg } => self.at_server(core, ctx, msg),
            WsEvent::Pushed { msg } => {
                // Pub/sub: every subscribed server has it; the one holding the receiver delivers.
                let m = self.msgs[msg];
                let r = self.conns[m.receiver as usize];
                if r.connected && core.is_up(r.server, r.epoch) {
                    let d = core.client_lb.draw(&mut core.rng.network);
                    ctx.emit(d, WsEvent::Arrive { msg });
                } else {
                    self.drop_message(core, msg, true);
                }
            }
            WsEvent::Arrive { msg } => {
                let m = self.msgs[msg];
                if self.spec.mode == WsMode::Gateway && !self.on_gateway(m.receiver) {
                    // The gateway node holding the receiver died, or the receiver is
                    // between connections: the push has nowhere to go.
                    return self.drop_message(core, msg, true);
                }
                if core.rec.counts(m.sent_at) {
                    self.delivered += 1;
                    self.times.record(ctx.now().since(m.sent_at).0.max(1));
                }
                core.rec.add(self.columns[1], m.sent_at, 1.0);
                self.msgs.remove(msg);
            }
            WsEvent::Reconnect { user } => self.reconnect(core, ctx, user),
            WsEvent::GatewayRestarts { gateway } => self.gateway_up[gateway as usize] = true,
        }
    }

    /// Whether `user` holds a connection to a gateway node that is up.
    fn on_gateway(&self, user: u32) -> bool {
        let c = self.conns[user as usize];
        c.connected && self.gateway_up[c.server as usize] && self.gateway_epoch[c.server as usize] == c.epoch
    }

    /// A message is dropped; `disconnected` when its sender or receiver had lost its
    /// connection (rather than having nowhere to go, or no handler).
    fn drop_message(&mut self, core: &Core, msg: u32, disconnected: bool) {
        if core.rec.counts(self.msgs[msg].sent_at) {
            self.dropped += 1;
            self.lost_disconnected += disconnected as u64;
        }
        self.msgs.remove(msg);
    }

    fn message(&mut self, core: &mut Core, ctx: &mut Ctx) {
        let now = ctx.now();
        let gap = self.message_gap(core);
        ctx.emit(gap, WsEvent::Message);
        let users = core.population.users;
        let sender = self.rng.random_range(0..users);
        let receiver = (sender + 1 + self.rng.random_range(0..users - 1)) % users;
        let msg = self.msgs.insert(WsMsg { sender, receiver, sent_at: now });
        if core.rec.counts(now) {
            self.sent += 1;
        }
        core.rec.add(self.columns[0], now, 1.0);
        if !self.conns[sender as usize].connected {
            return self.drop_message(core, msg, true); // the sender is offline, reconnecting
        }
        let d = core.client_lb.draw(&mut core.rng.network) + core.lb_latency.draw(&mut core.rng.network);
        ctx.emit(d, WsEvent::AtServer { msg });
    }

    fn at_server(&mut self, core: &mut Core, ctx: &mut Ctx, msg: u32) {
        let m = self.msgs[msg];
        match self.spec.mode {
            WsMode::Gateway => {
                if !self.on_gateway(m.sender) {
                    return self.drop_message(core, msg, true); // its gateway node died on the way
                }
                // The gateway calls a stateless handler on any server in rotation; a dead
                // one refuses and the next is tried.
                let mut delay = SimDuration::ZERO;
                let (mut tried, mut last) = (0u64, u16::MAX);
                loop {
                    let key = RouteKey { user: m.sender, ip: 0 };
                    let Some(s) = core.lb.route_retry(&key, tried, last) else { return self.drop_message(core, msg, false) };
                    delay = delay + core.lb_server.draw(&mut core.rng.network) + core.lb_server.draw(&mut core.rng.network);
                    if core.servers[s as usize].state == ServerState::Up {
                        break;
                    }
                    tried |= 1u64 << (s.min(63));
                    last = s;
                }
                delay = delay + core.client_lb.draw(&mut core.rng.network);
                ctx.emit(delay, WsEvent::Arrive { msg });
            }
            _ => {
                let c = self.conns[m.sender as usize];
                if !c.connected || !core.is_up(c.server, c.epoch) {
                    return self.drop_message(core, msg, true);
                }
                if self.spec.mode == WsMode::Local {
                    let r = self.conns[m.receiver as usize];
                    if r.connected && r.server == c.server {
                        let d = core.client_lb.draw(&mut core.rng.network);
                        ctx.emit(d, WsEvent::Arrive { msg });
                    } else {
                        // The receiver is on another server's map, or reconnecting.
                        self.drop_message(core, msg, !r.connected);
                    }
                } else {
                    if core.rec.counts(m.sent_at) {
                        self.published += 1;
                    }
                    let epoch = core.servers[c.server as usize].epoch;
                    core.redis.send(ctx, Command::Publish(msg), NO_REQ, c.server, epoch);
                }
            }
        }
    }

    /// Redis served a PUBLISH: every server in service receives it; the push reaches
    /// the subscribers after `delay`.
    pub fn published(&mut self, core: &Core, ctx: &mut Ctx, msg: u32, delay: SimDuration) {
        let up = match self.spec.channels {
            WsChannels::Broadcast => core.servers_up() as u64,
            // Only the server holding the receiver subscribes to their inbox.
            WsChannels::PerUser => {
                let r = self.conns[self.msgs[msg].receiver as usize];
                (r.connected && core.is_up(r.server, r.epoch)) as u64
            }
        };
        if core.rec.counts(self.msgs[msg].sent_at) {
            self.receipts += up;
        }
        ctx.emit(delay, WsEvent::Pushed { msg });
    }

    /// A dead server's clients reconnect after their delay (with jitter, spread out).
    pub fn on_server_killed(&mut self, ctx: &mut Ctx, server: u16) {
        if self.spec.mode == WsMode::Gateway {
            return; // the gateway holds the connections, not the servers
        }
        for user in 0..self.conns.len() {
            let c = &mut self.conns[user];
            if c.connected && c.server == server {
                c.connected = false;
                let delay = self.reconnect_delay();
                ctx.emit(delay, WsEvent::Reconnect { user: user as u32 });
            }
        }
    }

    /// A gateway node dies: every connection it held drops, and its clients reconnect
    /// after their delay (to another node); it starts again after `restart_after`.
    pub fn kill_gateway(&mut self, ctx: &mut Ctx, gateway: u32, restart_after: Option<SimDuration>) {
        let g = gateway as usize;
        self.gateway_up[g] = false;
        self.gateway_epoch[g] += 1;
        for user in 0..self.conns.len() {
            let c = &mut self.conns[user];
            if c.connected && c.server as usize == g {
                c.connected = false;
                let delay = self.reconnect_delay();
                ctx.emit(delay, WsEvent::Reconnect { user: user as u32 });
            }
        }
        if let Some(after) = restart_after {
            ctx.emit(after, WsEvent::GatewayRestarts { gateway: gateway as u16 });
        }
    }

    /// The next gateway node up, in turn, or None when every node is down.
    fn next_gateway(&mut self) -> Option<u16> {
        let n = self.gateway_up.len();
        let g = (0..n).map(|i| (self.gateway_cursor + i) % n).find(|&g| self.gateway_up[g])?;
        self.gateway_cursor = g + 1;
        Some(g as u16)
    }

    fn reconnect(&mut self, core: &mut Core, ctx: &mut Ctx, user: u32) {
        let now = ctx.now();
        let second = (now.0 / 1_000_000_000) as usize;
        if let Some(slot) = self.reconnects_per_s.get_mut(second) {
            *slot += 1;
        }
        if core.rec.counts(now) {
            self.reconnects += 1;
        }
        core.rec.add(self.columns[2], now, 1.0);
        if self.spec.mode == WsMode::Gateway {
            match self.next_gateway() {
                Some(g) => self.conns[user as usize] = WsConn { server: g, epoch: self.gateway_epoch[g as usize], connected: true },
                None => {
                    let delay = self.reconnect_delay();
                    ctx.emit(delay, WsEvent::Reconnect { user });
                }
            }
            return;
        }
        let key = RouteKey { user, ip: core.population.ip_of(user) };
        match core.lb.route(&key, 0, &mut core.rng.routing) {
            Some(s) if core.servers[s as usize].state == ServerState::Up => {
                self.conns[user as usize] = WsConn { server: s, epoch: core.servers[s as usize].epoch, connected: true };
            }
            _ => {
                // Refused (the dead server is still in rotation): try again later.
                let delay = self.reconnect_delay();
                ctx.emit(delay, WsEvent::Reconnect { user });
            }
        }
    }

    pub fn report(&self, window_s: f64, m: &mut Metrics) {
        let times = self.times.to_hdr();
        let ms = |q: f64| quantile_ms(&times, q);
        m.put(&catalog::WS_MESSAGES_SENT, self.sent as f64);
        m.put(&catalog::WS_DELIVERED, self.delivered as f64);
        m.put(&catalog::WS_DROPPED, self.dropped as f64);
        m.put(&catalog::WS_LOST_DISCONNECTED, self.lost_disconnected as f64);
        m.put(&catalog::WS_DELIVERED_SHARE, if self.sent == 0 { 0.0 } else { self.delivered as f64 / self.sent as f64 });
        m.put(&catalog::WS_LATENCY_P50, ms(0.5));
        m.put(&catalog::WS_LATENCY_P99, ms(0.99));
        m.put(&catalog::WS_RECONNECTS, self.reconnects as f64);
        m.put(&catalog::WS_RECONNECTS_PEAK_PER_S, self.reconnects_per_s.iter().copied().max().unwrap_or(0) as f64);
        if self.spec.mode == WsMode::Pubsub {
            m.put(&catalog::WS_PUBSUB_PUSHES_PER_S, self.receipts as f64 / window_s);
        }
        m.put(&catalog::WS_PUBSUB_RECEIPTS_PER_MESSAGE, if self.published == 0 { 0.0 } else { self.receipts as f64 / self.published as f64 });
    }
}
