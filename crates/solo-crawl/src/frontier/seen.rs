//! The frontier's seen set, with each URL's depth when a depth limit
//! makes it matter.
//!
//! Owns: what a fingerprint met again means — new, seen, or seen deeper
//! (a shorter path to it was found: with a depth limit, the URL is taken
//! again at the smaller depth, so that its links get their right depth
//! and pages within the limit are reached) — and which queued entries a
//! shorter path has made stale. Must not: queue anything (the frontier
//! does).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::{IdHasher, SeenSet};

/// Fingerprint to the smallest depth it was taken at.
type Depths = HashMap<u64, u32, BuildHasherDefault<IdHasher>>;

/// What a fingerprint met again is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Met {
    /// Never taken.
    New,
    /// Taken before at this depth or a smaller one.
    Seen,
    /// Taken before at a larger depth (with a depth limit only).
    Shallower,
}

/// The seen set: fingerprints only (8 bytes a URL), or with a depth limit
/// each one's smallest depth (16 bytes a URL).
pub(super) enum Seen {
    Plain(SeenSet),
    Depths(Depths),
}

impl Seen {
    /// A set that keeps depths when `depths`.
    pub(super) fn new(depths: bool) -> Seen {
        match depths {
            true => Seen::Depths(Depths::default()),
            false => Seen::Plain(SeenSet::default()),
        }
    }

    /// What `fp`, found at `depth`, is (one lookup).
    pub(super) fn met(&self, fp: u64, depth: u32) -> Met {
        match self {
            Seen::Plain(s) if s.contains(&fp) => Met::Seen,
            Seen::Plain(_) => Met::New,
            Seen::Depths(d) => match d.get(&fp) {
                None => Met::New,
                Some(&old) if old <= depth => Met::Seen,
                Some(_) => Met::Shallower,
            },
        }
    }

    /// Whether `fp` was taken, at any depth.
    pub(super) fn contains(&self, fp: u64) -> bool {
        match self {
            Seen::Plain(s) => s.contains(&fp),
            Seen::Depths(d) => d.contains_key(&fp),
        }
    }

    /// `fp` is taken at `depth` (smaller than any depth before).
    pub(super) fn insert(&mut self, fp: u64, depth: u32) {
        match self {
            Seen::Plain(s) => {
                s.insert(fp);
            }
            Seen::Depths(d) => {
                d.insert(fp, depth);
            }
        }
    }

    /// `fp`'s page is done and a shorter path would change nothing (it
    /// has no links to give smaller depths: an error, a non-HTML or a
    /// link-less page): it is never taken again.
    pub(super) fn settle(&mut self, fp: u64) {
        if let Seen::Depths(d) = self {
            if let Some(depth) = d.get_mut(&fp) {
                *depth = 0;
            }
        }
    }

    /// Whether depths are kept (a depth limit is set).
    pub(super) fn keeps_depths(&self) -> bool {
        matches!(self, Seen::Depths(_))
    }

    /// A queued request (not a retry) of `fp` at `depth` was taken again
    /// at a smaller depth since: the entry taken later goes instead.
    pub(super) fn is_stale(&self, fp: u64, depth: u32) -> bool {
        match self {
            Seen::Plain(_) => false,
            Seen::Depths(d) => d.get(&fp).is_some_and(|&min| min < depth),
        }
    }

    /// A stored request comes back at `depth`: its depth is known from
    /// now on (fingerprints restored without one count as depth 0).
    pub(super) fn restored(&mut self, fp: u64, depth: u32) {
        if let Seen::Depths(d) = self {
            let min = d.entry(fp).or_insert(depth);
            if *min == 0 || *min > depth {
                *min = depth;
            }
        }
    }

    /// Fingerprints of a stored crawl (their depths are lost: as if 0,
    /// so pages fetched before the stop are not taken again).
    pub(super) fn extend(&mut self, fps: &[u64]) {
        match self {
            Seen::Plain(s) => {
                s.reserve(fps.len());
                s.extend(fps.iter().copied());
            }
            Seen::Depths(d) => {
                d.reserve(fps.len());
                d.extend(fps.iter().map(|&fp| (fp, 0)));
            }
        }
    }

    /// Forgets everything (keeping whether depths are kept).
    pub(super) fn clear(&mut self) {
        *self = Seen::new(matches!(self, Seen::Depths(_)));
    }

    /// Fingerprints seen.
    pub(super) fn len(&self) -> usize {
        match self {
            Seen::Plain(s) => s.len(),
            Seen::Depths(d) => d.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shorter_path_is_told_apart_only_when_depths_are_kept() {
        let mut plain = Seen::new(false);
        plain.insert(7, 3);
        assert_eq!(plain.met(7, 1), Met::Seen);
        assert!(!plain.is_stale(7, 3));
        let mut d = Seen::new(true);
        assert_eq!(d.met(7, 3), Met::New);
        d.insert(7, 3);
        assert_eq!((d.met(7, 3), d.met(7, 4)), (Met::Seen, Met::Seen));
        assert_eq!(d.met(7, 2), Met::Shallower);
        d.insert(7, 2);
        assert!(d.is_stale(7, 3) && !d.is_stale(7, 2));
        // Restored without depths: never taken again.
        d.extend(&[9]);
        assert_eq!(d.met(9, 0), Met::Seen);
        d.restored(9, 4);
        assert_eq!(d.met(9, 3), Met::Shallower);
        // A page with no links is never taken again.
        d.insert(11, 3);
        d.settle(11);
        assert_eq!(d.met(11, 1), Met::Seen);
        d.clear();
        assert_eq!((d.len(), d.met(7, 9)), (0, Met::New));
    }
}
