//! The schema and its migrations. The embedded store's schema (`store-sqlite/src/schema.rs`) is
//! the twin of this one; the differences are what a shared, possibly sharded database needs:
//!
//! - Every table that grows with the events (`zl_events`, `zl_jobs`, `zl_ids`,
//!   `zl_event_quantities`, `zl_owner_vocab`, `zl_owner_counts`) carries `owner` (the capturing
//!   organisation) and every unique constraint on them includes it, so that Citus can distribute
//!   them all by `owner` and co-locate them: one capture document touches one shard group.
//! - Identifiers, links and vocabulary values are interned per owner (`zl_ids`, with `COLLATE
//!   "C"`: bytewise order, as SQLite sorts, and prefix ranges that a B-tree answers) rather than
//!   through a global table: a global intern table would be a reference table that every capture
//!   writes to, which on Citus means a distributed transaction per capture. Each event carries
//!   its identifiers as one array of 8-byte keys (`zl_events.refs`) under a GIN index (schema
//!   version 3; before, one row per event x identifier x role took 60 % of the store).
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
    Migration {
        version: 3,
        name: "identifiers interned per owner; one array of keys per event with a GIN index",
        sql: MIGRATION_3,
    },
];

/// Migration 3: the size of the store. `zl_event_ids` (one row per event x identifier x role)
/// and `zl_event_links` are replaced by `zl_ids` (each identifier, link and vocabulary value
/// once per owner, with an 8-byte key `iid`) and one array per event, `zl_events.refs`, of
/// `iid * 16 + tag` (tag = the `IdRole`, or [`TAG_LINK`]) under a GIN index (compressed posting
/// lists). The vocabulary columns of `zl_events` become `iid`s, UUID event IDs 16 bytes. Data of
/// an older schema is converted in place (`ALTER TABLE` + one `UPDATE`, so a distributed
/// `zl_events` stays distributed). The text of identifiers is stored compacted
/// ([`compact`]); the SQL twin of `compact` is spelled out below.
const MIGRATION_3: &str = r#"
CREATE SEQUENCE zl_iid_seq;
CREATE TABLE zl_ids (
    owner integer NOT NULL,
    kind smallint NOT NULL,
    id text COLLATE "C" NOT NULL,
    iid bigint NOT NULL,
    UNIQUE (kind, id, owner) INCLUDE (iid)
);
CREATE TEMPORARY TABLE zl_m3_ids ON COMMIT DROP AS
SELECT DISTINCT x.owner, x.role, x.id,
    (CASE WHEN x.role <= 4 THEN 0 ELSE 1 END)::smallint AS kind,
    (CASE WHEN left(x.id, 19) = 'https://id.gs1.org/' THEN chr(1) || substr(x.id, 20)
          WHEN ascii(x.id) <= 2 THEN chr(2) || x.id ELSE x.id END) COLLATE "C" AS key
FROM zl_event_ids x;
CREATE TEMPORARY TABLE zl_m3_links ON COMMIT DROP AS
SELECT DISTINCT l.owner, l.kind, l.id, l.type, (2 + l.kind)::smallint AS ikind,
    (octet_length(c.key) || ':' || c.key || l.type) COLLATE "C" AS key
FROM zl_event_links l, LATERAL (SELECT
    CASE WHEN left(l.id, 19) = 'https://id.gs1.org/' THEN chr(1) || substr(l.id, 20)
         WHEN ascii(l.id) <= 2 THEN chr(2) || l.id ELSE l.id END AS key) c;
INSERT INTO zl_ids (owner, kind, id, iid)
SELECT owner, kind, id, nextval('zl_iid_seq') FROM (
    SELECT owner, kind, key AS id FROM zl_m3_ids
    UNION SELECT owner, ikind, key FROM zl_m3_links
    UNION SELECT owner, 5::smallint, biz_step FROM zl_events WHERE biz_step IS NOT NULL
    UNION SELECT owner, 6::smallint, disposition FROM zl_events WHERE disposition IS NOT NULL
    UNION SELECT owner, 7::smallint, read_point FROM zl_events WHERE read_point IS NOT NULL
    UNION SELECT owner, 8::smallint, biz_location FROM zl_events WHERE biz_location IS NOT NULL
    ORDER BY 1, 2, 3
) s;
ALTER TABLE zl_events
    ADD COLUMN refs bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN biz_step_iid bigint,
    ADD COLUMN disposition_iid bigint,
    ADD COLUMN read_point_iid bigint,
    ADD COLUMN biz_location_iid bigint;
UPDATE zl_events SET event_id = event_id || '\x00'::bytea WHERE octet_length(event_id) = 16;
UPDATE zl_events e SET
    refs = COALESCE(u.refs, '{}'),
    biz_step_iid = u.bs, disposition_iid = u.dp, read_point_iid = u.rp, biz_location_iid = u.bl,
    event_id = CASE WHEN octet_length(e.event_id) = 45
        AND substring(e.event_id FROM 1 FOR 9) = 'urn:uuid:'::bytea
        AND encode(substring(e.event_id FROM 10), 'escape')
            ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        THEN decode(replace(encode(substring(e.event_id FROM 10), 'escape'), '-', ''), 'hex')
        ELSE e.event_id END
FROM (
    SELECT e2.owner, e2.seq, r.refs, bs.iid AS bs, dp.iid AS dp, rp.iid AS rp, bl.iid AS bl
    FROM zl_events e2
    LEFT JOIN (
        SELECT k.owner, k.seq, array_agg(k.key ORDER BY k.key) AS refs FROM (
            SELECT x.owner, x.seq, i.iid * 16 + x.role AS key
            FROM zl_event_ids x
            JOIN zl_m3_ids m ON m.owner = x.owner AND m.role = x.role AND m.id = x.id
            JOIN zl_ids i ON i.owner = m.owner AND i.kind = m.kind AND i.id = m.key
            UNION
            SELECT l.owner, l.seq, i.iid * 16 + 15
            FROM zl_event_links l
            JOIN zl_m3_links m ON m.owner = l.owner AND m.kind = l.kind AND m.id = l.id
                AND m.type = l.type
            JOIN zl_ids i ON i.owner = m.owner AND i.kind = m.ikind AND i.id = m.key
        ) k GROUP BY k.owner, k.seq
    ) r ON r.owner = e2.owner AND r.seq = e2.seq
    LEFT JOIN zl_ids bs ON bs.owner = e2.owner AND bs.kind = 5 AND bs.id = e2.biz_step
    LEFT JOIN zl_ids dp ON dp.owner = e2.owner AND dp.kind = 6 AND dp.id = e2.disposition
    LEFT JOIN zl_ids rp ON rp.owner = e2.owner AND rp.kind = 7 AND rp.id = e2.read_point
    LEFT JOIN zl_ids bl ON bl.owner = e2.owner AND bl.kind = 8 AND bl.id = e2.biz_location
) u WHERE u.owner = e.owner AND u.seq = e.seq;
ALTER TABLE zl_events DROP COLUMN biz_step, DROP COLUMN disposition, DROP COLUMN read_point,
    DROP COLUMN biz_location;
ALTER TABLE zl_events RENAME COLUMN biz_step_iid TO biz_step;
ALTER TABLE zl_events RENAME COLUMN disposition_iid TO disposition;
ALTER TABLE zl_events RENAME COLUMN read_point_iid TO read_point;
ALTER TABLE zl_events RENAME COLUMN biz_location_iid TO biz_location;
DROP TABLE zl_event_ids;
DROP TABLE zl_event_links;
CREATE INDEX zl_events_refs ON zl_events USING gin (refs) WITH (fastupdate = off);
-- Most keys occur in one or two events. With the default statistics the planner guesses 0.5 %
-- of the table for every key it has no statistics for, and then walks a time index or scans
-- the table for a trace frontier; a long most-common-elements list makes that guess small.
ALTER TABLE zl_events ALTER COLUMN refs SET STATISTICS 1000;
"#;

/// `zl_ids.kind`: what an interned text is. Identifiers are split by role group so that the EPC
/// vocabulary is one index range and a class and an instance never share a key.
pub const KIND_EPC: i16 = 0;
/// Classes (`quantityList` roles) and the ILMD lots of serials.
pub const KIND_CLASS: i16 = 1;
/// Links: `2 + LINK_*`; the text is [`link_key`].
pub const KIND_LINK0: i16 = 2;
/// Vocabulary columns of `zl_events`.
pub const KIND_BIZ_STEP: i16 = 5;
pub const KIND_DISPOSITION: i16 = 6;
pub const KIND_READ_POINT: i16 = 7;
pub const KIND_BIZ_LOCATION: i16 = 8;

/// Tag of link keys in `zl_events.refs` (identifier keys are tagged with their `IdRole`, below
/// this).
pub const TAG_LINK: i64 = 15;
/// Keys per interned value: `iid * REF_TAGS + tag`.
pub const REF_TAGS: i64 = 16;

/// The kind an identifier in `role` is interned under.
pub fn kind_of_role(role: u8) -> i16 {
    if role <= 4 { KIND_EPC } else { KIND_CLASS }
}

/// The common prefix of canonical identifiers, stored as one byte.
const DL_PREFIX: &str = "https://id.gs1.org/";

/// The stored form of an identifier: `https://id.gs1.org/` becomes `\x01`, a text that starts
/// with a byte <= 2 (or is empty) gets `\x02` in front, anything else is kept. Injective, and
/// prefix-preserving for every prefix that contains the whole `https://id.gs1.org/` or does not
/// start like it (see [`prefix_ranges`]).
pub fn compact(s: &str) -> String {
    if let Some(rest) = s.strip_prefix(DL_PREFIX) {
        let mut out = String::with_capacity(rest.len() + 1);
        out.push('\u{1}');
        out.push_str(rest);
        out
    } else if s.as_bytes().first().is_none_or(|b| *b <= 2) {
        format!("\u{2}{s}")
    } else {
        s.to_string()
    }
}

/// The inverse of [`compact`].
pub fn expand(s: &str) -> String {
    if let Some(rest) = s.strip_prefix('\u{1}') {
        format!("{DL_PREFIX}{rest}")
    } else if let Some(rest) = s.strip_prefix('\u{2}') {
        rest.to_string()
    } else {
        s.to_string()
    }
}

/// Ranges `[lo, hi]` of stored texts (see [`compact`]) whose original starts with `p`.
pub fn prefix_ranges(p: &str) -> Vec<(String, String)> {
    let end = |x: &str| format!("{x}\u{10FFFF}");
    if p.starts_with(DL_PREFIX) {
        let c = compact(p);
        let e = end(&c);
        return vec![(c, e)];
    }
    let mut out = Vec::new();
    if DL_PREFIX.starts_with(p) {
        // Every canonical identifier, and (below) the others that start with `p`.
        out.push(("\u{1}".to_string(), "\u{1}\u{10FFFF}".to_string()));
    }
    if p.as_bytes().first().is_none_or(|b| *b <= 2) {
        let c = format!("\u{2}{p}");
        let e = end(&c);
        out.push((c, e));
        if p.is_empty() {
            out.push(("\u{3}".to_string(), "\u{10FFFF}\u{10FFFF}".to_string()));
        }
    } else {
        out.push((p.to_string(), end(p)));
    }
    out
}

/// The interned text of a link: the compacted identifier with its length in front, then the
/// type, so that `prefix_ranges`-free exact keys give one (id, type) and the length-prefixed id
/// alone is the prefix of all its types.
pub fn link_key(id: &str, ty: &str) -> String {
    let c = compact(id);
    format!("{}:{c}{ty}", c.len())
}

/// The prefix of [`link_key`] shared by every type of `id`.
pub fn link_key_any_type(id: &str) -> String {
    let c = compact(id);
    format!("{}:{c}", c.len())
}

/// The stored form of an event ID: a lower-case `urn:uuid:` as its 16 bytes, anything else as
/// [`store::codec::encode_hash`] encodes it (a 16-byte result gets a 0 byte appended, so the
/// two never meet).
pub fn encode_event_id(id: &str) -> Vec<u8> {
    if let Some(u) = id.strip_prefix("urn:uuid:")
        && u.len() == 36
        && u.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
            }
        })
    {
        let hex: Vec<u8> = u.bytes().filter(|b| *b != b'-').collect();
        return hex
            .chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap_or("00"), 16).unwrap_or(0))
            .collect();
    }
    let mut v = store::codec::encode_hash(id);
    if v.len() == 16 {
        v.push(0);
    }
    v
}

/// The inverse of [`encode_event_id`].
pub fn decode_event_id(b: &[u8]) -> String {
    if b.len() == 16 {
        return store::codec::uuid_urn(b);
    }
    if b.len() == 17 && b[16] == 0 {
        return String::from_utf8_lossy(&b[..16]).into_owned();
    }
    store::codec::decode_hash(b)
}

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
-- has created the schema (schema version 3), before capturing data.
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
SELECT create_distributed_table('zl_ids', 'owner', colocate_with => 'zl_events');
SELECT create_distributed_table('zl_event_quantities', 'owner', colocate_with => 'zl_events');
SELECT create_distributed_table('zl_owner_vocab', 'owner', colocate_with => 'zl_events');
SELECT create_distributed_table('zl_owner_counts', 'owner', colocate_with => 'zl_events');
"#
}
