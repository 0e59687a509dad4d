//! What a worker checks of the Redis server a shared crawl lives in.
//!
//! Owns: reading the server's version, role and `maxmemory-policy` with
//! what a least-privilege user may run (`INFO`; refused, as under the
//! usual `+@all -@dangerous` ACL: `HELLO` and `CONFIG GET`, else left
//! unknown) and judging them — too old for the script, a read-only
//! replica, a policy that may evict the crawl's keys. Must not: write to
//! Redis, or know the crawl's keys (that is
//! [`redis_link`](crate::redis_link)'s and the script's).

use redis::{Connection, RedisError, Value};

/// The oldest Redis that runs the script (`LPOP key count`).
const MIN_VERSION: (u32, u32) = (6, 2);

/// What the server says of itself (each `None`: it would not say).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Server {
    pub(crate) version: Option<String>,
    /// `master`, or `slave` / `replica` (read-only).
    pub(crate) role: Option<String>,
    /// The primary of a replica, `HOST:PORT`.
    pub(crate) primary: Option<String>,
    pub(crate) policy: Option<String>,
    /// `maxmemory` in bytes (0: no limit, so nothing is ever evicted).
    pub(crate) maxmemory: Option<u64>,
    /// `used_memory` in bytes, when the server said (`INFO` only).
    pub(crate) used_memory: Option<u64>,
}

impl Server {
    /// Reads the facts with `INFO`; if the server refuses it (an ACL
    /// without `@dangerous`, a managed Redis that renamed it), with
    /// `HELLO` (version, role) and `CONFIG GET maxmemory-policy`.
    pub(crate) fn read(con: &mut Connection) -> Result<Server, RedisError> {
        match redis::cmd("INFO").query::<String>(con) {
            Ok(info) => Ok(Server::from_info(&info)),
            Err(e) if e.code().is_some() && !crate::redis_link::transient(&e) => {
                let mut s = match redis::cmd("HELLO").query::<Value>(con) {
                    Ok(v) => Server::from_hello(&v),
                    Err(_) => Server::default(),
                };
                let mut config = |name: &str| {
                    redis::cmd("CONFIG")
                        .arg("GET")
                        .arg(name)
                        .query::<Vec<String>>(con)
                        .ok()
                        .and_then(|v| v.into_iter().nth(1))
                };
                s.policy = config("maxmemory-policy");
                s.maxmemory = config("maxmemory").and_then(|m| m.parse().ok());
                Ok(s)
            }
            Err(e) => Err(e),
        }
    }

    /// The facts in the text of `INFO`.
    fn from_info(info: &str) -> Server {
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let primary = match (field("master_host"), field("master_port")) {
            (Some(h), Some(p)) => Some(format!("{h}:{p}")),
            _ => None,
        };
        Server {
            version: field("redis_version"),
            role: field("role"),
            primary,
            policy: field("maxmemory_policy"),
            maxmemory: field("maxmemory").and_then(|m| m.parse().ok()),
            used_memory: field("used_memory").and_then(|m| m.parse().ok()),
        }
    }

    /// The facts in `HELLO`'s map (a flat array in RESP2).
    fn from_hello(v: &Value) -> Server {
        let text = |v: &Value| match v {
            Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        };
        let pairs: Vec<(String, String)> = match v {
            Value::Array(items) => items
                .chunks(2)
                .filter_map(|kv| Some((text(kv.first()?)?, text(kv.get(1)?)?)))
                .collect(),
            Value::Map(items) => items
                .iter()
                .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
                .collect(),
            _ => Vec::new(),
        };
        let get = |k: &str| pairs.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
        Server {
            version: get("version"),
            role: get("role"),
            ..Server::default()
        }
    }

    /// An error saying what to do if the script cannot run here: Redis
    /// older than 6.2 (or one that says no version at all), or a
    /// read-only replica.
    pub(crate) fn check(&self) -> Result<(), String> {
        let version = self.version.as_deref().unwrap_or("unknown");
        let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
        match (parts.next().flatten(), parts.next().flatten()) {
            (Some(major), Some(minor)) if (major, minor) >= MIN_VERSION => {}
            _ => {
                return Err(format!(
                    "version {version} is too old; the shared frontier needs Redis {}.{} or later (or Valkey): upgrade it or point --redis at a newer one",
                    MIN_VERSION.0, MIN_VERSION.1
                ))
            }
        }
        if matches!(self.role.as_deref(), Some("slave" | "replica")) {
            let of = match &self.primary {
                Some(p) => format!(" of {p}"),
                None => String::new(),
            };
            return Err(format!(
                "this is a read-only replica{of}: point --redis at the primary"
            ));
        }
        Ok(())
    }

    /// Whether the crawl's keys are safe from eviction: an error for an
    /// `allkeys-*` policy under a memory limit; `Ok(Some(note))` for one
    /// without a limit (`maxmemory 0` evicts nothing, until a limit is
    /// set) and when the policy is unknown (this user may not read it).
    /// `volatile-*` policies evict only keys with a time to live, which
    /// the crawl's keys have not: at `maxmemory` they refuse writes, as
    /// `noeviction` does.
    pub(crate) fn eviction(&self) -> Result<Option<String>, String> {
        match self.policy.as_deref() {
            Some(p) if p.starts_with("allkeys-") && self.maxmemory == Some(0) => Ok(Some(format!(
                "its maxmemory-policy is {p}, with no maxmemory set, so nothing is evicted now; if a limit is set while the crawl runs, Redis would evict its keys and lose queued URLs: set the policy to noeviction"
            ))),
            Some(p) if p.starts_with("allkeys-") => Err(format!(
                "its maxmemory-policy is {p}: at maxmemory Redis would evict the crawl's keys, losing queued URLs without a word; set it to noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf) or give crawls a Redis of their own"
            )),
            Some(_) => Ok(None),
            None => Ok(Some(
                "cannot read its maxmemory-policy (this user may run neither INFO nor CONFIG): make sure it is noeviction, or keys evicted at maxmemory lose queued URLs"
                    .to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(v: &str) -> Server {
        Server::from_info(&format!(
            "# Server\r\nredis_version:{v}\r\nredis_mode:standalone\r\n"
        ))
    }

    #[test]
    fn redis_older_than_6_2_is_refused_with_what_is_needed() {
        for ok in ["6.2.0", "6.2.14", "7.0.15", "7.2.4", "10.0.0"] {
            assert_eq!(info(ok).check(), Ok(()), "{ok}");
        }
        for old in ["6.0.16", "5.0.7", "2.8.24", "6.1.9"] {
            let e = info(old).check().unwrap_err();
            assert!(e.contains(&format!("version {old} is too old")), "{e}");
            assert!(e.contains("Redis 6.2 or later"), "{e}");
        }
        // No version, or one that does not parse: refused, not a panic.
        for bad in [
            "# Server\r\n",
            "redis_version:\r\n",
            "redis_version:seven\r\n",
        ] {
            assert!(Server::from_info(bad).check().is_err(), "{bad:?}");
        }
        let e = Server::default().check().unwrap_err();
        assert!(e.contains("version unknown"), "{e}");
    }

    #[test]
    fn a_replica_and_an_evicting_policy_are_refused_with_what_to_do() {
        let s = Server::from_info(
            "redis_version:7.0.15\r\nrole:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6380\r\nmaxmemory_policy:allkeys-lru\r\n",
        );
        let e = s.check().unwrap_err();
        assert!(
            e.contains("replica of 10.0.0.1:6380: point --redis at the primary"),
            "{e}"
        );
        let e = s.eviction().unwrap_err();
        assert!(e.contains("allkeys-lru") && e.contains("noeviction"), "{e}");
        // With a limit it evicts; without one (maxmemory 0) nothing is
        // evicted: a warning, not a refusal (the re-audit's R1).
        let limited = Server::from_info("maxmemory:3145728\r\nmaxmemory_policy:allkeys-lru\r\n");
        assert!(limited.eviction().is_err());
        let unlimited = Server::from_info("maxmemory:0\r\nmaxmemory_policy:allkeys-lru\r\n");
        let note = unlimited.eviction().unwrap().unwrap();
        assert!(
            note.contains("no maxmemory set") && note.contains("noeviction"),
            "{note}"
        );
        for fine in ["noeviction", "volatile-lru", "volatile-ttl"] {
            let s = Server {
                policy: Some(fine.into()),
                ..Server::default()
            };
            assert_eq!(s.eviction(), Ok(None), "{fine}");
        }
        assert!(Server::default().eviction().unwrap().is_some());
    }

    #[test]
    fn hello_says_the_version_and_role() {
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let v = Value::Array(vec![
            b("server"),
            b("redis"),
            b("version"),
            b("7.0.15"),
            b("proto"),
            Value::Int(2),
            b("role"),
            b("replica"),
        ]);
        let s = Server::from_hello(&v);
        assert_eq!(s.version.as_deref(), Some("7.0.15"));
        assert!(s.check().unwrap_err().contains("read-only replica"));
        assert_eq!(Server::from_hello(&Value::Nil), Server::default());
    }
}
