//! Loading a model file: TOML text -> spanned tree -> overrides and variants merged ->
//! serde -> [`resolve`]. Every problem keeps the byte span of the text that caused it, so
//! messages can name file, line and column even for keys set by a variant or by `--set`.

use super::budget::{self, Budget};
use super::diag::{ModelErrors, Problem, explain_serde_message, nearest};
use super::model::{System, resolve};
use super::raw::{RawModel, SCHEMA_VERSION};
use super::takeaway::{self, Takeaway};
use serde::Deserialize;
use serde::de::IntoDeserializer;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A validated model: its variants, each a complete [`System`].
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub title: String,
    /// What the model is about: its `story` key, or else the comment block that opens
    /// its file.
    pub story: String,
    /// The file it came from, as given.
    pub source: String,
    /// The file's text as read, then each `--set` override as a closing comment line:
    /// what reproduces the run.
    pub text: String,
    /// What a reader should take away, written in the file (see [`super::takeaway`]).
    pub takeaway: Option<Takeaway>,
    pub variants: Vec<Variant>,
    /// Things worth saying that do not stop a run (an overloaded system, say).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub system: System,
    /// SHA-256 of the resolved system, short hex: equal hashes mean equal inputs.
    pub hash: String,
}

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Invalid(#[from] ModelErrors),
}

/// Reads and validates a model file. `sets` are `KEY=VALUE` overrides applied to the file
/// before its variants (a key under `variants.NAME.` overrides one variant).
pub fn load_file(path: &Path, sets: &[String]) -> Result<Model, LoadError> {
    load_file_with(path, sets, &Budget::DEFAULT)
}

/// [`load_file`] with a budget other than the default.
pub fn load_file_with(path: &Path, sets: &[String], budget: &Budget) -> Result<Model, LoadError> {
    let text = read_model_text(path)?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    Ok(load_str_with(&path.display().to_string(), &stem, &text, sets, budget)?)
}

/// The text of a model file; text that is not UTF-8 is a problem located at its first
/// bad byte.
pub fn read_model_text(path: &Path) -> Result<String, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io { path: path.display().to_string(), source })?;
    Ok(model_text(&path.display().to_string(), bytes)?)
}

/// The bytes of a model file (named `file` in messages) as text; bytes that are not UTF-8
/// are a problem located at the first bad one.
pub fn model_text(file: &str, bytes: Vec<u8>) -> Result<String, ModelErrors> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bad = e.as_bytes()[at];
        let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
        ModelErrors {
            file: file.to_string(),
            text,
            sets: Vec::new(),
            problems: vec![Problem::at_span(
                Some(at..at + 1),
                format!("the file is not valid UTF-8: byte 0x{bad:02X} here"),
                Some("model files are UTF-8 text; save the file as UTF-8".into()),
            )],
        }
    })
}

/// Validates model text. `file` names it in messages; `default_name` is used when the
/// model has no `name`.
pub fn load_str(file: &str, default_name: &str, text: &str, sets: &[String]) -> Result<Model, ModelErrors> {
    load_str_with(file, default_name, text, sets, &Budget::DEFAULT)
}

/// [`load_str`] with a budget other than the default: each variant's estimated cost per
/// run (see [`budget`]) must fit it.
pub fn load_str_with(file: &str, default_name: &str, text: &str, sets: &[String], budget: &Budget) -> Result<Model, ModelErrors> {
    let fail = |problems: Vec<Problem>| ModelErrors { file: file.to_string(), text: text.to_string(), sets: sets.to_vec(), problems };

    if text.trim().is_empty() {
        return Err(fail(vec![Problem::at_span(
            None,
            "the model file is empty".into(),
            Some("a model starts with `schema_version = 1`; `statesim list` shows the bundled models to copy from".into()),
        )]));
    }
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return Err(fail(
            syntax
                .iter()
                .map(|e| {
                    if e.span().is_none() && e.message().contains("recursion") {
                        return too_deep(text);
                    }
                    Problem::at_span(
                        e.span(),
                        format!("this is not valid TOML: {}", e.message().trim_end()),
                        Some("see https://toml.io for the syntax; strings need quotes, e.g. policy = \"round-robin\"".into()),
                    )
                })
                .collect(),
        ));
    }
    let root_span = root.span();
    let mut root = root.into_inner();

    // The format version first: nothing else can be trusted without it.
    match root.get("schema_version").map(|v| (v.span(), v.get_ref())) {
        None => {
            return Err(fail(vec![
                Problem::at_path(
                    "schema_version",
                    "the model has no schema_version".into(),
                    Some(format!("add `schema_version = {SCHEMA_VERSION}` as the first line")),
                )
                .with_span(Some(0..0)),
            ]));
        }
        Some((span, DeValue::Integer(i))) => match i.as_str().parse::<i64>() {
            Ok(v) if v == SCHEMA_VERSION => {}
            Ok(v) if v > SCHEMA_VERSION => {
                return Err(fail(vec![
                    Problem::at_path(
                        "schema_version",
                        format!("schema_version {v} is newer than this statesim reads"),
                        Some(format!(
                            "this statesim {} reads schema_version = {SCHEMA_VERSION}; upgrade statesim or rewrite the model",
                            env!("CARGO_PKG_VERSION")
                        )),
                    )
                    .with_span(Some(span)),
                ]));
            }
            _ => {
                return Err(fail(vec![
                    Problem::at_path(
                        "schema_version",
                        format!("schema_version {} is not a version", i.as_str()),
                        Some(format!("write schema_version = {SCHEMA_VERSION}")),
                    )
                    .with_span(Some(span)),
                ]));
            }
        },
        Some((span, _)) => {
            return Err(fail(vec![
                Problem::at_path("schema_version", "schema_version must be a whole number".into(), Some(format!("write schema_version = {SCHEMA_VERSION}")))
                    .with_span(Some(span)),
            ]));
        }
    }

    // Command-line overrides, with spans placed past the end of the file. They may not
    // change the format version, nor create a variant (a typo in its name would).
    let mut problems = Vec::new();
    let file_variants: Vec<String> = match root.get("variants").map(|v| v.get_ref()) {
        Some(DeValue::Table(t)) => t.iter().map(|(k, _)| k.get_ref().to_string()).collect(),
        _ => Vec::new(),
    };
    for (k, set) in sets.iter().enumerate() {
        let offset = ModelErrors::set_offset(text.len(), sets, k);
        if let Err(p) = check_set_key(set, offset, &file_variants) {
            problems.push(p);
            continue;
        }
        if let Err(p) = apply_set(&mut root, set, offset) {
            problems.push(p);
        }
    }
    if !problems.is_empty() {
        return Err(fail(problems));
    }

    // Variants are overrides of the base; take them out before reading the base.
    let mut variant_tables: Vec<(String, Range<usize>, DeTable)> = Vec::new();
    let mut fixed_keys: Vec<Problem> = Vec::new();
    if let Some(v) = root.remove("variants") {
        let span = v.span();
        match v.into_inner() {
            DeValue::Table(t) => {
                for (name, value) in t {
                    let vspan = value.span();
                    match value.into_inner() {
                        DeValue::Table(mut over) => {
                            // Reported with the other problems; taken out so the rest of
                            // the variant is still read.
                            for key in ["schema_version", "name"] {
                                if let Some(v) = over.remove(key) {
                                    fixed_keys.push(
                                        Problem::at_path(
                                            &format!("variants.{}.{key}", name.get_ref()),
                                            format!("a variant cannot change the model's {key}"),
                                            Some(format!("remove it from the variant; {key} belongs at the top of the file")),
                                        )
                                        .with_span(Some(v.span())),
                                    );
                                }
                            }
                            variant_tables.push((name.get_ref().to_string(), vspan, over))
                        }
                        _ => problems.push(
                            Problem::at_path(
                                &format!("variants.{}", name.get_ref()),
                                "a variant must be a table of overrides".into(),
                                Some("write [variants.NAME] followed by the keys it changes, e.g. load_balancer.policy = \"ip-hash\"".into()),
                            )
                            .with_span(Some(vspan)),
                        ),
                    }
                }
            }
            _ => problems
                .push(Problem::at_path("variants", "variants must be a table".into(), Some("write [variants.NAME] sections".into())).with_span(Some(span))),
        }
    }
    if !problems.is_empty() {
        return Err(fail(problems));
    }

    let base_raw = deserialize_collecting(&root, root_span.clone()).map_err(|ps| fail(fixed_keys.iter().cloned().chain(ps).collect()))?;
    problems.extend(fixed_keys);
    // The name becomes a folder under --out.
    let name = base_raw.name.clone().unwrap_or_else(|| default_name.to_string());
    if let Err(why) = check_name(&name) {
        let p = match &base_raw.name {
            Some(_) => Problem::at_path("name", format!("the model name {why}"), Some(NAME_HELP.into())).with_span(root.get("name").map(|v| v.span())),
            None => Problem::at_span(
                Some(0..0),
                format!("the model takes its name from the file name, and that name {why}"),
                Some(format!("add a `name`: {NAME_HELP}")),
            ),
        };
        problems.push(p);
    }

    let mut variants = Vec::new();
    if variant_tables.is_empty() {
        let base_system = resolve(&base_raw)
            .and_then(|s| within_budget(s, budget))
            .map_err(|ps| fail(problems.iter().cloned().chain(ps.into_iter().map(|p| locate(p, &root, None))).collect()))?;
        variants.push(Variant { name: "base".into(), hash: hash_system(&base_system), system: base_system });
    }
    // With variants, the base need not be complete on its own: each variant is resolved,
    // and a problem every variant shares (a base key, say) is reported once.
    let mut per_variant: Vec<(String, Vec<Problem>)> = Vec::new();
    for (name, _span, over) in &variant_tables {
        let mut merged = root.clone();
        merge(&mut merged, over.clone());
        let result =
            deserialize_collecting(&merged, root_span.clone()).map_err(|ps| ps.into_iter().map(|p| in_variant(p, name, over)).collect()).and_then(|raw| {
                resolve(&raw).and_then(|s| within_budget(s, budget)).map_err(|ps| ps.into_iter().map(|p| locate(p, &merged, Some((name, over)))).collect())
            });
        match result {
            Ok(system) => variants.push(Variant { name: name.clone(), hash: hash_system(&system), system }),
            Err(ps) => per_variant.push((name.clone(), ps)),
        }
    }
    let n_variants = variant_tables.len();
    let mut seen: Vec<Problem> = Vec::new();
    for (name, ps) in &per_variant {
        for p in ps {
            if seen.contains(p) {
                continue;
            }
            seen.push(p.clone());
            let shared_by_all = per_variant.len() == n_variants && per_variant.iter().all(|(_, other)| other.contains(p));
            let mut p = p.clone();
            let in_override = p.path.as_deref().is_some_and(|k| k.starts_with("variants."));
            if !shared_by_all && !in_override {
                p.message = format!("{} (in variant \"{name}\")", p.message);
            }
            problems.push(p);
        }
    }
    if !problems.is_empty() {
        return Err(fail(problems));
    }

    let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
    let takeaway = takeaway::read(&root, text, base_raw.takeaway.as_deref(), &base_raw.takeaway_checks, &names).map_err(fail)?;
    let mut warnings = Vec::new();
    for v in &variants {
        let rho = v.system.offered_load();
        if rho >= 1.0 {
            warnings.push(format!(
                "variant \"{}\": the offered load is {:.0}% of server capacity; queues will grow until requests are refused or time out",
                v.name,
                rho * 100.0
            ));
        }
    }
    Ok(Model {
        title: base_raw.title.clone().unwrap_or_else(|| name.clone()),
        story: base_raw.story.as_deref().map(str::trim).filter(|s| !s.is_empty()).map_or_else(|| opening_comments(text), str::to_string),
        name,
        source: file.to_string(),
        text: format!(
            "{text}{}{}",
            if sets.is_empty() || text.ends_with('\n') { "" } else { "\n" },
            sets.iter().map(|s| format!("# run with --set {s}\n")).collect::<String>()
        ),
        takeaway,
        variants,
        warnings,
    })
}

impl Problem {
    pub(super) fn with_span(mut self, span: Option<Range<usize>>) -> Problem {
        self.span = span;
        self
    }
}

/// The longest model name: it names an output folder.
pub const MAX_NAME_LEN: usize = 64;
const NAME_HELP: &str = "a name is 1 to 64 characters: ASCII letters, digits, '-', '_' and '.', starting with a letter or digit (it names the output folder)";

/// A model's name becomes a folder under `--out`: it must be one safe path component.
/// The comment block that opens a model file, without the `#` marks; blank comment lines
/// separate paragraphs.
fn opening_comments(text: &str) -> String {
    text.lines()
        .take_while(|l| l.trim_start().starts_with('#'))
        .map(|l| {
            let body = l.trim_start().trim_start_matches('#');
            body.strip_prefix(' ').unwrap_or(body).to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn check_name(name: &str) -> Result<(), String> {
    let shown: String = name.chars().take(40).flat_map(char::escape_debug).collect();
    let shown = if name.chars().count() > 40 { format!("\"{shown}...\"") } else { format!("\"{shown}\"") };
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("{shown} is {} bytes long", name.len()));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(format!("{shown} contains {:?}", c));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!("{shown} does not start with a letter or digit"));
    }
    Ok(())
}

fn within_budget(s: System, budget: &Budget) -> Result<System, Vec<Problem>> {
    let problems = budget::check(&s, budget);
    if problems.is_empty() { Ok(s) } else { Err(problems) }
}

/// A structural problem found while reading a variant keeps the variant's prefix when the
/// key is the variant's own.
fn in_variant(mut p: Problem, name: &str, over: &DeTable) -> Problem {
    if let Some(path) = &p.path
        && has_path(over, &parse_path(path))
    {
        p.path = Some(format!("variants.{name}.{path}"));
    }
    p
}

/// `--set` may not change the format version or name a variant the file does not have.
fn check_set_key(set: &str, offset: usize, variants: &[String]) -> Result<(), Problem> {
    let key = set.split_once('=').map_or(set, |(k, _)| k);
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    let span = Some(offset..offset + key.len());
    if parts == ["schema_version"] || (parts.len() == 3 && parts[0] == "variants" && parts[2] == "schema_version") {
        return Err(Problem::at_span(
            span,
            format!("--set {set}: schema_version is the file's format and cannot be overridden"),
            Some(format!("remove this --set; this statesim reads schema_version = {SCHEMA_VERSION}")),
        ));
    }
    if parts.first() == Some(&"variants") {
        let Some(name) = parts.get(1).filter(|n| !n.is_empty()) else { return Ok(()) };
        if !variants.iter().any(|v| v == name) {
            let help = if variants.is_empty() {
                "this model has no variants; --set KEY=VALUE without `variants.` changes the model itself".to_string()
            } else {
                let list = variants.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ");
                match nearest(name, variants.iter().map(String::as_str)) {
                    Some(best) => format!("did you mean \"{best}\"? the variants are {list}"),
                    None => format!("the variants are {list}"),
                }
            };
            return Err(Problem::at_span(span, format!("--set {set}: there is no variant called \"{name}\""), Some(help)));
        }
    }
    Ok(())
}

/// The TOML parser gives up on very deep keys without saying where: the line whose dotted
/// key or table header is deepest is the likely place.
fn too_deep(text: &str) -> Problem {
    let depth = |line: &str| {
        let l = line.trim_start();
        let key = if l.starts_with('[') { l } else { l.split('=').next().unwrap_or("") };
        key.chars().filter(|&c| c == '.').count()
    };
    let mut offset = 0;
    let mut best = (0, 0..0);
    for line in text.split_inclusive('\n') {
        let d = depth(line);
        if d > best.0 {
            best = (d, offset..offset + line.trim_end().len());
        }
        offset += line.len();
    }
    Problem::at_span(
        Some(best.1),
        format!("this key is nested too deeply to read ({} levels)", best.0 + 1),
        Some("model keys are a few levels deep, e.g. load_balancer.health_check.interval; see `statesim schema`".into()),
    )
}

/// Deserializes, and on an error removes the offending key and tries again, so one
/// pass reports every structural problem rather than only the first.
fn deserialize_collecting(table: &DeTable, span: Range<usize>) -> Result<RawModel, Vec<Problem>> {
    let mut t = table.clone();
    let mut problems: Vec<Problem> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..32 {
        let de = Spanned::new(span.clone(), t.clone()).into_deserializer();
        match RawModel::deserialize(de) {
            Ok(raw) if problems.is_empty() => return Ok(raw),
            Ok(_) => break,
            Err(e) => {
                let (mut message, mut help) = explain_serde_message(e.message());
                let path = e.span().and_then(|s| path_at_span(&t, &s));
                if message.starts_with("wanted string or table") {
                    // A name of the wrong type (`policy = 5`): ask serde for the valid names.
                    let names = path.as_ref().zip(e.span()).and_then(|((_, segs), s)| valid_names_at(&t, segs, s, span.clone()));
                    message = match &names {
                        Some(_) => "wrong type: expected one of the names below, in quotes".into(),
                        None => "wrong type: expected a string or a table".into(),
                    };
                    help = names.or(help);
                }
                // A key missing only because an earlier problem's key was taken out is
                // not a problem of its own.
                let consequence =
                    message.starts_with("the required key") && path.as_ref().is_some_and(|(p, _)| removed.iter().any(|r| r.starts_with(p.as_str())));
                if consequence {
                    break;
                }
                if let Some((p, _)) = &path {
                    removed.push(p.clone());
                }
                problems.push(Problem { path: path.as_ref().map(|(p, _)| p.clone()), span: e.span(), message, help });
                match path {
                    Some((_, segs)) if remove_at(&mut t, &segs) => {}
                    _ => break,
                }
            }
        }
    }
    Err(problems)
}

/// The names valid at `segs`, found by putting a name no enum has there and reading
/// serde's "unknown variant" message; `None` if the value there is not a name.
fn valid_names_at(table: &DeTable, segs: &[Seg], value_span: Range<usize>, span: Range<usize>) -> Option<String> {
    const PROBE: &str = "\u{1}";
    let mut t = table.clone();
    let mut v = DeValue::Table(std::mem::take(&mut t));
    let mut cur = &mut v;
    for seg in segs {
        cur = match (cur, seg) {
            (DeValue::Table(tb), Seg::Key(k)) => tb.get_mut(k.as_str())?.get_mut(),
            (DeValue::Array(a), Seg::Index(i)) => a.get_mut(*i)?.get_mut(),
            _ => return None,
        };
    }
    *cur = DeValue::String(Cow::Borrowed(PROBE));
    let DeValue::Table(t) = v else { return None };
    let e = RawModel::deserialize(Spanned::new(span, t).into_deserializer()).err()?;
    if e.span() != Some(value_span) || !e.message().starts_with(&format!("unknown variant `{PROBE}`")) {
        return None;
    }
    explain_serde_message(e.message()).1
}

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn render_path(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn parse_path(path: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            segs.push(Seg::Key(rest[..open].to_string()));
            rest = &rest[open..];
            while let Some(close) = rest.find(']') {
                if let Ok(i) = rest[1..close].parse() {
                    segs.push(Seg::Index(i));
                }
                rest = &rest[close + 1..];
            }
        } else {
            segs.push(Seg::Key(rest.to_string()));
        }
    }
    segs
}

/// The deepest key whose key or value contains `span`, as a path. Table headers do not
/// span their bodies, so this searches the whole tree rather than descending by span.
fn path_at_span(table: &DeTable, span: &Range<usize>) -> Option<(String, Vec<Seg>)> {
    fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
        outer.start <= inner.start && inner.end <= outer.end
    }
    /// A child of a TOML value: its path segment, its key's span, and the value.
    type Child<'v, 'i> = (Seg, Option<Range<usize>>, &'v Spanned<DeValue<'i>>);
    fn walk(v: &DeValue, span: &Range<usize>, segs: &mut Vec<Seg>, best: &mut Option<Vec<Seg>>) {
        let children: Vec<Child> = match v {
            DeValue::Table(t) => t.iter().map(|(k, val)| (Seg::Key(k.get_ref().to_string()), Some(k.span()), val)).collect(),
            DeValue::Array(a) => a.iter().enumerate().map(|(i, val)| (Seg::Index(i), None, val)).collect(),
            _ => return,
        };
        for (seg, kspan, val) in children {
            segs.push(seg);
            let hit = contains(&val.span(), span) || kspan.is_some_and(|k| contains(&k, span));
            if hit && best.as_ref().is_none_or(|b| b.len() < segs.len()) {
                *best = Some(segs.clone());
            }
            walk(val.get_ref(), span, segs, best);
            segs.pop();
        }
    }
    let mut best = None;
    walk(&DeValue::Table(table.clone()), span, &mut Vec::new(), &mut best);
    best.map(|segs| (render_path(&segs), segs))
}

fn remove_at<'i>(table: &mut DeTable<'i>, segs: &[Seg]) -> bool {
    fn rec<'i>(v: &mut DeValue<'i>, segs: &[Seg]) -> bool {
        match (v, segs) {
            (DeValue::Table(t), [Seg::Key(k)]) => t.remove(k.as_str()).is_some(),
            (DeValue::Array(a), [Seg::Index(i)]) if *i < a.len() => {
                *a = std::mem::replace(a, toml::de::DeArray::new()).into_iter().enumerate().filter(|(j, _)| j != i).map(|(_, v)| v).collect();
                true
            }
            (DeValue::Table(t), [Seg::Key(k), rest @ ..]) => t.get_mut(k.as_str()).is_some_and(|v| rec(v.get_mut(), rest)),
            (DeValue::Array(a), [Seg::Index(i), rest @ ..]) => a.get_mut(*i).is_some_and(|v| rec(v.get_mut(), rest)),
            _ => false,
        }
    }
    let mut v = DeValue::Table(std::mem::take(table));
    let removed = rec(&mut v, segs);
    if let DeValue::Table(t) = v {
        *table = t;
    }
    removed
}

/// The span of the value at `segs`, or of its deepest existing ancestor.
fn span_of(table: &DeTable, segs: &[Seg]) -> Option<Range<usize>> {
    let mut best = None;
    let mut cur = table;
    let mut arr: Option<&[Spanned<DeValue>]> = None;
    for seg in segs {
        let next = match (seg, arr) {
            (Seg::Key(k), None) => cur.get(k.as_str()),
            (Seg::Index(i), Some(a)) => a.get(*i),
            _ => None,
        };
        let Some(v) = next else { break };
        best = Some(v.span());
        arr = None;
        match v.get_ref() {
            DeValue::Table(t) => cur = t,
            DeValue::Array(a) => arr = Some(a),
            _ => {}
        }
    }
    best
}

/// Attaches a span to a problem found by [`resolve`], preferring the variant's own text.
fn locate(mut p: Problem, merged: &DeTable, variant: Option<(&str, &DeTable)>) -> Problem {
    let Some(path) = p.path.clone() else { return p };
    let segs = parse_path(&path);
    if let Some((name, over)) = variant {
        let exact = span_of(over, &segs).filter(|_| has_path(over, &segs));
        if let Some(span) = exact {
            p.span = Some(span);
            p.path = Some(format!("variants.{name}.{path}"));
            return p;
        }
    }
    p.span = span_of(merged, &segs);
    p
}

fn has_path(table: &DeTable, segs: &[Seg]) -> bool {
    match segs.split_first() {
        Some((Seg::Key(k), rest)) => match table.get(k.as_str()).map(|v| v.get_ref()) {
            Some(_) if rest.is_empty() => true,
            Some(DeValue::Table(t)) => has_path(t, rest),
            Some(DeValue::Array(_)) => true,
            _ => false,
        },
        _ => false,
    }
}

/// Overlays `over` on `base`: tables merge key by key, anything else replaces (as does a
/// table naming another `dist` or `kind`: the base's other keys belong to the old one).
fn merge<'a>(base: &mut DeTable<'a>, over: DeTable<'a>) {
    let kind = |t: &DeTable| ["dist", "kind"].iter().find_map(|tag| t.get(*tag)).map(|v| v.get_ref().as_str().map(str::to_owned));
    for (k, v) in over {
        let replace = match (base.get_mut(k.get_ref().as_ref()), v.get_ref()) {
            (Some(existing), DeValue::Table(o)) if matches!(existing.get_ref(), DeValue::Table(b) if kind(o).is_none() || kind(b) == kind(o)) => {
                let DeValue::Table(over_t) = v.into_inner() else { unreachable!() };
                let DeValue::Table(base_t) = existing.get_mut() else { unreachable!() };
                merge(base_t, over_t);
                None
            }
            _ => Some(v),
        };
        if let Some(v) = replace {
            base.insert(k, v);
        }
    }
}

/// Applies `KEY=VALUE` to the tree. VALUE is read as TOML, or as a plain string if it is
/// not TOML (so `--set load_balancer.policy=ip-hash` needs no quotes).
fn apply_set<'a>(root: &mut DeTable<'a>, set: &'a str, offset: usize) -> Result<(), Problem> {
    let bad = |msg: String, help: &str| Problem::at_span(Some(offset..offset + set.len()), msg, Some(help.to_string()));
    let Some((key, raw_value)) = set.split_once('=') else {
        return Err(bad(format!("--set {set} has no '='"), "write --set KEY=VALUE, e.g. --set servers.count=8"));
    };
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|k| k.trim().is_empty()) {
        return Err(bad(format!("--set {set} names no key"), "write --set KEY=VALUE with a dotted key, e.g. --set load_balancer.policy=ip-hash"));
    }
    let value_offset = offset + set.find('=').unwrap() + 1;
    let value = match DeValue::parse(raw_value) {
        Ok(v) => shift(v, value_offset),
        Err(_) => Spanned::new(value_offset..value_offset + raw_value.len(), DeValue::String(Cow::Borrowed(raw_value.trim()))),
    };
    let parts: Vec<&'a str> = key.split('.').map(str::trim).collect();
    let mut cur = root;
    for (i, part) in parts.iter().enumerate() {
        let kspan = offset..offset + key.len();
        if i + 1 == parts.len() {
            cur.insert(Spanned::new(kspan, Cow::Borrowed(*part)), value);
            return Ok(());
        }
        let entry = cur.entry(Spanned::new(kspan.clone(), Cow::Borrowed(*part))).or_insert_with(|| Spanned::new(kspan.clone(), DeValue::Table(DeTable::new())));
        match entry.get_mut() {
            DeValue::Table(t) => cur = t,
            _ => return Err(bad(format!("--set {set}: \"{}\" is not a table", parts[..=i].join(".")), "set a key inside a table, e.g. --set servers.count=8")),
        }
    }
    Ok(())
}

fn shift<'a>(v: Spanned<DeValue<'a>>, offset: usize) -> Spanned<DeValue<'a>> {
    let span = v.span();
    let span = span.start + offset..span.end + offset;
    let inner = match v.into_inner() {
        DeValue::Array(a) => DeValue::Array(a.into_iter().map(|x| shift(x, offset)).collect()),
        DeValue::Table(t) => DeValue::Table(
            t.into_iter()
                .map(|(k, x)| {
                    let ks = k.span();
                    (Spanned::new(ks.start + offset..ks.end + offset, k.into_inner()), shift(x, offset))
                })
                .collect(),
        ),
        other => other,
    };
    Spanned::new(span, inner)
}

fn hash_system(system: &System) -> String {
    let json = serde_json::to_vec(system).expect("a system serializes");
    let digest = Sha256::digest(&json);
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "schema_version = 1\n[clients]\narrival_rate = \"10/s\"\n";

    fn errors(text: &str) -> String {
        load_str("m.toml", "m", text, &[]).unwrap_err().to_string()
    }

    #[test]
    fn a_minimal_model_loads_with_defaults() {
        let m = load_str("m.toml", "m", BASE, &[]).unwrap();
        assert_eq!(m.name, "m");
        assert_eq!(m.variants.len(), 1);
        assert_eq!(m.variants[0].system.servers.count, 4);
    }

    #[test]
    fn variants_override_the_base_and_keep_file_order() {
        let text = format!("{BASE}[variants.zeta]\nservers.count = 2\n[variants.alpha]\nload_balancer.policy = \"ip-hash\"\n");
        let m = load_str("m.toml", "m", &text, &[]).unwrap();
        let names: Vec<_> = m.variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["zeta", "alpha"]);
        assert_eq!(m.variants[0].system.servers.count, 2);
        assert_eq!(m.variants[1].system.servers.count, 4);
        assert_ne!(m.variants[0].hash, m.variants[1].hash);
    }

    #[test]
    fn set_overrides_apply_and_can_target_a_variant() {
        let text = format!("{BASE}[variants.a]\nservers.count = 2\n[variants.b]\n");
        let sets = vec!["servers.cores=8".to_string(), "variants.b.load_balancer.policy=cookie".to_string()];
        let m = load_str("m.toml", "m", &text, &sets).unwrap();
        assert!(m.variants.iter().all(|v| v.system.servers.cores == 8));
        assert_eq!(m.variants[1].system.load_balancer.policy, crate::policies::LbPolicy::Cookie);
    }

    #[test]
    fn every_structural_problem_is_reported_with_its_line() {
        let e = errors("schema_version = 1\n[clients]\narrival_rate = \"10/s\"\nuserz = 5\n[servers]\ncount = \"many\"\n");
        assert!(e.contains("unknown key \"userz\""), "{e}");
        assert!(e.contains("did you mean \"users\""), "{e}");
        assert!(e.contains("m.toml:4:1"), "{e}");
        assert!(e.contains("m.toml:6:9"), "{e}");
        assert!(e.contains("2 problems"), "{e}");
    }

    #[test]
    fn a_problem_in_a_variant_points_into_the_variant() {
        let e = errors(&format!("{BASE}[variants.sticky]\nload_balancer.policy = \"ip-hsh\"\n"));
        assert!(e.contains("m.toml:5:24"), "{e}");
        assert!(e.contains("did you mean \"ip-hash\""), "{e}");
        let e = errors(&format!("{BASE}[variants.dead]\nfaults = [{{ at = \"1m\", kill = \"server-9\" }}]\n"));
        assert!(e.contains("variants.dead.faults[0].kill"), "{e}");
        assert!(e.contains("\"server-1\" to \"server-4\""), "{e}");
    }

    #[test]
    fn a_bad_set_value_points_at_the_command_line() {
        let e = load_str("m.toml", "m", BASE, &["servers.count=lots".into()]).unwrap_err().to_string();
        assert!(e.contains("--> --set servers.count=lots:1:15"), "{e}");
    }
}
