//! The shared backends: Redis (one command thread behind a network round trip, with a
//! key-value store) and the database (a connection pool). Any part may send them a
//! command for a request; the reply comes back as an event, and the world resumes the
//! request at the stage that asked.

use super::redis::{Command, KeyHasher, KvStore, Reply};
use super::slab::Slab;
use super::station::Station;
use super::{Ctx, ReqId};
use crate::engine::{Distribution, SimDuration, SimRng, SimTime};
use crate::policies::{Limit, LimitState};
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
}

impl RedisNode {
    pub fn new(system: &System, warmup: SimTime, rng: SimRng) -> RedisNode {
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
            subscribers: system.fleet.max as u64,
            jobs: Slab::default(),
            ops: 0,
            ops_refused: 0,
            rng,
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
    pub fn apply(&mut self, cmd: Command, now: SimTime) -> Reply {
        match cmd {
            Command::RateCheck(key) => {
                let limit = self.limit.expect("a rate limit");
                let state = self.limits.entry(key).or_insert_with(|| limit.new_state(now));
                if limit.expired(state, now) {
                    *state = limit.new_state(now);
                }
                Reply::Value(Some(limit.check(state, now) as i64))
            }
            _ => self.kv.apply(cmd, now),
        }
    }

    /// Sends the reply back and starts the next waiting command.
    pub fn answer(&mut self, ctx: &mut Ctx, job: u32, reply: Reply) {
        let j = &mut self.jobs[job];
        j.reply = Some(reply);
        j.served_at = ctx.now();
        let d = self.one_way();
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
}

pub struct DbNode {
    pub station: Station,
    read: Distribution,
    write: Distribution,
    pub jobs: Slab<DbJob>,
    pub reads: u64,
    pub writes: u64,
    rng: SimRng,
}

impl DbNode {
    pub fn new(system: &System, warmup: SimTime, rng: SimRng) -> DbNode {
        let mut station = Station::new(system.database.connections);
        station.window_start = warmup;
        DbNode { station, read: system.database.read.clone(), write: system.database.write.clone(), jobs: Slab::default(), reads: 0, writes: 0, rng }
    }

    /// A read or a write for request `req` on `server`; it waits for a connection.
    pub fn send(&mut self, ctx: &mut Ctx, req: ReqId, server: u16, epoch: u32, write: bool) {
        let id = self.jobs.insert(DbJob { req, server, epoch, write });
        if write {
            self.writes += 1;
        } else {
            self.reads += 1;
        }
        if self.station.has_free() {
            self.start(ctx, id);
        } else {
            self.station.queue.push_back((id, ctx.now()));
        }
    }

    fn start(&mut self, ctx: &mut Ctx, job: u32) {
        self.station.start(job, ctx.now());
        let j = self.jobs[job];
        let t = if j.write { self.write.draw(&mut self.rng) } else { self.read.draw(&mut self.rng) };
        ctx.emit(t, DbEvent::Done { job });
    }

    /// A command finished: its connection takes the next one; returns the finished job.
    pub fn done(&mut self, ctx: &mut Ctx, job: u32) -> DbJob {
        self.station.finish(job, ctx.now());
        self.jobs.remove(job);
        if let Some((next, _)) = self.station.next_waiting() {
            self.start(ctx, next);
        }
        self.jobs[job]
    }
}
