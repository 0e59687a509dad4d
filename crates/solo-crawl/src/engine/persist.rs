//! What the loop and the crawl's setup send to and read back from the
//! `--state` store: the ops for accepted requests, decoding what the
//! store hands back, and naming a failed write.
//!
//! Owns: the translation between requests and store rows. Must not: touch
//! the database (that is the writer thread's, through [`Msg`]).

use super::*;
use crate::warc::WarcFileError;

/// A failure of the writer thread: of the state store (named, with what
/// to do) or of the output (naming its targets).
pub(super) fn write_error(
    e: io::Error,
    out: &OutputConfig,
    state: Option<&std::path::Path>,
) -> CrawlError {
    if let (Some(dir), Some(inner)) = (state, e.get_ref()) {
        if let Some(se) = inner.downcast_ref::<crate::sink::StateWriteError>() {
            return CrawlError::State(
                format!(
                    "{}: saving the crawl's state failed: {se}; check the disk holding it \
                     (free space, permissions), then rerun the same command to resume",
                    dir.display()
                )
                .into(),
            );
        }
    }
    let resume = match state {
        Some(_) => ", then rerun the same command to resume",
        None => "",
    };
    let failed = e.get_ref().and_then(|i| i.downcast_ref::<WarcFileError>());
    if let Some(w) = failed {
        // The WARC file alone: the record output is fine.
        let (path, cause) = (w.path.display(), &w.source);
        let hint = hint(e.kind(), "a smaller --warc-max-size");
        let msg = format!("writing WARC file {path} failed: {cause}; {hint}{resume}");
        return CrawlError::Output(io::Error::new(e.kind(), msg));
    }
    let name = |t: &crate::output::Target| match t {
        crate::output::Target::File(p) => Some(p.display().to_string()),
        crate::output::Target::Stdout => Some("stdout".into()),
        _ => None,
    };
    let names: Vec<String> = [name(&out.pages), name(&out.items)]
        .into_iter()
        .flatten()
        .collect();
    let names = match names.is_empty() {
        true => "the output".into(),
        false => names.join(" and "),
    };
    let hint = hint(e.kind(), "another --output");
    let msg = format!("writing {names} failed: {e}; {hint}{resume}");
    CrawlError::Output(io::Error::new(e.kind(), msg))
}

/// What to do about a write that failed with `kind`; `smaller` is the
/// way to a smaller file.
fn hint(kind: io::ErrorKind, smaller: &str) -> String {
    match kind {
        io::ErrorKind::BrokenPipe => "the program reading the output stopped early".into(),
        io::ErrorKind::StorageFull => "free space on its disk".into(),
        io::ErrorKind::FileTooLarge => {
            format!("it reached the file size limit (ulimit -f): raise it, or use {smaller}")
        }
        _ => "check the disk (free space, permissions)".into(),
    }
}

/// Hands an accepted request to the state store and the shared frontier
/// (when there are).
pub(super) fn on_accepted<C: serde::Serialize>(
    persist: bool,
    writer: &Writer,
    remote: Option<&Remote>,
    fp: u64,
    req: &Request<C>,
    spilled: bool,
) {
    if persist {
        writer.send(enqueue_op(fp, req, spilled));
    }
    if let Some(r) = remote {
        r.add(
            (!req.extras().dont_filter).then_some(fp),
            host_key(&req.url),
            crate::redis_frontier::queue_entry(req),
        );
    }
}

/// The store operation for an accepted request.
fn enqueue_op<C: serde::Serialize>(fp: u64, req: &Request<C>, spilled: bool) -> Msg {
    Msg::State(Op::Enqueue {
        fp,
        data: serde_json::to_string(req).unwrap_or_default(),
        spilled,
    })
}

/// Stored requests, decoded; an error naming the database if any does
/// not decode (the rows were changed, or another spider wrote them).
/// A request stored under a key its fingerprint no longer gives (its
/// URL's canonical form changed since: a state written before
/// percent-escapes were normalised) keeps the stored key, so that its
/// done mark finds its row.
pub(super) fn decode_all<C: serde::de::DeserializeOwned>(
    rows: &[crate::store::StoredRequest],
    db: &Path,
) -> Result<Vec<Request<C>>, String> {
    let mut first = None;
    let mut bad = 0;
    let requests: Vec<Request<C>> = rows
        .iter()
        .filter_map(|(fp, d)| match serde_json::from_str::<Request<C>>(d) {
            Ok(mut r) => {
                if r.key() != *fp {
                    r.extras_mut().store_key = Some(*fp);
                }
                Some(crate::recrawl::restored(r))
            }
            Err(e) => {
                bad += 1;
                first.get_or_insert(e);
                None
            }
        })
        .collect();
    match first {
        None => Ok(requests),
        Some(e) => Err(format!(
            "state database {} is damaged: {bad} of {} stored requests cannot be read ({e}; changed by hand, or written by another spider); restore the state directory from a backup, or rerun with --state-reset to discard it and start the crawl over",
            db.display(),
            rows.len()
        )),
    }
}

/// A stored crawl with its queued requests decoded.
pub(super) fn decode_restored<C: serde::de::DeserializeOwned>(
    mut r: Restored,
    db: &Path,
) -> Result<(Restored, Vec<Request<C>>), CrawlError> {
    let queued =
        decode_all(&std::mem::take(&mut r.queued), db).map_err(|e| CrawlError::State(e.into()))?;
    Ok((r, queued))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Target;

    /// A full disk (`/dev/full`: every write fails with ENOSPC) under a
    /// WARC file: the error names that file alone, not the record output,
    /// and says what to do.
    #[test]
    fn a_full_disk_under_a_warc_file_names_that_file_alone() {
        use std::io::Write;
        let mut full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let e = full.write_all(&[0; 4096]).unwrap_err();
        let e = crate::warc::named(Path::new("/data/crawl-00003.warc.gz"), e);
        let out = OutputConfig {
            pages: Target::File("pages.jsonl".into()),
            ..OutputConfig::default()
        };
        assert_eq!(
            write_error(e, &out, Some(Path::new("st"))).to_string(),
            "output: writing WARC file /data/crawl-00003.warc.gz failed: No space left on \
             device (os error 28); free space on its disk, then rerun the same command to resume"
        );
    }

    /// A request stored before percent-escapes were normalised keeps the
    /// key of its row (its fingerprint now differs): its done mark must
    /// find that row, or every resume would fetch it again.
    #[test]
    fn a_request_stored_under_an_older_fingerprint_keeps_its_row_key() {
        let now =
            Request::<crate::LinkCallback>::parse("http://a.test/caf%c3%a9", Default::default())
                .unwrap();
        let data = serde_json::to_string(&now).unwrap();
        let current = now.fingerprint();
        let rows = [(current, data.clone()), (current ^ 1, data)];
        let got: Vec<Request<crate::LinkCallback>> = decode_all(&rows, Path::new("st")).unwrap();
        assert_eq!((got[0].key(), got[1].key()), (current, current ^ 1));
        assert_eq!(got[0].extras().store_key, None);
        // The seen set still deduplicates by the current fingerprint.
        assert_eq!(got[1].fingerprint(), current);
    }
}
