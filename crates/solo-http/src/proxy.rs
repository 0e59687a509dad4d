//! HTTP proxies: which one a request goes through, and how.
//!
//! Owns: the proxy settings of a client (one proxy for every request, or
//! one per scheme from the environment, less a `no_proxy` list), the
//! `CONNECT` tunnel, and the request target of a forwarded request.
//! Must not: match `no_proxy` entries (that is `no_proxy`) or open
//! sockets other than through the connector.
//!
//! Design: an `https` request goes through a tunnel: the client opens a
//! TCP connection to the proxy, asks `CONNECT host:port HTTP/1.1` (with
//! `Proxy-Authorization: Basic` when the proxy URL has a user and
//! password), reads the proxy's answer head, and on a 2xx uses the same
//! socket as if it were connected to the target: TLS and HTTP run inside
//! it, end to end. A tunnel is one pooled connection like any other. The
//! exchange is a few lines of text, done here by hand; it is part of the
//! connect phase (and its time limit).
//!
//! An `http` request is forwarded, as curl, browsers and Scrapy do: the
//! connection goes to the proxy and the request names its whole URL
//! (`GET http://example.com/a HTTP/1.1`, RFC 9112 section 3.2.2) with
//! `Proxy-Authorization`. (Tunnelling plain HTTP too would be refused
//! by a stock squid, which allows `CONNECT` to port 443 only.) Its
//! connection is pooled under the target, like a direct one.
//!
//! When the client has an address policy, the target's name is resolved
//! here and checked first: a name that points here only to refused
//! addresses (a private network, loopback) is refused before the proxy
//! hears of it. Both a tunnel and a forwarded request then name the host
//! (`CONNECT example.com:443`, as curl asks, so a proxy's rules by domain
//! apply), and the proxy resolves it again; a name that does not resolve
//! here at all (only the proxy's DNS knows it, the usual reason for a
//! proxy) is left to the proxy. The guard is this machine's view: what
//! the proxy's network reaches is the proxy's policy.
//!
//! From the environment ([`Proxies::from_env`]): `https_proxy` for https
//! URLs, `http_proxy` for http ones, `all_proxy` for both when those are
//! unset (upper case names too; `HTTP_PROXY` not when `REQUEST_METHOD` is
//! set, as under CGI a client could set it), `no_proxy` for the hosts
//! reached directly; `localhost` and loopback addresses never go through
//! them (Go's rule: those proxies are for the outside).

use std::net::IpAddr;

use http::HeaderValue;
use solo::net::TcpStream;
use url::Url;

use crate::auth;
use crate::connect::{Connector, Key};
use crate::error::{Error, ErrorKind};
use crate::no_proxy::NoProxy;

/// Which proxy each request goes through (none by default).
#[derive(Clone, Debug, Default)]
pub(crate) struct Proxies {
    /// For `http://` URLs: the proxy, or why the one named cannot be
    /// used (those requests fail with it).
    http: Option<Result<Proxy, String>>,
    /// For `https://` URLs.
    https: Option<Result<Proxy, String>>,
    /// Hosts reached directly.
    pub(crate) no_proxy: NoProxy,
    /// `localhost` and loopback addresses are reached directly (the
    /// proxies came from the environment).
    direct_loopback: bool,
}

impl Proxies {
    /// `proxy` for every request.
    pub(crate) fn all(proxy: Proxy) -> Proxies {
        Proxies {
            http: Some(Ok(proxy.clone())),
            https: Some(Ok(proxy)),
            ..Proxies::default()
        }
    }

    /// The proxies the environment names, read with `var` (see the
    /// module's docs). A variable whose proxy URL this client cannot use
    /// (`socks5://`) does not fail the client: the requests it would
    /// carry do, with an error that names it (others, and hosts reached
    /// directly, are not concerned).
    pub(crate) fn from_env(var: impl Fn(&str) -> Option<String>) -> Proxies {
        let get = |names: &[&'static str]| {
            names.iter().find_map(|n| {
                var(n)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .map(|v| (*n, v))
            })
        };
        let parse = |found: Option<(&str, String)>| {
            found.map(|(name, url)| {
                Proxy::parse(&url).map_err(|e| {
                    format!(
                        "the environment's {name} names a proxy this client cannot use: {e} \
                             (unset it, or list the host in no_proxy)"
                    )
                })
            })
        };
        let cgi = var("REQUEST_METHOD").is_some();
        let all = get(&["all_proxy", "ALL_PROXY"]);
        let http_names: &[&str] = if cgi {
            &["http_proxy"]
        } else {
            &["http_proxy", "HTTP_PROXY"]
        };
        let http = get(http_names).or_else(|| all.clone());
        let https = get(&["https_proxy", "HTTPS_PROXY"]).or(all);
        Proxies {
            http: parse(http),
            https: parse(https),
            no_proxy: NoProxy::parse(&get(&["no_proxy", "NO_PROXY"]).unwrap_or_default().1),
            direct_loopback: true,
        }
    }

    /// Whether no request goes through a proxy.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// The proxy for connections to `key`, if any.
    #[cfg(test)]
    pub(crate) fn for_key(&self, key: &Key) -> Option<&Proxy> {
        self.route(key).ok().flatten()
    }

    /// How a connection to `key` goes: through a proxy, directly
    /// (`None`), or not at all: the proxy it should take is one the
    /// environment named but this client cannot use.
    pub(crate) fn route(&self, key: &Key) -> Result<Option<&Proxy>, Error> {
        match self.choose(key.https, &key.host, key.port) {
            None => Ok(None),
            Some(Ok(proxy)) => Ok(Some(proxy)),
            Some(Err(why)) => Err(Error::new(ErrorKind::InvalidUrl, why.clone())),
        }
    }

    /// The proxy that forwards a request for `url` (an `http` URL with a
    /// proxy), if any.
    pub(crate) fn forwarding(&self, url: &Url) -> Option<&Proxy> {
        if self.http.is_none() || url.scheme() != "http" {
            return None;
        }
        let port = url.port_or_known_default().unwrap_or(80);
        self.choose(false, url.host_str().unwrap_or_default(), port)?
            .as_ref()
            .ok()
    }

    fn choose(&self, https: bool, host: &str, port: u16) -> Option<&Result<Proxy, String>> {
        let proxy = if https { &self.https } else { &self.http }.as_ref()?;
        let direct = self.no_proxy.matches(host, port) || self.direct_loopback && loopback(host);
        (!direct).then_some(proxy)
    }
}

/// `localhost` (and its subdomains, RFC 6761) or a loopback address.
fn loopback(host: &str) -> bool {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The largest proxy answer head accepted.
const MAX_HEAD: usize = 8 << 10;

/// Where the proxy is, and how to log in to it.
/// (`Debug` prints the credentials as `Sensitive`.)
#[derive(Clone, Debug)]
pub(crate) struct Proxy {
    host: String,
    port: u16,
    authorization: Option<HeaderValue>,
}

impl Proxy {
    /// Parses `http://[user:password@]host[:port]`; without a scheme,
    /// `http://` is meant (as curl's `-x host:port` and proxy vendors'
    /// `user:password@host:port`).
    pub(crate) fn parse(url: &str) -> Result<Proxy, Error> {
        let given = url;
        let with_scheme;
        let url = if url.contains("://") {
            url
        } else {
            with_scheme = format!("http://{url}");
            with_scheme.as_str()
        };
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::InvalidUrl,
                format!("invalid proxy URL {:?}: {why}", auth::redact_proxy(given)),
            )
        };
        let mut u = Url::parse(url).map_err(|e| invalid("not a URL").with_source(e))?;
        if u.scheme() != "http" {
            return Err(invalid("only http:// proxies are supported"));
        }
        let host = u.host_str().ok_or_else(|| invalid("no host"))?.to_owned();
        let authorization = auth::take_userinfo(&mut u);
        Ok(Proxy {
            host,
            port: u.port_or_known_default().unwrap_or(80),
            authorization,
        })
    }

    /// The `Proxy-Authorization` value, if the proxy URL has a user.
    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }

    /// The error for a request to `target` that the proxy refused with
    /// `code` itself (`status` is its status line): the caller is told
    /// what to fix, not handed the proxy's page.
    pub(crate) fn refused(&self, target: &str, code: u16, status: &str) -> Error {
        let hint = match (code, &self.authorization) {
            (401 | 407, Some(_)) => "check the user and password in the proxy URL",
            (401 | 407, None) => {
                "the proxy wants a user and password: http://USER:PASSWORD@HOST:PORT"
            }
            _ => "the proxy's own rules refuse this target",
        };
        Error::new(
            ErrorKind::Proxy,
            format!(
                "the proxy {}:{} refused the request for {target}: {status} ({hint})",
                self.host, self.port
            ),
        )
    }

    /// A TCP connection to the proxy, to forward requests for `target`
    /// (checked against the address policy first: see [`check`]); a
    /// tunnel starts from it too.
    pub(crate) async fn forward(
        &self,
        connector: &Connector,
        target: &Key,
        deadline: Option<solo::time::Instant>,
    ) -> Result<TcpStream, Error> {
        check(connector, target, deadline).await?;
        connector.proxy_tcp(&self.host, self.port, deadline).await
    }

    /// A TCP connection to the proxy, tunnelled through to `target`.
    pub(crate) async fn tunnel(
        &self,
        connector: &Connector,
        target: &Key,
        deadline: Option<solo::time::Instant>,
    ) -> Result<TcpStream, Error> {
        let tcp = self.forward(connector, target, deadline).await?;
        let authority = format!("{}:{}", target.host, target.port);
        let mut ask = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(value) = &self.authorization {
            ask.push_str("Proxy-Authorization: ");
            ask.push_str(value.to_str().unwrap_or_default());
            ask.push_str("\r\n");
        }
        ask.push_str("\r\n");
        let failed = |what: String| Error::new(ErrorKind::Connect, what);
        tcp.write_all(ask.as_bytes()).await.map_err(|e| {
            failed(format!(
                "cannot talk to the proxy {}:{}",
                self.host, self.port
            ))
            .with_source(e)
        })?;
        let (head, more) = read_head(&tcp).await.map_err(|e| {
            failed(format!(
                "the proxy {}:{} did not answer CONNECT",
                self.host, self.port
            ))
            .with_source(e)
        })?;
        let status_line = head.lines().next().unwrap_or_default();
        let code = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok());
        match code {
            // A tunnel carries nothing before the client speaks: bytes
            // after a 2xx head would be taken for the target's.
            Some(200..=299) if status_line.starts_with("HTTP/1.") && more => Err(failed(format!(
                "the proxy {}:{} sent data after its answer to CONNECT",
                self.host, self.port
            ))),
            Some(200..=299) if status_line.starts_with("HTTP/1.") => Ok(tcp),
            // A refusal usually has a body (an error page): not read. A
            // 4xx is the proxy's own no (credentials, its rules); anything
            // else, such as a 502 or 503, says the target could not be
            // reached through it, which another try may change.
            Some(code @ 400..=499) => Err(self.refused(&authority, code, status_line.trim())),
            _ => Err(failed(format!(
                "the proxy {}:{} refused the tunnel to {authority}: {}",
                self.host,
                self.port,
                status_line.trim()
            ))),
        }
    }
}

/// Checks a proxied request's target against the client's address
/// policy, as this machine resolves its name: a name that resolves here
/// only to refused addresses is refused before the proxy hears of it. A
/// name that does not resolve here (the proxy's own DNS may know it, the
/// usual reason for a proxy) is left to the proxy.
async fn check(
    connector: &Connector,
    target: &Key,
    deadline: Option<solo::time::Instant>,
) -> Result<(), Error> {
    if connector.policy.allows_all() {
        return Ok(());
    }
    match connector.allowed_addrs(target, deadline).await {
        Err(e) if e.kind() == ErrorKind::Dns => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

/// A forwarded request as it would have been sent directly: its request
/// line in origin form (`GET /a?b HTTP/1.1`, not the whole URL) and no
/// `Proxy-Authorization` line; the body as it was.
pub(crate) fn as_direct(sent: &[u8]) -> Vec<u8> {
    let head_len = memchr::memmem::find(sent, b"\r\n\r\n").map_or(sent.len(), |i| i + 4);
    let (head, body) = sent.split_at(head_len);
    let mut out = Vec::with_capacity(sent.len());
    let mut lines = head.split_inclusive(|&b| b == b'\n');
    if let Some(first) = lines.next() {
        out.extend_from_slice(&origin_form(first));
    }
    for line in lines {
        let name = b"proxy-authorization:";
        if line.len() < name.len() || !line[..name.len()].eq_ignore_ascii_case(name) {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(body);
    out
}

/// `GET http://host:port/a?b HTTP/1.1` as `GET /a?b HTTP/1.1` (a line not
/// in absolute form as it is).
fn origin_form(line: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(line);
    let mut parts = text.splitn(3, ' ');
    let (Some(method), Some(target), Some(rest)) = (parts.next(), parts.next(), parts.next())
    else {
        return line.to_vec();
    };
    let Some(after_scheme) = target.split_once("://").map(|(_, r)| r) else {
        return line.to_vec();
    };
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    format!("{method} {path} {rest}").into_bytes()
}

/// Reads up to the blank line that ends a response head; also whether
/// more bytes came with it (a refusal's body; after a 2xx, a fault).
async fn read_head(tcp: &TcpStream) -> std::io::Result<(String, bool)> {
    let mut buf = Vec::with_capacity(512);
    let mut piece = [0u8; 512];
    loop {
        let n = tcp.read(&mut piece).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&piece[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let more = end + 4 != buf.len();
            return Ok((String::from_utf8_lossy(&buf[..end + 4]).into_owned(), more));
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::Error::other("the proxy's answer is too long"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(https: bool, host: &str, port: u16) -> Key {
        Key {
            https,
            host: host.into(),
            port,
        }
    }

    #[test]
    fn the_environment_names_a_proxy_per_scheme_and_the_hosts_reached_directly() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let p = Proxies::from_env(env(&[
            ("http_proxy", "http://plain.test:3128"),
            ("HTTPS_PROXY", "secure.test:8080"),
            ("no_proxy", "internal.test,10.0.0.0/8"),
        ]));
        let host = |k: &Key| p.for_key(k).map(|p| (p.host.clone(), p.port));
        assert_eq!(
            host(&key(false, "a.test", 80)),
            Some(("plain.test".into(), 3128))
        );
        assert_eq!(
            host(&key(true, "a.test", 443)),
            Some(("secure.test".into(), 8080))
        );
        for direct in [
            "www.internal.test",
            "10.9.8.7",
            "localhost",
            "127.0.0.1",
            "[::1]",
            "a.localhost",
        ] {
            assert_eq!(host(&key(true, direct, 443)), None, "{direct}");
        }
        // all_proxy stands in for an unset one; HTTP_PROXY is not read
        // under CGI (a request header could have set it).
        let p = Proxies::from_env(env(&[
            ("ALL_PROXY", "http://all.test:1"),
            ("https_proxy", ""),
        ]));
        assert_eq!(
            p.for_key(&key(true, "a.test", 443)).unwrap().host,
            "all.test"
        );
        let p = Proxies::from_env(env(&[
            ("HTTP_PROXY", "http://x.test:1"),
            ("REQUEST_METHOD", "GET"),
        ]));
        assert!(p.is_empty());
        assert!(Proxies::from_env(env(&[])).is_empty());
        // A proxy this client cannot use: the requests it would carry
        // fail, naming the variable, not the password; loopback and the
        // no_proxy hosts go direct as before.
        let p = Proxies::from_env(env(&[
            ("all_proxy", "socks5://u:hush@s.test:1"),
            ("no_proxy", "internal.test"),
        ]));
        let text = p.route(&key(true, "a.test", 443)).unwrap_err().to_string();
        assert!(
            text.contains("all_proxy") && !text.contains("hush"),
            "{text}"
        );
        assert!(p.for_key(&key(true, "a.test", 443)).is_none());
        for direct in ["127.0.0.1", "www.internal.test"] {
            assert!(
                matches!(p.route(&key(false, direct, 80)), Ok(None)),
                "{direct}"
            );
        }
        // One proxy given: loopback goes through it too (the user said so).
        let one = Proxies::all(Proxy::parse("http://p.test:1").unwrap());
        assert!(one.for_key(&key(false, "127.0.0.1", 80)).is_some());
    }

    #[test]
    fn only_plain_http_is_forwarded_and_archived_as_if_sent_directly() {
        let p = Proxies::all(Proxy::parse("http://u:pw@p.test:1").unwrap());
        let url = |u: &str| Url::parse(u).unwrap();
        assert!(p.forwarding(&url("http://a.test/x")).is_some());
        assert!(p.forwarding(&url("https://a.test/x")).is_none());
        let sent = b"POST http://a.test:8080/f?q=1 HTTP/1.1\r\nhost: a.test:8080\r\nProxy-Authorization: Basic dTpwdw==\r\ncontent-length: 2\r\n\r\nhi";
        assert_eq!(
            String::from_utf8(as_direct(sent)).unwrap(),
            "POST /f?q=1 HTTP/1.1\r\nhost: a.test:8080\r\ncontent-length: 2\r\n\r\nhi"
        );
        let bare = b"GET http://a.test HTTP/1.1\r\n\r\n";
        assert_eq!(as_direct(bare), b"GET / HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn parses_credentials_into_basic_auth() {
        let p = Proxy::parse("http://ada:p%40ss@proxy.test:3128").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.test", 3128));
        assert_eq!(p.authorization.unwrap(), "Basic YWRhOnBAc3M=");
        // Without a scheme, http:// is meant.
        let p = Proxy::parse("ada:p%40ss@proxy.test:3128").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.test", 3128));
        assert_eq!(p.authorization.unwrap(), "Basic YWRhOnBAc3M=");
        let e = Proxy::parse("ada:s3cret@proxy.test:bad").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("s3cret"), "{e}");
        let p = Proxy::parse("http://ada:s3cret@proxy.test:3128").unwrap();
        assert!(!format!("{p:?}").contains("s3cret"), "{p:?}");
        let e = Proxy::parse("http://ada:s3cret@proxy.test:bad").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("s3cret"), "{e}");
        assert!(Proxy::parse("http://proxy.test")
            .unwrap()
            .authorization
            .is_none());
        assert_eq!(
            Proxy::parse("https://x:1").unwrap_err().kind(),
            ErrorKind::InvalidUrl
        );
    }
}
