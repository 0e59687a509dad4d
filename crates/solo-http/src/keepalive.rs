//! HTTP/2 keep-alive PINGs: hyper's timer, on solo's clock.
//!
//! Owns: [`SoloTimer`], the `hyper::rt::Timer` that hyper's HTTP/2
//! keep-alive sleeps on. Must not: be used outside a running loop (hyper
//! asks for sleeps from the connection's own tasks), or keep a loop alive.
//!
//! Design: a sleep is a [`solo::time::Sleep`] (plain data, so `Send` and
//! `Sync` as hyper wants); "now" is the loop's clock, virtual under a
//! paused clock, and hyper's deadlines are on that clock too. A reset
//! moves the sleep's deadline in place.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// hyper's timer for HTTP/2 keep-alive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SoloTimer;

/// One of hyper's sleeps.
struct SoloSleep(solo::time::Sleep);

impl Future for SoloSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl hyper::rt::Sleep for SoloSleep {}

impl hyper::rt::Timer for SoloTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SoloSleep(solo::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SoloSleep(solo::sleep_until(deadline)))
    }

    fn now(&self) -> Instant {
        solo::time::now()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<SoloSleep>() {
            Some(mut s) => s.0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
