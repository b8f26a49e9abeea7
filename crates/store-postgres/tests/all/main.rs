//! All integration tests of store-postgres, in one binary. They need a PostgreSQL server: one
//! throwaway cluster per test run (from the local binaries), one database per test. Without
//! PostgreSQL they say so loudly on stderr and pass, except under CI (`CI=true`), where they fail.
mod capture;
mod conformance;
mod crash;
mod same_as_sqlite;
mod startup;
mod two_servers;

use std::sync::OnceLock;
use store::{Limits, NewCapture, NewEvent, OrgId};
use store_postgres::testing::TempCluster;
use store_postgres::{PgOptions, PostgresStore};

/// The cluster of this test run, or None (after a loud message) when PostgreSQL is unavailable.
pub fn cluster() -> Option<&'static TempCluster> {
    static CLUSTER: OnceLock<Result<TempCluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(TempCluster::start) {
        Ok(c) => Some(c),
        Err(reason) => {
            skip(reason);
            None
        }
    }
}

pub fn skip(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("PostgreSQL not available under CI: {reason}");
    }
    eprintln!(
        "\n************************************************************************\n\
         SKIPPED: PostgreSQL not available: {reason}\n\
         ************************************************************************\n"
    );
}

/// A fresh database's URL.
pub fn fresh_db(tag: &str) -> Option<String> {
    let c = cluster()?;
    Some(c.create_database(tag).expect("create database"))
}

pub fn open(url: &str) -> PostgresStore {
    PostgresStore::connect(url, PgOptions::default()).expect("connect")
}

pub fn fresh_store(tag: &str) -> Option<PostgresStore> {
    fresh_db(tag).map(|u| open(&u))
}

pub fn org(s: &str) -> OrgId {
    OrgId::parse(s).unwrap()
}

/// A synthetic event: `n` picks its identifiers, time and vocabulary deterministically.
pub fn event(n: u64, epcs: &[String]) -> NewEvent {
    let event_id = format!("urn:uuid:00000000-0000-4000-8000-{n:012x}");
    let event_hash = format!("ni:///sha-256;{n:064x}?ver=CBV2.0");
    let step = ["shipping", "receiving", "packing"][(n % 3) as usize];
    let body = serde_json::json!({
        "type": "ObjectEvent",
        "eventID": event_id,
        "eventTime": "2024-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": epcs,
        "action": "OBSERVE",
        "bizStep": step,
        "readPoint": {"id": format!("urn:epc:id:sgln:0614141.00001.{}", n % 7)},
    });
    let ev = serde_json::to_value(&body).unwrap();
    let mut idx = epcis::index::extract(&ev, event_hash).expect("index");
    idx.event_id = event_id;
    idx.event_time_ms = 1_704_067_200_000 + (n as i64 % 1000) * 60_000;
    idx
}

pub fn sgtin(n: u64) -> String {
    gs1::normalize_id(&format!("urn:epc:id:sgtin:0614141.107346.{n}"))
}

pub fn capture_doc(
    id: &str,
    owner: &str,
    record_time_ms: i64,
    events: Vec<NewEvent>,
) -> NewCapture {
    NewCapture {
        id: id.to_string(),
        owner: org(owner),
        record_time_ms,
        behaviour: store::ErrorBehaviour::Rollback,
        events,
        errors: Vec::new(),
    }
}

pub fn limits() -> Limits {
    Limits::default()
}
