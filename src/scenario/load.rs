//! Loading a model file: TOML text -> spanned tree -> overrides and variants merged ->
//! serde -> [`resolve`]. Every problem keeps the byte span of the text that caused it, so
//! messages can name file, line and column even for keys set by a variant or by `--set`.

use super::diag::{ModelErrors, Problem, explain_serde_message};
use super::model::{System, resolve};
use super::raw::{RawModel, SCHEMA_VERSION};
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
    pub story: String,
    /// The file it came from, as given.
    pub source: String,
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
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io { path: path.display().to_string(), source })?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    Ok(load_str(&path.display().to_string(), &stem, &text, sets)?)
}

/// Validates model text. `file` names it in messages; `default_name` is used when the
/// model has no `name`.
pub fn load_str(file: &str, default_name: &str, text: &str, sets: &[String]) -> Result<Model, ModelErrors> {
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

    // Command-line overrides, with spans placed past the end of the file.
    let mut problems = Vec::new();
    for (k, set) in sets.iter().enumerate() {
        let offset = ModelErrors::set_offset(text.len(), sets, k);
        if let Err(p) = apply_set(&mut root, set, offset) {
            problems.push(p);
        }
    }
    if !problems.is_empty() {
        return Err(fail(problems));
    }

    // Variants are overrides of the base; take them out before reading the base.
    let mut variant_tables: Vec<(String, Range<usize>, DeTable)> = Vec::new();
    if let Some(v) = root.remove("variants") {
        let span = v.span();
        match v.into_inner() {
            DeValue::Table(t) => {
                for (name, value) in t {
                    let vspan = value.span();
                    match value.into_inner() {
                        DeValue::Table(over) => variant_tables.push((name.get_ref().to_string(), vspan, over)),
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

    let base_raw = deserialize_collecting(&root, root_span.clone()).map_err(fail)?;

    let mut variants = Vec::new();
    if variant_tables.is_empty() {
        let base_system = resolve(&base_raw).map_err(|ps| fail(ps.into_iter().map(|p| locate(p, &root, None)).collect()))?;
        variants.push(Variant { name: "base".into(), hash: hash_system(&base_system), system: base_system });
    }
    // With variants, the base need not be complete on its own: each variant is resolved,
    // and a problem every variant shares (a base key, say) is reported once.
    let mut per_variant: Vec<(String, Vec<Problem>)> = Vec::new();
    for (name, _span, over) in &variant_tables {
        let mut merged = root.clone();
        merge(&mut merged, over.clone());
        let result = deserialize_collecting(&merged, root_span.clone())
            .and_then(|raw| resolve(&raw).map_err(|ps| ps.into_iter().map(|p| locate(p, &merged, Some((name, over)))).collect()));
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
    let name = base_raw.name.clone().unwrap_or_else(|| default_name.to_string());
    Ok(Model {
        title: base_raw.title.clone().unwrap_or_else(|| name.clone()),
        story: base_raw.story.clone().unwrap_or_default().trim().to_string(),
        name,
        source: file.to_string(),
        variants,
        warnings,
    })
}

impl Problem {
    fn with_span(mut self, span: Option<Range<usize>>) -> Problem {
        self.span = span;
        self
    }
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
                let (message, help) = explain_serde_message(e.message());
                let path = e.span().and_then(|s| path_at_span(&t, &s));
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
    fn walk(v: &DeValue, span: &Range<usize>, segs: &mut Vec<Seg>, best: &mut Option<Vec<Seg>>) {
        let children: Vec<(Seg, Option<Range<usize>>, &Spanned<DeValue>)> = match v {
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

/// Overlays `over` on `base`: tables merge key by key, anything else replaces.
fn merge<'a>(base: &mut DeTable<'a>, over: DeTable<'a>) {
    for (k, v) in over {
        let replace = match (base.get_mut(k.get_ref().as_ref()), v.get_ref()) {
            (Some(existing), DeValue::Table(_)) if matches!(existing.get_ref(), DeValue::Table(_)) => {
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
