//! Name resolution with a small time-to-live cache.
//!
//! Design: `solo::net::lookup_host` runs the system resolver on solo's
//! blocking pool, which costs a thread hop per call; a crawler asks for the
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
        overrides: HashMap<String, Vec<IpAddr>>,
        resolver: Resolver,
    ) -> DnsCache {
        DnsCache {
            ttl,
            overrides,
            resolver,
            entries: RefCell::new(HashMap::new()),
        }
    }

    /// The addresses of `host` (a name or an IP literal, IPv6 with or
    /// without brackets) at `port`.
    pub(crate) async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let name = bare.trim_end_matches('.').to_ascii_lowercase();
        let ips = self.lookup(&name).await?;
        Ok(ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
    }

    async fn lookup(&self, name: &str) -> Result<Rc<[IpAddr]>, Error> {
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
            return Ok(self.resolver.lookup(name).await.map_err(failed)?.into());
        }
        let now = solo::time::now();
        if let Some(e) = self.entries.borrow().get(name) {
            if e.expires > now {
                return Ok(e.ips.clone());
            }
        }
        let ips = self.resolver.lookup(name).await.map_err(failed)?;
        let ips: Rc<[IpAddr]> = ips.into();
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
            let dns = DnsCache::new(Duration::from_secs(60), o, Resolver::system());
            let a = dns.resolve("[::1]", 80).await.unwrap();
            assert_eq!(a, ["[::1]:80".parse().unwrap()]);
            let a = dns.resolve("Example.Test.", 8080).await.unwrap();
            assert_eq!(a, ["127.0.0.9:8080".parse().unwrap()]);
            assert!(dns.expiry("example.test").is_none());
        });
    }

    #[test]
    fn invalid_names_fail_without_a_query() {
        solo::run(async {
            let dns = DnsCache::new(Duration::from_secs(60), HashMap::new(), Resolver::system());
            let e = dns.resolve("no-such-host.invalid", 80).await.unwrap_err();
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
                let dns =
                    DnsCache::new(Duration::from_secs(60), HashMap::new(), Resolver::system());
                let a = dns.resolve("localhost", 1).await.unwrap();
                assert!(a.iter().all(|a| a.ip().is_loopback() && a.port() == 1));
                assert!(dns.expiry("localhost").is_some());
                let b = dns.resolve("localhost", 2).await.unwrap();
                assert!(b.iter().all(|a| a.port() == 2));
                solo::sleep(Duration::from_secs(61)).await;
                assert!(dns.expiry("localhost").unwrap() <= solo::time::now());
                dns.resolve("localhost", 3).await.unwrap();
                assert!(dns.expiry("localhost").unwrap() > solo::time::now());
            });
    }
}
