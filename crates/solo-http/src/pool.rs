//! The connection pool: idle keep-alive connections and per-host limits.
//!
//! Owns: which connection each request gets, how long unused connections
//! are kept, and when a host's entry goes. Must not: send requests or
//! decide about retries (that is `send`), or keep a connection that the
//! caller said is dead or closing.
//!
//! Design: connections are pooled per [`Key`] (scheme, host, port). Each
//! host has:
//!
//! - a stack of idle HTTP/1.1 connections (most recently used on top, the
//!   likeliest to be alive). One is handed out per request and comes back
//!   when the response body has been read to its end; a connection whose
//!   body was not finished, or that says `Connection: close`, is dropped.
//!   Before reuse a connection is checked: closed by the server (hyper's
//!   connection task saw EOF), idle for longer than the idle timeout, or
//!   not ready, and it is thrown away. At most `max_idle_per_host` are
//!   kept, and at most `max_idle_total` over all hosts (a crawler meets
//!   thousands of hosts: each idle connection is a file descriptor and
//!   ~100 KiB); one that would go over is closed instead.
//! - at most one HTTP/2 connection, shared by all requests (hyper's
//!   `SendRequest` for HTTP/2 is a cloneable handle). It counts its
//!   leases (requests and unfinished responses); with none for the idle
//!   timeout it is idle and closed like an HTTP/1.1 one. A caller
//!   [`retires`](Lease::retire) it when it turns out dead or closing (a
//!   read timeout, a `GOAWAY`): later requests then share a new one.
//! - optionally a [`Semaphore`] of `max_connections_per_host` slots. An
//!   HTTP/1.1 request holds one slot from before it takes a connection
//!   until its body is done, so at most that many connections are ever
//!   open to the host; the others wait their turn (first come, first
//!   served), for the pool timeout at most: a response held unread keeps
//!   its slot, and a task that holds one and sends another request to
//!   the host would otherwise wait for itself for ever. HTTP/2 requests
//!   need no slot: they share one connection.
//!
//! A timer sweeps expired idle connections (both protocols) so their
//! sockets close even when no new request comes for that host. The timer
//! belongs to the loop that armed it: a client used in a later
//! `solo::run` arms a new one.
//!
//! Whether an https host speaks HTTP/2 is known only after the first TLS
//! handshake (ALPN), and an HTTP/2 host needs only one connection. So
//! while one request is connecting to an https host not known to speak
//! HTTP/1.1 only, the others wait for it: if it comes back with HTTP/2
//! they all share that connection instead of opening one each (requests
//! sent again after a `GOAWAY` too). Once a host has answered with
//! HTTP/1.1, nobody waits any more. A request waits for one such connect
//! at most, within its own connect timeout: if that connect fails or is
//! cancelled, each waiter makes its own attempt (they do not queue behind
//! one another).
//!
//! A host's entry goes when nothing uses it and it keeps no connection:
//! when the idle sweep empties it, and, for hosts that never kept one, in
//! a pass over the map whenever it has doubled since the last.
//!
//! Everything is on one thread: plain `RefCell`s, no locks.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Duration;

use hyper::client::conn::{http1, http2};
use solo::sync::{Event, Semaphore};
use solo::time::Instant;

use crate::connect::{Connector, Key, ReqBody, Sender};
use crate::error::Error;
use crate::wire::Tap;

/// How long a pooled connection may take to say it is ready for the next
/// request (its connection task only has to run once) before it is
/// thrown away.
const READY_LIMIT: Duration = Duration::from_secs(1);

/// The pool's settings, from the client builder.
#[derive(Clone, Debug)]
pub(crate) struct PoolOptions {
    pub(crate) max_idle_per_host: usize,
    pub(crate) max_idle_total: Option<usize>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_connections_per_host: Option<usize>,
    /// The longest wait for one of those connections; `None`: no limit.
    pub(crate) wait_timeout: Option<Duration>,
}

/// The pool's hosts, shared (weakly) with each host's idle sweep.
type Hosts = Rc<RefCell<HashMap<Key, Rc<Host>>>>;

/// Below this many hosts the map is not pruned when a host is added.
const PRUNE_FLOOR: usize = 64;

pub(crate) struct Pool {
    opts: PoolOptions,
    hosts: Hosts,
    /// Idle HTTP/1.1 connections over all hosts.
    idle_total: Rc<Cell<usize>>,
    /// When the map reaches this size, unused hosts are pruned.
    prune_at: Cell<usize>,
}

struct Host {
    key: Key,
    /// The pool's map, to leave it when the sweep finds the host unused.
    hosts: Weak<RefCell<HashMap<Key, Rc<Host>>>>,
    opts: PoolOptions,
    idle: RefCell<Vec<Idle>>,
    /// The pool's count of idle connections over all hosts.
    idle_total: Rc<Cell<usize>>,
    h2: RefCell<Option<Rc<Shared>>>,
    /// The host answered a TLS handshake without choosing HTTP/2.
    h1_only: Cell<bool>,
    /// Set when the pending connect of unknown protocol finishes.
    connecting: RefCell<Option<Rc<Event>>>,
    slots: Option<Semaphore>,
    /// Alive while the idle sweep's timer is armed: the timer's callback
    /// holds the other end, so a timer dropped with its loop lets a
    /// later loop arm a new one.
    sweep: RefCell<Weak<()>>,
}

/// The host's HTTP/2 connection, shared by its requests.
struct Shared {
    sender: http2::SendRequest<ReqBody>,
    tap: Rc<Tap>,
    /// Its leases now (requests and unfinished responses).
    leases: Cell<usize>,
    /// A lease began or ended since the last sweep: with none now and
    /// none since the one before, it has been idle for the idle timeout.
    used: Cell<bool>,
}

struct Idle {
    sender: http1::SendRequest<ReqBody>,
    tap: Rc<Tap>,
    since: Instant,
    /// Counts it in the pool's total while it is idle.
    _counted: Counted,
}

/// One in a shared count, for as long as it lives.
struct Counted(Rc<Cell<usize>>);

impl Counted {
    fn new(count: &Rc<Cell<usize>>) -> Counted {
        count.set(count.get() + 1);
        Counted(count.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// A connection lent to one request. Dropping it gives back the slot, and
/// the connection too if [`Lease::reusable`] was called.
pub(crate) struct Lease {
    conn: Option<Conn>,
    /// The tap of the connection (set with `conn`).
    tap: Option<Rc<Tap>>,
    /// The shared HTTP/2 connection it is on.
    shared: Option<Rc<Shared>>,
    host: Rc<Host>,
    slot: bool,
    reusable: bool,
    reused: bool,
}

/// The connection of a lease.
pub(crate) enum Conn {
    Http1(http1::SendRequest<ReqBody>),
    Http2(http2::SendRequest<ReqBody>),
}

impl Pool {
    pub(crate) fn new(opts: PoolOptions) -> Pool {
        Pool {
            opts,
            hosts: Rc::default(),
            idle_total: Rc::default(),
            prune_at: Cell::new(PRUNE_FLOOR),
        }
    }

    /// How many hosts the pool holds state for.
    pub(crate) fn host_count(&self) -> usize {
        self.hosts.borrow().len()
    }

    /// How many idle HTTP/1.1 connections the pool keeps, over all hosts.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle_total.get()
    }

    fn host(&self, key: &Key) -> Rc<Host> {
        if let Some(host) = self.hosts.borrow().get(key) {
            return host.clone();
        }
        let mut hosts = self.hosts.borrow_mut();
        if hosts.len() >= self.prune_at.get() {
            // Hosts nobody uses, with nothing pooled, go (a crawler meets
            // millions); amortized: the map at least doubles in between.
            hosts.retain(|_, h| !h.unused());
            self.prune_at.set((hosts.len() * 2).max(PRUNE_FLOOR));
        }
        hosts
            .entry(key.clone())
            .or_insert_with(|| {
                Rc::new(Host {
                    key: key.clone(),
                    hosts: Rc::downgrade(&self.hosts),
                    opts: self.opts.clone(),
                    idle: RefCell::new(Vec::new()),
                    idle_total: self.idle_total.clone(),
                    h2: RefCell::new(None),
                    h1_only: Cell::new(false),
                    connecting: RefCell::new(None),
                    slots: self.opts.max_connections_per_host.map(Semaphore::new),
                    sweep: RefCell::new(Weak::new()),
                })
            })
            .clone()
    }

    /// A connection to `key`: the shared HTTP/2 one, an idle HTTP/1.1 one,
    /// or a new one from `connector` (waiting for a slot first if the host
    /// has a connection limit). `fresh` asks for no idle HTTP/1.1
    /// connection (one turned out stale, the others may be too); the
    /// shared HTTP/2 connection is still taken, as a caller retires one
    /// that failed it (see [`Lease::retire`]).
    ///
    /// Waiting for another request's connect of unknown protocol counts
    /// against the connect timeout, like the connect itself.
    pub(crate) async fn lease(
        &self,
        key: &Key,
        connector: &Connector,
        fresh: bool,
    ) -> Result<Lease, Error> {
        let host = self.host(key);
        if let Some(shared) = host.live_h2() {
            return Ok(Lease::on_shared(shared, host));
        }
        let slot = match &host.slots {
            Some(sem) => {
                self.take_slot(sem, key).await?;
                true
            }
            None => false,
        };
        // From here on the slot must be given back on every path: a lease
        // without a connection does that when dropped.
        let mut lease = Lease {
            conn: None,
            tap: None,
            shared: None,
            host: host.clone(),
            slot,
            reusable: false,
            reused: false,
        };
        let deadline = connector.deadline();
        let mut waited = false;
        loop {
            if let Some(shared) = host.live_h2() {
                lease.give_back_slot();
                lease.share(shared);
                lease.reused = true;
                return Ok(lease);
            }
            if !fresh {
                if let Some((sender, tap)) = host.take_idle().await {
                    lease.conn = Some(Conn::Http1(sender));
                    lease.tap = Some(tap);
                    lease.reused = true;
                    return Ok(lease);
                }
            }
            let pending = host.connecting.borrow().clone();
            match pending {
                // Wait once: if that connect failed, or was cancelled,
                // this request makes its own attempt rather than queue
                // behind the next one.
                Some(event) if key.https && !host.h1_only.get() && !waited => {
                    waited = true;
                    connector.within(deadline, event.wait()).await?;
                }
                _ => break,
            }
        }
        let unknown = key.https && !host.h1_only.get() && host.connecting.borrow().is_none();
        let _marker = unknown.then(|| Connecting::start(&host));
        let (sender, tap) = connector
            .within(deadline, connector.open(key, deadline.map(|(at, _)| at)))
            .await??;
        match sender {
            Sender::Http2(h2) => {
                let shared = Rc::new(Shared {
                    sender: h2,
                    tap,
                    leases: Cell::new(0),
                    used: Cell::new(false),
                });
                *host.h2.borrow_mut() = Some(shared.clone());
                host.schedule_sweep();
                lease.give_back_slot();
                lease.share(shared);
            }
            Sender::Http1(h1) => {
                if key.https {
                    host.h1_only.set(true);
                }
                lease.conn = Some(Conn::Http1(h1));
                lease.tap = Some(tap);
            }
        }
        Ok(lease)
    }
}

impl Pool {
    /// Takes one of a host's slots, waiting for one at most the pool
    /// timeout (no timer when one is free).
    async fn take_slot(&self, sem: &Semaphore, key: &Key) -> Result<(), Error> {
        let permit = match (sem.try_acquire(), self.opts.wait_timeout) {
            (Ok(permit), _) => Ok(permit),
            (Err(_), None) => sem.acquire().await,
            (Err(_), Some(limit)) => {
                solo::time::timeout(limit, sem.acquire())
                    .await
                    .map_err(|_| {
                        let n = self.opts.max_connections_per_host.unwrap_or(1);
                        Error::pool_timeout(limit, n, key)
                    })?
            }
        };
        // The semaphore is never closed.
        if let Ok(permit) = permit {
            permit.forget();
        }
        Ok(())
    }
}

impl Host {
    /// Nothing refers to this host but the pool's map (no request, lease,
    /// connect or waiter) and it keeps no connection.
    fn unused(self: &Rc<Self>) -> bool {
        Rc::strong_count(self) == 1 && self.idle.borrow().is_empty() && self.live_h2().is_none()
    }

    /// The shared HTTP/2 connection, unless its connection task ended.
    fn live_h2(&self) -> Option<Rc<Shared>> {
        let mut h2 = self.h2.borrow_mut();
        if h2.as_ref().is_some_and(|s| s.sender.is_closed()) {
            *h2 = None;
        }
        h2.clone()
    }

    /// The most recently used idle connection that is still good.
    async fn take_idle(&self) -> Option<(http1::SendRequest<ReqBody>, Rc<Tap>)> {
        loop {
            let idle = self.idle.borrow_mut().pop()?;
            if self.expired(&idle, solo::time::now()) {
                // The rest are older still.
                self.idle.borrow_mut().clear();
                return None;
            }
            let mut sender = idle.sender;
            if sender.is_closed() {
                continue;
            }
            // Ready in a moment unless broken; a guard against a wait that
            // nothing else would bound (there may be no total timeout).
            if let Ok(Ok(())) = solo::timeout(READY_LIMIT, sender.ready()).await {
                return Some((sender, idle.tap));
            }
        }
    }

    fn expired(&self, idle: &Idle, now: Instant) -> bool {
        self.opts
            .idle_timeout
            .is_some_and(|t| now.saturating_duration_since(idle.since) >= t)
    }

    fn put_idle(self: &Rc<Self>, sender: http1::SendRequest<ReqBody>, tap: Rc<Tap>) {
        if sender.is_closed() || self.opts.max_idle_per_host == 0 {
            return;
        }
        let mut idle = self.idle.borrow_mut();
        if idle.len() >= self.opts.max_idle_per_host {
            idle.remove(0);
        }
        if self
            .opts
            .max_idle_total
            .is_some_and(|m| self.idle_total.get() >= m)
        {
            return; // over the total: this one closes
        }
        idle.push(Idle {
            sender,
            tap,
            since: solo::time::now(),
            _counted: Counted::new(&self.idle_total),
        });
        drop(idle);
        self.schedule_sweep();
    }

    /// Closes idle connections once they expire, even if no request comes:
    /// every idle timeout while the host keeps a connection.
    fn schedule_sweep(self: &Rc<Self>) {
        let Some(timeout) = self.opts.idle_timeout else {
            return;
        };
        if self.sweep.borrow().strong_count() > 0 {
            return; // armed, in a loop still running
        }
        let armed = Rc::new(());
        *self.sweep.borrow_mut() = Rc::downgrade(&armed);
        let weak: Weak<Host> = Rc::downgrade(self);
        drop(solo::call_later(timeout, move || {
            drop(armed);
            if let Some(host) = weak.upgrade() {
                host.sweep();
            }
        }));
    }

    fn sweep(self: Rc<Self>) {
        let now = solo::time::now();
        self.idle
            .borrow_mut()
            .retain(|i| !self.expired(i, now) && !i.sender.is_closed());
        let mut h2 = self.h2.borrow_mut();
        if let Some(shared) = h2.as_ref() {
            let used = shared.used.replace(false);
            if shared.sender.is_closed() || shared.leases.get() == 0 && !used {
                // Dropping the last handle closes the connection.
                *h2 = None;
            }
        }
        let kept = h2.is_some() || !self.idle.borrow().is_empty();
        drop(h2);
        if kept {
            self.schedule_sweep();
            return;
        }
        // Nothing left: the host leaves the pool if unused.
        let (key, hosts) = (self.key.clone(), self.hosts.clone());
        drop(self);
        if let Some(hosts) = hosts.upgrade() {
            let mut hosts = hosts.borrow_mut();
            if hosts.get(&key).is_some_and(Host::unused) {
                hosts.remove(&key);
            }
        }
    }
}

/// Marks a host as "a connect of unknown protocol is under way" for as
/// long as it lives; when dropped (done, failed or cancelled) it wakes
/// the requests that waited for it.
struct Connecting {
    host: Rc<Host>,
    event: Rc<Event>,
}

impl Connecting {
    fn start(host: &Rc<Host>) -> Connecting {
        let event = Rc::new(Event::new());
        *host.connecting.borrow_mut() = Some(event.clone());
        Connecting {
            host: host.clone(),
            event,
        }
    }
}

impl Drop for Connecting {
    fn drop(&mut self) {
        let mut slot = self.host.connecting.borrow_mut();
        if slot.as_ref().is_some_and(|e| Rc::ptr_eq(e, &self.event)) {
            *slot = None;
        }
        drop(slot);
        self.event.set();
    }
}

impl Lease {
    /// A lease on the host's HTTP/2 connection, which others opened.
    fn on_shared(shared: Rc<Shared>, host: Rc<Host>) -> Lease {
        let mut lease = Lease {
            conn: None,
            tap: None,
            shared: None,
            host,
            slot: false,
            reusable: false,
            reused: true,
        };
        lease.share(shared);
        lease
    }

    /// Puts the lease on the shared HTTP/2 connection.
    fn share(&mut self, shared: Rc<Shared>) {
        shared.leases.set(shared.leases.get() + 1);
        shared.used.set(true);
        self.conn = Some(Conn::Http2(shared.sender.clone()));
        self.tap = Some(shared.tap.clone());
        self.shared = Some(shared);
    }

    /// The connection is dead or closing (a read timeout with the whole
    /// connection silent, a `GOAWAY`): if it is the host's shared HTTP/2
    /// connection, later requests get a new one. Its requests under way
    /// go on; it closes when the last ends.
    pub(crate) fn retire(&self) {
        if let Some(shared) = &self.shared {
            let mut h2 = self.host.h2.borrow_mut();
            if h2.as_ref().is_some_and(|s| Rc::ptr_eq(s, shared)) {
                *h2 = None;
            }
        }
    }

    /// The connection.
    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a lease handed out always has a connection")
    }

    /// Whether the connection served an earlier request (so it may have
    /// gone stale since).
    pub(crate) fn reused(&self) -> bool {
        self.reused
    }

    /// The connection's tap.
    pub(crate) fn tap(&self) -> Option<&Rc<Tap>> {
        self.tap.as_ref()
    }

    /// True for HTTP/2.
    pub(crate) fn is_http2(&self) -> bool {
        matches!(self.conn, Some(Conn::Http2(_)))
    }

    /// The response was read to its end and the connection may serve
    /// another request: it goes back to the pool when the lease drops.
    pub(crate) fn reusable(&mut self) {
        self.reusable = true;
    }

    fn give_back_slot(&mut self) {
        if std::mem::take(&mut self.slot) {
            if let Some(sem) = &self.host.slots {
                sem.add_permits(1);
            }
        }
    }
}

impl Drop for Lease {
    // Loop-free: a response may be dropped after its loop ended.
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.leases.set(shared.leases.get() - 1);
            shared.used.set(true);
        }
        if let (true, Some(Conn::Http1(sender)), Some(tap)) =
            (self.reusable, self.conn.take(), self.tap.take())
        {
            self.host.put_idle(sender, tap);
        }
        self.give_back_slot();
    }
}
