//! The state store: a crawl's progress in SQLite, so it can resume.
//!
//! Owns: the database in `--state DIR` (`state.sqlite`, WAL mode) — one
//! row per accepted URL (fingerprint, enqueue order, state, the request as
//! JSON while it is pending) and a few progress counters — and the
//! operations on it: record a request as queued in memory or spilled (only
//! in the store), mark it done, hand spilled ones back in enqueue order,
//! load everything at start. It is used from the writer thread only, in
//! batched transactions that commit after the output of the same batch is
//! flushed: a page is marked done only once its record is written, so a
//! crash (SIGKILL) can at worst fetch again the pages it had in flight.
//! Must not: be touched from the loop thread while the crawl runs.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

/// A request's state in the store.
const QUEUED: i64 = 0;
const SPILLED: i64 = 1;
const DONE: i64 = 2;

/// What a store holds at start.
#[derive(Debug, Default)]
pub(crate) struct Restored {
    /// Fingerprints of every URL ever accepted.
    pub seen: Vec<u64>,
    /// Requests that were queued in memory (or in flight) at the stop, in
    /// enqueue order, as JSON.
    pub queued: Vec<String>,
    /// Requests waiting in the store only.
    pub spilled: u64,
    /// Pages started so far (for the page budget).
    pub dispatched: u64,
    /// Whether the store had any state (a resumed crawl).
    pub resumed: bool,
}

/// One change to the store.
#[derive(Debug)]
pub(crate) enum Op {
    /// A request was accepted: kept in memory, or spilled to the store.
    Enqueue {
        fp: u64,
        data: String,
        spilled: bool,
    },
    /// A request is finished (written out, or dropped for good).
    Done { fp: u64 },
    /// Pages started so far.
    Dispatched(u64),
}

/// The SQLite state of a crawl.
pub(crate) struct Store {
    conn: Connection,
    in_tx: bool,
}

fn key(fp: u64) -> i64 {
    fp as i64 // SQLite integers are signed: store the bits
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub(crate) fn open(dir: &Path) -> rusqlite::Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| {
            rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::new(
                e.kind(),
                format!("cannot create {}: {e}", dir.display()),
            )))
        })?;
        let conn = Connection::open(dir.join("state.sqlite"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Commits survive the process being killed; an OS crash may lose
        // the last ones (then those pages are fetched again).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS requests (
                 id INTEGER PRIMARY KEY,
                 fp INTEGER NOT NULL UNIQUE,
                 state INTEGER NOT NULL,
                 data TEXT
             );
             CREATE INDEX IF NOT EXISTS requests_state ON requests (state, id);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
        )?;
        Ok(Store { conn, in_tx: false })
    }

    /// Everything needed to resume. Requests spilled before stay in the
    /// store; the ones in memory at the stop come back to memory.
    pub(crate) fn load(&self) -> rusqlite::Result<Restored> {
        let mut r = Restored::default();
        let mut st = self.conn.prepare("SELECT fp FROM requests")?;
        r.seen = st
            .query_map([], |row| row.get::<_, i64>(0))?
            .map(|fp| fp.map(|fp| fp as u64))
            .collect::<Result<_, _>>()?;
        let mut st = self
            .conn
            .prepare("SELECT data FROM requests WHERE state = ?1 ORDER BY id")?;
        r.queued = st
            .query_map([QUEUED], |row| row.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        r.spilled = self.conn.query_row(
            "SELECT COUNT(*) FROM requests WHERE state = ?1",
            [SPILLED],
            |row| row.get::<_, i64>(0),
        )? as u64;
        r.dispatched = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'dispatched'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0) as u64;
        r.resumed = !r.seen.is_empty();
        Ok(r)
    }

    fn begin(&mut self) -> rusqlite::Result<()> {
        if !self.in_tx {
            self.conn.execute_batch("BEGIN")?;
            self.in_tx = true;
        }
        Ok(())
    }

    /// Applies one change (inside the current batch's transaction).
    pub(crate) fn apply(&mut self, op: &Op) -> rusqlite::Result<()> {
        self.begin()?;
        match op {
            Op::Enqueue { fp, data, spilled } => {
                self.conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO requests (fp, state, data) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![
                        key(*fp),
                        if *spilled { SPILLED } else { QUEUED },
                        data
                    ])?;
            }
            Op::Done { fp } => {
                self.conn
                    .prepare_cached("UPDATE requests SET state = ?2, data = NULL WHERE fp = ?1")?
                    .execute(params![key(*fp), DONE])?;
            }
            Op::Dispatched(n) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO meta (key, value) VALUES ('dispatched', ?1)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    )?
                    .execute([*n as i64])?;
            }
        }
        Ok(())
    }

    /// Commits the batch.
    pub(crate) fn commit(&mut self) -> rusqlite::Result<()> {
        if self.in_tx {
            self.conn.execute_batch("COMMIT")?;
            self.in_tx = false;
        }
        Ok(())
    }

    /// Takes up to `n` spilled requests back into memory (oldest first).
    pub(crate) fn unspill(&mut self, n: usize) -> rusqlite::Result<Vec<String>> {
        self.commit()?;
        let tx = self.conn.transaction()?;
        let rows: Vec<(i64, String)> = {
            let mut st = tx.prepare_cached(
                "SELECT id, data FROM requests WHERE state = ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = st
                .query_map(params![SPILLED, n as i64], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect::<Result<_, _>>()?;
            rows
        };
        {
            let mut up = tx.prepare_cached("UPDATE requests SET state = ?2 WHERE id = ?1")?;
            for (id, _) in &rows {
                up.execute(params![id, QUEUED])?;
            }
        }
        tx.commit()?;
        Ok(rows.into_iter().map(|(_, d)| d).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("solo-crawl-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let mut s = Store::open(&dir).unwrap();
            assert!(!s.load().unwrap().resumed);
            for (fp, spilled) in [(1u64, false), (u64::MAX, false), (3, true), (4, true)] {
                let data = format!("r{fp}");
                s.apply(&Op::Enqueue { fp, data, spilled }).unwrap();
            }
            s.apply(&Op::Done { fp: 1 }).unwrap();
            s.apply(&Op::Dispatched(7)).unwrap();
            s.commit().unwrap();
            assert_eq!(s.unspill(1).unwrap(), ["r3"]);
            s.apply(&Op::Done { fp: 2 }).unwrap(); // not there: a no-op
                                                   // Uncommitted work is lost with the process.
            s.apply(&Op::Done { fp: u64::MAX }).unwrap();
        }
        let s = Store::open(&dir).unwrap();
        let r = s.load().unwrap();
        assert!(r.resumed);
        let mut seen = r.seen.clone();
        seen.sort();
        assert_eq!(seen, [1, 3, 4, u64::MAX]);
        assert_eq!(r.queued, [format!("r{}", u64::MAX), "r3".into()]);
        assert_eq!(r.spilled, 1);
        assert_eq!(r.dispatched, 7);
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
