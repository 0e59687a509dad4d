//! Dispatch: which job starts next, and what its end changes.
//!
//! Owns: the ready and timed hosts, a host's turn (round robin), the
//! jobs a host needs before its pages (resolve its name, fetch its
//! robots.txt), per-host slots and delays, retries that wait, and what
//! a finished job tells the host (robots.txt rules, its address, its
//! latency for the adaptive throttle, load shed). Must not: admit
//! requests (`admit`).

use std::cmp::Reverse;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{Address, Delayed, Entry, Frontier, HostId, Job, RobotsState, UNREACHABLE_ROBOTS_AGE};
use crate::request::Request;
use crate::robots::RobotsRules;

impl<C> Frontier<C> {
    /// Puts `host` in `ready` or `timed` if it has work it could start.
    pub(super) fn reschedule(&mut self, host: HostId, now: Option<Instant>) {
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
    /// (see [`AutoThrottle`](crate::throttle::AutoThrottle)); a 429 or 503
    /// also holds the host back from `now` for the new pause. Without one
    /// it does nothing.
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
    /// (see [`HostLimit`](crate::throttle::HostLimit)), unless
    /// `Config::overload_backoff` is off.
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
}
