//! Keys a stage keeps with the crawl's checkpoint (`--state`).
//!
//! Owns: [`Checkpoint`] (where a stage keeps keys for one item), gathering
//! an item's kept keys by stage for the engine, and the names they are
//! stored under. Must not: store them (the engine sends a page's keys to
//! the writer thread with the page's done mark, and the state store
//! commits them in the same transaction) or decide what a stage keeps.

use std::cell::RefCell;
use std::collections::HashMap;

/// Where a stage keeps keys for one item, with the crawl's checkpoint:
/// with `--state`, each key [`keep`](Self::keep)s here is committed
/// together with the page the item came from, and handed back to the
/// stage's [`restore`](super::Pipeline::restore) when the crawl resumes;
/// a page that was not committed (the crawl was killed first) is fetched
/// again, and its keys are not kept. Without `--state` it keeps nothing,
/// at no cost ([`none`](Self::none)).
///
/// ```
/// use solo_crawl::pipeline::{Checkpoint, ItemError, Pipeline};
/// use serde_json::Value;
/// use std::{cell::RefCell, collections::HashSet};
///
/// /// Keeps the first item of each `shop` (a number), across resumes.
/// #[derive(Default)]
/// struct FirstPerShop(RefCell<HashSet<u64>>);
///
/// impl Pipeline for FirstPerShop {
///     async fn process(&self, item: Value) -> Result<Value, ItemError> {
///         self.process_with(item, &Checkpoint::none()).await
///     }
///     async fn process_with(&self, item: Value, checkpoint: &Checkpoint) -> Result<Value, ItemError> {
///         let shop = item["shop"].as_u64().ok_or_else(|| ItemError::dropped("no_shop"))?;
///         if !self.0.borrow_mut().insert(shop) {
///             return Err(ItemError::dropped("not_first"));
///         }
///         checkpoint.keep(shop);
///         Ok(item)
///     }
///     fn restore(&self, kept: &[u64]) {
///         self.0.borrow_mut().extend(kept);
///     }
/// }
///
/// let stage = FirstPerShop::default();
/// let checkpoint = Checkpoint::new();
/// let item = serde_json::json!({"shop": 7, "name": "a"});
/// solo::run(async {
///     assert!(stage.process_with(item.clone(), &checkpoint).await.is_ok());
///     assert_eq!(checkpoint.kept().len(), 1);
///     // A resumed crawl: the key comes back.
///     let resumed = FirstPerShop::default();
///     resumed.restore(&checkpoint.kept());
///     assert!(resumed.process(item).await.is_err());
/// });
/// ```
#[derive(Debug, Default)]
pub struct Checkpoint {
    /// `None`: keeps nothing.
    keys: Option<RefCell<Vec<u64>>>,
}

impl Checkpoint {
    /// One that keeps what it is given (the crawl makes one per item and
    /// stage; make one to test a stage).
    pub fn new() -> Checkpoint {
        Checkpoint {
            keys: Some(RefCell::default()),
        }
    }

    /// One that keeps nothing: a crawl without `--state`, or a stage's
    /// own [`process`](super::Pipeline::process).
    pub fn none() -> Checkpoint {
        Checkpoint { keys: None }
    }

    /// Keeps `key` with the item's page (nothing without `--state`).
    pub fn keep(&self, key: u64) {
        if let Some(k) = &self.keys {
            k.borrow_mut().push(key);
        }
    }

    /// The keys kept here so far, in order.
    pub fn kept(&self) -> Vec<u64> {
        self.keys
            .as_ref()
            .map_or(Vec::new(), |k| k.borrow().clone())
    }
}

/// The keys kept for some items: (stage index, key).
#[derive(Debug, Default)]
pub(super) struct Kept(Vec<(u32, u64)>);

impl Kept {
    /// Takes what stage `stage` kept in `checkpoint`.
    pub(super) fn add(&mut self, stage: usize, checkpoint: Checkpoint) {
        if let Some(keys) = checkpoint.keys {
            let stage = stage as u32;
            self.0
                .extend(keys.into_inner().into_iter().map(|k| (stage, k)));
        }
    }

    /// Takes the keys of another item.
    pub(super) fn append(&mut self, mut other: Kept) {
        self.0.append(&mut other.0);
    }

    pub(super) fn into_vec(self) -> Vec<(u32, u64)> {
        self.0
    }
}

/// The names the stages' keys are kept under: each stage's name, with
/// `#2`, `#3`... after the second stage of a name and on.
pub(super) fn names(stages: impl Iterator<Item = String>) -> Vec<String> {
    let mut count: HashMap<String, u32> = HashMap::new();
    stages
        .map(|name| {
            let n = count.entry(name.clone()).or_default();
            *n += 1;
            match *n {
                1 => name,
                n => format!("{name}#{n}"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_stage_names_are_numbered() {
        let names = names(["a", "b", "a", "a"].into_iter().map(String::from));
        assert_eq!(names, ["a", "b", "a#2", "a#3"]);
    }

    #[test]
    fn a_checkpoint_without_state_keeps_nothing() {
        let none = Checkpoint::none();
        none.keep(1);
        assert!(none.kept().is_empty());
        let mut kept = Kept::default();
        kept.add(0, none);
        let on = Checkpoint::new();
        on.keep(7);
        kept.add(2, on);
        assert_eq!(kept.into_vec(), [(2, 7)]);
    }
}
