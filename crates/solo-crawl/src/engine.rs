//! The engine: the crawl loop that moves data one way, frontier →
//! downloader → spider → (output, frontier).
//!
//! Owns: the [`Crawler`] and its loop — pull jobs from the frontier while
//! there are free slots, run each in its own task (fetch robots.txt, or
//! fetch a page and call the spider), and apply what the tasks report:
//! retries with exponential backoff or `Retry-After`, new requests to the
//! frontier (a redirect's target among them, as
//! [`redirect`](crate::redirect) decides: one fetch per task, so every hop
//! passes the frontier's rules; a `<meta http-equiv="refresh">` within
//! `max_refresh_delay` is one too; a sitemap's entries, as
//! [`sitemap`](crate::sitemap) reads them), what a page says about
//! crawling it ([`directives`](crate::directives): no links followed from a
//! `nofollow` page), records and items to the writer thread, counters to
//! the stats. With an item [`pipeline`](crate::pipeline), a page's items
//! go through it first: its links go to the frontier at once, its record,
//! kept items and done mark together (in one loop turn) once the items are
//! through; a full pipeline holds new requests back. It stops when the
//! frontier is idle, the page
//! budget is spent, or on Ctrl-C / [`StopHandle::stop`] (in-flight
//! requests finish first). It holds the crawl's body budget and has big
//! pages scanned off the loop. Must not: parse pages itself or block the
//! loop thread (file output happens on the writer thread, big pages are
//! scanned on a helper thread).

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io;
use std::path::Path;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use solo::sync::{mpsc, Event};
use url::Url;

use crate::budget::BodyBudget;
use crate::canon::fingerprint;
use crate::config::Config;
use crate::directives::{Directives, Refresh};
use crate::fetch::{self, Fetch, FetchError, FetchErrorKind, FetchRequest, Fetched};
use crate::frontier::{Frontier, HostId, Job, Rejected};
use crate::output::{OutputConfig, PageRecord};
use crate::pipeline::{self, PipelineError, Pipelines};
use crate::recrawl;
use crate::redirect;
use crate::request::Request;
use crate::response::Response;
use crate::robots::{agent_name, RobotsRules};
use crate::secrets::{redact_text, redact_url, referer as referer_for};
use crate::session::{self, Sessions};
use crate::sink::{Archive, Msg, Writer};
use crate::spider::{Failure, Output, Spider};
use crate::stats::{Progress, Stats, Summary, SummaryExtra};
use crate::store::{Op, Restored, StateError, Store};

/// Stops a running crawl gracefully: no new requests start, the ones in
/// flight finish and are written out.
///
/// ```
/// let stop = solo_crawl::StopHandle::default();
/// assert!(!stop.is_stopped());
/// stop.stop();
/// assert!(stop.is_stopped());
/// ```
#[derive(Clone, Default)]
pub struct StopHandle(Rc<StopInner>);

#[derive(Default)]
struct StopInner {
    stopped: Cell<bool>,
    event: Event,
    /// Set by a second Ctrl-C: the user wants out at once.
    hurried: Event,
}

impl StopHandle {
    /// Asks the crawl to stop.
    pub fn stop(&self) {
        self.0.stopped.set(true);
        self.0.event.set();
    }

    /// Whether [`stop`](StopHandle::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.get()
    }

    /// Says the user wants out at once (a second Ctrl-C does this when
    /// [`Config::handle_ctrl_c`] is on), and stops the crawl. The library
    /// never exits the process: the program decides, by waiting on
    /// [`hurried`](StopHandle::hurried).
    pub fn hurry(&self) {
        self.stop();
        self.0.hurried.set();
    }

    /// Waits until [`hurry`](StopHandle::hurry) is called; the
    /// `solo-crawl` binary exits with status 130 then.
    ///
    /// ```
    /// solo::run(async {
    ///     let stop = solo_crawl::StopHandle::default();
    ///     stop.hurry();
    ///     stop.hurried().await;
    ///     assert!(stop.is_stopped());
    /// });
    /// ```
    pub async fn hurried(&self) {
        self.0.hurried.wait().await
    }
}

/// A crawl failure that is not about one page.
///
/// A variant with an underlying error keeps it as
/// [`source`](std::error::Error::source).
#[derive(Debug)]
#[non_exhaustive]
pub enum CrawlError {
    /// A [`Config`] value is out of range (see [`Config::validate`]).
    Config(String),
    /// Output could not be opened or written.
    Output(io::Error),
    /// The state store (`--state DIR`) could not be opened, read or
    /// written, or is damaged; the cause says what (an I/O error where
    /// there is one, kept for downcasting).
    State(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The HTTP client could not be built from the settings (e.g. a root
    /// certificate that is not one).
    Client(FetchError),
    /// An item pipeline stage failed to open or close (its error is the
    /// source).
    Pipeline(PipelineError),
}

impl std::fmt::Display for CrawlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CrawlError::Config(e) => write!(f, "{e}"),
            CrawlError::Output(e) => write!(f, "output: {e}"),
            CrawlError::State(e) => write!(f, "state: {e}"),
            CrawlError::Client(e) => write!(f, "http client: {e}"),
            CrawlError::Pipeline(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CrawlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CrawlError::Config(_) => None,
            CrawlError::Output(e) => Some(e),
            CrawlError::State(e) => Some(&**e),
            CrawlError::Client(e) => Some(e),
            CrawlError::Pipeline(e) => Some(e),
        }
    }
}

/// A crawl: a spider, a fetcher, settings and where output goes.
///
/// ```
/// use solo_crawl::{demo_site::DemoSite, Config, Crawler, LinkSpider, OutputConfig, Target};
/// let site = DemoSite::start(200).unwrap();
/// let buf = solo_crawl::output::SharedBuf::default();
/// let summary = solo::run(
///     Crawler::new(LinkSpider::new(vec![site.url()]), Config { max_pages: Some(50), ..Default::default() })
///         .output(OutputConfig { pages: Target::Buffer(buf.clone()), ..Default::default() })
///         .run(),
/// ).unwrap();
/// assert_eq!(summary.counts.pages, 50);
/// assert_eq!(String::from_utf8(buf.lock().unwrap().clone()).unwrap().lines().count(), 50);
/// ```
pub struct Crawler<S: Spider, F: Fetch = solo_http::Client> {
    spider: S,
    /// Builds the fetcher at `run`, from the settings with the start
    /// URLs' networks allowed (an error is reported by `run`).
    fetcher: MakeFetcher<F>,
    config: Config,
    output: OutputConfig,
    stop: StopHandle,
    pipelines: Option<Rc<Pipelines>>,
}

impl<S: Spider> Crawler<S, solo_http::Client> {
    /// A crawl of `spider` with the default HTTP client
    /// ([`fetch::client`] of `config`: http and https, keep-alive);
    /// output discarded until [`output`](Crawler::output) says otherwise.
    pub fn new(spider: S, config: Config) -> Crawler<S, solo_http::Client> {
        Crawler {
            spider,
            fetcher: Box::new(fetch::client),
            config,
            output: OutputConfig::default(),
            stop: StopHandle::default(),
            pipelines: None,
        }
    }
}

impl<S: Spider, F: Fetch> Crawler<S, F> {
    /// Uses another HTTP client. The crawl's address guard
    /// ([`Config::allow_private_networks`] and the network lists) is the
    /// default client's: another one must enforce its own.
    pub fn fetcher<G: Fetch>(self, fetcher: G) -> Crawler<S, G> {
        Crawler {
            spider: self.spider,
            fetcher: Box::new(move |_: &Config| Ok(fetcher)),
            config: self.config,
            output: self.output,
            stop: self.stop,
            pipelines: self.pipelines,
        }
    }

    /// Sends the spider's items through these stages before they are
    /// written (see [`pipeline`](crate::pipeline)): opened before the
    /// crawl, closed (awaited) after it.
    ///
    /// ```
    /// use solo_crawl::{demo_site::DemoSite, Config, Crawler, LinkSpider, Pipelines};
    /// use solo_crawl::stages::RequireFields;
    /// let site = DemoSite::start(20).unwrap();
    /// let crawler = Crawler::new(LinkSpider::new(vec![site.url()]), Config::default())
    ///     .pipelines(Pipelines::new().stage(RequireFields::new(["title"])));
    /// let summary = solo::run(crawler.run()).unwrap();
    /// assert_eq!(summary.counts.items, 0); // LinkSpider emits none
    /// ```
    pub fn pipelines(mut self, pipelines: Pipelines) -> Crawler<S, F> {
        self.pipelines = Some(Rc::new(pipelines));
        self
    }

    /// Sets where records and items go.
    pub fn output(mut self, output: OutputConfig) -> Crawler<S, F> {
        self.output = output;
        self
    }

    /// A handle that stops the crawl gracefully.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Runs the crawl to its end; the statistics.
    ///
    /// Unless [`Config::allow_private_networks`] is set, the start URLs'
    /// hosts are resolved first, and the special networks (loopback,
    /// private, ...) they are in are allowed for this crawl: crawling
    /// 127.0.0.1 or an intranet host works with no setting, while links,
    /// redirects and DNS answers into other such networks are refused.
    pub async fn run(self) -> Result<Summary, CrawlError> {
        self.config.validate().map_err(CrawlError::Config)?;
        let mut starts = self.spider.start_requests();
        let sitemaps = crate::sitemap::start_requests(&self.config, &starts);
        starts.extend(sitemaps);
        let mut config = self.config;
        if !config.allow_private_networks {
            let nets = start_networks(&starts, &config).await;
            config.allow_networks.extend(nets);
        }
        let fetcher = (self.fetcher)(&config).map_err(CrawlError::Client)?;
        let metrics_listener = match config.metrics {
            Some(addr) => Some(
                crate::metrics::bind(addr)
                    .await
                    .map_err(CrawlError::Config)?,
            ),
            None => None,
        };
        let (store, restored, pass) = match config.state_dir.clone() {
            Some(dir) => {
                let reset = config.state_reset;
                let (meaning, force) = (config.meaning.clone(), config.force_resume);
                let recrawl = config.recrawl.clone();
                let (store, restored, pass) = solo::to_thread(move || {
                    let mut store = Store::open(&dir, reset)?;
                    let db_error = |store: &Store, e: rusqlite::Error| {
                        let msg = format!(
                            "state database {}: {}",
                            store.db_path().display(),
                            crate::sink::sqlite_message(&e)
                        );
                        StateError::caused_by(msg, e)
                    };
                    let mut restored = store.load().map_err(|e| db_error(&store, e))?;
                    if !meaning.is_empty() {
                        store.keep_settings(restored.resumed, &meaning, force)?;
                    }
                    let mut pass = Vec::new();
                    if let (Some(r), true) = (recrawl, restored.queued.is_empty()) {
                        if restored.spilled == 0 {
                            pass = crate::recrawl::start_pass(&mut store, &r)
                                .map_err(|e| db_error(&store, e))?;
                            restored = store.load().map_err(|e| db_error(&store, e))?;
                        }
                    }
                    Ok::<_, StateError>((store, restored, pass))
                })
                .await
                .map_err(|e| CrawlError::State(e.into()))?;
                let db = store.db_path();
                let pass = crate::recrawl::decode_pass(&pass, &db)
                    .map_err(|e| CrawlError::State(e.into()))?;
                (Some(store), Some(restored), pass)
            }
            None => (None, None, Vec::new()),
        };
        let db_path = store.as_ref().map(Store::db_path);
        // Decoded before the output is touched: a damaged state changes
        // nothing.
        let restored = match (restored, &db_path) {
            (Some(r), Some(db)) => Some(decode_restored::<S::Callback>(r, db)?),
            _ => None,
        };
        let persist = store.is_some();
        if let Some(p) = &self.pipelines {
            p.open().await.map_err(CrawlError::Pipeline)?;
        }
        let writer = Writer::spawn(&self.output, store)?;
        let (tx, rx) = mpsc::unbounded();
        let agent_cfg = config.clone();
        let budget = BodyBudget::new(config.body_budget(), config.max_bytes);
        let sh = Rc::new(Shared {
            spider: self.spider,
            fetcher,
            budget: budget.clone(),
            config,
            stats: Rc::new(RefCell::new(Stats::default())),
            tx,
            agent: agent_name(&agent_cfg.user_agent),
            sitemap_urls: Cell::new(0),
            sessions: Sessions::new(agent_cfg.cookies),
            archive: writer.archive(&self.output),
        });
        let mut frontier = Frontier::new(&agent_cfg);
        let resumed = restored.as_ref().is_some_and(|(r, _)| r.resumed);
        tracing::info!(
            concurrency = agent_cfg.concurrency,
            per_host = agent_cfg.per_host,
            obey_robots = agent_cfg.obey_robots,
            start_urls = starts.len(),
            "crawl starting"
        );
        if let Some((r, queued)) = restored {
            frontier.restore_progress(&r.seen, r.dispatched, r.spilled);
            for req in queued {
                frontier.restore(req);
            }
            frontier.set_cap(agent_cfg.frontier_cap);
        }
        if let (true, Some(dir)) = (resumed, &agent_cfg.state_dir) {
            tracing::info!(
                state = %dir.display(),
                seen = frontier.seen(),
                queued = frontier.queued() as u64 + frontier.spilled(),
                "resuming the crawl kept in the state directory"
            );
        }
        let mut seeds = Seeds::default();
        // A start URL that is a known page is asked conditionally too.
        let known = recrawl::merge_starts(&mut starts, pass);
        for r in starts {
            let url = redact_url(&r.url);
            let bad_host = crate::idn::check_host(&r.url).err();
            let pushed = frontier.push_with(r, true, |fp, req, spilled| {
                if persist {
                    writer.send(enqueue_op(fp, req, spilled));
                }
            });
            if let Err(why) = pushed {
                let why = match why {
                    Rejected::Seen => continue,
                    Rejected::BadHost => bad_host.unwrap_or_default(),
                    why => why.as_str().to_owned(),
                };
                seeds.failed.push(format!("{url}: {why}"));
            }
        }
        // The other known pages as links are: under the crawl's rules now.
        for r in known {
            let _ = frontier.push_with(r, false, |fp, req, spilled| {
                writer.send(enqueue_op(fp, req, spilled));
            });
        }
        let progress = Rc::new(Progress::new(sh.config.progress));
        let live = Rc::new(crate::metrics::Live::default());
        let live2 = live.clone();
        let ticker = solo::spawn(crate::stats::ticker(
            sh.stats.clone(),
            progress.clone(),
            Rc::new(move || live2.now.get()),
        ));
        let metrics = metrics_listener.map(|l| {
            solo::spawn(crate::metrics::serve(l, sh.stats.clone(), live.clone())).cancel_on_drop()
        });
        let signals = sh
            .config
            .handle_ctrl_c
            .then(|| solo::spawn(watch_signals(self.stop.clone(), sh.stats.clone())))
            .map(solo::Task::cancel_on_drop); // after the metrics linger too

        let mut engine = Engine {
            sh: sh.clone(),
            frontier,
            writer,
            seeds,
            rx,
            persist,
            unspilling: false,
            db_path,
            damaged: None,
            pipelines: self.pipelines.clone(),
            busiest: metrics.is_some(),
        };
        let interrupted = engine.run_loop(&self.stop, &live).await;
        let closed = match &self.pipelines {
            Some(p) => p.close().await,
            None => Ok(()),
        };

        ticker.cancel();
        progress.finish();
        let Engine {
            frontier,
            writer,
            seeds,
            damaged,
            ..
        } = engine;
        let failed = writer.failed();
        writer
            .finish()
            .map_err(|e| write_error(e, &self.output, sh.config.state_dir.as_deref()))?;
        if let Some(e) = damaged {
            return Err(CrawlError::State(e.into()));
        }
        closed.map_err(CrawlError::Pipeline)?;
        let c = frontier.counts();
        let filtered = [
            ("seen", c.seen),
            ("offsite", c.offsite),
            ("too_deep", c.too_deep),
            ("filtered", c.filtered),
            ("scheme", c.scheme),
            ("max_pages", c.max_pages),
            ("robots", c.robots),
            ("bad_host", c.bad_host),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_owned(), n))
        .collect();
        let mut summary = sh.stats.borrow().summary(SummaryExtra {
            seen: frontier.seen() as u64,
            queued: frontier.queued() as u64 + frontier.spilled(),
            filtered,
            interrupted: interrupted || failed,
        });
        summary.buffered_peak_bytes = budget.peak() as u64;
        summary.seeds_ok = seeds.ok;
        summary.resumed = resumed;
        summary.seeds_failed = seeds.failed;
        tracing::info!(
            pages = summary.counts.pages,
            seconds = summary.seconds,
            interrupted = summary.interrupted,
            "crawl finished"
        );
        if let Some(m) = metrics {
            live.now.set((0, frontier.queued()));
            live.set_hosts(frontier.busiest_hosts(crate::metrics::TOP_HOSTS));
            let linger = sh.config.metrics_linger;
            if !linger.is_zero() && !summary.interrupted {
                tracing::info!(seconds = linger.as_secs_f64(), "serving the final metrics");
                let until = Instant::now() + linger;
                while Instant::now() < until && !self.stop.is_stopped() {
                    solo::sleep((until - Instant::now()).min(Duration::from_millis(100))).await;
                }
            }
            drop(m);
        }
        drop(signals);
        Ok(summary)
    }
}

/// Builds a crawl's fetcher from its settings.
type MakeFetcher<F> = Box<dyn FnOnce(&Config) -> Result<F, FetchError>>;

/// What the page tasks share.
struct Shared<S: Spider, F> {
    spider: S,
    fetcher: F,
    /// Bytes of bodies held at once, over all downloads.
    budget: BodyBudget,
    config: Config,
    stats: Rc<RefCell<Stats>>,
    tx: mpsc::Sender<Report<S::Callback>>,
    /// The robots agent name (of `config.user_agent`).
    agent: String,
    /// Page URLs taken from sitemaps so far.
    sitemap_urls: Cell<u64>,
    /// The cookie jars.
    sessions: Sessions,
    /// With WARC output: where every exchange goes.
    archive: Option<Archive>,
}

/// How the start requests went.
#[derive(Default)]
struct Seeds {
    ok: u64,
    failed: Vec<String>,
}

/// What a task reports back to the loop.
enum Report<C> {
    Page {
        host: HostId,
        request: Request<C>,
        record: Box<PageRecord>,
        out: Output<C>,
        final_url: Option<Url>,
        /// The fetch failed in a way that says the server sheds load
        /// (connection refused or reset, timeout).
        shed: bool,
        /// The page was a redirect: the request for its target.
        redirect: Option<Box<Request<C>>>,
    },
    Retry {
        host: HostId,
        request: Request<C>,
        at: Instant,
        pause_host: bool,
        /// The answer that asked for the retry (`None`: the fetch failed).
        status: Option<u16>,
        latency: Duration,
    },
    Robots {
        host: HostId,
        rules: RobotsRules,
    },
    /// A host's first address (with a per-IP limit).
    Resolved {
        host: HostId,
        ip: Option<std::net::IpAddr>,
    },
    Crashed {
        host: HostId,
        fp: u64,
        record: Box<PageRecord>,
    },
    /// A page's items are through the pipeline: its record, the kept
    /// items and its done mark are written now.
    Piped {
        record: Box<PageRecord>,
        items: Vec<serde_json::Value>,
        fp: u64,
        /// Items handed to the pipeline (they leave its backlog now).
        handed: usize,
    },
    /// Spilled requests back from the store (`asked` were asked for).
    Unspilled {
        rows: Vec<String>,
        asked: usize,
    },
}

impl<C> Report<C> {
    /// A page the server answered (not shedding load): its record, what
    /// the spider made of it and, for a redirect, the request for its
    /// target.
    fn answered(
        host: HostId,
        request: Request<C>,
        record: PageRecord,
        out: Output<C>,
        final_url: Url,
        redirect: Option<Box<Request<C>>>,
    ) -> Report<C> {
        Report::Page {
            host,
            request,
            record: Box::new(record),
            out,
            final_url: Some(final_url),
            shed: false,
            redirect,
        }
    }
}

struct Engine<S: Spider, F> {
    sh: Rc<Shared<S, F>>,
    frontier: Frontier<S::Callback>,
    writer: Writer,
    seeds: Seeds,
    rx: mpsc::Receiver<Report<S::Callback>>,
    /// A state store is kept.
    persist: bool,
    /// Spilled requests were asked for and have not come back yet.
    unspilling: bool,
    /// The state database (with a store).
    db_path: Option<std::path::PathBuf>,
    /// The store handed back requests that do not decode: the crawl stops.
    damaged: Option<String>,
    /// The item pipeline, if any.
    pipelines: Option<Rc<Pipelines>>,
    /// `--metrics` is on: keep the busiest hosts' queues for it.
    busiest: bool,
}

impl<S: Spider, F: Fetch> Engine<S, F> {
    /// The loop; whether it was interrupted.
    async fn run_loop(&mut self, stop: &StopHandle, live: &crate::metrics::Live) -> bool {
        let concurrency = self.sh.config.concurrency.max(1);
        let mut interrupted = false;
        loop {
            let now = solo::time::now();
            if !interrupted && (stop.is_stopped() || self.writer.failed() || self.damaged.is_some())
            {
                interrupted = true;
                tracing::info!(
                    in_flight = self.frontier.in_flight(),
                    "stopping: finishing the requests in flight"
                );
            }
            // A full item pipeline holds new requests back.
            let piped = self.pipelines.as_ref().map_or(0, |p| p.backlog());
            let held = self.pipelines.as_ref().is_some_and(|p| p.full());
            if !interrupted && !held {
                while self.frontier.in_flight() < concurrency {
                    match self.frontier.next(now) {
                        Some(Job::Page { host, request }) => {
                            solo::spawn(page_task(self.sh.clone(), host, request));
                        }
                        Some(Job::Robots { host, url }) => {
                            solo::spawn(robots_task(self.sh.clone(), host, url));
                        }
                        Some(Job::Resolve { host, name }) => {
                            solo::spawn(resolve_task(self.sh.clone(), host, name));
                        }
                        None => break,
                    }
                }
                if self.persist {
                    self.persist_dropped();
                    self.maybe_unspill();
                }
            }
            live.now
                .set((self.frontier.in_flight(), self.frontier.queued()));
            if self.busiest {
                let top = || self.frontier.busiest_hosts(crate::metrics::TOP_HOSTS);
                live.refresh_hosts(now, top);
            }
            if self.frontier.in_flight() == 0
                && piped == 0
                && (interrupted || (self.frontier.is_idle() && !self.unspilling))
            {
                return interrupted;
            }
            // Everything this turn wrote goes to the writer thread at once.
            self.writer.flush();
            // With every slot taken only a completion can free one: no
            // timer then (and `next` did not run, so due timers linger).
            let wake_at = if interrupted || held || self.frontier.in_flight() >= concurrency {
                None
            } else {
                self.frontier.wake_at()
            };
            let woke = {
                let mut sleep = wake_at.map(|t| Box::pin(solo::sleep_until(t)));
                let mut stopped = pin!(stop.0.event.wait());
                let rx = &mut self.rx;
                poll_fn(|cx| {
                    if let Poll::Ready(Some(ev)) = rx.poll_recv(cx) {
                        return Poll::Ready(Some(ev));
                    }
                    if let Some(s) = sleep.as_mut() {
                        if s.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(None); // a timer: look again
                        }
                    }
                    if !interrupted && stopped.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(None); // stopped
                    }
                    Poll::Pending
                })
                .await
            };
            if let Some(ev) = woke {
                self.handle(ev);
                while let Ok(ev) = self.rx.try_recv() {
                    self.handle(ev);
                }
            }
        }
    }

    /// Marks the requests the frontier dropped for good as done.
    fn persist_dropped(&mut self) {
        for fp in self.frontier.take_dropped() {
            self.writer.send(Msg::State(Op::Done { fp }));
        }
    }

    /// Asks the writer thread for spilled requests when memory runs low.
    fn maybe_unspill(&mut self) {
        if self.unspilling {
            return;
        }
        let Some(n) = self.frontier.wants_unspill() else {
            return;
        };
        self.unspilling = true;
        let (reply, rows) = futures_channel::oneshot::channel();
        self.writer.send(Msg::Unspill { n, reply });
        let tx = self.sh.tx.clone();
        solo::spawn(async move {
            let rows = rows.await.unwrap_or_default();
            let _ = tx.try_send(Report::Unspilled { rows, asked: n });
        });
    }

    /// The page of `request` is written: its state is done.
    fn persist_done(&mut self, fp: u64) {
        if self.persist {
            self.writer.send(Msg::State(Op::Done { fp }));
            self.writer
                .send(Msg::State(Op::Dispatched(self.frontier.dispatched())));
        }
    }

    /// Sends a redirect's target to the frontier, like any new request.
    fn push_redirect(&mut self, next: Request<S::Callback>, seed: bool) {
        let (persist, writer) = (self.persist, &self.writer);
        let from = next.extras().redirected_from.last().map(redact_url);
        let to = redact_url(&next.url);
        let pushed = self.frontier.push_with(next, false, |fp, req, spilled| {
            if persist {
                writer.send(enqueue_op(fp, req, spilled));
            }
        });
        match pushed {
            Ok(_) => self.sh.stats.borrow_mut().counts.redirects += 1,
            // Crawled (or queued) anyway, or the budget is spent.
            Err(Rejected::Seen | Rejected::MaxPages) if seed => self.seeds.ok += 1,
            Err(why) if seed => self.seeds.failed.push(format!(
                "{}: redirected to {to}, which is not followed ({}{})",
                from.unwrap_or_default(),
                why.as_str(),
                match why {
                    Rejected::Offsite => ": allow its domain to crawl it",
                    _ => "",
                }
            )),
            Err(_) => {}
        }
    }

    fn handle(&mut self, ev: Report<S::Callback>) {
        let now = solo::time::now();
        match ev {
            Report::Page {
                host,
                request,
                record,
                out,
                final_url,
                shed,
                redirect,
            } => {
                self.frontier.complete(host, now);
                self.frontier.observe(
                    host,
                    Duration::from_secs_f64(record.elapsed_ms / 1000.0),
                    record.status,
                    now,
                );
                if shed {
                    self.frontier.shed_load(host);
                }
                // A start URL's outcome is its chain's last page (its URL
                // and error are redacted already).
                let seed = request.depth == 0;
                if seed {
                    match (&record.error, &redirect) {
                        (Some(e), _) => self.seeds.failed.push(format!("{}: {e}", record.url)),
                        (None, None) => self.seeds.ok += 1,
                        (None, Some(_)) => {}
                    }
                }
                if let Some(next) = redirect {
                    self.push_redirect(*next, seed);
                }
                {
                    let mut st = self.sh.stats.borrow_mut();
                    st.counts.pages += 1;
                    st.counts.bytes += record.bytes;
                    if record.status.is_some() {
                        st.latency
                            .record(Duration::from_secs_f64(record.elapsed_ms / 1000.0));
                    }
                }
                let (items, follows, item_errors) = out.into_parts();
                if let (true, Some(previous)) = (self.persist, request.previous()) {
                    self.writer
                        .send(recrawl::page_op(&request, previous, &follows));
                }
                {
                    let mut st = self.sh.stats.borrow_mut();
                    st.counts.items += items.len() as u64;
                    for _ in &item_errors {
                        st.error("item_serialize");
                    }
                }
                // Through the pipeline first: the record, items and done
                // mark then come back together (Report::Piped).
                let piping = match &self.pipelines {
                    Some(p) if !items.is_empty() => {
                        let (p, stats, tx) = (p.clone(), self.sh.stats.clone(), self.sh.tx.clone());
                        let fp = request.key();
                        let handed = items.len();
                        let piped = pipeline::run_page(p, items, stats.clone());
                        solo::spawn(async move {
                            let mut guard = PipeGuard {
                                tx,
                                stats,
                                page: Some((record, fp, handed)),
                            };
                            let items = piped.await;
                            guard.send(items);
                        });
                        true
                    }
                    _ => {
                        self.writer.send(Msg::Page(record));
                        for item in items {
                            self.writer.send(Msg::Item(item));
                        }
                        false
                    }
                };
                let referer = final_url.unwrap_or_else(|| request.url.clone());
                let (persist, writer) = (self.persist, &self.writer);
                for mut r in follows {
                    // A sitemap listed by a sitemap is as deep as its
                    // parent: indexes count against `max_nesting`, not the
                    // depth limit.
                    r.depth = request.depth + u32::from(r.extras().sitemap.is_none());
                    r.referer = Some(referer.clone());
                    r.retries = 0;
                    if !r.extras().redirected_from.is_empty() {
                        r.extras_mut().redirected_from.clear();
                    }
                    let _ = self.frontier.push_with(r, false, |fp, req, spilled| {
                        if persist {
                            writer.send(enqueue_op(fp, req, spilled));
                        }
                    });
                }
                // After its links: a crash before this commit fetches the
                // page again, and finds them again.
                if !piping {
                    self.persist_done(request.key());
                }
            }
            Report::Piped {
                record,
                items,
                fp,
                handed,
            } => {
                if let Some(p) = &self.pipelines {
                    p.release(handed);
                }
                self.writer.send(Msg::Page(record));
                for item in items {
                    self.writer.send(Msg::Item(item));
                }
                self.persist_done(fp);
            }
            Report::Retry {
                host,
                mut request,
                at,
                pause_host,
                status,
                latency,
            } => {
                self.frontier.complete(host, now);
                self.frontier.observe(host, latency, status, now);
                if status.is_none() {
                    // Only connect, I/O and timeout failures are retried.
                    self.frontier.shed_load(host);
                }
                self.sh.stats.borrow_mut().counts.retries += 1;
                request.retries += 1;
                if pause_host {
                    self.frontier.pause_host(host, at);
                }
                self.frontier.retry_at(host, request, at);
            }
            Report::Robots { host, rules } => {
                self.sh.stats.borrow_mut().counts.robots_fetched += 1;
                self.frontier.robots_done(host, rules, now);
            }
            Report::Resolved { host, ip } => self.frontier.resolved(host, ip, now),
            Report::Crashed { host, fp, record } => {
                self.frontier.complete(host, now);
                let mut st = self.sh.stats.borrow_mut();
                st.counts.pages += 1;
                st.error("panic");
                drop(st);
                self.writer.send(Msg::Page(record));
                self.persist_done(fp);
            }
            Report::Unspilled { rows, asked } => {
                self.unspilling = false;
                let db = self.db_path.as_deref().unwrap_or(Path::new("state.sqlite"));
                match decode_all(&rows, db) {
                    Ok(requests) => self.frontier.unspilled(requests, asked),
                    Err(e) => self.damaged = Some(e),
                }
            }
        }
    }
}

/// A failure of the writer thread: of the state store (named, with what
/// to do) or of the output (naming its targets).
fn write_error(e: io::Error, out: &OutputConfig, state: Option<&std::path::Path>) -> CrawlError {
    if let (Some(dir), Some(inner)) = (state, e.get_ref()) {
        if let Some(se) = inner.downcast_ref::<crate::sink::StateWriteError>() {
            return CrawlError::State(
                format!(
                    "{}: saving the crawl's state failed: {se}; check the disk holding it \
                     (free space, permissions), then rerun the same command to resume",
                    dir.display()
                )
                .into(),
            );
        }
    }
    let name = |t: &crate::output::Target| match t {
        crate::output::Target::File(p) => Some(p.display().to_string()),
        crate::output::Target::Stdout => Some("stdout".into()),
        _ => None,
    };
    let names: Vec<String> = [name(&out.pages), name(&out.items)]
        .into_iter()
        .flatten()
        .collect();
    let hint = if e.kind() == io::ErrorKind::BrokenPipe {
        "the program reading the output stopped early"
    } else {
        "check the disk (free space, permissions)"
    };
    CrawlError::Output(io::Error::new(
        e.kind(),
        format!(
            "writing {} failed: {e}; {hint}{}",
            if names.is_empty() {
                "the output".into()
            } else {
                names.join(" and ")
            },
            if state.is_some() {
                ", then rerun the same command to resume"
            } else {
                ""
            }
        ),
    ))
}

/// The store operation for an accepted request.
fn enqueue_op<C: serde::Serialize>(fp: u64, req: &Request<C>, spilled: bool) -> Msg {
    Msg::State(Op::Enqueue {
        fp,
        data: serde_json::to_string(req).unwrap_or_default(),
        spilled,
    })
}

/// Stored requests, decoded; an error naming the database if any does
/// not decode (the rows were changed, or another spider wrote them).
fn decode_all<C: serde::de::DeserializeOwned>(
    rows: &[String],
    db: &Path,
) -> Result<Vec<Request<C>>, String> {
    let mut first = None;
    let mut bad = 0;
    let requests: Vec<Request<C>> = rows
        .iter()
        .filter_map(|d| match serde_json::from_str(d) {
            Ok(r) => Some(r),
            Err(e) => {
                bad += 1;
                first.get_or_insert(e);
                None
            }
        })
        .collect();
    match first {
        None => Ok(requests),
        Some(e) => Err(format!(
            "state database {} is damaged: {bad} of {} stored requests cannot be read ({e}; changed by hand, or written by another spider); restore the state directory from a backup, or rerun with --state-reset to discard it and start the crawl over",
            db.display(),
            rows.len()
        )),
    }
}

/// A stored crawl with its queued requests decoded.
fn decode_restored<C: serde::de::DeserializeOwned>(
    mut r: Restored,
    db: &Path,
) -> Result<(Restored, Vec<Request<C>>), CrawlError> {
    let queued =
        decode_all(&std::mem::take(&mut r.queued), db).map_err(|e| CrawlError::State(e.into()))?;
    Ok((r, queued))
}

/// Ctrl-C stops gracefully (a second one calls [`StopHandle::hurry`],
/// for the program to exit at once); SIGUSR1 prints
/// the statistics so far.
async fn watch_signals(stop: StopHandle, stats: Rc<RefCell<Stats>>) {
    use solo::signal::{unix, SignalKind};
    let (Ok(mut int), Ok(mut usr1)) = (
        unix(SignalKind::interrupt()),
        unix(SignalKind::user_defined1()),
    ) else {
        return;
    };
    loop {
        let got_int = {
            let mut a = pin!(int.recv());
            let mut b = pin!(usr1.recv());
            poll_fn(|cx| {
                if a.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(true);
                }
                if b.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(false);
                }
                Poll::Pending
            })
            .await
        };
        if got_int {
            if stop.is_stopped() {
                stop.hurry();
                continue;
            }
            eprintln!("Ctrl-C: finishing the requests in flight (Ctrl-C again to quit at once)");
            stop.stop();
        } else {
            eprint!("{}", stats.borrow().summary(SummaryExtra::default()));
        }
    }
}

/// Sends a page's `Piped` report, even if a stage panics (then with no
/// items, counted as an `item_panic` error): the page must leave the
/// pipeline's backlog, or the crawl would never end.
struct PipeGuard<C> {
    tx: mpsc::Sender<Report<C>>,
    stats: Rc<RefCell<Stats>>,
    page: Option<(Box<PageRecord>, u64, usize)>,
}

impl<C> PipeGuard<C> {
    fn send(&mut self, items: Vec<serde_json::Value>) {
        if let Some((record, fp, handed)) = self.page.take() {
            let _ = self.tx.try_send(Report::Piped {
                record,
                items,
                fp,
                handed,
            });
        }
    }
}

impl<C> Drop for PipeGuard<C> {
    fn drop(&mut self) {
        if self.page.is_some() {
            if let Ok(mut st) = self.stats.try_borrow_mut() {
                st.error("item_panic");
            }
            self.send(Vec::new());
        }
    }
}

/// Sends a `Crashed` report if the task unwinds before reporting.
struct PanicGuard<'a, C> {
    tx: &'a mpsc::Sender<Report<C>>,
    host: HostId,
    fp: u64,
    record: Option<PageRecord>,
}

impl<C> Drop for PanicGuard<'_, C> {
    fn drop(&mut self) {
        if let Some(mut record) = self.record.take() {
            record.error = Some("the spider's callback panicked".into());
            let _ = self.tx.try_send(Report::Crashed {
                host: self.host,
                fp: self.fp,
                record: Box::new(record),
            });
        }
    }
}

/// The record of `request` before its fetch, URL credentials masked.
fn base_record<C>(request: &Request<C>) -> PageRecord {
    let x = request.extras();
    PageRecord {
        url: redact_url(&request.url),
        depth: request.depth,
        referer: request.referer.as_ref().map(redact_url),
        redirected_from: x.redirected_from.iter().map(redact_url).collect(),
        lastmod: x.lastmod.clone(),
        ..Default::default()
    }
}

/// The special networks (loopback, private, link-local, ...) the start
/// URLs' hosts resolve to: the crawl may connect there. A host that does
/// not resolve adds nothing (its fetch reports the DNS error).
async fn start_networks<C>(starts: &[Request<C>], cfg: &Config) -> Vec<solo_http::IpNet> {
    let mut hosts: Vec<String> = starts
        .iter()
        .filter_map(|r| r.url.host_str().map(str::to_owned))
        .collect();
    hosts.sort();
    hosts.dedup();
    let resolver = cfg.resolver.clone().unwrap_or_default();
    let limit = cfg.timeout;
    let lookups = hosts.into_iter().map(|host| {
        let resolver = resolver.clone();
        async move {
            solo::timeout(limit, resolver.lookup(&host))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        }
    });
    let mut nets = Vec::new();
    for ip in solo::gather(lookups).await.into_iter().flatten() {
        if let Some(range) = solo_http::special_range(ip) {
            if !nets.contains(&range.net) {
                nets.push(range.net);
            }
        }
    }
    nets
}

async fn page_task<S: Spider, F: Fetch>(
    sh: Rc<Shared<S, F>>,
    host: HostId,
    request: Request<S::Callback>,
) {
    let mut guard = PanicGuard {
        tx: &sh.tx,
        host,
        fp: request.key(),
        record: Some(base_record(&request)),
    };
    let span = tracing::info_span!(
        "request",
        url = %redact_url(&request.url),
        host = request.url.host_str().unwrap_or_default(),
        depth = request.depth,
        attempt = request.retries + 1,
    );
    let ev = tracing::Instrument::instrument(page(&sh, host, request), span).await;
    guard.record = None;
    let _ = sh.tx.try_send(ev);
}

/// Statuses worth another try.
fn retryable_status(s: u16) -> bool {
    matches!(s, 408 | 429 | 500 | 502..=504 | 520..=524)
}

/// `Retry-After`: seconds or an HTTP date.
fn retry_after(f: &Fetched) -> Option<Duration> {
    let v = f.header("retry-after")?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

async fn page<S: Spider, F: Fetch>(
    sh: &Shared<S, F>,
    host: HostId,
    mut request: Request<S::Callback>,
) -> Report<S::Callback> {
    let cfg = &sh.config;
    let start = Instant::now();
    tracing::debug!(method = %request.extras().method, "request");
    let result = download(
        sh,
        &request.url,
        request.referer.as_ref(),
        Wire::of(sh, &request),
    )
    .await;
    let elapsed = start.elapsed();
    let can_retry = request.retries < cfg.max_retries;
    let tries = request.retries;
    let backoff = || {
        let exp = cfg.backoff_base.saturating_mul(1u32 << tries.min(20));
        // A little jitter so retries of a burst do not come back together.
        exp.mul_f64(1.0 + fastrand::f64() * 0.1)
            .min(cfg.backoff_max)
    };
    let mut record = base_record(&request);
    record.elapsed_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    let mut out = Output::new();
    match result {
        Ok(f) => {
            sh.stats.borrow_mut().status(f.status);
            tracing::debug!(
                status = f.status,
                bytes = f.body.len(),
                elapsed_ms = record.elapsed_ms,
                "response"
            );
            if retryable_status(f.status) && can_retry {
                let ra = retry_after(&f);
                let wait = ra.unwrap_or_else(backoff).min(cfg.backoff_max);
                tracing::info!(
                    status = f.status,
                    wait_ms = wait.as_millis() as u64,
                    "retrying: HTTP {}",
                    f.status
                );
                return Report::Retry {
                    host,
                    request,
                    at: solo::time::now() + wait,
                    pause_host: f.status == 429 || (f.status == 503 && ra.is_some()),
                    status: Some(f.status),
                    latency: elapsed,
                };
            }
            if retryable_status(f.status) {
                tracing::info!(
                    status = f.status,
                    "giving up after {} attempts: HTTP {}",
                    tries + 1,
                    f.status
                );
            }
            fill_head(&mut record, &f);
            if recrawl::not_modified(&request, &f) {
                // Unchanged since the last pass: its links then are its
                // links now.
                let before = request.take_previous();
                let mut kept = recrawl::keep(&f, before.as_deref());
                kept.links = before.map(|p| p.links).unwrap_or_default();
                for link in kept.links.iter().filter_map(|l| Url::parse(l).ok()) {
                    out.follow(Request::new(link, request.callback.clone()));
                }
                record.not_modified = true;
                record.links = kept.links.len() as u64;
                request.set_previous(Some(Box::new(kept)));
                return Report::answered(host, request, record, out, f.final_url, None);
            }
            if cfg.state_dir.is_some() && (200..300).contains(&f.status) {
                // Kept for a later recrawl (links added by the loop).
                let kept = recrawl::keep(&f, request.previous());
                request.set_previous(Some(Box::new(kept)));
            } else {
                request.set_previous(None);
            }
            let followed = redirect::follow(
                &request,
                &request.extras().method,
                f.status,
                f.header("location"),
                &f.final_url,
                cfg.max_redirects,
            );
            if let Some(followed) = followed.transpose() {
                // A redirect is not the answer: no callback. Its target is
                // crawled as a request of its own, if the frontier allows.
                let next = followed.map(|n| n.request);
                return redirected(sh, host, request, record, f.final_url, f.status, next).await;
            }
            let ok = (200..300).contains(&f.status);
            if let (Some(role), true) = (request.extras().sitemap, ok) {
                let limits = &cfg.sitemap_limits;
                let off_loop = cfg.parse_off_loop_bytes;
                let read =
                    crate::sitemap::read_off_loop(role, &f.final_url, f.body, limits, off_loop)
                        .await;
                let found = crate::sitemap::expand(
                    &sh.spider,
                    limits,
                    &sh.sitemap_urls,
                    &request,
                    role,
                    read,
                    &mut out,
                );
                record.links = found.entries as u64;
                record.error = found.error.map(|e| format!("sitemap: {e}"));
                let mut st = sh.stats.borrow_mut();
                for (k, n) in found.counts {
                    *st.counts.sitemap.entry(k.to_owned()).or_default() += n;
                }
                drop(st);
                return Report::answered(host, request, record, out, f.final_url, None);
            }
            let final_url = f.final_url.clone();
            let response =
                Response::for_request(&request, f.final_url, f.status, f.headers, f.body, elapsed)
                    .with_link_cap(cfg.max_links_per_page);
            if response.body().len() > cfg.parse_off_loop_bytes {
                response.scan_off_loop().await;
            }
            if ok && response.is_html() {
                if let Some(next) = refresh(cfg, &request, &response) {
                    // Followed like a redirect: no callback.
                    let url = response.url().clone();
                    return redirected(sh, host, request, record, url, f.status, next).await;
                }
            }
            if ok {
                sh.spider
                    .parse(request.callback.clone(), &response, &mut out)
                    .await;
                obey_page(sh, &response, &mut record, &mut out);
            } else {
                sh.spider
                    .on_error(&request, Failure::Status(&response), &mut out)
                    .await;
            }
            tracing::trace!(
                items = out.items().len(),
                follows = out.requests().len(),
                "parsed"
            );
            if let Some(scan) = response.scan() {
                record.title = scan.title.clone();
                record.links = scan.links.len() as u64;
                if scan.capped {
                    record.truncated.push("links".into());
                    sh.stats.borrow_mut().counts.links_capped += 1;
                }
            }
            Report::answered(host, request, record, out, final_url, None)
        }
        Err(e) => {
            sh.stats.borrow_mut().error(e.kind.as_str());
            if e.kind.is_retryable() && can_retry {
                let wait = backoff();
                tracing::info!(
                    error_kind = e.kind.as_str(),
                    wait_ms = wait.as_millis() as u64,
                    "retrying: {}",
                    redact_text(&e.to_string())
                );
                return Report::Retry {
                    host,
                    request,
                    at: solo::time::now() + wait,
                    pause_host: false,
                    status: None,
                    latency: elapsed,
                };
            }
            tracing::info!(
                error_kind = e.kind.as_str(),
                "giving up after {} attempt(s): {}",
                tries + 1,
                redact_text(&e.to_string())
            );
            sh.spider
                .on_error(&request, Failure::Fetch(&e), &mut out)
                .await;
            record.status = e.status;
            record.error = Some(redact_text(&e.to_string()).into_owned());
            Report::Page {
                host,
                request,
                record: Box::new(record),
                out,
                final_url: None,
                shed: e.kind.is_retryable(),
                redirect: None,
            }
        }
    }
}

/// Redirects of robots.txt followed (RFC 9309 asks for at least five).
const ROBOTS_REDIRECTS: usize = 5;

/// Fetches a host's robots.txt. Its redirects are followed only on the
/// same host (http to https, another path): a host out of the crawl's
/// scope is never contacted; robots.txt that cannot be reached that way
/// counts as missing (allow all).
async fn robots_task<S: Spider, F: Fetch>(sh: Rc<Shared<S, F>>, host: HostId, url: Url) {
    let agent = agent_name(&sh.config.user_agent);
    let mut url = url;
    let mut hops = 0;
    let (status, rules) = loop {
        let f = match download(&sh, &url, None, Wire::default()).await {
            Ok(f) => f,
            Err(_) => break (None, RobotsRules::from_response(&agent, None, b"")),
        };
        if redirect::is_redirect(f.status) && hops < ROBOTS_REDIRECTS {
            let to = redirect::target(&f.final_url, f.header("location")).ok();
            if let Some(to) = to.filter(|t| t.host_str() == url.host_str() && *t != url) {
                hops += 1;
                url = to;
                continue;
            }
        }
        break (
            Some(f.status),
            RobotsRules::from_response(&agent, Some(f.status), &f.body),
        );
    };
    tracing::info!(
        host = url.host_str().unwrap_or_default(),
        url = %redact_url(&url),
        status,
        crawl_delay_ms = rules.crawl_delay().map(|d| d.as_millis() as u64),
        "robots.txt: {}",
        rules.decision(status)
    );
    let _ = sh.tx.try_send(Report::Robots { host, rules });
}

/// Resolves a host's name for the per-IP limit (see the `per_ip`
/// module) with the crawl's resolver, within the crawl's timeout; a name
/// that does not resolve reports no address.
async fn resolve_task<S: Spider, F>(sh: Rc<Shared<S, F>>, host: HostId, name: String) {
    let resolver = sh.config.resolver.clone().unwrap_or_default();
    let ip = solo::timeout(sh.config.timeout, resolver.lookup(&name))
        .await
        .ok()
        .and_then(Result::ok)
        .and_then(|ips| ips.first().copied());
    let _ = sh.tx.try_send(Report::Resolved { host, ip });
}

/// The head of an answer into its page record.
fn fill_head(record: &mut PageRecord, f: &Fetched) {
    record.final_url = Some(redact_url(&f.final_url));
    record.status = Some(f.status);
    record.content_type = f.header("content-type").map(str::to_owned);
    record.bytes = f.body.len() as u64;
}

/// The report of an answer that redirects (a 3xx, or a meta refresh):
/// the next request, or the error that stops the chain.
async fn redirected<S: Spider, F: Fetch>(
    sh: &Shared<S, F>,
    host: HostId,
    request: Request<S::Callback>,
    mut record: PageRecord,
    final_url: Url,
    status: u16,
    next: Result<Request<S::Callback>, redirect::RedirectError>,
) -> Report<S::Callback> {
    let mut out = Output::new();
    let next = match next {
        Ok(next) => {
            record.redirect_to = Some(redact_url(&next.url));
            Some(Box::new(next))
        }
        Err(e) => {
            let kind = FetchErrorKind::Redirect;
            sh.stats.borrow_mut().error(kind.as_str());
            let mut err = FetchError::new(kind, e.to_string());
            err.status = Some(status);
            sh.spider
                .on_error(&request, Failure::Fetch(&err), &mut out)
                .await;
            record.redirect_to = e.target().map(redact_url);
            record.error = Some(redact_text(&err.to_string()).into_owned());
            None
        }
    };
    Report::answered(host, request, record, out, final_url, next)
}

/// The next hop of a page's `<meta http-equiv="refresh">`, if it is one
/// to follow: a delay within `max_refresh_delay` and a URL that is not
/// the page itself (a reload) and is http(s). The chain's limits apply
/// (the error is the page's).
fn refresh<C: Clone>(
    cfg: &Config,
    request: &Request<C>,
    response: &Response,
) -> Option<Result<Request<C>, redirect::RedirectError>> {
    let max = cfg.max_refresh_delay?;
    let scan = response.scan()?;
    let r = Refresh::parse(scan.refresh.as_deref()?)?;
    // An endless number of digits parses to infinity: not followed.
    let soon = r.delay <= max.as_secs_f64();
    if !soon {
        return None;
    }
    let to = redirect::target(&scan.base, Some(r.url.as_deref()?)).ok()?;
    if fingerprint(&to) == fingerprint(response.url()) {
        return None;
    }
    // A refresh is a navigation: a GET, whatever the page's request was.
    let next = redirect::hop(request, to, response.url(), cfg.max_redirects);
    Some(next.map(|mut r| {
        redirect::set_method(&mut r, &hyper::Method::GET, false);
        r
    }))
}

/// What a 2xx page says about crawling it, into its record (`noindex`,
/// `nofollow`, `canonical`), and obeyed: no links followed from a
/// `nofollow` page unless robots are ignored, none marked
/// `rel="nofollow"` with `skip_nofollow_links`.
fn obey_page<S: Spider, F>(
    sh: &Shared<S, F>,
    response: &Response,
    record: &mut PageRecord,
    out: &mut Output<S::Callback>,
) {
    let cfg = &sh.config;
    let scan = response.scan();
    let meta = scan.map_or(&[][..], |s| &s.robots_meta);
    let d = Directives::of_page(response.headers(), meta, &sh.agent);
    record.noindex = d.noindex;
    record.nofollow = d.nofollow;
    record.canonical = scan.and_then(|s| s.canonical.as_ref()).map(redact_url);
    let dropped = if d.nofollow && cfg.obey_robots {
        out.retain_requests(|_| false)
    } else if let Some(s) =
        scan.filter(|s| cfg.skip_nofollow_links && s.rel_nofollow.contains(&true))
    {
        let marked: std::collections::HashSet<&str> = s
            .links
            .iter()
            .zip(&s.rel_nofollow)
            .filter(|(_, nf)| **nf)
            .map(|(u, _)| u.as_str())
            .collect();
        out.retain_requests(|r| !marked.contains(r.url.as_str()))
    } else {
        0
    };
    sh.stats.borrow_mut().counts.nofollow += dropped as u64;
}

/// What a request sends besides its URL and referer.
#[derive(Default)]
struct Wire<'a> {
    method: hyper::Method,
    headers: &'a [(String, String)],
    body: bytes::Bytes,
    timeout: Option<Duration>,
    jar: Option<Rc<solo_http::CookieJar>>,
}

impl<'a> Wire<'a> {
    fn of<S: Spider, F>(sh: &Shared<S, F>, r: &'a Request<S::Callback>) -> Wire<'a> {
        let x = r.extras();
        Wire {
            method: x.method.clone(),
            headers: &x.headers,
            body: x.body.clone(),
            timeout: x.timeout,
            jar: sh.sessions.jar(x.cookie_jar.as_deref()),
        }
    }
}

/// Fetches `url` once (a redirect is an answer like any other) within the
/// configured timeout, or the request's own. Cookies of the request's jar
/// go with it, and what the answer's `Set-Cookie` headers set goes into
/// the jar (a redirect's too: its target is fetched later, with them).
async fn download<S: Spider, F: Fetch>(
    sh: &Shared<S, F>,
    url: &Url,
    referer: Option<&Url>,
    wire: Wire<'_>,
) -> Result<Fetched, FetchError> {
    let cfg = &sh.config;
    let mut headers = vec![
        ("User-Agent".to_owned(), cfg.user_agent.clone()),
        (
            "Accept".to_owned(),
            "text/html,application/xhtml+xml,*/*;q=0.8".to_owned(),
        ),
    ];
    if let Some(r) = referer.and_then(|from| referer_for(from, url)) {
        headers.push(("Referer".to_owned(), r));
    }
    for (k, v) in wire.headers {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v.clone()));
    }
    if let Some(jar) = &wire.jar {
        session::add_cookies(jar, url, &mut headers);
    }
    let req = FetchRequest {
        method: wire.method,
        url: url.clone(),
        headers,
        timeout: wire.timeout.unwrap_or(cfg.timeout),
        max_bytes: cfg.max_bytes,
        budget: Some(sh.budget.clone()),
        body: wire.body,
        capture: sh.archive.is_some(),
    };
    let mut f = sh.fetcher.fetch(&req).await?;
    if let (Some(archive), Some(capture)) = (&sh.archive, f.capture.take()) {
        // The URL's credentials went as `Authorization`, not in the URL.
        let mut target = url.clone();
        let _ = target.set_username("");
        let _ = target.set_password(None);
        archive.push(target.as_str(), *capture);
    }
    if let Some(jar) = &wire.jar {
        session::keep_cookies(jar, &f.final_url, &f.headers);
    }
    Ok(f)
}
