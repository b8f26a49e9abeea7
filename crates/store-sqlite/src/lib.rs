//! The embedded SQLite store (default backend).
//!
//! One writer connection behind a mutex (SQLite has one writer anyway), a small pool of reader
//! connections (WAL lets them read while the writer writes). Every capture document is one
//! transaction; with `journal_mode=WAL` and `synchronous=FULL` a returned capture is durable.
//! The SQL is kept to what PostgreSQL (and Citus) runs too: see `schema.rs`.
//!
//! Capture path (per document):
//! 1. outside the lock: compress the bodies with zstd (on all cores; with a dictionary trained on
//!    the first capture of at least 500 events), compute the 64-bit exactly-once keys;
//! 2. under the writer lock, in one `BEGIN IMMEDIATE` transaction: per event, check the keys
//!    (this capture's keys in memory, earlier ones in `event_keys`), intern identifiers and
//!    vocabulary (in-memory caches in front of the tables), append the `events` row;
//! 3. then write the index rows (`event_ids`, `event_links`) and the keys sorted by key, so each
//!    B-tree page is touched once per capture, not once per row; commit.
//!
//! On any error the transaction rolls back and the caches are dropped (they may hold ids that were
//! never committed); a failed job is recorded in its own transaction.

mod capture;
mod codec;
mod read;
mod schema;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use store::{
    ApiKey, CaptureJob, Cursor, EventPage, Limits, NewCapture, NewRecord, OrgId, Record, Role,
    Scope, Store, StoreError, StoredEvent, Vocabulary,
};

pub use codec::key64;

/// The database file inside the data directory.
pub const DB_FILE: &str = "zhiliang.db";
/// Reader connections kept open.
pub const READERS_MAX: usize = 4;
/// Interned identifiers cached in memory by the writer before the cache is reset.
const ID_CACHE_MAX: usize = 1_000_000;

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The durability settings of the writer connection, as SQLite reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// `PRAGMA journal_mode` ("wal").
    pub journal_mode: String,
    /// `PRAGMA synchronous` (2 = FULL).
    pub synchronous: i64,
}

/// The writer's connection and its in-memory caches of interned values. The caches are cleared
/// whenever a transaction rolls back (they may hold ids that were never committed).
pub(crate) struct Writer {
    pub conn: Connection,
    pub ids: HashMap<String, i64>,
    /// The next interned identifier number (mirrors `meta.next_id` once committed).
    pub next_id: i64,
    /// Per vocabulary kind: value -> id.
    pub vocab: Vec<HashMap<String, i64>>,
    pub orgs: HashMap<String, i64>,
    pub owner_vocab: std::collections::HashSet<(i64, i64, i64)>,
}

impl Writer {
    /// Forget everything cached (after a rollback) and re-read the id counter.
    pub fn clear_caches(&mut self) -> rusqlite::Result<()> {
        self.ids.clear();
        self.vocab.iter_mut().for_each(HashMap::clear);
        self.orgs.clear();
        self.owner_vocab.clear();
        self.next_id = read_next_id(&self.conn)?;
        Ok(())
    }
}

pub(crate) fn read_next_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT value FROM meta WHERE key = 'next_id'", [], |r| {
        r.get(0)
    })
    .optional()
    .map(|v| v.unwrap_or(1))
}

struct Pool {
    idle: Mutex<Vec<Connection>>,
    ready: Condvar,
    /// Reader connections opened (idle or in use).
    opened: AtomicUsize,
}

/// The embedded store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    path: PathBuf,
    limits: Limits,
    writer: Mutex<Writer>,
    pool: Pool,
    /// Dictionaries by id (loaded lazily for reading); the newest is used for writing.
    dicts: RwLock<HashMap<i64, Arc<codec::Dict>>>,
    current_dict: RwLock<Option<Arc<codec::Dict>>>,
    /// Wakes the checkpointer after a commit (see [`Checkpointer`]).
    checkpointer: Checkpointer,
}

/// WAL pages (8 KiB) after which the writer checkpoints by itself, inside its commit: a safety
/// valve for when the background checkpointer cannot finish (it never can while commits keep
/// arriving back to back, and then the WAL is never restarted from its beginning).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 32_768;
/// Bytes the WAL file is truncated to when it is restarted (it otherwise keeps its largest size).
const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// Copies the WAL into the database file on its own thread and connection, so that the writer's
/// next transaction overlaps the checkpoint's I/O instead of waiting for it inside `COMMIT`.
/// A `PASSIVE` checkpoint never blocks the writer or the readers; it copies what no reader still
/// needs, and the writer restarts the WAL from its beginning once everything has been copied.
/// The thread ends when the store is dropped.
struct Checkpointer {
    /// None when the thread could not be started (the writer's own checkpoints still run).
    wake: Option<std::sync::mpsc::SyncSender<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Checkpointer {
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let path = path.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("zl-sqlite-checkpoint".into())
            .spawn(move || {
                let Ok(conn) = open_conn(&path, false) else {
                    return;
                };
                // Nothing else to wait for: a message per commit, until the sender is dropped.
                while rx.recv().is_ok() {
                    let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
                }
                let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
            });
        Checkpointer {
            wake: spawned.ok().map(|_| tx),
        }
    }

    /// Ask for a checkpoint soon (at most one is queued; a full queue means one is coming).
    fn poke(&self) {
        if let Some(tx) = &self.wake {
            let _ = tx.try_send(());
        }
    }
}

fn open_conn(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.set_prepared_statement_cache_capacity(64);
    if read_only {
        conn.execute_batch(
            "PRAGMA cache_size = -65536; PRAGMA mmap_size = 1073741824; PRAGMA query_only = ON;",
        )?;
    } else {
        conn.execute_batch(
            "PRAGMA page_size = 8192;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA cache_size = -524288;
             PRAGMA mmap_size = 4294967296;
             PRAGMA temp_store = MEMORY;
             PRAGMA foreign_keys = OFF;",
        )?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)?;
    }
    Ok(conn)
}

impl SqliteStore {
    /// Open (or create) the store in `dir` (created if missing).
    pub fn open(dir: &Path, limits: Limits) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(DB_FILE);
        let conn = open_conn(&path, false).map_err(backend)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(backend)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(backend(format!(
                "cannot switch {} to WAL (journal_mode is {mode})",
                path.display()
            )));
        }
        conn.execute_batch(schema::DDL).map_err(backend)?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1) ON CONFLICT (key) DO NOTHING",
            params![schema::SCHEMA_VERSION],
        )
        .map_err(backend)?;
        let version: i64 = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .map_err(backend)?;
        if version != schema::SCHEMA_VERSION {
            return Err(backend(format!(
                "{} has schema version {version}; this build knows version {}",
                path.display(),
                schema::SCHEMA_VERSION
            )));
        }
        let newest: Option<(i64, Vec<u8>)> = conn
            .query_row(
                "SELECT id, bytes FROM dicts ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(backend)?;
        let next_id = read_next_id(&conn).map_err(backend)?;
        let mut dicts = HashMap::new();
        let current = newest.map(|(id, bytes)| {
            let d = codec::Dict::new(id, &bytes);
            dicts.insert(id, d.clone());
            d
        });
        let checkpointer = Checkpointer::start(&path);
        Ok(SqliteStore {
            path,
            limits,
            writer: Mutex::new(Writer {
                conn,
                ids: HashMap::new(),
                next_id,
                vocab: vec![HashMap::new(); schema::VOCAB_KINDS],
                orgs: HashMap::new(),
                owner_vocab: Default::default(),
            }),
            pool: Pool {
                idle: Mutex::new(Vec::new()),
                ready: Condvar::new(),
                opened: AtomicUsize::new(0),
            },
            dicts: RwLock::new(dicts),
            current_dict: RwLock::new(current),
            checkpointer,
        })
    }

    /// The path of the database file.
    pub fn db_path(&self) -> &Path {
        &self.path
    }

    /// Bytes on disk: the database file plus its WAL.
    pub fn size_on_disk(&self) -> u64 {
        let mut n = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        n += std::fs::metadata(PathBuf::from(wal))
            .map(|m| m.len())
            .unwrap_or(0);
        n
    }

    /// Copy the WAL into the database file and truncate it (for size measurements and backups).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let w = self
            .writer
            .lock()
            .map_err(|_| backend("writer lock poisoned"))?;
        // The background checkpointer may hold the checkpoint lock for a moment: then SQLite
        // reports busy (first column 1) instead of waiting; try again until it is done.
        for _ in 0..1_000 {
            let busy: i64 = w
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                .map_err(backend)?;
            if busy == 0 {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Err(backend("the WAL could not be checkpointed: busy for 10 s"))
    }

    /// The writer connection's journal mode and synchronous level, read back from SQLite.
    pub fn durability(&self) -> Result<Durability, StoreError> {
        let w = self
            .writer
            .lock()
            .map_err(|_| backend("writer lock poisoned"))?;
        let journal_mode: String = w
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(backend)?;
        let synchronous: i64 = w
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .map_err(backend)?;
        Ok(Durability {
            journal_mode,
            synchronous,
        })
    }

    /// Sum of the raw (uncompressed) body sizes of all stored events.
    pub fn raw_body_bytes(&self) -> Result<u64, StoreError> {
        self.with_reader(|c| {
            let n: i64 = c.query_row("SELECT COALESCE(SUM(raw_len), 0) FROM events", [], |r| {
                r.get(0)
            })?;
            Ok(n as u64)
        })
    }

    pub(crate) fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, StoreError> {
        self.with_reader_s(|c| f(c).map_err(backend))
    }

    pub(crate) fn with_reader_s<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = {
            let mut idle = self
                .pool
                .idle
                .lock()
                .map_err(|_| backend("pool lock poisoned"))?;
            loop {
                if let Some(c) = idle.pop() {
                    break Some(c);
                }
                // Connections in use = opened - idle; open a new one while under the cap.
                if self.pool.opened.load(Ordering::SeqCst) < READERS_MAX {
                    self.pool.opened.fetch_add(1, Ordering::SeqCst);
                    break None;
                }
                idle = self
                    .pool
                    .ready
                    .wait(idle)
                    .map_err(|_| backend("pool lock poisoned"))?;
            }
        };
        let conn = match conn {
            Some(c) => c,
            None => match open_conn(&self.path, true) {
                Ok(c) => c,
                Err(e) => {
                    self.pool.opened.fetch_sub(1, Ordering::SeqCst);
                    self.pool.ready.notify_one();
                    return Err(backend(e));
                }
            },
        };
        // Give the connection back even if `f` panics (a lost connection would shrink the pool).
        struct Return<'p> {
            pool: &'p Pool,
            conn: Option<Connection>,
        }
        impl Drop for Return<'_> {
            fn drop(&mut self) {
                match (self.conn.take(), self.pool.idle.lock()) {
                    (Some(c), Ok(mut idle)) => idle.push(c),
                    _ => {
                        self.pool.opened.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                self.pool.ready.notify_one();
            }
        }
        let guard = Return {
            pool: &self.pool,
            conn: Some(conn),
        };
        f(guard.conn.as_ref().expect("connection present"))
    }

    pub(crate) fn dict(
        &self,
        id: i64,
        conn: &Connection,
    ) -> Result<Option<Arc<codec::Dict>>, StoreError> {
        if id == 0 {
            return Ok(None);
        }
        if let Some(d) = self
            .dicts
            .read()
            .map_err(|_| backend("dict lock poisoned"))?
            .get(&id)
        {
            return Ok(Some(d.clone()));
        }
        let bytes: Vec<u8> = conn
            .query_row("SELECT bytes FROM dicts WHERE id = ?1", [id], |r| r.get(0))
            .map_err(backend)?;
        let d = codec::Dict::new(id, &bytes);
        self.dicts
            .write()
            .map_err(|_| backend("dict lock poisoned"))?
            .insert(id, d.clone());
        Ok(Some(d))
    }

    fn org_id_read(conn: &Connection, org: &OrgId) -> rusqlite::Result<Option<i64>> {
        conn.prepare_cached("SELECT id FROM orgs WHERE name = ?1")?
            .query_row([org.as_str()], |r| r.get(0))
            .optional()
    }

    /// The owner ids a scope sees: None = all, Some(empty) = none.
    pub(crate) fn scope_owners(
        conn: &Connection,
        scope: &Scope,
    ) -> rusqlite::Result<Option<Vec<i64>>> {
        match scope {
            Scope::All => Ok(None),
            Scope::Public => Ok(Some(Vec::new())),
            Scope::Orgs(orgs) => {
                let mut out = Vec::with_capacity(orgs.len());
                for o in orgs {
                    if let Some(id) = Self::org_id_read(conn, o)? {
                        out.push(id);
                    }
                }
                Ok(Some(out))
            }
        }
    }
}

fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaptureJob> {
    let owner: String = r.get("owner_name")?;
    let errors: String = r.get("errors")?;
    let success: i64 = r.get("success")?;
    Ok(CaptureJob {
        id: r.get("id")?,
        owner: OrgId::parse(&owner).map_err(rusqlite::Error::InvalidColumnName)?,
        created_ms: r.get("created_ms")?,
        finished_ms: r.get("finished_ms")?,
        status: if success != 0 {
            store::JobStatus::Success
        } else {
            store::JobStatus::Failure
        },
        stored: r.get::<_, i64>("stored")? as u64,
        duplicates: r.get::<_, i64>("duplicates")? as u64,
        errors: serde_json::from_str(&errors).unwrap_or_default(),
    })
}

const JOB_COLS: &str = "j.jid, j.id, o.name AS owner_name, j.created_ms, j.finished_ms, j.success, j.stored, \
                        j.duplicates, j.errors";

fn owner_filter(col: &str, owners: &Option<Vec<i64>>) -> String {
    match owners {
        None => String::new(),
        Some(v) if v.is_empty() => " AND FALSE".to_string(),
        Some(v) => {
            let list: Vec<String> = v.iter().map(|i| i.to_string()).collect();
            format!(" AND {col} IN ({})", list.join(","))
        }
    }
}

fn key_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    let org: String = r.get(2)?;
    let role: String = r.get(3)?;
    Ok(ApiKey {
        key_id: r.get(0)?,
        hash_hex: r.get(1)?,
        org: OrgId::parse(&org).map_err(rusqlite::Error::InvalidColumnName)?,
        role: Role::parse(&role).map_err(rusqlite::Error::InvalidColumnName)?,
        created_ms: r.get(4)?,
        revoked: r.get::<_, i64>(5)? != 0,
    })
}

fn record_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    let owner: Option<String> = r.get(2)?;
    let body: String = r.get(5)?;
    Ok(Record {
        collection: r.get(0)?,
        id: r.get(1)?,
        owner: owner
            .map(|o| OrgId::parse(&o))
            .transpose()
            .map_err(rusqlite::Error::InvalidColumnName)?,
        version: r.get::<_, i64>(3)? as u64,
        updated_ms: r.get(4)?,
        body: serde_json::from_str(&body)
            .map_err(|e| rusqlite::Error::InvalidColumnName(e.to_string()))?,
    })
}

fn record_owner_filter(scope: &Scope) -> (String, Vec<String>) {
    match scope {
        Scope::All => (String::new(), Vec::new()),
        Scope::Public => (" AND owner IS NULL".into(), Vec::new()),
        Scope::Orgs(orgs) => {
            let ph: Vec<String> = (0..orgs.len()).map(|i| format!("?{}", i + 10)).collect();
            let cond = if orgs.is_empty() {
                " AND owner IS NULL".to_string()
            } else {
                format!(" AND (owner IS NULL OR owner IN ({}))", ph.join(","))
            };
            (cond, orgs.iter().map(|o| o.as_str().to_string()).collect())
        }
    }
}

/// Longest record collection name or id.
const RECORD_KEY_LEN_MAX: usize = 256;
/// Largest record body (bytes of JSON).
const RECORD_BODY_MAX: usize = 4 * 1024 * 1024;

impl Store for SqliteStore {
    fn capture(&self, capture: NewCapture) -> Result<CaptureJob, StoreError> {
        let job = capture::capture(self, capture)?;
        self.checkpointer.poke();
        Ok(job)
    }

    fn capture_job(&self, scope: &Scope, id: &str) -> Result<Option<CaptureJob>, StoreError> {
        self.with_reader(|c| {
            let owners = Self::scope_owners(c, scope)?;
            let sql = format!(
                "SELECT {JOB_COLS} FROM jobs j JOIN orgs o ON o.id = j.owner WHERE j.id = ?1{}",
                owner_filter("j.owner", &owners)
            );
            c.prepare_cached(&sql)?
                .query_row([id], job_from_row)
                .optional()
        })
    }

    fn capture_jobs(
        &self,
        scope: &Scope,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CaptureJob>, StoreError> {
        let limit = self.limits.page(limit) as i64;
        self.with_reader_s(|c| {
            let owners = Self::scope_owners(c, scope).map_err(backend)?;
            let filter = owner_filter("j.owner", &owners);
            let before_jid: Option<i64> = match before {
                None => None,
                Some(b) => {
                    let sql = format!("SELECT j.jid FROM jobs j WHERE j.id = ?1{filter}");
                    let jid = c.prepare_cached(&sql).and_then(|mut s| s.query_row([b], |r| r.get(0)).optional());
                    match jid.map_err(backend)? {
                        Some(j) => Some(j),
                        None => return Err(StoreError::InvalidCursor),
                    }
                }
            };
            let sql = format!(
                "SELECT {JOB_COLS} FROM jobs j JOIN orgs o ON o.id = j.owner WHERE j.jid < ?1{filter} \
                 ORDER BY j.jid DESC LIMIT ?2"
            );
            let mut st = c.prepare_cached(&sql).map_err(backend)?;
            let rows = st.query_map(params![before_jid.unwrap_or(i64::MAX), limit], job_from_row).map_err(backend)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend)
        })
    }

    fn query_events(
        &self,
        scope: &Scope,
        query: &epcis::query::EventQuery,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<EventPage, StoreError> {
        read::query_events(self, scope, query, after, self.limits.page(limit))
    }

    fn distinct_values(
        &self,
        scope: &Scope,
        vocabulary: Vocabulary,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        read::distinct_values(self, scope, vocabulary, after, self.limits.page(limit))
    }

    fn events_touching(
        &self,
        scope: &Scope,
        ids: &[String],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.limits.check_frontier(ids.len())?;
        read::events_touching(self, scope, ids)
    }

    fn count_events(&self, scope: &Scope) -> Result<u64, StoreError> {
        self.with_reader(|c| {
            let owners = Self::scope_owners(c, scope)?;
            let sql = format!(
                "SELECT COALESCE(SUM(n), 0) FROM owner_counts WHERE TRUE{}",
                owner_filter("owner", &owners)
            );
            let n: i64 = c.prepare_cached(&sql)?.query_row([], |r| r.get(0))?;
            Ok(n as u64)
        })
    }

    fn put_key(&self, key: ApiKey) -> Result<(), StoreError> {
        let w = self
            .writer
            .lock()
            .map_err(|_| backend("writer lock poisoned"))?;
        w.conn
            .prepare_cached(
                "INSERT INTO api_keys (key_id, hash_hex, org, role, created_ms, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (key_id) DO UPDATE SET hash_hex = excluded.hash_hex, org = excluded.org, \
                 role = excluded.role, created_ms = excluded.created_ms, revoked = excluded.revoked",
            )
            .and_then(|mut s| {
                s.execute(params![
                    key.key_id,
                    key.hash_hex,
                    key.org.as_str(),
                    key.role.as_str(),
                    key.created_ms,
                    key.revoked as i64
                ])
            })
            .map(|_| ())
            .map_err(backend)
    }

    fn key_by_hash(&self, hash_hex: &str) -> Result<Option<ApiKey>, StoreError> {
        self.with_reader(|c| {
            c.prepare_cached(
                "SELECT key_id, hash_hex, org, role, created_ms, revoked FROM api_keys WHERE hash_hex = ?1",
            )?
            .query_row([hash_hex], key_from_row)
            .optional()
        })
    }

    fn count_keys(&self) -> Result<u64, StoreError> {
        self.with_reader(|c| {
            c.query_row("SELECT count(*) FROM api_keys", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
        })
    }

    fn revoke_key(&self, key_id: &str) -> Result<bool, StoreError> {
        let w = self
            .writer
            .lock()
            .map_err(|_| backend("writer lock poisoned"))?;
        let n = w
            .conn
            .execute(
                "UPDATE api_keys SET revoked = 1 WHERE key_id = ?1 AND revoked = 0",
                [key_id],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn put_record(
        &self,
        record: NewRecord,
        expected_version: Option<u64>,
    ) -> Result<u64, StoreError> {
        if record.collection.is_empty()
            || record.collection.len() > RECORD_KEY_LEN_MAX
            || record.id.is_empty()
            || record.id.len() > RECORD_KEY_LEN_MAX
        {
            return Err(StoreError::Invalid(format!(
                "record collection and id must be 1 to {RECORD_KEY_LEN_MAX} bytes"
            )));
        }
        let body = record.body.to_string();
        if body.len() > RECORD_BODY_MAX {
            return Err(StoreError::LimitExceeded(format!(
                "record body larger than {RECORD_BODY_MAX} bytes"
            )));
        }
        let mut w = self
            .writer
            .lock()
            .map_err(|_| backend("writer lock poisoned"))?;
        let tx = w
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let current: Option<i64> = tx
            .prepare_cached("SELECT version FROM records WHERE collection = ?1 AND id = ?2")
            .and_then(|mut s| {
                s.query_row([&record.collection, &record.id], |r| r.get(0))
                    .optional()
            })
            .map_err(backend)?;
        let current = current.unwrap_or(0) as u64;
        if let Some(expected) = expected_version
            && expected != current
        {
            return Err(StoreError::Conflict {
                collection: record.collection,
                id: record.id,
            });
        }
        let version = current + 1;
        tx.prepare_cached(
            "INSERT INTO records (collection, id, owner, version, updated_ms, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (collection, id) DO UPDATE SET owner = excluded.owner, version = excluded.version, \
             updated_ms = excluded.updated_ms, body = excluded.body",
        )
        .and_then(|mut s| {
            s.execute(params![
                record.collection,
                record.id,
                record.owner.as_ref().map(|o| o.as_str()),
                version as i64,
                record.updated_ms,
                body
            ])
        })
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(version)
    }

    fn get_record(
        &self,
        scope: &Scope,
        collection: &str,
        id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let (cond, orgs) = record_owner_filter(scope);
        self.with_reader(|c| {
            let sql = format!(
                "SELECT collection, id, owner, version, updated_ms, body FROM records \
                 WHERE collection = ?1 AND id = ?2{cond}"
            );
            let mut st = c.prepare_cached(&sql)?;
            bind_record_params(&mut st, &[collection, id], &orgs)?;
            let mut rows = st.raw_query();
            match rows.next()? {
                Some(r) => Ok(Some(record_from_row(r)?)),
                None => Ok(None),
            }
        })
    }

    fn list_records(
        &self,
        scope: &Scope,
        collection: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let (cond, orgs) = record_owner_filter(scope);
        let limit = self.limits.page(limit);
        self.with_reader(|c| {
            let sql = format!(
                "SELECT collection, id, owner, version, updated_ms, body FROM records \
                 WHERE collection = ?1 AND id > ?2{cond} ORDER BY id LIMIT {limit}"
            );
            let mut st = c.prepare_cached(&sql)?;
            bind_record_params(&mut st, &[collection, after.unwrap_or("")], &orgs)?;
            let mut rows = st.raw_query();
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(record_from_row(r)?);
            }
            Ok(out)
        })
    }

    fn delete_record(&self, scope: &Scope, collection: &str, id: &str) -> Result<bool, StoreError> {
        let (cond, orgs) = record_owner_filter(scope);
        let w = self
            .writer
            .lock()
            .map_err(|_| backend("writer lock poisoned"))?;
        let sql = format!("DELETE FROM records WHERE collection = ?1 AND id = ?2{cond}");
        let mut st = w.conn.prepare_cached(&sql).map_err(backend)?;
        bind_record_params(&mut st, &[collection, id], &orgs).map_err(backend)?;
        let n = st.raw_execute().map_err(backend)?;
        Ok(n > 0)
    }

    fn server_secret(&self) -> Result<[u8; 32], StoreError> {
        let read = |c: &Connection| -> rusqlite::Result<Option<Vec<u8>>> {
            c.query_row(
                "SELECT value FROM meta WHERE key = 'server_secret'",
                [],
                |r| r.get(0),
            )
            .optional()
        };
        let existing = self.with_reader(read)?;
        let bytes = match existing {
            Some(b) => b,
            None => {
                let mut fresh = [0u8; 32];
                use std::io::Read;
                std::fs::File::open("/dev/urandom")
                    .and_then(|mut f| f.read_exact(&mut fresh))
                    .map_err(|e| backend(format!("cannot read /dev/urandom: {e}")))?;
                let w = self
                    .writer
                    .lock()
                    .map_err(|_| backend("writer lock poisoned"))?;
                w.conn
                    .execute(
                        "INSERT INTO meta (key, value) VALUES ('server_secret', ?1) ON CONFLICT (key) DO NOTHING",
                        [&fresh[..]],
                    )
                    .map_err(backend)?;
                read(&w.conn)
                    .map_err(backend)?
                    .ok_or_else(|| backend("server secret vanished"))?
            }
        };
        bytes
            .try_into()
            .map_err(|_| backend("server secret is not 32 bytes"))
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }
}

fn bind_record_params(
    st: &mut rusqlite::CachedStatement<'_>,
    fixed: &[&str],
    orgs: &[String],
) -> rusqlite::Result<()> {
    for (i, v) in fixed.iter().enumerate() {
        st.raw_bind_parameter(i + 1, v)?;
    }
    for (i, o) in orgs.iter().enumerate() {
        st.raw_bind_parameter(i + 10, o)?;
    }
    Ok(())
}
