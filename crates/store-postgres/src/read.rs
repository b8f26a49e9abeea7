//! Queries: the EPCIS query language, vocabularies and the trace frontier. Every statement is
//! one round trip; lists are bound as arrays (`= ANY($n)`), so the SQL text depends only on which
//! filters a query uses (and prepared statements are reused).

use crate::schema::*;
use crate::{Conn, PostgresStore, backend, codec, pg};
use epcis::index::IdRole;
use epcis::query::{Direction, EventQuery, IdMatch, OrderBy};
use postgres::types::ToSql;
use store::{Cursor, EventPage, OrgId, Scope, StoreError, StoredEvent, Vocabulary};

/// SQL text with its positional parameters.
#[derive(Default)]
struct Sql {
    text: String,
    params: Vec<Box<dyn ToSql + Sync>>,
}

impl Sql {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }
    /// `$n::ty`
    fn bind<T: ToSql + Sync + 'static>(&mut self, v: T, ty: &str) {
        self.params.push(Box::new(v));
        self.text.push_str(&format!("${}::{ty}", self.params.len()));
    }
    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// Upper bound for a prefix range: with `COLLATE "C"` every string starting with `p` sorts below.
fn prefix_end(p: &str) -> String {
    format!("{p}\u{10FFFF}")
}

/// `(col = ANY($a) OR (col >= $b AND col < $c) ...)`
fn id_cond(sql: &mut Sql, col: &str, exact: &[String], prefixes: &[String]) {
    sql.push("(false");
    if !exact.is_empty() {
        sql.push(&format!(" OR {col} = ANY("));
        sql.bind(exact.to_vec(), "text[]");
        sql.push(")");
    }
    for p in prefixes {
        sql.push(&format!(" OR ({col} >= "));
        sql.bind(p.clone(), "text");
        sql.push(&format!(" AND {col} < "));
        sql.bind(prefix_end(p), "text");
        sql.push(")");
    }
    sql.push(")");
}

fn owners_clause(sql: &mut Sql, col: &str, owners: &Option<Vec<i32>>) {
    if let Some(o) = owners {
        sql.push(&format!(" AND {col} = ANY("));
        sql.bind(o.clone(), "int4[]");
        sql.push(")");
    }
}

/// Appends ` AND …` for every filter of the query.
fn filters(sql: &mut Sql, q: &EventQuery, owners: &Option<Vec<i32>>) {
    owners_clause(sql, "e.owner", owners);
    if !q.event_types.is_empty() {
        let codes: Vec<i16> = q.event_types.iter().filter_map(|t| type_code(t)).collect();
        sql.push(" AND e.type = ANY(");
        sql.bind(codes, "int2[]");
        sql.push(")");
    }
    for (col, bound, op) in [
        ("e.event_time_ms", q.ge_event_time_ms, ">="),
        ("e.event_time_ms", q.lt_event_time_ms, "<"),
        ("e.record_time_ms", q.ge_record_time_ms, ">="),
        ("e.record_time_ms", q.lt_record_time_ms, "<"),
    ] {
        if let Some(b) = bound {
            sql.push(&format!(" AND {col} {op} "));
            sql.bind(b, "int8");
        }
    }
    if !q.eq_action.is_empty() {
        let codes: Vec<i16> = q.eq_action.iter().filter_map(|a| action_code(a)).collect();
        sql.push(" AND e.action = ANY(");
        sql.bind(codes, "int2[]");
        sql.push(")");
    }
    for (col, vals) in [
        ("e.biz_step", &q.eq_biz_step),
        ("e.disposition", &q.eq_disposition),
        ("e.read_point", &q.eq_read_point),
        ("e.biz_location", &q.eq_biz_location),
    ] {
        if !vals.is_empty() {
            sql.push(&format!(" AND {col} = ANY("));
            sql.bind(vals.clone(), "text[]");
            sql.push(")");
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
            sql.push(" AND ");
            id_cond(sql, col, vals, &sub);
        }
    }
    for (field, pats) in &q.matches {
        let roles: Vec<i16> = field.roles().iter().map(|r| *r as u8 as i16).collect();
        let exact: Vec<String> = pats
            .iter()
            .filter_map(|p| match p {
                IdMatch::Exact(s) => Some(s.clone()),
                IdMatch::Prefix(_) => None,
            })
            .collect();
        let prefixes: Vec<String> = pats
            .iter()
            .filter_map(|p| match p {
                IdMatch::Prefix(s) => Some(s.clone()),
                IdMatch::Exact(_) => None,
            })
            .collect();
        sql.push(" AND (e.owner, e.seq) IN (SELECT x.owner, x.seq FROM zl_event_ids x WHERE ");
        id_cond(sql, "x.id", &exact, &prefixes);
        sql.push(" AND x.role = ANY(");
        sql.bind(roles, "int2[]");
        sql.push("))");
    }
    if !q.eq_event_id.is_empty() {
        let keys: Vec<Vec<u8>> = q
            .eq_event_id
            .iter()
            .map(|id| codec::encode_hash(id))
            .collect();
        sql.push(" AND e.event_id = ANY(");
        sql.bind(keys, "bytea[]");
        sql.push(")");
    }
    if q.has_quantity_filter() {
        sql.push(
            " AND EXISTS (SELECT 1 FROM zl_event_quantities qt \
             WHERE qt.owner = e.owner AND qt.seq = e.seq",
        );
        if !q.eq_quantity.is_empty() {
            sql.push(" AND qt.quantity = ANY(");
            sql.bind(q.eq_quantity.clone(), "float8[]");
            sql.push(")");
        }
        for (bound, op) in [
            (q.gt_quantity, ">"),
            (q.ge_quantity, ">="),
            (q.lt_quantity, "<"),
            (q.le_quantity, "<="),
        ] {
            if let Some(b) = bound {
                sql.push(&format!(" AND qt.quantity {op} "));
                sql.bind(b, "float8");
            }
        }
        sql.push(")");
    }
    if q.exists_error_declaration {
        sql.push(" AND e.has_error");
    }
    for (kind, list) in [
        (LINK_BIZ_TRANSACTION, &q.eq_biz_transaction),
        (LINK_SOURCE, &q.eq_source),
        (LINK_DESTINATION, &q.eq_destination),
    ] {
        for (ty, vals) in list {
            sql.push(&format!(
                " AND (e.owner, e.seq) IN (SELECT l.owner, l.seq FROM zl_event_links l \
                 WHERE l.kind = {kind} AND l.id = ANY("
            ));
            sql.bind(vals.clone(), "text[]");
            sql.push(")");
            if !ty.is_empty() {
                sql.push(" AND l.type = ");
                sql.bind(ty.clone(), "text");
            }
            sql.push(")");
        }
    }
}

const EVENT_COLS: &str = "e.seq, o.name, j.id, e.event_id, e.event_hash, e.type, e.event_time_ms, \
                          e.record_time_ms, e.dict, e.raw_len, e.body";
const EVENT_FROM: &str = " FROM zl_events e JOIN zl_orgs o ON o.id = e.owner \
                          JOIN zl_jobs j ON j.owner = e.owner AND j.jid = e.job";

fn event_from_row(
    s: &PostgresStore,
    c: &mut Conn,
    r: &postgres::Row,
) -> Result<StoredEvent, StoreError> {
    let owner: &str = r.get(1);
    let event_id: &[u8] = r.get(3);
    let hash: &[u8] = r.get(4);
    let type_code: i16 = r.get(5);
    let dict: i32 = r.get(8);
    let raw_len: i32 = r.get(9);
    let data: &[u8] = r.get(10);
    let d = s.dict(c, dict)?;
    let body = codec::decompress(data, raw_len.max(0) as usize, d.as_deref()).map_err(backend)?;
    Ok(StoredEvent {
        seq: r.get(0),
        owner: OrgId::parse(owner).map_err(backend)?,
        capture_id: r.get(2),
        event_id: codec::decode_hash(event_id),
        event_hash: codec::decode_hash(hash),
        event_type: type_name(type_code).unwrap_or("ObjectEvent").to_string(),
        event_time_ms: r.get(6),
        record_time_ms: r.get(7),
        body,
    })
}

fn run_events(s: &PostgresStore, c: &mut Conn, sql: &Sql) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = {
        let Conn { client, stmts, .. } = c;
        let st = stmts.get(client, &sql.text)?;
        client.query(&st, &sql.refs()).map_err(pg)?
    };
    rows.iter().map(|r| event_from_row(s, c, r)).collect()
}

pub(crate) fn query_events(
    s: &PostgresStore,
    scope: &Scope,
    q: &EventQuery,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<EventPage, StoreError> {
    let limit = limit.max(1);
    s.read(|c| {
        let owners = s.scope_owners(c, scope)?;
        let col = match q.order_by {
            OrderBy::EventTime => "e.event_time_ms",
            OrderBy::RecordTime => "e.record_time_ms",
        };
        let (dir, cmp) = match q.order_direction {
            Direction::Asc => ("ASC", ">"),
            Direction::Desc => ("DESC", "<"),
        };
        // How many may still be returned under eventCountLimit: the total minus those on
        // earlier pages (counted from the cursor, so any server can answer).
        let mut remaining = usize::MAX;
        if let Some(total) = q.event_count_limit {
            let before = match after {
                None => 0,
                Some(cur) => {
                    let mut sql = Sql::default();
                    sql.push("SELECT count(*) FROM (SELECT 1 FROM zl_events e WHERE true");
                    filters(&mut sql, q, &owners);
                    let not_after = if cmp == ">" { "<" } else { ">" };
                    sql.push(&format!(" AND ({col} {not_after} "));
                    sql.bind(cur.sort_key_ms, "int8");
                    sql.push(&format!(" OR ({col} = "));
                    sql.bind(cur.sort_key_ms, "int8");
                    sql.push(&format!(" AND e.seq {not_after}= "));
                    sql.bind(cur.seq, "int8");
                    sql.push(&format!(")) LIMIT {total}) AS before_cursor"));
                    let Conn { client, stmts, .. } = c;
                    let st = stmts.get(client, &sql.text)?;
                    let n: i64 = client.query_one(&st, &sql.refs()).map_err(pg)?.get(0);
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
        sql.push(&format!("SELECT {EVENT_COLS}{EVENT_FROM} WHERE true"));
        filters(&mut sql, q, &owners);
        if let Some(cur) = after {
            sql.push(&format!(" AND ({col} {cmp} "));
            sql.bind(cur.sort_key_ms, "int8");
            sql.push(&format!(" OR ({col} = "));
            sql.bind(cur.sort_key_ms, "int8");
            sql.push(&format!(" AND e.seq {cmp} "));
            sql.bind(cur.seq, "int8");
            sql.push("))");
        }
        sql.push(&format!(" ORDER BY {col} {dir}, e.seq {dir} LIMIT "));
        sql.bind((take + 1) as i64, "int8");
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
    s: &PostgresStore,
    scope: &Scope,
    vocabulary: Vocabulary,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let after = after.unwrap_or("").to_string();
    s.read(|c| {
        let owners = s.scope_owners(c, scope)?;
        let mut sql = Sql::default();
        let kind = match vocabulary {
            Vocabulary::EventType => OV_TYPE,
            Vocabulary::BizStep => OV_BIZ_STEP,
            Vocabulary::Disposition => OV_DISPOSITION,
            Vocabulary::ReadPoint => OV_READ_POINT,
            Vocabulary::BizLocation => OV_BIZ_LOCATION,
            Vocabulary::Epc => -1,
        };
        if kind >= 0 {
            sql.push("SELECT DISTINCT v.value FROM zl_owner_vocab v WHERE v.kind = ");
            sql.bind(kind, "int2");
            sql.push(" AND v.value > ");
            sql.bind(after.clone(), "text");
            owners_clause(&mut sql, "v.owner", &owners);
            sql.push(" ORDER BY v.value LIMIT ");
        } else {
            let roles = [
                IdRole::Epc,
                IdRole::Parent,
                IdRole::Child,
                IdRole::Input,
                IdRole::Output,
            ];
            let roles: Vec<i16> = roles.iter().map(|r| *r as u8 as i16).collect();
            sql.push("SELECT DISTINCT x.id FROM zl_event_ids x WHERE x.id > ");
            sql.bind(after.clone(), "text");
            sql.push(" AND x.role = ANY(");
            sql.bind(roles, "int2[]");
            sql.push(")");
            owners_clause(&mut sql, "x.owner", &owners);
            sql.push(" ORDER BY x.id LIMIT ");
        }
        sql.bind(limit as i64, "int8");
        let Conn { client, stmts, .. } = c;
        let st = stmts.get(client, &sql.text)?;
        let rows = client.query(&st, &sql.refs()).map_err(pg)?;
        Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
    })
}

pub(crate) fn events_touching(
    s: &PostgresStore,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<StoredEvent>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    s.read(|c| {
        let owners = s.scope_owners(c, scope)?;
        let mut sql = Sql::default();
        sql.push(&format!(
            "SELECT {EVENT_COLS}{EVENT_FROM} WHERE (e.owner, e.seq) IN \
             (SELECT x.owner, x.seq FROM zl_event_ids x WHERE x.id = ANY("
        ));
        sql.bind(ids.to_vec(), "text[]");
        sql.push("))");
        owners_clause(&mut sql, "e.owner", &owners);
        sql.push(" ORDER BY e.seq");
        run_events(s, c, &sql)
    })
}
