//! A spider of your own, Scrapy style: two callbacks, CSS selection, items,
//! an error callback, request metadata — run against the built-in demo
//! site, so it needs no network.
//!
//! ```text
//! cargo run --release -p solo-crawl --example custom_spider
//! ```
//!
//! It starts at the demo site's home page, follows the "start" link, then
//! the list links of every page down to depth 6, and writes one JSON item
//! per page (its heading, how many links it lists, the page it was found
//! on) plus one item per failed page (404, 500 after retries) to stdout.
//! The summary goes to stderr.

use serde::{Deserialize, Serialize};
use serde_json::json;
use solo_crawl::demo_site::DemoSite;
use solo_crawl::{
    Config, Crawler, Failure, Output, OutputConfig, Request, Response, Spider, Target,
};

/// The callbacks, by name: requests carry one, so a stored crawl knows
/// which to call when it resumes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
enum Cb {
    #[default]
    Home,
    Page,
}

struct DemoPages {
    home: url::Url,
}

impl Spider for DemoPages {
    type Callback = Cb;

    fn start_requests(&self) -> Vec<Request<Cb>> {
        vec![Request::new(self.home.clone(), Cb::Home)]
    }

    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        match cb {
            Cb::Home => {
                for a in response.select("a").unwrap_or_default() {
                    let from = json!({ "found_on": response.url().as_str() });
                    if let Some(r) = a.attr("href").and_then(|h| response.follow(h, Cb::Page)) {
                        out.follow(r.with_meta(from));
                    }
                }
            }
            Cb::Page => {
                if !response.is_html() {
                    return; // the demo site serves some JSON too
                }
                let listed = response.select("ul li a").unwrap_or_default();
                let heading = response
                    .select("h1")
                    .ok()
                    .and_then(|h| h.first().map(|e| e.text().collect::<String>()))
                    .unwrap_or_default();
                out.item(json!({
                    "url": response.url().as_str(),
                    "heading": heading,
                    "listed_links": listed.len(),
                    "depth": response.depth(),
                    "found_on": response.meta()["found_on"],
                }));
                if response.depth() < 6 {
                    for a in &listed {
                        let from = json!({ "found_on": response.url().as_str() });
                        if let Some(r) = a.attr("href").and_then(|h| response.follow(h, Cb::Page)) {
                            out.follow(r.with_meta(from));
                        }
                    }
                }
            }
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
    let site = match DemoSite::start(2000) {
        Ok(site) => site,
        Err(e) => {
            eprintln!("cannot start the demo site: {e}");
            std::process::exit(1);
        }
    };
    let spider = DemoPages { home: site.url() };
    let config = Config {
        per_host: 16,
        handle_ctrl_c: true,
        ..Config::default()
    };
    let output = OutputConfig {
        items: Target::Stdout,
        ..OutputConfig::default()
    };
    match solo::run(Crawler::new(spider, config).output(output).run()) {
        Ok(summary) => eprintln!("{summary}"),
        Err(e) => {
            eprintln!("crawl failed: {e}");
            std::process::exit(1);
        }
    }
}
