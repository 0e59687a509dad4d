//! Checkpoints: the output files and the state store kept in step, so a
//! page's record is in a regular output file exactly once across any
//! number of kills.
//!
//! Owns: the commit rule and the resume rule. Commit: the writer thread
//! writes a batch of records, makes the output files durable, then
//! commits in one transaction the batch's state (pages done, links
//! queued) and each file's length, an [`OutputMark`]. Resume: a file
//! longer than its mark holds records written after the last commit, for
//! pages the state does not count as done (they will be fetched again),
//! so it is cut back to the mark — after checking that the bytes before
//! the mark are still the committed ones; a file shorter than its mark,
//! or changed, is an error. Must not: cut a file that has no mark (data
//! this crawl did not write), write records, or touch files that are not
//! regular (a pipe cannot be cut: there a kill can repeat a batch).

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::output::{OutputConfig, OutputFile, RecordWriter, Target};
use crate::store::{OutputMark, Store};

/// Bytes before a mark that are hashed to recognise the file.
const TAIL: u64 = 4096;

/// A hash of the `TAIL` bytes of `file` before `len`.
fn tail_hash(file: &std::fs::File, len: u64) -> std::io::Result<u64> {
    let start = len.saturating_sub(TAIL);
    let mut buf = vec![0u8; (len - start) as usize];
    file.read_exact_at(&mut buf, start)?;
    Ok(xxhash_rust::xxh3::xxh3_64(&buf))
}

/// The mark of an output file as it stands.
fn mark(f: &OutputFile<'_>) -> std::io::Result<OutputMark> {
    Ok(OutputMark {
        stream: f.stream,
        path: f.path.to_owned(),
        len: f.len,
        tail: tail_hash(f.file, f.len)?,
    })
}

/// Before the output is opened: cuts each output file that `store` has a
/// mark for back to it. Errors are full sentences naming the file.
pub(crate) fn resume(store: &Store, cfg: &OutputConfig) -> Result<(), String> {
    for (stream, target) in [("pages", &cfg.pages), ("items", &cfg.items)] {
        let Target::File(path) = target else {
            continue;
        };
        let db_err = |e: rusqlite::Error| crate::store::db_message(&store.db_path(), &e);
        let Some(m) = store.output(stream).map_err(db_err)? else {
            continue;
        };
        // Another file than the one marked: nothing of it was written by
        // this crawl.
        if resolve(path).is_some_and(|p| p == m.path) {
            cut_back(path, &m, &store.db_path())?;
        }
    }
    Ok(())
}

/// `path` made canonical, also for a file that does not exist (any more).
fn resolve(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok().or_else(|| {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some(std::fs::canonicalize(dir).ok()?.join(path.file_name()?))
    })
}

/// Checks the file at `path` against its mark and cuts what follows it.
fn cut_back(path: &Path, m: &OutputMark, db: &Path) -> Result<(), String> {
    let shown = path.display();
    let what_to_do = format!(
        "restore the file, or rerun with --state-reset to discard the state in {} and start the crawl over",
        db.parent().unwrap_or(db).display()
    );
    let f = match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && m.len > 0 => {
            return Err(format!(
                "output {shown} is gone, but the crawl kept in {} had written {} bytes to it; {what_to_do}",
                db.display(),
                m.len
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("output {shown}: {e}")),
    };
    let io = |e: std::io::Error| format!("output {shown}: {e}");
    let len = f.metadata().map_err(io)?.len();
    if len < m.len {
        return Err(format!(
            "output {shown} is {len} bytes, but the crawl kept in {} had written {} to it (the file was truncated or replaced); {what_to_do}",
            db.display(),
            m.len
        ));
    }
    if tail_hash(&f, m.len).map_err(io)? != m.tail {
        return Err(format!(
            "output {shown} changed since the crawl kept in {} wrote to it (its first {} bytes are not the ones written); {what_to_do}",
            db.display(),
            m.len
        ));
    }
    if len > m.len {
        f.set_len(m.len).map_err(io)?;
    }
    Ok(())
}

/// Makes what `out` holds durable, then commits `store` with the output
/// files' marks: a checkpoint to resume from.
pub(crate) fn commit(out: &mut RecordWriter, store: &mut Store) -> std::io::Result<()> {
    out.sync()?;
    let files = out.files();
    for stream in ["pages", "items"] {
        match files.iter().find(|f| f.stream == stream) {
            Some(f) => {
                let m = mark(f).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("output {}: {e}", f.path.display()))
                })?;
                store.set_output(&m).map_err(crate::sink::db_err)?;
            }
            None => store.clear_output(stream).map_err(crate::sink::db_err)?,
        }
    }
    store.commit().map_err(crate::sink::db_err)
}
