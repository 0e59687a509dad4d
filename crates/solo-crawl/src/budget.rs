//! The body budget: how many bytes of response bodies a crawl holds at once.
//!
//! Owns: [`BodyBudget`], one per crawl, and the [`Lease`] each download
//! takes from it. A download charges its body's growth to its lease as the
//! chunks arrive; the lease (and so the charge) lives as long as the body
//! bytes do — through the spider's parse — and is returned when they are
//! dropped, on whatever thread. A download that cannot be charged waits
//! (its socket is not read, so the server is held back by TCP) until
//! another download returns bytes.
//!
//! Deadlock: if every download held part of the budget and waited for
//! more, none could finish. So the budget is split in a shared pool
//! (`total - max_body`) and a lane of `max_body` bytes that one download
//! at a time may hold: a download that cannot be charged from the pool
//! takes the lane when it is free (its pool bytes move onto the lane), and
//! on the lane it never waits. The lane's holder always finishes (or
//! fails), which frees the lane for the next one; the bytes held never
//! exceed `total`. Must not: know about HTTP or read any socket.

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The bytes of bodies a crawl may hold at once (see the module docs).
#[derive(Clone)]
pub struct BodyBudget(Arc<Mutex<Inner>>);

struct Inner {
    /// Bytes shared by the downloads off the lane.
    pool: usize,
    /// Of those, held now.
    used: usize,
    /// The lane's holder, if any, and what it holds.
    lane: Option<u64>,
    lane_used: usize,
    next_id: u64,
    /// Most bytes held at once.
    peak: usize,
    waiters: Vec<Waker>,
}

impl std::fmt::Debug for BodyBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.lock();
        write!(
            f,
            "BodyBudget(pool {}/{}, lane {})",
            g.used, g.pool, g.lane_used
        )
    }
}

impl BodyBudget {
    /// A budget of `total` bytes for bodies of at most `max_body` bytes
    /// (`total` below `max_body` counts as `max_body`).
    pub fn new(total: usize, max_body: usize) -> BodyBudget {
        BodyBudget(Arc::new(Mutex::new(Inner {
            pool: total.saturating_sub(max_body),
            used: 0,
            lane: None,
            lane_used: 0,
            next_id: 0,
            peak: 0,
            waiters: Vec::new(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A lease for one body, holding nothing yet.
    pub fn lease(&self) -> Lease {
        let mut g = self.lock();
        g.next_id += 1;
        Lease {
            budget: self.clone(),
            id: g.next_id,
            held: 0,
            on_lane: false,
        }
    }

    /// Bytes held now, by all leases.
    pub fn in_use(&self) -> usize {
        let g = self.lock();
        g.used + g.lane_used
    }

    /// The most bytes held at once so far.
    pub fn peak(&self) -> usize {
        self.lock().peak
    }
}

/// One body's share of a [`BodyBudget`]; returned when dropped.
pub struct Lease {
    budget: BodyBudget,
    id: u64,
    held: usize,
    on_lane: bool,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lease({} bytes, lane {})", self.held, self.on_lane)
    }
}

impl Lease {
    /// Waits until `n` more bytes may be held, then holds them. The caller
    /// keeps a body within the budget's `max_body`.
    pub async fn grow(&mut self, n: usize) {
        poll_fn(|cx| self.try_grow(n, cx)).await
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.held
    }

    fn try_grow(&mut self, n: usize, cx: &mut Context<'_>) -> Poll<()> {
        let budget = self.budget.clone();
        let mut g = budget.lock();
        if self.on_lane {
            g.lane_used += n;
        } else if g.used + n <= g.pool {
            g.used += n;
        } else if g.lane.is_none() {
            // Onto the lane, with what this lease held in the pool.
            g.lane = Some(self.id);
            g.used -= self.held;
            g.lane_used = self.held + n;
            self.on_lane = true;
            // The pool has room again.
            wake_all(&mut g);
        } else {
            if !g.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                g.waiters.push(cx.waker().clone());
            }
            return Poll::Pending;
        }
        self.held += n;
        g.peak = g.peak.max(g.used + g.lane_used);
        Poll::Ready(())
    }
}

fn wake_all(g: &mut Inner) {
    for w in g.waiters.drain(..) {
        w.wake();
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.held == 0 && !self.on_lane {
            return;
        }
        let mut g = self.budget.lock();
        if self.on_lane {
            g.lane = None;
            g.lane_used = 0;
        } else {
            g.used -= self.held;
        }
        wake_all(&mut g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    #[test]
    fn waiters_go_on_when_bytes_come_back_and_the_lane_prevents_deadlock() {
        // A pool of 10 and a lane of 10. Four downloads of 10 bytes, each
        // growing a byte at a time: without the lane all four could hold
        // part of the pool and wait forever.
        let budget = BodyBudget::new(20, 10);
        let done = Rc::new(Cell::new(0));
        solo::run(async {
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    let (budget, done) = (budget.clone(), done.clone());
                    solo::spawn(async move {
                        let mut l = budget.lease();
                        for _ in 0..10 {
                            l.grow(1).await;
                            assert!(budget.in_use() <= 20);
                            solo::sleep(Duration::from_millis(1)).await;
                        }
                        done.set(done.get() + 1);
                    })
                })
                .collect();
            let results = solo::timeout(Duration::from_secs(10), solo::gather(tasks))
                .await
                .expect("no deadlock");
            assert!(results.iter().all(|r| r.is_ok()));
        });
        assert_eq!(done.get(), 4);
        assert_eq!(budget.in_use(), 0);
        assert!(
            budget.peak() <= 20 && budget.peak() >= 10,
            "{}",
            budget.peak()
        );
    }

    #[test]
    fn a_budget_of_one_body_serializes_downloads() {
        let budget = BodyBudget::new(5, 5);
        solo::run(async {
            let mut a = budget.lease();
            a.grow(5).await; // the lane
            let b = budget.clone();
            let waiting = solo::spawn(async move {
                let mut l = b.lease();
                l.grow(1).await;
                l.held()
            });
            solo::sleep(Duration::from_millis(20)).await;
            assert!(!waiting.is_done(), "waits while the lane is taken");
            drop(a);
            assert_eq!(waiting.await.unwrap(), 1);
        });
    }
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn example_1() {
        use solo_crawl::budget::BodyBudget;
        let budget = BodyBudget::new(100, 60); // a pool of 40, a lane of 60
        solo::run(async {
            let mut a = budget.lease();
            a.grow(40).await; // from the pool
            let mut b = budget.lease();
            b.grow(60).await; // the pool is spent: b takes the lane
            assert_eq!(budget.in_use(), 100);
            drop(a);
            assert_eq!(budget.in_use(), 60);
        });
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.peak(), 100);
    }
}
