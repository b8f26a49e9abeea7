//! Durable capture over HTTP: `zhiliang serve` (the real binary, embedded store) receiving
//! `zhiliang demo` documents on `POST /epcis/capture` from concurrent clients (issue 2).
//!
//! ```text
//! ZL_BENCH_EVENTS=1000000 cargo bench -p zhiliang --bench capture_http
//! ```
//! Environment: `ZL_BENCH_EVENTS` (default 200000), `ZL_BENCH_DOC` (events per document, default
//! 20000: a document must stay under the 32 MiB `GS1-EPCIS-Capture-File-Size-Limit`),
//! `ZL_BENCH_CLIENTS` (concurrent clients, default 2), `ZL_BENCH_DIR` (data directory, default a
//! fresh temp dir, removed at the end).
//!
//! The documents are generated and serialised before the clock starts, so the figure is what the
//! server does: read the body, parse, validate against the EPCIS 2.0 schema, hash, index, store
//! and commit (`202 Accepted` is sent only after the commit). Each job is then read back to check
//! that it succeeded and stored every event.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_zhiliang");

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// CPU seconds used so far by a process (utime + stime from /proc/PID/stat).
fn cpu_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    (num(11) + num(12)) as f64 / 100.0
}

/// One HTTP/1.1 request (`Connection: close`): (status, headers, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    key: &str,
    body: Option<&[u8]>,
) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(600)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {key}\r\n"
    );
    match body {
        Some(b) => req.push_str(&format!(
            "Content-Type: application/ld+json\r\nContent-Length: {}\r\n\r\n",
            b.len()
        )),
        None => req.push_str("\r\n"),
    }
    s.write_all(req.as_bytes())?;
    if let Some(b) = body {
        s.write_all(b)?;
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    Ok((status, head, raw[split + 4..].to_vec()))
}

fn main() {
    let n = env_usize("ZL_BENCH_EVENTS", 200_000);
    let per_doc = env_usize("ZL_BENCH_DOC", 20_000).max(1);
    let clients = env_usize("ZL_BENCH_CLIENTS", 2).max(1);
    let (dir, remove) = match std::env::var("ZL_BENCH_DIR") {
        Ok(d) => (std::path::PathBuf::from(d), false),
        Err(_) => (
            std::env::temp_dir().join(format!("zl-bench-http-{}", std::process::id())),
            true,
        ),
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("data dir");
    let data = dir.to_str().expect("utf-8 path");

    // The documents, serialised up front.
    let t = Instant::now();
    let cfg = demo::DemoConfig::new(n, 42, 1_700_000_000_000);
    let mut docs: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut batch = Vec::with_capacity(per_doc);
    let mut raw_bytes = 0usize;
    let flush = |batch: &mut Vec<serde_json::Value>, docs: &mut Vec<(usize, Vec<u8>)>| {
        if batch.is_empty() {
            return;
        }
        let events = std::mem::take(batch);
        let len = events.len();
        let doc = serde_json::json!({
            "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-26T00:00:00Z",
            "epcisBody": { "eventList": events }
        });
        let bytes = serde_json::to_vec(&doc).expect("serialise");
        docs.push((len, bytes));
    };
    for e in demo::generate(&cfg) {
        batch.push(e);
        if batch.len() == per_doc {
            flush(&mut batch, &mut docs);
        }
    }
    flush(&mut batch, &mut docs);
    for (_, d) in &docs {
        raw_bytes += d.len();
    }
    eprintln!(
        "{} documents of up to {per_doc} events ({raw_bytes} bytes) prepared in {:.1} s",
        docs.len(),
        t.elapsed().as_secs_f64()
    );

    // A key, then the server.
    let out = Command::new(BIN)
        .args([
            "key",
            "create",
            "--data",
            data,
            "--org",
            "bench-org",
            "--role",
            "enterprise",
        ])
        .env_remove("ZHILIANG_STORE")
        .output()
        .expect("key create");
    assert!(out.status.success(), "key create failed");
    let key = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .expect("a key")
        .trim()
        .to_string();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        .env_remove("ZHILIANG_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let addr = loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            panic!("the server exited before listening");
        }
        if let Some(a) = line.trim().strip_prefix("listening on http://") {
            break a.to_string();
        }
    };

    let queue = Mutex::new(docs.into_iter().enumerate().collect::<Vec<_>>());
    let cpu0 = cpu_of(pid);
    let t = Instant::now();
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                sc.spawn(|| {
                    let mut events = 0usize;
                    let mut jobs = Vec::new();
                    loop {
                        let next = queue.lock().expect("queue").pop();
                        let Some((_, (len, body))) = next else { break };
                        let (status, head, resp) =
                            http(&addr, "POST", "/epcis/capture", &key, Some(&body))
                                .expect("capture request");
                        assert_eq!(status, 202, "{}", String::from_utf8_lossy(&resp));
                        let loc = head
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("Location:")
                                    .or_else(|| l.strip_prefix("location:"))
                            })
                            .expect("Location")
                            .trim()
                            .to_string();
                        jobs.push(loc);
                        events += len;
                    }
                    (events, jobs)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    let wall = t.elapsed();
    let cpu = cpu_of(pid) - cpu0;
    let events: usize = results.iter().map(|r| r.0).sum();
    // Every job says success and stored its events.
    let mut stored = 0u64;
    for loc in results.iter().flat_map(|r| r.1.iter()) {
        let (status, _, body) = http(&addr, "GET", loc, &key, None).expect("job");
        assert_eq!(status, 200);
        let job: serde_json::Value = serde_json::from_slice(&body).expect("job json");
        assert_eq!(job["success"], true, "{job}");
        stored += job["eventsStored"].as_u64().unwrap_or(0);
    }
    let _ = child.kill();
    let _ = child.wait();
    let size = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum::<u64>()
        })
        .unwrap_or(0);
    println!(
        "capture over HTTP: {events} events in {} documents of {per_doc}, {clients} clients",
        events.div_ceil(per_doc)
    );
    println!(
        "durable capture over HTTP: {:.1} s = {:.0} events/s ({:.1} MB/s of JSON); server CPU {:.1} s = {:.0} events per CPU-second (load average at the end: {})",
        wall.as_secs_f64(),
        events as f64 / wall.as_secs_f64(),
        raw_bytes as f64 / wall.as_secs_f64() / 1e6,
        cpu,
        events as f64 / cpu.max(0.001),
        load_average()
    );
    println!(
        "jobs report {stored} events stored; data directory {size} bytes ({:.3}x the documents)",
        size as f64 / raw_bytes.max(1) as f64
    );
    if remove {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
