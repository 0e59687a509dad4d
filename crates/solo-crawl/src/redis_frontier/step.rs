//! One step on the wire: what a worker sends the frontier script and
//! reads from its reply.
//!
//! Owns: a queued request's entry (its rank, then its JSON), a step's
//! arguments in one buffer (the outbox, the crawl's settings, what the
//! worker wants), and the parts of a reply besides the leases: this
//! worker's step count (a Redis that went back to an earlier state), its
//! leases taken back, queued requests found gone, and the other workers'
//! cookie changes. Must not: talk to Redis (the `drive` task does) or
//! order anything itself (the script does).

use std::collections::HashSet;

use super::{Load, Outbox, Params, Remote, Reset};

/// The length of a queue entry's RANK (see [`queue_entry`]).
const RANK_LEN: usize = 13;

/// `req` as the script queues it: RANK (13 hex digits that sort the
/// highest priority first, then the shallowest) then its JSON. The script
/// keeps one list per host and rank, oldest first, and leases from the
/// lowest rank: so a host's queue in Redis is in the order of the
/// in-process frontier's.
pub(crate) fn queue_entry<C: serde::Serialize>(req: &crate::Request<C>) -> String {
    let rank = (i64::from(i32::MAX) - i64::from(req.priority)) as u32;
    let mut buf = format!("{rank:08x}{:05x}", req.depth.min(0xf_ffff)).into_bytes();
    if serde_json::to_writer(&mut buf, req).is_err() {
        buf.truncate(RANK_LEN);
    }
    // serde_json writes UTF-8 only.
    String::from_utf8(buf).unwrap_or_default()
}

/// A leased request's JSON as the reply has it (not UTF-8: made so, and
/// then it does not decode and its lease is dropped).
pub(super) fn reply_json(json: Vec<u8>) -> String {
    String::from_utf8(json).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A [`queue_entry`] split into its RANK and its JSON (an entry too short
/// to have both: what it has).
fn rank_json(entry: &str) -> (&[u8], &[u8]) {
    let b = entry.as_bytes();
    b.split_at(b.len().min(RANK_LEN))
}

/// A step's arguments (the script's ARGV after the prefix), one buffer
/// for all of them: a step carries ~4 per page, and one allocation each
/// showed in the worker's profile.
#[derive(Debug, Default)]
pub(crate) struct StepArgs {
    buf: Vec<u8>,
    /// Where each argument ends in `buf`.
    ends: Vec<usize>,
}

impl StepArgs {
    fn with_capacity(n: usize) -> StepArgs {
        StepArgs {
            buf: Vec::with_capacity(n * 16),
            ends: Vec::with_capacity(n),
        }
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
        self.ends.push(self.buf.len());
    }

    fn num(&mut self, n: u64) {
        self.bytes(itoa::Buffer::new().format(n).as_bytes());
    }

    /// A key: `prefix`, `name`, then `n` in hex.
    fn key_hex(&mut self, prefix: &str, name: &str, n: u64) {
        use std::io::Write;
        let _ = write!(self.buf, "{prefix}{name}{n:x}");
        self.ends.push(self.buf.len());
    }

    /// The arguments in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(a, b)| &self.buf[a..b])
    }
}

/// What a step tells the script besides the outbox.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct StepFlags {
    /// The last reply may be lost with leases in it: the leases this
    /// worker does not hold go back.
    pub(super) keep: bool,
    /// A step of this worker found the crawl: if its keys are gone now,
    /// the crawl was lost (the script says so instead of starting an
    /// empty one under the same id).
    pub(super) joined: bool,
}

impl Remote {
    /// The script's ARGV (after the prefix) for `o`, of the crawl whose
    /// keys start with `prefix`.
    pub(super) fn args(
        &self,
        (prefix, worker): (&str, &str),
        p: &Params,
        o: &Outbox,
        want: usize,
        step: StepFlags,
    ) -> StepArgs {
        let mut a = StepArgs::with_capacity(16 + o.adds.len() * 3 + o.acks.len());
        a.bytes(worker.as_bytes());
        a.num(p.per_host as u64);
        a.num(p.delay.as_millis() as u64);
        a.num(p.lease.as_millis() as u64);
        a.num(p.max_pages.unwrap_or(0));
        a.num(want as u64);
        a.num(u64::from(p.backoff));
        match &p.autothrottle {
            Some(t) => {
                a.bytes(t.target_concurrency.to_string().as_bytes());
                a.num(t.start_delay.as_millis() as u64);
                a.num(t.max_delay.as_millis() as u64);
            }
            None => {
                a.bytes(b"");
                a.num(0);
                a.num(0);
            }
        }
        a.num(u64::from(p.jitter));
        a.num(u64::from(p.obey_robots));
        a.num(u64::from(step.joined));
        // The adds by host and rank (each group in order), a URL once: a
        // repeat would find the first's SADD done (see frontier.lua).
        type Group<'a> = (&'a str, &'a [u8], Vec<(Option<u64>, &'a [u8])>);
        let mut groups: Vec<Group> = Vec::new();
        {
            let mut at: std::collections::HashMap<(&str, &[u8]), usize> = Default::default();
            let mut fps: HashSet<u64> = HashSet::with_capacity(o.adds.len());
            for (fp, host, entry) in &o.adds {
                if fp.is_some_and(|f| !fps.insert(f)) {
                    continue;
                }
                let (rank, json) = rank_json(entry);
                let i = *at.entry((host, rank)).or_insert_with(|| {
                    groups.push((host, rank, Vec::new()));
                    groups.len() - 1
                });
                groups[i].2.push((*fp, json));
            }
        }
        a.num(groups.len() as u64);
        for (host, rank, adds) in &groups {
            a.bytes(host.as_bytes());
            a.bytes(rank);
            a.num(adds.len() as u64);
            for (fp, json) in adds {
                // The seen bucket (top 16 bits) and member (low 48 bits,
                // an integer: the bucket is an intset, 8 bytes per URL);
                // see frontier.lua.
                match fp {
                    Some(f) => {
                        a.key_hex(prefix, "seen:", f >> 48);
                        a.num(f & 0xffff_ffff_ffff);
                    }
                    None => {
                        a.bytes(b"");
                        a.bytes(b"");
                    }
                }
                a.bytes(json);
            }
        }
        // The answers: one line per host, its answers in order, and
        // whether any is an overload.
        let mut overload = false;
        let mut load = String::new();
        if p.backoff || p.autothrottle.is_some() {
            let mut lines: Vec<(&str, String)> = Vec::new();
            let mut at: std::collections::HashMap<&str, usize> = Default::default();
            for (host, answer) in &o.load {
                let i = *at.entry(host).or_insert_with(|| {
                    lines.push((host, String::new()));
                    lines.len() - 1
                });
                overload |= answer.load == Load::Shed;
                answer.encode(&mut lines[i].1);
            }
            for (host, answers) in lines {
                load.push_str(host);
                load.push(' ');
                load.push_str(&answers);
                load.push('\n');
            }
        }
        a.num(u64::from(overload));
        a.bytes(load.as_bytes());
        for list in [&o.acks, &o.drops, &o.releases] {
            a.num(list.len() as u64);
            for id in list {
                a.num(*id);
            }
        }
        a.num(o.tries.len() as u64);
        for (id, host, wait, json) in &o.tries {
            a.num(*id);
            a.bytes(host.as_bytes());
            a.num(*wait);
            a.bytes(json.as_bytes());
        }
        a.num(o.hosts.len() as u64);
        for (host, cd, pause) in &o.hosts {
            a.bytes(host.as_bytes());
            a.num(*cd);
            a.num(*pause);
        }
        let keep = step.keep;
        a.num(u64::from(keep));
        let held = self.held.borrow();
        a.num(if keep { held.len() as u64 } else { 0 });
        if keep {
            for id in held.iter() {
                a.num(*id);
            }
        }
        for d in [o.pages, o.errors, o.items, o.retries, o.seeds_ok] {
            a.bytes(itoa::Buffer::new().format(d).as_bytes());
        }
        a.num(o.seeds_failed.len() as u64);
        for why in &o.seeds_failed {
            a.bytes(why.as_bytes());
        }
        a.num(u64::from(o.bye));
        a.num(self.cookie_cursor.get());
        a.num(o.cookies.len() as u64);
        for (key, state) in &o.cookies {
            a.bytes(key.as_bytes());
            // "": deleted (a state is a JSON object).
            a.bytes(state.as_deref().unwrap_or("").as_bytes());
        }
        a
    }
}

impl Remote {
    /// What a step's reply says besides the leases: this worker's step
    /// count `gen` (not above the last one: Redis went back to an earlier
    /// state), whether its leases had been taken back, how many queued
    /// requests were found gone. Said once each; whether the engine must
    /// reset its leases.
    pub(super) fn news(
        &self,
        shown: &str,
        params: &Params,
        gen: u64,
        reclaimed: bool,
        lost: u64,
    ) -> bool {
        // 0: no count (the goodbye's step ends it).
        let last = match gen {
            0 => 0,
            _ => self.last_gen.replace(gen),
        };
        let reset = if last > 0 && gen <= last {
            crate::logs::message(format_args!(
                "solo-crawl: redis {shown} went back to an earlier state (restarted from an RDB \
                 snapshot, failed over to a replica that lagged, or restored from a backup): \
                 what the crawl did since then is lost there, so those pages are fetched again; \
                 this worker gives back the requests it had not started and forgets the URLs \
                 it had seen, so their links are queued again (with appendonly yes a restart \
                 loses nothing)\n"
            ));
            Some(Reset::RolledBack)
        } else if reclaimed {
            crate::logs::message(format_args!(
                "solo-crawl: this worker was silent longer than --lease-timeout ({:?}: stopped, \
                 cut off, or redis {shown} unreachable) and its leases went to the other \
                 workers: it gives up the requests it had not started (those in flight finish, \
                 and may be fetched twice)\n",
                params.lease
            ));
            Some(Reset::Reclaimed)
        } else {
            None
        };
        if lost > 0 {
            crate::logs::message(format_args!(
                "solo-crawl: redis {shown}: {lost} requests counted as queued are gone from \
                 Redis (their keys were deleted, or evicted: its maxmemory-policy must be \
                 noeviction); the crawl ends without them\n"
            ));
        }
        if let Some(r) = reset {
            // A rollback outranks a reclaim (it also forgets the seen URLs).
            let r = match self.reset.get() {
                Some(Reset::RolledBack) => Reset::RolledBack,
                _ => r,
            };
            self.reset.set(Some(r));
        }
        reset.is_some()
    }

    /// Reads the reply's cookie section (cursor, count, then key and
    /// state of each: see frontier.lua) into the jars.
    pub(super) fn take_cookies(
        &self,
        it: &mut impl Iterator<Item = Vec<u8>>,
        cookie: &dyn Fn(&str, Option<&str>),
    ) {
        let cursor = reply_num(it.next().as_deref());
        let n = reply_num(it.next().as_deref());
        for _ in 0..n {
            let (Some(key), Some(state)) = (it.next(), it.next()) else {
                break;
            };
            let key = String::from_utf8_lossy(&key);
            let state = String::from_utf8_lossy(&state);
            cookie(&key, (!state.is_empty()).then_some(&*state));
        }
        if cursor > self.cookie_cursor.get() {
            self.cookie_cursor.set(cursor);
        }
    }
}

/// A number of the script's reply (0 if it is not one).
pub(super) fn reply_num(v: Option<&[u8]>) -> u64 {
    v.and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Request;

    fn req(path: &str, priority: i32, depth: u32) -> Request<()> {
        let mut r = Request::new(url::Url::parse(path).unwrap(), ()).with_priority(priority);
        r.depth = depth;
        r
    }

    #[test]
    fn queue_ranks_sort_like_the_in_process_frontier() {
        // Highest priority first, then shallowest (the script keeps each
        // rank's requests oldest first).
        let order = [
            ("http://h/a", i32::MAX, 9),
            ("http://h/b", 5, 0),
            ("http://h/c", 0, 0),
            ("http://h/d", 0, 3),
            ("http://h/e", -1, 0),
            ("http://h/f", i32::MIN, 0),
        ];
        let mut entries: Vec<String> = order
            .iter()
            .rev()
            .map(|(u, p, d)| queue_entry(&req(u, *p, *d)))
            .collect();
        assert!(entries.iter().all(|e| e.as_bytes()[RANK_LEN] == b'{'));
        entries.sort_by(|a, b| a[..RANK_LEN].cmp(&b[..RANK_LEN]));
        let urls: Vec<String> = entries
            .iter()
            .map(|e| {
                let (rank, json) = rank_json(e);
                assert_eq!(rank.len(), RANK_LEN);
                let r: Request<()> = serde_json::from_str(&reply_json(json.to_vec())).unwrap();
                r.url.to_string()
            })
            .collect();
        let want: Vec<String> = order.iter().map(|(u, _, _)| u.to_string()).collect();
        assert_eq!(urls, want);
        // Not an entry: no JSON, no panic.
        assert_eq!(rank_json("short"), (&b"short"[..], &b""[..]));
        assert_eq!(reply_json(b"\xff{".to_vec()), "\u{fffd}{");
    }
}
