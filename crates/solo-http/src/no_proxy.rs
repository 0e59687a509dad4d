//! The hosts reached directly although a proxy is set: a `no_proxy`
//! list, as curl, wget, Python and Go read it.
//!
//! Owns: parsing the list and matching a host and port against it. Must
//! not: choose a proxy (that is `proxy::Proxies`) or resolve names (a
//! name matches by its spelling, an address by its value).
//!
//! Design: entries are separated by commas (spaces around them ignored).
//! `*` alone matches every host. A name matches itself and its
//! subdomains (`example.com` and `.example.com` both match
//! `example.com` and `www.example.com`, as curl since 7.86 and Go);
//! case is ignored, and a trailing dot too. An IP address matches
//! itself, a network in CIDR form (`10.0.0.0/8`, `fd00::/8`) its
//! addresses; IPv6 may be written in brackets. An entry may name a port
//! (`example.com:8080`, `[::1]:8080`): then only that port matches.

use std::net::IpAddr;

use ipnet::IpNet;

/// One entry of the list.
#[derive(Clone, Debug, PartialEq)]
enum Entry {
    /// `*`: every host.
    All,
    /// A domain (lower case, no leading or trailing dot), and the port
    /// it is limited to.
    Domain(String, Option<u16>),
    /// An address or network, and the port it is limited to.
    Net(IpNet, Option<u16>),
}

/// A parsed `no_proxy` list (empty: no host is excepted).
///
/// ```
/// # use solo_http::NoProxy;
/// let list = NoProxy::parse("localhost, .internal.example, 10.0.0.0/8, [::1]:8080");
/// assert!(list.matches("build.internal.example", 80));
/// assert!(list.matches("10.1.2.3", 443));
/// assert!(list.matches("[::1]", 8080) && !list.matches("[::1]", 80));
/// assert!(!list.matches("example.com", 80));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NoProxy {
    entries: Vec<Entry>,
}

impl NoProxy {
    /// Parses `list`; an entry that is neither a name, an address nor a
    /// network is ignored (as curl does), so a list never fails.
    pub fn parse(list: &str) -> NoProxy {
        let entries = list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .filter_map(entry)
            .collect();
        NoProxy { entries }
    }

    /// Whether no host is excepted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether every host is reached directly (the list has `*`).
    ///
    /// ```
    /// assert!(solo_http::NoProxy::parse("a.test, *").matches_all());
    /// ```
    pub fn matches_all(&self) -> bool {
        self.entries.contains(&Entry::All)
    }

    /// Whether `host` (a name, an IPv4 address, or an IPv6 address with
    /// or without brackets) on `port` is reached directly.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let ip = bare.parse::<IpAddr>().ok();
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        let port_ok = |p: &Option<u16>| p.is_none_or(|p| p == port);
        self.entries.iter().any(|e| match e {
            Entry::All => true,
            Entry::Net(net, p) => port_ok(p) && ip.is_some_and(|ip| net.contains(&ip)),
            Entry::Domain(d, p) => {
                port_ok(p)
                    && ip.is_none()
                    && (name == *d
                        || name
                            .strip_suffix(d.as_str())
                            .is_some_and(|rest| rest.ends_with('.')))
            }
        })
    }
}

/// One entry, or `None` if it is not one.
fn entry(text: &str) -> Option<Entry> {
    if text == "*" {
        return Some(Entry::All);
    }
    let (host, port) = split_port(text)?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(Entry::Net(IpNet::from(ip), port));
    }
    if let Ok(net) = bare.parse::<IpNet>() {
        return Some(Entry::Net(net.trunc(), port));
    }
    let domain = host
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let valid = !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    valid.then_some(Entry::Domain(domain, port))
}

/// The host and the port of an entry (`host:port`, `[v6]:port`; a bare
/// IPv6 address or network has colons but no port).
fn split_port(text: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let close = rest.find(']')?;
        let (host, after) = text.split_at(close + 2);
        return match after.strip_prefix(':') {
            Some(p) => Some((host, Some(p.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        _ => Some((text, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_themselves_and_their_subdomains_only() {
        let l = NoProxy::parse(" Example.COM ,.corp.test,*.wild.test ");
        for host in [
            "example.com",
            "www.example.com",
            "EXAMPLE.com.",
            "corp.test",
        ] {
            assert!(l.matches(host, 80), "{host}");
        }
        assert!(l.matches("a.b.corp.test", 443));
        assert!(l.matches("x.wild.test", 443));
        for host in [
            "notexample.com",
            "example.com.evil.test",
            "test",
            "10.0.0.1",
        ] {
            assert!(!l.matches(host, 80), "{host}");
        }
    }

    #[test]
    fn addresses_networks_and_ports() {
        let l =
            NoProxy::parse("127.0.0.1,10.0.0.0/8,fd00::/8,[::1],internal.test:8080,[fe80::1]:81");
        assert!(l.matches("127.0.0.1", 1));
        assert!(l.matches("10.200.3.4", 80));
        assert!(l.matches("[fd12::5]", 80) && l.matches("fd12::5", 80));
        assert!(l.matches("[::1]", 9));
        assert!(!l.matches("127.0.0.2", 80) && !l.matches("11.0.0.1", 80));
        assert!(l.matches("internal.test", 8080) && !l.matches("internal.test", 80));
        assert!(l.matches("[fe80::1]", 81) && !l.matches("[fe80::1]", 80));
        // A name made of digits is not an address of the network.
        assert!(!l.matches("10.0.0.1.example", 80));
    }

    #[test]
    fn a_star_matches_all_and_junk_is_ignored() {
        assert!(NoProxy::parse("*").matches("anything.test", 1));
        let l = NoProxy::parse("a b, :, [::1, host:notaport, ok.test");
        assert_eq!(l.entries.len(), 1, "{l:?}");
        assert!(l.matches("ok.test", 1));
        assert!(NoProxy::parse("").is_empty() && NoProxy::parse(" , ").is_empty());
    }
}
