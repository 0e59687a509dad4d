//! A synthetic site behind a login form, for the login example, the
//! guide's snippets and tests.
//!
//! Owns: the site's pages and rules. `GET /login` is a form (a hidden
//! CSRF token, user name, password, a checked "remember me", a submit
//! button) that posts to `/login`; good credentials ([`USERS`]) get a
//! `302` to `/account` and a `session` cookie, bad ones the form again.
//! `/account` (the user's name and links to `/private/1` … `/private/3`)
//! and the private pages answer `403` without the cookie. `/api/items`
//! is a JSON API in pages (`?page=1` … `3`, each with a `next` URL) that
//! answers `401` without `Authorization: Bearer ` [`API_TOKEN`]. Must not:
//! reach beyond loopback (it runs on [`DemoSite::with_handler`]).

use std::io;

use crate::demo_site::{DemoSite, SiteRequest, SiteResponse};

/// The accounts: user name and password.
pub const USERS: [(&str, &str); 2] = [("alice", "wonderland"), ("bob", "builder")];

/// The token `/api/items` wants.
pub const API_TOKEN: &str = "demo-token";

/// The CSRF token the form carries and the login checks.
const CSRF: &str = "c5rf-42";

/// Private pages behind the login.
pub const PRIVATE_PAGES: u32 = 3;

/// Starts the site on 127.0.0.1 (a free port); stopped when dropped.
///
/// ```
/// let site = solo_crawl::login_site::start().unwrap();
/// assert_eq!(site.url().host_str(), Some("127.0.0.1"));
/// ```
pub fn start() -> io::Result<DemoSite> {
    DemoSite::with_handler(|req| std::future::ready(answer(&req)))
}

/// The user whose session cookie the request carries.
fn user(req: &SiteRequest) -> Option<&'static str> {
    let cookies = req.header("cookie")?;
    cookies.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        let name = v.strip_suffix("-session")?;
        (k == "session")
            .then(|| USERS.iter().find(|(u, _)| *u == name).map(|(u, _)| *u))
            .flatten()
    })
}

fn login_page(message: &str) -> SiteResponse {
    SiteResponse::html(format!(
        r#"<html><head><title>Log in</title></head><body><p class="msg">{message}</p>
<form id="login" action="/login" method="post">
  <input type="hidden" name="csrf" value="{CSRF}">
  <input type="text" name="username"> <input type="password" name="password">
  <input type="checkbox" name="remember" value="1" checked>
  <input type="submit" name="commit" value="Log in">
</form></body></html>"#
    ))
}

fn answer(req: &SiteRequest) -> SiteResponse {
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    match (req.method.as_str(), path) {
        ("GET", "/") => SiteResponse::redirect(302, "/login"),
        ("GET", "/login") => login_page("Please log in."),
        ("POST", "/login") => {
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
                .into_owned()
                .collect();
            let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            let ok = field("csrf") == Some(CSRF)
                && USERS
                    .iter()
                    .any(|(u, p)| field("username") == Some(u) && field("password") == Some(p));
            match field("username") {
                Some(u) if ok => SiteResponse::redirect(302, "/account").with_header(
                    "Set-Cookie",
                    &format!("session={u}-session; Path=/; HttpOnly"),
                ),
                _ => login_page("Invalid login."),
            }
        }
        ("GET", "/account") => match user(req) {
            Some(u) => {
                let links: String = (1..=PRIVATE_PAGES)
                    .map(|n| format!("<li><a href=\"/private/{n}\">Secret {n}</a></li>"))
                    .collect();
                SiteResponse::html(format!(
                    "<html><head><title>Account</title></head><body>\
                     <h1 class=\"user\">{u}</h1><ul>{links}</ul></body></html>"
                ))
            }
            None => SiteResponse::status(403),
        },
        ("GET", p) if p.starts_with("/private/") => {
            let n: Option<u32> = p["/private/".len()..].parse().ok();
            match (user(req), n) {
                (Some(u), Some(n)) if (1..=PRIVATE_PAGES).contains(&n) => {
                    SiteResponse::html(format!(
                        "<html><head><title>Secret {n}</title></head><body>\
                         <p class=\"secret\">secret {n} of {u}</p></body></html>"
                    ))
                }
                (Some(_), _) => SiteResponse::status(404),
                (None, _) => SiteResponse::status(403),
            }
        }
        ("GET", "/api/items") => {
            let bearer = format!("Bearer {API_TOKEN}");
            if req.header("authorization") != Some(bearer.as_str()) {
                return SiteResponse::typed(401, "application/json", r#"{"error":"token"}"#);
            }
            let page: u32 = query
                .strip_prefix("page=")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let items: Vec<serde_json::Value> = (1..=2)
                .map(|i| {
                    let id = (page - 1) * 2 + i;
                    serde_json::json!({"id": id, "name": format!("item {id}")})
                })
                .collect();
            let next = (page < 3).then(|| format!("/api/items?page={}", page + 1));
            let body = serde_json::json!({"items": items, "next": next});
            SiteResponse::typed(200, "application/json", body.to_string())
        }
        _ => SiteResponse::status(404),
    }
}
