//! Two servers (two `PostgresStore`s) on one database: capture through one, query and page
//! through the other, concurrently; and everything a client may come back for works on either.

use crate::{capture_doc, event, org, sgtin};
use epcis::query::{Direction, EventQuery, OrderBy};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use store::{NewRecord, Scope, Store, StoreError};

const DOCS: u64 = 30;
const PER_DOC: u64 = 200;

#[test]
fn capture_on_one_server_query_and_page_on_the_other_concurrently() {
    let Some(url) = crate::fresh_db("two") else {
        return;
    };
    let one = Arc::new(crate::open(&url));
    let two = Arc::new(crate::open(&url));
    let done = Arc::new(AtomicBool::new(false));

    let writer = {
        let one = one.clone();
        std::thread::spawn(move || {
            for d in 0..DOCS {
                let evs = (d * PER_DOC..(d + 1) * PER_DOC)
                    .map(|n| event(n, &[sgtin(n % 97)]))
                    .collect();
                let job = one
                    .capture(capture_doc(
                        &format!("job-{d:03}"),
                        "org-a",
                        1_000 + d as i64,
                        evs,
                    ))
                    .unwrap();
                assert_eq!(job.stored, PER_DOC);
            }
        })
    };
    // Readers on the other server while capture goes on: every page is consistent (ordered, no
    // repeats, only whole documents), and counts never go down.
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let two = two.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut last_count = 0;
                let mut last_matches = 0;
                let mut rounds = 0;
                while !done.load(Ordering::SeqCst) || rounds < 3 {
                    rounds += 1;
                    let n = two.count_events(&Scope::All).unwrap();
                    assert!(
                        n >= last_count && n.is_multiple_of(PER_DOC),
                        "count {n} after {last_count}"
                    );
                    last_count = n;
                    let q = EventQuery {
                        matches: vec![match_epc(5)],
                        ..Default::default()
                    };
                    let page = two.query_events(&Scope::All, &q, None, 10_000).unwrap();
                    for e in &page.events {
                        let n =
                            u64::from_str_radix(&e.event_id[e.event_id.len() - 12..], 16).unwrap();
                        assert_eq!(n % 97, 5, "only events carrying the EPC");
                    }
                    assert!(page.events.len() >= last_matches);
                    last_matches = page.events.len();
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            })
        })
        .collect();
    writer.join().unwrap();
    done.store(true, Ordering::SeqCst);
    for r in readers {
        r.join().unwrap();
    }

    // Page through everything, alternating servers on every request, both directions and both
    // orders: each event exactly once, in order.
    let total = DOCS * PER_DOC;
    for (order_by, dir) in [
        (OrderBy::RecordTime, Direction::Asc),
        (OrderBy::RecordTime, Direction::Desc),
        (OrderBy::EventTime, Direction::Asc),
    ] {
        let q = EventQuery {
            order_by,
            order_direction: dir,
            ..Default::default()
        };
        let mut seen = HashSet::new();
        let mut cursor = None;
        let mut last: Option<(i64, i64)> = None;
        let mut pages = 0;
        loop {
            let server: &dyn Store = if pages % 2 == 0 { &*one } else { &*two };
            let page = server
                .query_events(&Scope::All, &q, cursor.as_ref(), 700)
                .unwrap();
            pages += 1;
            for e in &page.events {
                assert!(
                    seen.insert(e.event_id.clone()),
                    "event {} twice",
                    e.event_id
                );
                let key = match order_by {
                    OrderBy::RecordTime => (e.record_time_ms, e.seq),
                    OrderBy::EventTime => (e.event_time_ms, e.seq),
                };
                if let Some(l) = last {
                    match dir {
                        Direction::Asc => assert!(key > l),
                        Direction::Desc => assert!(key < l),
                    }
                }
                last = Some(key);
            }
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len() as u64, total);
        assert_eq!(pages as u64, total.div_ceil(700));
    }

    // eventCountLimit across servers.
    let q = EventQuery {
        order_by: OrderBy::RecordTime,
        event_count_limit: Some(1_000),
        ..Default::default()
    };
    let p1 = one.query_events(&Scope::All, &q, None, 600).unwrap();
    let p2 = two
        .query_events(&Scope::All, &q, p1.next.as_ref(), 600)
        .unwrap();
    assert_eq!((p1.events.len(), p2.events.len()), (600, 400));
    assert!(p2.next.is_none());

    // Job lists page across servers too.
    let mut ids = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let server: &dyn Store = if ids.len() % 2 == 0 { &*one } else { &*two };
        let jobs = server
            .capture_jobs(&Scope::org(org("org-a")), before.as_deref(), 7)
            .unwrap();
        if jobs.is_empty() {
            break;
        }
        before = jobs.last().map(|j| j.id.clone());
        ids.extend(jobs.into_iter().map(|j| j.id));
    }
    let expected: Vec<String> = (0..DOCS).rev().map(|d| format!("job-{d:03}")).collect();
    assert_eq!(ids, expected);
    assert_eq!(
        two.capture_job(&Scope::All, "job-007")
            .unwrap()
            .unwrap()
            .stored,
        PER_DOC
    );

    // One secret for all servers (page tokens signed by one verify on the other).
    assert_eq!(one.server_secret().unwrap(), two.server_secret().unwrap());
    let three = crate::open(&url);
    assert_eq!(three.server_secret().unwrap(), one.server_secret().unwrap());
}

fn match_epc(n: u64) -> (epcis::query::MatchField, Vec<epcis::query::IdMatch>) {
    (
        epcis::query::MatchField::Epc,
        vec![epcis::query::IdMatch::Exact(sgtin(n))],
    )
}

#[test]
fn the_same_document_through_two_servers_at_once_is_stored_once() {
    let Some(url) = crate::fresh_db("race") else {
        return;
    };
    let servers: Vec<Arc<store_postgres::PostgresStore>> =
        (0..2).map(|_| Arc::new(crate::open(&url))).collect();
    for round in 0..5u64 {
        let evs: Vec<_> = (round * 1000..round * 1000 + 400)
            .map(|n| event(n, &[sgtin(n)]))
            .collect();
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let s = servers[i % 2].clone();
                let mut evs = evs.clone();
                // Different orders make the two transactions wait on each other both ways.
                if i % 2 == 1 {
                    evs.reverse();
                }
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    s.capture(capture_doc(&format!("r{round}-{i}"), "org-a", 1, evs))
                })
            })
            .collect();
        let mut stored = 0;
        let mut duplicates = 0;
        for h in handles {
            let job = h
                .join()
                .unwrap()
                .expect("every capture succeeds (deadlocks are retried)");
            stored += job.stored;
            duplicates += job.duplicates;
        }
        assert_eq!(stored, 400, "round {round}: each event stored once");
        assert_eq!(duplicates, 3 * 400);
    }
    assert_eq!(servers[1].count_events(&Scope::All).unwrap(), 2000);
}

#[test]
fn record_versions_are_decided_by_the_database() {
    let Some(url) = crate::fresh_db("records") else {
        return;
    };
    let one = Arc::new(crate::open(&url));
    let two = Arc::new(crate::open(&url));
    let rec = |v: i64| NewRecord {
        collection: "recalls".into(),
        id: "r1".into(),
        owner: Some(org("org-a")),
        updated_ms: v,
        body: serde_json::json!({"v": v}),
    };
    assert_eq!(one.put_record(rec(1), Some(0)).unwrap(), 1);
    assert!(matches!(
        two.put_record(rec(2), Some(0)),
        Err(StoreError::Conflict { .. })
    ));
    // Ten writers on two servers all expecting version 1: exactly one wins.
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let s = if i % 2 == 0 { one.clone() } else { two.clone() };
            std::thread::spawn(move || s.put_record(rec(10 + i), Some(1)).is_ok())
        })
        .collect();
    let wins = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|w| *w)
        .count();
    assert_eq!(wins, 1);
    let r = two
        .get_record(&Scope::org(org("org-a")), "recalls", "r1")
        .unwrap()
        .unwrap();
    assert_eq!(r.version, 2);
    assert!(
        one.get_record(&Scope::org(org("org-b")), "recalls", "r1")
            .unwrap()
            .is_none()
    );
    assert_eq!(one.put_record(rec(99), None).unwrap(), 3);
}
