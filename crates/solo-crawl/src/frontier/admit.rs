//! Admission: the rules a request must pass to be queued.
//!
//! Owns: pushing requests (start, followed, restored), the checks in
//! their order — http or https, host name, depth, `no_parent`, scope,
//! allow/deny, the page budget, the seen set — with each refusal counted
//! and (offsite hosts) told, and a request's host entry, made on its
//! first request. Must not: choose what goes next (`dispatch`) or keep
//! what a store needs (`spill`).

use std::collections::BinaryHeap;
use std::time::Duration;

use url::Url;

use super::seen::Met;
use super::{
    start_key, Address, Entry, Frontier, Host, HostId, Rejected, RobotsState, OFFSITE_HOSTS_TOLD,
};
use crate::canon::host_key;
use crate::request::Request;
use crate::robots::RobotsRules;
use crate::throttle::HostLimit;

impl<C> Frontier<C> {
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
    pub(super) fn keeps_parked(&self) -> bool {
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

    pub(super) fn count(&mut self, why: Rejected) {
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
    pub(super) fn admits(&self, request: &Request<C>, start: bool) -> Result<(), Rejected> {
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

    pub(super) fn enqueue(&mut self, request: Request<C>, fp: Option<u64>) {
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
}
