//! The task that trades a worker's outbox with Redis.
//!
//! Owns: the loop of steps until the goodbye — when to step (a wake from
//! the engine, a heartbeat, a hungry or idle worker's wait for news), the
//! blocking link on a helper thread, a Redis that is slow (said after
//! [`SLOW_ANSWER`]), down, read-only or lost (said once, retried with
//! backoff), and handing each reply's cookies and leases to the engine.
//! Must not: block the loop, or decide what a reply means (`step` reads
//! it).

use std::rc::Rc;
use std::time::Duration;

use super::step::{reply_json, reply_num, StepFlags};
use super::{on_thread, Leased, Params, Remote};
use crate::redis_link::{explain, transient, Link};

impl Remote {
    /// The task that trades the outbox with Redis until the goodbye;
    /// `cookie` puts the other workers' cookie changes into the jars
    /// (key, state or `None`: deleted), before `deliver` hands the leased
    /// requests of the same reply to the engine (an empty batch when only
    /// the crawl's state changed).
    pub(crate) async fn drive(
        self: Rc<Self>,
        link: Link,
        prefix: String,
        worker: String,
        params: Params,
        cookie: crate::session::News,
        deliver: Box<dyn Fn(Leased)>,
    ) {
        let mut link = Some(link);
        let shown = link.as_ref().map(|l| l.shown.clone()).unwrap_or_default();
        let beat = params.lease / 3;
        let mut outage: Option<std::time::Instant> = None;
        // Since when Redis answers READONLY: a failover in progress, or a
        // replica for good (the URL names a replica, or a demoted primary).
        let mut readonly: Option<std::time::Instant> = None;
        let mut backoff = Duration::from_millis(100);
        let mut flags = StepFlags::default();
        let mut poll = Duration::from_millis(5);
        // When this worker last said a step was slow to be answered.
        let mut slow_said: Option<std::time::Instant> = None;
        loop {
            let want = if self.out.borrow().bye {
                0
            } else {
                self.want.get()
            };
            if self.out.borrow().is_empty() && want == 0 {
                // Nothing to say: wait for news, or beat.
                let woke = solo::timeout(beat, self.wake.wait()).await.is_ok();
                self.wake.clear();
                if woke {
                    continue;
                }
            }
            self.wake.clear();
            let want = if self.out.borrow().bye {
                0
            } else {
                self.want.get().min(1024)
            };
            let batch = std::mem::take(&mut *self.out.borrow_mut());
            let args = self.args((&prefix, &worker), &params, &batch, want, flags);
            let p = prefix.clone();
            let sent = solo::time::now();
            self.busy.set(true);
            let r = {
                let step = std::pin::pin!(on_thread(&mut link, move |l| l.step(&p, &args)));
                answered(step, &shown, &mut slow_said).await
            };
            self.busy.set(false);
            match r {
                Ok(reply) => {
                    flags = StepFlags {
                        keep: false,
                        joined: true,
                    };
                    backoff = Duration::from_millis(100);
                    readonly = None;
                    if outage.take().is_some() {
                        crate::logs::message(format_args!(
                            "solo-crawl: redis {shown} is back: continuing\n"
                        ));
                    }
                    let done = reply.first().is_some_and(|d| d == b"1");
                    let count = |i: usize| reply_num(reply.get(i).map(Vec::as_slice));
                    self.shared.set((count(1), count(2)));
                    let due = Duration::from_millis(count(3));
                    // The engine held the leases back: they may be started
                    // again (or given up, if the step says so).
                    let gated = !self.leases_valid(sent);
                    self.valid_until.set(Some(sent + params.lease));
                    let reset = self.news(&shown, &params, count(4), count(5) == 1, count(6));
                    self.added.set(self.added.get() + count(7));
                    let mut it = reply.into_iter().skip(8);
                    // Cookies first: the leases may need them.
                    self.take_cookies(&mut it, &*cookie);
                    // Then the first lease's id and each lease's JSON.
                    let mut leased = Leased::new();
                    if let Some(first) = it.next() {
                        let first = reply_num(Some(&first));
                        for (k, json) in it.enumerate() {
                            leased.push((first.saturating_add(k as u64), reply_json(json)));
                        }
                    }
                    self.held
                        .borrow_mut()
                        .extend(leased.iter().map(|(id, _)| *id));
                    let changed = self.done.replace(done) != done;
                    if changed {
                        self.done_since.set(done.then(std::time::Instant::now));
                    }
                    let got = !leased.is_empty();
                    if got {
                        self.want.set(self.want.get().saturating_sub(leased.len()));
                    }
                    if got || changed || done || gated || reset {
                        deliver(leased);
                    }
                    if batch.bye {
                        break;
                    }
                    if !got && want > 0 && !self.held.borrow().is_empty() {
                        // Every host is busy or waiting for its delay (or
                        // freed slots go to hungry workers): this worker's
                        // own pages will have news.
                        let wait = if due > Duration::ZERO {
                            poll.min(due)
                        } else {
                            poll
                        };
                        let _ = solo::timeout(wait, self.wake.wait()).await;
                        poll = (poll * 2).min(Duration::from_millis(50));
                    } else if !got && want > 0 && due > Duration::ZERO && due < REDIS_TICK {
                        // Hungry, and a host's delay ends sooner than a
                        // BLPOP's timeout can (Redis ends those on its
                        // timer tick): wait for it here.
                        let _ = solo::timeout(due, self.wake.wait()).await;
                    } else if !got && want > 0 {
                        // Hungry (no lease held): wait for another worker's
                        // step to say a slot is free or work was queued
                        // (on the link's thread), at most `poll`.
                        // A Redis that hangs is as likely to be met here
                        // (an idle worker spends most of its time in this
                        // wait) as in a step: it is told the same way.
                        let (p, w, wait) = (prefix.clone(), worker.clone(), poll);
                        let waited = std::pin::pin!(
                            on_thread(&mut link, move |l| l.wait_wake(&p, &w, wait))
                        );
                        let _ = answered(waited, &shown, &mut slow_said).await;
                        // Waiting for pushed requests: fewer steps (a push
                        // wakes it; the script forgets a hungry worker
                        // after a second without a step).
                        let most = if done { IDLE_POLL } else { HUNGRY_POLL };
                        poll = (poll * 2).min(most);
                    } else {
                        poll = Duration::from_millis(5);
                    }
                }
                Err(e)
                    if e.code() == Some("READONLY")
                        && readonly
                            .get_or_insert_with(std::time::Instant::now)
                            .elapsed()
                            > params.lease =>
                {
                    // Read-only for longer than a lease: no failover is
                    // coming to this address.
                    *self.fatal.borrow_mut() = Some(explain(&failed_where(&link, &shown), &e));
                    deliver(Leased::new());
                    break;
                }
                Err(e) if transient(&e) => {
                    self.out.borrow_mut().put_back(batch);
                    // The reply may be lost with leases in it: next time,
                    // leases this worker does not hold go back.
                    flags.keep = true;
                    let since = *outage.get_or_insert_with(|| {
                        crate::logs::message(format_args!(
                            "solo-crawl: {}; pausing the shared frontier, retrying with backoff\n",
                            explain(&failed_where(&link, &shown), &e)
                        ));
                        std::time::Instant::now()
                    });
                    if self.out.borrow().bye && since.elapsed() > params.lease {
                        let leases = match self.held.borrow().len() {
                            0 => "this worker holds no lease".to_owned(),
                            n => format!("this worker's {n} leases expire in {:?}", params.lease),
                        };
                        crate::logs::message(format_args!(
                            "solo-crawl: redis {shown} still unreachable; leaving: {leases}\n"
                        ));
                        break;
                    }
                    solo::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    *self.fatal.borrow_mut() = Some(explain(&failed_where(&link, &shown), &e));
                    deliver(Leased::new());
                    break;
                }
            }
        }
        self.finished.set();
    }
}

/// How often Redis ends blocked clients' timeouts at its default `hz`
/// (10): a BLPOP asked to wait 5 ms returns after up to ~100 ms.
const REDIS_TICK: Duration = Duration::from_millis(100);

/// The longest wait between a hungry worker's steps while the crawl has
/// work out (others' pages will free slots soon).
const HUNGRY_POLL: Duration = Duration::from_millis(50);

/// The same while the crawl has nothing left and the worker waits for
/// requests pushed in: below the second after which the script stops
/// waking a hungry worker, so a push still wakes it at once.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// The Redis to name for a failure of `link` (which node of a cluster),
/// or `shown` while the link is away.
fn failed_where(link: &Option<Link>, shown: &str) -> String {
    link.as_ref()
        .map_or_else(|| shown.to_owned(), Link::failed_where)
}

/// How long a step may wait for Redis's answer before the worker says
/// so: a Redis that hangs (a fork under memory pressure, a network cut
/// without a reset) is otherwise only noticed at the socket's timeout.
const SLOW_ANSWER: Duration = Duration::from_secs(5);

/// The result of `step`; if it is not answered in [`SLOW_ANSWER`], says
/// so (at most once a minute), and again when the answer comes.
async fn answered<T>(
    mut step: std::pin::Pin<&mut impl std::future::Future<Output = Result<T, redis::RedisError>>>,
    shown: &str,
    said: &mut Option<std::time::Instant>,
) -> Result<T, redis::RedisError> {
    if let Ok(r) = solo::timeout(SLOW_ANSWER, step.as_mut()).await {
        return r;
    }
    let tell = said.is_none_or(|t| t.elapsed() > Duration::from_secs(60));
    if tell {
        *said = Some(std::time::Instant::now());
        crate::logs::message(format_args!(
            "solo-crawl: redis {shown} has not answered for {} s: the shared frontier waits \
             (the connection is given up after 30 s without an answer, then retried)\n",
            SLOW_ANSWER.as_secs()
        ));
    }
    let started = std::time::Instant::now() - SLOW_ANSWER;
    let r = step.await;
    if tell && r.is_ok() {
        crate::logs::message(format_args!(
            "solo-crawl: redis {shown} answered after {:.1} s: continuing\n",
            started.elapsed().as_secs_f64()
        ));
    }
    r
}
