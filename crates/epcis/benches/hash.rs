//! Event hashing rate on one core: `cargo bench -p epcis --bench hash`.
//!
//! Inputs: 20,000 `zhiliang demo` events, a synthetic supply chain, the JSON events of the hash
//! reference vectors (`epcis-event-hash-generator/tests/examples/*.jsonld`, 43 events of every
//! type, with sensor data, extensions, ILMD) and, as the typical event, the 13 events of
//! `epcisDocWithVariousEventTypes.jsonld`.
//!
//! Rates are per core (CPU time of this thread). Cycling through 20,000 parsed events measures
//! hashing from memory (each event's allocations are cache misses); capture hashes an event
//! right after parsing it, which the "right after parsing" and "warm" lines measure. The "from
//! raw JSON text" lines hash each event straight from its text (`Hasher::event_hash_json`), the
//! events' texts one after the other in one document, cycled.

use epcis::hash::{Hasher, event_hash, ni_uri};
use serde_json::Value;
use std::hint::black_box;
use std::time::{Duration, Instant};

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference-data/epcis-event-hash-generator/tests/examples"
);

fn load(filter: &str) -> Vec<(Value, Value)> {
    let mut paths: Vec<_> = std::fs::read_dir(EXAMPLES)
        .expect("reference data")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonld"))
        .filter(|p| p.to_string_lossy().contains(filter))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let ctx = doc["@context"].clone();
        let body = &doc["epcisBody"];
        let list = body
            .get("eventList")
            .or_else(|| body["queryResults"]["resultsBody"].get("eventList"));
        for e in list.and_then(Value::as_array).into_iter().flatten() {
            out.push((e.clone(), ctx.clone()));
        }
    }
    out
}

/// CPU time of this thread (Linux `schedstat`), so that the rate is per core even when the
/// machine is shared; falls back to wall time elsewhere.
fn cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

/// Events per second of `f` over `events` per core, best of 5 runs of at least 0.4 s each.
fn rate(events: &[(Value, Value)], mut f: impl FnMut(&Value, &Value)) -> f64 {
    let mut best = 0f64;
    for _ in 0..5 {
        let start = Instant::now();
        let cpu_start = cpu_time();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_millis(400) {
            for (e, c) in events {
                f(e, c);
            }
            n += events.len() as u64;
        }
        let elapsed = match (cpu_start, cpu_time()) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => start.elapsed(),
        };
        best = best.max(n as f64 / elapsed.as_secs_f64());
    }
    best
}

/// `n` distinct events as a supply chain produces them: unique serials (SGTIN, SSCC) and
/// transaction IDs, locations and parties from small pools; ObjectEvents (shipping, receiving)
/// and AggregationEvents (packing), with the EPCIS 2.0 context.
fn synthetic(n: usize) -> Vec<(Value, Value)> {
    let ctx = serde_json::json!(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]);
    (0..n)
        .map(|i| {
            let loc = |k: usize| format!("urn:epc:id:sgln:4012345.{:05}.0", k % 50);
            let party = |k: usize| format!("urn:epc:id:pgln:4012345.{:05}", k % 20);
            let sgtin = |k: usize| format!("urn:epc:id:sgtin:4012345.011111.{}", 100_000 + k);
            let time = format!("2024-03-{:02}T{:02}:{:02}:{:02}.{:03}+08:00", 1 + i % 28, i % 24, i % 60, (i / 7) % 60, i % 1000);
            let e = if i % 3 == 2 {
                serde_json::json!({
                    "type": "AggregationEvent",
                    "eventTime": time,
                    "eventTimeZoneOffset": "+08:00",
                    "parentID": format!("urn:epc:id:sscc:4012345.{:010}", i),
                    "childEPCs": [sgtin(4 * i), sgtin(4 * i + 1), sgtin(4 * i + 2), sgtin(4 * i + 3)],
                    "action": "ADD",
                    "bizStep": "packing",
                    "disposition": "in_progress",
                    "readPoint": {"id": loc(i)},
                    "bizLocation": {"id": loc(i + 1)}
                })
            } else {
                serde_json::json!({
                    "type": "ObjectEvent",
                    "eventTime": time,
                    "eventTimeZoneOffset": "+08:00",
                    "epcList": [sgtin(3 * i), sgtin(3 * i + 1), sgtin(3 * i + 2)],
                    "action": "OBSERVE",
                    "bizStep": if i % 3 == 0 { "shipping" } else { "receiving" },
                    "disposition": "in_transit",
                    "readPoint": {"id": loc(i)},
                    "bizLocation": {"id": loc(i + 7)},
                    "bizTransactionList": [{"type": "po", "bizTransaction": format!("urn:epcglobal:cbv:bt:4012345000009:PO{i}")}],
                    "sourceList": [{"type": "owning_party", "source": party(i)}],
                    "destinationList": [{"type": "owning_party", "destination": party(i + 3)}]
                })
            };
            (e, ctx.clone())
        })
        .collect()
}

/// `n` events of the `zhiliang demo` generator (a multi-tier supply chain), as captured.
fn demo_events(n: usize) -> Vec<(Value, Value)> {
    let ctx = Value::String(demo::EPCIS_CONTEXT.to_string());
    let cfg = demo::DemoConfig::new(n, 42, 1_700_000_000_000);
    demo::generate(&cfg).map(|e| (e, ctx.clone())).collect()
}

/// Per-core rate of hashing each demo event right after parsing it from its JSON text, as
/// capture does: CPU time of parse + hash minus that of parse alone, best of 5 rounds.
fn right_after_parsing(events: &[(Value, Value)]) {
    let texts: Vec<String> = events.iter().map(|(e, _)| e.to_string()).collect();
    let hasher = Hasher::new(&events[0].1);
    let mut best = (0f64, 0f64);
    for _ in 0..5 {
        let t = Instant::now();
        let c = cpu_time();
        for text in &texts {
            black_box(serde_json::from_str::<Value>(black_box(text)).unwrap());
        }
        let parse = elapsed(t, c);
        let t = Instant::now();
        let c = cpu_time();
        for text in &texts {
            let e: Value = serde_json::from_str(black_box(text)).unwrap();
            black_box(hasher.event_hash(&e).unwrap());
        }
        let both = elapsed(t, c);
        let n = texts.len() as f64;
        if both > parse && n / (both - parse) > best.1 {
            best = (n / parse, n / (both - parse));
        }
    }
    println!(
        "  right after parsing each event:     {:>10.0} events/s (parsing alone {:.0} events/s)",
        best.1, best.0
    );
}

/// Hashing from each event's JSON text (`Hasher::event_hash_json`: the raw path), the events
/// laid out one after the other in one document text and taken by their byte ranges, cycled
/// (cold, as the parsed events above); then parsing each text and hashing the `Value`, the way
/// capture hashes, for comparison.
fn from_text(events: &[(Value, Value)], hasher: &Hasher<'_>) {
    let mut doc = String::new();
    let mut ranges = Vec::new();
    for (e, _) in events {
        let start = doc.len();
        doc.push_str(&e.to_string());
        ranges.push(start..doc.len());
        doc.push_str(",\n");
    }
    let texts: Vec<&str> = ranges.iter().map(|r| &doc[r.clone()]).collect();
    let mut scratch = String::new();
    let raw = texts
        .iter()
        .filter(|t| {
            scratch.clear();
            hasher.prehash_raw_into(t, &mut scratch)
        })
        .count();
    let mut i = 0;
    let r = rate(events, |_, _| {
        black_box(
            hasher
                .event_hash_json(black_box(texts[i % texts.len()]))
                .unwrap(),
        );
        i += 1;
    });
    println!(
        "  from raw JSON text, cycled          {:>10.0} events/s ({raw}/{} on the raw path)",
        r,
        texts.len()
    );
    let mut buf = String::with_capacity(4096);
    let r = rate(events, |_, _| {
        buf.clear();
        hasher
            .prehash_json_into(black_box(texts[i % texts.len()]), &mut buf)
            .unwrap();
        black_box(&buf);
        i += 1;
    });
    println!("  prehash_json_into (no SHA-256)      {:>10.0} events/s", r);
    let r = rate(events, |_, _| {
        let e: Value = serde_json::from_str(black_box(texts[i % texts.len()])).unwrap();
        black_box(hasher.event_hash(&e).unwrap());
        i += 1;
    });
    println!("  parse each text + event_hash, cycled {:>9.0} events/s", r);
}

/// A whole `zhiliang demo` document of `n` events, as `zhiliang hash` reads it: parsed into a
/// `Value` and `document_hashes`, against `document_hashes_json` (each event from its text, on
/// every core for large documents). Wall-clock rates of the whole machine, best of 3.
fn whole_document(n: usize) {
    let mut text = Vec::new();
    demo::write_document(&demo::DemoConfig::new(n, 42, 1_700_000_000_000), &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    let (mut parsed, mut raw) = (0f64, 0f64);
    for _ in 0..3 {
        let t = Instant::now();
        let doc: Value = serde_json::from_str(black_box(&text)).unwrap();
        let a = black_box(epcis::hash::document_hashes(&doc).unwrap());
        drop(doc);
        parsed = parsed.max(n as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        let b = black_box(epcis::hash::document_hashes_json(black_box(&text)).unwrap());
        raw = raw.max(n as f64 / t.elapsed().as_secs_f64());
        assert_eq!(a, b);
    }
    println!(
        "  whole document ({} MB, wall clock, {} cores): parse + document_hashes {:.0} events/s, \
         document_hashes_json {:.0} events/s",
        text.len() >> 20,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        parsed,
        raw
    );
}

fn elapsed(t: Instant, cpu_start: Option<Duration>) -> f64 {
    match (cpu_start, cpu_time()) {
        (Some(a), Some(b)) if b > a => (b - a).as_secs_f64(),
        _ => t.elapsed().as_secs_f64(),
    }
}

/// `ZL_HASH_PROFILE=fast|reference|hash|raw|raw-hash|parse`: one pass over the 20,000 demo
/// events with one reused `Hasher` (`prehash_into`, `reference_prehash_into`, `event_hash`,
/// `prehash_json_into`, `event_hash_json`, or parsing each event's text and `prehash_into`),
/// for instruction counts:
/// `valgrind --tool=callgrind --toggle-collect='epcis::hash::Hasher::prehash_into' <bench> `.
fn profile(mode: &str) {
    let events = demo_events(20_000);
    let hasher = Hasher::new(&events[0].1);
    let mut buf = String::with_capacity(4096);
    let texts: Vec<String> = events.iter().map(|(e, _)| e.to_string()).collect();
    // `ZL_HASH_PASSES=n`: n passes (for sampling profilers).
    let passes: usize = std::env::var("ZL_HASH_PASSES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    for ((e, _), text) in std::iter::repeat_n(events.iter().zip(&texts), passes).flatten() {
        buf.clear();
        match mode {
            "raw" => hasher.prehash_json_into(black_box(text), &mut buf).unwrap(),
            "parse" => {
                let e: Value = serde_json::from_str(black_box(text)).unwrap();
                hasher.prehash_into(&e, &mut buf).unwrap();
            }
            "raw-hash" => buf.push_str(&hasher.event_hash_json(black_box(text)).unwrap()),
            "fast" => hasher.prehash_into(black_box(e), &mut buf).unwrap(),
            "reference" => hasher
                .reference_prehash_into(black_box(e), &mut buf)
                .unwrap(),
            _ => buf.push_str(&hasher.event_hash(black_box(e)).unwrap()),
        }
        black_box(&buf);
    }
}

fn main() {
    if let Ok(mode) = std::env::var("ZL_HASH_PROFILE") {
        profile(&mode);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    println!(
        "SHA extensions (sha_ni): {}",
        if std::is_x86_feature_detected!("sha") {
            "detected, sha2 uses them"
        } else {
            "not available, sha2 uses its software code"
        }
    );
    for (label, events) in [
        ("zhiliang demo events (20000)", demo_events(20_000)),
        (
            "supply chain (synthetic, 20000 distinct events)",
            synthetic(20_000),
        ),
        (
            "typical (VariousEventTypes, 13 events)",
            load("VariousEventTypes"),
        ),
        ("all reference JSON events", load("")),
    ] {
        // `ZL_HASH_SETS=word`: only the inputs whose label contains the word.
        if let Ok(only) = std::env::var("ZL_HASH_SETS")
            && !label.contains(&only)
        {
            continue;
        }
        let bytes: usize = events.iter().map(|(e, _)| e.to_string().len()).sum();
        let pre: usize = events
            .iter()
            .map(|(e, c)| Hasher::new(c).prehash(e).unwrap().len())
            .sum();
        let mut scratch = String::new();
        let fast = events
            .iter()
            .filter(|(e, c)| {
                scratch.clear();
                Hasher::new(c).prehash_fast_into(e, &mut scratch).unwrap()
            })
            .count();
        println!(
            "{label}: {} events ({fast} on the fast path), mean JSON {} B, mean pre-hash {} B",
            events.len(),
            bytes / events.len(),
            pre / events.len()
        );
        let r = rate(&events, |e, c| {
            black_box(event_hash(black_box(e), c).unwrap());
        });
        println!("  event_hash(event, context)        {:>10.0} events/s", r);
        let hasher = Hasher::new(&events[0].1);
        let r = rate(&events, |e, _| {
            black_box(hasher.event_hash(black_box(e)).unwrap());
        });
        println!("  Hasher::event_hash (reused)        {:>10.0} events/s", r);
        let mut buf = String::with_capacity(4096);
        let r = rate(&events, |e, _| {
            buf.clear();
            hasher.prehash_into(black_box(e), &mut buf).unwrap();
            black_box(&buf);
        });
        println!("  Hasher::prehash_into (no SHA-256)  {:>10.0} events/s", r);
        let no_ids = Hasher::new(&events[0].1).with_id_canonicaliser(|_| None);
        let r = rate(&events, |e, _| {
            buf.clear();
            no_ids.prehash_into(black_box(e), &mut buf).unwrap();
            black_box(&buf);
        });
        println!("  prehash_into, identifiers as is     {:>10.0} events/s", r);
        let ids = identifiers(&events);
        let mut k = 0;
        let r = rate(&events, |_, _| {
            black_box(gs1::canonical_dl(black_box(&ids[k % ids.len()])));
            k += 1;
        });
        println!(
            "  gs1::canonical_dl alone            {:>10.0} ids/s ({:.1} identifiers per event)",
            r,
            ids.len() as f64 / events.len() as f64
        );
        let pres: Vec<String> = events
            .iter()
            .map(|(e, c)| Hasher::new(c).prehash(e).unwrap())
            .collect();
        let mut i = 0;
        let r = rate(&events, |_, _| {
            black_box(ni_uri(black_box(&pres[i % pres.len()])));
            i += 1;
        });
        println!("  ni_uri (SHA-256 + hex only)        {:>10.0} events/s", r);
        let r = rate(&events, |e, _| {
            buf.clear();
            hasher
                .reference_prehash_into(black_box(e), &mut buf)
                .unwrap();
            black_box(&buf);
        });
        println!("  generic path alone (reference)     {:>10.0} events/s", r);
        from_text(&events, &hasher);
        if label.starts_with("zhiliang demo") {
            let warm = &events[..256];
            let r = rate(warm, |e, _| {
                black_box(hasher.event_hash(black_box(e)).unwrap());
            });
            println!("  Hasher::event_hash, 256 warm events {:>9.0} events/s", r);
            right_after_parsing(&events);
            whole_document(events.len());
        }
    }
}

/// The identifier-like strings of the events (what the hash hands to `gs1::canonical_dl`).
fn identifiers(events: &[(Value, Value)]) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.starts_with("urn:epc:") || s.starts_with("http") => {
                out.push(s.clone())
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    events.iter().for_each(|(e, _)| walk(e, &mut out));
    out
}
