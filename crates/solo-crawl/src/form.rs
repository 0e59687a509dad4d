//! Form requests: a request built from a `<form>` on a page, as a browser
//! would submit it (Scrapy's `FormRequest.from_response`).
//!
//! Owns: picking the form (by number, id, name or CSS selector), the
//! clicked submit button, the user's overrides, the method (GET puts the
//! fields in the query, POST in an URL-encoded body; the clicked button's
//! `formmethod` wins) and the action URL (the button's `formaction`, else
//! the form's) resolved against the page's `<base href>` or URL.
//! Which controls are sent and their values: [`fields`].
//! Must not: fetch anything; the request it makes goes to the frontier
//! like any other.

use std::fmt;

use scraper::{ElementRef, Html, Selector};
use url::Url;

use bytes::Bytes;
use encoding_rs::Encoding;
use solo_http::multipart::{Form, Part};

use crate::links;
use crate::request::Request;
use crate::response::Response;

mod fields;

#[cfg(test)]
mod charset_tests;

use fields::Entry;

/// A request from a form on `response`, with its fields pre-filled.
///
/// ```
/// use solo_crawl::{FormRequest, Response};
/// let page = Response::new(
///     url::Url::parse("http://a.test/login").unwrap(), 200,
///     vec![("content-type".into(), "text/html".into())],
///     r#"<form action="/session" method="post">
///          <input type="hidden" name="csrf" value="t0k">
///          <input name="user"> <input type="password" name="pass">
///          <input type="submit" name="go" value="Log in">
///        </form>"#.into());
/// let req = FormRequest::from_response(&page)
///     .formdata([("user", "ann"), ("pass", "secret")])
///     .request("after_login")
///     .unwrap();
/// assert_eq!(req.extras().method, hyper::Method::POST);
/// assert_eq!(req.url.as_str(), "http://a.test/session");
/// assert_eq!(req.extras().body, "csrf=t0k&user=ann&pass=secret&go=Log+in");
/// assert_eq!(req.callback, "after_login");
/// ```
#[derive(Clone, Debug)]
pub struct FormRequest<'r> {
    response: &'r Response,
    pick: Pick,
    formdata: Vec<(String, String)>,
    /// Fields left out (Scrapy's `formdata={name: None}`).
    removed: Vec<String>,
    files: Vec<(String, Part)>,
    click: Click,
}

#[derive(Clone, Debug)]
enum Pick {
    Number(usize),
    Id(String),
    Name(String),
    Css(String),
}

#[derive(Clone, Debug)]
enum Click {
    First,
    Named(String),
    None,
}

/// Why no request could be made from a page's form.
///
/// ```
/// let r = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200, vec![], "{}".into());
/// let e = solo_crawl::FormRequest::from_response(&r).request(()).unwrap_err();
/// assert_eq!(e.to_string(), "http://a.test/ is not an HTML page: no form to submit");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormError {
    /// The response is not HTML.
    NotHtml(Url),
    /// No form matches (what was asked for, and the page).
    NoForm(String, Url),
    /// The CSS selector does not parse (the selector, where and what is
    /// wrong).
    BadSelector(String),
    /// The form's `action` is not an http(s) URL.
    BadAction(String),
    /// No submit button has this name.
    NoButton(String),
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::NotHtml(u) => write!(f, "{u} is not an HTML page: no form to submit"),
            FormError::NoForm(what, u) => write!(f, "no form {what} on {u}"),
            FormError::BadSelector(s) => write!(f, "bad CSS selector for a form {s}"),
            FormError::BadAction(a) => {
                write!(f, "the form's action {a:?} is not an http(s) URL")
            }
            FormError::NoButton(n) => write!(f, "the form has no submit button named {n:?}"),
        }
    }
}

impl std::error::Error for FormError {}

impl<'r> FormRequest<'r> {
    /// The first form of `response`, its first submit button clicked;
    /// choose another with the methods below, then make the request with
    /// [`request`](FormRequest::request).
    pub fn from_response(response: &'r Response) -> FormRequest<'r> {
        FormRequest {
            response,
            pick: Pick::Number(0),
            formdata: Vec::new(),
            removed: Vec::new(),
            files: Vec::new(),
            click: Click::First,
        }
    }

    /// The `n`th form of the page, from 0 (Scrapy's `formnumber`).
    pub fn form_number(mut self, n: usize) -> Self {
        self.pick = Pick::Number(n);
        self
    }

    /// The form with this `id` (Scrapy's `formid`).
    pub fn form_id(mut self, id: impl Into<String>) -> Self {
        self.pick = Pick::Id(id.into());
        self
    }

    /// The form with this `name` (Scrapy's `formname`).
    pub fn form_name(mut self, name: impl Into<String>) -> Self {
        self.pick = Pick::Name(name.into());
        self
    }

    /// The first form matching this CSS selector, or holding the first
    /// element that does (Scrapy's `formcss`).
    ///
    /// ```
    /// # let page = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200,
    /// #     vec![("content-type".into(), "text/html".into())],
    /// #     r#"<form><input name="a" value="1"></form><form class="s"><input name="q" value="x"></form>"#.into());
    /// let r = solo_crawl::FormRequest::from_response(&page).form_css("form.s").request(()).unwrap();
    /// assert_eq!(r.url.as_str(), "http://a.test/?q=x");
    /// ```
    pub fn form_css(mut self, selector: impl Into<String>) -> Self {
        self.pick = Pick::Css(selector.into());
        self
    }

    /// Fields to set (Scrapy's `formdata`): each replaces every field of
    /// the form with its name, in the order given, after the form's own.
    pub fn formdata<K, V>(mut self, fields: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        for (k, v) in fields {
            let k = k.into();
            self.removed.retain(|r| *r != k);
            self.formdata.push((k, v.into()));
        }
        self
    }

    /// Leaves out every field named `name`, the form's own, one set with
    /// [`formdata`](FormRequest::formdata) before, and the clicked button's
    /// (Scrapy's `formdata={"name": None}`); `formdata` after it sets the
    /// field again.
    ///
    /// ```
    /// # let page = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200,
    /// #     vec![("content-type".into(), "text/html".into())],
    /// #     r#"<form><input name="q" value="x"><input name="debug" value="1"></form>"#.into());
    /// let r = solo_crawl::FormRequest::from_response(&page).remove("debug").request(()).unwrap();
    /// assert_eq!(r.url.as_str(), "http://a.test/?q=x");
    /// ```
    pub fn remove(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.formdata.retain(|(k, _)| *k != name);
        self.files.retain(|(k, _)| *k != name);
        self.removed.push(name);
        self
    }

    /// A file for the file input `name` (or a new file field), sent as a
    /// browser sends a chosen file: in full when the form's `enctype` is
    /// `multipart/form-data`, as its file name otherwise.
    ///
    /// ```
    /// use solo_crawl::FormRequest;
    /// use solo_http::multipart::Part;
    /// # let page = solo_crawl::Response::new(url::Url::parse("http://a.test/").unwrap(), 200,
    /// #     vec![("content-type".into(), "text/html".into())],
    /// #     r#"<form method="post" action="/up" enctype="multipart/form-data">
    /// #          <input name="title" value="t"><input type="file" name="doc"></form>"#.into());
    /// let csv = Part::bytes(&b"a,b\n"[..]).file_name("data.csv").mime("text/csv").unwrap();
    /// let r = FormRequest::from_response(&page).file("doc", csv).request(()).unwrap();
    /// let ct = r.header_value("content-type").unwrap();
    /// assert!(ct.starts_with("multipart/form-data; boundary="));
    /// let body = String::from_utf8(r.extras().body.to_vec()).unwrap();
    /// assert!(body.contains("name=\"doc\"; filename=\"data.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\n"));
    /// ```
    pub fn file(mut self, name: impl Into<String>, part: Part) -> Self {
        let name = name.into();
        self.removed.retain(|r| *r != name);
        self.files.retain(|(k, _)| *k != name);
        self.files.push((name, part));
        self
    }

    /// Clicks the submit button named `name` instead of the first one
    /// (Scrapy's `clickdata={"name": ...}`). As in a browser (not in
    /// Scrapy), the clicked button's `formaction` and `formmethod` replace
    /// the form's `action` and `method`.
    pub fn click(mut self, name: impl Into<String>) -> Self {
        self.click = Click::Named(name.into());
        self
    }

    /// Clicks no button: no button's name and value are sent (Scrapy's
    /// `dont_click`).
    pub fn dont_click(mut self) -> Self {
        self.click = Click::None;
        self
    }

    /// The request, parsed by `callback`. A GET puts the fields in the
    /// query (form-urlencoded); a POST sends them as the form's `enctype`
    /// says (the clicked button's `formenctype` wins): URL-encoded by
    /// default, `multipart/form-data` (file inputs as empty files unless
    /// [`file`](FormRequest::file) gives one), or `text/plain`. Line
    /// breaks in names and values are sent as CRLF.
    pub fn request<C>(&self, callback: C) -> Result<Request<C>, FormError> {
        let r = self.response;
        let page = r.url().clone();
        let html = r
            .is_html()
            .then(|| r.html())
            .flatten()
            .ok_or_else(|| FormError::NotHtml(page.clone()))?;
        let forms = sel("form");
        let form = match &self.pick {
            Pick::Number(n) => html.select(&forms).nth(*n),
            Pick::Id(id) => html
                .select(&forms)
                .find(|f| f.value().attr("id") == Some(id.as_str())),
            Pick::Name(name) => html
                .select(&forms)
                .find(|f| f.value().attr("name") == Some(name.as_str())),
            Pick::Css(css) => {
                let s = crate::css::parse(css).map_err(FormError::BadSelector)?;
                html.select(&s).find_map(|e| fields::form_owner(html, e))
            }
        };
        let form = form.ok_or_else(|| {
            let what = match &self.pick {
                Pick::Number(n) => format!("number {n}"),
                Pick::Id(id) => format!("with id {id:?}"),
                Pick::Name(n) => format!("named {n:?}"),
                Pick::Css(c) => format!("matching {c:?}"),
            };
            FormError::NoForm(what, page.clone())
        })?;
        let charset = charset(form, r);
        let mut entries = fields::entries(html, form, charset);
        let button = clicked(html, form, &self.click)?;
        let overridden = |name: &str| {
            self.formdata.iter().any(|(o, _)| o == name) || self.removed.iter().any(|r| r == name)
        };
        entries.retain(|e| match e {
            Entry::Text(k, _) | Entry::File(k) => !overridden(k),
        });
        entries.extend(
            self.formdata
                .iter()
                .map(|(k, v)| Entry::Text(k.clone(), v.clone())),
        );
        // A given file fills its input where it stands, or comes last.
        for (k, _) in &self.files {
            if !entries.contains(&Entry::File(k.clone())) {
                entries.push(Entry::File(k.clone()));
            }
        }
        if let Some(k) = button.and_then(|b| b.value().attr("name")) {
            if !overridden(k) {
                let v = button.and_then(|b| b.value().attr("value"));
                entries.push(Entry::Text(k.to_owned(), v.unwrap_or("").to_owned()));
            }
        }
        // The clicked button's `formaction` and `formmethod` win.
        let attr = |name: &str| {
            button
                .and_then(|b| b.value().attr(&format!("form{name}")))
                .or(form.value().attr(name))
        };
        // A base that is not http(s) (`javascript:`) is ignored, as by
        // links() and browsers.
        let base = html
            .select(&sel("base[href]"))
            .next()
            .and_then(|b| links::join_in(&page, b.value().attr("href")?.trim(), charset).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .unwrap_or(page);
        let action = attr("action").map(str::trim).unwrap_or("");
        let mut url = links::join_in(&base, action, charset)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| FormError::BadAction(action.to_owned()))?;
        url.set_fragment(None);
        let post = attr("method").is_some_and(|m| m.trim().eq_ignore_ascii_case("post"));
        let method = if post {
            hyper::Method::POST
        } else {
            hyper::Method::GET
        };
        let req = Request::new(url, callback).with_method(method);
        let enctype = attr("enctype").map(|e| e.trim().to_ascii_lowercase());
        Ok(match enctype.as_deref() {
            Some("multipart/form-data") if post => {
                req.multipart(&self.multipart(&entries, charset))
            }
            Some("text/plain") if post => req
                .body(charset.encode(&plain_text(&entries)).0.into_owned())
                .header("Content-Type", "text/plain"),
            _ => req.form_in(charset, self.urlencoded(&entries)),
        })
    }

    /// The entries as URL-encoded pairs: a file input sends its file's
    /// name, and is left out when no file was given.
    fn urlencoded(&self, entries: &[Entry]) -> Vec<(String, String)> {
        entries
            .iter()
            .filter_map(|e| match e {
                Entry::Text(k, v) => Some((fields::crlf(k), fields::crlf(v))),
                Entry::File(k) => {
                    let part = self.file_for(k)?;
                    Some((
                        fields::crlf(k),
                        part.file_name_str().unwrap_or("").to_owned(),
                    ))
                }
            })
            .collect()
    }

    /// The entries as a multipart form: a file input without a file is an
    /// empty file with an empty name, as a browser sends it. Names, file
    /// names and values are in `charset`.
    fn multipart(&self, entries: &[Entry], charset: &'static Encoding) -> Form {
        let form = Form::new().names_in(charset);
        entries.iter().fold(form, |form, e| match e {
            Entry::Text(k, v) => {
                let value = charset.encode(&fields::crlf(v)).0.into_owned();
                form.part(fields::crlf(k), Part::bytes(value))
            }
            Entry::File(k) => {
                let part = self
                    .file_for(k)
                    .cloned()
                    .unwrap_or_else(|| Part::bytes(Bytes::new()).file_name(""));
                form.part(fields::crlf(k), part)
            }
        })
    }

    fn file_for(&self, name: &str) -> Option<&Part> {
        self.files.iter().find(|(k, _)| k == name).map(|(_, p)| p)
    }
}

/// The charset a form is sent in: the first of its `accept-charset`
/// (labels apart by spaces or, as browsers also read them, commas) that
/// is one, else the page's; UTF-8 for UTF-16 pages (the output
/// encoding).
fn charset(form: ElementRef<'_>, page: &Response) -> &'static Encoding {
    form.value()
        .attr("accept-charset")
        .and_then(|labels| {
            labels
                .split(|c: char| c == ',' || c.is_ascii_whitespace())
                .find_map(|l| Encoding::for_label(l.as_bytes()))
        })
        .unwrap_or_else(|| page.encoding())
        .output_encoding()
}

/// The HTML standard's `text/plain` encoding: a `name=value` line each.
fn plain_text(entries: &[Entry]) -> String {
    let mut body = String::new();
    for e in entries {
        if let Entry::Text(k, v) = e {
            body.push_str(&fields::crlf(k));
            body.push('=');
            body.push_str(&fields::crlf(v));
            body.push_str("\r\n");
        }
    }
    body
}

fn sel(css: &str) -> Selector {
    // Only called with the constant selectors of this module.
    Selector::parse(css).unwrap_or_else(|_| unreachable!("valid selector {css}"))
}

/// The clicked button, if any.
fn clicked<'a>(
    html: &'a Html,
    form: ElementRef<'a>,
    click: &Click,
) -> Result<Option<ElementRef<'a>>, FormError> {
    let mut buttons = fields::submit_buttons(html, form).into_iter();
    Ok(match click {
        Click::None => None,
        Click::First => buttons.next(),
        Click::Named(n) => Some(
            buttons
                .find(|b| b.value().attr("name") == Some(n.as_str()))
                .ok_or_else(|| FormError::NoButton(n.clone()))?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, html: &str) -> Response {
        Response::new(
            Url::parse(url).unwrap(),
            200,
            vec![("content-type".into(), "text/html; charset=utf-8".into())],
            html.to_owned().into(),
        )
    }

    fn body(r: &Request<()>) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&r.extras().body)
            .into_owned()
            .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    const FULL: &str = r#"<html><body>
      <form id="search" action="/s"><input name="q" value="old"></form>
      <form name="f" action="post.php#frag" method="POST">
        <input type="hidden" name="csrf" value="abc">
        <input name="text" value="t">
        <input name="novalue">
        <input type="email" name="mail" value="a@b.test">
        <input type="password" name="pw" value="">
        <input type="checkbox" name="cb1" value="yes" checked>
        <input type="checkbox" name="cb2" value="no">
        <input type="checkbox" name="cb3" checked>
        <input type="radio" name="r" value="1">
        <input type="radio" name="r" value="2" checked>
        <input name="off" value="x" disabled>
        <input value="nameless">
        <input type="file" name="upload">
        <input type="reset" name="reset" value="R">
        <input type="button" name="b" value="B">
        <select name="s1"><option value="a">A</option><option value="b" selected>B</option></select>
        <select name="s2"><option>First</option><option>Second</option></select>
        <select name="s3" multiple><option value="x" selected>X</option><option value="y">Y</option><option value="z" selected>Z</option></select>
        <select name="s4"></select>
        <textarea name="ta">line one
line two</textarea>
        <textarea name="ta2" disabled>no</textarea>
        <button type="button" name="notsubmit" value="n">N</button>
        <input type="submit" name="go" value="Go">
        <button name="alt" value="other">Other</button>
      </form></body></html>"#;

    #[test]
    fn fields_are_filled_as_a_browser_submits_them() {
        let p = page("http://a.test/dir/form.html", FULL);
        let r = FormRequest::from_response(&p)
            .form_name("f")
            .request(())
            .unwrap();
        assert_eq!(r.extras().method, hyper::Method::POST);
        assert_eq!(r.url.as_str(), "http://a.test/dir/post.php");
        assert_eq!(
            r.header_value("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            body(&r),
            pairs(&[
                ("csrf", "abc"),
                ("text", "t"),
                ("novalue", ""),
                ("mail", "a@b.test"),
                ("pw", ""),
                ("cb1", "yes"),
                ("cb3", "on"),
                ("r", "2"),
                ("s1", "b"),
                ("s2", "First"),
                ("s3", "x"),
                ("s3", "z"),
                ("ta", "line one\r\nline two"),
                ("go", "Go"),
            ])
        );
    }

    #[test]
    fn overrides_clicks_and_picking() {
        let p = page("http://a.test/dir/form.html", FULL);
        let r = FormRequest::from_response(&p)
            .form_id("search")
            .formdata([("q", "new"), ("extra", "1")])
            .request(())
            .unwrap();
        assert_eq!(r.extras().method, hyper::Method::GET);
        assert_eq!(r.url.as_str(), "http://a.test/s?q=new&extra=1");
        assert!(r.extras().body.is_empty());
        let r = FormRequest::from_response(&p)
            .form_number(1)
            .formdata([("text", "mine"), ("r", "1")])
            .click("alt")
            .request(())
            .unwrap();
        let b = body(&r);
        assert_eq!(b[0], ("csrf".into(), "abc".into()));
        assert!(!b.iter().any(|(k, _)| k == "go"));
        assert_eq!(
            b[b.len() - 3..],
            pairs(&[("text", "mine"), ("r", "1"), ("alt", "other")])
        );
        let none = FormRequest::from_response(&p)
            .form_css("select[name=s1]")
            .dont_click()
            .request(())
            .unwrap();
        assert!(!body(&none).iter().any(|(k, _)| k == "go" || k == "alt"));
    }

    /// `remove` leaves out the form's own field, the clicked button and
    /// a field set before it; `formdata` after it sets the field again.
    #[test]
    fn removed_fields_are_left_out_unless_set_again() {
        let p = page("http://a.test/dir/form.html", FULL);
        let r = FormRequest::from_response(&p)
            .form_number(1)
            .formdata([("extra", "1")])
            .remove("csrf")
            .remove("go")
            .remove("extra")
            .remove("ta")
            .formdata([("ta", "again")])
            .request(())
            .unwrap();
        let b = body(&r);
        for gone in ["csrf", "go", "extra"] {
            assert!(!b.iter().any(|(k, _)| k == gone), "{gone}: {b:?}");
        }
        assert_eq!(b.last(), Some(&("ta".into(), "again".into())), "{b:?}");
        assert!(b.iter().any(|(k, _)| k == "pw"), "{b:?}");
    }

    #[test]
    fn action_and_base_and_errors() {
        let p = page(
            "http://a.test/x/y",
            r#"<base href="http://b.test/root/"><form action=" next?z=1 "></form><form></form>"#,
        );
        let r = FormRequest::from_response(&p).request(()).unwrap();
        assert_eq!(r.url.as_str(), "http://b.test/root/next");
        // No action: the page itself (its query replaced).
        let r = FormRequest::from_response(&p)
            .form_number(1)
            .request(())
            .unwrap();
        assert_eq!(r.url.as_str(), "http://b.test/root/");
        let p = page(
            "http://a.test/",
            r#"<form action="javascript:go()"></form>"#,
        );
        let e = FormRequest::from_response(&p).request(()).unwrap_err();
        assert_eq!(e, FormError::BadAction("javascript:go()".into()));
        assert!(matches!(
            FormRequest::from_response(&p).form_number(3).request(()),
            Err(FormError::NoForm(..))
        ));
        assert!(matches!(
            FormRequest::from_response(&p).form_css("form[").request(()),
            Err(FormError::BadSelector(_))
        ));
        let e = FormRequest::from_response(&p)
            .form_css("form[[[")
            .request(())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"bad CSS selector for a form "form[[[" at column 6: an attribute selector needs a name, found '['"#
        );
        let e = FormRequest::from_response(&p)
            .click("nope")
            .request(())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the form has no submit button named \"nope\""
        );
        let e = FormRequest::from_response(&p)
            .form_id("login")
            .request(())
            .unwrap_err();
        assert_eq!(e.to_string(), "no form with id \"login\" on http://a.test/");
    }

    #[test]
    fn the_clicked_button_s_formaction_and_formmethod_win() {
        let p = page(
            "http://a.test/dir/f.html",
            r#"<form action="/b" method="post"><input name="t" value="v">
                 <button name="save" value="s">Save</button>
                 <button name="del" value="d" formaction="/delete" formmethod="get">Del</button>
                 <input type="submit" name="pub" value="P" formaction="pub?x=1#f">
               </form>
               <form id="g" action="/g"><button name="go" formmethod="POST" formaction="/post">Go</button></form>"#,
        );
        let req = |f: FormRequest<'_>| f.request(()).unwrap();
        let del = req(FormRequest::from_response(&p).click("del"));
        assert_eq!(del.extras().method, hyper::Method::GET);
        assert_eq!(del.url.as_str(), "http://a.test/delete?t=v&del=d");
        let publish = req(FormRequest::from_response(&p).click("pub"));
        assert_eq!(publish.extras().method, hyper::Method::POST);
        assert_eq!(publish.url.as_str(), "http://a.test/dir/pub?x=1");
        assert_eq!(body(&publish), pairs(&[("t", "v"), ("pub", "P")]));
        // The first button clicked by default: its own attributes count.
        let save = req(FormRequest::from_response(&p));
        assert_eq!(save.extras().method, hyper::Method::POST);
        assert_eq!(save.url.as_str(), "http://a.test/b");
        let go = req(FormRequest::from_response(&p).form_id("g"));
        assert_eq!(go.extras().method, hyper::Method::POST);
        assert_eq!(go.url.as_str(), "http://a.test/post");
        // No button clicked: the form's own action and method.
        let plain = req(FormRequest::from_response(&p).form_id("g").dont_click());
        assert_eq!(plain.extras().method, hyper::Method::GET);
        assert_eq!(plain.url.as_str(), "http://a.test/g");
    }

    #[test]
    fn line_breaks_are_sent_as_crlf() {
        let p = page(
            "http://a.test/",
            "<form method=post><textarea name=ta>\nfirst\nsecond</textarea>\
             <input type=hidden name=h value=x></form>",
        );
        let r = FormRequest::from_response(&p)
            .formdata([("h", "a\nb")])
            .request(())
            .unwrap();
        assert_eq!(r.extras().body, "ta=first%0D%0Asecond&h=a%0D%0Ab");
        let r = FormRequest::from_response(&p).request(()).unwrap();
        assert_eq!(r.extras().body, "ta=first%0D%0Asecond&h=x");
    }

    #[test]
    fn form_css_finds_the_form_a_control_outside_belongs_to() {
        let p = page(
            "http://a.test/",
            r#"<form action="/one"></form><form id="f" action="/two"><input name="in" value="1"></form>
               <input form="f" name="out" value="2">"#,
        );
        let r = FormRequest::from_response(&p)
            .form_css("input[name=out]")
            .request(())
            .unwrap();
        assert_eq!(r.url.as_str(), "http://a.test/two?in=1&out=2");
    }

    #[test]
    fn disabled_options_and_fieldsets_and_outside_controls_as_a_browser() {
        // The cases of the user audit's forms.html (audit2 D8).
        let p = page(
            "http://shop.test/dir/forms.html",
            r#"<form id="sel" action="/s" method="post">
                 <select name="dis"><option disabled>none</option><option value="ok">OK</option></select>
               </form>
               <form id="owner" action="/own" method="post"><input name="inside" value="i"></form>
               <input form="owner" name="outside" value="o">
               <fieldset disabled><form id="fs" action="/fs" method="post"><input name="x" value="1"></form></fieldset>
               <form id="fsin" action="/fsin" method="post"><fieldset disabled><input name="y" value="1"></fieldset><input name="z" value="2"></form>"#,
        );
        let sent = |id: &str| {
            let r = FormRequest::from_response(&p)
                .form_id(id)
                .request(())
                .unwrap();
            String::from_utf8(r.extras().body.to_vec()).unwrap()
        };
        assert_eq!(sent("sel"), "dis=ok");
        assert_eq!(sent("owner"), "inside=i&outside=o");
        assert_eq!(sent("fs"), "");
        assert_eq!(sent("fsin"), "z=2");
    }

    /// The parts of a multipart body, each as (its header lines, its
    /// data), split at the boundary the Content-Type names.
    fn parts(r: &Request<()>) -> Vec<(String, String)> {
        let ct = r.header_value("content-type").unwrap();
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let body = String::from_utf8(r.extras().body.to_vec()).unwrap();
        let delim = format!("--{boundary}");
        assert!(body.ends_with(&format!("{delim}--\r\n")), "{body}");
        body.split(&delim)
            .filter(|p| p.starts_with("\r\n"))
            .map(|p| {
                let (head, data) = p[2..].split_once("\r\n\r\n").unwrap();
                (
                    head.to_owned(),
                    data.strip_suffix("\r\n").unwrap().to_owned(),
                )
            })
            .collect()
    }

    const UPLOAD: &str = r#"<form action="/up" method="post" enctype="Multipart/Form-Data">
        <input type="hidden" name="csrf" value="t0k">
        <input type="file" name="doc">
        <textarea name="note">a
b</textarea>
        <input type="submit" name="go" value="Send">
        <button name="plain" value="p" formenctype="text/plain">As text</button>
      </form>
      <form id="get" action="/find" enctype="multipart/form-data"><input name="q" value="x"></form>"#;

    #[test]
    fn enctype_multipart_sends_parts_and_empty_file_inputs_as_a_browser() {
        let p = page("http://a.test/form", UPLOAD);
        let r = FormRequest::from_response(&p).request(()).unwrap();
        assert_eq!(r.extras().method, hyper::Method::POST);
        assert_eq!(
            parts(&r),
            [
                ("Content-Disposition: form-data; name=\"csrf\"", "t0k"),
                (
                    "Content-Disposition: form-data; name=\"doc\"; filename=\"\"\r\nContent-Type: application/octet-stream",
                    ""
                ),
                ("Content-Disposition: form-data; name=\"note\"", "a\r\nb"),
                ("Content-Disposition: form-data; name=\"go\"", "Send"),
            ]
            .map(|(h, d)| (h.to_owned(), d.to_owned()))
        );
        // A file given by the user, and an override of a text field.
        let csv = Part::bytes(&b"x,y\n"[..])
            .file_name("d.csv")
            .mime("text/csv")
            .unwrap();
        let r = FormRequest::from_response(&p)
            .file("doc", csv)
            .formdata([("csrf", "new")])
            .request(())
            .unwrap();
        let got = parts(&r);
        assert_eq!(got[0].1, "x,y\n");
        assert!(got[0]
            .0
            .ends_with("name=\"doc\"; filename=\"d.csv\"\r\nContent-Type: text/csv"));
        assert_eq!(
            got[2],
            (
                "Content-Disposition: form-data; name=\"csrf\"".into(),
                "new".into()
            )
        );
        // The same submission twice is one request to the frontier.
        let again = FormRequest::from_response(&p).request(()).unwrap();
        let once = FormRequest::from_response(&p).request(()).unwrap();
        assert_eq!(again.fingerprint(), once.fingerprint());
    }

    #[test]
    fn formenctype_text_plain_and_get_forms_and_file_names_in_urlencoded() {
        let p = page("http://a.test/form", UPLOAD);
        let r = FormRequest::from_response(&p)
            .click("plain")
            .request(())
            .unwrap();
        assert_eq!(r.header_value("content-type"), Some("text/plain"));
        assert_eq!(r.extras().body, "csrf=t0k\r\nnote=a\r\nb\r\nplain=p\r\n");
        // A GET form puts its fields in the query, whatever its enctype.
        let r = FormRequest::from_response(&p)
            .form_id("get")
            .request(())
            .unwrap();
        assert_eq!(r.url.as_str(), "http://a.test/find?q=x");
        assert!(r.extras().body.is_empty());
        // URL-encoded, a chosen file is sent as its name (as browsers do).
        let p = page(
            "http://a.test/form",
            r#"<form action="/up" method="post"><input type="file" name="doc"><input name="a" value="1"></form>"#,
        );
        let r = FormRequest::from_response(&p).request(()).unwrap();
        assert_eq!(r.extras().body, "a=1");
        let r = FormRequest::from_response(&p)
            .file("doc", Part::bytes(&b"data"[..]).file_name("report.pdf"))
            .request(())
            .unwrap();
        assert_eq!(r.extras().body, "doc=report.pdf&a=1");
    }
}
