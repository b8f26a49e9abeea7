//! Hand-built chains: transformation, aggregation and disaggregation, partial shipments,
//! returns, goods moving on after a recall opened. Expectations follow from docs/trace.md.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use store::Scope;
use trace::recall::{self, Amount, RecallScope};
use trace::{Direction, EdgeKind, TraceOptions};

use crate::mem::MemStore;

const T0: i64 = 1_767_225_600_000;
const H: i64 = 3_600_000;

fn time(h: i64) -> String {
    let ms = T0 + h * H;
    let day = (ms - T0) / (24 * H);
    format!(
        "2026-01-{:02}T{:02}:00:00.000Z",
        1 + day,
        (ms - T0) / H % 24
    )
}

fn loc(org: &str) -> String {
    let n = match org {
        "farm" => 1,
        "mill" => 2,
        "bakery" => 3,
        "dist" => 4,
        "shopA" => 5,
        _ => 6,
    };
    format!("urn:epc:id:sgln:4012345.0000{n}.0")
}

const W1: &str = "urn:epc:class:lgtin:4012345.011111.W1";
const P1: &str = "urn:epc:id:sscc:4012345.0000000001";
const P2: &str = "urn:epc:id:sscc:4012345.0000000002";

fn s(n: u32) -> String {
    format!("urn:epc:id:sgtin:4012345.022222.S{n}")
}

fn canon(id: &str) -> String {
    gs1::normalize_id(id)
}

struct Chain(Vec<(String, Value)>);

impl Chain {
    fn ev(&mut self, owner: &str, h: i64, mut v: Value) {
        let m = v.as_object_mut().unwrap();
        m.insert(
            "eventID".into(),
            json!(format!(
                "urn:uuid:00000000-0000-4000-8000-{:012}",
                self.0.len() + 1
            )),
        );
        m.insert("eventTime".into(), json!(time(h)));
        m.insert("eventTimeZoneOffset".into(), json!("+00:00"));
        m.insert("bizLocation".into(), json!({ "id": loc(owner) }));
        self.0.push((owner.to_string(), v));
    }
    fn ship(&mut self, from: &str, to: &str, h: i64, disposition: &str, what: Value) {
        let mut v = json!({
            "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "disposition": disposition,
            "sourceList": [{ "type": "owning_party", "source": loc(from) }],
            "destinationList": [{ "type": "owning_party", "destination": loc(to) }],
        });
        v.as_object_mut()
            .unwrap()
            .extend(what.as_object().unwrap().clone());
        self.ev(from, h, v);
    }
    fn receive(&mut self, from: &str, to: &str, h: i64, disposition: &str, what: Value) {
        let mut v = json!({
            "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "receiving", "disposition": disposition,
            "sourceList": [{ "type": "owning_party", "source": loc(from) }],
            "destinationList": [{ "type": "owning_party", "destination": loc(to) }],
        });
        v.as_object_mut()
            .unwrap()
            .extend(what.as_object().unwrap().clone());
        self.ev(to, h, v);
    }
}

fn qty(class: &str, q: f64) -> Value {
    json!({ "epcList": [], "quantityList": [{ "epcClass": class, "quantity": q, "uom": "KGM" }] })
}

fn epcs(list: &[String]) -> Value {
    json!({ "epcList": list })
}

/// farm makes wheat lot W1 (1000 kg) and ships it in two partial shipments (600 kg to the mill,
/// 400 kg to a bakery); the mill turns its 600 kg into serials S1..S6 (lot B1 in ILMD), packs
/// S1..S4 on pallet P1 and ships it to the distributor, who takes S1 and S2 off the pallet,
/// sends S1 to shop A (sold there) and the rest of the pallet (S3, S4) to shop B; shop B unpacks,
/// returns S3 to the distributor, who destroys it. Later the mill reuses pallet P1 for S5 and
/// ships S5 to the distributor; S2 goes to shop A on pallet P2 after the recall opened (hour 40).
fn chain() -> Vec<(String, Value)> {
    let mut c = Chain(Vec::new());
    let serials: Vec<String> = (1..=6).map(s).collect();
    c.ev("farm", 1, {
        let mut v = json!({ "type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning", "disposition": "active",
            "ilmd": { "cbvmda:lotNumber": "W1" } });
        v.as_object_mut().unwrap().extend(qty(W1, 1000.0).as_object().unwrap().clone());
        v
    });
    c.ship("farm", "mill", 2, "in_transit", qty(W1, 600.0));
    c.receive("farm", "mill", 3, "in_progress", qty(W1, 600.0));
    c.ship("farm", "bakery", 4, "in_transit", qty(W1, 400.0));
    c.receive("farm", "bakery", 5, "in_progress", qty(W1, 400.0));
    c.ev(
        "mill",
        6,
        json!({ "type": "TransformationEvent", "bizStep": "commissioning", "disposition": "active",
        "inputQuantityList": [{ "epcClass": W1, "quantity": 600.0, "uom": "KGM" }],
        "outputEPCList": serials, "ilmd": { "cbvmda:lotNumber": "B1" } }),
    );
    c.ev("mill", 7, json!({ "type": "AggregationEvent", "action": "ADD", "bizStep": "packing", "disposition": "in_progress",
        "parentID": P1, "childEPCs": serials[..4] }));
    c.ship("mill", "dist", 8, "in_transit", epcs(&[P1.to_string()]));
    c.receive("mill", "dist", 9, "in_progress", epcs(&[P1.to_string()]));
    c.ev("dist", 10, json!({ "type": "AggregationEvent", "action": "DELETE", "bizStep": "unpacking", "disposition": "in_progress",
        "parentID": P1, "childEPCs": serials[..2] }));
    c.ship("dist", "shopA", 11, "in_transit", epcs(&serials[..1]));
    c.receive("dist", "shopA", 12, "in_progress", epcs(&serials[..1]));
    c.ship("dist", "shopB", 13, "in_transit", epcs(&[P1.to_string()]));
    c.receive("dist", "shopB", 14, "in_progress", epcs(&[P1.to_string()]));
    c.ev("shopB", 15, json!({ "type": "AggregationEvent", "action": "DELETE", "bizStep": "unpacking", "disposition": "in_progress",
        "parentID": P1, "childEPCs": [] }));
    c.ev("shopA", 16, json!({ "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "retail_selling", "disposition": "retail_sold",
        "epcList": serials[..1] }));
    c.ship("shopB", "dist", 17, "returned", epcs(&serials[2..3]));
    c.receive("shopB", "dist", 18, "returned", epcs(&serials[2..3]));
    c.ev("dist", 19, json!({ "type": "ObjectEvent", "action": "DELETE", "bizStep": "destroying", "disposition": "destroyed",
        "epcList": serials[2..3] }));
    c.ev("mill", 20, json!({ "type": "AggregationEvent", "action": "ADD", "bizStep": "packing", "disposition": "in_progress",
        "parentID": P1, "childEPCs": serials[4..5] }));
    c.ship("mill", "dist", 21, "in_transit", epcs(&[P1.to_string()]));
    c.receive("mill", "dist", 22, "in_progress", epcs(&[P1.to_string()]));
    // After the recall opened:
    c.ev("dist", 41, json!({ "type": "AggregationEvent", "action": "ADD", "bizStep": "packing", "disposition": "in_progress",
        "parentID": P2, "childEPCs": serials[1..2] }));
    c.ship("dist", "shopA", 42, "in_transit", epcs(&[P2.to_string()]));
    c.0
}

fn store() -> MemStore {
    MemStore::new(chain())
}

fn forward(store: &MemStore, start: &str, to_h: Option<i64>) -> trace::Trace {
    let mut opts = TraceOptions::new(Direction::Forward);
    opts.to_ms = to_h.map(|h| T0 + h * H);
    trace::trace(store, &Scope::All, &[start.to_string()], &opts).unwrap()
}

#[test]
fn forward_from_a_lot_follows_transformation_containers_and_shipments() {
    let t = forward(&store(), W1, None);
    let ids: BTreeSet<String> = t.objects.iter().map(|o| o.id.clone()).collect();
    let mut want: BTreeSet<String> = (1..=6).map(|n| canon(&s(n))).collect();
    want.extend([canon(W1), canon(P1), canon(P2)]);
    assert_eq!(ids, want);
    // S1 left P1 at hour 10: the pallet's later trip to shop B is not part of S1's custody.
    let s1 = t.object(&canon(&s(1))).unwrap();
    let times: Vec<i64> = s1.custody.iter().map(|c| (c.time_ms - T0) / H).collect();
    assert_eq!(times, vec![6, 7, 8, 9, 10, 11, 12, 16]);
    assert_eq!(s1.last_disposition.as_deref(), Some("retail_sold"));
    assert_eq!(
        s1.last_location.as_deref(),
        Some(canon(&loc("shopA")).as_str())
    );
    assert_eq!(s1.custody[2].via.as_deref(), Some(canon(P1).as_str()));
    // S4 stayed on the pallet to shop B.
    let s4 = t.object(&canon(&s(4))).unwrap();
    assert_eq!(
        s4.last_location.as_deref(),
        Some(canon(&loc("shopB")).as_str())
    );
    assert_eq!(s4.last_holder.as_deref(), Some("shopB"));
    // S6 never left the mill.
    let s6 = t.object(&canon(&s(6))).unwrap();
    assert_eq!(s6.last_holder.as_deref(), Some("mill"));
    // The lot's partial shipments: last quantity event is the bakery's receipt of 400 kg.
    let w1 = t.object(&canon(W1)).unwrap();
    assert_eq!(w1.last_quantity.as_ref().map(|q| q.quantity), Some(600.0)); // consumed at hour 6
    assert_eq!(w1.custody.len(), 6);
    let kinds: BTreeSet<EdgeKind> = t.edges.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([EdgeKind::Transformation, EdgeKind::Aggregation])
    );
}

#[test]
fn time_window_and_depth_limit_cut_the_walk() {
    let store = store();
    // Up to hour 30: P2 (hour 41) is not reached.
    let t = forward(&store, W1, Some(30));
    assert!(t.object(&canon(P2)).is_none());
    assert!(t.object(&canon(P1)).is_some());
    let mut opts = TraceOptions::new(Direction::Forward);
    opts.depth_max = Some(1);
    let t = trace::trace(&store, &Scope::All, &[W1.to_string()], &opts).unwrap();
    assert_eq!(t.objects.len(), 7, "the lot and its six serials");
}

#[test]
fn backward_from_a_container_finds_contents_lot_and_source() {
    let store = store();
    let t = trace::trace(
        &store,
        &Scope::All,
        &[P1.to_string()],
        &TraceOptions::new(Direction::Backward),
    )
    .unwrap();
    let ids: BTreeSet<String> = t.objects.iter().map(|o| o.id.clone()).collect();
    let lot_b1 = trace::lot_of_serial(&canon(&s(1)), "B1").unwrap();
    let mut want: BTreeSet<String> = [1, 2, 3, 4, 5].iter().map(|&n| canon(&s(n))).collect();
    want.extend([canon(P1), canon(W1), lot_b1.clone()]);
    assert_eq!(ids, want);
    // S1 is only P1's content until it was taken off at hour 10.
    assert_eq!(t.object(&canon(&s(1))).unwrap().until_ms, Some(T0 + 10 * H));
    // The raw lot's source is the farm.
    let w1 = t.object(&canon(W1)).unwrap();
    assert_eq!(w1.custody[0].holder, "farm");
    assert!(
        t.edges
            .iter()
            .any(|e| e.kind == EdgeKind::Lot && e.to == lot_b1)
    );
    // A serial traces back through its lot and transformation to the farm's lot.
    let t = trace::trace(
        &store,
        &Scope::All,
        &[s(6)],
        &TraceOptions::new(Direction::Backward),
    )
    .unwrap();
    assert!(t.object(&canon(W1)).is_some());
    assert!(
        t.object(&canon(P1)).is_none(),
        "backward does not go from contents to containers"
    );
}

fn amount(list: &[Amount], uom: Option<&str>) -> f64 {
    list.iter()
        .find(|a| a.uom.as_deref() == uom)
        .map(|a| a.quantity)
        .unwrap_or(0.0)
}

fn holder<'a>(scope: &'a RecallScope, org: &str) -> &'a recall::Holder {
    scope
        .holders()
        .find(|h| h.organisation == org)
        .unwrap_or_else(|| panic!("{org} in {scope:#?}"))
}

#[test]
fn recall_scope_counts_received_and_held_per_holder_and_tier() {
    let store = store();
    // The recall opens at hour 40: scope as of then, and again after the goods moved on.
    let at_open = recall::scope(&forward(&store, W1, Some(40)));
    assert_eq!(at_open.lots, vec![canon(W1)]);
    assert_eq!(at_open.serials.len(), 6);
    assert_eq!(at_open.containers, vec![canon(P1)]);
    let farm = holder(&at_open, "farm");
    assert_eq!(
        (
            farm.tier,
            amount(&farm.received, Some("KGM")),
            amount(&farm.held, Some("KGM"))
        ),
        (0, 1000.0, 0.0)
    );
    let bakery = holder(&at_open, "bakery");
    assert_eq!(
        (
            bakery.tier,
            amount(&bakery.received, Some("KGM")),
            amount(&bakery.held, Some("KGM"))
        ),
        (1, 400.0, 400.0)
    );
    let mill = holder(&at_open, "mill");
    assert_eq!(mill.tier, 1);
    assert_eq!(amount(&mill.received, Some("KGM")), 600.0);
    assert_eq!(
        amount(&mill.held, Some("KGM")),
        0.0,
        "consumed by the transformation"
    );
    assert_eq!(
        (amount(&mill.received, None), amount(&mill.held, None)),
        (6.0, 1.0),
        "S6 is still there"
    );
    let dist = holder(&at_open, "dist");
    assert_eq!(dist.tier, 2);
    // S1..S4 on P1, S3 returned, S5 on P1's second trip; holds S2 and S5.
    assert_eq!(
        (amount(&dist.received, None), amount(&dist.held, None)),
        (6.0, 2.0)
    );
    assert_eq!(dist.objects_held, vec![canon(&s(2)), canon(&s(5))]);
    let shop_a = holder(&at_open, "shopA");
    assert_eq!(
        (
            shop_a.tier,
            amount(&shop_a.received, None),
            amount(&shop_a.held, None)
        ),
        (3, 1.0, 0.0)
    );
    let shop_b = holder(&at_open, "shopB");
    assert_eq!(
        (
            shop_b.tier,
            amount(&shop_b.received, None),
            amount(&shop_b.held, None)
        ),
        (3, 2.0, 1.0)
    );
    let tiers: Vec<u32> = at_open.tiers.iter().map(|t| t.tier).collect();
    assert_eq!(tiers, vec![0, 1, 2, 3]);
    // Goods moving on after the recall opened: S2 left the distributor on pallet P2.
    let later = recall::scope(&forward(&store, W1, None));
    assert!(later.containers.contains(&canon(P2)));
    let dist = holder(&later, "dist");
    assert_eq!(amount(&dist.held, None), 1.0);
    assert_eq!(dist.objects_held, vec![canon(&s(5))]);
}

#[test]
fn visibility_scope_limits_what_is_traced() {
    let store = store();
    let only_farm = Scope::org(store::OrgId::parse("farm").unwrap());
    let t = trace::trace(
        &store,
        &only_farm,
        &[W1.to_string()],
        &TraceOptions::new(Direction::Forward),
    )
    .unwrap();
    // The farm sees only its own events: the lot, none of the mill's transformation.
    assert_eq!(t.objects.len(), 1);
    assert_eq!(t.events.len(), 3);
}

#[test]
fn bad_options_are_errors_that_name_the_field() {
    let store = store();
    let mut opts = TraceOptions::new(Direction::Forward);
    opts.from_ms = Some(2);
    opts.to_ms = Some(1);
    let err = trace::trace(&store, &Scope::All, &[W1.to_string()], &opts).unwrap_err();
    assert!(err.to_string().contains("from_ms"));
    let err = trace::trace(
        &store,
        &Scope::All,
        &[],
        &TraceOptions::new(Direction::Forward),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("start"));
}

/// A mixing plant records one transformation as three events sharing a `transformationID`:
/// wheat W1 goes in at hour 2, salt L2 at hour 4, flour lots F1 (hour 3) and F2 (hour 5) come
/// out. CBV: every input of the transformation contributes to every output, whichever event
/// lists it; time stays causal per event (an output exists from its own event on, an input is
/// consumed at its own event).
#[test]
fn a_transformation_split_over_events_by_transformation_id_is_one_transformation() {
    const L2: &str = "urn:epc:class:lgtin:4012345.011111.L2";
    const F1: &str = "urn:epc:class:lgtin:4012345.033333.F1";
    const F2: &str = "urn:epc:class:lgtin:4012345.033333.F2";
    let tid = "urn:uuid:11111111-2222-4333-8444-555555555555";
    let part = |tid: Option<&str>, inputs: &[&str], outputs: &[&str]| {
        let mut v = json!({ "type": "TransformationEvent", "bizStep": "commissioning" });
        if let Some(t) = tid {
            v["transformationID"] = json!(t);
        }
        if !inputs.is_empty() {
            v["inputQuantityList"] = json!(
                inputs
                    .iter()
                    .map(|c| json!({ "epcClass": c, "quantity": 10.0, "uom": "KGM" }))
                    .collect::<Vec<_>>()
            );
        }
        if !outputs.is_empty() {
            v["outputQuantityList"] = json!(
                outputs
                    .iter()
                    .map(|c| json!({ "epcClass": c, "quantity": 5.0, "uom": "KGM" }))
                    .collect::<Vec<_>>()
            );
        }
        v
    };
    let build = |tid: Option<&str>| {
        let mut c = Chain(Vec::new());
        c.ev("mill", 2, part(tid, &[W1], &[]));
        c.ev("mill", 3, part(tid, &[], &[F1]));
        c.ev("mill", 4, part(tid, &[L2], &[]));
        c.ev("mill", 5, part(tid, &[], &[F2]));
        // F1 shipped at hour 6; W1 seen again at hour 7 (after it was consumed).
        c.ship("mill", "dist", 6, "in_transit", qty(F1, 5.0));
        c.ev(
            "mill",
            7,
            json!({ "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "inspecting",
            "epcList": [], "quantityList": [{ "epcClass": W1 }] }),
        );
        MemStore::new(c.0)
    };
    let joined = build(Some(tid));
    let objects =
        |t: &trace::Trace| -> BTreeSet<String> { t.objects.iter().map(|o| o.id.clone()).collect() };
    // Forward from salt (input of the hour-4 event) reaches both flours, each from its own
    // event's time on: F1 (made at hour 3) with its hour-6 shipment.
    let fwd = forward(&joined, L2, None);
    assert_eq!(
        objects(&fwd),
        BTreeSet::from([canon(L2), canon(F1), canon(F2)])
    );
    let f1 = fwd.object(&canon(F1)).unwrap();
    assert_eq!(f1.from_ms, Some(T0 + 3 * H));
    assert!(
        f1.events.len() == 2,
        "made at 3, shipped at 6: {:?}",
        f1.events
    );
    assert!(
        fwd.edges
            .iter()
            .all(|e| e.kind == EdgeKind::Transformation && e.from == canon(L2))
    );
    // Backward from F1 reaches wheat and salt, each until its own event: W1's hour-7 event is
    // not part of F1's history.
    let mut opts = TraceOptions::new(Direction::Backward);
    opts.depth_max = None;
    let back = trace::trace(&joined, &Scope::All, &[F1.to_string()], &opts).unwrap();
    assert_eq!(
        objects(&back),
        BTreeSet::from([canon(F1), canon(W1), canon(L2)])
    );
    assert_eq!(back.object(&canon(W1)).unwrap().until_ms, Some(T0 + 2 * H));
    assert_eq!(back.object(&canon(L2)).unwrap().until_ms, Some(T0 + 4 * H));
    assert_eq!(back.object(&canon(W1)).unwrap().events.len(), 1);
    // Without the shared transformationID the four events are four unrelated transformations
    // with no inputs or no outputs: nothing is linked.
    let apart = build(None);
    assert_eq!(
        objects(&forward(&apart, L2, None)),
        BTreeSet::from([canon(L2)])
    );
    // The reference implementation agrees.
    let reference = crate::naive::events(&joined);
    for (start, fw) in [(L2, true), (W1, true), (F1, false), (F2, false)] {
        let want = crate::naive::trace(&reference, &[start.to_string()], fw, i64::MIN, i64::MAX);
        let got = if fw {
            forward(&joined, start, None)
        } else {
            trace::trace(&joined, &Scope::All, &[start.to_string()], &opts).unwrap()
        };
        let got: std::collections::BTreeMap<String, (i64, i64)> = got
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
            .collect();
        assert_eq!(got, want.objects, "{start}");
    }
}
