//! Name resolution with a small time-to-live cache.
//!
//! Design: the system resolver runs on solo's DNS threads, which costs a
//! thread hop per call; a crawler asks for the
//! same few hosts over and over, so the answers are kept for a fixed TTL
//! (the system resolver does not report record TTLs). The cache is keyed
//! by host name only (ports are attached after), bounded in size, and
//! checked against the loop's clock. Addresses given with
//! [`ClientBuilder::resolve`](crate::ClientBuilder::resolve) win over the
//! resolver, and names under `.invalid` fail at once without a query, as
//! RFC 6761 asks. IP literals never reach the resolver. A custom
//! [`Resolver`] (see [`ClientBuilder::resolver`](crate::ClientBuilder::resolver))
//! replaces the system one and is asked every time: its answers are not
//! cached here, so a test resolver can change its answer between two
//! connections, and a caching resolver keeps its own TTLs.
//!
//! A lookup waits at most until the connect deadline, or the
//! [`dns_timeout`](crate::ClientBuilder::dns_timeout) if that comes
//! first; then the request fails with [`ErrorKind::Dns`] and a message
//! that says name resolution timed out, and where the time went (queued
//! for a DNS thread behind other lookups, or in the resolver).

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use solo::time::Instant;

use crate::error::{Error, ErrorKind};
use crate::resolve::Resolver;

/// How many names the cache keeps at most before it starts over.
const MAX_ENTRIES: usize = 1024;

pub(crate) struct DnsCache {
    ttl: Duration,
    /// The most one lookup may wait (the connect deadline may cut it).
    timeout: Option<Duration>,
    overrides: HashMap<String, Vec<IpAddr>>,
    resolver: Resolver,
    entries: RefCell<HashMap<String, Entry>>,
}

struct Entry {
    ips: Rc<[IpAddr]>,
    expires: Instant,
}

impl DnsCache {
    pub(crate) fn new(
        ttl: Duration,
        timeout: Option<Duration>,
        overrides: HashMap<String, Vec<IpAddr>>,
        resolver: Resolver,
    ) -> DnsCache {
        DnsCache {
            ttl,
            timeout,
            overrides,
            resolver,
            entries: RefCell::new(HashMap::new()),
        }
    }

    /// The addresses of `host` (a name or an IP literal, IPv6 with or
    /// without brackets) at `port`, looked up by `deadline` at the latest.
    pub(crate) async fn resolve(
        &self,
        host: &str,
        port: u16,
        deadline: Option<Instant>,
    ) -> Result<Vec<SocketAddr>, Error> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let name = bare.trim_end_matches('.').to_ascii_lowercase();
        let left = deadline.map(|at| at.saturating_duration_since(solo::time::now()));
        let limit = match (left, self.timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let ips = self.lookup(&name, limit).await?;
        Ok(ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
    }

    async fn lookup(&self, name: &str, limit: Option<Duration>) -> Result<Rc<[IpAddr]>, Error> {
        if let Some(ips) = self.overrides.get(name) {
            return Ok(ips.as_slice().into());
        }
        if name == "invalid" || name.ends_with(".invalid") {
            return Err(Error::new(
                ErrorKind::Dns,
                format!("cannot resolve host '{name}': names under .invalid never resolve"),
            ));
        }
        let failed =
            |e| Error::new(ErrorKind::Dns, format!("cannot resolve host '{name}'")).with_source(e);
        if !self.resolver.is_system() {
            let ips = self.resolver.lookup_within(name, limit).await;
            return Ok(ips.map_err(failed)?.into());
        }
        let now = solo::time::now();
        if let Some(e) = self.entries.borrow().get(name) {
            if e.expires > now {
                return Ok(e.ips.clone());
            }
        }
        let ips = self.resolver.lookup_within(name, limit).await;
        let ips: Rc<[IpAddr]> = ips.map_err(failed)?.into();
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.expires > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            name.to_owned(),
            Entry {
                ips: ips.clone(),
                expires: now + self.ttl,
            },
        );
        Ok(ips)
    }

    /// When the cached answer for `name` expires, if there is one.
    #[cfg(test)]
    fn expiry(&self, name: &str) -> Option<Instant> {
        self.entries.borrow().get(name).map(|e| e.expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_and_overrides_skip_the_resolver() {
        solo::run(async {
            let mut o = HashMap::new();
            o.insert(
                "example.test".to_owned(),
                vec!["127.0.0.9".parse().unwrap()],
            );
            let dns = DnsCache::new(Duration::from_secs(60), None, o, Resolver::system());
            let a = dns.resolve("[::1]", 80, None).await.unwrap();
            assert_eq!(a, ["[::1]:80".parse().unwrap()]);
            let a = dns.resolve("Example.Test.", 8080, None).await.unwrap();
            assert_eq!(a, ["127.0.0.9:8080".parse().unwrap()]);
            assert!(dns.expiry("example.test").is_none());
        });
    }

    #[test]
    fn invalid_names_fail_without_a_query() {
        solo::run(async {
            let dns = DnsCache::new(
                Duration::from_secs(60),
                None,
                HashMap::new(),
                Resolver::system(),
            );
            let e = dns
                .resolve("no-such-host.invalid", 80, None)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Dns);
            assert!(e.to_string().contains("no-such-host.invalid"));
        });
    }

    #[test]
    fn answers_are_cached_until_the_ttl_runs_out() {
        solo::Builder::new()
            .paused_clock()
            .build()
            .unwrap()
            .run_until_complete(async {
                let dns = DnsCache::new(
                    Duration::from_secs(60),
                    None,
                    HashMap::new(),
                    Resolver::system(),
                );
                let a = dns.resolve("localhost", 1, None).await.unwrap();
                assert!(a.iter().all(|a| a.ip().is_loopback() && a.port() == 1));
                assert!(dns.expiry("localhost").is_some());
                let b = dns.resolve("localhost", 2, None).await.unwrap();
                assert!(b.iter().all(|a| a.port() == 2));
                solo::sleep(Duration::from_secs(61)).await;
                assert!(dns.expiry("localhost").unwrap() <= solo::time::now());
                dns.resolve("localhost", 3, None).await.unwrap();
                assert!(dns.expiry("localhost").unwrap() > solo::time::now());
            });
    }
}
