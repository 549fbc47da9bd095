//! `statesim calibrate`: JWT sign and verify with `jsonwebtoken` (aws-lc-rs backend) for
//! the four algorithms, and a Redis round trip and per-command service time, printed
//! beside the model's defaults and written as a calibration file.

use super::procs;
use super::resp::Redis;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use statesim::policies::JwtAlgorithm;
use std::time::Instant;

/// The crypto backend `jsonwebtoken` is built with.
pub const BACKEND: &str = "aws-lc-rs";

pub(super) const RSA: &[u8] = include_bytes!("keys/rsa.pem");
pub(super) const RSA_PUB: &[u8] = include_bytes!("keys/rsa.pub.pem");
pub(super) const EC: &[u8] = include_bytes!("keys/ec.pem");
pub(super) const EC_PUB: &[u8] = include_bytes!("keys/ec.pub.pem");
pub(super) const ED: &[u8] = include_bytes!("keys/ed.pem");
pub(super) const ED_PUB: &[u8] = include_bytes!("keys/ed.pub.pem");
pub(super) const HMAC_SECRET: &[u8] = b"statesim testbed secret, not for production";

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Claims {
    pub sub: String,
    pub exp: u64,
}

/// Signing and verifying keys of an algorithm.
pub(super) fn keys(alg: JwtAlgorithm) -> (Algorithm, EncodingKey, DecodingKey) {
    match alg {
        JwtAlgorithm::HS256 => (Algorithm::HS256, EncodingKey::from_secret(HMAC_SECRET).unwrap(), DecodingKey::from_secret(HMAC_SECRET).unwrap()),
        JwtAlgorithm::RS256 => (Algorithm::RS256, EncodingKey::from_rsa_pem(RSA).unwrap(), DecodingKey::from_rsa_pem(RSA_PUB).unwrap()),
        JwtAlgorithm::ES256 => (Algorithm::ES256, EncodingKey::from_ec_pem(EC).unwrap(), DecodingKey::from_ec_pem(EC_PUB).unwrap()),
        JwtAlgorithm::EdDSA => (Algorithm::EdDSA, EncodingKey::from_ed_pem(ED).unwrap(), DecodingKey::from_ed_pem(ED_PUB).unwrap()),
    }
}

/// Mean seconds per sign and per verify, over enough repetitions to take about 0.3 s each.
fn measure_jwt(alg: JwtAlgorithm) -> (f64, f64) {
    let (a, enc, dec) = keys(alg);
    let claims = Claims { sub: "user-1".into(), exp: 4_000_000_000 };
    let header = Header::new(a);
    let validation = Validation::new(a);
    let time = |f: &mut dyn FnMut()| {
        let mut n = 1u32;
        loop {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            let s = t.elapsed().as_secs_f64();
            if s > 0.3 {
                return s / n as f64;
            }
            n *= 2;
        }
    };
    let token = jsonwebtoken::encode(&header, &claims, &enc).unwrap();
    let sign = time(&mut || {
        std::hint::black_box(jsonwebtoken::encode(&header, &claims, &enc).unwrap());
    });
    let verify = time(&mut || {
        std::hint::black_box(jsonwebtoken::decode::<Claims>(&token, &dec, &validation).unwrap());
    });
    (sign, verify)
}

/// Redis: (GET p50 seconds with one client, server CPU seconds per command).
pub(super) async fn measure_redis(addr: &str) -> std::io::Result<(f64, f64)> {
    let mut r = Redis::connect(addr).await?;
    r.cmd(&[b"SET", b"calibrate:k", b"v"]).await?;
    for _ in 0..2_000 {
        r.cmd(&[b"GET", b"calibrate:k"]).await?;
    }
    let cpu = |info: &str| -> f64 {
        info.lines()
            .filter(|l| l.starts_with("used_cpu_sys_main_thread:") || l.starts_with("used_cpu_user_main_thread:"))
            .filter_map(|l| l.split(':').nth(1)?.trim().parse::<f64>().ok())
            .sum()
    };
    let n = 30_000;
    let before = cpu(&r.text(&[b"INFO", b"cpu"]).await?);
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        r.cmd(&[b"GET", b"calibrate:k"]).await?;
        lat.push(t.elapsed().as_secs_f64());
    }
    let after = cpu(&r.text(&[b"INFO", b"cpu"]).await?);
    r.cmd(&[b"DEL", b"calibrate:k"]).await?;
    lat.sort_by(f64::total_cmp);
    Ok((lat[n / 2], ((after - before) / n as f64).max(1e-7)))
}

fn us(s: f64) -> String {
    let u = s * 1e6;
    if u >= 100.0 {
        format!("{u:.0}us")
    } else if u >= 10.0 {
        format!("{u:.1}us")
    } else {
        format!("{u:.2}us")
    }
}

pub fn calibrate(redis: Option<String>, out: std::path::PathBuf) -> u8 {
    procs::stop_children_on_signals();
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut file = format!(
        "# Costs measured by `statesim calibrate` on this machine (JWT: jsonwebtoken with {BACKEND}).\n# Apply to any model: statesim run MODEL --calibration {}\n",
        out.display()
    );
    eprintln!("measuring JWT sign and verify (jsonwebtoken, backend {BACKEND}) ...");
    for alg in JwtAlgorithm::ALL {
        let (sign, verify) = measure_jwt(alg);
        file.push_str(&format!("\n[jwt.{}]\nverify = \"{}\"\nsign = \"{}\"\n", alg.key(), us(verify), us(sign)));
        rows.push((format!("jwt.{}.verify", alg.key()), us(verify), format!("{}", alg.default_verify())));
        rows.push((format!("jwt.{}.sign", alg.key()), us(sign), format!("{}", alg.default_sign())));
    }
    let mut _own = None;
    let addr = match redis {
        Some(a) => a,
        None => {
            if !procs::have("redis-server") {
                eprintln!("error: no redis-server installed; give --redis HOST:PORT or install it (apt-get install redis-server)");
                return 2;
            }
            match procs::start_redis() {
                Ok((p, a)) => {
                    _own = Some(p);
                    a
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            }
        }
    };
    eprintln!("measuring Redis at {addr} ...");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (p50, service) = match rt.block_on(measure_redis(&addr)) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: redis at {addr}: {e}");
            return 2;
        }
    };
    drop(_own);
    let rtt = (p50 - service).max(1e-6);
    file.push_str(&format!(
        "\n# Redis at {addr}: GET p50 {} with one client = round trip + service.\n[redis]\nround_trip = \"{}\"\nservice = \"{}\"\n",
        us(p50),
        us(rtt),
        us(service)
    ));
    rows.push(("redis GET p50 (one client)".into(), us(p50), "310us".into()));
    rows.push(("redis.round_trip".into(), us(rtt), "300us".into()));
    rows.push(("redis.service".into(), us(service), "10us".into()));
    let mut t = comfy_table::Table::new();
    t.load_preset(if crate::cli::fancy_terminal() { comfy_table::presets::UTF8_FULL_CONDENSED } else { comfy_table::presets::ASCII_FULL_CONDENSED });
    t.set_header(vec!["cost", "measured here", "model default"]);
    for (k, m, d) in rows {
        t.add_row(vec![k, m, d]);
    }
    println!("JWT backend: jsonwebtoken {BACKEND}\n{t}");
    if let Err(e) = std::fs::write(&out, file) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return 2;
    }
    println!("wrote {} (apply with --calibration {})", out.display(), out.display());
    0
}
