//! The fleet: instances launched and stopped by target tracking on CPU (with boot lag
//! and a cooldown), spot instances interrupted after a notice, rolling deploys with or
//! without draining, and what it all costs per hour.
//!
//! Instances beyond `servers.count` start stopped. Stopping an instance is a kill of its
//! process, which the world carries out for every part; the fleet then bills it and,
//! in a deploy, launches its replacement.

use super::Ctx;
use super::core::{Core, CoreEvent};
use super::server::ServerState;
use crate::engine::{RngStreams, SimDuration, SimRng, SimTime};
use crate::metrics::Metrics;
use crate::metrics::catalog::{self, Put};
use crate::metrics::series::{self, ColumnId};
use crate::scenario::model::{FleetSpec, Profile, System};
use rand_distr::{Distribution as _, Exp1};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FleetEvent {
    /// The autoscaler measures CPU and decides.
    ScaleCheck,
    /// A deregistered instance's drain is over: stop it.
    InstanceStop {
        server: u16,
        epoch: u32,
        relaunch: bool,
    },
    /// A spot instance gets its interruption notice, then is interrupted.
    SpotNotice {
        server: u16,
        epoch: u32,
    },
    SpotInterrupt {
        server: u16,
        epoch: u32,
    },
    /// The rolling deploy moves to its next server.
    DeployNext,
}

/// What the world must do for the fleet: stop (kill) an instance's process, then hand
/// it back with `stopped`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StopInstance {
    pub server: u16,
    /// Launch a new instance in its place (a deploy's replacement).
    pub relaunch: bool,
}

pub struct Fleet {
    spec: FleetSpec,
    profile: Option<Profile>,
    /// Instances at the start.
    initial_count: usize,
    /// Billing: running since (None when stopped), and whether it is a spot instance.
    running_since: Vec<Option<SimTime>>,
    spot: Vec<bool>,
    on_demand_s: f64,
    spot_s: f64,
    /// Instance-seconds after warm-up, for the mean fleet size.
    instance_s: f64,
    instances_max: u32,
    scale_outs: u64,
    scale_ins: u64,
    last_change: SimTime,
    cpu_snapshot: Vec<u128>,
    /// When a launched instance first entered rotation after the load profile's step.
    first_added_after_step: Option<SimTime>,
    spot_interruptions: u64,
    deploy_queue: Vec<u16>,
    deploy_started: Option<SimTime>,
    deploy_done: Option<SimTime>,
    deploy_logouts_at_start: u64,
    deploy_logouts: u64,
    deploy_failed_at_start: u64,
    deploy_failed: u64,
    rng: SimRng,
    /// The time series' cost column.
    cost_column: ColumnId,
}

impl Fleet {
    pub fn new(system: &System, streams: &RngStreams, core: &mut Core) -> Fleet {
        let n = system.fleet.max as usize;
        Fleet {
            cost_column: core.rec.register(&series::COST_PER_HOUR),
            spec: system.fleet.clone(),
            profile: system.clients.profile,
            initial_count: system.servers.count as usize,
            running_since: vec![Some(SimTime::ZERO); n],
            spot: vec![false; n],
            on_demand_s: 0.0,
            spot_s: 0.0,
            instance_s: 0.0,
            instances_max: 0,
            scale_outs: 0,
            scale_ins: 0,
            last_change: SimTime::ZERO,
            cpu_snapshot: Vec::new(),
            first_added_after_step: None,
            spot_interruptions: 0,
            deploy_queue: Vec::new(),
            deploy_started: None,
            deploy_done: None,
            deploy_logouts_at_start: 0,
            deploy_logouts: 0,
            deploy_failed_at_start: 0,
            deploy_failed: 0,
            rng: streams.stream("fleet"),
        }
    }

    /// Whether the fleet changes or is billed at all (else it reports nothing).
    fn active(&self) -> bool {
        self.spec.autoscale || self.spec.spot_share > 0.0 || self.spec.deploy.is_some() || self.profile.is_some()
    }

    /// Stops the instances beyond the initial fleet, marks the spot ones, and schedules
    /// the autoscaler and the deploy.
    pub fn start(&mut self, core: &mut Core, ctx: &mut Ctx) {
        let window_start = core.rec.warmup_end;
        for s in self.initial_count..core.servers.len() {
            core.servers[s].set_state(ServerState::Down, SimTime::ZERO, window_start);
            self.running_since[s] = None;
            core.lb.deregister(s as u16, false);
        }
        let spots = (self.initial_count as f64 * self.spec.spot_share).round() as usize;
        for s in self.initial_count - spots..self.initial_count {
            self.spot[s] = true;
            self.schedule_spot_interruption(core, ctx, s as u16);
        }
        if self.spec.autoscale {
            self.cpu_snapshot = vec![0; core.servers.len()];
            ctx.emit(self.spec.metric_period, FleetEvent::ScaleCheck);
        }
        if let Some((at, _)) = self.spec.deploy {
            ctx.emit(at, FleetEvent::DeployNext);
        }
        let n = self.initial_count as u32;
        core.rec.on_fleet_change(SimTime::ZERO, n, n);
        self.note_cost(core, SimTime::ZERO);
    }

    fn schedule_spot_interruption(&mut self, core: &Core, ctx: &mut Ctx, server: u16) {
        if self.spec.spot_interruptions_per_sec <= 0.0 {
            return;
        }
        let e: f64 = Exp1.sample(&mut self.rng);
        let epoch = core.servers[server as usize].epoch;
        ctx.emit(SimDuration::from_secs_f64(e / self.spec.spot_interruptions_per_sec), FleetEvent::SpotNotice { server, epoch });
    }

    /// Bills a server's running time up to `now` and stops the meter.
    fn bill(&mut self, core: &mut Core, server: u16, now: SimTime, keep_running: bool) {
        let s = server as usize;
        if let Some(since) = self.running_since[s] {
            let secs = now.since(since).as_secs_f64();
            if self.spot[s] {
                self.spot_s += secs;
            } else {
                self.on_demand_s += secs;
            }
            let from = since.max(core.rec.warmup_end);
            if now > from {
                self.instance_s += now.since(from).as_secs_f64();
            }
            self.running_since[s] = if keep_running { Some(now) } else { None };
        }
        self.note_cost(core, now);
    }

    /// Records what the running instances cost per hour from now on.
    fn note_cost(&mut self, core: &mut Core, now: SimTime) {
        let per_hour: f64 = (0..self.spot.len())
            .filter(|&s| self.running_since[s].is_some())
            .map(|s| if self.spot[s] { self.spec.spot_per_hour } else { self.spec.on_demand_per_hour })
            .sum();
        core.rec.set(self.cost_column, now, per_hour);
    }

    fn running(&self) -> usize {
        self.running_since.iter().filter(|r| r.is_some()).count()
    }

    /// Starts a stopped instance: it boots, then health checks put it into rotation.
    fn launch(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16) {
        let now = ctx.now();
        let running = self.running();
        let spots = (0..self.spot.len()).filter(|&s| self.running_since[s].is_some() && self.spot[s]).count();
        let spot = (spots as f64) < self.spec.spot_share * (running + 1) as f64 - 0.5;
        let window_start = core.rec.warmup_end;
        let s = &mut core.servers[server as usize];
        s.set_state(ServerState::Booting, now, window_start);
        self.running_since[server as usize] = Some(now);
        self.spot[server as usize] = spot;
        let epoch = s.epoch;
        core.lb.register(server);
        ctx.emit(core.boot_time, CoreEvent::ServerReady { server, epoch });
        if spot {
            self.schedule_spot_interruption(core, ctx, server);
        }
        self.instances_max = self.instances_max.max(self.running() as u32);
        self.note_cost(core, now);
    }

    /// Takes an instance out of rotation; after `drain` it stops (and, in a deploy, a new
    /// one starts in its place).
    fn retire(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, drain: SimDuration, relaunch: bool) {
        core.lb.deregister(server, !drain.is_zero());
        let epoch = core.servers[server as usize].epoch;
        ctx.emit(drain, FleetEvent::InstanceStop { server, epoch, relaunch });
        core.fleet_changed(ctx.now());
    }

    /// Handles a fleet event; returns an instance the world must stop first.
    pub fn on_event(&mut self, ev: FleetEvent, core: &mut Core, ctx: &mut Ctx) -> Option<StopInstance> {
        match ev {
            FleetEvent::ScaleCheck => self.scale_check(core, ctx),
            FleetEvent::DeployNext => self.deploy_next(core, ctx),
            FleetEvent::InstanceStop { server, epoch, relaunch } => {
                if core.servers[server as usize].epoch == epoch {
                    return Some(StopInstance { server, relaunch });
                }
            }
            FleetEvent::SpotNotice { server, epoch } => {
                if core.servers[server as usize].epoch == epoch && self.running_since[server as usize].is_some() {
                    // Two minutes' warning: out of rotation now, a replacement starts.
                    core.lb.deregister(server, false);
                    core.fleet_changed(ctx.now());
                    ctx.emit(self.spec.spot_notice, FleetEvent::SpotInterrupt { server, epoch });
                    if let Some(stopped) = (0..core.servers.len() as u16).find(|&s| self.running_since[s as usize].is_none()) {
                        self.launch(core, ctx, stopped);
                    }
                }
            }
            FleetEvent::SpotInterrupt { server, epoch } => {
                if core.servers[server as usize].epoch == epoch {
                    if core.rec.counts(ctx.now()) {
                        self.spot_interruptions += 1;
                    }
                    return Some(StopInstance { server, relaunch: false });
                }
            }
        }
        None
    }

    /// The world stopped `stop.server`'s process: bill it, and launch its replacement.
    pub fn stopped(&mut self, core: &mut Core, ctx: &mut Ctx, stop: StopInstance) {
        let now = ctx.now();
        self.bill(core, stop.server, now, stop.relaunch);
        if stop.relaunch {
            self.launch(core, ctx, stop.server);
        }
    }

    /// Health checks changed the rotation: note the first instance added after a step.
    pub fn rotation_changed(&mut self, core: &Core, now: SimTime) {
        if let Some(Profile::Step { at, .. }) = self.profile
            && now >= SimTime::ZERO + at
            && self.first_added_after_step.is_none()
            && core.lb.rotation.len() > self.initial_count
        {
            self.first_added_after_step = Some(now);
        }
    }

    fn scale_check(&mut self, core: &mut Core, ctx: &mut Ctx) {
        let now = ctx.now();
        let period = self.spec.metric_period;
        ctx.emit(period, FleetEvent::ScaleCheck);
        // Average CPU of the instances in service over the last period.
        let (mut busy, mut capacity) = (0u128, 0.0f64);
        for (i, s) in core.servers.iter().enumerate() {
            let delta = s.cpu_total_ns - self.cpu_snapshot[i];
            if s.state == ServerState::Up {
                busy += delta;
                capacity += s.workers.capacity as f64 * period.0 as f64;
            }
        }
        self.cpu_snapshot = core.servers.iter().map(|s| s.cpu_total_ns).collect();
        if capacity == 0.0 {
            return;
        }
        let cpu = busy as f64 / capacity;
        let running = self.running();
        // Size from the instances in service (booting ones are not measured yet), as
        // target tracking does: in_service x cpu / target.
        let in_service = (0..core.servers.len()).filter(|&s| core.servers[s].state == ServerState::Up && self.running_since[s].is_some()).count();
        let desired = ((in_service as f64 * cpu / self.spec.target_cpu).ceil() as usize).clamp(self.spec.min as usize, core.servers.len());
        if desired > running {
            let stopped: Vec<u16> = (0..core.servers.len() as u16).filter(|&s| self.running_since[s as usize].is_none()).take(desired - running).collect();
            for s in stopped {
                self.launch(core, ctx, s);
                self.scale_outs += 1;
            }
            self.last_change = now;
        } else if desired < running && now.since(self.last_change) >= self.spec.cooldown {
            let victims: Vec<u16> = (0..core.servers.len() as u16)
                .rev()
                .filter(|&s| core.servers[s as usize].state == ServerState::Up && core.lb.is_in_rotation(s))
                .take(running - desired)
                .collect();
            for s in victims {
                self.retire(core, ctx, s, SimDuration::ZERO, false);
                self.scale_ins += 1;
            }
            self.last_change = now;
        }
    }

    /// One step of the rolling deploy: replace the next server once the previous one is
    /// back in rotation.
    fn deploy_next(&mut self, core: &mut Core, ctx: &mut Ctx) {
        let now = ctx.now();
        let (_, drain) = self.spec.deploy.expect("a deploy");
        if self.deploy_started.is_none() {
            self.deploy_started = Some(now);
            self.deploy_logouts_at_start = core.sessions_lost;
            self.deploy_failed_at_start = core.rec.failed_total();
            self.deploy_queue = (0..core.servers.len() as u16).rev().filter(|&s| self.running_since[s as usize].is_some()).collect();
        }
        let busy =
            (0..core.servers.len()).any(|i| self.running_since[i].is_some() && (core.servers[i].state != ServerState::Up || !core.lb.is_in_rotation(i as u16)));
        if busy {
            // The last replacement is still draining, booting or waiting for health checks.
            return ctx.emit(SimDuration::from_secs(1), FleetEvent::DeployNext);
        }
        match self.deploy_queue.pop() {
            Some(server) => {
                self.retire(core, ctx, server, drain, true);
                ctx.emit(SimDuration::from_secs(1), FleetEvent::DeployNext);
            }
            None => {
                self.deploy_done = Some(now);
                self.deploy_logouts = core.sessions_lost - self.deploy_logouts_at_start;
                self.deploy_failed = core.rec.failed_total() - self.deploy_failed_at_start;
            }
        }
    }

    /// Closes the books at `end`: every running instance is billed up to it.
    pub fn close(&mut self, core: &mut Core, end: SimTime) {
        for s in 0..core.servers.len() as u16 {
            self.bill(core, s, end, true);
        }
    }

    pub fn report(&self, end: SimTime, window_s: f64, m: &mut Metrics) {
        if !self.active() {
            return;
        }
        let hours = end.as_secs_f64() / 3600.0;
        let cost = self.on_demand_s / 3600.0 * self.spec.on_demand_per_hour + self.spot_s / 3600.0 * self.spec.spot_per_hour;
        m.put(&catalog::FLEET_COST_PER_HOUR, if hours > 0.0 { cost / hours } else { 0.0 });
        m.put(&catalog::FLEET_INSTANCES_MEAN, self.instance_s / window_s);
        m.put(&catalog::FLEET_INSTANCES_MAX, self.instances_max.max(self.initial_count as u32) as f64);
        m.put(&catalog::FLEET_SCALE_OUTS, self.scale_outs as f64);
        m.put(&catalog::FLEET_SCALE_INS, self.scale_ins as f64);
        m.put(&catalog::FLEET_SPOT_INTERRUPTIONS, self.spot_interruptions as f64);
        m.put(&catalog::FLEET_SPOT_SHARE_OF_HOURS, if self.on_demand_s + self.spot_s > 0.0 { self.spot_s / (self.on_demand_s + self.spot_s) } else { 0.0 });
        // Only a fleet that scales itself has a lag (-1: it never scaled out).
        if let (Some(Profile::Step { at, .. }), true) = (self.profile, self.spec.autoscale) {
            m.put(&catalog::FLEET_SCALE_OUT_LAG_S, self.first_added_after_step.map_or(-1.0, |t| t.since(SimTime::ZERO + at).as_secs_f64()));
        }
        if self.spec.deploy.is_some() {
            m.put(
                &catalog::DEPLOY_DURATION_S,
                match (self.deploy_started, self.deploy_done) {
                    (Some(a), Some(b)) => b.since(a).as_secs_f64(),
                    _ => -1.0,
                },
            );
            m.put(&catalog::DEPLOY_SESSIONS_LOST, self.deploy_logouts as f64);
            m.put(&catalog::DEPLOY_REQUESTS_FAILED, self.deploy_failed as f64);
        }
    }
}
