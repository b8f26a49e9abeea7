//! Queries: paging with Link headers, filters against a naive reference, identifiers in either
//! form, eventCountLimit, ordering, browse resources, named queries, XML output, site routes.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

const STEPS: [&str; 3] = ["shipping", "receiving", "storing"];

/// 25 events of org A with known fields; returns them as sent.
async fn seed(h: &Harness) -> Vec<Value> {
    let events: Vec<Value> = (0..25u64)
        .map(|i| {
            object_event(
                &format!("urn:uuid:30000000-0000-4000-8000-{i:012}"),
                "0614141",
                2000 + i,
                STEPS[i as usize % 3],
                i as u32,
            )
        })
        .collect();
    h.capture_ok(&h.keys.a, &document(events.clone())).await;
    events
}

#[tokio::test]
async fn pages_follow_link_headers_and_cover_every_event_once() {
    let h = Harness::new();
    let sent = seed(&h).await;
    let mut uri = "/epcis/events?perPage=10".to_string();
    let mut sizes = Vec::new();
    let mut got = Vec::new();
    loop {
        let r = h.get(&uri, Some(&h.keys.a)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.header("GS1-EPCIS-Version"), Some("2.0.0"));
        assert_eq!(r.header("GS1-CBV-Version"), Some("2.0.0"));
        let list = r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .clone();
        sizes.push(list.len());
        got.extend(list);
        match r.next_link() {
            Some(n) => {
                assert!(r.header("GS1-Next-Page-Token-Expires").is_some());
                uri = n
            }
            None => break,
        }
    }
    assert_eq!(sizes, vec![10, 10, 5]);
    assert_eq!(ids(&got), ids(&sent));
}

#[tokio::test]
async fn filters_match_a_naive_reference() {
    let h = Harness::new();
    let sent = seed(&h).await;
    for step in STEPS {
        let want: Vec<Value> = sent
            .iter()
            .filter(|e| e["bizStep"] == step)
            .cloned()
            .collect();
        let got = h.all_events(&h.keys.a, &format!("EQ_bizStep={step}")).await;
        assert_eq!(ids(&got), ids(&want), "EQ_bizStep={step}");
    }
    // Two values of one parameter are ORed.
    let got = h
        .all_events(&h.keys.a, "EQ_bizStep=shipping%7Creceiving")
        .await;
    assert_eq!(
        got.len(),
        sent.iter().filter(|e| e["bizStep"] != "storing").count()
    );
    // An EPC given as a Digital Link matches the event that named it as an EPC URI
    // (GTIN 10614141073464 is urn:epc:id:sgtin:0614141.107346, the GS1 standard's own example).
    let dl = "https://id.gs1.org/01/10614141073464/21/2017";
    let got = h
        .all_events(
            &h.keys.a,
            &format!("MATCH_epc={}", zhiliang_http::params::encode(dl)),
        )
        .await;
    assert_eq!(
        ids(&got),
        vec!["urn:uuid:30000000-0000-4000-8000-000000000017".to_string()]
    );
    let got = h
        .all_events(&h.keys.a, "MATCH_epc=urn:epc:id:sgtin:0614141.107346.2017")
        .await;
    assert_eq!(got.len(), 1);
    // Time window against the naive reference: minutes 5..10 of the sent events.
    let got = h
        .all_events(
            &h.keys.a,
            &format!(
                "GE_eventTime={}&LT_eventTime={}",
                zhiliang_http::params::encode("2024-03-01T10:05:00+01:00"),
                zhiliang_http::params::encode("2024-03-01T10:10:00+01:00")
            ),
        )
        .await;
    assert_eq!(got.len(), 5);
    // eventCountLimit bounds the total over all pages.
    let got = h
        .all_events(&h.keys.a, "orderBy=eventTime&eventCountLimit=12")
        .await;
    assert_eq!(got.len(), 12);
    // orderBy eventTime descending.
    let r = h
        .get(
            "/epcis/events?orderBy=eventTime&orderDirection=DESC&perPage=25",
            Some(&h.keys.a),
        )
        .await;
    let list = r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .clone();
    let times: Vec<i64> = list
        .iter()
        .map(|e| epcis::index::parse_time_ms(e["eventTime"].as_str().unwrap()).unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    assert_eq!(times.len(), 25);
}

#[tokio::test]
async fn browse_resources_list_values_and_their_events() {
    let h = Harness::new();
    let sent = seed(&h).await;
    let r = h.get("/epcis/eventTypes", Some(&h.keys.a)).await;
    assert_eq!(r.json()["member"], json!(["ObjectEvent"]));
    let r = h.get("/epcis/bizSteps", Some(&h.keys.a)).await;
    let steps: BTreeSet<String> = r.json()["member"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = STEPS
        .iter()
        .map(|s| format!("https://ref.gs1.org/cbv/BizStep-{s}"))
        .collect();
    assert_eq!(steps, want);
    // Paged vocabulary listing.
    let r = h.get("/epcis/epcs?perPage=10", Some(&h.keys.a)).await;
    assert_eq!(r.json()["member"].as_array().unwrap().len(), 10);
    let mut all = r.json()["member"].as_array().unwrap().clone();
    let mut next = r.next_link();
    while let Some(n) = next {
        let r = h.get(&n, Some(&h.keys.a)).await;
        all.extend(r.json()["member"].as_array().unwrap().iter().cloned());
        next = r.next_link();
    }
    assert_eq!(all.len(), 25);
    for sub in ["eventTypes/ObjectEvent", "bizSteps/shipping"] {
        let r = h.get(&format!("/epcis/{sub}"), Some(&h.keys.a)).await;
        assert_eq!(r.json()["member"], json!(["events"]));
    }
    let got = h
        .get(
            "/epcis/bizSteps/shipping/events?perPage=100",
            Some(&h.keys.a),
        )
        .await;
    let list = got.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        list.len(),
        sent.iter().filter(|e| e["bizStep"] == "shipping").count()
    );
    let epc = zhiliang_http::params::encode("urn:epc:id:sgtin:0614141.107346.2003");
    let got = h
        .get(&format!("/epcis/epcs/{epc}/events"), Some(&h.keys.a))
        .await;
    assert_eq!(
        ids(
            got.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                .as_array()
                .unwrap()
        ),
        vec!["urn:uuid:30000000-0000-4000-8000-000000000003"]
    );
    let loc = zhiliang_http::params::encode("urn:epc:id:sgln:0614141.00002.0");
    let got = h
        .get(
            &format!("/epcis/bizLocations/{loc}/events?perPage=100"),
            Some(&h.keys.a),
        )
        .await;
    assert_eq!(
        got.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .len(),
        25
    );
    let got = h
        .get(
            "/epcis/dispositions/in_progress/events?perPage=100",
            Some(&h.keys.a),
        )
        .await;
    assert_eq!(
        got.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .len(),
        25
    );
    let rp = zhiliang_http::params::encode("urn:epc:id:sgln:0614141.00001.0");
    let got = h
        .get(
            &format!("/epcis/readPoints/{rp}/events?perPage=100"),
            Some(&h.keys.a),
        )
        .await;
    assert_eq!(
        got.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .len(),
        25
    );
}

#[tokio::test]
async fn named_queries_are_created_run_listed_and_deleted() {
    let h = Harness::new();
    let sent = seed(&h).await;
    let def = json!({ "name": "shipped", "query": { "eventType": ["ObjectEvent"], "EQ_bizStep": ["shipping"] } });
    let post = |body: Value| {
        h.request(
            Method::POST,
            "/epcis/queries",
            Some(&h.keys.a),
            &[("content-type", "application/json")],
            Body::from(body.to_string()),
        )
    };
    let r = post(def.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.header("location"), Some("/epcis/queries/shipped"));
    let r = post(def.clone()).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = h.get("/epcis/queries/shipped", Some(&h.keys.a)).await;
    assert_eq!(r.json(), def);
    let r = h.get("/epcis/queries", Some(&h.keys.a)).await;
    assert_eq!(r.json(), json!([def]));
    let mut got = Vec::new();
    let mut uri = "/epcis/queries/shipped/events?perPage=3".to_string();
    loop {
        let r = h.get(&uri, Some(&h.keys.a)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(
            r.json()["epcisBody"]["queryResults"]["queryName"],
            "shipped"
        );
        got.extend(
            r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
        match r.next_link() {
            Some(n) => uri = n,
            None => break,
        }
    }
    let want: Vec<Value> = sent
        .iter()
        .filter(|e| e["bizStep"] == "shipping")
        .cloned()
        .collect();
    assert_eq!(ids(&got), ids(&want));
    let r = h
        .request(
            Method::DELETE,
            "/epcis/queries/shipped",
            Some(&h.keys.a),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = h.get("/epcis/queries/shipped", Some(&h.keys.a)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.problem_type(), "epcisException:NoSuchResourceException");
}

#[tokio::test]
async fn invalid_named_queries_of_openepcis_are_rejected() {
    let h = Harness::new();
    let paths = files(&format!("{OPENEPCIS}/JSON/Query/Queries/Invalid"), "json");
    assert_eq!(paths.len(), 2);
    for p in paths {
        let query: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        let body = json!({ "name": "bad", "query": query });
        let r = h
            .request(
                Method::POST,
                "/epcis/queries",
                Some(&h.keys.a),
                &[("content-type", "application/json")],
                Body::from(body.to_string()),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{}: {}",
            p.display(),
            r.text()
        );
        assert_eq!(r.problem_type(), "epcisException:QueryParameterException");
    }
}

#[tokio::test]
async fn xml_is_answered_when_asked_for() {
    let h = Harness::new();
    seed(&h).await;
    let r = h
        .request(
            Method::GET,
            "/epcis/events?perPage=5",
            Some(&h.keys.a),
            &[("accept", "application/xml")],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/xml"));
    let back = epcis::xml::xml_to_json_document(&r.text()).unwrap();
    let list = back["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap();
    assert_eq!(list.len(), 5);
}

#[tokio::test]
async fn health_openapi_and_home_page() {
    let h = Harness::new();
    let r = h.get("/health", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["backend"], "sqlite");
    let r = h.get("/openapi.json", None).await;
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let r = h.get("/", None).await;
    assert!(r.text().contains("/openapi.json") && r.text().contains("EPCIS"));
}

/// Every operation of the OpenAPI document reaches a handler (not the fallback), and the paths
/// the REST bindings define for capture, events, browse and queries are all there.
#[tokio::test]
async fn openapi_lists_every_route_and_every_route_answers() {
    let h = Harness::new();
    let doc = h.get("/openapi.json", None).await.json();
    for op in zhiliang_http::openapi::OPERATIONS {
        assert!(
            doc["paths"][op.path][op.method].is_object(),
            "{} {}",
            op.method,
            op.path
        );
        let uri = op
            .path
            .replace("{captureID}", "nope")
            .replace("{eventID}", "nope")
            .replace("{queryName}", "nope")
            .replace(['{', '}'], "");
        let method = Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
        let r = h
            .request(
                method,
                &uri,
                Some(&h.keys.admin),
                &[("content-type", "application/json")],
                Body::from("{}"),
            )
            .await;
        assert_ne!(
            r.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{} {uri}",
            op.method
        );
        if r.status == StatusCode::NOT_FOUND {
            assert_ne!(
                r.json()["detail"],
                "no such resource",
                "{} {uri} fell through to the fallback",
                op.method
            );
        }
    }
    let spec = std::fs::read_to_string(format!("{GS1}/REST Bindings/openapi.yaml")).unwrap();
    for path in [
        "/capture",
        "/capture/{captureID}",
        "/events",
        "/eventTypes",
        "/epcs",
        "/bizSteps",
        "/bizLocations",
        "/readPoints",
        "/dispositions",
        "/queries",
        "/queries/{queryName}",
        "/queries/{queryName}/events",
    ] {
        assert!(
            spec.contains(&format!("\n  {path}:")),
            "{path} is in the standard"
        );
        assert!(
            doc["paths"][format!("/epcis{path}")].is_object(),
            "{path} is served"
        );
    }
}
