//! The tasks the loop spawns: a page (fetch, then the spider's callback,
//! then what the page says about crawling it), robots.txt of a host, and
//! the lookup of a host's address (with `--per-ip`).
//!
//! Owns: turning one fetch into one [`Report`] — retry or answer,
//! redirect or refresh as a new request, sitemap entries, the record's
//! fields from the response, cookies in and out, the exchange to the
//! archive. Must not: touch the frontier or the writer (the loop applies
//! the report); a panic in the spider's callback still reports, as
//! `Crashed`.

use super::*;

/// Sends a `Crashed` report if the task unwinds before reporting.
struct PanicGuard<'a, C> {
    tx: &'a mpsc::Sender<Report<C>>,
    host: HostId,
    fp: u64,
    lease: Option<u64>,
    record: Option<PageRecord>,
}

impl<C> Drop for PanicGuard<'_, C> {
    fn drop(&mut self) {
        if let Some(mut record) = self.record.take() {
            record.error = Some("the spider's callback panicked".into());
            let _ = self.tx.try_send(Report::Crashed {
                host: self.host,
                fp: self.fp,
                lease: self.lease,
                record: Box::new(record),
            });
        }
    }
}

/// The record of `request` before its fetch, URL credentials masked.
pub(super) fn base_record<C>(request: &Request<C>) -> PageRecord {
    let x = request.extras();
    PageRecord {
        url: redact_url(&request.url),
        depth: request.depth,
        referer: request.referer.as_ref().map(redact_url),
        redirected_from: x.redirected_from.iter().map(redact_url).collect(),
        lastmod: x.lastmod.clone(),
        requisite: x.requisite > 0,
        ..Default::default()
    }
}

pub(super) async fn page_task<S: Spider, F: Fetch>(
    sh: Rc<Shared<S, F>>,
    host: HostId,
    request: Request<S::Callback>,
) {
    let mut guard = PanicGuard {
        tx: &sh.tx,
        host,
        fp: request.key(),
        lease: request.extras().lease,
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

/// Runs a spider callback to its end, or to a panic in it: then the
/// panic's message. What the callback emitted before it panicked stays
/// in its `Output`, as Scrapy keeps what a callback yielded before it
/// raised; the callback's future is dropped, never polled again.
async fn unwound(callback: impl Future<Output = ()>) -> Result<(), String> {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let mut callback = pin!(callback);
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| callback.as_mut().poll(cx))) {
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                let why = match (
                    payload.downcast_ref::<&str>(),
                    payload.downcast_ref::<String>(),
                ) {
                    (Some(s), _) => (*s).to_owned(),
                    (_, Some(s)) => s.clone(),
                    _ => "a panic without a message".to_owned(),
                };
                Poll::Ready(Err(why))
            }
        },
    )
    .await
}

/// A callback of this page panicked with `why`: the page is an error of
/// kind `panic`, its record says so after the page's own error, if any
/// (status, size and what the callback emitted before the panic are
/// kept).
fn callback_panicked<S: Spider, F: Fetch>(sh: &Shared<S, F>, record: &mut PageRecord, why: &str) {
    sh.stats.borrow_mut().error("panic");
    let said = format!("the spider's callback panicked: {}", redact_text(why));
    record.error = Some(match record.error.take() {
        Some(e) => format!("{e}; {said}"),
        None => said,
    });
}

/// Statuses worth another try.
fn retryable_status(s: u16) -> bool {
    matches!(s, 408 | 429 | 500 | 502..=504 | 520..=524)
}

/// The wait before attempt `tries + 1`: exponential from
/// `backoff_base`, with a little jitter so retries of a burst do not come
/// back together, at most `backoff_max`.
fn backoff(cfg: &Config, tries: u32) -> Duration {
    let exp = cfg.backoff_base.saturating_mul(1u32 << tries.min(20));
    exp.mul_f64(1.0 + fastrand::f64() * 0.1)
        .min(cfg.backoff_max)
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
    // robots.txt read for its sitemaps: the robots task's answer, if it
    // has come (fetched once, archived once).
    let robots = match request.extras().sitemap {
        Some(crate::sitemap::SitemapRole::Robots) if request.retries == 0 => sh
            .robots_for_sitemaps
            .borrow_mut()
            .remove(request.url.as_str())
            .flatten(),
        _ => None,
    };
    // The robots task counted that answer already.
    let counted = robots.is_some();
    let result = match robots {
        Some(f) => Ok((f, false)),
        None => {
            let wire = Wire::of(sh, &request);
            download(sh, &request.url, request.referer.as_ref(), wire).await
        }
    };
    let elapsed = start.elapsed();
    let can_retry = request.retries < cfg.max_retries;
    let tries = request.retries;
    let backoff = || backoff(cfg, tries);
    let mut record = base_record(&request);
    record.elapsed_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    let mut out = Output::new();
    match result {
        Ok((f, jar_changed)) => {
            if !counted {
                sh.stats.borrow_mut().status(f.status);
            }
            tracing::debug!(
                status = f.status,
                bytes = f.body.len(),
                elapsed_ms = record.elapsed_ms,
                "response"
            );
            if retryable_status(f.status) && can_retry {
                let ra = retry_after(&f);
                let wait = ra.unwrap_or_else(backoff).min(cfg.backoff_max);
                match ra.filter(|&asked| asked > wait) {
                    Some(asked) => tracing::info!(
                        status = f.status,
                        wait_ms = wait.as_millis() as u64,
                        "retrying: HTTP {} (its Retry-After of {} s cut to the longest \
                         wait, {} s: --backoff-max / Config::backoff_max)",
                        f.status,
                        asked.as_secs(),
                        wait.as_secs_f64()
                    ),
                    None => tracing::info!(
                        status = f.status,
                        wait_ms = wait.as_millis() as u64,
                        "retrying: HTTP {}",
                        f.status
                    ),
                }
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
                if let Some(b) = before.as_deref() {
                    recrawl::unchanged_page(b, &mut kept, &mut record);
                }
                let before = before.map(|p| (p.links, p.requisites));
                (kept.links, kept.requisites) = before.unwrap_or_default();
                for link in kept.links.iter().filter_map(|l| Url::parse(l).ok()) {
                    out.follow(Request::new(link, request.callback.clone()));
                }
                let embeds: Vec<Url> = kept
                    .requisites
                    .iter()
                    .filter_map(|l| Url::parse(l).ok())
                    .collect();
                record.requisites = embeds.len() as u64;
                out.embed(crate::requisites::requests(&request, &embeds, |u| {
                    sh.spider.requisite_callback(u)
                }));
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
            let mut followed = redirect::follow_with(
                &request,
                &request.extras().method,
                f.status,
                f.header("location"),
                &f.final_url,
                cfg.max_redirects,
                jar_changed,
            );
            if let Ok(Some(r)) = followed {
                let next = no_answered_loop(sh, &request, r.request, jar_changed);
                followed = next.map(|request| Some(redirect::Redirect { request, ..r }));
            }
            if let Err(redirect::RedirectError::Loop(to)) = &followed {
                // A cookie wall seen by a crawl that keeps no cookies.
                let no_jar = !cfg.cookies && request.extras().cookie_jar.is_none();
                if no_jar && f.header("set-cookie").is_some() {
                    followed = Err(redirect::RedirectError::LoopWithoutCookies(to.clone()));
                }
            }
            if let Some(followed) = followed.transpose() {
                // A redirect is not the answer: no callback. Its target is
                // crawled as a request of its own, if the frontier allows.
                let next = followed.map(|n| n.request);
                return redirected(sh, host, request, record, f.final_url, f.status, next).await;
            }
            let ok = (200..300).contains(&f.status);
            if ok && cfg.page_requisites && crate::requisites::is_css(f.header("content-type")) {
                let (found, capped) = crate::requisites::read_stylesheet(&f, cfg).await;
                record.requisites = found.len() as u64;
                if capped {
                    record.truncated.push("requisites".into());
                }
                out.embed(crate::requisites::requests(&request, &found, |u| {
                    sh.spider.requisite_callback(u)
                }));
            }
            if request.extras().requisite > 0 {
                // An HTML requisite the crawl would have followed as a link
                // (a frame that is linked too) is a page: its links are
                // followed and its own requisites start over. Others are
                // archived, not followed: no spider, no links.
                let x = request.extras();
                let html = ok && crate::links::is_html(f.header("content-type"), &f.body);
                if !(x.page_if_html && html) {
                    return Report::answered(host, request, record, out, f.final_url, None);
                }
                request.extras_mut().requisite = 0;
            }
            if let (Some(role), true) = (request.extras().sitemap, ok) {
                let limits = &cfg.sitemap_limits;
                let off_loop = cfg.parse_off_loop_bytes;
                let read =
                    crate::sitemap::read_off_loop(role, &f.final_url, f.body, limits, off_loop)
                        .await;
                let since = cfg
                    .sitemap_newer_than
                    .and_then(|age| std::time::SystemTime::now().checked_sub(age));
                let found = crate::sitemap::expand(
                    &sh.spider,
                    limits,
                    since,
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
                    .with_link_cap(cfg.max_links_per_page)
                    .with_requisites(cfg.page_requisites);
            if response.body().len() > cfg.parse_off_loop_bytes {
                response.scan_off_loop().await;
            }
            // A page with a refresh to follow is a page like any other
            // (its record, callback and links), and a redirect too.
            let refreshed = (ok && response.is_html())
                .then(|| refresh(cfg, &request, &response))
                .flatten()
                .map(|next| next.and_then(|n| no_answered_loop(sh, &request, n, false)));
            if ok {
                let parsed = sh
                    .spider
                    .parse(request.callback.clone(), &response, &mut out);
                if let Err(why) = unwound(parsed).await {
                    callback_panicked(sh, &mut record, &why);
                }
                obey_page(sh, &response, &mut record, &mut out);
                if let Some(found) = response.scan().filter(|_| cfg.page_requisites) {
                    // Embeds are not links: a nofollow page keeps them.
                    record.requisites = found.requisites.len() as u64;
                    if found.requisites_capped {
                        record.truncated.push("requisites".into());
                    }
                    out.embed(crate::requisites::requests(
                        &request,
                        &found.requisites,
                        |u| sh.spider.requisite_callback(u),
                    ));
                }
            } else {
                let handled = sh
                    .spider
                    .on_error(&request, Failure::Status(&response), &mut out);
                if let Err(why) = unwound(handled).await {
                    callback_panicked(sh, &mut record, &why);
                }
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
            if ok {
                recrawl::remember_page(&mut request, &record);
            }
            let next = match refreshed {
                Some(next) => hop_to(sh, &request, &mut record, &mut out, f.status, next).await,
                None => None,
            };
            Report::answered(host, request, record, out, final_url, next)
        }
        Err(e) => {
            {
                let mut st = sh.stats.borrow_mut();
                st.error(e.kind.as_str());
                if let Some(status) = e.status {
                    st.status(status); // a response, cut short
                }
            }
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
            let mut panicked = None;
            if request.extras().requisite == 0 {
                let handled = sh.spider.on_error(&request, Failure::Fetch(&e), &mut out);
                panicked = unwound(handled).await.err();
            }
            record.status = e.status;
            if e.status.is_some() {
                // The head arrived: what it said is kept (a link to a
                // file over --max-bytes still names its type).
                record.final_url = Some(redact_url(&request.url));
                record.content_type.clone_from(&e.content_type);
            }
            record.error = Some(redact_text(&e.to_string()).into_owned());
            if let Some(why) = panicked {
                callback_panicked(sh, &mut record, &why);
            }
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

/// Fetches a host's robots.txt, its first [`MAX_PARSED`] bytes (RFC 9309
/// §2.5: what is past the limit may be ignored, the rules before it
/// still apply), whatever `--max-bytes` says. Its redirects are followed
/// up to five times, to other hosts too (RFC 9309 §2.3.1.2: `example.com`
/// to `www.example.com` is common), for robots.txt alone; a hop the crawl
/// refuses (the address guard) counts as unreachable, as the rules of a
/// host cannot be read there. A network error, 5xx or 429 asks the
/// loop for another attempt (`tries` so far) after the crawl's backoff or
/// the answer's Retry-After, while `max_retries` allows; then the rules
/// say robots.txt is unreachable (`Config::robots_unreachable`).
pub(super) async fn robots_task<S: Spider, F: Fetch>(
    sh: Rc<Shared<S, F>>,
    host: HostId,
    url: Url,
    tries: u32,
) {
    let cfg = &sh.config;
    let agent = cfg.agent_name();
    let mut url = url;
    let mut hops = 0;
    let key = host_key(&url);
    // A retry fetches again: this worker holds the claim.
    if let Some(share) = sh.robots_share.as_ref().filter(|_| tries == 0) {
        if let Robots::Stored(status, body) = share.claim(&key).await {
            let policy = cfg.robots_unreachable;
            let rules = RobotsRules::from_fetch(&agent, status, &body, None, policy);
            let _ = sh.tx.try_send(Report::Robots {
                host,
                rules,
                fetched: false,
            });
            return;
        }
    }
    let asked = url.as_str().to_owned();
    let home = url.host_str().map(str::to_owned);
    let can_retry = tries < cfg.max_retries;
    // One byte past the limit: a line cut there is not read in part.
    let wire = || Wire {
        cut_at: Some(MAX_PARSED + 1),
        ..Wire::default()
    };
    let (status, body, failure) = loop {
        let fetched = download(&sh, &url, None, wire()).await;
        count_robots_answer(&sh, &fetched);
        let f = match fetched {
            Ok((f, _)) => f,
            Err(e) if !server_or_network(e.kind) && url.host_str() != home.as_deref() => {
                // A hop to another host refused on our side: the host's
                // rules cannot be had there (not: there are none).
                let why = redact_text(&e.to_string()).into_owned();
                break (None, bytes::Bytes::new(), Some(why));
            }
            Err(e) if !server_or_network(e.kind) => {
                // Refused on our side (the address guard, a redirect not
                // followed, over --max-bytes): as if it had none; its
                // pages meet the same refusal, each in its record.
                let why = redact_text(&e.to_string()).into_owned();
                tracing::info!(url = %redact_url(&url), "robots.txt: not fetched ({why}): allowing all");
                let rules = RobotsRules::allow_all();
                let _ = sh.tx.try_send(Report::Robots {
                    host,
                    rules,
                    fetched: true,
                });
                return;
            }
            Err(e) => {
                let why = redact_text(&e.to_string()).into_owned();
                if e.kind.is_retryable() && can_retry {
                    return robots_retry(&sh, host, &url, backoff(cfg, tries), &why);
                }
                break (None, bytes::Bytes::new(), Some(why));
            }
        };
        if unreachable_status(f.status) && can_retry {
            let wait = retry_after(&f)
                .unwrap_or_else(|| backoff(cfg, tries))
                .min(cfg.backoff_max);
            return robots_retry(&sh, host, &url, wait, &format!("HTTP {}", f.status));
        }
        if redirect::is_redirect(f.status) && hops < ROBOTS_REDIRECTS {
            let to = redirect::target(&f.final_url, f.header("location")).ok();
            if let Some(to) = to.filter(|t| *t != url) {
                hops += 1;
                url = to;
                continue;
            }
        }
        let answer = (Some(f.status), f.body.clone(), None);
        if let Some(slot) = sh.robots_for_sitemaps.borrow_mut().get_mut(&asked) {
            *slot = Some(f);
        }
        break answer;
    };
    if let Some(share) = &sh.robots_share {
        share.store(&key, status, &body).await;
    }
    let policy = cfg.robots_unreachable;
    let rules = RobotsRules::from_fetch(&agent, status, &body, failure.as_deref(), policy);
    tracing::info!(
        host = url.host_str().unwrap_or_default(),
        url = %redact_url(&url),
        status,
        crawl_delay_ms = rules.crawl_delay().map(|d| d.as_millis() as u64),
        "robots.txt: {}",
        rules.decision(status)
    );
    let _ = sh.tx.try_send(Report::Robots {
        host,
        rules,
        fetched: true,
    });
}

/// Counts an answer to a robots.txt request in the statistics as a
/// page's is counted: its status (a response), or the kind of failure of
/// one that got none or was cut short. A request the crawl refused
/// itself (never sent) is not counted.
fn count_robots_answer<S: Spider, F: Fetch>(
    sh: &Shared<S, F>,
    fetched: &Result<(Fetched, bool), FetchError>,
) {
    let mut st = sh.stats.borrow_mut();
    match fetched {
        Ok((f, _)) => st.status(f.status),
        Err(e) if server_or_network(e.kind) => {
            st.error(e.kind.as_str());
            if let Some(status) = e.status {
                st.status(status);
            }
        }
        Err(_) => {}
    }
}

/// A failure of the server or the network (RFC 9309's "unreachable"), not
/// a refusal of the crawl's own.
fn server_or_network(kind: FetchErrorKind) -> bool {
    use FetchErrorKind as K;
    matches!(
        kind,
        K::Dns | K::Connect | K::Timeout | K::Io | K::Tls | K::InvalidResponse
    )
}

/// Asks the loop to fetch `url` (robots.txt of `host`) again after `wait`.
fn robots_retry<S: Spider, F: Fetch>(
    sh: &Shared<S, F>,
    host: HostId,
    url: &Url,
    wait: Duration,
    why: &str,
) {
    tracing::info!(
        url = %redact_url(url),
        wait_ms = wait.as_millis() as u64,
        "robots.txt: retrying: {why}"
    );
    let at = solo::time::now() + wait;
    let _ = sh.tx.try_send(Report::RobotsRetry { host, at });
}

/// Resolves a host's name for the per-IP limit (see the `per_ip`
/// module) with the crawl's resolver, within the crawl's timeout; a name
/// that does not resolve reports no address.
pub(super) async fn resolve_task<S: Spider, F>(sh: Rc<Shared<S, F>>, host: HostId, name: String) {
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

/// The report of a 3xx answer: the next request, or the error that
/// stops the chain.
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
    let next = hop_to(sh, &request, &mut record, &mut out, status, next).await;
    Report::answered(host, request, record, out, final_url, next)
}

/// A redirect's (or a meta refresh's) next hop into `request`'s record:
/// its target in `redirect_to`, and the request to send; or the error
/// that stops the chain, also given to the spider's `on_error`.
async fn hop_to<S: Spider, F: Fetch>(
    sh: &Shared<S, F>,
    request: &Request<S::Callback>,
    record: &mut PageRecord,
    out: &mut Output<S::Callback>,
    status: u16,
    next: Result<Request<S::Callback>, redirect::RedirectError>,
) -> Option<Box<Request<S::Callback>>> {
    match next {
        Ok(next) => {
            record.redirect_to = Some(redact_url(&next.url));
            Some(Box::new(next))
        }
        Err(e) => {
            let kind = FetchErrorKind::Redirect;
            sh.stats.borrow_mut().error(kind.as_str());
            let mut err = FetchError::new(kind, e.to_string());
            err.status = Some(status);
            let handled = sh.spider.on_error(request, Failure::Fetch(&err), out);
            let panicked = unwound(handled).await.err();
            record.redirect_to = e.target().map(redact_url);
            record.error = Some(redact_text(&err.to_string()).into_owned());
            if let Some(why) = panicked {
                callback_panicked(sh, record, &why);
            }
            None
        }
    }
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
    // Its query in the page's charset, as its links' (and browsers').
    let to = redirect::target_in(&scan.base, Some(r.url.as_deref()?), response.encoding()).ok()?;
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

/// `next`, the hop a redirect or refresh of `request` leads to, unless
/// the redirects answered so far lead from it back to `request`: a loop
/// whose other hops were reached by links of their own, so that
/// `request`'s chain does not list them. The hop is noted for the
/// others. With `revisit` (the answer changed the request's cookies: a
/// cookie wall) a loop is followed, as [`redirect::follow_with`] does.
fn no_answered_loop<S: Spider, F>(
    sh: &Shared<S, F>,
    request: &Request<S::Callback>,
    next: Request<S::Callback>,
    revisit: bool,
) -> Result<Request<S::Callback>, redirect::RedirectError> {
    let closes = sh
        .answered
        .borrow_mut()
        .hop(request.fingerprint(), next.fingerprint());
    if closes && !revisit {
        return Err(redirect::RedirectError::Loop(next.url));
    }
    Ok(next)
}

/// What a 2xx page says about crawling it, into its record (`noindex`,
/// `nofollow`, `canonical`), and obeyed on the requests its callback
/// made: a `nofollow` page (unless robots are ignored) drops those that
/// follow one of its links, `skip_nofollow_links` those that follow a
/// link marked `rel="nofollow"`. A request follows a link when it is a
/// GET without a body of a URL the page links to (`Response::links`,
/// `Response::follow` of an `href` on the page); the others (a form's
/// POST, an API's next page, a URL the spider built) are sent, as Scrapy
/// sends every request a callback yields.
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
    record.canonical = match scan.and_then(|s| s.canonical.as_ref()) {
        Some(c) => Some(redact_url(c)),
        None => crate::directives::link_canonical(response.headers(), response.url())
            .map(|c| redact_url(&c)),
    };
    let page_wide = d.nofollow && cfg.obey_robots;
    let dropped = match scan {
        Some(s) if page_wide || (cfg.skip_nofollow_links && s.rel_nofollow.contains(&true)) => {
            let marked: std::collections::HashSet<&str> = s
                .links
                .iter()
                .zip(&s.rel_nofollow)
                .filter(|(_, nf)| page_wide || **nf)
                .map(|(u, _)| u.as_str())
                .collect();
            out.retain_requests(|r| !follows_link(r, &marked))
        }
        _ => 0,
    };
    sh.stats.borrow_mut().counts.nofollow += dropped as u64;
}

/// Whether `r` follows one of the `links`: a GET without a body of one of
/// them (a form's GET has its fields in the query: another URL), not
/// marked `dont_filter` (a request sent again on purpose, e.g. the page
/// itself after a soft ban, is the spider's, not a link it follows).
fn follows_link<C>(r: &Request<C>, links: &std::collections::HashSet<&str>) -> bool {
    let x = r.extras();
    x.method == hyper::Method::GET
        && x.body.is_empty()
        && !x.dont_filter
        && links.contains(r.url.as_str())
}

/// What a request sends besides its URL and referer.
#[derive(Default)]
struct Wire<'a> {
    method: hyper::Method,
    headers: &'a [(String, String)],
    body: bytes::Bytes,
    timeout: Option<Duration>,
    jar: Option<Rc<solo_http::CookieJar>>,
    /// The session id of `jar` (`None`: the default jar).
    jar_id: Option<&'a str>,
    /// Cookies to put into `jar` first (without a jar: to send).
    cookies: &'a [(String, String)],
    /// Another attempt follows a retryable failure (`--retries` left).
    retry_left: bool,
    /// Keep the first this many bytes of the body and end the exchange
    /// there, not `--max-bytes` (robots.txt).
    cut_at: Option<usize>,
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
            jar_id: x.cookie_jar.as_deref(),
            cookies: &x.cookies,
            retry_left: r.retries < sh.config.max_retries,
            cut_at: None,
        }
    }
}

/// Fetches `url` once (a redirect is an answer like any other) within the
/// configured timeout, or the request's own. Cookies of the request's jar
/// go with it, and what the answer's `Set-Cookie` headers set goes into
/// the jar (a redirect's too: its target is fetched later, with them),
/// and what changed goes to the store and the other workers before the
/// page's requests do; so do the request's own cookies, put into the jar
/// first. Also says whether the exchange changed the jar.
async fn download<S: Spider, F: Fetch>(
    sh: &Shared<S, F>,
    url: &Url,
    referer: Option<&Url>,
    wire: Wire<'_>,
) -> Result<(Fetched, bool), FetchError> {
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
    for (k, v) in &cfg.headers {
        // Credentials given for the crawl's sites go to them alone.
        if crate::secrets::is_credential(k) && !sh.start_origins.contains(&url.origin()) {
            continue;
        }
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v.clone()));
    }
    for (k, v) in wire.headers {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v.clone()));
    }
    let mut changed = false;
    if let Some(jar) = &wire.jar {
        changed = sh.sessions.add(wire.jar_id, jar, url, wire.cookies);
        session::add_cookies(jar, url, &mut headers);
    } else {
        session::add_to_header(wire.cookies, &mut headers);
    }
    let req = FetchRequest {
        method: wire.method,
        url: url.clone(),
        headers,
        timeout: wire.timeout.unwrap_or(cfg.timeout),
        max_bytes: wire.cut_at.unwrap_or(cfg.max_bytes),
        cut_at_max: wire.cut_at.is_some(),
        budget: Some(sh.budget.clone()),
        body: wire.body,
        capture: sh.archive.is_some(),
    };
    // An exchange that failed after its head is archived too, with what
    // was received (the record says why it is cut short); but only the
    // last attempt's: a cut capture next to its retry's whole one, same
    // URL and second, would be the one replay picks as often as not.
    let retried = wire.retry_left;
    let archive = |capture: Option<Box<crate::warc::Capture>>| {
        if let (Some(archive), Some(capture)) = (&sh.archive, capture) {
            // The URL's credentials went as `Authorization`, not in the URL.
            let mut target = url.clone();
            crate::secrets::strip_userinfo(&mut target);
            archive.push(target.into(), capture);
        }
    };
    let mut f = match sh.fetcher.fetch(&req).await {
        Ok(f) => f,
        Err(mut e) => {
            if !(retried && e.kind.is_retryable()) {
                archive(e.capture.take());
            }
            return Err(e);
        }
    };
    archive(f.capture.take());
    if let Some(jar) = &wire.jar {
        changed |= sh.sessions.keep(wire.jar_id, jar, &f.final_url, &f.headers);
    }
    Ok((f, changed))
}
