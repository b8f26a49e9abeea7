//! The PostgreSQL store: many `zhiliang` servers on one database, ready for Citus.
//!
//! [`PostgresStore::connect`] opens a small pool of blocking connections (the `postgres` crate),
//! checks that commits are durable (`synchronous_commit` and `fsync` must not be `off` unless
//! [`PgOptions::allow_async_commit`] says otherwise), and brings the schema up to date under an
//! advisory lock, so that several servers may start at once.
//!
//! Nothing a client may come back for is kept in a server's memory: capture jobs, cursors (they
//! carry the sort key and sequence number of the last event) and the page-token secret
//! ([`Store::server_secret`], stored in the database) work the same on every server. What is
//! cached in memory (organisation ids, compression dictionaries, known vocabulary rows) is
//! immutable once written, so a stale cache is only ever incomplete, never wrong.
//!
//! The SQL avoids what a sharded PostgreSQL (Citus) cannot run across shards: no recursive CTE,
//! no triggers, joins between event tables only on `owner` (the distribution column) and `seq`.
//! See `docs/citus.md` and [`citus_ddl`].

mod capture;
mod codec;
mod read;
mod schema;
pub mod testing;

use postgres::{Client, GenericClient, NoTls, Statement};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};
use store::{
    ApiKey, CaptureJob, Cursor, EventPage, Limits, NewCapture, NewRecord, OrgId, Record, Role,
    Scope, Store, StoreError, StoredEvent, Vocabulary,
};

pub use schema::{MIGRATIONS, citus_ddl, latest_version};

/// Options of [`PostgresStore::connect`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections this server keeps open (1..=256).
    pub pool_size: usize,
    /// Accept a database where `synchronous_commit` or `fsync` is `off` (acknowledged captures
    /// may then be lost in a crash). Off by default: start-up refuses such a database.
    pub allow_async_commit: bool,
    /// How long a caller waits for a free connection before failing.
    pub acquire_timeout: Duration,
    pub limits: Limits,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 8,
            allow_async_commit: false,
            acquire_timeout: Duration::from_secs(30),
            limits: Limits::default(),
        }
    }
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A PostgreSQL error with the server's SQLSTATE and message when there is one.
pub(crate) fn pg(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!(
            "postgres {}: {}{}",
            db.code().code(),
            db.message(),
            db.detail().map(|d| format!(" ({d})")).unwrap_or_default()
        )),
        None => StoreError::Backend(format!("postgres: {e}")),
    }
}

/// Prepared statements of one connection, by SQL text.
#[derive(Default)]
pub(crate) struct Stmts(HashMap<String, Statement>);

/// Statements cached per connection before the cache is reset.
const STMT_CACHE_MAX: usize = 256;

impl Stmts {
    pub fn get<C: GenericClient>(&mut self, c: &mut C, sql: &str) -> Result<Statement, StoreError> {
        self.get_raw(c, sql).map_err(pg)
    }

    pub fn get_raw<C: GenericClient>(
        &mut self,
        c: &mut C,
        sql: &str,
    ) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.0.get(sql) {
            return Ok(s.clone());
        }
        let s = c.prepare(sql)?;
        if self.0.len() >= STMT_CACHE_MAX {
            self.0.clear();
        }
        self.0.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

/// One pooled connection with its statement cache.
pub(crate) struct Conn {
    pub client: Client,
    pub stmts: Stmts,
    /// When it was last returned to the pool.
    idle_since: Instant,
}

/// A pooled connection idle for longer than this is checked (an empty query) before use, so
/// that a database restart costs no failed request.
const VALIDATE_AFTER_IDLE: Duration = Duration::from_secs(2);

struct PoolState {
    idle: Vec<Conn>,
    opened: usize,
}

struct Pool {
    config: postgres::Config,
    max: usize,
    allow_async_commit: bool,
    acquire_timeout: Duration,
    state: Mutex<PoolState>,
    ready: Condvar,
}

/// A connection borrowed from the pool; returned on drop unless it broke.
pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    /// Whether the connection was taken from the idle list (it may have died meanwhile).
    reused: bool,
    /// Close instead of returning to the pool.
    broken: bool,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        conn.idle_since = Instant::now();
        let mut st = match self.pool.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if conn.client.is_closed() || self.broken {
            st.opened = st.opened.saturating_sub(1);
        } else {
            st.idle.push(conn);
        }
        drop(st);
        self.pool.ready.notify_one();
    }
}

/// The durability settings of a connection, as the server reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// `SHOW synchronous_commit` (`on`, `local`, `remote_write`, `remote_apply` or `off`).
    pub synchronous_commit: String,
    /// `SHOW fsync`.
    pub fsync: String,
}

fn durability_of(client: &mut Client) -> Result<Durability, StoreError> {
    let sc: String = client
        .query_one("SELECT current_setting('synchronous_commit')", &[])
        .map_err(pg)?
        .get(0);
    let fsync: String = client
        .query_one("SELECT current_setting('fsync')", &[])
        .map_err(pg)?
        .get(0);
    Ok(Durability {
        synchronous_commit: sc,
        fsync,
    })
}

impl Pool {
    fn open(&self) -> Result<Conn, StoreError> {
        let mut client = self.config.connect(NoTls).map_err(pg)?;
        let d = durability_of(&mut client)?;
        if !self.allow_async_commit {
            if d.synchronous_commit.eq_ignore_ascii_case("off") {
                return Err(StoreError::Backend(
                    "refusing to run: the database has synchronous_commit=off, so an acknowledged \
                     capture could be lost in a crash; set synchronous_commit=on for this database \
                     or role, or allow it explicitly (allow_async_commit)"
                        .into(),
                ));
            }
            if d.fsync.eq_ignore_ascii_case("off") {
                return Err(StoreError::Backend(
                    "refusing to run: the database server has fsync=off, so an acknowledged \
                     capture could be lost in a crash; turn fsync on, or allow it explicitly \
                     (allow_async_commit)"
                        .into(),
                ));
            }
        }
        Ok(Conn {
            client,
            stmts: Stmts::default(),
            idle_since: Instant::now(),
        })
    }

    fn get(&self) -> Result<Pooled<'_>, StoreError> {
        let deadline = Instant::now() + self.acquire_timeout;
        let mut st = self
            .state
            .lock()
            .map_err(|_| backend("pool lock poisoned"))?;
        loop {
            while let Some(mut c) = st.idle.pop() {
                if !c.client.is_closed() && c.idle_since.elapsed() > VALIDATE_AFTER_IDLE {
                    drop(st);
                    if c.client.is_valid(Duration::from_secs(5)).is_ok() {
                        return Ok(Pooled {
                            pool: self,
                            conn: Some(c),
                            reused: true,
                            broken: false,
                        });
                    }
                    drop(c);
                    st = self
                        .state
                        .lock()
                        .map_err(|_| backend("pool lock poisoned"))?;
                    st.opened = st.opened.saturating_sub(1);
                    continue;
                }
                if c.client.is_closed() {
                    st.opened = st.opened.saturating_sub(1);
                    continue;
                }
                return Ok(Pooled {
                    pool: self,
                    conn: Some(c),
                    reused: true,
                    broken: false,
                });
            }
            if st.opened < self.max {
                st.opened += 1;
                drop(st);
                return match self.open() {
                    Ok(c) => Ok(Pooled {
                        pool: self,
                        conn: Some(c),
                        reused: false,
                        broken: false,
                    }),
                    Err(e) => {
                        let mut st = self
                            .state
                            .lock()
                            .map_err(|_| backend("pool lock poisoned"))?;
                        st.opened = st.opened.saturating_sub(1);
                        drop(st);
                        self.ready.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(backend(format!(
                    "no database connection free within {:?} (pool of {})",
                    self.acquire_timeout, self.max
                )));
            }
            st = self
                .ready
                .wait_timeout(st, deadline - now)
                .map_err(|_| backend("pool lock poisoned"))?
                .0;
        }
    }
}

/// The PostgreSQL store. Cheap to share behind an `Arc`; several instances (servers) may work on
/// one database at once.
pub struct PostgresStore {
    pool: Pool,
    pub(crate) limits: Limits,
    /// Organisation name -> id (ids never change once assigned).
    orgs: RwLock<HashMap<String, i32>>,
    /// Dictionaries by id (loaded lazily); the one used for writing.
    pub(crate) dicts: RwLock<HashMap<i32, Arc<codec::Dict>>>,
    pub(crate) current_dict: RwLock<Option<Arc<codec::Dict>>>,
    /// (owner, kind, value) rows known to be in `zl_owner_vocab`.
    pub(crate) owner_vocab: Mutex<std::collections::HashSet<(i32, i16, String)>>,
    /// (owner, kind, text) -> iid of `zl_ids` rows committed by this server's captures (an iid
    /// never changes once committed).
    pub(crate) iids: Mutex<HashMap<(i32, i16, String), i64>>,
}

/// Entries of the iid cache before it is reset.
pub(crate) const IID_CACHE_MAX: usize = 500_000;

/// Entries of the owner-vocabulary cache before it is reset.
pub(crate) const OWNER_VOCAB_CACHE_MAX: usize = 100_000;

impl PostgresStore {
    /// Connect to `url` (`postgres://user:password@host:port/database?...`, as libpq takes it;
    /// TLS is not supported: use a local socket, a private network or a TLS-terminating proxy),
    /// check durability, and migrate the schema.
    pub fn connect(url: &str, opts: PgOptions) -> Result<PostgresStore, StoreError> {
        let mut config = postgres::Config::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("store URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("zhiliang");
        if opts.pool_size == 0 || opts.pool_size > 256 {
            return Err(StoreError::Invalid(
                "pool_size must be between 1 and 256".into(),
            ));
        }
        let store = PostgresStore {
            pool: Pool {
                config,
                max: opts.pool_size,
                allow_async_commit: opts.allow_async_commit,
                acquire_timeout: opts.acquire_timeout,
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    opened: 0,
                }),
                ready: Condvar::new(),
            },
            limits: opts.limits,
            orgs: RwLock::new(HashMap::new()),
            dicts: RwLock::new(HashMap::new()),
            current_dict: RwLock::new(None),
            owner_vocab: Mutex::new(Default::default()),
            iids: Mutex::new(HashMap::new()),
        };
        {
            let mut c = store.pool.get()?;
            migrate(&mut c.client)?;
            let newest = c
                .client
                .query_opt(
                    "SELECT id, bytes FROM zl_dicts ORDER BY id DESC LIMIT 1",
                    &[],
                )
                .map_err(pg)?;
            if let Some(row) = newest {
                let d = codec::Dict::new(row.get(0), row.get::<_, &[u8]>(1));
                store
                    .dicts
                    .write()
                    .map_err(|_| backend("dict lock"))?
                    .insert(d.id, d.clone());
                *store
                    .current_dict
                    .write()
                    .map_err(|_| backend("dict lock"))? = Some(d);
            }
        }
        Ok(store)
    }

    /// The durability settings a connection of this store sees.
    pub fn durability(&self) -> Result<Durability, StoreError> {
        let mut c = self.pool.get()?;
        durability_of(&mut c.client)
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i32, StoreError> {
        let mut c = self.pool.get()?;
        let v: Option<i32> = c
            .client
            .query_one("SELECT max(version) FROM zl_schema_migrations", &[])
            .map_err(pg)?
            .get(0);
        Ok(v.unwrap_or(0))
    }

    /// Bytes the store's tables and indexes take (`pg_total_relation_size` summed).
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        let mut c = self.pool.get()?;
        let n: i64 = c
            .client
            .query_one(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'r' AND c.relname LIKE 'zl\\_%' AND n.nspname = current_schema()",
                &[],
            )
            .map_err(pg)?
            .get(0);
        Ok(n as u64)
    }

    /// Sum of the raw (uncompressed) body sizes of all stored events.
    pub fn raw_body_bytes(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            let n: i64 = c
                .client
                .query_one(
                    "SELECT COALESCE(SUM(raw_len), 0)::bigint FROM zl_events",
                    &[],
                )
                .map_err(pg)?
                .get(0);
            Ok(n as u64)
        })
    }

    pub(crate) fn conn(&self) -> Result<Pooled<'_>, StoreError> {
        self.pool.get()
    }

    /// A connection checked to be alive (one empty query when it came from the idle list), for
    /// writes that must not fail on a connection the database dropped (a restart).
    pub(crate) fn live_conn(&self) -> Result<Pooled<'_>, StoreError> {
        // Each failed check drops a dead connection, so this ends within the pool's size.
        for _ in 0..self.pool.max {
            let mut c = self.pool.get()?;
            if !c.reused || c.client.is_valid(Duration::from_secs(5)).is_ok() {
                return Ok(c);
            }
            c.broken = true;
        }
        self.pool.get()
    }

    /// Run a read on a pooled connection; when a connection from the idle list turns out to be
    /// dead (the database restarted), retry once on a fresh one.
    pub(crate) fn read<T>(
        &self,
        mut f: impl FnMut(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut c = self.pool.get()?;
        match f(&mut c) {
            Err(e) if c.reused && c.client.is_closed() => {
                drop(c);
                let mut c = self.pool.get()?;
                f(&mut c).map_err(|_| e)
            }
            r => r,
        }
    }

    /// The id of an organisation, creating it if needed.
    pub(crate) fn org_id_create(&self, c: &mut Conn, org: &OrgId) -> Result<i32, StoreError> {
        if let Some(id) = self
            .orgs
            .read()
            .map_err(|_| backend("org lock"))?
            .get(org.as_str())
        {
            return Ok(*id);
        }
        let Conn { client, stmts, .. } = c;
        let ins = stmts.get(
            client,
            "INSERT INTO zl_orgs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        )?;
        client.execute(&ins, &[&org.as_str()]).map_err(pg)?;
        let sel = stmts.get(client, "SELECT id FROM zl_orgs WHERE name = $1")?;
        let id: i32 = client.query_one(&sel, &[&org.as_str()]).map_err(pg)?.get(0);
        self.orgs
            .write()
            .map_err(|_| backend("org lock"))?
            .insert(org.as_str().to_string(), id);
        Ok(id)
    }

    /// The owner ids a scope sees: None = all, Some(empty) = none.
    pub(crate) fn scope_owners(
        &self,
        c: &mut Conn,
        scope: &Scope,
    ) -> Result<Option<Vec<i32>>, StoreError> {
        let orgs = match scope {
            Scope::All => return Ok(None),
            Scope::Public => return Ok(Some(Vec::new())),
            Scope::Orgs(orgs) => orgs,
        };
        let mut out = Vec::with_capacity(orgs.len());
        let mut missing = Vec::new();
        {
            let cache = self.orgs.read().map_err(|_| backend("org lock"))?;
            for o in orgs {
                match cache.get(o.as_str()) {
                    Some(id) => out.push(*id),
                    None => missing.push(o.as_str().to_string()),
                }
            }
        }
        if !missing.is_empty() {
            let Conn { client, stmts, .. } = c;
            let st = stmts.get(client, "SELECT id, name FROM zl_orgs WHERE name = ANY($1)")?;
            let rows = client.query(&st, &[&missing]).map_err(pg)?;
            let mut cache = self.orgs.write().map_err(|_| backend("org lock"))?;
            for r in rows {
                let id: i32 = r.get(0);
                cache.insert(r.get(1), id);
                out.push(id);
            }
        }
        Ok(Some(out))
    }

    pub(crate) fn dict(
        &self,
        c: &mut Conn,
        id: i32,
    ) -> Result<Option<Arc<codec::Dict>>, StoreError> {
        if id == 0 {
            return Ok(None);
        }
        if let Some(d) = self
            .dicts
            .read()
            .map_err(|_| backend("dict lock"))?
            .get(&id)
        {
            return Ok(Some(d.clone()));
        }
        let row = c
            .client
            .query_one("SELECT bytes FROM zl_dicts WHERE id = $1", &[&id])
            .map_err(pg)?;
        let d = codec::Dict::new(id, row.get::<_, &[u8]>(0));
        self.dicts
            .write()
            .map_err(|_| backend("dict lock"))?
            .insert(id, d.clone());
        Ok(Some(d))
    }
}

/// Bring the schema to the newest version. Every server runs this at start; the advisory lock
/// serialises them and each migration is applied exactly once, in one transaction with its
/// version row.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(pg)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&schema::MIGRATION_LOCK],
    )
    .map_err(pg)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS zl_schema_migrations (
             version integer PRIMARY KEY,
             name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(pg)?;
    let current: Option<i32> = tx
        .query_one("SELECT max(version) FROM zl_schema_migrations", &[])
        .map_err(pg)?
        .get(0);
    let current = current.unwrap_or(0);
    if current > latest_version() {
        return Err(StoreError::Backend(format!(
            "the database has schema version {current}; this build knows up to version {}: \
             upgrade zhiliang",
            latest_version()
        )));
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(m.sql).map_err(|e| {
            let StoreError::Backend(msg) = pg(e) else {
                unreachable!()
            };
            StoreError::Backend(format!("migration {} ({}): {msg}", m.version, m.name))
        })?;
        tx.execute(
            "INSERT INTO zl_schema_migrations (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .map_err(pg)?;
    }
    tx.commit().map_err(pg)
}

fn job_from_row(r: &postgres::Row) -> Result<CaptureJob, StoreError> {
    let owner: &str = r.get("owner_name");
    let errors: &str = r.get("errors");
    let success: bool = r.get("success");
    Ok(CaptureJob {
        id: r.get("id"),
        owner: OrgId::parse(owner).map_err(backend)?,
        created_ms: r.get("created_ms"),
        finished_ms: r.get("finished_ms"),
        status: if success {
            store::JobStatus::Success
        } else {
            store::JobStatus::Failure
        },
        stored: r.get::<_, i64>("stored") as u64,
        duplicates: r.get::<_, i64>("duplicates") as u64,
        errors: serde_json::from_str(errors).unwrap_or_default(),
    })
}

const JOB_COLS: &str = "j.jid, j.id, o.name AS owner_name, j.created_ms, j.finished_ms, j.success, \
                        j.stored, j.duplicates, j.errors";

fn key_from_row(r: &postgres::Row) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        key_id: r.get(0),
        hash_hex: r.get(1),
        org: OrgId::parse(r.get(2)).map_err(backend)?,
        role: Role::parse(r.get(3)).map_err(backend)?,
        created_ms: r.get(4),
        revoked: r.get(5),
    })
}

fn record_from_row(r: &postgres::Row) -> Result<Record, StoreError> {
    let owner: Option<&str> = r.get(2);
    let body: &str = r.get(5);
    Ok(Record {
        collection: r.get(0),
        id: r.get(1),
        owner: owner.map(OrgId::parse).transpose().map_err(backend)?,
        version: r.get::<_, i64>(3) as u64,
        updated_ms: r.get(4),
        body: serde_json::from_str(body).map_err(backend)?,
    })
}

/// ` AND (owner IS NULL OR owner = ANY($n))` for records; `orgs` is the parameter.
fn record_owner_filter(scope: &Scope, n: usize) -> (String, Option<Vec<String>>) {
    match scope {
        Scope::All => (String::new(), None),
        Scope::Public => (" AND owner IS NULL".into(), None),
        Scope::Orgs(orgs) => (
            format!(" AND (owner IS NULL OR owner = ANY(${n}))"),
            Some(orgs.iter().map(|o| o.as_str().to_string()).collect()),
        ),
    }
}

/// Longest record collection name or id.
const RECORD_KEY_LEN_MAX: usize = 256;
/// Largest record body (bytes of JSON).
const RECORD_BODY_MAX: usize = 4 * 1024 * 1024;

fn owner_cond(col: &str, owners: &Option<Vec<i32>>, n: usize) -> String {
    match owners {
        None => String::new(),
        Some(_) => format!(" AND {col} = ANY(${n})"),
    }
}

impl Store for PostgresStore {
    fn capture(&self, capture: NewCapture) -> Result<CaptureJob, StoreError> {
        capture::capture(self, capture)
    }

    fn capture_job(&self, scope: &Scope, id: &str) -> Result<Option<CaptureJob>, StoreError> {
        self.read(|c| {
            let owners = self.scope_owners(c, scope)?;
            let sql = format!(
                "SELECT {JOB_COLS} FROM zl_jobs j JOIN zl_orgs o ON o.id = j.owner WHERE j.id = $1{}",
                owner_cond("j.owner", &owners, 2)
            );
            let Conn { client, stmts, .. } = c;
            let st = stmts.get(client, &sql)?;
            let row = match &owners {
                None => client.query_opt(&st, &[&id]),
                Some(o) => client.query_opt(&st, &[&id, o]),
            }
            .map_err(pg)?;
            row.as_ref().map(job_from_row).transpose()
        })
    }

    fn capture_jobs(
        &self,
        scope: &Scope,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CaptureJob>, StoreError> {
        let limit = self.limits.page(limit) as i64;
        self.read(|c| {
            let owners = self.scope_owners(c, scope)?;
            let Conn { client, stmts, .. } = c;
            let before_jid: i64 = match before {
                None => i64::MAX,
                Some(b) => {
                    let sql = format!(
                        "SELECT j.jid FROM zl_jobs j WHERE j.id = $1{}",
                        owner_cond("j.owner", &owners, 2)
                    );
                    let st = stmts.get(client, &sql)?;
                    let row = match &owners {
                        None => client.query_opt(&st, &[&b]),
                        Some(o) => client.query_opt(&st, &[&b, o]),
                    }
                    .map_err(pg)?;
                    match row {
                        Some(r) => r.get(0),
                        None => return Err(StoreError::InvalidCursor),
                    }
                }
            };
            let filter = owner_cond("j.owner", &owners, 3);
            let sql = format!(
                "SELECT {JOB_COLS} FROM zl_jobs j JOIN zl_orgs o ON o.id = j.owner \
                 WHERE j.jid < $1{filter} ORDER BY j.jid DESC LIMIT $2"
            );
            let st = stmts.get(client, &sql)?;
            let rows = match &owners {
                None => client.query(&st, &[&before_jid, &limit]),
                Some(o) => client.query(&st, &[&before_jid, &limit, o]),
            }
            .map_err(pg)?;
            rows.iter().map(job_from_row).collect()
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
        self.read(|c| {
            let owners = self.scope_owners(c, scope)?;
            let sql = format!(
                "SELECT COALESCE(SUM(n), 0)::bigint FROM zl_owner_counts WHERE true{}",
                owner_cond("owner", &owners, 1)
            );
            let Conn { client, stmts, .. } = c;
            let st = stmts.get(client, &sql)?;
            let row = match &owners {
                None => client.query_one(&st, &[]),
                Some(o) => client.query_one(&st, &[o]),
            }
            .map_err(pg)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    fn put_key(&self, key: ApiKey) -> Result<(), StoreError> {
        let mut c = self.conn()?;
        let Conn { client, stmts, .. } = &mut *c;
        let st = stmts.get(
            client,
            "INSERT INTO zl_api_keys (key_id, hash_hex, org, role, created_ms, revoked) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (key_id) DO UPDATE SET hash_hex = excluded.hash_hex, org = excluded.org, \
             role = excluded.role, created_ms = excluded.created_ms, revoked = excluded.revoked",
        )?;
        client
            .execute(
                &st,
                &[
                    &key.key_id,
                    &key.hash_hex,
                    &key.org.as_str(),
                    &key.role.as_str(),
                    &key.created_ms,
                    &key.revoked,
                ],
            )
            .map_err(pg)?;
        Ok(())
    }

    fn key_by_hash(&self, hash_hex: &str) -> Result<Option<ApiKey>, StoreError> {
        self.read(|c| {
            let Conn { client, stmts, .. } = c;
            let st = stmts.get(
                client,
                "SELECT key_id, hash_hex, org, role, created_ms, revoked FROM zl_api_keys \
                 WHERE hash_hex = $1",
            )?;
            let row = client.query_opt(&st, &[&hash_hex]).map_err(pg)?;
            row.as_ref().map(key_from_row).transpose()
        })
    }

    fn count_keys(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            let n: i64 = c
                .client
                .query_one("SELECT count(*) FROM zl_api_keys", &[])
                .map_err(pg)?
                .get(0);
            Ok(n as u64)
        })
    }

    fn revoke_key(&self, key_id: &str) -> Result<bool, StoreError> {
        let mut c = self.conn()?;
        let n = c
            .client
            .execute(
                "UPDATE zl_api_keys SET revoked = true WHERE key_id = $1 AND NOT revoked",
                &[&key_id],
            )
            .map_err(pg)?;
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
        let owner = record.owner.as_ref().map(|o| o.as_str());
        let mut c = self.conn()?;
        let Conn { client, stmts, .. } = &mut *c;
        // Each case is one atomic statement, so concurrent writers on different servers are
        // decided by the database: exactly one of two writers expecting the same version wins.
        let row = match expected_version {
            Some(0) => {
                let st = stmts.get(
                    client,
                    "INSERT INTO zl_records (collection, id, owner, version, updated_ms, body) \
                     VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (collection, id) DO NOTHING \
                     RETURNING version",
                )?;
                client
                    .query_opt(
                        &st,
                        &[
                            &record.collection,
                            &record.id,
                            &owner,
                            &record.updated_ms,
                            &body,
                        ],
                    )
                    .map_err(pg)?
            }
            Some(v) => {
                let v = i64::try_from(v).map_err(|_| StoreError::Conflict {
                    collection: record.collection.clone(),
                    id: record.id.clone(),
                })?;
                let st = stmts.get(
                    client,
                    "UPDATE zl_records SET owner = $3, version = version + 1, updated_ms = $4, \
                     body = $5 WHERE collection = $1 AND id = $2 AND version = $6 RETURNING version",
                )?;
                client
                    .query_opt(
                        &st,
                        &[
                            &record.collection,
                            &record.id,
                            &owner,
                            &record.updated_ms,
                            &body,
                            &v,
                        ],
                    )
                    .map_err(pg)?
            }
            None => {
                let st = stmts.get(
                    client,
                    "INSERT INTO zl_records (collection, id, owner, version, updated_ms, body) \
                     VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (collection, id) DO UPDATE SET \
                     owner = excluded.owner, version = zl_records.version + 1, \
                     updated_ms = excluded.updated_ms, body = excluded.body RETURNING version",
                )?;
                client
                    .query_opt(
                        &st,
                        &[
                            &record.collection,
                            &record.id,
                            &owner,
                            &record.updated_ms,
                            &body,
                        ],
                    )
                    .map_err(pg)?
            }
        };
        match row {
            Some(r) => Ok(r.get::<_, i64>(0) as u64),
            None => Err(StoreError::Conflict {
                collection: record.collection,
                id: record.id,
            }),
        }
    }

    fn get_record(
        &self,
        scope: &Scope,
        collection: &str,
        id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let (cond, orgs) = record_owner_filter(scope, 3);
        self.read(|c| {
            let sql = format!(
                "SELECT collection, id, owner, version, updated_ms, body FROM zl_records \
                 WHERE collection = $1 AND id = $2{cond}"
            );
            let Conn { client, stmts, .. } = c;
            let st = stmts.get(client, &sql)?;
            let row = match &orgs {
                None => client.query_opt(&st, &[&collection, &id]),
                Some(o) => client.query_opt(&st, &[&collection, &id, o]),
            }
            .map_err(pg)?;
            row.as_ref().map(record_from_row).transpose()
        })
    }

    fn list_records(
        &self,
        scope: &Scope,
        collection: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let (cond, orgs) = record_owner_filter(scope, 4);
        let limit = self.limits.page(limit) as i64;
        let after = after.unwrap_or("");
        self.read(|c| {
            let sql = format!(
                "SELECT collection, id, owner, version, updated_ms, body FROM zl_records \
                 WHERE collection = $1 AND id > $2{cond} ORDER BY id LIMIT $3"
            );
            let Conn { client, stmts, .. } = c;
            let st = stmts.get(client, &sql)?;
            let rows = match &orgs {
                None => client.query(&st, &[&collection, &after, &limit]),
                Some(o) => client.query(&st, &[&collection, &after, &limit, o]),
            }
            .map_err(pg)?;
            rows.iter().map(record_from_row).collect()
        })
    }

    fn delete_record(&self, scope: &Scope, collection: &str, id: &str) -> Result<bool, StoreError> {
        let (cond, orgs) = record_owner_filter(scope, 3);
        let mut c = self.conn()?;
        let Conn { client, stmts, .. } = &mut *c;
        let sql = format!("DELETE FROM zl_records WHERE collection = $1 AND id = $2{cond}");
        let st = stmts.get(client, &sql)?;
        let n = match &orgs {
            None => client.execute(&st, &[&collection, &id]),
            Some(o) => client.execute(&st, &[&collection, &id, o]),
        }
        .map_err(pg)?;
        Ok(n > 0)
    }

    fn server_secret(&self) -> Result<[u8; 32], StoreError> {
        let read = |c: &mut Conn| -> Result<Option<Vec<u8>>, StoreError> {
            let row = c
                .client
                .query_opt("SELECT value FROM zl_meta WHERE key = 'server_secret'", &[])
                .map_err(pg)?;
            Ok(row.map(|r| r.get(0)))
        };
        let bytes = match self.read(read)? {
            Some(b) => b,
            None => {
                // The first server to get here creates it; every other one reads that one.
                let mut fresh = [0u8; 32];
                use std::io::Read;
                std::fs::File::open("/dev/urandom")
                    .and_then(|mut f| f.read_exact(&mut fresh))
                    .map_err(|e| backend(format!("cannot read /dev/urandom: {e}")))?;
                let mut c = self.conn()?;
                c.client
                    .execute(
                        "INSERT INTO zl_meta (key, value) VALUES ('server_secret', $1) \
                         ON CONFLICT (key) DO NOTHING",
                        &[&&fresh[..]],
                    )
                    .map_err(pg)?;
                read(&mut c)?.ok_or_else(|| backend("server secret vanished"))?
            }
        };
        bytes
            .try_into()
            .map_err(|_| backend("server secret is not 32 bytes"))
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }
}
