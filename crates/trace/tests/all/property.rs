//! On random demo chains, trace equals the plain reference implementation.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use store::Scope;
use trace::{Direction, TraceOptions};

use crate::mem::MemStore;
use crate::naive;

const START_MS: i64 = 1_767_225_600_000;

/// Demo events, with two of every three transformations split over several events sharing a
/// `transformationID` (see `mem::split_transformations`).
fn demo_store(seed: u64, events: usize) -> MemStore {
    let cfg = demo::DemoConfig::new(events, seed, START_MS);
    let events = crate::mem::split_transformations(demo::generate_with_owner(&cfg).collect());
    assert!(
        events
            .iter()
            .any(|(_, v)| v.get("transformationID").is_some()),
        "the chain has split transformations"
    );
    MemStore::new(events)
}

fn as_naive(t: &trace::Trace) -> naive::Result {
    naive::Result {
        objects: t
            .objects
            .iter()
            .map(|o| {
                (
                    o.id.clone(),
                    (
                        o.from_ms.unwrap_or(i64::MIN),
                        o.until_ms.unwrap_or(i64::MAX),
                    ),
                )
            })
            .collect(),
        events: t.events.iter().cloned().collect(),
        edges: t
            .edges
            .iter()
            .map(|e| (e.from.clone(), e.to.clone(), e.event_id.clone()))
            .collect(),
    }
}

/// Identifiers to start from: some of every kind, picked by `pick`.
fn starts(store: &MemStore, pick: &[usize]) -> Vec<String> {
    let all: BTreeSet<String> = store
        .events
        .iter()
        .flat_map(|e| crate::mem::ids_of(&serde_json::from_str(&e.body).unwrap()))
        .collect();
    let all: Vec<String> = all.into_iter().collect();
    pick.iter().map(|&i| all[i % all.len()].clone()).collect()
}

fn check(
    store: &MemStore,
    reference: &[naive::E],
    start: &[String],
    direction: Direction,
    window: (Option<i64>, Option<i64>),
) {
    let mut opts = TraceOptions::new(direction);
    opts.from_ms = window.0;
    opts.to_ms = window.1;
    opts.batch_max = 7; // force many frontier batches
    let got = trace::trace(store, &Scope::All, start, &opts).unwrap();
    assert!(!got.truncated);
    // The recall scope straight from the walk is the scope of the trace.
    assert_eq!(
        trace::recall_scope(store, &Scope::All, start, &opts).unwrap(),
        trace::recall::scope(&got),
        "recall scope from {start:?} {direction:?}"
    );
    let want = naive::trace(
        reference,
        start,
        direction == Direction::Forward,
        window.0.unwrap_or(i64::MIN),
        window.1.unwrap_or(i64::MAX),
    );
    let got = as_naive(&got);
    assert_eq!(
        got.objects, want.objects,
        "objects from {start:?} {direction:?}"
    );
    assert_eq!(got.edges, want.edges, "edges from {start:?} {direction:?}");
    assert_eq!(
        got.events, want.events,
        "events from {start:?} {direction:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

    #[test]
    fn trace_equals_the_reference_on_demo_chains(
        seed in 0u64..1_000_000,
        pick in proptest::collection::vec(0usize..1_000_000, 1..4),
        windowed in any::<bool>(),
        w0 in 0i64..10,
        w1 in 0i64..10,
    ) {
        let store = demo_store(seed, 4_000);
        let reference = naive::events(&store);
        let start = starts(&store, &pick);
        let day = 86_400_000;
        let window = if windowed {
            (Some(START_MS + w0.min(w1) * day / 2), Some(START_MS + (w0.max(w1) + 1) * day / 2))
        } else {
            (None, None)
        };
        for direction in [Direction::Backward, Direction::Forward] {
            check(&store, &reference, &start, direction, window);
        }
    }
}

/// Reach grows: a forward trace from a raw-material lot reaches serials at retail, and the
/// backward trace from one of those serials comes back to that lot.
#[test]
fn forward_and_backward_are_mirror_images_on_a_demo_chain() {
    let store = demo_store(42, 12_000);
    let reference = naive::events(&store);
    // The first commissioned raw lot.
    let first = store
        .events
        .iter()
        .find(|e| e.body.contains("\"commissioning\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    let lot = gs1::normalize_id(v["quantityList"][0]["epcClass"].as_str().unwrap());
    let fwd = trace::trace(
        &store,
        &Scope::All,
        std::slice::from_ref(&lot),
        &TraceOptions::new(Direction::Forward),
    )
    .unwrap();
    let want = naive::trace(
        &reference,
        std::slice::from_ref(&lot),
        true,
        i64::MIN,
        i64::MAX,
    );
    assert_eq!(as_naive(&fwd), want);
    let serials: Vec<&trace::ObjectFacts> = fwd
        .objects
        .iter()
        .filter(|o| o.kind == trace::ObjectKind::Serial)
        .collect();
    assert!(
        !serials.is_empty(),
        "the first lot reaches serialised goods"
    );
    let last = serials.last().unwrap();
    let back = trace::trace(
        &store,
        &Scope::All,
        std::slice::from_ref(&last.id),
        &TraceOptions::new(Direction::Backward),
    )
    .unwrap();
    assert!(
        back.object(&lot).is_some(),
        "backward from {} reaches {lot}",
        last.id
    );
    let want = naive::trace(
        &reference,
        std::slice::from_ref(&last.id),
        false,
        i64::MIN,
        i64::MAX,
    );
    assert_eq!(as_naive(&back), want);
    // Every object's facts come from its own events.
    let by_id: BTreeMap<&str, &trace::ObjectFacts> =
        fwd.objects.iter().map(|o| (o.id.as_str(), o)).collect();
    for o in by_id.values() {
        assert!(o.custody.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
        if let Some(last) = o.custody.last() {
            assert_eq!(o.last_seen_ms, Some(last.time_ms));
        }
    }
}

#[test]
fn budgets_and_depth_bound_the_walk() {
    let store = demo_store(7, 8_000);
    let first = store
        .events
        .iter()
        .find(|e| e.body.contains("\"commissioning\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    let lot = v["quantityList"][0]["epcClass"]
        .as_str()
        .unwrap()
        .to_string();
    let full = trace::trace(
        &store,
        &Scope::All,
        std::slice::from_ref(&lot),
        &TraceOptions::new(Direction::Forward),
    )
    .unwrap();
    assert!(full.objects.len() > 3);
    let mut opts = TraceOptions::new(Direction::Forward);
    opts.objects_max = 3;
    let cut = trace::trace(&store, &Scope::All, std::slice::from_ref(&lot), &opts).unwrap();
    assert!(cut.truncated);
    assert_eq!(cut.objects.len(), 3);
    let mut opts = TraceOptions::new(Direction::Forward);
    opts.depth_max = Some(1);
    let shallow = trace::trace(&store, &Scope::All, std::slice::from_ref(&lot), &opts).unwrap();
    assert!(shallow.objects.iter().all(|o| o.depth <= 1));
    let one_hop: BTreeSet<&str> = full
        .edges
        .iter()
        .filter(|e| e.from == full.start[0])
        .map(|e| e.to.as_str())
        .collect();
    let got: BTreeSet<&str> = shallow
        .objects
        .iter()
        .filter(|o| o.depth == 1)
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(got, one_hop);
}
