//! The isolation matrix: every endpoint called as enterprise A, enterprise B, a regulator, a public
//! key, anonymous and a revoked key. An enterprise learns nothing of another's events: not through
//! queries, browse lists, jobs, counts, page tokens, named queries or error messages.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

struct World {
    h: Harness,
    a_ids: Vec<String>,
    b_ids: Vec<String>,
    a_job: String,
}

/// A captures 12 events at its locations (bizStep shipping), B 9 at its own (bizStep receiving).
async fn world() -> World {
    let h = Harness::new();
    let a: Vec<Value> = (0..12u64)
        .map(|i| {
            object_event(
                &format!("urn:uuid:a0000000-0000-4000-8000-{i:012}"),
                "0614141",
                i,
                "shipping",
                i as u32,
            )
        })
        .collect();
    let mut b: Vec<Value> = (0..9u64)
        .map(|i| {
            object_event(
                &format!("urn:uuid:b0000000-0000-4000-8000-{i:012}"),
                "4012345",
                i,
                "receiving",
                i as u32,
            )
        })
        .collect();
    for e in &mut b {
        e["disposition"] = json!("in_transit");
    }
    let job = h.capture_ok(&h.keys.a, &document(a.clone())).await;
    h.capture_ok(&h.keys.b, &document(b.clone())).await;
    World {
        a_ids: ids(&a),
        b_ids: ids(&b),
        a_job: job["captureID"].as_str().unwrap().to_string(),
        h,
    }
}

fn members(r: &Resp) -> BTreeSet<String> {
    r.json()["member"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn event_list(r: &Resp) -> Vec<Value> {
    r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn anonymous_and_revoked_keys_get_401_on_every_epcis_endpoint() {
    let w = world().await;
    let h = &w.h;
    for op in zhiliang_http::openapi::OPERATIONS.iter().filter(|o| o.auth) {
        let uri = op
            .path
            .replace("{captureID}", &w.a_job)
            .replace("{queryName}", "q")
            .replace(['{', '}'], "");
        let method = Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
        for key in [
            None,
            Some(h.keys.revoked.as_str()),
            Some("zlk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ] {
            let r = h
                .request(
                    method.clone(),
                    &uri,
                    key,
                    &[("content-type", "application/json")],
                    Body::from(document(vec![]).to_string()),
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{} {uri} with {key:?}",
                op.method
            );
            assert_eq!(r.problem_type(), "epcisException:SecurityException");
            assert!(!r.text().contains("orgA") && !r.text().contains(&w.a_job));
        }
    }
    // Nothing got in.
    assert_eq!(h.count(&store::Scope::All), 21);
}

#[tokio::test]
async fn events_and_single_events_are_visible_only_to_their_owner_and_regulators() {
    let w = world().await;
    let h = &w.h;
    assert_eq!(ids(&h.all_events(&h.keys.a, "").await), w.a_ids);
    assert_eq!(ids(&h.all_events(&h.keys.b, "").await), w.b_ids);
    let mut both = w.a_ids.clone();
    both.extend(w.b_ids.clone());
    both.sort();
    assert_eq!(ids(&h.all_events(&h.keys.regulator, "").await), both);
    assert_eq!(ids(&h.all_events(&h.keys.admin, "").await), both);
    assert!(h.all_events(&h.keys.public, "").await.is_empty());
    // Queries naming A's identifiers, as B, return nothing, exactly like unknown identifiers.
    let a_epc = "urn:epc:id:sgtin:0614141.107346.3";
    for q in [
        format!("MATCH_epc={a_epc}"),
        format!("EQ_eventID={}", w.a_ids[0]),
        "EQ_bizStep=shipping".to_string(),
        "EQ_readPoint=urn:epc:id:sgln:0614141.00001.0".to_string(),
    ] {
        assert!(h.all_events(&h.keys.b, &q).await.is_empty(), "B: {q}");
        assert!(!h.all_events(&h.keys.a, &q).await.is_empty(), "A: {q}");
        assert!(
            !h.all_events(&h.keys.regulator, &q).await.is_empty(),
            "regulator: {q}"
        );
    }
    // One event by id: another's is a 404 identical to a missing one.
    let theirs = h
        .get(&format!("/epcis/events/{}", w.a_ids[0]), Some(&h.keys.b))
        .await;
    let missing = h
        .get(
            "/epcis/events/urn:uuid:a0000000-0000-4000-8000-999999999999",
            Some(&h.keys.b),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.body, missing.body);
    assert_eq!(
        h.get(&format!("/epcis/events/{}", w.a_ids[0]), Some(&h.keys.a))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h.get(
            &format!("/epcis/events/{}", w.a_ids[0]),
            Some(&h.keys.regulator)
        )
        .await
        .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn browse_lists_and_their_events_show_only_the_callers_values() {
    let w = world().await;
    let h = &w.h;
    let a_steps = members(&h.get("/epcis/bizSteps", Some(&h.keys.a)).await);
    let b_steps = members(&h.get("/epcis/bizSteps", Some(&h.keys.b)).await);
    let r_steps = members(&h.get("/epcis/bizSteps", Some(&h.keys.regulator)).await);
    assert_eq!(
        a_steps,
        BTreeSet::from(["https://ref.gs1.org/cbv/BizStep-shipping".to_string()])
    );
    assert_eq!(
        b_steps,
        BTreeSet::from(["https://ref.gs1.org/cbv/BizStep-receiving".to_string()])
    );
    assert_eq!(r_steps.len(), 2);
    for list in [
        "epcs",
        "bizLocations",
        "readPoints",
        "dispositions",
        "eventTypes",
    ] {
        let a = members(
            &h.get(&format!("/epcis/{list}?perPage=100"), Some(&h.keys.a))
                .await,
        );
        let b = members(
            &h.get(&format!("/epcis/{list}?perPage=100"), Some(&h.keys.b))
                .await,
        );
        let r = members(
            &h.get(
                &format!("/epcis/{list}?perPage=100"),
                Some(&h.keys.regulator),
            )
            .await,
        );
        let p = members(
            &h.get(&format!("/epcis/{list}?perPage=100"), Some(&h.keys.public))
                .await,
        );
        assert!(p.is_empty(), "{list}: public sees nothing");
        assert!(
            a.union(&b).cloned().collect::<BTreeSet<_>>() == r,
            "{list}: the regulator sees both"
        );
        if list != "eventTypes" {
            assert!(
                a.is_disjoint(&b),
                "{list}: A and B share nothing here, so neither may see the other's"
            );
        }
    }
    for path in [
        format!(
            "/epcis/epcs/{}/events",
            zhiliang_http::params::encode("urn:epc:id:sgtin:0614141.107346.3")
        ),
        "/epcis/bizSteps/shipping/events".to_string(),
        format!(
            "/epcis/bizLocations/{}/events",
            zhiliang_http::params::encode("urn:epc:id:sgln:0614141.00002.0")
        ),
        format!(
            "/epcis/readPoints/{}/events",
            zhiliang_http::params::encode("urn:epc:id:sgln:0614141.00001.0")
        ),
        "/epcis/dispositions/in_progress/events".to_string(),
        "/epcis/eventTypes/ObjectEvent/events".to_string(),
    ] {
        let a = event_list(&h.get(&format!("{path}?perPage=100"), Some(&h.keys.a)).await);
        let b = event_list(&h.get(&format!("{path}?perPage=100"), Some(&h.keys.b)).await);
        assert!(!a.is_empty(), "{path}: A sees its events");
        assert!(
            ids(&b).iter().all(|id| w.b_ids.contains(id)),
            "{path}: B sees only its own"
        );
    }
}

#[tokio::test]
async fn capture_jobs_of_others_are_invisible_and_404_like_missing_ones() {
    let w = world().await;
    let h = &w.h;
    let a_jobs = h.get("/epcis/capture", Some(&h.keys.a)).await.json();
    let b_jobs = h.get("/epcis/capture", Some(&h.keys.b)).await.json();
    let r_jobs = h
        .get("/epcis/capture", Some(&h.keys.regulator))
        .await
        .json();
    assert_eq!(a_jobs.as_array().unwrap().len(), 1);
    assert_eq!(b_jobs.as_array().unwrap().len(), 1);
    assert_eq!(r_jobs.as_array().unwrap().len(), 2);
    assert_eq!(a_jobs[0]["captureID"], w.a_job.as_str());
    let theirs = h
        .get(&format!("/epcis/capture/{}", w.a_job), Some(&h.keys.b))
        .await;
    let missing = h
        .get(
            "/epcis/capture/000000000000aaaaaaaaaaaaaaaaaaaa",
            Some(&h.keys.b),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        (theirs.status, theirs.body.clone()),
        (missing.status, missing.body.clone())
    );
    assert_eq!(
        h.get(&format!("/epcis/capture/{}", w.a_job), Some(&h.keys.a))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h.get(
            &format!("/epcis/capture/{}", w.a_job),
            Some(&h.keys.regulator)
        )
        .await
        .status,
        StatusCode::OK
    );
    // Re-sending A's events as B stores B's own copies: B is not told they exist elsewhere.
    let doc = document(vec![object_event(&w.a_ids[0], "0614141", 0, "shipping", 0)]);
    let job = h.capture_ok(&h.keys.b, &doc).await;
    assert_eq!(
        (
            job["eventsStored"].as_u64(),
            job["eventsDuplicate"].as_u64()
        ),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn page_tokens_do_not_work_for_another_organisation_or_query() {
    let w = world().await;
    let h = &w.h;
    let r = h.get("/epcis/events?perPage=5", Some(&h.keys.a)).await;
    let next = r.next_link().unwrap();
    assert_eq!(h.get(&next, Some(&h.keys.a)).await.status, StatusCode::OK);
    let as_b = h.get(&next, Some(&h.keys.b)).await;
    let garbage = h
        .get(
            "/epcis/events?perPage=5&nextPageToken=eyJrIjoxfQ.AAAA",
            Some(&h.keys.b),
        )
        .await;
    assert_eq!(as_b.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        as_b.body, garbage.body,
        "a stolen token fails exactly like garbage"
    );
    // Even a regulator cannot reuse A's token (its scope differs), nor A with another query.
    assert_eq!(
        h.get(&next, Some(&h.keys.regulator)).await.status,
        StatusCode::BAD_REQUEST
    );
    let token = next.split("nextPageToken=").nth(1).unwrap();
    let other = h
        .get(
            &format!("/epcis/events?perPage=5&EQ_bizStep=receiving&nextPageToken={token}"),
            Some(&h.keys.a),
        )
        .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    // Job list tokens and vocabulary tokens likewise.
    let r = h.get("/epcis/epcs?perPage=5", Some(&h.keys.a)).await;
    let next = r.next_link().unwrap();
    assert_eq!(
        h.get(&next, Some(&h.keys.b)).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn named_queries_are_private_to_their_organisation() {
    let w = world().await;
    let h = &w.h;
    async fn create(h: &Harness, key: &str, name: &str) -> StatusCode {
        let body = json!({ "name": name, "query": { "eventType": ["ObjectEvent"] } });
        h.request(
            Method::POST,
            "/epcis/queries",
            Some(key),
            &[("content-type", "application/json")],
            Body::from(body.to_string()),
        )
        .await
        .status
    }
    assert_eq!(create(h, &h.keys.a, "mine").await, StatusCode::CREATED);
    // B may use the same name: no conflict reveals A's query.
    assert_eq!(create(h, &h.keys.b, "mine").await, StatusCode::CREATED);
    assert_eq!(create(h, &h.keys.a, "only-a").await, StatusCode::CREATED);
    let missing = h.get("/epcis/queries/never-created", Some(&h.keys.b)).await;
    let theirs = h.get("/epcis/queries/only-a", Some(&h.keys.b)).await;
    assert_eq!(
        (theirs.status, theirs.body.clone()),
        (missing.status, missing.body.clone())
    );
    assert_eq!(
        h.get("/epcis/queries/only-a/events", Some(&h.keys.b))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let del = h
        .request(
            Method::DELETE,
            "/epcis/queries/only-a",
            Some(&h.keys.b),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(del.status, StatusCode::NOT_FOUND);
    let names = |r: Resp| -> Vec<String> {
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(h.get("/epcis/queries", Some(&h.keys.a)).await),
        vec!["mine", "only-a"]
    );
    assert_eq!(
        names(h.get("/epcis/queries", Some(&h.keys.b)).await),
        vec!["mine"]
    );
    // The same named query answers in each caller's own scope.
    let a = event_list(
        &h.get("/epcis/queries/mine/events?perPage=100", Some(&h.keys.a))
            .await,
    );
    let b = event_list(
        &h.get("/epcis/queries/mine/events?perPage=100", Some(&h.keys.b))
            .await,
    );
    assert_eq!(ids(&a), w.a_ids);
    assert_eq!(ids(&b), w.b_ids);
}

#[tokio::test]
async fn the_home_page_shows_counts_only_for_the_callers_scope() {
    let w = world().await;
    let h = &w.h;
    let anon = h.get("/", None).await.text();
    assert!(
        !anon.contains("12") && !anon.contains("21") && !anon.contains(" 9 "),
        "{anon}"
    );
    assert!(
        h.get("/", Some(&h.keys.a))
            .await
            .text()
            .contains("<strong>12</strong>")
    );
    assert!(
        h.get("/", Some(&h.keys.b))
            .await
            .text()
            .contains("<strong>9</strong>")
    );
    assert!(
        h.get("/", Some(&h.keys.regulator))
            .await
            .text()
            .contains("<strong>21</strong>")
    );
    // /health says nothing about contents.
    let health = h.get("/health", None).await.text();
    assert!(!health.contains("12") && !health.contains("21"));
}
