//! Queries: the EPCIS query language, vocabularies and the trace frontier.

use crate::schema::*;
use crate::{SqliteStore, backend, codec};
use epcis::index::IdRole;
use epcis::query::{Direction, EventQuery, IdMatch, OrderBy};
use rusqlite::Connection;
use rusqlite::types::Value;
use store::{Cursor, EventPage, OrgId, Scope, StoreError, StoredEvent, Vocabulary};

/// SQL text with its positional parameters.
#[derive(Default)]
struct Sql {
    text: String,
    params: Vec<Value>,
}

impl Sql {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }
    fn bind(&mut self, v: impl Into<Value>) {
        self.params.push(v.into());
        self.text.push('?');
    }
    /// `(?, ?, ?)`
    fn list<T: Clone + Into<Value>>(&mut self, vals: &[T]) {
        self.text.push('(');
        for (i, v) in vals.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v.clone());
        }
        self.text.push(')');
    }
}

/// Upper bound for a prefix range: every string starting with `p` sorts below it.
fn prefix_end(p: &str) -> String {
    format!("{p}\u{10FFFF}")
}

/// `(SELECT id FROM ids WHERE uri IN (...) OR (uri >= ? AND uri < ?) ...)`
fn ids_subquery(sql: &mut Sql, exact: &[String], prefixes: &[String]) {
    sql.push("(SELECT id FROM ids WHERE FALSE");
    if !exact.is_empty() {
        sql.push(" OR uri IN ");
        sql.list(exact);
    }
    for p in prefixes {
        sql.push(" OR (uri >= ");
        sql.bind(p.clone());
        sql.push(" AND uri < ");
        sql.bind(prefix_end(p));
        sql.push(")");
    }
    sql.push(")");
}

/// Like [`ids_subquery`] over the location vocabulary.
fn locations_subquery(sql: &mut Sql, exact: &[String], prefixes: &[String]) {
    sql.push(&format!(
        "(SELECT id FROM vocab WHERE kind = {VOCAB_LOCATION} AND (FALSE"
    ));
    if !exact.is_empty() {
        sql.push(" OR value IN ");
        sql.list(exact);
    }
    for p in prefixes {
        sql.push(" OR (value >= ");
        sql.bind(p.clone());
        sql.push(" AND value < ");
        sql.bind(prefix_end(p));
        sql.push(")");
    }
    sql.push("))");
}

fn owners_clause(sql: &mut Sql, col: &str, owners: &Option<Vec<i64>>) {
    if let Some(o) = owners {
        if o.is_empty() {
            sql.push(" AND FALSE");
        } else {
            sql.push(&format!(" AND {col} IN "));
            sql.list(o);
        }
    }
}

/// Owner constraint on a table keyed by owner first: all owners when the scope is unrestricted,
/// so that the primary key is used.
fn key_owners(sql: &mut Sql, col: &str, owners: &Option<Vec<i64>>) {
    match owners {
        None => sql.push(&format!(" AND {col} IN (SELECT id FROM orgs)")),
        Some(_) => owners_clause(sql, col, owners),
    }
}

/// Appends ` AND …` for every filter of the query.
fn filters(sql: &mut Sql, q: &EventQuery, owners: &Option<Vec<i64>>) {
    owners_clause(sql, "e.owner", owners);
    if !q.event_types.is_empty() {
        let codes: Vec<i64> = q.event_types.iter().filter_map(|t| type_code(t)).collect();
        if codes.is_empty() {
            sql.push(" AND FALSE");
        } else {
            sql.push(" AND e.type IN ");
            sql.list(&codes);
        }
    }
    for (col, bound, op) in [
        ("e.event_time_ms", q.ge_event_time_ms, ">="),
        ("e.event_time_ms", q.lt_event_time_ms, "<"),
        ("e.record_time_ms", q.ge_record_time_ms, ">="),
        ("e.record_time_ms", q.lt_record_time_ms, "<"),
    ] {
        if let Some(b) = bound {
            sql.push(&format!(" AND {col} {op} "));
            sql.bind(b);
        }
    }
    if !q.eq_action.is_empty() {
        let codes: Vec<i64> = q.eq_action.iter().filter_map(|a| action_code(a)).collect();
        sql.push(" AND e.action IN ");
        sql.list(&codes);
    }
    for (col, kind, vals) in [
        ("e.biz_step", VOCAB_BIZ_STEP, &q.eq_biz_step),
        ("e.disposition", VOCAB_DISPOSITION, &q.eq_disposition),
    ] {
        if !vals.is_empty() {
            sql.push(&format!(
                " AND {col} IN (SELECT id FROM vocab WHERE kind = {kind} AND value IN "
            ));
            sql.list(vals);
            sql.push(")");
        }
    }
    for (col, vals) in [
        ("e.read_point", &q.eq_read_point),
        ("e.biz_location", &q.eq_biz_location),
    ] {
        if !vals.is_empty() {
            sql.push(&format!(" AND {col} IN "));
            locations_subquery(sql, vals, &[]);
        }
    }
    for (col, vals) in [
        ("e.read_point", &q.wd_read_point),
        ("e.biz_location", &q.wd_biz_location),
    ] {
        if !vals.is_empty() {
            // A location and its sub-locations: the GLN with any extension (`…/414/<gln>/254/<ext>`).
            let sub: Vec<String> = vals
                .iter()
                .filter(|v| v.contains("/414/") && !v.contains("/254/"))
                .map(|v| format!("{v}/254/"))
                .collect();
            sql.push(&format!(" AND {col} IN "));
            locations_subquery(sql, vals, &sub);
        }
    }
    for (field, pats) in &q.matches {
        let roles: Vec<i64> = field.roles().iter().map(|r| *r as u8 as i64).collect();
        let exact: Vec<String> = pats
            .iter()
            .filter_map(|p| {
                if let IdMatch::Exact(s) = p {
                    Some(s.clone())
                } else {
                    None
                }
            })
            .collect();
        let prefixes: Vec<String> = pats
            .iter()
            .filter_map(|p| {
                if let IdMatch::Prefix(s) = p {
                    Some(s.clone())
                } else {
                    None
                }
            })
            .collect();
        sql.push(" AND e.seq IN (SELECT x.seq FROM event_ids x WHERE x.id IN ");
        ids_subquery(sql, &exact, &prefixes);
        sql.push(" AND x.role IN ");
        sql.list(&roles);
        sql.push(")");
    }
    if !q.eq_event_id.is_empty() {
        // Through the exactly-once keys (64-bit, per owner), then the full comparison.
        let keys: Vec<i64> = q.eq_event_id.iter().map(|id| codec::key64(id)).collect();
        let hashes: Vec<Vec<u8>> = q
            .eq_event_id
            .iter()
            .map(|id| codec::encode_hash(id))
            .collect();
        sql.push(" AND (e.seq IN (SELECT k.seq FROM event_keys k WHERE k.k IN ");
        sql.list(&keys);
        key_owners(sql, "k.owner", owners);
        sql.push(") OR e.seq IN (SELECT v.seq FROM event_keys_overflow v WHERE v.key IN ");
        sql.list(&q.eq_event_id);
        key_owners(sql, "v.owner", owners);
        let packed: Vec<Vec<u8>> = q
            .eq_event_id
            .iter()
            .map(|id| codec::encode_event_id(id))
            .collect();
        sql.push(")) AND (e.event_id IN ");
        sql.list(&packed);
        sql.push(" OR (e.event_id IS NULL AND e.event_hash IN ");
        sql.list(&hashes);
        sql.push("))");
    }
    if q.has_quantity_filter() {
        sql.push(" AND EXISTS (SELECT 1 FROM event_quantities qt WHERE qt.seq = e.seq");
        if !q.eq_quantity.is_empty() {
            sql.push(" AND qt.quantity IN ");
            sql.list(&q.eq_quantity);
        }
        for (bound, op) in [
            (q.gt_quantity, ">"),
            (q.ge_quantity, ">="),
            (q.lt_quantity, "<"),
            (q.le_quantity, "<="),
        ] {
            if let Some(b) = bound {
                sql.push(&format!(" AND qt.quantity {op} "));
                sql.bind(b);
            }
        }
        sql.push(")");
    }
    if q.exists_error_declaration {
        sql.push(" AND e.has_error = 1");
    }
    for (kind, list) in [
        (LINK_BIZ_TRANSACTION, &q.eq_biz_transaction),
        (LINK_SOURCE, &q.eq_source),
        (LINK_DESTINATION, &q.eq_destination),
    ] {
        for (ty, vals) in list {
            sql.push(&format!(
                " AND e.seq IN (SELECT l.seq FROM event_links l WHERE l.kind = {kind} AND l.id IN "
            ));
            ids_subquery(sql, vals, &[]);
            if !ty.is_empty() {
                sql.push(&format!(" AND l.type IN (SELECT id FROM vocab WHERE kind = {VOCAB_LINK_TYPE} AND value = "));
                sql.bind(ty.clone());
                sql.push(")");
            }
            sql.push(")");
        }
    }
}

const EVENT_COLS: &str = "e.seq, o.name, j.id, e.event_id, e.event_hash, e.type, e.event_time_ms, \
                          e.record_time_ms, e.dict, e.raw_len, e.body";
const EVENT_FROM: &str =
    " FROM events e JOIN orgs o ON o.id = e.owner JOIN jobs j ON j.jid = e.job";

fn event_from_row(
    s: &SqliteStore,
    c: &Connection,
    r: &rusqlite::Row<'_>,
) -> Result<StoredEvent, StoreError> {
    #[allow(clippy::redundant_closure)]
    let get = |e: rusqlite::Error| backend(e);
    let owner: String = r.get(1).map_err(get)?;
    let event_id: Option<Vec<u8>> = r.get(3).map_err(get)?;
    let hash: Vec<u8> = r.get(4).map_err(get)?;
    let type_code: i64 = r.get(5).map_err(get)?;
    let dict: i64 = r.get(8).map_err(get)?;
    let raw_len: i64 = r.get(9).map_err(get)?;
    let data = r.get_ref(10).map_err(get)?.as_blob().map_err(backend)?;
    let d = s.dict(dict, c)?;
    let body = codec::decompress(data, raw_len as usize, d.as_deref()).map_err(backend)?;
    let event_hash = codec::decode_hash(&hash);
    Ok(StoredEvent {
        seq: r.get(0).map_err(get)?,
        owner: OrgId::parse(&owner).map_err(backend)?,
        capture_id: r.get(2).map_err(get)?,
        event_id: event_id
            .map(|b| codec::decode_event_id(&b))
            .unwrap_or_else(|| event_hash.clone()),
        event_hash,
        event_type: type_name(type_code).unwrap_or("ObjectEvent").to_string(),
        event_time_ms: r.get(6).map_err(get)?,
        record_time_ms: r.get(7).map_err(get)?,
        body,
    })
}

fn run_events(s: &SqliteStore, c: &Connection, sql: &Sql) -> Result<Vec<StoredEvent>, StoreError> {
    let mut st = c.prepare_cached(&sql.text).map_err(backend)?;
    let mut rows = st
        .query(rusqlite::params_from_iter(sql.params.iter()))
        .map_err(backend)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(backend)? {
        out.push(event_from_row(s, c, r)?);
    }
    Ok(out)
}

pub(crate) fn query_events(
    s: &SqliteStore,
    scope: &Scope,
    q: &EventQuery,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<EventPage, StoreError> {
    let limit = limit.max(1);
    s.with_reader_s(|c| {
        let owners = SqliteStore::scope_owners(c, scope).map_err(backend)?;
        let col = match q.order_by {
            OrderBy::EventTime => "e.event_time_ms",
            OrderBy::RecordTime => "e.record_time_ms",
        };
        let (dir, cmp) = match q.order_direction {
            Direction::Asc => ("ASC", ">"),
            Direction::Desc => ("DESC", "<"),
        };
        // How many may still be returned under eventCountLimit.
        let mut remaining = usize::MAX;
        if let Some(total) = q.event_count_limit {
            let before = match after {
                None => 0,
                Some(cur) => {
                    let mut sql = Sql::default();
                    sql.push("SELECT count(*) FROM (SELECT 1 FROM events e WHERE TRUE");
                    filters(&mut sql, q, &owners);
                    let not_after = if cmp == ">" { "<" } else { ">" };
                    sql.push(&format!(" AND ({col} {not_after} "));
                    sql.bind(cur.sort_key_ms);
                    sql.push(&format!(" OR ({col} = "));
                    sql.bind(cur.sort_key_ms);
                    sql.push(&format!(" AND e.seq {not_after}= "));
                    sql.bind(cur.seq);
                    sql.push(&format!(")) LIMIT {total}) AS limited"));
                    let mut st = c.prepare_cached(&sql.text).map_err(backend)?;
                    let n: i64 = st
                        .query_row(rusqlite::params_from_iter(sql.params.iter()), |r| r.get(0))
                        .map_err(backend)?;
                    n as usize
                }
            };
            remaining = total.saturating_sub(before);
            if remaining == 0 {
                return Ok(EventPage {
                    events: Vec::new(),
                    next: None,
                });
            }
        }
        let take = limit.min(remaining);
        let mut sql = Sql::default();
        sql.push(&format!("SELECT {EVENT_COLS}{EVENT_FROM} WHERE TRUE"));
        filters(&mut sql, q, &owners);
        if let Some(cur) = after {
            sql.push(&format!(" AND ({col} {cmp} "));
            sql.bind(cur.sort_key_ms);
            sql.push(&format!(" OR ({col} = "));
            sql.bind(cur.sort_key_ms);
            sql.push(&format!(" AND e.seq {cmp} "));
            sql.bind(cur.seq);
            sql.push("))");
        }
        sql.push(&format!(
            " ORDER BY {col} {dir}, e.seq {dir} LIMIT {}",
            take + 1
        ));
        let mut events = run_events(s, c, &sql)?;
        let more = events.len() > take;
        events.truncate(take);
        let next = if more && take < remaining {
            events.last().map(|e| Cursor {
                sort_key_ms: match q.order_by {
                    OrderBy::EventTime => e.event_time_ms,
                    OrderBy::RecordTime => e.record_time_ms,
                },
                seq: e.seq,
            })
        } else {
            None
        };
        Ok(EventPage { events, next })
    })
}

pub(crate) fn distinct_values(
    s: &SqliteStore,
    scope: &Scope,
    vocabulary: Vocabulary,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let after = after.unwrap_or("");
    s.with_reader_s(|c| {
        let owners = SqliteStore::scope_owners(c, scope).map_err(backend)?;
        let mut sql = Sql::default();
        let (kind, table) = match vocabulary {
            Vocabulary::EventType => {
                let mut sql = Sql::default();
                sql.push("SELECT DISTINCT value FROM owner_vocab WHERE kind = 0");
                owners_clause(&mut sql, "owner", &owners);
                let mut st = c.prepare_cached(&sql.text).map_err(backend)?;
                let codes = st
                    .query_map(rusqlite::params_from_iter(sql.params.iter()), |r| r.get::<_, i64>(0))
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)?;
                let mut names: Vec<String> = codes
                    .into_iter()
                    .filter_map(type_name)
                    .filter(|n| *n > after)
                    .map(str::to_string)
                    .collect();
                names.sort();
                names.truncate(limit);
                return Ok(names);
            }
            Vocabulary::BizStep => (OV_BIZ_STEP, "vocab"),
            Vocabulary::Disposition => (OV_DISPOSITION, "vocab"),
            Vocabulary::ReadPoint => (OV_READ_POINT, "vocab"),
            Vocabulary::BizLocation => (OV_BIZ_LOCATION, "vocab"),
            Vocabulary::Epc => {
                let roles = [IdRole::Epc, IdRole::Parent, IdRole::Child, IdRole::Input, IdRole::Output];
                let roles: Vec<i64> = roles.iter().map(|r| *r as u8 as i64).collect();
                sql.push("SELECT i.uri FROM ids i WHERE i.uri > ");
                sql.bind(after.to_string());
                sql.push(" AND EXISTS (SELECT 1 FROM event_ids x JOIN events e ON e.seq = x.seq WHERE x.id = i.id AND x.role IN ");
                sql.list(&roles);
                owners_clause(&mut sql, "e.owner", &owners);
                sql.push(&format!(") ORDER BY i.uri LIMIT {limit}"));
                return run_strings(c, &sql);
            }
        };
        let col = if table == "vocab" { "value" } else { "uri" };
        sql.push(&format!("SELECT t.{col} FROM {table} t WHERE t.{col} > "));
        sql.bind(after.to_string());
        sql.push(&format!(" AND t.id IN (SELECT value FROM owner_vocab WHERE kind = {kind}"));
        owners_clause(&mut sql, "owner", &owners);
        sql.push(&format!(") ORDER BY t.{col} LIMIT {limit}"));
        run_strings(c, &sql)
    })
}

fn run_strings(c: &Connection, sql: &Sql) -> Result<Vec<String>, StoreError> {
    let mut st = c.prepare_cached(&sql.text).map_err(backend)?;
    st.query_map(rusqlite::params_from_iter(sql.params.iter()), |r| {
        r.get::<_, String>(0)
    })
    .map_err(backend)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend)
}

/// Identifiers per SQL statement (bound parameters).
const FRONTIER_CHUNK: usize = 500;

pub(crate) fn events_touching(
    s: &SqliteStore,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<StoredEvent>, StoreError> {
    s.with_reader_s(|c| {
        let owners = SqliteStore::scope_owners(c, scope).map_err(backend)?;
        let mut seqs: Vec<i64> = Vec::new();
        for chunk in ids.chunks(FRONTIER_CHUNK) {
            let mut sql = Sql::default();
            sql.push("SELECT DISTINCT x.seq FROM event_ids x WHERE x.id IN ");
            ids_subquery(&mut sql, chunk, &[]);
            let mut st = c.prepare_cached(&sql.text).map_err(backend)?;
            let found = st
                .query_map(rusqlite::params_from_iter(sql.params.iter()), |r| {
                    r.get::<_, i64>(0)
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            seqs.extend(found);
        }
        seqs.sort_unstable();
        seqs.dedup();
        let mut out = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(FRONTIER_CHUNK) {
            let mut sql = Sql::default();
            sql.push(&format!("SELECT {EVENT_COLS}{EVENT_FROM} WHERE e.seq IN "));
            sql.list(chunk);
            owners_clause(&mut sql, "e.owner", &owners);
            sql.push(" ORDER BY e.seq");
            out.extend(run_events(s, c, &sql)?);
        }
        Ok(out)
    })
}
