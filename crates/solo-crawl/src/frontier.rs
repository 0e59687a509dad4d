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

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use regex::Regex;
use url::Url;

use crate::canon::host_key;
use crate::config::Config;
use crate::per_ip::{GroupId, PerIp};
use crate::request::Request;
use crate::robots::RobotsRules;
use crate::throttle::{AutoThrottle, HostLimit};

mod seen;
use seen::{Met, Seen};

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

    /// Queues a start request: its host joins the crawl's scope, and the
    /// scope and allow/deny rules do not apply to it.
    #[cfg(test)]
    pub fn push_start(&mut self, request: Request<C>) -> Result<u64, Rejected> {
        self.push_with(request, true, |_, _, _| {})
    }

    /// Queues a followed request if it passes the rules; returns its
    /// fingerprint.
    #[cfg(test)]
    pub fn push(&mut self, request: Request<C>) -> Result<u64, Rejected> {
        self.push_with(request, false, |_, _, _| {})
    }

    /// Holds `dont_filter` requests to the scope too: for requests
    /// pushed into a crawl from outside it, which must not widen it.
    pub(crate) fn scope_dont_filter(&mut self) {
        self.dont_filter_anywhere = false;
    }

    /// `url`'s host is a start host (in scope when the crawl stays on its
    /// start hosts). A resumed crawl says so before it restores what it
    /// had queued, which is checked against the scope again.
    pub(crate) fn add_start_host(&mut self, url: &Url) {
        if let Some(h) = url.host_str() {
            if !self.start_hosts.contains(h) {
                self.start_hosts.insert(h.to_owned());
            }
        }
        if self.no_parent {
            let path = url.path();
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            let dir = (url.origin(), dir.to_owned());
            if !self.start_dirs.contains(&dir) {
                self.start_dirs.push(dir);
            }
        }
    }

    /// Whether `url` is at or below the directory of a start URL of its
    /// origin (wget's `--no-parent`); every URL is without `no_parent`.
    fn below_a_start(&self, url: &Url) -> bool {
        if !self.no_parent || self.start_dirs.is_empty() {
            return true;
        }
        let origin = url.origin();
        let path = url.path();
        self.start_dirs.iter().any(|(o, dir)| {
            *o == origin && (path.starts_with(dir.as_str()) || dir.strip_suffix('/') == Some(path))
        })
    }

    /// [`push`](Frontier::push) (or [`push_start`](Frontier::push_start)
    /// when `start`), calling `accepted(fingerprint, request, spilled)`
    /// before the request is queued — or spilled: over the memory cap the
    /// request is only counted here, and `accepted` must store it.
    pub(crate) fn push_with(
        &mut self,
        mut request: Request<C>,
        start: bool,
        accepted: impl FnOnce(u64, &Request<C>, bool),
    ) -> Result<u64, Rejected> {
        if start {
            self.add_start_host(&request.url);
            self.key_dont_filter_start(&mut request)?;
        }
        let r = self.check(&request, start);
        if r == Err(Rejected::MaxPages) && self.keeps_parked() {
            return self.park_new(request, start, accepted);
        }
        match r {
            Ok((checked, again)) => {
                let stale_check = (!request.extras().dont_filter).then_some(checked);
                let fp = self.mark_seen(&mut request, checked, start);
                let x = request.extras();
                if x.requisite > 0 && x.requisite_page && self.follows_as_link(&request) {
                    request.extras_mut().page_if_html = true;
                }
                // Taken again by a shorter path: kept in memory (the store
                // keeps its row as first stored; that row's request is
                // stale when it comes back).
                let full = self.cap.is_some_and(|c| self.queued >= c);
                let spill = self.remote || (!start && !again && full);
                accepted(fp, &request, spill);
                if self.remote {
                    // Queued in the shared frontier.
                } else if spill {
                    self.spilled += 1;
                } else {
                    self.enqueue(request, stale_check);
                }
                Ok(checked)
            }
            Err(why) => {
                self.reject(why, &request.url);
                Err(why)
            }
        }
    }

    /// `request`'s page is done with nothing a shorter path to it would
    /// change (`leaf`: no links: an error, a non-HTML or a link-less
    /// page): with a depth limit, it is not fetched again when a shorter
    /// path to it turns up.
    pub(crate) fn settled(&mut self, request: &Request<C>, leaf: bool) {
        if leaf && self.seen.keeps_depths() && !request.extras().dont_filter {
            self.seen.settle(request.fingerprint());
        }
    }

    /// Counts a request turned away; an offsite one's host is news the
    /// first time.
    fn reject(&mut self, why: Rejected, url: &Url) {
        self.count(why);
        if why != Rejected::Offsite || self.offsite_hosts.len() >= OFFSITE_HOSTS_TOLD {
            return;
        }
        let host = url.host_str().unwrap_or_default();
        if !self.offsite_hosts.contains(host) {
            self.offsite_hosts.insert(host.to_owned());
            self.offsite_news.push((host.to_owned(), url.clone()));
        }
    }

    /// Hosts turned away as offsite for the first time since the last
    /// call, each with the first URL refused.
    pub(crate) fn take_offsite_news(&mut self) -> Vec<(String, Url)> {
        std::mem::take(&mut self.offsite_news)
    }

    /// Gives a `dont_filter` start request its store key, the same in
    /// every run of the crawl ([`start_key`]); one that a resumed crawl
    /// holds already (done or queued) is [`Rejected::Seen`]: it is not
    /// fetched again. (Any `dont_filter` request skips the seen set; this
    /// recognises the start requests, which every run makes again.)
    fn key_dont_filter_start(&mut self, request: &mut Request<C>) -> Result<(), Rejected> {
        if !request.extras().dont_filter {
            return Ok(());
        }
        let fp = request.fingerprint();
        let n = self.dont_filter_starts.entry(fp).or_insert(0);
        let key = start_key(fp, *n);
        *n += 1;
        if self.seen.contains(key) {
            self.count(Rejected::Seen);
            return Err(Rejected::Seen);
        }
        request.extras_mut().store_key = Some(key);
        Ok(())
    }

    /// An accepted request's key: its fingerprint, now seen; or for a
    /// `dont_filter` one (not in the seen set) a key of its own in the
    /// store (a start request's was given by
    /// [`key_dont_filter_start`](Frontier::key_dont_filter_start)).
    fn mark_seen(&mut self, request: &mut Request<C>, fp: u64, start: bool) -> u64 {
        if request.extras().dont_filter {
            match request.extras().store_key {
                Some(key) if start => key,
                _ => {
                    let key = fastrand::u64(..);
                    request.extras_mut().store_key = Some(key);
                    key
                }
            }
        } else {
            self.seen.insert(fp, request.depth);
            fp
        }
    }

    /// Whether requests the page budget turns away stay in the state
    /// store for a later run (with a store, not with a shared frontier,
    /// whose budget is the crawl's).
    fn keeps_parked(&self) -> bool {
        self.cap.is_some() && !self.remote
    }

    /// The budget is spent: `request`, new and within the crawl's other
    /// rules, goes to the store only (seen, spilled there), for a later
    /// run with a larger budget; turned away here.
    fn park_new(
        &mut self,
        mut request: Request<C>,
        start: bool,
        accepted: impl FnOnce(u64, &Request<C>, bool),
    ) -> Result<u64, Rejected> {
        let budget = self.max_pages.take();
        let r = self.check(&request, start);
        self.max_pages = budget;
        match r {
            Ok((fp, _)) => {
                let fp = self.mark_seen(&mut request, fp, start);
                accepted(fp, &request, true);
                self.parked += 1;
                self.counts.max_pages += 1;
                Err(Rejected::MaxPages)
            }
            Err(why) => {
                self.reject(why, &request.url);
                Err(why)
            }
        }
    }

    fn count(&mut self, why: Rejected) {
        let c = &mut self.counts;
        *match why {
            Rejected::Seen => &mut c.seen,
            Rejected::Scheme => &mut c.scheme,
            Rejected::TooDeep => &mut c.too_deep,
            Rejected::Offsite => &mut c.offsite,
            Rejected::Filtered => &mut c.filtered,
            Rejected::MaxPages => &mut c.max_pages,
            Rejected::BadHost => &mut c.bad_host,
            Rejected::Parent => &mut c.parent,
        } += 1;
    }

    /// The request's fingerprint if it passes the rules and the seen
    /// set, and whether it was taken before at a larger depth.
    fn check(&self, request: &Request<C>, start: bool) -> Result<(u64, bool), Rejected> {
        self.admits(request, start)?;
        let fp = request.fingerprint();
        if request.extras().dont_filter {
            return Ok((fp, false));
        }
        // With a depth limit, a URL found again by a shorter path is taken
        // again at the smaller depth (see `seen`).
        match self.seen.met(fp, request.depth) {
            Met::Seen => Err(Rejected::Seen),
            Met::New => Ok((fp, false)),
            Met::Shallower => Ok((fp, true)),
        }
    }

    /// The crawl's rules but the seen set.
    fn admits(&self, request: &Request<C>, start: bool) -> Result<(), Rejected> {
        let url = &request.url;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Rejected::Scheme);
        }
        if crate::idn::check_host(url).is_err() {
            return Err(Rejected::BadHost);
        }
        if self.budget_spent() {
            return Err(Rejected::MaxPages);
        }
        // A page's requisites are fetched past the depth limit (wget -p);
        // their own are bounded by `requisites::MAX_HOPS`.
        let requisite = request.extras().requisite > 0;
        if !requisite && self.depth_limit.is_some_and(|l| request.depth > l) {
            return Err(Rejected::TooDeep);
        }
        if !start {
            let anywhere = requisite && self.requisites_anywhere;
            let asked = request.extras().dont_filter && self.dont_filter_anywhere;
            if !anywhere && !asked && !self.in_scope(url) {
                return Err(Rejected::Offsite);
            }
            // A sitemap (at the root, as a rule) is read for the pages
            // it lists, which are checked themselves.
            let sitemap = request.extras().sitemap.is_some();
            if !anywhere && !asked && !sitemap && !self.below_a_start(url) {
                return Err(Rejected::Parent);
            }
            let s = url.as_str();
            if (!anywhere && !self.allow.is_empty() && !self.allow.iter().any(|r| r.is_match(s)))
                || self.deny.iter().any(|r| r.is_match(s))
            {
                return Err(Rejected::Filtered);
            }
        }
        Ok(())
    }

    /// Whether an admitted requisite would have been admitted as a link:
    /// within the depth limit, the scope and `--allow` (an HTML answer is
    /// then crawled as a page, as wget `-r -p` does).
    fn follows_as_link(&self, request: &Request<C>) -> bool {
        let s = request.url.as_str();
        self.depth_limit.is_none_or(|l| request.depth <= l)
            && self.in_scope(&request.url)
            && self.below_a_start(&request.url)
            && (self.allow.is_empty() || self.allow.iter().any(|r| r.is_match(s)))
    }

    fn in_scope(&self, url: &Url) -> bool {
        if !self.stay_on_start_hosts {
            return true;
        }
        let host = url.host_str().unwrap_or("");
        self.start_hosts.contains(host)
            || self.allow_domains.iter().any(|d| {
                host == d
                    || (host.len() > d.len()
                        && host.ends_with(d.as_str())
                        && host.as_bytes()[host.len() - d.len() - 1] == b'.')
            })
    }

    fn enqueue(&mut self, request: Request<C>, fp: Option<u64>) {
        let host = self.host_of(&request.url);
        self.seq += 1;
        self.hosts[host.0].queue.push(Entry {
            priority: request.priority,
            depth: request.depth,
            seq: self.seq,
            fp,
            request,
        });
        self.queued += 1;
        self.reschedule(host, None);
    }

    fn host_of(&mut self, url: &Url) -> HostId {
        let key = host_key(url);
        if let Some(&h) = self.host_index.get(&key) {
            return h;
        }
        let h = HostId(self.hosts.len());
        let mut origin = url.clone();
        origin.set_path("/");
        origin.set_query(None);
        origin.set_fragment(None);
        crate::secrets::strip_userinfo(&mut origin);
        self.hosts.push(Host {
            origin,
            queue: BinaryHeap::new(),
            in_flight: 0,
            next_at: None,
            crawl_delay: Duration::ZERO,
            auto_delay: self
                .throttle
                .as_ref()
                .map_or(Duration::ZERO, |t| t.start_delay.max(self.delay)),
            limit: HostLimit::new(self.per_host),
            robots: if self.obey_robots {
                RobotsState::Unknown
            } else {
                RobotsState::Ready(RobotsRules::allow_all(), None)
            },
            robots_tries: 0,
            address: match self.per_ip {
                Some(_) => Address::Unknown,
                None => Address::Known(None),
            },
            scheduled: false,
        });
        self.host_index.insert(key, h);
        h
    }

    /// Puts `host` in `ready` or `timed` if it has work it could start.
    fn reschedule(&mut self, host: HostId, now: Option<Instant>) {
        let hs = &mut self.hosts[host.0];
        if hs.scheduled
            || hs.queue.is_empty()
            || hs.in_flight >= hs.limit.limit()
            || matches!(hs.robots, RobotsState::Fetching)
            || matches!(hs.address, Address::Resolving)
        {
            return;
        }
        hs.scheduled = true;
        match hs.next_at {
            Some(at) if now.is_none_or(|n| n < at) => self.timed.push(Reverse((at, host))),
            _ => self.ready.push_back(host),
        }
    }

    /// The next job that may start now, if any.
    pub fn next(&mut self, now: Instant) -> Option<Job<C>> {
        while let Some(Reverse((at, h))) = self.timed.peek().copied() {
            if at > now {
                break;
            }
            self.timed.pop();
            self.ready.push_back(h);
        }
        while self.delayed.peek().is_some_and(|d| d.at <= now) {
            let d = self.delayed.pop().expect("peeked");
            self.seq += 1;
            // Retries go before everything else of their host.
            self.hosts[d.host.0].queue.push(Entry {
                priority: i32::MAX,
                depth: 0,
                seq: self.seq,
                fp: None,
                request: d.request,
            });
            self.queued += 1;
            self.reschedule(d.host, Some(now));
        }
        while let Some(host) = self.ready.pop_front() {
            let hs = &mut self.hosts[host.0];
            hs.scheduled = false;
            if hs.queue.is_empty()
                || hs.in_flight >= hs.limit.limit()
                || matches!(hs.robots, RobotsState::Fetching)
                || matches!(hs.address, Address::Resolving)
            {
                continue;
            }
            if hs.next_at.is_some_and(|at| now < at) {
                self.reschedule(host, Some(now));
                continue;
            }
            if matches!(hs.address, Address::Unknown) {
                hs.address = Address::Resolving;
                hs.in_flight += 1;
                self.in_flight += 1;
                let name = hs.origin.host_str().unwrap_or_default().to_owned();
                return Some(Job::Resolve { host, name });
            }
            let group = hs.address.group();
            if let (Some(g), Some(ip)) = (group, self.per_ip.as_mut()) {
                if !ip.has_room(g) {
                    ip.park(g, host);
                    continue;
                }
            }
            if let RobotsState::Ready(_, Some(until)) = hs.robots {
                if now >= until {
                    // Kept long enough (RFC 9309 §2.4): asked again.
                    hs.robots = RobotsState::Unknown;
                    hs.robots_tries = 0;
                }
            }
            if matches!(hs.robots, RobotsState::Unknown) {
                let committed = self.dispatched + self.robots_fetching;
                if self.max_pages.is_some_and(|m| committed >= m) {
                    // No page of this host could fit in the budget now:
                    // its robots.txt waits (a host that yields no page
                    // gives its share back).
                    hs.scheduled = true;
                    self.budget_parked.push_back(host);
                    continue;
                }
                self.robots_fetching += 1;
                if let (Some(g), Some(ip)) = (group, self.per_ip.as_mut()) {
                    ip.start(g);
                }
                hs.robots = RobotsState::Fetching;
                hs.in_flight += 1;
                self.in_flight += 1;
                let url = hs.origin.join("/robots.txt").expect("origin joins");
                let tries = hs.robots_tries;
                return Some(Job::Robots { host, url, tries });
            }
            let entry = hs.queue.pop().expect("non-empty");
            self.queued -= 1;
            if entry
                .fp
                .is_some_and(|fp| self.seen.is_stale(fp, entry.request.depth))
            {
                // Taken again by a shorter path: that entry goes instead.
                self.reschedule(host, Some(now));
                continue;
            }
            if let RobotsState::Ready(rules, _) = &hs.robots {
                if !rules.allowed(&entry.request.url) {
                    let url = crate::secrets::redact_url(&entry.request.url);
                    let unreachable = rules.unreachable().map(str::to_owned);
                    match &unreachable {
                        Some(why) => {
                            self.counts.robots_unreachable += 1;
                            tracing::debug!(url = %url, "not fetched: robots.txt unreachable");
                            // A start URL (not a sitemap robots.txt listed).
                            let x = entry.request.extras();
                            let found = x.sitemap.is_some() && entry.request.referer.is_some();
                            if entry.request.depth == 0 && !found {
                                self.unreachable_seeds.push(format!(
                                    "{url}: not fetched: its host's robots.txt could not be \
                                     fetched ({why}) (--robots-unreachable allow to crawl anyway)"
                                ));
                            }
                        }
                        None => {
                            self.counts.robots += 1;
                            tracing::debug!(url = %url, "disallowed by robots.txt");
                        }
                    }
                    self.forget(&entry.request);
                    if let Some(why) = unreachable {
                        self.robots_unreachable.push((entry.request, why));
                    }
                    self.reschedule(host, Some(now));
                    continue;
                }
            }
            let fresh = entry.request.retries == 0;
            if fresh {
                if self.max_pages.is_some_and(|m| self.dispatched >= m) {
                    self.counts.max_pages += 1;
                    self.set_aside(&entry.request);
                    continue;
                }
                self.dispatched += 1;
            }
            if let (Some(g), Some(ip)) = (group, self.per_ip.as_mut()) {
                ip.start(g);
            }
            hs.in_flight += 1;
            self.in_flight += 1;
            // With a shared frontier, Redis paced the lease for all
            // workers: pacing it here again would hold a leased request
            // back while another worker's lease of the host, given out a
            // delay after this one, starts at once (both together).
            let pause = if self.remote {
                Duration::ZERO
            } else {
                let mut d = self.delay;
                if self.jitter && !d.is_zero() {
                    d = d.mul_f64(0.5 + fastrand::f64());
                }
                d.max(hs.crawl_delay).max(hs.auto_delay)
            };
            hs.next_at = (!pause.is_zero()).then(|| now + pause);
            self.reschedule(host, Some(now));
            if fresh && self.budget_spent() {
                self.drop_unstarted();
            }
            return Some(Job::Page {
                host,
                request: entry.request,
            });
        }
        None
    }

    /// The page budget (`max_pages`) is spent.
    pub(crate) fn budget_spent(&self) -> bool {
        self.max_pages.is_some_and(|m| self.dispatched >= m)
    }

    /// The budget is spent: every request not yet started leaves memory
    /// (retries of started ones stay): with a state store it stays there,
    /// parked for a later run with a larger budget; without, it is gone.
    fn drop_unstarted(&mut self) {
        let park = self.keeps_parked();
        for hs in &mut self.hosts {
            let before = hs.queue.len();
            hs.queue.retain(|e| e.request.retries > 0);
            let dropped = before - hs.queue.len();
            self.queued -= dropped;
            self.counts.max_pages += dropped as u64;
            if park {
                self.parked += dropped as u64;
            }
        }
    }

    /// A job of `host` finished (its slot is free again).
    pub fn complete(&mut self, host: HostId, now: Instant) {
        let hs = &mut self.hosts[host.0];
        hs.in_flight = hs.in_flight.saturating_sub(1);
        hs.limit.completed();
        let group = hs.address.group();
        self.in_flight = self.in_flight.saturating_sub(1);
        self.reschedule(host, Some(now));
        if let (Some(g), Some(ip)) = (group, self.per_ip.as_mut()) {
            for parked in ip.finish(g) {
                self.reschedule(parked, Some(now));
            }
        }
    }

    /// The resolve job of `host` finished: its first address, if it
    /// resolved. With a per-IP limit the host joins that address's group.
    pub fn resolved(&mut self, host: HostId, ip: Option<IpAddr>, now: Instant) {
        let group = match (ip, self.per_ip.as_mut()) {
            (Some(ip), Some(p)) => Some(p.group_of(ip)),
            _ => None,
        };
        let hs = &mut self.hosts[host.0];
        hs.address = Address::Known(group);
        hs.in_flight = hs.in_flight.saturating_sub(1);
        self.in_flight = self.in_flight.saturating_sub(1);
        self.reschedule(host, Some(now));
    }

    /// The robots.txt job of `host` finished with these rules.
    pub fn robots_done(&mut self, host: HostId, rules: RobotsRules, now: Instant) {
        let hs = &mut self.hosts[host.0];
        hs.crawl_delay = rules.crawl_delay().unwrap_or(Duration::ZERO);
        let keep = match rules.unreachable() {
            Some(_) => self.robots_max_age.min(UNREACHABLE_ROBOTS_AGE),
            None => self.robots_max_age,
        };
        hs.robots = RobotsState::Ready(rules, now.checked_add(keep));
        self.complete(host, now);
        self.robots_fetching = self.robots_fetching.saturating_sub(1);
        self.wake_budget_parked(now);
    }

    /// Hosts parked for the page budget go on, as many as it has room for
    /// now.
    fn wake_budget_parked(&mut self, now: Instant) {
        let Some(m) = self.max_pages else {
            return;
        };
        let mut room = m.saturating_sub(self.dispatched + self.robots_fetching);
        while room > 0 {
            let Some(h) = self.budget_parked.pop_front() else {
                break;
            };
            self.hosts[h.0].scheduled = false;
            self.reschedule(h, Some(now));
            room -= 1;
        }
    }

    /// The robots.txt job of `host` asks to be tried again at `at` (a
    /// network error, 5xx or 429): the host waits for it, its slot is free.
    pub fn robots_retry(&mut self, host: HostId, at: Instant, now: Instant) {
        let hs = &mut self.hosts[host.0];
        hs.robots = RobotsState::Unknown;
        hs.robots_tries += 1;
        hs.next_at = Some(hs.next_at.map_or(at, |n| n.max(at)));
        self.complete(host, now);
        self.robots_fetching = self.robots_fetching.saturating_sub(1);
    }

    /// Start URLs not fetched because their host's robots.txt could not
    /// be (each with why), since the last call.
    pub(crate) fn take_unreachable_seeds(&mut self) -> Vec<String> {
        std::mem::take(&mut self.unreachable_seeds)
    }

    /// Requests not fetched because their host's robots.txt could not be
    /// (`Config::robots_unreachable`), each with the robots.txt fetch's
    /// error (refused, DNS, TLS, timeout, HTTP 503), since the last call:
    /// the engine writes a record for each.
    pub(crate) fn take_robots_unreachable(&mut self) -> Vec<(Request<C>, String)> {
        std::mem::take(&mut self.robots_unreachable)
    }

    /// Requeues a started request to run again at `at` (a retry). Its host
    /// slot must have been freed with [`complete`](Frontier::complete).
    pub fn retry_at(&mut self, host: HostId, request: Request<C>, at: Instant) {
        self.seq += 1;
        self.delayed.push(Delayed {
            at,
            seq: self.seq,
            host,
            request,
        });
    }

    /// Holds `host` back until `until` (the server asked us to slow down).
    pub fn pause_host(&mut self, host: HostId, until: Instant) {
        let hs = &mut self.hosts[host.0];
        if hs.next_at.is_none_or(|at| at < until) {
            hs.next_at = Some(until);
            tracing::info!(
                host = hs.origin.host_str().unwrap_or_default(),
                pause_ms = until
                    .saturating_duration_since(solo::time::now())
                    .as_millis() as u64,
                "throttle: host asked to slow down, pausing it"
            );
        }
    }

    /// An answer from `host` took `latency` and had `status` (`None`: the
    /// fetch failed). With an adaptive throttle this moves the host's pause
    /// (see [`AutoThrottle`]); a 429 or 503 also holds the host back from
    /// `now` for the new pause. Without one it does nothing.
    pub fn observe(&mut self, host: HostId, latency: Duration, status: Option<u16>, now: Instant) {
        match status {
            Some(429 | 503) => self.shed_load(host),
            Some(_) => self.hosts[host.0].limit.answered(),
            None => {}
        }
        let Some(t) = &self.throttle else {
            return;
        };
        let hs = &mut self.hosts[host.0];
        let before = hs.auto_delay;
        hs.auto_delay = t.next_pause(hs.auto_delay, latency, status, self.delay);
        if hs.auto_delay != before {
            tracing::debug!(
                host = hs.origin.host_str().unwrap_or_default(),
                delay_ms = hs.auto_delay.as_millis() as u64,
                "throttle: autothrottle pause changed"
            );
        }
        if matches!(status, Some(429 | 503)) {
            let until = now + hs.auto_delay;
            self.pause_host(host, until);
        }
    }

    /// `host` shed load (a connection refused or reset, a timeout, a 429
    /// or 503; the job's slot already freed): its concurrency limit halves
    /// (see [`HostLimit`]), unless `Config::overload_backoff` is off.
    pub fn shed_load(&mut self, host: HostId) {
        if self.overload_backoff {
            let hs = &mut self.hosts[host.0];
            let before = hs.limit.limit();
            hs.limit.overloaded(hs.in_flight);
            if hs.limit.limit() != before {
                tracing::info!(
                    host = hs.origin.host_str().unwrap_or_default(),
                    limit = hs.limit.limit(),
                    "throttle: host sheds load, concurrency {before} -> {}",
                    hs.limit.limit()
                );
            }
        }
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

    /// A request the spent page budget turns away: parked in the state
    /// store for a run with a larger budget (see `keeps_parked`), or
    /// dropped.
    fn set_aside(&mut self, request: &Request<C>) {
        match self.keeps_parked() {
            true => self.parked += 1,
            false => self.forget(request),
        }
    }

    /// Remembers a dropped request, for the store.
    fn forget(&mut self, request: &Request<C>) {
        if let Some(id) = request.extras().lease {
            self.dropped_leases.push(id);
        }
        if self.cap.is_some() {
            self.dropped.push(request.key());
        }
    }

    /// Fingerprints of the requests dropped for good (robots.txt, page
    /// budget) since the last call; only tracked with a store.
    pub(crate) fn take_dropped(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.dropped)
    }

    /// Leases of requests dropped for good (robots.txt) since the last
    /// call, for the engine to end.
    pub(crate) fn take_dropped_leases(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.dropped_leases)
    }

    /// Takes every request not started (queued, or waiting for a retry),
    /// for a worker that leaves to give back.
    pub(crate) fn drain(&mut self) -> Vec<Request<C>> {
        let mut out: Vec<Request<C>> = self.delayed.drain().map(|d| d.request).collect();
        for hs in &mut self.hosts {
            out.extend(hs.queue.drain().map(|e| e.request));
        }
        self.queued = 0;
        out
    }

    /// Forgets the URLs seen (a worker of a shared crawl whose Redis went
    /// back to an earlier state: Redis's seen set decides again).
    pub(crate) fn forget_seen(&mut self) {
        self.seen.clear();
    }

    /// The key (`host:port`) of `host`.
    pub(crate) fn host_name(&self, host: HostId) -> String {
        host_key(&self.hosts[host.0].origin)
    }

    /// Keeps at most `cap` requests in memory from now on; more are
    /// spilled (the engine stores them).
    pub(crate) fn set_cap(&mut self, cap: usize) {
        self.cap = Some(cap.max(1));
    }

    /// A page is done (its record written): the pages done so far.
    pub(crate) fn page_done(&mut self) -> u64 {
        self.pages_done += 1;
        self.pages_done
    }

    /// Restores the seen set and progress of a stored crawl: `pages_done`
    /// count against the budget (requests in flight at the stop are
    /// queued again and count when started).
    pub(crate) fn restore_progress(&mut self, seen: &[u64], pages_done: u64, spilled: u64) {
        self.seen.extend(seen);
        self.dispatched = pages_done;
        self.pages_done = pages_done;
        self.spilled = spilled;
    }

    /// Queues a stored request again (already seen) under the crawl's
    /// current rules: a crawl resumed with `--force` and a narrower scope
    /// (a new `--deny`, a smaller `--depth`) drops what it queued before
    /// that the new rules refuse, counted like a link they refuse. A
    /// request of depth 0 (a start URL) is checked as one. A retry whose
    /// first try counted in the page budget still goes when it is spent,
    /// unless it is a known page of a recrawl pass.
    pub(crate) fn restore(&mut self, request: Request<C>) {
        let start = request.depth == 0 && request.previous().is_none();
        let refused = match self.admits(&request, start) {
            Err(Rejected::MaxPages) if request.retries > 0 && request.previous().is_none() => None,
            Err(why) => Some(why),
            Ok(()) => None,
        };
        if let Some(why) = refused {
            self.count(why);
            match why {
                Rejected::MaxPages => self.set_aside(&request),
                _ => self.forget(&request),
            }
            return;
        }
        let fp = match &self.seen {
            Seen::Depths(_) if !request.extras().dont_filter => Some(request.fingerprint()),
            _ => None,
        };
        if let Some(fp) = fp {
            self.seen.restored(fp, request.depth);
        }
        self.enqueue(request, fp);
    }

    /// How many spilled requests to take back from the store, if it is
    /// time: memory half empty, or down to [`UNSPILL_BATCH`] with a
    /// larger cap (a recrawl pass waits in the store whole: memory
    /// holds a batch or two of it at a time).
    pub(crate) fn wants_unspill(&self) -> Option<usize> {
        let cap = self.cap?;
        if self.budget_spent() {
            return None; // parked
        }
        let low = (cap / 2).min(UNSPILL_BATCH);
        (self.spilled > 0 && self.queued <= low).then(|| {
            (cap - self.queued)
                .min(self.spilled as usize)
                .min(UNSPILL_BATCH)
        })
    }

    /// Spilled requests came back: `asked` were asked for (fewer means the
    /// store has no more).
    pub(crate) fn unspilled(&mut self, requests: Vec<Request<C>>, asked: usize) {
        if requests.len() < asked {
            self.spilled = 0;
        } else {
            self.spilled = self.spilled.saturating_sub(requests.len() as u64);
        }
        for r in requests {
            self.restore(r);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn req(u: &str, depth: u32) -> Request<()> {
        let mut r = Request::parse(u, ()).unwrap();
        r.depth = depth;
        r
    }

    fn cfg() -> Config {
        Config {
            obey_robots: false,
            jitter: false,
            ..Default::default()
        }
    }

    fn drain(f: &mut Frontier<()>, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(job) = f.next(now) {
            if let Job::Page { host, request } = job {
                out.push(request.url.to_string());
                f.complete(host, now);
            }
        }
        out
    }

    #[test]
    fn spilled_requests_come_back_in_bounded_batches() {
        let mut f: Frontier<()> = Frontier::new(&cfg());
        f.set_cap(100_000);
        f.restore_progress(&[], 0, 250_000);
        assert_eq!(f.wants_unspill(), Some(UNSPILL_BATCH), "not the whole cap");
        let mut small: Frontier<()> = Frontier::new(&cfg());
        small.set_cap(20);
        small.restore_progress(&[], 0, 50);
        assert_eq!(small.wants_unspill(), Some(20), "a small cap as before");
    }

    #[test]
    fn a_known_page_of_a_pass_is_restored_under_the_current_rules() {
        let mut f = Frontier::new(&Config {
            depth_limit: Some(1),
            ..cfg()
        });
        f.add_start_host(&Url::parse("http://a.test/").unwrap());
        let mut known = req("http://a.test/deep", 2);
        known.set_previous(Some(Box::default()));
        f.restore(known);
        assert_eq!(f.queued(), 0);
        assert_eq!(f.counts.too_deep, 1);
        f.restore(req("http://a.test/other", 1));
        assert_eq!(f.queued(), 1);
    }

    /// A crawl resumed with `--force` and narrower settings: what it had
    /// queued under the old ones is checked again, a start URL as one.
    #[test]
    fn a_stored_request_is_restored_under_the_current_rules() {
        let mut f = Frontier::new(&Config {
            depth_limit: Some(2),
            deny: vec![regex::Regex::new("/trap/").unwrap()],
            allow: vec![regex::Regex::new("/docs/").unwrap()],
            ..cfg()
        });
        f.add_start_host(&Url::parse("http://a.test/").unwrap());
        f.restore(req("http://a.test/docs/deep", 3));
        f.restore(req("http://a.test/docs/trap/1", 1));
        f.restore(req("http://b.test/docs/x", 1));
        assert_eq!(f.queued(), 0);
        assert_eq!(
            (f.counts.too_deep, f.counts.filtered, f.counts.offsite),
            (1, 1, 1)
        );
        // A start URL need not match --allow; a link within the rules goes.
        f.restore(req("http://a.test/", 0));
        f.restore(req("http://a.test/docs/ok", 2));
        assert_eq!(f.queued(), 2);
    }

    #[test]
    fn a_shorter_path_lowers_a_queued_depth_and_a_too_deep_url_is_not_seen() {
        let mut f = Frontier::new(&Config {
            depth_limit: Some(2),
            per_host: 1,
            ..cfg()
        });
        f.add_start_host(&Url::parse("http://a.test/").unwrap());
        // Too deep by one path: not seen, a shorter path takes it.
        assert_eq!(f.push(req("http://a.test/c", 3)), Err(Rejected::TooDeep));
        f.push(req("http://a.test/c", 2)).unwrap();
        // Queued at 2, found at 1: taken at 1, fetched once.
        f.push(req("http://a.test/p", 2)).unwrap();
        assert_eq!(f.push(req("http://a.test/p", 2)), Err(Rejected::Seen));
        f.push(req("http://a.test/p", 1)).unwrap();
        assert_eq!(f.push(req("http://a.test/p", 1)), Err(Rejected::Seen));
        let now = Instant::now();
        let mut got = Vec::new();
        while let Some(Job::Page { host, request }) = f.next(now) {
            got.push((request.url.path().to_owned(), request.depth));
            f.complete(host, now);
        }
        assert_eq!(got, [("/p".to_owned(), 1), ("/c".to_owned(), 2)]);
        assert!(f.is_idle());
        // A page done at 2 and found at 1 is taken again (its links were
        // cut by the limit); without a depth limit nothing is.
        f.push(req("http://a.test/c", 1)).unwrap();
        let mut plain = Frontier::new(&cfg());
        plain.add_start_host(&Url::parse("http://a.test/").unwrap());
        plain.push(req("http://a.test/c", 2)).unwrap();
        assert_eq!(plain.push(req("http://a.test/c", 1)), Err(Rejected::Seen));
        // A state store's memory cap is full: a new URL is spilled, one
        // taken again stays in memory (its stored row keeps the old depth
        // and is stale when it comes back).
        let mut capped = Frontier::new(&Config {
            depth_limit: Some(2),
            ..cfg()
        });
        capped.add_start_host(&Url::parse("http://a.test/").unwrap());
        capped.set_cap(1);
        capped.push(req("http://a.test/x", 1)).unwrap();
        capped.push(req("http://a.test/y", 2)).unwrap();
        assert_eq!((capped.spilled(), capped.queued()), (1, 1));
        capped.push(req("http://a.test/y", 1)).unwrap();
        assert_eq!((capped.spilled(), capped.queued()), (1, 2));
        capped.unspilled(vec![req("http://a.test/y", 2)], 1);
        assert_eq!(capped.queued(), 3);
        let got = drain(&mut capped, Instant::now());
        assert_eq!(got, ["http://a.test/x", "http://a.test/y"]);
    }

    #[test]
    fn depth_limit_and_breadth_first() {
        let mut f = Frontier::new(&Config {
            depth_limit: Some(1),
            per_host: 1,
            ..cfg()
        });
        f.push_start(req("http://a.test/", 0)).unwrap();
        assert_eq!(f.push(req("http://a.test/deep", 2)), Err(Rejected::TooDeep));
        f.push(req("http://a.test/d1", 1)).unwrap();
        let now = Instant::now();
        assert_eq!(drain(&mut f, now), ["http://a.test/", "http://a.test/d1"]);
        assert!(f.is_idle());
    }

    #[test]
    fn requisites_pass_the_depth_limit_and_the_scope_but_not_deny_or_the_seen_set() {
        let requisite = |u: &str, depth| {
            let mut r = req(u, depth);
            r.extras_mut().requisite = 1;
            r
        };
        let rules = |in_scope| Config {
            depth_limit: Some(1),
            page_requisites: true,
            requisites_in_scope: in_scope,
            allow: vec![Regex::new("/pages/").unwrap()],
            deny: vec![Regex::new("/ads/").unwrap()],
            ..cfg()
        };
        let mut f = Frontier::new(&rules(false));
        f.push_start(req("http://a.test/pages/", 0)).unwrap();
        assert_eq!(
            f.push(req("http://a.test/img.png", 2)),
            Err(Rejected::TooDeep)
        );
        assert!(f.push(requisite("http://a.test/img.png", 2)).is_ok());
        assert!(f.push(requisite("http://cdn.test/font.woff", 3)).is_ok());
        assert_eq!(
            f.push(requisite("http://a.test/img.png", 2)),
            Err(Rejected::Seen)
        );
        let ad = requisite("http://cdn.test/ads/x.js", 2);
        assert_eq!(f.push(ad), Err(Rejected::Filtered));
        // Links stay in scope.
        assert_eq!(
            f.push(req("http://cdn.test/pages/", 1)),
            Err(Rejected::Offsite)
        );
        // --requisites-in-scope: the scope applies, the depth limit not.
        let mut f = Frontier::new(&rules(true));
        f.push_start(req("http://a.test/pages/", 0)).unwrap();
        let cdn = requisite("http://cdn.test/pages/i.png", 2);
        assert_eq!(f.push(cdn), Err(Rejected::Offsite));
        let unmatched = requisite("http://a.test/i.png", 2);
        assert_eq!(f.push(unmatched), Err(Rejected::Filtered));
        assert!(f.push(requisite("http://a.test/pages/i.png", 2)).is_ok());
        // Without --page-requisites a flagged request has no exemption
        // from the scope.
        let mut f = Frontier::new(&Config {
            page_requisites: false,
            ..rules(false)
        });
        f.push_start(req("http://a.test/pages/", 0)).unwrap();
        assert_eq!(
            f.push(requisite("http://cdn.test/pages/i.png", 2)),
            Err(Rejected::Offsite)
        );
    }

    #[test]
    fn per_host_slots_and_round_robin() {
        let mut f = Frontier::new(&Config {
            per_host: 1,
            ..cfg()
        });
        f.push_start(req("http://a.test/1", 0)).unwrap();
        f.push_start(req("http://a.test/2", 0)).unwrap();
        f.push_start(req("http://b.test/1", 0)).unwrap();
        let now = Instant::now();
        let Some(Job::Page { host: ha, .. }) = f.next(now) else {
            panic!()
        };
        let Some(Job::Page { request, .. }) = f.next(now) else {
            panic!()
        };
        assert_eq!(request.url.host_str(), Some("b.test"));
        assert!(f.next(now).is_none(), "a.test is at its limit");
        f.complete(ha, now);
        assert!(matches!(f.next(now), Some(Job::Page { .. })));
    }

    #[test]
    fn hosts_on_one_address_share_the_per_ip_budget() {
        let mut f = Frontier::new(&Config {
            per_ip: Some(2),
            per_host: 8,
            ..cfg()
        });
        for h in ["a", "b", "c"] {
            for i in 0..3 {
                f.push_start(req(&format!("http://{h}.test/{i}"), 0))
                    .unwrap();
            }
        }
        let now = Instant::now();
        // Each host's first job resolves it; nothing else starts before.
        let mut names = Vec::new();
        while let Some(job) = f.next(now) {
            let Job::Resolve { host, name } = job else {
                panic!("a page before its host resolved")
            };
            names.push((host, name));
        }
        assert_eq!(names.len(), 3);
        for (host, name) in names {
            // a and b share 127.0.0.1; c has an address of its own.
            let ip = if name == "c.test" {
                [127, 0, 0, 3]
            } else {
                [127, 0, 0, 1]
            };
            f.resolved(host, Some(ip.into()), now);
        }
        let pages = |f: &mut Frontier<()>| {
            let mut v = Vec::new();
            while let Some(Job::Page { host, request }) = f.next(now) {
                v.push((host, request.url.host_str().unwrap().to_owned()));
            }
            v
        };
        let started = pages(&mut f);
        let on_one = started.iter().filter(|(_, h)| h != "c.test").count();
        assert_eq!(on_one, 2, "{started:?}");
        assert_eq!(started.len() - on_one, 2, "c.test has a budget of its own");
        // A freed slot of the shared address lets one more start.
        let (done, _) = *started.iter().find(|(_, h)| h != "c.test").unwrap();
        f.complete(done, now);
        let more = pages(&mut f);
        assert_eq!(more.len(), 1, "{more:?}");
        assert_ne!(more[0].1, "c.test");
    }

    #[test]
    fn without_a_per_ip_limit_nothing_is_resolved_ahead() {
        let mut f = Frontier::new(&cfg());
        f.push_start(req("http://a.test/", 0)).unwrap();
        assert!(matches!(f.next(Instant::now()), Some(Job::Page { .. })));
    }

    #[test]
    fn delay_holds_a_host_back_but_not_others() {
        let mut f = Frontier::new(&Config {
            delay: Duration::from_secs(10),
            ..cfg()
        });
        f.push_start(req("http://a.test/1", 0)).unwrap();
        f.push_start(req("http://a.test/2", 0)).unwrap();
        f.push_start(req("http://b.test/1", 0)).unwrap();
        let now = Instant::now();
        assert!(f.next(now).is_some());
        assert!(f.next(now).is_some());
        assert!(f.next(now).is_none());
        let wake = f.wake_at().unwrap();
        assert!(wake >= now + Duration::from_secs(10));
        assert!(f.next(wake).is_some());
    }

    #[test]
    fn max_pages_drops_the_rest() {
        let mut f = Frontier::new(&Config {
            max_pages: Some(2),
            ..cfg()
        });
        for i in 0..5 {
            f.push_start(req(&format!("http://a.test/{i}"), 0)).unwrap();
        }
        assert_eq!(drain(&mut f, Instant::now()).len(), 2);
        assert!(f.is_idle());
        assert_eq!(f.push(req("http://a.test/x", 1)), Err(Rejected::MaxPages));
    }

    #[test]
    fn scope_allow_domains_and_regexes() {
        let mut f = Frontier::new(&Config {
            allow_domains: vec!["example.org".into()],
            deny: vec![Regex::new("/private/").unwrap()],
            ..cfg()
        });
        f.push_start(req("http://a.test/", 0)).unwrap();
        assert!(f.push(req("http://www.example.org/", 1)).is_ok());
        assert!(f.push(req("http://example.org/", 1)).is_ok());
        assert_eq!(
            f.push(req("http://badexample.org/", 1)),
            Err(Rejected::Offsite)
        );
        assert_eq!(
            f.push(req("http://a.test/private/x", 1)),
            Err(Rejected::Filtered)
        );
    }

    #[test]
    fn robots_first_then_rules() {
        let mut f = Frontier::new(&Config {
            obey_robots: true,
            ..cfg()
        });
        f.push_start(req("http://a.test/", 0)).unwrap();
        f.push_start(req("http://a.test/secret/x", 0)).unwrap();
        let now = Instant::now();
        let Some(Job::Robots { host, url, .. }) = f.next(now) else {
            panic!()
        };
        assert_eq!(url.as_str(), "http://a.test/robots.txt");
        assert!(f.next(now).is_none());
        let rules = RobotsRules::from_response(
            "solo-crawl",
            Some(200),
            b"User-agent: *\nDisallow: /secret/\n",
        );
        f.robots_done(host, rules, now);
        assert_eq!(drain(&mut f, now), ["http://a.test/"]);
        assert_eq!(f.counts().robots, 1);
    }

    #[test]
    fn retries_wait_and_go_first() {
        let mut f = Frontier::new(&cfg());
        f.push_start(req("http://a.test/1", 0)).unwrap();
        f.push_start(req("http://a.test/2", 0)).unwrap();
        let now = Instant::now();
        let Some(Job::Page { host, mut request }) = f.next(now) else {
            panic!()
        };
        f.complete(host, now);
        request.retries += 1;
        let later = now + Duration::from_secs(1);
        f.retry_at(host, request, later);
        assert!(!f.is_idle());
        assert_eq!(drain(&mut f, now), ["http://a.test/2"]);
        assert_eq!(f.wake_at(), Some(later));
        assert_eq!(drain(&mut f, later), ["http://a.test/1"]);
        assert_eq!(f.dispatched(), 2);
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
