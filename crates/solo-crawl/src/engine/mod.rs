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
//! requests finish first; a second Ctrl-C / [`StopHandle::hurry`] leaves
//! them, cancelled, once the pages in the pipeline are through). It holds the crawl's body budget and has big
//! pages scanned off the loop. Must not: parse pages itself or block the
//! loop thread (file output happens on the writer thread, big pages are
//! scanned on a helper thread).
//!
//! Where it lives: [`crawler`] (the public [`Crawler`] and its setup),
//! [`turn`] (the loop), [`page`] (the tasks it spawns), [`persist`] (what
//! goes to and comes back from the `--state` store); this file holds what
//! they share: the [`Report`]s tasks send, the [`Shared`] state and the
//! [`Engine`] itself.

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
use crate::canon::{fingerprint, host_key};
use crate::config::Config;
use crate::directives::{Directives, Refresh};
use crate::fetch::{self, Fetch, FetchError, FetchErrorKind, FetchRequest, Fetched};
use crate::frontier::{Frontier, HostId, Job, Rejected};
use crate::output::{OutputConfig, PageRecord};
use crate::pipeline::{self, PipelineError, Pipelines};
use crate::recrawl;
use crate::redirect;
use crate::redis_frontier::{self, FrontierBackend, Leased, Remote, Robots, RobotsShare};
use crate::request::Request;
use crate::response::Response;
use crate::robots::{unreachable_status, RobotsRules, MAX_PARSED};
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
    /// The limit (`max_time`, `max_items`) that stopped the crawl.
    limit: Cell<Option<&'static str>>,
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

    /// Stops the crawl for one of its own limits (`max_time`,
    /// `max_items`), unless something stopped it first.
    pub(crate) fn stop_at_limit(&self, limit: &'static str) {
        if !self.is_stopped() {
            self.0.limit.set(Some(limit));
            self.stop();
        }
    }

    /// The limit of the crawl's own (`"max_time"`, `"max_items"`) that
    /// stopped it; `None` when it runs, or was stopped from outside (by
    /// [`stop`](StopHandle::stop), Ctrl-C, SIGTERM). A program that runs
    /// several crawls with the same limits passes on the stops from
    /// outside alone: each crawl keeps its limits itself.
    ///
    /// ```
    /// let stop = solo_crawl::StopHandle::default();
    /// stop.stop();
    /// assert_eq!(stop.limit(), None);
    /// ```
    pub fn limit(&self) -> Option<&'static str> {
        self.0.limit.get()
    }

    /// Says the user wants out at once (a second Ctrl-C does this when
    /// [`Config::handle_ctrl_c`] is on), and stops the crawl without
    /// waiting for the requests in flight: they are abandoned (with
    /// [`Config::state_dir`], fetched on resume), the pages already
    /// parsed finish going through the item pipelines, the outputs are
    /// flushed, and [`Crawler::run`] returns (its summary `interrupted`).
    /// The library never exits the process: the program decides, e.g.
    /// by waiting on [`hurried`](StopHandle::hurried).
    pub fn hurry(&self) {
        self.stop();
        self.0.hurried.set();
    }

    /// Whether [`hurry`](StopHandle::hurry) was called.
    ///
    /// ```
    /// let stop = solo_crawl::StopHandle::default();
    /// assert!(!stop.is_hurried());
    /// stop.hurry();
    /// assert!(stop.is_hurried() && stop.is_stopped());
    /// ```
    pub fn is_hurried(&self) -> bool {
        self.0.hurried.is_set()
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
    /// The shared frontier's Redis could not be used: a bad URL, refused,
    /// a wrong password, a Redis too old, no such crawl (the message says
    /// which, and what to do).
    Redis(String),
}

impl std::fmt::Display for CrawlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CrawlError::Config(e) => write!(f, "{e}"),
            CrawlError::Output(e) => write!(f, "output: {e}"),
            CrawlError::State(e) => write!(f, "state: {e}"),
            CrawlError::Client(e) => write!(f, "http client: {e}"),
            CrawlError::Pipeline(e) => write!(f, "{e}"),
            CrawlError::Redis(e) => write!(f, "{e}"),
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
            CrawlError::Redis(_) => None,
        }
    }
}

mod crawler;
mod page;
mod persist;
mod push;
mod turn;

pub use crawler::Crawler;
use page::{page_task, resolve_task, robots_task};
use persist::{decode_all, decode_restored, on_accepted, write_error};
pub use push::Pushed;

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
    sessions: Rc<Sessions>,
    /// robots.txt answers shared with the other workers (Redis frontier).
    robots_share: Option<RobotsShare>,
    /// With `--sitemaps`: the robots.txt URLs also read for their
    /// `Sitemap:` lines, and the robots task's answer for each once it
    /// came, so that the sitemap request takes it instead of fetching
    /// robots.txt a second time.
    robots_for_sitemaps: RefCell<std::collections::HashMap<String, Option<Fetched>>>,
    /// With WARC output: where every exchange goes.
    archive: Option<Archive>,
    /// The origins (scheme, host, port) of the spider's start requests
    /// (not of `--sitemap` URLs): the only ones `config.headers`'
    /// credentials go to.
    start_origins: std::collections::HashSet<url::Origin>,
    /// The redirects answered so far (a loop whose hops were reached by
    /// links of their own is found there).
    answered: RefCell<redirect::Answered>,
}

/// How the start requests went.
#[derive(Default)]
struct Seeds {
    ok: u64,
    failed: Vec<String>,
    /// How many of `ok` and `failed` the shared frontier was told.
    told: (u64, usize),
}

impl Seeds {
    /// What came since the last call, for the shared frontier (whoever
    /// seeded a crawl learns there how its start URLs went, whichever
    /// worker fetched them).
    fn unreported(&mut self) -> Option<(u64, Vec<String>)> {
        let (ok, failed) = self.told;
        if self.ok == ok && self.failed.len() == failed {
            return None;
        }
        self.told = (self.ok, self.failed.len());
        Some((self.ok - ok, self.failed[failed..].to_vec()))
    }
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
    /// robots.txt of a host is to be fetched again at `at`.
    RobotsRetry { host: HostId, at: Instant },
    Robots {
        host: HostId,
        rules: RobotsRules,
        /// Fetched by this worker (not read from the shared frontier).
        fetched: bool,
    },
    /// A host's first address (with a per-IP limit).
    Resolved {
        host: HostId,
        ip: Option<std::net::IpAddr>,
    },
    Crashed {
        host: HostId,
        fp: u64,
        lease: Option<u64>,
        record: Box<PageRecord>,
    },
    /// A page's items are through the pipeline: its record, the kept
    /// items and its done mark are written now.
    Piped {
        record: Box<PageRecord>,
        items: Vec<serde_json::Value>,
        /// Keys the stages kept for the page's items (stage, key).
        keys: Vec<(u32, u64)>,
        fp: u64,
        /// Items handed to the pipeline (they leave its backlog now).
        handed: usize,
    },
    /// Requests leased from the shared frontier (or, empty, news of it).
    Leased(Leased),
    /// Spilled requests back from the store (`asked` were asked for).
    Unspilled {
        rows: Vec<crate::store::StoredRequest>,
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

/// The loop's state: the frontier, the writer and what is on the way.
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
    /// The shared frontier (Redis), if any.
    remote: Option<Rc<Remote>>,
    /// Leases of pages done this turn, acknowledged once their records
    /// are written out.
    written_acks: Vec<u64>,
    /// Leases of pages whose items are in the pipeline, by request key.
    piped_leases: std::collections::HashMap<u64, u64>,
    /// `--metrics` is on: keep the busiest hosts' queues for it.
    busiest: bool,
    /// The tasks of the jobs started (those done are pruned now and
    /// then): cancelled when the crawl is hurried.
    jobs: Vec<solo::Task<()>>,
}
