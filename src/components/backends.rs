//! The shared backends: Redis (one command thread behind a network round trip, with a
//! key-value store) and the database (a connection pool). Any part may send them a
//! command for a request; the reply comes back as an event, and the world resumes the
//! request at the stage that asked.

use super::read_replicas::{Node, ReadReplicas};
use super::redis::{Command, Key, KeyHasher, KvStore, Reply};
use super::redis_failover::{Change, Lost, Replica, WriteKind, is_write};
use super::slab::Slab;
use super::station::Station;
use super::{Ctx, ReqId};
use crate::engine::{Distribution, SimDuration, SimRng, SimTime};
use crate::metrics::Metrics;
use crate::metrics::catalog::{self, Put};
use crate::policies::{Limit, LimitState, ReplicationMode};
use crate::scenario::model::System;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

pub type LimitMap = HashMap<u64, LimitState, BuildHasherDefault<KeyHasher>>;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RedisEvent {
    /// A command reaches Redis.
    Arrive {
        job: u32,
    },
    Done {
        job: u32,
    },
    /// Redis's answer (or a refused connection) reaches the server that asked.
    Reply {
        job: u32,
    },
    /// A Redis fault ends.
    Recovers,
    /// The replica is promoted after the primary died (or an empty replacement starts).
    Promoted,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DbEvent {
    Done { job: u32 },
}

/// A Redis command in flight: who asked, for which request.
#[derive(Clone, Copy, Debug)]
pub struct RedisJob {
    pub cmd: Command,
    pub req: ReqId,
    pub server: u16,
    pub epoch: u32,
    pub reply: Option<Reply>,
    pub served_at: SimTime,
}

pub struct RedisNode {
    pub station: Station,
    pub kv: KvStore,
    /// Rate-limit state kept in Redis (the atomic script's data), and its algorithm.
    pub limits: LimitMap,
    limit: Option<Limit>,
    pub down: bool,
    round_trip: Distribution,
    service: Distribution,
    normal_round_trip: Distribution,
    normal_service: Distribution,
    /// PUBLISH costs this much more per subscribed server.
    publish_per_subscriber: SimDuration,
    subscribers: u64,
    pub jobs: Slab<RedisJob>,
    pub ops: u64,
    pub ops_refused: u64,
    pub rng: SimRng,
    /// The replica and the writes on their way to it.
    pub replica: Replica,
    /// Writes applied after the warm-up and before the primary died, and from when they count.
    writes: u64,
    warmup: SimTime,
    /// When the primary died, and what the failover lost.
    pub killed_at: Option<SimTime>,
    pub lost: Lost,
    /// How the model replicates (the replica's own mode turns to none once it is promoted).
    replication: ReplicationMode,
    replication_lag_mean_s: f64,
}

impl RedisNode {
    pub fn new(system: &System, warmup: SimTime, rng: SimRng, replica_rng: SimRng) -> RedisNode {
        let mut station = Station::new(1);
        station.window_start = warmup;
        RedisNode {
            station,
            kv: KvStore::default(),
            limits: LimitMap::default(),
            limit: system.rate_limit.as_ref().map(|r| r.limit),
            down: false,
            round_trip: system.redis.round_trip.clone(),
            service: system.redis.service.clone(),
            normal_round_trip: system.redis.round_trip.clone(),
            normal_service: system.redis.service.clone(),
            publish_per_subscriber: system.websockets.as_ref().map_or(SimDuration::ZERO, |w| w.publish_per_subscriber),
            // A broadcast channel has every server as a subscriber; a user's inbox
            // channel only the server holding that user.
            subscribers: match system.websockets.as_ref().map(|w| w.channels) {
                Some(crate::policies::WsChannels::PerUser) => 1,
                _ => system.fleet.max as u64,
            },
            jobs: Slab::default(),
            ops: 0,
            ops_refused: 0,
            rng,
            replica: Replica::new(system.redis.replication, system.redis.replication_lag.clone(), replica_rng),
            writes: 0,
            warmup,
            killed_at: None,
            lost: Lost::default(),
            replication: system.redis.replication,
            replication_lag_mean_s: system.redis.replication_lag.mean() / 1e9,
        }
    }

    /// A network leg between a server and Redis.
    pub fn one_way(&mut self) -> SimDuration {
        SimDuration(self.round_trip.draw(&mut self.rng).0 / 2)
    }

    /// Sends `cmd` for request `req` on `server` (NO_SERVER, NO_REQ: an operator's
    /// command). `epoch` is the server's, so a reply to a dead process is dropped.
    pub fn send(&mut self, ctx: &mut Ctx, cmd: Command, req: ReqId, server: u16, epoch: u32) {
        let id = self.jobs.insert(RedisJob { cmd, req, server, epoch, reply: None, served_at: SimTime::ZERO });
        if self.down {
            // Connection refused: the caller learns after a round trip.
            self.ops_refused += 1;
            let rtt = self.round_trip.draw(&mut self.rng);
            ctx.emit(rtt, RedisEvent::Reply { job: id });
        } else {
            let d = self.one_way();
            ctx.emit(d, RedisEvent::Arrive { job: id });
        }
    }

    pub fn arrive(&mut self, ctx: &mut Ctx, job: u32) {
        if self.down {
            self.ops_refused += 1;
            self.jobs[job].reply = None;
            let d = self.one_way();
            ctx.emit(d, RedisEvent::Reply { job });
        } else if self.station.has_free() {
            self.start(ctx, job);
        } else {
            self.station.queue.push_back((job, ctx.now()));
        }
    }

    fn start(&mut self, ctx: &mut Ctx, job: u32) {
        self.station.start(job, ctx.now());
        let mut t = self.service.draw(&mut self.rng);
        if let Command::Publish(_) = self.jobs[job].cmd {
            // PUBLISH costs more with every subscriber it is pushed to.
            t = t + SimDuration(self.publish_per_subscriber.0 * self.subscribers);
        }
        ctx.emit(t, RedisEvent::Done { job });
    }

    /// The command thread finished `job`: its command, or None if it was lost when
    /// Redis went down.
    pub fn finish(&mut self, now: SimTime, job: u32, counted: bool) -> Option<Command> {
        self.station.finish(job, now)?;
        if counted {
            self.ops += 1;
        }
        Some(self.jobs[job].cmd)
    }

    /// Applies a data command to the store (rate checks run their algorithm on the
    /// key's state, as a script would).
    /// A write goes to the replica too.
    pub fn apply(&mut self, cmd: Command, now: SimTime) -> Reply {
        match cmd {
            Command::RateCheck(key) => {
                let limit = self.limit.expect("a rate limit");
                let state = self.limits.entry(key).or_insert_with(|| limit.new_state(now));
                let before = state.clone();
                if limit.expired(state, now) {
                    *state = limit.new_state(now);
                }
                let allowed = limit.check(state, now);
                if *state != before {
                    let change = Change::Limit(key, state.clone());
                    self.replicate(change, now);
                }
                Reply::Value(Some(allowed as i64))
            }
            _ => {
                let reply = self.kv.apply(cmd, now);
                if is_write(&cmd) {
                    self.replicate(Change::Kv(cmd, now), now);
                }
                reply
            }
        }
    }

    fn replicate(&mut self, change: Change, now: SimTime) {
        if now >= self.warmup && self.killed_at.is_none() {
            self.writes += 1;
        }
        self.replica.record(change, now);
    }

    /// The replica starts as a copy of what the primary holds at the start.
    pub fn sync_replica(&mut self) {
        self.replica.sync_from(&self.kv, &self.limits);
    }

    /// Writes per second the primary applied from the warm-up until it died (or until `end`).
    pub fn write_rate_per_s(&self, end: SimTime) -> f64 {
        let until = self.killed_at.unwrap_or(end);
        let s = until.since(self.warmup.min(until)).as_secs_f64();
        if s > 0.0 { self.writes as f64 / s } else { 0.0 }
    }

    /// The primary dies: the replica keeps what reached it (with no replica nothing is
    /// kept), commands in flight are lost with the connection, and after the failover
    /// delay the replica is promoted.
    pub fn kill_primary(&mut self, ctx: &mut Ctx, failover_after: SimDuration) {
        let now = ctx.now();
        self.killed_at = Some(now);
        self.lost = if self.replica.mode.has_replica() {
            self.replica.primary_dies(now)
        } else {
            let mut lost = Lost::default();
            for key in self.kv.live_keys(now) {
                lost.add(match key {
                    Key::Session(_) => WriteKind::Session,
                    Key::Blocklist(_) => WriteKind::Ban,
                    Key::Counter(_) => WriteKind::Counter,
                });
            }
            for _ in 0..self.limits.len() {
                lost.add(WriteKind::Counter);
            }
            lost
        };
        self.go_down(ctx);
        ctx.emit(failover_after, RedisEvent::Promoted);
    }

    /// What the failover lost, and what theory expects an asynchronous replica to lose.
    pub fn report_failover(&self, end: SimTime, m: &mut Metrics) {
        m.put(&catalog::REDIS_FAILOVER_LOST_WRITES, self.lost.total() as f64);
        m.put(&catalog::REDIS_FAILOVER_LOST_SESSIONS, self.lost.sessions as f64);
        m.put(&catalog::REDIS_FAILOVER_LOST_BANS, self.lost.bans as f64);
        m.put(&catalog::REDIS_FAILOVER_LOST_COUNTER_WRITES, self.lost.counters as f64);
        if self.replication == ReplicationMode::Async {
            m.put(&catalog::REDIS_FAILOVER_LOST_WRITES_EXPECTED, self.write_rate_per_s(end) * self.replication_lag_mean_s);
        }
    }

    /// The replica (or an empty replacement) becomes the primary, with no replica of its own.
    pub fn promote(&mut self) {
        self.kv = std::mem::take(&mut self.replica.kv);
        self.limits = std::mem::take(&mut self.replica.limits);
        self.replica.mode = ReplicationMode::None;
        self.recover();
    }

    /// Sends the reply back and starts the next waiting command.
    /// A write under synchronous replication is answered once the replica has it.
    pub fn answer(&mut self, ctx: &mut Ctx, job: u32, reply: Reply) {
        let j = &mut self.jobs[job];
        j.reply = Some(reply);
        j.served_at = ctx.now();
        let write = is_write(&j.cmd) || matches!(j.cmd, Command::RateCheck(_));
        let mut d = self.one_way();
        if write && self.replica.mode == ReplicationMode::Sync {
            d = d + self.replica.ack_delay();
        }
        ctx.emit(d, RedisEvent::Reply { job });
        if let Some((next, _)) = self.station.next_waiting() {
            self.start(ctx, next);
        }
    }

    /// The reply reached its server; the job's slot is free again.
    pub fn take(&mut self, job: u32) -> RedisJob {
        self.jobs.remove(job);
        self.jobs[job]
    }

    /// Redis goes down: commands queued or in service are lost with the connection.
    pub fn go_down(&mut self, ctx: &mut Ctx) {
        self.down = true;
        let pending: Vec<u32> = self.station.in_service.drain(..).map(|(j, _)| j).chain(self.station.queue.drain(..).map(|(j, _)| j)).collect();
        for job in pending {
            self.jobs[job].reply = None;
            let d = self.one_way();
            ctx.emit(d, RedisEvent::Reply { job });
        }
    }

    pub fn slow_down(&mut self, service: Option<Distribution>, round_trip: Option<Distribution>) {
        if let Some(s) = service {
            self.service = s;
        }
        if let Some(r) = round_trip {
            self.round_trip = r;
        }
    }

    pub fn recover(&mut self) {
        self.down = false;
        self.service = self.normal_service.clone();
        self.round_trip = self.normal_round_trip.clone();
    }
}

/// A database command in flight.
#[derive(Clone, Copy, Debug)]
pub struct DbJob {
    pub req: ReqId,
    pub server: u16,
    pub epoch: u32,
    pub write: bool,
    /// The user whose cart this reads or writes, if it is a cart query.
    pub cart_of: Option<u32>,
    /// Where it runs: the primary, or a read replica.
    pub node: Node,
}

/// The database: a primary, and read replicas when the model has them, each with a pool
/// of connections.
pub struct DbNode {
    pub station: Station,
    pub replica_stations: Vec<Station>,
    pub replicas: Option<ReadReplicas>,
    read: Distribution,
    write: Distribution,
    pub jobs: Slab<DbJob>,
    pub reads: u64,
    pub writes: u64,
    rng: SimRng,
}

impl DbNode {
    pub fn new(system: &System, warmup: SimTime, users: usize, rng: SimRng, replica_rng: SimRng) -> DbNode {
        let pool = |_| {
            let mut station = Station::new(system.database.connections);
            station.window_start = warmup;
            station
        };
        let spec = &system.database;
        DbNode {
            station: pool(0),
            replica_stations: (0..spec.read_replicas).map(pool).collect(),
            replicas: (spec.read_replicas > 0).then(|| ReadReplicas::new(spec, users, warmup, replica_rng)),
            read: spec.read.clone(),
            write: spec.write.clone(),
            jobs: Slab::default(),
            reads: 0,
            writes: 0,
            rng,
        }
    }

    fn station_mut(&mut self, node: Node) -> &mut Station {
        match node {
            Node::Primary => &mut self.station,
            Node::Replica(k) => &mut self.replica_stations[k as usize],
        }
    }

    /// A read or a write for request `req` on `server` (of `cart_of`'s cart, if a cart
    /// query); a write goes to the primary, a read where the replicas' policy says; it
    /// waits for a connection there.
    pub fn send(&mut self, ctx: &mut Ctx, req: ReqId, server: u16, epoch: u32, write: bool, cart_of: Option<u32>) {
        let node = match &mut self.replicas {
            Some(r) if !write => r.route(cart_of, ctx.now()),
            _ => Node::Primary,
        };
        let id = self.jobs.insert(DbJob { req, server, epoch, write, cart_of, node });
        if write {
            self.writes += 1;
        } else {
            self.reads += 1;
        }
        let now = ctx.now();
        let station = self.station_mut(node);
        if station.has_free() {
            self.start(ctx, id);
        } else {
            station.queue.push_back((id, now));
        }
    }

    fn start(&mut self, ctx: &mut Ctx, job: u32) {
        let now = ctx.now();
        let j = self.jobs[job];
        self.station_mut(j.node).start(job, now);
        if let (Some(r), Some(user), false) = (&mut self.replicas, j.cart_of, j.write) {
            r.cart_read(user, j.node, now);
        }
        let t = if j.write { self.write.draw(&mut self.rng) } else { self.read.draw(&mut self.rng) };
        ctx.emit(t, DbEvent::Done { job });
    }

    /// A command finished: its connection takes the next one; returns the finished job.
    /// A cart write has committed on the primary, and starts on its way to the replicas.
    pub fn done(&mut self, ctx: &mut Ctx, job: u32) -> DbJob {
        let now = ctx.now();
        let j = self.jobs[job];
        self.station_mut(j.node).finish(job, now);
        self.jobs.remove(job);
        if let (Some(r), Some(user), true) = (&mut self.replicas, j.cart_of, j.write) {
            r.cart_written(user, now);
        }
        if let Some((next, _)) = self.station_mut(j.node).next_waiting() {
            self.start(ctx, next);
        }
        j
    }

    /// The read replicas' figures: stale reads, the primary's share of reads, and the
    /// replicas' mean utilisation.
    pub fn report_replicas(&self, end: SimTime, m: &mut Metrics) {
        if let Some(r) = &self.replicas {
            let util = self.replica_stations.iter().map(|s| s.utilisation(end)).sum::<f64>() / r.replicas().max(1) as f64;
            r.report(util, m);
        }
    }
}
