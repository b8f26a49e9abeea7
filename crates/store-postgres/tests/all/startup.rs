//! Start-up: durability check, concurrent migrations, idempotence.

use store::Store;
use store_postgres::{PgOptions, PostgresStore};

#[test]
fn refuses_synchronous_commit_off_unless_allowed() {
    let Some(c) = crate::cluster() else { return };
    let url = c.create_database("async").unwrap();
    let db = url.rsplit('/').next().unwrap().to_string();
    c.admin(&format!("ALTER DATABASE {db} SET synchronous_commit = off"))
        .unwrap();
    let err = match PostgresStore::connect(&url, PgOptions::default()) {
        Ok(_) => panic!("start-up must refuse synchronous_commit=off"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("synchronous_commit"),
        "error names the setting: {err}"
    );
    // Nothing was created: the check runs before the migrations.
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'zl\\_%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    let opts = PgOptions {
        allow_async_commit: true,
        ..PgOptions::default()
    };
    let s = PostgresStore::connect(&url, opts).expect("allowed explicitly");
    assert_eq!(s.durability().unwrap().synchronous_commit, "off");
    // The default cluster is durable and accepted.
    let s = crate::fresh_store("durable").unwrap();
    let d = s.durability().unwrap();
    assert_eq!(d.synchronous_commit, "on");
    assert_eq!(d.fsync, "on");
    assert_eq!(s.backend_name(), "postgres");
}

#[test]
fn migrations_are_idempotent_and_safe_with_servers_starting_at_once() {
    let Some(url) = crate::fresh_db("migrate") else {
        return;
    };
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                PostgresStore::connect(&url, PgOptions::default()).map(|s| s.schema_version())
            })
        })
        .collect();
    for h in handles {
        let v = h.join().unwrap().expect("every server starts").unwrap();
        assert_eq!(v, store_postgres::latest_version());
    }
    // Once more, after the fact: nothing to do.
    let s = crate::open(&url);
    assert_eq!(
        s.schema_version().unwrap(),
        store_postgres::latest_version()
    );
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let rows = client
        .query(
            "SELECT version FROM zl_schema_migrations ORDER BY version",
            &[],
        )
        .unwrap();
    let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    let expected: Vec<i32> = store_postgres::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(versions, expected, "each migration recorded exactly once");
}

#[test]
fn refuses_a_schema_newer_than_the_build() {
    let Some(url) = crate::fresh_db("newer") else {
        return;
    };
    drop(crate::open(&url));
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .execute(
            "INSERT INTO zl_schema_migrations (version, name) VALUES (9999, 'from the future')",
            &[],
        )
        .unwrap();
    let err = PostgresStore::connect(&url, PgOptions::default())
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("9999"), "{err}");
}

#[test]
fn citus_ddl_distributes_every_event_table_by_owner() {
    let ddl = store_postgres::citus_ddl();
    for t in [
        "zl_events",
        "zl_jobs",
        "zl_ids",
        "zl_event_quantities",
        "zl_owner_vocab",
        "zl_owner_counts",
    ] {
        assert!(
            ddl.contains(&format!("create_distributed_table('{t}', 'owner'")),
            "{t}"
        );
    }
    for t in [
        "zl_meta",
        "zl_orgs",
        "zl_dicts",
        "zl_api_keys",
        "zl_records",
    ] {
        assert!(
            ddl.contains(&format!("create_reference_table('{t}')")),
            "{t}"
        );
    }
    // Every table of the newest schema is covered (apart from the migrations table itself).
    let Some(url) = crate::fresh_db("ddl") else {
        return;
    };
    drop(crate::open(&url));
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let rows = client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
             AND tablename LIKE 'zl\\_%' AND tablename <> 'zl_schema_migrations'",
            &[],
        )
        .unwrap();
    assert!(rows.len() >= 10);
    for r in rows {
        let name: String = r.get(0);
        assert!(
            ddl.contains(&format!("'{name}'")),
            "{name} missing from the Citus DDL"
        );
    }
    for gone in ["zl_event_ids", "zl_event_links"] {
        assert!(!ddl.contains(gone), "{gone} was dropped in migration 3");
    }
}

#[test]
fn a_database_at_an_older_version_is_migrated_forward() {
    let Some(url) = crate::fresh_db("upgrade") else {
        return;
    };
    let first = &store_postgres::MIGRATIONS[0];
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute(
            "CREATE TABLE zl_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .unwrap();
    client.batch_execute(first.sql).unwrap();
    client
        .execute(
            "INSERT INTO zl_schema_migrations (version, name) VALUES ($1, $2)",
            &[&first.version, &first.name],
        )
        .unwrap();
    let s = crate::open(&url);
    assert_eq!(
        s.schema_version().unwrap(),
        store_postgres::latest_version()
    );
    assert!(store_postgres::latest_version() > first.version);
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'zl_events_owner_rt'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "migration 2 ran");
}

/// Writes `e` as captured event `seq` of job `jid` the way schema version 2 stored it (one row
/// per identifier and role in `zl_event_ids`, links in `zl_event_links`, vocabulary as text),
/// with an uncompressed-dictionary zstd body.
fn insert_v2_event(c: &mut postgres::Client, owner: i32, seq: i64, jid: i64, e: &store::NewEvent) {
    let body = zstd::bulk::compress(e.body.as_bytes(), 3).unwrap();
    let type_code = epcis::index::EVENT_TYPES
        .iter()
        .position(|t| *t == e.event_type)
        .unwrap() as i16;
    c.execute(
        "INSERT INTO zl_events (owner, seq, job, event_id, event_hash, type, event_time_ms, \
         record_time_ms, action, biz_step, disposition, read_point, biz_location, has_error, \
         dict, raw_len, body) VALUES ($1, $2, $3, $4, $5, $6, $7, 5, 2, $8, $9, $10, $11, false, \
         0, $12, $13)",
        &[
            &owner,
            &seq,
            &jid,
            &store::codec::encode_hash(&e.event_id),
            &store::codec::encode_hash(&e.event_hash),
            &type_code,
            &e.event_time_ms,
            &e.biz_step,
            &e.disposition,
            &e.read_point,
            &e.biz_location,
            &(e.body.len() as i32),
            &body,
        ],
    )
    .unwrap();
    for r in &e.ids {
        c.execute(
            "INSERT INTO zl_event_ids (owner, id, role, seq) VALUES ($1, $2, $3, $4)",
            &[&owner, &r.id, &(r.role as u8 as i16), &seq],
        )
        .unwrap();
    }
    for (kind, list) in [
        (0i16, &e.biz_transactions),
        (1, &e.sources),
        (2, &e.destinations),
    ] {
        for (ty, id) in list {
            c.execute(
                "INSERT INTO zl_event_links (owner, kind, id, type, seq) VALUES ($1, $2, $3, $4, $5)",
                &[&owner, &kind, id, ty, &seq],
            )
            .unwrap();
        }
    }
    for (kind, v) in [
        (0i16, Some(&e.event_type)),
        (1, e.biz_step.as_ref()),
        (2, e.disposition.as_ref()),
        (3, e.read_point.as_ref()),
        (4, e.biz_location.as_ref()),
    ] {
        if let Some(v) = v {
            c.execute(
                "INSERT INTO zl_owner_vocab (owner, kind, value) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&owner, &kind, v],
            )
            .unwrap();
        }
    }
}

#[test]
fn data_of_schema_version_2_is_converted_and_answers_as_before() {
    use epcis::query::{EventQuery, IdMatch, MatchField};
    use store::Scope;
    let Some(url) = crate::fresh_db("upgrade_data") else {
        return;
    };
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute(
            "CREATE TABLE zl_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .unwrap();
    for m in &store_postgres::MIGRATIONS[..2] {
        client.batch_execute(m.sql).unwrap();
        client
            .execute(
                "INSERT INTO zl_schema_migrations (version, name) VALUES ($1, $2)",
                &[&m.version, &m.name],
            )
            .unwrap();
    }
    // Two owners, events sharing identifiers, links, a hash-only event ID and a 16-byte one.
    let po = "https://ref.gs1.org/cbv/BTT-po".to_string();
    let mut events = Vec::new();
    for n in 0..12u64 {
        let epcs = vec![crate::sgtin(n % 5), crate::sgtin(100 + n)];
        let mut e = crate::event(n, &epcs);
        e.biz_transactions = vec![(
            po.clone(),
            format!("urn:epcglobal:cbv:bt:0614141000005:{}", n % 3),
        )];
        e.sources = vec![(
            "https://ref.gs1.org/cbv/SDT-owning_party".into(),
            "https://id.gs1.org/414/0614141000005".into(),
        )];
        if n == 3 {
            e.event_id = e.event_hash.clone();
        }
        if n == 4 {
            e.event_id = "urn:example:x-16".into();
            assert_eq!(e.event_id.len(), 16);
        }
        events.push(e);
    }
    let owners = ["org-a", "org-b"];
    for (i, o) in owners.iter().enumerate() {
        client
            .execute(
                "INSERT INTO zl_orgs (id, name) VALUES ($1, $2)",
                &[&(i as i32 + 1), o],
            )
            .unwrap();
        client
            .execute(
                "INSERT INTO zl_jobs (owner, jid, id, created_ms, finished_ms, success, stored, \
                 duplicates, errors) VALUES ($1, $3, $2, 5, 5, true, 6, 0, '[]')",
                &[&(i as i32 + 1), &format!("job-{o}"), &(i as i64 + 1)],
            )
            .unwrap();
    }
    for (n, e) in events.iter().enumerate() {
        insert_v2_event(
            &mut client,
            (n % 2) as i32 + 1,
            n as i64 + 1,
            (n % 2) as i64 + 1,
            e,
        );
    }
    client
        .batch_execute(
            "SELECT setval('zl_event_seq', 100); SELECT setval('zl_job_seq', 100); \
             SELECT setval('zl_org_seq', 100); \
             INSERT INTO zl_owner_counts (owner, n) VALUES (1, 6), (2, 6)",
        )
        .unwrap();

    let s = crate::open(&url);
    assert_eq!(
        s.schema_version().unwrap(),
        store_postgres::latest_version()
    );
    let ids_of = |q: &EventQuery, scope: &Scope| -> Vec<String> {
        let mut v: Vec<String> = s
            .query_events(scope, q, None, 1000)
            .unwrap()
            .events
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        v.sort();
        v
    };
    let naive = |f: &dyn Fn(usize, &store::NewEvent) -> bool, scope_owner: Option<usize>| {
        let mut v: Vec<String> = events
            .iter()
            .enumerate()
            .filter(|(n, e)| scope_owner.is_none_or(|o| n % 2 == o) && f(*n, e))
            .map(|(_, e)| e.event_id.clone())
            .collect();
        v.sort();
        v
    };
    let scopes = [
        (Scope::All, None),
        (Scope::Orgs(vec![crate::org("org-b")]), Some(1usize)),
    ];
    for (scope, so) in &scopes {
        for n in 0..5u64 {
            let epc = crate::sgtin(n);
            let q = EventQuery {
                matches: vec![(MatchField::Epc, vec![IdMatch::Exact(epc.clone())])],
                ..Default::default()
            };
            let want = naive(&|_, e| e.ids.iter().any(|r| r.id == epc), *so);
            assert!(!want.is_empty());
            assert_eq!(ids_of(&q, scope), want, "MATCH_epc {epc}");
            let touching: Vec<String> = {
                let mut v: Vec<String> = s
                    .events_touching(scope, std::slice::from_ref(&epc))
                    .unwrap()
                    .into_iter()
                    .map(|e| e.event_id)
                    .collect();
                v.sort();
                v
            };
            assert_eq!(touching, want, "events_touching {epc}");
        }
        let prefix = "https://id.gs1.org/01/";
        let q = EventQuery {
            matches: vec![(MatchField::AnyEpc, vec![IdMatch::Prefix(prefix.into())])],
            ..Default::default()
        };
        assert_eq!(ids_of(&q, scope), naive(&|_, _| true, *so), "prefix");
        for k in 0..3 {
            let bt = format!("urn:epcglobal:cbv:bt:0614141000005:{k}");
            let q = EventQuery {
                eq_biz_transaction: vec![(po.clone(), vec![bt.clone()])],
                ..Default::default()
            };
            let want = naive(&|_, e| e.biz_transactions.iter().any(|l| l.1 == bt), *so);
            assert_eq!(ids_of(&q, scope), want, "EQ_bizTransaction {bt}");
        }
        for step in ["shipping", "receiving", "packing"] {
            let full = format!("https://ref.gs1.org/cbv/BizStep-{step}");
            let q = EventQuery {
                eq_biz_step: vec![full.clone()],
                ..Default::default()
            };
            let want = naive(&|_, e| e.biz_step.as_deref() == Some(full.as_str()), *so);
            assert_eq!(ids_of(&q, scope), want, "EQ_bizStep {step}");
        }
        for e in &events {
            let q = EventQuery {
                eq_event_id: vec![e.event_id.clone()],
                ..Default::default()
            };
            let got = s.query_events(scope, &q, None, 10).unwrap().events;
            let n = events
                .iter()
                .position(|x| x.event_id == e.event_id)
                .unwrap();
            if so.is_none_or(|o| n % 2 == o) {
                assert_eq!(got.len(), 1, "{}", e.event_id);
                assert_eq!(got[0].body, e.body);
                assert_eq!(got[0].event_hash, e.event_hash);
            } else {
                assert!(got.is_empty());
            }
        }
    }
    let mut all_epcs: Vec<String> = events
        .iter()
        .flat_map(|e| e.ids.iter().map(|r| r.id.clone()))
        .collect();
    all_epcs.sort();
    all_epcs.dedup();
    assert_eq!(
        s.distinct_values(&Scope::All, store::Vocabulary::Epc, None, 1000)
            .unwrap(),
        all_epcs
    );
    // The converted events still count as the owner's: sent again, they are duplicates.
    let again: Vec<store::NewEvent> = events.iter().step_by(2).cloned().collect();
    let job = s
        .capture(crate::capture_doc("again", "org-a", 9, again))
        .unwrap();
    assert_eq!((job.stored, job.duplicates), (0, 6));
}
