//! Capture: one transaction per document, exactly-once per owner by eventID and by hash.

use crate::codec::{self, Dict};
use crate::schema::*;
use crate::{SqliteStore, Writer, backend};
use rusqlite::{OptionalExtension, params};
use std::sync::Arc;
use store::{CaptureJob, ErrorBehaviour, JobStatus, NewCapture, StoreError};

/// Longest capture id accepted.
const CAPTURE_ID_LEN_MAX: usize = 128;
/// Errors kept in one job.
const JOB_ERRORS_MAX: usize = 1_000;

/// What can be computed before taking the writer lock.
struct Prepared {
    k_id: i64,
    k_hash: i64,
    hash: Vec<u8>,
    body: Vec<u8>,
    type_code: i64,
    action: Option<i64>,
}

pub(crate) fn capture(s: &SqliteStore, c: NewCapture) -> Result<CaptureJob, StoreError> {
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

    let dict = current_or_trained_dict(s, events)?;
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
        prepared.push(Prepared {
            k_id: codec::key64(&e.event_id),
            k_hash: codec::key64(&e.event_hash),
            hash: codec::encode_hash(&e.event_hash),
            body,
            type_code,
            action,
        });
    }
    let dict_id = dict.as_ref().map(|d| d.id).unwrap_or(0);

    let mut w = s
        .writer
        .lock()
        .map_err(|_| backend("writer lock poisoned"))?;
    match write(&mut w, &c, events, &prepared, dict_id, &errors) {
        Ok(job) => Ok(job),
        Err(e) => {
            let _ = w.clear_caches();
            // Record the failure (best effort; the events were rolled back).
            let mut errs = errors.clone();
            errs.push("the capture could not be stored; nothing of it was kept".into());
            let _ = record_failed_job(&mut w, &c, &errs);
            Err(e)
        }
    }
}

fn current_or_trained_dict(
    s: &SqliteStore,
    events: &[store::NewEvent],
) -> Result<Option<Arc<Dict>>, StoreError> {
    if let Some(d) = s
        .current_dict
        .read()
        .map_err(|_| backend("dict lock poisoned"))?
        .clone()
    {
        return Ok(Some(d));
    }
    if events.len() < codec::DICT_TRAIN_MIN_EVENTS {
        return Ok(None);
    }
    let samples: Vec<&str> = events.iter().map(|e| e.body.as_str()).collect();
    let Some(bytes) = codec::train(&samples) else {
        return Ok(None);
    };
    let w = s
        .writer
        .lock()
        .map_err(|_| backend("writer lock poisoned"))?;
    // Another capture may have trained one meanwhile: use the newest.
    if let Some(d) = s
        .current_dict
        .read()
        .map_err(|_| backend("dict lock poisoned"))?
        .clone()
    {
        return Ok(Some(d));
    }
    w.conn
        .execute("INSERT INTO dicts (bytes) VALUES (?1)", [&bytes])
        .map_err(backend)?;
    let id = w.conn.last_insert_rowid();
    let d = Dict::new(id, &bytes);
    s.dicts
        .write()
        .map_err(|_| backend("dict lock poisoned"))?
        .insert(id, d.clone());
    *s.current_dict
        .write()
        .map_err(|_| backend("dict lock poisoned"))? = Some(d.clone());
    Ok(Some(d))
}

/// The statements of the hot path, prepared once per capture.
struct IdStmts<'c> {
    ins: rusqlite::CachedStatement<'c>,
    sel: rusqlite::CachedStatement<'c>,
}

fn intern_id(
    ids: &mut std::collections::HashMap<String, i64>,
    next_id: &mut i64,
    st: &mut IdStmts<'_>,
    uri: &str,
) -> rusqlite::Result<i64> {
    if let Some(id) = ids.get(uri) {
        return Ok(*id);
    }
    let id = if st.ins.execute(params![uri, *next_id])? == 1 {
        *next_id += 1;
        *next_id - 1
    } else {
        st.sel.query_row([uri], |r| r.get(0))?
    };
    if ids.len() >= crate::ID_CACHE_MAX {
        ids.clear();
    }
    ids.insert(uri.to_string(), id);
    Ok(id)
}

fn intern_vocab(
    vocab: &mut [std::collections::HashMap<String, i64>],
    tx: &rusqlite::Transaction<'_>,
    kind: i64,
    value: &str,
) -> rusqlite::Result<i64> {
    if let Some(id) = vocab[kind as usize].get(value) {
        return Ok(*id);
    }
    tx.prepare_cached(
        "INSERT INTO vocab (kind, value) VALUES (?1, ?2) ON CONFLICT (kind, value) DO NOTHING",
    )?
    .execute(params![kind, value])?;
    let id: i64 = tx
        .prepare_cached("SELECT id FROM vocab WHERE kind = ?1 AND value = ?2")?
        .query_row(params![kind, value], |r| r.get(0))?;
    vocab[kind as usize].insert(value.to_string(), id);
    Ok(id)
}

/// Whether an event with this key is already stored for the owner (comparing the full eventID and
/// hash, so a 64-bit key collision never hides a different event).
fn is_duplicate(
    tx: &rusqlite::Transaction<'_>,
    sel_key: &mut rusqlite::CachedStatement<'_>,
    owner: i64,
    keys: &[i64],
    event_id: &str,
    hash: &[u8],
    mut collided: bool,
) -> rusqlite::Result<bool> {
    for &k in keys {
        let seq: Option<i64> = sel_key
            .query_row(params![owner, k], |r| r.get(0))
            .optional()?;
        let Some(seq) = seq else { continue };
        let (sid, shash): (Option<Vec<u8>>, Vec<u8>) = tx
            .prepare_cached("SELECT event_id, event_hash FROM events WHERE seq = ?1")?
            .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let sid = match sid {
            Some(b) => codec::decode_event_id(&b),
            None => codec::decode_hash(&shash),
        };
        if sid == event_id || shash == hash {
            return Ok(true);
        }
        collided = true;
    }
    if collided {
        let hash_text = codec::decode_hash(hash);
        let found: Option<i64> = tx
            .prepare_cached(
                "SELECT seq FROM event_keys_overflow WHERE owner = ?1 AND key IN (?2, ?3) LIMIT 1",
            )?
            .query_row(params![owner, event_id, hash_text], |r| r.get(0))
            .optional()?;
        return Ok(found.is_some());
    }
    Ok(false)
}

fn write(
    w: &mut Writer,
    c: &NewCapture,
    events: &[store::NewEvent],
    prepared: &[Prepared],
    dict_id: i64,
    errors: &[String],
) -> Result<CaptureJob, StoreError> {
    let Writer {
        conn,
        ids,
        next_id,
        vocab,
        orgs,
        owner_vocab,
    } = w;
    let result = (|| -> rusqlite::Result<Result<CaptureJob, StoreError>> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let owner = {
            let name = c.owner.as_str();
            if let Some(id) = orgs.get(name) {
                *id
            } else {
                tx.prepare_cached(
                    "INSERT INTO orgs (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
                )?
                .execute([name])?;
                let id: i64 = tx
                    .prepare_cached("SELECT id FROM orgs WHERE name = ?1")?
                    .query_row([name], |r| r.get(0))?;
                orgs.insert(name.to_string(), id);
                id
            }
        };
        let inserted = tx
            .prepare_cached(
                "INSERT INTO jobs (id, owner, created_ms, finished_ms, success, stored, duplicates, errors) \
                 VALUES (?1, ?2, ?3, ?3, 0, 0, 0, '[]') ON CONFLICT (id) DO NOTHING",
            )?
            .execute(params![c.id, owner, c.record_time_ms])?;
        if inserted == 0 {
            return Ok(Err(StoreError::Invalid(format!(
                "capture id {:?} is already taken",
                c.id
            ))));
        }
        let jid = tx.last_insert_rowid();
        let mut stored = 0u64;
        let mut duplicates = 0u64;
        let mut new_vocab: Vec<(i64, i64)> = Vec::new();
        {
            let mut ins_event = tx.prepare_cached(
                "INSERT INTO events (owner, job, event_id, event_hash, type, event_time_ms, record_time_ms, action, \
                 biz_step, disposition, read_point, biz_location, has_error, dict, raw_len, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?;
            let mut ins_key = tx.prepare_cached(
                "INSERT INTO event_keys (owner, k, seq) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?;
            let mut ins_overflow = tx.prepare_cached(
                "INSERT INTO event_keys_overflow (owner, key, seq) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?;
            let mut ins_id = tx.prepare_cached(
                "INSERT INTO event_ids (id, seq, role) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?;
            let mut ins_qty = tx.prepare_cached(
                "INSERT INTO event_quantities (seq, quantity) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?;
            let mut id_st = IdStmts {
                ins: tx.prepare_cached(
                    "INSERT INTO ids (uri, id) VALUES (?1, ?2) ON CONFLICT (uri) DO NOTHING",
                )?,
                sel: tx.prepare_cached("SELECT id FROM ids WHERE uri = ?1")?,
            };
            let mut sel_key =
                tx.prepare_cached("SELECT seq FROM event_keys WHERE owner = ?1 AND k = ?2")?;
            let mut ins_link = tx.prepare_cached(
                "INSERT INTO event_links (kind, id, type, seq) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            )?;
            // Index rows are written after the events, sorted by key: inserting into the B-trees
            // in key order touches each page once instead of once per row.
            let mut pending_ids: Vec<(i64, i64, i64)> = Vec::with_capacity(events.len() * 8);
            let mut pending_links: Vec<(i64, i64, i64, i64)> = Vec::new();
            let mut batch_keys: std::collections::HashMap<i64, usize> =
                std::collections::HashMap::with_capacity(events.len() * 2);
            let mut pending_keys: Vec<(i64, i64, &str)> = Vec::with_capacity(events.len() * 2);
            for (idx, (e, p)) in events.iter().zip(prepared).enumerate() {
                let keys: &[i64] = if p.k_id == p.k_hash {
                    &[p.k_id][..]
                } else {
                    &[p.k_id, p.k_hash][..]
                };
                // Keys of this capture are written at the end (sorted); look here first.
                let mut in_batch_dup = false;
                let mut collided = false;
                for k in keys {
                    if let Some(&j) = batch_keys.get(k) {
                        let o: &store::NewEvent = &events[j];
                        if o.event_id == e.event_id || o.event_hash == e.event_hash {
                            in_batch_dup = true;
                        } else {
                            collided = true;
                        }
                    }
                }
                if in_batch_dup
                    || is_duplicate(
                        &tx,
                        &mut sel_key,
                        owner,
                        keys,
                        &e.event_id,
                        &p.hash,
                        collided,
                    )?
                {
                    duplicates += 1;
                    continue;
                }
                let biz_step = e
                    .biz_step
                    .as_deref()
                    .map(|v| intern_vocab(vocab, &tx, VOCAB_BIZ_STEP, v))
                    .transpose()?;
                let disposition = e
                    .disposition
                    .as_deref()
                    .map(|v| intern_vocab(vocab, &tx, VOCAB_DISPOSITION, v))
                    .transpose()?;
                let read_point = e
                    .read_point
                    .as_deref()
                    .map(|v| intern_vocab(vocab, &tx, VOCAB_LOCATION, v))
                    .transpose()?;
                let biz_location = e
                    .biz_location
                    .as_deref()
                    .map(|v| intern_vocab(vocab, &tx, VOCAB_LOCATION, v))
                    .transpose()?;
                let stored_id = if e.event_id == e.event_hash {
                    None
                } else {
                    Some(codec::encode_event_id(&e.event_id))
                };
                ins_event.execute(params![
                    owner,
                    jid,
                    stored_id,
                    p.hash,
                    p.type_code,
                    e.event_time_ms,
                    c.record_time_ms,
                    p.action,
                    biz_step,
                    disposition,
                    read_point,
                    biz_location,
                    e.has_error_declaration as i64,
                    dict_id,
                    e.body.len() as i64,
                    p.body
                ])?;
                let seq = tx.last_insert_rowid();
                stored += 1;
                let key_texts = [
                    (p.k_id, e.event_id.as_str()),
                    (p.k_hash, e.event_hash.as_str()),
                ];
                for (i, (k, text)) in key_texts.iter().enumerate() {
                    if i == 1 && p.k_hash == p.k_id && e.event_id == e.event_hash {
                        break;
                    }
                    if batch_keys.contains_key(k) {
                        ins_overflow.execute(params![owner, text, seq])?;
                    } else {
                        batch_keys.insert(*k, idx);
                        pending_keys.push((*k, seq, *text));
                    }
                }
                for r in &e.ids {
                    let id = intern_id(ids, next_id, &mut id_st, &r.id)?;
                    pending_ids.push((id, seq, r.role as u8 as i64));
                    if let Some(q) = r.quantity {
                        ins_qty.execute(params![seq, q])?;
                    }
                }
                for (kind, list) in [
                    (LINK_BIZ_TRANSACTION, &e.biz_transactions),
                    (LINK_SOURCE, &e.sources),
                    (LINK_DESTINATION, &e.destinations),
                ] {
                    for (ty, value) in list {
                        let ty = intern_vocab(vocab, &tx, VOCAB_LINK_TYPE, ty)?;
                        let id = intern_id(ids, next_id, &mut id_st, value)?;
                        pending_links.push((kind, id, ty, seq));
                    }
                }
                new_vocab.push((OV_TYPE, p.type_code));
                if let Some(v) = biz_step {
                    new_vocab.push((OV_BIZ_STEP, v));
                }
                if let Some(v) = disposition {
                    new_vocab.push((OV_DISPOSITION, v));
                }
                if let Some(v) = read_point {
                    new_vocab.push((OV_READ_POINT, v));
                }
                if let Some(v) = biz_location {
                    new_vocab.push((OV_BIZ_LOCATION, v));
                }
            }
            pending_keys.sort_unstable_by_key(|x| x.0);
            for (k, seq, text) in pending_keys {
                // A key stored by an earlier capture for a different event: a 64-bit collision.
                if ins_key.execute(params![owner, k, seq])? == 0 {
                    ins_overflow.execute(params![owner, text, seq])?;
                }
            }
            pending_ids.sort_unstable();
            for (id, seq, role) in pending_ids {
                ins_id.execute(params![id, seq, role])?;
            }
            pending_links.sort_unstable();
            for (kind, id, ty, seq) in pending_links {
                ins_link.execute(params![kind, id, ty, seq])?;
            }
        }
        {
            let mut ins_ov = tx.prepare_cached(
                "INSERT INTO owner_vocab (owner, kind, value) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?;
            new_vocab.sort_unstable();
            new_vocab.dedup();
            for (kind, value) in new_vocab {
                if owner_vocab.insert((owner, kind, value)) {
                    ins_ov.execute(params![owner, kind, value])?;
                }
            }
        }
        tx.prepare_cached(
            "INSERT INTO meta (key, value) VALUES ('next_id', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute([*next_id])?;
        if stored > 0 {
            tx.prepare_cached(
                "INSERT INTO owner_counts (owner, n) VALUES (?1, ?2) \
                 ON CONFLICT (owner) DO UPDATE SET n = owner_counts.n + excluded.n",
            )?
            .execute(params![owner, stored as i64])?;
        }
        let success = errors.is_empty();
        let errors_json = serde_json::to_string(errors).unwrap_or_else(|_| "[]".into());
        tx.prepare_cached(
            "UPDATE jobs SET finished_ms = ?2, success = ?3, stored = ?4, duplicates = ?5, errors = ?6 WHERE jid = ?1",
        )?
        .execute(params![jid, c.record_time_ms, success as i64, stored as i64, duplicates as i64, errors_json])?;
        tx.commit()?;
        Ok(Ok(CaptureJob {
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
        }))
    })();
    match result {
        Ok(r) => r,
        Err(e) => Err(backend(e)),
    }
}

fn record_failed_job(w: &mut Writer, c: &NewCapture, errors: &[String]) -> rusqlite::Result<()> {
    let tx = w.conn.transaction()?;
    let owner = org_id_tx(&tx, c.owner.as_str())?;
    let errors_json = serde_json::to_string(errors).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO jobs (id, owner, created_ms, finished_ms, success, stored, duplicates, errors) \
         VALUES (?1, ?2, ?3, ?3, 0, 0, 0, ?4) ON CONFLICT (id) DO NOTHING",
        params![c.id, owner, c.record_time_ms, errors_json],
    )?;
    tx.commit()
}

fn org_id_tx(tx: &rusqlite::Transaction<'_>, name: &str) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO orgs (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
        [name],
    )?;
    tx.query_row("SELECT id FROM orgs WHERE name = ?1", [name], |r| r.get(0))
}
