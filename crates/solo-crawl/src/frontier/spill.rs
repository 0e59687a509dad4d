//! The frontier's side of a state store: what a store keeps and gets back.
//!
//! Owns: requests set aside when the page budget is spent (parked or
//! dropped), the fingerprints and leases of dropped requests for the
//! engine to store or end, draining for a leaving worker, the memory cap
//! and what was spilled over it, and restoring a stored crawl under the
//! current rules. Must not: do the I/O (the engine does).

use super::seen::Seen;
use super::{Frontier, HostId, Rejected, UNSPILL_BATCH};
use crate::canon::host_key;
use crate::request::Request;

impl<C> Frontier<C> {
    /// A request the spent page budget turns away: parked in the state
    /// store for a run with a larger budget (see `keeps_parked`), or
    /// dropped.
    pub(super) fn set_aside(&mut self, request: &Request<C>) {
        match self.keeps_parked() {
            true => self.parked += 1,
            false => self.forget(request),
        }
    }

    /// Remembers a dropped request, for the store.
    pub(super) fn forget(&mut self, request: &Request<C>) {
        if let Some(id) = request.extras().lease {
            self.dropped_leases.push(id);
        }
        if self.cap.is_some() {
            self.dropped.push(request.key());
        }
    }

    /// Fingerprints of the requests dropped for good (robots.txt, page
    /// budget) since the last call; only tracked with a store.
    pub(crate) fn take_dropped(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.dropped)
    }

    /// Leases of requests dropped for good (robots.txt) since the last
    /// call, for the engine to end.
    pub(crate) fn take_dropped_leases(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.dropped_leases)
    }

    /// Takes every request not started (queued, or waiting for a retry),
    /// for a worker that leaves to give back.
    pub(crate) fn drain(&mut self) -> Vec<Request<C>> {
        let mut out: Vec<Request<C>> = self.delayed.drain().map(|d| d.request).collect();
        for hs in &mut self.hosts {
            out.extend(hs.queue.drain().map(|e| e.request));
        }
        self.queued = 0;
        out
    }

    /// Forgets the URLs seen (a worker of a shared crawl whose Redis went
    /// back to an earlier state: Redis's seen set decides again).
    pub(crate) fn forget_seen(&mut self) {
        self.seen.clear();
    }

    /// The key (`host:port`) of `host`.
    pub(crate) fn host_name(&self, host: HostId) -> String {
        host_key(&self.hosts[host.0].origin)
    }

    /// Keeps at most `cap` requests in memory from now on; more are
    /// spilled (the engine stores them).
    pub(crate) fn set_cap(&mut self, cap: usize) {
        self.cap = Some(cap.max(1));
    }

    /// A page is done (its record written): the pages done so far.
    pub(crate) fn page_done(&mut self) -> u64 {
        self.pages_done += 1;
        self.pages_done
    }

    /// Restores the seen set and progress of a stored crawl: `pages_done`
    /// count against the budget (requests in flight at the stop are
    /// queued again and count when started).
    pub(crate) fn restore_progress(&mut self, seen: &[u64], pages_done: u64, spilled: u64) {
        self.seen.extend(seen);
        self.dispatched = pages_done;
        self.pages_done = pages_done;
        self.spilled = spilled;
    }

    /// Queues a stored request again (already seen) under the crawl's
    /// current rules: a crawl resumed with `--force` and a narrower scope
    /// (a new `--deny`, a smaller `--depth`) drops what it queued before
    /// that the new rules refuse, counted like a link they refuse. A
    /// request of depth 0 (a start URL) is checked as one. A retry whose
    /// first try counted in the page budget still goes when it is spent,
    /// unless it is a known page of a recrawl pass.
    pub(crate) fn restore(&mut self, request: Request<C>) {
        let start = request.depth == 0 && request.previous().is_none();
        let refused = match self.admits(&request, start) {
            Err(Rejected::MaxPages) if request.retries > 0 && request.previous().is_none() => None,
            Err(why) => Some(why),
            Ok(()) => None,
        };
        if let Some(why) = refused {
            self.count(why);
            match why {
                Rejected::MaxPages => self.set_aside(&request),
                _ => self.forget(&request),
            }
            return;
        }
        let fp = match &self.seen {
            Seen::Depths(_) if !request.extras().dont_filter => Some(request.fingerprint()),
            _ => None,
        };
        if let Some(fp) = fp {
            self.seen.restored(fp, request.depth);
        }
        self.enqueue(request, fp);
    }

    /// How many spilled requests to take back from the store, if it is
    /// time: memory half empty, or down to [`UNSPILL_BATCH`] with a
    /// larger cap (a recrawl pass waits in the store whole: memory
    /// holds a batch or two of it at a time).
    pub(crate) fn wants_unspill(&self) -> Option<usize> {
        let cap = self.cap?;
        if self.budget_spent() {
            return None; // parked
        }
        let low = (cap / 2).min(UNSPILL_BATCH);
        (self.spilled > 0 && self.queued <= low).then(|| {
            (cap - self.queued)
                .min(self.spilled as usize)
                .min(UNSPILL_BATCH)
        })
    }

    /// Spilled requests came back: `asked` were asked for (fewer means the
    /// store has no more).
    pub(crate) fn unspilled(&mut self, requests: Vec<Request<C>>, asked: usize) {
        if requests.len() < asked {
            self.spilled = 0;
        } else {
            self.spilled = self.spilled.saturating_sub(requests.len() as u64);
        }
        for r in requests {
            self.restore(r);
        }
    }
}
