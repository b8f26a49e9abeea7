//! The CBV 2.0 event hash against the reference implementation's vectors
//! (`../shared/reference-data/epcis-event-hash-generator/tests/`): every expected pre-hash string
//! and hash of `examples/` (JSON inputs directly, XML inputs through `epcis::xml`), every
//! "must hash equal" set of `expected_equal/`, and properties (key order does not matter, any
//! change of a value changes the hash).

use epcis::hash::{
    HashError, Hasher, document_hashes, document_prehashes, event_hash, ni_uri, prehash,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference-data/epcis-event-hash-generator/tests"
);

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some(ext))
        .collect();
    out.sort();
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Non-empty lines of a `.hashes` / `.prehashes` file, if it exists.
fn lines(p: &Path) -> Option<Vec<String>> {
    p.exists().then(|| {
        read(p)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

fn document_from(p: &Path) -> Result<Value, String> {
    let text = read(p);
    match p.extension().and_then(|x| x.to_str()) {
        Some("xml") => epcis::xml::xml_to_json_document(&text).map_err(|e| format!("XML: {e}")),
        _ => serde_json::from_str(&text).map_err(|e| format!("JSON: {e}")),
    }
}

#[derive(Default, Debug)]
struct Tally {
    hashes: usize,
    hashes_ok: usize,
    /// Expected hashes of inputs the XML codec cannot convert yet (not failures of the hash).
    pending_xml: Vec<String>,
    pending_hashes: usize,
    prehashes_ok: usize,
    /// Expected pre-hash lines that do not hash to their own expected hash (broken vectors).
    prehashes_inconsistent: Vec<String>,
    failures: Vec<String>,
}

/// Compare the events of `input` with `name.hashes` / `name.prehashes`.
fn check_example(input: &Path, tally: &mut Tally) {
    let stem = input.with_extension("");
    let Some(hashes) = lines(&stem.with_extension("hashes")) else {
        return;
    };
    let prehashes = lines(&stem.with_extension("prehashes")).unwrap_or_default();
    let label = input.file_name().unwrap().to_string_lossy().into_owned();
    tally.hashes += hashes.len();
    let is_xml = input.extension().and_then(|x| x.to_str()) == Some("xml");
    let doc = match document_from(input) {
        Ok(d) => d,
        Err(e) if is_xml => {
            tally.pending_xml.push(format!("{label}: {e}"));
            tally.pending_hashes += hashes.len();
            return;
        }
        Err(e) => {
            tally.failures.push(format!("{label}: {e}"));
            return;
        }
    };
    let (ours, our_pre) = match (document_hashes(&doc), document_prehashes(&doc)) {
        (Ok(h), Ok(p)) => (h, p),
        (Err(HashError::NoEventList), _) if is_xml => {
            tally
                .pending_xml
                .push(format!("{label}: the converted document has no event list"));
            tally.pending_hashes += hashes.len();
            return;
        }
        (Err(e), _) | (_, Err(e)) => {
            tally.failures.push(format!("{label}: {e}"));
            return;
        }
    };
    if ours.len() != hashes.len() {
        tally.failures.push(format!(
            "{label}: {} events, {} expected hashes",
            ours.len(),
            hashes.len()
        ));
    }
    for (i, expected) in hashes.iter().enumerate() {
        let Some(got) = ours.get(i) else { continue };
        assert_eq!(
            got,
            &ni_uri(&our_pre[i]),
            "{label}#{i}: hash is the digest of the pre-hash"
        );
        if got == expected {
            tally.hashes_ok += 1;
        } else {
            tally
                .failures
                .push(format!("{label}#{i}: hash {got}, expected {expected}"));
        }
        if let Some(pre) = prehashes.get(i) {
            if ni_uri(pre) != *expected {
                tally.prehashes_inconsistent.push(format!("{label}#{i}"));
            } else if *pre == our_pre[i] {
                tally.prehashes_ok += 1;
            } else {
                tally.failures.push(format!(
                    "{label}#{i}: pre-hash\n  ours     {}\n  expected {pre}",
                    our_pre[i]
                ));
            }
        }
    }
}

#[test]
fn reference_vectors_json() {
    let mut tally = Tally::default();
    for input in files(&format!("{VECTORS}/examples"), "jsonld") {
        check_example(&input, &mut tally);
    }
    println!(
        "hash vectors (JSON inputs): {}/{} hashes equal, {} pre-hash strings equal, \
         {} expected pre-hash lines inconsistent with their own hash (skipped): {:?}",
        tally.hashes_ok,
        tally.hashes,
        tally.prehashes_ok,
        tally.prehashes_inconsistent.len(),
        tally.prehashes_inconsistent
    );
    assert!(tally.failures.is_empty(), "{}", tally.failures.join("\n"));
    assert_eq!(tally.hashes_ok, tally.hashes);
    assert!(
        tally.hashes >= 40,
        "the JSON examples hold 43 expected hashes, found {}",
        tally.hashes
    );
}

#[test]
fn reference_vectors_xml() {
    let mut tally = Tally::default();
    let mut xml_only = 0;
    for input in files(&format!("{VECTORS}/examples"), "xml") {
        if !input.with_extension("jsonld").exists() {
            xml_only += lines(&input.with_extension("hashes")).map_or(0, |h| h.len());
        }
        check_example(&input, &mut tally);
    }
    println!(
        "hash vectors (XML inputs via epcis::xml): {}/{} hashes equal ({} expected hashes exist \
         only in XML), {} pre-hash strings equal; {} hashes pending XML codec:",
        tally.hashes_ok, tally.hashes, xml_only, tally.prehashes_ok, tally.pending_hashes
    );
    for p in &tally.pending_xml {
        println!("  pending XML codec: {p}");
    }
    assert!(tally.failures.is_empty(), "{}", tally.failures.join("\n"));
    assert_eq!(tally.hashes_ok + tally.pending_hashes, tally.hashes);
    assert!(
        tally.hashes_ok >= 30,
        "{} XML hashes equal",
        tally.hashes_ok
    );
}

#[test]
fn every_expected_hash_is_counted() {
    // The issue counts 63 expected hashes in the data: the JSON and the XML-only examples.
    let mut total = 0;
    for p in files(&format!("{VECTORS}/examples"), "hashes") {
        total += lines(&p).unwrap().len();
    }
    assert_eq!(total, 63);
}

#[test]
fn expected_equal_sets_hash_equal() {
    let mut sets = 0;
    let mut equal = 0;
    let mut failures = Vec::new();
    let dir = format!("{VECTORS}/expected_equal");
    let inputs: Vec<PathBuf> = files(&dir, "json")
        .into_iter()
        .chain(files(&dir, "xml"))
        .collect();
    for input in &inputs {
        sets += 1;
        let label = input.file_name().unwrap().to_string_lossy().into_owned();
        let hashes =
            document_from(input).and_then(|d| document_hashes(&d).map_err(|e| e.to_string()));
        match hashes {
            Ok(h) if h.len() >= 2 && h.iter().all(|x| *x == h[0]) => equal += 1,
            Ok(h) => {
                let pre = document_from(input)
                    .ok()
                    .and_then(|d| document_prehashes(&d).ok());
                failures.push(format!(
                    "{label}: {} events, hashes differ: {pre:#?}",
                    h.len()
                ))
            }
            Err(e) => failures.push(format!("{label}: {e}")),
        }
    }
    println!("must-hash-equal sets: {equal}/{sets} hash equal");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(sets, 11);
}

/// The same event in JSON and in XML hashes the same (the examples that come in both forms).
#[test]
fn json_and_xml_forms_hash_equal() {
    let mut pairs = 0;
    for xml in files(&format!("{VECTORS}/examples"), "xml") {
        let json = xml.with_extension("jsonld");
        if !json.exists() {
            continue;
        }
        let a = document_hashes(&document_from(&json).unwrap()).unwrap();
        let b = document_hashes(&document_from(&xml).unwrap()).unwrap();
        assert_eq!(a, b, "{}", xml.display());
        pairs += 1;
    }
    assert!(pairs >= 10, "{pairs}");
}

fn reference_event() -> (Value, Value) {
    let doc: Value = serde_json::from_str(&read(
        &Path::new(VECTORS).join("examples/ReferenceEventHashAlgorithm3.jsonld"),
    ))
    .unwrap();
    (
        doc["epcisBody"]["eventList"][0].clone(),
        doc["@context"].clone(),
    )
}

#[test]
fn single_event_api_matches_document_api() {
    let (event, ctx) = reference_event();
    let expected =
        lines(&Path::new(VECTORS).join("examples/ReferenceEventHashAlgorithm3.hashes")).unwrap();
    assert_eq!(event_hash(&event, &ctx).unwrap(), expected[0]);
    assert_eq!(ni_uri(&prehash(&event, &ctx).unwrap()), expected[0]);
    // Without the context the extension prefix stays unexpanded: a different hash.
    assert_ne!(event_hash(&event, &Value::Null).unwrap(), expected[0]);
    // The same context given inside the event works as well.
    let mut inline = event.clone();
    inline
        .as_object_mut()
        .unwrap()
        .insert("@context".into(), ctx.clone());
    assert_eq!(event_hash(&inline, &Value::Null).unwrap(), expected[0]);
}

/// A reused `Hasher` (buffers, identifier cache) gives what a fresh one gives, event by event.
#[test]
fn a_reused_hasher_hashes_as_a_fresh_one() {
    let path = Path::new(VECTORS).join("examples/epcisDocWithVariousEventTypes.jsonld");
    let doc: Value = serde_json::from_str(&read(&path)).unwrap();
    let ctx = &doc["@context"];
    let events = doc["epcisBody"]["eventList"].as_array().unwrap();
    let shared = Hasher::new(ctx);
    for round in 0..3 {
        for e in events.iter().rev() {
            assert_eq!(
                shared.event_hash(e).unwrap(),
                event_hash(e, ctx).unwrap(),
                "round {round}"
            );
        }
    }
}

#[test]
fn ignored_fields_and_bookkeeping_do_not_count() {
    let (event, ctx) = reference_event();
    let h = event_hash(&event, &ctx).unwrap();
    let mut e = event.clone();
    let o = e.as_object_mut().unwrap();
    o.insert("eventID".into(), json!("urn:uuid:1"));
    o.insert("recordTime".into(), json!("2024-01-01T00:00:00Z"));
    o.insert("rdfs:comment".into(), json!("a comment"));
    o.insert(
        "errorDeclaration".into(),
        json!({"declarationTime": "2024-01-01T00:00:00Z", "reason": "incorrect_data"}),
    );
    assert_eq!(event_hash(&e, &ctx).unwrap(), h);
    e.as_object_mut()
        .unwrap()
        .insert("example:captureID".into(), json!("x"));
    assert_ne!(event_hash(&e, &ctx).unwrap(), h);
    let hasher = Hasher::new(&ctx).with_ignored_fields(["example:captureID"]);
    assert_eq!(hasher.event_hash(&e).unwrap(), h);
}

/// EPC URI and Digital Link of one object hash alike; a Digital Link's domain, query string and
/// coarser key qualifiers (lot beside serial) do not count, its serial does.
#[test]
fn identifiers_count_by_their_canonical_digital_link() {
    let event = |epc: &str| {
        json!({"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z",
               "eventTimeZoneOffset": "+00:00", "epcList": [epc], "action": "OBSERVE"})
    };
    let h = |epc: &str| event_hash(&event(epc), &Value::Null).unwrap();
    let urn = h("urn:epc:id:sgtin:4012345.011111.987");
    assert_eq!(h("https://id.gs1.org/01/04012345111118/21/987"), urn);
    assert_eq!(
        h("https://example.com/shop/01/04012345111118/10/L1/21/987?x=1"),
        urn
    );
    assert_ne!(h("https://id.gs1.org/01/04012345111118/21/988"), urn);
}

#[test]
fn errors_name_the_field() {
    let ctx = Value::Null;
    assert_eq!(
        event_hash(&json!([1]), &ctx).unwrap_err().to_string(),
        "event: must be a JSON object"
    );
    assert!(
        event_hash(&json!({"eventTime": "x"}), &ctx)
            .unwrap_err()
            .to_string()
            .starts_with("type:")
    );
    let mut deep = json!("x");
    for _ in 0..100 {
        deep = json!({ "example:n": deep });
    }
    let e = json!({"type": "ObjectEvent", "example:n": deep});
    assert!(
        event_hash(&e, &ctx)
            .unwrap_err()
            .to_string()
            .contains("nested deeper")
    );
    assert!(
        document_hashes(&json!({"epcisBody": {}}))
            .unwrap_err()
            .to_string()
            .starts_with("epcisBody:")
    );
}

/// Rebuild a JSON value with the keys of every object in an order given by `perm`.
fn reorder(v: &Value, perm: &mut impl FnMut(usize) -> usize) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            let n = entries.len();
            for i in (1..n).rev() {
                entries.swap(i, perm(i + 1) % (i + 1));
            }
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k.clone(), reorder(v, perm));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| reorder(x, perm)).collect()),
        other => other.clone(),
    }
}

fn all_json_events() -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    for p in files(&format!("{VECTORS}/examples"), "jsonld") {
        let doc: Value = serde_json::from_str(&read(&p)).unwrap();
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The order of keys in the JSON (at every level) does not change the hash; the order of list
    /// entries does not either.
    #[test]
    fn key_and_list_order_do_not_change_the_hash(seed in any::<u64>(), pick in any::<usize>()) {
        let events = all_json_events();
        let (event, ctx) = &events[pick % events.len()];
        let mut state = seed;
        let mut perm = |n: usize| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) as usize) % n
        };
        let shuffled = reorder(event, &mut perm);
        let mut reversed = shuffled.clone();
        for key in ["epcList", "childEPCs", "inputEPCList", "outputEPCList", "quantityList", "bizTransactionList"] {
            if let Some(Value::Array(a)) = reversed.get_mut(key) {
                a.reverse();
            }
        }
        let h = event_hash(event, ctx).unwrap();
        prop_assert_eq!(&event_hash(&shuffled, ctx).unwrap(), &h);
        prop_assert_eq!(&event_hash(&reversed, ctx).unwrap(), &h);
    }

    /// Changing any string value of an event (other than ignored bookkeeping fields) changes
    /// the hash.
    #[test]
    fn a_changed_value_changes_the_hash(pick in any::<usize>(), which in any::<usize>()) {
        let events = all_json_events();
        let (event, ctx) = &events[pick % events.len()];
        let mut paths = Vec::new();
        string_paths(event, &mut Vec::new(), &mut paths);
        paths.retain(|p| !matches!(p[0].as_str(), "eventID" | "recordTime" | "type" | "errorDeclaration")
            && !p.iter().any(|k| k.ends_with("comment")));
        prop_assume!(!paths.is_empty());
        let path = &paths[which % paths.len()];
        let mut changed = event.clone();
        let mut v = &mut changed;
        for k in path {
            v = match v {
                Value::Object(m) => m.get_mut(k).unwrap(),
                Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
                _ => unreachable!(),
            };
        }
        let old = v.as_str().unwrap().to_owned();
        // A prefix (a suffix could fall into a Digital Link's query string, which does not count).
        *v = Value::String(format!("X{old}"));
        prop_assert_ne!(event_hash(&changed, ctx).unwrap(), event_hash(event, ctx).unwrap(), "{:?}", path);
    }
}

fn string_paths(v: &Value, here: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                here.push(k.clone());
                string_paths(x, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                here.push(i.to_string());
                string_paths(x, here, out);
                here.pop();
            }
        }
        Value::String(_) => out.push(here.clone()),
        _ => {}
    }
}

// The fast path (one walk over the JSON, no element tree) against the generic path, which is the
// reference implementation (`Hasher::reference_prehash_into`).

fn demo_events(n: usize, seed: u64) -> Vec<Value> {
    demo::generate(&demo::DemoConfig::new(n, seed, 1_700_000_000_000)).collect()
}

/// The pre-hash of `event` by the generic path of a fresh hasher (no identifier cache).
fn reference(event: &Value, ctx: &Value) -> String {
    let mut out = String::new();
    Hasher::new(ctx)
        .reference_prehash_into(event, &mut out)
        .unwrap();
    out
}

/// Thousands of generated events: the fast path takes (nearly) all of them, and writes exactly
/// what the generic path writes, with the identifier cache of a hasher that is reused.
#[test]
fn fast_path_equals_the_generic_path_on_demo_events() {
    let ctx = Value::String(demo::EPCIS_CONTEXT.to_string());
    let mut checked = 0;
    let mut fast = 0;
    for seed in [42, 7] {
        let shared = Hasher::new(&ctx);
        for (i, e) in demo_events(3000, seed).iter().enumerate() {
            let mut out = String::new();
            if shared.prehash_fast_into(e, &mut out).unwrap() {
                fast += 1;
                assert_eq!(out, reference(e, &ctx), "seed {seed}, event {i}");
            }
            let mut full = String::new();
            shared.prehash_into(e, &mut full).unwrap();
            assert_eq!(full, reference(e, &ctx), "seed {seed}, event {i}");
            checked += 1;
        }
    }
    println!("demo events: {fast}/{checked} on the fast path, all equal to the generic path");
    assert!(
        fast * 100 >= checked * 99,
        "{fast}/{checked} on the fast path"
    );
}

/// Every reference event that the fast path takes gives the generic path's pre-hash (and the
/// expected hashes, checked by `reference_vectors_json`, come from `prehash_into`).
#[test]
fn fast_path_equals_the_generic_path_on_reference_events() {
    let events = all_json_events();
    let mut fast = 0;
    for (i, (e, ctx)) in events.iter().enumerate() {
        let hasher = Hasher::new(ctx);
        let mut out = String::new();
        if hasher.prehash_fast_into(e, &mut out).unwrap() {
            fast += 1;
            assert_eq!(out, reference(e, ctx), "reference event {i}");
        } else {
            assert!(
                out.is_empty(),
                "a refused event leaves the output as it was"
            );
        }
    }
    println!(
        "reference events: {fast}/{} on the fast path, all equal to the generic path",
        events.len()
    );
    assert!(fast >= 30 && events.len() == 43, "{fast}/{}", events.len());
}

/// A small deterministic generator for the mutations below.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// Paths (keys and indices) of every value in `v`.
fn value_paths(v: &Value, here: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                here.push(k.clone());
                value_paths(x, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                here.push(i.to_string());
                value_paths(x, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn at<'v>(v: &'v mut Value, path: &[String]) -> &'v mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Object(m) => m.get_mut(k).unwrap(),
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        _ => unreachable!(),
    })
}

/// One random change of the kinds that the fast path must either write exactly as the generic
/// path or refuse: odd JSON types, nulls, empty lists, extensions inside and outside standard
/// fields, XML-style members, white space, numbers as strings, key order.
fn mutate(event: &mut Value, rng: &mut Lcg) {
    let mut paths = Vec::new();
    value_paths(event, &mut Vec::new(), &mut paths);
    let path = paths[rng.next(paths.len())].clone();
    let extension = [
        json!("x"),
        json!(12.50),
        json!(true),
        json!(null),
        json!([]),
        json!(["b", "a", null]),
        json!({"example:b": "2", "example:a": {"example:c": [1, 2]}}),
        json!({"#text": "t", "example:a": "1"}),
        json!([{"example:z": "1"}, {"example:y": "2"}]),
        json!("  urn:epc:id:sgtin:4012345.011111.987  "),
        json!("urn:epcglobal:cbv:disp:in_transit"),
        json!("gs1:Temperature"),
        json!([["nested"]]),
    ];
    let pick = extension[rng.next(extension.len())].clone();
    let target = at(event, &path);
    match rng.next(7) {
        0 => *target = pick,
        1 => {
            if let Value::Object(m) = target {
                let key = [
                    "example:ext",
                    "example:extList",
                    "comment",
                    "@type",
                    "#text",
                    "id",
                    "type",
                    "uom",
                    "extList",
                ][rng.next(9)];
                m.insert(key.into(), pick);
            } else {
                *target = pick;
            }
        }
        2 => {
            if let Value::String(s) = target {
                *s = [
                    format!(" {s}"),
                    format!("{s}\t"),
                    String::new(),
                    s.to_uppercase(),
                ][rng.next(4)]
                .clone();
            }
        }
        3 => {
            if let Value::Array(a) = target {
                match rng.next(3) {
                    0 => a.clear(),
                    1 => a.reverse(),
                    _ => a.push(Value::Null),
                }
            }
        }
        4 => {
            if let Value::Number(n) = target {
                *target = json!(format!("{n}.0"));
            }
        }
        5 => {
            let mut state = rng.0;
            let mut perm = |n: usize| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                ((state >> 33) as usize) % n
            };
            *target = reorder(target, &mut perm);
        }
        _ => {
            if let Value::Object(m) = target
                && let Some(k) = m.keys().nth(rng.next(m.len())).cloned()
            {
                m.insert(k, Value::Null);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Generated and reference events changed at random places hash through `prehash_into`
    /// (fast path or not) exactly as through the generic path.
    #[test]
    fn mutated_events_hash_as_the_generic_path_does(seed in any::<u64>(), pick in any::<usize>(), changes in 1usize..4) {
        let mut rng = Lcg(seed);
        let (mut event, ctx) = if pick % 3 == 0 {
            let events = all_json_events();
            events[pick % events.len()].clone()
        } else {
            let events = demo_events(200, 42);
            (events[pick % events.len()].clone(), Value::String(demo::EPCIS_CONTEXT.to_string()))
        };
        for _ in 0..changes {
            mutate(&mut event, &mut rng);
        }
        let hasher = Hasher::new(&ctx);
        // Twice: the second time with a warm identifier cache.
        for _ in 0..2 {
            let mut got = String::new();
            let ours = hasher.prehash_into(&event, &mut got);
            let mut want = String::new();
            let theirs = Hasher::new(&ctx).reference_prehash_into(&event, &mut want);
            prop_assert_eq!(ours.is_ok(), theirs.is_ok());
            prop_assert_eq!(&got, &want, "{}", event);
        }
    }
}

/// The one table of CBV words (`hash::vocab`, which `CbvField` uses too) is exactly the terms of
/// the EPCIS 2.0 JSON-LD context, each expanding to the table's prefix + term, and exactly the
/// enumerations of the EPCIS 2.0 JSON schema.
#[test]
fn the_vocabulary_table_is_the_context_and_the_schema() {
    use epcis::hash::vocab;
    const GS1_EPCIS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference-data/gs1-EPCIS"
    );
    let context: Value =
        serde_json::from_str(&read(&Path::new(GS1_EPCIS).join("epcis-context.jsonld"))).unwrap();
    let schema: Value =
        serde_json::from_str(&read(&Path::new(GS1_EPCIS).join("EPCIS-JSON-Schema.json"))).unwrap();
    let ctx = &context["@context"];
    let expand = |v: &str| -> String {
        match v.split_once(':') {
            Some((p, rest)) if !rest.starts_with("//") => match ctx[p].as_str() {
                Some(iri) => format!("{iri}{rest}"),
                None => v.to_string(),
            },
            _ => v.to_string(),
        }
    };
    let tables: [(&vocab::Vocabulary, &[&str], &str); 8] = [
        (&vocab::BIZ_STEP, &["bizStep"], "bizStep"),
        (&vocab::DISPOSITION, &["disposition"], "disposition"),
        (
            &vocab::BIZ_TRANSACTION_TYPE,
            &["bizTransactionList", "type"],
            "bizTransaction-type",
        ),
        (
            &vocab::SOURCE_DEST_TYPE,
            &["sourceList", "type"],
            "source-dest-type",
        ),
        (
            &vocab::ERROR_REASON,
            &["errorDeclaration", "reason"],
            "error-reason",
        ),
        (
            &vocab::MEASUREMENT_TYPE,
            &["sensorElementList", "sensorReport", "type"],
            "measurementType",
        ),
        (
            &vocab::SENSOR_ALERT_TYPE,
            &["sensorElementList", "sensorReport", "exception"],
            "sensorAlertType",
        ),
        (
            &vocab::COMPONENT,
            &["sensorElementList", "sensorReport", "component"],
            "component",
        ),
    ];
    let mut words = 0;
    for (table, path, def) in tables {
        let mut node = ctx;
        for key in path {
            node = &node[*key]["@context"];
        }
        let mut from_context: Vec<String> = Vec::new();
        for (term, iri) in node.as_object().unwrap() {
            if term.starts_with('@') {
                continue;
            }
            let iri = iri.as_str().or_else(|| iri["@id"].as_str()).unwrap();
            assert_eq!(
                expand(iri),
                format!("{}{term}", table.prefix),
                "{def}: {term}"
            );
            from_context.push(term.clone());
        }
        from_context.sort();
        assert_eq!(table.terms, from_context, "{def}: the context's terms");
        let defs = &schema["definitions"][def];
        let mut from_schema: Vec<String> = defs["anyOf"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["enum"].as_array())
            .flatten()
            .map(|w| w.as_str().unwrap().to_string())
            .collect();
        from_schema.sort();
        assert_eq!(table.terms, from_schema, "{def}: the schema's enumeration");
        words += table.terms.len();
    }
    assert_eq!(words, 41 + 33 + 13 + 3 + 2 + 72 + 2 + 14);
}

/// Ignored top-level fields (a document's `ignoreFields`) leave the same pre-hash on both paths.
#[test]
fn fast_path_honours_ignored_fields() {
    let ctx = Value::String(demo::EPCIS_CONTEXT.to_string());
    let ignored = ["ilmd", "sourceList", "cbvmda:lotNumber", "epcList"];
    let shared = Hasher::new(&ctx).with_ignored_fields(ignored);
    let mut fast = 0;
    for (i, e) in demo_events(500, 3).iter().enumerate() {
        let mut got = String::new();
        if shared.prehash_fast_into(e, &mut got).unwrap() {
            fast += 1;
        }
        let mut want = String::new();
        Hasher::new(&ctx)
            .with_ignored_fields(ignored)
            .reference_prehash_into(e, &mut want)
            .unwrap();
        if !got.is_empty() {
            assert_eq!(got, want, "event {i}");
        }
        assert!(!want.contains("ilmd") && !want.contains("sourceList"));
    }
    assert_eq!(fast, 500);
}

// The raw path (`Hasher::prehash_json_into`: a scanner over the event's JSON text feeding the
// fast walk, no `Value`) against the generic path on the parsed text.

/// The pre-hash of an event's JSON text by the generic path on the parsed text (`None` if the
/// text is not JSON or the event cannot be hashed).
fn reference_of_text(text: &str, ctx: &Value) -> Option<String> {
    let event: Value = serde_json::from_str(text).ok()?;
    let mut out = String::new();
    Hasher::new(ctx)
        .reference_prehash_into(&event, &mut out)
        .ok()?;
    Some(out)
}

/// `prehash_json_into` of a reused hasher, twice (the second time with a warm identifier
/// cache), must equal the reference; returns whether the raw path took the text.
fn check_raw(hasher: &Hasher<'_>, text: &str, ctx: &Value, label: &str) -> bool {
    let want = reference_of_text(text, ctx);
    let mut raw = false;
    for _ in 0..2 {
        let mut got = String::new();
        let ours = hasher.prehash_json_into(text, &mut got);
        assert_eq!(ours.is_ok(), want.is_some(), "{label}: {ours:?}\n{text}");
        if let Some(want) = &want {
            assert_eq!(&got, want, "{label}\n{text}");
        }
        let mut alone = String::from("kept");
        raw = hasher.prehash_raw_into(text, &mut alone);
        if raw {
            assert_eq!(
                Some(&alone[4..]),
                want.as_deref(),
                "{label}: raw path alone"
            );
        } else {
            assert_eq!(
                alone, "kept",
                "{label}: a refused event leaves the output as it was"
            );
        }
    }
    raw
}

/// Every JSON reference event, minified and pretty-printed: the raw path takes exactly the
/// events the fast path takes, and writes the generic path's pre-hash; through
/// `event_hash_json` the hashes are those of `event_hash`.
#[test]
fn raw_path_equals_the_generic_path_on_reference_events() {
    let events = all_json_events();
    let mut raw = 0;
    for (i, (e, ctx)) in events.iter().enumerate() {
        let hasher = Hasher::new(ctx);
        let fast = hasher.prehash_fast_into(e, &mut String::new()).unwrap();
        for text in [e.to_string(), serde_json::to_string_pretty(e).unwrap()] {
            let took = check_raw(&hasher, &text, ctx, &format!("reference event {i}"));
            assert_eq!(
                took, fast,
                "reference event {i}: raw path takes what the fast path takes"
            );
            raw += usize::from(took);
            assert_eq!(
                hasher.event_hash_json(&text).unwrap(),
                event_hash(e, ctx).unwrap()
            );
            assert_eq!(
                hasher.event_hash_json_bytes(text.as_bytes()).unwrap(),
                event_hash(e, ctx).unwrap()
            );
        }
    }
    println!(
        "reference events: {raw}/{} texts on the raw path",
        events.len() * 2
    );
    assert!(raw >= 60, "{raw}");
}

/// Thousands of generated events, minified, pretty-printed and with escapes (`\/`, `\u0075`):
/// all on the raw path, all equal to the generic path.
#[test]
fn raw_path_equals_the_generic_path_on_demo_events() {
    let ctx = Value::String(demo::EPCIS_CONTEXT.to_string());
    let mut checked = 0;
    for seed in [42, 7] {
        let hasher = Hasher::new(&ctx);
        for (i, e) in demo_events(3000, seed).iter().enumerate() {
            let min = e.to_string();
            let mut noted = e.clone();
            noted["example:note"] = json!(format!("a\"b\\c/d\u{e9}\n\u{1f600} {i}"));
            let escaped = noted
                .to_string()
                .replace('/', "\\/")
                .replace("urn:", "\\u0075rn:")
                .replace("\"bizStep\"", "\"biz\\u0053tep\"");
            let texts = [serde_json::to_string_pretty(e).unwrap(), escaped, min];
            for text in &texts {
                assert!(
                    check_raw(&hasher, text, &ctx, &format!("seed {seed}, event {i}")),
                    "seed {seed}, event {i}: not on the raw path"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 18_000);
}

/// Ignored top-level fields and a custom identifier canonicaliser hold on the raw path too.
#[test]
fn raw_path_honours_ignored_fields_and_the_canonicaliser() {
    let ctx = Value::String(demo::EPCIS_CONTEXT.to_string());
    let ignored = ["ilmd", "sourceList", "cbvmda:lotNumber", "epcList"];
    let raw_hasher = Hasher::new(&ctx).with_ignored_fields(ignored);
    let as_is = Hasher::new(&ctx).with_id_canonicaliser(|_| None);
    for (i, e) in demo_events(500, 3).iter().enumerate() {
        let text = e.to_string();
        let mut got = String::new();
        assert!(raw_hasher.prehash_raw_into(&text, &mut got), "event {i}");
        let mut want = String::new();
        Hasher::new(&ctx)
            .with_ignored_fields(ignored)
            .reference_prehash_into(e, &mut want)
            .unwrap();
        assert_eq!(got, want, "event {i}");
        let (mut got, mut want) = (String::new(), String::new());
        assert!(as_is.prehash_raw_into(&text, &mut got), "event {i}");
        Hasher::new(&ctx)
            .with_id_canonicaliser(|_| None)
            .reference_prehash_into(e, &mut want)
            .unwrap();
        assert_eq!(got, want, "event {i}");
        assert!(
            got.contains("urn:epc:"),
            "event {i}: identifiers as written"
        );
    }
}

/// Hand-made texts at the edges of the scanner: numbers of every form (one out of range),
/// repeated keys inside extensions and standard fields, escapes in keys, white space
/// everywhere, a byte order mark.
#[test]
fn raw_path_edge_texts_hash_as_the_generic_path_does() {
    let ctx = Value::String(demo::EPCIS_CONTEXT.to_string());
    let hasher = Hasher::new(&ctx);
    let base = r#""type":"ObjectEvent","eventTime":"2024-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","epcList":["urn:epc:id:sgtin:4012345.011111.1"]"#;
    let cases = [
        format!(
            r#"{{{base},"example:n":1e3,"example:m":-2.5E-7,"example:k":12345678901234567890}}"#
        ),
        format!(r#"{{{base},"example:n":1e400}}"#),
        format!(r#"{{{base},"example:n":-0,"example:m":-0.0,"example:k":0.1}}"#),
        format!(r#"{{{base},"example:x":{{"example:a":1,"example:a":2}}}}"#),
        format!(r#"{{{base},"ex\u0061mple:x":"\u00e9\ud83d\ude00\/\"","example:y":"\u0000"}}"#),
        format!("\u{feff}{{{base}}}"),
        format!(
            " \t\r\n{{ {} }} \n",
            base.replace(',', " ,\n\t").replace(':', " : ")
        ),
        format!(
            r#"{{{base},"quantityList":[{{"epcClass":"urn:epc:class:lgtin:4012345.011111.L1","quantity":2.50,"uom":"KGM"}}]}}"#
        ),
        format!(
            r#"{{{base},"readPoint":{{"id":"urn:epc:id:sgln:4012345.00001.0","id":"urn:epc:id:sgln:4012345.00002.0"}}}}"#
        ),
    ];
    let mut raw = Vec::new();
    for (i, text) in cases.iter().enumerate() {
        if check_raw(&hasher, text, &ctx, &format!("case {i}")) {
            raw.push(i);
        }
    }
    // The valid cases without repeated keys (the fast path covers them all).
    assert_eq!(raw, [0, 2, 4, 6, 7]);
}

/// A document's events hashed from its text (`document_hashes_json`) are those of the parsed
/// document, for the reference documents and a generated one; errors stay errors.
#[test]
fn document_hashes_from_text_equal_those_of_the_parsed_document() {
    let mut docs: Vec<String> = files(&format!("{VECTORS}/examples"), "jsonld")
        .iter()
        .map(|p| read(p))
        .collect();
    let mut generated = Vec::new();
    demo::write_document(
        &demo::DemoConfig::new(300, 5, 1_700_000_000_000),
        &mut generated,
    )
    .unwrap();
    docs.push(String::from_utf8(generated).unwrap());
    // Large enough to be hashed on several threads.
    let mut large = Vec::new();
    demo::write_document(
        &demo::DemoConfig::new(9_001, 6, 1_700_000_000_000),
        &mut large,
    )
    .unwrap();
    docs.push(String::from_utf8(large).unwrap());
    for text in &docs {
        let doc: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            epcis::hash::document_hashes_json(text),
            document_hashes(&doc),
            "{text}"
        );
    }
    for bad in [
        "",
        "[]",
        "{}",
        "{\"epcisBody\":[]}",
        "{\"epcisBody\":{\"eventList\":{}}}",
        // Repeated members: the last one counts, as in a parsed document.
        "{\"epcisBody\":{\"eventList\":[{\"type\":\"ObjectEvent\",\"eventTime\":\"2020-01-01T00:00:00Z\",\"action\":\"OBSERVE\"}],\"eventList\":[]}}",
        "{\"epcisBody\":{\"eventList\":[]},\"epcisBody\":{\"eventList\":[{\"type\":\"ObjectEvent\",\"eventTime\":\"2020-01-01T00:00:00Z\",\"action\":\"OBSERVE\"}]}}",
        "{\"epcisBody\":\"x\",\"epcisBody\":{\"eventList\":[]}}",
        "{\"epcisBody\":{\"queryResults\":{\"resultsBody\":{\"eventList\":[{\"type\":\"ObjectEvent\",\"eventTime\":\"2020-01-01T00:00:00Z\",\"action\":\"ADD\",\"epcList\":[\"urn:epc:id:sgtin:4012345.011111.1\"]}]}}}}",
        "{\"ex:ignoreFields\":[\"action\"],\"epcisBody\":{\"eventList\":[{\"type\":\"ObjectEvent\",\"eventTime\":\"2020-01-01T00:00:00Z\",\"action\":\"ADD\"}]}}",
    ] {
        let ours = epcis::hash::document_hashes_json(bad);
        match serde_json::from_str::<Value>(bad) {
            Ok(doc) => assert_eq!(ours, document_hashes(&doc), "{bad}"),
            Err(_) => assert!(matches!(ours, Err(HashError::Json { .. })), "{bad}"),
        }
    }
}

/// One random change of an event's JSON text: a JSON-significant byte inserted, a byte
/// removed, a slice repeated, or a member repeated (a duplicate key).
fn mutate_text(text: &mut String, rng: &mut Lcg) {
    let boundary = |t: &String, mut i: usize| {
        while !t.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let at = boundary(text, rng.next(text.len() + 1));
    match rng.next(5) {
        0 => {
            let bytes = [
                " ", "\n", ",", "\"", "\\", "{", "}", "[", "]", ":", "0", "-", "e", ".", "u",
                "\\u00e9", "\\ud83d", "null", "\t",
            ];
            text.insert_str(at, bytes[rng.next(bytes.len())]);
        }
        1 => {
            if at < text.len() {
                text.remove(at);
            }
        }
        2 => {
            let to = boundary(text, (at + rng.next(12)).min(text.len()));
            let piece = text[at..to].to_string();
            text.insert_str(at, &piece);
        }
        _ => {
            // Repeat a top-level member of the event in front of the others.
            let doc: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(_) => return,
            };
            if let Some(m) = doc.as_object()
                && let Some((k, v)) = m.iter().nth(rng.next(m.len()))
                && let Some(rest) = text.trim_start().strip_prefix('{')
            {
                let other = if rng.next(2) == 0 {
                    v.clone()
                } else {
                    json!("dup")
                };
                *text = format!("{{{}:{other},{rest}", json!(k));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Generated and reference events changed at random places (in the JSON values, then in
    /// the text, minified or pretty-printed) hash through `prehash_json_into` exactly as the
    /// generic path hashes the parsed text, and are errors exactly when the text is not JSON.
    #[test]
    fn mutated_event_texts_hash_as_the_generic_path_does(
        seed in any::<u64>(),
        pick in any::<usize>(),
        changes in 0usize..3,
        text_changes in 0usize..3,
        pretty in any::<bool>(),
    ) {
        let mut rng = Lcg(seed);
        let (mut event, ctx) = if pick % 3 == 0 {
            let events = all_json_events();
            events[pick % events.len()].clone()
        } else {
            let events = demo_events(200, 42);
            (events[pick % events.len()].clone(), Value::String(demo::EPCIS_CONTEXT.to_string()))
        };
        for _ in 0..changes {
            mutate(&mut event, &mut rng);
        }
        let mut text = if pretty {
            serde_json::to_string_pretty(&event).unwrap()
        } else {
            event.to_string()
        };
        for _ in 0..text_changes {
            mutate_text(&mut text, &mut rng);
        }
        check_raw(&Hasher::new(&ctx), &text, &ctx, "mutated");
    }
}
