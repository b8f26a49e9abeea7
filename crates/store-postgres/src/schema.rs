//! The schema and its migrations. The embedded store's schema (`store-sqlite/src/schema.rs`) is
//! the twin of this one; the differences are what a shared, possibly sharded database needs:
//!
//! - Every table that grows with the events (`zl_events`, `zl_jobs`, `zl_event_ids`,
//!   `zl_event_quantities`, `zl_event_links`, `zl_owner_vocab`, `zl_owner_counts`) carries `owner` (the capturing
//!   organisation) and every unique constraint on them includes it, so that Citus can distribute
//!   them all by `owner` and co-locate them: one capture document touches one shard group.
//! - Identifiers and vocabulary values are stored as text (with `COLLATE "C"`: bytewise order,
//!   as SQLite sorts, and prefix ranges that a B-tree answers) rather than interned through a
//!   global table: a global intern table would be a reference table that every capture writes to,
//!   which on Citus means a distributed transaction per capture.
//! - Exactly-once is enforced by the database itself: `UNIQUE (event_id, owner)` and
//!   `UNIQUE (event_hash, owner)`, with inserts `ON CONFLICT DO NOTHING`, so two servers capturing
//!   the same event at the same moment store it once.
//! - Small tables read by every server (organisations, dictionaries, API keys, records, meta) are
//!   plain tables; on Citus they become reference tables.
//!
//! No recursive CTE, no triggers, no stored procedures.

/// One schema migration: applied once, in order, inside one transaction that holds the
/// migration advisory lock.
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Key of the advisory lock taken by the migration transaction (`pg_advisory_xact_lock`).
pub const MIGRATION_LOCK: i64 = 0x7a68_696c_6961_6e67; // "zhiliang"

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema",
        sql: r#"
CREATE TABLE zl_meta (
    key text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);
CREATE SEQUENCE zl_org_seq;
CREATE TABLE zl_orgs (
    id integer PRIMARY KEY DEFAULT nextval('zl_org_seq'),
    name text COLLATE "C" NOT NULL UNIQUE
);
CREATE SEQUENCE zl_dict_seq;
CREATE TABLE zl_dicts (
    id integer PRIMARY KEY DEFAULT nextval('zl_dict_seq'),
    bytes bytea NOT NULL
);
CREATE SEQUENCE zl_job_seq;
CREATE TABLE zl_jobs (
    owner integer NOT NULL,
    jid bigint NOT NULL,
    id text COLLATE "C" NOT NULL,
    created_ms bigint NOT NULL,
    finished_ms bigint NOT NULL,
    success boolean NOT NULL,
    stored bigint NOT NULL,
    duplicates bigint NOT NULL,
    errors text NOT NULL,
    PRIMARY KEY (owner, jid),
    UNIQUE (id, owner)
);
CREATE INDEX zl_jobs_jid ON zl_jobs (jid);
CREATE SEQUENCE zl_event_seq CACHE 1;
CREATE TABLE zl_events (
    owner integer NOT NULL,
    seq bigint NOT NULL,
    job bigint NOT NULL,
    event_id bytea NOT NULL,
    event_hash bytea NOT NULL,
    type smallint NOT NULL,
    event_time_ms bigint NOT NULL,
    record_time_ms bigint NOT NULL,
    action smallint,
    biz_step text COLLATE "C",
    disposition text COLLATE "C",
    read_point text COLLATE "C",
    biz_location text COLLATE "C",
    has_error boolean NOT NULL,
    dict integer NOT NULL,
    raw_len integer NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (owner, seq),
    UNIQUE (event_id, owner),
    UNIQUE (event_hash, owner)
);
ALTER TABLE zl_events ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE INDEX zl_events_rt ON zl_events (record_time_ms, seq);
CREATE INDEX zl_events_et ON zl_events (event_time_ms, seq);
CREATE TABLE zl_event_ids (
    owner integer NOT NULL,
    id text COLLATE "C" NOT NULL,
    role smallint NOT NULL,
    seq bigint NOT NULL
);
CREATE INDEX zl_event_ids_id ON zl_event_ids (id, role, owner, seq);
CREATE TABLE zl_event_quantities (
    owner integer NOT NULL,
    seq bigint NOT NULL,
    quantity double precision NOT NULL
);
CREATE INDEX zl_event_quantities_seq ON zl_event_quantities (owner, seq);
CREATE TABLE zl_event_links (
    owner integer NOT NULL,
    kind smallint NOT NULL,
    id text COLLATE "C" NOT NULL,
    type text COLLATE "C" NOT NULL,
    seq bigint NOT NULL
);
CREATE INDEX zl_event_links_id ON zl_event_links (kind, id, owner, seq) INCLUDE (type);
CREATE TABLE zl_owner_vocab (
    owner integer NOT NULL,
    kind smallint NOT NULL,
    value text COLLATE "C" NOT NULL,
    PRIMARY KEY (owner, kind, value)
);
CREATE TABLE zl_owner_counts (
    owner integer PRIMARY KEY,
    n bigint NOT NULL
);
CREATE TABLE zl_api_keys (
    key_id text COLLATE "C" PRIMARY KEY,
    hash_hex text COLLATE "C" NOT NULL UNIQUE,
    org text COLLATE "C" NOT NULL,
    role text COLLATE "C" NOT NULL,
    created_ms bigint NOT NULL,
    revoked boolean NOT NULL
);
CREATE TABLE zl_records (
    collection text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    owner text COLLATE "C",
    version bigint NOT NULL,
    updated_ms bigint NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (collection, id)
);
"#,
    },
    Migration {
        version: 2,
        name: "per-owner record-time index (an enterprise's default order without a scan)",
        sql: "CREATE INDEX IF NOT EXISTS zl_events_owner_rt ON zl_events (owner, record_time_ms, seq);",
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i32 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// `zl_owner_vocab.kind` values. The value is the text itself (event type name, CBV URI,
/// canonical location identifier).
pub const OV_TYPE: i16 = 0;
pub const OV_BIZ_STEP: i16 = 1;
pub const OV_DISPOSITION: i16 = 2;
pub const OV_READ_POINT: i16 = 3;
pub const OV_BIZ_LOCATION: i16 = 4;

/// `zl_event_links.kind` values.
pub const LINK_BIZ_TRANSACTION: i16 = 0;
pub const LINK_SOURCE: i16 = 1;
pub const LINK_DESTINATION: i16 = 2;

pub fn action_code(a: &str) -> Option<i16> {
    match a {
        "ADD" => Some(1),
        "OBSERVE" => Some(2),
        "DELETE" => Some(3),
        _ => None,
    }
}

pub fn type_code(t: &str) -> Option<i16> {
    epcis::index::EVENT_TYPES
        .iter()
        .position(|x| *x == t)
        .map(|i| i as i16)
}

pub fn type_name(code: i16) -> Option<&'static str> {
    usize::try_from(code)
        .ok()
        .and_then(|i| epcis::index::EVENT_TYPES.get(i).copied())
}

/// The Citus DDL: run once on the coordinator, after the first server has created the schema
/// and before any data is captured (`create_distributed_table` on a non-empty table copies its
/// rows, which is slow but correct). See `docs/citus.md`.
pub fn citus_ddl() -> &'static str {
    r#"-- zhiliang on Citus: run on the coordinator after `zhiliang serve --store postgres://...`
-- has created the schema (schema version 1), before capturing data.
-- Master data and server state: small, read by every query, written rarely.
SELECT create_reference_table('zl_meta');
SELECT create_reference_table('zl_orgs');
SELECT create_reference_table('zl_dicts');
SELECT create_reference_table('zl_api_keys');
SELECT create_reference_table('zl_records');
-- Events and everything derived from them: distributed by the capturing organisation and
-- co-located, so that a capture document is a single-shard-group transaction and every join
-- between them (on owner, seq / owner, jid) runs inside one shard group.
SELECT create_distributed_table('zl_events', 'owner');
SELECT create_distributed_table('zl_jobs', 'owner', colocate_with => 'zl_events');
SELECT create_distributed_table('zl_event_ids', 'owner', colocate_with => 'zl_events');
SELECT create_distributed_table('zl_event_quantities', 'owner', colocate_with => 'zl_events');
SELECT create_distributed_table('zl_event_links', 'owner', colocate_with => 'zl_events');
SELECT create_distributed_table('zl_owner_vocab', 'owner', colocate_with => 'zl_events');
SELECT create_distributed_table('zl_owner_counts', 'owner', colocate_with => 'zl_events');
"#
}
