//! The models that ship inside the binary, so `statesim run mm1` and `statesim check`
//! work from any directory. The same files live in `models/`.

/// A model file compiled into the binary.
pub struct Bundled {
    pub name: &'static str,
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! bundled {
    ($($name:literal => $path:literal),* $(,)?) => {
        &[$(Bundled { name: $name, path: $path, text: include_str!(concat!("../", $path)) }),*]
    };
}

/// The scenario models: what `statesim run models/` runs.
pub const MODELS: &[Bundled] = bundled! {
    "crash-test" => "models/crash-test.toml",
    "litmus-test" => "models/litmus-test.toml",
    "sticky-hashing" => "models/sticky-hashing.toml",
    "retry-storm" => "models/retry-storm.toml",
    "mega-proxy" => "models/mega-proxy.toml",
    "session-latency" => "models/session-latency.toml",
    "jwt-revocation" => "models/jwt-revocation.toml",
    "shopping-cart" => "models/shopping-cart.toml",
    "state-tier" => "models/state-tier.toml",
    "rate-limits" => "models/rate-limits.toml",
    "long-jobs" => "models/long-jobs.toml",
    "file-uploads" => "models/file-uploads.toml",
    "url-expiry" => "models/url-expiry.toml",
    "websockets" => "models/websockets.toml",
    "long-polling" => "models/long-polling.toml",
    "autoscaling" => "models/autoscaling.toml",
    "load-balancing" => "models/load-balancing.toml",
    "stale-load" => "models/stale-load.toml",
};

/// The queueing-theory models that `statesim check` runs.
pub const THEORY: &[Bundled] = bundled! {
    "mm1" => "models/theory/mm1.toml",
    "mm2" => "models/theory/mm2.toml",
    "mm4-rho80" => "models/theory/mm4-rho80.toml",
    "mm4-rho90" => "models/theory/mm4-rho90.toml",
    "mm8" => "models/theory/mm8.toml",
    "md1" => "models/theory/md1.toml",
    "random-routing" => "models/theory/random-routing.toml",
    "power-of-two" => "models/theory/power-of-two.toml",
    "power-of-two-independent" => "models/theory/power-of-two-independent.toml",
};

pub fn find(name: &str) -> Option<&'static Bundled> {
    MODELS.iter().chain(THEORY).find(|b| b.name == name)
}
