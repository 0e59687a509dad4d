//! Connecting to one of a host's addresses: Happy Eyeballs (RFC 8305).
//!
//! Owns: the order in which a host's addresses are tried, and the race
//! between the attempts.
//!
//! Must not: resolve names or judge addresses (the caller passes only the
//! addresses its address policy allowed), or apply the connect timeout
//! (the caller bounds the whole race with it).
//!
//! Design: the first address is tried at once. While an attempt is
//! pending, the next address is tried [`ATTEMPT_DELAY`] later, or at once
//! when an attempt fails; earlier attempts keep going, and the first
//! connection made wins (the others are dropped, which closes their
//! sockets). So a dead or filtered address, whose connect would hang until
//! the connect timeout, delays a request by 250 ms instead of failing it,
//! as in browsers, curl, aiohttp (`happy_eyeballs_delay`) and hyper-util.
//! The addresses are interleaved by family (RFC 8305 section 4), starting
//! with the family of the resolver's first answer, so a broken IPv6 path
//! costs one delay, not one per IPv6 address.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use solo::net::TcpStream;

/// How long an attempt runs alone before the next address is tried too
/// (RFC 8305's recommended "Connection Attempt Delay").
pub(crate) const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

type Attempt = Pin<Box<dyn Future<Output = io::Result<TcpStream>>>>;

/// A TCP connection to the first of `addrs` that answers (see the module
/// docs); the last error when none does, or `None` when `addrs` is empty.
pub(crate) async fn connect_first(addrs: &[SocketAddr]) -> Result<TcpStream, Option<io::Error>> {
    if let [only] = addrs {
        // Nothing to race (the common case): no timer, no boxed attempt.
        return TcpStream::connect(*only).await.map_err(Some);
    }
    let mut queue = interleaved(addrs).into_iter();
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut last = None;
    let mut next_start = solo::sleep(Duration::ZERO);
    std::future::poll_fn(|cx| loop {
        let mut failed = false;
        let mut i = 0;
        while i < attempts.len() {
            match attempts[i].as_mut().poll(cx) {
                Poll::Ready(Ok(stream)) => return Poll::Ready(Ok(stream)),
                Poll::Ready(Err(e)) => {
                    tracing::debug!(error = %e, "connect attempt failed");
                    drop(attempts.swap_remove(i));
                    last = Some(e);
                    failed = true;
                }
                Poll::Pending => i += 1,
            }
        }
        if queue.len() == 0 {
            if attempts.is_empty() {
                return Poll::Ready(Err(last.take()));
            }
            // Waiting for an attempt to end: its socket wakes this task.
            return Poll::Pending;
        }
        let due = failed || attempts.is_empty() || Pin::new(&mut next_start).poll(cx).is_ready();
        if !due {
            // Waiting for an attempt to end, or for the timer.
            return Poll::Pending;
        }
        if let Some(addr) = queue.next() {
            attempts.push(Box::pin(TcpStream::connect(addr)));
            next_start.reset(solo::time::now() + ATTEMPT_DELAY);
        }
    })
    .await
}

/// `addrs` with the address families alternating, starting with the
/// family of the first; each family keeps its own order.
fn interleaved(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return Vec::new();
    };
    let (same, other): (Vec<SocketAddr>, Vec<SocketAddr>) =
        addrs.iter().partition(|a| a.is_ipv4() == first.is_ipv4());
    let mut out = Vec::with_capacity(addrs.len());
    let (mut a, mut b) = (same.into_iter(), other.into_iter());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return out,
            (x, y) => out.extend(x.into_iter().chain(y)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn families_alternate_from_the_first_answer_s() {
        let got = interleaved(&addrs(&[
            "[::1]:80",
            "[::2]:80",
            "[::3]:80",
            "1.1.1.1:80",
            "2.2.2.2:80",
        ]));
        let want = addrs(&[
            "[::1]:80",
            "1.1.1.1:80",
            "[::2]:80",
            "2.2.2.2:80",
            "[::3]:80",
        ]);
        assert_eq!(got, want);
        let v4_first = interleaved(&addrs(&["1.1.1.1:80", "2.2.2.2:80", "[::1]:80"]));
        assert_eq!(v4_first, addrs(&["1.1.1.1:80", "[::1]:80", "2.2.2.2:80"]));
        assert!(interleaved(&[]).is_empty());
    }
}
