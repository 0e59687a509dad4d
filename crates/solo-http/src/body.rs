//! Reading a response body: time limits, the size limit, decompression,
//! and giving the connection back.
//!
//! Design: [`Body`] pulls hyper's frames one at a time, only when the
//! caller asks for the next chunk, so a body is never read ahead or
//! buffered whole unless the caller collects it. Each wait for a frame is
//! bounded by the read timeout (the time between two pieces of data) and
//! by the request's total deadline, whichever comes first, and reports
//! which one ran out. Bytes are counted as they arrive (raw) and after
//! decompression (decoded); either passing the limit ends the body with
//! [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge). A `Content-Length`
//! above the limit fails at the first read, before any data is read.
//!
//! Which limit: the request's (`RequestBuilder::max_body_size`), else the
//! client's when it was set (`ClientBuilder::max_body_size`), both for
//! every way of reading. Without either, a body collected whole
//! (`bytes`, `text`, `json`) is limited to [`DEFAULT_MAX_BODY_SIZE`], and
//! a body streamed chunk by chunk is not limited (as with reqwest and
//! aiohttp): it holds one chunk at a time. Compressed input is decoded
//! in pieces of about 64 KiB of output (`decode::PIECE`) whatever the
//! compression ratio, so a decompression bomb streams in constant memory
//! too, and with a limit it stops at the first piece past it. Stacked
//! codings (gzip inside gzip) are decoded a piece at a time per layer,
//! and what each inner layer is given counts against the limit too.
//!
//! The body owns the pool [`Lease`] of its connection. At a clean end of
//! the body the lease is marked reusable and dropped, which puts the
//! connection back in the pool at once (before the caller even looks at
//! the last chunk). On an error, or if the body is dropped unfinished,
//! the lease goes without being reusable and the connection closes.
//! A read timeout during which the whole connection was silent retires an
//! HTTP/2 connection too (see `send`): it is likely dead.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use solo::time::Instant;

use crate::client::DEFAULT_MAX_BODY_SIZE;
use crate::decode::{Corrupt, Decoder};
use crate::error::{Error, ErrorKind, Phase};
use crate::pool::Lease;

/// The total deadline of a request, and the limit it came from (for the
/// error message).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    pub(crate) at: Instant,
    pub(crate) limit: Duration,
}

/// The limits a body is read under.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The size limit the request or client set; `None`: see the module
    /// docs.
    pub(crate) max_size: Option<u64>,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) deadline: Option<Deadline>,
}

pub(crate) struct Body {
    incoming: Option<Incoming>,
    lease: Option<Lease>,
    decoder: Decoder,
    limits: Limits,
    content_length: Option<u64>,
    raw: u64,
    decoded: u64,
    /// False when the connection must not serve another request
    /// (`Connection: close`).
    keep_alive: bool,
    /// The bytes as received, kept for a capture.
    raw_copy: Option<Vec<u8>>,
    /// The end of the body as sent was seen.
    received: bool,
    /// The body is being collected whole (not streamed).
    collecting: bool,
    /// Compressed input not decoded yet.
    pending: Bytes,
}

impl Body {
    pub(crate) fn new(
        incoming: Incoming,
        lease: Lease,
        decoder: Decoder,
        limits: Limits,
        content_length: Option<u64>,
        keep_alive: bool,
    ) -> Body {
        use hyper::body::Body as _;
        let mut body = Body {
            incoming: Some(incoming),
            lease: Some(lease),
            decoder,
            limits,
            content_length,
            raw: 0,
            decoded: 0,
            keep_alive,
            raw_copy: None,
            received: false,
            collecting: false,
            pending: Bytes::new(),
        };
        if body.incoming.as_ref().is_some_and(|b| b.is_end_stream()) {
            // No body at all (HEAD, 204, 304): a Content-Length describes
            // what a GET would have sent.
            body.content_length = None;
            body.received = true;
            body.end(true);
        }
        body
    }

    /// Keeps a copy of the bytes as received (before decoding).
    pub(crate) fn keep_raw(&mut self) {
        self.raw_copy = Some(Vec::new());
    }

    /// The bytes as received so far, if kept.
    pub(crate) fn raw_copy(&self) -> Option<&[u8]> {
        self.raw_copy.as_deref()
    }

    /// Whether the body as sent was received to its end.
    pub(crate) fn received(&self) -> bool {
        self.received
    }

    /// The body is going to be collected whole: the default limit applies
    /// when no other was set.
    pub(crate) fn collecting(&mut self) {
        self.collecting = true;
    }

    /// The size limit in force; `None` for none.
    fn limit(&self) -> Option<u64> {
        self.limits
            .max_size
            .or(self.collecting.then_some(DEFAULT_MAX_BODY_SIZE))
    }

    /// The next decoded chunk, `None` at the end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let r = self.next_decoded().await;
        if r.is_err() {
            self.end(false);
        }
        r
    }

    async fn next_decoded(&mut self) -> Result<Option<Bytes>, Error> {
        if let (0, Some(limit), Some(length)) = (self.raw, self.limit(), self.content_length) {
            if length > limit {
                return Err(Error::too_large(limit));
            }
        }
        loop {
            if self.pending.is_empty() && !self.decoder.has_output() {
                let Some(data) = self.next_raw().await? else {
                    return self.finish();
                };
                self.pending = data;
            }
            let out = match self.decoder.feed(&mut self.pending) {
                Ok(out) => out,
                Err(e) => {
                    if self.raw_copy.is_some() {
                        // The bytes as sent are still what a capture
                        // keeps: read the rest, under the same limits.
                        while self.next_raw().await?.is_some() {}
                    }
                    return Err(corrupt(e));
                }
            };
            if !out.is_empty() {
                self.count_decoded(out.len())?;
                return Ok(Some(out));
            }
            if !self.pending.is_empty() || self.decoder.has_output() {
                self.between_layers().await?;
            }
        }
    }

    /// After a step of decoding that gave nothing (stacked codings: an
    /// outer layer's piece went to an inner one): the inner layers are
    /// under the size limit and the deadline too, and the loop gets a
    /// turn when this task's budget is spent (an outer layer may give a
    /// lot that an inner one ignores).
    async fn between_layers(&mut self) -> Result<(), Error> {
        if let Some(limit) = self.limit() {
            if self.decoder.largest_inner() > limit {
                return Err(Error::too_large(limit));
            }
        }
        if let Some(d) = self.limits.deadline {
            if solo::time::now() >= d.at {
                return Err(Error::timeout(Phase::Total, d.limit));
            }
        }
        let spent =
            std::future::poll_fn(|cx| std::task::Poll::Ready(solo::coop::poll_proceed(cx))).await;
        if spent.is_pending() {
            solo::yield_now().await;
        }
        Ok(())
    }

    /// The end of the body as received: the decoder's next piece, if
    /// any; the connection goes back once the decoder has given its last.
    fn finish(&mut self) -> Result<Option<Bytes>, Error> {
        let (tail, last) = self.decoder.finish().map_err(corrupt)?;
        if last {
            self.end(true);
        }
        if tail.is_empty() {
            return Ok(None);
        }
        self.count_decoded(tail.len())?;
        Ok(Some(tail))
    }

    fn count_decoded(&mut self, n: usize) -> Result<(), Error> {
        self.decoded = self.decoded.saturating_add(n as u64);
        match self.limit() {
            Some(limit) if self.decoded > limit => Err(Error::too_large(limit)),
            _ => Ok(()),
        }
    }

    /// The next piece of data as received, under the time limits.
    async fn next_raw(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            let limit = self.wait_limit();
            let Some(incoming) = self.incoming.as_mut() else {
                return Ok(None);
            };
            let moved = || self.lease.as_ref().and_then(|l| l.tap()).map(|t| t.moved());
            let before = moved();
            let frame = match limit {
                None => incoming.frame().await,
                Some((at, phase, after)) => {
                    match solo::time::timeout_at(at, incoming.frame()).await {
                        Ok(f) => f,
                        Err(_) => {
                            if phase == Phase::Read && moved() == before {
                                if let Some(lease) = &self.lease {
                                    lease.retire();
                                }
                            }
                            return Err(Error::timeout(phase, after));
                        }
                    }
                }
            };
            match frame {
                None => {
                    self.incoming = None;
                    self.received = true;
                    return Ok(None);
                }
                Some(Err(e)) => {
                    return Err(Error::new(
                        ErrorKind::Body,
                        "the connection failed while the response body was being read",
                    )
                    .with_source(e))
                }
                Some(Ok(frame)) => {
                    // Trailers are skipped.
                    if let Ok(data) = frame.into_data() {
                        self.raw = self.raw.saturating_add(data.len() as u64);
                        if let Some(limit) = self.limit().filter(|l| self.raw > *l) {
                            return Err(Error::too_large(limit));
                        }
                        if let Some(copy) = &mut self.raw_copy {
                            copy.extend_from_slice(&data);
                        }
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The earlier of the read timeout and the total deadline: when, which
    /// phase, and its configured limit.
    fn wait_limit(&self) -> Option<(Instant, Phase, Duration)> {
        let read = self
            .limits
            .read_timeout
            .and_then(|d| Some((solo::time::now().checked_add(d)?, Phase::Read, d)));
        let total = self.limits.deadline.map(|t| (t.at, Phase::Total, t.limit));
        match (read, total) {
            (Some(r), Some(t)) => Some(if r.0 < t.0 { r } else { t }),
            (r, t) => r.or(t),
        }
    }

    /// Reads and throws away up to `max` more bytes, for a redirect
    /// response, so its connection can serve the next hop.
    pub(crate) async fn drain(&mut self, max: u64) {
        let stop = self.raw.saturating_add(max);
        while self.raw <= stop {
            match self.next_raw().await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.end(true);
                    return;
                }
                Err(_) => break,
            }
        }
        self.end(false);
    }

    /// Ends the body: the connection goes back to the pool if `clean`.
    fn end(&mut self, clean: bool) {
        self.incoming = None;
        if let Some(mut lease) = self.lease.take() {
            if clean && self.keep_alive {
                lease.reusable();
            }
        }
    }
}

/// The error of a body that could not be decompressed.
fn corrupt(e: Corrupt) -> Error {
    Error::new(
        ErrorKind::Body,
        "the response body could not be decompressed",
    )
    .with_source(e.0)
}
