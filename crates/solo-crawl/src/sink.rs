//! The writer thread: everything the crawl writes goes through it.
//!
//! Owns: a dedicated `std::thread` that receives, in order, page records,
//! items (and, with `--state`, the state store's operations), writes them
//! in batches — output first, then the state — and reports a write failure
//! through a flag the engine polls. Keeping file I/O here keeps the loop
//! thread free to crawl. Must not: decide anything about the crawl.

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
    tx: Option<Sender<Msg>>,
    thread: Option<JoinHandle<()>>,
    failed: Arc<AtomicBool>,
    error: Arc<Mutex<Option<io::Error>>>,
}

/// Messages handled per batch before a flush.
const BATCH: usize = 4096;

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
            thread: Some(thread),
            failed,
            error,
        })
    }

    pub(crate) fn send(&self, msg: Msg) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(msg); // a dead thread has set `failed`
        }
    }

    /// Whether writing failed (the crawl should stop).
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Waits for everything sent to be written; the first write error.
    pub(crate) fn finish(mut self) -> io::Result<()> {
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
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn db_err(e: rusqlite::Error) -> io::Error {
    io::Error::other(format!("state store: {e}"))
}

/// Writes batches: output first, flushed, then the state committed.
fn run(mut out: RecordWriter, mut store: Option<Store>, rx: Receiver<Msg>) -> io::Result<()> {
    while let Ok(first) = rx.recv() {
        let mut msg = Some(first);
        let mut n = 0;
        while let Some(m) = msg {
            match m {
                Msg::Page(r) => out.write_page(&r)?,
                Msg::Item(v) => out.write_item(&v)?,
                Msg::State(op) => {
                    if let Some(s) = &mut store {
                        s.apply(&op).map_err(db_err)?;
                    }
                }
                Msg::Unspill { n, reply } => {
                    out.flush()?;
                    let rows = match &mut store {
                        Some(s) => s.unspill(n).map_err(db_err)?,
                        None => Vec::new(),
                    };
                    let _ = reply.send(rows);
                }
            }
            n += 1;
            msg = if n < BATCH { rx.try_recv().ok() } else { None };
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
