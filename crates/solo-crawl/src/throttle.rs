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
//! doubles at once instead of drifting. Must not: know about hosts or
//! queues — the frontier keeps one pause per host and asks here.

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
                let target = if self.target_concurrency > 0.0 {
                    latency.div_f64(self.target_concurrency)
                } else {
                    max
                };
                let mid = (current + target.min(max)) / 2;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
