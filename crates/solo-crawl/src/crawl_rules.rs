//! Crawl rules: which links of a page to follow, and which callback
//! parses each (Scrapy's `CrawlSpider` with its `rules`).
//!
//! Owns: [`Rule`] (a [`LinkExtractor`], a callback, whether pages reached
//! by the rule are followed further) and [`CrawlRules`], which turns a
//! response into the requests its rules ask for. Must not: fetch,
//! filter by scope or robots.txt (the frontier does, for these requests
//! as for any other), or parse items (the spider's callbacks do).

use crate::{LinkExtractor, Output, Request, Response};

/// One rule: the links its extractor keeps are requested with its
/// callback; pages reached through it have their own links followed
/// only if [`follow`](Rule::follow) says so (Scrapy's `Rule`, whose
/// `follow` defaults to false when it has a callback).
///
/// ```
/// use solo_crawl::{LinkExtractor, Rule};
/// #[derive(Clone, PartialEq)] enum Cb { Start, Category, Item }
/// let categories = Rule::new(LinkExtractor::new().allow(["/category/"]).unwrap(), Cb::Category).follow(true);
/// let items = Rule::new(LinkExtractor::new().allow([r"/item/\d+"]).unwrap(), Cb::Item);
/// assert!(categories.follows() && !items.follows());
/// ```
#[derive(Clone, Debug)]
pub struct Rule<C> {
    links: LinkExtractor,
    callback: C,
    follow: bool,
}

impl<C> Rule<C> {
    /// Links `links` keeps go to `callback`; their pages are not followed
    /// further (see [`follow`](Rule::follow)).
    ///
    /// ```
    /// let r = solo_crawl::Rule::new(solo_crawl::LinkExtractor::new(), "page");
    /// assert_eq!(*r.callback(), "page");
    /// ```
    pub fn new(links: LinkExtractor, callback: C) -> Rule<C> {
        Rule {
            links,
            callback,
            follow: false,
        }
    }

    /// Whether the pages this rule reaches have the rules applied to
    /// their links too (Scrapy's `follow=True`; a Scrapy rule without a
    /// callback is a rule with `follow(true)` and a callback that emits
    /// nothing).
    ///
    /// ```
    /// let r = solo_crawl::Rule::new(solo_crawl::LinkExtractor::new(), ()).follow(true);
    /// assert!(r.follows());
    /// ```
    pub fn follow(mut self, follow: bool) -> Rule<C> {
        self.follow = follow;
        self
    }

    /// Whether pages reached by this rule are followed.
    ///
    /// ```
    /// assert!(!solo_crawl::Rule::new(solo_crawl::LinkExtractor::new(), ()).follows());
    /// ```
    pub fn follows(&self) -> bool {
        self.follow
    }

    /// The callback of the requests this rule makes.
    ///
    /// ```
    /// assert_eq!(*solo_crawl::Rule::new(solo_crawl::LinkExtractor::new(), 7).callback(), 7);
    /// ```
    pub fn callback(&self) -> &C {
        &self.callback
    }

    /// The extractor choosing this rule's links.
    ///
    /// ```
    /// let r = solo_crawl::Rule::new(solo_crawl::LinkExtractor::new(), ());
    /// assert!(r.links().keeps(&url::Url::parse("http://a.test/").unwrap()));
    /// ```
    pub fn links(&self) -> &LinkExtractor {
        &self.links
    }
}

/// A spider's rules, tried in order (Scrapy's `CrawlSpider.rules`): each
/// link of a page is requested once, with the callback of the first rule
/// whose extractor keeps it.
///
/// A spider holds one and calls [`follow`](CrawlRules::follow) at the end
/// of its `parse`: the start pages' links are always followed (Scrapy's
/// `parse_start_url` then the rules), and a page that a rule reached is
/// followed only if that rule [`follows`](Rule::follows).
///
/// ```
/// use solo_crawl::{CrawlRules, LinkExtractor, Output, Request, Response, Rule, Spider};
///
/// #[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
/// enum Cb { #[default] Start, Category, Item }
///
/// struct Shop { rules: CrawlRules<Cb> }
///
/// impl Spider for Shop {
///     type Callback = Cb;
///     fn start_requests(&self) -> Vec<Request<Cb>> {
///         vec![Request::parse("http://shop.test/", Cb::Start).unwrap()]
///     }
///     async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
///         if cb == Cb::Item {
///             out.item(serde_json::json!({"url": response.url().as_str()}));
///         }
///         self.rules.follow(response, out);
///     }
/// }
///
/// let shop = Shop { rules: CrawlRules::new([
///     // Rule(LinkExtractor(allow=r"/category/"), follow=True)
///     Rule::new(LinkExtractor::new().allow(["/category/"]).unwrap(), Cb::Category).follow(true),
///     // Rule(LinkExtractor(allow=r"/item/\d+"), callback="parse_item")
///     Rule::new(LinkExtractor::new().allow([r"/item/\d+"]).unwrap(), Cb::Item),
/// ]) };
/// let page = Response::new(url::Url::parse("http://shop.test/category/shoes").unwrap(), 200, vec![],
///     r#"<a href="/item/1">1</a><a href="/category/boots">boots</a><a href="/about">about</a>"#.into());
/// let reqs = shop.rules.requests(&page);
/// let got: Vec<_> = reqs.iter().map(|r| (r.url.path(), r.callback)).collect();
/// // Rule order, then document order; /about matches no rule.
/// assert_eq!(got, [("/category/boots", Cb::Category), ("/item/1", Cb::Item)]);
/// ```
#[derive(Clone, Debug)]
pub struct CrawlRules<C> {
    rules: Vec<Rule<C>>,
}

impl<C: Clone + PartialEq> CrawlRules<C> {
    /// Rules tried in this order.
    ///
    /// ```
    /// let rules = solo_crawl::CrawlRules::new([solo_crawl::Rule::new(solo_crawl::LinkExtractor::new(), ())]);
    /// assert_eq!(rules.rules().len(), 1);
    /// ```
    pub fn new(rules: impl IntoIterator<Item = Rule<C>>) -> CrawlRules<C> {
        CrawlRules {
            rules: rules.into_iter().collect(),
        }
    }

    /// The rules, in order.
    ///
    /// ```
    /// assert!(solo_crawl::CrawlRules::<()>::new([]).rules().is_empty());
    /// ```
    pub fn rules(&self) -> &[Rule<C>] {
        &self.rules
    }

    /// The requests the rules make from `response`'s links: each URL once,
    /// with the callback of the first rule that keeps it, in rule order
    /// then document order. Adjust them before following if the spider
    /// needs to (Scrapy's `process_links` / `process_request`).
    ///
    /// ```
    /// # use solo_crawl::{CrawlRules, LinkExtractor, Response, Rule};
    /// let rules = CrawlRules::new([Rule::new(LinkExtractor::new(), "page")]);
    /// let r = Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<a href=/b>b</a>".into());
    /// let reqs: Vec<_> = rules.requests(&r).into_iter().map(|q| q.with_priority(1)).collect();
    /// assert_eq!(reqs[0].url.as_str(), "http://a.test/b");
    /// ```
    pub fn requests(&self, response: &Response) -> Vec<Request<C>> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            for link in rule.links.extract(response) {
                if seen.insert(link.url.as_str().to_owned()) {
                    let mut r = Request::new(link.url, rule.callback.clone());
                    r.rule = u32::try_from(i).ok();
                    out.push(r);
                }
            }
        }
        out
    }

    /// Whether `response`'s links are followed: by the rule that made its
    /// request (each request the rules make remembers its rule, as
    /// Scrapy's `meta["rule"]`, also across `--state` and a Redis
    /// frontier), so two rules with one callback each keep their own
    /// `follow`. A response to a request the rules did not make (a start
    /// request, one the spider made itself) is followed, as Scrapy's
    /// `parse` follows a start page.
    ///
    /// ```
    /// # use solo_crawl::{CrawlRules, LinkExtractor, Response, Rule};
    /// let rules = CrawlRules::new([Rule::new(LinkExtractor::new(), "item")]);
    /// let start = Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "".into());
    /// assert!(rules.follows(&start));
    /// ```
    pub fn follows(&self, response: &Response) -> bool {
        match response.rule() {
            Some(i) => self.rules.get(i as usize).is_none_or(|r| r.follow),
            None => true,
        }
    }

    /// Follows the rules' requests from `response` if
    /// [`follows`](CrawlRules::follows) says so; returns how many
    /// requests it asked for.
    ///
    /// ```
    /// # use solo_crawl::{CrawlRules, LinkExtractor, Output, Response, Rule};
    /// let rules = CrawlRules::new([Rule::new(LinkExtractor::new(), "item")]);
    /// let r = Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<a href=/i>i</a>".into());
    /// let mut out = Output::new();
    /// assert_eq!(rules.follow(&r, &mut out), 1);
    /// assert_eq!(out.requests().len(), 1);
    /// ```
    pub fn follow(&self, response: &Response, out: &mut Output<C>) -> usize {
        if !self.follows(response) {
            return 0;
        }
        let reqs = self.requests(response);
        let n = reqs.len();
        for r in reqs {
            out.follow(r);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two rules with one callback (Scrapy's `Rule(allow="/cat/",
    /// callback="parse_item", follow=True)` and `Rule(allow="/item/",
    /// callback="parse_item")`): each page follows by the rule that
    /// reached it. By callback, a category page followed nothing (or an
    /// item page everything), depending on the rules' order.
    #[test]
    fn a_page_follows_by_the_rule_that_reached_it_not_by_its_callback() {
        for categories_first in [true, false] {
            let cat =
                Rule::new(LinkExtractor::new().allow(["/cat/"]).unwrap(), "item").follow(true);
            let item = Rule::new(LinkExtractor::new().allow(["/item/"]).unwrap(), "item");
            let rules = CrawlRules::new(if categories_first {
                [cat, item]
            } else {
                [item, cat]
            });
            let home = Response::new(
                url::Url::parse("http://a.test/").unwrap(),
                200,
                vec![],
                "<a href=/cat/1>c</a><a href=/item/1>i</a>".into(),
            );
            let page = "<a href=/cat/2>c</a><a href=/item/2>i</a>";
            for req in rules.requests(&home) {
                let reached = Response::for_request(
                    &req,
                    req.url.clone(),
                    200,
                    vec![],
                    page.into(),
                    std::time::Duration::ZERO,
                );
                let mut out = Output::new();
                let n = rules.follow(&reached, &mut out);
                let want = if req.url.path().starts_with("/cat/") {
                    2
                } else {
                    0
                };
                assert_eq!(
                    n, want,
                    "{} (categories first: {categories_first})",
                    req.url
                );
            }
        }
    }
}
