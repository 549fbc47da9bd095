pub mod engine;
pub mod policies;
pub mod scenario;
