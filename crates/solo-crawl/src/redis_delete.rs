//! Removing one shared crawl from its Redis (`solo-crawl delete`), as
//! scrapy-redis's `SCHEDULER_PERSIST = False` (or a flush) does at the end
//! of a crawl.
//!
//! Owns: finding the crawl's keys (`SCAN` with the id's glob characters
//! escaped, so `x*` never matches another crawl's keys), refusing while
//! workers are live (unless forced), removing the keys in batches
//! (`UNLINK`) and saying what went. Must not: touch a key outside
//! `solo:{ID}:`, or ask anything (it runs in scripts).

use std::collections::BTreeMap;

use crate::redis_link::{explain, no_such_crawl, prefix, Link};

/// What [`delete_crawl`] removed: how many keys of each kind (`seen`,
/// `q`, `stats`, ...: the part of the key after the crawl's prefix, up to
/// its next `:`).
///
/// ```
/// let d = solo_crawl::Deleted::default();
/// assert_eq!(d.total(), 0);
/// assert_eq!(d.to_string(), "0 keys ()");
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Deleted {
    /// Keys removed per kind.
    pub kinds: BTreeMap<String, u64>,
}

impl Deleted {
    /// Keys removed in all.
    pub fn total(&self) -> u64 {
        self.kinds.values().sum()
    }
}

impl std::fmt::Display for Deleted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .kinds
            .iter()
            .map(|(k, n)| {
                if *n == 1 {
                    k.clone()
                } else {
                    format!("{n} {k}")
                }
            })
            .collect();
        write!(f, "{} keys ({})", self.total(), parts.join(", "))
    }
}

/// `text` as a `SCAN MATCH` pattern that matches it literally.
fn glob_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Removes every key of crawl `crawl_id` from the Redis at `url`; refused
/// while a worker's leases are live unless `force`. Blocking.
///
/// ```no_run
/// let gone = solo_crawl::delete_crawl("redis://127.0.0.1:6379/0", "news", false)?;
/// println!("removed {gone}");
/// # Ok::<(), String>(())
/// ```
pub fn delete_crawl(url: &str, crawl_id: &str, force: bool) -> Result<Deleted, String> {
    let mut link = Link::open(url)?;
    let p = prefix(crawl_id);
    let fail = |link: &Link, e: redis::RedisError| explain(&link.shown, &e);
    // A keyed command first: on Redis Cluster the link then talks to the
    // node that serves the crawl's slot, where SCAN finds its keys.
    let (exists, live): (u64, u64) = link
        .with(|con, _| {
            let exists = redis::cmd("EXISTS")
                .arg(format!("{p}settings"))
                .arg(format!("{p}stats"))
                .arg(format!("{p}layout"))
                .query(con)?;
            let (secs, micros): (u64, u64) = redis::cmd("TIME").query(con)?;
            let now = secs * 1000 + micros / 1000;
            let live = redis::cmd("ZCOUNT")
                .arg(format!("{p}workers"))
                .arg(format!("({now}"))
                .arg("+inf")
                .query(con)?;
            Ok((exists, live))
        })
        .map_err(|e| fail(&link, e))?;
    if exists == 0 {
        return Err(no_such_crawl(url, crawl_id));
    }
    if live > 0 && !force {
        return Err(format!(
            "redis {}: crawl {crawl_id:?} has {live} live worker(s): stop them first (or wait \
             for their leases to expire), or delete it with --force (workers still running \
             would start it again half empty)",
            link.shown
        ));
    }
    let pattern = format!("{}*", glob_literal(&p));
    let mut deleted = Deleted::default();
    let mut cursor: u64 = 0;
    let mut seen = std::collections::HashSet::new();
    loop {
        let (next, keys): (u64, Vec<String>) = link
            .with(|con, _| {
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query(con)
            })
            .map_err(|e| fail(&link, e))?;
        // SCAN may return a key twice: each counted once. One UNLINK per
        // batch (the crawl's keys share one hash slot, so this holds on
        // Redis Cluster too).
        let fresh: Vec<String> = keys
            .into_iter()
            .filter(|k| seen.insert(k.clone()))
            .collect();
        if !fresh.is_empty() {
            link.with(|con, _| redis::cmd("UNLINK").arg(&fresh).query::<u64>(con))
                .map_err(|e| fail(&link, e))?;
        }
        for key in &fresh {
            let rest = key.strip_prefix(&p).unwrap_or(key);
            let kind = rest.split(':').next().unwrap_or(rest).to_owned();
            *deleted.kinds.entry(kind).or_default() += 1;
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crawl_ids_glob_characters_match_only_themselves() {
        assert_eq!(glob_literal("solo:{x*}:"), "solo:{x\\*}:");
        assert_eq!(glob_literal("a?[b]\\"), "a\\?\\[b\\]\\\\");
        assert_eq!(glob_literal("plain"), "plain");
        let mut d = Deleted::default();
        d.kinds.insert("seen".into(), 3);
        d.kinds.insert("stats".into(), 1);
        assert_eq!(d.to_string(), "4 keys (3 seen, stats)");
    }
}
