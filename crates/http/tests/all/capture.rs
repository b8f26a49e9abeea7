//! Capture round trips with the GS1 examples, re-sends, error behaviours, single events.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use store::Scope;
use zhiliang_http::pipeline::{Format, document_hashes};

use crate::common::*;

/// Each returned event, hashed again with its own context, must give a hash that one of the
/// captured documents gave for that eventID: nothing was lost or changed on the way.
fn check_round_trip(expected: &BTreeMap<String, BTreeSet<String>>, returned: &[Value]) {
    let got: BTreeSet<String> = ids(returned).into_iter().collect();
    let want: BTreeSet<String> = expected.keys().cloned().collect();
    assert_eq!(
        got, want,
        "the events returned are exactly the events captured"
    );
    assert_eq!(got.len(), returned.len(), "no event is returned twice");
    for e in returned {
        assert!(e["recordTime"].is_string(), "recordTime is added on output");
        let ctx = e.get("@context").cloned().unwrap_or(json!([
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
        ]));
        let h = epcis::hash::event_hash(e, &ctx).unwrap();
        let id = e["eventID"].as_str().unwrap();
        assert!(
            expected[id].contains(&h),
            "event {id}: hash after the round trip {h} is not one captured"
        );
    }
}

/// What a naive store keeps: in capture order, an event whose eventID or hash was seen before is
/// a duplicate; otherwise its eventID (or, without one, its hash) identifies it.
fn expected_ids(doc: &Value, hashes: &[String], out: &mut BTreeMap<String, BTreeSet<String>>) {
    let list = doc
        .pointer("/epcisBody/eventList")
        .or_else(|| doc.pointer("/epcisBody/queryResults/resultsBody/eventList"));
    let events = list.and_then(Value::as_array).cloned().unwrap_or_default();
    assert_eq!(events.len(), hashes.len());
    for (e, h) in events.iter().zip(hashes) {
        let id = e["eventID"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| h.clone());
        let hash_seen = out.values().any(|hs| hs.contains(h));
        if !hash_seen && !out.contains_key(&id) {
            out.insert(id, BTreeSet::from([h.clone()]));
        }
    }
}

#[tokio::test]
async fn gs1_json_examples_47_capture_and_query_back_losslessly() {
    let h = Harness::new();
    let paths = files(&format!("{GS1}/JSON"), "jsonld");
    assert_eq!(paths.len(), 47, "the 47 GS1 JSON examples");
    let mut expected = BTreeMap::new();
    for p in &paths {
        let bytes = std::fs::read(p).unwrap();
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let r = h
            .request(
                Method::POST,
                "/epcis/capture",
                Some(&h.keys.a),
                &[("content-type", "application/ld+json")],
                Body::from(bytes.clone()),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::ACCEPTED,
            "{}: {}",
            p.display(),
            r.text()
        );
        let loc = r.header("location").unwrap().to_string();
        assert!(loc.starts_with("/epcis/capture/"));
        let job = h.get(&loc, Some(&h.keys.a)).await;
        assert_eq!(job.status, StatusCode::OK);
        assert_eq!(job.json()["success"], true, "{}", job.text());
        expected_ids(
            &doc,
            &document_hashes(&bytes, Format::Json).unwrap(),
            &mut expected,
        );
    }
    let events = h.all_events(&h.keys.a, "").await;
    check_round_trip(&expected, &events);
}

#[tokio::test]
async fn gs1_xml_examples_capture_and_hash_like_their_json_form() {
    let h = Harness::new();
    let paths = files(&format!("{GS1}/XML"), "xml");
    assert!(paths.len() >= 37, "the GS1 XML examples ({})", paths.len());
    let mut expected = BTreeMap::new();
    let mut captured = 0;
    for p in &paths {
        let bytes = std::fs::read(p).unwrap();
        let r = h
            .request(
                Method::POST,
                "/epcis/capture",
                Some(&h.keys.b),
                &[("content-type", "application/xml")],
                Body::from(bytes.clone()),
            )
            .await;
        let converted = epcis::xml::xml_to_json_document(std::str::from_utf8(&bytes).unwrap());
        let event_document = converted
            .as_ref()
            .is_ok_and(|d| d["type"] == "EPCISDocument" || d["type"] == "EPCISQueryDocument");
        if !event_document {
            // Capture-job and master-data examples are not event documents.
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", p.display());
            continue;
        }
        assert_eq!(
            r.status,
            StatusCode::ACCEPTED,
            "{}: {}",
            p.display(),
            r.text()
        );
        captured += 1;
        let doc = epcis::xml::xml_to_json_document(std::str::from_utf8(&bytes).unwrap()).unwrap();
        expected_ids(
            &doc,
            &document_hashes(&bytes, Format::Xml).unwrap(),
            &mut expected,
        );
    }
    assert!(captured >= 30, "{captured} XML event documents captured");
    let events = h.all_events(&h.keys.b, "").await;
    check_round_trip(&expected, &events);
}

#[tokio::test]
async fn resending_a_document_or_an_event_stores_it_once() {
    let h = Harness::new();
    let doc = document(
        (0..5)
            .map(|i| {
                object_event(
                    &format!("urn:uuid:00000000-0000-4000-8000-00000000000{i}"),
                    "0614141",
                    i,
                    "shipping",
                    i as u32,
                )
            })
            .collect(),
    );
    let first = h.capture_ok(&h.keys.a, &doc).await;
    assert_eq!(first["eventsStored"], 5);
    let second = h.capture_ok(&h.keys.a, &doc).await;
    assert_eq!(second["eventsStored"], 0);
    assert_eq!(second["eventsDuplicate"], 5);
    assert_eq!(second["success"], true);
    assert_ne!(first["captureID"], second["captureID"]);
    assert_eq!(h.count(&Scope::All), 5);

    // The same event without an eventID: its hash is its identity.
    let mut no_id = object_event("x", "0614141", 99, "receiving", 30);
    no_id.as_object_mut().unwrap().remove("eventID");
    for _ in 0..2 {
        let r = h
            .request(
                Method::POST,
                "/epcis/events",
                Some(&h.keys.a),
                &[("content-type", "application/json")],
                Body::from(no_id.to_string()),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let loc = r.header("location").unwrap().to_string();
        let got = h.get(&loc, Some(&h.keys.a)).await;
        assert_eq!(got.status, StatusCode::OK, "{loc}: {}", got.text());
        let ev = &got.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0];
        let hash = epcis::hash::event_hash(&no_id, &Value::Null).unwrap();
        assert_eq!(
            ev["eventID"].as_str(),
            Some(hash.as_str()),
            "an event without eventID gets its hash as ID"
        );
    }
    assert_eq!(h.count(&Scope::All), 6);
}

#[tokio::test]
async fn rollback_stores_nothing_and_proceed_stores_the_valid_events() {
    let h = Harness::new();
    let mut bad = object_event(
        "urn:uuid:10000000-0000-4000-8000-000000000002",
        "0614141",
        2,
        "shipping",
        2,
    );
    bad["action"] = json!("SHIPPED");
    let doc = document(vec![
        object_event(
            "urn:uuid:10000000-0000-4000-8000-000000000001",
            "0614141",
            1,
            "shipping",
            1,
        ),
        bad,
        object_event(
            "urn:uuid:10000000-0000-4000-8000-000000000003",
            "0614141",
            3,
            "shipping",
            3,
        ),
    ]);
    let r = h.capture(&h.keys.a, &doc).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.problem_type(), "epcisException:ValidationException");
    let j = r.json();
    assert!(
        j["field"]
            .as_str()
            .unwrap()
            .starts_with("/epcisBody/eventList/1"),
        "{j}"
    );
    assert!(
        j["issues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["field"] == "/epcisBody/eventList/1/action"),
        "{j}"
    );
    assert_eq!(h.count(&Scope::All), 0, "rollback: nothing stored");

    let r = h
        .request(
            Method::POST,
            "/epcis/capture",
            Some(&h.keys.a),
            &[
                ("content-type", "application/ld+json"),
                ("GS1-Capture-Error-Behaviour", "proceed"),
            ],
            Body::from(doc.to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let job = r.json();
    assert_eq!(job["success"], false);
    assert_eq!(job["eventsStored"], 2);
    assert!(
        job["errors"].as_array().unwrap().iter().any(|e| e
            .as_str()
            .unwrap()
            .contains("/epcisBody/eventList/1/action")),
        "{job}"
    );
    let stored = ids(&h.all_events(&h.keys.a, "").await);
    assert_eq!(
        stored,
        vec![
            "urn:uuid:10000000-0000-4000-8000-000000000001",
            "urn:uuid:10000000-0000-4000-8000-000000000003"
        ]
    );

    let r = h
        .request(
            Method::POST,
            "/epcis/capture",
            Some(&h.keys.a),
            &[
                ("content-type", "application/ld+json"),
                ("GS1-Capture-Error-Behaviour", "sometimes"),
            ],
            Body::from(doc.to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "GS1-Capture-Error-Behaviour");
}

#[tokio::test]
async fn invalid_openepcis_documents_are_rejected_naming_the_field_and_nothing_is_stored() {
    let h = Harness::new();
    let mut n = 0;
    for (dir, ext, ct) in [
        ("JSON/Capture/Invalid", "json", "application/json"),
        ("JSON/Query/Invalid", "json", "application/json"),
        ("XML/Capture/Invalid", "xml", "application/xml"),
        ("XML/Query/Invalid", "xml", "application/xml"),
    ] {
        for p in files(&format!("{OPENEPCIS}/{dir}"), ext) {
            let r = h
                .request(
                    Method::POST,
                    "/epcis/capture",
                    Some(&h.keys.a),
                    &[("content-type", ct)],
                    Body::from(std::fs::read(&p).unwrap()),
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{}: {}",
                p.display(),
                r.text()
            );
            assert_eq!(r.problem_type(), "epcisException:ValidationException");
            let j = r.json();
            assert!(
                j["field"].is_string() && j["rule"].as_str().is_some_and(|s| !s.is_empty()),
                "{}: {j}",
                p.display()
            );
            n += 1;
        }
    }
    assert_eq!(
        n, 27,
        "the invalid capture and query documents of openepcis-test-resources"
    );
    assert_eq!(h.count(&Scope::All), 0);
    let jobs = h.get("/epcis/capture", Some(&h.keys.a)).await;
    assert_eq!(jobs.json(), json!([]), "a rejected document leaves no job");
}

#[tokio::test]
async fn options_advertises_the_capture_limits() {
    let h = Harness::new();
    let r = h
        .request(Method::OPTIONS, "/epcis/capture", None, &[], Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let limits = zhiliang_http::HttpLimits::default();
    assert_eq!(
        r.header("GS1-EPCIS-Capture-Limit"),
        Some(limits.capture_events_max.to_string().as_str())
    );
    assert_eq!(
        r.header("GS1-EPCIS-Capture-File-Size-Limit"),
        Some(limits.capture_bytes_max.to_string().as_str())
    );
    assert_eq!(r.header("GS1-EPCIS-Version"), Some("2.0.0"));
}

#[tokio::test]
async fn a_single_event_is_stored_at_once_and_found_at_its_location() {
    let h = Harness::new();
    let ev = object_event(
        "urn:uuid:20000000-0000-4000-8000-000000000001",
        "0614141",
        7,
        "receiving",
        7,
    );
    let r = h
        .request(
            Method::POST,
            "/epcis/events",
            Some(&h.keys.a),
            &[("content-type", "application/json")],
            Body::from(ev.to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some("/epcis/events/urn%3Auuid%3A20000000-0000-4000-8000-000000000001")
    );
    let got = h.get(r.header("location").unwrap(), Some(&h.keys.a)).await;
    assert_eq!(got.status, StatusCode::OK);
    let doc = got.json();
    assert_eq!(doc["type"], "EPCISQueryDocument");
    assert_eq!(
        doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["epcList"],
        ev["epcList"]
    );
    // A document is not an event.
    let r = h
        .request(
            Method::POST,
            "/epcis/events",
            Some(&h.keys.a),
            &[("content-type", "application/json")],
            Body::from(document(vec![ev]).to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "/type");
}
