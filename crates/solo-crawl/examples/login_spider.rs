//! A spider that logs in through a form and scrapes the pages behind it,
//! Scrapy style (`FormRequest.from_response`, a session cookie, a JSON API
//! with a bearer token) — run against the built-in login site on
//! 127.0.0.1, so it needs no network.
//!
//! ```text
//! cargo run --release -p solo-crawl --example login_spider
//! ```
//!
//! It fetches the login page, submits its form with a user name and
//! password (the hidden CSRF token and the "remember me" checkbox are
//! filled in from the form), lands on the account page with the session
//! cookie the login set, and writes one JSON item per private page; then
//! it reads the site's JSON API page by page with a bearer token. Items go
//! to stdout, the summary to stderr. It fails (exit 1) if a private page
//! was not reached.

use serde::{Deserialize, Serialize};
use serde_json::json;
use solo_crawl::login_site::{self, API_TOKEN, PRIVATE_PAGES};
use solo_crawl::{
    Config, Crawler, Failure, FormRequest, Output, OutputConfig, Request, Response, Spider, Target,
};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
enum Cb {
    #[default]
    LoginPage,
    Account,
    Secret,
    Api,
}

struct LoginSpider {
    site: url::Url,
}

/// One page of the JSON API.
#[derive(Deserialize)]
struct ApiPage {
    items: Vec<serde_json::Value>,
    next: Option<String>,
}

/// The text of the first element matching `css` (Scrapy's
/// `response.css("...::text").get()`), or "".
fn first_text(response: &Response, css: &str) -> String {
    let found = response.select(css).ok();
    found
        .and_then(|e| e.first().map(|e| e.text().collect()))
        .unwrap_or_default()
}

impl LoginSpider {
    fn api(&self, response: &Response, href: &str) -> Option<Request<Cb>> {
        let r = response.follow(href, Cb::Api)?;
        Some(r.header("Authorization", format!("Bearer {API_TOKEN}")))
    }
}

impl Spider for LoginSpider {
    type Callback = Cb;

    fn start_requests(&self) -> Vec<Request<Cb>> {
        let login = self.site.join("/login").expect("a valid path");
        vec![Request::new(login, Cb::LoginPage)]
    }

    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        match cb {
            Cb::LoginPage => {
                // FormRequest.from_response(response, formid="login",
                //     formdata={"username": ..., "password": ...}, callback=...)
                let login = FormRequest::from_response(response)
                    .form_id("login")
                    .formdata([("username", "alice"), ("password", "wonderland")])
                    .request(Cb::Account);
                match login {
                    Ok(r) => out.follow(r),
                    Err(e) => out.item(json!({ "failed": e.to_string() })),
                }
            }
            Cb::Account => {
                out.item(json!({ "logged_in_as": first_text(response, "h1.user") }));
                for a in response.select("ul a").unwrap_or_default() {
                    if let Some(r) = a.attr("href").and_then(|h| response.follow(h, Cb::Secret)) {
                        out.follow(r);
                    }
                }
                if let Some(r) = self.api(response, "/api/items") {
                    out.follow(r);
                }
            }
            Cb::Secret => {
                let text = first_text(response, "p.secret");
                out.item(json!({ "url": response.url().as_str(), "secret": text }));
            }
            Cb::Api => match response.json::<ApiPage>() {
                Ok(page) => {
                    for item in page.items {
                        out.item(json!({ "api_item": item }));
                    }
                    if let Some(r) = page.next.and_then(|n| self.api(response, &n)) {
                        out.follow(r);
                    }
                }
                Err(e) => out.item(json!({ "failed": format!("{}: {e}", response.url()) })),
            },
        }
    }

    async fn on_error(&self, request: &Request<Cb>, failure: Failure<'_>, out: &mut Output<Cb>) {
        let why = match failure {
            Failure::Status(r) => format!("status {}", r.status()),
            Failure::Fetch(e) => e.to_string(),
            // `Failure` is non-exhaustive: later kinds of failure land here.
            other => format!("{other:?}"),
        };
        out.item(json!({ "url": request.url.as_str(), "failed": why }));
    }
}

fn main() {
    let site = match login_site::start() {
        Ok(site) => site,
        Err(e) => {
            eprintln!("cannot start the login site: {e}");
            std::process::exit(1);
        }
    };
    let spider = LoginSpider { site: site.url() };
    let config = Config {
        cookies: true, // COOKIES_ENABLED: the session cookie goes back
        handle_ctrl_c: true,
        ..Config::default()
    };
    let items = solo_crawl::output::SharedBuf::default();
    let output = OutputConfig {
        items: Target::Buffer(items.clone()),
        ..OutputConfig::default()
    };
    let summary = match solo::run(Crawler::new(spider, config).output(output).run()) {
        Ok(summary) => summary,
        Err(e) => {
            eprintln!("crawl failed: {e}");
            std::process::exit(1);
        }
    };
    let text =
        String::from_utf8_lossy(&items.lock().map(|b| b.clone()).unwrap_or_default()).into_owned();
    print!("{text}");
    eprintln!("{summary}");
    let secrets = text.lines().filter(|l| l.contains("\"secret\"")).count();
    if secrets != PRIVATE_PAGES as usize {
        eprintln!("expected {PRIVATE_PAGES} private pages, scraped {secrets}");
        std::process::exit(1);
    }
}
