//! The writer thread: everything the crawl writes goes through it.
//!
//! Owns: a dedicated `std::thread` that receives, in order, page records,
//! items (and, with `--state`, the state store's operations), writes them
//! in batches — output first, then the state — and reports a write failure
//! through a flag the engine polls. Keeping file I/O here keeps the loop
//! thread free to crawl. Must not: decide anything about the crawl.
//!
//! The loop side queues messages and hands them over in one channel send
//! per loop turn ([`Writer::flush`], called by the engine before it waits),
//! not one per message: waking the parked writer thread is a futex call
//! and a context switch, which per page cost ~15 % of a crawl's CPU.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::output::{OutputConfig, PageRecord, RecordWriter};
use crate::store::{Op, Store};

/// One thing to write.
pub(crate) enum Msg {
    Page(Box<PageRecord>),
    Item(serde_json::Value),
    /// A change to the state store (ignored without one).
    State(Op),
    /// Spilled requests back, up to `n`: commits what came before first.
    Unspill {
        n: usize,
        reply: futures_channel::oneshot::Sender<Vec<String>>,
    },
}

/// The engine's end of the writer thread.
pub(crate) struct Writer {
    tx: Option<Sender<Vec<Msg>>>,
    /// Queued on the loop side until the next [`flush`](Writer::flush).
    pending: RefCell<Vec<Msg>>,
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
    pub(crate) fn spawn(cfg: &OutputConfig, store: Option<Store>) -> io::Result<Writer> {
        let out = RecordWriter::open(cfg)?;
        let (tx, rx) = mpsc::channel();
        let failed = Arc::new(AtomicBool::new(false));
        let error = Arc::new(Mutex::new(None));
        let (f2, e2) = (failed.clone(), error.clone());
        let thread = std::thread::Builder::new()
            .name("solo-crawl-writer".into())
            .spawn(move || {
                if let Err(e) = run(out, store, rx) {
                    f2.store(true, Ordering::Relaxed);
                    *e2.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                }
            })?;
        Ok(Writer {
            tx: Some(tx),
            pending: RefCell::new(Vec::new()),
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
            self.flush();
        }
    }

    /// Hands the queued messages to the thread.
    pub(crate) fn flush(&self) {
        let batch = std::mem::take(&mut *self.pending.borrow_mut());
        if let (false, Some(tx)) = (batch.is_empty(), &self.tx) {
            let _ = tx.send(batch); // a dead thread has set `failed`
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

fn db_err(e: rusqlite::Error) -> io::Error {
    io::Error::other(StateWriteError(e))
}

/// Writes batches: output first, flushed, then the state committed.
fn run(mut out: RecordWriter, mut store: Option<Store>, rx: Receiver<Vec<Msg>>) -> io::Result<()> {
    while let Ok(first) = rx.recv() {
        let mut batch = Some(first);
        let mut n = 0;
        while let Some(msgs) = batch {
            n += msgs.len();
            for m in msgs {
                handle(&mut out, &mut store, m)?;
            }
            batch = if n < BATCH { rx.try_recv().ok() } else { None };
        }
        out.flush()?;
        if let Some(s) = &mut store {
            s.commit().map_err(db_err)?;
        }
    }
    out.flush()?;
    if let Some(s) = &mut store {
        s.commit().map_err(db_err)?;
    }
    Ok(())
}

/// Writes one message (an unspill also answers at once).
fn handle(out: &mut RecordWriter, store: &mut Option<Store>, m: Msg) -> io::Result<()> {
    match m {
        Msg::Page(r) => out.write_page(&r)?,
        Msg::Item(v) => out.write_item(&v)?,
        Msg::State(op) => {
            if let Some(s) = store {
                s.apply(&op).map_err(db_err)?;
            }
        }
        Msg::Unspill { n, reply } => {
            out.flush()?;
            let rows = match store {
                Some(s) => s.unspill(n).map_err(db_err)?,
                None => Vec::new(),
            };
            let _ = reply.send(rows);
        }
    }
    Ok(())
}
