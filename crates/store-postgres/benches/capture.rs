//! Capture throughput and query latency on PostgreSQL with `zhiliang demo` data.
//!
//! `cargo bench -p store-postgres --bench capture` starts a throwaway cluster (or uses
//! `ZL_PG_URL`), captures `ZL_BENCH_EVENTS` demo events (default 200,000; prepared
//! `ZL_BENCH_CHUNK` at a time, default 200,000, so that memory stays bounded at 10M; only the
//! capture itself is timed) in documents of `ZL_BENCH_BATCH` events (default 20,000; each
//! document is split by capturing organisation, one transaction per part), through `ZL_BENCH_SERVERS` stores on the same database (default 1;
//! with 2, two threads capture alternate batches through two stores), then measures `MATCH_epc`
//! and a one-hour `eventTime` window (p50/p99 over 1,000 queries each). `ZL_BENCH_QUERY_ONLY=1`
//! skips the capture and only queries (a database an earlier run of the same size filled).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use store::{NewCapture, OrgId, Scope, Store};
use store_postgres::{PgOptions, PostgresStore};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let n = env_usize("ZL_BENCH_EVENTS", 200_000);
    let batch = env_usize("ZL_BENCH_BATCH", 20_000);
    let servers = env_usize("ZL_BENCH_SERVERS", 1).clamp(1, 8);
    let _cluster;
    let url = match std::env::var("ZL_PG_URL") {
        Ok(u) => u,
        Err(_) => {
            let c = match store_postgres::testing::TempCluster::start() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("SKIPPED: PostgreSQL not available: {e}");
                    return;
                }
            };
            let u = c.create_database("bench").expect("create database");
            _cluster = c;
            u
        }
    };
    let chunk = env_usize("ZL_BENCH_CHUNK", 200_000).max(batch);
    // Only the queries, on a database an earlier run filled with the same events.
    let query_only = std::env::var("ZL_BENCH_QUERY_ONLY").is_ok_and(|v| v == "1");
    let stores: Vec<Arc<PostgresStore>> = (0..servers)
        .map(|_| Arc::new(PostgresStore::connect(&url, PgOptions::default()).expect("connect")))
        .collect();
    // Memory-bounded: `chunk` events at a time are generated, parsed, hashed and indexed (not
    // timed), then captured (timed) through all servers; only the capture time is summed.
    // Seed 42 and this start: the same events as the store-sqlite capture bench, for the side-by-side.
    let cfg = demo::DemoConfig::new(n, 42, 1_700_000_000_000);
    let mut gen_it = demo::generate_with_owner(&cfg).peekable();
    let mut raw_bytes = 0u64;
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    let mut stored = 0u64;
    let mut secs = 0f64;
    let mut b = 0usize;
    let mut prepared = 0usize;
    while gen_it.peek().is_some() {
        let mut events: Vec<(String, store::NewEvent)> = Vec::with_capacity(chunk);
        for (owner, ev) in gen_it.by_ref().take(chunk) {
            raw_bytes += serde_json::to_string(&ev).unwrap().len() as u64;
            let hash = epcis::hash::event_hash(&ev, &serde_json::Value::Null).expect("hash");
            let idx = epcis::index::extract(&ev, hash).expect("index");
            first = first.min(idx.event_time_ms);
            last = last.max(idx.event_time_ms);
            events.push((owner, idx));
        }
        let in_chunk = events.len();
        prepared += in_chunk;
        if query_only {
            continue;
        }
        let mut docs: Vec<Vec<NewCapture>> = Vec::new();
        let mut it = events.into_iter().peekable();
        while it.peek().is_some() {
            let mut by_owner: BTreeMap<String, Vec<store::NewEvent>> = BTreeMap::new();
            for (o, e) in it.by_ref().take(batch) {
                by_owner.entry(o).or_default().push(e);
            }
            docs.push(
                by_owner
                    .into_iter()
                    .enumerate()
                    .map(|(i, (o, evs))| NewCapture {
                        id: format!("bench-{b}-{i}"),
                        owner: OrgId::parse(&o).unwrap(),
                        record_time_ms: 1_800_000_000_000 + b as i64,
                        behaviour: store::ErrorBehaviour::Rollback,
                        events: evs,
                        errors: vec![],
                    })
                    .collect(),
            );
            b += 1;
        }
        let docs = Arc::new(std::sync::Mutex::new(docs.into_iter()));
        let t = Instant::now();
        let handles: Vec<_> = stores
            .iter()
            .map(|s| {
                let s = s.clone();
                let docs = docs.clone();
                std::thread::spawn(move || {
                    let mut stored = 0u64;
                    loop {
                        let next = docs.lock().unwrap().next();
                        let Some(parts) = next else { break };
                        for c in parts {
                            stored += s.capture(c).expect("capture").stored;
                        }
                    }
                    stored
                })
            })
            .collect();
        stored += handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>();
        let dt = t.elapsed().as_secs_f64();
        secs += dt;
        eprintln!(
            "  {prepared} events prepared, {stored} captured ({:.0} events/s in this chunk)",
            in_chunk as f64 / dt
        );
    }
    println!(
        "capture: {stored} events in {secs:.1} s = {:.0} events/s durable ({servers} server(s), documents of {batch})",
        stored as f64 / secs
    );
    let s = &stores[0];
    let size = s.size_on_disk().unwrap();
    println!(
        "store size: {:.1} MB for {:.1} MB of raw event JSON = {:.2}x",
        size as f64 / 1e6,
        raw_bytes as f64 / 1e6,
        size as f64 / raw_bytes as f64
    );
    if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
        let rows = c
            .query(
                "SELECT c.relname::text, pg_relation_size(c.oid) FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relname LIKE 'zl\\_%' \
                 ORDER BY 2 DESC LIMIT 12",
                &[],
            )
            .unwrap_or_default();
        for r in rows {
            let (name, bytes): (String, i64) = (r.get(0), r.get(1));
            println!("  {name:<36} {:>9.1} MB", bytes as f64 / 1e6);
        }
    }
    // MATCH_epc over EPCs that occur in the data.
    let epcs: Vec<String> = s
        .distinct_values(&Scope::All, store::Vocabulary::Epc, None, 10_000)
        .unwrap();
    let mut lat = Vec::new();
    let mut found = 0usize;
    for i in 0..1000usize {
        let epc = &epcs[(i * 7919) % epcs.len()];
        let q = epcis::query::EventQuery {
            matches: vec![(
                epcis::query::MatchField::Epc,
                vec![epcis::query::IdMatch::Exact(epc.clone())],
            )],
            ..Default::default()
        };
        let t = Instant::now();
        found += s
            .query_events(&Scope::All, &q, None, 100)
            .unwrap()
            .events
            .len();
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "MATCH_epc: p50 {:.3} ms, p99 {:.3} ms over 1000 queries ({:.1} events per answer)",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        found as f64 / 1000.0
    );
    let mut lat = Vec::new();
    let mut found = 0usize;
    for i in 0..1000i64 {
        let from = first + ((last - first).max(1) / 1000) * i;
        let q = epcis::query::EventQuery {
            ge_event_time_ms: Some(from),
            lt_event_time_ms: Some(from + 3_600_000),
            order_by: epcis::query::OrderBy::EventTime,
            ..Default::default()
        };
        let t = Instant::now();
        found += s
            .query_events(&Scope::All, &q, None, 100)
            .unwrap()
            .events
            .len();
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "eventTime 1 h window, first 100: p50 {:.3} ms, p99 {:.3} ms ({:.1} events per answer)",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        found as f64 / 1000.0
    );
}
