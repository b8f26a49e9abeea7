//! Timings of a forward trace, its recall scope and `trace::recall_scope` on an existing embedded
//! store (e.g. one left by `cargo bench -p zhiliang --bench trace_recall`), for profiling:
//! `cargo run --release -p trace --example profile -- DIR LOT [LOT...]`. `ROUNDS=N` repeats
//! (default 5); `ONLY_SCOPE=1` times `recall_scope` alone (what `perf record` should see).
use std::time::Instant;
use store::{Limits, Scope};
use trace::{Direction, TraceOptions};
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let s =
        store_sqlite::SqliteStore::open(std::path::Path::new(&args[0]), Limits::default()).unwrap();
    let lots: Vec<String> = args[1..].to_vec();
    let mut o = TraceOptions::new(Direction::Forward);
    o.objects_max = 10_000_000;
    o.events_max = 50_000_000;
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    if std::env::var("ONLY_SCOPE").is_ok() {
        for _ in 0..rounds {
            let t = Instant::now();
            let sc = trace::recall_scope(&s, &Scope::All, &lots, &o).unwrap();
            println!(
                "recall_scope {:.1} ms ({} holders)",
                t.elapsed().as_secs_f64() * 1e3,
                sc.holders().count()
            );
        }
        return;
    }
    for round in 0..rounds {
        let t = Instant::now();
        let tr = trace::trace(&s, &Scope::All, &lots, &o).unwrap();
        let dt = t.elapsed();
        let t = Instant::now();
        let sc = trace::recall::scope(&tr);
        let ds = t.elapsed();
        let (no, ne) = (tr.objects.len(), tr.events.len());
        let t = Instant::now();
        drop(tr);
        drop(sc);
        let dd = t.elapsed();
        let t = Instant::now();
        let fast = trace::recall_scope(&s, &Scope::All, &lots, &o).unwrap();
        let df = t.elapsed();
        let t = Instant::now();
        drop(fast);
        let dfd = t.elapsed();
        println!(
            "  recall_scope {:.1} ms + drop {:.1} ms",
            df.as_secs_f64() * 1e3,
            dfd.as_secs_f64() * 1e3
        );
        println!(
            "round {round}: {no} objects {ne} events: trace {:.1} ms, scope {:.1} ms, drop {:.1} ms",
            dt.as_secs_f64() * 1e3,
            ds.as_secs_f64() * 1e3,
            dd.as_secs_f64() * 1e3
        );
    }
}
