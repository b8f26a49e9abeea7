//! Trace and recall-scope timings on demo data in an embedded store:
//! `cargo run --release -p trace --example bench -- DIR EVENTS` (fills DIR on first run).
use std::collections::BTreeMap;
use std::time::Instant;
use store::{ErrorBehaviour, Limits, NewCapture, OrgId, Scope, Store};
use trace::{Direction, TraceOptions};
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let n: usize = std::env::args().nth(2).unwrap().parse().unwrap();
    let cfg = demo::DemoConfig::new(n, 5, 1_767_225_600_000);
    let fresh = !std::path::Path::new(&dir).exists();
    std::fs::create_dir_all(&dir).unwrap();
    let s = store_sqlite::SqliteStore::open(std::path::Path::new(&dir), Limits::default()).unwrap();
    let ctx = serde_json::json!([demo::EPCIS_CONTEXT]);
    let (mut lot, mut serial, mut pallet) = (None, None, None);
    let mut per: BTreeMap<String, Vec<store::NewEvent>> = BTreeMap::new();
    let t0 = Instant::now();
    let mut k = 0;
    for (i, (o, e)) in demo::generate_with_owner(&cfg).enumerate() {
        if i == n / 2 {
            lot = None;
            serial = None;
            pallet = None;
        }
        if lot.is_none() && e["bizStep"] == "commissioning" {
            lot = e["quantityList"][0]["epcClass"]
                .as_str()
                .map(str::to_string);
        }
        if serial.is_none() && e["bizStep"] == "retail_selling" {
            serial = e["epcList"][0].as_str().map(str::to_string);
        }
        if pallet.is_none() {
            pallet = e["parentID"].as_str().map(str::to_string);
        }
        if fresh {
            per.entry(o)
                .or_default()
                .push(epcis::index::index_event(&e, &ctx).unwrap());
        }
        if fresh && (i + 1) % 50_000 == 0 || i + 1 == n {
            for (o, evs) in std::mem::take(&mut per) {
                if evs.is_empty() {
                    continue;
                }
                k += 1;
                s.capture(NewCapture {
                    id: format!("j{k}"),
                    owner: OrgId::parse(&o).unwrap(),
                    record_time_ms: 0,
                    behaviour: ErrorBehaviour::Rollback,
                    events: evs,
                    errors: vec![],
                })
                .unwrap();
            }
        }
    }
    println!(
        "prepared {} events in {:.1} s",
        s.count_events(&Scope::All).unwrap(),
        t0.elapsed().as_secs_f64()
    );
    for id in [lot.unwrap(), serial.unwrap(), pallet.unwrap()] {
        for d in [Direction::Backward, Direction::Forward] {
            let mut best = f64::MAX;
            let mut t = None;
            for _ in 0..3 {
                let t0 = Instant::now();
                let r = trace::trace(
                    &s,
                    &Scope::All,
                    std::slice::from_ref(&id),
                    &TraceOptions::new(d),
                )
                .unwrap();
                best = best.min(t0.elapsed().as_secs_f64() * 1000.0);
                t = Some(r);
            }
            let t = t.unwrap();
            let t0 = Instant::now();
            let sc = trace::recall::scope(&t);
            let rs = t0.elapsed().as_secs_f64() * 1000.0;
            println!(
                "{d:?} {id}: {} objects {} events {} edges in {best:.1} ms (best of 3); recall scope {rs:.1} ms, {} holders",
                t.objects.len(),
                t.events.len(),
                t.edges.len(),
                sc.holders().count()
            );
        }
    }
}
