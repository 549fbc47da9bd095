//! The `[jwt]` section: what signing and verifying a token costs, per algorithm. Every
//! algorithm's keys are checked, not only the chosen one's, so a calibration file (which
//! sets all four) is checked whole.

use super::JwtCosts;
use super::checker::Checker;
use crate::engine::SimDuration;
use crate::policies::JwtAlgorithm;
use crate::scenario::raw::{RawJwt, RawJwtCost};

/// Longest cost accepted: a second of CPU per token is a typo, not a measurement.
const MAX_COST: SimDuration = SimDuration(1_000_000_000);

fn raw_cost(raw: &RawJwt, alg: JwtAlgorithm) -> &RawJwtCost {
    match alg {
        JwtAlgorithm::HS256 => &raw.hs256,
        JwtAlgorithm::RS256 => &raw.rs256,
        JwtAlgorithm::ES256 => &raw.es256,
        JwtAlgorithm::EdDSA => &raw.eddsa,
    }
}

/// Checks every `jwt.ALG.verify` and `jwt.ALG.sign` and returns the chosen algorithm's costs.
pub(super) fn resolve_jwt(c: &mut Checker, raw: &RawJwt, chosen: JwtAlgorithm) -> JwtCosts {
    let mut costs = JwtCosts::default_for(chosen);
    for alg in JwtAlgorithm::ALL {
        let r = raw_cost(raw, alg);
        let checked = |c: &mut Checker, what: &str, v: Option<crate::scenario::units::Duration>, default: SimDuration| {
            let Some(d) = v else { return default };
            let path = format!("jwt.{}.{what}", alg.key());
            if d.0.is_zero() {
                c.err(&path, format!("{alg:?} tokens that take 0s to {what}"), format!("use a measured cost such as \"{}\" (the default)", default));
                return default;
            }
            if d.0 > MAX_COST {
                c.err(&path, format!("{} of CPU to {what} one {alg:?} token", d.0), format!("use at most 1s; the default is \"{default}\""));
                return default;
            }
            d.0
        };
        let verify = checked(c, "verify", r.verify, alg.default_verify());
        let sign = checked(c, "sign", r.sign, alg.default_sign());
        if alg == chosen {
            costs.verify = verify;
            costs.sign = sign;
        }
    }
    costs
}

#[cfg(test)]
mod tests {
    use crate::policies::JwtAlgorithm;
    use crate::scenario::load::load_str;

    const BASE: &str = "schema_version = 1\n[clients]\narrival_rate = \"10/s\"\n[sessions]\nstore = \"jwt\"\nalgorithm = \"ES256\"\n";

    #[test]
    fn defaults_are_the_measured_costs_and_keep_the_hash() {
        let plain = load_str("m.toml", "m", BASE, &[]).unwrap();
        let s = &plain.variants[0].system.sessions;
        assert_eq!(s.jwt.verify, JwtAlgorithm::ES256.default_verify());
        assert_eq!(s.jwt.sign, JwtAlgorithm::ES256.default_sign());
        // Setting a key to its default changes nothing, not even the hash.
        let same = load_str("m.toml", "m", &format!("{BASE}[jwt.es256]\nverify = \"77us\"\n"), &[]).unwrap();
        assert_eq!(plain.variants[0].hash, same.variants[0].hash);
    }

    #[test]
    fn a_key_sets_the_chosen_algorithms_cost() {
        let text = format!("{BASE}[jwt.es256]\nverify = \"76.5us\"\nsign = \"30us\"\n[jwt.hs256]\nverify = \"2us\"\n");
        let m = load_str("m.toml", "m", &text, &[]).unwrap();
        let s = &m.variants[0].system.sessions;
        assert_eq!(s.jwt.verify.0, 76_500);
        assert_eq!(s.jwt.sign.0, 30_000);
        let plain = load_str("m.toml", "m", BASE, &[]).unwrap();
        assert_ne!(plain.variants[0].hash, m.variants[0].hash);
    }

    #[test]
    fn bad_values_are_refused_with_their_key() {
        let e = load_str("m.toml", "m", &format!("{BASE}[jwt.rs256]\nverify = \"0s\"\nsign = \"5s\"\n"), &[]).unwrap_err().to_string();
        assert!(e.contains("jwt.rs256.verify"), "{e}");
        assert!(e.contains("take 0s to verify"), "{e}");
        assert!(e.contains("jwt.rs256.sign"), "{e}");
        assert!(e.contains("use at most 1s"), "{e}");
        let e = load_str("m.toml", "m", &format!("{BASE}[jwt.es256]\nverify = 3\n"), &[]).unwrap_err().to_string();
        assert!(e.contains("m.toml:8:10"), "{e}");
        assert!(e.contains("has no unit"), "{e}");
        let e = load_str("m.toml", "m", &format!("{BASE}[jwt.hs512]\nverify = \"1us\"\n"), &[]).unwrap_err().to_string();
        assert!(e.contains("unknown key \"hs512\""), "{e}");
        let e = load_str("m.toml", "m", &format!("{BASE}[jwt.eddsa]\nverfy = \"1us\"\n"), &[]).unwrap_err().to_string();
        assert!(e.contains("did you mean \"verify\""), "{e}");
    }
}
