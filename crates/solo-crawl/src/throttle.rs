//! The adaptive throttle: a per-host pause that follows the server.
//!
//! Owns: how one host's pause between requests changes after each answer
//! (Scrapy's AutoThrottle, plus a brake on "slow down" statuses). The idea:
//! a server that answers in `latency` while we keep `target_concurrency`
//! requests at it needs one request every `latency / target_concurrency`.
//! After each answer the pause moves halfway to that value, so it follows
//! the server's latency without jumping on one slow page:
//!
//! ```text
//! ok answer (2xx/3xx)   pause = (pause + latency / target) / 2
//! other answer, error   the same, but the pause never goes down
//! 429 or 503            pause = 2 × pause (at least `start_delay`)
//! always                min_delay ≤ pause ≤ max_delay
//! ```
//!
//! A 404 answers fast but says nothing about load, so it may not speed the
//! crawl up; a 429/503 is the server asking us to slow down, so the pause
//! doubles at once instead of drifting.
//!
//! Also here, and on by default: [`HostLimit`], a host's concurrency that
//! backs off when the server sheds load (connections reset or refused,
//! timeouts, 429/503) the way TCP backs off on loss — halve at once,
//! grow back one slot at a time as answers come — so a crawl against an
//! overloaded server slows to what it can take instead of burning its
//! retries. (Against an nginx capped at 100 connections, 256 in flight:
//! all 20,000 pages fetched in 1.3 s with 50-140 retries, where without
//! it 3,100 pages failed after 19,400 retries, in 3.3 s.) With a shared
//! frontier (Redis) both rules run once for the whole crawl in its Lua
//! script (`redis/frontier.lua` mirrors them: change both together).
//! Must not: know about queues — the frontier keeps one pause and one
//! limit per host and asks here.

use std::time::Duration;

/// Settings of the adaptive throttle (Scrapy's `AUTOTHROTTLE_*`).
///
/// ```
/// use std::time::Duration;
/// let t = solo_crawl::AutoThrottle { target_concurrency: 2.0, ..Default::default() };
/// assert_eq!(t.start_delay, Duration::from_secs(1));
/// // A server answering in 400 ms, two requests at it: 200 ms apart.
/// let mut pause = Duration::from_millis(200);
/// pause = t.next_pause(pause, Duration::from_millis(400), Some(200), Duration::ZERO);
/// assert_eq!(pause, Duration::from_millis(200));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AutoThrottle {
    /// Requests the crawl aims to have in flight at one host on average
    /// (still capped by `Config::per_host`).
    pub target_concurrency: f64,
    /// The pause a host starts with, and the least a 429/503 raises it to.
    pub start_delay: Duration,
    /// The pause never grows past this.
    pub max_delay: Duration,
}

impl Default for AutoThrottle {
    fn default() -> AutoThrottle {
        AutoThrottle {
            target_concurrency: 1.0,
            start_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl AutoThrottle {
    /// The pause after an answer that took `latency`, with `status` (`None`
    /// for a failed fetch), given the current pause and the configured
    /// fixed delay `min_delay` (the floor).
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = solo_crawl::AutoThrottle::default();
    /// let ms = Duration::from_millis;
    /// // A 429 doubles the pause.
    /// assert_eq!(t.next_pause(ms(1500), ms(10), Some(429), ms(0)), ms(3000));
    /// // A fast 404 does not speed the crawl up.
    /// assert_eq!(t.next_pause(ms(1500), ms(10), Some(404), ms(0)), ms(1500));
    /// // A fast 200 does, halfway at a time.
    /// assert_eq!(t.next_pause(ms(1500), ms(100), Some(200), ms(0)), ms(800));
    /// ```
    pub fn next_pause(
        &self,
        current: Duration,
        latency: Duration,
        status: Option<u16>,
        min_delay: Duration,
    ) -> Duration {
        let max = self.max_delay.max(min_delay);
        let next = match status {
            Some(429 | 503) => current.saturating_mul(2).max(self.start_delay),
            _ => {
                // A tiny target would overflow a Duration: the slowest pace.
                let target =
                    Duration::try_from_secs_f64(latency.as_secs_f64() / self.target_concurrency)
                        .unwrap_or(max);
                let mid = current / 2 + target.min(max) / 2;
                let ok = status.is_some_and(|s| (200..400).contains(&s));
                if ok {
                    mid
                } else {
                    mid.max(current)
                }
            }
        };
        next.clamp(min_delay, max)
    }
}

/// A host's concurrency limit under additive-increase, multiplicative-
/// decrease: the configured per-host limit while the server copes; half
/// of what was in flight when it sheds load; one more slot for every
/// `limit / 2` answers after that. One overload fails a burst of requests
/// at once, so after a cut the failures of the requests that were already
/// in flight do not cut again (TCP's once-per-window rule).
#[derive(Clone, Debug)]
pub struct HostLimit {
    max: usize,
    limit: usize,
    answers: usize,
    /// Requests in flight at the last cut that have not completed yet.
    burst: usize,
    /// Whether the request that completed last was one of those.
    in_burst: bool,
}

impl HostLimit {
    /// A limit starting at (and never above) `max`.
    pub fn new(max: usize) -> HostLimit {
        let max = max.max(1);
        HostLimit {
            max,
            limit: max,
            answers: 0,
            burst: 0,
            in_burst: false,
        }
    }

    /// Requests that may be in flight at the host now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A request to the host completed, whatever the outcome (call before
    /// [`overloaded`](HostLimit::overloaded) or
    /// [`answered`](HostLimit::answered) for it).
    pub fn completed(&mut self) {
        self.in_burst = self.burst > 0;
        self.burst = self.burst.saturating_sub(1);
    }

    /// The server shed load on the request that completed last, while
    /// `others` more were in flight at it.
    pub fn overloaded(&mut self, others: usize) {
        if self.in_burst {
            return;
        }
        self.limit = ((others + 1).min(self.limit) / 2).max(1);
        self.answers = 0;
        self.burst = others;
    }

    /// The server answered (not with 429/503).
    pub fn answered(&mut self) {
        if self.limit >= self.max {
            return;
        }
        self.answers += 1;
        if self.answers * 2 >= self.limit {
            self.limit += 1;
            self.answers = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_limit_halves_once_per_burst_and_grows_back() {
        let mut l = HostLimit::new(8);
        for _ in 0..5 {
            l.answered();
        }
        assert_eq!(l.limit(), 8, "never above the maximum");
        l.completed();
        l.overloaded(7);
        assert_eq!(l.limit(), 4);
        // The other 7 of that burst complete; their failures do not cut.
        for _ in 0..7 {
            l.completed();
            l.overloaded(2);
            assert_eq!(l.limit(), 4, "same burst");
        }
        // A failure of a request started after the cut does.
        l.completed();
        l.overloaded(2);
        assert_eq!(l.limit(), 1, "halves what was in flight");
        l.completed();
        l.completed();
        l.completed();
        l.overloaded(0);
        assert_eq!(l.limit(), 1, "never below one");
        let mut answers = 0;
        while l.limit() < 8 {
            l.completed();
            l.answered();
            answers += 1;
        }
        // 1 + 1 + 2 + 2 + 3 + 3 + 4 (one slot per limit/2 answers, at least one).
        assert_eq!(answers, 16);
    }

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn converges_to_latency_over_target() {
        let t = AutoThrottle {
            target_concurrency: 4.0,
            ..Default::default()
        };
        let mut p = t.start_delay;
        for _ in 0..30 {
            p = t.next_pause(p, ms(800), Some(200), ms(0));
        }
        assert!(p.abs_diff(ms(200)) < ms(1), "{p:?}");
    }

    #[test]
    fn slow_down_statuses_double_up_to_the_cap() {
        let t = AutoThrottle {
            max_delay: ms(5000),
            ..Default::default()
        };
        let mut p = ms(0);
        let mut seen = Vec::new();
        for _ in 0..5 {
            p = t.next_pause(p, ms(5), Some(503), ms(0));
            seen.push(p.as_millis());
        }
        assert_eq!(seen, [1000, 2000, 4000, 5000, 5000]);
    }

    #[test]
    fn errors_never_lower_and_floor_holds() {
        let t = AutoThrottle::default();
        assert_eq!(t.next_pause(ms(900), ms(1), None, ms(0)), ms(900));
        // A slow failure raises it.
        assert_eq!(t.next_pause(ms(900), ms(3000), None, ms(0)), ms(1950));
        // The fixed delay is a floor.
        assert_eq!(t.next_pause(ms(10), ms(1), Some(200), ms(250)), ms(250));
    }

    #[test]
    fn zero_target_means_the_slowest_pace() {
        let t = AutoThrottle {
            target_concurrency: 0.0,
            max_delay: ms(4000),
            ..Default::default()
        };
        assert_eq!(t.next_pause(ms(0), ms(10), Some(200), ms(0)), ms(2000));
    }

    #[test]
    fn extreme_values_do_not_panic() {
        for target in [
            1e-22,
            f64::MIN_POSITIVE,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            1e300,
        ] {
            let t = AutoThrottle {
                target_concurrency: target,
                max_delay: Duration::MAX,
                ..Default::default()
            };
            let p = t.next_pause(Duration::MAX, Duration::MAX, Some(200), Duration::MAX);
            assert_eq!(p, Duration::MAX, "{target}");
            let p = t.next_pause(ms(10), ms(10), Some(200), ms(0));
            assert!(p <= Duration::MAX, "{target}");
        }
    }
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn example_1() {
        use solo_crawl::throttle::HostLimit;
        let mut l = HostLimit::new(16);
        l.overloaded(11); // 11 others still in flight
        assert_eq!(l.limit(), 6);
        l.completed();
        l.overloaded(10); // one of that burst: no second cut
        assert_eq!(l.limit(), 6);
        for _ in 0..3 {
            l.answered();
        }
        assert_eq!(l.limit(), 7);
    }
}
