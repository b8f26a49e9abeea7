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
        "zl_event_ids",
        "zl_event_links",
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
    // Every table the migrations create is covered (apart from the migrations table itself).
    for m in store_postgres::MIGRATIONS {
        for line in m.sql.lines() {
            if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                let name = rest.split_whitespace().next().unwrap();
                assert!(
                    ddl.contains(&format!("'{name}'")),
                    "{name} missing from the Citus DDL"
                );
            }
        }
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
