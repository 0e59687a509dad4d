//! Requests beyond GET, forms, JSON APIs and sessions, against sites
//! served on 127.0.0.1: a login form whose cookie opens private pages,
//! two sessions side by side, a JSON API behind a bearer token, POSTs
//! deduplicated by body, redirects of a POST, and a POST kept in --state
//! across a stop.

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use common::{crawl, quick, record};
use solo_crawl::demo_site::{serve, SiteRequest, SiteResponse};
use solo_crawl::login_site::{self, API_TOKEN, PRIVATE_PAGES};
use solo_crawl::output::SharedBuf;
use solo_crawl::{
    Config, Crawler, FormRequest, Output, OutputConfig, Request, Response, Spider, Target,
};
use url::Url;

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
enum Cb {
    #[default]
    LoginPage,
    Account,
    Secret,
    Api,
    Echo,
}

/// Logs in through the form as each of `users` (a session each when
/// `jars`), then scrapes the account page and the private pages.
struct LoginSpider {
    start: Url,
    users: Vec<(&'static str, &'static str)>,
    jars: bool,
}

impl Spider for LoginSpider {
    type Callback = Cb;

    fn start_requests(&self) -> Vec<Request<Cb>> {
        self.users
            .iter()
            .map(|(user, _)| {
                let r = Request::new(self.start.join("/login").unwrap(), Cb::LoginPage)
                    .with_meta(serde_json::json!({ "user": user }));
                if self.jars {
                    r.cookie_jar(user)
                } else {
                    r
                }
            })
            .collect()
    }

    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        let keep_jar = |r: Request<Cb>| match response.cookie_jar() {
            Some(j) => r.cookie_jar(j),
            None => r,
        };
        match cb {
            Cb::LoginPage => {
                let user = response.meta()["user"].as_str().unwrap();
                let pass = self.users.iter().find(|(u, _)| *u == user).unwrap().1;
                let login = FormRequest::from_response(response)
                    .form_id("login")
                    .formdata([("username", user), ("password", pass)])
                    .request(Cb::Account)
                    .unwrap();
                out.follow(keep_jar(login.with_meta(response.meta().clone())));
            }
            Cb::Account => {
                let user: String = response.select("h1.user").unwrap()[0].text().collect();
                out.item(serde_json::json!({"jar": response.cookie_jar(), "account": user}));
                for a in response.select("a").unwrap() {
                    let r = response
                        .follow(a.attr("href").unwrap(), Cb::Secret)
                        .unwrap();
                    out.follow(keep_jar(r));
                }
            }
            Cb::Secret => {
                let text: String = response.select("p.secret").unwrap()[0].text().collect();
                out.item(serde_json::json!({"jar": response.cookie_jar(), "secret": text}));
            }
            Cb::Api | Cb::Echo => unreachable!(),
        }
    }
}

/// Crawls and returns the summary, the page records and the items.
fn run<S: Spider>(spider: S, cfg: Config) -> (Vec<solo_crawl::PageRecord>, Vec<serde_json::Value>) {
    let (pages, items) = (SharedBuf::default(), SharedBuf::default());
    let out = OutputConfig {
        pages: Target::Buffer(pages.clone()),
        items: Target::Buffer(items.clone()),
        ..Default::default()
    };
    solo::run(Crawler::new(spider, cfg).output(out).run()).unwrap();
    let items = String::from_utf8(items.lock().unwrap().clone()).unwrap();
    let items = items
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (common::records(&pages), items)
}

fn secrets(items: &[serde_json::Value]) -> Vec<String> {
    let mut v: Vec<String> = items
        .iter()
        .filter_map(|i| i["secret"].as_str().map(str::to_owned))
        .collect();
    v.sort();
    v
}

#[test]
fn a_login_form_opens_the_pages_behind_it_only_with_cookies_on() {
    let site = login_site::start().unwrap();
    let spider = || LoginSpider {
        start: site.url(),
        users: vec![("alice", "wonderland")],
        jars: false,
    };
    let (records, items) = run(
        spider(),
        Config {
            cookies: true,
            ..quick()
        },
    );
    let expected: Vec<String> = (1..=PRIVATE_PAGES)
        .map(|n| format!("secret {n} of alice"))
        .collect();
    assert_eq!(secrets(&items), expected, "{records:#?}");
    // The POST was answered by a 302 to /account, fetched with a GET.
    assert_eq!(record(&records, "/login").status, Some(200));
    assert!(items.iter().any(|i| i["account"] == "alice"));

    // Without the cookie jar the same spider is turned away.
    let (records, items) = run(spider(), quick());
    assert!(secrets(&items).is_empty());
    let account = records
        .iter()
        .find(|r| {
            r.final_url
                .as_deref()
                .is_some_and(|u| u.ends_with("/account"))
        })
        .expect("the login's redirect was followed");
    assert_eq!(account.status, Some(403));
}

#[test]
fn two_sessions_side_by_side_keep_their_own_cookies() {
    let site = login_site::start().unwrap();
    let spider = LoginSpider {
        start: site.url(),
        users: vec![("alice", "wonderland"), ("bob", "builder")],
        jars: true,
    };
    // The crawl's default jar is off: the per-request jars are used anyway.
    let (_, items) = run(spider, quick());
    let mut by_jar: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in &items {
        let v = i["secret"].as_str().or(i["account"].as_str()).unwrap();
        by_jar
            .entry(i["jar"].as_str().unwrap().to_owned())
            .or_default()
            .push(v.to_owned());
    }
    for user in ["alice", "bob"] {
        let mut got = by_jar.remove(user).unwrap_or_default();
        got.sort();
        let mut want: Vec<String> = (1..=PRIVATE_PAGES)
            .map(|n| format!("secret {n} of {user}"))
            .collect();
        want.push(user.to_owned());
        want.sort();
        assert_eq!(got, want, "session {user}");
    }
    assert!(by_jar.is_empty());
}

/// Reads a JSON API page by page with a bearer token.
struct ApiSpider(Url, &'static str);

#[derive(serde::Deserialize)]
struct ApiPage {
    items: Vec<ApiItem>,
    next: Option<String>,
}

#[derive(serde::Deserialize, serde::Serialize)]
struct ApiItem {
    id: u32,
    name: String,
}

impl Spider for ApiSpider {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        let auth = format!("Bearer {}", self.1);
        vec![Request::new(self.0.join("/api/items").unwrap(), Cb::Api)
            .header("Authorization", auth)
            .header("Accept", "application/json")]
    }
    async fn parse(&self, _: Cb, response: &Response, out: &mut Output<Cb>) {
        let page: ApiPage = response.json().unwrap();
        let raw: serde_json::Value = response.json().unwrap();
        assert!(raw["items"].is_array());
        for item in page.items {
            out.item(item);
        }
        if let Some(next) = page.next {
            let auth = format!("Bearer {}", self.1);
            out.follow(
                response
                    .follow(&next, Cb::Api)
                    .unwrap()
                    .header("Authorization", auth),
            );
        }
    }
}

#[test]
fn a_json_api_is_crawled_with_a_bearer_header() {
    let site = login_site::start().unwrap();
    let (records, items) = run(ApiSpider(site.url(), API_TOKEN), quick());
    let ids: Vec<u64> = items.iter().map(|i| i["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6], "{records:#?}");
    assert!(records.iter().all(|r| r.status == Some(200)));
    // A wrong token: one 401, nothing parsed.
    let (records, items) = run(ApiSpider(site.url(), "wrong"), quick());
    assert!(items.is_empty());
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].status, Some(401));
}

/// Asks for each path of a site serving JSON in several charsets, and
/// keeps what `Response::json` makes of each (or its error).
struct JsonBodies(Url, &'static [&'static str]);

impl Spider for JsonBodies {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        let url = |p: &&str| Request::new(self.0.join(p).unwrap(), Cb::Api);
        self.1.iter().map(url).collect()
    }
    async fn parse(&self, _: Cb, response: &Response, out: &mut Output<Cb>) {
        let name = match response.json::<serde_json::Value>() {
            Ok(v) => v["name"].clone(),
            Err(e) => e.to_string().into(),
        };
        out.item(serde_json::json!({"path": response.url().path(), "name": name}));
    }
}

/// JSON in the charset its `Content-Type` names, or that a byte order
/// mark says: parsed as Scrapy's `response.json()` parses it (from the
/// decoded text); plain UTF-8 as before.
#[test]
fn json_is_read_in_the_charset_the_response_declares() {
    fn utf16(s: &str, big: bool, bom: bool) -> Vec<u8> {
        let units = bom.then_some(0xFEFF).into_iter().chain(s.encode_utf16());
        units
            .flat_map(|u| {
                if big {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    }
    fn utf32_le_bom(s: &str) -> Vec<u8> {
        let chars = std::iter::once('\u{FEFF}').chain(s.chars());
        chars.flat_map(|c| u32::from(c).to_le_bytes()).collect()
    }
    let json = r#"{"name":"Müller café"}"#;
    let site = solo_crawl::demo_site::DemoSite::with_handler(move |req| {
        let typed = |ct: &str, body: Vec<u8>| SiteResponse::typed(200, ct, body);
        let latin1: Vec<u8> = json.chars().map(|c| c as u8).collect();
        std::future::ready(match req.path.as_str() {
            "/utf8" => typed("application/json", json.into()),
            "/latin1" => typed("application/json; charset=iso-8859-1", latin1),
            "/utf16" => typed("application/json; charset=utf-16", utf16(json, false, true)),
            "/utf16be" => typed(
                "application/json; charset=UTF-16BE",
                utf16(json, true, false),
            ),
            "/utf32" => typed("application/json", utf32_le_bom(json)),
            _ => SiteResponse::status(404),
        })
    })
    .unwrap();
    let paths = &["/utf8", "/latin1", "/utf16", "/utf16be", "/utf32"];
    let (records, items) = run(JsonBodies(site.url(), paths), quick());
    let mut got: Vec<(String, serde_json::Value)> = items
        .iter()
        .map(|i| (i["path"].as_str().unwrap().to_owned(), i["name"].clone()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<(String, serde_json::Value)> = paths
        .iter()
        .map(|p| (p.to_string(), "Müller café".into()))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want, "{records:#?}");
}

/// A site that records every request (method, path, body) and answers
/// with what it got; `/307`, `/303` and `/302` redirect to `/echo?307`
/// etc.; `/slow` answers after 5 s.
async fn echo_site(log: Rc<RefCell<Vec<(String, String, String)>>>) -> Url {
    let listener = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    solo::spawn(serve(listener, move |req: SiteRequest| {
        let body = String::from_utf8_lossy(&req.body).into_owned();
        log.borrow_mut()
            .push((req.method.clone(), req.path.clone(), body.clone()));
        let slow = req.path == "/slow";
        let answer = match req.path.as_str() {
            "/307" => SiteResponse::redirect(307, "/echo?307"),
            "/303" => SiteResponse::redirect(303, "/echo?303"),
            "/302" => SiteResponse::redirect(302, "/echo?302"),
            _ => SiteResponse::html(format!("<p>{} {}", req.method, body)),
        };
        async move {
            if slow {
                solo::sleep(Duration::from_secs(5)).await;
            }
            answer
        }
    }));
    base
}

/// Sends the given requests.
struct Given(RefCell<Vec<Request<Cb>>>);

impl Spider for Given {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        self.0.take()
    }
    async fn parse(&self, _: Cb, _: &Response, _: &mut Output<Cb>) {}
}

fn post(base: &Url, path: &str, q: &str) -> Request<Cb> {
    Request::post(base.join(path).unwrap())
        .callback(Cb::Echo)
        .form([("q", q)])
}

#[test]
fn posts_are_deduplicated_by_body_and_dont_filter_repeats() {
    solo::run(async {
        let log = Rc::default();
        let base = echo_site(Rc::clone(&log)).await;
        let requests = vec![
            post(&base, "/search", "a"),
            post(&base, "/search", "a"), // the same request
            post(&base, "/search", "b"),
            Request::new(base.join("/search").unwrap(), Cb::Echo),
            post(&base, "/search", "a").dont_filter(),
        ];
        let (summary, _) = crawl(Given(RefCell::new(requests)), quick()).await;
        let mut got = log.borrow().clone();
        got.sort();
        let want = [
            ("GET", "/search", ""),
            ("POST", "/search", "q=a"),
            ("POST", "/search", "q=a"),
            ("POST", "/search", "q=b"),
        ]
        .map(|(m, p, b)| (m.to_owned(), p.to_owned(), b.to_owned()));
        assert_eq!(got, want);
        assert_eq!(summary.counts.pages, 4);
    });
}

#[test]
fn redirects_of_a_post_follow_rfc_9110() {
    solo::run(async {
        let log = Rc::default();
        let base = echo_site(Rc::clone(&log)).await;
        let requests = vec![
            post(&base, "/307", "keep"),
            post(&base, "/303", "drop"),
            post(&base, "/302", "drop2"),
        ];
        let (_, records) = crawl(Given(RefCell::new(requests)), quick()).await;
        assert_eq!(records.len(), 6, "a record per hop: {records:#?}");
        let mut got: Vec<(String, String, String)> = log
            .borrow()
            .iter()
            .filter(|(_, p, _)| p.starts_with("/echo"))
            .cloned()
            .collect();
        got.sort();
        let want = [
            ("GET", "/echo?302", ""),
            ("GET", "/echo?303", ""),
            ("POST", "/echo?307", "q=keep"),
        ]
        .map(|(m, p, b)| (m.to_owned(), p.to_owned(), b.to_owned()));
        assert_eq!(got, want);
    });
}

#[test]
fn a_request_timeout_of_its_own_overrides_the_crawls() {
    solo::run(async {
        let base = echo_site(Rc::default()).await;
        let requests = vec![
            Request::new(base.join("/slow").unwrap(), Cb::Echo).timeout(Duration::from_millis(200)),
            Request::new(base.join("/fast").unwrap(), Cb::Echo),
        ];
        let cfg = Config {
            max_retries: 0,
            ..quick() // a 10 s timeout for the crawl
        };
        let (_, records) = crawl(Given(RefCell::new(requests)), cfg).await;
        let slow = record(&records, "/slow");
        assert!(
            slow.error
                .as_deref()
                .is_some_and(|e| e.starts_with("timeout")),
            "{slow:?}"
        );
        assert_eq!(record(&records, "/fast").status, Some(200));
    });
}

/// Its start page asks for a POST and stops the crawl.
struct PostThenStop {
    start: Url,
    stop: Rc<RefCell<Option<solo_crawl::StopHandle>>>,
}

impl Spider for PostThenStop {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        vec![Request::new(self.start.clone(), Cb::Account)]
    }
    async fn parse(&self, cb: Cb, _: &Response, out: &mut Output<Cb>) {
        if cb == Cb::Account {
            out.follow(
                post(&self.start, "/submit", "kept")
                    .header("X-Token", "t")
                    .timeout(Duration::from_secs(9)),
            );
            if let Some(s) = self.stop.borrow().as_ref() {
                s.stop();
            }
        }
    }
}

#[test]
fn a_post_waiting_in_state_is_sent_with_its_body_after_a_resume() {
    let dir = std::env::temp_dir().join(format!("solo-crawl-post-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    solo::run(async {
        let log: Rc<RefCell<Vec<(String, String, String)>>> = Rc::default();
        let base = echo_site(Rc::clone(&log)).await;
        let cfg = || Config {
            state_dir: Some(dir.clone()),
            ..quick()
        };
        let mut sent = Vec::new();
        for run in 0..2 {
            let slot = Rc::default();
            let spider = PostThenStop {
                start: base.clone(),
                stop: Rc::clone(&slot),
            };
            let crawler = Crawler::new(spider, cfg());
            *slot.borrow_mut() = Some(crawler.stop_handle());
            let summary = crawler.run().await.unwrap();
            assert_eq!(summary.resumed, run == 1);
            assert_eq!(summary.interrupted, run == 0);
            sent.push(log.take());
        }
        let (first, second) = (&sent[0], &sent[1]);
        assert_eq!(first.len(), 1, "stopped before the POST: {first:?}");
        assert_eq!(first[0].1, "/");
        // Resumed: only the stored POST, method and body intact.
        let want = [("POST".to_owned(), "/submit".to_owned(), "q=kept".to_owned())];
        assert_eq!(second, &want);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Start requests marked `dont_filter` (as Scrapy's are), one of them
/// twice on purpose; the crawl stops after two pages. Its second callback
/// asks for its own URL again, `dont_filter` too.
struct DontFilterStarts {
    base: Url,
    stop: Rc<RefCell<Option<solo_crawl::StopHandle>>>,
    parsed: std::cell::Cell<usize>,
}

impl Spider for DontFilterStarts {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        ["/p1", "/p1", "/p2", "/p3", "/p4", "/p5", "/p6"]
            .iter()
            .map(|p| Request::new(self.base.join(p).unwrap(), Cb::Echo).dont_filter())
            .collect()
    }
    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        if cb == Cb::Echo && response.url().path() == "/p2" {
            out.follow(response.request(Cb::Secret).dont_filter());
        }
        self.parsed.set(self.parsed.get() + 1);
        if self.parsed.get() == 2 {
            if let Some(s) = self.stop.borrow().as_ref() {
                s.stop();
            }
        }
    }
}

/// A crawl with `--state` stopped midway and run again: each
/// `dont_filter` start request is fetched once in all (the one asked
/// twice, twice), not once more from the state and again from
/// `start_requests`; the callback's own `dont_filter` request is sent.
#[test]
fn dont_filter_start_requests_are_fetched_once_across_a_resume() {
    let dir = common::fresh_dir("dont-filter-starts");
    solo::run(async {
        let log: Rc<RefCell<Vec<(String, String, String)>>> = Rc::default();
        let base = echo_site(Rc::clone(&log)).await;
        let mut records = Vec::new();
        for run in 0..2 {
            let slot = Rc::default();
            let spider = DontFilterStarts {
                base: base.clone(),
                stop: Rc::clone(&slot),
                parsed: Default::default(),
            };
            let cfg = Config {
                state_dir: Some(dir.join("state")),
                per_host: 1,
                ..quick()
            };
            let buf = SharedBuf::default();
            let out = OutputConfig {
                pages: Target::Buffer(buf.clone()),
                ..Default::default()
            };
            let crawler = Crawler::new(spider, cfg).output(out);
            if run == 0 {
                *slot.borrow_mut() = Some(crawler.stop_handle());
            }
            let summary = crawler.run().await.unwrap();
            assert_eq!(summary.resumed, run == 1);
            records.extend(common::records(&buf));
        }
        let mut sent: Vec<String> = log.borrow().iter().map(|(_, p, _)| p.clone()).collect();
        sent.sort();
        let want = ["/p1", "/p1", "/p2", "/p2", "/p3", "/p4", "/p5", "/p6"];
        assert_eq!(sent, want, "fetched once each (the repeats asked for)");
        assert_eq!(common::record_paths(&records), want, "a record per fetch");
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A token endpoint on one host, the API on another (`api.test`, the same
/// server): the callback asks for the API's data `dont_filter`, and for
/// another of its URLs without.
struct TokenThenApi {
    api: Url,
}

impl Spider for TokenThenApi {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        vec![Request::new(self.api.join("/token").unwrap(), Cb::Account)]
    }
    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        if cb == Cb::Account {
            let mut api = self.api.clone();
            api.set_host(Some("api.test")).unwrap();
            out.follow(Request::new(api.join("/data").unwrap(), Cb::Echo).dont_filter());
            out.follow(Request::new(api.join("/plain").unwrap(), Cb::Echo));
            out.follow(Request::new(api.join("/plain2").unwrap(), Cb::Echo));
        }
        let _ = response;
    }
}

/// What `tracing` events say, captured.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// As Scrapy's offsite filter: a `dont_filter` request of the spider's
/// own to another host is sent; one without is dropped as offsite,
/// counted, and said once per host at info, with the rule.
#[test]
fn a_dont_filter_request_to_another_host_is_sent_and_offsite_drops_are_told() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let (summary, sent) = tracing::subscriber::with_default(subscriber, || {
        solo::run(async {
            let hits: Rc<RefCell<Vec<(String, String, String)>>> = Rc::default();
            let base = echo_site(Rc::clone(&hits)).await;
            let ip = "127.0.0.1".parse().unwrap();
            let cfg = Config {
                resolver: Some(solo_http::Resolver::hosts([("api.test", ip)])),
                ..quick()
            };
            let (summary, _) = common::crawl(TokenThenApi { api: base }, cfg).await;
            let sent: Vec<String> = hits.borrow().iter().map(|h| h.1.clone()).collect();
            (summary, sent)
        })
    });
    assert_eq!(sent, ["/token", "/data"], "the dont_filter request is sent");
    assert_eq!(summary.filtered.get("offsite"), Some(&2), "{summary:?}");
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let told: Vec<&str> = log.lines().filter(|l| l.contains("offsite")).collect();
    assert_eq!(told.len(), 1, "once for the host: {log}");
    assert!(
        told[0].contains("INFO") && told[0].contains("/plain is outside the crawl's scope"),
        "{log}"
    );
}

/// Asks for `/slow` (5 s) and `/`; `/`'s callback hurries the crawl.
struct HurryOnHome {
    base: Url,
    stop: Rc<RefCell<Option<solo_crawl::StopHandle>>>,
}

impl Spider for HurryOnHome {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        ["/slow", "/"]
            .map(|p| Request::new(self.base.join(p).unwrap(), Cb::Echo))
            .into()
    }
    async fn parse(&self, _: Cb, response: &Response, _: &mut Output<Cb>) {
        if response.url().path() == "/" {
            if let Some(s) = self.stop.borrow().as_ref() {
                s.hurry();
            }
        }
    }
}

/// A hurried crawl (a second Ctrl-C) returns without waiting for its
/// request in flight; with `--state`, that request is fetched on resume,
/// and each page has one record in all.
#[test]
fn a_hurried_crawl_returns_at_once_and_resumes_the_request_it_left() {
    let dir = common::fresh_dir("hurried");
    solo::run(async {
        let log: Rc<RefCell<Vec<(String, String, String)>>> = Rc::default();
        let base = echo_site(Rc::clone(&log)).await;
        let mut records = Vec::new();
        for run in 0..2 {
            let slot = Rc::default();
            let spider = HurryOnHome {
                base: base.clone(),
                stop: Rc::clone(&slot),
            };
            let cfg = Config {
                state_dir: Some(dir.join("state")),
                ..quick()
            };
            let buf = SharedBuf::default();
            let out = OutputConfig {
                pages: Target::Buffer(buf.clone()),
                ..Default::default()
            };
            let crawler = Crawler::new(spider, cfg).output(out);
            if run == 0 {
                *slot.borrow_mut() = Some(crawler.stop_handle());
            }
            let t = std::time::Instant::now();
            let summary = crawler.run().await.unwrap();
            if run == 0 {
                assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
                assert!(summary.interrupted);
            }
            records.extend(common::records(&buf));
        }
        assert_eq!(common::record_paths(&records), ["/", "/slow"]);
        let mut sent: Vec<String> = log.borrow().iter().map(|(_, p, _)| p.clone()).collect();
        sent.sort();
        assert_eq!(
            sent,
            ["/", "/slow", "/slow"],
            "left once, fetched on resume"
        );
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A crawl stopped right after its login resumes logged in: the session
/// cookie is kept in the state with the requests queued after it.
#[test]
fn a_session_is_kept_in_state_across_a_stop() {
    let dir = std::env::temp_dir().join(format!("solo-crawl-session-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let site = login_site::start().unwrap();
    let spider = || LoginSpider {
        start: site.url(),
        users: vec![("alice", "wonderland")],
        jars: true,
    };
    let cfg = |max_pages| Config {
        state_dir: Some(dir.clone()),
        max_pages,
        ..quick()
    };
    // The login form, then its POST (a 302 that sets the cookie): stop.
    let (records, items) = run(spider(), cfg(Some(2)));
    assert_eq!(records.len(), 2, "{records:#?}");
    assert!(items.is_empty());
    let (records, items) = run(spider(), cfg(None));
    let expected: Vec<String> = (1..=PRIVATE_PAGES)
        .map(|n| format!("secret {n} of alice"))
        .collect();
    assert_eq!(secrets(&items), expected, "{records:#?}");
    assert!(items.iter().any(|i| i["account"] == "alice"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_cookies_option_keeps_a_session_for_the_whole_crawl() {
    // `/` sets a cookie and links to `/inside`, which wants it back.
    let site = solo_crawl::demo_site::DemoSite::with_handler(|req| {
        let has = req.header("cookie") == Some("visit=1");
        std::future::ready(match req.path.as_str() {
            "/" => common::page("home", &["/inside"]).with_header("Set-Cookie", "visit=1; Path=/"),
            "/inside" if has => common::page("inside", &[]),
            _ => SiteResponse::status(403),
        })
    })
    .unwrap();
    let statuses = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
            .args(["crawl", site.url().as_str(), "--ignore-robots"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut v: Vec<(String, Option<u16>)> = text
            .lines()
            .map(|l| serde_json::from_str::<solo_crawl::PageRecord>(l).unwrap())
            .map(|r| (Url::parse(&r.url).unwrap().path().to_owned(), r.status))
            .collect();
        v.sort();
        v
    };
    let with = statuses(&["--cookies"]);
    assert_eq!(
        with,
        [("/".into(), Some(200)), ("/inside".into(), Some(200))]
    );
    let without = statuses(&[]);
    assert_eq!(
        without,
        [("/".into(), Some(200)), ("/inside".into(), Some(403))]
    );
}

/// `/redir` sets `rc=1` and redirects to `/check`; every request's path
/// and `Cookie` header go to the log.
async fn cookie_site(log: Rc<RefCell<Vec<(String, String)>>>) -> Url {
    let listener = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    solo::spawn(serve(listener, move |req: SiteRequest| {
        // In order of name (the jar's order is its own).
        let mut cookie: Vec<&str> = req.header("cookie").unwrap_or("").split("; ").collect();
        cookie.sort();
        let cookie = cookie.join("; ");
        log.borrow_mut().push((req.path.clone(), cookie));
        std::future::ready(match req.path.as_str() {
            "/redir" => SiteResponse::redirect(302, "/check").with_header("Set-Cookie", "rc=1"),
            _ => SiteResponse::html("<p>ok"),
        })
    }));
    base
}

/// Asks for `/redir` with a cookie of its own (in `jar`, if given), then
/// `/later` in the same session.
struct CookieSpider(Url, Option<&'static str>);

impl Spider for CookieSpider {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        let r = Request::new(self.0.join("/redir").unwrap(), Cb::Account).cookie("currency", "USD");
        vec![match self.1 {
            Some(jar) => r.cookie_jar(jar),
            None => r,
        }]
    }
    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        if cb == Cb::Account {
            let later = Request::new(self.0.join("/later").unwrap(), Cb::Echo);
            out.follow(match response.cookie_jar() {
                Some(j) => later.cookie_jar(j),
                None => later,
            });
        }
    }
}

#[test]
fn a_request_s_own_cookies_go_into_its_jar_and_the_session_goes_on() {
    solo::run(async {
        let cookies = |jar, default_jar| async move {
            let log: Rc<RefCell<Vec<(String, String)>>> = Rc::default();
            let base = cookie_site(Rc::clone(&log)).await;
            let cfg = Config {
                cookies: default_jar,
                ..quick()
            };
            crawl(CookieSpider(base, jar), cfg).await;
            let mut got = log.take();
            got.sort();
            got
        };
        let want = |pairs: [(&str, &str); 3]| pairs.map(|(p, c)| (p.to_owned(), c.to_owned()));
        // In the default jar, or a session's: the redirect's cookie joins
        // it, and a later request of the session sends both.
        let with_jar = want([
            ("/check", "currency=USD; rc=1"),
            ("/later", "currency=USD; rc=1"),
            ("/redir", "currency=USD"),
        ]);
        assert_eq!(cookies(None, true).await, with_jar);
        assert_eq!(cookies(Some("s"), false).await, with_jar);
        // No jar at all: sent with the request and its redirect only.
        assert_eq!(
            cookies(None, false).await,
            want([
                ("/check", "currency=USD"),
                ("/later", ""),
                ("/redir", "currency=USD")
            ])
        );
    });
}

/// POSTs a search; its callback sees the POST and sends it again, with
/// `dont_filter` (fetched) and without (dropped as seen).
struct Resend(Url, Rc<RefCell<Vec<(String, String)>>>);

impl Spider for Resend {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        vec![post(&self.0, "/search", "a").with_meta(serde_json::json!({"try": 1}))]
    }
    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        let x = response.request_extras();
        let body = String::from_utf8_lossy(&x.body).into_owned();
        self.1.borrow_mut().push((x.method.to_string(), body));
        if response.meta()["try"] == 1 {
            // Without dont_filter: dropped as seen.
            out.follow(response.request(cb.clone()));
            let again = response
                .request(cb)
                .with_meta(serde_json::json!({"try": 2}));
            out.follow(again.dont_filter());
        }
    }
}

#[test]
fn a_callback_sees_its_request_and_can_send_it_again() {
    solo::run(async {
        let log = Rc::default();
        let base = echo_site(Rc::clone(&log)).await;
        let seen = Rc::default();
        let (summary, _) = crawl(Resend(base, Rc::clone(&seen)), quick()).await;
        let post = ("POST".to_owned(), "q=a".to_owned());
        assert_eq!(*seen.borrow(), [post.clone(), post]);
        let sent = log.borrow().clone();
        let want = ("POST".to_owned(), "/search".to_owned(), "q=a".to_owned());
        assert_eq!(sent, [want.clone(), want]);
        assert_eq!(summary.counts.pages, 2);
    });
}

/// Starts at `start` with the cookie `secret=s3` (in session `jar`, if
/// any); its page at another host follows `/later` there, same session.
struct Leaky(Url, Option<&'static str>);

impl Spider for Leaky {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        let r = Request::new(self.0.clone(), Cb::Account).cookie("secret", "s3");
        vec![match self.1 {
            Some(jar) => r.cookie_jar(jar),
            None => r,
        }]
    }
    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        if cb == Cb::Account {
            let later = Request::new(response.url().join("/later").unwrap(), Cb::Echo);
            out.follow(match response.cookie_jar() {
                Some(j) => later.cookie_jar(j),
                None => later,
            });
        }
    }
}

/// A request's own cookies (`Request::cookie`) never go to another host:
/// not with the redirect that leads there, nor, through the jar, with
/// the session's later requests to it; the first host gets them. Before,
/// a 302 to another host sent them along (Scrapy's CVE-2022-0577).
#[test]
fn a_request_s_own_cookies_do_not_follow_a_redirect_to_another_host() {
    use std::sync::{Arc, Mutex};
    let log: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let seen = log.clone();
    let other = common::blocking::serve_on("127.0.0.2", move |req| {
        let cookie = req.header("cookie").unwrap_or("").to_owned();
        seen.lock().unwrap().push((req.path.clone(), cookie));
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok".to_vec()
    });
    let first: Arc<Mutex<Vec<String>>> = Arc::default();
    let firsts = first.clone();
    let to = format!("{other}/echo");
    let start = common::blocking::serve(move |req| {
        if req.path == "/robots.txt" {
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec();
        }
        firsts
            .lock()
            .unwrap()
            .push(req.header("cookie").unwrap_or("").to_owned());
        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n").into_bytes()
    });
    let start = Url::parse(&format!("{start}/go")).unwrap();
    for (jar, default_jar) in [(None, true), (Some("s"), false), (None, false)] {
        log.lock().unwrap().clear();
        first.lock().unwrap().clear();
        let cfg = Config {
            cookies: default_jar,
            obey_robots: false,
            allow_domains: vec!["127.0.0.2".into()],
            allow_private_networks: true,
            ..quick()
        };
        solo::run(crawl(Leaky(start.clone(), jar), cfg));
        assert_eq!(
            *first.lock().unwrap(),
            ["secret=s3"],
            "{jar:?} {default_jar}"
        );
        let got = log.lock().unwrap().clone();
        let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["/echo", "/later"], "{jar:?} {default_jar}");
        assert!(
            got.iter().all(|(_, c)| !c.contains("secret")),
            "{jar:?} {default_jar}: {got:?}"
        );
    }
}
