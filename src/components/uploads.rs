//! File uploads: to the server's local disk, streamed through the server to S3, or
//! straight to S3 with a pre-signed URL; and later reads of those files.
//!
//! Its stage replaces the request's plain CPU time for uploads and reads: the server
//! receives and stores the file, streams it on to S3, or only signs a URL; a read of a
//! file on another server's disk (or one lost with its server) is a 404. Pre-signed
//! transfers add the client's own trip to S3 after the answer: one PUT or one per part,
//! each checked against the URL's expiry when it begins, with drops that send a PUT again.

use super::core::{Core, CoreEvent, Kind, NO_SERVER, Outcome, Step};
use super::{Ctx, ReqId};
use crate::engine::{RngStreams, SimDuration, SimRng, SimTime};
use crate::metrics::catalog::{self, Put};
use crate::metrics::histogram::{Latencies, quantile_ms};
use crate::metrics::series::{self, ColumnId};
use crate::metrics::{FailReason, Metrics};
use crate::policies::UploadStore;
use crate::scenario::model::UploadSpec;
use rand::RngExt;
use rand_distr::{Distribution as _, Exp1};
use std::collections::HashMap;

/// An uploaded file: where it lives if on a server's disk.
#[derive(Clone, Copy, Debug)]
struct FileRecord {
    server: u16,
    epoch: u32,
    counted: bool,
}

pub struct Uploads {
    spec: UploadSpec,
    files: Vec<FileRecord>,
    server_bytes: f64,
    server_worker_ns: u128,
    server_cpu_ns: u128,
    reads: u64,
    not_found: u64,
    slowdowns: u64,
    s3_second: u64,
    s3_puts_this_second: u32,
    /// Latency of completed uploads, in ns.
    times: Latencies,
    rng: SimRng,
    /// Counted uploads whose transfer a server's death cut off, and the bytes they had
    /// already sent (the client sends them again).
    cut_off: u64,
    interrupted_bytes: f64,
    /// The files-not-found column, where files live on the servers' own disks.
    not_found_column: Option<ColumnId>,
    /// Counted pre-signed uploads on their way to S3, tallied when the client learns the
    /// outcome (as completed uploads and failures are; not if it gave up waiting), so
    /// every figure covers the same uploads.
    in_flight: HashMap<ReqId, S3Puts>,
    /// The tallies of those whose outcome the client has learned.
    s3_puts: S3Puts,
}

/// How a client's PUTs of one or more files went: how long they took, whether they ended
/// on an expired URL, fresh URLs asked for, drops, and bytes sent again after a drop or
/// in vain before an expiry.
#[derive(Clone, Copy, Debug, Default)]
struct S3Puts {
    took: SimDuration,
    expired: u64,
    url_refreshes: u64,
    connection_drops: u64,
    dropped_resent_bytes: f64,
    expired_wasted_bytes: f64,
}

impl S3Puts {
    fn add(&mut self, o: &S3Puts) {
        self.expired += o.expired;
        self.url_refreshes += o.url_refreshes;
        self.connection_drops += o.connection_drops;
        self.dropped_resent_bytes += o.dropped_resent_bytes;
        self.expired_wasted_bytes += o.expired_wasted_bytes;
    }
}

impl Uploads {
    pub fn new(spec: &UploadSpec, streams: &RngStreams, core: &mut Core) -> Uploads {
        let not_found_column = (spec.store == UploadStore::LocalDisk).then(|| core.rec.register(&series::FILES_NOT_FOUND));
        Uploads {
            spec: spec.clone(),
            files: Vec::new(),
            server_bytes: 0.0,
            server_worker_ns: 0,
            server_cpu_ns: 0,
            reads: 0,
            not_found: 0,
            slowdowns: 0,
            s3_second: 0,
            s3_puts_this_second: 0,
            times: Latencies::default(),
            rng: streams.stream("uploads"),
            cut_off: 0,
            interrupted_bytes: 0.0,
            not_found_column,
            in_flight: HashMap::new(),
            s3_puts: S3Puts::default(),
        }
    }

    /// Whether the next request uploads a file or reads one: (kind, bytes, file).
    pub fn choose(&mut self) -> Option<(Kind, u64, u32)> {
        let x = self.rng.random::<f64>();
        if x < self.spec.share {
            Some((Kind::Upload, self.spec.size.sample(&mut self.rng).max(1.0) as u64, 0))
        } else if x < self.spec.share + self.spec.read_share && !self.files.is_empty() {
            Some((Kind::ReadFile, 0, self.rng.random_range(0..self.files.len() as u32)))
        } else {
            None
        }
    }

    /// The work stage of an upload or a read: receive and store, stream through to S3,
    /// sign a URL, or (local disk) find the file here or answer 404.
    pub fn transfer(&mut self, core: &mut Core, ctx: &mut Ctx, server: u16, req: ReqId) -> Step {
        let u = &self.spec;
        let epoch = core.servers[server as usize].epoch;
        let r = &core.requests[req];
        let (kind, bytes) = (r.kind, r.bytes as f64);
        let secs = |b: f64, per_s: f64| SimDuration::from_secs_f64(b / per_s);
        let (cpu, wait) = match (kind, u.store) {
            (Kind::Upload, UploadStore::LocalDisk) => (SimDuration::from_nanos_f64(bytes * u.cpu_ns_per_byte), secs(bytes, u.client_bytes_per_s)),
            (Kind::Upload, UploadStore::ThroughServer) => {
                let first = u.s3_first_byte.draw(&mut self.rng);
                (SimDuration::from_nanos_f64(bytes * u.cpu_ns_per_byte), first + secs(bytes, u.client_bytes_per_s.min(u.s3_bytes_per_s)))
            }
            (Kind::Upload, _) => (u.presign_cpu, SimDuration::ZERO),
            (Kind::ReadFile, UploadStore::LocalDisk) => {
                let f = self.files[r.file as usize];
                if f.server != server || f.epoch != epoch {
                    if core.rec.counts(r.sent_at) {
                        self.not_found += 1;
                    }
                    if let Some(col) = self.not_found_column {
                        core.rec.add(col, ctx.now(), 1.0);
                    }
                    return Step::Reject(FailReason::NotFound);
                }
                (SimDuration::ZERO, SimDuration::ZERO)
            }
            (Kind::ReadFile, UploadStore::ThroughServer) => (SimDuration::ZERO, u.s3_first_byte.draw(&mut self.rng)),
            _ => (SimDuration::ZERO, SimDuration::ZERO), // a pre-signed GET: a redirect
        };
        let r = &mut core.requests[req];
        r.extra_cpu = r.extra_cpu + cpu;
        let hold = r.service + r.extra_cpu + wait;
        if kind == Kind::Upload && u.store != UploadStore::Presigned && core.rec.counts(r.sent_at) {
            self.server_bytes += bytes;
            self.server_worker_ns += hold.0 as u128;
            self.server_cpu_ns += cpu.0 as u128;
        }
        ctx.emit(hold, CoreEvent::ServiceDone { req, server, epoch });
        Step::Wait
    }

    /// A server died with these requests in service: each upload among them was being
    /// streamed through it (a pre-signed upload goes to S3 and only asked it for a URL).
    pub fn on_server_killed(&mut self, core: &Core, now: SimTime, in_service: &[(ReqId, SimTime)]) {
        let u = &self.spec;
        let rate = match u.store {
            UploadStore::Presigned | UploadStore::None => return,
            UploadStore::LocalDisk => u.client_bytes_per_s,
            UploadStore::ThroughServer => u.client_bytes_per_s.min(u.s3_bytes_per_s),
        };
        for &(req, started) in in_service {
            let r = &core.requests[req];
            if r.kind == Kind::Upload && core.rec.counts(r.sent_at) {
                self.cut_off += 1;
                // What had reached the server since it took the upload, at the client's rate.
                self.interrupted_bytes += (now.since(started).as_secs_f64() * rate).min(r.bytes as f64);
            }
        }
    }

    /// The server finished an upload: a file on its disk or in S3.
    pub fn on_service_done(&mut self, core: &Core, req: ReqId, server: u16) {
        let r = &core.requests[req];
        if r.kind == Kind::Upload && self.spec.store != UploadStore::Presigned {
            let epoch = core.servers[server as usize].epoch;
            self.files.push(FileRecord { server, epoch, counted: core.rec.counts(r.sent_at) });
        }
    }

    /// The answer reached the client. For a pre-signed transfer the client now talks to
    /// S3 itself, and the request ends when that is done: true if it goes on.
    pub fn client_leg(&mut self, core: &mut Core, ctx: &mut Ctx, req: ReqId) -> bool {
        let now = ctx.now();
        let u = &self.spec;
        let r = &core.requests[req];
        if u.store != UploadStore::Presigned || r.s3_leg_done || r.outcome != Outcome::Ok || !matches!(r.kind, Kind::Upload | Kind::ReadFile) {
            return false;
        }
        let (kind, bytes, counted) = (r.kind, r.bytes as f64, core.rec.counts(r.sent_at));
        let leg = if kind == Kind::Upload {
            // S3 allows so many PUTs per second per prefix; above it, 503 SlowDown and a retry.
            let second = now.0 / 1_000_000_000;
            if self.s3_second != second {
                self.s3_second = second;
                self.s3_puts_this_second = 0;
            }
            self.s3_puts_this_second += 1;
            let slowdown = if self.s3_puts_this_second > u.s3_put_limit {
                self.slowdowns += 1;
                SimDuration::from_millis(100)
            } else {
                SimDuration::ZERO
            };
            let put = self.put_to_s3(core, bytes);
            if put.expired > 0 {
                core.requests[req].outcome = Outcome::Failed(FailReason::UrlExpired);
            }
            if counted {
                self.in_flight.insert(req, put);
            }
            put.took + slowdown
        } else {
            u.s3_first_byte.draw(&mut self.rng)
        };
        core.requests[req].s3_leg_done = true;
        ctx.emit(leg, CoreEvent::ReachClient { req });
        true
    }

    /// The client's PUTs of one file to S3 with the URL it was just given: one PUT, or
    /// one per part in turn. S3 checks the URL's expiry when a PUT begins: a PUT begun in
    /// time finishes however long it takes, but one that would begin after the expiry is
    /// refused (403), unless the client first asks the server for a fresh URL (a round
    /// trip through the network; the server only signs). A dropped connection costs a
    /// second to reconnect and the PUT begins again (the whole file, or its part).
    fn put_to_s3(&mut self, core: &Core, bytes: f64) -> S3Puts {
        /// Time to reconnect after a dropped connection.
        const RECONNECT_S: f64 = 1.0;
        /// A client still sending after this long (in any run) is left to its fate.
        const GIVE_UP_S: f64 = 48.0 * 3600.0;
        let u = &self.spec;
        let rate = u.client_bytes_per_s.min(u.s3_bytes_per_s);
        let part = u.part_bytes.unwrap_or(bytes).min(bytes).max(1.0);
        let expiry_s = u.url_expiry.as_secs_f64();
        let (mut t, mut valid_until, mut sent, mut left) = (0.0_f64, expiry_s, 0.0_f64, bytes);
        let mut puts = S3Puts::default();
        while left > 0.0 && t < GIVE_UP_S {
            if t > valid_until {
                if !u.refresh_expired_url {
                    // The refusal comes back as a PUT's first byte would.
                    let took = SimDuration::from_secs_f64(t) + u.s3_first_byte.draw(&mut self.rng);
                    return S3Puts { took, expired: 1, expired_wasted_bytes: sent, ..puts };
                }
                let round_trip = core.client_lb.draw(&mut self.rng) + core.client_lb.draw(&mut self.rng) + u.presign_cpu;
                t += round_trip.as_secs_f64();
                valid_until = t + expiry_s;
                puts.url_refreshes += 1;
                continue;
            }
            let this = part.min(left);
            let transfer = u.s3_first_byte.draw(&mut self.rng).as_secs_f64() + this / rate;
            if u.drops_per_s > 0.0 {
                let e: f64 = Exp1.sample(&mut self.rng);
                let drop_after = e / u.drops_per_s;
                if drop_after < transfer {
                    t += drop_after + RECONNECT_S;
                    puts.connection_drops += 1;
                    puts.dropped_resent_bytes += (drop_after * rate).min(this);
                    sent += (drop_after * rate).min(this);
                    continue;
                }
            }
            t += transfer;
            sent += this;
            left -= this;
        }
        S3Puts { took: SimDuration::from_secs_f64(t), ..puts }
    }

    /// The client has its answer: count completed uploads and reads.
    pub fn on_answered(&mut self, core: &Core, req: ReqId, now: SimTime) {
        let r = &core.requests[req];
        if let Some(puts) = self.in_flight.remove(&req)
            && !r.timed_out
        {
            self.s3_puts.add(&puts);
        }
        if r.outcome == Outcome::Ok && !r.timed_out && core.rec.counts(r.sent_at) {
            match r.kind {
                Kind::Upload => {
                    self.times.record(now.since(r.sent_at).0.max(1));
                    if self.spec.store == UploadStore::Presigned {
                        self.files.push(FileRecord { server: NO_SERVER, epoch: 0, counted: true });
                    }
                }
                Kind::ReadFile => self.reads += 1,
                _ => {}
            }
        }
    }

    pub fn report(&self, core: &Core, m: &mut Metrics) {
        let times = self.times.to_hdr();
        m.put(&catalog::UPLOADS_COUNT, self.times.len() as f64);
        m.put(&catalog::UPLOADS_LATENCY_P50, quantile_ms(&times, 0.5));
        m.put(&catalog::UPLOADS_LATENCY_P99, quantile_ms(&times, 0.99));
        m.put(&catalog::UPLOADS_SERVER_MB, self.server_bytes / 1e6);
        m.put(&catalog::UPLOADS_SERVER_WORKER_S, self.server_worker_ns as f64 / 1e9);
        m.put(&catalog::UPLOADS_SERVER_CPU_S, self.server_cpu_ns as f64 / 1e9);
        m.put(&catalog::UPLOADS_S3_SLOWDOWNS, self.slowdowns as f64);
        let p = &self.s3_puts;
        m.put(&catalog::UPLOADS_URL_REFRESHES, p.url_refreshes as f64);
        let finished = self.times.len() + p.expired;
        m.put(&catalog::UPLOADS_URL_EXPIRED_SHARE, if finished == 0 { 0.0 } else { p.expired as f64 / finished as f64 });
        m.put(&catalog::UPLOADS_CONNECTION_DROPS, p.connection_drops as f64);
        m.put(&catalog::UPLOADS_DROPPED_RESENT_MB, p.dropped_resent_bytes / 1e6);
        m.put(&catalog::UPLOADS_EXPIRED_WASTED_MB, p.expired_wasted_bytes / 1e6);
        m.put(&catalog::UPLOADS_INTERRUPTED, self.cut_off as f64);
        m.put(&catalog::UPLOADS_INTERRUPTED_RESENT_MB, self.interrupted_bytes / 1e6);
        m.put(&catalog::READS_OK, self.reads as f64);
        m.put(&catalog::READS_NOT_FOUND, self.not_found as f64);
        let reads = self.reads + self.not_found;
        m.put(&catalog::READS_NOT_FOUND_SHARE, if reads == 0 { 0.0 } else { self.not_found as f64 / reads as f64 });
        let lost = if self.spec.store == UploadStore::LocalDisk {
            self.files.iter().filter(|f| f.counted && core.servers[f.server as usize].epoch != f.epoch).count()
        } else {
            0
        };
        m.put(&catalog::FILES_STORED, self.files.iter().filter(|f| f.counted).count() as f64);
        m.put(&catalog::FILES_LOST, lost as f64);
    }
}
