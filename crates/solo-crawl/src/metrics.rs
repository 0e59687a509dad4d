//! Live metrics: the crawl's statistics in Prometheus text format, served
//! at `GET /metrics` by a tiny HTTP server on the crawl's own loop.
//!
//! Owns: the metric names and their rendering from [`Stats`] (the same
//! counters the end-of-crawl [`Summary`](crate::Summary) reads, so the two
//! agree exactly), the busiest hosts' queue depths (refreshed by the
//! engine at most once a second, top [`TOP_HOSTS`] only: bounded
//! cardinality), resident memory, and the server task. Must not: count
//! anything itself, or cost anything when `--metrics` is off.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use solo::net::TcpListener;

use crate::demo_site::{SiteRequest, SiteResponse};
use crate::stats::{Histogram, Stats};

/// Hosts whose queue depth is exported (the busiest ones).
pub(crate) const TOP_HOSTS: usize = 10;

/// Upper bounds of the exported histogram buckets, in seconds.
const BOUNDS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// What the engine knows that [`Stats`] does not: requests in flight and
/// queued, the busiest hosts' queues.
#[derive(Default)]
pub(crate) struct Live {
    /// (in flight, queued), set by the engine's loop.
    pub now: Cell<(usize, usize)>,
    /// (URLs seen, requests left: queued, spilled or parked), set by the
    /// engine's loop, for the statistics SIGUSR1 prints.
    pub frontier: Cell<(u64, u64)>,
    /// The busiest hosts and their queued requests.
    hosts: RefCell<Vec<(String, usize)>>,
    /// When `hosts` was last refreshed.
    hosts_at: Cell<Option<Instant>>,
}

impl Live {
    /// Refreshes the busiest hosts with `top` if a second has passed.
    pub(crate) fn refresh_hosts(&self, now: Instant, top: impl FnOnce() -> Vec<(String, usize)>) {
        if self
            .hosts_at
            .get()
            .is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1))
        {
            return;
        }
        self.hosts_at.set(Some(now));
        self.set_hosts(top());
    }

    /// Sets the busiest hosts.
    pub(crate) fn set_hosts(&self, top: Vec<(String, usize)>) {
        *self.hosts.borrow_mut() = top;
    }
}

/// Binds the metrics address (before the crawl starts: a bad address
/// fails early).
pub(crate) async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    let l = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--metrics {addr}: cannot listen there: {e}"))?;
    if let Ok(a) = l.local_addr() {
        tracing::info!(addr = %a, "serving metrics at http://{a}/metrics");
    }
    Ok(l)
}

/// Serves `GET /metrics` until cancelled.
pub(crate) async fn serve(listener: TcpListener, stats: Rc<RefCell<Stats>>, live: Rc<Live>) {
    crate::demo_site::serve(listener, move |req: SiteRequest| {
        let text = (req.method == "GET" && req.path.split('?').next() == Some("/metrics"))
            .then(|| render(&stats.borrow(), &live));
        async move {
            match text {
                Some(t) => SiteResponse::typed(200, "text/plain; version=0.0.4; charset=utf-8", t),
                None => SiteResponse::typed(404, "text/plain", "only GET /metrics here\n"),
            }
        }
    })
    .await;
}

/// A metric's `# HELP` and `# TYPE` lines.
fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One metric with one value.
fn single(out: &mut String, name: &str, kind: &str, help: &str, v: impl std::fmt::Display) {
    head(out, name, kind, help);
    let _ = writeln!(out, "{name} {v}");
}

/// One metric with one label.
fn labelled<V: std::fmt::Display>(
    out: &mut String,
    (name, kind, help): (&str, &str, &str),
    label: &str,
    values: impl IntoIterator<Item = (String, V)>,
) {
    head(out, name, kind, help);
    for (k, v) in values {
        let k = k
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = writeln!(out, "{name}{{{label}=\"{k}\"}} {v}");
    }
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    head(out, name, "histogram", help);
    for b in BOUNDS {
        let n = h.count_at_most(Duration::from_secs_f64(b));
        let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.total());
    let _ = writeln!(out, "{name}_sum {}", h.sum().as_secs_f64());
    let _ = writeln!(out, "{name}_count {}", h.total());
}

/// The status class of a status code (`2xx`, ...).
fn class(status: u16) -> String {
    format!("{}xx", status / 100)
}

/// The metrics, in Prometheus text format.
pub(crate) fn render(stats: &Stats, live: &Live) -> String {
    let c = &stats.counts;
    let mut out = String::with_capacity(4096);
    let o = &mut out;
    single(
        o,
        "solo_crawl_pages_total",
        "counter",
        "Pages with a record written.",
        c.pages,
    );
    let mut classes: BTreeMap<String, u64> = BTreeMap::new();
    for (s, n) in &c.statuses {
        *classes.entry(class(*s)).or_default() += n;
    }
    let responses = (
        "solo_crawl_responses_total",
        "counter",
        "Responses by status class (final and retried ones).",
    );
    labelled(o, responses, "class", classes);
    single(
        o,
        "solo_crawl_bytes_total",
        "counter",
        "Body bytes received.",
        c.bytes,
    );
    let errors = ("solo_crawl_errors_total", "counter", "Failures by kind.");
    labelled(o, errors, "kind", c.errors.clone());
    single(
        o,
        "solo_crawl_retries_total",
        "counter",
        "Retries scheduled.",
        c.retries,
    );
    single(
        o,
        "solo_crawl_redirects_total",
        "counter",
        "Redirect hops followed.",
        c.redirects,
    );
    let robots = "robots.txt files fetched.";
    single(
        o,
        "solo_crawl_robots_fetched_total",
        "counter",
        robots,
        c.robots_fetched,
    );
    single(
        o,
        "solo_crawl_items_total",
        "counter",
        "Items emitted.",
        c.items,
    );
    let (in_flight, queued) = live.now.get();
    single(
        o,
        "solo_crawl_in_flight",
        "gauge",
        "Requests in flight.",
        in_flight,
    );
    single(
        o,
        "solo_crawl_queued",
        "gauge",
        "Requests queued in memory.",
        queued,
    );
    single(
        o,
        "solo_crawl_left",
        "gauge",
        "Requests left to crawl: in memory and in the --state store (with --redis, the crawl's queue); the summary's queued at the end.",
        live.frontier.get().1,
    );
    let hosts = (
        "solo_crawl_host_queued",
        "gauge",
        "Requests queued for each of the busiest hosts (top 10, refreshed each second).",
    );
    labelled(o, hosts, "host", live.hosts.borrow().clone());
    histogram(
        o,
        "solo_crawl_fetch_latency_seconds",
        "Fetch latency of pages.",
        &stats.latency,
    );
    let lag = "How late a 10 ms timer of the loop fired.";
    histogram(o, "solo_crawl_loop_lag_seconds", lag, &stats.loop_lag);
    let elapsed = stats.elapsed().as_secs_f64();
    single(
        o,
        "solo_crawl_elapsed_seconds",
        "gauge",
        "Time since the crawl started; once it ended, its duration.",
        elapsed,
    );
    if let Some(rss) = rss() {
        single(
            o,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory.",
            rss,
        );
    }
    if let Some(peak) = crate::stats::peak_rss() {
        single(
            o,
            "solo_crawl_peak_rss_bytes",
            "gauge",
            "Peak resident memory.",
            peak,
        );
    }
    out
}

/// Resident set size now (`VmRSS`), where the OS tells it.
fn rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_classes_and_histograms() {
        let mut st = Stats::default();
        st.counts.pages = 3;
        st.status(200);
        st.status(204);
        st.status(503);
        st.error("timeout");
        st.latency.record(Duration::from_millis(3));
        st.latency.record(Duration::from_millis(700));
        let live = Live::default();
        live.now.set((2, 5));
        live.frontier.set((40, 9));
        live.refresh_hosts(Instant::now(), || vec![("a.test:80".into(), 4)]);
        let text = render(&st, &live);
        for line in [
            "solo_crawl_pages_total 3",
            "solo_crawl_responses_total{class=\"2xx\"} 2",
            "solo_crawl_responses_total{class=\"5xx\"} 1",
            "solo_crawl_errors_total{kind=\"timeout\"} 1",
            "solo_crawl_in_flight 2",
            "solo_crawl_queued 5",
            "solo_crawl_left 9",
            "solo_crawl_host_queued{host=\"a.test:80\"} 4",
            "solo_crawl_fetch_latency_seconds_bucket{le=\"0.005\"} 1",
            "solo_crawl_fetch_latency_seconds_bucket{le=\"1\"} 2",
            "solo_crawl_fetch_latency_seconds_bucket{le=\"+Inf\"} 2",
            "solo_crawl_fetch_latency_seconds_count 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
