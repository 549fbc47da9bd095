//! Queueing theory the engine is checked against (service rate `mu` per core).
//!
//! Formulas: Erlang C for M/M/c, Pollaczek-Khinchine for M/D/1, and Poisson splitting for
//! random routing over single-core servers (each server is then an M/M/1 queue).

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load
/// `a = lambda / mu` (requires a < c).
///
/// C(c, a) = (a^c / c!) (c / (c - a)) / ( sum_{k<c} a^k / k! + (a^c / c!) (c / (c - a)) )
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    let last = term * c as f64 / (c as f64 - a);
    last / (sum + last)
}

/// Steady-state figures of a queue, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueueFigures {
    /// Probability that a customer waits.
    pub p_wait: f64,
    /// Mean wait in queue Wq.
    pub wq: f64,
    /// Mean time in system W = Wq + 1/mu.
    pub w: f64,
    /// 99th percentile of time in system, where a closed form exists.
    pub w_p99: Option<f64>,
}

/// M/M/c: Wq = C(c, a) / (c mu - lambda). For c = 1 time in system is exponential with
/// rate mu - lambda, so its p99 is ln(100) / (mu - lambda).
pub fn mmc(lambda: f64, mu: f64, c: u32) -> QueueFigures {
    let p_wait = erlang_c(c, lambda / mu);
    let wq = p_wait / (c as f64 * mu - lambda);
    let w_p99 = (c == 1).then(|| 100f64.ln() / (mu - lambda));
    QueueFigures { p_wait, wq, w: wq + 1.0 / mu, w_p99 }
}

/// M/D/1 with service time `d`: P(wait) = rho, Wq = rho d / (2 (1 - rho)).
pub fn md1(lambda: f64, d: f64) -> QueueFigures {
    let rho = lambda * d;
    let wq = rho * d / (2.0 * (1.0 - rho));
    QueueFigures { p_wait: rho, wq, w: wq + d, w_p99: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference values of PRODUCT.md section 5.
    #[test]
    fn reference_numbers() {
        let close = |a: f64, b: f64| (a - b).abs() < 5e-4;
        let m = mmc(0.8, 1.0, 1);
        assert!(close(m.p_wait, 0.8) && close(m.wq, 4.0) && close(m.w, 5.0));
        assert!((m.w_p99.unwrap() - 23.03).abs() < 0.01);
        let m = mmc(3.2, 1.0, 4);
        assert!(close(m.p_wait, 0.5964) && close(m.wq, 0.7455) && close(m.w, 1.7455), "{m:?}");
        let m = mmc(3.6, 1.0, 4);
        assert!(close(m.p_wait, 0.7878) && close(m.wq, 1.9694) && close(m.w, 2.9694), "{m:?}");
        let m = md1(0.8, 1.0);
        assert!(close(m.p_wait, 0.8) && close(m.wq, 2.0) && close(m.w, 3.0));
    }
}
