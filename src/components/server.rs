//! The state of a web server's process. Its worker pool is a [`super::station::Station`].

use super::station::Station;
use crate::engine::SimTime;

/// Whether a server takes connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    Up,
    /// Killed; refuses connections.
    Down,
    /// Started again, not yet serving; refuses connections.
    Booting,
}

/// A web server: its process and its worker pool.
pub struct WebServer {
    pub state: ServerState,
    /// Bumped on every kill, so events scheduled before it are recognised as stale.
    pub epoch: u32,
    pub workers: Station,
    pub queue_limit: u64,
    /// CPU time spent since the start, for the autoscaler's measurements.
    pub cpu_total_ns: u128,
    /// Since when it has been up (in service), while it is.
    pub(super) up_since: SimTime,
    /// Time it was up inside the statistics window, before `up_since`.
    pub(super) up_ns: u128,
}

impl WebServer {
    /// Moves the server's process to `state` at `now`, counting the time it was up (in
    /// service) inside the statistics window, which opens at `window_start`.
    pub fn set_state(&mut self, state: ServerState, now: SimTime, window_start: SimTime) {
        if self.state == ServerState::Up && state != ServerState::Up {
            self.up_ns = self.in_service_ns(now, window_start);
        }
        if state == ServerState::Up && self.state != ServerState::Up {
            self.up_since = now;
        }
        self.state = state;
    }

    /// Nanoseconds it was up (in service) inside the statistics window, up to `end`: what
    /// its utilisation and CPU are averaged over (an instance never launched has none).
    pub fn in_service_ns(&self, end: SimTime, window_start: SimTime) -> u128 {
        let from = self.up_since.max(window_start);
        let current = if self.state == ServerState::Up && end > from { (end.0 - from.0) as u128 } else { 0 };
        self.up_ns + current
    }
}
