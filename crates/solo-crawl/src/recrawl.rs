//! Conditional recrawls: a new pass over a finished crawl that asks each
//! server "changed since?" instead of fetching everything again.
//!
//! Owns: [`Recrawl`] (the setting: which known pages a pass requests
//! again), what the state store keeps of a page for the next pass
//! (`Previous`: its `ETag`, its `Last-Modified`, the links it had and,
//! with `--page-requisites`, its requisites), the
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
//! [`older_than`](Recrawl::older_than), is requested again with
//! `If-None-Match` and `If-Modified-Since` from its last answer (its
//! own: a redirect's next hop goes without them), or, with `--warc`,
//! unconditionally when none of the crawl's WARC files holds its
//! payload. A `304`
//! writes the page's record with `not_modified: true`, what the page
//! said then (`title`, `noindex`, `nofollow`, `canonical`) and its links from
//! the previous pass; a changed page is fetched and parsed as usual, and
//! new links on it are crawled. Records describe the pass: a page asked
//! from the state has no `redirected_from` or `referer` of an earlier
//! one. An unfinished state is resumed as it is
//! (a killed recrawl continues its pass).
//!
//! Memory: the pass is queued in the store, not in memory: the store
//! turns each known page into a spilled request (its stored request with
//! `previous` in it, in SQL), which the frontier takes back in batches
//! as it drains, like any spilled request (`restored` adds the
//! conditional headers, and the frontier applies the crawl's current
//! rules to them as to links). Their fingerprints are seen from the
//! start, so a link to a known page waits for its conditional request.
//! (Loading the whole pass first held every known page's request and
//! links at once: 231 MiB at 100,000 pages, against ~80 MiB now.)

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
    /// others are not requested, not even when a link leads to them:
    /// they are known, and fresh enough.
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
    /// Its requisites (`--page-requisites`): requested again as
    /// requisites when it answers 304.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) requisites: Vec<String>,
    /// What the page said about itself (its record's `title`, `noindex`,
    /// `nofollow` and `canonical`): an unchanged page still says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) title: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) noindex: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) nofollow: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) canonical: Option<String>,
}

const IF_NONE_MATCH: &str = "If-None-Match";
const IF_MODIFIED_SINCE: &str = "If-Modified-Since";

/// Seconds since the Unix epoch, now.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
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

/// `request` sent on to another URL (a redirect's next hop): the
/// validators are the old URL's (RFC 9110 §13.1: a validator is for
/// that resource), so the next hop goes without them and without what
/// the last pass knew of the old URL. A known target is asked with its
/// own in its own request of the pass.
pub(crate) fn for_another_url<C>(request: &mut Request<C>) {
    if request
        .extras()
        .headers
        .iter()
        .any(|(k, _)| is_conditional(k))
    {
        request
            .extras_mut()
            .headers
            .retain(|(k, _)| !is_conditional(k));
    }
    request.set_previous(None);
}

/// What a page said about itself (`title`, `noindex`, `nofollow`, `canonical`, in
/// `record`), kept with what the next pass knows of it.
pub(crate) fn remember_page<C>(request: &mut Request<C>, record: &crate::output::PageRecord) {
    if let Some(mut p) = request.take_previous() {
        p.title = record.title.clone();
        p.noindex = record.noindex;
        p.nofollow = record.nofollow;
        p.canonical = record.canonical.clone();
        request.set_previous(Some(p));
    }
}

/// A `304`'s record: the page is as the last pass read it, so it says
/// what the page said then (and the next pass keeps it again, in `kept`).
pub(crate) fn unchanged_page(
    before: &Previous,
    kept: &mut Previous,
    record: &mut crate::output::PageRecord,
) {
    kept.title = before.title.clone();
    kept.noindex = before.noindex;
    kept.nofollow = before.nofollow;
    kept.canonical = before.canonical.clone();
    record.title = before.title.clone();
    record.noindex = before.noindex;
    record.nofollow = before.nofollow;
    record.canonical = before.canonical.clone();
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
        ..Previous::default()
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

/// `age` as [`parse_age`] reads it, in its largest whole unit.
pub(crate) fn show_age(age: Duration) -> String {
    let s = age.as_secs();
    match s {
        0 => "0s".to_owned(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Starts a pass over the pages `store` knows (see the module docs): the
/// ones `r` covers are queued in the store, as spilled requests; how
/// many. With `archiving` (`--warc`), a page whose payload is in none of
/// the crawl's WARC files is asked without validators (see
/// [`Store::start_pass`](crate::store::Store::start_pass)).
pub(crate) fn start_pass(
    store: &mut crate::store::Store,
    r: &Recrawl,
    archiving: bool,
) -> rusqlite::Result<u64> {
    let before = match r.older_than {
        Some(age) => now_secs().saturating_sub(age.as_secs().min(i64::MAX as u64) as i64),
        None => i64::MAX,
    };
    store.start_pass(before, archiving)
}

/// The store's row for a page answered (2xx, or 304 to a recrawl), for
/// the next pass: `previous` with the URLs of `follows` as its links.
pub(crate) fn page_op<C: Clone + Serialize>(
    request: &Request<C>,
    previous: &Previous,
    follows: &[Request<C>],
) -> crate::sink::Msg {
    let mut previous = previous.clone();
    let (requisites, links): (Vec<_>, Vec<_>) =
        follows.iter().partition(|r| r.extras().requisite > 0);
    previous.links = links.iter().map(|r| r.url.to_string()).collect();
    previous.requisites = requisites.iter().map(|r| r.url.to_string()).collect();
    crate::sink::Msg::State(crate::store::Op::Page {
        fp: request.key(),
        request: serde_json::to_string(&stored(request)).unwrap_or_default(),
        previous: serde_json::to_string(&previous).unwrap_or_default(),
        at: now_secs(),
    })
}

/// A request read back from the store: a known page of a pass (one with
/// what the last pass knew, as [`Store::start_pass`] queued it) gets its
/// `If-None-Match` and `If-Modified-Since` headers, and loses the last
/// pass's provenance: the pass asks it from the state, not through the
/// redirect or the page that led to it then (a requisite keeps its page
/// as its referer: that is what it is fetched for).
///
/// [`Store::start_pass`]: crate::store::Store::start_pass
pub(crate) fn restored<C>(mut request: Request<C>) -> Request<C> {
    let Some(previous) = request.previous() else {
        return request;
    };
    let conditions: Vec<(String, String)> = [
        (IF_NONE_MATCH, &previous.etag),
        (IF_MODIFIED_SINCE, &previous.last_modified),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_owned(), v.clone()?)))
    .collect();
    let x = request.extras_mut();
    x.headers.retain(|(k, _)| !is_conditional(k));
    x.headers.extend(conditions);
    x.redirected_from.clear();
    if x.requisite == 0 {
        request.referer = None;
    }
    request
}
