//! WARC/1.1 output: every exchange of the crawl as the archive standard
//! (ISO 28500) keeps it.
//!
//! Owns: [`WarcOutput`] (where and how big), the record writer (a
//! `warcinfo` record first in every file, then per fetch a `request` and
//! a `response` record, or a `revisit`: profile
//! `identical-payload-digest` when the body was already written in this
//! run, or with `--state` in any earlier run of the same crawl (the state
//! store keeps each payload digest written; `WARC-Refers-To-*` name the
//! first), `server-not-modified` for a
//! `304` to a conditional request (`--recrawl`)), the files' names and
//! roll-over, and the digests. Must not: touch the network or the loop: it runs on the
//! writer thread (see `sink`), fed by what `fetch` captured.
//!
//! Files: `--warc crawl.warc.gz` writes `crawl-00000.warc.gz`,
//! `crawl-00001.warc.gz`, ... in the same directory: a new file when the
//! next record would take the current one past
//! [`max_size`](WarcOutput::max_size), and a new file for every run, at
//! the first number after the highest one there (so a resumed or repeated
//! crawl never touches an earlier file). A name ending in `.gz` gets each
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
//! (see [`solo_http::Capture`]).
//!
//! Crash safety: each record is composed whole in memory and queued;
//! the queue goes to the file (no other user-space buffer) in one
//! `write` at the end of each of the writer thread's batches, before any
//! checkpoint of the state, and whenever it passes 1 MiB. A kill loses
//! only records not yet handed to the OS; in the file, only the last
//! record can be torn. Digests: SHA-1, base32, as `sha1:...`
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
//! from record to record.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use sha1::{Digest, Sha1};

use crate::sink::db_err;
use crate::store::Store;

/// The default of [`WarcOutput::max_size`]: 1 GiB (`--warc-max-size 1G`).
pub const DEFAULT_WARC_MAX_SIZE: u64 = 1 << 30;

/// The default of [`WarcOutput::gzip_level`] (`--warc-gzip-level 1`): on
/// the records of a crawl as small as they are gzipped here (one member
/// each), libdeflate's level 1 packs within 0.2 % of its level 6 at half
/// its CPU (see the module docs).
pub const DEFAULT_WARC_GZIP_LEVEL: u8 = 1;

/// Where the crawl's WARC files go.
///
/// ```
/// let w = solo_crawl::WarcOutput::new("out/crawl.warc.gz");
/// assert_eq!(w.max_size, 1 << 30);
/// assert_eq!(w.gzip_level, solo_crawl::DEFAULT_WARC_GZIP_LEVEL);
/// assert_eq!(w.file_name(3), std::path::PathBuf::from("out/crawl-00003.warc.gz"));
/// ```
#[derive(Clone, Debug)]
pub struct WarcOutput {
    /// The name the files are numbered after (see the module docs); a
    /// name ending in `.gz` is compressed record by record.
    pub path: PathBuf,
    /// A file is closed and the next one started before a record would
    /// take it past this many bytes (a single larger record gets a file
    /// of its own).
    pub max_size: u64,
    /// With a name ending in `.gz`: libdeflate's compression level, 0
    /// (stored, no compression) to 12 (smallest, slowest).
    pub gzip_level: u8,
    /// Extra fields of the `warcinfo` record (the settings of the crawl).
    pub info: Vec<(String, String)>,
}

impl WarcOutput {
    /// Files named after `path`, at most 1 GiB each.
    ///
    /// ```
    /// let w = solo_crawl::WarcOutput::new("crawl.warc");
    /// assert!(w.info.is_empty());
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> WarcOutput {
        WarcOutput {
            path: path.into(),
            max_size: DEFAULT_WARC_MAX_SIZE,
            gzip_level: DEFAULT_WARC_GZIP_LEVEL,
            info: Vec::new(),
        }
    }

    fn gzip(&self) -> bool {
        self.path.to_string_lossy().ends_with(".gz")
    }

    /// The name before the number, and the extension after it.
    fn parts(&self) -> (String, &'static str) {
        let name = self.path.to_string_lossy();
        let gz = self.gzip();
        let stem = name.strip_suffix(".gz").unwrap_or(&name);
        let stem = stem.strip_suffix(".warc").unwrap_or(stem);
        (stem.to_owned(), if gz { ".warc.gz" } else { ".warc" })
    }

    /// The name of file number `n`.
    ///
    /// ```
    /// let w = solo_crawl::WarcOutput::new("crawl.warc");
    /// assert_eq!(w.file_name(12), std::path::PathBuf::from("crawl-00012.warc"));
    /// ```
    pub fn file_name(&self, n: u32) -> PathBuf {
        let (stem, ext) = self.parts();
        PathBuf::from(format!("{stem}-{n:05}{ext}"))
    }

    /// The first number after the highest file already there.
    fn next_number(&self) -> io::Result<u32> {
        let (stem, ext) = self.parts();
        let stem_path = Path::new(&stem);
        let dir = match stem_path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let prefix = format!(
            "{}-",
            stem_path.file_name().unwrap_or_default().to_string_lossy()
        );
        let mut next = 0;
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            let number = name
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(ext))
                .and_then(|n| n.parse::<u32>().ok());
            if let Some(n) = number {
                next = next.max(n.saturating_add(1));
            }
        }
        Ok(next)
    }
}

/// One exchange to archive, as [`fetch`](crate::fetch) captured it.
#[derive(Clone, Debug)]
pub struct Capture {
    /// When the exchange started.
    pub date: SystemTime,
    /// The address the connection went to.
    pub peer: Option<IpAddr>,
    /// The request as sent (request line, headers, body).
    pub request: Bytes,
    /// The response's status line and header block as received.
    pub response_head: Bytes,
    /// The response body, de-chunked, content encoding kept.
    pub body: Bytes,
}

/// Writes WARC files (on the writer thread).
pub(crate) struct WarcWriter {
    cfg: WarcOutput,
    /// With `.gz`: one compressor for every record (libdeflate's
    /// whole-buffer gzip: see the module docs for why).
    gzip: Option<libdeflater::Compressor>,
    number: u32,
    file: File,
    /// Bytes in the file, including those still in `pending`.
    size: u64,
    /// Whole records not yet handed to the OS (see [`flush`](Self::flush)).
    pending: Vec<u8>,
    /// Reused: a record's text, and (with `.gz`) its gzip member.
    text: Vec<u8>,
    packed: Vec<u8>,
    /// Payload digest → (target URI, date) of the response that has it,
    /// in this run (with a state store, the store keeps them instead).
    written: HashMap<[u8; 20], (String, String)>,
}

const IDENTICAL: &str = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";
const NOT_MODIFIED: &str = "http://netpreserve.org/warc/1.1/revisit/server-not-modified";

const REQUEST: &str = "application/http;msgtype=request";
const RESPONSE: &str = "application/http;msgtype=response";

/// Records waiting in memory that get handed to the OS at once, without
/// waiting for the end of the writer's batch.
const PENDING_MAX: usize = 1 << 20;

impl WarcWriter {
    /// Opens the first file of this run (the next number free).
    pub(crate) fn open(cfg: &WarcOutput) -> io::Result<WarcWriter> {
        let number = cfg.next_number().map_err(|e| named(&cfg.path, e))?;
        let gzip = match cfg.gzip() {
            false => None,
            true => Some(libdeflater::Compressor::new(gzip_level(cfg)?)),
        };
        let (file, path, number) = create(cfg, number)?;
        let mut w = WarcWriter {
            gzip,
            cfg: cfg.clone(),
            number,
            file,
            size: 0,
            pending: Vec::with_capacity(PENDING_MAX + (64 << 10)),
            text: Vec::new(),
            packed: Vec::new(),
            written: HashMap::new(),
        };
        w.warcinfo(&path)?;
        w.flush()?;
        Ok(w)
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
        let fields = [
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", &record_id()),
            ("WARC-Date", &warc_date(SystemTime::now())),
            ("WARC-Filename", &name),
            ("Content-Type", "application/warc-fields"),
        ];
        let record = self.record(&fields, block.as_bytes(), None)?;
        // Straight in: called when a file starts, the roll-over decided.
        self.pending.extend_from_slice(&record);
        self.size += record.len() as u64;
        self.recycle(record);
        Ok(())
    }

    /// Queues the request and response (or revisit) records of one
    /// exchange with `url`.
    pub(crate) fn exchange(
        &mut self,
        url: &str,
        c: &Capture,
        store: Option<&mut Store>,
    ) -> io::Result<()> {
        let date = warc_date(c.date);
        let uri = one_line(url);
        let (req_id, resp_id) = (record_id(), record_id());
        let ip = c.peer.map(|ip| ip.to_string());
        let payload: [u8; 20] = Sha1::digest(&c.body).into();
        let head = archived_head(&c.response_head);
        let earlier = match c.body.is_empty() {
            true => None,
            false => self.earlier(&payload, store.as_deref())?,
        };
        let not_modified = c.response_head.get(8..13) == Some(b" 304 ");
        let kind = match (&earlier, not_modified) {
            (None, false) => "response",
            _ => "revisit",
        };
        let mut fields = exchange_fields(kind, [&resp_id, &date, &uri], &ip, &req_id, RESPONSE);
        let response = match &earlier {
            // The answer to a conditional request: the page as archived
            // by an earlier crawl.
            _ if not_modified => {
                fields.push(("WARC-Profile", NOT_MODIFIED));
                self.record(&fields, &head, None)?
            }
            Some((first_uri, first_date)) => {
                fields.push(("WARC-Profile", IDENTICAL));
                fields.push(("WARC-Refers-To-Target-URI", first_uri));
                fields.push(("WARC-Refers-To-Date", first_date));
                self.record(&fields, &head, Some((&payload, &[])))?
            }
            None => self.record(&fields, &head, Some((&payload, &c.body)))?,
        };
        let fields = exchange_fields("request", [&req_id, &date, &uri], &ip, &resp_id, REQUEST);
        let request = self.record(&fields, &c.request, None)?;
        self.queue(&request)?;
        self.recycle(request);
        self.queue(&response)?;
        self.recycle(response);
        if earlier.is_none() && !not_modified && !c.body.is_empty() {
            match store {
                Some(s) => s.add_warc_payload(&payload, &uri, &date).map_err(db_err)?,
                None => drop(self.written.insert(payload, (uri, date))),
            }
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
            None => Ok(self.written.get(payload).cloned()),
        }
    }

    /// One record, gzipped if the files are: `block` followed by
    /// `payload.1` (whose digest is `payload.0`). The buffer goes back
    /// with [`recycle`](Self::recycle).
    fn record(
        &mut self,
        fields: &[(&str, &str)],
        block: &[u8],
        payload: Option<(&[u8; 20], &[u8])>,
    ) -> io::Result<Vec<u8>> {
        let body = payload.map_or(&[][..], |p| p.1);
        let mut digest = Sha1::new();
        digest.update(block);
        digest.update(body);
        let block_digest: [u8; 20] = digest.finalize().into();
        let mut out = std::mem::take(&mut self.text);
        out.clear();
        out.extend_from_slice(b"WARC/1.1\r\n");
        for (k, v) in fields {
            write!(out, "{k}: {v}\r\n")?;
        }
        if let Some((p, _)) = payload {
            write!(out, "WARC-Payload-Digest: {}\r\n", sha1(p))?;
        }
        let len = block.len() + body.len();
        write!(
            out,
            "WARC-Block-Digest: {}\r\nContent-Length: {len}\r\n\r\n",
            sha1(&block_digest)
        )?;
        out.extend_from_slice(block);
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n\r\n");
        let Some(gz) = &mut self.gzip else {
            return Ok(out);
        };
        let mut member = std::mem::take(&mut self.packed);
        member.resize(gz.gzip_compress_bound(out.len()), 0);
        let n = gz
            .gzip_compress(&out, &mut member)
            .map_err(|e| io::Error::other(format!("gzip: {e:?}")))?;
        member.truncate(n);
        self.text = out;
        Ok(member)
    }

    /// Gives a buffer from [`record`](Self::record) back for the next.
    fn recycle(&mut self, buf: Vec<u8>) {
        match self.gzip {
            Some(_) => self.packed = buf,
            None => self.text = buf,
        }
    }

    /// Queues one whole record, starting the next file first if it would
    /// take this one past the limit.
    fn queue(&mut self, record: &[u8]) -> io::Result<()> {
        let len = record.len() as u64;
        if self.size > 0 && self.size.saturating_add(len) > self.cfg.max_size {
            self.flush()?;
            let (file, path, number) = create(&self.cfg, self.number.saturating_add(1))?;
            self.number = number;
            self.file = file;
            self.size = 0;
            self.warcinfo(&path)?;
        }
        self.pending.extend_from_slice(record);
        self.size += len;
        if self.pending.len() >= PENDING_MAX {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands the queued records to the OS, in one `write` as far as it
    /// takes them (the writer thread calls this at the end of every batch
    /// and before a checkpoint).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let r = self.file.write_all(&self.pending);
        self.pending.clear();
        r.map_err(|e| named(&self.cfg.file_name(self.number), e))
    }
}

/// The fields of a `request`, `response` or `revisit` record up to its
/// content type; `[id, date, uri]`, and the other record's ID.
fn exchange_fields<'a>(
    kind: &'a str,
    [id, date, uri]: [&'a str; 3],
    ip: &'a Option<String>,
    other: &'a str,
    content_type: &'static str,
) -> Vec<(&'static str, &'a str)> {
    let mut fields = vec![
        ("WARC-Type", kind),
        ("WARC-Record-ID", id),
        ("WARC-Date", date),
        ("WARC-Target-URI", uri),
    ];
    if let Some(ip) = ip {
        fields.push(("WARC-IP-Address", ip));
    }
    fields.push(("WARC-Concurrent-To", other));
    fields.push(("Content-Type", content_type));
    fields
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

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("WARC file {}: {e} (check --warc)", path.display()),
    )
}

/// The head to archive: a `Transfer-Encoding` line renamed (the body is
/// stored de-chunked), everything else as received.
fn archived_head(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len() + 16);
    for line in head.split_inclusive(|&b| b == b'\n') {
        let te = line.len() > 18 && line[..18].eq_ignore_ascii_case(b"transfer-encoding:");
        if te {
            out.extend_from_slice(b"X-Archive-Orig-");
        }
        out.extend_from_slice(line);
    }
    out
}

fn sha1(d: &[u8; 20]) -> String {
    format!("sha1:{}", data_encoding::BASE32.encode(d))
}

fn record_id() -> String {
    format!("<urn:uuid:{}>", uuid::Uuid::new_v4())
}

/// A header value on one line (no CR, LF or other control characters).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `2026-11-30T18:55:00Z` (UTC, to the second).
fn warc_date(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_writers_of_one_name_never_share_a_file() {
        let dir = std::env::temp_dir().join(format!("solo-warc-create-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = WarcOutput::new(dir.join("w.warc.gz"));
        // Both saw number 0 free (two workers starting together): the
        // second goes on at the next free number.
        let (_, a, na) = create(&cfg, 0).unwrap();
        let (_, b, nb) = create(&cfg, 0).unwrap();
        assert_eq!((na, nb), (0, 1));
        assert_ne!(a, b);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn transfer_encoding_is_renamed_and_the_rest_kept() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A:  b\r\n\r\n";
        assert_eq!(
            archived_head(head),
            b"HTTP/1.1 200 OK\r\nX-Archive-Orig-Transfer-Encoding: chunked\r\nX-A:  b\r\n\r\n"
        );
    }

    /// The records of one exchange written at `level`: the file's bytes.
    fn written_at(dir: &Path, level: u8) -> io::Result<Vec<u8>> {
        let mut cfg = WarcOutput::new(dir.join(format!("l{level}.warc.gz")));
        cfg.gzip_level = level;
        let mut w = WarcWriter::open(&cfg)?;
        let page = "<p>the same words again and again</p>\n".repeat(200);
        let c = Capture {
            date: SystemTime::UNIX_EPOCH,
            peer: None,
            request: Bytes::from_static(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"),
            response_head: Bytes::from_static(b"HTTP/1.1 200 OK\r\n\r\n"),
            body: Bytes::from(page),
        };
        w.exchange("http://a.test/", &c, None)?;
        w.flush()?;
        std::fs::read(cfg.file_name(0))
    }

    #[test]
    fn the_gzip_level_is_used_and_each_record_is_a_member() {
        let dir = std::env::temp_dir().join(format!("solo-warc-level-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let stored = written_at(&dir, 0).unwrap();
        let packed = written_at(&dir, 12).unwrap();
        assert!(
            packed.len() * 4 < stored.len(),
            "{} {}",
            packed.len(),
            stored.len()
        );
        for file in [stored, packed] {
            // warcinfo, request, response: three members, each whole.
            let mut rest = &file[..];
            let mut types = Vec::new();
            while !rest.is_empty() {
                let mut member = flate2::bufread::GzDecoder::new(rest);
                let mut text = String::new();
                io::Read::read_to_string(&mut member, &mut text).unwrap();
                rest = member.into_inner();
                let kind = text.lines().find_map(|l| l.strip_prefix("WARC-Type: "));
                types.push(kind.unwrap().to_owned());
            }
            assert_eq!(types, ["warcinfo", "request", "response"]);
        }
        let mut cfg = WarcOutput::new(dir.join("bad.warc.gz"));
        cfg.gzip_level = 13;
        let err = WarcWriter::open(&cfg).err().unwrap().to_string();
        assert!(err.contains("--warc-gzip-level"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_are_numbered_after_the_stem() {
        let w = WarcOutput::new("/tmp/x/crawl.warc.gz");
        assert_eq!(w.parts(), ("/tmp/x/crawl".to_owned(), ".warc.gz"));
        assert_eq!(
            WarcOutput::new("a").file_name(0),
            PathBuf::from("a-00000.warc")
        );
        assert_eq!(warc_date(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}
