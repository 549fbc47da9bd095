//! Parameter grids: `--vary KEY=V1,V2,...` lists and `--vary KEY=START..END[:STEP|:*FACTOR]`
//! ranges, expanded into points in a fixed order (the last `--vary` varies fastest).

use std::fmt;

/// One `--vary` axis: a model key and its values as TOML text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

/// Why a `--vary` did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridError(pub String);

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const HELP: &str = "write --vary KEY=V1,V2,... or a range --vary KEY=2..64 (step 1), KEY=2..64:4 (step 4), KEY=2..64:*2 (doubling)";

/// Parses one `--vary` argument.
pub fn parse_axis(arg: &str) -> Result<Axis, GridError> {
    let (key, spec) = arg.split_once('=').ok_or_else(|| GridError(format!("--vary {arg} has no '='; {HELP}")))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(GridError(format!("--vary {arg} names no key; {HELP}")));
    }
    let values = match spec.split_once("..") {
        Some((start, rest)) if start.trim().parse::<f64>().is_ok() => range(start.trim(), rest.trim(), arg)?,
        _ => split_top_level(spec).into_iter().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect(),
    };
    if values.is_empty() {
        return Err(GridError(format!("--vary {arg} has no values; {HELP}")));
    }
    if values.len() > 10_000 {
        return Err(GridError(format!("--vary {arg} has {} values; at most 10,000 per axis", values.len())));
    }
    Ok(Axis { key: key.to_string(), values })
}

/// Splits on commas outside brackets, braces and quotes, so TOML arrays and tables can
/// be values: `[{users=5000,ips=1}],[{users=10000,ips=1}]` is two values.
fn split_top_level(spec: &str) -> Vec<&str> {
    let (mut depth, mut quote, mut start) = (0i32, None, 0);
    let mut out = Vec::new();
    for (i, c) in spec.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    out
}

fn range(start: &str, rest: &str, arg: &str) -> Result<Vec<String>, GridError> {
    let bad = |what: &str| GridError(format!("--vary {arg}: {what}; {HELP}"));
    let (end, step) = match rest.split_once(':') {
        Some((e, s)) => (e.trim(), Some(s.trim())),
        None => (rest, None),
    };
    let integers = !start.contains('.') && !end.contains('.') && step.is_none_or(|s| !s.contains('.'));
    let a: f64 = start.parse().map_err(|_| bad("the start is not a number"))?;
    let b: f64 = end.parse().map_err(|_| bad("the end is not a number"))?;
    if b < a {
        return Err(bad("the end is below the start"));
    }
    let mut out = Vec::new();
    let fmt_num = |x: f64| if integers { format!("{}", x.round() as i64) } else { format!("{x}") };
    match step {
        Some(s) if s.starts_with('*') => {
            let f: f64 = s[1..].parse().map_err(|_| bad("the factor is not a number"))?;
            if f <= 1.0 || a <= 0.0 {
                return Err(bad("a geometric range needs a factor above 1 and a positive start"));
            }
            let mut x = a;
            while x <= b * (1.0 + 1e-12) && out.len() <= 10_000 {
                out.push(fmt_num(x));
                x *= f;
            }
        }
        _ => {
            let d: f64 = step.map_or(Ok(1.0), |s| s.parse().map_err(|_| bad("the step is not a number")))?;
            if d <= 0.0 {
                return Err(bad("the step must be positive"));
            }
            let n = ((b - a) / d + 1e-9).floor() as usize;
            if n > 10_000 {
                return Err(bad("more than 10,000 values"));
            }
            out.extend((0..=n).map(|i| fmt_num(a + i as f64 * d)));
        }
    }
    Ok(out)
}

/// Every point of the grid, each as `KEY=VALUE` overrides, in a fixed order.
pub fn points(axes: &[Axis]) -> Vec<Vec<String>> {
    let mut points = vec![Vec::new()];
    for axis in axes {
        points = points.into_iter().flat_map(|p| axis.values.iter().map(move |v| [p.clone(), vec![format!("{}={}", axis.key, v)]].concat())).collect();
    }
    points
}

/// `--partition K/N`: this share of the points (1-based K).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub k: usize,
    pub n: usize,
}

impl Partition {
    pub const WHOLE: Partition = Partition { k: 1, n: 1 };

    pub fn parse(text: &str) -> Result<Partition, GridError> {
        let help = "write --partition K/N with 1 <= K <= N, e.g. --partition 3/8 (for a job array, K is the task index)";
        let (k, n) = text.split_once('/').ok_or_else(|| GridError(format!("--partition {text}: {help}")))?;
        let k: usize = k.trim().parse().map_err(|_| GridError(format!("--partition {text}: {help}")))?;
        let n: usize = n.trim().parse().map_err(|_| GridError(format!("--partition {text}: {help}")))?;
        if k == 0 || n == 0 || k > n {
            return Err(GridError(format!("--partition {text}: {help}")));
        }
        Ok(Partition { k, n })
    }

    /// Points are dealt round-robin, so every share gets a similar mix.
    pub fn owns(&self, point: usize) -> bool {
        point % self.n == self.k - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(parse_axis("servers.count=2,4,8").unwrap().values, ["2", "4", "8"]);
        assert_eq!(parse_axis("servers.count=2..6").unwrap().values, ["2", "3", "4", "5", "6"]);
        assert_eq!(parse_axis("servers.count=2..10:4").unwrap().values, ["2", "6", "10"]);
        assert_eq!(parse_axis("servers.count=2..64:*2").unwrap().values, ["2", "4", "8", "16", "32", "64"]);
        assert_eq!(parse_axis("clients.timeout=\"1s\",\"30s\"").unwrap().values, ["\"1s\"", "\"30s\""]);
        assert_eq!(parse_axis("clients.proxies=[{users=5,ips=1}],[{users=9,ips=2}]").unwrap().values, ["[{users=5,ips=1}]", "[{users=9,ips=2}]"]);
        assert!(parse_axis("servers.count").is_err());
        assert!(parse_axis("servers.count=8..2").is_err());
    }

    #[test]
    fn grid_order_and_partitions_cover_every_point_once() {
        let axes = [parse_axis("a=1,2").unwrap(), parse_axis("b=x,y,z").unwrap()];
        let p = points(&axes);
        assert_eq!(p.len(), 6);
        assert_eq!(p[1], ["a=1", "b=y"]);
        let n = 4;
        let mut seen = vec![0; p.len()];
        for k in 1..=n {
            let part = Partition { k, n };
            for (i, s) in seen.iter_mut().enumerate() {
                if part.owns(i) {
                    *s += 1;
                }
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
        assert_eq!(Partition::parse("3/8").unwrap(), Partition { k: 3, n: 8 });
        assert!(Partition::parse("0/8").is_err());
        assert!(Partition::parse("9/8").is_err());
    }
}
