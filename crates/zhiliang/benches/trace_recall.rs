//! Trace, recall scope and FSMA 204 records request on `zhiliang demo` data in the embedded store
//! (issue 3's benchmark).
//!
//! ```text
//! ZL_BENCH_EVENTS=1000000 ZL_BENCH_DIR=/tmp/zl-trace-1m cargo bench -p zhiliang --bench trace_recall
//! ```
//! Environment: `ZL_BENCH_EVENTS` (default 200000), `ZL_BENCH_DIR` (the store; filled on the first
//! run and reused afterwards, default `$TMPDIR/zl-bench-trace-N`; a store left by
//! `ZL_BENCH_KEEP=1 ZL_BENCH_DIR=… cargo bench -p store-sqlite --bench capture` with the same
//! `ZL_BENCH_EVENTS` holds the same events and is reused), `ZL_BENCH_LOTS` (lots sampled for the
//! reach table, default 300).
//!
//! Every lot commissioned or produced in the data is a candidate; a deterministic sample of them
//! is traced forward with budgets large enough never to truncate, and the table shows, per reach
//! class, the forward trace and the recall scope (`trace::recall_scope`: the time a regulator waits
//! for `POST /api/recalls`); then a recall of the widest lots together reaching 10,000 objects
//! (issue 3's floor), backward traces from sold serials and pallets, and the FSMA 204 sortable
//! spreadsheet (rows, CSV and XLSX) for a 30-day window of the widest lots.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use store::{ErrorBehaviour, Limits, NewCapture, OrgId, Scope, Store};
use trace::{Direction, TraceOptions};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the generator tells us about lots and sold items while it fills the store.
#[derive(Default)]
struct Seen {
    /// lot class -> time of its first event
    lots: BTreeMap<String, i64>,
    serials: Vec<String>,
    pallets: Vec<String>,
}

fn note(seen: &mut Seen, e: &serde_json::Value) {
    let time = e["eventTime"]
        .as_str()
        .and_then(|t| epcis::index::parse_time_ms(t).ok())
        .unwrap_or(0);
    for list in ["quantityList", "outputQuantityList"] {
        for q in e[list].as_array().into_iter().flatten() {
            if let Some(c) = q["epcClass"].as_str() {
                seen.lots.entry(gs1::normalize_id(c)).or_insert(time);
            }
        }
    }
    if e["bizStep"]
        .as_str()
        .is_some_and(|b| b.ends_with("retail_selling"))
        && seen.serials.len() < 50
        && let Some(s) = e["epcList"][0].as_str()
    {
        seen.serials.push(gs1::normalize_id(s));
    }
    if e["type"] == "AggregationEvent"
        && seen.pallets.len() < 50
        && let Some(p) = e["parentID"].as_str()
    {
        seen.pallets.push(gs1::normalize_id(p));
    }
}

fn fill(s: &store_sqlite::SqliteStore, n: usize, fresh: bool) -> Seen {
    // The same configuration as the store-sqlite capture bench, so that its store (kept with
    // `ZL_BENCH_KEEP=1`) can be traced here without capturing again.
    let cfg = demo::DemoConfig::new(n, 42, 1_700_000_000_000);
    let ctx = serde_json::Value::String(demo::EPCIS_CONTEXT.to_string());
    let hasher = epcis::hash::Hasher::new(&ctx);
    let mut seen = Seen::default();
    let mut per: BTreeMap<String, Vec<store::NewEvent>> = BTreeMap::new();
    let t0 = Instant::now();
    let mut k = 0;
    let mut pending = 0usize;
    for (i, (o, e)) in demo::generate_with_owner(&cfg).enumerate() {
        note(&mut seen, &e);
        if fresh {
            per.entry(o)
                .or_default()
                .push(epcis::index::index_event_with(&hasher, &e).expect("demo events index"));
            pending += 1;
        }
        if fresh && (pending >= 200_000 || i + 1 == n) {
            pending = 0;
            for (o, evs) in std::mem::take(&mut per) {
                k += 1;
                s.capture(NewCapture {
                    id: format!("j{k}"),
                    owner: OrgId::parse(&o).expect("demo owners are valid"),
                    record_time_ms: 1_767_225_600_000 + k,
                    behaviour: ErrorBehaviour::Rollback,
                    events: evs,
                    errors: vec![],
                })
                .expect("capture");
            }
            eprintln!(
                "  {} events stored, {:.0} s",
                i + 1,
                t0.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "store holds {} events ({} s to generate{})",
        s.count_events(&Scope::All).expect("count"),
        t0.elapsed().as_secs(),
        if fresh { " and capture" } else { "" }
    );
    seen
}

fn opts(d: Direction) -> TraceOptions {
    let mut o = TraceOptions::new(d);
    o.objects_max = 10_000_000;
    o.events_max = 50_000_000;
    o
}

fn main() {
    let n = env_usize("ZL_BENCH_EVENTS", 200_000);
    let sample = env_usize("ZL_BENCH_LOTS", 300).max(1);
    let dir = std::env::var("ZL_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join(format!("zl-bench-trace-{n}")));
    let fresh = !dir.join(store_sqlite::DB_FILE).exists();
    let limits = Limits {
        capture_events_max: 200_000,
        ..Limits::default()
    };
    let s = store_sqlite::SqliteStore::open(&dir, limits).expect("open store");
    let seen = fill(&s, n, fresh);
    let all = Scope::All;

    // Forward from a deterministic sample of lots.
    let lots: Vec<(&String, &i64)> = seen.lots.iter().collect();
    let step = (lots.len() / sample).max(1);
    struct Row {
        lot: String,
        first_ms: i64,
        objects: usize,
        events: usize,
        holders: usize,
        trace: Duration,
        scope: Duration,
    }
    let mut rows = Vec::new();
    for (lot, first) in lots.iter().step_by(step).take(sample) {
        let t = Instant::now();
        let tr = trace::trace(
            &s,
            &all,
            std::slice::from_ref(*lot),
            &opts(Direction::Forward),
        )
        .expect("trace");
        let dt = t.elapsed();
        assert!(!tr.truncated, "budgets are large enough for {lot}");
        // The recall path (`POST /api/recalls`): the scope straight from the walk.
        let t = Instant::now();
        let sc = trace::recall_scope(
            &s,
            &all,
            std::slice::from_ref(*lot),
            &opts(Direction::Forward),
        )
        .expect("recall scope");
        let ds = t.elapsed();
        rows.push(Row {
            lot: (*lot).clone(),
            first_ms: **first,
            objects: tr.objects.len(),
            events: tr.events.len(),
            holders: sc.holders().count(),
            trace: dt,
            scope: ds,
        });
    }
    rows.sort_by_key(|r| r.objects);
    println!(
        "trace/recall benchmark: {} events in the store, {} lots known, {} traced forward (load average {})",
        s.count_events(&all).unwrap_or(0),
        seen.lots.len(),
        rows.len(),
        load_average()
    );
    println!(
        "| reach (objects) | lots | events reached (median) | forward trace p50 / max | recall scope p50 / max |"
    );
    println!("|---|---|---|---|---|");
    let classes: [(usize, usize, &str); 5] = [
        (0, 100, "< 100"),
        (100, 1_000, "100 - 999"),
        (1_000, 5_000, "1,000 - 4,999"),
        (5_000, 20_000, "5,000 - 19,999"),
        (20_000, usize::MAX, ">= 20,000"),
    ];
    for (lo, hi, label) in classes {
        let mut c: Vec<&Row> = rows
            .iter()
            .filter(|r| r.objects >= lo && r.objects < hi)
            .collect();
        if c.is_empty() {
            continue;
        }
        c.sort_by_key(|r| r.trace);
        let p50t = c[c.len() / 2].trace;
        let maxt = c.iter().map(|r| r.trace).max().unwrap_or_default();
        let mut sc: Vec<Duration> = c.iter().map(|r| r.scope).collect();
        sc.sort();
        let mut ev: Vec<usize> = c.iter().map(|r| r.events).collect();
        ev.sort();
        println!(
            "| {label} | {} | {} | {:.2} / {:.2} ms | {:.2} / {:.2} ms |",
            c.len(),
            ev[ev.len() / 2],
            ms(p50t),
            ms(maxt),
            ms(sc[sc.len() / 2]),
            ms(*sc.last().unwrap_or(&Duration::ZERO)),
        );
    }
    if let Some(r) = rows.last() {
        println!(
            "widest sampled lot: {} reaches {} objects, {} events, {} holders: forward trace {:.2} ms, recall scope {:.2} ms",
            r.lot,
            r.objects,
            r.events,
            r.holders,
            ms(r.trace),
            ms(r.scope)
        );
    }
    // The floor: a recall reaching 10,000 objects. The widest sampled lots, widest first, are
    // recalled together until their trace reaches 10,000 objects (no single demo lot does).
    let mut picked: Vec<String> = Vec::new();
    let mut reach = 0;
    for r in rows.iter().rev() {
        if reach >= 10_000 {
            break;
        }
        picked.push(r.lot.clone());
        reach = trace::trace(&s, &all, &picked, &opts(Direction::Forward))
            .expect("trace")
            .objects
            .len();
    }
    let mut times = Vec::new();
    let mut holders = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let sc = trace::recall_scope(&s, &all, &picked, &opts(Direction::Forward)).expect("scope");
        times.push(t.elapsed());
        holders = sc.holders().count();
    }
    times.sort();
    let t = Instant::now();
    let tr = trace::trace(&s, &all, &picked, &opts(Direction::Forward)).expect("trace");
    let d_trace = t.elapsed();
    println!(
        "recall of the {} widest sampled lots together: {} objects, {} events, {} holders: recall scope p50 {:.2} ms, min {:.2} ms, max {:.2} ms (7 runs); the full forward trace of the same lots {:.2} ms",
        picked.len(),
        tr.objects.len(),
        tr.events.len(),
        holders,
        ms(times[3]),
        ms(times[0]),
        ms(times[6]),
        ms(d_trace)
    );

    // Backward from sold serials and from pallets.
    for (what, ids) in [("sold serial", &seen.serials), ("pallet", &seen.pallets)] {
        let mut lat = Vec::new();
        let mut objects = 0;
        for id in ids.iter().take(20) {
            let t = Instant::now();
            let tr = trace::trace(
                &s,
                &all,
                std::slice::from_ref(id),
                &opts(Direction::Backward),
            )
            .expect("trace");
            lat.push(t.elapsed());
            objects += tr.objects.len();
        }
        lat.sort();
        if !lat.is_empty() {
            println!(
                "backward from a {what} ({} traced, {:.0} objects on average): p50 {:.2} ms, max {:.2} ms",
                lat.len(),
                objects as f64 / lat.len() as f64,
                ms(lat[lat.len() / 2]),
                ms(*lat.last().unwrap())
            );
        }
    }

    // FSMA 204: the widest lots, 30 days from their first event.
    let mut wide: Vec<&Row> = rows.iter().rev().take(5).collect();
    wide.sort_by_key(|r| std::cmp::Reverse(r.objects));
    for r in wide {
        let from = r.first_ms;
        let to = from + 30 * 86_400_000;
        let t = Instant::now();
        let fsma = zhiliang_http::api::recall::fsma_rows(&s, &all, &r.lot, Some(from), Some(to));
        let d_rows = t.elapsed();
        match fsma {
            Ok(out) => {
                let t = Instant::now();
                let csv = zhiliang_http::api::recall::rows_csv(&out);
                let d_csv = t.elapsed();
                let t = Instant::now();
                let xlsx = zhiliang_http::api::recall::rows_xlsx(&out).expect("xlsx");
                let d_xlsx = t.elapsed();
                println!(
                    "FSMA 204, 30 days of {} ({} objects): {} rows in {:.1} ms; CSV {} bytes in {:.1} ms; XLSX {} bytes in {:.1} ms; total {:.1} ms",
                    r.lot,
                    r.objects,
                    out.len(),
                    ms(d_rows),
                    csv.len(),
                    ms(d_csv),
                    xlsx.len(),
                    ms(d_xlsx),
                    ms(d_rows + d_csv.max(d_xlsx))
                );
            }
            Err(e) => println!("FSMA 204, 30 days of {}: {e}", r.lot),
        }
    }
}
