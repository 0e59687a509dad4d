//! WARC/1.1 output: every exchange of the crawl as the archive standard
//! (ISO 28500) keeps it.
//!
//! Owns: [`WarcOutput`] (where and how big), the record writer (a
//! `warcinfo` record first in every file, then per fetch a `request` and
//! a `response` record, or a `revisit`: profile
//! `identical-payload-digest` when the body was already written in this
//! run (`WARC-Refers-To-*` name the first), `server-not-modified` for a
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
//! Crash safety: each record is composed in memory and written with one
//! `write` call, straight to the file (no user-space buffer): a kill
//! leaves every record that was handed to the OS whole. Digests: SHA-1,
//! base32, as `sha1:...` (`WARC-Block-Digest` of the whole block,
//! `WARC-Payload-Digest` of the body).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use sha1::{Digest, Sha1};

/// The default of [`WarcOutput::max_size`]: 1 GiB (`--warc-max-size 1G`).
pub const DEFAULT_WARC_MAX_SIZE: u64 = 1 << 30;

/// Where the crawl's WARC files go.
///
/// ```
/// let w = solo_crawl::WarcOutput::new("out/crawl.warc.gz");
/// assert_eq!(w.max_size, 1 << 30);
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
    /// With `.gz`: one compressor for every record (a new one per record
    /// allocates and clears its ~300 KB of tables each time: that was
    /// 85 % of a WARC crawl's CPU).
    gzip: Option<std::cell::RefCell<GzipMembers>>,
    number: u32,
    file: File,
    size: u64,
    /// Payload digest → (target URI, date) of the response that has it.
    written: HashMap<[u8; 20], (String, String)>,
}

const IDENTICAL: &str = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";
const NOT_MODIFIED: &str = "http://netpreserve.org/warc/1.1/revisit/server-not-modified";

impl WarcWriter {
    /// Opens the first file of this run (the next number free).
    pub(crate) fn open(cfg: &WarcOutput) -> io::Result<WarcWriter> {
        let number = cfg.next_number().map_err(|e| named(&cfg.path, e))?;
        let (file, path, number) = create(cfg, number)?;
        let mut w = WarcWriter {
            gzip: cfg
                .gzip()
                .then(|| std::cell::RefCell::new(GzipMembers::new())),
            cfg: cfg.clone(),
            number,
            file,
            size: 0,
            written: HashMap::new(),
        };
        w.warcinfo(&path)?;
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
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let fields = vec![
            ("WARC-Type", "warcinfo".to_owned()),
            ("WARC-Record-ID", record_id()),
            ("WARC-Date", warc_date(SystemTime::now())),
            ("WARC-Filename", one_line(&name)),
            ("Content-Type", "application/warc-fields".to_owned()),
        ];
        let record = self.record(fields, block.as_bytes(), None)?;
        self.write(&record)
    }

    /// Writes the request and response (or revisit) records of one
    /// exchange with `url`.
    pub(crate) fn exchange(&mut self, url: &str, c: &Capture) -> io::Result<()> {
        let date = warc_date(c.date);
        let uri = one_line(url);
        let (req_id, resp_id) = (record_id(), record_id());
        let payload: [u8; 20] = Sha1::digest(&c.body).into();
        let head = archived_head(&c.response_head);
        let mut fields = vec![
            ("WARC-Record-ID", resp_id.clone()),
            ("WARC-Date", date.clone()),
            ("WARC-Target-URI", uri.clone()),
        ];
        if let Some(ip) = c.peer {
            fields.push(("WARC-IP-Address", ip.to_string()));
        }
        fields.push(("WARC-Concurrent-To", req_id.clone()));
        fields.push((
            "Content-Type",
            "application/http;msgtype=response".to_owned(),
        ));
        let earlier = match c.body.is_empty() {
            true => None,
            false => self.written.get(&payload).cloned(),
        };
        let response = match earlier {
            _ if c.response_head.get(8..13) == Some(b" 304 ") => {
                // The answer to a conditional request: the page as
                // archived by an earlier crawl.
                fields.insert(0, ("WARC-Type", "revisit".to_owned()));
                fields.push(("WARC-Profile", NOT_MODIFIED.to_owned()));
                self.record(fields, &head, None)?
            }
            Some((first_uri, first_date)) => {
                fields.insert(0, ("WARC-Type", "revisit".to_owned()));
                fields.push(("WARC-Profile", IDENTICAL.to_owned()));
                fields.push(("WARC-Refers-To-Target-URI", first_uri));
                fields.push(("WARC-Refers-To-Date", first_date));
                self.record(fields, &head, Some((&payload, &[])))?
            }
            None => {
                fields.insert(0, ("WARC-Type", "response".to_owned()));
                if !c.body.is_empty() {
                    self.written.insert(payload, (uri.clone(), date.clone()));
                }
                self.record(fields, &head, Some((&payload, &c.body)))?
            }
        };
        let mut fields = vec![
            ("WARC-Type", "request".to_owned()),
            ("WARC-Record-ID", req_id),
            ("WARC-Date", date),
            ("WARC-Target-URI", uri),
        ];
        if let Some(ip) = c.peer {
            fields.push(("WARC-IP-Address", ip.to_string()));
        }
        fields.push(("WARC-Concurrent-To", resp_id));
        fields.push((
            "Content-Type",
            "application/http;msgtype=request".to_owned(),
        ));
        let request = self.record(fields, &c.request, None)?;
        self.write(&request)?;
        self.write(&response)
    }

    /// One record, compressed if the files are: `block` followed by
    /// `payload.1` (whose digest is `payload.0`).
    fn record(
        &self,
        fields: Vec<(&str, String)>,
        block: &[u8],
        payload: Option<(&[u8; 20], &[u8])>,
    ) -> io::Result<Vec<u8>> {
        let body = payload.map_or(&[][..], |p| p.1);
        let mut digest = Sha1::new();
        digest.update(block);
        digest.update(body);
        let block_digest: [u8; 20] = digest.finalize().into();
        let mut out = b"WARC/1.1\r\n".to_vec();
        for (k, v) in &fields {
            out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        if let Some((p, _)) = payload {
            out.extend_from_slice(format!("WARC-Payload-Digest: {}\r\n", sha1(p)).as_bytes());
        }
        let len = block.len() + body.len();
        out.extend_from_slice(
            format!(
                "WARC-Block-Digest: {}\r\nContent-Length: {len}\r\n\r\n",
                sha1(&block_digest)
            )
            .as_bytes(),
        );
        out.extend_from_slice(block);
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n\r\n");
        match &self.gzip {
            None => Ok(out),
            Some(gz) => gz.borrow_mut().member(&out),
        }
    }

    /// Writes one whole record, starting the next file first if it would
    /// take this one past the limit.
    fn write(&mut self, record: &[u8]) -> io::Result<()> {
        let len = record.len() as u64;
        if self.size > 0 && self.size.saturating_add(len) > self.cfg.max_size {
            let (file, path, number) = create(&self.cfg, self.number.saturating_add(1))?;
            self.number = number;
            self.file = file;
            self.size = 0;
            self.warcinfo(&path)?;
        }
        self.file
            .write_all(record)
            .map_err(|e| named(&self.cfg.file_name(self.number), e))?;
        self.size += len;
        Ok(())
    }
}

/// Compresses each record as a gzip member of its own (so readers can
/// seek to any record), with one deflate state reset between members.
pub(crate) struct GzipMembers {
    deflate: flate2::Compress,
}

impl GzipMembers {
    fn new() -> GzipMembers {
        GzipMembers {
            // Raw deflate: the gzip header and trailer are written here.
            deflate: flate2::Compress::new(flate2::Compression::default(), false),
        }
    }

    /// `data` as one gzip member (RFC 1952: header, deflate, CRC-32, size).
    fn member(&mut self, data: &[u8]) -> io::Result<Vec<u8>> {
        // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=unknown
        let mut out = Vec::with_capacity(data.len() / 3 + 64);
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        self.deflate.reset();
        loop {
            let read = self.deflate.total_in() as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            let status = self
                .deflate
                .compress_vec(&data[read..], &mut out, flate2::FlushCompress::Finish)
                .map_err(io::Error::other)?;
            if status == flate2::Status::StreamEnd {
                break;
            }
        }
        out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        Ok(out)
    }
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
