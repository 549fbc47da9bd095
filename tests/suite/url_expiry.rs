//! Pre-signed URLs that expire, on `models/url-expiry.toml` and on small models whose
//! arithmetic is exact. S3 checks a URL when a PUT begins: a 500 MB video at 1 MB/s
//! (500 s) goes through on a 5-minute URL as one PUT, while 16 MB parts (16 s each) begun
//! after 300 s are refused unless the client asks for a fresh URL.

use statesim::metrics::catalog as c;
use statesim::scenario::load_str;
use statesim::sweep::{RunOptions, run_and_summarize};

#[test]
fn url_expiry_claims() {
    let s = crate::shared::bundled("url-expiry");
    let m = |v: &str, k: &str| s.mean(v, k);
    // One PUT over a steady connection: nothing expires, and the videos take their 500 s.
    assert_eq!(m("steady", c::UPLOADS_URL_EXPIRED_SHARE.key), 0.0);
    let p99 = m("steady", c::UPLOADS_LATENCY_P99.key);
    assert!((500_000.0..505_000.0).contains(&p99), "a 500 MB video at 1 MB/s: p99 {p99} ms");
    // 16 MB parts signed once: every video (a fifth of the uploads) fails, no picture does.
    let parts = m("multipart", c::UPLOADS_URL_EXPIRED_SHARE.key);
    assert!((0.17..0.23).contains(&parts), "parts signed once: {parts} of uploads expired");
    // A drop after the 5 minutes fails a single PUT; before them it only costs time.
    let one_put = m("one-put", c::UPLOADS_URL_EXPIRED_SHARE.key);
    assert!(one_put > 0.02 && one_put < parts, "one PUT over a dropping connection: {one_put}");
    // Fresh URLs: nothing fails, and each video needs at least one.
    assert_eq!(m("multipart-fresh-url", c::UPLOADS_URL_EXPIRED_SHARE.key), 0.0);
    assert!(m("multipart-fresh-url", c::UPLOADS_URL_REFRESHES.key) > 0.0);
    // The hour-long URL re-sends whole files, parts re-send at most a part per drop.
    let (fresh_drops, fresh_mb) = (m("multipart-fresh-url", c::UPLOADS_CONNECTION_DROPS.key), m("multipart-fresh-url", c::UPLOADS_DROPPED_RESENT_MB.key));
    assert!(fresh_mb <= 16.0 * fresh_drops, "{fresh_mb} MB again after {fresh_drops} drops of 16 MB parts");
    assert!(m("one-put-1h", c::UPLOADS_DROPPED_RESENT_MB.key) > 5.0 * fresh_mb);
}

/// Only 500 MB videos at 1 MB/s over a steady connection, in 16 MB parts with a 5-minute
/// URL, with `extra` appended to `[uploads]`.
fn videos(extra: &str) -> statesim::metrics::ModelSummary {
    let text = format!(
        "schema_version = 1\n[run]\nduration = \"40m\"\nwarmup = \"1m\"\nreplications = 2\n[clients]\nusers = 20\nthink_time = \"10s\"\ntimeout = \"off\"\n\
         [uploads]\nstore = \"presigned\"\nshare = 1.0\nread_share = 0.0\nsize = \"500MB\"\nclient_bandwidth = \"1MB/s\"\npart_size = \"16MB\"\nurl_expiry = \"5m\"\n{extra}\n"
    );
    let model = load_str("videos.toml", "videos", &text, &[]).unwrap_or_else(|e| panic!("{e}"));
    run_and_summarize(&model, &RunOptions::default(), &|| {}).0
}

/// Part k of a video begins at about 16.04 k s (16 s of sending and a first byte of about
/// 40 ms each): parts 0 to 18 begin within the 300 s, part 19 at about 305 s is refused.
/// So every video fails, each having sent 19 parts of 16 MB (304 MB) in vain; with fresh
/// URLs every video needs exactly one (its second URL lasts to about 605 s, past 500 s).
#[test]
fn parts_begun_after_the_expiry_are_refused() {
    let refused = videos("");
    let v = &refused.variants[0].metrics;
    assert_eq!(v[c::UPLOADS_URL_EXPIRED_SHARE.key].mean, 1.0, "every video expires");
    let expired = v[c::failed(statesim::metrics::FailReason::UrlExpired).key].mean;
    let wasted = v[c::UPLOADS_EXPIRED_WASTED_MB.key].mean;
    assert!(expired > 0.0 && (wasted / expired - 304.0).abs() < 1e-6, "{wasted} MB over {expired} expired uploads");

    let fresh = videos("refresh_expired_url = true");
    let v = &fresh.variants[0].metrics;
    assert_eq!(v[c::UPLOADS_URL_EXPIRED_SHARE.key].mean, 0.0);
    let (count, refreshes) = (v[c::UPLOADS_COUNT.key].mean, v[c::UPLOADS_URL_REFRESHES.key].mean);
    // Both are tallied when the client learns the outcome, so they cover the same videos.
    assert!(count > 0.0 && refreshes == count, "{refreshes} fresh URLs for {count} videos");
}

#[test]
fn bad_expiry_settings_are_named() {
    for (setting, key, hint) in [
        ("part_size = \"1MB\"", "uploads.part_size", "5MB"),
        ("url_expiry = \"0s\"", "uploads.url_expiry", "5m"),
        ("drops_per_hour = -1", "uploads.drops_per_hour", "between 0 and 3600"),
    ] {
        let text = format!("schema_version = 1\n[clients]\narrival_rate = \"10/s\"\n[uploads]\nstore = \"presigned\"\n{setting}\n");
        let shown = load_str("bad.toml", "bad", &text, &[]).expect_err(setting).to_string();
        assert!(shown.contains(key) && shown.contains(hint), "{setting}: {shown}");
    }
}
