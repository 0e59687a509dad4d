//! WARC/1.1 output: every exchange of the crawl as the archive standard
//! (ISO 28500) keeps it.
//!
//! Owns: [`WarcOutput`] (where and how big), the record writer (a
//! `warcinfo` record first in every file, then per fetch a `request` and
//! a `response` record (`WARC-Truncated` when the exchange failed after
//! its head), or a `revisit`: profile
//! `identical-payload-digest` when the body was already written in this
//! run, or with `--state` in any earlier run of the same crawl (the state
//! store keeps each payload digest written; `WARC-Refers-To-*` name the
//! first), `server-not-modified` for a
//! `304` to a conditional request (`--recrawl`; `WARC-Refers-To-*` name
//! the record with the page's payload, which the state store keeps for
//! pages with validators; a `304` with no such record, as one to a
//! request that was not conditional, is a `response` as received)), the
//! files' names and
//! roll-over, and the digests. Must not: touch the network or the loop: it runs on the
//! writer thread (see `sink`), fed by what `fetch` captured.
//!
//! Here: the record writer and [`Capture`]; in `output` the settings and
//! the files' names, in `blocks` what a block keeps of the heads, in
//! `head` a record's header, in `member` the small-record gzip encoder.
//!
//! Files: `--warc crawl.warc.gz` writes `crawl-00000.warc.gz`,
//! `crawl-00001.warc.gz`, ... in the same directory: a new file when the
//! next exchange (its request and response records, never split) would
//! take the current one past [`max_size`](WarcOutput::max_size), and a
//! new file for every run, at the first number after the highest one
//! there (so a resumed or repeated crawl never touches an earlier file;
//! with a state store, also past every file an earlier run of the crawl
//! created, so files moved out to storage are never named again),
//! created with the run's first exchange (a run that fetches nothing
//! leaves no file). A name ending in `.gz` gets each
//! record compressed as a gzip member of its own (readers can seek to any
//! record); any other name is written plain (`crawl.warc` gives
//! `crawl-00000.warc`).
//!
//! Blocks: a `response` record holds the status line and header block
//! exactly as received and the body as received with the transfer
//! encoding removed (de-chunked) and the content encoding kept (still
//! gzip or br if the server sent it so). Since the chunks are gone, a
//! `Transfer-Encoding` header line is kept under the name
//! `X-Archive-Orig-Transfer-Encoding`, so no reader de-chunks the body
//! again. A `request` record holds the request line, headers and body as
//! sent. Over HTTP/2 both heads are written out from the decoded frames
//! in their HTTP/1.1 form, as the IIPC's "WARC Extensions for HTTP/2"
//! say (see [`solo_http::Capture`]); each exchange's records say
//! `WARC-Protocol: h2` or `http/1.1`. An exchange that failed after its
//! head keeps what was received, with `WARC-Truncated` saying why it is
//! cut short (see [`Truncated`]).
//!
//! Crash safety: each record is composed whole in memory and queued;
//! the queue goes to the file (no other user-space buffer) in one
//! `write` at the end of each of the writer thread's batches, before any
//! checkpoint of the state, and whenever it passes 1 MiB. A kill loses
//! only records not yet handed to the OS; in the file, only the last
//! record can be torn. A write that fails (a full disk) cuts the file
//! back to its last whole record before the error goes up. Digests: SHA-1, base32, as `sha1:...`
//! (`WARC-Block-Digest` of the whole block, `WARC-Payload-Digest` of the
//! body).
//!
//! Cost (measured on the 100,000-page benchmark site, 2 shared cores,
//! `perf`; bench/notes.md): compression was 85 % of the writer thread.
//! Each record is a gzip member of its own, ~1.6 KB on average, so the
//! per-member work (Huffman tables, match-finder reset) dominates, not
//! the bytes: zlib-rs at level 6 spent ~3 s per 100,000 pages where
//! libdeflate's whole-buffer gzip at level 1 spends ~1 s for a file
//! 0.3 % larger (117.4 against 117.0 MB); libdeflate's level 6 gains
//! 0.2 % more for twice the time. On large pages (the Rust docs' HTML, 64
//! KB each) level 1 is 11 % larger than zlib's 6 and libdeflate's level 6
//! 1 % smaller: `--warc-gzip-level` ([`WarcOutput::gzip_level`],
//! default 1) is for archives that prefer size. SHA-1 runs on the SHA-NI
//! instructions where the CPU has them (the `sha1` crate detects them at
//! run time: 1.4 GB/s here, against 0.35 GB/s for `ring`'s SHA-1), both
//! digests ~0.2 s per 100,000 pages. Writes: one per batch instead of
//! one per record (that was ~0.25 s of system time per 100,000 pages
//! in plain `.warc` files). Record IDs come from a user-space CSPRNG
//! (uuid's `fast-rng`), not one `getrandom` call each. Buffers are reused
//! from record to record, and each record's header is written straight
//! into its buffer (`head`: no `format!`, ~18,000 instructions per page
//! less). What was left on the writer thread (perf, 100,000 pages):
//! libdeflate ~1.1 s (per member: a 128 KiB match-finder table to reset
//! and Huffman codes to build, the same for a 600-byte `request` record
//! as for a page), SHA-1 ~0.2 s, freeing the captures ~0.1 s, writes
//! ~0.05 s. So at the default level 1, records up to 8 KiB (requests and
//! small pages) go to `member`, an encoder of our own that clears no
//! table and builds a Huffman code once for many records of a kind:
//! about half libdeflate's instructions for files ~2 % larger (see its
//! docs); larger records, and every other level, stay with libdeflate.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use sha1::{Digest, Sha1};

use crate::sink::db_err;
use crate::store::Store;
use head::{warc_date, Dates, Head, RecordId, WarcDate};

mod blocks;
mod head;
mod member;
mod output;
#[cfg(test)]
mod tests;

use blocks::{archived_head, archived_request, has_validators, is_conditional, one_line};
pub use output::{WarcOutput, DEFAULT_WARC_GZIP_LEVEL, DEFAULT_WARC_MAX_SIZE};

/// One exchange to archive, as [`fetch`](crate::fetch) captured it.
///
/// ```
/// use solo_crawl::warc::{Capture, Truncated};
/// let c = Capture {
///     date: std::time::SystemTime::now(),
///     peer: None,
///     request: bytes::Bytes::from_static(b"GET / HTTP/1.1\r\nhost: a.test\r\n\r\n"),
///     status: 200,
///     response_head: bytes::Bytes::from_static(b"HTTP/1.1 200 OK\r\n\r\n"),
///     body: bytes::Bytes::from_static(b"<p>the first 3 bytes of 1 MB"),
///     http2: false,
///     truncated: Some(Truncated::Disconnect),
/// };
/// assert_eq!(c.truncated.unwrap().as_str(), "disconnect");
/// ```
#[derive(Clone, Debug)]
pub struct Capture {
    /// When the exchange started.
    pub date: SystemTime,
    /// The address the connection went to.
    pub peer: Option<IpAddr>,
    /// The request as sent (request line, headers, body).
    pub request: Bytes,
    /// The response's status code (a `304` becomes a `server-not-modified`
    /// revisit, whatever its status line says).
    pub status: u16,
    /// The response's status line and header block as received.
    pub response_head: Bytes,
    /// The response body, de-chunked, content encoding kept.
    pub body: Bytes,
    /// The exchange went over HTTP/2: `request` and `response_head` are
    /// its HTTP/1.1 form (see [`solo_http::Capture::http2`]), and the
    /// records say `WARC-Protocol: h2` (else `http/1.1`).
    pub http2: bool,
    /// The body is cut short (the exchange failed after the head):
    /// why, for `WARC-Truncated`.
    pub truncated: Option<Truncated>,
}

/// Why a response record's body is cut short: the values of
/// `WARC-Truncated`.
///
/// ```
/// assert_eq!(solo_crawl::warc::Truncated::Length.as_str(), "length");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truncated {
    /// Over the size limit (`--max-bytes`).
    Length,
    /// Over the time limit (`--timeout`).
    Time,
    /// The connection broke.
    Disconnect,
    /// Another reason (bytes that were not valid HTTP).
    Unspecified,
}

impl Truncated {
    /// The field's value: `length`, `time`, `disconnect`, `unspecified`.
    ///
    /// ```
    /// assert_eq!(solo_crawl::warc::Truncated::Time.as_str(), "time");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Truncated::Length => "length",
            Truncated::Time => "time",
            Truncated::Disconnect => "disconnect",
            Truncated::Unspecified => "unspecified",
        }
    }
}

/// Writes WARC files (on the writer thread).
pub(crate) struct WarcWriter {
    cfg: WarcOutput,
    /// With `.gz`: the compressors of every record (see the module docs
    /// for which takes which, and why).
    gzip: Option<Gzip>,
    /// The number of the file being written, or of the first file when
    /// none is yet (`file` is `None`).
    number: u32,
    /// Created with the first exchange to write: a run that fetches
    /// nothing (a finished `--state` crawl run again) leaves no file
    /// holding only a `warcinfo`.
    file: Option<File>,
    /// Bytes in the file, including those still in `pending`.
    size: u64,
    /// Whole records not yet handed to the OS (see [`flush`](Self::flush)).
    pending: Vec<u8>,
    /// Reused: a record's text, and (with `.gz`) room for its gzip
    /// member (not shortened, so not zeroed again, unless a record made
    /// it larger than `BUF_KEEP`: see [`shrink`](Self::shrink)).
    text: Vec<u8>,
    packed: Vec<u8>,
    /// Reused: an exchange's request record while its response is
    /// composed.
    held: Vec<u8>,
    dates: Dates,
    /// Payload digest → (target URI, date) of the response that has it,
    /// in this run (with a state store, the store keeps them instead).
    written: HashMap<[u8; 20], (String, WarcDate)>,
    /// The file number last recorded in the state store.
    told: Option<u32>,
}

/// The compressors of a `.gz` file's records.
struct Gzip {
    /// libdeflate at the level asked for: every record, or (at level 1)
    /// those over [`member::SMALL_RECORD`] bytes.
    large: libdeflater::Compressor,
    /// At level 1 (the default), the records up to
    /// [`member::SMALL_RECORD`] bytes: a crawl's requests and small pages.
    small: Option<member::MemberEncoder>,
}

const IDENTICAL: &str = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";
const NOT_MODIFIED: &str = "http://netpreserve.org/warc/1.1/revisit/server-not-modified";

const REQUEST: &str = "application/http;msgtype=request";
const RESPONSE: &str = "application/http;msgtype=response";

/// Records waiting in memory that get handed to the OS at once, without
/// waiting for the end of the writer's batch.
const PENDING_MAX: usize = 1 << 20;

/// A reused buffer larger than this after a record is let go of.
const BUF_KEEP: usize = 4 << 20;

impl WarcWriter {
    /// A writer whose first file gets the next number free, and at least
    /// `floor` (with a state store: past every file an earlier run of the
    /// crawl created, moved away since or not), created with the first
    /// exchange; the name, the level and the directory are checked now.
    pub(crate) fn open(cfg: &WarcOutput, floor: u32) -> io::Result<WarcWriter> {
        cfg.check_name()?;
        let number = cfg
            .next_number()
            .map_err(|e| named(&cfg.path, e))?
            .max(floor);
        let gzip = match cfg.gzip() {
            false => None,
            true => Some(Gzip {
                large: libdeflater::Compressor::new(gzip_level(cfg)?),
                small: (cfg.gzip_level == 1).then(member::MemberEncoder::new),
            }),
        };
        let first = cfg.file_name(number);
        let dir = first.parent().filter(|d| !d.as_os_str().is_empty());
        if dir.is_some_and(|d| !d.is_dir()) {
            let e = io::Error::new(io::ErrorKind::NotFound, "its directory does not exist");
            return Err(named(&first, e));
        }
        Ok(WarcWriter {
            gzip,
            cfg: cfg.clone(),
            number,
            file: None,
            size: 0,
            pending: Vec::with_capacity(PENDING_MAX + (64 << 10)),
            text: Vec::new(),
            packed: Vec::new(),
            held: Vec::new(),
            dates: Dates::default(),
            written: HashMap::new(),
            told: None,
        })
    }

    /// Creates the first file, with its `warcinfo`, unless it is there.
    fn start(&mut self) -> io::Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let (file, path, number) = create(&self.cfg, self.number)?;
        self.number = number;
        self.file = Some(file);
        self.warcinfo(&path)
    }

    fn warcinfo(&mut self, path: &Path) -> io::Result<()> {
        let mut block = format!(
            "software: solo-crawl/{}\r\nformat: WARC File Format 1.1\r\n\
             conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n",
            env!("CARGO_PKG_VERSION")
        );
        for (k, v) in &self.cfg.info {
            block += &format!("{}: {}\r\n", one_line(k), one_line(v));
        }
        let name = one_line(&path.file_name().unwrap_or_default().to_string_lossy());
        let (id, date) = (RecordId::new(), warc_date(SystemTime::now()));
        let fields = |h: &mut Head| {
            h.field("WARC-Type", "warcinfo");
            h.field("WARC-Record-ID", id.as_str());
            h.field("WARC-Date", date.as_str());
            h.field("WARC-Filename", &name);
            h.field("Content-Type", "application/warc-fields");
        };
        // Straight in: called when a file starts, the roll-over decided.
        let len = self.record(&fields, block.as_bytes(), None)?;
        let record = match self.gzip {
            Some(_) => &self.packed[..len],
            None => &self.text[..len],
        };
        self.pending.extend_from_slice(record);
        self.size += len as u64;
        Ok(())
    }

    /// Queues the request and response (or revisit) records of one
    /// exchange with `url`.
    pub(crate) fn exchange(
        &mut self,
        url: String,
        c: &Capture,
        store: Option<&mut Store>,
    ) -> io::Result<()> {
        self.start()?;
        let date = self.dates.of(c.date);
        let uri = match url.bytes().any(|b| b.is_ascii_control() || b >= 0x80) {
            true => one_line(&url),
            false => url,
        };
        let (req_id, resp_id) = (RecordId::new(), RecordId::new());
        let mut ip_text = [0u8; 48];
        let ip = c.peer.map(|ip| ip_str(ip, &mut ip_text));
        let payload: [u8; 20] = Sha1::digest(&c.body).into();
        let head = archived_head(&c.response_head);
        // A body cut short is never a revisit, nor one to revisit.
        let whole = !c.body.is_empty() && c.truncated.is_none();
        let earlier = match whole {
            false => None,
            true => self.earlier(&payload, store.as_deref())?,
        };
        // The capture a 304 to a conditional request stands for (a crawl
        // with a state store knows it). A 304 with none (to a request
        // that asked nothing, or for a page never archived) is archived
        // as received: a revisit would point at nothing.
        let refers = match (c.status == 304, store.as_deref()) {
            (true, Some(s)) if is_conditional(&c.request) => {
                s.warc_capture(&uri).map_err(db_err)?
            }
            _ => None,
        };
        let not_modified = refers.is_some();
        let protocol = if c.http2 { "h2" } else { "http/1.1" };
        let kind = match (&earlier, not_modified) {
            (None, false) => "response",
            _ => "revisit",
        };
        let exchange_fields = |h: &mut Head, kind, [id, other]: [&RecordId; 2], content_type| {
            h.field("WARC-Type", kind);
            h.field("WARC-Record-ID", id.as_str());
            h.field("WARC-Date", date.as_str());
            h.field("WARC-Target-URI", &uri);
            if let Some(ip) = ip {
                h.field("WARC-IP-Address", ip);
            }
            h.field("WARC-Concurrent-To", other.as_str());
            h.field("WARC-Protocol", protocol);
            h.field("Content-Type", content_type);
        };
        let request = |h: &mut Head| exchange_fields(h, "request", [&req_id, &resp_id], REQUEST);
        let sent = archived_request(&c.request, self.cfg.keep_secrets);
        let len = self.record(&request, &sent, None)?;
        // Held while the response is composed in the same buffers: the
        // two go into one file (see `queue`).
        let mut held = std::mem::take(&mut self.held);
        held.clear();
        held.extend_from_slice(self.composed(len));
        let response = |h: &mut Head| {
            exchange_fields(h, kind, [&resp_id, &req_id], RESPONSE);
            if let Some(why) = c.truncated {
                h.field("WARC-Truncated", why.as_str());
            }
            match &earlier {
                // The answer to a conditional request: the page as
                // archived by an earlier crawl.
                _ if not_modified => {
                    h.field("WARC-Profile", NOT_MODIFIED);
                    if let Some((first_uri, first_date)) = &refers {
                        h.field("WARC-Refers-To-Target-URI", first_uri);
                        h.field("WARC-Refers-To-Date", first_date);
                    }
                }
                Some((first_uri, first_date)) => {
                    h.field("WARC-Profile", IDENTICAL);
                    h.field("WARC-Refers-To-Target-URI", first_uri);
                    h.field("WARC-Refers-To-Date", first_date);
                }
                None => {}
            }
        };
        let len = match (&earlier, not_modified) {
            (_, true) => self.record(&response, &head, None)?,
            (Some(_), false) => self.record(&response, &head, Some((&payload, &[])))?,
            (None, false) => self.record(&response, &head, Some((&payload, &c.body)))?,
        };
        let queued = self.queue(&held, len);
        self.held = held;
        self.shrink();
        queued?;
        let mut store = store;
        if let Some(s) = store.as_deref_mut() {
            // The crawl's next run starts past this file, even when this
            // one has been moved out of the directory by then.
            if self.told != Some(self.number) {
                s.set_warc_next(self.number.saturating_add(1))
                    .map_err(db_err)?;
                self.told = Some(self.number);
            }
        }
        if not_modified || !whole {
            return Ok(());
        }
        let Some(s) = store else {
            if earlier.is_none() {
                self.written.insert(payload, (uri, date));
            }
            return Ok(());
        };
        if earlier.is_none() {
            s.add_warc_payload(&payload, &uri, date.as_str())
                .map_err(db_err)?;
        }
        // Where a later `304` of this page finds its payload: only a page
        // with validators gets one.
        if has_validators(&c.response_head) {
            let (target, when) = match &earlier {
                Some((first_uri, first_date)) => (first_uri.as_str(), first_date.as_str()),
                None => (uri.as_str(), date.as_str()),
            };
            s.add_warc_capture(&uri, target, when).map_err(db_err)?;
        }
        Ok(())
    }

    /// The response record that first had this payload (target URI,
    /// date): in this run, or with a state store in any run of the crawl.
    fn earlier(
        &self,
        payload: &[u8; 20],
        store: Option<&Store>,
    ) -> io::Result<Option<(String, String)>> {
        match store {
            Some(s) => s.warc_payload(payload).map_err(db_err),
            None => Ok(self
                .written
                .get(payload)
                .map(|(uri, date)| (uri.clone(), date.as_str().to_owned()))),
        }
    }

    /// Composes one record, gzipped if the files are: the header
    /// `fields` write, then `block` followed by `payload.1` (whose
    /// digest is `payload.0`). Its length; its bytes are the first of
    /// `packed` (with `.gz`) or `text`.
    fn record(
        &mut self,
        fields: &dyn Fn(&mut Head),
        block: &[u8],
        payload: Option<(&[u8; 20], &[u8])>,
    ) -> io::Result<usize> {
        let body = payload.map_or(&[][..], |p| p.1);
        let mut digest = Sha1::new();
        digest.update(block);
        digest.update(body);
        let block_digest: [u8; 20] = digest.finalize().into();
        let mut head = Head::start(std::mem::take(&mut self.text));
        fields(&mut head);
        if let Some((p, _)) = payload {
            head.digest("WARC-Payload-Digest", p);
        }
        head.digest("WARC-Block-Digest", &block_digest);
        let mut out = head.end(block.len() + body.len());
        out.extend_from_slice(block);
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n\r\n");
        self.text = out;
        let Some(gz) = &mut self.gzip else {
            return Ok(self.text.len());
        };
        if let Some(small) = gz
            .small
            .as_mut()
            .filter(|_| self.text.len() <= member::SMALL_RECORD)
        {
            self.packed.clear();
            small.gzip(&self.text, &mut self.packed);
            return Ok(self.packed.len());
        }
        let bound = gz.large.gzip_compress_bound(self.text.len());
        if self.packed.len() < bound {
            self.packed.resize(bound, 0);
        }
        gz.large
            .gzip_compress(&self.text, &mut self.packed)
            .map_err(|e| io::Error::other(format!("gzip: {e:?}")))
    }

    /// The record [`record`](Self::record) composed last (`len` bytes).
    fn composed(&self, len: usize) -> &[u8] {
        match self.gzip {
            Some(_) => &self.packed[..len],
            None => &self.text[..len],
        }
    }

    /// Queues `first` (a whole record) and the record
    /// [`record`](Self::record) composed last (`len` bytes): one
    /// exchange, never split across two files (a request apart from its
    /// response). The next file is started first if they would take this
    /// one past the limit.
    fn queue(&mut self, first: &[u8], len: usize) -> io::Result<()> {
        let total = (first.len() + len) as u64;
        if self.size > 0 && self.size.saturating_add(total) > self.cfg.max_size {
            self.flush()?;
            let (file, path, number) = create(&self.cfg, self.number.saturating_add(1))?;
            self.number = number;
            self.file = Some(file);
            self.size = 0;
            // The warcinfo record takes the buffers: the record waits in
            // them no longer than for this copy.
            let record = std::mem::take(match self.gzip {
                Some(_) => &mut self.packed,
                None => &mut self.text,
            });
            self.warcinfo(&path)?;
            self.pending.extend_from_slice(first);
            self.pending.extend_from_slice(&record[..len]);
        } else {
            self.pending.extend_from_slice(first);
            let record = match self.gzip {
                Some(_) => &self.packed[..len],
                None => &self.text[..len],
            };
            self.pending.extend_from_slice(record);
        }
        self.size += total;
        if self.pending.len() >= PENDING_MAX {
            self.flush()?;
        }
        Ok(())
    }

    /// Lets go of the memory of a large record (a big body would
    /// otherwise stay allocated, two or three times, for the rest of the
    /// crawl, outside `--max-buffered`).
    fn shrink(&mut self) {
        for buf in [&mut self.text, &mut self.packed, &mut self.held] {
            if buf.capacity() > BUF_KEEP {
                *buf = Vec::new();
            }
        }
        if self.pending.is_empty() && self.pending.capacity() > PENDING_MAX + BUF_KEEP {
            self.pending = Vec::with_capacity(PENDING_MAX + (64 << 10));
        }
    }

    /// Hands the queued records to the OS, in one `write` as far as it
    /// takes them (the writer thread calls this at the end of every batch
    /// and before a checkpoint).
    ///
    /// A write that fails part-way (a full disk) leaves no torn record:
    /// the file is cut back to the end of the last whole one before the
    /// error is returned, so every file a crawl leaves reads back whole.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(file) = &mut self.file else {
            return Ok(()); // records are queued only once it is there
        };
        let whole = self.size - self.pending.len() as u64;
        let r = file.write_all(&self.pending);
        let cut = match r {
            Ok(()) => Ok(()),
            Err(_) => file
                .set_len(whole)
                .and_then(|()| file.seek(SeekFrom::Start(whole)).map(drop)),
        };
        self.pending.clear();
        self.shrink();
        let Err(e) = r else { return Ok(()) };
        self.size = whole;
        let path = self.cfg.file_name(self.number);
        match cut {
            Ok(()) => Err(named(&path, e)),
            Err(c) => Err(named(
                &path,
                io::Error::new(
                    e.kind(),
                    format!("{e}; cutting its last record off failed too ({c}): delete the file's torn end"),
                ),
            )),
        }
    }
}

/// An address as text, in `buf`.
fn ip_str(ip: IpAddr, buf: &mut [u8; 48]) -> &str {
    let mut w = &mut buf[..];
    let room = w.len();
    // 48 bytes hold any IPv4 or IPv6 address's text.
    let n = match write!(w, "{ip}") {
        Ok(()) => room - w.len(),
        Err(_) => 0,
    };
    std::str::from_utf8(&buf[..n]).unwrap_or_default()
}

/// The compression level, checked.
fn gzip_level(cfg: &WarcOutput) -> io::Result<libdeflater::CompressionLvl> {
    libdeflater::CompressionLvl::new(cfg.gzip_level.into()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "WARC gzip level {} for {}: must be 0 to 12 (check --warc-gzip-level)",
                cfg.gzip_level,
                cfg.path.display()
            ),
        )
    })
}

/// Now as a WARC date (`2026-12-01T11:40:00Z`, RFC 3339 in UTC), for
/// messages that stand beside JSON log lines.
pub(crate) fn rfc3339_now() -> String {
    head::warc_date(SystemTime::now()).as_str().to_owned()
}

/// Creates file number `n`, or the next free number after it: never a
/// file that exists (another process writing the same `--warc` name, a
/// worker of a shared crawl, takes its own numbers). The file, its path
/// and its number.
fn create(cfg: &WarcOutput, n: u32) -> io::Result<(File, PathBuf, u32)> {
    let mut n = n;
    loop {
        let path = cfg.file_name(n);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path, n)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < u32::MAX => n += 1,
            Err(e) => return Err(named(&path, e)),
        }
    }
}

/// A failure of one WARC file: `e` with the file's path (kept apart, so
/// the crawl's error names the WARC file, not the record output).
pub(crate) fn named(path: &Path, e: io::Error) -> io::Error {
    let kind = e.kind();
    let path = path.to_owned();
    io::Error::new(kind, WarcFileError { path, source: e })
}

/// What [`named`] wraps: a WARC file and what failed there.
#[derive(Debug)]
pub(crate) struct WarcFileError {
    pub(crate) path: PathBuf,
    pub(crate) source: io::Error,
}

impl std::fmt::Display for WarcFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (path, e) = (self.path.display(), &self.source);
        write!(f, "WARC file {path}: {e} (check --warc)")
    }
}

impl std::error::Error for WarcFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
