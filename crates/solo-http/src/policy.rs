//! The address policy: which IP addresses a client may connect to.
//!
//! Owns: the table of networks that are not the public Internet
//! (loopback, private, link-local, ...), how an address is classified
//! against it (IPv4-mapped, 6to4 and NAT64 forms included), the user's
//! allow and deny rules, and the decision for one address. Must not:
//! resolve names or open sockets — the connector asks [`AddressPolicy::check`]
//! about every address it is about to connect to, after resolution, so a
//! name that resolves (or re-resolves) to a refused address is refused.
//!
//! Design: a server-side request forgery guard must look at the address
//! actually connected to, not at the URL, so the check lives where the
//! socket is opened. The networks are [`IpNet`]s from the `ipnet` crate
//! (parsing and containment of CIDR blocks, v4 and v6). The decision is:
//! the most specific explicit rule (allow or deny) that contains the
//! address wins, deny winning a tie; when no rule matches, the
//! [`public_only`](AddressPolicy::public_only) preset refuses the
//! special ranges of [`special_range`]. An IPv6 address that carries an
//! IPv4 one (`::ffff:a.b.c.d`, 6to4 `2002::/16`, NAT64 `64:ff9b::/96`)
//! is judged by both.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A network that is not the public Internet, and what it is.
///
/// ```
/// let r = solo_http::special_range("10.1.2.3".parse().unwrap()).unwrap();
/// assert_eq!(r.net.to_string(), "10.0.0.0/8");
/// assert_eq!(r.name, "private network, RFC 1918");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecialRange {
    /// The network.
    pub net: IpNet,
    /// What it is, for people.
    pub name: &'static str,
}

impl SpecialRange {
    /// Whether sites live in it: loopback, private (RFC 1918), carrier-grade
    /// NAT and unique local networks hold a machine's or an intranet's
    /// web servers, while link-local (cloud metadata), "this network",
    /// multicast, broadcast, reserved, documentation and benchmarking
    /// ranges hold none a crawl should be sent to.
    ///
    /// ```
    /// let r = |s: &str| solo_http::special_range(s.parse().unwrap()).unwrap();
    /// assert!(r("127.0.0.1").hosts_sites());
    /// assert!(r("10.1.2.3").hosts_sites());
    /// assert!(r("fd00::1").hosts_sites());
    /// assert!(!r("169.254.169.254").hosts_sites());
    /// assert!(!r("0.0.0.0").hosts_sites());
    /// ```
    pub fn hosts_sites(&self) -> bool {
        [PRIVATE, CGNAT, LOOPBACK, ULA].contains(&self.name)
    }
}

const LOOPBACK: &str = "loopback";
const CGNAT: &str = "carrier-grade NAT, RFC 6598";
const ULA: &str = "unique local";

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8, name: &'static str) -> SpecialRange {
    SpecialRange {
        net: IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)),
        name,
    }
}

const fn v6(segments: [u16; 8], len: u8, name: &'static str) -> SpecialRange {
    let [a, b, c, d, e, f, g, h] = segments;
    SpecialRange {
        net: IpNet::V6(Ipv6Net::new_assert(
            Ipv6Addr::new(a, b, c, d, e, f, g, h),
            len,
        )),
        name,
    }
}

const PRIVATE: &str = "private network, RFC 1918";
const DOCS: &str = "documentation range";

/// The IPv4 networks refused by the public-only preset (IANA's special
/// purpose registry, minus nothing that is routed on the Internet).
/// More specific entries come first.
const SPECIAL_V4: [SpecialRange; 16] = [
    v4(
        0,
        0,
        0,
        0,
        8,
        "this network; 0.0.0.0 reaches the local host",
    ),
    v4(10, 0, 0, 0, 8, PRIVATE),
    v4(100, 64, 0, 0, 10, CGNAT),
    v4(127, 0, 0, 0, 8, LOOPBACK),
    v4(
        169,
        254,
        0,
        0,
        16,
        "link-local; cloud metadata services live here",
    ),
    v4(172, 16, 0, 0, 12, PRIVATE),
    v4(192, 0, 0, 0, 24, "IETF protocol assignments, RFC 6890"),
    v4(192, 0, 2, 0, 24, DOCS),
    v4(192, 88, 99, 0, 24, "6to4 relay anycast, deprecated"),
    v4(192, 168, 0, 0, 16, PRIVATE),
    v4(198, 18, 0, 0, 15, "benchmarking, RFC 2544"),
    v4(198, 51, 100, 0, 24, DOCS),
    v4(203, 0, 113, 0, 24, DOCS),
    v4(224, 0, 0, 0, 4, "multicast"),
    v4(255, 255, 255, 255, 32, "broadcast"),
    v4(240, 0, 0, 0, 4, "reserved for future use"),
];

/// The IPv6 networks refused by the public-only preset. The forms that
/// carry an IPv4 address (mapped, 6to4, NAT64) are not here: they are
/// judged by the address they carry.
const SPECIAL_V6: [SpecialRange; 13] = [
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128, "unspecified"),
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, LOOPBACK),
    v6([0, 0, 0, 0, 0, 0, 0, 0], 96, "IPv4-compatible, deprecated"),
    v6(
        [0, 0, 0, 0, 0xffff, 0, 0, 0],
        96,
        "IPv4-translated, RFC 2765",
    ),
    v6(
        [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
        48,
        "local-use NAT64, RFC 8215",
    ),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only, RFC 6666"),
    v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, "benchmarking, RFC 5180"),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, DOCS),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, DOCS),
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, ULA),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local"),
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "site-local, deprecated"),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast"),
];

/// The IPv4 address an IPv6 one carries: `::ffff:a.b.c.d` (mapped), 6to4
/// (`2002:aabb:ccdd::/48`) or NAT64 (`64:ff9b::a.b.c.d`).
///
/// ```
/// use std::net::Ipv4Addr;
/// let ip = |s: &str| s.parse().unwrap();
/// assert_eq!(solo_http::embedded_ipv4(ip("::ffff:10.0.0.1")), Some(Ipv4Addr::new(10, 0, 0, 1)));
/// assert_eq!(solo_http::embedded_ipv4(ip("2002:a9fe:a9fe::1")), Some(Ipv4Addr::new(169, 254, 169, 254)));
/// assert_eq!(solo_http::embedded_ipv4(ip("64:ff9b::7f00:1")), Some(Ipv4Addr::LOCALHOST));
/// assert_eq!(solo_http::embedded_ipv4(ip("2001:db8::1")), None);
/// ```
pub fn embedded_ipv4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(ip) = ip else {
        return None;
    };
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        _ => None,
    }
}

/// The special (non-public) network `ip` is in, if any; an IPv6 address
/// that carries an IPv4 one (see [`embedded_ipv4`]) is in the network of
/// the address it carries.
///
/// ```
/// let ip = |s: &str| s.parse().unwrap();
/// assert_eq!(solo_http::special_range(ip("169.254.169.254")).unwrap().net.to_string(), "169.254.0.0/16");
/// assert_eq!(solo_http::special_range(ip("::ffff:127.0.0.1")).unwrap().name, "loopback");
/// assert!(solo_http::special_range(ip("93.184.216.34")).is_none());
/// ```
pub fn special_range(ip: IpAddr) -> Option<SpecialRange> {
    let ip = embedded_ipv4(ip).map_or(ip, IpAddr::V4);
    let table: &[SpecialRange] = match ip {
        IpAddr::V4(_) => &SPECIAL_V4,
        IpAddr::V6(_) => &SPECIAL_V6,
    };
    table.iter().find(|r| r.net.contains(&ip)).copied()
}

/// Which addresses a [`Client`](crate::Client) may connect to, checked
/// on every address it connects to, after DNS (see
/// [`ClientBuilder::address_policy`](crate::ClientBuilder::address_policy)).
///
/// The most specific rule that contains the address wins (deny wins a
/// tie); when none does, [`public_only`](AddressPolicy::public_only)
/// refuses the networks of [`special_range`] and
/// [`allow_all`](AddressPolicy::allow_all) allows.
///
/// ```
/// use solo_http::AddressPolicy;
/// let ip = |s: &str| s.parse().unwrap();
/// let p = AddressPolicy::public_only()
///     .allow("127.0.0.0/8".parse().unwrap())
///     .deny("127.0.0.2/32".parse().unwrap());
/// assert!(p.check(ip("127.0.0.1")).is_ok());
/// assert!(p.check(ip("93.184.216.34")).is_ok());
/// let refused = p.check(ip("127.0.0.2")).unwrap_err();
/// assert_eq!(refused.to_string(), "127.0.0.2 is in 127.0.0.2/32 (denied by a rule)");
/// let refused = p.check(ip("10.0.0.5")).unwrap_err();
/// assert_eq!(refused.to_string(), "10.0.0.5 is in 10.0.0.0/8 (private network, RFC 1918)");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    public_only: bool,
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
}

impl AddressPolicy {
    /// Every address allowed unless a [`deny`](AddressPolicy::deny) rule
    /// says otherwise (the default of a client).
    ///
    /// ```
    /// assert!(solo_http::AddressPolicy::allow_all().check("127.0.0.1".parse().unwrap()).is_ok());
    /// ```
    pub fn allow_all() -> AddressPolicy {
        AddressPolicy::default()
    }

    /// Only public Internet addresses: loopback, private (RFC 1918,
    /// unique-local IPv6), link-local (cloud metadata included),
    /// carrier-grade NAT, multicast, broadcast, unspecified, documentation,
    /// benchmarking and reserved ranges are refused, in their IPv4-mapped,
    /// 6to4 and NAT64 forms too, unless an
    /// [`allow`](AddressPolicy::allow) rule says otherwise.
    ///
    /// ```
    /// let p = solo_http::AddressPolicy::public_only();
    /// assert!(p.check("169.254.169.254".parse().unwrap()).is_err());
    /// assert!(p.check("::ffff:192.168.1.1".parse().unwrap()).is_err());
    /// assert!(p.check("1.1.1.1".parse().unwrap()).is_ok());
    /// ```
    pub fn public_only() -> AddressPolicy {
        AddressPolicy {
            public_only: true,
            ..AddressPolicy::default()
        }
    }

    /// Allows the addresses in `net` (more specific deny rules still
    /// refuse theirs).
    ///
    /// ```
    /// let p = solo_http::AddressPolicy::public_only().allow("10.1.0.0/16".parse().unwrap());
    /// assert!(p.check("10.1.2.3".parse().unwrap()).is_ok());
    /// assert!(p.check("10.2.0.1".parse().unwrap()).is_err());
    /// ```
    pub fn allow(mut self, net: IpNet) -> AddressPolicy {
        self.allow.push(canonical_net(net));
        self
    }

    /// Refuses the addresses in `net` (more specific allow rules still
    /// allow theirs). A rule written in IPv4-mapped form
    /// (`::ffff:192.0.2.0/120`) means its IPv4 network, as addresses are
    /// checked in their IPv4 form.
    ///
    /// ```
    /// let p = solo_http::AddressPolicy::allow_all().deny("192.0.2.0/24".parse().unwrap());
    /// assert!(p.check("192.0.2.7".parse().unwrap()).is_err());
    /// let p = solo_http::AddressPolicy::allow_all().deny("::ffff:127.0.0.1/128".parse().unwrap());
    /// assert!(p.check("127.0.0.1".parse().unwrap()).is_err());
    /// assert!(p.check("::ffff:127.0.0.1".parse().unwrap()).is_err());
    /// ```
    pub fn deny(mut self, net: IpNet) -> AddressPolicy {
        self.deny.push(canonical_net(net));
        self
    }

    /// Whether a deny rule refuses every address of `net`, and is no
    /// more specific than it (so that an allow rule for `net` would win
    /// by being more specific). A caller that opens networks of its own
    /// (a crawler opening its start URLs' networks) leaves those out, so
    /// that the user's deny rules win over them.
    ///
    /// ```
    /// let p = solo_http::AddressPolicy::public_only().deny("127.0.0.0/7".parse().unwrap());
    /// assert!(p.denies_all_of("127.0.0.1/32".parse().unwrap()));
    /// assert!(p.denies_all_of("127.0.0.0/8".parse().unwrap()));
    /// assert!(!p.denies_all_of("10.0.0.0/8".parse().unwrap()));
    /// ```
    pub fn denies_all_of(&self, net: IpNet) -> bool {
        let net = canonical_net(net);
        self.deny.iter().any(|d| d.contains(&net))
    }

    /// Whether the policy allows every address (no preset, no deny rule).
    ///
    /// ```
    /// assert!(solo_http::AddressPolicy::allow_all().allows_all());
    /// assert!(!solo_http::AddressPolicy::public_only().allows_all());
    /// ```
    pub fn allows_all(&self) -> bool {
        !self.public_only && self.deny.is_empty()
    }

    /// Whether `ip` may be connected to; if not, why.
    ///
    /// ```
    /// let p = solo_http::AddressPolicy::public_only();
    /// let why = p.check("fe80::1".parse().unwrap()).unwrap_err();
    /// assert_eq!(why.network.to_string(), "fe80::/10");
    /// ```
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let ip = ip.to_canonical();
        let forms = [Some(ip), embedded_ipv4(ip).map(IpAddr::V4)];
        let forms = forms.iter().flatten();
        // The most specific rule: fewest host bits; deny wins a tie.
        let mut best: Option<(u8, bool, IpNet)> = None;
        for form in forms.clone() {
            for (nets, deny) in [(&self.allow, false), (&self.deny, true)] {
                for net in nets.iter().filter(|n| n.contains(form)) {
                    let host_bits = net.max_prefix_len() - net.prefix_len();
                    let better = match best {
                        None => true,
                        Some((b, d, _)) => host_bits < b || (host_bits == b && deny && !d),
                    };
                    if better {
                        best = Some((host_bits, deny, *net));
                    }
                }
            }
        }
        match best {
            Some((_, false, _)) => Ok(()),
            Some((_, true, net)) => Err(Refused {
                addr: ip,
                network: net,
                reason: "denied by a rule",
            }),
            None if self.public_only => match special_range(ip) {
                Some(r) => Err(Refused {
                    addr: ip,
                    network: r.net,
                    reason: r.name,
                }),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }
}

/// `net` truncated to its network, and in IPv4 form when it is written
/// in IPv4-mapped form (`::ffff:a.b.c.d/n`, n >= 96): addresses are
/// checked in their IPv4 form, which an IPv6 rule never contains.
fn canonical_net(net: IpNet) -> IpNet {
    let net = net.trunc();
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        _ => net,
    }
}

/// Why an [`AddressPolicy`] refused an address: the address and the
/// network (rule) it fell in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The address refused.
    pub addr: IpAddr,
    /// The network of the rule that refused it (a deny rule, or one of
    /// the special ranges).
    pub network: IpNet,
    /// What that network is (`"loopback"`, `"denied by a rule"`, ...).
    pub reason: &'static str,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is in {} ({})", self.addr, self.network, self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn range_of(s: &str) -> Option<String> {
        special_range(ip(s)).map(|r| r.net.to_string())
    }

    #[test]
    fn every_special_ipv4_range_is_classified() {
        for (addr, net) in [
            ("0.0.0.0", "0.0.0.0/8"),
            ("0.1.2.3", "0.0.0.0/8"),
            ("10.0.0.5", "10.0.0.0/8"),
            ("10.255.255.255", "10.0.0.0/8"),
            ("100.64.0.1", "100.64.0.0/10"),
            ("100.100.100.200", "100.64.0.0/10"), // Alibaba Cloud metadata
            ("100.127.255.255", "100.64.0.0/10"),
            ("127.0.0.1", "127.0.0.0/8"),
            ("127.255.0.9", "127.0.0.0/8"),
            ("169.254.169.254", "169.254.0.0/16"), // AWS, GCP, Azure metadata
            ("169.254.0.1", "169.254.0.0/16"),
            ("172.16.0.1", "172.16.0.0/12"),
            ("172.31.255.254", "172.16.0.0/12"),
            ("192.0.0.170", "192.0.0.0/24"),
            ("192.0.2.1", "192.0.2.0/24"),
            ("192.88.99.1", "192.88.99.0/24"),
            ("192.168.1.1", "192.168.0.0/16"),
            ("198.18.0.1", "198.18.0.0/15"),
            ("198.19.255.255", "198.18.0.0/15"),
            ("198.51.100.7", "198.51.100.0/24"),
            ("203.0.113.9", "203.0.113.0/24"),
            ("224.0.0.1", "224.0.0.0/4"),
            ("239.255.255.250", "224.0.0.0/4"),
            ("240.0.0.1", "240.0.0.0/4"),
            ("255.255.255.255", "255.255.255.255/32"),
        ] {
            assert_eq!(range_of(addr).as_deref(), Some(net), "{addr}");
        }
        assert_eq!(
            special_range(ip("255.255.255.255")).unwrap().name,
            "broadcast"
        );
        assert_eq!(special_range(ip("0.0.0.0")).unwrap().net.prefix_len(), 8);
    }

    #[test]
    fn public_ipv4_neighbours_of_special_ranges_are_public() {
        for addr in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.255",
            "192.0.3.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert_eq!(range_of(addr), None, "{addr}");
        }
    }

    #[test]
    fn every_special_ipv6_range_is_classified() {
        for (addr, net) in [
            ("::", "::/128"),
            ("::1", "::1/128"),
            ("::10.0.0.1", "::/96"),
            ("::ffff:0:a00:1", "::ffff:0:0:0/96"),
            ("64:ff9b:1::1", "64:ff9b:1::/48"),
            ("100::1", "100::/64"),
            ("2001:2::1", "2001:2::/48"),
            ("2001:db8::1", "2001:db8::/32"),
            ("3fff::1", "3fff::/20"),
            ("fc00::1", "fc00::/7"),
            ("fd00:ec2::254", "fc00::/7"), // AWS metadata over IPv6
            ("fe80::1", "fe80::/10"),
            ("febf::1", "fe80::/10"),
            ("fec0::1", "fec0::/10"),
            ("ff02::1", "ff00::/8"),
        ] {
            assert_eq!(range_of(addr).as_deref(), Some(net), "{addr}");
        }
        for addr in [
            "2606:4700::1111",
            "2a00:1450::1",
            "2001:4860::8888",
            "fe00::1",
        ] {
            assert_eq!(range_of(addr), None, "{addr}");
        }
    }

    #[test]
    fn mapped_6to4_and_nat64_forms_are_judged_by_their_ipv4() {
        for (addr, net) in [
            ("::ffff:127.0.0.1", "127.0.0.0/8"),
            ("::ffff:10.1.2.3", "10.0.0.0/8"),
            ("::ffff:169.254.169.254", "169.254.0.0/16"),
            ("::ffff:100.64.0.1", "100.64.0.0/10"),
            ("::ffff:0.0.0.0", "0.0.0.0/8"),
            ("2002:7f00:1::", "127.0.0.0/8"),
            ("2002:a9fe:a9fe::1", "169.254.0.0/16"),
            ("2002:c0a8:101::1", "192.168.0.0/16"),
            ("2002:ac10::1", "172.16.0.0/12"),
            ("64:ff9b::127.0.0.1", "127.0.0.0/8"),
            ("64:ff9b::a9fe:a9fe", "169.254.0.0/16"),
            ("64:ff9b::10.0.0.1", "10.0.0.0/8"),
            ("64:ff9b::e000:1", "224.0.0.0/4"),
        ] {
            assert_eq!(range_of(addr).as_deref(), Some(net), "{addr}");
        }
        for addr in ["::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::8.8.8.8"] {
            assert_eq!(range_of(addr), None, "{addr}");
        }
    }

    #[test]
    fn public_only_refuses_special_ranges_and_allows_the_rest() {
        let p = AddressPolicy::public_only();
        for addr in [
            "127.0.0.1",
            "::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "fd12::1",
        ] {
            let e = p.check(ip(addr)).unwrap_err();
            assert!(
                e.to_string().starts_with(&format!("{} is in ", e.addr)),
                "{e}"
            );
        }
        assert!(p.check(ip("93.184.216.34")).is_ok());
        assert!(p.check(ip("2606:4700::1111")).is_ok());
        // The refusal names the canonical address.
        let e = p.check(ip("::ffff:169.254.169.254")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "169.254.169.254 is in 169.254.0.0/16 (link-local; cloud metadata services live here)"
        );
        assert!(AddressPolicy::allow_all().check(ip("127.0.0.1")).is_ok());
    }

    #[test]
    fn the_most_specific_rule_wins_and_deny_wins_a_tie() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        let p = AddressPolicy::public_only()
            .allow(net("127.0.0.0/8"))
            .deny(net("127.0.0.2/32"))
            .allow(net("10.0.0.0/8"))
            .deny(net("10.0.0.0/8"))
            .deny(net("192.168.0.0/16"))
            .allow(net("192.168.7.0/24"));
        assert!(p.check(ip("127.0.0.1")).is_ok());
        assert!(p.check(ip("::ffff:127.0.0.1")).is_ok());
        let e = p.check(ip("127.0.0.2")).unwrap_err();
        assert_eq!(e.network, net("127.0.0.2/32"));
        assert_eq!(e.reason, "denied by a rule");
        // The same address in IPv6 clothing is refused by the same rule.
        for form in ["::ffff:127.0.0.2", "2002:7f00:2::1", "64:ff9b::7f00:2"] {
            assert_eq!(p.check(ip(form)).unwrap_err().network, net("127.0.0.2/32"));
        }
        assert!(p.check(ip("10.9.9.9")).is_err());
        assert!(p.check(ip("192.168.7.1")).is_ok());
        assert!(p.check(ip("192.168.8.1")).is_err());
        // Rules are truncated to their network.
        let p = AddressPolicy::allow_all().deny(net("8.8.8.8/24"));
        assert_eq!(
            p.check(ip("8.8.8.1")).unwrap_err().network,
            net("8.8.8.0/24")
        );
        assert!(!p.allows_all());
        // An allow rule opens a special range under the preset.
        let p = AddressPolicy::public_only().allow(net("::/0"));
        assert!(p.check(ip("fe80::1")).is_ok());
        assert!(p.check(ip("10.0.0.1")).is_err());
    }
}
