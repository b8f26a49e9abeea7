//! The PostgreSQL store gives the same answers as the embedded store on the same `zhiliang demo`
//! data: every query below, run on both, returns the same events in the same order (event IDs
//! and bodies), and the vocabularies, counts and trace frontiers agree.

use std::collections::{BTreeMap, BTreeSet};
use store::{NewCapture, OrgId, Scope, Store, Vocabulary};

const EVENTS: usize = 3_000;

fn load(stores: &[&dyn Store]) -> (Vec<store::NewEvent>, Vec<String>) {
    let cfg = demo::DemoConfig::new(EVENTS, 11, 1_700_000_000_000);
    let mut all = Vec::new();
    let mut docs: BTreeMap<(usize, String), Vec<store::NewEvent>> = BTreeMap::new();
    let mut owners = BTreeSet::new();
    for (i, (owner, ev)) in demo::generate_with_owner(&cfg).enumerate() {
        let hash = epcis::hash::event_hash(&ev, &serde_json::Value::Null).expect("hash");
        let idx = epcis::index::extract(&ev, hash).expect("index");
        all.push(idx.clone());
        owners.insert(owner.clone());
        docs.entry((i / 500, owner)).or_default().push(idx);
    }
    for ((chunk, owner), events) in docs {
        for s in stores {
            let c = NewCapture {
                id: format!("doc-{chunk}-{owner}"),
                owner: OrgId::parse(&owner).unwrap(),
                record_time_ms: 1_800_000_000_000 + chunk as i64,
                behaviour: store::ErrorBehaviour::Rollback,
                events: events.clone(),
                errors: vec![],
            };
            s.capture(c).expect("capture");
        }
    }
    (all, owners.into_iter().collect())
}

/// Every page of a query, as (event ID, body).
fn run(s: &dyn Store, scope: &Scope, q: &epcis::query::EventQuery) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = s
            .query_events(scope, q, cursor.as_ref(), 97)
            .expect("query");
        out.extend(page.events.into_iter().map(|e| (e.event_id, e.body)));
        match page.next {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

#[test]
fn same_answers_as_the_embedded_store_on_demo_data() {
    let Some(pg) = crate::fresh_store("same") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("zl-pg-same-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let lite = store_sqlite::SqliteStore::open(&dir, store::Limits::default()).unwrap();
    let (events, owners) = load(&[&pg, &lite]);

    // Query parameters drawn from the data itself.
    let mut params: Vec<Vec<(String, String)>> = vec![vec![]];
    let pick = |role: epcis::index::IdRole, step: usize| -> Vec<String> {
        let ids: BTreeSet<String> = events
            .iter()
            .flat_map(|e| e.ids.iter())
            .filter(|r| r.role == role)
            .map(|r| r.id.clone())
            .collect();
        ids.into_iter().step_by(step.max(1)).take(12).collect()
    };
    use epcis::index::IdRole::*;
    for (name, role) in [
        ("MATCH_epc", Epc),
        ("MATCH_parentID", Parent),
        ("MATCH_inputEPC", Input),
        ("MATCH_outputEPC", Output),
        ("MATCH_anyEPC", Child),
        ("MATCH_epcClass", Class),
        ("MATCH_inputEPCClass", InputClass),
        ("MATCH_outputEPCClass", OutputClass),
        ("MATCH_anyEPCClass", Class),
    ] {
        for id in pick(role, 37) {
            params.push(vec![(name.into(), id)]);
        }
    }
    let vocab = |f: fn(&store::NewEvent) -> Option<&String>| -> BTreeSet<String> {
        events.iter().filter_map(|e| f(e).cloned()).collect()
    };
    for v in vocab(|e| e.biz_step.as_ref()) {
        params.push(vec![("EQ_bizStep".into(), v.clone())]);
        params.push(vec![
            ("EQ_bizStep".into(), v),
            ("orderBy".into(), "eventTime".into()),
        ]);
    }
    for v in vocab(|e| e.disposition.as_ref()) {
        params.push(vec![("EQ_disposition".into(), v)]);
    }
    for v in vocab(|e| e.read_point.as_ref()).into_iter().take(10) {
        params.push(vec![("EQ_readPoint".into(), v)]);
    }
    for v in vocab(|e| e.biz_location.as_ref()).into_iter().take(10) {
        params.push(vec![("WD_bizLocation".into(), v)]);
    }
    for t in epcis::index::EVENT_TYPES {
        params.push(vec![
            ("eventType".into(), t.into()),
            ("orderBy".into(), "eventTime".into()),
            ("orderDirection".into(), "ASC".into()),
        ]);
    }
    for a in ["ADD", "OBSERVE", "DELETE"] {
        params.push(vec![("EQ_action".into(), a.into())]);
    }
    let t0 = events.iter().map(|e| e.event_time_ms).min().unwrap();
    let t1 = events.iter().map(|e| e.event_time_ms).max().unwrap();
    for k in 0..5 {
        let from = t0 + (t1 - t0) / 5 * k;
        let fmt = |ms: i64| demo::ids::rfc3339_ms(ms);
        params.push(vec![
            ("GE_eventTime".into(), fmt(from)),
            ("LT_eventTime".into(), fmt(from + (t1 - t0) / 7)),
            ("orderBy".into(), "eventTime".into()),
        ]);
    }
    for (ty, id) in events
        .iter()
        .flat_map(|e| e.biz_transactions.iter())
        .step_by(97)
        .take(8)
    {
        let suffix = ty.rsplit('-').next().unwrap_or("po").to_string();
        params.push(vec![(format!("EQ_bizTransaction_{suffix}"), id.clone())]);
    }
    for (ty, id) in events
        .iter()
        .flat_map(|e| e.sources.iter())
        .step_by(89)
        .take(6)
    {
        let suffix = ty.rsplit('-').next().unwrap_or("owning_party").to_string();
        params.push(vec![(format!("EQ_source_{suffix}"), id.clone())]);
    }
    for (ty, id) in events
        .iter()
        .flat_map(|e| e.destinations.iter())
        .step_by(83)
        .take(6)
    {
        let suffix = ty.rsplit('-').next().unwrap_or("owning_party").to_string();
        params.push(vec![(format!("EQ_destination_{suffix}"), id.clone())]);
    }
    params.push(vec![
        ("GE_quantity".into(), "10".into()),
        ("LT_quantity".into(), "500".into()),
    ]);
    params.push(vec![("EXISTS_errorDeclaration".into(), "true".into())]);
    for e in events.iter().step_by(301) {
        params.push(vec![("EQ_eventID".into(), e.event_id.clone())]);
    }
    params.push(vec![
        ("orderBy".into(), "eventTime".into()),
        ("eventCountLimit".into(), "250".into()),
    ]);

    let scopes: Vec<Scope> = vec![
        Scope::All,
        Scope::org(OrgId::parse(&owners[0]).unwrap()),
        Scope::Orgs(
            owners
                .iter()
                .skip(1)
                .step_by(3)
                .map(|o| OrgId::parse(o).unwrap())
                .collect(),
        ),
        Scope::Public,
    ];
    let mut compared = 0;
    let mut non_empty = 0;
    for p in &params {
        let q = epcis::query::EventQuery::from_params(p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        for scope in &scopes {
            let a = run(&pg, scope, &q);
            let b = run(&lite, scope, &q);
            assert_eq!(a.len(), b.len(), "{p:?} in {scope:?}: counts differ");
            assert!(a == b, "{p:?} in {scope:?}: answers differ");
            compared += 1;
            non_empty += usize::from(!a.is_empty());
        }
    }
    eprintln!(
        "same_as_sqlite: {} queries x {} scopes, {non_empty} of {compared} comparisons with answers",
        params.len(),
        scopes.len()
    );
    assert!(params.len() > 60, "{} queries", params.len());
    assert!(
        non_empty * 3 > compared,
        "most comparisons have answers ({non_empty} of {compared})"
    );

    for scope in &scopes {
        assert_eq!(
            pg.count_events(scope).unwrap(),
            lite.count_events(scope).unwrap()
        );
        for v in [
            Vocabulary::EventType,
            Vocabulary::BizStep,
            Vocabulary::Disposition,
            Vocabulary::ReadPoint,
            Vocabulary::BizLocation,
            Vocabulary::Epc,
        ] {
            let a = pg.distinct_values(scope, v, None, 10_000).unwrap();
            let b = lite.distinct_values(scope, v, None, 10_000).unwrap();
            assert_eq!(a, b, "{v:?} in {scope:?}");
            if a.len() > 3 {
                let after = Some(a[2].as_str());
                assert_eq!(
                    pg.distinct_values(scope, v, after, 5).unwrap(),
                    lite.distinct_values(scope, v, after, 5).unwrap()
                );
            }
        }
        let batch: Vec<String> = events
            .iter()
            .flat_map(|e| e.ids.iter())
            .step_by(13)
            .map(|r| r.id.clone())
            .take(400)
            .collect();
        let a: Vec<String> = pg
            .events_touching(scope, &batch)
            .unwrap()
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        let b: Vec<String> = lite
            .events_touching(scope, &batch)
            .unwrap()
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        assert_eq!(a, b, "events_touching in {scope:?}");
    }
    drop(lite);
    let _ = std::fs::remove_dir_all(&dir);
}
