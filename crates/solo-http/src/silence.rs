//! The read timeout while a request waits for its response head: a limit
//! on the connection's silence, not on the time the exchange takes.
//!
//! Owns: [`head_within`]. Must not: count against the read timeout the
//! time a request takes to upload, or to wait for an HTTP/2 stream slot
//! while the server answers other streams.
//!
//! Design: the connection's tap counts the bytes it reads and writes.
//! While they grow, the connection is not silent: the request is being
//! written (the server is reading it), or the server is sending. The
//! clock restarts at each such progress, so the timeout fires once
//! nothing went either way for the whole limit:
//!
//! - over HTTP/1.1 the connection is the request's own: that is the time
//!   from the last byte of the request sent (or from when the server
//!   stopped reading the upload) to the first byte of the answer;
//! - over HTTP/2 it is the connection's silence, as with a read timeout
//!   on the socket: a request queued behind the server's limit of
//!   concurrent streams waits as long as the server answers the others.
//!
//! Sockets are opened with `TCP_NOTSENT_LOWAT` (see `connect`), so the
//! kernel holds little unsent data and an upload's writes go at the pace
//! the server reads it. Progress is looked at every quarter of the
//! limit: a timeout fires between 1 and 1.25 times the limit after the
//! last progress.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use crate::error::{Error, Phase};

/// Waits for `head` (the request being sent and its response head) under
/// the read timeout `limit`, counted from the last growth of `moved` (the
/// bytes the connection read and wrote so far).
pub(crate) async fn head_within<F: Future>(
    limit: Duration,
    moved: &dyn Fn() -> u64,
    head: F,
) -> Result<F::Output, Error> {
    let mut head = pin!(head);
    let step = (limit / 4).max(Duration::from_millis(1));
    let mut seen = moved();
    let mut quiet_since = solo::time::now();
    loop {
        let now = solo::time::now();
        let mark = moved();
        if mark != seen {
            seen = mark;
            quiet_since = now;
        }
        let left = limit.saturating_sub(now.saturating_duration_since(quiet_since));
        if left.is_zero() {
            return Err(Error::timeout(Phase::Read, limit));
        }
        if let Ok(out) = solo::timeout(left.min(step), head.as_mut()).await {
            return Ok(out);
        }
    }
}
