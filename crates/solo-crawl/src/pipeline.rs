//! Item pipelines (Scrapy's `ITEM_PIPELINES`): ordered async stages
//! between the spider and the output.
//!
//! Owns: the [`Pipeline`] trait (a stage: `open`, `process`, `close`),
//! [`ItemError`] (drop with a reason, or fail), [`Pipelines`] (the ordered
//! stages and the bound on items in flight, Scrapy's `CONCURRENT_ITEMS`),
//! running a page's items through them on the loop, and collecting the
//! keys stages keep with the crawl's checkpoint ([`Checkpoint`], in
//! `kept`). Must not: write
//! output or block the loop thread (a stage that does blocking I/O hands
//! it to a thread: see [`OffLoop`](crate::offloop::OffLoop)); the engine
//! only moves items through here.
//!
//! # Items: JSON values, typed where you want
//!
//! An item travels as a [`serde_json::Value`] (what [`Output::item`](crate::Output::item)
//! makes of any `Serialize` value), so stages written for any item (drop
//! duplicates, required fields, SQLite, files) work on every spider. A
//! stage that wants a struct wraps a closure in
//! [`typed::<T>`](crate::stages::typed): the item is deserialized into `T`,
//! handed over, and serialized back. Several item types in one crawl are
//! an enum with `#[serde(tag = "_type")]`: each item carries its type in
//! `_type`, which the exporters also route on.
//!
//! # Flow and back-pressure
//!
//! A page's items go through the stages together, each item through every
//! stage in order; an item holds one of [`Pipelines::max_in_flight`]
//! permits from its first stage to its last. While that many items are
//! in the pipeline the engine starts no new request, so a slow stage
//! slows the crawl down instead of piling items up in memory. Kept items
//! keep their order within a page; the page's record, items and (with
//! `--state`) its done mark are written together once its items are
//! through.
//!
//! An item that a stage fails ([`ItemError::Failed`]) or panics on is lost
//! alone: its page-mates go on through the later stages to the output.
//! The loss is counted in `errors` (`item_failed`, `item_panic`); the
//! first of each kind is logged (a warning) with its page's URL and why,
//! and the first of all is [`Summary::first_item_failure`](crate::Summary::first_item_failure).
//!
//! # State that survives a resume
//!
//! With `--state`, a stage can keep keys (64-bit values: hashes of what
//! it has seen) with the crawl's checkpoint: it implements
//! [`Pipeline::process_with`] and [`keep`](Checkpoint::keep)s a key there,
//! and [`Pipeline::restore`] gets the kept keys back when the crawl
//! resumes. A key is committed in the same transaction as the page its
//! item came from (the page's record, its kept items and its done mark),
//! so after a kill it is kept exactly when that page counts as done: a
//! page fetched again does not find its own keys. (A key whose item a
//! later stage drops is kept with the page all the same, as it stays in
//! the stage's memory in a crawl that is not killed.)
//! [`DropDuplicates`](crate::stages::DropDuplicates) keeps its seen keys
//! this way, so a resumed crawl writes no duplicate.
//!
//! ```
//! use solo_crawl::pipeline::{ItemError, Pipeline, Pipelines};
//! use serde_json::{json, Value};
//!
//! /// Prices in cents, as integers.
//! struct Cents;
//! impl Pipeline for Cents {
//!     async fn process(&self, mut item: Value) -> Result<Value, ItemError> {
//!         let price = item["price"].as_str().ok_or_else(|| ItemError::dropped("no price"))?;
//!         let euros: f64 = price.trim_start_matches('€').parse().map_err(ItemError::failed)?;
//!         item["price"] = json!((euros * 100.0).round() as i64);
//!         Ok(item)
//!     }
//! }
//!
//! let pipelines = Pipelines::new().stage(Cents).max_in_flight(10);
//! solo::run(async move {
//!     let out = pipelines.process_one(json!({"price": "€1.50"})).await;
//!     assert_eq!(out.unwrap()["price"], 150);
//!     let out = pipelines.process_one(json!({"name": "x"})).await;
//!     assert_eq!(out.unwrap_err(), ItemError::dropped("no price"));
//! });
//! ```

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde_json::Value;
use solo::sync::Semaphore;

use crate::stats::Stats;

mod kept;
pub use kept::Checkpoint;
use kept::Kept;

/// Why a stage did not pass an item on: dropped on purpose (Scrapy's
/// `DropItem`: counted per reason in `items_dropped`), or failed (an
/// error: counted in `errors` as `item_failed`, the first one logged with
/// its page; the crawl and the page's other items go on). A stage that
/// panics fails its item alone in the same way, counted as `item_panic`.
///
/// ```
/// use solo_crawl::pipeline::ItemError;
/// assert_eq!(ItemError::dropped("duplicate").to_string(), "dropped: duplicate");
/// let e: ItemError = ItemError::failed("database is locked");
/// assert!(matches!(e, ItemError::Failed(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemError {
    /// The item is not wanted: the reason is a short key (`duplicate`,
    /// `missing:price`), counted in the statistics.
    Dropped(String),
    /// The stage could not handle the item.
    Failed(String),
}

impl ItemError {
    /// A drop, with its reason.
    pub fn dropped(reason: impl Into<String>) -> ItemError {
        ItemError::Dropped(reason.into())
    }

    /// A failure, from any error.
    pub fn failed(error: impl fmt::Display) -> ItemError {
        ItemError::Failed(error.to_string())
    }
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemError::Dropped(r) => write!(f, "dropped: {r}"),
            ItemError::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

impl std::error::Error for ItemError {}

/// What a stage's `open` or `close` may fail with: any error (`?`
/// converts it) or a message (`Err("no table".into())`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A stage (or a sink, or a feed file) failed to open, write or close:
/// what failed, and its error, kept as the [`source`](std::error::Error::source)
/// so callers can downcast it (e.g. to `rusqlite::Error` or `io::Error`).
///
/// ```
/// use solo_crawl::pipeline::PipelineError;
/// let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
/// let e = PipelineError::new("sqlite items.db", io);
/// assert_eq!(e.to_string(), "sqlite items.db: denied");
/// assert_eq!(e.what(), "sqlite items.db");
/// let source = std::error::Error::source(&e).unwrap();
/// assert!(source.downcast_ref::<std::io::Error>().is_some());
/// ```
#[derive(Debug)]
pub struct PipelineError {
    what: String,
    source: BoxError,
}

impl PipelineError {
    /// `what` failed with `source`.
    pub fn new(what: impl Into<String>, source: impl Into<BoxError>) -> PipelineError {
        PipelineError {
            what: what.into(),
            source: source.into(),
        }
    }

    /// What failed: the stage's [`name`](Pipeline::name), or a sink's file.
    pub fn what(&self) -> &str {
        &self.what
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for PipelineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// One stage of the item pipeline. Runs on the loop thread: `process`
/// may await (a database, an HTTP call, [`solo::to_thread`]) but must not
/// block. Items are processed concurrently, hence `&self` (keep state in
/// a `RefCell` or `Cell`).
///
/// ```
/// use solo_crawl::pipeline::{ItemError, Pipeline};
/// struct Lowercase;
/// impl Pipeline for Lowercase {
///     async fn process(&self, mut item: serde_json::Value) -> Result<serde_json::Value, ItemError> {
///         if let Some(s) = item["name"].as_str() { item["name"] = s.to_lowercase().into(); }
///         Ok(item)
///     }
/// }
/// let v = solo::run(Lowercase.process(serde_json::json!({"name": "AB"}))).unwrap();
/// assert_eq!(v["name"], "ab");
/// ```
#[allow(async_fn_in_trait)] // single-threaded: the futures need not be Send
pub trait Pipeline: 'static {
    /// Called once before the crawl starts (open a file, a connection);
    /// an error stops the crawl before it fetches anything.
    async fn open(&self) -> Result<(), BoxError> {
        Ok(())
    }

    /// Passes `item` on (changed or not), or says why not.
    async fn process(&self, item: Value) -> Result<Value, ItemError>;

    /// Called once after the last item, awaited before the crawl returns
    /// (flush, commit, close); an error is the crawl's.
    async fn close(&self) -> Result<(), BoxError> {
        Ok(())
    }

    /// The stage's name in errors and logs: its type's, unless it says
    /// otherwise. With `--state`, also the name its kept keys are stored
    /// under (the second stage of one name: `NAME#2`, and so on): a stage
    /// that keeps keys names what they mean, so that a changed stage does
    /// not get another's keys back.
    fn name(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }

    /// [`process`](Self::process) with the item's [`Checkpoint`], where
    /// the stage [`keep`](Checkpoint::keep)s keys that are to survive a
    /// resume (see the [module docs](self)). The crawl calls this one;
    /// by default it calls `process`.
    async fn process_with(&self, item: Value, checkpoint: &Checkpoint) -> Result<Value, ItemError> {
        let _ = checkpoint;
        self.process(item).await
    }

    /// On a crawl resumed from `--state`, before [`open`](Self::open):
    /// the keys this stage kept in its earlier runs (each once, in no
    /// particular order), those committed with their pages.
    fn restore(&self, kept: &[u64]) {
        let _ = kept;
    }
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Why an item did not come out of the stages.
enum Lost {
    /// A stage's `Err`.
    Error(ItemError),
    /// A stage panicked: which, and the panic's message.
    Panic(String),
}

/// Runs `stage` (one item's call of a stage) to its end, or to a panic in
/// it: then the panic's message. The item fails alone: its page-mates,
/// run concurrently, go on; the stage's future is dropped, never polled
/// again.
async fn caught<T>(stage: impl Future<Output = T>) -> Result<T, String> {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::task::Poll;
    let mut stage = std::pin::pin!(stage);
    std::future::poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| stage.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(&*payload))),
        },
    )
    .await
}

/// A panic's message, when it has one.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "a panic without a message".to_owned(),
    }
}

/// [`Pipeline`] with boxed futures, so stages of different types sit in
/// one list.
trait DynStage {
    fn open(&self) -> Boxed<'_, Result<(), BoxError>>;
    fn process<'a>(
        &'a self,
        item: Value,
        checkpoint: &'a Checkpoint,
    ) -> Boxed<'a, Result<Value, ItemError>>;
    fn close(&self) -> Boxed<'_, Result<(), BoxError>>;
    fn name(&self) -> String;
    fn restore(&self, kept: &[u64]);
}

impl<P: Pipeline> DynStage for P {
    fn open(&self) -> Boxed<'_, Result<(), BoxError>> {
        Box::pin(Pipeline::open(self))
    }
    fn process<'a>(
        &'a self,
        item: Value,
        checkpoint: &'a Checkpoint,
    ) -> Boxed<'a, Result<Value, ItemError>> {
        Box::pin(Pipeline::process_with(self, item, checkpoint))
    }
    fn restore(&self, kept: &[u64]) {
        Pipeline::restore(self, kept)
    }
    fn close(&self) -> Boxed<'_, Result<(), BoxError>> {
        Box::pin(Pipeline::close(self))
    }
    fn name(&self) -> String {
        Pipeline::name(self)
    }
}

/// The ordered stages of a crawl's item pipeline, given to
/// [`Crawler::pipelines`](crate::Crawler::pipelines).
///
/// ```
/// use solo_crawl::pipeline::Pipelines;
/// use solo_crawl::stages::{DropDuplicates, RequireFields};
/// let p = Pipelines::new()
///     .stage(RequireFields::new(["name", "price"]))
///     .stage(DropDuplicates::by_fields(["name"]));
/// assert_eq!(p.len(), 2);
/// assert_eq!(p.in_flight(), 0);
/// ```
pub struct Pipelines {
    stages: Vec<Box<dyn DynStage>>,
    max_in_flight: usize,
    permits: Semaphore,
    /// Items handed in and not through yet.
    backlog: Cell<usize>,
    /// Items inside a stage now, and the most at once.
    in_flight: Cell<usize>,
    peak: Cell<usize>,
    /// Whether the crawl keeps the stages' keys (`--state`).
    checkpointed: Cell<bool>,
}

impl Default for Pipelines {
    fn default() -> Self {
        Pipelines::new()
    }
}

impl fmt::Debug for Pipelines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.stages.iter().map(|s| s.name()).collect();
        f.debug_struct("Pipelines")
            .field("stages", &names)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

/// Scrapy's `CONCURRENT_ITEMS` default.
const MAX_IN_FLIGHT: usize = 100;

impl Pipelines {
    /// No stages; at most 100 items in flight.
    pub fn new() -> Pipelines {
        Pipelines {
            stages: Vec::new(),
            max_in_flight: MAX_IN_FLIGHT,
            permits: Semaphore::new(MAX_IN_FLIGHT),
            backlog: Cell::new(0),
            in_flight: Cell::new(0),
            peak: Cell::new(0),
            checkpointed: Cell::new(false),
        }
    }

    /// Adds a stage after the others.
    pub fn stage(mut self, stage: impl Pipeline) -> Pipelines {
        self.stages.push(Box::new(stage));
        self
    }

    /// Items in the pipeline at once, at most (at least 1): Scrapy's
    /// `CONCURRENT_ITEMS`. While this many are in, no new request starts.
    pub fn max_in_flight(mut self, n: usize) -> Pipelines {
        self.max_in_flight = n.max(1);
        self.permits = Semaphore::new(self.max_in_flight);
        self
    }

    /// How many stages.
    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// Whether there is no stage.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Items inside the stages now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.get()
    }

    /// The most items that were inside the stages at once.
    pub fn peak_in_flight(&self) -> usize {
        self.peak.get()
    }

    /// Items handed in by the engine and not written yet (waiting for a
    /// permit, in a stage, or on their way to the output).
    pub(crate) fn backlog(&self) -> usize {
        self.backlog.get()
    }

    /// Whether the engine should wait before starting more requests.
    pub(crate) fn full(&self) -> bool {
        self.backlog.get() >= self.max_in_flight
    }

    /// Opens every stage, in order; the first error names its stage.
    pub async fn open(&self) -> Result<(), PipelineError> {
        for s in &self.stages {
            s.open()
                .await
                .map_err(|e| PipelineError::new(format!("item pipeline {}", s.name()), e))?;
        }
        Ok(())
    }

    /// Closes every stage, in order (all of them, even after an error);
    /// the first error.
    pub async fn close(&self) -> Result<(), PipelineError> {
        let mut first = None;
        for s in &self.stages {
            if let Err(e) = s.close().await {
                first.get_or_insert(PipelineError::new(format!("item pipeline {}", s.name()), e));
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Runs one item through every stage (waiting for a permit first). A
    /// stage that panics fails the item alone: `ItemError::Failed`,
    /// saying which stage panicked and why.
    ///
    /// ```
    /// use solo_crawl::pipeline::{ItemError, Pipeline, Pipelines};
    /// use serde_json::{json, Value};
    /// struct Buggy;
    /// impl Pipeline for Buggy {
    ///     async fn process(&self, item: Value) -> Result<Value, ItemError> {
    ///         let n = item["n"].as_u64().expect("a number");
    ///         Ok(json!(n + 1))
    ///     }
    ///     fn name(&self) -> String {
    ///         "buggy".into()
    ///     }
    /// }
    /// let p = Pipelines::new().stage(Buggy);
    /// solo::run(async move {
    ///     assert_eq!(p.process_one(json!({"n": 1})).await, Ok(json!(2)));
    ///     let e = p.process_one(json!({})).await.unwrap_err();
    ///     assert_eq!(e, ItemError::failed("item pipeline buggy panicked: a number"));
    /// });
    /// ```
    pub async fn process_one(&self, item: Value) -> Result<Value, ItemError> {
        match self.process_kept(item).await.0 {
            Ok(v) => Ok(v),
            Err(Lost::Error(e)) => Err(e),
            Err(Lost::Panic(why)) => Err(ItemError::Failed(why)),
        }
    }

    /// [`process_one`](Self::process_one), and the keys the stages kept
    /// for the item (none unless the crawl keeps them).
    async fn process_kept(&self, item: Value) -> (Result<Value, Lost>, Kept) {
        let permit = self.permits.acquire().await;
        self.in_flight.set(self.in_flight.get() + 1);
        self.peak.set(self.peak.get().max(self.in_flight.get()));
        let on = self.checkpointed.get();
        let mut kept = Kept::default();
        let mut result = Ok(item);
        for (i, s) in self.stages.iter().enumerate() {
            let checkpoint = match on {
                true => Checkpoint::new(),
                false => Checkpoint::none(),
            };
            result = match result {
                Ok(item) => match caught(s.process(item, &checkpoint)).await {
                    Ok(r) => r.map_err(Lost::Error),
                    Err(why) => Err(Lost::Panic(format!(
                        "item pipeline {} panicked: {why}",
                        s.name()
                    ))),
                },
                Err(e) => Err(e),
            };
            kept.add(i, checkpoint);
            if result.is_err() {
                break;
            }
        }
        self.in_flight.set(self.in_flight.get() - 1);
        drop(permit);
        (result, kept)
    }

    /// The names the stages' keys are kept under: each stage's
    /// [`name`](Pipeline::name), `#2`, `#3`... after a repeated one.
    pub(crate) fn kept_names(&self) -> Vec<String> {
        kept::names(self.stages.iter().map(|s| s.name()))
    }

    /// A crawl with `--state`: hands each stage the keys it kept before
    /// (in the order of [`kept_names`](Self::kept_names)), and has the
    /// stages' keys collected from now on.
    pub(crate) fn restore(&self, kept: &[Vec<u64>]) {
        for (s, keys) in self.stages.iter().zip(kept) {
            if !keys.is_empty() {
                s.restore(keys);
            }
        }
        self.checkpointed.set(true);
    }

    /// Counts `n` items as handed in, until [`release`](Self::release).
    fn reserve(&self, n: usize) {
        self.backlog.set(self.backlog.get() + n);
    }

    /// `n` items handed in are written (or dropped): out of the backlog.
    pub(crate) fn release(&self, n: usize) {
        self.backlog.set(self.backlog.get().saturating_sub(n));
    }
}

/// Runs the items of the page at `url` through `pipelines` (concurrently,
/// within the permits); the kept ones in their order, and the keys the
/// stages kept for all of them (stage index, key: to commit with the
/// page). Drops and failures are counted in `stats`; an item whose stage
/// fails or panics is lost alone, its page-mates go on. The items count
/// in the backlog from this call on (before the future first runs) until
/// the engine, having written the page, calls [`Pipelines::release`].
pub(crate) fn run_page(
    pipelines: Rc<Pipelines>,
    items: Vec<Value>,
    stats: Rc<RefCell<Stats>>,
    url: String,
) -> impl std::future::Future<Output = (Vec<Value>, Vec<(u32, u64)>)> {
    let n = items.len();
    pipelines.reserve(n);
    async move {
        let results = solo::gather(items.into_iter().map(|item| {
            let p = pipelines.clone();
            async move { p.process_kept(item).await }
        }))
        .await;
        let mut kept = Vec::with_capacity(n);
        let mut keys = Kept::default();
        let mut st = stats.borrow_mut();
        for (r, k) in results {
            keys.append(k);
            match r {
                Ok(v) => kept.push(v),
                Err(Lost::Error(ItemError::Dropped(reason))) => {
                    *st.counts.items_dropped.entry(reason).or_default() += 1;
                }
                Err(Lost::Error(ItemError::Failed(e))) => st.item_lost("item_failed", &url, &e),
                Err(Lost::Panic(why)) => st.item_lost("item_panic", &url, &why),
            }
        }
        st.counts.items_kept += kept.len() as u64;
        (kept, keys.into_vec())
    }
}
