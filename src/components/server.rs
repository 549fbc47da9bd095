//! A web server: `cores` requests in service at once, one FIFO queue with a limit.

use super::ReqId;
use crate::engine::SimTime;
use std::collections::VecDeque;

/// Whether a server takes connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    Up,
    /// Killed; refuses connections.
    Down,
    /// Started again, not yet serving; refuses connections.
    Booting,
}

#[derive(Clone, Debug)]
pub struct Server {
    pub state: ServerState,
    /// Bumped on every kill, so completions scheduled before it are recognised as stale.
    pub epoch: u32,
    pub cores: u32,
    pub queue_limit: u64,
    pub queue: VecDeque<ReqId>,
    /// Requests in service with their start times (at most `cores`).
    pub in_service: Vec<(ReqId, SimTime)>,
}

impl Server {
    pub fn new(cores: u32, queue_limit: u64) -> Server {
        Server { state: ServerState::Up, epoch: 0, cores, queue_limit, queue: VecDeque::new(), in_service: Vec::with_capacity(cores as usize) }
    }
    #[inline]
    pub fn has_free_core(&self) -> bool {
        (self.in_service.len() as u32) < self.cores
    }
    #[inline]
    pub fn queue_full(&self) -> bool {
        self.queue.len() as u64 >= self.queue_limit
    }
    /// Removes a finished request from service; returns its start time.
    #[inline]
    pub fn finish(&mut self, req: ReqId) -> Option<SimTime> {
        let i = self.in_service.iter().position(|&(r, _)| r == req)?;
        Some(self.in_service.swap_remove(i).1)
    }
}
