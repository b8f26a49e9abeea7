//! Queries: the EPCIS query language, vocabularies and the trace frontier. Every statement is
//! one round trip; lists are bound as arrays (`= ANY($n)`), so the SQL text depends only on which
//! filters a query uses (and prepared statements are reused).

use crate::schema::*;
use crate::{Conn, PostgresStore, backend, codec, pg};
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

fn owners_clause(sql: &mut Sql, col: &str, owners: &Option<Vec<i32>>) {
    if let Some(o) = owners {
        sql.push(&format!(" AND {col} = ANY("));
        sql.bind(o.clone(), "int4[]");
        sql.push(")");
    }
}

/// One filter's interned texts to look up: `(kind, lo, hi)` ranges of `zl_ids.id` (an exact
/// text is `lo == hi`), and how a found `(kind, iid)` becomes the values the filter compares
/// with (`zl_events` vocabulary columns: the iid; `refs`: `iid * 16 + tag` for each tag).
struct Need {
    ranges: Vec<(i16, String, String)>,
    tags: Option<Vec<i64>>,
}

impl Need {
    fn keys(&self, kind: i16, iid: i64, out: &mut Vec<i64>) {
        match &self.tags {
            None => out.push(iid),
            Some(tags) => {
                for t in tags {
                    // Role tags only apply to the kind their role is interned under.
                    let applies = if *t == TAG_LINK {
                        (KIND_LINK0..KIND_LINK0 + 3).contains(&kind)
                    } else {
                        kind_of_role(*t as u8) == kind
                    };
                    if applies {
                        out.push(iid * REF_TAGS + t);
                    }
                }
            }
        }
    }
}

fn exact(kind: i16, v: &str) -> (i16, String, String) {
    (kind, v.to_string(), v.to_string())
}

/// The lookups of a query, in the order [`filters`] uses them.
fn needs(q: &EventQuery) -> Vec<Need> {
    let mut out = Vec::new();
    for (kind, vals) in [
        (KIND_BIZ_STEP, &q.eq_biz_step),
        (KIND_DISPOSITION, &q.eq_disposition),
        (KIND_READ_POINT, &q.eq_read_point),
        (KIND_BIZ_LOCATION, &q.eq_biz_location),
    ] {
        if !vals.is_empty() {
            out.push(Need {
                ranges: vals.iter().map(|v| exact(kind, v)).collect(),
                tags: None,
            });
        }
    }
    for (kind, vals) in [
        (KIND_READ_POINT, &q.wd_read_point),
        (KIND_BIZ_LOCATION, &q.wd_biz_location),
    ] {
        if !vals.is_empty() {
            // A location and its sub-locations: the GLN with any extension (`…/414/<gln>/254/<ext>`).
            let mut ranges: Vec<_> = vals.iter().map(|v| exact(kind, v)).collect();
            for v in vals
                .iter()
                .filter(|v| v.contains("/414/") && !v.contains("/254/"))
            {
                // Vocabulary values are interned as they are (not compacted).
                let p = format!("{v}/254/");
                let e = format!("{p}\u{10FFFF}");
                ranges.push((kind, p, e));
            }
            out.push(Need { ranges, tags: None });
        }
    }
    for (field, pats) in &q.matches {
        let roles: Vec<u8> = field.roles().iter().map(|r| *r as u8).collect();
        let mut kinds: Vec<i16> = roles.iter().map(|r| kind_of_role(*r)).collect();
        kinds.sort();
        kinds.dedup();
        let mut ranges = Vec::new();
        for &kind in &kinds {
            for p in pats {
                match p {
                    IdMatch::Exact(s) => ranges.push(exact(kind, &compact(s))),
                    IdMatch::Prefix(s) => {
                        ranges.extend(prefix_ranges(s).into_iter().map(|(lo, hi)| (kind, lo, hi)))
                    }
                }
            }
        }
        out.push(Need {
            ranges,
            tags: Some(roles.iter().map(|r| *r as i64).collect()),
        });
    }
    for (link, list) in [
        (LINK_BIZ_TRANSACTION, &q.eq_biz_transaction),
        (LINK_SOURCE, &q.eq_source),
        (LINK_DESTINATION, &q.eq_destination),
    ] {
        let kind = KIND_LINK0 + link;
        for (ty, vals) in list {
            let ranges = vals
                .iter()
                .map(|v| {
                    if ty.is_empty() {
                        let p = link_key_any_type(v);
                        let e = format!("{p}\u{10FFFF}");
                        (kind, p, e)
                    } else {
                        exact(kind, &link_key(v, ty))
                    }
                })
                .collect();
            out.push(Need {
                ranges,
                tags: Some(vec![TAG_LINK]),
            });
        }
    }
    out
}

/// Look the needs up in `zl_ids` (one statement for all of them). None when one of them finds
/// nothing: every filter must match, so the answer is empty.
fn resolve(
    c: &mut Conn,
    needs: &[Need],
    owners: &Option<Vec<i32>>,
) -> Result<Option<Vec<Vec<i64>>>, StoreError> {
    if needs.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let (mut slot, mut kind, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, n) in needs.iter().enumerate() {
        for (k, l, h) in &n.ranges {
            slot.push(i as i32);
            kind.push(*k);
            lo.push(l.as_str());
            hi.push(h.as_str());
        }
    }
    let mut text = String::from(
        "SELECT u.slot, z.kind, z.iid FROM unnest($1::int4[], $2::int2[], $3::text[], $4::text[]) \
         AS u(slot, kind, lo, hi) JOIN zl_ids z ON z.kind = u.kind \
         AND z.id >= u.lo COLLATE \"C\" AND z.id <= u.hi COLLATE \"C\"",
    );
    if owners.is_some() {
        text.push_str(" AND z.owner = ANY($5::int4[])");
    }
    let Conn { client, stmts, .. } = c;
    let st = stmts.get(client, &text)?;
    let rows = match owners {
        None => client.query(&st, &[&slot, &kind, &lo, &hi]),
        Some(o) => client.query(&st, &[&slot, &kind, &lo, &hi, o]),
    }
    .map_err(pg)?;
    let mut out: Vec<Vec<i64>> = vec![Vec::new(); needs.len()];
    for r in rows {
        let i = r.get::<_, i32>(0) as usize;
        needs[i].keys(r.get(1), r.get(2), &mut out[i]);
    }
    for v in &mut out {
        if v.is_empty() {
            return Ok(None);
        }
        v.sort_unstable();
        v.dedup();
    }
    Ok(Some(out))
}

/// Appends ` AND …` for every filter of the query; `keys` are the resolved [`needs`].
fn filters(sql: &mut Sql, q: &EventQuery, owners: &Option<Vec<i32>>, keys: &[Vec<i64>]) {
    let mut keys = keys.iter();
    let mut next = || keys.next().cloned().unwrap_or_default();
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
        ("e.read_point", &q.wd_read_point),
        ("e.biz_location", &q.wd_biz_location),
    ] {
        if !vals.is_empty() {
            sql.push(&format!(" AND {col} = ANY("));
            sql.bind(next(), "int8[]");
            sql.push(")");
        }
    }
    for _ in &q.matches {
        sql.push(" AND e.refs && ");
        sql.bind(next(), "int8[]");
    }
    if !q.eq_event_id.is_empty() {
        let keys: Vec<Vec<u8>> = q.eq_event_id.iter().map(|id| encode_event_id(id)).collect();
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
    for list in [&q.eq_biz_transaction, &q.eq_source, &q.eq_destination] {
        for _ in list {
            sql.push(" AND e.refs && ");
            sql.bind(next(), "int8[]");
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
        event_id: decode_event_id(event_id),
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
        let Some(keys) = resolve(c, &needs(q), &owners)? else {
            return Ok(EventPage {
                events: Vec::new(),
                next: None,
            });
        };
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
                    filters(&mut sql, q, &owners, &keys);
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
        filters(&mut sql, q, &owners, &keys);
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
            return epc_values(c, &owners, &after, limit);
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
        // Every role of each identifier: the EPC roles under KIND_EPC, the others under
        // KIND_CLASS.
        let mut ranges = Vec::with_capacity(ids.len() * 2);
        for id in ids {
            let k = compact(id);
            ranges.push(exact(KIND_EPC, &k));
            ranges.push(exact(KIND_CLASS, &k));
        }
        let need = Need {
            ranges,
            tags: Some((0..TAG_LINK).collect()),
        };
        let Some(keys) = resolve(c, std::slice::from_ref(&need), &owners)? else {
            return Ok(Vec::new());
        };
        let mut sql = Sql::default();
        sql.push(&format!("SELECT {EVENT_COLS}{EVENT_FROM} WHERE e.refs && "));
        sql.bind(keys.into_iter().next().unwrap_or_default(), "int8[]");
        owners_clause(&mut sql, "e.owner", &owners);
        sql.push(" ORDER BY e.seq");
        run_events(s, c, &sql)
    })
}

/// The EPC vocabulary: distinct identifiers interned under [`KIND_EPC`], in the bytewise order
/// of the original text. Stored texts are compacted, which keeps the order only inside each of
/// three groups (`\x01…`: canonical identifiers; `\x02…`: texts starting with a byte <= 2;
/// the rest), so each group is read in order after `after` and the three are merged.
fn epc_values(
    c: &mut Conn,
    owners: &Option<Vec<i32>>,
    after: &str,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let dl = "https://id.gs1.org/";
    let max = "\u{10FFFF}\u{10FFFF}".to_string();
    // [inclusive lower bound, exclusive upper bound) of stored texts, one per group that can
    // hold values after `after` (the value equal to `after` is dropped below).
    let mut groups: Vec<(String, String)> = Vec::new();
    if after.starts_with(dl) {
        groups.push((compact(after), "\u{2}".into()));
    } else if after < dl {
        groups.push(("\u{1}".into(), "\u{2}".into()));
    }
    if after.as_bytes().first().is_none_or(|b| *b <= 2) {
        groups.push((format!("\u{2}{after}"), "\u{3}".into()));
        groups.push(("\u{3}".into(), max));
    } else {
        groups.push((after.to_string(), max));
    }
    let mut sql = String::from(
        "SELECT DISTINCT z.id FROM zl_ids z WHERE z.kind = 0 AND z.id >= $1 COLLATE \"C\" \
         AND z.id < $2 COLLATE \"C\"",
    );
    if owners.is_some() {
        sql.push_str(" AND z.owner = ANY($4::int4[])");
    }
    sql.push_str(" ORDER BY z.id LIMIT $3");
    let Conn { client, stmts, .. } = c;
    let st = stmts.get(client, &sql)?;
    let mut out: Vec<String> = Vec::new();
    let lim = limit as i64 + 1;
    for (lo, hi) in &groups {
        let rows = match owners {
            None => client.query(&st, &[lo, hi, &lim]),
            Some(o) => client.query(&st, &[lo, hi, &lim, o]),
        }
        .map_err(pg)?;
        out.extend(rows.iter().map(|r| expand(r.get::<_, &str>(0))));
    }
    out.retain(|v| v.as_str() > after);
    out.sort();
    out.dedup();
    out.truncate(limit);
    Ok(out)
}
