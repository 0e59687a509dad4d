//! The loop's clock: real time, or a virtual clock that only moves when the
//! loop is idle (`Builder::paused_clock`).
//!
//! Owns: what "now" means for one loop. Must not: sleep.

use std::cell::Cell;
use std::time::{Duration, Instant};

pub(crate) struct Clock {
    base: Instant,
    /// Virtual time since `base`, when paused.
    paused: Option<Cell<Duration>>,
}

impl Clock {
    pub(crate) fn new(paused: bool) -> Clock {
        Clock {
            base: Instant::now(),
            paused: paused.then(|| Cell::new(Duration::ZERO)),
        }
    }

    pub(crate) fn base(&self) -> Instant {
        self.base
    }

    pub(crate) fn now(&self) -> Instant {
        match &self.paused {
            Some(offset) => self.base + offset.get(),
            None => Instant::now(),
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused.is_some()
    }

    /// Jumps a paused clock forward to `at` (never backward).
    pub(crate) fn advance_to(&self, at: Instant) {
        if let Some(offset) = &self.paused {
            let target = at.saturating_duration_since(self.base);
            if target > offset.get() {
                offset.set(target);
            }
        }
    }
}
