//! Selectors as Scrapy spiders use them: XPath 1.0 (and CSS) over a
//! page, results read with `get` / `getall`, elements queried again.
//!
//! Owns: [`Selector`] and [`SelectorList`] (Scrapy's, from parsel),
//! evaluating an XPath expression from the document or from a selected
//! node, and [`XPathError`]: a one-line error naming the expression and
//! what is wrong, also for an expression too deep to parse safely or too
//! costly on the page at hand.
//! XML bodies get the same DOM type (`xml`).
//! Must not: parse HTML (the [`Response`](crate::Response) owns its
//! DOM) or hold on to anything past the response.
//!
//! ## Why `xpath-eval`
//!
//! The XPath engine is the `xpath-eval` crate: XPath 1.0 (all axes, all
//! 27 core functions), no dependencies, evaluated over scraper's own DOM
//! through a trait (`dom`), so CSS and XPath share one html5ever parse,
//! which builds the tree browsers build. On a 64 KB listing page, parse
//! plus ten typical queries took 3.0 ms, against 11.6 ms for `sxd_html` +
//! `sxd-xpath` (a second tree from a second html5ever; sxd-xpath has had
//! no release since 2019) and 3.7 ms for `skyscraper` (its own HTML
//! parser, XPath 3.1-flavoured: `count()` is an integer, comparisons
//! follow 2.0 rules). All three agreed on the queries and on mis-nested
//! HTML (implied `</p>`, `<tbody>`, text fostered out of a table).
//!
//! ## Limits
//!
//! The engine parses and evaluates recursively, and a stack overflow
//! aborts the process: an expression longer than 1,000 bytes, nesting
//! brackets deeper than 32 or with more than 200 operators is refused
//! (in a debug build, 100 nested parentheses or 700 `+` overflow a 2 MiB
//! stack; what is accepted runs on one). Some expressions cost the square of
//! the page's size or depth (`//a/following::a` on a page of thousands of
//! links; `//*//*` on a page of thousands of nested elements): an
//! evaluation gives up with an error after visiting 4 million nodes, about
//! a quarter of a second.

mod dom;
pub(crate) mod xml;

use std::fmt;

use scraper::{ElementRef, Html, Node as Dom};
use xpath_eval::{EvaluationContext, Expr, Value};

use crate::response::SelectError;
use dom::{Index, XNode};

pub(crate) use dom::Index as XPathIndex;

/// The longest expression accepted, in bytes.
pub(crate) const MAX_LEN: usize = 1000;

/// The deepest nesting of `(` and `[` accepted.
pub(crate) const MAX_NESTING: usize = 32;

/// The most operator characters (`+ - * | = < >`) accepted: each binary
/// operator is a level of the engine's recursion.
pub(crate) const MAX_OPERATORS: usize = 200;

/// An XPath expression that did not parse, or could not be evaluated:
/// the expression and what is wrong, in one line.
///
/// ```
/// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<p>".into());
/// let e = r.xpath("//a[@href").unwrap_err();
/// assert_eq!(e.to_string(),
///     r#"XPath "//a[@href" at column 10: unexpected end of input, expected ']'"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XPathError(pub String);

impl fmt::Display for XPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XPath {}", self.0)
    }
}

impl std::error::Error for XPathError {}

/// One selected node (element, text, attribute, comment) or one scalar
/// result (`count(//li)`, `string(//title)`, `contains(..)`): Scrapy's
/// `Selector`.
///
/// ```
/// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![],
///     r#"<div class="product"><a href="/p/1">One</a></div>"#.into());
/// let product = r.xpath("//div[@class='product']").unwrap().into_iter().next().unwrap();
/// assert_eq!(product.xpath("./a/@href").unwrap().get().as_deref(), Some("/p/1"));
/// assert_eq!(product.get(), r#"<div class="product"><a href="/p/1">One</a></div>"#);
/// ```
#[derive(Clone)]
pub struct Selector<'a>(Item<'a>);

#[derive(Clone)]
enum Item<'a> {
    Node(XNode<'a>),
    Scalar(String),
}

/// The selectors an expression returned, in document order: Scrapy's
/// `SelectorList`.
///
/// ```
/// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![],
///     "<ul><li>a</li><li>b</li></ul>".into());
/// let items = r.xpath("//li/text()").unwrap();
/// assert_eq!(items.len(), 2);
/// assert_eq!(items.get().as_deref(), Some("a"));
/// assert_eq!(items.getall(), ["a", "b"]);
/// ```
#[derive(Clone, Default)]
pub struct SelectorList<'a>(Vec<Selector<'a>>);

/// An expression checked and parsed, ready to evaluate from any node.
pub(crate) struct XPath<'s> {
    source: &'s str,
    expr: Expr,
}

/// `source` parsed, or the error naming it. Checked first for size and
/// nesting: the parser recurses, and a stack overflow aborts the process.
pub(crate) fn parse(source: &str) -> Result<XPath<'_>, XPathError> {
    let fail = |what: String| XPathError(format!("{} {what}", quoted(source)));
    if source.len() > MAX_LEN {
        return Err(fail(format!(
            "is {} bytes long: at most {MAX_LEN} are accepted",
            source.len()
        )));
    }
    if let Some((at, what)) = too_deep(source) {
        return Err(fail(format!("at column {}: {what}", column(source, at))));
    }
    match xpath_eval::parse(source) {
        Ok(expr) => Ok(XPath { source, expr }),
        Err(e) => {
            let at = column(source, e.position);
            let message = e.message.replace("expected ]", "expected ']'");
            Err(fail(format!("at column {at}: {message}")))
        }
    }
}

/// What makes the engine recurse too deep, if anything: the byte offset
/// of the first `(` or `[` nested deeper than [`MAX_NESTING`], or of the
/// operator one past [`MAX_OPERATORS`], outside string literals.
fn too_deep(source: &str) -> Option<(usize, String)> {
    let mut depth = 0;
    let mut operators = 0;
    let mut quote = None;
    for (i, c) in source.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[') => {
                depth += 1;
                if depth > MAX_NESTING {
                    let what = format!("brackets nest deeper than {MAX_NESTING}");
                    return Some((i, what));
                }
            }
            (None, ')' | ']') => depth -= usize::from(depth > 0),
            (None, '+' | '-' | '*' | '|' | '=' | '<' | '>') => {
                operators += 1;
                if operators > MAX_OPERATORS {
                    let what = format!("more than {MAX_OPERATORS} operators");
                    return Some((i, what));
                }
            }
            _ => {}
        }
    }
    None
}

/// The 1-based column of byte `at` in `source`.
fn column(source: &str, at: usize) -> usize {
    source
        .get(..at)
        .map_or(source.chars().count(), |s| s.chars().count())
        + 1
}

/// `source` quoted for an error, cut short if long.
fn quoted(source: &str) -> String {
    match source.char_indices().nth(80) {
        Some((i, _)) => format!("{:?}...", &source[..i]),
        None => format!("{source:?}"),
    }
}

impl XPath<'_> {
    /// The expression evaluated with `at` as the context node.
    fn eval<'a>(&self, at: XNode<'a>) -> Result<SelectorList<'a>, XPathError> {
        at.index.start(dom::BUDGET);
        // A prefixed name (`//dc:creator`, `//atom:link`) matches by its
        // local name, as names are read without namespaces (they matched
        // nothing, silently): the prefix travels as a pseudo-URI.
        let prefixes = |prefix: &str| Some(format!("{}{prefix}", dom::PREFIX_URI));
        let mut cx = EvaluationContext::new(at);
        cx.namespaces = Some(&prefixes);
        let value = xpath_eval::evaluate(&self.expr, &cx);
        if at.index.exhausted() {
            return Err(XPathError(format!(
                "{} gave up after visiting {} nodes of this page: \
                 its cost grows with the square of the page; narrow the path",
                quoted(self.source),
                dom::BUDGET
            )));
        }
        let value = value.map_err(|e| XPathError(format!("{}: {e}", quoted(self.source))))?;
        Ok(SelectorList(match value {
            Value::NodeSet(nodes) => nodes.into_iter().map(|n| Selector(Item::Node(n))).collect(),
            scalar => vec![Selector(Item::Scalar(scalar.to_xpath_string()))],
        }))
    }
}

/// The document node of `html`, as a selector (what
/// [`Response::xpath`](crate::Response::xpath) evaluates from).
pub(crate) fn document<'a>(html: &'a Html, index: &'a Index) -> Selector<'a> {
    Selector(Item::Node(XNode::root(html, index)))
}

impl<'a> Selector<'a> {
    /// The results of XPath `expr` with this node as the context node
    /// (`./a/@href`, `.//li`, `h2/text()`; an expression starting with
    /// `/` or `//` still searches the whole document, as in Scrapy).
    /// Empty for a scalar.
    ///
    /// ```
    /// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![],
    ///     "<ul><li><b>1</b></li><li><b>2</b></li></ul>".into());
    /// let firsts: Vec<_> = r.xpath("//li").unwrap().iter()
    ///     .filter_map(|li| li.xpath("b/text()").unwrap().get()).collect();
    /// assert_eq!(firsts, ["1", "2"]);
    /// ```
    pub fn xpath(&self, expr: &str) -> Result<SelectorList<'a>, XPathError> {
        let expr = parse(expr)?;
        match &self.0 {
            Item::Node(n) => expr.eval(*n),
            Item::Scalar(_) => Ok(SelectorList::default()),
        }
    }

    /// The elements under this one (or in the whole document, from the
    /// document node) that match CSS selector `css`; empty for a text,
    /// attribute or scalar.
    ///
    /// ```
    /// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![],
    ///     r#"<div id="a"><p>in</p></div><p>out</p>"#.into());
    /// let div = r.xpath("//div[@id='a']").unwrap().into_iter().next().unwrap();
    /// assert_eq!(div.css("p").unwrap().xpath("text()").unwrap().getall(), ["in"]);
    /// ```
    pub fn css(&self, css: &str) -> Result<SelectorList<'a>, SelectError> {
        let sel = crate::css::parse(css).map_err(SelectError)?;
        let Item::Node(n) = &self.0 else {
            return Ok(SelectorList::default());
        };
        let n = *n;
        let found: Vec<ego_tree::NodeId> = match n.dom().value() {
            Dom::Document | Dom::Fragment => n.html.select(&sel).map(|e| e.id()).collect(),
            Dom::Element(_) if n.attr == 0 => ElementRef::wrap(n.dom())
                .map(|e| e.select(&sel).map(|e| e.id()).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        Ok(SelectorList(
            found
                .into_iter()
                .map(|id| Selector(Item::Node(XNode::at(n.html, n.index, id))))
                .collect(),
        ))
    }

    /// What Scrapy's `get()` gives: the text of a text node, the value of
    /// an attribute, a scalar as a string, and for an element its HTML
    /// (tags and all; select `text()` or use `string(.)` for the text).
    ///
    /// ```
    /// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![],
    ///     "<h1>Hi <b>you</b></h1>".into());
    /// assert_eq!(r.xpath("//h1").unwrap().get().as_deref(), Some("<h1>Hi <b>you</b></h1>"));
    /// assert_eq!(r.xpath("//h1/text()").unwrap().get().as_deref(), Some("Hi "));
    /// assert_eq!(r.xpath("string(//h1)").unwrap().get().as_deref(), Some("Hi you"));
    /// ```
    pub fn get(&self) -> String {
        let n = match &self.0 {
            Item::Scalar(s) => return s.clone(),
            Item::Node(n) => *n,
        };
        if let Some(text) = n.own_text() {
            return match n.dom().value() {
                Dom::Comment(_) if n.attr == 0 => format!("<!--{text}-->"),
                Dom::ProcessingInstruction(p) if n.attr == 0 => format!("<?{} {text}?>", p.target),
                _ => text.to_owned(),
            };
        }
        match ElementRef::wrap(n.dom()) {
            Some(e) => e.html(),
            None => n.html.html(),
        }
    }

    /// The element this selects, for scraper's API (`text()`,
    /// `attr()`, `value()`); `None` for anything else.
    ///
    /// ```
    /// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![],
    ///     r#"<a href="/x" title="X">x</a>"#.into());
    /// let a = r.xpath("//a").unwrap().into_iter().next().unwrap();
    /// assert_eq!(a.element().unwrap().attr("title"), Some("X"));
    /// ```
    pub fn element(&self) -> Option<ElementRef<'a>> {
        match &self.0 {
            Item::Node(n) if n.attr == 0 => ElementRef::wrap(n.dom()),
            _ => None,
        }
    }
}

impl fmt::Debug for Selector<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Selector").field(&self.get()).finish()
    }
}

impl<'a> SelectorList<'a> {
    /// The first selector's [`get`](Selector::get) (Scrapy's `get()`);
    /// `None` if there is none (Scrapy's default; add
    /// `.unwrap_or_default()` for `get(default="")`).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<title>T</title>".into());
    /// assert_eq!(r.xpath("//title/text()").unwrap().get().as_deref(), Some("T"));
    /// assert_eq!(r.xpath("//h1/text()").unwrap().get(), None);
    /// ```
    pub fn get(&self) -> Option<String> {
        self.0.first().map(Selector::get)
    }

    /// Every selector's [`get`](Selector::get), in order (Scrapy's
    /// `getall()`).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<a href=/1></a><a href=/2></a>".into());
    /// assert_eq!(r.xpath("//a/@href").unwrap().getall(), ["/1", "/2"]);
    /// ```
    pub fn getall(&self) -> Vec<String> {
        self.0.iter().map(Selector::get).collect()
    }

    /// XPath `expr` from each selector in turn, the results one after
    /// the other (Scrapy's `SelectorList.xpath`).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<p><a href=/1></a></p><p><a href=/2></a></p>".into());
    /// assert_eq!(r.xpath("//p").unwrap().xpath("./a/@href").unwrap().getall(), ["/1", "/2"]);
    /// ```
    pub fn xpath(&self, expr: &str) -> Result<SelectorList<'a>, XPathError> {
        let parsed = parse(expr)?;
        let mut all = Vec::new();
        for s in &self.0 {
            if let Item::Node(n) = &s.0 {
                all.extend(parsed.eval(*n)?.0);
            }
        }
        Ok(SelectorList(all))
    }

    /// CSS selector `css` under each selector in turn, the results one
    /// after the other (Scrapy's `SelectorList.css`).
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<p><b>1</b></p><p><b>2</b></p>".into());
    /// assert_eq!(r.xpath("//p").unwrap().css("b").unwrap().len(), 2);
    /// ```
    pub fn css(&self, css: &str) -> Result<SelectorList<'a>, SelectError> {
        let mut all = Vec::new();
        for s in &self.0 {
            all.extend(s.css(css)?.0);
        }
        Ok(SelectorList(all))
    }

    /// What `pattern` matches in each selector's [`get`](Selector::get),
    /// in order (Scrapy's `.re()`): a group named `extract` if the
    /// pattern has one, else every group of each match, else the whole
    /// matches. An error if the pattern is not a regex.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![],
    /// #     "<b class=price>Price: 12.50 EUR</b><b class=price>Price: 3 EUR</b>".into());
    /// let prices = r.css("b.price").unwrap();
    /// assert_eq!(prices.xpath("text()").unwrap().re(r"\d+(?:\.\d+)?").unwrap(), ["12.50", "3"]);
    /// assert_eq!(prices.xpath("text()").unwrap().re(r"(\d+)\.?(\d*)").unwrap(), ["12", "50", "3", ""]);
    /// assert_eq!(prices.xpath("text()").unwrap().re_first(r"(?P<extract>\d+) EUR").unwrap().as_deref(), Some("50"));
    /// assert!(prices.re("(").is_err());
    /// ```
    pub fn re(&self, pattern: &str) -> Result<Vec<String>, regex::Error> {
        let re = regex::Regex::new(pattern)?;
        Ok(self.0.iter().flat_map(|s| matches(&re, &s.get())).collect())
    }

    /// The first of [`re`](SelectorList::re)'s results (Scrapy's
    /// `.re_first()`); `None` if nothing matches.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<p>id: 42</p>".into());
    /// assert_eq!(r.xpath("//p/text()").unwrap().re_first(r"\d+").unwrap().as_deref(), Some("42"));
    /// assert_eq!(r.xpath("//p/text()").unwrap().re_first(r"x(\d)").unwrap(), None);
    /// ```
    pub fn re_first(&self, pattern: &str) -> Result<Option<String>, regex::Error> {
        let re = regex::Regex::new(pattern)?;
        Ok(self
            .0
            .iter()
            .find_map(|s| matches(&re, &s.get()).into_iter().next()))
    }

    /// How many selectors there are.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<li><li>".into());
    /// assert_eq!(r.xpath("//li").unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<p>".into());
    /// assert!(r.xpath("//li").unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The selectors, in order.
    ///
    /// ```
    /// # let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "<li>a<li>b".into());
    /// let texts: Vec<String> = r.xpath("//li").unwrap().iter().map(|li| li.xpath("string(.)").unwrap().get().unwrap()).collect();
    /// assert_eq!(texts, ["a", "b"]);
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, Selector<'a>> {
        self.0.iter()
    }
}

/// What `re` finds in `text`, as parsel's `extract_regex`: the group
/// named `extract`, else every group of each match (an unmatched group as
/// ""), else the whole matches.
fn matches(re: &regex::Regex, text: &str) -> Vec<String> {
    if let Some(i) = re.capture_names().position(|n| n == Some("extract")) {
        return re
            .captures_iter(text)
            .filter_map(|c| c.get(i).map(|m| m.as_str().to_owned()))
            .collect();
    }
    if re.captures_len() > 1 {
        return re
            .captures_iter(text)
            .flat_map(|c| {
                (1..c.len())
                    .map(|i| c.get(i).map_or(String::new(), |m| m.as_str().to_owned()))
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    re.find_iter(text).map(|m| m.as_str().to_owned()).collect()
}

impl fmt::Debug for SelectorList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl<'a> IntoIterator for SelectorList<'a> {
    type Item = Selector<'a>;
    type IntoIter = std::vec::IntoIter<Selector<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'l, 'a> IntoIterator for &'l SelectorList<'a> {
    type Item = &'l Selector<'a>;
    type IntoIter = std::slice::Iter<'l, Selector<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests;
