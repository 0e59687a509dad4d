//! Output: per-page records and items, as JSON Lines or CSV.
//!
//! Owns: the [`PageRecord`] (its fields are the output format: `url`,
//! `final_url`, `status`, `depth`, `content_type`, `bytes`, `title`,
//! `links`, `elapsed_ms`, `referer`, `error`, `redirect_to`,
//! `redirected_from`, `noindex`, `nofollow`, `canonical`, `lastmod`, and
//! `truncated` when something was cut, `not_modified` when a recrawl got
//! a 304), the
//! formats, and where they go ([`Target`]: stdout, a file, a shared
//! buffer, nowhere). A file is only ever appended to (a record starts on
//! a line of its own); a regular file's length is tracked so the state
//! can account for it, and anything else (`/dev/null`, a pipe, a FIFO) is
//! just written to. Text fields of page records are cut to
//! [`OutputConfig::max_field_chars`]; CSV cells are made safe to open in a
//! spreadsheet unless [`OutputConfig::csv_raw`] (see [`csv_safe`]). Writing is
//! synchronous and buffered: the engine calls it from the writer thread,
//! never from the loop. A write to a regular file that fails part-way (a
//! full disk) cuts the file back to the end of the last whole record
//! this run wrote before the error is returned, as the WARC writer does,
//! so no torn record is left in it. Must not: know about the crawl's
//! state or the loop, or cut a file further back than that.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// The record written for every page the crawl requested.
///
/// ```
/// let r = solo_crawl::PageRecord { url: "http://a.test/".into(), status: Some(200), ..Default::default() };
/// let line = serde_json::to_string(&r).unwrap();
/// assert!(line.starts_with(r#"{"url":"http://a.test/","final_url":null,"status":200,"depth":0,"#));
/// assert!(line.ends_with(r#""redirected_from":[],"noindex":false,"nofollow":false,"canonical":null,"lastmod":null}"#));
/// ```
///
/// A redirect gets a record of its own (its status, and where it pointed
/// in `redirect_to`); its target is fetched as a request of its own, whose
/// record lists the chain in `redirected_from`. A target already seen is
/// not fetched again (its record lists the chain that reached it first):
/// every chain is rebuilt by following `redirect_to` from record to
/// record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PageRecord {
    /// The URL requested.
    pub url: String,
    /// The URL that answered (`None` without a response): the URL
    /// requested, since each redirect hop is a request of its own.
    pub final_url: Option<String>,
    /// The HTTP status (`None` without a response).
    pub status: Option<u16>,
    /// Links from a start URL.
    pub depth: u32,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// Body bytes received.
    pub bytes: u64,
    /// The HTML `<title>`.
    pub title: Option<String>,
    /// How many distinct http(s) links the page has (0 unless HTML).
    pub links: u64,
    /// Time to fetch (the last attempt, if retried), in ms.
    pub elapsed_ms: f64,
    /// The page the URL was found on.
    pub referer: Option<String>,
    /// Why the page failed (`None` when a response was received and,
    /// for a redirect, its target was valid).
    pub error: Option<String>,
    /// A redirect (301, 302, 303, 307, 308): where its `Location` points,
    /// resolved. The target is crawled as a request of its own, if the
    /// crawl's rules allow it (scope, robots.txt, not seen before, page
    /// budget, redirects per chain); a redirect not followed (a loop,
    /// the `max_redirects` limit) still has it, and an `error` says why.
    #[serde(default)]
    pub redirect_to: Option<String>,
    /// The URLs that redirected to this one, oldest first (the first is
    /// the URL that was linked or started from), in the chain that
    /// reached it first; empty if none did. Other chains to it are in
    /// their records' `redirect_to`. In CSV
    /// a JSON array, or an empty cell.
    #[serde(default)]
    pub redirected_from: Vec<String>,
    /// The page asked not to be indexed (`noindex` or `none` in
    /// `<meta name="robots">`, a meta named after the crawler's agent, or
    /// `X-Robots-Tag`).
    #[serde(default)]
    pub noindex: bool,
    /// The page asked that its links not be followed (`nofollow` or
    /// `none`, same places); unless robots are ignored, none were.
    #[serde(default)]
    pub nofollow: bool,
    /// The page's `<link rel="canonical">`, resolved.
    #[serde(default)]
    pub canonical: Option<String>,
    /// The `<lastmod>` of the sitemap entry that listed the page.
    #[serde(default)]
    pub lastmod: Option<String>,
    /// What was cut: `"links"` when the page had more than
    /// [`Config::max_links_per_page`](crate::Config::max_links_per_page),
    /// `"requisites"` when a page or stylesheet embeds more than that
    /// ([`Config::page_requisites`](crate::Config::page_requisites)),
    /// or the names of text fields longer than
    /// [`OutputConfig::max_field_chars`]. Absent from JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
    /// A recrawl (`--recrawl`) asked whether the page changed and the
    /// server answered `304 Not Modified`: the page is as the previous
    /// pass saw it, and its links are the ones it had then. Absent from
    /// JSON (an empty CSV cell) when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_modified: bool,
    /// Fetched as a page requisite (`--page-requisites`) of `referer`:
    /// not followed for links. Absent from JSON (an empty CSV cell) when
    /// false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub requisite: bool,
    /// With `--page-requisites`: how many distinct requisites the page
    /// (or stylesheet) embeds. Absent from JSON (an empty CSV cell) when
    /// 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub requisites: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl PageRecord {
    const FIELDS: [&'static str; 21] = [
        "url",
        "final_url",
        "status",
        "depth",
        "content_type",
        "bytes",
        "title",
        "links",
        "elapsed_ms",
        "referer",
        "error",
        "redirect_to",
        "redirected_from",
        "noindex",
        "nofollow",
        "canonical",
        "lastmod",
        "truncated",
        "not_modified",
        "requisite",
        "requisites",
    ];

    /// This record with every text field cut to `max` characters, the cut
    /// ones named in [`truncated`](PageRecord::truncated); borrowed when
    /// nothing needs cutting.
    ///
    /// ```
    /// let r = solo_crawl::PageRecord { url: "http://a.test/".into(), title: Some("é".repeat(10)), ..Default::default() };
    /// let b = r.bounded(4);
    /// assert_eq!(b.title.as_deref(), Some("éééé"));
    /// assert_eq!(b.url, "http://a.test/"[..4]);
    /// assert_eq!(b.truncated, ["url", "title"]);
    /// assert!(matches!(r.bounded(100), std::borrow::Cow::Borrowed(_)));
    /// ```
    pub fn bounded(&self, max: usize) -> Cow<'_, PageRecord> {
        let long = |s: &str| s.len() > max && s.chars().nth(max).is_some();
        let opt = |s: &Option<String>| s.as_deref().is_some_and(long);
        if !(long(&self.url)
            || opt(&self.final_url)
            || opt(&self.content_type)
            || opt(&self.title)
            || opt(&self.referer)
            || opt(&self.error)
            || opt(&self.redirect_to)
            || opt(&self.canonical)
            || opt(&self.lastmod)
            || self.redirected_from.iter().any(|u| long(u)))
        {
            return Cow::Borrowed(self);
        }
        let mut r = self.clone();
        let mut cut = |name: &str, s: &mut String| {
            if let Some((i, _)) = s.char_indices().nth(max) {
                s.truncate(i);
                if !r.truncated.iter().any(|n| n == name) {
                    r.truncated.push(name.to_owned());
                }
            }
        };
        cut("url", &mut r.url);
        for (name, f) in [
            ("final_url", &mut r.final_url),
            ("content_type", &mut r.content_type),
            ("title", &mut r.title),
            ("referer", &mut r.referer),
            ("error", &mut r.error),
            ("redirect_to", &mut r.redirect_to),
            ("canonical", &mut r.canonical),
            ("lastmod", &mut r.lastmod),
        ] {
            if let Some(s) = f {
                cut(name, s);
            }
        }
        for u in &mut r.redirected_from {
            cut("redirected_from", u);
        }
        Cow::Owned(r)
    }
}

/// An output format.
///
/// ```
/// assert_eq!("csv".parse::<solo_crawl::Format>(), Ok(solo_crawl::Format::Csv));
/// assert!("xml".parse::<solo_crawl::Format>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Jsonl,
    /// Comma-separated values with a header row (empty cell for null).
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "jsonl" | "json" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            _ => Err(format!("unknown format {s:?} (expected jsonl or csv)")),
        }
    }
}

/// A shared in-memory output, e.g. to inspect it in tests.
pub type SharedBuf = Arc<Mutex<Vec<u8>>>;

/// Where output goes.
///
/// ```
/// let buf = solo_crawl::output::SharedBuf::default();
/// let _t = solo_crawl::Target::Buffer(buf.clone());
/// ```
#[derive(Clone, Debug, Default)]
pub enum Target {
    /// Nowhere.
    #[default]
    Discard,
    /// Standard output.
    Stdout,
    /// A file, appended to if it exists (a resumed crawl continues it); a
    /// device or a FIFO is written to as it is.
    File(PathBuf),
    /// A shared buffer.
    Buffer(SharedBuf),
}

/// Where pages and items go, in which format.
///
/// ```
/// let o = solo_crawl::OutputConfig::default();
/// assert!(matches!(o.pages, solo_crawl::Target::Discard));
/// assert_eq!(o.max_field_chars, 8192);
/// assert!(!o.csv_raw);
/// ```
#[derive(Clone, Debug)]
pub struct OutputConfig {
    /// Per-page records.
    pub pages: Target,
    /// Items emitted by callbacks. The same file as `pages` is fine for
    /// JSON Lines (one stream, each line an object); CSV wants its own.
    pub items: Target,
    /// The format of both.
    pub format: Format,
    /// Text fields of page records (URLs, title, content type, error) are
    /// cut to this many characters (see [`PageRecord::bounded`]); items are
    /// written as the spider made them.
    pub max_field_chars: usize,
    /// CSV: write cells as they are, instead of [`csv_safe`] ones.
    pub csv_raw: bool,
    /// Also archive every exchange (pages, redirects, robots.txt,
    /// sitemaps, error answers) as WARC/1.1 files (`--warc`).
    pub warc: Option<crate::WarcOutput>,
}

impl Default for OutputConfig {
    fn default() -> OutputConfig {
        OutputConfig {
            pages: Target::default(),
            items: Target::default(),
            format: Format::default(),
            max_field_chars: 8192,
            csv_raw: false,
            warc: None,
        }
    }
}

/// Bytes of whole records held for a file before they are written.
const FILE_BUF: usize = 64 * 1024;

enum Sink {
    Discard,
    Stdout(BufWriter<io::Stdout>),
    File(FileSink),
    Buffer(SharedBuf),
}

/// An output file: whole records are held in `pending` and handed to the
/// OS in one `write` as far as it takes them (see [`FileSink::flush`]).
struct FileSink {
    file: File,
    /// Whole records not written yet (every `write` to the sink is one:
    /// a record, a CSV header, the newline that starts a line).
    pending: Vec<u8>,
    /// A regular file: its canonical path and length (what is on disk
    /// plus what is pending).
    regular: Option<(PathBuf, u64)>,
}

impl FileSink {
    /// Writes the pending records. A write that fails part-way (a full
    /// disk, `ulimit -f`) leaves no torn record in a regular file: it is
    /// cut back to the end of the last record written whole before the
    /// error is returned (a pipe or a device cannot be cut).
    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let r = (&self.file).write_all(&self.pending);
        let held = self.pending.len() as u64;
        self.pending.clear();
        if self.pending.capacity() > 16 * FILE_BUF {
            self.pending = Vec::with_capacity(FILE_BUF);
        }
        let Err(e) = r else { return Ok(()) };
        let Some((_, len)) = &mut self.regular else {
            return Err(e);
        };
        *len -= held;
        match self.file.set_len(*len) {
            Ok(()) => Err(e),
            Err(c) => Err(io::Error::new(
                e.kind(),
                format!(
                    "{e}; cutting its last record off failed too ({c}): delete the file's torn end"
                ),
            )),
        }
    }
}

impl Write for Sink {
    /// One whole record (see [`FileSink::pending`]).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Discard => Ok(buf.len()),
            Sink::Stdout(w) => w.write(buf),
            Sink::File(f) => {
                f.pending.extend_from_slice(buf);
                if let Some((_, len)) = &mut f.regular {
                    *len += buf.len() as u64;
                }
                if f.pending.len() >= FILE_BUF {
                    f.flush()?;
                }
                Ok(buf.len())
            }
            Sink::Buffer(b) => {
                b.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(buf);
                Ok(buf.len())
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(w) => w.flush(),
            Sink::File(f) => f.flush(),
            _ => Ok(()),
        }
    }
}

impl Drop for FileSink {
    /// What was not flushed is written (as a `BufWriter` would), whole.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// A stream of records in one format (CSV: a header before the first
/// record unless the target already holds some).
struct Stream {
    /// Its role: `pages` or `items`.
    name: &'static str,
    sink: Sink,
    format: Format,
    /// Cells as they are (no [`csv_safe`]).
    raw: bool,
    /// CSV columns, fixed by the header.
    columns: Option<Vec<String>>,
    /// A JSON line is built here, then written in one piece (serde_json
    /// writes a record in dozens of small pieces, each a call through the
    /// sink).
    line: Vec<u8>,
}

impl Stream {
    fn open(name: &'static str, target: &Target, format: Format, raw: bool) -> io::Result<Stream> {
        let mut had_data = false;
        let mut newline = false;
        let sink = match target {
            Target::Discard => Sink::Discard,
            Target::Stdout => Sink::Stdout(BufWriter::new(io::stdout())),
            Target::File(p) => {
                let (f, regular) = open_file(p)?;
                if let Some((_, len)) = &regular {
                    had_data = *len > 0;
                    // Records start on a line of their own.
                    let mut last = [b'\n'];
                    if had_data {
                        f.read_exact_at(&mut last, len - 1)?;
                    }
                    newline = last[0] != b'\n';
                }
                Sink::File(FileSink {
                    file: f,
                    pending: Vec::with_capacity(FILE_BUF),
                    regular,
                })
            }
            Target::Buffer(b) => {
                had_data = !b.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
                Sink::Buffer(b.clone())
            }
        };
        let mut s = Stream {
            name,
            sink,
            format,
            raw,
            columns: had_data.then(Vec::new),
            line: Vec::new(),
        };
        if newline {
            s.sink.write_all(b"\n")?;
        }
        Ok(s)
    }

    /// Writes `v` as one JSON line.
    fn write_json_line<T: Serialize + ?Sized>(&mut self, v: &T) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, v)?;
        self.line.push(b'\n');
        self.sink.write_all(&self.line)
    }

    /// Writes a page record (`columns`: its fields) or an item (`None`;
    /// its cells by [`item_cell`]).
    fn write_value(&mut self, v: &serde_json::Value, columns: Option<&[&str]>) -> io::Result<()> {
        match self.format {
            Format::Jsonl => self.write_json_line(v),
            Format::Csv => {
                let cols = match &self.columns {
                    Some(c) if !c.is_empty() => c.clone(),
                    _ => {
                        let cols: Vec<String> = match (columns, v) {
                            (Some(c), _) => c.iter().map(|s| (*s).to_owned()).collect(),
                            (None, serde_json::Value::Object(m)) => m.keys().cloned().collect(),
                            (None, _) => vec!["value".to_owned()],
                        };
                        if self.columns.is_none() {
                            // Item keys come from pages too.
                            let raw = self.raw;
                            let head = cols.iter().map(|c| match raw {
                                true => Cow::Borrowed(c.as_str()),
                                false => csv_safe(c),
                            });
                            let head: Vec<Cow<str>> = head.collect();
                            self.csv_row(head.iter().map(|c| c.as_ref()))?;
                        }
                        self.columns = Some(cols.clone());
                        cols
                    }
                };
                let raw = self.raw;
                let to_cell = if columns.is_some() { cell } else { item_cell };
                let cells: Vec<String> = match v {
                    serde_json::Value::Object(m) => cols
                        .iter()
                        .map(|c| m.get(c).map_or_else(String::new, |v| to_cell(v, raw)))
                        .collect(),
                    other => vec![to_cell(other, raw)],
                };
                self.csv_row(cells.iter().map(|s| s.as_str()))
            }
        }
    }

    fn csv_row<'a>(&mut self, cells: impl Iterator<Item = &'a str>) -> io::Result<()> {
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        w.write_record(cells).map_err(io::Error::other)?;
        let bytes = w
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.sink.write_all(&bytes)
    }
}

/// Opens an output file to append to: a regular file (created if need
/// be) with its canonical path and length, or anything else (a device, a
/// FIFO, a terminal) to write to as it is.
fn open_file(p: &Path) -> io::Result<(File, Option<(PathBuf, u64)>)> {
    if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) {
        return Ok((OpenOptions::new().write(true).open(p)?, None));
    }
    let f = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(p)?;
    let len = f.metadata()?.len();
    Ok((f, Some((std::fs::canonicalize(p)?, len))))
}

/// A regular output file as it stands (after a flush: on disk).
pub(crate) struct OutputFile<'a> {
    /// Its role: `pages` or `items`.
    pub stream: &'static str,
    /// Canonical path.
    pub path: &'a Path,
    /// Length, including what this crawl wrote.
    pub len: u64,
    /// The open file (readable).
    pub file: &'a File,
}

/// A JSON value as one CSV cell: strings [`csv_safe`] (as they are if
/// `raw`), null empty, the rest as JSON (a negative number stays a
/// number).
pub(crate) fn cell(v: &serde_json::Value, raw: bool) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) if raw => s.clone(),
        serde_json::Value::String(s) => csv_safe(s).into_owned(),
        other => other.to_string(),
    }
}

/// An item's field as one CSV cell: a list of scalars is its values
/// joined with `,` (Scrapy's `join_multivalued`: `["kitchen","tea"]` is
/// `kitchen,tea`, `[]` an empty cell; a null in it is empty, a number or
/// a boolean as in JSON), then [`csv_safe`] unless `raw`; anything else
/// as [`cell`] (a list holding a list or an object stays JSON text, as
/// does an object). Page records keep [`cell`]: their lists are URLs,
/// which may hold a comma.
pub(crate) fn item_cell(v: &serde_json::Value, raw: bool) -> String {
    use serde_json::Value;
    let serde_json::Value::Array(values) = v else {
        return cell(v, raw);
    };
    if values
        .iter()
        .any(|e| matches!(e, Value::Array(_) | Value::Object(_)))
    {
        return cell(v, raw);
    }
    let parts: Vec<String> = values
        .iter()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        })
        .collect();
    cell(&Value::String(parts.join(",")), raw)
}

/// A CSV cell that is safe to open in a spreadsheet (OWASP's rule for CSV
/// injection): one starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return gets a leading `'`, so it is shown as text instead of run as a
/// formula; control characters other than tab, line feed and carriage
/// return (NUL, ESC, DEL, C1) become U+FFFD. Borrowed when nothing
/// changes.
///
/// ```
/// use solo_crawl::output::csv_safe;
/// assert_eq!(csv_safe("=HYPERLINK(\"http://evil/\")"), "'=HYPERLINK(\"http://evil/\")");
/// assert_eq!(csv_safe("a\u{0}b\u{1b}[31m"), "a\u{fffd}b\u{fffd}[31m");
/// assert_eq!(csv_safe("-1"), "'-1");
/// assert_eq!(csv_safe("Tom & Jerry"), "Tom & Jerry");
/// ```
pub fn csv_safe(cell: &str) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if !formula && !cell.chars().any(bad) {
        return Cow::Borrowed(cell);
    }
    let mut out = String::with_capacity(cell.len() + 1);
    if formula {
        out.push('\'');
    }
    out.extend(cell.chars().map(|c| if bad(c) { '\u{fffd}' } else { c }));
    Cow::Owned(out)
}

/// Writes page records and items to their targets.
///
/// ```
/// use solo_crawl::{output::{RecordWriter, SharedBuf}, Format, OutputConfig, PageRecord, Target};
/// let buf = SharedBuf::default();
/// let cfg = OutputConfig { pages: Target::Buffer(buf.clone()), format: Format::Csv, ..Default::default() };
/// let mut w = RecordWriter::open(&cfg).unwrap();
/// w.write_page(&PageRecord { url: "http://a.test/".into(), status: Some(200), ..Default::default() }).unwrap();
/// w.flush().unwrap();
/// let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
/// assert_eq!(text.lines().next(), Some("url,final_url,status,depth,content_type,bytes,title,links,elapsed_ms,referer,error,redirect_to,redirected_from,noindex,nofollow,canonical,lastmod,truncated,not_modified,requisite,requisites"));
/// assert_eq!(text.lines().nth(1), Some("http://a.test/,,200,0,,0,,0,0.0,,,,,false,false,,,,,,"));
/// ```
pub struct RecordWriter {
    pages: Stream,
    /// `None`: items share the pages' stream.
    items: Option<Stream>,
    max_field_chars: usize,
}

/// An error opening `target`, with its path and what to do about it.
fn named(e: io::Error, target: &Target) -> io::Error {
    let Target::File(p) = target else {
        return e;
    };
    let hint = match e.kind() {
        io::ErrorKind::NotFound => "; create its directory first",
        io::ErrorKind::IsADirectory => "; give a file name, not a directory",
        io::ErrorKind::PermissionDenied => "; check the permissions",
        _ => "",
    };
    io::Error::new(e.kind(), format!("cannot open {}: {e}{hint}", p.display()))
}

/// What the first complete line of an existing output file says it holds.
enum Held {
    /// A JSON object or array: JSON Lines.
    JsonLines,
    /// Another JSON value (a JSON Lines item, or a one-column CSV).
    Json,
    /// Not JSON (a CSV header, or some other text): the line, shortened.
    NotJson(String),
}

/// The first complete, non-blank line of the regular file at `p`, read
/// from its first MiB, judged; `None` when there is none (empty, a record
/// cut short, not a regular file, unreadable: nothing to go by).
fn held(p: &Path) -> Option<Held> {
    use io::{BufRead, Read};
    // Not opened unless regular: opening a FIFO to read waits for a writer.
    if !std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0) {
        return None;
    }
    let f = File::open(p).ok()?;
    let mut r = io::BufReader::new(f.take(1 << 20));
    let mut line = Vec::new();
    loop {
        line.clear();
        r.read_until(b'\n', &mut line).ok()?;
        if line.last() != Some(&b'\n') {
            return None;
        }
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            break;
        }
    }
    Some(match serde_json::from_slice::<serde_json::Value>(&line) {
        Ok(serde_json::Value::Object(_) | serde_json::Value::Array(_)) => Held::JsonLines,
        Ok(_) => Held::Json,
        Err(_) => {
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end();
            Held::NotJson(match text.char_indices().nth(60) {
                Some((i, _)) => format!("{}...", &text[..i]),
                None => text.to_owned(),
            })
        }
    })
}

/// Refuses to append records in `format` to a file that holds the other
/// format (judged by its first line): one file would hold two formats,
/// which no reader takes. An empty file, or one that cannot be judged,
/// is fine.
fn check_format(target: &Target, format: Format) -> io::Result<()> {
    let Target::File(p) = target else {
        return Ok(());
    };
    let shown = p.display();
    let why = match (format, held(p)) {
        (Format::Csv, Some(Held::JsonLines)) => format!(
            "{shown} holds JSON Lines (its first line is a JSON object), but --format csv was asked for: \
             appending would put CSV rows after JSON lines, a file neither reader takes; \
             rerun with --format jsonl to go on with it, or give another --output"
        ),
        (Format::Jsonl, Some(Held::NotJson(first))) => format!(
            "{shown} does not hold JSON Lines (its first line is not JSON: {first:?}), but --format jsonl \
             was asked for: appending would put JSON lines after it, a file no reader takes; \
             rerun with --format csv to go on with it if it is CSV, or give another --output"
        ),
        _ => return Ok(()),
    };
    Err(io::Error::new(io::ErrorKind::InvalidInput, why))
}

impl RecordWriter {
    /// Opens the targets (files are created or appended to). A file that
    /// holds records in the other format is an error: one file would hold
    /// both.
    pub fn open(cfg: &OutputConfig) -> io::Result<RecordWriter> {
        check_format(&cfg.pages, cfg.format)?;
        check_format(&cfg.items, cfg.format)?;
        let open = |name, t: &Target| {
            Stream::open(name, t, cfg.format, cfg.csv_raw).map_err(|e| named(e, t))
        };
        let pages = open("pages", &cfg.pages)?;
        let same = match (&cfg.pages, &cfg.items) {
            (Target::Stdout, Target::Stdout) => true,
            (Target::File(a), Target::File(b)) => a == b,
            (Target::Buffer(a), Target::Buffer(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if same && cfg.format == Format::Csv {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "CSV output needs separate targets for pages and items",
            ));
        }
        let items = if same {
            None
        } else {
            Some(open("items", &cfg.items)?)
        };
        Ok(RecordWriter {
            pages,
            items,
            max_field_chars: cfg.max_field_chars,
        })
    }

    /// Writes one page record.
    pub fn write_page(&mut self, r: &PageRecord) -> io::Result<()> {
        let r = r.bounded(self.max_field_chars);
        let r = r.as_ref();
        if self.pages.format == Format::Jsonl {
            // Directly, so the fields keep their order.
            return self.pages.write_json_line(r);
        }
        let mut v = serde_json::to_value(r)?;
        if r.redirected_from.is_empty() {
            // An empty cell rather than `[]`.
            v["redirected_from"] = serde_json::Value::Null;
        }
        self.pages.write_value(&v, Some(&PageRecord::FIELDS))
    }

    /// Writes one item.
    pub fn write_item(&mut self, item: &serde_json::Value) -> io::Result<()> {
        match &mut self.items {
            Some(s) => s.write_value(item, None),
            None => self.pages.write_value(item, None),
        }
    }

    /// Pushes buffered output to its targets.
    pub fn flush(&mut self) -> io::Result<()> {
        self.pages.sink.flush()?;
        if let Some(s) = &mut self.items {
            s.sink.flush()?;
        }
        Ok(())
    }

    fn streams(&self) -> impl Iterator<Item = &Stream> {
        std::iter::once(&self.pages).chain(&self.items)
    }

    /// Flushes, and makes the regular files' data durable (`fdatasync`).
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        for s in self.streams() {
            if let Sink::File(FileSink {
                file,
                regular: Some(_),
                ..
            }) = &s.sink
            {
                file.sync_data()?;
            }
        }
        Ok(())
    }

    /// The regular files written to.
    pub(crate) fn files(&self) -> Vec<OutputFile<'_>> {
        self.streams()
            .filter_map(|s| match &s.sink {
                Sink::File(FileSink {
                    file,
                    regular: Some((path, len)),
                    ..
                }) => Some(OutputFile {
                    stream: s.name,
                    path,
                    len: *len,
                    file,
                }),
                _ => None,
            })
            .collect()
    }
}
