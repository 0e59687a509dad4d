//! Item exporters (Scrapy's `FEEDS`): items to JSON Lines, CSV or JSON
//! array files, one file per item type if wanted.
//!
//! Owns: [`Feeds`] (which file gets which items, in which format:
//! `--items [TYPE=]FILE`), [`ItemFormat`], routing on the type field
//! (`_type` by default), and the writers, which run on a thread of their
//! own (an [`OffLoop`] stage, last in the pipeline). Must not: write the
//! per-page records (that is [`output`](crate::output)).
//!
//! A CSV feed takes JSON objects, a column per field: an item that is
//! not one (a string, a number, an array) fails on its own, with an error
//! naming the feed, before any feed of the stage writes it; the items
//! around it are written as usual. A batch's CSV records are made whole
//! before the file gets any of them, so the file keeps one record per
//! line. A CSV feed's columns are [`Feed::fields`], else the first
//! item's fields (in its order): the fields a later item has beyond them
//! are not written, with a warning (see [`Feed::fields`]). A cell of a
//! list of scalars is its values joined with `,`, as Scrapy's
//! `join_multivalued`; nested values are JSON text. Every format writes
//! an item's fields in its order (a struct's declaration order), as
//! Scrapy's exporters do.
//!
//! Files are appended to (a CSV header only into an empty file; a JSON
//! array file is continued). A JSON array file is a valid JSON document
//! after every batch: the closing `]` is written with each batch and
//! overwritten by the next, so a crawl stopped by Ctrl-C (graceful or the
//! second, immediate one) leaves a valid file. On `SIGKILL` the file is
//! valid too unless the kill lands inside the write of a batch, which can
//! then be cut short (a kernel stops a write on a fatal signal): the
//! items before that batch are intact, and the file then ends without
//! `]` (add it by hand, or remove the cut item).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::csv_feed::{not_an_object, CsvFeed};
use crate::offloop::{BatchWrite, OffLoop};
use crate::pipeline::{BoxError, ItemError, Pipeline, PipelineError};

/// A file format for items.
///
/// ```
/// use solo_crawl::export::ItemFormat;
/// assert_eq!("json".parse::<ItemFormat>(), Ok(ItemFormat::JsonArray));
/// assert_eq!(ItemFormat::from_path("a/b.CSV".as_ref()), Some(ItemFormat::Csv));
/// assert_eq!(ItemFormat::from_path("a/b.txt".as_ref()), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemFormat {
    /// One JSON object per line (`.jsonl`, `.jl`, `.ndjson`).
    Jsonl,
    /// A header row, then a row per item (`.csv`).
    Csv,
    /// One JSON array of items (`.json`).
    JsonArray,
}

impl ItemFormat {
    /// The format a file name says, if it does.
    pub fn from_path(path: &Path) -> Option<ItemFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "jl" | "ndjson" => Some(ItemFormat::Jsonl),
            "csv" => Some(ItemFormat::Csv),
            "json" => Some(ItemFormat::JsonArray),
            _ => None,
        }
    }
}

impl std::str::FromStr for ItemFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<ItemFormat, String> {
        match s {
            "jsonl" | "jsonlines" => Ok(ItemFormat::Jsonl),
            "csv" => Ok(ItemFormat::Csv),
            "json" => Ok(ItemFormat::JsonArray),
            _ => Err(format!(
                "unknown item format {s:?} (expected jsonl, csv or json)"
            )),
        }
    }
}

/// One output file for items.
#[derive(Clone, Debug)]
pub struct Feed {
    /// Only items whose type field is this (`None`: the items no other
    /// feed takes).
    pub item_type: Option<String>,
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: ItemFormat,
    /// CSV columns, in this order: set them when items differ in their
    /// fields. Without them the header is the first item's fields, in
    /// its order (a `#[derive(Serialize)]` struct's declaration order, a
    /// `json!` object's written order), or an existing file's first line; a
    /// later item's fields that the header lacks are then not written: a
    /// warning names them (once per field and feed), and one at the end
    /// counts the items that lost any. Fields outside chosen columns are
    /// left out without a warning.
    ///
    /// ```
    /// use solo_crawl::export::{Feed, Feeds, ItemFormat};
    /// let feeds = Feeds::new().feed(Feed {
    ///     item_type: Some("product".into()),
    ///     path: "products.csv".into(),
    ///     format: ItemFormat::Csv,
    ///     fields: Some(vec!["title".into(), "price".into(), "tags".into()]),
    /// });
    /// assert_eq!(feeds.feeds()[0].fields.as_ref().unwrap()[0], "title");
    /// ```
    pub fields: Option<Vec<String>>,
}

impl Feed {
    /// A feed of every item no other feed takes, into `path` in `format`;
    /// set `item_type` or `fields` after it.
    ///
    /// ```
    /// use solo_crawl::export::{Feed, ItemFormat};
    /// let f = Feed {
    ///     fields: Some(vec!["sku".into(), "price".into()]),
    ///     ..Feed::new("items.csv", ItemFormat::Csv)
    /// };
    /// assert_eq!((f.item_type, f.format), (None, ItemFormat::Csv));
    /// ```
    pub fn new(path: impl Into<PathBuf>, format: ItemFormat) -> Feed {
        Feed {
            item_type: None,
            path: path.into(),
            format,
            fields: None,
        }
    }
}

/// Where items are exported: a set of [`Feed`]s, routed on a type field.
///
/// ```
/// use solo_crawl::export::{Feeds, ItemFormat};
/// let f = Feeds::parse(&["products=p.csv".into(), "rest.json".into()], None).unwrap();
/// assert_eq!(f.feeds()[0].item_type.as_deref(), Some("products"));
/// assert_eq!(f.feeds()[0].format, ItemFormat::Csv);
/// assert_eq!(f.feeds()[1].format, ItemFormat::JsonArray);
/// assert!(Feeds::parse(&["items.txt".into()], None).unwrap_err().contains("--items-format"));
/// assert!(Feeds::parse(&["-".into()], Some(ItemFormat::Jsonl)).unwrap_err().contains("file name"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Feeds {
    feeds: Vec<Feed>,
    type_field: Option<String>,
    csv_raw: bool,
}

impl Feeds {
    /// No feeds yet.
    pub fn new() -> Feeds {
        Feeds::default()
    }

    /// Parses `--items` values: `FILE` (every item) or `TYPE=FILE` (items
    /// whose type field is `TYPE`); the format from `format`, else the
    /// file's extension.
    pub fn parse(specs: &[String], format: Option<ItemFormat>) -> Result<Feeds, String> {
        let mut feeds = Feeds::new();
        for spec in specs {
            let (ty, path) = match spec.split_once('=') {
                Some((t, p)) if !t.is_empty() && !t.contains('/') => (Some(t.to_owned()), p),
                _ => (None, spec.as_str()),
            };
            if path.is_empty() || path == "-" {
                return Err(format!(
                    "--items {spec:?}: give a file name (items are not written to standard output)"
                ));
            }
            let path = PathBuf::from(path);
            let format = format.or_else(|| ItemFormat::from_path(&path)).ok_or_else(|| {
                format!(
                    "--items {}: cannot tell the format from the name (use .jsonl, .csv or .json, or --items-format)",
                    path.display()
                )
            })?;
            feeds = feeds.feed(Feed {
                item_type: ty,
                path,
                format,
                fields: None,
            });
        }
        Ok(feeds)
    }

    /// Adds a feed.
    pub fn feed(mut self, feed: Feed) -> Feeds {
        self.feeds.push(feed);
        self
    }

    /// The field that names an item's type (default `_type`, as
    /// `#[serde(tag = "_type")]` writes it).
    pub fn type_field(mut self, field: &str) -> Feeds {
        self.type_field = Some(field.to_owned());
        self
    }

    /// CSV: write cells as they are, instead of
    /// [`csv_safe`](crate::output::csv_safe) ones (a cell starting with
    /// `=`, `+`, `-` or `@` gets a `'` so a spreadsheet shows it as text).
    pub fn csv_raw(mut self, raw: bool) -> Feeds {
        self.csv_raw = raw;
        self
    }

    /// The feeds.
    pub fn feeds(&self) -> &[Feed] {
        &self.feeds
    }

    fn field(&self) -> &str {
        self.type_field.as_deref().unwrap_or("_type")
    }

    /// The pipeline stage that writes the feeds (put it last). An item no
    /// feed takes is dropped with the reason `no_feed`.
    pub fn stage(self) -> impl Pipeline {
        let routes = self.feeds.iter().map(|f| f.item_type.clone()).collect();
        let csv = self
            .feeds
            .iter()
            .map(|f| (f.format == ItemFormat::Csv).then(|| f.path.clone()))
            .collect();
        FeedStage {
            type_field: self.field().to_owned(),
            routes,
            csv,
            inner: OffLoop::new(
                "items",
                Writers {
                    feeds: self,
                    open: Vec::new(),
                },
            ),
        }
    }
}

/// The feeds an item goes to: those of its type, else the untyped ones.
fn route(routes: &[Option<String>], item_type: Option<&str>) -> Vec<usize> {
    let typed: Vec<usize> = (0..routes.len())
        .filter(|&i| item_type.is_some() && routes[i].as_deref() == item_type)
        .collect();
    if !typed.is_empty() {
        return typed;
    }
    (0..routes.len()).filter(|&i| routes[i].is_none()).collect()
}

struct FeedStage {
    type_field: String,
    routes: Vec<Option<String>>,
    /// Per feed: its file if it is a CSV feed (which takes objects only).
    csv: Vec<Option<PathBuf>>,
    inner: OffLoop,
}

impl Pipeline for FeedStage {
    async fn open(&self) -> Result<(), BoxError> {
        self.inner.open().await
    }
    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        let ty = item.get(&self.type_field).and_then(Value::as_str);
        let feeds = route(&self.routes, ty);
        if feeds.is_empty() {
            return Err(ItemError::dropped("no_feed"));
        }
        // Refused before any feed writes it: the item fails alone, and
        // the feeds of this stage agree on what they hold.
        let csv = feeds.iter().find_map(|&i| self.csv[i].as_ref());
        if let (Some(path), false) = (csv, item.is_object()) {
            return Err(ItemError::Failed(format!(
                "{}: --items {}: {}",
                self.inner.name(),
                path.display(),
                not_an_object(&item)
            )));
        }
        self.inner.process(item).await
    }
    async fn close(&self) -> Result<(), BoxError> {
        self.inner.close().await
    }
    fn name(&self) -> String {
        self.inner.name()
    }
}

/// The open files, on the exporters' thread.
struct Writers {
    feeds: Feeds,
    open: Vec<FeedFile>,
}

enum FeedFile {
    Jsonl(BufWriter<File>),
    Csv(Box<CsvFeed>),
    /// `end`: where the closing `"\n]\n"` starts; `any`: items in it.
    Array {
        f: File,
        end: u64,
        any: bool,
    },
}

impl Writers {
    fn open_one(feed: &Feed, raw: bool) -> std::io::Result<FeedFile> {
        let mut opts = OpenOptions::new();
        opts.create(true).read(true);
        match feed.format {
            ItemFormat::Jsonl => Ok(FeedFile::Jsonl(BufWriter::new(
                opts.append(true).open(&feed.path)?,
            ))),
            ItemFormat::Csv => {
                let f = opts.append(true).open(&feed.path)?;
                let fields = feed.fields.as_deref();
                Ok(FeedFile::Csv(Box::new(CsvFeed::open(
                    f, &feed.path, fields, raw,
                )?)))
            }
            ItemFormat::JsonArray => {
                let mut f = opts.write(true).open(&feed.path)?;
                let (end, any) = array_end(&mut f)?;
                f.write_all_at(b"\n]\n", end)?;
                Ok(FeedFile::Array { f, end, any })
            }
        }
    }
}

/// Where an existing JSON array ends (after its last item) and whether it
/// has items; a new file gets `[`.
fn array_end(f: &mut File) -> std::io::Result<(u64, bool)> {
    let len = f.metadata()?.len();
    if len == 0 {
        f.write_all_at(b"[", 0)?;
        return Ok((1, false));
    }
    let tail = len.min(1 << 16);
    let mut buf = vec![0; tail as usize];
    f.seek(SeekFrom::Start(len - tail))?;
    f.read_exact(&mut buf)?;
    let not_array = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "exists and is not a JSON array (it does not end with `]`): move it away or pick another file",
        )
    };
    let text = buf.trim_ascii_end();
    if text.last() != Some(&b']') {
        return Err(not_array());
    }
    let body = text[..text.len() - 1].trim_ascii_end();
    let end = len - tail + body.len() as u64;
    let any = match body.last() {
        Some(b'[') => false,
        Some(_) => true,
        None if len > tail => true,
        None => return Err(not_array()),
    };
    Ok((end, any))
}

impl BatchWrite for Writers {
    fn open(&mut self) -> Result<(), BoxError> {
        for feed in &self.feeds.feeds {
            let f = Writers::open_one(feed, self.feeds.csv_raw).map_err(|e| feed_error(feed, e))?;
            self.open.push(f);
        }
        Ok(())
    }

    fn write(&mut self, items: &[Value]) -> Result<(), BoxError> {
        let routes: Vec<Option<String>> = self
            .feeds
            .feeds
            .iter()
            .map(|f| f.item_type.clone())
            .collect();
        let field = self.feeds.field().to_owned();
        let mut per_feed: Vec<Vec<&Value>> = vec![Vec::new(); routes.len()];
        for item in items {
            let ty = item.get(&field).and_then(Value::as_str);
            for i in route(&routes, ty) {
                per_feed[i].push(item);
            }
        }
        for ((file, feed), items) in self.open.iter_mut().zip(&self.feeds.feeds).zip(per_feed) {
            if !items.is_empty() {
                write_feed(file, &items).map_err(|e| feed_error(feed, e))?;
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), BoxError> {
        for (file, feed) in self.open.iter_mut().zip(&self.feeds.feeds) {
            let r = match file {
                FeedFile::Jsonl(w) => w.flush(),
                FeedFile::Csv(c) => c.close(),
                FeedFile::Array { .. } => Ok(()),
            };
            r.map_err(|e| feed_error(feed, e))?;
        }
        Ok(())
    }
}

/// An I/O error on a feed's file, naming it.
fn feed_error(feed: &Feed, e: std::io::Error) -> BoxError {
    PipelineError::new(format!("--items {}", feed.path.display()), e).into()
}

fn write_feed(file: &mut FeedFile, items: &[&Value]) -> std::io::Result<()> {
    match file {
        FeedFile::Jsonl(w) => {
            for item in items {
                serde_json::to_writer(&mut *w, item)?;
                w.write_all(b"\n")?;
            }
            w.flush()
        }
        FeedFile::Csv(c) => c.write(items),
        FeedFile::Array { f, end, any } => {
            let mut buf = Vec::new();
            for item in items {
                if *any {
                    buf.push(b',');
                }
                buf.push(b'\n');
                serde_json::to_writer(&mut buf, item)?;
                *any = true;
            }
            let items_len = buf.len() as u64;
            buf.extend_from_slice(b"\n]\n");
            // One write: the file ends with `]` before and after it.
            f.write_all_at(&buf, *end)?;
            *end += items_len;
            Ok(())
        }
    }
}
