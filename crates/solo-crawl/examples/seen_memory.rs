//! Measures the memory of the frontier's seen set for 10 million URLs
//! (fingerprints are uniform 64-bit hashes, so random ones stand in).
//!
//! ```text
//! cargo run --release -p solo-crawl --example seen_memory [-- N]
//! ```

use solo_crawl::__bench::SeenSet;

fn rss_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let before = rss_kib("VmRSS:");
    let mut seen = SeenSet::default();
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..n {
        seen.insert(rng.u64(..));
    }
    let after = rss_kib("VmRSS:");
    let peak = rss_kib("VmHWM:");
    println!(
        "seen set of {} URLs: {:.0} MiB resident ({:.1} bytes/URL), process peak {:.0} MiB",
        seen.len(),
        (after - before) as f64 / 1024.0,
        (after - before) as f64 * 1024.0 / seen.len().max(1) as f64,
        peak as f64 / 1024.0
    );
    assert!(peak < 1024 * 1024, "well under 1 GiB");
}
