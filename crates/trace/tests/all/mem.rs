//! A tiny in-memory `Store` for tests: only what trace reads (`events_touching`) does anything.

use std::collections::{BTreeMap, BTreeSet};

use epcis::query::EventQuery;
use serde_json::Value;
use store::{
    ApiKey, CaptureJob, Cursor, EventPage, NewCapture, NewRecord, OrgId, Record, Scope, Store,
    StoreError, StoredEvent, Vocabulary,
};

pub struct MemStore {
    pub events: Vec<StoredEvent>,
    /// canonical id -> indices of events naming it in any role (ILMD lots included)
    by_id: BTreeMap<String, Vec<usize>>,
    pub calls: std::sync::atomic::AtomicUsize,
}

/// Every identifier an event names, canonical, written plainly from the JSON.
pub fn ids_of(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for key in ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] {
        for x in v[key].as_array().into_iter().flatten() {
            if let Some(s) = x.as_str() {
                out.insert(gs1::normalize_id(s));
            }
        }
    }
    if let Some(p) = v["parentID"].as_str() {
        out.insert(gs1::normalize_id(p));
    }
    for key in [
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputQuantityList",
    ] {
        for q in v[key].as_array().into_iter().flatten() {
            if let Some(c) = q["epcClass"].as_str() {
                out.insert(gs1::normalize_id(c));
            }
        }
    }
    for (_, lot) in ilmd_pairs(v) {
        out.insert(lot);
    }
    out
}

/// (serial, lot class) for serials that an event commissions or outputs with an ILMD lotNumber.
pub fn ilmd_pairs(v: &Value) -> Vec<(String, String)> {
    let Some(lot) = v["ilmd"]["cbvmda:lotNumber"].as_str() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ["epcList", "outputEPCList"] {
        for x in v[key].as_array().into_iter().flatten() {
            let serial = gs1::normalize_id(x.as_str().unwrap_or(""));
            if let Some(class) = trace::lot_of_serial(&serial, lot) {
                out.push((serial, class));
            }
        }
    }
    out
}

/// Splits two of every three TransformationEvents into events sharing a `transformationID`, as a
/// continuous process records them: (1) all inputs a minute before the outputs; (2) half of the
/// inputs two minutes before, the other half with the outputs. Event IDs stay unique.
pub fn split_transformations(events: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let mut out = Vec::with_capacity(events.len() + events.len() / 2);
    let mut k = 0usize;
    for (owner, v) in events {
        if v["type"] != "TransformationEvent" || v.get("transformationID").is_some() {
            out.push((owner, v));
            continue;
        }
        k += 1;
        if k.is_multiple_of(3) {
            out.push((owner, v));
            continue;
        }
        let tid = format!("urn:zhiliang:test:transformation:{k}");
        let t = epcis::index::parse_time_ms(v["eventTime"].as_str().unwrap()).unwrap();
        let id = v["eventID"].as_str().unwrap().to_string();
        let mut outputs = v.clone();
        outputs["transformationID"] = Value::from(tid.clone());
        let mut inputs = serde_json::json!({
            "type": "TransformationEvent",
            "eventID": format!("{id}-inputs"),
            "eventTimeZoneOffset": v["eventTimeZoneOffset"],
            "transformationID": tid,
            "bizStep": v["bizStep"],
            "readPoint": v["readPoint"],
            "bizLocation": v["bizLocation"],
        });
        for key in ["inputEPCList", "inputQuantityList"] {
            let Some(all) = outputs.as_object_mut().unwrap().remove(key) else {
                continue;
            };
            let all = all.as_array().cloned().unwrap_or_default();
            // Case (2): the second half stays with the outputs.
            let keep = if k % 3 == 2 { all.len() / 2 } else { all.len() };
            let (early, late) = all.split_at(keep);
            if !early.is_empty() {
                inputs[key] = Value::from(early.to_vec());
            }
            if !late.is_empty() {
                outputs[key] = Value::from(late.to_vec());
            }
        }
        let before = if k % 3 == 2 { 120_000 } else { 60_000 };
        inputs["eventTime"] = Value::from(demo::ids::rfc3339_ms(t - before));
        out.push((owner.clone(), inputs));
        out.push((owner, outputs));
    }
    out
}

impl MemStore {
    /// Store events (JSON objects) with owners, in order; `seq` is the position.
    pub fn new(events: impl IntoIterator<Item = (String, Value)>) -> MemStore {
        let mut s = MemStore {
            events: Vec::new(),
            by_id: BTreeMap::new(),
            calls: Default::default(),
        };
        for (i, (owner, v)) in events.into_iter().enumerate() {
            let t = epcis::index::parse_time_ms(v["eventTime"].as_str().unwrap()).unwrap();
            for id in ids_of(&v) {
                s.by_id.entry(id).or_default().push(i);
            }
            // As the store indexes it (`IdRole::TransformationId`), as given.
            if let Some(t) = v["transformationID"].as_str() {
                s.by_id.entry(t.to_string()).or_default().push(i);
            }
            s.events.push(StoredEvent {
                seq: i as i64,
                owner: OrgId::parse(&owner).unwrap(),
                capture_id: "c".into(),
                event_id: v["eventID"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("e{i}")),
                event_hash: String::new(),
                event_type: v["type"].as_str().unwrap().to_string(),
                event_time_ms: t,
                record_time_ms: 0,
                body: v.to_string(),
            });
        }
        s
    }
}

fn unsupported<T>() -> Result<T, StoreError> {
    Err(StoreError::Backend(
        "not supported by the in-memory test store".into(),
    ))
}

impl Store for MemStore {
    fn capture(&self, _: NewCapture) -> Result<CaptureJob, StoreError> {
        unsupported()
    }
    fn capture_job(&self, _: &Scope, _: &str) -> Result<Option<CaptureJob>, StoreError> {
        unsupported()
    }
    fn capture_jobs(
        &self,
        _: &Scope,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<CaptureJob>, StoreError> {
        unsupported()
    }
    fn query_events(
        &self,
        _: &Scope,
        _: &EventQuery,
        _: Option<&Cursor>,
        _: usize,
    ) -> Result<EventPage, StoreError> {
        unsupported()
    }
    fn distinct_values(
        &self,
        _: &Scope,
        _: Vocabulary,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<String>, StoreError> {
        unsupported()
    }
    fn events_touching(
        &self,
        scope: &Scope,
        ids: &[String],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        assert!(ids.len() <= store::Limits::default().frontier_batch_max);
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut idx: BTreeSet<usize> = BTreeSet::new();
        for id in ids {
            idx.extend(self.by_id.get(id).into_iter().flatten());
        }
        Ok(idx
            .into_iter()
            .map(|i| &self.events[i])
            .filter(|e| scope.sees(Some(&e.owner)))
            .cloned()
            .collect())
    }
    fn count_events(&self, _: &Scope) -> Result<u64, StoreError> {
        Ok(self.events.len() as u64)
    }
    fn put_key(&self, _: ApiKey) -> Result<(), StoreError> {
        unsupported()
    }
    fn key_by_hash(&self, _: &str) -> Result<Option<ApiKey>, StoreError> {
        unsupported()
    }
    fn count_keys(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
    fn revoke_key(&self, _: &str) -> Result<bool, StoreError> {
        unsupported()
    }
    fn put_record(&self, _: NewRecord, _: Option<u64>) -> Result<u64, StoreError> {
        unsupported()
    }
    fn get_record(&self, _: &Scope, _: &str, _: &str) -> Result<Option<Record>, StoreError> {
        unsupported()
    }
    fn list_records(
        &self,
        _: &Scope,
        _: &str,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<Record>, StoreError> {
        unsupported()
    }
    fn delete_record(&self, _: &Scope, _: &str, _: &str) -> Result<bool, StoreError> {
        unsupported()
    }
    fn server_secret(&self) -> Result<[u8; 32], StoreError> {
        Ok([0; 32])
    }
    fn backend_name(&self) -> &'static str {
        "memory"
    }
}
