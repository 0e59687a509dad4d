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
