//! An HTTP proxy, reached with a `CONNECT` tunnel.
//!
//! Design: every request, `http` and `https` alike, goes through a tunnel:
//! the client opens a TCP connection to the proxy, asks
//! `CONNECT host:port HTTP/1.1` (with `Proxy-Authorization: Basic` when
//! the proxy URL has a user and password), reads the proxy's answer head,
//! and on a 2xx uses the same socket as if it were connected to the
//! target: TLS and HTTP run inside it, end to end. A tunnel is one pooled
//! connection like any other. The exchange is a few lines of text, done
//! here by hand; it is part of the connect phase (and its time limit).
//!
//! When the client has an address policy, the target's name is resolved
//! and checked here, and the tunnel is asked for the checked address
//! (`CONNECT 93.184.216.34:443`), so the proxy cannot resolve it to
//! another one; TLS still verifies the certificate against the name.

use http::HeaderValue;
use solo::net::TcpStream;
use url::Url;

use crate::auth;
use crate::connect::{Connector, Key};
use crate::error::{Error, ErrorKind};

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

    /// A TCP connection to the proxy, tunnelled through to `target`.
    pub(crate) async fn tunnel(
        &self,
        connector: &Connector,
        target: &Key,
        deadline: Option<solo::time::Instant>,
    ) -> Result<TcpStream, Error> {
        let authority = match connector.policy.allows_all() {
            true => format!("{}:{}", target.host, target.port),
            false => match connector.allowed_addrs(target, deadline).await?.first() {
                Some(addr) => addr.to_string(),
                None => format!("{}:{}", target.host, target.port),
            },
        };
        let tcp = connector.proxy_tcp(&self.host, self.port, deadline).await?;
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
            // A refusal usually has a body (an error page): not read.
            _ => Err(failed(format!(
                "the proxy {}:{} refused the tunnel to {authority}: {}",
                self.host,
                self.port,
                status_line.trim()
            ))),
        }
    }
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
