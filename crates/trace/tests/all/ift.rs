//! The IFT OpenTraceability traceback data must trace back correctly.
//!
//! Upstream (`OpenTraceability.Tests`, `Traceback` test on `traceback_tests.jsonld`) traces back
//! from lot `processor.2u.v1-0122-2022` by querying every event that names an identifier in any
//! role and following the children and inputs of those events, transitively. Its expectation is
//! the set of lots it queries (below, computed plainly from the file) and the events naming them.
//! Our backward trace adds time causality (an input's events after the transformation that
//! consumed it are not its history); the data has exactly two such events (the feed mill's
//! shipping and receiving dated two weeks after the feed was consumed), which must be the only
//! difference.

use std::collections::BTreeSet;

use serde_json::Value;
use store::Scope;
use trace::{Direction, TraceOptions};

use crate::mem::MemStore;

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference-data/ift-opentraceability/OpenTraceability.Tests/Data/traceback_tests.jsonld"
);
const START: &str = "urn:gdst:example.org:product:lot:class:processor.2u.v1-0122-2022";

fn events() -> Vec<Value> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(DATA).unwrap()).unwrap();
    doc["epcisBody"]["eventList"].as_array().unwrap().clone()
}

/// Identifiers of an event with their upstream product type: children and inputs are followed.
fn followed(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["childEPCs", "inputEPCList"] {
        out.extend(
            v[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str())
                .map(str::to_string),
        );
    }
    for key in ["childQuantityList", "inputQuantityList"] {
        out.extend(
            v[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|q| q["epcClass"].as_str())
                .map(str::to_string),
        );
    }
    out
}

/// The upstream traceback: (queried identifiers, positions of the events returned).
fn upstream(events: &[Value]) -> (BTreeSet<String>, BTreeSet<usize>) {
    let mut queried = BTreeSet::from([START.to_string()]);
    let mut frontier = vec![START.to_string()];
    let mut reached = BTreeSet::new();
    for _ in 0..100 {
        if frontier.is_empty() {
            break;
        }
        let mut next = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let names = crate::mem::ids_of(e);
            if frontier.iter().any(|f| names.contains(f)) {
                reached.insert(i);
                for x in followed(e) {
                    if queried.insert(x.clone()) {
                        next.push(x);
                    }
                }
            }
        }
        frontier = next;
    }
    (queried, reached)
}

#[test]
fn ift_traceback_reaches_the_upstream_lots_and_events() {
    let events = events();
    assert_eq!(events.len(), 21);
    let (queried, upstream_events) = upstream(&events);
    assert_eq!(queried.len(), 6, "{queried:?}");
    // Duplicate eventIDs exist in this file; positions identify events.
    let store = MemStore::new(
        events
            .iter()
            .map(|e| ("urn:gdst:example.org:party:test".to_string(), e.clone())),
    );
    let got = trace::trace(
        &store,
        &Scope::All,
        &[START.to_string()],
        &TraceOptions::new(Direction::Backward),
    )
    .unwrap();
    assert!(!got.truncated);
    let lots: BTreeSet<String> = got.objects.iter().map(|o| o.id.clone()).collect();
    assert_eq!(lots, queried);
    assert!(got.objects.iter().all(|o| o.kind == trace::ObjectKind::Lot));
    // Events by position: ours are the upstream ones minus those after the consuming
    // transformation of the object that names them.
    let mut ours = BTreeSet::new();
    for o in &got.objects {
        for (i, s) in store.events.iter().enumerate() {
            let names = crate::mem::ids_of(&events[i]);
            let inside = o.until_ms.is_none_or(|u| s.event_time_ms <= u);
            if names.contains(&o.id) && inside {
                ours.insert(i);
            }
        }
    }
    assert!(ours.is_subset(&upstream_events));
    let left_out: Vec<usize> = upstream_events.difference(&ours).copied().collect();
    assert_eq!(left_out.len(), 2, "{left_out:?}");
    for i in left_out {
        let e = &events[i];
        let lot = e["quantityList"][0]["epcClass"].as_str().unwrap();
        assert!(lot.ends_with("feedmill.1u.ff11252021"), "{e}");
        let o = got.object(lot).unwrap();
        assert!(store.events[i].event_time_ms > o.until_ms.unwrap());
    }
    // The reported event IDs are exactly the IDs of those events.
    let ids: BTreeSet<String> = ours
        .iter()
        .map(|&i| store.events[i].event_id.clone())
        .collect();
    assert_eq!(got.events.iter().cloned().collect::<BTreeSet<_>>(), ids);
    // The chain is transformation links only, from the start to the farm, hatchery, feed mill
    // and fishing vessel lots.
    assert!(
        got.edges
            .iter()
            .all(|e| e.kind == trace::EdgeKind::Transformation)
    );
    assert_eq!(got.edges.len(), 5);
    let tree = got.to_tree();
    assert!(tree.contains("hatchery.1u.tf12012021"), "{tree}");
    assert!(got.to_dot().starts_with("digraph"));
}
