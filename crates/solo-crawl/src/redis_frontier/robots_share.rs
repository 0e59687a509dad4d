//! robots.txt answers shared by the workers of a crawl.
//!
//! Owns: claiming a host's robots.txt for this worker, storing what it
//! fetched, and waiting for another worker's answer. Must not: parse
//! robots.txt (the `robots` module does) or fetch it (the engine does).

use std::time::Duration;

use super::on_thread;
use crate::redis_link::Link;

/// robots.txt answers shared by the workers of a crawl (`P..robots`): the
/// first worker to need a host's claims it and stores what it fetched;
/// the others wait for that and parse the same answer, so each robots.txt
/// is fetched once per crawl. On its own connection (robots.txt lookups
/// are rare, and must not wait behind a frontier step).
pub(crate) struct RobotsShare {
    link: solo::sync::Mutex<Option<Link>>,
    prefix: String,
    /// This worker's name (its frontier steps'): a claim is its, and
    /// goes with its leases when it is taken for dead.
    worker: String,
    /// How long a worker's claim to fetch a robots.txt lasts (then
    /// another worker may claim it).
    patience: Duration,
    /// How long a stored answer is used (`Config::robots_max_age`; less
    /// for one that says robots.txt was unreachable).
    max_age: Duration,
}

/// What [`RobotsShare::claim`] found.
pub(crate) enum Robots {
    /// This worker fetches it (then [`RobotsShare::store`]s it).
    Fetch,
    /// The stored answer: status (`None`: the fetch failed) and body.
    Stored(Option<u16>, Vec<u8>),
}

impl RobotsShare {
    pub(crate) fn new(
        link: Link,
        prefix: String,
        worker: String,
        patience: Duration,
        max_age: Duration,
    ) -> RobotsShare {
        RobotsShare {
            link: solo::sync::Mutex::new(Some(link)),
            prefix,
            worker,
            patience,
            max_age,
        }
    }

    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Link, &str) -> Result<T, redis::RedisError> + Send + 'static,
    ) -> Option<T> {
        let mut guard = self.link.lock().await;
        // Gone if an earlier call was dropped while on the thread.
        guard.as_ref()?;
        let prefix = self.prefix.clone();
        on_thread(&mut guard, move |l| f(l, &prefix)).await.ok()
    }

    /// The stored answer for `host`, or [`Robots::Fetch`]: claimed by this
    /// worker, or Redis failed, or another worker's fetch took too long.
    pub(crate) async fn claim(&self, host: &str) -> Robots {
        let deadline = solo::time::now() + 2 * self.patience;
        loop {
            let (h, w) = (host.to_owned(), self.worker.clone());
            let (claim, ages) = (self.patience, self.ages());
            match self
                .call(move |l, p| l.robots_claim(p, (&h, &w), claim, ages))
                .await
            {
                Some(Some((u16::MAX, _))) if solo::time::now() < deadline => {
                    solo::sleep(Duration::from_millis(50)).await;
                }
                Some(Some((status, body))) if status != u16::MAX => {
                    return Robots::Stored((status != 0).then_some(status), body)
                }
                _ => return Robots::Fetch,
            }
        }
    }

    /// How long a stored answer is used: a robots.txt, and one that was
    /// unreachable.
    fn ages(&self) -> (Duration, Duration) {
        let unreachable = self.max_age.min(crate::frontier::UNREACHABLE_ROBOTS_AGE);
        (self.max_age, unreachable)
    }

    /// Stores what this worker fetched for `host` (a failure is ignored:
    /// the others then wait for it, then fetch it themselves).
    pub(crate) async fn store(&self, host: &str, status: Option<u16>, body: &[u8]) {
        // What the parser reads, and the byte that says it was cut.
        let body = body[..body.len().min(crate::robots::MAX_PARSED + 1)].to_vec();
        let (h, w) = (host.to_owned(), self.worker.clone());
        self.call(move |l, p| l.robots_store(p, (&h, &w), status.unwrap_or(0), &body))
            .await;
    }
}
