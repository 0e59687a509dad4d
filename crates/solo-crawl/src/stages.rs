//! Item pipeline stages that ship: drop duplicates by a key, require
//! fields, and the typed adapter.
//!
//! Owns: [`DropDuplicates`], [`RequireFields`] and [`typed`] (a closure
//! over a `Deserialize + Serialize` type as a stage). Must not: write
//! output (sinks: [`SqliteSink`](crate::sqlite_sink::SqliteSink),
//! [`Feeds`](crate::export::Feeds)).

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::Future;
use std::marker::PhantomData;

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::pipeline::{Checkpoint, ItemError, Pipeline};
use crate::sorted_keys::SortedKeys;

/// How an item's key is read.
#[derive(Clone, Debug)]
enum Key {
    /// A JSON pointer (`/offer/sku`).
    Pointer(String),
    /// Top-level fields, together.
    Fields(Vec<String>),
}

/// Drops an item whose key was seen before (Scrapy's duplicates filter
/// example), with the reason `duplicate`. Items with no key are dropped
/// too (`no_key`), as they cannot be told apart: the pointer leads
/// nowhere or to a null, or one of the key fields is missing (or null).
///
/// The keys seen are kept in memory (8 bytes each: a hash). With
/// `--state` they are also kept with the crawl's checkpoint, each
/// committed with the page its item came from, so a resumed crawl drops
/// what the killed run saw and wrote, and no more: a page fetched again
/// after a kill keeps its items (see [`Checkpoint`]). They are stored
/// under the stage's [`name`](Pipeline::name), which says its key
/// (`DropDuplicates(_type, sku)`): a resumed crawl whose stage has
/// another key starts with none.
///
/// ```
/// use solo_crawl::{pipeline::{ItemError, Pipeline}, stages::DropDuplicates};
/// use serde_json::json;
/// let d = DropDuplicates::by_pointer("/offer/sku");
/// solo::run(async {
///     assert!(d.process(json!({"offer": {"sku": 1}})).await.is_ok());
///     assert_eq!(d.process(json!({"offer": {"sku": 1}})).await, Err(ItemError::dropped("duplicate")));
///     assert_eq!(d.process(json!({"x": 1})).await, Err(ItemError::dropped("no_key")));
/// });
/// ```
#[derive(Debug)]
pub struct DropDuplicates {
    key: Key,
    seen: RefCell<HashSet<u64>>,
}

impl DropDuplicates {
    /// The key is the value at a JSON pointer (RFC 6901, e.g.
    /// `/offer/sku`). An item where the pointer leads nowhere, or to a
    /// null (what a selector's `get()` gives when it finds nothing), has
    /// no key and is dropped as `no_key`, as with [`by_fields`](Self::by_fields).
    ///
    /// ```
    /// use solo_crawl::{pipeline::{ItemError, Pipeline}, stages::DropDuplicates};
    /// use serde_json::json;
    /// let d = DropDuplicates::by_pointer("/sku");
    /// solo::run(async {
    ///     assert!(d.process(json!({"sku": "S1"})).await.is_ok());
    ///     let no_key = Err(ItemError::dropped("no_key"));
    ///     assert_eq!(d.process(json!({"sku": null})).await, no_key);
    ///     assert_eq!(d.process(json!({"sku": null})).await, no_key);
    /// });
    /// ```
    pub fn by_pointer(pointer: impl Into<String>) -> DropDuplicates {
        DropDuplicates {
            key: Key::Pointer(pointer.into()),
            seen: RefCell::default(),
        }
    }

    /// The key is these top-level fields together: an item missing any
    /// of them (or with it null) has no key, so two items of one `_type`
    /// without a `sku` are not duplicates of each other under
    /// `by_fields(["_type", "sku"])`: both are dropped as `no_key`.
    ///
    /// ```
    /// use solo_crawl::{pipeline::{ItemError, Pipeline}, stages::DropDuplicates};
    /// use serde_json::json;
    /// let d = DropDuplicates::by_fields(["_type", "sku"]);
    /// solo::run(async {
    ///     assert!(d.process(json!({"_type": "product", "sku": "A1"})).await.is_ok());
    ///     assert!(d.process(json!({"_type": "review", "sku": "A1"})).await.is_ok());
    ///     let no_sku = json!({"_type": "product", "name": "x"});
    ///     assert_eq!(d.process(no_sku).await, Err(ItemError::dropped("no_key")));
    /// });
    /// ```
    pub fn by_fields<I, S>(fields: I) -> DropDuplicates
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        DropDuplicates {
            key: Key::Fields(fields.into_iter().map(Into::into).collect()),
            seen: RefCell::default(),
        }
    }

    fn key(&self, item: &Value) -> Option<u64> {
        let text = match &self.key {
            Key::Pointer(p) => match item.pointer(p)? {
                Value::Null => return None,
                v => serde_json::to_string(&SortedKeys(v)).ok()?,
            },
            Key::Fields(fields) => {
                let parts: Vec<&Value> = fields.iter().map(|f| &item[f.as_str()]).collect();
                if parts.iter().any(|v| v.is_null()) {
                    return None;
                }
                let parts: Vec<SortedKeys> = parts.into_iter().map(SortedKeys).collect();
                serde_json::to_string(&parts).ok()?
            }
        };
        Some(xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
    }
}

impl Pipeline for DropDuplicates {
    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        self.process_with(item, &Checkpoint::none()).await
    }

    async fn process_with(&self, item: Value, checkpoint: &Checkpoint) -> Result<Value, ItemError> {
        let key = self
            .key(&item)
            .ok_or_else(|| ItemError::dropped("no_key"))?;
        if self.seen.borrow_mut().insert(key) {
            checkpoint.keep(key);
            Ok(item)
        } else {
            Err(ItemError::dropped("duplicate"))
        }
    }

    fn restore(&self, kept: &[u64]) {
        self.seen.borrow_mut().extend(kept);
    }

    /// `DropDuplicates(/offer/sku)`, `DropDuplicates(_type, sku)`.
    fn name(&self) -> String {
        match &self.key {
            Key::Pointer(p) => format!("DropDuplicates({p})"),
            Key::Fields(f) => format!("DropDuplicates({})", f.join(", ")),
        }
    }
}

/// Drops an item that lacks one of the fields, or has it null or an empty
/// string, with the reason `missing:FIELD` (the first one missing).
///
/// ```
/// use solo_crawl::{pipeline::{ItemError, Pipeline}, stages::RequireFields};
/// use serde_json::json;
/// let r = RequireFields::new(["name", "price"]);
/// solo::run(async {
///     assert!(r.process(json!({"name": "a", "price": 1})).await.is_ok());
///     assert_eq!(r.process(json!({"name": ""})).await, Err(ItemError::dropped("missing:name")));
/// });
/// ```
#[derive(Clone, Debug)]
pub struct RequireFields {
    fields: Vec<String>,
}

impl RequireFields {
    /// Requires each of `fields` (top-level names).
    pub fn new<I, S>(fields: I) -> RequireFields
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RequireFields {
            fields: fields.into_iter().map(Into::into).collect(),
        }
    }
}

impl Pipeline for RequireFields {
    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        for f in &self.fields {
            match item.get(f) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s.trim().is_empty() => {}
                Some(_) => continue,
            }
            return Err(ItemError::dropped(format!("missing:{f}")));
        }
        Ok(item)
    }
}

/// A stage from an async closure over a typed item: each item is
/// deserialized into `T` (one that does not fit fails, naming `T`),
/// handed to `f`, and what `f` returns is serialized back.
///
/// Several item types: make `T` an enum with `#[serde(tag = "_type")]`
/// and emit its variants; `match` in the closure.
///
/// The item that goes on is `T`'s, whole: a field `T` does not name (one
/// an earlier stage added, say) is left out, as serde drops unknown
/// fields. Keep it with a field of `T`, or collect the others with
/// `#[serde(flatten)] rest: serde_json::Map<String, serde_json::Value>`.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use solo_crawl::{pipeline::{ItemError, Pipeline}, stages::typed};
///
/// #[derive(Serialize, Deserialize)]
/// struct Book { title: String, price: f64 }
///
/// let stage = typed(|mut b: Book| async move {
///     if b.price <= 0.0 { return Err(ItemError::dropped("free")); }
///     b.title = b.title.trim().to_owned();
///     Ok(b)
/// });
/// solo::run(async {
///     let v = stage.process(serde_json::json!({"title": " Dune ", "price": 9.5, "seen": 1})).await.unwrap();
///     assert_eq!(v["title"], "Dune");
///     assert!(v.get("seen").is_none()); // not a field of Book
///     assert!(matches!(stage.process(serde_json::json!({"x": 1})).await, Err(ItemError::Failed(_))));
/// });
/// ```
pub fn typed<T, F, Fut>(f: F) -> Typed<T, F>
where
    T: Serialize + DeserializeOwned + 'static,
    F: Fn(T) -> Fut + 'static,
    Fut: Future<Output = Result<T, ItemError>>,
{
    Typed { f, _t: PhantomData }
}

/// The stage [`typed`] makes.
pub struct Typed<T, F> {
    f: F,
    _t: PhantomData<fn(T) -> T>,
}

impl<T, F, Fut> Pipeline for Typed<T, F>
where
    T: Serialize + DeserializeOwned + 'static,
    F: Fn(T) -> Fut + 'static,
    Fut: Future<Output = Result<T, ItemError>>,
{
    async fn process(&self, item: Value) -> Result<Value, ItemError> {
        let name = std::any::type_name::<T>();
        let t: T = serde_json::from_value(item)
            .map_err(|e| ItemError::failed(format!("item is not a {name}: {e}")))?;
        let t = (self.f)(t).await?;
        serde_json::to_value(t).map_err(|e| ItemError::failed(format!("{name}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An item missing one of several key fields has no key: it is not a
    /// duplicate of another item missing it (audit: distinct products
    /// without a `sku` were dropped as duplicates of the first one).
    #[test]
    fn an_item_missing_one_key_field_has_no_key() {
        let d = DropDuplicates::by_fields(["_type", "sku"]);
        let run = |v: Value| solo::run(d.process(v));
        let no_key = Err(ItemError::dropped("no_key"));
        assert_eq!(run(json!({"_type": "product", "name": "a"})), no_key);
        assert_eq!(run(json!({"_type": "product", "name": "b"})), no_key);
        assert_eq!(run(json!({"_type": "product", "sku": null})), no_key);
        assert_eq!(run(json!({"sku": "A1"})), no_key);
        assert!(run(json!({"_type": "product", "sku": "A1"})).is_ok());
        assert_eq!(
            run(json!({"_type": "product", "sku": "A1", "name": "c"})),
            Err(ItemError::dropped("duplicate"))
        );
    }
}
