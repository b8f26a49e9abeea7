//! The binary on the PostgreSQL store (issue 6), over its command line and plain HTTP:
//!
//! - the kill -9 ledger test with `--store postgres://…`, crashing PostgreSQL itself
//!   (`pg_ctl stop -m immediate`) in some cycles;
//! - two servers on one database: capture through one, query and page through the other,
//!   concurrently; page tokens and capture jobs of one server work on the other;
//! - `zhiliang key create --store postgres://…` and the key on a server;
//! - start-up refuses `synchronous_commit=off` unless `--allow-async-commit` is given.
//!
//! The PostgreSQL server is a throwaway cluster from the local binaries
//! (`store_postgres::testing::TempCluster`). Without PostgreSQL the tests say so loudly on stderr
//! and pass, except under CI (`CI=true`), where they fail (the rule of store-postgres's tests).
//!
//! `ZHILIANG_LEDGER_SEED` replays a ledger run; `ZHILIANG_PG_LEDGER_CYCLES` sets its cycles.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use store_postgres::testing::TempCluster;

use crate::common::{BIN, TempDir, http, run};
use crate::ledger::{CONTEXT, Ledger, Rng, check, event};

// ---------------------------------------------------------------------------------------------
// PostgreSQL availability (the same rule as crates/store-postgres/tests/all/main.rs).

fn skip(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("PostgreSQL not available under CI: {reason}");
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n************************************************************************\n\
         SKIPPED: PostgreSQL not available: {reason}\n\
         ************************************************************************\n"
    );
}

/// The cluster shared by the tests that never crash it, or None (after a loud message).
fn shared_cluster() -> Option<&'static TempCluster> {
    static CLUSTER: OnceLock<Result<TempCluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(TempCluster::start) {
        Ok(c) => Some(c),
        Err(reason) => {
            skip(reason);
            None
        }
    }
}

fn db_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

// ---------------------------------------------------------------------------------------------
// `zhiliang serve --store URL`. common::Server takes a data directory and its fields are private
// to common.rs, so this is the minimum of it for a store URL (plus stderr kept in a file, so a
// refused start-up can be checked).

struct PgServer {
    child: Child,
    addr: String,
    admin_key: Option<String>,
    lines: Vec<String>,
    _stdout: BufReader<ChildStdout>,
}

fn spawn_serve(url: &str, extra: &[&str], stderr: &Path) -> Child {
    Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--store", url])
        .args(extra)
        .env_remove("ZHILIANG_STORE")
        .env_remove("ZHILIANG_DATA")
        .env_remove("ZHILIANG_ALLOW_ASYNC_COMMIT")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .unwrap()
}

impl PgServer {
    /// Start and wait for `listening on http://ADDR`; Err(stdout and stderr) if it exits first.
    #[expect(
        clippy::zombie_processes,
        reason = "the child is waited for on every path: here when it exits, in Drop otherwise"
    )]
    fn start(url: &str, extra: &[&str], stderr: &Path) -> Result<PgServer, String> {
        let mut child = spawn_serve(url, extra, stderr);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        let mut admin_key = None;
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                let status = child.wait();
                return Err(format!(
                    "server exited before listening ({status:?}); stdout: {lines:?}; stderr: {}",
                    std::fs::read_to_string(stderr).unwrap_or_default()
                ));
            }
            let line = line.trim_end().to_string();
            if let Some(k) = line.strip_prefix("admin key: ") {
                admin_key = Some(k.trim().to_string());
            }
            if let Some(rest) = line.strip_prefix("listening on http://") {
                let addr = rest.trim().to_string();
                lines.push(line);
                return Ok(PgServer {
                    child,
                    addr,
                    admin_key,
                    lines,
                    _stdout: stdout,
                });
            }
            lines.push(line);
        }
    }

    /// SIGKILL (Child::kill on Unix).
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `zhiliang key create --store URL`; the key is the last line.
fn create_key(url: &str, org: &str, role: &str) -> String {
    let (ok, out, err) = run(&[
        "key", "create", "--store", url, "--org", org, "--role", role,
    ]);
    assert!(ok, "key create --store failed: {err}");
    out.lines().last().unwrap().trim().to_string()
}

// ---------------------------------------------------------------------------------------------
// The ledger: `Rng`, `Ledger`, `event`, `stored_events` and `check` are ledger.rs's; `client`
// differs: a 5xx answer is allowed (and counted as no answer: the commit may or may not have
// happened) once PostgreSQL has been crashed in the cycle, never before.

fn document(events: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "@context": [CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": "2025-01-01T00:00:00.000Z", "epcisBody": { "eventList": events }
    }))
    .unwrap()
}

/// What a client thread of one cycle needs.
struct ClientCtx {
    addr: String,
    key: String,
    thread: u64,
    seed: u64,
    cycle: u64,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    /// Set before PostgreSQL is crashed: from then on a 5xx is an acceptable answer.
    pg_crashed: Arc<AtomicBool>,
}

/// One client: sends documents until `stop`, recording every outcome in the ledger.
fn client(c: ClientCtx) {
    let (seed, thread, cycle) = (c.seed, c.thread, c.cycle);
    let mut rng = Rng(seed ^ (thread << 40) ^ (cycle << 20) ^ 0x5067);
    let mut n = 0u64;
    // This client's acknowledged documents (re-sent with the same key: exactly-once is per owner).
    let mut acked_docs: Vec<(Vec<u8>, usize)> = Vec::new();
    let server_error = |status: u16, body: &[u8]| {
        assert!(
            (500..600).contains(&status) && c.pg_crashed.load(Ordering::SeqCst),
            "seed {seed}: unexpected status {status} (PostgreSQL up): {}",
            String::from_utf8_lossy(body)
        );
    };
    while !c.stop.load(Ordering::Relaxed) {
        n += 1;
        let roll = rng.below(10);
        // 1 in 10: re-send an acknowledged document.
        if roll == 0 && !acked_docs.is_empty() {
            let (body, count) = acked_docs[rng.below(acked_docs.len() as u64) as usize].clone();
            let answer = http(
                &c.addr,
                "POST",
                "/epcis/capture",
                Some(&c.key),
                Some(("application/ld+json", &body)),
            );
            if let Ok(r) = answer {
                if r.status == 202 {
                    let job = r.json();
                    assert_eq!(job["eventsStored"], 0, "seed {seed}: re-send stored: {job}");
                    assert_eq!(job["eventsDuplicate"].as_u64(), Some(count as u64));
                } else {
                    server_error(r.status, &r.body);
                    c.ledger.lock().unwrap().server_errors += 1;
                }
            }
            continue;
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
            // The serial is unique per event (like the eventID), so no two events share content
            // (content twins are rightly deduplicated by hash; see ledger.rs).
            let serial = (thread * 1000 + cycle + 1) * 1_000_000_000 + n * 16 + i as u64;
            let mut e = event(&id, serial, rng.below(1440));
            if invalid && i == count - 1 {
                e["action"] = json!("SHIPPED");
            }
            hashes.push(epcis::hash::event_hash(&e, &json!([CONTEXT])).unwrap());
            ids.push(id);
            events.push(e);
        }
        let body = document(events);
        {
            let mut l = c.ledger.lock().unwrap();
            for (id, h) in ids.iter().zip(&hashes) {
                l.sent.insert(id.clone(), h.clone());
            }
        }
        let answer = http(
            &c.addr,
            "POST",
            "/epcis/capture",
            Some(&c.key),
            Some(("application/ld+json", &body)),
        );
        let mut l = c.ledger.lock().unwrap();
        match answer {
            Ok(r) if r.status == 202 => {
                assert!(
                    !invalid,
                    "seed {seed}: an invalid document was acknowledged"
                );
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
                    "seed {seed}: a valid document was rejected: {}",
                    String::from_utf8_lossy(&r.body)
                );
                l.rejected.extend(ids.iter().cloned());
            }
            Ok(r) => {
                server_error(r.status, &r.body);
                l.server_errors += 1;
                l.unanswered.push(ids);
                drop(l);
                // PostgreSQL is down: do not spin.
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => {
                l.unanswered.push(ids);
                drop(l);
                // The server is gone: do not spin until the cycle ends.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn event_list(body: &Value) -> &Vec<Value> {
    body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap_or_else(|| panic!("no eventList: {body}"))
}

/// The path of a `Link: <…>; rel="next"` header.
fn next_link(link: Option<&str>) -> Option<String> {
    link.map(|l| l[l.find('<').unwrap() + 1..l.find('>').unwrap()].to_string())
}

#[test]
fn kill_9_ledger_on_postgres_with_postgres_crashes() {
    // Its own cluster: this test crashes it.
    let cluster = match TempCluster::start() {
        Ok(c) => c,
        Err(reason) => return skip(&reason),
    };
    let url = cluster.create_database("ledger").unwrap();
    let seed: u64 = std::env::var("ZHILIANG_LEDGER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let cycles: u64 = std::env::var("ZHILIANG_PG_LEDGER_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    eprintln!(
        "kill -9 ledger on PostgreSQL: seed {seed} (replay with ZHILIANG_LEDGER_SEED={seed}), {cycles} cycles"
    );
    println!("kill -9 ledger on PostgreSQL: seed {seed}, {cycles} cycles");
    let began = Instant::now();
    let logs = TempDir::new("pg-ledger");
    let stderr = logs.path().join("serve.stderr");
    let start =
        || PgServer::start(&url, &[], &stderr).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let mut rng = Rng(seed);
    let first = start();
    assert!(
        first.lines.iter().any(|l| l.contains("postgres store at")),
        "the server says it runs on PostgreSQL: {:?}",
        first.lines
    );
    let admin = first
        .admin_key
        .clone()
        .expect("admin key on an empty database");
    let keys = [
        create_key(&url, "0614141000005", "enterprise"),
        create_key(&url, "4012345000009", "enterprise"),
    ];
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut server = Some(first);
    let (mut kills_at_start, mut pg_crashes, mut pg_restarts_under_server) = (0, 0, 0);
    for cycle in 0..cycles {
        // Sometimes kill during start-up (connecting, checking the schema), before it listens.
        if rng.below(4) == 0 {
            let mut child = spawn_serve(&url, &[], &stderr);
            std::thread::sleep(Duration::from_millis(rng.below(150)));
            let _ = child.kill();
            let _ = child.wait();
            kills_at_start += 1;
        }
        let s = server.take().unwrap_or_else(start);
        check(&s.addr, &admin, &ledger.lock().unwrap(), seed);
        let stop = Arc::new(AtomicBool::new(false));
        let pg_crashed = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let ctx = ClientCtx {
                    addr: s.addr.clone(),
                    key: keys[t as usize % 2].clone(),
                    thread: t,
                    seed,
                    cycle,
                    ledger: ledger.clone(),
                    stop: stop.clone(),
                    pg_crashed: pg_crashed.clone(),
                };
                std::thread::spawn(move || client(ctx))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + rng.below(1500)));
        // Every other cycle (and now and then another), PostgreSQL crashes under the server.
        let crash_pg = cycle % 2 == 1 || rng.below(4) == 0;
        let mut pg_down = false;
        if crash_pg {
            pg_crashed.store(true, Ordering::SeqCst);
            cluster.crash().expect("pg_ctl stop -m immediate");
            pg_crashes += 1;
            pg_down = true;
            std::thread::sleep(Duration::from_millis(rng.below(300)));
            // In cycle 1 and half the time after, PostgreSQL comes back while the server runs:
            // the server must find its way back to it (its connections are gone) before it is
            // killed.
            if cycle == 1 || rng.below(2) == 0 {
                cluster.start_server().expect("restart PostgreSQL");
                pg_down = false;
                pg_restarts_under_server += 1;
                let back = Instant::now();
                loop {
                    let r = http(
                        &s.addr,
                        "GET",
                        "/epcis/events?perPage=1",
                        Some(&admin),
                        None,
                    );
                    if r.as_ref().is_ok_and(|r| r.status == 200) {
                        break;
                    }
                    assert!(
                        back.elapsed() < Duration::from_secs(20),
                        "seed {seed}: the server does not answer from PostgreSQL after its restart"
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
                std::thread::sleep(Duration::from_millis(rng.below(800)));
            }
        }
        s.kill();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("client thread");
        }
        if pg_down {
            // Start it again: crash recovery replays the WAL.
            cluster.start_server().expect("restart PostgreSQL");
        }
    }
    let s = start();
    let l = ledger.lock().unwrap();
    check(&s.addr, &admin, &l, seed);
    println!(
        "kill -9 ledger on PostgreSQL: {cycles} cycles ({kills_at_start} killed during start-up, \
         {pg_crashes} PostgreSQL crashes, {pg_restarts_under_server} restarted under a running server), {} documents acknowledged, {} events acknowledged, {} rejected, \
         {} documents unanswered, {} 5xx while PostgreSQL was down; {:.1} s",
        l.acked_docs,
        l.acked.len(),
        l.rejected.len(),
        l.unanswered.len(),
        l.server_errors,
        began.elapsed().as_secs_f64()
    );
    assert!(l.acked.len() > 10, "seed {seed}: the clients got work done");
    assert!(pg_crashes >= cycles / 2, "PostgreSQL was crashed");
    // Neither SIGKILL nor an immediate stop drops the OS page cache, so the loop cannot catch a
    // missing fsync: check that the database runs with durable settings too.
    let store = store_postgres::PostgresStore::connect(&url, Default::default()).unwrap();
    let d = store.durability().unwrap();
    assert_eq!(
        (d.synchronous_commit.as_str(), d.fsync.as_str()),
        ("on", "on")
    );
}

// ---------------------------------------------------------------------------------------------
// Two servers on one database.

const TWO_DOCS: usize = 24;
const TWO_PER_DOC: usize = 25;

fn two_event_id(doc: usize, i: usize) -> String {
    format!("urn:uuid:00000000-0000-4000-8000-{doc:06x}{i:06x}")
}

/// Walk `path` to its end through `Link` headers, page k on `addrs[k % addrs.len()]`: the
/// eventIDs in page order, and the path of every page after the first.
fn walk(addrs: &[&str], key: &str, path: &str) -> (Vec<String>, Vec<String>) {
    let (mut ids, mut links) = (Vec::new(), Vec::new());
    let mut path = path.to_string();
    for page in 0.. {
        let addr = addrs[page % addrs.len()];
        let r = http(addr, "GET", &path, Some(key), None).unwrap();
        assert_eq!(
            r.status,
            200,
            "page {page} of {path} on {addr}: {}",
            String::from_utf8_lossy(&r.body)
        );
        ids.extend(
            event_list(&r.json())
                .iter()
                .map(|e| e["eventID"].as_str().unwrap().to_string()),
        );
        match next_link(r.header("link")) {
            Some(p) => {
                links.push(p.clone());
                path = p;
            }
            None => break,
        }
    }
    (ids, links)
}

/// Every page of `GET /epcis/capture`, page k on `addrs[k % addrs.len()]`: the captureIDs.
fn walk_jobs(addrs: &[&str], key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = "/epcis/capture?perPage=5".to_string();
    for page in 0.. {
        let addr = addrs[page % addrs.len()];
        let r = http(addr, "GET", &path, Some(key), None).unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        out.extend(
            r.json()
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["captureID"].as_str().unwrap().to_string()),
        );
        match next_link(r.header("link")) {
            Some(p) => path = p,
            None => break,
        }
    }
    out
}

#[test]
fn two_servers_on_one_database_capture_on_one_query_and_page_on_the_other() {
    let Some(c) = shared_cluster() else { return };
    let url = c.create_database("two_servers").unwrap();
    let logs = TempDir::new("pg-two");
    let a = PgServer::start(&url, &[], &logs.path().join("a.stderr")).unwrap();
    let b = PgServer::start(&url, &[], &logs.path().join("b.stderr")).unwrap();
    let admin = a.admin_key.clone().expect("admin key on an empty database");
    assert!(
        b.admin_key.is_none(),
        "the second server finds the admin key of the first: {:?}",
        b.lines
    );
    let key = create_key(&url, "0614141000005", "enterprise");
    let other = create_key(&url, "4012345000009", "enterprise");
    let all_ids: BTreeSet<String> = (0..TWO_DOCS)
        .flat_map(|d| (0..TWO_PER_DOC).map(move |i| two_event_id(d, i)))
        .collect();
    // (job location, eventIDs) of every document acknowledged by A.
    let acked: Mutex<Vec<(String, Vec<String>)>> = Mutex::new(Vec::new());
    let done = AtomicBool::new(false);
    let query = "/epcis/events?EQ_bizStep=shipping&perPage=7";
    std::thread::scope(|sc| {
        sc.spawn(|| {
            for d in 0..TWO_DOCS {
                let ids: Vec<String> = (0..TWO_PER_DOC).map(|i| two_event_id(d, i)).collect();
                let events = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| event(id, (d * 1000 + i) as u64, (d * 37 + i * 11) as u64))
                    .collect();
                let body = document(events);
                let r = http(
                    &a.addr,
                    "POST",
                    "/epcis/capture",
                    Some(&key),
                    Some(("application/ld+json", &body)),
                )
                .unwrap();
                assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
                assert_eq!(r.json()["eventsStored"].as_u64(), Some(TWO_PER_DOC as u64));
                let loc = r.header("location").expect("Location").to_string();
                acked.lock().unwrap().push((loc, ids));
            }
            done.store(true, Ordering::SeqCst);
        });
        // Readers on B (one pages wholly on B, one alternates B, A, B, …) while A captures.
        for reader in 0..2 {
            let (a, b, key, acked, done, all_ids) = (&a, &b, &key, &acked, &done, &all_ids);
            sc.spawn(move || {
                let addrs: Vec<&str> = if reader == 0 {
                    vec![&b.addr]
                } else {
                    vec![&b.addr, &a.addr]
                };
                let (mut walks, mut jobs_checked) = (0, 0);
                while !done.load(Ordering::SeqCst) || walks < 2 {
                    walks += 1;
                    let before: Vec<(String, Vec<String>)> = acked.lock().unwrap().clone();
                    let (ids, _) = walk(&addrs, key, query);
                    let got: BTreeSet<&String> = ids.iter().collect();
                    assert_eq!(
                        got.len(),
                        ids.len(),
                        "reader {reader}: an event on two pages"
                    );
                    for id in &ids {
                        assert!(all_ids.contains(id), "reader {reader}: {id} never sent");
                    }
                    // One page is one snapshot: whole documents only. (A walk over several
                    // pages may see part of a document committed while it walks.)
                    let (one, links) = walk(&addrs[..1], key, "/epcis/events?perPage=10000");
                    assert!(links.is_empty());
                    let one: BTreeSet<&String> = one.iter().collect();
                    for d in 0..TWO_DOCS {
                        let n = (0..TWO_PER_DOC)
                            .filter(|i| one.contains(&two_event_id(d, *i)))
                            .count();
                        assert!(
                            n == 0 || n == TWO_PER_DOC,
                            "reader {reader}: {n} of {TWO_PER_DOC} events of document {d}"
                        );
                    }
                    // Every document acknowledged before the walk, on its pages.
                    for (_, doc) in &before {
                        assert!(
                            doc.iter().all(|id| got.contains(id)),
                            "reader {reader}: a document acknowledged before the walk is missing"
                        );
                    }
                    // Jobs acknowledged by A are visible on B, as A reported them.
                    for (loc, _) in &before[jobs_checked..] {
                        let r = http(&b.addr, "GET", loc, Some(key), None).unwrap();
                        assert_eq!(
                            r.status,
                            200,
                            "{loc} on B: {}",
                            String::from_utf8_lossy(&r.body)
                        );
                        let job = r.json();
                        assert_eq!(job["success"], true, "{job}");
                        assert_eq!(job["eventsStored"].as_u64(), Some(TWO_PER_DOC as u64));
                        assert_eq!(
                            Some(job["captureID"].as_str().unwrap()),
                            loc.rsplit('/').next()
                        );
                    }
                    jobs_checked = before.len();
                }
            });
        }
    });
    let acked = acked.into_inner().unwrap();
    // Everything, through B.
    let (on_b, _) = walk(&[&b.addr], &key, query);
    assert_eq!(on_b.iter().cloned().collect::<BTreeSet<_>>(), all_ids);
    assert_eq!(on_b.len(), all_ids.len());
    // Every token A hands out gives the same page on B.
    let (on_a, links) = walk(&[&a.addr], &key, query);
    assert_eq!(
        on_a, on_b,
        "the same query gives the same order on both servers"
    );
    assert!(links.len() >= 10, "{} pages", links.len() + 1);
    for link in &links {
        assert!(link.contains("nextPageToken="), "{link}");
        let page = |addr: &str| {
            let r = http(addr, "GET", link, Some(&key), None).unwrap();
            assert_eq!(
                r.status,
                200,
                "{link} on {addr}: {}",
                String::from_utf8_lossy(&r.body)
            );
            (r.json(), r.header("link").map(str::to_string))
        };
        let ((body_a, next_a), (body_b, next_b)) = (page(&a.addr), page(&b.addr));
        assert_eq!(event_list(&body_a), event_list(&body_b), "{link}");
        assert_eq!(next_a.is_some(), next_b.is_some(), "{link}");
        // A token is bound to its organisation, on every server.
        let r = http(&b.addr, "GET", link, Some(&other), None).unwrap();
        assert_eq!(r.status, 400, "another organisation's token on B");
    }
    // Capture jobs: A's job list, paged alternately on B and A, holds exactly A's jobs.
    let locations: BTreeSet<String> = acked
        .iter()
        .map(|(l, _)| l.rsplit('/').next().unwrap().to_string())
        .collect();
    let jobs = walk_jobs(&[&b.addr, &a.addr], &key);
    assert_eq!(jobs.len(), TWO_DOCS, "{jobs:?}");
    assert_eq!(jobs.into_iter().collect::<BTreeSet<_>>(), locations);
    // Another organisation sees none of it on B, and the admin sees all of it on B.
    let (loc, _) = &acked[0];
    let r = http(&b.addr, "GET", loc, Some(&other), None).unwrap();
    assert_eq!(r.status, 404, "another organisation's job");
    assert!(walk_jobs(&[&b.addr], &other).is_empty());
    assert!(walk(&[&b.addr], &other, query).0.is_empty());
    assert_eq!(walk(&[&b.addr], &admin, query).0.len(), all_ids.len());
}

// ---------------------------------------------------------------------------------------------
// Keys and start-up.

#[test]
fn key_create_with_a_store_url_authenticates_on_a_server() {
    let Some(c) = shared_cluster() else { return };
    let url = c.create_database("keys").unwrap();
    // Before any server ran: `key create` brings the schema up by itself.
    let ent = create_key(&url, "0614141000005", "enterprise");
    assert!(ent.len() >= 20, "{ent}");
    let logs = TempDir::new("pg-keys");
    let s = PgServer::start(&url, &[], &logs.path().join("serve.stderr")).unwrap();
    let get = |key: Option<&str>| {
        http(&s.addr, "GET", "/epcis/events", key, None)
            .unwrap()
            .status
    };
    assert_eq!(get(None), 401);
    assert_eq!(get(Some("zl_not_a_key")), 401);
    assert_eq!(get(Some(&ent)), 200);
    let body = document(vec![
        event(&two_event_id(900, 0), 1, 1),
        event(&two_event_id(900, 1), 2, 2),
    ]);
    let r = http(
        &s.addr,
        "POST",
        "/epcis/capture",
        Some(&ent),
        Some(("application/ld+json", &body)),
    )
    .unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    // Keys created while the server runs work at once: they live in the database.
    let regulator = create_key(&url, "0614141000012", "regulator");
    let stranger = create_key(&url, "4012345000009", "enterprise");
    let count = |key: &str| {
        let r = http(&s.addr, "GET", "/epcis/events", Some(key), None).unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        event_list(&r.json()).len()
    };
    assert_eq!(count(&ent), 2);
    assert_eq!(count(&regulator), 2);
    assert_eq!(count(&stranger), 0);
    // An unknown role is refused, naming it.
    let (ok, _, err) = run(&[
        "key",
        "create",
        "--store",
        &url,
        "--org",
        "0614141000005",
        "--role",
        "emperor",
    ]);
    assert!(!ok && err.contains("emperor"), "{err}");
}

#[test]
fn start_up_refuses_synchronous_commit_off_unless_allowed() {
    let Some(c) = shared_cluster() else { return };
    let url = c.create_database("async").unwrap();
    c.admin(&format!(
        "ALTER DATABASE {} SET synchronous_commit = off",
        db_name(&url)
    ))
    .unwrap();
    let logs = TempDir::new("pg-async");
    let stderr = logs.path().join("refused.stderr");
    if let Ok(s) = PgServer::start(&url, &[], &stderr) {
        panic!("serve started on synchronous_commit=off: {:?}", s.lines);
    }
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        err.contains("zhiliang: error") && err.contains("synchronous_commit"),
        "the error names the setting: {err}"
    );
    // ... and how to allow it explicitly.
    assert!(err.contains("allow") && err.contains("async"), "{err}");
    // Every subcommand that opens the store refuses the same way.
    let (ok, _, err) = run(&[
        "key",
        "create",
        "--store",
        &url,
        "--org",
        "0614141000005",
        "--role",
        "enterprise",
    ]);
    assert!(!ok && err.contains("synchronous_commit"), "{err}");
    // Told explicitly, it runs.
    let s = PgServer::start(
        &url,
        &["--allow-async-commit"],
        &logs.path().join("allowed.stderr"),
    )
    .unwrap_or_else(|e| panic!("--allow-async-commit: {e}"));
    let admin = s.admin_key.clone().expect("admin key");
    let r = http(&s.addr, "GET", "/epcis/events", Some(&admin), None).unwrap();
    assert_eq!(r.status, 200);
    // The durable default is accepted without the flag.
    let durable = c.create_database("durable").unwrap();
    PgServer::start(&durable, &[], &logs.path().join("durable.stderr"))
        .unwrap_or_else(|e| panic!("durable database refused: {e}"));
}
