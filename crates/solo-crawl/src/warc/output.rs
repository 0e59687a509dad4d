//! Where the WARC files go and what they are called.
//!
//! Owns: [`WarcOutput`] (the path, the size at which a file rolls over,
//! gzip and its level), the numbered names (`crawl-00000.warc.gz`, per
//! worker `crawl.0-00000.warc.gz`) and the first free number of a run.
//! Must not: write records (the writer does).

use std::io;
use std::path::{Path, PathBuf};

/// The default of [`WarcOutput::max_size`]: 1 GiB (`--warc-max-size 1G`).
pub const DEFAULT_WARC_MAX_SIZE: u64 = 1 << 30;

/// The default of [`WarcOutput::gzip_level`] (`--warc-gzip-level 1`), the
/// fastest: records up to 8 KiB (requests, small pages) by solo-crawl's own
/// one-block encoder, larger ones by libdeflate's level 1 (see the module
/// docs).
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
    /// A file is closed and the next one started before an exchange (a
    /// request and its response) would take it past this many bytes (a
    /// single larger exchange gets a file of its own).
    pub max_size: u64,
    /// With a name ending in `.gz`: the compression level, 0 (stored, no
    /// compression) to 12 (smallest, slowest); 1 (the default) is
    /// solo-crawl's own encoder for records up to 8 KiB, every other
    /// level libdeflate's.
    pub gzip_level: u8,
    /// Extra fields of the `warcinfo` record (the settings of the crawl).
    pub info: Vec<(String, String)>,
    /// Keep credentials in `request` records as sent. Off (the default),
    /// the values of `Authorization` and `Proxy-Authorization` (all but
    /// the scheme) and `Cookie` are written as `***`: a WARC is often
    /// shared, and these are the crawl's logins (`--warc-keep-secrets`).
    /// Responses are always kept as received, `Set-Cookie` included.
    pub keep_secrets: bool,
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
            keep_secrets: false,
        }
    }

    /// Whether the files are gzipped: a name ending in `.gz`, in any
    /// case (`CRAWL.WARC.GZ` too).
    ///
    /// ```
    /// assert!(solo_crawl::WarcOutput::new("CRAWL.WARC.GZ").gzip());
    /// assert!(!solo_crawl::WarcOutput::new("crawl.warc").gzip());
    /// ```
    pub fn gzip(&self) -> bool {
        strip_suffix_any_case(&self.path.to_string_lossy(), ".gz").is_some()
    }

    /// The name before the number, and the extension after it (`.warc`
    /// and `.gz` are found in any case; the extension written is lower
    /// case).
    pub(super) fn parts(&self) -> (String, &'static str) {
        let name = self.path.to_string_lossy();
        let gz = self.gzip();
        let stem = strip_suffix_any_case(&name, ".gz").unwrap_or(&name);
        let stem = strip_suffix_any_case(stem, ".warc").unwrap_or(stem);
        (stem.to_owned(), if gz { ".warc.gz" } else { ".warc" })
    }

    /// The path for worker `i` of a crawl shared by several (`--workers
    /// N`): its number after the stem, so that each worker writes files
    /// of its own.
    ///
    /// ```
    /// let w = solo_crawl::WarcOutput::new("out/crawl.warc.gz");
    /// assert_eq!(w.worker_path(3), std::path::PathBuf::from("out/crawl.3.warc.gz"));
    /// let mine = solo_crawl::WarcOutput::new(w.worker_path(3));
    /// assert_eq!(mine.file_name(0), std::path::PathBuf::from("out/crawl.3-00000.warc.gz"));
    /// ```
    pub fn worker_path(&self, i: u64) -> PathBuf {
        let (stem, ext) = self.parts();
        PathBuf::from(format!("{stem}.{i}{ext}"))
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

    /// An error unless the path names a file: a directory (`.`, `out/`,
    /// an existing one) would give names like `.-00000.warc`.
    pub(super) fn check_name(&self) -> io::Result<()> {
        let text = self.path.to_string_lossy();
        let (stem, _) = self.parts();
        let bare = Path::new(&stem).file_name().is_none()
            || text.ends_with('/')
            || stem.ends_with('/')
            || self.path.is_dir();
        if bare {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "WARC file {text}: give a file name (like {}crawl.warc.gz), not a directory",
                    if text.ends_with('/') { &text } else { "" }
                ),
            ));
        }
        Ok(())
    }

    /// The first number after the highest file already there.
    pub(super) fn next_number(&self) -> io::Result<u32> {
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

/// `name` without `suffix` (ASCII), matched in any case.
fn strip_suffix_any_case<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = name.len().checked_sub(suffix.len())?;
    let tail = name.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &name[..cut])
}
