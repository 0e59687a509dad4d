//! One agent's rules in a robots.txt: parsed as RFC 9309 says, matched
//! without regular expressions.
//!
//! Owns: reading a robots.txt's lines ([`parse`]: `User-agent` groups,
//! `Allow`, `Disallow`, `Crawl-delay`, `Sitemap`, the misspellings real
//! files use), choosing the groups that apply to an agent, and deciding
//! a path ([`Rules::allowed`]: the longest matching rule wins, `Allow`
//! wins a tie; `*` matches any run of bytes, a final `$` the end).
//! Must not: fetch, or know what the crawl does with a robots.txt it
//! could not have (the parent module decides).
//!
//! ## Why not `texting_robots`
//!
//! The crate this replaced compiled every rule with a `$` into a regular
//! expression and kept them all: a 526 KiB robots.txt of 25,000 such
//! rules took ~8 s of the loop thread (every host of the crawl waited)
//! and ~350 MiB, and a 2 MiB one 12.8 s and 1.1 GiB. Here a rule is its
//! bytes: the same file parses in milliseconds into about its own size,
//! and a path is matched against a rule with `*` by the usual two-pointer
//! glob match (back to the last `*` on a mismatch), at most the product
//! of the two lengths and usually their sum. Google's `robotstxt` port
//! reads the whole file again for every URL asked about.

use std::borrow::Cow;

/// The most of a robots.txt read (RFC 9309 §2.5: at least 500 KiB must
/// be; what is past the limit may be ignored). Rules past it are not
/// read; the last line cut by the limit is dropped.
pub const MAX_PARSED: usize = 512 << 10;

/// The rules of a robots.txt that apply to one agent.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// Longest pattern first, `Allow` before `Disallow` at equal length:
    /// the first rule that matches decides.
    rules: Vec<Rule>,
    /// The first `Crawl-delay` of the agent's groups, in seconds.
    delay: Option<f32>,
}

#[derive(Clone, Debug)]
struct Rule {
    /// In the comparison form (see the parent module), non-ASCII bytes
    /// percent-encoded; runs of `*` made one.
    pattern: Box<[u8]>,
    allow: bool,
}

/// What a line of robots.txt says.
#[derive(Clone, Copy)]
enum Line<'a> {
    Agent(&'a [u8]),
    Allow(&'a [u8]),
    Disallow(&'a [u8]),
    Delay(&'a [u8]),
    Sitemap(&'a [u8]),
    Other,
}

impl Rules {
    /// Whether `path` (path and query, in the comparison form) may be
    /// fetched. `/robots.txt` always may.
    pub fn allowed(&self, path: &[u8]) -> bool {
        if path == b"/robots.txt" {
            return true;
        }
        self.rules
            .iter()
            .find(|r| matches(&r.pattern, path))
            .is_none_or(|r| r.allow)
    }

    /// The `Crawl-delay` given to the agent, in seconds, as written.
    pub fn delay(&self) -> Option<f32> {
        self.delay
    }

    /// How many rules apply to the agent.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.rules.len()
    }
}

/// The rules of `body` for `agent` (a product token, matched without
/// regard to case): those of every group that names it, or else of
/// every `*` group, or else none. A file without any `User-agent` line
/// applies its rules to all. Only the first [`MAX_PARSED`] bytes are read.
pub fn parse(agent: &str, body: &[u8]) -> Rules {
    let mut ours = Vec::new();
    let mut star = Vec::new();
    let mut ungrouped = Vec::new();
    let (mut ours_delay, mut star_delay, mut ungrouped_delay) = (None, None, None);
    let (mut named, mut any_agent) = (false, false);
    // The group being read: whether it names our agent, or `*`.
    let (mut for_us, mut for_all) = (false, false);
    let mut in_agents = false;
    for line in lines(body) {
        let into = match line {
            Line::Agent(value) => {
                if !in_agents {
                    (for_us, for_all) = (false, false);
                }
                in_agents = true;
                any_agent = true;
                let token = product_token(value);
                if token.eq_ignore_ascii_case(agent.as_bytes()) && !token.is_empty() {
                    for_us = true;
                    named = true;
                }
                for_all |= value.starts_with(b"*");
                continue;
            }
            Line::Sitemap(_) | Line::Other => continue,
            Line::Allow(v) => Some((v, true)),
            Line::Disallow(v) => Some((v, false)),
            Line::Delay(_) => None,
        };
        in_agents = false;
        let targets: [(&mut Vec<Rule>, &mut Option<f32>, bool); 3] = [
            (&mut ours, &mut ours_delay, for_us),
            (&mut star, &mut star_delay, for_all),
            (&mut ungrouped, &mut ungrouped_delay, !any_agent),
        ];
        for (rules, delay, applies) in targets {
            if !applies {
                continue;
            }
            match (into, &line) {
                (Some((value, allow)), _) => {
                    if let Some(pattern) = pattern(value) {
                        rules.push(Rule { pattern, allow });
                    }
                }
                (None, Line::Delay(value)) if delay.is_none() => {
                    *delay = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
                }
                _ => {}
            }
        }
    }
    let (mut rules, delay) = match (named, any_agent) {
        (true, _) => (ours, ours_delay),
        (false, true) => (star, star_delay),
        (false, false) => (ungrouped, ungrouped_delay),
    };
    rules.sort_by(|a, b| (b.pattern.len().cmp(&a.pattern.len())).then(b.allow.cmp(&a.allow)));
    Rules { rules, delay }
}

/// The `Sitemap:` URLs of `body`, as written (any group, or none).
pub fn sitemaps(body: &[u8]) -> Vec<String> {
    lines(body)
        .filter_map(|l| match l {
            Line::Sitemap(v) if !v.is_empty() => Some(String::from_utf8_lossy(v).into_owned()),
            _ => None,
        })
        .collect()
}

/// The lines of the first [`MAX_PARSED`] bytes of `body` (a line cut by
/// the limit dropped; a UTF-8 BOM skipped; CR, LF, CRLF and NUL end lines),
/// comments removed.
fn lines(body: &[u8]) -> impl Iterator<Item = Line<'_>> {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let body = match body.len() > MAX_PARSED {
        true => {
            let head = &body[..MAX_PARSED];
            let end = head.iter().rposition(|&b| matches!(b, b'\n' | b'\r'));
            &head[..end.unwrap_or(0)]
        }
        false => body,
    };
    body.split(|&b| matches!(b, b'\n' | b'\r' | 0)).map(|line| {
        let line = match line.iter().position(|&b| b == b'#') {
            Some(hash) => &line[..hash],
            None => line,
        };
        read_line(line.trim_ascii())
    })
}

/// One line, its comment removed and trimmed: `key: value` (or `key
/// value`, as some files write it).
fn read_line(line: &[u8]) -> Line<'_> {
    let (key, value) = match line.iter().position(|&b| b == b':') {
        Some(colon) => (&line[..colon], &line[colon + 1..]),
        None => match line.iter().position(u8::is_ascii_whitespace) {
            Some(space) => (&line[..space], &line[space..]),
            None => return Line::Other,
        },
    };
    let value = value.trim_ascii();
    let key = key.trim_ascii().to_ascii_lowercase();
    match key.as_slice() {
        b"user-agent" | b"useragent" | b"user agent" => Line::Agent(value),
        b"allow" => Line::Allow(value),
        b"disallow" | b"dissallow" | b"dissalow" | b"disalow" | b"diasllow" | b"disallaw" => {
            Line::Disallow(value)
        }
        b"crawl-delay" | b"crawldelay" | b"crawl delay" => Line::Delay(value),
        b"sitemap" | b"site-map" | b"site map" => Line::Sitemap(value),
        _ => Line::Other,
    }
}

/// The product token a `User-agent` value names: its leading letters,
/// `-` and `_` (`Googlebot/2.1` names `Googlebot`, as Google reads it).
fn product_token(value: &[u8]) -> &[u8] {
    let end = value
        .iter()
        .position(|&b| !(b.is_ascii_alphabetic() || b == b'-' || b == b'_'))
        .unwrap_or(value.len());
    &value[..end]
}

/// A rule's path as it is compared, or `None` for an empty one (an empty
/// `Disallow` allows all; an empty `Allow` says nothing).
fn pattern(value: &[u8]) -> Option<Box<[u8]>> {
    if value.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        match b {
            b'*' if out.last() == Some(&b'*') => {}
            0x80.. | b' ' => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.extend([b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
            _ => out.push(b),
        }
    }
    Some(match super::comparison_form(&out) {
        Cow::Borrowed(_) => out.into_boxed_slice(),
        Cow::Owned(v) => v.into_boxed_slice(),
    })
}

/// Whether `pattern` matches the start of `path` (all of it, when the
/// pattern ends in `$`), each `*` standing for any run of bytes.
fn matches(pattern: &[u8], path: &[u8]) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix(b"$") {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    if !pattern.contains(&b'*') {
        return match anchored {
            true => path == pattern,
            false => path.starts_with(pattern),
        };
    }
    let (mut p, mut s) = (0, 0);
    // The last `*` seen, and where in `path` its run ends so far.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p == pattern.len() && (!anchored || s == path.len()) {
            return true;
        }
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, s));
            p += 1;
        } else if p < pattern.len() && s < path.len() && pattern[p] == path[s] {
            p += 1;
            s += 1;
        } else {
            // Let the last `*` take one more byte, and try again after it.
            match star {
                Some((at, run)) if run < path.len() => {
                    star = Some((at, run + 1));
                    (p, s) = (at + 1, run + 1);
                }
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests;
