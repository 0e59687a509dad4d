//! The scheduler: which request goes next.
//!
//! Owns: the seen set (fingerprints of every request ever accepted but
//! `dont_filter` ones: method, canonical URL, body, cookie jar; with a
//! depth limit each one's smallest depth, in `frontier::seen`; and the
//! store keys of `dont_filter` start requests, the same in every run, so
//! that a resumed crawl does not fetch those again), the
//! per-host queues, and the rules a URL must pass to be queued — http or
//! https, depth limit, max pages, scope (start hosts and allowed domains; a
//! `dont_filter` request the crawl makes is exempt, as in Scrapy),
//! allow/deny regexes, not seen before — and to be dequeued: its host has a
//! free slot, its delay has elapsed, its robots.txt is known and allows it,
//! and, with a per-IP limit, its address is known and its IP's group has a
//! free slot (see [`per_ip`](crate::per_ip): a host's first job is then
//! to resolve it, which the engine does).
//! Hosts take turns (round robin), and within a host the highest priority,
//! then the shallowest, then the oldest request goes first (breadth-first).
//! A host that is slow, waiting for its delay or for its robots.txt is
//! simply not picked: the others go on. Must not: do I/O or await — the
//! engine asks, the frontier answers at once.
//!
//! This file holds the frontier's state and what the engine reads of it;
//! what changes it lives in one submodule per concern: [`admit`] (the
//! rules a request must pass to be queued), [`dispatch`] (which job
//! starts next, and what a finished one changes), [`spill`] (what a state
//! store keeps and gives back) and [`seen`] (the seen set).

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use regex::Regex;
use url::Url;

use crate::config::Config;
use crate::per_ip::{GroupId, PerIp};
use crate::request::Request;
use crate::robots::RobotsRules;
use crate::throttle::{AutoThrottle, HostLimit};

mod admit;
mod dispatch;
mod seen;
mod spill;
#[cfg(test)]
mod tests;

use seen::Seen;

/// A host's index in the frontier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub usize);

/// What the engine should start next.
#[derive(Debug)]
// A job lives from `next` to its task's start: boxing the request would
// only add an allocation per page.
#[allow(clippy::large_enum_variant)]
pub enum Job<C> {
    /// Resolve the host's name (with a per-IP limit, before anything
    /// else of the host), then call [`Frontier::resolved`].
    Resolve {
        /// The host.
        host: HostId,
        /// Its name (or IP literal), as in its URLs.
        name: String,
    },
    /// Fetch the host's robots.txt (before any of its pages).
    Robots {
        /// The host.
        host: HostId,
        /// `scheme://host:port/robots.txt`.
        url: Url,
        /// Earlier attempts (retries after a network error, 5xx or 429).
        tries: u32,
    },
    /// Fetch a page.
    Page {
        /// The host.
        host: HostId,
        /// The request.
        request: Request<C>,
    },
}

/// Spilled requests taken back from the store at once at most, and the
/// queue length under which they are when the memory cap is larger than
/// twice this (see [`Frontier::wants_unspill`]).
const UNSPILL_BATCH: usize = 10_000;

/// The store key of the `n`-th `dont_filter` start request with
/// fingerprint `fp` (from 0): the same in every run, so that a resumed
/// crawl knows the start requests it holds; apart from the fingerprints
/// (a mix of them with a constant, as for unclaimed requisites).
fn start_key(fp: u64, n: u32) -> u64 {
    // splitmix64's finalizer over the fingerprint, salted, and `n`.
    let mut z = fp ^ 0x57a2_7d0f_f17e_5eed ^ u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Offsite hosts told at most (see [`Frontier::take_offsite_news`]): a
/// crawl linking to many hosts holds a bounded set of them.
const OFFSITE_HOSTS_TOLD: usize = 1000;

/// Why a request was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejected {
    /// Its canonical URL was queued before (with a depth limit: at the
    /// same depth or a smaller one).
    Seen,
    /// Not http or https, or no host.
    Scheme,
    /// Deeper than the depth limit.
    TooDeep,
    /// Its host is out of scope.
    Offsite,
    /// It failed the allow/deny regexes.
    Filtered,
    /// The page budget is spent.
    MaxPages,
    /// Its host name mixes scripts (a likely look-alike; see the `idn`
    /// module).
    BadHost,
    /// Above the directory of every start URL of its host
    /// (`Config::no_parent`).
    Parent,
}

impl Rejected {
    /// A short stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejected::Seen => "seen",
            Rejected::Scheme => "scheme",
            Rejected::TooDeep => "too_deep",
            Rejected::Offsite => "offsite",
            Rejected::Filtered => "filtered",
            Rejected::MaxPages => "max_pages",
            Rejected::BadHost => "bad_host",
            Rejected::Parent => "parent",
        }
    }
}

/// The hasher of [`SeenSet`]: fingerprints are already hashes, so it uses
/// them as they are.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The set of fingerprints seen: 8 bytes and a control byte per slot, at
/// most 7/8 full, so 10 M URLs take 144 MiB (the `seen_memory` example
/// measures it). With a depth limit the frontier keeps each URL's depth
/// too (a map: twice that).
pub type SeenSet = HashSet<u64, BuildHasherDefault<IdHasher>>;

struct Entry<C> {
    priority: i32,
    depth: u32,
    seq: u64,
    /// Its fingerprint, for the stale check (`None`: `dont_filter`, a
    /// retry, or no depths kept).
    fp: Option<u64>,
    request: Request<C>,
}

impl<C> PartialEq for Entry<C> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<C> Eq for Entry<C> {}
impl<C> PartialOrd for Entry<C> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<C> Ord for Entry<C> {
    /// Greater pops first: higher priority, then lower depth, then older.
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then(other.depth.cmp(&self.depth))
            .then(other.seq.cmp(&self.seq))
    }
}

/// What the frontier knows of a host's address (see `per_ip`).
enum Address {
    /// Not resolved yet: its first job resolves it.
    Unknown,
    /// Being resolved.
    Resolving,
    /// Its per-IP group (`None`: no per-IP limit, or the name did not
    /// resolve).
    Known(Option<GroupId>),
}

impl Address {
    fn group(&self) -> Option<GroupId> {
        match self {
            Address::Known(g) => *g,
            _ => None,
        }
    }
}

enum RobotsState {
    Unknown,
    Fetching,
    /// The rules, until this instant (then robots.txt is fetched again;
    /// `None`: for the whole crawl).
    Ready(RobotsRules, Option<Instant>),
}

/// How long a robots.txt that could not be fetched keeps its host's pages
/// from being fetched before it is asked again (at most
/// `Config::robots_max_age`): a server's passing trouble does not close
/// the host for the rest of a long crawl.
pub const UNREACHABLE_ROBOTS_AGE: Duration = Duration::from_secs(3600);

struct Host<C> {
    origin: Url,
    queue: BinaryHeap<Entry<C>>,
    in_flight: usize,
    next_at: Option<Instant>,
    crawl_delay: Duration,
    /// The adaptive throttle's pause (zero without one).
    auto_delay: Duration,
    /// Requests allowed in flight now (`per_host`, less while the server
    /// sheds load).
    limit: HostLimit,
    robots: RobotsState,
    /// robots.txt fetches of this host that asked for a retry.
    robots_tries: u32,
    address: Address,
    /// In `ready`, `timed` or `budget_parked` (never two, never twice).
    scheduled: bool,
}

struct Delayed<C> {
    at: Instant,
    seq: u64,
    host: HostId,
    request: Request<C>,
}

impl<C> PartialEq for Delayed<C> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<C> Eq for Delayed<C> {}
impl<C> PartialOrd for Delayed<C> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<C> Ord for Delayed<C> {
    /// Greater pops first: the earliest.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Counts of what the frontier turned away.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrontierCounts {
    /// Already seen (duplicates, equivalent URLs).
    pub seen: u64,
    /// Off-site links.
    pub offsite: u64,
    /// Too deep.
    pub too_deep: u64,
    /// Failed allow/deny.
    pub filtered: u64,
    /// Not http(s).
    pub scheme: u64,
    /// Dropped because the page budget was spent.
    pub max_pages: u64,
    /// Disallowed by robots.txt.
    pub robots: u64,
    /// Not fetched: the host's robots.txt could not be fetched
    /// (`Config::robots_unreachable`).
    pub robots_unreachable: u64,
    /// Host names that mix scripts.
    pub bad_host: u64,
    /// Above the start URLs' directories (`Config::no_parent`).
    pub parent: u64,
}

/// The scheduler (see the module docs).
pub struct Frontier<C> {
    depth_limit: Option<u32>,
    max_pages: Option<u64>,
    per_host: usize,
    delay: Duration,
    jitter: bool,
    throttle: Option<AutoThrottle>,
    overload_backoff: bool,
    stay_on_start_hosts: bool,
    /// Links go no higher than a start URL's directory (`Config::no_parent`).
    no_parent: bool,
    /// The start URLs' directories (`origin` and path up to its last
    /// `/`), with `no_parent`.
    start_dirs: Vec<(url::Origin, String)>,
    /// Page requisites are exempt from the scope (start hosts,
    /// `allow_domains`, `allow`): `--page-requisites` without
    /// `--requisites-in-scope`.
    requisites_anywhere: bool,
    /// `dont_filter` requests are exempt from the scope (start hosts,
    /// `allow_domains`), as Scrapy's offsite filter lets them through;
    /// not those pushed from outside the crawl.
    dont_filter_anywhere: bool,
    allow_domains: Vec<String>,
    allow: Vec<Regex>,
    deny: Vec<Regex>,
    obey_robots: bool,
    /// How long a host's robots.txt rules are kept (`Config::robots_max_age`).
    robots_max_age: Duration,
    /// The per-IP groups, with a per-IP limit.
    per_ip: Option<PerIp>,

    seen: Seen,
    hosts: Vec<Host<C>>,
    host_index: HashMap<String, HostId>,
    start_hosts: HashSet<String>,
    ready: VecDeque<HostId>,
    timed: BinaryHeap<Reverse<(Instant, HostId)>>,
    delayed: BinaryHeap<Delayed<C>>,
    seq: u64,
    dispatched: u64,
    /// robots.txt jobs started and not finished.
    robots_fetching: u64,
    /// Hosts whose robots.txt waits because the page budget, counting
    /// the pages started and a page for each robots.txt being fetched,
    /// could not reach their pages (woken as that changes).
    budget_parked: VecDeque<HostId>,
    /// Pages done (with a state store: what it keeps for the budget).
    pages_done: u64,
    queued: usize,
    in_flight: usize,
    counts: FrontierCounts,
    /// With a state store: requests kept in memory at most (the rest are
    /// spilled to the store).
    cap: Option<usize>,
    /// Requests waiting in the store only.
    spilled: u64,
    /// With a state store: requests left in it for a later run because
    /// the page budget is spent (a run with a larger `--max-pages` takes
    /// them up again).
    parked: u64,
    /// Fingerprints of requests dropped for good since the last
    /// `take_dropped` (tracked with a store only).
    dropped: Vec<u64>,
    /// With a shared frontier (Redis): accepted requests are handed to
    /// `accepted` only (they come back leased), and dropped leased ones
    /// are kept in `dropped_leases` for the engine to acknowledge.
    remote: bool,
    /// (lease, host key) of leased requests dropped since the last
    /// `take_dropped_leases`.
    dropped_leases: Vec<u64>,
    /// Start URLs not fetched because their host's robots.txt could not
    /// be, with why, since the last `take_unreachable_seeds`.
    unreachable_seeds: Vec<String>,
    /// Requests not fetched because their host's robots.txt could not be,
    /// with the robots.txt fetch's error, since the last
    /// `take_robots_unreachable` (each gets a record).
    robots_unreachable: Vec<(Request<C>, String)>,
    /// Hosts whose requests were turned away as offsite (at most
    /// [`OFFSITE_HOSTS_TOLD`]), and the first such URL of each new one
    /// since the last `take_offsite_news`, for the engine to tell.
    offsite_hosts: HashSet<String>,
    offsite_news: Vec<(String, Url)>,
    /// `dont_filter` start requests pushed so far, by fingerprint: the
    /// n-th of equal ones has the store key [`start_key`]`(fp, n)`.
    dont_filter_starts: HashMap<u64, u32>,
}

impl<C> Frontier<C> {
    /// An empty frontier with `config`'s rules.
    pub fn new(config: &Config) -> Frontier<C> {
        Frontier {
            depth_limit: config.depth_limit,
            max_pages: config.max_pages,
            per_host: config.per_host.max(1),
            delay: config.delay,
            jitter: config.jitter,
            throttle: config.autothrottle.clone(),
            overload_backoff: config.overload_backoff,
            stay_on_start_hosts: config.stay_on_start_hosts,
            no_parent: config.no_parent,
            start_dirs: Vec::new(),
            requisites_anywhere: config.page_requisites && !config.requisites_in_scope,
            dont_filter_anywhere: true,
            allow_domains: config
                .allow_domains
                .iter()
                .map(|d| {
                    let d = d.trim_start_matches('.');
                    // A Unicode domain matches hosts in their punycode form.
                    idna::domain_to_ascii(d).unwrap_or_else(|_| d.to_ascii_lowercase())
                })
                .collect(),
            allow: config.allow.clone(),
            deny: config.deny.clone(),
            obey_robots: config.obey_robots,
            robots_max_age: config.robots_max_age,
            per_ip: config.per_ip.map(PerIp::new),
            seen: Seen::new(config.depth_limit.is_some()),
            hosts: Vec::new(),
            host_index: HashMap::new(),
            start_hosts: HashSet::new(),
            ready: VecDeque::new(),
            timed: BinaryHeap::new(),
            delayed: BinaryHeap::new(),
            seq: 0,
            dispatched: 0,
            robots_fetching: 0,
            budget_parked: VecDeque::new(),
            pages_done: 0,
            queued: 0,
            in_flight: 0,
            counts: FrontierCounts::default(),
            cap: None,
            spilled: 0,
            parked: 0,
            dropped: Vec::new(),
            remote: false,
            dropped_leases: Vec::new(),
            unreachable_seeds: Vec::new(),
            robots_unreachable: Vec::new(),
            offsite_hosts: HashSet::new(),
            offsite_news: Vec::new(),
            dont_filter_starts: HashMap::new(),
        }
    }

    /// Makes this frontier a worker's cache of a shared one: accepted
    /// requests are not queued here but handed to `push_with`'s callback
    /// (as spilled), and come back through [`restore`](Frontier::restore)
    /// once leased.
    pub(crate) fn set_remote(&mut self) {
        self.remote = true;
        // Redis's seen set has no depths: a URL is taken once.
        self.seen = Seen::new(false);
    }

    /// Requests `host` may have in flight now.
    #[cfg(test)]
    pub fn host_limit(&self, host: HostId) -> usize {
        self.hosts[host.0].limit.limit()
    }

    /// The adaptive throttle's current pause for `host` (zero without a
    /// throttle).
    #[cfg(test)]
    pub fn host_pause(&self, host: HostId) -> Duration {
        self.hosts[host.0].auto_delay
    }

    /// When the next job could become ready by time alone (a host's delay
    /// ends, a retry is due).
    pub fn wake_at(&self) -> Option<Instant> {
        let t = self.timed.peek().map(|Reverse((at, _))| *at);
        let d = self.delayed.peek().map(|d| d.at);
        match (t, d) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Nothing queued, spilled (while the budget lasts: then it is
    /// parked), waiting or in flight: the crawl is over.
    pub fn is_idle(&self) -> bool {
        self.in_flight == 0
            && self.queued == 0
            && self.delayed.is_empty()
            && (self.spilled == 0 || self.budget_spent())
    }

    /// Requests queued (not started, not waiting for a retry).
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// The `n` hosts with the most requests queued (`host:port`, count),
    /// busiest first; hosts with none are left out. Walks every host: for
    /// the metrics, once a second at most.
    pub fn busiest_hosts(&self, n: usize) -> Vec<(String, usize)> {
        let mut busy: Vec<(usize, usize)> = (self.hosts.iter().enumerate())
            .filter(|(_, h)| !h.queue.is_empty())
            .map(|(i, h)| (h.queue.len(), i))
            .collect();
        if busy.len() > n && n > 0 {
            busy.select_nth_unstable_by(n - 1, |a, b| b.cmp(a));
        }
        busy.truncate(n);
        busy.sort_unstable_by(|a, b| b.cmp(a));
        busy.into_iter()
            .map(|(len, i)| {
                let o = &self.hosts[i].origin;
                let host = o.host_str().unwrap_or_default();
                (
                    format!("{host}:{}", o.port_or_known_default().unwrap_or(0)),
                    len,
                )
            })
            .collect()
    }

    /// Jobs started and not completed.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Pages started (retries not counted).
    #[cfg(test)]
    pub fn dispatched(&self) -> u64 {
        self.dispatched
    }

    /// Requests waiting in the store only.
    pub fn spilled(&self) -> u64 {
        self.spilled
    }

    /// Requests not crawled yet: queued, spilled to the state store, and
    /// parked there because the page budget is spent (a run with a larger
    /// `--max-pages` crawls them).
    pub fn left(&self) -> u64 {
        self.queued as u64 + self.spilled + self.parked
    }

    /// URLs seen.
    pub fn seen(&self) -> usize {
        self.seen.len()
    }

    /// What was turned away, by reason.
    pub fn counts(&self) -> &FrontierCounts {
        &self.counts
    }
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn example_1() {
        assert_eq!(solo_crawl::frontier::Rejected::TooDeep.as_str(), "too_deep");
    }

    #[test]
    fn example_2() {
        assert_eq!(solo_crawl::frontier::Rejected::Offsite.as_str(), "offsite");
    }

    #[test]
    fn example_3() {
        let mut seen = solo_crawl::frontier::SeenSet::default();
        assert!(seen.insert(0xfeed));
        assert!(!seen.insert(0xfeed));
    }

    #[test]
    fn example_4() {
        let f = solo_crawl::frontier::Frontier::<()>::new(&Default::default());
        assert!(f.is_idle());
    }

    #[test]
    fn example_5() {
        let mut f = solo_crawl::frontier::Frontier::new(&Default::default());
        let fp = f
            .push_start(solo_crawl::Request::parse("http://a.test/", ()).unwrap())
            .unwrap();
        assert_eq!(
            fp,
            solo_crawl::canon::fingerprint(&url::Url::parse("http://a.test/").unwrap())
        );
    }

    #[test]
    fn example_6() {
        use solo_crawl::frontier::{Frontier, Rejected};
        let mut f = Frontier::new(&Default::default());
        f.push_start(solo_crawl::Request::parse("http://a.test/", ()).unwrap())
            .unwrap();
        let off = solo_crawl::Request::parse("http://b.test/", ()).unwrap();
        assert_eq!(f.push(off), Err(Rejected::Offsite));
        let ftp = solo_crawl::Request::parse("ftp://a.test/", ()).unwrap();
        assert_eq!(f.push(ftp), Err(Rejected::Scheme));
    }

    #[test]
    fn example_7() {
        use solo_crawl::{
            frontier::{Frontier, Job},
            Config, Request,
        };
        use std::time::Instant;
        let mut f = Frontier::new(&Config {
            obey_robots: false,
            ..Default::default()
        });
        let now = Instant::now();
        f.push_start(Request::parse("http://a.test/", ()).unwrap())
            .unwrap();
        let mut next = Request::parse("http://a.test/next#frag", ()).unwrap();
        next.depth = 1;
        f.push(next.clone()).unwrap();
        assert!(f.push(next).is_err()); // seen
        let Some(Job::Page { host, request }) = f.next(now) else {
            panic!()
        };
        assert_eq!(request.url.path(), "/");
        f.complete(host, now);
        assert!(matches!(f.next(now), Some(Job::Page { .. })));
    }

    #[test]
    fn example_8() {
        use solo_crawl::{
            frontier::{Frontier, Job},
            AutoThrottle, Config, Request,
        };
        use std::time::{Duration, Instant};
        let mut f = Frontier::new(&Config {
            obey_robots: false,
            autothrottle: Some(AutoThrottle::default()),
            ..Default::default()
        });
        f.push_start(Request::parse("http://a.test/", ()).unwrap())
            .unwrap();
        let now = Instant::now();
        let Some(Job::Page { host, .. }) = f.next(now) else {
            panic!()
        };
        assert_eq!(f.host_pause(host), Duration::from_secs(1));
        f.observe(host, Duration::from_millis(10), Some(429), now);
        assert_eq!(f.host_pause(host), Duration::from_secs(2));
    }

    #[test]
    fn example_9() {
        use solo_crawl::{
            frontier::{Frontier, Job},
            Config, Request,
        };
        use std::time::Instant;
        let mut f = Frontier::new(&Config {
            obey_robots: false,
            per_host: 8,
            ..Default::default()
        });
        for i in 0..8 {
            f.push_start(Request::parse(&format!("http://a.test/{i}"), ()).unwrap())
                .unwrap();
        }
        let now = Instant::now();
        let mut hosts = Vec::new();
        while let Some(Job::Page { host, .. }) = f.next(now) {
            hosts.push(host);
        }
        assert_eq!(hosts.len(), 8);
        f.complete(hosts[0], now);
        f.shed_load(hosts[0]);
        assert_eq!(f.host_limit(hosts[0]), 4);
    }
}
