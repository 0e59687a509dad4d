//! Name lookups: the system resolver on threads of their own, one lookup
//! per name at a time, failures remembered for a while, and a deadline.
//!
//! Owns: the loop's lookups in flight and its recent failures
//! ([`Lookups`]), and [`lookup_with`] / [`lookup_host_timeout`] on top.
//! A lookup runs on the loop's DNS threads
//! ([`Builder::max_dns_threads`](crate::Builder::max_dns_threads)), not
//! on [`to_thread`](crate::to_thread)'s pool: a name whose servers never
//! answer holds its thread for the system resolver's whole timeout
//! (glibc: 5 s per try and server), and many such names must not hold up
//! file I/O, nor it them. Requests for a name already being looked up
//! share that lookup. A lookup that failed is remembered for
//! [`FAILED_TTL`]: the next requests for that name fail at once instead
//! of queueing again (nscd does the same, for 20 s). Only the waiting is
//! bounded by a deadline, each caller's own: a lookup already running
//! goes on (a thread cannot be interrupted) and keeps its other waiters,
//! and one given up by all its waiters before it started never runs. A
//! deadline that ran out is not a failure of the lookup: it is noted on
//! the lookup while it runs, so that later callers with no longer a
//! deadline fail at once (they would wait as long for the same silent
//! resolver), while callers with a longer deadline, or none, wait for it.
//! Must not: cache answers (callers do: solo-http keeps them for its TTL).
//!
//! Why `getaddrinfo` on threads and not an async resolver such as
//! hickory-resolver: getaddrinfo is what users expect a program to honour
//! (`/etc/hosts`, `nsswitch.conf` with mDNS, LDAP or systemd-resolved,
//! the system's `resolv.conf` options), and hickory reads only the
//! files, bypassing nsswitch; it also ships its sockets and timers for
//! tokio only, so on solo it would need a runtime provider of its own.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs as _};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::runtime::{try_with_core, with_core};
use crate::sync::Event;

/// How long a failed lookup is remembered.
pub const FAILED_TTL: Duration = Duration::from_secs(20);

/// A blocking lookup: a name's addresses, as `getaddrinfo` gives them.
/// [`getaddrinfo`] is the system's; tests pass one of their own to
/// [`lookup_with`].
pub type BlockingLookup = fn(&str) -> io::Result<Vec<IpAddr>>;

/// The system resolver, blocking: the addresses of `name`.
///
/// ```
/// let ips = solo::net::getaddrinfo("localhost").unwrap();
/// assert!(ips.iter().all(|ip| ip.is_loopback()));
/// ```
pub fn getaddrinfo(name: &str) -> io::Result<Vec<IpAddr>> {
    Ok((name, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
}

/// What a finished lookup said: its addresses, or its error's kind and
/// message (shared by every waiter, so not an `io::Error`).
type Answer = Result<Vec<IpAddr>, (io::ErrorKind, String)>;

/// Which resolver and which name.
type Key = (usize, String);

/// A loop's lookups in flight and recent failures.
#[derive(Default)]
pub(crate) struct Lookups {
    flights: RefCell<HashMap<Key, Rc<Flight>>>,
    failed: RefCell<HashMap<Key, Failed>>,
}

struct Failed {
    at: Instant,
    message: String,
    kind: io::ErrorKind,
}

/// One lookup of one name, shared by everyone who asks meanwhile.
struct Flight {
    key: Key,
    answer: RefCell<Option<Answer>>,
    done: Event,
    waiting: Cell<usize>,
    queued: Instant,
    /// Set by the DNS thread when it starts the lookup.
    started: Arc<OnceLock<Instant>>,
    /// Set by the last waiter to leave before the lookup started: the
    /// DNS thread then skips it. (Cancelling the driver task drops the
    /// job too, but only when the loop next runs that task; a thread
    /// that frees up first would run the lookup.)
    abandoned: Arc<AtomicBool>,
    driver: RefCell<Option<crate::Task<()>>>,
    /// The longest deadline that ran out while the lookup ran, and when.
    gave_up: Cell<Option<GaveUp>>,
}

/// A caller's deadline ran out while the system resolver was at work.
#[derive(Clone, Copy)]
struct GaveUp {
    at: Instant,
    limit: Duration,
}

impl Flight {
    /// A caller with a deadline of `limit` had no answer by then.
    fn note_gave_up(&self, limit: Duration) {
        let limit = self.gave_up.get().map_or(limit, |g| g.limit.max(limit));
        let at = Instant::now();
        self.gave_up.set(Some(GaveUp { at, limit }));
    }

    /// The error for a caller with a deadline of `timeout` that is no
    /// longer than one that ran out on this lookup less than
    /// [`FAILED_TTL`] ago: it would wait as long for the same silent
    /// resolver, so it fails at once, saying whose deadline that was.
    fn gave_up_for(&self, name: &str, timeout: Option<Duration>) -> Option<io::Error> {
        let (limit, g) = (timeout?, self.gave_up.get()?);
        let ago = g.at.elapsed();
        if limit > g.limit || ago >= FAILED_TTL || self.answer.borrow().is_some() {
            return None;
        }
        let running = self.started.get().map_or(Duration::ZERO, |s| s.elapsed());
        Some(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "name resolution of '{name}' timed out after {:.2?} (another call's deadline, \
                 which ran out {ago:.1?} ago): the system resolver still has no answer after \
                 {running:.1?}, and this call's deadline ({limit:.2?}) is no longer, so it does \
                 not wait again (a failed lookup is not repeated for {FAILED_TTL:?}; a call \
                 with a longer deadline, or none, waits for the lookup under way)",
                g.limit
            ),
        ))
    }
}

impl Lookups {
    /// Forgets everything (the loop closes).
    pub(crate) fn clear(&self) {
        self.flights.borrow_mut().clear();
        self.failed.borrow_mut().clear();
    }

    /// The remembered failure of `key`, if still fresh.
    fn failure(&self, key: &Key) -> Option<io::Error> {
        let mut failed = self.failed.borrow_mut();
        let f = failed.get(key)?;
        let ago = f.at.elapsed();
        if ago >= FAILED_TTL {
            failed.remove(key);
            return None;
        }
        Some(io::Error::new(
            f.kind,
            format!(
                "{} ({:.1?} ago; a failed lookup is not repeated for {FAILED_TTL:?})",
                f.message, ago
            ),
        ))
    }

    fn remember(&self, key: &Key, kind: io::ErrorKind, message: String) {
        let mut failed = self.failed.borrow_mut();
        if failed.len() >= 4096 {
            failed.retain(|_, f| f.at.elapsed() < FAILED_TTL);
        }
        let at = Instant::now();
        failed.insert(key.clone(), Failed { at, message, kind });
    }

    /// The lookup of `key` in flight, or a new one on the DNS threads.
    fn flight(&self, key: Key, resolve: BlockingLookup) -> Rc<Flight> {
        if let Some(f) = self.flights.borrow().get(&key) {
            return f.clone();
        }
        let started = Arc::new(OnceLock::new());
        let abandoned = Arc::new(AtomicBool::new(false));
        let flight = Rc::new(Flight {
            key: key.clone(),
            answer: RefCell::new(None),
            done: Event::new(),
            waiting: Cell::new(0),
            queued: Instant::now(),
            started: started.clone(),
            abandoned: abandoned.clone(),
            driver: RefCell::new(None),
            gave_up: Cell::new(None),
        });
        let name = key.1.clone();
        let job = with_core(|c| {
            c.dns_pool().run(move || {
                if abandoned.load(AtomicOrdering::SeqCst) {
                    return Err((io::ErrorKind::Interrupted, "abandoned".to_owned()));
                }
                let _ = started.set(Instant::now());
                let r = std::panic::catch_unwind(|| resolve(&name))
                    .unwrap_or_else(|_| Err(io::Error::other("the resolver panicked")));
                answer(&name, r)
            })
        });
        let weak = Rc::downgrade(&flight);
        let task = crate::spawn(async move {
            let answer = job.await;
            finish(weak, answer);
        });
        *flight.driver.borrow_mut() = Some(task);
        self.flights.borrow_mut().insert(key, flight.clone());
        flight
    }
}

/// The answer of `resolve(name)`, its errors naming the host.
fn answer(name: &str, r: io::Result<Vec<IpAddr>>) -> Answer {
    match r {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => Err((
            io::ErrorKind::NotFound,
            format!("cannot resolve host '{name}': no addresses"),
        )),
        Err(e) => Err((
            io::ErrorKind::NotFound,
            format!("cannot resolve host '{name}': {e}"),
        )),
    }
}

/// A lookup ended: its waiters get the answer, a failure is remembered,
/// a success forgets an earlier failure.
fn finish(flight: Weak<Flight>, answer: Answer) {
    let Some(flight) = flight.upgrade() else {
        return;
    };
    try_with_core(|c| {
        let lookups = c.lookups();
        let mut flights = lookups.flights.borrow_mut();
        if flights
            .get(&flight.key)
            .is_some_and(|f| Rc::ptr_eq(f, &flight))
        {
            flights.remove(&flight.key);
        }
        drop(flights);
        match &answer {
            Ok(_) => drop(lookups.failed.borrow_mut().remove(&flight.key)),
            Err((kind, msg)) => lookups.remember(&flight.key, *kind, msg.clone()),
        }
    });
    *flight.answer.borrow_mut() = Some(answer);
    flight.done.set();
}

/// One waiter of a flight; the last one to leave before the lookup has
/// started takes it off the queue.
struct Waiter(Rc<Flight>);

impl Waiter {
    fn new(flight: Rc<Flight>) -> Waiter {
        flight.waiting.set(flight.waiting.get() + 1);
        Waiter(flight)
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let f = &self.0;
        f.waiting.set(f.waiting.get() - 1);
        if f.waiting.get() > 0 || f.started.get().is_some() || f.answer.borrow().is_some() {
            return;
        }
        f.abandoned.store(true, AtomicOrdering::SeqCst);
        if let Some(task) = f.driver.borrow_mut().take() {
            task.cancel(); // drops the job: it never runs
        }
        try_with_core(|c| {
            let mut flights = c.lookups().flights.borrow_mut();
            if flights.get(&f.key).is_some_and(|x| Rc::ptr_eq(x, f)) {
                flights.remove(&f.key);
            }
        });
    }
}

/// Looks `name` up with the blocking `resolve` on the loop's DNS threads,
/// waiting at most `timeout` (`None`: as long as `resolve` takes).
///
/// Requests for a name already being looked up wait for that lookup. A
/// failure is remembered for [`FAILED_TTL`]: meanwhile the name fails at
/// once with the same message. `timeout` bounds this call's wait only:
/// when it runs out, this call fails with an error of kind `TimedOut`
/// that names this call's deadline and says where the time went (waiting
/// for a free DNS thread, all busy with other lookups, or in the
/// resolver), and the lookup goes on for its other waiters. While it
/// runs (at most [`FAILED_TTL`]), a later call with no longer a deadline
/// fails at once, saying that another call's deadline ran out; one with
/// a longer deadline, or none, waits for the lookup. Other failures are
/// of kind `NotFound` and name the host.
///
/// ```
/// use std::{io, net::IpAddr, time::Duration};
/// fn slow(name: &str) -> io::Result<Vec<IpAddr>> {
///     std::thread::sleep(Duration::from_millis(300));
///     match name {
///         "slow.test" => Ok(vec![[127, 0, 0, 1].into()]),
///         _ => Err(io::Error::other("no such name")),
///     }
/// }
/// solo::run(async {
///     let short = Some(Duration::from_millis(10));
///     let e = solo::net::lookup_with("slow.test", slow, short).await.unwrap_err();
///     assert_eq!(e.kind(), io::ErrorKind::TimedOut);
///     assert!(e.to_string().contains("name resolution of 'slow.test' timed out after 10.00ms (this call's deadline)"), "{e}");
///     // While the lookup runs, a call as impatient fails at once...
///     let again = solo::net::lookup_with("slow.test", slow, short).await.unwrap_err();
///     assert!(again.to_string().contains("timed out after 10.00ms (another call's deadline, which ran out"), "{again}");
///     // ...and a patient one gets the answer of the same lookup.
///     assert_eq!(solo::net::lookup_with("slow.test", slow, None).await.unwrap().len(), 1);
///
///     // A failure of the lookup itself is remembered.
///     assert!(solo::net::lookup_with("gone.test", slow, None).await.is_err());
///     let e = solo::net::lookup_with("gone.test", slow, None).await.unwrap_err();
///     assert!(e.to_string().contains("ago; a failed lookup is not repeated"), "{e}");
/// });
/// ```
pub async fn lookup_with(
    name: &str,
    resolve: BlockingLookup,
    timeout: Option<Duration>,
) -> io::Result<Vec<IpAddr>> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let key: Key = (resolve as usize, name.to_owned());
    let flight = with_core(|c| {
        let lookups = c.lookups();
        match lookups.failure(&key) {
            Some(e) => Err(e),
            None => Ok(lookups.flight(key, resolve)),
        }
    })?;
    if let Some(e) = flight.gave_up_for(name, timeout) {
        return Err(e);
    }
    let waiter = Waiter::new(flight);
    let f = &waiter.0;
    let since = Instant::now();
    let in_time = match timeout {
        None => {
            f.done.wait().await;
            true
        }
        Some(limit) => crate::timeout(limit, f.done.wait()).await.is_ok(),
    };
    if in_time {
        if let Some(answer) = f.answer.borrow().as_ref() {
            return answer
                .clone()
                .map_err(|(kind, msg)| io::Error::new(kind, msg));
        }
    }
    let limit = timeout.unwrap_or_default();
    let message = match f.started.get() {
        Some(&started) => {
            let queued = started.saturating_duration_since(f.queued.max(since));
            let mut m = format!(
                "name resolution of '{name}' timed out after {limit:.2?} (this call's deadline): \
                 the system resolver had no answer in {:.1?}",
                started.elapsed()
            );
            if queued >= Duration::from_millis(10) {
                m += &format!(
                    ", after {queued:.1?} waiting for a free DNS thread (all were busy with other lookups)"
                );
            }
            f.note_gave_up(limit);
            m
        }
        None => format!(
            "name resolution of '{name}' timed out after {limit:.2?} (this call's deadline) \
             waiting for a free DNS thread: all were busy with other lookups (see Builder::max_dns_threads)"
        ),
    };
    Err(io::Error::new(io::ErrorKind::TimedOut, message))
}

/// [`lookup_host`](crate::net::lookup_host) with a deadline: fails with
/// an error of kind `TimedOut` that says so when the system resolver has
/// not answered by then (see [`lookup_with`]).
///
/// ```
/// use std::time::Duration;
/// solo::run(async {
///     let a = solo::net::lookup_host_timeout("localhost", 80, Duration::from_secs(30)).await.unwrap();
///     assert!(a.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
/// });
/// ```
pub async fn lookup_host_timeout(
    host: &str,
    port: u16,
    timeout: Duration,
) -> io::Result<Vec<SocketAddr>> {
    let ips = lookup_with(host, getaddrinfo, Some(timeout)).await?;
    Ok(ips
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}
