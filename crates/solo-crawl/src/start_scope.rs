//! The networks a crawl's start URLs open in the address guard.
//!
//! Owns: which special (non-public) networks the default guard lets a
//! crawl reach because its start URLs are there, so that a crawl of
//! `http://127.0.0.1:8000/` or of an intranet host works with no flag.
//! Must not: resolve names (the engine does, once, before the crawl) or
//! connect (solo-http's connector checks every address).
//!
//! Design: what the user typed is trusted, what DNS answered is not. A
//! start URL whose host is an address opens that address's network. A
//! start host that is a name opens its own answers, each address alone
//! (not its network: one seed of a long list that resolves to 10.1.2.3
//! must not open 10.0.0.0/8 to every link of the crawl), and only when
//! every answer is special (an intranet or local name: a name with
//! public addresses is a public site, and a private answer beside them
//! is a DNS trick), and then only in networks where sites live (loopback,
//! RFC 1918, carrier-grade NAT, unique local): never link-local, where
//! cloud metadata services answer, nor "this network", multicast or the
//! reserved ranges. What is not opened is said once, with the flag that
//! opens it; what is opened is logged at info. The guard is by address:
//! an opened address is open on every port, to every name that resolves
//! to it.

use std::net::IpAddr;

use solo_http::{special_range, IpNet};

/// What one start host opens: networks, and a warning for what its
/// answers asked for and did not get.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Opened {
    pub(crate) nets: Vec<IpNet>,
    pub(crate) warning: Option<String>,
}

/// The networks start host `host` opens, given DNS's `answers` (for an
/// address literal, the address itself).
pub(crate) fn opened(host: &str, answers: &[IpAddr]) -> Opened {
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok();
    let special: Vec<_> = answers
        .iter()
        .filter_map(|ip| special_range(*ip).map(|r| (*ip, r)))
        .collect();
    let mut out = Opened::default();
    if special.is_empty() {
        return out;
    }
    if !literal && special.len() < answers.len() {
        let ips: Vec<String> = answers.iter().map(IpAddr::to_string).collect();
        out.warning = Some(format!(
            "start host {host} resolves to public and non-public addresses ({}): its non-public ones are refused like any link's (--allow-network CIDR to crawl them)",
            ips.join(", ")
        ));
        return out;
    }
    let mut refused = Vec::new();
    for (ip, r) in special {
        if literal || r.hosts_sites() {
            let net = if literal { r.net } else { IpNet::from(ip) };
            if !out.nets.contains(&net) {
                out.nets.push(net);
            }
        } else if !refused.iter().any(|(n, _)| *n == r.net) {
            refused.push((r.net, r.name));
        }
    }
    if !refused.is_empty() {
        let what: Vec<String> = refused
            .iter()
            .map(|(n, why)| format!("{n} ({why})"))
            .collect();
        out.warning = Some(format!(
            "start host {host} resolves into {}: not opened by a name's answer (--allow-network CIDR to crawl it)",
            what.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(s: &[&str]) -> Vec<IpAddr> {
        s.iter().map(|a| a.parse().unwrap()).collect()
    }

    fn nets(o: &Opened) -> Vec<String> {
        o.nets.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn typed_addresses_open_their_network() {
        let o = opened("127.0.0.1", &ips(&["127.0.0.1"]));
        assert_eq!(
            (nets(&o), o.warning),
            (vec!["127.0.0.0/8".to_owned()], None)
        );
        let o = opened("[::1]", &ips(&["::1"]));
        assert_eq!(nets(&o), ["::1/128"]);
        // The user typed it: even link-local.
        assert_eq!(
            nets(&opened("169.254.169.254", &ips(&["169.254.169.254"]))),
            ["169.254.0.0/16"]
        );
        assert!(opened("93.184.216.34", &ips(&["93.184.216.34"]))
            .nets
            .is_empty());
    }

    #[test]
    fn a_local_or_intranet_name_opens_its_own_addresses_only() {
        let o = opened("localhost", &ips(&["127.0.0.1", "::1"]));
        assert_eq!(
            (nets(&o), o.warning),
            (vec!["127.0.0.1/32".to_owned(), "::1/128".to_owned()], None)
        );
        // Not 10.0.0.0/8: a seed resolving there opened the whole network
        // to every link and redirect of the crawl.
        assert_eq!(
            nets(&opened("wiki.corp", &ips(&["10.1.2.3", "10.1.2.4"]))),
            ["10.1.2.3/32", "10.1.2.4/32"]
        );
    }

    #[test]
    fn a_name_does_not_open_metadata_or_this_network() {
        // A start host's DNS adding 169.254.169.254 or 0.0.0.0 opened
        // those networks for the whole crawl.
        let o = opened(
            "start.test",
            &ips(&["127.0.0.1", "169.254.169.254", "0.0.0.0"]),
        );
        assert_eq!(nets(&o), ["127.0.0.1/32"]);
        let w = o.warning.unwrap();
        assert!(
            w.contains("169.254.0.0/16")
                && w.contains("0.0.0.0/8")
                && w.contains("--allow-network"),
            "{w}"
        );
    }

    #[test]
    fn a_public_name_with_a_private_answer_opens_nothing() {
        let o = opened("shop.example", &ips(&["93.184.216.34", "10.0.0.5"]));
        assert!(o.nets.is_empty());
        assert!(o.warning.unwrap().contains("public and non-public"));
        assert_eq!(
            opened("shop.example", &ips(&["93.184.216.34"])),
            Opened::default()
        );
    }
}
