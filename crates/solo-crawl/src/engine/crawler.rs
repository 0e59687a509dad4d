//! A crawl's public face and its setup.
//!
//! Owns: [`Crawler`] (spider, fetcher, settings, outputs, pipelines) and
//! `run`: it starts the writer thread, restores a `--state` crawl, joins
//! or seeds a shared frontier, feeds the start requests, runs the loop
//! and turns its end into a [`Summary`]. Must not: decide anything about
//! a page (that is [`page`](super::page)'s) or move data once the loop
//! runs (that is [`turn`](super::turn)'s).

use super::*;

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
    pub(super) spider: S,
    /// Builds the fetcher at `run`, from the settings with the start
    /// URLs' networks allowed (an error is reported by `run`).
    fetcher: MakeFetcher<F>,
    pub(super) config: Config,
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

    /// Wraps the fetcher the crawl would use (by default the HTTP client
    /// of [`fetch::client`], built at [`run`](Crawler::run) with the
    /// start URLs' networks allowed) in one of the caller's: a
    /// downloader middleware, as Scrapy's `DOWNLOADER_MIDDLEWARES`, that
    /// can change each request before it is sent (`process_request`: a
    /// header, a signature) and each answer or error after
    /// (`process_response`, `process_exception`). The crawl's rules
    /// (redirects, retries, robots.txt, politeness) stay around it, and
    /// the address guard stays inside it. Wrap more than once to stack.
    ///
    /// ```
    /// use solo_crawl::fetch::{Fetch, FetchError, FetchRequest, Fetched};
    /// use solo_crawl::{demo_site::DemoSite, Config, Crawler, LinkSpider};
    ///
    /// /// Signs every request (a header the API wants).
    /// struct Signed<F>(F);
    /// impl<F: Fetch> Fetch for Signed<F> {
    ///     async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, FetchError> {
    ///         let mut req = req.clone();
    ///         let sig = format!("v1-{}", req.url.path().len());
    ///         req.headers.push(("X-Signature".into(), sig));
    ///         self.0.fetch(&req).await
    ///     }
    /// }
    ///
    /// let site = DemoSite::start(20).unwrap();
    /// let crawl = Crawler::new(LinkSpider::new(vec![site.url()]), Config::default())
    ///     .wrap_fetcher(Signed);
    /// let summary = solo::run(crawl.run()).unwrap();
    /// assert!(summary.counts.pages > 0);
    /// ```
    pub fn wrap_fetcher<G: Fetch>(self, wrap: impl FnOnce(F) -> G + 'static) -> Crawler<S, G> {
        let make = self.fetcher;
        Crawler {
            spider: self.spider,
            fetcher: Box::new(move |c: &Config| make(c).map(wrap)),
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
        let start_origins = starts.iter().map(|r| r.url.origin()).collect();
        let sitemaps = crate::sitemap::start_requests(&self.config, &starts);
        let robots_for_sitemaps = sitemaps
            .iter()
            .filter(|r| r.extras().sitemap == Some(crate::sitemap::SitemapRole::Robots))
            .map(|r| (r.url.as_str().to_owned(), None))
            .collect();
        starts.extend(sitemaps);
        let mut config = self.config;
        if !config.allow_private_networks {
            // The user's deny rules win over the start URLs' networks,
            // even where those are more specific (a start name's own
            // addresses): a network a rule denies is not opened.
            let policy = crate::fetch::address_policy(&config);
            for net in start_networks(&starts, &config).await {
                match policy.denies_all_of(net) {
                    true => {
                        tracing::info!(%net, "a start URL's network stays closed: a deny rule covers it")
                    }
                    false => config.allow_networks.push(net),
                }
            }
        }
        let fetcher = (self.fetcher)(&config).map_err(CrawlError::Client)?;
        let link = match &config.frontier {
            FrontierBackend::Redis(r) => {
                let url = r.url.clone();
                let (link, note) =
                    solo::to_thread(move || crate::redis_link::Link::open_to_crawl(&url))
                        .await
                        .map_err(CrawlError::Redis)?;
                if let Some(n) = note {
                    crate::logs::message(format_args!("solo-crawl: {n}\n"));
                }
                Some((link, r.clone()))
            }
            _ => None,
        };
        let remote = link.as_ref().map(|_| Rc::new(Remote::default()));
        // One name for this worker's steps and its robots.txt claims.
        let worker = redis_frontier::worker_name();
        let robots_share = match &config.frontier {
            FrontierBackend::Redis(r) if config.obey_robots => {
                let url = r.url.clone();
                let link = solo::to_thread(move || crate::redis_link::Link::open(&url))
                    .await
                    .map_err(CrawlError::Redis)?;
                // A fetch takes its timeout (per redirect hop, but those are rare).
                let patience = config.timeout + Duration::from_secs(5);
                Some(RobotsShare::new(
                    link,
                    crate::redis_link::prefix(&r.crawl_id),
                    worker.clone(),
                    patience,
                    config.robots_max_age,
                ))
            }
            _ => None,
        };
        let metrics_listener = match config.metrics {
            Some(addr) => Some(
                crate::metrics::bind(addr)
                    .await
                    .map_err(CrawlError::Config)?,
            ),
            None => None,
        };
        let mut new_pass = false;
        let (store, restored) = match config.state_dir.clone() {
            Some(dir) => {
                let reset = config.state_reset;
                let (meaning, force) = (config.meaning.clone(), config.force_resume);
                let recrawl = config.recrawl.clone();
                let archiving = self.output.warc.is_some();
                let stages = self.pipelines.as_ref().map(|p| p.kept_names());
                let (store, restored, started) = solo::to_thread(move || {
                    let mut store = Store::open(&dir, reset)?;
                    let db_error = |store: &Store, e: rusqlite::Error| {
                        StateError::caused_by(crate::store::db_message(&store.db_path(), &e), e)
                    };
                    let mut restored = store.load().map_err(|e| db_error(&store, e))?;
                    if !meaning.is_empty() {
                        store.keep_settings(restored.resumed, &meaning, force)?;
                    }
                    let mut new_pass = false;
                    if let (Some(r), true) = (&recrawl, restored.queued.is_empty()) {
                        if restored.spilled == 0 {
                            new_pass = true;
                            // The known pages wait in the store, spilled:
                            // the frontier takes them back in batches.
                            crate::recrawl::start_pass(&mut store, r, archiving)
                                .map_err(|e| db_error(&store, e))?;
                            restored = store.load().map_err(|e| db_error(&store, e))?;
                        }
                    }
                    if let Some(names) = stages {
                        restored.stage_keys =
                            store.stage_keys(&names).map_err(|e| db_error(&store, e))?;
                    }
                    if recrawl.is_some() && !new_pass && restored.resumed {
                        tracing::warn!(
                            "--recrawl: the last run over the crawl kept in {} stopped before it \
                             was done; this run finishes it (no page it already fetched is asked \
                             again), and the next run with --recrawl starts a new pass",
                            dir.display()
                        );
                    }
                    Ok::<_, StateError>((store, restored, new_pass))
                })
                .await
                .map_err(|e| CrawlError::State(e.into()))?;
                new_pass = started;
                (Some(store), Some(restored))
            }
            None => (None, None),
        };
        let db_path = store.as_ref().map(Store::db_path);
        // Decoded before the output is touched: a damaged state changes
        // nothing.
        let restored = match (restored, &db_path) {
            (Some(r), Some(db)) => Some(decode_restored::<S::Callback>(r, db)?),
            _ => None,
        };
        // The jars, with the cookies the store kept (decoded before the
        // output is touched too).
        let sessions = Rc::new(Sessions::new(config.cookies));
        if let (Some((r, _)), Some(db)) = (&restored, &db_path) {
            for (key, state) in &r.cookies {
                sessions.restore(key, Some(state)).map_err(|e| {
                    CrawlError::State(
                        format!(
                            "state database {} is damaged: a stored cookie cannot be read ({e}); \
                             restore the state directory from a backup, or rerun with --state-reset \
                             to discard it and start the crawl over",
                            db.display()
                        )
                        .into(),
                    )
                })?;
            }
        }
        let persist = store.is_some();
        if let Some(p) = &self.pipelines {
            if let Some((r, _)) = &restored {
                // With --state: the stages' keys back, and kept from now on.
                p.restore(&r.stage_keys);
            }
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
            agent: agent_cfg.agent_name(),
            sitemap_urls: Cell::new(0),
            sessions: sessions.clone(),
            robots_share,
            robots_for_sitemaps: RefCell::new(robots_for_sitemaps),
            archive: writer.archive(&self.output),
            start_origins,
            answered: RefCell::default(),
        });
        // Cookie changes go to the store and the other workers.
        let queue = persist.then(|| writer.queue());
        if queue.is_some() || remote.is_some() {
            let remote = remote.clone();
            sessions.set_sink(Box::new(move |key, state| {
                if let Some(r) = &remote {
                    r.cookie(key.clone(), state.clone());
                }
                if let Some(q) = &queue {
                    let state = state.map(crate::store::CookieState);
                    q.state(Op::Cookie { key, state });
                }
            }));
        }
        let mut frontier = if remote.is_some() {
            // The page budget and the autothrottle's pauses are the shared
            // frontier's (the overload backoff is both: crawl-wide in
            // Redis, and here for the retries of the leases we hold).
            let mut cfg = agent_cfg.clone();
            cfg.max_pages = None;
            cfg.autothrottle = None;
            let mut f = Frontier::new(&cfg);
            f.set_remote();
            f
        } else {
            Frontier::new(&agent_cfg)
        };
        if let (Some((link, r)), Some(remote)) = (link, &remote) {
            remote.set_idle(r.idle_timeout);
            let tx = sh.tx.clone();
            let params = redis_frontier::Params::of(&agent_cfg, r.lease_timeout);
            solo::spawn(remote.clone().drive(
                link,
                crate::redis_link::prefix(&r.crawl_id),
                worker,
                params,
                Box::new(move |key: &str, state: Option<&str>| {
                    // Another worker's; one that does not decode (another
                    // version's) is skipped.
                    let _ = sessions.restore(key, state);
                }),
                Box::new(move |batch| {
                    let _ = tx.try_send(Report::Leased(batch));
                }),
            ));
        }
        let resumed = restored.as_ref().is_some_and(|(r, _)| r.resumed);
        tracing::info!(
            concurrency = agent_cfg.concurrency,
            per_host = agent_cfg.per_host,
            obey_robots = agent_cfg.obey_robots,
            start_urls = starts.len(),
            "crawl starting"
        );
        if let Some((r, queued)) = restored {
            frontier.restore_progress(&r.seen, r.pages_done, r.spilled);
            frontier.set_cap(agent_cfg.frontier_cap);
            // The scope (the start hosts) first: a recrawl pass's pages
            // are checked against it as they come back.
            for s in &starts {
                frontier.add_start_host(&s.url);
            }
            for req in queued {
                frontier.restore(req);
            }
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
        // A start URL that is a known page of a recrawl is seen: its
        // conditional request waits in the store with the others.
        for r in starts {
            let url = redact_url(&r.url);
            let bad_host = crate::idn::check_host(&r.url).err();
            let pushed = frontier.push_with(r, true, |fp, req, spilled| {
                on_accepted(persist, &writer, remote.as_deref(), fp, req, spilled)
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
        if let (true, Some(dir)) = (resumed, &agent_cfg.state_dir) {
            say_why_nothing_is_left(
                &frontier,
                dir,
                agent_cfg.max_pages,
                agent_cfg.recrawl.as_ref(),
            );
        }
        let progress = Rc::new(Progress::new(sh.config.progress));
        let live = Rc::new(crate::metrics::Live::default());
        let live2 = live.clone();
        let ticker = solo::spawn(crate::stats::ticker(
            sh.stats.clone(),
            progress.clone(),
            Rc::new(move || {
                let (in_flight, queued) = live2.now.get();
                (in_flight, queued, live2.frontier.get().1)
            }),
            sh.config.log_stats,
        ));
        let metrics = metrics_listener.map(|l| {
            solo::spawn(crate::metrics::serve(l, sh.stats.clone(), live.clone())).cancel_on_drop()
        });
        let signals = sh
            .config
            .handle_ctrl_c
            .then(|| {
                let shared = match &sh.config.frontier {
                    FrontierBackend::Redis(r) => Some(r.crawl_id.clone()),
                    FrontierBackend::InProcess => None,
                };
                solo::spawn(watch_signals(
                    self.stop.clone(),
                    sh.stats.clone(),
                    live.clone(),
                    shared,
                ))
            })
            .map(solo::Task::cancel_on_drop); // after the metrics linger too
        let _deadline = sh.config.max_time.map(|d| {
            let stop = self.stop.clone();
            solo::spawn(async move {
                solo::sleep(d).await;
                if !stop.is_stopped() {
                    tracing::info!(seconds = d.as_secs_f64(), "max_time reached: stopping");
                    stop.stop_at_limit("max_time");
                }
            })
            .cancel_on_drop()
        });

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
            remote: remote.clone(),
            written_acks: Vec::new(),
            piped_leases: Default::default(),
            busiest: metrics.is_some(),
            jobs: Vec::new(),
        };
        let interrupted = engine.run_loop(&self.stop, &live).await;
        if let Some(r) = &remote {
            engine.leave(r).await;
        }
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
        if let Some(e) = remote.as_ref().and_then(|r| r.fatal()) {
            return Err(CrawlError::Redis(e));
        }
        closed.map_err(CrawlError::Pipeline)?;
        let c = frontier.counts();
        let filtered = [
            ("seen", c.seen),
            ("offsite", c.offsite),
            ("parent", c.parent),
            ("too_deep", c.too_deep),
            ("filtered", c.filtered),
            ("scheme", c.scheme),
            ("max_pages", c.max_pages),
            ("robots", c.robots),
            ("robots_unreachable", c.robots_unreachable),
            ("bad_host", c.bad_host),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_owned(), n))
        .collect();
        sh.stats.borrow_mut().finish();
        let mut summary = sh.stats.borrow().summary(SummaryExtra {
            seen: frontier.seen() as u64,
            queued: frontier.left(),
            filtered,
            interrupted: interrupted || failed,
        });
        summary.buffered_peak_bytes = budget.peak() as u64;
        summary.stopped_by = self.stop.limit().map(str::to_owned);
        summary.seeds_ok = seeds.ok;
        summary.resumed = resumed;
        summary.new_pass = new_pass;
        summary.seeds_failed = seeds.failed;
        tracing::info!(
            pages = summary.counts.pages,
            seconds = summary.seconds,
            interrupted = summary.interrupted,
            "crawl finished"
        );
        sh.spider.closed(&summary).await;
        if let Some(m) = metrics {
            live.now.set((0, frontier.queued()));
            // What is left in the crawl: with a shared frontier, its queue.
            let left = match &remote {
                Some(r) => r.shared_counts().0,
                None => frontier.left(),
            };
            live.frontier.set((frontier.seen() as u64, left));
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
            // A name that does not answer in time is remembered as
            // failed for a while: its fetches fail at once, saying why.
            let answers = resolver
                .lookup_timeout(&host, limit)
                .await
                .unwrap_or_default();
            (host, answers)
        }
    });
    let mut nets = Vec::new();
    for (host, answers) in solo::gather(lookups).await {
        let opened = crate::start_scope::opened(&host, &answers);
        if let Some(w) = opened.warning {
            tracing::warn!("{w}");
        }
        for net in opened.nets {
            if !nets.contains(&net) {
                tracing::info!(%host, %net, "a start URL opens this network to the crawl");
                nets.push(net);
            }
        }
    }
    nets
}

/// Ctrl-C, SIGTERM and SIGHUP stop gracefully (a second one calls
/// [`StopHandle::hurry`]: the crawl returns without waiting for the
/// requests in flight, and a program may exit at once); SIGUSR1 prints
/// the statistics so far (the frontier's figures as `live` has them).
/// A SIGHUP ignored when the crawl starts (`nohup`) stays ignored.
async fn watch_signals(
    stop: StopHandle,
    stats: Rc<RefCell<Stats>>,
    live: Rc<crate::metrics::Live>,
    shared: Option<String>,
) {
    use solo::signal::{is_ignored, unix, SignalKind};
    let mut hup = match is_ignored(SignalKind::hangup()) {
        true => None,
        false => unix(SignalKind::hangup()).ok(),
    };
    let (Ok(mut int), Ok(mut term), Ok(mut usr1)) = (
        unix(SignalKind::interrupt()),
        unix(SignalKind::terminate()),
        unix(SignalKind::user_defined1()),
    ) else {
        return;
    };
    // Whether a signal stopped the crawl: only a second signal hurries
    // it. A crawl stopped otherwise (its --max-time, a stop passed on by
    // a parent worker that got the same SIGTERM from systemd) takes a
    // signal as the first one: it goes on finishing its requests.
    let mut signalled = false;
    loop {
        // Ctrl-C, SIGTERM (what supervisors, `docker stop` and `kill`
        // send) or SIGHUP (a closed terminal, a dropped ssh session): a
        // graceful stop, a second one at once; SIGUSR1: the stats.
        let stop_by = {
            let mut a = pin!(int.recv());
            let mut t = pin!(term.recv());
            let mut h = pin!(async {
                match &mut hup {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            });
            let mut b = pin!(usr1.recv());
            poll_fn(|cx| {
                if a.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some("Ctrl-C"));
                }
                if t.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some("SIGTERM"));
                }
                if h.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some("SIGHUP"));
                }
                if b.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                Poll::Pending
            })
            .await
        };
        match stop_by {
            Some(_) if signalled => stop.hurry(),
            Some(by) => {
                signalled = true;
                crate::logs::message(format_args!(
                    "{by}: finishing the requests in flight ({by} again to quit at once)\n"
                ));
                stop.stop();
            }
            None => {
                let (seen, queued) = live.frontier.get();
                let summary = stats.borrow().summary(SummaryExtra {
                    seen,
                    queued,
                    ..SummaryExtra::default()
                });
                crate::logs::message(format_args!("{summary}"));
                if let Some(id) = &shared {
                    crate::logs::message(format_args!(
                        "solo-crawl: this worker's statistics, the requests left queued in the whole crawl; all of it: solo-crawl status --redis URL --crawl-id {id}\n"
                    ));
                }
            }
        }
    }
}

/// A resumed crawl with nothing to do now: says why, and how to go on.
fn say_why_nothing_is_left<C>(
    frontier: &Frontier<C>,
    dir: &std::path::Path,
    max_pages: Option<u64>,
    recrawl: Option<&crate::Recrawl>,
) {
    if frontier.budget_spent() && frontier.left() > 0 {
        tracing::warn!(
            "the crawl in {} has had its --max-pages {} pages; {} requests wait in it: raise --max-pages (with --force) to crawl them",
            dir.display(),
            max_pages.unwrap_or(0),
            frontier.left()
        );
    } else if let (true, Some(age)) = (frontier.is_idle(), recrawl.and_then(|r| r.older_than)) {
        tracing::warn!(
            "the crawl in {}: no known page was last fetched more than {} ago (--recrawl-older-than), so this pass has nothing to ask",
            dir.display(),
            crate::recrawl::show_age(age)
        );
    } else if frontier.is_idle() {
        tracing::warn!(
            "the crawl in {} is finished: nothing is left to crawl. Links it turned away (past --depth, offsite, filtered) were not kept; to go over its pages again under new settings, add --recrawl",
            dir.display()
        );
    }
}
