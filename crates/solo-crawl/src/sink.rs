//! The writer thread: everything the crawl writes goes through it.
//!
//! Owns: a dedicated `std::thread` that receives, in order, page records,
//! items (and, with `--state`, the state store's operations), writes them
//! in batches — output first, then the state, as a
//! [`checkpoint`](crate::checkpoint) — and reports a write failure
//! through a flag the engine polls. Keeping file I/O here keeps the loop
//! thread free to crawl. Must not: decide anything about the crawl, or
//! commit in the middle of a page's messages (its record, items, links
//! and state).
//!
//! The loop side queues messages and hands them over in one channel send
//! per loop turn ([`Writer::flush`], called by the engine before it waits),
//! not one per message: waking the parked writer thread is a futex call
//! and a context switch, which per page cost ~15 % of a crawl's CPU. The
//! end of a loop turn is also where a checkpoint may come: the engine
//! sends all of a page's messages within one turn, so a commit never
//! splits them. (A turn that queues very many messages hands them over
//! early, marked as a part: no checkpoint after it.)

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::checkpoint;
use crate::engine::CrawlError;
use crate::output::{OutputConfig, PageRecord, RecordWriter};
use crate::store::{Op, Store};
use crate::warc::{Capture, WarcWriter};

/// One thing to write.
pub(crate) enum Msg {
    Page(Box<PageRecord>),
    Item(serde_json::Value),
    /// An exchange to archive (ignored without WARC output): the URL and
    /// its wire bytes.
    Warc(String, Box<Capture>),
    /// A change to the state store (ignored without one).
    State(Op),
    /// Spilled requests back, up to `n`: commits what came before first.
    Unspill {
        n: usize,
        reply: futures_channel::oneshot::Sender<Vec<crate::store::StoredRequest>>,
    },
    /// Answers once everything before it is written out (handed to the
    /// OS: a killed process loses none of it).
    Written(futures_channel::oneshot::Sender<()>),
}

/// Messages handed over at once; `whole`: up to the end of a loop turn
/// (a checkpoint may follow).
struct Batch {
    msgs: Vec<Msg>,
    whole: bool,
}

/// The engine's end of the writer thread.
pub(crate) struct Writer {
    tx: Option<Sender<Batch>>,
    /// Queued on the loop side until the next [`flush`](Writer::flush).
    pending: Rc<RefCell<Vec<Msg>>>,
    thread: Option<JoinHandle<()>>,
    failed: Arc<AtomicBool>,
    error: Arc<Mutex<Option<io::Error>>>,
}

/// Messages handled per batch before a flush.
const BATCH: usize = 4096;

/// Queued messages that trigger a hand-over without waiting for the loop
/// turn to end.
const HAND_OVER: usize = 1024;

impl Writer {
    /// Opens the output (with a store: cut back to its last checkpoint,
    /// and a first checkpoint committed) and starts the thread.
    pub(crate) fn spawn(
        cfg: &OutputConfig,
        mut store: Option<Store>,
    ) -> Result<Writer, CrawlError> {
        if let Some(s) = &store {
            checkpoint::resume(s, cfg).map_err(|e| CrawlError::State(e.into()))?;
        }
        let mut out = RecordWriter::open(cfg).map_err(CrawlError::Output)?;
        // A new WARC file for every run, resumed or not, numbered past
        // every file an earlier run created (moved away since or not).
        let warc = match &cfg.warc {
            Some(w) => {
                let floor = match &store {
                    Some(s) => s.warc_next().map_err(|e| CrawlError::State(Box::new(e)))?,
                    None => 0,
                };
                Some(WarcWriter::open(w, floor).map_err(CrawlError::Output)?)
            }
            None => None,
        };
        if let Some(s) = &mut store {
            checkpoint::commit(&mut out, s).map_err(|e| CrawlError::State(Box::new(e)))?;
        }
        let (tx, rx) = mpsc::channel();
        let failed = Arc::new(AtomicBool::new(false));
        let error = Arc::new(Mutex::new(None));
        let (f2, e2) = (failed.clone(), error.clone());
        let thread = std::thread::Builder::new()
            .name("solo-crawl-writer".into())
            .spawn(move || {
                if let Err(e) = run(Files { out, warc }, store, rx) {
                    f2.store(true, Ordering::Relaxed);
                    *e2.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                }
            })
            .map_err(CrawlError::Output)?;
        Ok(Writer {
            tx: Some(tx),
            pending: Rc::default(),
            thread: Some(thread),
            failed,
            error,
        })
    }

    /// Queues `msg`; it goes to the thread at the next
    /// [`flush`](Writer::flush) (or when many are queued).
    pub(crate) fn send(&self, msg: Msg) {
        let mut pending = self.pending.borrow_mut();
        pending.push(msg);
        if pending.len() >= HAND_OVER {
            drop(pending);
            self.hand_over(false);
        }
    }

    /// Where the page tasks queue exchanges to archive (`None` without
    /// WARC output); they go with the next [`flush`](Writer::flush).
    pub(crate) fn archive(&self, cfg: &OutputConfig) -> Option<Archive> {
        cfg.warc.as_ref().map(|_| Archive(self.pending.clone()))
    }

    /// Where the loop's tasks queue changes to the state store between
    /// the engine's own messages (in order with them).
    pub(crate) fn queue(&self) -> Queue {
        Queue(self.pending.clone())
    }

    /// Hands the queued messages to the thread: the loop turn is over.
    pub(crate) fn flush(&self) {
        self.hand_over(true);
    }

    fn hand_over(&self, whole: bool) {
        let msgs = std::mem::take(&mut *self.pending.borrow_mut());
        if let (false, Some(tx)) = (msgs.is_empty(), &self.tx) {
            let _ = tx.send(Batch { msgs, whole }); // a dead thread has set `failed`
        }
    }

    /// Whether writing failed (the crawl should stop).
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Waits for everything sent to be written; the first write error.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.flush();
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                return Err(io::Error::other("the writer thread panicked"));
            }
        }
        match self.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.flush();
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The page tasks' way to the WARC files: the writer's queue.
pub(crate) struct Archive(Rc<RefCell<Vec<Msg>>>);

impl Archive {
    /// Queues the exchange with `url` for the WARC files.
    pub(crate) fn push(&self, url: String, capture: Box<Capture>) {
        self.0.borrow_mut().push(Msg::Warc(url, capture));
    }
}

/// A way into the writer's queue for the loop's tasks (see
/// [`Writer::queue`]).
pub(crate) struct Queue(Rc<RefCell<Vec<Msg>>>);

impl Queue {
    /// Queues `op` for the state store (it goes with the next flush).
    pub(crate) fn state(&self, op: Op) {
        self.0.borrow_mut().push(Msg::State(op));
    }
}

/// A failure of the state store (not of the output), told apart by the
/// engine for its message.
#[derive(Debug)]
pub(crate) struct StateWriteError(pub(crate) rusqlite::Error);

impl std::fmt::Display for StateWriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&sqlite_message(&self.0))
    }
}

/// SQLite's message, without the statement rusqlite may quote after it.
pub(crate) fn sqlite_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        e => e.to_string().lines().next().unwrap_or_default().to_owned(),
    }
}

impl std::error::Error for StateWriteError {}

pub(crate) fn db_err(e: rusqlite::Error) -> io::Error {
    io::Error::other(StateWriteError(e))
}

/// What the thread writes to: the output, and the WARC files.
struct Files {
    out: RecordWriter,
    warc: Option<WarcWriter>,
}

/// The WARC records queued so far handed to the OS (whole: see
/// [`WarcWriter::flush`]).
fn flush_warc(files: &mut Files) -> io::Result<()> {
    files.warc.as_mut().map_or(Ok(()), WarcWriter::flush)
}

/// The WARC records and the output flushed; with a store, a checkpoint
/// (so a checkpoint never counts a page whose records are not written).
fn commit(files: &mut Files, store: &mut Option<Store>) -> io::Result<()> {
    flush_warc(files)?;
    match store {
        Some(s) => checkpoint::commit(&mut files.out, s),
        None => files.out.flush(),
    }
}

/// Writes batches, with a checkpoint after the last whole one of a run
/// (never after a part of a loop turn).
fn run(mut files: Files, mut store: Option<Store>, rx: Receiver<Batch>) -> io::Result<()> {
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut n = 0;
        let mut whole = false;
        while let Some(batch) = next {
            n += batch.msgs.len();
            whole = batch.whole;
            for m in batch.msgs {
                handle(&mut files, &mut store, m)?;
            }
            next = if n < BATCH { rx.try_recv().ok() } else { None };
        }
        match whole {
            true => commit(&mut files, &mut store)?,
            false => flush_warc(&mut files)?,
        }
    }
    commit(&mut files, &mut store)
}

/// Writes one message (an unspill also answers at once).
fn handle(files: &mut Files, store: &mut Option<Store>, m: Msg) -> io::Result<()> {
    match m {
        Msg::Page(r) => files.out.write_page(&r)?,
        Msg::Item(v) => files.out.write_item(&v)?,
        Msg::Warc(url, capture) => {
            if let Some(w) = &mut files.warc {
                w.exchange(url, &capture, store.as_mut())?;
            }
        }
        Msg::State(op) => {
            if let Some(s) = store {
                s.apply(&op).map_err(db_err)?;
            }
        }
        Msg::Unspill { n, reply } => {
            // Sent between pages: a checkpoint may come here.
            commit(files, store)?;
            let rows = match store {
                Some(s) => s.unspill(n).map_err(db_err)?,
                None => Vec::new(),
            };
            let _ = reply.send(rows);
        }
        Msg::Written(reply) => {
            commit(files, store)?;
            let _ = reply.send(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Target;

    /// Commits counted in the state directory.
    fn commits(dir: &std::path::Path) -> u64 {
        let text = std::fs::read_to_string(dir.join("state.commits")).unwrap();
        text.trim().parse().unwrap()
    }

    #[test]
    fn no_checkpoint_inside_a_loop_turn() {
        let dir = std::env::temp_dir().join(format!("solo-crawl-sink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir, false).unwrap();
        let cfg = OutputConfig {
            pages: Target::File(dir.join("pages.jsonl")),
            ..OutputConfig::default()
        };
        let w = Writer::spawn(&cfg, Some(store)).unwrap();
        assert_eq!(commits(&dir), 1, "the first checkpoint, at open");
        // More than a hand-over's worth in one turn: the first part goes
        // to the thread early, without a checkpoint after it.
        for i in 0..HAND_OVER as u64 + 10 {
            w.send(Msg::Page(Box::default()));
            w.send(Msg::State(Op::PagesDone(i)));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(commits(&dir), 1, "no checkpoint in the middle of a turn");
        w.flush(); // the turn ends
        w.finish().unwrap();
        assert!(commits(&dir) > 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
