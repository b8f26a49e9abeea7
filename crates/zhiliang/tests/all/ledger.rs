//! The kill -9 ledger test (see shared/guides/reliability.md): clients capture documents with
//! unique eventIDs (some invalid, some sent twice) while the server is SIGKILLed at random
//! moments (sometimes during start-up) and restarted on the same data. After every restart:
//! every acknowledged event is there with the same hash, nothing rejected is stored, every
//! unanswered document is wholly present or wholly absent, no event is stored twice, and nothing
//! is there that the harness never sent.
//!
//! `ZHILIANG_LEDGER_SEED` replays a run; `ZHILIANG_LEDGER_CYCLES` sets the number of cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

/// splitmix64: a small deterministic generator (the seed is printed, so a failure replays).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub(crate) const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// What the harness sent and what the server answered (this test's and the PostgreSQL ledger's in
/// `pg.rs`).
#[derive(Default)]
pub(crate) struct Ledger {
    /// eventID -> expected hash, for every event the harness ever sent.
    pub(crate) sent: BTreeMap<String, String>,
    /// The hashes in `sent`: every sent event must differ in content (the store deduplicates by
    /// (owner, hash) by design, so two events differing only in eventID would be one event).
    pub(crate) sent_hashes: BTreeSet<String>,
    /// eventIDs of acknowledged (202) documents.
    pub(crate) acked: BTreeSet<String>,
    /// eventIDs of rejected (400) documents.
    pub(crate) rejected: BTreeSet<String>,
    /// Documents sent without an answer (or, on PostgreSQL, with a 5xx while the database was
    /// down): their eventIDs.
    pub(crate) unanswered: Vec<Vec<String>>,
    /// Documents acknowledged.
    pub(crate) acked_docs: usize,
    /// 5xx answers while PostgreSQL was (or had just been) down (`pg.rs` only).
    pub(crate) server_errors: usize,
}

pub(crate) fn event(id: &str, serial: u64, minute: u64) -> Value {
    json!({
        "type": "ObjectEvent",
        "eventID": id,
        "eventTime": format!("2025-01-01T{:02}:{:02}:00.000Z", (minute / 60) % 24, minute % 60),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "epcList": [format!("urn:epc:id:sgtin:0614141.107346.{serial}")],
        "bizStep": "shipping",
        "readPoint": { "id": "urn:epc:id:sgln:0614141.00001.0" }
    })
}

/// One client: sends documents until `stop`, recording every outcome in the ledger.
fn client(
    addr: String,
    key: String,
    thread: u64,
    seed: u64,
    cycle: u64,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = Rng(seed ^ (thread << 40) ^ (cycle << 20));
    let mut n = 0u64;
    // This client's acknowledged documents (re-sent with the same key: exactly-once is per owner).
    let mut acked_docs: Vec<(Vec<u8>, usize)> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let roll = rng.below(10);
        // 1 in 10: re-send an acknowledged document.
        if roll == 0 {
            let again = (!acked_docs.is_empty())
                .then(|| acked_docs[rng.below(acked_docs.len() as u64) as usize].clone());
            if let Some((body, count)) = again {
                if let Ok(r) = http(
                    &addr,
                    "POST",
                    "/epcis/capture",
                    Some(&key),
                    Some(("application/ld+json", &body)),
                ) {
                    assert_eq!(
                        r.status,
                        202,
                        "re-send: {}",
                        String::from_utf8_lossy(&r.body)
                    );
                    assert_eq!(
                        r.json()["eventsStored"],
                        0,
                        "a re-sent document stores nothing new"
                    );
                    assert_eq!(r.json()["eventsDuplicate"].as_u64(), Some(count as u64));
                }
                continue;
            }
        }
        let invalid = roll == 1;
        let count = 1 + rng.below(5) as usize;
        let mut events = Vec::new();
        let mut ids = Vec::new();
        let mut hashes = Vec::new();
        for i in 0..count {
            let id = format!(
                "urn:uuid:{:08x}-{:04x}-4000-8000-{:012x}",
                seed as u32,
                thread * 1000 + cycle,
                n * 16 + i as u64
            );
            // The serial is unique per event (like the eventID), so no two events share content:
            // a random serial gave content twins (same serial and minute) that the store rightly
            // deduplicated by hash.
            let serial = (thread * 1000 + cycle + 1) * 1_000_000_000 + n * 16 + i as u64;
            let mut e = event(&id, serial, rng.below(1440));
            if invalid && i == count - 1 {
                e["action"] = json!("SHIPPED");
            }
            hashes.push(epcis::hash::event_hash(&e, &json!([CONTEXT])).unwrap());
            ids.push(id);
            events.push(e);
        }
        let doc = json!({
            "@context": [CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2025-01-01T00:00:00.000Z", "epcisBody": { "eventList": events }
        });
        let body = serde_json::to_vec(&doc).unwrap();
        {
            let mut l = ledger.lock().unwrap();
            for (id, h) in ids.iter().zip(&hashes) {
                assert!(
                    l.sent_hashes.insert(h.clone()),
                    "seed {seed}: the generator made two events with the same content ({id})"
                );
                l.sent.insert(id.clone(), h.clone());
            }
        }
        let answer = http(
            &addr,
            "POST",
            "/epcis/capture",
            Some(&key),
            Some(("application/ld+json", &body)),
        );
        let mut l = ledger.lock().unwrap();
        match answer {
            Ok(r) if r.status == 202 => {
                assert!(!invalid, "an invalid document was acknowledged");
                let job = r.json();
                assert_eq!(
                    job["eventsStored"].as_u64(),
                    Some(count as u64),
                    "seed {seed}: a new document's events were not all stored: {job} ({ids:?})"
                );
                l.acked.extend(ids.iter().cloned());
                l.acked_docs += 1;
                acked_docs.push((body, count));
            }
            Ok(r) if r.status == 400 => {
                assert!(
                    invalid,
                    "a valid document was rejected: {}",
                    String::from_utf8_lossy(&r.body)
                );
                l.rejected.extend(ids.iter().cloned());
            }
            Ok(r) => panic!(
                "unexpected status {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            ),
            Err(_) => l.unanswered.push(ids),
        }
    }
}

/// Every event the server holds, as the admin sees it, following `Link` headers.
fn stored_events(addr: &str, admin: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = "/epcis/events?perPage=10000".to_string();
    loop {
        let r = http(addr, "GET", &path, Some(admin), None).unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        out.extend(
            r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
        match r.header("link") {
            Some(l) => path = l[l.find('<').unwrap() + 1..l.find('>').unwrap()].to_string(),
            None => return out,
        }
    }
}

pub(crate) fn check(addr: &str, admin: &str, ledger: &Ledger, seed: u64) {
    let events = stored_events(addr, admin);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for e in &events {
        let id = e["eventID"].as_str().unwrap().to_string();
        *seen.entry(id.clone()).or_default() += 1;
        let want = ledger
            .sent
            .get(&id)
            .unwrap_or_else(|| panic!("seed {seed}: {id} was never sent"));
        let got = epcis::hash::event_hash(e, &json!([CONTEXT])).unwrap();
        assert_eq!(&got, want, "seed {seed}: {id} changed");
    }
    for (id, n) in &seen {
        assert_eq!(*n, 1, "seed {seed}: {id} stored {n} times");
    }
    for id in &ledger.acked {
        if !seen.contains_key(id) {
            let direct = http(
                addr,
                "GET",
                &format!("/epcis/events/{id}"),
                Some(admin),
                None,
            )
            .unwrap();
            let same_hash: Vec<&String> = ledger
                .sent
                .iter()
                .filter(|(i, h)| *i != id && **h == ledger.sent[id])
                .map(|(i, _)| i)
                .collect();
            panic!(
                "seed {seed}: acknowledged {id} lost (events with the same hash: {same_hash:?}; {} events listed, {} acknowledged; GET by id: {} {})",
                events.len(),
                ledger.acked.len(),
                direct.status,
                String::from_utf8_lossy(&direct.body)
            );
        }
    }
    for id in &ledger.rejected {
        assert!(!seen.contains_key(id), "seed {seed}: rejected {id} stored");
    }
    for doc in &ledger.unanswered {
        let present = doc.iter().filter(|id| seen.contains_key(*id)).count();
        assert!(
            present == 0 || present == doc.len(),
            "seed {seed}: unanswered document partly stored ({present} of {})",
            doc.len()
        );
    }
}

#[test]
fn kill_9_never_loses_an_acknowledged_event_nor_stores_half_a_document() {
    let seed: u64 = std::env::var("ZHILIANG_LEDGER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let cycles: u64 = std::env::var("ZHILIANG_LEDGER_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    println!(
        "kill -9 ledger: seed {seed} (replay with ZHILIANG_LEDGER_SEED={seed}), {cycles} cycles"
    );
    let dir = TempDir::new("ledger");
    let mut rng = Rng(seed);
    let first = Server::start(dir.path());
    let admin = first.admin_key.clone().expect("admin key");
    let keys = [
        create_key(dir.path(), "0614141000005", "enterprise"),
        create_key(dir.path(), "4012345000009", "enterprise"),
    ];
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut server = Some(first);
    let (mut kills_at_start, mut documents) = (0, 0);
    for cycle in 0..cycles {
        // Sometimes kill during start-up, before the server says it listens.
        if rng.below(5) == 0 {
            let mut child = Server::spawn(dir.path());
            std::thread::sleep(Duration::from_millis(rng.below(40)));
            let _ = child.kill();
            let _ = child.wait();
            kills_at_start += 1;
        }
        let s = match server.take() {
            Some(s) => s,
            None => Server::start(dir.path()),
        };
        check(&s.addr, &admin, &ledger.lock().unwrap(), seed);
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (addr, key, l, stop) = (
                    s.addr.clone(),
                    keys[t as usize % 2].clone(),
                    ledger.clone(),
                    stop.clone(),
                );
                std::thread::spawn(move || client(addr, key, t, seed, cycle, l, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + rng.below(1980)));
        s.kill();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("client thread");
        }
        documents = ledger.lock().unwrap().acked_docs;
    }
    let s = Server::start(dir.path());
    let l = ledger.lock().unwrap();
    check(&s.addr, &admin, &l, seed);
    println!(
        "kill -9 ledger: {cycles} cycles ({kills_at_start} killed during start-up), {documents} documents acknowledged, {} events acknowledged, {} rejected, {} documents unanswered",
        l.acked.len(),
        l.rejected.len(),
        l.unanswered.len()
    );
    assert!(l.acked.len() > 10, "the clients got work done");
    // SIGKILL keeps the page cache, so the loop cannot catch a missing fsync: check that the store
    // runs with durable settings too.
    let store = store_sqlite::SqliteStore::open(dir.path(), store::Limits::default()).unwrap();
    let d = store.durability().unwrap();
    assert_eq!(
        (d.journal_mode.to_ascii_lowercase().as_str(), d.synchronous),
        ("wal", 2),
        "WAL with synchronous=FULL"
    );
}
