//! The reference: the trace rules of docs/trace.md applied plainly, over every event, until
//! nothing changes. No batching, no caching, no budgets.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::mem::{MemStore, ilmd_pairs};

pub struct E {
    pub id: String,
    pub seq: i64,
    pub t: i64,
    pub transformation: bool,
    pub aggregation: bool,
    pub delete: bool,
    pub parent: Option<String>,
    pub children: Vec<String>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// `transformationID` of a TransformationEvent.
    pub tid: Option<String>,
    pub ilmd: Vec<(String, String)>,
    pub names: BTreeSet<String>,
}

fn list(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str())
        .map(gs1::normalize_id)
        .collect()
}

fn classes(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q["epcClass"].as_str())
        .map(gs1::normalize_id)
        .collect()
}

pub fn events(store: &MemStore) -> Vec<E> {
    store
        .events
        .iter()
        .map(|s| {
            let v: Value = serde_json::from_str(&s.body).unwrap();
            let mut children = list(&v, "childEPCs");
            children.extend(classes(&v, "childQuantityList"));
            let mut inputs = list(&v, "inputEPCList");
            inputs.extend(classes(&v, "inputQuantityList"));
            let mut outputs = list(&v, "outputEPCList");
            outputs.extend(classes(&v, "outputQuantityList"));
            E {
                id: s.event_id.clone(),
                seq: s.seq,
                t: s.event_time_ms,
                transformation: v["type"] == "TransformationEvent",
                aggregation: v["type"] == "AggregationEvent",
                delete: v["action"] == "DELETE",
                parent: v["parentID"].as_str().map(gs1::normalize_id),
                children,
                inputs,
                outputs,
                tid: v["transformationID"].as_str().map(str::to_string),
                ilmd: ilmd_pairs(&v),
                names: crate::mem::ids_of(&v),
            }
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
pub struct Result {
    /// object -> window (inclusive)
    pub objects: BTreeMap<String, (i64, i64)>,
    pub events: BTreeSet<String>,
    /// (from, to, event id)
    pub edges: BTreeSet<(String, String, String)>,
}

fn removal(events: &[E], parent: &str, child: &str, add: &E) -> i64 {
    let mut end = i64::MAX;
    for d in events {
        if d.aggregation
            && d.delete
            && d.parent.as_deref() == Some(parent)
            && (d.t, d.seq) > (add.t, add.seq)
            && (d.children.is_empty() || d.children.iter().any(|c| c == child))
            && d.t < end
        {
            end = d.t;
        }
    }
    end
}

/// The events of the transformation `e` belongs to: every TransformationEvent with its
/// `transformationID` (CBV: all their inputs contribute to all their outputs), or `e` alone.
fn transformation<'a>(events: &'a [E], e: &'a E) -> Vec<&'a E> {
    match &e.tid {
        Some(t) => events
            .iter()
            .filter(|g| g.transformation && g.tid.as_ref() == Some(t))
            .collect(),
        None => vec![e],
    }
}

pub fn trace(events: &[E], start: &[String], forward: bool, lo: i64, hi: i64) -> Result {
    let mut objects: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut edges = BTreeSet::new();
    for s in start {
        objects.insert(gs1::normalize_id(s), (lo, hi));
    }
    loop {
        let mut wanted: Vec<(String, i64, i64, String, String)> = Vec::new(); // (to, lo, hi, from, event)
        for (x, &(a, b)) in &objects {
            for e in events {
                if !e.names.contains(x) || e.t < a || e.t > b {
                    continue;
                }
                if forward {
                    if e.transformation && e.inputs.contains(x) {
                        for g in transformation(events, e) {
                            for o in &g.outputs {
                                wanted.push((o.clone(), g.t, i64::MAX, x.clone(), g.id.clone()));
                            }
                        }
                    }
                    if e.aggregation
                        && !e.delete
                        && e.children.contains(x)
                        && let Some(p) = &e.parent
                    {
                        let end = removal(events, p, x, e).min(b);
                        wanted.push((p.clone(), e.t, end, x.clone(), e.id.clone()));
                    }
                    for (serial, lot) in &e.ilmd {
                        if lot == x {
                            wanted.push((serial.clone(), e.t, i64::MAX, x.clone(), e.id.clone()));
                        }
                    }
                } else {
                    if e.transformation && e.outputs.contains(x) {
                        for g in transformation(events, e) {
                            for i in &g.inputs {
                                wanted.push((i.clone(), i64::MIN, g.t, x.clone(), g.id.clone()));
                            }
                        }
                    }
                    if e.aggregation && !e.delete && e.parent.as_ref() == Some(x) {
                        for c in &e.children {
                            let end = removal(events, x, c, e).min(b);
                            wanted.push((c.clone(), i64::MIN, end, x.clone(), e.id.clone()));
                        }
                    }
                    for (serial, lot) in &e.ilmd {
                        if serial == x {
                            wanted.push((lot.clone(), i64::MIN, e.t, x.clone(), e.id.clone()));
                        }
                    }
                }
            }
        }
        let mut changed = false;
        for (to, a, b, from, ev) in wanted {
            let (a, b) = (a.max(lo), b.min(hi));
            if a > b {
                continue;
            }
            edges.insert((from, to.clone(), ev));
            let w = objects.entry(to).or_insert_with(|| {
                changed = true;
                (a, b)
            });
            if a < w.0 || b > w.1 {
                *w = (w.0.min(a), w.1.max(b));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut evs = BTreeSet::new();
    for (x, &(a, b)) in &objects {
        for e in events {
            if e.names.contains(x) && e.t >= a && e.t <= b {
                evs.insert(e.id.clone());
            }
        }
    }
    Result {
        objects,
        events: evs,
        edges,
    }
}
