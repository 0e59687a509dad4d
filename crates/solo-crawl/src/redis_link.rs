//! The connection to the Redis of a shared crawl (blocking; it runs on a
//! helper thread, see [`redis_frontier`](crate::redis_frontier)).
//!
//! Owns: opening the connection from a `redis://` or `rediss://` (TLS)
//! URL and saying what is wrong in one sentence with what to do (bad URL,
//! refused, wrong or missing password, Redis too old, a replica, out of
//! memory, a permission the user lacks), loading the frontier's Lua script (again after a restart), one
//! frontier step (`EVALSHA`), the crawl's stored settings and the numbers
//! `solo-crawl status` prints. Must not: run on the crawl's loop thread,
//! or know what the requests in the queues mean.
//!
//! Why redis-rs's blocking connection on a helper thread rather than an
//! async client on solo's sockets: redis-rs is the well-kept client (URL
//! parsing, AUTH/ACL users, databases, RESP errors), but its async
//! connection wants tokio or async-std. The frontier batches its work —
//! one `EVALSHA` per round trip carries every lease, acknowledgement and
//! new request since the last one — so a round trip costs one thread
//! hand-off, not one per page, and the loop never waits on Redis.

use std::time::Duration;

use redis::{Connection, ConnectionAddr, ErrorKind, RedisError};
use url::Url;

use crate::secrets::{redact_text, redact_url};

/// The frontier's one script (see its header for the key layout).
const SCRIPT: &str = include_str!("redis/frontier.lua");

/// The key prefix of crawl `id`: one hash tag, so that on Redis Cluster
/// every key of a crawl is in one slot (a script may only touch one).
pub(crate) fn prefix(id: &str) -> String {
    format!("solo:{{{id}}}:")
}

/// Redirects followed for one command before giving up (a cluster whose
/// nodes disagree on who serves the crawl's slot).
const MAX_REDIRECTS: usize = 5;

/// A connection to one Redis, reopened after a failure.
///
/// On Redis Cluster the crawl's keys live in one slot (see [`prefix`]):
/// a node that does not serve it answers `MOVED`, and the link moves to
/// the node named there (back to the URL's node if that one fails, which
/// then names the slot's new owner). While the slot migrates (`ASK`,
/// `TRYAGAIN`) the frontier pauses and retries, as for any Redis trouble:
/// a step touches many keys of the slot, and half of them on each node
/// cannot be one atomic step.
pub(crate) struct Link {
    /// The node of the user's URL.
    seed: redis::Client,
    /// The node the link talks to: `seed`, or where a `MOVED` sent it.
    client: redis::Client,
    /// The address a `MOVED` sent it to (`HOST:PORT`), while it talks to
    /// that node.
    node: Option<String>,
    /// The node (not the URL's) that the last failure happened at: the
    /// owner of the crawl's slot on a Redis Cluster, for messages.
    failed_at: Option<String>,
    con: Option<Connection>,
    sha: String,
    /// The URL, password masked, for messages.
    pub(crate) shown: String,
    /// What the server said of itself when the link opened.
    pub(crate) server: crate::redis_server::Server,
}

/// The URL with its password masked, in the userinfo or the query's
/// `pass=` / `password=` (or as typed, if it does not parse).
pub(crate) fn shown_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => redact_text(&redact_url(&u)).into_owned(),
        Err(_) => redact_text(url).into_owned(),
    }
}

/// A sentence for `e`, a failure talking to the Redis at `shown`.
pub(crate) fn explain(shown: &str, e: &RedisError) -> String {
    let code = e.code().unwrap_or_default();
    let what = if e.is_connection_refusal() {
        "connection refused: is redis-server running there?".to_owned()
    } else if e.kind() == ErrorKind::AuthenticationFailed
        || code == "WRONGPASS"
        || code == "NOAUTH"
        || e.detail()
            .is_some_and(|d| d.contains("Authentication required"))
        || e.to_string().contains("unauthenticated")
    {
        format!("authentication failed ({e}): put the right user and password in the URL, like redis://USER:PASSWORD@HOST:PORT/DB")
    } else if e.is_timeout() {
        format!("no answer in time ({e})")
    } else if code == "OOM" {
        "Redis is at its maxmemory and refuses writes (OOM): raise maxmemory there (CONFIG SET maxmemory, and in redis.conf) or free memory, then `solo-crawl worker --redis URL --crawl-id ID` takes the crawl up where it stopped (the leases of workers that stopped come back after --lease-timeout)".to_owned()
    } else if code == "READONLY" {
        "this is a read-only replica (or a primary demoted by a failover): point --redis at the primary".to_owned()
    } else if code == "NOPERM" {
        format!("the Redis user lacks a permission the crawl needs ({e}): give it the ACL in docs/distributed.md (\"Redis users\")")
    } else if e.kind() == ErrorKind::InvalidClientConfig && shown.starts_with("rediss") {
        format!("cannot connect with TLS ({e})")
    } else if e.kind() == ErrorKind::InvalidClientConfig {
        format!("not a Redis URL ({e}): use redis://[USER:PASSWORD@]HOST[:PORT][/DB]")
    } else if e.kind() == ErrorKind::ParseError {
        "its answer is not Redis's protocol: is a Redis server listening at that host and port (not a web server, or Redis behind TLS: rediss://)?".to_owned()
    } else {
        e.to_string()
    };
    format!("redis {shown}: {what}")
}

/// [`explain`] for a connection that could not open, with what TLS may
/// have to do with it: a certificate not trusted (`rediss://`), or the
/// URL's scheme not the port's (TLS or plain).
fn explain_open(shown: &str, e: &RedisError) -> String {
    let said = explain(shown, e);
    let text = e.to_string();
    let tls = shown.starts_with("rediss");
    if tls && text.contains("CaUsedAsEndEntity") {
        format!("{said}: the server's certificate is a CA certificate (basicConstraints CA:TRUE, what `openssl req -x509` makes by default), which TLS does not accept as a server's own, trusted or not: have that CA sign a certificate for the server (CA:FALSE) and give redis-server that one")
    } else if tls && text.contains("Fetch certs") {
        format!("{said}: the CA certificates to trust could not be read; SSL_CERT_FILE, if set, must name a PEM file of them")
    } else if tls
        && ["certificate", "UnknownIssuer"]
            .iter()
            .any(|w| text.contains(w))
    {
        format!("{said}: the server's certificate is not trusted here; give its CA (a PEM file) in SSL_CERT_FILE, or add it to the system's trust store")
    } else if tls && (e.is_io_error() || e.is_timeout()) {
        format!("{said}; is that Redis's TLS port (--tls-port)? its plain port takes redis://")
    } else if !tls && e.is_io_error() && !e.is_connection_refusal() {
        format!("{said}; if that port speaks TLS, use rediss://")
    } else {
        said
    }
}

/// Whether `e` may go away by itself (Redis restarting, loading, the
/// network): the crawl waits then, instead of stopping.
pub(crate) fn transient(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_connection_dropped()
        || matches!(
            e.code(),
            Some(
                "LOADING"
                    | "BUSY"
                    | "MASTERDOWN"
                    | "TRYAGAIN"
                    | "NOSCRIPT"
                    | "READONLY"
                    | "CLUSTERDOWN"
                    | "ASK"
            )
        )
}

impl Link {
    /// The Redis to name in a message about the last failure: the URL, and
    /// on a Redis Cluster the node it failed at, if not the URL's (the
    /// owner of the crawl's slot, reached through it).
    pub(crate) fn failed_where(&self) -> String {
        match &self.failed_at {
            Some(addr) => format!(
                "{} (cluster node {addr}, which holds the crawl's slot)",
                self.shown
            ),
            None => self.shown.clone(),
        }
    }

    /// Opens a connection to `url` and checks the server (version, not a
    /// replica): a sentence naming the URL and what to do if that fails.
    pub(crate) fn open(url: &str) -> Result<Link, String> {
        let shown = shown_url(url);
        let client = redis::Client::open(url).map_err(|e| explain(&shown, &e))?;
        let mut link = Link {
            seed: client.clone(),
            client,
            node: None,
            failed_at: None,
            con: None,
            sha: String::new(),
            shown,
            server: Default::default(),
        };
        if let Err(e) = link.connect() {
            return Err(explain_open(&link.shown, &e));
        }
        let con = link.con.as_mut().expect("connected");
        link.server =
            crate::redis_server::Server::read(con).map_err(|e| explain(&link.shown, &e))?;
        link.server
            .check()
            .map_err(|why| format!("redis {}: {why}", link.shown))?;
        Ok(link)
    }

    /// Opens a link to crawl through: [`open`](Link::open), refused if
    /// the server may evict the crawl's keys; and a note to print if
    /// whether it may is unknown.
    pub(crate) fn open_to_crawl(url: &str) -> Result<(Link, Option<String>), String> {
        let link = Link::open(url)?;
        let note = link
            .server
            .eviction()
            .map_err(|why| format!("redis {}: {why}", link.shown))?
            .map(|n| format!("redis {}: {n}", link.shown));
        Ok((link, note))
    }

    fn connect(&mut self) -> Result<(), RedisError> {
        if self.con.is_none() {
            let con = self
                .client
                .get_connection_with_timeout(Duration::from_secs(5))?;
            con.set_read_timeout(Some(Duration::from_secs(30)))?;
            con.set_write_timeout(Some(Duration::from_secs(30)))?;
            // A small command first: a Redis that wants a password
            // answers it NOAUTH, while the script's bulk is cut off
            // unread ("Protocol error: unauthenticated bulk length").
            let mut con = con;
            redis::cmd("PING").query::<()>(&mut con)?;
            self.con = Some(con);
            self.sha.clear();
        }
        let con = self.con.as_mut().expect("just set");
        if self.sha.is_empty() {
            self.sha = redis::cmd("SCRIPT").arg("LOAD").arg(SCRIPT).query(con)?;
        }
        Ok(())
    }

    /// Runs `f` on the connection, reopening it first if a failure
    /// closed it, following cluster redirects; a failure that may go
    /// away closes it.
    pub(crate) fn with<T>(
        &mut self,
        mut f: impl FnMut(&mut Connection, &str) -> Result<T, RedisError>,
    ) -> Result<T, RedisError> {
        let mut redirects = 0;
        loop {
            let r = match self.connect() {
                Ok(()) => f(self.con.as_mut().expect("connected"), &self.sha),
                Err(e) => Err(e),
            };
            let Err(e) = &r else { return r };
            let to = (e.kind() == ErrorKind::Moved)
                .then(|| e.redirect_node().map(|(addr, _)| addr.to_owned()))
                .flatten();
            match to {
                Some(addr) if redirects < MAX_REDIRECTS => {
                    redirects += 1;
                    self.client = node(&self.seed, &addr)?;
                    self.node = Some(addr);
                    self.con = None;
                }
                _ => {
                    self.failed_at = self.node.clone();
                    if transient(e) {
                        self.con = None;
                        // The node a MOVED named may be gone for good
                        // (failed over): the URL's node names the next.
                        self.client = self.seed.clone();
                        self.node = None;
                    }
                    return r;
                }
            }
        }
    }

    /// One frontier step of crawl `prefix` (the script's ARGV after the
    /// prefix); its reply.
    pub(crate) fn step(
        &mut self,
        prefix: &str,
        args: &crate::redis_frontier::StepArgs,
    ) -> Result<Vec<Vec<u8>>, RedisError> {
        let seen = format!("{prefix}seen");
        self.with(|con, sha| {
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(sha).arg(1).arg(&seen).arg(prefix);
            for a in args.iter() {
                cmd.arg(a);
            }
            cmd.query(con)
        })
    }

    /// Waits up to `timeout` for news for hungry `worker` of crawl
    /// `prefix` (a step of another worker freed a slot or queued work);
    /// whether there was any.
    pub(crate) fn wait_wake(
        &mut self,
        prefix: &str,
        worker: &str,
        timeout: std::time::Duration,
    ) -> Result<bool, RedisError> {
        let key = format!("{prefix}wake:{worker}");
        self.with(|con, _| {
            let got: Option<(String, String)> = redis::cmd("BLPOP")
                .arg(&key)
                .arg(timeout.as_secs_f64())
                .query(con)?;
            Ok(got.is_some())
        })
    }

    /// The robots.txt answer of `host` stored by a worker:
    /// `Some((status, body))`, status 0 for a failed fetch; or `None`, and
    /// then this worker is to fetch it if it gets the claim (which expires
    /// after `claim`, in case its worker dies; it goes sooner with the
    /// leases of `worker` when that is taken for dead: the frontier
    /// script drops the claims listed in `robots-claims:WORKER`):
    /// `Some((u16::MAX, []))` when another worker holds it.
    pub(crate) fn robots_claim(
        &mut self,
        prefix: &str,
        (host, worker): (&str, &str),
        claim: Duration,
        (max_age, unreachable_age): (Duration, Duration),
    ) -> Result<Option<(u16, Vec<u8>)>, RedisError> {
        self.with(|con, _| {
            let v: Option<Vec<u8>> = redis::cmd("HGET")
                .arg(format!("{prefix}robots"))
                .arg(host)
                .query(con)?;
            let stored = v.map(|v| read_robots(&v));
            let stale = stored.as_ref().is_some_and(|(status, at, _)| {
                let age = match *status == 0 || crate::robots::unreachable_status(*status) {
                    true => unreachable_age,
                    false => max_age,
                };
                at.is_some_and(|at| {
                    crate::recrawl::now_secs().saturating_sub(at) >= age.as_secs() as i64
                })
            });
            if let (Some((status, _, body)), false) = (&stored, stale) {
                return Ok(Some((*status, body.clone())));
            }
            let ms = claim.as_millis().max(1) as u64;
            let got: Option<String> = redis::cmd("SET")
                .arg(format!("{prefix}robots-claim:{host}"))
                .arg(worker)
                .arg("NX")
                .arg("PX")
                .arg(ms)
                .query(con)?;
            if got.is_some() {
                let mine = format!("{prefix}robots-claims:{worker}");
                redis::pipe()
                    .cmd("SADD")
                    .arg(&mine)
                    .arg(host)
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&mine)
                    .arg(ms)
                    .ignore()
                    .query::<()>(con)?;
            }
            Ok(match (got, stored) {
                (Some(_), _) => None,
                // Another worker fetches it again: the old answer meanwhile.
                (None, Some((status, _, body))) => Some((status, body)),
                (None, None) => Some((u16::MAX, Vec::new())),
            })
        })
    }

    /// Stores the robots.txt answer of `host` (status 0: the fetch
    /// failed), with the time it was had; `worker`'s claim is done.
    pub(crate) fn robots_store(
        &mut self,
        prefix: &str,
        (host, worker): (&str, &str),
        status: u16,
        body: &[u8],
    ) -> Result<(), RedisError> {
        let mut v = format!("{status} {}\n", crate::recrawl::now_secs()).into_bytes();
        v.extend_from_slice(body);
        self.with(|con, _| {
            redis::pipe()
                .cmd("HSET")
                .arg(format!("{prefix}robots"))
                .arg(host)
                .arg(&v)
                .ignore()
                .cmd("SREM")
                .arg(format!("{prefix}robots-claims:{worker}"))
                .arg(host)
                .ignore()
                .query(con)
        })
    }

    /// The stored settings of crawl `prefix`, if it exists.
    pub(crate) fn settings(&mut self, prefix: &str) -> Result<Option<String>, RedisError> {
        self.with(|con, _| {
            redis::cmd("GET")
                .arg(format!("{prefix}settings"))
                .query(con)
        })
    }

    /// Stores the settings of crawl `prefix` unless it has some; the
    /// settings it has now.
    pub(crate) fn init_settings(
        &mut self,
        prefix: &str,
        value: &str,
    ) -> Result<String, RedisError> {
        let key = format!("{prefix}settings");
        self.with(|con, _| {
            redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("NX")
                .query::<()>(con)?;
            redis::cmd("GET").arg(&key).query(con)
        })
    }

    /// Replaces the settings of crawl `prefix` if it has some; whether
    /// it had.
    pub(crate) fn replace_settings(
        &mut self,
        prefix: &str,
        value: &str,
    ) -> Result<bool, RedisError> {
        let key = format!("{prefix}settings");
        self.with(|con, _| {
            let set: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("XX")
                .query(con)?;
            Ok(set.is_some())
        })
    }

    /// The crawl's counters, live workers (with their leases) and the
    /// server's memory.
    fn status(&mut self, prefix: &str) -> Result<RawStatus, RedisError> {
        self.with(|con, _| {
            let stats: Vec<(String, String)> = redis::cmd("HGETALL")
                .arg(format!("{prefix}stats"))
                .query(con)?;
            let workers: Vec<(String, i64)> = redis::cmd("ZRANGE")
                .arg(format!("{prefix}workers"))
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(con)?;
            let mut leases = Vec::new();
            for (w, deadline) in workers {
                let n: u64 = redis::cmd("HLEN")
                    .arg(format!("{prefix}leases:{w}"))
                    .query(con)?;
                leases.push((w, deadline, n));
            }
            let layout: bool = redis::cmd("EXISTS")
                .arg(format!("{prefix}layout"))
                .query(con)?;
            let seed_failures: Vec<String> = redis::cmd("LRANGE")
                .arg(format!("{prefix}seedfail"))
                .arg(0)
                .arg(99)
                .query(con)?;
            let time: (String, String) = redis::cmd("TIME").query(con)?;
            let now = time.0.parse::<i64>().unwrap_or(0) * 1000
                + time.1.parse::<i64>().unwrap_or(0) / 1000;
            Ok(RawStatus {
                stats,
                seed_failures,
                workers: leases,
                now_ms: now,
                layout,
            })
        })
    }
}

/// A client for cluster node `addr` (`HOST:PORT`, as `MOVED` names it)
/// with the URL's credentials and TLS settings.
fn node(seed: &redis::Client, addr: &str) -> Result<redis::Client, RedisError> {
    let bad = || {
        RedisError::from((
            ErrorKind::ClientError,
            "a redirect to an unreadable node address",
            addr.to_owned(),
        ))
    };
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let mut info = seed.get_connection_info().clone();
    info.addr = match info.addr {
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host,
            port,
            insecure,
            tls_params,
        },
        _ => ConnectionAddr::Tcp(host, port),
    };
    redis::Client::open(info)
}

/// What `status` read.
struct RawStatus {
    stats: Vec<(String, String)>,
    /// The start URLs that failed (`seedfail`).
    seed_failures: Vec<String>,
    /// (worker, lease deadline in ms, leases held).
    workers: Vec<(String, i64, u64)>,
    now_ms: i64,
    /// Whether the crawl's `layout` key is there (a step made it).
    layout: bool,
}

/// Stores the settings of crawl `crawl_id` in the Redis at `url` unless
/// it has some (`solo-crawl crawl --redis`); the settings it has now, for
/// the caller to compare. Blocking.
pub fn share_settings(url: &str, crawl_id: &str, settings: &str) -> Result<String, String> {
    let (mut link, _) = Link::open_to_crawl(url)?;
    link.init_settings(&prefix(crawl_id), settings)
        .map_err(|e| explain(&link.shown, &e))
}

/// Replaces the stored settings of crawl `crawl_id` in the Redis at
/// `url` (`crawl --redis --force`): workers started from then on read
/// the new ones; workers running keep theirs until restarted. An error if
/// there is no such crawl. Blocking.
///
/// ```no_run
/// let settings = "per-host = 1\ndelay = 1000\n";
/// solo_crawl::replace_settings("redis://127.0.0.1/0", "site", settings)?;
/// # Ok::<(), String>(())
/// ```
pub fn replace_settings(url: &str, crawl_id: &str, settings: &str) -> Result<(), String> {
    let (mut link, _) = Link::open_to_crawl(url)?;
    let replaced = link
        .replace_settings(&prefix(crawl_id), settings)
        .map_err(|e| explain(&link.shown, &e))?;
    match replaced {
        true => Ok(()),
        false => Err(no_such_crawl(url, crawl_id)),
    }
}

/// The settings of crawl `crawl_id` in the Redis at `url` (`solo-crawl
/// worker`): `Ok(None)` if there is no such crawl. Blocking.
pub fn shared_settings(url: &str, crawl_id: &str) -> Result<Option<String>, String> {
    let mut link = Link::open(url)?;
    link.settings(&prefix(crawl_id))
        .map_err(|e| explain(&link.shown, &e))
}

/// The message for a crawl that is not in the Redis at `url`.
pub fn no_such_crawl(url: &str, crawl_id: &str) -> String {
    format!(
        "redis {}: no crawl {crawl_id:?} there; start it with `solo-crawl crawl URL... --redis URL --crawl-id {crawl_id}`",
        shown_url(url)
    )
}

/// Progress of a shared crawl (`solo-crawl status`).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CrawlStatus {
    /// Requests waiting in the queues.
    pub queued: u64,
    /// Requests leased (in flight or about to be) over all workers.
    pub in_flight: u64,
    /// Pages done (fetched, or failed to be).
    pub pages: u64,
    /// Errors: the pages that failed or answered 4xx/5xx, and the
    /// requests not fetched because their host's robots.txt could not be
    /// (`robots_unreachable` records, not counted as pages, as in an
    /// in-process crawl's summary).
    pub errors: u64,
    /// Items the spiders emitted.
    pub items: u64,
    /// Distinct URLs seen.
    pub seen: u64,
    /// Pages per second: over the crawl's duration once it is finished,
    /// since its start while it runs.
    pub pages_per_sec: f64,
    /// Seconds from the crawl's start to its end (finished) or to now.
    pub seconds: f64,
    /// Live workers: (name, leases held, seconds until its leases expire).
    pub workers: Vec<(String, u64, f64)>,
    /// Page records written (what `--max-pages` counts).
    pub written: u64,
    /// The crawl's `--max-pages`, if any.
    pub max_pages: Option<u64>,
    /// No lease out, and nothing queued or the page budget spent.
    pub finished: bool,
    /// Why the crawl cannot go on: its counters (queued, in flight) were
    /// deleted or evicted, so no worker could tell when it is done; the
    /// workers' steps are refused. Never `finished` then.
    pub damaged: Option<String>,
    /// Requests counted as queued that were found gone from Redis (their
    /// keys deleted, or evicted): the crawl ended without them.
    pub lost: u64,
    /// The Redis server's memory in use and its `maxmemory` (0: no
    /// limit), in bytes, when it says (a user that may not run `INFO`
    /// sees none): the whole server's, not this crawl's alone.
    pub redis_memory: Option<(u64, Option<u64>)>,
    /// Start URLs fetched (the last page of their redirects below 400),
    /// by whichever worker.
    pub seeds_ok: u64,
    /// Start URLs that failed (an error, a 4xx/5xx answer, or not
    /// followed), by whichever worker.
    pub seeds_failed: u64,
    /// The first 100 of those, each "URL: why" (credentials masked).
    pub seed_failures: Vec<String>,
}

/// Reads the progress of crawl `crawl_id` (an error if there is none).
/// A crawl is there once `solo-crawl crawl --redis` stored its settings
/// or any worker took a step (a library crawl, whose spider's settings
/// are its code, stores none). Blocking.
pub fn crawl_status(url: &str, crawl_id: &str) -> Result<CrawlStatus, String> {
    let mut link = Link::open(url)?;
    let raw = link
        .status(&prefix(crawl_id))
        .map_err(|e| explain(&link.shown, &e))?;
    if raw.stats.is_empty() && !raw.layout && shared_settings(url, crawl_id)?.is_none() {
        return Err(no_such_crawl(url, crawl_id));
    }
    let get = |k: &str| {
        raw.stats
            .iter()
            .find(|(f, _)| f == k)
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let pages = get("pages").max(0) as u64;
    let started = get("started_ms");
    let queued = get("queued").max(0) as u64;
    let in_flight = get("leased").max(0) as u64;
    let max_pages = get("max_pages").max(0) as u64;
    let written = get("written").max(0) as u64;
    let spent = max_pages > 0 && written >= max_pages;
    // The counters gone (a step made them with the layout) or below 0
    // (made again from 0 after that): the workers' steps are refused.
    let damaged = if raw.layout && started == 0 {
        Some(format!(
            "its counters ({}stats) are gone from Redis (deleted, or evicted)",
            prefix(crawl_id)
        ))
    } else if get("queued") < 0 || get("leased") < 0 {
        Some(format!(
            "its counters are below 0 (queued {}, leased {}): they were deleted or evicted \
             and made again from 0",
            get("queued"),
            get("leased")
        ))
    } else {
        None
    };
    let finished = damaged.is_none() && started > 0 && (queued == 0 || spent) && in_flight == 0;
    // A finished crawl's rate is over its duration, not until now (the
    // step that found it done keeps its end; an older crawl has none).
    let ended = get("ended_ms");
    let end = if finished && ended >= started {
        ended
    } else {
        raw.now_ms
    };
    let secs = (end - started) as f64 / 1000.0;
    Ok(CrawlStatus {
        queued,
        in_flight,
        pages,
        errors: get("errors").max(0) as u64,
        items: get("items").max(0) as u64,
        seen: get("seen").max(0) as u64,
        pages_per_sec: if started > 0 && secs > 0.0 {
            pages as f64 / secs
        } else {
            0.0
        },
        seconds: if started > 0 { secs.max(0.0) } else { 0.0 },
        workers: raw
            .workers
            .into_iter()
            .map(|(w, deadline, n)| (w, n, (deadline - raw.now_ms) as f64 / 1000.0))
            .collect(),
        finished,
        damaged,
        lost: get("lost").max(0) as u64,
        written,
        max_pages: (max_pages > 0).then_some(max_pages),
        redis_memory: link
            .server
            .used_memory
            .map(|used| (used, link.server.maxmemory)),
        seeds_ok: get("seeds_ok").max(0) as u64,
        seeds_failed: get("seeds_failed").max(0) as u64,
        seed_failures: raw.seed_failures,
    })
}

/// `bytes` in MiB or GiB, for people.
fn mib(bytes: u64) -> String {
    match bytes {
        b if b >= 10 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
    }
}

impl std::fmt::Display for CrawlStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.damaged, self.finished, self.workers.len()) {
            (Some(why), _, _) => writeln!(
                f,
                "state        damaged: {why}; its workers stop with an error, the pages \
                 written so far are in their outputs: start it again with a new --crawl-id \
                 (`solo-crawl delete` removes this one)"
            )?,
            (None, false, _) => writeln!(f, "state        running")?,
            (None, true, _) if self.queued > 0 => writeln!(
                f,
                "state        finished: its --max-pages are written ({} requests queued \
                 stay unfetched)",
                self.queued
            )?,
            (None, true, 0) => writeln!(f, "state        finished")?,
            // Workers that stay for more (--idle-timeout).
            (None, true, n) => writeln!(
                f,
                "state        idle: nothing queued or in flight, {n} live workers wait for URLs \
                 (`solo-crawl push`)"
            )?,
        }
        writeln!(f, "queued       {}", self.queued)?;
        if self.lost > 0 {
            writeln!(
                f,
                "lost         {} queued requests gone from Redis (keys deleted or evicted)",
                self.lost
            )?;
        }
        writeln!(f, "in flight    {}", self.in_flight)?;
        writeln!(f, "pages        {} ({} errors)", self.pages, self.errors)?;
        if let Some(m) = self.max_pages {
            writeln!(f, "written      {} of --max-pages {m}", self.written)?;
        }
        writeln!(f, "items        {}", self.items)?;
        if self.seeds_failed > 0 {
            writeln!(
                f,
                "start URLs   {} fetched, {} failed",
                self.seeds_ok, self.seeds_failed
            )?;
        }
        writeln!(f, "seen         {} URLs", self.seen)?;
        let over = if self.finished {
            format!("over the crawl's {:.1} s", self.seconds)
        } else {
            format!("since the start, {:.1} s ago", self.seconds)
        };
        writeln!(f, "pages/s      {:.1} ({over})", self.pages_per_sec)?;
        writeln!(f, "workers      {} live", self.workers.len())?;
        for (w, n, left) in &self.workers {
            writeln!(f, "  {w}  in flight {n}  (lease ends in {left:.1} s)")?;
        }
        match self.redis_memory {
            Some((used, Some(max))) if max > 0 => writeln!(
                f,
                "redis        {} used of maxmemory {} ({:.0} %; the whole server's)",
                mib(used),
                mib(max),
                used as f64 * 100.0 / max as f64
            )?,
            Some((used, _)) => writeln!(
                f,
                "redis        {} used (no maxmemory; the whole server's)",
                mib(used)
            )?,
            None => {}
        }
        Ok(())
    }
}

/// A stored robots.txt answer: `STATUS[ UNIX_SECONDS]\nBODY` (the time
/// is missing in answers stored before it was kept: used for good).
fn read_robots(v: &[u8]) -> (u16, Option<i64>, Vec<u8>) {
    let nl = v.iter().position(|&b| b == b'\n').unwrap_or(v.len());
    let head = std::str::from_utf8(&v[..nl]).unwrap_or_default();
    let mut words = head.split(' ');
    let status = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let at = words.next().and_then(|s| s.parse().ok());
    (status, at, v.get(nl + 1..).unwrap_or_default().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server certificate that is itself a CA is explained as such:
    /// trusting it (SSL_CERT_FILE) does not help, which the hint for an
    /// untrusted certificate said (the re-audit's D6).
    #[test]
    fn a_ca_certificate_served_by_redis_is_explained() {
        let tls_error = |detail: &str| {
            RedisError::from((
                ErrorKind::IoError,
                "TLS handshake failed",
                detail.to_owned(),
            ))
        };
        let shown = "rediss://127.0.0.1:6390/0";
        let ca = explain_open(
            shown,
            &tls_error("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))"),
        );
        assert!(
            ca.contains("is a CA certificate") && ca.contains("CA:FALSE"),
            "{ca}"
        );
        assert!(!ca.contains("SSL_CERT_FILE"), "{ca}");
        let untrusted = explain_open(shown, &tls_error("invalid peer certificate: UnknownIssuer"));
        assert!(untrusted.contains("SSL_CERT_FILE"), "{untrusted}");
    }

    #[test]
    fn a_moved_redirect_keeps_the_urls_credentials() {
        let seed = redis::Client::open("redis://ann:secret@10.0.0.1:7000/0").unwrap();
        for (addr, host, port) in [
            ("10.0.0.2:7001", "10.0.0.2", 7001),
            ("[::1]:7002", "::1", 7002),
            ("::1:7003", "::1", 7003),
        ] {
            let info = node(&seed, addr).unwrap().get_connection_info().clone();
            assert_eq!(info.addr, ConnectionAddr::Tcp(host.into(), port), "{addr}");
            assert_eq!(info.redis.username.as_deref(), Some("ann"));
            assert_eq!(info.redis.password.as_deref(), Some("secret"));
        }
        for bad in ["", "no-port", "host:port", "host:99999"] {
            let e = node(&seed, bad).unwrap_err();
            assert!(e.to_string().contains("unreadable node address"), "{e}");
        }
    }
}
