//! Durable capture throughput and query latency of the SQLite store on `demo` data.
//!
//! ```text
//! ZL_BENCH_EVENTS=1000000 cargo bench -p store-sqlite --bench capture
//! ```
//! Environment: `ZL_BENCH_EVENTS` (default 200000), `ZL_BENCH_BATCH` (events per capture
//! document, default 100000, the transaction size of the issue's reference design), `ZL_BENCH_DIR` (data directory; default a fresh temp dir, removed at
//! the end unless `ZL_BENCH_KEEP=1`), `ZL_BENCH_QUERIES` (default 2000 per kind), `ZL_BENCH_QUERY_ONLY=1` (only the queries, on the
//! store a `ZL_BENCH_KEEP=1` run left in `ZL_BENCH_DIR`).
//!
//! Only `Store::capture` is timed for throughput (generation, hashing and indexing are timed
//! separately). Raw JSON is the compact JSON of each generated event.

use epcis::index::{IdRole, index_event_with};
use epcis::query::EventQuery;
use std::time::{Duration, Instant};
use store::{ErrorBehaviour, Limits, NewCapture, OrgId, Scope, Store};
use store_sqlite::SqliteStore;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// CPU time of this process (all threads), from /proc/self/stat (utime + stime, in clock ticks of
/// 10 ms). Lets a run on a loaded machine say what the work costs, beside the wall-clock rate.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    // After the command: field 3 (state) is at index 0, utime (field 14) at 11, stime at 12.
    let f: Vec<&str> = after.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let ticks = num(11) + num(12);
    Duration::from_millis(ticks * 10)
}

/// Bytes this process caused to be written to storage (`write_bytes` in /proc/self/io).
fn write_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// xorshift for picking queries (no global RNG).
struct Pick(u64);
impl Pick {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// `MATCH_epc` on sampled instance identifiers and one-hour `eventTime` windows (first page of 100):
/// (MATCH p50, p99, events per MATCH, window p50, p99, events per window).
fn run_queries(
    store: &SqliteStore,
    sample_epcs: &[String],
    t_min: i64,
    t_max: i64,
    queries: usize,
    pick: &mut Pick,
) -> (Duration, Duration, f64, Duration, Duration, f64) {
    // MATCH_epc
    let mut lat = Vec::with_capacity(queries);
    let mut hits = 0usize;
    for _ in 0..queries {
        let id = &sample_epcs[pick.below(sample_epcs.len())];
        let q = EventQuery::from_params(&[("MATCH_epc".to_string(), id.clone())]).unwrap();
        let t = Instant::now();
        let page = store.query_events(&Scope::All, &q, None, 100).unwrap();
        lat.push(t.elapsed());
        hits += page.events.len();
    }
    lat.sort();
    let (m50, m99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    let match_avg = hits as f64 / queries as f64;

    // Time window: one hour, first page of 100 by eventTime.
    let mut lat = Vec::with_capacity(queries);
    let mut hits = 0usize;
    let span = (t_max - t_min).max(1);
    for _ in 0..queries {
        let from = t_min + (pick.below(span as usize) as i64);
        let q = EventQuery {
            ge_event_time_ms: Some(from),
            lt_event_time_ms: Some(from + 3_600_000),
            order_by: epcis::query::OrderBy::EventTime,
            ..Default::default()
        };
        let t = Instant::now();
        let page = store.query_events(&Scope::All, &q, None, 100).unwrap();
        lat.push(t.elapsed());
        hits += page.events.len();
    }
    lat.sort();
    let (w50, w99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    let window_avg = hits as f64 / queries as f64;

    (m50, m99, match_avg, w50, w99, window_avg)
}

/// `ZL_BENCH_QUERY_ONLY=1`: the queries alone on a store an earlier run left (`ZL_BENCH_KEEP=1`),
/// with instance identifiers sampled from events at random times.
fn query_only(dir: &std::path::Path, queries: usize) {
    let store = SqliteStore::open(dir, Limits::default()).expect("open store");
    let first = |d| {
        let q = EventQuery {
            order_by: epcis::query::OrderBy::EventTime,
            order_direction: d,
            ..Default::default()
        };
        store.query_events(&Scope::All, &q, None, 1).unwrap().events[0].event_time_ms
    };
    let (t_min, t_max) = (
        first(epcis::query::Direction::Asc),
        first(epcis::query::Direction::Desc),
    );
    let mut pick = Pick(0x9e37_79b9_7f4a_7c15);
    let mut sample = Vec::new();
    while sample.len() < 1000 {
        let from = t_min + pick.below((t_max - t_min).max(1) as usize) as i64;
        let q = EventQuery {
            ge_event_time_ms: Some(from),
            order_by: epcis::query::OrderBy::EventTime,
            ..Default::default()
        };
        for e in store.query_events(&Scope::All, &q, None, 1).unwrap().events {
            let v: serde_json::Value = serde_json::from_str(&e.body).unwrap();
            for f in ["epcList", "childEPCs"] {
                if let Some(id) = v[f]
                    .as_array()
                    .and_then(|a| a.first())
                    .and_then(|x| x.as_str())
                {
                    sample.push(gs1::normalize_id(id));
                }
            }
        }
    }
    let events = store.count_events(&Scope::All).unwrap();
    let (m50, m99, match_avg, w50, w99, window_avg) =
        run_queries(&store, &sample, t_min, t_max, queries, &mut pick);
    println!(
        "store-sqlite queries on {} ({events} events), load average {}",
        dir.display(),
        load_average()
    );
    println!(
        "MATCH_epc: p50 {:.3} ms, p99 {:.3} ms ({queries} queries, {match_avg:.1} events each)",
        ms(m50),
        ms(m99)
    );
    println!(
        "time window (1 h, orderBy eventTime, first 100): p50 {:.3} ms, p99 {:.3} ms ({window_avg:.1} events each)",
        ms(w50),
        ms(w99)
    );
}

fn main() {
    let n = env_usize("ZL_BENCH_EVENTS", 200_000);
    let batch = env_usize("ZL_BENCH_BATCH", 100_000).max(1);
    let queries = env_usize("ZL_BENCH_QUERIES", 2_000).max(1);
    let (dir, remove) = match std::env::var("ZL_BENCH_DIR") {
        Ok(d) => (std::path::PathBuf::from(d), false),
        Err(_) => (
            std::env::temp_dir().join(format!("zl-bench-capture-{}", std::process::id())),
            true,
        ),
    };
    if std::env::var("ZL_BENCH_QUERY_ONLY").is_ok_and(|v| v == "1") {
        query_only(&dir, queries);
        return;
    }
    let keep = std::env::var("ZL_BENCH_KEEP").is_ok_and(|v| v == "1");
    let _ = std::fs::remove_dir_all(&dir);
    let limits = Limits {
        capture_events_max: batch.max(100_000),
        ..Limits::default()
    };
    let store = SqliteStore::open(&dir, limits).expect("open store");
    let owner = OrgId::parse("bench-org").unwrap();

    let start_ms = 1_700_000_000_000;
    let cfg = demo::DemoConfig::new(n, 42, start_ms);
    let ctx = serde_json::Value::String(demo::EPCIS_CONTEXT.to_string());
    let hasher = epcis::hash::Hasher::new(&ctx);
    let mut gen_events = demo::generate(&cfg);

    let mut capture_time = Duration::ZERO;
    let mut capture_cpu = Duration::ZERO;
    let mut prep_time = Duration::ZERO;
    let mut raw_bytes: u64 = 0;
    let mut stored: u64 = 0;
    let mut sample_epcs: Vec<String> = Vec::new();
    let mut seen_ids: u64 = 0;
    let mut pick = Pick(0x9e37_79b9_7f4a_7c15);
    let (mut t_min, mut t_max) = (i64::MAX, i64::MIN);
    let mut doc = 0usize;
    let wall = Instant::now();
    let written0 = write_bytes();
    loop {
        let t = Instant::now();
        let mut events = Vec::with_capacity(batch);
        for e in gen_events.by_ref().take(batch) {
            raw_bytes += serde_json::to_string(&e).unwrap().len() as u64;
            let ix = index_event_with(&hasher, &e).expect("demo events index");
            for r in &ix.ids {
                if matches!(r.role, IdRole::Epc | IdRole::Child) {
                    seen_ids += 1;
                    // Reservoir sample of 1000 instance identifiers.
                    if sample_epcs.len() < 1000 {
                        sample_epcs.push(r.id.clone());
                    } else {
                        let j = pick.below(seen_ids as usize);
                        if j < 1000 {
                            sample_epcs[j] = r.id.clone();
                        }
                    }
                }
            }
            t_min = t_min.min(ix.event_time_ms);
            t_max = t_max.max(ix.event_time_ms);
            events.push(ix);
        }
        prep_time += t.elapsed();
        if events.is_empty() {
            break;
        }
        let len = events.len() as u64;
        let c = NewCapture {
            id: format!("bench-{doc}"),
            owner: owner.clone(),
            record_time_ms: start_ms + doc as i64,
            behaviour: ErrorBehaviour::Rollback,
            events,
            errors: Vec::new(),
        };
        let t = Instant::now();
        let cpu = cpu_time();
        let job = store.capture(c).expect("capture");
        capture_time += t.elapsed();
        capture_cpu += cpu_time().saturating_sub(cpu);
        stored += job.stored;
        doc += 1;
        let done = stored.max(doc as u64 * len.min(batch as u64));
        if doc.is_multiple_of(10) {
            eprintln!(
                "  {done} events, capture {:.0} events/s so far",
                stored as f64 / capture_time.as_secs_f64()
            );
        }
    }
    let wall_time = wall.elapsed();
    store.checkpoint().expect("checkpoint");
    let written = write_bytes().saturating_sub(written0);
    let disk = store.size_on_disk();

    let (m50, m99, match_avg, w50, w99, window_avg) =
        run_queries(&store, &sample_epcs, t_min, t_max, queries, &mut pick);

    println!("store-sqlite capture benchmark: {n} demo events, {batch} per capture document");
    println!(
        "capture (durable, in process): {stored} events in {:.1} s = {:.0} events/s",
        capture_time.as_secs_f64(),
        stored as f64 / capture_time.as_secs_f64()
    );
    println!(
        "capture CPU time: {:.1} s = {:.0} events per CPU-second (load average at the end: {})",
        capture_cpu.as_secs_f64(),
        stored as f64 / capture_cpu.as_secs_f64().max(0.001),
        load_average()
    );
    println!(
        "generate + hash + index (not in the above): {:.0} events/s; wall {:.1} s",
        stored as f64 / prep_time.as_secs_f64(),
        wall_time.as_secs_f64()
    );
    println!(
        "MATCH_epc: p50 {:.3} ms, p99 {:.3} ms ({queries} queries, {match_avg:.1} events each)",
        ms(m50),
        ms(m99)
    );
    println!(
        "time window (1 h, orderBy eventTime, first 100): p50 {:.3} ms, p99 {:.3} ms ({window_avg:.1} events each)",
        ms(w50),
        ms(w99)
    );
    println!(
        "size: {disk} bytes on disk / {raw_bytes} bytes raw JSON = {:.3}",
        disk as f64 / raw_bytes as f64
    );
    println!(
        "written to storage during capture (WAL + checkpoints): {written} bytes = {:.0} bytes per event, {:.1}x the final size",
        written as f64 / stored.max(1) as f64,
        written as f64 / disk.max(1) as f64
    );
    drop(store);
    if remove && !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
