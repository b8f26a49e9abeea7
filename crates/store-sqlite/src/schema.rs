//! The schema. Every statement here has a PostgreSQL twin in `store-postgres` (keep them in step):
//! plain tables, B-tree indexes, `ON CONFLICT` upserts, no recursive CTE, no triggers.
//!
//! Layout (see ARCHITECTURE.md for the reasoning):
//! - `events`: one row per stored event; small integer codes for the type and action, interned
//!   vocabulary ids (locations included), the eventID packed to 16 bytes when it is a UUID URN, the body zstd-compressed (with a trained dictionary once one
//!   exists). `seq` is the rowid, so inserts append.
//! - `event_keys`: exactly-once. 64-bit keys of the eventID and of the event hash per owner;
//!   the rare key collision between different events goes to `event_keys_overflow`.
//! - `ids`: interned identifiers (canonical form), keyed by the identifier (one B-tree), their
//!   integer assigned from the `next_id` counter in `meta`; `event_ids` (id, seq, role) answers `MATCH_*`
//!   and the trace frontier; `event_links` (kind, id, type, seq) the bizTransaction, source and
//!   destination parameters. Both are WITHOUT ROWID, keyed by the interned id, which is assigned
//!   in first-seen order, so an identifier's entries cluster and new ones append.
//! - `owner_vocab` and `owner_counts` keep the distinct values and counts per organisation so
//!   that neither needs a scan.

pub const SCHEMA_VERSION: i64 = 1;

pub const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS orgs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS jobs (
    jid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    owner INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    finished_ms INTEGER NOT NULL,
    success INTEGER NOT NULL,
    stored INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    errors TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, jid);
CREATE TABLE IF NOT EXISTS dicts (
    id INTEGER PRIMARY KEY,
    bytes BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS ids (
    uri TEXT PRIMARY KEY,
    id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vocab (
    id INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (kind, value)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    owner INTEGER NOT NULL,
    job INTEGER NOT NULL,
    event_id BLOB,
    event_hash BLOB NOT NULL,
    type INTEGER NOT NULL,
    event_time_ms INTEGER NOT NULL,
    record_time_ms INTEGER NOT NULL,
    action INTEGER,
    biz_step INTEGER,
    disposition INTEGER,
    read_point INTEGER,
    biz_location INTEGER,
    has_error INTEGER NOT NULL,
    dict INTEGER NOT NULL,
    raw_len INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_et ON events (event_time_ms);
CREATE INDEX IF NOT EXISTS events_rt ON events (record_time_ms);
CREATE TABLE IF NOT EXISTS event_keys (
    owner INTEGER NOT NULL,
    k INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (owner, k)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_keys_overflow (
    owner INTEGER NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (owner, key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_ids (
    id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    role INTEGER NOT NULL,
    PRIMARY KEY (id, seq, role)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_quantities (
    seq INTEGER NOT NULL,
    quantity REAL NOT NULL,
    PRIMARY KEY (seq, quantity)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_links (
    kind INTEGER NOT NULL,
    id INTEGER NOT NULL,
    type INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (kind, id, type, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS owner_vocab (
    owner INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (owner, kind, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS owner_counts (
    owner INTEGER PRIMARY KEY,
    n INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    hash_hex TEXT NOT NULL UNIQUE,
    org TEXT NOT NULL,
    role TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    revoked INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    owner TEXT,
    version INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
"#;

/// `vocab.kind` values.
pub const VOCAB_BIZ_STEP: i64 = 1;
pub const VOCAB_DISPOSITION: i64 = 2;
pub const VOCAB_LINK_TYPE: i64 = 3;
/// readPoint and bizLocation values (one kind, so that WD_ sees both the same way).
pub const VOCAB_LOCATION: i64 = 4;
/// Vocabulary kinds (for the per-kind caches).
pub const VOCAB_KINDS: usize = 5;

/// `owner_vocab.kind` values (the value is a type code, a vocab id or an ids id).
pub const OV_TYPE: i64 = 0;
pub const OV_BIZ_STEP: i64 = 1;
pub const OV_DISPOSITION: i64 = 2;
pub const OV_READ_POINT: i64 = 3;
pub const OV_BIZ_LOCATION: i64 = 4;

/// `event_links.kind` values.
pub const LINK_BIZ_TRANSACTION: i64 = 0;
pub const LINK_SOURCE: i64 = 1;
pub const LINK_DESTINATION: i64 = 2;

pub fn action_code(a: &str) -> Option<i64> {
    match a {
        "ADD" => Some(1),
        "OBSERVE" => Some(2),
        "DELETE" => Some(3),
        _ => None,
    }
}

pub fn type_code(t: &str) -> Option<i64> {
    epcis::index::EVENT_TYPES
        .iter()
        .position(|x| *x == t)
        .map(|i| i as i64)
}

pub fn type_name(code: i64) -> Option<&'static str> {
    usize::try_from(code)
        .ok()
        .and_then(|i| epcis::index::EVENT_TYPES.get(i).copied())
}
