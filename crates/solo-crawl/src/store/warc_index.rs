//! The state store's index of WARC records, for revisit records.
//!
//! Owns: the payload digest of every response record written, in any run
//! of the crawl (a later response with the same payload becomes a
//! revisit record pointing at the first), the number of the next WARC
//! file, and for each page answered with validators the record that
//! holds its payload (for a later `304`'s revisit). Must not: write WARC
//! (the [`warc`](crate::warc) writer does).

use rusqlite::{params, OptionalExtension};

use super::Store;

impl Store {
    /// The first response record, in any run of this crawl, whose
    /// payload has this SHA-1: its target URI and WARC date.
    pub(crate) fn warc_payload(
        &self,
        digest: &[u8; 20],
    ) -> rusqlite::Result<Option<(String, String)>> {
        self.conn
            .prepare_cached(
                "SELECT uri, date FROM warc_payloads WHERE prefix = ?1 AND digest = ?2 LIMIT 1",
            )?
            .query_row(params![prefix(digest), &digest[..]], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
    }

    /// The WARC file number past every file this crawl created, in any
    /// run (0: none yet).
    pub(crate) fn warc_next(&self) -> rusqlite::Result<u32> {
        let n: Option<i64> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'warc_next'", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    /// Records that this crawl created WARC file `next - 1` (in the
    /// current batch's transaction; never lowers the number).
    pub(crate) fn set_warc_next(&mut self, next: u32) -> rusqlite::Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('warc_next', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
            )?
            .execute([i64::from(next)])?;
        Ok(())
    }

    /// Records that a response record with this payload was written (in
    /// the current batch's transaction: it commits with the checkpoint
    /// that follows the record's write).
    pub(crate) fn add_warc_payload(
        &mut self,
        digest: &[u8; 20],
        uri: &str,
        date: &str,
    ) -> rusqlite::Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached(
                "INSERT INTO warc_payloads (prefix, digest, uri, date) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![prefix(digest), &digest[..], uri, date])?;
        Ok(())
    }

    /// The record holding the payload of `uri`'s last capture with
    /// validators, in any run of this crawl: its target URI and WARC date.
    pub(crate) fn warc_capture(&self, uri: &str) -> rusqlite::Result<Option<(String, String)>> {
        let found: Option<(String, String, String)> = self
            .conn
            .prepare_cached("SELECT uri, target, date FROM warc_captures WHERE key = ?1")?
            .query_row(params![uri_key(uri)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        Ok(found
            .filter(|(u, _, _)| u == uri)
            .map(|(_, target, date)| (target, date)))
    }

    /// Records that `uri`'s payload is in the record of `target` at `date`
    /// (in the current batch's transaction, as
    /// [`add_warc_payload`](Self::add_warc_payload)).
    pub(crate) fn add_warc_capture(
        &mut self,
        uri: &str,
        target: &str,
        date: &str,
    ) -> rusqlite::Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO warc_captures (key, uri, target, date) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![uri_key(uri), uri, target, date])?;
        Ok(())
    }
}

/// The row key of a URI in `warc_captures` (a collision replaces the
/// other URI's row: [`Store::warc_capture`] checks the URI).
fn uri_key(uri: &str) -> i64 {
    use sha1::Digest;
    prefix(&sha1::Sha1::digest(uri.as_bytes()).into())
}

/// The index key of a payload digest: its first 8 bytes. Rows are
/// appended in the order written and only this narrow index is in
/// digest order (a table keyed by the whole digest dirtied many more
/// pages per commit: +0.6 s of system time per 100,000 pages).
fn prefix(digest: &[u8; 20]) -> i64 {
    let mut b = [0; 8];
    b.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(b)
}
