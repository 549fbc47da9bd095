//! A request as the core tracks it, and what a stage decides for it; and the state
//! kept per user when sessions or carts need it.

use super::ReqId;
use crate::engine::{SimDuration, SimTime};
use crate::metrics::FailReason;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    Pending,
    Ok,
    Failed(FailReason),
}

/// What the client asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Page,
    AddToCart,
    /// Log in (or, for JWT, refresh an expired token); `merge` a guest cart at checkout.
    Login {
        merge: bool,
    },
    /// Submit a long job (processed in the request, or queued and answered 202).
    Job,
    /// Upload a file.
    Upload,
    /// Read a file uploaded earlier.
    ReadFile,
}

/// Where a request is in its pipeline on the server. Stages run in this order; a stage
/// with nothing to do for a request passes it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    RateLimit,
    Session,
    Cart,
    Work,
}

/// What a stage decided for a request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// On to the next stage, now.
    Next,
    /// Waiting for an event (a backend's reply, its CPU time); it resumes the stage.
    Wait,
    /// Refused on the server: the worker is freed and the client gets this error.
    Reject(FailReason),
}

#[derive(Clone, Debug)]
pub struct Request {
    pub sent_at: SimTime,
    pub enqueued_at: SimTime,
    /// When the current check (rate limit, then auth) started.
    pub auth_start: SimTime,
    /// A Redis fixed window's count, between INCR and EXPIRE.
    pub limit_count: u32,
    /// CPU time of the long job this request submits.
    pub job_cpu: SimDuration,
    /// Uploads: bytes; reads: which file.
    pub bytes: u64,
    pub file: u32,
    /// Pre-signed transfers: the client's own leg to S3 is done.
    pub s3_leg_done: bool,
    pub service: SimDuration,
    /// CPU spent or to spend on the server besides `service` (token checks, login).
    pub extra_cpu: SimDuration,
    pub user: u32,
    pub ip: u32,
    /// Bitmask of the first 64 servers already tried.
    pub tried: u64,
    pub generation: u32,
    pub server: u16,
    /// The load balancer instance the request reached (0 with one).
    pub lb_instance: u8,
    pub attempts: u8,
    pub kind: Kind,
    /// Index of the current stage in the world's pipeline.
    pub stage: u8,
    /// A stage's progress within itself (which reply it waits for).
    pub step: u8,
    /// The request carries a session or token to check.
    pub authenticated: bool,
    pub live: bool,
    pub timed_out: bool,
    pub outcome: Outcome,
}

pub const NO_SERVER: u16 = u16::MAX;
pub const NO_REQ: ReqId = u32::MAX;

/// What the simulation remembers about one user (only when sessions or carts are on).
#[derive(Clone, Copy, Debug, Default)]
pub struct UserState {
    /// When the session or token the client holds expires (ZERO: none).
    pub token_expires: SimTime,
    /// Server-memory sessions: where the session lives, and that server's epoch then.
    pub session_server: u16,
    pub session_epoch: u16,
    /// Items in the cart as the user believes it.
    pub cart_items: u16,
    pub cart_server: u16,
    pub cart_epoch: u16,
    /// Items of the user's saved cart in the database (from earlier logins).
    pub saved_items: u16,
    /// Guests: requests left in this visit.
    pub visit_left: u16,
    /// Guests: database writes spent on this visit's guest cart.
    pub visit_writes: u16,
    pub active: bool,
    /// Lost a still valid session (state lost) at least once after the warm-up.
    pub lost_session: bool,
    pub gone: bool,
    /// Fired, and no server accepts their session or token any more: the next 401 sends
    /// them away (before that a 401 from one server does not stop them trying).
    pub revoked_everywhere: bool,
}
