//! Crawl statistics: counters, latency and loop-lag percentiles, peak
//! memory, the live progress line.
//!
//! Owns: what the engine counts while it runs ([`Stats`]), the snapshot
//! handed back at the end ([`Summary`], printable), the loop-lag ticker
//! (a task that sleeps 10 ms and records how late it wakes) and the
//! progress line (indicatif, only when stderr is a terminal). Must not:
//! influence the crawl; it only observes.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// A log-linear histogram of durations (in microseconds): 16 buckets per
/// power of two, so percentiles are within about 6 %.
#[derive(Clone)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    max: u64,
    /// The samples added up, in microseconds.
    sum: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: vec![0; 64 * 16],
            count: 0,
            max: 0,
            sum: 0,
        }
    }
}

impl Histogram {
    fn index(us: u64) -> usize {
        if us < 16 {
            return us as usize;
        }
        let exp = 63 - us.leading_zeros() as usize; // >= 4
        let sub = ((us >> (exp - 4)) & 15) as usize;
        (exp - 3) * 16 + sub
    }

    fn lower(i: usize) -> u64 {
        if i < 16 {
            return i as u64;
        }
        let exp = i / 16 + 3;
        let sub = (i % 16) as u64;
        (16 + sub) << (exp - 4)
    }

    /// Adds a sample.
    pub fn record(&mut self, d: Duration) {
        let us = d.as_micros().min(u128::from(u64::MAX)) as u64;
        self.buckets[Self::index(us)] += 1;
        self.count += 1;
        self.max = self.max.max(us);
        self.sum = self.sum.saturating_add(us);
    }

    /// Samples recorded.
    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Samples recorded.
    pub fn total(&self) -> u64 {
        self.count
    }

    /// The samples added up.
    pub fn sum(&self) -> Duration {
        Duration::from_micros(self.sum)
    }

    /// Samples surely at most `d` (those of the buckets that end at or
    /// below it: within a bucket's width, about 6 %).
    pub fn count_at_most(&self, d: Duration) -> u64 {
        let us = d.as_micros().min(u128::from(u64::MAX)) as u64;
        self.buckets
            .iter()
            .enumerate()
            .take_while(|&(i, _)| Self::lower(i + 1) <= us.saturating_add(1))
            .map(|(_, n)| n)
            .sum()
    }

    /// The `p`-th percentile (0–100); zero when empty.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let mid = (Self::lower(i) + Self::lower(i + 1)) / 2;
                return Duration::from_micros(mid.min(self.max));
            }
        }
        Duration::from_micros(self.max)
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Histogram(n={}, p50={:?})",
            self.count,
            self.percentile(50.0)
        )
    }
}

/// The counts of a crawl.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counters {
    /// Pages with a record written.
    pub pages: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// Items emitted.
    pub items: u64,
    /// Items through the item pipeline (when there is one).
    pub items_kept: u64,
    /// Items the item pipeline dropped, by reason (`duplicate`,
    /// `missing:FIELD`, ...); its failures are `errors["item_failed"]`.
    pub items_dropped: BTreeMap<String, u64>,
    /// Responses by status (final responses and retried ones, and
    /// robots.txt's).
    pub statuses: BTreeMap<u16, u64>,
    /// Pages by the status of their record (the last attempt's; a
    /// redirect's own record has its 3xx): what the summary's `status`
    /// line shows.
    pub page_statuses: BTreeMap<u16, u64>,
    /// Pages whose record has an error or a 4xx/5xx status: the broken
    /// links of a link check (`--fail-on-broken`).
    pub broken: u64,
    /// Failures by kind (`timeout`, `connect`, `too_large`, ...), of
    /// every try (robots.txt's too).
    pub errors: BTreeMap<String, u64>,
    /// Retries scheduled (robots.txt's too).
    pub retries: u64,
    /// Redirect hops followed.
    pub redirects: u64,
    /// robots.txt files fetched.
    pub robots_fetched: u64,
    /// Pages with more links than
    /// [`Config::max_links_per_page`](crate::Config::max_links_per_page)
    /// (only the first ones were followed).
    pub links_capped: u64,
    /// Links not followed because their page said `nofollow` (meta robots
    /// or `X-Robots-Tag`), or they carry `rel="nofollow"` and
    /// `skip_nofollow_links` is on.
    pub nofollow: u64,
    /// Sitemaps: `read` (documents), `urls` (pages taken from them), and
    /// the bounds that hit (`too_big`, `too_many_urls`, `too_deep`,
    /// `total_urls`) or `broken` documents.
    pub sitemap: BTreeMap<String, u64>,
}

/// What the engine counts as it goes.
#[derive(Debug)]
pub struct Stats {
    started: Instant,
    /// When the crawl ended ([`Stats::finish`]): the elapsed time stops
    /// there.
    ended: Option<Instant>,
    /// The counters.
    pub counts: Counters,
    /// Fetch latency of pages.
    pub latency: Histogram,
    /// How late the 10 ms ticker woke.
    pub loop_lag: Histogram,
    /// Why an item was first lost to an error (a stage failed or
    /// panicked, or it did not serialize): its page's URL, `: `, and the
    /// error.
    pub first_item_failure: Option<String>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            ended: None,
            counts: Counters::default(),
            latency: Histogram::default(),
            loop_lag: Histogram::default(),
            first_item_failure: None,
        }
    }
}

impl Stats {
    /// Counts one error of `kind`.
    pub fn error(&mut self, kind: &str) {
        *self.counts.errors.entry(kind.to_owned()).or_default() += 1;
    }

    /// Counts one page record: its status (none: no response) and
    /// whether it has an error.
    pub fn page_done(&mut self, status: Option<u16>, error: bool) {
        self.counts.pages += 1;
        if let Some(s) = status {
            *self.counts.page_statuses.entry(s).or_default() += 1;
        }
        if error || status.is_some_and(|s| s >= 400) {
            self.counts.broken += 1;
        }
    }

    /// Counts an item of the page at `url` lost to an error of `kind`
    /// (`item_failed`, `item_panic`, `item_serialize`) because of `why`.
    /// The first of each kind is logged as a warning, the first of all
    /// kept as [`first_item_failure`](Self::first_item_failure): both say
    /// the page and why (credentials in URLs masked).
    pub(crate) fn item_lost(&mut self, kind: &str, url: &str, why: &str) {
        self.error(kind);
        if self.counts.errors[kind] > 1 {
            return;
        }
        let why = crate::secrets::redact_text(why);
        tracing::warn!(
            url,
            kind,
            "an item of {url} is lost ({kind}): {why} (the first {kind}; the summary's errors count them all)"
        );
        self.first_item_failure
            .get_or_insert_with(|| format!("{url}: {why}"));
    }

    /// Counts one response with `status`.
    pub fn status(&mut self, status: u16) {
        *self.counts.statuses.entry(status).or_default() += 1;
    }

    /// Time since the crawl started; once it ended, its duration.
    pub fn elapsed(&self) -> Duration {
        match self.ended {
            Some(end) => end.duration_since(self.started),
            None => self.started.elapsed(),
        }
    }

    /// The crawl ended now (only the first call counts): the elapsed
    /// time, what the summary and the metrics served while they linger
    /// say, stops here.
    pub fn finish(&mut self) {
        self.ended.get_or_insert_with(Instant::now);
    }

    /// A snapshot.
    pub fn summary(&self, extra: SummaryExtra) -> Summary {
        let secs = self.elapsed().as_secs_f64();
        let pages = self.counts.pages as f64;
        Summary {
            counts: self.counts.clone(),
            seconds: secs,
            pages_per_sec: if secs > 0.0 { pages / secs } else { 0.0 },
            latency_p50_ms: ms(self.latency.percentile(50.0)),
            latency_p99_ms: ms(self.latency.percentile(99.0)),
            loop_lag_p99_ms: ms(self.loop_lag.percentile(99.0)),
            peak_rss_bytes: peak_rss(),
            seen: extra.seen,
            queued: extra.queued,
            filtered: extra.filtered,
            interrupted: extra.interrupted,
            stopped_by: None,
            seeds_ok: 0,
            seeds_failed: Vec::new(),
            resumed: false,
            new_pass: false,
            buffered_peak_bytes: 0,
            first_item_failure: self.first_item_failure.clone(),
        }
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Facts the frontier knows, for the summary.
#[derive(Clone, Debug, Default)]
pub struct SummaryExtra {
    /// URLs seen.
    pub seen: u64,
    /// Requests still queued (a stopped crawl).
    pub queued: u64,
    /// Links turned away, by reason.
    pub filtered: BTreeMap<String, u64>,
    /// Stopped by Ctrl-C or a stop handle.
    pub interrupted: bool,
}

/// The statistics of a crawl, printable.
///
/// ```
/// let s = solo_crawl::Summary::default();
/// assert!(s.to_string().contains("pages"));
/// ```
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// The counters.
    #[serde(flatten)]
    pub counts: Counters,
    /// Wall time.
    pub seconds: f64,
    /// Pages per second.
    pub pages_per_sec: f64,
    /// Median fetch latency.
    pub latency_p50_ms: f64,
    /// 99th percentile fetch latency.
    pub latency_p99_ms: f64,
    /// 99th percentile of how late a 10 ms timer fired.
    pub loop_lag_p99_ms: f64,
    /// Peak resident memory (VmHWM), if known.
    pub peak_rss_bytes: Option<u64>,
    /// URLs seen.
    pub seen: u64,
    /// Requests left queued.
    pub queued: u64,
    /// Links turned away, by reason.
    pub filtered: BTreeMap<String, u64>,
    /// Whether the crawl was stopped before it ran out of work.
    pub interrupted: bool,
    /// The limit that stopped it, if one did: `max_time` or `max_items`
    /// ([`Config::max_time`](crate::Config::max_time),
    /// [`Config::max_items`](crate::Config::max_items)); `None` for a
    /// crawl that ran out of work or was stopped by a signal or a
    /// [`StopHandle`](crate::StopHandle).
    pub stopped_by: Option<String>,
    /// Start requests answered with a status below 400 (after their
    /// redirects and retries): the CLI exits 1 when there is none.
    pub seeds_ok: u64,
    /// Start requests that failed or were refused, with why.
    pub seeds_failed: Vec<String>,
    /// The crawl continued one kept in its state directory.
    pub resumed: bool,
    /// A recrawl ([`Config::recrawl`](crate::Config::recrawl)) started a
    /// new pass over the known pages; false when it finished an earlier
    /// pass that was stopped before it was done (or without a recrawl).
    pub new_pass: bool,
    /// The most bytes of response bodies held at once (never above
    /// [`Config::body_budget`](crate::Config::body_budget)).
    pub buffered_peak_bytes: u64,
    /// Why an item was first lost to an error, if one was: its page's
    /// URL, `: `, and the error (a stage's failure or panic, or the
    /// serializer's; one of the `item_failed`, `item_panic`,
    /// `item_serialize` counted in `errors`).
    pub first_item_failure: Option<String>,
}

fn join_map<K: fmt::Display, V: fmt::Display>(m: &BTreeMap<K, V>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "pages        {} in {:.2} s ({:.0} pages/s){}",
            self.counts.pages,
            self.seconds,
            self.pages_per_sec,
            match (&self.stopped_by, self.interrupted) {
                (Some(limit), _) => format!(", stopped by {limit}"),
                (None, true) => ", interrupted".to_owned(),
                (None, false) => String::new(),
            }
        )?;
        writeln!(f, "bytes        {}", self.counts.bytes)?;
        if self.counts.items > 0 {
            writeln!(f, "items        {}", self.counts.items)?;
        }
        if self.counts.items_kept > 0 || !self.counts.items_dropped.is_empty() {
            writeln!(
                f,
                "pipeline     {} kept; dropped: {}",
                self.counts.items_kept,
                join_map(&self.counts.items_dropped)
            )?;
        }
        if let Some(e) = &self.first_item_failure {
            writeln!(f, "item failed  first: {e}")?;
        }
        writeln!(f, "status       {}", join_map(&self.counts.page_statuses))?;
        if self.counts.statuses != self.counts.page_statuses {
            // Retried responses (and those of pages not done yet).
            writeln!(f, "responses    {}", join_map(&self.counts.statuses))?;
        }
        writeln!(f, "errors       {}", join_map(&self.counts.errors))?;
        if self.counts.broken > 0 {
            writeln!(
                f,
                "broken       {} page(s): an error or a 4xx/5xx status",
                self.counts.broken
            )?;
        }
        writeln!(
            f,
            "retries      {}   redirects {}   robots.txt fetched {}",
            self.counts.retries, self.counts.redirects, self.counts.robots_fetched
        )?;
        writeln!(
            f,
            "latency      p50 {:.2} ms   p99 {:.2} ms",
            self.latency_p50_ms, self.latency_p99_ms
        )?;
        writeln!(f, "loop lag     p99 {:.2} ms", self.loop_lag_p99_ms)?;
        if self.counts.links_capped > 0 {
            writeln!(
                f,
                "links        {} page(s) had more than --max-links-per-page; the rest were not followed",
                self.counts.links_capped
            )?;
        }
        if self.counts.nofollow > 0 {
            writeln!(
                f,
                "nofollow     {} links not followed",
                self.counts.nofollow
            )?;
        }
        if !self.counts.sitemap.is_empty() {
            writeln!(f, "sitemaps     {}", join_map(&self.counts.sitemap))?;
        }
        writeln!(
            f,
            "urls         {} seen, {} left queued; skipped: {}",
            self.seen,
            self.queued,
            join_map(&self.filtered)
        )?;
        if self.buffered_peak_bytes > 0 {
            writeln!(
                f,
                "bodies       {:.1} MiB held at once at most (--max-buffered)",
                self.buffered_peak_bytes as f64 / (1 << 20) as f64
            )?;
        }
        match self.peak_rss_bytes {
            Some(b) => writeln!(f, "peak RSS     {:.1} MiB", b as f64 / (1 << 20) as f64),
            None => writeln!(f, "peak RSS     unknown"),
        }
    }
}

/// Peak resident set size of this process (`VmHWM` in
/// `/proc/self/status`), where the OS tells it.
pub fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The live progress line (hidden unless stderr is a terminal and it was
/// asked for).
pub(crate) struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    pub(crate) fn new(wanted: bool) -> Progress {
        let bar = if wanted && std::io::stderr().is_terminal() {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
            crate::logs::progress_shown(Some(b.clone()));
            b
        } else {
            indicatif::ProgressBar::hidden()
        };
        Progress { bar }
    }

    pub(crate) fn update(&self, stats: &Stats, in_flight: usize, queued: usize) {
        if self.bar.is_hidden() {
            return;
        }
        let secs = stats.elapsed().as_secs_f64().max(1e-9);
        let errors: u64 = stats.counts.errors.values().sum();
        self.bar.set_message(format!(
            "{} pages ({:.0}/s), {} in flight, {} queued, {} errors, {} retries",
            stats.counts.pages,
            stats.counts.pages as f64 / secs,
            in_flight,
            queued,
            errors,
            stats.counts.retries
        ));
        self.bar.tick();
    }

    pub(crate) fn finish(&self) {
        if !self.bar.is_hidden() {
            crate::logs::progress_shown(None);
        }
        self.bar.finish_and_clear();
    }
}

/// Measures loop lag every 10 ms into `stats` and refreshes the progress
/// line with `live` (in flight, queued) about 4 times a second. Runs until
/// cancelled.
pub(crate) async fn ticker(
    stats: Rc<RefCell<Stats>>,
    progress: Rc<Progress>,
    // (in flight, queued here, queued in the whole crawl: with --redis,
    // in Redis).
    live: Rc<dyn Fn() -> (usize, usize, u64)>,
    log_every: Duration,
) {
    const TICK: Duration = Duration::from_millis(10);
    let mut n = 0u32;
    let mut log = LogStats::new(log_every);
    loop {
        let t0 = Instant::now();
        solo::sleep(TICK).await;
        let late = t0.elapsed().saturating_sub(TICK);
        stats.borrow_mut().loop_lag.record(late);
        n += 1;
        if n.is_multiple_of(25) {
            let (f, q, crawl_q) = live();
            progress.update(&stats.borrow(), f, q);
            log.maybe(&stats.borrow().counts, f, crawl_q);
        }
    }
}

/// Scrapy's LogStats: every `every`, an info line with the pages and
/// items so far and their rate per minute over the last interval.
struct LogStats {
    every: Duration,
    last: Instant,
    pages: u64,
    items: u64,
}

impl LogStats {
    fn new(every: Duration) -> LogStats {
        LogStats {
            every,
            last: Instant::now(),
            pages: 0,
            items: 0,
        }
    }

    fn maybe(&mut self, c: &Counters, in_flight: usize, queued: u64) {
        let took = self.last.elapsed();
        if self.every.is_zero() || took < self.every {
            return;
        }
        let per_min =
            |now: u64, before: u64| (now - before.min(now)) as f64 * 60.0 / took.as_secs_f64();
        tracing::info!(
            pages = c.pages,
            items = c.items,
            in_flight,
            queued,
            "crawled {} pages (at {:.0} pages/min), scraped {} items (at {:.0} items/min); {in_flight} in flight, {queued} queued",
            c.pages,
            per_min(c.pages, self.pages),
            c.items,
            per_min(c.items, self.items),
        );
        self.last = Instant::now();
        self.pages = c.pages;
        self.items = c.items;
    }
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn example_1() {
        use std::time::Duration;
        let mut h = solo_crawl::stats::Histogram::default();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let p50 = h.percentile(50.0).as_secs_f64() * 1000.0;
        assert!((47.0..=54.0).contains(&p50), "{p50}");
        assert_eq!(h.count(), 100);
    }

    #[test]
    fn example_2() {
        if cfg!(target_os = "linux") {
            assert!(solo_crawl::stats::peak_rss().unwrap() > 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A log writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Logged(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logged {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_lost_item_is_told_once_per_kind_with_its_page() {
        let logged = Logged::default();
        let writer = logged.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let mut st = Stats::default();
        tracing::subscriber::with_default(subscriber, || {
            st.item_lost("item_failed", "http://a.test/1", "locked");
            st.item_lost("item_failed", "http://a.test/2", "locked");
            st.item_lost("item_serialize", "http://a.test/3", "key must be a string");
            st.item_lost("item_panic", "http://a.test/4", "http://u:pw@b.test/ broke");
        });
        assert_eq!(st.counts.errors["item_failed"], 2);
        assert_eq!(st.counts.errors["item_serialize"], 1);
        assert_eq!(
            st.first_item_failure.as_deref(),
            Some("http://a.test/1: locked")
        );
        let text = String::from_utf8(logged.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].contains("WARN"), "{text}");
        assert!(lines[0].contains("an item of http://a.test/1 is lost (item_failed): locked"));
        assert!(lines[1].contains("http://a.test/3 is lost (item_serialize): key must be a string"));
        assert!(!text.contains("pw"), "credentials masked: {text}");
    }
}
