//! Capture: one transaction per document, bulk inserts through `unnest` arrays, exactly-once by
//! the database's unique constraints.

use crate::schema::*;
use crate::{Conn, PostgresStore, backend, codec, pg};
use postgres::error::SqlState;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use store::{CaptureJob, ErrorBehaviour, JobStatus, NewCapture, StoreError};

/// Longest capture id.
const CAPTURE_ID_LEN_MAX: usize = 128;
/// Errors kept in one job.
const JOB_ERRORS_MAX: usize = 1_000;
/// Rows per index-table insert statement.
const INDEX_CHUNK: usize = 200_000;
/// Attempts of a capture transaction that hit a deadlock or serialization failure (two servers
/// capturing overlapping documents at once).
/// From the second attempt on, captures of one owner take a transaction-level advisory lock, so
/// the retries of colliding captures run one after another and cannot deadlock again.
const ATTEMPTS_MAX: usize = 8;
/// First key of the advisory lock that serialises retried captures of one owner.
const CAPTURE_RETRY_LOCK: i32 = 0x7a6c_6361; // "zlca"

/// What can be computed before talking to the database.
struct Prepared {
    event_id: Vec<u8>,
    hash: Vec<u8>,
    body: Vec<u8>,
    type_code: i16,
    action: Option<i16>,
}

pub(crate) fn capture(s: &PostgresStore, c: NewCapture) -> Result<CaptureJob, StoreError> {
    if c.events.len() > s.limits.capture_events_max {
        return Err(StoreError::LimitExceeded(format!(
            "a capture may hold at most {} events, this one has {}",
            s.limits.capture_events_max,
            c.events.len()
        )));
    }
    if c.id.is_empty() || c.id.len() > CAPTURE_ID_LEN_MAX {
        return Err(StoreError::Invalid(format!(
            "capture id must be 1 to {CAPTURE_ID_LEN_MAX} bytes"
        )));
    }
    let mut errors = c.errors.clone();
    errors.truncate(JOB_ERRORS_MAX);
    let store_events = c.behaviour == ErrorBehaviour::Proceed || c.errors.is_empty();
    let events: &[store::NewEvent] = if store_events { &c.events } else { &[] };

    let mut conn = s.live_conn()?;
    let dict = current_or_trained_dict(s, &mut conn, events)?;
    let bodies: Vec<&str> = events.iter().map(|e| e.body.as_str()).collect();
    let compressed = codec::compress_all(&bodies, dict.as_deref()).map_err(backend)?;
    let mut prepared = Vec::with_capacity(events.len());
    for (e, body) in events.iter().zip(compressed) {
        let type_code = type_code(&e.event_type).ok_or_else(|| {
            StoreError::Invalid(format!("type: unknown event type {:?}", e.event_type))
        })?;
        let action = match &e.action {
            Some(a) => {
                Some(action_code(a).ok_or_else(|| StoreError::Invalid(format!("action: {a:?}")))?)
            }
            None => None,
        };
        if let Some(r) = e.ids.iter().find(|r| r.role as u8 as i64 >= TAG_LINK) {
            return Err(StoreError::Invalid(format!(
                "ids: role {:?} has no key tag in this store",
                r.role
            )));
        }
        prepared.push(Prepared {
            event_id: encode_event_id(&e.event_id),
            hash: codec::encode_hash(&e.event_hash),
            body,
            type_code,
            action,
        });
    }
    let dict_id = dict.as_ref().map(|d| d.id).unwrap_or(0);
    let owner = s.org_id_create(&mut conn, &c.owner)?;

    let mut attempt = 0;
    loop {
        attempt += 1;
        let serialise = attempt > 1;
        match write(
            s, &mut conn, owner, &c, events, &prepared, dict_id, &errors, serialise,
        ) {
            Ok(Outcome::Stored(job, vocab, interned)) => {
                if let Ok(mut cache) = s.iids.lock() {
                    if cache.len() + interned.len() > crate::IID_CACHE_MAX {
                        cache.clear();
                    }
                    if interned.len() <= crate::IID_CACHE_MAX {
                        cache.extend(interned.into_iter().map(|((k, t), v)| ((owner, k, t), v)));
                    }
                }
                if let Ok(mut cache) = s.owner_vocab.lock() {
                    if cache.len() + vocab.len() > crate::OWNER_VOCAB_CACHE_MAX {
                        cache.clear();
                    }
                    cache.extend(vocab.into_iter().map(|(k, v)| (owner, k, v)));
                }
                return Ok(job);
            }
            Ok(Outcome::IdTaken) => {
                return Err(StoreError::Invalid(format!(
                    "capture id {:?} is already taken",
                    c.id
                )));
            }
            Err(e)
                if attempt < ATTEMPTS_MAX
                    && matches!(
                        e.code(),
                        Some(&SqlState::T_R_DEADLOCK_DETECTED)
                            | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
                    ) =>
            {
                continue;
            }
            Err(e) => {
                // Record the failure (best effort; the events were rolled back).
                let mut errs = errors.clone();
                errs.push("the capture could not be stored; nothing of it was kept".into());
                if !conn.client.is_closed() {
                    let _ = record_failed_job(&mut conn, owner, &c, &errs);
                }
                return Err(pg(e));
            }
        }
    }
}

fn current_or_trained_dict(
    s: &PostgresStore,
    conn: &mut Conn,
    events: &[store::NewEvent],
) -> Result<Option<Arc<codec::Dict>>, StoreError> {
    if let Some(d) = s
        .current_dict
        .read()
        .map_err(|_| backend("dict lock"))?
        .clone()
    {
        return Ok(Some(d));
    }
    if events.len() < codec::DICT_TRAIN_MIN_EVENTS {
        return Ok(None);
    }
    // Another server may have trained one since this one started.
    let newest = conn
        .client
        .query_opt(
            "SELECT id, bytes FROM zl_dicts ORDER BY id DESC LIMIT 1",
            &[],
        )
        .map_err(pg)?;
    let d = match newest {
        Some(row) => codec::Dict::new(row.get(0), row.get::<_, &[u8]>(1)),
        None => {
            let samples: Vec<&str> = events.iter().map(|e| e.body.as_str()).collect();
            let Some(bytes) = codec::train(&samples) else {
                return Ok(None);
            };
            let id: i32 = conn
                .client
                .query_one(
                    "INSERT INTO zl_dicts (bytes) VALUES ($1) RETURNING id",
                    &[&bytes],
                )
                .map_err(pg)?
                .get(0);
            codec::Dict::new(id, &bytes)
        }
    };
    s.dicts
        .write()
        .map_err(|_| backend("dict lock"))?
        .insert(d.id, d.clone());
    let mut cur = s.current_dict.write().map_err(|_| backend("dict lock"))?;
    match &*cur {
        Some(existing) => Ok(Some(existing.clone())),
        None => {
            *cur = Some(d.clone());
            Ok(Some(d))
        }
    }
}

enum Outcome {
    /// The job, the owner-vocabulary rows it wrote, and the interned texts it used.
    Stored(CaptureJob, Vec<(i16, String)>, HashMap<(i16, String), i64>),
    IdTaken,
}

const INSERT_EVENTS: &str = "INSERT INTO zl_events (owner, seq, job, event_id, event_hash, type, \
     event_time_ms, record_time_ms, action, biz_step, disposition, read_point, biz_location, \
     has_error, dict, raw_len, body, refs) \
     SELECT $1, u.seq, $2, u.event_id, u.event_hash, u.type, u.event_time_ms, $3, u.action, \
     u.biz_step, u.disposition, u.read_point, u.biz_location, u.has_error, $4, u.raw_len, u.body, \
     ($18::int8[])[u.lo:u.hi] \
     FROM unnest($5::int8[], $6::bytea[], $7::bytea[], $8::int2[], $9::int8[], $10::int2[], \
     $11::int8[], $12::int8[], $13::int8[], $14::int8[], $15::bool[], $16::int4[], $17::bytea[], \
     $19::int4[], $20::int4[]) \
     AS u(seq, event_id, event_hash, type, event_time_ms, action, biz_step, disposition, \
     read_point, biz_location, has_error, raw_len, body, lo, hi) \
     ON CONFLICT DO NOTHING RETURNING seq";

const SELECT_IIDS: &str = "SELECT u.kind, u.id, z.iid FROM unnest($2::int2[], $3::text[]) \
     AS u(kind, id) JOIN zl_ids z ON z.kind = u.kind AND z.id = u.id AND z.owner = $1";

const DELETE_IIDS: &str = "DELETE FROM zl_ids WHERE owner = $1 \
     AND (kind, id) IN (SELECT u.kind, u.id FROM unnest($2::int2[], $3::text[]) AS u(kind, id))";

const INSERT_IIDS: &str = "INSERT INTO zl_ids (owner, kind, id, iid) \
     SELECT $1, u.kind, u.id, nextval('zl_iid_seq') FROM unnest($2::int2[], $3::text[]) AS u(kind, id) \
     ON CONFLICT DO NOTHING RETURNING kind, id, iid";

const INSERT_QUANTITIES: &str = "INSERT INTO zl_event_quantities (owner, seq, quantity) \
     SELECT $1, u.seq, u.quantity FROM unnest($2::int8[], $3::float8[]) AS u(seq, quantity)";

const INSERT_VOCAB: &str = "INSERT INTO zl_owner_vocab (owner, kind, value) \
     SELECT $1, u.kind, u.value FROM unnest($2::int2[], $3::text[]) AS u(kind, value) \
     ON CONFLICT DO NOTHING";

#[allow(clippy::too_many_arguments)]
fn write(
    s: &PostgresStore,
    conn: &mut Conn,
    owner: i32,
    c: &NewCapture,
    events: &[store::NewEvent],
    prepared: &[Prepared],
    dict_id: i32,
    errors: &[String],
    serialise: bool,
) -> Result<Outcome, postgres::Error> {
    let Conn { client, stmts, .. } = conn;
    let mut tx = client.transaction()?;
    if serialise {
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, $2)",
            &[&CAPTURE_RETRY_LOCK, &owner],
        )?;
    }
    // Statements are prepared through the transaction (the same connection) and cached.
    macro_rules! stmt {
        ($sql:expr) => {
            stmts.get_raw(&mut tx, $sql)?
        };
    }
    let ins_job = stmt!(
        "INSERT INTO zl_jobs (owner, jid, id, created_ms, finished_ms, success, stored, duplicates, errors) \
         VALUES ($1, nextval('zl_job_seq'), $2, $3, $3, false, 0, 0, '[]') \
         ON CONFLICT (id, owner) DO NOTHING RETURNING jid"
    );
    let Some(row) = tx.query_opt(&ins_job, &[&owner, &c.id, &c.record_time_ms])? else {
        return Ok(Outcome::IdTaken);
    };
    let jid: i64 = row.get(0);

    // Duplicates inside the document: the first occurrence is the one stored.
    let mut seen_ids: HashSet<&[u8]> = HashSet::with_capacity(events.len());
    let mut seen_hashes: HashSet<&[u8]> = HashSet::with_capacity(events.len());
    let mut keep: Vec<usize> = Vec::with_capacity(events.len());
    for (i, p) in prepared.iter().enumerate() {
        let new_id = seen_ids.insert(&p.event_id);
        let new_hash = seen_hashes.insert(&p.hash);
        if new_id && new_hash {
            keep.push(i);
        }
    }
    let mut duplicates = (events.len() - keep.len()) as u64;
    let mut stored = 0u64;
    let mut vocab: Vec<(i16, String)> = Vec::new();
    let mut interned: HashMap<(i16, String), i64> = HashMap::new();

    if !keep.is_empty() {
        // Intern every identifier, link and vocabulary value of the new events.
        let mut texts: HashMap<(i16, String), i64> = HashMap::new();
        for &i in &keep {
            event_texts(&events[i], |k| {
                texts.insert(k, 0);
            });
        }
        // Texts interned by earlier captures through this server (committed, so final).
        if let Ok(cache) = s.iids.lock() {
            for (k, v) in texts.iter_mut() {
                if let Some(iid) = cache.get(&(owner, k.0, k.1.clone())) {
                    *v = *iid;
                }
            }
        }
        let created = intern(&mut tx, stmts, owner, &mut texts)?;
        let iid = |kind: i16, text: String| texts.get(&(kind, text)).copied().unwrap_or(0);

        let reserve = stmt!("SELECT nextval('zl_event_seq') FROM generate_series(1, $1)");
        let seqs: Vec<i64> = tx
            .query(&reserve, &[&(keep.len() as i32)])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let n = keep.len();
        let mut a_id = Vec::with_capacity(n);
        let mut a_hash = Vec::with_capacity(n);
        let mut a_type = Vec::with_capacity(n);
        let mut a_time = Vec::with_capacity(n);
        let mut a_action = Vec::with_capacity(n);
        let mut a_step = Vec::with_capacity(n);
        let mut a_disp = Vec::with_capacity(n);
        let mut a_rp = Vec::with_capacity(n);
        let mut a_bl = Vec::with_capacity(n);
        let mut a_err = Vec::with_capacity(n);
        let mut a_len = Vec::with_capacity(n);
        let mut a_body: Vec<&[u8]> = Vec::with_capacity(n);
        let mut a_lo: Vec<i32> = Vec::with_capacity(n);
        let mut a_hi: Vec<i32> = Vec::with_capacity(n);
        let mut refs: Vec<i64> = Vec::new();
        let mut one: Vec<i64> = Vec::new();
        for &i in &keep {
            let (e, p) = (&events[i], &prepared[i]);
            a_id.push(p.event_id.as_slice());
            a_hash.push(p.hash.as_slice());
            a_type.push(p.type_code);
            a_time.push(e.event_time_ms);
            a_action.push(p.action);
            let v = |kind: i16, x: &Option<String>| x.as_ref().map(|x| iid(kind, x.clone()));
            a_step.push(v(KIND_BIZ_STEP, &e.biz_step));
            a_disp.push(v(KIND_DISPOSITION, &e.disposition));
            a_rp.push(v(KIND_READ_POINT, &e.read_point));
            a_bl.push(v(KIND_BIZ_LOCATION, &e.biz_location));
            a_err.push(e.has_error_declaration);
            a_len.push(i32::try_from(e.body.len()).unwrap_or(i32::MAX));
            a_body.push(p.body.as_slice());
            one.clear();
            for r in &e.ids {
                let role = r.role as u8;
                one.push(iid(kind_of_role(role), compact(&r.id)) * REF_TAGS + role as i64);
            }
            for (link, list) in [
                (LINK_BIZ_TRANSACTION, &e.biz_transactions),
                (LINK_SOURCE, &e.sources),
                (LINK_DESTINATION, &e.destinations),
            ] {
                for (ty, value) in list {
                    one.push(iid(KIND_LINK0 + link, link_key(value, ty)) * REF_TAGS + TAG_LINK);
                }
            }
            one.sort_unstable();
            one.dedup();
            // 1-based, inclusive slice bounds into `refs` (an empty slice when lo > hi).
            a_lo.push(refs.len() as i32 + 1);
            refs.extend_from_slice(&one);
            a_hi.push(refs.len() as i32);
        }
        let ins = stmt!(INSERT_EVENTS);
        let inserted: HashSet<i64> = tx
            .query(
                &ins,
                &[
                    &owner,
                    &jid,
                    &c.record_time_ms,
                    &dict_id,
                    &seqs,
                    &a_id,
                    &a_hash,
                    &a_type,
                    &a_time,
                    &a_action,
                    &a_step,
                    &a_disp,
                    &a_rp,
                    &a_bl,
                    &a_err,
                    &a_len,
                    &a_body,
                    &refs,
                    &a_lo,
                    &a_hi,
                ],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        stored = inserted.len() as u64;
        duplicates += (n - inserted.len()) as u64;
        if inserted.len() < n && !created.is_empty() {
            // Some events were already stored (sent again): texts interned only for them would
            // show in the EPC vocabulary without an event; remove them.
            let mut used: HashSet<(i16, String)> = HashSet::new();
            for (&i, seq) in keep.iter().zip(&seqs) {
                if inserted.contains(seq) {
                    event_texts(&events[i], |k| {
                        used.insert(k);
                    });
                }
            }
            let orphans: Vec<&(i16, String)> =
                created.iter().filter(|k| !used.contains(*k)).collect();
            if !orphans.is_empty() {
                let kinds: Vec<i16> = orphans.iter().map(|k| k.0).collect();
                let vals: Vec<&str> = orphans.iter().map(|k| k.1.as_str()).collect();
                let del = stmt!(DELETE_IIDS);
                tx.execute(&del, &[&owner, &kinds, &vals])?;
                for k in orphans {
                    texts.remove(k);
                }
            }
        }
        interned = texts;

        let mut qty: (Vec<i64>, Vec<f64>) = Default::default();
        let mut new_vocab: HashSet<(i16, &str)> = HashSet::new();
        let ins_qty = stmt!(INSERT_QUANTITIES);
        for (&i, &seq) in keep.iter().zip(&seqs) {
            if !inserted.contains(&seq) {
                continue;
            }
            let e = &events[i];
            for r in &e.ids {
                if let Some(q) = r.quantity {
                    qty.0.push(seq);
                    qty.1.push(q);
                }
            }
            new_vocab.insert((OV_TYPE, &e.event_type));
            for (kind, v) in [
                (OV_BIZ_STEP, &e.biz_step),
                (OV_DISPOSITION, &e.disposition),
                (OV_READ_POINT, &e.read_point),
                (OV_BIZ_LOCATION, &e.biz_location),
            ] {
                if let Some(v) = v {
                    new_vocab.insert((kind, v));
                }
            }
            if qty.0.len() >= INDEX_CHUNK {
                tx.execute(&ins_qty, &[&owner, &qty.0, &qty.1])?;
                qty = Default::default();
            }
        }
        if !qty.0.is_empty() {
            tx.execute(&ins_qty, &[&owner, &qty.0, &qty.1])?;
        }
        {
            let known = s.owner_vocab.lock().ok();
            for (k, v) in new_vocab {
                if known
                    .as_ref()
                    .is_some_and(|c| c.contains(&(owner, k, v.to_string())))
                {
                    continue;
                }
                vocab.push((k, v.to_string()));
            }
        }
        if !vocab.is_empty() {
            vocab.sort();
            let kinds: Vec<i16> = vocab.iter().map(|v| v.0).collect();
            let values: Vec<&str> = vocab.iter().map(|v| v.1.as_str()).collect();
            let ins_vocab = stmt!(INSERT_VOCAB);
            tx.execute(&ins_vocab, &[&owner, &kinds, &values])?;
        }
    }
    if stored > 0 {
        let up = stmt!(
            "INSERT INTO zl_owner_counts (owner, n) VALUES ($1, $2) \
             ON CONFLICT (owner) DO UPDATE SET n = zl_owner_counts.n + excluded.n"
        );
        tx.execute(&up, &[&owner, &(stored as i64)])?;
    }
    let success = errors.is_empty();
    let errors_json = serde_json::to_string(errors).unwrap_or_else(|_| "[]".into());
    let fin = stmt!(
        "UPDATE zl_jobs SET finished_ms = $3, success = $4, stored = $5, duplicates = $6, errors = $7 \
         WHERE owner = $1 AND jid = $2"
    );
    tx.execute(
        &fin,
        &[
            &owner,
            &jid,
            &c.record_time_ms,
            &success,
            &(stored as i64),
            &(duplicates as i64),
            &errors_json,
        ],
    )?;
    tx.commit()?;
    Ok(Outcome::Stored(
        CaptureJob {
            id: c.id.clone(),
            owner: c.owner.clone(),
            created_ms: c.record_time_ms,
            finished_ms: c.record_time_ms,
            status: if success {
                JobStatus::Success
            } else {
                JobStatus::Failure
            },
            stored,
            duplicates,
            errors: errors.to_vec(),
        },
        vocab,
        interned,
    ))
}

/// Every `(kind, text)` an event interns: identifiers, links, vocabulary values.
fn event_texts(e: &store::NewEvent, mut f: impl FnMut((i16, String))) {
    for r in &e.ids {
        f((kind_of_role(r.role as u8), compact(&r.id)));
    }
    for (link, list) in [
        (LINK_BIZ_TRANSACTION, &e.biz_transactions),
        (LINK_SOURCE, &e.sources),
        (LINK_DESTINATION, &e.destinations),
    ] {
        for (ty, value) in list {
            f((KIND_LINK0 + link, link_key(value, ty)));
        }
    }
    for (kind, v) in [
        (KIND_BIZ_STEP, &e.biz_step),
        (KIND_DISPOSITION, &e.disposition),
        (KIND_READ_POINT, &e.read_point),
        (KIND_BIZ_LOCATION, &e.biz_location),
    ] {
        if let Some(v) = v {
            f((kind, v.clone()));
        }
    }
}

/// Fill in the `iid` of every `(kind, text)` in `texts` that is still 0, interning the new
/// ones; returns those this transaction created. The new ones are inserted first, in sorted
/// order (so two captures interning overlapping sets take their locks in one order; an insert
/// that meets another transaction's uncommitted row waits for it); those that already existed
/// are then read (committed by now: an insert that met an uncommitted row waited for its
/// transaction, and had that transaction rolled back, the insert would have gone in). The
/// rounds alternate insert and read in case a row is removed again meanwhile (an orphan).
fn intern(
    tx: &mut postgres::Transaction<'_>,
    stmts: &mut crate::Stmts,
    owner: i32,
    texts: &mut HashMap<(i16, String), i64>,
) -> Result<HashSet<(i16, String)>, postgres::Error> {
    let mut missing: Vec<(i16, String)> = texts
        .iter()
        .filter(|(_, v)| **v == 0)
        .map(|(k, _)| k.clone())
        .collect();
    missing.sort();
    let select = stmts.get_raw(tx, SELECT_IIDS)?;
    let insert = stmts.get_raw(tx, INSERT_IIDS)?;
    let mut created = HashSet::new();
    for round in 0..4 {
        if missing.is_empty() {
            break;
        }
        let kinds: Vec<i16> = missing.iter().map(|m| m.0).collect();
        let vals: Vec<&str> = missing.iter().map(|m| m.1.as_str()).collect();
        let inserting = round % 2 == 0;
        let st = if inserting { &insert } else { &select };
        for r in tx.query(st, &[&owner, &kinds, &vals])? {
            let k: (i16, String) = (r.get(0), r.get(1));
            if inserting {
                created.insert(k.clone());
            }
            texts.insert(k, r.get(2));
        }
        missing.retain(|m| texts.get(m).is_none_or(|v| *v == 0));
    }
    Ok(created)
}

fn record_failed_job(
    conn: &mut Conn,
    owner: i32,
    c: &NewCapture,
    errors: &[String],
) -> Result<(), postgres::Error> {
    let errors_json = serde_json::to_string(errors).unwrap_or_else(|_| "[]".into());
    conn.client.execute(
        "INSERT INTO zl_jobs (owner, jid, id, created_ms, finished_ms, success, stored, duplicates, errors) \
         VALUES ($1, nextval('zl_job_seq'), $2, $3, $3, false, 0, 0, $4) ON CONFLICT (id, owner) DO NOTHING",
        &[&owner, &c.id, &c.record_time_ms, &errors_json],
    )?;
    Ok(())
}
