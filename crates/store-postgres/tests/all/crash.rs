//! Crash the database server (`pg_ctl stop -m immediate`) right after captures were
//! acknowledged: after recovery every acknowledged event is there, no partial document, and the
//! store's pool recovers by itself.

use crate::{capture_doc, event, sgtin};
use store::{Scope, Store};
use store_postgres::testing::TempCluster;

#[test]
fn acknowledged_captures_survive_a_database_crash() {
    // Its own cluster: crashing the shared one would disturb the other tests.
    let cluster = match TempCluster::start() {
        Ok(c) => c,
        Err(reason) => return crate::skip(&reason),
    };
    let url = cluster.create_database("crash").unwrap();
    let s = crate::open(&url);
    let mut acknowledged = 0u64;
    for round in 0..3u64 {
        for d in 0..4u64 {
            let base = (round * 4 + d) * 250;
            let evs = (base..base + 250)
                .map(|n| event(n, &[sgtin(n % 50)]))
                .collect();
            let job = s
                .capture(capture_doc(
                    &format!("c{round}-{d}"),
                    "org-a",
                    base as i64,
                    evs,
                ))
                .unwrap();
            acknowledged += job.stored;
        }
        cluster.crash().unwrap();
        // While the database is down, the store reports errors, not wrong answers.
        assert!(s.count_events(&Scope::All).is_err());
        cluster.start_server().unwrap();
        // Stale pooled connections are replaced: writes and reads work again at once.
        let base = 100_000 + round * 10;
        let evs = (base..base + 10)
            .map(|n| event(n, &[sgtin(n % 50)]))
            .collect();
        let job = s
            .capture(capture_doc(
                &format!("after-{round}"),
                "org-a",
                base as i64,
                evs,
            ))
            .unwrap();
        assert_eq!(job.stored, 10);
        acknowledged += job.stored;
        assert_eq!(s.count_events(&Scope::All).unwrap(), acknowledged);
        let all = s
            .query_events(
                &Scope::All,
                &epcis::query::EventQuery::default(),
                None,
                10_000,
            )
            .unwrap();
        assert_eq!(all.events.len() as u64, acknowledged);
        for d in 0..4u64 {
            let job = s
                .capture_job(&Scope::All, &format!("c{round}-{d}"))
                .unwrap()
                .unwrap();
            assert_eq!(job.stored, 250);
            let in_doc = all.events.iter().filter(|e| e.capture_id == job.id).count();
            assert_eq!(in_doc, 250, "whole documents only");
        }
    }
}
