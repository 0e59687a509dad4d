//! A CSV item feed's file (one of [`export`](crate::export)'s feeds).
//!
//! Owns: [`CsvFeed`] — the header (the feed's chosen fields, else the
//! first item's, or an existing file's first line), each batch's records
//! made whole in memory before the file gets any of them, and the fields
//! the header lacks: their values are left out, each such field named in
//! one warning per feed, and the items that lost one counted in a warning
//! at close. Must not: route items to feeds, or refuse them (the feed
//! stage does, with [`not_an_object`], before any feed writes one).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::output::item_cell;

/// An open CSV feed file, on the exporters' thread.
pub(crate) struct CsvFeed {
    f: File,
    path: PathBuf,
    /// The feed's own columns ([`Feed::fields`](crate::export::Feed::fields)):
    /// fields outside them are left out on purpose, unwarned.
    chosen: Option<Vec<String>>,
    /// Fixed by the header (`None`: not written yet).
    columns: Option<Vec<String>>,
    raw: bool,
    /// Fields left out so far (each warned about once), and the items
    /// that lost one.
    left_out: BTreeSet<String>,
    items_cut: u64,
}

/// Why a CSV feed cannot take `item` (not an object).
pub(crate) fn not_an_object(item: &Value) -> String {
    let kind = match item {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!(
        "a CSV feed takes JSON objects (a column per field), and this item is {kind}: \
         make it an object, or send it to a .jsonl or .json feed"
    )
}

impl CsvFeed {
    /// `f` is `path`, opened to append; `fields`: the feed's columns;
    /// `raw`: cells as they are (else spreadsheet-safe).
    pub(crate) fn open(
        f: File,
        path: &Path,
        fields: Option<&[String]>,
        raw: bool,
    ) -> io::Result<CsvFeed> {
        let empty = f.metadata()?.len() == 0;
        // A file with rows keeps its columns (the chosen ones, or the
        // first line's).
        let columns = match (fields, empty) {
            (_, true) => None,
            (Some(c), false) => Some(c.to_vec()),
            (None, false) => Some(csv_header(path)?),
        };
        Ok(CsvFeed {
            f,
            path: path.to_owned(),
            chosen: fields.map(<[String]>::to_vec),
            columns,
            raw,
            left_out: BTreeSet::new(),
            items_cut: 0,
        })
    }

    /// Writes `items` as records, in one write (the header first into an
    /// empty file). An item that is not an object is an error, and then
    /// nothing is written.
    pub(crate) fn write(&mut self, items: &[&Value]) -> io::Result<()> {
        let mut objects = Vec::with_capacity(items.len());
        for item in items {
            let m = item
                .as_object()
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, not_an_object(item)))?;
            objects.push(m);
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        // The header, when this batch is the file's first.
        let header = self
            .columns
            .is_none()
            .then(|| match (&self.chosen, objects.first()) {
                (Some(c), _) => c.clone(),
                (None, first) => first.map_or_else(Vec::new, |m| m.keys().cloned().collect()),
            });
        let columns: &[String] = self
            .columns
            .as_deref()
            .or(header.as_deref())
            .unwrap_or_default();
        if let Some(h) = &header {
            w.write_record(h).map_err(io::Error::other)?;
        }
        for m in &objects {
            let row = columns.iter().map(|c| {
                m.get(c)
                    .map_or_else(String::new, |v| item_cell(v, self.raw))
            });
            w.write_record(row).map_err(io::Error::other)?;
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        self.f.write_all(&bytes)?;
        if header.is_some() {
            self.columns = header;
        }
        if self.chosen.is_none() {
            self.note_left_out(&objects);
        }
        Ok(())
    }

    /// Counts the items with fields the header lacks, and warns about
    /// the fields not warned about before.
    fn note_left_out(&mut self, objects: &[&Map<String, Value>]) {
        let Some(columns) = &self.columns else { return };
        let mut new = BTreeSet::new();
        for m in objects {
            let mut cut = false;
            for k in m.keys().filter(|k| !columns.contains(k)) {
                cut = true;
                if !self.left_out.contains(k) {
                    new.insert(k.clone());
                }
            }
            self.items_cut += u64::from(cut);
        }
        if new.is_empty() {
            return;
        }
        let names = new.iter().cloned().collect::<Vec<_>>().join(", ");
        tracing::warn!(
            feed = %self.path.display(),
            fields = %names,
            "--items {}: items have fields the CSV header ({}) lacks, and their values are \
             not written: {names}. The header comes from the first item (its fields in \
             its order) or from the file; choose the columns with Feed::fields, \
             or use a .jsonl feed",
            self.path.display(),
            columns.join(","),
        );
        self.left_out.extend(new);
    }

    /// Flushes (nothing is buffered) and warns how many items lost fields.
    pub(crate) fn close(&mut self) -> io::Result<()> {
        if self.items_cut > 0 {
            let names = self.left_out.iter().cloned().collect::<Vec<_>>();
            tracing::warn!(
                feed = %self.path.display(),
                items = self.items_cut,
                "--items {}: {} items lost fields the CSV header lacks ({})",
                self.path.display(),
                self.items_cut,
                names.join(", "),
            );
            self.items_cut = 0;
        }
        Ok(())
    }
}

/// The first line of a CSV file, as column names.
fn csv_header(path: &Path) -> io::Result<Vec<String>> {
    let mut r = csv::Reader::from_path(path).map_err(io::Error::other)?;
    Ok(r.headers()
        .map_err(io::Error::other)?
        .iter()
        .map(str::to_owned)
        .collect())
}
