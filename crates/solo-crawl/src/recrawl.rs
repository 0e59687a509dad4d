//! Conditional recrawls: a new pass over a finished crawl that asks each
//! server "changed since?" instead of fetching everything again.
//!
//! Owns: [`Recrawl`] (the setting: which known pages a pass requests
//! again), what the state store keeps of a page for the next pass
//! (`Previous`: its `ETag`, its `Last-Modified`, the links it had), the
//! conditional headers a recrawled request carries, and what a `304 Not
//! Modified` stands for (the page as the previous pass saw it: its links
//! are followed again). Must not: store anything itself (the `store`
//! module does, on the writer thread) or decide the crawl's rules (a
//! link of an unchanged page goes through the frontier like any other).
//!
//! A pass: with `--state DIR --recrawl`, a crawl whose state is finished
//! (nothing queued) starts a new pass: the seen set is emptied, and every
//! known page (every page that got a 2xx, or a 304 in a later pass), or
//! only those last fetched longer ago than
//! [`older_than`](Recrawl::older_than), is requested again, first, with
//! `If-None-Match` and `If-Modified-Since` from its last answer. A `304`
//! writes the page's record with `not_modified: true` and its links from
//! the previous pass; a changed page is fetched and parsed as usual, and
//! new links on it are crawled. An unfinished state is resumed as it is
//! (a killed recrawl continues its pass).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::fetch::Fetched;
use crate::request::Request;

/// Which known pages a recrawl pass requests again.
///
/// ```
/// use std::time::Duration;
/// let all = solo_crawl::Recrawl::default();
/// assert!(all.older_than.is_none());
/// let stale = solo_crawl::Recrawl { older_than: Some(Duration::from_secs(86_400)) };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recrawl {
    /// Only pages last fetched longer ago than this (`None`: all). The
    /// others are not requested (unless a link leads to them).
    pub older_than: Option<Duration>,
}

/// What the last pass knew of a page: kept in the state store and on the
/// request that recrawls it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Previous {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_modified: Option<String>,
    /// The links the page had (its follow requests' URLs).
    #[serde(default)]
    pub(crate) links: Vec<String>,
}

const IF_NONE_MATCH: &str = "If-None-Match";
const IF_MODIFIED_SINCE: &str = "If-Modified-Since";

/// Seconds since the Unix epoch, now.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The request that recrawls a known page: `request` as the last pass
/// made it, with the conditional headers of `previous`.
pub(crate) fn conditional<C>(mut request: Request<C>, previous: Previous) -> Request<C> {
    let headers = &mut request.extras_mut().headers;
    headers.retain(|(k, _)| !is_conditional(k));
    if let Some(etag) = &previous.etag {
        headers.push((IF_NONE_MATCH.into(), etag.clone()));
    }
    if let Some(lm) = &previous.last_modified {
        headers.push((IF_MODIFIED_SINCE.into(), lm.clone()));
    }
    request.retries = 0;
    request.set_previous(Some(Box::new(previous)));
    request
}

/// `request` as the store keeps it for the next pass: without the
/// conditional headers and what the last pass knew.
pub(crate) fn stored<C: Clone>(request: &Request<C>) -> Request<C> {
    let mut r = request.clone();
    if r.extras().headers.iter().any(|(k, _)| is_conditional(k)) {
        r.extras_mut().headers.retain(|(k, _)| !is_conditional(k));
    }
    r.set_previous(None);
    r.retries = 0;
    r
}

fn is_conditional(name: &str) -> bool {
    name.eq_ignore_ascii_case(IF_NONE_MATCH) || name.eq_ignore_ascii_case(IF_MODIFIED_SINCE)
}

/// Whether `f` answers a recrawl request with "not modified".
pub(crate) fn not_modified<C>(request: &Request<C>, f: &Fetched) -> bool {
    f.status == 304 && request.previous().is_some()
}

/// What to keep of an answer for the next pass: its validators (a 304
/// may send new ones; else the previous pass's stay), links to come.
pub(crate) fn keep(f: &Fetched, before: Option<&Previous>) -> Previous {
    let old = |pick: fn(&Previous) -> &Option<String>| before.and_then(|p| pick(p).clone());
    Previous {
        etag: f
            .header("etag")
            .map(str::to_owned)
            .or_else(|| old(|p| &p.etag)),
        last_modified: f
            .header("last-modified")
            .map(str::to_owned)
            .or_else(|| old(|p| &p.last_modified)),
        links: Vec::new(),
    }
}

/// `1d`, `12h`, `30m`, `45s` or a number of seconds.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(solo_crawl::recrawl::parse_age("1d"), Ok(Duration::from_secs(86_400)));
/// assert_eq!(solo_crawl::recrawl::parse_age("90"), Ok(Duration::from_secs(90)));
/// assert!(solo_crawl::recrawl::parse_age("soon").is_err());
/// ```
pub fn parse_age(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().last() {
        Some((i, 'd')) => (&s[..i], 86_400),
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 's')) => (&s[..i], 1),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is not an age (e.g. 1d, 12h, 30m, 45s)"))
}

/// Starts a pass over the pages `store` knows (see the module docs): the
/// (request, previous) JSON of each one `r` covers.
pub(crate) fn start_pass(
    store: &mut crate::store::Store,
    r: &Recrawl,
) -> rusqlite::Result<Vec<(String, String)>> {
    let before = match r.older_than {
        Some(age) => now_secs().saturating_sub(age.as_secs().min(i64::MAX as u64) as i64),
        None => i64::MAX,
    };
    store.start_pass(before)
}

/// The requests of a pass, with their conditional headers; an error
/// naming the database if a row does not decode.
pub(crate) fn decode_pass<C: serde::de::DeserializeOwned>(
    rows: &[(String, String)],
    db: &std::path::Path,
) -> Result<Vec<Request<C>>, String> {
    rows.iter()
        .map(|(req, prev)| {
            let request = serde_json::from_str::<Request<C>>(req);
            let previous = serde_json::from_str::<Previous>(prev);
            match (request, previous) {
                (Ok(r), Ok(p)) => Ok(conditional(r, p)),
                (Err(e), _) | (_, Err(e)) => Err(format!(
                    "state database {}: a known page does not decode ({e}); \
                     run without --recrawl, or with --state-reset to start over",
                    db.display()
                )),
            }
        })
        .collect()
}

/// The store's row for a page answered (2xx, or 304 to a recrawl), for
/// the next pass: `previous` with the URLs of `follows` as its links.
pub(crate) fn page_op<C: Clone + Serialize>(
    request: &Request<C>,
    previous: &Previous,
    follows: &[Request<C>],
) -> crate::sink::Msg {
    let mut previous = previous.clone();
    previous.links = follows.iter().map(|r| r.url.to_string()).collect();
    crate::sink::Msg::State(crate::store::Op::Page {
        fp: request.key(),
        request: serde_json::to_string(&stored(request)).unwrap_or_default(),
        previous: serde_json::to_string(&previous).unwrap_or_default(),
        at: now_secs(),
    })
}

/// Puts the recrawl request of a known page in the place of the start
/// request for the same page; the other known pages, to be queued as
/// links are (the crawl's current scope and limits apply to them).
pub(crate) fn merge_starts<C>(starts: &mut [Request<C>], pass: Vec<Request<C>>) -> Vec<Request<C>> {
    if pass.is_empty() {
        return pass;
    }
    let at: std::collections::HashMap<u64, usize> = starts
        .iter()
        .enumerate()
        .map(|(i, r)| (r.fingerprint(), i))
        .collect();
    let mut rest = Vec::with_capacity(pass.len());
    for r in pass {
        match at.get(&r.fingerprint()) {
            Some(&i) => starts[i] = r,
            None => rest.push(r),
        }
    }
    rest
}
