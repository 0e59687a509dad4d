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
//! The body owns the pool [`Lease`] of its connection. At a clean end of
//! the body the lease is marked reusable and dropped, which puts the
//! connection back in the pool at once (before the caller even looks at
//! the last chunk). On an error, or if the body is dropped unfinished,
//! the lease goes without being reusable and the connection closes.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use solo::time::Instant;

use crate::decode::{DecodeError, Decoder};
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
    pub(crate) max_size: u64,
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

    /// The next decoded chunk, `None` at the end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let r = self.next_decoded().await;
        if r.is_err() {
            self.end(false);
        }
        r
    }

    async fn next_decoded(&mut self) -> Result<Option<Bytes>, Error> {
        if self.raw == 0
            && self
                .content_length
                .is_some_and(|n| n > self.limits.max_size)
        {
            return Err(Error::too_large(self.limits.max_size));
        }
        loop {
            let Some(data) = self.next_raw().await? else {
                let tail = self
                    .decoder
                    .finish()
                    .map_err(decode_error(self.limits.max_size))?;
                self.end(true);
                return Ok(if tail.is_empty() {
                    None
                } else {
                    self.count_decoded(tail.len())?;
                    Some(tail)
                });
            };
            let out = match self.decoder.feed(data) {
                Ok(out) => out,
                Err(e) => {
                    if matches!(e, DecodeError::Corrupt(_)) && self.raw_copy.is_some() {
                        // The bytes as sent are still what a capture
                        // keeps: read the rest, under the same limits.
                        while self.next_raw().await?.is_some() {}
                    }
                    return Err(decode_error(self.limits.max_size)(e));
                }
            };
            if !out.is_empty() {
                self.count_decoded(out.len())?;
                return Ok(Some(out));
            }
        }
    }

    fn count_decoded(&mut self, n: usize) -> Result<(), Error> {
        self.decoded = self.decoded.saturating_add(n as u64);
        if self.decoded > self.limits.max_size {
            return Err(Error::too_large(self.limits.max_size));
        }
        Ok(())
    }

    /// The next piece of data as received, under the time limits.
    async fn next_raw(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            let limit = self.wait_limit();
            let Some(incoming) = self.incoming.as_mut() else {
                return Ok(None);
            };
            let frame = match limit {
                None => incoming.frame().await,
                Some((at, phase, after)) => {
                    match solo::time::timeout_at(at, incoming.frame()).await {
                        Ok(f) => f,
                        Err(_) => return Err(Error::timeout(phase, after)),
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
                        if self.raw > self.limits.max_size {
                            return Err(Error::too_large(self.limits.max_size));
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

fn decode_error(limit: u64) -> impl Fn(DecodeError) -> Error {
    move |e| match e {
        DecodeError::TooLarge => Error::too_large(limit),
        DecodeError::Corrupt(e) => Error::new(
            ErrorKind::Body,
            "the response body could not be decompressed",
        )
        .with_source(e),
    }
}
