//! File uploads, on `models/file-uploads.toml` (4 servers, round robin): local-disk files
//! 404 for reads on other servers, about (n-1)/n, and vanish with their server; both S3
//! variants lose nothing; pre-signed uploads use almost no server bandwidth.

use statesim::metrics::catalog as c;

#[test]
fn upload_claims() {
    let s = crate::shared::bundled("file-uploads");
    let m = |v: &str, k: &str| s.mean(v, k);
    let n = 4.0;

    let share = m("local-disk", c::READS_NOT_FOUND_SHARE.key);
    assert!((share - (n - 1.0) / n).abs() < 0.05, "local-disk 404 share {share}");
    assert!(m("local-disk", c::FILES_LOST.key) > 100.0, "the dead server's files are gone");
    for v in ["through-server", "presigned"] {
        assert_eq!(m(v, c::FILES_LOST.key), 0.0, "{v}");
        assert_eq!(m(v, c::READS_NOT_FOUND.key), 0.0, "{v}");
        assert!(m(v, c::FILES_STORED.key) > 1000.0, "{v}");
    }
    assert_eq!(m("presigned", c::UPLOADS_SERVER_MB.key), 0.0);
    assert!(m("through-server", c::UPLOADS_SERVER_MB.key) > 1000.0);
    assert!(m("through-server", c::UPLOADS_SERVER_WORKER_S.key) > 100.0 * m("presigned", c::UPLOADS_SERVER_WORKER_S.key).max(1.0));
    assert!(
        m("through-server", c::PAGE_LATENCY_P99.key) > 2.0 * m("presigned", c::PAGE_LATENCY_P99.key),
        "uploads through the server crowd out ordinary requests"
    );
    // The kill at minute 5 interrupts the uploads streaming into server-2: each had sent
    // at most its file (50 MB at most), and none is interrupted when it goes to S3 direct.
    for v in ["local-disk", "through-server"] {
        let (cut, resent) = (m(v, c::UPLOADS_INTERRUPTED.key), m(v, c::UPLOADS_INTERRUPTED_RESENT_MB.key));
        assert!(cut > 0.0 && resent > 0.0 && resent <= 50.0 * cut, "{v}: {cut} interrupted, {resent} MB");
    }
    assert_eq!(m("presigned", c::UPLOADS_INTERRUPTED.key), 0.0);
    assert_eq!(m("presigned", c::UPLOADS_INTERRUPTED_RESENT_MB.key), 0.0);
    // A 50 MB video at the client's 5 MB/s takes about 10 s whichever way it goes.
    for v in ["local-disk", "through-server", "presigned"] {
        let p99 = m(v, c::UPLOADS_LATENCY_P99.key);
        assert!((9_000.0..12_000.0).contains(&p99), "{v}: upload p99 {p99} ms");
    }
}
