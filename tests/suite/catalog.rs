//! The metric catalog declares exactly the metrics the bundled models produce: a metric
//! renamed, added or dropped on either side fails here, not silently in a report.

use statesim::metrics::RunResult;
use statesim::metrics::catalog::{self, ServerFigure};
use std::collections::{BTreeMap, BTreeSet};

/// The keys a run reports as the catalog declares them: each per-server key (made from the
/// run's typed servers, never parsed) as its pattern; a stray per-server key stays as it
/// is, undeclared. Checks on the way that the map holds the typed servers' figures.
fn declared_forms(run: &RunResult) -> BTreeSet<String> {
    let per_server: BTreeMap<String, (ServerFigure, f64)> =
        run.servers.iter().flat_map(|s| ServerFigure::ALL.map(|f| (catalog::server_key(&s.name, f), (f, s.get(f))))).collect();
    let mut forms = BTreeSet::new();
    let mut seen = 0;
    for (key, value) in &run.metrics {
        match per_server.get(key) {
            Some((figure, typed)) => {
                assert_eq!(value.to_bits(), typed.to_bits(), "{key}: the map and the typed servers agree");
                seen += 1;
                forms.insert(figure.metric().key.to_string());
            }
            None => {
                forms.insert(key.clone());
            }
        }
    }
    assert_eq!(seen, per_server.len(), "every typed server's figures are in the map");
    forms
}

#[test]
fn the_catalog_declares_exactly_the_metrics_the_bundled_models_produce() {
    // Every variant of every bundled model (the suite's shared runs, replication 0).
    let produced: Vec<(String, BTreeSet<String>)> = statesim::bundled::MODELS
        .iter()
        .flat_map(|b| {
            let ran = crate::shared::first_runs(b.name);
            ran.model
                .variants
                .iter()
                .zip(&ran.runs.variants)
                .map(move |(v, kept)| (format!("{}/{}", b.name, v.name), declared_forms(kept.first.as_ref().expect("replication 0 is kept whole"))))
        })
        .collect();

    let all_produced: BTreeSet<String> = produced.iter().flat_map(|(_, keys)| keys.iter().cloned()).collect();
    let declared: BTreeSet<String> = catalog::all().map(|m| m.key.to_string()).chain(ServerFigure::ALL.iter().map(|f| f.metric().key.to_string())).collect();
    let undeclared: Vec<&String> = all_produced.difference(&declared).collect();
    let never_produced: Vec<&String> = declared.difference(&all_produced).collect();
    assert!(undeclared.is_empty(), "metrics produced but not declared in metrics::catalog: {undeclared:?}");
    assert!(never_produced.is_empty(), "metrics declared in metrics::catalog that no bundled model produces: {never_produced:?}");
    for (name, keys) in &produced {
        assert!(keys.iter().all(|k| catalog::find(k).is_some()), "{name}");
    }
}

#[test]
fn every_distribution_is_complete_where_it_appears() {
    let ran = crate::shared::first_runs("session-latency");
    for (v, kept) in ran.model.variants.iter().zip(&ran.runs.variants) {
        let metrics = &kept.first.as_ref().expect("replication 0 is kept whole").metrics;
        for d in catalog::DISTRIBUTIONS {
            let present = d.members().iter().filter(|m| metrics.contains_key(m.key)).count();
            assert!(present == 0 || present == 6, "{}: {}: {present} of 6 statistics", v.name, d.prefix);
        }
    }
}
