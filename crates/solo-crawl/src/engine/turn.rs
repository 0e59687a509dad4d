//! The loop: one turn after another, it pulls jobs from the frontier
//! while there are free slots, spawns a task for each, and applies what
//! the tasks report.
//!
//! Owns: [`Engine`]'s methods — free slots, retries and their backoff,
//! new requests to the frontier, records and items to the writer, items
//! through the pipeline, leases to and from the shared frontier, counters
//! to the stats. Must not: fetch or parse (the tasks of
//! [`page`](super::page) do), or block the loop thread.

use super::*;

impl<S: Spider, F: Fetch> Engine<S, F> {
    /// The loop; whether it was interrupted.
    pub(super) async fn run_loop(
        &mut self,
        stop: &StopHandle,
        live: &crate::metrics::Live,
    ) -> bool {
        let concurrency = self.sh.config.concurrency.max(1);
        let mut interrupted = false;
        loop {
            let now = solo::time::now();
            if !interrupted && !stop.is_stopped() && self.items_spent() {
                tracing::info!("max_items reached: stopping");
                stop.stop_at_limit("max_items");
            }
            if !interrupted && (stop.is_stopped() || self.writer.failed() || self.damaged.is_some())
            {
                interrupted = true;
                tracing::info!(
                    in_flight = self.frontier.in_flight(),
                    "stopping: finishing the requests in flight"
                );
            }
            // A full item pipeline holds new requests back, and so do
            // items in the pipeline that may reach `max_items`, and
            // leases that may have been taken back (no step reached Redis
            // for the lease time): the next step's reply wakes the loop.
            let piped = self.pipelines.as_ref().map_or(0, |p| p.backlog());
            let held = self.pipelines.as_ref().is_some_and(|p| p.full())
                || self.items_may_be_spent()
                || self.remote.as_ref().is_some_and(|r| !r.leases_valid(now));
            if !interrupted && !held {
                while self.frontier.in_flight() < concurrency {
                    let task = match self.frontier.next(now) {
                        Some(Job::Page { host, request }) => {
                            // Built in the task's allocation: the page
                            // task's future is ~9 KB, which `spawn` would
                            // copy there (~3 % of a crawl's CPU).
                            let sh = self.sh.clone();
                            solo::spawn_with(move || page_task(sh, host, request))
                        }
                        Some(Job::Robots { host, url, tries }) => {
                            solo::spawn(robots_task(self.sh.clone(), host, url, tries))
                        }
                        Some(Job::Resolve { host, name }) => {
                            solo::spawn(resolve_task(self.sh.clone(), host, name))
                        }
                        None => break,
                    };
                    self.started(task, concurrency);
                }
                self.seeds
                    .failed
                    .extend(self.frontier.take_unreachable_seeds());
                for (request, why) in self.frontier.take_robots_unreachable() {
                    self.write_robots_unreachable(&request, &why);
                }
                if self.persist {
                    self.persist_dropped();
                    self.maybe_unspill();
                }
            }
            // With a shared frontier the queue is the crawl's (this
            // worker's frontier holds only its leases).
            let queued = match &self.remote {
                Some(r) => r.shared_counts().0,
                None => self.frontier.left(),
            };
            live.now
                .set((self.frontier.in_flight(), self.frontier.queued()));
            live.frontier.set((self.frontier.seen() as u64, queued));
            if self.busiest {
                let top = || self.frontier.busiest_hosts(crate::metrics::TOP_HOSTS);
                live.refresh_hosts(now, top);
            }
            if let Some(r) = self.remote.clone() {
                if !interrupted && r.fatal().is_some() {
                    interrupted = true;
                }
                self.remote_turn(&r, interrupted, concurrency);
            }
            let shared_done = self.remote.as_ref().is_none_or(|r| r.crawl_done());
            if self.frontier.in_flight() == 0
                && piped == 0
                && (interrupted || (self.frontier.is_idle() && !self.unspilling && shared_done))
            {
                return interrupted;
            }
            // Hurried: the requests in flight are left at once, the pages
            // in the pipeline finished (their records and done marks).
            let hurried = stop.is_hurried();
            if hurried {
                self.abandon_jobs();
                if piped == 0 {
                    return true;
                }
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
                let mut hurry = pin!(stop.0.hurried.wait());
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
                    if !hurried && hurry.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(None); // hurried: requests in flight are left
                    }
                    Poll::Pending
                })
                .await
            };
            if let Some(ev) = woke {
                // Hurried: only the pipeline's pages are finished (a job
                // cancelled in its callback reports a crash it had not).
                let keep = |ev: &Report<_>| !hurried || matches!(ev, Report::Piped { .. });
                if keep(&ev) {
                    self.handle(ev);
                }
                while let Ok(ev) = self.rx.try_recv() {
                    if keep(&ev) {
                        self.handle(ev);
                    }
                }
            }
        }
    }

    /// Keeps the task of a job just started; the finished ones are
    /// pruned once there are twice as many as slots.
    fn started(&mut self, task: solo::Task<()>, concurrency: usize) {
        if self.jobs.len() >= 2 * concurrency {
            self.jobs.retain(|t| !t.is_done());
        }
        self.jobs.push(task);
    }

    /// The crawl was hurried: the jobs in flight are cancelled (their
    /// pages are not done; with a store they are fetched on resume).
    fn abandon_jobs(&mut self) {
        if self.jobs.is_empty() {
            return;
        }
        tracing::info!(
            in_flight = self.frontier.in_flight(),
            "hurried: leaving the requests in flight"
        );
        for t in self.jobs.drain(..) {
            t.cancel();
        }
    }

    /// `max_items` items came out of the spider (through the pipelines:
    /// kept by them).
    fn items_spent(&self) -> bool {
        self.sh.config.max_items.is_some_and(|m| {
            let c = &self.sh.stats.borrow().counts;
            let n = match self.pipelines {
                Some(_) => c.items_kept,
                None => c.items,
            };
            n >= m
        })
    }

    /// The items kept and those still in the pipelines reach `max_items`:
    /// no new request starts until the pipelines say how many they keep
    /// (then the crawl stops, or goes on if they dropped some), so the
    /// limit is not overshot by the pages fetched meanwhile.
    fn items_may_be_spent(&self) -> bool {
        match (self.sh.config.max_items, &self.pipelines) {
            (Some(m), Some(p)) => {
                let kept = self.sh.stats.borrow().counts.items_kept;
                kept.saturating_add(p.backlog() as u64) >= m
            }
            _ => false,
        }
    }

    /// The shared frontier's part of a loop turn: leases dropped by the
    /// local rules are done, this turn's done pages are acknowledged once
    /// the writer has them, and Redis hears how many requests we could
    /// take.
    fn remote_turn(&mut self, r: &Rc<Remote>, interrupted: bool, concurrency: usize) {
        for id in self.frontier.take_dropped_leases() {
            r.drop_lease(id);
        }
        if let Some((ok, failed)) = self.seeds.unreported() {
            r.seeds(ok, failed);
        }
        if !self.written_acks.is_empty() {
            let acks = std::mem::take(&mut self.written_acks);
            let (reply, written) = futures_channel::oneshot::channel();
            self.writer.send(Msg::Written(reply));
            r.writing(acks.len());
            let r = r.clone();
            solo::spawn(async move {
                if written.await.is_ok() {
                    r.written(acks);
                }
            });
        }
        let have = self.frontier.queued() + self.frontier.in_flight();
        let want = if interrupted {
            0
        } else {
            (2 * concurrency).saturating_sub(have)
        };
        // Ask when half the local queue is gone, not for every page.
        r.want(if have <= concurrency { want } else { 0 });
    }

    /// Tells the shared frontier how `host` answered (the crawl-wide
    /// overload backoff and autothrottle); `shed`: a failure that says
    /// the server sheds load.
    fn tell_load(&self, host: HostId, latency: Duration, status: Option<u16>, shed: bool) {
        use crate::redis_frontier::{Answer, Load};
        if let Some(r) = &self.remote {
            let load = match status {
                _ if shed => Load::Shed,
                Some(429 | 503) => Load::Shed,
                Some(_) => Load::Answered,
                None => Load::Failed,
            };
            let answer = Answer {
                load,
                latency,
                status,
            };
            r.answer(self.frontier.host_name(host), answer);
        }
    }

    /// This worker leaves the shared frontier: requests leased and not
    /// started go back, then the goodbye.
    pub(super) async fn leave(&mut self, r: &Rc<Remote>) {
        self.writer.flush();
        for req in self.frontier.drain() {
            if let Some(id) = req.extras().lease {
                r.release(id);
            }
        }
        for id in self.frontier.take_dropped_leases() {
            r.drop_lease(id);
        }
        r.close().await;
    }

    /// The record of a request not fetched because its host's robots.txt
    /// could not be (`why`: that fetch's error): a link checker sees the
    /// dead link and the page that links to it. Counted as an error of
    /// kind `robots_unreachable` (and skipped, as before), not as a page.
    fn write_robots_unreachable(&mut self, request: &Request<S::Callback>, why: &str) {
        let mut record = page::base_record(request);
        record.error = Some(format!(
            "robots_unreachable: not fetched: its host's robots.txt could not be fetched \
             ({why}) (--robots-unreachable allow to crawl anyway)"
        ));
        let mut st = self.sh.stats.borrow_mut();
        st.error("robots_unreachable");
        st.counts.broken += 1; // a dead link, for --fail-on-broken
        drop(st);
        if let Some(r) = &self.remote {
            r.count(0, 1, 0, 0); // the crawl's status counts it too
        }
        self.writer.send(Msg::Page(Box::new(record)));
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
            // What was done, not what was started: requests in flight at
            // a kill come back from the state and count when they are done.
            let done = self.frontier.page_done();
            self.writer.send(Msg::State(Op::Done { fp }));
            self.writer.send(Msg::State(Op::PagesDone(done)));
        }
    }

    /// Sends a redirect's target to the frontier, like any new request.
    fn push_redirect(&mut self, next: Request<S::Callback>, seed: bool) {
        let (persist, writer, remote) = (self.persist, &self.writer, self.remote.as_deref());
        let from = next.extras().redirected_from.last().map(redact_url);
        let to = redact_url(&next.url);
        let pushed = self.frontier.push_with(next, false, |fp, req, spilled| {
            on_accepted(persist, writer, remote, fp, req, spilled)
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

    /// Says, once per host (info), that requests to it are dropped as
    /// offsite, the rule that drops them, and how to send them.
    fn tell_offsite(&mut self) {
        for (host, url) in self.frontier.take_offsite_news() {
            tracing::info!(
                %host,
                "offsite request dropped: {} is outside the crawl's scope (the start URLs' hosts \
                 and allow_domains); later requests to {host} are only counted (skipped: \
                 offsite). To send them, allow the domain (Config::allow_domains, \
                 --allow-domain), or mark a request of the spider's own dont_filter",
                redact_url(&url)
            );
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
                let latency = Duration::from_secs_f64(record.elapsed_ms / 1000.0);
                self.frontier.observe(host, latency, record.status, now);
                if shed {
                    self.frontier.shed_load(host);
                }
                self.tell_load(host, latency, record.status, shed);
                // A start URL's outcome is its chain's last page (its URL
                // and error are redacted already). A sitemap that a
                // robots.txt or an index listed is at depth 0 too, but
                // not a start URL, nor is a robots.txt read for its
                // `Sitemap:` lines (--sitemaps), whose 404 only says the
                // site has none: not a broken page either.
                let role = request.extras().sitemap;
                let found_sitemap = role.is_some() && request.referer.is_some();
                let discovery = role == Some(crate::sitemap::SitemapRole::Robots);
                let seed = request.depth == 0 && !found_sitemap && !discovery;
                if seed {
                    match (&record.error, &redirect, record.status) {
                        (Some(e), _, _) => self.seeds.failed.push(format!("{}: {e}", record.url)),
                        (None, None, Some(status @ 400..)) => self
                            .seeds
                            .failed
                            .push(format!("{}: it answered {status}", record.url)),
                        (None, None, _) => self.seeds.ok += 1,
                        (None, Some(_), _) => {}
                    }
                }
                self.frontier.settled(&request, record.links == 0);
                if let Some(next) = redirect {
                    self.push_redirect(*next, seed);
                }
                {
                    let mut st = self.sh.stats.borrow_mut();
                    let status = record.status.filter(|_| !discovery);
                    st.page_done(status, record.error.is_some());
                    st.counts.bytes += record.bytes;
                    if record.status.is_some() {
                        st.latency
                            .record(Duration::from_secs_f64(record.elapsed_ms / 1000.0));
                    }
                }
                let (items, follows, item_errors) = out.into_parts();
                if let Some(r) = &self.remote {
                    let error = record.error.is_some() || record.status.is_some_and(|s| s >= 400);
                    r.count(1, i64::from(error), items.len() as i64, 0);
                }
                if let (true, Some(previous)) = (self.persist, request.previous()) {
                    self.writer
                        .send(recrawl::page_op(&request, previous, &follows));
                }
                {
                    let mut st = self.sh.stats.borrow_mut();
                    st.counts.items += items.len() as u64;
                    for e in &item_errors {
                        let why = format!("Output::item could not serialize it: {e}");
                        st.item_lost("item_serialize", &record.url, &why);
                    }
                }
                // Through the pipeline first: the record, items and done
                // mark then come back together (Report::Piped).
                let piping = match &self.pipelines {
                    Some(p) if !items.is_empty() => {
                        let (p, stats, tx) = (p.clone(), self.sh.stats.clone(), self.sh.tx.clone());
                        let fp = request.key();
                        let handed = items.len();
                        let url = record.url.clone();
                        let piped = pipeline::run_page(p, items, stats.clone(), url);
                        solo::spawn(async move {
                            let mut guard = PipeGuard {
                                tx,
                                stats,
                                page: Some((record, fp, handed)),
                            };
                            let (items, keys) = piped.await;
                            guard.send(items, keys);
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
                let (persist, writer, remote) =
                    (self.persist, &self.writer, self.remote.as_deref());
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
                        on_accepted(persist, writer, remote, fp, req, spilled)
                    });
                }
                if let Some(id) = request.extras().lease {
                    if piping {
                        // Acknowledged once its record is through (Piped).
                        self.piped_leases.insert(request.key(), id);
                    } else {
                        self.written_acks.push(id);
                    }
                }
                self.tell_offsite();
                // After its links: a crash before this commit fetches the
                // page again, and finds them again.
                if !piping {
                    self.persist_done(request.key());
                }
            }
            Report::Piped {
                record,
                items,
                keys,
                fp,
                handed,
            } => {
                if let Some(p) = &self.pipelines {
                    p.release(handed);
                }
                if let Some(lease) = self.piped_leases.remove(&fp) {
                    self.written_acks.push(lease);
                }
                self.writer.send(Msg::Page(record));
                for item in items {
                    self.writer.send(Msg::Item(item));
                }
                // The stages' keys commit with the page's items and done
                // mark (one turn: one checkpoint), or not at all.
                if self.persist && !keys.is_empty() {
                    self.writer.send(Msg::State(Op::Keys(keys)));
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
                self.tell_load(host, latency, status, status.is_none());
                self.sh.stats.borrow_mut().counts.retries += 1;
                request.retries += 1;
                if pause_host {
                    self.frontier.pause_host(host, at);
                }
                if let Some(r) = &self.remote {
                    r.count(0, 0, 0, 1);
                    if pause_host {
                        let pause = at.saturating_duration_since(now);
                        r.host_news(self.frontier.host_name(host), Duration::ZERO, pause);
                    }
                    if let Some(id) = request.extras().lease {
                        // Back to Redis: the retry waits for a slot of the
                        // host's crawl-wide limit like any request.
                        let wait = at.saturating_duration_since(now);
                        let entry = redis_frontier::queue_entry(&request);
                        r.retry(id, host_key(&request.url), wait, entry);
                        return;
                    }
                }
                self.frontier.retry_at(host, request, at);
            }
            Report::Robots {
                host,
                rules,
                fetched,
            } => {
                self.sh.stats.borrow_mut().counts.robots_fetched += u64::from(fetched);
                if let Some(r) = &self.remote {
                    // Also without a Crawl-delay: until some worker knows
                    // the host's rules, Redis leases it one request at a
                    // time (its Crawl-delay may be coming).
                    let cd = rules.crawl_delay().unwrap_or_default();
                    r.host_news(self.frontier.host_name(host), cd, Duration::ZERO);
                }
                self.frontier.robots_done(host, rules, now);
            }
            Report::RobotsRetry { host, at } => {
                // Counted like a page's retry, in the crawl's totals too.
                self.sh.stats.borrow_mut().counts.retries += 1;
                if let Some(r) = &self.remote {
                    r.count(0, 0, 0, 1);
                }
                self.frontier.robots_retry(host, at, now)
            }
            Report::Resolved { host, ip } => self.frontier.resolved(host, ip, now),
            Report::Crashed {
                host,
                fp,
                lease,
                record,
            } => {
                self.frontier.complete(host, now);
                if let (Some(id), Some(r)) = (lease, &self.remote) {
                    self.written_acks.push(id);
                    r.count(1, 1, 0, 0);
                }
                let mut st = self.sh.stats.borrow_mut();
                st.page_done(record.status, true);
                st.error("panic");
                drop(st);
                self.writer.send(Msg::Page(record));
                self.persist_done(fp);
            }
            Report::Leased(batch) => {
                let r = self
                    .remote
                    .clone()
                    .expect("leases come from a shared frontier");
                if let Some(reset) = r.take_reset() {
                    // The leases held before this batch are not (all)
                    // ours any more: those not started go back.
                    for req in self.frontier.drain() {
                        if let Some(id) = req.extras().lease {
                            r.release(id);
                        }
                    }
                    if reset == redis_frontier::Reset::RolledBack {
                        self.frontier.forget_seen();
                    }
                }
                let mut bad = None;
                for (id, json) in batch {
                    match serde_json::from_str::<Request<S::Callback>>(&json) {
                        Ok(mut req) => {
                            req.extras_mut().lease = Some(id);
                            self.frontier.restore(req);
                        }
                        Err(e) => {
                            // Written by another spider: dropped, said once per batch.
                            self.sh.stats.borrow_mut().error("redis_decode");
                            r.drop_lease(id);
                            bad.get_or_insert((0, e)).0 += 1;
                        }
                    }
                }
                if let Some((n, e)) = bad {
                    crate::logs::message(format_args!("solo-crawl: {n} leased request(s) do not decode (the first: {e}): dropped; do all workers of this crawl run the same spider?\n"));
                }
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

/// Sends a page's `Piped` report, even if its task ends without one (a
/// stage's panic fails its item alone, so only a bug here or a dropped
/// task: then with no items, counted as an `item_panic` error): the page
/// must leave the pipeline's backlog, or the crawl would never end.
struct PipeGuard<C> {
    tx: mpsc::Sender<Report<C>>,
    stats: Rc<RefCell<Stats>>,
    page: Option<(Box<PageRecord>, u64, usize)>,
}

impl<C> PipeGuard<C> {
    fn send(&mut self, items: Vec<serde_json::Value>, keys: Vec<(u32, u64)>) {
        if let Some((record, fp, handed)) = self.page.take() {
            let _ = self.tx.try_send(Report::Piped {
                record,
                items,
                keys,
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
            self.send(Vec::new(), Vec::new());
        }
    }
}
