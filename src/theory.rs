//! Queueing theory the engine is checked against (service rate `mu` per core).
//!
//! Formulas: Erlang C for M/M/c, Pollaczek-Khinchine for M/D/1, and Poisson splitting for
//! random routing over single-core servers (each server is then an M/M/1 queue). The power
//! of two choices over single-core exponential servers has no closed form at finite n;
//! its figures come from the exact Markov chain, solved numerically ([`two_choices`]).

use crate::policies::Choices;

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

/// Most states the chain of [`two_choices`] may have: 4 servers are cut at 25 requests
/// each, where the chain at rho = 0.8 spends about 1e-9 of its time.
const MAX_STATES: usize = 25_000;

/// The power of two choices over `n` single-core servers with exponential service (rate
/// `mu` each) and Poisson arrivals at `lambda` in all: each arrival joins the one of two
/// servers (drawn as `choices` says) with fewer requests, the first drawn on a tie.
///
/// The figures are exact for the Markov chain of the servers' request counts, solved
/// numerically: servers are interchangeable, so a state is the counts sorted in decreasing
/// order; the chain is cut at `k` requests per server (an arrival that would exceed it is
/// lost), with `k` as large as [`MAX_STATES`] allows, and the result is refused if more
/// than 1e-7 of the time is spent at the cut (W then moves by about 1e-6 from a cut 5
/// higher). Gauss-Seidel sweeps, each followed by an aggregation step (the total count
/// moves by one at a time, a birth-death chain: each total gets the mass that chain gives
/// it, which settles the slow mode), run until no state's probability moves by more than
/// 1e-12 of itself; the solution must then balance accepted arrivals against departures
/// to 1e-9. P(wait) is the chance that the chosen server is busy (PASTA); W = L / lambda
/// (Little), Wq = W - 1/mu.
pub fn two_choices(n: u32, lambda: f64, mu: f64, choices: Choices) -> Result<QueueFigures, String> {
    let n = n as usize;
    if n == 0 || n > 8 || lambda >= n as f64 * mu {
        return Err(format!("no exact solution for the power of two choices over {n} servers at lambda = {lambda}, mu = {mu}"));
    }
    // Cut at k per server: the largest k with C(k + n, n) states within the limit.
    let states_for = |k: usize| (1..=n).fold(1.0, |acc, i| acc * (k + i) as f64 / i as f64);
    let k = (1..=250).take_while(|&k| states_for(k) <= MAX_STATES as f64).last().ok_or("too many servers for the exact chain")?;
    // Every state, as counts in decreasing order packed into a u64 (one byte a server),
    // in increasing order of the packed value, so a state's index is a binary search.
    let pack = |x: &[u8]| x.iter().fold(0u64, |acc, &v| (acc << 8) | v as u64);
    let mut states: Vec<u64> = Vec::new();
    let mut x = vec![0u8; n];
    loop {
        states.push(pack(&x));
        // Next non-increasing tuple in lexicographic order: raise the last entry that can
        // be raised (to at most its left neighbour) and reset everything after it to 0.
        let Some(i) = (0..n).rev().find(|&i| (x[i] as usize) < k && (i == 0 || x[i] < x[i - 1])) else { break };
        x[i] += 1;
        x[i + 1..].fill(0);
    }
    let index = |x: &[u8]| states.binary_search(&pack(x)).expect("a state of the chain");
    let unpack = |mut p: u64| {
        let mut x = vec![0u8; n];
        for v in x.iter_mut().rev() {
            *v = (p & 0xff) as u8;
            p >>= 8;
        }
        x
    };
    // P(the chosen server has at least v requests) when `ge` of n servers have at least v.
    let nf = n as f64;
    let at_least = |ge: usize| -> f64 {
        let g = ge as f64;
        match choices {
            Choices::Independent => (g / nf) * (g / nf),
            Choices::Distinct if n == 1 => g,
            Choices::Distinct => g * (g - 1.0) / (nf * (nf - 1.0)),
        }
    };
    // Transitions into each state (source, rate), and each state's total rate out.
    let m = states.len();
    let mut incoming: Vec<Vec<(u32, f64)>> = vec![Vec::new(); m];
    let mut out = vec![0.0; m];
    let (mut busy_prob, mut cut) = (vec![0.0; m], vec![false; m]);
    // Each state's total count, and its rates of accepted arrivals and of departures.
    let (mut level, mut up, mut down) = (vec![0usize; m], vec![0.0; m], vec![0.0; m]);
    for (i, &p) in states.iter().enumerate() {
        let x = unpack(p);
        let ge = |v: u8| x.iter().filter(|&&c| c >= v).count();
        busy_prob[i] = at_least(ge(1));
        cut[i] = x[0] as usize == k;
        level[i] = x.iter().map(|&v| v as usize).sum();
        let mut y = x.clone();
        let mut j = 0;
        while j < n {
            let v = x[j];
            let first = j;
            while j < n && x[j] == v {
                j += 1;
            }
            // The chosen server has exactly v requests: it is one of x[first..j].
            let joins = lambda * (at_least(ge(v)) - at_least(ge(v + 1)));
            if joins > 0.0 && (v as usize) < k {
                y[first] += 1;
                incoming[index(&y)].push((i as u32, joins));
                y[first] -= 1;
                up[i] += joins;
            }
            if v > 0 {
                let leaves = (j - first) as f64 * mu;
                y[j - 1] -= 1;
                incoming[index(&y)].push((i as u32, leaves));
                y[j - 1] += 1;
                down[i] += leaves;
            }
        }
        out[i] = up[i] + down[i];
    }
    // Gauss-Seidel on pi Q = 0, with aggregation by total count.
    let levels = n * k + 1;
    let mut pi = vec![1.0 / m as f64; m];
    for sweep in 0.. {
        let mut moved = 0.0f64;
        for j in 0..m {
            let inflow: f64 = incoming[j].iter().map(|&(i, r)| pi[i as usize] * r).sum();
            let new = inflow / out[j];
            moved = moved.max((new - pi[j]).abs() / new.max(1e-300));
            pi[j] = new;
        }
        let (mut mass, mut rise, mut fall) = (vec![0.0; levels], vec![0.0; levels], vec![0.0; levels]);
        for i in 0..m {
            mass[level[i]] += pi[i];
            rise[level[i]] += pi[i] * up[i];
            fall[level[i]] += pi[i] * down[i];
        }
        // The birth-death chain of the total: mass(l) mean_fall(l) = mass(l-1) mean_rise(l-1).
        let mut target = vec![1.0; levels];
        for l in 1..levels {
            target[l] =
                if mass[l - 1] > 0.0 && mass[l] > 0.0 && fall[l] > 0.0 { target[l - 1] * (rise[l - 1] / mass[l - 1]) / (fall[l] / mass[l]) } else { 0.0 };
        }
        for i in 0..m {
            if mass[level[i]] > 0.0 {
                pi[i] *= target[level[i]] / mass[level[i]];
            }
        }
        let total: f64 = pi.iter().sum();
        pi.iter_mut().for_each(|p| *p /= total);
        if moved < 1e-12 {
            break;
        }
        if sweep == 100_000 {
            return Err("the exact chain did not converge".into());
        }
    }
    let rate = |r: &[f64]| r.iter().zip(&pi).map(|(r, p)| r * p).sum::<f64>();
    let (accepted, departed) = (rate(&up), rate(&down));
    if (accepted - departed).abs() > 1e-9 * accepted {
        return Err(format!("the exact chain's solution does not balance: {accepted} arrivals and {departed} departures per second"));
    }
    let at_cut: f64 = (0..m).filter(|&i| cut[i]).map(|i| pi[i]).sum();
    if at_cut > 1e-7 {
        return Err(format!("the exact chain spends {at_cut:.1e} of the time at its cut of {k} requests per server"));
    }
    let in_system: f64 = states.iter().zip(&pi).map(|(&p, q)| unpack(p).iter().map(|&v| v as f64).sum::<f64>() * q).sum();
    let p_wait: f64 = busy_prob.iter().zip(&pi).map(|(b, q)| b * q).sum();
    let w = in_system / accepted;
    Ok(QueueFigures { p_wait, wq: w - 1.0 / mu, w, w_p99: None })
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

    /// The exact chain of the power of two choices: one server is M/M/1 (both candidates
    /// are it); at every n, departures balance arrivals; distinct draws wait less than
    /// independent ones, which wait less than random routing and more than one pooled queue.
    #[test]
    fn two_choices_chain() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6 * b;
        for choices in [Choices::Distinct, Choices::Independent] {
            let one = two_choices(1, 0.8, 1.0, choices).unwrap();
            let mm1 = mmc(0.8, 1.0, 1);
            assert!(close(one.w, mm1.w) && close(one.p_wait, mm1.p_wait), "{choices:?}: {one:?}");
        }
        for n in [2, 3, 4] {
            let lambda = 0.8 * n as f64;
            let d = two_choices(n, lambda, 1.0, Choices::Distinct).unwrap();
            let i = two_choices(n, lambda, 1.0, Choices::Independent).unwrap();
            let (random, pooled) = (mmc(0.8, 1.0, 1), mmc(lambda, 1.0, n));
            assert!(pooled.w < d.w && d.w < i.w && i.w < random.w, "n = {n}: pooled {} distinct {} independent {} random {}", pooled.w, d.w, i.w, random.w);
            // A server is busy 80% of the time, whatever the routing; the chosen one less.
            assert!(d.p_wait < i.p_wait && i.p_wait < 0.8, "n = {n}");
        }
    }
}
