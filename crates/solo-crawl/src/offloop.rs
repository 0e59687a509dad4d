//! Sinks off the loop: a pipeline stage that hands items to a thread of
//! its own, in batches.
//!
//! Owns: [`BatchWrite`] (what a sink does on its thread: open, write a
//! batch, close) and [`OffLoop`], the stage that runs one: the items of a
//! loop turn go over as one batch (or sooner, every [`OffLoop::batch`]
//! items), and each item waits until its batch is written, so the
//! pipeline's bound on items in flight also bounds what waits for the
//! thread. Each item gets its own outcome ([`BatchWrite::write_each`]): a
//! sink that can tell which item failed (a row a database refused) fails
//! only that one; a failed [`BatchWrite::write`] fails every item of its
//! batch. Failures count as errors; the crawl goes on. Must not: touch
//! the loop's state from the thread.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;

use futures_channel::oneshot;
use serde_json::Value;
use solo::sync::Event;

use crate::pipeline::{BoxError, ItemError, Pipeline};

/// A sink that writes on a thread of its own (files, a database).
pub trait BatchWrite: Send + 'static {
    /// Opens the sink (on its thread), before the crawl.
    fn open(&mut self) -> Result<(), BoxError>;
    /// Writes some items, e.g. in one transaction.
    fn write(&mut self, items: &[Value]) -> Result<(), BoxError>;
    /// Writes some items and says, per item and in their order, whether
    /// it was written: an `Err` fails that item alone. Override it when
    /// one item can fail without the others (a row a database refuses);
    /// by default it is [`write`](BatchWrite::write), whose one outcome
    /// goes to every item.
    ///
    /// ```
    /// use solo_crawl::offloop::{BatchWrite, OffLoop};
    /// use solo_crawl::pipeline::{BoxError, ItemError, Pipeline};
    /// use serde_json::{json, Value};
    /// /// Takes numbers only.
    /// struct Numbers;
    /// impl BatchWrite for Numbers {
    ///     fn open(&mut self) -> Result<(), BoxError> { Ok(()) }
    ///     fn write(&mut self, items: &[Value]) -> Result<(), BoxError> {
    ///         self.write_each(items).into_iter().collect()
    ///     }
    ///     fn write_each(&mut self, items: &[Value]) -> Vec<Result<(), BoxError>> {
    ///         let one = |v: &Value| if v.is_number() { Ok(()) } else { Err(format!("{v} is no number").into()) };
    ///         items.iter().map(one).collect()
    ///     }
    ///     fn close(&mut self) -> Result<(), BoxError> { Ok(()) }
    /// }
    /// let stage = std::rc::Rc::new(OffLoop::new("numbers", Numbers));
    /// let out = solo::run(async move {
    ///     stage.open().await.unwrap();
    ///     let each = [json!(1), json!("x"), json!(2)].map(|item| {
    ///         let stage = stage.clone();
    ///         async move { stage.process(item).await } // together: one batch
    ///     });
    ///     solo::gather(each).await
    /// });
    /// assert_eq!(out[0], Ok(json!(1)));
    /// assert_eq!(out[1], Err(ItemError::failed("numbers: \"x\" is no number")));
    /// assert_eq!(out[2], Ok(json!(2)));
    /// ```
    fn write_each(&mut self, items: &[Value]) -> Vec<Result<(), BoxError>> {
        match self.write(items) {
            Ok(()) => items.iter().map(|_| Ok(())).collect(),
            Err(e) => {
                let e = e.to_string();
                items.iter().map(|_| Err(e.as_str().into())).collect()
            }
        }
    }
    /// Flushes and closes, after the last batch.
    fn close(&mut self) -> Result<(), BoxError>;
}

type Reply<T> = oneshot::Sender<Result<T, BoxError>>;

enum Cmd {
    Open(Reply<()>),
    /// The items, and each one's outcome (the error as text).
    Write(Vec<Value>, Reply<Vec<Result<(), String>>>),
    Close(Reply<()>),
}

/// A batch being filled, and its items' outcomes once written.
#[derive(Default)]
struct Batch {
    items: RefCell<Vec<Value>>,
    done: Event,
    /// One per item, in order; empty until written.
    results: RefCell<Vec<Result<(), String>>>,
}

/// A [`BatchWrite`] as a pipeline stage: writes happen on its thread,
/// the item passes on unchanged once written.
///
/// ```
/// use solo_crawl::offloop::{BatchWrite, OffLoop};
/// use solo_crawl::pipeline::{BoxError, Pipeline};
/// use std::sync::{Arc, Mutex};
/// struct Count(Arc<Mutex<usize>>);
/// impl BatchWrite for Count {
///     fn open(&mut self) -> Result<(), BoxError> { Ok(()) }
///     fn write(&mut self, items: &[serde_json::Value]) -> Result<(), BoxError> {
///         *self.0.lock().unwrap() += items.len();
///         Ok(())
///     }
///     fn close(&mut self) -> Result<(), BoxError> { Ok(()) }
/// }
/// let n = Arc::new(Mutex::new(0));
/// let stage = OffLoop::new("counter", Count(n.clone()));
/// solo::run(async {
///     stage.open().await.unwrap();
///     stage.process(serde_json::json!(1)).await.unwrap();
///     stage.close().await.unwrap();
/// });
/// assert_eq!(*n.lock().unwrap(), 1);
/// ```
pub struct OffLoop {
    name: String,
    tx: mpsc::Sender<Cmd>,
    current: RefCell<Option<Rc<Batch>>>,
    batch: usize,
}

impl OffLoop {
    /// Starts the thread of `sink` (`name` names the thread and errors).
    pub fn new(name: &str, sink: impl BatchWrite) -> OffLoop {
        let (tx, rx) = mpsc::channel();
        let mut sink = sink;
        let spawned = std::thread::Builder::new()
            .name(format!("solo-crawl-{name}"))
            .spawn(move || {
                while let Ok(cmd) = rx.recv() {
                    match cmd {
                        Cmd::Open(r) => drop(r.send(sink.open())),
                        Cmd::Write(items, r) => {
                            let each = sink.write_each(&items);
                            let each = each.into_iter().map(|r| r.map_err(|e| e.to_string()));
                            drop(r.send(Ok(each.collect())));
                        }
                        Cmd::Close(r) => {
                            let _ = r.send(sink.close());
                            return;
                        }
                    }
                }
            });
        // A thread that did not start drops `rx`: every command then
        // fails, saying so.
        drop(spawned);
        OffLoop {
            name: name.to_owned(),
            tx,
            current: RefCell::new(None),
            batch: 1000,
        }
    }

    /// Sends a batch at the latest when it holds `n` items (default
    /// 1000).
    pub fn batch(mut self, n: usize) -> OffLoop {
        self.batch = n.max(1);
        self
    }

    async fn ask<T>(&self, cmd: impl FnOnce(Reply<T>) -> Cmd) -> Result<T, BoxError> {
        let (tx, rx) = oneshot::channel();
        let gone = || BoxError::from("its thread is gone");
        self.tx.send(cmd(tx)).map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Sends `batch` (if it is still the one being filled) and records
    /// its items' outcomes.
    async fn send(&self, batch: &Rc<Batch>) {
        let current = self
            .current
            .borrow()
            .as_ref()
            .is_some_and(|b| Rc::ptr_eq(b, batch));
        if !current {
            return; // sent already
        }
        self.current.borrow_mut().take();
        let items = std::mem::take(&mut *batch.items.borrow_mut());
        let n = items.len();
        let results = match self.ask(|tx| Cmd::Write(items, tx)).await {
            Ok(each) => each
                .into_iter()
                .map(|r| r.map_err(|e| format!("{}: {e}", self.name)))
                .collect(),
            Err(e) => vec![Err(format!("{}: {e}", self.name)); n],
        };
        *batch.results.borrow_mut() = results;
        batch.done.set();
    }
}

impl Pipeline for OffLoop {
    async fn open(&self) -> Result<(), BoxError> {
        self.ask(Cmd::Open).await
    }

    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        let (batch, at, full) = {
            let mut cur = self.current.borrow_mut();
            let b = cur.get_or_insert_with(Rc::default).clone();
            let mut items = b.items.borrow_mut();
            items.push(item.clone());
            let (at, full) = (items.len() - 1, items.len() >= self.batch);
            drop(items);
            (b, at, full)
        };
        let first = at == 0;
        if full {
            self.send(&batch).await;
        } else if first {
            // The other items of this loop turn join the batch.
            solo::yield_now().await;
            self.send(&batch).await;
        }
        batch.done.wait().await;
        let result = batch.results.borrow().get(at).cloned();
        match result {
            Some(Ok(())) => Ok(item),
            Some(Err(e)) => Err(ItemError::Failed(e)),
            // A `write_each` that said less than one outcome per item.
            None => Err(ItemError::failed(format!(
                "{}: the sink gave no outcome for this item (BatchWrite::write_each must \
                 return one per item)",
                self.name
            ))),
        }
    }

    async fn close(&self) -> Result<(), BoxError> {
        let pending = self.current.borrow().clone();
        if let Some(b) = pending {
            self.send(&b).await;
        }
        self.ask(Cmd::Close).await
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}
