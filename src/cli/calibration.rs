//! `--calibration FILE`: a file written by `statesim calibrate` (or by hand) whose keys
//! replace the model's costs with those measured on a machine. Each leaf key becomes a
//! `--set KEY=VALUE` placed before the command line's own, so it is located and checked
//! like any override, shows in the run's record of its inputs, and a `--set` still wins.

use std::path::Path;

/// The file's keys as `KEY=VALUE` overrides, or a message (exit 2).
pub fn calibration_sets(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read calibration file {}: {e}", path.display()))?;
    let table: toml::Table = text.parse().map_err(|e| format!("{}: not a calibration file: {e}", path.display()))?;
    let mut sets = Vec::new();
    flatten("", &table, &mut sets);
    if sets.is_empty() {
        return Err(format!("{}: the calibration file sets no key; write it with `statesim calibrate`", path.display()));
    }
    Ok(sets)
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            other => out.push(format!("{key}={other}")),
        }
    }
}

/// Puts the calibration's overrides before `sets`; prints the problem and returns 2 on error.
pub fn apply(calibration: &Option<std::path::PathBuf>, sets: &mut Vec<String>) -> Result<(), u8> {
    let Some(path) = calibration else { return Ok(()) };
    match calibration_sets(path) {
        Ok(mut c) => {
            c.append(sets);
            *sets = c;
            Ok(())
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_become_overrides_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[jwt.hs256]\nverify = \"1.71us\"\nsign = \"1.6us\"\n[redis]\nround_trip = \"4us\"\n").unwrap();
        let sets = calibration_sets(&f).unwrap();
        assert_eq!(sets, ["jwt.hs256.verify=\"1.71us\"", "jwt.hs256.sign=\"1.6us\"", "redis.round_trip=\"4us\""]);
        std::fs::write(&f, "# nothing\n").unwrap();
        assert!(calibration_sets(&f).unwrap_err().contains("sets no key"));
        std::fs::write(&f, "= =").unwrap();
        assert!(calibration_sets(&f).unwrap_err().contains("not a calibration file"));
    }
}
