//! The resolver hook: who turns a host name into addresses.
//!
//! Owns: the [`Resolve`] trait a caller implements (or a closure) and
//! [`Resolver`], the cheap handle a [`ClientBuilder`](crate::ClientBuilder)
//! and a crawl's settings keep: the system resolver
//! (`getaddrinfo` through `solo::net::lookup_with`, on solo's DNS
//! threads: one lookup per name at a time, failures remembered briefly),
//! a blocking function of the caller's on the same threads, or an async
//! one; and the deadline of a lookup.
//! Must not: cache (the `dns` module caches the system resolver's
//! answers; a custom resolver is asked every time, so it decides) or
//! judge the addresses (the address policy does, in the connector).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use solo::net::BlockingLookup;

/// What a [`Resolve`] returns: the addresses of a name (tried in order).
pub type Resolving = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>>>>;

/// Resolves host names, instead of the system resolver (see
/// [`ClientBuilder::resolver`](crate::ClientBuilder::resolver)). Any
/// `Fn(&str) -> Resolving` closure is one. It is asked for every new
/// connection (no caching on top), with the name lower-cased and without
/// a trailing dot; IP literals, names under `.invalid` and
/// [`ClientBuilder::resolve`](crate::ClientBuilder::resolve) overrides
/// never reach it.
///
/// ```
/// use std::net::IpAddr;
/// use solo_http::{Resolve, Resolving};
/// let hosts = |name: &str| -> Resolving {
///     let ip: Option<IpAddr> = (name == "app.test").then(|| [127, 0, 0, 1].into());
///     Box::pin(async move { ip.map(|ip| vec![ip]).ok_or_else(|| std::io::ErrorKind::NotFound.into()) })
/// };
/// solo::run(async {
///     assert_eq!(hosts.resolve("app.test").await.unwrap(), [IpAddr::from([127, 0, 0, 1])]);
///     assert!(hosts.resolve("other.test").await.is_err());
/// });
/// ```
pub trait Resolve {
    /// The addresses of `name`.
    fn resolve(&self, name: &str) -> Resolving;
}

impl<F: Fn(&str) -> Resolving> Resolve for F {
    fn resolve(&self, name: &str) -> Resolving {
        self(name)
    }
}

/// A shared handle on a resolver: the system's or a [`Resolve`]. Cheap
/// to clone; `!Send`, like the client.
///
/// ```
/// solo::run(async {
///     let ips = solo_http::Resolver::system().lookup("localhost").await.unwrap();
///     assert!(ips.iter().all(|ip| ip.is_loopback()));
/// });
/// ```
#[derive(Clone)]
pub struct Resolver(Kind);

#[derive(Clone)]
enum Kind {
    /// `getaddrinfo` on solo's DNS threads.
    System,
    /// A stand-in for it, on the same threads.
    Blocking(BlockingLookup),
    Custom(Rc<dyn Resolve>),
}

impl Resolver {
    /// The operating system's resolver (`getaddrinfo`, on solo's DNS
    /// threads; see `solo::net::lookup_with`: requests for a name share
    /// its lookup, a failure is remembered for `solo::net::FAILED_TTL`).
    /// A client caches its answers for
    /// [`dns_ttl`](crate::ClientBuilder::dns_ttl).
    pub fn system() -> Resolver {
        Resolver(Kind::System)
    }

    /// A blocking resolver function run like the system's: on solo's DNS
    /// threads, one lookup per name at a time, failures remembered, and
    /// given up at the client's deadline while it goes on (a thread cannot
    /// be interrupted). For a resolver that must block (a C library, a
    /// stand-in for `getaddrinfo` in tests); answers are not cached.
    ///
    /// ```
    /// use std::{io, net::IpAddr};
    /// fn lookup(name: &str) -> io::Result<Vec<IpAddr>> {
    ///     std::thread::sleep(std::time::Duration::from_millis(1)); // blocking is fine
    ///     Ok(vec![[127, 0, 0, 1].into()])
    /// }
    /// let r = solo_http::Resolver::blocking(lookup);
    /// solo::run(async { assert_eq!(r.lookup("app.test").await.unwrap().len(), 1) });
    /// ```
    pub fn blocking(lookup: BlockingLookup) -> Resolver {
        Resolver(Kind::Blocking(lookup))
    }

    /// A custom resolver.
    ///
    /// ```
    /// let r = solo_http::Resolver::new(|_: &str| -> solo_http::Resolving {
    ///     Box::pin(async { Ok(vec![[127, 0, 0, 1].into()]) })
    /// });
    /// assert!(!r.is_system());
    /// ```
    pub fn new(resolver: impl Resolve + 'static) -> Resolver {
        // A `Resolver` given as a `Resolve` is itself, not wrapped: the
        // system's and a blocking one keep their DNS threads and caching.
        if let Some(r) = (&resolver as &dyn std::any::Any).downcast_ref::<Resolver>() {
            return r.clone();
        }
        Resolver(Kind::Custom(Rc::new(resolver)))
    }

    /// A resolver that knows only these names (like an `/etc/hosts` of
    /// its own; a name may be given several addresses) and fails on any
    /// other, without asking DNS.
    ///
    /// ```
    /// solo::run(async {
    ///     let r = solo_http::Resolver::hosts([("app.test", [127, 0, 0, 1].into())]);
    ///     assert_eq!(r.lookup("app.test").await.unwrap(), [std::net::IpAddr::from([127, 0, 0, 1])]);
    ///     assert!(r.lookup("example.com").await.is_err());
    /// });
    /// ```
    pub fn hosts<'a>(entries: impl IntoIterator<Item = (&'a str, IpAddr)>) -> Resolver {
        let mut map: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (name, ip) in entries {
            map.entry(name.trim_end_matches('.').to_ascii_lowercase())
                .or_default()
                .push(ip);
        }
        Resolver::new(move |name: &str| -> Resolving {
            let found = map.get(name).cloned();
            let name = name.to_owned();
            Box::pin(async move {
                found.ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{name} is not in the hosts table"),
                    )
                })
            })
        })
    }

    /// Whether this is the system resolver.
    ///
    /// ```
    /// assert!(solo_http::Resolver::system().is_system());
    /// ```
    pub fn is_system(&self) -> bool {
        matches!(self.0, Kind::System)
    }

    /// The addresses of `name` (an IP literal is its own answer), without
    /// duplicates. An empty answer is an error.
    pub async fn lookup(&self, name: &str) -> io::Result<Vec<IpAddr>> {
        self.lookup_within(name, None).await
    }

    /// [`lookup`](Resolver::lookup), waiting at most `timeout`: then an
    /// error of kind `TimedOut` that says name resolution timed out (and,
    /// for the system resolver or a blocking one, whether the time went
    /// waiting for a free DNS thread; the lookup then goes on, and the
    /// name fails at once for a short while).
    ///
    /// ```
    /// use std::time::Duration;
    /// solo::run(async {
    ///     let r = solo_http::Resolver::system();
    ///     let ips = r.lookup_timeout("localhost", Duration::from_secs(30)).await.unwrap();
    ///     assert!(ips.iter().all(|ip| ip.is_loopback()));
    /// });
    /// ```
    pub async fn lookup_timeout(&self, name: &str, timeout: Duration) -> io::Result<Vec<IpAddr>> {
        self.lookup_within(name, Some(timeout)).await
    }

    pub(crate) async fn lookup_within(
        &self,
        name: &str,
        timeout: Option<Duration>,
    ) -> io::Result<Vec<IpAddr>> {
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let found = match (&self.0, timeout) {
            (Kind::System, _) => {
                solo::net::lookup_with(bare, solo::net::getaddrinfo, timeout).await?
            }
            (Kind::Blocking(f), _) => solo::net::lookup_with(bare, *f, timeout).await?,
            (Kind::Custom(r), None) => r.resolve(bare).await?,
            (Kind::Custom(r), Some(limit)) => match solo::timeout(limit, r.resolve(bare)).await {
                Ok(found) => found?,
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "name resolution of '{bare}' timed out after {limit:.2?} \
                             (this call's deadline): the resolver had no answer"
                        ),
                    ))
                }
            },
        };
        let mut ips: Vec<IpAddr> = Vec::with_capacity(found.len());
        for ip in found {
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        if ips.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no address for {bare}"),
            ));
        }
        Ok(ips)
    }
}

impl Default for Resolver {
    /// [`Resolver::system`].
    fn default() -> Resolver {
        Resolver::system()
    }
}

impl Resolve for Resolver {
    fn resolve(&self, name: &str) -> Resolving {
        let this = self.clone();
        let name = name.to_owned();
        Box::pin(async move { this.lookup(&name).await })
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Kind::System => "Resolver::system()",
            Kind::Blocking(_) => "Resolver::blocking(..)",
            Kind::Custom(_) => "Resolver::new(..)",
        })
    }
}
