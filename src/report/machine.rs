//! What the machine did while something was measured: the CPU time its hypervisor gave
//! to other machines (steal), which slows a timed run without any process showing it.
//! The testbed and the speed benchmark print it beside their timings.

/// The machine's CPU time so far, (all, stolen), in clock ticks, from /proc/stat (None
/// where there is none).
pub fn cpu_clock() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal ...
    Some((fields.iter().take(8).sum(), *fields.get(7)?))
}

/// The share of the CPU time since `from` that the hypervisor gave to other machines.
pub fn stolen_share(from: Option<(u64, u64)>) -> Option<f64> {
    let ((all0, steal0), (all1, steal1)) = (from?, cpu_clock()?);
    (all1 > all0).then(|| (steal1 - steal0) as f64 / (all1 - all0) as f64)
}
