//! The conformance suite every backend must pass. Backends call [`run_all`] (or the single
//! checks) from their own tests with a fresh, empty store for each check.
//!
//! The expected answers come from a naive reference implementation written plainly here
//! ([`naive_matches`]) over the same extracted indexes, never from a backend's own output.
//! Panics (with a message naming the check) on the first failure.

use crate::*;
use epcis::index::{EventIndex, IdRole};
use epcis::query::{Direction, EventQuery, IdMatch, OrderBy};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

/// One named check of the suite.
pub type Check<S> = (&'static str, fn(&S));

/// Every check, by name.
pub fn checks<S: Store>() -> Vec<Check<S>> {
    vec![
        ("capture_and_read_back", capture_and_read_back::<S>),
        ("duplicates_by_event_id", duplicates_by_event_id::<S>),
        ("duplicates_by_hash", duplicates_by_hash::<S>),
        ("rollback_stores_nothing", rollback_stores_nothing::<S>),
        (
            "proceed_stores_valid_events",
            proceed_stores_valid_events::<S>,
        ),
        ("capture_limit", capture_limit::<S>),
        ("capture_id_taken", capture_id_taken::<S>),
        ("every_query_parameter", every_query_parameter::<S>),
        (
            "paging_is_complete_and_ordered",
            paging_is_complete_and_ordered::<S>,
        ),
        (
            "paging_stable_under_capture",
            paging_stable_under_capture::<S>,
        ),
        ("event_count_limit", event_count_limit::<S>),
        ("distinct_values", distinct_values::<S>),
        ("events_touching", events_touching::<S>),
        ("scope_isolation", scope_isolation::<S>),
        ("records_versioning", records_versioning::<S>),
        ("keys", keys::<S>),
        ("server_secret_is_stable", server_secret_is_stable::<S>),
    ]
}

/// Run every check, each on a fresh store from `make`.
pub fn run_all<S: Store>(make: &dyn Fn() -> S) {
    for (name, check) in checks::<S>() {
        let store = make();
        eprintln!("conformance: {name}");
        check(&store);
    }
}

// ---- test data --------------------------------------------------------------------------------

/// A stand-in for the CBV 2.0 hash (the suite tests storage, not hashing): a deterministic
/// 256-bit digest of the event without its `eventID` and `recordTime`, in the standard form.
pub fn fake_hash(event: &Value) -> String {
    let mut v = event.clone();
    if let Value::Object(o) = &mut v {
        o.shift_remove("eventID");
        o.shift_remove("recordTime");
    }
    let s = v.to_string();
    let mut out = String::from("ni:///sha-256;");
    for seed in 0..4u64 {
        // FNV-1a, four lanes.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for b in s.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out.push_str("?ver=CBV2.0");
    out
}

/// Index one event with [`fake_hash`].
pub fn index(event: &Value) -> EventIndex {
    epcis::index::extract(event, fake_hash(event))
        .unwrap_or_else(|e| panic!("test event does not index: {e}\n{event}"))
}

/// A small deterministic generator (no global RNG).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const COMPANIES: [&str; 2] = ["0614141", "4012345"];
const STEPS: [&str; 6] = [
    "commissioning",
    "shipping",
    "receiving",
    "urn:epcglobal:cbv:bizstep:packing",
    "https://ref.gs1.org/cbv/BizStep-retail_selling",
    "http://example.com/steps/custom",
];
const DISPS: [&str; 4] = [
    "active",
    "in_transit",
    "urn:epcglobal:cbv:disp:in_progress",
    "retail_sold",
];
const T0_MS: i64 = 1_700_000_000_000;

fn sgtin(company: &str, item: u64, serial: u64) -> String {
    let item_ref = format!("{:0w$}", 100000 + item, w = 13 - company.len());
    format!("urn:epc:id:sgtin:{company}.{item_ref}.{serial}")
}
fn lgtin(company: &str, item: u64, lot: u64) -> String {
    let item_ref = format!("{:0w$}", 100000 + item, w = 13 - company.len());
    format!("urn:epc:class:lgtin:{company}.{item_ref}.L{lot}")
}
fn sscc(company: &str, n: u64) -> String {
    let serial = format!("{:0w$}", n, w = 17 - company.len());
    format!("urn:epc:id:sscc:{company}.{serial}")
}
fn sgln(company: &str, loc: u64, ext: Option<u64>) -> String {
    let loc_ref = format!("{:0w$}", loc, w = 12 - company.len());
    match ext {
        Some(e) => format!("urn:epc:id:sgln:{company}.{loc_ref}.{e}"),
        None => format!("urn:epc:id:sgln:{company}.{loc_ref}.0"),
    }
}
/// Half of the identifiers are written as Digital Links (the same identifier, another spelling).
fn spell(rng: &mut Lcg, urn: String) -> String {
    if rng.below(2) == 0 {
        gs1::canonical_dl(&urn).unwrap_or(urn)
    } else {
        urn
    }
}
fn time_str(ms: i64, offset_h: i64) -> String {
    // RFC 3339 with an offset, built by hand (no clock).
    let local = ms + offset_h * 3_600_000;
    let secs = local.div_euclid(1000);
    let millis = local.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if offset_h < 0 { '-' } else { '+' };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}{sign}{:02}:00",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        offset_h.abs()
    )
}
/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `n` varied events of all five types (deterministic from `seed`), eventIDs unique per seed.
pub fn sample_events(seed: u64, n: usize) -> Vec<Value> {
    let mut rng = Lcg(seed.wrapping_add(0x5eed));
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let c = COMPANIES[rng.below(2) as usize];
        let item = rng.below(3);
        let ms = T0_MS + (i as i64) * 60_000 + rng.below(50_000) as i64;
        let offset = [0, 8, -5][rng.below(3) as usize];
        let epc = |rng: &mut Lcg| {
            let urn = sgtin(c, item, rng.below(40));
            spell(rng, urn)
        };
        let kind = rng.below(5);
        let mut e = serde_json::Map::new();
        let ty = [
            "ObjectEvent",
            "AggregationEvent",
            "TransactionEvent",
            "TransformationEvent",
            "AssociationEvent",
        ][kind as usize];
        e.insert("type".into(), json!(ty));
        if rng.below(10) != 0 {
            e.insert(
                "eventID".into(),
                json!(format!(
                    "urn:uuid:00000000-0000-4000-8000-{seed:04x}{i:08x}"
                )),
            );
        }
        e.insert("eventTime".into(), json!(time_str(ms, offset)));
        e.insert(
            "eventTimeZoneOffset".into(),
            json!(format!(
                "{}{:02}:00",
                if offset < 0 { '-' } else { '+' },
                offset.abs()
            )),
        );
        match kind {
            0 => {
                let n_epc = 1 + rng.below(3);
                let epcs: Vec<String> = (0..n_epc).map(|_| epc(&mut rng)).collect();
                e.insert("epcList".into(), json!(epcs));
                if rng.below(3) == 0 {
                    e.insert(
                        "quantityList".into(),
                        {
                            let class = lgtin(c, item, rng.below(4));
                            let class = spell(&mut rng, class);
                            json!([{"epcClass": class, "quantity": rng.below(100) as f64 + 0.5, "uom": "KGM"}])
                        },
                    );
                }
                e.insert(
                    "action".into(),
                    json!(["ADD", "OBSERVE", "DELETE"][rng.below(3) as usize]),
                );
            }
            1 | 4 => {
                let parent = sscc(c, rng.below(10));
                e.insert("parentID".into(), json!(spell(&mut rng, parent)));
                let kids: Vec<String> = (0..1 + rng.below(3)).map(|_| epc(&mut rng)).collect();
                e.insert("childEPCs".into(), json!(kids));
                if rng.below(2) == 0 {
                    e.insert(
                        "childQuantityList".into(),
                        json!([{"epcClass": lgtin(c, item, rng.below(4)), "quantity": 3}]),
                    );
                }
                e.insert(
                    "action".into(),
                    json!(["ADD", "OBSERVE", "DELETE"][rng.below(3) as usize]),
                );
            }
            2 => {
                if rng.below(2) == 0 {
                    e.insert("parentID".into(), json!(sscc(c, rng.below(10))));
                }
                e.insert("epcList".into(), json!([epc(&mut rng)]));
                e.insert(
                    "action".into(),
                    json!(["ADD", "OBSERVE", "DELETE"][rng.below(3) as usize]),
                );
            }
            _ => {
                e.insert("inputEPCList".into(), json!([epc(&mut rng)]));
                e.insert(
                    "outputEPCList".into(),
                    json!([epc(&mut rng), epc(&mut rng)]),
                );
                e.insert("inputQuantityList".into(), json!([{"epcClass": lgtin(c, item, rng.below(4)), "quantity": 10, "uom": "KGM"}]));
                e.insert(
                    "outputQuantityList".into(),
                    json!([{"epcClass": lgtin(c, item + 1, rng.below(4)), "quantity": 2}]),
                );
                // Every other transformation shares an ID with a neighbour (split transformations);
                // no draw from `rng`, so the rest of the sample stays as it was.
                if i % 2 == 0 {
                    e.insert(
                        "transformationID".into(),
                        json!(format!("urn:uuid:7f000000-0000-4000-8000-{:012x}", i % 7)),
                    );
                }
            }
        }
        if rng.below(6) != 0 {
            e.insert(
                "bizStep".into(),
                json!(STEPS[rng.below(STEPS.len() as u64) as usize]),
            );
        }
        if rng.below(5) != 0 {
            e.insert(
                "disposition".into(),
                json!(DISPS[rng.below(DISPS.len() as u64) as usize]),
            );
        }
        let loc = rng.below(3) + 1;
        if rng.below(4) != 0 {
            let ext = if rng.below(2) == 0 {
                Some(rng.below(3) + 1)
            } else {
                None
            };
            e.insert(
                "readPoint".into(),
                json!({"id": spell(&mut rng, sgln(c, loc, ext))}),
            );
        }
        if rng.below(3) != 0 {
            e.insert("bizLocation".into(), json!({"id": sgln(c, loc, None)}));
        }
        if rng.below(3) == 0 {
            let ty = ["po", "desadv", "urn:epcglobal:cbv:btt:inv"][rng.below(3) as usize];
            let mut bt = serde_json::Map::new();
            if rng.below(4) != 0 {
                bt.insert("type".into(), json!(ty));
            }
            bt.insert(
                "bizTransaction".into(),
                json!(format!("urn:epcglobal:cbv:bt:{c}:{}", rng.below(5))),
            );
            e.insert("bizTransactionList".into(), json!([bt]));
        }
        if rng.below(3) == 0 {
            let party = |rng: &mut Lcg| {
                format!(
                    "urn:epc:id:pgln:{}.{:05}",
                    COMPANIES[rng.below(2) as usize],
                    rng.below(3)
                )
            };
            e.insert("sourceList".into(), json!([{"type": "owning_party", "source": party(&mut rng)}, {"type": "location", "source": sgln(c, loc, None)}]));
            e.insert(
                "destinationList".into(),
                json!([{"type": "owning_party", "destination": party(&mut rng)}]),
            );
        }
        if rng.below(12) == 0 {
            e.insert(
                "errorDeclaration".into(),
                json!({"declarationTime": time_str(ms + 1000, 0), "reason": "incorrect_data"}),
            );
        }
        e.insert(
            "example:note".into(),
            json!({"@value": format!("event {i}"), "nested": [1, 2, {"x": null}]}),
        );
        out.push(Value::Object(e));
    }
    out
}

fn new_capture(id: &str, owner: &str, record_time_ms: i64, events: Vec<EventIndex>) -> NewCapture {
    NewCapture {
        id: id.to_string(),
        owner: OrgId::parse(owner).expect("test org id"),
        record_time_ms,
        behaviour: ErrorBehaviour::Rollback,
        events,
        errors: Vec::new(),
    }
}

fn org(s: &str) -> OrgId {
    OrgId::parse(s).expect("test org id")
}

/// Everything visible, through pages of `per_page`.
fn all_pages<S: Store>(s: &S, scope: &Scope, q: &EventQuery, per_page: usize) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    let mut after: Option<Cursor> = None;
    for _ in 0..100_000 {
        let page = s
            .query_events(scope, q, after.as_ref(), per_page)
            .expect("query_events");
        assert!(
            page.events.len() <= per_page,
            "a page holds at most the page size"
        );
        out.extend(page.events);
        match page.next {
            Some(c) => after = Some(c),
            None => return out,
        }
    }
    panic!("paging did not end");
}

fn ids_of(events: &[StoredEvent]) -> BTreeSet<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

// ---- the naive reference ----------------------------------------------------------------------

/// A stored event as the reference sees it.
#[derive(Debug, Clone)]
pub struct RefEvent {
    pub index: EventIndex,
    pub owner: OrgId,
    pub record_time_ms: i64,
}

fn id_matches(pats: &[IdMatch], id: &str) -> bool {
    pats.iter().any(|p| match p {
        IdMatch::Exact(x) => x == id,
        IdMatch::Prefix(x) => id.starts_with(x.as_str()),
    })
}

fn within(wd: &[String], v: &str) -> bool {
    wd.iter().any(|w| {
        v == w
            || (w.contains("/414/") && !w.contains("/254/") && v.starts_with(&format!("{w}/254/")))
    })
}

/// Whether `e` answers `q` (filters only: no order, no limit), written plainly from the
/// standard's text.
pub fn naive_matches(q: &EventQuery, e: &RefEvent) -> bool {
    let x = &e.index;
    let any_of = |list: &[String], v: &Option<String>| {
        list.is_empty() || v.as_ref().is_some_and(|v| list.contains(v))
    };
    if !q.event_types.is_empty() && !q.event_types.contains(&x.event_type) {
        return false;
    }
    if q.ge_event_time_ms.is_some_and(|t| x.event_time_ms < t)
        || q.lt_event_time_ms.is_some_and(|t| x.event_time_ms >= t)
    {
        return false;
    }
    if q.ge_record_time_ms.is_some_and(|t| e.record_time_ms < t)
        || q.lt_record_time_ms.is_some_and(|t| e.record_time_ms >= t)
    {
        return false;
    }
    if !any_of(&q.eq_action, &x.action)
        || !any_of(&q.eq_biz_step, &x.biz_step)
        || !any_of(&q.eq_disposition, &x.disposition)
        || !any_of(&q.eq_read_point, &x.read_point)
        || !any_of(&q.eq_biz_location, &x.biz_location)
    {
        return false;
    }
    if !q.wd_read_point.is_empty()
        && !x
            .read_point
            .as_ref()
            .is_some_and(|v| within(&q.wd_read_point, v))
    {
        return false;
    }
    if !q.wd_biz_location.is_empty()
        && !x
            .biz_location
            .as_ref()
            .is_some_and(|v| within(&q.wd_biz_location, v))
    {
        return false;
    }
    for (field, pats) in &q.matches {
        let roles = field.roles();
        if !x
            .ids
            .iter()
            .any(|r| roles.contains(&r.role) && id_matches(pats, &r.id))
        {
            return false;
        }
    }
    if !q.eq_event_id.is_empty() && !q.eq_event_id.contains(&x.event_id) {
        return false;
    }
    if q.has_quantity_filter()
        && !x
            .ids
            .iter()
            .any(|r| r.quantity.is_some_and(|v| q.quantity_matches(v)))
    {
        return false;
    }
    if q.exists_error_declaration && !x.has_error_declaration {
        return false;
    }
    for (wanted, have) in [
        (&q.eq_biz_transaction, &x.biz_transactions),
        (&q.eq_source, &x.sources),
        (&q.eq_destination, &x.destinations),
    ] {
        for (ty, vals) in wanted {
            if !have
                .iter()
                .any(|(t, v)| (ty.is_empty() || t == ty) && vals.contains(v))
            {
                return false;
            }
        }
    }
    true
}

// ---- checks -----------------------------------------------------------------------------------

fn capture_and_read_back<S: Store>(s: &S) {
    let raw = sample_events(1, 60);
    let idx: Vec<EventIndex> = raw.iter().map(index).collect();
    let job = s
        .capture(new_capture("cap-1", "org-a", T0_MS, idx.clone()))
        .expect("capture");
    assert_eq!(job.status, JobStatus::Success);
    assert_eq!((job.stored, job.duplicates), (60, 0));
    assert_eq!(s.count_events(&Scope::All).unwrap(), 60);
    let got = all_pages(s, &Scope::All, &EventQuery::default(), 1000);
    assert_eq!(got.len(), 60);
    let by_id: HashMap<&str, &EventIndex> = idx.iter().map(|e| (e.event_id.as_str(), e)).collect();
    for g in &got {
        let want = by_id
            .get(g.event_id.as_str())
            .expect("stored event has a captured eventID");
        assert_eq!(g.body, want.body, "body must come back byte for byte");
        assert_eq!(g.event_hash, want.event_hash);
        assert_eq!(g.event_type, want.event_type);
        assert_eq!(g.event_time_ms, want.event_time_ms);
        assert_eq!(g.record_time_ms, T0_MS);
        assert_eq!(g.capture_id, "cap-1");
        assert_eq!(g.owner, org("org-a"));
        let body: Value = serde_json::from_str(&g.body).expect("body is JSON");
        assert_eq!(
            body["eventID"].as_str(),
            Some(g.event_id.as_str()),
            "eventID is in the body"
        );
    }
    let seqs: Vec<i64> = got.iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seq increases in capture order"
    );
    let fetched = s.capture_job(&Scope::All, "cap-1").unwrap().expect("job");
    assert_eq!(fetched, job);
    assert_eq!(s.capture_jobs(&Scope::All, None, 10).unwrap(), vec![job]);
    assert_eq!(s.capture_job(&Scope::All, "no-such-job").unwrap(), None);
}

fn duplicates_by_event_id<S: Store>(s: &S) {
    let idx: Vec<EventIndex> = sample_events(2, 30).iter().map(index).collect();
    s.capture(new_capture("d1", "org-a", T0_MS, idx.clone()))
        .unwrap();
    let again = s
        .capture(new_capture("d2", "org-a", T0_MS + 1, idx.clone()))
        .unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 30));
    assert_eq!(again.status, JobStatus::Success);
    // Same eventID, different content: still the same event.
    let mut changed = idx[0].clone();
    changed.event_hash = fake_hash(&json!({"changed": true}));
    changed.body = changed.body.replace("event 0", "event zero");
    let j = s
        .capture(new_capture("d3", "org-a", T0_MS + 2, vec![changed]))
        .unwrap();
    assert_eq!((j.stored, j.duplicates), (0, 1));
    // Twice in one document: stored once.
    let fresh: Vec<EventIndex> = sample_events(3, 5).iter().map(index).collect();
    let mut doc = fresh.clone();
    doc.extend(fresh.clone());
    let j = s
        .capture(new_capture("d4", "org-a", T0_MS + 3, doc))
        .unwrap();
    assert_eq!((j.stored, j.duplicates), (5, 5));
    assert_eq!(s.count_events(&Scope::All).unwrap(), 35);
    assert_eq!(
        all_pages(s, &Scope::All, &EventQuery::default(), 7).len(),
        35
    );
    // Another owner may capture the same events: exactly-once holds per owner.
    let j = s
        .capture(new_capture("d5", "org-b", T0_MS + 4, idx))
        .unwrap();
    assert_eq!((j.stored, j.duplicates), (30, 0));
}

fn duplicates_by_hash<S: Store>(s: &S) {
    let mut ev = sample_events(4, 1).remove(0);
    ev.as_object_mut().unwrap().shift_remove("eventID");
    let no_id = index(&ev);
    assert_eq!(
        no_id.event_id, no_id.event_hash,
        "an event without eventID gets its hash as ID"
    );
    let j = s
        .capture(new_capture("h1", "org-a", T0_MS, vec![no_id.clone()]))
        .unwrap();
    assert_eq!(j.stored, 1);
    // The same content with an eventID: same hash, so the same event.
    let mut with_id = ev.clone();
    with_id.as_object_mut().unwrap().insert(
        "eventID".into(),
        json!("urn:uuid:11111111-2222-4333-8444-555555555555"),
    );
    let j = s
        .capture(new_capture("h2", "org-a", T0_MS + 1, vec![index(&with_id)]))
        .unwrap();
    assert_eq!((j.stored, j.duplicates), (0, 1));
    // And the other way round: an event with an ID first, then the same content without one.
    let mut other = sample_events(5, 1).remove(0);
    other.as_object_mut().unwrap().insert(
        "eventID".into(),
        json!("urn:uuid:aaaaaaaa-2222-4333-8444-555555555555"),
    );
    s.capture(new_capture("h3", "org-a", T0_MS + 2, vec![index(&other)]))
        .unwrap();
    other.as_object_mut().unwrap().shift_remove("eventID");
    let j = s
        .capture(new_capture("h4", "org-a", T0_MS + 3, vec![index(&other)]))
        .unwrap();
    assert_eq!((j.stored, j.duplicates), (0, 1));
    let got = all_pages(s, &Scope::All, &EventQuery::default(), 10);
    assert_eq!(got.len(), 2);
    let stored_no_id = got
        .iter()
        .find(|e| e.event_id == no_id.event_id)
        .expect("hash-ID event stored");
    let body: Value = serde_json::from_str(&stored_no_id.body).unwrap();
    assert_eq!(
        body["eventID"].as_str(),
        Some(no_id.event_hash.as_str()),
        "the body got the hash as eventID"
    );
}

fn rollback_stores_nothing<S: Store>(s: &S) {
    let idx: Vec<EventIndex> = sample_events(6, 20).iter().map(index).collect();
    let mut c = new_capture("r1", "org-a", T0_MS, idx);
    c.errors = vec!["epcisBody.eventList[3].eventTime: required".into()];
    let j = s.capture(c).unwrap();
    assert_eq!(j.status, JobStatus::Failure);
    assert_eq!((j.stored, j.duplicates), (0, 0));
    assert_eq!(
        j.errors,
        vec!["epcisBody.eventList[3].eventTime: required".to_string()]
    );
    assert_eq!(s.count_events(&Scope::All).unwrap(), 0);
    assert!(all_pages(s, &Scope::All, &EventQuery::default(), 10).is_empty());
    assert_eq!(
        s.capture_job(&Scope::All, "r1").unwrap().map(|j| j.status),
        Some(JobStatus::Failure)
    );
    assert!(
        s.distinct_values(&Scope::All, Vocabulary::Epc, None, 100)
            .unwrap()
            .is_empty()
    );
}

fn proceed_stores_valid_events<S: Store>(s: &S) {
    let idx: Vec<EventIndex> = sample_events(7, 10).iter().map(index).collect();
    let mut c = new_capture("p1", "org-a", T0_MS, idx);
    c.behaviour = ErrorBehaviour::Proceed;
    c.errors = vec!["epcisBody.eventList[10].type: unknown".into()];
    let j = s.capture(c).unwrap();
    assert_eq!(j.stored, 10);
    assert_eq!(
        j.status,
        JobStatus::Failure,
        "a job with errors does not report success"
    );
    assert_eq!(s.count_events(&Scope::All).unwrap(), 10);
}

fn capture_limit<S: Store>(s: &S) {
    let max = Limits::default().capture_events_max;
    let one = index(&sample_events(8, 1)[0]);
    let c = new_capture("l1", "org-a", T0_MS, vec![one; max + 1]);
    match s.capture(c) {
        Err(StoreError::LimitExceeded(_)) => {}
        other => panic!("a capture over the limit must fail with LimitExceeded, got {other:?}"),
    }
    assert_eq!(s.count_events(&Scope::All).unwrap(), 0);
}

fn capture_id_taken<S: Store>(s: &S) {
    let a: Vec<EventIndex> = sample_events(9, 3).iter().map(index).collect();
    let b: Vec<EventIndex> = sample_events(10, 3).iter().map(index).collect();
    s.capture(new_capture("same", "org-a", T0_MS, a)).unwrap();
    assert!(
        s.capture(new_capture("same", "org-a", T0_MS + 1, b))
            .is_err(),
        "a capture id is used once"
    );
    assert_eq!(
        s.count_events(&Scope::All).unwrap(),
        3,
        "nothing of the refused capture is stored"
    );
}

/// Capture a varied set from two owners; returns the reference view.
fn fill<S: Store>(s: &S, seed: u64, n_docs: usize, per_doc: usize) -> Vec<RefEvent> {
    let mut out = Vec::new();
    for d in 0..n_docs {
        let owner = if d % 3 == 2 { "org-b" } else { "org-a" };
        let rt = T0_MS + 10_000_000 + d as i64 * 1000;
        let idx: Vec<EventIndex> = sample_events(seed * 100 + d as u64, per_doc)
            .iter()
            .map(index)
            .collect();
        let j = s
            .capture(new_capture(
                &format!("fill-{seed}-{d}"),
                owner,
                rt,
                idx.clone(),
            ))
            .unwrap();
        assert_eq!(j.stored as usize, per_doc);
        out.extend(idx.into_iter().map(|index| RefEvent {
            index,
            owner: org(owner),
            record_time_ms: rt,
        }));
    }
    out
}

fn expect_query<S: Store>(
    s: &S,
    reference: &[RefEvent],
    scope: &Scope,
    params: &[(&str, &str)],
) -> usize {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let q = EventQuery::from_params(&owned).unwrap_or_else(|e| panic!("{params:?}: {e}"));
    let want: BTreeSet<String> = reference
        .iter()
        .filter(|e| scope.sees(Some(&e.owner)) && naive_matches(&q, e))
        .map(|e| e.index.event_id.clone())
        .collect();
    let got = all_pages(s, scope, &q, 17);
    assert_eq!(got.len(), ids_of(&got).len(), "{params:?}: no event twice");
    assert_eq!(
        ids_of(&got),
        want,
        "{params:?}: the store and the reference disagree"
    );
    want.len()
}

fn every_query_parameter<S: Store>(s: &S) {
    let r = fill(s, 11, 6, 40);
    let all = Scope::All;
    let a = Scope::org(org("org-a"));
    let x = &r[5].index;
    let t_mid = time_str(T0_MS + 120 * 60_000, 8);
    let t_late = time_str(T0_MS + 200 * 60_000, -5);
    let rt_mid = time_str(T0_MS + 10_000_000 + 2500, 0);
    let epc_urn = sgtin("0614141", 1, 7);
    let epc_dl = gs1::canonical_dl(&epc_urn).expect("sgtin has a Digital Link");
    let class = lgtin("0614141", 1, 2);
    let pat = format!("urn:epc:idpat:sgtin:0614141.{:06}.*", 100001);
    let rp = x
        .read_point
        .clone()
        .unwrap_or_else(|| gs1::normalize_id(&sgln("0614141", 1, None)));
    let gln = gs1::normalize_id(&sgln("0614141", 1, None));
    let party = "urn:epc:id:pgln:0614141.00001";
    let bt = "urn:epcglobal:cbv:bt:0614141:1";
    let parent = sscc("0614141", 3);
    let other_epc = sgtin("4012345", 0, 3);
    let out_class = lgtin("0614141", 2, 1);
    let two_ids = format!("{}|{}", r[1].index.event_id, r[7].index.event_id);
    let tid = "urn:uuid:7f000000-0000-4000-8000-000000000002".to_string();
    let two_tids = format!("{tid}|urn:uuid:7f000000-0000-4000-8000-000000000005");
    let mut nonempty = 0;
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("eventType", "ObjectEvent")],
        vec![("eventType", "AggregationEvent|TransformationEvent")],
        vec![
            ("eventType", "TransactionEvent"),
            ("eventType", "AssociationEvent"),
        ],
        vec![("GE_eventTime", &t_mid)],
        vec![("LT_eventTime", &t_mid)],
        vec![("GE_eventTime", &t_mid), ("LT_eventTime", &t_late)],
        vec![("GE_recordTime", &rt_mid)],
        vec![("LT_recordTime", &rt_mid)],
        vec![("EQ_action", "ADD")],
        vec![("EQ_action", "OBSERVE,DELETE")],
        vec![("EQ_bizStep", "shipping")],
        vec![(
            "EQ_bizStep",
            "https://ref.gs1.org/cbv/BizStep-packing|receiving",
        )],
        vec![("EQ_bizStep", "urn:epcglobal:cbv:bizstep:retail_selling")],
        vec![("EQ_bizStep", "http://example.com/steps/custom")],
        vec![("EQ_disposition", "in_progress")],
        vec![("EQ_disposition", "active|retail_sold")],
        vec![("EQ_readPoint", &rp)],
        vec![("EQ_bizLocation", &gln)],
        vec![("WD_readPoint", &gln)],
        vec![("WD_bizLocation", &gln)],
        vec![("MATCH_epc", &epc_urn)],
        vec![("MATCH_epc", &epc_dl)],
        vec![("MATCH_epc", &pat)],
        vec![("MATCH_parentID", &parent)],
        vec![("MATCH_inputEPC", &pat)],
        vec![("MATCH_outputEPC", &pat)],
        vec![("MATCH_anyEPC", &pat)],
        vec![("MATCH_anyEPC", &epc_urn), ("MATCH_anyEPC", &other_epc)],
        vec![("MATCH_epcClass", &class)],
        vec![("MATCH_inputEPCClass", &class)],
        vec![("MATCH_outputEPCClass", &out_class)],
        vec![("MATCH_anyEPCClass", &class)],
        vec![("EQ_eventID", &r[0].index.event_id)],
        vec![("EQ_transformationID", &tid)],
        vec![("EQ_transformationID", &two_tids)],
        vec![("EQ_eventID", &two_ids)],
        vec![("EXISTS_errorDeclaration", "")],
        vec![("EQ_bizTransaction_po", bt)],
        vec![("EQ_source_owning_party", party)],
        vec![("EQ_destination_owning_party", party)],
        vec![("EQ_source_location", &gln)],
        vec![
            ("eventType", "ObjectEvent"),
            ("MATCH_epc", &pat),
            ("GE_eventTime", &t_mid),
        ],
        vec![
            ("EQ_bizStep", "shipping"),
            ("EQ_disposition", "in_transit"),
            ("WD_readPoint", &gln),
        ],
        vec![("orderBy", "eventTime"), ("orderDirection", "ASC")],
        vec![("orderBy", "recordTime")],
        vec![("GE_quantity", "10"), ("LT_quantity", "50.5")],
        vec![("EQ_quantity", "3|10")],
        vec![("GT_quantity", "60"), ("LE_quantity", "90.5")],
    ];
    // Events without eventID are queried by the hash that became their ID.
    let hashed = r
        .iter()
        .find(|e| e.index.event_id == e.index.event_hash)
        .expect("some events lack an eventID");
    let hashed_id = hashed.index.event_id.clone();
    for case in &cases {
        if expect_query(s, &r, &all, case) > 0 {
            nonempty += 1;
        }
        expect_query(s, &r, &a, case);
    }
    assert_eq!(expect_query(s, &r, &all, &[("EQ_eventID", &hashed_id)]), 1);
    assert!(
        nonempty >= cases.len() - 4,
        "the test data must exercise the filters ({nonempty} of {} non-empty)",
        cases.len()
    );
    // Values that match nothing.
    assert_eq!(
        expect_query(
            s,
            &r,
            &all,
            &[("MATCH_epc", "urn:epc:id:sgtin:0614141.199999.1")]
        ),
        0
    );
    assert_eq!(
        expect_query(s, &r, &all, &[("EQ_bizStep", "void_shipping")]),
        0
    );
    assert_eq!(
        expect_query(
            s,
            &r,
            &all,
            &[(
                "EQ_eventID",
                "urn:uuid:00000000-0000-4000-8000-ffffffffffff"
            )]
        ),
        0
    );
}

fn check_order(events: &[StoredEvent], q: &EventQuery) {
    let key = |e: &StoredEvent| match q.order_by {
        OrderBy::EventTime => e.event_time_ms,
        OrderBy::RecordTime => e.record_time_ms,
    };
    for w in events.windows(2) {
        let ok = match q.order_direction {
            Direction::Asc => (key(&w[0]), w[0].seq) < (key(&w[1]), w[1].seq),
            Direction::Desc => (key(&w[0]), w[0].seq) > (key(&w[1]), w[1].seq),
        };
        assert!(
            ok,
            "events must come in the query's order ({:?} {:?})",
            q.order_by, q.order_direction
        );
    }
}

fn paging_is_complete_and_ordered<S: Store>(s: &S) {
    let r = fill(s, 12, 4, 50);
    for params in [
        vec![],
        vec![("orderBy", "eventTime")],
        vec![("orderBy", "eventTime"), ("orderDirection", "ASC")],
        vec![("orderBy", "recordTime"), ("orderDirection", "DESC")],
        vec![
            ("orderBy", "eventTime"),
            ("orderDirection", "DESC"),
            ("EQ_action", "ADD"),
        ],
    ] {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let q = EventQuery::from_params(&owned).unwrap();
        let one_page = all_pages(s, &Scope::All, &q, 10_000);
        for per_page in [1, 3, 50] {
            let paged = all_pages(s, &Scope::All, &q, per_page);
            assert_eq!(
                paged.iter().map(|e| &e.event_id).collect::<Vec<_>>(),
                one_page.iter().map(|e| &e.event_id).collect::<Vec<_>>(),
                "{params:?} perPage {per_page}: pages must add up to the whole answer in order"
            );
        }
        check_order(&one_page, &q);
        let want = r.iter().filter(|e| naive_matches(&q, e)).count();
        assert_eq!(one_page.len(), want);
    }
}

fn paging_stable_under_capture<S: Store>(s: &S) {
    let r = fill(s, 13, 2, 30);
    let q = EventQuery::default();
    let mut seen = Vec::new();
    let mut after = None;
    let mut extra = 0;
    loop {
        let page = s.query_events(&Scope::All, &q, after.as_ref(), 7).unwrap();
        seen.extend(page.events);
        // Capture more while paging: later record times, so they come after what was seen.
        if extra < 3 {
            let idx: Vec<EventIndex> = sample_events(1300 + extra, 5).iter().map(index).collect();
            s.capture(new_capture(
                &format!("more-{extra}"),
                "org-a",
                T0_MS + 20_000_000 + extra as i64,
                idx,
            ))
            .unwrap();
            extra += 1;
        }
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let ids = ids_of(&seen);
    assert_eq!(
        ids.len(),
        seen.len(),
        "no event twice while capture goes on"
    );
    for e in &r {
        assert!(
            ids.contains(&e.index.event_id),
            "no event of the original set skipped"
        );
    }
    check_order(&seen, &q);
}

fn event_count_limit<S: Store>(s: &S) {
    let r = fill(s, 14, 3, 20);
    let owned = vec![
        ("orderBy".to_string(), "eventTime".to_string()),
        ("orderDirection".to_string(), "DESC".to_string()),
        ("eventCountLimit".to_string(), "25".to_string()),
    ];
    let q = EventQuery::from_params(&owned).unwrap();
    let mut want: Vec<&RefEvent> = r.iter().collect();
    want.sort_by_key(|e| std::cmp::Reverse(e.index.event_time_ms));
    for per_page in [4, 25, 100] {
        let got = all_pages(s, &Scope::All, &q, per_page);
        assert_eq!(
            got.len(),
            25,
            "perPage {per_page}: eventCountLimit bounds the whole answer"
        );
        check_order(&got, &q);
        // The first 25 by eventTime DESC (ties may fall either way at the boundary).
        let cutoff = want[24].index.event_time_ms;
        assert!(got.iter().all(|e| e.event_time_ms >= cutoff));
    }
    assert!(
        EventQuery::from_params(&[("eventCountLimit".into(), "5".into())]).is_err(),
        "needs orderBy"
    );
}

fn distinct_values<S: Store>(s: &S) {
    let r = fill(s, 15, 3, 40);
    for scope in [
        Scope::All,
        Scope::org(org("org-a")),
        Scope::org(org("org-b")),
        Scope::org(org("org-none")),
    ] {
        let vis: Vec<&RefEvent> = r.iter().filter(|e| scope.sees(Some(&e.owner))).collect();
        let cases: [(Vocabulary, BTreeSet<String>); 6] = [
            (
                Vocabulary::EventType,
                vis.iter().map(|e| e.index.event_type.clone()).collect(),
            ),
            (
                Vocabulary::BizStep,
                vis.iter()
                    .filter_map(|e| e.index.biz_step.clone())
                    .collect(),
            ),
            (
                Vocabulary::Disposition,
                vis.iter()
                    .filter_map(|e| e.index.disposition.clone())
                    .collect(),
            ),
            (
                Vocabulary::ReadPoint,
                vis.iter()
                    .filter_map(|e| e.index.read_point.clone())
                    .collect(),
            ),
            (
                Vocabulary::BizLocation,
                vis.iter()
                    .filter_map(|e| e.index.biz_location.clone())
                    .collect(),
            ),
            (
                Vocabulary::Epc,
                vis.iter()
                    .flat_map(|e| e.index.ids.iter())
                    .filter(|i| {
                        matches!(
                            i.role,
                            IdRole::Epc
                                | IdRole::Parent
                                | IdRole::Child
                                | IdRole::Input
                                | IdRole::Output
                        )
                    })
                    .map(|i| i.id.clone())
                    .collect(),
            ),
        ];
        for (vocab, want) in cases {
            let all = s.distinct_values(&scope, vocab, None, 100_000).unwrap();
            assert_eq!(
                all.iter().cloned().collect::<BTreeSet<_>>(),
                want,
                "{vocab:?} in {scope:?}"
            );
            assert!(
                all.windows(2).all(|w| w[0] < w[1]),
                "{vocab:?}: sorted, distinct"
            );
            // Paged by `after`.
            let mut paged = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = s
                    .distinct_values(&scope, vocab, after.as_deref(), 3)
                    .unwrap();
                if page.is_empty() {
                    break;
                }
                after = page.last().cloned();
                paged.extend(page);
            }
            assert_eq!(paged, all, "{vocab:?}: paging by value");
        }
    }
}

fn events_touching<S: Store>(s: &S) {
    let r = fill(s, 16, 3, 40);
    let mut some_ids: Vec<String> = Vec::new();
    for e in r.iter().step_by(7) {
        for i in &e.index.ids {
            if !some_ids.contains(&i.id) {
                some_ids.push(i.id.clone());
            }
        }
    }
    some_ids.push("urn:example:unknown-id".into());
    for scope in [Scope::All, Scope::org(org("org-b"))] {
        let want: BTreeSet<String> = r
            .iter()
            .filter(|e| {
                scope.sees(Some(&e.owner)) && e.index.ids.iter().any(|i| some_ids.contains(&i.id))
            })
            .map(|e| e.index.event_id.clone())
            .collect();
        let got = s.events_touching(&scope, &some_ids).unwrap();
        assert_eq!(ids_of(&got), want, "events_touching in {scope:?}");
        assert_eq!(got.len(), want.len(), "each event once");
    }
    let too_many: Vec<String> = (0..Limits::default().frontier_batch_max + 1)
        .map(|i| format!("urn:x:{i}"))
        .collect();
    assert!(matches!(
        s.events_touching(&Scope::All, &too_many),
        Err(StoreError::LimitExceeded(_))
    ));
}

fn scope_isolation<S: Store>(s: &S) {
    let a_events: Vec<EventIndex> = sample_events(17, 20).iter().map(index).collect();
    let b_events: Vec<EventIndex> = sample_events(18, 20).iter().map(index).collect();
    s.capture(new_capture("job-a", "org-a", T0_MS, a_events.clone()))
        .unwrap();
    s.capture(new_capture("job-b", "org-b", T0_MS + 1, b_events.clone()))
        .unwrap();
    let a = Scope::org(org("org-a"));
    let b_ids: BTreeSet<String> = b_events.iter().map(|e| e.event_id.clone()).collect();
    let a_ids: BTreeSet<String> = a_events.iter().map(|e| e.event_id.clone()).collect();
    // Events.
    let seen = all_pages(s, &a, &EventQuery::default(), 6);
    assert_eq!(ids_of(&seen), a_ids);
    for id in &b_ids {
        let q = EventQuery::from_params(&[("EQ_eventID".into(), id.clone())]).unwrap();
        assert!(s.query_events(&a, &q, None, 10).unwrap().events.is_empty());
    }
    // Counts.
    assert_eq!(s.count_events(&a).unwrap(), 20);
    assert_eq!(s.count_events(&Scope::All).unwrap(), 40);
    assert_eq!(s.count_events(&Scope::Public).unwrap(), 0);
    assert_eq!(s.count_events(&Scope::org(org("org-c"))).unwrap(), 0);
    // Jobs.
    assert!(
        s.capture_job(&a, "job-b").unwrap().is_none(),
        "another org's job is reported as missing"
    );
    assert_eq!(
        s.capture_jobs(&a, None, 10)
            .unwrap()
            .iter()
            .map(|j| j.id.as_str())
            .collect::<Vec<_>>(),
        vec!["job-a"]
    );
    assert!(
        s.capture_jobs(&a, Some("job-b"), 10).is_err(),
        "another org's job is no cursor"
    );
    assert_eq!(s.capture_jobs(&Scope::All, None, 10).unwrap().len(), 2);
    assert_eq!(
        s.capture_jobs(&Scope::All, Some("job-b"), 10)
            .unwrap()
            .len(),
        1,
        "older than job-b"
    );
    // Vocabularies.
    let a_epcs: BTreeSet<String> = a_events
        .iter()
        .flat_map(|e| e.ids.iter())
        .filter(|i| {
            matches!(
                i.role,
                IdRole::Epc | IdRole::Parent | IdRole::Child | IdRole::Input | IdRole::Output
            )
        })
        .map(|i| i.id.clone())
        .collect();
    let got: BTreeSet<String> = s
        .distinct_values(&a, Vocabulary::Epc, None, 10_000)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(got, a_epcs);
    // Trace frontier.
    let b_only: Vec<String> = b_events
        .iter()
        .flat_map(|e| e.ids.iter().map(|i| i.id.clone()))
        .filter(|id| !a_events.iter().any(|e| e.ids.iter().any(|i| &i.id == id)))
        .collect();
    assert!(!b_only.is_empty());
    assert!(s.events_touching(&a, &b_only).unwrap().is_empty());
    // Records.
    let rec = |id: &str, owner: Option<&str>| NewRecord {
        collection: "queries".into(),
        id: id.into(),
        owner: owner.map(org),
        updated_ms: T0_MS,
        body: json!({"name": id}),
    };
    s.put_record(rec("qa", Some("org-a")), None).unwrap();
    s.put_record(rec("qb", Some("org-b")), None).unwrap();
    s.put_record(rec("qp", None), None).unwrap();
    assert!(s.get_record(&a, "queries", "qb").unwrap().is_none());
    assert!(s.get_record(&a, "queries", "qa").unwrap().is_some());
    assert!(
        s.get_record(&a, "queries", "qp").unwrap().is_some(),
        "public records are visible to all"
    );
    let listed: Vec<String> = s
        .list_records(&a, "queries", None, 10)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, vec!["qa", "qp"]);
    let public: Vec<String> = s
        .list_records(&Scope::Public, "queries", None, 10)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(public, vec!["qp"]);
    assert!(
        !s.delete_record(&a, "queries", "qb").unwrap(),
        "cannot delete what one cannot see"
    );
    assert!(
        s.get_record(&Scope::All, "queries", "qb")
            .unwrap()
            .is_some()
    );
}

fn records_versioning<S: Store>(s: &S) {
    let rec = |v: i64| NewRecord {
        collection: "recalls".into(),
        id: "r-1".into(),
        owner: Some(org("org-a")),
        updated_ms: T0_MS + v,
        body: json!({"title": "lot L1", "v": v}),
    };
    assert_eq!(
        s.put_record(rec(1), Some(0)).unwrap(),
        1,
        "0 = must not exist"
    );
    assert!(matches!(
        s.put_record(rec(2), Some(0)),
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(s.put_record(rec(2), Some(1)).unwrap(), 2);
    assert!(
        matches!(
            s.put_record(rec(3), Some(1)),
            Err(StoreError::Conflict { .. })
        ),
        "stale version"
    );
    assert_eq!(
        s.put_record(rec(3), None).unwrap(),
        3,
        "no expectation: always writes"
    );
    let got = s
        .get_record(&Scope::All, "recalls", "r-1")
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.version, got.updated_ms, got.body["v"].as_i64()),
        (3, T0_MS + 3, Some(3))
    );
    assert_eq!(got.owner, Some(org("org-a")));
    assert!(
        s.get_record(&Scope::All, "other", "r-1").unwrap().is_none(),
        "collections are separate"
    );
    for i in 0..7 {
        let mut r = rec(0);
        r.id = format!("r-{}", i + 2);
        s.put_record(r, None).unwrap();
    }
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .list_records(&Scope::All, "recalls", after.as_deref(), 3)
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| r.id.clone());
        paged.extend(page.into_iter().map(|r| r.id));
    }
    let mut want: Vec<String> = (1..=8).map(|i| format!("r-{i}")).collect();
    want.sort();
    assert_eq!(paged, want);
    assert!(s.delete_record(&Scope::All, "recalls", "r-1").unwrap());
    assert!(!s.delete_record(&Scope::All, "recalls", "r-1").unwrap());
    assert_eq!(
        s.put_record(rec(9), Some(0)).unwrap(),
        1,
        "a deleted record starts again"
    );
}

fn keys<S: Store>(s: &S) {
    assert_eq!(s.count_keys().unwrap(), 0);
    let key = ApiKey {
        key_id: "k1".into(),
        hash_hex: "ab".repeat(32),
        org: org("org-a"),
        role: Role::Enterprise,
        created_ms: T0_MS,
        revoked: false,
    };
    s.put_key(key.clone()).unwrap();
    s.put_key(ApiKey {
        key_id: "k2".into(),
        hash_hex: "cd".repeat(32),
        role: Role::Admin,
        ..key.clone()
    })
    .unwrap();
    assert_eq!(s.count_keys().unwrap(), 2);
    assert_eq!(s.key_by_hash(&"ab".repeat(32)).unwrap(), Some(key.clone()));
    assert_eq!(s.key_by_hash(&"ef".repeat(32)).unwrap(), None);
    assert!(s.revoke_key("k1").unwrap());
    assert!(!s.revoke_key("k1").unwrap(), "already revoked");
    assert!(!s.revoke_key("nope").unwrap());
    assert_eq!(
        s.key_by_hash(&"ab".repeat(32)).unwrap().map(|k| k.revoked),
        Some(true),
        "revoked keys are still found"
    );
    assert_eq!(
        s.key_by_hash(&"cd".repeat(32)).unwrap().map(|k| k.role),
        Some(Role::Admin)
    );
}

fn server_secret_is_stable<S: Store>(s: &S) {
    let a = s.server_secret().unwrap();
    let b = s.server_secret().unwrap();
    assert_eq!(a, b);
    assert_ne!(a, [0u8; 32]);
}
