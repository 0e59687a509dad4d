//! A Scrapy `CrawlSpider` ported with `CrawlRules`: a shop crawled by
//! its rules (categories followed, items parsed and not followed), on a
//! site that counts what it serves.

mod common;

use common::*;
use solo_crawl::demo_site::SiteResponse;
use solo_crawl::output::SharedBuf;
use solo_crawl::{
    CrawlRules, Crawler, LinkExtractor, OutputConfig, Response, Rule, Spider, Target,
};
use solo_crawl::{Output, Request};

#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
enum Cb {
    #[default]
    Start,
    Category,
    Item,
}

struct Shop {
    start: url::Url,
    rules: CrawlRules<Cb>,
}

impl Spider for Shop {
    type Callback = Cb;

    fn start_requests(&self) -> Vec<Request<Cb>> {
        vec![Request::new(self.start.clone(), Cb::Start)]
    }

    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        if cb == Cb::Item {
            let name: String = response.select("h1").unwrap()[0].text().collect();
            out.item(serde_json::json!({ "name": name, "url": response.url().path() }));
        }
        self.rules.follow(response, out);
    }
}

fn html(body: &str) -> SiteResponse {
    SiteResponse::html(body.to_owned())
}

fn item(n: &str) -> SiteResponse {
    html(&format!(
        "<h1>Item {n}</h1><a href='/item/related-{n}'>related</a><a href='/category/other'>more</a>"
    ))
}

#[test]
fn a_crawl_spider_s_rules_choose_links_and_callbacks() {
    solo::run(async {
        let site = start(routes(vec![
            (
                "/",
                html(
                    "<a href='/category/shoes'>Shoes</a><a href='/category/hats'>Hats</a>\
                     <a href='/about'>About</a><div class=products><a href='/item/0'>0</a></div>",
                ),
            ),
            (
                "/category/shoes",
                html(
                    "<div class=products><a href='/item/1'>1</a><a href='/item/2'>2</a></div>\
                     <a href='/category/shoes?page=2'>next</a><a href='/item/99'>ad</a>",
                ),
            ),
            (
                "/category/shoes?page=2",
                html("<div class=products><a href='/item/3'>3</a></div>"),
            ),
            (
                "/category/hats",
                html(
                    "<div class=products><a href='/item/4'>4</a><a href='/item/5.pdf'>sheet</a></div>",
                ),
            ),
            ("/item/0", item("0")),
            ("/item/1", item("1")),
            ("/item/2", item("2")),
            ("/item/3", item("3")),
            ("/item/4", item("4")),
            ("/about", html("about")),
            ("/item/99", item("99")),
            ("/item/5.pdf", html("pdf")),
            ("/category/other", html("other")),
        ]))
        .await;
        let shop = Shop {
            start: site.base.clone(),
            rules: CrawlRules::new([
                Rule::new(
                    LinkExtractor::new().allow(["/category/"]).unwrap(),
                    Cb::Category,
                )
                .follow(true),
                Rule::new(
                    LinkExtractor::new()
                        .allow([r"/item/\d+"])
                        .unwrap()
                        .restrict_css(".products")
                        .unwrap(),
                    Cb::Item,
                ),
            ]),
        };
        let items = SharedBuf::default();
        let out = OutputConfig {
            pages: Target::Discard,
            items: Target::Buffer(items.clone()),
            ..Default::default()
        };
        let summary = Crawler::new(shop, quick()).output(out).run().await.unwrap();
        let text = String::from_utf8(items.lock().unwrap().clone()).unwrap();
        let mut names: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        names.sort();
        assert_eq!(names, ["Item 0", "Item 1", "Item 2", "Item 3", "Item 4"]);
        // Outside every rule, outside the items' region, a denied
        // extension, and links of item pages (their rule does not follow).
        for never in [
            "/about",
            "/item/99",
            "/item/5.pdf",
            "/category/other",
            "/item/related-1",
        ] {
            assert_eq!(site.count(never), 0, "{never} was fetched");
        }
        for once in [
            "/",
            "/category/shoes",
            "/category/shoes?page=2",
            "/category/hats",
            "/item/3",
        ] {
            assert_eq!(site.count(once), 1, "{once}");
        }
        assert_eq!(summary.counts.pages, 9);
    });
}
