//! The `--stats-file`: checked writable at the start, replaced whole at
//! the end.
//!
//! Owns: how the statistics file is written so that a reader or a kill
//! never sees it half written (a regular file is written beside it and
//! renamed over it; a FIFO or `/dev/stdout` is written as it is). Must
//! not: decide what goes in it (the crawl's summary does).

use std::path::{Path, PathBuf};

/// The `--stats-file` is not a regular file to replace (`/dev/stdout`, a
/// FIFO): it is written to as it is.
fn stats_file_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

/// Where the `--stats-file` is written before it is renamed into place:
/// beside it (one file system), named after it and this process.
fn stats_file_temp(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Checks at the start that the `--stats-file` can be written at the
/// end (the file itself, if it is there, and a file beside it), leaving
/// what it holds as it is: a run killed before its end leaves the last
/// good statistics, not an empty file.
pub(crate) fn stats_file_ready(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        std::fs::OpenOptions::new().append(true).open(path)?;
    }
    if !stats_file_special(path) {
        let temp = stats_file_temp(path);
        std::fs::File::create_new(&temp)?;
        std::fs::remove_file(&temp)?;
    }
    Ok(())
}

/// Writes the `--stats-file`: a regular file is replaced whole (written
/// beside it, then renamed over it), so that a reader, or a kill, never
/// sees it half written.
pub(crate) fn write_stats_file(path: &Path, json: &str) -> std::io::Result<()> {
    if stats_file_special(path) {
        return std::fs::write(path, json);
    }
    let temp = stats_file_temp(path);
    let written = std::fs::write(&temp, json).and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}
