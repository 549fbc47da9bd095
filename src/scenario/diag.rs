//! Problems found in a model file, and how they are shown: one block per problem, with
//! file, line and column, the key path, the offending line, and what would be valid.

use std::fmt;
use std::ops::Range;

/// One thing wrong with a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Dotted key path such as `load_balancer.policy` or `faults[0].kill`.
    pub path: Option<String>,
    /// Byte range in the file (or, past its end, in a `--set` argument).
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn at_path(path: &str, message: String, help: Option<String>) -> Problem {
        Problem { path: Some(path.to_string()), span: None, message, help }
    }
    pub fn at_span(span: Option<Range<usize>>, message: String, help: Option<String>) -> Problem {
        Problem { path: None, span, message, help }
    }
}

/// Longest stretch of a line shown under an error, in characters.
const MAX_SHOWN: usize = 120;

/// Every problem of one model file. Displays like a compiler's errors.
#[derive(Debug, Clone)]
pub struct ModelErrors {
    pub file: String,
    pub text: String,
    /// `--set KEY=VALUE` arguments, which live past the end of `text` in span space.
    pub sets: Vec<String>,
    pub problems: Vec<Problem>,
}

impl std::error::Error for ModelErrors {}

/// Where a span points: a line of the file or of a `--set` argument.
pub struct Location<'a> {
    pub origin: String,
    pub line: usize,
    pub column: usize,
    pub line_text: &'a str,
    pub width: usize,
}

impl ModelErrors {
    /// Offset of `--set` argument `k` in span space.
    pub fn set_offset(text_len: usize, sets: &[String], k: usize) -> usize {
        text_len + 1 + sets[..k].iter().map(|s| s.len() + 1).sum::<usize>()
    }

    pub fn locate(&self, span: &Range<usize>) -> Location<'_> {
        let (origin, source, start) = if span.start <= self.text.len() {
            (self.file.clone(), self.text.as_str(), span.start)
        } else {
            let mut found = (String::from("--set"), "", 0);
            for (k, s) in self.sets.iter().enumerate() {
                let off = Self::set_offset(self.text.len(), &self.sets, k);
                if span.start >= off && span.start <= off + s.len() {
                    found = (format!("--set {s}"), s.as_str(), span.start - off);
                }
            }
            found
        };
        let start = start.min(source.len());
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
        let line = source[..start].matches('\n').count() + 1;
        let column = source[line_start..start].chars().count() + 1;
        let width = (span.end.saturating_sub(span.start)).clamp(1, line_end.saturating_sub(start).max(1));
        Location { origin, line, column, line_text: &source[line_start..line_end], width }
    }
}

impl fmt::Display for ModelErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "error: {}", p.message)?;
            let path = p.path.as_deref().map(|k| format!(" (at {k})")).unwrap_or_default();
            match &p.span {
                Some(span) => {
                    let loc = self.locate(span);
                    writeln!(f, "  --> {}:{}:{}{path}", loc.origin, loc.line, loc.column)?;
                    let num = loc.line.to_string();
                    let pad = " ".repeat(num.len());
                    writeln!(f, "{pad} |")?;
                    // A long line is shown as a window around the column.
                    let chars: Vec<char> = loc.line_text.chars().collect();
                    let col = (loc.column - 1).min(chars.len());
                    let start = if chars.len() > MAX_SHOWN { col.saturating_sub(MAX_SHOWN / 3) } else { 0 };
                    let end = chars.len().min(start + MAX_SHOWN);
                    let shown: String = chars[start..end].iter().collect();
                    let (open, close) = (if start > 0 { "..." } else { "" }, if end < chars.len() { "..." } else { "" });
                    writeln!(f, "{num} | {open}{shown}{close}")?;
                    let before: String = open.chars().chain(chars[start..col].iter().copied()).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                    writeln!(f, "{pad} | {before}{}", "^".repeat(loc.width.min(80).min(end.saturating_sub(col).max(1))))?;
                }
                None => writeln!(f, "  --> {}{path}", self.file)?,
            }
            if let Some(help) = &p.help {
                writeln!(f, "  = help: {help}")?;
            }
        }
        let n = self.problems.len();
        write!(f, "{} problem{} in {}", n, if n == 1 { "" } else { "s" }, self.file)
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates.into_iter().map(|c| (strsim::damerau_levenshtein(word, c), c)).filter(|(d, c)| *d <= 2.max(c.len() / 3)).min_by_key(|(d, _)| *d).map(|(_, c)| c)
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" and "unknown variant"
/// messages into a short message and a help line that suggests the nearest name.
pub fn explain_serde_message(msg: &str) -> (String, Option<String>) {
    for (prefix, what, valid_what) in [("unknown field `", "unknown key", "valid keys here"), ("unknown variant `", "unknown name", "valid names")] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let Some((word, tail)) = rest.split_once('`') else { break };
            let options: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
            if options.is_empty() {
                return (format!("{what} \"{word}\""), Some("nothing is allowed here".into()));
            }
            let list = options.iter().map(|o| format!("\"{o}\"")).collect::<Vec<_>>().join(", ");
            let help = match nearest(word, options.iter().copied()) {
                Some(best) => format!("did you mean \"{best}\"? {valid_what}: {list}"),
                None => format!("{valid_what}: {list}"),
            };
            return (format!("{what} \"{word}\""), Some(help));
        }
    }
    if let Some(field) = msg.strip_prefix("missing field `").and_then(|r| r.split_once('`')).map(|(w, _)| w) {
        return (format!("the required key \"{field}\" is missing"), None);
    }
    if msg.starts_with("invalid type:") {
        return (msg.replace("invalid type: ", "wrong type: found "), None);
    }
    (msg.trim_end().to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key() {
        let (m, h) = explain_serde_message("unknown field `polcy`, expected one of `policy`, `latency`, `retries`");
        assert_eq!(m, "unknown key \"polcy\"");
        assert!(h.unwrap().starts_with("did you mean \"policy\"?"));
        let (_, h) = explain_serde_message("unknown variant `ip-hsh`, expected one of `random`, `ip-hash`");
        assert!(h.unwrap().contains("did you mean \"ip-hash\""));
    }

    #[test]
    fn renders_file_line_and_column() {
        let e = ModelErrors {
            file: "m.toml".into(),
            text: "a = 1\nb = \"x\"\n".into(),
            sets: vec![],
            problems: vec![Problem { path: Some("b".into()), span: Some(10..13), message: "bad".into(), help: Some("fix".into()) }],
        };
        let s = e.to_string();
        assert!(s.contains("--> m.toml:2:5 (at b)"), "{s}");
        assert!(s.contains("2 | b = \"x\""), "{s}");
        assert!(s.contains("= help: fix"), "{s}");
    }
}
