//! Capture on PostgreSQL: bulk insert, exactly-once, all-or-nothing, bodies and index round trip.

use crate::{capture_doc, event, org, sgtin};
use epcis::query::{EventQuery, IdMatch, MatchField};
use store::{JobStatus, Scope, Store, StoreError};

/// 1,200 events over 300 EPCs: event n carries EPCs n % 300 and (n * 7) % 300.
fn events(range: std::ops::Range<u64>) -> Vec<store::NewEvent> {
    range
        .map(|n| event(n, &[sgtin(n % 300), sgtin((n * 7) % 300)]))
        .collect()
}

#[test]
fn bulk_capture_round_trips_bodies_and_answers_match_epc() {
    let Some(s) = crate::fresh_store("bulk") else {
        return;
    };
    let evs = events(0..1200);
    let job = s
        .capture(capture_doc("job-1", "org-a", 1_000, evs.clone()))
        .unwrap();
    assert_eq!(
        (job.stored, job.duplicates, job.status),
        (1200, 0, JobStatus::Success)
    );
    assert_eq!(s.count_events(&Scope::All).unwrap(), 1200);
    for epc_n in [0u64, 7, 123, 299] {
        let epc = sgtin(epc_n);
        let q = EventQuery {
            matches: vec![(MatchField::Epc, vec![IdMatch::Exact(epc.clone())])],
            ..Default::default()
        };
        let page = s.query_events(&Scope::All, &q, None, 10_000).unwrap();
        // The naive answer: the events whose epcList holds the EPC.
        let mut expected: Vec<&str> = evs
            .iter()
            .filter(|e| e.ids.iter().any(|r| r.id == epc))
            .map(|e| e.event_id.as_str())
            .collect();
        expected.sort();
        let mut got: Vec<&str> = page.events.iter().map(|e| e.event_id.as_str()).collect();
        got.sort();
        assert_eq!(got, expected, "MATCH_epc {epc}");
        assert!(page.next.is_none());
        for e in &page.events {
            let original = evs.iter().find(|o| o.event_id == e.event_id).unwrap();
            assert_eq!(e.body, original.body, "body as captured");
            assert_eq!(e.event_hash, original.event_hash);
            assert_eq!(e.capture_id, "job-1");
            assert_eq!(e.record_time_ms, 1_000);
            assert_eq!(e.event_time_ms, original.event_time_ms);
        }
    }
    // The frontier query finds the same events as MATCH_anyEPC over a batch.
    let batch: Vec<String> = (0..50).map(sgtin).collect();
    let touching = s.events_touching(&Scope::All, &batch).unwrap();
    let expected = evs
        .iter()
        .filter(|e| e.ids.iter().any(|r| batch.contains(&r.id)))
        .count();
    assert_eq!(touching.len(), expected);
    assert!(
        touching.windows(2).all(|w| w[0].seq < w[1].seq),
        "in capture order, once each"
    );
    // Bodies are compressed with a dictionary trained on this first large capture.
    assert!(s.size_on_disk().unwrap() > 0);
    assert!(s.raw_body_bytes().unwrap() >= evs.iter().map(|e| e.body.len() as u64).sum::<u64>());
}

#[test]
fn duplicates_are_counted_not_stored() {
    let Some(s) = crate::fresh_store("dups") else {
        return;
    };
    let evs = events(0..100);
    s.capture(capture_doc("a", "org-a", 1, evs.clone()))
        .unwrap();
    // The same document again, plus an in-document repeat and one new event.
    let mut again = evs.clone();
    again.push(evs[3].clone());
    again.push(event(500, &[sgtin(1)]));
    let job = s.capture(capture_doc("b", "org-a", 2, again)).unwrap();
    assert_eq!((job.stored, job.duplicates), (1, 101));
    // Same hash, other eventID: a duplicate. Same eventID, other hash: a duplicate.
    let mut same_hash = evs[10].clone();
    same_hash.event_id = "urn:uuid:other".into();
    let mut same_id = evs[11].clone();
    same_id.event_hash = format!("ni:///sha-256;{}?ver=CBV2.0", "f".repeat(64));
    // The duplicate by eventID carries an identifier no stored event has: it must not appear
    // in the EPC vocabulary (nor match), since the event was not stored.
    let unseen = sgtin(777_777);
    same_id.ids[0].id = unseen.clone();
    let job = s
        .capture(capture_doc("c", "org-a", 3, vec![same_hash, same_id]))
        .unwrap();
    assert_eq!((job.stored, job.duplicates), (0, 2));
    let vocab = s
        .distinct_values(&Scope::All, store::Vocabulary::Epc, None, 10_000)
        .unwrap();
    assert!(!vocab.contains(&unseen), "{unseen} listed without an event");
    assert!(vocab.contains(&sgtin(1)));
    // Another organisation capturing the same events stores its own copies.
    let job = s
        .capture(capture_doc("d", "org-b", 4, evs.clone()))
        .unwrap();
    assert_eq!((job.stored, job.duplicates), (100, 0));
    assert_eq!(s.count_events(&Scope::org(org("org-a"))).unwrap(), 101);
    assert_eq!(s.count_events(&Scope::All).unwrap(), 201);
    // An event without eventID (its ID is its hash) and a later event whose eventID is that hash.
    let mut no_id = event(900, &[sgtin(2)]);
    no_id.event_id = no_id.event_hash.clone();
    let mut named = event(901, &[sgtin(2)]);
    named.event_id = no_id.event_hash.clone();
    let job = s
        .capture(capture_doc("e", "org-a", 5, vec![no_id.clone()]))
        .unwrap();
    assert_eq!(job.stored, 1);
    let job = s
        .capture(capture_doc("f", "org-a", 6, vec![named]))
        .unwrap();
    assert_eq!((job.stored, job.duplicates), (0, 1));
    let q = EventQuery {
        eq_event_id: vec![no_id.event_hash.clone()],
        ..Default::default()
    };
    let page = s.query_events(&Scope::All, &q, None, 10).unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].event_id, no_id.event_hash);
}

#[test]
fn a_failing_document_leaves_nothing_behind() {
    let Some(s) = crate::fresh_store("atomic") else {
        return;
    };
    s.capture(capture_doc("ok", "org-a", 1, events(0..10)))
        .unwrap();
    // PostgreSQL text cannot hold NUL: the 60th event fails inside the transaction.
    let mut bad = events(100..160);
    bad[59].read_point = Some("urn:epc:id:sgln:bad\0point".into());
    let err = s.capture(capture_doc("bad", "org-a", 2, bad)).unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert_eq!(s.count_events(&Scope::All).unwrap(), 10);
    let all = s
        .query_events(&Scope::All, &EventQuery::default(), None, 1000)
        .unwrap();
    assert_eq!(all.events.len(), 10);
    assert!(all.events.iter().all(|e| e.capture_id == "ok"));
    let job = s
        .capture_job(&Scope::All, "bad")
        .unwrap()
        .expect("the failure is recorded");
    assert_eq!((job.status, job.stored), (JobStatus::Failure, 0));
    // The id of a job is taken once.
    let err = s
        .capture(capture_doc("ok", "org-a", 3, events(200..201)))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
}

#[test]
fn rejected_documents_store_nothing_and_limits_hold() {
    let Some(s) = crate::fresh_store("limits") else {
        return;
    };
    let mut c = capture_doc("with-errors", "org-a", 1, events(0..5));
    c.errors = vec!["epcList[0]: not an EPC".into()];
    let job = s.capture(c.clone()).unwrap();
    assert_eq!((job.status, job.stored), (JobStatus::Failure, 0));
    c.id = "proceed".into();
    c.behaviour = store::ErrorBehaviour::Proceed;
    let job = s.capture(c).unwrap();
    assert_eq!((job.status, job.stored), (JobStatus::Failure, 5));
    assert_eq!(job.errors, vec!["epcList[0]: not an EPC".to_string()]);
    let small = store_postgres::PgOptions {
        limits: store::Limits {
            capture_events_max: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    let url = crate::fresh_db("limits2").unwrap();
    let s2 = store_postgres::PostgresStore::connect(&url, small).unwrap();
    let err = s2
        .capture(capture_doc("big", "org-a", 1, events(0..4)))
        .unwrap_err();
    assert!(matches!(err, StoreError::LimitExceeded(_)));
}

#[test]
fn enterprises_see_only_their_own() {
    let Some(s) = crate::fresh_store("iso") else {
        return;
    };
    s.capture(capture_doc("a1", "org-a", 1, events(0..20)))
        .unwrap();
    s.capture(capture_doc("b1", "org-b", 2, events(1000..1005)))
        .unwrap();
    let a = Scope::org(org("org-a"));
    let b = Scope::org(org("org-b"));
    let nobody = Scope::org(org("org-never-captured"));
    assert_eq!(s.count_events(&b).unwrap(), 5);
    assert_eq!(s.count_events(&nobody).unwrap(), 0);
    assert_eq!(s.count_events(&Scope::Public).unwrap(), 0);
    let page = s
        .query_events(&b, &EventQuery::default(), None, 100)
        .unwrap();
    assert!(page.events.iter().all(|e| e.owner.as_str() == "org-b"));
    assert!(s.capture_job(&b, "a1").unwrap().is_none());
    assert!(s.capture_job(&a, "a1").unwrap().is_some());
    assert!(matches!(
        s.capture_jobs(&b, Some("a1"), 10),
        Err(StoreError::InvalidCursor)
    ));
    let jobs = s.capture_jobs(&Scope::All, None, 10).unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        ["b1", "a1"]
    );
    let touching = s
        .events_touching(&b, &[sgtin(0), sgtin(1000 % 300)])
        .unwrap();
    assert!(touching.iter().all(|e| e.owner.as_str() == "org-b"));
    assert!(s.events_touching(&nobody, &[sgtin(0)]).unwrap().is_empty());
    let epcs = s
        .distinct_values(&b, store::Vocabulary::Epc, None, 1000)
        .unwrap();
    let mut expected: Vec<String> = (1000..1005u64)
        .flat_map(|n| [sgtin(n % 300), sgtin((n * 7) % 300)])
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(epcs, expected);
}
