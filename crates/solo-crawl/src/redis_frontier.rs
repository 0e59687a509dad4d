//! A crawl shared by many workers through Redis.
//!
//! Owns: the worker's side of the shared frontier — the settings that
//! select it ([`FrontierBackend`], [`RedisFrontier`]), the outbox the
//! engine fills (new requests, finished leases, politeness news, cookie
//! changes, counters) and the task that trades it with Redis: one atomic
//! step (the Lua script in `redis/frontier.lua`) per round trip, which
//! adds the new requests through the shared seen set, ends the finished
//! leases, heartbeats, takes back the leases of workers that stopped
//! beating, stores this worker's cookie changes and returns the others'
//! (put into the jars before the leases of the same reply start), and
//! leases a batch of requests whose host has a free slot and whose delay
//! has ended. Redis
//! trouble pauses it (said once, retried with backoff). Must not: decide
//! what is crawled (the local [`Frontier`](crate::frontier) checks the
//! rules first, and starts what was leased) or block the loop.
//!
//! Design: the engine keeps its in-process frontier as a cache of the
//! requests this worker leased. A lease is not a pop: the request stays in
//! the worker's lease hash in Redis until the page is done, so a worker
//! killed mid-fetch loses nothing — when its heartbeat stops for the lease
//! time, any other worker's next step puts its leases back in the queues.
//! Politeness is global because Redis counts every host's leases and
//! holds its delay: a host gets at most `per_host` leases at once over all
//! workers (fewer while it sheds load: the overload backoff runs in the
//! script, fed by every worker's answers), and with a delay (or the
//! autothrottle's pause, also in the script) one lease per delay. A
//! request to retry gives its lease back and waits in Redis, so retries
//! need a free slot too. Sessions are global the same way: a cookie change
//! goes out no later than the requests its page queued (see
//! [`session`](crate::session)), and a worker gets it no later than it
//! leases them.
//!
//! This file holds the settings, the outbox and the engine's handle
//! ([`Remote`]); the step's wire form is in `step`, the task that trades
//! with Redis in `drive`, and the shared robots.txt answers in
//! `robots_share`.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::time::Duration;

use solo::sync::Event;

use crate::redis_link::Link;

mod drive;
mod robots_share;
mod step;

pub(crate) use robots_share::{Robots, RobotsShare};
pub(crate) use step::{queue_entry, StepArgs};

/// Where a crawl's frontier lives.
///
/// ```
/// use solo_crawl::{Config, FrontierBackend, RedisFrontier};
/// let cfg = Config {
///     frontier: FrontierBackend::Redis(RedisFrontier::new("redis://127.0.0.1:6379/0", "news")),
///     ..Default::default()
/// };
/// assert!(matches!(Config::default().frontier, FrontierBackend::InProcess));
/// # let _ = cfg;
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum FrontierBackend {
    /// In this process (the default): one crawler.
    #[default]
    InProcess,
    /// In Redis, shared by every worker of the same crawl id.
    Redis(RedisFrontier),
}

/// A frontier in Redis: where, which crawl, and how long a lease lasts.
#[derive(Clone, Debug)]
pub struct RedisFrontier {
    /// `redis://[USER:PASSWORD@]HOST[:PORT][/DB]`.
    pub url: String,
    /// The crawl's name: its keys are `solo:{ID}:*`.
    pub crawl_id: String,
    /// A worker whose heartbeat stopped this long (killed, cut off) loses
    /// its leases: they go back to the queues for the others.
    pub lease_timeout: Duration,
    /// How long this worker stays once the crawl has nothing queued and
    /// no lease out, waiting for requests pushed in
    /// ([`Crawler::push`](crate::Crawler::push), `solo-crawl push`), like
    /// scrapy-redis's `MAX_IDLE_TIME_BEFORE_CLOSE`: `None` (the default)
    /// leaves at once, `Some(Duration::MAX)` never. It is this worker's
    /// own: each worker may wait another time.
    pub idle_timeout: Option<Duration>,
}

impl RedisFrontier {
    /// Crawl `crawl_id` in the Redis at `url`, leases expiring after 30 s.
    ///
    /// ```
    /// let r = solo_crawl::RedisFrontier::new("redis://127.0.0.1/0", "shop");
    /// assert_eq!(r.lease_timeout.as_secs(), 30);
    /// assert_eq!(r.idle_timeout, None);
    /// ```
    pub fn new(url: impl Into<String>, crawl_id: impl Into<String>) -> RedisFrontier {
        RedisFrontier {
            url: url.into(),
            crawl_id: crawl_id.into(),
            lease_timeout: Duration::from_secs(30),
            idle_timeout: None,
        }
    }

    /// This worker waits `idle` for requests pushed in once the crawl has
    /// nothing left (see [`idle_timeout`](RedisFrontier::idle_timeout)).
    ///
    /// ```
    /// use std::time::Duration;
    /// let r = solo_crawl::RedisFrontier::new("redis://127.0.0.1/0", "feed")
    ///     .with_idle_timeout(Duration::MAX); // a worker that waits for good
    /// assert_eq!(r.idle_timeout, Some(Duration::MAX));
    /// ```
    pub fn with_idle_timeout(mut self, idle: Duration) -> RedisFrontier {
        self.idle_timeout = Some(idle);
        self
    }
}

/// What the engine has for Redis since the last step.
#[derive(Default)]
struct Outbox {
    /// (fingerprint, or `None` for `dont_filter`; host; [`queue_entry`]).
    adds: Vec<(Option<u64>, String, String)>,
    /// Answers of hosts in the order they came, for the crawl-wide
    /// overload backoff and autothrottle: (host, answer).
    load: Vec<(String, Answer)>,
    /// Leases whose page record is written (what `max_pages` counts).
    acks: Vec<u64>,
    /// Leases ended without a page (robots.txt disallows it, it does not
    /// decode).
    drops: Vec<u64>,
    /// Leases given back unstarted.
    releases: Vec<u64>,
    /// Leases ended to try their request again: (id, host, wait ms,
    /// [`queue_entry`]).
    tries: Vec<(u64, String, u64, String)>,
    /// (host, Crawl-delay ms, pause ms).
    hosts: Vec<(String, u64, u64)>,
    /// Cookies this worker's jars changed, in order: (key, state or
    /// `None` if deleted), as [`session`](crate::session) makes them.
    cookies: Vec<(String, Option<String>)>,
    pages: i64,
    errors: i64,
    items: i64,
    retries: i64,
    /// Start URLs that were fetched (their chain's last page below 400).
    seeds_ok: i64,
    /// Start URLs that failed, each "URL: why" (credentials masked).
    seeds_failed: Vec<String>,
    bye: bool,
}

impl Outbox {
    fn is_empty(&self) -> bool {
        self.adds.is_empty()
            && self.load.is_empty()
            && self.acks.is_empty()
            && self.drops.is_empty()
            && self.releases.is_empty()
            && self.tries.is_empty()
            && self.hosts.is_empty()
            && self.cookies.is_empty()
            && self.pages == 0
            && self.errors == 0
            && self.items == 0
            && self.retries == 0
            && self.seeds_ok == 0
            && self.seeds_failed.is_empty()
            && !self.bye
    }

    /// Puts a batch that failed back in front of what came since.
    fn put_back(&mut self, mut old: Outbox) {
        let new = std::mem::take(self);
        old.adds.extend(new.adds);
        old.load.extend(new.load);
        old.acks.extend(new.acks);
        old.drops.extend(new.drops);
        old.releases.extend(new.releases);
        old.tries.extend(new.tries);
        old.hosts.extend(new.hosts);
        old.cookies.extend(new.cookies);
        old.pages += new.pages;
        old.errors += new.errors;
        old.items += new.items;
        old.retries += new.retries;
        old.seeds_ok += new.seeds_ok;
        old.seeds_failed.extend(new.seeds_failed);
        old.bye |= new.bye;
        *self = old;
    }
}

/// What a host's answer says about its load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Load {
    /// It shed load (a 429 or 503, a connection refused or reset, a
    /// timeout): the overload backoff cuts its limit.
    Shed,
    /// It answered (any other status): the limit may grow back.
    Answered,
    /// The fetch failed otherwise (says nothing about load).
    Failed,
}

/// One answer of a host: what it says, how long it took, its status.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Answer {
    pub(crate) load: Load,
    pub(crate) latency: Duration,
    pub(crate) status: Option<u16>,
}

impl Answer {
    /// The script's form: `KLATENCY_MS:STATUS` (see frontier.lua).
    fn encode(&self, into: &mut String) {
        use std::fmt::Write;
        let k = match self.load {
            Load::Shed => 'o',
            Load::Answered => 'a',
            Load::Failed => 'n',
        };
        let _ = write!(
            into,
            "{k}{}:{} ",
            self.latency.as_millis(),
            self.status.unwrap_or(0)
        );
    }
}

/// The crawl-wide rules the script applies.
pub(crate) struct Params {
    pub(crate) per_host: usize,
    pub(crate) delay: Duration,
    /// `Config::jitter`: each pause 0.5-1.5x `delay`, as in one process.
    pub(crate) jitter: bool,
    /// `Config::obey_robots`: a host whose rules no worker knows yet is
    /// leased one request at a time.
    pub(crate) obey_robots: bool,
    /// The overload backoff (`Config::overload_backoff`), crawl-wide.
    pub(crate) backoff: bool,
    /// `--autothrottle`, crawl-wide.
    pub(crate) autothrottle: Option<crate::throttle::AutoThrottle>,
    pub(crate) lease: Duration,
    pub(crate) max_pages: Option<u64>,
}

impl Params {
    /// The rules of a crawl with `config`, leases lasting `lease`.
    pub(crate) fn of(config: &crate::Config, lease: Duration) -> Params {
        Params {
            per_host: config.per_host,
            delay: config.delay,
            jitter: config.jitter,
            obey_robots: config.obey_robots,
            backoff: config.overload_backoff,
            autothrottle: config.autothrottle.clone(),
            lease,
            max_pages: config.max_pages,
        }
    }
}

/// Leased requests: (lease id, request JSON).
pub(crate) type Leased = Vec<(u64, String)>;

/// The engine's handle on the shared frontier (see the module docs).
#[derive(Default)]
pub(crate) struct Remote {
    out: RefCell<Outbox>,
    wake: Event,
    /// The last step said: no request queued and no lease out.
    done: Cell<bool>,
    /// Requests the engine could take now.
    want: Cell<usize>,
    /// A step is on its way.
    busy: Cell<bool>,
    /// The task ended (after the goodbye, or on a fatal error).
    finished: Event,
    fatal: RefCell<Option<String>>,
    /// Lease ids this worker holds.
    held: RefCell<HashSet<u64>>,
    /// Acknowledgements waiting for their pages to be written out.
    writing: Cell<usize>,
    /// The sequence number of the last cookie change this worker got.
    cookie_cursor: Cell<u64>,
    /// The crawl's requests queued and leased, over all workers, as the
    /// last step found them.
    shared: Cell<(u64, u64)>,
    /// Until when the leases held are surely still this worker's: the
    /// last step that reached Redis was sent then less the lease time
    /// (none yet: no step, no lease). Past it, another worker may have
    /// taken them back: the engine starts none until the next step says.
    valid_until: Cell<Option<solo::time::Instant>>,
    /// This worker's steps as the last reply counted them (P..gen).
    last_gen: Cell<u64>,
    /// What the engine must do with the leases it holds, said by a step.
    reset: Cell<Option<Reset>>,
    /// Requests this worker added that Redis queued (not seen before).
    added: Cell<u64>,
    /// How long this worker stays once the crawl has nothing left, for
    /// requests pushed in (`None`: it leaves at once).
    idle: Cell<Option<Duration>>,
    /// Since when the steps say nothing is left.
    done_since: Cell<Option<std::time::Instant>>,
}

/// A step found the leases this worker holds are no longer (all) its: the
/// engine gives back those not started (the ones Redis still knows go
/// back to the queues, the others are ignored there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reset {
    /// This worker was silent longer than the lease time: another worker
    /// took its leases back.
    Reclaimed,
    /// Redis went back to an earlier state (a restart from an RDB
    /// snapshot, a failover to a replica that lagged): the worker also
    /// forgets the URLs it has seen, so the links of the pages fetched
    /// again go to Redis again (its seen set decides).
    RolledBack,
}

impl Remote {
    /// A cookie of this worker's jars changed (`key` and `state` as
    /// [`session`](crate::session) makes them; `None`: deleted): it goes
    /// to the other workers with the next step, before (or with) the
    /// requests queued after it.
    pub(crate) fn cookie(&self, key: String, state: Option<String>) {
        self.out.borrow_mut().cookies.push((key, state));
        self.wake.set();
    }

    /// A new request for the shared queues (through the shared seen set
    /// unless `dont_filter`), as [`queue_entry`] made it.
    pub(crate) fn add(&self, fp: Option<u64>, host: String, entry: String) {
        self.out.borrow_mut().adds.push((fp, host, entry));
        self.wake.set();
    }

    /// Lease `id` ends without a page (its request was dropped).
    pub(crate) fn drop_lease(&self, id: u64) {
        self.held.borrow_mut().remove(&id);
        self.out.borrow_mut().drops.push(id);
        self.wake.set();
    }

    /// `n` pages are done and their records on the way to the output.
    pub(crate) fn writing(&self, n: usize) {
        self.writing.set(self.writing.get() + n);
    }

    /// Their records are written: the pages' leases can end.
    pub(crate) fn written(&self, acks: Vec<u64>) {
        self.writing
            .set(self.writing.get().saturating_sub(acks.len()));
        let mut held = self.held.borrow_mut();
        for id in &acks {
            held.remove(id);
        }
        self.out.borrow_mut().acks.extend(acks);
        self.wake.set();
    }

    /// Lease `id` goes back to the queue unstarted.
    pub(crate) fn release(&self, id: u64) {
        self.held.borrow_mut().remove(&id);
        self.out.borrow_mut().releases.push(id);
    }

    /// Lease `id` ends, and its request (`entry`, from [`queue_entry`],
    /// its retries counted) is to be tried again after `wait`, by
    /// whichever worker leases it then (so the host's crawl-wide limit
    /// holds for retries too).
    pub(crate) fn retry(&self, id: u64, host: String, wait: Duration, entry: String) {
        self.held.borrow_mut().remove(&id);
        self.out
            .borrow_mut()
            .tries
            .push((id, host, wait.as_millis() as u64, entry));
        self.wake.set();
    }

    /// `host` answered (or failed): news for the crawl-wide overload
    /// backoff and autothrottle (dropped when both are off).
    pub(crate) fn answer(&self, host: String, answer: Answer) {
        self.out.borrow_mut().load.push((host, answer));
    }

    /// `host`'s robots.txt asks for `crawl_delay`, or it asked for a
    /// pause of `pause`.
    pub(crate) fn host_news(&self, host: String, crawl_delay: Duration, pause: Duration) {
        self.out.borrow_mut().hosts.push((
            host,
            crawl_delay.as_millis() as u64,
            pause.as_millis() as u64,
        ));
        self.wake.set();
    }

    /// Adds to the crawl's shared counters.
    pub(crate) fn count(&self, pages: i64, errors: i64, items: i64, retries: i64) {
        let mut o = self.out.borrow_mut();
        o.pages += pages;
        o.errors += errors;
        o.items += items;
        o.retries += retries;
    }

    /// How start URLs went on this worker since the last call: `ok` more
    /// were fetched, `failed` failed ("URL: why"). The crawl keeps them
    /// for whoever seeded it (`CrawlStatus::seeds_ok`, `seeds_failed`).
    pub(crate) fn seeds(&self, ok: u64, failed: Vec<String>) {
        let mut o = self.out.borrow_mut();
        o.seeds_ok += ok as i64;
        o.seeds_failed.extend(failed);
    }

    /// The engine could start `n` more requests.
    pub(crate) fn want(&self, n: usize) {
        let before = self.want.replace(n);
        if n > 0 && before == 0 {
            self.wake.set();
        }
    }

    /// Nothing left anywhere: no request queued, no lease out, nothing of
    /// ours unsent; and with an idle time, nothing came for that long.
    pub(crate) fn crawl_done(&self) -> bool {
        let waited = match (self.idle.get(), self.done_since.get()) {
            (None, _) => true,
            (Some(idle), Some(since)) => since.elapsed() >= idle,
            (Some(_), None) => false,
        };
        self.done.get()
            && waited
            && !self.busy.get()
            && self.writing.get() == 0
            && self.out.borrow().is_empty()
    }

    /// Stay this long once the crawl has nothing left, waiting for
    /// requests pushed in ([`RedisFrontier::idle_timeout`]).
    pub(crate) fn set_idle(&self, idle: Option<Duration>) {
        self.idle.set(idle);
    }

    /// Everything added so far reached Redis (no step on its way).
    pub(crate) fn flushed(&self) -> bool {
        !self.busy.get() && self.out.borrow().is_empty()
    }

    /// Of the requests this worker added, those Redis queued: the others
    /// were seen before.
    pub(crate) fn added(&self) -> u64 {
        self.added.get()
    }

    /// Whether the leases held may be started at `now`: no step has gone
    /// unanswered for the lease time (else another worker may have taken
    /// them back, and a page not in flight must not be fetched twice).
    pub(crate) fn leases_valid(&self, now: solo::time::Instant) -> bool {
        self.valid_until.get().is_none_or(|t| now < t)
    }

    /// What the last steps said to do with the leases held, once.
    pub(crate) fn take_reset(&self) -> Option<Reset> {
        self.reset.take()
    }

    /// The crawl's requests queued and leased over all workers (as of
    /// the last step), for the progress this worker reports.
    pub(crate) fn shared_counts(&self) -> (u64, u64) {
        self.shared.get()
    }

    /// The error that stopped the shared frontier, if any.
    pub(crate) fn fatal(&self) -> Option<String> {
        self.fatal.borrow().clone()
    }

    /// Says goodbye (leases not acknowledged go back) and waits for the
    /// task to end.
    pub(crate) async fn close(&self) {
        // Pages done but not yet written keep their leases until they are
        // (a second at most, unless the output is stuck).
        for _ in 0..500 {
            if self.writing.get() == 0 || self.finished.is_set() {
                break;
            }
            solo::sleep(Duration::from_millis(10)).await;
        }
        if self.finished.is_set() {
            return;
        }
        self.out.borrow_mut().bye = true;
        self.wake.set();
        self.finished.wait().await;
    }
}

/// Runs `f` on the (blocking) link on a helper thread, so the loop does
/// not wait on Redis; the link comes back into `link` after (a future
/// dropped meanwhile loses it: the caller must then not call again).
async fn on_thread<T: Send + 'static>(
    link: &mut Option<Link>,
    f: impl FnOnce(&mut Link) -> T + Send + 'static,
) -> T {
    let mut l = link.take().expect("link is back");
    let (l, r) = solo::to_thread(move || {
        let r = f(&mut l);
        (l, r)
    })
    .await;
    *link = Some(l);
    r
}

/// This worker's name: host, process, and a random part (a restarted
/// process is a new worker).
pub(crate) fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".into());
    format!(
        "{}:{}:{:04x}",
        host.trim(),
        std::process::id(),
        fastrand::u16(..)
    )
}
