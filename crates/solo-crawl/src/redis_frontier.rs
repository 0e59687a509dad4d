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

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

use solo::sync::Event;

use crate::redis_link::{explain, transient, Link};

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

/// The length of a queue entry's RANK (see [`queue_entry`]).
const RANK_LEN: usize = 13;

/// `req` as the script queues it: RANK (13 hex digits that sort the
/// highest priority first, then the shallowest) then its JSON. The script
/// keeps one list per host and rank, oldest first, and leases from the
/// lowest rank: so a host's queue in Redis is in the order of the
/// in-process frontier's.
pub(crate) fn queue_entry<C: serde::Serialize>(req: &crate::Request<C>) -> String {
    let rank = (i64::from(i32::MAX) - i64::from(req.priority)) as u32;
    let mut buf = format!("{rank:08x}{:05x}", req.depth.min(0xf_ffff)).into_bytes();
    if serde_json::to_writer(&mut buf, req).is_err() {
        buf.truncate(RANK_LEN);
    }
    // serde_json writes UTF-8 only.
    String::from_utf8(buf).unwrap_or_default()
}

/// A leased request's JSON as the reply has it (not UTF-8: made so, and
/// then it does not decode and its lease is dropped).
fn reply_json(json: Vec<u8>) -> String {
    String::from_utf8(json).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A [`queue_entry`] split into its RANK and its JSON (an entry too short
/// to have both: what it has).
fn rank_json(entry: &str) -> (&[u8], &[u8]) {
    let b = entry.as_bytes();
    b.split_at(b.len().min(RANK_LEN))
}

/// A step's arguments (the script's ARGV after the prefix), one buffer
/// for all of them: a step carries ~4 per page, and one allocation each
/// showed in the worker's profile.
#[derive(Debug, Default)]
pub(crate) struct StepArgs {
    buf: Vec<u8>,
    /// Where each argument ends in `buf`.
    ends: Vec<usize>,
}

impl StepArgs {
    fn with_capacity(n: usize) -> StepArgs {
        StepArgs {
            buf: Vec::with_capacity(n * 16),
            ends: Vec::with_capacity(n),
        }
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
        self.ends.push(self.buf.len());
    }

    fn num(&mut self, n: u64) {
        self.bytes(itoa::Buffer::new().format(n).as_bytes());
    }

    /// A key: `prefix`, `name`, then `n` in hex.
    fn key_hex(&mut self, prefix: &str, name: &str, n: u64) {
        use std::io::Write;
        let _ = write!(self.buf, "{prefix}{name}{n:x}");
        self.ends.push(self.buf.len());
    }

    /// The arguments in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(a, b)| &self.buf[a..b])
    }
}

/// What a step tells the script besides the outbox.
#[derive(Clone, Copy, Debug, Default)]
struct StepFlags {
    /// The last reply may be lost with leases in it: the leases this
    /// worker does not hold go back.
    keep: bool,
    /// A step of this worker found the crawl: if its keys are gone now,
    /// the crawl was lost (the script says so instead of starting an
    /// empty one under the same id).
    joined: bool,
}

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

    /// The script's ARGV (after the prefix) for `o`, of the crawl whose
    /// keys start with `prefix`.
    fn args(
        &self,
        (prefix, worker): (&str, &str),
        p: &Params,
        o: &Outbox,
        want: usize,
        step: StepFlags,
    ) -> StepArgs {
        let mut a = StepArgs::with_capacity(16 + o.adds.len() * 3 + o.acks.len());
        a.bytes(worker.as_bytes());
        a.num(p.per_host as u64);
        a.num(p.delay.as_millis() as u64);
        a.num(p.lease.as_millis() as u64);
        a.num(p.max_pages.unwrap_or(0));
        a.num(want as u64);
        a.num(u64::from(p.backoff));
        match &p.autothrottle {
            Some(t) => {
                a.bytes(t.target_concurrency.to_string().as_bytes());
                a.num(t.start_delay.as_millis() as u64);
                a.num(t.max_delay.as_millis() as u64);
            }
            None => {
                a.bytes(b"");
                a.num(0);
                a.num(0);
            }
        }
        a.num(u64::from(p.jitter));
        a.num(u64::from(p.obey_robots));
        a.num(u64::from(step.joined));
        // The adds by host and rank (each group in order), a URL once: a
        // repeat would find the first's SADD done (see frontier.lua).
        type Group<'a> = (&'a str, &'a [u8], Vec<(Option<u64>, &'a [u8])>);
        let mut groups: Vec<Group> = Vec::new();
        {
            let mut at: std::collections::HashMap<(&str, &[u8]), usize> = Default::default();
            let mut fps: HashSet<u64> = HashSet::with_capacity(o.adds.len());
            for (fp, host, entry) in &o.adds {
                if fp.is_some_and(|f| !fps.insert(f)) {
                    continue;
                }
                let (rank, json) = rank_json(entry);
                let i = *at.entry((host, rank)).or_insert_with(|| {
                    groups.push((host, rank, Vec::new()));
                    groups.len() - 1
                });
                groups[i].2.push((*fp, json));
            }
        }
        a.num(groups.len() as u64);
        for (host, rank, adds) in &groups {
            a.bytes(host.as_bytes());
            a.bytes(rank);
            a.num(adds.len() as u64);
            for (fp, json) in adds {
                // The seen bucket (top 16 bits) and member (low 48 bits,
                // an integer: the bucket is an intset, 8 bytes per URL);
                // see frontier.lua.
                match fp {
                    Some(f) => {
                        a.key_hex(prefix, "seen:", f >> 48);
                        a.num(f & 0xffff_ffff_ffff);
                    }
                    None => {
                        a.bytes(b"");
                        a.bytes(b"");
                    }
                }
                a.bytes(json);
            }
        }
        // The answers: one line per host, its answers in order, and
        // whether any is an overload.
        let mut overload = false;
        let mut load = String::new();
        if p.backoff || p.autothrottle.is_some() {
            let mut lines: Vec<(&str, String)> = Vec::new();
            let mut at: std::collections::HashMap<&str, usize> = Default::default();
            for (host, answer) in &o.load {
                let i = *at.entry(host).or_insert_with(|| {
                    lines.push((host, String::new()));
                    lines.len() - 1
                });
                overload |= answer.load == Load::Shed;
                answer.encode(&mut lines[i].1);
            }
            for (host, answers) in lines {
                load.push_str(host);
                load.push(' ');
                load.push_str(&answers);
                load.push('\n');
            }
        }
        a.num(u64::from(overload));
        a.bytes(load.as_bytes());
        for list in [&o.acks, &o.drops, &o.releases] {
            a.num(list.len() as u64);
            for id in list {
                a.num(*id);
            }
        }
        a.num(o.tries.len() as u64);
        for (id, host, wait, json) in &o.tries {
            a.num(*id);
            a.bytes(host.as_bytes());
            a.num(*wait);
            a.bytes(json.as_bytes());
        }
        a.num(o.hosts.len() as u64);
        for (host, cd, pause) in &o.hosts {
            a.bytes(host.as_bytes());
            a.num(*cd);
            a.num(*pause);
        }
        let keep = step.keep;
        a.num(u64::from(keep));
        let held = self.held.borrow();
        a.num(if keep { held.len() as u64 } else { 0 });
        if keep {
            for id in held.iter() {
                a.num(*id);
            }
        }
        for d in [o.pages, o.errors, o.items, o.retries, o.seeds_ok] {
            a.bytes(itoa::Buffer::new().format(d).as_bytes());
        }
        a.num(o.seeds_failed.len() as u64);
        for why in &o.seeds_failed {
            a.bytes(why.as_bytes());
        }
        a.num(u64::from(o.bye));
        a.num(self.cookie_cursor.get());
        a.num(o.cookies.len() as u64);
        for (key, state) in &o.cookies {
            a.bytes(key.as_bytes());
            // "": deleted (a state is a JSON object).
            a.bytes(state.as_deref().unwrap_or("").as_bytes());
        }
        a
    }

    /// The task that trades the outbox with Redis until the goodbye;
    /// `cookie` puts the other workers' cookie changes into the jars
    /// (key, state or `None`: deleted), before `deliver` hands the leased
    /// requests of the same reply to the engine (an empty batch when only
    /// the crawl's state changed).
    pub(crate) async fn drive(
        self: Rc<Self>,
        link: Link,
        prefix: String,
        worker: String,
        params: Params,
        cookie: crate::session::News,
        deliver: Box<dyn Fn(Leased)>,
    ) {
        let mut link = Some(link);
        let shown = link.as_ref().map(|l| l.shown.clone()).unwrap_or_default();
        let beat = params.lease / 3;
        let mut outage: Option<std::time::Instant> = None;
        // Since when Redis answers READONLY: a failover in progress, or a
        // replica for good (the URL names a replica, or a demoted primary).
        let mut readonly: Option<std::time::Instant> = None;
        let mut backoff = Duration::from_millis(100);
        let mut flags = StepFlags::default();
        let mut poll = Duration::from_millis(5);
        // When this worker last said a step was slow to be answered.
        let mut slow_said: Option<std::time::Instant> = None;
        loop {
            let want = if self.out.borrow().bye {
                0
            } else {
                self.want.get()
            };
            if self.out.borrow().is_empty() && want == 0 {
                // Nothing to say: wait for news, or beat.
                let woke = solo::timeout(beat, self.wake.wait()).await.is_ok();
                self.wake.clear();
                if woke {
                    continue;
                }
            }
            self.wake.clear();
            let want = if self.out.borrow().bye {
                0
            } else {
                self.want.get().min(1024)
            };
            let batch = std::mem::take(&mut *self.out.borrow_mut());
            let args = self.args((&prefix, &worker), &params, &batch, want, flags);
            let p = prefix.clone();
            let sent = solo::time::now();
            self.busy.set(true);
            let r = {
                let step = std::pin::pin!(on_thread(&mut link, move |l| l.step(&p, &args)));
                answered(step, &shown, &mut slow_said).await
            };
            self.busy.set(false);
            match r {
                Ok(reply) => {
                    flags = StepFlags {
                        keep: false,
                        joined: true,
                    };
                    backoff = Duration::from_millis(100);
                    readonly = None;
                    if outage.take().is_some() {
                        crate::logs::message(format_args!(
                            "solo-crawl: redis {shown} is back: continuing\n"
                        ));
                    }
                    let done = reply.first().is_some_and(|d| d == b"1");
                    let count = |i: usize| reply_num(reply.get(i).map(Vec::as_slice));
                    self.shared.set((count(1), count(2)));
                    let due = Duration::from_millis(count(3));
                    // The engine held the leases back: they may be started
                    // again (or given up, if the step says so).
                    let gated = !self.leases_valid(sent);
                    self.valid_until.set(Some(sent + params.lease));
                    let reset = self.news(&shown, &params, count(4), count(5) == 1, count(6));
                    self.added.set(self.added.get() + count(7));
                    let mut it = reply.into_iter().skip(8);
                    // Cookies first: the leases may need them.
                    self.take_cookies(&mut it, &*cookie);
                    // Then the first lease's id and each lease's JSON.
                    let mut leased = Leased::new();
                    if let Some(first) = it.next() {
                        let first = reply_num(Some(&first));
                        for (k, json) in it.enumerate() {
                            leased.push((first.saturating_add(k as u64), reply_json(json)));
                        }
                    }
                    self.held
                        .borrow_mut()
                        .extend(leased.iter().map(|(id, _)| *id));
                    let changed = self.done.replace(done) != done;
                    if changed {
                        self.done_since.set(done.then(std::time::Instant::now));
                    }
                    let got = !leased.is_empty();
                    if got {
                        self.want.set(self.want.get().saturating_sub(leased.len()));
                    }
                    if got || changed || done || gated || reset {
                        deliver(leased);
                    }
                    if batch.bye {
                        break;
                    }
                    if !got && want > 0 && !self.held.borrow().is_empty() {
                        // Every host is busy or waiting for its delay (or
                        // freed slots go to hungry workers): this worker's
                        // own pages will have news.
                        let wait = if due > Duration::ZERO {
                            poll.min(due)
                        } else {
                            poll
                        };
                        let _ = solo::timeout(wait, self.wake.wait()).await;
                        poll = (poll * 2).min(Duration::from_millis(50));
                    } else if !got && want > 0 && due > Duration::ZERO && due < REDIS_TICK {
                        // Hungry, and a host's delay ends sooner than a
                        // BLPOP's timeout can (Redis ends those on its
                        // timer tick): wait for it here.
                        let _ = solo::timeout(due, self.wake.wait()).await;
                    } else if !got && want > 0 {
                        // Hungry (no lease held): wait for another worker's
                        // step to say a slot is free or work was queued
                        // (on the link's thread), at most `poll`.
                        // A Redis that hangs is as likely to be met here
                        // (an idle worker spends most of its time in this
                        // wait) as in a step: it is told the same way.
                        let (p, w, wait) = (prefix.clone(), worker.clone(), poll);
                        let waited = std::pin::pin!(
                            on_thread(&mut link, move |l| l.wait_wake(&p, &w, wait))
                        );
                        let _ = answered(waited, &shown, &mut slow_said).await;
                        // Waiting for pushed requests: fewer steps (a push
                        // wakes it; the script forgets a hungry worker
                        // after a second without a step).
                        let most = if done { IDLE_POLL } else { HUNGRY_POLL };
                        poll = (poll * 2).min(most);
                    } else {
                        poll = Duration::from_millis(5);
                    }
                }
                Err(e)
                    if e.code() == Some("READONLY")
                        && readonly
                            .get_or_insert_with(std::time::Instant::now)
                            .elapsed()
                            > params.lease =>
                {
                    // Read-only for longer than a lease: no failover is
                    // coming to this address.
                    *self.fatal.borrow_mut() = Some(explain(&failed_where(&link, &shown), &e));
                    deliver(Leased::new());
                    break;
                }
                Err(e) if transient(&e) => {
                    self.out.borrow_mut().put_back(batch);
                    // The reply may be lost with leases in it: next time,
                    // leases this worker does not hold go back.
                    flags.keep = true;
                    let since = *outage.get_or_insert_with(|| {
                        crate::logs::message(format_args!(
                            "solo-crawl: {}; pausing the shared frontier, retrying with backoff\n",
                            explain(&failed_where(&link, &shown), &e)
                        ));
                        std::time::Instant::now()
                    });
                    if self.out.borrow().bye && since.elapsed() > params.lease {
                        let leases = match self.held.borrow().len() {
                            0 => "this worker holds no lease".to_owned(),
                            n => format!("this worker's {n} leases expire in {:?}", params.lease),
                        };
                        crate::logs::message(format_args!(
                            "solo-crawl: redis {shown} still unreachable; leaving: {leases}\n"
                        ));
                        break;
                    }
                    solo::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    *self.fatal.borrow_mut() = Some(explain(&failed_where(&link, &shown), &e));
                    deliver(Leased::new());
                    break;
                }
            }
        }
        self.finished.set();
    }
}

impl Remote {
    /// What a step's reply says besides the leases: this worker's step
    /// count `gen` (not above the last one: Redis went back to an earlier
    /// state), whether its leases had been taken back, how many queued
    /// requests were found gone. Said once each; whether the engine must
    /// reset its leases.
    fn news(&self, shown: &str, params: &Params, gen: u64, reclaimed: bool, lost: u64) -> bool {
        // 0: no count (the goodbye's step ends it).
        let last = match gen {
            0 => 0,
            _ => self.last_gen.replace(gen),
        };
        let reset = if last > 0 && gen <= last {
            crate::logs::message(format_args!(
                "solo-crawl: redis {shown} went back to an earlier state (restarted from an RDB \
                 snapshot, failed over to a replica that lagged, or restored from a backup): \
                 what the crawl did since then is lost there, so those pages are fetched again; \
                 this worker gives back the requests it had not started and forgets the URLs \
                 it had seen, so their links are queued again (with appendonly yes a restart \
                 loses nothing)\n"
            ));
            Some(Reset::RolledBack)
        } else if reclaimed {
            crate::logs::message(format_args!(
                "solo-crawl: this worker was silent longer than --lease-timeout ({:?}: stopped, \
                 cut off, or redis {shown} unreachable) and its leases went to the other \
                 workers: it gives up the requests it had not started (those in flight finish, \
                 and may be fetched twice)\n",
                params.lease
            ));
            Some(Reset::Reclaimed)
        } else {
            None
        };
        if lost > 0 {
            crate::logs::message(format_args!(
                "solo-crawl: redis {shown}: {lost} requests counted as queued are gone from \
                 Redis (their keys were deleted, or evicted: its maxmemory-policy must be \
                 noeviction); the crawl ends without them\n"
            ));
        }
        if let Some(r) = reset {
            // A rollback outranks a reclaim (it also forgets the seen URLs).
            let r = match self.reset.get() {
                Some(Reset::RolledBack) => Reset::RolledBack,
                _ => r,
            };
            self.reset.set(Some(r));
        }
        reset.is_some()
    }

    /// Reads the reply's cookie section (cursor, count, then key and
    /// state of each: see frontier.lua) into the jars.
    fn take_cookies(
        &self,
        it: &mut impl Iterator<Item = Vec<u8>>,
        cookie: &dyn Fn(&str, Option<&str>),
    ) {
        let cursor = reply_num(it.next().as_deref());
        let n = reply_num(it.next().as_deref());
        for _ in 0..n {
            let (Some(key), Some(state)) = (it.next(), it.next()) else {
                break;
            };
            let key = String::from_utf8_lossy(&key);
            let state = String::from_utf8_lossy(&state);
            cookie(&key, (!state.is_empty()).then_some(&*state));
        }
        if cursor > self.cookie_cursor.get() {
            self.cookie_cursor.set(cursor);
        }
    }
}

/// A number of the script's reply (0 if it is not one).
fn reply_num(v: Option<&[u8]>) -> u64 {
    v.and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
        .unwrap_or(0)
}

/// How often Redis ends blocked clients' timeouts at its default `hz`
/// (10): a BLPOP asked to wait 5 ms returns after up to ~100 ms.
const REDIS_TICK: Duration = Duration::from_millis(100);

/// The longest wait between a hungry worker's steps while the crawl has
/// work out (others' pages will free slots soon).
const HUNGRY_POLL: Duration = Duration::from_millis(50);

/// The same while the crawl has nothing left and the worker waits for
/// requests pushed in: below the second after which the script stops
/// waking a hungry worker, so a push still wakes it at once.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Runs `f` on the (blocking) link on a helper thread, so the loop does
/// not wait on Redis; the link comes back into `link` after.
/// The Redis to name for a failure of `link` (which node of a cluster),
/// or `shown` while the link is away.
fn failed_where(link: &Option<Link>, shown: &str) -> String {
    link.as_ref()
        .map_or_else(|| shown.to_owned(), Link::failed_where)
}

/// How long a step may wait for Redis's answer before the worker says
/// so: a Redis that hangs (a fork under memory pressure, a network cut
/// without a reset) is otherwise only noticed at the socket's timeout.
const SLOW_ANSWER: Duration = Duration::from_secs(5);

/// The result of `step`; if it is not answered in [`SLOW_ANSWER`], says
/// so (at most once a minute), and again when the answer comes.
async fn answered<T>(
    mut step: std::pin::Pin<&mut impl std::future::Future<Output = Result<T, redis::RedisError>>>,
    shown: &str,
    said: &mut Option<std::time::Instant>,
) -> Result<T, redis::RedisError> {
    if let Ok(r) = solo::timeout(SLOW_ANSWER, step.as_mut()).await {
        return r;
    }
    let tell = said.is_none_or(|t| t.elapsed() > Duration::from_secs(60));
    if tell {
        *said = Some(std::time::Instant::now());
        crate::logs::message(format_args!(
            "solo-crawl: redis {shown} has not answered for {} s: the shared frontier waits \
             (the connection is given up after 30 s without an answer, then retried)\n",
            SLOW_ANSWER.as_secs()
        ));
    }
    let started = std::time::Instant::now() - SLOW_ANSWER;
    let r = step.await;
    if tell && r.is_ok() {
        crate::logs::message(format_args!(
            "solo-crawl: redis {shown} answered after {:.1} s: continuing\n",
            started.elapsed().as_secs_f64()
        ));
    }
    r
}

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

/// robots.txt answers shared by the workers of a crawl (`P..robots`): the
/// first worker to need a host's claims it and stores what it fetched;
/// the others wait for that and parse the same answer, so each robots.txt
/// is fetched once per crawl. On its own connection (robots.txt lookups
/// are rare, and must not wait behind a frontier step).
pub(crate) struct RobotsShare {
    link: solo::sync::Mutex<Option<Link>>,
    prefix: String,
    /// This worker's name (its frontier steps'): a claim is its, and
    /// goes with its leases when it is taken for dead.
    worker: String,
    /// How long a worker's claim to fetch a robots.txt lasts (then
    /// another worker may claim it).
    patience: Duration,
    /// How long a stored answer is used (`Config::robots_max_age`; less
    /// for one that says robots.txt was unreachable).
    max_age: Duration,
}

/// What [`RobotsShare::claim`] found.
pub(crate) enum Robots {
    /// This worker fetches it (then [`RobotsShare::store`]s it).
    Fetch,
    /// The stored answer: status (`None`: the fetch failed) and body.
    Stored(Option<u16>, Vec<u8>),
}

impl RobotsShare {
    pub(crate) fn new(
        link: Link,
        prefix: String,
        worker: String,
        patience: Duration,
        max_age: Duration,
    ) -> RobotsShare {
        RobotsShare {
            link: solo::sync::Mutex::new(Some(link)),
            prefix,
            worker,
            patience,
            max_age,
        }
    }

    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Link, &str) -> Result<T, redis::RedisError> + Send + 'static,
    ) -> Option<T> {
        let mut guard = self.link.lock().await;
        let mut link = guard.take()?;
        let prefix = self.prefix.clone();
        let (link, r) = solo::to_thread(move || {
            let r = f(&mut link, &prefix);
            (link, r)
        })
        .await;
        *guard = Some(link);
        r.ok()
    }

    /// The stored answer for `host`, or [`Robots::Fetch`]: claimed by this
    /// worker, or Redis failed, or another worker's fetch took too long.
    pub(crate) async fn claim(&self, host: &str) -> Robots {
        let deadline = solo::time::now() + 2 * self.patience;
        loop {
            let (h, w) = (host.to_owned(), self.worker.clone());
            let (claim, ages) = (self.patience, self.ages());
            match self
                .call(move |l, p| l.robots_claim(p, (&h, &w), claim, ages))
                .await
            {
                Some(Some((u16::MAX, _))) if solo::time::now() < deadline => {
                    solo::sleep(Duration::from_millis(50)).await;
                }
                Some(Some((status, body))) if status != u16::MAX => {
                    return Robots::Stored((status != 0).then_some(status), body)
                }
                _ => return Robots::Fetch,
            }
        }
    }

    /// How long a stored answer is used: a robots.txt, and one that was
    /// unreachable.
    fn ages(&self) -> (Duration, Duration) {
        let unreachable = self.max_age.min(crate::frontier::UNREACHABLE_ROBOTS_AGE);
        (self.max_age, unreachable)
    }

    /// Stores what this worker fetched for `host` (a failure is ignored:
    /// the others then wait for it, then fetch it themselves).
    pub(crate) async fn store(&self, host: &str, status: Option<u16>, body: &[u8]) {
        // What the parser reads, and the byte that says it was cut.
        let body = body[..body.len().min(crate::robots::MAX_PARSED + 1)].to_vec();
        let (h, w) = (host.to_owned(), self.worker.clone());
        self.call(move |l, p| l.robots_store(p, (&h, &w), status.unwrap_or(0), &body))
            .await;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Request;

    fn req(path: &str, priority: i32, depth: u32) -> Request<()> {
        let mut r = Request::new(url::Url::parse(path).unwrap(), ()).with_priority(priority);
        r.depth = depth;
        r
    }

    #[test]
    fn queue_ranks_sort_like_the_in_process_frontier() {
        // Highest priority first, then shallowest (the script keeps each
        // rank's requests oldest first).
        let order = [
            ("http://h/a", i32::MAX, 9),
            ("http://h/b", 5, 0),
            ("http://h/c", 0, 0),
            ("http://h/d", 0, 3),
            ("http://h/e", -1, 0),
            ("http://h/f", i32::MIN, 0),
        ];
        let mut entries: Vec<String> = order
            .iter()
            .rev()
            .map(|(u, p, d)| queue_entry(&req(u, *p, *d)))
            .collect();
        assert!(entries.iter().all(|e| e.as_bytes()[RANK_LEN] == b'{'));
        entries.sort_by(|a, b| a[..RANK_LEN].cmp(&b[..RANK_LEN]));
        let urls: Vec<String> = entries
            .iter()
            .map(|e| {
                let (rank, json) = rank_json(e);
                assert_eq!(rank.len(), RANK_LEN);
                let r: Request<()> = serde_json::from_str(&reply_json(json.to_vec())).unwrap();
                r.url.to_string()
            })
            .collect();
        let want: Vec<String> = order.iter().map(|(u, _, _)| u.to_string()).collect();
        assert_eq!(urls, want);
        // Not an entry: no JSON, no panic.
        assert_eq!(rank_json("short"), (&b"short"[..], &b""[..]));
        assert_eq!(reply_json(b"\xff{".to_vec()), "\u{fffd}{");
    }
}
