//! The state of a web server's process. Its worker pool is a [`super::station::Station`].

/// Whether a server takes connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    Up,
    /// Killed; refuses connections.
    Down,
    /// Started again, not yet serving; refuses connections.
    Booting,
}
