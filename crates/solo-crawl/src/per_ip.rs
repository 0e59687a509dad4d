//! Politeness by IP address: many host names on one server share one
//! budget of requests in flight (`--per-ip N`, as Heritrix's and BUbiNG's
//! per-IP queues do), so a shared host with a thousand virtual hosts is
//! not sent a thousand times `per_host` requests at once.
//!
//! Design. The frontier must not do I/O, so it cannot resolve names; with
//! a per-IP limit it asks the engine instead: a host's first job is
//! `Job::Resolve` (before its robots.txt and pages), which the engine
//! runs with the crawl's resolver (`Config::resolver`, else the system's;
//! one lookup per host, within `Config::timeout`) and reports back with
//! `Frontier::resolved`. The host then joins the group of its first
//! address — the one a connection tries first — here, and every job of
//! the group's hosts (robots.txt and pages) takes a slot of the group's
//! budget until it completes. A host whose group is full is parked in the
//! group; a freed slot wakes the parked hosts in the order they were
//! parked (round robin, as the frontier's ready queue is), and the first
//! to come up takes it. A host that does not resolve joins no group: its
//! fetch reports the DNS error as without the limit. The address is not
//! looked up again during the crawl (a host that moves keeps its group),
//! nor kept in `--state` (a resumed crawl resolves again). Without a
//! per-IP limit (the default) nothing is resolved ahead and no group
//! exists.
//!
//! Owns: the groups, their slots and their parked hosts. Must not: do I/O
//! or decide which request of a host goes next (the frontier does).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::frontier::HostId;

/// A group of hosts on one IP address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GroupId(usize);

struct Group {
    in_flight: usize,
    /// Hosts that had work while the group was full, oldest first.
    parked: Vec<HostId>,
    /// The same hosts, to park each once.
    is_parked: HashSet<HostId>,
}

/// The groups of hosts by address, and each group's budget.
pub(crate) struct PerIp {
    limit: usize,
    groups: Vec<Group>,
    index: HashMap<IpAddr, GroupId>,
}

impl PerIp {
    /// Groups with `limit` requests in flight each (at least 1).
    pub(crate) fn new(limit: usize) -> PerIp {
        PerIp {
            limit: limit.max(1),
            groups: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The group of `ip` (made on first use).
    pub(crate) fn group_of(&mut self, ip: IpAddr) -> GroupId {
        let next = GroupId(self.groups.len());
        let g = *self.index.entry(ip).or_insert(next);
        if g == next {
            self.groups.push(Group {
                in_flight: 0,
                parked: Vec::new(),
                is_parked: HashSet::new(),
            });
        }
        g
    }

    /// Whether `g` has a free slot.
    pub(crate) fn has_room(&self, g: GroupId) -> bool {
        self.groups[g.0].in_flight < self.limit
    }

    /// `host` has work but `g` is full: it waits for a slot.
    pub(crate) fn park(&mut self, g: GroupId, host: HostId) {
        let group = &mut self.groups[g.0];
        if group.is_parked.insert(host) {
            group.parked.push(host);
        }
    }

    /// A job of `g` started.
    pub(crate) fn start(&mut self, g: GroupId) {
        self.groups[g.0].in_flight += 1;
    }

    /// A job of `g` finished: the hosts parked in it, to be scheduled
    /// again (in the order they were parked).
    pub(crate) fn finish(&mut self, g: GroupId) -> Vec<HostId> {
        let group = &mut self.groups[g.0];
        group.in_flight = group.in_flight.saturating_sub(1);
        group.is_parked.clear();
        std::mem::take(&mut group.parked)
    }

    /// Jobs of `g` in flight.
    #[cfg(test)]
    pub(crate) fn in_flight(&self, g: GroupId) -> usize {
        self.groups[g.0].in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_one_group_one_budget() {
        let mut p = PerIp::new(2);
        let a = p.group_of([127, 0, 0, 1].into());
        let b = p.group_of("::1".parse().unwrap());
        assert_ne!(a, b);
        assert_eq!(p.group_of([127, 0, 0, 1].into()), a);
        p.start(a);
        assert!(p.has_room(a));
        p.start(a);
        assert!(!p.has_room(a) && p.has_room(b));
        p.park(a, HostId(3));
        p.park(a, HostId(1));
        p.park(a, HostId(3));
        assert_eq!(p.finish(a), [HostId(3), HostId(1)]);
        assert!(p.has_room(a));
        assert!(p.finish(a).is_empty());
        assert_eq!(p.in_flight(a), 0);
    }
}
