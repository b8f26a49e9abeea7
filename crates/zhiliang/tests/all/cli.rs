//! The command line: serve's first admin key, key create/revoke, hash against the reference
//! vectors, demo generate, capture and query.

use crate::common::*;

const HASH_VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference-data/epcis-event-hash-generator/tests/examples"
);

#[test]
fn serve_on_an_empty_store_prints_an_admin_key_once() {
    let dir = TempDir::new("serve");
    let s = Server::start(dir.path());
    let admin = s.admin_key.clone().expect("an admin key on an empty store");
    assert!(
        s.lines.iter().any(|l| l.contains("shown only once")),
        "{:?}",
        s.lines
    );
    assert_eq!(
        http(&s.addr, "GET", "/epcis/events", Some(&admin), None)
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        http(&s.addr, "GET", "/epcis/events", None, None)
            .unwrap()
            .status,
        401
    );
    let health = http(&s.addr, "GET", "/health", None, None).unwrap();
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["backend"], "sqlite");
    s.kill();
    let s = Server::start(dir.path());
    assert!(
        s.admin_key.is_none(),
        "the admin key is printed only on the first start: {:?}",
        s.lines
    );
    assert!(s.lines.iter().all(|l| !l.contains(&admin)));
    assert_eq!(
        http(&s.addr, "GET", "/epcis/events", Some(&admin), None)
            .unwrap()
            .status,
        200
    );
}

#[test]
fn key_create_prints_the_key_last_and_revoke_ends_it() {
    let dir = TempDir::new("key");
    let s = Server::start(dir.path());
    let (ok, out, _) = run(&[
        "key",
        "create",
        "--data",
        dir.path().to_str().unwrap(),
        "--org",
        "0614141000005",
        "--role",
        "enterprise",
    ]);
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 2, "an explanation, then the key: {out}");
    let key = lines.last().unwrap().trim();
    assert!(
        !key.contains(' ') && key.len() >= 32,
        "the last line is the key alone: {key:?}"
    );
    assert_eq!(
        http(&s.addr, "GET", "/epcis/events", Some(key), None)
            .unwrap()
            .status,
        200
    );
    let key_id = lines[0].split_whitespace().nth(2).unwrap();
    let (ok, _, err) = run(&[
        "key",
        "revoke",
        "--data",
        dir.path().to_str().unwrap(),
        "--id",
        key_id,
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        http(&s.addr, "GET", "/epcis/events", Some(key), None)
            .unwrap()
            .status,
        401
    );
    // Bad input is refused naming the rule.
    let (ok, _, err) = run(&[
        "key",
        "create",
        "--data",
        dir.path().to_str().unwrap(),
        "--org",
        "x",
        "--role",
        "king",
    ]);
    assert!(!ok && err.contains("role must be one of"), "{err}");
}

#[test]
fn hash_prints_the_reference_hashes_of_every_json_and_xml_example() {
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(HASH_VECTORS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "jsonld" && ext != "xml" {
            continue;
        }
        let expected_file = path.with_extension("hashes");
        let Ok(expected) = std::fs::read_to_string(&expected_file) else {
            continue;
        };
        let expected: Vec<&str> = expected
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let (ok, out, err) = run(&["hash", path.to_str().unwrap()]);
        assert!(ok, "{}: {err}", path.display());
        let got: Vec<&str> = out.lines().collect();
        assert_eq!(got, expected, "{}", path.display());
        checked += 1;
    }
    println!("zhiliang hash matched the reference hashes of {checked} documents");
    // The reference set holds 39 JSON-LD and XML documents with a `.hashes` file.
    assert_eq!(checked, 39, "documents checked");
}

#[test]
fn demo_generate_capture_and_query() {
    let dir = TempDir::new("cli");
    let a = dir.path().join("a.jsonld");
    let b = dir.path().join("b.jsonld");
    for f in [&a, &b] {
        let (ok, _, err) = run(&[
            "demo",
            "generate",
            "--events",
            "300",
            "--out",
            f.to_str().unwrap(),
            "--seed",
            "7",
        ]);
        assert!(ok, "{err}");
    }
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "deterministic from the seed"
    );
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let (ok, out, err) = run(&[
        "capture",
        "--data",
        data,
        "--org",
        "demo",
        a.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let count = |q: &str| -> usize {
        let (ok, out, err) = run(&["query", "--data", data, q]);
        assert!(ok, "{err}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["type"], "EPCISQueryDocument");
        doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(""), 300);
    // Capturing the same file again stores nothing new; an invalid document stores nothing.
    let (ok, out, _) = run(&[
        "capture",
        "--data",
        data,
        "--org",
        "demo",
        b.to_str().unwrap(),
    ]);
    assert!(ok);
    assert!(out.contains("0 stored, 300 already stored"), "{out}");
    let bad = dir.path().join("bad.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    doc["epcisBody"]["eventList"][299]["eventTime"] = serde_json::json!("yesterday");
    doc["epcisBody"]["eventList"][0]["eventID"] =
        serde_json::json!("urn:uuid:6e1f1f54-6f6b-4c59-9bbf-000000000001");
    std::fs::write(&bad, doc.to_string()).unwrap();
    let (ok, out, err) = run(&[
        "capture",
        "--data",
        data,
        "--org",
        "demo",
        bad.to_str().unwrap(),
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("/epcisBody/eventList/299/eventTime"),
        "the field is named: {out}{err}"
    );
    assert_eq!(count(""), 300);
    assert_eq!(
        count("EQ_eventID=urn:uuid:6e1f1f54-6f6b-4c59-9bbf-000000000001"),
        0
    );
    // A query on one bizStep returns exactly the events with it.
    let all: serde_json::Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    let shipping = all["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            let s = e["bizStep"].as_str().unwrap_or("");
            s == "shipping" || s == "https://ref.gs1.org/cbv/BizStep-shipping"
        })
        .count();
    assert!(shipping > 0);
    assert_eq!(count("EQ_bizStep=shipping"), shipping);
}

#[test]
fn serve_demo_fills_an_empty_store_once() {
    let dir = TempDir::new("demo");
    let mut child = std::process::Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            dir.path().to_str().unwrap(),
            "--demo",
            "--demo-events",
            "400",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let (mut admin, mut addr) = (None, None);
    let mut lines = Vec::new();
    while addr.is_none() {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut out, &mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(k) = line.trim().strip_prefix("admin key: ") {
            admin = Some(k.to_string());
        }
        if let Some(a) = line.trim().strip_prefix("listening on http://") {
            addr = Some(a.to_string());
        }
        lines.push(line);
    }
    let (admin, addr) = (admin.unwrap(), addr.unwrap_or_else(|| panic!("{lines:?}")));
    assert!(
        lines.iter().any(|l| l.contains("captured 400 events")),
        "{lines:?}"
    );
    let r = http(
        &addr,
        "GET",
        "/epcis/events?perPage=1000",
        Some(&admin),
        None,
    )
    .unwrap();
    let n = r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(n, 400);
    let home = http(&addr, "GET", "/", Some(&admin), None).unwrap();
    assert!(String::from_utf8_lossy(&home.body).contains("<strong>400</strong>"));
    let _ = child.kill();
    let _ = child.wait();
}
