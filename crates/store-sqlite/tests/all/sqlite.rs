use store::{Limits, Store};
use store_sqlite::SqliteStore;

fn temp_dir(tag: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("zl-store-sqlite-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn wal_and_synchronous_full_are_in_force() {
    let dir = temp_dir("wal");
    let s = SqliteStore::open(&dir, Limits::default()).unwrap();
    let d = s.durability().unwrap();
    assert_eq!(d.journal_mode.to_ascii_lowercase(), "wal");
    assert_eq!(d.synchronous, 2, "synchronous must be FULL (2)");
    assert_eq!(s.backend_name(), "sqlite");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn conformance() {
    let dirs = std::sync::Mutex::new(Vec::new());
    let make = || {
        let d = temp_dir("conf");
        dirs.lock().unwrap().push(d.clone());
        SqliteStore::open(&d, Limits::default()).unwrap()
    };
    store::conformance::run_all(&make);
    for d in dirs.into_inner().unwrap() {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn reopen_keeps_events_and_continues_numbering() {
    use epcis::query::EventQuery;
    use store::conformance::{index, sample_events};
    use store::{ErrorBehaviour, NewCapture, OrgId, Scope};
    let dir = temp_dir("reopen");
    let cap = |id: &str, seed: u64| NewCapture {
        id: id.into(),
        owner: OrgId::parse("org-a").unwrap(),
        record_time_ms: 1_700_000_000_000 + seed as i64,
        behaviour: ErrorBehaviour::Rollback,
        events: sample_events(seed, 600).iter().map(index).collect(),
        errors: Vec::new(),
    };
    let first = cap("c1", 1);
    let second = cap("c2", 2);
    {
        let s = SqliteStore::open(&dir, Limits::default()).unwrap();
        assert_eq!(s.capture(first.clone()).unwrap().stored, 600);
    }
    let s = SqliteStore::open(&dir, Limits::default()).unwrap();
    let mut again = first.clone();
    again.id = "c1-again".into();
    assert_eq!(
        s.capture(again).unwrap().duplicates,
        600,
        "exactly-once survives a restart"
    );
    assert_eq!(s.capture(second.clone()).unwrap().stored, 600);
    // Every identifier of both captures still finds exactly its events.
    for e in first.events.iter().chain(&second.events).step_by(37) {
        for r in &e.ids {
            let q = EventQuery::from_params(&[("MATCH_anyEPC".into(), r.id.clone())]).unwrap();
            let want = first
                .events
                .iter()
                .chain(&second.events)
                .filter(|x| {
                    x.ids.iter().any(|i| {
                        i.id == r.id && epcis::query::MatchField::AnyEpc.roles().contains(&i.role)
                    })
                })
                .count();
            let got = s
                .query_events(&Scope::All, &q, None, 10_000)
                .unwrap()
                .events
                .len();
            assert_eq!(got, want, "{}", r.id);
        }
    }
    assert!(s.size_on_disk() > 0);
    assert!(s.raw_body_bytes().unwrap() > s.size_on_disk() / 10);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn readers_and_the_writer_work_at_once() {
    use epcis::query::EventQuery;
    use store::conformance::{index, sample_events};
    use store::{ErrorBehaviour, NewCapture, OrgId, Scope};
    let dir = temp_dir("concurrent");
    let s = std::sync::Arc::new(SqliteStore::open(&dir, Limits::default()).unwrap());
    let docs: Vec<NewCapture> = (0..6)
        .map(|i| NewCapture {
            id: format!("c{i}"),
            owner: OrgId::parse("org-a").unwrap(),
            record_time_ms: 1_700_000_000_000 + i,
            behaviour: ErrorBehaviour::Rollback,
            events: sample_events(100 + i as u64, 100)
                .iter()
                .map(index)
                .collect(),
            errors: Vec::new(),
        })
        .collect();
    std::thread::scope(|scope| {
        // More reader threads than pooled connections: some wait for one.
        for _ in 0..store_sqlite::READERS_MAX + 3 {
            let s = s.clone();
            scope.spawn(move || {
                let mut last = 0;
                for _ in 0..30 {
                    let n = s.count_events(&Scope::All).unwrap();
                    assert!(n >= last, "counts never go back");
                    assert_eq!(n % 100, 0, "a capture is seen whole or not at all");
                    last = n;
                    let page = s
                        .query_events(&Scope::All, &EventQuery::default(), None, 1000)
                        .unwrap();
                    assert_eq!(page.events.len() % 100, 0, "no partial capture visible");
                }
            });
        }
        for d in &docs {
            assert_eq!(s.capture(d.clone()).unwrap().stored, 100);
        }
    });
    assert_eq!(s.count_events(&Scope::All).unwrap(), 600);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
