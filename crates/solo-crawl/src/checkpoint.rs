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
//! or changed, is an error. A marked file that is no longer an output (the
//! resumed run was given another `--output`) is cut back the same way, so
//! a page is in one file only; there a changed file is left as it is,
//! with a warning. Must not: cut a file that has no mark (data
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
/// mark for back to it. Errors are full sentences naming the file. A
/// marked file that is no output of this run any more (`--output`
/// changed) is cut back too, so a page is in one file only; what stops
/// that is a warning, not an error (this run does not need the file).
pub(crate) fn resume(store: &Store, cfg: &OutputConfig) -> Result<(), String> {
    let current: Vec<(&Path, Option<PathBuf>)> = [&cfg.pages, &cfg.items]
        .into_iter()
        .filter_map(|t| match t {
            Target::File(p) => Some((p.as_path(), resolve(p))),
            _ => None,
        })
        .collect();
    for stream in ["pages", "items"] {
        let db_err = |e: rusqlite::Error| crate::store::db_message(&store.db_path(), &e);
        let Some(m) = store.output(stream).map_err(db_err)? else {
            continue;
        };
        match current.iter().find(|(_, p)| p.as_ref() == Some(&m.path)) {
            Some((path, _)) => cut_back(path, &m, &store.db_path())?,
            None => cut_back_earlier(&m, &store.db_path()),
        }
    }
    Ok(())
}

/// Cuts an earlier run's output (not written to by this run) back to its
/// mark, saying so; leaves it as it is, with a warning, if it is not as
/// the crawl left it (a file that is gone was moved away: nothing to do).
fn cut_back_earlier(m: &OutputMark, db: &Path) {
    let shown = m.path.display();
    let left = |why: String| {
        tracing::warn!(
            "{shown}, the output of an earlier run of the crawl kept in {}, {why}; left as it is: \
             it may hold records of pages that this run writes again",
            db.display()
        )
    };
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&m.path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => return left(format!("cannot be opened ({e})")),
    };
    let len = match f.metadata() {
        Ok(md) if md.len() == m.len => return,
        Ok(md) => md.len(),
        Err(e) => return left(format!("cannot be read ({e})")),
    };
    let unchanged = len > m.len && tail_hash(&f, m.len).is_ok_and(|h| h == m.tail);
    if !unchanged {
        return left(format!(
            "changed since (it is {len} bytes, {} were committed)",
            m.len
        ));
    }
    let records = lines_after(&f, m.len, len).map_or("some".into(), |n| n.to_string());
    match f.set_len(m.len) {
        Ok(()) => tracing::warn!(
            "{shown}, the output of an earlier run of the crawl kept in {}, held {records} records \
             written after its last checkpoint (that run stopped before committing them); \
             cut them: this run crawls those pages again and writes them to its own output",
            db.display()
        ),
        Err(e) => left(format!("cannot be cut back to its last checkpoint ({e})")),
    }
}

/// The lines in `file` from `start` to `end`, read in pieces.
fn lines_after(file: &std::fs::File, start: u64, end: u64) -> std::io::Result<usize> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut at, mut n) = (start, 0);
    while at < end {
        let piece = &mut buf[..(end - at).min(64 * 1024) as usize];
        file.read_exact_at(piece, at)?;
        n += memchr::memchr_iter(b'\n', piece).count();
        at += piece.len() as u64;
    }
    Ok(n)
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
        "restore the file, resume with another --output (the pages it holds are not crawled again), \
         or rerun with --state-reset to discard the state in {} and start the crawl over",
        db.parent().unwrap_or(db).display()
    );
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Moved away (a slice's output handed on) or deleted: its
            // pages are done either way, and a new file loses nothing
            // that refusing would keep. (After a kill, the records past
            // the last checkpoint went with it: their pages are crawled
            // again, so they may be in both files.)
            if m.len > 0 {
                tracing::warn!(
                    "output {shown} is gone (moved away or deleted) since the crawl kept in {} wrote \
                     {} bytes to it: starting it afresh; the pages written to it are not crawled again",
                    db.display(),
                    m.len
                );
            }
            return Ok(());
        }
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
