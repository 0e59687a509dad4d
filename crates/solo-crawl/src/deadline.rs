//! A request's time limit that counts the request, not the loop's stalls.
//!
//! Owns: [`within`], the timeout every fetch runs under. A plain timeout
//! fires as soon as the loop looks at its timer; if the loop was stalled
//! (a long callback, a machine out of CPU), the answer may be sitting in
//! the socket, unread, when the timer is finally seen — and the request is
//! failed (then retried: downloaded again) for time it never had. Here a
//! timer that fires late by more than [`STALL`] counts as a stall: the
//! request gets that lateness back and runs on (at most `limit` in all, so
//! a loop that is always late still ends hung requests, at twice their
//! limit). And the request is always
//! polled before its timer, so one whose answer is complete is never timed
//! out. Must not: know what it times.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

/// Lateness of a timer that counts as a stall of the loop (less is the
/// normal jitter of a busy loop).
pub const STALL: Duration = Duration::from_millis(50);

/// Runs `fut` for `limit`, not counting how late the loop saw the
/// deadline (up to another `limit`); `None` if it did not finish in time.
///
/// `fut` comes pinned by the caller: taken by value, it would be stored
/// twice in this function's state (as the argument and as the pinned
/// local), and a fetch's future is kilobytes, copied on every move of the
/// page task that holds it.
pub async fn within<F: Future>(limit: Duration, mut fut: Pin<&mut F>) -> Option<F::Output> {
    let Some(mut deadline) = solo::time::now().checked_add(limit) else {
        return Some(fut.await); // no clock reaches it
    };
    let mut given_back = Duration::ZERO;
    loop {
        let mut timer = pin!(solo::sleep_until(deadline));
        let out = poll_fn(|cx| {
            if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(v));
            }
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        if out.is_some() {
            return out;
        }
        let now = solo::time::now();
        let late = now
            .saturating_duration_since(deadline)
            .min(limit.saturating_sub(given_back));
        if late <= STALL {
            return None;
        }
        given_back += late;
        deadline = now.checked_add(late).unwrap_or(now);
    }
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn example_1() {
        use std::time::Duration;
        solo::run(async {
            use std::pin::pin;
            let quick =
                solo_crawl::deadline::within(Duration::from_millis(50), pin!(async { 7 })).await;
            assert_eq!(quick, Some(7));
            let slow = pin!(solo::sleep(Duration::from_secs(5)));
            assert!(
                solo_crawl::deadline::within(Duration::from_millis(20), slow)
                    .await
                    .is_none()
            );
            // The loop stalls past the deadline while the answer is on its way
            // (two hops, as a body goes from the connection to the reader).
            let answered = solo::spawn(async {
                let answer = pin!(async {
                    solo::sleep(Duration::from_millis(10)).await;
                    solo::sleep(Duration::from_millis(1)).await;
                    "answer"
                });
                solo_crawl::deadline::within(Duration::from_millis(100), answer).await
            });
            solo::sleep(Duration::from_millis(1)).await;
            std::thread::sleep(Duration::from_millis(300)); // the stall
            assert_eq!(answered.await.unwrap(), Some("answer"));
        });
    }
}
