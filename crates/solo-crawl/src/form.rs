//! Form requests: a request built from a `<form>` on a page, as a browser
//! would submit it (Scrapy's `FormRequest.from_response`).
//!
//! Owns: picking the form (by number, id, name or CSS selector), reading
//! its fields as HTML says a form is submitted — text-like and hidden
//! inputs, checked checkboxes and radios (`on` when they have no value),
//! each `<select>`'s selected options (or its first option), textareas;
//! disabled fields, fields without a name, file inputs and buttons left
//! out, except the submit button that is "clicked" — the user's
//! overrides, the method (GET puts the fields in the query, POST in an
//! URL-encoded body) and the action URL resolved against the page's
//! `<base href>` or URL. Must not: fetch anything; the request it makes
//! goes to the frontier like any other.

use std::fmt;

use scraper::{ElementRef, Selector};
use url::Url;

use crate::request::Request;
use crate::response::Response;

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
    /// The CSS selector does not parse.
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
            FormError::BadSelector(s) => write!(f, "bad CSS selector for a form: {s}"),
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
        self.formdata
            .extend(fields.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Clicks the submit button named `name` instead of the first one
    /// (Scrapy's `clickdata={"name": ...}`).
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

    /// The request, parsed by `callback`.
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
                let s = Selector::parse(css).map_err(|e| FormError::BadSelector(e.to_string()))?;
                html.select(&s).find_map(form_of)
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
        let mut fields = fields(form);
        let clicked = clicked(form, &self.click)?;
        fields.retain(|(k, _)| !self.formdata.iter().any(|(o, _)| o == k));
        fields.extend(self.formdata.iter().cloned());
        if let Some((k, v)) = clicked {
            if !self.formdata.iter().any(|(o, _)| *o == k) {
                fields.push((k, v));
            }
        }
        let base = html
            .select(&sel("base[href]"))
            .next()
            .and_then(|b| page.join(b.value().attr("href")?.trim()).ok())
            .unwrap_or(page);
        let action = form.value().attr("action").map(str::trim).unwrap_or("");
        let mut url = base
            .join(action)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| FormError::BadAction(action.to_owned()))?;
        url.set_fragment(None);
        let post = form
            .value()
            .attr("method")
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("post"));
        let method = if post {
            hyper::Method::POST
        } else {
            hyper::Method::GET
        };
        Ok(Request::new(url, callback).with_method(method).form(fields))
    }
}

fn sel(css: &str) -> Selector {
    // Only called with the constant selectors of this module.
    Selector::parse(css).unwrap_or_else(|_| unreachable!("valid selector {css}"))
}

/// The form `e` is, or is inside.
fn form_of(e: ElementRef<'_>) -> Option<ElementRef<'_>> {
    std::iter::once(e)
        .chain(e.ancestors().filter_map(ElementRef::wrap))
        .find(|a| a.value().name() == "form")
}

/// The buttons that submit the form: `<input type=submit|image>`, and
/// `<button>` of type submit (its default).
fn submit_buttons(form: ElementRef<'_>) -> Vec<ElementRef<'_>> {
    form.select(&sel("input, button"))
        .filter(|e| e.value().attr("disabled").is_none())
        .filter(|e| {
            let t = e.value().attr("type").unwrap_or("").to_ascii_lowercase();
            match e.value().name() {
                "button" => t.is_empty() || t == "submit",
                _ => t == "submit" || t == "image",
            }
        })
        .collect()
}

/// The clicked button's name and value, if it has a name.
fn clicked(form: ElementRef<'_>, click: &Click) -> Result<Option<(String, String)>, FormError> {
    let button = match click {
        Click::None => return Ok(None),
        Click::First => submit_buttons(form).into_iter().next(),
        Click::Named(n) => Some(
            submit_buttons(form)
                .into_iter()
                .find(|b| b.value().attr("name") == Some(n.as_str()))
                .ok_or_else(|| FormError::NoButton(n.clone()))?,
        ),
    };
    Ok(button.and_then(|b| {
        let name = b.value().attr("name")?;
        Some((
            name.to_owned(),
            b.value().attr("value").unwrap_or("").to_owned(),
        ))
    }))
}

/// The fields a submit sends, in document order (buttons left out).
fn fields(form: ElementRef<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in form.select(&sel("input, select, textarea")) {
        let el = e.value();
        let Some(name) = el.attr("name").filter(|n| !n.is_empty()) else {
            continue;
        };
        if el.attr("disabled").is_some() {
            continue;
        }
        let name = name.to_owned();
        match el.name() {
            "textarea" => out.push((name, e.text().collect())),
            "select" => {
                let options: Vec<ElementRef<'_>> = e.select(&sel("option")).collect();
                let value = |o: &ElementRef<'_>| {
                    o.value()
                        .attr("value")
                        .map(str::to_owned)
                        .unwrap_or_else(|| o.text().collect::<String>().trim().to_owned())
                };
                let selected: Vec<&ElementRef<'_>> = options
                    .iter()
                    .filter(|o| o.value().attr("selected").is_some())
                    .collect();
                if el.attr("multiple").is_some() {
                    out.extend(selected.iter().map(|o| (name.clone(), value(o))));
                } else if let Some(o) = selected.last().copied().or(options.first()) {
                    out.push((name, value(o)));
                }
            }
            _ => {
                let t = el.attr("type").unwrap_or("text").to_ascii_lowercase();
                match t.as_str() {
                    "submit" | "image" | "button" | "reset" | "file" => {}
                    "checkbox" | "radio" => {
                        if el.attr("checked").is_some() {
                            out.push((name, el.attr("value").unwrap_or("on").to_owned()));
                        }
                    }
                    _ => out.push((name, el.attr("value").unwrap_or("").to_owned())),
                }
            }
        }
    }
    out
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
                ("ta", "line one\nline two"),
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
}
