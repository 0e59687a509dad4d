//! The state store: a crawl's progress in SQLite, so it can resume.
//!
//! Owns: the state directory — `state.sqlite` (WAL mode): one row per
//! accepted URL (fingerprint, enqueue order, state, the request as JSON
//! while it is pending), a few progress counters and the output files'
//! committed lengths ([`OutputMark`]); `state.lock`, an advisory lock (with
//! the holder's pid) that keeps a second crawl out and that the kernel
//! drops when the process dies, taken on the directory itself too (so a
//! `state.lock` deleted as a stale pid file lets no second crawl in); `state.commits`, the number of commits
//! made, so a database that lost some (a deleted WAL, a truncated or older
//! file) is detected — and the operations on it: record a request as
//! queued in memory or spilled (only in the store), mark it done, hand
//! spilled ones back in enqueue order, load everything at start; and for
//! [`recrawl`](crate::recrawl) passes one row per page answered (its
//! request, validators, links and when it was fetched), and starting a
//! new pass from them; with `--warc`, the payload digest of every
//! response record written, in any run (for revisit records), and for
//! each page answered with validators the record that holds its payload
//! (for a later `304`'s revisit to point at); and the
//! crawl's cookies, one row per cookie identity (see
//! [`session`](crate::session)), loaded into the jars on resume; and the
//! keys item pipeline stages keep (see
//! [`Checkpoint`](crate::pipeline::Checkpoint)), one row per stage name
//! and per key, handed back to the stages on resume. It is
//! used from the writer thread only, in batched transactions that commit
//! after the output of the same batch is durable (see
//! [`checkpoint`](crate::checkpoint)). Must not: be touched from the loop
//! thread while the crawl runs, or start over on damage unless asked.
//!
//! The directory's lock is in `lock`, the index of WARC records in
//! `warc_index`; the rest is here.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

mod lock;
#[cfg(test)]
mod tests;
mod warc_index;

use lock::lock;

/// A request's state in the store.
const QUEUED: i64 = 0;
const SPILLED: i64 = 1;
const DONE: i64 = 2;

/// The layout of the tables; a store without it (empty, or from an older
/// solo-crawl) is not resumed.
const FORMAT: i64 = 2;

/// The files in the state directory.
const DB: &str = "state.sqlite";
const LOCK: &str = "state.lock";
/// The count of commits made, written after each one: a database that
/// holds fewer has lost some (its WAL deleted, the file truncated or
/// replaced by an older copy).
const COMMITS: &str = "state.commits";

/// A stored request: its key (`fp`, the fingerprint it was stored
/// under) and the request as JSON. The key comes with it because a
/// fingerprint computed now may differ from the stored one (a URL whose
/// canonical form changed between versions): the request's done mark
/// must find its row.
pub(crate) type StoredRequest = (u64, String);

/// What a store holds at start.
#[derive(Debug, Default)]
pub(crate) struct Restored {
    /// Fingerprints of every URL ever accepted.
    pub seen: Vec<u64>,
    /// Requests that were queued in memory (or in flight) at the stop, in
    /// enqueue order: each its key and JSON.
    pub queued: Vec<StoredRequest>,
    /// Requests waiting in the store only.
    pub spilled: u64,
    /// Pages done so far (records written: for the page budget; those
    /// that were in flight at the stop are queued again and count when
    /// they are done).
    pub pages_done: u64,
    /// Whether the store had any state (a resumed crawl).
    pub resumed: bool,
    /// The cookies of the jars: (key, state) as
    /// [`SharedCookie`](crate::session::SharedCookie) makes them.
    pub cookies: Vec<(String, String)>,
    /// The keys each item pipeline stage kept (see [`Store::stage_keys`]).
    pub stage_keys: Vec<Vec<u64>>,
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
    /// Pages done so far (kept under the meta key `dispatched`, which
    /// states of earlier versions also hold).
    PagesDone(u64),
    /// A page answered (2xx, or 304 to a recrawl): what the next pass
    /// needs to recrawl it.
    Page {
        fp: u64,
        /// The request, as JSON (without conditional headers).
        request: String,
        /// Its validators and links, as JSON.
        previous: String,
        /// When, in seconds since the Unix epoch.
        at: i64,
    },
    /// A cookie changed (`state: None`: it was deleted).
    Cookie {
        key: String,
        state: Option<CookieState>,
    },
    /// Keys item pipeline stages kept for a page's items: (the stage's
    /// index in [`Store::stage_keys`]'s names, key).
    Keys(Vec<(u32, u64)>),
}

/// A cookie's state (its value is a secret: `Debug` does not show it).
pub(crate) struct CookieState(pub(crate) String);

impl std::fmt::Debug for CookieState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How much of an output file the committed state accounts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OutputMark {
    /// The output's role (`pages`, `items`).
    pub stream: &'static str,
    /// The file (canonical path).
    pub path: PathBuf,
    /// Its length when the state was committed.
    pub len: u64,
    /// A hash of the bytes just before `len`, to recognise the file.
    pub tail: u64,
}

/// The SQLite state of a crawl.
pub(crate) struct Store {
    conn: Connection,
    in_tx: bool,
    dir: PathBuf,
    /// Commits made so far (mirrored in [`COMMITS`]).
    commits: u64,
    commits_file: File,
    /// The row ids of the item pipeline's stages, by index (see
    /// [`Store::stage_keys`]).
    stage_ids: Vec<i64>,
    /// Held for the store's life: one crawl per directory.
    _lock: (File, File),
}

fn key(fp: u64) -> i64 {
    fp as i64 // SQLite integers are signed: store the bits
}

/// A failure of the state store: a full sentence naming the file and what
/// to do, and the error beneath it (SQLite's or the OS's) as its
/// [`source`](std::error::Error::source).
#[derive(Debug)]
pub(crate) struct StateError {
    message: String,
    cause: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl StateError {
    /// `message`, caused by `cause`.
    pub(crate) fn caused_by(
        message: String,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> StateError {
        StateError {
            message,
            cause: Some(Box::new(cause)),
        }
    }
}

impl From<String> for StateError {
    fn from(message: String) -> StateError {
        StateError {
            message,
            cause: None,
        }
    }
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Some(e) => Some(&**e),
            None => None,
        }
    }
}

/// What a user is told to do about a damaged state.
const START_OVER: &str = "restore the state directory from a backup, or rerun with --state-reset to discard it and start the crawl over";

/// The tables of a state database. Created if missing, also in a
/// database of the current format made before a table was added.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS requests (
        id INTEGER PRIMARY KEY,
        fp INTEGER NOT NULL UNIQUE,
        state INTEGER NOT NULL,
        data TEXT
    );
    CREATE INDEX IF NOT EXISTS requests_state ON requests (state, id);
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS pages (
        fp INTEGER PRIMARY KEY,
        request TEXT NOT NULL,
        previous TEXT NOT NULL,
        fetched_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS outputs (
        stream TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        len INTEGER NOT NULL,
        tail INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS warc_payloads (
        id INTEGER PRIMARY KEY,
        prefix INTEGER NOT NULL,
        digest BLOB NOT NULL,
        uri TEXT NOT NULL,
        date TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS warc_payloads_prefix ON warc_payloads (prefix);
    CREATE TABLE IF NOT EXISTS warc_captures (
        key INTEGER PRIMARY KEY,
        uri TEXT NOT NULL,
        target TEXT NOT NULL,
        date TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS cookies (key TEXT PRIMARY KEY, state TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS stages (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE IF NOT EXISTS stage_keys (
        stage INTEGER NOT NULL,
        key INTEGER NOT NULL,
        PRIMARY KEY (stage, key)
    ) WITHOUT ROWID;
";

/// What a failed access to the state database says: the database, what
/// SQLite said and, when the disk refused (full, read-only, an I/O
/// error), what to do about it.
pub(crate) fn db_message(db: &Path, e: &rusqlite::Error) -> String {
    let mut msg = format!(
        "state database {}: {}",
        db.display(),
        crate::sink::sqlite_message(e)
    );
    if is_disk_error(e) {
        msg += "; check the disk holding it (free space, permissions), \
                then rerun the same command to resume";
    }
    msg
}

/// The disk, not the database, refused: full, read-only, an I/O error.
fn is_disk_error(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    matches!(
        e.sqlite_error_code(),
        Some(C::DiskFull | C::SystemIoFailure | C::ReadOnly | C::CannotOpen)
    )
}

/// Creates `path` readable by its owner only (0600), unless it exists
/// (a user's own choice of mode stays).
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        r => r.map(drop),
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`, locked for this process;
    /// `reset` discards what it held first. Errors are full sentences
    /// naming the file.
    pub(crate) fn open(dir: &Path, reset: bool) -> Result<Store, StateError> {
        // Private (0700, 0600): the store keeps pending requests with
        // their credentials and the jars' session cookies.
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
        }
        .map_err(|e| {
            let msg = format!("cannot create the state directory {}: {e}", dir.display());
            StateError::caused_by(msg, e)
        })?;
        let lock = lock(dir)?;
        let db_path = dir.join(DB);
        let commits_path = dir.join(COMMITS);
        if reset {
            for name in [DB, "state.sqlite-wal", "state.sqlite-shm", COMMITS] {
                match std::fs::remove_file(dir.join(name)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        let msg = format!(
                            "--state-reset: cannot remove {}: {e}",
                            dir.join(name).display()
                        );
                        return Err(StateError::caused_by(msg, e));
                    }
                    _ => {}
                }
            }
        }
        let io_err = |p: &Path, e: std::io::Error| {
            StateError::caused_by(format!("state file {}: {e}", p.display()), e)
        };
        let mut commits_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&commits_path)
            .map_err(|e| io_err(&commits_path, e))?;
        let mut text = String::new();
        commits_file
            .read_to_string(&mut text)
            .map_err(|e| io_err(&commits_path, e))?;
        let made: u64 = match text.trim() {
            "" => 0,
            t => t.parse().map_err(|e| {
                let msg = format!(
                    "state file {} is damaged (not a count: {t:?}); {START_OVER}",
                    commits_path.display()
                );
                StateError::caused_by(msg, e)
            })?,
        };
        let db_err = |e: rusqlite::Error| {
            let mut msg = db_message(&db_path, &e);
            if !is_disk_error(&e) {
                msg += "; this is not a state this solo-crawl can use: \
                        use another directory for --state, or rerun with --state-reset to discard it";
            }
            StateError::caused_by(msg, e)
        };
        // SQLite gives its -wal and -shm files the database file's mode.
        create_private(&db_path).map_err(|e| {
            let msg = format!(
                "cannot create the state database {}: {e}",
                db_path.display()
            );
            StateError::caused_by(msg, e)
        })?;
        let conn = Connection::open(&db_path).map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        // Each commit is durable before the count of commits moves on, so
        // even after an OS crash the database is never behind that count.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        let has_tables: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'requests'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(db_err)?
            > 0;
        // The tables and the format mark in one transaction: a crawl
        // killed while it sets up a new state leaves either nothing or a
        // whole, marked schema (each statement alone is its own commit).
        let mark = match has_tables {
            true => String::new(),
            false => format!("INSERT INTO meta (key, value) VALUES ('format', {FORMAT});"),
        };
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} {mark} COMMIT;"))
            .map_err(db_err)?;
        let meta = |k: &str| {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
            .map_err(db_err)
        };
        let format = meta("format")?;
        let commits = meta("commits")?.unwrap_or(0) as u64;
        // Tables but no mark, no commit and no request: a setup cut short
        // by an earlier version of solo-crawl, which made the tables one
        // commit at a time; nothing was stored, so it is a new state.
        let unmarked_empty = format.is_none()
            && commits == 0
            && conn
                .query_row("SELECT COUNT(*) FROM requests", [], |r| r.get::<_, i64>(0))
                .map_err(db_err)?
                == 0;
        if has_tables && format != Some(FORMAT) && !unmarked_empty {
            return Err(format!(
                "state database {} was written by another version of solo-crawl; {START_OVER}",
                db_path.display()
            )
            .into());
        }
        if commits < made {
            return Err(format!(
                "state database {} has lost progress: it holds {commits} commits, {} says {made} were made (its write-ahead log state.sqlite-wal was deleted, or the file was truncated or replaced by an older copy); {START_OVER}",
                db_path.display(),
                commits_path.display(),
            )
            .into());
        }
        if format.is_none() {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('format', ?1)",
                [FORMAT],
            )
            .map_err(db_err)?;
        }
        Ok(Store {
            conn,
            in_tx: false,
            dir: dir.to_owned(),
            commits,
            commits_file,
            stage_ids: Vec::new(),
            _lock: lock,
        })
    }

    /// The database file (for messages).
    pub(crate) fn db_path(&self) -> PathBuf {
        self.dir.join(DB)
    }

    /// Keeps the settings that give the crawl its meaning (`now`, name →
    /// value) with the state. A resumed crawl (`resumed`) whose stored
    /// settings differ is refused, with the differences, unless `force`
    /// (then `now` replaces them).
    pub(crate) fn keep_settings(
        &self,
        resumed: bool,
        now: &std::collections::BTreeMap<String, String>,
        force: bool,
    ) -> Result<(), StateError> {
        let db_err = |e: rusqlite::Error| StateError::caused_by(db_message(&self.db_path(), &e), e);
        let mut st = self
            .conn
            .prepare("SELECT key, value FROM settings")
            .map_err(db_err)?;
        let stored = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<std::collections::BTreeMap<_, _>>>())
            .map_err(db_err)?;
        if resumed && !stored.is_empty() && !force {
            let diffs = crate::settings::differences(&stored, now);
            if !diffs.is_empty() {
                return Err(format!(
                    "the crawl kept in {} was started with other settings, and resuming it with \
                     these would change what it crawls:\n  {}\nrerun with the stored settings, \
                     add --force to resume with the new ones, or use --state-reset (or another \
                     --state directory) to start over",
                    self.dir.display(),
                    diffs.join("\n  ")
                )
                .into());
            }
        }
        if stored != *now {
            let tx = self.conn.unchecked_transaction().map_err(db_err)?;
            tx.execute("DELETE FROM settings", []).map_err(db_err)?;
            for (k, v) in now {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )
                .map_err(db_err)?;
            }
            tx.commit().map_err(db_err)?;
        }
        Ok(())
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
            .prepare("SELECT fp, data FROM requests WHERE state = ?1 ORDER BY id")?;
        r.queued = st
            .query_map([QUEUED], |row| {
                Ok((row.get::<_, i64>(0)? as u64, row.get::<_, String>(1)?))
            })?
            .collect::<Result<_, _>>()?;
        r.spilled = self.conn.query_row(
            "SELECT COUNT(*) FROM requests WHERE state = ?1",
            [SPILLED],
            |row| row.get::<_, i64>(0),
        )? as u64;
        r.pages_done = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'dispatched'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0) as u64;
        let mut st = self.conn.prepare("SELECT key, state FROM cookies")?;
        r.cookies = st
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
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
            Op::Page {
                fp,
                request,
                previous,
                at,
            } => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO pages (fp, request, previous, fetched_at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (fp) DO UPDATE SET request = excluded.request,
                         previous = excluded.previous, fetched_at = excluded.fetched_at",
                    )?
                    .execute(params![key(*fp), request, previous, at])?;
            }
            Op::PagesDone(n) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO meta (key, value) VALUES ('dispatched', ?1)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    )?
                    .execute([*n as i64])?;
            }
            Op::Cookie {
                key,
                state: Some(state),
            } => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO cookies (key, state) VALUES (?1, ?2)
                         ON CONFLICT (key) DO UPDATE SET state = excluded.state",
                    )?
                    .execute(params![key, state.0])?;
            }
            Op::Cookie { key, state: None } => {
                self.conn
                    .prepare_cached("DELETE FROM cookies WHERE key = ?1")?
                    .execute([key])?;
            }
            Op::Keys(keys) => {
                let mut st = self.conn.prepare_cached(
                    "INSERT OR IGNORE INTO stage_keys (stage, key) VALUES (?1, ?2)",
                )?;
                for (stage, k) in keys {
                    // Every index comes from the stages named at start.
                    if let Some(id) = self.stage_ids.get(*stage as usize) {
                        st.execute(params![id, key(*k)])?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The item pipeline's stages, by the names their keys are kept
    /// under (new ones are added): the keys each kept, in the order of
    /// `names`. [`Op::Keys`] then takes the stages by their index here.
    pub(crate) fn stage_keys(&mut self, names: &[String]) -> rusqlite::Result<Vec<Vec<u64>>> {
        let tx = self.conn.unchecked_transaction()?;
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            tx.execute("INSERT OR IGNORE INTO stages (name) VALUES (?1)", [name])?;
            let id: i64 = tx.query_row("SELECT id FROM stages WHERE name = ?1", [name], |r| {
                r.get(0)
            })?;
            ids.push(id);
        }
        tx.commit()?;
        let mut st = self
            .conn
            .prepare("SELECT key FROM stage_keys WHERE stage = ?1")?;
        let kept = ids
            .iter()
            .map(|id| {
                st.query_map([id], |r| r.get::<_, i64>(0).map(|k| k as u64))?
                    .collect()
            })
            .collect::<rusqlite::Result<_>>()?;
        self.stage_ids = ids;
        Ok(kept)
    }

    /// Records how much of an output file this batch accounts for.
    pub(crate) fn set_output(&mut self, m: &OutputMark) -> rusqlite::Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached(
                "INSERT INTO outputs (stream, path, len, tail) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (stream) DO UPDATE
                 SET path = excluded.path, len = excluded.len, tail = excluded.tail",
            )?
            .execute(params![
                m.stream,
                m.path.to_string_lossy(),
                m.len as i64,
                key(m.tail)
            ])?;
        Ok(())
    }

    /// The committed mark of an output stream, if any.
    pub(crate) fn output(&self, stream: &'static str) -> rusqlite::Result<Option<OutputMark>> {
        self.conn
            .query_row(
                "SELECT path, len, tail FROM outputs WHERE stream = ?1",
                [stream],
                |r| {
                    Ok(OutputMark {
                        stream,
                        path: PathBuf::from(r.get::<_, String>(0)?),
                        len: r.get::<_, i64>(1)? as u64,
                        tail: r.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .optional()
    }

    /// Forgets an output stream's mark (its target is not a regular file
    /// any more).
    pub(crate) fn clear_output(&mut self, stream: &'static str) -> rusqlite::Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached("DELETE FROM outputs WHERE stream = ?1")?
            .execute([stream])?;
        Ok(())
    }

    /// Commits the batch, then counts it in the commits file.
    pub(crate) fn commit(&mut self) -> rusqlite::Result<()> {
        if self.in_tx {
            let n = self.commits + 1;
            self.conn
                .prepare_cached(
                    "INSERT INTO meta (key, value) VALUES ('commits', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )?
                .execute([n as i64])?;
            self.conn.execute_batch("COMMIT")?;
            self.in_tx = false;
            self.commits = n;
            // Fixed width: one write replaces the old count in place.
            let text = format!("{n:020}\n");
            self.commits_file
                .write_all_at(text.as_bytes(), 0)
                .map_err(|e| {
                    rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::new(
                        e.kind(),
                        format!("{}: {e}", self.dir.join(COMMITS).display()),
                    )))
                })?;
        }
        Ok(())
    }

    /// Starts a recrawl pass: forgets the requests of the last one (the
    /// seen set, the page count, the keys stages kept) but for the known pages fetched since
    /// `fetched_before` (seconds since the epoch), which stay seen (not
    /// requested, even when linked), and queues the other known pages,
    /// oldest first, as spilled requests (their request JSON with
    /// `previous` in it; see [`recrawl`](crate::recrawl)): they come
    /// back to memory in batches as the frontier drains, so a pass over
    /// any number of pages holds a bounded part of them. All in SQL, one
    /// transaction; the number of pages queued. With `archiving` (the
    /// pass writes WARC files), a page with no capture in this crawl's
    /// WARC files (none then, or cut short) is queued without its
    /// validators: it is fetched whole, for a `304` would have nothing
    /// to refer to.
    pub(crate) fn start_pass(
        &mut self,
        fetched_before: i64,
        archiving: bool,
    ) -> rusqlite::Result<u64> {
        self.begin()?;
        // The stages' keys were the last pass's (its items): a new pass
        // writes its items again.
        self.conn.execute_batch(
            "DELETE FROM requests; DELETE FROM meta WHERE key = 'dispatched';
             DELETE FROM stage_keys;",
        )?;
        self.conn.execute(
            "INSERT INTO requests (fp, state) SELECT fp, ?2 FROM pages WHERE fetched_at >= ?1",
            params![fetched_before, DONE],
        )?;
        let queued = self.conn.execute(
            "INSERT INTO requests (fp, state, data)
             SELECT fp, ?2, json_set(request, '$.previous', json(previous), '$.retries', 0)
             FROM pages WHERE fetched_at < ?1 ORDER BY fetched_at, fp",
            params![fetched_before, SPILLED],
        )?;
        if archiving {
            self.conn.execute(
                "UPDATE requests SET data = json_remove(data, '$.previous.etag', '$.previous.last_modified')
                 WHERE state = ?1 AND json_extract(data, '$.url') NOT IN (SELECT uri FROM warc_captures)",
                [SPILLED],
            )?;
        }
        self.commit()?;
        Ok(queued as u64)
    }

    /// Takes up to `n` spilled requests back into memory (oldest first).
    pub(crate) fn unspill(&mut self, n: usize) -> rusqlite::Result<Vec<StoredRequest>> {
        self.commit()?;
        let tx = self.conn.transaction()?;
        let rows: Vec<(i64, i64, String)> = {
            let mut st = tx.prepare_cached(
                "SELECT id, fp, data FROM requests WHERE state = ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = st
                .query_map(params![SPILLED, n as i64], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            rows
        };
        {
            let mut up = tx.prepare_cached("UPDATE requests SET state = ?2 WHERE id = ?1")?;
            for (id, _, _) in &rows {
                up.execute(params![id, QUEUED])?;
            }
        }
        tx.commit()?;
        Ok(rows.into_iter().map(|(_, fp, d)| (fp as u64, d)).collect())
    }
}
